"""helpers.dependency: dependency groups of residual networks, their removal, Torch-Pruning."""

from __future__ import annotations

import copy

import pytest
import torch
import torch_pruning as tp
from torch import nn

from helpers import dependency as dep
from helpers import models


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


def test_unsupported_operations_are_named():
    class Concat(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(1, 2, 1), nn.Conv2d(4, 3, 1)

        def forward(self, x):
            y = self.a(x)
            return self.b(torch.cat([y, y], dim=1))

    with pytest.raises(TypeError, match="unsupported operation"):
        dep.dependency_groups(Concat())
    with pytest.raises(TypeError, match="grouped convolution"):
        dep.dependency_groups(nn.Sequential(nn.Conv2d(2, 4, 1), nn.Conv2d(4, 4, 1, groups=2),
                                            nn.Conv2d(4, 1, 1)))
