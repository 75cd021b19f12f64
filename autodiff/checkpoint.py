"""``checkpoint`` (alias ``remat``): trade compute for memory in reverse mode.

A function wrapped by :func:`checkpoint` leaves **one** node on the tape for its whole body, which
saves only the function's inputs. Its VJP rule runs the body again, under a fresh reverse trace, at
the saved inputs, and sweeps that short tape at once: the intermediate values of the body live
only while its own backward step runs. The gradient is the one without checkpointing: the same
rules see the same values, so it is equal bit for bit in the usual case (where an input is also
used outside the block, the sums of its cotangents may be grouped differently, which can change
the last bit).

The block is an ad-hoc :class:`~autodiff.registry.Op` (never registered: no public name, no
NumPy dispatch) applied with :func:`~autodiff.core.bind`, so every trace handles it like a
primitive: a functional transform at any nesting depth, and the ``Tensor`` facade. Its rules
are themselves checkpointed blocks, so a second-order derivative keeps the memory saving too.
In forward mode alone (only dual numbers among the inputs) the function simply runs.

A function of several outputs gives one block whose output packs them into one flat vector
(outputs that are not floating point are constants and bypass it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autodiff import functions as anp
from autodiff import tree
from autodiff.boundary import flatten_output
from autodiff.core import Box, bind, raw, retire, zeros_for
from autodiff.forward import Dual, ForwardTrace
from autodiff.registry import Op
from autodiff.reverse import Node, ReverseTrace, Traced, backward_sweep

__all__ = ["checkpoint", "remat"]


# ---- packing several outputs into the one output of an op ---------------------------------------


class Layout:
    """How the floating-point outputs of a block are packed into one array, and unpacked.

    One output is its own packing (no copy); several are raveled and concatenated in a common
    dtype, and come back as slices reshaped and cast to their own dtypes. Outputs that are not
    floating point (indices, counts) are constants: they are kept aside as they are.
    """

    def __init__(self, outs: Sequence[Any], treedef: tree.PyTreeDef) -> None:
        self.treedef = treedef
        self.floating = [_is_float(o) for o in outs]
        floats = [o for o, f in zip(outs, self.floating) if f]
        self.shapes = [tuple(np.shape(raw(o))) for o in floats]
        self.dtypes = [np.result_type(raw(o)) for o in floats]
        self.dtype = np.result_type(*self.dtypes) if floats else np.dtype(np.float64)
        self.single = len(floats) == 1
        self.constants = [None if f else o for o, f in zip(outs, self.floating)]

    def pack(self, outs: Sequence[Any]) -> Any:
        floats = [o for o, f in zip(outs, self.floating) if f]
        if self.single:
            return floats[0]
        parts = [anp.reshape(o, (-1,)) for o in floats]
        parts = [p if p.dtype == self.dtype else anp.astype(p, self.dtype) for p in parts]
        if not parts:
            return np.zeros(0, self.dtype)
        return anp.concatenate(parts) if len(parts) > 1 else parts[0]

    def unpack(self, packed: Any) -> list:
        """The outputs, in order, from the packed array."""
        if self.single:
            floats = [packed]
        else:
            floats, start = [], 0
            for shape, dtype in zip(self.shapes, self.dtypes):
                n = int(np.prod(shape))
                part = anp.reshape(packed[start : start + n], shape)
                floats.append(part if dtype == self.dtype else anp.astype(part, dtype))
                start += n
        it = iter(floats)
        return [next(it) if f else c for f, c in zip(self.floating, self.constants)]

    def rebuild(self, packed: Any) -> Any:
        """The block's output, with the structure the function returned."""
        outs = self.unpack(packed)
        return outs[0] if self.treedef.is_leaf else tree.unflatten(self.treedef, outs)


def _is_float(x: Any) -> bool:
    value = raw(x)
    if isinstance(value, float):
        return True
    dtype = getattr(value, "dtype", None)
    return dtype is not None and np.issubdtype(dtype, np.inexact)


def _as_input(x: Any) -> Any:
    """A leaf given to a block, as an op argument: boxes and arrays as they are, Python and
    NumPy scalars as 0-d arrays (what the engines expect of an argument)."""
    return x if isinstance(x, (Box, np.ndarray)) else np.asarray(x)


# ---- the block: an ad-hoc op --------------------------------------------------------------------


def _only_duals(xs: Sequence[Any]) -> bool:
    """Whether every box in ``xs`` (at any depth, tangents included) is a dual number: forward
    mode alone, where a checkpoint has nothing to save and the function simply runs."""
    stack = list(xs)
    while stack:
        v = stack.pop()
        if isinstance(v, Dual):
            stack.append(v._value)
            stack.append(v.tangent)
        elif isinstance(v, Box):
            return False
    return True


def _closure_error(name: str) -> TypeError:
    return TypeError(
        f"checkpoint({name}): the function uses a value that is being differentiated without "
        "receiving it as an argument (a traced value or a Tensor that requires grad, held in a "
        "closure or a global). Pass every such value as an argument of the checkpointed "
        "function; for a function of Tensors and nn modules use ad.utils.checkpoint(fn, *args), "
        "which finds the parameters itself"
    )


def remat_call(fn: Callable[..., Any], xs: Sequence[Any], name: str) -> Any:
    """``fn(*xs)`` as one checkpointed block; ``xs`` are floating-point arrays or boxes, ``fn``
    returns an array or a pytree of arrays, and depends on nothing traced but ``xs``."""
    xs = [_as_input(x) for x in xs]
    if not any(isinstance(x, Box) for x in xs):
        return fn(*xs)  # nothing is watching: no tape to keep small
    if _only_duals(xs):
        return fn(*xs)  # forward mode keeps no tape: the block is just the function
    layouts: list[Layout] = []

    def packed_fn(*vals: Any) -> Any:
        """``fn`` with its outputs packed into one array; records the layout on first use."""
        outs, treedef = flatten_output(fn(*vals), "checkpoint")
        if not layouts:
            layouts.append(Layout(outs, treedef))
        return layouts[0].pack(outs)

    def primal(*vals: Any) -> Any:
        out = packed_fn(*vals)
        if isinstance(out, Box) or any(isinstance(c, Box) for c in layouts[0].constants):
            raise _closure_error(name)
        return out

    def vjp(g: Any, ans: Any, *vals: Any) -> list:
        # x̄ = (∂fn/∂x)ᵀ ḡ, by running fn again under a reverse trace at the saved x
        n = len(vals)
        floats = [i for i, v in enumerate(vals) if _is_float(v)]

        def pullback(*a: Any) -> tuple:
            return _pullback(packed_fn, a[:n], a[n], floats)

        cts = remat_call(pullback, [*vals, g], f"vjp of {name}")
        cts = cts if isinstance(cts, tuple) else (cts,)
        out: list = [None] * n
        for i, c in zip(floats, cts):
            out[i] = c
        return out

    def jvp(tangents: list, ans: Any, *vals: Any) -> Any:
        # d fn(x) = ∂fn/∂x · dx, by running fn again on dual numbers at x
        which = [i for i, t in enumerate(tangents) if t is not None]
        if not which:
            return None
        n = len(vals)

        def push(*a: Any) -> Any:
            return _pushforward(packed_fn, a[:n], dict(zip(which, a[n:])), ans)

        return remat_call(push, [*vals, *(tangents[i] for i in which)], f"jvp of {name}")

    op = Op(
        name="checkpoint",
        primal=primal,
        nargs=len(xs),
        jvp=jvp,
        vjp=vjp,
        jvp_whole=True,
        vjp_whole=True,
        doc=f"checkpointed block {name}",
        keeps=(False, ()),  # the rules read every input and never the output
    )
    packed = bind(op, xs, {})
    return layouts[0].rebuild(packed)


def _pullback(packed_fn: Callable[..., Any], xs: Sequence[Any], g: Any, floats: list) -> tuple:
    """The cotangents of the floating-point ``xs`` (positions ``floats``) of ``packed_fn`` for
    the cotangent ``g`` of its output: one recording and one sweep, which frees the recording
    as it goes."""
    trace = ReverseTrace()
    leaves = {i: Node(None, (), {}, xs[i], ()) for i in floats}
    args = [Traced(x, leaves[i], trace) if i in leaves else x for i, x in enumerate(xs)]
    try:
        out = packed_fn(*args)
    finally:
        retire(trace)
    found = {}
    if type(out) is Traced and out._trace is trace:
        node = out.node
        del out, args  # the sweep below frees the recording node by node
        found = backward_sweep([(node, g)], release=True)
    return tuple(found[leaves[i]] if leaves[i] in found else zeros_for(xs[i]) for i in floats)


def _pushforward(packed_fn: Callable[..., Any], xs: Sequence[Any], tangents: dict, ans: Any) -> Any:
    """The tangent of ``packed_fn``'s output for the tangents of the inputs ``tangents``
    (position -> tangent), by one forward sweep."""
    trace = ForwardTrace()
    args = [Dual(x, tangents[i], trace) if i in tangents else x for i, x in enumerate(xs)]
    try:
        out = packed_fn(*args)
    finally:
        retire(trace)
    if type(out) is Dual and out._trace is trace:
        return out.tangent
    return zeros_for(ans)


# ---- the public decorator -----------------------------------------------------------------------


def checkpoint(
    fun: Callable[..., Any] | None = None,
    *,
    prevent_cse: bool = True,
    policy: Any = None,
    static_argnums: int | Sequence[int] = (),
) -> Any:
    """Checkpoint ``fun``: reverse mode keeps only its inputs, and recomputes its body in the
    backward sweep (JAX's ``jax.checkpoint``, also called ``remat``).

    The derivatives are those of ``fun``, in both modes and at any order; only the memory of
    a reverse sweep changes: the tape holds one entry for the whole call, which saves its inputs,
    instead of one entry per operation inside. The price is one more forward pass of ``fun``
    per backward sweep. In forward mode alone the function simply runs.

    Args:
        fun: a function of arrays (or pytrees of arrays) returning an array or a pytree of
            arrays. Every value being differentiated that it uses must come in as an argument:
            a traced value held in a closure raises a clear error (JAX allows it; here, pass
            it as an argument). Can be used as a decorator, with or without arguments.
        prevent_cse: accepted for JAX compatibility; there is no compiler to prevent here.
        policy: JAX's rematerialisation policies are not supported: only ``None`` (save
            nothing inside the block).
        static_argnums: positions of arguments that are not arrays (flags, sizes, functions):
            passed through untouched.

    Returns:
        A function with the signature of ``fun`` and the same values and derivatives.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> @ad.checkpoint
        ... def block(x):
        ...     return np.sin(np.sin(x))
        >>> x = np.linspace(0.0, 1.0, 3)
        >>> ad.grad(lambda x: np.sum(block(x)))(x)
        array([1.        , 0.77864395, 0.36003949])
        >>> ad.tape(lambda x: np.sum(block(x)), x).entries[0].op.name    # one entry for it
        'checkpoint'
    """
    if fun is None:
        return functools.partial(
            checkpoint, prevent_cse=prevent_cse, policy=policy, static_argnums=static_argnums
        )
    if policy is not None:
        raise NotImplementedError(
            "checkpoint(policy=...) is not supported: autodiff saves nothing inside a "
            "checkpointed block (policy=None); split the function into smaller blocks instead"
        )
    if not callable(fun):
        raise TypeError(f"checkpoint expects a function, got {type(fun).__name__}")
    statics = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    name = getattr(fun, "__name__", type(fun).__name__)

    @functools.wraps(fun)
    def checkpointed(*args: Any, **kwargs: Any) -> Any:
        fixed = {k % len(args) for k in statics if -len(args) <= k < len(args)}
        dynamic = [a for k, a in enumerate(args) if k not in fixed]
        leaves, treedef = tree.flatten((dynamic, kwargs))
        which = [i for i, leaf in enumerate(leaves) if _is_float(leaf)]

        def call(*xs: Any) -> Any:
            full = list(leaves)
            for i, x in zip(which, xs):
                full[i] = x
            dyn, kw = tree.unflatten(treedef, full)
            it = iter(dyn)
            return fun(*(a if k in fixed else next(it) for k, a in enumerate(args)), **kw)

        return remat_call(call, [leaves[i] for i in which], name)

    return checkpointed


remat = checkpoint
