"""Spatial layers on ``(N, C, H, W)`` tensors: ``Conv2d``, ``MaxPool2d``, ``AdaptiveAvgPool2d``.

Examples:
    >>> import autodiff as ad
    >>> from autodiff import nn
    >>> conv = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
    >>> conv
    Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)
    >>> conv(ad.zeros(1, 3, 32, 32)).shape
    (1, 64, 16, 16)
"""

from __future__ import annotations

import math
from typing import Any

from autodiff.nn import functional as F
from autodiff.nn import init
from autodiff.nn.layers import _empty
from autodiff.nn.module import Module
from autodiff.tensor import Tensor

__all__ = ["AdaptiveAvgPool2d", "Conv2d", "MaxPool2d"]


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"expected an int or a pair of ints, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _check_4d(input: Any, layer: str) -> None:
    ndim = getattr(input, "ndim", None)
    if ndim != 4:
        raise ValueError(
            f"{layer} expects a 4D input (N, C, H, W), got {ndim}D input of shape "
            f"{tuple(getattr(input, 'shape', ()))}; add a batch axis with x.unsqueeze(0)"
        )


class Conv2d(Module):
    """2-D cross-correlation over ``(N, C_in, H, W)``, like ``nn.Conv2d`` (``groups=1``).

    The weight has shape ``(out_channels, in_channels, kH, kW)`` and is initialised like
    PyTorch's, ``kaiming_uniform_(a=√5)``; the bias from U(−1/√fan_in, 1/√fan_in).

    Examples:
        >>> import autodiff as ad
        >>> from autodiff import nn
        >>> nn.Conv2d(1, 1, 3, padding=1)(ad.ones(1, 1, 5, 5)).shape
        (1, 1, 5, 5)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if groups != 1:
            raise NotImplementedError("Conv2d supports groups=1 only")
        if _pair(dilation) != (1, 1):
            raise NotImplementedError("Conv2d supports dilation=1 only")
        if padding_mode != "zeros":
            raise NotImplementedError("Conv2d supports padding_mode='zeros' only")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")  # fmt: skip
            if padding == "same" and _pair(stride) != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding: tuple[int, int] | str = (
            padding if isinstance(padding, str) else _pair(padding)
        )
        self.dilation = (1, 1)
        self.groups = 1
        self.padding_mode = padding_mode
        self.weight = _empty((self.out_channels, self.in_channels, *self.kernel_size), dtype)
        if bias:
            self.bias = _empty((self.out_channels,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw fresh weights (PyTorch's default init)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        _check_4d(input, "Conv2d")
        if input.shape[1] != self.in_channels:
            raise ValueError(
                f"Conv2d expects {self.in_channels} input channels, got input of shape "
                f"{tuple(input.shape)} ({input.shape[1]} channels)"
            )
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.bias is None:
            s += ", bias=False"
        return s


class MaxPool2d(Module):
    """Maximum over ``kernel_size`` windows (stride defaults to the kernel size).

    Examples:
        >>> import autodiff as ad
        >>> from autodiff import nn
        >>> pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        >>> pool
        MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)
        >>> pool(ad.zeros(1, 64, 16, 16)).shape
        (1, 64, 8, 8)
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        if _pair(dilation) != (1, 1) or return_indices:
            raise NotImplementedError("MaxPool2d supports dilation=1, return_indices=False only")
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        _check_4d(input, "MaxPool2d")
        return F.max_pool2d(
            input, self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size`` whatever the input size.

    Examples:
        >>> import autodiff as ad
        >>> from autodiff import nn
        >>> nn.AdaptiveAvgPool2d((1, 1))(ad.ones(2, 512, 2, 2)).shape
        (2, 512, 1, 1)
    """

    def __init__(self, output_size: int | tuple[int, int]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        _check_4d(input, "AdaptiveAvgPool2d")
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
