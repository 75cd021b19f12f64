"""ad.vmap: values equal a Python loop over the batch, for every op, nested with every transform;
in_axes/out_axes forms as in JAX; clear errors."""

from __future__ import annotations

import sys
from collections import namedtuple

import numpy as np
import pytest

import autodiff as ad
from autodiff.core import UnexpectedTracerError, bind
from autodiff.registry import composites, ops

V = sys.modules["autodiff.vmap"]  # the module (ad.vmap is the function)
B = sys.modules["autodiff.batching"]

SCALES = (1.0, 0.9, 0.8)  # shrinking keeps every sample in its op's domain (|x| <= 1, x > 0, SPD)


def _call(op, params):
    full = {**op.params, **params}
    return lambda *xs: bind(op, xs, full)


def _is_float_array(a):
    return isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)


def _batch(args, which):
    """Each chosen float argument stacked over the batch, scaled per example."""
    return tuple(np.stack([a * s for s in SCALES]) if i in which else a for i, a in enumerate(args))


def _example(args, which, k):
    return tuple(a[k] if i in which else a for i, a in enumerate(args))


def _stacked(outs):
    first = outs[0]
    if isinstance(first, (tuple, list)):
        return tuple(np.stack([np.asarray(o[i]) for o in outs]) for i in range(len(first)))
    return np.stack([np.asarray(o) for o in outs])


def _assert_same(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, (tuple, list)) and len(got) == len(want)
        for g, w in zip(got, want):
            _assert_same(g, w)
        return
    got = np.asarray(got)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True)


def _cases():
    for op in [*ops(), *composites()]:
        for k, (args, params) in enumerate(
            op.samples(np.random.default_rng(0)) if op.samples else []
        ):
            floats = [i for i, a in enumerate(args) if _is_float_array(a)]
            if not floats:
                continue
            yield pytest.param(op, args, params, tuple(floats), id=f"{op.name}-{k}-all")
            if len(floats) > 1:
                yield pytest.param(op, args, params, (floats[0],), id=f"{op.name}-{k}-first")


def _fn(op, params):
    return _call(op, params) if hasattr(op, "primal") else (lambda *xs: op.fn(*xs, **params))


def _loop_and_vmap(f, args, which):
    batched = _batch(args, which)
    with np.errstate(all="ignore"):
        want = _stacked([f(*_example(batched, which, k)) for k in range(len(SCALES))])
        in_axes = tuple(0 if i in which else None for i in range(len(args)))
        got = ad.vmap(f, in_axes=in_axes)(*batched)
    return got, want


@pytest.mark.parametrize(("op", "args", "params", "which"), list(_cases()))
def test_every_op_vmapped_equals_the_loop(op, args, params, which):
    got, want = _loop_and_vmap(_fn(op, params), args, which)
    _assert_same(got, want)


@pytest.mark.parametrize(
    ("op", "args", "params", "which"),
    [c for c in _cases() if getattr(c.values[0], "differentiable", True)],
)
def test_every_op_per_example_gradients_equal_the_loop(op, args, params, which):
    # vmap of a gradient runs the op's VJP rule on batched values (or loops, when the rule reads
    # values): either way the answer is the loop's
    f = _fn(op, params)
    rng = np.random.default_rng(1)
    with np.errstate(all="ignore"):
        out = f(*args)
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    weights = [rng.normal(size=np.shape(o)) for o in outs]

    def scalar(*xs):
        o = f(*xs)
        o = tuple(o) if isinstance(o, (tuple, list)) else (o,)
        return sum(ad.sum(ad.real(a) * w) if np.issubdtype(a.dtype, np.complexfloating) else ad.sum(a * w)
                   for a, w in zip(o, weights))  # fmt: skip

    if not all(np.issubdtype(np.asarray(o).dtype, np.inexact) for o in outs):
        pytest.skip("integer output")
    g = ad.grad(scalar, argnums=which if len(which) > 1 else which[0])
    got, want = _loop_and_vmap(g, args, which)
    _assert_same(got, want)


# ----------------------------------------------------------------------------- basics


def test_docstring_example():
    xs = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(ad.vmap(lambda x: x @ x)(xs), [1.0, 13.0, 41.0])


def test_numpy_functions_and_operators_dispatch_inside_vmap():
    X = np.random.default_rng(0).normal(size=(4, 3))
    f = ad.vmap(lambda x: np.sin(x) * 2 + np.sum(x**2) - x.T @ x)
    want = np.stack([np.sin(x) * 2 + np.sum(x**2) - x @ x for x in X])
    np.testing.assert_allclose(f(X), want)


def test_the_per_example_mlp_uses_batching_rules_not_loops(monkeypatch):
    def refuse(*args):
        raise AssertionError(f"looped over op {args[1].name}")

    monkeypatch.setattr(V, "loop", refuse)
    monkeypatch.setattr(V, "_looped", refuse)
    from bench import problems as P

    p = P.PerExample((5, 7, 3), 6)
    got = ad.vmap(ad.grad(P.per_example_loss), in_axes=(None, 0, 0))(p.params, p.X, p.Y)
    for g, w in zip(got, p.grads):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- in_axes/out_axes


def test_in_axes_int_none_negative_and_tuple():
    rng = np.random.default_rng(0)
    A, x = rng.normal(size=(3, 4, 5)), rng.normal(size=(5,))
    want = np.stack([a @ x[:4] for a in A.transpose(2, 0, 1)])  # mapped over A's last axis
    got = ad.vmap(lambda a, v: a @ v[: a.shape[1]], in_axes=(-1, None))(A, x)
    np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(ad.vmap(lambda a, v: a @ v[: a.shape[1]], (2, None))(A, x), want)
    np.testing.assert_allclose(ad.vmap(lambda a: a.sum(), in_axes=1)(A), A.sum(axis=(0, 2)))


def test_in_axes_pytree_prefix_and_dict_outputs():
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(3,)), "b": rng.normal(size=(4,))}
    batch = [rng.normal(size=(4, 3)), rng.normal(size=(3, 4))]

    def f(p, xs):
        return {"y": xs[0] @ p["w"] + p["b"], "z": xs[1] * p["b"]}

    got = ad.vmap(f, in_axes=({"w": None, "b": 0}, [0, 1]))(params, batch)
    for k in range(4):
        want = f({"w": params["w"], "b": params["b"][k]}, [batch[0][k], batch[1][:, k]])
        np.testing.assert_allclose(got["y"][k], want["y"])
        np.testing.assert_allclose(got["z"][k], want["z"])


def test_namedtuple_arguments_and_keyword_arguments():
    P = namedtuple("P", "a b")
    xs = np.arange(6.0).reshape(2, 3)
    got = ad.vmap(lambda p, *, scale: (p.a * p.b).sum() * scale)(
        P(xs, xs + 1), scale=np.array([1.0, 2.0])
    )
    np.testing.assert_allclose(got, [(xs[0] * (xs[0] + 1)).sum(), 2 * (xs[1] * (xs[1] + 1)).sum()])


def test_out_axes_int_none_and_broadcast():
    xs = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(ad.vmap(lambda x: x * 2, out_axes=1)(xs), (xs * 2).T)
    np.testing.assert_allclose(ad.vmap(lambda x: x * 2, out_axes=-1)(xs), (xs * 2).T)
    y, c = ad.vmap(lambda x: (x.sum(), np.ones(2)), out_axes=(0, None))(xs)
    np.testing.assert_allclose(y, xs.sum(axis=1))
    np.testing.assert_allclose(c, np.ones(2))
    # an output that does not depend on the batch is broadcast (JAX's rule)
    np.testing.assert_allclose(ad.vmap(lambda x: np.ones(2))(xs), np.ones((2, 2)))


def test_empty_batch():
    out = ad.vmap(lambda x: np.tanh(x) @ np.ones((3, 2)))(np.zeros((0, 3)))
    assert out.shape == (0, 2)


# ----------------------------------------------------------------------------- nesting


def _loss(w, x, y):
    return (np.tanh(x @ w) - y) ** 2


def test_per_example_gradients_equal_a_loop_of_grad():
    rng = np.random.default_rng(0)
    w, X, Y = rng.normal(size=(3,)), rng.normal(size=(5, 3)), rng.normal(size=(5,))
    got = ad.vmap(ad.grad(_loss), in_axes=(None, 0, 0))(w, X, Y)
    want = np.stack([ad.grad(_loss)(w, x, y) for x, y in zip(X, Y)])
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_batched_hessians_and_jacobians():
    X = np.random.default_rng(0).normal(size=(4, 3))

    def f(x):
        return np.sum(np.sin(x) * x[::-1]) + np.prod(x)

    for transform in (
        ad.hessian,
        lambda f: ad.jacfwd(ad.jacrev(f)),
        lambda f: ad.jacrev(ad.grad(f)),
    ):
        got = ad.vmap(transform(f))(X)
        want = np.stack([ad.hessian(f)(x) for x in X])
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_transforms_of_a_vmapped_function():
    rng = np.random.default_rng(0)
    w, X = rng.normal(size=(3,)), rng.normal(size=(5, 3))
    batched = ad.vmap(lambda w, x: np.tanh(x @ w), in_axes=(None, 0))

    def total(w):
        return np.sum(batched(w, X) ** 2)

    want = sum(ad.grad(lambda w, x=x: np.tanh(x @ w) ** 2)(w) for x in X)
    np.testing.assert_allclose(ad.grad(total)(w), want, rtol=1e-13)
    J = np.stack([ad.grad(lambda w, x=x: np.tanh(x @ w))(w) for x in X])
    np.testing.assert_allclose(ad.jacfwd(lambda w: batched(w, X))(w), J, rtol=1e-13)
    np.testing.assert_allclose(ad.jacrev(lambda w: batched(w, X))(w), J, rtol=1e-13)
    # jacfwd over the batched argument: a block-diagonal Jacobian
    Jx = ad.jacfwd(lambda X: batched(w, X))(X)
    for k, x in enumerate(X):
        np.testing.assert_allclose(Jx[k, k], ad.grad(lambda x: np.tanh(x @ w))(x), rtol=1e-13)


def test_vmap_of_jvp_and_vjp():
    X, T = np.random.default_rng(0).normal(size=(2, 4, 3))
    got = ad.vmap(lambda x, t: ad.jvp(np.sin, (x,), (t,))[1])(X, T)
    np.testing.assert_allclose(got, np.cos(X) * T)
    got = ad.vmap(lambda x, g: ad.vjp(np.exp, x)[1](g)[0])(X, T)
    np.testing.assert_allclose(got, np.exp(X) * T)


def test_nested_vmap_is_an_outer_product_of_batches():
    a, b = np.arange(3.0), np.arange(4.0) + 1
    got = ad.vmap(lambda x: ad.vmap(lambda y: x * y + np.sin(x))(b))(a)
    np.testing.assert_allclose(got, a[:, None] * b[None, :] + np.sin(a)[:, None])
    M = np.random.default_rng(0).normal(size=(2, 3, 4))
    np.testing.assert_allclose(ad.vmap(ad.vmap(np.sum))(M), M.sum(axis=2))
    np.testing.assert_allclose(ad.vmap(ad.vmap(np.sum), in_axes=2)(M), M.sum(axis=1).T)


def test_functions_that_read_values_run_once_per_example():
    X = np.array([[1.0, 2.0], [-3.0, 1.0], [0.5, -2.0]])

    def f(x):
        return x * 2 if float(np.sum(x)) > 0 else -x

    np.testing.assert_allclose(ad.vmap(f)(X), np.stack([f(x) for x in X]))
    # relu's VJP rule reads its input's sign: vmap(grad) still equals the loop
    g = ad.grad(lambda x: np.sum(ad.relu(x) * x))
    np.testing.assert_allclose(ad.vmap(g)(X), np.stack([g(x) for x in X]))


def test_comparisons_and_where_on_batched_values():
    X = np.array([[1.0, -2.0], [-3.0, 1.0]])
    got = ad.vmap(lambda x: ad.where(x > 0, x, 0.1 * x) + np.abs(x))(X)
    np.testing.assert_allclose(got, np.where(X > 0, X, 0.1 * X) + np.abs(X))


# ----------------------------------------------------------------------------- errors


def test_mismatched_batch_sizes():
    with pytest.raises(
        ValueError, match=r"different sizes.*argument 0 .*size 2.*argument 1 .*size 3"
    ):
        ad.vmap(lambda a, b: a + b)(np.ones((2, 1)), np.ones((3, 1)))


def test_axis_out_of_range_and_scalars():
    with pytest.raises(
        ValueError, match=r"in_axes=2 is out of range for argument 0 of shape \(2, 3\)"
    ):
        ad.vmap(np.sin, in_axes=2)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="a scalar"):
        ad.vmap(lambda a, b: a * b)(np.ones(2), 3.0)
    with pytest.raises(ValueError, match=r"out_axes=3 of output 0 is out of range"):
        ad.vmap(np.sin, out_axes=3)(np.ones((2, 3)))


def test_bad_specifications():
    with pytest.raises(ValueError, match="at least one mapped argument"):
        ad.vmap(np.sin, in_axes=None)(np.ones(2))
    with pytest.raises(
        ValueError, match="in_axes has 1 entries but the function was called with 2"
    ):
        ad.vmap(lambda a, b: a + b, in_axes=(0,))(np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match="in_axes must be an int, None"):
        ad.vmap(np.sin, in_axes="0")
    with pytest.raises(
        ValueError, match=r"tree prefix.*in_axes\[0\] is .* a dict with keys \['w'\]"
    ):
        ad.vmap(lambda p: p["w"], in_axes=({"w": 0, "v": 0},))({"w": np.ones(2)})
    with pytest.raises(ValueError, match="out_axes is None for output leaf 0"):
        ad.vmap(np.sin, out_axes=None)(np.ones(2))


def test_a_batched_value_must_not_escape():
    kept = []
    ad.vmap(lambda x: kept.append(x) or x)(np.ones(2))
    with pytest.raises(UnexpectedTracerError):
        np.sin(kept[0])
    with pytest.raises(UnexpectedTracerError):
        float(kept[0])


def test_rules_table_names_registered_ops():
    names = {op.name for op in ops()}
    assert set(B.RULES) - {"<elementwise>"} <= names
