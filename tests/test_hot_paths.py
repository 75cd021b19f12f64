"""The engines' inlined hot paths equal the reference (``core.jvp_rule`` / ``core.vjp_rule``)
exactly, for every registered op of one or two arguments and every sample: values, dtypes and
symbolic zeros."""

import numpy as np
import pytest

from autodiff.core import jvp_rule, vjp_rule
from autodiff.forward import Dual, ForwardTrace
from autodiff.registry import ops
from autodiff.reverse import Node, ReverseTrace, Traced, backward_sweep


def _cases():
    for op in ops():
        if op.samples is None or op.nargs not in (1, 2) or not op.differentiable:
            continue
        for k, (args, params) in enumerate(op.samples(np.random.default_rng(1))):
            yield pytest.param(op, args, {**op.params, **params}, id=f"{op.name}-{k}")


CASES = list(_cases())


def _like(x, rng):
    return rng.standard_normal(np.shape(x)).astype(np.asarray(x).dtype)


def _same(a, b):
    if a is None or b is None:
        return a is None and b is None
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def _subsets(n):
    return [(True,)] if n == 1 else [(True, True), (True, False), (False, True)]


@pytest.mark.parametrize(("op", "args", "params"), CASES)
def test_forward_hot_path_equals_the_reference(op, args, params):
    rng = np.random.default_rng(2)
    for which in _subsets(len(args)):
        tangents = [_like(a, rng) if w else None for a, w in zip(args, which)]
        trace = ForwardTrace()
        boxes = [Dual(a, t, trace) if t is not None else a for a, t in zip(args, tangents)]
        if len(args) == 1:
            out = trace.process1(op, boxes[0], params)
        else:
            out = trace.process2(op, boxes[0], boxes[1], params)
        fast = out.tangent if isinstance(out, Dual) else None
        ans = out._value if isinstance(out, Dual) else out
        reference = jvp_rule(op, tangents, ans, args, params, 0)
        assert _same(fast, reference), f"{op.name}: tangents {which}"


@pytest.mark.parametrize(("op", "args", "params"), CASES)
def test_reverse_hot_path_equals_the_reference(op, args, params):
    rng = np.random.default_rng(3)
    for which in _subsets(len(args)):
        trace = ReverseTrace()
        leaves = [Node(None, (), {}, a, ()) if w else None for a, w in zip(args, which)]
        boxes = [Traced(a, leaf, trace) if leaf else a for a, leaf in zip(args, leaves)]
        if len(args) == 1:
            out = trace.process1(op, boxes[0], params)
        else:
            out = trace.process2(op, boxes[0], boxes[1], params)
        g = _like(out._value, rng)
        found = backward_sweep([(out.node, g)])  # one or two arguments: the inlined case
        node = out.node
        reference = vjp_rule(op, g, node.ans, node.args, node.params, list(which), 0)
        for leaf, ct in zip(leaves, reference):
            if leaf is not None:
                assert _same(found.get(leaf), ct), f"{op.name}: cotangents {which}"


def test_the_hot_paths_accept_a_symbolic_zero_from_a_rule():
    from autodiff.registry import defop, remove

    defop(
        "half_zero", lambda x, y: x + y, nargs=2, elementwise=True,
        jvp=(lambda t, ans, x, y: t, lambda t, ans, x, y: None),  # d = dx (+ nothing)
        vjp=(lambda g, ans, x, y: g, lambda g, ans, x, y: None),  # x̄ = ḡ, ȳ = 0
        samples=lambda rng: [((np.ones(2), np.ones(2)), {})], formula="d = dx", vjp_formula="x̄ = ḡ",
    )  # fmt: skip
    try:
        import autodiff as ad

        x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
        assert np.array_equal(ad.jvp(ad.half_zero, (x, y), (x, y))[1], x)
        assert ad.jvp(ad.half_zero, (x, y), (np.zeros(2), y))[1].tolist() == [0.0, 0.0]
        gx, gy = ad.vjp(ad.half_zero, x, y)[1](np.ones(2))
        assert gx.tolist() == [1.0, 1.0] and gy.tolist() == [0.0, 0.0]
    finally:
        remove("half_zero")
