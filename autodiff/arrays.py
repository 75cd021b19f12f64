"""Array creation and inspection that keep the user's array type (duck arrays).

The engines and rules never call ``np.asarray``/``np.zeros``/``np.ones`` on a user's value or a
value derived from it: a dask array would be computed into memory, a GPU array copied to the host.
They call these helpers instead, which take the array type from an existing value (``like``) and
keep NumPy's own fast path for plain ndarrays. This is the one place an Array API backend
(``__array_namespace__``, CuPy) would later touch.

Examples:
    >>> import numpy as np
    >>> from autodiff.arrays import zeros_like, dtype_of, is_array
    >>> zeros_like(np.ones(3, np.float32), shape=(2,))
    array([0., 0.], dtype=float32)
    >>> dtype_of(2.0), is_array(np.ones(2)), is_array([1.0])
    (dtype('float64'), True, False)
"""

from __future__ import annotations

from typing import Any

import numpy as np

_PLAIN = (np.ndarray, np.generic, int, float, complex, bool)


def is_duck(x: Any) -> bool:
    """Whether ``x`` is an array of another library (dask, CuPy, ...) rather than NumPy's."""
    # read on the class: an instance may refuse attribute reads (vmap's batched placeholder)
    cls = type(x)
    if issubclass(cls, _PLAIN) or getattr(cls, "_shape_only", False):  # vmap's placeholder
        return False
    return hasattr(cls, "__array_function__") and hasattr(cls, "dtype")


def is_array(x: Any) -> bool:
    """Whether ``x`` is an array object (NumPy's or a duck array): it has a shape and a dtype."""
    cls = type(x)
    return hasattr(cls, "shape") and hasattr(cls, "dtype") and not issubclass(cls, (list, tuple))


def dtype_of(x: Any) -> np.dtype:
    """The dtype of an array, read without converting it; NumPy's for Python numbers/lists."""
    dtype = getattr(x, "dtype", None)
    if dtype is not None:
        return np.dtype(dtype)
    return np.asarray(x).dtype  # a Python number or a list: converting it is free


def float_dtype(x: Any) -> np.dtype:
    """``x``'s dtype when it is floating or complex, else float64 (the dtype of a derivative)."""
    dtype = dtype_of(x)
    return dtype if dtype.kind in "fc" else np.dtype(np.float64)


def zeros_like(like: Any, shape: tuple[int, ...] | None = None, dtype: Any = None) -> Any:
    """Zeros of ``like``'s array type (``shape`` and ``dtype`` default to ``like``'s)."""
    dtype = dtype_of(like) if dtype is None else dtype
    shape = getattr(like, "shape", ()) if shape is None else shape
    if is_duck(like):
        return np.zeros_like(like, dtype=dtype, shape=shape)
    return np.zeros(shape, dtype=dtype)


def ones_like(like: Any, shape: tuple[int, ...] | None = None, dtype: Any = None) -> Any:
    """Ones of ``like``'s array type (``shape`` and ``dtype`` default to ``like``'s)."""
    dtype = dtype_of(like) if dtype is None else dtype
    shape = getattr(like, "shape", ()) if shape is None else shape
    if is_duck(like):
        return np.ones_like(like, dtype=dtype, shape=shape)
    return np.ones(shape, dtype=dtype)


def full_like(like: Any, fill: Any, shape: tuple[int, ...] | None = None, dtype: Any = None) -> Any:
    """``fill`` everywhere, in ``like``'s array type."""
    dtype = dtype_of(like) if dtype is None else dtype
    shape = getattr(like, "shape", ()) if shape is None else shape
    if is_duck(like):
        return np.full_like(like, fill, dtype=dtype, shape=shape)
    return np.full(shape, fill, dtype=dtype)


def asarray_like(value: Any, like: Any, dtype: Any = None) -> Any:
    """``value`` (a NumPy constant: a mask, an index, a basis) in ``like``'s array type."""
    if is_duck(like) and not is_duck(value):
        return np.asarray(value, dtype=dtype, like=like)
    if dtype is not None and dtype_of(value) != np.dtype(dtype):
        return value.astype(dtype) if is_array(value) else np.asarray(value, dtype=dtype)
    return value


def maybe_any(mask: Any) -> bool:
    """Whether any entry of ``mask`` may be true. A lazy array (dask) says yes without computing:
    a rule's careful path is right everywhere, its fast path only where the mask is all false."""
    return True if is_duck(mask) else bool(np.any(mask))


def surely_all(mask: Any) -> bool:
    """Whether every entry of ``mask`` is true; a lazy array (dask) says no without computing."""
    return False if is_duck(mask) else bool(np.all(mask))


def cholesky_lower(a: Any) -> Any:
    """The lower Cholesky factor. ``np.linalg.cholesky`` on a dask array reaches dask's
    ``cholesky(a, lower=False)``, the *upper* factor: ask dask for the lower one by name."""
    if type(a).__module__.startswith("dask."):
        import dask.array as da

        return da.linalg.cholesky(a, lower=True)
    return np.linalg.cholesky(a)


def as_array(x: Any, dtype: Any = None) -> Any:
    """``np.asarray(x, dtype)`` that keeps an array's own type (a dask array stays lazy)."""
    if type(x) is np.ndarray or not is_duck(x):
        return np.asarray(x, dtype=dtype)  # NumPy's fast path; Python numbers and lists
    if dtype is None or x.dtype == dtype:
        return x
    return x.astype(dtype)


__all__ = [
    "as_array",
    "asarray_like",
    "cholesky_lower",
    "dtype_of",
    "float_dtype",
    "full_like",
    "is_array",
    "is_duck",
    "maybe_any",
    "ones_like",
    "surely_all",
    "zeros_like",
]
