"""Matrix decompositions and what is built on them: ``eigh``, ``eigvalsh``, ``svd``, ``svdvals``,
``qr``, ``pinv`` and ``lstsq`` of ``autodiff.linalg``, on single matrices and on stacks.

**One primitive, several factors.** The engines carry one array per op, so a decomposition is one
primitive whose output holds its factors side by side, each flattened over its matrix axes
(``eigh``: ``[w | V]``, ``svd``: ``[U | s | Vh]``, ``qr``: ``[Q | R]``); the public functions cut
that array apart with ``getitem``/``reshape`` and return NumPy's named tuples. One LAPACK call
serves every factor, and each factor is differentiable on its own: an unused factor gets a zero
cotangent, which the rules handle like any other.

**Derivatives of exactly what NumPy computes.** ``np.linalg.eigh`` reads one triangle only
(``UPLO='L'``: the lower one) of a matrix it never checks for symmetry: the rules differentiate
``S = tril(A) + tril(A, -1)ᵀ``, so a perturbation of the ignored triangle has no effect, as in the
values. The rules follow the published derivations: Giles 2008 ("An extended collection of matrix
derivative results") and Seeger et al. 2015 for ``eigh``; Townsend 2016 ("Differentiating the
singular value decomposition") for ``svd``; Walter & Lehmann 2018 / Townsend's QR note for ``qr``;
Golub & Pereyra 1973 for ``pinv`` and ``lstsq``. Each VJP is the exact adjoint of its JVP.

**Where a derivative does not exist.** Eigenvectors of a repeated eigenvalue (singular vectors of
a repeated singular value) are not unique, so their derivative is undefined. The convention (the
one under which every basis-independent function, such as the projector onto the eigenspace or
the eigenvalues themselves, gets its exact derivative) sets the terms that couple the repeated
values to zero, and a :class:`DegenerateWarning` says so whenever those terms were not already
zero. Extra columns that NumPy adds with ``full_matrices=True`` (``svd``) or ``mode='complete'``
(``qr``) on non-square matrices are an arbitrary basis of a complement: their derivative depends on
that choice, so using them in a derivative raises an error that names the alternative. ``qr`` of a
rank-deficient matrix raises too. Eigen- and singular vectors carry the sign NumPy chose: the
derivative is that of NumPy's gauge, which is locally constant away from degeneracies.

**Complex matrices** (eigh/eigvalsh of a Hermitian matrix, svd, svdvals, qr, pinv, lstsq) follow
JAX's rules (``eigh_jvp_rule``, ``svd_jvp_rule``, ``qr_jvp_rule``: the real formulas with ``ᵀ``
read as ``ᴴ``, plus ``svd``'s imaginary diagonal term for the relative phase of ``uᵢ`` and ``vᵢ``,
and ``qr``'s, which keeps ``diag(R)`` real as LAPACK does), and JAX's convention: a VJP is the
transpose ``u·J`` with no conjugation (each VJP here is the Hermitian adjoint at ``conj(ḡ)``,
conjugated back). ``eigh`` reads one triangle and, as LAPACK does, ignores the imaginary part of
the diagonal. A complex eigen- or singular vector is defined up to a phase ``e^{iθ}``: JAX
differentiates an implicit gauge that no primal computes, so only functions that do not depend on
the phase (``|V|²``, ``U diag(s) Vh``, projectors) get a meaningful derivative there. Here the
phase is NumPy's own gauge, made exact: a complex eigenvector's entry in the first row
(``UPLO='L'``; the last row for ``'U'``) is real, and so is the first row of ``V`` for an ``m ≥ n``
``svd`` (of ``U`` when ``m < n``), with LAPACK's sign. The rules add the phase term ``iΦ`` that
keeps that row real, so every function of the factors, phase-dependent or not, gets the exact
derivative of the values it is given; on phase-free functions this equals JAX's. The factors
equal NumPy's bit for bit, except for a very wide ``svd`` (LAPACK goes through an LQ
factorization, whose first row of ``U`` is real only to rounding), where they agree to rounding.
Where that gauge entry is zero the phase has no derivative, and the phase term is dropped.

Examples:
    >>> import numpy as np, autodiff as ad
    >>> A = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> g = ad.grad(lambda a: ad.linalg.eigh(a).eigenvalues[-1])(A)   # v vᵀ, lower triangle
    >>> v = np.linalg.eigh(A).eigenvectors[:, -1]
    >>> np.allclose(g, np.tril(2 * np.outer(v, v)) - np.diag(v * v))
    True
    >>> float(ad.grad(lambda a: ad.linalg.svd(a, compute_uv=False)[0])(A).sum().round(6))
    1.894427
"""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple

import numpy as np

from autodiff import functions as anp
from autodiff.arrays import as_array, asarray_like, is_duck, zeros_like
from autodiff.core import Box, bind, raw, shape_of
from autodiff.functions import linalg as la
from autodiff.numpy_api import dispatch_also, unsupported
from autodiff.ops.linalg import (
    _as_columns,
    _cast,
    _from_columns,
    _is_vector,
    _mT,
    _orthogonal,
)
from autodiff.registry import defcomposite, defop


class DegenerateWarning(RuntimeWarning):
    """A derivative met repeated eigenvalues or singular values and used the documented convention."""


# --------------------------------------------------------------------------------------------
# Packing several factors into one array, and the shared pieces of the rules
# --------------------------------------------------------------------------------------------


def _flat(x: Any, nd: int) -> Any:
    """``x`` with its last ``nd`` axes flattened into one (the leading axes, batch included, stay)."""
    shape = shape_of(x)
    cut = len(shape) - nd
    return anp.reshape(x, shape[:cut] + (math.prod(shape[cut:]),))


def pack(*parts: tuple[Any, int]) -> Any:
    """Factors ``(array, matrix_ndim)`` side by side along one last axis (traced or plain)."""
    return anp.concatenate([_flat(x, nd) for x, nd in parts], axis=-1)


def _pack_plain(*parts: tuple[np.ndarray, int]) -> np.ndarray:
    flats = []
    for x, nd in parts:
        cut = x.ndim - nd
        flats.append(x.reshape(x.shape[:cut] + (math.prod(x.shape[cut:]),)))
    return np.concatenate(flats, axis=-1)


def unpack(p: Any, shapes: list[tuple[int, ...]]) -> list[Any]:
    """The factors of a packed array, given their matrix shapes (leading axes kept)."""
    lead = shape_of(p)[:-1]
    out, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        piece = anp.getitem(p, index=(Ellipsis, slice(start, start + size)))
        out.append(anp.reshape(piece, lead + shape))
        start += size
    return out


def _row(v: Any) -> Any:
    """``v[..., None, :]``: a vector that scales the columns of a matrix."""
    return anp.getitem(v, index=(Ellipsis, None, slice(None)))


def _col(v: Any) -> Any:
    """``v[..., :, None]``: a vector that scales the rows of a matrix."""
    return anp.getitem(v, index=(Ellipsis, slice(None), None))


def _diag(x: Any) -> Any:
    return anp.diagonal(x, axis1=-2, axis2=-1)


def _diag_embed(v: Any) -> Any:
    """The matrices with ``v`` on their diagonal."""
    n = shape_of(v)[-1]
    return _row(v) * _cast(np.eye(n), v)


def _cols(x: Any, start: int | None, stop: int | None) -> Any:
    return anp.getitem(x, index=(Ellipsis, slice(start, stop)))


def _rows(x: Any, start: int | None, stop: int | None) -> Any:
    return anp.getitem(x, index=(Ellipsis, slice(start, stop), slice(None)))


def symmetric_from(x: Any, uplo: str = "L") -> Any:
    """The symmetric matrix that ``np.linalg.eigh(x, UPLO)`` reads: one triangle, mirrored."""
    if uplo == "L":
        return anp.tril(x) + _mT(anp.tril(x, k=-1))
    return anp.triu(x) + _mT(anp.triu(x, k=1))


def symmetric_from_adjoint(g: Any, uplo: str = "L") -> Any:
    """The transpose of :func:`symmetric_from` (a linear map): ``tril(G) + tril(Gᵀ, -1)``."""
    if uplo == "L":
        return anp.tril(g) + anp.tril(_mT(g), k=-1)
    return anp.triu(g) + anp.triu(_mT(g), k=1)


# ---- complex values: Hermitian transposes, JAX's convention and NumPy's phase gauge ----------


def _is_c(x: Any) -> bool:
    """Whether ``x`` (plain or traced) holds complex numbers."""
    return raw(x).dtype.kind == "c"


def _conj_if(x: Any, cplx: bool) -> Any:
    return anp.conj(x) if cplx else x


def _mH(x: Any) -> Any:
    """The conjugate transpose of the matrices (the transpose for real values)."""
    return _conj_if(_mT(x), _is_c(x))


def hermitian_from(x: Any, uplo: str = "L") -> Any:
    """The Hermitian matrix that ``np.linalg.eigh(x, UPLO)`` reads: one triangle, mirrored and
    conjugated; LAPACK ignores the imaginary part of the diagonal (real values: ``symmetric_from``)."""
    if not _is_c(x):
        return symmetric_from(x, uplo)
    low = anp.tril(x, k=-1) if uplo == "L" else anp.triu(x, k=1)
    return low + _mH(low) + _diag_embed(anp.real(_diag(x)))


def hermitian_from_adjoint(g: Any, uplo: str = "L") -> Any:
    """The adjoint of :func:`hermitian_from` for the inner product ``Re Σ conj(a) b``."""
    if not _is_c(g):
        return symmetric_from_adjoint(g, uplo)
    if uplo == "L":
        off = anp.tril(g, k=-1) + anp.tril(_mH(g), k=-1)
    else:
        off = anp.triu(g, k=1) + anp.triu(_mH(g), k=1)
    return off + _diag_embed(anp.real(_diag(g)))


def _i_diag(x: Any, scale: Any = None) -> Any:
    """``i Im(diag x)`` (times ``scale``) as diagonal matrices: the phase terms of the rules."""
    d = anp.imag(_diag(x))
    return _diag_embed(d if scale is None else d * scale) * 1j


def _fix_phase(v: np.ndarray, row: int, k: int) -> np.ndarray:
    """The phases (one per column of ``v[..., :, :k]``) that make ``v[..., row, :k]`` real, the
    sign LAPACK chose kept: exactly 1 where that entry is real already (NumPy's own gauge)."""
    x = v[..., row, :k]
    mag = np.abs(x)
    p = np.where(mag > 0, x / np.where(mag > 0, mag, 1), 1)
    return np.where(x.imag == 0, 1, np.where(p.real < 0, -p, p))


PHASE_UNDEFINED = (
    "the entry that fixes the phase of a complex {vectors} (NumPy's gauge: its {where} is real) "
    "is zero, so that phase has no derivative. The phase term was dropped (JAX's convention), "
    "which is exact for functions that do not depend on the phase (|v|², projectors, "
    "reconstructions) and arbitrary otherwise"
)


def _gauge_inverse(op: str, ref: Any, used: Any) -> Any:
    """``1/ref`` for the real entries ``ref`` that fix the phase, 0 where one is zero (there the
    phase has no derivative: JAX's convention, no phase term, and a warning if ``used``, the
    values this drops, is not zero there)."""
    rv = np.abs(raw(ref))
    tol = np.finfo(rv.dtype).eps * (np.max(rv, axis=-1, keepdims=True) if rv.size else 0)
    zero = rv <= tol
    what = {"eigh": ("eigenvector", "entry in the first (UPLO='L') or last (UPLO='U') row"),
            "svd": ("singular vector", "first entry in V (m ≥ n) or U (m < n)")}[op]  # fmt: skip
    _warn_if_used(op, PHASE_UNDEFINED.format(vectors=what[0], where=what[1]), zero, used)
    return anp.where(zero, 0.0, 1.0 / anp.where(zero, 1.0, ref))


def _phase_tangent(op: str, y: Any, ref: Any) -> Any:
    """``φ`` with ``y + i φ ref`` real: the rate of the phase that keeps NumPy's gauge, given
    ``y``, the tangent of the gauge-fixing entries before that phase term."""
    im = anp.imag(y)
    return -im * _gauge_inverse(op, ref, im)


def _phase_cotangent(op: str, c: Any, ref: Any) -> Any:
    """The adjoint of :func:`_phase_tangent` for ``Re Σ conj(a) b`` (``c``: the cotangent of φ)."""
    return (-1j) * (c * _gauge_inverse(op, ref, c))


def _unit_column(n: int, row: int, like: Any) -> np.ndarray:
    e = np.zeros((n, 1), dtype=raw(like).dtype)
    e[row] = 1
    return e


def _uplo(UPLO: str) -> str:
    uplo = str(UPLO).upper()
    if uplo not in ("L", "U"):
        raise ValueError(f"linalg.eigh: UPLO argument must be 'L' or 'U', got {UPLO!r}")
    return uplo


def close_pairs(values: np.ndarray) -> np.ndarray:
    """Pairs ``(i, j)``, ``i ≠ j``, of values equal to working precision (``(..., k, k)`` bools).

    Two values closer than ``k · eps · max|value|`` cannot be told apart by the decomposition
    that computed them, so ``1 / (λⱼ - λᵢ)`` would be noise, not a derivative.
    """
    values = as_array(values)  # a GPU array stays on its device
    k = values.shape[-1]
    if values.size == 0:
        return zeros_like(values, values.shape + (k,), bool)
    eps = np.finfo(values.dtype).eps if values.dtype.kind == "f" else np.finfo(float).eps
    tol = k * eps * np.max(np.abs(values), axis=-1)[..., None, None]
    gap = np.abs(values[..., None, :] - values[..., :, None])
    return (gap <= tol) & asarray_like(~np.eye(k, dtype=bool), values)


def inverse_gaps(v: Any, close: np.ndarray) -> Any:
    """``F`` with ``Fᵢⱼ = 1 / (vⱼ - vᵢ)`` off the diagonal; 0 on it and on the ``close`` pairs."""
    gap = _row(v) - _col(v)
    drop = close | asarray_like(np.eye(shape_of(v)[-1], dtype=bool), close)
    return anp.where(drop, 0.0, 1.0 / anp.where(drop, 1.0, gap))


def _warn_if_used(op: str, what: str, where: np.ndarray, values: Any) -> None:
    """Warn (:class:`DegenerateWarning`) when ``values``, the (co)tangents that meet a
    convention, are not negligible at ``where`` (bools broadcast against them)."""
    if not where.any():
        return
    v = np.abs(as_array(raw(values)))
    if v.size == 0:
        return
    eps = np.finfo(v.dtype).eps if v.dtype.kind == "f" else np.finfo(float).eps
    if np.any(v[np.broadcast_to(where, v.shape)] > np.sqrt(eps) * np.max(v)):
        warnings.warn(f"linalg.{op}: {what}", DegenerateWarning, stacklevel=4)


_REPEATED = (
    "repeated {values} (equal to working precision): the derivative of their {vectors} is "
    "undefined, since any orthonormal basis of their space is a valid choice. The terms that "
    "couple them were set to zero, which gives the exact derivative of functions that do not "
    "depend on that basis (the {plain}, the projector onto the space) and an arbitrary one "
    "otherwise; use {alternative} for the {plain} alone"
)
EIGH_DEGENERATE = _REPEATED.format(
    values="eigenvalues", vectors="eigenvectors", plain="eigenvalues",
    alternative="linalg.eigvalsh",
)  # fmt: skip
SVD_DEGENERATE = _REPEATED.format(
    values="singular values", vectors="singular vectors", plain="singular values",
    alternative="linalg.svdvals (or compute_uv=False)",
)  # fmt: skip
SVD_PHASE = (
    "a zero singular value of a complex matrix: the relative phase of its singular vectors has "
    "no derivative. Its term was set to zero; use linalg.svdvals (or compute_uv=False) for the "
    "singular values alone"
)
SVD_ZERO = (
    "a zero singular value of a non-square matrix: the derivative of its singular vectors is "
    "undefined (they are any unit vectors of a null space). Their terms were set to zero; use "
    "linalg.svdvals (or compute_uv=False) for the singular values alone"
)

# --------------------------------------------------------------------------------------------
# eigh and eigvalsh
# --------------------------------------------------------------------------------------------


class EighResult(NamedTuple):
    """``(eigenvalues, eigenvectors)``, as ``np.linalg.eigh`` returns them."""

    eigenvalues: Any
    eigenvectors: Any


def _eigh_primal(a, UPLO="L"):
    w, v = np.linalg.eigh(a, UPLO)
    if v.dtype.kind == "c" and v.shape[-1]:  # NumPy's gauge, made sure of (see _eigh_row)
        v = v * np.conj(_fix_phase(v, _eigh_row(UPLO, v.shape[-1]), v.shape[-1]))[..., None, :]
    return _pack_plain((w, 1), (v, 2))


def _eigh_row(UPLO: str, n: int) -> int:
    """The row of complex eigenvectors that NumPy (LAPACK's Householder reduction) leaves real:
    the first for ``UPLO='L'``, the last for ``'U'``; its sign is LAPACK's, locally constant."""
    return 0 if _uplo(UPLO) == "L" else n - 1


def _eigh_parts(p: Any, a: Any) -> list[Any]:
    n = shape_of(a)[-1]
    w, v = unpack(p, [(n,), (n, n)])
    return [anp.real(w) if _is_c(w) else w, v]


def _eigh_jvp(t, ans, a, UPLO):
    # X = Vᴴ dS V (dS Hermitian, from NumPy's triangle): dw = Re diag(X), dV = V (F ∘ X + iΦ),
    # Φ = diag(φ) keeping NumPy's real row of V real
    w, v = _eigh_parts(ans, a)
    x = anp.matmul(_mH(v), anp.matmul(hermitian_from(t, _uplo(UPLO)), v))
    close = close_pairs(raw(w))
    _warn_if_used("eigh", EIGH_DEGENERATE, close, x)
    dv = anp.matmul(v, inverse_gaps(w, close) * x)
    dw = _diag(x)
    if _is_c(x):
        dw = anp.real(dw)
        n = shape_of(v)[-1]
        if n:
            row = _eigh_row(UPLO, n)
            ref = anp.real(anp.getitem(v, index=(Ellipsis, row, slice(None))))
            phi = _phase_tangent("eigh", anp.getitem(dv, index=(Ellipsis, row, slice(None))), ref)
            dv = dv + v * _row(phi * 1j)
    return pack((dw, 1), (dv, 2))


def _eigh_vjp(g, ans, a, UPLO):
    # the adjoint (JAX's: conj of the Hermitian adjoint at conj ḡ): V̄ += e_r (-i c / v_r),
    # c = Im diag(Vᴴ V̄); S̄ = V (diag(Re w̄) + F ∘ Vᴴ V̄) Vᴴ; Ā = the adjoint of herm() at S̄
    w, v = _eigh_parts(ans, a)
    cplx = _is_c(v)
    gw, gv = _eigh_parts(_conj_if(g, cplx), a)
    close = close_pairs(raw(w))
    _warn_if_used("eigh", EIGH_DEGENERATE, close.any(axis=-1)[..., None, :], gv)
    x = anp.matmul(_mH(v), gv)
    n = shape_of(v)[-1]
    if cplx and n:
        row = _eigh_row(UPLO, n)
        ref = anp.real(anp.getitem(v, index=(Ellipsis, row, slice(None))))
        z = _phase_cotangent("eigh", anp.imag(_diag(x)), ref)
        gv = gv + _unit_column(n, row, v) * _row(z)
        x = anp.matmul(_mH(v), gv)
    inner = inverse_gaps(w, close) * x + _diag_embed(gw)
    out = hermitian_from_adjoint(anp.matmul(v, anp.matmul(inner, _mH(v))), _uplo(UPLO))
    return _conj_if(out, cplx)


def _spectrum(rng, batch, n):
    """Eigenvalues at least 1 apart, of both signs."""
    return np.arange(n) * 1.5 - 0.6 * n + rng.uniform(0.0, 0.4, (*batch, n))


def symmetric_sample(rng, shape, uplo=None):
    """``Q diag(w) Qᵀ`` with well separated ``w``; with ``uplo``, noise in the other triangle
    (which NumPy never reads)."""
    *batch, n, _ = shape
    q = _orthogonal(rng, batch, n)
    s = (q * _spectrum(rng, batch, n)[..., None, :]) @ np.swapaxes(q, -1, -2)
    s = (s + np.swapaxes(s, -1, -2)) / 2
    if uplo is None:
        return s
    noise = rng.standard_normal(shape)
    if uplo == "L":
        return np.tril(s) + np.triu(noise, 1)
    return np.triu(s) + np.tril(noise, -1)


def _eigh_samples(rng):
    cases = [
        ((3, 3), None, "L"),
        ((3, 3), "L", "L"),
        ((2, 3, 3), "L", "L"),
        ((4, 4), "U", "U"),
        ((1, 1), None, "L"),
        ((2, 1, 2, 2), "L", "L"),
        ((0, 2, 2), None, "L"),
    ]
    return [((symmetric_sample(rng, s, noise),), {"UPLO": uplo}) for s, noise, uplo in cases]


_eigh_op = defop(
    "eigh", _eigh_primal, module="linalg", params={"UPLO": "L"}, batchable=True,
    jvp=(_eigh_jvp,), vjp=(_eigh_vjp,), samples=_eigh_samples, complex=True,
    formula="X = Vᴴ dS V: dw = Re diag(X), dV = V (F ∘ X + iΦ), Fᵢⱼ = 1/(wⱼ - wᵢ), "
    "dS = herm(tril dA), Φ: NumPy's phase",
    vjp_formula="Ā = tril-adjoint of V (diag(w̄) + F ∘ Vᴴ V̄) Vᴴ (+ phase term; conj for complex)",
    doc="Eigenvalues (ascending) and eigenvectors of a symmetric or Hermitian matrix, read from "
    "one triangle",
)  # fmt: skip


def eigh(a: Any, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric (or complex
    Hermitian) matrix, or of each matrix of a stack, like ``np.linalg.eigh``: only the ``UPLO``
    triangle is read (and, for complex values, the real part of the diagonal).

    The derivative is that of exactly this function: the other triangle has none. At repeated
    eigenvalues the eigenvectors' derivative is undefined: see :class:`DegenerateWarning`.
    Complex eigenvectors carry NumPy's phase (see the module's notes); gradients follow JAX's
    convention, ``∂f/∂a - i ∂f/∂b`` for a real ``f`` of ``a + ib``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> A = np.array([[2.0, 0.0], [0.0, 1.0]])
        >>> ad.jacfwd(lambda a: ad.linalg.eigh(a).eigenvalues)(A)[1]   # d w₁ = dA₀₀
        array([[1., 0.],
               [0., 0.]])
        >>> H = np.array([[2.0, 1j], [-1j, 2.0]])     # Hermitian; the lower triangle is read
        >>> g = ad.grad(lambda a: ad.linalg.eigh(a).eigenvalues[-1])(H)
        >>> np.allclose(g, [[0.5, 0.0], [1j, 0.5]])
        True
    """
    if not isinstance(a, Box):
        return np.linalg.eigh(a, UPLO)
    p = bind(_eigh_op, (a,), {"UPLO": _uplo(UPLO)})
    return EighResult(*_eigh_parts(p, a))


_eigh_op.public = eigh
eigh.op = _eigh_op


def _eigvalsh_jvp(t, ans, a, UPLO):
    # dwᵢ = Re vᵢᴴ dS vᵢ
    uplo = _uplo(UPLO)
    v = la.eigh(a, uplo).eigenvectors
    cplx = _is_c(v)
    dw = anp.sum(_conj_if(v, cplx) * anp.matmul(hermitian_from(t, uplo), v), axis=-2)
    return anp.real(dw) if cplx else dw


def _eigvalsh_vjp(g, ans, a, UPLO):
    # Ā = conj of the herm()-adjoint of V diag(Re w̄) Vᴴ
    uplo = _uplo(UPLO)
    v = la.eigh(a, uplo).eigenvectors
    cplx = _is_c(v)
    g = anp.real(g) if _is_c(g) else g
    out = hermitian_from_adjoint(anp.matmul(v * _row(g), _mH(v)), uplo)
    return _conj_if(out, cplx)


defop(
    "eigvalsh", lambda a, UPLO="L": np.linalg.eigvalsh(a, UPLO), module="linalg",
    params={"UPLO": "L"}, batchable=True,
    jvp=(_eigvalsh_jvp,), vjp=(_eigvalsh_vjp,), samples=_eigh_samples, complex=True,
    formula="dwᵢ = Re vᵢᴴ dS vᵢ, dS = herm(tril dA)",
    vjp_formula="Ā = tril-adjoint of V diag(w̄) Vᴴ (conjugated for complex)",
    doc="Eigenvalues (ascending) of a symmetric or Hermitian matrix, read from one triangle",
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# svd and svdvals
# --------------------------------------------------------------------------------------------


class SVDResult(NamedTuple):
    """``(U, S, Vh)``, as ``np.linalg.svd`` returns them: ``A = U diag(S) Vh``."""

    U: Any
    S: Any
    Vh: Any


def _svd_shapes(a: Any, full_matrices: bool) -> list[tuple[int, ...]]:
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    return [(m, m if full_matrices else k), (k,), (n if full_matrices else k, n)]


def _svd_primal(a, full_matrices=True):
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    m, n = u.shape[-2], vh.shape[-1]
    k = min(m, n)
    if u.dtype.kind == "c" and k:  # NumPy's gauge, made sure of (see _svd_gauge)
        ref = np.conj(np.swapaxes(vh, -1, -2)) if m >= n else u
        p = _fix_phase(ref, 0, k)  # uᵢ, vᵢ times conj(pᵢ): the same A, NumPy's gauge
        u, vh = u.copy(), vh.copy()
        u[..., :, :k] *= np.conj(p)[..., None, :]
        vh[..., :k, :] *= p[..., :, None]
    return _pack_plain((u, 2), (s, 1), (vh, 2))


def _svd_gauge(m: int, n: int) -> str:
    """Which factor NumPy (LAPACK's bidiagonal reduction) leaves with a real first row, for
    complex values: ``V`` (``Vh[:, 0]``) when ``m >= n``, ``U`` when ``m < n``; the signs are
    LAPACK's, locally constant. Every phase of a singular pair is otherwise free."""
    return "V" if m >= n else "U"


FULL_MATRICES = (
    "linalg.svd: with full_matrices=True, the last {extra} of a {m}×{n} matrix are an arbitrary "
    "orthonormal basis of a complement, so their derivative depends on that choice and is not "
    "defined. Use full_matrices=False (the same singular values and leading singular vectors), "
    "or compute_uv=False / linalg.svdvals for the singular values alone"
)


def _full_matrices_error(a: Any) -> ValueError:
    m, n = shape_of(a)[-2:]
    extra = f"{m - n} column(s) of U" if m > n else f"{n - m} row(s) of Vh"
    return ValueError(FULL_MATRICES.format(extra=extra, m=m, n=n))


def _svd_jvp(t, ans, a, full_matrices):
    # dP = Uᴴ dA V: ds = Re diag dP, dU = U (F ∘ (dP S + S dPᴴ) + i Im(diag dP) S⁻¹ + iΦ)
    # + (I - UUᴴ) dA V S⁻¹, dV = V (F ∘ (S dP + dPᴴ S) + iΦ) + (I - VVᴴ) dAᴴ U S⁻¹,
    # Fᵢⱼ = 1/(sⱼ² - sᵢ²) (Townsend 2016; JAX's complex terms), Φ keeping NumPy's gauge
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    if full_matrices and m != n:
        raise _full_matrices_error(a)
    u, s, vh = unpack(ans, _svd_shapes(a, full_matrices))
    cplx = _is_c(u)
    if cplx:
        s = anp.real(s)
    v = _mH(vh)
    dav = anp.matmul(t, v)
    dp = anp.matmul(_mH(u), dav)
    dpt = _mH(dp)
    close = close_pairs(raw(s))
    _warn_if_used("svd", SVD_DEGENERATE, close, raw(dp))
    f = inverse_gaps(s * s, close)
    inner_u = f * (dp * _row(s) + _col(s) * dpt)
    if cplx:  # the relative phase of uᵢ and vᵢ: Im(uᵢᴴ dA vᵢ) / sᵢ
        inner_u = inner_u + _i_diag(dp, _inverse_singular(s, m, n, anp.imag(_diag(dp)), SVD_PHASE))
    du = anp.matmul(u, inner_u)
    dv = anp.matmul(v, f * (_col(s) * dp + dpt * _row(s)))
    if m > k:  # the part of dA V outside the span of U
        rest = dav - anp.matmul(u, dp)
        du = du + rest * _row(_inverse_singular(s, m, n, rest))
    if n > k:  # the part of dAᴴ U outside the span of V
        rest = anp.matmul(_mH(t), u) - anp.matmul(v, dpt)
        dv = dv + rest * _row(_inverse_singular(s, m, n, rest))
    ds = _diag(dp)
    if cplx:
        ds = anp.real(ds)
        if k:  # the common phase of uᵢ and vᵢ: NumPy's gauge
            ref = v if _svd_gauge(m, n) == "V" else u
            first = (Ellipsis, 0, slice(None))
            d_ref = dv if _svd_gauge(m, n) == "V" else du
            phase = _row(_phase_tangent("svd", anp.getitem(d_ref, index=first),
                                        anp.real(anp.getitem(ref, index=first))) * 1j)  # fmt: skip
            du, dv = du + u * phase, dv + v * phase
    return pack((du, 2), (ds, 1), (_mH(dv), 2))


def _inverse_singular(s: Any, m: int, n: int, used: Any, message: str = "") -> Any:
    """``1/s``, with 0 for zero singular values (their vectors' derivative is undefined: warn
    when ``used``, the terms this drops, is not zero there)."""
    sv = raw(s)
    tol = max(m, n) * np.finfo(sv.dtype).eps * np.max(sv, axis=-1, keepdims=True) if sv.size else 0
    zero = sv <= tol
    where = zero[..., None, :] if shape_of(used) != shape_of(s) else zero
    _warn_if_used("svd", message or SVD_ZERO, where, used)
    return anp.where(zero, 0.0, 1.0 / anp.where(zero, 1.0, s))


def _svd_vjp(g, ans, a, full_matrices):
    # P̄ = F ∘ (UᴴŪ - ŪᴴU) S + S F ∘ (VᴴV̄ - V̄ᴴV) + diag(Re s̄) + i Im diag(UᴴŪ) S⁻¹;
    # Ā = U P̄ Vᴴ + (I - UUᴴ) Ū S⁻¹ Vᴴ + U S⁻¹ V̄ᴴ (I - VVᴴ) (Townsend 2016), at ḡ conjugated
    # and conjugated back (JAX's transpose), after Ū, V̄ += the adjoint of NumPy's gauge term
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    shapes = _svd_shapes(a, full_matrices)
    u, s, vh = unpack(ans, shapes)
    cplx = _is_c(u)
    gu, gs, gvh = unpack(_conj_if(g, cplx), shapes)
    if cplx:
        s, gs = anp.real(s), anp.real(gs)
    if full_matrices and m != n:  # exact only when the arbitrary part is not used
        if np.any(raw(gu)[..., :, k:]) or np.any(raw(gvh)[..., k:, :]):
            raise _full_matrices_error(a)
        u, gu, vh, gvh = _cols(u, 0, k), _cols(gu, 0, k), _rows(vh, 0, k), _rows(gvh, 0, k)
    v, gv = _mH(vh), _mH(gvh)
    utgu = anp.matmul(_mH(u), gu)
    vtgv = anp.matmul(_mH(v), gv)
    if cplx and k:  # the adjoint of the gauge term: the phase's cotangent onto the first row
        c = anp.imag(_diag(utgu) + _diag(vtgv))
        ref = v if _svd_gauge(m, n) == "V" else u
        first = _phase_cotangent(
            "svd", c, anp.real(anp.getitem(ref, index=(Ellipsis, 0, slice(None))))
        )
        if _svd_gauge(m, n) == "V":
            gv = gv + _unit_column(n, 0, v) * _row(first)
            vtgv = anp.matmul(_mH(v), gv)
        else:
            gu = gu + _unit_column(m, 0, u) * _row(first)
            utgu = anp.matmul(_mH(u), gu)
    skew_u = utgu - _mH(utgu)
    skew_v = vtgv - _mH(vtgv)
    close = close_pairs(raw(s))
    repeated = close.any(axis=-1)[..., None, :]  # columns of U and V
    _warn_if_used("svd", SVD_DEGENERATE, repeated, gu)
    _warn_if_used("svd", SVD_DEGENERATE, repeated, gv)
    f = inverse_gaps(s * s, close)
    pbar = (f * skew_u) * _row(s) + _col(s) * (f * skew_v) + _diag_embed(gs)
    if cplx:
        pbar = pbar + _i_diag(utgu, _inverse_singular(s, m, n, anp.imag(_diag(utgu)), SVD_PHASE))
    out = anp.matmul(u, anp.matmul(pbar, vh))
    if m > k:
        rest = gu - anp.matmul(u, utgu)
        out = out + anp.matmul(rest * _row(_inverse_singular(s, m, n, rest)), vh)
    if n > k:
        rest = gv - anp.matmul(v, vtgv)
        out = out + anp.matmul(u * _row(_inverse_singular(s, m, n, rest)), _mH(rest))
    return _conj_if(out, cplx)


def spread_sample(rng, shape):
    """``U diag(s) Vᵀ`` with singular values well apart (1, 2, 3, ... with jitter)."""
    *batch, m, n = shape
    k = min(m, n)
    s = np.arange(1, k + 1) * 1.0 + rng.uniform(0.0, 0.3, (*batch, k))
    u = _orthogonal(rng, batch, m)[..., :, :k]
    v = _orthogonal(rng, batch, n)[..., :, :k]
    return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)


def _svd_samples(rng):
    cases = [
        ((3, 3), True),
        ((3, 3), False),
        ((4, 2), False),
        ((2, 4), False),
        ((2, 3, 2), False),
        ((2, 2, 3), False),
        ((1, 1), True),
        ((2, 1, 2, 2), True),
        ((0, 3, 2), False),
    ]
    return [((spread_sample(rng, s),), {"full_matrices": full}) for s, full in cases]


_svd_op = defop(
    "svd", _svd_primal, module="linalg", params={"full_matrices": True}, batchable=True,
    jvp=(_svd_jvp,), vjp=(_svd_vjp,), samples=_svd_samples, complex=True,
    formula="dP = Uᴴ dA V: ds = Re diag dP, dU = U (F ∘ (dP S + S dPᴴ) + i Im(diag dP) S⁻¹ + iΦ) "
    "+ (I - UUᴴ) dA V S⁻¹, dV likewise (without the Im term), Fᵢⱼ = 1/(sⱼ² - sᵢ²), Φ: NumPy's phase",
    vjp_formula="Ā = U (F ∘ (UᴴŪ - ŪᴴU) S + S F ∘ (VᴴV̄ - V̄ᴴV) + diag s̄ + i Im diag(UᴴŪ) S⁻¹) Vᴴ "
    "+ (I - UUᴴ) Ū S⁻¹ Vᴴ + U S⁻¹ V̄ᴴ (I - VVᴴ) (+ phase term; at conj ḡ, conjugated)",
    doc="Singular value decomposition A = U diag(S) Vh (of each matrix of a stack)",
)  # fmt: skip


def _take_last(x: Any, idx: np.ndarray) -> Any:
    """``x`` reordered along its last axis by the integer array ``idx`` (broadcast to x)."""
    shape = shape_of(x)
    grids = np.indices(shape[:-1], sparse=True)
    index = (Ellipsis, *(g[..., None] for g in grids), np.broadcast_to(idx, shape))
    return anp.getitem(x, index=index)


def _hermitian_svd(a: Any, compute_uv: bool) -> Any:
    """``np.linalg.svd(a, hermitian=True)``: NumPy's own steps on ``eigh`` (lower triangle)."""
    if not compute_uv:
        w = la.eigvalsh(a)
        return _take_last(anp.abs(w), np.argsort(np.abs(raw(w)), axis=-1)[..., ::-1])
    w, v = la.eigh(a)
    order = np.argsort(np.abs(raw(w)), axis=-1)[..., ::-1]
    sign = np.take_along_axis(np.copysign(1.0, raw(w)), order, axis=-1)
    u = _take_last(v, order[..., None, :])
    return SVDResult(u, _take_last(anp.abs(w), order), _mH(u * _cast(sign[..., None, :], w)))


def svd(
    a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False
) -> Any:
    """Singular value decomposition ``A = U diag(S) Vh``, like ``np.linalg.svd`` (stacks too).

    Differentiable in every factor, with these limits: with ``full_matrices=True`` on a
    non-square matrix, the extra columns of ``U`` (rows of ``Vh``) have no defined derivative
    (forward mode raises; reverse mode raises if they are used); repeated singular values make
    the vectors' derivative undefined (see :class:`DegenerateWarning`). Complex singular
    vectors carry NumPy's phase (see the module's notes), and ``S`` stays real.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> A = np.array([[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
        >>> ad.grad(lambda a: ad.linalg.svd(a, full_matrices=False).S[0])(A)   # u₁ v₁ᵀ
        array([[1., 0.],
               [0., 0.],
               [0., 0.]])
    """
    if not isinstance(a, Box):
        return np.linalg.svd(a, full_matrices, compute_uv, hermitian)
    if hermitian:
        return _hermitian_svd(a, compute_uv)
    if not compute_uv:
        return bind(_svdvals_op, (a,), {})
    full = bool(full_matrices)
    p = bind(_svd_op, (a,), {"full_matrices": full})
    u, s, vh = unpack(p, _svd_shapes(a, full))
    return SVDResult(u, anp.real(s) if _is_c(s) else s, vh)


_svd_op.public = svd
svd.op = _svd_op


def _svdvals_jvp(t, ans, a):
    # dsᵢ = Re uᵢᴴ dA vᵢ
    u, _, vh = la.svd(a, full_matrices=False)
    if not _is_c(u):
        return anp.sum(u * anp.matmul(t, _mT(vh)), axis=-2)
    return anp.real(anp.sum(anp.conj(u) * anp.matmul(t, _mH(vh)), axis=-2))


def _svdvals_vjp(g, ans, a):
    # Ā = conj(U diag(s̄) Vᴴ) (JAX's transpose; U diag(s̄) Vᵀ for real values)
    u, _, vh = la.svd(a, full_matrices=False)
    return _conj_if(anp.matmul(u * _row(g), vh), _is_c(u))


def _svdvals_samples(rng):
    shapes = [(3, 3), (4, 2), (2, 4), (2, 3, 2), (1, 1), (0, 3, 2)]
    return [((spread_sample(rng, s),), {}) for s in shapes]


_svdvals_op = defop(
    "svdvals", lambda a: np.linalg.svd(a, compute_uv=False), module="linalg", batchable=True,
    jvp=(_svdvals_jvp,), vjp=(_svdvals_vjp,), samples=_svdvals_samples, complex=True,
    formula="dsᵢ = Re uᵢᴴ dA vᵢ", vjp_formula="Ā = conj(U diag(s̄) Vᴴ)",
    doc="Singular values (descending) of a matrix or stack (np.linalg.svdvals)",
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# qr
# --------------------------------------------------------------------------------------------


class QRResult(NamedTuple):
    """``(Q, R)``, as ``np.linalg.qr`` returns them: ``A = Q R``."""

    Q: Any
    R: Any


def _qr_shapes(a: Any, mode: str) -> list[tuple[int, ...]]:
    m, n = shape_of(a)[-2:]
    k = m if mode == "complete" else min(m, n)
    return [(m, k), (k, n)]


def _qr_primal(a, mode="reduced"):
    # dask's qr takes no mode= (it is the reduced one)
    q, r = np.linalg.qr(a) if mode == "reduced" and is_duck(a) else np.linalg.qr(a, mode)
    return _pack_plain((q, 2), (r, 2))


COMPLETE = (
    "linalg.qr: with mode='complete', the last {extra} column(s) of Q for a {m}×{n} matrix are an "
    "arbitrary orthonormal basis of a complement, so their derivative depends on that choice "
    "and is not defined. Use mode='reduced' (the same R and leading columns of Q) or mode='r'"
)
RANK_DEFICIENT = (
    "linalg.qr: the derivative is undefined at a matrix whose first min(m, n) columns are "
    "linearly dependent (R has a zero on its diagonal, to working precision)"
)


def _qr_factors(p: Any, a: Any, mode: str) -> tuple[Any, Any]:
    q, r = unpack(p, _qr_shapes(a, mode))
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    diag = np.abs(np.diagonal(raw(r)[..., :k, :k], axis1=-2, axis2=-1))
    if diag.size:  # rank-deficient to working precision (as np.linalg.matrix_rank judges)
        tol = max(m, n) * np.finfo(diag.dtype).eps * np.max(diag, axis=-1, keepdims=True)
        if np.any(diag <= tol):
            raise ValueError(RANK_DEFICIENT)
    return q, r


def _qr_square_jvp(q, r, t):
    # D = dA R⁻¹, C = Qᴴ D, Ω = tril(C, -1) - tril(C, -1)ᴴ + i Im diag(C) (JAX's complex term,
    # keeping diag(R) real as LAPACK's is): dQ = D + Q (Ω - C), dR = (C - Ω) R
    d = _mT(la.solve(_mT(r), _mT(t)))
    c = anp.matmul(_mH(q), d)
    low = anp.tril(c, k=-1)
    omega = low - _mH(low)
    if _is_c(c):
        omega = omega + _i_diag(c)
    return d + anp.matmul(q, omega - c), anp.matmul(c - omega, r)


def _qr_jvp(t, ans, a, mode):
    # square or tall: the formulas above; wide A = [X | Y]: X as above, dR_Y = dQᴴ Y + Qᴴ dY
    m, n = shape_of(a)[-2:]
    if mode == "complete" and m > n:
        raise ValueError(COMPLETE.format(extra=m - n, m=m, n=n))
    q, r = _qr_factors(ans, a, mode)
    if m >= n:
        dq, dr = _qr_square_jvp(q, r, t)
        return pack((dq, 2), (dr, 2))
    dq, drx = _qr_square_jvp(q, _cols(r, 0, m), _cols(t, 0, m))
    dry = anp.matmul(_mH(dq), _cols(a, m, None)) + anp.matmul(_mH(q), _cols(t, m, None))
    return pack((dq, 2), (anp.concatenate([drx, dry], axis=-1), 2))


def _qr_square_vjp(q, r, gq, gr):
    # M = Qᴴ Q̄ - R̄ Rᴴ, C̄ = tril(M - Mᴴ, -1) + i Im diag(M) - M: Ā = (Q̄ + Q C̄) R⁻ᴴ
    mm = anp.matmul(_mH(q), gq) - anp.matmul(gr, _mH(r))
    cbar = anp.tril(mm - _mH(mm), k=-1) - mm
    if _is_c(mm):
        cbar = cbar + _i_diag(mm)
    return _mH(la.solve(r, _mH(gq + anp.matmul(q, cbar))))


def _qr_vjp(g, ans, a, mode):
    # the adjoint of the JVP (JAX's transpose: the Hermitian adjoint at conj ḡ, conjugated);
    # wide A = [X | Y]: Q̄ += Y R̄_Yᴴ, Ȳ = Q R̄_Y
    m, n = shape_of(a)[-2:]
    q, r = _qr_factors(ans, a, mode)
    cplx = _is_c(q)
    gq, gr = unpack(_conj_if(g, cplx), _qr_shapes(a, mode))
    if mode == "complete" and m > n:  # exact only when the arbitrary columns are not used
        if np.any(raw(gq)[..., :, n:]):
            raise ValueError(COMPLETE.format(extra=m - n, m=m, n=n))
        q, gq, r, gr = _cols(q, 0, n), _cols(gq, 0, n), _rows(r, 0, n), _rows(gr, 0, n)
    if m >= n:
        return _conj_if(_qr_square_vjp(q, r, gq, gr), cplx)
    gry = _cols(gr, m, None)
    gq = gq + anp.matmul(_cols(a, m, None), _mH(gry))
    xbar = _qr_square_vjp(q, _cols(r, 0, m), gq, _cols(gr, 0, m))
    return _conj_if(anp.concatenate([xbar, anp.matmul(q, gry)], axis=-1), cplx)


def _qr_samples(rng):
    cases = [
        ((3, 3), "reduced"),
        ((4, 2), "reduced"),
        ((2, 4), "reduced"),
        ((2, 4), "complete"),
        ((3, 3), "complete"),
        ((2, 4, 3), "reduced"),
        ((2, 2, 3), "reduced"),
        ((1, 1), "reduced"),
        ((0, 3, 2), "reduced"),
    ]
    return [((spread_sample(rng, s),), {"mode": mode}) for s, mode in cases]


_qr_op = defop(
    "qr", _qr_primal, module="linalg", params={"mode": "reduced"}, batchable=True,
    jvp=(_qr_jvp,), vjp=(_qr_vjp,), samples=_qr_samples, complex=True,
    formula="C = Qᴴ dA R⁻¹, Ω = tril(C,-1) - tril(C,-1)ᴴ + i Im diag C: dQ = dA R⁻¹ + Q(Ω - C), "
    "dR = (C - Ω) R",
    vjp_formula="M = QᴴQ̄ - R̄Rᴴ: Ā = (Q̄ + Q (tril(M - Mᴴ, -1) + i Im diag M - M)) R⁻ᴴ "
    "(at conj ḡ, conjugated)",
    doc="QR decomposition A = Q R (Q orthonormal columns, R upper triangular), stacks too",
)  # fmt: skip


def qr(a: Any, mode: str = "reduced") -> Any:
    """QR decomposition ``A = Q R`` like ``np.linalg.qr``, with modes ``'reduced'``,
    ``'complete'`` and ``'r'`` (R alone), on matrices and stacks; tall, square or wide.

    The derivative needs the first ``min(m, n)`` columns to be independent. With
    ``mode='complete'`` on a tall matrix, the extra columns of ``Q`` have no defined derivative
    (forward mode raises; reverse mode raises if they are used).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> A = np.array([[3.0, 1.0], [4.0, 2.0]])
        >>> ad.grad(lambda a: ad.linalg.qr(a, mode="r")[0, 0])(A).round(12) + 0.0  # R₀₀ = -‖a₀‖
        array([[-0.6,  0. ],
               [-0.8,  0. ]])
    """
    if not isinstance(a, Box):
        return np.linalg.qr(a, mode)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(
            f"linalg.qr: mode={mode!r} is not supported on traced values (its Householder "
            "reflectors have no derivative here); use mode='reduced', 'complete' or 'r'"
        )
    full = "complete" if mode == "complete" else "reduced"
    q, r = unpack(bind(_qr_op, (a,), {"mode": full}), _qr_shapes(a, full))
    return r if mode == "r" else QRResult(q, r)


_qr_op.public = qr
qr.op = _qr_op

# --------------------------------------------------------------------------------------------
# pinv and lstsq
# --------------------------------------------------------------------------------------------

_UNSET: Any = object()


def _pinv_jvp(t, ans, a, rcond, hermitian):
    # dA⁺ = -A⁺ dA A⁺ + A⁺A⁺ᴴ dAᴴ (I - AA⁺) + (I - A⁺A) dAᴴ A⁺ᴴA⁺ (Golub & Pereyra 1973)
    if hermitian:  # NumPy reads the lower triangle
        a, t = hermitian_from(a), hermitian_from(t)
    p = ans
    dat = _mH(t)
    x = anp.matmul(anp.matmul(p, _mH(p)), dat)
    y = anp.matmul(dat, anp.matmul(_mH(p), p))
    first = anp.matmul(p, anp.matmul(t, p))
    return (x - anp.matmul(anp.matmul(x, a), p)) + (y - anp.matmul(p, anp.matmul(a, y))) - first


def _pinv_vjp(g, ans, a, rcond, hermitian):
    # Ā = -A⁺ᴴ Ḡ A⁺ᴴ + (I - AA⁺) Ḡᴴ A⁺A⁺ᴴ + A⁺ᴴA⁺ Ḡᴴ (I - A⁺A), at ḡ conjugated and
    # conjugated back (JAX's transpose)
    cplx = _is_c(ans)
    g = _conj_if(g, cplx)
    s = hermitian_from(a) if hermitian else a
    p, pt, gt = ans, _mH(ans), _mH(g)
    z = anp.matmul(gt, anp.matmul(p, pt))
    w = anp.matmul(anp.matmul(pt, p), gt)
    out = (z - anp.matmul(s, anp.matmul(p, z))) + (w - anp.matmul(anp.matmul(w, p), s))
    out = out - anp.matmul(pt, anp.matmul(g, pt))
    return _conj_if(hermitian_from_adjoint(out) if hermitian else out, cplx)


def _pinv_samples(rng):
    shapes = [(3, 3), (4, 2), (2, 4), (2, 3, 2), (2, 1, 2, 3), (0, 2, 3)]
    out = [((spread_sample(rng, s),), {}) for s in shapes]
    out.append(((spread_sample(rng, (3, 2)),), {"rcond": 1e-10}))
    out.append(((symmetric_sample(rng, (3, 3), "L"),), {"hermitian": True}))
    return out


_pinv_op = defop(
    "pinv", lambda a, rcond=1e-15, hermitian=False: np.linalg.pinv(a, rcond, hermitian),
    module="linalg", params={"rcond": 1e-15, "hermitian": False}, batchable=True,
    jvp=(_pinv_jvp,), vjp=(_pinv_vjp,), samples=_pinv_samples, complex=True,
    torch="pinverse",
    formula="dA⁺ = -A⁺ dA A⁺ + A⁺A⁺ᴴ dAᴴ (I - AA⁺) + (I - A⁺A) dAᴴ A⁺ᴴA⁺",
    vjp_formula="Ā = -A⁺ᴴ Ḡ A⁺ᴴ + (I - AA⁺) Ḡᴴ A⁺A⁺ᴴ + A⁺ᴴA⁺ Ḡᴴ (I - A⁺A) (at conj ḡ, conjugated)",
    doc="Moore-Penrose pseudo-inverse (derivative at constant rank, Golub & Pereyra 1973)",
)  # fmt: skip


def pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = _UNSET) -> Any:
    """Moore-Penrose pseudo-inverse, like ``np.linalg.pinv`` (same ``rcond``/``rtol`` rules).

    The derivative is Golub and Pereyra's, which holds where the rank is locally constant (every
    full-rank matrix); at a rank-deficient matrix it is the derivative along perturbations that
    keep the rank, as in JAX. ``hermitian=True`` reads the lower triangle, as NumPy does.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> A = np.array([[2.0, 0.0], [0.0, 4.0], [0.0, 0.0]])
        >>> ad.grad(lambda a: ad.linalg.pinv(a)[0, 0])(A)     # d(1/a₀₀) = -1/a₀₀²
        array([[-0.25,  0.  ],
               [ 0.  ,  0.  ],
               [ 0.  ,  0.  ]])
    """
    if not isinstance(a, Box):
        extra = {} if rtol is _UNSET else {"rtol": rtol}
        return np.linalg.pinv(a, rcond, hermitian, **extra)
    if rcond is None:
        if rtol is _UNSET:
            rcond = 1e-15
        elif rtol is None:
            rcond = max(shape_of(a)[-2:]) * np.finfo(raw(a).dtype).eps
        else:
            rcond = rtol
    elif rtol is not _UNSET:
        raise ValueError("linalg.pinv: `rtol` and `rcond` can't be both set")
    return bind(_pinv_op, (a,), {"rcond": rcond, "hermitian": bool(hermitian)})


_pinv_op.public = pinv
pinv.op = _pinv_op


def _lstsq_cutoff(a: Any, rcond: Any) -> Any:
    """``np.linalg.lstsq``'s ``rcond``: by default eps · max(M, N), in double precision."""
    return np.finfo(np.float64).eps * max(shape_of(a)[-2:]) if rcond is None else rcond


def _lstsq_pieces(ans, a, b, rcond):
    vector = _is_vector(b)
    x = _as_columns(ans, vector)
    p = la.pinv(a, rcond=_lstsq_cutoff(a, rcond))
    return vector, x, p


def _lstsq_jvp_a(t, ans, a, b, rcond):
    # dx = -A⁺ dA x + A⁺A⁺ᴴ dAᴴ r + (I - A⁺A) dAᴴ A⁺ᴴ x, r = b - A x
    vector, x, p = _lstsq_pieces(ans, a, b, rcond)
    r = _as_columns(b, vector) - anp.matmul(a, x)
    dat = _mH(t)
    u = anp.matmul(dat, anp.matmul(_mH(p), x))
    dx = anp.matmul(p, anp.matmul(_mH(p), anp.matmul(dat, r))) - anp.matmul(p, anp.matmul(t, x))
    return _from_columns(dx + u - anp.matmul(p, anp.matmul(a, u)), vector)


def _lstsq_jvp_b(t, ans, a, b, rcond):
    # dx = A⁺ db
    vector, _, p = _lstsq_pieces(ans, a, b, rcond)
    return _from_columns(anp.matmul(p, _as_columns(t, vector)), vector)


def _lstsq_vjp_a(g, ans, a, b, rcond):
    # Ā = -b̄ xᴴ + r (A⁺ b̄)ᴴ + A⁺ᴴ x (ḡ - Aᴴ b̄)ᴴ, b̄ = A⁺ᴴ ḡ, r = b - A x, at ḡ conjugated
    # and conjugated back (JAX's transpose)
    vector, x, p = _lstsq_pieces(ans, a, b, rcond)
    cplx = _is_c(ans)
    gc = _as_columns(_conj_if(g, cplx), vector)
    bbar = anp.matmul(_mH(p), gc)
    r = _as_columns(b, vector) - anp.matmul(a, x)
    out = anp.matmul(r, _mH(anp.matmul(p, bbar))) - anp.matmul(bbar, _mH(x))
    rest = gc - anp.matmul(_mH(a), bbar)
    return _conj_if(out + anp.matmul(anp.matmul(_mH(p), x), _mH(rest)), cplx)


def _lstsq_vjp_b(g, ans, a, b, rcond):
    # b̄ = A⁺ᵀ ḡ (JAX's transpose: no conjugation)
    vector, _, p = _lstsq_pieces(ans, a, b, rcond)
    return _from_columns(anp.matmul(_mT(p), _as_columns(g, vector)), vector)


def _lstsq_samples(rng):
    pairs = [((4, 2), (4,)), ((4, 2), (4, 3)), ((3, 3), (3,)), ((2, 4), (2,)), ((2, 4), (2, 2)),
             ((3, 2), (3, 0))]  # fmt: skip
    return [((spread_sample(rng, a), rng.standard_normal(b)), {}) for a, b in pairs]


_lstsq_op = defop(
    "lstsq", lambda a, b, rcond=None: np.linalg.lstsq(a, b, rcond)[0], nargs=2,
    module="linalg", params={"rcond": None}, batchable=True,
    jvp=(_lstsq_jvp_a, _lstsq_jvp_b), vjp=(_lstsq_vjp_a, _lstsq_vjp_b),
    samples=_lstsq_samples, complex=True,
    formula="dx = A⁺ (db - dA x) + A⁺A⁺ᴴ dAᴴ r + (I - A⁺A) dAᴴ A⁺ᴴ x, r = b - A x",
    vjp_formula="b̄ = A⁺ᵀ ḡ, Ā = conj(-b̃ xᴴ + r (A⁺ b̃)ᴴ + A⁺ᴴ x (g̃ - Aᴴ b̃)ᴴ), g̃ = conj ḡ, "
    "b̃ = A⁺ᴴ g̃",
    doc="Least-squares (minimum-norm) solution x of A x ≈ b; lstsq returns (x, residuals, "
    "rank, s)",
)  # fmt: skip


def lstsq(a: Any, b: Any, rcond: Any = None) -> tuple[Any, Any, int, Any]:
    """Least-squares solution of ``a @ x ≈ b``, like ``np.linalg.lstsq``:
    ``(x, residuals, rank, s)``.

    ``x``, ``residuals`` (the squared norms of ``b - a @ x``, when ``a`` has full column rank
    and more rows than columns) and ``s`` (the singular values of ``a``) are differentiable;
    ``rank`` is an int. The derivative of ``x`` is that of ``pinv(a) @ b`` at constant rank.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> A = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
        >>> y = np.array([1.0, 2.0, 2.0])
        >>> g = ad.grad(lambda y: ad.linalg.lstsq(A, y)[0][1])(y)   # the slope's weights
        >>> np.allclose(g, [-0.5, 0.0, 0.5])
        True
    """
    if not isinstance(a, Box) and not isinstance(b, Box):
        return np.linalg.lstsq(a, b, rcond)
    a = a if isinstance(a, Box) else as_array(a)
    b = b if isinstance(b, Box) else as_array(b)
    x = bind(_lstsq_op, (a, b), {"rcond": rcond})
    s = la.svdvals(a)
    sv = raw(s)
    cut = _lstsq_cutoff(a, rcond) * (sv[..., 0] if sv.size else 0.0)
    rank = int(np.sum(sv > cut))
    m, n = shape_of(a)[-2:]
    if rank == n and m > n:
        vector = _is_vector(b)
        resid = _as_columns(b, vector) - anp.matmul(a, _as_columns(x, vector))
        sq = anp.real(anp.conj(resid) * resid) if _is_c(resid) else resid * resid
        residuals = anp.sum(sq, axis=0)
    else:
        residuals = np.empty((0,), dtype=raw(x).dtype)
    return x, residuals, rank, s


_lstsq_op.public = lstsq
lstsq.op = _lstsq_op

# --------------------------------------------------------------------------------------------
# cond, matrix_rank, and what stays unsupported
# --------------------------------------------------------------------------------------------


def _cond_samples(rng):
    cases = [((3, 3), None), ((4, 2), None), ((2, 3, 3), 2), ((3, 3), -2), ((3, 3), "fro"),
             ((2, 3, 3), 1), ((3, 3), np.inf), ((3, 3), "nuc")]  # fmt: skip
    return [((spread_sample(rng, s),), {"p": p}) for s, p in cases]


@defcomposite(module="linalg", samples=_cond_samples)
def cond(x: Any, p: Any = None) -> Any:
    """Condition number of a matrix (or of each matrix of a stack), like ``np.linalg.cond``:
    ``s₁/sₖ`` for ``p`` None, 2 (``sₖ/s₁`` for -2), else ``‖x‖ₚ ‖x⁻¹‖ₚ``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.grad(ad.linalg.cond)(np.diag([4.0, 2.0]))     # s₁/s₂ = a₀₀/a₁₁
        array([[ 0.5,  0. ],
               [ 0. , -1. ]])
    """
    if not isinstance(x, Box):
        return np.linalg.cond(x, p)
    if p is None or (not isinstance(p, str) and p in (2, -2)):
        s = la.svdvals(x)
        first, last = anp.getitem(s, index=(Ellipsis, 0)), anp.getitem(s, index=(Ellipsis, -1))
        return last / first if p == -2 else first / last
    return la.norm(x, p, axis=(-2, -1)) * la.norm(la.inv(x), p, axis=(-2, -1))


@dispatch_also(np.linalg.matrix_rank)
def matrix_rank(A: Any, *args: Any, **kwargs: Any) -> Any:
    """``np.linalg.matrix_rank`` of a traced value: an integer, with no derivative."""
    return np.linalg.matrix_rank(raw(A), *(raw(a) for a in args),
                                 **{k: raw(v) for k, v in kwargs.items()})  # fmt: skip


unsupported(
    "the eigenvalues and eigenvectors of a general (non-symmetric) matrix are complex, and "
    "their derivative is not implemented; for a symmetric or Hermitian matrix use "
    "np.linalg.eigh or np.linalg.eigvalsh",
    np.linalg.eig,
    np.linalg.eigvals,
)

__all__ = [
    "DegenerateWarning",
    "EighResult",
    "QRResult",
    "SVDResult",
    "cond",
    "eigh",
    "lstsq",
    "pinv",
    "qr",
    "svd",
]
