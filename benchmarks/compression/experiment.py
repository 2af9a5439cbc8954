"""The compression benchmark's experiment: configuration, methods, measurements, runs.

The methods are one registry, :data:`REGISTRY` (``{name: Method}``), filled by the
decorator :func:`method` where each method is defined: its function, its training
budget, the :mod:`helpers.i18n` key of its name and the kind of its levels. Every
method of :data:`METHODS` starts from the same trained dense model and yields, for
each level, the compressed model and the choices made on the validation split;
:func:`measure` records everything the tables report and :func:`run` returns the
records of all seeds with their means over seeds (:func:`aggregate`). Choosing and
rendering the headline rows is the report's job (:mod:`benchmarks.compression.report`).
"""

from __future__ import annotations

import copy
import datetime as _dt
import math
import os
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from helpers import l1, metrics, models, prune, quant, structured, train
from helpers.data import ClassificationData, load_digits_split
from helpers.device import get_device
from helpers.stats import mean_std

SCHEMA = 3
#: Accuracy differences are compared with the tolerances up to rounding error.
EPS = 1e-9

VARIANTS = ("fp32", "int8", "shared")

#: The data sets of :func:`load_data`: the bundled 8×8 digits, MNIST and Fashion-MNIST
#: from their IDX files (:mod:`helpers.mnist`).
DATA = ("digits", "mnist", "fashion-mnist")
#: The networks of :func:`build_model`: LeNet-300-100 (an MLP, ``Config.hidden``) and
#: LeNet-5 in Caffe's 20-50-500 variant (:func:`helpers.models.lenet5`, 28×28 images).
ARCHITECTURES = ("lenet-300-100", "lenet-5")

#: What the papers report and what this benchmark aims for.
TARGETS = {
    "weights": {"target": 20.0, "paper": 12.0, "paper_ref": "han2015learning",
                "tolerance_pp": 0.5},
    "storage": {"target": 50.0, "paper": 40.0, "paper_ref": "han2016deep",
                "tolerance_pp": 0.5},
    "neurons": {"target": 0.5, "efficiency": 0.8, "tolerance_pp": 1.0},
}

#: The papers' figures as the targets on Fashion-MNIST (the issue's item 2): Han et al.
#: (2015) prune LeNet-300-100 and LeNet-5 12× on MNIST, Deep Compression (Han et al.
#: 2016) stores them 40× and 39× smaller; the same numbers are the targets here, at the
#: same 0.5-point tolerance against the dense network.
PAPER_TARGETS = {
    "lenet-300-100": {"weights": {"target": 12.0, "paper": 12.0, "paper_ref": "han2015learning",
                                  "tolerance_pp": 0.5},
                      "storage": {"target": 40.0, "paper": 40.0, "paper_ref": "han2016deep",
                                  "tolerance_pp": 0.5},
                      "neurons": TARGETS["neurons"]},
    "lenet-5": {"weights": {"target": 12.0, "paper": 12.0, "paper_ref": "han2015learning",
                            "tolerance_pp": 0.5},
                "storage": {"target": 39.0, "paper": 39.0, "paper_ref": "han2016deep",
                            "tolerance_pp": 0.5},
                "neurons": TARGETS["neurons"]},
}


def targets_for(config: "Config") -> dict:
    """The targets a run is judged by: :data:`TARGETS` on the digits and MNIST, the
    papers' own figures (:data:`PAPER_TARGETS`) on Fashion-MNIST."""
    if config.data == "fashion-mnist":
        return PAPER_TARGETS[config.architecture]
    return TARGETS


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Config:
    """Everything that decides a run; stored in the results JSON.

    ``data`` is one of :data:`DATA`; ``architecture`` one of :data:`ARCHITECTURES`
    (``hidden`` sets LeNet-300-100's hidden widths; LeNet-5 needs 28×28 images, so
    MNIST or Fashion-MNIST). ``sparsities`` are fractions of weights pruned
    (unstructured methods); ``neuron_fractions`` are fractions of each hidden layer's
    neurons removed (of LeNet-5's, the channels of both convolutions and the neurons of
    its hidden fully connected layer). ``lr`` trains the dense network and every
    network trained from scratch (the L1 and L2 candidates), and continues the dense
    controls; every retraining after pruning (fine-tuning, each round of iterative
    pruning, the last phase of gradual pruning) runs at ``lr × finetune_lr_factor``
    (:attr:`finetune_lr`): Han et al. (2015) retrain at a tenth of the original rate
    (0.1, the Fashion-MNIST configurations); the digits and MNIST configurations keep
    1.0, the rate their committed results were computed with. ``max_images``, if set,
    keeps only the first that many images of each split (``--quick`` on the real files).

    The candidates of the L1 and L2 searches are trained from scratch for
    ``dense_epochs`` with their penalty (``regularise_epochs=None``, the digits), or
    (an int) start from the trained dense network and go on with their penalty for
    that many epochs at ``lr``: Fashion-MNIST's configurations, where training from
    scratch for every candidate would not fit the benchmark's time. Deep Compression's
    variant ("shared") shares each layer's weights by k-means with the fewest bits of
    ``share_bits`` that keep validation accuracy (chosen before fine-tuning), then,
    if ``centroid_steps`` is positive, fine-tunes the centroids for that many
    optimiser steps at ``finetune_lr`` (:class:`helpers.quant.CentroidFineTuning`);
    its storage counts fixed-width codes (``bits`` per value, ``gap_bits`` per index
    gap), or with ``huffman`` both streams Huffman-coded
    (:func:`helpers.quant.huffman_storage_bytes`), as Deep Compression's third stage.
    """

    data: str = "digits"
    architecture: str = "lenet-300-100"
    hidden: tuple[int, ...] = (300, 100)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    methods: tuple[str, ...] = field(default_factory=lambda: tuple(REGISTRY))
    sparsities: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99)
    neuron_fractions: tuple[float, ...] = (0.25, 0.5, 0.6, 0.7, 0.8, 0.9)
    lr: float = 3e-3
    finetune_lr_factor: float = 1.0
    batch_size: int = 64
    dense_epochs: int = 40
    finetune_epochs: int = 15
    gradual_epochs: int = 15
    gradual_steps: int = 15
    l1_strengths: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0)
    l2_decays: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
    regularise_epochs: int | None = None
    neuron_criteria: tuple[str, ...] = ("l1", "activation", "taylor")
    share_bits: tuple[int, ...] = (3, 4, 5, 6)
    gap_bits: int = 5
    centroid_steps: int = 0
    huffman: bool = False
    latency_batches: tuple[int, ...] = (1, 1024)
    latency_rounds: int = 5
    latency_repeats: int = 10
    threads: int = 1
    max_images: int | None = None

    @property
    def finetune_lr(self) -> float:
        """The learning rate of every retraining after pruning: ``lr × finetune_lr_factor``."""
        return self.lr * self.finetune_lr_factor

    def __post_init__(self):
        if self.data not in DATA:
            raise ValueError(f"data must be one of {DATA}, got {self.data!r}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, "
                             f"got {self.architecture!r}")
        if self.architecture == "lenet-5" and self.data == "digits":
            raise ValueError("architecture 'lenet-5' needs 28×28 images; the digits are "
                             "8×8: use data='mnist' or 'fashion-mnist', or 'lenet-300-100'")
        if not 0 < self.finetune_lr_factor <= 1:
            raise ValueError("finetune_lr_factor must lie in (0, 1] (Han et al. retrain at "
                             f"0.1 of the learning rate), got {self.finetune_lr_factor}")
        if self.max_images is not None and (isinstance(self.max_images, bool) or
                                            not isinstance(self.max_images, int) or
                                            self.max_images < 10):
            raise ValueError("max_images must be None or an int >= 10 (one image per "
                             f"class at least), got {self.max_images!r}")
        unknown = sorted(set(self.methods) - set(REGISTRY))
        if unknown:
            raise ValueError(f"unknown method(s) {unknown}; choose from {tuple(REGISTRY)}")
        if not self.seeds:
            raise ValueError("seeds is empty: give at least one seed")
        for s in (*self.sparsities, *self.neuron_fractions):
            if not 0 < s < 1:
                raise ValueError(f"sparsities and neuron fractions must lie in (0, 1), got {s}")
        if self.regularise_epochs is not None and (
                isinstance(self.regularise_epochs, bool)
                or not isinstance(self.regularise_epochs, int) or self.regularise_epochs < 1):
            raise ValueError("regularise_epochs must be None (candidates trained from "
                             "scratch) or a positive int (epochs of the dense network "
                             f"trained on with the penalty), got {self.regularise_epochs!r}")
        if (isinstance(self.centroid_steps, bool) or not isinstance(self.centroid_steps, int)
                or self.centroid_steps < 0):
            raise ValueError("centroid_steps must be an int >= 0 (0: no fine-tuning of the "
                             f"centroids), got {self.centroid_steps!r}")
        if list(self.sparsities) != sorted(self.sparsities):
            raise ValueError("sparsities must be increasing (iterative pruning walks them "
                             "in order)")


# --------------------------------------------------------------------------- data and models


def load_data(config: Config, data_dir: str | os.PathLike | None = None) -> ClassificationData:
    """The data set of a run: the bundled digits, or MNIST or Fashion-MNIST from their
    IDX files, as images ``(n, 1, 28, 28)`` for LeNet-5.

    ``data_dir`` is the folder of the IDX files: needed for MNIST; for Fashion-MNIST it
    defaults to where Debian's package ``dataset-fashion-mnist`` installs them
    (:func:`helpers.mnist.load_fashion_mnist`). Both take their validation split
    (10,000 images, stratified, seed 0) from the 60,000 training images. With
    ``config.max_images`` only the first that many images of each split are kept.
    Missing files raise ``FileNotFoundError`` with what to install or pass.
    """
    if config.data == "digits":
        data = load_digits_split()
    elif config.data == "mnist":
        from helpers import mnist

        if data_dir is None:
            raise FileNotFoundError(
                "--data mnist needs --data-dir PATH (or --mnist-dir PATH), a folder with "
                "the four MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; .gz is fine)")
        data = mnist.load_mnist(data_dir)
    else:
        from helpers import mnist

        data = mnist.load_fashion_mnist(data_dir)
    if config.max_images is not None:
        n = config.max_images
        data = ClassificationData(data.X_train[:n], data.y_train[:n], data.X_val[:n],
                                  data.y_val[:n], data.X_test[:n], data.y_test[:n],
                                  data.name, data.n_classes)
    if config.architecture == "lenet-5":
        data = _channels_last(data.as_images(28, 28))
    return data


def _channels_last(data: ClassificationData) -> ClassificationData:
    """Images stored channels-last, as LeNet-5's weights (:func:`build_model`): the same
    numbers, and training and inference about twice as fast on a CPU."""
    cl = lambda X: X.contiguous(memory_format=torch.channels_last)  # noqa: E731
    return ClassificationData(cl(data.X_train), data.y_train, cl(data.X_val), data.y_val,
                              cl(data.X_test), data.y_test, data.name, data.n_classes)


def build_model(config: Config, data: ClassificationData, seed: int) -> nn.Sequential:
    """The network of ``config.architecture`` for ``data``, initialised from ``seed``:
    LeNet-300-100 (``config.hidden``) with as many inputs as ``data`` has features, or
    Caffe's LeNet-5 (:func:`helpers.models.lenet5`) for ``(n, 1, 28, 28)`` images."""
    train.seed_everything(seed)
    if config.architecture == "lenet-5":
        if tuple(data.X_train.shape[1:]) != (1, 28, 28):
            raise ValueError("LeNet-5 needs images of shape (1, 28, 28), got inputs of "
                             f"shape {tuple(data.X_train.shape[1:])}; load the data with "
                             "load_data(config) (it reshapes them)")
        return models.lenet5(data.n_classes).to(get_device(),
                                                memory_format=torch.channels_last)
    sizes = [data.n_features, *config.hidden, data.n_classes]
    return models.mlp(sizes).to(get_device())


def _fit(model: nn.Module, data: ClassificationData, config: Config, seed: int, *,
         epochs: int, lr: float | None = None, **kwargs) -> train.History:
    return train.fit(model, data, epochs=epochs, lr=config.lr if lr is None else lr,
                     batch_size=config.batch_size, seed=seed, progress=False, **kwargs)


def _finetune(model: nn.Module, data: ClassificationData, config: Config, seed: int,
              masks: prune.Masks | None = None) -> nn.Module:
    """Retrain in place at ``config.finetune_lr`` (keeping pruned weights at zero); the
    best validation epoch wins, the starting weights included."""
    hook = prune.MaskEnforcer(masks) if masks else None
    _fit(model, data, config, seed, epochs=config.finetune_epochs, lr=config.finetune_lr,
         after_step=hook, keep_start=True)
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


@dataclass(frozen=True)
class Method:
    """A method of the benchmark, as :func:`method` registers it.

    ``run(dense, data, config, seed)`` yields one :data:`Level` per level;
    ``epochs(config, k)`` is the training budget of its ``k``-th level (every epoch of
    training that went into it, searches included: see :func:`method_epochs`); ``text``
    is the :mod:`helpers.i18n` key of its name; ``levels`` the :class:`Config` field
    that lists its levels; ``unstructured``: it prunes single weights (the headline
    "weights" and "storage" rows choose among these).
    """

    run: Callable[..., Iterator[Level]]
    epochs: Callable[[Config, int], int]
    text: str
    levels: str = "sparsities"
    unstructured: bool = True


#: Every method, in the order of the tables (the order of registration).
REGISTRY: dict[str, Method] = {}


def method(name: str, *, epochs: Callable[[Config, int], int], text: str,
           levels: str = "sparsities", unstructured: bool = True):
    """Decorator: register the decorated generator function as method ``name``."""
    if name in REGISTRY:
        raise ValueError(f"a method named {name!r} is registered already")
    if levels not in Config.__dataclass_fields__:
        raise ValueError(f"levels must name a field of Config, got {levels!r}")

    def register(run: Callable[..., Iterator[Level]]) -> Callable[..., Iterator[Level]]:
        REGISTRY[name] = Method(run, epochs, text, levels, unstructured)
        return run
    return register


def _one_shot_budget(config: Config, k: int) -> int:
    return config.dense_epochs + config.finetune_epochs


def _search_budget(field_name: str):
    """Each candidate of a search trained (from scratch, or on from the dense network
    with ``regularise_epochs`` and the dense network's epochs counted once) and
    fine-tuned."""
    def budget(config: Config, k: int) -> int:
        n = len(getattr(config, field_name))
        if config.regularise_epochs is None:
            return n * (config.dense_epochs + config.finetune_epochs)
        return config.dense_epochs + n * (config.regularise_epochs + config.finetune_epochs)
    return budget


def _regularised(dense, data, config, seed, **penalty) -> nn.Module:
    """A candidate of the L1 or L2 search: trained from scratch with its penalty, or the
    dense network trained on with it (``config.regularise_epochs``)."""
    if config.regularise_epochs is None:
        model = build_model(config, data, seed)
        epochs = config.dense_epochs
    else:
        model, epochs = copy.deepcopy(dense), config.regularise_epochs
    _fit(model, data, config, seed, epochs=epochs, **penalty)
    return model


@method("random", epochs=_one_shot_budget, text="pipe_random")
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


@method("magnitude_layer", epochs=_one_shot_budget, text="bm_magnitude_layer")
def method_magnitude_layer(dense, data, config, seed) -> Iterator[Level]:
    yield from _one_shot(dense, data, config, seed, "layer")


@method("magnitude_global", epochs=_one_shot_budget, text="bm_magnitude_global")
def method_magnitude_global(dense, data, config, seed) -> Iterator[Level]:
    yield from _one_shot(dense, data, config, seed, "global")


@method("iterative", text="bm_iterative",
        epochs=lambda config, k: config.dense_epochs + (k + 1) * config.finetune_epochs)
def method_iterative(dense, data, config, seed) -> Iterator[Level]:
    """One prune–fine-tune round per sparsity, each starting from the previous round."""
    model = copy.deepcopy(dense)
    for k, s in enumerate(config.sparsities):
        prune.iterative_prune(model, data, sparsities=[s], scope="global",
                              epochs=config.finetune_epochs, lr=config.finetune_lr,
                              batch_size=config.batch_size, seed=seed + k)
        yield s, copy.deepcopy(model), {}


@method("gradual", text="prune_gradual",
        epochs=lambda config, k: (config.dense_epochs + config.gradual_epochs
                                  + config.finetune_epochs))
def method_gradual(dense, data, config, seed) -> Iterator[Level]:
    """Zhu & Gupta's schedule while training at ``lr``, then fine-tuning at the final
    sparsity at ``finetune_lr`` (the zeros kept)."""
    for s in config.sparsities:
        model = copy.deepcopy(dense)
        prune.gradual_prune(model, data, final_sparsity=s, pruning_epochs=config.gradual_epochs,
                            finetune_epochs=0, n_pruning_steps=config.gradual_steps,
                            scope="global", lr=config.lr, batch_size=config.batch_size,
                            seed=seed)
        masks = {name: w != 0 for name, w in prune.prunable_parameters(model).items()}
        yield s, _finetune(model, data, config, seed, masks), {}


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


@method("l1_prune", epochs=_search_budget("l1_strengths"), text="pipe_l1")
def method_l1_prune(dense, data, config, seed) -> Iterator[Level]:
    trained = [({"l1_strength": strength},
                _regularised(dense, data, config, seed,
                             after_step=l1.ProximalL1(strength, config.lr)))
               for strength in config.l1_strengths]
    yield from _regularised_then_pruned(trained, data, config, seed)


@method("l2_prune", epochs=_search_budget("l2_decays"), text="pipe_l2")
def method_l2_prune(dense, data, config, seed) -> Iterator[Level]:
    trained = [({"weight_decay": decay},
                _regularised(dense, data, config, seed, weight_decay=decay))
               for decay in config.l2_decays]
    yield from _regularised_then_pruned(trained, data, config, seed)


@method("neurons", text="bm_neurons", levels="neuron_fractions", unstructured=False,
        epochs=lambda config, k: (config.dense_epochs
                                  + len(config.neuron_criteria) * config.finetune_epochs))
def method_neurons(dense, data, config, seed) -> Iterator[Level]:
    """Remove the same fraction of units from every hidden layer, then fine-tune: the
    neurons of each hidden linear layer, and of LeNet-5 the output channels of each
    convolution too (:func:`helpers.structured.remove_channels`); each criterion scores
    a convolution's channels as it scores neurons."""
    X, y = data.split("train")
    layers = structured.removable_layers(dense)
    scores = {c: {layer: structured.neuron_importance(dense, layer, c, X=X, y=y)
                  for layer in layers} for c in config.neuron_criteria}
    for fraction in config.neuron_fractions:
        candidates = []
        for criterion in config.neuron_criteria:
            model = dense
            for layer in layers:
                remove = (structured.remove_channels
                          if isinstance(model.get_submodule(layer), nn.Conv2d)
                          else structured.remove_neurons)
                model = remove(model, layer, structured.lowest(scores[criterion][layer],
                                                               fraction))
            candidates.append(({"criterion": criterion},
                               _finetune(model, data, config, seed)))
        choice, model = _best_on_validation(candidates, data)
        yield fraction, model, choice


#: Method names in the order of the tables; the unstructured ones prune single weights.
METHODS = tuple(REGISTRY)
UNSTRUCTURED = tuple(name for name, m in REGISTRY.items() if m.unstructured)

#: A configuration that runs in seconds: for the smoke test and for trying the code.
QUICK = Config(seeds=(0, 1), sparsities=(0.5, 0.9), neuron_fractions=(0.5,),
               dense_epochs=3, finetune_epochs=2, gradual_epochs=2, gradual_steps=4,
               l1_strengths=(0.1,), l2_decays=(1e-3,), neuron_criteria=("l1",),
               share_bits=(4,), latency_batches=(1, 64), latency_rounds=2,
               latency_repeats=3)

#: LeNet-300-100 on MNIST (Han et al. 2015, Table 1): 60,000 training images, so
#: fewer epochs; not run in CI.
MNIST = Config(data="mnist", lr=1e-3, batch_size=128, dense_epochs=20, finetune_epochs=6,
               gradual_epochs=8, gradual_steps=20, sparsities=(0.5, 0.8, 0.9, 0.92, 0.95,
                                                               0.97, 0.98))

#: LeNet-300-100 on Fashion-MNIST with Han et al.'s protocol: the dense network trained
#: to convergence, then every retraining after pruning at a tenth of its learning rate,
#: and Deep Compression's third stage in full (centroids fine-tuned, Huffman coding).
#: Sized to fit, with LeNet-5, in 90 minutes on both cores of a 2-core machine (one
#: epoch over the 50,000 training images costs about 3 s on one core): five
#: sparsities around Han et al.'s 92%, three epochs of retraining, and the L1 and L2
#: candidates trained on from the dense network for four epochs (not from scratch).
#: Three values in each search, λ spanning a total shrinkage ``lr · λ · steps`` (1,560
#: steps) of about 0.005 to 0.05, the size of the weights; the report counts choices at
#: an edge of a grid (:func:`benchmarks.compression.report.grid_edges`).
FASHION = replace(MNIST, data="fashion-mnist", finetune_lr_factor=0.1, finetune_epochs=3,
                  sparsities=(0.5, 0.9, 0.92, 0.95, 0.97), gradual_epochs=6,
                  gradual_steps=12, regularise_epochs=4, l1_strengths=(3e-3, 1e-2, 3e-2),
                  l2_decays=(1e-4, 1e-3, 1e-2), neuron_fractions=(0.25, 0.5, 0.7),
                  neuron_criteria=("l1", "taylor"), centroid_steps=100, huffman=True)

#: Caffe's LeNet-5 (20-50-500) on Fashion-MNIST, the same protocol. An epoch costs
#: about five of LeNet-300-100's on a CPU (16 s on one core), so 3 seeds, 10 dense
#: epochs, 2 of retraining, three sparsities around Han et al.'s 92%, two values in
#: each search, each candidate trained on for 2 epochs.
FASHION_LENET5 = replace(FASHION, architecture="lenet-5", seeds=(0, 1, 2), dense_epochs=10,
                         finetune_epochs=2, gradual_epochs=2, gradual_steps=8,
                         sparsities=(0.9, 0.92, 0.95), regularise_epochs=2,
                         l1_strengths=(1e-2, 3e-2), l2_decays=(1e-3, 1e-2),
                         neuron_fractions=(0.25, 0.5), latency_repeats=5)

#: ``--quick`` on MNIST or Fashion-MNIST: the real files, a few hundred images of each
#: split, one seed.
QUICK_IDX = replace(QUICK, seeds=(0,), max_images=500, dense_epochs=2, finetune_epochs=1,
                    gradual_epochs=1, gradual_steps=2, latency_batches=(1, 16),
                    latency_repeats=2)


def preset(data: str = "digits", architecture: str = "lenet-300-100", *,
           quick: bool = False) -> Config:
    """The configuration of a run of ``python -m benchmarks.compression``: the book's
    digits (:class:`Config`), MNIST (:data:`MNIST`), Fashion-MNIST (:data:`FASHION`,
    :data:`FASHION_LENET5`); ``quick``: :data:`QUICK`, or :data:`QUICK_IDX` on the
    real files of MNIST or Fashion-MNIST, with the learning rate of retraining of the
    full configuration."""
    if data == "fashion-mnist":
        full = FASHION_LENET5 if architecture == "lenet-5" else FASHION
    else:
        full = MNIST if data == "mnist" else Config()
    base = (QUICK if data == "digits" else QUICK_IDX) if quick else full
    if not quick:
        return replace(full, data=data, architecture=architecture)
    # --quick keeps the protocol of its data set (the rate of retraining, where the
    # searches' candidates start, Deep Compression's stages), in miniature
    return replace(base, data=data, architecture=architecture,
                   finetune_lr_factor=full.finetune_lr_factor, huffman=full.huffman,
                   centroid_steps=min(full.centroid_steps, 2),
                   regularise_epochs=full.regularise_epochs and 1)



def method_epochs(config: Config, method: str, k: int) -> int:
    """The training budget of ``method``'s ``k``-th level, in epochs: every epoch of
    training that went into it — the dense network's, and each candidate's of a search
    (λ, weight decay, neuron criterion), fine-tuning included.

    One-shot pruning (random, magnitude): dense + fine-tuning (40 + 15 = 55 with the
    default :class:`Config`); iterative: dense + one fine-tuning per round so far
    (55 … 160); gradual: dense + pruning phase + fine-tuning (70); L1 or L2 + pruning:
    each of the five candidates trained from scratch and fine-tuned (5 × 55 = 275);
    neuron removal: dense + each criterion's fine-tuning (40 + 3 × 15 = 85). Each row
    is compared with a dense network of the same budget (:func:`budget_controls`).
    Each method states its budget where it is registered (:func:`method`).
    """
    if method not in REGISTRY:
        raise ValueError(f"unknown method {method!r}; one of {tuple(REGISTRY)}")
    return REGISTRY[method].epochs(config, k)


class BestSoFar:
    """An ``after_epoch`` hook of :func:`helpers.train.fit`: at each epoch count of
    ``at``, a copy of the weights that ``fit(..., epochs=count, keep_start=True)`` would
    return — the best on validation so far, the starting weights included (ties keep
    the earlier). One run of the longest budget thus gives the dense control of every
    shorter one (same seed, same batches, same optimiser state)."""

    def __init__(self, model: nn.Module, data: ClassificationData, at: Sequence[int]):
        self.at = set(at)
        self.best = train.evaluate(model, data, "val")
        self.state = copy.deepcopy(model.state_dict())
        self.snapshots = {0: copy.deepcopy(self.state)} if 0 in self.at else {}

    def __call__(self, model: nn.Module, history: train.History) -> None:
        if history.val_accuracy[-1] > self.best:
            self.best = history.val_accuracy[-1]
            self.state = copy.deepcopy(model.state_dict())
        if history.epochs in self.at:
            self.snapshots[history.epochs] = copy.deepcopy(self.state)


def budget_controls(dense: nn.Module, data: ClassificationData, config: Config, seed: int,
                    budgets: Sequence[int]) -> dict[int, nn.Module]:
    """The dense network continued to each total budget of ``budgets`` (epochs, the
    dense network's included), keeping its best validation epoch, the starting one
    included: the control a method of that budget is compared with."""
    extra = sorted({b - config.dense_epochs for b in budgets})
    if extra[0] < 0:
        raise ValueError(f"a budget of {min(budgets)} epochs is below the dense network's "
                         f"{config.dense_epochs}")
    model = copy.deepcopy(dense)
    hook = BestSoFar(model, data, extra)
    if extra[-1]:
        _fit(model, data, config, seed, epochs=extra[-1], keep_start=True, after_epoch=hook)
    out = {}
    for e in extra:
        control = copy.deepcopy(dense)
        control.load_state_dict(hook.snapshots[e])
        out[config.dense_epochs + e] = control.eval()
    return out


def n_levels(config: Config, method: str) -> int:
    """How many levels (sparsities or neuron fractions) a method is run at."""
    return len(getattr(config, REGISTRY[method].levels))


# --------------------------------------------------------------------------- measuring


def pack_correct(correct: np.ndarray) -> str:
    """A bool vector as hexadecimal text (8 examples a byte, zero-padded at the end)."""
    return np.packbits(np.asarray(correct, dtype=bool)).tobytes().hex()


def unpack_correct(text: str, n: int) -> np.ndarray:
    """The inverse of :func:`pack_correct` for a vector of ``n`` examples."""
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(text), dtype=np.uint8))
    if len(bits) < n or bits[n:].any():
        raise ValueError(f"{text[:16]}… does not encode {n} examples")
    return bits[:n].astype(bool)


def _weight_counts(model: nn.Module) -> tuple[int, int]:
    """(weights, nonzero weights) of the Linear/Conv layers; biases excluded."""
    weights = prune.prunable_parameters(model)
    nonzero = metrics.count_nonzero(model, per_parameter=True)
    return sum(w.numel() for w in weights.values()), sum(nonzero[n] for n in weights)


def _widths(model: nn.Module) -> list[int]:
    """The units of every layer but the last: the hidden neurons of LeNet-300-100; the
    channels of each convolution and the hidden neurons of LeNet-5."""
    return [m.out_channels if isinstance(m, nn.Conv2d) else m.out_features
            for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))][:-1]


def _latency_input(data: ClassificationData, batch: int) -> torch.Tensor:
    X = data.X_test
    return X.repeat(math.ceil(batch / len(X)), *[1] * (X.dim() - 1))[:batch]


def _shared(model: nn.Module, data: ClassificationData, config: Config,
            val_fp32: float) -> tuple[int, nn.Module, float]:
    """The fewest bits of k-means sharing that keep validation accuracy within the
    tolerance of the fp32 model (the most bits if none does), the shared model (its
    centroids fine-tuned for ``config.centroid_steps`` steps) and its validation
    accuracy."""
    tolerance = targets_for(config)["storage"]["tolerance_pp"] / 100
    for bits in sorted(config.share_bits):
        shared = quant.kmeans_share_model(model, bits)
        val = _val(shared, data)
        if val >= val_fp32 - tolerance - EPS or bits == max(config.share_bits):
            break
    if config.centroid_steps:
        shared = _tune_centroids(model, data, config, bits)
        val = _val(shared, data)
    return bits, shared, val


def _tune_centroids(model: nn.Module, data: ClassificationData, config: Config,
                    bits: int) -> nn.Module:
    """A copy of ``model`` shared with ``2^bits`` values per layer, its centroids
    fine-tuned (:class:`helpers.quant.CentroidFineTuning`) for ``config.centroid_steps``
    steps at ``config.finetune_lr`` on the first images of the training split; the best
    validation epoch is kept, the untuned shared weights included."""
    tuned = copy.deepcopy(model).train()
    tying = quant.CentroidFineTuning(tuned, bits)
    n = config.centroid_steps * config.batch_size
    subset = ClassificationData(data.X_train[:n], data.y_train[:n], data.X_val, data.y_val,
                                data.X_test, data.y_test, data.name, data.n_classes)
    _fit(tuned, subset, config, 0, epochs=1, lr=config.finetune_lr, after_step=tying,
         keep_start=True)
    return tuned.eval()


def _shared_bytes(shared: nn.Module, config: Config, bits: int) -> int:
    """Bytes of Deep Compression's storage: Huffman-coded streams with ``config.huffman``,
    fixed-width codes otherwise."""
    if config.huffman:
        return math.ceil(quant.huffman_storage_bytes(shared, gap_bits=config.gap_bits)
                         ["huffman"])
    return metrics.storage_bytes(shared, "relative+shared", value_bits=bits,
                                 gap_bits=config.gap_bits)


def _latencies(model: nn.Module, data: ClassificationData, config: Config,
               reference: nn.Module | None) -> dict:
    """CPU latency at each batch size of ``config.latency_batches`` (keys are strings).

    Without ``reference``: ``{"latency_ms": {batch: median}}`` over ``latency_rounds ×
    latency_repeats`` timed calls. With it (the dense network of the same seed): the two
    are timed in alternation (:func:`helpers.metrics.compare_latency`, ``latency_rounds``
    rounds of ``latency_repeats`` calls each), so a changing load slows both alike; adds
    ``speedup`` (the reference's median over the model's) and ``rounds_ms`` (per round,
    the median of the model and of the reference: the input of
    :func:`helpers.stats.latency_ratio`).
    """
    out: dict = {"latency_ms": {}}
    if reference is not None:
        out |= {"speedup": {}, "rounds_ms": {}}
    for b in config.latency_batches:
        x, key = _latency_input(data, b), str(b)
        if reference is None:
            out["latency_ms"][key] = metrics.measure_latency(
                model, x, repeats=config.latency_rounds * config.latency_repeats, warmup=3,
                threads=config.threads).median_ms
            continue
        timed = metrics.compare_latency({"model": model, "dense": reference}, x,
                                        rounds=config.latency_rounds,
                                        repeats=config.latency_repeats, warmup=3,
                                        threads=config.threads)
        out["latency_ms"][key] = timed["model"].median_ms
        out["speedup"][key] = timed["dense"].median_ms / timed["model"].median_ms
        # compare_latency pools the repeats in round order: one row per round.
        out["rounds_ms"][key] = {
            name: np.median(np.reshape(t.times_ms, (config.latency_rounds, -1)),
                            axis=1).tolist() for name, t in timed.items()}
    return out


def measure(model: nn.Module, data: ClassificationData, config: Config,
            reference: nn.Module | None = None) -> dict:
    """Every number the tables report, for one model (and its int8 and shared versions).

    ``reference``, the dense network of the same seed ready to time (in evaluation
    mode), is timed in alternation with the model (:func:`_latencies`).
    """
    model = structured.remove_dead_neurons(model)
    model.eval()
    shape = tuple(data.X_train.shape[1:])
    weights, nonzero = _weight_counts(model)
    record = {
        "hidden": _widths(model),
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
    bits, shared, val_shared = _shared(model, data, config, val_fp32)
    val = {"fp32": val_fp32, "int8": _val(int8, data), "shared": val_shared}
    variants = {
        "fp32": (model, min(metrics.storage_bytes(model, "dense32"),
                            metrics.storage_bytes(model, "relative", **gap))),
        "int8": (int8, min(metrics.storage_bytes(int8, "int8"),
                           metrics.storage_bytes(int8, "csr+int8", index_bits=16,
                                                 pointer_bits=16))),
        "shared": (shared, _shared_bytes(shared, config, bits)),
    }
    X_test, y_test = data.split("test")
    for name, (m, nbytes) in variants.items():
        # test_correct: which test images the model gets right (pack_correct), for the
        # report's paired per-image comparisons (helpers.stats.compare_accuracy).
        correct = train.correct(m, X_test, y_test)  # one pass over the test images
        record[name] = {"val_acc": val[name], "test_acc": float(np.mean(correct)),
                        "storage_bytes": int(nbytes), "test_correct": pack_correct(correct)}
    record["shared"]["bits"] = bits
    record.update(_latencies(model, data, config, reference))
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
            "device": str(get_device())}
    if hasattr(os, "getloadavg"):
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return info


class _Arrays:
    """A data set as numpy arrays, for the workers of :func:`run`: joblib hands arrays
    this large to its worker processes as memory-mapped files, not as pickled copies."""

    def __init__(self, data: ClassificationData):
        self.arrays = {k: getattr(data, k).numpy() for k in (
            "X_train", "y_train", "X_val", "y_val", "X_test", "y_test")}
        self.name, self.n_classes = data.name, data.n_classes

    def data(self) -> ClassificationData:
        t = {k: torch.from_numpy(np.array(a)) for k, a in self.arrays.items()}
        data = ClassificationData(**t, name=self.name, n_classes=self.n_classes)
        return _channels_last(data) if data.X_train.dim() == 4 else data


def _start_task(config: Config, data, seed: int) -> ClassificationData:
    """What every task of :func:`run` does first, in whichever process runs it: the
    threads of the configuration and the seed's random state, so results do not depend
    on ``n_jobs`` or on the order the tasks run in."""
    torch.set_num_threads(config.threads)
    train.seed_everything(seed)
    return data.data() if isinstance(data, _Arrays) else data


def _dense_task(config: Config, data, seed: int) -> tuple[nn.Module, dict]:
    """The dense network of ``seed``, trained, and its record."""
    data = _start_task(config, data, seed)
    dense = build_model(config, data, seed)
    _fit(dense, data, config, seed, epochs=config.dense_epochs)
    record = {"method": "dense", "level": None, "seed": seed,
              **measure(copy.deepcopy(dense), data, config)}
    return dense.cpu(), record


def _reference(dense: nn.Module) -> nn.Module:
    """The dense network as every other network of its seed is timed against."""
    return structured.remove_dead_neurons(copy.deepcopy(dense)).to(get_device()).eval()


def _controls_task(config: Config, data, seed: int, dense: nn.Module) -> tuple[dict, list]:
    """The dense network continued for each method's training budget (the control it is
    compared with): the record of the one of one-shot pruning's budget (dense +
    fine-tuning), measured in full as the tables' "dense, equal budget" row, and the
    per-image test results of every control."""
    data = _start_task(config, data, seed)
    dense = dense.to(get_device())
    budgets = {method_epochs(config, m, k) for m in config.methods
               for k in range(n_levels(config, m))}
    one_shot = config.dense_epochs + config.finetune_epochs
    controls = budget_controls(dense, data, config, seed, budgets | {one_shot})
    record = {"method": "dense_budget", "level": None, "seed": seed, "epochs": one_shot,
              **measure(controls[one_shot], data, config, _reference(dense))}
    X_test, y_test = data.split("test")
    control_records = []
    for epochs, control in sorted(controls.items()):
        correct = train.correct(control, X_test, y_test)
        control_records.append({"epochs": epochs, "seed": seed, "val_acc": _val(control, data),
                                "test_acc": float(np.mean(correct)),
                                "test_correct": pack_correct(correct)})
    return record, control_records


def _method_task(config: Config, data, seed: int, method: str,
                 dense: nn.Module) -> list[dict]:
    """Every level of ``method`` for ``seed``, measured."""
    data = _start_task(config, data, seed)
    dense = dense.to(get_device())
    reference = _reference(dense)
    return [{"method": method, "level": level, "seed": seed, "choice": choice,
             "epochs": method_epochs(config, method, k),
             **measure(model, data, config, reference)}
            for k, (level, model, choice) in enumerate(
                REGISTRY[method].run(dense, data, config, seed))]


def _task_cost(config: Config, method: str | None) -> int:
    """Roughly the epochs of training a task adds to its dense network (``None``: the
    dense controls), to start the longest tasks first."""
    if method is None:
        return max(method_epochs(config, m, k) for m in config.methods
                   for k in range(n_levels(config, m))) - config.dense_epochs
    return sum(method_epochs(config, method, k) - config.dense_epochs
               for k in range(n_levels(config, method)))


def _parallel(n_jobs: int, calls: list, bar) -> Iterator:
    """``(key, cpu_s, result)`` of each ``(key, units, function, args)`` of ``calls`` as
    it finishes, on ``n_jobs`` processes (in this one for 1), advancing ``bar`` by
    ``units`` for each; ``cpu_s`` is the CPU time the call took."""
    if n_jobs == 1:
        for call in calls:
            key, units, cpu_s, result = _timed(*call)
            bar.update(units)
            yield key, cpu_s, result
        return
    from joblib import Parallel, delayed

    jobs = Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=1)
    for key, units, cpu_s, result in jobs(delayed(_timed)(*call) for call in calls):
        bar.update(units)
        yield key, cpu_s, result


def _timed(key, units: int, function: Callable, args: tuple) -> tuple:
    """``function(*args)`` with the CPU time it took in its process."""
    cpu = time.process_time()
    result = function(*args)
    return key, units, time.process_time() - cpu, result


def run(config: Config, data: ClassificationData, *, progress: bool = True,
        n_jobs: int = 1) -> dict:
    """Run the benchmark; return the results (JSON-serialisable).

    Each seed's dense network is trained first; then its dense controls and each method
    run as separate tasks, the longest first, on ``n_jobs`` processes (joblib; each
    task on ``config.threads`` threads, seeding itself, so the results are the same for
    any ``n_jobs``, latencies aside). A progress bar (tqdm) counts the networks
    measured. Latencies are measured while the other processes run: each network is
    timed in alternation with its seed's dense network, so a shared CPU slows both.
    """
    from tqdm import tqdm

    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive int (processes), got {n_jobs!r}")
    started = time.perf_counter()
    meta = {"date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": machine_info(), "n_jobs": n_jobs}
    old_threads = torch.get_num_threads()
    total = len(config.seeds) * (2 + sum(n_levels(config, m) for m in config.methods))
    bar = tqdm(total=total, desc=f"benchmark ({config.data}, {config.architecture})",
               disable=not progress, dynamic_ncols=True)
    shared = data if n_jobs == 1 else _Arrays(data)
    try:
        dense_calls = [(seed, 1, _dense_task, (config, shared, seed))
                       for seed in config.seeds]
        cpu_s, dense = 0.0, {}
        for seed, cpu, result in _parallel(n_jobs, dense_calls, bar):
            cpu_s, dense[seed] = cpu_s + cpu, result
        calls = [((seed, None), 1, _controls_task, (config, shared, seed, dense[seed][0]))
                 for seed in config.seeds]
        calls += [((seed, m), n_levels(config, m), _method_task,
                   (config, shared, seed, m, dense[seed][0]))
                  for seed in config.seeds for m in config.methods]
        calls.sort(key=lambda call: -_task_cost(config, call[0][1]))
        done = {}
        for key, cpu, result in _parallel(n_jobs, calls, bar):
            cpu_s, done[key] = cpu_s + cpu, result
    finally:
        bar.close()
        torch.set_num_threads(old_threads)
    baseline_records, records, control_records = [], [], []
    for seed in config.seeds:  # in the order of the seeds and of the registry
        budget_record, controls = done[seed, None]
        baseline_records += [dense[seed][1], budget_record]
        control_records += controls
        for m in config.methods:
            records += done[seed, m]
    meta["duration_s"] = round(time.perf_counter() - started, 1)
    meta["cpu_s"] = round(cpu_s, 1)  # the tasks' CPU time, in every process
    if hasattr(os, "getloadavg"):
        meta["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    dense_summary = summarize_dense([r for r in baseline_records if r["method"] == "dense"])
    budget_summary = summarize_dense(
        [r for r in baseline_records if r["method"] == "dense_budget"],
        reference=dense_summary)
    return {"schema": SCHEMA, "meta": meta, "config": _jsonable(asdict(config)),
            "data": {"name": config.data, "architecture": config.architecture,
                     "n_features": data.n_features,
                     **{f"n_{w}": len(data.split(w)[1]) for w in ("train", "val", "test")}},
            "targets": targets_for(config), "dense": dense_summary, "dense_budget": budget_summary,
            "rows": aggregate(records, dense_summary), "records": baseline_records + records,
            "budget_controls": control_records}


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
    if all("speedup" in r for r in group):  # timed against the seed's dense network
        row["speedup"] = {b: float(np.median([r["speedup"][b] for r in group]))
                          for b in group[0]["speedup"]}
    return row


def summarize_dense(dense_records: Sequence[dict], reference: dict | None = None) -> dict:
    """A dense baseline: means over seeds (accuracies in percent).

    Ratios are taken against ``reference`` (a summary of this function), by default
    against the records themselves.
    """
    first = dense_records[0]
    weights = first["weights"] if reference is None else reference["weights"]
    nbytes = (first["fp32"]["storage_bytes"] if reference is None
              else reference["dense32_bytes"])
    return _summarize(dense_records, weights, nbytes) | {"dense32_bytes": nbytes}


def aggregate(records: Sequence[dict], dense: dict) -> list[dict]:
    """One row per (method, level): means and standard deviations over seeds."""
    groups: dict[tuple[str, float], list[dict]] = {}
    for r in records:
        groups.setdefault((r["method"], r["level"]), []).append(r)
    rows = []
    for (method, level), group in sorted(groups.items(),
                                         key=lambda kv: (list(REGISTRY).index(kv[0][0]), kv[0][1])):
        row = {"method": method, "level": level,
               **_summarize(group, dense["nonzero_weights"], dense["dense32_bytes"])}
        for variant in VARIANTS:
            row[variant]["drop_pp"] = dense["fp32"]["test_mean"] - row[variant]["test_mean"]
            row[variant]["val_drop_pp"] = dense["fp32"]["val_mean"] - row[variant]["val_mean"]
        flops_ratio = dense["macs"] / row["macs"]
        row["flop_ratio"] = flops_ratio
        # "speedup" (from _summarize): median over seeds of each network's speed-up over
        # its seed's dense network, timed in alternation.
        row["choices"] = [r["choice"] for r in group]
        row["epochs"] = group[0]["epochs"]
        rows.append(row)
    return rows
