"""The flat program that :func:`autodiff.compile` records: instructions on SSA variables.

A :class:`Program` is a straight line of :class:`Instr`: each one calls a NumPy function (or a
registry op's primal) on earlier variables and constants and defines one new variable, or checks
a :class:`guard <Instr>` (a Python decision the recorded function took on a value). Nothing in it
refers to boxes or traces: replaying it is plain NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autodiff.registry import Op


class Var:
    """A reference to variable ``n`` of a program (SSA: defined exactly once)."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        return f"Var({self.n})"


@dataclass(eq=False, slots=True)  # slots: a recording makes one per primitive
class Instr:
    """One line of a program.

    ``kind`` is ``"op"`` (a registry primitive: ``op.primal(*args, **kwargs)``), ``"np"`` (a
    NumPy callable met on a recorded value, e.g. a mask a rule computes), ``"method"`` (an
    ndarray method, ``fn`` is its name) or ``"guard"`` (``fn`` is the check: ``bool``, ``float``,
    ``int``, ``item``; ``expect`` is the value seen). ``args``/``kwargs`` hold :class:`Var` and
    constants, possibly inside tuples and lists. ``note`` says where the line came from
    (``None`` until :attr:`Specialization.source <autodiff.compile.Specialization.source>`
    asks: see there); ``seq`` is the line's place in the recording, which optimisation keeps.
    """

    kind: str
    fn: Any
    args: tuple
    kwargs: dict
    out: int  # -1 for a guard
    op: Op | None = None
    note: str | None = None
    expect: Any = None
    out_arg: int = -1  # buffer reuse: the variable whose memory receives the result
    seq: int = -1  # the line's index in the recording (its note is found by it)


@dataclass(eq=False)
class Program:
    """A recorded function: inputs, instructions, outputs and what is known of each variable."""

    inputs: list[int]
    instrs: list[Instr]
    outputs: list[Any]  # a Var or a constant per output leaf
    values: dict[int, Any]  # the value each variable had when recorded (its type, shape, dtype)
    names: dict[int, str] = field(default_factory=dict)
    alias: dict[int, int] = field(default_factory=dict)  # variables replaced by another
    mutated: set[int] = field(default_factory=set)  # recorded values written into later
    fresh: dict[int, Any] = field(default_factory=dict)  # arrays created during the recording

    def frozen(self, c: Any) -> bool:
        """Can a constant not change between calls? Scalars cannot, nor an array the function
        created itself (or a view of one); an array from outside may be changed in place by its
        owner, so what is computed from it must be computed again by every replay."""
        if isinstance(c, (tuple, list)):
            return all(self.frozen(x) for x in c)
        if isinstance(c, dict):
            return all(self.frozen(x) for x in c.values())
        if not isinstance(c, np.ndarray):
            return True
        while c is not None:
            if self.fresh.get(id(c)) is c:
                return True
            c = c.base if isinstance(c.base, np.ndarray) else None
        return False

    def meta(self, n: int) -> tuple[type, tuple, Any]:
        v = self.values[n]
        return type(v), np.shape(v), getattr(v, "dtype", None)


def walk(x: Any):
    """The :class:`Var` inside an argument (a Var, or tuples/lists/dicts of them)."""
    if type(x) is Var:
        yield x
    elif isinstance(x, (tuple, list)):
        for y in x:
            if type(y) is Var:
                yield y
            elif isinstance(y, (tuple, list, dict)):
                yield from walk(y)
    elif isinstance(x, dict):
        for y in x.values():
            yield from walk(y)


def substitute(x: Any, fn: Any) -> Any:
    """``x`` with every Var ``v`` replaced by ``fn(v)``."""
    kind = type(x)
    if kind is Var:
        return fn(x)
    if kind is tuple or kind is list:
        if not x:
            return x
        return kind([fn(y) if type(y) is Var else substitute(y, fn) for y in x])
    if isinstance(x, tuple) and _is_namedtuple(x):
        return kind(*[substitute(y, fn) for y in x])
    if kind is dict:
        return {k: substitute(v, fn) for k, v in x.items()} if x else x
    return x


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def uses(instr: Instr) -> list[int]:
    """The variables an instruction reads."""
    out = []
    for a in instr.args:
        if type(a) is Var:
            out.append(a.n)
        elif isinstance(a, (tuple, list, dict)):
            out.extend(v.n for v in walk(a))
    if instr.kwargs:
        out.extend(v.n for v in walk(instr.kwargs))
    return out
