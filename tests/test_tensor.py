"""The PyTorch-style Tensor facade: autograd bookkeeping and its errors."""

import threading
import warnings

import numpy as np
import pytest

import autodiff as ad


def test_Q_with_external_gradient():
    a = ad.tensor([2.0, 3.0], requires_grad=True)
    b = ad.tensor([6.0, 4.0], requires_grad=True)
    Q = 3 * a**3 - b**2
    Q.backward(gradient=ad.tensor([1.0, 1.0]))
    assert (9 * a**2 == a.grad).all()
    assert (-2 * b == b.grad).all()
    assert repr(9 * a**2 == a.grad) == "tensor([True, True])"


def test_grad_accumulates_and_zero_resets():
    w = ad.ones(4, requires_grad=True)
    seen = []
    for _ in range(3):
        (w * 3).sum().backward()
        seen.append(w.grad.tolist())
    assert seen == [[3.0] * 4, [6.0] * 4, [9.0] * 4]
    w.grad.zero_()
    assert w.grad.tolist() == [0.0] * 4


def test_external_gradient_array_is_not_aliased():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    g = ad.tensor([1.0, 1.0])
    (x + 0).backward(gradient=g)
    (x + 0).backward(gradient=g)
    assert g.tolist() == [1.0, 1.0]
    assert x.grad.tolist() == [2.0, 2.0]


def test_requires_grad_propagates():
    x = ad.rand(5, 5)
    y = ad.rand(5, 5)
    z = ad.rand((5, 5), requires_grad=True)
    assert not (x + y).requires_grad
    assert (x + z).requires_grad


def test_no_grad_is_per_thread():
    x = ad.tensor([1.0], requires_grad=True)
    seen = {}

    def other():
        seen["other"] = (x * 2).requires_grad

    with ad.no_grad():
        assert not (x * 2).requires_grad
        t = threading.Thread(target=other)
        t.start()
        t.join()
        with ad.enable_grad():
            assert (x * 2).requires_grad
    assert seen["other"] is True
    assert (x * 2).requires_grad
    ad.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        ad.set_grad_enabled(True)


def test_grad_fn_names_and_next_functions():
    x = ad.tensor([-0.6014])
    w = ad.tensor([0.6614], requires_grad=True)
    b = ad.tensor([0.2669], requires_grad=True)
    z = x @ w + b
    assert z.grad_fn.name() == "AddBackward0"
    assert "grad_fn=<AddBackward0>" in repr(z)
    (mm, _), (acc, _) = z.grad_fn.next_functions
    assert mm.name() == "MmBackward0"
    assert acc.name() == "AccumulateGrad" and acc.variable is b
    assert w.is_leaf and not z.is_leaf and w.grad_fn is None


def test_repr_like_pytorch():
    assert repr(ad.tensor([0.6614], requires_grad=True)) == "tensor([0.6614], requires_grad=True)"
    assert repr(ad.tensor([3.0, 3.0])) == "tensor([3., 3.])"
    assert repr(ad.tensor(0.5)) == "tensor(0.5000)"
    assert repr(ad.tensor([1.0], dtype=ad.float32)) == "tensor([1.], dtype=float32)"


def test_detach_shares_data_and_leaves_the_graph():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).detach()
    assert not y.requires_grad and y.is_leaf
    y2 = x.detach()
    with ad.no_grad():
        x.add_(1.0)
    assert y2.tolist() == [2.0, 3.0]


def test_retain_grad_on_non_leaf_and_warning_otherwise():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    z = x * 4
    (y.sum() + z.sum()).backward()
    assert y.grad.tolist() == [1.0, 1.0]
    with pytest.warns(UserWarning, match="not a leaf"):
        assert z.grad is None


def test_autograd_grad_second_order():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = (x**3).sum()
    (g,) = ad.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 3 * np.array([1.0, 4.0]))
    (h,) = ad.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * np.array([1.0, 2.0]))
    assert x.grad is None  # autograd.grad does not touch .grad


def test_backward_create_graph_then_backward_again():
    x = ad.tensor(2.0, requires_grad=True)
    y = x**3
    y.backward(create_graph=True)
    g = x.grad
    assert float(g) == 12.0
    x.grad = None
    g.backward()
    assert float(x.grad) == 12.0  # d(3x²)/dx = 6x


# ---- errors like PyTorch's --------------------------------------------------------------------


def test_implicit_gradient_needs_a_scalar():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        (x * 2).backward()


def test_gradient_of_wrong_shape():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Mismatch in shape.*\(3,\).*\(2,\)"):
        (x * 2).backward(gradient=ad.ones(3))


def test_backward_twice_names_retain_graph():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    y2 = (x.exp() * x).sum()
    y2.backward(retain_graph=True)
    y2.backward()


def test_saved_tensor_modified_in_place():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    c = ad.tensor([3.0, 4.0])
    y = (x * c).sum()
    c.mul_(2)  # overwrites the array that multiply saved for its VJP
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    h = x * 1
    y = (h * h).sum()
    with ad.no_grad():
        h.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_recorded_in_place_keeps_earlier_nodes_valid():
    # a recorded in-place op gives the tensor a new array, so what earlier nodes saved is intact
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = (h * h).sum()
    h.mul_(2)
    y.backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_in_place_on_leaf_requiring_grad():
    x = ad.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1.0)
    with ad.no_grad():
        x.add_(1.0)
    assert x.tolist() == [2.0]


def test_in_place_on_non_leaf_is_recorded():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.add_(x)  # y = 3x
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_setitem_records():
    x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    y[1] = x[0] * 5
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 0.0, 1.0]


def test_requires_grad_on_integer_tensor():
    with pytest.raises(RuntimeError, match="only Tensors of floating point and complex dtype"):
        ad.tensor([1, 2], requires_grad=True)


def test_requires_grad_changed_on_non_leaf():
    x = ad.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf variables"):
        (x * 2).requires_grad_(False)


def test_numpy_on_tensor_requiring_grad():
    x = ad.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        x.numpy()
    assert x.detach().numpy().tolist() == [1.0]


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ad.tensor([1.0]).sum().backward()


def test_float32_gradients_stay_float32():
    x = ad.tensor([1.0, 2.0], dtype=ad.float32, requires_grad=True)
    (x.tanh() * 3.0).sum().backward()
    assert x.grad.dtype == np.float32


def test_torch_style_methods():
    x = ad.tensor([[1.0, 5.0], [3.0, 2.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    assert values.tolist() == [5.0, 3.0] and indices.tolist() == [1, 0]
    assert x.std().item() == pytest.approx(np.std([1, 5, 3, 2], ddof=1))
    assert x.view(4).shape == (4,) and x.flatten().shape == (4,)
    assert x.unsqueeze(0).shape == (1, 2, 2) and x.permute(1, 0).tolist() == [[1, 3], [5, 2]]
    assert x.sum(dim=0, keepdim=True).shape == (1, 2)
    y = x.exp().sigmoid().relu().sum()
    y.backward()
    assert x.grad.shape == (2, 2)


def test_tensor_inside_functional_grad():
    # a Tensor is the outermost (level 0) trace, so functional transformations nest inside it
    w = ad.tensor([2.0], requires_grad=True)
    g = ad.grad(lambda x: (x * x * w).sum())(np.array([3.0]))
    assert float(g) == pytest.approx(12.0)
    g.backward()
    assert w.grad.tolist() == [6.0]  # d/dw (2 x w) at x=3


def test_warning_free_normal_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = ad.tensor([1.0], requires_grad=True)
        (x * 2).sum().backward()
        assert x.grad.tolist() == [2.0]
