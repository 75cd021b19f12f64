"""Graph pictures and evaluation-trace tables come from the recorded tape."""

import numpy as np
import pytest

import autodiff as ad


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
