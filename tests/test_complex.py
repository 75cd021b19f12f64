"""Complex numbers in both modes (issue 14): the examples of the issue, the conventions (JAX's
for the functional API, PyTorch's for the Tensor facade), the new ops and the errors."""

import warnings

import numpy as np
import pytest

import autodiff as ad
from autodiff.registry import composites, ops

Z = np.array([1 + 2j, 0.5 - 1j, -2 + 0.3j])


# ---- the examples ----------------------------------------------------------------------


def test_abs_of_a_complex_intermediate_regression():
    # the partial of abs was an unconjugated sign: the gradient was complex and matched no peer
    x = np.array([1.0, 2.0, -0.5])
    g = ad.grad(lambda x: np.sum(np.abs(x * 1j + 1)))(x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, x / np.sqrt(1 + x**2))


def test_grad_of_a_real_function_of_z_is_jax_convention():
    assert ad.grad(lambda z: abs(z) ** 2)(3 + 4j) == 6 - 8j


def test_vjp_has_no_conjugation():
    _, pullback = ad.vjp(lambda z: z**2, 3 + 4j)
    assert pullback(1j)[0] == -8 + 6j


def test_holomorphic_grad_and_jacobians():
    assert ad.grad(lambda z: z**2, holomorphic=True)(3 + 4j) == 6 + 8j
    for jac in (ad.jacfwd, ad.jacrev, ad.jacobian):
        np.testing.assert_allclose(jac(np.sin, holomorphic=True)(Z), np.diag(np.cos(Z)))


def test_jvp_is_j_times_v():
    v = np.array([1 - 1j, 2j, 0.5 + 0j])
    _, t = ad.jvp(np.exp, (Z,), (v,))
    np.testing.assert_allclose(t, np.exp(Z) * v)


def test_tensor_grad_is_pytorch_convention():
    z = ad.tensor([3 + 4j], requires_grad=True)
    (z.abs() ** 2).sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), [6 + 8j])


def test_tensor_seed_is_conjugated_like_pytorch():
    # torch: z.grad = v · conj(f'(z)) for holomorphic f
    z = ad.tensor([3 + 4j], requires_grad=True)
    (z * z).backward(gradient=ad.tensor([1j]))
    np.testing.assert_allclose(z.grad.numpy(), [1j * np.conj(6 + 8j)])


def test_tensor_grad_accumulates_and_autograd_grad_agrees():
    z = ad.tensor([3 + 4j, 1 - 1j], requires_grad=True)
    for _ in range(2):
        (z.real * 2 + z.imag).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), [4 + 2j, 4 + 2j])
    (g,) = ad.autograd.grad((z.abs() ** 2).sum(), z)
    np.testing.assert_allclose(g.numpy(), 2 * z.detach().numpy())


def test_tensor_complex_api():
    z = ad.tensor([3 + 4j], requires_grad=True)
    assert z.is_complex() and not ad.tensor([1.0]).is_complex()
    assert ad.tensor([1, 2], dtype=ad.complex64).dtype == np.complex64
    np.testing.assert_allclose(z.real.detach().numpy(), [3.0])
    np.testing.assert_allclose(z.imag.detach().numpy(), [4.0])
    np.testing.assert_allclose(z.conj().detach().numpy(), [3 - 4j])
    np.testing.assert_allclose(z.angle().detach().numpy(), [np.angle(3 + 4j)])
    np.testing.assert_allclose(z.abs().detach().numpy(), [5.0])
    with pytest.raises(RuntimeError, match="real scalar outputs"):
        (z * z).sum().backward()


# ---- errors, as in JAX -------------------------------------------------------------------------


def test_complex_output_needs_holomorphic():
    with pytest.raises(TypeError, match="grad requires real-valued outputs"):
        ad.grad(lambda z: z**2)(3 + 4j)
    with pytest.raises(TypeError, match="jacrev requires real-valued outputs"):
        ad.jacrev(lambda z: z * 2)(Z)
    with pytest.raises(TypeError, match="holomorphic=True requires inputs with complex"):
        ad.grad(lambda z: z**2, holomorphic=True)(3.0)


def test_complex_input_to_jacfwd_needs_holomorphic():
    with pytest.raises(TypeError, match="jacfwd requires real-valued inputs"):
        ad.jacfwd(np.abs)(Z)


def test_allowed_mixed_jacobians():
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(ad.jacfwd(lambda x: x * 1j)(x), 1j * np.eye(2))  # real → complex
    np.testing.assert_allclose(ad.jacobian(lambda x: x * 1j)(x), 1j * np.eye(2))
    np.testing.assert_allclose(ad.jacrev(lambda z: np.abs(z) ** 2)(Z), np.diag(2 * np.conj(Z)))


def test_hessian_holomorphic():
    np.testing.assert_allclose(
        ad.hessian(lambda z: np.sum(z**3), holomorphic=True)(Z), np.diag(6 * Z)
    )


# ---- the new ops -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("f", "want"),
    [
        (np.real, lambda z: np.ones_like(z)),  # ∂a/∂a - i ∂a/∂b = 1
        (np.imag, lambda z: -1j * np.ones_like(z)),
        (np.abs, lambda z: np.conj(z) / np.abs(z)),
        (np.angle, lambda z: (-z.imag - 1j * z.real) / np.abs(z) ** 2),
    ],
)
def test_real_valued_parts_grad(f, want):
    np.testing.assert_allclose(ad.grad(lambda z: np.sum(f(z)))(Z), want(Z))


def test_numpy_dispatch_reaches_the_ops():
    def f(z):
        return np.real(np.conj(z) * np.conjugate(z)) + np.imag(z) + np.angle(z, deg=True)

    out, _ = ad.vjp(lambda z: np.sum(f(z)), Z)
    assert np.allclose(out, np.sum(f(Z)))
    assert np.allclose(ad.real(Z), Z.real) and np.allclose(ad.conjugate(Z), Z.conj())
    ad.check_grads(lambda z: np.sum(f(z)), (Z,))


def test_box_attributes():
    g = ad.grad(lambda z: np.sum(z.real * 2 + z.imag * 3 + np.abs(z.conj())))(Z)
    np.testing.assert_allclose(g, 2 - 3j + np.conj(Z) / np.abs(Z))


def test_real_if_close():
    z = np.array([2 + 1e-20j, 1 - 1e-19j])
    assert np.isrealobj(ad.real_if_close(z))
    g = ad.grad(lambda z: np.sum(np.real_if_close(z * z)))(z)
    np.testing.assert_allclose(g, 2 * z)
    _, t = ad.jvp(lambda z: np.real_if_close(z * z), (z,), (np.ones(2, complex),))
    assert np.isrealobj(t)
    np.testing.assert_allclose(t, 2 * z.real)


def test_astype_complex_to_real_warns_once_and_keeps_the_real_part():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        g = ad.grad(lambda z: np.sum(z.astype(float) * 3))(Z)
        _, t = ad.jvp(lambda z: z.astype(float), (Z,), (Z,))
    assert sum(issubclass(w.category, np.exceptions.ComplexWarning) for w in caught) == 2
    np.testing.assert_allclose(g, 3 + 0j)
    np.testing.assert_allclose(t, Z.real)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        ad.check_grads(lambda z: ad.astype(z, np.float64), (Z,))


def test_mixed_promotion_like_numpy():
    x = np.array([1.0, 2.0])
    out, pullback = ad.vjp(lambda x, z: x * z, x, Z[:2])
    assert out.dtype == np.complex128
    gx, gz = pullback(np.ones(2, complex))
    assert gx.dtype == np.float64 and gz.dtype == np.complex128
    np.testing.assert_allclose(gx, Z[:2].real)  # the real part of the transpose
    np.testing.assert_allclose(gz, x)


def test_complex64_stays_complex64():
    z = Z.astype(np.complex64)
    assert ad.grad(lambda z: np.sum(np.abs(z) ** 2))(z).dtype == np.complex64


def test_vdot_and_correlate_conjugate_like_numpy():
    a, b = Z, Z[::-1] * 2
    assert np.allclose(ad.vdot(a, b), np.vdot(a, b))
    assert np.allclose(ad.correlate(a, b, "full"), np.correlate(a, b, "full"))
    ad.check_grads(lambda a, b: ad.vdot(a, b), (a, b))
    ad.check_grads(lambda a, b: ad.correlate(a, b, "same"), (a, b))


def test_linalg_holomorphic():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    ad.check_grads(lambda A, b: ad.linalg.solve(A, b), (A, b), holomorphic=True)
    ad.check_grads(ad.linalg.inv, (A,), holomorphic=True)
    ad.check_grads(ad.linalg.det, (A,), holomorphic=True)


# ---- check_grads -------------------------------------------------------------------------------


def test_check_grads_complex_and_holomorphic_check():
    ad.check_grads(np.exp, (Z,), holomorphic=True)
    ad.check_grads(np.abs, (Z,))  # not holomorphic, still checked in both modes
    with pytest.raises(ad.testing.GradCheckError, match="holomorphic"):
        ad.check_grads(np.abs, (Z,), holomorphic=True)
    with pytest.raises(TypeError, match="needs complex arguments"):
        ad.check_grads(np.exp, (np.ones(2),), holomorphic=True)


def test_check_grads_catches_a_conjugated_rule():
    from autodiff.registry import defop, remove

    defop(
        "bad_square", np.square, elementwise=True, complex="holomorphic",
        jvp=(lambda t, ans, x: 2 * x * t,),
        vjp=(lambda g, ans, x: 2 * np.conj(ad.raw(x)) * g,),  # wrong: conjugated
        samples=lambda rng: [((Z,), {})], formula="d x² = 2x dx", vjp_formula="x̄ = 2x ḡ",
    )  # fmt: skip
    try:
        with pytest.raises(ad.testing.GradCheckError, match="reverse mode"):
            ad.check_grads(ad.bad_square, (Z,), order=1)
    finally:
        remove("bad_square")


def test_check_grads_takes_pytrees():
    ad.check_grads(lambda p: p["w"] * p["b"][0], ({"w": np.ones(2), "b": [3.0]},))
    ad.check_grads(lambda p: {"y": np.sin(p["z"])}, ({"z": Z},), holomorphic=True)


def test_complex_capable_ops_are_listed():
    # the list the closing note gives: `python -c` of this expression
    names = sorted(e.name for e in [*ops(), *composites()] if e.complex)
    for name in ("abs", "real", "imag", "conj", "angle", "exp", "matmul", "solve", "sum"):
        assert name in names


# ---- the gaps closed after the first pass: sign, statistics, norms, cholesky, … --------------


def test_complex_sign_has_the_derivative_of_z_over_abs_z_regression():
    # np.sign(z) is z/|z| in NumPy 2; the op declared a zero derivative, silently wrong
    ad.check_grads(np.sign, (Z,), modes=("fwd", "rev"), order=2)
    a, b, r = Z.real, Z.imag, np.abs(Z)
    g = ad.grad(lambda z: np.sum(np.real(np.sign(z))))(Z)  # ∂(a/r)/∂a - i ∂(a/r)/∂b
    np.testing.assert_allclose(g, b**2 / r**3 + 1j * a * b / r**3)
    _, t = ad.jvp(np.sign, (Z,), (1j * Z,))  # a rotation: d(z/|z|) = i·z/|z|
    np.testing.assert_allclose(t, 1j * Z / r)


def test_sign_stays_zero_for_real_input_and_at_zero():
    x = np.array([1.5, -2.0, 0.0])
    np.testing.assert_array_equal(ad.grad(lambda x: np.sum(np.sign(x) * x))(x), np.sign(x))
    z = np.array([0j, 1 + 1j])
    g = ad.grad(lambda z: np.sum(np.real(np.sign(z))))(z)
    assert g[0] == 0 and np.all(np.isfinite(g))


def test_nan_to_num_keeps_each_finite_part_regression():
    z = np.array([complex(np.nan, 2.0), complex(1.0, np.inf), 3 - 1j])
    out, pullback = ad.vjp(lambda z: np.nan_to_num(z), z)
    np.testing.assert_array_equal(out, np.nan_to_num(z))
    np.testing.assert_array_equal(pullback(np.array([1 + 1j, 1 + 1j, 1 + 1j]))[0], [1j, 1, 1 + 1j])
    _, t = ad.jvp(np.nan_to_num, (z,), (np.array([2 + 3j, 2 + 3j, 2 + 3j]),))
    np.testing.assert_array_equal(t, [3j, 2, 2 + 3j])


RNG = np.random.default_rng(7)
M = RNG.standard_normal((3, 5)) + 1j * RNG.standard_normal((3, 5))


@pytest.mark.parametrize(
    "f",
    [
        lambda z: np.var(z, axis=1),
        lambda z: np.std(z, ddof=1),
        lambda z: np.linalg.norm(z),
        lambda z: np.linalg.norm(z, axis=1),
        lambda z: np.linalg.norm(z[0], ord=1),
        lambda z: np.linalg.norm(z[0], ord=np.inf),
        lambda z: np.linalg.norm(z[0], ord=3),
        lambda z: np.linalg.norm(z, ord="fro"),
        lambda z: np.linalg.norm(z, ord=1),
        lambda z: np.linalg.norm(z, ord=-np.inf),
        lambda z: np.linalg.norm(z, ord=2),
        lambda z: np.linalg.norm(z, ord="nuc"),
        lambda z: np.nansum(z, axis=0),
        lambda z: np.nanmean(z),
        lambda z: np.average(z, axis=1, weights=np.arange(1.0, 6.0)),
        lambda z: np.cov(z),
        lambda z: np.corrcoef(z),
        lambda z: np.sinc(z),
        lambda z: np.round(z, 1),
        lambda z: np.rint(z),
        np.atleast_3d,
        lambda z: np.hsplit(z, [2])[1],
        lambda z: np.linspace(z[0], z[1], 4),
        lambda z: np.geomspace(z[0], z[1], 3),
    ],
)
def test_numpy_dispatch_on_complex_values_equals_numpy(f):
    out, _ = ad.vjp(f, M)
    np.testing.assert_allclose(out, f(M), rtol=1e-12, atol=1e-12)
    assert np.result_type(out) == np.result_type(f(M))
    ad.check_grads(f, (M,), modes=("fwd", "rev"), order=2)


def test_var_and_norm_gradients_are_jax_convention():
    x = M[0]
    n = x.size
    np.testing.assert_allclose(ad.grad(np.var)(x), 2 * np.conj(x - x.mean()) / n)
    np.testing.assert_allclose(ad.grad(np.linalg.norm)(x), np.conj(x) / np.linalg.norm(x))


def test_cov_conjugates_like_numpy_regression():
    # the traced cov computed X·Xᵀ: not Hermitian, not NumPy's value
    out, _ = ad.vjp(lambda m: np.cov(m), M)
    np.testing.assert_allclose(out, np.cov(M))
    np.testing.assert_allclose(out, np.conj(out.T))


def test_cholesky_of_a_hermitian_matrix():
    b = M[:, :3]
    a = b @ b.conj().T + 3 * np.eye(3)
    out, _ = ad.vjp(ad.linalg.cholesky, a)
    np.testing.assert_allclose(out, np.linalg.cholesky(a))
    # ad.linalg.cholesky, not np.linalg.cholesky: the finite differences must see the same
    # symmetrized function (NumPy's reads only the lower triangle of a non-Hermitian step)
    ad.check_grads(ad.linalg.cholesky, (a,), modes=("fwd", "rev"), order=2)
    # a real loss of L: its grad is Hermitian (the input is symmetrized as (A + Aᴴ)/2)
    g = ad.grad(lambda a: np.sum(np.abs(np.linalg.cholesky(a)) ** 2))(a)
    np.testing.assert_allclose(g, np.conj(g.T), atol=1e-12)


def test_holomorphic_reductions_and_activations():
    z = M[0]
    np.testing.assert_allclose(ad.logsumexp(z), np.log(np.sum(np.exp(z))))
    for f in (ad.logsumexp, ad.softmax, ad.log_softmax, ad.sigmoid):
        ad.check_grads(f, (z,), holomorphic=True)
    np.testing.assert_allclose(ad.grad(ad.logsumexp, holomorphic=True)(z), ad.softmax(z))


def test_stop_gradient_of_complex_values():
    g = ad.grad(lambda z: np.sum(np.abs(z * ad.stop_gradient(z)) ** 2))(Z)
    np.testing.assert_allclose(g, 2 * np.abs(Z) ** 2 * np.conj(Z))


@pytest.mark.parametrize(
    "f",
    [np.max, np.sort, np.median, np.ptp, lambda z: np.clip(z, 0, 1),
     lambda z: np.maximum(z, 1j), lambda z: np.quantile(z, 0.5)],
)  # fmt: skip
def test_lexicographic_orderings_refuse_complex(f):
    with pytest.raises(TypeError, match="complex values are not differentiable"):
        ad.grad(lambda z: np.sum(np.abs(f(z))))(Z)
