"""The op matrix: every registry op × {jvp, vjp} on a duck array (dask, the strict stand-in).

Shared by tests/test_dask_ops.py and tests/test_standin.py. One sample per op (the first with a
non-empty array whose first axis can be split in two), its array arguments turned into the duck
type, the JVP or VJP taken, the result compared with the same derivative on NumPy arrays.
``python tests/op_matrix.py`` prints how many (op × mode) pairs stay lazy on dask.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import autodiff as ad
from autodiff.core import bind
from autodiff.registry import ops

MODES = ("jvp", "vjp")


def _arrays(args: Any) -> list:
    if isinstance(args, (list, tuple)):
        return [a for x in args for a in _arrays(x)]
    return [args] if isinstance(args, np.ndarray) else []


def to_dask(x: np.ndarray, split: bool = True) -> Any:
    """``x`` as a dask array in two chunks along its first axis (one chunk if it cannot split)."""
    import dask.array as da

    if x.ndim == 0 or not split:
        return da.from_array(x, chunks=x.shape or ())
    return da.from_array(x, chunks=(max(1, -(-x.shape[0] // 2)),) + x.shape[1:])


def pick_sample(op) -> tuple | None:
    """The op's first sample with a non-empty float array that has two or more rows."""
    if op.samples is None:
        return None
    samples = op.samples(np.random.default_rng(0))
    good = [
        (a, p)
        for a, p in samples
        if _arrays(a) and all(x.size > 0 and x.dtype.kind in "fc" for x in _arrays(a))
    ]
    for args, params in good:
        if any(x.ndim >= 1 and x.shape[0] >= 2 for x in _arrays(args)):
            return args, params
    return good[0] if good else None


def cases() -> list[tuple]:
    """``(op, mode)`` for every differentiable op with a usable sample."""
    return [(op, mode) for op in ops() if op.differentiable and pick_sample(op) for mode in MODES]


def _map(fn: Callable, x: Any) -> Any:
    if isinstance(x, tuple):
        return tuple(_map(fn, v) for v in x)
    if isinstance(x, list):
        return [_map(fn, v) for v in x]
    return fn(x)


def _like(x: Any, rng: np.random.Generator) -> Any:
    value = rng.standard_normal(np.shape(x))
    if np.iscomplexobj(x):
        value = value + 1j * rng.standard_normal(np.shape(x))
    return value.astype(x.dtype) if isinstance(x, np.ndarray) else value


SINGLE_CHUNK_MODULES = ("linalg", "fft")  # dask's linalg and FFT want one chunk per matrix/axis


def split_for(op) -> bool:
    """Whether the op's sample is split in two chunks (linalg and FFT ops get one chunk)."""
    return op.module not in SINGLE_CHUNK_MODULES


def derivative(
    op, mode: str, convert: Callable[[Any], Any], convert_params: bool = False
) -> tuple[Callable, Callable]:
    """Two thunks: the derivative on duck arrays (made by ``convert``) and on NumPy arrays.
    ``convert_params``: the op's array parameters (masks, indices) become duck arrays too."""
    args, params = pick_sample(op)
    full = {**op.params, **params}
    duck_full = full
    if convert_params:
        duck_full = {
            k: _map(lambda v: convert(v) if isinstance(v, np.ndarray) else v, v)
            for k, v in full.items()
        }

    def f(*xs):
        return bind(op, xs, full)

    def f_duck(*xs):
        return bind(op, xs, duck_full)

    rng = np.random.default_rng(1)

    def conv(tree):
        return _map(lambda v: convert(v) if isinstance(v, np.ndarray) else v, tree)

    if mode == "jvp":
        tangents = _map(lambda a: _like(a, rng), tuple(args))

        def duck():
            return ad.jvp(f_duck, conv(tuple(args)), conv(tangents))

        def plain():
            return ad.jvp(f, tuple(args), tangents)

        return duck, plain
    out = f(*args)
    ct = _map(lambda o: _like(np.asarray(o), rng), out)

    def duck():
        out, pullback = ad.vjp(f_duck, *conv(tuple(args)))
        return out, pullback(conv(ct))

    def plain():
        out, pullback = ad.vjp(f, *args)
        return out, pullback(ct)

    return duck, plain


def leaves(x: Any) -> list:
    if isinstance(x, (tuple, list)):
        return [v for e in x for v in leaves(e)]
    return [x]


def assert_close(got: list, want: list, name: str) -> None:
    assert len(got) == len(want), name
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, np.asarray(w), rtol=1e-10, atol=1e-12, err_msg=name)


if __name__ == "__main__":  # the count the issue measured: python tests/op_matrix.py
    import dask.array as da
    from dask.callbacks import Callback

    class Count(Callback):
        n = 0

        def _start(self, dsk):
            Count.n += 1

    lazy = total = 0
    failures = []
    for op, mode in cases():
        total += 1
        duck, _ = derivative(op, mode, lambda x, op=op: to_dask(x, split_for(op)))
        Count.n = 0
        try:
            with Count():
                res = duck()
            ok = Count.n == 0 and all(isinstance(v, da.Array) for v in leaves(res))
        except Exception as exc:
            ok, res = False, exc
        lazy += ok
        if not ok:
            why = str(res)[:100] if isinstance(res, Exception) else "computed"
            failures.append(f"{op.name}/{mode}: {why}")
    print("\n".join(failures))
    print(f"{lazy} of {total} (op × mode) pairs stay lazy on dask")
