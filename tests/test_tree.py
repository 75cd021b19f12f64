"""ad.tree: flatten, unflatten, map, leaves, structure (JAX's pytree semantics)."""

from collections import OrderedDict, defaultdict, namedtuple

import numpy as np
import pytest

import autodiff as ad

Point = namedtuple("Point", ["x", "y"])


def test_flatten_orders_leaves_like_jax():
    tree = {"b": [1.0, (2.0, 3.0)], "a": Point(4.0, 5.0), "c": None}
    leaves, treedef = ad.tree.flatten(tree)
    assert leaves == [4.0, 5.0, 1.0, 2.0, 3.0]  # dict keys sorted, namedtuple by field
    assert treedef.num_leaves == 5
    assert repr(treedef) == "PyTreeDef({'a': Point(x=*, y=*), 'b': [*, (*, *)], 'c': None})"


@pytest.mark.parametrize(
    "tree",
    [
        3.0,
        np.ones(2),
        None,
        (),
        [],
        {},
        (1.0,),
        {"w": np.ones(2), "b": 0.5, "extra": None},
        [1.0, {"k": (2.0, None, [3.0])}],
        Point(1.0, [2.0, 3.0]),
        OrderedDict([("z", 1.0), ("a", 2.0)]),
    ],
)
def test_unflatten_rebuilds_types_and_values(tree):
    leaves, treedef = ad.tree.flatten(tree)
    rebuilt = ad.tree.unflatten(treedef, leaves)
    assert ad.tree.structure(rebuilt) == treedef
    assert type(rebuilt) is type(tree)
    for a, b in zip(ad.tree.leaves(rebuilt), leaves):
        assert a is b


def test_none_is_an_empty_subtree_not_a_leaf():
    assert ad.tree.leaves([None, 1.0, (None,)]) == [1.0]
    assert ad.tree.leaves(None) == []
    assert ad.tree.structure(None) != ad.tree.structure(1.0)


def test_ordered_dict_keeps_insertion_order_and_defaultdict_its_factory():
    od = OrderedDict([("z", 1.0), ("a", 2.0)])
    assert ad.tree.leaves(od) == [1.0, 2.0]
    dd = defaultdict(list, {"b": 1.0, "a": 2.0})
    rebuilt = ad.tree.map(lambda v: v * 10, dd)
    assert type(rebuilt) is defaultdict and rebuilt.default_factory is list
    assert rebuilt == {"a": 20.0, "b": 10.0}


def test_structures_compare_by_containers_keys_and_types():
    s = ad.tree.structure
    assert s({"a": 1.0, "b": 2.0}) == s({"b": np.ones(3), "a": 0.0})
    assert s({"a": 1.0}) != s({"b": 1.0})
    assert s((1.0, 2.0)) != s([1.0, 2.0])
    assert s(Point(1.0, 2.0)) != s((1.0, 2.0))
    assert hash(s({"a": [1.0]})) == hash(s({"a": [2.0]}))


def test_map_over_several_trees():
    params = {"w": np.ones(2), "b": 1.0}
    grads = {"w": np.full(2, 0.5), "b": 2.0}
    new = ad.tree.map(lambda p, g: p - 0.1 * g, params, grads)
    assert new["b"] == pytest.approx(0.8)
    np.testing.assert_allclose(new["w"], [0.95, 0.95])


def test_map_with_mismatched_structures_is_an_error():
    with pytest.raises(ValueError, match="tree 1 has structure"):
        ad.tree.map(lambda a, b: a + b, {"a": 1.0}, {"b": 1.0})


def test_unflatten_with_the_wrong_number_of_leaves_is_an_error():
    treedef = ad.tree.structure((1.0, 2.0))
    with pytest.raises(ValueError, match="has 2 leaves, but 3 were given"):
        ad.tree.unflatten(treedef, [1, 2, 3])
    with pytest.raises(TypeError, match="PyTreeDef"):
        ad.tree.unflatten((1.0, 2.0), [1, 2])


def test_is_leaf_stops_flattening():
    leaves = ad.tree.leaves({"a": (1.0, 2.0), "b": [3.0]}, is_leaf=lambda x: isinstance(x, tuple))
    assert leaves == [(1.0, 2.0), 3.0]


def test_paths_are_written_as_python_indexes():
    pairs, _ = ad.tree.flatten_with_paths({"layers": [1.0, Point(2.0, 3.0)]})
    assert [p for p, _ in pairs] == ["['layers'][0]", "['layers'][1].x", "['layers'][1].y"]


def test_other_containers_are_leaves():
    s = {1.0, 2.0}
    assert ad.tree.leaves([s]) == [s]
    arr = np.ones((2, 2))
    assert ad.tree.leaves(arr)[0] is arr
