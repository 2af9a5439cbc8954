"""Prune a causal language model with the book's code and print the papers' table.

``python -m benchmarks.language_models --model DIR --text FILE [options]`` loads a
Hugging Face causal language model (LLaMA, OPT, GPT-2 families, or any other whose
decoder blocks are an ``nn.ModuleList`` of linear layers) from a local folder,
prunes the linear layers of its decoder blocks with :func:`helpers.layerwise.prune_layerwise`
(magnitude, Wanda, SparseGPT; 50 % unstructured and 2:4) and prints the perplexity of
each pruned model beside the dense one, as Table 3 of Sun et al. (2024, Wanda) and the
tables of Frantar & Alistarh (2023, SparseGPT) print theirs. It follows the protocol
of both papers' code:

* **Calibration**: ``--segments`` (128) segments of ``--seqlen`` tokens (the model's
  context length), each starting at a random token of the calibration text, drawn
  with Python's ``random`` seeded by ``--seed`` (as their WikiText-2 loader does;
  both papers calibrate on C4, one segment per document: pass C4 text as
  ``--calibration`` for that).
* **Calibration order**: block-sequential, as in both papers' code: the linear layers
  of decoder block ``b`` are calibrated on inputs recorded in one pass through the
  model with blocks ``< b`` already pruned (``sequential="block"``).
  ``--true-sequential`` records each layer's inputs after every earlier layer of its
  block is pruned too (SparseGPT's ``llama.py --true-sequential``, which groups
  q/k/v and gate/up: layers that read the same input, so one layer at a time is the
  same order).
* **What is pruned**: the linear layers of the decoder blocks (attention projections
  and MLP; GPT-2's ``Conv1D`` as a Linear with its transposed weight). The embeddings
  and the read-out ``lm_head`` stay dense; a read-out tied to the embedding stays tied.
* **Perplexity**: the evaluation text cut into non-overlapping segments of
  ``--seqlen`` tokens (a remainder shorter than one segment is dropped); perplexity
  is ``exp`` of the mean next-token cross-entropy over all segments, the first token
  of each segment predicting nothing.

Nothing is downloaded: the model, its tokenizer and the texts are local files
(``local_files_only=True``). ``transformers`` is an optional dependency:
``pip install .[llm]``. The calibration inputs of a whole decoder block are held in
memory at once (all ``segments × seqlen`` tokens of each of its layers: for LLaMA-7B
at 128 × 2048 tokens about 19 GB in float16), and Wanda's norms and SparseGPT's
Hessian read a float64 copy of one layer's inputs (up to 23 GB there); ``--segments``
lowers both.

Usage::

    .venv/bin/python -m benchmarks.language_models --model ~/models/llama-2-7b-hf \\
        --calibration c4-train.txt --evaluation wikitext-2-test.txt --out ppl.json
    .venv/bin/python -m benchmarks.language_models --model DIR --text FILE \\
        --methods wanda --sparsity 2:4 --true-sequential
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from helpers import layerwise
from helpers.device import get_device
from helpers.layers import linear_weight

#: Methods, in the papers' order, and whether each updates the weights it keeps
#: (the "Weight Update" column of Sun et al.'s Table 3).
METHODS = {"magnitude": False, "wanda": False, "sparsegpt": True}
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


# ------------------------------------------------------------------------ arguments

def parse_sparsity(text: str) -> tuple[float, int | None, int | None]:
    """``"0.5"`` -> ``(0.5, None, None)``; ``"2:4"`` -> ``(0.5, 2, 4)`` (N:M).

    Raises ValueError for anything else, or a fraction outside [0, 1], or ``n > m``.
    """
    if ":" in text:
        try:
            n, m = (int(part) for part in text.split(":"))
        except ValueError:
            raise ValueError(f"an N:M pattern is two integers such as 2:4, got {text!r}")
        if not 0 <= n <= m or m < 1:
            raise ValueError(f"an N:M pattern keeps n of every m weights, 0 <= n <= m, "
                             f"m >= 1; got {text!r}")
        return 1 - n / m, n, m
    try:
        sparsity = float(text)
    except ValueError:
        raise ValueError(f"a sparsity is a fraction such as 0.5 or a pattern such as "
                         f"2:4, got {text!r}")
    if not 0 <= sparsity <= 1:
        raise ValueError(f"a sparsity is a fraction in [0, 1], got {text!r}")
    return sparsity, None, None


def _sparsity_arg(text: str) -> str:
    try:
        parse_sparsity(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err))
    return text


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.language_models",
        description="Prune a local Hugging Face causal language model with "
                    "helpers.layerwise (magnitude, Wanda, SparseGPT) and print the "
                    "perplexity table of the Wanda and SparseGPT papers. Downloads "
                    "nothing; needs transformers (pip install .[llm]).")
    parser.add_argument("--model", required=True, type=Path, metavar="DIR",
                        help="a folder saved with save_pretrained: config.json, the "
                             "weights and the tokenizer's files")
    parser.add_argument("--text", type=Path, metavar="FILE",
                        help="a UTF-8 text for both calibration and evaluation (the "
                             "calibration segments then overlap the evaluated text, "
                             "which flatters the pruned models; the papers calibrate "
                             "on C4 and evaluate on WikiText-2's test split: use "
                             "--calibration and --evaluation for that)")
    parser.add_argument("--calibration", type=Path, metavar="FILE",
                        help="the calibration text (default: --text)")
    parser.add_argument("--evaluation", type=Path, metavar="FILE",
                        help="the evaluation text (default: --text)")
    parser.add_argument("--segments", type=int, default=128,
                        help="calibration segments (default: 128, as both papers)")
    parser.add_argument("--seqlen", type=int, default=None,
                        help="tokens per segment, for calibration and perplexity "
                             "(default: the model's context length)")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS),
                        default=list(METHODS), help="default: all three")
    parser.add_argument("--sparsity", nargs="+", type=_sparsity_arg,
                        default=["0.5", "2:4"],
                        help="fractions (0.5) or N:M patterns (2:4); default: 0.5 2:4")
    parser.add_argument("--true-sequential", action="store_true",
                        help="calibrate each layer after the earlier layers of its "
                             "block are pruned too (default: block-sequential, as "
                             "both papers' code)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the calibration segments (default: 0)")
    parser.add_argument("--device", default=None,
                        help="torch device (default: cuda when present, else cpu)")
    parser.add_argument("--dtype", choices=list(DTYPES), default=None,
                        help="the model's dtype (default: float16 on CUDA, as the "
                             "papers, float32 on the CPU)")
    parser.add_argument("--batch-size", type=int, default=8,
                        help="segments per forward pass (default: 8)")
    parser.add_argument("--out", type=Path, metavar="JSON",
                        help="also write the results as JSON")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bars")
    args = parser.parse_args(argv)
    args.calibration = args.calibration or args.text
    args.evaluation = args.evaluation or args.text
    if args.calibration is None or args.evaluation is None:
        parser.error("give --text FILE, or both --calibration FILE and --evaluation FILE")
    for name in ("segments", "batch_size", "seqlen"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    for path in (args.calibration, args.evaluation):
        if not path.is_file():
            parser.error(f"no such text file: {path}")
    return args


# --------------------------------------------------------------------------- model

def _transformers():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach the network
    try:
        import transformers
    except ImportError:
        raise SystemExit("error: this script needs transformers, an optional "
                         "dependency: pip install .[llm] (or pip install transformers)")
    return transformers


def load(model_dir: Path, device: torch.device, dtype: torch.dtype):
    """The causal LM and its tokenizer saved in ``model_dir``, local files only.

    Raises SystemExit with a message that says what the folder lacks.
    """
    transformers = _transformers()
    if not (Path(model_dir) / "config.json").is_file():
        raise SystemExit(f"error: {model_dir} holds no model (no config.json): --model "
                         f"takes a folder written by save_pretrained, with the model's "
                         f"config.json, its weights and its tokenizer's files; this "
                         f"script downloads nothing")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir,
                                                               local_files_only=True)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            model_dir, local_files_only=True, dtype=dtype)
    except (OSError, ValueError) as err:
        raise SystemExit(f"error: cannot load a causal language model and its tokenizer "
                         f"from {model_dir}: {err}")
    model.config.use_cache = False  # no key/value cache during calibration or evaluation
    return model.to(device).eval(), tokenizer


def context_length(model: nn.Module) -> int:
    """The model's context length: ``max_position_embeddings`` (LLaMA, OPT) or
    ``n_positions`` (GPT-2), as the papers' ``model.seqlen``."""
    config = model.config
    for key in ("max_position_embeddings", "n_positions", "n_ctx"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    raise SystemExit("error: the model's config names no context length "
                     "(max_position_embeddings or n_positions); pass --seqlen")


def block_layers(model: nn.Module) -> list[str]:
    """The linear layers of the decoder blocks, in order: what the papers prune.

    A decoder block is an item of an ``nn.ModuleList`` (``model.layers`` of LLaMA,
    ``model.decoder.layers`` of OPT, ``transformer.h`` of GPT-2). Layers outside
    the blocks (``lm_head``, OPT's ``project_in``/``project_out``) stay dense.
    """
    lists = [name for name, module in model.named_modules()
             if isinstance(module, nn.ModuleList)]
    names = [name for name, module in model.named_modules()
             if linear_weight(module) is not None
             and any(name.startswith(f"{owner}.") for owner in lists)]
    if not names:
        raise SystemExit("error: the model has no linear layer inside an nn.ModuleList "
                         "of decoder blocks; this script prunes decoder-only "
                         "transformers whose blocks are such a list")
    return names


# ---------------------------------------------------------------------------- text

def tokenize(tokenizer, path: Path) -> torch.Tensor:
    """The token ids of the text in ``path``, shape ``(tokens,)``."""
    text = Path(path).read_text(encoding="utf-8")
    return tokenizer(text, return_tensors="pt", verbose=False).input_ids[0]


def calibration_segments(ids: torch.Tensor, segments: int, seqlen: int,
                         seed: int) -> torch.Tensor:
    """``segments`` windows of ``seqlen`` tokens at random starts, ``(segments, seqlen)``.

    As the papers' WikiText-2 loader: ``random.seed(seed)``, then each start is
    ``random.randint(0, tokens - seqlen - 1)``.
    """
    if len(ids) <= seqlen:
        raise SystemExit(f"error: the calibration text has {len(ids)} tokens; segments "
                         f"of {seqlen} tokens need more: give a longer text or a "
                         f"smaller --seqlen")
    rng = random.Random(seed)
    starts = [rng.randint(0, len(ids) - seqlen - 1) for _ in range(segments)]
    return torch.stack([ids[i:i + seqlen] for i in starts])


def evaluation_segments(ids: torch.Tensor, seqlen: int) -> torch.Tensor:
    """The text as non-overlapping windows of ``seqlen`` tokens, ``(windows, seqlen)``;
    a remainder shorter than a window is dropped, as in the papers' code."""
    windows = len(ids) // seqlen
    if windows == 0:
        raise SystemExit(f"error: the evaluation text has {len(ids)} tokens, fewer than "
                         f"one segment of {seqlen}: give a longer text or a smaller "
                         f"--seqlen")
    return ids[:windows * seqlen].reshape(windows, seqlen)


@torch.no_grad()
def perplexity(model: nn.Module, windows: torch.Tensor, batch_size: int = 8,
               progress: bool = False, desc: str = "perplexity") -> float:
    """``exp`` of the mean next-token cross-entropy over all ``windows``.

    Every window has the same number of predictions (``seqlen - 1``), so this is the
    papers' ``exp(Σ_windows loss · seqlen / (windows · seqlen))``.
    """
    from tqdm import tqdm

    device = next(model.parameters()).device
    total, count = 0.0, 0
    for start in tqdm(range(0, len(windows), batch_size), desc=desc, leave=False,
                      disable=not progress):
        batch = windows[start:start + batch_size].to(device)
        logits = model(batch).logits[:, :-1].float()
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                           batch[:, 1:].reshape(-1), reduction="sum")
        total += float(loss)
        count += batch[:, 1:].numel()
    return math.exp(total / count)


# ----------------------------------------------------------------------------- run

def _zeros(model: nn.Module, names: list[str]) -> float:
    """The fraction of zero weights over the layers ``names``."""
    modules = dict(model.named_modules())
    zeros = sum(int((linear_weight(modules[n]) == 0).sum()) for n in names)
    return zeros / sum(linear_weight(modules[n]).numel() for n in names)


def run(args: argparse.Namespace) -> dict:
    """Load, prune with every method at every sparsity, measure perplexity."""
    from tqdm import tqdm

    transformers = _transformers()
    if not args.progress:  # nor transformers' own bars (loading the weights)
        transformers.utils.logging.disable_progress_bar()
    device = torch.device(args.device) if args.device else get_device()
    dtype = DTYPES[args.dtype] if args.dtype else (
        torch.float16 if device.type == "cuda" else torch.float32)
    started = time.perf_counter()
    model, tokenizer = load(args.model, device, dtype)
    seqlen = args.seqlen or context_length(model)
    if seqlen > context_length(model):
        raise SystemExit(f"error: --seqlen {seqlen} is longer than the model's context "
                         f"length, {context_length(model)}")
    names = block_layers(model)
    calibration = calibration_segments(tokenize(tokenizer, args.calibration),
                                       args.segments, seqlen, args.seed)
    windows = evaluation_segments(tokenize(tokenizer, args.evaluation), seqlen)
    sequential = "layer" if args.true_sequential else "block"
    rows = [{"method": "dense", "sparsity": "-", "weight_update": None,
             "perplexity": perplexity(model, windows, args.batch_size, args.progress,
                                      "dense"),
             "zeros": _zeros(model, names), "seconds": 0.0}]
    runs = [(method, pattern) for pattern in args.sparsity for method in args.methods]
    for method, pattern in tqdm(runs, desc="pruning", disable=not args.progress):
        sparsity, n, m = parse_sparsity(pattern)
        tick = time.perf_counter()
        try:
            pruned = layerwise.prune_layerwise(
                model, method, sparsity, n=n, m=m, names=names,
                calibration=calibration if method != "magnitude" else None,
                batch_size=args.batch_size, sequential=sequential)
        except ValueError as err:
            raise SystemExit(f"error: {method} at {pattern}: {err}")
        seconds = time.perf_counter() - tick
        rows.append({"method": method, "sparsity": pattern,
                     "weight_update": METHODS[method],
                     "perplexity": perplexity(pruned, windows, args.batch_size,
                                              args.progress, f"{method} {pattern}"),
                     "zeros": _zeros(pruned, names), "seconds": seconds})
        del pruned
    meta = {"model": str(args.model), "model_type": model.config.model_type,
            "parameters": sum(p.numel() for p in model.parameters()),
            "layers_pruned": len(names), "seqlen": seqlen,
            "calibration": str(args.calibration), "segments": args.segments,
            "evaluation": str(args.evaluation), "evaluation_windows": len(windows),
            "seed": args.seed, "sequential": sequential, "device": str(device),
            "dtype": str(dtype).removeprefix("torch."),
            "transformers": transformers.__version__, "torch": torch.__version__,
            "duration_s": time.perf_counter() - started}
    return {"meta": meta, "rows": rows}


def format_table(results: dict) -> str:
    """The papers' table: method, weight update, sparsity, perplexity (Markdown)."""
    meta = results["meta"]
    lines = [f"{meta['model_type']} ({meta['parameters'] / 1e6:.1f}M parameters, "
             f"{meta['layers_pruned']} layers pruned), perplexity on "
             f"{meta['evaluation_windows']} segments of {meta['seqlen']} tokens; "
             f"{meta['segments']} calibration segments, {meta['sequential']}-sequential",
             "",
             "| Method | Weight update | Sparsity | Perplexity | Zeros in pruned layers |",
             "| --- | :---: | ---: | ---: | ---: |"]
    for row in results["rows"]:
        update = {None: "-", True: "yes", False: "no"}[row["weight_update"]]
        sparsity = row["sparsity"]
        if ":" not in sparsity and sparsity != "-":
            sparsity = f"{float(sparsity):.0%}"
        lines.append(f"| {row['method']} | {update} | {sparsity} | "
                     f"{row['perplexity']:.2f} | {row['zeros']:.1%} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    results = run(args)
    print(format_table(results))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.out}")
    print(f"{results['meta']['duration_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
