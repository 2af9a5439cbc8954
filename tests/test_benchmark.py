"""The compression benchmark (benchmarks/compression/) and the budget script, on a tiny run.

The smoke run uses a small network and a few epochs, so it checks the plumbing and the
bookkeeping (every method, level and seed measured; ratios, headline rows and outputs
consistent), not the accuracies of the real run.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks.compression import __main__ as cli
from benchmarks.compression import experiment, report
from helpers import prune, quant
from tools import notebook_budget
from tools.toc import book_pages

TINY = replace(experiment.QUICK, hidden=(24, 12), seeds=(0, 1, 2), sparsities=(0.5, 0.9),
               neuron_fractions=(0.5,), latency_batches=(1, 32), latency_repeats=2)


@pytest.fixture(scope="module")
def results(digits):
    return experiment.run(TINY, digits, progress=False)


def test_every_method_level_and_seed_is_measured(results):
    keys = {(r["method"], r["level"]) for r in results["rows"]}
    expected = {(m, s) for m in experiment.UNSTRUCTURED for s in TINY.sparsities}
    expected |= {("neurons", f) for f in TINY.neuron_fractions}
    assert keys == expected
    assert all(r["n_seeds"] == len(TINY.seeds) for r in results["rows"])
    n_levels = sum(experiment.n_levels(TINY, m) for m in TINY.methods)
    # Per seed: the dense network, the dense network of equal budget, every level.
    assert len(results["records"]) == len(TINY.seeds) * (2 + n_levels)
    assert {r["method"] for r in results["records"]} == {*report.BASELINES, *TINY.methods}


def test_the_dense_baseline_of_equal_budget_starts_from_the_dense_network(results, digits):
    dense = report.seed_records(results, "dense")
    budget = report.seed_records(results, "dense_budget")
    assert [r["seed"] for r in dense] == [r["seed"] for r in budget] == list(TINY.seeds)
    assert results["dense_budget"]["weights"] == results["dense"]["weights"]
    assert results["dense_budget"]["compression"] == pytest.approx(1.0)
    assert results["dense_budget"]["fp32"]["storage_ratio"] == pytest.approx(1.0)


def test_each_method_has_a_dense_control_of_its_own_training_budget(results):
    """Every row states its training budget (the dense network's epochs and a search's
    included); for each budget and seed there is a dense control, continued from that
    seed's dense network and never below it on validation (the starting weights count);
    the control of one-shot pruning's budget is the "dense, same budget" row itself."""
    for row in results["rows"]:
        k = [level for level in (TINY.sparsities if row["method"] != "neurons"
                                 else TINY.neuron_fractions)].index(row["level"])
        assert row["epochs"] == experiment.method_epochs(TINY, row["method"], k)
    assert experiment.method_epochs(TINY, "l1_prune", 0) == \
        len(TINY.l1_strengths) * (TINY.dense_epochs + TINY.finetune_epochs)
    assert experiment.method_epochs(TINY, "iterative", 1) == \
        TINY.dense_epochs + 2 * TINY.finetune_epochs
    budgets = {r["epochs"] for r in results["rows"]}
    controls = results["budget_controls"]
    assert {(c["epochs"], c["seed"]) for c in controls} >= {(b, s) for b in budgets
                                                           for s in TINY.seeds}
    dense = {r["seed"]: r["fp32"]["val_acc"] for r in report.seed_records(results, "dense")}
    assert all(c["val_acc"] >= dense[c["seed"]] - 1e-12 for c in controls)
    one_shot = TINY.dense_epochs + TINY.finetune_epochs
    same = report.seed_records(results, "dense_budget")
    assert [r["fp32"]["test_correct"] for r in same] == [
        c["test_correct"] for c in sorted(controls, key=lambda c: c["seed"])
        if c["epochs"] == one_shot]
    with pytest.raises(ValueError, match="no dense control of 1000 epochs"):
        report.budget_correct(results, 1000)


def test_best_so_far_snapshots_are_what_fit_with_keep_start_returns(digits):
    """One run of the longest budget gives every shorter budget's control exactly."""
    import torch
    from helpers import train

    dense = experiment.build_model(TINY, digits, 0)
    experiment._fit(dense, digits, TINY, 0, epochs=2)
    controls = experiment.budget_controls(dense, digits, TINY, 0,
                                          [TINY.dense_epochs + 1, TINY.dense_epochs + 3])
    alone = experiment.build_model(TINY, digits, 0)
    alone.load_state_dict(dense.state_dict())
    experiment._fit(alone, digits, TINY, 0, epochs=1, keep_start=True)
    for a, b in zip(alone.state_dict().values(),
                    controls[TINY.dense_epochs + 1].state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="below the dense network"):
        experiment.budget_controls(dense, digits, TINY, 0, [1])
    assert train.evaluate(controls[TINY.dense_epochs + 3], digits, "val") >= \
        train.evaluate(dense, digits, "val")


def test_headline_rows_carry_an_equivalence_verdict_against_their_own_budget(results):
    same = report.equivalences(results, "en")
    h = report.headline(results["rows"], results["dense"])
    for claim in ("weights", "storage", "neurons"):
        assert (claim in same) == (h[claim] is not None)
        if claim in same:
            e = same[claim]
            assert e.margin == experiment.TARGETS[claim]["tolerance_pp"]
            assert e.comparison.confidence == 0.90
            assert e.comparison.names[1] == f"dense, {h[claim]['epochs']} epochs"
    rows = report.headline_rows(results, "en")
    assert all(r["bm_no_loss"] in ("shown", "not shown", "refuted", "—") for r in rows)


def test_the_full_table_shows_both_dense_baselines(results):
    rows = report.table_rows(results, "en")
    assert [r["bm_method"] for r in rows[:2]] == ["dense", "dense, same budget"]
    assert len(rows) == 2 + len(results["rows"])


def test_per_image_results_are_stored_and_agree_with_the_accuracies(results):
    n = results["data"]["n_test"]
    for method, level in [("dense", None), ("dense_budget", None), ("magnitude_global", 0.9),
                          ("neurons", 0.5)]:
        for variant in experiment.VARIANTS:
            correct = report.seed_correct(results, method, level, variant)
            assert correct.shape == (len(TINY.seeds), n) and correct.dtype == bool
            assert 100 * correct.mean(axis=1) == pytest.approx(
                report.seed_values(results, method, level, variant))


def test_every_network_is_timed_in_alternation_with_its_seeds_dense_network(results):
    for r in results["records"]:
        batches = {str(b) for b in TINY.latency_batches}
        assert set(r["latency_ms"]) == batches
        if r["method"] == "dense":
            assert "speedup" not in r  # the reference itself
            continue
        for b in batches:
            rounds = r["rounds_ms"][b]
            assert len(rounds["model"]) == len(rounds["dense"]) == TINY.latency_rounds
            assert r["speedup"][b] > 0
    for row in results["rows"]:
        group = report.seed_records(results, row["method"], row["level"])
        for b, value in row["speedup"].items():
            assert value == pytest.approx(np.median([r["speedup"][b] for r in group]))
    model, dense = report.interleaved_rounds(results, "magnitude_global", 0.9, "32")
    assert len(model) == len(dense) == len(TINY.seeds) * TINY.latency_rounds


def test_correct_vectors_survive_packing():
    rng = np.random.default_rng(0)
    for n in (1, 7, 8, 9, 360):
        v = rng.random(n) < 0.5
        np.testing.assert_array_equal(experiment.unpack_correct(experiment.pack_correct(v), n), v)
    with pytest.raises(ValueError, match="does not encode 20 examples"):
        experiment.unpack_correct(experiment.pack_correct(np.ones(8, bool)), 20)


def test_the_report_compares_the_headline_rows_with_the_dense_network_of_equal_budget(results):
    verdicts = report.comparisons(results, "en")
    assert {"l1_l2_verdict", "budget_verdict"} <= set(verdicts)
    assert verdicts["budget_verdict"].names == ("dense, same budget", "the dense network")
    assert verdicts["l1_l2_verdict"].method.startswith("t over seeds")
    assert "3 seeds" in verdicts["l1_l2_verdict"].method
    h = report.headline(results["rows"], results["dense"])
    for claim in ("weights", "storage", "neurons"):
        assert (f"{claim}_budget_verdict" in verdicts) == (h[claim] is not None)


def test_weight_pruning_reaches_its_sparsity(results):
    dense = results["dense"]
    assert dense["weights"] == 64 * 24 + 24 * 12 + 12 * 10
    for r in results["rows"]:
        if r["method"] == "neurons":
            continue
        # Dead neurons are removed afterwards, so at least the target fraction is zero.
        assert r["nonzero_weights"] <= round((1 - r["level"]) * dense["weights"]) + 2
        assert r["compression"] == pytest.approx(dense["weights"] / r["nonzero_weights"])
        assert r["macs_effective"] <= r["macs"] <= dense["macs"]


def test_neuron_removal_shrinks_the_network(results):
    dense = results["dense"]
    for r in results["rows"]:
        if r["method"] != "neurons":
            continue
        assert r["hidden"] == [round((1 - r["level"]) * h) for h in TINY.hidden]
        assert r["nonzero_weights"] < dense["weights"]
        assert r["flop_ratio"] == pytest.approx(dense["macs"] / r["macs"])
        assert r["flop_ratio"] > 1.5


def test_accuracies_and_spread_are_summaries_of_the_records(results):
    for row in results["rows"]:
        group = [r for r in results["records"]
                 if r.get("method") == row["method"] and r["level"] == row["level"]]
        for variant in experiment.VARIANTS:
            accs = [100 * r[variant]["test_acc"] for r in group]
            assert row[variant]["test_mean"] == pytest.approx(np.mean(accs))
            assert row[variant]["test_std"] == pytest.approx(np.std(accs, ddof=1))
            assert 0 <= row[variant]["test_mean"] <= 100
        assert row["fp32"]["drop_pp"] == pytest.approx(
            results["dense"]["fp32"]["test_mean"] - row["fp32"]["test_mean"])


def test_quantised_variants_store_fewer_bytes(results):
    dense = results["dense"]
    assert dense["fp32"]["storage_bytes"] == dense["dense32_bytes"]
    assert dense["int8"]["storage_bytes"] < dense["fp32"]["storage_bytes"] / 3
    for r in results["rows"]:
        # Pruned or smaller models never need more bytes than the dense one.
        assert r["fp32"]["storage_bytes"] <= dense["fp32"]["storage_bytes"]
        assert r["int8"]["storage_bytes"] <= dense["int8"]["storage_bytes"]
        assert r["fp32"]["storage_ratio"] == pytest.approx(
            dense["dense32_bytes"] / r["fp32"]["storage_bytes"])
        assert set(r["shared"]["bits"]) <= set(TINY.share_bits)


def test_choices_are_recorded_per_seed(results):
    for r in results["rows"]:
        assert len(r["choices"]) == len(TINY.seeds)
        if r["method"] == "l1_prune":
            assert all(c["l1_strength"] in TINY.l1_strengths for c in r["choices"])
        if r["method"] == "neurons":
            assert all(c["criterion"] in TINY.neuron_criteria for c in r["choices"])


def test_results_round_trip_and_render(results, tmp_path):
    paths = report.write_results(results, tmp_path)
    assert {p.name for p in paths} == {"compression.json", "compression.md",
                                       *report.PLOTS}
    loaded = report.load_results(tmp_path / "compression.json")
    assert loaded["rows"] == json.loads(json.dumps(results["rows"]))
    text = (tmp_path / "compression.md").read_text(encoding="utf-8")
    for method in experiment.METHODS:
        assert report.method_label(method, "en") in text
    for name in report.PLOTS:
        assert (tmp_path / name).stat().st_size > 10_000
    zh = report.markdown_headline(loaded, "zh")
    assert "本基准测试" in zh and zh.count("\n") == 4


def test_load_results_rejects_another_schema(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"schema": 0}))
    with pytest.raises(ValueError, match="schema"):
        report.load_results(path)


def _row(method, level, compression, drop, storage=(1.0, 1.0, 1.0), flop=1.0, speed=1.0,
         val_drop=None):
    row = {"method": method, "level": level, "compression": compression,
           "nonzero_weights": 1000 / compression, "hidden": [10.0], "flop_ratio": flop,
           "speedup": {"1": 1.0, "256": speed}, "shared": {"bits": [4]}, "epochs": 55}
    for variant, ratio in zip(experiment.VARIANTS, storage):
        row.setdefault(variant, {}).update(
            test_mean=97 - drop, test_std=0.1, drop_pp=drop,
            val_drop_pp=drop if val_drop is None else val_drop,
            storage_ratio=ratio, storage_bytes=1000 / ratio)
    return row


def test_headline_takes_the_largest_compression_within_tolerance():
    rows = [_row("iterative", 0.9, 10, 0.2, storage=(8, 20, 30)),
            _row("iterative", 0.95, 20, 0.6, storage=(15, 40, 70)),
            _row("l1_prune", 0.95, 20, 0.5, storage=(15, 40, 55)),
            _row("random", 0.5, 2, 0.1),
            _row("neurons", 0.5, 3, 0.9, flop=3.0, speed=2.7),
            _row("neurons", 0.7, 6, 1.2, flop=6.0, speed=5.0)]
    h = report.headline(rows, dense={})
    assert (h["weights"]["method"], h["weights"]["value"]) == ("l1_prune", 20)
    assert h["weights"]["met"]
    assert (h["storage"]["method"], h["storage"]["variant"], h["storage"]["value"]) == (
        "l1_prune", "shared", 55)
    assert h["storage"]["met"]
    assert h["neurons"]["level"] == 0.5
    assert h["neurons"]["efficiency"] == pytest.approx(0.9)
    assert h["neurons"]["met"]
    assert h["split"] == "val"
    for claim in ("weights", "storage", "neurons"):
        assert h[claim]["selected_by"]["split"] == "val"
        assert "validation accuracy" in h[claim]["selected_by"]["rule"]


def test_headline_rows_are_chosen_on_validation_not_test():
    # Within tolerance on validation but not on test: chosen, and its test drop reported.
    rows = [_row("iterative", 0.9, 10, 0.2, storage=(8, 20, 30)),
            _row("iterative", 0.95, 20, 0.9, storage=(15, 40, 70), val_drop=0.3),
            _row("gradual", 0.98, 50, 0.1, storage=(30, 60, 90), val_drop=0.8)]
    h = report.headline(rows, dense={})
    assert (h["weights"]["value"], h["weights"]["drop_pp"]) == (20, 0.9)
    assert h["weights"]["selected_by"]["val_drop_pp"] == 0.3
    assert h["storage"]["value"] == 70


def test_neuron_headline_needs_the_speed_up_too():
    rows = [_row("neurons", 0.5, 3, 0.3, flop=3.0, speed=2.7),      # 90% of the FLOP ratio
            _row("neurons", 0.8, 9, 0.7, flop=9.0, speed=5.4),      # 60%
            _row("neurons", 0.9, 20, 1.5, flop=20.0, speed=19.0)]   # beyond 1 point
    n = report.headline(rows, dense={})["neurons"]
    assert (n["level"], n["met"]) == (0.5, True)
    assert n["largest"]["level"] == 0.8
    assert n["largest"]["efficiency"] == pytest.approx(0.6)


def test_tolerance_is_inclusive_up_to_rounding():
    drop = 97.0 - (97.0 - 0.5)  # 0.5 up to floating-point error
    h = report.headline([_row("gradual", 0.95, 20, drop)], dense={})
    assert h["weights"]["value"] == 20


def test_headline_reports_a_miss():
    rows = [_row("iterative", 0.9, 10, 0.4, storage=(8, 20, 30)),
            _row("neurons", 0.5, 3, 0.2, flop=3.0, speed=1.5)]
    h = report.headline(rows, dense={})
    assert not h["weights"]["met"] and not h["storage"]["met"]
    assert h["neurons"]["efficiency"] == pytest.approx(0.5) and not h["neurons"]["met"]
    assert report.headline([_row("random", 0.5, 2, 3.0)], dense={})["weights"] is None


@pytest.mark.parametrize("kwargs, message", [
    ({"methods": ("magic",)}, "unknown method"),
    ({"seeds": ()}, "at least one seed"),
    ({"sparsities": (0.5, 1.0)}, r"\(0, 1\)"),
    ({"sparsities": (0.9, 0.5)}, "increasing"),
    ({"data": "cifar"}, "data must be one of"),
    ({"architecture": "vgg"}, "architecture must be one of"),
    ({"architecture": "lenet-5"}, "28×28 images.*fashion-mnist"),
    ({"finetune_lr_factor": 0.0}, r"finetune_lr_factor must lie in \(0, 1\]"),
    ({"finetune_lr_factor": 2.0}, "finetune_lr_factor"),
    ({"max_images": 5}, "max_images"),
    ({"regularise_epochs": 0}, "regularise_epochs"),
    ({"regularise_epochs": True}, "regularise_epochs"),
    ({"centroid_steps": -1}, "centroid_steps"),
])
def test_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        experiment.Config(**kwargs)


def test_missing_mnist_files_give_a_clear_message(tmp_path, capsys):
    assert cli.main(["--data", "mnist", "--mnist-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "MNIST" in err and str(tmp_path) in err
    assert cli.main(["--data", "mnist"]) == 2
    assert "--mnist-dir" in capsys.readouterr().err


def test_missing_fashion_mnist_names_debians_package(tmp_path, capsys):
    assert cli.main(["--data", "fashion-mnist", "--data-dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "Fashion-MNIST files missing" in err and "dataset-fashion-mnist" in err
    assert "--data-dir" in err
    assert cli.main(["--model", "lenet-5"]) == 2  # the digits are 8×8
    assert "28×28" in capsys.readouterr().err
    assert cli.main(["--jobs", "0", "--quick"]) == 2
    assert "--jobs" in capsys.readouterr().err


# --------------------------------------------------------------------------- Fashion-MNIST, LeNet-5


def test_presets_follow_han_et_al_on_fashion_mnist():
    """Retraining after pruning at a tenth of the learning rate on Fashion-MNIST; the
    digits and MNIST keep the rate of their committed results; LeNet-5 has 3 seeds."""
    digits = experiment.preset()
    assert digits == experiment.Config() and digits.finetune_lr == digits.lr
    assert experiment.preset("mnist").finetune_lr_factor == 1.0
    for model in experiment.ARCHITECTURES:
        config = experiment.preset("fashion-mnist", model)
        assert (config.data, config.architecture) == ("fashion-mnist", model)
        assert config.finetune_lr == pytest.approx(config.lr / 10)
    assert len(experiment.preset("fashion-mnist", "lenet-5").seeds) >= 3
    assert len(experiment.preset("fashion-mnist", "lenet-300-100").seeds) == 5
    quick = experiment.preset("fashion-mnist", "lenet-5", quick=True)
    assert quick.seeds == (0,) and quick.max_images is not None
    assert report.results_dir() == report.RESULTS
    assert report.results_dir("fashion-mnist", "lenet-5") == \
        report.RESULTS / "fashion-mnist" / "lenet-5"
    with pytest.raises(ValueError, match="data must be one of"):
        report.results_dir("cifar")


def test_retraining_after_pruning_runs_at_the_finetuning_rate(digits, monkeypatch):
    """Every fit after pruning (one-shot, iterative rounds, gradual's last phase,
    neuron removal) at ``finetune_lr``; training from scratch at ``lr``."""
    import helpers.prune
    import helpers.train

    config = replace(TINY, seeds=(0,), finetune_lr_factor=0.1, lr=1e-2)
    seen = []
    real = helpers.train.fit

    def spy(model, data, **kwargs):
        seen.append((kwargs["lr"], kwargs.get("epochs")))
        return real(model, data, **kwargs)

    monkeypatch.setattr(helpers.train, "fit", spy)
    monkeypatch.setattr(helpers.prune, "fit", spy)
    dense = experiment.build_model(config, digits, 0)
    for method in ("magnitude_global", "iterative", "gradual", "neurons"):
        seen.clear()
        list(experiment.REGISTRY[method].run(dense, digits, config, 0))
        finetuning = [round(lr, 9) for lr, epochs in seen if epochs == config.finetune_epochs]
        assert finetuning and set(finetuning) == {1e-3}, method
    seen.clear()
    list(experiment.REGISTRY["l1_prune"].run(dense, digits, config, 0))
    assert {round(lr, 9) for lr, _ in seen} == {1e-2, 1e-3}


def test_results_do_not_depend_on_the_number_of_processes(digits, results):
    """Each task seeds itself: two processes (joblib) give the records of one."""
    config = replace(TINY, seeds=(2,), methods=("magnitude_global", "neurons"))
    parallel = experiment.run(config, digits, progress=False, n_jobs=2)
    assert parallel["meta"]["n_jobs"] == 2 and parallel["meta"]["cpu_s"] > 0
    for r in parallel["records"]:
        (same,) = [s for s in results["records"] if (s["method"], s["level"], s["seed"])
                   == (r["method"], r["level"], r["seed"])]
        for variant in experiment.VARIANTS:
            assert r[variant]["test_correct"] == same[variant]["test_correct"]
            assert r[variant]["val_acc"] == same[variant]["val_acc"]
        assert r.get("choice") == same.get("choice")
    assert parallel["budget_controls"] == [c for c in results["budget_controls"]
                                           if c["seed"] in config.seeds
                                           and c["epochs"] in {b["epochs"] for b in
                                                               parallel["budget_controls"]}]
    with pytest.raises(ValueError, match="n_jobs"):
        experiment.run(config, digits, progress=False, n_jobs=0)


def _write_idx_folder(folder, n_train=10_100, n_test=40, seed=0):
    """Four IDX files of random 28×28 images (the MNIST format, written by hand); the
    loader holds 10,000 training images out for validation."""
    from test_mnist import idx_bytes

    from helpers import mnist

    rng = np.random.default_rng(seed)
    arrays = {"train_images": rng.integers(0, 256, (n_train, 28, 28)),
              "train_labels": np.arange(n_train) % 10,
              "test_images": rng.integers(0, 256, (n_test, 28, 28)),
              "test_labels": np.arange(n_test) % 10}
    for role, array in arrays.items():
        (folder / mnist.FILES[role]).write_bytes(idx_bytes(array))


def test_lenet5_runs_every_method_and_removes_channels(tmp_path):
    """Every method of the registry on Caffe's LeNet-5, from a folder of IDX files: the
    unstructured ones prune convolutions and linear layers; neuron removal takes
    channels from both convolutions and neurons from the hidden linear layer."""
    _write_idx_folder(tmp_path)
    config = replace(experiment.QUICK_IDX, data="fashion-mnist", architecture="lenet-5",
                     max_images=100, sparsities=(0.9,), latency_batches=(1, 8))
    data = experiment.load_data(config, tmp_path)
    assert data.X_train.shape[1:] == (1, 28, 28) and len(data.y_train) == 100
    out = experiment.run(config, data, progress=False)
    dense = out["dense"]
    assert dense["hidden"] == [20, 50, 500]
    assert dense["weights"] == 20 * 25 + 50 * 20 * 25 + 800 * 500 + 500 * 10
    assert out["data"]["architecture"] == "lenet-5"
    rows = {r["method"]: r for r in out["rows"]}
    assert set(rows) == set(experiment.METHODS)
    assert rows["neurons"]["hidden"] == [10, 25, 250]
    for method in experiment.UNSTRUCTURED:
        assert rows[method]["nonzero_weights"] <= 0.1 * dense["weights"] + 2
        assert rows[method]["shared"]["storage_bytes"] < dense["shared"]["storage_bytes"]
    (record,) = [r for r in out["records"] if r["method"] == "magnitude_layer"]
    flat = replace(data, X_train=data.X_train.flatten(1))
    with pytest.raises(ValueError, match=r"LeNet-5 needs images of shape \(1, 28, 28\)"):
        experiment.build_model(config, flat, 0)
    assert experiment.unpack_correct(record["fp32"]["test_correct"], 40).shape == (40,)


needs_fashion = pytest.mark.skipif(
    not (Path("/usr/share/datasets/fashion-mnist") / "train-images-idx3-ubyte.gz").is_file(),
    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist; "
           "CI installs it)")


@needs_fashion
def test_quick_run_on_the_real_fashion_mnist_files(tmp_path, capsys):
    """``--quick`` on Debian's Fashion-MNIST files, both networks: per-image test
    results and what selected each headline row are in the JSON."""
    started = time.perf_counter()
    assert cli.main(["--data", "fashion-mnist", "--quick", "--no-progress",
                     "--out", str(tmp_path / "mlp")]) == 0
    assert cli.main(["--data", "fashion-mnist", "--model", "lenet-5", "--quick",
                     "--methods", "magnitude_global", "neurons", "--no-progress",
                     "--out", str(tmp_path / "lenet5")]) == 0
    assert time.perf_counter() - started < 120  # seconds on an idle machine
    capsys.readouterr()
    for name, model in (("mlp", "lenet-300-100"), ("lenet5", "lenet-5")):
        results = report.load_results(tmp_path / name / "compression.json")
        assert results["data"]["name"] == "fashion-mnist"
        assert results["config"]["architecture"] == model
        assert results["config"]["finetune_lr_factor"] == 0.1
        n = results["data"]["n_test"]
        assert n == experiment.QUICK_IDX.max_images
        correct = report.seed_correct(results, "dense")
        assert correct.shape == (1, n)
        for claim in ("weights", "storage"):
            row = results["headline"][claim]
            if row is not None:
                assert row["selected_by"]["split"] == "val"
        text = (tmp_path / name / "compression.md").read_text(encoding="utf-8")
        assert f"(fashion-mnist, {model})" in text


def test_budget_report_marks_pages_over_budget():
    results = [notebook_budget.PageResult("en", "fast", 3, 5.0, 1.0, 300.0),
               notebook_budget.PageResult("zh", "slow", 3, 75.0, 1.0, 300.0),
               notebook_budget.PageResult("zh", "big", 3, 5.0, 1.0, 3000.0, stderr=True)]
    assert [r.status for r in results] == ["ok", "OVER BUDGET",
                                           "OVER BUDGET, stderr output"]
    report = notebook_budget.format_report(results)
    assert "pages over budget (60 s, 2048 MB): zh/slow, zh/big" in report
    assert "book     85.0 s wall-clock with 1 edition(s) at a time (budget 150 s): ok" in report


def test_budget_judges_the_whole_book_by_its_wall_clock_time():
    results = [notebook_budget.PageResult(lang, "page", 3, 60.0, 1.0, 300.0)
               for lang in ("en", "zh")]
    parallel = notebook_budget.format_report(results, wall_seconds=140.0, jobs=2,
                                             experiments_seconds=70.0)
    assert "140.0 s wall-clock with 2 edition(s) at a time (budget 150 s): ok" in parallel
    assert "the pages' times add up to 120.0 s" in parallel
    assert "experiments 70.0 s wall-clock, once for every edition" in parallel
    serial = notebook_budget.format_report(results, wall_seconds=190.0, jobs=1)
    assert "(budget 150 s): OVER BUDGET" in serial
    timed = notebook_budget.format_report(results, 210.0, 2, speed_ms=(1.6, 2.05))
    assert timed.endswith("machine speed (reference forward pass, lower is faster): "
                          "1.60 ms before, 2.05 ms after")


def test_budget_report_says_when_the_machine_was_shared():
    results = [notebook_budget.PageResult("en", "page", 3, 200.0, 1.0, 300.0)]
    idle = notebook_budget.format_report(results, 210.0, 2,
                                         cpu={"ours": 400.0, "others": 12.0, "steal": 3.0})
    assert idle.endswith("CPU time during the run: 400 s this run, 12 s other processes, "
                         "3 s other virtual machines (steal)")
    shared = notebook_budget.format_report(results, 300.0, 2,
                                           cpu={"ours": 400.0, "others": 150.0, "steal": 0.0})
    assert "the machine was shared: these times are not comparable" in shared


def test_cpu_share_separates_this_run_from_other_processes():
    before = notebook_budget.CpuSnapshot(busy=100.0, ours=10.0, steal=1.0)
    after = notebook_budget.CpuSnapshot(busy=160.0, ours=50.0, steal=4.0)
    assert notebook_budget.cpu_share(before, after) == {"ours": 40.0, "others": 20.0,
                                                        "steal": 3.0}
    # Busy work done by this process is counted as its own, not as another's.
    start = notebook_budget.CpuSnapshot.now()
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    share = notebook_budget.cpu_share(start, notebook_budget.CpuSnapshot.now())
    assert share["ours"] >= 0.3 and share["others"] >= 0.0


def test_the_reference_forward_pass_is_timed():
    assert 0 < notebook_budget.reference_ms(repeats=3) < 1000


def test_the_table_of_contents_is_read_in_reading_order():
    pages = book_pages()
    assert pages[0] == "index" and "benchmark-results" in pages
    assert len(pages) == len(set(pages))


def test_committed_results_record_what_selected_each_headline_row():
    results = report.load_results()
    for claim in ("weights", "storage", "neurons"):
        row = results["headline"][claim]
        assert row["selected_by"]["split"] == "val"
        assert row["selected_by"]["val_drop_pp"] <= row["selected_by"]["tolerance_pp"] + 1e-9
    assert results["headline"] == json.loads(json.dumps(
        report.headline(results["rows"], results["dense"])))


def test_grid_edges_and_seed_values_read_the_records():
    results = report.load_results()
    edges = report.grid_edges(results)
    n_levels = len(results["config"]["sparsities"]) * len(results["config"]["seeds"])
    for method in ("l1_prune", "l2_prune"):
        assert edges[method]["choices"] == n_levels
        assert 0 <= edges[method]["low"] + edges[method]["high"] <= n_levels
    dense = report.seed_values(results, "dense")
    assert len(dense) == len(results["config"]["seeds"])
    assert sum(dense) / len(dense) == pytest.approx(results["dense"]["fp32"]["test_mean"])
    with pytest.raises(ValueError, match="no records"):
        report.seed_values(results, "l1_prune", 0.123)
    verdicts = report.comparisons(results, "en")
    assert verdicts["l1_l2_verdict"].unit == "pp"
    assert verdicts["neuron_speed_verdict"].kind == "ratio"


# --------------------------------------------------------------------------- Fashion-MNIST's protocol


def test_fashion_presets_train_the_searches_on_from_the_dense_network_and_code_by_huffman():
    for model, storage in (("lenet-300-100", 40.0), ("lenet-5", 39.0)):
        config = experiment.preset("fashion-mnist", model)
        assert config.regularise_epochs and config.centroid_steps > 0 and config.huffman
        targets = experiment.targets_for(config)
        assert targets["weights"]["target"] == 12.0 and targets["storage"]["target"] == storage
        quick = experiment.preset("fashion-mnist", model, quick=True)
        assert quick.huffman and quick.centroid_steps > 0 and quick.regularise_epochs == 1
    digits = experiment.preset()
    assert digits.regularise_epochs is None and not digits.huffman
    assert experiment.targets_for(digits) is experiment.TARGETS
    # a candidate trained on from the dense network: the dense epochs count once
    config = replace(digits, regularise_epochs=3, finetune_epochs=2, dense_epochs=10,
                     l1_strengths=(0.1, 0.3))
    assert experiment.method_epochs(config, "l1_prune", 0) == 10 + 2 * (3 + 2)
    assert experiment.method_epochs(digits, "l1_prune", 0) == 5 * (40 + 15)


def test_regularised_candidates_start_where_the_configuration_says(digits, monkeypatch):
    calls = []
    monkeypatch.setattr(experiment, "_fit", lambda model, data, config, seed, **kw:
                        calls.append(kw["epochs"]))
    config = replace(TINY, regularise_epochs=2)
    dense = experiment.build_model(config, digits, 7)
    on = experiment._regularised(dense, digits, config, 0, weight_decay=1e-3)
    assert all(torch.equal(a, b) for a, b in zip(on.parameters(), dense.parameters()))
    assert on is not dense and calls == [2]
    scratch = experiment._regularised(dense, digits, replace(config, regularise_epochs=None), 0,
                                      weight_decay=1e-3)
    assert not torch.equal(scratch[0].weight, dense[0].weight)
    assert calls == [2, config.dense_epochs]


def test_deep_compression_variant_tunes_centroids_and_counts_huffman_bytes(digits):
    config = replace(TINY, centroid_steps=3, huffman=True, share_bits=(3,))
    model = experiment.build_model(config, digits, 0)
    experiment._fit(model, digits, config, 0, epochs=2)
    before = copy.deepcopy(model.state_dict())
    bits, shared, _ = experiment._shared(model, digits, config, experiment._val(model, digits))
    assert bits == 3
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    for name, w in prune.prunable_parameters(shared).items():
        assert len(torch.unique(w[w != 0])) <= 2 ** bits
    nbytes = experiment._shared_bytes(shared, config, bits)
    assert nbytes == math.ceil(quant.huffman_storage_bytes(shared, gap_bits=config.gap_bits)
                               ["huffman"])
    fixed = experiment._shared_bytes(shared, replace(config, huffman=False), bits)
    assert nbytes <= fixed


def _as_setting(results: dict, architecture: str, tmp_path: Path) -> None:
    """The digits results stored as if they were a Fashion-MNIST run."""
    fake = copy.deepcopy(results)
    fake["data"] |= {"name": "fashion-mnist", "architecture": architecture}
    fake["targets"] = experiment.PAPER_TARGETS[architecture]
    fake["config"] |= {"regularise_epochs": 1}
    report.write_results(fake, tmp_path / "fashion-mnist" / architecture)


def test_the_settings_are_set_side_by_side(results, tmp_path):
    report.write_results(results, tmp_path)
    _as_setting(results, "lenet-5", tmp_path)
    settings = report.load_settings(tmp_path)
    assert list(settings) == [("digits", "lenet-300-100"), ("fashion-mnist", "lenet-5")]
    for lang in ("en", "zh"):
        rows = report.settings_rows(settings, lang)
        assert len(rows) == 2 and rows[1]["bmx_setting"].endswith("LeNet-5")
        assert "39" in rows[1]["bmx_storage_target"]
        table = report.markdown_settings(settings, lang).splitlines()
        assert len(table) == 2 + len(rows[0]) - 1  # a row per quantity, a column each
        assert table[0].count("|") == 2 + len(settings)
        values = report.settings_glue(settings, lang)
        assert set(values) >= {"bmx_fm5_minutes", "bmx_fm5_random_verdict",
                               "bmx_fm5_weights_target"}
    assert "bmx_fm300_minutes" not in report.settings_glue(settings, "en")  # not run
    fig = report.plot_settings(settings, "en")
    assert len(fig.axes) == 2


@pytest.mark.parametrize("value, expected", [(12.0, "met"), (20.0, "met"),
                                             (9.0, "missed (75% of it)"), (None, "missed")])
def test_a_missed_target_says_how_far_it_got(value, expected):
    best = None if value is None else {"value": value}
    assert report.target_cell(best, 12.0, "en") == expected
    zh = report.target_cell(best, 12.0, "zh")
    assert ("已达到" in zh) == (expected == "met")


def test_random_pruning_is_compared_with_the_weights_headline(results):
    verdict = report.random_against_headline(results, "en")
    best = report.headline(results["rows"], results["dense"], results["targets"])["weights"]
    if best is None or best["method"] == "random":
        assert verdict is None
    else:
        assert "random pruning" in verdict.verdict("en")


@pytest.mark.parametrize("model", experiment.ARCHITECTURES)
def test_committed_fashion_mnist_results_follow_the_preset_and_record_their_choices(model):
    path = report.results_dir("fashion-mnist", model) / "compression.json"
    results = report.load_results(path)
    config = experiment.preset("fashion-mnist", model)
    assert results["config"] == json.loads(json.dumps(experiment._jsonable(asdict(config))))
    assert results["targets"] == json.loads(json.dumps(experiment.targets_for(config)))
    assert results["headline"] == json.loads(json.dumps(report.headline(
        results["rows"], results["dense"], results["targets"])))
    for claim in ("weights", "storage"):
        row = results["headline"][claim]
        if row is not None:
            assert row["selected_by"]["split"] == "val"
    n = results["data"]["n_test"]
    assert n == 10_000 and results["data"]["n_val"] == 10_000
    for r in results["records"]:
        assert experiment.unpack_correct(r["fp32"]["test_correct"], n).shape == (n,)
    budgets = {(r["method"], r["level"]): r["epochs"] for r in results["rows"]}
    for (method, level), epochs in budgets.items():
        k = list(getattr(config, experiment.REGISTRY[method].levels)).index(level)
        assert epochs == experiment.method_epochs(config, method, k)
