"""Neural-network building blocks in PyTorch's words: ``Module``, ``Parameter``, layers, losses.

``autodiff.nn`` mirrors ``torch.nn``: write ``from autodiff import nn`` where PyTorch code has
``from torch import nn``. The layers compute with :mod:`autodiff.nn.functional` on
:class:`~autodiff.tensor.Tensor` values, so gradients flow through the same reverse engine as
everything else.

Examples:
    >>> import autodiff as ad
    >>> from autodiff import nn
    >>> _ = ad.manual_seed(0)
    >>> model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    >>> loss = nn.MSELoss()(model(ad.ones(2, 3)), ad.zeros(2, 1))
    >>> loss.backward()
    >>> all(p.grad is not None for p in model.parameters())
    True
"""

from autodiff.nn import functional, init
from autodiff.nn.container import ModuleList, Sequential
from autodiff.nn.conv import AdaptiveAvgPool2d, Conv2d, MaxPool2d
from autodiff.nn.layers import (
    CrossEntropyLoss,
    Dropout,
    Flatten,
    Identity,
    Linear,
    MSELoss,
    ReLU,
    Sigmoid,
    Tanh,
)
from autodiff.nn.module import Module, Parameter
from autodiff.nn.norm import BatchNorm2d

__all__ = [
    "AdaptiveAvgPool2d",
    "BatchNorm2d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "Identity",
    "Linear",
    "MSELoss",
    "MaxPool2d",
    "Module",
    "ModuleList",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "functional",
    "init",
]
