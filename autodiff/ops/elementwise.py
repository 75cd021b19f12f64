"""Elementwise primitives: arithmetic and transcendental functions, with NumPy broadcasting.

Most are declared by their partial derivatives ``d(ans, *args)``; the registry derives
``jvp = t · d`` and ``vjp = ḡ · d``, and the engines undo broadcasting. Masks (where a kink or a
tie sits) are computed on plain values: they are piecewise constant, so their derivative is zero.
"""

from __future__ import annotations

import math

import numpy as np

from autodiff import functions as anp
from autodiff.core import Box, bind, raw
from autodiff.ops import samples as S
from autodiff.registry import defop

LN2 = math.log(2.0)
LN10 = math.log(10.0)


def _dtype(*xs):
    return np.result_type(*(raw(x) for x in xs), np.float16)


def _mask(cond, *like):
    """A 0/1 array in the dtype of ``like`` (a constant: no derivative flows through it)."""
    return np.asarray(cond, dtype=_dtype(*like))


# ---- arithmetic -------------------------------------------------------------------------------

defop(
    "add", np.add, nargs=2, elementwise=True, linear=False,
    jvp=(lambda t, ans, x, y: t, lambda t, ans, x, y: t),  # d(x + y) = dx + dy
    vjp=(lambda g, ans, x, y: g, lambda g, ans, x, y: g),  # x̄ = ḡ, ȳ = ḡ
    samples=S.binary(), formula="d(x + y) = dx + dy", vjp_formula="x̄ = ḡ, ȳ = ḡ",
    doc="Elementwise sum",
)  # fmt: skip
defop(
    "subtract", np.subtract, nargs=2, elementwise=True,
    jvp=(lambda t, ans, x, y: t, lambda t, ans, x, y: -t),  # d(x - y) = dx - dy
    vjp=(lambda g, ans, x, y: g, lambda g, ans, x, y: -g),  # x̄ = ḡ, ȳ = -ḡ
    samples=S.binary(), formula="d(x - y) = dx - dy", vjp_formula="x̄ = ḡ, ȳ = -ḡ",
    doc="Elementwise difference",
)  # fmt: skip
defop(
    "multiply", np.multiply, nargs=2, elementwise=True,
    partials=(lambda ans, x, y: y, lambda ans, x, y: x),  # d(x·y) = y dx + x dy
    samples=S.binary(), formula="d(x·y) = y·dx + x·dy", vjp_formula="x̄ = ḡ·y, ȳ = ḡ·x",
    doc="Elementwise product",
)  # fmt: skip
defop(
    "divide", np.divide, nargs=2, elementwise=True,
    partials=(
        lambda ans, x, y: 1.0 / y,  # d(x/y)/dx = 1/y
        lambda ans, x, y: -ans / y,  # d(x/y)/dy = -x/y² = -ans/y
    ),
    samples=S.binary(S.real, S.positive),
    formula="d(x/y) = dx/y - (x/y²)·dy", vjp_formula="x̄ = ḡ/y, ȳ = -ḡ·x/y²",
    doc="Elementwise quotient",
)  # fmt: skip
defop(
    "negative", np.negative, elementwise=True,
    jvp=(lambda t, ans, x: -t,),  # d(-x) = -dx
    vjp=(lambda g, ans, x: -g,),  # x̄ = -ḡ
    samples=S.unary(), formula="d(-x) = -dx", vjp_formula="x̄ = -ḡ", doc="Elementwise negation",
)  # fmt: skip


def _power_dx(ans, x, y):
    # d(xʸ)/dx = y·xʸ⁻¹; where y = 0 the derivative is 0 (not 0·x⁻¹, which is nan at x = 0)
    if not isinstance(y, Box) and np.ndim(y) == 0:
        k = float(y)  # a constant exponent stays a Python number: float32 stays float32
        if k == 2:
            return 2.0 * x  # no nested power op under forward-over-reverse
        return 0.0 * x if k == 0 else k * x ** (k - 1)
    safe_exp = anp.where(raw(y) == 0, 1.0, y - 1)
    return anp.where(raw(y) == 0, 0.0, y * x**safe_exp)


def _power_dy(ans, x, y):
    # d(xʸ)/dy = xʸ·ln x; taken as 0 where x = 0 (the limit from the right for y > 0)
    zero = raw(x) == 0
    return anp.where(zero, 0.0, ans * anp.log(anp.where(zero, 1.0, x)))


defop(
    "power", np.power, nargs=2, elementwise=True,
    partials=(_power_dx, _power_dy),  # d(xʸ) = y·xʸ⁻¹ dx + xʸ·ln(x) dy
    samples=S.binary(S.positive, S.real),
    formula="d(xʸ) = y·xʸ⁻¹·dx + xʸ·ln(x)·dy", vjp_formula="x̄ = ḡ·y·xʸ⁻¹, ȳ = ḡ·xʸ·ln x",
    doc="Elementwise power, both arguments differentiable",
)  # fmt: skip
defop(
    "square", np.square, elementwise=True,
    partials=(lambda ans, x: 2.0 * x,),  # d(x²) = 2x dx
    samples=S.unary(), formula="d(x²) = 2x·dx", vjp_formula="x̄ = 2x·ḡ", doc="Elementwise square",
)  # fmt: skip
defop(
    "sqrt", np.sqrt, elementwise=True,
    partials=(lambda ans, x: 0.5 / ans,),  # d√x = dx / (2√x)
    samples=S.unary(S.positive), formula="d√x = dx / (2√x)", vjp_formula="x̄ = ḡ / (2√x)",
    doc="Elementwise square root",
)  # fmt: skip
defop(
    "reciprocal", np.reciprocal, elementwise=True,
    partials=(lambda ans, x: -ans * ans,),  # d(1/x) = -dx/x²
    samples=S.unary(S.positive), formula="d(1/x) = -dx/x²", vjp_formula="x̄ = -ḡ/x²",
    doc="Elementwise reciprocal",
)  # fmt: skip
defop(
    "abs", np.abs, elementwise=True,
    partials=(lambda ans, x: _mask(np.sign(raw(x)), x),),  # d|x| = sign(x) dx
    samples=S.unary(S.away_from_zero), formula="d|x| = sign(x)·dx", vjp_formula="x̄ = ḡ·sign(x)",
    doc="Elementwise absolute value (derivative 0 at 0)",
)  # fmt: skip
defop(
    "sign", np.sign, elementwise=True, differentiable=False,
    samples=S.unary(S.away_from_zero), formula="d sign(x) = 0", vjp_formula="x̄ = 0",
    doc="Elementwise sign (zero derivative: the result is a plain array)",
)  # fmt: skip


def _tie_split(x, y, greater):
    # 1 where x wins, ½ on a tie (both sides share the gradient), 0 where y wins
    xv, yv = raw(x), raw(y)
    wins = (xv > yv) if greater else (xv < yv)
    return _mask(wins + 0.5 * (xv == yv), x, y)


defop(
    "maximum", np.maximum, nargs=2, elementwise=True,
    partials=(
        lambda ans, x, y: _tie_split(x, y, True),  # d max(x, y)/dx = [x > y] + ½[x = y]
        lambda ans, x, y: _tie_split(y, x, True),  # d max(x, y)/dy = [y > x] + ½[x = y]
    ),
    samples=S.binary(), formula="d max(x,y) = [x>y]·dx + [y>x]·dy (ties: ½ each)",
    vjp_formula="x̄ = ḡ·[x>y], ȳ = ḡ·[y>x] (ties: ½ each)", doc="Elementwise maximum",
)  # fmt: skip
defop(
    "minimum", np.minimum, nargs=2, elementwise=True,
    partials=(
        lambda ans, x, y: _tie_split(x, y, False),  # d min(x, y)/dx = [x < y] + ½[x = y]
        lambda ans, x, y: _tie_split(y, x, False),  # d min(x, y)/dy = [y < x] + ½[x = y]
    ),
    samples=S.binary(), formula="d min(x,y) = [x<y]·dx + [y<x]·dy (ties: ½ each)",
    vjp_formula="x̄ = ḡ·[x<y], ȳ = ḡ·[y<x] (ties: ½ each)", doc="Elementwise minimum",
)  # fmt: skip


def _clip_inside(ans, x, a_min=None, a_max=None):
    # d clip(x) = dx inside [a_min, a_max], 0 outside
    xv = raw(x)
    inside = np.ones(np.shape(xv), dtype=bool)
    if a_min is not None:
        inside &= xv >= a_min
    if a_max is not None:
        inside &= xv <= a_max
    return _mask(inside, x)


defop(
    "clip", lambda x, a_min=None, a_max=None: np.clip(x, a_min, a_max), elementwise=True,
    params={"a_min": None, "a_max": None},
    partials=(_clip_inside,),  # d clip(x, lo, hi) = [lo ≤ x ≤ hi] dx
    samples=lambda rng: [((S.real(rng, s),), {"a_min": -0.5, "a_max": 0.7}) for s in [(5,), (2, 3)]],
    formula="d clip(x, lo, hi) = [lo ≤ x ≤ hi]·dx", vjp_formula="x̄ = ḡ·[lo ≤ x ≤ hi]",
    doc="Clip values to [a_min, a_max]",
)  # fmt: skip


def _where_primal(x, y, condition):
    return np.where(condition, x, y)


def _zero_like(t):
    return np.zeros((), dtype=raw(t).dtype)


_where_op = defop(
    "where", _where_primal, nargs=2, elementwise=True, params={"condition": None},
    # select, don't multiply: an inf or nan in the branch not taken never leaks into the result
    jvp=(
        lambda t, ans, x, y, condition: anp.where(condition, t, _zero_like(t)),  # d = [c]·dx
        lambda t, ans, x, y, condition: anp.where(condition, _zero_like(t), t),  # d = [¬c]·dy
    ),
    vjp=(
        lambda g, ans, x, y, condition: anp.where(condition, g, _zero_like(g)),  # x̄ = [c]·ḡ
        lambda g, ans, x, y, condition: anp.where(condition, _zero_like(g), g),  # ȳ = [¬c]·ḡ
    ),
    samples=lambda rng: [
        ((S.real(rng, (2, 3)), S.real(rng, (3,))), {"condition": rng.random((2, 3)) > 0.5}),
        ((S.real(rng, (4,)), S.real(rng, ())), {"condition": np.array([True, False, True, False])}),
    ],
    formula="d where(c, x, y) = where(c, dx, dy)", vjp_formula="x̄ = where(c, ḡ, 0), ȳ = where(c, 0, ḡ)",
    doc="Choose from x where the condition holds, else from y",
)  # fmt: skip


def where(condition, x, y):
    """Elementwise ``x`` where ``condition`` holds, else ``y`` (differentiable in x and y).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.grad(lambda x: ad.where(x > 0, x**2, 0.0).sum())(np.array([-1.0, 3.0]))
        array([0., 6.])
    """
    cond = np.asarray(raw(condition), dtype=bool)
    return bind(_where_op, (x, y), {"condition": cond})


_where_op.public = where

# ---- transcendental ---------------------------------------------------------------------------

_UNARY = [
    # name, NumPy function, partial d(ans, x), domain, formula
    ("exp", np.exp, lambda ans, x: ans, S.real, "d eˣ = eˣ·dx"),
    ("expm1", np.expm1, lambda ans, x: ans + 1.0, S.real, "d(eˣ - 1) = eˣ·dx"),
    ("log", np.log, lambda ans, x: 1.0 / x, S.positive, "d ln x = dx/x"),
    ("log1p", np.log1p, lambda ans, x: 1.0 / (1.0 + x), S.positive, "d ln(1+x) = dx/(1+x)"),
    ("log2", np.log2, lambda ans, x: 1.0 / (x * LN2), S.positive, "d log₂x = dx/(x·ln 2)"),
    ("log10", np.log10, lambda ans, x: 1.0 / (x * LN10), S.positive, "d log₁₀x = dx/(x·ln 10)"),
    ("sin", np.sin, lambda ans, x: anp.cos(x), S.real, "d sin x = cos x·dx"),
    ("cos", np.cos, lambda ans, x: -anp.sin(x), S.real, "d cos x = -sin x·dx"),
    ("tan", np.tan, lambda ans, x: 1.0 + ans * ans, S.unit, "d tan x = (1 + tan²x)·dx"),
    ("arcsin", np.arcsin, lambda ans, x: (1.0 - x * x) ** -0.5, S.unit, "d asin x = dx/√(1-x²)"),
    ("arccos", np.arccos, lambda ans, x: -((1.0 - x * x) ** -0.5), S.unit, "d acos x = -dx/√(1-x²)"),
    ("arctan", np.arctan, lambda ans, x: 1.0 / (1.0 + x * x), S.real, "d atan x = dx/(1+x²)"),
    ("sinh", np.sinh, lambda ans, x: anp.cosh(x), S.real, "d sinh x = cosh x·dx"),
    ("cosh", np.cosh, lambda ans, x: anp.sinh(x), S.real, "d cosh x = sinh x·dx"),
    # -(ans² - 1), not 1 - ans²: NumPy reuses a temporary only when it is the left operand of
    # a non-commutative op, so a backward sweep holds one array the size of x here, not two
    ("tanh", np.tanh, lambda ans, x: -(ans * ans - 1.0), S.real, "d tanh x = (1 - tanh²x)·dx"),
    ("sigmoid", lambda x: 0.5 * (np.tanh(0.5 * x) + 1.0), lambda ans, x: ans * (1.0 - ans),
     S.real, "d σ(x) = σ(x)(1 - σ(x))·dx"),
    ("relu", lambda x: np.maximum(x, 0), lambda ans, x: _mask(raw(x) > 0, x), S.away_from_zero,
     "d relu(x) = [x > 0]·dx"),
    ("arcsinh", np.arcsinh, lambda ans, x: (x * x + 1.0) ** -0.5, S.real, "d asinh x = dx/√(x²+1)"),
]  # fmt: skip

for _name, _fn, _partial, _domain, _formula in _UNARY:
    _lhs, _rhs = _formula.split(" = ")
    defop(
        _name, _fn, elementwise=True, partials=(_partial,), samples=S.unary(_domain),
        formula=_formula, vjp_formula="x̄ = ḡ·" + _rhs.replace("·dx", "").replace("dx", "1"),
        doc=f"Elementwise {_name}",
    )  # fmt: skip

defop(
    "arctan2", np.arctan2, nargs=2, elementwise=True,
    partials=(
        lambda ans, y, x: x / (x * x + y * y),  # ∂ atan2(y, x)/∂y = x/(x²+y²)
        lambda ans, y, x: -y / (x * x + y * y),  # ∂ atan2(y, x)/∂x = -y/(x²+y²)
    ),
    samples=S.binary(S.away_from_zero),
    formula="d atan2(y, x) = (x·dy - y·dx)/(x²+y²)", vjp_formula="ȳ = ḡ·x/(x²+y²), x̄ = -ḡ·y/(x²+y²)",
    doc="Elementwise arctan(y/x) in the right quadrant",
)  # fmt: skip
defop(
    "logaddexp", np.logaddexp, nargs=2, elementwise=True,
    partials=(
        lambda ans, x, y: anp.exp(x - ans),  # ∂/∂x ln(eˣ+eʸ) = eˣ/(eˣ+eʸ)
        lambda ans, x, y: anp.exp(y - ans),  # ∂/∂y ln(eˣ+eʸ) = eʸ/(eˣ+eʸ)
    ),
    samples=S.binary(),
    formula="d ln(eˣ+eʸ) = (eˣ·dx + eʸ·dy)/(eˣ+eʸ)", vjp_formula="x̄ = ḡ·eˣ⁻ᵃⁿˢ, ȳ = ḡ·eʸ⁻ᵃⁿˢ",
    doc="Elementwise log(exp(x) + exp(y)), computed stably",
)  # fmt: skip
defop(
    "hypot", np.hypot, nargs=2, elementwise=True,
    partials=(lambda ans, x, y: x / ans, lambda ans, x, y: y / ans),  # d√(x²+y²) = (x dx + y dy)/r
    samples=S.binary(S.away_from_zero),
    formula="d√(x²+y²) = (x·dx + y·dy)/√(x²+y²)", vjp_formula="x̄ = ḡ·x/r, ȳ = ḡ·y/r",
    doc="Elementwise √(x² + y²)",
)  # fmt: skip
