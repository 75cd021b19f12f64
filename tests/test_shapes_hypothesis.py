"""Hypothesis over shapes, axes, indices and broadcasting.

* reductions over random shapes, ``axis`` (int, negative, tuple, ``()``, None) and ``keepdims``:
  values match NumPy, the gradient has x's shape, JVP vs central difference and VJP vs JVP;
* indexing with ints, stepped slices, ``None``, ``...``, integer arrays with repeats and boolean
  masks: values match NumPy, the JVP is ``v[index]``, the gradient of ``Σ f(x)·w`` is ``w`` added
  back at the indexed positions, and ``⟨u, J v⟩ = ⟨Jᵀ u, v⟩``;
* binary elementwise ops on mutually broadcastable shapes: gradients have the inputs' shapes and
  match finite differences element by element.

Every case also checks that batched sweeps (a leading axis of directions) equal the single ones.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
from autodiff.forward import jvp_batched

# 60 examples per test keeps the file at a few seconds; raise it to hunt for bugs.
SETTINGS = settings(
    max_examples=int(os.environ.get("AUTODIFF_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
seeds = st.integers(0, 2**32 - 1)


def _distinct(rng, shape):
    """Values with pairwise gaps ≥ 0.1 (no ties for max/min), of moderate size."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.2 + rng.uniform(0, 0.05, n) - n * 0.1).reshape(shape)


def _check_batched(f, args, rng, k=2):
    """Batched JVP and VJP sweeps (a leading axis of k directions) equal the stacked single ones."""
    args = args if isinstance(args, tuple) else (args,)
    vs = tuple(rng.standard_normal((k, *np.shape(a))) for a in args)
    out, t = jvp_batched(f, args, vs, batch=1)
    single = [ad.jvp(f, args, tuple(v[i] for v in vs))[1] for i in range(k)]
    np.testing.assert_allclose(t, np.stack(single), atol=1e-12)
    _, pullback = ad.vjp(f, *args)
    us = rng.standard_normal((k, *np.shape(out)))
    batched = pullback.batched(us)
    for j, b in enumerate(batched):
        np.testing.assert_allclose(b, np.stack([pullback(u)[j] for u in us]), atol=1e-12)


# ------------------------------------------------------------------------------------------
# Reductions
# ------------------------------------------------------------------------------------------


@st.composite
def axes_for(draw, ndim, allow_tuple=True):
    """None, an int (either sign) or a tuple of distinct axes (mixed signs, maybe empty)."""
    choices = ["none"] + (["int"] if ndim else []) + (["tuple"] if allow_tuple else [])
    kind = draw(st.sampled_from(choices))
    if kind == "none":
        return None
    sign = lambda a: draw(st.sampled_from([a, a - ndim]))  # noqa: E731
    if kind == "int":
        return sign(draw(st.integers(0, ndim - 1)))
    picked = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim)) if ndim else []
    return tuple(sign(a) for a in picked)


def _reduced_count(shape, axis):
    if axis is None:
        return int(np.prod(shape))
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[a] for a in axes]))


def _np_logsumexp(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


REDUCTIONS = ["sum", "mean", "prod", "max", "min", "var", "std", "logsumexp"]


@st.composite
def reduction_cases(draw):
    name = draw(st.sampled_from(REDUCTIONS))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4))
    axis = draw(axes_for(len(shape)))
    params = {"axis": axis, "keepdims": draw(st.booleans())}
    n = _reduced_count(shape, axis)
    assume(name != "std" or n >= 2)  # std of one element is 0: not differentiable there
    if name in ("var", "std"):
        params["ddof"] = draw(st.sampled_from([0, 1] if n >= 2 else [0]))
    rng = np.random.default_rng(draw(seeds))
    if name == "prod":  # magnitudes in [0.5, 1.5]: no zeros, no overflow
        x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    else:
        x = _distinct(rng, shape)
    return name, x, params


@SETTINGS
@given(reduction_cases())
def test_reductions_over_random_shapes_and_axes(case):
    name, x, params = case
    f = lambda y: getattr(ad, name)(y, **params)  # noqa: E731
    ref = (
        _np_logsumexp(x, params["axis"], params["keepdims"])
        if name == "logsumexp"
        else getattr(np, name)(x, **params)
    )
    out = f(x)
    assert np.shape(out) == np.shape(ref)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    assert ad.grad(lambda y: ad.sum(f(y)))(x).shape == x.shape
    ad.check_grads(f, (x,), order=1)
    _check_batched(f, x, np.random.default_rng(0))


@SETTINGS
@given(
    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4).flatmap(
        lambda s: st.tuples(st.just(s), axes_for(len(s), allow_tuple=False))
    ),
    seeds,
)
def test_cumsum_over_random_shapes_and_axes(shape_axis, seed):
    shape, axis = shape_axis
    x = np.random.default_rng(seed).standard_normal(shape)
    f = lambda y: ad.cumsum(y, axis=axis)  # noqa: E731
    np.testing.assert_allclose(f(x), np.cumsum(x, axis=axis), rtol=1e-12, atol=1e-12)
    assert ad.grad(lambda y: ad.sum(f(y)))(x).shape == x.shape
    ad.check_grads(f, (x,), order=1)
    _check_batched(f, x, np.random.default_rng(seed))


@SETTINGS
@given(
    st.sampled_from(["sum", "prod", "cumsum"]),
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3).filter(lambda s: 0 in s),
    st.data(),
)
def test_reductions_on_zero_size_inputs(name, shape, data):
    axis = data.draw(axes_for(len(shape), allow_tuple=name != "cumsum"))
    params = {"axis": axis} if name == "cumsum" else {"axis": axis, "keepdims": True}
    x = np.zeros(shape)
    f = lambda y: getattr(ad, name)(y, **params)  # noqa: E731
    np.testing.assert_array_equal(f(x), getattr(np, name)(x, **params))
    ad.check_grads(f, (x,), order=1)
    assert ad.vjp(f, x)[1](np.ones(np.shape(f(x))))[0].shape == x.shape


# ------------------------------------------------------------------------------------------
# Indexing
# ------------------------------------------------------------------------------------------


def _int_at(n):
    return st.integers(-n, n - 1)


def _slices(n):
    bound = st.none() | st.integers(-n - 2, n + 2)
    step = st.none() | st.integers(-3, 3).filter(bool)
    return st.builds(slice, bound, bound, step)


@st.composite
def mixed_index(draw, shape):
    """A tuple of ints, stepped slices, int arrays (broadcast together, repeats likely), None and
    at most one ``...``, over a prefix and a suffix of the axes."""
    ndim = len(shape)
    n_front = draw(st.integers(0, ndim))
    ellipsis = draw(st.booleans()) if n_front < ndim else False
    n_back = draw(st.integers(0, ndim - n_front)) if ellipsis else 0
    axes = list(range(n_front)) + list(range(ndim - n_back, ndim))
    arr_shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=4))
    parts = []
    for pos, axis in enumerate(axes):
        if ellipsis and pos == n_front:
            parts.append(Ellipsis)
        n = shape[axis]
        kinds = ["slice"] + (["int", "array", "array"] if n else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "int":
            parts.append(draw(_int_at(n)))
        elif kind == "slice":
            parts.append(draw(_slices(n)))
        else:
            # a length-1 axis sometimes, so the arrays broadcast against each other
            s = draw(st.sampled_from([arr_shape, (1,) * len(arr_shape)]))
            parts.append(draw(hnp.arrays(np.intp, s, elements=_int_at(n))))
        if draw(st.integers(0, 4)) == 0:
            parts.append(None)
    if ellipsis and n_front == len(axes):
        parts.append(Ellipsis)
    if not parts or draw(st.integers(0, 4)) == 0:
        parts.insert(draw(st.integers(0, len(parts))), None)
    return tuple(parts)


@st.composite
def mask_index(draw, shape):
    """A boolean mask over some consecutive axes (maybe 0-d), after leading slices."""
    ndim = len(shape)
    start = draw(st.integers(0, ndim))
    stop = draw(st.integers(start, ndim))
    mask = draw(hnp.arrays(np.bool_, shape[start:stop]))
    lead = tuple(draw(_slices(shape[a])) for a in range(start))
    tails = [(), (Ellipsis,), (slice(None, None, -1),)]
    if stop < ndim and shape[stop]:  # an integer array (with repeats) next to the mask
        # the mask acts as its nonzero() arrays, which must broadcast with the integer array
        size = draw(st.sampled_from([1, int(np.count_nonzero(mask))]))
        tails.append((draw(hnp.arrays(np.intp, size, elements=_int_at(shape[stop]))),))
    tail = draw(st.sampled_from(tails)) if stop < ndim else ()
    return (*lead, mask, *tail)


@st.composite
def index_cases(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
    kind = draw(st.sampled_from(["basic", "mixed", "mixed", "mask"]))
    if kind == "basic":
        index = draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    elif kind == "mixed":
        index = draw(mixed_index(shape))
    else:
        index = draw(mask_index(shape))
    return shape, index, draw(seeds)


def _empty_ellipsis_separates(shape, index):
    """An ``...`` standing for no axes still separates advanced indices in NumPy (their result
    axes go first); spelling it out as zero slices would make them adjacent (axes stay in place)."""
    if not isinstance(index, tuple) or not any(k is Ellipsis for k in index):
        return False
    used = sum(np.ndim(k) if isinstance(k, np.ndarray) and k.dtype == bool else 1
               for k in index if k is not None and k is not Ellipsis)  # fmt: skip
    at = next(i for i, k in enumerate(index) if k is Ellipsis)
    spelled = index[:at] + (slice(None),) * (len(shape) - used) + index[at + 1 :]
    return np.empty(shape)[index].shape != np.empty(shape)[spelled].shape


def _index_transpose(shape, index, w):
    """Jᵀw for x ↦ x[index], from NumPy alone: w added back where each element was taken."""
    positions = np.arange(int(np.prod(shape))).reshape(shape)[index]
    flat = np.bincount(np.ravel(positions), weights=np.ravel(w), minlength=int(np.prod(shape)))
    return flat.reshape(shape)


@SETTINGS
@given(index_cases())
def test_indexing_reverse_matches_forward_and_numpy(case):
    shape, index, seed = case
    rng = np.random.default_rng(seed)
    x, v = rng.standard_normal(shape), rng.standard_normal(shape)
    want = x[index]
    w = rng.standard_normal(np.shape(want))
    f = lambda y: y[index]  # noqa: E731

    out, t = ad.jvp(f, (x,), (v,))
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(t, v[index])  # indexing is linear: J v = v[index]

    g = ad.grad(lambda y: ad.sum(f(y) * w))(x)
    assert g.shape == x.shape
    np.testing.assert_allclose(g, _index_transpose(shape, index, w), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.vdot(w, t), np.vdot(g, v), rtol=1e-10, atol=1e-10)
    _check_batched(f, x, rng)


# Python / NumPy bool *scalars* in an index that also has an ellipsis: NumPy treats the scalar
# like ``None`` (a new axis of length 1, or 0 for False); it consumes no axis of the array.
BOOL_SCALAR_CASES = [
    pytest.param((True, Ellipsis, 0), id="True-ellipsis-int"),
    pytest.param((Ellipsis, np.True_, 1), id="ellipsis-np.True_-int"),
    pytest.param((False, Ellipsis, slice(None, 2)), id="False-ellipsis-slice"),
]


@pytest.mark.parametrize("index", BOOL_SCALAR_CASES)
def test_indexing_with_bool_scalar_and_ellipsis(index):
    x = np.arange(6.0).reshape(2, 3)
    v = np.ones_like(x)
    out, t = ad.jvp(lambda y: y[index], (x,), (v,))
    np.testing.assert_array_equal(out, x[index])
    np.testing.assert_array_equal(t, v[index])
    g = ad.vjp(lambda y: y[index], x)[1](np.ones(x[index].shape))[0]
    np.testing.assert_array_equal(g, _index_transpose(x.shape, index, np.ones(x[index].shape)))


# An ``...`` that stands for no axes, between advanced indices (int arrays, or ints next to
# arrays): NumPy still counts it as a separator, so the advanced result axes go first
# (``x[:, [0], ..., 0]`` on a (2, 3, 4) x has shape (1, 2)).
EMPTY_ELLIPSIS_CASES = [
    pytest.param((2, 3, 4), (slice(None), np.array([0]), Ellipsis, 0), id="slice-arr-...-int"),
    pytest.param((3, 2, 2), (None, np.array([0, 2]), Ellipsis, np.array([1, 0]), 1),
                 id="None-arr-...-arr-int"),
]  # fmt: skip


@pytest.mark.parametrize(("shape", "index"), EMPTY_ELLIPSIS_CASES)
def test_indexing_with_empty_ellipsis_between_advanced_indices(shape, index):
    assert _empty_ellipsis_separates(shape, index)
    x = np.arange(float(np.prod(shape))).reshape(shape)
    _, t = ad.jvp(lambda y: y[index], (x,), (x,))
    np.testing.assert_array_equal(t, x[index])
    g = ad.vjp(lambda y: y[index], x)[1](np.ones(x[index].shape))[0]
    np.testing.assert_array_equal(g, _index_transpose(shape, index, np.ones(x[index].shape)))


@pytest.mark.parametrize(
    "index",
    [(slice(None), np.array([1, 1]), Ellipsis), (np.array([1, 0]), Ellipsis, 2),
     (slice(None), Ellipsis, np.array([0, 0]), 1), (0, slice(1, None), Ellipsis, np.array([2]))],
)  # fmt: skip
def test_indexing_with_ellipsis_that_does_not_separate(index):
    # the same kind of index where dropping the ellipsis changes nothing: these work
    x = np.arange(24.0).reshape(2, 3, 4)
    assert not _empty_ellipsis_separates(x.shape, index)
    _, t = ad.jvp(lambda y: y[index], (x,), (x,))
    np.testing.assert_array_equal(t, x[index])
    g = ad.grad(lambda y: ad.sum(y[index]))(x)
    np.testing.assert_array_equal(g, _index_transpose(x.shape, index, np.ones(x[index].shape)))


def test_indexing_with_bool_scalar_without_ellipsis_works():
    x = np.arange(6.0).reshape(2, 3)
    g = ad.grad(lambda y: ad.sum(y[True, 0]))(x)
    np.testing.assert_array_equal(g, [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])


# ------------------------------------------------------------------------------------------
# Broadcasting binary elementwise ops
# ------------------------------------------------------------------------------------------


def _away_from_zero(rng, shape):
    return rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def _interleaved(rng, shape, odd):
    """Multiples of 0.2 (odd: shifted by 0.1) plus a little noise: x and y never tie."""
    return rng.integers(-10, 10, shape) * 0.2 + 0.1 * odd + rng.uniform(0, 0.02, shape)


BINARY = {
    "add": (lambda r, s: r.standard_normal(s), lambda r, s: r.standard_normal(s)),
    "multiply": (lambda r, s: r.standard_normal(s), lambda r, s: r.standard_normal(s)),
    "divide": (lambda r, s: r.standard_normal(s), _away_from_zero),
    "maximum": (lambda r, s: _interleaved(r, s, 0), lambda r, s: _interleaved(r, s, 1)),
    "arctan2": (_away_from_zero, _away_from_zero),
}


def _numeric_grad(f, args, i, eps=1e-6):
    """∂ f / ∂ args[i], one central difference per element."""
    x = args[i]
    out = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[k] = eps
        hi = [*args[:i], x + step, *args[i + 1 :]]
        lo = [*args[:i], x - step, *args[i + 1 :]]
        out[k] = (f(*hi) - f(*lo)) / (2 * eps)
    return out


@SETTINGS
@given(
    st.sampled_from(sorted(BINARY)),
    hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0, max_side=3),
    seeds,
)
def test_binary_broadcasting_gradients(name, shapes, seed):
    (sx, sy), out_shape = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    dx, dy = BINARY[name]
    x, y = dx(rng, sx), dy(rng, sy)
    w = rng.standard_normal(out_shape)
    op = getattr(ad, name)
    out = op(x, y)
    assert np.shape(out) == out_shape
    np.testing.assert_allclose(out, getattr(np, name)(x, y), rtol=1e-12, atol=1e-12)

    loss = lambda a, b: ad.sum(op(a, b) * w)  # noqa: E731
    gx, gy = ad.grad(loss, argnums=(0, 1))(x, y)
    assert gx.shape == sx and gy.shape == sy
    np_loss = lambda a, b: float(np.sum(getattr(np, name)(a, b) * w))  # noqa: E731
    np.testing.assert_allclose(gx, _numeric_grad(np_loss, [x, y], 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gy, _numeric_grad(np_loss, [x, y], 1), rtol=1e-5, atol=1e-6)
    ad.check_grads(op, (x, y), order=1)
    _check_batched(op, (x, y), rng)
