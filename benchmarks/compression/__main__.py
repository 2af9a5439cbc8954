"""Run the compression benchmark: ``python -m benchmarks.compression [options]``.

Usage (``make benchmark`` runs the first form)::

    .venv/bin/python -m benchmarks.compression                  # digits, 5 seeds
    .venv/bin/python -m benchmarks.compression --data mnist --data-dir PATH
    .venv/bin/python -m benchmarks.compression --data fashion-mnist --jobs 2
    .venv/bin/python -m benchmarks.compression --data fashion-mnist --model lenet-5 --jobs 2
    .venv/bin/python -m benchmarks.compression --quick --out /tmp/bench   # tiny smoke run

Fashion-MNIST is read where Debian's package ``dataset-fashion-mnist`` installs it, or
from ``--data-dir``. The results of MNIST and Fashion-MNIST go beside the digits'
(:func:`benchmarks.compression.report.results_dir`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .experiment import ARCHITECTURES, DATA, METHODS, load_data, preset, run
from .report import RESULTS, markdown_headline, results_dir, write_results

ROOT = RESULTS.parents[1]

EPILOG = """\
Every method applies to both networks. On LeNet-5 the unstructured methods prune the
weights of its two convolutions and two fully connected layers together (storage counts
the relative indices of each layer's nonzero weights, as Deep Compression does), and
'neurons' removes the same fraction of the output channels of each convolution and of
the neurons of the hidden fully connected layer. Retraining after pruning runs at
lr x finetune_lr_factor: a tenth of the learning rate on Fashion-MNIST (Han et al.
2015), the full rate on the digits and MNIST (what their committed results used).
The k-means variant is Deep Compression's third stage: on Fashion-MNIST the centroids
are fine-tuned and values and index gaps Huffman-coded; on the digits and MNIST it
counts fixed-width codes, without fine-tuning. On Fashion-MNIST the L1 and L2
candidates train on from the dense network (Config.regularise_epochs), so that both
networks fit in 90 minutes on two cores.
"""


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The compression benchmark", epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=DATA, default="digits",
                        help="the data set (default: digits, bundled with scikit-learn)")
    parser.add_argument("--model", choices=ARCHITECTURES, default="lenet-300-100",
                        help="the network: LeNet-300-100, or Caffe's LeNet-5 (20-50-500; "
                        "28x28 images: mnist or fashion-mnist)")
    parser.add_argument("--data-dir", "--mnist-dir", dest="data_dir",
                        help="folder with the four IDX files (train-images-idx3-ubyte, "
                        "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
                        "t10k-labels-idx1-ubyte; .gz is fine); needed for mnist; for "
                        "fashion-mnist the default is Debian's "
                        "/usr/share/datasets/fashion-mnist (apt-get install "
                        "dataset-fashion-mnist)")
    parser.add_argument("--seeds", type=int, default=None,
                        help="number of seeds (default: 5, 3 for LeNet-5; 2 with --quick "
                        "on the digits, 1 on MNIST or Fashion-MNIST)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=None,
                        help="run only these methods (all apply to both networks)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="processes to run the seeds and methods on (joblib; each on "
                        "one thread); 2 uses both cores of a 2-core machine (default: 1)")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny configuration that runs in seconds (on MNIST and "
                        "Fashion-MNIST: the real files, 500 images of each split)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"output folder (default: {RESULTS.relative_to(ROOT)} for the "
                        "digits, .../<data>/<model>/ for the others)")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    try:
        config = preset(args.data, args.model, quick=args.quick)
        if args.seeds is not None:
            config = replace(config, seeds=tuple(range(args.seeds)))
        if args.methods:
            config = replace(config, methods=tuple(m for m in METHODS if m in args.methods))
        if args.jobs < 1:
            raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        data = load_data(config, args.data_dir)
    except FileNotFoundError as err:
        print(f"error: the {args.data} files are missing: {err}", file=sys.stderr)
        return 2
    results = run(config, data, progress=args.progress, n_jobs=args.jobs)
    out = args.out if args.out is not None else results_dir(config.data, config.architecture)
    paths = write_results(results, out)
    print(markdown_headline(results))
    print(f"\n{results['meta']['duration_s']:.0f} s; wrote "
          + ", ".join(str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)
                      for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
