"""Jacobians (forward, reverse, looped, vectorized, chunked), Hessians, HVPs, linearize, Jᵀv."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import autodiff as ad
from autodiff.jacobian import (
    JacobianFunction,
    ModeChoice,
    SweepCount,
    confirm_vjp,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    linearize,
)

# --------------------------------------------------------------------------------------------
# Random compositions of registry ops
# --------------------------------------------------------------------------------------------

# wide enough for any program: 27 elements at most, doubled by at most 4 of 5 steps
_C = np.random.default_rng(7).normal(size=(3, 27 * 2**4))


def _matmul_left(v):
    # a constant (3, k) matrix on the left: needs a vector or a stack of matrices
    if v.ndim == 0:
        return v * _C[:, 0]
    k = v.shape[-2] if v.ndim >= 2 else v.shape[0]
    return np.matmul(_C[:, :k], v)


STEPS = {
    "sin": np.sin,
    "tanh": np.tanh,
    "exp": lambda v: np.exp(-0.5 * v * v),
    "square": lambda v: np.square(v) / (1.0 + v**2),
    "cube": lambda v: v * v * v / (3.0 + v * v),
    "log1p": lambda v: np.log1p(v * v),
    "self_product": lambda v: v * np.cos(v) + v,
    "quotient": lambda v: v / (2.0 + np.sin(v)),
    "sqrt": lambda v: np.sqrt(1.0 + v * v),
    "arctan": np.arctan,
    "sum_last": lambda v: np.sum(v, axis=-1) if v.ndim else v,
    "mean_all": lambda v: np.mean(v),
    "transpose": lambda v: v.T,
    "flatten": lambda v: v.reshape(-1),
    "flip": lambda v: np.flip(v, axis=0) if v.ndim else v,
    "first": lambda v: v[0] if v.ndim and v.shape[0] > 1 else v,
    "reverse_last": lambda v: v[..., ::-1] if v.ndim else v,
    "matmul": _matmul_left,
    "stack": lambda v: np.stack([v, np.sin(v)]),
    "concat": lambda v: np.concatenate([v.reshape(-1), np.tanh(v).reshape(-1)]),
    "outer": lambda v: v[..., None] * np.array([1.0, -0.5]),
    "cumsum": lambda v: np.cumsum(v, axis=-1) if v.ndim else v,
    "logsumexp": lambda v: ad.logsumexp(v, axis=-1) if v.ndim else v,
    "where": lambda v: np.where(np.asarray(ad.raw(v)) > 0, v * v, -v),
}


def _compose(names):
    def f(x):
        v = x
        for name in names:
            v = STEPS[name](v)
        return v

    f.__name__ = " ∘ ".join(reversed(names)) or "identity"
    return f


shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)
programs = st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=5)


def _numeric_jacobian(f, x, eps=1e-6):
    x = np.asarray(x, dtype=float)
    out = np.asarray(f(x))
    cols = []
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = eps
        e = e.reshape(x.shape)
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps))
    J = np.stack(cols, axis=-1) if cols else np.zeros(out.shape + (0,))
    return J.reshape(out.shape + x.shape)


def _point(shape, seed):
    # away from the kink of "where" (at 0)
    x = np.random.default_rng(seed).uniform(0.2, 1.0, size=shape)
    signs = np.random.default_rng(seed + 1).choice([-1.0, 1.0], size=shape)
    return x * signs


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes, names=programs, seed=st.integers(0, 2**16))
def test_forward_equals_reverse_equals_finite_differences(shape, names, seed):
    f = _compose(names)
    x = _point(shape, seed)
    out = np.asarray(f(x))
    Jf = jacfwd(f)(x)
    Jr = jacrev(f)(x)
    assert Jf.shape == Jr.shape == out.shape + x.shape
    np.testing.assert_allclose(Jf, Jr, rtol=1e-10, atol=1e-12)
    scale = max(1.0, float(np.max(np.abs(out), initial=0.0)), float(np.max(np.abs(Jf), initial=0)))
    np.testing.assert_allclose(Jf, _numeric_jacobian(f, x), rtol=1e-5, atol=1e-6 * scale)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes, names=programs, seed=st.integers(0, 2**16))
def test_vectorized_equals_looped(shape, names, seed):
    f = _compose(names)
    x = _point(shape, seed)
    for builder in (jacfwd, jacrev):
        vec = builder(f)(x)
        loop = builder(f, vectorize=False)(x)
        np.testing.assert_allclose(vec, loop, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("builder", [jacfwd, jacrev])
@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 6, 100])
def test_chunk_size_gives_the_same_jacobian_in_ceil_sweeps(builder, chunk_size):
    W = np.random.default_rng(0).normal(size=(6, 6))

    def f(x):
        return np.tanh(W @ x.reshape(-1)).reshape(2, 3) * x

    x = np.random.default_rng(1).normal(size=(2, 3))
    full = builder(f)(x)
    with SweepCount() as count:
        chunked = builder(f, chunk_size=chunk_size)(x)
    np.testing.assert_allclose(chunked, full, rtol=1e-12, atol=1e-12)
    expected = math.ceil(6 / chunk_size)
    assert (count.jvp if builder is jacfwd else count.vjp) == expected
    assert (count.tangents if builder is jacfwd else count.cotangents) == 6


# --------------------------------------------------------------------------------------------
# Shapes, argnums, outputs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("builder", [jacfwd, jacrev, jacobian])
def test_zero_dimensional_inputs_and_outputs(builder):
    # R → R
    J = builder(lambda x: x**3)(2.0)
    assert np.shape(J) == ()
    assert float(J) == pytest.approx(12.0)
    # R^3 → R: a gradient
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(builder(lambda x: np.sum(x**2))(x), 2 * x)
    # R → R^3
    np.testing.assert_allclose(builder(lambda t: t * x)(np.array(0.5)), x)
    # R^(2,2) → R: J has the input's shape
    A = np.arange(4.0).reshape(2, 2)
    np.testing.assert_allclose(builder(lambda M: np.sum(M * A))(np.ones((2, 2))), A)


@pytest.mark.parametrize("builder", [jacfwd, jacrev])
def test_shape_convention_out_shape_plus_in_shape(builder):
    x = np.random.default_rng(0).normal(size=(2, 3))

    def f(x):
        return np.stack([x.T, 2 * x.T, x.T**2])  # shape (3, 3, 2)

    J = builder(f)(x)
    assert J.shape == (3, 3, 2, 2, 3)
    np.testing.assert_allclose(J[1, 2, 0, 0, 2], 2.0)
    np.testing.assert_allclose(J[2, 2, 1, 1, 2], 2 * x[1, 2])
    assert J[0, 2, 1, 0, 2] == 0


@pytest.mark.parametrize("builder", [jacfwd, jacrev])
def test_argnums_tuple_gives_one_jacobian_per_argument(builder):
    rng = np.random.default_rng(3)
    x, y, z = rng.normal(size=3), rng.normal(size=(2,)), rng.normal(size=(2, 3))

    def f(x, y, z):
        return np.tanh(z @ x) * y + np.sum(x)

    Jx = builder(f, 0)(x, y, z)
    Jz = builder(f, 2)(x, y, z)
    both = builder(f, (0, 2))(x, y, z)
    assert isinstance(both, tuple) and len(both) == 2
    np.testing.assert_allclose(both[0], Jx, rtol=1e-12)
    np.testing.assert_allclose(both[1], Jz, rtol=1e-12)
    swapped = builder(f, (2, 0))(x, y, z)
    np.testing.assert_allclose(swapped[0], Jz, rtol=1e-12)
    single = builder(f, (1,))(x, y, z)
    assert isinstance(single, tuple) and single[0].shape == (2, 2)
    np.testing.assert_allclose(builder(f, -1)(x, y, z), Jz, rtol=1e-12)
    np.testing.assert_allclose(Jz, _numeric_jacobian(lambda z: f(x, y, z), z), atol=1e-8)


def test_forward_and_reverse_agree_on_argnums_tuples_and_tuple_outputs():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=3), rng.normal(size=2)

    def f(x, y):
        return np.sin(x) * np.sum(y), x[:, None] * y

    for argnums in (0, (0, 1)):
        Jf = jacfwd(f, argnums)(x, y)
        Jr = jacrev(f, argnums)(x, y)
        Jl = jacrev(f, argnums, vectorize=False)(x, y)
        assert isinstance(Jf, tuple) and len(Jf) == 2  # one per output
        for a, b, c in zip(Jf, Jr, Jl):
            for p, q, r in zip(*(t if isinstance(t, tuple) else (t,) for t in (a, b, c))):
                np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-15)
                np.testing.assert_allclose(p, r, rtol=1e-12, atol=1e-15)
    # layout: outputs outside, arguments inside
    J = jacfwd(f, (0, 1))(x, y)
    assert J[0][0].shape == (3, 3) and J[0][1].shape == (3, 2)
    assert J[1][0].shape == (3, 2, 3) and J[1][1].shape == (3, 2, 2)


@pytest.mark.parametrize("builder", [jacfwd, jacrev])
def test_output_that_ignores_the_input_has_a_zero_jacobian(builder):
    const = np.array([1.0, 2.0])
    J = builder(lambda x: const)(np.ones(3))
    assert J.shape == (2, 3) and not J.any()


@pytest.mark.parametrize("builder", [jacfwd, jacrev])
@pytest.mark.parametrize("vectorize", [True, False])
def test_zero_size_inputs_and_outputs(builder, vectorize):
    J = builder(lambda x: np.sum(x) + np.ones(2), vectorize=vectorize)(np.zeros(0))
    assert J.shape == (2, 0)
    J = builder(lambda x: x[:0] * 2.0, vectorize=vectorize)(np.ones(3))
    assert J.shape == (0, 3)


def test_keyword_arguments_pass_through():
    def f(x, scale=1.0):
        return np.sin(x) * scale

    x = np.array([0.1, 0.2])
    np.testing.assert_allclose(jacrev(f)(x, scale=3.0), np.diag(3 * np.cos(x)))
    np.testing.assert_allclose(jacfwd(f)(x, scale=3.0), np.diag(3 * np.cos(x)))


def test_float32_stays_float32():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(4, 3)).astype(np.float32)
    x = rng.normal(size=3).astype(np.float32)

    def f(x):
        return np.tanh(W @ x) * np.sin(x[0])

    for builder in (jacfwd, jacrev):
        for vectorize in (True, False):
            J = builder(f, vectorize=vectorize)(x)
            assert J.dtype == np.float32, (builder, vectorize)
    H = hessian(lambda x: np.sum(np.tanh(W @ x) * x[0]))(x)
    assert H.dtype == np.float32
    assert hvp(lambda x: np.sum(np.sin(x)), (x,), (x,)).dtype == np.float32
    _, f_jvp = linearize(f, x)
    assert f_jvp(x).dtype == np.float32
    np.testing.assert_allclose(jacfwd(f)(x), jacfwd(f)(x.astype(float)), rtol=1e-5, atol=1e-6)


def test_float32_stays_float32_through_power():
    x = np.ones(3, dtype=np.float32)
    assert jacfwd(lambda x: x**2)(x).dtype == np.float32
    assert jacrev(lambda x: x**2)(x).dtype == np.float32
    assert hessian(lambda x: np.sum(x**3))(x).dtype == np.float32


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("builder", [jacfwd, jacrev, jacobian, hessian])
def test_bad_argnums_are_clear_errors(builder):
    f = lambda x, y: x * y  # noqa: E731
    x = np.ones(2)
    with pytest.raises(ValueError, match=r"argnums=2 is out of range.*2 positional arguments"):
        builder(f, 2)(x, x)
    with pytest.raises(ValueError, match="out of range"):
        builder(f, (0, -3))(x, x)
    with pytest.raises(TypeError, match="argnums must be an int or a tuple of ints"):
        builder(f, "x")(x, x)
    with pytest.raises(TypeError, match="argnums must be an int or a tuple of ints"):
        builder(f, 1.0)(x, x)
    with pytest.raises(TypeError, match="argnums must be an int or a tuple of ints"):
        builder(f, True)(x, x)
    with pytest.raises(ValueError, match="same argument twice"):
        builder(f, (0, -2))(x, x)
    with pytest.raises(ValueError, match="argnums is empty"):
        builder(f, ())(x, x)


@pytest.mark.parametrize("builder", [jacfwd, jacrev, jacobian])
def test_non_float_inputs_are_clear_errors(builder):
    with pytest.raises(TypeError, match=r"only floating point.*argument 0.*int"):
        builder(lambda x: x * 2.0)(np.arange(3))
    with pytest.raises(TypeError, match="must be a float array"):
        builder(lambda x: x)("abc")
    # a Python int is a number: it is differentiated as a float
    assert float(builder(lambda x: x * x)(3)) == 6.0


def test_bad_options_are_clear_errors():
    f = np.sin
    with pytest.raises(ValueError, match="mode must be one of"):
        jacobian(f, mode="sideways")
    with pytest.raises(ValueError, match="chunk_size must be at least 1"):
        jacfwd(f, chunk_size=0)
    with pytest.raises(TypeError, match="chunk_size must be a positive int"):
        jacrev(f, chunk_size=2.5)
    with pytest.raises(ValueError, match="only applies to vectorized sweeps"):
        jacfwd(f, vectorize=False, chunk_size=2)
    with pytest.raises(TypeError, match="expected a function"):
        jacfwd(np.ones(3))
    with pytest.raises(TypeError, match="tuples with one entry per argument"):
        hvp(f, np.ones(2), np.ones(2))


# --------------------------------------------------------------------------------------------
# Sweep counts and the mode choice
# --------------------------------------------------------------------------------------------


def test_sweep_counts_follow_the_cost_model():
    W = np.random.default_rng(0).normal(size=(7, 4))

    def f(x):
        return np.tanh(W @ x)

    x = np.ones(4)
    with SweepCount() as c:
        jacfwd(f, vectorize=False)(x)
    assert (c.jvp, c.tangents, c.vjp, c.recordings) == (4, 4, 0, 0)
    with SweepCount() as c:
        jacfwd(f)(x)
    assert (c.jvp, c.tangents, c.vjp) == (1, 4, 0)
    with SweepCount() as c:
        jacrev(f, vectorize=False)(x)
    assert (c.recordings, c.vjp, c.cotangents, c.jvp) == (1, 7, 7, 0)
    with SweepCount() as c:
        jacrev(f)(x)
    assert (c.recordings, c.vjp, c.cotangents) == (1, 1, 7)
    assert c.sweeps == 1
    assert str(c) == "1 tape recorded, 1 VJP sweep (7 cotangents)"


def test_sweep_counters_nest_and_leave_nothing_behind():
    f = np.sin
    x = np.ones(3)
    with SweepCount() as outer:
        jacfwd(f)(x)
        with SweepCount() as inner:
            jacfwd(f, vectorize=False)(x)
    assert (outer.jvp, inner.jvp) == (4, 3)
    after = SweepCount()
    jacfwd(f)(x)  # no counter open: nothing is counted anywhere
    assert after.jvp == 0 and outer.jvp == 4


def test_hessian_and_hvp_sweeps():
    f = lambda x: np.sum(np.sin(x))  # noqa: E731
    x = np.ones(5)
    with SweepCount() as c:
        hessian(f)(x)
    # outer: one vectorized forward sweep; inner (inside it): one tape and one backward sweep
    assert (c.jvp, c.recordings, c.vjp) == (1, 1, 1)
    with SweepCount() as c:
        hvp(f, (x,), (x,))
    assert (c.jvp, c.recordings, c.vjp) == (1, 1, 1)


@pytest.mark.parametrize(
    ("n", "m", "mode"), [(2, 200, "forward"), (200, 2, "reverse"), (5, 5, "reverse")]
)
def test_auto_mode_picks_by_size_and_says_why(n, m, mode):
    W = np.random.default_rng(0).normal(size=(m, n))

    def f(x):
        return np.tanh(W @ x)

    x = np.ones(n)
    jac = jacobian(f)
    assert isinstance(jac, JacobianFunction) and jac.mode == "auto"
    assert jac.last_choice is None
    explained = jac.explain(x)
    assert explained.mode == mode
    with SweepCount() as c:
        J = jac(x)
    np.testing.assert_allclose(J, jacfwd(f)(x), rtol=1e-12)
    choice = jac.last_choice
    assert isinstance(choice, ModeChoice)
    assert (choice.mode, choice.requested) == (mode, "auto")
    assert (choice.n_inputs, choice.n_outputs) == (n, m)
    assert choice.sweeps == 1
    assert f"auto chose {mode} mode" in str(choice)
    assert str(n) in choice.reason and str(m) in choice.reason
    # auto records once to learn the output size; reverse reuses that tape
    assert c.recordings == 1
    assert (c.jvp, c.vjp) == ((1, 0) if mode == "forward" else (0, 1))
    J2, choice2 = jacobian(f, return_choice=True)(x)
    assert choice2 == choice
    np.testing.assert_allclose(J2, J)


def test_explicit_modes_report_themselves():
    f = np.sin
    x = np.ones(3)
    assert jacfwd(f).mode == "forward" and jacrev(f).mode == "reverse"
    jac = jacobian(f, mode="forward", vectorize=False)
    jac(x)
    assert jac.last_choice.mode == "forward" and jac.last_choice.sweeps == 3
    assert "as requested" in str(jac.last_choice)
    assert "jacfwd" in repr(jacfwd(f))
    assert hessian(f).__name__ == "hessian(sin)"
    assert jacfwd(f).explain(x).mode == "forward"
    jac = jacobian(f, mode="reverse", chunk_size=2)
    jac(x)
    assert jac.last_choice.sweeps == 2


# --------------------------------------------------------------------------------------------
# Second order
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vectorize", [True, False])
def test_hessian_of_a_quadratic_is_a_plus_a_transpose(vectorize):
    A = np.random.default_rng(5).normal(size=(4, 4))
    x = np.random.default_rng(6).normal(size=4)
    H = hessian(lambda x: x @ A @ x, vectorize=vectorize)(x)
    np.testing.assert_allclose(H, A + A.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-12)


def test_hessian_of_sum_sin_is_diagonal():
    x = np.linspace(-1.5, 2.0, 6)
    H = hessian(lambda x: np.sum(np.sin(x)))(x)
    np.testing.assert_allclose(H, np.diag(-np.sin(x)), atol=1e-15)


def test_hessian_equals_the_closed_form_and_the_other_nestings():
    rng = np.random.default_rng(4)
    W, x = rng.normal(size=(5, 5)) / 2, rng.normal(size=5)

    def F(x):
        return np.sum(np.tanh(W @ x) ** 2)

    t = np.tanh(W @ x)
    exact = W.T @ np.diag(2 * (1 - t**2) * (1 - 3 * t**2)) @ W
    H = hessian(F)(x)
    np.testing.assert_allclose(H, exact, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-12)
    for outer in (jacfwd, jacrev):
        for inner in (jacfwd, jacrev):
            np.testing.assert_allclose(outer(inner(F))(x), exact, rtol=1e-10, atol=1e-12)


def test_hessian_with_argnums_tuple_is_the_block_hessian():
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])

    def f(x, y):
        return np.sum(x**2 * y) + np.sum(np.sin(y))

    H = hessian(f, (0, 1))(x, y)
    np.testing.assert_allclose(H[0][0], np.diag(2 * y))
    np.testing.assert_allclose(H[0][1], np.diag(2 * x))
    np.testing.assert_allclose(H[1][0], np.diag(2 * x))
    np.testing.assert_allclose(H[1][1], np.diag(-np.sin(y)))


def test_hvp_equals_hessian_times_v():
    rng = np.random.default_rng(8)
    W, x, v = rng.normal(size=(6, 6)) / 3, rng.normal(size=6), rng.normal(size=6)

    def F(x):
        return np.sum(np.tanh(W @ x) ** 2) + np.sum(np.sin(x) * x[0])

    Hv = hvp(F, (x,), (v,))
    np.testing.assert_allclose(Hv, hessian(F)(x) @ v, rtol=1e-10, atol=1e-12)


def test_hvp_of_several_arguments_returns_one_block_row_each():
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    u, w = np.array([0.5, -1.0]), np.array([2.0, 1.0])

    def f(x, y):
        return np.sum(x**2 * y) + np.sum(np.sin(y))

    Hx, Hy = hvp(f, (x, y), (u, w))
    H = hessian(f, (0, 1))(x, y)
    np.testing.assert_allclose(Hx, H[0][0] @ u + H[0][1] @ w)
    np.testing.assert_allclose(Hy, H[1][0] @ u + H[1][1] @ w)


# --------------------------------------------------------------------------------------------
# linearize
# --------------------------------------------------------------------------------------------


def test_linearize_equals_jvp_and_does_not_call_f_again():
    rng = np.random.default_rng(9)
    W, x = rng.normal(size=(3, 4)), rng.normal(size=4)
    calls = []

    def f(x):
        calls.append(1)
        return np.tanh(W @ x) * np.sum(np.sin(x)) + x[:3] ** 2

    out, f_jvp = linearize(f, x)
    np.testing.assert_allclose(out, f(x))
    before = len(calls)
    for _ in range(4):
        t = rng.normal(size=4)
        expected = ad.jvp(f, (x,), (t,))[1]
        calls_now = len(calls)
        np.testing.assert_allclose(f_jvp(t), expected, rtol=1e-12, atol=1e-14)
        assert len(calls) == calls_now  # jvp_fn never calls f
    assert len(calls) == before + 4  # only the reference jvps did
    assert len(f_jvp.tape) > 0


def test_linearize_with_several_inputs_tuple_outputs_and_constants():
    x, y = np.array([0.3, -0.7]), np.array(2.0)

    def f(x, y):
        return np.sin(x) * y, np.ones(3), y

    out, f_jvp = linearize(f, x, y)
    assert isinstance(out, tuple) and len(out) == 3
    tx, ty = np.array([1.0, 2.0]), np.array(0.5)
    got = f_jvp(tx, ty)
    want = ad.jvp(f, (x, y), (tx, ty))[1]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w)
    assert not got[1].any() and got[1].shape == (3,)
    with pytest.raises(TypeError, match="one tangent per primal"):
        f_jvp(tx)
    with pytest.raises(ValueError, match="shape"):
        f_jvp(np.ones(3), ty)


def test_linearize_identity_and_scalar():
    out, f_jvp = linearize(lambda x: x, 2.0)
    assert float(out) == 2.0 and float(f_jvp(3.0)) == 3.0
    out, f_jvp = linearize(lambda x: x**3, 2.0)
    assert float(f_jvp(1.0)) == pytest.approx(12.0)


# --------------------------------------------------------------------------------------------
# The documents' Jᵀv examples
# --------------------------------------------------------------------------------------------


def test_confirm_vjp_on_Q():
    a, b = np.array([2.0, 3.0]), np.array([6.0, 4.0])

    def Q(a, b):
        return 3 * a**3 - b**2

    report = confirm_vjp(Q, (a, b), np.array([1.0, 1.0]))
    assert report.ok
    np.testing.assert_allclose(report.jtv[0], [36.0, 81.0])  # 9a²
    np.testing.assert_allclose(report.jtv[1], [-12.0, -8.0])  # -2b
    np.testing.assert_allclose(report.vjp[0], 9 * a**2)
    np.testing.assert_allclose(report.vjp[1], -2 * b)
    np.testing.assert_allclose(report.jac_forward[0], np.diag(9 * a**2))
    assert report.max_abs == 0.0
    assert report.names == ["a", "b"]
    assert report.sweeps["J by forward mode"].jvp == 4  # column by column: 2 + 2 columns
    assert report.sweeps["VJP"].vjp == 1
    assert report.sweeps["J by reverse mode"].vjp == 2  # row by row: 2 rows
    text = str(report)
    assert "input a" in text and "VJP sweep" in text and "[36., 81.]" in text
    assert "max abs difference" in text and "ok: True" in text


def test_confirm_vjp_on_the_mse_example():
    x, y = -0.6014, -1.0122

    def mse_loss(w, b):
        z = w * x + b
        return np.mean((z - y) ** 2)

    w, b = 0.6614, 0.2669
    report = confirm_vjp(mse_loss, (w, b), 1.0)
    z = w * x + b
    assert report.ok
    assert float(report.vjp[0]) == pytest.approx(2 * (z - y) * x, rel=1e-12)
    assert float(report.vjp[1]) == pytest.approx(2 * (z - y), rel=1e-12)
    assert float(report.vjp[0]) == pytest.approx(-1.0601, abs=1e-4)
    # the document prints 1.7628 from unrounded inputs; from the rounded ones it is 1.76267
    assert float(report.vjp[1]) == pytest.approx(1.7628, abs=2e-4)
    assert float(report.jtv[0]) == pytest.approx(float(report.vjp[0]), rel=1e-12)


def test_confirm_vjp_single_input_and_a_wrong_rule_is_caught():
    x = np.array([0.1, 0.5, 0.9])
    v = np.array([1.0, -2.0, 0.5])
    report = confirm_vjp(np.tanh, x, v, vectorize=True)
    assert report.ok
    assert len(report.names) == 1
    np.testing.assert_allclose(report.vjp[0], v * (1 - np.tanh(x) ** 2))
    assert report.sweeps["J by forward mode"].jvp == 1  # vectorized

    from autodiff.registry import get

    op = get("tanh")
    saved = op.vjp
    op.vjp = (lambda g, ans, x: g * ans,)  # a wrong rule: the report must say so
    try:
        bad = confirm_vjp(np.tanh, x, v)
    finally:
        op.vjp = saved
    assert not bad.ok
    assert bad.max_abs > 0.1
    assert "ok: False" in str(bad)
    with pytest.raises(ValueError, match="shape"):
        confirm_vjp(np.tanh, x, np.ones(2))


# --------------------------------------------------------------------------------------------
# The docstrings' examples run
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["autodiff.jacobian", "autodiff.compare", "autodiff.__main__"])
def test_docstring_examples(module):
    import doctest
    import importlib

    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
