"""models.resnet18: torchvision's names, shapes and init; a training step; weights files."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autodiff as ad
from autodiff import nn, optim
from autodiff.io import load, save
from autodiff.models import resnet18


def arr(t):
    return t.detach().numpy()


def torchvision_parameters(num_classes=1000):
    """torchvision.models.resnet18's named_parameters(), written out: (name, shape)."""
    out = [("conv1.weight", (64, 3, 7, 7)), ("bn1.weight", (64,)), ("bn1.bias", (64,))]
    cin = 64
    for layer, planes in enumerate((64, 128, 256, 512), start=1):
        for block in (0, 1):
            p = f"layer{layer}.{block}."
            out += [
                (p + "conv1.weight", (planes, cin, 3, 3)),
                (p + "bn1.weight", (planes,)), (p + "bn1.bias", (planes,)),
                (p + "conv2.weight", (planes, planes, 3, 3)),
                (p + "bn2.weight", (planes,)), (p + "bn2.bias", (planes,)),
            ]  # fmt: skip
            if block == 0 and cin != planes:
                out += [
                    (p + "downsample.0.weight", (planes, cin, 1, 1)),
                    (p + "downsample.1.weight", (planes,)), (p + "downsample.1.bias", (planes,)),
                ]  # fmt: skip
            cin = planes
    return out + [("fc.weight", (num_classes, 512)), ("fc.bias", (num_classes,))]


@pytest.fixture(scope="module")
def model():
    ad.manual_seed(0)
    return resnet18()


@pytest.fixture(scope="module")
def weights(model, tmp_path_factory):
    """The fixture model's initial weights, saved: later models load them (no random draws)."""
    path = tmp_path_factory.mktemp("resnet") / "resnet18.npz"
    save(model.state_dict(), path)
    return path


def test_names_shapes_and_count(model, weights):
    got = [(name, tuple(p.shape)) for name, p in model.named_parameters()]
    assert got == torchvision_parameters()
    assert len(got) == 62
    assert sum(p.numel() for p in model.parameters()) == 11_689_512
    sd = model.state_dict()
    assert len(sd) == 122  # 62 parameters + 3 buffers for each of the 20 BatchNorm2d
    assert list(sd)[:6] == ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean",
                            "bn1.running_var", "bn1.num_batches_tracked"]  # fmt: skip
    assert model.layer1[0].downsample is None
    assert repr(model.layer2[0].downsample) == (
        "Sequential(\n"
        "  (0): Conv2d(64, 128, kernel_size=(1, 1), stride=(2, 2), bias=False)\n"
        "  (1): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
        ")"
    )


def test_torchvision_init(model):
    w = arr(model.layer3[1].conv2.weight)
    assert w.std() == pytest.approx(math.sqrt(2 / (256 * 9)), rel=0.02)  # kaiming fan_out relu
    assert arr(model.conv1.weight).std() == pytest.approx(math.sqrt(2 / (64 * 49)), rel=0.05)
    assert (arr(model.layer4[0].bn2.weight) == 1).all() and (arr(model.bn1.bias) == 0).all()
    assert np.abs(arr(model.fc.weight)).max() <= 1 / math.sqrt(512)
    assert (arr(model.bn1.running_var) == 1).all() and int(model.bn1.num_batches_tracked) == 0


def test_training_step_on_64x64(weights):
    model = resnet18(weights=weights)
    ad.manual_seed(0)
    data, labels = ad.rand(1, 3, 64, 64), ad.rand(1, 1000)
    prediction = model(data)
    assert prediction.shape == (1, 1000) and prediction.grad_fn is not None
    loss = (prediction - labels).sum()
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert missing == []
    for name, p in model.named_parameters():
        assert p.grad.shape == p.shape, name
    # d loss / d fc.bias = 1 for every class; d loss / d fc.weight = the pooled features
    np.testing.assert_allclose(arr(model.fc.bias.grad), np.ones(1000))
    assert int(model.bn1.num_batches_tracked) == 1
    before = arr(model.fc.weight).copy()
    optim.SGD(model.parameters(), lr=1e-2, momentum=0.9).step()
    assert not np.array_equal(arr(model.fc.weight), before)
    with ad.no_grad():
        after = (model(data) - labels).sum()
    assert after.item() != pytest.approx(loss.item())
    assert after.item() < loss.item()  # one step against the gradient of a sum lowers it


def test_freeze_and_replace_fc(weights):
    model = resnet18(weights=weights)
    for param in model.parameters():
        param.requires_grad = False
    model.fc = nn.Linear(512, 10)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["fc.weight", "fc.bias"]
    optimizer = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    conv_before = arr(model.conv1.weight).copy()
    fc_before = arr(model.fc.weight).copy()
    out = model(ad.rand(1, 3, 64, 64))  # 32×32 would leave 1 value per channel in layer4
    assert out.shape == (1, 10)
    out.sum().backward()
    with_grad = [n for n, p in model.named_parameters() if p.grad is not None]
    assert with_grad == ["fc.weight", "fc.bias"]
    optimizer.step()
    np.testing.assert_array_equal(arr(model.conv1.weight), conv_before)
    assert not np.array_equal(arr(model.fc.weight), fc_before)


def test_eval_mode_uses_running_stats(weights):
    model = resnet18(weights=weights, num_classes=1000)
    ad.manual_seed(1)
    x = ad.rand(2, 3, 64, 64)
    with ad.no_grad():
        model(x)  # training mode: one update of the running statistics
        assert int(model.bn1.num_batches_tracked) == 1
        assert not (arr(model.bn1.running_mean) == 0).all()
        # training mode: each sample is normalised by the batch's statistics
        train_pair, train_one = model(x), model(x[:1])
        assert not np.allclose(arr(train_pair)[:1], arr(train_one))
        model.eval()
        stats = arr(model.layer1[0].bn1.running_var).copy()
        eval_pair, eval_one = model(x), model(x[:1])
    # eval mode: the running statistics, so a sample's output does not depend on its batch
    np.testing.assert_allclose(arr(eval_pair)[:1], arr(eval_one), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(arr(model.layer1[0].bn1.running_var), stats)
    assert int(model.bn1.num_batches_tracked) == 3


def test_weights_round_trip(model, weights):
    loaded = resnet18(weights=weights)
    sd, back = model.state_dict(), loaded.state_dict()
    assert list(back) == list(sd)
    for k in sd:
        np.testing.assert_array_equal(back[k], sd[k])
    assert all(p.requires_grad and p.is_leaf for p in loaded.parameters())


def test_bad_weights_files(weights, tmp_path):
    sd = load(weights)
    running_var = sd.pop("layer3.1.bn2.running_var")
    sd["head.weight"] = np.zeros(3)
    broken = tmp_path / "broken.npz"
    save(sd, broken)
    with pytest.raises(ValueError) as info:
        resnet18(weights=broken)
    msg = str(info.value)
    assert f"cannot load ResNet-18 weights from {broken}" in msg
    assert 'Missing key(s) in state_dict: "layer3.1.bn2.running_var"' in msg
    assert 'Unexpected key(s) in state_dict: "head.weight"' in msg
    del sd["head.weight"]
    sd["layer3.1.bn2.running_var"] = running_var
    sd["conv1.weight"] = sd["conv1.weight"][:, :, :5, :5]
    misshaped = tmp_path / "misshaped.npz"
    save(sd, misshaped)
    with pytest.raises(ValueError, match=r"size mismatch for conv1.weight.*\(64, 3, 5, 5\)"):
        resnet18(weights=misshaped)
    with pytest.raises(
        ValueError, match=r"size mismatch for fc.weight.*\(1000, 512\).*\(10, 512\)"
    ):
        resnet18(num_classes=10, weights=weights)
    with pytest.raises(FileNotFoundError, match="not found"):
        resnet18(weights=tmp_path / "nope.npz")
    text = tmp_path / "resnet18.pth"
    text.write_bytes(b"not a zip, not an npz")
    with pytest.raises(ValueError, match=r"not an \.npz"):
        resnet18(weights=text)
    with pytest.raises(ValueError, match="weights="):
        resnet18(pretrained=True)
