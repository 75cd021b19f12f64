"""sort and partition (values, NumPy dispatch, the tie convention) and the integer-valued
functions (argsort, argmax, ...) on traced values."""

import numpy as np
import pytest

import autodiff as ad
from autodiff.compile import CompileError
from autodiff.testing import check_grads

RNG = np.random.default_rng(7)


def _traced_value(f, x):
    """f(x) computed on a traced x (the differentiated path), as a plain array."""
    return ad.jvp(f, (x,), (np.ones_like(x),))[0]


@pytest.mark.parametrize("axis", [-1, 0, 1, None])
def test_sort_values_and_dispatch(axis):
    x = RNG.standard_normal((3, 4))
    np.testing.assert_array_equal(_traced_value(lambda v: np.sort(v, axis=axis), x),
                                  np.sort(x, axis=axis))  # fmt: skip
    np.testing.assert_array_equal(ad.sort(x, axis=axis), np.sort(x, axis=axis))
    ad.check_grads(lambda v: np.sort(v, axis=axis), (x,), order=2)


def test_sort_jacobian_is_the_sorting_permutation():
    x = np.array([3.0, 1.0, 2.0])
    want = np.eye(3)[np.argsort(x)]
    np.testing.assert_array_equal(ad.jacfwd(np.sort)(x), want)
    np.testing.assert_array_equal(ad.jacrev(np.sort)(x), want)


def test_sort_ties_follow_a_stable_argsort():
    # the k-th sorted value's derivative goes to the element a stable argsort puts there
    x = np.array([2.0, 1.0, 2.0, 1.0])
    weights = np.array([1.0, 10.0, 100.0, 1000.0])
    g = ad.grad(lambda v: np.sum(np.sort(v) * weights))(x)
    np.testing.assert_array_equal(g, [100.0, 1.0, 1000.0, 10.0])
    _, t = ad.jvp(np.sort, (x,), (np.array([1.0, 2.0, 3.0, 4.0]),))
    np.testing.assert_array_equal(t, [2.0, 4.0, 1.0, 3.0])


def test_sort_nan_goes_last_with_its_derivative():
    x = np.array([np.nan, 1.0, -2.0])
    out, t = ad.jvp(np.sort, (x,), (np.array([1.0, 2.0, 3.0]),))
    np.testing.assert_array_equal(out, np.sort(x))
    np.testing.assert_array_equal(t, [3.0, 2.0, 1.0])


def test_sort_on_a_tensor_keeps_the_graph():
    t = ad.tensor([3.0, 1.0, 2.0], requires_grad=True)
    (np.sort(t) * ad.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [3.0, 1.0, 2.0])


@pytest.mark.parametrize(("kth", "axis"), [(1, -1), ((0, 2), 1), (2, 0), (5, None)])
def test_partition_values_equal_numpy(kth, axis):
    x = RNG.standard_normal((4, 3))
    np.testing.assert_array_equal(_traced_value(lambda v: np.partition(v, kth, axis=axis), x),
                                  np.partition(x, kth, axis=axis))  # fmt: skip
    np.testing.assert_array_equal(ad.partition(x, kth, axis=axis), np.partition(x, kth, axis=axis))
    ad.check_grads(lambda v: np.partition(v, kth, axis=axis), (x,), order=2)


def test_partition_gradient_goes_to_the_kth_element():
    x = np.array([5.0, 1.0, 4.0, 2.0, 3.0])
    g = ad.grad(lambda v: np.partition(v, 2)[2])(x)
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0, 0.0, 1.0])


def _integer_results(x, methods=True):
    out = [
        np.argsort(x), np.argsort(x, axis=0), np.argmax(x), np.argmax(x, axis=1, keepdims=True),
        np.argmin(x, axis=0), np.argpartition(x, 1, axis=1), np.nonzero(x > 0),
        np.searchsorted(np.sort(x, axis=None), np.array([0.0, 0.5])),
        np.searchsorted(np.array([-1.0, 0.0, 1.0]), x), np.nanargmax(x), np.nanargmin(x),
        np.flatnonzero(x > 0),
    ]  # fmt: skip
    if methods:  # NumPy's methods (a Tensor has PyTorch's instead)
        out += [x.argmax(), x.argmin(axis=0), x.argsort(axis=1), x.argpartition(1), x.nonzero(),
                x[0].searchsorted(np.array([0.0]))]  # fmt: skip
    return out


def _equal(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _equal(g, w)
        return
    assert type(got) in (np.ndarray, np.intp, np.int64), type(got)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("mode", ["rev", "fwd", "tensor"])
def test_integer_valued_functions_accept_traced_input(mode):
    x = RNG.standard_normal((3, 4))
    methods = mode != "tensor"
    want = _integer_results(x, methods)
    seen = []

    def f(v):
        seen.extend(_integer_results(v, methods))
        return np.sum(v)

    if mode == "rev":
        ad.grad(f)(x)
    elif mode == "fwd":
        ad.jvp(f, (x,), (x,))
    else:
        f(ad.tensor(x, requires_grad=True))
    assert len(seen) == len(want)
    for got, w in zip(seen, want):
        _equal(got, w)


def test_integer_results_index_the_traced_array():
    x = np.array([0.3, -1.0, 2.0])
    g = ad.grad(lambda v: v[np.argmax(v)] + v[np.argsort(v)][0])(x)
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0])


# ---- np.unique: its values are a gather at each first occurrence (they once had no derivative) --


def test_unique_values_gather_from_the_first_occurrence():
    x = np.array([0.3, -0.7, 1.1, 0.3])
    f = lambda x: np.sum(np.unique(x) ** 2)  # noqa: E731
    want = np.array([0.6, -1.4, 2.2, 0.0])  # 2·value, at the first 0.3 only
    np.testing.assert_allclose(ad.grad(f)(x), want, rtol=1e-15)
    np.testing.assert_allclose(ad.jacfwd(f)(x), want, rtol=1e-15)
    distinct = np.array([0.3, -0.7, 1.1, 0.5])  # (a tie splits under finite differences)
    check_grads(lambda x: np.unique(x) ** 3, (distinct,), modes=("fwd", "rev"), order=2)


def test_unique_returns_what_numpy_returns():
    x = np.array([0.3, -0.7, 1.1, 0.3])
    got = ad.grad(lambda x: np.sum(np.unique(x, return_counts=True)[0] * 1.0))(x)
    np.testing.assert_array_equal(got, [1.0, 1.0, 1.0, 0.0])
    out = np.unique(ad.tensor(x), return_index=True, return_inverse=True, return_counts=True)
    for a, b in zip(
        out[1:], np.unique(x, return_index=True, return_inverse=True, return_counts=True)[1:]
    ):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(out[0].numpy(), np.unique(x))
    A = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 5.0]])
    g = ad.grad(lambda A: np.sum(np.unique(A, axis=0) ** 2))(A)
    np.testing.assert_array_equal(g, [[2.0, 4.0], [0.0, 0.0], [0.0, 10.0]])


def test_unique_refuses_complex_values_and_compile():
    with pytest.raises(TypeError, match="unique"):
        ad.grad(lambda z: np.sum(np.abs(np.unique(z))))(np.array([1 + 1j, 2 - 1j]))
    f = ad.compile(ad.grad(lambda x: np.sum(np.unique(x))))
    with pytest.raises(CompileError, match="data-dependent"):
        f(np.array([0.3, -0.7]))
