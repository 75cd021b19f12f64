"""Axis bookkeeping shared by the rules of reductions and shape ops.

Rules may receive tangents or cotangents with extra *leading* batch axes (vectorized Jacobians).
Writing axes as negative numbers, counted from the end, makes a rule correct with or without them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff.core import shape_of, zeros_for


def neg_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, int or tuple) as a sorted tuple of negative axes of an ``ndim`` array."""
    if axis is None:
        return tuple(range(-ndim, 0))
    axes = as_negative(axis, ndim)
    return tuple(sorted((axes,) if isinstance(axes, int) else axes))


def as_negative(axis: Any, ndim: int) -> Any:
    """``axis`` (an int or a sequence of ints) as negative axes of an ``ndim`` array, in the order
    given (``moveaxis`` pairs them up); an int stays an int. Out of range: NumPy's AxisError."""
    if isinstance(axis, (int, np.integer)):
        if not -ndim <= axis < ndim:
            raise np.exceptions.AxisError(int(axis), ndim)
        return int(axis) % ndim - ndim
    return tuple(as_negative(a, ndim) for a in axis)


def batch_of(t: Any, unbatched_ndim: int) -> tuple[int, ...]:
    """The leading batch shape of ``t``, given the rank it has without a batch."""
    shape = shape_of(t)
    return shape[: len(shape) - unbatched_ndim]


def count(shape: tuple[int, ...], axes: tuple[int, ...]) -> int:
    """How many elements a reduction over negative ``axes`` of ``shape`` combines."""
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def fill_zeros(tangents: list, primals: list | tuple) -> list:
    """Instantiate symbolic-zero tangents (``None``) for rules that need every argument."""
    batch: tuple[int, ...] = ()
    for t, p in zip(tangents, primals):
        if t is not None:
            batch = batch_of(t, len(shape_of(p)))
            break
    return [zeros_for(p, batch) if t is None else t for t, p in zip(tangents, primals)]
