"""The compression benchmark: the papers' tables, reproduced on the bundled digits data.

Usage (``make benchmark`` runs the first form)::

    .venv/bin/python benchmarks/compression.py                  # digits, 5 seeds
    .venv/bin/python benchmarks/compression.py --data mnist --mnist-dir PATH
    .venv/bin/python benchmarks/compression.py --quick --out /tmp/bench   # tiny smoke run

Following Blalock et al. (2020), every method is reported with its parameters, its
multiply-accumulates (MACs), its storage and its measured CPU latency, over a full range
of sparsities, as mean ± standard deviation over several seeds, next to the magnitude and
random baselines. The network is LeNet-300-100 (Han et al. 2015, Table 1) with as many
inputs as the data has features: 64-300-100-10 on the 8×8 digits, 784-300-100-10 on
MNIST.

Methods (each at several sparsities, or fractions of neurons removed):

``random``          random masks, same fraction in every layer, then fine-tuning (baseline)
``magnitude_layer`` one-shot magnitude pruning, same fraction in every layer, fine-tuning
``magnitude_global`` one-shot magnitude pruning with one global threshold, fine-tuning
``iterative``       prune → fine-tune → prune more (Han et al. 2015), global threshold
``gradual``         Zhu & Gupta's (2017) cubic schedule during training, then fine-tuning
``l1_prune``        training with a proximal L1 step, global magnitude pruning, fine-tuning
``l2_prune``        training with L2 weight decay, global magnitude pruning, fine-tuning
``neurons``         removal of whole hidden neurons (a smaller dense network), fine-tuning

Every compressed model is also measured after int8 quantisation of its weights and after
k-means weight sharing (Deep Compression). The choices a method needs (λ, weight decay,
importance criterion, bits of the shared weights, number of fine-tuning epochs through
the best validation epoch) are made on the validation split; the test split is only
reported. The results go to ``benchmarks/results/``: ``compression.json`` (everything),
``compression.md`` (the tables) and PNG plots; the book's appendix page
(``book/*/benchmark-results.md``) renders the JSON with this module's plotting functions.
"""

from __future__ import annotations

import argparse
import copy
import datetime as _dt
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a fresh clone
    sys.path.insert(0, str(ROOT))

import helpers  # noqa: E402
from helpers import l1, metrics, prune, quant, train  # noqa: E402
from helpers.stats import mean_std  # noqa: E402
from helpers.data import ClassificationData  # noqa: E402
from helpers.i18n import tr  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
SCHEMA = 1
#: Accuracy differences are compared with the tolerances up to rounding error.
EPS = 1e-9

#: Methods in the order of the tables; the first seven prune weights (unstructured).
METHODS = ("random", "magnitude_layer", "magnitude_global", "iterative", "gradual",
           "l1_prune", "l2_prune", "neurons")
UNSTRUCTURED = METHODS[:-1]
VARIANTS = ("fp32", "int8", "shared")

#: What the papers report and what this benchmark aims for.
TARGETS = {
    "weights": {"target": 20.0, "paper": 12.0, "paper_ref": "han2015learning",
                "tolerance_pp": 0.5},
    "storage": {"target": 50.0, "paper": 40.0, "paper_ref": "han2016deep",
                "tolerance_pp": 0.5},
    "neurons": {"target": 0.5, "efficiency": 0.8, "tolerance_pp": 1.0},
}


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Config:
    """Everything that decides a run; stored in the results JSON.

    ``sparsities`` are fractions of weights pruned (unstructured methods);
    ``neuron_fractions`` are fractions of each hidden layer's neurons removed.
    """

    data: str = "digits"
    hidden: tuple[int, ...] = (300, 100)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    methods: tuple[str, ...] = METHODS
    sparsities: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99)
    neuron_fractions: tuple[float, ...] = (0.25, 0.5, 0.6, 0.7, 0.8, 0.9)
    lr: float = 3e-3
    batch_size: int = 64
    dense_epochs: int = 40
    finetune_epochs: int = 15
    gradual_epochs: int = 15
    gradual_steps: int = 15
    l1_strengths: tuple[float, ...] = (0.03, 0.1, 0.3)
    l2_decays: tuple[float, ...] = (1e-4, 1e-3, 1e-2)
    neuron_criteria: tuple[str, ...] = ("l1", "activation", "taylor")
    share_bits: tuple[int, ...] = (3, 4, 5, 6)
    gap_bits: int = 5
    latency_batches: tuple[int, ...] = (1, 1024)
    latency_repeats: int = 30
    threads: int = 1

    def __post_init__(self):
        unknown = sorted(set(self.methods) - set(METHODS))
        if unknown:
            raise ValueError(f"unknown method(s) {unknown}; choose from {METHODS}")
        if not self.seeds:
            raise ValueError("seeds is empty: give at least one seed")
        for s in (*self.sparsities, *self.neuron_fractions):
            if not 0 < s < 1:
                raise ValueError(f"sparsities and neuron fractions must lie in (0, 1), got {s}")
        if list(self.sparsities) != sorted(self.sparsities):
            raise ValueError("sparsities must be increasing (iterative pruning walks them "
                             "in order)")


#: A configuration that runs in seconds: for the smoke test and for trying the code.
QUICK = Config(seeds=(0, 1), sparsities=(0.5, 0.9), neuron_fractions=(0.5,),
               dense_epochs=3, finetune_epochs=2, gradual_epochs=2, gradual_steps=4,
               l1_strengths=(0.1,), l2_decays=(1e-3,), neuron_criteria=("l1",),
               share_bits=(4,), latency_batches=(1, 64), latency_repeats=3)

#: LeNet-300-100 on MNIST (Han et al. 2015, Table 1): 60,000 training images, so
#: fewer epochs; not run in CI.
MNIST = Config(data="mnist", lr=1e-3, batch_size=128, dense_epochs=20, finetune_epochs=6,
               gradual_epochs=8, gradual_steps=20, sparsities=(0.5, 0.8, 0.9, 0.92, 0.95,
                                                               0.97, 0.98))


# --------------------------------------------------------------------------- data and models


def load_data(config: Config, mnist_dir: str | os.PathLike | None = None) -> ClassificationData:
    """The data set of a run: the bundled digits, or MNIST from its IDX files."""
    if config.data == "digits":
        return helpers.data.load_digits_split()
    if config.data == "mnist":
        from helpers import mnist

        if mnist_dir is None:
            raise FileNotFoundError(
                "--data mnist needs --mnist-dir PATH, a folder with the four MNIST IDX "
                "files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; .gz is fine)")
        return mnist.load_mnist(mnist_dir)
    raise ValueError(f"data must be 'digits' or 'mnist', got {config.data!r}")


def build_model(config: Config, data: ClassificationData, seed: int) -> nn.Sequential:
    """LeNet-300-100 (or ``config.hidden``) for ``data``, initialised from ``seed``."""
    train.seed_everything(seed)
    sizes = [data.n_features, *config.hidden, data.n_classes]
    return helpers.models.mlp(sizes).to(helpers.get_device())


def _fit(model: nn.Module, data: ClassificationData, config: Config, seed: int, *,
         epochs: int, **kwargs) -> train.History:
    return train.fit(model, data, epochs=epochs, lr=config.lr, batch_size=config.batch_size,
                     seed=seed, progress=False, **kwargs)


def _finetune(model: nn.Module, data: ClassificationData, config: Config, seed: int,
              masks: prune.Masks | None = None) -> nn.Module:
    """Fine-tune in place (keeping pruned weights at zero); the best validation epoch wins."""
    hook = prune.MaskEnforcer(masks) if masks else None
    _fit(model, data, config, seed, epochs=config.finetune_epochs, after_step=hook)
    return model


def _val(model: nn.Module, data: ClassificationData) -> float:
    return train.evaluate(model, data, "val")


def _best_on_validation(candidates: Sequence[tuple[dict, nn.Module]],
                        data: ClassificationData) -> tuple[dict, nn.Module]:
    """The candidate with the highest validation accuracy (the first one on ties)."""
    scores = [_val(model, data) for _, model in candidates]
    return candidates[int(np.argmax(scores))]


# --------------------------------------------------------------------------- the methods
#
# Each method takes the trained dense model (never changed) and yields, for each level
# (a sparsity or a fraction of neurons), the compressed model and the choices made on the
# validation split.

Level = tuple[float, nn.Module, dict]


def method_random(dense, data, config, seed) -> Iterator[Level]:
    for s in config.sparsities:
        model = copy.deepcopy(dense)
        masks = prune.random_masks(model, s, seed=seed)
        prune.apply_masks(model, masks)
        yield s, _finetune(model, data, config, seed, masks), {}


def _one_shot(dense, data, config, seed, scope: str) -> Iterator[Level]:
    make = prune.layerwise_masks if scope == "layer" else prune.global_masks
    for s in config.sparsities:
        model = copy.deepcopy(dense)
        masks = make(model, s)
        prune.apply_masks(model, masks)
        yield s, _finetune(model, data, config, seed, masks), {}


def method_magnitude_layer(dense, data, config, seed) -> Iterator[Level]:
    yield from _one_shot(dense, data, config, seed, "layer")


def method_magnitude_global(dense, data, config, seed) -> Iterator[Level]:
    yield from _one_shot(dense, data, config, seed, "global")


def method_iterative(dense, data, config, seed) -> Iterator[Level]:
    """One prune–fine-tune round per sparsity, each starting from the previous round."""
    model = copy.deepcopy(dense)
    for k, s in enumerate(config.sparsities):
        prune.iterative_prune(model, data, sparsities=[s], scope="global",
                              epochs=config.finetune_epochs, lr=config.lr,
                              batch_size=config.batch_size, seed=seed + k)
        yield s, copy.deepcopy(model), {}


def method_gradual(dense, data, config, seed) -> Iterator[Level]:
    for s in config.sparsities:
        model = copy.deepcopy(dense)
        prune.gradual_prune(model, data, final_sparsity=s, pruning_epochs=config.gradual_epochs,
                            finetune_epochs=config.finetune_epochs,
                            n_pruning_steps=config.gradual_steps, scope="global",
                            lr=config.lr, batch_size=config.batch_size, seed=seed)
        yield s, model, {}


def _regularised_then_pruned(trained: Sequence[tuple[dict, nn.Module]], data, config,
                             seed) -> Iterator[Level]:
    """Global magnitude pruning + fine-tuning of each regularised model; best on validation."""
    for s in config.sparsities:
        candidates = []
        for choice, reg_model in trained:
            model = copy.deepcopy(reg_model)
            masks = prune.global_masks(model, s)
            prune.apply_masks(model, masks)
            candidates.append((choice, _finetune(model, data, config, seed, masks)))
        choice, model = _best_on_validation(candidates, data)
        yield s, model, choice


def method_l1_prune(dense, data, config, seed) -> Iterator[Level]:
    trained = []
    for strength in config.l1_strengths:
        model = build_model(config, data, seed)
        _fit(model, data, config, seed, epochs=config.dense_epochs,
             after_step=l1.ProximalL1(strength, config.lr))
        trained.append(({"l1_strength": strength}, model))
    yield from _regularised_then_pruned(trained, data, config, seed)


def method_l2_prune(dense, data, config, seed) -> Iterator[Level]:
    trained = []
    for decay in config.l2_decays:
        model = build_model(config, data, seed)
        _fit(model, data, config, seed, epochs=config.dense_epochs, weight_decay=decay)
        trained.append(({"weight_decay": decay}, model))
    yield from _regularised_then_pruned(trained, data, config, seed)


def _hidden_layers(model: nn.Module) -> list[str]:
    return prune.removable_layers(model)


def method_neurons(dense, data, config, seed) -> Iterator[Level]:
    """Remove the same fraction of neurons from every hidden layer, then fine-tune."""
    X, y = data.split("train")
    layers = _hidden_layers(dense)
    scores = {c: {layer: prune.neuron_importance(dense, layer, c, X=X, y=y)
                  for layer in layers} for c in config.neuron_criteria}
    for fraction in config.neuron_fractions:
        candidates = []
        for criterion in config.neuron_criteria:
            model = dense
            for layer in layers:
                model = prune.remove_neurons(model, layer,
                                             prune.lowest(scores[criterion][layer], fraction))
            candidates.append(({"criterion": criterion},
                               _finetune(model, data, config, seed)))
        choice, model = _best_on_validation(candidates, data)
        yield fraction, model, choice


METHOD_FUNCTIONS: dict[str, Callable[..., Iterator[Level]]] = {
    name: globals()[f"method_{name}"] for name in METHODS}


def n_levels(config: Config, method: str) -> int:
    """How many levels (sparsities or neuron fractions) a method is run at."""
    return len(config.neuron_fractions if method == "neurons" else config.sparsities)


# --------------------------------------------------------------------------- measuring


def remove_dead_neurons(model: nn.Sequential) -> nn.Sequential:
    """Remove hidden neurons that cannot affect the output; a smaller, equivalent model.

    Heavy weight pruning leaves neurons whose outgoing weights are all zero, or whose
    incoming weights are all zero and whose bias is ≤ 0 (so ReLU outputs 0). Removing
    them with :func:`helpers.prune.remove_neurons` changes no output and saves their
    biases and rows. Repeated until nothing changes (removing a neuron can disconnect
    one in the layer before). At least one neuron per layer is kept.
    """
    changed = True
    while changed:
        changed = False
        children = list(model.named_children())
        for k, (name, layer) in enumerate(children):
            if name not in _hidden_layers(model):
                continue
            consumer = next(m for _, m in children[k + 1:] if isinstance(m, nn.Linear))
            with torch.no_grad():
                no_out = (consumer.weight == 0).all(dim=0)
                no_in = (layer.weight == 0).all(dim=1)
                if layer.bias is not None:
                    no_in &= layer.bias <= 0
            dead = torch.nonzero(no_out | no_in).reshape(-1).tolist()
            dead = dead[:layer.out_features - 1]
            if dead:
                model = prune.remove_neurons(model, name, dead)
                changed = True
                break
    return model


def _weight_counts(model: nn.Module) -> tuple[int, int]:
    """(weights, nonzero weights) of the Linear/Conv layers; biases excluded."""
    weights = prune.prunable_parameters(model)
    nonzero = metrics.count_nonzero(model, per_parameter=True)
    return sum(w.numel() for w in weights.values()), sum(nonzero[n] for n in weights)


def _latency_input(data: ClassificationData, batch: int) -> torch.Tensor:
    X = data.X_test
    return X.repeat(math.ceil(batch / len(X)), *[1] * (X.dim() - 1))[:batch]


def _shared(model: nn.Module, data: ClassificationData, config: Config,
            val_fp32: float) -> tuple[int, nn.Module]:
    """The fewest bits of k-means sharing that keep validation accuracy within the
    tolerance of the fp32 model (the most bits if none does)."""
    tolerance = TARGETS["storage"]["tolerance_pp"] / 100
    for bits in sorted(config.share_bits):
        shared = quant.kmeans_share_model(model, bits)
        if _val(shared, data) >= val_fp32 - tolerance - EPS or bits == max(config.share_bits):
            return bits, shared
    raise AssertionError("unreachable")


def measure(model: nn.Module, data: ClassificationData, config: Config) -> dict:
    """Every number the tables report, for one model (and its int8 and shared versions)."""
    model = remove_dead_neurons(model)
    model.eval()
    shape = tuple(data.X_train.shape[1:])
    weights, nonzero = _weight_counts(model)
    record = {
        "hidden": [m.out_features for m in model if isinstance(m, nn.Linear)][:-1],
        "weights": weights,
        "nonzero_weights": nonzero,
        "parameters": metrics.count_parameters(model),
        "nonzero_parameters": metrics.count_nonzero(model),
        "macs": metrics.macs(model, shape),
        "macs_effective": metrics.macs(model, shape, effective=True),
    }
    gap = dict(gap_bits=config.gap_bits)
    val_fp32 = _val(model, data)
    int8 = quant.quantize_model_weights(model, 8, per_channel=True)
    bits, shared = _shared(model, data, config, val_fp32)
    variants = {
        "fp32": (model, min(metrics.storage_bytes(model, "dense32"),
                            metrics.storage_bytes(model, "relative", **gap))),
        "int8": (int8, min(metrics.storage_bytes(int8, "int8"),
                           metrics.storage_bytes(int8, "csr+int8", index_bits=16,
                                                 pointer_bits=16))),
        "shared": (shared, metrics.storage_bytes(shared, "relative+shared", value_bits=bits,
                                                 **gap)),
    }
    for name, (m, nbytes) in variants.items():
        record[name] = {"val_acc": _val(m, data), "test_acc": train.evaluate(m, data, "test"),
                        "storage_bytes": int(nbytes)}
    record["shared"]["bits"] = bits
    record["latency_ms"] = {
        str(b): metrics.measure_latency(model, _latency_input(data, b),
                                        repeats=config.latency_repeats, warmup=3,
                                        threads=config.threads).median_ms
        for b in config.latency_batches}
    return record


# --------------------------------------------------------------------------- running


def machine_info() -> dict:
    """Where the run happened: CPU, cores, load, versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "torch": torch.__version__,
            "device": str(helpers.get_device())}
    if hasattr(os, "getloadavg"):
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return info


def run(config: Config, data: ClassificationData, *, progress: bool = True) -> dict:
    """Run the benchmark; return the results (JSON-serialisable)."""
    from tqdm import tqdm

    started, cpu_started = time.perf_counter(), time.process_time()
    meta = {"date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": machine_info()}
    old_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    total = len(config.seeds) * (1 + sum(n_levels(config, m) for m in config.methods))
    bar = tqdm(total=total, desc=f"benchmark ({config.data})", disable=not progress,
               dynamic_ncols=True)
    dense_records, records = [], []
    try:
        for seed in config.seeds:
            dense = build_model(config, data, seed)
            _fit(dense, data, config, seed, epochs=config.dense_epochs)
            dense_records.append({"seed": seed, **measure(copy.deepcopy(dense), data, config)})
            bar.update()
            for method in config.methods:
                bar.set_postfix(seed=seed, method=method)
                for level, model, choice in METHOD_FUNCTIONS[method](dense, data, config,
                                                                     seed):
                    records.append({"method": method, "level": level, "seed": seed,
                                    "choice": choice, **measure(model, data, config)})
                    bar.update()
    finally:
        bar.close()
        torch.set_num_threads(old_threads)
    meta["duration_s"] = round(time.perf_counter() - started, 1)
    meta["cpu_s"] = round(time.process_time() - cpu_started, 1)
    if hasattr(os, "getloadavg"):
        meta["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    dense_summary = summarize_dense(dense_records)
    rows = aggregate(records, dense_summary)
    return {"schema": SCHEMA, "meta": meta, "config": _jsonable(asdict(config)),
            "data": {"name": config.data, "n_features": data.n_features,
                     **{f"n_{w}": len(data.split(w)[1]) for w in ("train", "val", "test")}},
            "targets": TARGETS, "dense": dense_summary, "rows": rows,
            "headline": headline(rows, dense_summary), "records": dense_records + records}


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


# --------------------------------------------------------------------------- aggregating


def _summarize(group: Sequence[dict], dense_weights: float, dense_bytes: float) -> dict:
    """Means over seeds of one (method, level) group; accuracies in percent."""
    row = {"n_seeds": len(group)}
    for key in ("weights", "nonzero_weights", "parameters", "nonzero_parameters", "macs",
                "macs_effective"):
        row[key] = float(np.mean([r[key] for r in group]))
    row["hidden"] = [float(h) for h in np.mean([r["hidden"] for r in group], axis=0)]
    row["compression"] = dense_weights / row["nonzero_weights"]
    for variant in VARIANTS:
        test_mean, test_std = mean_std([100 * r[variant]["test_acc"] for r in group])
        nbytes = float(np.mean([r[variant]["storage_bytes"] for r in group]))
        row[variant] = {"test_mean": test_mean, "test_std": test_std,
                        "val_mean": float(np.mean([100 * r[variant]["val_acc"]
                                                   for r in group])),
                        "storage_bytes": nbytes, "storage_ratio": dense_bytes / nbytes}
    row["shared"]["bits"] = [r["shared"]["bits"] for r in group]
    row["latency_ms"] = {b: float(np.median([r["latency_ms"][b] for r in group]))
                         for b in group[0]["latency_ms"]}
    return row


def summarize_dense(dense_records: Sequence[dict]) -> dict:
    """The dense baseline: means over seeds (accuracies in percent)."""
    first = dense_records[0]
    return _summarize(dense_records, first["weights"],
                      first["fp32"]["storage_bytes"]) | {
        "dense32_bytes": first["fp32"]["storage_bytes"]}


def aggregate(records: Sequence[dict], dense: dict) -> list[dict]:
    """One row per (method, level): means and standard deviations over seeds."""
    groups: dict[tuple[str, float], list[dict]] = {}
    for r in records:
        groups.setdefault((r["method"], r["level"]), []).append(r)
    rows = []
    for (method, level), group in sorted(groups.items(),
                                         key=lambda kv: (METHODS.index(kv[0][0]), kv[0][1])):
        row = {"method": method, "level": level,
               **_summarize(group, dense["nonzero_weights"], dense["dense32_bytes"])}
        for variant in VARIANTS:
            row[variant]["drop_pp"] = dense["fp32"]["test_mean"] - row[variant]["test_mean"]
            row[variant]["val_drop_pp"] = dense["fp32"]["val_mean"] - row[variant]["val_mean"]
        flops_ratio = dense["macs"] / row["macs"]
        row["flop_ratio"] = flops_ratio
        row["speedup"] = {b: dense["latency_ms"][b] / row["latency_ms"][b]
                          for b in row["latency_ms"]}
        row["choices"] = [r["choice"] for r in group]
        rows.append(row)
    return rows


def _pick(rows: Sequence[dict], ok: Callable[[dict], bool],
          key: Callable[[dict], float]) -> dict | None:
    """The row with the largest ``key`` among those that satisfy ``ok``."""
    good = [r for r in rows if ok(r)]
    return max(good, key=key) if good else None


def _large_batch(row: dict) -> str:
    return max(row["speedup"], key=int)


def _efficiency(row: dict) -> float:
    """Measured speed-up (largest batch) as a fraction of the FLOP ratio."""
    return row["speedup"][_large_batch(row)] / row["flop_ratio"]


def _neuron_summary(row: dict) -> dict:
    batch = _large_batch(row)
    return {"method": "neurons", "level": row["level"], "variant": "fp32",
            "value": row["level"], "hidden": row["hidden"],
            "test_mean": row["fp32"]["test_mean"], "test_std": row["fp32"]["test_std"],
            "drop_pp": row["fp32"]["drop_pp"], "flop_ratio": row["flop_ratio"],
            "batch": int(batch), "speedup": row["speedup"][batch],
            "speedup_batch1": row["speedup"].get("1"), "efficiency": _efficiency(row)}


def headline(rows: Sequence[dict], dense: dict, split: str = "test") -> dict:
    """The headline rows: the largest compression that stays within the tolerance.

    ``weights``: the largest ratio of dense to nonzero weights among the unstructured
    methods (fp32) whose mean accuracy is within 0.5 points of the dense model's.
    ``storage``: the largest ratio of dense fp32 bytes to stored bytes, over all methods
    and variants (fp32, int8, k-means shared), within 0.5 points. ``neurons``: the
    largest fraction of hidden neurons removed within 1 point whose measured speed-up
    (largest batch) reaches 80% of its FLOP ratio (if none does: the largest within 1
    point); ``largest`` is the largest fraction within 1 point whatever its speed-up. ``split="test"`` defines the rows as the papers do (on the
    reported accuracy); ``split="val"`` gives the rows one would pick on validation.
    """
    drop = "drop_pp" if split == "test" else "val_drop_pp"
    out: dict = {"split": split}
    tol = TARGETS["weights"]["tolerance_pp"]
    best = _pick([r for r in rows if r["method"] in UNSTRUCTURED],
                 lambda r: r["fp32"][drop] <= tol + EPS, lambda r: r["compression"])
    out["weights"] = None if best is None else {
        "method": best["method"], "level": best["level"], "variant": "fp32",
        "value": best["compression"], "test_mean": best["fp32"]["test_mean"],
        "test_std": best["fp32"]["test_std"], "drop_pp": best["fp32"]["drop_pp"],
        "nonzero_weights": best["nonzero_weights"],
        "met": best["compression"] >= TARGETS["weights"]["target"]}
    tol = TARGETS["storage"]["tolerance_pp"]
    options = [(r, v) for r in rows for v in VARIANTS]
    good = [(r, v) for r, v in options if r[v][drop] <= tol + EPS]
    if good:
        r, v = max(good, key=lambda rv: rv[0][rv[1]]["storage_ratio"])
        out["storage"] = {"method": r["method"], "level": r["level"], "variant": v,
                          "value": r[v]["storage_ratio"], "bytes": r[v]["storage_bytes"],
                          "test_mean": r[v]["test_mean"], "test_std": r[v]["test_std"],
                          "drop_pp": r[v]["drop_pp"], "bits": r["shared"]["bits"],
                          "met": r[v]["storage_ratio"] >= TARGETS["storage"]["target"]}
    else:
        out["storage"] = None
    tol = TARGETS["neurons"]["tolerance_pp"]
    kept = [r for r in rows if r["method"] == "neurons" and r["fp32"][drop] <= tol + EPS]
    if not kept:
        out["neurons"] = None
    else:
        # The largest fraction removed whose speed-up also reaches the target share of its
        # FLOP ratio; if none does, the largest fraction within the tolerance.
        efficient = [r for r in kept if _efficiency(r) >= TARGETS["neurons"]["efficiency"]]
        best = max(efficient or kept, key=lambda r: r["level"])
        largest = max(kept, key=lambda r: r["level"])
        out["neurons"] = _neuron_summary(best) | {
            "met": bool(best["level"] >= TARGETS["neurons"]["target"]
                        and _efficiency(best) >= TARGETS["neurons"]["efficiency"]),
            "largest": _neuron_summary(largest)}
    if split == "test":
        out["validation"] = headline(rows, dense, split="val")
    return out


# --------------------------------------------------------------------------- rendering


def load_results(path: str | os.PathLike = RESULTS / "compression.json") -> dict:
    """Read a results file written by :func:`write_results`."""
    results = json.loads(Path(path).read_text(encoding="utf-8"))
    if results.get("schema") != SCHEMA:
        raise ValueError(f"{path} has schema {results.get('schema')}, expected {SCHEMA}; "
                         "rerun the benchmark")
    return results


def method_label(method: str, lang: str) -> str:
    """The name of a method in ``lang`` (from :mod:`helpers.i18n`)."""
    return tr(f"bm_{method}", lang)


def level_label(row: dict) -> str:
    """A row's level: the sparsity, or the fraction of neurons removed, in percent."""
    return f"{100 * row['level']:g}%"


def table_rows(results: dict, lang: str, variant: str = "fp32") -> list[dict]:
    """The rows of the full table for :func:`helpers.metrics.format_table`."""
    dense = results["dense"]
    out = [{"bm_method": tr("bm_dense", lang), "bm_level": "0%",
            "bm_nonzero": round(dense["nonzero_weights"]), "bm_ratio": "1.0×",
            "bm_macs": round(dense["macs"]),
            "bm_accuracy": _acc(dense[variant]),
            "bm_kb": dense[variant]["storage_bytes"] / 1000,
            "bm_storage_ratio": f"{dense[variant]['storage_ratio']:.1f}×",
            "bm_latency": _latency_cell(dense)}]
    for r in results["rows"]:
        v = r[variant]
        out.append({"bm_method": method_label(r["method"], lang), "bm_level": level_label(r),
                    "bm_nonzero": round(r["nonzero_weights"]),
                    "bm_ratio": f"{r['compression']:.1f}×", "bm_macs": round(r["macs"]),
                    "bm_accuracy": _acc(v),
                    "bm_kb": v["storage_bytes"] / 1000,
                    "bm_storage_ratio": f"{v['storage_ratio']:.1f}×",
                    "bm_latency": _latency_cell(r)})
    return out


def _acc(summary: dict) -> str:
    return f"{summary['test_mean']:.2f} ± {summary['test_std']:.2f}"


def _latency_cell(row: dict) -> str:
    return " / ".join(f"{row['latency_ms'][b]:.3g}" for b in sorted(row["latency_ms"], key=int))


TABLE_COLUMNS = ("bm_method", "bm_level", "bm_nonzero", "bm_ratio", "bm_macs", "bm_accuracy",
                 "bm_kb", "bm_storage_ratio", "bm_latency")


def markdown_table(results: dict, lang: str = "en", variant: str = "fp32") -> str:
    """The full table as Markdown text."""
    return metrics.format_table(table_rows(results, lang, variant), lang,
                                columns=TABLE_COLUMNS,
                                formats={"bm_kb": ".2f"}).data


def headline_rows(results: dict, lang: str) -> list[dict]:
    """The three headline claims against the papers and the targets."""
    h, rows = results["headline"], []
    for claim in ("weights", "storage", "neurons"):
        t, best = TARGETS[claim], h[claim]
        if claim == "neurons":
            paper, target = "—", (f"≥ {100 * t['target']:.0f}%, "
                                  f"{tr('bm_efficiency', lang)} ≥ {t['efficiency']:.0%}")
            ours = "—" if best is None else (
                f"{100 * best['value']:.0f}%, {tr('bm_efficiency', lang)} "
                f"{best['efficiency']:.0%}")
        else:
            paper, target = f"{t['paper']:.0f}×", f"≥ {t['target']:.0f}×"
            ours = "—" if best is None else f"{best['value']:.1f}×"
        rows.append({
            "bm_claim": tr(f"bm_claim_{claim}", lang), "bm_paper": paper, "bm_target": target,
            "bm_ours": ours,
            "bm_method": "—" if best is None else method_label(best["method"], lang)
            + ("" if best["variant"] == "fp32" else f" + {tr('bm_' + best['variant'], lang)}"),
            "bm_accuracy": "—" if best is None else
            f"{best['test_mean']:.2f} ± {best['test_std']:.2f} ({-best['drop_pp']:+.2f})",
            "bm_met": tr("bm_met" if best is not None and best["met"] else "bm_missed", lang)})
    return rows


def markdown_headline(results: dict, lang: str = "en") -> str:
    """The headline table as Markdown text."""
    return metrics.format_table(headline_rows(results, lang), lang,
                                columns=("bm_claim", "bm_paper", "bm_target", "bm_ours",
                                         "bm_method", "bm_accuracy", "bm_met")).data


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def best_per_method(results: dict, split: str = "test") -> dict[str, dict | None]:
    """For each unstructured method, its row of largest compression within 0.5 points."""
    drop = "drop_pp" if split == "test" else "val_drop_pp"
    tol = TARGETS["weights"]["tolerance_pp"]
    return {m: _pick([r for r in results["rows"] if r["method"] == m],
                     lambda r: r["fp32"][drop] <= tol + EPS, lambda r: r["compression"])
            for m in UNSTRUCTURED}


def glue_values(results: dict, lang: str) -> dict[str, str]:
    """Every number the appendix page quotes, formatted as text, by glue key."""
    meta, config, dense, h = (results["meta"], results["config"], results["dense"],
                              results["headline"])
    machine = meta["machine"]
    pct = lambda xs: ", ".join(f"{100 * x:g}%" for x in xs)  # noqa: E731
    v = {
        "bm_date": meta["date"][:10], "bm_cpu": machine["cpu"],
        "bm_cores": str(machine["cores"]), "bm_torch": machine["torch"],
        "bm_minutes": f"{meta['duration_s'] / 60:.1f}",
        "bm_cpu_minutes": f"{meta['cpu_s'] / 60:.1f}" if "cpu_s" in meta else "—",
        "bm_load": f"{machine.get('load_average', [float('nan')])[0]:.1f}",
        "bm_seeds": str(len(config["seeds"])), "bm_threads": str(config["threads"]),
        "bm_n_train": f"{results['data']['n_train']:,}",
        "bm_n_val": f"{results['data']['n_val']:,}",
        "bm_n_test": f"{results['data']['n_test']:,}",
        "bm_image_pp": f"{100 / results['data']['n_test']:.2f}",
        "bm_dense_acc": f"{dense['fp32']['test_mean']:.2f}",
        "bm_dense_std": f"{dense['fp32']['test_std']:.2f}",
        "bm_dense_weights": f"{dense['weights']:,.0f}",
        "bm_dense_kb": f"{dense['dense32_bytes'] / 1000:.1f}",
        "bm_sparsities": pct(config["sparsities"]),
        "bm_fractions": pct(config["neuron_fractions"]),
        "bm_l1_grid": ", ".join(f"{x:g}" for x in config["l1_strengths"]),
        "bm_l2_grid": ", ".join(f"{x:g}" for x in config["l2_decays"]),
        "bm_bits_grid": ", ".join(str(x) for x in config["share_bits"]),
        "bm_dense_epochs": str(config["dense_epochs"]),
        "bm_ft_epochs": str(config["finetune_epochs"]),
        "bm_gradual_epochs": str(config["gradual_epochs"]),
        "bm_gap_bits": str(config["gap_bits"]),
        "bm_repeats": str(config["latency_repeats"]),
        "bm_batch_large": str(max(config["latency_batches"])),
        "bm_target_weights": f"{TARGETS['weights']['target']:.0f}",
        "bm_target_storage": f"{TARGETS['storage']['target']:.0f}",
        "bm_target_neurons": f"{100 * TARGETS['neurons']['target']:.0f}",
        "bm_target_efficiency": f"{100 * TARGETS['neurons']['efficiency']:.0f}",
    }
    for claim in ("weights", "storage", "neurons"):
        best = h[claim]
        v[f"bm_{claim}_met"] = tr("bm_met" if best and best["met"] else "bm_missed", lang)
        v[f"bm_{claim}_method"] = "—" if best is None else method_label(best["method"], lang)
        v[f"bm_{claim}_acc"] = "—" if best is None else f"{best['test_mean']:.2f}"
        v[f"bm_{claim}_std"] = "—" if best is None else f"{best['test_std']:.2f}"
        v[f"bm_{claim}_drop"] = "—" if best is None else f"{best['drop_pp']:.2f}"
        v[f"bm_val_{claim}"] = "—" if h["validation"][claim] is None else (
            f"{100 * h['validation'][claim]['value']:.0f}" if claim == "neurons"
            else _ratio(h["validation"][claim]["value"]))
    w, s, n = h["weights"], h["storage"], h["neurons"]
    v["bm_weights_value"] = _ratio(w and w["value"])
    v["bm_weights_sparsity"] = "—" if w is None else f"{100 * w['level']:g}"
    v["bm_weights_nonzero"] = "—" if w is None else f"{w['nonzero_weights']:,.0f}"
    v["bm_storage_value"] = _ratio(s and s["value"])
    v["bm_storage_kb"] = "—" if s is None else f"{s['bytes'] / 1000:.2f}"
    v["bm_storage_variant"] = "—" if s is None else tr(f"bm_{s['variant']}", lang)
    v["bm_storage_sparsity"] = "—" if s is None else f"{100 * s['level']:g}"
    v["bm_neurons_removed"] = "—" if n is None else f"{100 * n['value']:.0f}"
    v["bm_neurons_hidden"] = "—" if n is None else "-".join(f"{x:.0f}" for x in n["hidden"])
    v["bm_flop_ratio"] = "—" if n is None else f"{n['flop_ratio']:.2f}"
    v["bm_speedup"] = "—" if n is None else f"{n['speedup']:.2f}"
    v["bm_speedup_b1"] = "—" if n is None else f"{n['speedup_batch1']:.2f}"
    v["bm_efficiency"] = "—" if n is None else f"{100 * n['efficiency']:.0f}"
    big = None if n is None else n["largest"]
    v["bm_largest_removed"] = "—" if big is None else f"{100 * big['value']:.0f}"
    v["bm_largest_drop"] = "—" if big is None else f"{big['drop_pp']:.2f}"
    v["bm_largest_flop"] = "—" if big is None else f"{big['flop_ratio']:.1f}"
    v["bm_largest_speedup"] = "—" if big is None else f"{big['speedup']:.1f}"
    v["bm_largest_efficiency"] = "—" if big is None else f"{100 * big['efficiency']:.0f}"
    for method, row in best_per_method(results).items():
        v[f"bm_best_{method}"] = _ratio(row and row["compression"])
    return v


def _style(lang: str):
    import matplotlib.pyplot as plt

    helpers.plot.use_house_style(lang)
    return plt


def _curve(ax, rows, x: Callable[[dict], float], variant: str, label: str, **kw) -> None:
    xs = [x(r) for r in rows]
    ax.errorbar(xs, [r[variant]["test_mean"] for r in rows],
                yerr=[r[variant]["test_std"] for r in rows], marker="o", markersize=3,
                capsize=2, label=label, **kw)


def _band(ax, results: dict, lang: str, tolerance: float) -> None:
    dense = results["dense"]["fp32"]["test_mean"]
    ax.axhline(dense, color="black", linewidth=1, label=tr("bm_dense", lang))
    ax.axhspan(dense - tolerance, dense + tolerance, color="grey", alpha=0.15,
               label=tr("bm_band", lang).format(tol=tolerance))


def plot_accuracy(results: dict, lang: str, *, ymin: float = 90.0, xmax: float = 300.0):
    """Test accuracy (mean ± std) against the compression ratio of nonzero weights."""
    plt = _style(lang)
    fig, ax = plt.subplots(figsize=(8, 4.2))
    for method in UNSTRUCTURED:
        rows = [r for r in results["rows"] if r["method"] == method]
        if rows:
            _curve(ax, rows, lambda r: r["compression"], "fp32", method_label(method, lang))
    _band(ax, results, lang, TARGETS["weights"]["tolerance_pp"])
    ax.axvline(TARGETS["weights"]["target"], color="tab:red", linestyle="--", linewidth=1,
               label=tr("bm_target", lang))
    ax.set(xscale="log", xlabel=tr("bm_x_compression", lang),
           ylabel=tr("bm_y_accuracy", lang), title=tr("bm_title_accuracy", lang),
           ylim=(ymin, 100), xlim=(1.5, xmax))
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


#: The methods whose storage curves are drawn (the ones that reach high compression).
STORAGE_METHODS = ("iterative", "gradual", "l1_prune", "l2_prune")


def plot_storage(results: dict, lang: str, *, ymin: float = 90.0, xmax: float = 300.0):
    """Test accuracy against storage compression: one panel each for fp32, int8, sharing."""
    plt = _style(lang)
    fig, axes = plt.subplots(1, len(VARIANTS), figsize=(10, 3.8), sharey=True)
    for ax, variant in zip(axes, VARIANTS):
        for method in STORAGE_METHODS:
            rows = [r for r in results["rows"] if r["method"] == method]
            if rows:
                _curve(ax, rows, lambda r, v=variant: r[v]["storage_ratio"], variant,
                       method_label(method, lang))
        _band(ax, results, lang, TARGETS["storage"]["tolerance_pp"])
        ax.axvline(TARGETS["storage"]["target"], color="tab:red", linestyle="--",
                   linewidth=1, label=tr("bm_target", lang))
        ax.set(xscale="log", xlabel=tr("bm_x_storage", lang),
               title=tr(f"bm_{variant}", lang), ylim=(ymin, 100), xlim=(1.5, xmax))
    axes[0].set_ylabel(tr("bm_y_accuracy", lang))
    axes[0].legend(fontsize="x-small", loc="lower left")
    fig.suptitle(tr("bm_title_storage", lang))
    return fig


def plot_neurons(results: dict, lang: str):
    """Neuron removal: FLOP ratio against measured speed-up, and accuracy."""
    plt = _style(lang)
    rows = [r for r in results["rows"] if r["method"] == "neurons"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.6))
    levels = [100 * r["level"] for r in rows]
    left.plot(levels, [r["flop_ratio"] for r in rows], marker="o",
              label=tr("bm_flop_ratio", lang))
    for batch in sorted(rows[0]["speedup"], key=int) if rows else []:
        left.plot(levels, [r["speedup"][batch] for r in rows], marker="s",
                  label=tr("bm_speedup_batch", lang).format(batch=batch))
    left.set(xlabel=tr("bm_x_neurons", lang), ylabel=tr("bm_y_speedup", lang),
             title=tr("bm_title_speed", lang))
    left.legend(fontsize="small")
    _curve(right, rows, lambda r: 100 * r["level"], "fp32", tr("bm_neurons", lang))
    dense = results["dense"]["fp32"]["test_mean"]
    tol = TARGETS["neurons"]["tolerance_pp"]
    right.axhline(dense, color="black", linewidth=1, label=tr("bm_dense", lang))
    right.axhspan(dense - tol, dense + tol, color="grey", alpha=0.15,
                  label=tr("bm_band", lang).format(tol=tol))
    right.set(xlabel=tr("bm_x_neurons", lang), ylabel=tr("bm_y_accuracy", lang),
              title=tr("bm_title_neuron_acc", lang))
    right.legend(fontsize="small")
    return fig


PLOTS = {"accuracy_vs_compression.png": plot_accuracy, "storage.png": plot_storage,
         "neurons.png": plot_neurons}


def write_results(results: dict, out: str | os.PathLike = RESULTS) -> list[Path]:
    """Write ``compression.json``, ``compression.md`` and the PNG plots into ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "compression.json", out / "compression.md"]
    paths[0].write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    meta, m = results["meta"], results["meta"]["machine"]
    paths[1].write_text(
        f"# Compression benchmark ({results['data']['name']})\n\n"
        f"Run {meta['date']} on {m['cpu']} ({m['cores']} cores, torch {m['torch']}, "
        f"{results['config']['threads']} thread(s)) in {meta['duration_s']:.0f} s "
        f"({meta.get('cpu_s', float('nan')):.0f} s of CPU time; load average "
        f"{m.get('load_average', [float('nan')])[0]:.1f} at the start); "
        f"seeds {results['config']['seeds']}; accuracies in % on the test split, "
        f"mean ± std over seeds; latency in ms (batch "
        f"{' / '.join(str(b) for b in results['config']['latency_batches'])}).\n\n"
        f"## Headline rows against the targets\n\n{markdown_headline(results)}\n\n"
        f"## All methods (fp32 weights)\n\n{markdown_table(results)}\n\n"
        f"## All methods, int8 weights\n\n{markdown_table(results, variant='int8')}\n\n"
        f"## All methods, k-means shared weights\n\n"
        f"{markdown_table(results, variant='shared')}\n", encoding="utf-8")
    for name, plot in PLOTS.items():
        fig = plot(results, "en")
        fig.savefig(out / name)
        plt.close(fig)
        paths.append(out / name)
    return paths


# --------------------------------------------------------------------------- command line


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
