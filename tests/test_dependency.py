"""helpers.dependency: dependency groups of residual networks, their removal, Torch-Pruning."""

from __future__ import annotations

import copy
import types

import pytest
import torch
import torch_pruning as tp
from torch import nn

import nets
from helpers import dependency as dep
from helpers import metrics, models, structured


def _trained_like(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random BatchNorm statistics and affine parameters, as after training; eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
    return model.eval()


@pytest.fixture
def net():
    torch.manual_seed(0)
    return _trained_like(models.residual_cnn(8, 2, hidden=6))


def test_residual_cnn_shapes_and_bad_arguments():
    assert models.residual_cnn(8, 3)(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    with pytest.raises(ValueError):
        models.residual_cnn(0)
    with pytest.raises(TypeError):
        models.residual_cnn(8, 1.5)


def test_groups_of_a_residual_network(net):
    groups = dep.dependency_groups(net)
    stream, block0, block1 = groups
    assert stream.producers == ("stem", "blocks.0.conv2", "blocks.1.conv2")
    assert stream.norms == ("stem_bn", "blocks.0.bn2", "blocks.1.bn2")
    assert stream.consumers == ("blocks.0.conv1", "blocks.1.conv1", "head")
    assert stream.size == 8
    assert block0 == dep.DependencyGroup(("blocks.0.conv1",), ("blocks.0.bn1",),
                                         ("blocks.0.conv2",), 6)
    assert block1.producers == ("blocks.1.conv1",)


def test_a_plain_sequential_network_has_one_group_per_layer():
    model = models.small_cnn((4, 6))
    groups = dep.dependency_groups(model)
    assert [g.producers for g in groups] == [("0",), ("3",)]
    assert [g.consumers for g in groups] == [("3",), ("8",)]


@pytest.mark.parametrize("which, indices", [(0, [1, 5]), (1, [0, 2, 3]), (2, [4])])
def test_removal_equals_zeroing(net, which, indices):
    group = dep.dependency_groups(net)[which]
    x = torch.randn(5, 1, 8, 8)
    zeroed = dep.zero_group(copy.deepcopy(net), group, indices)
    small = dep.remove_group(net, group, indices)
    assert torch.allclose(small(x), zeroed(x), atol=1e-5)
    assert not torch.allclose(net(x), zeroed(x))
    sizes = {name: m.weight.shape[0] for name, m in small.named_modules()
             if name in group.producers}
    assert set(sizes.values()) == {group.size - len(indices)}


def test_slice_group_keeps_the_given_channels_in_every_layer(net):
    stream = dep.dependency_groups(net)[0]
    small, keep = copy.deepcopy(net), torch.tensor([1, 4, 6])
    dep.slice_group(dict(small.named_modules()), stream, keep)
    assert torch.equal(small.stem.weight, net.stem.weight[keep])
    assert torch.equal(small.stem_bn.running_var, net.stem_bn.running_var[keep])
    assert "running_var" in dict(small.stem_bn.named_buffers())
    assert torch.equal(small.blocks[1].conv1.weight, net.blocks[1].conv1.weight[:, keep])
    assert (small.head.in_features, small.stem.out_channels) == (3, 3)
    same = dep.remove_group(net, stream, [0, 2, 3, 5, 7])
    x = torch.randn(3, 1, 8, 8)
    assert torch.equal(small(x), same(x))


def test_removal_leaves_the_model_unchanged(net):
    before = copy.deepcopy(net.state_dict())
    group = dep.dependency_groups(net)[0]
    dep.remove_group(net, group, [0])
    dep.prune_groups(net, 0.5)
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k])


def test_prune_groups_removes_the_lowest_scores(net):
    groups = dep.dependency_groups(net)
    scores = {g: torch.arange(g.size, dtype=torch.float32).flip(0) for g in groups}
    small = dep.prune_groups(net, 0.5, scores=scores)
    # The highest indices score lowest: the first half of the channels survives.
    assert torch.equal(small.stem.weight, net.stem.weight[:4])
    assert torch.equal(small.blocks[0].conv1.weight, net.blocks[0].conv1.weight[:3, :4])
    assert small.head.in_features == 4


def test_group_importance_is_the_norm_over_all_producers(net):
    group = dep.dependency_groups(net)[0]
    expected = sum(net.get_submodule(p).weight.detach().flatten(1).pow(2).sum(1)
                   for p in group.producers).sqrt()
    assert torch.allclose(dep.group_importance(net, group), expected)


def test_same_scores_same_model_as_torch_pruning(net):
    groups = dep.dependency_groups(net)
    gen = torch.Generator().manual_seed(1)
    scores = {g: torch.rand(g.size, generator=gen) for g in groups}
    ours = dep.prune_groups(net, 0.5, scores=scores)
    theirs = copy.deepcopy(net)
    x = torch.randn(6, 1, 8, 8)
    pruner = tp.pruner.MetaPruner(theirs, x, importance=dep.torch_pruning_importance(
        theirs, {g: scores[g] for g in groups}), pruning_ratio=0.5,
        ignored_layers=[theirs.head])
    pruner.step()
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
        [(n, p.shape) for n, p in theirs.named_parameters()]
    assert torch.allclose(ours(x), theirs(x), atol=1e-6)


def test_bad_inputs(net):
    group = dep.dependency_groups(net)[0]
    with pytest.raises(TypeError, match="DependencyGroup"):
        dep.remove_group(net, ("stem",), [0])
    with pytest.raises(ValueError, match="out of range"):
        dep.remove_group(net, group, [8])
    with pytest.raises(ValueError, match="all 8 channels"):
        dep.zero_group(net, group, list(range(8)))
    with pytest.raises(TypeError, match="integers"):
        dep.remove_group(net, group, [0.5])
    with pytest.raises(ValueError, match="duplicates"):
        dep.remove_group(net, group, [1, 1])
    with pytest.raises(ValueError, match="dependency_groups"):
        small = dep.remove_group(net, group, [0])
        dep.remove_group(small, group, [0])
    with pytest.raises(ValueError, match="amount"):
        dep.prune_groups(net, 1.0)
    with pytest.raises(ValueError, match="shape"):
        dep.prune_groups(net, 0.5, scores={g: torch.ones(2) for g in dep.dependency_groups(net)})
    with pytest.raises(TypeError, match="torch.nn.Module"):
        dep.dependency_groups("resnet")


# ---------------------------------------------- the reported inputs (issue 24, items 2, 5-7)

def test_per_position_linear_then_flatten():
    """Item 2: a Linear applied per position, then flattened: unit u is every 5th column.

    No Torch-Pruning oracle: 1.6.1 takes the columns for blocks (as after a Conv), and the
    model it returns fails in the forward pass.
    """
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Flatten(), nn.Linear(15, 2)).eval()
    x = torch.randn(6, 3, 4)
    (group,) = dep.dependency_groups(model)
    small = dep.remove_group(model, group, [1, 3])  # was 0.70 away from zeroing
    assert nets.gap(small, dep.zero_group(copy.deepcopy(model), group, [1, 3]), x) < 1e-6
    assert torch.equal(small[3].weight, model[3].weight.reshape(2, 3, 5)[:, :, [0, 2, 4]]
                       .reshape(2, 9))
    scores = {group: dep.group_importance(model, group)}
    pruned = dep.prune_groups(model, 0.4)  # was 0.74 away
    assert pruned[3].in_features == 9
    assert nets.gap(pruned, nets.zeroed(model, scores, 0.4), x) < 1e-6
    # one removal engine: helpers.structured gives the same smaller model
    same = structured.remove_neurons(model, "0", [1, 3])
    assert all(torch.equal(a, b) for a, b in zip(small.parameters(), same.parameters()))


class Reused(nn.Module):
    """Item 6: ``stem → shared → shared → head``, one layer applied twice."""

    def __init__(self):
        super().__init__()
        self.stem, self.shared, self.head = nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(8, 2)

    def forward(self, x):
        return self.head(torch.relu(self.shared(torch.relu(self.shared(
            torch.relu(self.stem(x)))))))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_layer_applied_twice_is_one_group_as_in_torch_pruning(seed):
    torch.manual_seed(seed)
    model, x = Reused().eval(), torch.randn(5, 4)
    (group,) = dep.dependency_groups(model)  # was two groups
    assert (group.producers, group.consumers) == (("stem", "shared"), ("shared", "head"))
    small = dep.prune_groups(model, 0.34)  # was Linear(in_features=0) and a failing forward
    assert small.shared.weight.shape == (5, 5)
    scores = nets.random_scores([group], seed)
    ours = dep.prune_groups(model, 0.34, scores=scores)
    assert nets.gap(ours, nets.zeroed(model, scores, 0.34), x) < 1e-6
    theirs = nets.torch_pruned(model, x, scores, 0.34, ignored=("head",))
    assert nets.shapes(ours) == nets.shapes(theirs)
    assert nets.gap(ours, theirs, x) < 1e-6


class TiedConv(nn.Module):
    """Item 5: two convolutions that share one weight tensor (biases of their own).

    No Torch-Pruning oracle: 1.6.1 prunes the two layers as separate groups and unties them.
    """

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 6, 3, padding=1)
        self.a, self.b = nn.Conv2d(6, 6, 3, padding=1), nn.Conv2d(6, 6, 3, padding=1)
        self.head = nn.Conv2d(6, 2, 1)
        self.b.weight = self.a.weight

    def forward(self, x):
        return self.head(torch.relu(self.b(torch.relu(self.a(torch.relu(self.stem(x)))))))


@pytest.mark.parametrize("seed", [0, 1])
def test_tied_convolutions_are_one_group_and_stay_tied(seed):
    torch.manual_seed(seed)
    model, x = TiedConv().eval(), torch.randn(2, 1, 6, 6)
    (group,) = dep.dependency_groups(model)  # was three groups, pruned differently
    assert (group.producers, group.consumers) == (("stem", "a", "b"), ("a", "b", "head"))
    scores = nets.random_scores([group], seed)
    small = dep.prune_groups(model, 0.5, scores=scores)
    assert nets.gap(small, nets.zeroed(model, scores, 0.5), x) < 1e-6  # was 0.058 off
    assert small.a.weight is small.b.weight
    # stem 3·3·3 + 3, a (= b) 3·3·9 + 3, b's bias 3, head 2·3 + 2
    assert metrics.count_parameters(small) == 30 + 84 + 3 + 8
    assert torch.allclose(dep.group_importance(model, group), torch.sqrt(
        model.stem.weight.detach().flatten(1).pow(2).sum(1)
        + model.a.weight.detach().flatten(1).pow(2).sum(1)))  # the shared weight once


def test_tied_linear_layers_of_the_reported_input():
    """Item 5's model: a, b, c = Linear(8, 8) twice, Linear(8, 4); b.weight = a.weight."""
    torch.manual_seed(0)
    a, b, c = nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 4)
    b.weight = a.weight
    model = nn.Sequential(a, nn.ReLU(), b, nn.ReLU(), c)
    # a's input columns are b's (one tensor), and a reads the model's input: nothing to prune
    assert dep.dependency_groups(model) == []
    same = dep.prune_groups(model, 0.5)
    assert same[0].weight is same[2].weight
    assert metrics.count_parameters(same) == metrics.count_parameters(model) == 64 + 8 + 8 + 36
    stem = nn.Linear(3, 8)
    longer = nn.Sequential(stem, nn.ReLU(), *model)
    (group,) = dep.dependency_groups(longer)
    assert group.producers == ("0", "2", "4") and group.consumers == ("2", "4", "6")
    small = dep.prune_groups(longer, 0.25)
    assert small[2].weight is small[4].weight and small[2].weight.shape == (6, 6)


@pytest.mark.parametrize("norm", [nn.BatchNorm1d(6, affine=False),
                                  nn.BatchNorm2d(6, affine=False)])
def test_batchnorm_without_affine_parameters_is_rejected_as_in_structured(norm):
    """Item 7: a silenced channel is -mean/std after such a BatchNorm, not zero."""
    conv = isinstance(norm, nn.BatchNorm2d)
    layers = [nn.Conv2d(1, 6, 3) if conv else nn.Linear(3, 6), norm, nn.ReLU(),
              nn.Conv2d(6, 2, 1) if conv else nn.Linear(6, 2)]
    model = nn.Sequential(*layers).eval()
    with pytest.raises(ValueError, match="no affine parameters") as ours:
        dep.dependency_groups(model)
    with pytest.raises(ValueError, match="no affine parameters") as theirs:
        structured.zero_units(model, "0", [0])
    assert str(ours.value) == str(theirs.value)  # one rule, one message
    group = dep.DependencyGroup(("0",), ("1",), ("3",), 6)  # built by hand
    for call in (dep.zero_group, dep.remove_group):
        with pytest.raises(ValueError, match="no affine parameters"):
            call(model, group, [0])


def test_unsupported_operations_are_named():
    class Transposed(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(1, 2, 1), nn.Linear(2, 3)

        def forward(self, x):
            return self.b(self.a(x).flatten(2).transpose(1, 2))

    with pytest.raises(TypeError, match=r"unsupported: the tensor method .transpose\(\) on "
                                        r"the channels of layer 'a'"):
        dep.dependency_groups(Transposed())


# ------------------------------------- prune_groups: one copy, Torch-Pruning's rounding

@pytest.fixture(scope="module")
def resnet18():
    torch.manual_seed(0)
    return nets.randomise_batchnorm(nets.resnet18(num_classes=10),
                                    torch.Generator().manual_seed(0)).eval()


def test_resnet18_at_amount_0_3_is_torch_pruning_s_model(resnet18):
    """The reported input: 45 of 64 channels were kept where Torch-Pruning keeps 44."""
    x = torch.randn(2, 3, 32, 32)
    groups = dep.dependency_groups(resnet18)
    scores = {g: dep.group_importance(resnet18, g) for g in groups}
    ours = dep.prune_groups(resnet18, 0.3)
    theirs = nets.torch_pruned(resnet18, x, scores, 0.3, ignored=("fc",))
    assert ours.layer1[0].conv1.out_channels == 44
    assert nets.shapes(ours) == nets.shapes(theirs)
    assert nets.gap(ours, theirs, x) < 1e-5


@pytest.mark.parametrize("size", [1, 3, 5, 7, 10, 64])
@pytest.mark.parametrize("amount", [0.1, 0.3, 0.5, 0.7])
def test_channels_removed_per_group_as_torch_pruning_counts_them(size, amount):
    torch.manual_seed(size)
    model = nn.Sequential(nn.Linear(4, size), nn.ReLU(), nn.Linear(size, 2))
    theirs = nets.torch_pruned(model, torch.randn(1, 4), {
        g: dep.group_importance(model, g) for g in dep.dependency_groups(model)}, amount,
        ignored=("2",))
    # a group the amount would empty (of one channel) is left whole by both
    assert dep.prune_groups(model, amount)[0].out_features == theirs[0].out_features


def test_prune_groups_copies_the_model_once(resnet18, monkeypatch):
    copies = []
    monkeypatch.setattr(dep, "copy", types.SimpleNamespace(
        deepcopy=lambda m: copies.append(m) or copy.deepcopy(m)))
    dep.prune_groups(resnet18, 0.5)
    assert copies == [resnet18]  # was one copy per group (20 for a ResNet-18)


# ------------------------------------------------------- clear errors (issue 24)

class _Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(4, 8)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        h = self.embed(x)
        return self.head(self.attn(h, h, h)[0])


class _ViTLike(nn.Module):
    """Patch embedding, class token, positional embedding, LayerNorm, attention."""

    def __init__(self, d: int = 8):
        super().__init__()
        self.patch = nn.Conv2d(1, d, 4, stride=4)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(torch.zeros(1, 5, d))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, 3)

    def forward(self, x):
        x = self.patch(x)
        batch, channels, h, w = x.shape
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(batch, -1, -1), x], dim=1) + self.pos
        return self.head(self.norm(x)[:, 0])


class _PlusOne(nn.Module):
    def __init__(self, norm: bool):
        super().__init__()
        self.a, self.b = nn.Linear(4, 6), nn.Linear(6, 2)
        self.bn = nn.BatchNorm1d(6) if norm else nn.Identity()

    def forward(self, x):
        return self.b(self.bn(self.a(x) + 1.0))


@pytest.mark.parametrize("model, error, match", [
    # was "ValueError: too many values to unpack"
    (_Attention(), TypeError, "layer 'attn' is an nn.MultiheadAttention"),
    # was "ValueError: not enough values to unpack"
    (_PlusOne(norm=False), TypeError, "layer 'b' reads the channels of 'a' after adding "
                                      "the constant 1.0"),
    # was "unsupported operation call_function <built-in function getattr>"
    (_ViTLike(), TypeError, r"the tensor method .transpose\(\) on the channels of layer "
                            r"'patch'"),
    (nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.Linear(6, 2)), TypeError,
     "layer '1' \\(LayerNorm\\) normalises several channels together"),
    (nn.Sequential(nn.Linear(4, 6), nn.Sigmoid(), nn.Linear(6, 2)), TypeError,
     "after Sigmoid '1'"),
    (nn.Sequential(nn.Conv2d(1, 4, 3), nn.Linear(4, 2)), TypeError,
     "reads the last axis, but the channels of '0' are axis 1"),
    (nn.Sequential(nn.Linear(4, 6), nn.Linear(5, 2)), ValueError,
     "layer '1' reads 5 channels but receives the 6 channels of '0'"),
])
def test_unsupported_models_are_named(model, error, match):
    with pytest.raises(error, match=match):
        dep.dependency_groups(model)


def test_a_constant_added_before_a_batchnorm_is_removed_exactly():
    torch.manual_seed(0)
    model, x = _PlusOne(norm=True).eval(), torch.randn(5, 4)
    nets.randomise_batchnorm(model, torch.Generator().manual_seed(0))
    (group,) = dep.dependency_groups(model)
    assert group == dep.DependencyGroup(("a",), ("bn",), ("b",), 6)
    small = dep.remove_group(model, group, [0, 4])
    assert nets.gap(small, dep.zero_group(copy.deepcopy(model), group, [0, 4]), x) < 1e-6


def test_slice_group_checks_its_arguments(net):
    stream = dep.dependency_groups(net)[0]
    layers, keep = dict(copy.deepcopy(net).named_modules()), torch.tensor([0, 3])
    for bad, error, match in [
            ((list(layers), stream, keep), TypeError, "layers must map"),
            ((layers, stream.producers, keep), TypeError, "DependencyGroup"),
            ((layers, stream, [0, 3]), TypeError, "torch.long"),
            ((layers, stream, keep.float()), TypeError, "torch.long"),
            ((layers, stream, torch.tensor([3, 0])), ValueError, "sorted, distinct"),
            ((layers, stream, torch.tensor([0, 8])), ValueError, r"0\.\.7"),
            ((layers, stream, torch.tensor([], dtype=torch.long)), ValueError, "empty"),
            (({"stem": net.stem}, stream, keep), ValueError, "no layer 'blocks.0.conv2'")]:
        with pytest.raises(error, match=match):
            dep.slice_group(*bad)
    assert layers["stem"].weight.shape[0] == 8  # nothing sliced by a rejected call
    dep.slice_group.unchecked(layers, stream, keep)  # the bare kernel, for validated callers
    assert layers["stem"].weight.shape[0] == 2
