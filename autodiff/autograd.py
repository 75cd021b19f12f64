"""PyTorch-style autograd on the reverse engine: grad mode, ``backward`` and ``autograd.grad``.

The ``Tensor`` facade records on the same :class:`~autodiff.reverse.Node` tape as ``vjp``; what
this module adds is PyTorch's bookkeeping around the sweep: a per-thread grad mode, ``.grad``
that accumulates on leaves, freeing the graph after a backward unless ``retain_graph=True``,
version checks on saved tensors, and ``create_graph=True`` for derivatives of derivatives.

Imports run one way: :mod:`autodiff.tensor` imports this module, never the reverse. This module
knows a tensor only by what it holds (``_node``, ``_value``, ``shape``, ``dtype``) and makes new
ones through the trace they belong to, ``t._trace.wrap(value, node)``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from autodiff import functions
from autodiff.core import Box
from autodiff.reverse import Node, backward_sweep

_mode = threading.local()


def is_grad_enabled() -> bool:
    """Whether operations on tensors that require grad are recorded (per thread)."""
    return getattr(_mode, "enabled", True)


class set_grad_enabled:
    """Turn recording on or off, as a function call or a context manager (per thread).

    Examples:
        >>> import autodiff as ad
        >>> x = ad.tensor([1.0], requires_grad=True)
        >>> with ad.set_grad_enabled(False):
        ...     (x * 2).requires_grad
        False
    """

    def __init__(self, mode: bool) -> None:
        self.prev = is_grad_enabled()
        _mode.enabled = bool(mode)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        _mode.enabled = self.prev


@contextmanager
def no_grad() -> Iterator[None]:
    """Context manager: operations inside are not recorded (like ``torch.no_grad``).

    Examples:
        >>> import autodiff as ad
        >>> x = ad.tensor([1.0], requires_grad=True)
        >>> with ad.no_grad():
        ...     y = x * 2
        >>> y.requires_grad
        False
    """
    prev = is_grad_enabled()
    _mode.enabled = False
    try:
        yield
    finally:
        _mode.enabled = prev


@contextmanager
def enable_grad() -> Iterator[None]:
    """Context manager: recording on, even inside ``no_grad``."""
    prev = is_grad_enabled()
    _mode.enabled = True
    try:
        yield
    finally:
        _mode.enabled = prev


class TensorNode(Node):
    """A tape entry made by the Tensor facade: a :class:`~autodiff.reverse.Node` that also keeps
    the version counters of its input tensors and of its output, to refuse a stale gradient.

    Attributes:
        versions: ``(counter, version)`` per input tensor: its version counter (a one-element
            list that in-place operations bump) and the version it had when recorded.
        out_version: the output tensor's version counter; ``out_seen``: its version then.
        freed: the graph was released by a backward without ``retain_graph=True``.
        retain_ref: a weak reference to the output tensor once it called ``.retain_grad()``.
    """

    __slots__ = ("freed", "out_seen", "out_version", "retain_ref", "versions")

    def __init__(
        self,
        op: Any,
        args: Any,
        params: dict,
        ans: Any,
        parents: Any,
        versions: tuple[tuple[list[int], int], ...],
        out_version: list[int],
    ) -> None:
        super().__init__(op, args, params, ans, parents)
        self.versions = versions
        self.out_version = out_version
        self.out_seen = out_version[0]
        self.freed = False
        self.retain_ref: Any = None


class LeafNode(Node):
    """The tape entry of a leaf tensor that requires grad (PyTorch's ``AccumulateGrad``): holds
    a weak reference to the tensor, whose ``.grad`` the backward sweep accumulates into."""

    __slots__ = ("tensor_ref",)

    def __init__(self, tensor: Any) -> None:
        super().__init__(None, (), {}, tensor._value, ())
        self.tensor_ref = weakref.ref(tensor)


FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)


class _Retained:
    """The nodes of non-leaf tensors that asked for ``.retain_grad()``."""

    def __contains__(self, node: Node) -> bool:
        return getattr(node, "retain_ref", None) is not None

    def __bool__(self) -> bool:
        return True


_RETAINED = _Retained()


def _preparer(create_graph: bool, visited: list, wrap: Any):
    def prepare(node: TensorNode) -> tuple[Any, Any]:
        if node.freed:
            raise RuntimeError(FREED)
        for cell, seen in node.versions:
            if cell[0] != seen:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: an input of '{node.op.name}' is at version "
                    f"{cell[0]}; expected version {seen} instead. Use an out-of-place "
                    "operation, or .clone() the tensor before changing it"
                )
        if node.out_version[0] != node.out_seen:
            raise RuntimeError(
                f"the output of '{node.op.name}' was modified by an inplace operation after it "
                "was saved for backward; use an out-of-place operation instead"
            )
        visited.append(node)
        if create_graph:
            # the saved values, as tensors on the graph, so the sweep itself is recorded
            args = tuple(wrap(a, p) if p is not None else a
                         for a, p in zip(node.args, node.parents))  # fmt: skip
            return args, wrap(node.ans, node)
        return node.args, node.ans

    return prepare


def run_backward(
    roots: Sequence[Box],
    grads: Sequence[Any],
    *,
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence[Box] | None = None,
) -> list[Any] | None:
    """The sweep behind ``Tensor.backward`` and ``autograd.grad``.

    With ``inputs`` it returns their gradients (``None`` where unreached) and leaves ``.grad``
    alone; without, it accumulates into the ``.grad`` of every reached leaf (and of non-leaf
    tensors that called ``retain_grad()``).
    """

    seeds = []
    for t, g in zip(roots, grads):
        if t._node is None:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn: "
                "nothing to differentiate (did you forget requires_grad=True, or compute it "
                "under no_grad?)"
            )
        seeds.append((t._node, g if create_graph else _plain(g)))
    keep: Any = _RETAINED
    if inputs is not None:
        for t in inputs:
            if t._node is None:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
        keep = {t._node for t in inputs}
    visited: list[TensorNode] = []
    prepare = _preparer(create_graph, visited, roots[0]._trace.wrap)
    with enable_grad() if create_graph else no_grad():
        found = backward_sweep(seeds, keep=keep, prepare=prepare, release=not retain_graph)
    if not retain_graph:
        for node in visited:
            node.freed = True
    if inputs is not None:
        return [_as_tensor(found.get(t._node), t, create_graph) for t in inputs]
    taken = {id(_plain(g)) for g in grads}  # the caller's arrays: never adopted as .grad
    for node, g in found.items():
        ref = node.tensor_ref if isinstance(node, LeafNode) else node.retain_ref
        target = ref() if ref is not None else None
        if target is not None:
            target._accumulate(g, create_graph, taken)
    return None


def _plain(g: Any) -> Any:
    """A gradient as a plain array: a tensor's value, or the array itself."""
    return g._value if isinstance(g, Box) else g


def _as_tensor(g: Any, like: Box, create_graph: bool) -> Any:
    """A gradient found by the sweep as a tensor (recorded only with ``create_graph``)."""
    if g is None:
        return None
    wrap = like._trace.wrap
    if g.dtype.kind == "c":  # PyTorch's convention: the conjugate of the engines' gradient
        g = functions.conj(g)
    if isinstance(g, Box):
        return g if create_graph else wrap(g._value, None)
    return wrap(np.asarray(g, dtype=like.dtype), None)


def grad(
    outputs: Box | Sequence[Box],
    inputs: Box | Sequence[Box],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Any, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned instead of stored in ``.grad``.

    Like ``torch.autograd.grad``. With ``create_graph=True`` the result is itself recorded, so
    it can be differentiated again.

    Examples:
        >>> import autodiff as ad
        >>> x = ad.tensor(2.0, requires_grad=True)
        >>> (dy,) = ad.autograd.grad(x**3, x, create_graph=True)   # 3x² = 12
        >>> (d2y,) = ad.autograd.grad(dy, x)                        # 6x = 12
        >>> float(dy), float(d2y)
        (12.0, 12.0)
    """
    outs = [outputs] if isinstance(outputs, Box) else list(outputs)
    ins = [inputs] if isinstance(inputs, Box) else list(inputs)
    if grad_outputs is None:
        gs = [None] * len(outs)
    elif isinstance(grad_outputs, Box):
        gs = [grad_outputs]
    else:
        gs = list(grad_outputs)
    seeds = [_seed(o, g, create_graph) for o, g in zip(outs, gs)]
    retain = create_graph if retain_graph is None else retain_graph
    result = run_backward(outs, seeds, retain_graph=retain, create_graph=create_graph, inputs=ins)
    if not allow_unused and any(r is None for r in result):
        raise RuntimeError(
            "One of the differentiated Tensors appears to not have been used in the graph. "
            "Set allow_unused=True if this is the desired behavior."
        )
    return tuple(result)


def _seed(out: Box, gradient: Any, create_graph: bool) -> Any:
    """The starting cotangent of a backward pass, checked like PyTorch checks it."""
    wrap = out._trace.wrap
    if gradient is None:
        if out.numel() != 1:
            raise RuntimeError(
                "grad can be implicitly created only for scalar outputs; this output has shape "
                f"{tuple(out.shape)}: pass gradient= (a tensor of that shape), or reduce it "
                "first, e.g. out.sum().backward()"
            )
        if out.dtype.kind == "c":
            raise RuntimeError("grad can be implicitly created only for real scalar outputs")
        g = np.ones(out.shape, dtype=out.dtype)
        return wrap(g, None) if create_graph else g
    g = gradient if isinstance(gradient, Box) else wrap(np.asarray(gradient), None)
    if tuple(g.shape) != tuple(out.shape):
        raise RuntimeError(
            f"Mismatch in shape: grad_output[0] has a shape of {tuple(g.shape)} and output[0] "
            f"has a shape of {tuple(out.shape)}"
        )
    if not np.issubdtype(g.dtype, np.inexact):
        raise TypeError(f"gradient must be a floating point tensor, got dtype {g.dtype}")
    if g.dtype != out.dtype:
        g = wrap(g._value.astype(out.dtype), None)
    if g.dtype.kind == "c":
        # PyTorch's convention from the engines' (JAX's): conjugate the seed here and the
        # gradients that reach the leaves (Tensor._accumulate, _as_tensor)
        g = functions.conj(g)
    return g if create_graph else g._value


def backward(
    tensor: Box, gradient: Any = None, retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:  # fmt: skip
    """``tensor.backward(...)``: accumulate gradients into the leaves' ``.grad``."""
    seed = _seed(tensor, gradient, create_graph)
    retain = create_graph if retain_graph is None else retain_graph
    run_backward([tensor], [seed], retain_graph=retain, create_graph=create_graph)
