"""Run the compression benchmark: ``python -m benchmarks.compression [options]``.

Usage (``make benchmark`` runs the first form)::

    .venv/bin/python -m benchmarks.compression                  # digits, 5 seeds
    .venv/bin/python -m benchmarks.compression --data mnist --mnist-dir PATH
    .venv/bin/python -m benchmarks.compression --quick --out /tmp/bench   # tiny smoke run
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .experiment import METHODS, MNIST, QUICK, Config, load_data, run
from .report import RESULTS, markdown_headline, write_results

ROOT = RESULTS.parents[1]


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The compression benchmark")
    parser.add_argument("--data", choices=("digits", "mnist"), default="digits")
    parser.add_argument("--mnist-dir", help="folder with the four MNIST IDX files")
    parser.add_argument("--seeds", type=int, default=None,
                        help="number of seeds (default: 5; 2 with --quick)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=None,
                        help="run only these methods")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny configuration that runs in seconds")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help=f"output folder (default: {RESULTS.relative_to(ROOT)})")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    config = QUICK if args.quick else (MNIST if args.data == "mnist" else Config())
    config = replace(config, data=args.data)
    if args.seeds is not None:
        config = replace(config, seeds=tuple(range(args.seeds)))
    if args.methods:
        config = replace(config, methods=tuple(m for m in METHODS if m in args.methods))
    try:
        data = load_data(config, args.mnist_dir)
    except FileNotFoundError as err:
        print(f"error: the MNIST files are missing: {err}", file=sys.stderr)
        return 2
    results = run(config, data, progress=args.progress)
    paths = write_results(results, args.out)
    print(markdown_headline(results))
    print(f"\n{results['meta']['duration_s']:.0f} s; wrote "
          + ", ".join(str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)
                      for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
