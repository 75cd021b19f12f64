"""Containers: ``Sequential`` (a chain of modules) and ``ModuleList`` (a registered list).

Examples:
    >>> from autodiff import nn
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> len(net), net[0]
    (3, Linear(in_features=4, out_features=8, bias=True))
    >>> net[1:]                            # a slice keeps the names, like PyTorch's
    Sequential(
      (1): ReLU()
      (2): Linear(in_features=8, out_features=2, bias=True)
    )
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any, overload

from autodiff.nn.module import Module

__all__ = ["ModuleList", "Sequential"]


class _Indexed(Module):
    """Shared list-like behaviour over ``_modules`` (keys are the positions as strings)."""

    def _index(self, idx: Any) -> int:
        idx = operator.index(idx)
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for {type(self).__name__} of {n}")
        return idx % n

    def _key(self, idx: int) -> str:
        return list(self._modules)[self._index(idx)]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(m for m in self._modules.values() if m is not None)

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, self._key(idx), module)

    def __delitem__(self, idx: int | slice) -> None:
        keys = list(self._modules)
        doomed = keys[idx] if isinstance(idx, slice) else [self._key(idx)]
        for key in doomed:
            del self._modules[key]
        # renumber so that the names stay 0, 1, 2, ... like PyTorch's
        kept = list(self._modules.values())
        self._modules.clear()
        for i, m in enumerate(kept):
            self._modules[str(i)] = m

    def append(self, module: Module) -> _Indexed:
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> _Indexed:
        """Add each of ``modules`` at the end; returns self."""
        for m in modules:
            self.append(m)
        return self

    def __dir__(self) -> list[str]:
        return [k for k in super().__dir__() if not k.isdigit()]


class Sequential(_Indexed):
    """Modules applied one after the other; indexable, sliceable, iterable.

    Built from modules (named ``0``, ``1``, ...) or from an ``OrderedDict`` of named modules.

    Examples:
        >>> from collections import OrderedDict
        >>> import autodiff as ad
        >>> from autodiff import nn
        >>> net = nn.Sequential(OrderedDict(fc=nn.Linear(2, 2), act=nn.Tanh()))
        >>> [name for name, _ in net.named_children()]
        ['fc', 'act']
        >>> net(ad.zeros(1, 2)).shape
        (1, 2)
    """

    def __init__(self, *args: Any) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for key, module in args[0].items():
                self.add_module(key, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    @overload
    def __getitem__(self, idx: int) -> Module: ...

    @overload
    def __getitem__(self, idx: slice) -> Sequential: ...

    def __getitem__(self, idx: int | slice) -> Module | Sequential:
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return self._modules[self._key(idx)]  # type: ignore[return-value]

    def forward(self, input: Any) -> Any:
        for module in self:
            input = module(input)
        return input


class ModuleList(_Indexed):
    """A list of modules whose parameters are registered (a plain list would hide them).

    Examples:
        >>> from autodiff import nn
        >>> blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
        >>> len(list(blocks.parameters()))
        6
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[self._key(idx)]
