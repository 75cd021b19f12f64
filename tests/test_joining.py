"""Joining and splitting functions of issue 13 (hstack, vstack, row_stack, column_stack, dstack,
append, split, array_split, hsplit, vsplit, dsplit) and the functions returning several arrays
(atleast_*d, broadcast_arrays, meshgrid): NumPy dispatch, NumPy's values, gradients, errors."""

import warnings

import numpy as np
import pytest

import autodiff as ad
from autodiff import registry

RNG = np.random.default_rng(0)
A = RNG.standard_normal((2, 3))
B = RNG.standard_normal((2, 3))
V = RNG.standard_normal(3)


def _row_stack(arrays):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # NumPy 2 deprecates the alias
        return np.row_stack(arrays)


JOINS = {
    "hstack": lambda a, b: np.hstack([a, b, 2.0 * a]),
    "hstack 1-D": lambda a, b: np.hstack((a[0], b[1], 1.5)),
    "vstack": lambda a, b: np.vstack([a, b[0], [1.0, 2.0, 3.0]]),
    "column_stack": lambda a, b: np.column_stack([a[0], b.T, a[1]]),
    "dstack": lambda a, b: np.dstack([a, b, np.ones((2, 3)), a[:, :, None]]),
    "append flat": lambda a, b: np.append(a, b[0]),
    "append axis": lambda a, b: np.append(a, b, axis=1),
    "stacks of stacks": lambda a, b: np.vstack([np.vstack([a, b]), np.hstack([a, b])[:, ::2]]),
}
if hasattr(np, "row_stack"):
    JOINS["row_stack"] = lambda a, b: _row_stack([a, b[1]])


@pytest.mark.parametrize("name", list(JOINS))
def test_joins_on_traced_values(name):
    f = JOINS[name]
    want = f(A, B)
    out, (ta) = ad.jvp(f, (A, B), (np.ones_like(A), np.zeros_like(B)))
    np.testing.assert_array_equal(out, want)
    assert np.any(ta != 0)
    ad.check_grads(f, (A, B), order=2)


@pytest.mark.parametrize("name", list(JOINS))
def test_joins_with_only_one_traced_argument(name):
    f = JOINS[name]
    out, _ = ad.jvp(lambda b: f(A, b), (B,), (np.ones_like(B),))
    np.testing.assert_array_equal(out, f(A, B))
    ad.check_grads(lambda b: f(A, b), (B,), order=1)


def test_hstack_gradient_and_tensor():
    g = ad.grad(lambda x: (np.hstack([x, 2 * x]) ** 2).sum())(np.array([1.0, 3.0]))
    np.testing.assert_array_equal(g, [10.0, 30.0])
    t = ad.tensor(A, requires_grad=True)
    out = np.vstack([t, t[0]])
    assert isinstance(out, ad.Tensor) and out.requires_grad
    out.sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [[2.0, 2.0, 2.0], [1.0, 1.0, 1.0]])


def test_stack_of_a_traced_array_reads_its_rows_like_numpy():
    out, _ = ad.jvp(lambda a: np.hstack(a), (A,), (A,))
    np.testing.assert_array_equal(out, np.hstack(A))


def test_dtype_and_casting_like_numpy():
    x32 = A.astype(np.float32)
    out, t = ad.jvp(lambda a: np.hstack([a, a]), (x32,), (x32,))
    assert out.dtype == np.float32 and t.dtype == np.float32
    out, _ = ad.jvp(lambda a: np.hstack([a, a], dtype=np.float64), (x32,), (x32,))
    assert out.dtype == np.float64
    with pytest.raises(TypeError, match="Cannot cast array data"):
        ad.grad(lambda a: np.vstack([a, a], dtype=np.float32, casting="safe").sum())(A)
    with pytest.raises(TypeError):
        np.vstack([A, A], dtype=np.float32, casting="safe")


def test_plain_values_are_numpys_own():
    i = np.arange(3)
    assert ad.hstack([i, i]).dtype == np.hstack([i, i]).dtype
    np.testing.assert_array_equal(ad.column_stack([[1, 2], [3, 4]]), [[1, 3], [2, 4]])
    assert [p.dtype for p in ad.split(np.arange(4), 2)] == [np.arange(4).dtype] * 2


# ------------------------------------------------------------------------------------------
# Splitting
# ------------------------------------------------------------------------------------------

SPLITS = {
    "split sections": (lambda a: np.split(a, 3, axis=1), (2, 3)),
    "split indices": (lambda a: np.split(a, [1, 5, 2], axis=-1), (2, 6)),
    "array_split": (lambda a: np.array_split(a, 4, axis=1), (2, 7)),
    "array_split indices": (lambda a: np.array_split(a, np.array([1]), axis=0), (3, 2)),
    "hsplit 1-D": (lambda a: np.hsplit(a, 2), (4,)),
    "hsplit": (lambda a: np.hsplit(a, [1]), (2, 3)),
    "vsplit": (lambda a: np.vsplit(a, 2), (4, 2)),
    "dsplit": (lambda a: np.dsplit(a, [1, 1]), (1, 2, 3)),
    "empty axis": (lambda a: np.split(a, 2), (0, 2)),
}


@pytest.mark.parametrize("name", list(SPLITS))
def test_splits_on_traced_values(name):
    f, shape = SPLITS[name]
    x = RNG.standard_normal(shape)
    pieces, _ = ad.vjp(f, x)
    want = f(x)
    assert isinstance(pieces, list) and len(pieces) == len(want)
    for got, w in zip(pieces, want):
        np.testing.assert_array_equal(got, w)
    for k in range(len(want)):  # each piece differentiates back to where it sat
        g = ad.grad(lambda a, k=k: (f(a)[k] ** 2).sum())(x)
        where = np.ravel(f(np.arange(x.size).reshape(shape))[k])  # the piece's flat positions
        expected = np.zeros(x.size)
        np.add.at(expected, where, 2 * x.ravel()[where])
        np.testing.assert_array_equal(np.ravel(g), expected)
        ad.check_grads(lambda a, k=k: f(a)[k] * 1.5, (x,), order=2)


def test_split_pieces_on_tensors():
    t = ad.tensor(np.arange(6.0), requires_grad=True)
    a, _, c = np.split(t, 3)
    (a.sum() + 3 * c.sum()).backward()
    np.testing.assert_array_equal(t.grad.numpy(), [1, 1, 0, 0, 3, 3])
    assert [p.shape for p in t.tensor_split(4)] == [(2,), (2,), (1,), (1,)]
    assert [p.shape for p in t.hsplit([1])] == [(1,), (5,)]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda a: np.split(a, 4, axis=1), "does not result in an equal division"),
        (lambda a: np.array_split(a, 0), "number sections must be larger than 0"),
        (lambda a: np.hsplit(a[0, 0], 1), "hsplit only works on arrays of 1 or more"),
        (lambda a: np.vsplit(a[0], 1), "vsplit only works on arrays of 2 or more"),
        (lambda a: np.dsplit(a, 1), "dsplit only works on arrays of 3 or more"),
    ],
)
def test_split_errors_match_numpys(call, match):
    with pytest.raises(ValueError, match=match):
        ad.grad(lambda a: call(a)[0].sum())(A)
    with pytest.raises(ValueError, match=match):
        call(A)


def test_split_is_declared_and_reached_from_numpy():
    for name in ("split", "array_split", "hsplit", "vsplit", "dsplit"):
        entry = registry._COMPOSITES[name]
        assert getattr(np, name) in entry.numpy and getattr(ad, name) is entry.fn
    assert registry._COMPOSITES["array_split"].torch == "tensor_split"
    assert registry._COMPOSITES["split"].torch is None  # torch's split takes sizes, not counts


# ------------------------------------------------------------------------------------------
# Several outputs: atleast_*d, broadcast_arrays, meshgrid
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["atleast_1d", "atleast_2d", "atleast_3d"])
def test_atleast_one_array_or_a_tuple_like_numpy(name):
    np_fn, ad_fn = getattr(np, name), getattr(ad, name)
    for x in (np.float64(2.0) * np.ones(()), V, A, np.ones((2, 1, 3, 1))):
        out, _ = ad.jvp(np_fn, (x,), (x,))
        np.testing.assert_array_equal(out, np_fn(x))
        assert out.shape == np_fn(x).shape
    got = ad.vjp(lambda a, b: np_fn(a, b, [1.0]), V[0], A)[0]
    want = np_fn(V[0], A, [1.0])
    assert isinstance(got, tuple) and [g.shape for g in got] == [w.shape for w in want]
    assert ad_fn(3.0).shape == np_fn(3.0).shape


def test_broadcast_arrays_and_meshgrid_return_tuples_with_numpys_values():
    outs, _ = ad.vjp(lambda a, b: np.broadcast_arrays(a, b[:, :1]), V, A)
    assert isinstance(outs, tuple)
    for got, want in zip(outs, np.broadcast_arrays(V, A[:, :1])):
        np.testing.assert_array_equal(got, want)
    for kwargs in ({}, {"indexing": "ij"}, {"sparse": True}, {"copy": False}):
        outs, _ = ad.vjp(lambda a, b, kw=kwargs: np.meshgrid(a, b, a[:2], **kw), V, A[0, :2])
        want = np.meshgrid(V, A[0, :2], V[:2], **kwargs)
        assert isinstance(outs, tuple) and len(outs) == 3
        for got, w in zip(outs, want):
            np.testing.assert_array_equal(got, w)


def test_meshgrid_and_broadcast_gradients_sum_the_copies():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0])
    gx, gy = ad.grad(lambda a, b: (lambda X, Y: (X * Y).sum())(*np.meshgrid(a, b)), (0, 1))(x, y)
    np.testing.assert_array_equal(gx, [30.0, 30.0, 30.0])
    np.testing.assert_array_equal(gy, [6.0, 6.0])
    g = ad.grad(lambda a: np.broadcast_arrays(a, np.ones((4, 1)))[0].sum())(x)
    np.testing.assert_array_equal(g, [4.0, 4.0, 4.0])
    t = ad.tensor(x, requires_grad=True)
    X, Y = np.meshgrid(t, y)
    assert isinstance(X, ad.Tensor) and X.requires_grad and not isinstance(Y, ad.Tensor)
