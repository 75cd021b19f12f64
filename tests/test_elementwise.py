"""Elementwise functions beyond what the registry-wide gradient checks see: NumPy dispatch, the
values NumPy gives, conventions (ties, NaN, kinks, jumps), operators, and the regressions of
issue 13 (remainders with a zero derivative, NaN masks, rounding that dropped the graph)."""

import math

import numpy as np
import pytest

import autodiff as ad
from autodiff import numpy_api
from autodiff.reverse import Traced

X = np.array([1.5, -2.3, 0.7, 4.2])
Y = np.array([2.0, 0.9, -1.3, 1.1])


# ---- issue 13, defect 1: remainders ------------------------------------------------------------


@pytest.mark.parametrize(
    "fn",
    [
        np.mod,
        np.remainder,
        lambda x, y: x % y,
        lambda x, y: ad.mod(x, y),
        lambda x, y: ad.remainder(x, y),
    ],
)
def test_mod_derivatives_are_one_and_minus_the_floor_quotient(fn):
    gx, gy = ad.grad(lambda x, y: fn(x, y).sum(), argnums=(0, 1))(X, Y)
    np.testing.assert_array_equal(gx, np.ones_like(X))
    np.testing.assert_array_equal(gy, -np.floor_divide(X, Y))
    assert np.any(gy != 0)


def test_fmod_derivative_in_y_is_minus_the_truncated_quotient():
    gx, gy = ad.grad(lambda x, y: np.fmod(x, y).sum(), argnums=(0, 1))(X, Y)
    np.testing.assert_array_equal(gx, np.ones_like(X))
    np.testing.assert_array_equal(gy, -np.trunc(X / Y))
    assert np.any(gy != 0)


def test_mod_quotient_matches_numpy_where_x_over_y_rounds_across_an_integer():
    # -7 / 0.7 rounds to -10.0, but NumPy's remainder used the quotient -11 (its result is ~0.7)
    x, y = np.array([-7.0]), np.array([0.7])
    gy = ad.grad(lambda y: ad.remainder(x, y).sum())(y)
    np.testing.assert_array_equal(gy, -np.floor_divide(x, y))
    assert np.remainder(x, y)[0] == pytest.approx(x[0] - y[0] * np.floor_divide(x, y)[0])


def test_mod_in_forward_mode_and_broadcasting():
    y = np.array(1.7)
    _, t = ad.jvp(lambda x, y: x % y, (X, y), (np.ones_like(X), np.array(1.0)))
    np.testing.assert_allclose(t, 1.0 - np.floor_divide(X, y))
    g = ad.grad(lambda y: (X % y).sum())(y)
    assert g.shape == () and g == -np.floor_divide(X, y).sum()


def test_mod_on_a_tensor_keeps_the_graph():
    t = ad.tensor(X, requires_grad=True)
    out = np.mod(t, 3.0)
    assert isinstance(out, ad.Tensor) and out.requires_grad
    out.sum().backward()
    np.testing.assert_array_equal(t.grad.detach().numpy(), np.ones_like(X))


def test_percent_floordiv_and_divmod_operators_on_traced_values():
    def f(x):
        q, r = divmod(x, 2.0)
        q2, r2 = np.divmod(x, 2.0)
        return (x % 2.0 + 3.0 % x + x // 2.0 + 7.0 // x + q + r + q2 + r2 + divmod(5.0, x)[1]).sum()

    x = np.array([1.3, 2.6, 0.45])
    g = ad.grad(f)(x)
    # d/dx: x % 2 → 1, 3 % x → -⌊3/x⌋, // → 0, divmod's remainders → 1 each, 5 % x → -⌊5/x⌋
    np.testing.assert_allclose(g, 1 - np.floor_divide(3.0, x) + 2 - np.floor_divide(5.0, x))
    assert f(x) == pytest.approx(
        (x % 2 + 3 % x + x // 2 + 7 // x + 2 * (x // 2 + x % 2) + 5 % x).sum()
    )


def test_divmod_values_equal_numpy():
    q, r = ad.divmod(X, Y)
    nq, nr = np.divmod(X, Y)
    np.testing.assert_array_equal(q, nq)
    np.testing.assert_array_equal(r, nr)


def test_tensor_operators_mod_floordiv_divmod():
    t = ad.tensor(X, requires_grad=True)
    q, r = divmod(t, 2.0)
    assert isinstance(q, ad.Tensor) and isinstance(r, ad.Tensor) and q.requires_grad
    np.testing.assert_array_equal((t // 2.0).detach().numpy(), X // 2.0)
    np.testing.assert_array_equal((5.0 % t).detach().numpy(), 5.0 % X)
    (t % 2.0 + r).sum().backward()
    np.testing.assert_array_equal(t.grad.detach().numpy(), 2 * np.ones_like(X))


# ---- issue 13, defect 2: NaN in maximum, minimum, clip -----------------------------------------


@pytest.mark.parametrize("fn", [np.maximum, np.minimum])
def test_nan_propagates_and_takes_the_gradient(fn):
    x = np.array([np.nan, 1.0, np.nan, 2.0])
    y = np.array([3.0, np.nan, np.nan, 2.0])
    gx, gy = ad.grad(lambda x, y: fn(x, y).sum(), argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, [1.0, 0.0, 0.5, 0.5])  # NaN side; two NaNs and ties: ½
    np.testing.assert_array_equal(gy, [0.0, 1.0, 0.5, 0.5])
    _, t = ad.jvp(lambda x: fn(x, y), (x,), (np.ones(4),))
    np.testing.assert_array_equal(np.isnan(t), [False, False, False, False])
    np.testing.assert_array_equal(t, gx)


def test_tensor_maximum_with_nan_like_pytorch():
    t = ad.tensor([np.nan, 1.0, -2.0], requires_grad=True)
    np.maximum(t, 0.5).sum().backward()
    np.testing.assert_array_equal(t.grad.detach().numpy(), [1.0, 1.0, 0.0])


@pytest.mark.parametrize("fn", [np.fmax, np.fmin])
def test_fmax_fmin_ignore_nan(fn):
    x = np.array([np.nan, 1.0, np.nan, 2.0, 0.5])
    y = np.array([3.0, np.nan, np.nan, 2.0, 0.7])
    gx, gy = ad.grad(lambda x, y: fn(x, y).sum(), argnums=(0, 1))(x, y)
    big = 0.0 if fn is np.fmax else 1.0  # 0.5 vs 0.7: fmin takes x
    np.testing.assert_array_equal(gx, [0.0, 1.0, 0.5, 0.5, big])
    np.testing.assert_array_equal(gy, [1.0, 0.0, 0.5, 0.5, 1.0 - big])
    np.testing.assert_array_equal(fn(x, y), ad.fmax(x, y) if fn is np.fmax else ad.fmin(x, y))


def test_maximum_ties_still_share_the_gradient():
    gx, gy = ad.grad(lambda x, y: np.maximum(x, y), argnums=(0, 1))(1.0, 1.0)
    assert (gx, gy) == (0.5, 0.5)


def test_clip_passes_nan_through_with_derivative_one():
    x = np.array([np.nan, -3.0, 0.2, 3.0])
    g = ad.grad(lambda x: np.clip(x, -1.0, 1.0).sum())(x)
    np.testing.assert_array_equal(g, [1.0, 0.0, 1.0, 0.0])


# ---- zero-derivative functions that stay traced -----------------------------------------------

ROUNDING = [np.floor, np.ceil, np.trunc, np.rint, np.round, np.around, np.sign,
            lambda x: np.round(x, 1), lambda x: np.floor_divide(x, 0.7),
            lambda x: np.heaviside(x, 0.5), lambda x: x // 0.7, round]  # fmt: skip


@pytest.mark.parametrize("fn", ROUNDING)
def test_rounding_returns_traced_values_with_a_zero_derivative(fn):
    seen = {}

    def f(x):
        seen["out"] = out = fn(x)
        return (out * x).sum()

    x = np.array([1.26, -2.71, 0.33])
    g = ad.grad(f)(x)
    assert isinstance(seen["out"], Traced)
    want = np.round(x) if fn is round else fn(x)  # (Python's round takes no NumPy array)
    np.testing.assert_allclose(g, want)  # d(r(x)·x) = r(x) + 0·x


@pytest.mark.parametrize("fn", ROUNDING[:-1])
def test_rounding_values_equal_numpy(fn):
    x = np.array([1.25, -2.75, 0.35, -0.0, 2.5])
    _, t = ad.jvp(fn, (x,), (np.ones_like(x),))
    out = ad.jvp(fn, (x,), (np.ones_like(x),))[0]
    np.testing.assert_array_equal(out, fn(x))
    np.testing.assert_array_equal(t, np.zeros_like(x))


def test_rounding_on_tensors_keeps_requires_grad():
    t = ad.tensor([1.5, -0.5], requires_grad=True)
    for out in (np.floor(t), np.ceil(t), np.round(t), np.sign(t), t // 2.0, t.trunc(), round(t)):
        assert isinstance(out, ad.Tensor) and out.requires_grad
    (np.floor(t) * t).sum().backward()
    np.testing.assert_array_equal(t.grad.detach().numpy(), [1.0, -1.0])


def test_zero_rules_give_no_nan_from_infinite_tangents():
    x = np.array([0.5, 1.5])
    inf = np.array([np.inf, -np.inf])
    for fn in (np.floor, np.sign, lambda x: x // 2.0, lambda x: np.copysign(2.0, x)):
        _, t = ad.jvp(fn, (x,), (inf,))
        np.testing.assert_array_equal(t, [0.0, 0.0])
        _, pullback = ad.vjp(fn, x)
        (ct,) = pullback(inf)
        np.testing.assert_array_equal(ct, [0.0, 0.0])


def test_zero_rules_keep_shapes_under_broadcasting():
    gx, gy = ad.grad(lambda x, y: (x // y).sum(), argnums=(0, 1))(np.ones((2, 3)), np.array(0.7))
    assert gx.shape == (2, 3) and gy.shape == () and gy == 0
    _, t = ad.jvp(lambda y: np.heaviside(np.ones((2, 3)), y), (np.array(0.5),), (np.array(1.0),))
    assert t.shape == (2, 3) and not t.any()


def test_rounding_nested_to_second_order():
    f = lambda x: np.floor(x) * x**2  # noqa: E731  f'' = 2⌊x⌋
    assert ad.grad(ad.grad(f))(2.5) == pytest.approx(4.0)
    h = ad.hessian(lambda x: (np.round(x) * x**2 + x % 1.0 * x).sum())(np.array([1.3, -0.8]))
    np.testing.assert_allclose(h, np.diag([2 * 1.0 + 2, 2 * -1.0 + 2]))


def test_round_decimals_through_numpy_and_python():
    x = np.array([1.234, -5.678])
    np.testing.assert_array_equal(ad.jvp(lambda x: np.round(x, 2), (x,), (x,))[0], np.round(x, 2))
    np.testing.assert_array_equal(ad.jvp(lambda x: np.around(x, 1), (x,), (x,))[0], np.around(x, 1))
    np.testing.assert_array_equal(ad.jvp(lambda x: round(x, 1), (x,), (x,))[0], np.round(x, 1))


# ---- new functions: values equal NumPy's, reached by NumPy dispatch ----------------------------

POS = np.array([0.3, 1.7, 2.4])
UNIT = np.array([-0.6, 0.1, 0.8])
SIGNED = np.array([-1.9, 0.4, 2.2])

DISPATCH = [
    (np.fmax, (SIGNED, UNIT)), (np.fmin, (SIGNED, UNIT)), (np.nan_to_num, (SIGNED,)),
    (np.degrees, (SIGNED,)), (np.radians, (SIGNED,)), (np.deg2rad, (SIGNED,)),
    (np.rad2deg, (SIGNED,)), (np.arccosh, (POS + 1.0,)), (np.arctanh, (UNIT,)),
    (np.logaddexp2, (SIGNED, UNIT)), (np.exp2, (SIGNED,)), (np.cbrt, (SIGNED,)),
    (np.sinc, (SIGNED,)), (np.fabs, (SIGNED,)), (np.copysign, (SIGNED, UNIT)),
    (np.float_power, (POS, SIGNED)), (np.true_divide, (SIGNED, POS)), (np.mod, (SIGNED, POS)),
    (np.remainder, (SIGNED, POS)), (np.fmod, (SIGNED, UNIT)), (np.floor_divide, (SIGNED, POS)),
    (np.heaviside, (SIGNED, UNIT)), (np.floor, (SIGNED,)), (np.ceil, (SIGNED,)),
    (np.trunc, (SIGNED,)), (np.rint, (SIGNED,)), (np.sign, (SIGNED,)), (np.round, (SIGNED,)),
]  # fmt: skip


@pytest.mark.parametrize(("fn", "args"), DISPATCH, ids=[f.__name__ for f, _ in DISPATCH])
def test_numpy_call_on_traced_values_equals_numpy(fn, args):
    out, _ = ad.jvp(fn, args, tuple(np.ones_like(a) for a in args))
    np.testing.assert_array_equal(out, fn(*args))
    name = fn.__name__
    public = getattr(
        ad, {"true_divide": "divide", "mod": "remainder", "around": "round"}.get(name, name)
    )
    np.testing.assert_array_equal(public(*args), fn(*args))


@pytest.mark.parametrize(("fn", "args"), DISPATCH[:17], ids=[f.__name__ for f, _ in DISPATCH[:17]])
def test_new_functions_pass_check_grads_through_numpy(fn, args):
    ad.check_grads(fn, args, order=2)


def test_aliases_do_not_take_the_ufunc_from_their_op():
    # np.mod is np.remainder and np.true_divide is np.divide: the ops serve them directly
    assert numpy_api._ufunc_table["remainder"] is ad.remainder.op
    assert numpy_api._ufunc_table["divide"] is ad.divide.op


def test_unit_conversions_are_numpys_to_the_bit_in_float32_and_float64():
    for dtype in (np.float64, np.float32):
        x = np.linspace(-7, 7, 101, dtype=dtype)
        for fn in (np.degrees, np.radians, np.deg2rad, np.rad2deg):
            got = getattr(ad, fn.__name__)(x)
            assert got.dtype == fn(x).dtype
            np.testing.assert_array_equal(got, fn(x))


def test_float_power_computes_in_float64_and_the_gradient_keeps_the_input_dtype():
    x = np.array([1.5, 2.0], dtype=np.float32)
    out = ad.float_power(x, 3)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, np.float_power(x, 3))
    g = ad.grad(lambda x: np.float_power(x, 3).sum())(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 3 * x.astype(np.float64) ** 2)


def test_copysign_derivative_follows_the_sign_flip():
    x, y = np.array([1.5, -2.0, 3.0, 0.0]), np.array([-1.0, -1.0, 2.0, 1.0])
    gx, gy = ad.grad(lambda x, y: np.copysign(x, y).sum(), argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, [-1.0, 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(gy, np.zeros(4))


def test_nan_to_num_selects_the_tangent_where_x_is_finite():
    x = np.array([1.0, np.nan, np.inf, -np.inf, -2.0])
    _, t = ad.jvp(lambda x: np.nan_to_num(x, nan=5.0, posinf=9.0), (x,), (np.full(5, np.nan),))
    np.testing.assert_array_equal(np.isnan(t), [True, False, False, False, True])
    g = ad.grad(lambda x: np.nan_to_num(x * 2.0, neginf=-7.0).sum())(x)
    np.testing.assert_array_equal(g, [2.0, 0.0, 0.0, 0.0, 2.0])
    out, _ = ad.jvp(lambda x: np.nan_to_num(x, nan=5.0, posinf=9.0), (x,), (x,))
    np.testing.assert_array_equal(out, np.nan_to_num(x, nan=5.0, posinf=9.0))


def test_nan_to_num_copy_is_a_keyword():
    x = np.array([np.nan, 1.0])
    ad.nan_to_num(x, copy=False)
    assert x[0] == 0.0  # a plain array: NumPy's behaviour
    with pytest.raises(TypeError, match="copy by keyword"):
        ad.nan_to_num(x, False)
    t = ad.tensor([np.nan, 2.0], requires_grad=True)
    np.testing.assert_array_equal(t.nan_to_num(3.0).detach().numpy(), [3.0, 2.0])  # PyTorch's order


def test_sinc_at_zero_to_second_order():
    d1 = ad.grad(np.sinc)
    assert d1(0.0) == 0.0
    assert ad.grad(d1)(0.0) == pytest.approx(-(math.pi**2) / 3, rel=1e-12)
    x = np.array([1e-9, 1e-4, 0.005, 0.02, 0.5])
    want = (np.cos(np.pi * x) - np.sinc(x)) / x
    exact = -(np.pi**2) * x / 3 + np.pi**4 * x**3 / 30  # the series, for the smallest x
    got = np.array([d1(v) for v in x])
    np.testing.assert_allclose(got[:2], exact[:2], rtol=1e-9)
    np.testing.assert_allclose(got[2:], want[2:], rtol=1e-7)


def test_cbrt_and_exp2_values():
    x = np.array([-8.0, 27.0, 0.125])
    np.testing.assert_allclose(ad.grad(lambda x: np.cbrt(x).sum())(x), 1 / (3 * np.cbrt(x) ** 2))
    np.testing.assert_allclose(ad.grad(lambda x: np.exp2(x).sum())(x), np.log(2) * np.exp2(x))
