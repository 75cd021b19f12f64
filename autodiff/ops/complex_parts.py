"""Complex parts: real, imag, conj, angle and real_if_close.

The rules follow JAX's convention (see the docs page "Complex numbers"): a VJP is the transpose
``u·J`` of the real-linear map ``dz ↦ df`` under the pairing ``⟨a, b⟩ = Re(Σ a·b)``, with no
conjugation. So the transpose of ``real`` embeds ``ḡ`` in ℂ, that of ``imag`` is ``-i·ḡ``, that of
``conj`` is ``conj(ḡ)``, and a real function with ``df = Re(w·dz)`` has ``z̄ = ḡ·w``. The engines
give a real input the real part of a complex cotangent, and a complex input a complex one.
"""

from __future__ import annotations

import math

import numpy as np

from autodiff import functions as anp
from autodiff.core import raw
from autodiff.ops import samples as S
from autodiff.registry import defcomposite, defop


def complex_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal real and imaginary parts."""
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _complex_unary(rng: np.random.Generator) -> list:
    """Complex samples on the unary shapes, and a real one (the op on real input)."""
    return [((complex_normal(rng, s),), {}) for s in S.UNARY_SHAPES] + [((S.real(rng, (3,)),), {})]


defop(
    "real", np.real, linear=True, batchable=True, complex=True, numpy=np.real,
    jvp=(lambda t, ans, x: anp.real(t),),  # d Re z = Re dz
    vjp=(lambda g, ans, x: g,),  # z̄ = ḡ (the engine embeds it in x's complex dtype)
    samples=_complex_unary, formula="d Re(z) = Re(dz)", vjp_formula="z̄ = ḡ (as a complex number)",
    doc="Real part (of a real array: the array itself)",  # Tensor.real is a property
)  # fmt: skip


def _imag_vjp(g, ans, x):
    # z̄ = -i·ḡ: Re(ḡ·Im dz) = Re(-i·ḡ·dz)
    return g * (-1j) if np.iscomplexobj(raw(x)) else None  # Im x = 0 for a real x


defop(
    "imag", np.imag, linear=True, batchable=True, complex=True, numpy=np.imag,
    jvp=(lambda t, ans, x: anp.imag(t),),  # d Im z = Im dz
    vjp=(_imag_vjp,),
    samples=_complex_unary, formula="d Im(z) = Im(dz)", vjp_formula="z̄ = -i·ḡ",
    doc="Imaginary part (of a real array: zeros)",  # Tensor.imag is a property
)  # fmt: skip

defop(
    "conj", np.conjugate, linear=True, batchable=True, complex=True, numpy=np.conjugate,
    jvp=(lambda t, ans, x: anp.conj(t),),  # d conj(z) = conj(dz)
    vjp=(lambda g, ans, x: anp.conj(g),),  # z̄ = conj(ḡ)
    samples=_complex_unary, formula="d conj(z) = conj(dz)", vjp_formula="z̄ = conj(ḡ)",
    doc="Complex conjugate (of a real array: the array itself)", torch="conj",
)  # fmt: skip


@defcomposite(samples=_complex_unary, complex=True)
def conjugate(x):
    """The complex conjugate: NumPy's other name of :func:`conj`.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.conjugate(np.array([1 + 2j]))
        array([1.-2.j])
    """
    return anp.conj(x)


def _angle_dual(x, deg):
    """w = -i·conj(z)/|z|² (0 at z = 0), so that d arg z = Im(dz/z) = Re(w·dz)."""
    sq = anp.real(x * anp.conj(x))
    safe = anp.where(raw(sq) == 0, 1.0, sq)
    w = anp.conj(x) * (-1j) / safe
    return w * (180.0 / math.pi) if deg else w


def _angle_jvp(t, ans, x, deg):
    if not np.iscomplexobj(raw(x)):
        return None  # the angle of a real number is piecewise constant (0 or π)
    return anp.real(_angle_dual(x, deg) * t)  # d arg z = Im(conj(z)·dz)/|z|²


def _angle_vjp(g, ans, x, deg):
    if not np.iscomplexobj(raw(x)):
        return None
    return g * _angle_dual(x, deg)  # z̄ = -i·ḡ·conj(z)/|z|²


defop(
    "angle", lambda x, deg=False: np.angle(x, deg=deg), params={"deg": False}, complex=True,
    batchable=True, numpy=np.angle, jvp=(_angle_jvp,), vjp=(_angle_vjp,),
    samples=lambda rng: [*_complex_unary(rng), ((complex_normal(rng, (3,)),), {"deg": True})],
    formula="d arg(z) = Im(conj(z)·dz)/|z|² (0 for real z)",
    vjp_formula="z̄ = -i·ḡ·conj(z)/|z|²",
    doc="The argument (phase) of complex numbers, in radians (degrees with deg=True)",
    torch="angle",
)  # fmt: skip


def _dropped_imag(ans, x):
    return np.iscomplexobj(raw(x)) and not np.iscomplexobj(raw(ans))


defop(
    "real_if_close", lambda x, tol=100: np.real_if_close(x, tol=tol), params={"tol": 100},
    complex=True, batchable=True, numpy=np.real_if_close,
    # d = Re(dz) where the result dropped the imaginary parts (all within tol), else dz
    jvp=(lambda t, ans, x, tol: anp.real(t) if _dropped_imag(ans, x) else t,),
    vjp=(lambda g, ans, x, tol: g,),  # z̄ = ḡ (embedded in ℂ by the engine)
    # (a case that drops the imaginary parts is not differentiable numerically: a step of the
    # central difference brings them back; tests/test_complex.py checks it by hand)
    samples=lambda rng: [((complex_normal(rng, (2, 3)),), {}), ((S.real(rng, (3,)),), {})],
    formula="d real_if_close(z) = Re(dz) if the imaginary parts are dropped, else dz",
    vjp_formula="z̄ = ḡ",
    doc="Drop imaginary parts that are all within tol machine epsilons of zero",
)  # fmt: skip
