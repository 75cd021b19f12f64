"""``ad.checkpoint`` / ``ad.remat`` and the Tensor-side ``ad.utils.checkpoint``."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import autodiff as ad
import autodiff.nn.functional as F
from autodiff import nn


def block(x):
    return np.sin(np.sin(x) * x) + np.exp(-x)


ck = ad.checkpoint(block)


def chain(b):
    return lambda x: np.sum(b(b(x)) ** 2)


X = np.linspace(-1.0, 1.0, 7)


# ---- the functional checkpoint --------------------------------------------------------------


def test_remat_is_checkpoint_and_values_are_unchanged():
    assert ad.remat is ad.checkpoint
    np.testing.assert_array_equal(ck(X), block(X))


def test_gradient_equals_the_one_without_checkpoint_bit_for_bit():
    np.testing.assert_array_equal(ad.grad(chain(ck))(X), ad.grad(chain(block))(X))


def test_the_tape_holds_one_entry_per_block():
    entries = ad.tape(chain(ck), X).entries
    assert [e.op.name for e in entries][:2] == ["checkpoint", "checkpoint"]
    assert len(ad.tape(chain(block), X).entries) > len(entries)


@pytest.mark.parametrize(
    "transform",
    [ad.hessian, lambda f: ad.jacfwd(ad.grad(f)), lambda f: ad.jacrev(ad.grad(f))],
    ids=["hessian", "fwd-over-rev", "rev-over-rev"],
)
def test_second_order_equals_the_one_without_checkpoint(transform):
    np.testing.assert_allclose(transform(chain(ck))(X), transform(chain(block))(X), rtol=1e-12)


def test_reverse_over_forward_records_one_entry():
    v = np.cos(X)
    tangent = lambda f: lambda x: np.sum(ad.jvp(f, (x,), (v,))[1])  # noqa: E731
    np.testing.assert_array_equal(ad.grad(tangent(ck))(X), ad.grad(tangent(block))(X))
    assert [e.op.name for e in ad.tape(tangent(ck), X).entries] == ["checkpoint", "sum"]


def test_under_vmap():
    xs = np.stack([X, 2 * X, -X])
    per_row = ad.vmap(ad.grad(chain(ck)))(xs)
    np.testing.assert_allclose(per_row, np.stack([ad.grad(chain(block))(r) for r in xs]))
    np.testing.assert_allclose(ad.jacrev(ck)(X), ad.jacrev(block)(X), rtol=1e-14)


def test_forward_mode_is_the_function_itself():
    v = np.cos(X)
    out, t = ad.jvp(chain(ck), (X,), (v,))
    out0, t0 = ad.jvp(chain(block), (X,), (v,))
    assert out == out0 and t == t0
    # only dual numbers: the function runs as it is (no checkpoint op is bound)
    seen = []
    probe = ad.checkpoint(lambda x: seen.append(type(x).__name__) or x * 2)
    ad.jvp(probe, (X,), (v,))
    assert seen == ["Dual"]


def test_check_grads_in_both_modes_to_second_order():
    ad.check_grads(chain(ck), (X,), modes=("fwd", "rev"), order=2)


def test_nested_checkpoints():
    inner = ad.checkpoint(block)
    outer = ad.checkpoint(lambda x: inner(inner(x)) * x)
    ref = lambda x: np.sum(block(block(x)) * x)  # noqa: E731
    # x is used inside the inner blocks and outside them: its cotangents are summed in another
    # grouping, which may change the last bit
    np.testing.assert_allclose(ad.grad(lambda x: np.sum(outer(x)))(X), ad.grad(ref)(X), rtol=1e-14)
    ad.check_grads(lambda x: np.sum(outer(x)), (X,), modes=("fwd", "rev"), order=2)


def test_pytrees_in_and_out_several_outputs_and_dtypes():
    def f(p, scale):
        return {"a": p["w"] * p["b"], "rest": (np.sin(p["w"]).astype(np.float32), np.sum(p["b"]))}

    cf = ad.checkpoint(f)

    def loss(fn):
        def g(p):
            out = fn(p, 2.0)
            return np.sum(out["a"]) + np.sum(out["rest"][0]) * out["rest"][1]

        return g

    p = {"w": X, "b": np.cos(X)}
    got, want = ad.grad(loss(cf))(p), ad.grad(loss(f))(p)
    assert set(got) == {"w", "b"}
    for k in got:
        np.testing.assert_array_equal(got[k], want[k])
    out = cf(p, 2.0)
    assert out["rest"][0].dtype == np.float32 and isinstance(out["rest"], tuple)


def test_integer_outputs_and_static_arguments_pass_through():
    @ad.checkpoint(static_argnums=(1,))
    def f(x, power, *, shift=0.0):
        return x**power + shift, np.argmax(x)

    def loss(x):
        y, i = f(x, 3, shift=1.0)
        assert i == 6 and not isinstance(i, ad.Traced)
        return np.sum(y)

    np.testing.assert_allclose(ad.grad(loss)(X), 3 * X**2)


def test_argument_not_depending_on_inputs_gets_zero():
    f = ad.checkpoint(lambda x, y: np.sin(x))
    gx, gy = ad.grad(lambda x, y: np.sum(f(x, y)), argnums=(0, 1))(X, X[:3])
    np.testing.assert_array_equal(gx, np.cos(X))
    np.testing.assert_array_equal(gy, np.zeros(3))


def test_a_traced_value_in_a_closure_is_a_clear_error():
    with pytest.raises(TypeError, match=r"(?i)pass every such value as an argument"):
        ad.grad(lambda w: np.sum(ad.checkpoint(lambda x: x * w)(w * X)))(2.0)


def test_policies_are_refused():
    with pytest.raises(NotImplementedError, match="policy"):
        ad.checkpoint(block, policy=object())


def test_on_tensors_it_records_one_node_and_gives_the_same_grads():
    x = ad.tensor(X, requires_grad=True)
    out = (ck(ck(x)) ** 2).sum()
    assert out.grad_fn.next_functions[0][0].next_functions[0][0].name() == "CheckpointBackward0"
    out.backward()
    np.testing.assert_array_equal(x.grad.numpy(), ad.grad(chain(block))(X))


def test_on_tensors_with_create_graph():
    x = ad.tensor(X, requires_grad=True)
    (g,) = ad.autograd.grad((ck(x) ** 2).sum(), x, create_graph=True)
    g.sum().backward()
    want = ad.grad(lambda x: np.sum(ad.grad(lambda x: np.sum(block(x) ** 2))(x)))(X)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)


def _peak(f, x):
    tracemalloc.start()
    try:
        g = ad.grad(f)(x)
        return tracemalloc.get_traced_memory()[1], g
    finally:
        tracemalloc.stop()


def test_peak_memory_of_a_40_op_chain_in_4_blocks_is_under_half():
    """40 sin ops on a 4 MB array, checkpointed in 4 blocks of 10 (the issue's measurement)."""

    def ten(x):
        for _ in range(10):
            x = np.sin(x)
        return x

    ten_ck = ad.checkpoint(ten)

    def run(b):
        def f(x):
            for _ in range(4):
                x = b(x)
            return np.sum(x)

        return f

    x = np.random.default_rng(0).standard_normal(500_000)  # 4 MB of float64
    plain, g0 = _peak(run(ten), x)
    checkpointed, g1 = _peak(run(ten_ck), x)
    np.testing.assert_array_equal(g0, g1)
    assert checkpointed / plain < 0.5, (checkpointed, plain)


def test_peak_memory_on_tensors_with_utils_checkpoint_is_under_half():
    def ten(x):
        for _ in range(10):
            x = x.sin()
        return x

    def peak(checkpointed):
        x = ad.tensor(np.random.default_rng(0).standard_normal(500_000), requires_grad=True)
        tracemalloc.start()
        try:
            y = x
            for _ in range(4):
                y = ad.utils.checkpoint(ten, y) if checkpointed else ten(y)
            y.sum().backward()
            return tracemalloc.get_traced_memory()[1], x.grad.numpy()
        finally:
            tracemalloc.stop()

    (plain, g0), (checkpointed, g1) = peak(False), peak(True)
    np.testing.assert_array_equal(g0, g1)
    assert checkpointed / plain < 0.5, (checkpointed, plain)


# ---- ad.utils.checkpoint: the Tensor facade ---------------------------------------------------


def _mlp():
    ad.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.3), nn.Linear(8, 2))


def test_utils_checkpoint_gives_the_grads_of_backward_dropout_included():
    net = _mlp()
    x = ad.randn(5, 4, requires_grad=True)
    ad.manual_seed(1)
    net(x).pow(2).sum().backward()
    want = [p.grad.detach().numpy().copy() for p in net.parameters()] + [x.grad.numpy().copy()]
    net.zero_grad()
    x.grad = None
    ad.manual_seed(1)
    out = ad.utils.checkpoint(net, x, use_reentrant=False)
    assert out.grad_fn.name() == "CheckpointBackward0"
    out.pow(2).sum().backward()
    got = [p.grad.numpy() for p in net.parameters()] + [x.grad.numpy()]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_utils_checkpoint_parameters_only_and_several_outputs():
    net = _mlp().eval()
    x = ad.randn(3, 4)  # does not require grad: only the parameters do

    def two(x, scale=1.0):
        h = net(x)
        return h * scale, h.sum()

    a, b = ad.utils.checkpoint(two, x, scale=2.0)
    (a.sum() * b).backward()
    got = [p.grad.numpy().copy() for p in net.parameters()]
    net.zero_grad()
    a, b = two(x, scale=2.0)
    (a.sum() * b).backward()
    for g, p in zip(got, net.parameters()):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-13)


def test_utils_checkpoint_refuses_use_reentrant_true():
    with pytest.raises(ValueError, match="use_reentrant=False"):
        ad.utils.checkpoint(_mlp(), ad.randn(2, 4), use_reentrant=True)


def test_utils_checkpoint_under_no_grad_and_on_arrays():
    net = _mlp().eval()
    with ad.no_grad():
        out = ad.utils.checkpoint(net, ad.randn(2, 4))
    assert not out.requires_grad
    g = ad.grad(lambda x: np.sum(ad.utils.checkpoint(block, x)))(X)
    np.testing.assert_array_equal(g, ad.grad(lambda x: np.sum(block(x)))(X))


def test_utils_checkpoint_errors():
    x = ad.randn(3, requires_grad=True)
    y = x * 2  # requires grad, computed outside, not an argument
    with pytest.raises(TypeError, match="pass it as an argument"):
        ad.utils.checkpoint(lambda t: t * y, ad.randn(3, requires_grad=True))
    out = ad.utils.checkpoint(lambda t: F.tanh(t), x)
    with pytest.raises(NotImplementedError, match="create_graph"):
        ad.autograd.grad(out.sum(), x, create_graph=True)


def test_utils_checkpoint_sees_an_in_place_change_of_a_parameter():
    net = _mlp().eval()
    out = ad.utils.checkpoint(net, ad.randn(2, 4)).sum()
    with ad.no_grad():
        net[0].weight.add_(1.0)
    with pytest.raises(RuntimeError, match="inplace"):
        out.backward()
