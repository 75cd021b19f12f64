"""Gradient checking: numeric differences vs JVP vs VJP, to any order.

:func:`check_grads` compares, at a point and along random directions,

* forward mode with a central difference: ``J·v ≈ (f(x + εv) - f(x - εv)) / 2ε``;
* reverse mode with forward mode, through ``⟨u, J·v⟩ = ⟨Jᵀ·u, v⟩``;

and, for ``order > 1``, checks the derivative functions themselves the same way (so second order
covers forward-over-forward, reverse-over-forward, forward-over-reverse, reverse-over-reverse).

Precision: the derivatives are computed in the arguments' own dtype, but the central difference
always runs in float64 (the arguments are promoted for it), so float32 functions are checked
without false failures; a function that returns float32 even for float64 arguments makes the
difference run in float32, which is warned about, as ``torch.autograd.gradcheck`` warns. The
comparisons allow for the rounding error of the arguments' dtype. A NaN in a derivative is
reported as a NaN, with where it is.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autodiff import tree
from autodiff.core import shape_of
from autodiff.forward import jvp
from autodiff.reverse import vjp

MODES = ("fwd", "rev")


class GradCheckError(AssertionError):
    """A derivative disagreed with its reference; the message says which mode, order and by how much."""


def _as_inexact(x: Any) -> np.ndarray:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.inexact) else x.astype(float)


def _flat(xs: Any) -> list[np.ndarray]:
    if isinstance(xs, tuple):
        return [_as_inexact(x) for x in xs]
    return [_as_inexact(xs)]


def _inner(a: Any, b: Any) -> float:
    """``Re Σ a·b``: the pairing under which a VJP is the transpose of a JVP, with no
    conjugation (JAX's convention; for real arrays the plain dot product)."""
    return float(sum(np.sum(x * y).real for x, y in zip(_flat(a), _flat(b))))


def _randn_like(rng: np.random.Generator, x: Any) -> np.ndarray:
    """A random direction like ``x``: standard normal, with a random imaginary part too when
    ``x`` is complex."""
    x = np.asarray(x)
    dtype = x.dtype if np.issubdtype(x.dtype, np.inexact) else np.float64
    if dtype.kind == "c":
        return (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape)).astype(dtype)
    return rng.standard_normal(x.shape).astype(dtype)


def _low_precision(xs: Any) -> np.dtype | None:
    """The least precise floating dtype among ``xs`` if below float64, else ``None``."""
    low = [x.dtype for x in _arrays(xs) if np.issubdtype(x.dtype, np.inexact)]
    low = [d for d in low if np.finfo(d).eps > np.finfo(np.float64).eps]
    return max(low, key=lambda d: np.finfo(d).eps) if low else None


def _arrays(xs: Any) -> list[np.ndarray]:
    return [np.asarray(x) for x in (xs if isinstance(xs, tuple) else (xs,))]


def _rounding(*xs: Any) -> float:
    """Unit roundoff of the least precise floating dtype among ``xs`` (float64's if none)."""
    low = _low_precision(tuple(x for group in xs for x in _arrays(group)))
    return float(np.finfo(low if low is not None else np.float64).eps)


def _where(mask: np.ndarray, limit: int = 4) -> str:
    idx = [tuple(int(i) for i in ix) for ix in np.argwhere(mask)[:limit]]
    shown = ", ".join(str(ix[0] if len(ix) == 1 else ix) for ix in idx) if mask.ndim else "()"
    more = ", ..." if np.count_nonzero(mask) > limit else ""
    return f"{np.count_nonzero(mask)} of {mask.size} entries (at {shown}{more})"


def _compare(
    what: str, got: Any, want: Any, rtol: float, atol: float, names: tuple[str, str]
) -> None:
    for i, (g, w) in enumerate(zip(_flat(got), _flat(want))):
        if g.shape != w.shape:
            raise GradCheckError(f"{what}: output {i} has shape {g.shape}, expected {w.shape}")
        nan_g, nan_w = np.isnan(g), np.isnan(w)
        if nan_g.any() or nan_w.any():
            said = [f"{name} is NaN in {_where(m)}" for name, m in zip(names, (nan_g, nan_w))
                    if m.any()]  # fmt: skip
            raise GradCheckError(
                f"{what}: output {i}: " + "; ".join(said) + f"\n  got:      "
                f"{np.array2string(g, precision=6)}\n  expected: {np.array2string(w, precision=6)}"
            )
        if not np.allclose(g, w, rtol=rtol, atol=atol):
            with np.errstate(invalid="ignore"):
                err = np.abs(g - w)
            worst = float(err.max()) if err.size else 0.0
            rel = worst / max(float(np.abs(w).max()) if w.size else 0.0, 1e-300)
            raise GradCheckError(
                f"{what}: max abs difference {worst:.3g} (relative {rel:.3g}) exceeds "
                f"rtol={rtol:g}, atol={atol:g}\n  got:      {np.array2string(g, precision=6)}\n"
                f"  expected: {np.array2string(w, precision=6)}"
            )


def _promote(a: Any) -> Any:
    """``a`` in float64 (or wider) for the central difference."""
    a = np.asarray(a)
    return a.astype(np.promote_types(a.dtype, np.float64), copy=False)


def check_jvp(
    f: Callable[..., Any],
    args: Sequence[Any],
    *,
    eps: float = 1e-6,
    rtol: float = 1e-4,
    atol: float = 1e-6,
    rng: np.random.Generator | None = None,
    order: int = 1,
) -> None:
    """Forward mode against a central difference along a random direction.

    The JVP runs in the arguments' dtype; the central difference in float64 (see the module doc).
    """
    rng = rng or np.random.default_rng(0)
    args = tuple(_point(a) if np.ndim(a) == 0 else a for a in args)
    v = tuple(_randn_like(rng, a) for a in args)
    _, t = jvp(f, args, v)
    wide = tuple(_promote(a) for a in args)
    dirs = tuple(_promote(d) for d in v)
    plus = f(*(a + eps * d for a, d in zip(wide, dirs)))
    minus = f(*(a - eps * d for a, d in zip(wide, dirs)))
    narrow = _low_precision(plus)
    if narrow is not None:
        warnings.warn(
            f"check_grads: f returns {narrow} for float64 arguments, so the central difference "
            f"runs in {narrow} and this check will likely fail; let f compute in float64, or "
            "pass a larger eps and rtol",
            RuntimeWarning,
            stacklevel=3,
        )
    numeric = tuple((np.asarray(p) - np.asarray(m)) / (2 * eps) for p, m in
                    zip(_flat(plus), _flat(minus)))  # fmt: skip
    rtol = max(rtol, 100 * _rounding(args, t))
    _compare(f"forward mode (JVP) vs central difference, order {order}",
             t, numeric if isinstance(plus, tuple) else numeric[0], rtol, atol,
             ("the JVP (got)", "the central difference (expected)"))  # fmt: skip


def _point(a: Any) -> np.ndarray:
    """A scalar argument as a 0-d array, keeping a floating dtype (else float64)."""
    a = np.asarray(a)
    return a if np.issubdtype(a.dtype, np.inexact) else a.astype(np.float64)


def check_vjp(
    f: Callable[..., Any],
    args: Sequence[Any],
    *,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    rng: np.random.Generator | None = None,
    order: int = 1,
) -> None:
    """Reverse mode against forward mode: ``⟨u, J v⟩ = ⟨Jᵀu, v⟩`` for random ``u`` and ``v``."""
    rng = rng or np.random.default_rng(1)
    v = tuple(_randn_like(rng, a) for a in args)
    out, t = jvp(f, tuple(args), v)
    u = tuple(_randn_like(rng, o) for o in _flat(out))
    _, pullback = vjp(f, *args)
    ct = pullback(u if isinstance(out, tuple) else u[0])
    lhs, rhs = _inner(u, t), _inner(ct, v)
    if np.isnan(lhs) or np.isnan(rhs):
        nan = [name for name, val, vals in (("J·v (forward mode)", lhs, t),
               ("Jᵀ·u (reverse mode)", rhs, ct)) if np.isnan(val) or _has_nan(vals)]  # fmt: skip
        raise GradCheckError(
            f"reverse mode (VJP) vs forward mode, order {order}: {' and '.join(nan)} "
            f"{'holds' if len(nan) == 1 else 'hold'} NaN: ⟨u, J·v⟩ = {lhs:.10g}, "
            f"⟨Jᵀ·u, v⟩ = {rhs:.10g}"
        )
    # the two sums hold the same terms, each rounded in the arguments' dtype
    scale = _inner_abs(u, t) + _inner_abs(ct, v)
    slack = 16 * _rounding(args, t, ct) * scale
    if not abs(lhs - rhs) <= atol + slack + rtol * abs(rhs):
        raise GradCheckError(
            f"reverse mode (VJP) vs forward mode, order {order}: ⟨u, J·v⟩ = {lhs:.10g} but "
            f"⟨Jᵀ·u, v⟩ = {rhs:.10g} (difference {abs(lhs - rhs):.3g})"
        )


def _has_nan(xs: Any) -> bool:
    return any(np.isnan(x).any() for x in _flat(xs))


def _inner_abs(a: Any, b: Any) -> float:
    return float(sum(np.vdot(np.abs(x), np.abs(y)) for x, y in zip(_flat(a), _flat(b))))


def check_grads(
    f: Callable[..., Any],
    args: Sequence[Any],
    modes: Sequence[str] = MODES,
    order: int = 2,
    *,
    eps: float = 1e-6,
    rtol: float = 1e-4,
    atol: float = 1e-6,
    seed: int = 0,
    holomorphic: bool = False,
) -> None:
    """Check ``f``'s derivatives at ``args`` in the given modes, up to ``order``.

    Complex arguments get random complex directions; the VJP is checked as the transpose of the
    JVP under ``⟨u, v⟩ = Re Σ u·v`` (JAX's convention, no conjugation), which holds for any
    function of complex numbers, holomorphic or not. ``holomorphic=True`` also checks that the
    JVP is complex-linear, ``J·(i v) = i·(J·v)`` (the Cauchy–Riemann equations), at every order.

    Args:
        f: a function of arrays; it may take and return pytrees (nested dicts, lists, tuples,
            namedtuples of arrays).
        args: the point, a tuple of arguments (float or complex arrays, or pytrees of them;
            float32 is checked in float32, against a central difference taken in float64).
        modes: ``"fwd"`` (JVP vs central difference) and/or ``"rev"`` (VJP vs JVP).
        order: 1 checks first derivatives; 2 also checks the derivative functions
            ``x ↦ J(x)·v`` and ``x ↦ J(x)ᵀ·u`` in both modes; and so on.
        eps: step of the central difference.
        rtol: relative tolerance.
        atol: absolute tolerance.
        seed: seeds the random directions.
        holomorphic: also check that ``f`` is complex-differentiable (complex arguments).

    Raises:
        GradCheckError: naming the mode, the order and the size of the disagreement, or where
            a derivative is NaN.

    Warns:
        RuntimeWarning: ``f`` returns float32 (or less) even for float64 arguments, so the
            central difference cannot run in float64 (as ``torch.autograd.gradcheck`` warns).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.check_grads(np.sin, (np.array([0.1, 0.2]),), order=2)   # silent when right
        >>> ad.check_grads(np.tanh, (np.array([0.1, 0.2], dtype=np.float32),))  # float32 too
        >>> ad.check_grads(np.exp, (np.array([1 + 2j]),), holomorphic=True)   # complex
        >>> ad.check_grads(lambda p: p["w"] * p["b"], ({"w": np.ones(2), "b": 3.0},))
    """
    f, args = _flat_args(f, tuple(args))
    if any(not np.issubdtype(np.asarray(a).dtype, np.inexact) for a in args):
        raise TypeError("check_grads needs floating point or complex arguments")
    if holomorphic and not all(np.iscomplexobj(a) for a in args):
        raise TypeError(
            "check_grads(..., holomorphic=True) needs complex arguments (all of them: a real "
            "argument's derivative is the real part, which is not complex-linear)"
        )
    if any(np.asarray(a).size == 0 for a in args):
        _check_empty(f, args)
        return
    rng = np.random.default_rng(seed)
    _check(f, args, tuple(modes), order, 1, rng, eps, rtol, atol, holomorphic)


def _flat_args(f: Callable[..., Any], args: tuple) -> tuple[Callable[..., Any], tuple]:
    """``f`` as a function of the leaves of its pytree arguments, returning one array or a tuple
    of the leaves of its output; and the leaves (unchanged when nothing is a tree)."""
    if not any(tree.is_node(a) for a in args):
        return f, args
    leaves, treedef = tree.flatten(args)

    def flat_f(*xs: Any) -> Any:
        out = f(*tree.unflatten(treedef, xs))
        if tree.is_node(out):
            outs = tree.leaves(out)
            return outs[0] if len(outs) == 1 else tuple(outs)
        return out

    return flat_f, tuple(leaves)


def check_holomorphic(
    f: Callable[..., Any],
    args: Sequence[Any],
    *,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    rng: np.random.Generator | None = None,
    order: int = 1,
) -> None:
    """The JVP is complex-linear, ``J·(i v) = i·(J·v)``: ``f`` is holomorphic (its rules too)."""
    rng = rng or np.random.default_rng(2)
    # along the complex arguments only (a real argument cannot move by i·v)
    v = tuple(_randn_like(rng, a) if np.iscomplexobj(a) else np.zeros_like(a) for a in args)
    _, t = jvp(f, tuple(args), v)
    _, ti = jvp(f, tuple(args), tuple(1j * d if np.iscomplexobj(d) else d for d in v))
    want = tuple(1j * x for x in _flat(t))
    _compare(f"holomorphic check J·(iv) = i·(J·v), order {order}", ti,
             want if isinstance(t, tuple) else want[0], rtol, atol,
             ("J·(iv)", "i·(J·v)"))  # fmt: skip


def _check(f, args, modes, order, level, rng, eps, rtol, atol, holomorphic):
    if "fwd" in modes:
        check_jvp(f, args, eps=eps, rtol=rtol, atol=atol, rng=rng, order=level)
    if "rev" in modes:
        check_vjp(f, args, rtol=max(rtol * 1e-2, 1e-7), atol=atol, rng=rng, order=level)
    if holomorphic:
        check_holomorphic(f, args, rtol=max(rtol * 1e-2, 1e-7), atol=atol, rng=rng, order=level)
    if level >= order:
        return
    v = tuple(_randn_like(rng, a) for a in args)
    out = f(*args)
    u = tuple(_randn_like(rng, o) for o in _flat(out))
    u = u if isinstance(out, tuple) else u[0]

    def forward_derivative(*xs):
        return jvp(f, xs, v)[1]

    def reverse_derivative(*xs):
        return vjp(f, *xs)[1](u)

    if "fwd" in modes:
        _check(forward_derivative, args, modes, order, level + 1, rng, eps, rtol, atol, holomorphic)
    if "rev" in modes:
        _check(reverse_derivative, args, modes, order, level + 1, rng, eps, rtol, atol, holomorphic)


def _check_empty(f, args):
    """Zero-size inputs: the derivatives must exist, with the right (empty) shapes."""
    out = f(*args)
    _, t = jvp(f, tuple(args), tuple(np.zeros_like(a) for a in args))
    for o, ti in zip(_flat(out), _flat(t)):
        if ti.shape != o.shape:
            raise GradCheckError(
                f"forward mode on zero-size input: tangent {ti.shape} vs {o.shape}"
            )
    _, pullback = vjp(f, *args)
    cts = pullback(tuple(np.zeros(shape_of(o)) for o in _flat(out)) if isinstance(out, tuple)
                   else np.zeros(shape_of(out)))  # fmt: skip
    for a, c in zip(args, cts):
        if np.shape(c) != np.shape(a):
            raise GradCheckError(f"reverse mode on zero-size input: cotangent {np.shape(c)} vs "
                                 f"{np.shape(a)}")  # fmt: skip
