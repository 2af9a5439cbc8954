"""Small utilities shared by the structured-pruning and robustness tests."""

from __future__ import annotations

import copy

import torch
from torch import nn


def randomise_batchnorm(model: nn.Module, gen: torch.Generator) -> nn.Module:
    """Non-trivial BatchNorm statistics and affine parameters (as after training)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen))
                m.running_mean.copy_(torch.randn(n, generator=gen))
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
    return model


# --- dependency groups: the oracles of the tests ------------------------------------------

def n_removed(amount: float, size: int) -> int:
    """Channels Torch-Pruning removes from a group of ``size`` (its pruners' rule)."""
    return size - int(size * (1 - amount))


def random_scores(groups, seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    return {g: torch.rand(g.size, generator=gen) for g in groups}


def zeroed(model: nn.Module, scores: dict, amount: float) -> nn.Module:
    """A copy with the lowest-scoring channels of every group set to zero."""
    from helpers import dependency

    model = copy.deepcopy(model)
    for group, s in scores.items():
        drop = torch.sort(s, stable=True).indices[:n_removed(amount, group.size)]
        dependency.zero_group(model, group, drop)
    return model


def torch_pruned(model: nn.Module, x: torch.Tensor, scores: dict, amount: float,
                 ignored: tuple[str, ...]) -> nn.Module:
    """A copy pruned by Torch-Pruning's MetaPruner under the same scores."""
    import torch_pruning as tp

    from helpers import dependency

    model = copy.deepcopy(model)
    pruner = tp.pruner.MetaPruner(
        model, x, importance=dependency.torch_pruning_importance(model, scores),
        pruning_ratio=amount, ignored_layers=[model.get_submodule(n) for n in ignored])
    pruner.step()
    return model


def shapes(model: nn.Module) -> list:
    return [(name, tuple(p.shape)) for name, p in model.named_parameters()]


def gap(a: nn.Module, b: nn.Module, x: torch.Tensor) -> float:
    with torch.no_grad():
        return (a(x) - b(x)).abs().max().item()


# --- ResNets as torchvision builds them (its wheel does not import beside the CPU torch) ----

class BasicBlock(nn.Module):
    """Two 3×3 convolutions and a shortcut: torchvision's ``BasicBlock``."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        out += identity
        return self.relu(out)


class Bottleneck(nn.Module):
    """1×1, 3×3 (stride), 1×1 ×4 and a shortcut: torchvision's ``Bottleneck``."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    """torchvision's ``ResNet``: stem, four stages of blocks, pooling, ``fc``."""

    def __init__(self, block, layers, num_classes: int = 1000, width: int = 64):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._stage(block, width, layers[0])
        self.layer2 = self._stage(block, 2 * width, layers[1], 2)
        self.layer3 = self._stage(block, 4 * width, layers[2], 2)
        self.layer4 = self._stage(block, 8 * width, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8 * width * block.expansion, num_classes)

    def _stage(self, block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18(**kwargs) -> ResNet:
    return ResNet(BasicBlock, [2, 2, 2, 2], **kwargs)


def resnet50(**kwargs) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3], **kwargs)
