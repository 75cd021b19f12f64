"""Weight initialization, like ``torch.nn.init``: fill a tensor in place, without recording.

The random fills draw from :mod:`autodiff.rng`, the generator that ``ad.manual_seed`` seeds, in
the order PyTorch draws (the tensor's memory order, the same recipe per dtype), so a seeded model
is reproducible.

Examples:
    >>> import math
    >>> import autodiff as ad
    >>> from autodiff.nn import init
    >>> w = ad.zeros(256, 128)
    >>> _ = init.kaiming_uniform_(w, a=math.sqrt(5))    # nn.Linear's default
    >>> bound = 1 / math.sqrt(128)                       # gain·√3/√fan_in with a = √5
    >>> bool((w.abs() <= bound).all()), bool((w != 0).any())
    (True, True)
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np

from autodiff import rng
from autodiff.autograd import no_grad
from autodiff.tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

FanMode = Literal["fan_in", "fan_out"]

_skip = threading.local()


@contextmanager
def _skip_random_init() -> Iterator[None]:
    """Inside, random fills leave tensors as they are: for layers whose default init a model
    overwrites anyway (ResNet's convolutions), so those draws are not wasted."""
    prev = getattr(_skip, "on", False)
    _skip.on = True
    try:
        yield
    finally:
        _skip.on = prev


def _check(tensor: Any, fn: str) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(
            f"init.{fn} expects a Tensor (or nn.Parameter), got {type(tensor).__name__}"
        )
    return tensor


def _fill(tensor: Tensor, values: np.ndarray) -> Tensor:
    with no_grad():
        tensor.copy_(Tensor(values))
    return tensor


def _random_fill(tensor: Tensor, kind: str, a: float, b: float, generator: Any) -> Tensor:
    if getattr(_skip, "on", False):
        return tensor
    # Draw PyTorch's default (float32) stream whatever the tensor's dtype: the same seed gives
    # the numbers torch's initializers give, and the float32 path is several times faster.
    values = np.empty(tuple(tensor.shape), dtype=np.float32)
    fill = rng.uniform_ if kind == "uniform" else rng.normal_
    fill(values, a, b, generator=generator)
    return _fill(tensor, values.astype(tensor.dtype, copy=False))


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity, as in PyTorch.

    Examples:
        >>> from autodiff.nn import init
        >>> init.calculate_gain("relu"), init.calculate_gain("tanh")
        (1.4142135623730951, 1.6666666666666667)
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d")  # fmt: skip
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
            f"(shape {shape})"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with samples of U(a, b), in place; returns the tensor."""
    return _random_fill(_check(tensor, "uniform_"), "uniform", a, b, generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with samples of N(mean, std²), in place; returns the tensor."""
    return _random_fill(_check(tensor, "normal_"), "normal", mean, std, generator)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``, in place; returns the tensor."""
    _check(tensor, "constant_")
    return _fill(tensor, np.full(tuple(tensor.shape), val, dtype=tensor.dtype))


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros, in place; returns the tensor."""
    return constant_(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones, in place; returns the tensor.

    Examples:
        >>> import autodiff as ad
        >>> from autodiff.nn import init
        >>> init.ones_(ad.zeros(3))
        tensor([1., 1., 1.])
    """
    return constant_(tensor, 1)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: FanMode = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """He et al. (2015) uniform init: U(−bound, bound), bound = gain·√(3 / fan).

    ``a`` is the negative slope of the leaky ReLU after the layer (``√5`` gives
    ``nn.Linear``'s and ``nn.Conv2d``'s default init, bound = 1/√fan_in).
    """
    _check(tensor, "kaiming_uniform_")
    fan = _fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return _random_fill(tensor, "uniform", -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: FanMode = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """He et al. (2015) normal init: N(0, std²), std = gain/√fan.

    torchvision's ResNet uses ``mode="fan_out", nonlinearity="relu"`` for its convolutions.
    """
    _check(tensor, "kaiming_normal_")
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return _random_fill(tensor, "normal", 0.0, std, generator)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot & Bengio (2010) uniform init: U(−a, a), a = gain·√(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_uniform_"))
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _random_fill(tensor, "uniform", -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot & Bengio (2010) normal init: N(0, std²), std = gain·√(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_normal_"))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _random_fill(tensor, "normal", 0.0, std, generator)
