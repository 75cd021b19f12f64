"""Joining and splitting: ``stack``, ``concatenate``, ``split``.

``stack`` and ``concatenate`` take a variable number of arrays, so their rules see every tangent
at once; symbolic zeros are instantiated in one helper (:func:`autodiff.ops.axes.fill_zeros`).
"""

from __future__ import annotations

import itertools

import numpy as np

from autodiff import functions as anp
from autodiff.core import shape_of
from autodiff.ops import samples as S
from autodiff.ops.axes import fill_zeros, neg_axes
from autodiff.registry import defop


def _piece(g, axis_neg, start, stop):
    """``g[..., start:stop, :, ...]`` along a negative axis (batch axes stay in front)."""
    return anp.getitem(g, index=(Ellipsis, slice(start, stop)) + (slice(None),) * (-axis_neg - 1))


def _stack_vjp(g, ans, *xs, axis):
    a = neg_axes(axis, len(shape_of(ans)))[0]
    return [anp.getitem(g, index=(Ellipsis, i) + (slice(None),) * (-a - 1)) for i in range(len(xs))]


defop(
    "stack", lambda *xs, axis=0: np.stack(xs, axis=axis), nargs=-1, params={"axis": 0},
    batchable=True,
    jvp=lambda ts, ans, *xs, axis: anp.stack(
        fill_zeros(ts, xs), axis=neg_axes(axis, len(shape_of(ans)))[0]),  # d stack = stack(dxᵢ)
    vjp=_stack_vjp,  # x̄ᵢ = ḡ[..., i, ...]
    samples=lambda rng: [((S.real(rng, (3,)), S.real(rng, (3,))), {"axis": 0}),
                         ((S.real(rng, (2, 3)), S.real(rng, (2, 3)), S.real(rng, (2, 3))),
                          {"axis": -1})],
    formula="d stack(xᵢ) = stack(dxᵢ)", vjp_formula="x̄ᵢ = ḡ[..., i, ...]",
    doc="Join arrays along a new axis",
)  # fmt: skip


def _concat_vjp(g, ans, *xs, axis):
    a = neg_axes(axis, len(shape_of(ans)))[0]
    out, start = [], 0
    for x in xs:
        stop = start + shape_of(x)[a]
        out.append(_piece(g, a, start, stop))
        start = stop
    return out


defop(
    "concatenate", lambda *xs, axis=0: np.concatenate(xs, axis=axis), nargs=-1,
    params={"axis": 0}, batchable=True,
    jvp=lambda ts, ans, *xs, axis: anp.concatenate(
        fill_zeros(ts, xs), axis=neg_axes(axis, len(shape_of(ans)))[0]),  # d concat = concat(dxᵢ)
    vjp=_concat_vjp,  # x̄ᵢ = the slice of ḡ where xᵢ sits
    samples=lambda rng: [((S.real(rng, (2,)), S.real(rng, (3,))), {"axis": 0}),
                         ((S.real(rng, (2, 1)), S.real(rng, (2, 3)), S.real(rng, (2, 0))),
                          {"axis": 1})],
    formula="d concat(xᵢ) = concat(dxᵢ)", vjp_formula="x̄ᵢ = ḡ[slice of xᵢ]",
    doc="Join arrays along an existing axis",
)  # fmt: skip


def split(x, indices_or_sections, axis=0):
    """Split ``x`` into pieces along ``axis``, like ``np.split`` (differentiable: views by index).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> [p.tolist() for p in ad.split(np.arange(6.0), 3)]
        [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    """
    n = shape_of(x)[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        if n % indices_or_sections:
            raise ValueError("array split does not result in an equal division")
        step = n // indices_or_sections
        bounds = list(range(0, n + 1, step)) if step else [0] * (indices_or_sections + 1)
    else:
        bounds = [0, *indices_or_sections, n]
    a = neg_axes(axis, len(shape_of(x)))[0]
    return [_piece(x, a, lo, hi) for lo, hi in itertools.pairwise(bounds)]
