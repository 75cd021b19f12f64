"""The op registry: every differentiable primitive, declared once.

An :class:`Op` holds three things side by side: the NumPy implementation on plain arrays (the
*primal*), a JVP rule (tangent out from tangents in) and a VJP rule (cotangents in from the
cotangent out). Both engines, the ``Tensor`` facade, the public ``autodiff.<name>`` functions,
NumPy dispatch, the gradient tests and the op table of the docs read this table and nothing else.

This module imports nothing from the rest of the package: it only stores declarations.

Rules come in two forms:

* **per argument**: a tuple with one function per differentiable argument,
  ``rule(t, ans, *args, **params)`` for a JVP (the tangent contribution of that argument) and
  ``rule(g, ans, *args, **params)`` for a VJP (the cotangent of that argument). The engines skip
  the arguments whose tangent is a symbolic zero or whose cotangent nobody needs, so a rule never
  sees ``None``.
* **whole**: one function ``rule(tangents, ans, *args, **params)`` for ops with a variable number
  of arguments (``concatenate``, ``stack``); ``tangents`` holds ``None`` for symbolic zeros, which
  the rule instantiates with :func:`autodiff.core.zeros_for` (the one shared helper).

An elementwise op can give only its partial derivatives, ``partials=(d0, d1, ...)`` with
``d(ans, *args) -> array``; :func:`defop` derives both rules: ``jvp = t * d`` and ``vjp = g * d``.
A linear op can say ``linear=True`` and get its JVP for free: the op applied to the tangent.

Examples:
    >>> import numpy as np
    >>> from autodiff.registry import get
    >>> op = get("sin")
    >>> op.name, op.nargs, op.elementwise
    ('sin', 1, True)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Rule = Callable[..., Any]


@dataclass(eq=False)
class Op:
    """One primitive: its NumPy primal and its derivative rules.

    Attributes:
        name: public name (``autodiff.<name>``, ``Tensor.<name>``).
        primal: the NumPy implementation, ``primal(*arrays, **params)``.
        nargs: number of array (differentiable) positional arguments; ``-1`` for a variable number.
        params: keyword parameters and their defaults, in positional order after the arrays.
        jvp: per-argument tuple of JVP rules, or one whole rule when ``jvp_whole`` is true.
        vjp: per-argument tuple of VJP rules, or one whole rule when ``vjp_whole`` is true.
        linear: the op is linear in every array argument (its JVP is the op on the tangents).
        elementwise: the op maps broadcast elements to elements (the engines align the tangents).
        batchable: the rules accept tangents/cotangents with extra leading (batch) axes.
        samples: ``samples(rng) -> list of (args, params)`` valid inputs for the gradient checks.
        jvp_formula / vjp_formula: the rules in one line each, for the docs' op table.
        differentiable: ``False`` for ops whose derivative is zero everywhere it exists
            (``sign``); the engines then skip them and return plain arrays.
        doc: one-line description.
        module: the namespace of the public function: ``""`` (``autodiff.<name>``), ``"linalg"``,
            ``"fft"`` or ``"special"`` (``autodiff.linalg.<name>``, ...).
        numpy: the NumPy callables (ufuncs or functions) that dispatch to this op on boxes; by
            default the one of the same name in NumPy's namespace for ``module``.
        torch: the name of the ``Tensor`` method (PyTorch's), or ``None`` for no method.
        torch_args: PyTorch's names for the op's parameters (``{"axis": "dim"}``).
        complex: what the rules do with complex values: ``False`` (real only, not checked on
            complex samples), ``True`` (complex values, rules in JAX's convention: the VJP is the
            transpose ``u·J`` with no conjugation), or ``"holomorphic"`` (also complex-linear in
            the tangent). The registry-wide test runs such ops on complex samples.
    """

    name: str
    primal: Callable[..., Any]
    nargs: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    jvp: Any = None
    vjp: Any = None
    jvp_whole: bool = False
    vjp_whole: bool = False
    linear: bool = False
    elementwise: bool = False
    batchable: bool = False
    samples: Callable[[Any], list] | None = None
    jvp_formula: str = ""
    vjp_formula: str = ""
    differentiable: bool = True
    doc: str = ""
    module: str = ""
    public: Callable[..., Any] | None = None
    numpy: tuple[Callable[..., Any], ...] = ()
    torch: str | None = None
    torch_args: dict[str, str] = field(default_factory=dict)
    complex: bool | str = False
    # What the tape must keep for this op's rules: None (everything), or (keep ans, unread), the
    # positions of the arguments that no rule reads (a tape may drop those when they are large).
    keeps: tuple[bool, tuple[int, ...]] | None = None

    def __repr__(self) -> str:
        return f"<Op {self.name}>"


_OPS: dict[str, Op] = {}
# Set by autodiff.numpy_api once the package is imported: makes an op declared later (by a user)
# a public function with NumPy dispatch too, and undoes that on removal.
_wire: list[Callable[[Op], None]] = []
_unwire: list[Callable[[Op], None]] = []


def defop(
    name: str,
    primal: Callable[..., Any],
    *,
    nargs: int = 1,
    params: dict[str, Any] | None = None,
    jvp: Rule | Sequence[Rule | None] | None = None,
    vjp: Rule | Sequence[Rule | None] | None = None,
    partials: Sequence[Rule] | None = None,
    linear: bool = False,
    elementwise: bool = False,
    batchable: bool | None = None,
    samples: Callable[[Any], list] | None = None,
    formula: str = "",
    vjp_formula: str = "",
    differentiable: bool = True,
    doc: str = "",
    module: str = "",
    numpy: Callable[..., Any] | Sequence[Callable[..., Any]] | None = None,
    torch: str | None = None,
    torch_args: dict[str, str] | None = None,
    saves: Sequence[str | int] | None = None,
    complex: bool | str = False,
) -> Op:
    """Declare a primitive and add it to the registry.

    Args:
        name: the public name; must be new.
        primal: NumPy implementation on plain arrays.
        nargs: how many leading positional arguments are arrays (``-1``: all of them).
        params: non-differentiable keyword parameters with their defaults, in order.
        jvp: JVP rule(s); see the module docstring. Omit with ``linear=True`` or ``partials``.
        vjp: VJP rule(s). Omit with ``partials``.
        partials: for elementwise ops, ``d_i(ans, *args)`` per argument; derives both rules.
        linear: linear in every array argument; the JVP is derived from the primal.
        elementwise: maps elements to elements, with NumPy broadcasting.
        batchable: rules accept extra leading batch axes; defaults to ``elementwise``.
        samples: ``samples(rng)`` returning ``[(args, params), ...]`` for the gradient checks.
        formula: the JVP (or common) formula in one line, e.g. ``"d sin(x) = cos(x) dx"``.
        vjp_formula: the VJP formula in one line, e.g. ``"x̄ = ḡ · cos(x)"``.
        differentiable: ``False`` declares a zero derivative (the engines skip the op).
        doc: one-line description for the docs.
        module: namespace of the public function (``""``, ``"linalg"``, ``"fft"``, ``"special"``).
        numpy: the NumPy callable(s) that dispatch to this op on boxes (default: NumPy's function
            of the same name in ``module``'s namespace, if there is one).
        torch: PyTorch's name for the op, which becomes a ``Tensor`` method.
        torch_args: PyTorch's names for the parameters, e.g. ``{"shift": "shifts"}``.
        saves: what the rules read, for the tape: ``"ans"`` and argument positions, e.g.
            ``("ans",)`` for ``exp``. By default it is found from the rules' code (and when that
            cannot be known, the tape keeps everything).
        complex: ``True`` when the rules handle complex values (JAX's convention, see
            :class:`Op`), ``"holomorphic"`` when the op is also complex-differentiable.

    Rules must follow two conventions. They are written with the library's own functions
    (``anp.<name>``), never by reaching into boxes, so that they can be differentiated again.
    And they respect the user's array type (duck arrays: dask, later GPU arrays): never
    ``np.asarray``/``np.zeros``/``np.ones`` a user's value or one derived from it; read
    ``.shape``/``.dtype``, convert with ``.astype``, and create arrays from the primal with the
    helpers of ``autodiff.arrays`` (``zeros_like``, ``ones_like``, ``full_like``,
    ``asarray_like`` for a NumPy constant); a value-dependent fast path asks ``maybe_any(mask)``,
    which never computes a lazy array. An op that only works on NumPy arrays raises a clear
    error naming itself on any other array type.

    Returns:
        The registered :class:`Op`.

    Raises:
        ValueError: the name is taken, or rules do not match ``nargs``.
    """
    if name in _OPS or name in _COMPOSITES:
        raise ValueError(f"op {name!r} is already registered")
    jvp_whole = callable(jvp)
    vjp_whole = callable(vjp)
    if partials is not None:
        partials = tuple(partials)
        if jvp is None:
            jvp = tuple(_rule_from_partial(d) for d in partials)
            jvp_whole = False
        if vjp is None:
            vjp = tuple(_rule_from_partial(d) for d in partials)
            vjp_whole = False
    if not differentiable:
        jvp_whole = vjp_whole = False
    if not jvp_whole and jvp is not None and nargs >= 0 and len(jvp) != nargs:
        raise ValueError(f"op {name!r}: {len(jvp)} JVP rules for {nargs} array arguments")
    if not vjp_whole and vjp is not None and nargs >= 0 and len(vjp) != nargs:
        raise ValueError(f"op {name!r}: {len(vjp)} VJP rules for {nargs} array arguments")
    op = Op(
        name=name,
        primal=primal,
        nargs=nargs,
        params=dict(params or {}),
        jvp=jvp,
        vjp=vjp,
        jvp_whole=jvp_whole,
        vjp_whole=vjp_whole,
        linear=linear,
        elementwise=elementwise,
        batchable=elementwise if batchable is None else batchable,
        samples=samples,
        jvp_formula=formula,
        vjp_formula=vjp_formula,
        differentiable=differentiable,
        doc=doc,
        module=module,
        numpy=_as_callables(numpy),
        torch=torch,
        torch_args=dict(torch_args or {}),
        complex=complex,
    )
    if linear and jvp is None:
        if nargs != 1:
            raise ValueError(f"op {name!r}: linear=True derives a JVP for one array argument only")
        op.jvp = (_linear_jvp(op),)
    op.keeps = _what_rules_read(op) if saves is None else _declared_reads(op, saves)
    _OPS[name] = op
    for hook in _wire:
        hook(op)
    return op


@dataclass(eq=False)
class Composite:
    """A public function built from registered ops (``hstack`` from ``concatenate``).

    Its derivatives are those of the ops it calls, so it needs no rules; like an op it gets a
    public function, NumPy dispatch, a ``Tensor`` method (``torch``) and the registry-wide
    gradient checks (``samples``).
    """

    name: str
    fn: Callable[..., Any]
    numpy: tuple[Callable[..., Any], ...] = ()
    module: str = ""
    samples: Callable[[Any], list] | None = None
    torch: str | None = None
    doc: str = ""
    torch_args: dict[str, str] = field(default_factory=dict)
    complex: bool | str = False

    @property
    def public(self) -> Callable[..., Any]:
        return self.fn

    def __repr__(self) -> str:
        return f"<Composite {self.name}>"


_COMPOSITES: dict[str, Composite] = {}


def defcomposite(
    name: str | None = None,
    *,
    numpy: Callable[..., Any] | Sequence[Callable[..., Any]] | None = None,
    module: str = "",
    samples: Callable[[Any], list] | None = None,
    torch: str | None = None,
    doc: str = "",
    torch_args: dict[str, str] | None = None,
    complex: bool | str = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: declare a public function written with registered ops.

    Use it when the function is an exact composition of primitives that is as fast as a
    primitive would be (``ravel`` is a ``reshape``); declare a primitive with :func:`defop` when
    it needs a rule of its own. ``samples(rng)`` returns ``[(args, params), ...]`` for the
    registry-wide gradient checks, which call ``fn(*args, **params)``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> from autodiff.registry import defcomposite, remove
        >>> @defcomposite(doc="x times itself")
        ... def self_product(x):
        ...     return ad.multiply(x, x)
        >>> float(ad.grad(ad.self_product)(3.0))
        6.0
        >>> _ = remove("self_product")
    """

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        key = name or fn.__name__
        if key in _OPS or key in _COMPOSITES:
            raise ValueError(f"{key!r} is already registered")
        comp = Composite(
            name=key,
            fn=fn,
            numpy=_as_callables(numpy),
            module=module,
            samples=samples,
            torch=torch,
            doc=doc or (fn.__doc__ or "").strip().split("\n")[0],
            torch_args=dict(torch_args or {}),
            complex=complex,
        )
        _COMPOSITES[key] = comp
        for hook in _wire:
            hook(comp)
        return fn

    return deco


def composites() -> list[Composite]:
    """Every registered composite function, in declaration order."""
    return list(_COMPOSITES.values())


def remove(name: str) -> Op:
    """Take an op out of the registry, its public function and NumPy dispatch (the undo of
    :func:`defop`, for experiments and tests).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> from autodiff.registry import defop, remove
        >>> _ = defop("cube", lambda x: x**3, partials=(lambda ans, x: 3 * x**2,),
        ...           elementwise=True, formula="d x³ = 3x² dx", vjp_formula="x̄ = 3x² ḡ")
        >>> float(ad.grad(ad.cube)(2.0))
        12.0
        >>> _ = remove("cube")
        >>> hasattr(ad, "cube")
        False
    """
    op = _COMPOSITES[name] if name in _COMPOSITES else get(name)
    for hook in _unwire:
        hook(op)
    (_COMPOSITES if name in _COMPOSITES else _OPS).pop(name)
    return op


def _rule_from_partial(d: Rule) -> Rule:
    """``t * d`` as a JVP rule, or ``g * d`` as a VJP rule: both have the same form."""

    def rule(t, ans, *args, **params):
        dx = d(ans, *args, **params) if params else d(ans, *args)
        # in place only into a fresh temporary: never into ans or an argument, whatever the
        # reference count says (3.14 borrows references that the count does not see)
        if (
            type(dx) is np.ndarray
            and dx.size >= _IN_PLACE_MIN_SIZE
            and dx is not ans
            and not any(dx is a for a in args)
        ):
            return _times(t, dx)
        return t * dx

    rule.reads_like = (d, 0)  # reads what d reads; d's parameters start at ans
    return rule


# Below this many elements a new array costs less than the checks that avoid it.
_IN_PLACE_MIN_SIZE = 4096


def _refcount_in_callee(x: Any) -> int:
    return sys.getrefcount(x)


def _held_by_one_local() -> int:
    x = object()
    return _refcount_in_callee(x)


# What getrefcount reports inside a callee for a value that only one local variable of its
# caller holds: measured rather than assumed, since interpreters differ in the references they
# count (3.14 borrows some).
_SOLE = _held_by_one_local()


def _times(g: Any, d: np.ndarray) -> Any:
    """``g * d`` for a derived rule, written into ``d`` when nothing but the calling rule holds
    it (a temporary the partial just made): a backward sweep then holds two arrays the size of
    ``g`` at a time instead of three, as a fused kernel would. The caller checked that ``d`` is
    a large ndarray and keeps it in one local variable."""
    if (
        sys.getrefcount(d) == _SOLE
        and type(g) is np.ndarray
        and d.shape == g.shape
        and d.dtype == g.dtype
        and d.base is None
        and d.flags.writeable
    ):
        return np.multiply(d, g, out=d)
    return g * d


# Opcodes that load something other than a local, cell or free variable of the function.
_OTHER_LOADS = frozenset({
    "LOAD_CONST", "LOAD_SMALL_INT", "LOAD_GLOBAL", "LOAD_NAME", "LOAD_ATTR", "LOAD_METHOD",
    "LOAD_SUPER_ATTR", "LOAD_ZERO_SUPER_ATTR", "LOAD_ZERO_SUPER_METHOD", "LOAD_BUILD_CLASS",
    "LOAD_ASSERTION_ERROR", "LOAD_COMMON_CONSTANT", "LOAD_SPECIAL", "LOAD_FROM_DICT_OR_GLOBALS",
    "LOAD_CONST_IMMORTAL", "LOAD_CONST_MORTAL", "LOAD_ATTR_METHOD",
})  # fmt: skip
# Builtins that read a frame's locals without a load opcode.
_INTROSPECTION = frozenset({"locals", "vars", "eval", "exec", "sys", "inspect"})


def _locals_read(code: Any) -> set[str] | None:
    """The local, cell and free variables that ``code`` loads, or ``None`` when that cannot be
    known: an opcode that loads something this list does not recognise means "maybe anything"
    (a new Python version must never turn into a wrong or crashing rule)."""
    import dis

    if _INTROSPECTION & set(code.co_names):
        return None
    read: set[str] = set()
    for ins in dis.get_instructions(code):
        name = ins.opname
        if "FAST" in name or "DEREF" in name or "CLOSURE" in name:
            if "LOAD" not in name:  # STORE_FAST, DELETE_DEREF, ...: no read
                continue
            value = ins.argval
            if not isinstance(value, (str, tuple)):
                return None
            read.update(value if isinstance(value, tuple) else (value,))
        elif name.startswith("LOAD") and name not in _OTHER_LOADS:
            return None
    return read


def _positions_read(fn: Any, first: int) -> set[int] | None:
    """Which positional parameters (counted from ``first``) the function's code reads, or
    ``None`` when that cannot be known (``*args``, builtins, callables without code, opcodes
    this module does not know)."""
    import inspect

    if hasattr(fn, "reads_like"):
        fn, first = fn.reads_like  # d(ans, *args): no leading tangent/cotangent parameter
    code = getattr(fn, "__code__", None)
    if code is None or code.co_flags & inspect.CO_VARARGS:
        return None
    read = _locals_read(code)
    if read is None:
        return None
    names = code.co_varnames[: code.co_argcount]
    return {i - first for i, n in enumerate(names) if n in read and i >= first}


def _declared_reads(op: Op, saves: Sequence[str | int]) -> tuple[bool, tuple[int, ...]] | None:
    """``keeps`` from an explicit ``saves=`` declaration."""
    keep_ans = "ans" in saves
    unread = tuple(i for i in range(max(op.nargs, 0)) if i not in saves)
    if op.nargs < 0 or (keep_ans and not unread):
        return None
    return keep_ans, unread


def _what_rules_read(op: Op) -> tuple[bool, tuple[bool, ...] | None] | None:
    """Whether the op's rules read ``ans`` and each argument, so the tape can drop what they
    never read (the tape holds only what rules need). ``None``: keep everything."""
    if op.nargs < 0 or op.jvp_whole or op.vjp_whole or not op.differentiable:
        return None
    used: set[int] = set()
    for rule in tuple(op.jvp or ()) + tuple(op.vjp or ()):
        if rule is None:
            continue
        got = _positions_read(rule, 1)  # rule(t_or_g, ans, *args): ans is position 0 here
        if got is None:
            return None
        used |= got
    keep_args = tuple(i + 1 in used for i in range(op.nargs))
    if 0 in used and all(keep_args):
        return None
    return 0 in used, tuple(i for i, keep in enumerate(keep_args) if not keep)


def _linear_jvp(op: Op) -> Rule:
    """JVP of an op linear in its array argument: the op itself applied to the tangent."""

    def rule(t, ans, x, **params):
        return op.public(t, **params)

    return rule


def _as_callables(numpy: Any) -> tuple[Callable[..., Any], ...]:
    if numpy is None:
        return ()
    return tuple(numpy) if isinstance(numpy, (tuple, list)) else (numpy,)


def get(name: str) -> Op:
    """The op registered as ``name``.

    Raises:
        KeyError: no such op, with the closest names.
    """
    try:
        return _OPS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, _OPS, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"no op named {name!r} in the registry{hint}") from None


def ops() -> list[Op]:
    """Every registered op, in declaration order.

    Examples:
        >>> import autodiff
        >>> from autodiff.registry import ops
        >>> "sin" in [op.name for op in ops()]
        True
    """
    return list(_OPS.values())
