"""Forward mode: dual numbers carried by operator overloading.

A :class:`Dual` is a pair ``(primal, tangent)``: the value and its directional derivative, the
``a + b·ε`` of a dual number with ``ε² = 0``. Every op applied to a dual computes its primal as
usual and pushes the tangent through the op's JVP rule, so one sweep of a function gives ``J·v``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autodiff import tree
from autodiff.arrays import asarray_like, float_dtype, zeros_like
from autodiff.boundary import (
    flat_function,
    flatten_args,
    level_mark,
    unbox_aux,
)
from autodiff.core import (
    EMPTY,
    Box,
    Trace,
    bind,
    bind2,
    broadcast_tangent,
    check_float,
    check_outputs,
    jvp_rule,
    raw,
    retire,
    shape_of,
)
from autodiff.registry import Op


class ForwardTrace(Trace):
    """One ``jvp`` in progress; ``batch`` is 1 when tangents carry a leading batch axis."""

    __slots__ = ("batch",)

    def __init__(self, batch: int = 0) -> None:
        super().__init__()
        self.batch = batch

    def process(self, op: Op, args: tuple | list, params: dict[str, Any]) -> Any:
        if len(args) == 1:
            return self.process1(op, args[0], params)
        if len(args) == 2:
            return self.process2(op, args[0], args[1], params)
        primals, tangents = [], []
        for a in args:
            if type(a) is Dual and a._trace is self:
                primals.append(a._value)
                tangents.append(a.tangent)
            else:
                primals.append(a)
                tangents.append(None)
        ans = bind(op, primals, params)
        if not op.differentiable:
            return ans
        t = jvp_rule(op, tangents, ans, primals, params, self.batch)
        return ans if t is None else Dual(ans, t, self)

    # process1 and process2 are the hot path of forward mode: keep them flat.
    def process1(self, op: Op, a: Any, params: dict[str, Any] = EMPTY) -> Any:
        if type(a) is Dual and a._trace is self:
            v, t = a._value, a.tangent
        else:
            v, t = a, None
        if isinstance(v, Box):
            ans = v._trace.process1(op, v, params)  # bind(), one box
        else:
            ans = op.primal(v, **params) if params else op.primal(v)
        if not op.differentiable:
            return ans
        rules = op.jvp
        if t is None or self.batch or op.jvp_whole or rules is None or rules[0] is None:
            t = jvp_rule(op, [t], ans, (v,), params, self.batch)
            return ans if t is None else Dual(ans, t, self)
        # the common case of jvp_rule inlined: one rule, no batch axis
        rule = rules[0]
        t = rule(t, ans, v, **params) if params else rule(t, ans, v)
        if t is None:  # the rule gave a symbolic zero
            return ans
        if getattr(t, "shape", ()) != getattr(ans, "shape", ()):
            t = broadcast_tangent(t, ans)
        return Dual(ans, t, self)

    def process2(self, op: Op, a: Any, b: Any, params: dict[str, Any] = EMPTY) -> Any:
        if type(a) is Dual and a._trace is self:
            va, ta = a._value, a.tangent
        else:
            va, ta = a, None
        if type(b) is Dual and b._trace is self:
            vb, tb = b._value, b.tangent
        else:
            vb, tb = b, None
        if isinstance(va, Box) or isinstance(vb, Box):
            ans = bind2(op, va, vb, params)
        else:
            ans = op.primal(va, vb, **params) if params else op.primal(va, vb)
        if not op.differentiable:
            return ans
        rules = op.jvp
        if self.batch or op.jvp_whole or rules is None or None in rules:
            t = jvp_rule(op, [ta, tb], ans, (va, vb), params, self.batch)
            return ans if t is None else Dual(ans, t, self)
        # the common case of jvp_rule inlined: a rule per argument, no batch axis
        if ta is None:
            if tb is None:
                return ans
            rule = rules[1]
            t = rule(tb, ans, va, vb, **params) if params else rule(tb, ans, va, vb)
        else:
            rule = rules[0]
            t = rule(ta, ans, va, vb, **params) if params else rule(ta, ans, va, vb)
            if tb is not None:
                rule = rules[1]
                u = rule(tb, ans, va, vb, **params) if params else rule(tb, ans, va, vb)
                if u is not None:
                    t = u if t is None else t + u
        if t is None:  # the rules gave symbolic zeros
            return ans
        if getattr(t, "shape", ()) != getattr(ans, "shape", ()):
            t = broadcast_tangent(t, ans)
        return Dual(ans, t, self)


class Dual(Box):
    """A dual number ``primal + tangent·ε`` belonging to one forward trace.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> out, tangent = ad.jvp(lambda x: x * x, (3.0,), (1.0,))
        >>> float(out), float(tangent)
        (9.0, 6.0)
    """

    __slots__ = ("_trace", "_value", "tangent")

    def __init__(self, primal: Any, tangent: Any, trace: ForwardTrace) -> None:
        self._value = primal
        self.tangent = tangent
        self._trace = trace

    @property
    def primal(self) -> Any:
        return self._value

    def __repr__(self) -> str:
        return f"Dual(primal={raw(self._value)!r}, tangent={raw(self.tangent)!r})"


def _as_tuple(x: Any, what: str) -> tuple:
    if isinstance(x, (tuple, list)):
        return tuple(x)
    raise TypeError(
        f"{what} must be a tuple (or list) with one entry per argument of f, "
        f"got {type(x).__name__}; write jvp(f, (x,), (v,)) for one argument"
    )


def _check_tangent(primal: Any, tangent: Any, i: int | str) -> Any:
    tangent = check_float(tangent, f"tangent {i}")
    pshape, tshape = shape_of(primal), shape_of(tangent)
    if pshape != tshape:
        raise ValueError(
            f"tangent {i} has shape {tshape} but primal {i} has shape {pshape}; "
            "a tangent must have the shape of its primal"
        )
    if raw(tangent).dtype != raw(primal).dtype:
        if isinstance(tangent, Box):
            raise TypeError(
                f"tangent {i} has dtype {raw(tangent).dtype} but primal {i} has dtype "
                f"{raw(primal).dtype}; they must match"
            )
        tangent = asarray_like(tangent, raw(primal), dtype=raw(primal).dtype)
    return tangent


def jvp(
    f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool = False
) -> tuple:
    """Evaluate ``f(*primals)`` and its directional derivative ``J·tangents`` in one sweep.

    Args:
        f: a function of arrays, written with NumPy or ``autodiff`` functions.
        primals: the point, one entry per argument of ``f`` (arrays or Python floats); an
            entry may be a pytree (nested dicts, lists, tuples, namedtuples of arrays).
        tangents: the direction, same structures, shapes and dtypes as ``primals``.
        has_aux: ``f`` returns a pair ``(out, aux)``; ``aux`` comes back as plain values.

    Returns:
        ``(out, tangent_out)``: ``f(*primals)`` and ``J·v``, both with the structure of ``f``'s
        output (``(out, tangent_out, aux)`` with ``has_aux``). An output that does not depend
        on the inputs has a zero tangent.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> a, b = np.array([2.0, 3.0]), np.array([6.0, 4.0])
        >>> Q = lambda a, b: 3 * a**3 - b**2
        >>> ad.jvp(Q, (a, b), (np.ones(2), np.zeros(2)))[1]   # dQ/da · 1 = 9a²
        array([36., 81.])
    """
    primals = _as_tuple(primals, "primals")
    tangents = _as_tuple(tangents, "tangents")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp got {len(primals)} primals but {len(tangents)} tangents")
    flat_p, trees = flatten_args(f, primals, range(len(primals)), "jvp", label="primal {k}")
    flat_t = []
    for i, (treedef, t) in enumerate(zip(trees, tangents)):
        pairs, t_tree = tree.flatten_with_paths(t)
        if t_tree != treedef:
            raise TypeError(
                f"tangent {i} has structure {t_tree} but primal {i} has structure {treedef}; "
                "a tangent must have the structure of its primal"
            )
        flat_t.extend((f"{i}{path}", leaf) for path, leaf in pairs)
    flat_t = tuple(_check_tangent(p, t, i) for p, (i, t) in zip(flat_p, flat_t))
    mark = level_mark() if has_aux else 0
    found: list = []  # (out structure, aux)

    g = flat_function(f, trees, has_aux, "jvp", found)

    out, t = jvp_batched(g, flat_p, flat_t, batch=0)
    out_tree, aux = found[-1]
    if not out_tree.is_leaf:
        out, t = tree.unflatten(out_tree, out), tree.unflatten(out_tree, t)
    return (out, t, unbox_aux(aux, mark)) if has_aux else (out, t)


def jvp_batched(f: Callable[..., Any], primals: tuple, tangents: tuple, batch: int) -> Any:
    """``jvp`` without input checks; ``batch=1`` pushes a stack of tangents through one sweep."""
    trace = ForwardTrace(batch)
    try:
        out = f(*[Dual(p, t, trace) for p, t in zip(primals, tangents)])
        check_outputs(out, "jvp")
    finally:
        retire(trace)
    if isinstance(out, tuple):
        pairs = [_unpack(o, trace, batch, tangents) for o in out]
        return tuple(p for p, _ in pairs), tuple(t for _, t in pairs)
    return _unpack(out, trace, batch, tangents)


def _unpack(out: Any, trace: ForwardTrace, batch: int, tangents: tuple) -> tuple[Any, Any]:
    if type(out) is Dual and out._trace is trace:
        return out._value, out.tangent
    if isinstance(out, (int, float, complex)):
        out = np.asarray(out, dtype=complex if isinstance(out, complex) else float)
    batch_shape = tuple(shape_of(tangents[0])[:batch]) if tangents else ()
    value = raw(out)
    return out, zeros_like(value, batch_shape + shape_of(out), float_dtype(value))


__all__ = ["Dual", "ForwardTrace", "jvp", "jvp_batched"]
