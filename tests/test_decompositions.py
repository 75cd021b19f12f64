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


# ------------------------------------------------------------------------------------------
# Complex matrices: eigh (Hermitian), svd, svdvals and qr, in JAX's convention
# ------------------------------------------------------------------------------------------

CRNG = np.random.default_rng(5)


def _cplx(shape):
    return spread_sample(CRNG, shape) + 0.5j * CRNG.standard_normal(shape)


def _herm(shape, uplo="L"):
    # a Hermitian matrix, with noise in the triangle NumPy ignores and on the diagonal's imaginary
    # part, which LAPACK ignores too
    s = symmetric_sample(CRNG, shape) + 0.0j
    off = 0.3j * CRNG.standard_normal(shape)
    s = s + np.tril(off, -1) - np.swapaxes(np.tril(off, -1), -1, -2)
    noise = CRNG.standard_normal(shape) * (1 + 1j)
    keep = np.tril(s) if uplo == "L" else np.triu(s)
    other = np.triu(noise, 1) if uplo == "L" else np.tril(noise, -1)
    return keep + other + 0.7j * np.eye(shape[-1])


CHERM, CHERM_U, CHERM_STACK = _herm((3, 3)), _herm((4, 4), "U"), _herm((2, 3, 3))
CSQUARE, CTALL, CWIDE, CVERY_WIDE = _cplx((3, 3)), _cplx((4, 3)), _cplx((3, 4)), _cplx((2, 5))
CSTACK = _cplx((2, 3, 2))

CCALLS = [
    (lambda a: np.linalg.eigh(a), CHERM),
    (lambda a: np.linalg.eigh(a, UPLO="U"), CHERM_U),
    (lambda a: np.linalg.eigh(a), CHERM_STACK),
    (lambda a: np.linalg.eigvalsh(a), CHERM),
    (lambda a: np.linalg.svd(a), CSQUARE),
    (lambda a: np.linalg.svd(a, full_matrices=False), CTALL),
    (lambda a: np.linalg.svd(a, full_matrices=False), CWIDE),
    (lambda a: np.linalg.svd(a, compute_uv=False), CTALL),
    (lambda a: np.linalg.svd(a, hermitian=True), CHERM),
    (lambda a: np.linalg.svdvals(a), CSTACK),
    (lambda a: np.linalg.qr(a), CTALL),
    (lambda a: np.linalg.qr(a), CWIDE),
    (lambda a: np.linalg.qr(a, mode="r"), CSTACK),
]


@pytest.mark.parametrize(("f", "a"), CCALLS, ids=range(len(CCALLS)))
def test_complex_values_equal_numpy_in_both_modes(f, a):
    want = f(a)
    out, _ = ad.vjp(lambda p: f(p), a)
    _tree_equal(out, want)
    out, _ = ad.jvp(lambda p: f(p), (a,), (np.ones_like(a),))
    _tree_equal(out, want)
    pairs = zip(out, want) if isinstance(want, tuple) else [(out, want)]
    for got, w in pairs:
        assert np.asarray(ad.core.raw(got)).dtype == w.dtype  # real eigen- and singular values


def test_complex_svd_of_a_very_wide_matrix_keeps_numpys_gauge():
    # LAPACK takes an LQ factorization first here: U's first row is real only to rounding, so
    # the traced factors (whose gauge is exact) equal NumPy's to rounding
    u, s, vh = np.linalg.svd(CVERY_WIDE, full_matrices=False)
    got = ad.vjp(lambda a: np.linalg.svd(a, full_matrices=False), CVERY_WIDE)[0]
    for g, w in zip(got, (u, s, vh)):
        np.testing.assert_allclose(ad.core.raw(g), w, atol=1e-14)
    assert np.all(np.abs(ad.core.raw(got.U)[0].imag) < 1e-25)


def test_the_gauge_is_numpys():
    # complex eigenvectors: NumPy's (LAPACK's) first row (UPLO='L') or last row ('U') is real;
    # singular vectors: V's first row (m ≥ n) or U's first row (m < n). The rules differentiate
    # exactly that gauge, which the registry-wide test checks against finite differences
    assert np.all(np.linalg.eigh(CHERM)[1][0].imag == 0)
    assert np.all(np.linalg.eigh(CHERM_U, "U")[1][-1].imag == 0)
    assert np.all(np.linalg.svd(CTALL)[2][:, 0].imag == 0)
    assert np.all(np.linalg.svd(CWIDE)[0][0].imag == 0)
    assert np.all(np.diagonal(np.linalg.qr(CWIDE)[1]).imag == 0)


# gauge-invariant functions of the vectors, and functions of NumPy's gauge: all differentiable
CFUNCS = [
    (lambda a: np.abs(np.linalg.eigh(a)[1]) ** 2, CHERM),
    (lambda a: np.linalg.eigh(a, "U")[1] * np.linalg.eigh(a, "U")[0], CHERM_U),
    (
        lambda a: np.einsum(
            "...ij,...kj->...ik",
            np.linalg.eigh(a)[1][..., :1],
            np.linalg.eigh(a)[1][..., :1].conj(),
        ),
        CHERM_STACK,
    ),
    (lambda a: np.linalg.eigvalsh(a, "U") ** 2, CHERM_U),
    (lambda a: (lambda u, s, vh: (u * s[..., None, :]) @ vh)(*np.linalg.svd(a, False)), CTALL),
    (lambda a: np.abs(np.linalg.svd(a, full_matrices=False).U) ** 2, CWIDE),
    (lambda a: np.linalg.svd(a, full_matrices=False).Vh, CTALL),
    (lambda a: np.linalg.svd(a, full_matrices=False).U, CVERY_WIDE),
    (lambda a: np.linalg.svd(a, hermitian=True).Vh, CHERM),
    (lambda a: np.linalg.svdvals(a) ** 3, CSTACK),
    (lambda a: np.linalg.qr(a).Q, CTALL),
    (lambda a: np.linalg.qr(a).R, CWIDE),
    (lambda a: np.linalg.qr(a, mode="complete").Q, CSQUARE),
]


@pytest.mark.parametrize(("f", "a"), CFUNCS, ids=range(len(CFUNCS)))
def test_complex_public_functions_to_second_order(f, a):
    # check_grads: JVP vs central differences in random complex directions, VJP as its transpose
    ad.check_grads(f, (a,), order=2)


def _real_imag_jacobian(f, z):
    """jacfwd of f(a + ib) in a and b (real inputs), the reference for jacrev of f at z."""
    ja, jb = ad.jacfwd(lambda a, b: f(a + 1j * b), argnums=(0, 1))(z.real.copy(), z.imag.copy())
    return ja - 1j * jb  # JAX's convention: ∂f/∂a - i ∂f/∂b


CREAL = [
    (lambda a: np.abs(np.linalg.eigh(a)[1]) ** 2, CHERM),
    (lambda a: np.linalg.eigvalsh(a), CHERM_STACK),
    (lambda a: np.abs(np.linalg.svd(a, full_matrices=False)[0]) ** 2, CTALL),
    (lambda a: np.linalg.svd(a, full_matrices=False)[2].real, CWIDE),
    (np.linalg.svdvals, CSTACK),
    (lambda a: np.linalg.qr(a)[0].imag, CWIDE),
    (lambda a: np.abs(np.linalg.qr(a)[1]), CTALL),
]


@pytest.mark.parametrize(("f", "a"), CREAL, ids=["eigh", "eigvalsh", "svd-U", "svd-Vh",
                                                 "svdvals", "qr-Q", "qr-R"])  # fmt: skip
def test_complex_jacrev_equals_jacfwd_of_the_real_and_imaginary_parts(f, a):
    np.testing.assert_allclose(ad.jacrev(f)(a), _real_imag_jacobian(f, a), atol=1e-10)


def test_complex_gradient_conventions():
    # functional: ∂f/∂a - i ∂f/∂b (JAX); Tensor facade: its conjugate (PyTorch)
    def loss(a):
        u, s, _ = np.linalg.svd(a, full_matrices=False)
        return (np.abs(u[:, 0]) ** 2 * np.arange(4.0)).sum() + s[0]

    g = ad.grad(loss)(CTALL)
    h = 1e-6
    num = np.zeros_like(CTALL)
    for idx in np.ndindex(CTALL.shape):
        e = np.zeros(CTALL.shape)
        e[idx] = h
        da = (loss(CTALL + e) - loss(CTALL - e)) / (2 * h)
        db = (loss(CTALL + 1j * e) - loss(CTALL - 1j * e)) / (2 * h)
        num[idx] = da - 1j * db
    np.testing.assert_allclose(g, num, atol=1e-7)
    t = ad.tensor(CTALL, requires_grad=True)
    u, s, _ = np.linalg.svd(t, full_matrices=False)
    ((u[:, 0].abs() ** 2 * ad.tensor(np.arange(4.0))).sum() + s[0]).backward()
    np.testing.assert_allclose(t.grad.numpy(), np.conj(g), rtol=1e-10)


def test_closed_form_of_a_complex_eigenvalue():
    # dλ = Re vᴴ dS v: the gradient of the largest eigenvalue, folded on the lower triangle
    v = np.linalg.eigh(CHERM)[1][:, -1]
    outer = np.outer(v, v.conj())  # ∂λ/∂S
    g = ad.grad(lambda a: np.linalg.eigh(a)[0][-1])(CHERM)
    want = np.tril(2 * outer.conj(), -1) + np.diag(np.diag(outer).real)
    np.testing.assert_allclose(g, want, atol=1e-12)


def test_complex_pinv_and_lstsq():
    b = CRNG.standard_normal(4) + 1j * CRNG.standard_normal(4)
    br = CRNG.standard_normal(4)
    cases = [
        (lambda a: np.linalg.pinv(a), (CTALL,)),
        (lambda a: np.linalg.pinv(a, hermitian=True), (CHERM,)),
        (lambda a, b: np.linalg.lstsq(a, b)[0], (CTALL, b)),
        (lambda a, b: np.linalg.lstsq(a, b)[0], (CTALL, br)),  # NumPy's promotion
        (lambda a, b: np.linalg.lstsq(a, b)[0], (TALL, b)),
        (lambda a, b: np.linalg.lstsq(a, b)[1], (CTALL, b)),  # the residuals, real
    ]
    for f, args in cases:
        want = f(*args)
        got = ad.vjp(f, *args)[0]
        np.testing.assert_allclose(ad.core.raw(got), want, atol=1e-12)
        assert ad.core.raw(got).dtype == want.dtype
        ad.check_grads(f, args, order=2)


def _abs2(v):
    return (v * v.conj()).real


def test_a_zero_gauge_entry_warns_only_when_the_phase_is_used():
    # diag(1, 2, 3) coupled through a₂₀ only: V's first row is (-1, 0, ε), so v₂'s phase is free
    # (|v|² written as Re(v v̄): np.abs has a kink at the zero entries, whose second derivative
    # does not exist)
    a = np.diag([1.0, 2.0, 3.0]) + 0j
    a[2, 0] = 1e-3j  # a complex, non-diagonal point where V[0, 1] is still zero
    w = np.arange(9.0).reshape(3, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = ad.grad(lambda x: (_abs2(np.linalg.eigh(x)[1]) * w).sum())(a)
    with warnings.catch_warnings():  # forward mode sees the phase move, and says so
        warnings.simplefilter("ignore", DegenerateWarning)
        ad.check_grads(lambda x: _abs2(np.linalg.eigh(x)[1]), (a,), order=2)
    assert np.isfinite(g).all()
    with pytest.warns(DegenerateWarning, match=r"linalg\.eigh: the entry that fixes the phase"):
        ad.grad(lambda x: np.linalg.eigh(x)[1].real.sum())(a)
