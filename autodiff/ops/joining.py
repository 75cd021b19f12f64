"""Joining and splitting: the primitives ``stack`` and ``concatenate``, and the composites built
on them and on slicing (``hstack``, ``vstack``, ``column_stack``, ``dstack``, ``append``, ``split``,
``array_split``, ``hsplit``, ``vsplit``, ``dsplit``).

``stack`` and ``concatenate`` take a variable number of arrays, so their rules see every tangent
at once; symbolic zeros are instantiated in one helper (:func:`autodiff.ops.axes.fill_zeros`).
The split functions return a list of slices of their input, each one a ``getitem``: its VJP
scatters the piece's cotangent back into place, and pieces nobody uses cost nothing.
"""

from __future__ import annotations

import itertools

import numpy as np

from autodiff import functions as anp
from autodiff.core import raw, shape_of
from autodiff.ops import samples as S
from autodiff.ops.axes import fill_zeros, neg_axes
from autodiff.ops.plain import numpy_when_plain
from autodiff.registry import defcomposite, defop


def _piece(g, axis_neg, start, stop):
    """``g[..., start:stop, :, ...]`` along a negative axis (batch axes stay in front)."""
    return anp.getitem(g, index=(Ellipsis, slice(start, stop)) + (slice(None),) * (-axis_neg - 1))


def _stack_vjp(g, ans, *xs, axis):
    a = neg_axes(axis, len(shape_of(ans)))[0]
    return [anp.getitem(g, index=(Ellipsis, i) + (slice(None),) * (-a - 1)) for i in range(len(xs))]


defop(
    "stack", lambda *xs, axis=0: np.stack(xs, axis=axis), nargs=-1, params={"axis": 0},
    batchable=True,
    jvp=lambda ts, ans, *xs, axis: anp.stack(
        fill_zeros(ts, xs), axis=neg_axes(axis, len(shape_of(ans)))[0]),  # d stack = stack(dxᵢ)
    vjp=_stack_vjp,  # x̄ᵢ = ḡ[..., i, ...]
    complex="holomorphic", samples=lambda rng: [((S.real(rng, (3,)), S.real(rng, (3,))), {"axis": 0}),
                         ((S.real(rng, (2, 3)), S.real(rng, (2, 3)), S.real(rng, (2, 3))),
                          {"axis": -1})],
    formula="d stack(xᵢ) = stack(dxᵢ)", vjp_formula="x̄ᵢ = ḡ[..., i, ...]",
    doc="Join arrays along a new axis",
)  # fmt: skip


def _concat_vjp(g, ans, *xs, axis):
    a = neg_axes(axis, len(shape_of(ans)))[0]
    out, start = [], 0
    for x in xs:
        stop = start + shape_of(x)[a]
        out.append(_piece(g, a, start, stop))
        start = stop
    return out


defop(
    "concatenate", lambda *xs, axis=0: np.concatenate(xs, axis=axis), nargs=-1,
    params={"axis": 0}, batchable=True,
    jvp=lambda ts, ans, *xs, axis: anp.concatenate(
        fill_zeros(ts, xs), axis=neg_axes(axis, len(shape_of(ans)))[0]),  # d concat = concat(dxᵢ)
    vjp=_concat_vjp,  # x̄ᵢ = the slice of ḡ where xᵢ sits
    complex="holomorphic", samples=lambda rng: [((S.real(rng, (2,)), S.real(rng, (3,))), {"axis": 0}),
                         ((S.real(rng, (2, 1)), S.real(rng, (2, 3)), S.real(rng, (2, 0))),
                          {"axis": 1})],
    formula="d concat(xᵢ) = concat(dxᵢ)", vjp_formula="x̄ᵢ = ḡ[slice of xᵢ]",
    doc="Join arrays along an existing axis",
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Splitting: slices of x
# --------------------------------------------------------------------------------------------


def _bounds(n: int, indices_or_sections) -> list[int]:
    """NumPy's ``array_split`` division points of an axis of length ``n``."""
    try:
        return [0, *(int(i) for i in indices_or_sections), n]
    except TypeError:
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.") from None
        each, extras = divmod(n, sections)
        sizes = [0] + extras * [each + 1] + (sections - extras) * [each]
        return [int(b) for b in np.cumsum(sizes)]


def _split_samples(rng):
    return [((S.real(rng, (6,)),), {"indices_or_sections": 3}),
            ((S.real(rng, (2, 4)),), {"indices_or_sections": [1, 3], "axis": 1}),
            ((S.real(rng, (4, 3)),), {"indices_or_sections": [3, 1, 5], "axis": -2}),
            ((S.real(rng, (0, 2)),), {"indices_or_sections": 2})]  # fmt: skip


@defcomposite(complex="holomorphic", numpy=np.array_split, samples=lambda rng: [
    *_split_samples(rng), ((S.real(rng, (2, 5)),), {"indices_or_sections": 3, "axis": 1})],
    torch="tensor_split", torch_args={"axis": "dim"})  # fmt: skip
@numpy_when_plain(np.array_split)
def array_split(ary, indices_or_sections, axis: int = 0) -> list:
    """Split ``ary`` into pieces along ``axis`` like ``np.array_split`` (sections may be unequal).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> [p.tolist() for p in ad.array_split(np.arange(5.0), 2)]
        [[0.0, 1.0, 2.0], [3.0, 4.0]]
    """
    a = neg_axes(axis, len(shape_of(ary)))[0]
    bounds = _bounds(shape_of(ary)[a], indices_or_sections)
    return [_piece(ary, a, lo, hi) for lo, hi in itertools.pairwise(bounds)]


@defcomposite(complex="holomorphic", numpy=np.split, samples=_split_samples)
@numpy_when_plain(np.split)
def split(ary, indices_or_sections, axis: int = 0) -> list:
    """Split ``ary`` into equal pieces (or at the given indices) along ``axis``, like ``np.split``.

    PyTorch's ``split`` takes piece sizes rather than a count or indices, so it is no ``Tensor``
    method here; ``tensor_split`` (``array_split``) is.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> [p.tolist() for p in ad.split(np.arange(6.0), 3)]
        [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    """
    if isinstance(indices_or_sections, (int, np.integer)):
        n = shape_of(ary)[neg_axes(axis, len(shape_of(ary)))[0]]
        if indices_or_sections > 0 and n % indices_or_sections:
            raise ValueError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


def _directional_split(name: str, min_ndim: int, axis_of):
    np_fn = getattr(np, name)
    what = {1: "1 or more", 2: "2 or more", 3: "3 or more"}[min_ndim]

    @numpy_when_plain(np_fn)
    def fn(ary, indices_or_sections) -> list:
        ndim = len(shape_of(ary))
        if ndim < min_ndim:
            raise ValueError(f"{name} only works on arrays of {what} dimensions")
        return split(ary, indices_or_sections, axis_of(ndim))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (
        f"``np.{name}``: :func:`split` along axis {axis_of(3)}"
        + (" (axis 0 of a 1-D array)" if name == "hsplit" else "")
        + f".\n\n    Examples:\n        >>> import numpy as np, autodiff as ad\n"
        f"        >>> [p.shape for p in ad.{name}(np.ones((2, 4, 6)), 2)]\n"
        f"        {[p.shape for p in np_fn(np.ones((2, 4, 6)), 2)]}\n"
    )
    return fn


def _hsplit_samples(rng):
    return [((S.real(rng, (4,)),), {"indices_or_sections": 2}),
            ((S.real(rng, (2, 4)),), {"indices_or_sections": [1]}),
            ((S.real(rng, (3, 0)),), {"indices_or_sections": 2})]  # fmt: skip


def _vsplit_samples(rng):
    return [((S.real(rng, (4, 2)),), {"indices_or_sections": 2}),
            ((S.real(rng, (3, 2, 2)),), {"indices_or_sections": [1, 2]})]  # fmt: skip


def _dsplit_samples(rng):
    return [((S.real(rng, (2, 2, 4)),), {"indices_or_sections": 2}),
            ((S.real(rng, (1, 2, 3)),), {"indices_or_sections": [2]})]  # fmt: skip


hsplit = defcomposite(
    complex="holomorphic", numpy=np.hsplit, samples=_hsplit_samples, torch="hsplit"
)(_directional_split("hsplit", 1, lambda ndim: 1 if ndim > 1 else 0))
vsplit = defcomposite(
    complex="holomorphic", numpy=np.vsplit, samples=_vsplit_samples, torch="vsplit"
)(_directional_split("vsplit", 2, lambda ndim: 0))
dsplit = defcomposite(
    complex="holomorphic", numpy=np.dsplit, samples=_dsplit_samples, torch="dsplit"
)(_directional_split("dsplit", 3, lambda ndim: 2))

# --------------------------------------------------------------------------------------------
# Stacking: concatenate after giving every array enough axes
# --------------------------------------------------------------------------------------------


def _join(arrays, axis: int, dtype, casting: str):
    """``concatenate`` with NumPy's ``dtype=`` and ``casting=`` (a cast after the checks)."""
    if dtype is not None:
        for a in arrays:
            have = np.result_type(raw(a))
            if not np.can_cast(have, dtype, casting=casting):
                raise TypeError(
                    f"Cannot cast array data from {have!r} to {np.dtype(dtype)!r} according to "
                    f"the rule {casting!r}"
                )
        arrays = [anp.astype(a, dtype) for a in arrays]
    return anp.concatenate(list(arrays), axis=axis)


def _arrays(tup) -> list:
    # a traced array is a sequence of its rows, as NumPy reads an ndarray
    return list(tup)


@defcomposite(complex="holomorphic", numpy=np.hstack, samples=lambda rng: [
    (([S.real(rng, (2,)), S.real(rng, (3,)), S.real(rng, ())],), {}),
    (([S.real(rng, (2, 1)), S.real(rng, (2, 3))],), {}),
    (([S.real(rng, (2, 0)), S.real(rng, (2, 2))],), {"dtype": np.float64})])  # fmt: skip
@numpy_when_plain(np.hstack)
def hstack(tup, *, dtype=None, casting: str = "same_kind"):
    """Join arrays along their second axis (the first for 1-D arrays), like ``np.hstack``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.grad(lambda x: (ad.hstack([x, 2 * x]) ** 2).sum())(np.array([1.0, 3.0]))
        array([10., 30.])
    """
    arrs = [anp.atleast_1d(a) for a in _arrays(tup)]
    axis = 0 if arrs and len(shape_of(arrs[0])) == 1 else 1
    return _join(arrs, axis, dtype, casting)


@defcomposite(complex="holomorphic", numpy=np.vstack, samples=lambda rng: [
    (([S.real(rng, (3,)), S.real(rng, (2, 3))],), {}),
    (([S.real(rng, ()), S.real(rng, (1,))],), {}),
    (([S.real(rng, (0, 2)), S.real(rng, (1, 2))],), {})])  # fmt: skip
@numpy_when_plain(np.vstack)
def vstack(tup, *, dtype=None, casting: str = "same_kind"):
    """Join arrays along their first axis, 1-D arrays as rows, like ``np.vstack``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.vstack([np.ones(2), np.zeros(2)]).shape
        (2, 2)
    """
    return _join([anp.atleast_2d(a) for a in _arrays(tup)], 0, dtype, casting)


if hasattr(np, "row_stack"):  # deprecated in NumPy 2.0 (an alias of vstack); gone in later ones

    @defcomposite(complex="holomorphic", numpy=np.row_stack, samples=lambda rng: [
        (([S.real(rng, (3,)), S.real(rng, (2, 3))],), {})])  # fmt: skip
    def row_stack(tup, *, dtype=None, casting: str = "same_kind"):
        """``np.row_stack``: the same function as :func:`vstack`.

        Examples:
            >>> import numpy as np, autodiff as ad
            >>> ad.row_stack([np.ones(2), np.zeros(2)]).shape
            (2, 2)
        """
        return vstack(tup, dtype=dtype, casting=casting)


def _column(a):
    return anp.reshape(a, (-1, 1)) if len(shape_of(a)) < 2 else a


@defcomposite(complex="holomorphic", numpy=np.column_stack, samples=lambda rng: [
    (([S.real(rng, (3,)), S.real(rng, (3, 2))],), {}),
    (([S.real(rng, ()), S.real(rng, (1,))],), {}),
    (([S.real(rng, (0,)), S.real(rng, (0, 2))],), {})])  # fmt: skip
@numpy_when_plain(np.column_stack)
def column_stack(tup):
    """Join 1-D arrays as columns (and 2-D arrays as they are) into a 2-D array, like NumPy's.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.column_stack([np.ones(3), np.zeros(3)]).shape
        (3, 2)
    """
    return anp.concatenate([_column(a) for a in _arrays(tup)], axis=1)


@defcomposite(complex="holomorphic", numpy=np.dstack, samples=lambda rng: [
    (([S.real(rng, (3,)), S.real(rng, (1, 3))],), {}),
    (([S.real(rng, (2, 3)), S.real(rng, (2, 3, 2))],), {}),
    (([S.real(rng, (2, 0)), S.real(rng, (2, 0, 1))],), {})])  # fmt: skip
@numpy_when_plain(np.dstack)
def dstack(tup):
    """Join arrays along their third axis (depth), like ``np.dstack``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.dstack([np.ones((2, 3)), np.zeros((2, 3))]).shape
        (2, 3, 2)
    """
    return anp.concatenate([anp.atleast_3d(a) for a in _arrays(tup)], axis=2)


@defcomposite(complex="holomorphic", numpy=np.append, samples=lambda rng: [
    ((S.real(rng, (2, 2)), S.real(rng, (3,))), {}),
    ((S.real(rng, (2, 2)), S.real(rng, (1, 2))), {"axis": 0}),
    ((S.real(rng, ()), S.real(rng, (0,))), {})])  # fmt: skip
@numpy_when_plain(np.append)
def append(arr, values, axis: int | None = None):
    """Values appended to the end of ``arr`` (both flattened when ``axis`` is None), like NumPy's.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.grad(lambda x: ad.append(x, x**2).sum())(np.array([1.0, 2.0]))
        array([3., 5.])
    """
    if axis is None:
        if len(shape_of(arr)) != 1:
            arr = anp.ravel(arr)
        return anp.concatenate([arr, anp.ravel(values)], axis=0)
    return anp.concatenate([arr, values], axis=axis)
