"""The gradient of a function of a dask array larger than the machine's free memory, on a
2-worker LocalCluster: the input is never materialised, its chunks are generated, used and freed.

    python examples/07_dask_out_of_core.py 24      # the input's size in GiB (default 4)

Needs ``pip install 'autodiff[distributed]'``. On a 2-core machine with 18 GiB free, 24 GiB took
about two minutes.
"""

import sys
import time

import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster

import autodiff as ad

GIB = 2**30
n = int(float(sys.argv[1] if len(sys.argv) > 1 else 4) * GIB) // 8
chunk = 16 * 2**20  # 128 MiB of float64 per chunk

if __name__ == "__main__":
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="4GiB") as cluster,
        Client(cluster),
    ):
        x = da.random.default_rng(0).standard_normal(n, chunks=chunk)
        print(f"input: {x.nbytes / GIB:.1f} GiB in {x.npartitions} chunks")
        t0 = time.perf_counter()
        value, grad = ad.value_and_grad(lambda x: np.sum(np.tanh(x) ** 2))(x)
        t1 = time.perf_counter()
        print(
            f"graph built in {t1 - t0:.3f} s; grad is a {type(grad).__module__}.{type(grad).__name__}"
            f" with {len(grad.__dask_graph__())} tasks"
        )
        v, gsum, gsq, head, xhead = da.compute(value, grad.sum(), (grad**2).sum(), grad[:4], x[:4])
        t2 = time.perf_counter()
        t = np.tanh(xhead)
        print(
            f"computed in {t2 - t1:.1f} s: value {v:.6e}, sum(grad) {gsum:.6e}, |grad|² {gsq:.6e}"
        )
        print(
            "grad[:4] == 2 tanh(x)(1 - tanh²(x)):",
            np.allclose(head, 2 * t * (1 - t * t), rtol=1e-15),
        )
