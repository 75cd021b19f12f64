"""Helpers for composites (public functions built from registered ops): plain values go to NumPy.

A composite such as ``hstack`` is written with the library's ops so that traced values are
differentiated; when no argument is traced, :func:`numpy_when_plain` hands the call to NumPy's own
function, which is one call and has exactly NumPy's semantics (dtypes, lists, duck arrays).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from autodiff.core import Box


def is_traced(value: Any) -> bool:
    """Whether ``value``, or anything in the (nested) lists and tuples it holds, is a traced value.

    Examples:
        >>> import numpy as np
        >>> is_traced([np.ones(2), (1.0, np.zeros(3))])
        False
    """
    if isinstance(value, Box):
        return True
    if isinstance(value, (list, tuple)):
        return any(is_traced(v) for v in value)
    return False


def numpy_when_plain(
    np_fn: Callable[..., Any],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: call ``np_fn`` instead of the decorated function when no argument is traced.

    Examples:
        >>> import numpy as np
        >>> @numpy_when_plain(np.ravel)
        ... def ravel(x):
        ...     raise AssertionError("only reached with traced values")
        >>> ravel(np.ones((2, 2))).shape
        (4,)
    """

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if is_traced(args) or (kwargs and is_traced(tuple(kwargs.values()))):
                return fn(*args, **kwargs)
            return np_fn(*args, **kwargs)

        return wrapper

    return deco
