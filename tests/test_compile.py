"""ad.compile: record once, replay as NumPy; guards, optimisations, source, clear errors."""

from __future__ import annotations

import collections
import sys
import warnings

import numpy as np
import pytest

import autodiff as ad

C = sys.modules["autodiff.compile"]
CompileError = C.CompileError


def same(a, b):
    """Equal values, dtypes and (for arrays) bits: the replay is exact."""
    la, ta = ad.tree.flatten(a)
    lb, tb = ad.tree.flatten(b)
    assert ta == tb
    for x, y in zip(la, lb):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        assert np.array_equal(x, y, equal_nan=True), (x, y)


def run_source(compiled, *inputs):
    scope: dict = {}
    exec(compiled.source, scope)  # the source runs as is
    return scope["f"](*inputs, **compiled.constants)


def loss(w, x, b, y):
    return np.sum((np.tanh(w * x + b) - y) ** 2)


RNG = np.random.default_rng(0)
X = [RNG.normal(size=5) for _ in range(4)]


# ---- semantics ---------------------------------------------------------------------------------


def test_grad_records_once_and_replays_exactly():
    g = ad.grad(loss, argnums=(0, 2))
    cg = ad.compile(g)
    same(cg(*X), g(*X))
    assert cg.recordings == 1
    for k in range(3):
        args = [x + 0.3 * k for x in X]
        same(cg(*args), g(*args))
    assert cg.recordings == 1 and cg.versions[0].replays == 3


@pytest.mark.parametrize(
    "make",
    [
        lambda F: lambda x, v: ad.hvp(F, (x,), (v,)),
        lambda F: lambda x, v: ad.jvp(F, (x,), (v,)),
        lambda F: lambda x, v: ad.vjp(F, x)[1](v[0]),
        lambda F: lambda x, v: ad.jacrev(lambda x: np.sin(x) * x)(x),
        lambda F: lambda x, v: ad.jacfwd(lambda x: np.sin(x) * x)(x),
        lambda F: lambda x, v: ad.hessian(F)(x),
        lambda F: lambda x, v: ad.grad(ad.grad(lambda s: np.sin(s) * s))(x[0]),
    ],
    ids=["hvp", "jvp", "vjp", "jacrev", "jacfwd", "hessian", "grad-grad"],
)
def test_transforms_replay_equal_eager(make):
    def F(x):
        return np.sum(np.tanh(x) ** 2 * np.exp(-x))

    f = make(F)
    cf = ad.compile(f)
    x, v = RNG.normal(size=4), RNG.normal(size=4)
    same(cf(x, v), f(x, v))
    x2, v2 = RNG.normal(size=4), RNG.normal(size=4)
    same(cf(x2, v2), f(x2, v2))
    assert cf.recordings == 1
    same(run_source(cf, x2, v2), tuple(ad.tree.flatten(f(x2, v2))[0]))


def test_compiling_a_jacobian_function_itself():
    """Regression: a JacobianFunction has an attribute ``f``; compile must not take it."""
    f = lambda x: ad.stack([x[0] * x[1], np.sin(x[0]), x[0] + x[1]])  # noqa: E731
    for make in (ad.jacfwd, ad.jacrev):
        for vectorize in (True, False):
            jac = make(f, vectorize=vectorize)
            compiled = ad.compile(jac)
            for x in (np.array([1.0, 2.0]), np.array([-0.5, 3.0])):
                same(compiled(x), jac(x))


@pytest.mark.skipif(not hasattr(ad, "custom_vjp"), reason="no custom_vjp")
def test_user_rules_and_op_names_that_are_not_identifiers():
    @ad.custom_vjp
    def f(x):
        return np.sin(x)

    f.defvjp(lambda x: (np.sin(x), np.cos(x)), lambda res, g: (g * res,))
    g = ad.grad(lambda x: np.sum(f(x) * x))
    compiled = ad.compile(g)
    x = np.linspace(0, 1, 4)
    same(compiled(x), g(x))
    same(compiled(x + 1), g(x + 1))


def test_pytrees_in_and_out():
    Point = collections.namedtuple("Point", "a b")

    def f(p, scale):
        out = p["w"] * scale + np.sum(p["pt"].a * p["pt"].b)
        return {"out": out, "pair": (out * 2, Point(out, -out))}

    g = ad.compile(ad.value_and_grad(lambda p, s: np.sum(f(p, s)["out"])))
    p = {"w": np.arange(3.0), "pt": Point(np.ones(2), np.full(2, 2.0))}
    same(g(p, 1.5), ad.value_and_grad(lambda p, s: np.sum(f(p, s)["out"]))(p, 1.5))
    cf = ad.compile(f)
    same(cf(p, 2.0), f(p, 2.0))
    p2 = {"w": np.arange(3.0) + 1, "pt": Point(np.ones(2) * 3, np.full(2, -2.0))}
    same(cf(p2, 0.5), f(p2, 0.5))
    assert cf.recordings == 1  # a Python float is an input, not a constant


def test_signature_shapes_dtypes_and_python_ints():
    f = ad.compile(lambda x, n: x * n + np.sum(x))
    same(f(np.ones(3), 2), np.ones(3) * 2 + 3)
    same(f(np.ones(3), 3), np.ones(3) * 3 + 3)  # an int is part of the signature
    same(f(np.ones(4), 3), np.ones(4) * 3 + 4)
    out = f(np.ones(4, np.float32), 3)
    assert out.dtype == np.float32  # float32 stays float32
    assert f.recordings == 4


def test_weights_passed_as_arguments_follow_in_place_updates():
    grad = ad.grad(lambda W, x: np.sum(np.tanh(W @ x) ** 2))
    compiled = ad.compile(grad)
    W, x = RNG.normal(size=(3, 3)), RNG.normal(size=3)
    for _ in range(3):
        g = compiled(W, x)
        same(g, grad(W, x))
        W -= 0.1 * g  # a training step, in place


def test_zero_size_and_scalars():
    g = ad.grad(lambda x: np.sum(np.sin(x) ** 2))
    cg = ad.compile(g)
    same(cg(np.zeros(0)), g(np.zeros(0)))
    same(cg(np.zeros(0)), g(np.zeros(0)))
    h = ad.compile(ad.grad(lambda s: s * np.sin(s)))
    same(h(np.float64(0.5)), ad.grad(lambda s: s * np.sin(s))(np.float64(0.5)))
    same(h(np.float64(1.5)), ad.grad(lambda s: s * np.sin(s))(np.float64(1.5)))


# ---- guards ------------------------------------------------------------------------------------


def branchy(x):
    if np.sum(x) > 0:
        return np.sum(x**2)
    return np.sum(np.abs(x))


def test_if_on_a_value_is_a_guard():
    g = ad.grad(branchy)
    cg = ad.compile(g)
    pos, neg = np.array([1.0, 2.0]), np.array([-1.0, -2.0])
    same(cg(pos), g(pos))
    same(cg(neg), g(neg))  # the guard fails: recorded again for this path
    assert cg.recordings == 2
    same(cg(pos * 3), g(pos * 3))
    same(cg(np.array([-3.0, 1.0])), g(np.array([-3.0, 1.0])))
    assert cg.recordings == 2
    assert "Retrace" in cg.source and "guard" in cg.source


@pytest.mark.parametrize("conv", [float, int, bool, lambda v: v.item()])
def test_conversions_are_guards(conv):
    def f(x):
        return x * conv(np.sum(x))

    cf = ad.compile(f)
    xs = [np.ones(2), np.ones(2), np.full(2, 2.0), np.zeros(2), np.ones(2)]
    for x in xs:
        same(cf(x), f(x))
    assert cf.recordings == len({conv(np.sum(x)) for x in xs})


def test_churn_warns_once_and_suggests_the_fix():
    cf = ad.compile(lambda x: x * float(np.sum(x)), max_versions=2)
    with pytest.warns(C.CompileWarning, match="ad.where"):
        for k in range(4):
            same(cf(np.full(2, float(k))), np.full(2, float(k)) * 2 * k)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cf(np.full(2, 9.0))  # warned once only
    assert len(cf.versions) == 2


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: np.sum(ad.relu(x) * x),
        lambda x: np.sum(np.abs(x) * x),
        lambda x: np.sum(np.maximum(x, 0.1) ** 2),
        lambda x: np.max(x * x),
        lambda x: np.sum(np.where(x > 0, x, 0.5 * x) ** 2),
        lambda x: np.sum(np.clip(x, -0.5, 0.5) * x),
        lambda x: np.sum(np.sort(x) * np.arange(4.0)),
        lambda x: ad.linalg.norm(x, ord=np.inf),
    ],
    ids=["relu", "abs", "maximum", "max", "where", "clip", "sort", "norm-inf"],
)
def test_masks_in_rules_are_recomputed_never_baked(fn):
    """A rule's mask depends on the point: a replay at another point must recompute it."""
    g = ad.grad(fn)
    cg = ad.compile(g)
    a = np.array([1.0, -2.0, 0.3, -0.7])
    same(cg(a), g(a))
    for b in [-a, a[::-1].copy(), np.array([-0.2, 0.9, -1.5, 2.0])]:
        same(cg(b), g(b))


# ---- optimisations -----------------------------------------------------------------------------


def body(compiled):
    return compiled.source.split("def f(")[1]


def test_dead_code_and_common_subexpressions():
    def f(x):
        unused = np.exp(x) * 3  # noqa: F841
        return np.sin(x) * np.sin(x) + np.cos(x)

    cf = ad.compile(f)
    x = np.linspace(0, 1, 5)
    same(cf(x), f(x))
    src = body(cf)
    assert "exp" not in src and src.count("np.sin") == 1
    same(cf(x + 1), f(x + 1))


def test_identities_and_constant_folding():
    def f(x):
        y = np.reshape(x * 1.0, x.shape) + (-0.0)
        z = np.zeros_like(x) + 2.0 * 3.0
        return y / 1 + z, np.asarray(x, dtype=x.dtype)

    g = ad.compile(f)
    x = np.array([1.0, -0.0, 3.0])
    same(g(x), f(x))
    src = body(g)
    assert "reshape" not in src and "zeros_like" not in src and "* 1.0" not in src
    assert "+ 0.0" not in src  # the folded zeros + 6.0 is a constant
    same(g(x * 2), f(x * 2))


def test_plus_zero_kept_for_the_sign_of_zero():
    f = ad.compile(lambda x: x + 0.0)
    x = np.array([-0.0, 1.0])
    same(f(x), x + 0.0)
    assert np.signbit(f(x)[0]) == np.signbit((x + 0.0)[0])


def test_buffer_reuse_is_safe():
    def f(x, w):
        h = np.tanh(x * 2.0 + 1.0)
        return np.exp(h) * h + w, h  # h is returned: never overwritten

    cf = ad.compile(f)
    x, w = RNG.normal(size=(40, 40)), RNG.normal(size=(40, 40))
    same(cf(x, w), f(x, w))
    x0, w0 = x.copy(), w.copy()
    same(cf(x, w), f(x, w))
    assert np.array_equal(x, x0) and np.array_equal(w, w0)  # inputs untouched
    assert "out=" in body(cf)
    grad = ad.grad(lambda W, x: np.sum(np.tanh(np.tanh(x @ W) @ W) ** 2))
    mlp = ad.compile(grad)
    W = RNG.normal(size=(30, 30)) * 0.2
    same(mlp(W, x[:, :30]), grad(W, x[:, :30]))
    same(mlp(W * 2, x[:, :30]), grad(W * 2, x[:, :30]))


def pendulum(theta, omega, g_l, steps=200, dt=0.01):
    for _ in range(steps):
        omega = omega - dt * g_l * np.sin(theta)
        theta = theta + dt * omega
    return theta * theta + 0.1 * omega * omega


def test_scalar_chains_run_as_python_floats_exactly():
    g = ad.grad(pendulum, argnums=(0, 1, 2))
    cg = ad.compile(g)
    args = (np.float64(1.0), np.float64(0.0), np.float64(9.81))
    same(cg(*args), g(*args))
    for k in range(3):
        a = (np.float64(0.3 * k - 0.5), np.float64(0.1 * k), np.float64(9.0 + k))
        out = cg(*a)
        same(out, g(*a))
        assert all(type(o) is np.float64 for o in out)
    run = cg.versions[0]._run
    assert "f_" in run.source_text  # the fast path ran


def test_scalar_fast_path_falls_back_to_numpy():
    f = ad.compile(lambda a, b: a / b + np.log(a))
    with np.errstate(all="ignore"):
        same(f(np.float64(1.0), np.float64(2.0)), np.float64(1.0) / 2.0 + np.log(1.0))
        same(f(np.float64(1.0), np.float64(0.0)), np.float64(np.inf))
        same(f(np.float64(0.0), np.float64(1.0)), np.float64(-np.inf))


def test_outputs_never_alias_inputs_unlike_eager():
    f = ad.compile(lambda x: (x, x.astype(x.dtype), x * 1.0))
    x = np.ones(3)
    for _ in range(2):
        a, b, c = f(x)
        assert a is x and b is not x and c is not x and b is not c


# ---- source ------------------------------------------------------------------------------------


def test_source_is_readable_numpy_that_runs():
    Q = ad.compile(ad.grad(lambda a, b: np.sum(3 * a**3 - b**2), argnums=(0, 1)))
    a, b = np.array([2.0, 3.0]), np.array([6.0, 4.0])
    same(Q(a, b), (np.array([36.0, 81.0]), np.array([-12.0, -8.0])))
    src = Q.source
    assert "import numpy as np" in src and "def f(x0, x1):" in src
    lines = [ln for ln in body(Q).splitlines()[1:] if ln.strip().startswith("v")]
    assert lines and all("#" in ln for ln in lines)  # one comment per line
    assert any("VJP of power" in ln for ln in lines)
    same(tuple(run_source(Q, a, b)), Q(a, b))


def test_source_of_a_jvp_names_the_rules():
    f = ad.compile(lambda x: ad.jvp(lambda x: np.sin(x) * x, (x,), (np.ones(2),)))
    f(np.ones(2))
    assert "JVP of sin" in f.source and "JVP of multiply" in f.source


def test_source_notes_come_from_a_second_recording_on_the_first_arguments():
    calls = []

    def f(x):
        calls.append(1)
        return np.sum(np.sin(x) * x)

    g = ad.compile(ad.grad(f))
    x = np.array([0.5, 1.0])
    g(x)
    assert len(calls) == 1  # the first call records once, without the origins
    notes = [ln.split("# ")[1] for ln in body(g).splitlines() if "# " in ln]
    assert len(calls) == 2 and "sin: forward" in notes and "cos: VJP of sin" in notes
    g.source
    assert len(calls) == 2  # read once


def test_source_says_when_a_second_recording_took_another_path():
    calls = []

    def f(x):
        calls.append(1)
        return np.sin(x) if len(calls) == 1 else np.cos(x)  # a hidden state: not a guard

    g = ad.compile(f)
    g(np.ones(2))
    assert "origin unknown (recording it again took another path)" in g.source
    assert "np.sin(x0)" in g.source  # what runs is still what was recorded


def test_source_still_reads_when_a_second_recording_fails():
    calls = []

    def f(x):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("only once")
        return np.sin(x)

    g = ad.compile(f)
    g(np.ones(2))
    assert "np.sin(x0)" in g.source and "recording it again raised RuntimeError" in g.source


def test_a_dropped_compiled_function_is_freed_without_the_cycle_collector():
    import gc
    import weakref

    W = RNG.normal(size=(30, 30))
    f = ad.compile(ad.grad(lambda x: np.sum(np.tanh(W @ x) ** 2)))
    x = RNG.normal(size=30)
    f(x), f(x)
    f.source
    program = weakref.ref(f.versions[0].program)
    gc.disable()
    try:
        del f
        assert program() is None
    finally:
        gc.enable()


def test_big_constants_are_keyword_arguments():
    W = RNG.normal(size=(20, 20))
    f = ad.compile(lambda x: np.tanh(W @ x))
    x = RNG.normal(size=20)
    same(f(x), np.tanh(W @ x))
    assert list(f.constants) == ["c0"]
    same(run_source(f, x), (np.tanh(W @ x),))


def test_source_needs_a_first_call():
    with pytest.raises(RuntimeError, match="call the compiled function once"):
        ad.compile(np.sin).source


# ---- what cannot be compiled -------------------------------------------------------------------


def test_print_is_an_error():
    def f(x):
        print(x)
        return x * 2

    with pytest.raises(CompileError, match="stdout"):
        ad.compile(f)(np.ones(2))
    print("printing outside a recording still works")


def test_file_io_is_an_error(tmp_path):
    def f(x):
        (tmp_path / "log.txt").write_text("hello")
        return x * 2

    with pytest.raises(CompileError, match="I/O"):
        ad.compile(f)(np.ones(2))


def test_global_random_draws_are_an_error_but_a_seed_argument_works():
    with pytest.raises(CompileError, match="random"):
        ad.compile(lambda x: x + np.random.normal(size=2))(np.ones(2))

    def noisy(x, seed):
        return x + np.random.default_rng(seed).normal(size=2)

    cf = ad.compile(noisy)
    same(cf(np.ones(2), 1), noisy(np.ones(2), 1))
    same(cf(np.ones(2), 2), noisy(np.ones(2), 2))
    with pytest.raises(CompileError, match="seed"):
        cf(np.ones(2), np.random.default_rng(0))


def test_data_dependent_shapes_are_an_error():
    with pytest.raises(CompileError, match="data-dependent"):
        ad.compile(lambda x: np.sum(x[x > 0]))(np.array([1.0, -1.0]))
    with pytest.raises(CompileError, match="depends on"):
        ad.compile(lambda x: ad.raw(x)[np.nonzero(ad.raw(x) > 0)])(np.array([1.0, -1.0]))


def test_a_mask_built_from_constants_inside_is_a_constant():
    def f(x):
        m = np.zeros(3, dtype=bool)  # made while recording: a value of the program
        m[1] = True
        return np.sum(x[m] * 2.0)

    for compiled in (ad.compile(f), ad.compile(ad.grad(f))):
        for x in (np.ones(3), np.array([0.5, -2.0, 3.0])):
            same(compiled(x), (f if compiled.fn is f else ad.grad(f))(x))


def test_arrays_made_inside_stay_in_the_program_through_plain_arithmetic():
    # scatter_add's zeros, written with np.add.at, then summed with another cotangent: the sum
    # once escaped the recording and the replay returned the first point's gradient
    g = ad.compile(ad.grad(lambda x: np.max(x[1:]) + x[0]))
    same(g(np.array([0.0, 1.0, -0.2])), np.array([1.0, 1.0, 0.0]))
    same(g(np.array([0.0, -0.2, 1.0])), np.array([1.0, 0.0, 1.0]))
    assert "np.zeros" in g.source and g.recordings == 1


def test_writing_into_outside_arrays_is_an_error():
    buffer = np.zeros(2)

    def f(x):
        buffer[:] = x
        return x

    with pytest.raises(CompileError, match="plain array"):
        ad.compile(f)(np.ones(2))

    def g(x):
        np.multiply(x, 2, out=buffer)
        return x

    with pytest.raises(TypeError, match="out="):
        ad.compile(g)(np.ones(2))

    def h(x):
        y = x * 2
        ad.raw(y)[0] = 1.0  # into a value the function computed
        return y

    with pytest.raises(CompileError, match="in place"):
        ad.compile(h)(np.ones(2))


def test_escaped_values_are_an_error():
    kept = []

    def f(x):
        kept.append(x * 2)
        return x

    cf = ad.compile(f)
    cf(np.ones(2))
    with pytest.raises(TypeError, match="already returned"):
        np.sin(kept[0])


def test_tensor_facade_inside_is_a_clear_error():
    def f(x):
        t = ad.tensor(x, requires_grad=True)
        (t * t).sum().backward()
        return t.grad

    with pytest.raises(TypeError, match="Tensor"):
        ad.compile(f)(np.ones(2))


def test_nested_compiled_functions_inline():
    inner = ad.compile(lambda x: np.sin(x) * 2)
    outer = ad.compile(ad.grad(lambda x: np.sum(inner(x) ** 2)))
    x = np.linspace(0, 1, 3)
    want = ad.grad(lambda x: np.sum((np.sin(x) * 2) ** 2))(x)
    same(outer(x), want)
    same(outer(x), want)
