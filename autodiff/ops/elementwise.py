"""Elementwise primitives: arithmetic and transcendental functions, with NumPy broadcasting.

Most are declared by their partial derivatives ``d(ans, *args)``; the registry derives
``jvp = t · d`` and ``vjp = ḡ · d``, and the engines undo broadcasting. Masks (where a kink or a
tie sits) are computed on plain values: they are piecewise constant, so their derivative is zero.

Conventions: ties in maximum and minimum share the gradient ½ each; a NaN that maximum, minimum or
clip passes through gets the gradient (its side was taken), while fmax and fmin ignore a NaN and
give the gradient to the other side. Derivatives that are zero everywhere (``copysign`` in its
second argument, and the rounding functions of :mod:`autodiff.ops.rounding`) give concrete zeros
from :func:`zeros_tangent`, never ``t * 0``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autodiff import functions as anp
from autodiff.arrays import as_array, is_duck, maybe_any, ones_like, zeros_like
from autodiff.core import Box, bind, raw, refuse_complex
from autodiff.numpy_api import replace_public
from autodiff.ops import samples as S
from autodiff.registry import defcomposite, defop

LN2 = math.log(2.0)
LN10 = math.log(10.0)


def _dtype(*xs):
    return np.result_type(*(raw(x) for x in xs), np.float16)


def _mask(cond, *like):
    """A 0/1 array in the dtype of ``like`` (a constant: no derivative flows through it)."""
    return as_array(cond, _dtype(*like))  # the array type of cond (masks of a dask array stay lazy)


# ---- arithmetic -------------------------------------------------------------------------------

defop(
    "add", np.add, nargs=2, elementwise=True, complex="holomorphic", linear=False,
    jvp=(lambda t, ans, x, y: t, lambda t, ans, x, y: t),  # d(x + y) = dx + dy
    vjp=(lambda g, ans, x, y: g, lambda g, ans, x, y: g),  # x̄ = ḡ, ȳ = ḡ
    samples=S.binary(), formula="d(x + y) = dx + dy", vjp_formula="x̄ = ḡ, ȳ = ḡ",
    doc="Elementwise sum", torch="add",
)  # fmt: skip
defop(
    "subtract", np.subtract, nargs=2, elementwise=True, complex="holomorphic",
    jvp=(lambda t, ans, x, y: t, lambda t, ans, x, y: -t),  # d(x - y) = dx - dy
    vjp=(lambda g, ans, x, y: g, lambda g, ans, x, y: -g),  # x̄ = ḡ, ȳ = -ḡ
    samples=S.binary(), formula="d(x - y) = dx - dy", vjp_formula="x̄ = ḡ, ȳ = -ḡ",
    doc="Elementwise difference", torch="sub",
)  # fmt: skip
defop(
    "multiply", np.multiply, nargs=2, elementwise=True, complex="holomorphic",
    partials=(lambda ans, x, y: y, lambda ans, x, y: x),  # d(x·y) = y dx + x dy
    samples=S.binary(), formula="d(x·y) = y·dx + x·dy", vjp_formula="x̄ = ḡ·y, ȳ = ḡ·x",
    doc="Elementwise product", torch="mul",
)  # fmt: skip
defop(
    "divide", np.divide, nargs=2, elementwise=True, complex="holomorphic",
    partials=(
        lambda ans, x, y: 1.0 / y,  # d(x/y)/dx = 1/y
        lambda ans, x, y: -ans / y,  # d(x/y)/dy = -x/y² = -ans/y
    ),
    samples=S.binary(S.real, S.positive),
    formula="d(x/y) = dx/y - (x/y²)·dy", vjp_formula="x̄ = ḡ/y, ȳ = -ḡ·x/y²",
    doc="Elementwise quotient", torch="div",
)  # fmt: skip
defop(
    "negative", np.negative, elementwise=True, complex="holomorphic",
    jvp=(lambda t, ans, x: -t,),  # d(-x) = -dx
    vjp=(lambda g, ans, x: -g,),  # x̄ = -ḡ
    samples=S.unary(), formula="d(-x) = -dx", vjp_formula="x̄ = -ḡ", doc="Elementwise negation",
    torch="neg",
)  # fmt: skip


def _power_dx(ans, x, y):
    # d(xʸ)/dx = y·xʸ⁻¹; where y = 0 the derivative is 0 (not 0·x⁻¹, which is nan at x = 0)
    if not isinstance(y, Box) and np.ndim(y) == 0:
        # a constant exponent stays a Python number: float32 stays float32
        k = complex(y) if _is_complex(y) else float(y)
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
    "power", np.power, nargs=2, elementwise=True, complex="holomorphic",
    partials=(_power_dx, _power_dy),  # d(xʸ) = y·xʸ⁻¹ dx + xʸ·ln(x) dy
    samples=S.binary(S.positive, S.real),
    formula="d(xʸ) = y·xʸ⁻¹·dx + xʸ·ln(x)·dy", vjp_formula="x̄ = ḡ·y·xʸ⁻¹, ȳ = ḡ·xʸ·ln x",
    doc="Elementwise power, both arguments differentiable", torch="pow",
)  # fmt: skip
defop(
    "square", np.square, elementwise=True, complex="holomorphic",
    partials=(lambda ans, x: 2.0 * x,),  # d(x²) = 2x dx
    samples=S.unary(), formula="d(x²) = 2x·dx", vjp_formula="x̄ = 2x·ḡ", doc="Elementwise square",
    torch="square",
)  # fmt: skip
defop(
    "sqrt", np.sqrt, elementwise=True, complex="holomorphic",
    partials=(lambda ans, x: 0.5 / ans,),  # d√x = dx / (2√x)
    samples=S.unary(S.positive), formula="d√x = dx / (2√x)", vjp_formula="x̄ = ḡ / (2√x)",
    doc="Elementwise square root", torch="sqrt",
)  # fmt: skip
defop(
    "reciprocal", np.reciprocal, elementwise=True, complex="holomorphic",
    partials=(lambda ans, x: -ans * ans,),  # d(1/x) = -dx/x²
    samples=S.unary(S.positive), formula="d(1/x) = -dx/x²", vjp_formula="x̄ = -ḡ/x²",
    doc="Elementwise reciprocal", torch="reciprocal",
)  # fmt: skip


def _is_complex(v):
    """Whether the plain value ``v`` holds complex numbers (a Python number has no dtype)."""
    return getattr(v, "dtype", _REAL).kind == "c" or type(v) is complex


_REAL = np.dtype(np.float64)


def _abs_safe(ans):
    """|z| with 1 where it is 0 (where conj(z)/|z| is taken as 0, JAX's value at the kink)."""
    return anp.where(raw(ans) == 0, 1.0, ans)


def _abs_jvp(t, ans, x):
    if _is_complex(raw(x)):
        return anp.real(anp.conj(x) * t) / _abs_safe(ans)  # d|z| = Re(conj(z)·dz)/|z|
    return t * _mask(np.sign(raw(x)), x)  # d|x| = sign(x) dx


def _abs_vjp(g, ans, x):
    if _is_complex(raw(x)):
        # z̄ = ḡ·conj(z)/|z| (JAX's convention: the transpose, no conjugation of ḡ)
        return g * anp.conj(x) / _abs_safe(ans)
    return g * _mask(np.sign(raw(x)), x)  # x̄ = ḡ·sign(x)


defop(
    "abs", np.abs, elementwise=True, jvp=(_abs_jvp,), vjp=(_abs_vjp,), complex=True,
    samples=S.unary(S.away_from_zero),
    formula="d|x| = sign(x)·dx; complex: d|z| = Re(conj(z)·dz)/|z|",
    vjp_formula="x̄ = ḡ·sign(x); complex: z̄ = ḡ·conj(z)/|z|",
    doc="Elementwise absolute value (derivative 0 at 0; of a complex z, conj(z)/|z|)",
    torch="abs",
)  # fmt: skip


def zeros_tangent(t):
    """The derivative rule of a function that is piecewise constant: concrete zeros in the shape
    and type of the tangent or cotangent ``t`` (never ``t * 0``, which is NaN where ``t`` is
    infinite); the engines undo any broadcasting."""
    return np.zeros_like(t)  # on a box: NumPy dispatch gives plain zeros (a constant)


def _maybe_nan(*values):
    """Whether any of the plain values may hold a NaN: one cheap sum each (an inf and a -inf also
    say yes, which only costs the careful path)."""
    for v in values:
        if is_duck(v):  # a lazy array (dask): do not compute; the careful path is always right
            return True
        total = v if type(v) is float or type(v) is int else v.sum()
        if total != total:
            return True
    return False


def _share(x, y, greater, nan_wins):
    """∂ max(x, y)/∂x (``greater``) or ∂ min(x, y)/∂x: 1 where x is taken, ½ on a tie (both sides
    share the gradient, as PyTorch's maximum does), 0 where y is taken. With ``nan_wins`` a NaN
    is taken (maximum, minimum: NaN propagates, so its side gets the gradient); without, a NaN is
    ignored (fmax, fmin: the other side is taken). Two NaNs are a tie."""
    xv, yv = raw(x), raw(y)
    refuse_complex("maximum/minimum/fmax/fmin", xv, yv)  # a lexicographic order: no rule
    wins = (xv > yv) if greater else (xv < yv)
    tie = xv == yv
    if not nan_wins or _maybe_nan(xv, yv):
        xnan, ynan = np.isnan(xv), np.isnan(yv)
        wins = ((wins | xnan) & ~ynan) if nan_wins else ((wins | ynan) & ~xnan)
        tie = tie | (xnan & ynan)
    return _mask(wins + 0.5 * tie, x, y)


for _name, _fn, _greater, _nan_wins, _torch, _what in [
    ("maximum", np.maximum, True, True, "maximum", "NaN propagates: its side gets the gradient"),
    ("minimum", np.minimum, False, True, "minimum", "NaN propagates: its side gets the gradient"),
    ("fmax", np.fmax, True, False, "fmax", "NaN is ignored: the other side gets the gradient"),
    ("fmin", np.fmin, False, False, "fmin", "NaN is ignored: the other side gets the gradient"),
]:
    _cmp = ">" if _greater else "<"
    defop(
        _name, _fn, nargs=2, elementwise=True,
        partials=(
            # d max(x, y)/dx = [x > y] + ½[x = y]  (min: [x < y] + ½[x = y])
            lambda ans, x, y, _g=_greater, _n=_nan_wins: _share(x, y, _g, _n),
            # d max(x, y)/dy = [y > x] + ½[x = y]
            lambda ans, x, y, _g=_greater, _n=_nan_wins: _share(y, x, _g, _n),
        ),
        samples=S.binary(),
        formula=f"d {_name}(x,y) = [x{_cmp}y]·dx + [y{_cmp}x]·dy (ties: ½ each; {_what})",
        vjp_formula=f"x̄ = ḡ·[x{_cmp}y], ȳ = ḡ·[y{_cmp}x] (ties: ½ each)",
        doc=f"Elementwise {_name} (ties share the gradient ½ each; {_what})", torch=_torch,
    )  # fmt: skip


def _clip_inside(ans, x, a_min=None, a_max=None):
    # d clip(x) = dx inside [a_min, a_max], 0 outside; a NaN passes through, with derivative 1
    # (as maximum and minimum give a NaN the gradient; PyTorch's clamp gives it 0)
    xv = raw(x)
    refuse_complex("clip", xv)
    inside = ones_like(xv, dtype=bool)  # not in place: a dask array has no in-place &=
    if a_min is not None:
        inside = inside & (xv >= a_min)
    if a_max is not None:
        inside = inside & (xv <= a_max)
    if _maybe_nan(xv):
        inside = inside | np.isnan(xv)
    return _mask(inside, x)


_clip = defop(
    "clip", lambda x, a_min=None, a_max=None: np.clip(x, a_min, a_max), elementwise=True,
    params={"a_min": None, "a_max": None},
    partials=(_clip_inside,),  # d clip(x, lo, hi) = [lo ≤ x ≤ hi] dx
    samples=lambda rng: [((S.real(rng, s),), {"a_min": -0.5, "a_max": 0.7}) for s in [(5,), (2, 3)]]
    + [((S.real(rng, (0, 3)),), {"a_min": -0.5, "a_max": 0.7}), ((S.real(rng, (4,)),), {"a_max": 0.2})],
    formula="d clip(x, lo, hi) = [lo ≤ x ≤ hi]·dx", vjp_formula="x̄ = ḡ·[lo ≤ x ≤ hi]",
    doc="Clip values to [a_min, a_max] (a NaN passes through, with derivative 1)",
    torch="clamp", torch_args={"a_min": "min", "a_max": "max"},
)  # fmt: skip


def clip(x: Any, a_min: Any = None, a_max: Any = None) -> Any:
    """``np.clip(x, a_min, a_max)``; a traced bound gets its derivative too, as in PyTorch's
    ``clamp``: then ``clip(x, lo, hi) = minimum(maximum(x, lo), hi)`` (ties share ½ each)."""
    if isinstance(a_min, Box) or isinstance(a_max, Box):
        out = x if a_min is None else anp.maximum(x, a_min)
        return out if a_max is None else anp.minimum(out, a_max)
    return _clip_with_plain_bounds(x, a_min, a_max)


_clip_with_plain_bounds = replace_public(_clip, clip)


def _where_primal(x, y, condition):
    return np.where(condition, x, y)


def _zero_like(t):
    return zeros_like(raw(t), ())  # a 0-d zero of t's array type


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
    complex="holomorphic", samples=lambda rng: [
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
        >>> ad.grad(lambda x: ad.where(x > 0, 3.0 * x, 0.0).sum())(np.array([-1.0, 3.0]))
        array([0., 3.])
    """
    cond = as_array(raw(condition), bool)
    return bind(_where_op, (x, y), {"condition": cond})


_where_op.public = where

# ---- transcendental ---------------------------------------------------------------------------


def _above_one(rng, shape):
    """Values in [1.2, 3]: inside arccosh's domain, away from its edge."""
    return rng.uniform(1.2, 3.0, shape)


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
    ("arccosh", np.arccosh, lambda ans, x: (x * x - 1.0) ** -0.5, _above_one, "d acosh x = dx/√(x²-1)"),
    ("arctanh", np.arctanh, lambda ans, x: 1.0 / (1.0 - x * x), S.unit, "d atanh x = dx/(1-x²)"),
    ("exp2", np.exp2, lambda ans, x: ans * LN2, S.real, "d 2ˣ = 2ˣ·ln 2·dx"),
    ("cbrt", np.cbrt, lambda ans, x: 1.0 / (3.0 * ans * ans), S.away_from_zero, "d ∛x = dx/(3·∛x²)"),
]  # fmt: skip
# PyTorch's names where they differ from NumPy's (None: PyTorch has no such tensor method)
_TORCH_NAMES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
                "arccosh": "acosh", "arctanh": "atanh", "cbrt": None}  # fmt: skip

# NumPy defines these for complex numbers, where they are holomorphic
_HOLOMORPHIC = {"exp", "expm1", "log", "log1p", "log2", "log10", "sin", "cos", "tan", "arcsin",
                "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh",
                "exp2", "sigmoid"}  # fmt: skip

for _name, _fn, _partial, _domain, _formula in _UNARY:
    _rhs = _formula.split(" = ", 1)[1]
    defop(
        _name, _fn, elementwise=True, partials=(_partial,), samples=S.unary(_domain),
        complex="holomorphic" if _name in _HOLOMORPHIC else False,
        formula=_formula, vjp_formula="x̄ = ḡ·" + _rhs.replace("·dx", "").replace("dx", "1"),
        doc=f"Elementwise {_name}",
        torch=_TORCH_NAMES.get(_name, _name),
    )  # fmt: skip

defop(
    "arctan2", np.arctan2, nargs=2, elementwise=True,
    partials=(
        lambda ans, y, x: x / (x * x + y * y),  # ∂ atan2(y, x)/∂y = x/(x²+y²)
        lambda ans, y, x: -y / (x * x + y * y),  # ∂ atan2(y, x)/∂x = -y/(x²+y²)
    ),
    samples=S.binary(S.away_from_zero),
    formula="d atan2(y, x) = (x·dy - y·dx)/(x²+y²)", vjp_formula="ȳ = ḡ·x/(x²+y²), x̄ = -ḡ·y/(x²+y²)",
    doc="Elementwise arctan(y/x) in the right quadrant", torch="atan2",
)  # fmt: skip
defop(
    "logaddexp", np.logaddexp, nargs=2, elementwise=True,
    partials=(
        lambda ans, x, y: anp.exp(x - ans),  # ∂/∂x ln(eˣ+eʸ) = eˣ/(eˣ+eʸ)
        lambda ans, x, y: anp.exp(y - ans),  # ∂/∂y ln(eˣ+eʸ) = eʸ/(eˣ+eʸ)
    ),
    samples=S.binary(),
    formula="d ln(eˣ+eʸ) = (eˣ·dx + eʸ·dy)/(eˣ+eʸ)", vjp_formula="x̄ = ḡ·eˣ⁻ᵃⁿˢ, ȳ = ḡ·eʸ⁻ᵃⁿˢ",
    doc="Elementwise log(exp(x) + exp(y)), computed stably", torch="logaddexp",
)  # fmt: skip
defop(
    "hypot", np.hypot, nargs=2, elementwise=True,
    partials=(lambda ans, x, y: x / ans, lambda ans, x, y: y / ans),  # d√(x²+y²) = (x dx + y dy)/r
    samples=S.binary(S.away_from_zero),
    formula="d√(x²+y²) = (x·dx + y·dy)/√(x²+y²)", vjp_formula="x̄ = ḡ·x/r, ȳ = ḡ·y/r",
    doc="Elementwise √(x² + y²)", torch="hypot",
)  # fmt: skip
defop(
    "logaddexp2", np.logaddexp2, nargs=2, elementwise=True,
    partials=(
        lambda ans, x, y: anp.exp2(x - ans),  # ∂/∂x log₂(2ˣ+2ʸ) = 2ˣ/(2ˣ+2ʸ)
        lambda ans, x, y: anp.exp2(y - ans),  # ∂/∂y log₂(2ˣ+2ʸ) = 2ʸ/(2ˣ+2ʸ)
    ),
    samples=S.binary(),
    formula="d log₂(2ˣ+2ʸ) = (2ˣ·dx + 2ʸ·dy)/(2ˣ+2ʸ)", vjp_formula="x̄ = ḡ·2ˣ⁻ᵃⁿˢ, ȳ = ḡ·2ʸ⁻ᵃⁿˢ",
    doc="Elementwise log₂(2ˣ + 2ʸ), computed stably", torch="logaddexp2",
)  # fmt: skip

# ---- sinc -------------------------------------------------------------------------------------

# sinc'(x) = π²x · Σₙ≥₁ (-1)ⁿ 2n uⁿ⁻¹/(2n+1)!, u = (πx)²: its Maclaurin series, for |x| small
_SINC_SERIES = [(-1) ** n * 2 * n / math.factorial(2 * n + 1) for n in range(1, 8)]
_SINC_SMALL = 0.01


def _sinc_d(ans, x):
    # d sinc(x) = (cos(πx) - sinc(x))/x dx. Near 0, where that formula cancels, the Maclaurin
    # series instead: exact at 0 in value (0) and in every derivative used (d² sinc(0) = -π²/3)
    small = np.abs(raw(x)) < _SINC_SMALL
    if not maybe_any(small):
        return (anp.cos(math.pi * x) - ans) / x
    safe = anp.where(small, 1.0, x)  # the branch not taken stays finite (no 0/0 leaks into ḡ)
    main = (anp.cos(math.pi * safe) - ans) / safe
    u = (math.pi * x) * (math.pi * x)
    acc = _SINC_SERIES[-1]
    for c in reversed(_SINC_SERIES[:-1]):
        acc = acc * u + c
    return anp.where(small, (math.pi * math.pi) * x * acc, main)


defop(
    "sinc", np.sinc, elementwise=True, complex="holomorphic",
    partials=(_sinc_d,),  # d sinc(x) = (cos(πx) - sinc(x))/x dx, 0 at x = 0
    samples=lambda rng: S.unary()(rng) + [((np.array([0.0, 0.004, -0.009, 0.7, -1.5]),), {})],
    formula="d sinc x = (cos(πx) - sinc x)/x·dx (0 at x = 0)",
    vjp_formula="x̄ = ḡ·(cos(πx) - sinc x)/x", doc="Normalised sinc, sin(πx)/(πx)", torch="sinc",
)  # fmt: skip

# ---- sign transfer, non-finite values ------------------------------------------------------


def _copysign_dx(ans, x, y):
    # ∂ copysign(x, y)/∂x = +1 where x and y have the same sign bit, -1 where not; 0 at x = 0
    # (as d|x|, and as PyTorch's copysign)
    xv, yv = raw(x), raw(y)
    flip = np.where(np.signbit(xv) == np.signbit(yv), 1.0, -1.0)
    return _mask(np.where(xv == 0, 0.0, flip), x, y)


defop(
    "copysign", np.copysign, nargs=2, elementwise=True,
    jvp=(
        lambda t, ans, x, y: t * _copysign_dx(ans, x, y),  # d copysign(x, y) = ±dx
        lambda t, ans, x, y: zeros_tangent(t),  # y only lends its sign: ∂/∂y = 0
    ),
    vjp=(
        lambda g, ans, x, y: g * _copysign_dx(ans, x, y),  # x̄ = ±ḡ
        lambda g, ans, x, y: zeros_tangent(g),  # ȳ = 0
    ),
    samples=S.binary(S.away_from_zero),
    formula="d copysign(x, y) = ±dx (+ where x and y share a sign; 0 at x = 0)",
    vjp_formula="x̄ = ±ḡ, ȳ = 0", doc="|x| with the sign of y", torch="copysign",
)  # fmt: skip


def _finite_only(t, x):
    # select, don't multiply: a NaN or inf tangent where x was replaced does not leak through
    xv = raw(x)
    if _is_complex(xv) and _is_complex(raw(t)):
        # NumPy replaces the real and imaginary parts apart: the derivative keeps each part where
        # that part was finite (an ℝ-linear map equal to its transpose under Re Σ a·b)
        re = anp.where(np.isfinite(xv.real), anp.real(t), _zero_like(anp.real(t)))
        im = anp.where(np.isfinite(xv.imag), anp.imag(t), _zero_like(anp.imag(t)))
        return re + 1j * im
    return anp.where(np.isfinite(xv), t, _zero_like(t))


_nan_to_num_op = defop(
    "nan_to_num",
    lambda x, nan=0.0, posinf=None, neginf=None: np.nan_to_num(
        x, copy=True, nan=nan, posinf=posinf, neginf=neginf
    ),
    elementwise=True, params={"nan": 0.0, "posinf": None, "neginf": None},
    jvp=(lambda t, ans, x, nan, posinf, neginf: _finite_only(t, x),),  # d = [x finite]·dx
    vjp=(lambda g, ans, x, nan, posinf, neginf: _finite_only(g, x),),  # x̄ = [x finite]·ḡ
    samples=lambda rng: S.unary()(rng) + [
        ((np.array([1.0, np.nan, np.inf, -np.inf, -2.0]),),
         {"nan": 1.5, "posinf": 10.0, "neginf": -10.0}),
    ],
    formula="d nan_to_num(x) = [x finite]·dx", vjp_formula="x̄ = [x finite]·ḡ",
    doc="Replace NaN and ±inf by finite numbers (derivative 1 where x is finite, else 0; of a "
    "complex x, part by part)", torch="nan_to_num", complex=True,
)  # fmt: skip


def nan_to_num(x, nan=0.0, posinf=None, neginf=None, *, copy=True):
    """``x`` with NaN replaced by ``nan`` and ±inf by ``posinf``/``neginf`` (default: the largest
    finite numbers), like ``np.nan_to_num``. The derivative is 1 where ``x`` is finite and 0
    where a value was replaced (a selection: a NaN tangent there does not leak through).

    ``copy=False`` changes a plain array in place as NumPy does; a traced value is never changed
    in place. Pass ``copy`` by keyword (the other parameters are in PyTorch's order).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.grad(lambda x: ad.nan_to_num(3.0 * x).sum())(np.array([1.0, np.inf, np.nan]))
        array([3., 0., 0.])
    """
    if isinstance(nan, bool):
        raise TypeError(
            "nan_to_num(x, copy, ...): pass copy by keyword (nan_to_num(x, copy=False)); the "
            "positional parameters are nan, posinf and neginf"
        )
    if not isinstance(x, Box):
        return np.nan_to_num(x, copy=copy, nan=nan, posinf=posinf, neginf=neginf)
    return bind(_nan_to_num_op, (x,), {"nan": nan, "posinf": posinf, "neginf": neginf})


nan_to_num.op = _nan_to_num_op
_nan_to_num_op.public = nan_to_num

# ---- NumPy's other names, and float_power ------------------------------------------------------


@defcomposite(complex="holomorphic", numpy=np.true_divide, samples=S.binary(S.real, S.positive))
def true_divide(x, y):
    """``x / y``: NumPy's other name of :func:`divide` (and PyTorch's ``true_divide``).

    Examples:
        >>> import autodiff as ad
        >>> float(ad.grad(lambda x: ad.true_divide(x, 4.0))(1.0))
        0.25
    """
    return anp.divide(x, y)


@defcomposite(numpy=np.fabs, samples=S.unary(S.away_from_zero))
def fabs(x):
    """``|x|`` of real numbers: NumPy's ``fabs``, :func:`abs` (derivative ``sign(x)``, 0 at 0).

    Examples:
        >>> import autodiff as ad
        >>> float(ad.grad(ad.fabs)(-2.0))
        -1.0
    """
    return anp.abs(x)


defop(
    "rad2deg", np.rad2deg, elementwise=True, linear=True, numpy=(np.rad2deg, np.degrees),
    vjp=(lambda g, ans, x: anp.rad2deg(g),),  # x̄ = (180/π)·ḡ (linear: its JVP is itself)
    samples=S.unary(), formula="d rad2deg(x) = (180/π)·dx", vjp_formula="x̄ = (180/π)·ḡ",
    doc="Radians to degrees (np.rad2deg, np.degrees)", torch="rad2deg",
)  # fmt: skip
defop(
    "deg2rad", np.deg2rad, elementwise=True, linear=True, numpy=(np.deg2rad, np.radians),
    vjp=(lambda g, ans, x: anp.deg2rad(g),),  # x̄ = (π/180)·ḡ (linear: its JVP is itself)
    samples=S.unary(), formula="d deg2rad(x) = (π/180)·dx", vjp_formula="x̄ = (π/180)·ḡ",
    doc="Degrees to radians (np.deg2rad, np.radians)", torch="deg2rad",
)  # fmt: skip


@defcomposite(samples=S.unary())
def degrees(x):
    """Radians to degrees: NumPy's other name of :func:`rad2deg`.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> float(ad.degrees(np.pi))
        180.0
    """
    return anp.rad2deg(x)


@defcomposite(samples=S.unary())
def radians(x):
    """Degrees to radians: NumPy's other name of :func:`deg2rad`.

    Examples:
        >>> import autodiff as ad
        >>> float(ad.radians(180.0)) == float(ad.deg2rad(180.0))
        True
    """
    return anp.deg2rad(x)


def _wide(v, ans):
    """``v`` in the dtype of float_power's result (float64 at least): a cast, so it is
    differentiated, when it is not already; Python numbers stay as they are."""
    if isinstance(v, (bool, int, float)) or raw(v).dtype == raw(ans).dtype:
        return v
    return anp.astype(v, raw(ans).dtype)


defop(
    "float_power", np.float_power, nargs=2, elementwise=True,
    partials=(
        # power's rules, in float_power's dtype: d(xʸ) = y·xʸ⁻¹ dx + xʸ·ln(x) dy
        lambda ans, x, y: _power_dx(ans, _wide(x, ans), _wide(y, ans)),
        lambda ans, x, y: _power_dy(ans, _wide(x, ans), _wide(y, ans)),
    ),
    samples=S.binary(S.positive, S.real),
    formula="d(xʸ) = y·xʸ⁻¹·dx + xʸ·ln(x)·dy, computed in float64 at least",
    vjp_formula="x̄ = ḡ·y·xʸ⁻¹, ȳ = ḡ·xʸ·ln x", torch="float_power",
    doc="Elementwise power computed in float64 at least (complex128 for complex input)",
)  # fmt: skip
