"""Build and test tooling of the book (not part of the helpers library)."""
