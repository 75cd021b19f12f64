"""Basis seeds that know they are diagonal, so a Jacobian sweep can skip multiplying by them.

A vectorized Jacobian pushes the rows of an identity matrix through one sweep. The first
matrix product the seed meets, ``I @ W``, is an ``n³`` GEMM whose answer is just ``W``, and
it costs as much as the rest of the sweep together (for ``tanh(W @ x) + x**2`` at n = 200, about
50 evaluations of ``f`` out of 75). In reverse mode the seed is first scaled by elementwise
partials (``diag(1 - tanh²) @ W``) before it meets the product, so it stays *diagonal*, not
the identity.

:class:`DiagonalBasis` is an ordinary read-only ``ndarray`` holding exactly those dense values,
plus a certificate: "I am rows ``start:stop`` of ``diag(scale.ravel())``, reshaped to
``(k,) + scale.shape``". Every NumPy operation sees the dense values and returns a plain array,
so nothing can come out differently; three operations also keep or use the certificate:

* ``diagonal * v`` and ``v * diagonal``, for ``v`` a finite scalar or array broadcasting to the
  primal shape (an elementwise partial): still diagonal, with ``scale * v``;
* ``-diagonal`` and the sum of two diagonals over the same rows: still diagonal;
* ``diagonal @ M`` with a 1-D primal and a finite matrix ``M``: row ``b`` is
  ``scale[start + b] · M[start + b]``, one elementwise product instead of a GEMM.

The finiteness checks are what keep this exact: ``0 · inf`` is NaN in the dense product but
would be 0 through the shortcut, so a non-finite operand takes the dense path.

Examples:
    >>> import numpy as np
    >>> from autodiff.basis import DiagonalBasis
    >>> e = DiagonalBasis.identity((3,), 0, 3, np.float64)
    >>> d = e * np.array([1.0, 2.0, 3.0])            # still diagonal
    >>> d.scale
    array([1., 2., 3.])
    >>> W = np.arange(6.0).reshape(3, 2)
    >>> np.array_equal(d @ W, np.asarray(d) @ W)     # no GEMM, same numbers
    True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class DiagonalBasis(np.ndarray):
    """Rows ``start:stop`` of ``diag(scale.ravel())`` as a read-only dense array that knows it.

    Build one with :meth:`identity`. Views and results of other operations are plain arrays
    (or carry no certificate), so the certificate only ever describes values it was made with.
    """

    scale: np.ndarray | None
    start: int

    @classmethod
    def identity(cls, shape: tuple[int, ...], start: int, stop: int, dtype: Any) -> DiagonalBasis:
        """Rows ``start:stop`` of the identity on arrays of ``shape``: shape ``(k,) + shape``."""
        return cls._make(np.ones(shape, dtype=dtype), start, stop)

    @classmethod
    def _make(cls, scale: np.ndarray, start: int, stop: int) -> DiagonalBasis:
        k, n = stop - start, scale.size
        flat = np.zeros(k * n, dtype=scale.dtype)
        flat[start :: n + 1][:k] = scale.reshape(-1)[start:stop]  # entry (b, start + b)
        out = flat.reshape((k, *scale.shape)).view(cls)
        out.scale = scale
        out.start = start
        out.flags.writeable = False  # the certificate must keep describing the values
        return out

    def __array_finalize__(self, obj: Any) -> None:
        # views, copies and reductions: same values or not, no certificate
        self.scale = None
        self.start = 0

    def __reduce__(self) -> Any:
        return np.asarray(self).__reduce__()

    def _same_rows(self, other: DiagonalBasis) -> bool:
        return (
            other.scale is not None
            and other.start == self.start
            and other.shape == self.shape
            and other.scale.shape == self.scale.shape
        )

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        plain = _plain(inputs)
        if "out" in kwargs:
            kwargs["out"] = _plain(kwargs["out"])  # still read-only: NumPy refuses to write
        if method != "__call__" or kwargs:
            return getattr(ufunc, method)(*plain, **kwargs)
        if ufunc is np.matmul:
            rows = _scaled_rows(*inputs)
            return np.matmul(*plain) if rows is None else rows
        scale = _kept_scale(ufunc, inputs)
        if scale is None:
            return ufunc(*plain)
        # Built from the scale rather than by the dense product: the same values (only the
        # sign of a zero off the diagonal may differ) for a fraction of the work.
        diag = next(x for x in inputs if isinstance(x, DiagonalBasis))
        return DiagonalBasis._make(scale, diag.start, diag.start + diag.shape[0])

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return func(*_plain(args), **_plain(kwargs))

    def __repr__(self) -> str:
        if self.scale is None:
            return repr(self.view(np.ndarray))
        stop = self.start + self.shape[0]
        return f"DiagonalBasis(rows {self.start}:{stop} of diag(scale), scale={self.scale!r})"


def _plain(x: Any) -> Any:
    if isinstance(x, DiagonalBasis):
        return x.view(np.ndarray)
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


def _finite_factor(v: Any, shape: tuple[int, ...]) -> bool:
    """Whether ``v`` is a finite real scalar or array that broadcasts to ``shape`` alone."""
    if type(v) is float or type(v) is int:
        return math.isfinite(v)
    if not isinstance(v, (np.ndarray, np.generic)) or isinstance(v, DiagonalBasis):
        return False
    if v.dtype.kind not in "fiu" or v.ndim > len(shape):
        return False
    if v.shape != shape[len(shape) - v.ndim :] and any(
        a != b and a != 1 for a, b in zip(v.shape[::-1], shape[::-1])
    ):
        return False
    return bool(np.isfinite(v).all())


def _kept_scale(ufunc: np.ufunc, inputs: tuple) -> np.ndarray | None:
    """The scale of the result when ``ufunc(*inputs)`` is still diagonal, else ``None``."""
    if ufunc is np.negative and len(inputs) == 1:
        return -inputs[0].scale if inputs[0].scale is not None else None
    if len(inputs) != 2:
        return None
    a, b = inputs
    if ufunc is np.add:
        both = isinstance(a, DiagonalBasis) and isinstance(b, DiagonalBasis)
        return a.scale + b.scale if both and a.scale is not None and a._same_rows(b) else None
    if ufunc is np.multiply:
        diag, other = (a, b) if isinstance(a, DiagonalBasis) else (b, a)
        if diag.scale is None:
            return None
        if not _finite_factor(other, diag.scale.shape):
            return None
        # the very operand the dense product used: a Python float stays weakly typed
        return diag.scale * other
    return None


def _scaled_rows(a: Any, b: Any) -> np.ndarray | None:
    """``a @ b`` for ``a`` diagonal over a vector and ``b`` a finite matrix: row ``i`` of ``a``
    picks row ``start + i`` of ``b``, scaled, so no GEMM is needed. ``None`` otherwise."""
    if not (isinstance(a, DiagonalBasis) and a.scale is not None and a.scale.ndim == 1):
        return None
    if type(b) is not np.ndarray or b.ndim != 2 or b.shape[0] != a.shape[1]:
        return None
    if not np.isfinite(b.sum()):  # 0 · inf is NaN in the dense product: keep its answer
        return None
    s, k = a.start, a.shape[0]
    return a.scale[s : s + k, None] * b[s : s + k]
