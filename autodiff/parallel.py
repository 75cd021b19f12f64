"""Run the chunks of a Jacobian (or of per-example gradients) on a ``concurrent.futures.Executor``.

One task per chunk. The function and its constants (the arguments that are not differentiated,
the data a closure holds) travel once per worker, not once per task:

* a ``distributed`` executor (``Client.get_executor()``): the payload is scattered to every
  worker with ``broadcast=True`` and each task names it;
* a ``ProcessPoolExecutor`` (its workers share this machine): the payload goes to a temporary
  file that each worker process reads once;
* any other executor (threads, Ray's): the payload rides along with each task; each worker
  unpickles it once and keeps it.

Functions are serialised with cloudpickle (lambdas and closures work). Ops declared with
``defop`` at run time are sent along and wired into the worker's registry; one that cannot be
pickled is a clear error naming the op. A worker process gets one BLAS thread and a fixed glibc
malloc (the allocator effect ``bench/_malloc.py`` describes: distributed's workers set
``MALLOC_TRIM_THRESHOLD_=65536``, which made a Jacobian chunk about 4x slower). Workers running as
threads of the calling process (``LocalCluster(processes=False)``, ``ThreadPoolExecutor``) leave
the process's settings alone.

Each chunk runs the same code as the serial loop on the same inputs, so the result is
bit-identical to the serial run with the same ``chunk_size`` and the same number of BLAS threads:
the workers run one, and a multithreaded BLAS may split a large matrix product differently and
change its last bit, so the bit-for-bit reference is a serial run under :func:`blas_threads`
``(1)`` (or ``OPENBLAS_NUM_THREADS=1``). Every other difference would be a bug.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import os
import platform
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from autodiff import registry

#: ops registered when ``autodiff`` finished importing; later ones are sent to the workers
_BUILTIN: dict[str, Any] = {}
_OBJECTS: OrderedDict[str, Any] = OrderedDict()  # per worker: payload key -> unpickled object
_STATES: OrderedDict[tuple, Any] = OrderedDict()  # per worker and thread: prepared state
_KEEP = 4  # payloads a worker process keeps (the most recent ones; threads of the caller: none)
_SET_UP = False
_LOCK = threading.Lock()


def freeze_builtin_ops() -> None:
    """Remember the ops ``autodiff`` itself declares (called once, at the end of its import)."""
    _BUILTIN.update({op.name: op for op in registry.ops()})


def _runtime_ops() -> list:
    return [op for op in registry.ops() if _BUILTIN.get(op.name) is not op]


def _cloudpickle() -> Any:
    try:
        import cloudpickle
    except ImportError:  # pragma: no cover - the extra is not installed
        raise ImportError(
            "executor= needs cloudpickle to send functions to the workers: "
            "pip install 'autodiff[distributed]'"
        ) from None
    return cloudpickle


def _dumps(obj: Any) -> bytes:
    cp = _cloudpickle()
    ops = _runtime_ops()
    for op in ops:
        try:
            cp.dumps(op)
        except Exception as exc:
            raise TypeError(
                f"executor=: the op {op.name!r}, declared with defop at run time, cannot be sent "
                f"to the workers ({type(exc).__name__}: {exc}); declare it in an importable "
                "module that the workers import, or run without executor="
            ) from exc
    try:
        return cp.dumps((ops, obj))
    except Exception as exc:
        raise TypeError(
            f"executor=: the function or its arguments cannot be serialised with cloudpickle "
            f"({type(exc).__name__}: {exc})"
        ) from exc


# --------------------------------------------------------------------------------------------
# The worker side
# --------------------------------------------------------------------------------------------


def _blas_controls() -> list[tuple[Callable[[], int], Callable[[int], Any]]]:
    """``(get, set)`` thread-count functions of the OpenBLAS / MKL libraries this process loaded."""
    try:
        with open("/proc/self/maps") as maps:
            libs = {line.split()[-1] for line in maps
                    if ("blas" in line.lower() or "mkl_rt" in line) and ".so" in line}  # fmt: skip
    except OSError:
        return []
    pairs = (
        ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
        ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
        ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
        ("openblas_get_num_threads", "openblas_set_num_threads"),
        ("MKL_Get_Max_Threads", "MKL_Set_Num_Threads"),
    )
    controls = []
    for lib in sorted(libs):
        try:
            handle = ctypes.CDLL(lib)
        except OSError:
            continue
        for get, set_ in pairs:
            g, s = getattr(handle, get, None), getattr(handle, set_, None)
            if g is not None and s is not None:
                controls.append((g, s))
                break
    return controls


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` BLAS threads in this process, then restore the previous counts.

    A multithreaded BLAS splits a large matrix product between its threads, and the split can
    change the last bit of the result; the workers of ``executor=`` run one BLAS thread, so a
    serial run made under ``blas_threads(1)`` is their bit-for-bit reference.

    Examples:
        >>> import numpy as np
        >>> from autodiff.parallel import blas_threads
        >>> with blas_threads(1):
        ...     _ = np.ones((2, 2)) @ np.ones(2)
    """
    controls = _blas_controls()
    before = [get() for get, _ in controls]
    for _, set_ in controls:
        set_(n)
    try:
        yield
    finally:
        for (_, set_), k in zip(controls, before):
            set_(k)


def _one_blas_thread() -> None:
    """Limit the BLAS library NumPy loaded to one thread, for good (a worker process only)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # for processes this worker starts
    for _, set_ in _blas_controls():
        set_(1)


def _fix_malloc() -> None:
    """glibc's mmap and trim thresholds fixed, as ``bench/_malloc.py`` does for the benchmark."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: glibc's own ceiling
    mallopt(-1, 64 << 20)  # M_TRIM_THRESHOLD


def _me() -> tuple[str, int]:
    """This process, across machines: (host name, process id)."""
    return platform.node(), os.getpid()


def _set_up_process() -> None:
    global _SET_UP
    if not _SET_UP:
        _one_blas_thread()
        _fix_malloc()
        _SET_UP = True


def _install(ops: list) -> None:
    for op in ops:
        if op.name in registry._OPS:
            registry.remove(op.name)
        registry._OPS[op.name] = op
        for hook in registry._wire:
            hook(op)


def _load(key: str, handle: tuple, caller: tuple) -> Any:
    obj = _OBJECTS.get(key)
    if obj is not None:
        return obj
    kind, where = handle
    if kind == "file":
        with open(where, "rb") as fh:
            data = fh.read()
    else:
        data = where
    try:
        ops, obj = _cloudpickle().loads(data)
    except Exception as exc:
        raise RuntimeError(
            f"executor=: a worker could not load the function ({type(exc).__name__}: {exc}); "
            "functions and ops must be importable in the workers or picklable by value"
        ) from exc
    if _me() != caller:
        _install(ops)
    with _LOCK:
        _OBJECTS[key] = obj
        while len(_OBJECTS) > _KEEP:
            _OBJECTS.popitem(last=False)
    return obj


def _worker(
    prepare: Callable[[Any], Any],
    run: Callable[[Any, Any], Any],
    key: str,
    handle: tuple,
    caller: tuple,
    item: Any,
) -> Any:
    """One task: ``run(prepare(payload), item)``, the prepared state kept per worker thread."""
    if _me() != caller:  # a worker process (threads of the caller keep its settings)
        _set_up_process()
    skey = (key, threading.get_ident())
    state = _STATES.get(skey)
    if state is None:
        state = prepare(_load(key, handle, caller))
        with _LOCK:
            _STATES[skey] = state
            while len(_STATES) > 2 * _KEEP:
                _STATES.popitem(last=False)
    return run(state, item)


# --------------------------------------------------------------------------------------------
# The calling side
# --------------------------------------------------------------------------------------------


def check_executor(executor: Any, who: str) -> None:
    """A clear error unless ``executor`` is ``None`` or has ``submit`` (an Executor)."""
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise TypeError(
            f"{who}: executor must be a concurrent.futures.Executor (ProcessPoolExecutor, "
            f"distributed.Client.get_executor(), ...), got {type(executor).__name__}"
        )


def _distributed_client(executor: Any) -> Any:
    if type(executor).__module__.startswith("distributed"):
        return getattr(executor, "_client", None)
    return None


def map_chunks(
    executor: Executor,
    prepare: Callable[[Any], Any],
    run: Callable[[Any, Any], Any],
    payload: Any,
    items: Sequence[Any],
) -> list:
    """``[run(prepare(payload), item) for item in items]``, one task per item on ``executor``.

    ``prepare`` and ``run`` must be module-level functions (the workers import them); the payload
    is cloudpickled once and sent once per worker where the executor allows it.

    Examples:
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> from autodiff.parallel import map_chunks
        >>> with ThreadPoolExecutor(2) as ex:
        ...     map_chunks(ex, len, pow, [1, 2, 3], [0, 1, 2])   # len(payload) ** item
        [1, 3, 9]
    """
    data = _dumps(payload)
    key = hashlib.sha1(data).hexdigest() + f"-{os.getpid()}-{id(payload)}"
    client = _distributed_client(executor)
    path = None
    if client is not None:
        handle = ("bytes", client.scatter(data, broadcast=True, hash=False))
    elif isinstance(executor, ProcessPoolExecutor):
        fd, path = tempfile.mkstemp(prefix="autodiff-payload-", suffix=".pkl")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        handle = ("file", path)
    else:
        handle = ("bytes", data)
    futures = []
    try:
        futures = [executor.submit(_worker, prepare, run, key, handle, _me(), it) for it in items]
        return [f.result() for f in futures]
    finally:
        for f in futures:
            f.cancel()
        if path is not None:
            os.unlink(path)
        with _LOCK:  # workers that are threads of this process: let go of the payload now
            _OBJECTS.pop(key, None)
            for skey in [k for k in _STATES if k[0] == key]:
                del _STATES[skey]
        if client is not None:
            handle[1].release()


__all__ = ["blas_threads", "check_executor", "freeze_builtin_ops", "map_chunks"]


# --------------------------------------------------------------------------------------------
# Per-example gradients
# --------------------------------------------------------------------------------------------


def _pex_prepare(payload: tuple) -> tuple:
    return payload


def _pex_task(state: tuple, chunk: tuple[int, int]) -> Any:
    """The gradients of the examples ``start:stop``: the serial loop's body."""
    from autodiff import tree
    from autodiff.reverse import grad
    from autodiff.vmap import vmap

    loss, params, examples = state
    s, e = chunk
    part = tree.map(lambda leaf: leaf[s:e], examples)
    return vmap(grad(loss), in_axes=(None, 0))(params, part)


def per_example_grad(
    loss: Callable[[Any, Any], Any],
    *,
    chunk_size: int | None = None,
    executor: Executor | None = None,
) -> Callable[[Any, Any], Any]:
    """The gradient of ``loss`` for each example of a batch, stacked along a leading axis.

    ``loss(params, example) -> scalar`` is written for **one** example. The returned function
    ``grads(params, examples)`` takes ``examples`` with a leading batch axis of size ``B`` (an
    array, or a pytree of arrays that all have it) and returns, for each leaf of ``params``, an
    array of shape ``(B,) + leaf.shape``: entry ``b`` is ``grad(loss)(params, examples[b])``,
    in ``params``' structure. The examples go through ``vmap(grad(loss))``, ``chunk_size`` at a
    time; with ``executor``, each chunk is one task there, and the result is bit-identical to
    the serial run with the same ``chunk_size`` under :func:`blas_threads` ``(1)``.

    Args:
        loss: ``loss(params, example)``, a scalar.
        chunk_size: at most this many examples per sweep (and per task); ``None``: all at once.
        executor: a ``concurrent.futures.Executor`` (``ProcessPoolExecutor``,
            ``distributed.Client.get_executor()``, ...), or ``None`` to run here.

    Returns:
        ``grads(params, examples)``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> loss = lambda w, xy: (xy[0] @ w - xy[1]) ** 2
        >>> X, y = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]), np.array([1.0, 0.0, 3.0])
        >>> ad.per_example_grad(loss, chunk_size=2)(np.zeros(2), (X, y))  # 2(x·w - y) x
        array([[-2., -0.],
               [ 0.,  0.],
               [-6., -6.]])
    """
    if not callable(loss):
        raise TypeError(f"per_example_grad: expected a loss function, got {type(loss).__name__}")
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1
    ):
        raise ValueError(f"per_example_grad: chunk_size must be a positive int, got {chunk_size!r}")
    check_executor(executor, "per_example_grad")

    def grads(params: Any, examples: Any) -> Any:
        from autodiff import tree
        from autodiff.core import shape_of

        leaves, _ = tree.flatten(examples)
        sizes = {shape_of(leaf)[0] if shape_of(leaf) else None for leaf in leaves}
        if len(sizes) != 1 or None in sizes:
            raise ValueError(
                "per_example_grad: every leaf of examples needs the same leading batch axis, "
                f"got leading sizes {sorted(map(str, sizes))}"
            )
        (b,) = sizes
        step = b if chunk_size is None else chunk_size
        chunks = [(s, min(s + step, b)) for s in range(0, b, step)] or [(0, 0)]
        state = (loss, params, examples)
        if executor is None:
            parts = [_pex_task(state, c) for c in chunks]
        else:
            parts = map_chunks(executor, _pex_prepare, _pex_task, state, chunks)
        if len(parts) == 1:
            return parts[0]
        from autodiff import functions as anp

        return tree.map(lambda *xs: anp.concatenate(xs, axis=0), *parts)

    grads.__name__ = f"per_example_grad({getattr(loss, '__name__', 'loss')})"
    return grads


__all__ += ["per_example_grad"]
