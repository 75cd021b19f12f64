"""Layers without spatial structure: ``Linear``, activations, ``Flatten``, ``Dropout``, losses.

Examples:
    >>> import autodiff as ad
    >>> from autodiff import nn
    >>> _ = ad.manual_seed(0)
    >>> layer = nn.Linear(3, 2)
    >>> layer
    Linear(in_features=3, out_features=2, bias=True)
    >>> layer(ad.ones(5, 3)).shape
    (5, 2)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autodiff.nn import functional as F
from autodiff.nn import init
from autodiff.nn.module import Module, Parameter
from autodiff.tensor import Tensor, get_default_dtype

__all__ = [
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "Identity",
    "Linear",
    "MSELoss",
    "ReLU",
    "Sigmoid",
    "Tanh",
]


def _empty(shape: tuple[int, ...], dtype: Any) -> Parameter:
    """An uninitialised parameter (filled by the layer's ``reset_parameters``)."""
    dt = get_default_dtype() if dtype is None else np.dtype(dtype)
    if not np.issubdtype(dt, np.floating):
        raise TypeError(f"parameters must have a floating point dtype, got {dt}")
    return Parameter(np.zeros(shape, dtype=dt))


class Identity(Module):
    """Returns its input unchanged (a placeholder: ``model.fc = nn.Identity()`` drops a head).

    Examples:
        >>> import autodiff as ad
        >>> from autodiff import nn
        >>> nn.Identity()(ad.tensor([1.0, 2.0]))
        tensor([1., 2.])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """``y = x Wᵀ + b`` with ``W`` of shape ``(out_features, in_features)``, like ``nn.Linear``.

    Initialised like PyTorch: ``W`` from ``kaiming_uniform_(a=√5)``, i.e. U(−1/√in, 1/√in),
    and ``b`` from U(−1/√in, 1/√in). ``dtype`` defaults to the default dtype (float64 unless
    :func:`~autodiff.tensor.set_default_dtype` changed it).

    Examples:
        >>> import autodiff as ad
        >>> from autodiff import nn
        >>> fc = nn.Linear(512, 10)
        >>> tuple(fc.weight.shape), tuple(fc.bias.shape)
        ((10, 512), (10,))
        >>> fc(ad.zeros(2, 512)).shape
        (2, 10)
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, dtype: Any = None
    ) -> None:
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = _empty((self.out_features, self.in_features), dtype)
        if bias:
            self.bias = _empty((self.out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw fresh weights (PyTorch's default init)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class ReLU(Module):
    """``max(x, 0)`` elementwise.

    ``inplace=True`` is accepted for compatibility with PyTorch code (torchvision's ResNet uses
    it) but the result is computed out of place: same values, same gradients.

    Examples:
        >>> import autodiff as ad
        >>> from autodiff import nn
        >>> nn.ReLU()(ad.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Tanh(Module):
    """``tanh(x)`` elementwise.

    Examples:
        >>> import autodiff as ad
        >>> from autodiff import nn
        >>> nn.Tanh()(ad.tensor([0.0]))
        tensor([0.])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)  # works on tensors and on traced arrays alike


class Sigmoid(Module):
    """``1 / (1 + exp(−x))`` elementwise.

    Examples:
        >>> import autodiff as ad
        >>> from autodiff import nn
        >>> nn.Sigmoid()(ad.tensor([0.0]))
        tensor([0.5000])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Flatten(Module):
    """Flatten dimensions ``start_dim..end_dim`` into one (by default all but the batch axis).

    Examples:
        >>> import autodiff as ad
        >>> from autodiff import nn
        >>> nn.Flatten()(ad.zeros(2, 512, 1, 1)).shape
        (2, 512)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """During training, zero each element with probability ``p`` and scale the rest by
    ``1/(1−p)``; in eval mode, the identity.

    Examples:
        >>> import autodiff as ad
        >>> from autodiff import nn
        >>> drop = nn.Dropout(0.5).eval()
        >>> drop(ad.ones(3))
        tensor([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class MSELoss(Module):
    """Mean squared error, ``mean((input − target)²)`` (``reduction="sum"`` or ``"none"`` too).

    Examples:
        >>> import autodiff as ad
        >>> from autodiff import nn
        >>> nn.MSELoss()(ad.tensor([1.0, 2.0]), ad.tensor([0.0, 0.0]))
        tensor(2.5000)
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class CrossEntropyLoss(Module):
    """Cross entropy between logits ``(N, C)`` and integer class labels ``(N,)``.

    Examples:
        >>> import autodiff as ad
        >>> from autodiff import nn
        >>> loss = nn.CrossEntropyLoss()(ad.zeros(2, 4), ad.tensor([0, 3]))
        >>> round(loss.item(), 4)                     # log(4)
        1.3863
    """

    def __init__(self, reduction: str = "mean", **kwargs: Any) -> None:
        super().__init__()
        self.reduction = reduction
        self.kwargs = kwargs

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(input, target, reduction=self.reduction, **self.kwargs)
