"""The scalar fast path: chains of 0-d float64 operations replayed as Python float arithmetic.

A NumPy scalar operation costs about 100 ns; the same on Python floats about 20 ns. Python floats
are IEEE doubles too, so ``+ - *`` and negation give the same bits. The differences are handled:

* ``x / 0.0`` raises ``ZeroDivisionError`` in Python, and ``math.log(0.0)``, ``math.sin(inf)``
  raise where NumPy returns ``-inf`` or ``nan``: the fast replay then reruns the NumPy replay
  (both are pure), so the answer is always NumPy's;
* a ``math`` function replaces NumPy's only when they agree bit for bit on a few thousand sample
  points on this machine (they usually call the same C library); otherwise the line stays NumPy;
* a value leaves the fast path in the exact type eager code had (``np.float64``, a 0-d array or
  a Python float), so dtype promotion downstream is unchanged (float32 arrays never meet a Python
  float that was a float64 scalar).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autodiff.compile.program import Program, Var, uses, walk
from autodiff.compile.source import (
    Names,
    Retrace,
    Writer,
    comment,
    name_vars,
    output_exprs,
    replay_function,
)

ARITHMETIC = {"add": "{} + {}", "subtract": "{} - {}", "multiply": "{} * {}", "divide": "{} / {}"}
MATH = ("sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "arctan", "sinh", "cosh", "expm1",
        "log1p")  # fmt: skip
_MATH_NAME = {"arctan": "atan"}
_agrees: dict[str, bool] = {}


def math_agrees(name: str) -> bool:
    """Does ``math.<name>`` give NumPy's float64 answer, bit for bit, on sample points?"""
    if name not in _agrees:
        rng = np.random.default_rng(0)
        xs = np.concatenate([rng.normal(size=2000), rng.normal(size=2000) * 30,
                             rng.uniform(1e-6, 5, 1000), [0.0, -0.0, 1.0, 0.5, 2.0, 1e-300]])  # fmt: skip
        if name in ("log", "sqrt", "log1p"):
            xs = np.abs(xs)
        if name in ("exp", "sinh", "cosh", "expm1"):
            xs = xs[np.abs(xs) < 700]
        mf, nf = getattr(math, _MATH_NAME.get(name, name)), getattr(np, name)
        with np.errstate(all="ignore"):
            want = nf(xs)
        try:
            got = np.array([mf(float(x)) for x in xs])
        except (ValueError, OverflowError):
            _agrees[name] = False
        else:
            _agrees[name] = bool(np.array_equal(want.view(np.int64), got.view(np.int64)))
    return _agrees[name]


def _f64_scalar(v: Any) -> bool:
    kind = type(v)
    if kind is float:
        return True
    return (kind is np.float64 or kind is np.ndarray) and v.shape == () and v.dtype == np.float64


def _float_const(c: Any) -> str | None:
    kind = type(c)
    if kind is int or kind is float or kind is np.float64:
        f = float(c)
        return repr(f) if math.isfinite(f) else None
    return None


def fast_function(prog: Program, copies: list[bool]) -> Any:
    """The replay with scalar chains in Python floats, falling back to the NumPy replay when a
    Python float would raise; ``None`` when nothing in the program is a 0-d float64 chain."""
    values = prog.values
    fold: dict[int, str] = {}  # instruction output -> expression template
    for ins in prog.instrs:
        if ins.kind != "op" or ins.kwargs or ins.out_arg >= 0 or not _f64_scalar(values[ins.out]):
            continue
        name = ins.op.name
        if name in ARITHMETIC and len(ins.args) == 2:
            template = ARITHMETIC[name]
        elif name == "negative":
            template = "-{}"
        elif name == "square":
            template = "{0} * {0}"
        elif name in MATH and ins.fn is getattr(np, name) and math_agrees(name):
            template = f"_m.{_MATH_NAME.get(name, name)}({{}})"
        else:
            continue
        ok = all(
            (type(a) is Var and _f64_scalar(values[a.n])) or _float_const(a) is not None
            for a in ins.args
        )
        if ok:
            fold[ins.out] = template
    if not fold:
        return None
    slow = replay_function(prog, copies)
    names = Names(vars=name_vars(prog), replay=True)
    w = Writer(prog, names)
    # which variables are needed as floats, and which folded ones are needed as exact values
    need_float: set[int] = set()
    need_exact: set[int] = set()
    for ins in prog.instrs:
        vars_in = [a.n for a in ins.args if type(a) is Var]
        if ins.kind != "guard" and ins.out in fold:
            need_float.update(vars_in)
        else:
            need_exact.update(n for n in uses(ins) if n in fold)
    need_exact.update(v.n for o in prog.outputs for v in walk(o) if v.n in fold)

    def fname(n: int) -> str:
        return "f_" + names.vars[n]

    lines: list[str] = []

    def after(n: int) -> None:
        if n in fold:
            if n in need_exact:
                lines.append(f"    {names.vars[n]} = {_exact(values[n])}({fname(n)})")
        elif n in need_float:
            lines.append(f"    {fname(n)} = float({names.vars[n]})")

    for n in prog.inputs:
        after(n)
    for ins in prog.instrs:
        if ins.kind == "guard":
            lines.append(f"    {w.guard(ins)}")
            continue
        if ins.out in fold:
            parts = [fname(a.n) if type(a) is Var else _float_const(a) for a in ins.args]
            parts = [f"({p})" if p.startswith("-") else p for p in parts]
            code = f"{fname(ins.out)} = {fold[ins.out].format(*parts)}"
        else:
            code = f"{names.vars[ins.out]} = {w.expr(ins)}"
        lines.append(f"    {code}  # {comment(ins)}")
        after(ins.out)
    outs = output_exprs(prog, names, copies)
    params = ", ".join(names.vars[n] for n in prog.inputs)
    text = "\n".join([
        f"def fast({params}):",
        *lines,
        f"    return ({', '.join(outs)}{',' if len(outs) == 1 else ''})",
    ])  # fmt: skip
    scope = {"np": np, "Retrace": Retrace, "_m": math, "_f64": np.float64, "_a0": _array0,
             **names.globals}  # fmt: skip
    exec(compile(text, "<ad.compile fast replay>", "exec"), scope)
    fast = scope.pop("fast")  # (its globals must not hold it: no cycle keeps the constants)
    errors = (ZeroDivisionError, OverflowError, ValueError)

    def replay(*inputs: Any) -> tuple:
        try:
            return fast(*inputs)
        except errors:
            return slow(*inputs)

    replay.source_text = text
    return replay


def _array0(f: float) -> np.ndarray:
    return np.array(f)


def _exact(v: Any) -> str:
    kind = type(v)
    if kind is np.float64:
        return "_f64"
    if kind is np.ndarray:
        return "_a0"
    return "float"
