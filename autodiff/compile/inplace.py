"""Functional twins of NumPy's in-place operations, for replays.

Rules sometimes build a mask in place (``inside &= x >= lo``, ``np.put_along_axis(inv, perm,
...)``). A recording turns each such write into a new variable: a copy of the target with the
write applied. These functions are that copy-and-write; ``.source`` calls them by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def written(fn: Any, target: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
    """``fn(target, *args)`` done on a copy of ``target``; returns the copy."""
    out = np.array(target, copy=True)
    fn(out, *args, **kwargs)
    return out


def ufunc_into(ufunc: Any, target: np.ndarray, *inputs: Any, **kwargs: Any) -> np.ndarray:
    """``ufunc(*inputs, out=target)`` done on a copy of ``target``; returns the copy."""
    out = np.array(target, copy=True)
    ufunc(*inputs, out=out, **kwargs)
    return out


def setitem(target: np.ndarray, index: Any, value: Any) -> np.ndarray:
    """``target[index] = value`` done on a copy of ``target``; returns the copy."""
    out = np.array(target, copy=True)
    out[index] = value
    return out


#: NumPy functions that write into their first argument
FUNCTIONS = {np.put_along_axis, np.put, np.place, np.putmask, np.copyto, np.fill_diagonal}
