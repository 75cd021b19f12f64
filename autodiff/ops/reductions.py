"""Reductions over ``axis`` (int, tuple or None) with ``keepdims``; running sums and products;
differences and integrals along an axis; the ``reduce``/``accumulate`` methods of ufuncs.

The rules write axes as negative numbers (see :mod:`autodiff.ops.axes`), so they also accept
tangents and cotangents with leading batch axes.

Conventions: ``max``/``min`` share the derivative evenly among tied elements, and a slice
holding NaN has a NaN max whose derivative goes to its NaN element(s), as PyTorch's does;
``std`` has a zero derivative where it is 0 (a constant slice), as PyTorch's, never NaN.
``diff``, ``ediff1d``, ``gradient`` and ``trapezoid`` are composites of slicing and arithmetic,
written as NumPy writes them (the same values), with their spacings or sample points traced too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff import functions as anp
from autodiff.arrays import as_array, maybe_any, surely_all, zeros_like
from autodiff.core import raw, refuse_complex, shape_of
from autodiff.numpy_api import dispatch_ufunc_method
from autodiff.ops import samples as S
from autodiff.ops.axes import batch_of, count, neg_axes
from autodiff.ops.plain import numpy_when_plain
from autodiff.registry import defcomposite, defop

AXIS = {"axis": None, "keepdims": False}


def _samples(domain=S.real, **extra):
    def samples(rng):
        cases = [
            ((domain(rng, (3,)),), {"axis": None, "keepdims": False}),
            ((domain(rng, (2, 3)),), {"axis": 0, "keepdims": False}),
            ((domain(rng, (2, 3, 2)),), {"axis": (0, 2), "keepdims": True}),
            ((domain(rng, (2, 3)),), {"axis": -1, "keepdims": True}),
            ((domain(rng, (0, 3)),), {"axis": 1, "keepdims": False}),
        ]
        return [(a, {**p, **extra}) for a, p in cases]

    return samples


def _expand(g, x, axis, keepdims):
    """Put back the reduced axes of ``g`` (size 1), so it broadcasts against ``x``."""
    axes = neg_axes(axis, len(shape_of(x)))
    if keepdims or not axes:
        return g
    batch = batch_of(g, len(shape_of(x)) - len(axes))
    return anp.reshape(g, batch + tuple(1 if i - len(shape_of(x)) in axes else n
                                         for i, n in enumerate(shape_of(x))))  # fmt: skip


def _spread(g, x, axis, keepdims):
    """``g`` broadcast back over the reduced axes: the VJP of a sum."""
    g = _expand(g, x, axis, keepdims)
    return anp.broadcast_to(g, batch_of(g, len(shape_of(x))) + shape_of(x))


_NO_WHERE: dict = {}


def _where(where: Any) -> dict:
    """``where=`` only when it selects: duck arrays (dask) take no ``where=`` keyword."""
    return _NO_WHERE if where is True else {"where": where}


def _sum_t(t, ans, x, axis, keepdims, where=True):
    axes = neg_axes(axis, len(shape_of(x)))
    if where is True:
        return anp.sum(t, axis=axes, keepdims=keepdims)
    return anp.sum(t, axis=axes, keepdims=keepdims, where=where)


def _sum_g(g, ans, x, axis, keepdims, where=True):
    g = _spread(g, x, axis, keepdims)
    # select, don't multiply: an inf in ḡ never leaks into the entries the sum left out
    return g if where is True else anp.where(where, g, _zero(g))


def _zero(like):
    return zeros_like(raw(like), ())  # a 0-d zero of like's array type


SUM = {**AXIS, "where": True}


def _where_samples(rng):
    return [((S.real(rng, (2, 3)),), {"axis": 1, "keepdims": False,
                                      "where": np.array([[True, False, True], [False, True, True]])}),
            ((S.real(rng, (2, 3)),), {"axis": None, "keepdims": True,
                                      "where": np.array([True, False, True])}),
            ((S.real(rng, (0, 3)),), {"axis": 1, "keepdims": False,
                                      "where": np.array([True, False, True])})]  # fmt: skip


defop(
    "sum", lambda x, axis=None, keepdims=False, where=True: np.sum(
        x, axis=axis, keepdims=keepdims, **_where(where)),
    params=SUM, batchable=True,
    jvp=(_sum_t,),  # d Σx = Σ dx (over the entries where= selects)
    vjp=(_sum_g,),  # x̄ = broadcast(ḡ) (0 where where= is false)
    complex="holomorphic", samples=lambda rng: _samples()(rng) + _where_samples(rng),
    formula="d Σx = Σ dx", vjp_formula="x̄ = broadcast(ḡ)",
    doc="Sum over the given axes (where= selects the entries that count)",
)  # fmt: skip


def _n(x, axis):
    return count(shape_of(x), neg_axes(axis, len(shape_of(x))))


def _count(x, axis, keepdims, where):
    """How many entries each mean combines: an int, or an array (of ans's shape) with where=.
    An empty selection counts 1: its mean is NaN, and its derivative 0 (no entry moves it)."""
    if where is True:
        return _n(x, axis)
    selected = np.broadcast_to(np.asarray(raw(where), dtype=bool), shape_of(x))
    n = np.sum(selected, axis=neg_axes(axis, len(shape_of(x))), keepdims=keepdims)
    return np.maximum(n, 1).astype(raw(x).dtype)


defop(
    "mean", lambda x, axis=None, keepdims=False, where=True: np.mean(
        x, axis=axis, keepdims=keepdims, **_where(where)),
    params=SUM, batchable=True,
    jvp=(lambda t, ans, x, axis, keepdims, where: _sum_t(t, ans, x, axis, keepdims, where)
         / _count(x, axis, keepdims, where),),
    # d mean(x) = Σ dx / n
    vjp=(lambda g, ans, x, axis, keepdims, where: _sum_g(
        g / _count(x, axis, keepdims, where), ans, x, axis, keepdims, where),),
    # x̄ = broadcast(ḡ) / n
    complex="holomorphic", samples=lambda rng: _samples()(rng) + _where_samples(rng),
    formula="d mean(x) = Σ dx / n", vjp_formula="x̄ = broadcast(ḡ) / n",
    doc="Mean over the given axes (where= selects the entries that count)",
)  # fmt: skip


def _prod_others(x, axis):
    """∏ of the *other* elements of each reduced slice, computed without dividing by zero.

    Exact in value for any number of zeros, and in derivative (so second order) when a slice has
    at most one zero: entries next to a lone zero keep that zero as a factor, so their
    derivative with respect to it is right.
    """
    zero = raw(x) == 0
    axes = neg_axes(axis, len(shape_of(x)))
    safe = anp.where(zero, 1.0, x)
    p = anp.prod(safe, axis=axes, keepdims=True)  # product of the non-zero entries
    zeros_product = anp.prod(anp.where(zero, x, 1.0), axis=axes, keepdims=True)
    nzeros = np.sum(zero, axis=axes, keepdims=True)
    at_zero = anp.where(nzeros == 1, p, 0.0)
    return anp.where(zero, at_zero, p / safe * zeros_product)


defop(
    "prod", lambda x, axis=None, keepdims=False: np.prod(x, axis=axis, keepdims=keepdims),
    params=AXIS, batchable=True,
    jvp=(lambda t, ans, x, axis, keepdims: _sum_t(t * _prod_others(x, axis), ans, x, axis,
                                                  keepdims),),  # d ∏x = Σᵢ (∏ⱼ≠ᵢ xⱼ) dxᵢ
    vjp=(lambda g, ans, x, axis, keepdims: _spread(g, x, axis, keepdims) * _prod_others(x, axis),),
    # x̄ᵢ = ḡ · ∏ⱼ≠ᵢ xⱼ
    complex="holomorphic", samples=lambda rng: _samples()(rng) + [((np.array([2.0, 0.0, 3.0]),), AXIS),
                                           ((np.array([[0.0, 1.5], [1.5, 2.0]]),),
                                            {"axis": 1, "keepdims": False})],
    formula="d ∏x = Σᵢ (∏ⱼ≠ᵢ xⱼ)·dxᵢ", vjp_formula="x̄ᵢ = ḡ·∏ⱼ≠ᵢ xⱼ (exact with zeros)",
    doc="Product over the given axes",
    torch="prod", torch_args={"axis": "dim", "keepdims": "keepdim"},
)  # fmt: skip


def _share(ans, x, axis, keepdims):
    """1/k at the k elements that attain the max (or min) of their slice, 0 elsewhere.

    A slice holding NaN has NaN for its max: the NaN elements are the ones selected, and they
    share the derivative (as PyTorch's ``max``), rather than nobody getting it.
    """
    xv = raw(x)
    refuse_complex("max/min", xv)  # NumPy orders complex numbers lexicographically: no rule
    m = raw(_expand(ans, x, axis, keepdims))
    hit = xv == m
    axes = neg_axes(axis, xv.ndim)
    k = np.sum(hit, axis=axes, keepdims=True)
    # no element equals the max of its slice: the max, and the slice, hold NaN
    if not surely_all(k):
        hit |= np.isnan(m) & np.isnan(xv)
        k = np.sum(hit, axis=axes, keepdims=True)
    return as_array(hit / np.maximum(k, 1), xv.dtype)


def _extremum(name, fn):
    defop(
        name, lambda x, axis=None, keepdims=False: fn(x, axis=axis, keepdims=keepdims),
        params=AXIS, batchable=True,
        jvp=(lambda t, ans, x, axis, keepdims: _sum_t(t * _share(ans, x, axis, keepdims), ans, x,
                                                      axis, keepdims),),
        # d max(x) = mean of dx over the elements that attain the max
        vjp=(lambda g, ans, x, axis, keepdims: _spread(g, x, axis, keepdims)
             * _share(ans, x, axis, keepdims),),  # x̄ = ḡ·[x = max]/#ties
        samples=lambda rng: [c for c in _samples(S.distinct)(rng) if c[0][0].size],
        formula=f"d {name}(x) = mean of dx where x = {name}(x) (ties share evenly; a NaN is "
        "the one selected)",
        vjp_formula=f"x̄ = ḡ·[x = {name}(x)] / #ties",
        doc=f"{name.capitalize()} over the given axes",
        torch="a" + name, torch_args={"axis": "dim", "keepdims": "keepdim"},
    )  # fmt: skip


_extremum("max", np.max)
_extremum("min", np.min)

VAR = {"axis": None, "ddof": 0, "keepdims": False}


def _centered(x, axis):
    return x - anp.mean(x, axis=neg_axes(axis, len(shape_of(x))), keepdims=True)


def _dof_scale(x, axis, ddof):
    """2 / (n - ddof); NaN when n - ddof ≤ 0, where the variance itself is NaN or inf."""
    dof = _n(x, axis) - ddof
    return 2.0 / dof if dof > 0 else float("nan")


def _centered_conj(x, axis):
    """``conj(x - mean)``: NumPy's var of a complex x is the mean of |x - mean|², real-valued."""
    c = _centered(x, axis)
    return anp.conj(c) if raw(x).dtype.kind == "c" else c


def _var_t(t, ans, x, axis, ddof, keepdims):
    # d var(x) = 2 Σ Re(conj(x - x̄) dx) / (n - ddof)
    d = _sum_t(_centered_conj(x, axis) * t, ans, x, axis, keepdims) * _dof_scale(x, axis, ddof)
    return anp.real(d) if raw(d).dtype.kind == "c" else d


def _var_g(g, ans, x, axis, ddof, keepdims):
    # x̄ = ḡ · 2 conj(x - mean) / (n - ddof)
    return _spread(g, x, axis, keepdims) * _centered_conj(x, axis) * _dof_scale(x, axis, ddof)


def _var_samples(rng):
    return [(a, {**p, "ddof": d}) for (a, p), d in zip(_samples()(rng), [0, 1, 0, 1, 0])
            if a[0].size]  # fmt: skip


defop(
    "var", lambda x, axis=None, ddof=0, keepdims=False: np.var(x, axis=axis, ddof=ddof,
                                                               keepdims=keepdims),
    params=VAR, batchable=True, jvp=(_var_t,), vjp=(_var_g,), samples=_var_samples, complex=True,
    formula="d var(x) = 2·Σ Re(conj(x - mean)·dx) / (n - ddof)",
    vjp_formula="x̄ = ḡ·2 conj(x - mean)/(n - ddof)",
    doc="Variance over the given axes (of a complex x, the mean of |x - mean|², real)",
)  # fmt: skip


def _over_2std(d, ans):
    """``d / (2·std)``, and 0 where std = 0 (a constant slice): PyTorch's convention, a
    subgradient as for ``norm`` at 0, never NaN. The double ``where`` keeps the division by zero
    out of every derivative, at any order."""
    zero = raw(ans) == 0
    if not maybe_any(zero):
        return d / (2.0 * ans)
    return anp.where(zero, _zero(d), d / (2.0 * anp.where(zero, 1.0, ans)))


defop(
    "std", lambda x, axis=None, ddof=0, keepdims=False: np.std(x, axis=axis, ddof=ddof,
                                                               keepdims=keepdims),
    params=VAR, batchable=True,
    jvp=(lambda t, ans, x, axis, ddof, keepdims: _over_2std(_var_t(t, ans, x, axis, ddof,
                                                                   keepdims), ans),),
    # d std = d var / (2 std) (0 where std = 0)
    vjp=(lambda g, ans, x, axis, ddof, keepdims: _var_g(_over_2std(g, ans), ans, x, axis, ddof,
                                                         keepdims),),
    # x̄ = var's x̄ for ḡ/(2 std) (0 where std = 0)
    samples=_var_samples, formula="d std(x) = d var(x) / (2·std(x)) (0 where std = 0)",
    vjp_formula="x̄ = ḡ·(x - mean)/((n - ddof)·std) (0 where std = 0)",
    doc="Standard deviation over the given axes (derivative 0 at a constant slice, as PyTorch; "
    "real for a complex x)", complex=True,
)  # fmt: skip


def _logsumexp(x, axis=None, keepdims=False):
    x = as_array(x)
    m = np.max(x, axis=axis, keepdims=True) if x.size else zeros_like(x, (1,) * x.ndim)
    m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis if axis is not None else None)


def _softmax_like(ans, x, axis, keepdims):
    return anp.exp(x - _expand(ans, x, axis, keepdims))


defop(
    "logsumexp", _logsumexp, params=AXIS, batchable=True,
    jvp=(lambda t, ans, x, axis, keepdims: _sum_t(t * _softmax_like(ans, x, axis, keepdims), ans,
                                                  x, axis, keepdims),),  # d lse(x) = Σ softmax(x) dx
    vjp=(lambda g, ans, x, axis, keepdims: _spread(g, x, axis, keepdims)
         * _softmax_like(ans, x, axis, keepdims),),  # x̄ = ḡ · softmax(x)
    samples=lambda rng: [c for c in _samples()(rng) if c[0][0].size],
    formula="d log Σeˣ = Σ softmax(x)·dx", vjp_formula="x̄ = ḡ·softmax(x)",
    doc="log(sum(exp(x))) over the given axes, computed stably (holomorphic for complex x)",
    complex="holomorphic",
    torch="logsumexp", torch_args={"axis": "dim", "keepdims": "keepdim"},
)  # fmt: skip


def _cumsum_t(t, ans, x, axis):
    if axis is None:
        return anp.cumsum(anp.reshape(t, batch_of(t, len(shape_of(x))) + (-1,)), axis=-1)
    return anp.cumsum(t, axis=neg_axes(axis, len(shape_of(x)))[0])


def _cumsum_g(g, ans, x, axis):
    # the transpose of a running sum is a running sum from the other end
    a = -1 if axis is None else neg_axes(axis, len(shape_of(x)))[0]
    rev = anp.flip(anp.cumsum(anp.flip(g, axis=a), axis=a), axis=a)
    return anp.reshape(rev, batch_of(g, len(shape_of(ans))) + shape_of(x))


defop(
    "cumsum", lambda x, axis=None: np.cumsum(x, axis=axis), params={"axis": None},
    batchable=True,
    jvp=(_cumsum_t,),  # d cumsum(x) = cumsum(dx)
    vjp=(_cumsum_g,),  # x̄ = reverse cumsum of ḡ
    complex="holomorphic", samples=lambda rng: [((S.real(rng, (4,)),), {"axis": None}),
                         ((S.real(rng, (2, 3)),), {"axis": 1}),
                         ((S.real(rng, (2, 3)),), {"axis": None})],
    formula="d cumsum(x) = cumsum(dx)", vjp_formula="x̄ = flip(cumsum(flip(ḡ)))",
    doc="Running sum along an axis (flattened when axis is None)",
    torch="cumsum", torch_args={"axis": "dim"},
)  # fmt: skip


def _running(x, axis):
    """The negative axis a running op works along (-1 for the flattened ``x`` when axis is None)."""
    return -1 if axis is None else neg_axes(axis, len(shape_of(x)))[0]


def _flat(v, x, axis):
    """``v`` (``x``'s shape, maybe with batch axes) flattened like ``x`` when axis is None."""
    if axis is None:
        return anp.reshape(v, batch_of(v, len(shape_of(x))) + (-1,))
    return v


def _rev_cumsum(v, a):
    return anp.flip(anp.cumsum(anp.flip(v, axis=a), axis=a), axis=a)


def _cumprod_parts(x, axis):
    """For the slices holding zeros: the zero mask, how many zeros each prefix holds, the running
    product of the non-zero entries and the running product of the zero entries (0 in value,
    but traced, so the derivative of a product with one zero by that zero is right).

    Values and first derivatives are exact for any number of zeros; second derivatives when no
    prefix holds two zeros (as for ``prod``)."""
    xf = _flat(x, x, axis)
    a = _running(x, axis)
    zero = raw(xf) == 0
    zeros_before = np.cumsum(zero, axis=a)
    safe = anp.where(zero, 1.0, xf)
    return (
        zero,
        zeros_before,
        safe,
        anp.cumprod(safe, axis=a),
        anp.cumprod(anp.where(zero, xf, 1.0), axis=a),
    )


def _cumprod_t(t, ans, x, axis):
    # d yᵢ = Σⱼ≤ᵢ (∏ₖ≤ᵢ,ₖ≠ⱼ xₖ) dxⱼ = yᵢ · Σⱼ≤ᵢ dxⱼ/xⱼ without zeros
    a = _running(x, axis)
    t = _flat(t, x, axis)
    if not maybe_any(raw(x) == 0):
        return ans * anp.cumsum(t / _flat(x, x, axis), axis=a)
    zero, before, safe, nonzero_prod, zero_prod = _cumprod_parts(x, axis)
    others = anp.cumsum(anp.where(zero, _zero(t), t / safe), axis=a)  # the non-zero j
    at_zero = anp.cumsum(anp.where(zero, t, _zero(t)), axis=a)  # dx at the first zero
    return nonzero_prod * (zero_prod * others + anp.where(before == 1, at_zero, _zero(t)))


def _cumprod_g(g, ans, x, axis):
    # x̄ⱼ = Σᵢ≥ⱼ ḡᵢ ∏ₖ≤ᵢ,ₖ≠ⱼ xₖ = (reverse cumsum of ḡ·y)ⱼ / xⱼ without zeros
    a = _running(x, axis)
    if not maybe_any(raw(x) == 0):
        out = _rev_cumsum(g * ans, a) / _flat(x, x, axis)
    else:
        zero, before, safe, nonzero_prod, zero_prod = _cumprod_parts(x, axis)
        gp = g * nonzero_prod
        out = anp.where(zero, _rev_cumsum(anp.where(before == 1, gp, _zero(gp)), a),
                        _rev_cumsum(gp * zero_prod, a) / safe)  # fmt: skip
    if axis is None:
        out = anp.reshape(out, batch_of(g, 1) + shape_of(x))
    return out


defop(
    "cumprod", lambda x, axis=None: np.cumprod(x, axis=axis), params={"axis": None},
    batchable=True,
    jvp=(_cumprod_t,),  # d yᵢ = Σⱼ≤ᵢ (∏ₖ≤ᵢ,ₖ≠ⱼ xₖ) dxⱼ
    vjp=(_cumprod_g,),  # x̄ⱼ = Σᵢ≥ⱼ ḡᵢ ∏ₖ≤ᵢ,ₖ≠ⱼ xₖ
    complex="holomorphic", samples=lambda rng: [((S.real(rng, (4,)),), {"axis": None}),
                         ((S.real(rng, (2, 3)),), {"axis": 1}),
                         ((S.real(rng, (3, 2)),), {"axis": None}),
                         ((np.array([1.5, 0.0, 2.0, -0.5]),), {"axis": 0}),
                         ((np.array([[0.0, 1.5, 2.0], [1.2, -0.7, 0.0]]),), {"axis": 1}),
                         ((np.array([[0.0, 1.5], [1.1, 2.0]]),), {"axis": None}),
                         ((S.real(rng, (0, 3)),), {"axis": 1})],
    formula="d yᵢ = Σⱼ≤ᵢ (∏ₖ≤ᵢ,ₖ≠ⱼ xₖ)·dxⱼ (exact with zeros)",
    vjp_formula="x̄ⱼ = Σᵢ≥ⱼ ḡᵢ·∏ₖ≤ᵢ,ₖ≠ⱼ xₖ (reverse cumsum of ḡ·y / x without zeros)",
    doc="Running product along an axis (flattened when axis is None)",
    torch="cumprod", torch_args={"axis": "dim"},
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Differences and integrals along an axis: composites of slicing and arithmetic (exact, and as
# fast as NumPy's own, which are written the same way)
# --------------------------------------------------------------------------------------------


def _along(axis_neg: int, s: slice | int) -> tuple:
    """The index ``[..., s, :, ...]`` that applies ``s`` to a negative axis."""
    return (Ellipsis, s) + (slice(None),) * (-axis_neg - 1)


def _array(v: Any) -> Any:
    """Lists and numbers become arrays; arrays, duck arrays and traced values stay as they are."""
    return v if hasattr(v, "shape") else np.asarray(v)


def _diff_samples(rng):
    return [((S.real(rng, (5,)),), {}),
            ((S.real(rng, (3, 4)),), {"n": 2, "axis": 0}),
            ((S.real(rng, (2, 3)),), {"axis": 1, "prepend": S.real(rng, (2, 1)), "append": 0.5}),
            ((S.real(rng, (0, 3)),), {"axis": 1})]  # fmt: skip


def _edge(extra: Any, a: Any, ax: int) -> Any:
    """A ``prepend``/``append`` value as an array with ``a``'s shape but 1 along ``ax``."""
    extra = _array(extra)
    if len(shape_of(extra)) == 0:
        shape = list(shape_of(a))
        shape[ax] = 1
        extra = anp.broadcast_to(extra, tuple(shape))
    return extra


@defcomposite(
    complex="holomorphic", samples=_diff_samples, torch="diff", torch_args={"axis": "dim"}
)
@numpy_when_plain(np.diff)
def diff(a, n: int = 1, axis: int = -1, prepend: Any = np._NoValue, append: Any = np._NoValue):
    """The n-th discrete difference along ``axis``, like ``np.diff`` (``prepend`` and ``append``
    may be traced too; ``None`` means none, as in PyTorch).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.grad(lambda x: ad.diff(x).sum())(np.array([1.0, 4.0, 9.0]))
        array([-1.,  0.,  1.])
    """
    if n == 0:
        return a
    if n < 0:
        raise ValueError(f"diff: order must be non-negative but got {n!r}")
    a = _array(a)
    nd = len(shape_of(a))
    if nd == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    ax = neg_axes(axis, nd)[0]
    parts = [a]
    if prepend is not None and prepend is not np._NoValue:
        parts.insert(0, _edge(prepend, a, ax))
    if append is not None and append is not np._NoValue:
        parts.append(_edge(append, a, ax))
    if len(parts) > 1:
        a = anp.concatenate(parts, axis=ax)
    for _ in range(n):
        a = a[_along(ax, slice(1, None))] - a[_along(ax, slice(None, -1))]
    return a


@defcomposite(complex="holomorphic", samples=lambda rng: [((S.real(rng, (2, 3)),), {}),
                                   ((S.real(rng, (4,)),), {"to_end": np.array([1.0, 2.0]),
                                                           "to_begin": -1.0}),
                                   ((S.real(rng, (0,)),), {})])  # fmt: skip
@numpy_when_plain(np.ediff1d)
def ediff1d(ary, to_end: Any = None, to_begin: Any = None):
    """Differences between consecutive elements of the flattened array, like ``np.ediff1d``
    (``to_begin``/``to_end`` are put in front and at the end, and may be traced).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.jacfwd(ad.ediff1d)(np.array([1.0, 2.0, 4.0]))
        array([[-1.,  1.,  0.],
               [ 0., -1.,  1.]])
    """
    flat = anp.reshape(_array(ary), (-1,))
    parts = [flat[1:] - flat[:-1]]
    if to_begin is not None:
        parts.insert(0, anp.reshape(_array(to_begin), (-1,)))
    if to_end is not None:
        parts.append(anp.reshape(_array(to_end), (-1,)))
    return parts[0] if len(parts) == 1 else anp.concatenate(parts, axis=0)


_trapezoid_np = tuple(f for f in (getattr(np, "trapezoid", None), getattr(np, "trapz", None)) if f)


@defcomposite(complex="holomorphic", numpy=_trapezoid_np, samples=lambda rng: [
    ((S.real(rng, (5,)),), {}),
    ((S.real(rng, (3, 4)), np.sort(S.real(rng, (3,)))), {"axis": 0}),
    ((S.real(rng, (2, 4)), S.real(rng, (2, 4))), {}),
    ((S.real(rng, (2, 3)),), {"dx": 0.3, "axis": 1}),
    ((S.real(rng, (0, 3)),), {"axis": 1}),
])  # fmt: skip
@numpy_when_plain(_trapezoid_np[0])
def trapezoid(y, x: Any = None, dx: Any = 1.0, axis: int = -1):
    """Integral of ``y`` along ``axis`` by the trapezoidal rule, like ``np.trapezoid`` (and the
    older ``np.trapz``); ``y``, the sample points ``x`` and the spacing ``dx`` may all be traced.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.grad(ad.trapezoid)(np.array([1.0, 2.0, 3.0]))
        array([0.5, 1. , 0.5])
    """
    y = _array(y)
    nd = len(shape_of(y))
    ax = neg_axes(axis, nd)[0]
    if x is None:
        d = dx
    else:
        x = _array(x)
        if len(shape_of(x)) == 1:
            d = diff(x)
            shape = [1] * nd
            shape[ax] = shape_of(d)[0]
            d = anp.reshape(d, tuple(shape))
        else:
            d = diff(x, axis=ax)
    return anp.sum(d * (y[_along(ax, slice(1, None))] + y[_along(ax, slice(None, -1))]) / 2.0,
                   axis=ax)  # fmt: skip


def _spacings(f, varargs, axes):
    """The spacing of each axis, as ``np.gradient`` reads ``varargs``: a scalar, or the
    differences of 1-D coordinates (a scalar again when they are evenly spaced)."""
    if not varargs:
        return [1.0] * len(axes)
    if len(varargs) == 1 and len(shape_of(_array(varargs[0]))) == 0:
        return list(varargs) * len(axes)
    if len(varargs) != len(axes):
        raise TypeError("invalid number of arguments")
    out = []
    for ax, distances in zip(axes, varargs):
        distances = _array(distances)
        if len(shape_of(distances)) == 0:
            out.append(distances)
            continue
        if len(shape_of(distances)) != 1:
            raise ValueError("distances must be either scalars or 1d")
        if shape_of(distances)[0] != shape_of(f)[ax]:
            raise ValueError("when 1d, distances must match the length of the corresponding "
                             "dimension")  # fmt: skip
        if not np.issubdtype(raw(distances).dtype, np.inexact):
            distances = anp.astype(distances, np.float64)
        d = diff(distances)
        dv = raw(d)
        out.append(d[0] if dv.size and np.all(dv == dv[0]) else d)
    return out


def _gradient_axis(f, ax, h, edge_order, nd):
    """``np.gradient`` along one (negative) axis with spacing ``h`` (scalar or per-interval)."""
    if shape_of(f)[ax] < edge_order + 1:
        raise ValueError("Shape of array too small to calculate a numerical gradient, at least "
                         "(edge_order + 1) elements are required.")  # fmt: skip

    def at(s):
        return f[_along(ax, s)]

    uniform = len(shape_of(h)) == 0 if hasattr(h, "shape") else True
    if uniform:
        interior = (at(slice(2, None)) - at(slice(None, -2))) / (2.0 * h)
    else:
        dx1, dx2 = h[:-1], h[1:]
        shape = [1] * nd
        shape[ax] = -1
        a = anp.reshape(-dx2 / (dx1 * (dx1 + dx2)), tuple(shape))
        b = anp.reshape((dx2 - dx1) / (dx1 * dx2), tuple(shape))
        c = anp.reshape(dx1 / (dx2 * (dx1 + dx2)), tuple(shape))
        interior = a * at(slice(None, -2)) + b * at(slice(1, -1)) + c * at(slice(2, None))
    if edge_order == 1:
        first = (at(slice(1, 2)) - at(slice(0, 1))) / (h if uniform else h[0])
        last = (at(slice(-1, None)) - at(slice(-2, -1))) / (h if uniform else h[-1])
    else:
        if uniform:
            a, b, c = -1.5 / h, 2.0 / h, -0.5 / h
        else:
            dx1, dx2 = h[0], h[1]
            a = -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2))
            b = (dx1 + dx2) / (dx1 * dx2)
            c = -dx1 / (dx2 * (dx1 + dx2))
        first = a * at(slice(0, 1)) + b * at(slice(1, 2)) + c * at(slice(2, 3))
        if uniform:
            a, b, c = 0.5 / h, -2.0 / h, 1.5 / h
        else:
            dx1, dx2 = h[-2], h[-1]
            a = dx2 / (dx1 * (dx1 + dx2))
            b = -(dx2 + dx1) / (dx1 * dx2)
            c = (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2))
        last = a * at(slice(-3, -2)) + b * at(slice(-2, -1)) + c * at(slice(-1, None))
    return anp.concatenate([first, interior, last], axis=ax)


@defcomposite(complex="holomorphic", samples=lambda rng: [
    ((S.real(rng, (5,)),), {}),
    ((S.real(rng, (4,)), 0.5), {"edge_order": 2}),
    ((S.real(rng, (3, 4)), np.array([0.0, 0.5, 1.5]), 0.3), {}),
    ((S.real(rng, (3, 4)), np.array([0.0, 0.4, 1.1, 1.5])), {"axis": 1, "edge_order": 2}),
    ((S.real(rng, (2, 3)),), {"axis": 0}),
])  # fmt: skip
@numpy_when_plain(np.gradient)
def gradient(f, *varargs: Any, axis: Any = None, edge_order: int = 1):
    """Numerical derivative of sampled values, like ``np.gradient``: central differences inside,
    one-sided ones (``edge_order`` 1 or 2) at the ends. ``f`` and the spacings may be traced.

    Returns one array, or a tuple of one array per axis.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.gradient(np.array([1.0, 4.0, 9.0]))
        array([3., 4., 5.])
    """
    f = _array(f)
    if not np.issubdtype(raw(f).dtype, np.inexact):
        f = anp.astype(f, np.float64)
    nd = len(shape_of(f))
    axes = tuple(range(-nd, 0)) if axis is None else neg_axes(axis, nd)
    if axis is not None and not isinstance(axis, (int, np.integer)):
        axes = tuple(int(a) % nd - nd for a in axis)  # in the order given
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    out = tuple(_gradient_axis(f, ax, h, edge_order, nd)
                for ax, h in zip(axes, _spacings(f, varargs, axes)))  # fmt: skip
    return out[0] if len(axes) == 1 else out


# --------------------------------------------------------------------------------------------
# The reduce and accumulate methods of ufuncs: np.add.reduce(x) is np.sum(x, axis=0), ...
# --------------------------------------------------------------------------------------------


def _ufunc_method(what: str, reduce, combine=None, where_ok: bool = False, accumulate=False):
    def method(a, axis=0, dtype=None, out=None, keepdims=False, initial=np._NoValue, where=True):
        if out is not None or dtype is not None:
            raise TypeError(f"{what} with {'out=' if out is not None else 'dtype='} is not "
                            "supported on traced values: call it without")  # fmt: skip
        if accumulate:
            return reduce(a, axis=axis)
        if where is not True and not where_ok:
            raise TypeError(f"{what} with where= is not supported on traced values; select "
                            "with ad.where first")  # fmt: skip
        r = reduce(a, axis=axis, keepdims=keepdims, **({} if where is True else {"where": where}))
        return r if initial is np._NoValue else combine(r, initial)

    method.__name__ = method.__qualname__ = what.replace("np.", "").replace(".", "_")
    return method


for _ufunc, _method_name, _reduce, _combine, _where_ok in [
    (np.add, "reduce", lambda *a, **k: anp.sum(*a, **k), lambda r, i: r + i, True),
    (np.multiply, "reduce", lambda *a, **k: anp.prod(*a, **k), lambda r, i: r * i, False),
    (np.maximum, "reduce", lambda *a, **k: anp.max(*a, **k), lambda r, i: anp.maximum(r, i),
     False),
    (np.minimum, "reduce", lambda *a, **k: anp.min(*a, **k), lambda r, i: anp.minimum(r, i),
     False),
    (np.add, "accumulate", lambda *a, **k: anp.cumsum(*a, **k), None, False),
    (np.multiply, "accumulate", lambda *a, **k: anp.cumprod(*a, **k), None, False),
]:  # fmt: skip
    dispatch_ufunc_method(_ufunc, _method_name)(_ufunc_method(
        f"np.{_ufunc.__name__}.{_method_name}", _reduce, _combine, _where_ok,
        accumulate=_method_name == "accumulate"))  # fmt: skip
