"""optim.SGD / Adam / AdamW against PyTorch's update formulas, written out in NumPy."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autodiff as ad
from autodiff import nn, optim
from autodiff.io import load, save

GRADS = [np.array([0.5, -1.0, 2.0]), np.array([-0.3, 0.1, 1.5]), np.array([1.0, 1.0, -2.0]),
         np.array([0.0, -0.7, 0.2]), np.array([0.9, 0.4, -0.1])]  # fmt: skip
P0 = np.array([1.0, -2.0, 0.5])


def arr(t):
    return t.detach().numpy()


def run(opt_cls, steps=5, **kw):
    """Apply the optimizer to a parameter with the gradients of GRADS, one per step."""
    p = ad.tensor(P0.copy(), requires_grad=True)
    opt = opt_cls([p], **kw)
    out = []
    for g in GRADS[:steps]:
        opt.zero_grad()
        p.grad = ad.tensor(g)
        opt.step()
        out.append(arr(p).copy())
    return out


def sgd_reference(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                  maximize=False):  # fmt: skip
    """torch.optim.SGD's _single_tensor_sgd, line by line."""
    p, buf, out = P0.copy(), None, []
    for g in GRADS:
        g = -g if maximize else g.copy()
        if weight_decay != 0:
            g = g + weight_decay * p
        if momentum != 0:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
        out.append(p.copy())
    return out


@pytest.mark.parametrize(
    "kw",
    [
        {"lr": 0.1},
        {"lr": 0.1, "momentum": 0.9},
        {"lr": 0.05, "momentum": 0.9, "dampening": 0.3},
        {"lr": 0.05, "momentum": 0.8, "nesterov": True},
        {"lr": 0.1, "weight_decay": 0.01},
        {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1, "nesterov": True},
        {"lr": 0.1, "momentum": 0.5, "maximize": True},
    ],
)
def test_sgd_matches_pytorch_formula(kw):
    for got, want in zip(run(optim.SGD, **kw), sgd_reference(**kw)):
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)


def adam_reference(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                   decoupled=False, maximize=False):  # fmt: skip
    """torch.optim.Adam / AdamW (_single_tensor_adam), line by line."""
    b1, b2 = betas
    p, m, v, vmax, out = P0.copy(), np.zeros(3), np.zeros(3), np.zeros(3), []
    for t, g in enumerate(GRADS, start=1):
        g = -g if maximize else g.copy()
        if weight_decay != 0:
            if decoupled:
                p = p * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        step_size = lr / (1 - b1**t)
        if amsgrad:
            vmax = np.maximum(vmax, v)
            denom = np.sqrt(vmax) / math.sqrt(1 - b2**t) + eps
        else:
            denom = np.sqrt(v) / math.sqrt(1 - b2**t) + eps
        p = p - step_size * m / denom
        out.append(p.copy())
    return out


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"lr": 0.1},
        {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6},
        {"lr": 0.01, "weight_decay": 0.1},
        {"lr": 0.01, "amsgrad": True},
        {"lr": 0.01, "maximize": True},
        {"lr": 0.01, "betas": (0.3, 0.9)},  # 1 − β₁ ≥ 0.5: the other branch of torch's lerp
    ],
)
def test_adam_matches_pytorch_formula(kw):
    for got, want in zip(run(optim.Adam, **kw), adam_reference(**kw)):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


def test_adamw_decouples_weight_decay():
    got = run(optim.AdamW, lr=0.01, weight_decay=0.1)
    want = adam_reference(lr=0.01, weight_decay=0.1, decoupled=True)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-13)
    assert optim.AdamW([ad.ones(1, requires_grad=True)]).defaults["weight_decay"] == 0.01


def test_first_adam_step_moves_by_lr_times_sign():
    p = ad.tensor([1.0, -1.0, 3.0], requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    (p**2).sum().backward()
    opt.step()
    np.testing.assert_allclose(arr(p), [0.9, -0.9, 2.9], rtol=1e-7)
    assert opt.state[p]["step"] == 1


def test_sgd_with_real_backward_and_closure():
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)

    def closure():
        opt.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == pytest.approx(5.0)
    np.testing.assert_allclose(arr(w), [0.8, 1.6])
    opt.step(closure)
    np.testing.assert_allclose(arr(w), [0.8 - 0.1 * (0.9 * 2 + 1.6), 1.6 - 0.1 * (0.9 * 4 + 3.2)])
    assert w.is_leaf and w.requires_grad and w.grad_fn is None


def test_zero_grad_sets_none_or_zeros():
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(ad.ones(1, 3)).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not arr(p.grad).any() for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_parameters_without_grad_are_skipped():
    a = ad.tensor([1.0], requires_grad=True)
    b = ad.tensor([2.0], requires_grad=True)
    opt = optim.SGD([a, b], lr=0.5, momentum=0.9)
    adam = optim.Adam([a, b], lr=0.5)
    (a * 3).sum().backward()
    opt.step()
    adam.step()
    np.testing.assert_allclose(arr(b), [2.0])
    assert b not in opt.state and b not in adam.state
    assert a in opt.state and a in adam.state


def test_param_groups_with_their_own_lr():
    a = ad.tensor([1.0], requires_grad=True)
    b = ad.tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 1.0]
    assert opt.param_groups[1]["momentum"] == 0.0
    (a + b).sum().backward()
    opt.step()
    np.testing.assert_allclose([arr(a)[0], arr(b)[0]], [0.9, 0.0])
    assert "Parameter Group 1" in repr(opt) and "lr: 1.0" in repr(opt)


def test_optimizer_errors():
    p = ad.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(NotImplementedError):
        optim.Optimizer([p], {}).step()


def test_frozen_parameters_are_accepted_and_untouched():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    model[0].requires_grad_(False)
    before = arr(model[0].weight).copy()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(ad.ones(3, 2)).sum().backward()
    opt.step()
    np.testing.assert_array_equal(arr(model[0].weight), before)
    assert model[1].weight.grad is not None


def test_state_dict_round_trip_through_save(tmp_path):
    def make():
        p = ad.tensor(P0.copy(), requires_grad=True)
        return p, optim.Adam([p], lr=0.01, amsgrad=True)

    p, opt = make()
    for g in GRADS[:3]:
        p.grad = ad.tensor(g)
        opt.step()
    path = tmp_path / "optim.npz"
    save({"optim": opt.state_dict(), "p": p.detach()}, path)
    saved = load(path)
    q, opt2 = make()
    with ad.no_grad():
        q.copy_(ad.tensor(saved["p"]))
    opt2.load_state_dict(saved["optim"])
    assert opt2.state[q]["step"] == 3
    for g in GRADS[3:]:
        p.grad = ad.tensor(g)
        q.grad = ad.tensor(g)
        opt.step()
        opt2.step()
    np.testing.assert_array_equal(arr(q), arr(p))
    np.testing.assert_allclose(arr(q), adam_reference(lr=0.01, amsgrad=True)[-1], rtol=1e-13)
    with pytest.raises(ValueError, match="parameter groups"):
        opt2.load_state_dict({"state": {}, "param_groups": []})
