"""``ad.custom_jvp`` and ``ad.custom_vjp``: rules scoped to one function, in both modes, nested,
through ``Tensor.backward`` and ``vmap``, with pytrees, and their errors."""

import numpy as np
import pytest

import autodiff as ad

# ---- the examples: x / (1 + √x) and log1pexp with a custom JVP, clip_gradient with a VJP ------


@ad.custom_jvp
def root_ratio(x):
    return x / (1 + np.sqrt(x))


@root_ratio.defjvp
def _root_ratio_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    s = np.sqrt(x)
    return root_ratio(x), t * (s + 2) / (2 * (s + 1) ** 2)


@ad.custom_jvp
def log1pexp(x):
    return np.log1p(np.exp(x))


@log1pexp.defjvp
def _log1pexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return log1pexp(x), t * (1 - 1 / (1 + np.exp(x)))


@ad.custom_vjp
def clip_gradient(lo, hi, x):
    return x


def _clip_fwd(lo, hi, x):
    return x, (lo, hi)


def _clip_bwd(res, g):
    lo, hi = res
    return None, None, np.clip(g, lo, hi)


clip_gradient.defvjp(_clip_fwd, _clip_bwd)


def _natural(x):
    return np.sin(x) * x


@ad.custom_vjp
def sinx(x):
    return np.sin(x) * x


def _sinx_fwd(x):
    s, c = np.sin(x), np.cos(x)
    return s * x, (s, c, x)


def _sinx_bwd(res, g):
    s, c, x = res
    return (g * (c * x + s),)


sinx.defvjp(_sinx_fwd, _sinx_bwd)

X = np.array([0.3, 1.2, -0.5])


# ---- custom_jvp -------------------------------------------------------------------------------


def test_custom_jvp_fixes_a_nan_in_both_modes():
    natural = lambda x: x / (1 + np.sqrt(x))  # noqa: E731
    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.isnan(ad.grad(natural)(0.0))
    assert float(ad.grad(root_ratio)(0.0)) == 1.0
    assert float(ad.jvp(root_ratio, (0.0,), (1.0,))[1]) == 1.0
    x = np.array([0.0, 1.0, 4.0])
    want = np.diag([1.0, 3 / 8, 4 / 18])
    np.testing.assert_allclose(ad.jacfwd(root_ratio)(x), want)
    np.testing.assert_allclose(ad.jacrev(root_ratio)(x), want)
    np.testing.assert_allclose(root_ratio(x), x / (1 + np.sqrt(x)))  # the value is f's


def test_log1pexp_stable_gradient_at_a_large_input():
    with np.errstate(over="ignore"):
        for d in (ad.grad(log1pexp)(1000.0), ad.jvp(log1pexp, (1000.0,), (1.0,))[1]):
            assert float(d) == 1.0
    x = np.array([-2.0, 0.0, 3.0])
    sig = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(ad.grad(lambda x: np.sum(log1pexp(x)))(x), sig)
    # the second derivative differentiates the rule: σ(x)(1 - σ(x))
    np.testing.assert_allclose(
        ad.hessian(lambda x: np.sum(log1pexp(x)))(x), np.diag(sig * (1 - sig))
    )
    np.testing.assert_allclose(
        ad.jacrev(ad.grad(lambda x: np.sum(log1pexp(x))))(x), np.diag(sig * (1 - sig))
    )
    np.testing.assert_allclose(ad.grad(ad.grad(log1pexp))(0.0), 0.25)


@ad.custom_jvp
def _pair(a, b):
    return a * b, np.sin(a)


@_pair.defjvp
def _pair_jvp(primals, tangents):
    (a, b), (da, db) = primals, tangents
    return _pair(a, b), (da * b + a * db, np.cos(a) * da)


def test_custom_jvp_check_grads_to_second_order_with_a_tuple_output():
    a, b = np.array([0.2, 0.7, -1.1]), np.array([1.5, -2.0, 0.4])
    ad.check_grads(_pair, (a, b), modes=("fwd", "rev"), order=2)
    ad.check_grads(lambda a: log1pexp(a) * a, (a,), order=2)
    ad.check_grads(lambda a: root_ratio(a), (np.array([0.5, 2.0]),), order=2)


def test_custom_jvp_is_used_not_the_function():
    @ad.custom_jvp
    def f(x):
        return np.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        return f(primals[0]), 2.0 * tangents[0]  # deliberately not cos

    x = np.array([0.1, 0.2])
    assert float(ad.grad(f)(0.5)) == 2.0
    np.testing.assert_allclose(ad.jvp(f, (x,), (np.ones(2),))[1], [2.0, 2.0])
    np.testing.assert_allclose(ad.vjp(f, x)[1](np.ones(2))[0], [2.0, 2.0])
    np.testing.assert_allclose(ad.jacrev(f)(x), 2 * np.eye(2))


def test_custom_jvp_pytree_arguments_and_a_zero_tangent():
    @ad.custom_jvp
    def f(p, x):
        return {"y": p["w"] * x + p["b"]}

    @f.defjvp
    def f_jvp(primals, tangents):
        (p, x), (dp, dx) = primals, tangents
        return f(p, x), {"y": dp["w"] * x + p["w"] * dx + dp["b"]}

    p, x = {"w": 2.0, "b": 0.5}, np.array([1.0, -3.0])
    g = ad.grad(lambda p: np.sum(f(p, x)["y"]))(p)
    assert set(g) == {"w", "b"} and float(g["w"]) == -2.0 and float(g["b"]) == 2.0
    _out, t = ad.jvp(lambda x: f(p, x), (x,), (np.ones(2),))  # dp is zeros inside the rule
    np.testing.assert_allclose(t["y"], [2.0, 2.0])


# ---- custom_vjp -------------------------------------------------------------------------------


def test_clip_gradient_known_values():
    assert float(ad.grad(lambda x: 3 * clip_gradient(-1.0, 1.0, x))(2.0)) == 1.0
    assert float(ad.grad(lambda x: 0.5 * clip_gradient(-1.0, 1.0, x))(2.0)) == 0.5
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(
        ad.grad(lambda x: np.sum(clip_gradient(-1.0, 1.0, x) * np.array([0.5, -4.0, 2.0])))(x),
        [0.5, -1.0, 1.0],
    )
    np.testing.assert_allclose(ad.jacrev(lambda x: clip_gradient(-0.5, 0.5, x))(x), 0.5 * np.eye(3))
    out, pullback = ad.vjp(lambda x: clip_gradient(0.0, 1.0, x), x)
    np.testing.assert_allclose(out, x)
    np.testing.assert_allclose(pullback(np.array([-1.0, 0.5, 9.0]))[0], [0.0, 0.5, 1.0])


def test_custom_vjp_forward_mode_raises_naming_the_function():
    for call in (
        lambda: ad.jvp(sinx, (X,), (X,)),
        lambda: ad.jacfwd(sinx)(X),
        lambda: ad.grad(lambda x: ad.jvp(sinx, (x,), (1.0,))[1])(0.5),  # forward innermost
        lambda: ad.jacrev(ad.jacfwd(sinx))(X),
        lambda: ad.linearize(sinx, X)[1](X),  # a tape replayed in forward mode
        lambda: ad.linearize(lambda x: clip_gradient(-1.0, 1.0, x), X)[1](X),
    ):
        with pytest.raises(
            TypeError, match=r"forward-mode autodiff.*custom_vjp.*(sinx|clip_gradient)"
        ):
            call()


def test_custom_vjp_nested_hessian_hvp_and_grad_of_grad():
    f = lambda x: np.sum(sinx(x) * x)  # noqa: E731
    nat = lambda x: np.sum(_natural(x) * x)  # noqa: E731
    np.testing.assert_allclose(ad.grad(f)(X), ad.grad(nat)(X))
    H = ad.hessian(nat)(X)
    np.testing.assert_allclose(ad.hessian(f)(X), H)  # forward over reverse
    np.testing.assert_allclose(ad.jacrev(ad.grad(f))(X), H)  # reverse over reverse
    v = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(ad.hvp(f, (X,), (v,)), H @ v)
    assert float(ad.grad(ad.grad(sinx))(0.7)) == pytest.approx(2 * np.cos(0.7) - 0.7 * np.sin(0.7))


def test_custom_vjp_residuals_are_reused_and_recomputed_when_traced():
    calls = []

    @ad.custom_vjp
    def f(x):
        return np.exp(x)

    def fwd(x):
        calls.append(type(x).__name__)
        e = np.exp(x)
        return e, e

    f.defvjp(fwd, lambda e, g: (g * e,))
    assert float(ad.grad(f)(0.0)) == 1.0
    assert len(calls) == 1  # the sweep used the saved residuals
    calls.clear()
    assert float(ad.grad(ad.grad(f))(0.0)) == 1.0  # derivative through the residuals
    assert len(calls) == 2 and calls[1] == "Traced"


def test_custom_vjp_pytrees_and_none_cotangents():
    @ad.custom_vjp
    def affine(p, x):
        return {"y": p["w"] * x + p["b"], "z": p["w"] * x}

    def fwd(p, x):
        return affine(p, x), (p, x)

    def bwd(res, g):
        p, x = res
        gp = {"w": np.sum((g["y"] + g["z"]) * x), "b": None}  # None: a zero
        return gp, (g["y"] + g["z"]) * p["w"]

    affine.defvjp(fwd, bwd)
    p, x = {"w": 1.5, "b": 0.5}, np.array([1.0, 2.0, -1.0])
    loss = lambda p, x: np.sum(affine(p, x)["y"] ** 2) + np.sum(affine(p, x)["z"])  # noqa: E731
    gp, gx = ad.grad(loss, argnums=(0, 1))(p, x)
    y = 1.5 * x + 0.5
    np.testing.assert_allclose(gp["w"], np.sum((2 * y + 1) * x))
    assert float(gp["b"]) == 0.0  # as bwd said
    np.testing.assert_allclose(gx, (2 * y + 1) * 1.5)
    out = affine(p, x)  # a plain call runs the function
    np.testing.assert_allclose(out["z"], 1.5 * x)


def test_keyword_arguments_and_defaults_become_positional():
    @ad.custom_vjp
    def scale(x, factor=3.0):
        return factor * x

    seen = []

    def fwd(x, factor):
        seen.append(factor)
        return factor * x, factor

    scale.defvjp(fwd, lambda f, g: (f * g, None))
    assert float(ad.grad(lambda x: scale(x))(1.0)) == 3.0
    assert float(ad.grad(lambda x: scale(x, factor=5.0))(1.0)) == 5.0
    assert seen == [3.0, 5.0]


def test_float32_stays_float32():
    x = np.array([0.5, 1.5], dtype=np.float32)
    assert ad.grad(lambda x: np.sum(log1pexp(x)))(x).dtype == np.float32
    assert ad.grad(lambda x: np.sum(sinx(x)))(x).dtype == np.float32
    assert ad.jvp(log1pexp, (x,), (np.ones(2, np.float32),))[1].dtype == np.float32


def test_one_tape_entry_named_after_the_function():
    tape = ad.tape(lambda x: np.sum(log1pexp(x)), X)
    assert [e.op.name for e in tape.entries] == ["log1pexp[custom_jvp]", "sum"]
    assert "log1pexp[custom_jvp](rule=…)" in str(tape)


def test_a_function_named_like_a_primitive_stays_itself_under_vmap():
    @ad.custom_jvp
    def sum(x, axis=0):  # the name of a primitive, on purpose
        return np.sum(x**2, axis=axis)

    @sum.defjvp
    def sum_jvp(primals, tangents):
        (x, axis), (t, _) = primals, tangents
        return sum(x, axis), np.sum(2 * x * t, axis=axis)

    xs = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(ad.vmap(sum)(xs), np.sum(xs**2, axis=1))
    np.testing.assert_allclose(ad.vmap(ad.grad(sum))(xs), 2 * xs)


# ---- the Tensor facade ------------------------------------------------------------------------


def test_tensor_backward_both_kinds():
    t = ad.tensor(X, requires_grad=True)
    (sinx(t) * t).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), ad.grad(lambda x: np.sum(_natural(x) * x))(X))
    t = ad.tensor(np.array([-2.0, 0.0, 3.0]), requires_grad=True)
    log1pexp(t).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), 1 / (1 + np.exp(-t.detach().numpy())))
    t = ad.tensor(2.0, requires_grad=True)
    y = 3 * clip_gradient(-1.0, 1.0, t)
    assert y.grad_fn.next_functions[0][0].name() == "ClipGradientBackward0"
    y.backward()
    assert float(t.grad) == 1.0


def test_tensor_create_graph_second_order():
    t = ad.tensor(X, requires_grad=True)
    (g,) = ad.autograd.grad((sinx(t) * t).sum(), t, create_graph=True)
    g.sum().backward()
    np.testing.assert_allclose(
        t.grad.numpy(), ad.hessian(lambda x: np.sum(_natural(x) * x))(X).sum(0)
    )


def test_identity_output_does_not_alias_its_input():
    t = ad.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = clip_gradient(-1.0, 1.0, t)
    assert not np.shares_memory(y.detach().numpy(), t.detach().numpy())


# ---- vmap -------------------------------------------------------------------------------------


def test_under_vmap_the_op_loops_per_example():
    xs = np.array([0.0, 1.0, 4.0])
    np.testing.assert_allclose(ad.vmap(ad.grad(root_ratio))(xs), [1.0, 3 / 8, 4 / 18])
    np.testing.assert_allclose(ad.vmap(ad.grad(sinx))(xs), np.cos(xs) * xs + np.sin(xs))
    np.testing.assert_allclose(
        ad.grad(lambda x: np.sum(ad.vmap(sinx)(x)))(xs), np.cos(xs) * xs + np.sin(xs)
    )
    with pytest.raises(TypeError, match=r"custom_vjp.*sinx"):
        ad.jvp(ad.vmap(sinx), (xs,), (xs,))


# ---- errors -----------------------------------------------------------------------------------


def test_calling_before_the_rule_is_defined():
    @ad.custom_vjp
    def f(x):
        return x

    @ad.custom_jvp
    def g(x):
        return x

    with pytest.raises(AttributeError, match="No VJP defined for custom_vjp function f"):
        f(1.0)
    with pytest.raises(AttributeError, match="No JVP defined for custom_jvp function g"):
        ad.grad(g)(1.0)


def _with_bwd(bwd, fwd=None):
    @ad.custom_vjp
    def h(x, y):
        return x * y

    h.defvjp(fwd or (lambda x, y: (x * y, (x, y))), bwd)
    return h


@pytest.mark.parametrize(
    ("bwd", "error", "match"),
    [
        (lambda r, g: g * r[1], TypeError, "bwd rule of h must return a tuple.*got a ndarray"),
        (lambda r, g: [g, g], TypeError, "bwd rule of h must return a tuple.*got a list"),
        (lambda r, g: (g * r[1],), TypeError, "returned 1 cotangent, but h takes 2"),
        (lambda r, g: (g, g, g), TypeError, "returned 3 cotangents, but h takes 2"),
        (
            lambda r, g: (np.ones(5), None),
            ValueError,
            r"shape \(5,\) for an argument of shape \(3,\)",
        ),
    ],
)
def test_bwd_errors_name_the_function(bwd, error, match):
    h = _with_bwd(bwd)
    x = np.ones(3)
    with pytest.raises(error, match=match):
        ad.grad(lambda x: np.sum(h(x, 2.0 * x)))(x)
    t = ad.tensor(x, requires_grad=True)
    with pytest.raises(error, match=match):
        h(t, 2.0 * t).sum().backward()


def test_fwd_must_return_a_pair():
    h = _with_bwd(lambda r, g: (g, g), fwd=lambda x, y: x * y)
    with pytest.raises(TypeError, match="fwd rule of h must return a pair"):
        ad.grad(lambda x: np.sum(h(x, x)))(np.ones(2))


def test_cotangent_structure_must_match_the_argument():
    @ad.custom_vjp
    def f(p):
        return p["w"] * 2.0

    f.defvjp(lambda p: (f(p), None), lambda r, g: ({"v": g},))
    with pytest.raises(TypeError, match=r"cotangent 0.*structure PyTreeDef\(\{'w': \*\}\)"):
        ad.grad(lambda p: f(p))({"w": 1.0})


@pytest.mark.parametrize(
    ("rule", "error", "match"),
    [
        (lambda p, t: t[0], TypeError, "JVP rule of k must return a pair"),
        (
            lambda p, t: (p[0], np.ones(4)),
            ValueError,
            r"shape \(4,\) for an output of shape \(2,\)",
        ),
        (lambda p, t: (p[0], (t[0], t[0])), TypeError, "structure"),
    ],
)
def test_jvp_rule_errors_name_the_function(rule, error, match):
    @ad.custom_jvp
    def k(x):
        return 2.0 * x

    k.defjvp(rule)
    x = np.ones(2)
    with pytest.raises(error, match=match):
        ad.jvp(k, (x,), (x,))
    with pytest.raises(error, match=match):
        ad.grad(lambda x: np.sum(k(x)))(x)


def test_a_traced_value_in_a_closure_is_an_error():
    def outer(w):
        @ad.custom_jvp
        def f(x):
            return w * x

        f.defjvp(lambda p, t: (f(p[0]), w * t[0]))
        return np.sum(f(np.ones(2) * w))

    with pytest.raises(TypeError, match=r"custom_jvp function f.*closure"):
        ad.grad(outer)(2.0)


def test_not_a_function():
    with pytest.raises(TypeError, match="custom_vjp expects a function"):
        ad.custom_vjp(3.0)
    with pytest.raises(TypeError, match="bwd must be a function"):
        ad.custom_vjp(lambda x: x).defvjp(lambda x: (x, None), None)


def test_fwd_that_calls_the_function_itself():
    @ad.custom_vjp
    def f(x):
        return np.exp(x) * x

    f.defvjp(lambda x: (f(x), x), lambda x, g: (g * np.exp(x) * (1 + x),))  # JAX's usual form
    assert float(ad.grad(f)(0.0)) == 1.0
    assert float(ad.grad(ad.grad(f))(0.0)) == pytest.approx(2.0)  # (2 + x) eˣ
    # forward over reverse meets f's own forward mode inside fwd: an error, as in JAX
    with pytest.raises(TypeError, match=r"custom_vjp function: f has a VJP rule only"):
        ad.hessian(f)(0.0)


def test_zero_size_and_scalar_outputs():
    x = np.zeros((0, 3))
    assert ad.grad(lambda x: np.sum(sinx(x)))(x).shape == (0, 3)
    assert ad.grad(lambda x: np.sum(log1pexp(x)))(x).shape == (0, 3)
    assert ad.jacfwd(log1pexp)(x).shape == (0, 3, 0, 3)

    @ad.custom_vjp
    def total(x):
        return np.sum(x**2)

    calls = []

    def fwd(x):
        calls.append(1)
        return np.sum(x**2), x

    total.defvjp(fwd, lambda x, g: (2 * g * x,))
    t = ad.tensor(np.array([1.0, 2.0]), requires_grad=True)
    total(t).backward()  # a 0-d output: its residuals are found again by the sweep
    np.testing.assert_allclose(t.grad.numpy(), [2.0, 4.0])
    assert len(calls) == 1


def test_non_array_arguments_pass_through():
    @ad.custom_vjp
    def apply(fn, x):
        return fn(x)

    apply.defvjp(lambda fn, x: (fn(x), (fn, x)), lambda r, g: (None, g * 2.0))
    assert float(ad.grad(lambda x: apply(lambda v: 2.0 * v, x))(3.0)) == 2.0


def test_a_wrong_shape_inside_a_pytree_names_its_path():
    @ad.custom_vjp
    def f(p):
        return p["w"] * p["b"]

    f.defvjp(lambda p: (f(p), p), lambda p, g: ({"w": g * p["b"], "b": np.ones(4)},))
    with pytest.raises(ValueError, match=r"argument 0\['b'\] of f"):
        ad.grad(lambda p: np.sum(f(p)))({"w": np.ones(2), "b": np.ones(2)})


def test_python_numbers_as_cotangents():
    @ad.custom_vjp
    def f(x, y):
        return x * y

    f.defvjp(lambda x, y: (x * y, (x, y)), lambda r, g: (1.0, 2.0))
    assert ad.grad(f, argnums=(0, 1))(3.0, 4.0) == (1.0, 2.0)
