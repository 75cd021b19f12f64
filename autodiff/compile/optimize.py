"""Optimisations of a recorded program, each exact (the replay equals eager code bit for bit).

* **constant folding**: a line whose inputs are all constants (Python scalars, or a
  ``zeros_like``-style creation whose answer the signature fixes) is computed once, now;
* **identities**: ``x * 1``, ``x / 1``, ``x + (-0.0)``, ``x - 0.0`` and reshapes, broadcasts and
  casts to the shape and dtype ``x`` already has are dropped (``x + 0.0`` is kept: it turns
  ``-0.0`` into ``0.0``);
* **common subexpressions**: the same function on the same inputs is computed once;
* **dead code**: lines that neither an output nor a guard needs are dropped;
* **buffer reuse** (:func:`plan_buffers`): an elementwise ufunc writes with ``out=`` into an
  input array it is the last to read, that nobody else views, holds or returns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff.compile.program import Instr, Program, Var, substitute, uses, walk

# ``*_like`` creations: their value depends only on the shape and dtype, which the signature fixes
_LIKE = {np.zeros_like, np.ones_like, np.empty_like, np.full_like}
_SAME_SHAPE_OPS = {"reshape", "broadcast_to", "astype"}


def optimize(prog: Program) -> Program:
    """Fold, drop identities, share common subexpressions, remove dead code (in that order)."""
    consts: dict[int, Any] = {}  # variables that became constants
    alias = prog.alias
    seen: dict[Any, int] = {}
    guards: set = set()
    kept: list[Instr] = []

    def resolve(v: Var) -> Any:
        n = v.n
        while n in alias:
            n = alias[n]
        if n in consts:
            return consts[n]
        return v if n == v.n else Var(n)

    for ins in prog.instrs:
        ins.args = substitute(ins.args, resolve)
        ins.kwargs = substitute(ins.kwargs, resolve)
        if ins.kind == "guard":
            key = (ins.fn, ins.args[0].n if type(ins.args[0]) is Var else id(ins.args[0]))
            if type(ins.args[0]) is not Var or key in guards:
                continue  # a guard on a constant always holds; a repeated guard is one guard
            guards.add(key)
            kept.append(ins)
            continue
        vars_in = uses(ins)
        foldable = not vars_in and prog.frozen(ins.args) and prog.frozen(ins.kwargs)
        if ins.out not in prog.mutated and (foldable or (ins.fn in _LIKE and _only_first(ins))):
            consts[ins.out] = prog.values[ins.out]  # computed once, at recording
            continue
        same = identity_of(prog, ins)
        if same is not None:
            alias[ins.out] = same
            continue
        key = cse_key(ins)
        if key is not None:
            prior = seen.get(key)
            if prior is not None:
                alias[ins.out] = prior
                continue
            seen[key] = ins.out
        kept.append(ins)
    prog.outputs = [substitute(o, resolve) for o in prog.outputs]
    prog.instrs = dead_code(kept, prog.outputs)
    return prog


def _only_first(ins: Instr) -> bool:
    """A ``*_like`` call whose only recorded input is the array it takes the shape of."""
    return type(ins.args[0]) is Var and not any(True for _ in walk((ins.args[1:], ins.kwargs)))


def dead_code(instrs: list[Instr], outputs: list[Any]) -> list[Instr]:
    live = {v.n for o in outputs for v in walk(o)}
    out: list[Instr] = []
    for ins in reversed(instrs):
        if ins.kind == "guard" or ins.out in live:
            live.update(uses(ins))
            out.append(ins)
    out.reverse()
    return out


def _is_scalar(c: Any, value: float) -> bool:
    kind = type(c)
    if kind is bool:
        return False
    if kind in (int, float) or isinstance(c, np.generic):
        return bool(c == value) and (value != 0 or np.signbit(c) == np.signbit(value))
    return False


def _all_equal(c: Any, value: float) -> bool:
    """``c`` is the constant ``value`` (sign of zero included), as a scalar or every element."""
    if _is_scalar(c, value):
        return True
    if type(c) is np.ndarray and c.dtype.kind == "f" and c.size:
        return bool(np.all(c == value)) and bool(np.all(np.signbit(c) == np.signbit(value)))
    return False


def identity_of(prog: Program, ins: Instr) -> int | None:
    """The variable that ``ins`` returns unchanged (type, shape and dtype included), if any."""
    if ins.kind != "op" or ins.op is None:
        return None
    name = ins.op.name
    args = ins.args
    out = prog.values[ins.out]
    candidates: list[tuple[Any, Any]] = []
    if name == "multiply" and len(args) == 2:
        candidates = [(args[0], args[1]), (args[1], args[0])]
        unit = 1.0
    elif name == "divide" and len(args) == 2:
        candidates, unit = [(args[0], args[1])], 1.0
    elif name == "add" and len(args) == 2:
        candidates, unit = [(args[0], args[1]), (args[1], args[0])], -0.0
    elif name == "subtract" and len(args) == 2:
        candidates, unit = [(args[0], args[1])], 0.0
    elif name in _SAME_SHAPE_OPS and type(args[0]) is Var:
        x = prog.values[args[0].n]
        return args[0].n if _same_kind(x, out) else None
    for v, c in candidates:
        ok = type(v) is Var and type(c) is not Var and prog.frozen(c) and _all_equal(c, unit)
        if ok and _same_kind(prog.values[v.n], out):
            return v.n
    return None


def _same_kind(x: Any, y: Any) -> bool:
    return (
        type(x) is type(y)
        and np.shape(x) == np.shape(y)
        and getattr(x, "dtype", None) == getattr(y, "dtype", None)
    )


def _ckey(x: Any) -> Any:
    kind = type(x)
    if kind is Var:
        return ("v", x.n)
    if kind in (int, float, bool, complex, str) or x is None:
        return (kind, repr(x))
    if isinstance(x, np.generic):
        return (kind, repr(x), x.dtype.str)
    if isinstance(x, (tuple, list)):
        return (kind, tuple(_ckey(y) for y in x))
    if isinstance(x, dict):
        return ("d", tuple((k, _ckey(v)) for k, v in x.items()))
    if isinstance(x, slice):
        return ("s", _ckey(x.start), _ckey(x.stop), _ckey(x.step))
    if isinstance(x, (type, np.dtype)) or x is Ellipsis:
        return ("t", x)
    return ("id", id(x))  # arrays and other objects: the same object only


def cse_key(ins: Instr) -> Any:
    if ins.kind not in ("op", "np", "method"):
        return None
    fn = ins.fn if isinstance(ins.fn, str) else id(ins.fn)
    return (ins.kind, fn, _ckey(ins.args), _ckey(ins.kwargs))


def plan_buffers(prog: Program, min_size: int = 256) -> None:
    """Mark the elementwise lines that may write into a dying input's memory (``out=``)."""
    last: dict[int, int] = {}
    consumers_ok: dict[int, bool] = {}
    for i, ins in enumerate(prog.instrs):
        ufunc = ins.kind == "op" and isinstance(ins.fn, np.ufunc) and not ins.kwargs
        for n in uses(ins):
            last[n] = i
            consumers_ok[n] = consumers_ok.get(n, True) and ufunc
    held = set(prog.inputs) | {v.n for o in prog.outputs for v in walk(o)}
    fresh: set[int] = set()
    for i, ins in enumerate(prog.instrs):
        if not (ins.kind == "op" and isinstance(ins.fn, np.ufunc) and not ins.kwargs):
            continue
        out = prog.values[ins.out]
        if type(out) is not np.ndarray or out.size < min_size or ins.fn.nout != 1:
            fresh.discard(ins.out)
            continue
        for a in ins.args:
            if type(a) is not Var or a.n not in fresh or a.n in held:
                continue
            v = prog.values[a.n]
            if last.get(a.n) == i and consumers_ok.get(a.n) and _same_kind(v, out):
                ins.out_arg = a.n
                fresh.discard(a.n)
                break
        fresh.add(ins.out)
