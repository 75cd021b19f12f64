"""Rearranging primitives: tile, repeat, pad, tril, triu, diagonal and trace.

Each is linear in its array argument: the JVP is the op applied to the tangent, and the VJP is its
transpose, gathering back what the op copied (``tile``, ``repeat`` sum their copies; ``pad`` adds
the copies of its edge, reflect, symmetric and wrap borders back) or scattering back what it
selected (``pad`` slices off a constant border, ``diagonal`` and ``trace`` scatter onto the
diagonal). Axes are written as negative numbers (see :mod:`autodiff.ops.axes`), so every rule also
accepts tangents and cotangents with leading batch axes.
"""

from __future__ import annotations

import numpy as np

from autodiff import functions as anp
from autodiff.core import prod, shape_of
from autodiff.ops import samples as S
from autodiff.ops.axes import batch_of, neg_axes
from autodiff.registry import defop

# --------------------------------------------------------------------------------------------
# tile
# --------------------------------------------------------------------------------------------


def _tile_layout(x_shape, reps):
    """NumPy's promotion: ``(reps, shape)`` padded with leading ones to a common length."""
    reps = tuple(int(r) for r in np.atleast_1d(reps))
    d = max(len(reps), len(x_shape))
    return (1,) * (d - len(reps)) + reps, (1,) * (d - len(x_shape)) + tuple(x_shape)


def _tile_primal(x, reps):
    return np.tile(x, reps)


def _tile_t(t, ans, x, reps):
    # d tile(x) = tile(dx)
    reps, shape = _tile_layout(shape_of(x), reps)
    batch = batch_of(t, len(shape_of(x)))
    return anp.tile(anp.reshape(t, batch + shape), (1,) * len(batch) + reps)


def _tile_g(g, ans, x, reps):
    # x̄ = Σ over the copies of ḡ: reshape each tiled axis rᵢ·sᵢ to (rᵢ, sᵢ) and sum the rᵢ
    reps, shape = _tile_layout(shape_of(x), reps)
    batch = batch_of(g, len(reps))
    split = tuple(n for pair in zip(reps, shape) for n in pair)
    copies = tuple(range(-2 * len(reps), 0, 2))
    summed = anp.sum(anp.reshape(g, batch + split), axis=copies)
    return anp.reshape(summed, batch + shape_of(x))


defop(
    "tile", _tile_primal, params={"reps": None}, batchable=True,
    jvp=(_tile_t,), vjp=(_tile_g,),
    complex="holomorphic", samples=lambda rng: [((S.real(rng, (3,)),), {"reps": 2}),
                         ((S.real(rng, (2, 3)),), {"reps": (2, 1)}),
                         ((S.real(rng, (2, 3)),), {"reps": (2, 1, 3)}),
                         ((S.real(rng, (2, 1, 2)),), {"reps": (3, 2)}),
                         ((S.real(rng, ()),), {"reps": (2, 3)}),
                         ((S.real(rng, (0, 2)),), {"reps": (2, 2)})],
    formula="d tile(x) = tile(dx)", vjp_formula="x̄ = Σ of ḡ over the tiled copies",
    doc="Construct an array by repeating x the number of times given by reps",
    torch="tile", torch_args={"reps": "dims"},
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# repeat
# --------------------------------------------------------------------------------------------


def _repeat_primal(x, repeats, axis=None):
    return np.repeat(x, repeats, axis=axis)


def _repeat_axis(x, axis):
    """The repeated axis as a negative number, and its length (``axis=None``: the flattened x)."""
    if axis is None:
        return -1, prod(shape_of(x))
    a = neg_axes(axis, len(shape_of(x)))[0]
    return a, shape_of(x)[a]


def _flatten_if_none(c, x, axis):
    if axis is None:
        return anp.reshape(c, batch_of(c, len(shape_of(x))) + (prod(shape_of(x)),))
    return c


def _repeat_t(t, ans, x, repeats, axis):
    # d repeat(x) = repeat(dx)
    a, _ = _repeat_axis(x, axis)
    return anp.repeat(_flatten_if_none(t, x, axis), repeats, axis=a)


def _repeat_g(g, ans, x, repeats, axis):
    # x̄ᵢ = Σ of ḡ over the copies of xᵢ
    a, n = _repeat_axis(x, axis)
    reps = np.asarray(repeats).astype(np.intp)  # ([] is float to NumPy)
    gshape = shape_of(g)
    pos = len(gshape) + a  # the repeated axis of g, counted from the front
    if reps.size == 1:  # every element repeated r times: split the axis to (n, r), sum the r
        r = int(reps.reshape(()))
        split = anp.reshape(g, gshape[:pos] + (n, r) + gshape[pos + 1 :])
        out = anp.sum(split, axis=a)
    else:  # element i repeated reps[i] times: scatter-add each copy back to i
        owner = np.repeat(np.arange(n), np.broadcast_to(reps, (n,)))
        index = (Ellipsis, owner) + (slice(None),) * (-a - 1)
        shape = gshape[:pos] + (n,) + gshape[pos + 1 :]
        out = anp.scatter_add(g, index=index, shape=shape)
    if axis is None:
        out = anp.reshape(out, batch_of(g, 1) + shape_of(x))
    return out


defop(
    "repeat", _repeat_primal, params={"repeats": None, "axis": None}, batchable=True,
    jvp=(_repeat_t,), vjp=(_repeat_g,),
    complex="holomorphic", samples=lambda rng: [((S.real(rng, (3,)),), {"repeats": 2, "axis": None}),
                         ((S.real(rng, (2, 3)),), {"repeats": 2, "axis": None}),
                         ((S.real(rng, (2, 3)),), {"repeats": 3, "axis": 0}),
                         ((S.real(rng, (2, 3)),), {"repeats": np.array([1, 0, 2]), "axis": -1}),
                         ((S.real(rng, (2, 3, 2)),), {"repeats": [2, 1, 3], "axis": 1}),
                         ((S.real(rng, (2, 2)),), {"repeats": [1, 2, 0, 3], "axis": None}),
                         ((S.real(rng, ()),), {"repeats": 3, "axis": None}),
                         ((S.real(rng, (0, 2)),), {"repeats": 2, "axis": 1})],
    formula="d repeat(x) = repeat(dx)", vjp_formula="x̄ᵢ = Σ of ḡ over the copies of xᵢ",
    doc="Repeat each element of x (along axis, or of the flattened x)",
    torch="repeat_interleave", torch_args={"axis": "dim"},
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# pad: a constant border, or a border of copies of x's elements (edge, reflect, symmetric, wrap)
# --------------------------------------------------------------------------------------------

# Modes whose border copies elements of x, axis by axis: pad(x) = x[src₀, src₁, ...] with one
# index array per axis (np.pad applied to arange(n)), so the VJP scatters ḡ back to the sources.
_COPY_MODES = ("edge", "reflect", "symmetric", "wrap")


def _pairs(pad_width, ndim):
    """``pad_width`` in any of NumPy's forms as ``((before, after),) * ndim`` of ints."""
    if pad_width is None:
        raise TypeError("pad() needs pad_width: an int, (before, after) or one pair per axis")
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (ndim, 2))
    return tuple((int(b), int(a)) for b, a in widths)


def _mode_args(mode, constant_values, reflect_type) -> dict:
    """NumPy's keyword arguments for ``mode``, or a clear error for what is not differentiable."""
    if isinstance(mode, str) and mode == "constant":
        return {"constant_values": constant_values}
    if not (isinstance(mode, str) and mode in _COPY_MODES):
        raise NotImplementedError(
            f"pad: mode={mode!r} is not supported; autodiff differentiates pad with "
            "mode='constant', 'edge', 'reflect', 'symmetric' and 'wrap'. Build other borders "
            "from slices and reductions with ad.concatenate"
        )
    if not (np.ndim(constant_values) == 0 and constant_values == 0):
        raise ValueError(f"pad: constant_values applies to mode='constant', not mode={mode!r}")
    if mode in ("reflect", "symmetric"):
        if reflect_type != "even":
            raise NotImplementedError(
                f"pad: reflect_type={reflect_type!r} is not supported (only 'even', the default: "
                "a mirror image of the elements)"
            )
        return {"reflect_type": reflect_type}
    return {}


def _pad_primal(x, pad_width, mode="constant", constant_values=0, reflect_type="even"):
    return np.pad(x, pad_width, mode=mode, **_mode_args(mode, constant_values, reflect_type))


def _pad_t(t, ans, x, pad_width, mode, constant_values, reflect_type):
    # d pad(x) = pad(dx) with a zero border (constant mode) or the same copies (other modes)
    pairs = _pairs(pad_width, len(shape_of(x)))
    if not any(b or a for b, a in pairs):  # nothing added (and NumPy rejects an empty pad_width)
        return t
    batch = batch_of(t, len(shape_of(x)))
    return anp.pad(t, ((0, 0),) * len(batch) + pairs, mode=mode, constant_values=0,
                   reflect_type=reflect_type)  # fmt: skip


def _source_index(shape, pairs, mode, reflect_type) -> tuple:
    """The index with ``pad(x) = x[index]`` for a copy mode: ``...``, then one (open-mesh) index
    array per axis from the first padded axis to the last, then slices."""
    padded = [k for k, (b, a) in enumerate(pairs) if b or a]
    first, last = padded[0], padded[-1]
    kwargs = {"reflect_type": reflect_type} if mode in ("reflect", "symmetric") else {}
    src = [np.pad(np.arange(shape[k]), pairs[k], mode=mode, **kwargs)
           for k in range(first, last + 1)]  # fmt: skip
    return (Ellipsis, *np.ix_(*src)) + (slice(None),) * (len(shape) - 1 - last)


def _pad_g(g, ans, x, pad_width, mode, constant_values, reflect_type):
    pairs = _pairs(pad_width, len(shape_of(x)))
    if not any(b or a for b, a in pairs):
        return g
    if mode == "constant":
        # x̄ = ḡ without its border: ḡ[before : before + n] on every axis
        inner = tuple(slice(b, b + n) for (b, _), n in zip(pairs, shape_of(x)))
        return anp.getitem(g, index=(Ellipsis, *inner))
    # x̄ = ḡ added back onto the elements each position copies (repeated copies add up)
    index = _source_index(shape_of(x), pairs, mode, reflect_type)
    batch = batch_of(g, len(shape_of(x)))
    return anp.scatter_add(g, index=index, shape=batch + tuple(shape_of(x)))


def _pad_samples(rng):
    constant = [((S.real(rng, (3,)),), {"pad_width": 2}),
                ((S.real(rng, (2, 3)),), {"pad_width": (1, 2), "constant_values": 1.5}),
                ((S.real(rng, (2, 3)),), {"pad_width": ((0, 1), (2, 0))}),
                ((S.real(rng, (2, 3, 2)),), {"pad_width": ((1,), (0,), (2,))}),
                ((S.real(rng, (2, 3)),),
                 {"pad_width": ((1, 0),), "constant_values": ((1.0, 2.0), (3.0, 4.0))}),
                ((S.real(rng, (0, 2)),), {"pad_width": ((0, 0), (1, 1))})]  # fmt: skip
    copies = []
    for mode in _COPY_MODES:
        copies += [((S.real(rng, (3,)),), {"pad_width": (2, 4), "mode": mode}),
                   ((S.real(rng, (2, 3, 2)),), {"pad_width": ((1, 2), (0, 0), (3, 1)), "mode": mode}),
                   ((S.real(rng, (3, 2)),), {"pad_width": ((0, 0), (1, 2)), "mode": mode}),
                   ((S.real(rng, (0, 2)),), {"pad_width": ((0, 0), (1, 1)), "mode": mode})]  # fmt: skip
    return constant + copies


defop(
    "pad", _pad_primal,
    params={"pad_width": None, "mode": "constant", "constant_values": 0, "reflect_type": "even"},
    batchable=True, jvp=(_pad_t,), vjp=(_pad_g,), complex="holomorphic", samples=_pad_samples,
    formula="d pad(x) = pad(dx): a zero border, or the same copies of dx's elements",
    vjp_formula="x̄ = ḡ with the border sliced off (constant) or added back onto the copied "
    "elements (edge, reflect, symmetric, wrap)",
    doc="Pad x with a constant border, or with copies of its elements (mode='edge', 'reflect', "
    "'symmetric', 'wrap')",
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# tril, triu
# --------------------------------------------------------------------------------------------


def _as_rows(t, x, ans):
    """A 1-D x is broadcast to a square matrix by NumPy's tril/triu; do the same to its tangent."""
    if len(shape_of(x)) >= 2:
        return t
    batch = batch_of(t, len(shape_of(x)))
    return anp.broadcast_to(anp.reshape(t, batch + (1, *shape_of(x))), batch + shape_of(ans))


def _from_rows(c, x):
    return c if len(shape_of(x)) >= 2 else anp.sum(c, axis=-2)


for _name, _fn, _keep in [("tril", np.tril, "on and below"), ("triu", np.triu, "on and above")]:
    defop(
        _name, lambda x, k=0, _fn=_fn: _fn(x, k=k), params={"k": 0}, batchable=True,
        complex="holomorphic",
        jvp=(lambda t, ans, x, k, _name=_name: getattr(anp, _name)(_as_rows(t, x, ans), k=k),),
        # d tril(x) = tril(dx)
        vjp=(lambda g, ans, x, k, _name=_name: _from_rows(getattr(anp, _name)(g, k=k), x),),
        # x̄ = tril(ḡ): zeroing a triangle is its own transpose
        samples=lambda rng: [((S.real(rng, (3, 3)),), {"k": 0}),
                             ((S.real(rng, (2, 3, 4)),), {"k": 1}),
                             ((S.real(rng, (4, 3)),), {"k": -1}),
                             ((S.real(rng, (2, 2, 3)),), {"k": -5}),
                             ((S.real(rng, (3,)),), {"k": 0}),
                             ((S.real(rng, (2, 0, 3)),), {"k": 0})],
        formula=f"d {_name}(x) = {_name}(dx)", vjp_formula=f"x̄ = {_name}(ḡ)",
        doc=f"Keep the elements {_keep} the k-th diagonal of the last two axes, zero the others",
        torch=_name, torch_args={"k": "diagonal"},
    )  # fmt: skip

# --------------------------------------------------------------------------------------------
# diagonal, trace
# --------------------------------------------------------------------------------------------


def _diag_axes(x, axis1, axis2):
    n = len(shape_of(x))
    a1, a2 = neg_axes(axis1, n)[0], neg_axes(axis2, n)[0]
    if a1 == a2:
        raise ValueError("axis1 and axis2 cannot be the same")
    return a1, a2


def _diag_index(rows, cols, offset):
    """Row and column indices of the ``offset`` diagonal of a ``rows × cols`` matrix."""
    r0, c0 = max(-offset, 0), max(offset, 0)
    length = max(0, min(rows - r0, cols - c0))
    return np.arange(r0, r0 + length), np.arange(c0, c0 + length)


def _diag_scatter(d, x, offset, axis1, axis2):
    """Zeros shaped like x (plus d's batch axes) with ``d[..., i]`` on the ``offset`` diagonal."""
    a1, a2 = _diag_axes(x, axis1, axis2)
    rows, cols = shape_of(x)[a1], shape_of(x)[a2]
    r, c = _diag_index(rows, cols, offset)
    lead = shape_of(d)[:-1]  # batch + the axes of x other than axis1, axis2, in order
    square = anp.scatter_add(d, index=(Ellipsis, r, c), shape=(*lead, rows, cols))
    return anp.moveaxis(square, (-2, -1), (a1, a2))


def _diagonal_t(t, ans, x, offset, axis1, axis2):
    # d diagonal(x) = diagonal(dx)
    a1, a2 = _diag_axes(x, axis1, axis2)
    return anp.diagonal(t, offset=offset, axis1=a1, axis2=a2)


defop(
    "diagonal", lambda x, offset=0, axis1=0, axis2=1: np.diagonal(x, offset, axis1, axis2),
    params={"offset": 0, "axis1": 0, "axis2": 1}, batchable=True,
    jvp=(_diagonal_t,),
    vjp=(lambda g, ans, x, offset, axis1, axis2: _diag_scatter(g, x, offset, axis1, axis2),),
    # x̄ = zeros with ḡ scattered onto the diagonal
    complex="holomorphic",
    samples=lambda rng: [((S.real(rng, (3, 3)),), {"offset": 0, "axis1": 0, "axis2": 1}),
                         ((S.real(rng, (3, 4)),), {"offset": 1, "axis1": 0, "axis2": 1}),
                         ((S.real(rng, (4, 3)),), {"offset": -2, "axis1": 1, "axis2": 0}),
                         ((S.real(rng, (2, 3, 4)),), {"offset": 0, "axis1": -1, "axis2": 0}),
                         ((S.real(rng, (3, 2, 4, 2)),), {"offset": -1, "axis1": 2, "axis2": 0}),
                         ((S.real(rng, (2, 3)),), {"offset": 5, "axis1": 0, "axis2": 1}),
                         ((S.real(rng, (0, 2, 2)),), {"offset": 0, "axis1": 1, "axis2": 2})],
    formula="d diagonal(x) = diagonal(dx)", vjp_formula="x̄ = ḡ scattered onto the diagonal",
    doc="The offset diagonal of the axis1 × axis2 matrices, as the last axis",
    torch="diagonal", torch_args={"axis1": "dim1", "axis2": "dim2"},
)  # fmt: skip


def _trace_t(t, ans, x, offset, axis1, axis2):
    # d tr(x) = tr(dx)
    a1, a2 = _diag_axes(x, axis1, axis2)
    return anp.trace(t, offset=offset, axis1=a1, axis2=a2)


def _trace_g(g, ans, x, offset, axis1, axis2):
    # x̄ = ḡ · I_offset: ḡ broadcast along the diagonal, zero elsewhere
    a1, a2 = _diag_axes(x, axis1, axis2)
    length = len(_diag_index(shape_of(x)[a1], shape_of(x)[a2], offset)[0])
    gshape = shape_of(g)
    d = anp.broadcast_to(anp.reshape(g, (*gshape, 1)), (*gshape, length))
    return _diag_scatter(d, x, offset, axis1, axis2)


defop(
    "trace", lambda x, offset=0, axis1=0, axis2=1: np.trace(x, offset, axis1, axis2),
    params={"offset": 0, "axis1": 0, "axis2": 1}, batchable=True,
    jvp=(_trace_t,), vjp=(_trace_g,),
    complex="holomorphic",
    samples=lambda rng: [((S.real(rng, (3, 3)),), {"offset": 0, "axis1": 0, "axis2": 1}),
                         ((S.real(rng, (3, 4)),), {"offset": -1, "axis1": 0, "axis2": 1}),
                         ((S.real(rng, (2, 3, 4)),), {"offset": 1, "axis1": 1, "axis2": 2}),
                         ((S.real(rng, (3, 2, 3)),), {"offset": 0, "axis1": -1, "axis2": 0}),
                         ((S.real(rng, (2, 3)),), {"offset": 4, "axis1": 0, "axis2": 1}),
                         ((S.real(rng, (0, 3)),), {"offset": 0, "axis1": 0, "axis2": 1})],
    formula="d tr(x) = tr(dx)", vjp_formula="x̄ = ḡ·I (ḡ on the offset diagonal, 0 elsewhere)",
    doc="Sum along the offset diagonal of the axis1 × axis2 matrices",
    torch="trace",
)  # fmt: skip
