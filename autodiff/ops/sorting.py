"""Sorting: the primitives ``sort`` and ``partition``.

Both permute the elements of each slice along ``axis``. For the permutation they pick, the result
is linear in the values: the JVP gathers the tangent by the permutation and the VJP gathers the
cotangent by the inverse permutation (that is, scatters it back where each value came from).
The permutation is computed on the plain values: it is piecewise constant in ``x``, so no
derivative flows through it.

**Ties** (and NaNs, which NumPy sorts last): the derivative of the k-th value goes to the element
that ``np.argsort(x, kind="stable")`` puts at position k (``np.argpartition(x, kth)`` for
``partition``), so the derivative follows one permutation and tied elements keep their order, as
in JAX's ``sort``. The values are NumPy's.

The integer-valued companions (``argsort``, ``argpartition``, ``argmax``, ``argmin``,
``searchsorted``, ``nonzero``) accept traced input and return plain integer arrays: see
``NONDIFF_FUNCTIONS`` in :mod:`autodiff.numpy_api`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff import functions as anp
from autodiff.arrays import is_duck
from autodiff.core import raw, real_only, refuse_complex, shape_of
from autodiff.numpy_api import dispatch_also
from autodiff.ops import samples as S
from autodiff.ops.axes import batch_of, neg_axes
from autodiff.registry import defop


def _gather_index(perm: np.ndarray, axis: int) -> tuple:
    """An index that takes, along negative ``axis``, the elements ``perm`` names (an array of the
    unbatched shape), from an array with any number of leading batch axes."""
    if perm.ndim == 1:
        return (Ellipsis, perm)
    grid = list(np.indices(perm.shape, sparse=True))
    grid[axis] = perm
    return (Ellipsis, *grid)


def _inverse(perm: np.ndarray, axis: int) -> np.ndarray:
    """The inverse permutation of each slice of ``perm`` along ``axis``."""
    if is_duck(perm):  # no put_along_axis on dask/GPU arrays: the argsort of a permutation
        return np.argsort(perm, axis=axis)
    n = perm.shape[axis]
    positions = np.arange(n).reshape((n,) + (1,) * (-axis - 1))
    inv = np.empty_like(perm)
    np.put_along_axis(inv, perm, np.broadcast_to(positions, perm.shape), axis=axis)
    return inv


def _permuted_rules(perm_of):
    """JVP and VJP of an op whose result is ``x`` permuted along ``axis`` by ``perm_of(xv, axis,
    **params)`` (``axis=None``: the flattened ``x``)."""

    def perm(x, axis, params):
        xv = raw(x)
        if axis is None:
            return perm_of(xv.reshape(-1), -1, params), -1
        a = neg_axes(axis, xv.ndim)[0]
        return perm_of(xv, a, params), a

    def jvp(t, x, axis, **params):
        # d sort(x) = dx[perm]
        p, a = perm(x, axis, params)
        if axis is None:
            t = anp.reshape(t, batch_of(t, len(shape_of(x))) + (-1,))
        return anp.getitem(t, index=_gather_index(p, a))

    def vjp(g, x, axis, **params):
        # x̄ = ḡ[perm⁻¹]: each cotangent goes back to the element it came from
        p, a = perm(x, axis, params)
        out = anp.getitem(g, index=_gather_index(_inverse(p, a), a))
        if axis is None:
            out = anp.reshape(out, batch_of(g, 1) + shape_of(x))
        return out

    return jvp, vjp


def _stable_argsort(xv: np.ndarray, axis: int, params: dict[str, Any]) -> np.ndarray:
    refuse_complex("sort", xv)  # NumPy orders complex numbers lexicographically: no rule
    return np.argsort(xv, axis=axis, kind="stable")


def _argpartition(xv: np.ndarray, axis: int, params: dict[str, Any]) -> np.ndarray:
    return np.argpartition(xv, params["kth"], axis=axis, kind=params["kind"])


def _sort_primal(x, axis=-1, kind=None, order=None, stable=None):
    return np.sort(x, axis=axis, kind=kind, order=order, stable=stable)


_sort_jvp, _sort_vjp = _permuted_rules(_stable_argsort)


def _sort_samples(rng: np.random.Generator) -> list:
    return [((S.distinct(rng, (5,)),), {"axis": -1}),
            ((S.distinct(rng, (3, 4)),), {"axis": 0}),
            ((S.distinct(rng, (2, 3, 2)),), {"axis": 1}),
            ((S.distinct(rng, (2, 3)),), {"axis": None}),
            ((S.distinct(rng, (0, 3)),), {"axis": -1})]  # fmt: skip


defop(
    "sort", _sort_primal, params={"axis": -1, "kind": None, "order": None, "stable": None},
    batchable=True,
    jvp=(lambda t, ans, x, axis, kind, order, stable: _sort_jvp(t, x, axis),),
    # d sort(x) = dx[perm], perm = argsort(x, stable)
    vjp=(lambda g, ans, x, axis, kind, order, stable: _sort_vjp(g, x, axis),),
    # x̄ = ḡ[perm⁻¹]
    samples=_sort_samples,
    formula="d sort(x) = dx[argsort(x)] (ties: stable order)",
    vjp_formula="x̄ = ḡ scattered back by the sorting permutation",
    doc="Sorted copy along an axis (flattened when axis is None); ties follow a stable argsort",
)  # fmt: skip


def _partition_primal(x, kth, axis=-1, kind="introselect", order=None):
    if order is not None:
        raise TypeError("partition: order= (structured arrays) is not supported")
    perm = np.argpartition(x, kth, axis=axis, kind=kind)
    return np.take_along_axis(np.ravel(x) if axis is None else x, perm,
                              axis=-1 if axis is None else axis)  # fmt: skip


_partition_jvp, _partition_vjp = _permuted_rules(_argpartition)


def _partition_t(t, ans, x, kth, axis, kind, order):
    return _partition_jvp(t, x, axis, kth=kth, kind=kind)  # d partition(x) = dx[perm]


def _partition_g(g, ans, x, kth, axis, kind, order):
    return _partition_vjp(g, x, axis, kth=kth, kind=kind)  # x̄ = ḡ[perm⁻¹]


defop(
    "partition", _partition_primal,
    params={"kth": 0, "axis": -1, "kind": "introselect", "order": None}, batchable=True,
    jvp=real_only("partition", (_partition_t,)),  # d partition(x) = dx[perm]
    vjp=real_only("partition", (_partition_g,)),  # x̄ = ḡ[perm⁻¹], perm = argpartition(x, kth)
    samples=lambda rng: [((S.distinct(rng, (6,)),), {"kth": 2}),
                         ((S.distinct(rng, (3, 5)),), {"kth": (1, 3), "axis": 1}),
                         ((S.distinct(rng, (4, 3)),), {"kth": -1, "axis": 0}),
                         ((S.distinct(rng, (2, 3)),), {"kth": 4, "axis": None}),
                         ((S.distinct(rng, (2, 0)),), {"kth": 0, "axis": 0})],
    formula="d partition(x) = dx[argpartition(x, kth)]",
    vjp_formula="x̄ = ḡ scattered back by the partitioning permutation",
    doc="Partially sorted copy: the kth element in its sorted place, smaller ones before it",
)  # fmt: skip


# ---- np.unique: the values are a gather at each value's first occurrence -----------------------


@dispatch_also(np.unique)
def unique(
    ar: Any,
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
    axis: int | None = None,
    **kwargs: Any,
) -> Any:
    """``np.unique`` of a traced value: the same result, and the unique values carry their
    derivative, ``d unique(x) = dx[first]`` (each value's derivative comes from its first
    occurrence; the indices, inverse and counts are integers, with none).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.grad(lambda x: np.sum(np.unique(x) ** 2))(np.array([3.0, 1.0, 3.0]))
        array([6., 2., 0.])
    """
    refuse_complex("unique", ar)  # NumPy orders complex values lexicographically
    plain = np.unique(raw(ar), return_index=True, return_inverse=return_inverse,
                      return_counts=return_counts, axis=axis, **kwargs)  # fmt: skip
    first = plain[1]
    values = anp.take(anp.ravel(ar), first) if axis is None else anp.take(ar, first, axis=axis)
    extra = [first] if return_index else []
    extra += list(plain[2:])
    return (values, *extra) if extra else values
