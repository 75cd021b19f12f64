"""ad.array and ad.asarray build arrays from traced values; np.array of traced values says how."""

import numpy as np
import pytest

import autodiff as ad
from autodiff.testing import check_grads


def test_array_of_a_nested_list_of_traced_values_and_numbers():
    def f(x):
        return ad.array([[x, 2 * x], [x**2, 1.0]])

    np.testing.assert_array_equal(ad.jacfwd(f)(3.0), [[1.0, 2.0], [6.0, 0.0]])
    np.testing.assert_array_equal(ad.jacrev(f)(3.0), [[1.0, 2.0], [6.0, 0.0]])
    ad.check_grads(lambda x: ad.array([[x, 2 * x], [x**2, 1.0]]), (3.0,), order=2)


def test_array_mixes_plain_arrays_and_traced_rows(rng):
    w = rng.standard_normal(3)

    def f(w):
        return ad.array([w, np.ones(3), (0.0, 1.0, 2.0), [w[0], w[1], 5.0]]).sum(axis=0)

    out = f(w)
    np.testing.assert_array_equal(out, np.array([w, np.ones(3), (0, 1, 2), [w[0], w[1], 5]]).sum(0))
    ad.check_grads(f, (w,), order=2)


def test_array_of_boxes_from_two_levels():
    # d/dx [x · d/dy sum(array([x, y]))]: the inner array stacks an outer and an inner box
    inner = ad.grad(lambda y, x: ad.array([x * y, y]).sum())
    assert float(ad.grad(lambda x: x * inner(1.0, x))(2.0)) == pytest.approx(2 * 2.0 + 1.0)


def test_plain_input_is_numpys_array():
    for obj in ([1, 2], [[1.0, 2.0]], (1, 2.5), 3.0, np.arange(3)):
        got, want = ad.array(obj), np.array(obj)
        assert type(got) is np.ndarray and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    assert ad.asarray([1, 2]).dtype == np.asarray([1, 2]).dtype
    x = np.ones(2)
    assert ad.asarray(x) is x
    assert ad.array([1, 2], ndmin=3).shape == (1, 1, 2)


def test_asarray_returns_a_traced_value_as_it_is():
    seen = []

    def f(x):
        seen.append(ad.asarray(x) is x)
        return ad.asarray((x, x * x)).sum()

    assert float(ad.grad(f)(2.0)) == pytest.approx(5.0)
    assert seen == [True]


def test_dtype_and_ndmin_on_traced_values():
    def f(x):
        out = ad.array([x, 1.0], dtype=np.float32, ndmin=2)
        assert out.shape == (1, 2) and out.dtype == np.float32
        return out.sum()

    g = ad.grad(f)(np.float64(2.0))
    assert float(g) == 1.0
    with pytest.raises(TypeError, match="array: dtype=int64 would drop the derivative"):
        ad.grad(lambda x: ad.array([x, 1.0], dtype=np.int64).sum())(2.0)


def test_ragged_lists_are_refused_with_their_shapes():
    with pytest.raises(ValueError, match=r"different shapes \(\(\), \(2,\)\)"):
        ad.grad(lambda x: ad.array([x, [1.0, 2.0]]).sum())(2.0)


def test_tensors_in_a_list_make_a_tensor_with_its_graph():
    a = ad.tensor(2.0, requires_grad=True)
    b = ad.tensor([1.0, 3.0], requires_grad=True)
    out = ad.array([[a, 1.0], b])
    assert isinstance(out, ad.Tensor)
    (out * ad.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert float(a.grad.numpy()) == 1.0
    np.testing.assert_array_equal(b.grad.numpy(), [3.0, 4.0])


@pytest.mark.parametrize(
    "build", [lambda x: np.array([x, x]), lambda x: np.asarray(x), lambda x: np.array([[1.0, x]])]
)
def test_np_array_of_traced_values_names_the_fix(build):
    # NumPy asks each element for a plain array, which cannot be intercepted: the error says so
    # and names ad.array / ad.stack (the old message named only ad.stack)
    for transform in (ad.grad, ad.jacfwd):
        with pytest.raises(
            TypeError, match=r"np\.array.*np\.asarray.*ad\.array\(\[\.\.\.\]\)"
        ) as e:
            transform(lambda x: build(x).sum())(1.0)
        assert "ad.stack" in str(e.value) and "drop its derivative" in str(e.value)


# ---- np.full_like: a traced fill value carries its derivative (it once got none, silently) ------


def test_full_like_of_a_traced_fill_value_has_its_derivative_in_both_modes():
    f = lambda w: np.sum(np.full_like(w * np.ones(3), w) * np.array([1.0, 2.0, 3.0]))  # noqa: E731
    assert float(ad.grad(f)(2.0)) == 6.0
    assert float(ad.jacfwd(f)(2.0)) == 6.0
    check_grads(f, (np.array(0.7),), modes=("fwd", "rev"), order=2)


def test_full_like_of_a_constant_or_an_integer_dtype_has_no_derivative():
    g = ad.grad(lambda w: np.sum(np.full_like(w * np.ones(3), 7.0) * w))
    assert float(g(2.0)) == 21.0  # only the product's own w
    out = np.full_like(ad.tensor([1.5, 2.5], requires_grad=True), 3, dtype=np.int64)
    assert out.dtype == np.int64 and not isinstance(out, ad.Tensor)
