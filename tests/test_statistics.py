"""Statistics: NaN-aware reductions, median/quantile/percentile (all of NumPy's methods, ties,
NaNs, a traced q), average with traced weights, cov and corrcoef; values against NumPy's, reached
by the plain NumPy call, by ad.<name> and by the Tensor methods."""

import warnings

import numpy as np
import pytest

import autodiff as ad

RNG = np.random.default_rng(11)
NAN = np.nan
METHODS = [
    "inverted_cdf", "averaged_inverted_cdf", "closest_observation", "interpolated_inverted_cdf",
    "hazen", "weibull", "linear", "median_unbiased", "normal_unbiased", "lower", "higher",
    "midpoint", "nearest",
]  # fmt: skip


def _traced_value(f, *xs):
    """f(*xs) computed on traced values (the differentiated path), as plain arrays."""
    return ad.jvp(f, xs, tuple(np.ones_like(x) for x in xs))[0]


# ---- NaN-aware reductions -----------------------------------------------------------------


def test_nan_reductions_ignore_nans_in_value_and_derivative():
    x = np.array([[1.0, NAN, 3.0], [4.0, 5.0, NAN]])
    for fn, want in [
        (np.nansum, [[1, 0, 1], [1, 1, 0]]),
        (np.nanmean, [[0.25, 0, 0.25], [0.25, 0.25, 0]]),
        (np.nanmax, [[0, 0, 0], [0, 1, 0]]),
        (np.nanmin, [[1, 0, 0], [0, 0, 0]]),
    ]:
        assert _traced_value(fn, x) == fn(x)
        np.testing.assert_array_equal(ad.grad(fn)(x), want)
        for kw in ({"axis": 0}, {"axis": 1, "keepdims": True}):
            np.testing.assert_array_equal(
                _traced_value(lambda v, fn=fn, kw=kw: fn(v, **kw), x), fn(x, **kw)
            )
        g = ad.grad(lambda v, fn=fn: np.sum(fn(v, axis=1)))(x)
        assert np.all(np.isfinite(g)) and g[0, 1] == 0 and g[1, 2] == 0


@pytest.mark.parametrize("fn", [np.nanmean, np.nanmax, np.nanmin])
def test_all_nan_slice_is_nan_with_numpys_warning_and_zero_derivative(fn):
    x = np.array([[NAN, NAN], [1.0, 2.0]])
    with pytest.warns(RuntimeWarning):
        out, t = ad.jvp(lambda v: fn(v, axis=1), (x,), (np.ones_like(x),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(out, fn(x, axis=1))
        g = ad.grad(lambda v: fn(v, axis=1)[0])(x)
    assert t[0] == 0.0 and np.all(g == 0.0)


def test_nansum_and_nanmean_tensor_methods():
    t = ad.tensor([[1.0, NAN], [3.0, 4.0]], requires_grad=True)
    (t.nansum(dim=1).sum() + t.nanmean(dim=0, keepdim=True).sum()).backward()
    np.testing.assert_array_equal(t.grad.numpy(), [[1.5, 0.0], [1.5, 2.0]])


def test_ptp():
    x = RNG.standard_normal((3, 4))
    for kw in ({}, {"axis": 0}, {"axis": 1, "keepdims": True}):
        np.testing.assert_array_equal(
            _traced_value(lambda v, kw=kw: np.ptp(v, **kw), x), np.ptp(x, **kw)
        )
        ad.check_grads(lambda v, kw=kw: np.ptp(v, **kw), (x,), order=2)


# ---- order statistics ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5,), (6,), (4, 5), (2, 3, 4)])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, -1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_median_values_equal_numpy(shape, axis, keepdims):
    if axis == (0, -1) and len(shape) == 1:
        return
    x = RNG.standard_normal(shape)
    got = _traced_value(lambda v: np.median(v, axis=axis, keepdims=keepdims), x)
    np.testing.assert_array_equal(got, np.median(x, axis=axis, keepdims=keepdims))


def test_median_gradient_goes_to_the_middle_elements():
    np.testing.assert_array_equal(ad.grad(np.median)(np.array([3.0, 1.0, 2.0])), [0, 0, 1])
    np.testing.assert_array_equal(ad.grad(np.median)(np.array([4.0, 1.0, 3.0, 2.0])),
                                  [0, 0, 0.5, 0.5])  # fmt: skip
    ad.check_grads(lambda v: np.median(v, axis=1), (RNG.standard_normal((3, 6)),), order=2)


def test_median_ties_give_the_derivative_to_the_elements_numpy_selected():
    x = np.array([2.0, 1.0, 2.0, 2.0, 3.0])
    g = ad.grad(np.median)(x)
    assert g.sum() == 1.0 and np.count_nonzero(g) == 1 and x[g == 1.0] == 2.0
    kth = np.argpartition(x, [2, -1])[2]  # what np.median's partition put in the middle
    assert g[kth] == 1.0


def test_median_and_quantile_of_a_slice_with_nan():
    x = np.array([[1.0, NAN, 3.0], [4.0, 5.0, 6.0]])
    for f in (lambda v: np.median(v, axis=1), lambda v: np.quantile(v, 0.3, axis=1)):
        out = _traced_value(f, x)
        np.testing.assert_array_equal(out, f(x))
        g = ad.grad(lambda v, f=f: f(v)[0])(x)  # the NaN element is the one selected, as for max
        np.testing.assert_array_equal(g, [[0, 1, 0], [0, 0, 0]])


@pytest.mark.parametrize("method", METHODS)
def test_quantile_values_equal_numpy_for_every_method(method):
    x = RNG.standard_normal((4, 7))
    x[0, :3] = 0.5  # ties
    for q in (0.0, 0.3, 0.5, np.array([0.1, 0.45, 0.99, 1.0]), np.array([[0.2], [0.8]])):
        for kw in ({}, {"axis": 1}, {"axis": 0, "keepdims": True}, {"axis": (1, 0)}):
            want = np.quantile(x, q, method=method, **kw)
            got = _traced_value(lambda v, q=q, kw=kw: np.quantile(v, q, method=method, **kw), x)
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(
                _traced_value(lambda v, q=q, kw=kw: np.percentile(v, 100 * q, method=method, **kw), x),
                np.percentile(x, 100 * q, method=method, **kw))  # fmt: skip


@pytest.mark.parametrize("method", ["linear", "hazen", "median_unbiased", "lower", "midpoint"])
def test_quantile_gradients(method):
    x = RNG.standard_normal((3, 5))
    ad.check_grads(lambda v: np.quantile(v, [0.15, 0.6], axis=1, method=method), (x,), order=2)


def test_quantile_derivative_with_respect_to_q():
    x = np.array([4.0, 1.0, 3.0, 2.0])
    # linear: (n - 1)·q = 1.2 lies between the sorted 2.0 and 3.0: d/dq = 3·(3 - 2)
    assert ad.grad(lambda q: np.quantile(x, q), argnums=0)(0.4) == pytest.approx(3.0)
    assert ad.grad(lambda q: np.percentile(x, q))(40.0) == pytest.approx(0.03)
    ad.check_grads(lambda v, q: np.quantile(v, q), (x, np.array([0.2, 0.7])), order=2)
    ad.check_grads(lambda v, q: np.quantile(v, q, method="weibull"), (x, np.array(0.55)), order=2)
    assert ad.grad(lambda q: np.quantile(x, q, method="nearest"))(0.4) == 0.0


def test_quantile_keeps_float32_with_a_python_q():
    x = np.float32([1.0, 2.0, 4.0])
    for q in (0.3, np.array(0.3)):
        assert _traced_value(lambda v, q=q: np.quantile(v, q), x).dtype == np.quantile(x, q).dtype


def test_quantile_errors():
    x = np.ones(3)
    with pytest.raises(ValueError, match="'cubic' is not a valid method"):
        ad.grad(lambda v: np.quantile(v, 0.5, method="cubic"))(x)
    with pytest.raises(ValueError, match=r"Quantiles must be in the range \[0, 1\]"):
        ad.grad(lambda v: np.quantile(v, 1.5))(x)
    with pytest.raises(ValueError, match=r"Percentiles must be in the range \[0, 100\]"):
        ad.grad(lambda v: np.percentile(v, 150))(x)
    with pytest.raises(TypeError, match="quantile: weights= is not supported"):
        ad.grad(lambda v: np.quantile(v, 0.5, method="inverted_cdf", weights=x))(x)


def test_quantile_tensor_method_is_pytorchs():
    t = ad.tensor([[1.0, 2.0, 4.0], [3.0, 0.0, 5.0]], requires_grad=True)
    q = t.quantile(0.25, dim=1, keepdim=True, interpolation="linear")
    np.testing.assert_array_equal(q.detach().numpy(), [[1.5], [1.5]])
    q.sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [[0.5, 0.5, 0], [0.5, 0.5, 0]])


# ---- average, cov, corrcoef ---------------------------------------------------------------


def test_average_with_traced_weights():
    a, w = RNG.standard_normal((3, 4)), RNG.uniform(0.5, 2.0, (4,))
    for kw in ({"axis": 1}, {"axis": -1, "keepdims": True}):
        f = lambda x, v, kw=kw: np.average(x, weights=v, **kw)  # noqa: E731
        np.testing.assert_allclose(_traced_value(f, a, w), f(a, w), rtol=1e-15)
        ad.check_grads(f, (a, w), order=2)
    w2 = RNG.uniform(0.5, 2.0, (3, 4))
    ad.check_grads(lambda x, v: np.average(x, weights=v), (a, w2), order=2)
    avg, scl = _traced_value(lambda x, v: np.average(x, 1, v, returned=True), a, w)
    want = np.average(a, 1, w, returned=True)
    np.testing.assert_allclose(avg, want[0]) and np.testing.assert_allclose(scl, want[1])
    np.testing.assert_allclose(_traced_value(lambda x: np.average(x, axis=0), a), a.mean(0))


def test_average_errors_as_numpy():
    a = np.ones((2, 3))
    with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
        ad.grad(lambda x: np.average(x, axis=1, weights=np.zeros(3)).sum())(a)
    with pytest.raises(TypeError, match="Axis must be specified"):
        ad.grad(lambda x: np.average(x, weights=np.ones(3)))(a)


@pytest.mark.parametrize(
    "kw",
    [{}, {"rowvar": False}, {"bias": True}, {"ddof": 2}, {"fweights": np.array([1, 2, 1, 3, 1])},
     {"aweights": np.array([0.5, 1.0, 2.0, 1.0, 0.3])},
     {"fweights": np.array([2, 1, 1, 1, 3]), "aweights": np.array([0.5, 1.0, 2.0, 1.0, 0.3]),
      "ddof": 1}],
)  # fmt: skip
def test_cov_values_and_gradients(kw):
    m = RNG.standard_normal((3, 5))
    if kw.get("rowvar") is False:
        m = m.T.copy()
    np.testing.assert_allclose(_traced_value(lambda v: np.cov(v, **kw), m), np.cov(m, **kw),
                               rtol=1e-14)  # fmt: skip
    ad.check_grads(lambda v: np.cov(v, **kw), (m,), order=2)


def test_cov_with_y_and_traced_aweights():
    x, y, aw = RNG.standard_normal(5), RNG.standard_normal(5), RNG.uniform(0.5, 2.0, 5)
    np.testing.assert_allclose(_traced_value(np.cov, x, y), np.cov(x, y))
    ad.check_grads(lambda a, b, w: np.cov(a, b, aweights=w), (x, y, aw), order=2)
    assert np.shape(_traced_value(np.cov, x)) == ()


def test_corrcoef_values_and_gradients():
    x = RNG.standard_normal((3, 6))
    np.testing.assert_allclose(_traced_value(np.corrcoef, x), np.corrcoef(x), rtol=1e-14)
    ad.check_grads(np.corrcoef, (x,), order=2)
    y = RNG.standard_normal(6)
    ad.check_grads(lambda a, b: np.corrcoef(a, b), (x[0], y), order=2)
    g = ad.jacfwd(np.corrcoef)(x)
    np.testing.assert_allclose(g[np.arange(3), np.arange(3)], 0.0, atol=1e-12)  # the diagonal


def test_cov_and_corrcoef_tensor_methods_use_pytorchs_words():
    data = RNG.standard_normal((2, 4))
    t = ad.tensor(data, requires_grad=True)
    np.testing.assert_allclose(t.cov(correction=0).detach().numpy(), np.cov(data, ddof=0))
    np.testing.assert_allclose(t.corrcoef().detach().numpy(), np.corrcoef(data))
    t.cov().sum().backward()
    assert t.grad.shape == (2, 4)


def test_everything_is_reached_by_the_numpy_call_and_by_ad():
    x = RNG.standard_normal((3, 4))
    for name, args in [
        ("nansum", ()), ("nanmean", ()), ("nanmax", ()), ("nanmin", ()), ("ptp", ()),
        ("median", ()), ("quantile", (0.3,)), ("percentile", (30.0,)), ("average", ()),
        ("cov", ()), ("corrcoef", ()),
    ]:  # fmt: skip
        np_fn, ad_fn = getattr(np, name), getattr(ad, name)
        want = np_fn(x, *args)
        np.testing.assert_allclose(ad_fn(x, *args), want)
        for fn in (np_fn, ad_fn):
            got = _traced_value(lambda v, fn=fn, a=args: fn(v, *a), x)
            np.testing.assert_allclose(got, want, rtol=1e-13)
