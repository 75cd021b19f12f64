"""PyTorch's ``torch.utils.checkpoint.checkpoint`` for the ``Tensor`` facade.

``ad.utils.checkpoint(fn, *args)`` runs ``fn`` without keeping its intermediate tensors for the
backward pass, and runs it again during ``backward()`` to get them back: activation
checkpointing, which trades one more forward pass for the memory of the tensors inside ``fn``.

Unlike the functional :func:`autodiff.checkpoint`, ``fn`` here may use tensors that it does not
receive as arguments, such as the parameters of an ``nn.Module``: the first run finds the leaf
tensors requiring grad that ``fn`` reaches, and the block's single tape entry has them as inputs,
so their ``.grad`` fills as without checkpointing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autodiff import rng, tree
from autodiff.autograd import LeafNode, enable_grad, is_grad_enabled, run_backward
from autodiff.checkpoint import Layout
from autodiff.checkpoint import checkpoint as _functional_checkpoint
from autodiff.core import Box, bind
from autodiff.registry import Op
from autodiff.reverse import Node
from autodiff.tensor import Tensor

__all__ = ["checkpoint"]


def checkpoint(
    function: Callable[..., Any],
    *args: Any,
    use_reentrant: bool | None = None,
    preserve_rng_state: bool = True,
    **kwargs: Any,
) -> Any:
    """Run ``function(*args, **kwargs)`` and recompute it in the backward pass instead of keeping
    its intermediate tensors, like ``torch.utils.checkpoint.checkpoint``.

    The gradients (``.grad`` of the inputs and of the parameters ``function`` uses) are the same
    as without checkpointing; only the memory held between the forward and the backward pass
    shrinks to the inputs and outputs of ``function``.

    Args:
        function: a function of tensors (an ``nn.Module``, a method, a lambda) returning a tensor
            or a tuple (a pytree) of tensors. It may use leaf tensors it does not receive, such
            as a module's parameters; a tensor computed outside it that requires grad must be
            passed as an argument.
        *args: the arguments of ``function``; tensors among them are differentiated.
        use_reentrant: PyTorch's two implementations. ``None`` or ``False`` (the one PyTorch
            recommends) is what this function does; ``True`` is refused, as autodiff has no
            reentrant backward.
        preserve_rng_state: restore the random generator's state for the recomputation, so
            that dropout draws the same mask twice (as in PyTorch).
        **kwargs: keyword arguments of ``function``, passed as they are.

    Returns:
        What ``function`` returns.

    Raises:
        ValueError: ``use_reentrant=True``.
        TypeError: ``function`` uses a tensor that requires grad, is not a leaf and is not an
            argument.
        NotImplementedError: a backward with ``create_graph=True`` through the block.

    Examples:
        >>> import autodiff as ad
        >>> from autodiff import nn
        >>> _ = ad.manual_seed(0)
        >>> layer = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
        >>> x = ad.randn(2, 3, requires_grad=True)
        >>> ad.utils.checkpoint(layer, x, use_reentrant=False).sum().backward()
        >>> x.grad.shape, layer[0].weight.grad.shape
        ((2, 3), (3, 3))
    """
    if use_reentrant:
        raise ValueError(
            "ad.utils.checkpoint(..., use_reentrant=True) is not supported: autodiff has no "
            "reentrant backward. Use use_reentrant=False (PyTorch's recommended mode), which "
            "gives the same gradients"
        )
    leaves, treedef = tree.flatten((list(args), kwargs))
    if not any(isinstance(leaf, Tensor) for leaf in leaves):
        # no tensor: plain arrays or values traced by ad.grad & co., the functional checkpoint
        return _functional_checkpoint(function)(*args, **kwargs)
    if not is_grad_enabled():
        return function(*args, **kwargs)
    which = [i for i, leaf in enumerate(leaves) if _watched(leaf)]
    state = rng.default_generator.get_state() if preserve_rng_state else None

    def call(tensors: list) -> Any:
        full = list(leaves)
        for i, t in zip(which, tensors):
            full[i] = t
        a, kw = tree.unflatten(treedef, full)
        return function(*a, **kw)

    # The first run records fn's graph from fresh leaves, to find the tensors it reaches from
    # outside (parameters), then lets the graph go: only the outputs' values are kept.
    inputs = [_fresh_leaf(leaves[i]) for i in which]
    start = Node(None, (), {}, None, ()).seq
    with enable_grad():
        result = call(inputs)
    outs, out_tree = _output_leaves(result)
    outside = _outside_leaves(outs, {id(t._node) for t in inputs}, start)
    layout = Layout([_detached(o) for o in outs], out_tree)
    floats = [o for o, f in zip(outs, layout.floating) if f]
    if not floats or all(o._node is None for o in floats):
        return _detached(result)
    packed = layout.pack([o._value if _is_tensor(o) else o for o in outs])
    del result, outs, floats  # the graph of the first run goes with them
    n = len(inputs)
    name = getattr(function, "__name__", type(function).__name__)

    def primal(*values: Any) -> Any:
        return packed  # computed by the first run: the forward pass runs fn once

    def vjp(g: Any, ans: Any, *values: Any) -> list:
        # x̄ = (∂fn/∂x)ᵀ ḡ, from fn run again (with the saved random state) at the saved x
        if isinstance(g, Box) or any(isinstance(v, Box) for v in values):
            raise NotImplementedError(
                f"ad.utils.checkpoint({name}): backward(create_graph=True) through a "
                "checkpointed block is not supported; checkpoint with ad.checkpoint (a function "
                "of its array arguments only) for higher derivatives"
            )
        xs = [Tensor._wrap(v, None).requires_grad_(True) for v in values[:n]]
        saved = None
        if state is not None:
            saved = rng.default_generator.get_state()
            rng.default_generator.set_state(state)
        try:
            with enable_grad():
                again, _ = _output_leaves(call(xs))
        finally:
            if saved is not None:
                rng.default_generator.set_state(saved)
        again = [o for o, f in zip(again, layout.floating) if f]
        gs = layout.unpack(g)
        gs = [gi for gi, f in zip(gs, layout.floating) if f]
        roots = [(o, gi) for o, gi in zip(again, gs) if o._node is not None]
        if not roots:
            return [None] * len(values)
        found = run_backward(
            [o for o, _ in roots],
            [gi for _, gi in roots],
            retain_graph=False,
            create_graph=False,
            inputs=[*xs, *outside],
        )
        return [None if c is None else c._value for c in found]

    op = Op(
        name="checkpoint",
        primal=primal,
        nargs=n + len(outside),
        vjp=vjp,
        vjp_whole=True,
        doc=f"checkpointed block {name}",
        keeps=(False, ()),  # the rule reads every input and never the output
    )
    block = bind(op, [*(leaves[i] for i in which), *outside], {})
    return layout.rebuild(block)


def _is_tensor(x: Any) -> bool:
    return isinstance(x, Tensor)


def _watched(x: Any) -> bool:
    """An argument the block differentiates: a floating-point tensor."""
    return isinstance(x, Tensor) and np.issubdtype(x.dtype, np.floating)


def _fresh_leaf(t: Tensor) -> Tensor:
    """A new leaf tensor sharing ``t``'s values (``requires_grad`` as ``t``)."""
    leaf = Tensor._wrap(t._value, None)
    return leaf.requires_grad_(True) if t.requires_grad else leaf


def _output_leaves(result: Any) -> tuple[list, tree.PyTreeDef]:
    outs, treedef = tree.flatten(result)
    for o in outs:
        if not (isinstance(o, Tensor) or np.isscalar(o) or isinstance(o, np.ndarray)):
            raise TypeError(
                "ad.utils.checkpoint needs the function to return tensors (or a tuple of "
                f"tensors), but it returned a {type(o).__name__}"
            )
    return outs, treedef


def _outside_leaves(outs: list, inside: set[int], start: int) -> list[Tensor]:
    """The leaf tensors requiring grad, not among the block's inputs, that the graph of
    ``outs`` reaches (the parameters ``fn`` uses); a non-leaf one is an error."""
    found: dict[int, Tensor] = {}
    seen: set[int] = set()
    stack = [o._node for o in outs if isinstance(o, Tensor) and o._node is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen or id(node) in inside:
            continue
        seen.add(id(node))
        if isinstance(node, LeafNode):
            tensor = node.tensor_ref()
            if tensor is not None:
                found[id(node)] = tensor
            continue
        if node.seq < start:
            raise TypeError(
                "ad.utils.checkpoint: the function uses a tensor that requires grad, was "
                "computed outside it and is not one of its arguments; pass it as an argument"
            )
        stack.extend(p for p in node.parents if p is not None)
    return list(found.values())


def _detached(result: Any) -> Any:
    """What ``fn`` returned when nothing in it requires grad: its values with no history."""
    return tree.map(lambda o: o.detach() if isinstance(o, Tensor) else o, result)
