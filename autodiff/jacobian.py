"""Jacobians, Hessians and friends, built from the two engines' sweeps.

* :func:`jacfwd` assembles ``J`` **column by column**: column ``j`` is the JVP ``J·eⱼ`` with the
  basis vector ``eⱼ`` of the input, so an input of size ``n`` costs ``n`` forward sweeps.
* :func:`jacrev` assembles ``J`` **row by row**: row ``i`` is the VJP ``Jᵀ·eᵢ`` with the basis
  vector ``eᵢ`` of the output, so an output of size ``m`` costs one taped evaluation of ``f`` and
  ``m`` backward sweeps.
* :func:`jacobian` picks one of the two (``mode="auto"``: forward when the input is smaller than
  the output) and says which one it ran and why.

By default the basis vectors are not pushed one at a time: they are stacked along a leading batch
axis and go through **one** sweep (``vectorize=True``; ``chunk_size=k`` sends ``k`` at a time to
bound memory). An op whose rules cannot take a batch axis is handled by the engine one batch entry
at a time, so the batched Jacobian is never silently wrong. ``vectorize=False`` keeps the plain
loop of the textbook cost model, one sweep per basis vector; both give the same Jacobian.

The Jacobian of ``f`` at ``x`` has shape ``out.shape + in.shape``: ``J[i..., j...]`` is
``∂ out[i...] / ∂ x[j...]``.

On top of them: :func:`hessian` (forward over reverse), :func:`hvp` (a Hessian-vector product
without building ``H``), :func:`linearize` (evaluate once, then many cheap JVPs),
:func:`confirm_vjp` (build ``J``, form ``Jᵀv`` and compare it with the VJP sweep) and
:class:`SweepCount` (how many sweeps ran).

Examples:
    >>> import numpy as np, autodiff as ad
    >>> f = lambda x: np.sin(x) * x[0]
    >>> x = np.array([1.0, 2.0])
    >>> np.allclose(ad.jacfwd(f)(x), ad.jacrev(f)(x))
    True
    >>> ad.jacfwd(f)(x).shape          # out.shape + in.shape
    (2, 2)
"""

from __future__ import annotations

import contextvars
import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autodiff import functions as anp
from autodiff import parallel, tree
from autodiff.arrays import asarray_like, float_dtype, is_duck, zeros_like
from autodiff.basis import DiagonalBasis
from autodiff.boundary import (
    flatten_args,
    flatten_output,
    level_mark,
    positional_names,
    split_aux,
    substitute,
    unbox_aux,
    unflatten_args,
)
from autodiff.core import (
    Box,
    check_complex_inputs,
    check_complex_outputs,
    check_float,
    jvp_rule,
    prod,
    raw,
    shape_of,
)
from autodiff.forward import jvp, jvp_batched
from autodiff.reverse import (
    Pullback,
    Traced,
    _vjp,
    grad,
    held_copy,
    record,
    snapshot,
    tape_nodes,
    vjp,
)

Argnums = int | Sequence[int]

MODES = ("forward", "reverse", "auto")

# --------------------------------------------------------------------------------------------
# Counting sweeps
# --------------------------------------------------------------------------------------------

_ACTIVE: contextvars.ContextVar[tuple[SweepCount, ...]] = contextvars.ContextVar(
    "autodiff_sweep_counters", default=()
)


@dataclass
class SweepCount:
    """Counts the sweeps that this module's functions run while the ``with`` block is open.

    Attributes:
        jvp: forward sweeps (each pushes one tangent, or one stack of tangents when vectorized).
        vjp: backward sweeps over a tape (one cotangent, or one stack of them).
        recordings: evaluations of ``f`` that recorded a tape (the forward pass of reverse mode).
        tangents: tangent vectors pushed in total (Jacobian columns).
        cotangents: cotangent vectors pulled in total (Jacobian rows).

    Counters nest: every counter open at the time sees the sweep. Only the functions of this
    module (``jacfwd``, ``jacrev``, ``jacobian``, ``hessian``, ``hvp``, ``linearize``,
    ``confirm_vjp``) report to it, not direct calls to ``jvp`` / ``vjp``. The state lives in a
    context variable that the ``with`` block sets and resets: nothing global is left behind.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> f = lambda x: np.tanh(x) * 2.0
        >>> x = np.ones(3)
        >>> with ad.SweepCount() as looped:
        ...     _ = ad.jacfwd(f, vectorize=False)(x)
        >>> with ad.SweepCount() as vectorized:
        ...     _ = ad.jacfwd(f)(x)
        >>> looped.jvp, vectorized.jvp
        (3, 1)
        >>> print(vectorized)
        1 JVP sweep (3 tangents)
    """

    jvp: int = 0
    vjp: int = 0
    recordings: int = 0
    tangents: int = 0
    cotangents: int = 0
    _token: Any = field(default=None, repr=False, compare=False)

    @property
    def sweeps(self) -> int:
        """JVP plus VJP sweeps."""
        return self.jvp + self.vjp

    def __enter__(self) -> SweepCount:
        self._token = _ACTIVE.set((*_ACTIVE.get(), self))
        return self

    def __exit__(self, *exc: object) -> None:
        _ACTIVE.reset(self._token)
        self._token = None

    def __str__(self) -> str:
        parts = []
        if self.jvp or not (self.vjp or self.recordings):
            parts.append(f"{_plural(self.jvp, 'JVP sweep')} ({_plural(self.tangents, 'tangent')})")
        if self.recordings or self.vjp:
            parts.append(
                f"{_plural(self.recordings, 'tape')} recorded, {_plural(self.vjp, 'VJP sweep')} "
                f"({_plural(self.cotangents, 'cotangent')})"
            )
        return "; ".join(parts)


def _plural(k: int, word: str) -> str:
    return f"{k} {word}" + ("" if k == 1 else "s")


def _note(jvp: int = 0, vjp: int = 0, recordings: int = 0, tangents: int = 0, cotangents: int = 0):
    for c in _ACTIVE.get():
        c.jvp += jvp
        c.vjp += vjp
        c.recordings += recordings
        c.tangents += tangents
        c.cotangents += cotangents


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------


def _argnums(argnums: Any, nargs: int, who: str) -> tuple[int, ...]:
    """``argnums`` as a tuple of non-negative positions, or a clear error."""
    single = isinstance(argnums, (int, np.integer)) and not isinstance(argnums, bool)
    if single:
        nums = (int(argnums),)
    elif isinstance(argnums, (tuple, list)) and all(
        isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in argnums
    ):
        nums = tuple(int(k) for k in argnums)
        if not nums:
            raise ValueError(f"{who}: argnums is empty; name an argument to differentiate")
    else:
        raise TypeError(
            f"{who}: argnums must be an int or a tuple of ints, got {argnums!r} "
            f"({type(argnums).__name__})"
        )
    if nargs == 0:
        raise TypeError(f"{who}: the function was called with no positional arguments")
    for k in nums:
        if not -nargs <= k < nargs:
            raise ValueError(
                f"{who}: argnums={argnums!r} is out of range: f was called with {nargs} "
                f"positional argument{'s' if nargs != 1 else ''} "
                f"(valid positions 0 to {nargs - 1}, or -{nargs} to -1)"
            )
    nums = tuple(k % nargs for k in nums)
    if len(set(nums)) != len(nums):
        raise ValueError(f"{who}: argnums={argnums!r} names the same argument twice")
    return nums


class _Flat:
    """``f`` as a function of the flat leaves of its differentiated arguments, returning the
    tuple of its output's leaves; it remembers the output's structure and ``aux``."""

    def __init__(self, f, args, kwargs, nums, trees, who, has_aux) -> None:
        self.f, self.args, self.kwargs, self.nums, self.trees = f, args, kwargs, nums, trees
        self.who, self.has_aux = who, has_aux
        self.out_tree = None
        self.aux = None

    def __call__(self, *leaves: Any) -> tuple:
        out = self.f(*substitute(self.args, self.nums, unflatten_args(self.trees, leaves)),
                     **self.kwargs)  # fmt: skip
        if self.has_aux:
            out, self.aux = split_aux(out, self.who)
        outs, self.out_tree = flatten_output(out, self.who)
        return outs


def _prepare(
    f: Callable[..., Any], args: tuple, kwargs: dict, argnums: Any, who: str, has_aux: bool = False
) -> tuple[_Flat, tuple, tuple[int, ...]]:
    """``g(*leaves) = leaves of f(*args with the differentiated ones replaced)`` and the checked
    leaves of the differentiated arguments (pytrees are flattened here, at the boundary)."""
    nums = _argnums(argnums, len(args), who)
    primals, trees = flatten_args(f, args, nums, who)
    return _Flat(f, args, kwargs, nums, trees, who, has_aux), primals, nums


def _only(g: Callable[..., Any], primals: tuple, p: int) -> Callable[[Any], Any]:
    """``g`` as a function of its ``p``-th argument alone (the others become constants)."""
    if len(primals) == 1:
        return g

    def h(x: Any) -> Any:
        full = list(primals)
        full[p] = x
        return g(*full)

    return h


def _dtype(x: Any) -> np.dtype:
    return float_dtype(raw(x))  # read the dtype only: a value batched by vmap has no single value


def _check_chunk(chunk_size: int | None, vectorize: bool, who: str) -> None:
    if chunk_size is None:
        return
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
        raise TypeError(f"{who}: chunk_size must be a positive int or None, got {chunk_size!r}")
    if chunk_size < 1:
        raise ValueError(f"{who}: chunk_size must be at least 1, got {chunk_size}")
    if not vectorize:
        raise ValueError(
            f"{who}: chunk_size={chunk_size} only applies to vectorized sweeps; "
            "vectorize=False already sends one basis vector per sweep"
        )


def _chunks(n: int, chunk_size: int | None) -> list[tuple[int, int]]:
    step = n if chunk_size is None else chunk_size
    return [(s, min(s + step, n)) for s in range(0, n, step)]


def _concat(parts: list) -> Any:
    if len(parts) == 1:
        return parts[0]
    if any(isinstance(p, Box) for p in parts):
        return anp.concatenate(parts, axis=0)
    return np.concatenate(parts, axis=0)


def _stack(parts: list) -> Any:
    if any(isinstance(p, Box) for p in parts):
        return anp.stack(parts, axis=0)
    return np.stack(parts, axis=0)


def _tidy(jac: Any) -> Any:
    """``-0.0`` entries (a zero times a negative number) print as ``0.``: ``-0.0 + 0.0 = 0.0``.

    In place when possible: adding zero changes no value, so even a shared array is safe.
    """
    if type(jac) is np.ndarray and jac.dtype.kind == "f":
        if jac.flags.writeable:
            np.add(jac, 0, out=jac)
            return jac
        return jac + jac.dtype.type(0)
    return jac


def _zeros_jac(out: Any, x: Any) -> np.ndarray:
    dtype = np.result_type(_dtype(out), _dtype(x))
    return zeros_like(raw(x), shape_of(out) + shape_of(x), dtype)  # the input's array type


# --------------------------------------------------------------------------------------------
# The two builders
# --------------------------------------------------------------------------------------------


def _basis_rows(n: int, start: int, stop: int, dtype: Any) -> np.ndarray:
    """Rows ``start:stop`` of the n×n identity, made alone (a chunk never costs n² memory)."""
    rows = np.zeros((stop - start, n), dtype=dtype)
    rows[np.arange(stop - start), np.arange(start, stop)] = 1
    return rows


def _basis(shape: tuple[int, ...], start: int, stop: int, dtype: Any, at: Any) -> np.ndarray:
    """Rows ``start:stop`` of the identity on arrays of ``shape``, batch axis first. At the
    outermost level it is a :class:`DiagonalBasis`, so the products it meets skip the GEMM; a
    Jacobian nested in another transformation gets plain rows (its rules see boxes)."""
    if isinstance(at, Box) or is_duck(raw(at)):  # a duck array gets rows of its own type
        n = prod(shape)
        rows = _basis_rows(n, start, stop, dtype).reshape((stop - start, *shape))
        return asarray_like(rows, raw(at))
    return DiagonalBasis.identity(shape, start, stop, dtype)


def _fwd_one(
    h: Callable, x: Any, vectorize: bool, chunk_size: int | None, par: tuple | None = None
) -> tuple[Any, Any]:
    """``(out, J)`` of ``h`` at ``x`` by forward sweeps; tuples when ``h`` returns a tuple.

    ``par = (executor, g, primals, p)`` runs each chunk as one task on ``executor``."""
    shape = shape_of(x)
    n = prod(shape)
    dtype = _dtype(x)
    if n == 0:
        out = h(x)
        outs = out if isinstance(out, tuple) else (out,)
        jacs = tuple(_zeros_jac(o, x) for o in outs)
        return out, (jacs if isinstance(out, tuple) else jacs[0])
    pieces = []  # per sweep: tangent out(s), batch axis first
    if par is not None:  # the same chunks, one task each (see autodiff/parallel.py)
        executor, g, primals, p = par
        chunks = _chunks(n, chunk_size)
        done = parallel.map_chunks(executor, _fwd_prepare, _fwd_task, (_fresh(g), primals, p),
                                   chunks)  # fmt: skip
        for s, e in chunks:
            _note(jvp=1, tangents=e - s)
        pieces = [t for _, t, _, _ in done]
        out, _, g.out_tree, g.aux = done[-1]  # the output and aux, as the serial loop leaves them
    elif vectorize:
        for s, e in _chunks(n, chunk_size):
            basis = _basis(shape, s, e, dtype, x)
            out, t = jvp_batched(h, (x,), (basis,), batch=1)
            _note(jvp=1, tangents=e - s)
            pieces.append(t)
    else:
        for j in range(n):
            e_j = np.zeros(n, dtype=dtype)
            e_j[j] = 1
            e_j = asarray_like(e_j.reshape(shape), raw(x))  # the input's array type
            out, t = jvp_batched(h, (x,), (e_j,), batch=0)
            _note(jvp=1, tangents=1)
            pieces.append(t)
    multi = isinstance(out, tuple)
    jacs = []
    for i, o in enumerate(out if multi else (out,)):
        cols = [p[i] if multi else p for p in pieces]
        cols = _concat(cols) if vectorize else _stack(cols)  # (n,) + out.shape
        oshape = shape_of(o)
        jac = anp.moveaxis(cols, 0, -1) if oshape else cols  # out.shape + (n,)
        jacs.append(_tidy(anp.reshape(jac, oshape + shape)))
    return out, (tuple(jacs) if multi else jacs[0])


def _jacfwd(g, primals, vectorize, chunk_size, executor=None) -> tuple[Any, list]:
    """Per differentiated argument ``(out, J)``; ``J`` a tuple per output if ``g`` returns one."""
    out = None
    jacs = []
    for p, x in enumerate(primals):
        par = None if executor is None else (executor, g, primals, p)
        out, jac = _fwd_one(_only(g, primals, p), x, vectorize, chunk_size, par)
        jacs.append(jac)
    return out, jacs


def _jacrev(
    g,
    primals,
    vectorize,
    chunk_size,
    recorded: tuple[Any, Pullback] | None = None,
    executor: Any = None,
) -> tuple[Any, list]:
    """Per differentiated argument ``J`` (a tuple per output if ``g`` returns a tuple)."""
    if recorded is None:
        recorded = _vjp(g, primals, "jacrev", held=False)
        _note(recordings=1)
    out, pullback = recorded
    multi = isinstance(out, tuple)
    outs = out if multi else (out,)
    done = {}  # with an executor: (output, start, stop) -> per argument cotangents
    if executor is not None:  # the same chunks, one task each (see autodiff/parallel.py)
        items = [(i, s, e) for i, o in enumerate(outs)
                 for s, e in _chunks(prod(shape_of(o)), chunk_size)]  # fmt: skip
        results = parallel.map_chunks(executor, _rev_prepare, _rev_task, (_fresh(g), primals),
                                      items)  # fmt: skip
        done = dict(zip(items, results))
    per_out = []  # per output: per argument J
    for i, o in enumerate(outs):
        oshape = shape_of(o)
        m = prod(oshape)
        dtype = _dtype(o)
        if m == 0:
            per_out.append([_zeros_jac(o, x) for x in primals])
            continue
        pieces = []  # per sweep: per argument cotangents, batch axis first
        if executor is not None:
            for s, e in _chunks(m, chunk_size):
                pieces.append(done[i, s, e])
                _note(vjp=1, cotangents=e - s)
        elif vectorize:
            for s, e in _chunks(m, chunk_size):
                basis = _basis(oshape, s, e, dtype, o)
                cts = _others_zero(basis, outs, i, e - s) if multi else basis
                pieces.append(pullback.batched(cts, checked=True))
                _note(vjp=1, cotangents=e - s)
        else:
            for r in range(m):
                e_r = np.zeros(m, dtype=dtype)
                e_r[r] = 1
                e_r = asarray_like(e_r.reshape(oshape), raw(o))  # the output's array type
                cts = _others_zero(e_r, outs, i, None) if multi else e_r
                pieces.append(pullback(cts))
                _note(vjp=1, cotangents=1)
        jacs = []
        for p, x in enumerate(primals):
            rows = [piece[p] for piece in pieces]
            rows = _concat(rows) if vectorize else _stack(rows)  # (m,) + in.shape
            jacs.append(_tidy(anp.reshape(rows, oshape + shape_of(x))))
        per_out.append(jacs)
    if multi:
        return out, [tuple(per_out[i][p] for i in range(len(outs))) for p in range(len(primals))]
    return out, per_out[0]


def _fresh(g: _Flat) -> _Flat:
    """A copy of ``g`` to send to the workers, without what a run left on it."""
    h = copy.copy(g)
    h.out_tree = h.aux = None
    return h


def _fwd_prepare(payload: tuple) -> tuple:
    g, primals, p = payload
    return g, primals[p], _only(g, primals, p)


def _fwd_task(state: tuple, chunk: tuple[int, int]) -> tuple:
    """One chunk of columns in a worker: the serial loop's body."""
    g, x, h = state
    s, e = chunk
    mark = level_mark()
    out, t = jvp_batched(h, (x,), (_basis(shape_of(x), s, e, _dtype(x), x),), batch=1)
    return out, t, g.out_tree, (unbox_aux(g.aux, mark) if g.has_aux else None)


def _rev_prepare(payload: tuple) -> tuple:
    g, primals = payload
    return _vjp(g, primals, g.who, held=False)  # one recording per worker, as in the caller


def _rev_task(recorded: tuple, item: tuple[int, int, int]) -> Any:
    """One chunk of rows of output ``i`` in a worker: the serial loop's body."""
    i, s, e = item
    out, pullback = recorded
    multi = isinstance(out, tuple)
    outs = out if multi else (out,)
    basis = _basis(shape_of(outs[i]), s, e, _dtype(outs[i]), outs[i])
    return pullback.batched(_others_zero(basis, outs, i, e - s) if multi else basis, checked=True)


def _others_zero(ct: Any, outs: tuple, i: int, batch: int | None) -> tuple:
    lead = () if batch is None else (batch,)
    return tuple(
        ct if k == i else zeros_like(raw(o), lead + shape_of(o), _dtype(o))
        for k, o in enumerate(outs)
    )


def _arrange(jacs: list, g: _Flat, per_arg: bool) -> Any:
    """JAX's layout: the output's structure outside, the arguments' inside
    (``J[out_key][in_key] = ∂ out[out_key] / ∂ x[in_key]``).

    ``jacs[j][i]`` is the Jacobian of output leaf ``i`` with respect to input leaf ``j``.
    """
    per_output = []
    for i in range(g.out_tree.num_leaves):
        per_in = unflatten_args(g.trees, [jac[i] for jac in jacs])
        per_output.append(tuple(per_in) if per_arg else per_in[0])
    if g.out_tree.is_leaf:
        return per_output[0]
    return tree.unflatten(g.out_tree, per_output)


# --------------------------------------------------------------------------------------------
# The public builders
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModeChoice:
    """Which mode a Jacobian was built in, and why.

    Attributes:
        mode: ``"forward"`` or ``"reverse"``: the mode that ran.
        requested: what the caller asked for (``"forward"``, ``"reverse"`` or ``"auto"``).
        n_inputs: total size of the differentiated inputs (the number of Jacobian columns).
        n_outputs: total size of the output (the number of Jacobian rows).
        vectorize: whether the basis vectors went through one batched sweep.
        chunk_size: how many basis vectors went per sweep (``None``: all at once).
    """

    mode: str
    requested: str
    n_inputs: int
    n_outputs: int
    vectorize: bool = True
    chunk_size: int | None = None

    @property
    def sweeps(self) -> int:
        """Sweeps the chosen mode runs: columns (forward) or rows (reverse), per chunk."""
        k = self.n_inputs if self.mode == "forward" else self.n_outputs
        if not self.vectorize:
            return k
        return len(_chunks(k, self.chunk_size)) if k else 0

    @property
    def reason(self) -> str:
        """One sentence that explains the choice."""
        n, m = self.n_inputs, self.n_outputs
        cols = f"{_plural(n, 'column')} (one JVP each)"
        rows = f"{_plural(m, 'row')} (one VJP each)"
        if self.requested != "auto":
            return f"{self.mode} mode, as requested: J has {cols} and {rows}"
        if self.mode == "forward":
            return f"auto chose forward mode: {n} inputs < {m} outputs, so J's {cols} cost less"
        sign = "=" if n == m else ">"
        return (
            f"auto chose reverse mode: {n} inputs {sign} {m} outputs, so J's {rows} cost "
            f"{'no more' if n == m else 'less'}"
        )

    def __str__(self) -> str:
        how = (
            f"{_plural(self.sweeps, 'vectorized sweep')}"
            if self.vectorize
            else f"{_plural(self.sweeps, 'sweep')}, one per basis vector"
        )
        return f"{self.reason}; {how}"


class JacobianFunction:
    """The function returned by :func:`jacfwd`, :func:`jacrev` and :func:`jacobian`.

    Call it like ``f`` to get the Jacobian. Attributes:

    * ``mode``: ``"forward"``, ``"reverse"`` or ``"auto"`` (as requested);
    * ``last_choice``: the :class:`ModeChoice` of the most recent call (``None`` before one;
      shared by all threads calling this object: use ``return_choice=True`` in threaded code);
    * ``explain(*args)``: the :class:`ModeChoice` a call with ``args`` would make, without
      computing the Jacobian.
    """

    def __init__(
        self,
        f: Callable[..., Any],
        argnums: Argnums,
        mode: str,
        vectorize: bool,
        chunk_size: int | None,
        return_choice: bool = False,
        who: str | None = None,
        has_aux: bool = False,
        holomorphic: bool = False,
        executor: Any = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
        if not callable(f):
            raise TypeError(f"expected a function to differentiate, got {type(f).__name__}")
        self.who = who or {"forward": "jacfwd", "reverse": "jacrev", "auto": "jacobian"}[mode]
        _check_chunk(chunk_size, vectorize, self.who)
        parallel.check_executor(executor, self.who)
        if executor is not None and not vectorize:
            raise ValueError(
                f"{self.who}: executor= runs one task per chunk of a vectorized sweep; "
                "drop vectorize=False (and set chunk_size= to choose the tasks)"
            )
        self.executor = executor
        self.f = f
        self.argnums = argnums
        self.mode = mode
        self.vectorize = vectorize
        self.chunk_size = chunk_size
        self.return_choice = return_choice
        self.has_aux = has_aux
        self.holomorphic = holomorphic
        self.last_choice: ModeChoice | None = None
        name = getattr(f, "__name__", type(f).__name__)
        if isinstance(f, JacobianFunction) and who:  # hessian = jacfwd(jacrev(f)): name f
            name = getattr(f.f, "__name__", type(f.f).__name__)
        self.__name__ = f"{self.who}({name})"
        self.__doc__ = f"The Jacobian of {name} ({mode} mode); shape out.shape + in.shape."

    def __repr__(self) -> str:
        return f"<JacobianFunction {self.__name__}, argnums={self.argnums!r}>"

    def _choice(self, mode: str, primals: tuple, out: Any) -> ModeChoice:
        outs = out if isinstance(out, tuple) else (out,)
        return ModeChoice(
            mode=mode,
            requested=self.mode,
            n_inputs=sum(prod(shape_of(x)) for x in primals),
            n_outputs=sum(prod(shape_of(o)) for o in outs),
            vectorize=self.vectorize,
            chunk_size=self.chunk_size,
        )

    def _run(self, args: tuple, kwargs: dict, compute: bool) -> tuple[Any, ModeChoice]:
        mark = level_mark() if self.has_aux else 0
        g, primals, _ = _prepare(self.f, args, kwargs, self.argnums, self.who, self.has_aux)
        complex_in = check_complex_inputs(primals, self.holomorphic, self.who, self.mode)
        executor = self.executor if compute else None
        if executor is not None and any(isinstance(p, Box) for p in primals):
            raise TypeError(
                f"{self.who}: executor= needs plain arrays, but this Jacobian runs inside another "
                "transformation (grad, jvp, vmap, ...); pass executor= to the outermost one "
                "(hessian(f, executor=ex) runs its inner gradient in the workers)"
            )
        if self.mode == "forward":
            if compute and primals:
                out, jacs = _jacfwd(g, primals, self.vectorize, self.chunk_size, executor)
            else:  # only the output's size is needed (or there is nothing to differentiate)
                out, jacs = g(*(raw(p) for p in primals)), ([] if compute else None)
            check_complex_outputs(out, self.holomorphic, self.who, "forward")
            choice = self._choice("forward", primals, out)
        else:
            # reverse and auto both record f on a tape first; auto learns the output size from
            # it, and reuses the tape if reverse wins.
            recorded = _vjp(g, primals, self.who, held=False)
            _note(recordings=1)
            mode = "reverse"
            # auto may answer a complex output of real inputs in forward mode
            out_mode = "forward" if self.mode == "auto" and not complex_in else "reverse"
            complex_out = check_complex_outputs(recorded[0], self.holomorphic, self.who, out_mode)
            if self.mode == "auto":
                probe = self._choice("reverse", primals, recorded[0])
                mode = "forward" if probe.n_inputs < probe.n_outputs else "reverse"
                if not self.holomorphic and (complex_in or complex_out):
                    # a complex input needs reverse mode, a complex output forward mode
                    mode = "forward" if complex_out else "reverse"
            choice = self._choice(mode, primals, recorded[0])
            jacs = None
            if compute and mode == "reverse":
                _, jacs = _jacrev(g, primals, self.vectorize, self.chunk_size, recorded, executor)
            elif compute:
                _, jacs = _jacfwd(g, primals, self.vectorize, self.chunk_size, executor)
        if jacs is None:
            return None, choice
        jac = _arrange(jacs, g, isinstance(self.argnums, (tuple, list)))
        if self.has_aux:
            jac = (jac, unbox_aux(g.aux, mark))
        return jac, choice

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        jac, choice = self._run(args, kwargs, compute=True)
        self.last_choice = choice
        return (jac, choice) if self.return_choice else jac

    def explain(self, *args: Any, **kwargs: Any) -> ModeChoice:
        """The mode a call with these arguments would use, and why (evaluates ``f`` once)."""
        return self._run(args, kwargs, compute=False)[1]


def jacfwd(
    f: Callable[..., Any],
    argnums: Argnums = 0,
    *,
    vectorize: bool = True,
    chunk_size: int | None = None,
    has_aux: bool = False,
    holomorphic: bool = False,
    executor: Any = None,
) -> JacobianFunction:
    """The Jacobian of ``f`` by forward mode: column ``j`` is the JVP ``J·eⱼ``.

    Args:
        f: a function of arrays, written with NumPy or ``autodiff`` functions. It may return a
            tuple of arrays; the Jacobian is then a tuple with one entry per output.
        argnums: which positional argument to differentiate (an int), or several (a tuple:
            the result is a tuple with one Jacobian per argument).
        vectorize: push all ``n`` basis vectors through one batched forward sweep (default);
            ``False`` runs ``n`` separate sweeps, the textbook cost model. Same Jacobian.
        chunk_size: with ``vectorize``, at most this many basis vectors per sweep
            (``ceil(n / chunk_size)`` sweeps) to bound memory.
        has_aux: ``f`` returns a pair ``(out, aux)``; the Jacobian function then returns
            ``(J, aux)``, with ``aux`` as plain values (as in JAX).
        holomorphic: ``f`` is complex-differentiable, with complex inputs and outputs; ``J``
            is then ``f'(z)`` (as in JAX). Without it a complex input is a TypeError (a real
            input with a complex output is fine: the columns are complex).
        executor: a ``concurrent.futures.Executor`` (``ProcessPoolExecutor``,
            ``distributed.Client.get_executor()``, ...): each chunk of ``chunk_size`` basis
            vectors runs as one task there, with one BLAS thread. The result is bit-identical to
            the serial run with the same ``chunk_size`` under ``parallel.blas_threads(1)``.

    Pytrees: an argument and the output may be nested dicts, lists, tuples and namedtuples of
    arrays. ``J`` then has the output's structure outside and the argument's inside, as in JAX:
    ``J[out_key][in_key]`` has shape ``out[out_key].shape + x[in_key].shape``.

    Returns:
        A :class:`JacobianFunction`: call it with ``f``'s arguments to get ``J`` of shape
        ``out.shape + in.shape``, in the dtype of the computation (float32 stays float32).

    Raises:
        TypeError: a differentiated argument is not floating point, or ``argnums`` is not an
            int or a tuple of ints.
        ValueError: ``argnums`` is out of range or repeats an argument.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> Q = lambda a, b: 3 * a**3 - b**2
        >>> a, b = np.array([2.0, 3.0]), np.array([6.0, 4.0])
        >>> ad.jacfwd(Q, argnums=(0, 1))(a, b)          # (diag(9a²), diag(-2b))
        (array([[36.,  0.],
               [ 0., 81.]]), array([[-12.,   0.],
               [  0.,  -8.]]))
    """
    return JacobianFunction(
        f, argnums, "forward", vectorize, chunk_size, has_aux=has_aux, holomorphic=holomorphic,
        executor=executor,
    )  # fmt: skip


def jacrev(
    f: Callable[..., Any],
    argnums: Argnums = 0,
    *,
    vectorize: bool = True,
    chunk_size: int | None = None,
    has_aux: bool = False,
    holomorphic: bool = False,
    executor: Any = None,
) -> JacobianFunction:
    """The Jacobian of ``f`` by reverse mode: row ``i`` is the VJP ``Jᵀ·eᵢ``.

    ``f`` is evaluated once on a tape; each row is one backward sweep over it (or, vectorized,
    all rows go through one sweep with cotangents stacked along a leading axis).

    Args:
        f: a function of arrays; it may return a tuple (then a tuple of Jacobians).
        argnums: an int, or a tuple of ints (then a tuple of Jacobians, one per argument).
        vectorize: one batched backward sweep for all ``m`` rows (default), or ``False`` for
            ``m`` separate sweeps. Same Jacobian.
        chunk_size: with ``vectorize``, at most this many rows per sweep.
        has_aux: ``f`` returns ``(out, aux)``; the Jacobian function returns ``(J, aux)``.
        holomorphic: ``f`` is complex-differentiable, with complex inputs and outputs; ``J``
            is then ``f'(z)`` (as in JAX). Without it a complex output is a TypeError (a
            complex input with a real output is fine: each row is a gradient,
            ``∂f/∂a - i·∂f/∂b``).
        executor: a ``concurrent.futures.Executor`` (``ProcessPoolExecutor``,
            ``distributed.Client.get_executor()``, ...): each chunk of ``chunk_size`` basis
            vectors runs as one task there, with one BLAS thread. The result is bit-identical to
            the serial run with the same ``chunk_size`` under ``parallel.blas_threads(1)``.

    Returns:
        A :class:`JacobianFunction` giving ``J`` of shape ``out.shape + in.shape``.

    Raises:
        TypeError, ValueError: as :func:`jacfwd`.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.jacrev(lambda x: np.sum(x**2))(np.array([1.0, 2.0]))   # a gradient: one row
        array([2., 4.])
    """
    return JacobianFunction(
        f, argnums, "reverse", vectorize, chunk_size, has_aux=has_aux, holomorphic=holomorphic,
        executor=executor,
    )  # fmt: skip


def jacobian(
    f: Callable[..., Any],
    argnums: Argnums = 0,
    mode: str = "auto",
    *,
    vectorize: bool = True,
    chunk_size: int | None = None,
    return_choice: bool = False,
    has_aux: bool = False,
    holomorphic: bool = False,
    executor: Any = None,
) -> JacobianFunction:
    """The Jacobian of ``f`` in forward or reverse mode, chosen by the sizes when ``mode="auto"``.

    ``"auto"`` runs forward mode when the input (all differentiated arguments together) has
    fewer entries than the output, and reverse mode otherwise: forward needs one JVP per
    column, reverse one VJP per row. To learn the output's size it records ``f`` on a tape
    once, which reverse mode then reuses.

    The choice is visible: ``jac_f.last_choice`` after a call, ``jac_f.explain(*args)`` before
    one, or ``return_choice=True`` to get ``(J, choice)`` from every call.

    Args:
        f: a function of arrays.
        argnums: an int, or a tuple of ints (then a tuple of Jacobians).
        mode: ``"forward"``, ``"reverse"`` or ``"auto"``.
        vectorize: one batched sweep for all basis vectors (default) or one sweep each.
        chunk_size: with ``vectorize``, at most this many basis vectors per sweep.
        return_choice: return ``(J, ModeChoice)`` instead of ``J``.
        has_aux: ``f`` returns ``(out, aux)``; the result is ``(J, aux)`` (with
            ``return_choice``: ``((J, aux), choice)``).
        executor: a ``concurrent.futures.Executor`` (``ProcessPoolExecutor``,
            ``distributed.Client.get_executor()``, ...): each chunk of ``chunk_size`` basis
            vectors runs as one task there, with one BLAS thread. The result is bit-identical to
            the serial run with the same ``chunk_size`` under ``parallel.blas_threads(1)``.

    Returns:
        A :class:`JacobianFunction`.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> W = np.arange(6.0).reshape(3, 2)
        >>> jac = ad.jacobian(lambda x: np.tanh(W @ x))
        >>> J = jac(np.zeros(2))
        >>> J.shape
        (3, 2)
        >>> print(jac.last_choice)
        auto chose forward mode: 2 inputs < 3 outputs, so J's 2 columns (one JVP each) cost less; 1 vectorized sweep
        >>> ad.jacobian(lambda x: np.sum(x**2)).explain(np.zeros(4)).mode
        'reverse'
    """  # noqa: E501
    return JacobianFunction(
        f, argnums, mode, vectorize, chunk_size, return_choice, has_aux=has_aux,
        holomorphic=holomorphic, executor=executor,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Second order
# --------------------------------------------------------------------------------------------


def hessian(
    f: Callable[..., Any],
    argnums: Argnums = 0,
    *,
    vectorize: bool = True,
    chunk_size: int | None = None,
    has_aux: bool = False,
    holomorphic: bool = False,
    executor: Any = None,
) -> JacobianFunction:
    """The Hessian of ``f``, forward over reverse: ``jacfwd(jacrev(f))``.

    The inner :func:`jacrev` gives the gradient (for a scalar ``f``) by one backward sweep; the
    outer :func:`jacfwd` differentiates that whole computation, sweep included, column by
    column. The levels of the engines keep the two perturbations apart, so no extra code is
    needed. For ``f: R^n → R`` the result has shape ``in.shape + in.shape``; in general
    ``out.shape + in.shape + in.shape``. With a tuple ``argnums`` the result is nested:
    ``H[i][j] = ∂²f / ∂xᵢ ∂xⱼ``.

    Args:
        f: a function of arrays (usually scalar-valued).
        argnums: an int or a tuple of ints.
        vectorize: passed to both builders.
        chunk_size: passed to both builders.
        has_aux: ``f`` returns ``(out, aux)``; the result is ``(H, aux)``.
        executor: runs the outer (forward) builder's chunks as tasks; each task computes its
            columns of ``H`` through the inner gradient in the worker.

    For a pytree argument (a dict of parameters) the Hessian is nested like JAX's:
    ``H[k1][k2] = ∂²f / ∂x[k1] ∂x[k2]``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> A = np.array([[1.0, 2.0], [0.0, 3.0]])
        >>> ad.hessian(lambda x: x @ A @ x)(np.ones(2))       # A + Aᵀ
        array([[2., 2.],
               [2., 6.]])
    """
    inner = JacobianFunction(
        f, argnums, "reverse", vectorize, chunk_size, who="hessian", has_aux=has_aux,
        holomorphic=holomorphic,
    )  # fmt: skip
    return JacobianFunction(
        inner, argnums, "forward", vectorize, chunk_size, who="hessian", has_aux=has_aux,
        holomorphic=holomorphic, executor=executor,
    )  # fmt: skip


def hvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> Any:
    """The Hessian-vector product ``H·v`` of a scalar ``f``, without building ``H``.

    Forward over reverse: the JVP, along ``tangents``, of the gradient function. It costs one
    forward sweep over one gradient computation: a small constant times one gradient,
    whatever the size of ``H``.

    Args:
        f: a scalar-valued function of arrays.
        primals: the point, a tuple with one entry per argument of ``f``.
        tangents: the vector ``v``, same structure, shapes and dtypes as ``primals``.

    Returns:
        ``H·v`` with the shape of the point: an array when ``f`` has one argument, otherwise a
        tuple with one entry per argument (the rows of the block Hessian times ``v``).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> f = lambda x: np.sum(np.sin(x))                # H = diag(-sin x)
        >>> x, v = np.array([0.5, 1.0]), np.array([1.0, 2.0])
        >>> np.allclose(ad.hvp(f, (x,), (v,)), -np.sin(x) * v)
        True
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            "hvp(f, primals, tangents) takes tuples with one entry per argument of f; "
            "write hvp(f, (x,), (v,)) for one argument"
        )
    k = len(primals)
    gradient = grad(f, argnums=0 if k == 1 else tuple(range(k)))
    _note(jvp=1, tangents=1, recordings=1, vjp=1, cotangents=1)
    return jvp(gradient, tuple(primals), tuple(tangents))[1]


# --------------------------------------------------------------------------------------------
# linearize
# --------------------------------------------------------------------------------------------


class LinearizedJVP:
    """``jvp_fn(*tangents) -> J·tangents`` at a fixed point, from a recorded tape.

    Returned by :func:`linearize`. ``len(jvp_fn.tape)`` is the number of recorded operations
    whose JVP rules each call applies.
    """

    def __init__(
        self,
        nodes: list,
        leaves: list,
        outs: list,
        primals: tuple,
        multi: bool,
        in_trees: list | None = None,
        out_tree: Any = None,
    ):
        self._nodes = nodes
        self._leaves = leaves
        self._outs = outs  # per output: (node or None, value)
        self._primals = primals
        self._multi = multi
        # pytrees: the structure of each argument and of the output (None: flat arrays)
        self._in_trees = in_trees
        self._out_tree = out_tree

    @property
    def tape(self) -> list:
        """The recorded operations, in the order they ran."""
        return list(self._nodes)

    def __call__(self, *tangents: Any) -> Any:
        if self._in_trees is None:
            return self._flat_call(*tangents)
        if len(tangents) != len(self._in_trees):
            raise TypeError(
                f"jvp_fn takes one tangent per primal ({len(self._in_trees)}), got {len(tangents)}"
            )
        flat = []
        for i, (treedef, t) in enumerate(zip(self._in_trees, tangents)):
            leaves, t_tree = tree.flatten(t)
            if t_tree != treedef:
                raise TypeError(
                    f"tangent {i} has structure {t_tree} but primal {i} has structure "
                    f"{treedef}; a tangent must have the structure of its primal"
                )
            flat.extend(leaves)
        out = self._flat_call(*flat)
        return tree.unflatten(self._out_tree, out if self._multi else (out,))

    def _flat_call(self, *tangents: Any) -> Any:
        if len(tangents) != len(self._primals):
            raise TypeError(
                f"jvp_fn takes one tangent per primal ({len(self._primals)}), got {len(tangents)}"
            )
        tan: dict = {}
        for i, (leaf, p, t) in enumerate(zip(self._leaves, self._primals, tangents)):
            t = check_float(t, f"tangent {i}")
            if shape_of(t) != shape_of(p):
                raise ValueError(
                    f"tangent {i} has shape {shape_of(t)} but primal {i} has shape {shape_of(p)}"
                )
            if not isinstance(t, Box) and t.dtype != _dtype(p):
                t = t.astype(_dtype(p))
            tan[leaf] = t
        _note(jvp=1, tangents=1)
        for node in self._nodes:
            ts = [None if q is None else tan.get(q) for q in node.parents]
            if all(t is None for t in ts):
                continue
            t = jvp_rule(node.op, ts, node.ans, node.args, node.params, 0)
            if t is not None:
                tan[node] = t
        results = []
        for node, value in self._outs:
            t = None if node is None else tan.get(node)
            results.append(
                zeros_like(raw(value), shape_of(value), _dtype(value)) if t is None else t
            )
        return tuple(results) if self._multi else results[0]


def linearize(f: Callable[..., Any], *primals: Any) -> tuple[Any, LinearizedJVP]:
    """Evaluate ``f`` once and return ``(out, jvp_fn)`` with ``jvp_fn(*tangents) = J·tangents``.

    ``f`` runs once, on a tape that keeps every intermediate value. Each ``jvp_fn`` call is a
    forward sweep over that tape that applies only the ops' JVP rules.

    What is reused: the output and every intermediate primal value (``sin(x)``, ``W @ x``, …),
    and the control flow ``f`` took at this point. ``f`` itself is never called again.

    What is not reused: whatever a rule computes from the primals (``cos(x)`` for ``sin``,
    ``1 - tanh²`` for ``tanh``) is recomputed on each call, because rules are functions of the
    primals and the tangent together. And the tape stays in memory as long as ``jvp_fn`` does.

    Args:
        f: a function of arrays (it may return a tuple).
        *primals: the point.

    Returns:
        ``(f(*primals), jvp_fn)``; ``jvp_fn`` takes one tangent per primal.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> out, f_jvp = ad.linearize(lambda x: np.sin(x) * x, np.array([0.0, 1.0]))
        >>> np.allclose(f_jvp(np.ones(2)), ad.jvp(lambda x: np.sin(x) * x,
        ...                                       (np.array([0.0, 1.0]),), (np.ones(2),))[1])
        True
    """
    flat, trees = flatten_args(f, primals, range(len(primals)), "linearize")
    flat = tuple(snapshot(p) for p in flat)
    g = _Flat(f, primals, {}, range(len(primals)), trees, "linearize", False)
    _, checked, leaves, trace = record(g, flat, "linearize")
    _note(recordings=1)
    outs = []  # per output: (node or None, value)
    for o in checked:
        owned = type(o) is Traced and o._trace is trace
        outs.append((o.node, o._value) if owned else (None, o))
    nodes = tape_nodes([node for node, _ in outs if node is not None])
    values = tuple(held_copy(value, node) for node, value in outs)
    op_nodes = [n for n in nodes if n.op is not None]
    out_tree = g.out_tree
    if all(t.is_leaf for t in trees) and out_tree.is_leaf:  # flat arrays: no pytree handling
        return values[0], LinearizedJVP(op_nodes, leaves, outs, flat, False)
    linear = LinearizedJVP(op_nodes, leaves, outs, flat, True, trees, out_tree)
    return tree.unflatten(out_tree, values), linear


# --------------------------------------------------------------------------------------------
# Confirming Jᵀv
# --------------------------------------------------------------------------------------------


@dataclass
class VJPReport:
    """The result of :func:`confirm_vjp`. ``ok`` is true when every comparison agrees.

    Attributes:
        names: the inputs' names (from ``f``'s signature when it has one).
        v: the cotangent.
        jtv: per input, ``Jᵀv`` formed from ``J`` built by forward mode (column by column).
        vjp: per input, the VJP from one backward sweep.
        jtv_reverse: per input, ``Jᵀv`` formed from ``J`` built by reverse mode (row by row).
        jac_forward, jac_reverse: per input, the two Jacobians.
        max_abs, max_rel: largest absolute / relative difference over all comparisons.
        sweeps: per step, the :class:`SweepCount` it took.
        rtol, atol: the tolerances used for ``ok``.
    """

    names: list[str]
    v: Any
    jtv: list
    vjp: list
    jtv_reverse: list
    jac_forward: list
    jac_reverse: list
    max_abs: float
    max_rel: float
    sweeps: dict[str, SweepCount]
    rtol: float
    atol: float

    @property
    def ok(self) -> bool:
        return all(
            np.allclose(a, b, rtol=self.rtol, atol=self.atol)
            for ref in (self.vjp, self.jtv_reverse)
            for a, b in zip(self.jtv, ref)
        ) and all(
            np.allclose(a, b, rtol=self.rtol, atol=self.atol)
            for a, b in zip(self.jac_forward, self.jac_reverse)
        )

    def __str__(self) -> str:
        def fmt(x: Any) -> str:
            return np.array2string(np.asarray(raw(x)), precision=6, separator=", ")

        lines = [f"Jᵀv check with v = {fmt(self.v)}"]
        width = max(len(n) for n in self.names)
        for k, name in enumerate(self.names):
            lines.append(f"  input {name.ljust(width)}  Jᵀv from J (forward) = {fmt(self.jtv[k])}")
            pad = " " * (width + 8)
            lines.append(f"  {pad}VJP sweep            = {fmt(self.vjp[k])}")
            lines.append(f"  {pad}Jᵀv from J (reverse) = {fmt(self.jtv_reverse[k])}")
        lines.append(
            f"  max abs difference {self.max_abs:.3g}, max rel difference {self.max_rel:.3g}"
            f" (rtol={self.rtol:g}, atol={self.atol:g})"
        )
        lines.append("  sweeps:")
        for step, count in self.sweeps.items():
            lines.append(f"    {step}: {count}")
        lines.append(f"  ok: {self.ok}")
        return "\n".join(lines)

    __repr__ = __str__


def _names(f: Callable[..., Any], k: int) -> list[str]:
    params = positional_names(f)
    return params[:k] if len(params) >= k else [str(i) for i in range(k)]


def _max_diffs(pairs: list[tuple[Any, Any]]) -> tuple[float, float]:
    worst_abs = worst_rel = 0.0
    for a, b in pairs:
        a, b = np.asarray(raw(a), float), np.asarray(raw(b), float)
        if a.size == 0:
            continue
        diff = np.abs(a - b)
        worst_abs = max(worst_abs, float(diff.max()))
        scale = np.maximum(np.abs(a), np.abs(b))
        rel = np.where(scale > 0, diff / np.where(scale > 0, scale, 1.0), 0.0)
        worst_rel = max(worst_rel, float(rel.max()))
    return worst_abs, worst_rel


def confirm_vjp(
    f: Callable[..., Any],
    inputs: Any,
    v: Any,
    *,
    vectorize: bool = False,
    rtol: float = 1e-7,
    atol: float = 1e-10,
) -> VJPReport:
    """Confirm that one VJP sweep gives ``Jᵀv``, by building ``J`` and multiplying.

    Three routes to the same numbers, per input of ``f``:

    1. ``J`` built by forward mode, column by column (``n`` JVP sweeps), then ``Jᵀv``;
    2. one VJP sweep with the cotangent ``v``: reverse mode never builds ``J``;
    3. ``J`` built by reverse mode, row by row, then ``Jᵀv``.

    The report compares 1 with 2 and with 3, and the two Jacobians with each other.

    Args:
        f: a function of arrays.
        inputs: the point: one array (or float) for a function of one argument, or a tuple /
            list with one entry per argument.
        v: the cotangent, shaped like ``f``'s output.
        vectorize: build the Jacobians with batched sweeps instead of one sweep per vector.
        rtol: relative tolerance for ``report.ok``.
        atol: absolute tolerance for ``report.ok``.

    Returns:
        A :class:`VJPReport`; ``print`` it, or test ``report.ok``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> Q = lambda a, b: 3 * a**3 - b**2
        >>> report = ad.confirm_vjp(Q, (np.array([2.0, 3.0]), np.array([6.0, 4.0])), [1.0, 1.0])
        >>> report.ok, report.vjp                     # Jᵀv = (9a², -2b)
        (True, [array([36., 81.]), array([-12.,  -8.])])
        >>> print(report)                             # doctest: +NORMALIZE_WHITESPACE
        Jᵀv check with v = [1., 1.]
          input a  Jᵀv from J (forward) = [36., 81.]
                   VJP sweep            = [36., 81.]
                   Jᵀv from J (reverse) = [36., 81.]
          input b  Jᵀv from J (forward) = [-12., -8.]
                   VJP sweep            = [-12., -8.]
                   Jᵀv from J (reverse) = [-12., -8.]
          max abs difference 0, max rel difference 0 (rtol=1e-07, atol=1e-10)
          sweeps:
            J by forward mode: 4 JVP sweeps (4 tangents)
            VJP: 1 tape recorded, 1 VJP sweep (1 cotangent)
            J by reverse mode: 1 tape recorded, 2 VJP sweeps (2 cotangents)
          ok: True
    """
    args = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    args = tuple(check_float(a, f"input {i} of confirm_vjp") for i, a in enumerate(args))
    nums = tuple(range(len(args)))
    sweeps = {}
    with SweepCount() as sweeps["J by forward mode"]:
        jf = jacfwd(f, nums, vectorize=vectorize)(*args)
    with SweepCount() as sweeps["VJP"]:
        out, pullback = vjp(f, *args)
        if isinstance(out, tuple):
            raise TypeError("confirm_vjp needs f to return one array, not a tuple")
        v = check_float(v, "v")
        if shape_of(v) != shape_of(out):
            raise ValueError(
                f"v has shape {shape_of(v)} but f's output has shape {shape_of(out)}; "
                "the cotangent must have the output's shape"
            )
        _note(recordings=1)
        swept = list(pullback(v))
        _note(vjp=1, cotangents=1)
    with SweepCount() as sweeps["J by reverse mode"]:
        jr = jacrev(f, nums, vectorize=vectorize)(*args)

    k = np.ndim(raw(v))
    jtv = [np.tensordot(raw(v), raw(j), axes=k) for j in jf]
    jtv_rev = [np.tensordot(raw(v), raw(j), axes=k) for j in jr]
    max_abs, max_rel = _max_diffs(
        list(zip(jtv, swept)) + list(zip(jtv, jtv_rev)) + list(zip(jf, jr))
    )
    return VJPReport(
        names=_names(f, len(args)),
        v=v,
        jtv=jtv,
        vjp=[np.asarray(raw(s)) for s in swept],
        jtv_reverse=jtv_rev,
        jac_forward=[np.asarray(raw(j)) for j in jf],
        jac_reverse=[np.asarray(raw(j)) for j in jr],
        max_abs=max_abs,
        max_rel=max_rel,
        sweeps=sweeps,
        rtol=rtol,
        atol=atol,
    )


__all__ = [
    "JacobianFunction",
    "LinearizedJVP",
    "ModeChoice",
    "SweepCount",
    "VJPReport",
    "confirm_vjp",
    "hessian",
    "hvp",
    "jacfwd",
    "jacobian",
    "jacrev",
    "linearize",
]
