"""Benchmarks of the book's methods; ``benchmarks.compression`` reproduces the papers' tables."""
