"""Shape, layout and indexing functions of issue 13: reached by the plain NumPy call on traced
values, equal to NumPy's values, with their conventions and errors (the registry-wide test checks
every sample's derivatives to second order)."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
from autodiff import registry

X = np.arange(1.0, 7.0).reshape(2, 3)

# name -> a call of NumPy's own function; each must reach autodiff's function on traced values
CALLS = {
    "ravel": lambda a: np.ravel(a),
    "ravel F": lambda a: np.ravel(a, order="F"),
    "roll": lambda a: np.roll(a, 1, axis=1),
    "roll flat": lambda a: np.roll(a, -2),
    "roll pairs": lambda a: np.roll(a, (1, 2), axis=(0, 1)),
    "rollaxis": lambda a: np.rollaxis(a, 1),
    "rot90": lambda a: np.rot90(a),
    "rot90 k=3": lambda a: np.rot90(a, 3, axes=(1, 0)),
    "fliplr": lambda a: np.fliplr(a),
    "flipud": lambda a: np.flipud(a),
    "diag of matrix": lambda a: np.diag(a, 1),
    "diag of vector": lambda a: np.diag(a[0], -1),
    "diagflat": lambda a: np.diagflat(a, 2),
    "atleast_1d": lambda a: np.atleast_1d(a[0, 0]),
    "atleast_2d": lambda a: np.atleast_2d(a[0]),
    "atleast_3d": lambda a: np.atleast_3d(a),
    "copy": lambda a: np.copy(a),
    "take": lambda a: np.take(a, [0, 5, 5]),
    "take axis": lambda a: np.take(a, [[2, 0]], axis=1),
    "take wrap": lambda a: np.take(a, [-7, 4], axis=1, mode="wrap"),
    "take clip": lambda a: np.take(a, [-7, 4], mode="clip"),
    "take_along_axis": lambda a: np.take_along_axis(a, np.argsort(-a, axis=1), axis=1),
    "select": lambda a: np.select([a > 2.5, a > 4.5], [a, a**2], 0.5),
    "pad edge": lambda a: np.pad(a, ((1, 2), (3, 0)), mode="edge"),
    "pad reflect": lambda a: np.pad(a, 2, mode="reflect"),
    "pad symmetric": lambda a: np.pad(a, (1, 4), mode="symmetric"),
    "pad wrap": lambda a: np.pad(a, ((0, 5), (2, 7)), mode="wrap"),
    "broadcast_arrays": lambda a: np.broadcast_arrays(a, a[0][:, None, None])[1],
    "meshgrid": lambda a: np.meshgrid(a[0], a[1])[0],
}


@pytest.mark.parametrize("name", list(CALLS))
def test_numpy_call_on_traced_values_is_differentiated(name):
    f = CALLS[name]
    want = f(X)
    out, tangent = ad.jvp(f, (X,), (np.ones_like(X),))
    np.testing.assert_array_equal(out, want)
    assert np.shape(tangent) == np.shape(want) and np.any(tangent != 0)
    out, _ = ad.vjp(f, X)
    np.testing.assert_array_equal(out, want)
    ad.check_grads(f, (X,), order=2)


@pytest.mark.parametrize("name", list(CALLS))
def test_numpy_call_on_a_tensor_keeps_the_graph(name):
    t = ad.tensor(X, requires_grad=True)
    out = CALLS[name](t)
    assert isinstance(out, ad.Tensor) and out.requires_grad
    out.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), ad.grad(lambda a: CALLS[name](a).sum())(X))


NAMES = [
    "ravel", "flatten", "roll", "rollaxis", "rot90", "fliplr", "flipud", "diag", "diagflat",
    "atleast_1d", "atleast_2d", "atleast_3d", "copy", "take", "take_along_axis", "select",
    "broadcast_arrays", "meshgrid", "pad",
]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_public_function_and_numpy_twin(name):
    fn = getattr(ad, name)
    assert callable(fn) and fn.__doc__
    entry = registry._OPS.get(name) or registry._COMPOSITES[name]
    if name != "flatten":  # NumPy has no np.flatten (the method ndarray.flatten exists)
        assert getattr(np, name) in (entry.numpy or (getattr(np, name),))


@pytest.mark.parametrize(
    ("name", "torch"),
    [("ravel", "ravel"), ("flatten", "flatten"), ("roll", "roll"), ("rot90", "rot90"),
     ("fliplr", "fliplr"), ("flipud", "flipud"), ("diag", "diag"), ("diagflat", "diagflat"),
     ("copy", "clone"), ("take", "take"), ("take_along_axis", "take_along_dim")],
)  # fmt: skip
def test_declared_with_pytorchs_name(name, torch):
    entry = registry._OPS.get(name) or registry._COMPOSITES[name]
    assert entry.torch == torch


def test_tensor_methods_take_pytorchs_parameter_names():
    t = ad.tensor(X, requires_grad=True)
    np.testing.assert_array_equal(t.roll(shifts=1, dims=1).detach().numpy(), np.roll(X, 1, 1))
    np.testing.assert_array_equal(t.diag(diagonal=1).detach().numpy(), np.diag(X, 1))
    np.testing.assert_array_equal(t.rot90(1, dims=(1, 0)).detach().numpy(), np.rot90(X, 1, (1, 0)))
    np.testing.assert_array_equal(t.take(index=np.array([5, 0])).detach().numpy(), [6.0, 1.0])


# ------------------------------------------------------------------------------------------
# Plain values go to NumPy: same values and dtypes (integers stay integers)
# ------------------------------------------------------------------------------------------


def test_plain_values_are_numpys_own():
    i = np.arange(6).reshape(2, 3)
    assert ad.diag(i).dtype == np.diag(i).dtype
    assert ad.diag(np.arange(3)).dtype == np.arange(3).dtype
    np.testing.assert_array_equal(ad.ravel([[1, 2], [3, 4]]), [1, 2, 3, 4])
    assert ad.atleast_2d(3).shape == (1, 1)
    assert ad.take(i, [1]).dtype == i.dtype
    _, Y2 = ad.meshgrid([1, 2, 3], [4, 5])
    np.testing.assert_array_equal(Y2, np.meshgrid([1, 2, 3], [4, 5])[1])


# ------------------------------------------------------------------------------------------
# ravel and flatten
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["C", "F", "A", "K"])
@pytest.mark.parametrize(
    "make",
    [lambda: X.copy(), lambda: np.asfortranarray(X), lambda: np.ones((3, 4, 2)).cumsum()
     .reshape(3, 4, 2).transpose(2, 0, 1)[:, ::-1, ::2]],
    ids=["C", "F", "strided"],
)  # fmt: skip
def test_ravel_orders_read_memory_like_numpy(order, make):
    x = make()
    out, _ = ad.jvp(lambda a: np.ravel(a, order=order), (x,), (x,))
    np.testing.assert_array_equal(out, np.ravel(x, order=order))
    u = np.arange(out.size, dtype=float)
    # the gradient puts each cotangent back where its element came from
    g = ad.grad(lambda a: (np.ravel(a, order=order) * u).sum())(x)
    np.testing.assert_array_equal(np.ravel(g, order=order), u)


def test_ravel_method_and_flatten():
    f = lambda a: a.ravel("F") * np.arange(6.0)  # noqa: E731
    np.testing.assert_array_equal(ad.grad(lambda a: f(a).sum())(X), [[0, 2, 4], [1, 3, 5]])
    assert ad.flatten(np.ones((2, 3, 4)), 1).shape == (2, 12)
    assert ad.flatten(np.ones((2, 3, 4)), 0, -2).shape == (6, 4)
    assert ad.flatten(np.float64(2.0)).shape == (1,)
    with pytest.raises(ValueError, match="start_dim cannot come after end_dim"):
        ad.flatten(np.ones((2, 3)), 1, 0)
    with pytest.raises(ValueError, match="order must be one of"):
        ad.grad(lambda a: ad.ravel(a, "Z").sum())(X)


# ------------------------------------------------------------------------------------------
# copy stays traced
# ------------------------------------------------------------------------------------------


def test_copy_stays_traced_with_identity_derivative():
    np.testing.assert_array_equal(ad.grad(lambda a: (np.copy(a) * a).sum())(X), 2 * X)
    t = ad.tensor(X, requires_grad=True)
    c = np.copy(t)
    assert isinstance(c, ad.Tensor) and c.requires_grad and c is not t
    assert not np.shares_memory(c.detach().numpy(), t.detach().numpy())


# ------------------------------------------------------------------------------------------
# roll, rot90, diag: known gradients, batching
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shift", "axis"), [(1, None), (-4, None), (2, 1), ((1, -1), (0, 1)), ((1, 1), (1, 1))]
)
def test_roll_jacobian_is_a_permutation(shift, axis):
    f = lambda a: np.roll(a, shift, axis=axis)  # noqa: E731
    want = np.stack([np.roll(e.reshape(X.shape), shift, axis=axis) for e in np.eye(X.size)], -1)
    want = want.reshape(X.shape + X.shape)
    np.testing.assert_array_equal(ad.jacfwd(f)(X), want)
    np.testing.assert_array_equal(ad.jacrev(f)(X), want)


def test_rot90_matches_numpy_for_every_k_and_axes():
    x = np.arange(24.0).reshape(2, 3, 4)
    for k in range(-5, 6):
        for axes in [(0, 1), (1, 0), (2, 0), (-1, 1)]:
            got, _ = ad.jvp(lambda a, k=k, axes=axes: np.rot90(a, k, axes), (x,), (x,))
            np.testing.assert_array_equal(got, np.rot90(x, k, axes))


def test_diag_both_directions_gradients():
    v = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(ad.jacrev(lambda a: np.diag(a, 1))(v).sum(axis=(0, 1)), [1, 1, 1])
    np.testing.assert_array_equal(
        ad.grad(lambda m: np.diag(m, -1).sum())(np.ones((3, 3))), np.eye(3, k=-1)
    )
    np.testing.assert_array_equal(
        ad.grad(lambda m: (np.diagflat(m) ** 2).sum())(np.array([[1.0, 2.0]])), [[2.0, 4.0]]
    )


# ------------------------------------------------------------------------------------------
# pad with copy modes: known gradients (repeated copies add up)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "width", "counts"),
    [
        ("edge", 2, [3, 1, 3]),  # a a | a b c | c c
        ("wrap", (1, 4), [3, 2, 3]),  # c | a b c | a b c a
        ("reflect", 2, [2, 3, 2]),  # c b | a b c | b a
        ("symmetric", 2, [2, 3, 2]),  # b a | a b c | c b
        ("reflect", 5, [3, 7, 3]),  # wider than the array: the reflection repeats
        ("symmetric", (0, 7), [3, 3, 4]),
    ],
)
def test_pad_copy_modes_gradient_counts_the_copies(mode, width, counts):
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(np.bincount(np.pad(np.arange(3), width, mode=mode)), counts)
    np.testing.assert_array_equal(ad.grad(lambda a: np.pad(a, width, mode=mode).sum())(x), counts)


def test_pad_copy_modes_batched_and_second_order():
    x = np.random.default_rng(0).standard_normal((3, 4))
    for mode in ("edge", "reflect", "symmetric", "wrap"):
        f = lambda a, mode=mode: np.pad(a, ((2, 1), (0, 3)), mode=mode) ** 2  # noqa: E731
        jf, jr = ad.jacfwd(f)(x), ad.jacrev(f)(x)
        np.testing.assert_allclose(jf, jr, atol=1e-12)
        ad.check_grads(lambda a, f=f: f(a).sum(), (x,), order=2)
        ad.check_grads(lambda a, f=f: ad.grad(lambda b: f(b).sum())(a) ** 2, (x,), order=1)


@pytest.mark.parametrize("mode", ["mean", "median", "linear_ramp", "empty"])
def test_pad_unsupported_modes_name_the_supported_ones(mode):
    with pytest.raises(NotImplementedError, match="'edge', 'reflect', 'symmetric' and 'wrap'"):
        ad.grad(lambda a: np.pad(a, 1, mode=mode).sum())(np.ones(3))


def test_pad_odd_reflection_and_misplaced_constant_values_raise():
    with pytest.raises(NotImplementedError, match="reflect_type='odd'"):
        ad.grad(lambda a: np.pad(a, 1, mode="reflect", reflect_type="odd").sum())(np.ones(3))
    with pytest.raises(ValueError, match="constant_values applies to mode='constant'"):
        ad.pad(np.ones(3), 1, mode="edge", constant_values=2.0)
    with pytest.raises(ValueError, match="can't extend empty axis"):
        ad.grad(lambda a: np.pad(a, 1, mode="wrap").sum())(np.ones((0, 2)))


# ------------------------------------------------------------------------------------------
# take, take_along_axis, select
# ------------------------------------------------------------------------------------------


def test_take_reads_indices_as_numpy_does():
    x = np.arange(5.0) * 10
    out, _ = ad.jvp(lambda a: np.take(a, [1.7, -1.2, True]), (x,), (x,))
    np.testing.assert_array_equal(out, np.take(x, [1.7, -1.2, True]))
    with pytest.raises(TypeError, match="out= is not supported"):
        ad.grad(lambda a: np.take(a, [0], out=np.empty(1)).sum())(x)


def test_take_repeated_indices_accumulate():
    g = ad.grad(lambda a: np.take(a, [[0, 1], [1, 1]], axis=0).sum())(np.ones((2, 2)))
    np.testing.assert_array_equal(g, [[1.0, 1.0], [3.0, 3.0]])
    np.testing.assert_array_equal(ad.grad(lambda a: a.take([2, 2]).sum())(np.ones(3)), [0, 0, 2])


def test_take_along_axis_with_argsort_sorts_and_routes_gradients():
    x = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    w = np.array([1.0, 10.0, 100.0])
    f = lambda a: (np.take_along_axis(a, np.argsort(a, axis=1), axis=1) * w).sum()  # noqa: E731
    np.testing.assert_array_equal(ad.grad(f)(x), [[100.0, 1.0, 10.0], [1.0, 100.0, 10.0]])
    out, _ = ad.vjp(lambda a: np.take_along_axis(a, np.array([4, 0]), axis=None), x)
    np.testing.assert_array_equal(out, [5.0, 3.0])


def test_select_first_true_condition_wins_and_default_gets_the_rest():
    x = np.array([-2.0, 0.5, 3.0])
    d = np.array([7.0, 7.0, 7.0])
    gx, gd = ad.grad(lambda a, b: np.select([a > 0, a > 1], [a**2, 10 * a], b).sum(), (0, 1))(x, d)
    np.testing.assert_array_equal(gx, [0.0, 1.0, 6.0])
    np.testing.assert_array_equal(gd, [1.0, 0.0, 0.0])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda a: np.fliplr(a[0]), ValueError, "Input must be >= 2-d"),
        (lambda a: np.flipud(a[0, 0]), ValueError, "Input must be >= 1-d"),
        (lambda a: np.diag(a[None]), ValueError, "Input must be 1- or 2-d"),
        (lambda a: np.rot90(a, axes=(0, 0)), ValueError, "Axes must be different"),
        (lambda a: np.rot90(a, axes=(0, 5)), ValueError, "out of range"),
        (lambda a: np.rollaxis(a, 0, 4), np.exceptions.AxisError, "'start' arg requires"),
        (lambda a: np.take(a, [6]), IndexError, "out of bounds"),
        (lambda a: np.take(a, [0], mode="bounce"), ValueError, "clipmode"),
        (lambda a: np.take_along_axis(a, np.zeros((2, 1)), 1), IndexError, "integer array"),
        (lambda a: np.take_along_axis(a, np.zeros(2, int), 1), ValueError, "same number"),
        (lambda a: np.select([a], [a]), TypeError, "should be boolean"),
        (lambda a: np.select([a > 0], []), ValueError, "same length"),
        (lambda a: np.select([], []), ValueError, "empty condition list"),
        (lambda a: np.meshgrid(a[0], indexing="yx"), ValueError, "'xy' and 'ij'"),
    ],
)
def test_errors_match_numpys(call, error, match):
    with pytest.raises(error, match=match):
        ad.grad(lambda a: call(a).sum())(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error):
            call(X)


# ------------------------------------------------------------------------------------------
# Random shapes (hypothesis): pad in every mode, roll; values, both modes
# ------------------------------------------------------------------------------------------


@st.composite
def pad_cases(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    mode = draw(st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]))
    widths = tuple(draw(st.tuples(st.integers(0, 6), st.integers(0, 6))) for _ in shape)
    x = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).standard_normal(shape)
    return x, widths, mode


@settings(max_examples=40, deadline=None)
@given(pad_cases())
def test_pad_random_shapes(case):
    x, widths, mode = case
    f = lambda a: np.pad(a, widths, mode=mode)  # noqa: E731
    np.testing.assert_array_equal(ad.jvp(f, (x,), (x,))[0], np.pad(x, widths, mode=mode))
    ad.check_grads(f, (x,), order=1)


@settings(max_examples=30, deadline=None)
@given(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4),
               elements=st.floats(-3, 3)),
    st.integers(-7, 7),
    st.booleans(),
)  # fmt: skip
def test_roll_random_shapes(x, shift, flat):
    axis = None if flat else x.ndim - 1
    f = lambda a: np.roll(a, shift, axis=axis)  # noqa: E731
    np.testing.assert_array_equal(ad.jvp(f, (x,), (x,))[0], np.roll(x, shift, axis=axis))
    ad.check_grads(f, (x,), order=1)
