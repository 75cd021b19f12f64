"""``Tensor`` methods made from the op registry, under PyTorch's names and argument names.

Every op or composite declared with ``torch="name"`` becomes a real method of the tensor class:
``Tensor.name``, visible to ``dir()``, IDEs and the API docs, with a true signature. Its
parameters take PyTorch's names where the declaration's ``torch_args`` gives them
(``{"shift": "shifts", "axis": "dims"}`` makes ``t.roll(shifts=1, dims=0)``). An op of two arrays
takes the second as ``other``: ``a.maximum(b)``, ``a.atan2(b)``.

Methods written by hand in the class body win: they are the ones whose PyTorch semantics differ
from their op's (``max`` returning values and indices, ``var`` unbiased). An op declared later
gets its method at once, and :func:`autodiff.registry.remove` takes it away.

This module knows nothing of the tensor class: :func:`attach` receives it.

Examples:
    >>> import autodiff as ad
    >>> t = ad.tensor([0.0, 1.0], requires_grad=True)
    >>> t.atan2(ad.tensor([1.0, 1.0])).sum().backward()
    >>> t.grad
    tensor([1.0000, 0.5000])
"""

from __future__ import annotations

import inspect
import keyword
from collections.abc import Callable
from typing import Any

from autodiff import registry
from autodiff.registry import Composite, Op

# PyTorch's own aliases of its tensor methods (alias: the PyTorch name it stands for); an alias
# gets the method of the op whose PyTorch name it points to.
ALIASES = {
    "absolute": "abs", "arccos": "acos", "arccosh": "acosh", "arcsin": "asin",
    "arcsinh": "asinh", "arctan": "atan", "arctan2": "atan2", "arctanh": "atanh",
    "clip": "clamp", "divide": "div", "moveaxis": "movedim", "multiply": "mul",
    "negative": "neg", "subtract": "sub", "true_divide": "div",
}  # fmt: skip

_P = inspect.Parameter


def attach(cls: type) -> None:
    """Give ``cls`` a method for every registered op and composite that has a PyTorch name, now
    and whenever one is declared later; :func:`autodiff.registry.remove` takes it away.

    Names defined in the body of ``cls`` are left alone (hand-written methods win), and so are
    the properties and special methods it inherits (``shape``, ``__add__``)."""
    methods = _Methods(cls)
    for entry in [*registry.ops(), *registry.composites()]:
        methods.wire(entry)
    registry._wire.append(methods.wire)
    registry._unwire.append(methods.unwire)


class _Methods:
    """The generated methods of one class, kept in step with the registry."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        # never replaced: the class's own methods, and properties and dunders of its bases
        inherited = {n for base in cls.__mro__[1:] for n, v in vars(base).items()
                     if isinstance(v, property) or n.startswith("__")}  # fmt: skip
        self.hand_written = frozenset(vars(cls)) | inherited

    def names(self, entry: Op | Composite) -> list[str]:
        """The method names ``entry`` can give: its PyTorch name and PyTorch's aliases of it."""
        if not entry.torch:
            return []
        return [entry.torch, *(a for a, name in ALIASES.items() if name == entry.torch)]

    def wire(self, entry: Op | Composite) -> None:
        names = [n for n in self.names(entry) if n not in self.hand_written]
        if not names:
            return
        method = make_method(entry)
        if method is None:
            return
        for name in names:
            current = self.cls.__dict__.get(name)
            if current is None or getattr(current, "op", None) is entry:
                setattr(self.cls, name, method)
            # else: an op declared earlier holds the name, and keeps it

    def unwire(self, entry: Op | Composite) -> None:
        freed = []
        for name in self.names(entry):
            if getattr(self.cls.__dict__.get(name), "op", None) is entry:
                delattr(self.cls, name)
                freed.append(name)
        if freed:  # another op with the same PyTorch name takes it over
            for other in [*registry.ops(), *registry.composites()]:
                if other is not entry and other.torch == entry.torch:
                    self.wire(other)
                    break


def make_method(entry: Op | Composite) -> Callable[..., Any] | None:
    """The method of ``entry``: ``self`` is its first array argument (and ``other`` its second,
    for an op of two arrays); its parameters are renamed by ``entry.torch_args``. ``None`` when
    the entry does not take a tensor first (``stack`` takes a sequence).

    The method is compiled from its own source, as ``dataclasses`` does, so that it has a true
    signature (``inspect``, IDEs and error messages show PyTorch's names) and costs one call.
    """
    params = _parameters(entry)
    if params is None:
        return None
    _check_name(entry, entry.torch)
    rename = dict(getattr(entry, "torch_args", None) or {})
    unknown = set(rename) - {p.name for p in params}
    if unknown:
        raise ValueError(
            f"{entry.name}: torch_args renames {sorted(unknown)}, which are not its parameters "
            f"({', '.join(p.name for p in params)})"
        )
    namespace: dict[str, Any] = {"_entry": entry}
    signature, call = [], []
    keyword_only = False
    for i, p in enumerate(params):
        name = rename.get(p.name, p.name)
        _check_name(entry, name)
        default = ""
        if p.default is not _P.empty:
            namespace[f"_default{i}"] = p.default
            default = f"=_default{i}"
        if p.kind is _P.VAR_POSITIONAL:
            signature.append(f"*{name}")
            call.append(f"*{name}")
            keyword_only = True
        elif p.kind is _P.VAR_KEYWORD:
            signature.append(f"**{name}")
            call.append(f"**{name}")
        elif p.kind is _P.KEYWORD_ONLY:
            if not keyword_only:
                signature.append("*")
                keyword_only = True
            signature.append(name + default)
            call.append(f"{p.name}={name}")
        else:  # positional: passed on by position, in the entry's own order
            signature.append(name + default)
            call.append(name)
    header = f"def {entry.torch}({', '.join(signature)}):"
    exec(f"{header}\n    return _entry.public({', '.join(call)})\n", namespace)
    method = namespace[entry.torch]
    method.__qualname__ = f"Tensor.{entry.torch}"
    method.__module__ = "autodiff.tensor"
    method.__doc__ = _docstring(entry, rename)
    method.op = entry
    return method


def _check_name(entry: Op | Composite, name: str) -> None:
    """The method is compiled from source: its names must be plain identifiers."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{entry.name}: {name!r} is not a valid Python name for a Tensor method")


def _parameters(entry: Op | Composite) -> list[inspect.Parameter] | None:
    """The method's parameters, ``self`` (and ``other``) first, with the entry's own names."""
    if isinstance(entry, Op):
        if entry.nargs not in (1, 2):
            return None
        arrays = [_P("self", _P.POSITIONAL_OR_KEYWORD)]
        if entry.nargs == 2:
            arrays.append(_P("other", _P.POSITIONAL_OR_KEYWORD))
        rest = [_P(k, _P.POSITIONAL_OR_KEYWORD, default=v) for k, v in entry.params.items()]
        return arrays + rest
    try:
        params = list(inspect.signature(entry.fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if not params or params[0].kind not in (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD):
        return None
    first = params[0].replace(name="self", kind=_P.POSITIONAL_OR_KEYWORD)
    return [first] + [p.replace(kind=_P.POSITIONAL_OR_KEYWORD)
                      if p.kind is _P.POSITIONAL_ONLY else p for p in params[1:]]  # fmt: skip


def _docstring(entry: Op | Composite, rename: dict[str, str]) -> str:
    where = f"{entry.module}." if entry.module else ""
    lines = [
        f"{entry.doc or entry.name}: ``autodiff.{where}{entry.name}`` as a method, under "
        f"PyTorch's name ``Tensor.{entry.torch}``."
    ]
    if rename:
        pairs = ", ".join(f"``{t}`` (NumPy's ``{n}``)" for n, t in rename.items())
        lines += ["", f"Parameters in PyTorch's words: {pairs}."]
    formula = getattr(entry, "jvp_formula", "")
    if formula:
        lines += ["", f"Forward rule: ``{formula}``."]
    return "\n".join(lines)
