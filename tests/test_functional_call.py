"""``ad.functional_call``: a module run with parameters and buffers given as arguments."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import autodiff.nn.functional as F
from autodiff import nn


def _model():
    ad.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


def _data():
    ad.manual_seed(1)
    return ad.randn(5, 3), ad.randn(5, 2)


def _arrays(model):
    return {k: p.detach().numpy().copy() for k, p in model.named_parameters()}


def test_grad_of_functional_call_equals_the_grads_of_backward():
    model = _model()
    x, y = _data()
    F.mse_loss(model(x), y).backward()
    want = {k: p.grad.numpy() for k, p in model.named_parameters()}
    params = _arrays(model)
    xn, yn = x.numpy(), y.numpy()
    got = ad.grad(lambda p: F.mse_loss(ad.functional_call(model, p, (xn,)), yn))(params)
    assert isinstance(got, dict) and set(got) == set(want)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])


def test_tensors_as_parameters_and_the_module_is_untouched():
    model = _model()
    before = {k: (p, p.detach().numpy().copy()) for k, p in model.named_parameters()}
    x, y = _data()
    params = {k: p.detach().clone() for k, p in model.named_parameters()}
    got = ad.grad(lambda p: F.mse_loss(ad.functional_call(model, p, x), y))(params)
    F.mse_loss(model(x), y).backward()
    for k, p in model.named_parameters():
        assert p is before[k][0]
        np.testing.assert_array_equal(p.detach().numpy(), before[k][1])
        np.testing.assert_allclose(np.asarray(ad.raw(got[k])), p.grad.numpy(), rtol=1e-13)


def test_partial_dicts_keep_the_module_values_and_forward_mode_works():
    model = _model()
    x = _data()[0].numpy()
    params = _arrays(model)
    w = params.pop("2.weight")
    with ad.no_grad():  # the module's own parameters (which require grad) fill the others
        out = ad.functional_call(model, {"2.weight": 2 * w}, (x,))
        model[2].weight.mul_(2.0)
        np.testing.assert_allclose(out.numpy(), model(ad.tensor(x)).numpy(), rtol=1e-13)
        model[2].weight.div_(2.0)
    f = lambda w: ad.functional_call(model, {**params, "2.weight": w}, (x,))  # noqa: E731
    ad.check_grads(lambda w: np.sum(f(w) ** 2), (w,), modes=("fwd", "rev"), order=2)
    assert ad.hessian(lambda w: np.sum(f(w) ** 2))(w).shape == (2, 4, 2, 4)


def test_a_sequence_of_dicts_buffers_and_kwargs():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.register_buffer("scale", ad.tensor([1.0, 1.0]))

        def forward(self, x, *, shift=0.0):
            return self.lin(x) * self.scale + shift

    m = Scaled()
    params = _arrays(m)
    x = np.ones((1, 2))
    out = ad.functional_call(m, (params, {"scale": np.array([2.0, 3.0])}), (x,), {"shift": 1.0})
    with ad.no_grad():
        base = m.lin(ad.tensor(x)).numpy()
    np.testing.assert_allclose(ad.raw(out), base * [2.0, 3.0] + 1.0)
    assert m.scale.numpy().tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="more than one dict"):
        ad.functional_call(m, (params, {"lin.bias": np.zeros(2)}), (x,))


def test_tied_weights_are_replaced_under_every_name():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2, bias=False)
            self.b = nn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))

    m = Tied()
    x = np.ones((1, 2))
    out = ad.functional_call(m, {"a.weight": 2 * np.eye(2)}, (x,))
    np.testing.assert_allclose(ad.raw(out), [[4.0, 4.0]])
    with pytest.raises(ValueError, match="tied"):
        ad.functional_call(m, {"a.weight": np.eye(2), "b.weight": 2 * np.eye(2)}, (x,))


def test_the_module_is_restored_even_if_the_call_raises():
    model = _model()
    before = {k: p for k, p in model.named_parameters()}
    with pytest.raises(Exception):  # noqa: B017  (the wrong input shape fails inside the call)
        ad.functional_call(model, {"0.weight": np.zeros((4, 3))}, (np.ones((2, 7)),))
    assert dict(model.named_parameters()) == before


def test_unknown_and_missing_names_are_clear_errors():
    model = _model()
    with pytest.raises(KeyError, match="no parameter or buffer named 'nope'"):
        ad.functional_call(model, {"nope": np.zeros(1)}, (np.ones((1, 3)),))
    with pytest.raises(KeyError, match="strict=True"):
        ad.functional_call(model, {"0.weight": np.zeros((4, 3))}, (np.ones((1, 3)),), strict=True)
    with pytest.raises(TypeError, match=r"nn\.Module"):
        ad.functional_call(lambda x: x, {}, (1.0,))
