"""Statistics: NaN-aware reductions, order statistics, weighted means and covariances.

Every function here is a composite: an exact composition of registered ops (``where``, ``sum``,
``max``, ``partition``, indexing, arithmetic), so its derivatives are theirs and need no rule of
their own. With no traced argument each one is a single call of NumPy's function of the same
name (:func:`autodiff.ops.plain.numpy_when_plain`).

Conventions, where a derivative could be read several ways:

* **NaN-aware reductions** (``nansum``, ``nanmean``, ``nanmax``, ``nanmin``) ignore NaNs, in
  value and in derivative: a NaN entry gets a zero derivative (as PyTorch's ``nansum`` and
  JAX's ``nan*``). An all-NaN slice has NumPy's value (``nanmean``/``nanmax``: NaN, with NumPy's
  warning) and a zero derivative.
* **Order statistics** (``median``, ``quantile``, ``percentile``) partition each slice as
  NumPy does and interpolate between the selected elements: the derivative goes to the elements
  NumPy selected (for tied values, the ones ``np.argpartition`` put in place). A slice holding
  NaN has a NaN result, whose derivative goes to a NaN element of the slice, as for ``max``.
  A traced ``q`` is differentiated for the continuous methods (``linear``, ``hazen``, ...):
  ``d/dq`` is the slope between the two neighbours, 0 beyond the ends; it is 0 for the discrete
  methods (``lower``, ``nearest``, ...), which are piecewise constant in ``q``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from autodiff import functions as anp
from autodiff.arrays import zeros_like
from autodiff.core import Box, raw, shape_of
from autodiff.ops import samples as S
from autodiff.ops.axes import count, neg_axes
from autodiff.ops.plain import numpy_when_plain
from autodiff.registry import defcomposite

_NO = np._NoValue


def _array(v: Any) -> Any:
    """Lists and numbers become arrays; arrays, duck arrays and traced values stay as they are."""
    return v if hasattr(v, "shape") else np.asarray(v)


def _no(what: str, **given: Any) -> None:
    """Reject arguments that have no meaning on traced values, naming them."""
    for name, value in given.items():
        if value is not None and value is not _NO:
            raise TypeError(
                f"{what}: {name}= is not supported on traced values; call it without {name}="
            )


def _zero(like: Any) -> np.ndarray:
    return zeros_like(raw(like), ())  # a 0-d zero of like's array type


def _reduced_last(a: Any, axis: Any) -> tuple[Any, tuple[int, ...]]:
    """``a`` with the reduced axes moved to the end and merged into one; and those axes
    (negative, sorted), for ``keepdims``."""
    shape = shape_of(a)
    nd = len(shape)
    axes = neg_axes(axis, nd)
    n = count(shape, axes)
    if axis is None:
        return anp.reshape(a, (n,)), axes
    last = tuple(range(-len(axes), 0))
    if axes != last:
        a = anp.moveaxis(a, axes, last)
    kept = tuple(k for i, k in zip(range(-nd, 0), shape) if i not in axes)
    return anp.reshape(a, kept + (n,)), axes


def _keepdims(r: Any, a_shape: tuple[int, ...], axes: tuple[int, ...], lead: int) -> Any:
    """Put the reduced axes back, of length one, after ``lead`` leading (quantile) axes."""
    nd = len(a_shape)
    shape = tuple(1 if i in axes else n for i, n in zip(range(-nd, 0), a_shape))
    return anp.reshape(r, shape_of(r)[:lead] + shape)


def _nan_slices(p: Any) -> np.ndarray:
    """Which slices (along the last axis, partitioned so that the last entry is the largest)
    hold a NaN, as a mask of shape ``(..., 1)``."""
    pv = raw(p)
    if not np.issubdtype(pv.dtype, np.inexact):
        return np.zeros(pv.shape[:-1] + (1,), dtype=bool)
    return np.isnan(pv[..., -1:])


# --------------------------------------------------------------------------------------------
# NaN-aware reductions
# --------------------------------------------------------------------------------------------


def _nan_samples(rng: np.random.Generator) -> list:
    x = S.distinct(rng, (3, 4))
    x[0, 1] = x[2, 3] = np.nan
    y = S.distinct(rng, (2, 3, 2))
    y[1, 0, 1] = np.nan
    return [((x,), {}),
            ((x,), {"axis": 1}),
            ((y,), {"axis": (0, 2), "keepdims": True}),
            ((S.distinct(rng, (4,)),), {"axis": 0}),
            ((S.real(rng, (0, 3)),), {"axis": 1})]  # fmt: skip


def _without_nans(a: Any, fill: float) -> tuple[Any, np.ndarray]:
    """``a`` with its NaNs replaced by ``fill`` (a constant: no derivative reaches them)."""
    a = _array(a)
    nan = np.isnan(raw(a))
    return (anp.where(nan, fill, a) if nan.any() else a), nan


@defcomposite(complex="holomorphic", samples=_nan_samples, torch="nansum",
              torch_args={"axis": "dim", "keepdims": "keepdim"})  # fmt: skip
@numpy_when_plain(np.nansum)
def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=_NO, where=_NO):
    """Sum treating NaNs as zero, like ``np.nansum`` (a NaN entry gets a zero derivative).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.grad(ad.nansum)(np.array([1.0, np.nan, 2.0]))
        array([1., 0., 1.])
    """
    _no("nansum", dtype=dtype, out=out)
    filled, _ = _without_nans(a, 0.0)
    r = anp.sum(filled, axis=axis, keepdims=keepdims,
                **({} if where is _NO else {"where": where}))  # fmt: skip
    return r if initial is _NO else r + initial


@defcomposite(complex="holomorphic", samples=_nan_samples, torch="nanmean",
              torch_args={"axis": "dim", "keepdims": "keepdim"})  # fmt: skip
@numpy_when_plain(np.nanmean)
def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=_NO):
    """Mean of the entries that are not NaN, like ``np.nanmean`` (NaN entries get a zero
    derivative; an all-NaN slice gives NaN, with NumPy's warning, and a zero derivative).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.grad(ad.nanmean)(np.array([1.0, np.nan, 2.0]))
        array([0.5, 0. , 0.5])
    """
    _no("nanmean", dtype=dtype, out=out)
    filled, nan = _without_nans(a, 0.0)
    keep = ~nan if where is _NO else ~nan & np.asarray(raw(where), dtype=bool)
    axes = neg_axes(axis, len(shape_of(filled)))
    n = np.sum(np.broadcast_to(keep, shape_of(filled)), axis=axes, keepdims=keepdims)
    empty = n == 0
    total = anp.sum(filled, axis=axis, keepdims=keepdims, where=keep)
    mean = total / np.maximum(n, 1).astype(raw(filled).dtype)
    if np.any(empty):
        warnings.warn("Mean of empty slice", RuntimeWarning, stacklevel=3)
        mean = anp.where(empty, np.array(np.nan, dtype=raw(filled).dtype), mean)
    return mean


def _nan_extremum(name: str, fill: float):
    def fn(a, axis=None, out=None, keepdims=False, initial=_NO, where=_NO):
        _no(f"nan{name}", out=out, initial=initial, where=where)
        filled, nan = _without_nans(a, fill)
        r = getattr(anp, name)(filled, axis=axis, keepdims=keepdims)
        if not nan.any():
            return r
        all_nan = np.all(nan, axis=axis, keepdims=keepdims)
        if np.any(all_nan):
            warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=3)
            r = anp.where(all_nan, np.array(np.nan, dtype=raw(filled).dtype), r)
        return r

    fn.__name__ = fn.__qualname__ = f"nan{name}"
    fn.__doc__ = (
        f"{name.capitalize()} ignoring NaNs, like ``np.nan{name}`` (NaN entries get a zero "
        "derivative, as JAX's; ties share it evenly, as for ``max``; an all-NaN slice gives "
        "NaN, with NumPy's warning, and a zero derivative).\n\n"
        "    Examples:\n        >>> import numpy as np, autodiff as ad\n"
        f"        >>> ad.grad(ad.nan{name})(np.array([1.0, np.nan, 2.0]))\n"
        f"        array([{'0., 0., 1.' if name == 'max' else '1., 0., 0.'}])\n"
    )
    return numpy_when_plain(getattr(np, f"nan{name}"))(fn)


def _extremum_samples(rng: np.random.Generator) -> list:
    return [c for c in _nan_samples(rng) if c[0][0].size]


nanmax = defcomposite(samples=_extremum_samples)(_nan_extremum("max", -np.inf))
nanmin = defcomposite(samples=_extremum_samples)(_nan_extremum("min", np.inf))


def _reduce_samples(rng: np.random.Generator) -> list:
    return [((S.distinct(rng, (5,)),), {}),
            ((S.distinct(rng, (3, 4)),), {"axis": 0}),
            ((S.distinct(rng, (2, 3, 4)),), {"axis": (0, 2), "keepdims": True}),
            ((S.distinct(rng, (2, 4)),), {"axis": -1, "keepdims": True})]  # fmt: skip


@defcomposite(samples=_reduce_samples)
@numpy_when_plain(np.ptp)
def ptp(a, axis=None, out=None, keepdims=False):
    """Range of values (maximum minus minimum) along an axis, like ``np.ptp``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.grad(ad.ptp)(np.array([3.0, 1.0, 2.0]))
        array([ 1., -1.,  0.])
    """
    _no("ptp", out=out)
    a = _array(a)
    return anp.max(a, axis=axis, keepdims=keepdims) - anp.min(a, axis=axis, keepdims=keepdims)


# --------------------------------------------------------------------------------------------
# Order statistics
# --------------------------------------------------------------------------------------------


@defcomposite(samples=lambda rng: _reduce_samples(rng) + [((S.distinct(rng, (3, 5)),),
                                                           {"axis": 1})])  # fmt: skip
@numpy_when_plain(np.median)
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """Median along an axis, like ``np.median``: the middle element, or the mean of the two
    middle ones. The derivative goes to the element(s) NumPy selected; a slice holding NaN has
    a NaN median, whose derivative goes to a NaN element.

    PyTorch's ``median`` takes the lower of the two middle elements, so this is no ``Tensor``
    method; ``quantile(x, 0.5)`` is the same as NumPy's median.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.grad(ad.median)(np.array([3.0, 1.0, 4.0, 2.0]))
        array([0.5, 0. , 0. , 0.5])
    """
    _no("median", out=out)
    a = _array(a)
    flat, axes = _reduced_last(a, axis)
    n = shape_of(flat)[-1]
    if n == 0:
        return anp.mean(a, axis=axis, keepdims=keepdims)  # NaN, with NumPy's warning
    middle = [n // 2 - 1, n // 2] if n % 2 == 0 else [n // 2]
    p = anp.partition(flat, kth=middle + [-1], axis=-1)
    r = anp.mean(p[..., middle[0] : middle[-1] + 1], axis=-1, keepdims=True)
    nan = _nan_slices(p)
    if nan.any():
        r = anp.where(nan, p[..., -1:], r)
    r = anp.reshape(r, shape_of(r)[:-1])
    return _keepdims(r, shape_of(a), axes, 0) if keepdims else r


def _continuous(alpha: float, beta: float):
    # numpy's _compute_virtual_index, with the same order of operations (the same values)
    return lambda n, q: n * q + (alpha + q * (1 - alpha - beta)) - 1


def _boundaries(index: np.ndarray, take_previous) -> np.ndarray:
    previous = np.floor(index)
    gamma = index - previous
    out = np.where(take_previous(gamma, index), previous, previous + 1).astype(np.intp)
    out[out < 0] = 0
    return out


# method: (virtual index from (n, q), gamma fix or None for the discrete methods, traced q)
_METHODS = {
    "inverted_cdf": (lambda n, q: _boundaries(n * q - 1, lambda g, i: g == 0), None),
    "averaged_inverted_cdf": (lambda n, q: n * q - 1,
                              lambda g, i: np.where(g == 0, 0.5, 1.0)),
    "closest_observation": (lambda n, q: _boundaries(
        n * q - 1 - 0.5, lambda g, i: (g == 0) & (np.floor(i) % 2 == 1)), None),
    "interpolated_inverted_cdf": (_continuous(0, 1), "gamma"),
    "hazen": (_continuous(0.5, 0.5), "gamma"),
    "weibull": (_continuous(0, 0), "gamma"),
    "linear": (lambda n, q: (n - 1) * q, "gamma"),
    "median_unbiased": (_continuous(1 / 3.0, 1 / 3.0), "gamma"),
    "normal_unbiased": (_continuous(3 / 8.0, 3 / 8.0), "gamma"),
    "lower": (lambda n, q: np.floor((n - 1) * q).astype(np.intp), None),
    "higher": (lambda n, q: np.ceil((n - 1) * q).astype(np.intp), None),
    "midpoint": (lambda n, q: 0.5 * (np.floor((n - 1) * q) + np.ceil((n - 1) * q)),
                 lambda g, i: np.where(i % 1 == 0, 0.0, 0.5)),
    "nearest": (lambda n, q: np.around((n - 1) * q).astype(np.intp), None),
}  # fmt: skip


def _quantile(a, q, axis, method, keepdims, what, weak):
    """The quantiles ``q`` of ``a`` (``q`` already divided by 100 for percentiles); ``weak``: q
    was a Python number, which keeps a float32 input float32 (NumPy's weak promotion)."""
    if method not in _METHODS:
        raise ValueError(f"{method!r} is not a valid method. Use one of: {list(_METHODS)}")
    virtual_of, fix = _METHODS[method]
    a = _array(a)
    qv = np.asarray(raw(q), dtype=np.float64)
    if qv.ndim > 2:
        raise ValueError("q must be a scalar or 1d")
    if not (np.all(qv >= 0) and np.all(qv <= 1)):
        raise ValueError("Percentiles must be in the range [0, 100]" if what == "percentile"
                         else "Quantiles must be in the range [0, 1]")  # fmt: skip
    flat, axes = _reduced_last(a, axis)
    n = shape_of(flat)[-1]
    if n == 0:
        raise IndexError(f"{what}: a slice to take quantiles of is empty")
    qf = qv.reshape(-1)
    if fix is None:  # discrete: one element per quantile
        index = virtual_of(n, qf)
        p = anp.partition(flat, kth=np.concatenate([index, [-1]]), axis=-1)
        r = p[..., index]
    else:
        virtual = virtual_of(n, qf)
        previous = np.floor(virtual)
        nxt = previous + 1
        above, below = virtual >= n - 1, virtual < 0
        previous[above] = nxt[above] = -1
        previous[below] = nxt[below] = 0
        previous, nxt = previous.astype(np.intp), nxt.astype(np.intp)
        p = anp.partition(flat, kth=np.unique(np.concatenate([[0, -1], previous, nxt])), axis=-1)
        gamma = virtual - previous
        if fix == "gamma":
            if isinstance(q, Box):  # d/dq through the virtual index
                gamma = virtual_of(n, anp.reshape(q, (-1,))) - previous
        else:
            gamma = fix(gamma, virtual)
        upper = raw(gamma) >= 0.5
        if weak and not isinstance(gamma, Box):
            gamma = float(gamma[0])  # a Python q keeps a float32 input float32, as NumPy
        lo, hi = p[..., previous], p[..., nxt]
        d = hi - lo
        # NumPy's _lerp: from the nearer end, so that gamma = 1 gives hi exactly
        r = anp.where(upper, hi - d * (1 - gamma), lo + d * gamma)
    nan = _nan_slices(p)
    if nan.any():
        r = anp.where(nan, p[..., -1:], r)
    batch = shape_of(r)[:-1]
    r = anp.reshape(r, batch + qv.shape)
    if qv.ndim:
        r = anp.moveaxis(r, tuple(range(-qv.ndim, 0)), tuple(range(qv.ndim)))
    return _keepdims(r, shape_of(a), axes, qv.ndim) if keepdims else r


def _quantile_samples(rng: np.random.Generator) -> list:
    return [((S.distinct(rng, (5,)),), {"q": 0.3}),
            ((S.distinct(rng, (3, 4)),), {"q": np.array([0.1, 0.5, 1.0]), "axis": 0}),
            ((S.distinct(rng, (2, 3, 4)),), {"q": 0.7, "axis": (0, 2), "keepdims": True}),
            ((S.distinct(rng, (3, 4)),), {"q": np.array([0.25, 0.8]), "axis": 1,
                                          "method": "hazen"}),
            ((S.distinct(rng, (6,)),), {"q": np.array([0.2, 0.5]), "method": "nearest"}),
            ((S.distinct(rng, (4,)), np.array([0.3, 0.55])), {"method": "weibull"}),
            ((S.distinct(rng, (0, 3)),), {"q": 0.5, "axis": 1})]  # fmt: skip


@defcomposite(samples=_quantile_samples, torch="quantile",
              torch_args={"axis": "dim", "keepdims": "keepdim"})  # fmt: skip
@numpy_when_plain(np.quantile)
def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False,
             *, weights=None, interpolation=None):  # fmt: skip
    """The q-th quantiles along an axis, like ``np.quantile``, with any of NumPy's methods
    (``interpolation=`` is a synonym of ``method=``, as in NumPy and PyTorch). ``a`` and ``q``
    may be traced; see the module's conventions for ties, NaNs and ``d/dq``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.grad(lambda x: ad.quantile(x, 0.25))(np.array([4.0, 1.0, 3.0]))
        array([0. , 0.5, 0.5])
    """
    _no("quantile", out=out, weights=weights)
    weak = type(q) in (int, float)
    return _quantile(a, q, axis, interpolation or method, keepdims, "quantile", weak)


@defcomposite(samples=lambda rng: [((S.distinct(rng, (5,)),), {"q": 30.0}),
                                   ((S.distinct(rng, (3, 4)),), {"q": np.array([10.0, 90.0]),
                                                                 "axis": 1}),
                                   ((S.distinct(rng, (4,)), np.array(40.0)), {})])  # fmt: skip
@numpy_when_plain(np.percentile)
def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, weights=None, interpolation=None):  # fmt: skip
    """The q-th percentiles along an axis, like ``np.percentile`` (``quantile`` of ``q / 100``).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.grad(lambda x: ad.percentile(x, 50.0))(np.array([4.0, 1.0, 3.0]))
        array([0., 0., 1.])
    """
    _no("percentile", out=out, weights=weights)
    weak = type(q) in (int, float)
    q = anp.divide(q, 100.0) if isinstance(q, Box) else np.true_divide(q, 100)
    return _quantile(a, q, axis, interpolation or method, keepdims, "percentile", weak)


# --------------------------------------------------------------------------------------------
# Weighted means, covariance and correlation
# --------------------------------------------------------------------------------------------


def _average_samples(rng: np.random.Generator) -> list:
    # (traced weights are checked in tests/test_statistics.py: here they would come after axis)
    return [((S.real(rng, (4,)),), {}),
            ((S.real(rng, (3, 4)),), {"axis": 1, "weights": S.positive(rng, (4,))}),
            ((S.real(rng, (2, 3)),), {"weights": S.positive(rng, (2, 3)), "keepdims": True}),
            ((S.real(rng, (2, 3, 2)),), {"axis": (2, 0), "weights": S.positive(rng, (2, 2))}),
            ((S.real(rng, (0, 3)),), {"axis": 1, "weights": S.positive(rng, (3,))})]  # fmt: skip


@defcomposite(complex="holomorphic", samples=_average_samples)
@numpy_when_plain(np.average)
def average(a, axis=None, weights=None, returned=False, *, keepdims=_NO):
    """Weighted average along an axis, like ``np.average``; the weights may be traced.

    With ``returned=True``, also the sum of the weights (broadcast to the average's shape).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> w = np.array([1.0, 3.0])
        >>> ad.grad(lambda x: ad.average(x, weights=w))(np.array([2.0, 4.0]))
        array([0.25, 0.75])
    """
    a = _array(a)
    nd = len(shape_of(a))
    axes = None if axis is None else neg_axes(axis, nd)
    kd = {} if keepdims is _NO else {"keepdims": keepdims}
    if weights is None:
        avg = anp.mean(a, axis=axes, **kd)
        scl = np.asarray(raw(a).size / max(raw(avg).size, 1), dtype=raw(avg).dtype)
    else:
        w = _array(weights)
        if shape_of(a) != shape_of(w):
            if axis is None:
                raise TypeError("Axis must be specified when shapes of a and weights differ.")
            if shape_of(w) != tuple(shape_of(a)[ax] for ax in _given_order(axis, nd)):
                raise ValueError("Shape of weights must be consistent with shape of a along "
                                 "specified axis.")  # fmt: skip
            w = anp.transpose(w, tuple(np.argsort(_given_order(axis, nd))))
            w = anp.reshape(w, tuple(s if i in axes else 1
                                     for i, s in zip(range(-nd, 0), shape_of(a))))  # fmt: skip
        scl = anp.sum(anp.broadcast_to(w, shape_of(a)) if shape_of(w) != shape_of(a) else w,
                      axis=axes, **kd)  # fmt: skip
        if np.any(raw(scl) == 0.0):
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = anp.sum(a * w, axis=axes, **kd) / scl
    if not returned:
        return avg
    if shape_of(scl) != shape_of(avg):
        scl = anp.broadcast_to(scl, shape_of(avg))
    return avg, scl


def _given_order(axis: Any, nd: int) -> tuple[int, ...]:
    """``axis`` as negative axes, in the order given (weights follow it)."""
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(int(a) % nd - nd for a in axes)


def _cov_samples(rng: np.random.Generator) -> list:
    return [((S.real(rng, (3, 5)),), {}),
            ((S.real(rng, (5,)), S.real(rng, (5,))), {}),
            ((S.real(rng, (6, 2)),), {"rowvar": False, "bias": True}),
            ((S.real(rng, (2, 4)),), {"ddof": 0, "fweights": np.array([1, 2, 1, 3])}),
            ((S.real(rng, (2, 4)),), {"aweights": S.positive(rng, (4,))}),
            ((S.real(rng, (2, 4)),), {"fweights": np.array([2, 1, 1, 2]),
                                      "aweights": S.positive(rng, (4,))})]  # fmt: skip


@defcomposite(complex=True, samples=_cov_samples, torch="cov", torch_args={"ddof": "correction"})
@numpy_when_plain(np.cov)
def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):  # fmt: skip
    """Covariance matrix, like ``np.cov`` (each row a variable unless ``rowvar=False``);
    ``m``, ``y`` and the ``aweights`` may be traced.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> x = np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])
        >>> ad.cov(x).tolist()
        [[1.0, -1.0], [-1.0, 1.0]]
    """
    _no("cov", dtype=dtype)
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    m = _array(m)
    if len(shape_of(m)) > 2:
        raise ValueError("m has more than 2 dimensions")
    X = anp.reshape(m, (1, -1)) if len(shape_of(m)) < 2 else m
    if not rowvar and len(shape_of(m)) != 1:
        X = anp.transpose(X)
    if shape_of(X)[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        y = _array(y)
        if len(shape_of(y)) > 2:
            raise ValueError("y has more than 2 dimensions")
        Y = anp.reshape(y, (1, -1)) if len(shape_of(y)) < 2 else y
        if not rowvar and shape_of(Y)[0] != 1:
            Y = anp.transpose(Y)
        X = anp.concatenate([X, Y], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    samples = shape_of(X)[1]
    w = None
    if fweights is not None:
        fweights = np.asarray(raw(fweights), dtype=float)  # integer counts: a constant
        if not np.all(fweights == np.around(fweights)):
            raise TypeError("fweights must be integer")
        _check_weights("fweights", fweights, samples)
        w = fweights
    if aweights is not None:
        aweights = _array(aweights)
        if not np.issubdtype(raw(aweights).dtype, np.inexact):
            aweights = np.asarray(aweights, dtype=float)
        _check_weights("aweights", raw(aweights), samples)
        w = aweights if w is None else w * aweights
    avg, w_sum = average(X, axis=1, weights=w, returned=True)
    w_sum = w_sum[0]
    if w is None:
        fact = samples - ddof
    elif ddof == 0:
        fact = w_sum
    elif aweights is None:
        fact = w_sum - ddof
    else:
        fact = w_sum - ddof * anp.sum(w * aweights) / w_sum
    if raw(fact) <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=3)
        scale = np.inf  # NumPy's 1 / 0.0
    else:
        scale = 1 / fact
    X = X - anp.reshape(avg, (-1, 1))
    X_T = anp.transpose(X if w is None else X * w)
    if raw(X_T).dtype.kind == "c":
        X_T = anp.conj(X_T)  # NumPy's X·conj(X)ᵀ: a Hermitian covariance
    return anp.squeeze(anp.matmul(X, X_T) * scale)


def _check_weights(name: str, w: np.ndarray, samples: int) -> None:
    if w.ndim > 1:
        raise RuntimeError(f"cannot handle multidimensional {name}")
    if w.shape[0] != samples:
        raise RuntimeError(f"incompatible numbers of samples and {name}")
    if np.any(w < 0):
        raise ValueError(f"{name} cannot be negative")


@defcomposite(samples=lambda rng: [((S.real(rng, (3, 5)),), {}),
                                   ((S.real(rng, (4,)), S.real(rng, (4,))), {}),
                                   ((S.real(rng, (5, 2)),), {"rowvar": False})],
              torch="corrcoef", complex=True)  # fmt: skip
@numpy_when_plain(np.corrcoef)
def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """Pearson correlation coefficients, like ``np.corrcoef`` (clipped to [-1, 1] as NumPy
    does; the diagonal, always 1, has a zero derivative).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.corrcoef(np.array([[0.0, 1.0, 2.0], [1.0, 3.0, 5.0]])).tolist()
        [[1.0, 1.0], [1.0, 1.0]]
    """
    c = cov(x, y, rowvar, dtype=dtype)
    if len(shape_of(c)) != 2:
        return c / c  # one variable: 1, or NaN for a zero, inf or NaN variance
    d = anp.diagonal(c)
    std = anp.sqrt(anp.real(d) if raw(d).dtype.kind == "c" else d)
    c = c / anp.reshape(std, (-1, 1))
    c = c / anp.reshape(std, (1, -1))
    if raw(c).dtype.kind == "c":  # NumPy clips the real and imaginary parts apart
        return anp.clip(anp.real(c), -1, 1) + 1j * anp.clip(anp.imag(c), -1, 1)
    return anp.clip(c, -1, 1)
