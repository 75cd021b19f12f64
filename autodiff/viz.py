"""Pictures of a recorded computation: its graph (Mermaid or DOT) and its evaluation traces.

* :func:`graph` draws what a ``Tensor`` (or a ``vjp`` tape) recorded: leaves, the ops with
  PyTorch-like names, and the output. Leaves that require grad are highlighted in blue, as in the
  figure of PyTorch's autograd tutorial.
* :func:`trace_table` prints the three evaluation traces of the AD literature for a small
  function: the primal trace (``v₋₁ = x₁``, ``v₁ = sin(v₀)``, ...), the tangent trace of forward
  mode (``v̇ᵢ``) and the adjoint trace of reverse mode (``v̄ᵢ``), all over the same Wengert list.

In Jupyter both render by themselves: a :class:`Graph` as an SVG picture (laid out here, with no
Graphviz needed), a :class:`TraceTable` as HTML tables (so does a ``Tape``).
"""

from __future__ import annotations

import hashlib
import html
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autodiff.core import Stub, jvp_rule, raw
from autodiff.reverse import Node, Pullback, Tape, backward_sweep, tape_nodes, vjp

# ---- graphs -------------------------------------------------------------------------------------


@dataclass
class Graph:
    """A recorded computation as nodes and edges; render it with :meth:`mermaid` or :meth:`dot`."""

    nodes: list[tuple[str, str, str]] = field(default_factory=list)  # (id, label, kind)
    edges: list[tuple[str, str]] = field(default_factory=list)  # (from, to)

    def mermaid(self, direction: str = "BT") -> str:
        """Mermaid ``flowchart`` text (leaves requiring grad in blue)."""
        shape = {"leaf": '["{}"]', "const": '(["{}"])', "op": '["{}"]', "output": '[["{}"]]'}
        lines = [f"flowchart {direction}"]
        for nid, label, kind in self.nodes:
            lines.append(f"    {nid}{shape[kind].format(label)}:::{kind}")
        lines += [f"    {a} --> {b}" for a, b in self.edges]
        lines += [
            "    classDef leaf fill:#cfe2ff,stroke:#1f5fbf,color:#0b2a55",
            "    classDef const fill:#eeeeee,stroke:#999999,color:#444444",
            "    classDef op fill:#ffffff,stroke:#666666",
            "    classDef output fill:#fff3cd,stroke:#b58900",
        ]
        return "\n".join(lines)

    def dot(self) -> str:
        """Graphviz DOT text (leaves requiring grad in blue)."""
        style = {
            "leaf": 'shape=box style=filled fillcolor="#cfe2ff"',
            "const": 'shape=ellipse style=filled fillcolor="#eeeeee"',
            "op": "shape=box",
            "output": 'shape=box style="filled,bold" fillcolor="#fff3cd"',
        }
        lines = ["digraph autodiff {", "    rankdir=BT;"]
        for nid, label, kind in self.nodes:
            lines.append(f'    {nid} [label="{label}" {style[kind]}];')
        lines += [f"    {a} -> {b};" for a, b in self.edges]
        lines.append("}")
        return "\n".join(lines)

    def svg(self, direction: str = "BT") -> str:
        """A standalone SVG picture, laid out in layers (``"BT"``: inputs at the bottom, as in
        :meth:`mermaid`; ``"TB"``: at the top). Needs no Graphviz.

        Examples:
            >>> import autodiff as ad
            >>> x = ad.tensor([1.0, 2.0], requires_grad=True)
            >>> ad.viz.graph((x * x).sum(), names={"x": x}).svg()[:4]
            '<svg'
        """
        if direction not in ("BT", "TB"):
            raise ValueError(f"svg() direction must be 'BT' or 'TB', not {direction!r}")
        return _svg(self, direction)

    def _repr_svg_(self) -> str:
        """Jupyter shows the graph as a picture."""
        return self.svg()

    def __str__(self) -> str:
        return self.mermaid()


# fill, stroke, text colour per kind: the same as the Mermaid classDefs
_SVG_STYLE = {
    "leaf": ("#cfe2ff", "#1f5fbf", "#0b2a55"),
    "const": ("#eeeeee", "#999999", "#444444"),
    "op": ("#ffffff", "#666666", "#222222"),
    "output": ("#fff3cd", "#b58900", "#222222"),
}
_BOX_H, _GAP_X, _GAP_Y, _MARGIN, _CHAR_W = 28, 18, 44, 12, 7.4


def _layers(g: Graph) -> list[list[str]]:
    """Nodes in layers: a node sits one above its highest input; constants just below their user."""
    preds: dict[str, list[str]] = {nid: [] for nid, _, _ in g.nodes}
    succs: dict[str, list[str]] = {nid: [] for nid, _, _ in g.nodes}
    for a, b in g.edges:
        preds[b].append(a)
        succs[a].append(b)
    kind = {nid: k for nid, _, k in g.nodes}
    rank: dict[str, int] = {}
    pending = [nid for nid, _, _ in g.nodes]
    while pending:  # the graph is acyclic: each pass places at least one node
        rest = []
        for nid in pending:
            if all(p in rank for p in preds[nid]):
                rank[nid] = 1 + max((rank[p] for p in preds[nid]), default=-1)
            else:
                rest.append(nid)
        if len(rest) == len(pending):
            raise ValueError("the graph has a cycle")
        pending = rest
    for nid in rank:
        if kind[nid] == "const" and not preds[nid] and succs[nid]:
            rank[nid] = max(min(rank[s] for s in succs[nid]) - 1, 0)
    layers: list[list[str]] = [[] for _ in range(max(rank.values(), default=-1) + 1)]
    for nid, _, _ in g.nodes:
        layers[rank[nid]].append(nid)
    # fewer crossings: sort each layer by the mean position of its neighbours (barycentres),
    # sweeping up by inputs and down by users, twice; layers are centred, so positions are too
    pos: dict[str, float] = {}

    def place(layer: list[str]) -> None:
        pos.update({nid: i - (len(layer) - 1) / 2 for i, nid in enumerate(layer)})

    def by(layer: list[str], near: dict[str, list[str]]) -> None:
        def key(nid: str) -> float:
            known = [pos[m] for m in near[nid] if m in pos]
            return sum(known) / len(known) if known else pos.get(nid, 0.0)

        layer.sort(key=key)
        place(layer)

    for layer in layers:
        place(layer)
    for _ in range(2):
        for layer in layers[1:]:
            by(layer, preds)
        for layer in reversed(layers[:-1]):
            by(layer, succs)
    for layer in layers[1:]:
        by(layer, preds)
    return layers


def _svg(g: Graph, direction: str) -> str:
    label = {nid: lab for nid, lab, _ in g.nodes}
    kind = {nid: k for nid, _, k in g.nodes}
    width = {nid: max(44.0, _CHAR_W * _width(lab) + 20) for nid, lab, _ in g.nodes}
    layers = _layers(g)
    rows = [sum(width[n] for n in layer) + _GAP_X * (len(layer) - 1) for layer in layers]
    total_w = max(rows, default=0.0) + 2 * _MARGIN
    total_h = len(layers) * _BOX_H + max(len(layers) - 1, 0) * _GAP_Y + 2 * _MARGIN
    box: dict[str, tuple[float, float]] = {}  # top-left corner
    for r, (layer, row_w) in enumerate(zip(layers, rows)):
        level = len(layers) - 1 - r if direction == "BT" else r
        x = (total_w - row_w) / 2
        for nid in layer:
            box[nid] = (x, _MARGIN + level * (_BOX_H + _GAP_Y))
            x += width[nid] + _GAP_X
    body = []
    many = Counter(g.edges)
    seen: Counter[tuple[str, str]] = Counter()
    for a, b in g.edges:
        k = seen[a, b]
        seen[a, b] += 1
        shift = (k - (many[a, b] - 1) / 2) * 8  # x * x: two arrows side by side
        (ax, ay), (bx, by) = box[a], box[b]
        x0, x1 = ax + width[a] / 2 + shift, bx + width[b] / 2 + shift
        y0, y1 = (ay, by + _BOX_H) if direction == "BT" else (ay + _BOX_H, by)
        mid = (y0 + y1) / 2
        body.append(f'<path d="M{x0:.1f},{y0:.1f} C{x0:.1f},{mid:.1f} {x1:.1f},{mid:.1f} '
                    f'{x1:.1f},{y1:.1f}" fill="none" stroke="#555555" stroke-width="1.2" '
                    'marker-end="url(#ARROW)"/>')  # fmt: skip
    for nid, (x, y) in box.items():
        fill, stroke, color = _SVG_STYLE[kind[nid]]
        w = width[nid]
        round_ = _BOX_H / 2 if kind[nid] == "const" else 3
        bold = ' stroke-width="2.2"' if kind[nid] == "output" else ""
        body.append(f'<g class="{kind[nid]}"><title>{html.escape(label[nid])}</title>'
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{_BOX_H}" '
                    f'rx="{round_:g}" fill="{fill}" stroke="{stroke}"{bold}/>'
                    f'<text x="{x + w / 2:.1f}" y="{y + _BOX_H / 2:.1f}" fill="{color}" '
                    f'text-anchor="middle" dominant-baseline="central">'
                    f"{html.escape(label[nid])}</text></g>")  # fmt: skip
    # a marker id unique to this picture: Jupyter puts many SVGs in one page
    marker = "ad-arrow-" + hashlib.sha1("".join(body).encode()).hexdigest()[:10]
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{total_h:.0f}" '
        f'viewBox="0 0 {total_w:.1f} {total_h:.1f}" font-family="sans-serif" font-size="13">'
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#555555"/></marker></defs>'
    )
    return "\n".join([head, *(b.replace("#ARROW", "#" + marker) for b in body), "</svg>"])


def graph(
    obj: Any,
    names: Mapping[str, Any] | Sequence[str] | None = None,
    constants: bool = True,
    output: str = "out",
) -> Graph:
    """The graph recorded for a ``Tensor``, a :class:`~autodiff.reverse.Tape` or a pullback.

    Args:
        obj: an output ``Tensor`` (its ``grad_fn`` chain), or a tape / pullback from ``ad.tape`` /
            ``ad.vjp``.
        names: labels for tensors, e.g. ``{"a": a, "b": b}`` (leaves get them in the picture);
            for a tape, a list of labels for its inputs in order, e.g. ``["x₁", "x₂"]``.
        constants: also draw scalar and array constants the ops used.
        output: the label of the output node.

    Examples:
        >>> import autodiff as ad
        >>> a = ad.tensor([2.0, 3.0], requires_grad=True)
        >>> b = ad.tensor([6.0, 4.0], requires_grad=True)
        >>> print(ad.viz.graph(3 * a**3 - b**2, names={"a": a, "b": b}, output="Q").mermaid())
        ... # doctest: +ELLIPSIS
        flowchart BT
            n0["a"]:::leaf
        ...
    """
    from autodiff.tensor import GradFn, Tensor

    label_of: dict[int, str] = {}
    input_labels = list(names) if isinstance(names, (list, tuple)) else []
    for name, t in names.items() if isinstance(names, Mapping) else ():
        node = getattr(t, "_node", None)
        if node is not None:
            label_of[id(node)] = name
    if isinstance(obj, Tensor):
        if obj._node is None:
            raise ValueError("this tensor recorded nothing (requires_grad is False): no graph")
        roots = [obj._node]
        inputs: list[Node] = []

        def op_label(n: Node) -> str:
            return GradFn(n).name()
    else:
        tp = obj.tape if isinstance(obj, Pullback) else obj
        if not isinstance(tp, Tape):
            raise TypeError(f"graph() takes a Tensor, a Tape or a pullback, not {type(obj)}")
        roots, inputs = tp.outputs, tp.inputs
        for k, leaf in enumerate(inputs):
            label_of[id(leaf)] = input_labels[k] if k < len(input_labels) else tp.name(leaf)

        def op_label(n: Node) -> str:
            return n.op.name

    nodes = tape_nodes(list(roots) + list(inputs))
    g = Graph()
    ids: dict[int, str] = {}
    for n in nodes:
        nid = f"n{len(ids)}"
        ids[id(n)] = nid
        if n.op is None:
            g.nodes.append((nid, label_of.get(id(n), f"leaf {_shape(n.ans)}"), "leaf"))
            continue
        g.nodes.append((nid, op_label(n), "op"))
        # after backward() without retain_graph the saved values are freed: draw the structure
        args = n.args if n.args is not None else (None,) * len(n.parents)
        for arg, parent in zip(args, n.parents):
            if parent is not None:
                g.edges.append((ids[id(parent)], nid))
            elif constants and arg is not None:
                cid = f"c{len(g.nodes)}"
                g.nodes.append((cid, _const_label(arg), "const"))
                g.edges.append((cid, nid))
    for k, r in enumerate(roots):
        oid = f"out{k}"
        g.nodes.append((oid, output if len(roots) == 1 else f"{output}{k}", "output"))
        g.edges.append((ids[id(r)], oid))
    return g


def _shape(x: Any) -> str:
    return "×".join(map(str, np.shape(raw(x)))) or "scalar"


def _const_label(x: Any) -> str:
    value = raw(x)
    if isinstance(value, Stub):
        return f"const {'×'.join(map(str, value.shape))}"
    if np.ndim(value) == 0:
        return f"{float(value):g}"
    return f"const {_shape(value)}"


# ---- evaluation traces ------------------------------------------------------------------------


@dataclass
class TraceTable:
    """The primal, tangent and adjoint traces of one function at one point."""

    primal: list[tuple[str, str, Any]]
    tangent: list[tuple[str, str, Any]]
    adjoint: list[tuple[str, str, Any]]

    def _table(self, title: str, head: tuple[str, str, str], rows: list) -> str:
        body = [(a, b, _value(c)) for a, b, c in rows]
        widths = [max(_width(r[i]) for r in [head, *body]) for i in range(3)]
        lines = [title, "  ".join(_pad(h, w) for h, w in zip(head, widths)).rstrip(),
                 "  ".join("-" * w for w in widths)]  # fmt: skip
        lines += ["  ".join(_pad(c, w) for c, w in zip(r, widths)).rstrip() for r in body]
        return "\n".join(lines)

    def __str__(self) -> str:
        return "\n\n".join([
            self._table("Primal trace (forward evaluation)", ("entry", "definition", "value"),
                        self.primal),
            self._table("Tangent trace (forward mode, one JVP)", ("entry", "rule", "value"),
                        self.tangent),
            self._table("Adjoint trace (reverse mode, one VJP)", ("entry", "rule", "value"),
                        self.adjoint),
        ])  # fmt: skip

    def markdown(
        self,
        which: Sequence[str] = ("primal", "tangent", "adjoint"),
        titles: Mapping[str, str] | None = None,
        headers: Sequence[str] = ("entry", "definition", "rule", "value"),
    ) -> str:
        """Markdown tables for the docs.

        Args:
            which: the traces to include, in order (``"primal"``, ``"tangent"``, ``"adjoint"``).
            titles: a bold title per trace (``{}`` for none); English by default.
            headers: the column names ``(entry, definition, rule, value)``, e.g. translated.
        """
        default = {"primal": "Primal trace", "tangent": "Tangent trace", "adjoint": "Adjoint trace"}
        titles = default if titles is None else titles
        entry, definition, rule, value = headers
        out = []
        for name in which:
            rows = getattr(self, name)
            head = definition if name == "primal" else rule
            if titles.get(name):
                out += [f"**{titles[name]}**", ""]
            out += [f"| {entry} | {head} | {value} |", "| --- | --- | --- |"]
            out += [f"| {a} | {b} | {_value(c)} |" for a, b, c in rows]
            out.append("")
        return "\n".join(out)

    def _repr_html_(self) -> str:
        """Jupyter shows the three traces as HTML tables."""
        parts = []
        for title, head, rows in (
            ("Primal trace (forward evaluation)", ("entry", "definition", "value"), self.primal),
            ("Tangent trace (forward mode, one JVP)", ("entry", "rule", "value"), self.tangent),
            ("Adjoint trace (reverse mode, one VJP)", ("entry", "rule", "value"), self.adjoint),
        ):
            parts.append(_html_table(title, head, [(a, b, _value(c)) for a, b, c in rows]))
        return "\n".join(parts)

    __repr__ = __str__


def _html_table(title: str, head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cells(tag: str, row: Sequence[str]) -> str:
        return "".join(f"<{tag}>{html.escape(str(c))}</{tag}>" for c in row)

    lines = [f"<table><caption>{html.escape(title)}</caption>",
             f"<thead><tr>{cells('th', head)}</tr></thead><tbody>"]  # fmt: skip
    lines += [f"<tr>{cells('td', row)}</tr>" for row in rows]
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _width(text: str) -> int:
    """Columns a string takes in a terminal: combining marks (the dot of v̇) take none."""
    return sum(not unicodedata.combining(ch) for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _value(x: Any) -> str:
    if isinstance(raw(x), Stub):
        return f"(not kept, shape {raw(x).shape})"
    value = np.asarray(raw(x))
    if value.ndim == 0:
        return f"{float(value):.4f}"
    return np.array2string(value, precision=4, separator=", ", threshold=6)


def trace_table(
    f: Callable[..., Any],
    *inputs: Any,
    tangents: Sequence[Any] | None = None,
    cotangent: Any = None,
) -> TraceTable:
    """The evaluation traces of ``f`` at ``inputs``, over one recorded Wengert list.

    The tangent trace replays the tape with each op's JVP rule, seeded with ``tangents``
    (default: 1 for the first input, 0 for the others, i.e. ∂/∂x₁); the adjoint trace sweeps it
    backwards with each op's VJP rule, seeded with ``cotangent`` (default 1).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> f = lambda x1, x2: np.log(x1) + x1 * x2 - np.sin(x2)
        >>> print(ad.viz.trace_table(f, 2.0, 5.0))   # doctest: +ELLIPSIS
        Primal trace (forward evaluation)
        entry  definition         value
        -----  -----------------  -------
        v₋₁    x₁                 2.0000
        v₀     x₂                 5.0000
        v₁     log(v₋₁)           0.6931
        ...
    """
    out, pullback = vjp(f, *inputs)
    tp = pullback.tape
    n = len(tp.inputs)
    primal = [(tp.name(leaf), f"x{_sub(k + 1)}", leaf.ans) for k, leaf in enumerate(tp.inputs)]
    for node in tp.entries:
        args = ", ".join(tp.name(p) if p is not None else _const_label(a)
                         for a, p in zip(node.args, node.parents))  # fmt: skip
        primal.append((tp.name(node), f"{node.op.name}({args})", node.ans))

    # tangent trace: replay the tape forwards with the JVP rules
    seeds = list(tangents) if tangents is not None else [1.0] + [0.0] * (n - 1)
    dot: dict[int, Any] = {}
    tangent = []
    for k, leaf in enumerate(tp.inputs):
        dot[id(leaf)] = np.asarray(seeds[k], dtype=float) * np.ones(np.shape(leaf.ans))
        tangent.append((_dot(tp.name(leaf)), f"ẋ{_sub(k + 1)} (seed)", dot[id(leaf)]))
    for node in tp.entries:
        ts = [dot.get(id(p)) if p is not None else None for p in node.parents]
        t = jvp_rule(node.op, ts, node.ans, node.args, node.params, 0)
        dot[id(node)] = t if t is not None else np.zeros(np.shape(node.ans))
        tangent.append((_dot(tp.name(node)), node.op.jvp_formula, dot[id(node)]))

    # adjoint trace: one backward sweep, keeping every entry's adjoint
    ct = np.ones(np.shape(out)) if cotangent is None else np.asarray(cotangent, dtype=float)
    last = tp.outputs[0]
    bars = backward_sweep([(last, ct)], keep=_Everything())
    adjoint = [(_bar(tp.name(last)), "ȳ (seed)", ct)]
    for node in reversed(tp.entries[:-1] if tp.entries and tp.entries[-1] is last else
                         tp.entries):  # fmt: skip
        adjoint.append((_bar(tp.name(node)), _uses(node, tp), bars.get(node, 0.0)))
    for leaf in reversed(tp.inputs):
        adjoint.append((_bar(tp.name(leaf)), _uses(leaf, tp), bars.get(leaf, 0.0)))
    return TraceTable(primal, tangent, adjoint)


class _Everything:
    def __contains__(self, node: object) -> bool:
        return True

    def __bool__(self) -> bool:
        return True


def _uses(node: Node, tp: Tape) -> str:
    users = [tp.name(m) for m in tp.entries if any(p is node for p in m.parents)]
    terms = [f"{_bar(u)}·∂{u}/∂{tp.name(node)}" for u in users]
    return " + ".join(terms) if terms else "0 (unused)"


_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _sub(k: int) -> str:
    return str(k).translate(_SUB)


def _dot(name: str) -> str:
    return name[0] + "\u0307" + name[1:]


def _bar(name: str) -> str:
    return name[0] + "\u0304" + name[1:]
