"""Rounding and remainders: floor, ceil, trunc, rint, round, sign, heaviside, floor_divide, and
remainder (``%``, ``mod``), fmod and divmod.

The rounding functions are piecewise constant: their derivative is zero wherever it exists, and it
is taken as zero at the jumps too (as PyTorch and JAX do). They still return traced values, as
PyTorch's tensors keep ``requires_grad`` and JAX gives a traced value with a zero tangent, so code
that rounds part of a computation keeps its graph. Their rules give concrete zeros in the shape of
the tangent (never ``t * 0``, which is NaN where the tangent is infinite). The exception is
``sign`` of a complex ``z``: NumPy 2 gives ``z/|z|``, which is smooth away from 0 and gets the
derivative of ``z/|z|`` (0 at ``z = 0``, as PyTorch's ``sgn``).

The remainders are not constant: ``x mod y = x - y·⌊x/y⌋``, so ``∂/∂x = 1`` and
``∂/∂y = -⌊x/y⌋`` (``-trunc(x/y)`` for ``fmod``), PyTorch's ``remainder`` and ``fmod`` rules.
The quotient is the one NumPy's remainder itself used (``floor_divide``), so the derivative matches
the value even where ``x/y`` rounds across an integer.
"""

from __future__ import annotations

import numpy as np

from autodiff import functions as anp
from autodiff.core import raw
from autodiff.ops import samples as S
from autodiff.ops.elementwise import _abs_safe, _is_complex, zeros_tangent
from autodiff.registry import defcomposite, defop

_ZERO = "d f(x) = 0 (piecewise constant)"


def _rounding(name, fn, doc, torch, samples=None, numpy=None, complex=False):
    """Declare a piecewise-constant function of one array: zero derivative, traced result."""
    defop(
        name, fn, elementwise=True, numpy=numpy,
        jvp=(lambda t, ans, x: zeros_tangent(t),),  # d f(x) = 0
        vjp=(lambda g, ans, x: zeros_tangent(g),),  # x̄ = 0
        samples=samples or S.unary(_between_integers), formula=_ZERO, vjp_formula="x̄ = 0",
        doc=doc + " (zero derivative; the result stays traced)", torch=torch, complex=complex,
    )  # fmt: skip


def _between_integers(rng, shape):
    """Values at least 0.1 from an integer, with either sign: every rounding is smooth there."""
    return (rng.integers(-3, 3, shape) + rng.uniform(0.1, 0.9, shape)).astype(float)


def _round_samples(rng):
    # decimals=1 jumps at multiples of 0.1 (and halfway between them): stay 0.01 away
    tenths = (rng.integers(-30, 30, (2, 3)) + rng.uniform(0.1, 0.4, (2, 3))) / 10
    return S.unary(_between_integers, decimals=0)(rng) + [((tenths,), {"decimals": 1})]


_rounding("floor", np.floor, "Elementwise floor, ⌊x⌋", "floor")
_rounding("ceil", np.ceil, "Elementwise ceiling, ⌈x⌉", "ceil")
_rounding("trunc", np.trunc, "Elementwise rounding towards zero", "trunc")
_rounding(
    "rint", np.rint, "Elementwise rounding to the nearest integer (halves to even)", None,
    complex=True,
)  # fmt: skip


def _unit_and_modulus(x):
    """``s = z/|z|`` and ``|z|`` with 1 where ``z = 0`` (there the rules give 0)."""
    r = _abs_safe(anp.abs(x))
    return x / r, r


def _sign_jvp(t, ans, x):
    if not _is_complex(raw(x)):
        return zeros_tangent(t)  # d sign(x) = 0
    s, r = _unit_and_modulus(x)
    # d(z/|z|) = (dz − s·Re(conj(s)·dz))/|z|
    return anp.where(raw(x) == 0, 0, (t - s * anp.real(anp.conj(s) * t)) / r)


def _sign_vjp(g, ans, x):
    if not _is_complex(raw(x)):
        return zeros_tangent(g)  # x̄ = 0
    s, r = _unit_and_modulus(x)
    # z̄ = (ḡ − Re(ḡ·s)·conj(s))/|z| (the transpose under Re Σ a·b, no conjugation of ḡ)
    return anp.where(raw(x) == 0, 0, (g - anp.real(g * s) * anp.conj(s)) / r)


defop(
    "sign", np.sign, elementwise=True, jvp=(_sign_jvp,), vjp=(_sign_vjp,), complex=True,
    samples=S.unary(S.away_from_zero),
    formula="d sign(x) = 0 (piecewise constant); complex: d(z/|z|) = (dz − s·Re(conj(s)·dz))/|z|",
    vjp_formula="x̄ = 0; complex: z̄ = (ḡ − Re(ḡ·s)·conj(s))/|z|, s = z/|z|",
    doc="Elementwise sign: -1, 0 or 1 (zero derivative; the result stays traced); of a complex "
    "z, z/|z| as in NumPy 2, whose derivative is PyTorch's sgn one (0 at z = 0)", torch="sign",
)  # fmt: skip
defop(
    "round", lambda x, decimals=0: np.round(x, decimals), params={"decimals": 0},
    elementwise=True, numpy=(np.round, np.around), complex=True,
    jvp=(lambda t, ans, x, decimals: zeros_tangent(t),),  # d round(x) = 0
    vjp=(lambda g, ans, x, decimals: zeros_tangent(g),),  # x̄ = 0
    samples=_round_samples, formula=_ZERO, vjp_formula="x̄ = 0",
    doc="Round to the given number of decimals, halves to even, like np.round and np.around "
    "(zero derivative; the result stays traced)", torch="round",
)  # fmt: skip


def _two_zero_rules(name, fn, doc, torch, samples):
    """Declare a piecewise-constant function of two arrays: zero derivative in both."""
    defop(
        name, fn, nargs=2, elementwise=True,
        jvp=(lambda t, ans, x, y: zeros_tangent(t), lambda t, ans, x, y: zeros_tangent(t)),  # 0
        vjp=(lambda g, ans, x, y: zeros_tangent(g), lambda g, ans, x, y: zeros_tangent(g)),  # 0
        samples=samples, formula="d f(x, y) = 0 (piecewise constant)", vjp_formula="x̄ = 0, ȳ = 0",
        doc=doc + " (zero derivative; the result stays traced)", torch=torch,
    )  # fmt: skip


def _quotient_pairs(rng):
    """Dividends and divisors (of either sign, away from 0) on broadcasting shapes and a
    zero-size one, whose quotients stay 0.02 away from an integer: the remainders are smooth."""
    out = []
    for a, b in S.BINARY_SHAPES:
        while True:
            x, y = 3.0 * S.real(rng, a), S.away_from_zero(rng, b)
            q = x / y
            if np.all(np.abs(q - np.rint(q)) > 0.02):
                break
        out.append(((x, y), {}))
    return out


_two_zero_rules(
    "floor_divide", np.floor_divide, "Elementwise ⌊x/y⌋, Python's //", "floor_divide",
    _quotient_pairs,
)  # fmt: skip
_two_zero_rules(
    "heaviside", np.heaviside, "Heaviside step: 0 for x < 0, y at x = 0, 1 for x > 0", "heaviside",
    S.binary(S.away_from_zero, S.real),
)  # fmt: skip


def _neg_floor_quotient(x, y):
    # -⌊x/y⌋ as NumPy's remainder used it, in the result's dtype (a constant: no derivative)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.floor_divide(raw(x), raw(y))


def _neg_trunc_quotient(x, y):
    # -trunc(x/y) as NumPy's fmod used it: (x - fmod(x, y))/y is an integer up to rounding
    xv, yv = raw(x), raw(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.rint((xv - np.fmod(xv, yv)) / yv)


defop(
    "remainder", np.remainder, nargs=2, elementwise=True,
    jvp=(
        lambda t, ans, x, y: t,  # d(x mod y) = dx - ⌊x/y⌋ dy
        lambda t, ans, x, y: t * _neg_floor_quotient(x, y),
    ),
    vjp=(
        lambda g, ans, x, y: g,  # x̄ = ḡ
        lambda g, ans, x, y: g * _neg_floor_quotient(x, y),  # ȳ = -⌊x/y⌋·ḡ
    ),
    samples=_quotient_pairs, formula="d(x mod y) = dx - ⌊x/y⌋·dy", vjp_formula="x̄ = ḡ, ȳ = -⌊x/y⌋·ḡ",
    doc="Elementwise remainder with the sign of y: Python's %, np.mod, PyTorch's remainder",
    torch="remainder",
)  # fmt: skip
defop(
    "fmod", np.fmod, nargs=2, elementwise=True,
    jvp=(
        lambda t, ans, x, y: t,  # d fmod(x, y) = dx - trunc(x/y) dy
        lambda t, ans, x, y: t * _neg_trunc_quotient(x, y),
    ),
    vjp=(
        lambda g, ans, x, y: g,  # x̄ = ḡ
        lambda g, ans, x, y: g * _neg_trunc_quotient(x, y),  # ȳ = -trunc(x/y)·ḡ
    ),
    samples=_quotient_pairs,
    formula="d fmod(x, y) = dx - trunc(x/y)·dy", vjp_formula="x̄ = ḡ, ȳ = -trunc(x/y)·ḡ",
    doc="Elementwise remainder with the sign of x (C's fmod)", torch="fmod",
)  # fmt: skip


@defcomposite(numpy=np.mod, samples=_quotient_pairs)
def mod(x, y):
    """``x mod y`` with the sign of ``y``: NumPy's other name of :func:`remainder` (Python's ``%``).

    Examples:
        >>> import autodiff as ad
        >>> float(ad.mod(7.5, 2.0)), float(ad.grad(lambda y: ad.mod(7.5, y))(2.0))
        (1.5, -3.0)
    """
    return anp.remainder(x, y)


@defcomposite(numpy=np.divmod, samples=_quotient_pairs)
def divmod(x, y):
    """``(x // y, x mod y)``, like ``np.divmod`` and Python's ``divmod``: the quotient has a
    zero derivative, the remainder the derivative of :func:`remainder`.

    Examples:
        >>> import autodiff as ad
        >>> q, r = ad.divmod(7.5, 2.0)
        >>> float(q), float(r)
        (3.0, 1.5)
    """
    return anp.floor_divide(x, y), anp.remainder(x, y)
