"""Polynomials and piecewise-linear interpolation: ``polyval`` and ``interp``.

``polyval`` is a composite (Horner's rule, as NumPy evaluates it). ``interp`` is a primitive: its
value is NumPy's ``np.interp``, its derivative that of the segment each ``x`` falls in, with JAX's
conventions (see :func:`interp`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from autodiff import functions as anp
from autodiff.core import Box, bind, raw, shape_of
from autodiff.ops import samples as S
from autodiff.ops.axes import batch_of
from autodiff.ops.plain import numpy_when_plain
from autodiff.registry import defcomposite, defop

# --------------------------------------------------------------------------------------------
# polyval
# --------------------------------------------------------------------------------------------


def _polyval_samples(rng: np.random.Generator) -> list:
    return [
        ((S.real(rng, (4,)), S.real(rng, (2, 3))), {}),
        ((S.real(rng, (3,)), S.real(rng, ())), {}),
        ((S.real(rng, (1,)), S.real(rng, (3,))), {}),  # a constant polynomial
        ((S.real(rng, (3, 2)), S.real(rng, (2,))), {}),  # rows of coefficients, as NumPy allows
        ((S.real(rng, (3,)), S.real(rng, (0, 2))), {}),
    ]


@defcomposite(complex="holomorphic", numpy=np.polyval, samples=_polyval_samples)
@numpy_when_plain(np.polyval)
def polyval(p: Any, x: Any) -> Any:
    """The polynomial with coefficients ``p`` (highest power first) at ``x``, like ``np.polyval``.

    Horner's rule, as NumPy evaluates it: ``y = (…(p₀·x + p₁)·x + …)·x + pₙ``, so both the
    coefficients and the points are differentiable (``dy/dx = p'(x)``, ``dy/dpᵢ = xⁿ⁻ⁱ``). ``p``
    may be a list that mixes traced values and numbers.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> p = np.array([1.0, 0.0, -2.0])              # x² - 2
        >>> float(ad.grad(lambda x: ad.polyval(p, x))(3.0))
        6.0
    """
    coefficients = list(p)
    if not coefficients:  # NumPy: zeros like x
        return np.zeros_like(raw(x))
    if len(coefficients) == 1:  # NumPy's first step, 0·x + p₀, gives x's shape
        return np.zeros_like(raw(x)) * x + coefficients[0]
    y = coefficients[0]
    for c in coefficients[1:]:
        y = y * x + c
    return y


# --------------------------------------------------------------------------------------------
# interp
# --------------------------------------------------------------------------------------------


class _Segments(NamedTuple):
    """Where each ``x`` falls among the knots ``xp``: constants, computed from plain values.

    The value there is ``fp[lo]·(1 - w) + fp[hi]·w`` with ``w = (x + shift)·inv``, times
    ``keep``; ``flat`` marks the points where it does not depend on ``x`` (``lo == hi``,
    ``inv == 0``): outside the knots, or on a segment of zero width.
    """

    lo: np.ndarray
    hi: np.ndarray
    shift: np.ndarray
    inv: np.ndarray
    flat: np.ndarray | None
    keep: np.ndarray | None


def _segments(x: Any, xp: Any, left: Any, right: Any, period: Any) -> _Segments:
    """JAX's ``jnp.interp`` conventions: the segment is ``[xp[i-1], xp[i]]`` with
    ``i = searchsorted(xp, x, side="right")`` clipped to ``[1, len(xp) - 1]``, so at an inner knot
    the segment on its right counts, and at the last knot the last segment. Outside the knots the
    value is ``fp[0]`` (``fp[-1]``), or the constant ``left`` (``right``)."""
    xv = np.asarray(raw(x), dtype=np.float64)
    knots = np.asarray(xp, dtype=np.float64)
    order = np.arange(knots.size)
    xe = xv
    if period is not None:  # NumPy's reduction to one period, with the ends wrapped around
        period = abs(float(period))
        xe = np.mod(xv, period)
        keys = np.mod(knots, period)
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        knots = np.concatenate([keys[-1:] - period, keys, keys[:1] + period])
        order = np.concatenate([order[-1:], order, order[:1]])
    m = knots.size
    below = xe < knots[0]
    above = xe > knots[-1]
    if m == 1:
        lo = hi = np.zeros(xv.shape, dtype=np.intp)
        width = np.zeros(xv.shape)
    else:
        hi = np.clip(np.searchsorted(knots, xe, side="right"), 1, m - 1)
        lo = hi - 1
        width = knots[hi] - knots[lo]
    flat = below | above | (width == 0)
    lo = np.where(above, m - 1, np.where(below, 0, lo))
    hi = np.where(flat, lo, hi)
    inv = np.where(flat, 0.0, 1.0 / np.where(flat, 1.0, width))
    shift = -knots[lo] if period is None else (xe - xv) - knots[lo]
    keep = None
    if period is None and ((left is not None and below.any()) or
                           (right is not None and above.any())):  # fmt: skip
        keep = np.ones(xv.shape)
        if left is not None:
            keep[below] = 0.0
        if right is not None:
            keep[above] = 0.0
    return _Segments(order[lo], order[hi], shift, inv, flat if flat.any() else None, keep)


def _weight(x: Any, seg: _Segments) -> Any:
    """``w``, the position of ``x`` in its segment (0 at ``lo``, 1 at ``hi``): traced in ``x``."""
    if seg.flat is not None:  # there w is 0, even where x is ±inf: x never reaches the product
        x = anp.where(seg.flat, -seg.shift, x)
    return (x + seg.shift) * seg.inv


def _take(v: Any, index: np.ndarray) -> Any:
    return anp.getitem(v, index=(Ellipsis, index))


def _slope(fp: Any, seg: _Segments) -> Any:
    """``(fp[hi] - fp[lo]) / (xp[hi] - xp[lo])``: zero where the value does not depend on x."""
    return (_take(fp, seg.hi) - _take(fp, seg.lo)) * seg.inv


def _kept(v: Any, seg: _Segments) -> Any:
    return v if seg.keep is None else v * seg.keep


def _interp_dx(t, ans, x, fp, xp, left, right, period):
    # d interp = slope of x's segment · dx (0 outside the knots)
    return t * _slope(fp, _segments(x, xp, left, right, period))


def _interp_dfp(t, ans, x, fp, xp, left, right, period):
    # d interp = interp(x, xp, dfp): dfp[lo]·(1 - w) + dfp[hi]·w
    seg = _segments(x, xp, left, right, period)
    w = _weight(x, seg)
    return _kept(_take(t, seg.lo) * (1.0 - w) + _take(t, seg.hi) * w, seg)


def _interp_fp_bar(g, ans, x, fp, xp, left, right, period):
    # fp̄[lo] += ḡ·(1 - w), fp̄[hi] += ḡ·w
    seg = _segments(x, xp, left, right, period)
    w = _weight(x, seg)
    g = _kept(g, seg)
    shape = batch_of(g, len(shape_of(x))) + shape_of(fp)
    low = anp.scatter_add(g * (1.0 - w), index=(Ellipsis, seg.lo), shape=shape)
    return low + anp.scatter_add(g * w, index=(Ellipsis, seg.hi), shape=shape)


def _interp_samples(rng: np.random.Generator) -> list:
    xp = np.array([-1.0, -0.2, 0.5, 1.3, 2.0])
    x = np.array([-1.7, -0.6, 0.1, 0.9, 1.6, 2.4])  # both sides of the knots, away from them
    ring = np.array([0.3, 5.9, 2.0, 4.1])  # knots on a circle of length 2π, unsorted
    return [
        ((x, S.real(rng, (5,))), {"xp": xp}),
        ((x.reshape(2, 3), S.real(rng, (5,))), {"xp": xp, "left": -5.0, "right": 7.0}),
        ((np.array(0.2), S.real(rng, (5,))), {"xp": xp, "right": 3.0}),
        ((np.array([-4.0, 1.0, 7.5, 12.0]), S.real(rng, (4,))), {"xp": ring, "period": 2 * np.pi}),
        ((np.array([-0.5, 0.4, 1.5]), S.real(rng, (4,))), {"xp": np.array([-1.0, 0.0, 0.0, 1.0])}),
        ((np.array([-1.0, 1.0]), S.real(rng, (1,))), {"xp": np.array([0.0])}),
        ((np.zeros((0, 2)), S.real(rng, (5,))), {"xp": xp}),
    ]


_interp_op = defop(
    "interp",
    lambda x, fp, xp, left=None, right=None, period=None: np.interp(x, xp, fp, left, right, period),
    nargs=2, params={"xp": None, "left": None, "right": None, "period": None}, batchable=True,
    jvp=(_interp_dx, _interp_dfp),
    vjp=(lambda g, ans, x, fp, xp, left, right, period: g * _slope(
             fp, _segments(x, xp, left, right, period)),  # x̄ = ḡ · slope
         _interp_fp_bar),
    samples=_interp_samples,
    formula="d interp(x, xp, fp) = slope(x)·dx + interp(x, xp, dfp)",
    vjp_formula="x̄ = ḡ·slope(x); fp̄[lo] += ḡ·(1 - w), fp̄[hi] += ḡ·w",
    doc="Piecewise-linear interpolation of (xp, fp) at x; xp is a constant",
)  # fmt: skip


def interp(
    x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None, period: Any = None
) -> Any:
    """Piecewise-linear interpolation of the points ``(xp, fp)`` at ``x``, like ``np.interp``.

    The value is NumPy's. ``x`` and ``fp`` are differentiable; ``xp``, ``left``, ``right`` and
    ``period`` are constants (a traced one is an error). The derivative follows JAX's
    ``jnp.interp``: with respect to ``x`` it is the slope of the segment ``x`` falls in; at an
    inner knot that is the segment on its right, at the last knot the last segment (at the first
    knot, the first); outside the knots, and on a segment of zero width, it is 0. With respect to
    ``fp`` it is the interpolation weights: ``1 - w`` and ``w`` for the two ends of the segment,
    and 1 for ``fp[0]`` (``fp[-1]``) left (right) of the knots unless ``left`` (``right``) is
    given.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> xp, fp = np.array([0.0, 1.0, 3.0]), np.array([0.0, 2.0, 3.0])
        >>> float(ad.interp(2.0, xp, fp))
        2.5
        >>> float(ad.grad(lambda x: ad.interp(x, xp, fp))(2.0))    # slope of [1, 3]
        0.5
        >>> float(ad.grad(lambda x: ad.interp(x, xp, fp))(1.0))    # a knot: the right segment
        0.5
        >>> ad.grad(lambda fp: ad.interp(2.0, xp, fp))(fp)
        array([0. , 0.5, 0.5])
    """
    for name, value in (("xp", xp), ("left", left), ("right", right), ("period", period)):
        if isinstance(value, Box):
            raise TypeError(
                f"interp: {name} is traced, but autodiff differentiates interp with respect to "
                f"x and fp only; pass {name} as a constant (ad.raw({name}) if its derivative is "
                "not needed)"
            )
    if not (isinstance(x, Box) or isinstance(fp, Box)):
        return np.interp(x, xp, fp, left, right, period)
    if np.iscomplexobj(raw(fp)) or np.iscomplexobj(raw(x)):
        raise TypeError(
            "interp: complex traced values are not supported (autodiff differentiates real "
            "arrays only for now)"
        )
    return bind(_interp_op, (x, fp), {"xp": xp, "left": left, "right": right, "period": period})


_interp_op.public = interp
