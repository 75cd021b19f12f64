"""tile, repeat, pad, tril, triu, diagonal, trace: values, dispatch, known gradients, batching."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
from autodiff.core import bind
from autodiff.forward import jvp_batched
from autodiff.registry import get


def _np_pad(x, pad_width, mode, constant_values, reflect_type):
    if mode == "constant":
        return np.pad(x, pad_width, mode=mode, constant_values=constant_values)
    if mode in ("reflect", "symmetric"):
        return np.pad(x, pad_width, mode=mode, reflect_type=reflect_type)
    return np.pad(x, pad_width, mode=mode)


NAMES = ["tile", "repeat", "pad", "tril", "triu", "diagonal", "trace"]
NUMPY = {
    "tile": lambda x, reps: np.tile(x, reps),
    "repeat": lambda x, repeats, axis: np.repeat(x, repeats, axis=axis),
    "pad": lambda x, pad_width, mode, constant_values, reflect_type: _np_pad(
        x, pad_width, mode, constant_values, reflect_type
    ),
    "tril": lambda x, k: np.tril(x, k),
    "triu": lambda x, k: np.triu(x, k),
    "diagonal": lambda x, offset, axis1, axis2: np.diagonal(x, offset, axis1, axis2),
    "trace": lambda x, offset, axis1, axis2: np.trace(x, offset, axis1, axis2),
}


def _cases():
    for name in NAMES:
        op = get(name)
        for k, (args, params) in enumerate(op.samples(np.random.default_rng(0))):
            yield pytest.param(op, args, {**op.params, **params}, id=f"{name}-{k}")


CASES = list(_cases())


def _f(op, params):
    return lambda x: bind(op, (x,), params)


@pytest.mark.parametrize(("op", "args", "params"), CASES)
def test_value_matches_numpy(op, args, params):
    got = getattr(ad, op.name)(*args, **params)
    np.testing.assert_array_equal(got, NUMPY[op.name](*args, **params))


@pytest.mark.parametrize("name", NAMES)
def test_declared_batchable_with_formulas(name):
    op = get(name)
    assert op.batchable
    assert op.jvp_formula and op.vjp_formula and op.doc
    assert any(np.asarray(a).size == 0 for args, _ in op.samples(np.random.default_rng(0))
               for a in args)  # fmt: skip


@pytest.mark.parametrize(("op", "args", "params"), CASES)
def test_batched_jvp_equals_stacked(op, args, params):
    rng = np.random.default_rng(1)
    (x,) = args
    f = _f(op, params)
    tangents = rng.standard_normal((3, *x.shape))
    out, t_batched = jvp_batched(f, (x,), (tangents,), batch=1)
    stacked = np.stack([ad.jvp(f, (x,), (t,))[1] for t in tangents])
    assert np.shape(t_batched) == (3, *np.shape(out))
    np.testing.assert_allclose(t_batched, stacked, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("op", "args", "params"), CASES)
def test_batched_vjp_equals_stacked(op, args, params):
    rng = np.random.default_rng(2)
    (x,) = args
    out, pullback = ad.vjp(_f(op, params), x)
    cotangents = rng.standard_normal((3, *np.shape(out)))
    (batched,) = pullback.batched(cotangents)
    stacked = np.stack([pullback(u)[0] for u in cotangents])
    assert batched.shape == (3, *x.shape)
    np.testing.assert_allclose(batched, stacked, rtol=1e-12, atol=1e-12)


def test_batched_second_order_matches_stacked():
    # a batched sweep through the rules of the rules: VJP of a function that is itself a JVP
    x = np.random.default_rng(3).standard_normal((3, 4))
    v = np.random.default_rng(4).standard_normal((3, 4))

    def jvp_of(x):
        def inner(y):
            return ad.trace(ad.tile(y, (1, 2)) @ ad.pad(y, ((0, 5), (0, 0))), 0, 0, 1)

        return ad.jvp(inner, (x,), (v,))[1] * ad.diagonal(ad.repeat(x, 2, 0), 1).sum()

    out, pullback = ad.vjp(jvp_of, x)
    us = np.random.default_rng(5).standard_normal((4, *np.shape(out)))
    np.testing.assert_allclose(pullback.batched(us)[0], np.stack([pullback(u)[0] for u in us]))


# ------------------------------------------------------------------------------------------
# NumPy dispatch and methods on traced values
# ------------------------------------------------------------------------------------------


def test_numpy_dispatch_on_traced_values():
    x = np.arange(6.0).reshape(2, 3)
    checks = [
        (lambda y: np.tile(y, 2), lambda y: np.tile(y, 2)),
        (lambda y: np.repeat(y, 2, 0), lambda y: np.repeat(y, 2, axis=0)),
        (lambda y: np.repeat(y, [1, 0, 2], -1), lambda y: np.repeat(y, [1, 0, 2], axis=1)),
        (lambda y: np.pad(y, 1, constant_values=7.0), lambda y: np.pad(y, 1, constant_values=7)),
        (lambda y: np.pad(y, ((0, 1), (2, 0)), "constant"), lambda y: np.pad(y, ((0, 1), (2, 0)))),
        (lambda y: np.tril(y, 1), lambda y: np.tril(y, k=1)),
        (lambda y: np.triu(y, -1), lambda y: np.triu(y, k=-1)),
        (lambda y: np.diagonal(y, 1, 1, 0), lambda y: np.diagonal(y, offset=1, axis1=1, axis2=0)),
        (lambda y: np.trace(y, -1), lambda y: np.trace(y, offset=-1)),
        (lambda y: y.repeat(3), lambda y: y.repeat(3)),
        (lambda y: y.diagonal(), lambda y: y.diagonal()),
        (lambda y: y.trace(1), lambda y: y.trace(1)),
    ]
    for f, ref in checks:
        out, pullback = ad.vjp(f, x)
        np.testing.assert_array_equal(out, ref(x))
        _, t = ad.jvp(f, (x,), (np.ones_like(x),))
        assert np.shape(t) == np.shape(out)
        assert pullback(np.ones(np.shape(out)))[0].shape == x.shape


def test_positional_params_follow_numpy_order():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(ad.repeat(x, 2, 0), np.repeat(x, 2, 0))
    np.testing.assert_array_equal(ad.diagonal(x, 1, 1, 0), np.diagonal(x, 1, 1, 0))
    np.testing.assert_array_equal(ad.trace(x, 1, 0, 1), np.trace(x, 1, 0, 1))
    want = np.pad(x, 1, "constant", constant_values=2.0)
    np.testing.assert_array_equal(ad.pad(x, 1, "constant", 2.0), want)
    np.testing.assert_array_equal(ad.tril(x, -1), np.tril(x, -1))


@pytest.mark.parametrize("mode", ["mean", "maximum", "linear_ramp", "empty"])
def test_pad_other_modes_raise_naming_the_mode(mode):
    with pytest.raises(NotImplementedError, match=f"mode='{mode}'.*mode='constant'"):
        ad.pad(np.ones(3), 1, mode)
    with pytest.raises(NotImplementedError, match=f"mode='{mode}'"):
        ad.grad(lambda x: np.pad(x, 1, mode=mode).sum())(np.ones(3))


# ------------------------------------------------------------------------------------------
# Known derivatives
# ------------------------------------------------------------------------------------------


def test_tile_gradient_counts_copies():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    six = np.full((2, 2), 6.0)
    np.testing.assert_array_equal(ad.grad(lambda y: ad.tile(y, (3, 2)).sum())(x), six)
    # promoted shape: reps longer than x.ndim
    np.testing.assert_array_equal(ad.grad(lambda y: ad.tile(y, (2, 1, 3)).sum())(x), six)
    w = np.arange(8.0)
    np.testing.assert_array_equal(ad.grad(lambda y: (ad.tile(y, 4) * w).sum())(np.ones(2)),
                                  [0 + 2 + 4 + 6, 1 + 3 + 5 + 7])  # fmt: skip


def test_repeat_gradient_sums_copies():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    w = np.arange(1.0, 7.0)
    g = ad.grad(lambda y: (ad.repeat(y, [1, 0, 2], axis=1) * w.reshape(2, 3)).sum())(x)
    np.testing.assert_array_equal(g, [[1.0, 0.0, 2.0 + 3.0], [4.0, 0.0, 5.0 + 6.0]])
    g = ad.grad(lambda y: (ad.repeat(y, 2) * np.arange(12.0)).sum())(x)
    np.testing.assert_array_equal(g, (np.arange(0, 12, 2) * 2 + 1).reshape(2, 3))


def test_pad_gradient_drops_the_border():
    x = np.ones((2, 3))
    w = np.arange(30.0).reshape(5, 6)
    g = ad.grad(lambda y: (ad.pad(y, ((1, 2), (2, 1)), constant_values=9.0) * w).sum())(x)
    np.testing.assert_array_equal(g, w[1:3, 2:5])


def test_tril_triu_gradients_are_masks():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    lower, upper = np.tril(np.ones((3, 4)), 1), np.triu(np.ones((3, 4)), -1)
    np.testing.assert_array_equal(ad.grad(lambda y: ad.tril(y, 1).sum())(x), lower + 0 * x)
    np.testing.assert_array_equal(ad.grad(lambda y: ad.triu(y, -1).sum())(x), upper + 0 * x)
    # 1-D input: NumPy broadcasts it to a square matrix; the gradient counts each entry's copies
    np.testing.assert_array_equal(ad.grad(lambda y: ad.tril(y).sum())(np.ones(3)), [3.0, 2.0, 1.0])


def test_diagonal_gradient_scatters_onto_the_diagonal():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    (out, pullback) = ad.vjp(lambda y: ad.diagonal(y, 1, 2, 1), x)
    g = np.random.default_rng(1).standard_normal(out.shape)  # (2, 2)
    # axis1=2 (columns) takes index i, axis2=1 (rows) index i + offset: element i is x[b, i + 1, i]
    want = np.zeros_like(x)
    for b in range(2):
        for i in range(out.shape[-1]):
            want[b, i + 1, i] = g[b, i]
    np.testing.assert_array_equal(pullback(g)[0], want)


def test_trace_gradient_is_identity_and_hessian_of_trace_of_square():
    a = np.random.default_rng(0).standard_normal((3, 3))
    np.testing.assert_array_equal(ad.grad(ad.trace)(a), np.eye(3))
    g = ad.grad(lambda y: ad.trace(y, 1))(np.ones((3, 4)))
    np.testing.assert_array_equal(g, np.eye(3, 4, k=1))
    # d/dA tr(A²) = 2Aᵀ; its JVP along V is 2Vᵀ (second order through trace's own rules)
    v = np.random.default_rng(1).standard_normal((3, 3))
    hv = ad.jvp(ad.grad(lambda y: ad.trace(y @ y)), (a,), (v,))[1]
    np.testing.assert_allclose(hv, 2 * v.T)


def test_float32_stays_float32():
    x = np.ones((3, 3), dtype=np.float32)
    fs = [
        lambda y: ad.tile(y, 2).sum(),
        lambda y: ad.repeat(y, [1, 2, 0], 0).sum(),
        lambda y: ad.repeat(y, 2).sum(),
        lambda y: ad.pad(y, 1, constant_values=2.0).sum(),
        lambda y: ad.tril(y).sum() + ad.triu(y, 1).sum(),
        lambda y: ad.diagonal(y, 1).sum(),
        lambda y: ad.trace(y),
    ]
    for f in fs:
        assert ad.grad(f)(x).dtype == np.float32


def test_composite_second_order():
    x = np.random.default_rng(0).standard_normal((3, 3))

    def f(y):
        z = ad.tile(ad.diagonal(y), 2) * ad.repeat(ad.sum(ad.tril(y), axis=0), 2)
        return ad.pad(z, 1) * ad.trace(ad.triu(y * y))

    ad.check_grads(f, (x,), order=2)


# ------------------------------------------------------------------------------------------
# Random shapes and parameters (hypothesis): values, both modes, batching
# ------------------------------------------------------------------------------------------


@st.composite
def arrange_cases(draw):
    name = draw(st.sampled_from(NAMES))
    min_dims = 2 if name in ("diagonal", "trace") else (1 if name in ("tril", "triu") else 0)
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=4, min_side=0, max_side=3))
    ndim = len(shape)
    axis = st.integers(-ndim, ndim - 1) if ndim else st.nothing()
    if name == "tile":
        reps = st.lists(st.integers(0, 3), max_size=5).map(tuple)
        params = {"reps": draw(st.integers(0, 3) | reps)}
    elif name == "repeat":
        a = draw(st.none() | axis) if ndim else None
        n = int(np.prod(shape)) if a is None else shape[a]
        reps = st.integers(0, 3) | st.lists(st.integers(0, 3), min_size=n, max_size=n)
        params = {"repeats": draw(reps), "axis": a}
    elif name == "pad":
        width = st.integers(0, 2)
        pairs = st.tuples(width, width)
        per_axis = st.lists(pairs, min_size=ndim, max_size=ndim).map(tuple)
        params = {"pad_width": draw(width | pairs | per_axis if ndim else width | pairs),
                  "constant_values": draw(st.floats(-2, 2))}  # fmt: skip
    elif name in ("tril", "triu"):
        params = {"k": draw(st.integers(-4, 4))}
    else:
        a1, a2 = draw(st.tuples(axis, axis).filter(lambda p: p[0] % ndim != p[1] % ndim))
        params = {"offset": draw(st.integers(-3, 3)), "axis1": a1, "axis2": a2}
    x = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).standard_normal(shape)
    return name, x, {**get(name).params, **params}


@settings(max_examples=80, deadline=None)
@given(arrange_cases())
def test_random_shapes_and_params(case):
    name, x, params = case
    op = get(name)
    f = _f(op, params)
    np.testing.assert_array_equal(f(x), NUMPY[op.name](x, **params))
    ad.check_grads(f, (x,), order=1)
    rng = np.random.default_rng(0)
    vs = rng.standard_normal((2, *x.shape))
    out, t = jvp_batched(f, (x,), (vs,), batch=1)
    np.testing.assert_allclose(t, np.stack([ad.jvp(f, (x,), (v,))[1] for v in vs]), atol=1e-12)
    _, pullback = ad.vjp(f, x)
    us = rng.standard_normal((2, *np.shape(out)))
    stacked = np.stack([pullback(u)[0] for u in us])
    np.testing.assert_allclose(pullback.batched(us)[0], stacked, atol=1e-12)
