"""Graph pictures and evaluation-trace tables come from the recorded tape."""

import xml.etree.ElementTree as ET
from importlib import resources

import numpy as np
import pytest

import autodiff as ad

SVG = "{http://www.w3.org/2000/svg}"


def test_graph_of_Q_highlights_the_leaves():
    a = ad.tensor([2.0, 3.0], requires_grad=True)
    b = ad.tensor([6.0, 4.0], requires_grad=True)
    g = ad.viz.graph(3 * a**3 - b**2, names={"a": a, "b": b}, output="Q")
    text = g.mermaid()
    assert text.startswith("flowchart BT")
    assert '["a"]:::leaf' in text and '["b"]:::leaf' in text
    assert text.count("PowBackward0") == 2 and "SubBackward0" in text
    assert "classDef leaf fill:#cfe2ff" in text
    dot = g.dot()
    assert (
        dot.startswith("digraph") and 'label="a" shape=box style=filled fillcolor="#cfe2ff"' in dot
    )


def test_graph_of_the_linear_model():
    x, y = ad.tensor([-0.6014]), ad.tensor([-1.0122])
    w = ad.tensor([0.6614], requires_grad=True)
    b = ad.tensor([0.2669], requires_grad=True)
    loss = ((x @ w + b - y) ** 2).mean()
    text = ad.viz.graph(loss, names={"w": w, "b": b}, output="loss", constants=False).mermaid()
    for name in ("MmBackward0", "AddBackward0", "SubBackward0", "PowBackward0", "MeanBackward0"):
        assert name in text
    assert "const" not in text.replace("classDef const", "")


def test_graph_refuses_tensor_without_history():
    with pytest.raises(ValueError, match="recorded nothing"):
        ad.viz.graph(ad.tensor([1.0]))


def test_trace_table_matches_the_literature_example():
    # f(x1, x2) = ln x1 + x1 x2 - sin x2 at (2, 5): the classic evaluation trace
    f = lambda x1, x2: np.log(x1) + x1 * x2 - np.sin(x2)  # noqa: E731
    t = ad.viz.trace_table(f, 2.0, 5.0)
    values = {name: float(v) for name, _, v in t.primal}
    assert values["v₅"] == pytest.approx(np.log(2) + 10 - np.sin(5))
    tangents = {name: float(v) for name, _, v in t.tangent}
    assert tangents["v̇₅"] == pytest.approx(1 / 2 + 5)  # ∂f/∂x1
    adjoints = {name: float(v) for name, _, v in t.adjoint}
    assert adjoints["v̄₋₁"] == pytest.approx(5.5)
    assert adjoints["v̄₀"] == pytest.approx(2 - np.cos(5))  # ∂f/∂x2 = 1.7163
    assert "Adjoint trace" in str(t) and "| entry |" in t.markdown()


# ---- Jupyter rendering and the py.typed marker (issue 12, point 13) ----------------------------


def _svg_of_Q():
    a = ad.tensor([2.0, 3.0], requires_grad=True)
    b = ad.tensor([6.0, 4.0], requires_grad=True)
    return ad.viz.graph(3 * a**3 - b**2, names={"a<1>": a, "b & c": b}, output="Q")


def test_graph_renders_as_svg_in_jupyter():
    g = _svg_of_Q()
    svg = g._repr_svg_()
    root = ET.fromstring(svg)  # well-formed: labels are escaped
    assert root.tag == f"{SVG}svg"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert sorted(texts) == sorted(label for _, label, _ in g.nodes)
    assert "a<1>" in texts and "b & c" in texts
    arrows = [p for p in root.iter(f"{SVG}path") if p.get("marker-end")]
    assert len(arrows) == len(g.edges)
    marker = root.find(f"{SVG}defs/{SVG}marker").get("id")
    assert {p.get("marker-end") for p in arrows} == {f"url(#{marker})"}
    fills = {r.get("fill") for r in root.iter(f"{SVG}rect")}
    assert "#cfe2ff" in fills and "#fff3cd" in fills  # leaves in blue, the output in yellow
    # two pictures in one notebook page do not share a marker id
    x = ad.tensor([1.0], requires_grad=True)
    other = ET.fromstring(ad.viz.graph(ad.sin(x), names={"x": x}).svg())
    assert other.find(f"{SVG}defs/{SVG}marker").get("id") != marker


def _centre_y(root, label):
    for group in root.iter(f"{SVG}g"):
        if group.find(f"{SVG}text").text == label:
            return float(group.find(f"{SVG}rect").get("y"))
    raise AssertionError(label)


def test_graph_svg_layers_inputs_below_the_output():
    g = _svg_of_Q()
    up = ET.fromstring(g.svg())
    assert _centre_y(up, "a<1>") > _centre_y(up, "SubBackward0") > _centre_y(up, "Q")
    down = ET.fromstring(g.svg("TB"))
    assert _centre_y(down, "a<1>") < _centre_y(down, "Q")
    with pytest.raises(ValueError, match="direction"):
        g.svg("LR")


def test_graph_svg_of_a_tape_and_of_a_long_chain():
    _, pullback = ad.vjp(lambda x: np.sin(x) * x, np.ones(3))
    root = ET.fromstring(ad.viz.graph(pullback, names=["x"]).svg())
    assert {"sin", "multiply", "x"} <= {t.text for t in root.iter(f"{SVG}text")}

    def chain(x):
        for _ in range(300):
            x = np.sin(x)
        return x

    _, pullback = ad.vjp(chain, np.ones(2))
    root = ET.fromstring(ad.viz.graph(pullback).svg())
    assert sum(1 for _ in root.iter(f"{SVG}rect")) == 302  # input, 300 ops, output


def test_trace_table_and_tape_render_as_html_tables():
    f = lambda x1, x2: np.log(x1) + x1 * x2 - np.sin(x2)  # noqa: E731
    t = ad.viz.trace_table(f, 2.0, 5.0)
    root = ET.fromstring(f"<div>{t._repr_html_()}</div>")
    tables = root.findall("table")
    assert [tb.find("caption").text for tb in tables] == [
        "Primal trace (forward evaluation)",
        "Tangent trace (forward mode, one JVP)",
        "Adjoint trace (reverse mode, one VJP)",
    ]
    rows = [tb.findall("tbody/tr") for tb in tables]
    assert [len(r) for r in rows] == [len(t.primal), len(t.tangent), len(t.adjoint)]
    assert [c.text for c in rows[0][2]] == ["v₁", "log(v₋₁)", "0.6931"]

    _, pullback = ad.vjp(f, 2.0, 5.0)
    tape = pullback.tape
    table = ET.fromstring(tape._repr_html_())
    assert table.find("caption").text == "Tape: 2 inputs, 5 entries"
    assert [th.text for th in table.findall("thead/tr/th")] == ["entry", "op", "inputs", "shape"]
    body = [[c.text or "" for c in tr] for tr in table.findall("tbody/tr")]
    assert body == [list(r) for r in tape.rows()]


def test_jupyter_picks_the_rich_reprs():
    formatters = pytest.importorskip("IPython.core.formatters")
    fmt = formatters.DisplayFormatter()
    data, _ = fmt.format(_svg_of_Q())
    assert data["image/svg+xml"].startswith("<svg")
    _, pullback = ad.vjp(np.sin, np.ones(2))
    assert "<table>" in fmt.format(pullback.tape)[0]["text/html"]


def test_the_package_is_marked_as_typed():
    # PEP 561: type checkers use autodiff's annotations only if the wheel carries py.typed
    assert resources.files("autodiff").joinpath("py.typed").is_file()
