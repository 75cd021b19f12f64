"""The ``Tensor`` methods that test values, under PyTorch's names: comparisons (``eq``, ``gt``...
and the operators), ``isnan`` and its kin, the logical operations, ``isclose``/``allclose``/
``equal`` and ``count_nonzero``.

A test has no derivative, so every result is a tensor that does not require grad (or a Python
``bool`` where PyTorch gives one: ``allclose``, ``equal``), as in PyTorch.

Examples:
    >>> import autodiff as ad
    >>> t = ad.tensor([1.0, float("nan"), 3.0], requires_grad=True)
    >>> t.isnan()
    tensor([False,  True, False])
    >>> t.gt(1.5).requires_grad
    False
    >>> t.nan_to_num().allclose(ad.tensor([1.0, 0.0, 3.0]))
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Predicates:
    """Mixed into :class:`~autodiff.tensor.Tensor`: the methods that test its values."""

    __slots__ = ()

    def _test(self, ufunc: Any, *others: Any, **kwargs: Any) -> Any:
        values = ufunc(self._value, *(_plain(o) for o in others), **kwargs)
        return type(self)._wrap(np.asarray(values), None)

    # ---- comparisons: the operators and PyTorch's names for them ------------------------------

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return self._test(np.equal, other)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return self._test(np.not_equal, other)

    def __lt__(self, other: Any) -> Any:
        return self._test(np.less, other)

    def __le__(self, other: Any) -> Any:
        return self._test(np.less_equal, other)

    def __gt__(self, other: Any) -> Any:
        return self._test(np.greater, other)

    def __ge__(self, other: Any) -> Any:
        return self._test(np.greater_equal, other)

    def __invert__(self) -> Any:
        return type(self)._wrap(~self._value, None)

    def __and__(self, other: Any) -> Any:
        return self._test(np.logical_and, other)

    def __or__(self, other: Any) -> Any:
        return self._test(np.logical_or, other)

    eq = __eq__
    ne = not_equal = __ne__
    lt = less = __lt__
    le = less_equal = __le__
    gt = greater = __gt__
    ge = greater_equal = __ge__

    # ---- what kind of number ------------------------------------------------------------------

    def isnan(self) -> Any:
        """Where the values are NaN."""
        return self._test(np.isnan)

    def isfinite(self) -> Any:
        """Where the values are neither infinite nor NaN."""
        return self._test(np.isfinite)

    def isinf(self) -> Any:
        """Where the values are +inf or -inf."""
        return self._test(np.isinf)

    def isposinf(self) -> Any:
        """Where the values are +inf."""
        return self._test(np.isposinf)

    def isneginf(self) -> Any:
        """Where the values are -inf."""
        return self._test(np.isneginf)

    def signbit(self) -> Any:
        """Where the sign bit is set (``-0.0`` included)."""
        return self._test(np.signbit)

    def isreal(self) -> Any:
        """Where the imaginary part is zero (everywhere, for real tensors)."""
        return self._test(np.isreal)

    # ---- logic ---------------------------------------------------------------------------------

    def logical_not(self) -> Any:
        return self._test(np.logical_not)

    def logical_and(self, other: Any) -> Any:
        return self._test(np.logical_and, other)

    def logical_or(self, other: Any) -> Any:
        return self._test(np.logical_or, other)

    def logical_xor(self, other: Any) -> Any:
        return self._test(np.logical_xor, other)

    # ---- closeness and equality ----------------------------------------------------------------

    def isclose(
        self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
    ) -> Any:
        """Elementwise ``|self - other| <= atol + rtol·|other|`` (PyTorch's defaults)."""
        return self._test(np.isclose, other, rtol=rtol, atol=atol, equal_nan=equal_nan)

    def allclose(
        self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
    ) -> bool:
        """Whether :meth:`isclose` holds everywhere: a Python ``bool``."""
        return bool(np.allclose(self._value, _plain(other), rtol, atol, equal_nan))

    def equal(self, other: Any) -> bool:
        """Whether ``other`` has the same shape and the same values: a Python ``bool`` (PyTorch's
        ``equal``; the elementwise test is :meth:`eq`)."""
        return bool(np.array_equal(self._value, _plain(other)))

    def count_nonzero(self, dim: int | tuple[int, ...] | None = None) -> Any:
        """How many values are not zero, in all or along ``dim`` (an int64 tensor)."""
        return type(self)._wrap(np.asarray(np.count_nonzero(self._value, axis=dim)), None)


def _plain(x: Any) -> Any:
    """A tensor's values (every tensor is a :class:`Predicates`), or ``x`` itself."""
    return x._value if isinstance(x, Predicates) else x
