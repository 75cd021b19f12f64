"""Duck-array primals on dask: every registry op × {jvp, vjp} stays lazy (no compute while
differentiating) and matches NumPy; the transforms keep the graph lazy; conv/pool refuse clearly."""

import pickle

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
cloudpickle = pytest.importorskip("cloudpickle")
from dask.callbacks import Callback  # noqa: E402
from op_matrix import assert_close, cases, derivative, leaves, split_for, to_dask  # noqa: E402

import autodiff as ad  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # dask: "not implemented"

# Ops that cannot stay lazy on dask, each with its reason (strict: a fix turns it into a failure
# that asks to remove the entry).
NO_DASK = "dask.array has no {}: NumPy's function would compute the array into memory"
XFAIL = {
    "convolve": NO_DASK.format("convolve"),
    "interp": NO_DASK.format("interp"),
    "sort": NO_DASK.format("sort (nor argsort)"),
    "partition": NO_DASK.format("partition (nor argpartition)"),
    "real_if_close": NO_DASK.format("real_if_close (its answer depends on the values)"),
    "digamma": "scipy.special.polygamma has no dask implementation",
    "polygamma": "scipy.special.polygamma has no dask implementation",
    "det": NO_DASK.format("linalg.det"),
    "slogdet": NO_DASK.format("linalg.slogdet"),
    "eigh": NO_DASK.format("linalg.eigh"),
    "eigvalsh": NO_DASK.format("linalg.eigvalsh"),
    "pinv": NO_DASK.format("linalg.pinv"),
    "svd": "dask's svd has no full_matrices=True",
    "svdvals": "dask's svd has no compute_uv=False",
    "qr": "qr's rules check R's diagonal for rank deficiency (a clear error, not inf): that "
    "needs R's values, one compute",
    "lstsq": "dask's lstsq takes no rcond= argument",
    "nan_to_num": "dask's nan_to_num takes no nan=/posinf=/neginf= arguments",
    "reshape": "dask reshapes only by merging or splitting whole chunks; the 2-chunk sample "
    "(2, 3) -> (3, 2) is neither",
}
# conv and pool work on strided windows of one in-memory array: a clear error naming the op
NUMPY_ONLY = {
    "conv2d",
    "conv2d_input_grad",
    "conv2d_weight_grad",
    "max_pool2d",
    "avg_pool2d",
    "adaptive_avg_pool2d",
}


class ComputeCounter(Callback):
    """Counts the dask computes that start while it is active."""

    def __init__(self):
        super().__init__()
        self.n = 0

    def _start(self, dsk):
        self.n += 1


def _params():
    out = []
    for op, mode in cases():
        marks = ()
        if op.name in XFAIL:
            marks = pytest.mark.xfail(reason=XFAIL[op.name], strict=True)
        out.append(pytest.param(op, mode, marks=marks, id=f"{op.name}-{mode}"))
    return out


@pytest.mark.parametrize(("op", "mode"), _params())
def test_op_stays_lazy_on_dask(op, mode):
    duck, plain = derivative(op, mode, lambda x: to_dask(x, split_for(op)))
    if op.name in NUMPY_ONLY:
        with pytest.raises(TypeError, match=f"{op.name} works on NumPy arrays only"):
            duck()
        return
    with ComputeCounter() as counter:
        got = leaves(duck())
    assert counter.n == 0, f"{op.name} {mode}: {counter.n} computes while differentiating"
    lazy = [isinstance(v, da.Array) for v in got]
    assert all(lazy), f"{op.name} {mode}: results of types {[type(v) for v in got]}"
    assert_close(list(dask.compute(*got)), leaves(plain()), f"{op.name} {mode}")


def test_the_matrix_covers_the_registry():
    names = {op.name for op, _ in cases()}
    assert len(names) > 120
    assert set(XFAIL) <= names
    assert names >= NUMPY_ONLY


def _x(n=8, chunks=4):
    return da.from_array(np.linspace(-1.0, 1.0, n), chunks=chunks)


def _lazy(fn):
    with ComputeCounter() as counter:
        out = fn()
    assert counter.n == 0
    return out


def test_transforms_stay_lazy():
    x = _x()
    xv = np.linspace(-1.0, 1.0, 8)

    def f(x):
        return np.sum(np.tanh(x) ** 2)

    v = np.ones(8)
    cases_ = {
        "grad": lambda a: ad.grad(f)(a),
        "value_and_grad": lambda a: ad.value_and_grad(f)(a),
        "jvp": lambda a: ad.jvp(f, (a,), (a * 0 + 1,)),
        "vjp": lambda a: ad.vjp(lambda x: np.sin(x) * x, a)[1](a),
        "hvp": lambda a: ad.hvp(f, (a,), (a * 0 + 1,)),
        "jacfwd": lambda a: ad.jacfwd(lambda x: np.sin(x) * x)(a),
        "jacrev": lambda a: ad.jacrev(lambda x: np.sin(x) * x)(a),
        "jacobian": lambda a: ad.jacobian(lambda x: np.cos(x))(a),
        "hessian": lambda a: ad.hessian(f)(a),
    }
    for name, fn in cases_.items():
        got = leaves(_lazy(lambda fn=fn: fn(x)))
        assert all(isinstance(g, da.Array) for g in got), name
        want = leaves(fn(xv) if name != "jvp" else ad.jvp(f, (xv,), (v,)))
        assert_close(list(dask.compute(*got)), want, name)


def test_check_float_keeps_a_dask_array():
    x = _x()
    out, t = _lazy(lambda: ad.jvp(np.exp, (x,), (x,)))
    assert isinstance(out, da.Array) and isinstance(t, da.Array)


def test_integer_dask_input_is_refused_without_computing():
    x = da.arange(4, chunks=2)
    with ComputeCounter() as counter, pytest.raises(TypeError, match="floating point"):
        ad.grad(lambda x: np.sum(x))(x)
    assert counter.n == 0


def test_scatter_add_with_repeated_indices_on_dask():
    g = da.from_array(np.array([1.0, 2.0, 3.0, 4.0]), chunks=2)
    index = np.array([0, 2, 2, 1])
    out = _lazy(lambda: ad.scatter_add(g, index=index, shape=(3,)))
    assert isinstance(out, da.Array)
    np.testing.assert_array_equal(out.compute(), [1.0, 4.0, 5.0])
    # the gradient of fancy indexing with repeats accumulates, lazily
    x = da.from_array(np.arange(5.0), chunks=3)
    grad = _lazy(lambda: ad.grad(lambda x: np.sum(x[np.array([0, 2, 2, 4])] ** 2))(x))
    np.testing.assert_array_equal(grad.compute(), [0.0, 0.0, 8.0, 0.0, 8.0])


def test_scatter_add_trailing_axes_and_complex_on_dask():
    g = np.arange(12.0).reshape(4, 3) * (1 + 0.5j)
    index = np.array([1, 0, 1, 3])
    want = ad.scatter_add(g, index=index, shape=(5,))
    got = _lazy(lambda: ad.scatter_add(da.from_array(g, chunks=2), index=index, shape=(5,)))
    np.testing.assert_allclose(got.compute(), want)


def test_float32_stays_float32_on_dask():
    x = da.from_array(np.linspace(0, 1, 6, dtype=np.float32), chunks=3)
    g = _lazy(lambda: ad.grad(lambda x: np.sum(np.sin(x)))(x))
    assert g.dtype == np.float32 and isinstance(g, da.Array)


def test_conv_and_pool_refuse_dask_with_the_op_name():
    x = da.zeros((1, 1, 4, 4), chunks=2)
    with pytest.raises(TypeError, match="max_pool2d works on NumPy arrays only"):
        ad.grad(lambda x: np.sum(ad.max_pool2d(x, kernel_size=2)))(x)


def test_graph_size_guard():
    # value_and_grad of sum(tanh(x)**2) over 4M elements: a small graph, never the data
    x = da.random.default_rng(0).standard_normal(4_000_000, chunks=1_000_000)
    value, grad = _lazy(lambda: ad.value_and_grad(lambda x: np.sum(np.tanh(x) ** 2))(x))
    size = len(cloudpickle.dumps((value, grad), protocol=pickle.HIGHEST_PROTOCOL))
    assert size < 100_000, f"the graph pickles to {size} bytes"
    small = np.linspace(-1, 1, 10)
    _, g = ad.value_and_grad(lambda x: np.sum(np.tanh(x) ** 2))(da.from_array(small, chunks=5))
    np.testing.assert_allclose(g.compute(), 2 * np.tanh(small) / np.cosh(small) ** 2)


def test_cholesky_on_dask_is_the_lower_factor():
    # np.linalg.cholesky on a dask array reaches dask's cholesky(lower=False): the upper factor
    a = np.array([[4.0, 2.0, 0.4], [2.0, 3.0, 0.5], [0.4, 0.5, 2.0]])
    got = _lazy(lambda: ad.linalg.cholesky(da.from_array(a, chunks=3)))
    np.testing.assert_allclose(got.compute(), np.linalg.cholesky(a))


def test_least_squares_gradient_with_a_chunked_design_matrix():
    rng = np.random.default_rng(0)
    A, b, w = rng.standard_normal((400, 5)), rng.standard_normal(400), np.ones(5)
    Ad, bd = da.from_array(A, chunks=(100, 5)), da.from_array(b, chunks=100)

    def loss(w):
        return np.sum((Ad @ w - bd) ** 2)

    g = _lazy(lambda: ad.grad(loss)(w))
    assert isinstance(g, da.Array)
    np.testing.assert_allclose(g.compute(), 2 * A.T @ (A @ w - b), rtol=1e-12)
    g = _lazy(lambda: ad.grad(lambda w: np.sum(np.einsum("ij,j->i", Ad, w) ** 2))(w))
    np.testing.assert_allclose(g.compute(), 2 * A.T @ (A @ w), rtol=1e-12)
