"""Polynomials and signals: polyval, interp, convolve, correlate, linspace and geomspace.

NumPy dispatch reaches them, their values are NumPy's, and their conventions (interp at the knots,
as JAX's) and errors hold. The registry-wide test checks their derivatives on their samples.
"""

import numpy as np
import pytest

import autodiff as ad


def _on_traced(f, *args):
    """``f(*args)`` computed on traced values (inside ``ad.vjp``), which it must keep traced."""
    seen = []

    def record(*xs):
        out = f(*xs)
        seen.append(out)
        return out

    out, _ = ad.vjp(record, *args)
    assert isinstance(seen[0], ad.Traced)
    return out


# --------------------------------------------------------------------------------------------
# polyval
# --------------------------------------------------------------------------------------------


def test_np_polyval_on_traced_values_equals_numpys(rng):
    p, x = rng.standard_normal(4), rng.standard_normal((2, 3))
    np.testing.assert_array_equal(_on_traced(np.polyval, p, x), np.polyval(p, x))


def test_polyval_derivatives_are_the_derivative_polynomial_and_the_powers(rng):
    p, x = rng.standard_normal(4), rng.standard_normal(5)
    gx = ad.grad(lambda x: np.polyval(p, x).sum())(x)
    np.testing.assert_allclose(gx, np.polyval(np.polyder(p), x))
    gp = ad.grad(lambda p: np.polyval(p, 2.0))(p)
    np.testing.assert_allclose(gp, [8.0, 4.0, 2.0, 1.0])


def test_polyval_takes_a_list_of_traced_coefficients():
    # np.polyval([a, ...], x) reaches autodiff only when x is traced (NumPy looks no deeper
    # than the arguments themselves); ad.polyval takes the list in any case
    def f(a):
        return ad.polyval([a, 0.0, -2.0], np.array([1.0, 3.0])).sum()  # a·x² - 2 at 1 and 3

    assert float(ad.grad(f)(1.0)) == pytest.approx(10.0)
    assert float(ad.grad(lambda x: np.polyval([2.0, x], x))(3.0)) == pytest.approx(3.0)


def test_polyval_of_a_constant_polynomial_has_the_shape_of_x():
    out = _on_traced(lambda c: np.polyval(c, np.ones((2, 3))), np.array([2.0]))
    np.testing.assert_array_equal(out, np.polyval([2.0], np.ones((2, 3))))


# --------------------------------------------------------------------------------------------
# interp
# --------------------------------------------------------------------------------------------

XP = np.array([0.0, 1.0, 3.0])
FP = np.array([0.0, 2.0, 3.0])


def test_np_interp_on_traced_values_equals_numpys(rng):
    x = rng.uniform(-1.0, 4.0, (3, 4))
    np.testing.assert_array_equal(
        _on_traced(lambda x: np.interp(x, XP, FP), x), np.interp(x, XP, FP)
    )
    np.testing.assert_array_equal(
        _on_traced(lambda fp: np.interp(x, XP, fp, left=-1.0, right=5.0), FP),
        np.interp(x, XP, FP, left=-1.0, right=5.0),
    )


def _jax_interp_slope(x, xp, fp):
    """jnp.interp's derivative in x, written out: the segment [xp[i-1], xp[i]] with
    i = clip(searchsorted(xp, x, 'right'), 1, len(xp) - 1); 0 outside [xp[0], xp[-1]]."""
    i = np.clip(np.searchsorted(xp, x, side="right"), 1, len(xp) - 1)
    slope = (fp[i] - fp[i - 1]) / (xp[i] - xp[i - 1])
    return np.where((x < xp[0]) | (x > xp[-1]), 0.0, slope)


def test_interp_derivative_in_x_follows_jax_at_the_knots():
    # at an inner knot: the segment on its right; at the first and last knots: the first and
    # last segments; outside the knots (and at ±inf): 0
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 4.0, np.inf, -np.inf])
    want = np.array([0.0, 2.0, 2.0, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(want, _jax_interp_slope(x, XP, FP))
    g = ad.grad(lambda x: np.interp(x, XP, FP))
    assert [float(g(v)) for v in x] == list(want)
    np.testing.assert_array_equal(
        ad.jacfwd(lambda x: np.interp(x, XP, FP))(x[:7]), np.diag(want[:7])
    )


@pytest.mark.parametrize(
    ("x", "want", "want_left_right"),
    [
        (-1.0, [1, 0, 0], [0, 0, 0]),  # left of the knots: fp[0], or the constant left
        (0.0, [1, 0, 0], [1, 0, 0]),
        (2.0, [0, 0.5, 0.5], [0, 0.5, 0.5]),
        (3.0, [0, 0, 1], [0, 0, 1]),
        (4.0, [0, 0, 1], [0, 0, 0]),  # right of the knots: fp[-1], or the constant right
    ],
)
def test_interp_derivative_in_fp_is_the_weights(x, want, want_left_right):
    np.testing.assert_array_equal(ad.grad(lambda fp: np.interp(x, XP, fp))(FP), want)
    got = ad.grad(lambda fp: np.interp(x, XP, fp, left=-1.0, right=9.0))(FP)
    np.testing.assert_array_equal(got, want_left_right)


def test_interp_with_a_period_and_repeated_knots():
    xp, fp = np.array([0.3, 5.9, 2.0, 4.1]), np.array([1.0, 2.0, 3.0, 4.0])
    x = np.array([-4.0, 1.0, 7.5, 12.0, 0.3])

    def f(x, fp):
        return np.interp(x, xp, fp, period=2 * np.pi)

    np.testing.assert_array_equal(_on_traced(f, x, fp), f(x, fp))
    ad.check_grads(f, (x[:4], fp), modes=("fwd", "rev"), order=2)
    assert float(ad.grad(lambda x: f(x, fp))(0.3)) == pytest.approx(2.0 / 1.7)  # right segment
    # a segment of zero width contributes no slope, and its left end's value
    xr, fr = np.array([0.0, 1.0, 1.0, 2.0]), np.array([0.0, 1.0, 5.0, 6.0])
    assert float(ad.grad(lambda x: np.interp(x, xr, fr))(1.0)) == 1.0  # the segment [1, 2]
    np.testing.assert_array_equal(ad.grad(lambda f: np.interp(0.5, xr, f))(fr), [0.5, 0.5, 0, 0])


def test_interp_refuses_a_traced_xp():
    with pytest.raises(TypeError, match="interp: xp is traced"):
        ad.grad(lambda xp: np.interp(0.5, xp, FP))(XP)
    with pytest.raises(TypeError, match="interp: left is traced"):
        ad.grad(lambda c: ad.interp(-1.0, XP, FP, left=c))(1.0)


def test_interp_on_a_tensor():
    x = ad.tensor([0.5, 2.0], requires_grad=True)
    y = np.interp(x, XP, FP)
    assert isinstance(y, ad.Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.5])


# --------------------------------------------------------------------------------------------
# convolve, correlate
# --------------------------------------------------------------------------------------------

LENGTHS = [(5, 3), (3, 5), (4, 4), (2, 5), (4, 7), (1, 4), (6, 1)]


@pytest.mark.parametrize(("n", "m"), LENGTHS)
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve_and_correlate_equal_numpys(n, m, mode, rng):
    a, v = rng.standard_normal(n), rng.standard_normal(m)
    for fn in (np.convolve, np.correlate):
        got = _on_traced(lambda a, v, fn=fn: fn(a, v, mode), a, v)
        np.testing.assert_allclose(got, fn(a, v, mode), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(("n", "m"), LENGTHS)
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve_jacobians_are_numpys_columns(n, m, mode, rng):
    # convolution is bilinear: its Jacobian in a has columns convolve(eⱼ, v)
    a, v = rng.standard_normal(n), rng.standard_normal(m)
    for fn in (np.convolve, np.correlate):
        cols_a = np.stack([fn(e, v, mode) for e in np.eye(n)], axis=1)
        cols_v = np.stack([fn(a, e, mode) for e in np.eye(m)], axis=1)
        np.testing.assert_allclose(ad.jacrev(lambda a, fn=fn: fn(a, v, mode))(a), cols_a)
        np.testing.assert_allclose(ad.jacfwd(lambda v, fn=fn: fn(a, v, mode))(v), cols_v)


def test_convolve_modes_are_spelled_as_numpy_spells_them(rng):
    a, v = rng.standard_normal(6), rng.standard_normal(3)
    for mode in ("same", 1):
        np.testing.assert_allclose(
            ad.grad(lambda a, mode=mode: np.convolve(a, v, mode).sum())(a),
            ad.grad(lambda a: np.convolve(a, v, "same").sum())(a),
        )
    with pytest.raises(ValueError, match="Use one of 'valid', 'same', or 'full'"):
        ad.grad(lambda a: np.correlate(a, v, "middle").sum())(a)


def test_correlate_conjugates_complex_values_like_numpy():
    # np.correlate conjugates v, and so does autodiff now (issue 14): not silently ignored
    v = np.array([1j, 1.0])
    out, pullback = ad.vjp(lambda a: np.correlate(a, v), np.ones(3))
    np.testing.assert_allclose(out, np.correlate(np.ones(3), v))
    np.testing.assert_allclose(pullback(np.ones(2, complex))[0], [0.0, 1.0, 1.0])  # Re of conj(v)


# --------------------------------------------------------------------------------------------
# linspace, geomspace
# --------------------------------------------------------------------------------------------

SPACES = [
    (0.5, 2.0, {"num": 5}),
    (0.5, 2.0, {"num": 4, "endpoint": False}),
    (np.array([1.0, 2.0]), 3.0, {"num": 3}),
    (np.array([[1.0], [2.0]]), np.array([3.0, 4.0, 5.0]), {"num": 4, "axis": -1}),
    (0.5, 2.0, {"num": 1}),
    (0.5, 2.0, {"num": 0}),
    (np.float32(0.5), np.float32(3.0), {"num": 6}),
]


@pytest.mark.parametrize(("start", "stop", "kw"), SPACES)
@pytest.mark.parametrize("fn", [np.linspace, np.geomspace])
def test_spaces_on_traced_endpoints_equal_numpys(fn, start, stop, kw):
    got = _on_traced(lambda a, b: fn(a, b, **kw), start, stop)
    want = fn(start, stop, **kw)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_linspace_derivatives_are_the_interpolation_weights():
    t = np.arange(5) / 4
    ja, jb = ad.jacfwd(lambda a, b: np.linspace(a, b, 5), argnums=(0, 1))(1.0, 3.0)
    np.testing.assert_allclose(ja, 1 - t)
    np.testing.assert_allclose(jb, t)
    _, step = np.linspace(0.0, 1.0, 5, retstep=True)
    out, pullback = ad.vjp(lambda b: np.linspace(0.0, b, 5, retstep=True)[1], 1.0)
    assert ad.raw(out) == step and float(pullback(1.0)[0]) == 0.25


def test_geomspace_derivative_and_negative_endpoints():
    # the i-th value is a^(1 - t) b^t
    t = np.arange(4) / 3
    jb = ad.jacfwd(lambda b: np.geomspace(2.0, b, 4))(16.0)
    np.testing.assert_allclose(jb, t * 2.0 ** (1 - t) * 16.0 ** (t - 1))
    jb = ad.jacfwd(lambda b: np.geomspace(-2.0, b, 4))(-16.0)
    np.testing.assert_allclose(jb, t * 2.0 ** (1 - t) * 16.0 ** (t - 1))
    with pytest.raises(ValueError, match="cannot include zero"):
        ad.grad(lambda b: np.geomspace(0.0, b, 3).sum())(1.0)


def test_spaces_refuse_an_integer_dtype_on_traced_endpoints():
    with pytest.raises(TypeError, match="linspace: dtype=int64 would drop the derivative"):
        ad.grad(lambda b: np.linspace(0.0, b, 3, dtype=np.int64).sum())(4.0)
    y = _on_traced(lambda b: np.linspace(0.0, b, 3, dtype=np.float32), 4.0)
    assert y.dtype == np.float32


def test_ad_linspace_is_the_tensor_factory_on_plain_numbers():
    t = ad.linspace(0, 1, 3)
    assert isinstance(t, ad.Tensor)
    np.testing.assert_array_equal(t.numpy(), [0.0, 0.5, 1.0])
    assert ad.linspace(0.0, 1.0, steps=3, requires_grad=True).requires_grad
    np.testing.assert_array_equal(
        ad.linspace(start=0.0, end=1.0, steps=5).numpy(), np.linspace(0, 1, 5)
    )


def test_ad_linspace_on_traced_endpoints_and_tensors():
    assert float(ad.grad(lambda a: ad.linspace(a, 2.0, 3).sum())(0.5)) == pytest.approx(1.5)
    assert float(ad.grad(lambda a: ad.linspace([a, 1.0], 2.0, 3).sum())(0.5)) == pytest.approx(1.5)
    a = ad.tensor(0.0, requires_grad=True)
    y = np.linspace(a, ad.tensor(2.0), 5)
    assert isinstance(y, ad.Tensor)
    y.sum().backward()
    assert float(a.grad.numpy()) == pytest.approx(2.5)
