"""Dense matrix multiplication against torch.sparse CSR, across sparsities.

An unstructured-pruned layer still has its full shape; a dense kernel multiplies
its zeros like any other number. A sparse kernel (here ``torch.sparse`` CSR, through
:class:`helpers.prune.CSRLinear`) touches only the nonzeros but pays for indirect,
irregular memory access. This script times both for a layer of LeNet-300-100
(300×784) and a larger one (2048×2048) at sparsities from 50% to 99%, with a batch
of 256 on the CPU, one thread, after warm-up, as the median of repeats, and reports
from which sparsity on the sparse kernel wins. The numbers depend on the machine
(and on the torch build's sparse kernels); run it on yours:

    .venv/bin/python -m benchmarks.sparse_matmul

Used by the book's :doc:`pruning` chapter and its benchmark appendix.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import torch
from torch import nn

from helpers import metrics, prune, train

LAYERS = {"LeNet-300-100 fc1 (300×784)": (784, 300), "large (2048×2048)": (2048, 2048)}
SPARSITIES = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)


def main(*, layers: dict[str, tuple[int, int]] | None = None,
         sparsities: Sequence[float] = SPARSITIES, batch: int = 256, threads: int = 1,
         repeats: int = 20, warmup: int = 3, seed: int = 0,
         verbose: bool = True) -> list[dict]:
    """Time a dense ``nn.Linear`` and its CSR copy at each sparsity.

    Parameters
    ----------
    layers : dict, optional
        Name → ``(in_features, out_features)``; by default :data:`LAYERS`.
    sparsities : sequence of float
        Fractions of the weights set to zero (layer-wise magnitude pruning).
    batch, threads, repeats, warmup : int
        Batch size, CPU threads, timed repeats and warm-up calls.
    seed : int
        Seed of the random weights and inputs.
    verbose : bool
        Print the table in Markdown and the break-even sparsity of each layer.

    Returns
    -------
    list of dict
        One row per layer and sparsity: ``layer``, ``sparsity``, ``dense_ms``,
        ``csr_ms``, ``speedup`` (dense time / CSR time; above 1 the sparse kernel wins).
    """
    layers = LAYERS if layers is None else layers
    train.seed_everything(seed)
    rows = []
    for name, (n_in, n_out) in layers.items():
        x = torch.randn(batch, n_in)
        for sparsity in sparsities:
            dense = nn.Linear(n_in, n_out)
            prune.apply_masks(dense, prune.layerwise_masks(dense, sparsity))
            sparse = prune.CSRLinear(dense)
            time = {label: metrics.measure_latency(m, x, repeats=repeats, warmup=warmup,
                                                   threads=threads).median_ms
                    for label, m in (("dense", dense), ("csr", sparse))}
            rows.append(dict(layer=name, sparsity=sparsity, dense_ms=time["dense"],
                             csr_ms=time["csr"], speedup=time["dense"] / time["csr"]))
    if verbose:
        print(markdown(rows, batch=batch, threads=threads))
        for name, sparsity in break_even(rows).items():
            where = "never" if sparsity is None else f"from {sparsity:.0%} sparsity on"
            print(f"- {name}: CSR faster {where}")
    return rows


def break_even(rows: list[dict]) -> dict[str, float | None]:
    """Per layer: the lowest measured sparsity from which CSR stays faster (or None)."""
    out: dict[str, float | None] = {}
    for name in dict.fromkeys(r["layer"] for r in rows):
        mine = sorted((r for r in rows if r["layer"] == name), key=lambda r: r["sparsity"])
        start = None
        for r in mine:
            if r["speedup"] > 1:
                start = r["sparsity"] if start is None else start
            else:
                start = None
        out[name] = start
    return out


def markdown(rows: list[dict], *, batch: int, threads: int) -> str:
    """The rows as a Markdown table."""
    lines = [f"Batch {batch}, {threads} CPU thread(s), median of repeats.", "",
             "| layer | sparsity | dense (ms) | CSR (ms) | CSR speed-up |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['layer']} | {r['sparsity']:.0%} | {r['dense_ms']:.3f} | "
                     f"{r['csr_ms']:.3f} | {r['speedup']:.2f}× |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    main(batch=args.batch, threads=args.threads, repeats=args.repeats)
