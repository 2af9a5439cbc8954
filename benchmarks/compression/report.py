"""The compression benchmark's report: headline rows, tables, glued values and plots.

Reads the results of :func:`benchmarks.compression.experiment.run` (or the JSON file
that :func:`write_results` writes) and never trains anything: the book's appendix page
(``book/*/benchmark-results.md``) renders the committed results with these functions.
The headline rows are chosen here, from the rows of the results, so a change of how
they are chosen needs no new run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from helpers import metrics, plot, stats
from helpers.i18n import aside, column_header, listing, spaced, tr, verdict_name

from .experiment import EPS, SCHEMA, TARGETS, UNSTRUCTURED, VARIANTS, unpack_correct
from .experiment import REGISTRY as METHODS

#: Where the committed results live.
RESULTS = Path(__file__).resolve().parents[1] / "results"


def results_dir(data: str = "digits", architecture: str = "lenet-300-100") -> Path:
    """Where a run's results are written and read by default: :data:`RESULTS` for
    LeNet-300-100 on the digits (the appendix's main results), ``RESULTS/<data>/<model>``
    for the others (``benchmarks/results/fashion-mnist/lenet-5/``), beside them."""
    from .experiment import ARCHITECTURES, DATA

    if data not in DATA or architecture not in ARCHITECTURES:
        raise ValueError(f"data must be one of {DATA} and architecture one of "
                         f"{ARCHITECTURES}, got {data!r} and {architecture!r}")
    if (data, architecture) == ("digits", "lenet-300-100"):
        return RESULTS
    return RESULTS / data / architecture

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
            "value": row["level"], "hidden": row["hidden"], "epochs": row["epochs"],
            "test_mean": row["fp32"]["test_mean"], "test_std": row["fp32"]["test_std"],
            "drop_pp": row["fp32"]["drop_pp"], "flop_ratio": row["flop_ratio"],
            "batch": int(batch), "speedup": row["speedup"][batch],
            "speedup_batch1": row["speedup"].get("1"), "efficiency": _efficiency(row)}


def _selected_by(targets: dict, claim: str, rule: str, value: float) -> dict:
    """What selected a headline row, as recorded in the JSON: split, rule, tolerance."""
    return {"split": "val", "rule": rule, "tolerance_pp": targets[claim]["tolerance_pp"],
            "val_drop_pp": value}


def headline(rows: Sequence[dict], dense: dict, targets: dict = TARGETS) -> dict:
    """The headline rows: the largest compression that stays within the tolerance,
    chosen on the **validation** split; the test accuracy of the chosen row is reported.

    ``weights``: the largest ratio of dense to nonzero weights among the unstructured
    methods (fp32) whose mean validation accuracy is within 0.5 points of the dense
    model's. ``storage``: the largest ratio of dense fp32 bytes to stored bytes, over all
    methods and variants (fp32, int8, k-means shared), within 0.5 points. ``neurons``:
    the largest fraction of hidden neurons removed within 1 point whose measured speed-up
    (largest batch) reaches 80% of its FLOP ratio (if none does: the largest within 1
    point); ``largest`` is the largest fraction within 1 point whatever its speed-up.
    Each row records under ``selected_by`` the split, the rule and the tolerance that
    selected it, and its validation drop; the test split selects nothing. ``targets``
    (the results' own, ``results["targets"]``) gives the tolerances and the targets.
    """
    drop = "val_drop_pp"
    out: dict = {"split": "val"}
    tol = targets["weights"]["tolerance_pp"]
    best = _pick([r for r in rows if r["method"] in UNSTRUCTURED],
                 lambda r: r["fp32"][drop] <= tol + EPS, lambda r: r["compression"])
    out["weights"] = None if best is None else {
        "method": best["method"], "level": best["level"], "variant": "fp32",
        "value": best["compression"], "test_mean": best["fp32"]["test_mean"],
        "test_std": best["fp32"]["test_std"], "drop_pp": best["fp32"]["drop_pp"],
        "nonzero_weights": best["nonzero_weights"], "epochs": best["epochs"],
        "met": best["compression"] >= targets["weights"]["target"],
        "selected_by": _selected_by(
            targets, "weights", "largest compression ratio (fp32, unstructured methods) "
            "whose mean validation accuracy is within the tolerance of the dense model's",
            best["fp32"][drop])}
    tol = targets["storage"]["tolerance_pp"]
    options = [(r, v) for r in rows for v in VARIANTS]
    good = [(r, v) for r, v in options if r[v][drop] <= tol + EPS]
    if good:
        r, v = max(good, key=lambda rv: rv[0][rv[1]]["storage_ratio"])
        out["storage"] = {"method": r["method"], "level": r["level"], "variant": v,
                          "value": r[v]["storage_ratio"], "bytes": r[v]["storage_bytes"],
                          "test_mean": r[v]["test_mean"], "test_std": r[v]["test_std"],
                          "drop_pp": r[v]["drop_pp"], "bits": r["shared"]["bits"],
                          "epochs": r["epochs"],
                          "met": r[v]["storage_ratio"] >= targets["storage"]["target"],
                          "selected_by": _selected_by(
                              targets, "storage", "largest storage ratio (any method and "
                              "variant) whose mean validation accuracy is within the "
                              "tolerance of the dense model's", r[v][drop])}
    else:
        out["storage"] = None
    tol = targets["neurons"]["tolerance_pp"]
    kept = [r for r in rows if r["method"] == "neurons" and r["fp32"][drop] <= tol + EPS]
    if not kept:
        out["neurons"] = None
    else:
        # The largest fraction removed whose speed-up also reaches the target share of its
        # FLOP ratio; if none does, the largest fraction within the tolerance.
        efficient = [r for r in kept if _efficiency(r) >= targets["neurons"]["efficiency"]]
        best = max(efficient or kept, key=lambda r: r["level"])
        largest = max(kept, key=lambda r: r["level"])
        out["neurons"] = _neuron_summary(best) | {
            "met": bool(best["level"] >= targets["neurons"]["target"]
                        and _efficiency(best) >= targets["neurons"]["efficiency"]),
            "largest": _neuron_summary(largest),
            "selected_by": _selected_by(
                targets, "neurons", "largest fraction of hidden neurons removed whose mean "
                "validation accuracy is within the tolerance of the dense model's and whose measured "
                "speed-up reaches the target share of its FLOP ratio (else the largest "
                "within the tolerance)", best["fp32"][drop])}
    return out


def grid_edges(results: dict) -> dict[str, dict]:
    """How often the value chosen on validation lies at an edge of its grid.

    For the regularised methods, ``{method: {"grid": [...], "choices": n, "low": n_low,
    "high": n_high}}`` over every level and seed: a choice at an edge means the best
    value may lie outside the grid searched.
    """
    grids = {"l1_prune": ("l1_strength", results["config"]["l1_strengths"]),
             "l2_prune": ("weight_decay", results["config"]["l2_decays"])}
    out = {}
    for method, (key, grid) in grids.items():
        chosen = [c[key] for r in results["rows"] if r["method"] == method
                  for c in r["choices"]]
        out[method] = {"grid": list(grid), "choices": len(chosen),
                       "low": sum(c == min(grid) for c in chosen),
                       "high": sum(c == max(grid) for c in chosen)}
    return out


#: The baselines' records: the dense networks, and the same trained for the fine-tuning
#: epochs too (equal budget); their level is None.
BASELINES = ("dense", "dense_budget")
#: Their names in the tables (:mod:`helpers.i18n` keys, shared with the pruning chapter).
BASELINE_TEXT = {"dense": "bm_dense", "dense_budget": "prune_same_budget_level"}


def seed_records(results: dict, method: str, level: float | None = None) -> list[dict]:
    """The records of one row (a method at a level, or a baseline), in seed order."""
    if method in BASELINES:
        found = [r for r in results["records"] if r["method"] == method]
    else:
        if level is None:
            raise ValueError(f"method {method!r} needs a level (a sparsity or a fraction)")
        found = [r for r in results["records"] if r["method"] == method
                 and r["level"] is not None and abs(r["level"] - level) < 1e-9]
    if not found:
        raise ValueError(f"no records for method {method!r} at level {level}")
    return sorted(found, key=lambda r: r["seed"])


def seed_values(results: dict, method: str, level: float | None = None,
                variant: str = "fp32", split: str = "test") -> list[float]:
    """Per-seed accuracies (%) of one row (``method="dense"`` or ``"dense_budget"`` for
    the baselines), in the order of the seeds."""
    return [100 * r[variant][f"{split}_acc"] for r in seed_records(results, method, level)]


def seed_correct(results: dict, method: str, level: float | None = None,
                 variant: str = "fp32"):
    """Which test images each seed's model gets right: bool array (n_seeds, n_test),
    the input of :func:`helpers.stats.compare_accuracy`."""
    n = results["data"]["n_test"]
    return np.stack([unpack_correct(r[variant]["test_correct"], n)
                     for r in seed_records(results, method, level)])


def budget_correct(results: dict, epochs: int) -> np.ndarray:
    """Which test images the dense control of a budget of ``epochs`` gets right, per seed:
    bool array (n_seeds, n_test) (the controls of
    :func:`benchmarks.compression.experiment.budget_controls`)."""
    n = results["data"]["n_test"]
    found = sorted((r for r in results["budget_controls"] if r["epochs"] == epochs),
                   key=lambda r: r["seed"])
    if not found:
        raise ValueError(f"no dense control of {epochs} epochs in the results; budgets: "
                         f"{sorted({r['epochs'] for r in results['budget_controls']})}")
    return np.stack([unpack_correct(r["test_correct"], n) for r in found])


def budget_label(epochs: int, lang: str) -> str:
    """The name of the dense control of a budget: "dense, 70 epochs"."""
    return tr("bm_dense_of_epochs", lang).format(epochs=epochs)


def interleaved_rounds(results: dict, method: str, level: float | None,
                       batch: str) -> tuple[list[float], list[float]]:
    """The per-round median latencies (ms) of one row and of the dense networks it was
    timed in alternation with, at ``batch``: all seeds' rounds, in the same order for
    both (the input of :func:`helpers.stats.latency_ratio`)."""
    model, dense = [], []
    for r in seed_records(results, method, level):
        model += r["rounds_ms"][batch]["model"]
        dense += r["rounds_ms"][batch]["dense"]
    return model, dense


# --------------------------------------------------------------------------- rendering


def load_results(path: str | os.PathLike = RESULTS / "compression.json") -> dict:
    """Read a results file written by :func:`write_results`."""
    results = json.loads(Path(path).read_text(encoding="utf-8"))
    if results.get("schema") != SCHEMA:
        raise ValueError(f"{path} has schema {results.get('schema')}, expected {SCHEMA}; "
                         "rerun the benchmark")
    return results


#: The :mod:`helpers.i18n` key of each weight variant (a method's is in its
#: registration, :data:`benchmarks.compression.experiment.REGISTRY`).
VARIANT_TEXT = {"fp32": "bm_fp32", "int8": "bm_int8", "shared": "kmeans"}


def method_label(method: str, lang: str) -> str:
    """The name of a method in ``lang`` (from :mod:`helpers.i18n`)."""
    return tr(METHODS[method].text, lang)


def variant_label(variant: str, lang: str) -> str:
    """The name of a weight variant (fp32, int8, k-means sharing) in ``lang``."""
    return tr(VARIANT_TEXT[variant], lang)


def level_label(row: dict) -> str:
    """A row's level: the sparsity, or the fraction of neurons removed, in percent."""
    return f"{100 * row['level']:g}%"


def table_rows(results: dict, lang: str, variant: str = "fp32") -> list[dict]:
    """The rows of the full table for :func:`helpers.metrics.format_table`."""
    dense = results["dense"]
    out = [{"bm_method": tr("bm_dense", lang), "bm_level": "0%",
            "bm_nonzero": round(dense["nonzero_weights"]), "param_ratio": "1.0×",
            "macs": round(dense["macs"]),
            "test_accuracy_pct": _acc(dense[variant]),
            "storage_kb": dense[variant]["storage_bytes"] / 1000,
            "ratio": f"{dense[variant]['storage_ratio']:.1f}×",
            "latency_ms": _latency_cell(dense)}]
    budget = results["dense_budget"]
    out[0]["bm_epochs"] = results["config"]["dense_epochs"]
    out.append({"bm_method": tr(BASELINE_TEXT["dense_budget"], lang), "bm_level": "0%",
                "bm_epochs": results["config"]["dense_epochs"]
                + results["config"]["finetune_epochs"],
                "bm_nonzero": round(budget["nonzero_weights"]),
                "param_ratio": f"{budget['compression']:.1f}×", "macs": round(budget["macs"]),
                "test_accuracy_pct": _acc(budget[variant]),
                "storage_kb": budget[variant]["storage_bytes"] / 1000,
                "ratio": f"{budget[variant]['storage_ratio']:.1f}×",
                "latency_ms": _latency_cell(budget)})
    for r in results["rows"]:
        v = r[variant]
        out.append({"bm_method": method_label(r["method"], lang), "bm_level": level_label(r),
                    "bm_epochs": r["epochs"], "bm_nonzero": round(r["nonzero_weights"]),
                    "param_ratio": f"{r['compression']:.1f}×", "macs": round(r["macs"]),
                    "test_accuracy_pct": _acc(v),
                    "storage_kb": v["storage_bytes"] / 1000,
                    "ratio": f"{v['storage_ratio']:.1f}×",
                    "latency_ms": _latency_cell(r)})
    return out


def _signed(value: float) -> str:
    """A signed number with two decimals and a true minus sign: "+0.39", "−0.17"."""
    return f"{value:+.2f}".replace("-", "\u2212")


def _number(value: float) -> str:
    """A grid value as text: 0.03, 1e-5 (no zero-padded exponent)."""
    return f"{value:g}".replace("e-0", "e-")


def _acc(summary: dict) -> str:
    return f"{summary['test_mean']:.2f} ± {summary['test_std']:.2f}"


def _latency_cell(row: dict) -> str:
    return " / ".join(f"{row['latency_ms'][b]:.3g}" for b in sorted(row["latency_ms"], key=int))


TABLE_COLUMNS = ("bm_method", "bm_level", "bm_epochs", "bm_nonzero", "param_ratio", "macs",
                 "test_accuracy_pct", "storage_kb", "ratio", "latency_ms")


def markdown_table(results: dict, lang: str = "en", variant: str = "fp32") -> str:
    """The full table as Markdown text."""
    return metrics.format_table(table_rows(results, lang, variant), lang,
                                columns=TABLE_COLUMNS,
                                formats={"storage_kb": ".2f"}).data


def headline_rows(results: dict, lang: str) -> list[dict]:
    """The three headline claims against the papers and the targets, with each row's
    training budget and whether it is shown to lose no accuracy against the dense
    network of that budget (:func:`equivalences`); the weights row also shows how far
    random pruning with fine-tuning gets (the task's slack)."""
    h, rows = headline(results["rows"], results["dense"], results["targets"]), []
    same = equivalences(results, lang)
    random_best = best_per_method(results)["random"]
    for claim in ("weights", "storage", "neurons"):
        t, best = results["targets"][claim], h[claim]
        if claim == "neurons":
            paper, target = "—", listing([f"≥ {100 * t['target']:.0f}%",
                                          f"{tr('bm_efficiency', lang)} ≥ "
                                          f"{t['efficiency']:.0%}"], lang)
            ours = "—" if best is None else listing(
                [f"{100 * best['value']:.0f}%",
                 f"{tr('bm_efficiency', lang)} {best['efficiency']:.0%}"], lang)
        else:
            paper, target = f"{t['paper']:.0f}×", f"≥ {t['target']:.0f}×"
            ours = "—" if best is None else f"{best['value']:.1f}×"
            if claim == "weights" and best is not None and random_best is not None:
                ours += aside(tr("bm_random_reaches", lang).format(
                    ratio=f"{random_best['compression']:.1f}"), lang)
        method = "—" if best is None else method_label(best["method"], lang)
        if best is not None and best["variant"] != "fp32":  # no space after "）"
            method = f"{method} + {variant_label(best['variant'], lang)}".replace("） ", "）")
        if best is not None:  # its training budget
            method += aside(tr("bm_epochs_of", lang).format(epochs=best["epochs"]), lang)
        rows.append({
            "bm_claim": tr(f"bm_claim_{claim}", lang), "bm_paper": paper, "bm_target": target,
            "bm_ours": ours, "bm_method": method,
            "test_accuracy_pct": "—" if best is None else
            f"{best['test_mean']:.2f} ± {best['test_std']:.2f}"
            + aside(_signed(-best['drop_pp']), lang),
            "bm_met": tr("bm_met" if best is not None and best["met"] else "bm_missed", lang),
            "bm_no_loss": same[claim].word(lang) if claim in same else "—"})
    return rows


def markdown_headline(results: dict, lang: str = "en") -> str:
    """The headline table as Markdown text."""
    return metrics.format_table(headline_rows(results, lang), lang,
                                columns=("bm_claim", "bm_paper", "bm_target", "bm_ours",
                                         "bm_method", "test_accuracy_pct", "bm_met",
                                         "bm_no_loss")).data


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def best_per_method(results: dict) -> dict[str, dict | None]:
    """For each unstructured method, its row of largest compression whose mean
    validation accuracy is within 0.5 points of the dense model's."""
    drop = "val_drop_pp"
    tol = results["targets"]["weights"]["tolerance_pp"]
    return {m: _pick([r for r in results["rows"] if r["method"] == m],
                     lambda r: r["fp32"][drop] <= tol + EPS, lambda r: r["compression"])
            for m in UNSTRUCTURED}


def glue_values(results: dict, lang: str) -> dict[str, str]:
    """Every number the appendix page quotes, formatted as text, by glue key."""
    meta, config, dense = results["meta"], results["config"], results["dense"]
    targets = results["targets"]
    h = headline(results["rows"], dense, results["targets"])
    machine = meta["machine"]
    pct = lambda xs: listing([f"{100 * x:g}%" for x in xs], lang)  # noqa: E731
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
        "bm_budget_acc": f"{results['dense_budget']['fp32']['test_mean']:.2f}",
        "bm_budget_std": f"{results['dense_budget']['fp32']['test_std']:.2f}",
        "bm_budget_epochs": str(config["dense_epochs"] + config["finetune_epochs"]),
        "bm_sparsities": pct(config["sparsities"]),
        "bm_fractions": pct(config["neuron_fractions"]),
        "bm_l1_grid": listing([_number(x) for x in config["l1_strengths"]], lang),
        "bm_l2_grid": listing([_number(x) for x in config["l2_decays"]], lang),
        "bm_bits_grid": listing(config["share_bits"], lang),
        "bm_dense_epochs": str(config["dense_epochs"]),
        "bm_ft_epochs": str(config["finetune_epochs"]),
        "bm_gradual_epochs": str(config["gradual_epochs"]),
        "bm_gap_bits": str(config["gap_bits"]),
        "bm_repeats": str(config["latency_repeats"]),
        "bm_rounds": str(config["latency_rounds"]),
        "bm_batch_large": str(max(config["latency_batches"])),
        "bm_target_weights": f"{targets['weights']['target']:.0f}",
        "bm_target_storage": f"{targets['storage']['target']:.0f}",
        "bm_target_neurons": f"{100 * targets['neurons']['target']:.0f}",
        "bm_target_efficiency": f"{100 * targets['neurons']['efficiency']:.0f}",
    }
    for claim in ("weights", "storage", "neurons"):
        best = h[claim]
        v[f"bm_{claim}_met"] = tr("bm_met" if best and best["met"] else "bm_missed", lang)
        v[f"bm_{claim}_method"] = "—" if best is None else method_label(best["method"], lang)
        v[f"bm_{claim}_acc"] = "—" if best is None else f"{best['test_mean']:.2f}"
        v[f"bm_{claim}_std"] = "—" if best is None else f"{best['test_std']:.2f}"
        v[f"bm_{claim}_drop"] = "—" if best is None else f"{best['drop_pp']:.2f}"
        # The test accuracy's change against the dense networks, signed (+ = above).
        v[f"bm_{claim}_change"] = "—" if best is None else _signed(-best['drop_pp'])
    w, s, n = h["weights"], h["storage"], h["neurons"]
    v["bm_weights_value"] = _ratio(w and w["value"])
    v["bm_weights_sparsity"] = "—" if w is None else f"{100 * w['level']:g}"
    v["bm_weights_nonzero"] = "—" if w is None else f"{w['nonzero_weights']:,.0f}"
    v["bm_storage_value"] = _ratio(s and s["value"])
    v["bm_storage_kb"] = "—" if s is None else f"{s['bytes'] / 1000:.2f}"
    v["bm_storage_variant"] = "—" if s is None else variant_label(s["variant"], lang)
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
    edges = grid_edges(results)
    for method, e in edges.items():
        v[f"bm_{method}_edge"] = f"{e['low'] + e['high']}"
        v[f"bm_{method}_choices"] = f"{e['choices']}"
        v[f"bm_{method}_edge_high"] = f"{e['high']}"
    verdicts = comparisons(results, lang)
    v.update({f"bm_{k}": c.verdict(lang) for k, c in verdicts.items()})
    # "No loss" against the dense network of the row's own budget: two one-sided tests
    # at the tolerance; and how often one network on this test set could show it.
    pairs = _headline_pairs(results, lang)
    same = equivalences(results, lang, pairs)
    for claim in ("weights", "storage", "neurons"):
        best = h[claim]
        v[f"bm_{claim}_epochs"] = "—" if best is None else str(best["epochs"])
        v[f"bm_{claim}_equivalence"] = same[claim].verdict(lang) if claim in same else "—"
        if claim in pairs:
            d = discordance_pct(*pairs[claim][:2])
            v[f"bm_{claim}_discordant"] = f"{d:.1f}"
            power = stats.equivalence_power(results["data"]["n_test"], discordant=max(d, 1e-3),
                                            margin=results["targets"][claim]["tolerance_pp"])
            v[f"bm_{claim}_power"] = f"{100 * power:.0f}" if power >= 0.01 else "< 1"
        else:
            v[f"bm_{claim}_discordant"] = v[f"bm_{claim}_power"] = "—"
    speed = verdicts.get("neuron_speed_verdict")
    if n is not None and speed is not None:  # the same estimate as the verdict, per FLOP
        v["bm_neuron_speed_efficiency"] = f"{100 * speed.estimate / n['flop_ratio']:.0f}"
        v["bm_neuron_speed_efficiency_ci"] = tr("range", lang).format(
            low=f"{100 * speed.low / n['flop_ratio']:.0f}",
            high=f"{100 * speed.high / n['flop_ratio']:.0f}")
    else:
        v["bm_neuron_speed_efficiency"] = v["bm_neuron_speed_efficiency_ci"] = "—"
    # What the L1-vs-L2 verdict says of Han et al.'s observation (L2 ahead after
    # retraining): the sentence follows the verdict, never typed by hand.
    l1_l2 = verdicts["l1_l2_verdict"]
    v["bm_l1_l2_conclusion"] = tr(
        "bm_l1_l2_unsettled" if not l1_l2.differs
        else "bm_l1_l2_agrees" if l1_l2.estimate < 0 else "bm_l1_l2_against", lang)
    v["bm_l1_l2_level"] = f"{100 * l1_l2_level(results):g}"
    return v


def l1_l2_level(results: dict) -> float:
    """The highest sparsity at which L1 + pruning or L2 + pruning stays within 0.5 points
    of the dense model on validation: where the two are compared."""
    tol = results["targets"]["weights"]["tolerance_pp"]
    levels = [r["level"] for r in results["rows"] if r["method"] in ("l1_prune", "l2_prune")
              and r["fp32"]["val_drop_pp"] <= tol + EPS]
    return max(levels)


def comparisons(results: dict, lang: str) -> dict:
    """The appendix's verdicts (:mod:`helpers.stats`), by glue key (without ``bm_``).

    Accuracy verdicts are :func:`helpers.stats.compare_accuracy` on the per-image test
    results, paired by seed and image (the seeds share their dense network and the test
    images), so their intervals cover both the spread over seeds and the test set's
    sampling error. ``l1_l2_verdict``: L1 + pruning against L2 + pruning at
    :func:`l1_l2_level`. ``budget_verdict``: the dense network trained for the
    fine-tuning epochs too against the dense network. ``<claim>_budget_verdict``: each
    headline row (weights, storage, neurons) against the dense network of equal
    budget. ``sparse_speed_verdict`` and ``neuron_speed_verdict``: the speed-up over the
    dense network at the largest batch of one-shot global magnitude pruning at 90%
    sparsity and of the headline neuron row, from the rounds in which each network and
    its seed's dense network were timed in alternation (:func:`interleaved_rounds`).
    """
    level = l1_l2_level(results)
    names = (method_label("l1_prune", lang), method_label("l2_prune", lang))
    budget_name = tr(BASELINE_TEXT["dense_budget"], lang)
    budget = seed_correct(results, "dense_budget")
    out = {"l1_l2_verdict": stats.compare_accuracy(
        seed_correct(results, "l1_prune", level), seed_correct(results, "l2_prune", level),
        names=names),
        "budget_verdict": stats.compare_accuracy(
            budget, seed_correct(results, "dense"),
            names=(budget_name, tr(verdict_name("bm_dense"), lang)))}
    for claim, (row, control, names) in _headline_pairs(results, lang).items():
        out[f"{claim}_budget_verdict"] = stats.compare_accuracy(row, control, names=names)
    batch = str(max(results["config"]["latency_batches"]))
    n = headline(results["rows"], results["dense"], results["targets"])["neurons"]
    for key, method, lvl in (("sparse_speed_verdict", "magnitude_global", 0.9),
                             ("neuron_speed_verdict", "neurons", n and n["level"])):
        if lvl is None or not any(r["method"] == method and abs(r["level"] - lvl) < 1e-9
                                  for r in results["rows"]):
            continue
        label = method_label(method, lang) + aside(f"{100 * lvl:g}%", lang)
        out[key] = stats.latency_ratio(*interleaved_rounds(results, method, lvl, batch),
                                       names=(label, tr(verdict_name("bm_dense"), lang)))
    return out


def _headline_pairs(results: dict, lang: str) -> dict:
    """For each headline row: its per-seed test results, those of the dense control of
    its own training budget, and the two names."""
    h, out = headline(results["rows"], results["dense"], results["targets"]), {}
    for claim in ("weights", "storage", "neurons"):
        best = h[claim]
        if best is None:
            continue
        label = method_label(best["method"], lang)
        if best["variant"] != "fp32":  # a noun phrase: "X with k-means weight sharing"
            label = spaced(tr("bm_with_variant", lang).format(
                method=label, variant=variant_label(best["variant"], lang)), lang)
        out[claim] = (seed_correct(results, best["method"], best["level"], best["variant"]),
                      budget_correct(results, best["epochs"]),
                      (label, budget_label(best["epochs"], lang)))
    return out


def equivalences(results: dict, lang: str, pairs: dict | None = None
                 ) -> dict[str, stats.Equivalence]:
    """Is each headline row within its tolerance of the dense network of its own
    training budget? Two one-sided tests (:func:`helpers.stats.equivalence`) at the
    claim's tolerance (0.5 points, 1 for neurons), read from the 90% interval of
    :func:`helpers.stats.compare_accuracy` on the per-image test results of all seeds:
    "shown" only when that interval lies inside the margin. ``pairs``:
    :func:`_headline_pairs`, when the caller has them already."""
    pairs = _headline_pairs(results, lang) if pairs is None else pairs
    return {claim: stats.equivalence(
        stats.compare_accuracy(row, control, names=names, confidence=0.90),
        results["targets"][claim]["tolerance_pp"])
        for claim, (row, control, names) in pairs.items()}


def discordance_pct(row: np.ndarray, control: np.ndarray) -> float:
    """The mean share (in %) of test images on which a row's network and its seed's
    control disagree (one right, the other wrong)."""
    return float(100 * np.mean(row != control))


def seed_table(results: dict, lang: str, rows: Sequence[tuple[str, float | None]]):
    """Per-seed test accuracies (%) of some rows, as a Markdown table."""
    table = []
    for method, level in rows:
        label = tr(BASELINE_TEXT[method], lang) if method in BASELINES else (
            f"{method_label(method, lang)}, {100 * level:g}%")
        values = seed_values(results, method, level)
        table.append({"bm_method": label,
                      "acc_seeds": " / ".join(f"{x:.1f}" for x in values)})
    return metrics.format_table(table, lang)


def _style(lang: str):
    import matplotlib.pyplot as plt

    plot.use_house_style(lang)
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
    _band(ax, results, lang, results["targets"]["weights"]["tolerance_pp"])
    ax.axvline(results["targets"]["weights"]["target"], color="tab:red", linestyle="--",
               linewidth=1,
               label=tr("bm_target", lang))
    ax.set(xscale="log", xlabel=tr("bm_x_compression", lang),
           ylabel=tr("test_accuracy_pct", lang), title=tr("bm_title_accuracy", lang),
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
        _band(ax, results, lang, results["targets"]["storage"]["tolerance_pp"])
        ax.axvline(results["targets"]["storage"]["target"], color="tab:red", linestyle="--",
                   linewidth=1, label=tr("bm_target", lang))
        ax.set(xscale="log", xlabel=tr("bm_x_storage", lang),
               title=variant_label(variant, lang), ylim=(ymin, 100), xlim=(1.5, xmax))
    axes[0].set_ylabel(tr("test_accuracy_pct", lang))
    axes[0].legend(fontsize=8, loc="lower left")
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
    tol = results["targets"]["neurons"]["tolerance_pp"]
    right.axhline(dense, color="black", linewidth=1, label=tr("bm_dense", lang))
    right.axhspan(dense - tol, dense + tol, color="grey", alpha=0.15,
                  label=tr("bm_band", lang).format(tol=tol))
    right.set(xlabel=tr("bm_x_neurons", lang), ylabel=tr("test_accuracy_pct", lang),
              title=tr("bm_title_neuron_acc", lang))
    right.legend(fontsize="small")
    return fig


PLOTS = {"accuracy_vs_compression.png": plot_accuracy, "storage.png": plot_storage,
         "neurons.png": plot_neurons}


# --------------------------------------------------------------------------- data sets side by side

#: The settings the appendix sets side by side, as ``(data, architecture)``: the
#: digits (the main results) and Fashion-MNIST with both of Han et al.'s networks.
SETTINGS = (("digits", "lenet-300-100"), ("fashion-mnist", "lenet-300-100"),
            ("fashion-mnist", "lenet-5"))

#: The :mod:`helpers.i18n` key of each data set's name.
DATA_TEXT = {"digits": "bm_data_digits", "mnist": "bm_data_mnist",
             "fashion-mnist": "bm_data_fashion"}
ARCHITECTURE_NAMES = {"lenet-300-100": "LeNet-300-100", "lenet-5": "LeNet-5"}


def load_settings(root: str | os.PathLike = RESULTS) -> dict[tuple[str, str], dict]:
    """The committed results of each setting of :data:`SETTINGS`, in that order; a
    setting without results is left out (its JSON is written by a run of the
    benchmark, ``python -m benchmarks.compression --data D --model M``)."""
    out = {}
    for data, architecture in SETTINGS:
        path = (Path(root) if (data, architecture) == SETTINGS[0]
                else Path(root) / data / architecture) / "compression.json"
        if path.exists():
            out[data, architecture] = load_results(path)
    return out


def setting_label(results: dict, lang: str) -> str:
    """``"Fashion-MNIST, LeNet-5"``: the data set and the network of a run."""
    return tr("bm_setting", lang).format(
        data=tr(DATA_TEXT[results["data"]["name"]], lang),
        network=ARCHITECTURE_NAMES[results["data"].get("architecture", "lenet-300-100")])


def target_cell(best: dict | None, target: float, lang: str) -> str:
    """Whether a headline row meets its target, and if not, how far it got: "met",
    "missed (81% of the target)"."""
    if best is None:
        return tr("bm_missed", lang)
    if best["value"] >= target:
        return tr("bm_met", lang)
    return tr("bm_missed_share", lang).format(share=f"{100 * best['value'] / target:.0f}")


def random_against_headline(results: dict, lang: str) -> stats.Comparison | None:
    """Random pruning with fine-tuning against the weights headline row's method at the
    same sparsity, paired by seed and test image (:func:`helpers.stats.compare_accuracy`):
    does the random baseline keep up where the best method stops? ``None`` when there is
    no weights headline row, or it is random pruning itself."""
    best = headline(results["rows"], results["dense"], results["targets"])["weights"]
    if best is None or best["method"] == "random":
        return None
    names = tuple(method_label(m, lang) + aside(f"{100 * best['level']:g}%", lang)
                  for m in ("random", best["method"]))
    return stats.compare_accuracy(seed_correct(results, "random", best["level"]),
                                  seed_correct(results, best["method"], best["level"]),
                                  names=names)


def settings_rows(settings: dict[tuple[str, str], dict], lang: str) -> list[dict]:
    """One row per setting: the dense accuracy, how far random pruning and the best
    method get within the tolerance (chosen on validation), and the two headline
    claims against their targets, with the equivalence verdict at equal budget."""
    rows = []
    for results in settings.values():
        h = headline(results["rows"], results["dense"], results["targets"])
        same = equivalences(results, lang)
        random_best = best_per_method(results)["random"]
        row = {"bmx_setting": setting_label(results, lang),
               "bmx_seeds": str(len(results["config"]["seeds"])),
               "bmx_dense": _acc(results["dense"]["fp32"]),
               "bmx_random": "—" if random_best is None
               else f"{random_best['compression']:.1f}×"}
        for claim in ("weights", "storage"):
            best, target = h[claim], results["targets"][claim]["target"]
            row[f"bmx_{claim}"] = "—" if best is None else (
                f"{best['value']:.1f}×" + aside(method_label(best["method"], lang), lang))
            row[f"bmx_{claim}_target"] = tr("bm_target_cell", lang).format(
                target=f"{target:.0f}", verdict=target_cell(best, target, lang))
            row[f"bmx_{claim}_same"] = same[claim].word(lang) if claim in same else "—"
        rows.append(row)
    return rows


def markdown_settings(settings: dict[tuple[str, str], dict], lang: str) -> str:
    """:func:`settings_rows` as a Markdown table with one column per setting (narrow
    enough for a phone) and one row per quantity."""
    rows = settings_rows(settings, lang)
    keys = [k for k in rows[0] if k != "bmx_setting"]
    lines = ["| | " + " | ".join(r["bmx_setting"] for r in rows) + " |",
             "|:--|" + "--:|" * len(rows)]
    lines += [f"| {column_header(k, lang)} | " + " | ".join(r[k] for r in rows) + " |"
              for k in keys]
    return "\n".join(lines)


def settings_glue(settings: dict[tuple[str, str], dict], lang: str) -> dict[str, str]:
    """What the appendix's section on Fashion-MNIST quotes, by glue key:
    ``bmx_<tag>_<name>``, tag ``fm300`` or ``fm5`` (LeNet-300-100 or LeNet-5)."""
    v = {}
    for (data, architecture), results in settings.items():
        if data != "fashion-mnist":
            continue
        tag = "fm300" if architecture == "lenet-300-100" else "fm5"
        meta, config = results["meta"], results["config"]
        h = headline(results["rows"], results["dense"], results["targets"])
        random_best = best_per_method(results)["random"]
        v |= {f"bmx_{tag}_{k}": x for k, x in {
            "minutes": f"{meta['duration_s'] / 60:.0f}",
            "cpu_minutes": f"{meta['cpu_s'] / 60:.0f}",
            "seeds": str(len(config["seeds"])),
            "dense_acc": f"{results['dense']['fp32']['test_mean']:.2f}",
            "dense_weights": f"{results['dense']['weights']:,.0f}",
            "dense_epochs": str(config["dense_epochs"]),
            "ft_epochs": str(config["finetune_epochs"]),
            "reg_epochs": str(config["regularise_epochs"]),
            "sparsities": listing([f"{100 * x:g}%" for x in config["sparsities"]], lang),
            "random_reach": tr("bmx_random_none", lang).format(
                level=f"{100 * min(config['sparsities']):g}") if random_best is None
            else tr("bmx_random_up_to", lang).format(
                ratio=f"{random_best['compression']:.1f}"),
            "weights_value": _ratio(h["weights"] and h["weights"]["value"]),
            "weights_method": "—" if h["weights"] is None
            else method_label(h["weights"]["method"], lang),
            "storage_method": "—" if h["storage"] is None
            else method_label(h["storage"]["method"], lang),
            "storage_value": _ratio(h["storage"] and h["storage"]["value"]),
            "weights_target": target_cell(h["weights"],
                                          results["targets"]["weights"]["target"], lang),
            "storage_target": target_cell(h["storage"],
                                          results["targets"]["storage"]["target"], lang),
        }.items()}
        verdict = random_against_headline(results, lang)
        v[f"bmx_{tag}_random_verdict"] = "—" if verdict is None else verdict.verdict(lang)
    return v


def plot_settings(settings: dict[tuple[str, str], dict], lang: str):
    """Test accuracy against the compression ratio of nonzero weights, one panel per
    setting, each with its dense band and its target."""
    plt = _style(lang)
    fig, axes = plt.subplots(1, len(settings), figsize=(3.4 * len(settings), 3.6),
                             squeeze=False, layout="constrained")
    for ax, results in zip(axes[0], settings.values()):
        for method in UNSTRUCTURED:
            rows = [r for r in results["rows"] if r["method"] == method]
            if rows:
                _curve(ax, rows, lambda r: r["compression"], "fp32",
                       method_label(method, lang))
        _band(ax, results, lang, results["targets"]["weights"]["tolerance_pp"])
        ax.axvline(results["targets"]["weights"]["target"], color="tab:red",
                   linestyle="--", linewidth=1, label=tr("bm_target", lang))
        dense = results["dense"]["fp32"]["test_mean"]
        ax.set(xscale="log", xlabel=tr("bm_x_compression_short", lang),
               title=setting_label(results, lang), ylim=(dense - 20, dense + 2),
               xlim=(1.5, 150), xticks=[2, 5, 10, 20, 50, 100],
               xticklabels=["2", "5", "10", "20", "50", "100"])
        ax.minorticks_off()
    axes[0][0].set_ylabel(tr("test_accuracy_pct", lang))
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize="small")
    return fig


def write_results(results: dict, out: str | os.PathLike = RESULTS) -> list[Path]:
    """Write ``compression.json``, ``compression.md`` and the PNG plots into ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "compression.json", out / "compression.md"]
    stored = results | {"headline": headline(results["rows"], results["dense"], results["targets"])}
    paths[0].write_text(json.dumps(stored, indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    meta, m = results["meta"], results["meta"]["machine"]
    paths[1].write_text(
        f"# Compression benchmark ({results['data']['name']}, "
        f"{results['config'].get('architecture', 'lenet-300-100')})\n\n"
        f"Run {meta['date']} on {m['cpu']} ({m['cores']} cores, torch {m['torch']}, "
        f"{results['config']['threads']} thread(s) per process, "
        f"{meta.get('n_jobs', 1)} process(es)) in {meta['duration_s']:.0f} s "
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
    for name, draw in PLOTS.items():
        fig = draw(results, "en")
        fig.savefig(out / name)
        plt.close(fig)
        paths.append(out / name)
    return paths
