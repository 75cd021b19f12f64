"""scipy.special's functions with derivatives: ``autodiff.special.erf(x)``, and
``scipy.special.erf(x)`` itself on traced values (its ufuncs dispatch through ``__array_ufunc__``).

SciPy stays optional, and ``import autodiff`` does not import it (``scipy.special`` takes longer to
import than autodiff itself). Dispatch is keyed by the ufunc's name, so the ops declare their
twins by name (``numpy="erf"``); the primal imports SciPy on its first call and is SciPy's own
ufunc, so the values are SciPy's. Without SciPy, ``autodiff.special.erf`` exists all the same
and calling it raises an ``ImportError`` that says it needs SciPy.

Conventions where the derivative is not smooth: ``xlogy(x, y) = x·log y`` has ``∂/∂x = log y``
everywhere (JAX's rule; PyTorch gives 0 at ``x = 0``, which is not the derivative when ``y > 0``)
and ``∂/∂y = x/y``, taken as 0 at ``x = y = 0`` where the function is 0 along ``x = 0``; the
same for ``xlog1py`` at ``y = -1``.
"""

from __future__ import annotations

import math

import numpy as np

from autodiff import functions as anp
from autodiff.arrays import dtype_of, maybe_any
from autodiff.core import Box, bind, raw
from autodiff.ops import samples as S
from autodiff.registry import defop

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def needs_scipy(name: str) -> ImportError:
    """The error of ``autodiff.special.<name>`` when SciPy is not installed."""
    return ImportError(
        f"autodiff.special.{name} needs SciPy, which is not installed; install it with "
        "`pip install scipy` (or `pip install autodiff[scipy]`)"
    )


_loaded: dict[str, object] = {}


def _scipy(name: str, public: str):
    """A primal that calls ``scipy.special.<name>``, importing SciPy on its first call (or raising
    :func:`needs_scipy` when SciPy is not installed)."""

    def primal(*args, **kwargs):
        fn = _loaded.get(name)
        if fn is None:
            try:
                import scipy.special
            except ImportError:
                raise needs_scipy(public) from None
            fn = _loaded[name] = getattr(scipy.special, name)
        return fn(*args, **kwargs)

    primal.__name__ = public
    return primal


def _special(name, partials, samples, formula, vjp_formula, doc, *, scipy_name=None, nargs=1,
             torch=None):  # fmt: skip
    """Declare one of scipy.special's ufuncs as an op of ``autodiff.special``; ``scipy_name`` is
    the ufunc's ``__name__`` when it differs (``digamma`` is ``psi``)."""
    scipy_name = scipy_name or name
    return defop(
        name, _scipy(scipy_name, name), nargs=nargs, elementwise=True, partials=partials,
        module="special", numpy=scipy_name, samples=samples, formula=formula,
        vjp_formula=vjp_formula, doc=doc, torch=torch,
    )  # fmt: skip


def _open_unit(rng, shape):
    """Values in (0.1, 0.9): inside logit's domain, away from its edges."""
    return rng.uniform(0.1, 0.9, shape)


def _with(domain, *extra):
    """Unary samples on ``domain``, and extra fixed inputs (edges, far tails)."""

    def samples(rng):
        return S.unary(domain)(rng) + [((np.array(e),), {}) for e in extra]

    return samples


# ---- error function and normal distribution -------------------------------------------------

_special(
    "erf", (lambda ans, x: _TWO_OVER_SQRT_PI * anp.exp(-(x * x)),),  # d erf x = 2/√π·e^(-x²) dx
    S.unary(), "d erf x = 2/√π·e^(-x²)·dx", "x̄ = ḡ·2/√π·e^(-x²)", "Error function",
    torch="erf",
)  # fmt: skip
_special(
    "erfc", (lambda ans, x: -_TWO_OVER_SQRT_PI * anp.exp(-(x * x)),),  # d erfc x = -2/√π·e^(-x²) dx
    S.unary(), "d erfc x = -2/√π·e^(-x²)·dx", "x̄ = -ḡ·2/√π·e^(-x²)",
    "Complementary error function, 1 - erf(x)", torch="erfc",
)  # fmt: skip
_special(
    "erfinv", (lambda ans, x: _SQRT_PI_OVER_TWO * anp.exp(ans * ans),),  # d erf⁻¹x = √π/2·e^(y²) dx
    S.unary(S.unit), "d erf⁻¹(x) = √π/2·exp(erf⁻¹(x)²)·dx", "x̄ = ḡ·√π/2·exp(erf⁻¹(x)²)",
    "Inverse error function", torch="erfinv",
)  # fmt: skip
_special(
    "ndtr", (lambda ans, x: _INV_SQRT_2PI * anp.exp(-0.5 * x * x),),  # d Φ(x) = e^(-x²/2)/√(2π) dx
    S.unary(), "d Φ(x) = e^(-x²/2)/√(2π)·dx", "x̄ = ḡ·e^(-x²/2)/√(2π)",
    "Standard normal cumulative distribution function Φ(x)",
)  # fmt: skip
_special(
    # d log Φ(x) = φ(x)/Φ(x) dx = e^(-x²/2 - log Φ(x))/√(2π) dx: stable in the far left tail
    "log_ndtr", (lambda ans, x: _INV_SQRT_2PI * anp.exp(-0.5 * x * x - ans),),
    _with(S.real, [-30.0, -8.0, 5.0]), "d log Φ(x) = φ(x)/Φ(x)·dx", "x̄ = ḡ·φ(x)/Φ(x)",
    "Logarithm of the standard normal CDF, accurate in the tails",
)  # fmt: skip

# ---- logistic ---------------------------------------------------------------------------------

_special(
    "expit", (lambda ans, x: ans * (1.0 - ans),),  # d σ(x) = σ(x)(1 - σ(x)) dx
    S.unary(), "d σ(x) = σ(x)(1 - σ(x))·dx", "x̄ = ḡ·σ(x)(1 - σ(x))",
    "Logistic sigmoid, 1/(1 + e^(-x)) (SciPy's values)",
)  # fmt: skip
_special(
    "logit", (lambda ans, x: 1.0 / (x * (1.0 - x)),),  # d log(x/(1-x)) = dx/(x(1-x))
    S.unary(_open_unit), "d logit x = dx/(x(1-x))", "x̄ = ḡ/(x(1-x))",
    "Log-odds, log(x/(1-x)), the inverse of expit", torch="logit",
)  # fmt: skip

# ---- gamma family -----------------------------------------------------------------------------

_special(
    "gammaln", (lambda ans, x: anp.digamma(x),),  # d log|Γ(x)| = ψ(x) dx
    _with(S.positive, [-0.5, -1.3, 2.5, 7.0]), "d log|Γ(x)| = ψ(x)·dx", "x̄ = ḡ·ψ(x)",
    "Logarithm of the absolute value of the gamma function", torch="lgamma",
)  # fmt: skip
_special(
    "digamma", (lambda ans, x: anp.polygamma(1, x),),  # d ψ(x) = ψ⁽¹⁾(x) dx
    _with(S.positive, [-0.5, 3.5]), "d ψ(x) = ψ⁽¹⁾(x)·dx", "x̄ = ḡ·ψ⁽¹⁾(x)",
    "Digamma function ψ(x), the derivative of log Γ(x)", scipy_name="psi", torch="digamma",
)  # fmt: skip

_scipy_polygamma = _scipy("polygamma", "polygamma")


def _polygamma_primal(x, n=1):
    out = _scipy_polygamma(n, x)
    # SciPy computes in float64: float32 stays float32 (and integers become float64)
    dtype = np.result_type(dtype_of(x), np.float16)
    return out if out.dtype == dtype else out.astype(dtype)


_polygamma_op = defop(
    "polygamma", _polygamma_primal, params={"n": 1}, elementwise=True, module="special",
    partials=(lambda ans, x, n: anp.polygamma(n + 1, x),),  # d ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁺¹⁾(x) dx
    samples=lambda rng: [((S.positive(rng, s),), {"n": n})
                         for n, s in [(0, (3,)), (1, (2, 3)), (2, ()), (1, (0, 2))]],
    formula="d ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁺¹⁾(x)·dx", vjp_formula="x̄ = ḡ·ψ⁽ⁿ⁺¹⁾(x)",
    doc="Polygamma function ψ⁽ⁿ⁾(x), the n-th derivative of the digamma function",
)  # fmt: skip


def polygamma(n, x):
    """The polygamma function ``ψ⁽ⁿ⁾(x)``, like ``scipy.special.polygamma(n, x)``, differentiable
    in ``x`` (its derivative is ``ψ⁽ⁿ⁺¹⁾(x)``, so any order works); ``n`` is an integer ≥ 0.

    Examples:
        >>> import autodiff as ad
        >>> round(float(ad.special.polygamma(1, 1.0)), 6)   # π²/6
        1.644934
        >>> round(float(ad.grad(ad.special.digamma)(1.0)), 6)
        1.644934
    """
    if isinstance(n, (Box, np.ndarray)) or int(n) != n or n < 0:
        raise TypeError(
            f"polygamma(n, x): n must be an integer ≥ 0 (it is not differentiated), got {n!r}"
        )
    return bind(_polygamma_op, (x,), {"n": int(n)})


polygamma.op = _polygamma_op
_polygamma_op.public = polygamma

# ---- x·log y ----------------------------------------------------------------------------------


def _x_over(x, y, at):
    # x/(y - at) for ∂/∂y, taken as 0 where x = 0 and y = at (the function is 0 along x = 0)
    both = (raw(x) == 0) & (raw(y) == at)
    if not maybe_any(both):
        return x / (y - at) if at else x / y
    return x / (anp.where(both, at + 1.0, y) - at)


def _xlog_samples(y_domain):
    def samples(rng):
        zeros = np.array([0.0, 1.5, -0.7, 0.0])  # x = 0: ∂/∂x is still log y
        return S.binary(S.real, y_domain)(rng) + [((zeros, y_domain(rng, (4,))), {})]

    return samples


_special(
    "xlogy",
    (
        lambda ans, x, y: anp.log(y),  # ∂(x·log y)/∂x = log y
        lambda ans, x, y: _x_over(x, y, 0.0),  # ∂(x·log y)/∂y = x/y
    ),
    _xlog_samples(S.positive), "d(x·log y) = log y·dx + (x/y)·dy", "x̄ = ḡ·log y, ȳ = ḡ·x/y",
    "x·log(y), 0 where x = 0", nargs=2, torch="xlogy",
)  # fmt: skip
_special(
    "xlog1py",
    (
        lambda ans, x, y: anp.log1p(y),  # ∂(x·log(1+y))/∂x = log(1+y)
        lambda ans, x, y: _x_over(x, y, -1.0),  # ∂(x·log(1+y))/∂y = x/(1+y)
    ),
    _xlog_samples(S.positive), "d(x·log(1+y)) = log(1+y)·dx + x/(1+y)·dy",
    "x̄ = ḡ·log(1+y), ȳ = ḡ·x/(1+y)", "x·log(1+y), 0 where x = 0", nargs=2,
)  # fmt: skip
