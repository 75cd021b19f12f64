"""dot, inner, outer, tensordot, einsum and autodiff.linalg: values, dispatch, closed forms,
JVP vs VJP on random shapes (hypothesis), batched (co)tangents."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiff as ad
from autodiff.core import bind
from autodiff.forward import jvp_batched
from autodiff.ops.linalg import parse, well_conditioned
from autodiff.registry import get

CONTRACTIONS = ["dot", "inner", "outer", "tensordot", "einsum"]
LINALG = ["inv", "det", "slogdet", "solve", "norm", "cholesky"]
NAMES = CONTRACTIONS + LINALG
NUMPY = {
    "dot": np.dot,
    "inner": np.inner,
    "outer": np.outer,
    "tensordot": lambda a, b, axes: np.tensordot(a, b, axes=axes),
    "einsum": lambda *xs, subscripts: np.einsum(subscripts, *xs),
    "inv": np.linalg.inv,
    "det": np.linalg.det,
    "slogdet": lambda a: np.linalg.slogdet(a)[1],
    "solve": np.linalg.solve,
    "norm": lambda x, ord, axis, keepdims: np.linalg.norm(x, ord, axis, keepdims),
    "cholesky": np.linalg.cholesky,
}


def _cases():
    for name in NAMES:
        op = get(name)
        for k, (args, params) in enumerate(op.samples(np.random.default_rng(0))):
            yield pytest.param(op, args, {**op.params, **params}, id=f"{name}-{k}")


CASES = list(_cases())


def _f(op, params):
    return lambda *xs: bind(op, xs, params)


def _public(op):
    return getattr(ad.linalg if op.module == "linalg" else ad, op.name)


# ------------------------------------------------------------------------------------------
# Declarations and values
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_declared_batchable_with_formulas(name):
    op = get(name)
    assert op.batchable
    assert op.jvp_formula and op.vjp_formula and op.doc
    assert op.module == ("linalg" if name in LINALG else "")


@pytest.mark.parametrize(("op", "args", "params"), CASES)
def test_value_matches_numpy(op, args, params):
    want = NUMPY[op.name](*args, **params)
    np.testing.assert_allclose(bind(op, args, params), want, rtol=1e-13, atol=1e-13)
    if op.name == "einsum":
        got = ad.einsum(params["subscripts"], *args)
    elif op.name == "slogdet":
        got = ad.linalg.slogdet(*args)[1]
    else:
        got = _public(op)(*args, **params)
    np.testing.assert_array_equal(got, want)
    # the same value on traced values, in both modes
    out, _ = ad.vjp(_f(op, params), *args)
    np.testing.assert_allclose(out, want, rtol=1e-13, atol=1e-13)
    out, _ = ad.jvp(_f(op, params), args, tuple(np.ones_like(a) for a in args))
    np.testing.assert_allclose(out, want, rtol=1e-13, atol=1e-13)


def _rng_matrices():
    rng = np.random.default_rng(7)
    a = well_conditioned(rng, (3, 3))
    spd = well_conditioned(rng, (3, 3), spd=True)
    return rng, a, spd


def test_numpy_functions_dispatch_on_traced_values():
    rng, a, spd = _rng_matrices()
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    v = rng.standard_normal(3)
    checks = [
        (lambda p: np.linalg.inv(p), (a,)),
        (lambda p: np.linalg.det(p), (a,)),
        (lambda p: np.linalg.slogdet(p)[1], (a,)),
        (lambda p: np.linalg.solve(p, v), (a,)),
        (lambda p, q: np.linalg.solve(p, q), (a, v)),
        (lambda p: np.linalg.norm(p), (a,)),
        (lambda p: np.linalg.norm(p, 1, 0, True), (a,)),
        (lambda p: np.linalg.norm(p, ord=np.inf), (v,)),
        (lambda p: np.linalg.cholesky(p), (spd,)),
        (lambda p, q: np.dot(p, q), (x, y)),
        (lambda p, q: p.dot(q), (x, y)),
        (lambda p, q: np.inner(p, q), (x, y.T)),
        (lambda p, q: np.outer(p, q), (x, y)),
        (lambda p, q: np.tensordot(p, q, 1), (x, y)),
        (lambda p, q: np.tensordot(p, q, axes=([1], [0])), (x, y)),
        (lambda p, q: np.einsum("ij,jk->ki", p, q), (x, y)),
        (lambda p, q: np.einsum("ij,jk", p, q), (x, y)),
        (lambda p, q: np.einsum(p, [0, 1], q, [1, 2], [2, 0]), (x, y)),
        (lambda p: np.einsum("ii", p), (a,)),
    ]
    for f, args in checks:
        want = f(*args)  # plain NumPy
        out, pullback = ad.vjp(f, *args)
        np.testing.assert_allclose(out, want, rtol=1e-13, atol=1e-13)
        grads = pullback(np.ones(np.shape(out)))
        assert [g.shape for g in grads] == [np.shape(p) for p in args]
        # and inside ad.grad, as a learner would write it
        g = ad.grad(lambda *ps, f=f: np.sum(f(*ps)))(*args)
        assert g.shape == args[0].shape and np.all(np.isfinite(g))


def test_slogdet_returns_plain_sign_and_differentiable_logabsdet():
    _, a, _ = _rng_matrices()
    a = a * np.sign(np.linalg.det(a)) * np.array([[-1.0], [1.0], [1.0]])  # det < 0
    sign, logabsdet = ad.linalg.slogdet(a)
    np.testing.assert_array_equal((sign, logabsdet), np.linalg.slogdet(a))

    def f(p):
        res = np.linalg.slogdet(p)
        assert isinstance(res.sign, np.ndarray | np.floating) and res.sign == -1.0
        return res.logabsdet

    np.testing.assert_allclose(ad.grad(f)(a), np.linalg.inv(a).T, rtol=1e-12)
    stacked = np.stack([a, -a[::-1]])
    signs, logs = ad.linalg.slogdet(stacked)
    np.testing.assert_array_equal(signs, np.linalg.slogdet(stacked)[0])
    np.testing.assert_allclose(logs, np.linalg.slogdet(stacked)[1])


def test_einsum_forms_match_numpy():
    rng = np.random.default_rng(3)
    a, b, c = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    for subs, ops in [
        ("...j,jk->...k", (a, b)),
        ("...j,jk", (a, b)),
        ("ij...,j...->i...", (rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4)))),
        ("Ba,aA", (rng.standard_normal((2, 3)), rng.standard_normal((3, 4)))),
        ("ijk,kl,l->ij", (a, b, c)),
        ("i,i", (c, c)),
        ("iji->j", (rng.standard_normal((3, 2, 3)),)),
        ("...", (a,)),
    ]:
        want = np.einsum(subs, *ops)
        out = ad.vjp(lambda *xs, s=subs: ad.einsum(s, *xs), *ops)[0]
        np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12, err_msg=subs)
    assert parse("...ij,jk", ((5, 2, 3), (3, 4))) == (("Aij", "jk"), "Aik")
    assert parse("Ba,aA", ((2, 3), (3, 4))) == (("Ba", "aA"), "AB")


def test_einsum_errors_are_clear():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="2 operand"):
        ad.grad(lambda p: ad.einsum("ij,jk->ik", p).sum())(x)
    with pytest.raises(ValueError, match="dimension"):
        ad.grad(lambda p: ad.einsum("ijk->", p))(x)
    with pytest.raises(ValueError, match=r"output has no '\.\.\.'"):
        ad.grad(lambda p: ad.einsum("...j->j", p).sum())(x)
    with pytest.raises(TypeError, match="out="):
        ad.grad(lambda p: ad.einsum("ij->", p, out=np.zeros(())))(x)


# ------------------------------------------------------------------------------------------
# Known closed forms
# ------------------------------------------------------------------------------------------


def test_det_gradient_is_det_times_inverse_transpose():
    rng = np.random.default_rng(0)
    for shape in [(3, 3), (4, 4), (2, 3, 3)]:
        a = well_conditioned(rng, shape)
        want = np.linalg.det(a)[..., None, None] * np.swapaxes(np.linalg.inv(a), -1, -2)
        np.testing.assert_allclose(ad.grad(lambda p: ad.linalg.det(p).sum())(a), want, rtol=1e-12)
        # forward mode, one direction: d det = det · tr(A⁻¹ V)
        v = rng.standard_normal(shape)
        _, t = ad.jvp(ad.linalg.det, (a,), (v,))
        np.testing.assert_allclose(t, np.sum(want * v, axis=(-2, -1)), rtol=1e-12)


def test_slogdet_gradient_is_inverse_transpose():
    rng = np.random.default_rng(1)
    for shape in [(3, 3), (2, 4, 4)]:
        a = well_conditioned(rng, shape)
        got = ad.grad(lambda p: ad.linalg.slogdet(p)[1].sum())(a)
        np.testing.assert_allclose(got, np.swapaxes(np.linalg.inv(a), -1, -2), rtol=1e-12)


def test_inv_and_solve_closed_forms():
    rng, a, _ = _rng_matrices()
    v = rng.standard_normal((3, 3))
    ai = np.linalg.inv(a)
    np.testing.assert_allclose(ad.jvp(ad.linalg.inv, (a,), (v,))[1], -ai @ v @ ai, rtol=1e-12)
    w = rng.standard_normal((3, 3))
    got = ad.grad(lambda p: (ad.linalg.inv(p) * w).sum())(a)
    np.testing.assert_allclose(got, -ai.T @ w @ ai.T, rtol=1e-12)
    b = rng.standard_normal(3)
    ga, gb = ad.grad(lambda p, q: (ad.linalg.solve(p, q) * b).sum(), argnums=(0, 1))(a, b)
    bbar = np.linalg.solve(a.T, b)
    np.testing.assert_allclose(gb, bbar, rtol=1e-12)
    np.testing.assert_allclose(ga, -np.outer(bbar, np.linalg.solve(a, b)), rtol=1e-12)


def test_cholesky_reconstructs_and_logdet_gradient_is_the_inverse():
    rng = np.random.default_rng(2)
    for shape in [(3, 3), (2, 4, 4)]:
        a = well_conditioned(rng, shape, spd=True)
        low = ad.linalg.cholesky(a)
        np.testing.assert_array_equal(low, np.linalg.cholesky(a))
        np.testing.assert_allclose(low @ np.swapaxes(low, -1, -2), a, rtol=1e-12, atol=1e-12)

        def logdet(p):
            return 2 * ad.log(ad.diagonal(ad.linalg.cholesky(p), 0, -2, -1)).sum()

        np.testing.assert_allclose(ad.grad(logdet)(a), np.linalg.inv(a), rtol=1e-10, atol=1e-12)
    # the gradient of anything through cholesky is symmetric (A is symmetric)
    a = well_conditioned(rng, (4, 4), spd=True)
    g = ad.grad(lambda p: (ad.linalg.cholesky(p) * np.arange(16.0).reshape(4, 4)).sum())(a)
    np.testing.assert_allclose(g, g.T, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("shape", "params"),
    [((3,), {}), ((2, 3), {"axis": 1}), ((2, 3), {"axis": None, "keepdims": True}),
     ((3, 3), {"ord": "fro"}), ((4,), {"ord": 3}), ((4,), {"ord": 1}), ((4,), {"ord": np.inf}),
     ((3, 3), {"ord": 1}), ((3, 3), {"ord": -np.inf})],
)  # fmt: skip
def test_norm_gradient_at_zero_is_zero_not_nan(shape, params):
    zero = np.zeros(shape)
    out, pullback = ad.vjp(lambda x: ad.linalg.norm(x, **params), zero)
    (g,) = pullback(np.ones(np.shape(out)))
    np.testing.assert_array_equal(g, np.zeros(shape))
    _, t = ad.jvp(lambda x: ad.linalg.norm(x, **params), (zero,), (np.ones(shape),))
    np.testing.assert_array_equal(t, np.zeros(np.shape(out)))
    # second order stays finite: the derivative of the gradient at 0 is 0 as well
    _, hv = ad.jvp(ad.grad(lambda x: ad.linalg.norm(x, **params).sum()), (zero,), (np.ones(shape),))
    assert np.all(np.isfinite(hv))


def test_norm_gradient_closed_forms():
    x = np.array([3.0, -4.0, 0.0])
    np.testing.assert_allclose(ad.grad(ad.linalg.norm)(x), x / 5.0)
    np.testing.assert_array_equal(ad.grad(lambda p: ad.linalg.norm(p, 1))(x), [1.0, -1.0, 0.0])
    np.testing.assert_array_equal(ad.grad(lambda p: ad.linalg.norm(p, np.inf))(x), [0, -1.0, 0])
    # ties share the gradient evenly
    tie = np.array([2.0, -2.0, 1.0])
    np.testing.assert_array_equal(ad.grad(lambda p: ad.linalg.norm(p, np.inf))(tie), [0.5, -0.5, 0])
    m = np.array([[1.0, -5.0], [-2.0, 1.0]])  # column sums 3, 6; row sums 6, 3
    np.testing.assert_array_equal(ad.grad(lambda p: ad.linalg.norm(p, 1))(m), [[0, -1], [0, 1]])
    np.testing.assert_array_equal(ad.grad(lambda p: ad.linalg.norm(p, np.inf))(m),
                                  [[1, -1], [0, 0]])  # fmt: skip
    # rows of a stack, keepdims: x / ‖x‖ per row
    s = np.random.default_rng(0).standard_normal((2, 3))
    g = ad.grad(lambda p: ad.linalg.norm(p, axis=1, keepdims=True).sum())(s)
    np.testing.assert_allclose(g, s / np.linalg.norm(s, axis=1, keepdims=True))


def test_norm_without_an_exact_rule_says_so():
    v = np.array([0.5, -2.0, 1.25])
    for ord in [0.5, -1]:
        assert ad.linalg.norm(v, ord) == np.linalg.norm(v, ord)  # values still work
        with pytest.raises(NotImplementedError, match=r"linalg\.norm: no derivative rule"):
            ad.grad(lambda p, o=ord: ad.linalg.norm(p, o))(v)
    with pytest.raises(ValueError, match="norm order"):
        ad.grad(lambda p: ad.linalg.norm(p, "fro", axis=0))(v)


def test_singular_value_norms_have_their_closed_forms():
    # ‖X‖₂ = s₁: u₁v₁ᵀ; ‖X‖₋₂ = sₖ: uₖvₖᵀ; ‖X‖_nuc = Σs: U Vᵀ (np.linalg.norm dispatches)
    x = np.random.default_rng(3).standard_normal((4, 3))
    u, _, vh = np.linalg.svd(x, full_matrices=False)
    want = {2: np.outer(u[:, 0], vh[0]), -2: np.outer(u[:, -1], vh[-1]), "nuc": u @ vh}
    for ord, w in want.items():
        out, pullback = ad.vjp(lambda p, o=ord: np.linalg.norm(p, o), x)
        assert out == np.linalg.norm(x, ord)
        np.testing.assert_allclose(pullback(np.array(1.0))[0], w, atol=1e-12)
    # a stack over chosen axes, with keepdims, equals the matrices one at a time
    stack = np.random.default_rng(4).standard_normal((3, 2, 4))
    g = ad.grad(lambda p: ad.linalg.norm(p, "nuc", axis=(2, 0), keepdims=True).sum())(stack)
    for i in range(2):
        gi = ad.grad(lambda p: ad.linalg.norm(p, "nuc"))(stack[:, i, :].T)
        np.testing.assert_allclose(g[:, i, :], gi.T, atol=1e-12)


def test_singular_value_norms_share_ties_and_give_zero_at_zero():
    # ‖I‖₂: every singular value is the largest; the mean of uᵢvᵢᵀ is I/n whatever the basis
    np.testing.assert_allclose(ad.grad(lambda p: ad.linalg.norm(p, 2))(np.eye(3)), np.eye(3) / 3,
                               atol=1e-12)  # fmt: skip
    for ord in [2, -2, "nuc"]:
        np.testing.assert_array_equal(
            ad.grad(lambda p, o=ord: ad.linalg.norm(p, o))(np.zeros((2, 3))), np.zeros((2, 3))
        )
    # a rank-one matrix: the zero singular value gets no share of the nuclear norm's gradient
    r1 = np.outer([1.0, 2.0], [3.0, -1.0, 0.5])
    u, _, vh = np.linalg.svd(r1, full_matrices=False)
    np.testing.assert_allclose(ad.grad(lambda p: ad.linalg.norm(p, "nuc"))(r1),
                               np.outer(u[:, 0], vh[0]), atol=1e-12)  # fmt: skip


def test_trace_and_diagonal_by_einsum():
    a = np.random.default_rng(0).standard_normal((3, 3))
    np.testing.assert_array_equal(ad.grad(lambda p: ad.einsum("ii", p))(a), np.eye(3))
    out, pullback = ad.vjp(lambda p: ad.einsum("ii->i", p), a)
    np.testing.assert_array_equal(out, np.diag(a))
    np.testing.assert_array_equal(pullback(np.array([1.0, 2.0, 3.0]))[0], np.diag([1.0, 2, 3]))
    # a label summed in one operand only: its cotangent is spread along that axis
    np.testing.assert_array_equal(ad.grad(lambda p: ad.einsum("ij->", p))(a), np.ones((3, 3)))


def test_outer_flattens_like_numpy():
    rng = np.random.default_rng(0)
    a, b, w = rng.standard_normal((2, 3)), rng.standard_normal(4), rng.standard_normal((6, 4))
    ga, gb = ad.grad(lambda p, q: (ad.outer(p, q) * w).sum(), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, (w @ b).reshape(2, 3))
    np.testing.assert_allclose(gb, a.reshape(-1) @ w)


def test_float32_stays_float32():
    rng = np.random.default_rng(0)
    a = well_conditioned(rng, (3, 3)).astype(np.float32)
    spd = well_conditioned(rng, (3, 3), spd=True).astype(np.float32)
    v = np.ones(3, dtype=np.float32)
    fs = [
        (lambda p: ad.dot(p, p).sum(), a),
        (lambda p: ad.inner(p, p).sum(), a),
        (lambda p: ad.outer(p, v).sum(), a),
        (lambda p: ad.tensordot(p, p, 1).sum(), a),
        (lambda p: ad.einsum("ij,jk,ii->", p, p, p), a),
        (lambda p: ad.linalg.inv(p).sum(), a),
        (lambda p: ad.linalg.det(p), a),
        (lambda p: ad.linalg.slogdet(p)[1], a),
        (lambda p: ad.linalg.solve(p, v).sum(), a),
        (lambda p: ad.linalg.norm(p), a),
        (lambda p: ad.linalg.norm(p, 1), a),
        (lambda p: ad.linalg.cholesky(p).sum(), spd),
    ]
    for f, x in fs:
        assert ad.grad(f)(x).dtype == np.float32


# ------------------------------------------------------------------------------------------
# Batched (co)tangents equal stacked single ones
# ------------------------------------------------------------------------------------------

K = 4  # not a size any sample uses, so a misplaced batch axis cannot go unnoticed


@pytest.mark.parametrize(("op", "args", "params"), CASES)
def test_batched_jvp_equals_stacked(op, args, params):
    rng = np.random.default_rng(1)
    f = _f(op, params)
    args = tuple(np.asarray(a) for a in args)
    tangents = tuple(rng.standard_normal((K, *a.shape)) for a in args)
    out, t_batched = jvp_batched(f, args, tangents, batch=1)
    stacked = np.stack([ad.jvp(f, args, tuple(t[k] for t in tangents))[1] for k in range(K)])
    assert np.shape(t_batched) == (K, *np.shape(out))
    np.testing.assert_allclose(t_batched, stacked, rtol=1e-10, atol=1e-12)
    # one argument moving, the others held (symbolic zero tangents inside)
    for i in range(len(args)):
        only = tuple(t if j == i else np.zeros_like(t) for j, t in enumerate(tangents))
        _, t_only = jvp_batched(f, args, only, batch=1)
        stacked = np.stack([ad.jvp(f, args, tuple(t[k] for t in only))[1] for k in range(K)])
        np.testing.assert_allclose(t_only, stacked, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("op", "args", "params"), CASES)
def test_batched_vjp_equals_stacked(op, args, params):
    rng = np.random.default_rng(2)
    out, pullback = ad.vjp(_f(op, params), *args)
    cotangents = rng.standard_normal((K, *np.shape(out)))
    batched = pullback.batched(cotangents)
    for i, a in enumerate(args):
        stacked = np.stack([pullback(u)[i] for u in cotangents])
        assert batched[i].shape == (K, *np.shape(a))
        np.testing.assert_allclose(batched[i], stacked, rtol=1e-10, atol=1e-12)


def test_batched_second_order_matches_stacked():
    # a batched sweep through the rules of the rules: the VJP of a function that is a JVP
    rng = np.random.default_rng(3)
    a = well_conditioned(rng, (3, 3), spd=True)
    v = rng.standard_normal((3, 3))
    b = rng.standard_normal((3, 2))

    def inner(p):
        low = ad.linalg.cholesky(p)
        x = ad.linalg.solve(ad.linalg.inv(p) + p, b)
        return ad.einsum("ij,jk->ik", low, x) * ad.linalg.det(p) + ad.linalg.norm(x, axis=0)

    def jvp_of(p):
        return ad.jvp(inner, (p,), (v,))[1] * ad.linalg.slogdet(p)[1]

    out, pullback = ad.vjp(jvp_of, a)
    us = rng.standard_normal((K, *np.shape(out)))
    np.testing.assert_allclose(pullback.batched(us)[0], np.stack([pullback(u)[0] for u in us]),
                               rtol=1e-10, atol=1e-12)  # fmt: skip
    ad.check_grads(inner, (a,), order=2)


# ------------------------------------------------------------------------------------------
# Hypothesis: random shapes, Jacobians built from JVPs (columns) and from VJPs (rows)
# ------------------------------------------------------------------------------------------


def _jacobians(f, args):
    """Per argument, the Jacobian ``(out.size, arg.size)`` from JVP columns and from VJP rows."""
    out = np.asarray(f(*args))
    fwd = []
    for i, a in enumerate(args):
        cols = []
        for e in range(a.size):
            ts = [np.zeros_like(x) for x in args]
            ts[i].flat[e] = 1.0
            cols.append(np.ravel(ad.jvp(f, args, tuple(ts))[1]))
        fwd.append(np.stack(cols, axis=1) if cols else np.zeros((out.size, 0)))
    _, pullback = ad.vjp(f, *args)
    rows = []
    for e in range(out.size):
        u = np.zeros(out.shape)
        u.flat[e] = 1.0
        rows.append(pullback(u))
    rev = [np.stack([np.ravel(r[i]) for r in rows]) if rows else np.zeros((0, a.size))
           for i, a in enumerate(args)]  # fmt: skip
    return out, fwd, rev


def _check_jacobians(f, args, want):
    out, fwd, rev = _jacobians(f, args)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)
    for jf, jr in zip(fwd, rev):
        np.testing.assert_allclose(jf, jr, rtol=1e-12, atol=1e-12)


DIM = st.integers(1, 3)
SETTINGS = settings(max_examples=40, deadline=None)


def _arrays(draw, *shapes):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(s) for s in shapes)


@st.composite
def dot_operands(draw):
    a = draw(st.lists(DIM, max_size=3))
    b = draw(st.lists(DIM, max_size=3))
    if a and b:
        b[max(len(b) - 2, 0)] = a[-1]
    return _arrays(draw, tuple(a), tuple(b))


@SETTINGS
@given(dot_operands())
def test_dot_jvp_and_vjp_agree_on_random_shapes(ab):
    _check_jacobians(ad.dot, ab, np.dot(*ab))


@SETTINGS
@given(dot_operands(), st.booleans())
def test_inner_jvp_and_vjp_agree_on_random_shapes(ab, swap):
    a, b = ab
    if a.ndim and b.ndim:  # inner pairs the last axes
        b = np.moveaxis(b, max(b.ndim - 2, 0), -1)
    a, b = (b, a) if swap else (a, b)
    _check_jacobians(ad.inner, (a, b), np.inner(a, b))


@st.composite
def tensordot_case(draw):
    a = draw(st.lists(DIM, max_size=3))
    k = draw(st.integers(0, len(a)))
    a_axes = draw(st.permutations(range(len(a))))[:k]
    ndb = k + draw(st.integers(0, 2))
    b_axes = draw(st.permutations(range(ndb)))[:k]
    b = [draw(DIM) for _ in range(ndb)]
    for p, q in zip(a_axes, b_axes):
        b[q] = a[p]
    if list(a_axes) == list(range(len(a) - k, len(a))) and list(b_axes) == list(range(k)):
        axes = k if draw(st.booleans()) else (list(a_axes), list(b_axes))
    else:
        axes = (list(a_axes), list(b_axes))
    return _arrays(draw, tuple(a), tuple(b)), axes


@SETTINGS
@given(tensordot_case())
def test_tensordot_jvp_and_vjp_agree_on_random_shapes(case):
    (a, b), axes = case
    _check_jacobians(lambda p, q: ad.tensordot(p, q, axes), (a, b), np.tensordot(a, b, axes))


@st.composite
def einsum_case(draw):
    sizes = dict(zip("abcd", draw(st.lists(DIM, min_size=4, max_size=4))))
    labels = st.sampled_from("abcd")
    n = draw(st.integers(1, 3))
    ins = ["".join(draw(st.lists(labels, max_size=3))) for _ in range(n)]
    used = sorted(set("".join(ins)))
    if draw(st.booleans()):
        subscripts = ",".join(ins)  # implicit output
    else:
        out = draw(st.permutations(used))[: draw(st.integers(0, len(used)))]
        subscripts = ",".join(ins) + "->" + "".join(out)
    shapes = [tuple(sizes[c] for c in s) for s in ins]
    return subscripts, _arrays(draw, *shapes)


@SETTINGS
@given(einsum_case())
def test_einsum_jvp_and_vjp_agree_on_random_subscripts(case):
    subscripts, ops = case
    f = lambda *xs: ad.einsum(subscripts, *xs)  # noqa: E731
    _check_jacobians(f, ops, np.einsum(subscripts, *ops))


@st.composite
def einsum_broadcast_case(draw):
    batch = draw(st.lists(DIM, max_size=2))
    shapes = []
    for last in [(2, 3), (3, 2)]:
        lead = [1 if draw(st.booleans()) else n for n in batch][draw(st.integers(0, len(batch))) :]
        shapes.append((*lead, *last))
    return _arrays(draw, *shapes)


@SETTINGS
@given(einsum_broadcast_case())
def test_einsum_ellipsis_broadcasting_jvp_and_vjp_agree(ops):
    f = lambda a, b: ad.einsum("...ij,...jk->...ik", a, b)  # noqa: E731
    _check_jacobians(f, ops, np.einsum("...ij,...jk->...ik", *ops))
