"""Optimizers in PyTorch's words: ``SGD``, ``Adam``, ``AdamW`` on the ``Optimizer`` base.

Examples:
    >>> import autodiff as ad
    >>> from autodiff import nn, optim
    >>> model = nn.Linear(3, 1)
    >>> opt = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    >>> loss = model(ad.ones(4, 3)).sum()
    >>> loss.backward()
    >>> opt.step()
    >>> opt.zero_grad()                     # grads back to None, like PyTorch
    >>> model.weight.grad is None
    True
"""

from autodiff.optim.adam import Adam, AdamW
from autodiff.optim.optimizer import Optimizer
from autodiff.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]
