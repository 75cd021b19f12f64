"""Matrix product ``x @ y`` (``np.matmul``): 1-D vectors, matrices and stacks of matrices.

The rules write every product with ``...`` for the leading axes, so stacked operands, broadcasting
and batched (co)tangents all go through the same lines; the engine then sums the cotangent back
to each operand's shape.
"""

from __future__ import annotations

import numpy as np

from autodiff import functions as anp
from autodiff.core import shape_of
from autodiff.ops import samples as S
from autodiff.registry import defop


def _nd(x):
    return len(shape_of(x))


def _mT(x):
    return anp.swapaxes(x, -1, -2)


def _lift(t, own_nd, other_nd):
    """Give a batched tangent of a stacked operand the other operand's stack rank.

    The batch axis sits in front of the stack axes; when the other operand has more stack axes,
    size-1 axes keep NumPy from aligning the batch axis with one of them. ``own_nd`` is the rank
    of the operand as a matrix (a vector made a row or a column counts as 2).
    """
    lead = _nd(t) - own_nd
    extra = other_nd - own_nd
    if lead <= 0 or extra <= 0:
        return t
    shape = shape_of(t)
    return anp.reshape(t, shape[:lead] + (1,) * extra + shape[lead:])


def _jvp_x(t, ans, x, y):
    # d(x @ y) from dx: dx @ y (a vector x is a row: keep it one)
    if _nd(x) == 1:
        row = _lift(anp.getitem(t, index=(Ellipsis, None, slice(None))), 2, _nd(y))
        return anp.getitem(
            anp.matmul(row, y), index=(Ellipsis, 0) + ((slice(None),) if _nd(y) > 1 else ())
        )
    return anp.matmul(_lift(t, _nd(x), _nd(y)), y)


def _jvp_y(t, ans, x, y):
    # d(x @ y) from dy: x @ dy (a vector y is a column: keep it one)
    if _nd(y) == 1 and _nd(x) == 2:
        return anp.matmul(t, _mT(x))  # x @ dy = dy @ xᵀ: one GEMM for a batch of dy
    if _nd(y) == 1:
        col = _lift(anp.getitem(t, index=(Ellipsis, None)), 2, _nd(x))
        return anp.getitem(anp.matmul(x, col), index=(Ellipsis, 0))
    return anp.matmul(x, _lift(t, _nd(y), _nd(x)))


def _vjp_x(g, ans, x, y):
    # x̄ = ḡ @ yᵀ (with vectors as rows/columns)
    if _nd(y) == 1:
        return anp.getitem(g, index=(Ellipsis, None)) * y
    if _nd(x) == 1:
        row = anp.getitem(g, index=(Ellipsis, None, slice(None)))
        return anp.getitem(anp.matmul(row, _mT(y)), index=(Ellipsis, 0, slice(None)))
    return anp.matmul(g, _mT(y))


def _vjp_y(g, ans, x, y):
    # ȳ = xᵀ @ ḡ (with vectors as rows/columns)
    if _nd(y) == 1 and _nd(x) == 2:
        return anp.matmul(g, x)  # xᵀ @ ḡ = ḡ @ x: one GEMM for a batch of ḡ
    if _nd(x) == 1:
        if _nd(y) == 1:
            return anp.getitem(g, index=(Ellipsis, None)) * x
        return anp.getitem(x, index=(slice(None), None)) * anp.getitem(
            g, index=(Ellipsis, None, slice(None))
        )
    if _nd(y) == 1:
        row = anp.getitem(g, index=(Ellipsis, None, slice(None)))
        return anp.getitem(anp.matmul(row, x), index=(Ellipsis, 0, slice(None)))
    return anp.matmul(_mT(x), g)


def _samples(rng):
    pairs = [
        ((3,), (3,)),
        ((2, 3), (3,)),
        ((3,), (3, 4)),
        ((2, 3), (3, 4)),
        ((5, 2, 3), (3, 4)),
        ((2, 1, 2, 3), (3, 3, 2)),
        ((0, 3), (3, 2)),
        ((4, 2, 3), (3,)),
    ]
    return [((S.real(rng, a), S.real(rng, b)), {}) for a, b in pairs]  # fmt: skip


defop(
    "matmul",
    np.matmul,
    nargs=2,
    batchable=True,
    jvp=(_jvp_x, _jvp_y),  # d(x @ y) = dx @ y + x @ dy
    vjp=(_vjp_x, _vjp_y),  # x̄ = ḡ @ yᵀ, ȳ = xᵀ @ ḡ
    complex="holomorphic",
    samples=_samples,
    formula="d(x @ y) = dx @ y + x @ dy",
    vjp_formula="x̄ = ḡ @ yᵀ, ȳ = xᵀ @ ḡ",
    doc="Matrix product (the @ operator)",
    torch="matmul",
)
