"""kron, cross and vdot: NumPy dispatch, NumPy's values, the Tensor facade, errors.

The registry-wide test checks their derivatives (both modes, second order) on their samples.
"""

import numpy as np
import pytest

import autodiff as ad
from autodiff.reverse import Traced


def _traced_value(f, *args):
    """f's output on traced inputs (inside a grad) and whether it was traced."""
    seen = {}

    def loss(*xs):
        out = f(*xs)
        seen["traced"] = isinstance(out, ad.Traced)
        seen["value"] = ad.raw(out).copy()
        return out.sum()

    ad.grad(loss, argnums=tuple(range(len(args))))(*args)
    return seen["traced"], seen["value"]


@pytest.mark.parametrize(
    ("sa", "sb"), [((2, 3), (3, 2)), ((3,), (2, 2)), ((2, 1, 2), (3,)), ((), (2,)), ((2,), ())]
)
def test_np_kron_on_traced_values_equals_numpys(sa, sb, rng):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    traced, value = _traced_value(np.kron, a, b)
    assert traced
    np.testing.assert_array_equal(value, np.kron(a, b))


def test_kron_gradient_is_the_block_sums(rng):
    a, b = rng.standard_normal((2, 2)), rng.standard_normal((3,))
    ga, gb = ad.grad(lambda a, b: np.kron(a, b).sum(), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, np.full((2, 2), b.sum()))
    np.testing.assert_allclose(gb, np.full(3, a.sum()))


def test_plain_arrays_go_straight_to_numpy(rng):
    a, b = rng.standard_normal(3), rng.standard_normal(3)
    assert type(ad.kron(a, b)) is np.ndarray
    np.testing.assert_array_equal(ad.cross(a, b), np.cross(a, b))
    assert ad.vdot(a, b) == np.vdot(a, b)


@pytest.mark.parametrize(
    ("sa", "sb", "kw"),
    [
        ((3,), (3,), {}),
        ((4, 3), (3,), {}),
        ((3, 2), (2, 3), {"axisa": 0, "axisb": 1, "axisc": 0}),
        ((2, 3, 2), (1, 3, 2), {"axis": 1}),
        ((3, 4), (4, 3), {"axisa": 0, "axisc": -2}),
    ],
)
def test_np_cross_on_traced_values_equals_numpys(sa, sb, kw, rng):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    traced, value = _traced_value(lambda a, b: np.cross(a, b, **kw), a, b)
    assert traced
    np.testing.assert_array_equal(value, np.cross(a, b, **kw))


@pytest.mark.parametrize(("la", "lb"), [(2, 2), (2, 3), (3, 2)])
def test_cross_of_2_vectors_warns_as_numpy_does_and_differentiates(la, lb, rng):
    a, b = rng.standard_normal((4, la)), rng.standard_normal((4, lb))
    with pytest.warns(DeprecationWarning, match="2-dimensional vectors"):
        want = np.cross(a, b)
    with pytest.warns(DeprecationWarning, match="2-dimensional vectors"):
        traced, value = _traced_value(np.cross, a, b)
    assert traced
    np.testing.assert_array_equal(value, want)
    with pytest.warns(DeprecationWarning):
        ad.check_grads(ad.cross, (a, b), modes=("fwd", "rev"), order=2)


def test_cross_derivative_is_the_cross_product_matrix():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 2.0])
    skew_b = np.array([[0.0, -b[2], b[1]], [b[2], 0.0, -b[0]], [-b[1], b[0], 0.0]])
    # a × b = -[b]ₓ a, so d(a × b)/da = -[b]ₓ
    np.testing.assert_allclose(ad.jacfwd(lambda a: np.cross(a, b))(a), -skew_b)
    np.testing.assert_allclose(ad.jacrev(lambda a: np.cross(a, b))(a), -skew_b)


def test_cross_errors_are_numpys():
    with pytest.raises(ValueError, match="zero dimension"):
        ad.grad(lambda a: np.cross(a, np.ones(3)).sum())(1.0)
    with pytest.raises(ValueError, match="dimension must be 2 or 3"):
        ad.grad(lambda a: np.cross(a, np.ones(4)).sum())(np.ones(4))


@pytest.mark.parametrize(("sa", "sb"), [((3,), (3,)), ((2, 3), (3, 2)), ((), (1,)), ((0,), (0,))])
def test_np_vdot_on_traced_values_equals_numpys(sa, sb, rng):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    out, pullback = ad.vjp(np.vdot, a, b)
    assert isinstance(out, Traced) or np.ndim(out) == 0
    np.testing.assert_allclose(out, np.vdot(a, b), rtol=1e-15)
    ga, gb = pullback(np.ones(()))
    np.testing.assert_allclose(ga, b.reshape(sa))
    np.testing.assert_allclose(gb, a.reshape(sb))


def test_vdot_errors_name_the_op():
    with pytest.raises(ValueError, match="vdot: the arrays have 2 and 3 elements"):
        ad.grad(lambda a: np.vdot(a, np.ones(3)))(np.ones(2))
    # np.vdot conjugates its first argument, as autodiff does now (issue 14): a complex
    # constant there is conjugated, not ignored
    _, pullback = ad.vjp(lambda b: np.vdot(np.array([1j, 2.0]), b), np.ones(2))
    np.testing.assert_allclose(pullback(1.0 + 0j)[0], [0.0, 2.0])  # real part of conj(a)


def test_tensor_facade_kron_and_vdot():
    a = ad.tensor([1.0, 2.0], requires_grad=True)
    b = ad.tensor([1.0, 10.0, 100.0], requires_grad=True)
    out = np.kron(a, b)
    assert isinstance(out, ad.Tensor)
    out.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [111.0, 111.0])
    np.testing.assert_allclose(b.grad.numpy(), [3.0, 3.0, 3.0])
    c = ad.tensor([1.0, 2.0], requires_grad=True)
    c.vdot(ad.tensor([3.0, 4.0])).backward()
    np.testing.assert_allclose(c.grad.numpy(), [3.0, 4.0])
    d = ad.tensor([1.0, 0.0, 0.0], requires_grad=True)
    np.cross(d, ad.tensor([0.0, 1.0, 0.0])).sum().backward()
    np.testing.assert_allclose(d.grad.numpy(), [1.0, 0.0, -1.0])


def test_kron_method_of_tensors():
    t = ad.tensor([[1.0, 2.0]], requires_grad=True)
    out = t.kron(ad.tensor([[1.0], [2.0]]))
    np.testing.assert_array_equal(out.detach().numpy(), np.kron([[1.0, 2.0]], [[1.0], [2.0]]))
