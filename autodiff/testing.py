"""Gradient checking: numeric differences vs JVP vs VJP, to any order.

:func:`check_grads` compares, at a point and along random directions,

* forward mode with a central difference: ``J·v ≈ (f(x + εv) - f(x - εv)) / 2ε``;
* reverse mode with forward mode, through ``⟨u, J·v⟩ = ⟨Jᵀ·u, v⟩``;

and, for ``order > 1``, checks the derivative functions themselves the same way (so second order
covers forward-over-forward, reverse-over-forward, forward-over-reverse, reverse-over-reverse).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autodiff.core import shape_of
from autodiff.forward import jvp
from autodiff.reverse import vjp

MODES = ("fwd", "rev")


class GradCheckError(AssertionError):
    """A derivative disagreed with its reference; the message says which mode, order and by how much."""


def _flat(xs: Any) -> list[np.ndarray]:
    if isinstance(xs, tuple):
        return [np.asarray(x, dtype=float) for x in xs]
    return [np.asarray(xs, dtype=float)]


def _inner(a: Any, b: Any) -> float:
    return float(sum(np.vdot(np.asarray(x, float), np.asarray(y, float)) for x, y in
                     zip(_flat(a), _flat(b))))  # fmt: skip


def _randn_like(rng: np.random.Generator, x: Any) -> np.ndarray:
    x = np.asarray(x)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    return rng.standard_normal(x.shape).astype(dtype)


def _compare(what: str, got: Any, want: Any, rtol: float, atol: float) -> None:
    for i, (g, w) in enumerate(zip(_flat(got), _flat(want))):
        if g.shape != w.shape:
            raise GradCheckError(f"{what}: output {i} has shape {g.shape}, expected {w.shape}")
        if not np.allclose(g, w, rtol=rtol, atol=atol, equal_nan=False):
            err = np.abs(g - w)
            worst = float(np.nanmax(err)) if err.size else 0.0
            rel = worst / max(float(np.nanmax(np.abs(w))) if w.size else 0.0, 1e-300)
            raise GradCheckError(
                f"{what}: max abs difference {worst:.3g} (relative {rel:.3g}) exceeds "
                f"rtol={rtol:g}, atol={atol:g}\n  got:      {np.array2string(g, precision=6)}\n"
                f"  expected: {np.array2string(w, precision=6)}"
            )


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
    """Forward mode against a central difference along a random direction."""
    rng = rng or np.random.default_rng(0)
    args = tuple(np.asarray(a, dtype=float) if np.ndim(a) == 0 else a for a in args)
    v = tuple(_randn_like(rng, a) for a in args)
    _, t = jvp(f, args, v)
    plus = f(*(a + eps * d for a, d in zip(args, v)))
    minus = f(*(a - eps * d for a, d in zip(args, v)))
    numeric = tuple((np.asarray(p) - np.asarray(m)) / (2 * eps) for p, m in
                    zip(_flat(plus), _flat(minus)))  # fmt: skip
    _compare(f"forward mode (JVP) vs central difference, order {order}",
             t, numeric if isinstance(plus, tuple) else numeric[0], rtol, atol)  # fmt: skip


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
    if not np.isclose(lhs, rhs, rtol=rtol, atol=atol):
        raise GradCheckError(
            f"reverse mode (VJP) vs forward mode, order {order}: ⟨u, J·v⟩ = {lhs:.10g} but "
            f"⟨Jᵀ·u, v⟩ = {rhs:.10g} (difference {abs(lhs - rhs):.3g})"
        )


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
) -> None:
    """Check ``f``'s derivatives at ``args`` in the given modes, up to ``order``.

    Args:
        f: a function of arrays.
        args: the point (a tuple of float arrays).
        modes: ``"fwd"`` (JVP vs central difference) and/or ``"rev"`` (VJP vs JVP).
        order: 1 checks first derivatives; 2 also checks the derivative functions
            ``x ↦ J(x)·v`` and ``x ↦ J(x)ᵀ·u`` in both modes; and so on.
        eps: step of the central difference.
        rtol: relative tolerance.
        atol: absolute tolerance.
        seed: seeds the random directions.

    Raises:
        GradCheckError: naming the mode, the order and the size of the disagreement.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.check_grads(np.sin, (np.array([0.1, 0.2]),), order=2)   # silent when right
    """
    args = tuple(args)
    if any(not np.issubdtype(np.asarray(a).dtype, np.floating) for a in args):
        raise TypeError("check_grads needs floating point arguments")
    if any(np.asarray(a).size == 0 for a in args):
        _check_empty(f, args)
        return
    rng = np.random.default_rng(seed)
    _check(f, args, tuple(modes), order, 1, rng, eps, rtol, atol)


def _check(f, args, modes, order, level, rng, eps, rtol, atol):
    if "fwd" in modes:
        check_jvp(f, args, eps=eps, rtol=rtol, atol=atol, rng=rng, order=level)
    if "rev" in modes:
        check_vjp(f, args, rtol=max(rtol * 1e-2, 1e-7), atol=atol, rng=rng, order=level)
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
        _check(forward_derivative, args, modes, order, level + 1, rng, eps, rtol, atol)
    if "rev" in modes:
        _check(reverse_derivative, args, modes, order, level + 1, rng, eps, rtol, atol)


def _check_empty(f, args):
    """Zero-size inputs: the derivatives must exist, with the right (empty) shapes."""
    out = f(*args)
    _, t = jvp(f, args, tuple(np.zeros_like(a) for a in args))
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
