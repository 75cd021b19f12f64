"""Pytrees: nested dicts, lists, tuples and namedtuples of arrays, as in JAX.

A *pytree* is a container made of ``dict`` (also ``OrderedDict`` and ``defaultdict``), ``list``,
``tuple`` and ``namedtuple`` nodes, whose *leaves* are everything else (arrays, Python numbers,
traced values). ``None`` is a node with no children: an empty subtree, not a leaf. Every function
transform (``grad``, ``vjp``, ``jvp``, ``jacrev``, ...) takes and returns pytrees: it flattens
them into a list of leaves at its boundary, runs the engines on the leaves, and rebuilds the
containers, types included, around the results.

The order of the leaves is JAX's: a dict's children in sorted key order (an ``OrderedDict``'s in
insertion order), a list's or tuple's in position order, a namedtuple's in field order.

Examples:
    >>> import numpy as np, autodiff as ad
    >>> params = {"w": np.ones(2), "b": 0.5, "extra": None}
    >>> leaves, treedef = ad.tree.flatten(params)
    >>> leaves
    [0.5, array([1., 1.])]
    >>> treedef
    PyTreeDef({'b': *, 'extra': None, 'w': *})
    >>> ad.tree.unflatten(treedef, [1.0, 2.0])
    {'b': 1.0, 'extra': None, 'w': 2.0}
    >>> ad.tree.map(lambda x: 2 * x, params)      # dicts come back with sorted keys, as in JAX
    {'b': 1.0, 'extra': None, 'w': array([2., 2.])}
"""

from __future__ import annotations

import builtins
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

_LEAF, _NONE, _TUPLE, _LIST, _DICT, _NAMEDTUPLE = "leaf", "none", "tuple", "list", "dict", "nt"


class PyTreeDef:
    """The structure of a pytree: its containers, without the leaves.

    Two structures are equal when their containers, keys and types are equal. ``num_leaves`` is
    the number of leaves a tree of this structure holds.
    """

    __slots__ = ("children", "kind", "meta", "node_type", "num_leaves")

    def __init__(self, kind: str, node_type: Any, meta: Any, children: tuple[PyTreeDef, ...]):
        self.kind = kind
        self.node_type = node_type
        self.meta = meta  # dict: the keys in leaf order (and defaultdict's factory)
        self.children = children
        self.num_leaves = 1 if kind == _LEAF else sum(c.num_leaves for c in children)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, PyTreeDef)
            and self.kind == other.kind
            and self.node_type is other.node_type
            and self.meta == other.meta
            and self.children == other.children
        )

    def __hash__(self) -> int:
        return hash((self.kind, self.node_type, self.children))

    @property
    def is_leaf(self) -> bool:
        """Whether the whole tree is one leaf."""
        return self.kind == _LEAF

    def _text(self) -> str:
        kind = self.kind
        if kind == _LEAF:
            return "*"
        if kind == _NONE:
            return "None"
        inner = [c._text() for c in self.children]
        if kind == _TUPLE:
            return "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"
        if kind == _LIST:
            return "[" + ", ".join(inner) + "]"
        if kind == _NAMEDTUPLE:
            fields = ", ".join(f"{n}={t}" for n, t in zip(self.node_type._fields, inner))
            return f"{self.node_type.__name__}({fields})"
        keys = self.meta[0]
        body = "{" + ", ".join(f"{k!r}: {t}" for k, t in zip(keys, inner)) + "}"
        if self.node_type is dict:
            return body
        return f"{self.node_type.__name__}({body})"

    def __repr__(self) -> str:
        return f"PyTreeDef({self._text()})"


LEAF = PyTreeDef(_LEAF, None, None, ())
NONE = PyTreeDef(_NONE, None, None, ())


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _dict_keys(x: dict) -> list:
    if type(x) is OrderedDict:
        return list(x)
    try:
        return sorted(x)
    except TypeError:  # keys of mixed types: sort by type name, then value's text
        return sorted(x, key=lambda k: (type(k).__name__, repr(k)))


def is_node(x: Any) -> bool:
    """Whether ``x`` is a container node of a pytree (``None`` included), not a leaf."""
    t = type(x)
    return (
        x is None
        or t is tuple
        or t is list
        or t is dict
        or t is OrderedDict
        or t is defaultdict
        or _is_namedtuple(x)
    )


def _flatten(x: Any, leaves: list, paths: list | None, path: str, is_leaf: Any) -> PyTreeDef:
    if is_leaf is not None and is_leaf(x):
        leaves.append(x)
        if paths is not None:
            paths.append(path)
        return LEAF
    t = type(x)
    if x is None:
        return NONE
    if t is tuple or t is list:
        kids = tuple(_flatten(c, leaves, paths, f"{path}[{i}]", is_leaf) for i, c in enumerate(x))
        return PyTreeDef(_TUPLE if t is tuple else _LIST, t, None, kids)
    if t is dict or t is OrderedDict or t is defaultdict:
        keys = _dict_keys(x)
        kids = tuple(_flatten(x[k], leaves, paths, f"{path}[{k!r}]", is_leaf) for k in keys)
        factory = x.default_factory if t is defaultdict else None
        return PyTreeDef(_DICT, t, (tuple(keys), factory), kids)
    if _is_namedtuple(x):
        kids = tuple(
            _flatten(c, leaves, paths, f"{path}.{n}", is_leaf) for n, c in zip(t._fields, x)
        )
        return PyTreeDef(_NAMEDTUPLE, t, None, kids)
    leaves.append(x)
    if paths is not None:
        paths.append(path)
    return LEAF


def flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list, PyTreeDef]:
    """The leaves of ``tree`` in order, and its structure.

    Args:
        tree: a pytree.
        is_leaf: optional predicate; a subtree for which it is true is taken as one leaf.

    Returns:
        ``(leaves, treedef)``; ``unflatten(treedef, leaves)`` rebuilds ``tree``.

    Examples:
        >>> import autodiff as ad
        >>> ad.tree.flatten((1.0, [2.0, None], {"a": 3.0}))
        ([1.0, 2.0, 3.0], PyTreeDef((*, [*, None], {'a': *})))
    """
    leaves: list = []
    return leaves, _flatten(tree, leaves, None, "", is_leaf)


def flatten_with_paths(tree: Any) -> tuple[list[tuple[str, Any]], PyTreeDef]:
    """Like :func:`flatten`, each leaf paired with its path, written as Python would index it.

    Examples:
        >>> import autodiff as ad
        >>> ad.tree.flatten_with_paths({"layers": [1.0, 2.0]})[0]
        [("['layers'][0]", 1.0), ("['layers'][1]", 2.0)]
    """
    leaves: list = []
    paths: list = []
    treedef = _flatten(tree, leaves, paths, "", None)
    return list(zip(paths, leaves)), treedef


def _build(treedef: PyTreeDef, it: Any) -> Any:
    kind = treedef.kind
    if kind == _LEAF:
        return next(it)
    if kind == _NONE:
        return None
    kids = [_build(c, it) for c in treedef.children]
    if kind == _TUPLE:
        return tuple(kids)
    if kind == _LIST:
        return kids
    if kind == _NAMEDTUPLE:
        return treedef.node_type(*kids)
    keys, factory = treedef.meta
    if treedef.node_type is defaultdict:
        return defaultdict(factory, zip(keys, kids))
    return treedef.node_type(zip(keys, kids))


def unflatten(treedef: PyTreeDef, leaves: Iterable[Any]) -> Any:
    """The pytree of structure ``treedef`` holding ``leaves`` (in :func:`flatten`'s order).

    Raises:
        ValueError: the number of leaves does not match the structure.

    Examples:
        >>> import autodiff as ad
        >>> _, treedef = ad.tree.flatten({"w": 0.0, "b": 0.0})
        >>> ad.tree.unflatten(treedef, [1.0, 2.0])      # sorted keys: b first
        {'b': 1.0, 'w': 2.0}
    """
    if not isinstance(treedef, PyTreeDef):
        raise TypeError(f"unflatten needs a PyTreeDef (from flatten), got {type(treedef).__name__}")
    leaves = list(leaves)
    if len(leaves) != treedef.num_leaves:
        raise ValueError(f"{treedef} has {treedef.num_leaves} leaves, but {len(leaves)} were given")
    return _build(treedef, iter(leaves))


def leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list:
    """The leaves of ``tree``, in order.

    Examples:
        >>> import autodiff as ad
        >>> ad.tree.leaves({"b": [1.0, 2.0], "a": 3.0})
        [3.0, 1.0, 2.0]
    """
    return flatten(tree, is_leaf)[0]


def structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> PyTreeDef:
    """The structure of ``tree`` (a :class:`PyTreeDef`), without its leaves.

    Examples:
        >>> import autodiff as ad
        >>> ad.tree.structure([1.0, (2.0, 3.0)])
        PyTreeDef([*, (*, *)])
    """
    return flatten(tree, is_leaf)[1]


def map(
    f: Callable[..., Any],
    tree: Any,
    *rest: Any,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """Apply ``f`` to every leaf of ``tree`` (and the matching leaves of ``rest``).

    The trees in ``rest`` must have the structure of ``tree``; the result has it too.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> params = {"w": np.ones(2), "b": 1.0}
        >>> grads = {"w": np.full(2, 0.5), "b": 2.0}
        >>> ad.tree.map(lambda p, g: p - 0.1 * g, params, grads)
        {'b': 0.8, 'w': array([0.95, 0.95])}
    """
    leaves_, treedef = flatten(tree, is_leaf)
    others = []
    for k, other in enumerate(rest):
        other_leaves, other_def = flatten(other, is_leaf)
        if other_def != treedef:
            raise ValueError(
                f"tree.map: tree {k + 1} has structure {other_def}, "
                f"but the first tree has {treedef}"
            )
        others.append(other_leaves)
    return unflatten(treedef, builtins.map(f, leaves_, *others))


__all__ = [
    "PyTreeDef",
    "flatten",
    "flatten_with_paths",
    "is_node",
    "leaves",
    "map",
    "structure",
    "unflatten",
]
