"""The ``dask`` workload's problem: chunked inputs, a LocalCluster per case, peak RSS per process.

The inputs are dask arrays made by ``dask.array.random`` in the workers, chunk by chunk; the eager
path gets the same values as NumPy arrays in this process. Each dask case runs on a fresh
2-worker LocalCluster (processes, one thread each), so a worker's peak RSS belongs to that case.
"""

from __future__ import annotations

import atexit
import resource
from typing import Any

import numpy as np


def _peak_rss() -> int:
    """This process's peak resident set size in bytes: VmHWM, which an exec resets.

    Not ``getrusage``'s ``ru_maxrss``: Linux carries it over fork and exec, so a worker started by
    a process that held 1 GiB would report 1 GiB however little it used itself.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


class DaskProblem:
    def __init__(self, n: int, chunk: int, rows: int, cols: int, row_chunk: int) -> None:
        import dask.array as da
        import distributed  # noqa: F401  (the cases need it: fail here, as one skipped workload)

        self.n, self.chunk, self.rows, self.cols, self.row_chunk = n, chunk, rows, cols, row_chunk
        rs = da.random.RandomState(0)
        self.x = rs.standard_normal(n, chunks=chunk)
        self.A = rs.standard_normal((rows, cols), chunks=(row_chunk, cols))
        self.b = rs.standard_normal(rows, chunks=row_chunk)
        self.w = np.linspace(-0.5, 0.5, cols)
        # the eager path's inputs: the same values, in this process
        self.x_np = self.x.compute(scheduler="threads")
        self.A_np = self.A.compute(scheduler="threads")
        self.b_np = self.b.compute(scheduler="threads")
        t = np.tanh(self.x_np)
        g = 2 * t * (1 - t * t)
        self.tanh_expected = (np.sum(t * t), np.sum(g), np.sum(g * g))
        r = self.A_np @ self.w - self.b_np
        self.lstsq_expected = (r @ r / rows, 2 * (self.A_np.T @ r) / rows)
        #: (library, variant) -> what a dask case records: peak RSS per process, laziness
        self.rss: dict[tuple[str, str], dict[str, Any]] = {}
        self._cluster: Any = None
        self._client: Any = None
        atexit.register(self.close)

    def client(self) -> Any:
        """A fresh LocalCluster (2 worker processes × 1 thread) and its Client, the default one."""
        import distributed

        self.close()
        self._cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        self._client = distributed.Client(self._cluster)
        return self._client

    def record(self, key: tuple[str, str], lazy: bool) -> None:
        """Peak RSS of every worker process and of this one, and whether the result was lazy."""
        workers = self._client.run(_peak_rss) if self._client is not None else {}
        self.rss.setdefault(key, {}).update(
            rss_workers=sorted(workers.values()),
            rss_main=_peak_rss(),
            lazy=lazy,
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._cluster.close()
        self._client = self._cluster = None


def tanh_loss(x: Any) -> Any:
    return np.sum(np.tanh(x) ** 2)


def lstsq_loss(w: Any, A: Any, b: Any) -> Any:
    r = A @ w - b
    return np.sum(r * r) / A.shape[0]
