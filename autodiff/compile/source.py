"""A program as Python source: the readable NumPy code of ``.source``, and the code replays run.

One line per primitive, SSA names (``x0, x1, ...`` the inputs, ``v1, v2, ...`` the rest), a
comment per line naming the op and where it came from (the function's own computation, or which
JVP/VJP rule). The replay executes the same lines; only the scalar fast path (:mod:`.floats`)
differs, and it falls back to these lines whenever Python floats would not behave as NumPy.
"""

from __future__ import annotations

import math
import operator
import re
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autodiff.compile.program import Instr, Program, Var

INFIX = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "power": "**",
         "matmul": "@"}  # fmt: skip
SMALL_ARRAY = 16  # constants up to this many elements are written out in the source


def _numpy_call(np_name: str, params: tuple[str, ...], defaults: dict[str, Any]) -> Any:
    """A registry op whose primal is one NumPy call: written as that call, defaults left out."""

    def render(w: Writer, args: tuple, kwargs: dict) -> str:
        parts = [w.arg(a) for a in args]
        for k in params:
            if k in kwargs and not (k in defaults and _is_default(kwargs[k], defaults[k])):
                parts.append(f"{k}={w.arg(kwargs[k])}")
        return f"{np_name}({', '.join(parts)})"

    return render


def _is_default(v: Any, default: Any) -> bool:
    return type(v) is type(default) and v == default


def _getitem(w: Writer, args: tuple, kwargs: dict) -> str | None:
    if type(args[0]) is not Var or type(w.prog.values[args[0].n]) is not np.ndarray:
        return None  # np.asarray(x)[i] and x[i] differ on NumPy scalars
    return f"{w.arg(args[0])}[{w.index(kwargs['index'])}]"


def _positional(np_name: str, names: tuple[str, ...]) -> Any:
    def render(w: Writer, args: tuple, kwargs: dict) -> str:
        parts = [w.arg(a) for a in args] + [w.arg(kwargs[k]) for k in names]
        return f"{np_name}({', '.join(parts)})"

    return render


def _where(w: Writer, args: tuple, kwargs: dict) -> str:
    return f"np.where({w.arg(kwargs['condition'])}, {w.arg(args[0])}, {w.arg(args[1])})"


_REDUCE = {"axis": None, "keepdims": False, "where": True}
#: registry ops whose primal is a single NumPy call (read from autodiff/ops), written as that call
THIN: dict[str, Any] = {
    "sum": _numpy_call("np.sum", ("axis", "keepdims", "where"), _REDUCE),
    "mean": _numpy_call("np.mean", ("axis", "keepdims", "where"), _REDUCE),
    "reshape": _positional("np.reshape", ("shape",)),
    "broadcast_to": _positional("np.broadcast_to", ("shape",)),
    "transpose": _positional("np.transpose", ("axes",)),
    "swapaxes": _positional("np.swapaxes", ("axis1", "axis2")),
    "tensordot": _numpy_call("np.tensordot", ("axes",), {}),
    "where": _where,
    "getitem": _getitem,
}


class Retrace(Exception):
    """A guard of a replay failed: the function took another path; record it again."""


@dataclass
class Names:
    """Names in generated code: variables, callables and constants, with their definitions."""

    vars: dict[int, str] = field(default_factory=dict)
    globals: dict[str, Any] = field(default_factory=dict)
    header: dict[str, str] = field(default_factory=dict)  # name -> a line defining it (readable)
    consts: dict[str, Any] = field(default_factory=dict)  # constants too big to write out
    const_ids: dict[int, str] = field(default_factory=dict)
    replay: bool = False  # replays hold array constants themselves (their memory layout too)

    def var(self, v: Var) -> str:
        return self.vars[v.n]

    def callable(self, fn: Any, op_name: str | None = None) -> str:
        """An expression for ``fn``: ``np.sin``, ``np.add.reduce``, or a name defined in the
        header (a registry op's NumPy implementation, or an import)."""
        expr = numpy_name(fn)
        if expr is not None:
            return expr
        if op_name is not None:
            base = name = "op_" + (re.sub(r"\W+", "_", op_name).strip("_") or "op")
            k = 1
            while self.globals.get(name, fn) is not fn:
                k += 1
                name = f"{base}{k}"
            self.globals[name] = fn
            if _registered(op_name, fn):
                self.header[name] = f'{name} = get("{op_name}").primal'
            else:
                self.header[name] = (
                    f"{name} = ...  # the primal of op {op_name!r} (not in the registry)"
                )
            return name
        base = getattr(fn, "__name__", "fn").strip("<>_") or "fn"
        name = f"fn_{base}"
        k = 1
        while name in self.globals and self.globals[name] is not fn:
            k += 1
            name = f"fn_{base}{k}"
        self.globals[name] = fn
        module, qual = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
        if module and "<" not in qual and _resolve(module, qual) is fn:
            self.header[name] = f"from {module} import {qual} as {name}"
        else:
            self.header[name] = f"{name} = ...  # {fn!r}: not importable, replays hold it"
        return name

    def const(self, c: Any) -> str:
        if not (self.replay and isinstance(c, np.ndarray)):
            text = literal(c)
            if text is not None:
                return text
        name = self.const_ids.get(id(c))
        if name is None:
            name = self.const_ids[id(c)] = f"c{len(self.consts)}"
            self.consts[name] = c
            self.globals[name] = c
        return name


def _registered(name: str, fn: Any) -> bool:
    from autodiff import registry

    try:
        return registry.get(name).primal is fn
    except Exception:
        return False


def _resolve(module: str, qual: str) -> Any:
    obj = sys.modules.get(module)
    for part in qual.split("."):
        obj = getattr(obj, part, None)
    return obj


def numpy_name(fn: Any) -> str | None:
    """``np.<name>`` (or ``np.linalg.<name>``, ``np.add.reduce``) when that is ``fn``."""
    if isinstance(fn, np.ufunc):
        return f"np.{fn.__name__}" if getattr(np, fn.__name__, None) is fn else None
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, np.ufunc):
        return f"np.{owner.__name__}.{fn.__name__}"
    name = getattr(fn, "__name__", None)
    if name is None:
        return None
    for prefix, space in (("np", np), ("np.linalg", np.linalg), ("np.fft", np.fft)):
        if getattr(space, name, None) is fn:
            return f"{prefix}.{name}"
    return None


def literal(c: Any) -> str | None:
    """Python source that evaluates to exactly ``c`` (``None`` when too big or unknown)."""
    kind = type(c)
    if c is None or kind in (bool, int, str):
        return repr(c)
    if kind is float:
        if math.isnan(c):
            return "np.nan"
        if math.isinf(c):
            return "np.inf" if c > 0 else "-np.inf"
        return repr(c)
    if kind is complex:
        return repr(c) if all(map(math.isfinite, (c.real, c.imag))) else None
    if c is Ellipsis:
        return "..."
    if isinstance(c, np.generic):
        if kind is np.bool_:
            return "np.True_" if c else "np.False_"
        inner = literal(c.item())
        return f"np.{kind.__name__}({inner})" if inner is not None and hasattr(np, kind.__name__) \
            else None  # fmt: skip
    if isinstance(c, np.dtype):
        named = getattr(np, c.name, None)
        if isinstance(named, type) and np.dtype(named) == c:
            return f"np.{c.name}"
        return f"np.dtype({c.str!r})"
    if isinstance(c, type):
        if getattr(np, c.__name__, None) is c:
            return f"np.{c.__name__}"
        return c.__name__ if c in (float, int, bool, complex) else None
    if callable(c) and numpy_name(c) is not None:
        return numpy_name(c)
    if isinstance(c, slice):
        parts = [literal(x) for x in (c.start, c.stop, c.step)]
        return None if None in parts else f"slice({', '.join(parts)})"
    if kind in (tuple, list):
        parts = [literal(x) for x in c]
        if None in parts:
            return None
        if kind is tuple:
            return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"
        return f"[{', '.join(parts)}]"
    if (kind is np.ndarray and c.size <= SMALL_ARRAY and c.dtype.kind in "biuf"
            and c.flags.c_contiguous):  # fmt: skip
        body = literal(c.tolist())
        dt = f"np.{c.dtype.name}" if hasattr(np, c.dtype.name) else f"np.dtype({c.dtype.str!r})"
        return None if body is None else f"np.array({body}, dtype={dt})"
    return None


class Writer:
    """Turns instructions into lines of Python."""

    def __init__(self, prog: Program, names: Names) -> None:
        self.prog = prog
        self.n = names

    def arg(self, a: Any) -> str:
        if type(a) is Var:
            return self.n.var(a)
        if isinstance(a, (tuple, list)) and any(type(x) is Var or isinstance(x, (tuple, list))
                                                for x in a):  # fmt: skip
            parts = [self.arg(x) for x in a]
            if type(a) is list:
                return f"[{', '.join(parts)}]"
            return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"
        return self.n.const(a)

    def index(self, a: Any) -> str:
        items = a if type(a) is tuple else (a,)
        parts = []
        for x in items:
            if type(x) is slice and all(type(y) is not Var for y in (x.start, x.stop, x.step)):
                s = [self.arg(y) if y is not None else "" for y in (x.start, x.stop, x.step)]
                parts.append(f"{s[0]}:{s[1]}" + (f":{s[2]}" if s[2] else ""))
            elif x is None:
                parts.append("None")
            else:
                parts.append(self.arg(x))
        if type(a) is tuple and len(parts) == 1:
            return parts[0] + ","
        return ", ".join(parts) if parts else "()"

    def call(self, fn_expr: str, args: tuple, kwargs: dict, extra: str = "") -> str:
        parts = [self.arg(a) for a in args]
        parts += [f"{k}={self.arg(v)}" for k, v in kwargs.items()]
        if extra:
            parts.append(extra)
        return f"{fn_expr}({', '.join(parts)})"

    def is_array_var(self, a: Any) -> bool:
        return type(a) is Var and isinstance(self.prog.values[a.n], (np.ndarray, np.generic))

    def expr(self, ins: Instr) -> str:
        kind, fn, args, kwargs = ins.kind, ins.fn, ins.args, ins.kwargs
        out = f"out={self.n.vars[ins.out_arg]}" if ins.out_arg >= 0 else ""
        if kind == "op":
            name = ins.op.name
            thin = THIN.get(name)
            if thin is not None and not out and ins.fn is ins.op.primal:
                text = thin(self, args, kwargs)
                if text is not None:
                    return text
            sym = INFIX.get(name)
            if (sym and len(args) == 2 and not kwargs and not out and fn is getattr(np, name, None)
                    and (self.is_array_var(args[0]) or self.is_array_var(args[1]))):  # fmt: skip
                return f"{self._operand(args[0])} {sym} {self._operand(args[1])}"
            if name == "negative" and not out and self.is_array_var(args[0]):
                return f"-{self.arg(args[0])}"
            return self.call(self.n.callable(fn, name), args, kwargs, out)
        if kind == "method":
            target = self.arg(args[0])
            if fn == "__getitem__":
                return f"{target}[{self.index(args[1])}]"
            return self.call(f"{target}.{fn}", args[1:], kwargs)
        if fn is operator.getitem:
            return f"{self.arg(args[0])}[{self.index(args[1])}]"
        return self.call(self.n.callable(fn), args, kwargs)

    def _operand(self, a: Any) -> str:
        text = self.arg(a)
        return f"({text})" if text.startswith("-") else text

    def guard(self, ins: Instr) -> str:
        v = self.arg(ins.args[0])
        seen = ins.expect
        if ins.fn == "bool":
            test = f"not {v}" if seen else v
        elif ins.fn == "float" and seen != seen:  # NaN: the guard holds while it stays NaN
            test = f"float({v}) == float({v})"
        elif ins.fn in ("float", "int", "complex"):
            test = f"{ins.fn}({v}) != {literal(seen) or repr(seen)}"
        else:
            text = literal(seen)
            if text is None:
                text = self.n.const(seen)
            test = f"{v}.{ins.fn}() != {text}"
        return f"if {test}: raise Retrace({ins.fn + '(' + v + ')'!r})"


def name_vars(prog: Program) -> dict[int, str]:
    names = {n: f"x{i}" for i, n in enumerate(prog.inputs)}
    k = 0
    for ins in prog.instrs:
        if ins.kind != "guard":
            k += 1
            names[ins.out] = f"v{k}"
    return names


def comment(ins: Instr) -> str:
    if ins.kind == "guard":
        what = f"guard, recorded {ins.fn}() = {ins.expect!r}"
    elif ins.kind == "op":
        what = ins.op.name
    elif ins.kind == "method":
        what = "ndarray" + (".__getitem__" if ins.fn == "__getitem__" else f".{ins.fn}")
    else:
        what = numpy_name(ins.fn) or getattr(ins.fn, "__name__", "call")
    if ins.out_arg >= 0:
        what += " (in place of a dead input)"
    return what if ins.note is None else f"{what}: {ins.note}"  # (None: not read yet)


def body_lines(prog: Program, names: Names, writer: Writer | None = None) -> list[str]:
    w = writer or Writer(prog, names)
    rows: list[tuple[str, str]] = []
    for ins in prog.instrs:
        if ins.kind == "guard":
            rows.append((w.guard(ins), comment(ins)))
        else:
            rows.append((f"{names.vars[ins.out]} = {w.expr(ins)}", comment(ins)))
    width = min(max((len(code) for code, _ in rows), default=0), 60)
    return [f"    {code.ljust(width)}  # {note}" for code, note in rows]


def output_exprs(prog: Program, names: Names, copies: list[bool]) -> list[str]:
    w = Writer(prog, names)
    outs = []
    for o, copy in zip(prog.outputs, copies):
        text = w.arg(o)
        if copy or (type(o) is np.ndarray):
            text += ".copy()"
        outs.append(text)
    return outs


def generate(
    prog: Program, copies: list[bool], fn_name: str = "f", replay: bool = False
) -> tuple[str, Names]:
    """The program as a function ``fn_name(x0, x1, ...)`` returning the tuple of output leaves;
    returns its source (without imports and header) and the names it uses."""
    names = Names(vars=name_vars(prog), replay=replay)
    lines = body_lines(prog, names)
    outs = output_exprs(prog, names, copies)
    ret = f"    return ({', '.join(outs)}{',' if len(outs) == 1 else ''})"
    params = ", ".join(names.vars[n] for n in prog.inputs)
    return "\n".join([f"def {fn_name}({params}):", *lines, ret]), names


def readable(prog: Program, copies: list[bool], doc: str = "") -> tuple[str, dict[str, Any]]:
    """``.source``: imports, the header of helpers, the function; and the big constants it needs
    as keyword-only arguments."""
    text, names = generate(prog, copies)
    if names.consts:
        head, rest = text.split("):", 1)
        text = head + (", " if prog.inputs else "") + "*, " + ", ".join(names.consts) + "):" + rest
    lines = ["import numpy as np"]
    if any(v.startswith("op_") for v in names.header):
        lines.append("from autodiff.registry import get")
    helpers = sorted(names.header.items(), key=lambda item: (item[0].startswith("op_"), item[0]))
    if helpers:
        lines += [""] + [line for _, line in helpers]
    lines += ["", "", "class Retrace(Exception):",
              '    """A guard failed: the recorded path does not apply to these inputs."""',
              "", ""]  # fmt: skip
    if doc:
        lines += [f"# {line}" if line else "#" for line in doc.splitlines()]
    lines.append(text)
    return "\n".join(lines) + "\n", names.consts


def replay_function(prog: Program, copies: list[bool]) -> Any:
    """The compiled replay: the same lines as ``.source``, executed once into a function."""
    text, names = generate(prog, copies, "replay", replay=True)
    scope = {"np": np, "Retrace": Retrace, **names.globals}
    exec(compile(text, "<ad.compile replay>", "exec"), scope)
    fn = scope.pop("replay")  # (its globals must not hold it: no cycle keeps the constants)
    fn.source_text = text
    return fn
