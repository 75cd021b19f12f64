"""Layout functions built from the shape primitives: each is an exact composition, so it needs no
rule of its own.

``ravel``, ``flatten``, ``atleast_1d/2d/3d`` reshape; ``rollaxis`` transposes; ``fliplr``,
``flipud`` and ``rot90`` flip and transpose; ``diag`` and ``diagflat`` scatter a vector onto a
diagonal or read one back (``diagonal``); ``broadcast_arrays`` and ``meshgrid`` broadcast. With no
traced argument each one is NumPy's own function (:func:`autodiff.ops.plain.numpy_when_plain`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff import functions as anp
from autodiff.core import Box, prod, raw, shape_of
from autodiff.ops import samples as S
from autodiff.ops.axes import neg_axes
from autodiff.ops.plain import numpy_when_plain
from autodiff.registry import defcomposite

# --------------------------------------------------------------------------------------------
# ravel, flatten
# --------------------------------------------------------------------------------------------


def _memory_order(a: Any, order: str) -> str:
    """How NumPy reads ``a`` for ``order='A'``/``'K'``: ``'C'``, ``'F'``, or ``'K'`` (by strides)
    for an array that is neither (the traced value holds the array NumPy would see)."""
    flags = getattr(raw(a), "flags", None)
    if flags is None or flags.c_contiguous:
        return "C"
    if flags.f_contiguous:
        return "F"
    return "C" if order == "A" else "K"


def _ravel_samples(rng):
    return [((S.real(rng, (2, 3)),), {}), ((S.real(rng, (2, 3, 2)),), {"order": "F"}),
            ((S.real(rng, ()),), {}), ((S.real(rng, (0, 3)),), {})]  # fmt: skip


@defcomposite(complex="holomorphic", numpy=np.ravel, samples=_ravel_samples, torch="ravel")
@numpy_when_plain(np.ravel)
def ravel(a, order: str = "C"):
    """The elements of ``a`` as a 1-D array, like ``np.ravel`` (a ``reshape``).

    ``order='F'`` reads them column-major (a transpose first); ``'A'`` and ``'K'`` follow the
    memory layout of the value, as NumPy does.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.grad(lambda x: (np.ravel(x) * np.arange(4.0)).sum())(np.ones((2, 2)))
        array([[0., 1.],
               [2., 3.]])
    """
    if order in ("A", "K"):
        order = _memory_order(a, order)
    if order == "C":
        return anp.reshape(a, (-1,))
    if order == "F":
        return anp.reshape(anp.transpose(a), (-1,))
    if order == "K":  # neither C- nor F-contiguous: the axes in the order of their |strides|
        strides = raw(a).strides
        perm = sorted(range(len(strides)), key=lambda i: -abs(strides[i]))
        return anp.reshape(anp.transpose(a, tuple(perm)), (-1,))
    raise ValueError(f"order must be one of 'C', 'F', 'A', or 'K' (got {order!r})")


def _flatten_samples(rng):
    return [((S.real(rng, (2, 3, 2)),), {}), ((S.real(rng, (2, 3, 2)),), {"start_dim": 1}),
            ((S.real(rng, (2, 3, 2, 2)),), {"start_dim": -3, "end_dim": 2}),
            ((S.real(rng, ()),), {}), ((S.real(rng, (2, 0)),), {"start_dim": 0})]  # fmt: skip


@defcomposite(complex="holomorphic", samples=_flatten_samples, torch="flatten")
def flatten(x, start_dim: int = 0, end_dim: int = -1):
    """Merge the axes ``start_dim`` to ``end_dim`` into one, like ``torch.flatten`` (a 0-d array
    becomes 1-D). With the defaults it equals ``ravel`` (and NumPy's ``ndarray.flatten()``).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.flatten(np.ones((2, 3, 4)), start_dim=1).shape
        (2, 12)
    """
    shape = tuple(shape_of(x))
    if not shape:
        return anp.reshape(x, (1,))
    s, e = (neg_axes(d, len(shape))[0] + len(shape) for d in (start_dim, end_dim))
    if s > e:
        raise ValueError("flatten() has invalid args: start_dim cannot come after end_dim")
    return anp.reshape(x, shape[:s] + (prod(shape[s : e + 1]),) + shape[e + 1 :])


# --------------------------------------------------------------------------------------------
# atleast_1d, atleast_2d, atleast_3d
# --------------------------------------------------------------------------------------------


def _atleast(name: str, ndim: int, new_shape):
    np_fn = getattr(np, name)

    def one(a):
        if not isinstance(a, Box):
            return np_fn(a)
        shape = shape_of(a)
        return a if len(shape) >= ndim else anp.reshape(a, new_shape(shape))

    @numpy_when_plain(np_fn)
    def fn(*arys):
        out = tuple(one(a) for a in arys)
        return out[0] if len(out) == 1 else out

    example = np_fn(np.ones(3)).shape
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (
        f"The arrays viewed with at least {ndim} dimension(s), like ``np.{name}`` (one array "
        "for one argument, a tuple for several).\n\n    Examples:\n"
        f"        >>> import numpy as np, autodiff as ad\n"
        f"        >>> ad.{name}(np.ones(3)).shape\n        {example}\n"
    )
    return fn


def _atleast_samples(rng):
    return [((S.real(rng, ()),), {}), ((S.real(rng, (3,)),), {}), ((S.real(rng, (2, 3)),), {}),
            ((S.real(rng, (2, 1, 2, 1)),), {}), ((S.real(rng, (0,)),), {}),
            ((S.real(rng, ()), S.real(rng, (2,))), {})]  # fmt: skip


atleast_1d = defcomposite(complex="holomorphic", numpy=np.atleast_1d, samples=_atleast_samples)(
    _atleast("atleast_1d", 1, lambda s: (1,))
)
atleast_2d = defcomposite(complex="holomorphic", numpy=np.atleast_2d, samples=_atleast_samples)(
    _atleast("atleast_2d", 2, lambda s: (1,) * (2 - len(s)) + s)
)
atleast_3d = defcomposite(complex="holomorphic", numpy=np.atleast_3d, samples=_atleast_samples)(
    _atleast("atleast_3d", 3, lambda s: {0: (1, 1, 1), 1: (1, *s, 1), 2: (*s, 1)}[len(s)])
)

# --------------------------------------------------------------------------------------------
# rollaxis, fliplr, flipud, rot90
# --------------------------------------------------------------------------------------------


@defcomposite(complex="holomorphic", numpy=np.rollaxis, samples=lambda rng: [
    ((S.real(rng, (2, 3, 4)),), {"axis": 2}), ((S.real(rng, (2, 3, 4)),), {"axis": 0, "start": 3}),
    ((S.real(rng, (2, 3, 4)),), {"axis": -1, "start": -2}),
    ((S.real(rng, (2, 0, 1)),), {"axis": 1})])  # fmt: skip
@numpy_when_plain(np.rollaxis)
def rollaxis(a, axis: int, start: int = 0):
    """Roll ``axis`` backwards until it lies before position ``start``, like ``np.rollaxis``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.rollaxis(np.ones((2, 3, 4)), 2).shape
        (4, 2, 3)
    """
    n = len(shape_of(a))
    axis = neg_axes(axis, n)[0] + n
    if start < 0:
        start += n
    if not 0 <= start < n + 1:
        raise np.exceptions.AxisError(
            f"'start' arg requires {-n} <= start < {n + 1}, but {start} was passed in"
        )
    if axis < start:
        start -= 1
    if axis == start:
        return a
    axes = [i for i in range(n) if i != axis]
    axes.insert(start, axis)
    return anp.transpose(a, tuple(axes))


@defcomposite(complex="holomorphic", numpy=np.fliplr, samples=lambda rng: [
    ((S.real(rng, (2, 3)),), {}), ((S.real(rng, (2, 3, 2)),), {}),
    ((S.real(rng, (2, 0)),), {})], torch="fliplr")  # fmt: skip
@numpy_when_plain(np.fliplr)
def fliplr(m):
    """Reverse the order of the columns (axis 1), like ``np.fliplr``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.fliplr(np.array([[1.0, 2.0], [3.0, 4.0]])).tolist()
        [[2.0, 1.0], [4.0, 3.0]]
    """
    if len(shape_of(m)) < 2:
        raise ValueError("Input must be >= 2-d.")
    return anp.flip(m, axis=1)


@defcomposite(complex="holomorphic", numpy=np.flipud, samples=lambda rng: [
    ((S.real(rng, (3,)),), {}), ((S.real(rng, (2, 3)),), {}),
    ((S.real(rng, (0, 2)),), {})], torch="flipud")  # fmt: skip
@numpy_when_plain(np.flipud)
def flipud(m):
    """Reverse the order of the rows (axis 0), like ``np.flipud``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.flipud(np.array([1.0, 2.0, 3.0])).tolist()
        [3.0, 2.0, 1.0]
    """
    if len(shape_of(m)) < 1:
        raise ValueError("Input must be >= 1-d.")
    return anp.flip(m, axis=0)


@defcomposite(complex="holomorphic", numpy=np.rot90, samples=lambda rng: [
    ((S.real(rng, (2, 3)),), {}), ((S.real(rng, (2, 3)),), {"k": 2}),
    ((S.real(rng, (2, 3)),), {"k": -1}), ((S.real(rng, (2, 3, 4)),), {"k": 1, "axes": (2, 0)}),
    ((S.real(rng, (2, 3)),), {"k": 4}), ((S.real(rng, (0, 3)),), {"k": 1})],
    torch="rot90", torch_args={"axes": "dims"})  # fmt: skip
@numpy_when_plain(np.rot90)
def rot90(m, k: int = 1, axes: tuple[int, int] = (0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes`` (from the first axis towards the
    second), like ``np.rot90``: flips and a transpose.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.rot90(np.array([[1.0, 2.0], [3.0, 4.0]])).tolist()
        [[2.0, 4.0], [1.0, 3.0]]
    """
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    n = len(shape_of(m))
    if axes[0] == axes[1] or abs(axes[0] - axes[1]) == n:
        raise ValueError("Axes must be different.")
    if not (-n <= axes[0] < n and -n <= axes[1] < n):
        raise ValueError(f"Axes={axes} out of range for array of ndim={n}.")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return anp.flip(anp.flip(m, axis=axes[0]), axis=axes[1])
    perm = list(range(n))
    perm[axes[0]], perm[axes[1]] = perm[axes[1]], perm[axes[0]]
    if k == 1:
        return anp.transpose(anp.flip(m, axis=axes[1]), tuple(perm))
    return anp.flip(anp.transpose(m, tuple(perm)), axis=axes[1])


# --------------------------------------------------------------------------------------------
# diag, diagflat
# --------------------------------------------------------------------------------------------


def _on_diagonal(v, k: int):
    """The square matrix with the vector ``v`` on its ``k``-th diagonal (zeros elsewhere)."""
    length = shape_of(v)[0]
    n = length + abs(k)
    rows = np.arange(length) + max(-k, 0)
    return anp.scatter_add(v, index=(rows, rows + k), shape=(n, n))


@defcomposite(complex="holomorphic", numpy=np.diag, samples=lambda rng: [
    ((S.real(rng, (3,)),), {}), ((S.real(rng, (3,)),), {"k": 1}),
    ((S.real(rng, (2,)),), {"k": -2}), ((S.real(rng, (3, 4)),), {}),
    ((S.real(rng, (3, 4)),), {"k": 2}), ((S.real(rng, (4, 3)),), {"k": -1}),
    ((S.real(rng, (0,)),), {"k": 1}), ((S.real(rng, (2, 3)),), {"k": 5})],
    torch="diag", torch_args={"k": "diagonal"})  # fmt: skip
@numpy_when_plain(np.diag)
def diag(v, k: int = 0):
    """Both directions of ``np.diag``: a 1-D ``v`` becomes the square matrix with ``v`` on its
    ``k``-th diagonal; a 2-D ``v`` gives its ``k``-th diagonal.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.diag(np.array([1.0, 2.0]), 1).tolist()
        [[0.0, 1.0, 0.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.0]]
        >>> ad.grad(lambda m: ad.diag(m).sum())(np.ones((2, 3)))
        array([[1., 0., 0.],
               [0., 1., 0.]])
    """
    ndim = len(shape_of(v))
    if ndim == 1:
        return _on_diagonal(v, int(k))
    if ndim == 2:
        return anp.diagonal(v, offset=int(k), axis1=0, axis2=1)
    raise ValueError("Input must be 1- or 2-d.")


@defcomposite(complex="holomorphic", numpy=np.diagflat, samples=lambda rng: [
    ((S.real(rng, (2, 2)),), {}), ((S.real(rng, (3,)),), {"k": -1}),
    ((S.real(rng, ()),), {"k": 2}), ((S.real(rng, (0, 2)),), {})],
    torch="diagflat", torch_args={"k": "offset"})  # fmt: skip
@numpy_when_plain(np.diagflat)
def diagflat(v, k: int = 0):
    """The square matrix with the flattened ``v`` on its ``k``-th diagonal, like ``np.diagflat``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.diagflat(np.array([[1.0, 2.0]])).tolist()
        [[1.0, 0.0], [0.0, 2.0]]
    """
    return _on_diagonal(anp.ravel(v), int(k))


# --------------------------------------------------------------------------------------------
# broadcast_arrays, meshgrid
# --------------------------------------------------------------------------------------------


@defcomposite(complex="holomorphic", numpy=np.broadcast_arrays, samples=lambda rng: [
    ((S.real(rng, (3,)), S.real(rng, (2, 1))), {}), ((S.real(rng, ()), S.real(rng, (2,))), {}),
    ((S.real(rng, (2, 3)),), {}), ((S.real(rng, (0, 1)), S.real(rng, (3,))), {})])  # fmt: skip
@numpy_when_plain(np.broadcast_arrays)
def broadcast_arrays(*args, subok: bool = False) -> tuple:
    """The arrays broadcast against each other, as a tuple, like ``np.broadcast_arrays``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> [a.shape for a in ad.broadcast_arrays(np.ones(3), np.ones((2, 1)))]
        [(2, 3), (2, 3)]
    """
    shape = np.broadcast_shapes(*(shape_of(a) for a in args))
    return tuple(a if isinstance(a, Box) and shape_of(a) == shape else anp.broadcast_to(a, shape)
                 for a in args)  # fmt: skip


@defcomposite(complex="holomorphic", numpy=np.meshgrid, samples=lambda rng: [
    ((S.real(rng, (3,)), S.real(rng, (2,))), {}),
    ((S.real(rng, (3,)), S.real(rng, (2,)), S.real(rng, (2,))), {"indexing": "ij"}),
    ((S.real(rng, (3,)), S.real(rng, (2, 2))), {"sparse": True}),
    ((S.real(rng, (2,)),), {}), ((S.real(rng, (0,)), S.real(rng, (2,))), {})])  # fmt: skip
@numpy_when_plain(np.meshgrid)
def meshgrid(*xi, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> tuple:
    """Coordinate arrays from coordinate vectors, like ``np.meshgrid`` (a tuple of arrays).

    ``indexing='xy'`` (the default) is Cartesian: the first two output axes are swapped, so the
    arrays have shape ``(len(y), len(x), ...)``; ``'ij'`` is matrix indexing.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> X, Y = ad.meshgrid(np.arange(3.0), np.arange(2.0))
        >>> X.shape, Y.tolist()
        ((2, 3), [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    """
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    n = len(xi)
    ones = (1,) * n
    shapes = [ones[:i] + (-1,) + ones[i + 1 :] for i in range(n)]
    if indexing == "xy" and n > 1:
        shapes[0], shapes[1] = (1, -1) + ones[2:], (-1, 1) + ones[2:]
    out = [anp.reshape(x, s) for x, s in zip(xi, shapes)]
    if not sparse:
        out = list(broadcast_arrays(*out))
    if copy:
        out = [anp.copy(x) for x in out]
    return tuple(out)
