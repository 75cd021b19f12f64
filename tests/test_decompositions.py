"""np.linalg decompositions and what is built on them: eigh, eigvalsh, svd, svdvals, qr, pinv,
lstsq, matrix_power, multi_dot and the singular-value norms.

The registry-wide test runs check_grads on every op's samples (both modes, second order); this file
checks what it cannot see: values equal NumPy's through ``np.linalg.X(box)``, closed forms,
stacks against one matrix at a time, jacfwd against jacrev, the conventions (one triangle for
eigh, degenerate spectra), float32, and the errors.
"""

import warnings

import numpy as np
import pytest

import autodiff as ad
from autodiff.ops.decompositions import DegenerateWarning, spread_sample, symmetric_sample

RNG = np.random.default_rng(11)
SYM = symmetric_sample(RNG, (3, 3), "L")  # noise in the upper triangle, which NumPy never reads
TALL = spread_sample(RNG, (4, 3))
WIDE = spread_sample(RNG, (2, 4))
STACK = spread_sample(RNG, (2, 3, 3))
SYM_STACK = symmetric_sample(RNG, (2, 3, 3), "L")
B4 = RNG.standard_normal(4)


def _tree_equal(got, want):
    if isinstance(want, tuple):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _tree_equal(g, w)
    else:
        np.testing.assert_array_equal(np.asarray(ad.core.raw(got)), want)


# ------------------------------------------------------------------------------------------
# Values: NumPy's own, through np.linalg.X on traced values
# ------------------------------------------------------------------------------------------

CALLS = [
    (lambda a: np.linalg.eigh(a), SYM),
    (lambda a: np.linalg.eigh(a, UPLO="U"), SYM.T),
    (lambda a: np.linalg.eigh(a), SYM_STACK),
    (lambda a: np.linalg.eigvalsh(a), SYM),
    (lambda a: np.linalg.svd(a), STACK),
    (lambda a: np.linalg.svd(a, full_matrices=False), TALL),
    (lambda a: np.linalg.svd(a, full_matrices=False), WIDE),
    (lambda a: np.linalg.svd(a, compute_uv=False), TALL),
    (lambda a: np.linalg.svd(a, hermitian=True), SYM),
    (lambda a: np.linalg.svd(a, compute_uv=False, hermitian=True), SYM_STACK),
    (lambda a: np.linalg.svdvals(a), STACK),
    (lambda a: np.linalg.qr(a), TALL),
    (lambda a: np.linalg.qr(a), WIDE),
    (lambda a: np.linalg.qr(a, mode="complete"), WIDE),
    (lambda a: np.linalg.qr(a, mode="r"), STACK),
    (lambda a: np.linalg.pinv(a), TALL),
    (lambda a: np.linalg.pinv(a, rtol=None), WIDE),
    (lambda a: np.linalg.pinv(a, 1e-8), STACK),
    (lambda a: np.linalg.pinv(a, hermitian=True), SYM),
    (lambda a: np.linalg.lstsq(a, B4)[0], spread_sample(RNG, (4, 2))),
    (lambda a: np.linalg.matrix_power(a, 7), STACK),
    (lambda a: np.linalg.matrix_power(a, -3), SYM),
    (lambda a: np.linalg.matrix_power(a, 0), SYM),
    (lambda a: np.linalg.multi_dot([a, a.T, a, a]), TALL.T @ TALL),
    (lambda a: np.linalg.multi_dot([a[0], a, a[:, 1]]), SYM),
    (lambda a: np.linalg.norm(a, 2), TALL),
    (lambda a: np.linalg.norm(a, "nuc", axis=(0, 2)), STACK),
    (lambda a: np.linalg.cond(a), TALL),
    (lambda a: np.linalg.cond(a, "fro"), STACK),
]


@pytest.mark.parametrize(("f", "a"), CALLS, ids=range(len(CALLS)))
def test_values_equal_numpy_in_both_modes(f, a):
    want = f(a)
    out, _ = ad.vjp(lambda p: f(p), a)
    _tree_equal(out, want)
    out, _ = ad.jvp(lambda p: f(p), (a,), (np.ones_like(a),))
    _tree_equal(out, want)


PUBLIC = [
    (lambda a: np.linalg.eigh(a).eigenvectors, SYM),
    (lambda a: np.linalg.eigh(a, "U")[1], SYM.T),
    (lambda a: np.linalg.svd(a, full_matrices=False).U, TALL),
    (lambda a: np.linalg.svd(a, hermitian=True).Vh, SYM),
    (lambda a: np.linalg.svd(a, compute_uv=False, hermitian=True), SYM),
    (lambda a: np.linalg.qr(a).Q, WIDE),
    (lambda a: np.linalg.qr(a, mode="r"), TALL),
    (lambda a: np.linalg.pinv(a, hermitian=True), SYM),
    (lambda a: np.linalg.lstsq(a, B4)[0], TALL),
    (lambda a: np.linalg.cond(a, -2), TALL),
    (lambda a: np.linalg.matrix_power(a, -5), STACK),
    (lambda a: np.linalg.multi_dot([a, a.T, a]), TALL),
]


@pytest.mark.parametrize(("f", "a"), PUBLIC, ids=range(len(PUBLIC)))
def test_public_functions_to_second_order(f, a):
    # the registry-wide test checks the primitives; these are the factors users get from them
    ad.check_grads(f, (a,), order=2)


def test_results_are_numpy_named_tuples_of_traced_values():
    def f(a):
        w, v = np.linalg.eigh(a)
        res = np.linalg.eigh(a)
        assert res.eigenvalues is not None and isinstance(res.eigenvectors, ad.core.Box)
        u, s, vh = np.linalg.svd(a)
        res = np.linalg.svd(a)
        assert isinstance(res.U, ad.core.Box) and isinstance(res.S, ad.core.Box)
        q, r = np.linalg.qr(a)
        assert isinstance(np.linalg.qr(a).R, ad.core.Box)
        return w.sum() + v.sum() + u.sum() + s.sum() + vh.sum() + q.sum() + r.sum()

    assert np.isfinite(ad.grad(f)(SYM)).all()


def test_lstsq_returns_numpy_tuple():
    a, b = spread_sample(RNG, (5, 2)), RNG.standard_normal((5, 3))
    x, res, rank, s = ad.linalg.lstsq(ad.tensor(a), b)
    wx, wres, wrank, ws = np.linalg.lstsq(a, b)
    np.testing.assert_array_equal(x.numpy(), wx)
    np.testing.assert_allclose(res.numpy(), wres, rtol=1e-10)
    np.testing.assert_allclose(s.numpy(), ws, rtol=1e-12)
    assert rank == wrank == 2
    # wide or rank-deficient: no residuals, as NumPy
    for a, b in [(WIDE, B4[:2]), (np.outer([1.0, 2.0, 3.0], [1.0, 1.0]), B4[:3])]:
        x, res, rank, s = ad.linalg.lstsq(ad.tensor(a), b)
        wx, wres, wrank, _ = np.linalg.lstsq(a, b)
        assert res.shape == wres.shape == (0,) and rank == wrank
        np.testing.assert_allclose(x.numpy(), wx, atol=1e-12)


# ------------------------------------------------------------------------------------------
# Closed forms, first and second order
# ------------------------------------------------------------------------------------------


def test_eigh_reads_one_triangle_only():
    # the ignored triangle has a zero gradient; the read one gets v vᵀ folded onto it
    v = np.linalg.eigh(SYM).eigenvectors
    outer = np.outer(v[:, -1], v[:, -1])
    g = ad.grad(lambda a: np.linalg.eigh(a)[0][-1])(SYM)
    np.testing.assert_allclose(g, np.tril(2 * outer) - np.diag(np.diag(outer)), atol=1e-12)
    gu = ad.grad(lambda a: np.linalg.eigvalsh(a, UPLO="U")[-1])(SYM.T)
    np.testing.assert_allclose(gu, g.T, atol=1e-12)


def test_second_order_closed_forms():
    # Σ wᵢ² = ‖S‖²: hessian 2 on the diagonal, 4 below it (each entry counts twice), 0 above
    h = ad.hessian(lambda a: (ad.linalg.eigvalsh(a) ** 2).sum())(SYM)
    weight = 2 * np.eye(3) + 4 * np.tril(np.ones((3, 3)), -1)
    np.testing.assert_allclose(h, np.diag(weight.ravel()).reshape(3, 3, 3, 3), atol=1e-9)
    # Σ sᵢ² = ‖A‖² and ‖R‖² = ‖A‖² (Q orthonormal): gradient 2A, hessian 2I
    eye = 2 * np.eye(12).reshape(4, 3, 4, 3)
    for f in [lambda a: (ad.linalg.svd(a, full_matrices=False).S ** 2).sum(),
              lambda a: (np.linalg.svd(a, compute_uv=False) ** 2).sum(),
              lambda a: (np.linalg.qr(a).R ** 2).sum()]:  # fmt: skip
        np.testing.assert_allclose(ad.grad(f)(TALL), 2 * TALL, atol=1e-10)
        np.testing.assert_allclose(ad.hessian(f)(TALL), eye, atol=1e-8)


def test_closed_forms_of_svdvals_pinv_and_lstsq():
    u, _, vh = np.linalg.svd(TALL, full_matrices=False)
    np.testing.assert_allclose(ad.grad(lambda a: np.linalg.svdvals(a)[1])(TALL),
                               np.outer(u[:, 1], vh[1]), atol=1e-12)  # fmt: skip
    # an invertible matrix: pinv is inv, lstsq is solve
    a = STACK[0]
    for f, g in [
        (np.linalg.pinv, np.linalg.inv),
        (lambda p: np.linalg.lstsq(p, B4[:3])[0], lambda p: np.linalg.solve(p, B4[:3])),
    ]:
        np.testing.assert_allclose(ad.jacrev(f)(a), ad.jacrev(g)(a), atol=1e-10)  # fmt: skip


def test_lstsq_residuals_match_finite_differences():
    a, b = spread_sample(RNG, (5, 2)), RNG.standard_normal(5)

    def f(p, q):
        return np.linalg.lstsq(p, q)[1][0]

    ad.check_grads(f, (a, b), order=2)
    ad.check_grads(lambda p, q: np.linalg.lstsq(p, q)[3], (a, b), order=1)


# ------------------------------------------------------------------------------------------
# Stacks, jacfwd vs jacrev, the Tensor facade
# ------------------------------------------------------------------------------------------

SCALARS = [
    lambda a: (np.linalg.eigh(a)[1][..., 0] ** 3).sum() + np.linalg.eigh(a)[0].sum(),
    lambda a: (np.linalg.svd(a)[0] * np.linalg.svd(a)[2]).sum(),
    lambda a: (np.linalg.qr(a)[0] ** 3).sum() + np.linalg.qr(a)[1].sum(),
    lambda a: (np.linalg.pinv(a) ** 2).sum(),
    lambda a: np.linalg.norm(a, -2, axis=(-2, -1)).sum(),
]


@pytest.mark.parametrize("f", SCALARS, ids=["eigh", "svd", "qr", "pinv", "norm"])
def test_a_stack_equals_its_matrices_one_at_a_time(f):
    a = SYM_STACK + 0.1 * np.triu(RNG.standard_normal((2, 3, 3)), 1)
    g = ad.grad(f)(a)
    for i in range(2):
        np.testing.assert_allclose(g[i], ad.grad(f)(a[i]), atol=1e-12)


JACOBIANS = [
    (lambda a: np.linalg.eigh(a)[1], SYM),
    (lambda a: np.linalg.svd(a, full_matrices=False)[2], TALL),
    (lambda a: np.linalg.qr(a)[0], WIDE),
    (np.linalg.pinv, TALL),
    (np.linalg.svdvals, STACK),
    (lambda a: np.linalg.lstsq(a, B4)[0], TALL),
    (lambda a: np.linalg.matrix_power(a.T @ a, 3), TALL),
]


@pytest.mark.parametrize(("f", "a"), JACOBIANS, ids=[
    "eigh", "svd", "qr", "pinv", "svdvals", "lstsq", "matrix_power"])  # fmt: skip
def test_jacfwd_equals_jacrev(f, a):
    np.testing.assert_allclose(ad.jacfwd(f)(a), ad.jacrev(f)(a), atol=1e-10)


def test_tensor_facade_gets_the_same_gradients():
    t = ad.tensor(TALL, requires_grad=True)
    u, s, vh = np.linalg.svd(t, full_matrices=False)
    q, r = np.linalg.qr(t)
    loss = (u**2 * s).sum() + vh.sum() + (q * np.linalg.pinv(t).T).sum() + r.sum()
    loss.backward()

    def f(a):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        q, r = np.linalg.qr(a)
        return (u**2 * s).sum() + vh.sum() + (q * np.linalg.pinv(a).T).sum() + r.sum()

    np.testing.assert_allclose(t.grad.numpy(), ad.grad(f)(TALL), rtol=1e-12)
    assert isinstance(np.linalg.eigh(ad.tensor(SYM)).eigenvalues, ad.Tensor)


def test_matrix_power_zero_is_traced_with_zero_gradient():
    t = ad.tensor(SYM, requires_grad=True)
    p = np.linalg.matrix_power(t, 0)
    assert isinstance(p, ad.Tensor) and p.requires_grad
    np.testing.assert_array_equal(p.detach().numpy(), np.eye(3))
    p.sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.zeros((3, 3)))


# ------------------------------------------------------------------------------------------
# float32 and zero-size stacks
# ------------------------------------------------------------------------------------------

FLOAT32 = [
    lambda a: np.linalg.eigh(a)[1].sum() + np.linalg.eigvalsh(a).sum(),
    lambda a: np.linalg.svd(a)[0].sum() + np.linalg.svdvals(a).sum(),
    lambda a: np.linalg.qr(a)[0].sum(),
    lambda a: np.linalg.pinv(a).sum() + np.linalg.norm(a, "nuc"),
    lambda a: np.linalg.lstsq(a, np.ones(3, np.float32))[0].sum(),
    lambda a: np.linalg.matrix_power(a, -2).sum() + np.linalg.multi_dot([a, a, a]).sum(),
]


@pytest.mark.parametrize("f", FLOAT32, ids=range(len(FLOAT32)))
def test_float32_stays_float32(f):
    a = STACK[0].astype(np.float32)
    out, pullback = ad.vjp(f, a)
    assert out.dtype == np.float32
    g = pullback(np.ones((), np.float32))[0]
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, ad.grad(f)(a.astype(np.float64)), rtol=2e-3, atol=2e-3)


def test_zero_size_stacks():
    empty = np.zeros((0, 3, 3))
    for f in [lambda a: np.linalg.eigh(a)[1].sum(), lambda a: np.linalg.svd(a)[2].sum(),
              lambda a: np.linalg.qr(a)[0].sum(), lambda a: np.linalg.pinv(a).sum(),
              lambda a: np.linalg.norm(a, 2, axis=(1, 2)).sum()]:  # fmt: skip
        assert ad.grad(f)(empty).shape == (0, 3, 3)


# ------------------------------------------------------------------------------------------
# Degenerate spectra: a warning that explains the convention, or none when not needed
# ------------------------------------------------------------------------------------------


def _degenerate():
    q = np.linalg.qr(np.random.default_rng(5).standard_normal((3, 3)))[0]
    return (q * [1.0, 1.0, 3.0]) @ q.T


def test_repeated_eigenvalues_warn_when_eigenvectors_are_differentiated():
    a = _degenerate()
    with pytest.warns(DegenerateWarning, match=r"linalg\.eigh: repeated eigenvalues.*eigvalsh"):
        ad.grad(lambda p: np.linalg.eigh(p)[1][0, 0])(a)
    with pytest.warns(DegenerateWarning, match=r"linalg\.eigh"):
        ad.jvp(lambda p: np.linalg.eigh(p)[1], (a,), (np.ones((3, 3)),))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # eigenvalues alone are fine, by eigh or eigvalsh
        np.testing.assert_allclose(ad.grad(lambda p: np.linalg.eigh(p)[0].sum())(np.eye(3)),
                                   np.eye(3))  # fmt: skip
        ad.grad(lambda p: np.linalg.eigvalsh(p)[0])(np.eye(3))


def test_the_convention_is_exact_for_basis_free_functions():
    # the projector onto a repeated eigenvalue's space is smooth: its derivative is exact
    a = _degenerate()
    w = np.random.default_rng(6).standard_normal((3, 3))

    def projector(p):
        v = np.linalg.eigh(p)[1][:, :2]
        return (w * (v @ v.T)).sum()

    with pytest.warns(DegenerateWarning):
        g = ad.grad(projector)(a)
    d = np.random.default_rng(7).standard_normal((3, 3))
    eps = 1e-6
    numeric = (projector(a + eps * d) - projector(a - eps * d)) / (2 * eps)
    np.testing.assert_allclose((g * d).sum(), numeric, rtol=1e-6)


def test_repeated_singular_values_warn():
    q1 = np.linalg.qr(np.random.default_rng(8).standard_normal((4, 4)))[0]
    q2 = np.linalg.qr(np.random.default_rng(9).standard_normal((3, 3)))[0]
    a = (q1[:, :3] * [2.0, 2.0, 1.0]) @ q2.T
    with pytest.warns(DegenerateWarning, match=r"linalg\.svd: repeated singular values"):
        ad.grad(lambda p: np.linalg.svd(p, full_matrices=False)[0][0, 0])(a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(ad.grad(lambda p: np.linalg.svdvals(p).sum())(a),
                                   q1[:, :3] @ q2.T, atol=1e-12)  # fmt: skip
    # a zero singular value of a non-square matrix: its vectors' derivative is undefined
    r1 = np.outer([1.0, 2.0, 3.0], [1.0, -1.0])
    with pytest.warns(DegenerateWarning, match=r"linalg\.svd: a zero singular value"):
        ad.grad(lambda p: np.linalg.svd(p, full_matrices=False)[0].sum())(r1)


# ------------------------------------------------------------------------------------------
# Errors, each naming linalg.<function> and what to do
# ------------------------------------------------------------------------------------------


def test_full_matrices_of_a_non_square_matrix():
    # reverse mode: fine while the arbitrary columns are unused (here only S), an error otherwise
    g = ad.grad(lambda a: np.linalg.svd(a)[1].sum())(TALL)
    np.testing.assert_allclose(g, ad.grad(lambda a: np.linalg.svdvals(a).sum())(TALL))
    g = ad.grad(lambda a: np.linalg.svd(a)[0][:, :3].sum())(TALL)
    np.testing.assert_allclose(
        g, ad.grad(lambda a: np.linalg.svd(a, full_matrices=False)[0].sum())(TALL), atol=1e-12
    )
    with pytest.raises(ValueError, match=r"linalg\.svd: .*last 1 column.*full_matrices=False"):
        ad.grad(lambda a: np.linalg.svd(a)[0].sum())(TALL)
    with pytest.raises(ValueError, match=r"linalg\.svd: .*last 2 row\(s\) of Vh"):
        ad.grad(lambda a: np.linalg.svd(a)[2].sum())(WIDE)
    with pytest.raises(ValueError, match=r"linalg\.svd: .*full_matrices=False"):
        ad.jacfwd(lambda a: np.linalg.svd(a)[1])(TALL)  # forward mode cannot know: it raises
    # a square matrix has nothing arbitrary: full_matrices=True works in both modes
    ad.check_grads(lambda a: np.linalg.svd(a)[0], (STACK,), order=1)
    # values alone (no derivative asked) work on any Tensor
    np.testing.assert_array_equal(np.linalg.svd(ad.tensor(TALL))[0].numpy(), np.linalg.svd(TALL)[0])


def test_qr_errors():
    with pytest.raises(ValueError, match=r"linalg\.qr: .*mode='complete'.*mode='reduced'"):
        ad.jacfwd(lambda a: np.linalg.qr(a, mode="complete")[1])(TALL)
    with pytest.raises(ValueError, match=r"linalg\.qr: .*mode='complete'"):
        ad.grad(lambda a: np.linalg.qr(a, mode="complete")[0].sum())(TALL)
    g = ad.grad(lambda a: np.linalg.qr(a, mode="complete")[1].sum())(TALL)  # R alone: fine
    np.testing.assert_allclose(g, ad.grad(lambda a: np.linalg.qr(a)[1].sum())(TALL), atol=1e-12)
    with pytest.raises(ValueError, match=r"linalg\.qr: mode='raw' is not supported"):
        ad.grad(lambda a: np.linalg.qr(a, mode="raw")[0].sum())(TALL)
    singular = np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match=r"linalg\.qr: the derivative is undefined"):
        ad.grad(lambda a: np.linalg.qr(a)[1].sum())(singular)


def test_wrong_usage_errors():
    with pytest.raises(ValueError, match=r"linalg\.eigh: UPLO"):
        ad.grad(lambda a: np.linalg.eigh(a, UPLO="X")[0].sum())(SYM)
    with pytest.raises(TypeError, match=r"linalg\.matrix_power: exponent must be an integer"):
        ad.grad(lambda a: np.linalg.matrix_power(a, 2.0).sum())(SYM)
    with pytest.raises(np.linalg.LinAlgError, match=r"linalg\.matrix_power: .*square"):
        ad.grad(lambda a: np.linalg.matrix_power(a, 2).sum())(TALL)
    with pytest.raises(TypeError, match=r"linalg\.multi_dot: out="):
        ad.grad(lambda a: np.linalg.multi_dot([a, a, a], out=np.empty((3, 3))).sum())(SYM)
    with pytest.raises(np.linalg.LinAlgError, match=r"linalg\.multi_dot"):
        ad.grad(lambda a: np.linalg.multi_dot([a, STACK, a]).sum())(SYM)
    with pytest.raises(ValueError, match=r"linalg\.pinv: `rtol`"):
        ad.grad(lambda a: np.linalg.pinv(a, 1e-3, rtol=1e-3).sum())(SYM)
    with pytest.raises(ValueError, match=r"linalg\.multi_dot: expecting at least two"):
        ad.grad(lambda a: np.linalg.multi_dot([a]).sum())(SYM)


def test_matrix_rank_is_plain_and_eig_says_why_it_is_unsupported():
    r1 = np.outer([1.0, 2.0, 3.0], [1.0, -1.0])
    g = ad.grad(lambda a: np.linalg.matrix_rank(a) * a.sum())(r1)
    np.testing.assert_array_equal(g, np.ones((3, 2)))
    for fn in [np.linalg.eig, np.linalg.eigvals]:
        with pytest.raises(TypeError, match=r"np\.linalg\.eig.*complex.*np\.linalg\.eigh"):
            ad.grad(lambda a, fn=fn: fn(a)[0].sum())(SYM)
