"""Indexing ``x[index]`` and its transpose, ``scatter_add``.

``index`` is anything NumPy accepts: ints, slices, ``None``, ``...``, integer arrays and boolean
masks. Repeated integer indices accumulate in the VJP (``np.add.at``), as they must.
Batched (co)tangents are handled by moving the batch axis to the end, where an index that has been
spelled out over the array's own axes never touches it.
"""

from __future__ import annotations

import numpy as np

from autodiff import functions as anp
from autodiff.core import shape_of
from autodiff.ops import samples as S
from autodiff.registry import defop


def full_index(index, ndim: int) -> tuple | None:
    """``index`` as a tuple with ``...`` spelled out for an array of rank ``ndim``.

    Returns ``None`` when the spelled-out tuple would mean something else to NumPy: a ``...``
    of width zero still separates advanced indices (which moves their axes to the front).
    """
    idx = index if isinstance(index, tuple) else (index,)
    used = 0
    for k in idx:
        if k is None or k is Ellipsis or isinstance(k, (bool, np.bool_)):
            continue  # None and a bool scalar add an axis; they consume none
        used += np.ndim(k) if isinstance(k, np.ndarray) and k.dtype == bool else 1
    if not any(k is Ellipsis for k in idx):
        return idx
    at = next(i for i, k in enumerate(idx) if k is Ellipsis)
    separates = ndim == used and _advanced(idx[:at]) and _advanced(idx[at + 1 :])
    if separates and any(isinstance(k, (np.ndarray, list)) for k in idx):
        return None
    return idx[:at] + (slice(None),) * (ndim - used) + idx[at + 1 :]


def _advanced(part: tuple) -> bool:
    return any(
        isinstance(k, (np.ndarray, list)) or (isinstance(k, (int, np.integer)) and
                                              not isinstance(k, (bool, np.bool_)))
        for k in part
    )  # fmt: skip


def _batched(apply, c, unbatched_ndim, index, ndim):
    """Apply an indexing op to a (co)tangent with leading batch axes.

    The batch axes move to the end, where an index spelled out over the array's own axes never
    reaches them; an index that cannot be spelled out goes one batch entry at a time.
    """
    lead = len(shape_of(c)) - unbatched_ndim
    if not lead:
        return apply(c, index)
    idx = full_index(index, ndim)
    if idx is None or lead > 1:
        return anp.stack([_batched(apply, c[k], unbatched_ndim, index, ndim)
                          for k in range(shape_of(c)[0])])  # fmt: skip
    return anp.moveaxis(apply(anp.moveaxis(c, 0, -1), idx), -1, 0)


def _getitem_primal(x, index):
    return np.asarray(x)[index]


def _take(c, x_ndim, index, index_ndim=None):
    """``c[index]`` for a (co)tangent of an ``x_ndim``-array whose first ``index_ndim`` axes the
    index addresses (a scatter's output may carry trailing axes that the index never touches)."""
    index_ndim = x_ndim if index_ndim is None else index_ndim
    return _batched(lambda v, i: anp.getitem(v, index=i), c, x_ndim, index, index_ndim)


def _scatter_primal(g, index, shape):
    g = np.asarray(g)
    out = np.zeros(
        tuple(shape) + g.shape[_indexed_ndim(shape, index) :],
        dtype=g.dtype if np.issubdtype(g.dtype, np.inexact) else np.float64,
    )
    np.add.at(out, index, g)
    return out


def _indexed_ndim(shape, index):
    return np.empty(shape, dtype=np.bool_)[index].ndim


def _scatter(c, shape, index, ans_ndim):
    return _batched(lambda v, i: anp.scatter_add(v, index=i, shape=shape), c, ans_ndim, index,
                    len(shape))  # fmt: skip


defop(
    "getitem", _getitem_primal, params={"index": ()}, batchable=True,
    jvp=(lambda t, ans, x, index: _take(t, len(shape_of(x)), index),),  # d x[i] = dx[i]
    vjp=(lambda g, ans, x, index: _scatter(g, shape_of(x), index, len(shape_of(ans))),),
    # x̄ = zeros with ḡ added at [i] (repeats accumulate)
    samples=lambda rng: [
        ((S.real(rng, (4, 3)),), {"index": (1, slice(None, None, 2))}),
        ((S.real(rng, (4, 3)),), {"index": (Ellipsis, None, 1)}),
        ((S.real(rng, (5,)),), {"index": np.array([0, 2, 2, 4])}),
        ((S.real(rng, (2, 3)),), {"index": np.array([[True, False, True], [False, True, True]])}),
        ((S.real(rng, (3, 4)),), {"index": (np.array([0, 2]), slice(1, 3))}),
        ((S.real(rng, (3, 4)),), {"index": (slice(0, 0),)}),
    ],
    formula="d x[i] = dx[i]", vjp_formula="x̄ = scatter_add(ḡ at i) (repeated i accumulate)",
    doc="Index or slice an array: x[index]",
)  # fmt: skip
defop(
    "scatter_add", _scatter_primal, params={"index": (), "shape": ()}, batchable=True,
    jvp=(lambda t, ans, g, index, shape: _scatter(t, shape, index, len(shape_of(g))),),
    # d scatter(g) = scatter(dg)
    vjp=(lambda c, ans, g, index, shape: _take(c, len(shape_of(ans)), index, len(shape)),),
    # ḡ = c̄[i]
    samples=lambda rng: [
        ((S.real(rng, (4,)),), {"index": np.array([0, 2, 2, 1]), "shape": (3,)}),
        ((S.real(rng, (2, 3)),), {"index": (slice(1, 3),), "shape": (4, 3)}),
    ],
    formula="d scatter_add(g) = scatter_add(dg)", vjp_formula="ḡ = c̄[index]",
    doc="Zeros of `shape` with g added at `index`: the transpose of indexing",
)  # fmt: skip
