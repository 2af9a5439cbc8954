"""Inference latency of a neuron-pruned MLP against its dense parent.

Removing whole neurons leaves a smaller *dense* network, so ordinary dense kernels
run it faster. Zeroing the same number of individual weights (unstructured pruning)
leaves the dense matrices' shapes, and so the time, unchanged. This script measures
both on LeNet-300-100 (784-300-100-10, the MNIST network of Han et al. 2015) with a
batch of 256 on the CPU, one thread, after warm-up, as the median of repeats, and
compares the measured speed-up with the ratio of multiply-accumulates (MACs).

The weights are random: latency does not depend on their values, only on the shapes
(and, for dense kernels, not even on how many are zero). The numbers depend on the
machine; run it on yours:

    .venv/bin/python -m benchmarks.pruned_latency

Used by the book's :doc:`pruning` chapter and its benchmark appendix.
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Sequence

import torch

from helpers import metrics, models, prune, structured, train

SIZES = (784, 300, 100, 10)


def main(*, sizes: Sequence[int] = SIZES, removed: Sequence[float] = (0.5, 0.75, 0.9),
         batch: int = 256, threads: int = 1, repeats: int = 30, warmup: int = 5,
         seed: int = 0, verbose: bool = True) -> list[dict]:
    """Measure dense, unstructured-sparse (dense kernels) and neuron-pruned latency.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths of the dense parent MLP.
    removed : sequence of float
        Fractions of the neurons of every hidden layer to remove (lowest L2 norm).
        For each, the unstructured model zeroes the same fraction of the weights of
        the parent's layers (layer-wise magnitude) and keeps its shapes.
    batch, threads, repeats, warmup : int
        Batch size, CPU threads, timed repeats and warm-up calls.
    seed : int
        Seed of the random weights and input.
    verbose : bool
        Print the table in Markdown.

    Returns
    -------
    list of dict
        One row per model: ``model``, ``removed``, ``parameters``, ``nonzero``,
        ``macs``, ``effective_macs``, ``mac_ratio`` (parent MACs / effective MACs),
        ``latency_ms``, ``iqr_ms``, ``speedup`` (parent latency / latency).
    """
    train.seed_everything(seed)
    parent = models.mlp(sizes).eval()
    x = torch.randn(batch, sizes[0])
    candidates = [("dense", 0.0, parent)]
    for amount in removed:
        sparse = prune.apply_masks(copy.deepcopy(parent), prune.layerwise_masks(parent, amount))
        candidates.append(("unstructured", amount, sparse))
        candidates.append(("neurons removed", amount, structured.prune_units(parent, amount)))
    rows = []
    for kind, amount, model in candidates:
        latency = metrics.measure_latency(model, x, repeats=repeats, warmup=warmup,
                                          threads=threads)
        rows.append(dict(model=kind, removed=amount,
                         parameters=metrics.count_parameters(model),
                         nonzero=metrics.count_nonzero(model),
                         macs=metrics.macs(model, (sizes[0],)),
                         effective_macs=metrics.macs(model, (sizes[0],), effective=True),
                         latency_ms=latency.median_ms, iqr_ms=latency.iqr_ms))
    base_macs, base_ms = rows[0]["macs"], rows[0]["latency_ms"]
    for row in rows:
        row["mac_ratio"] = base_macs / row["effective_macs"]
        row["speedup"] = base_ms / row["latency_ms"]
    if verbose:
        print(markdown(rows, batch=batch, threads=threads))
    return rows


def markdown(rows: list[dict], *, batch: int, threads: int) -> str:
    """The rows as a Markdown table."""
    lines = [f"Batch {batch}, {threads} CPU thread(s), median of repeats.", "",
             "| model | removed | nonzero params | effective MACs | MAC ratio | "
             "latency (ms) | IQR (ms) | speed-up |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['removed']:.0%} | {r['nonzero']:,} | "
                     f"{r['effective_macs']:,} | {r['mac_ratio']:.2f}× | "
                     f"{r['latency_ms']:.3f} | {r['iqr_ms']:.3f} | {r['speedup']:.2f}× |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    main(batch=args.batch, threads=args.threads, repeats=args.repeats)
