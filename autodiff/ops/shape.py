"""Shape primitives: reshape, transpose, swapaxes, expand_dims, squeeze, broadcast_to, flip, astype,
moveaxis, roll and copy.

They only move or copy elements, so each is linear: its JVP is the op on the tangent, its VJP the
inverse movement. Rules keep any leading batch axes of the tangent in front.
"""

from __future__ import annotations

import numpy as np

from autodiff import functions as anp
from autodiff.arrays import as_array, is_duck
from autodiff.core import cast, raw, shape_of, unbroadcast
from autodiff.ops import samples as S
from autodiff.ops.axes import as_negative, batch_of, neg_axes
from autodiff.registry import defop


def _to_shape(c, shape, unbatched_ndim):
    """Reshape a (co)tangent to ``batch + shape``, keeping its batch axes."""
    return anp.reshape(c, batch_of(c, unbatched_ndim) + tuple(shape))


def _reshape_primal(x, shape):
    return np.reshape(x, shape)


defop(
    "reshape", _reshape_primal, params={"shape": None}, batchable=True,
    jvp=(lambda t, ans, x, shape: _to_shape(t, shape_of(ans), len(shape_of(x))),),
    # d reshape(x) = reshape(dx)
    vjp=(lambda g, ans, x, shape: _to_shape(g, shape_of(x), len(shape_of(ans))),),
    # x̄ = reshape(ḡ, x.shape)
    complex="holomorphic", samples=lambda rng: [((S.real(rng, (2, 3)),), {"shape": (3, 2)}),
                         ((S.real(rng, (2, 3)),), {"shape": (-1,)}),
                         ((S.real(rng, (0, 3)),), {"shape": (3, 0)})],
    formula="d reshape(x) = reshape(dx)", vjp_formula="x̄ = reshape(ḡ, x.shape)",
    doc="Give the array a new shape with the same elements",
    torch="reshape",
)  # fmt: skip


def _perm(axes, ndim):
    return tuple(range(ndim))[::-1] if axes is None else tuple(int(a) % ndim for a in axes)


def _batched_transpose(c, perm, ndim):
    lead = len(shape_of(c)) - ndim
    return anp.transpose(c, tuple(range(lead)) + tuple(lead + p for p in perm))


defop(
    "transpose", lambda x, axes=None: np.transpose(x, axes), params={"axes": None},
    batchable=True,
    jvp=(lambda t, ans, x, axes: _batched_transpose(t, _perm(axes, len(shape_of(x))),
                                                    len(shape_of(x))),),
    # d xᵀ = (dx)ᵀ
    vjp=(lambda g, ans, x, axes: _batched_transpose(
        g, tuple(np.argsort(_perm(axes, len(shape_of(x))))), len(shape_of(x))),),
    # x̄ = ḡ transposed by the inverse permutation
    complex="holomorphic", samples=lambda rng: [((S.real(rng, (2, 3)),), {"axes": None}),
                         ((S.real(rng, (2, 3, 4)),), {"axes": (1, 2, 0)}),
                         ((S.real(rng, (3,)),), {"axes": None})],
    formula="d xᵀ = (dx)ᵀ", vjp_formula="x̄ = ḡ permuted back", doc="Permute the axes",
    torch="permute", torch_args={"axes": "dims"},
)  # fmt: skip


def _swap(c, x, axis1, axis2):
    n = len(shape_of(x))
    return anp.swapaxes(c, neg_axes(axis1, n)[0], neg_axes(axis2, n)[0])


defop(
    "swapaxes", lambda x, axis1, axis2: np.swapaxes(x, axis1, axis2),
    params={"axis1": 0, "axis2": 1}, batchable=True,
    jvp=(lambda t, ans, x, axis1, axis2: _swap(t, x, axis1, axis2),),  # d swap(x) = swap(dx)
    vjp=(lambda g, ans, x, axis1, axis2: _swap(g, x, axis1, axis2),),  # x̄ = swap(ḡ)
    complex="holomorphic", samples=lambda rng: [((S.real(rng, (2, 3, 4)),), {"axis1": 0, "axis2": 2})],
    formula="d swapaxes(x) = swapaxes(dx)", vjp_formula="x̄ = swapaxes(ḡ)",
    doc="Exchange two axes",
    torch="transpose", torch_args={"axis1": "dim0", "axis2": "dim1"},
)  # fmt: skip

for _name, _fn, _params, _cases in [
    ("expand_dims", np.expand_dims, {"axis": 0},
     [((2, 3), {"axis": 1}), ((3,), {"axis": (0, 2)})]),
    ("squeeze", np.squeeze, {"axis": None},
     [((1, 3, 1), {"axis": None}), ((2, 1), {"axis": 1})]),
]:  # fmt: skip
    defop(
        _name, _fn, params=_params, batchable=True, complex="holomorphic",
        jvp=(lambda t, ans, x, axis: _to_shape(t, shape_of(ans), len(shape_of(x))),),
        # d f(x) = f(dx): only the shape changes
        vjp=(lambda g, ans, x, axis: _to_shape(g, shape_of(x), len(shape_of(ans))),),
        # x̄ = reshape(ḡ, x.shape)
        samples=lambda rng, _cases=_cases: [((S.real(rng, s),), p) for s, p in _cases],
        formula=f"d {_name}(x) = {_name}(dx)", vjp_formula="x̄ = reshape(ḡ, x.shape)",
        doc="Insert axes of length one" if _name == "expand_dims" else "Remove axes of length one",
        torch="unsqueeze" if _name == "expand_dims" else "squeeze", torch_args={"axis": "dim"},
    )  # fmt: skip


def _broadcast_t(t, ans, x, shape):
    lead = batch_of(t, len(shape_of(x)))
    missing = len(shape_of(ans)) - len(shape_of(x))
    t = anp.reshape(t, lead + (1,) * missing + shape_of(x))
    return anp.broadcast_to(t, lead + shape_of(ans))


def _broadcast_g(g, ans, x, shape):
    return unbroadcast(g, shape_of(x), len(shape_of(g)) - len(shape_of(ans)))


defop(
    "broadcast_to", lambda x, shape: np.broadcast_to(x, shape), params={"shape": None},
    batchable=True,
    jvp=(_broadcast_t,),  # d broadcast(x) = broadcast(dx)
    vjp=(_broadcast_g,),  # x̄ = ḡ summed over the broadcast axes
    complex="holomorphic", samples=lambda rng: [((S.real(rng, (3,)),), {"shape": (2, 3)}),
                         ((S.real(rng, (2, 1)),), {"shape": (2, 4)}),
                         ((S.real(rng, ()),), {"shape": (0, 2)})],
    formula="d broadcast(x) = broadcast(dx)", vjp_formula="x̄ = Σ of ḡ over broadcast axes",
    doc="Broadcast to a shape",
    torch="broadcast_to",
)  # fmt: skip


def _flip(c, x, axis):
    return anp.flip(c, axis=neg_axes(axis, len(shape_of(x))))


defop(
    "flip", lambda x, axis=None: np.flip(x, axis=axis), params={"axis": None}, batchable=True,
    jvp=(lambda t, ans, x, axis: _flip(t, x, axis),),  # d flip(x) = flip(dx)
    vjp=(lambda g, ans, x, axis: _flip(g, x, axis),),  # x̄ = flip(ḡ)
    complex="holomorphic", samples=lambda rng: [((S.real(rng, (2, 3)),), {"axis": None}),
                         ((S.real(rng, (2, 3)),), {"axis": 1})],
    formula="d flip(x) = flip(dx)", vjp_formula="x̄ = flip(ḡ)", doc="Reverse the order along axes",
    torch="flip", torch_args={"axis": "dims"},
)  # fmt: skip


defop(
    "astype", lambda x, dtype: as_array(x).astype(dtype), params={"dtype": np.float64},
    batchable=True,
    jvp=(lambda t, ans, x, dtype: cast(t, dtype),),  # d cast(x) = cast(dx)
    vjp=(lambda g, ans, x, dtype: cast(g, raw(x).dtype),),  # x̄ = cast back(ḡ)
    samples=lambda rng: [((S.real(rng, (3,)),), {"dtype": np.float64}),
                         ((S.real(rng, (3,)),), {"dtype": np.complex128})],
    # (complex to real warns, as NumPy does: tests/test_complex.py checks that case)
    formula="d cast(x) = cast(dx) (complex to real: Re dx)",
    vjp_formula="x̄ = ḡ cast to x's dtype (complex to real: Re ḡ)",
    doc="Convert to another floating dtype (complex to real keeps the real part and warns, as "
    "NumPy does)", complex=True,
)  # fmt: skip


def _move(c, x, source, destination):
    n = len(shape_of(x))
    return anp.moveaxis(c, as_negative(source, n), as_negative(destination, n))


defop(
    "moveaxis", lambda x, source, destination: np.moveaxis(x, source, destination),
    params={"source": 0, "destination": -1}, batchable=True,
    jvp=(lambda t, ans, x, source, destination: _move(t, x, source, destination),),
    # d moveaxis(x) = moveaxis(dx)
    vjp=(lambda g, ans, x, source, destination: _move(g, x, destination, source),),
    # x̄ = ḡ with the axis moved back
    complex="holomorphic", samples=lambda rng: [((S.real(rng, (2, 3, 4)),), {"source": 0, "destination": -1}),
                         ((S.real(rng, (2, 3, 4)),), {"source": (0, 1), "destination": (2, 0)})],
    formula="d moveaxis(x) = moveaxis(dx)", vjp_formula="x̄ = moveaxis(ḡ) back",
    doc="Move axes to new positions",
    torch="movedim",
)  # fmt: skip


def _roll_c(c, x, shift, axis):
    """``roll`` applied to a (co)tangent of x, whose leading batch axes stay in place."""
    if axis is None:  # roll the flattened x: flatten behind the batch axes, roll, shape back
        batch = batch_of(c, len(shape_of(x)))
        flat = anp.roll(anp.reshape(c, batch + (-1,)), shift, axis=-1)
        return anp.reshape(flat, batch + shape_of(x))
    return anp.roll(c, shift, axis=as_negative(axis, len(shape_of(x))))


def _negated(shift):
    """``-shift`` for an int or a sequence of ints (NumPy pairs each shift with an axis)."""
    if isinstance(shift, (int, np.integer)):
        return -int(shift)
    return tuple(-int(s) for s in np.ravel(shift))


defop(
    "roll", lambda x, shift, axis=None: np.roll(x, shift, axis=axis),
    params={"shift": 0, "axis": None}, batchable=True,
    jvp=(lambda t, ans, x, shift, axis: _roll_c(t, x, shift, axis),),  # d roll(x) = roll(dx)
    vjp=(lambda g, ans, x, shift, axis: _roll_c(g, x, _negated(shift), axis),),
    # x̄ = roll(ḡ, -shift)
    complex="holomorphic", samples=lambda rng: [((S.real(rng, (5,)),), {"shift": 2, "axis": None}),
                         ((S.real(rng, (2, 3)),), {"shift": -1, "axis": None}),
                         ((S.real(rng, (2, 3)),), {"shift": 4, "axis": 1}),
                         ((S.real(rng, (2, 3, 4)),), {"shift": (1, -2), "axis": (0, 2)}),
                         ((S.real(rng, (2, 3)),), {"shift": (1, 1), "axis": (1, 1)}),
                         ((S.real(rng, (2, 3)),), {"shift": 1, "axis": (0, 1)}),
                         ((S.real(rng, ()),), {"shift": 3, "axis": None}),
                         ((S.real(rng, (0, 3)),), {"shift": 1, "axis": 1})],
    formula="d roll(x) = roll(dx)", vjp_formula="x̄ = roll(ḡ, -shift)",
    doc="Shift elements cyclically along axes (of the flattened x when axis is None)",
    torch="roll", torch_args={"shift": "shifts", "axis": "dims"},
)  # fmt: skip


defop(
    "copy", lambda x, order="K", subok=False: (
        x.copy() if is_duck(x) else np.copy(x, order=order, subok=subok)),
    params={"order": "K", "subok": False}, batchable=True,
    jvp=(lambda t, ans, x, order, subok: t,),  # d copy(x) = dx
    vjp=(lambda g, ans, x, order, subok: g,),  # x̄ = ḡ
    complex="holomorphic", samples=lambda rng: [((S.real(rng, (2, 3)),), {}), ((S.real(rng, ()),), {}),
                         ((S.real(rng, (0, 2)),), {})],
    formula="d copy(x) = dx", vjp_formula="x̄ = ḡ",
    doc="A new array with the values of x (the derivative is the identity)",
    torch="clone",
)  # fmt: skip
