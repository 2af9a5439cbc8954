"""helpers.dependency on the graphs of today's CNNs (issue 24).

Each block kind of the model zoos (MobileNetV2's depthwise convolutions, ResNeXt's
grouped ones, DenseNet's concatenations, ShuffleNetV2's channel split, EfficientNet's
squeeze-and-excitation gate) is built in ``tests/nets.py`` from its constructor's
layers. Two oracles: removing channels equals zeroing them (the documented
equivalence), and Torch-Pruning 1.6.1 under the same scores gives the same model
where it handles the graph.
"""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import nets
from helpers import dependency as dep

ZOO = nets.zoo()
X = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
#: Torch-Pruning 1.6.1 prunes the two chunks of ``x.chunk(2, dim=1)`` unevenly; the
#: model it returns fails (or computes something else): no oracle there.
NOT_IN_TORCH_PRUNING = {"shufflenet"}


@pytest.mark.parametrize("amount", [0.25, 0.5])
@pytest.mark.parametrize("name", sorted(ZOO))
def test_removal_equals_zeroing_and_torch_pruning(name, amount):
    model = ZOO[name]
    scores = nets.random_scores(dep.dependency_groups(model), seed=1)
    ours = dep.prune_groups(model, amount, scores=scores)
    zeroed = nets.zeroed(model, scores, amount)
    assert nets.gap(model, zeroed, X) > 0.1  # the channels mattered
    assert nets.gap(ours, zeroed, X) < 1e-5
    assert sum(p.numel() for p in ours.parameters()) < \
        sum(p.numel() for p in model.parameters())
    if name not in NOT_IN_TORCH_PRUNING:
        theirs = nets.torch_pruned(model, X, scores, amount, ignored=("fc",))
        assert nets.shapes(ours) == nets.shapes(theirs)
        assert nets.gap(ours, theirs, X) < 1e-5


def _group(model, producer):
    return next(g for g in dep.dependency_groups(model) if producer in g.producers)


def test_a_depthwise_convolution_writes_the_channels_it_reads():
    group = _group(ZOO["mobilenet_v2"], "body.0.expand.0")
    assert group.producers == ("body.0.expand.0", "body.0.depthwise.0")
    assert group.norms == ("body.0.expand.1", "body.0.depthwise.1")
    assert group.consumers == ("body.0.project.0",) and group.layout == ()
    small = dep.remove_group(ZOO["mobilenet_v2"], group, list(range(0, 32, 2)))
    depthwise = small.body[0].depthwise[0]
    assert (depthwise.in_channels, depthwise.out_channels, depthwise.groups) == (16, 16, 16)


def test_a_depthwise_convolution_with_a_channel_multiplier():
    """Two filters per input channel: removing a channel removes both (no Torch-Pruning)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), nn.Conv2d(4, 8, 3, groups=4),
                          nn.ReLU(), nn.Conv2d(8, 2, 1)).eval()
    (group,) = dep.dependency_groups(model)
    assert (group.producers, group.consumers, group.size) == (("0", "2"), ("4",), 4)
    assert group.owner("2", "out").tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert group.owner("4", "in").tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    small = dep.remove_group(model, group, [1, 2])
    assert (small[2].in_channels, small[2].out_channels, small[2].groups) == (2, 4, 2)
    assert small[4].in_channels == 4
    zeroed = dep.zero_group(copy.deepcopy(model), group, [1, 2])
    assert nets.gap(small, zeroed, X[:, :, :5, :5]) < 1e-6


def test_a_grouped_convolution_couples_channel_c_of_every_group():
    block = ZOO["resnext"].body[0]  # 8 channels into a 4-group convolution: 2 per group
    reduce = _group(ZOO["resnext"], "body.0.reduce.0")
    assert reduce.size == 2
    assert reduce.owner("body.0.reduce.0", "out").tolist() == [0, 1] * 4
    assert reduce.owner("body.0.grouped.0", "in").tolist() == [0, 1]  # the weight's columns
    small = dep.remove_group(ZOO["resnext"], reduce, [0])
    assert small.body[0].reduce[0].out_channels == 4
    assert small.body[0].grouped[0].weight.shape == (8, 1, 3, 3)
    assert torch.equal(small.body[0].grouped[0].weight, block.grouped[0].weight[:, 1:])


def test_a_concatenation_places_each_group_at_its_offset():
    model = ZOO["densenet"]
    inner = _group(model, "body.0.conv")  # 4 channels after the 6 of the stem
    assert inner.owner("body.2.0", "in").tolist() == [-1] * 6 + [0, 1, 2, 3] + [-1] * 4
    assert inner.owner("body.1.norm", "norm").tolist() == [-1] * 6 + [0, 1, 2, 3]
    small = dep.remove_group(model, inner, [1])
    assert small.body[2][0].in_channels == 13 and small.body[1].norm.num_features == 9
    zeroed = dep.zero_group(copy.deepcopy(model), inner, [1])
    assert nets.gap(small, zeroed, X) < 1e-6


def test_chunks_keep_equal_sizes():
    model = ZOO["shufflenet"]
    stream = _group(model, "stem.0")
    assert stream.owner("stem.0", "out").tolist() == [0, 1, 2, 3] * 2
    small = dep.remove_group(model, stream, [2])
    # the fc reads the stream's first half and the last branch's channels
    assert small.stem[0].out_channels == 6 and small.fc.in_features == 7
    assert nets.gap(small, dep.zero_group(copy.deepcopy(model), stream, [2]), X) < 1e-6


def test_a_squeeze_and_excitation_gate_is_in_the_group_it_scales():
    group = _group(ZOO["efficientnet"], "body.2.expand")
    assert group.producers == ("body.0.0", "body.1.0", "body.2.expand")
    assert group.consumers == ("body.2.reduce", "body.3.0")


def test_split_sizes_written_in_the_code_are_not_pruned():
    class Split(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c = nn.Conv2d(3, 8, 1), nn.Conv2d(4, 4, 1), nn.Conv2d(8, 2, 1)

        def forward(self, x):
            p, q = self.a(x).split([4, 4], dim=1)
            return self.c(torch.cat([p, self.b(q)], dim=1))

    assert [g.producers for g in dep.dependency_groups(Split())] == [("b",)]


def test_a_layer_is_never_left_without_channels():
    """Stem (2 channels) and a concatenated branch (2) share one 4-channel stream."""
    torch.manual_seed(0)
    model = nets.RandomCNN(["concat", "residual"], 2, 2, "affine").eval()
    stream = _group(model, "stem.0")
    assert stream.owner("stem.0", "out").tolist() == [0, 1]
    assert stream.owner("blocks.0.f.0", "out").tolist() == [2, 3]
    with pytest.raises(ValueError, match="would leave layer 'stem.0' without output"):
        dep.remove_group(model, stream, [0, 1])
    scores = {g: torch.arange(g.size, dtype=torch.float) for g in dep.dependency_groups(model)}
    small = dep.prune_groups(model, 0.5, scores=scores)  # the stem's two score lowest
    theirs = nets.torch_pruned(model, X, scores, 0.5, ignored=("fc",))
    assert small.stem[0].out_channels == theirs.stem[0].out_channels == 2  # left whole
    assert nets.shapes(small) == nets.shapes(theirs)


class _ConvNeXtLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.dw, self.norm, self.mlp = nn.Conv2d(4, 4, 7, padding=3, groups=4), \
            nn.LayerNorm(4), nn.Linear(4, 8)

    def forward(self, x):
        return x + self.mlp(self.norm(self.dw(x).permute(0, 2, 3, 1)))


class _ChannelShuffle(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 8, 1), nn.Conv2d(8, 2, 1)

    def forward(self, x):
        y = self.a(x)
        n, c, h, w = y.shape
        return self.b(y.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w))


class _Sliced(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 8, 1), nn.Conv2d(4, 2, 1)

    def forward(self, x):
        return self.b(self.a(x)[:, :4])


@pytest.mark.parametrize("model, match", [
    (_ConvNeXtLike(), r"the tensor method .permute\(\) on the channels of layer 'dw'"),
    (_ChannelShuffle(), r"the tensor method .view\(\) on the channels of layer 'a'.*"
                        r"only a view or reshape to \(batch, -1\)"),
    (_Sliced(), r"the operation indexing \[...\] on the channels of layer 'a'"),
    (nn.Sequential(nn.Conv1d(3, 4, 1), nn.Conv1d(4, 2, 1)), "unsupported layer '0' of type "
                                                           "Conv1d"),
    (nn.Sequential(nn.Conv2d(3, 4, 1), nn.ConvTranspose2d(4, 2, 2)), "layer '1' of type "
                                                                    "ConvTranspose2d"),
])
def test_what_is_not_handled_is_named_with_its_layer(model, match):
    with pytest.raises(TypeError, match=match):
        dep.dependency_groups(model)


# ------------------------------------------------ a property over random small CNNs

@st.composite
def _networks(draw):
    kinds = draw(st.lists(st.sampled_from(nets.BLOCKS), min_size=1, max_size=3))
    norm_kind = draw(st.sampled_from(nets.NORMS))
    channels, width = draw(st.sampled_from([2, 4, 6])), draw(st.sampled_from([2, 4]))
    seed = draw(st.integers(0, 2**16))
    torch.manual_seed(seed)
    model = nets.RandomCNN(kinds, channels, width, norm_kind)
    nets.randomise_batchnorm(model, torch.Generator().manual_seed(seed)).eval()
    return model, draw(st.sampled_from([0.25, 0.5])), seed


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_networks())
def test_removal_equals_zeroing_and_torch_pruning_on_random_networks(case):
    model, amount, seed = case
    x = torch.randn(3, 3, 6, 6, generator=torch.Generator().manual_seed(seed))
    scores = nets.random_scores(dep.dependency_groups(model), seed)
    ours = dep.prune_groups(model, amount, scores=scores)
    zeroed = nets.zeroed(model, scores, amount)
    scale = model(x).abs().max().item()
    assert nets.gap(ours, zeroed, x) <= 1e-5 * max(1.0, scale)
    for group, s in scores.items():  # every group lost its share, unless that emptied a layer
        drop = torch.sort(s, stable=True).indices[:nets.n_removed(amount, group.size)]
        rows = [sum(m.get_submodule(p).weight.shape[0] for p in group.producers)
                for m in (model, ours)]
        assert rows[0] - rows[1] >= (0 if nets.empties(group, drop) else len(drop))
    tied = [b for b in ours.blocks if b.kind == "tied"]
    assert all(b.a.weight is b.b.weight for b in tied)
    if model.torch_pruning:
        theirs = nets.torch_pruned(model, x, scores, amount, ignored=("fc",))
        assert nets.shapes(ours) == nets.shapes(theirs)
        assert nets.gap(ours, theirs, x) <= 1e-5 * max(1.0, scale)


def test_batchnorm_without_affine_parameters_in_a_random_network_is_rejected():
    model = nets.RandomCNN(["residual", "concat"], 4, 2, "affine")
    model.blocks[0].f[1] = nn.BatchNorm2d(2, affine=False)
    with pytest.raises(ValueError, match="'blocks.0.f.1' has no affine parameters"):
        dep.dependency_groups(model)
