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

from collections.abc import Callable
from typing import Any

import numpy as np

from autodiff import functions
from autodiff.core import EMPTY, Box, bind, raw
from autodiff.registry import Composite, Op, ops

# NumPy callables whose result has no derivative (piecewise constant, boolean, integer or shape
# information): applied to boxes they see the plain values and return plain arrays.
NONDIFF_UFUNCS = {
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
    "logical_or", "logical_xor", "logical_not", "isnan", "isinf", "isfinite", "signbit",
    "bitwise_and", "bitwise_or", "bitwise_xor", "invert",
}  # fmt: skip
NONDIFF_FUNCTIONS = {
    np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.argwhere, np.nonzero,
    np.count_nonzero, np.isclose, np.allclose, np.array_equal, np.zeros_like, np.ones_like,
    np.empty_like, np.result_type, np.any, np.all,
    np.searchsorted, np.iscomplexobj, np.isrealobj, np.may_share_memory,
    np.shares_memory, np.array_repr, np.array_str,
    np.argpartition, np.nanargmax, np.nanargmin, np.flatnonzero, np.lexsort, np.digitize,
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
        if type(op) is Op:
            if len(inputs) == 1 and not op.params:  # np.sin(box): the box is self
                return self._trace.process1(op, self)
            return bind(op, inputs, EMPTY if not op.params else dict(op.params))
        if op is not None:
            return op.composite.fn(*inputs)
    fn = _ufunc_method_table.get((name, method))
    if fn is not None:
        return fn(*inputs, **kwargs)
    if name in NONDIFF_UFUNCS:
        return getattr(ufunc, method)(*_plain(inputs), **{k: _plain(v) for k, v in kwargs.items()})
    what = f"np.{name}" + ("" if method == "__call__" else f".{method}")
    if kwargs and method == "__call__" and name in _ufunc_table:
        raise TypeError(
            f"{what} with {', '.join(f'{k}=' for k in kwargs)} is not supported on "
            f"{type(self).__name__} values: call it without them (out= would write into an array "
            "that a derivative needs; use ad.where for where=)"
        )
    key = ufunc if method == "__call__" else getattr(ufunc, method, None)
    raise TypeError(_unsupported_message(what, key, self))


def _array_function(self, func, types_, args, kwargs):
    fn = _function_table.get(func)
    if fn is not None:
        return fn(*args, **kwargs)
    if func in NONDIFF_FUNCTIONS:
        return func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})
    raise TypeError(_unsupported_message(_numpy_name(func), func, self))


def _numpy_name(func: Any) -> str:
    """``np.eigh`` as NumPy users write it: ``np.linalg.eigh``, ``np.fft.fft``."""
    module = getattr(func, "__module__", "numpy") or "numpy"
    sub = module.split(".")[1] if module.startswith("numpy.") else ""
    sub = "" if sub in ("", "core", "_core", "lib", "matrixlib") or sub.startswith("_") else sub
    return f"np.{sub + '.' if sub else ''}{func.__name__}"


def _unsupported_message(what: str, func: Any, box: Any) -> str:
    kind = type(box).__name__
    reason = UNSUPPORTED.get(func)
    if reason is not None:
        return f"{what} is not supported on {kind} values: {reason}"
    return (
        f"{what} is not supported on {kind} values: autodiff has no derivative rule for it. "
        "Use an autodiff function, or add the op with autodiff.registry.defop (see the docs' "
        "op registry page and its NumPy coverage page)"
    )


def _no_array(self, dtype=None, copy=None):
    kind = type(self).__name__
    raise TypeError(
        f"NumPy asked a traced value ({kind}) for a plain array: np.array([...]) or "
        "np.asarray(...) of traced values, or a function that converts its input, would drop its "
        "derivative. "
        "Build arrays from traced values with ad.array([...]) or ad.asarray(...), which accept "
        "nested lists mixing traced values and numbers, or with ad.stack([...]); call np.* "
        "functions on the traced values themselves (they dispatch to autodiff); use ad.raw(x) "
        "for the value without its derivative"
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
        ("mod", "remainder"),  # Python's % is NumPy's remainder (the sign of the divisor)
        ("floordiv", "floor_divide"),
    ]:
        op = get_op(opname)
        setattr(B, f"__{name}__", _binary(op))
        # x + y and x * y equal y + x and y * x exactly (IEEE), so 3 * x records x first, as
        # PyTorch's graph does (its __rmul__ is self.mul(other))
        setattr(B, f"__r{name}__", _binary(op, reflected=opname not in ("add", "multiply")))
    B.__divmod__ = lambda self, other: get("divmod")(self, other)
    B.__rdivmod__ = lambda self, other: get("divmod")(other, self)
    B.__round__ = lambda self, ndigits=None: get("round")(self, ndigits or 0)
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
    B.real = property(lambda self: get("real")(self))
    B.imag = property(lambda self: get("imag")(self))
    B.conj = B.conjugate = lambda self: get("conj")(self)
    B.__complex__ = _no_float
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
    B.flatten = lambda self, order="C": get("ravel")(self, order)
    B.ravel = B.flatten
    B.copy = lambda self: self
    B.astype = lambda self, dtype, copy=True: get("astype")(self, dtype)
    for name in [
        "sum", "mean", "prod", "max", "min", "var", "std", "cumsum", "swapaxes", "squeeze",
        "clip", "dot", "repeat", "diagonal", "trace", "take",
    ]:  # fmt: skip
        setattr(B, name, _method(get, name))
    B.argmax = lambda self, *a, **k: np.argmax(raw(self), *a, **k)
    B.argmin = lambda self, *a, **k: np.argmin(raw(self), *a, **k)
    B.argsort = lambda self, *a, **k: np.argsort(raw(self), *a, **k)
    B.argpartition = lambda self, *a, **k: np.argpartition(raw(self), *a, **k)
    B.nonzero = lambda self: np.nonzero(raw(self))
    B.searchsorted = lambda self, v, *a, **k: np.searchsorted(raw(self), raw(v), *a, **k)
    B.cumprod = _method(get, "cumprod")


def _method(get, name):
    def method(self, *args, **kwargs):
        return get(name)(self, *args, **kwargs)

    method.__name__ = name
    return method


def install(namespace: dict[str, Any]) -> None:
    """Build the public functions and dispatch tables from the registry (once, at import).

    ``namespace`` is the package's own (``autodiff.<name>``). Ops and composites declared later
    are wired the same way as they are declared (and unwired by
    :func:`autodiff.registry.remove`).
    """
    from autodiff import registry

    _ROOT.append(namespace)
    for op in [*ops(), *registry.composites()]:
        _wire(op)
    for alias, name in UFUNC_ALIASES.items():
        _ufunc_table[alias] = registry.get(name)
    for np_fn, name in FUNCTION_ALIASES.items():
        _function_table[np_fn] = getattr(functions, name)
    _install_box_methods(lambda name: getattr(functions, name))
    registry._wire.append(_wire)
    registry._unwire.append(_unwire)


_ROOT: list[dict[str, Any]] = []  # the package namespace, once install() has run


def _numpy_twins(op: Op | Composite) -> tuple[Callable, ...]:
    """The NumPy callables that dispatch to ``op``: declared, or NumPy's of the same name."""
    if op.numpy:
        return op.numpy
    np_namespace = {"": np, "linalg": np.linalg, "fft": np.fft}.get(op.module)
    twin = getattr(np_namespace, op.name, None) if np_namespace is not None else None
    return (twin,) if callable(twin) else ()


def _wire(op: Op | Composite) -> None:
    """Give ``op`` its public function (``autodiff.<name>``) and NumPy dispatch."""
    if isinstance(op, Op) and op.public is None:
        op.public = make_public(op)
    public = op.public
    if op.name not in functions.NAMESPACES:  # the op fft lives in functions.fft, the namespace
        setattr(functions, op.name, public)  # rules call them as anp.<name>
    if op.module:
        setattr(functions.NAMESPACES[op.module], op.name, public)
    elif _ROOT:
        _ROOT[0][op.name] = public
    for np_fn in _numpy_twins(op):
        key = _ufunc_name(np_fn)
        if key is not None:
            if isinstance(op, Composite) and type(_ufunc_table.get(key)) is Op:
                continue  # another name of a ufunc an op serves (np.mod is np.remainder)
            _ufunc_table[key] = op if isinstance(op, Op) else _CompositeUfunc(op)
        else:
            _function_table[np_fn] = public


def replace_public(op: Op, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Make ``fn`` the public function of ``op`` (``autodiff.<name>``, its NumPy dispatch and its
    Tensor method), for an op whose parameters may also be traced values, which ``fn`` handles
    before binding the op (a parameter of a primitive has no derivative). Returns the op's own
    public function, which binds it with plain parameters."""
    wired = op.public is not None
    if wired:
        _unwire(op)
    plain = make_public(op)
    fn.op = op
    op.public = fn
    if wired:
        _wire(op)
    return plain


def _ufunc_name(np_fn: Any) -> str | None:
    """The dispatch key of a ufunc twin: its ``__name__`` (ufuncs dispatch by name). A twin given
    as a string names a ufunc of an optional package without importing it (``"erf"`` stands for
    ``scipy.special.erf``); ``None`` for a function."""
    if isinstance(np_fn, np.ufunc):
        return np_fn.__name__
    return np_fn if isinstance(np_fn, str) else None


def _unwire(op: Op | Composite) -> None:
    public = op.public
    spaces = [functions.__dict__, functions.NAMESPACES[op.module].__dict__ if op.module else None]
    if not op.module and _ROOT:
        spaces.append(_ROOT[0])
    for space in spaces:
        if space is not None and space.get(op.name) is public:
            del space[op.name]
    for np_fn in _numpy_twins(op):
        key = _ufunc_name(np_fn)
        if key is not None:
            entry = _ufunc_table.get(key)
            if entry is op or getattr(entry, "composite", None) is op:
                del _ufunc_table[key]
        elif _function_table.get(np_fn) is public:
            del _function_table[np_fn]


class _CompositeUfunc:
    """A ufunc served by a composite function (not an op): dispatch calls the function."""

    def __init__(self, composite: Composite) -> None:
        self.composite = composite


def dispatch_also(np_fn: Callable) -> Callable[[Callable], Callable]:
    """Decorator: route ``np_fn`` on boxes to the decorated autodiff function (at once)."""

    def deco(fn: Callable) -> Callable:
        _function_table[np_fn] = fn
        return fn

    return deco


def dispatch_ufunc_method(ufunc: np.ufunc, method: str) -> Callable[[Callable], Callable]:
    """Decorator: route ``ufunc.<method>`` (``np.add.reduce``, ``np.add.accumulate``, ...) on
    boxes to the decorated function, called with the same arguments."""

    def deco(fn: Callable) -> Callable:
        _ufunc_method_table[(ufunc.__name__, method)] = fn
        return fn

    return deco


_ufunc_method_table: dict[tuple[str, str], Callable] = {}

# NumPy callables that autodiff does not differentiate, with the reason (the error says it, and
# the docs' coverage page lists them).
UNSUPPORTED: dict[Any, str] = {}


def unsupported(reason: str, *np_fns: Any) -> None:
    """Record why these NumPy callables are not differentiable (for the error and the docs)."""
    for fn in np_fns:
        UNSUPPORTED[fn] = reason
