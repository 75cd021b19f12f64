"""``ad.compile(f)``: record a function once (derivatives included), replay it as plain NumPy.

The first call for a *signature* (the pytree structure of the arguments, the shapes and dtypes of
their arrays, the types of Python floats and the values of Python ints, bools and strings) runs
``f`` under a recording trace, with real values, and returns its real result. Everything ``f``
does, including the rules of the transforms it calls (``ad.grad``, ``ad.jvp``, ``ad.hvp``,
``ad.jacrev``...), becomes a flat program of NumPy calls. Later calls replay the program: no
tracing, no dispatch, no boxes. ``.source`` shows it as readable NumPy code.

Python decisions on values (``if np.sum(x) > 0``, ``float(x)``, ``int(x)``, ``bool(x)``) become
*guards*: a replay checks them, and when one fails the function is recorded again for that path.
Arrays ``f`` reads from outside (globals, closures) are constants of the recording, as in
``jax.jit``: pass arrays that change between calls as arguments.

Examples:
    >>> import numpy as np, autodiff as ad
    >>> g = ad.compile(ad.grad(lambda x: np.sum(np.sin(x) * x)))
    >>> x = np.array([0.5, 1.0])
    >>> np.allclose(g(x), np.cos(x) * x + np.sin(x))     # recorded
    True
    >>> np.allclose(g(2 * x), np.cos(2 * x) * 2 * x + np.sin(2 * x))   # replayed
    True
"""

from __future__ import annotations

import functools
import gc
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from autodiff import tree
from autodiff.compile import effects
from autodiff.compile.floats import fast_function
from autodiff.compile.optimize import optimize, plan_buffers
from autodiff.compile.program import Program, Var
from autodiff.compile.source import Retrace, readable, replay_function
from autodiff.compile.trace import (
    CompileError,
    RecordBox,
    Recorder,
    Tracked,
    _state,
    active,
    follow_conversions,
    stop_following,
)
from autodiff.core import Box, retire

__all__ = ["CompileError", "CompileWarning", "Compiled", "compile"]


class CompileWarning(UserWarning):
    """A compiled function records new versions too often (its cache churns)."""


class Specialization:
    """One recorded path of a function for one signature: its program and its replay.

    The program is optimised and turned into code on its first replay (or when ``.source`` is
    read), so that a first call pays only for the recording.
    """

    def __init__(self, prog: Program, out_def: Any, identity: list, name: str) -> None:
        self.program = prog
        self.out_def = out_def
        self.identity = identity  # per output: what the eager result was (see _identity)
        self.name = name
        self._run: Callable[..., tuple] | None = None
        self._copies: list[bool] | None = None
        self.replays = 0
        # recomputes each line's origin for .source (set by Compiled; see Specialization.source)
        self.annotate: Callable[[], list[tuple[str, Any, str]]] | None = None

    def run(self, inputs: list) -> Any:
        fn = self._run
        if fn is None:
            fn = self._run = self.build()
        leaves = fn(*inputs)
        self.replays += 1
        if self.out_def.is_leaf:
            return leaves[0]
        return tree.unflatten(self.out_def, leaves)

    @property
    def copies(self) -> list[bool]:
        if self._copies is None:
            self.program = optimize(self.program)
            self._copies = _copies(self.program, self.identity)
            plan_buffers(self.program)
        return self._copies

    def build(self) -> Callable[..., tuple]:
        copies = self.copies
        fast = fast_function(self.program, copies)
        return replay_function(self.program, copies) if fast is None else fast

    @property
    def source(self) -> str:
        """The program as readable NumPy code, each line commented with the op it runs and
        where it came from (``forward``, ``VJP of sin``...).

        Reading where a line came from walks the call stack, which would cost a first call more
        than the recording itself; so the recording leaves it out, and the first read of
        ``source`` records the function once more, on the arguments of its first call, with the
        walk on. A line whose second recording differs (the function changed its path, or an
        argument was changed in place since) says so.
        """
        self._annotate()
        doc = (
            f"{self.name}, as recorded by ad.compile: one line per primitive.\n"
            f"Inputs: {', '.join(f'x{i}' for i in range(len(self.program.inputs))) or 'none'} "
            "(the array leaves of the arguments, in pytree order)."
        )
        text, _ = readable(self.program, self.copies, doc)
        return text

    @property
    def constants(self) -> dict[str, Any]:
        """The constants too big to write into :attr:`source`, by name (keyword arguments)."""
        return readable(self.program, self.copies)[1]

    def _annotate(self) -> None:
        if self.annotate is None:  # read already (or made by hand, without one)
            return
        annotate, self.annotate = self.annotate, None
        unknown = UNKNOWN_ORIGIN
        try:
            notes = annotate()
        except Exception as exc:  # the comments are only comments: the source is still right
            notes, unknown = [], f"origin unknown (recording it again raised {type(exc).__name__})"
        for ins in self.program.instrs:
            seq = ins.seq
            same = 0 <= seq < len(notes) and notes[seq][:2] == (ins.kind, ins.fn)
            ins.note = notes[seq][2] if same else unknown


UNKNOWN_ORIGIN = "origin unknown (recording it again took another path)"


class Compiled:
    """A compiled function: call it like ``f``; see :func:`compile`."""

    def __init__(self, f: Callable[..., Any], max_versions: int = 8) -> None:
        self.fn = f
        self.max_versions = max_versions
        self._cache: OrderedDict[Any, list[Specialization]] = OrderedDict()
        self._quick: dict[tuple, Any] = {}  # the key of flat calls of arrays and floats
        self._versions = 0
        self._warned = False
        self.recordings = 0
        self._last: Specialization | None = None
        functools.update_wrapper(self, f, updated=())  # (not f's __dict__: f.f would win)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if active() is not None:  # inside another recording: become part of its program
            return self.fn(*args, **kwargs)
        if not kwargs:  # the common call, f(array, ...): its key without flattening a pytree
            quick = _quick_key(args)
            key = self._quick.get(quick) if quick is not None else None
            specs = self._cache.get(key) if key is not None else None
            if specs:
                for spec in specs:
                    try:
                        out = spec.run(args)
                    except Retrace:
                        continue
                    self._last = spec
                    return out
        key, inputs, leaves, in_def = signature(args, kwargs)
        if not kwargs and len(inputs) == len(args):
            quick = _quick_key(args)
            if quick is not None:
                self._quick[quick] = key
        specs = self._cache.get(key)
        if specs:
            for spec in specs:
                try:
                    out = spec.run(inputs)
                except Retrace:
                    continue
                self._last = spec
                return out
        return self._record(key, leaves, in_def)

    # -- recording -------------------------------------------------------------------------
    def _record(self, key: Any, leaves: list, in_def: Any) -> Any:
        rec, out_leaves, out_def = _recording(self.fn, leaves, in_def, notes=False)
        outputs = [rec.output(leaf) for leaf in out_leaves]
        real = [_real(rec, leaf) for leaf in out_leaves]
        name = getattr(self.fn, "__qualname__", getattr(self.fn, "__name__", "f"))
        spec = Specialization(rec.program(outputs), out_def, _identity(rec, real), name)
        spec.annotate = functools.partial(_notes, self.fn, leaves, in_def)
        self._store(key, spec)
        self.recordings += 1
        return tree.unflatten(out_def, real)

    def _store(self, key: Any, spec: Specialization) -> None:
        self._cache.setdefault(key, []).insert(0, spec)
        self._cache.move_to_end(key)
        self._last = spec
        self._versions += 1
        while self._versions > self.max_versions:
            oldest_key = next(iter(self._cache))
            specs = self._cache[oldest_key]
            specs.pop()
            self._versions -= 1
            if not specs:
                del self._cache[oldest_key]
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"ad.compile({getattr(self.fn, '__name__', 'f')}) has recorded more than "
                    f"{self.max_versions} versions: its guards keep failing (a Python `if` on a "
                    "value, float(x), int(x), bool(x)) or its signature keeps changing (new "
                    "shapes, dtypes or Python int values). Write the decision with ad.where, "
                    "pass changing numbers as arrays or floats rather than ints, or raise "
                    "max_versions",
                    CompileWarning,
                    stacklevel=3,
                )

    # -- inspection ------------------------------------------------------------------------
    @property
    def source(self) -> str:
        """The readable NumPy source of the version used last (call the function first)."""
        return self._latest().source

    @property
    def constants(self) -> dict[str, Any]:
        """Big constants that :attr:`source` takes as keyword arguments."""
        return self._latest().constants

    @property
    def versions(self) -> list[Specialization]:
        """Every recorded version (one per signature and path), most recent first."""
        return [s for specs in reversed(self._cache.values()) for s in specs]

    def _latest(self) -> Specialization:
        if self._last is None:
            raise RuntimeError(
                "call the compiled function once first: it records on its first call"
            )
        return self._last


def _recording(
    fn: Callable[..., Any], leaves: list, in_def: Any, notes: bool
) -> tuple[Recorder, list, Any]:
    """Run ``f`` once under a recording trace: the recorder and the output leaves."""
    rec = Recorder(_run_f.__code__, notes=notes)
    boxed = [rec.input(x) if traced else x for x, traced in leaves]
    args, kwargs = tree.unflatten(in_def, boxed)
    before = effects.random_state()
    restore_stdout = effects.watch_io()
    _state.recorder = rec
    follow_conversions()
    # A recording makes a few objects per primitive and keeps them all to its end: the
    # cyclic collector would walk them again and again (a tenth of a first call) for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        out = _run_f(fn, args, kwargs)
    finally:
        if collecting:
            gc.enable()
        stop_following()
        _state.recorder = None
        restore_stdout()
        retire(rec.trace)
        rec.trace.rec = None  # (no cycle: a dropped recording is freed at once, not by gc)
    effects.check_random(before)
    out_leaves, out_def = tree.flatten(out)
    return rec, out_leaves, out_def


def _notes(fn: Callable[..., Any], leaves: list, in_def: Any) -> list[tuple[str, Any, str]]:
    """Each recorded line's (kind, function, origin), from recording ``f`` once more on the
    same arguments with the call stack read at every line (too slow for a first call)."""
    rec, _, _ = _recording(fn, leaves, in_def, notes=True)
    return [(ins.kind, ins.fn, ins.note) for ins in rec.instrs]


def _run_f(f: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    return f(*args, **kwargs)  # the recording's entry frame (origins stop here)


def _real(rec: Recorder, leaf: Any) -> Any:
    if type(leaf) is RecordBox:
        return leaf._plain
    if type(leaf) is Tracked:
        return rec.values[rec.ref(leaf)[1].n]
    return leaf


def _identity(rec: Recorder, real: list) -> list[tuple[bool, int]]:
    """Per output: was the eager result an input array itself, and the first output it is."""
    inputs = [rec.values[n] for n in rec.inputs]
    out = []
    for i, value in enumerate(real):
        first = next(j for j in range(i + 1) if real[j] is value)
        out.append((any(value is x for x in inputs), first))
    return out


def _copies(prog: Program, identity: list[tuple[bool, int]]) -> list[bool]:
    """Which outputs a replay copies: those that the optimised program would hand out as an
    input, or as another output, where the eager call returned a distinct array."""
    inputs = set(prog.inputs)
    copies = []
    for i, o in enumerate(prog.outputs):
        is_input, first = identity[i]
        copy = False
        if type(o) is Var:
            if o.n in inputs and not is_input:
                copy = True
            for j in range(i):
                other = prog.outputs[j]
                if type(other) is Var and other.n == o.n and first != j:
                    copy = True
            copy = copy and isinstance(prog.values[o.n], np.ndarray)
        copies.append(copy)
    return copies


def _quick_key(args: tuple) -> tuple | None:
    """A key for a call whose arguments are all arrays and floats (no pytree), or ``None``."""
    key = []
    for x in args:
        kind = type(x)
        if kind is np.ndarray:
            key.append((x.shape, x.dtype))
        elif kind is np.float64 or kind is float:
            key.append(kind)
        else:
            return None
    return tuple(key)


def signature(args: tuple, kwargs: dict) -> tuple[Any, list, list, Any]:
    """The cache key of a call, the traced inputs, the leaves (value, traced) and the structure."""
    leaves, in_def = tree.flatten((args, kwargs))
    key: list[Any] = [in_def]
    inputs, marked = [], []
    for x in leaves:
        kind = type(x)
        if kind is np.ndarray:
            if x.dtype.kind not in "biufc":
                raise TypeError(f"ad.compile: cannot compile for an array of dtype {x.dtype}")
            key.append((x.shape, x.dtype.str))
            traced = True
        elif (
            kind is float
            or kind is complex
            or (isinstance(x, np.generic) and not isinstance(x, (np.str_, np.bytes_)))
        ):
            key.append((kind,))
            traced = True
        elif isinstance(x, Box):
            raise CompileError(
                f"ad.compile: an argument is a {kind.__name__}; call the compiled function with "
                "NumPy arrays (compile the derivative itself, e.g. ad.compile(ad.grad(f)), rather "
                "than differentiating a compiled function)"
            )
        elif isinstance(x, np.random.Generator | np.random.RandomState):
            raise CompileError(
                "ad.compile: a random generator is an argument; its draws would not change on "
                "replays. Pass a seed (a Python int, part of the signature) and build the "
                "generator inside, or pass the random numbers themselves"
            )
        else:
            try:
                hash(x)
            except TypeError:
                raise TypeError(
                    f"ad.compile: an argument of type {kind.__name__} is neither an array nor a "
                    "hashable constant; pass arrays (or a pytree of arrays)"
                ) from None
            key.append((kind, x))
            traced = False
        marked.append((x, traced))
        if traced:
            inputs.append(x)
    return tuple(key), inputs, marked, in_def


def compile(f: Callable[..., Any], *, max_versions: int = 8) -> Compiled:
    """Compile ``f``: record it on its first call per signature, replay it as NumPy afterwards.

    Args:
        f: any function of arrays (or pytrees of arrays), including the library's transforms:
            ``ad.grad(loss)``, ``lambda x, v: ad.hvp(F, (x,), (v,))``, a ``jvp``, a Jacobian.
        max_versions: how many recorded versions (signatures × guarded paths) to keep; past
            that the oldest is dropped, with a one-time :class:`CompileWarning`.

    Returns:
        A :class:`Compiled` function with the signature of ``f``; ``.source`` is the readable
        NumPy code of the version it ran last.

    Raises:
        CompileError: ``f`` does something a replay could not repeat: writes into arrays in
            place, prints or opens files, draws from NumPy's global random generator, produces
            an output whose shape depends on the values, or uses the ``Tensor`` facade.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> Q = ad.compile(ad.grad(lambda a: np.sum(3 * a**3)))
        >>> Q(np.array([1.0, 2.0]))
        array([ 9., 36.])
        >>> print(Q.source.split("def f")[1].splitlines()[0])
        (x0):
    """
    return Compiled(f, max_versions=max_versions)
