"""Reductions over ``axis`` (int, tuple or None) with ``keepdims``, and ``cumsum``.

The rules write axes as negative numbers (see :mod:`autodiff.ops.axes`), so they also accept
tangents and cotangents with leading batch axes.
"""

from __future__ import annotations

import numpy as np

from autodiff import functions as anp
from autodiff.core import raw, shape_of
from autodiff.ops import samples as S
from autodiff.ops.axes import batch_of, count, neg_axes
from autodiff.registry import defop

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


def _sum_t(t, ans, x, axis, keepdims):
    return anp.sum(t, axis=neg_axes(axis, len(shape_of(x))), keepdims=keepdims)


defop(
    "sum", lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims),
    params=AXIS, batchable=True,
    jvp=(_sum_t,),  # d Σx = Σ dx
    vjp=(lambda g, ans, x, axis, keepdims: _spread(g, x, axis, keepdims),),  # x̄ = broadcast(ḡ)
    samples=_samples(), formula="d Σx = Σ dx", vjp_formula="x̄ = broadcast(ḡ)",
    doc="Sum over the given axes",
)  # fmt: skip


def _n(x, axis):
    return count(shape_of(x), neg_axes(axis, len(shape_of(x))))


defop(
    "mean", lambda x, axis=None, keepdims=False: np.mean(x, axis=axis, keepdims=keepdims),
    params=AXIS, batchable=True,
    jvp=(lambda t, ans, x, axis, keepdims: _sum_t(t, ans, x, axis, keepdims) / _n(x, axis),),
    # d mean(x) = Σ dx / n
    vjp=(lambda g, ans, x, axis, keepdims: _spread(g, x, axis, keepdims) / _n(x, axis),),
    # x̄ = broadcast(ḡ) / n
    samples=_samples(), formula="d mean(x) = Σ dx / n", vjp_formula="x̄ = broadcast(ḡ) / n",
    doc="Mean over the given axes",
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
    samples=lambda rng: _samples()(rng) + [((np.array([2.0, 0.0, 3.0]),), AXIS),
                                           ((np.array([[0.0, 1.5], [1.5, 2.0]]),),
                                            {"axis": 1, "keepdims": False})],
    formula="d ∏x = Σᵢ (∏ⱼ≠ᵢ xⱼ)·dxᵢ", vjp_formula="x̄ᵢ = ḡ·∏ⱼ≠ᵢ xⱼ (exact with zeros)",
    doc="Product over the given axes",
)  # fmt: skip


def _share(ans, x, axis, keepdims):
    """1/k at the k elements that attain the max (or min) of their slice, 0 elsewhere."""
    xv = raw(x)
    hit = xv == raw(_expand(ans, x, axis, keepdims))
    axes = neg_axes(axis, xv.ndim)
    k = np.sum(hit, axis=axes, keepdims=True)
    return np.asarray(hit / np.maximum(k, 1), dtype=xv.dtype)


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
        formula=f"d {name}(x) = mean of dx where x = {name}(x) (ties share evenly)",
        vjp_formula=f"x̄ = ḡ·[x = {name}(x)] / #ties",
        doc=f"{name.capitalize()} over the given axes",
    )  # fmt: skip


_extremum("max", np.max)
_extremum("min", np.min)

VAR = {"axis": None, "ddof": 0, "keepdims": False}


def _centered(x, axis):
    return x - anp.mean(x, axis=neg_axes(axis, len(shape_of(x))), keepdims=True)


def _var_t(t, ans, x, axis, ddof, keepdims):
    # d var(x) = 2 Σ (x - x̄) dx / (n - ddof)
    scale = 2.0 / (_n(x, axis) - ddof)
    return _sum_t(_centered(x, axis) * t, ans, x, axis, keepdims) * scale


def _var_g(g, ans, x, axis, ddof, keepdims):
    # x̄ = ḡ · 2 (x - mean) / (n - ddof)
    return _spread(g, x, axis, keepdims) * _centered(x, axis) * (2.0 / (_n(x, axis) - ddof))


def _var_samples(rng):
    return [(a, {**p, "ddof": d}) for (a, p), d in zip(_samples()(rng), [0, 1, 0, 1, 0])
            if a[0].size]  # fmt: skip


defop(
    "var", lambda x, axis=None, ddof=0, keepdims=False: np.var(x, axis=axis, ddof=ddof,
                                                               keepdims=keepdims),
    params=VAR, batchable=True, jvp=(_var_t,), vjp=(_var_g,), samples=_var_samples,
    formula="d var(x) = 2·Σ(x - mean)·dx / (n - ddof)",
    vjp_formula="x̄ = ḡ·2(x - mean)/(n - ddof)", doc="Variance over the given axes",
)  # fmt: skip
defop(
    "std", lambda x, axis=None, ddof=0, keepdims=False: np.std(x, axis=axis, ddof=ddof,
                                                               keepdims=keepdims),
    params=VAR, batchable=True,
    jvp=(lambda t, ans, x, axis, ddof, keepdims: _var_t(t, ans, x, axis, ddof, keepdims)
         / (2.0 * ans),),  # d std = d var / (2 std)
    vjp=(lambda g, ans, x, axis, ddof, keepdims: _var_g(g / (2.0 * ans), ans, x, axis, ddof,
                                                         keepdims),),  # x̄ = var's x̄ for ḡ/(2 std)
    samples=_var_samples, formula="d std(x) = d var(x) / (2·std(x))",
    vjp_formula="x̄ = ḡ·(x - mean)/((n - ddof)·std)", doc="Standard deviation over the given axes",
)  # fmt: skip


def _logsumexp(x, axis=None, keepdims=False):
    x = np.asarray(x)
    m = np.max(x, axis=axis, keepdims=True) if x.size else np.zeros((1,) * x.ndim)
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
    doc="log(sum(exp(x))) over the given axes, computed stably",
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
    samples=lambda rng: [((S.real(rng, (4,)),), {"axis": None}),
                         ((S.real(rng, (2, 3)),), {"axis": 1}),
                         ((S.real(rng, (2, 3)),), {"axis": None})],
    formula="d cumsum(x) = cumsum(dx)", vjp_formula="x̄ = flip(cumsum(flip(ḡ)))",
    doc="Running sum along an axis (flattened when axis is None)",
)  # fmt: skip
