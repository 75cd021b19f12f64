"""Custom derivative rules for one Python function: ``custom_jvp`` and ``custom_vjp``, as in JAX.

``registry.defop`` declares a primitive for everyone: a public name, NumPy dispatch, a
``Tensor`` method, the registry-wide gradient checks. The two decorators here give **one**
function a rule of its own instead, with no global name: for a numerically stable derivative
(``log1pexp``), a derivative that is cheaper than differentiating the code (an implicit
function), or a deliberate change of the gradient (clipping it in the backward pass).

How it works: each decorated function owns an ad-hoc :class:`~autodiff.registry.Op` (never
registered) and applies it with :func:`~autodiff.core.bind` when one of its arguments is being
differentiated, so every engine handles it like a primitive: forward mode, the reverse tape, the
``Tensor`` facade, at any nesting depth. With no traced argument the function simply runs.
Arguments and outputs may be pytrees (nested tuples, lists, dicts of arrays): the op takes their
leaves and packs several outputs into one flat array.

* ``custom_jvp``: forward mode calls the rule. Reverse mode transposes it: the tangent output
  must be **linear in the tangents** (as JAX requires), and a VJP is the reverse-mode derivative
  of the map ``tangents ↦ rule(primals, tangents)[1]`` at the recorded primals, which is exact
  for a linear map. Higher orders differentiate the rule itself.
* ``custom_vjp``: reverse mode runs ``fwd`` (the output and the residuals) and calls
  ``bwd(residuals, g)`` in the sweep. Forward mode of the function itself raises a
  ``TypeError``, as in JAX. Under a reverse transform, an outer forward transform (a Hessian is
  forward over reverse) differentiates ``fwd`` and ``bwd`` as ordinary code, as JAX does. When
  the sweep meets traced inputs (a second derivative), ``fwd`` runs again on them, so that the
  derivative also flows through the residuals.

The rule covers the arguments only: pass every value to differentiate as an argument. A traced
value that the function takes from a closure is an error when an argument is traced too (with no
traced argument the function runs, and is differentiated as written).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autodiff import core, tree
from autodiff import functions as anp
from autodiff.boundary import flatten_output
from autodiff.core import Box, bind, raw, retire, shape_of, zeros_for
from autodiff.forward import Dual, ForwardTrace
from autodiff.registry import Op
from autodiff.reverse import Node, ReverseTrace, Traced, backward_sweep

__all__ = ["custom_jvp", "custom_vjp"]


# ---- packing several outputs into the one output of an op -----------------------------------


class _Layout:
    """How the outputs of a call are packed into one array: one output is its own packing; several
    are raveled and concatenated in a common dtype, and come back reshaped and cast."""

    __slots__ = ("dtype", "dtypes", "shapes", "single", "treedef")

    def __init__(self, outs: Sequence[Any], treedef: tree.PyTreeDef) -> None:
        self.treedef = treedef
        self.shapes = [tuple(shape_of(raw(o))) for o in outs]
        self.dtypes = [np.result_type(raw(o)) for o in outs]
        self.dtype = np.result_type(*self.dtypes)
        self.single = len(outs) == 1

    def pack(self, outs: Sequence[Any]) -> Any:
        if self.single:
            return outs[0]
        parts = [anp.reshape(o, (-1,)) for o in outs]
        parts = [p if p.dtype == self.dtype else anp.astype(p, self.dtype) for p in parts]
        return anp.concatenate(parts)

    def rebuild(self, packed: Any) -> Any:
        """The pytree of outputs held by ``packed`` (the op's output, or its cotangent)."""
        if self.single:
            outs = [packed]
        else:
            outs, start = [], 0
            lead = shape_of(packed)[:-1]
            for shape, dtype in zip(self.shapes, self.dtypes):
                n = int(np.prod(shape))
                part = anp.getitem(packed, index=(Ellipsis, slice(start, start + n)))
                part = anp.reshape(part, lead + shape)
                outs.append(part if dtype == self.dtype else anp.astype(part, dtype))
                start += n
        return outs[0] if self.treedef.is_leaf else tree.unflatten(self.treedef, outs)


def _is_float(x: Any) -> bool:
    dtype = getattr(raw(x), "dtype", None)
    return isinstance(raw(x), float) or (dtype is not None and np.issubdtype(dtype, np.inexact))


def _has_box(values: Any) -> bool:
    return any(isinstance(v, Box) for v in tree.leaves(values))


# ---- one call of a decorated function: the op's one parameter --------------------------------


class _Call:
    """One call of a decorated function, the ``rule`` parameter of its op: the structure of the
    arguments, the layout of the outputs (set when the primal runs) and, for ``custom_vjp``, the
    residuals of each evaluation of ``fwd`` on plain values, keyed by its output."""

    __slots__ = ("fn", "forward_below", "in_trees", "layout", "saved")

    def __init__(self, fn: _Custom, in_trees: list[tree.PyTreeDef]) -> None:
        self.fn = fn
        self.in_trees = in_trees
        self.layout: _Layout | None = None
        self.saved: dict[int, tuple[Any, tuple, Any]] = {}
        # custom_vjp: forward transforms run below the reverse one that owns the call (a Hessian)
        self.forward_below = False

    def args(self, leaves: Sequence[Any]) -> list:
        """The positional arguments of the function, rebuilt from the op's arguments."""
        out, start = [], 0
        for treedef in self.in_trees:
            n = treedef.num_leaves
            out.append(
                leaves[start]
                if treedef.is_leaf
                else tree.unflatten(treedef, leaves[start : start + n])
            )
            start += n
        return out

    def set_layout(self, out: Any, who: str) -> tuple:
        outs, treedef = flatten_output(out, who)
        if not outs:
            raise TypeError(f"{who} returned no array: there is nothing to differentiate")
        if self.layout is None:
            self.layout = _Layout(outs, treedef)
        return outs

    def __repr__(self) -> str:
        return "…"  # the tape prints "f[custom_jvp](rule=…)"


# ---- the decorators ---------------------------------------------------------------------------


class _Custom:
    """What both decorators share: argument handling, the op, the dispatch."""

    kind = ""

    def __init__(self, fun: Callable[..., Any]) -> None:
        if not callable(fun):
            raise TypeError(f"{self.kind} expects a function, got {type(fun).__name__}")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.name = getattr(fun, "__name__", type(fun).__name__)
        try:
            self.signature: inspect.Signature | None = inspect.signature(fun)
        except (TypeError, ValueError):
            self.signature = None
        self.op = Op(
            # never a registry name (transforms look rules up by name): "f[custom_jvp]"
            name=f"{self.name}[{self.kind}]",
            torch=self.name,  # the Tensor facade names the node after it: FBackward0
            primal=self._primal,
            nargs=-1,
            params={"rule": None},
            jvp=self._jvp,
            vjp=self._vjp,
            jvp_whole=True,
            vjp_whole=True,
            doc=f"{self.name}, with a {self.kind} rule",
        )

    def __repr__(self) -> str:
        return f"<{self.kind} function {self.name}>"

    def __get__(self, obj: Any, objtype: Any = None) -> Any:  # as a method
        return self if obj is None else functools.partial(self, obj)

    def _positional(self, args: tuple, kwargs: dict) -> tuple:
        """The arguments as positional ones, defaults included (JAX's resolve_kwargs)."""
        if self.signature is None:
            if kwargs:
                raise TypeError(f"{self.kind} function {self.name}: pass the arguments by position")
            return args
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        if bound.kwargs:
            raise TypeError(
                f"{self.kind} function {self.name}: keyword arguments {sorted(bound.kwargs)} "
                "could not be resolved to positions; pass them by position"
            )
        return bound.args

    def _check_defined(self) -> None:
        raise NotImplementedError

    def _check_mode(self, leaves: Sequence[Any], call: _Call) -> None:
        """Raise when a transform that this kind of rule cannot serve is the innermost one."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._check_defined()
        args = self._positional(args, kwargs)
        leaves, trees = [], []
        for a in args:
            got, treedef = tree.flatten(a)
            leaves.extend(got)
            trees.append(treedef)
        if not any(isinstance(x, Box) for x in leaves):
            return self.fun(*args)  # nothing is being differentiated: the function runs
        call = _Call(self, trees)
        self._check_mode(leaves, call)
        packed = bind(self.op, leaves, {"rule": call})  # the leaves as given: 1.0, axis=0
        return call.layout.rebuild(packed)

    def _closure_error(self, what: str) -> TypeError:
        return TypeError(
            f"{self.kind} function {self.name}: {what} holds a value that is being "
            "differentiated but did not come in as an argument (a traced value or a Tensor held "
            "in a closure or a global). The rule only covers the arguments: pass every value to "
            "differentiate as an argument"
        )

    def _pack_output(self, outs: Sequence[Any], leaves: Sequence[Any], call: _Call) -> Any:
        packed = call.layout.pack(outs)
        if isinstance(packed, (np.generic, int, float, complex)):
            packed = np.asarray(packed)  # a NumPy or Python scalar: the engines keep one object
        elif any(packed is x for x in leaves):  # the identity: never alias an input
            packed = packed.copy()
        return packed

    def _check_cotangents(self, cts: Any, call: _Call, leaves: Sequence[Any], who: str) -> list:
        """``bwd``'s cotangents as one per op argument (``None``: zero), checked against the
        arguments: a tuple with one entry per positional argument, each ``None`` or a pytree
        like its argument (``None`` inside it also means zero), with the arguments' shapes."""
        n = len(call.in_trees)
        if not isinstance(cts, tuple):
            raise TypeError(
                f"{who} must return a tuple with one cotangent per positional argument of "
                f"{self.name} ({n}), got {_describe(cts)}; for one argument write `return (g,)`"
            )
        if len(cts) != n:
            raise TypeError(
                f"{who} returned {len(cts)} cotangent{'s' * (len(cts) != 1)}, but {self.name} "
                f"takes {n} positional argument{'s' * (n != 1)}: return one per argument "
                "(None for a zero)"
            )
        flat: list = []
        for k, (treedef, ct) in enumerate(zip(call.in_trees, cts)):
            _up_to(treedef, ct, flat, f"cotangent {k}", who)
        out: list = []
        for i, (c, x) in enumerate(zip(flat, leaves)):
            if c is None or not _is_float(x):
                out.append(None)
                continue
            if not hasattr(c, "shape"):  # a Python number
                c = np.asarray(c, dtype=x.dtype if hasattr(x, "dtype") else np.result_type(x))
            if shape_of(c) != shape_of(x):
                raise ValueError(
                    f"{who} returned a cotangent of shape {shape_of(c)} for an argument of "
                    f"shape {shape_of(x)} ({_leaf_name(call, i)} of {self.name}); a cotangent "
                    "must have the shape of its argument"
                )
            out.append(c)
        return out


def _describe(x: Any) -> str:
    return "None" if x is None else f"a {type(x).__name__}"


def _leaf_name(call: _Call, i: int) -> str:
    """``argument k`` with its path inside a pytree (``argument 0['w']``), for the op's ``i``-th
    leaf."""
    start = 0
    for k, treedef in enumerate(call.in_trees):
        n = treedef.num_leaves
        if i < start + n:
            pairs, _ = tree.flatten_with_paths(tree.unflatten(treedef, range(n)))
            return f"argument {k}{pairs[i - start][0]}"
        start += n
    return f"leaf {i}"


def _up_to(treedef: tree.PyTreeDef, ct: Any, out: list, path: str, who: str) -> None:
    """Append the leaves of ``ct`` laid out as the argument structure ``treedef``; ``None`` for
    a whole subtree stands for zeros (one ``None`` per leaf), as in JAX."""
    if treedef.is_leaf:
        out.append(ct)
        return
    if ct is None:
        out.extend([None] * treedef.num_leaves)
        return
    kind = treedef.kind
    if kind == "dict":
        keys = treedef.meta[0]
        fits = isinstance(ct, dict) and set(ct) == set(keys)
        kids = [(f"{path}[{k!r}]", ct[k]) for k in keys] if fits else []
    else:
        fits = kind != "none" and isinstance(ct, (tuple, list))
        fits = fits and len(ct) == len(treedef.children)
        kids = [(f"{path}[{i}]", c) for i, c in enumerate(ct)] if fits else []
    if not fits:
        raise TypeError(
            f"{who} returned {path} as {_describe(ct)} ({tree.structure(ct)}), but the argument "
            f"has structure {treedef}; give a cotangent with the argument's structure (None "
            "for zeros)"
        )
    for sub, (where, kid) in zip(treedef.children, kids):
        _up_to(sub, kid, out, where, who)


def _find_traces(leaves: Sequence[Any]) -> list:
    """Every trace with a box among ``leaves`` (values and tangents, at any depth)."""
    found: dict[int, Any] = {}
    stack = list(leaves)
    while stack:
        v = stack.pop()
        if isinstance(v, Box):
            found[id(v._trace)] = v._trace
            # a vmap box keeps the values one level down in ``_batched``
            stack.append(v._batched if hasattr(v, "_batched") else v._value)
            if isinstance(v, Dual):
                stack.append(v.tangent)
    return sorted(found.values(), key=lambda t: -t.level)


class custom_jvp(_Custom):
    """A function with a custom JVP rule, JAX's ``jax.custom_jvp``.

    Decorate the function, then its rule with ``@f.defjvp``: ``rule(primals, tangents)``
    gets two tuples (one entry per positional argument, pytrees allowed) and returns
    ``(primal_out, tangent_out)``. Forward mode calls the rule; reverse mode transposes it, so
    ``tangent_out`` must be linear in the tangents (as in JAX); higher orders differentiate the
    rule. A tangent that is zero comes in as zeros.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> @ad.custom_jvp
        ... def f(x):
        ...     return x / (1 + np.sqrt(x))       # its derivative, as written, is NaN at 0
        >>> @f.defjvp
        ... def f_jvp(primals, tangents):
        ...     (x,), (t,) = primals, tangents
        ...     s = np.sqrt(x)
        ...     return f(x), t * (s + 2) / (2 * (s + 1) ** 2)
        >>> float(ad.grad(f)(0.0)), float(ad.jvp(f, (0.0,), (1.0,))[1])
        (1.0, 1.0)
    """

    kind = "custom_jvp"

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        if nondiff_argnums:
            raise NotImplementedError(
                "custom_jvp(nondiff_argnums=...) is not supported: pass such values as ordinary "
                "arguments (non-float leaves get no tangent) or close over them"
            )
        super().__init__(fun)
        self.jvp_rule: Callable[..., Any] | None = None

    def defjvp(self, jvp: Callable[..., Any]) -> Callable[..., Any]:
        """Set the rule ``jvp(primals, tangents) -> (primal_out, tangent_out)``; returns it, so
        it can be used as a decorator."""
        if not callable(jvp):
            raise TypeError(f"{self.name}.defjvp expects a function, got {type(jvp).__name__}")
        self.jvp_rule = jvp
        return jvp

    def _check_defined(self) -> None:
        if self.jvp_rule is None:
            raise AttributeError(
                f"No JVP defined for custom_jvp function {self.name} using defjvp: declare its "
                f"rule with @{self.name}.defjvp before calling it"
            )

    def _primal(self, *leaves: Any, rule: _Call) -> Any:
        outs = rule.set_layout(self.fun(*rule.args(leaves)), self.name)
        if any(isinstance(o, Box) for o in outs):
            raise self._closure_error(f"the output of {self.name}")
        return self._pack_output(outs, leaves, rule)

    def _tangent(
        self, tangents: Sequence[Any], ans: Any, leaves: Sequence[Any], call: _Call
    ) -> Any:
        """The packed ``tangent_out`` of the rule at ``leaves`` for ``tangents`` (no ``None``)."""
        who = f"the JVP rule of {self.name}"
        got = self.jvp_rule(tuple(call.args(leaves)), tuple(call.args(tangents)))
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            raise TypeError(
                f"{who} must return a pair (primal_out, tangent_out), got {_describe(got)}"
                + (f" of {len(got)}" if isinstance(got, (tuple, list)) else "")
            )
        layout = call.layout
        t_outs, t_def = flatten_output(got[1], who)
        if t_def != layout.treedef:
            raise TypeError(
                f"{who} returned tangent_out with structure {t_def}, but {self.name} returns "
                f"{layout.treedef}; tangent_out must have the output's structure"
            )
        fixed = []
        for k, (t, shape, dtype) in enumerate(zip(t_outs, layout.shapes, layout.dtypes)):
            if shape_of(t) != shape:
                raise ValueError(
                    f"{who} returned a tangent of shape {shape_of(t)} for an output of shape "
                    f"{shape}"
                    + (f" (output leaf {k})" if not layout.single else "")
                    + "; tangent_out must have the shape of the output"
                )
            if not hasattr(t, "dtype"):
                t = np.asarray(t, dtype=dtype)  # a Python number
            fixed.append(t)
        packed = layout.pack(fixed)
        return packed if packed.dtype == ans.dtype else core.cotangent_dtype(packed, ans)

    def _jvp(self, tangents: list, ans: Any, *leaves: Any, rule: _Call) -> Any:
        # d f(x) = rule(x, dx)[1]
        if all(t is None for t in tangents):
            return None
        full = [zeros_for(x) if t is None else t for t, x in zip(tangents, leaves)]
        return self._tangent(full, ans, leaves, rule)

    def _vjp(self, g: Any, ans: Any, *leaves: Any, rule: _Call) -> list:
        # x̄ = the transpose of t ↦ rule(x, t)[1] applied to ḡ (exact: the map is linear)
        floats = [i for i, x in enumerate(leaves) if _is_float(x)]

        def linear_map(*ts: Any) -> Any:
            full = [zeros_for(x) for x in leaves]
            for i, t in zip(floats, ts):
                full[i] = t
            return self._tangent(full, ans, leaves, rule)

        cts = _pullback(linear_map, [zeros_for(leaves[i]) for i in floats], g)
        out: list = [None] * len(leaves)
        for i, c in zip(floats, cts):
            out[i] = c
        return out


class custom_vjp(_Custom):
    """A function with a custom VJP rule, JAX's ``jax.custom_vjp``.

    Decorate the function, then give its rule with ``f.defvjp(fwd, bwd)``: ``fwd(*args)``
    returns ``(out, residuals)`` (anything ``bwd`` needs), and ``bwd(residuals, g)`` returns a
    tuple with one cotangent per positional argument of ``f`` (``None`` for a zero; a pytree
    like its argument). Reverse mode (``grad``, ``vjp``, ``jacrev``, ``Tensor.backward``) uses
    the rule; forward mode of ``f`` itself (``jvp``, ``jacfwd``, ``linearize``) raises a
    ``TypeError``, as in JAX, but a forward transform *outside* a reverse one (``hessian``,
    ``hvp``) differentiates ``fwd`` and ``bwd`` as ordinary code. Write ``fwd`` and ``bwd``
    with NumPy or ``autodiff`` functions, and second derivatives work too.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> @ad.custom_vjp
        ... def clip_gradient(lo, hi, x):
        ...     return x                                  # the identity...
        >>> def fwd(lo, hi, x):
        ...     return x, (lo, hi)
        >>> def bwd(res, g):
        ...     lo, hi = res
        ...     return None, None, np.clip(g, lo, hi)     # ...whose gradient is clipped
        >>> clip_gradient.defvjp(fwd, bwd)
        >>> float(ad.grad(lambda x: 3 * clip_gradient(-1.0, 1.0, x))(2.0))
        1.0
    """

    kind = "custom_vjp"

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        if nondiff_argnums:
            raise NotImplementedError(
                "custom_vjp(nondiff_argnums=...) is not supported: pass such values as ordinary "
                "arguments and return None as their cotangent"
            )
        super().__init__(fun)
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> None:
        """Set the rule: ``fwd(*args) -> (out, residuals)``, ``bwd(residuals, g) -> tuple``."""
        for what, fn in (("fwd", fwd), ("bwd", bwd)):
            if not callable(fn):
                raise TypeError(
                    f"{self.name}.defvjp: {what} must be a function, got {type(fn).__name__}"
                )
        self.fwd, self.bwd = fwd, bwd

    def _check_defined(self) -> None:
        if self.fwd is None:
            raise AttributeError(
                f"No VJP defined for custom_vjp function {self.name} using defvjp: call "
                f"{self.name}.defvjp(fwd, bwd) before calling it"
            )

    def _forward_error(self) -> TypeError:
        return TypeError(
            f"can't apply forward-mode autodiff (jvp) to a custom_vjp function: {self.name} has "
            "a VJP rule only. Use reverse mode (grad, vjp, jacrev), or declare the rule with "
            "custom_jvp, which works in both modes"
        )

    def _check_mode(self, leaves: Sequence[Any], call: _Call) -> None:
        # the innermost derivative transform decides: forward mode of f itself is an error (JAX)
        traces = _find_traces(leaves)
        for k, trace in enumerate(traces):
            if type(trace) in core._FINISHED.values():  # an escaped box: bind says so
                return
            if isinstance(trace, ForwardTrace):
                raise self._forward_error()
            if isinstance(trace, ReverseTrace) or trace.level == 0:  # level 0: Tensor facade
                call.forward_below = any(isinstance(t, ForwardTrace) for t in traces[k + 1 :])
                return

    def _run_fwd(self, leaves: Sequence[Any], call: _Call) -> tuple[tuple, Any]:
        who = f"the fwd rule of {self.name}"
        got = self.fwd(*call.args(leaves))
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            raise TypeError(
                f"{who} must return a pair (out, residuals), got {_describe(got)}"
                + (f" of {len(got)}" if isinstance(got, (tuple, list)) else "")
            )
        return call.set_layout(got[0], who), got[1]

    def _primal(self, *leaves: Any, rule: _Call) -> Any:
        outs, res = self._run_fwd(leaves, rule)
        if any(isinstance(o, Box) for o in outs) or _has_box(res):
            raise self._closure_error(f"the output or the residuals of {self.name}'s fwd")
        packed = self._pack_output(outs, leaves, rule)
        rule.saved[id(packed)] = (packed, leaves, res)
        return packed

    def _residuals(self, ans: Any, leaves: Sequence[Any], call: _Call) -> Any:
        """The residuals at ``leaves``: those saved when the primal ran there, or ``fwd`` run
        again when the sweep differentiates (traced leaves: the derivative must flow through
        the residuals too)."""
        saved = call.saved.get(id(ans))
        if (
            saved is not None
            and saved[0] is ans
            and len(saved[1]) == len(leaves)
            and all(a is b for a, b in zip(saved[1], leaves))
        ):
            return saved[2]
        return self._run_fwd(leaves, call)[1]

    def _vjp(self, g: Any, ans: Any, *leaves: Any, rule: _Call) -> list:
        # x̄ = bwd(residuals, ḡ)
        res = self._residuals(ans, leaves, rule)
        cts = self.bwd(res, rule.layout.rebuild(g))
        return self._check_cotangents(cts, rule, leaves, f"the bwd rule of {self.name}")

    def _jvp(self, tangents: list, ans: Any, *leaves: Any, rule: _Call) -> Any:
        # d f(x) = d fwd(x)[0]: for a forward transform below the reverse one that owns the call
        # (a Hessian), which JAX too lets differentiate fwd as ordinary code; f's own forward mode
        # raises in _check_mode
        which = {i: t for i, t in enumerate(tangents) if t is not None}
        if not which:
            return None
        if not rule.forward_below:  # a tape replayed in forward mode (linearize): JAX's error
            raise self._forward_error()
        trace = ForwardTrace()
        duals = [Dual(x, which[i], trace) if i in which else x for i, x in enumerate(leaves)]
        try:
            outs, _ = self._run_fwd(duals, rule)
            packed = rule.layout.pack(outs)
        finally:
            retire(trace)
        if type(packed) is Dual and packed._trace is trace:
            t = packed.tangent
            return t if t.dtype == ans.dtype else core.cotangent_dtype(t, ans)
        return None


def _pullback(fn: Callable[..., Any], xs: Sequence[Any], g: Any) -> tuple:
    """The cotangents of ``xs`` for the cotangent ``g`` of ``fn``'s output: one recording and
    one sweep."""
    trace = ReverseTrace()
    leaves = [Node(None, (), {}, x, ()) for x in xs]
    try:
        out = fn(*[Traced(x, leaf, trace) for x, leaf in zip(xs, leaves)])
    finally:
        retire(trace)
    found = {}
    if type(out) is Traced and out._trace is trace:
        found = backward_sweep([(out.node, g)])
    return tuple(found[leaf] if leaf in found else zeros_for(x) for x, leaf in zip(xs, leaves))
