"""Arrays built from traced values: ``ad.array`` and ``ad.asarray``; and ``ad.linspace``.

``np.array([x, y])`` cannot hold traced values: NumPy asks each element for a plain array
(``__array__``), which would drop its derivative, so a traced value refuses with an error that
points here. ``ad.array`` builds the same array with :func:`autodiff.stack`, one nesting level at a
time, as ``autograd.numpy.array`` does; the lists may mix traced values (boxes, Tensors) with
numbers and plain arrays. Input that holds no traced value goes straight to NumPy.

``ad.linspace`` (a registered composite, which ``np.linspace`` on traced values reaches) has two
faces: with a traced endpoint it is NumPy's ``linspace``, differentiable in the endpoints
(:func:`autodiff.ops.spaces.linspace`); on plain numbers it is the Tensor facade's factory
(``torch.linspace``: a ``Tensor``). It is declared here, above the facade, for that reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff import functions as anp
from autodiff.core import raw, shape_of
from autodiff.numpy_api import dispatch_also
from autodiff.ops import spaces
from autodiff.ops.plain import is_traced
from autodiff.registry import defcomposite
from autodiff.tensor import Tensor
from autodiff.tensor import linspace as _tensor_linspace


def _build(obj: Any) -> Any:
    """The array of a nested list that holds traced values: ``stack`` level by level."""
    if not isinstance(obj, (list, tuple)):
        return obj
    if not is_traced(obj):
        return np.array(obj)
    parts = [_build(item) for item in obj]
    shapes = [shape_of(p) for p in parts]
    if any(s != shapes[0] for s in shapes):
        raise ValueError(
            "array: the elements of a list have different shapes "
            f"({', '.join(str(s) for s in dict.fromkeys(shapes))}); an array needs them equal "
            "(NumPy would call this an inhomogeneous shape)"
        )
    return anp.stack(parts, axis=0)


def _finish(out: Any, dtype: Any, ndmin: int, name: str) -> Any:
    if dtype is not None and np.dtype(dtype) != np.result_type(raw(out)):
        if not np.issubdtype(np.dtype(dtype), np.floating):
            raise TypeError(
                f"{name}: dtype={np.dtype(dtype)} would drop the derivative of the traced values "
                "(only floating dtypes keep it); convert plain values instead, e.g. "
                f"np.asarray(ad.raw(x), dtype={np.dtype(dtype)})"
            )
        out = anp.astype(out, np.dtype(dtype))
    shape = shape_of(out)
    if len(shape) < ndmin:
        out = anp.reshape(out, (1,) * (ndmin - len(shape)) + tuple(shape))
    return out


def array(
    obj: Any,
    dtype: Any = None,
    *,
    copy: bool | None = True,
    order: str = "K",
    subok: bool = False,
    ndmin: int = 0,
) -> Any:
    """An array from ``obj``, like ``np.array``, that may hold traced values.

    ``obj`` may be a traced value, or (nested) lists and tuples that mix traced values, numbers
    and arrays; the elements of each list must have one shape. With traced values inside, the
    result is traced (built with ``ad.stack``); without, it is ``np.array(obj, ...)``. For a
    traced result ``dtype`` must be a floating type, and ``copy``, ``order`` and ``subok`` have
    no effect (traced values are never modified in place).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> f = lambda x: ad.array([[x, 2 * x], [x**2, 1.0]]).sum()
        >>> float(ad.grad(f)(3.0))
        9.0
        >>> ad.array([1, 2])                # no traced value: NumPy's array
        array([1, 2])
    """
    if not is_traced(obj):
        return np.array(obj, dtype=dtype, copy=copy, order=order, subok=subok, ndmin=ndmin)
    return _finish(_build(obj), dtype, ndmin, "array")


def asarray(a: Any, dtype: Any = None, order: str | None = None) -> Any:
    """``a`` as an array, like ``np.asarray``, that may hold traced values.

    A traced value comes back as it is (or cast to a floating ``dtype``); lists and tuples that
    hold traced values are built as by :func:`array`; anything else is ``np.asarray(a, ...)``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> float(ad.grad(lambda x: ad.asarray((x, x * x)).sum())(2.0))
        5.0
    """
    if not is_traced(a):
        return np.asarray(a, dtype=dtype, order=order)
    return _finish(_build(a), dtype, 0, "asarray")


@defcomposite(complex="holomorphic", numpy=np.linspace, samples=spaces.endpoint_samples)
def linspace(
    start: Any,
    stop: Any = None,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: Any = None,
    axis: int = 0,
    *,
    end: Any = None,
    steps: int | None = None,
    requires_grad: bool = False,
) -> Any:
    """Evenly spaced values from ``start`` to ``stop``: NumPy's differentiable ``linspace`` when
    an endpoint is traced, PyTorch's factory on plain numbers.

    When ``start`` or ``stop`` is traced (a box, a Tensor, or a list holding one), this is
    ``np.linspace`` with NumPy's arguments and a traced result
    (:func:`autodiff.ops.spaces.linspace`); ``np.linspace`` on traced values comes here. On
    plain numbers it returns a ``Tensor``, like ``torch.linspace(start, end, steps)``
    (PyTorch's keyword names ``end`` and ``steps`` work too, and ``requires_grad``).

    Examples:
        >>> import autodiff as ad
        >>> ad.linspace(0, 1, 3)
        tensor([0.0000, 0.5000, 1.0000])
        >>> ad.jacfwd(lambda b: ad.linspace(0.0, b, 3))(2.0)
        array([0. , 0.5, 1. ])
    """
    if end is not None:
        stop = end
    if steps is not None:
        num = steps
    if stop is None:
        raise TypeError("linspace() is missing its end point: linspace(start, stop, num)")
    if is_traced(start) or is_traced(stop):
        start, stop = asarray(start), asarray(stop)
        return spaces.linspace(start, stop, num, endpoint, retstep, dtype, axis)
    plain_complex = np.iscomplexobj(start) or np.iscomplexobj(stop)  # NumPy's complex values
    if endpoint and not retstep and axis == 0 and not plain_complex:
        return _tensor_linspace(start, stop, num, dtype=dtype, requires_grad=requires_grad)
    values = np.linspace(start, stop, num, endpoint, retstep, dtype, axis)
    values, step = values if retstep else (values, None)
    out = Tensor(values, requires_grad=requires_grad)
    return (out, step) if retstep else out


@dispatch_also(np.full_like)
def full_like(a: Any, fill_value: Any, dtype: Any = None, *args: Any, **kwargs: Any) -> Any:
    """``np.full_like`` of a traced value: a traced ``fill_value`` carries its derivative into
    every entry (the prototype ``a`` gives only a shape and a dtype, as in NumPy).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> float(ad.grad(lambda w: np.sum(np.full_like(w * np.ones(3), w)))(2.0))
        3.0
    """
    plain = np.full_like(raw(a), raw(fill_value), dtype, *args, **kwargs)
    if not is_traced(fill_value) or plain.dtype.kind not in "fc":
        return plain  # a constant, or cast to integers: no derivative
    return anp.broadcast_to(anp.astype(fill_value, plain.dtype), plain.shape)
