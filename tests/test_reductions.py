"""Reductions: the NaN convention of max/min, std at a constant, sum/mean with where=, cumprod
with zeros, differences and integrals (diff, ediff1d, gradient, trapezoid), and the reduce and
accumulate methods of ufuncs."""

import warnings

import numpy as np
import pytest

import autodiff as ad

RNG = np.random.default_rng(3)
NAN = np.nan


def _traced_value(f, *xs):
    """f(*xs) computed on traced values (the differentiated path), as plain arrays."""
    return ad.jvp(f, xs, tuple(np.ones_like(x) for x in xs))[0]


def _numeric_jacobian(f, x, eps=1e-6):
    cols = []
    for e in np.eye(x.size):
        e = e.reshape(x.shape)
        cols.append((np.asarray(f(x + eps * e)) - np.asarray(f(x - eps * e))) / (2 * eps))
    return np.stack(cols, axis=-1).reshape(np.shape(f(x)) + x.shape)


# ---- defect 2: NaN in max/min ------------------------------------------------------------------


@pytest.mark.parametrize("fn", [np.max, np.amax, np.min, np.amin, ad.max, ad.min])
def test_nan_is_the_selected_element_of_max_and_min(fn):
    # PyTorch: torch.tensor([nan, 1., -2.]).max() backward gives [1, 0, 0]; zeros would be silent
    x = np.array([NAN, 1.0, -2.0])
    np.testing.assert_array_equal(ad.grad(fn)(x), [1.0, 0.0, 0.0])
    _, t = ad.jvp(fn, (x,), (np.array([5.0, 7.0, 11.0]),))
    assert np.isnan(fn(x)) and t == 5.0


def test_nan_max_along_an_axis_and_several_nans():
    x = np.array([[1.0, NAN, 3.0], [4.0, 6.0, 5.0], [NAN, 0.0, NAN]])
    g = ad.grad(lambda v: np.sum(np.max(v, axis=1)))(x)
    np.testing.assert_array_equal(g, [[0, 1, 0], [0, 1, 0], [0.5, 0, 0.5]])  # NaNs share, as ties
    g = ad.grad(lambda v: np.sum(np.maximum.reduce(v, axis=0)))(x)
    np.testing.assert_array_equal(g, [[0, 1, 0], [0, 0, 0], [1, 0, 1]])
    t = ad.tensor(x, requires_grad=True)
    t.amax(dim=1).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [[0, 1, 0], [0, 1, 0], [0.5, 0, 0.5]])


# ---- defect 3: std and var at a constant ----------------------------------------------------


@pytest.mark.parametrize("ddof", [0, 1])
def test_std_of_a_constant_has_a_zero_gradient(ddof):
    # PyTorch's std_backward: (grad / (2 std)).masked_fill_(std == 0, 0)
    c = np.full(4, 0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by zero on the way either
        np.testing.assert_array_equal(ad.grad(lambda x: np.std(x, ddof=ddof))(c), np.zeros(4))
        np.testing.assert_array_equal(ad.grad(lambda x: np.var(x, ddof=ddof))(c), np.zeros(4))
        _, t = ad.jvp(lambda x: np.std(x, ddof=ddof), (c,), (np.arange(4.0),))
        assert t == 0.0
        np.testing.assert_array_equal(ad.jacfwd(np.std)(c), np.zeros(4))
        np.testing.assert_array_equal(ad.jacrev(np.std)(c), np.zeros(4))


def test_std_with_one_constant_row_keeps_the_other_rows_gradient():
    x = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]])
    g = ad.grad(lambda v: np.sum(np.std(v, axis=1)))(x)
    assert np.all(g[0] == 0.0)
    np.testing.assert_allclose(g[1], ad.grad(np.std)(x[1]))
    t = ad.tensor(x, requires_grad=True)
    t.std(dim=1).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy()[0], [0.0, 0.0, 0.0])
    assert np.all(np.isfinite(t.grad.numpy()))


def test_std_second_order_away_from_constants_and_finite_at_them():
    x = RNG.standard_normal((2, 4))
    ad.check_grads(lambda v: np.std(v, axis=1), (x,), order=2)
    h = ad.hessian(np.std)(np.full(3, 2.0))
    assert np.all(np.isfinite(h))


def test_var_with_no_degrees_of_freedom_gives_nan_not_a_crash():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        g = ad.grad(lambda v: np.var(v, ddof=1))(np.array([2.0]))
    assert np.isnan(g).all()


# ---- sum / mean with where= -----------------------------------------------------------------


def test_sum_and_mean_with_where():
    x = RNG.standard_normal((3, 4))
    mask = x > 0
    mask[0, :] = mask[:, 0] = True  # every slice selects something (else the mean is NaN)
    for fn in (np.sum, np.mean):
        for kw in ({}, {"axis": 1}, {"axis": 0, "keepdims": True}):
            np.testing.assert_allclose(_traced_value(lambda v, fn=fn, kw=kw: fn(v, where=mask, **kw), x),
                                       fn(x, where=mask, **kw))  # fmt: skip
            ad.check_grads(lambda v, fn=fn, kw=kw: fn(v, where=mask, **kw), (x,), order=2)
    np.testing.assert_array_equal(ad.grad(lambda v: np.sum(v, where=mask))(x), mask * 1.0)
    g = ad.grad(lambda v: v.mean(where=np.array([True, False, True])))(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(g, [0.5, 0.0, 0.5])


def test_mean_of_an_empty_selection_is_nan_with_a_zero_derivative():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    mask = np.array([[True, True], [False, False]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out, t = ad.jvp(lambda v: np.mean(v, axis=1, where=mask), (x,), (np.ones_like(x),))
        g = ad.grad(lambda v: np.mean(v, axis=1, where=mask)[0])(x)
    assert np.isnan(out[1]) and t[1] == 0.0 and t[0] == 1.0
    np.testing.assert_array_equal(g, [[0.5, 0.5], [0.0, 0.0]])


# ---- cumprod ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x",
    [
        np.array([1.5, -0.5, 2.0, 0.7]),
        np.array([1.5, 0.0, 2.0, 0.7]),
        np.array([0.0, 2.0, 0.0, 3.0, 0.5]),
        np.array([[0.0, 1.5, 2.0], [1.2, 0.0, 0.0]]),
    ],
)
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_cumprod_values_and_jacobians_with_zeros(x, axis):
    f = lambda v: np.cumprod(v, axis=axis)  # noqa: E731
    np.testing.assert_array_equal(_traced_value(f, x), np.cumprod(x, axis=axis))
    want = _numeric_jacobian(f, x)
    np.testing.assert_allclose(ad.jacfwd(f)(x), want, atol=1e-8)
    np.testing.assert_allclose(ad.jacrev(f)(x), want, atol=1e-8)


def test_cumprod_second_order_with_one_zero():
    x = np.array([[1.2, 0.0, -0.8, 1.5], [0.9, 1.1, 0.0, 2.0]])
    ad.check_grads(lambda v: np.cumprod(v, axis=1), (x,), order=2)
    ad.check_grads(lambda v: np.multiply.accumulate(v, axis=1), (x,), order=2)


def test_cumprod_method_and_tensor():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(ad.grad(lambda v: v.cumprod().sum())(x), [9.0, 4.0, 2.0])
    t = ad.tensor(x, requires_grad=True)
    t.cumprod(dim=0).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [9.0, 4.0, 2.0])


# ---- differences and integrals --------------------------------------------------------------


def test_diff_values_and_traced_prepend_append():
    x = RNG.standard_normal((3, 5))
    for kw in (
        {},
        {"n": 2},
        {"axis": 0},
        {"n": 3, "axis": 1, "prepend": 0.5, "append": [[1.0]] * 3},
    ):
        np.testing.assert_allclose(
            _traced_value(lambda v, kw=kw: np.diff(v, **kw), x), np.diff(x, **kw)
        )
    pre, app = RNG.standard_normal((3, 1)), RNG.standard_normal(())
    f = lambda v, p, a: np.diff(v, 2, 1, p, a)  # noqa: E731
    np.testing.assert_allclose(_traced_value(f, x, pre, app), np.diff(x, 2, 1, pre, app))
    ad.check_grads(f, (x, pre, app), order=2)
    assert ad.diff(x, 0) is x
    with pytest.raises(ValueError, match="at least one dimensional"):
        ad.grad(lambda v: np.diff(v))(np.array(1.0))


def test_ediff1d():
    x = RNG.standard_normal((2, 3))
    np.testing.assert_allclose(_traced_value(np.ediff1d, x), np.ediff1d(x))
    f = lambda v, b: np.ediff1d(v, to_end=[7.0, 8.0], to_begin=b)  # noqa: E731
    b = np.array([0.5])
    np.testing.assert_allclose(_traced_value(f, x, b), np.ediff1d(x, [7.0, 8.0], b))
    ad.check_grads(f, (x, b), order=2)


def test_trapezoid_with_traced_samples_and_spacing():
    y, x = RNG.standard_normal((3, 5)), np.sort(RNG.standard_normal(5))
    np.testing.assert_allclose(_traced_value(lambda a, b: np.trapezoid(a, b), y, x),
                               np.trapezoid(y, x))  # fmt: skip
    ad.check_grads(lambda a, b: np.trapezoid(a, b), (y, x), order=2)
    ad.check_grads(lambda a, d: np.trapezoid(a, dx=d, axis=0), (y, np.array(0.2)), order=2)
    xs = RNG.standard_normal((3, 5))
    ad.check_grads(lambda a, b: np.trapezoid(a, b, axis=1), (y, xs), order=2)
    # d/dy of ∫ y dx is the trapezoid weights
    np.testing.assert_allclose(ad.grad(lambda a: np.trapezoid(a, dx=2.0))(np.zeros(4)),
                               [1.0, 2.0, 2.0, 1.0])  # fmt: skip
    if hasattr(np, "trapz"):  # NumPy < 2.4 still has the old name
        np.testing.assert_allclose(_traced_value(lambda a: np.trapz(a, x), y), np.trapz(y, x))


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_values_equal_numpy(edge_order):
    f = RNG.standard_normal((4, 5))
    x = np.array([0.0, 0.3, 1.0, 1.2, 2.0])
    cases = [((), {}), ((0.5,), {}), ((0.5, x), {}), ((x,), {"axis": 1}), ((), {"axis": (1, 0)})]
    for extra, kw in cases:
        want = np.gradient(f, *extra, edge_order=edge_order, **kw)
        got = ad.jvp(lambda v, e=extra, kw=kw: np.gradient(v, *e, edge_order=edge_order, **kw), (f,),
                     (np.ones_like(f),))[0]  # fmt: skip
        assert type(got) is type(want)
        for g, w in zip(got if isinstance(got, tuple) else [got],
                        want if isinstance(want, tuple) else [want]):  # fmt: skip
            np.testing.assert_allclose(g, w, rtol=1e-13)


def test_gradient_with_traced_coordinates():
    f, x = RNG.standard_normal(6), np.array([0.0, 0.4, 0.9, 1.1, 1.8, 2.0])
    ad.check_grads(lambda a, b: np.gradient(a, b), (f, x), order=2)
    ad.check_grads(lambda a, b: np.gradient(a, b, edge_order=2), (f, x), order=2)
    ad.check_grads(lambda a, h: np.gradient(a, h), (f, np.array(0.3)), order=2)
    with pytest.raises(ValueError, match="too small"):
        ad.grad(lambda v: np.sum(np.gradient(v, edge_order=2)))(np.ones(2))


# ---- ufunc methods -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "kw"),
    [
        (np.add.reduce, {}), (np.add.reduce, {"axis": 1, "keepdims": True}),
        (np.add.reduce, {"axis": None, "initial": 2.0}), (np.add.reduce, {"where": "mask"}),
        (np.multiply.reduce, {}), (np.multiply.reduce, {"axis": (0, 1), "initial": 3.0}),
        (np.maximum.reduce, {}), (np.maximum.reduce, {"axis": 1, "initial": 0.0}),
        (np.minimum.reduce, {"axis": 1}), (np.add.accumulate, {}),
        (np.add.accumulate, {"axis": 1}), (np.multiply.accumulate, {"axis": 1}),
    ],
)  # fmt: skip
def test_ufunc_reduce_and_accumulate(call, kw):
    x = RNG.standard_normal((3, 4))
    kw = {k: (x > 0 if v == "mask" else v) for k, v in kw.items()}
    f = lambda v: call(v, **kw)  # noqa: E731
    np.testing.assert_allclose(_traced_value(f, x), f(x), rtol=1e-14)
    ad.check_grads(f, (x,), order=2)


def test_ufunc_methods_reject_what_they_cannot_differentiate():
    x = np.ones(3)
    with pytest.raises(TypeError, match=r"np\.add\.reduce with dtype="):
        ad.grad(lambda v: np.add.reduce(v, dtype=np.float32))(x)
    with pytest.raises(TypeError, match=r"np\.maximum\.reduce with where="):
        ad.grad(lambda v: np.maximum.reduce(v, where=v > 0, initial=0.0))(x)
    with pytest.raises(TypeError, match=r"np\.add\.at"):
        ad.grad(lambda v: np.add.at(v, [0], 1.0))(x)
