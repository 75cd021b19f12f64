"""nn.Module, nn.Parameter, the layers and nn.init."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

import autodiff as ad
from autodiff import nn
from autodiff.nn import init


def arr(t):
    return t.detach().numpy()


class Affine(nn.Module):
    def __init__(self, n=2):
        super().__init__()
        self.w = nn.Parameter(ad.ones(n))
        self.b = nn.Parameter(ad.zeros(n))
        self.register_buffer("count", ad.tensor(0))

    def forward(self, x):
        return x * self.w + self.b


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = Affine()
        self.body = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))

    def forward(self, x):
        return self.body(self.first(x))


# ---- Parameter ----------------------------------------------------------------------------------


def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = nn.Parameter(ad.tensor([0.5, 1.0]))
    assert isinstance(p, ad.Tensor)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert repr(p) == "Parameter containing:\ntensor([0.5000, 1.0000], requires_grad=True)"
    assert not nn.Parameter(ad.ones(2), requires_grad=False).requires_grad
    y = (p * 2).sum()
    assert type(p * 2) is ad.Tensor  # results of operations are plain tensors
    y.backward()
    np.testing.assert_array_equal(arr(p.grad), [2.0, 2.0])


# ---- registration and the module tree -----------------------------------------------------------


def test_named_parameters_buffers_children_modules():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "first.w", "first.b", "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias",
    ]  # fmt: skip
    assert len(list(net.parameters())) == 6
    assert [n for n, _ in net.named_buffers()] == ["first.count"]
    assert [n for n, _ in net.named_children()] == ["first", "body"]
    assert [n for n, _ in net.named_modules()] == [
        "", "first", "body", "body.0", "body.1", "body.2",
    ]  # fmt: skip
    assert next(iter(net.modules())) is net
    assert [n for n, _ in net.first.named_parameters(prefix="first")] == ["first.w", "first.b"]
    assert [n for n, _ in net.named_parameters(recurse=False)] == []


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, lin)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]


def test_setattr_registers_and_replaces():
    net = Net()
    net.body[2] = nn.Linear(3, 7)
    assert tuple(net.body[2].weight.shape) == (7, 3)
    net.head = nn.Linear(1, 4)
    assert "head.weight" in dict(net.named_parameters())
    # replacing a child with a plain value is refused, None is allowed
    with pytest.raises(TypeError, match="child module 'head'"):
        net.head = 3
    net.head = None
    assert "head.weight" not in dict(net.named_parameters())
    # a plain tensor cannot take the place of a parameter
    with pytest.raises(TypeError, match=r"nn\.Parameter or None expected"):
        net.first.w = ad.ones(2)
    net.first.w = nn.Parameter(ad.full((2,), 3.0))
    np.testing.assert_array_equal(arr(net.first.w), [3.0, 3.0])
    # a plain tensor attribute is just an attribute
    net.note = ad.ones(1)
    assert "note" not in dict(net.named_parameters())
    del net.head
    assert "head" not in dict(net.named_children())


def test_assigning_before_init_is_a_clear_error():
    class Forgot(nn.Module):
        def __init__(self):
            self.lin = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Forgot()


def test_missing_forward_and_attribute_errors():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'wieght'"):
        nn.Linear(1, 1).wieght


def test_register_buffer_and_parameter_checks():
    m = nn.Module()
    m.register_buffer("stats", np.zeros(3))
    assert isinstance(m.stats, ad.Tensor)
    m.register_buffer("scratch", ad.ones(2), persistent=False)
    assert list(m.state_dict()) == ["stats"]
    assert [n for n, _ in m.named_buffers()] == ["stats", "scratch"]
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", ad.ones(1))
    with pytest.raises(TypeError, match=r"nn\.Parameter or None required"):
        m.register_parameter("p", ad.ones(1))
    m.register_parameter("p", None)
    assert list(m.parameters()) == []
    with pytest.raises(TypeError, match="buffer 'stats'"):
        m.stats = [1, 2, 3]


def test_train_eval_propagate():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Sequential(nn.BatchNorm2d(2)))
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError):
        net.train("no")


def test_zero_grad_and_requires_grad():
    net = Net()
    net(ad.ones(4, 2)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not arr(p.grad).any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert net.requires_grad_(False) is net
    assert not any(p.requires_grad for p in net.parameters())
    assert not net(ad.ones(1, 2)).requires_grad


def test_deepcopy_is_independent():
    import copy

    net = Net()
    net(ad.ones(2, 2)).sum().backward()
    twin = copy.deepcopy(net)
    assert [n for n, _ in twin.named_parameters()] == [n for n, _ in net.named_parameters()]
    assert isinstance(twin.first.w, nn.Parameter) and twin.first.w is not net.first.w
    np.testing.assert_array_equal(arr(twin.first.w.grad), arr(net.first.w.grad))
    with ad.no_grad():
        twin.first.w.add_(1.0)
    np.testing.assert_array_equal(arr(net.first.w), [1.0, 1.0])
    assert isinstance(twin.first.count, ad.Tensor) and twin.first.count is not net.first.count
    shared = nn.Linear(2, 2)
    pair = copy.deepcopy(nn.Sequential(shared, shared))
    assert pair[0] is pair[1] and len(list(pair.parameters())) == 2


def test_apply_get_submodule_dtype():
    net = Net()
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen[0] == "Affine"
    assert net.get_submodule("body.2") is net.body[2]
    with pytest.raises(AttributeError, match="no submodule"):
        net.get_submodule("body.9")
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert net.first.count.dtype == np.int64  # integer buffers keep their dtype
    out = net(ad.ones(1, 2, dtype=ad.float32))
    assert out.dtype == np.float32
    net.double()
    assert all(p.dtype == np.float64 for p in net.parameters())


# ---- state dict ---------------------------------------------------------------------------------


def test_state_dict_names_order_and_copies():
    net = Net()
    sd = net.state_dict()
    assert list(sd) == [
        "first.w", "first.b", "first.count",
        "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias",
    ]  # fmt: skip
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    sd["first.w"][:] = 99  # a copy: the model is unchanged
    np.testing.assert_array_equal(arr(net.first.w), [1.0, 1.0])
    kept = net.state_dict(keep_vars=True)
    assert kept["first.w"] is net.first.w


def test_load_state_dict_round_trip_and_tensors():
    a, b = Net(), Net()
    with ad.no_grad():
        a.body[0].weight.mul_(3.0)
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    np.testing.assert_array_equal(arr(b.body[0].weight), arr(a.body[0].weight))
    assert b.body[0].weight.requires_grad and b.body[0].weight.is_leaf
    # tensors are accepted as values too
    b.load_state_dict(a.state_dict(keep_vars=True))
    x = ad.ones(3, 2)
    np.testing.assert_allclose(arr(b(x)), arr(a(x)))


def test_load_state_dict_errors_name_every_key():
    net = Net()
    sd = net.state_dict()
    del sd["body.0.bias"]
    sd["body.9.weight"] = np.zeros(3)
    sd["body.2.weight"] = np.zeros((5, 3))
    with pytest.raises(RuntimeError) as info:
        Net().load_state_dict(sd)
    msg = str(info.value)
    assert "Error(s) in loading state_dict for Net" in msg
    assert 'Missing key(s) in state_dict: "body.0.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "body.9.weight"' in msg
    assert "size mismatch for body.2.weight" in msg and "(5, 3)" in msg and "(1, 3)" in msg
    # strict=False still refuses wrong shapes, but reports the unmatched keys
    del sd["body.2.weight"]
    result = Net().load_state_dict(sd, strict=False)
    assert result.missing_keys == ["body.0.bias", "body.2.weight"]
    assert result.unexpected_keys == ["body.9.weight"]
    with pytest.raises(TypeError, match="dict-like"):
        net.load_state_dict([1, 2])
    with pytest.raises(RuntimeError, match=r"'first\.w' must be a numeric array"):
        net.load_state_dict({**net.state_dict(), "first.w": "abc"})


# ---- printing -----------------------------------------------------------------------------------


def test_repr_like_pytorch():
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
        nn.MaxPool2d(2), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Dropout(0.1),
        nn.Linear(8, 2), nn.Tanh(), nn.Sigmoid(), nn.Identity(),
    )  # fmt: skip
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
        "  (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
        "  (2): ReLU(inplace=True)\n"
        "  (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        "  (4): AdaptiveAvgPool2d(output_size=(1, 1))\n"
        "  (5): Flatten(start_dim=1, end_dim=-1)\n"
        "  (6): Dropout(p=0.1, inplace=False)\n"
        "  (7): Linear(in_features=8, out_features=2, bias=True)\n"
        "  (8): Tanh()\n"
        "  (9): Sigmoid()\n"
        "  (10): Identity()\n"
        ")"
    )
    assert repr(Net()).startswith("Net(\n  (first): Affine()\n  (body): Sequential(\n    (0): ")


# ---- containers ---------------------------------------------------------------------------------


def test_sequential_indexing_len_iteration():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3
    assert list(seq) == layers
    assert seq[0] is layers[0] and seq[-1] is layers[2]
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == layers[1:]
    with pytest.raises(IndexError):
        seq[3]
    x = ad.ones(4, 2)
    np.testing.assert_allclose(arr(seq(x)), arr(layers[2](layers[1](layers[0](x)))))
    del seq[1]
    assert [n for n, _ in seq.named_children()] == ["0", "1"]
    seq.append(nn.Tanh())
    assert len(seq) == 3
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]


def test_module_list():
    blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(blocks) == 3 and len(list(blocks.parameters())) == 6
    assert [n for n, _ in blocks.named_parameters()][-1] == "2.bias"
    assert isinstance(blocks[1:], nn.ModuleList)


# ---- layers -------------------------------------------------------------------------------------


def test_linear_forward_backward_and_init():
    ad.manual_seed(0)
    lin = nn.Linear(4, 3)
    bound = 1 / math.sqrt(4)
    assert np.abs(arr(lin.weight)).max() <= bound and np.abs(arr(lin.bias)).max() <= bound
    x = ad.tensor(np.arange(8.0).reshape(2, 4))
    y = lin(x)
    np.testing.assert_allclose(arr(y), arr(x) @ arr(lin.weight).T + arr(lin.bias))
    y.sum().backward()
    np.testing.assert_allclose(arr(lin.weight.grad), np.tile(arr(x).sum(0), (3, 1)))
    np.testing.assert_allclose(arr(lin.bias.grad), [2.0, 2.0, 2.0])
    assert nn.Linear(2, 2, bias=False).bias is None
    assert nn.Linear(2, 2, dtype=ad.float32).weight.dtype == np.float32


def test_init_is_reproducible_with_manual_seed():
    ad.manual_seed(3)
    a = nn.Linear(5, 4)
    ad.manual_seed(3)
    b = nn.Linear(5, 4)
    np.testing.assert_array_equal(arr(a.weight), arr(b.weight))
    np.testing.assert_array_equal(arr(a.bias), arr(b.bias))
    c = nn.Linear(5, 4)
    assert not np.array_equal(arr(a.weight), arr(c.weight))


def _conv_reference(x, w, b, stride, pad):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, _, h, wd = x.shape
    o, _, kh, kw = w.shape
    ho, wo = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = x[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w)
    return out + b[None, :, None, None]


def test_conv2d_matches_a_direct_loop_and_gets_gradients():
    ad.manual_seed(1)
    conv = nn.Conv2d(2, 3, kernel_size=3, stride=2, padding=1)
    x = ad.rand(2, 2, 5, 5)
    y = conv(x)
    assert y.shape == (2, 3, 3, 3)
    expect = _conv_reference(arr(x), arr(conv.weight), arr(conv.bias), 2, 1)
    np.testing.assert_allclose(arr(y), expect, atol=1e-12)
    y.sum().backward()
    assert conv.weight.grad.shape == (3, 2, 3, 3)
    np.testing.assert_allclose(arr(conv.bias.grad), [18.0, 18.0, 18.0])
    # one entry of the weight gradient against a finite difference
    w = arr(conv.weight).copy()
    eps = 1e-6
    w[1, 0, 2, 1] += eps
    up = _conv_reference(arr(x), w, arr(conv.bias), 2, 1).sum()
    w[1, 0, 2, 1] -= 2 * eps
    down = _conv_reference(arr(x), w, arr(conv.bias), 2, 1).sum()
    assert arr(conv.weight.grad)[1, 0, 2, 1] == pytest.approx((up - down) / (2 * eps), rel=1e-6)
    bound = 1 / math.sqrt(2 * 9)
    assert np.abs(arr(conv.weight)).max() <= bound
    with pytest.raises(ValueError, match="4D input"):
        conv(ad.ones(2, 5, 5))
    with pytest.raises(ValueError, match="2 input channels"):
        conv(ad.ones(1, 3, 5, 5))
    with pytest.raises(NotImplementedError, match="groups=1"):
        nn.Conv2d(2, 2, 3, groups=2)
    same = nn.Conv2d(2, 4, 3, padding="same")
    assert same(x).shape == (2, 4, 5, 5)
    assert repr(same) == "Conv2d(2, 4, kernel_size=(3, 3), stride=(1, 1), padding=same)"
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(2, 4, 3, stride=2, padding="same")


def test_pooling_flatten_activations():
    x = ad.tensor(np.arange(32.0).reshape(1, 2, 4, 4))
    np.testing.assert_array_equal(arr(nn.MaxPool2d(2)(x))[0, 0], [[5.0, 7.0], [13.0, 15.0]])
    assert nn.MaxPool2d(3, stride=2, padding=1)(x).shape == (1, 2, 2, 2)
    assert nn.MaxPool2d(3, stride=2, ceil_mode=True)(x).shape == (1, 2, 2, 2)
    assert nn.MaxPool2d(3, stride=2)(x).shape == (1, 2, 1, 1)
    np.testing.assert_allclose(arr(nn.AdaptiveAvgPool2d((1, 1))(x)).ravel(), [7.5, 23.5])
    assert nn.Flatten()(x).shape == (1, 32)
    assert nn.Flatten(0, 1)(x).shape == (2, 4, 4)
    v = ad.tensor([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(arr(nn.ReLU()(v)), [0.0, 0.0, 3.0])
    np.testing.assert_allclose(arr(nn.Tanh()(v)), np.tanh([-2.0, 0.0, 3.0]))
    np.testing.assert_allclose(arr(nn.Sigmoid()(v)), 1 / (1 + np.exp([2.0, 0.0, -3.0])))
    assert nn.Identity(54, unused="x")(v) is v


def test_dropout_train_and_eval():
    ad.manual_seed(0)
    drop = nn.Dropout(0.25)
    y = arr(drop(ad.ones(10_000)))
    assert set(np.unique(y)) <= {0.0, 1 / 0.75}
    assert 0.2 < (y == 0).mean() < 0.3
    drop.eval()
    np.testing.assert_array_equal(arr(drop(ad.ones(5))), np.ones(5))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_losses():
    a, b = ad.tensor([1.0, 2.0, 4.0]), ad.tensor([0.0, 0.0, 1.0])
    assert nn.MSELoss()(a, b).item() == pytest.approx(14 / 3)
    assert nn.MSELoss(reduction="sum")(a, b).item() == pytest.approx(14.0)
    logits = np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]])
    labels = np.array([1, 2])
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    expect = -logp[[0, 1], labels].mean()
    z = ad.tensor(logits, requires_grad=True)
    loss = nn.CrossEntropyLoss()(z, ad.tensor(labels))
    assert loss.item() == pytest.approx(expect)
    loss.backward()
    soft = np.exp(logp)
    soft[[0, 1], labels] -= 1
    np.testing.assert_allclose(arr(z.grad), soft / 2)


# ---- BatchNorm2d --------------------------------------------------------------------------------


def test_batchnorm_training_running_stats_and_eval():
    ad.manual_seed(0)
    bn = nn.BatchNorm2d(3, momentum=0.1)
    x = ad.rand(4, 3, 2, 2) * 3 + 1
    xv = arr(x)
    y = arr(bn(x))
    mean, var = xv.mean(axis=(0, 2, 3)), xv.var(axis=(0, 2, 3))
    expect = (xv - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(y, expect, atol=1e-10)
    n = 4 * 2 * 2
    np.testing.assert_allclose(arr(bn.running_mean), 0.1 * mean)
    np.testing.assert_allclose(arr(bn.running_var), 0.9 + 0.1 * var * n / (n - 1))
    assert int(bn.num_batches_tracked) == 1
    # eval: the running statistics normalise, and nothing is updated
    bn.eval()
    rm, rv = arr(bn.running_mean).copy(), arr(bn.running_var).copy()
    y = arr(bn(x))
    expect = (xv - rm[None, :, None, None]) / np.sqrt(rv[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(y, expect, atol=1e-10)
    np.testing.assert_array_equal(arr(bn.running_mean), rm)
    assert int(bn.num_batches_tracked) == 1


def test_batchnorm_gradients_and_affine():
    bn = nn.BatchNorm2d(2)
    with ad.no_grad():
        bn.weight.copy_(ad.tensor([2.0, 3.0]))
        bn.bias.copy_(ad.tensor([0.5, -1.0]))
    x = ad.rand(3, 2, 2, 2, requires_grad=True)
    y = bn(x)
    np.testing.assert_allclose(arr(y).mean(axis=(0, 2, 3)), [0.5, -1.0], atol=1e-12)
    (y * y).sum().backward()
    assert x.grad is not None and bn.weight.grad is not None and bn.bias.grad is not None
    np.testing.assert_allclose(arr(bn.bias.grad), 2 * arr(y).sum(axis=(0, 2, 3)))


def test_batchnorm_cumulative_average_and_state_dict():
    bn = nn.BatchNorm2d(1, momentum=None)
    batches = [ad.tensor(np.full((2, 1, 1, 1), v) + np.array([0.0, 1.0]).reshape(2, 1, 1, 1))
               for v in (1.0, 3.0)]  # fmt: skip
    for b in batches:
        bn(b)
    np.testing.assert_allclose(arr(bn.running_mean), [(1.5 + 3.5) / 2])
    sd = bn.state_dict()
    assert list(sd) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert sd["num_batches_tracked"].dtype == np.int64 and int(sd["num_batches_tracked"]) == 2
    # a checkpoint without num_batches_tracked (older PyTorch) still loads
    del sd["num_batches_tracked"]
    other = nn.BatchNorm2d(1)
    other.load_state_dict(sd)
    np.testing.assert_allclose(arr(other.running_mean), arr(bn.running_mean))
    with pytest.raises(ValueError, match="4D input"):
        bn(ad.ones(2, 1))


# ---- nn.init ------------------------------------------------------------------------------------


def test_init_functions():
    ad.manual_seed(0)
    w = ad.zeros(200, 300)
    assert init.kaiming_uniform_(w, a=math.sqrt(5)) is w
    assert np.abs(arr(w)).max() <= 1 / math.sqrt(300)
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert arr(w).std() == pytest.approx(math.sqrt(2 / 200), rel=0.02)
    init.kaiming_uniform_(w)
    assert arr(w).std() == pytest.approx(math.sqrt(2 / 300), rel=0.02)
    init.xavier_uniform_(w)
    assert np.abs(arr(w)).max() <= math.sqrt(6 / 500)
    init.xavier_normal_(w, gain=2.0)
    assert arr(w).std() == pytest.approx(2 * math.sqrt(2 / 500), rel=0.02)
    init.normal_(w, 3.0, 0.5)
    assert arr(w).mean() == pytest.approx(3.0, abs=0.01)
    init.uniform_(w, -2.0, -1.0)
    assert arr(w).min() >= -2.0 and arr(w).max() < -1.0
    np.testing.assert_array_equal(arr(init.zeros_(ad.ones(3))), np.zeros(3))
    np.testing.assert_array_equal(arr(init.ones_(ad.zeros(3))), np.ones(3))
    np.testing.assert_array_equal(arr(init.constant_(ad.zeros(2), 0.25)), [0.25, 0.25])
    conv_w = ad.zeros(8, 4, 3, 3)
    init.kaiming_normal_(conv_w, mode="fan_in")
    assert conv_w.shape == (8, 4, 3, 3)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.kaiming_uniform_(ad.zeros(3))
    with pytest.raises(ValueError, match="Mode fan_sideways"):
        init.kaiming_normal_(w, mode="fan_sideways")
    with pytest.raises(TypeError, match="expects a Tensor"):
        init.zeros_(np.zeros(3))


def test_init_runs_without_recording_on_parameters():
    p = nn.Parameter(ad.zeros(4, 4))
    init.kaiming_uniform_(p)
    init.constant_(p, 2.0)
    assert p.is_leaf and p.requires_grad and p.grad_fn is None


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("conv2d") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")


# ---- the docstrings' examples -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "autodiff.nn", "autodiff.nn.module", "autodiff.nn.layers", "autodiff.nn.conv",
        "autodiff.nn.norm", "autodiff.nn.container", "autodiff.nn.init", "autodiff.optim",
        "autodiff.optim.sgd", "autodiff.optim.adam", "autodiff.io",
    ],
)  # fmt: skip
def test_docstring_examples_run(name):
    # (autodiff.models' examples build ResNet-18s: run with --doctest-modules, not here)
    import doctest
    import importlib

    result = doctest.testmod(
        importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.failed == 0 and result.attempted > 0
