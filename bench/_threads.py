"""Thread pinning. Runs before NumPy is imported: BLAS reads these variables once, when it loads.

`python -m bench` calls `pin()` first thing (see `bench/__main__.py`); nothing in this module
imports NumPy, torch or JAX.
"""

from __future__ import annotations

import os
import sys

#: Variables read by the BLAS / OpenMP runtimes that NumPy, torch and JAX link against.
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
#: XLA's CPU backend ignores the variables above; these flags make it use one thread.
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
#: Read by the adapters (torch calls `set_num_threads(1)` when it says "1-thread").
MODE_ENV = "AUTODIFF_BENCH_THREADS"
#: Set when NumPy was already imported when `pin()` ran (the pinning may then not hold).
LATE_ENV = "AUTODIFF_BENCH_PINNED_LATE"


def pin(all_cores: bool = False) -> str:
    """Pin BLAS, OpenMP and XLA to one thread, or leave them all cores; return the mode label."""
    if "numpy" in sys.modules:
        os.environ[LATE_ENV] = "1"
    if all_cores:
        for var in THREAD_ENV:
            os.environ.pop(var, None)
        flags = os.environ.get("XLA_FLAGS", "").replace(XLA_ONE_THREAD, "").strip()
        if flags:
            os.environ["XLA_FLAGS"] = flags
        else:
            os.environ.pop("XLA_FLAGS", None)
        mode = f"all-cores ({os.cpu_count()})"
    else:
        for var in THREAD_ENV:
            os.environ[var] = "1"
        flags = os.environ.get("XLA_FLAGS", "")
        if XLA_ONE_THREAD not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} {XLA_ONE_THREAD}".strip()
        mode = "1-thread"
    os.environ[MODE_ENV] = mode
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return mode


def mode() -> str:
    """The mode set by `pin()`; "unpinned" when the suite was imported some other way."""
    return os.environ.get(MODE_ENV, "unpinned")


def single_thread() -> bool:
    return mode() == "1-thread"
