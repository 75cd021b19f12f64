"""The public NumPy-like functions, the operators of boxes and NumPy dispatch, all from the registry.

After the op modules have declared their primitives, :func:`install` builds, for every op:

* a public function (``autodiff.sin``, ``autodiff.linalg.inv``, ...) that calls NumPy directly
  when no argument is a box, and :func:`autodiff.core.bind` otherwise;
* the entries of the ``__array_ufunc__`` / ``__array_function__`` tables, so that plain
  ``np.sin(x)`` or ``np.sum(x, axis=0)`` on a box is differentiated;

and it installs the operators (``+ - * / ** @``, indexing, ``.T``, ``.sum()``, ...) on
:class:`autodiff.core.Box`. Rules in the op modules call these functions as ``anp.<name>``.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np

from autodiff import core
from autodiff.core import EMPTY, Box, bind, raw
from autodiff.registry import Op, ops

linalg = types.ModuleType(
    "autodiff.linalg", "Linear algebra primitives (autodiff.linalg.inv, ...)."
)

# NumPy callables whose result has no derivative (piecewise constant, boolean, integer or shape
# information): applied to boxes they see the plain values and return plain arrays.
NONDIFF_UFUNCS = {
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
    "logical_or", "logical_xor", "logical_not", "isnan", "isinf", "isfinite", "signbit",
    "floor", "ceil", "trunc", "rint", "floor_divide", "remainder", "fmod", "bitwise_and",
    "bitwise_or", "bitwise_xor", "invert",
}  # fmt: skip
NONDIFF_FUNCTIONS = {
    np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.argwhere, np.nonzero,
    np.count_nonzero, np.isclose, np.allclose, np.array_equal, np.zeros_like, np.ones_like,
    np.empty_like, np.full_like, np.result_type, np.any, np.all, np.round, np.around,
    np.searchsorted, np.unique, np.iscomplexobj, np.isrealobj, np.may_share_memory,
    np.shares_memory, np.array_repr, np.array_str, np.floor, np.ceil, np.sign,
}  # fmt: skip
UFUNC_ALIASES = {"absolute": "abs", "true_divide": "divide"}
FUNCTION_ALIASES = {np.amax: "max", np.amin: "min", np.abs: "abs", np.absolute: "abs"}

_ufunc_table: dict[str, Op] = {}
_function_table: dict[Callable, Callable] = {}


def make_public(op: Op) -> Callable[..., Any]:
    """The public function of ``op``: NumPy on plain arrays, ``bind`` when a box is present."""
    primal = op.primal
    names = tuple(op.params)
    defaults = op.params
    n = op.nargs

    if n == 1 and not names:

        def fn(x):
            if isinstance(x, Box):
                return x._trace.process1(op, x)
            return primal(x)

    elif n == 2 and not names:

        def fn(x, y):
            if isinstance(x, Box) or isinstance(y, Box):
                return bind(op, (x, y), EMPTY)
            return primal(x, y)

    elif n == -1:

        def fn(arrays, *args, **kwargs):
            if isinstance(arrays, (Box, np.ndarray)):
                arrays = list(arrays)
            return bind(op, tuple(arrays), _params(op, names, defaults, args, kwargs))

    else:

        def fn(*args, **kwargs):
            if len(args) < n:
                raise TypeError(f"{op.name}() takes {n} array argument(s), got {len(args)}")
            return bind(op, args[:n], _params(op, names, defaults, args[n:], kwargs))

    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = _docstring(op)
    fn.op = op
    return fn


def _params(op: Op, names: tuple, defaults: dict, extra: tuple, kwargs: dict) -> dict:
    if len(extra) > len(names):
        raise TypeError(
            f"{op.name}() takes at most {len(names)} parameter(s) after the arrays "
            f"({', '.join(names) or 'none'}), got {len(extra)}"
        )
    params = dict(defaults)
    params.update(zip(names, extra))
    for key, value in kwargs.items():
        if key not in defaults:
            raise TypeError(
                f"{op.name}() got an unexpected keyword argument {key!r}; "
                f"it accepts {', '.join(names) or 'no keyword arguments'}"
            )
        params[key] = value
    return params


def _docstring(op: Op) -> str:
    sig = ", ".join(["x"] if op.nargs == 1 else [f"x{i}" for i in range(max(op.nargs, 0))])
    if op.nargs == -1:
        sig = "arrays"
    sig += "".join(f", {k}={v!r}" for k, v in op.params.items())
    lines = [f"{op.doc or op.name} (registered primitive ``{op.name}({sig})``)."]
    if op.jvp_formula:
        lines += ["", f"Forward rule: ``{op.jvp_formula}``."]
    if op.vjp_formula:
        lines += [f"Reverse rule: ``{op.vjp_formula}``."]
    lines += ["", "Plain arrays go straight to NumPy; traced values are differentiated."]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# NumPy dispatch on boxes
# --------------------------------------------------------------------------------------------


def _plain(args: Any) -> Any:
    if isinstance(args, (list, tuple)):
        return type(args)(_plain(a) for a in args)
    return raw(args)


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    name = ufunc.__name__
    if method == "__call__" and not kwargs:
        op = _ufunc_table.get(name)
        if op is not None:
            if len(inputs) == 1 and not op.params:  # np.sin(box): the box is self
                return self._trace.process1(op, self)
            return bind(op, inputs, EMPTY if not op.params else dict(op.params))
    if name in NONDIFF_UFUNCS:
        return getattr(ufunc, method)(*_plain(inputs), **kwargs)
    what = f"np.{name}" + ("" if method == "__call__" else f".{method}")
    extra = f" with {', '.join(kwargs)}=" if kwargs else ""
    raise TypeError(
        f"{what}{extra} is not supported on {type(self).__name__} values: autodiff has no "
        "derivative rule for it. Use an autodiff function, or add the op with "
        "autodiff.registry.defop (see the docs' op registry page)"
    )


def _array_function(self, func, types_, args, kwargs):
    fn = _function_table.get(func)
    if fn is not None:
        return fn(*args, **kwargs)
    if func in NONDIFF_FUNCTIONS:
        return func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})
    raise TypeError(
        f"np.{func.__name__} is not supported on {type(self).__name__} values: autodiff has no "
        "derivative rule for it. Use an autodiff function, or add the op with "
        "autodiff.registry.defop (see the docs' op registry page)"
    )


def _no_array(self, dtype=None, copy=None):
    raise TypeError(
        f"cannot turn a {type(self).__name__} into a NumPy array: that would drop its derivative. "
        "Use autodiff's functions (or np.* functions, which dispatch to them), e.g. ad.stack "
        "instead of np.array([...])"
    )


def _no_float(self):
    raise TypeError(
        f"cannot convert a {type(self).__name__} to a Python number inside a transformed "
        "function: that would drop its derivative. Keep it an array"
    )


def _no_setitem(self, key, value):
    raise TypeError(
        f"{type(self).__name__} values are immutable inside a transformed function; build a new "
        "array instead, e.g. with ad.where(mask, new, x) or ad.concatenate"
    )


def _compare(ufunc):
    def method(self, other):
        return ufunc(raw(self), raw(other))

    return method


def _binary(op: Op, reflected: bool = False):
    if reflected:

        def method(self, other):
            t = self._trace
            if isinstance(other, Box) and other._trace.level > t.level:
                t = other._trace
            return t.process2(op, other, self)

    else:

        def method(self, other):
            t = self._trace
            if isinstance(other, Box) and other._trace.level > t.level:
                t = other._trace
            return t.process2(op, self, other)

    return method


def _unary(op: Op):
    def method(self):
        return self._trace.process1(op, self)

    return method


def _install_box_methods(get: Callable[[str], Callable]) -> None:
    from autodiff.registry import get as get_op

    B = Box
    for name, opname in [
        ("add", "add"),
        ("sub", "subtract"),
        ("mul", "multiply"),
        ("truediv", "divide"),
        ("pow", "power"),
        ("matmul", "matmul"),
    ]:
        op = get_op(opname)
        setattr(B, f"__{name}__", _binary(op))
        # x + y and x * y equal y + x and y * x exactly (IEEE), so 3 * x records x first, as
        # PyTorch's graph does (its __rmul__ is self.mul(other))
        setattr(B, f"__r{name}__", _binary(op, reflected=opname not in ("add", "multiply")))
    B.__neg__ = _unary(get_op("negative"))
    B.__abs__ = _unary(get_op("abs"))
    B.__pos__ = lambda self: self
    for name, uf in [
        ("lt", np.less),
        ("le", np.less_equal),
        ("gt", np.greater),
        ("ge", np.greater_equal),
        ("eq", np.equal),
        ("ne", np.not_equal),
    ]:
        setattr(B, f"__{name}__", _compare(uf))
    B.__hash__ = object.__hash__
    getitem = get_op("getitem")

    def __getitem__(self, index):
        return self._trace.process(getitem, (self,), {"index": _plain(index)})

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        for i in range(self.shape[0]):
            yield self[i]

    def __bool__(self):
        return bool(raw(self))

    B.__getitem__ = __getitem__
    B.__iter__ = __iter__
    B.__bool__ = __bool__
    B.__array__ = _no_array
    B.__float__ = _no_float
    B.__int__ = _no_float
    B.__setitem__ = _no_setitem
    B.__array_ufunc__ = _array_ufunc
    B.__array_function__ = _array_function

    B.T = property(lambda self: get("transpose")(self))
    B.mT = property(lambda self: get("swapaxes")(self, -1, -2))

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return get("reshape")(self, shape)

    def transpose(self, *axes):
        if (len(axes) == 1 and isinstance(axes[0], (tuple, list))) or not axes:
            axes = axes[0] if axes else None
        return get("transpose")(self, axes)

    B.reshape = reshape
    B.transpose = transpose
    B.flatten = lambda self: get("reshape")(self, (-1,))
    B.ravel = B.flatten
    B.copy = lambda self: self
    B.astype = lambda self, dtype, copy=True: get("astype")(self, dtype)
    for name in [
        "sum", "mean", "prod", "max", "min", "var", "std", "cumsum", "swapaxes", "squeeze",
        "clip", "dot", "repeat", "diagonal", "trace",
    ]:  # fmt: skip
        setattr(B, name, _method(get, name))
    B.argmax = lambda self, *a, **k: np.argmax(raw(self), *a, **k)
    B.argmin = lambda self, *a, **k: np.argmin(raw(self), *a, **k)


def _method(get, name):
    def method(self, *args, **kwargs):
        return get(name)(self, *args, **kwargs)

    method.__name__ = name
    return method


def install(namespace: dict[str, Any]) -> None:
    """Build the public functions and dispatch tables from the registry (once, at import).

    Ops declared later are wired the same way as they are declared (and unwired by
    :func:`autodiff.registry.remove`).
    """
    from autodiff import registry

    for op in ops():
        _wire(op, namespace)
    for alias, name in UFUNC_ALIASES.items():
        if name in namespace:
            _ufunc_table[alias] = namespace[name].op
    for np_fn, name in FUNCTION_ALIASES.items():
        if name in namespace:
            _function_table[np_fn] = namespace[name]
    for name, fn in _EXTRA_DISPATCH.items():
        _function_table[name] = fn
    _install_box_methods(lambda name: core._PUBLIC[name])
    registry._wire.append(lambda op: _wire(op, namespace))
    registry._unwire.append(lambda op: _unwire(op, namespace))


def _numpy_twin(op: Op) -> Any:
    np_namespace = np.linalg if op.module == "linalg" else np
    return getattr(np_namespace, op.name, None)


def _wire(op: Op, namespace: dict[str, Any]) -> None:
    """Give ``op`` its public function (``autodiff.<name>``) and NumPy dispatch."""
    if op.public is None:
        op.public = make_public(op)
    if op.module == "linalg":
        linalg.__dict__[op.name] = op.public
    else:
        namespace[op.name] = op.public
        globals()[op.name] = op.public  # rules call them as anp.<name>
    core._PUBLIC[op.name] = op.public
    np_fn = _numpy_twin(op)
    if isinstance(np_fn, np.ufunc):
        _ufunc_table[np_fn.__name__] = op
    elif callable(np_fn):
        _function_table[np_fn] = op.public


def _unwire(op: Op, namespace: dict[str, Any]) -> None:
    target = linalg.__dict__ if op.module == "linalg" else namespace
    if target.get(op.name) is op.public:
        del target[op.name]
        globals().pop(op.name, None)
    if core._PUBLIC.get(op.name) is op.public:
        del core._PUBLIC[op.name]
    np_fn = _numpy_twin(op)
    if isinstance(np_fn, np.ufunc) and _ufunc_table.get(np_fn.__name__) is op:
        del _ufunc_table[np_fn.__name__]
    elif callable(np_fn) and _function_table.get(np_fn) is op.public:
        del _function_table[np_fn]


_EXTRA_DISPATCH: dict[Callable, Callable] = {}


def dispatch_also(np_fn: Callable) -> Callable[[Callable], Callable]:
    """Decorator: route ``np_fn`` on boxes to the decorated autodiff function."""

    def deco(fn: Callable) -> Callable:
        _EXTRA_DISPATCH[np_fn] = fn
        return fn

    return deco
