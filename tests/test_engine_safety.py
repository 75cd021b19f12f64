"""The engines never hand back a silently wrong derivative: bad outputs, mutated inputs, dtypes,
escaped tracers (issue 13's defects 4 to 8)."""

import numpy as np
import pytest

import autodiff as ad
from autodiff.core import UnexpectedTracerError

# ---- a function that returns no array -------------------------------------------------------


@pytest.mark.parametrize(
    "transform",
    [
        lambda f, x: ad.grad(f)(x),
        lambda f, x: ad.vjp(f, x),
        lambda f, x: ad.jvp(f, (x,), (x,)),
        lambda f, x: ad.jacfwd(f)(x),
        lambda f, x: ad.jacrev(f)(x),
        lambda f, x: ad.linearize(f, x),
        lambda f, x: ad.value_and_grad(f)(x),
    ],
    ids=["grad", "vjp", "jvp", "jacfwd", "jacrev", "linearize", "value_and_grad"],
)
def test_a_function_returning_none_is_an_error(transform):
    def forgot_return(x):
        np.sum(x * x)

    with pytest.raises(TypeError, match=r"returned None \(does the function lack a `return`"):
        transform(forgot_return, np.ones(3))


def test_lists_and_dicts_of_traced_values_are_pytrees_none_is_an_empty_subtree():
    # issue 15: a list or dict output is a pytree (it was an error before pytrees); None inside
    # an output is an empty subtree, as in JAX; None as the whole output stays an error (above)
    jac = ad.jacrev(lambda x: [x[0], x[1]])(np.ones(2))
    assert isinstance(jac, list) and np.array_equal(jac[1], [0.0, 1.0])
    out, pullback = ad.vjp(lambda x: {"y": x}, np.ones(2))
    assert type(out["y"]) is np.ndarray and not isinstance(out["y"], ad.Traced)
    assert np.array_equal(pullback({"y": np.full(2, 3.0)})[0], [3.0, 3.0])
    out, pullback = ad.vjp(lambda x: (x, None), np.ones(2))
    assert out[1] is None and np.array_equal(pullback((np.ones(2), None))[0], [1.0, 1.0])
    with pytest.raises(TypeError, match=r"returned a str at out\['y'\]"):
        ad.vjp(lambda x: {"y": "oops"}, np.ones(2))


# ---- a pullback is the derivative at the point it was recorded at ----------------------------


def test_vjp_pullback_ignores_later_changes_to_the_input():
    x = np.array([1.0, 2.0, 3.0])
    _, pullback = ad.vjp(lambda x: np.sum(x * x), x)
    x[:] = 0.0
    assert np.array_equal(pullback(np.array(1.0))[0], [2.0, 4.0, 6.0])


def test_vjp_pullback_ignores_later_changes_to_the_output():
    x = np.array([0.5, 1.0])
    out, pullback = ad.vjp(np.exp, x)  # exp's rule reads its output
    out *= 0.0
    assert np.allclose(pullback(np.ones(2))[0], np.exp(x))


def test_linearize_ignores_later_changes_to_the_input_and_output():
    x = np.array([0.5, 1.0])
    out, f_jvp = ad.linearize(lambda x: np.exp(x) * x, x)
    x[:] = 7.0
    out[:] = 0.0
    x0 = np.array([0.5, 1.0])
    assert np.allclose(f_jvp(np.ones(2)), np.exp(x0) * (x0 + 1))


# ---- a derivative has its input's dtype ------------------------------------------------------

C64 = np.array([1.5, -0.5])  # a float64 constant


@pytest.mark.parametrize(
    "f",
    [
        lambda x: np.sum(x * C64),
        lambda x: np.sum(np.sin(x) + C64),
        lambda x: np.sum(C64 @ np.stack([x, x])),
    ],
)
def test_float32_input_with_a_float64_constant_gets_a_float32_gradient(f):
    x = np.array([0.3, 0.7], dtype=np.float32)
    g = ad.grad(f)(x)
    assert g.dtype == np.float32
    assert np.allclose(g, ad.grad(f)(x.astype(np.float64)), rtol=1e-6)


@pytest.mark.parametrize(
    "f",
    [
        lambda A: ad.linalg.inv(A).sum(),
        lambda A: ad.linalg.solve(A, np.array([1.0, 2.0])).sum(),
        lambda A: ad.linalg.cholesky(A @ A.T + np.eye(2)).sum(),
        lambda A: ad.linalg.slogdet(A)[1],
    ],
    ids=["inv", "solve", "cholesky", "slogdet"],
)
def test_float32_linalg_gradients_stay_float32(f):
    A = np.array([[2.0, 0.5], [0.3, 1.5]], dtype=np.float32)
    assert ad.grad(f)(A).dtype == np.float32


def test_float32_conv2d_gradient_stays_float32():
    x = np.ones((1, 1, 4, 4), dtype=np.float32)
    w = np.ones((1, 1, 3, 3))  # float64 weights
    g = ad.grad(lambda x: ad.conv2d(x, w).sum())(x)
    assert g.dtype == np.float32


# ---- a traced value that escapes its transformation -----------------------------------------


@pytest.mark.parametrize("transform", ["grad", "jvp"])
def test_an_escaped_tracer_raises_naming_the_op(transform):
    leaked = []

    def f(x):
        leaked.append(x)
        return np.sum(x * x)

    x = np.ones(2)
    if transform == "grad":
        ad.grad(f)(x)
    else:
        ad.jvp(f, (x,), (x,))
    with pytest.raises(UnexpectedTracerError, match="op 'sin' got a value traced by a"):
        np.sin(leaked[0])
    with pytest.raises(UnexpectedTracerError, match="op 'multiply'"):
        leaked[0] * 2.0
    # inside a new transformation too
    with pytest.raises(UnexpectedTracerError):
        ad.grad(lambda y: np.sum(y * leaked[0]))(x)


def test_nested_transformations_still_work_after_the_inner_one_returns():
    # the inner grad's trace retires when it returns; the outer one's boxes stay alive:
    # d/dx [x · d/dy (x·y)] = d/dx x² = 2x
    f = lambda x: np.sum(x * ad.grad(lambda y: np.sum(x * y))(x))  # noqa: E731
    x = np.array([0.3, -1.2])
    assert np.allclose(ad.grad(f)(x), 2 * x)
    assert np.allclose(ad.jacfwd(ad.grad(f))(x), 2 * np.eye(2))


# ---- np.split on a traced value ---------------------------------------------------------------


def test_np_split_dispatches_on_traced_values():
    g = ad.grad(lambda x: np.split(x, 2)[1].sum())(np.arange(4.0))
    assert np.array_equal(g, [0.0, 0.0, 1.0, 1.0])
