"""Issue 15, first part: pytrees in and out of every function transform, has_aux, stop_gradient.

Semantics are JAX's: nested dicts, lists, tuples and namedtuples of arrays; None is an empty
subtree; a Jacobian of a pytree function has the output's structure outside and the input's
inside."""

from collections import namedtuple

import numpy as np
import pytest

import autodiff as ad
from autodiff.core import Box

Params = namedtuple("Params", ["w", "b"])

RNG = np.random.default_rng(15)
W = RNG.standard_normal((3, 2))
X = RNG.standard_normal(2)


def loss(p):
    return np.sum(np.tanh(p["w"] @ X + p["b"]) ** 2) + p["scale"] ** 2 * np.sum(p["w"])


P = {"w": W, "b": np.array([0.1, -0.2, 0.3]), "scale": 1.5}


def flat_loss(v):
    """``loss`` of the parameters packed into one vector (w, b, scale)."""
    return loss({"w": v[:6].reshape(3, 2), "b": v[6:9], "scale": v[9]})


def pack(p):
    return np.concatenate([np.ravel(p["w"]), p["b"], [p["scale"]]])


def numeric_grad(f, v, eps=1e-6):
    return np.array([(f(v + eps * e) - f(v - eps * e)) / (2 * eps) for e in np.eye(v.size)])


# ---- grad and value_and_grad ---------------------------------------------------------------


def test_grad_of_a_dict_returns_a_dict_with_the_same_keys():
    g = ad.grad(lambda p: np.sum(p["w"] ** 2) + np.sum(3 * p["b"]))({"w": 3.0, "b": np.ones(2)})
    assert type(g) is dict and set(g) == {"w", "b"}
    assert float(g["w"]) == 6.0
    np.testing.assert_array_equal(g["b"], [3.0, 3.0])


def test_grad_of_a_nested_dict_matches_the_flat_gradient():
    g = ad.grad(loss)(P)
    assert set(g) == set(P) and g["w"].shape == (3, 2) and np.shape(g["scale"]) == ()
    np.testing.assert_allclose(pack(g), numeric_grad(flat_loss, pack(P)), rtol=1e-6, atol=1e-8)


def test_value_and_grad_with_pytrees_and_argnums():
    def f(p, data, q):
        return np.sum(p[0] * data) + q["k"][1] ** 2

    value, (gp, gq) = ad.value_and_grad(f, argnums=(0, 2))(
        (np.ones(2), np.ones(2)), np.arange(2.0), {"k": [1.0, 2.0]}
    )
    assert float(value) == 1.0 + 4.0
    assert type(gp) is tuple and np.array_equal(gp[0], [0.0, 1.0]) and np.all(gp[1] == 0)
    assert type(gq["k"]) is list and gq["k"][0] == 0.0 and float(gq["k"][1]) == 4.0


def test_namedtuple_inputs_give_namedtuple_gradients():
    g = ad.grad(lambda p: np.sum(p.w * p.b))(Params(np.array([1.0, 2.0]), np.array([3.0, 4.0])))
    assert type(g) is Params
    np.testing.assert_array_equal(g.w, [3.0, 4.0])
    np.testing.assert_array_equal(g.b, [1.0, 2.0])


def test_none_leaves_are_empty_subtrees():
    g = ad.grad(lambda p: np.sum(p["a"] ** 2))({"a": np.ones(2), "frozen": None})
    assert g["frozen"] is None
    np.testing.assert_array_equal(g["a"], [2.0, 2.0])
    assert ad.grad(lambda p: 1.0 * 2.0)({}) == {}


def test_a_list_argument_is_a_pytree_of_leaves():
    g = ad.grad(lambda xs: xs[0] * xs[1])([2.0, 3.0])
    assert type(g) is list and [float(v) for v in g] == [3.0, 2.0]


def test_float32_leaves_stay_float32():
    g = ad.grad(lambda p: np.sum(p["w"] ** 2))({"w": np.ones(3, np.float32)})
    assert g["w"].dtype == np.float32


def test_grad_of_a_dict_output_is_an_error():
    with pytest.raises(
        TypeError, match="grad requires f to return a scalar, but it returned a dict"
    ):
        ad.grad(lambda x: {"y": x})(1.0)


# ---- vjp, jvp, linearize ---------------------------------------------------------------------


def test_vjp_dict_in_dict_out():
    def f(p):
        return {"prod": p["a"] * p["b"], "pair": (np.sin(p["a"]), p["b"])}

    p = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])}
    out, pullback = ad.vjp(f, p)
    assert set(out) == {"prod", "pair"} and type(out["pair"]) is tuple
    assert not any(isinstance(leaf, Box) for leaf in ad.tree.leaves(out))
    ct = {"prod": np.ones(2), "pair": (np.ones(2), np.zeros(2))}
    (g,) = pullback(ct)
    np.testing.assert_allclose(g["a"], p["b"] + np.cos(p["a"]))
    np.testing.assert_allclose(g["b"], p["a"])
    assert pullback.tape is not None and len(pullback.tape) > 0


def test_vjp_cotangent_of_the_wrong_structure_is_an_error():
    _, pullback = ad.vjp(lambda x: {"y": x, "z": 2 * x}, np.ones(2))
    with pytest.raises(TypeError, match="cotangent has structure"):
        pullback({"y": np.ones(2)})


def test_vjp_namedtuple_output_is_rebuilt():
    out, pullback = ad.vjp(lambda x: Params(x * 2, np.sum(x)), np.ones(2))
    assert type(out) is Params
    (g,) = pullback(Params(np.ones(2), 1.0))
    np.testing.assert_array_equal(g, [3.0, 3.0])


def test_jvp_pytrees_in_and_out():
    primal = {"a": np.array([1.0, 2.0]), "b": 3.0}
    tangent = {"a": np.array([1.0, 0.0]), "b": 1.0}
    out, t = ad.jvp(lambda p: [p["a"] * p["b"], {"s": np.sum(p["a"])}], (primal,), (tangent,))
    assert type(out) is list and type(t) is list and set(t[1]) == {"s"}
    np.testing.assert_allclose(t[0], tangent["a"] * 3.0 + primal["a"] * 1.0)
    assert float(t[1]["s"]) == 1.0


def test_jvp_tangent_of_the_wrong_structure_is_an_error():
    with pytest.raises(TypeError, match=r"tangent 0 has structure .* primal 0 has structure"):
        ad.jvp(lambda p: p["a"], ({"a": 1.0},), ({"b": 1.0},))


def test_jvp_tangent_of_the_wrong_shape_names_its_path():
    with pytest.raises(ValueError, match=r"tangent 0\['a'\] has shape \(3,\)"):
        ad.jvp(lambda p: p["a"], ({"a": np.ones(2)},), ({"a": np.ones(3)},))


def test_linearize_with_pytrees():
    f = lambda p: {"y": np.sin(p["a"]) * p["b"]}  # noqa: E731
    p = {"a": np.array([0.5, 1.0]), "b": 2.0}
    out, f_jvp = ad.linearize(f, p)
    np.testing.assert_allclose(out["y"], np.sin(p["a"]) * 2.0)
    t = {"a": np.ones(2), "b": 0.5}
    np.testing.assert_allclose(f_jvp(t)["y"], ad.jvp(f, (p,), (t,))[1]["y"])
    with pytest.raises(TypeError, match="structure"):
        f_jvp({"a": np.ones(2)})


# ---- Jacobians and Hessians ------------------------------------------------------------------


def dict_to_dict(p):
    return {"y": p["a"] * p["b"], "z": np.sin(p["a"])}


PA = {"a": np.array([1.0, 2.0]), "b": 3.0}


@pytest.mark.parametrize("builder", [ad.jacrev, ad.jacfwd, ad.jacobian])
def test_jacobian_of_a_dict_to_dict_function_is_out_key_then_in_key(builder):
    J = builder(dict_to_dict)(PA)
    assert set(J) == {"y", "z"} and set(J["y"]) == {"a", "b"}
    np.testing.assert_allclose(J["y"]["a"], 3.0 * np.eye(2))
    np.testing.assert_allclose(J["y"]["b"], PA["a"])  # out.shape + in.shape = (2,) + ()
    np.testing.assert_allclose(J["z"]["a"], np.diag(np.cos(PA["a"])))
    np.testing.assert_allclose(J["z"]["b"], np.zeros(2))


def test_jacrev_and_jacfwd_agree_on_tuple_argnums_of_pytrees():
    f = lambda p, q: (p[0] * q["k"], p[1] + np.sum(q["k"]))  # noqa: E731
    args = ((np.ones(2), 1.0), {"k": np.array([2.0, 3.0])})
    Jr = ad.jacrev(f, argnums=(0, 1))(*args)
    Jf = ad.jacfwd(f, argnums=(0, 1), vectorize=False)(*args)
    for a, b in zip(ad.tree.leaves(Jr), ad.tree.leaves(Jf)):
        np.testing.assert_allclose(a, b)
    assert type(Jr) is tuple and type(Jr[0]) is tuple and type(Jr[0][1]) is dict


def test_hessian_of_a_dict_input_function_matches_the_flat_hessian():
    H = ad.hessian(loss)(P)
    assert set(H) == set(P) and set(H["w"]) == set(P)
    assert H["w"]["b"].shape == (3, 2, 3)
    flat = ad.hessian(flat_loss)(pack(P))
    blocks = {"w": slice(0, 6), "b": slice(6, 9), "scale": slice(9, 10)}
    for i, si in blocks.items():
        for j, sj in blocks.items():
            np.testing.assert_allclose(
                np.reshape(H[i][j], (si.stop - si.start, sj.stop - sj.start)),
                flat[si, sj],
                atol=1e-12,
            )


def test_hvp_with_a_dict_point():
    f = lambda p: p["a"] ** 2 * p["b"]  # noqa: E731  H = [[2b, 2a], [2a, 0]]
    hv = ad.hvp(f, ({"a": 2.0, "b": 3.0},), ({"a": 1.0, "b": 0.0},))
    assert float(hv["a"]) == 6.0 and float(hv["b"]) == 4.0


# ---- errors that name the path ---------------------------------------------------------------


def test_a_non_array_leaf_in_an_argument_names_its_path():
    def f(p):
        return p["layers"][0]

    with pytest.raises(TypeError, match=r"p\['layers'\]\[1\] \(in argument 0 of grad\)"):
        ad.grad(f)({"layers": [1.0, "abc"]})
    with pytest.raises(TypeError, match=r"p\['n'\] \(in argument 0 of jacrev\).*dtype int64"):
        ad.jacrev(lambda p: p["x"])({"x": 1.0, "n": np.arange(3)})


def test_a_non_array_leaf_in_an_output_names_its_path():
    with pytest.raises(TypeError, match=r"returned a str at out\['name'\]"):
        ad.jacfwd(lambda x: {"value": x, "name": "x"})(np.ones(2))


@pytest.mark.parametrize(
    "transform",
    [
        lambda f: ad.grad(f, has_aux=True)(1.0),
        lambda f: ad.value_and_grad(f, has_aux=True)(1.0),
        lambda f: ad.vjp(f, 1.0, has_aux=True),
        lambda f: ad.jvp(f, (1.0,), (1.0,), has_aux=True),
        lambda f: ad.jacfwd(f, has_aux=True)(1.0),
        lambda f: ad.jacrev(f, has_aux=True)(1.0),
    ],
)
def test_has_aux_needs_a_pair(transform):
    with pytest.raises(TypeError, match=r"has_aux=True\) needs f to return a pair"):
        transform(lambda x: x * 2)


def test_none_output_is_still_an_error():
    with pytest.raises(TypeError, match=r"returned None \(does the function lack a `return`"):
        ad.vjp(lambda p: None, {"a": 1.0})
    with pytest.raises(TypeError, match=r"returned None \(does the function lack a `return`"):
        ad.grad(lambda p: None, has_aux=False)({"a": 1.0})


# ---- has_aux ---------------------------------------------------------------------------------


def _plain(tree):
    return not any(isinstance(leaf, Box) for leaf in ad.tree.leaves(tree))


def with_aux(x):
    y = np.sin(x)
    return np.sum(y), {"y": y, "label": "sin", "n": 2}


def test_grad_has_aux_returns_gradient_and_plain_aux():
    x = np.array([0.5, 1.0])
    g, aux = ad.grad(with_aux, has_aux=True)(x)
    np.testing.assert_allclose(g, np.cos(x))
    assert _plain(aux) and aux["label"] == "sin" and aux["n"] == 2
    np.testing.assert_allclose(aux["y"], np.sin(x))


def test_value_and_grad_has_aux_is_value_aux_then_gradient():
    x = np.array([0.5, 1.0])
    (value, aux), g = ad.value_and_grad(with_aux, has_aux=True)(x)
    assert float(value) == pytest.approx(np.sum(np.sin(x)))
    assert _plain(aux) and _plain(value)
    np.testing.assert_allclose(g, np.cos(x))


def test_vjp_and_jvp_has_aux():
    x = np.array([0.5, 1.0])
    out, pullback, aux = ad.vjp(with_aux, x, has_aux=True)
    assert _plain(aux) and _plain(out)
    np.testing.assert_allclose(pullback(1.0)[0], np.cos(x))
    out, t, aux = ad.jvp(with_aux, (x,), (np.ones(2),), has_aux=True)
    assert _plain(aux) and float(t) == pytest.approx(np.sum(np.cos(x)))


def test_vjp_aux_changed_by_the_caller_leaves_the_pullback_alone():
    x = np.array([0.5, 1.0])
    _, pullback, aux = ad.vjp(lambda x: (np.exp(x), np.exp(x)), x, has_aux=True)
    aux *= 0.0  # exp's rule reads its output: the tape's copy must not change
    np.testing.assert_allclose(pullback(np.ones(2))[0], np.exp(x))


@pytest.mark.parametrize("builder", [ad.jacfwd, ad.jacrev, ad.jacobian, ad.hessian])
def test_jacobians_has_aux(builder):
    x = np.array([0.5, 1.0])
    J, aux = builder(with_aux, has_aux=True)(x)
    assert _plain(aux) and aux["label"] == "sin"
    np.testing.assert_allclose(aux["y"], np.sin(x))
    expected = np.diag(-np.sin(x)) if builder is ad.hessian else np.cos(x)
    np.testing.assert_allclose(J, expected)


def test_aux_keeps_the_enclosing_transform_differentiable():
    # the inner grad strips only its own level: aux = x·y at y = x is still traced by the outer
    # grad, so d/dx (x·x) = 2x
    def inner_aux(x):
        _, aux = ad.grad(lambda y: (x * y**2, x * y), has_aux=True)(x)
        return aux

    assert float(ad.grad(inner_aux)(3.0)) == 6.0
    assert float(ad.jacfwd(inner_aux)(3.0)) == 6.0


# ---- stop_gradient ---------------------------------------------------------------------------


def test_stop_gradient_keeps_the_value_and_blocks_every_derivative():
    x = np.array([1.0, 2.0])
    f = lambda x: np.sum(x * ad.stop_gradient(x))  # noqa: E731
    assert float(f(x)) == 5.0
    np.testing.assert_array_equal(ad.grad(f)(x), x)  # x, not 2x
    assert float(ad.jvp(f, (x,), (np.ones(2),))[1]) == 3.0
    np.testing.assert_array_equal(ad.jacfwd(ad.grad(f))(x), np.zeros((2, 2)))
    np.testing.assert_array_equal(ad.hessian(f)(x), np.zeros((2, 2)))
    np.testing.assert_array_equal(ad.jacrev(ad.jacrev(f))(x), np.zeros((2, 2)))


def test_stop_gradient_alone_has_a_zero_derivative_in_both_modes():
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(ad.jacrev(ad.stop_gradient)(x), np.zeros((2, 2)))
    np.testing.assert_array_equal(ad.jacfwd(ad.stop_gradient)(x), np.zeros((2, 2)))
    assert ad.stop_gradient(x) is x  # plain values pass through untouched


def test_stop_gradient_blocks_higher_orders_only_where_it_is():
    # d²/dx² [x³ + sg(x)·x²] = 6x + 2·sg(x) at x = 2 → 16 (the stopped factor is a constant)
    f = lambda x: x**3 + ad.stop_gradient(x) * x**2  # noqa: E731
    assert float(ad.grad(ad.grad(f))(2.0)) == 16.0


def test_stop_gradient_on_a_tensor_is_detached():
    t = ad.tensor([1.0, 2.0], requires_grad=True)
    (t * ad.stop_gradient(t)).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [1.0, 2.0])
    assert not ad.stop_gradient(t).requires_grad


def test_stop_gradient_is_public_and_documented():
    assert "stop_gradient" in ad.__all__
    assert ">>>" in ad.stop_gradient.__doc__
