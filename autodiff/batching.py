"""Batching rules for ``vmap``: one op on a whole batch instead of one op per example.

A rule gets the batch ``size``, the ``op``, its array arguments ``vals`` (a batched one has the
batch axis in front), which of them are ``batched``, the op's ``params`` and which params are
batched (``pbatched``, e.g. ``where``'s condition). It returns the batched result (batch axis in
front), or ``NotImplemented`` for a case it does not cover, which :func:`loop` then handles: the
op once per example, stacked. The loop is always correct; a rule is only faster.

The rules bind ops on the values one level down (plain arrays, or the boxes of enclosing
transformations), so what they do is itself differentiated and batched by the levels below.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

import numpy as np

from autodiff.core import bind, shape_of
from autodiff.registry import Op, get

Rule = Callable[[int, Op, list, list, dict, dict], Any]
RULES: dict[str, Rule] = {}


def _nd(x: Any) -> int:
    return len(shape_of(x))


def reshape(x: Any, shape: tuple[int, ...]) -> Any:
    return bind(get("reshape"), (x,), {"shape": tuple(shape)})


def _broadcast(x: Any, shape: tuple[int, ...]) -> Any:
    return bind(get("broadcast_to"), (x,), {"shape": tuple(shape)})


def _lift(x: Any, rank: int) -> Any:
    """A batched ``x`` with size-1 axes after the batch axis, up to ``rank`` example axes."""
    shape = shape_of(x)
    missing = rank - (len(shape) - 1)
    if missing <= 0:
        return x
    return reshape(x, shape[:1] + (1,) * missing + shape[1:])


def _full(x: Any, size: int) -> Any:
    """An unbatched ``x`` repeated over the batch (a broadcast view, no copy)."""
    x = x if hasattr(x, "shape") else np.asarray(x)
    return _broadcast(x, (size, *shape_of(x)))


def take_example(x: Any, axis: int, b: int) -> Any:
    """Example ``b`` of ``x`` batched along ``axis``."""
    return bind(get("getitem"), (x,), {"index": (slice(None),) * axis + (b,)})


def loop(size: int, op: Op, vals: list, batched: list, params: dict, pbatched: dict) -> Any:
    """The fallback: ``op`` once per example, the results stacked along a new axis 0."""
    if size == 0:
        return _empty(op, vals, batched, params, pbatched)
    outs = []
    for b in range(size):
        args = [take_example(v, 0, b) if m else v for v, m in zip(vals, batched)]
        kw = {k: take_example(p, 0, b) if k in pbatched else p for k, p in params.items()}
        outs.append(bind(op, args, kw))
    stack = get("stack")
    if isinstance(outs[0], tuple):
        parts = [bind(stack, [o[i] for o in outs], {"axis": 0}) for i in range(len(outs[0]))]
        kind = type(outs[0])
        return kind(*parts) if hasattr(kind, "_fields") else tuple(parts)
    return bind(stack, outs, {"axis": 0})


def _empty(op: Op, vals: list, batched: list, params: dict, pbatched: dict) -> Any:
    """An empty batch: the op's output shape comes from one example of zeros."""

    def zero(v: Any) -> Any:
        return np.zeros(shape_of(v)[1:], dtype=v.dtype)

    try:
        args = [zero(v) if m else v for v, m in zip(vals, batched)]
        kw = {k: zero(p) if k in pbatched else p for k, p in params.items()}
        one = bind(op, args, kw)
    except Exception as exc:
        raise ValueError(
            f"vmap over an empty batch: op '{op.name}' has no batching rule and could not be run "
            f"on a stand-in example ({exc}); give vmap at least one example"
        ) from None

    def empty(o: Any) -> Any:
        o = np.asarray(o) if not hasattr(o, "shape") else o
        return np.zeros((0, *shape_of(o)), dtype=o.dtype)

    if isinstance(one, tuple):
        parts = [empty(o) for o in one]
        return type(one)(*parts) if hasattr(type(one), "_fields") else tuple(parts)
    return empty(one)


def rule(*names: str) -> Callable[[Rule], Rule]:
    def deco(fn: Rule) -> Rule:
        for name in names:
            RULES[name] = fn
        return fn

    return deco


def _shift(axis: Any, ndim: int) -> Any:
    """Per-example ``axis`` (int or tuple) as an axis of the batched value; NumPy's AxisError
    when out of range."""
    if isinstance(axis, (tuple, list)):
        return tuple(_shift(a, ndim) for a in axis)
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim + 1


def _array_param(p: Any) -> bool:
    return isinstance(p, np.ndarray) or (hasattr(p, "shape") and hasattr(p, "dtype"))


# --------------------------------------------------------------------------------------------
# elementwise ops: broadcast, with the batch axis in front of every batched operand
# --------------------------------------------------------------------------------------------


@rule("<elementwise>")
def _elementwise(size, op, vals, batched, params, pbatched):
    ranks = [_nd(v) - m for v, m in zip(vals, batched)]
    ranks += [_nd(p) - (k in pbatched) for k, p in params.items() if _array_param(p)]
    rank = max(ranks, default=0)
    vals = [_lift(v, rank) if m else v for v, m in zip(vals, batched)]
    if pbatched:
        params = {k: _lift(p, rank) if k in pbatched else p for k, p in params.items()}
    return bind(op, vals, params)


# --------------------------------------------------------------------------------------------
# ops that act on trailing axes: a leading batch axis is a stack NumPy already handles
# --------------------------------------------------------------------------------------------


@rule("inv", "det", "cholesky", "eigh", "eigvalsh", "slogdet", "svd", "svdvals", "qr", "pinv",
      "tril", "triu", "astype", "copy", "stop_gradient")  # fmt: skip
def _native(size, op, vals, batched, params, pbatched):
    if pbatched or (_nd(vals[0]) < 3 and op.name not in ("astype", "copy", "stop_gradient")):
        return NotImplemented  # the matrix ops need a matrix (or a stack) per example
    return bind(op, vals, params)


# --------------------------------------------------------------------------------------------
# reductions and shape ops: shift their axes past the batch axis
# --------------------------------------------------------------------------------------------


@rule("sum", "mean", "prod", "max", "min", "std", "var", "logsumexp")
def _reduction(size, op, vals, batched, params, pbatched):
    x = vals[0]
    nd = _nd(x) - 1
    params = dict(params)
    axis = params.get("axis")
    params["axis"] = tuple(range(1, nd + 1)) if axis is None else _shift(axis, nd)
    if "where" in pbatched:
        if _nd(params["where"]) - 1 > nd:
            return NotImplemented
        params["where"] = _lift(params["where"], nd)
    elif _array_param(params.get("where")) and _nd(params["where"]) > nd:
        return NotImplemented
    return bind(op, vals, params)


@rule("softmax", "log_softmax", "partition")
def _along_axis(size, op, vals, batched, params, pbatched):
    if pbatched or params.get("axis") is None:
        return NotImplemented
    return bind(op, vals, {**params, "axis": _shift(params["axis"], _nd(vals[0]) - 1)})


@rule("cumsum", "cumprod", "sort", "repeat")
def _flattening(size, op, vals, batched, params, pbatched):
    """Ops whose ``axis=None`` means "on the flattened array"."""
    x = vals[0]
    if pbatched or (_array_param(params.get("repeats")) and op.name == "repeat"):
        return NotImplemented
    if params.get("axis") is None:
        return bind(op, [reshape(x, (size, -1))], {**params, "axis": 1})
    return bind(op, vals, {**params, "axis": _shift(params["axis"], _nd(x) - 1)})


@rule("flip")
def _flip(size, op, vals, batched, params, pbatched):
    nd = _nd(vals[0]) - 1
    axis = params["axis"]
    axis = tuple(range(1, nd + 1)) if axis is None else _shift(axis, nd)
    return bind(op, vals, {**params, "axis": axis})


@rule("roll")
def _roll(size, op, vals, batched, params, pbatched):
    x = vals[0]
    if params["axis"] is None:
        flat = bind(op, [reshape(x, (size, -1))], {**params, "axis": 1})
        return reshape(flat, shape_of(x))
    return bind(op, vals, {**params, "axis": _shift(params["axis"], _nd(x) - 1)})


@rule("expand_dims")
def _expand_dims(size, op, vals, batched, params, pbatched):
    axis = params["axis"]
    count = len(axis) if isinstance(axis, (tuple, list)) else 1
    return bind(op, vals, {**params, "axis": _shift(axis, _nd(vals[0]) - 1 + count)})


@rule("squeeze")
def _squeeze(size, op, vals, batched, params, pbatched):
    x = vals[0]
    axis = params["axis"]
    if axis is None:
        axis = tuple(i for i, n in enumerate(shape_of(x)[1:]) if n == 1)
    return bind(op, vals, {**params, "axis": _shift(axis, _nd(x) - 1)})


@rule("moveaxis")
def _moveaxis(size, op, vals, batched, params, pbatched):
    nd = _nd(vals[0]) - 1
    return bind(op, vals, {"source": _shift(params["source"], nd),
                           "destination": _shift(params["destination"], nd)})  # fmt: skip


@rule("swapaxes")
def _swapaxes(size, op, vals, batched, params, pbatched):
    nd = _nd(vals[0]) - 1
    return bind(op, vals, {"axis1": _shift(params["axis1"], nd),
                           "axis2": _shift(params["axis2"], nd)})  # fmt: skip


@rule("diagonal", "trace")
def _diagonal(size, op, vals, batched, params, pbatched):
    nd = _nd(vals[0]) - 1
    return bind(op, vals, {**params, "axis1": _shift(params["axis1"], nd),
                           "axis2": _shift(params["axis2"], nd)})  # fmt: skip


@rule("transpose")
def _transpose(size, op, vals, batched, params, pbatched):
    nd = _nd(vals[0]) - 1
    axes = params["axes"]
    axes = tuple(range(nd, 0, -1)) if axes is None else _shift(tuple(axes), nd)
    return bind(op, vals, {"axes": (0, *axes)})


@rule("reshape")
def _reshape(size, op, vals, batched, params, pbatched):
    shape = params["shape"]
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return bind(op, vals, {**params, "shape": (size, *shape)})


@rule("broadcast_to")
def _broadcast_to(size, op, vals, batched, params, pbatched):
    shape = params["shape"]
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return bind(op, [_lift(vals[0], len(shape))], {**params, "shape": (size, *shape)})


@rule("tile")
def _tile(size, op, vals, batched, params, pbatched):
    reps = params["reps"]
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    x = _lift(vals[0], len(reps))
    nd = _nd(x) - 1
    return bind(op, [x], {**params, "reps": (1,) * (1 + nd - len(reps)) + reps})


@rule("pad")
def _pad(size, op, vals, batched, params, pbatched):
    if pbatched or np.ndim(params["constant_values"]) != 0:
        return NotImplemented
    nd = _nd(vals[0]) - 1
    width = np.broadcast_to(np.asarray(params["pad_width"]), (nd, 2))
    width = ((0, 0), *(tuple(int(n) for n in w) for w in width))
    return bind(op, vals, {**params, "pad_width": width})


@rule("concatenate", "stack")
def _joining(size, op, vals, batched, params, pbatched):
    vals = [v if m else _full(v, size) for v, m in zip(vals, batched)]
    axis = params["axis"]
    if axis is None:  # concatenate(axis=None) joins the flattened arrays
        return bind(op, [reshape(v, (size, -1)) for v in vals], {**params, "axis": 1})
    nd = _nd(vals[0]) - 1 + (op.name == "stack")
    return bind(op, vals, {**params, "axis": _shift(axis, nd)})


# --------------------------------------------------------------------------------------------
# indexing
# --------------------------------------------------------------------------------------------


def _advanced(k: Any) -> bool:
    return isinstance(k, (np.ndarray, list)) or (
        isinstance(k, (int, np.integer, bool, np.bool_)) and not isinstance(k, slice)
    )


@rule("getitem")
def _getitem(size, op, vals, batched, params, pbatched):
    if pbatched:
        return NotImplemented
    index = params["index"]
    idx = index if isinstance(index, tuple) else (index,)
    if any(isinstance(k, (bool, np.bool_)) for k in idx):
        return NotImplemented
    arrays = [i for i, k in enumerate(idx) if isinstance(k, (np.ndarray, list))]
    if arrays:  # advanced indexing: only when NumPy keeps the indexed axes in place
        adv = [i for i, k in enumerate(idx) if _advanced(k)]
        if adv != list(range(adv[0], adv[-1] + 1)):
            return NotImplemented
    return bind(op, vals, {**params, "index": (slice(None), *idx)})


# --------------------------------------------------------------------------------------------
# products
# --------------------------------------------------------------------------------------------


@rule("matmul")
def _matmul(size, op, vals, batched, params, pbatched):
    (a, b), (ma, mb) = vals, batched
    if ma and not mb and _nd(a) == 2 and _nd(b) <= 2:
        return bind(op, [a, b], params)  # a batch of rows times a matrix: one GEMM
    a_vec, b_vec = _nd(a) - ma == 1, _nd(b) - mb == 1
    if a_vec:  # a vector is a 1×n matrix (NumPy's rule), the extra axis dropped at the end
        a = reshape(a, shape_of(a)[:-1] + (1,) + shape_of(a)[-1:])
    if b_vec:
        b = reshape(b, (*shape_of(b), 1))
    stack = max(_nd(a) - ma, _nd(b) - mb) - 2
    a = _lift(a, stack + 2) if ma else a
    b = _lift(b, stack + 2) if mb else b
    out = bind(op, [a, b], params)
    shape = shape_of(out)
    if a_vec and b_vec:
        return reshape(out, shape[:-2])
    if a_vec:
        return reshape(out, shape[:-2] + shape[-1:])
    if b_vec:
        return reshape(out, shape[:-1])
    return out


@rule("dot")
def _dot(size, op, vals, batched, params, pbatched):
    ranks = [_nd(v) - m for v, m in zip(vals, batched)]
    if not all(1 <= r <= 2 for r in ranks):
        return NotImplemented
    return _matmul(size, get("matmul"), vals, batched, params, pbatched)


@rule("outer")
def _outer(size, op, vals, batched, params, pbatched):
    (a, b), (ma, mb) = vals, batched
    a = reshape(a, (size, -1, 1) if ma else (-1, 1))
    b = reshape(b, (size, 1, -1) if mb else (1, -1))
    return bind(get("multiply"), [a, b], {})


@rule("einsum")
def _einsum(size, op, vals, batched, params, pbatched):
    subscripts = params["subscripts"]
    if not isinstance(subscripts, str) or pbatched:
        return NotImplemented
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(vals):
        return NotImplemented
    if not arrow:  # implicit output: the labels used once, in order, after any "..."
        letters = [c for c in inputs if c.isalpha()]
        output = ("..." if "..." in inputs else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1)
        )
    free = next(c for c in string.ascii_letters if c not in subscripts)
    terms = [free + t if m else t for t, m in zip(terms, batched)]
    new = ",".join(terms) + "->" + free + output
    return bind(op, vals, {**params, "subscripts": new})


__all__ = ["RULES", "loop", "reshape", "rule", "take_example"]
