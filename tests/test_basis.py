"""DiagonalBasis: a Jacobian seed that skips GEMMs must give exactly the dense answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiff as ad
from autodiff.basis import DiagonalBasis


def _certified_values(d: DiagonalBasis) -> np.ndarray:
    """What the certificate claims: rows start:stop of diag(scale), rebuilt from scratch."""
    k, n = d.shape[0], d.scale.size
    flat = np.zeros((k, n), dtype=d.scale.dtype)
    flat[np.arange(k), np.arange(d.start, d.start + k)] = d.scale.reshape(-1)[d.start : d.start + k]
    return flat.reshape(d.shape)


def _same(a, b) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
    np.testing.assert_array_equal(a, b)  # NaN equals NaN; -0.0 equals 0.0


SPECIALS = st.sampled_from([0.0, -0.0, np.inf, -np.inf, np.nan, 1e308, -2.5])


@st.composite
def programs(draw):
    shape = draw(st.sampled_from([(4,), (2, 3), (3, 1), (1,)]))
    n = int(np.prod(shape))
    start = draw(st.integers(0, n - 1))
    stop = draw(st.integers(start + 1, n))
    ops = ["mul", "rmul", "scalar", "neg", "add", "matmul", "sin", "sub"]
    steps = draw(st.lists(st.sampled_from(ops), max_size=6))
    specials = draw(st.lists(st.tuples(st.integers(0, 10**6), SPECIALS), max_size=2))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    return shape, start, stop, steps, specials, dtype


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf - inf, 0 · inf: on purpose
@settings(max_examples=300, deadline=None)
@given(programs(), st.integers(0, 2**32 - 1))
def test_every_result_equals_the_dense_computation(program, seed):
    shape, start, stop, steps, specials, dtype = program
    rng = np.random.default_rng(seed)
    d = DiagonalBasis.identity(shape, start, stop, dtype)
    dense = np.asarray(d).copy()
    _same(d, dense)

    def operand(sh):
        v = rng.normal(size=sh)
        for pos, value in specials:  # non-finite factors must take the dense path
            v.reshape(-1)[pos % v.size] = value
        return v

    for step in steps:
        if step == "mul":
            v = operand(shape if rng.random() < 0.7 else (1,) * len(shape))
            d, dense = d * v, dense * v
        elif step == "rmul":
            v = operand(shape)
            d, dense = v * d, v * dense
        elif step == "scalar":
            c = float(rng.normal())
            d, dense = d * c, dense * c
        elif step == "neg":
            d, dense = -d, -dense
        elif step == "add":
            d, dense = d + d, dense + dense
        elif step == "sub":
            d, dense = d - 0.5, dense - 0.5
        elif step == "sin":
            d, dense = np.sin(d), np.sin(dense)
        elif step == "matmul" and len(shape) == 1:
            M = operand((shape[0], 3))
            _same(d @ M, dense @ M)  # the rows of M, scaled: the shape changes, so stop here
            break
        _same(d, dense)
        if isinstance(d, DiagonalBasis) and d.scale is not None:
            _same(d, _certified_values(d))


def test_products_keep_the_certificate_and_skip_the_gemm():
    d = DiagonalBasis.identity((3,), 0, 3, np.float64) * np.array([1.0, 2.0, 3.0])
    assert isinstance(d, DiagonalBasis) and np.array_equal(d.scale, [1.0, 2.0, 3.0])
    W = np.arange(12.0).reshape(3, 4)
    rows = d @ W
    assert type(rows) is np.ndarray
    np.testing.assert_array_equal(rows, np.diag([1.0, 2.0, 3.0]) @ W)
    chunk = DiagonalBasis.identity((5,), 2, 4, np.float64)  # rows 2:4 of I₅
    np.testing.assert_array_equal(chunk @ np.arange(10.0).reshape(5, 2), [[4, 5], [6, 7]])


def test_a_float32_basis_stays_float32_with_python_floats():
    d = DiagonalBasis.identity((2,), 0, 2, np.float32) * 0.1
    assert d.dtype == np.float32 and d.scale.dtype == np.float32


def test_it_cannot_be_written_and_views_carry_no_certificate():
    d = DiagonalBasis.identity((3,), 0, 3, np.float64)
    with pytest.raises(ValueError, match="read-only"):
        d[0, 0] = 2.0
    with pytest.raises(ValueError, match="read-only"):
        np.add(d, 1.0, out=d)
    for view in (d[:2], d.T, d.reshape(9), d.copy()):
        assert getattr(view, "scale", None) is None
    assert type(np.sum(d, axis=0)) is np.ndarray and type(d + 1.0) is np.ndarray


def _looped_equals_vectorized(f, x, **kw):
    for build in (ad.jacfwd, ad.jacrev):
        vec, loop = build(f, **kw)(x), build(f, vectorize=False)(x)
        assert type(vec) is np.ndarray and vec.flags.writeable
        np.testing.assert_array_equal(vec, loop)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_jacobians_with_non_finite_matrices_match_the_looped_sweeps():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(4, 4))
    W[1, 2] = np.inf
    x = rng.normal(size=4)
    _looped_equals_vectorized(lambda x: np.tanh(W @ x) + x**2, x)
    _looped_equals_vectorized(lambda x: W @ x, x, chunk_size=3)


@pytest.mark.parametrize(
    "f", [lambda x: x, lambda x: 2.0 * x, lambda x: -x, lambda x: x @ np.ones((3, 2))]
)
def test_jacobians_of_the_seed_itself_are_plain_arrays(f):
    _looped_equals_vectorized(f, np.array([1.0, -2.0, 3.0]))
