"""executor= on the Jacobian builders and per_example_grad (autodiff/parallel.py).

Each chunk runs as one task; the results must be bit-identical to the serial run with the same
chunk_size (and one BLAS thread, as in the workers), on a ProcessPoolExecutor and on a
distributed LocalCluster (threads and processes).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import autodiff as ad
from autodiff import parallel
from autodiff.registry import defop, remove

pytest.importorskip("cloudpickle")

RNG = np.random.default_rng(0)
W = RNG.normal(size=(9, 7))
X0 = RNG.normal(size=7)


def f_vec(x):
    return np.tanh(W @ x) * x[0]


def f_scalar(x):
    return np.sum(np.sin(W @ x) ** 2) + x @ x


def same(a, b) -> bool:
    """Bit-identical, through pytrees and tuples."""
    la, ta = ad.tree.flatten(a)
    lb, tb = ad.tree.flatten(b)
    return ta == tb and all(
        np.asarray(x).dtype == np.asarray(y).dtype
        and np.asarray(x).tobytes() == np.asarray(y).tobytes()
        for x, y in zip(la, lb)
    )


@pytest.fixture(scope="module")
def pool():
    # spawn: the workers start from a fresh interpreter, with only autodiff's own ops
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as ex:
        yield ex


CASES = [
    ("jacfwd", lambda **k: ad.jacfwd(f_vec, **k), (X0,)),
    ("jacrev", lambda **k: ad.jacrev(f_vec, **k), (X0,)),
    ("jacobian", lambda **k: ad.jacobian(f_vec, **k), (X0,)),
    ("hessian", lambda **k: ad.hessian(f_scalar, **k), (X0,)),
    ("argnums", lambda **k: ad.jacrev(lambda a, b: np.outer(a, b) @ W.T, (0, 1), **k),
     (X0[:3], X0)),
    ("tuple-out", lambda **k: ad.jacfwd(lambda x: (np.sin(x), W @ x), **k), (X0,)),
    ("tuple-out-rev", lambda **k: ad.jacrev(lambda x: (np.sin(x), W @ x), **k), (X0,)),
    ("pytree", lambda **k: ad.jacrev(lambda p: {"y": np.tanh(p["w"] @ p["b"])}, **k),
     ({"w": W, "b": X0},)),
    ("aux", lambda **k: ad.jacfwd(lambda x: (np.cos(x), np.sum(x)), has_aux=True, **k), (X0,)),
    ("float32", lambda **k: ad.jacrev(f_vec, **k), (X0.astype(np.float32),)),
]  # fmt: skip


@pytest.mark.parametrize("name,make,args", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("chunk_size", [None, 3])
def test_process_pool_bit_identical(pool, name, make, args, chunk_size):
    serial = make(chunk_size=chunk_size)(*args)
    remote = make(chunk_size=chunk_size, executor=pool)(*args)
    assert same(serial, remote)


def test_large_products_match_the_one_blas_thread_serial_run(pool):
    """The workers run one BLAS thread; a multithreaded BLAS may split a big product otherwise."""
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((300, 300)) / 17, rng.standard_normal((300, 300)) / 17

    def g(x):
        return np.tanh(B @ np.tanh(A @ x))

    x = rng.standard_normal(300)
    with parallel.blas_threads(1):
        serial = ad.jacrev(g, chunk_size=100)(x), ad.jacfwd(g, chunk_size=100)(x)
    remote = (
        ad.jacrev(g, chunk_size=100, executor=pool)(x),
        ad.jacfwd(g, chunk_size=100, executor=pool)(x),
    )
    assert same(serial, remote)


def test_one_task_per_chunk_and_sweep_count():
    class Counting(ThreadPoolExecutor):
        tasks = 0

        def submit(self, *a, **k):
            Counting.tasks += 1
            return super().submit(*a, **k)

    with Counting(2) as ex, ad.SweepCount() as count:
        jac = ad.jacfwd(f_vec, chunk_size=3, executor=ex)(X0)
    assert Counting.tasks == 3 and count.jvp == 3 and count.tangents == 7
    assert same(jac, ad.jacfwd(f_vec, chunk_size=3)(X0))


def _blas_env(state, item):  # a task body: what the worker's setup left in its environment
    return os.environ.get("OPENBLAS_NUM_THREADS"), os.getpid()


def test_worker_gets_one_blas_thread(pool):
    (env, pid), = parallel.map_chunks(pool, len, _blas_env, [1], [0])  # fmt: skip
    assert env == "1" and pid != os.getpid()


def test_threads_of_this_process_leave_its_settings_alone(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with ThreadPoolExecutor(2) as ex:
        (env, pid), = parallel.map_chunks(ex, len, _blas_env, [1], [0])  # fmt: skip
    assert env is None and pid == os.getpid()


def test_runtime_defop_works_in_workers(pool):
    op = defop("cube_par", lambda x: x**3, partials=(lambda ans, x: 3 * x**2,),
               elementwise=True, formula="d x³ = 3x² dx", vjp_formula="x̄ = 3x² ḡ")  # fmt: skip
    try:
        g = lambda x: ad.cube_par(W @ x)  # noqa: E731
        for build in (ad.jacfwd, ad.jacrev):
            assert same(build(g, chunk_size=4)(X0), build(g, chunk_size=4, executor=pool)(X0))
        assert op.name == "cube_par"
    finally:
        remove("cube_par")


def test_unpicklable_runtime_op_is_a_clear_error(pool):
    lock = threading.Lock()

    def primal(x):
        with lock:
            return x**3

    defop("cube_locked", primal, partials=(lambda ans, x: 3 * x**2,), elementwise=True)
    try:
        with pytest.raises(TypeError, match=r"cube_locked.*cannot be sent"):
            ad.jacfwd(lambda x: ad.cube_locked(x), executor=pool)(X0)
    finally:
        remove("cube_locked")


def test_errors():
    with pytest.raises(TypeError, match=r"executor must be a concurrent\.futures\.Executor"):
        ad.jacfwd(f_vec, executor=4)
    with pytest.raises(ValueError, match="executor= runs one task per chunk"):
        ad.jacrev(f_vec, vectorize=False, executor=ThreadPoolExecutor(1))
    with ThreadPoolExecutor(1) as ex, pytest.raises(TypeError, match="outermost"):
        ad.grad(lambda x: np.sum(ad.jacfwd(np.sin, executor=ex)(x)))(X0)


def loss(w, example):
    x, y = example
    return (np.tanh(x @ w) - y) ** 2


XS = RNG.normal(size=(10, 7))
YS = RNG.normal(size=10)


def test_per_example_grad_matches_a_loop():
    grads = ad.per_example_grad(loss)(X0, (XS, YS))
    loop = np.stack([ad.grad(loss)(X0, (XS[b], YS[b])) for b in range(10)])
    assert grads.shape == (10, 7)
    np.testing.assert_allclose(grads, loop, rtol=1e-12, atol=1e-14)


def test_per_example_grad_pytree_params_and_executor(pool):
    def net(p, ex):
        x, y = ex
        return (np.tanh(x @ p["w"]) + p["b"] - y) ** 2

    params = {"w": X0, "b": np.array(0.5)}
    serial = ad.per_example_grad(net, chunk_size=4)(params, (XS, YS))
    remote = ad.per_example_grad(net, chunk_size=4, executor=pool)(params, (XS, YS))
    assert serial["w"].shape == (10, 7) and serial["b"].shape == (10,)
    assert same(serial, remote)


def test_per_example_grad_errors():
    with pytest.raises(ValueError, match="chunk_size"):
        ad.per_example_grad(loss, chunk_size=0)
    with pytest.raises(ValueError, match="leading batch axis"):
        ad.per_example_grad(loss)(X0, (XS, YS[:3]))


# --------------------------------------------------------------------------------------------
# distributed
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def thread_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        yield client


@pytest.mark.parametrize("name,make,args", CASES[:5], ids=[c[0] for c in CASES[:5]])
def test_local_cluster_threads_bit_identical(thread_cluster, name, make, args):
    ex = thread_cluster.get_executor()
    assert same(make(chunk_size=2)(*args), make(chunk_size=2, executor=ex)(*args))


def test_local_cluster_per_example_grad(thread_cluster):
    ex = thread_cluster.get_executor()
    serial = ad.per_example_grad(loss, chunk_size=3)(X0, (XS, YS))
    assert same(serial, ad.per_example_grad(loss, chunk_size=3, executor=ex)(X0, (XS, YS)))


def test_local_cluster_processes_bit_identical():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        ex = client.get_executor()
        for build in (ad.jacfwd, ad.jacrev):
            assert same(build(f_vec, chunk_size=3)(X0), build(f_vec, chunk_size=3, executor=ex)(X0))
        pids = {p for _, p in parallel.map_chunks(ex, len, _blas_env, [1], [0, 1, 2, 3])}
        assert os.getpid() not in pids


def test_threads_of_this_process_let_go_of_the_payload():
    with ThreadPoolExecutor(2) as ex:
        ad.jacrev(f_vec, chunk_size=2, executor=ex)(X0)
    assert not parallel._OBJECTS and not parallel._STATES


def test_large_constants_travel_once_not_with_each_task():
    """A process pool's tasks carry a file name; the 2 MB closure constant is in the file."""
    import pickle

    big = RNG.normal(size=(500, 500))
    sizes = []

    class Recording(ProcessPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            sizes.append(len(pickle.dumps(args)))
            return super().submit(fn, *args, **kwargs)

    g = lambda x: np.tanh(big[:7, :7] @ x) + np.sum(big) * 0  # noqa: E731
    with Recording(2, mp_context=multiprocessing.get_context("spawn")) as ex:
        jac = ad.jacfwd(g, chunk_size=2, executor=ex)(X0)
    assert len(sizes) == 4 and max(sizes) < 10_000, sizes
    assert same(jac, ad.jacfwd(g, chunk_size=2)(X0))
