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
                if m.track_running_stats:
                    m.running_mean.copy_(torch.randn(n, generator=gen))
                    m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
    return model


# --- dependency groups: the oracles of the tests ------------------------------------------

def n_removed(amount: float, size: int) -> int:
    """Channels Torch-Pruning removes from a group of ``size`` (none if that is all)."""
    removed = size - int(size * (1 - amount))
    return 0 if removed == size else removed


def random_scores(groups, seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    return {g: torch.rand(g.size, generator=gen) for g in groups}


def empties(group, drop: torch.Tensor) -> bool:
    """Whether removing ``drop`` leaves a layer of ``group`` without any index.

    Torch-Pruning's ``DependencyGraph.check_pruning_group``: it leaves such a group whole.
    """
    return any(bool(torch.isin(group.owner(name, axis), drop).all())
               for names, axis in ((group.producers, "out"), (group.norms, "norm"),
                                   (group.consumers, "in"))
               for name in names)


def zeroed(model: nn.Module, scores: dict, amount: float) -> nn.Module:
    """A copy with the lowest-scoring channels of every group set to zero."""
    from helpers import dependency

    model = copy.deepcopy(model)
    for group, s in scores.items():
        drop = torch.sort(s, stable=True).indices[:n_removed(amount, group.size)]
        if not empties(group, drop):
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


# --- blocks of today's CNNs (MobileNetV2, ResNeXt, DenseNet, ShuffleNetV2, EfficientNet) --

def conv_bn(cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1,
            act: type | None = nn.ReLU) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, *([act()] if act else []))


class InvertedResidual(nn.Module):
    """MobileNetV2: expand (1×1), depthwise 3×3, project (1×1); a shortcut if shapes allow."""

    def __init__(self, cin: int, cout: int, stride: int = 1, expand: int = 4):
        super().__init__()
        hidden = cin * expand
        self.expand = conv_bn(cin, hidden, act=nn.ReLU6)
        self.depthwise = conv_bn(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6)
        self.project = conv_bn(hidden, cout, act=None)
        self.shortcut = stride == 1 and cin == cout

    def forward(self, x):
        out = self.project(self.depthwise(self.expand(x)))
        return x + out if self.shortcut else out


class ResNeXtBlock(nn.Module):
    """ResNeXt: 1×1, grouped 3×3 (cardinality ``groups``), 1×1, and the shortcut."""

    def __init__(self, channels: int, width: int, groups: int):
        super().__init__()
        self.reduce = conv_bn(channels, width)
        self.grouped = conv_bn(width, width, 3, groups=groups)
        self.restore = conv_bn(width, channels, act=None)

    def forward(self, x):
        return torch.relu(x + self.restore(self.grouped(self.reduce(x))))


class DenseLayer(nn.Module):
    """DenseNet: BN-ReLU-Conv, its output concatenated to its input."""

    def __init__(self, cin: int, growth: int):
        super().__init__()
        self.norm, self.conv = nn.BatchNorm2d(cin), nn.Conv2d(cin, growth, 3, padding=1)

    def forward(self, x):
        return torch.cat([x, self.conv(torch.relu(self.norm(x)))], dim=1)


class ShuffleUnit(nn.Module):
    """ShuffleNetV2 without the shuffle: half the channels pass, half go through a branch."""

    def __init__(self, channels: int):
        super().__init__()
        half = channels // 2
        self.branch = nn.Sequential(conv_bn(half, half),
                                    conv_bn(half, half, 3, groups=half, act=None),
                                    conv_bn(half, half))

    def forward(self, x):
        kept, through = x.chunk(2, dim=1)
        return torch.cat([kept, self.branch(through)], dim=1)


class SqueezeExcitation(nn.Module):
    """EfficientNet's gate: pool, 1×1 down, SiLU, 1×1 up, sigmoid, times the input."""

    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce, self.act = nn.Conv2d(channels, squeeze, 1), nn.SiLU()
        self.expand, self.gate = nn.Conv2d(squeeze, channels, 1), nn.Sigmoid()

    def forward(self, x):
        return x * self.gate(self.expand(self.act(self.reduce(self.pool(x)))))


class CNN(nn.Module):
    """A stem, ``body`` and a read-out: the frame of the zoo's test networks."""

    def __init__(self, body: nn.Module, cin: int, cout: int, classes: int = 3):
        super().__init__()
        self.stem = conv_bn(3, cin, 3)
        self.body = body
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cout, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.body(self.stem(x))), 1))


def zoo() -> dict[str, nn.Module]:
    """Small networks built from each block kind, in evaluation mode, BatchNorm randomised."""
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    nets = {
        "mobilenet_v2": CNN(nn.Sequential(InvertedResidual(8, 8), InvertedResidual(8, 12, 2),
                                          conv_bn(12, 16)), 8, 16),
        "resnext": CNN(nn.Sequential(ResNeXtBlock(8, 8, 4), ResNeXtBlock(8, 12, 2)), 8, 8),
        "densenet": CNN(nn.Sequential(DenseLayer(6, 4), DenseLayer(10, 4), conv_bn(14, 8)),
                        6, 8),
        "shufflenet": CNN(nn.Sequential(ShuffleUnit(8), ShuffleUnit(8)), 8, 8),
        "efficientnet": CNN(nn.Sequential(conv_bn(8, 16), conv_bn(16, 16, 3, groups=16),
                                          SqueezeExcitation(16, 4), conv_bn(16, 8, act=None)),
                            8, 8),
    }
    return {name: randomise_batchnorm(net, gen).eval() for name, net in nets.items()}


# --- random small CNNs for the property test ------------------------------------------

#: Block kinds the property test draws.
BLOCKS = ("residual", "depthwise", "grouped", "concat", "se", "reused", "tied", "chunk")
#: BatchNorm after a convolution: none, affine, batch statistics only (no running ones).
NORMS = ("none", "affine", "batch_statistics")


def norm(channels: int, kind: str) -> nn.Module:
    if kind == "none":
        return nn.Identity()
    return nn.BatchNorm2d(channels, track_running_stats=kind == "affine")


class Block(nn.Module):
    """One block of ``kind`` on ``channels`` channels; ``out`` is its output width."""

    def __init__(self, kind: str, channels: int, width: int, norm_kind: str):
        super().__init__()
        self.kind, c, w = kind, channels, width
        self.out = c
        if kind == "residual":
            self.f = nn.Sequential(nn.Conv2d(c, w, 3, padding=1), norm(w, norm_kind),
                                   nn.ReLU(), nn.Conv2d(w, c, 3, padding=1),
                                   norm(c, norm_kind))
        elif kind == "depthwise":
            self.f = nn.Sequential(nn.Conv2d(c, w, 1), norm(w, norm_kind), nn.ReLU6(),
                                   nn.Conv2d(w, w, 3, padding=1, groups=w),
                                   norm(w, norm_kind),
                                   nn.ReLU6(), nn.Conv2d(w, c, 1))
        elif kind == "grouped":  # with one input channel per group: depthwise, ×2 filters
            self.f = nn.Sequential(nn.Conv2d(c, 2 * w, 3, padding=1, groups=2),
                                   norm(2 * w, norm_kind), nn.ReLU())
            self.out = 2 * w
        elif kind == "concat":
            self.f = nn.Sequential(nn.Conv2d(c, w, 3, padding=1), norm(w, norm_kind))
            self.out = c + w
        elif kind == "se":
            self.f = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, w, 1), nn.SiLU(),
                                   nn.Conv2d(w, c, 1), nn.Sigmoid())
        elif kind in ("reused", "tied"):
            self.a, self.b = nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1)
            if kind == "tied":
                self.b.weight = self.a.weight
        elif kind == "chunk":
            self.f = nn.Sequential(nn.Conv2d(c // 2, c // 2, 1), norm(c // 2, norm_kind),
                                   nn.ReLU())

    def forward(self, x):
        if self.kind == "residual":
            return torch.relu(x + self.f(x))
        if self.kind == "concat":
            return torch.cat([x, self.f(x)], dim=1)
        if self.kind == "se":
            return x * self.f(x)
        if self.kind == "reused":
            return torch.relu(self.a(torch.relu(self.a(x))))
        if self.kind == "tied":
            return torch.relu(self.b(torch.relu(self.a(x))))
        if self.kind == "chunk":  # ShuffleNetV2's split: half passes, half goes through f
            first, second = x.chunk(2, dim=1)
            return torch.cat([first, self.f(second)], dim=1)
        return self.f(x)


class RandomCNN(nn.Module):
    """Stem, the drawn blocks, pooling and a linear read-out."""

    def __init__(self, kinds, channels: int, width: int, norm_kind: str):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1),
                                  norm(channels, norm_kind), nn.ReLU())
        blocks = []  # widths stay even: a chunk halves them
        for kind in kinds:
            blocks.append(Block(kind, channels, width, norm_kind))
            channels = blocks[-1].out
        self.blocks = nn.ModuleList(blocks)
        # Torch-Pruning 1.6.1 unties a shared weight, prunes equal chunks unevenly, takes a
        # depthwise convolution with two filters per channel (a grouped block on 2
        # channels) for a grouped one, and its grouped-convolution rule assumes that a
        # grouped layer's channels fill their group (a concatenation breaks that)
        self.torch_pruning = not ({"tied", "chunk"} & set(kinds)) and not (
            {"grouped", "concat"} <= set(kinds)) and not any(
            b.f[0].in_channels == 2 for k, b in zip(kinds, blocks) if k == "grouped")
        self.fc = nn.Linear(channels, 3)

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))
