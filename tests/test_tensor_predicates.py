"""The Tensor methods that test values (PyTorch's names and results): comparisons, isnan and its
kin, logic, isclose/allclose/equal, count_nonzero. None of them carries a gradient."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad

X = np.array([1.0, np.nan, np.inf, -np.inf, -0.0, 2.5])
Y = np.array([1.0, 0.0, np.inf, 0.0, 0.0, 2.5000001])


def t(values, grad=False):
    return ad.tensor(values, requires_grad=grad)


@pytest.mark.parametrize(
    "method, ufunc",
    [("isnan", np.isnan), ("isfinite", np.isfinite), ("isinf", np.isinf),
     ("isposinf", np.isposinf), ("isneginf", np.isneginf), ("signbit", np.signbit),
     ("isreal", np.isreal), ("logical_not", np.logical_not)],
)  # fmt: skip
def test_tests_of_one_tensor(method, ufunc):
    out = getattr(t(X, grad=True), method)()
    assert isinstance(out, ad.Tensor) and not out.requires_grad and out.grad_fn is None
    np.testing.assert_array_equal(out.numpy(), ufunc(X))


@pytest.mark.parametrize(
    "names, ufunc",
    [(("eq", "__eq__"), np.equal), (("ne", "not_equal", "__ne__"), np.not_equal),
     (("lt", "less", "__lt__"), np.less), (("le", "less_equal", "__le__"), np.less_equal),
     (("gt", "greater", "__gt__"), np.greater),
     (("ge", "greater_equal", "__ge__"), np.greater_equal),
     (("logical_and", "__and__"), np.logical_and), (("logical_or", "__or__"), np.logical_or),
     (("logical_xor",), np.logical_xor)],
)  # fmt: skip
@pytest.mark.parametrize("other", ["tensor", "array", "number"])
def test_comparisons_and_logic_with_tensors_arrays_and_numbers(names, ufunc, other):
    b = {"tensor": t(Y), "array": Y, "number": 1.0}[other]
    want = ufunc(X, Y if other != "number" else 1.0)
    for name in names:
        out = getattr(t(X, grad=True), name)(b)
        assert isinstance(out, ad.Tensor) and not out.requires_grad
        np.testing.assert_array_equal(out.numpy(), want)


def test_isclose_and_allclose_use_pytorchs_defaults():
    a, b = t([1.0, 2.0, np.nan]), t([1.0 + 1e-6, 2.1, np.nan])
    np.testing.assert_array_equal(a.isclose(b).numpy(), [True, False, False])
    np.testing.assert_array_equal(a.isclose(b, equal_nan=True).numpy(), [True, False, True])
    np.testing.assert_array_equal(a.isclose(b, atol=0.2).numpy(), [True, True, False])
    assert a[:1].allclose(b[:1]) is True
    assert a.allclose(b, atol=0.2, equal_nan=True) is True
    assert a.allclose(b) is False


def test_equal_is_one_bool_for_the_whole_tensor():
    assert t([1.0, 2.0]).equal(t([1.0, 2.0])) is True
    assert t([1.0, 2.0]).equal(t([1.0, 2.0, 3.0])) is False  # another shape
    assert t([1.0, 2.0]).equal(np.array([1.0, 3.0])) is False


def test_count_nonzero_all_or_along_a_dim():
    a = t([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]], grad=True)
    assert a.count_nonzero().item() == 3
    np.testing.assert_array_equal(a.count_nonzero(dim=0).numpy(), [0, 1, 2])
    np.testing.assert_array_equal(a.count_nonzero(dim=1).numpy(), [2, 1])
    assert not a.count_nonzero().requires_grad


def test_a_mask_from_a_test_in_the_double_where_pattern():
    x = t([1.0, np.nan, 3.0], grad=True)
    ad.where(x.isnan(), 0.0, x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, np.nan, 6.0])  # PyTorch's NaN too
    x.grad = None
    safe = ad.where(x.isnan(), 0.0, x)  # the NaN never reaches x * x
    ad.where(x.isnan(), 0.0, safe * safe).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 6.0])
