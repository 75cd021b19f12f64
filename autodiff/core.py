"""Boxes, levels and dispatch: the machinery both engines share.

A *box* wraps a value that a transformation is watching: a :class:`~autodiff.forward.Dual`
(forward mode), a :class:`~autodiff.reverse.Traced` (reverse mode) or a
:class:`~autodiff.tensor.Tensor` (the PyTorch-style facade). Each box belongs to a *trace*, and
each trace has a *level*: every ``jvp``/``vjp``/``grad`` call opens a trace with a level higher
than any trace alive, and :func:`bind` hands an op to the highest-level trace among its
arguments. That trace strips its own boxes, calls :func:`bind` again on what is inside (lower
levels, or plain arrays), and wraps the result. Nested derivatives therefore never mix their
perturbations.

Plain arrays stay plain: with no box among the arguments, :func:`bind` is one loop over the
arguments and one NumPy call.

Applying a rule: :func:`jvp_rule` and :func:`vjp_rule` are **the reference**. They apply an op's
rules, skip symbolic zeros (``None``, from a tangent or from a rule), undo broadcasting and give a
cotangent its input's dtype. The engines' hot paths (``ForwardTrace.process1``/``process2``, the
backward sweep's one- and two-argument case) inline the common case of the same steps for speed,
and a registry-wide test (``tests/test_hot_paths.py``) holds them exactly equal to the reference.

A transformation's boxes live as long as it runs: when it returns, :func:`retire` marks its trace
finished, and a box that escaped (stored in a global, a list, a closure) raises
:class:`UnexpectedTracerError` the next time an op meets it, instead of silently computing with
a stale perturbation.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from autodiff import functions as anp
from autodiff.arrays import dtype_of, is_duck, zeros_like
from autodiff.registry import Op

EMPTY: dict[str, Any] = {}

# Levels only grow: a trace opened later is nested inside (or runs after) every trace still alive.
# Level 0 belongs to the Tensor facade, the outermost (ambient) reverse trace.
_next_level = itertools.count(1).__next__


class Trace:
    """A transformation in progress. Subclasses implement :meth:`process`."""

    __slots__ = ("level",)

    def __init__(self, level: int | None = None) -> None:
        self.level = _next_level() if level is None else level

    def process(self, op: Op, args: tuple | list, params: dict[str, Any]) -> Any:
        raise NotImplementedError

    # Entry points for one and two arguments, which most calls are: operators and unary
    # functions call them directly, so a trace can skip packing and unpacking ``args``.
    def process1(self, op: Op, a: Any, params: dict[str, Any] = EMPTY) -> Any:
        return self.process(op, (a,), params)

    def process2(self, op: Op, a: Any, b: Any, params: dict[str, Any] = EMPTY) -> Any:
        return self.process(op, (a, b), params)


class Box:
    """Base class of every traced value. Holds ``_value`` (one level down) and ``_trace``.

    Operators, NumPy dispatch and the array-like methods are installed on this class by
    :mod:`autodiff.numpy_api`, from the registry.
    """

    __slots__ = ()
    __array_priority__ = 100.0
    __hash__ = object.__hash__

    # ``_value`` and ``_trace`` are slots of the subclasses.

    @property
    def shape(self) -> tuple[int, ...]:
        return self._value.shape

    @property
    def dtype(self) -> np.dtype:
        return self._value.dtype

    @property
    def ndim(self) -> int:
        return self._value.ndim

    @property
    def size(self) -> int:
        return self._value.size

    def __len__(self) -> int:
        return len(self._value)

    @property
    def _element_count(self) -> int:
        """The value's element count, for the tape (``size`` may be a method: ``Tensor.size()``)."""
        return _size(self._value)


# Values smaller than this are always kept on the tape: dropping them saves no memory worth the
# bookkeeping, and it keeps small recordings (trace tables, the tour) fully inspectable.
LEAN_MIN_SIZE = 1024


class Stub:
    """Stands in on a tape for a value that no rule of its op reads: keeps its shape and dtype."""

    __slots__ = ("dtype", "shape")

    def __init__(self, x: Any) -> None:
        self.shape = x.shape
        self.dtype = x.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __repr__(self) -> str:
        return f"Stub(shape={self.shape}, dtype={self.dtype})"


def lean(op: Op, args: tuple | list, ans: Any) -> tuple[tuple | list, Any]:
    """What a tape entry saves: ``args`` and ``ans``, with the large values its rules never read
    replaced by :class:`Stub` (the tape holds only what rules need)."""
    keeps = op.keeps
    if keeps is None:
        return args, ans
    keep_ans, unread = keeps
    if not keep_ans and (ans.size if type(ans) is np.ndarray else _size(ans)) >= LEAN_MIN_SIZE:
        ans = Stub(ans)
    if unread:  # usually one or two small arrays or numbers: look before copying ``args``
        for i in unread:
            a = args[i]
            kind = type(a)
            if kind is float or kind is int:  # a Python number is never stubbed
                continue
            if (a.size if kind is np.ndarray else _size(a)) >= LEAN_MIN_SIZE:
                return _stub_unread(args, unread), ans
    return args, ans


def _stub_unread(args: tuple | list, unread: tuple[int, ...]) -> tuple:
    # apart from lean(): a comprehension there would cost every call a closure cell
    return tuple(Stub(a) if j in unread and _size(a) >= LEAN_MIN_SIZE else a
                 for j, a in enumerate(args))  # fmt: skip


def _size(x: Any) -> int:
    """The element count of an array (or box); -1 for Python numbers, which are never stubbed."""
    if isinstance(x, Box):
        return x._element_count
    return getattr(x, "size", -1)


def raw(x: Any) -> Any:
    """The plain NumPy value under any number of boxes."""
    while isinstance(x, Box):
        x = x._value
    return x


def bind(op: Op, args: tuple | list, params: dict[str, Any]) -> Any:
    """Apply ``op`` to ``args``: the innermost transformation among them handles it."""
    top = None
    for a in args:
        if isinstance(a, Box):
            t = a._trace
            if top is None or t.level > top.level:
                top = t
    if top is None:
        if params and params_trace is not None:  # ad.compile records: a value among params?
            top = params_trace(params)
            if top is not None:
                return top.process(op, args, params)
        return op.primal(*args, **params)
    return top.process(op, args, params)


def bind2(op: Op, a: Any, b: Any, params: dict[str, Any]) -> Any:
    """:func:`bind` for two arguments, at least one of them a box (the engines' nested hot path:
    no tuple, and the trace's own ``process2``)."""
    if isinstance(a, Box):
        top = a._trace
        if isinstance(b, Box) and b._trace.level > top.level:
            top = b._trace
    else:
        top = b._trace
    return top.process2(op, a, b, params)


# Set by autodiff.compile while a recording runs: finds a recorded value among an op's
# parameters (a rule's mask or index), so the op is recorded even when no argument is a box.
params_trace: Any = None


# --------------------------------------------------------------------------------------------
# Shared helpers for the engines: applying rules, undoing broadcasting, symbolic zeros.
# --------------------------------------------------------------------------------------------


class MissingRuleError(NotImplementedError):
    """An op has no derivative rule for the requested mode."""


def missing_rule(op: Op, mode: str) -> MissingRuleError:
    kind = "JVP" if mode == "forward" else "VJP"
    return MissingRuleError(
        f"op '{op.name}' has no {kind} rule, so it cannot be differentiated in {mode} mode; "
        f"declare one with autodiff.registry.defop(..., {kind.lower()}=...) or use the other mode"
    )


def shape_of(x: Any) -> tuple[int, ...]:
    try:
        return x.shape
    except AttributeError:
        return np.shape(x)


def zeros_for(x: Any, batch_shape: tuple[int, ...] = ()) -> np.ndarray:
    """A concrete zero tangent/cotangent for ``x`` (the one helper that instantiates zeros)."""
    value = raw(x)
    dtype = value.dtype if hasattr(value, "dtype") else np.result_type(float)
    if not np.issubdtype(dtype, np.inexact):
        dtype = np.float64
    return zeros_like(value, batch_shape + shape_of(value), dtype)  # the primal's array type


def jvp_rule(
    op: Op, tangents: list, ans: Any, primals: list | tuple, params: dict, batch: int
) -> Any:
    """Tangent of ``op``'s output from its inputs' tangents (``None`` = symbolic zero)."""
    rules = op.jvp
    if rules is None:
        raise missing_rule(op, "forward")
    if batch:
        if not op.batchable:
            return _unbatched(jvp_rule, op, tangents, ans, primals, params)
        if op.elementwise:
            tangents = [None if t is None else _align_batched(t, x, ans, batch)
                        for t, x in zip(tangents, primals)]  # fmt: skip
    if op.jvp_whole:
        out = rules(tangents, ans, *primals, **params)
    else:
        out = None
        for t, rule in zip(tangents, rules):
            if t is None:
                continue
            if rule is None:
                raise missing_rule(op, "forward")
            c = rule(t, ans, *primals, **params) if params else rule(t, ans, *primals)
            if c is not None:  # a rule may return a symbolic zero
                out = c if out is None else out + c
    if out is None:
        return None
    shape = getattr(out, "shape", ())  # a hand-made Dual may hold Python floats
    want = getattr(ans, "shape", ())
    if batch:
        want = shape[:batch] + want
    if shape != want:
        out = anp.broadcast_to(out, want)
    return out


def broadcast_tangent(t: Any, ans: Any) -> Any:
    """An unbatched tangent spread to its output's shape (a rule may return a smaller one)."""
    return anp.broadcast_to(t, getattr(ans, "shape", ()))


def vjp_rule(
    op: Op, g: Any, ans: Any, primals: list | tuple, params: dict, needs: list, batch: int
) -> list:
    """Cotangents of ``op``'s inputs from the output's cotangent ``g`` (``None``: not needed)."""
    rules = op.vjp
    if rules is None:
        raise missing_rule(op, "reverse")
    if batch and not op.batchable:
        return _unbatched_vjp(op, g, ans, primals, params, needs)
    if op.vjp_whole:
        cts = list(rules(g, ans, *primals, **params))
        for i, need in enumerate(needs):
            if not need:
                cts[i] = None
    else:
        cts = [None] * len(primals)
        for i, need in enumerate(needs):
            if need:
                rule = rules[i]
                if rule is None:
                    raise missing_rule(op, "reverse")
                cts[i] = rule(g, ans, *primals, **params)
    for i, c in enumerate(cts):
        if c is not None:
            x = primals[i]
            if c.shape[batch:] != x.shape:
                c = cts[i] = unbroadcast(c, x.shape, batch)
            if c.dtype != x.dtype:
                cts[i] = cotangent_dtype(c, x)
    return cts


def cotangent_dtype(c: Any, x: Any) -> Any:
    """``c`` in ``x``'s dtype: a derivative has its input's dtype (a float32 input used with a
    float64 constant still gets a float32 gradient, as in PyTorch and JAX). A complex cotangent
    of a real input keeps its real part, as JAX does (the transpose of the embedding ℝ → ℂ)."""
    return cast(c, x.dtype)


def cast(v: Any, dtype: Any) -> Any:
    """``v`` as ``dtype``, a complex value cast to a real dtype keeping its real part without
    NumPy's ComplexWarning (the derivative of a cast; the primal cast warns, as NumPy does)."""
    dtype = np.dtype(dtype)
    if v.dtype.kind == "c" and dtype.kind != "c":
        v = anp.real(v)
        if v.dtype == dtype:
            return v
    return anp.astype(v, dtype)


def unbroadcast(c: Any, shape: tuple[int, ...], batch: int = 0) -> Any:
    """Sum a cotangent back to the shape of the input that NumPy broadcast (one place only)."""
    cshape = shape_of(c)
    lead = len(cshape) - batch - len(shape)
    axes = tuple(range(batch, batch + lead))
    axes += tuple(
        batch + lead + i for i, n in enumerate(shape) if n == 1 and cshape[batch + lead + i] != 1
    )
    if axes:
        c = anp.sum(c, axis=axes, keepdims=True)
    want = cshape[:batch] + shape
    if shape_of(c) != want:
        c = anp.reshape(c, want)
    return c


def _align_batched(t: Any, x: Any, ans: Any, batch: int) -> Any:
    """Put a batched tangent's batch axes in front of the broadcast output's axes."""
    missing = len(shape_of(ans)) - len(shape_of(x))
    if missing <= 0:
        return t
    tshape = shape_of(t)
    return anp.reshape(t, tshape[:batch] + (1,) * missing + tshape[batch:])


def _unbatched(rule_fn, op, tangents, ans, primals, params):
    """Fallback for ops whose rules cannot take a batch axis: one rule call per batch entry."""
    size = next(shape_of(t)[0] for t in tangents if t is not None)
    outs = []
    for k in range(size):
        tk = [None if t is None else t[k] for t in tangents]
        out = rule_fn(op, tk, ans, primals, params, 0)
        outs.append(zeros_for(ans) if out is None else out)
    return anp.stack(outs, axis=0)


def _unbatched_vjp(op, g, ans, primals, params, needs):
    size = shape_of(g)[0]
    per_arg: list[list] = [[] for _ in primals]
    for k in range(size):
        cts = vjp_rule(op, g[k], ans, primals, params, needs, 0)
        for i, c in enumerate(cts):
            if needs[i]:
                per_arg[i].append(zeros_for(primals[i]) if c is None else c)
    stack = anp.stack
    return [stack(cs, axis=0) if needs[i] else None for i, cs in enumerate(per_arg)]


class UnexpectedTracerError(TypeError):
    """A traced value was used after the transformation that traced it had returned."""


def _finished(self: Trace, op: Op, *args: Any) -> Any:
    kind = type(self).__mro__[1].__name__
    raise UnexpectedTracerError(
        f"op '{op.name}' got a value traced by a transformation that has already returned "
        f"(a {kind} of level {self.level}). A traced value must not escape the function being "
        "differentiated (into a global, a list, a closure): return it as an output instead"
    )


_FINISHED: dict[type, type] = {}


def retire(trace: Trace) -> None:
    """Mark ``trace`` finished: any op that later meets one of its boxes raises
    :class:`UnexpectedTracerError` (at no cost to the hot paths: the trace changes class)."""
    cls = type(trace)
    if cls in _FINISHED.values():
        return
    dead = _FINISHED.get(cls)
    if dead is None:
        body = {"__slots__": (), "process": _finished, "process1": _finished,
                "process2": _finished}  # fmt: skip
        dead = _FINISHED[cls] = type("Finished" + cls.__name__, (cls,), body)
    trace.__class__ = dead


def describe_output(out: Any) -> str:
    """What a function returned, in words, for the errors of the transformations."""
    if out is None:
        return "None (does the function lack a `return`?)"
    if isinstance(out, list):
        return "a list; return a tuple, or stack the values into one array with ad.stack"
    return f"a {type(out).__name__}"


def check_outputs(out: Any, who: str) -> tuple:
    """``out`` as a tuple of outputs, each an array, a box or a Python number; otherwise a
    clear error naming what the function returned."""
    outs = out if isinstance(out, tuple) else (out,)
    for o in outs:
        array_like = hasattr(o, "shape") and hasattr(o, "dtype")  # ndarray, dask, a box
        if not (array_like or isinstance(o, (int, float, complex))) or isinstance(o, bool):
            what = describe_output(o if isinstance(out, tuple) else out)
            where = " in its output tuple" if isinstance(out, tuple) else ""
            raise TypeError(
                f"{who} needs f to return an array or a tuple of arrays, but f returned {what}"
                f"{where}"
            )
    return outs


def check_float(x: Any, what: str) -> np.ndarray:
    """Turn an input into a floating-point (or complex) array, or say clearly why it cannot be
    one."""
    if isinstance(x, Box):
        return x
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(
            f"{what} must be a float array (or a complex one) or a Python number, got "
            f"{type(x).__name__} {x!r}"
        )
    try:  # a duck array (dask, CuPy, ...) stays itself: converting it would compute it
        arr = x if is_duck(x) else np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{what} could not be turned into an array: {exc}") from None
    if arr.dtype == object:
        raise TypeError(f"{what} must be a float array, got an object array ({type(x).__name__})")
    if not np.issubdtype(arr.dtype, np.inexact):
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            return np.asarray(float(x))
        raise TypeError(
            f"only floating point and complex inputs can be differentiated, but {what} has "
            f"dtype {arr.dtype}; convert it first, e.g. np.asarray(x, dtype=float)"
        )
    return arr


def is_complex(x: Any) -> bool:
    """Whether ``x`` (a plain value or a box) holds complex numbers."""
    return dtype_of(raw(x)).kind == "c"


def prod(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def _dtype_of(x: Any) -> np.dtype:
    return dtype_of(raw(x))


def check_complex_inputs(primals: Any, holomorphic: bool, who: str, mode: str) -> bool:
    """JAX's rules for complex inputs: with ``holomorphic=True`` every input must be complex;
    without it forward mode (``jacfwd``) refuses a complex input. Returns whether any input is
    complex."""
    dtypes = [_dtype_of(p) for p in primals]
    complex_in = any(d.kind == "c" for d in dtypes)
    if holomorphic:
        for d in dtypes:
            if d.kind != "c":
                raise TypeError(
                    f"{who} with holomorphic=True requires inputs with complex dtype, but got "
                    f"{d.name}; convert them, e.g. x.astype(complex)"
                )
    elif complex_in and mode == "forward":
        d = next(d for d in dtypes if d.kind == "c")
        raise TypeError(
            f"{who} requires real-valued inputs (a floating dtype), but got {d.name}. For "
            "holomorphic differentiation, pass holomorphic=True; for a non-holomorphic function "
            "of complex inputs, use ad.jvp directly, or ad.jacrev for a real-valued function"
        )
    return complex_in


def check_complex_outputs(out: Any, holomorphic: bool, who: str, mode: str) -> bool:
    """JAX's rules for complex outputs: with ``holomorphic=True`` every output must be complex;
    without it reverse mode (``grad``, ``jacrev``) refuses a complex output. Returns whether any
    output is complex."""
    outs = out if isinstance(out, tuple) else (out,)
    dtypes = [_dtype_of(o) for o in outs]
    complex_out = any(d.kind == "c" for d in dtypes)
    if holomorphic:
        for d in dtypes:
            if d.kind != "c":
                raise TypeError(
                    f"{who} with holomorphic=True requires outputs with complex dtype, but got "
                    f"{d.name}"
                )
    elif complex_out and mode != "forward":
        d = next(d for d in dtypes if d.kind == "c")
        raise TypeError(
            f"{who} requires real-valued outputs (a floating dtype), but got {d.name}. For "
            "holomorphic differentiation, pass holomorphic=True; for a non-holomorphic function "
            "with complex outputs, use ad.vjp directly (or ad.jacfwd, if the inputs are real)"
        )
    return complex_out


def refuse_complex(name: str, *values: Any) -> None:
    """Raise a clear error when an op whose rules are real-only meets complex values (never a
    silently wrong derivative)."""
    for v in values:
        dtype = getattr(raw(v), "dtype", None)
        if dtype is not None and dtype.kind == "c":
            raise TypeError(
                f"{name}: complex values are not differentiable with this op yet (its rules are "
                "written for real numbers); differentiate the real and imaginary parts "
                "separately, or call it on plain values"
            )


def real_only(name: str, rules: Any) -> tuple:
    """An op's rules guarded by :func:`refuse_complex` on their array arguments (for ops whose
    rules would give a wrong derivative for complex input). The guard reads only dtypes, which
    a lean tape's stubs keep, so what the tape saves is unchanged."""

    def guard(rule: Any) -> Any:
        if rule is None:
            return None

        def guarded(t: Any, ans: Any, *args: Any, **params: Any) -> Any:
            refuse_complex(name, *args)
            return rule(t, ans, *args, **params)

        guarded.reads_like = getattr(rule, "reads_like", (rule, 1))
        return guarded

    return tuple(guard(r) for r in rules)
