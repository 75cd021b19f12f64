"""Pytrees at the boundary of the function transforms.

The engines work on flat tuples of arrays. Each public transform (``grad``, ``vjp``, ``jvp``,
``jacfwd``, ...) flattens its pytree arguments into leaves here, hands the engine a function of
the leaves that rebuilds the containers, calls ``f`` and flattens what ``f`` returns, then
rebuilds the results around the structures it recorded. Errors name the path of the leaf at
fault (``p['layers'][1] (in argument 0 of grad)``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from autodiff import tree
from autodiff.core import Box, Trace, check_float, check_outputs, describe_output
from autodiff.tree import PyTreeDef


def positional_names(f: Callable[..., Any]) -> list[str]:
    """The names of ``f``'s positional parameters (empty when it has no readable signature)."""
    try:
        return [
            p.name
            for p in inspect.signature(f).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return []


def _param_name(f: Callable[..., Any], k: int) -> str:
    """The name of ``f``'s ``k``-th positional parameter, or ``args[k]``."""
    params = positional_names(f)
    return params[k] if k < len(params) else f"args[{k}]"


def flat_function(
    f: Callable[..., Any], trees: Sequence[PyTreeDef], has_aux: bool, who: str, found: list
) -> Callable[..., Any]:
    """``f`` as a function of flat leaves returning flat outputs (one array, or a tuple), for
    the flat engines; each call appends ``(output structure, aux)`` to ``found``."""

    def g(*leaves: Any) -> Any:
        out = f(*unflatten_args(trees, leaves))
        aux = None
        if has_aux:
            out, aux = split_aux(out, who)
        outs, out_tree = flatten_output(out, who)
        found.append((out_tree, aux))
        return outs[0] if out_tree.is_leaf else outs

    return g


def check_leaf(
    leaf: Any, f: Callable[..., Any] | None, k: int, path: str, who: str, label: str = ""
) -> Any:
    """``check_float`` of one input leaf; the error names its path when it is inside a tree.

    ``label`` names argument ``k`` (default ``"argument {k} of {who}"``)."""
    what = (label or "argument {k} of {who}").format(k=k, who=who)
    if not path:
        return check_float(leaf, what)
    try:
        return check_float(leaf, what)
    except TypeError:
        name = _param_name(f, k) if f is not None else f"args[{k}]"
        return check_float(leaf, f"{name}{path} (in {what})")


def flatten_args(
    f: Callable[..., Any] | None,
    args: Sequence[Any],
    nums: Iterable[int],
    who: str,
    label: str = "",
) -> tuple[tuple, list[PyTreeDef]]:
    """The checked float leaves of ``args[k]`` for ``k`` in ``nums``, and their structures."""
    flat: list = []
    trees = []
    for k in nums:
        pairs, treedef = tree.flatten_with_paths(args[k])
        flat.extend(check_leaf(leaf, f, k, path, who, label) for path, leaf in pairs)
        trees.append(treedef)
    return tuple(flat), trees


def unflatten_args(trees: Sequence[PyTreeDef], flat: Sequence[Any]) -> list:
    """Split ``flat`` by the structures ``trees`` and rebuild one pytree per structure."""
    out = []
    start = 0
    for treedef in trees:
        n = treedef.num_leaves
        out.append(
            flat[start] if treedef.is_leaf else tree.unflatten(treedef, flat[start : start + n])
        )
        start += n
    return out


def substitute(args: Sequence[Any], nums: Sequence[int], values: Sequence[Any]) -> list:
    """``args`` with ``args[nums[i]]`` replaced by ``values[i]``."""
    full = list(args)
    for k, v in zip(nums, values):
        full[k] = v
    return full


def _not_an_array(leaf: Any) -> bool:
    array_like = hasattr(leaf, "shape") and hasattr(leaf, "dtype")  # ndarray, dask, a box
    return not (array_like or isinstance(leaf, (int, float, complex))) or isinstance(leaf, bool)


def flatten_output(out: Any, who: str) -> tuple[tuple, PyTreeDef]:
    """The leaves of what ``f`` returned and its structure; a clear error for a ``None`` output
    or a leaf that is not an array (naming its path)."""
    if out is None:
        check_outputs(None, who)  # raises: "... returned None (does the function lack ...)"
    if not tree.is_node(out):
        pairs, treedef = [("", out)], tree.LEAF
    else:
        pairs, treedef = tree.flatten_with_paths(out)
    for path, leaf in pairs:
        if _not_an_array(leaf):
            where = f" at out{path}" if path else ""
            raise TypeError(
                f"{who} needs f to return arrays (or a pytree of arrays: nested tuples, lists, "
                f"dicts), but f returned {describe_output(leaf)}{where}"
            )
    return tuple(leaf for _, leaf in pairs), treedef


def split_aux(out: Any, who: str) -> tuple[Any, Any]:
    """``(output, aux)`` from a function declared ``has_aux=True``, or a clear error."""
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(
            f"{who}(..., has_aux=True) needs f to return a pair (output, aux), but f returned "
            f"{describe_output(out) if not isinstance(out, tuple) else f'a tuple of {len(out)}'}"
        )
    return out


def level_mark() -> int:
    """A level below every trace opened from now on (levels only grow): boxes of traces above it
    belong to the transform that took the mark."""
    return Trace().level


def unbox_aux(aux: Any, mark: int, hold: Callable[[Any], Any] | None = None) -> Any:
    """``aux`` with the boxes of the transforms opened after ``mark`` taken off: plain values
    (or the boxes of enclosing transforms, which are still running). ``hold(box)`` gives the
    value for a box of this transform when set (a copy the tape does not share)."""

    def strip(x: Any) -> Any:
        while isinstance(x, Box) and x._trace.level > mark:
            x = hold(x) if hold is not None else x._value
        return x

    return tree.map(strip, aux)


__all__ = [
    "check_leaf",
    "flatten_args",
    "flatten_output",
    "level_mark",
    "split_aux",
    "substitute",
    "unbox_aux",
    "unflatten_args",
]
