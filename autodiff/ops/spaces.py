"""Evenly spaced values between traced endpoints: ``linspace`` and ``geomspace``.

Both follow NumPy's recipe step for step, with registered ops, so the values are NumPy's:
``linspace`` is ``start + i·step`` with the last value set to ``stop`` exactly, and ``geomspace``
is ``10 ** linspace(log₁₀ start, log₁₀ stop)`` with both ends set exactly. The positions ``i`` are
constants; ``start`` and ``stop`` (scalars or arrays) are differentiable. Plain endpoints go
straight to NumPy.

``geomspace`` is a composite declared here. ``linspace`` is declared by :mod:`autodiff.construct`,
whose ``autodiff.linspace`` is also the Tensor facade's factory on plain numbers; on traced
endpoints it calls :func:`linspace` below.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from autodiff import functions as anp
from autodiff.core import raw, shape_of
from autodiff.ops import samples as S
from autodiff.ops.plain import numpy_when_plain
from autodiff.registry import defcomposite


def _float_type(name: str, start: Any, stop: Any, num: int) -> np.dtype:
    """NumPy's dtype for the samples: that of the endpoints, at least floating (complex for
    complex endpoints)."""
    dt = np.result_type(raw(start), raw(stop), float(num))
    return dt if np.issubdtype(dt, np.inexact) else np.dtype(np.float64)


def _cast(name: str, y: Any, dtype: Any) -> Any:
    if dtype is None or np.dtype(dtype) == np.result_type(raw(y)):
        return y
    if not np.issubdtype(np.dtype(dtype), np.inexact):
        raise TypeError(
            f"{name}: dtype={np.dtype(dtype)} would drop the derivative of the traced endpoints "
            "(only floating and complex dtypes keep it); cast the result of ad.raw(...) instead"
        )
    return anp.astype(y, np.dtype(dtype))


def _at(num: int, ndim: int, i: int) -> np.ndarray:
    """A mask of the ``i``-th sample along the new first axis, shaped to broadcast."""
    mask = np.zeros(num, dtype=bool)
    mask[i] = True
    return mask.reshape((num,) + (1,) * ndim)


def endpoint_samples(rng: np.random.Generator, domain: Any = S.real) -> list:
    """Endpoints and parameters for the gradient checks of linspace and geomspace."""
    return [
        ((domain(rng, ()), domain(rng, ())), {"num": 5}),
        ((domain(rng, ()), domain(rng, ())), {"num": 4, "endpoint": False}),
        ((domain(rng, (2,)), domain(rng, ())), {"num": 3}),  # array endpoints broadcast
        ((domain(rng, (2, 1)), domain(rng, (3,))), {"num": 4, "axis": -1}),
        ((domain(rng, ()), domain(rng, (2,))), {"num": 1}),
        ((domain(rng, (3,)), domain(rng, (3,))), {"num": 0}),
    ]


@numpy_when_plain(np.linspace)
def linspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: Any = None,
    axis: int = 0,
) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop``, like ``np.linspace``, with
    differentiable endpoints (scalars or arrays that broadcast).

    The i-th value is ``start + i·step`` with ``step = (stop - start) / (num - 1)`` (``/ num``
    when ``endpoint=False``), and the last one is ``stop`` exactly, as in NumPy. So its derivative
    is ``1 - i/(num - 1)`` with respect to ``start`` and ``i/(num - 1)`` with respect to ``stop``.
    ``retstep=True`` also returns the (traced) step. This is ``np.linspace`` on traced values;
    ``autodiff.linspace`` is the same on traced endpoints (on plain numbers it makes a ``Tensor``,
    as ``torch.linspace`` does).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.jacfwd(lambda b: np.linspace(0.0, b, 5))(2.0)
        array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    div = num - 1 if endpoint else num
    dt = _float_type("linspace", start, stop, num)
    delta = stop - start
    ndim = len(shape_of(delta))
    steps = np.arange(0, num, dtype=dt).reshape((-1,) + (1,) * ndim)
    if div > 0:
        step = delta / div
        if np.any(raw(step) == 0):  # NumPy's care for subnormal steps (gh-5437)
            y = (steps / div) * delta
        else:
            y = steps * step
    else:  # 0 or 1 sample with endpoint=True: no step
        step = np.nan
        y = steps * delta
    y = y + start
    if endpoint and num > 1:
        y = anp.where(_at(num, ndim, -1), stop, y)
    if axis != 0:
        y = anp.moveaxis(y, 0, axis)
    y = _cast("linspace", y, dtype)
    return (y, step) if retstep else y


def _geomspace_samples(rng: np.random.Generator) -> list:
    negative = ((-S.positive(rng, (2,)), -S.positive(rng, ())), {"num": 4})
    return [*endpoint_samples(rng, S.positive), negative]


@defcomposite(complex="holomorphic", numpy=np.geomspace, samples=_geomspace_samples)
@numpy_when_plain(np.geomspace)
def geomspace(
    start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None, axis: int = 0
) -> Any:
    """``num`` values from ``start`` to ``stop`` in geometric progression, like ``np.geomspace``,
    with differentiable endpoints (of one sign, never zero).

    NumPy's recipe: ``sign · 10 ** linspace(log₁₀|start|, log₁₀|stop|)`` with the first and last
    values set to ``start`` and ``stop`` exactly, so the i-th value is
    ``start^(1 - i/(num - 1)) · stop^(i/(num - 1))`` and its derivative follows.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.jacfwd(lambda b: np.geomspace(1.0, b, 3))(4.0)
        array([0.  , 0.25, 1.  ])
    """
    if np.any(raw(start) == 0) or np.any(raw(stop) == 0):
        raise ValueError("Geometric sequence cannot include zero")
    num = operator.index(num)
    # NumPy's dtype here: at least float64 (it includes a float64 zero), or the one asked for
    dt = np.result_type(_float_type("geomspace", start, stop, num), np.zeros((), dtype))
    start, stop = _cast("geomspace", start, dt), _cast("geomspace", stop, dt)
    # a constant: the sign (z/|z| for a complex start) is locally fixed, and the result does not
    # depend on it (sign·(start/sign)^(1-t)·(stop/sign)^t, up to a locally constant branch)
    sign = np.sign(np.asarray(raw(start))).astype(dt)
    start = start / sign
    stop = stop / sign
    y = anp.power(10.0, linspace(anp.log10(start), anp.log10(stop), num, endpoint))
    ndim = len(shape_of(y)) - 1
    if num > 0:
        y = anp.where(_at(num, ndim, 0), start, y)
        if num > 1 and endpoint:
            y = anp.where(_at(num, ndim, -1), stop, y)
    y = y * sign
    if axis != 0:
        y = anp.moveaxis(y, 0, axis)
    return _cast("geomspace", y, dtype)
