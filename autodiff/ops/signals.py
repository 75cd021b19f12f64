"""One-dimensional signals: ``convolve`` (a primitive) and ``correlate`` (a composite of it).

``convolve`` is bilinear: its JVP convolves each tangent with the other argument, and its VJP is a
correlation of the cotangent (zero-padded to the full output) with the other argument, itself a
``convolve`` with that argument reversed, in mode ``'valid'``. Both run in NumPy's time,
``O(len(a)·len(v))``, and memory, ``O(len(a) + len(v))``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff import functions as anp
from autodiff.core import raw, shape_of
from autodiff.ops import samples as S
from autodiff.ops.plain import numpy_when_plain
from autodiff.registry import defcomposite, defop

_MODES = {"full": "full", "same": "same", "valid": "valid", 2: "full", 1: "same", 0: "valid"}


def _mode(mode: Any) -> str:
    """A mode as NumPy spells it (``'full'``, ``'same'``, ``'valid'``, or 2, 1, 0) by its name."""
    try:
        return _MODES[mode]
    except (KeyError, TypeError):
        raise ValueError(
            f"Use one of 'valid', 'same', or 'full' for convolve/correlate mode (got {mode!r})"
        ) from None


def _length(v: Any) -> int:
    """The length NumPy sees: a 0-d array is a 1-vector."""
    shape = shape_of(v)
    return shape[0] if shape else 1


def _full_start(n: int, m: int, mode: str) -> int:
    """Where ``np.convolve``'s output of a mode starts inside the full convolution."""
    return {"full": 0, "same": (min(n, m) - 1) // 2, "valid": min(n, m) - 1}[mode]


def _to_full(g: Any, n: int, m: int, mode: str) -> Any:
    """The cotangent of a mode's output as that of the full convolution (zeros around it)."""
    start = _full_start(n, m, _mode(mode))
    end = n + m - 1 - start - _length(g)
    if not (start or end):
        return g
    return anp.pad(g, pad_width=((start, end),))


def _convolve_bar(g: Any, other: Any, n: int, m: int, mode: str) -> Any:
    # x̄[j] = Σₖ ḡ_full[k]·other[k - j]: the full cotangent correlated with the other argument
    return anp.convolve(_to_full(g, n, m, mode), anp.flip(other), mode="valid")


def _convolve_samples(rng: np.random.Generator) -> list:
    out = []
    for n, m in [(5, 3), (3, 5), (4, 4), (2, 5), (6, 1)]:
        for mode in ("full", "same", "valid"):
            out.append(((S.real(rng, (n,)), S.real(rng, (m,))), {"mode": mode}))
    out.append(((S.real(rng, ()), S.real(rng, (3,))), {"mode": "full"}))
    return out


defop(
    "convolve", lambda a, v, mode="full": np.convolve(a, v, mode), nargs=2,
    params={"mode": "full"},
    jvp=(lambda t, ans, a, v, mode: anp.convolve(t, v, mode=mode),  # d(a * v) = da * v
         lambda t, ans, a, v, mode: anp.convolve(a, t, mode=mode)),  # ... + a * dv
    vjp=(lambda g, ans, a, v, mode: _convolve_bar(g, v, _length(a), _length(v), mode),
         lambda g, ans, a, v, mode: _convolve_bar(g, a, _length(a), _length(v), mode)),
    complex="holomorphic", samples=_convolve_samples,
    formula="d(a ∗ v) = da ∗ v + a ∗ dv",
    vjp_formula="ā = correlate(ḡ_full, v, 'valid'), v̄ = correlate(ḡ_full, a, 'valid')",
    doc="Discrete linear convolution of two 1-D arrays (modes 'full', 'same', 'valid')",
)  # fmt: skip


def _correlate_samples(rng: np.random.Generator) -> list:
    out = []
    for n, m in [(5, 3), (3, 5), (4, 4), (2, 5), (4, 7)]:
        for mode in ("full", "same", "valid"):
            out.append(((S.real(rng, (n,)), S.real(rng, (m,))), {"mode": mode}))
    return out


@defcomposite(complex=True, numpy=np.correlate, samples=_correlate_samples)
@numpy_when_plain(np.correlate)
def correlate(a: Any, v: Any, mode: Any = "valid") -> Any:
    """Cross-correlation of two 1-D arrays, ``c[k] = Σₙ a[n + k]·v[n]``, like ``np.correlate``
    (real arrays; modes ``'valid'`` (the default), ``'same'``, ``'full'``).

    It is ``convolve(a, v[::-1])``: the same mode's window of it, except for ``'same'`` with
    ``v`` longer than ``a``, where NumPy's window starts ``len(a) // 2`` into the full output.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> a, v = np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5])
        >>> ad.correlate(a, v)
        array([3.5])
        >>> ad.grad(lambda v: ad.correlate(a, v).sum())(v)
        array([1., 2., 3.])
    """
    if np.iscomplexobj(raw(v)):
        v = anp.conj(v)  # np.correlate conjugates v
    mode = _mode(mode)
    n, m = _length(a), _length(v)
    if mode == "same" and m > n:
        start = n // 2
        full = anp.convolve(a, anp.flip(v), mode="full")
        return anp.getitem(full, index=slice(start, start + m))
    return anp.convolve(a, anp.flip(v), mode=mode)
