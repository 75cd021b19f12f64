"""ResNet-18 with torchvision's exact architecture, parameter names and initialization.

The module tree is torchvision's ``resnet18``: ``conv1``, ``bn1``, ``relu``, ``maxpool``,
``layer1`` … ``layer4`` (two ``BasicBlock`` each, with ``downsample.0``/``downsample.1`` where the
shape changes), ``avgpool`` and ``fc``; 62 parameter tensors, 11,689,512 numbers for 1000
classes. A torchvision checkpoint converted to ``.npz`` (``scripts/convert_torchvision.py``)
loads with ``resnet18(weights="resnet18.npz")``.

Examples:
    >>> import autodiff as ad
    >>> model = ad.models.resnet18(num_classes=10)
    >>> len(list(model.parameters())), sum(p.numel() for p in model.parameters())
    (62, 11181642)
    >>> model(ad.rand(1, 3, 64, 64)).shape
    (1, 10)
"""

from __future__ import annotations

import os
from typing import Any

from autodiff import io, nn
from autodiff.nn import init
from autodiff.tensor import Tensor

__all__ = ["BasicBlock", "ResNet", "resnet18"]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, dtype: Any = None) -> nn.Conv2d:
    """3×3 convolution with padding 1 and no bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False,
                     dtype=dtype)  # fmt: skip


def conv1x1(in_planes: int, out_planes: int, stride: int = 1, dtype: Any = None) -> nn.Conv2d:
    """1×1 convolution with no bias (the projection of a downsampling shortcut)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False, dtype=dtype)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with batch norm and a shortcut: ``relu(bn2(conv2(relu(bn1(conv1
    x)))) + shortcut(x))``; the shortcut is ``downsample`` when the shape changes."""

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride, dtype)
        self.bn1 = nn.BatchNorm2d(planes, dtype=dtype)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes, dtype=dtype)
        self.bn2 = nn.BatchNorm2d(planes, dtype=dtype)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision's ``ResNet`` for basic blocks: a 7×7 stem, four stages, global pooling, ``fc``.

    Initialization is torchvision's: ``kaiming_normal_(mode="fan_out", nonlinearity="relu")``
    for every convolution, BatchNorm weight 1 and bias 0, ``fc`` like any ``nn.Linear``. (The
    convolutions' default uniform init, which torchvision draws and then overwrites, is not
    drawn: the same distributions, not the same draw order as torchvision.)
    """

    def __init__(
        self,
        block: type[BasicBlock],
        layers: list[int],
        num_classes: int = 1000,
        zero_init_residual: bool = False,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.inplanes = 64
        self._dtype = dtype
        # the convolutions' default init would be overwritten below: skip drawing it
        with init._skip_random_init():
            self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3,
                                   bias=False, dtype=dtype)  # fmt: skip
            self.bn1 = nn.BatchNorm2d(self.inplanes, dtype=dtype)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(block, 64, layers[0])
            self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
            self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
            self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes, dtype=dtype)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(
        self, block: type[BasicBlock], planes: int, blocks: int, stride: int = 1
    ) -> nn.Sequential:
        dtype = self._dtype
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride, dtype),
                nn.BatchNorm2d(planes * block.expansion, dtype=dtype),
            )
        layers = [block(self.inplanes, planes, stride, downsample, dtype=dtype)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, dtype=dtype))
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.avgpool(x)
        x = x.flatten(1)
        return self.fc(x)


def resnet18(
    num_classes: int = 1000,
    weights: str | os.PathLike | None = None,
    *,
    pretrained: bool = False,
    dtype: Any = None,
    **kwargs: Any,
) -> ResNet:
    """ResNet-18 (He et al., 2015) as ``torchvision.models.resnet18``, randomly initialised.

    Args:
        num_classes: size of the ``fc`` output.
        weights: path to an ``.npz`` state dict with torchvision's names (for example written
            by ``scripts/convert_torchvision.py`` from ``resnet18-f37072fd.pth``); loaded with
            ``allow_pickle=False``. Every key must be present with the right shape.
        pretrained: not supported (nothing is downloaded); pass ``weights=`` instead.
        dtype: of the parameters and buffers (float32 or float64; by default the default dtype,
            float64 unless :func:`~autodiff.tensor.set_default_dtype` changed it).

    Raises:
        FileNotFoundError: ``weights`` names no file.
        ValueError: the file is not an ``.npz`` state dict, or a key is missing, unexpected
            or has the wrong shape (the message names them all).

    Examples:
        >>> import autodiff as ad
        >>> model = ad.models.resnet18()
        >>> [name for name, _ in model.named_parameters()][:4]
        ['conv1.weight', 'bn1.weight', 'bn1.bias', 'layer1.0.conv1.weight']
        >>> tuple(model.layer2[0].downsample[0].weight.shape)
        (128, 64, 1, 1)
    """
    if pretrained:
        raise ValueError(
            "resnet18(pretrained=True) would download torchvision's weights, which autodiff "
            "never does: convert a checkpoint you have with scripts/convert_torchvision.py and "
            "pass weights='resnet18.npz'"
        )
    if weights is None:
        return ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes, dtype=dtype, **kwargs)
    path = os.fspath(weights)
    if not os.path.exists(path):
        raise FileNotFoundError(f"resnet18 weights file not found: {path}")
    state_dict = io.load(path)
    # every parameter and buffer is about to be overwritten: no random init to draw
    with init._skip_random_init():
        model = ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes, dtype=dtype, **kwargs)
    try:
        model.load_state_dict(state_dict)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"cannot load ResNet-18 weights from {path}: {exc}") from None
    return model
