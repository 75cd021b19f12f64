"""Batching: ``vmap(f)`` runs ``f`` once on a whole batch, as if it ran once per example.

``vmap`` opens a :class:`BatchTrace` like any transformation: its boxes (:class:`BatchBox`) hold
a value with one extra, leading axis (the batch) and show their users the shape of one example.
An op that meets a batch box is rewritten into one op on the whole batch by the rules in
:mod:`autodiff.batching` (elementwise ops broadcast, reductions and shape ops get their axes
shifted, ``matmul``/``einsum``/``getitem`` have their own rules); an op without a rule runs once
per example in a Python loop and the results are stacked, which is always correct.

Everything composes, because ``vmap`` is one more level: ``vmap(grad(f))`` (per-example
gradients), ``grad(vmap(f))``, ``vmap(hessian(f))``, ``jacfwd(vmap(f))``, ``vmap(vmap(f))``.

Code that needs the *value* of a batched array (``if x > 0:``, ``float(x)``, a rule that computes
a mask with ``ad.raw``) cannot be batched: there is one value per example. ``vmap`` notices
(the value it hands out refuses to be read) and runs ``f`` once per example instead, so the answer
is still right; only slower. Side effects in ``f`` may then run twice.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from autodiff import tree
from autodiff.batching import RULES, loop, take_example
from autodiff.core import Box, Trace, UnexpectedTracerError, bind, retire, shape_of
from autodiff.registry import Op, get

AxisSpec = Any  # an int, None, or a pytree (prefix) of them


class BatchedValueError(Exception):
    """Code asked for the concrete value of a batched array (there is one per example)."""

    def __init__(self, trace: BatchTrace, what: str) -> None:
        super().__init__(
            f"vmap: {what} needs the value of a batched array, which has one value per example; "
            "vmap runs such a function once per example instead (this error escaping means the "
            "batched value outlived its vmap)"
        )
        self.trace = trace


class BatchTrace(Trace):
    """One ``vmap`` in progress: ``size`` examples, the batch axis in front of every value."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def process(self, op: Op, args: tuple | list, params: dict[str, Any]) -> Any:
        vals, batched = [], []
        for a in args:
            if type(a) is BatchBox and a._trace is self:
                vals.append(a._batched)
                batched.append(True)
            else:
                vals.append(a)
                batched.append(False)
        pbatched = {}
        if params:
            for k, p in params.items():
                if type(p) is BatchBox and p._trace is self:
                    pbatched[k] = True
                    params = {**params, k: p._batched}
                elif _holds_batched(p):
                    raise BatchedValueError(self, f"op '{op.name}' with a batched {k}=")
        rule = RULES.get(op.name)
        if rule is None and op.elementwise:
            rule = RULES["<elementwise>"]
        out = NotImplemented
        if rule is not None and self.size:
            out = rule(self.size, op, vals, batched, params, pbatched)
        if out is NotImplemented:
            out = loop(self.size, op, vals, batched, params, pbatched)
        return self.wrap(out)

    def wrap(self, out: Any) -> Any:
        if isinstance(out, tuple):
            items = [BatchBox(o, self) for o in out]
            return type(out)(*items) if hasattr(type(out), "_fields") else tuple(items)
        return BatchBox(out, self)


def _holds_batched(p: Any) -> bool:
    if isinstance(p, (tuple, list)):
        return any(_holds_batched(q) for q in p)
    return isinstance(p, (BatchBox, _BatchedValue))


class BatchBox(Box):
    """A batched value inside ``vmap``: ``_batched`` has the batch axis in front; ``shape`` is
    the shape of one example."""

    __slots__ = ("_batched", "_trace")

    def __init__(self, batched: Any, trace: BatchTrace) -> None:
        self._batched = batched
        self._trace = trace

    @property
    def _value(self) -> _BatchedValue:  # what ad.raw sees: shapes, but no values
        return _BatchedValue(self)

    @property
    def shape(self) -> tuple[int, ...]:
        return shape_of(self._batched)[1:]

    @property
    def dtype(self) -> np.dtype:
        return self._batched.dtype

    @property
    def ndim(self) -> int:
        return len(shape_of(self._batched)) - 1

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError("len() of a 0-d array")
        return shape[0]

    def _refuse(self, *args: Any) -> Any:
        return self._value._refuse()

    # a Python number or an index has one value, a batch has many: vmap loops instead
    __float__ = __int__ = __index__ = __complex__ = _refuse

    def __repr__(self) -> str:
        return f"BatchBox(shape={self.shape}, dtype={self.dtype}, batch={self._trace.size})"


class _BatchedValue:
    """What ``ad.raw`` finds under a batch box: the shape and dtype of one example, and an
    error (caught by ``vmap``, which then loops) on any attempt to read values."""

    __slots__ = ("_box",)

    def __init__(self, box: BatchBox) -> None:
        self._box = box

    shape = property(lambda self: self._box.shape)
    dtype = property(lambda self: self._box.dtype)
    ndim = property(lambda self: self._box.ndim)
    size = property(lambda self: self._box.size)

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        trace = self._box._trace
        if type(trace) is not BatchTrace:  # retired: the value escaped its vmap
            raise UnexpectedTracerError(
                "a value batched by a vmap that has already returned was used; return it from "
                "the vmapped function instead"
            )
        raise BatchedValueError(trace, "reading an array's values (ad.raw, bool(), float(), ...)")

    def __getattr__(self, name: str) -> Any:
        return self._refuse()

    def __repr__(self) -> str:
        return f"<batched value shape={self.shape} dtype={self.dtype}>"

    __array__ = __array_ufunc__ = __array_function__ = _refuse
    _shape_only = True  # autodiff.arrays: not a duck array; zeros/seeds made from it are NumPy's
    __bool__ = __float__ = __int__ = __index__ = __complex__ = __len__ = __iter__ = _refuse
    __getitem__ = __setitem__ = __contains__ = _refuse
    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __matmul__ = __rmatmul__ = _refuse
    __neg__ = __abs__ = __invert__ = __and__ = __or__ = __xor__ = _refuse
    __hash__ = object.__hash__


# --------------------------------------------------------------------------------------------
# in_axes / out_axes
# --------------------------------------------------------------------------------------------


def _is_axis(spec: Any) -> bool:
    return spec is None or (isinstance(spec, (int, np.integer)) and not isinstance(spec, bool))


def _check_spec(spec: Any, name: str) -> None:
    if _is_axis(spec):
        return
    if isinstance(spec, dict):
        for v in spec.values():
            _check_spec(v, name)
        return
    if isinstance(spec, (tuple, list)):
        for v in spec:
            _check_spec(v, name)
        return
    raise TypeError(
        f"vmap {name} must be an int, None, or a (nested) tuple/list/dict of those, got "
        f"{type(spec).__name__} {spec!r}"
    )


def _children(node: Any) -> list[tuple[str, Any]]:
    """The children of a pytree node in flattening order, with their path pieces."""
    if isinstance(node, dict):
        return [(f"[{k!r}]", node[k]) for k in tree._dict_keys(node)]
    return [(f"[{i}]", v) for i, v in enumerate(node)]


def _axes_for(spec: Any, value: Any, path: str, name: str) -> list:
    """One axis (or None) per leaf of ``value``, broadcasting the prefix tree ``spec``."""
    if _is_axis(spec):
        return [spec] * len(tree.leaves(value))
    if isinstance(spec, dict):
        fits = isinstance(value, dict) and set(spec) == set(value)
    else:  # a tuple or list prefix fits any tuple, list or namedtuple of the same length
        fits = isinstance(value, (tuple, list)) and len(spec) == len(value)
    if not fits:
        raise ValueError(
            f"vmap {name} must be a tree prefix of the arguments: {name}{path} is {spec!r} but "
            f"the value there is {_describe(value)}"
        )
    specs = dict(_children(spec)) if isinstance(spec, dict) else None
    out = []
    for i, (piece, child) in enumerate(_children(value)):
        sub = specs[piece] if specs is not None else spec[i]
        out.extend(_axes_for(sub, child, path + piece, name))
    return out


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return f"a dict with keys {sorted(map(str, value))}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"an array of shape {shape_of(value)}" if hasattr(value, "shape") else repr(value)


def _as_array(leaf: Any) -> Any:
    if hasattr(leaf, "shape") and hasattr(leaf, "dtype"):
        return leaf
    if isinstance(leaf, (int, float, complex, np.number, np.bool_)):
        return np.asarray(leaf)
    return leaf  # not an array: passed through unmapped (mapping it is an error below)


def _normalize(axis: int, ndim: int, what: str) -> int:
    """``axis`` of a batched output of rank ``ndim`` (batch axis included), checked."""
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"vmap {what} is out of range: the batched output has rank {ndim} "
            f"(valid: {-ndim} to {ndim - 1})"
        )
    return axis % ndim


# --------------------------------------------------------------------------------------------
# vmap
# --------------------------------------------------------------------------------------------


def vmap(f: Callable[..., Any], in_axes: AxisSpec = 0, out_axes: AxisSpec = 0) -> Callable:
    """Vectorize ``f`` over a batch axis: ``vmap(f)(xs)`` equals ``stack([f(x) for x in xs])``.

    Args:
        f: a function of arrays (or pytrees of arrays).
        in_axes: which axis of each argument is the batch axis: an int for all of them, ``None``
            for an argument that is the same for every example, or a tuple with one entry per
            positional argument, each an int, ``None`` or a pytree prefix of that argument (as in
            JAX). Keyword arguments are mapped over their axis 0.
        out_axes: where the batch axis goes in each output (int, ``None`` for an output that
            does not depend on the batch, or a pytree prefix of the output).

    Returns:
        The batched function.

    Raises:
        ValueError: no argument is mapped, mapped axes of different sizes, an axis out of range,
            an ``in_axes``/``out_axes`` tree that does not fit the values.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> xs = np.arange(6.0).reshape(3, 2)
        >>> ad.vmap(lambda x: x @ x)(xs)                  # one dot product per row
        array([ 1., 13., 41.])
        >>> w = np.array([1.0, -1.0])
        >>> ad.vmap(ad.grad(lambda w, x: np.sum(w * x) ** 2), in_axes=(None, 0))(w, xs)
        array([[ -0.,  -2.],
               [ -4.,  -6.],
               [ -8., -10.]])
    """
    _check_spec(in_axes, "in_axes")
    _check_spec(out_axes, "out_axes")
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)

    @functools.wraps(f)
    def batched(*args: Any, **kwargs: Any) -> Any:
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError(
                f"vmap in_axes has {len(in_axes)} entries but the function was called with "
                f"{len(args)} positional arguments; give one entry per argument (None for an "
                "argument that is not mapped)"
            )
        specs = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        leaves, trees, axes, labels = [], [], [], []
        for k, (arg, spec) in enumerate(zip(args, specs)):
            pairs, treedef = tree.flatten_with_paths(arg)
            trees.append(treedef)
            arg_axes = _axes_for(
                spec, arg, f"[{k}]" if isinstance(in_axes, tuple) else "", "in_axes"
            )
            for (path, leaf), ax in zip(pairs, arg_axes):
                leaves.append(_as_array(leaf))
                axes.append(ax)
                labels.append(f"argument {k}{path}")
        kw_pairs, kw_tree = tree.flatten_with_paths(kwargs)
        for path, leaf in kw_pairs:
            leaves.append(_as_array(leaf))
            axes.append(0)
            labels.append(f"keyword argument {path}")
        axes = [
            None if ax is None else _in_axis(leaf, ax, label)
            for leaf, ax, label in zip(leaves, axes, labels)
        ]
        size = _batch_size(leaves, axes, labels)
        n_pos = sum(t.num_leaves for t in trees)

        def call(flat: list) -> Any:
            pos = _rebuild(trees, flat[:n_pos])
            kw = tree.unflatten(kw_tree, flat[n_pos:]) if kw_pairs else {}
            return f(*pos, **kw)

        trace = BatchTrace(size)
        try:
            boxed = [
                leaf if ax is None else BatchBox(_to_front(leaf, ax), trace)
                for leaf, ax in zip(leaves, axes)
            ]
            try:
                out = call(boxed)
                return _outputs(out, trace, out_axes)
            except BatchedValueError as err:
                if err.trace is not trace:
                    raise
        finally:
            retire(trace)
        return _looped(call, leaves, axes, size, out_axes)

    return batched


def _in_axis(leaf: Any, ax: int, label: str) -> int:
    if not hasattr(leaf, "shape"):
        raise TypeError(
            f"vmap in_axes maps {label}, which is a {type(leaf).__name__}, not an array; give it "
            "in_axes None"
        )
    ndim = len(shape_of(leaf))
    if ndim == 0:
        raise ValueError(
            f"vmap in_axes={ax} maps {label}, a scalar (rank 0) with no axis to map; give it "
            "in_axes None"
        )
    if not -ndim <= ax < ndim:
        raise ValueError(
            f"vmap in_axes={ax} is out of range for {label} of shape {shape_of(leaf)} "
            f"(valid: {-ndim} to {ndim - 1})"
        )
    return ax % ndim


def _batch_size(leaves: list, axes: list, labels: list) -> int:
    sizes = [(shape_of(leaf)[ax], label, shape_of(leaf), ax)
             for leaf, ax, label in zip(leaves, axes, labels) if ax is not None]  # fmt: skip
    if not sizes:
        raise ValueError(
            "vmap needs at least one mapped argument, but in_axes maps none (all None, or no "
            "array arguments)"
        )
    if len({s for s, *_ in sizes}) > 1:
        lines = "; ".join(f"{label} of shape {shape} has size {s} at axis {ax}"
                          for s, label, shape, ax in sizes)  # fmt: skip
        raise ValueError(f"vmap got mapped axes of different sizes: {lines}")
    return sizes[0][0]


def _rebuild(trees: list, flat: list) -> list:
    out, start = [], 0
    for treedef in trees:
        n = treedef.num_leaves
        out.append(tree.unflatten(treedef, flat[start : start + n]))
        start += n
    return out


def _to_front(x: Any, ax: int) -> Any:
    if ax == 0:
        return x
    return bind(get("moveaxis"), (x,), {"source": ax, "destination": 0})


def _move_out(x: Any, ax: int) -> Any:
    if ax == 0:
        return x
    return bind(get("moveaxis"), (x,), {"source": 0, "destination": ax})


def _outputs(out: Any, trace: BatchTrace, out_axes: AxisSpec) -> Any:
    leaves, treedef = tree.flatten(out)
    axes = _axes_for(out_axes, out, "", "out_axes")
    results = []
    for i, (leaf, ax) in enumerate(zip(leaves, axes)):
        mine = type(leaf) is BatchBox and leaf._trace is trace
        if mine and ax is None:
            raise ValueError(
                f"vmap out_axes is None for output leaf {i}, but that output depends on the "
                "mapped inputs (it has one value per example); give it an int out_axes"
            )
        if ax is None:
            results.append(leaf)
            continue
        if mine:
            value = leaf._batched
        else:  # the same for every example: broadcast it, as JAX does
            value = _as_array(leaf)
            shape = shape_of(value)
            value = bind(get("broadcast_to"), (value,), {"shape": (trace.size, *shape)})
        ndim = len(shape_of(value))
        results.append(_move_out(value, _normalize(ax, ndim, f"out_axes={ax} of output {i}")))
    return tree.unflatten(treedef, results)


def _looped(call: Callable, leaves: list, axes: list, size: int, out_axes: AxisSpec) -> Any:
    """``f`` once per example, outputs stacked: for functions that read batched values."""
    if size == 0:
        raise ValueError(
            "vmap over an empty batch of a function that reads array values (bool(), float(), "
            "ad.raw, ...) cannot know its outputs' shapes; give it at least one example"
        )
    outs = []
    for b in range(size):
        flat = [leaf if ax is None else take_example(leaf, ax, b) for leaf, ax in zip(leaves, axes)]
        outs.append(tree.flatten(call(flat)))
    treedef = outs[0][1]
    axes_out = _axes_for(out_axes, tree.unflatten(treedef, outs[0][0]), "", "out_axes")
    stack = get("stack")
    results = []
    for i, ax in enumerate(axes_out):
        column = [o[0][i] for o in outs]
        if ax is None:
            results.append(column[0])
            continue
        ndim = len(shape_of(_as_array(column[0]))) + 1
        axis = _normalize(ax, ndim, f"out_axes={ax} of output {i}")
        results.append(bind(stack, [_as_array(c) for c in column], {"axis": axis}))
    return tree.unflatten(treedef, results)


__all__ = ["BatchBox", "BatchTrace", "BatchedValueError", "vmap"]
