"""Reverse mode: a Wengert tape and the backward sweep over it.

Every op applied to a :class:`Traced` value appends a :class:`Node` to the tape: the op, the
inputs it saw, its output, and which earlier nodes those inputs came from. The nodes carry an
increasing sequence number, so the tape is the nodes in the order they ran. The backward sweep
walks the tape from the output towards the inputs, highest sequence number first, and applies each
op's VJP rule to accumulate cotangents: one sweep gives ``Jᵀ·u``.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Container, Sequence
from typing import Any

import numpy as np

from autodiff import tree
from autodiff.arrays import float_dtype, ones_like, zeros_like
from autodiff.boundary import (
    flat_function,
    flatten_args,
    level_mark,
    split_aux,
    substitute,
    unbox_aux,
    unflatten_args,
)
from autodiff.core import (
    EMPTY,
    LEAN_MIN_SIZE,
    Box,
    Stub,
    Trace,
    bind,
    bind2,
    check_complex_inputs,
    check_complex_outputs,
    check_float,
    check_outputs,
    cotangent_dtype,
    lean,
    missing_rule,
    raw,
    retire,
    shape_of,
    unbroadcast,
    vjp_rule,
)
from autodiff.registry import Op

_next_seq = itertools.count().__next__


class Node:
    """One entry of the tape: ``ans = op(*args, **params)``; ``parents[i]`` made ``args[i]``."""

    __slots__ = ("ans", "args", "op", "params", "parents", "seq")

    def __init__(self, op: Op | None, args: Any, params: dict, ans: Any, parents: Any) -> None:
        self.op = op
        self.args = args
        self.params = params
        self.ans = ans
        self.parents = parents
        self.seq = _next_seq()

    def __lt__(self, other: Node) -> bool:  # heap order: later nodes first
        return self.seq > other.seq


class ReverseTrace(Trace):
    """One ``vjp`` in progress: records a node for every op on its :class:`Traced` values."""

    __slots__ = ()

    def process(self, op: Op, args: tuple | list, params: dict[str, Any]) -> Any:
        if len(args) == 1:
            return self.process1(op, args[0], params)
        if len(args) == 2:
            return self.process2(op, args[0], args[1], params)
        primals, parents = [], []
        for a in args:
            if type(a) is Traced and a._trace is self:
                primals.append(a._value)
                parents.append(a.node)
            else:
                primals.append(a)
                parents.append(None)
        ans = bind(op, primals, params)
        if not op.differentiable:
            return ans
        saved, saved_ans = lean(op, primals, ans)
        return Traced(ans, Node(op, saved, params, saved_ans, parents), self)

    # process1 and process2 are the hot path of reverse mode: keep them flat.
    def process1(self, op: Op, a: Any, params: dict[str, Any] = EMPTY) -> Any:
        if type(a) is Traced and a._trace is self:
            v, parent = a._value, a.node
        else:
            v, parent = a, None
        if isinstance(v, Box):
            ans = v._trace.process1(op, v, params)  # bind(), one box
        else:
            ans = op.primal(v, **params) if params else op.primal(v)
        if not op.differentiable:
            return ans
        keeps = op.keeps
        # lean() has nothing to drop when the rules read every argument and ans is kept or small
        if keeps is None or (
            not keeps[1] and (keeps[0] or (type(ans) is np.ndarray and ans.size < LEAN_MIN_SIZE))
        ):
            return Traced(ans, Node(op, (v,), params, ans, (parent,)), self)
        saved, saved_ans = lean(op, (v,), ans)
        return Traced(ans, Node(op, saved, params, saved_ans, (parent,)), self)

    def process2(self, op: Op, a: Any, b: Any, params: dict[str, Any] = EMPTY) -> Any:
        if type(a) is Traced and a._trace is self:
            va, pa = a._value, a.node
        else:
            va, pa = a, None
        if type(b) is Traced and b._trace is self:
            vb, pb = b._value, b.node
        else:
            vb, pb = b, None
        if isinstance(va, Box) or isinstance(vb, Box):
            ans = bind2(op, va, vb, params)
        else:
            ans = op.primal(va, vb, **params) if params else op.primal(va, vb)
        if not op.differentiable:
            return ans
        keeps = op.keeps
        # lean() has nothing to drop when ans is kept or small and every argument that no rule
        # reads is small (or a Python float): spelled out here, it costs a third of the call
        if keeps is None or (
            (keeps[0] or (type(ans) is np.ndarray and ans.size < LEAN_MIN_SIZE))
            and (
                not keeps[1]
                or (
                    (type(va) is float or (type(va) is np.ndarray and va.size < LEAN_MIN_SIZE))
                    and (type(vb) is float or (type(vb) is np.ndarray and vb.size < LEAN_MIN_SIZE))
                )
            )
        ):
            return Traced(ans, Node(op, (va, vb), params, ans, (pa, pb)), self)
        saved, saved_ans = lean(op, (va, vb), ans)
        return Traced(ans, Node(op, saved, params, saved_ans, (pa, pb)), self)


class Traced(Box):
    """A value recorded on a reverse-mode tape.

    Examples:
        >>> import autodiff as ad
        >>> ad.grad(lambda x: x * x)(3.0)
        np.float64(6.0)
    """

    __slots__ = ("_trace", "_value", "node")

    def __init__(self, value: Any, node: Node, trace: ReverseTrace) -> None:
        self._value = value
        self.node = node
        self._trace = trace

    def __repr__(self) -> str:
        return f"Traced({raw(self._value)!r}, node={self.node.seq})"


def backward_sweep(
    seeds: Sequence[tuple[Node, Any]],
    batch: int = 0,
    keep: Container[Node] = (),
    prepare: Callable[[Node], tuple[Any, Any]] | None = None,
    release: bool = False,
) -> dict[Node, Any]:
    """Propagate cotangents from ``seeds`` back through the tape, latest node first.

    Args:
        seeds: ``(node, cotangent)`` pairs to start from.
        batch: 1 when the cotangents carry a leading batch axis.
        keep: non-leaf nodes whose total cotangent should also be returned.
        prepare: ``prepare(node) -> (args, ans)`` gives the values the node's VJP rule sees
            (the ``Tensor`` facade uses it to check versions and to differentiate the sweep
            itself with ``create_graph``); by default the values saved on the node.
        release: drop each node's saved values as soon as its rule has run, so the memory of
            the forward pass is given back during the sweep (a graph swept only once).

    Returns:
        The cotangents that reached leaf nodes (nodes with no op) and the ``keep`` nodes.
    """
    cts: dict[Node, Any] = {}
    heap: list[Node] = []  # latest node first (Node.__lt__); a chain never compares
    push, pop = heapq.heappush, heapq.heappop
    for node, ct in seeds:
        if node in cts:
            cts[node] = cts[node] + ct
        else:
            cts[node] = ct
            push(heap, node)
    found: dict[Node, Any] = {}
    node = None  # set when a chain hands its only cotangent straight to the next node
    while node is not None or heap:
        if node is None:
            node = pop(heap)
            g = cts.pop(node)
        op = node.op
        if op is None:
            found[node] = g
            node = None
            continue
        if keep and node in keep:
            found[node] = g
        args, ans = (node.args, node.ans) if prepare is None else prepare(node)
        parents = node.parents
        rules = op.vjp
        if batch or op.vjp_whole or rules is None or len(parents) > 2:
            needs = [p is not None for p in parents]
            in_cts = vjp_rule(op, g, ans, args, node.params, needs, batch)
            if release:
                node.args = node.ans = args = ans = None
            for p, c in zip(parents, in_cts):
                if p is None or c is None:
                    continue
                if p in cts:
                    cts[p] = cts[p] + c
                else:
                    cts[p] = c
                    push(heap, p)
            node = None
            continue
        # The common case inlined and unrolled: one or two arguments, a rule for each.
        params = node.params
        pa, ca = parents[0], None
        if pa is not None:
            rule = rules[0]
            if rule is None:
                raise missing_rule(op, "reverse")
            ca = rule(g, ans, *args, **params) if params else rule(g, ans, *args)
            if ca is not None:
                x = args[0]
                if ca.shape != x.shape:
                    ca = unbroadcast(ca, x.shape, 0)
                if ca.dtype != x.dtype:
                    ca = cotangent_dtype(ca, x)
        pb = cb = None
        if len(parents) == 2:
            pb = parents[1]
            if pb is not None:
                rule = rules[1]
                if rule is None:
                    raise missing_rule(op, "reverse")
                cb = rule(g, ans, *args, **params) if params else rule(g, ans, *args)
                if cb is not None:
                    x = args[1]
                    if cb.shape != x.shape:
                        cb = unbroadcast(cb, x.shape, 0)
                    if cb.dtype != x.dtype:
                        cb = cotangent_dtype(cb, x)
        if release:
            node.args = node.ans = args = ans = None
        node = None
        if cb is not None:
            if pb in cts:
                cts[pb] = cts[pb] + cb
            else:
                cts[pb] = cb
                push(heap, pb)
        if ca is not None:
            if pa in cts:
                cts[pa] = cts[pa] + ca
            elif heap:
                cts[pa] = ca
                push(heap, pa)
            else:  # nothing else is pending, so pa is next: skip the heap and the dict
                node, g = pa, ca
    return found


def tape_nodes(outputs: Sequence[Node]) -> list[Node]:
    """The nodes that ``outputs`` depend on, in the order they ran (the Wengert list)."""
    seen: dict[int, Node] = {}
    stack = list(outputs)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        stack.extend(p for p in node.parents if p is not None)
    return sorted(seen.values(), key=lambda n: n.seq)


class Tape:
    """The Wengert list of a recorded function, printable as a table.

    ``entries`` are the recorded nodes in the order they ran; inputs are numbered
    ``v₋ₙ₊₁ … v₀`` and operations ``v₁ … vₗ``, as in the AD literature.
    """

    def __init__(self, inputs: Sequence[Node], outputs: Sequence[Node]) -> None:
        nodes = tape_nodes(list(outputs) + list(inputs))
        self.inputs = list(inputs)
        ops = [n for n in nodes if n.op is not None]
        self.entries = ops
        self.names: dict[int, str] = {}
        n = len(self.inputs)
        for k, leaf in enumerate(self.inputs):
            self.names[id(leaf)] = f"v{_sub(k - n + 1)}"
        for k, node in enumerate(ops, start=1):
            self.names[id(node)] = f"v{_sub(k)}"
        self.outputs = list(outputs)

    def name(self, node: Node) -> str:
        return self.names[id(node)]

    def rows(self) -> list[tuple[str, str, str, str]]:
        """``(name, op, inputs, output shape)`` for every input and entry."""
        out = []
        for leaf in self.inputs:
            out.append((self.name(leaf), "input", "", str(shape_of(leaf.ans))))
        for node in self.entries:
            ins = []
            for arg, parent in zip(node.args, node.parents):
                ins.append(self.name(parent) if parent is not None else _const(arg))
            extra = ", ".join(f"{k}={v!r}" for k, v in node.params.items())
            op = node.op.name + (f"({extra})" if extra else "")
            out.append((self.name(node), op, ", ".join(ins), str(shape_of(node.ans))))
        return out

    def __len__(self) -> int:
        return len(self.entries)

    def __str__(self) -> str:
        head = ("entry", "op", "inputs", "shape")
        rows = [head, *self.rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        line = "  ".join("-" * w for w in widths)
        text = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        return "\n".join([text[0], line, *text[1:]])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        """Jupyter shows the tape as an HTML table (``ad.viz.graph(tape)`` draws it)."""
        from html import escape

        def row(tag: str, cells: Sequence[str]) -> str:
            return "<tr>" + "".join(f"<{tag}>{escape(c)}</{tag}>" for c in cells) + "</tr>"

        n, m = len(self.inputs), len(self)
        caption = f"Tape: {n} input{'s' * (n != 1)}, {m} entr{'y' if m == 1 else 'ies'}"
        return "\n".join([
            f"<table><caption>{escape(caption)}</caption>",
            f"<thead>{row('th', ('entry', 'op', 'inputs', 'shape'))}</thead><tbody>",
            *(row("td", r) for r in self.rows()),
            "</tbody></table>",
        ])  # fmt: skip


def _const(x: Any) -> str:
    value = raw(x)
    if isinstance(value, Stub):
        return f"const{value.shape}"
    if np.ndim(value) == 0:
        return f"{float(value):g}" if np.isrealobj(value) else repr(value)
    return f"const{shape_of(value)}"


_SUBSCRIPTS = str.maketrans("-0123456789", "₋₀₁₂₃₄₅₆₇₈₉")


def _sub(k: int) -> str:
    return str(k).translate(_SUBSCRIPTS)


# --------------------------------------------------------------------------------------------
# The functional API: vjp, grad, value_and_grad, tape
# --------------------------------------------------------------------------------------------


def record(
    f: Callable[..., Any], primals: Sequence[Any], who: str
) -> tuple[Any, tuple, list[Node], ReverseTrace]:
    """Run ``f`` on fresh leaves of a new trace: ``(out, outputs, leaf nodes, trace)``, where
    ``outputs`` is ``out`` as a checked tuple. The trace is retired when ``f`` returns, so a
    box that escapes ``f`` cannot be used later by mistake."""
    trace = ReverseTrace()
    leaves = [Node(None, (), {}, p, ()) for p in primals]
    try:
        out = f(*[Traced(p, leaf, trace) for p, leaf in zip(primals, leaves)])
        outs = check_outputs(out, who)
    finally:
        retire(trace)
    return out, outs, leaves, trace


def snapshot(x: Any) -> Any:
    """A private copy of a caller's writeable array, for a derivative used after the call
    returns: the caller may change its arrays in place, and the derivative must stay the one at
    the point where it was recorded."""
    if isinstance(x, np.ndarray) and x.flags.writeable and x.size:
        return x.copy(order="K")  # keep the memory layout: ravel(order="K") must not change
    return x


def held_copy(value: Any, node: Node | None) -> Any:
    """An output handed to the caller, copied when the tape keeps the same array (a rule reads
    it): the caller may change it in place without changing a later pullback."""
    if node is not None and value is node.ans and isinstance(value, np.ndarray) and value.size:
        return value.copy()
    return value


class Pullback:
    """The VJP of a recorded function: ``pullback(cotangent) -> tuple of input cotangents``.

    It can be called many times, with different cotangents. ``pullback.tape`` is the recorded
    Wengert list.
    """

    def __init__(self, out: Any, leaves: list[Node], trace: ReverseTrace, primals: tuple) -> None:
        self._multi = isinstance(out, tuple)
        outs = out if self._multi else (out,)
        self._out_nodes = [o.node if _owned(o, trace) else None for o in outs]
        self._out_shapes = [shape_of(o) for o in outs]
        self._out_dtypes = [_float_dtype(o) for o in outs]
        self._leaves = leaves
        self._primals = primals

    @property
    def tape(self) -> Tape:
        return Tape(self._leaves, [n for n in self._out_nodes if n is not None])

    def __call__(self, cotangent: Any) -> tuple:
        cts = cotangent if self._multi else (cotangent,)
        if self._multi and (not isinstance(cts, tuple) or len(cts) != len(self._out_nodes)):
            raise TypeError(f"f returned {len(self._out_nodes)} outputs; pass a tuple of as many")
        seeds = []
        for i, (node, ct) in enumerate(zip(self._out_nodes, cts)):
            ct = _check_cotangent(ct, self._out_shapes[i], self._out_dtypes[i], i)
            if node is not None:
                seeds.append((node, ct))
        return self.sweep(seeds, batch=0)

    def batched(self, cotangents: Any, checked: bool = False) -> tuple:
        """Many VJPs in one sweep: ``cotangents`` has a leading batch axis (``(k,) + out.shape``).

        Returns per input an array of shape ``(k,) + input.shape``: row ``i`` is ``Jᵀ·uᵢ``.
        Ops whose rules cannot take a batch axis are swept once per row, so this is never wrong.
        ``checked=True``: the cotangents are already float arrays (a Jacobian's seeds).
        """
        cts = cotangents if self._multi else (cotangents,)
        seeds = []
        for i, (node, ct) in enumerate(zip(self._out_nodes, cts)):
            if not checked:
                ct = check_float(ct, "cotangent")
            if shape_of(ct)[1:] != self._out_shapes[i]:
                raise ValueError(
                    f"batched cotangent has shape {shape_of(ct)}; expected (k,) + "
                    f"{self._out_shapes[i]} for output {i}"
                )
            if node is not None:
                seeds.append((node, ct))
        if not seeds:
            k = shape_of(cts[0])[0]
            return tuple(
                zeros_like(raw(p), (k, *shape_of(p)), _float_dtype(p)) for p in self._primals
            )
        return self.sweep(seeds, batch=1)

    def sweep(self, seeds: list, batch: int) -> tuple:
        """The backward sweep for already-checked seeds; ``batch=1`` stacks many cotangents."""
        batch_shape = shape_of(seeds[0][1])[:batch] if seeds else ()
        leaf_cts = backward_sweep(seeds, batch) if seeds else {}
        result = []
        for leaf, p in zip(self._leaves, self._primals):
            ct = leaf_cts.get(leaf)
            if ct is None:
                ct = zeros_like(raw(p), batch_shape + shape_of(p), _float_dtype(p))
            result.append(ct)
        return tuple(result)


def _owned(x: Any, trace: ReverseTrace) -> bool:
    return type(x) is Traced and x._trace is trace


def _float_dtype(x: Any) -> np.dtype:
    return float_dtype(raw(x))  # read the dtype only: a value batched by vmap has no single value


def _check_cotangent(ct: Any, shape: tuple, dtype: np.dtype, i: int) -> Any:
    ct = check_float(ct, "cotangent")
    if shape_of(ct) != shape:
        raise ValueError(
            f"cotangent has shape {shape_of(ct)} but output {i} of f has shape {shape}; "
            "a cotangent must have the shape of the output it belongs to"
        )
    if not isinstance(ct, Box) and ct.dtype != dtype:
        ct = ct.astype(dtype)
    return ct


def vjp(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple:
    """Evaluate ``f(*primals)`` on a tape, and return its vector-Jacobian product.

    Args:
        f: a function of arrays, written with NumPy or ``autodiff`` functions.
        *primals: the point (arrays or Python floats; floating point), each may be a pytree
            (nested dicts, lists, tuples, namedtuples of arrays).
        has_aux: ``f`` returns a pair ``(out, aux)``; ``aux`` comes back as plain values.

    Returns:
        ``(out, pullback)`` (``(out, pullback, aux)`` with ``has_aux``) where ``pullback(u)`` is
        the tuple ``(Jᵀu)`` per input; ``u`` has the structure of ``out`` and each ``Jᵀu`` the
        structure of its input. It can be called many times. ``pullback.tape`` is the recorded
        Wengert list.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> a, b = np.array([2.0, 3.0]), np.array([6.0, 4.0])
        >>> Q, pullback = ad.vjp(lambda a, b: 3 * a**3 - b**2, a, b)
        >>> pullback(np.ones(2))      # (9a², -2b)
        (array([36., 81.]), array([-12.,  -8.]))
    """
    nums = tuple(range(len(primals)))
    flat, trees = flatten_args(f, primals, nums, "vjp")
    # the pullback may be called after the caller has changed its arrays in place
    flat = tuple(snapshot(p) for p in flat)
    mark = level_mark() if has_aux else 0
    found: list = []  # (out structure, aux)

    g = flat_function(f, trees, has_aux, "vjp", found)

    out, pullback = _vjp(g, flat, "vjp", held=True)
    out_tree, aux = found[-1]
    if not (all(t.is_leaf for t in trees) and _leaf_or_tuple_of_leaves(out_tree)):
        out = tree.unflatten(out_tree, (out,) if out_tree.is_leaf else out)
        pullback = TreePullback(pullback, trees, out_tree)
    if has_aux:
        hold = lambda b: held_copy(b._value, getattr(b, "node", None))  # noqa: E731
        return out, pullback, unbox_aux(aux, mark, hold)
    return out, pullback


class TreePullback:
    """The pullback of a function of pytrees: ``pullback(u)`` takes ``u`` with the structure of
    the output and gives one cotangent per input, each with the structure of its input."""

    def __init__(self, flat: Pullback, in_trees: list, out_tree: Any) -> None:
        self._flat = flat
        self._in_trees = in_trees
        self._out_tree = out_tree

    @property
    def tape(self) -> Tape:
        return self._flat.tape

    def __call__(self, cotangent: Any) -> tuple:
        leaves, ct_tree = tree.flatten(cotangent)
        if ct_tree != self._out_tree:
            raise TypeError(
                f"the cotangent has structure {ct_tree}, but f's output has structure "
                f"{self._out_tree}; pass a cotangent with the output's structure"
            )
        flat = self._flat(leaves[0] if self._out_tree.is_leaf else tuple(leaves))
        return tuple(unflatten_args(self._in_trees, flat))


def _leaf_or_tuple_of_leaves(treedef: Any) -> bool:
    """Whether a flat :class:`Pullback` already takes and gives this structure."""
    return treedef.is_leaf or (treedef.kind == "tuple" and all(c.is_leaf for c in treedef.children))


def _vjp(f: Callable[..., Any], primals: tuple, who: str, held: bool) -> tuple[Any, Pullback]:
    """``vjp`` on checked primals; ``held``: the pullback outlives the call (copy outputs the
    tape shares with the caller)."""
    out, outs, leaves, trace = record(f, primals, who)
    values = []
    for o in outs:
        if _owned(o, trace):
            values.append(held_copy(o._value, o.node) if held else o._value)
        else:
            values.append(o)
    pullback = Pullback(out, leaves, trace, primals)
    return (tuple(values) if isinstance(out, tuple) else values[0]), pullback


def tape(f: Callable[..., Any], *primals: Any) -> Tape:
    """Record ``f(*primals)`` and return its Wengert tape, ready to print.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> print(ad.tape(lambda x: np.sin(x) * x, 1.0))
        entry  op        inputs  shape
        -----  --------  ------  -----
        v₀     input             ()
        v₁     sin       v₀      ()
        v₂     multiply  v₁, v₀  ()
    """
    return vjp(f, *primals)[1].tape


def _argnums_tuple(argnums: int | Sequence[int], n: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for k in nums:
        if not isinstance(k, int) or not -n <= k < n:
            raise ValueError(f"argnums {argnums!r} does not fit a function called with {n} args")
    return tuple(k % n for k in nums)


def value_and_grad(
    f: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., tuple[Any, Any]]:
    """Like :func:`grad`, but the returned function gives ``(f(*args), gradient)``.

    With ``has_aux=True`` (``f`` returns ``(value, aux)``) it gives ``((value, aux), gradient)``,
    as in JAX.

    Examples:
        >>> import autodiff as ad
        >>> ad.value_and_grad(lambda x: x**3)(2.0)
        (np.float64(8.0), np.float64(12.0))
    """

    def value_and_grad_f(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        nums = _argnums_tuple(argnums, len(args))
        primals, trees = flatten_args(f, args, nums, "grad")
        check_complex_inputs(primals, holomorphic, "grad", "reverse")
        mark = level_mark() if has_aux else 0
        aux_out = []

        def g(*leaves):
            out = f(*substitute(args, nums, unflatten_args(trees, leaves)), **kwargs)
            if has_aux:
                out, aux = split_aux(out, "grad")
                aux_out.append(aux)
            if tree.is_node(out) and out is not None:
                _not_scalar(f"a {type(out).__name__}")
            return out

        out, pullback = _vjp(g, primals, "grad", held=False)
        if shape_of(out) != ():
            _not_scalar(f"shape {shape_of(out)}")
        check_complex_outputs(out, holomorphic, "grad", "reverse")
        flat = pullback(ones_like(raw(out), (), _float_dtype(out)))  # the output's array type
        grads = unflatten_args(trees, flat)
        grads = grads[0] if isinstance(argnums, int) else tuple(grads)
        if has_aux:
            return (out, unbox_aux(aux_out[-1], mark)), grads
        return out, grads

    return value_and_grad_f


def _not_scalar(what: str) -> None:
    raise TypeError(
        f"grad requires f to return a scalar, but it returned {what}; "
        "use ad.vjp(f, x) with a cotangent for Jᵀu, or ad.jacrev(f) for the Jacobian"
    )


def grad(
    f: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """The gradient of a scalar function, by one reverse sweep.

    Args:
        f: a function returning a scalar (0-d) value.
        argnums: which positional argument(s) to differentiate; a tuple gives a tuple.
            An argument may be a pytree (nested dicts, lists, tuples, namedtuples of arrays):
            its gradient is a pytree of the same structure.
        has_aux: ``f`` returns a pair ``(value, aux)``; the gradient function then returns
            ``(gradient, aux)``, with ``aux`` as plain values (as in JAX).
        holomorphic: ``f`` is complex-differentiable (complex inputs and a complex output);
            the gradient is then ``f'(z)``. Without it a complex output is a TypeError.

    Complex numbers follow JAX: for a real ``f`` of ``z = a + ib`` the gradient is
    ``∂f/∂a - i·∂f/∂b`` (the ``Tensor`` facade gives its conjugate, as PyTorch does).

    Returns:
        A function with the signature of ``f`` returning the gradient(s).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> loss = lambda w, x, b, y: ((w * x + b - y) ** 2).sum()
        >>> ad.grad(loss)(0.6614, -0.6014, 0.2669, -1.0122)   # 2(z - y)·x
        np.float64(-1.06006...)
        >>> ad.grad(lambda p: np.sum(p["w"] ** 2) + p["b"])({"w": np.ones(2), "b": 3.0})
        {'b': array(1.), 'w': array([2., 2.])}
        >>> ad.grad(lambda z: abs(z) ** 2)(3 + 4j)
        np.complex128(6-8j)
        >>> ad.grad(lambda z: z**2, holomorphic=True)(3 + 4j)
        np.complex128(6+8j)
    """

    vg = value_and_grad(f, argnums, has_aux, holomorphic)

    def grad_f(*args: Any, **kwargs: Any) -> Any:
        value, grads = vg(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return grad_f
