"""Indexing ``x[index]`` and its transpose, ``scatter_add``; the composites ``take``,
``take_along_axis`` (a ``getitem`` with an index array) and ``select`` (nested ``where``).

``index`` is anything NumPy accepts: ints, slices, ``None``, ``...``, integer arrays and boolean
masks. Repeated integer indices accumulate in the VJP (``np.add.at``), as they must.
Batched (co)tangents are handled by moving the batch axis to the end, where an index that has been
spelled out over the array's own axes never touches it.
"""

from __future__ import annotations

import math

import numpy as np

from autodiff import functions as anp
from autodiff.arrays import as_array, asarray_like, is_duck, zeros_like
from autodiff.core import raw, shape_of
from autodiff.ops import samples as S
from autodiff.ops.axes import neg_axes
from autodiff.ops.plain import numpy_when_plain
from autodiff.registry import defcomposite, defop


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
    return as_array(x)[index]


def _take(c, x_ndim, index, index_ndim=None):
    """``c[index]`` for a (co)tangent of an ``x_ndim``-array whose first ``index_ndim`` axes the
    index addresses (a scatter's output may carry trailing axes that the index never touches)."""
    index_ndim = x_ndim if index_ndim is None else index_ndim
    return _batched(lambda v, i: anp.getitem(v, index=i), c, x_ndim, index, index_ndim)


def _scatter_primal(g, index, shape):
    if is_duck(g):
        return _scatter_bincount(g, index, shape)
    g = np.asarray(g)
    out = np.zeros(
        tuple(shape) + g.shape[_indexed_ndim(shape, index) :],
        dtype=g.dtype if np.issubdtype(g.dtype, np.inexact) else np.float64,
    )
    np.add.at(out, index, g)
    return out


def _scatter_bincount(g, index, shape):
    """``scatter_add`` on a duck array (dask, CuPy), which has no ``np.add.at``: one weighted
    ``bincount`` over the flat positions the index addresses (repeats accumulate)."""
    shape = tuple(shape)
    n = math.prod(shape)
    parts = index if isinstance(index, tuple) else (index,)
    like = g if any(is_duck(i) for i in parts) else None  # an index of g's type (CuPy) or NumPy
    pos = np.arange(n, like=like).reshape(shape)[index]  # the flat position of each entry
    k = pos.ndim
    trailing = tuple(g.shape[k:])
    width = math.prod(trailing)
    dtype = g.dtype if np.issubdtype(g.dtype, np.inexact) else np.dtype(np.float64)
    if n * width == 0 or g.size == 0:
        return zeros_like(g, shape + trailing, dtype)
    pos = np.broadcast_to(pos, g.shape[:k])
    flat = (pos.reshape(-1, 1) * width + np.arange(width, like=like)).reshape(-1)
    w = g.reshape(-1)
    where = asarray_like(flat, w)
    if hasattr(w, "chunks"):  # dask's bincount pairs the positions with the weights by chunk
        where = where.rechunk(w.chunks)

    def count(weights):
        return np.bincount(where, weights=weights, minlength=n * width)

    out = count(w.real) + 1j * count(w.imag) if dtype.kind == "c" else count(w)
    return out.astype(dtype).reshape(shape + trailing)


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
    complex="holomorphic", samples=lambda rng: [
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
    complex="holomorphic", samples=lambda rng: [
        ((S.real(rng, (4,)),), {"index": np.array([0, 2, 2, 1]), "shape": (3,)}),
        ((S.real(rng, (2, 3)),), {"index": (slice(1, 3),), "shape": (4, 3)}),
    ],
    formula="d scatter_add(g) = scatter_add(dg)", vjp_formula="ḡ = c̄[index]",
    doc="Zeros of `shape` with g added at `index`: the transpose of indexing",
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# take, take_along_axis, select: compositions of getitem and where
# --------------------------------------------------------------------------------------------


@defcomposite(complex="holomorphic", numpy=np.take, samples=lambda rng: [
    ((S.real(rng, (2, 3)),), {"indices": np.array([4, 0, 4])}),
    ((S.real(rng, (2, 3)),), {"indices": np.array([[2, -1], [0, 0]]), "axis": 1}),
    ((S.real(rng, (3, 2)),), {"indices": 1, "axis": 0}),
    ((S.real(rng, (4,)),), {"indices": np.array([5, -6, 1]), "mode": "wrap"}),
    ((S.real(rng, (2, 3)),), {"indices": np.array([-1, 7]), "axis": -1, "mode": "clip"}),
    ((S.real(rng, (0, 3)),), {"indices": np.array([1, 2]), "axis": 1})],
    torch="take", torch_args={"indices": "index"})  # fmt: skip
@numpy_when_plain(np.take)
def take(a, indices, axis: int | None = None, out=None, mode: str = "raise"):
    """Elements of ``a`` at ``indices`` along ``axis`` (of the flattened ``a`` when ``axis`` is
    None), like ``np.take``; ``mode`` is ``'raise'``, ``'wrap'`` or ``'clip'``. Repeated indices
    add up their gradients.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.grad(lambda x: np.take(x, [0, 2, 2]).sum())(np.ones(3))
        array([1., 0., 2.])
    """
    if out is not None:
        raise TypeError(
            "take: out= is not supported on traced values (writing into an array would drop its "
            "derivative); use the returned array"
        )
    if axis is None:
        a, ax = anp.ravel(a), 0
    else:
        ax = neg_axes(axis, len(shape_of(a)))[0] + len(shape_of(a))
    # NumPy's own reading of the indices (their casting, mode, bounds errors): constants
    index = np.take(np.arange(shape_of(a)[ax]), raw(indices), mode=mode)
    return anp.getitem(a, index=(slice(None),) * ax + (index,))


def _along_axis_index(shape: tuple[int, ...], index: np.ndarray, axis: int) -> tuple:
    """The fancy index of ``take_along_axis``: ``index`` on ``axis``, ``arange`` on the others."""
    if len(shape) != index.ndim:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    ones = (1,) * index.ndim
    return tuple(
        index if d == axis else np.arange(n).reshape(ones[:d] + (-1,) + ones[d + 1 :])
        for d, n in enumerate(shape)
    )


@defcomposite(complex="holomorphic", numpy=np.take_along_axis, samples=lambda rng: [
    ((S.real(rng, (2, 3)),), {"indices": np.array([[2, 0, 0, 1], [1, 1, 2, 0]]), "axis": 1}),
    ((S.real(rng, (3, 2)),), {"indices": np.array([[0, 2]]), "axis": 0}),
    ((S.real(rng, (2, 3)),), {"indices": np.array([5, 0, 5]), "axis": None}),
    ((S.real(rng, (2, 3, 2)),), {"indices": np.array([[[1], [0], [1]]] * 2), "axis": -1}),
    ((S.real(rng, (0, 3)),), {"indices": np.zeros((0, 1), dtype=int), "axis": 1})],
    torch="take_along_dim", torch_args={"axis": "dim"})  # fmt: skip
@numpy_when_plain(np.take_along_axis)
def take_along_axis(arr, indices, axis: int | None = -1):
    """Elements of ``arr`` picked along ``axis`` by an index array of the same rank, like
    ``np.take_along_axis`` (for example with the output of ``argsort``); repeated picks add up
    their gradients.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> x = np.array([[3.0, 1.0, 2.0]])
        >>> np.take_along_axis(x, np.argsort(x, axis=1), axis=1).tolist()
        [[1.0, 2.0, 3.0]]
    """
    index = np.asarray(raw(indices))
    if not np.issubdtype(index.dtype, np.integer):
        raise IndexError("`indices` must be an integer array")
    if axis is None:
        if index.ndim != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        arr, axis = anp.ravel(arr), 0
    else:
        axis = neg_axes(axis, len(shape_of(arr)))[0] + len(shape_of(arr))
    return anp.getitem(arr, index=_along_axis_index(shape_of(arr), index, axis))


@defcomposite(complex="holomorphic", numpy=np.select, samples=lambda rng: [
    (([np.array([True, False, False]), np.array([True, True, False])],
      [S.real(rng, (3,)), S.real(rng, (2, 3))]), {}),
    (([np.array([[True], [False]])], [S.real(rng, (3,))], S.real(rng, (2, 3))), {}),
    (([np.zeros((0, 2), dtype=bool)], [S.real(rng, (0, 2))]), {"default": 1.5})])  # fmt: skip
@numpy_when_plain(np.select)
def select(condlist, choicelist, default=0):
    """Elementwise, the choice of the first true condition (``default`` where none holds), like
    ``np.select``: nested ``where``, differentiable in the choices and the default.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> x = np.array([-2.0, 0.5, 3.0])
        >>> ad.grad(lambda x: np.select([x < 0, x < 1], [-x, x**2], x).sum())(x)
        array([-1.,  1.,  1.])
    """
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if not condlist:
        raise ValueError("select with an empty condition list is not possible")
    conds = [np.asarray(raw(c)) for c in condlist]
    for i, c in enumerate(conds):
        if c.dtype != bool:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    out = default
    for cond, choice in zip(reversed(conds), reversed(list(choicelist))):
        out = anp.where(cond, choice, out)
    return out
