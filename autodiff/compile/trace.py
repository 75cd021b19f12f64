"""The recording trace of :func:`autodiff.compile`: runs a function once and writes its program.

The trace sits at a *lower* level than every transformation the function opens (``grad``,
``jvp``, ``hvp``...), so every primitive reaches :meth:`RecordTrace.process`: the forward values
and the computations of the JVP/VJP rules alike. It runs each one on real values and appends it
to the program.

Rules may also compute masks and indices with plain NumPy on ``raw(x)`` (constants for a
derivative, but not for a replay at another point). So the value under a recording box is a
:class:`Tracked` array, an ``ndarray`` subclass whose NumPy calls are recorded as well, and whose
conversions to Python values (``bool``, ``float``, ``int``, ``.item()``) become guards.
"""

from __future__ import annotations

import operator
import sys
import threading
from typing import Any

import numpy as np

from autodiff import core
from autodiff.compile import inplace
from autodiff.compile.program import Instr, Program, Var, uses
from autodiff.core import EMPTY, Box, Trace
from autodiff.registry import Op


class CompileError(RuntimeError):
    """The function cannot be compiled: replaying it would not do what calling it does."""


_state = threading.local()
_asarray = np.asarray  # NumPy's own, also while a recording follows np.asarray


def active() -> Recorder | None:
    return getattr(_state, "recorder", None)


# NumPy functions whose output shape depends on the values: a replay could not keep it.
DATA_SHAPED = {
    np.nonzero, np.argwhere, np.flatnonzero, np.unique, np.extract, np.compress,
    np.trim_zeros,
}  # fmt: skip
# NumPy functions that only read shapes and dtypes: their answer is fixed by the signature.
SHAPE_ONLY = {
    np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj, np.isrealobj,
    np.may_share_memory, np.shares_memory, np.min_scalar_type,
}  # fmt: skip


class Recorder:
    """Everything one recording holds: the instructions, the values, the guards."""

    def __init__(self, entry_code: Any, notes: bool = False) -> None:
        self.trace = RecordTrace(self)
        self.notes = notes  # write each line's origin (slow: it walks the call stack)
        self.instrs: list[Instr] = []
        self.values: dict[int, Any] = {}  # variable -> its plain value, as eager code had it
        self.by_id: dict[int, int] = {}  # id(plain value) -> variable, for values met unwrapped
        self.count = 0
        self.entry_code = entry_code
        self.inputs: list[int] = []
        self.mutated: set[int] = set()  # variables whose recorded value was later written into
        self.busy = False  # running a primal on plain values: NumPy calls inside are not ours
        self.fresh: dict[int, np.ndarray] = {}  # arrays created during the recording, by id

    # -- variables -------------------------------------------------------------------------
    def new_var(self, value: Any) -> int:
        n = self.count
        self.count += 1
        self.values[n] = value
        if isinstance(value, np.ndarray):
            self.by_id[id(value)] = n
        return n

    def box(self, n: int) -> RecordBox:
        return RecordBox(self.values[n], n, self.trace)

    def input(self, value: Any) -> RecordBox:
        n = self.new_var(value)
        self.inputs.append(n)
        return self.box(n)

    def ref(self, a: Any) -> tuple[Any, Any]:
        """An argument as (plain value, Var or constant)."""
        kind = type(a)
        if kind is float or kind is int:
            return a, a
        if kind is RecordBox:
            if a._trace is not self.trace:
                raise _stale()
            return a._plain, a._ref
        if kind is Tracked:
            n = a.__dict__.get("_var")
            if n is None or a.__dict__.get("_rec") is not self:
                raise CompileError(
                    "ad.compile: a value was derived from a recorded array by an ndarray method "
                    "that the recording does not follow (the replay could not recompute it); "
                    "use the NumPy function instead (np.reshape(x, ...) rather than "
                    "x.reshape(...)) on raw values"
                )
            return self.values[n], Var(n)
        if isinstance(a, Box):
            raise CompileError(
                f"ad.compile: met a {kind.__name__} from outside the recording (the Tensor facade "
                "or a transformation opened before the compiled function ran). Inside a compiled "
                "function use the functional transforms (ad.grad, ad.vjp, ad.jvp, ...); Tensor "
                "and .backward() are not supported there"
            )
        if kind is np.ndarray:
            n = self.by_id.get(id(a))
            if n is not None and self.values[n] is a:
                return a, Var(n)
            base = a.base
            while base is not None:
                if type(base) is Tracked:
                    return a, _view_of(a, base)
                base = getattr(base, "base", None)
            return a, a
        if isinstance(a, (tuple, list)) and a:
            pairs = [self.ref(x) for x in a]
            if any(p is not x or r is not x for x, (p, r) in zip(a, pairs)):
                return type(a)(p for p, _ in pairs), type(a)(r for _, r in pairs)
            return a, a
        if isinstance(a, slice):
            parts = [self.ref(x) for x in (a.start, a.stop, a.step)]
            if any(type(r) is Var for _, r in parts):
                raise CompileError("ad.compile: a slice bound computed from a recorded value")
        return a, a

    def refs_kwargs(self, kwargs: dict) -> tuple[dict, dict]:
        if not kwargs:
            return kwargs, kwargs
        plain, refs = {}, {}
        for k, v in kwargs.items():
            plain[k], refs[k] = self.ref(v)
        return plain, refs

    # -- instructions ----------------------------------------------------------------------
    def emit(self, kind: str, fn: Any, args: Any, kwargs: dict, value: Any, op: Op | None) -> int:
        n = self.count  # new_var(), inlined: this runs once per primitive
        self.count = n + 1
        self.values[n] = value
        if isinstance(value, np.ndarray):
            self.by_id[id(value)] = n
        note = origin(self.entry_code) if self.notes else None
        instrs = self.instrs
        args = args if type(args) is tuple else tuple(args)
        instrs.append(Instr(kind, fn, args, kwargs, n, op, note, None, -1, len(instrs)))
        return n

    def guard(self, check: str, n: int, seen: Any) -> None:
        note = origin(self.entry_code) if self.notes else None
        self.instrs.append(Instr("guard", check, (Var(n),), {}, -1, None, note, expect=seen,
                                 seq=len(self.instrs)))  # fmt: skip

    def depends_on_inputs(self, n: int) -> bool:
        """Is variable ``n`` computed from the function's inputs (not from constants only)?"""
        made = {ins.out: ins for ins in self.instrs if ins.out >= 0}
        inputs, seen, stack = set(self.inputs), set(), [n]
        while stack:
            m = stack.pop()
            if m in inputs:
                return True
            if m not in seen:
                seen.add(m)
                ins = made.get(m)
                if ins is not None:
                    stack.extend(uses(ins))
        return False

    def program(self, outputs: list[Any]) -> Program:
        return Program(list(self.inputs), self.instrs, outputs, self.values,
                       mutated=self.mutated, fresh=self.fresh)  # fmt: skip

    def output(self, leaf: Any) -> Any:
        """An output leaf as a Var, or a constant."""
        if isinstance(leaf, Box) or type(leaf) is Tracked:
            return self.ref(leaf)[1]
        if isinstance(leaf, np.ndarray):
            return self.ref(leaf)[1]
        return leaf


def _view_of(a: np.ndarray, t: Tracked) -> Var:
    """``np.asarray(raw(x))`` is the recorded value itself seen as an ndarray: its variable."""
    n = t.__dict__.get("_var")
    same = (a.shape == t.shape and a.dtype == t.dtype and a.strides == t.strides
            and a.__array_interface__["data"][0] == t.__array_interface__["data"][0])  # fmt: skip
    if n is None or not same:
        raise CompileError(
            "ad.compile: an array viewing part of a recorded value was made by np.asarray or "
            "np.array (with another dtype or shape), which the recording cannot follow; compute "
            "it with NumPy functions on the value itself"
        )
    return Var(n)


def _stale() -> CompileError:
    return CompileError(
        "ad.compile: a value recorded by another call of a compiled function was used (it "
        "escaped into a global, a list or a closure); return it as an output instead"
    )


class RecordTrace(Trace):
    """The recording level: executes every primitive on real values and writes it down."""

    __slots__ = ("rec",)

    def __init__(self, rec: Recorder) -> None:
        super().__init__()
        self.rec = rec

    def process(self, op: Op, args: tuple | list, params: dict[str, Any]) -> Any:
        if len(args) == 2:  # bind() from a higher level's hot path: mostly two arguments
            return self.process2(op, args[0], args[1], params)
        ref = self.rec.ref
        plain, refs = [], []
        for a in args:
            p, r = ref(a)
            plain.append(p)
            refs.append(r)
        return self.run(op, plain, refs, params)

    # One and two arguments, most calls: the same as process, without the loop.
    def process1(self, op: Op, a: Any, params: dict[str, Any] = EMPTY) -> Any:
        if type(a) is RecordBox and a._trace is self:
            return self.run(op, (a._plain,), (a._ref,), params)
        p, r = self.rec.ref(a)
        return self.run(op, (p,), (r,), params)

    def process2(self, op: Op, a: Any, b: Any, params: dict[str, Any] = EMPTY) -> Any:
        if type(a) is RecordBox and a._trace is self:
            pa, ra = a._plain, a._ref
        else:
            pa, ra = self.rec.ref(a)
        if type(b) is RecordBox and b._trace is self:
            pb, rb = b._plain, b._ref
        else:
            pb, rb = self.rec.ref(b)
        return self.run(op, (pa, pb), (ra, rb), params)

    def run(self, op: Op, plain: Any, refs: Any, params: dict[str, Any]) -> RecordBox:
        """Run ``op`` on the plain values, write the line, box the answer."""
        rec = self.rec
        if params:
            pparams, rparams = rec.refs_kwargs(params)
            if op.name == "getitem" and "index" in rparams:
                rparams = {**rparams, "index": _constant_masks(rec, pparams["index"],
                                                               rparams["index"])}  # fmt: skip
        else:
            pparams = rparams = params
        rec.busy = True
        try:
            ans = op.primal(*plain, **pparams) if pparams else op.primal(*plain)
        finally:
            rec.busy = False
        if isinstance(ans, tuple):  # (a namedtuple too)
            raise CompileError(
                f"ad.compile: op '{op.name}' returns several arrays, which the recording does "
                "not support yet; compute it outside the compiled function"
            )
        return RecordBox(ans, rec.emit("op", op.primal, refs, rparams, ans, op), self)


def _constant_masks(rec: Recorder, plain: Any, ref: Any) -> Any:
    """An index's refs, with each boolean mask made a constant (see :func:`_constant_mask`)."""
    items = plain if isinstance(plain, tuple) else (plain,)
    refs = ref if isinstance(ref, tuple) else (ref,)
    fixed = [_constant_mask(rec, r.n, p) if type(r) is Var and getattr(p, "dtype", None) == np.bool_
             else r for p, r in zip(items, refs)]  # fmt: skip
    return tuple(fixed) if isinstance(ref, tuple) else fixed[0]


def _frozen_masks(rec: Recorder, index: Any) -> Any:
    """``index`` with each tracked boolean mask made a constant (see :func:`_constant_mask`)."""
    items = index if isinstance(index, tuple) else (index,)
    fixed = [_constant_mask(rec, i.__dict__.get("_var"), i)
             if type(i) is Tracked and i.dtype == np.bool_ else i for i in items]  # fmt: skip
    return tuple(fixed) if isinstance(index, tuple) else fixed[0]


def _constant_mask(rec: Recorder, n: int | None, mask: Any) -> np.ndarray:
    """A boolean mask (variable ``n``) as a plain copy: one computed from constants only
    (``m = np.zeros(3, bool); m[1] = True``) is the same on every call; one computed from the
    inputs would give a result whose shape depends on their values, which is an error."""
    if n is None or rec.depends_on_inputs(n):
        raise _data_shaped_mask()
    return np.ndarray.copy(np.ndarray.view(mask, np.ndarray))


def _data_shaped_mask() -> CompileError:
    return CompileError(
        "ad.compile: indexing with a boolean mask computed from the inputs gives a result "
        "whose shape depends on the values (a data-dependent output shape), which a replay "
        "cannot keep; use ad.where(mask, x, 0) instead"
    )


class RecordBox(Box):
    """A value of the recording level: a plain value (as eager code would have it) and its
    variable number. ``raw()`` of it is a :class:`Tracked` view, so NumPy work on it is recorded.

    The view is made when first asked for: most values only pass from one op to the next, and
    a view costs as much as the op. Shapes and dtypes are read from the plain value."""

    __slots__ = ("_plain", "_ref", "_trace", "_tracked", "_var")

    def __init__(self, plain: Any, n: int, trace: RecordTrace) -> None:
        self._plain = plain
        self._tracked = None
        self._var = n
        self._ref = Var(n)
        self._trace = trace

    @property
    def _value(self) -> Tracked:
        t = self._tracked
        if t is None:
            t = self._tracked = track(self._plain, self._var, self._trace.rec)
            t.__dict__["_boxed"] = True  # a value higher levels see: never written in place
        return t

    @property
    def shape(self) -> tuple[int, ...]:
        try:
            return self._plain.shape
        except AttributeError:  # a Python number
            return ()

    @property
    def dtype(self) -> np.dtype:
        try:
            return self._plain.dtype
        except AttributeError:  # a Python number
            return _asarray(self._plain).dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        p = self._plain
        return p.size if hasattr(p, "size") else 1

    _element_count = size

    def __float__(self) -> float:
        return float(self._value)

    def __int__(self) -> int:
        return int(self._value)

    def __index__(self) -> int:
        return self._value.__index__()

    def __complex__(self) -> complex:
        return complex(self._value)

    def item(self, *args: Any) -> Any:
        return self._value.item(*args)

    def tolist(self) -> Any:
        return self._value.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise CompileError(
            "ad.compile: NumPy asked a recorded value for a plain array (np.asarray, np.array, "
            "writing it into an array, or a function that converts its input); the replay "
            "could not follow it. Use autodiff/NumPy functions on the value itself"
        )

    def __repr__(self) -> str:
        return f"RecordBox({np.ndarray.view(self._value, np.ndarray)!r})"


# --------------------------------------------------------------------------------------------
# Tracked arrays: the raw values under recording boxes, whose NumPy calls are recorded too
# --------------------------------------------------------------------------------------------


def track(value: Any, n: int, rec: Recorder) -> Tracked:
    t = _asarray(value).view(Tracked)
    d = t.__dict__
    d["_var"] = n
    d["_rec"] = rec
    return t


def _plain_arg(rec: Recorder, a: Any) -> tuple[Any, Any]:
    if isinstance(a, (tuple, list)) and a:
        pairs = [_plain_arg(rec, x) for x in a]
        return type(a)(p for p, _ in pairs), type(a)(r for _, r in pairs)
    return rec.ref(a)


def _record_call(kind: str, fn: Any, args: tuple, kwargs: dict, name: str) -> Any:
    rec = active()
    if rec is None:  # a tracked array that escaped its recording: plain NumPy
        if kind == "method":
            return getattr(_unwrap(args[0]), fn)(*_unwrap(args[1:]), **kwargs)
        return fn(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()})
    if kwargs.get("out") is not None:
        out = kwargs.pop("out")
        target = out[0] if isinstance(out, tuple) and len(out) == 1 else out
        return write(rec, inplace.ufunc_into, fn, target, args, kwargs, name)
    pargs, rargs = _plain_arg(rec, args)
    pkw, rkw = {}, {}
    for k, v in kwargs.items():
        pkw[k], rkw[k] = _plain_arg(rec, v)
    rec.busy = True
    try:
        ans = fn(*pargs, **pkw) if kind != "method" else getattr(pargs[0], fn)(*pargs[1:], **pkw)
    finally:
        rec.busy = False
    if isinstance(ans, tuple):  # np.linalg.eigh and the like: the tuple, then its items
        whole = rec.emit(kind, fn, rargs, rkw, ans, None)
        items = []
        for i, a in enumerate(ans):
            items.append(
                track(a, rec.emit("np", operator.getitem, (Var(whole), i), {}, a, None), rec)
            )
        return type(ans)(*items) if hasattr(ans, "_fields") else type(ans)(items)
    n = rec.emit(kind, fn, rargs, rkw, ans, None)
    if isinstance(ans, (np.ndarray, np.generic, bool, int, float, complex)):
        return track(ans, n, rec)
    raise CompileError(f"ad.compile: {name} on a recorded value returned a {type(ans).__name__}")


def write(rec: Recorder, via: Any, fn: Any, target: Any, args: tuple, kwargs: dict,
          name: str) -> Any:  # fmt: skip
    """An in-place write seen during a recording: recorded as a new variable (a written copy),
    done for real on the target (eager code may read it again), and the target now stands for
    the new variable."""
    if type(target) is Tracked:
        d = target.__dict__
        if d.get("_boxed") or d.get("_rec") is not rec or d.get("_var") is None:
            raise CompileError(
                f"ad.compile: {name} writes into a value the function computed (or was given); "
                "a compiled function must not change arrays in place. Build a new array instead "
                "(ad.where, ad.concatenate)"
            )
        old = d["_var"]
        before: Any = Var(old)
        buffer = rec.values[old]
    elif type(target) is np.ndarray and target.base is None:
        n = rec.by_id.get(id(target))
        old = n if n is not None and rec.values[n] is target else None
        before = Var(old) if old is not None else _detach(rec, target)
        buffer = target
    else:
        raise CompileError(
            f"ad.compile: {name} writes into an array that is not the function's own temporary "
            "(an argument, a captured array, or a view); a replay would not repeat that side "
            "effect. Build a new array instead"
        )
    if old is not None:
        rec.mutated.add(old)
    pargs, rargs = _plain_arg(rec, args)
    pkw, rkw = {}, {}
    for k, v in kwargs.items():
        pkw[k], rkw[k] = _plain_arg(rec, v)
    if type(before) is not Var:  # the target read as an input: its value before the write
        rargs = tuple(before if r is buffer else r for r in rargs)
    if via is None:  # setitem
        buffer[pargs[0]] = pargs[1]
        call_args = (before, *rargs)
    elif via is inplace.ufunc_into:
        fn(*pargs, out=buffer, **pkw)
        call_args = (fn, before, *rargs)
    else:
        fn(buffer, *pargs, **pkw)
        call_args = (fn, before, *rargs)
    n = rec.emit("np", via or fn, call_args, rkw, buffer, None)
    rec.values[n] = buffer
    rec.by_id[id(buffer)] = n
    if type(target) is Tracked:
        target.__dict__["_var"] = n
    return target if via is inplace.ufunc_into else None


def _detach(rec: Recorder, target: np.ndarray) -> np.ndarray:
    """A plain array about to be written into: its value before the write, as a constant (and
    the lines recorded so far that hold the array itself now hold that copy)."""
    before = target.copy()
    for ins in rec.instrs:
        if any(a is target for a in ins.args) or any(v is target for v in ins.kwargs.values()):
            ins.args = tuple(before if a is target else a for a in ins.args)
            ins.kwargs = {k: before if v is target else v for k, v in ins.kwargs.items()}
    return before


def _has_box(xs: Any) -> bool:
    return any(isinstance(x, Box) or (isinstance(x, (list, tuple)) and _has_box(x)) for x in xs)


def _unwrap(x: Any) -> Any:
    if type(x) is Tracked:
        return np.ndarray.view(x, np.ndarray)
    if isinstance(x, (tuple, list)):
        return type(x)(_unwrap(y) for y in x)
    return x


class Tracked(np.ndarray):
    """The plain value under a recording box: NumPy calls on it are recorded."""

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if _has_box(inputs):
            return NotImplemented  # a box of a transformation: its dispatch goes first
        if method == "at" and active() is not None:  # np.add.at(target, index, values)
            rec = active()
            return write(rec, inplace.written, ufunc.at, inputs[0], inputs[1:],
                         kwargs, f"np.{ufunc.__name__}.at")  # fmt: skip
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        name = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        return _record_call("np", fn, inputs, kwargs, name)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if _has_box(args) or _has_box(tuple(kwargs.values())):
            return NotImplemented  # a box of a transformation: its dispatch goes first
        name = f"np.{func.__name__}"
        if func in SHAPE_ONLY:
            return func(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()})
        if func in DATA_SHAPED:
            raise CompileError(
                f"ad.compile: {name} on a computed value gives a result whose shape depends on "
                "the values (a data-dependent output shape), which a replay cannot keep"
            )
        if func in inplace.FUNCTIONS:
            rec = active()
            if rec is not None:
                return write(rec, inplace.written, func, args[0], args[1:], kwargs, name)
        return _record_call("np", func, args, kwargs, name)

    # ndarray methods that do not go through NumPy's dispatch: recorded as methods
    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, Tracked) or (
            isinstance(index, tuple) and any(type(i) is Tracked for i in index)
        ):
            rec = active()
            if rec is not None:
                index = _frozen_masks(rec, index)
        return _record_call("method", "__getitem__", (self, index), {}, "ndarray[...]")

    def __setitem__(self, index: Any, value: Any) -> None:
        rec = active()
        if rec is None:
            np.ndarray.view(self, np.ndarray)[index] = _unwrap(value)
            return
        write(rec, None, inplace.setitem, self, (index, value), {}, "ndarray[...] =")

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        for i in range(len(self)):
            yield self[i]

    def astype(self, dtype: Any, *args: Any, **kwargs: Any) -> Any:
        return _record_call("method", "astype", (self, dtype, *args), kwargs, "ndarray.astype")

    def reshape(self, *shape: Any, **kwargs: Any) -> Any:
        return _record_call("method", "reshape", (self, *shape), kwargs, "ndarray.reshape")

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        return _record_call("method", "copy", (self, *args), kwargs, "ndarray.copy")

    def ravel(self, *args: Any, **kwargs: Any) -> Any:
        return _record_call("method", "ravel", (self, *args), kwargs, "ndarray.ravel")

    def transpose(self, *args: Any) -> Any:
        return _record_call("method", "transpose", (self, *args), {}, "ndarray.transpose")

    @property
    def T(self) -> Any:
        return self.transpose()

    def _guard(self, check: str, value: Any) -> Any:
        rec = self.__dict__.get("_rec")
        if rec is not None and rec is active():
            rec.guard(check, self.__dict__["_var"], value)
        return value

    def __bool__(self) -> bool:
        return self._guard("bool", bool(np.ndarray.view(self, np.ndarray)))

    def __float__(self) -> float:
        return self._guard("float", float(np.ndarray.view(self, np.ndarray)))

    def __int__(self) -> int:
        return self._guard("int", int(np.ndarray.view(self, np.ndarray)))

    def __index__(self) -> int:
        return self._guard("int", np.ndarray.view(self, np.ndarray).__index__())

    def __complex__(self) -> complex:
        return self._guard("complex", complex(np.ndarray.view(self, np.ndarray)))

    def item(self, *args: Any) -> Any:
        if args:
            return self[args if len(args) > 1 else args[0]].item()
        return self._guard("item", np.ndarray.view(self, np.ndarray).item())

    def tolist(self) -> Any:
        return self._guard("tolist", np.ndarray.view(self, np.ndarray).tolist())

    def __repr__(self) -> str:
        return repr(np.ndarray.view(self, np.ndarray))

    def __str__(self) -> str:
        return str(np.ndarray.view(self, np.ndarray))


def _method(name: str) -> Any:
    def method(self: Tracked, *args: Any, **kwargs: Any) -> Any:
        return _record_call("method", name, (self, *args), kwargs, f"ndarray.{name}")

    method.__name__ = name
    return method


def _inplace_method(name: str) -> Any:
    def method(self: Tracked, *args: Any, **kwargs: Any) -> None:
        rec = active()
        if rec is None:
            getattr(np.ndarray.view(self, np.ndarray), name)(*args, **kwargs)
            return
        write(rec, inplace.written, getattr(np.ndarray, name), self, args, kwargs,
              f"ndarray.{name}")  # fmt: skip

    method.__name__ = name
    return method


# ndarray methods that do not go through NumPy's dispatch: recorded one by one
for _name in ("argmax", "argmin", "argsort", "max", "min", "sum", "mean", "prod", "any", "all",
              "cumsum", "cumprod", "clip", "dot", "take", "repeat", "squeeze", "swapaxes",
              "diagonal", "flatten", "round", "conj", "std", "var", "searchsorted", "view",
              "argpartition", "trace", "compress"):  # fmt: skip
    setattr(Tracked, _name, _method(_name))
for _name in ("sort", "fill", "put", "partition", "itemset"):
    setattr(Tracked, _name, _inplace_method(_name))


def _no_data_shape(self: Tracked, *args: Any, **kwargs: Any) -> Any:
    raise CompileError(
        "ad.compile: nonzero() of a computed value gives a result whose shape depends on the "
        "values (a data-dependent output shape), which a replay cannot keep"
    )


Tracked.nonzero = _no_data_shape


# --------------------------------------------------------------------------------------------
# Conversions NumPy does in C without asking the array: followed while a recording runs
# --------------------------------------------------------------------------------------------

CONVERTERS = ("asarray", "array", "ascontiguousarray", "asfortranarray", "require")
_patch_lock = threading.Lock()
_patch_count = [0]
_originals: dict[str, Any] = {}


def _holds_tracked(a: Any) -> bool:
    if type(a) is Tracked or type(a) is RecordBox:
        return True
    if type(a) is np.ndarray:  # a plain array the recording wrote into stands for a variable
        rec = active()
        n = rec.by_id.get(id(a)) if rec is not None else None
        return n is not None and rec.values[n] is a
    if isinstance(a, (list, tuple)):
        return any(_holds_tracked(x) for x in a)
    return False


def _converter(name: str, original: Any) -> Any:
    def convert(a: Any, *args: Any, **kwargs: Any) -> Any:
        rec = active()
        if rec is not None and not rec.busy and _holds_tracked(a):
            return _record_call("np", original, (a, *args), kwargs, f"np.{name}")
        out = original(a, *args, **kwargs)
        if rec is not None and out is not a:
            rec.fresh[id(out)] = out
        return out

    convert.__name__ = convert.__qualname__ = name
    convert.__wrapped__ = original
    return convert


# NumPy's array creations: an array made while a recording runs belongs to the function (a seed,
# a basis vector), so a replay may fold what is computed from it; an array from outside (a
# captured weight) may change between calls, so what is computed from it is computed each time.
CREATORS = ("zeros", "ones", "empty", "full", "eye", "identity", "arange", "linspace",
            "zeros_like", "ones_like", "empty_like", "full_like")  # fmt: skip


def _creator(name: str, original: Any) -> Any:
    def create(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        rec = active()
        if rec is None or type(out) is not np.ndarray:
            return out
        rec.fresh[id(out)] = out
        if rec.busy:  # inside a primal: the primal is the line, its temporaries are not
            return out
        # A value of the program (its line folds to a constant unless something writes into
        # it): as a plain array, a write into it followed by plain arithmetic (a rule's
        # zeros, np.add.at, then `+`) would escape the recording and be replayed as a constant.
        n = rec.by_id.get(id(out))
        if n is None or rec.values[n] is not out:
            refs = _plain_arg(rec, args)[1]
            kwrefs = {k: _plain_arg(rec, v)[1] for k, v in kwargs.items()}
            n = rec.emit("np", original, refs, kwrefs, out, None)
        return track(out, n, rec)

    create.__name__ = create.__qualname__ = name
    create.__wrapped__ = original
    return create


def _params_trace(params: dict) -> RecordTrace | None:
    """For :func:`autodiff.core.bind`: the recording, when a recorded value is among an op's
    parameters while no argument is a box (a rule indexing a cotangent with a recorded mask)."""
    rec = active()
    if rec is None or rec.busy:
        return None
    for v in params.values():
        if _holds_tracked(v):
            return rec.trace
    return None


def follow_conversions() -> None:
    """While a recording runs, ``np.asarray(raw(x), dtype=...)`` and the like are recorded too
    (NumPy converts arrays in C, without a hook an ndarray subclass could use)."""
    with _patch_lock:
        if _patch_count[0] == 0:
            for name in CONVERTERS:
                original = getattr(np, name)
                _originals[name] = original
                setattr(np, name, _converter(name, original))
            for name in CREATORS:
                original = getattr(np, name)
                _originals[name] = original
                setattr(np, name, _creator(name, original))
            core.params_trace = _params_trace
        _patch_count[0] += 1


def stop_following() -> None:
    with _patch_lock:
        _patch_count[0] -= 1
        if _patch_count[0] == 0:
            for name, original in _originals.items():
                setattr(np, name, original)
            core.params_trace = None


# --------------------------------------------------------------------------------------------
# Where a line came from: the forward computation, or which JVP/VJP rule
# --------------------------------------------------------------------------------------------

_PRIMAL = {"bind", "process", "process1", "process2"}  # an engine computing a value, no rule
_OPERATORS = {"method", "__add__", "__radd__"}  # Box operators: a sum of tangents or cotangents
_HELPERS = {"unbroadcast", "cotangent_dtype", "broadcast_tangent", "_align_batched"}
_ENGINE_CODES: dict[Any, str] = {}


def _engine_codes() -> dict[Any, str]:
    """The code objects of the engines' rule-applying functions, and their kind (JVP or VJP)."""
    if not _ENGINE_CODES:
        from autodiff import core, forward, reverse

        F = forward.ForwardTrace
        for fn, kind in [(F.process, "JVP"), (F.process1, "JVP"), (F.process2, "JVP"),
                         (core.jvp_rule, "JVP"), (core._unbatched, "JVP"),
                         (reverse.backward_sweep, "VJP"), (core.vjp_rule, "VJP"),
                         (core._unbatched_vjp, "VJP")]:  # fmt: skip
            _ENGINE_CODES[fn.__code__] = kind
    return _ENGINE_CODES


_RULE_OPS: dict[Any, str | None] = {}  # a rule's code object -> its op (None: shared code)


def _rule_ops() -> dict[Any, str | None]:
    """Which op a rule's code belongs to, read from the registry (so that the call stack tells
    the op without reading an engine frame's locals, which is slow)."""
    from autodiff.registry import ops

    table: dict[Any, str | None] = {}
    for op in ops():
        for rules in (op.jvp, op.vjp):
            for rule in rules if isinstance(rules, tuple) else (rules,):
                code = getattr(rule, "__code__", None)
                if code is None:
                    continue
                d = getattr(rule, "reads_like", None)  # a rule derived from a partial
                key = getattr(d[0], "__code__", None) if d else code
                table[key] = op.name if table.get(key, op.name) == op.name else None
    _RULE_OPS.update(table)
    _RULE_OPS[None] = None
    return _RULE_OPS


def _op_name(engine: Any, rule_frame: Any) -> str | None:
    """The op whose rule ``rule_frame`` runs, called from the engine frame ``engine``."""
    rules = _RULE_OPS or _rule_ops()
    code = rule_frame.f_code
    name = rules.get(code)
    if name is None and code.co_name == "rule":  # derived from a partial: the partial says
        d = rule_frame.f_locals.get("d")
        name = rules.get(getattr(d, "__code__", None))
    if name is None:
        local = engine.f_locals
        op = local.get("op") or getattr(local.get("node"), "op", None)
        name = getattr(op, "name", None)
    return name


def origin(entry_code: Any) -> str:
    """Which rule is running (read from the call stack), e.g. ``"VJP of sin"``; ``"forward"``
    for the function's own computation."""
    engines = _ENGINE_CODES or _engine_codes()
    f = sys._getframe(3)
    child = None
    parts: list[str] = []
    while f is not None:
        code = f.f_code
        if code is entry_code:
            break
        kind = engines.get(code)
        if kind is not None and child is not None:
            name = child.f_code.co_name
            if name in _OPERATORS:
                parts.append("sum of cotangents" if kind == "VJP" else "sum of tangents")
            elif name not in _PRIMAL:
                op = _op_name(f, child)
                if op is not None and not (parts and parts[-1] == f"{kind} of {op}"):
                    parts.append(f"{kind} of {op}: {name}" if name in _HELPERS
                                 else f"{kind} of {op}")  # fmt: skip
        child = f
        f = f.f_back
    if not parts:
        return "forward"
    return " in ".join(parts)
