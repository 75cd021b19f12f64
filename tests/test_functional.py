"""autodiff.nn.functional against NumPy references, on tensors, plain arrays and traced values."""

import warnings

import numpy as np
import pytest

import autodiff as ad
import autodiff.nn.functional as F


def np_log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def as_np(t):
    return t.detach().numpy() if isinstance(t, ad.Tensor) else np.asarray(t)


# ---- activations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "ref"),
    [
        (F.relu, lambda x: np.maximum(x, 0)),
        (F.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
        (F.tanh, np.tanh),
    ],
)
def test_activations_on_arrays_tensors_and_traces(rng, fn, ref):
    x = rng.standard_normal((3, 4))
    out = fn(x)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, ref(x), atol=1e-12)
    t = ad.tensor(x, requires_grad=True)
    y = fn(t)
    assert isinstance(y, ad.Tensor) and y.grad_fn is not None
    y.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), ad.grad(lambda x: ad.sum(fn(x)))(x), atol=1e-12)
    ad.check_grads(fn, (x + np.sign(x) * 0.1,), order=2)


def test_relu_inplace_writes_into_its_input():
    x = np.array([-1.0, 2.0])
    assert F.relu(x, inplace=True) is x
    np.testing.assert_array_equal(x, [0.0, 2.0])
    t = ad.tensor([-1.0, 2.0])
    assert F.relu(t, inplace=True) is t
    np.testing.assert_array_equal(t.numpy(), [0.0, 2.0])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_and_log_softmax(rng, dim):
    x = rng.standard_normal((2, 3, 4)) * 4
    want = np_log_softmax(x, dim)
    np.testing.assert_allclose(F.log_softmax(x, dim), want, atol=1e-12)
    np.testing.assert_allclose(F.softmax(x, dim), np.exp(want), atol=1e-12)
    np.testing.assert_allclose(F.softmax(x, dim).sum(axis=dim), 1.0)
    ad.check_grads(lambda x: F.log_softmax(x, dim), (x,), order=2)
    ad.check_grads(lambda x: F.softmax(x, dim), (x,), order=2)


def test_softmax_is_stable_and_names_its_grad_fn():
    x = np.array([[1000.0, 0.0, -1000.0]])
    np.testing.assert_allclose(F.log_softmax(x, 1), [[0.0, -1000.0, -2000.0]])
    np.testing.assert_allclose(F.softmax(x, 1), [[1.0, 0.0, 0.0]])
    t = ad.tensor(x, requires_grad=True)
    assert F.log_softmax(t, 1).grad_fn.name() == "LogSoftmaxBackward0"
    assert F.softmax(t, 1).grad_fn.name() == "SoftmaxBackward0"


def test_softmax_without_dim_warns_and_picks_pytorchs_legacy_axis(rng):
    x = rng.standard_normal((2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        out = F.softmax(x)
    np.testing.assert_allclose(out, np.exp(np_log_softmax(x, 1)))


# ---- mse_loss: the documents' numbers ------------------------------------------------------------


def test_mse_loss_with_the_documents_numbers():
    x, y = ad.tensor([-0.6014]), ad.tensor([-1.0122])
    w = ad.tensor([0.6614], requires_grad=True)
    b = ad.tensor([0.2669], requires_grad=True)
    z = w * x + b
    assert z.item() == pytest.approx(-0.130866, abs=1e-6)  # these 4-digit inputs: -0.1309
    assert repr(z) == "tensor([-0.1309], grad_fn=<AddBackward0>)"
    loss = F.mse_loss(z, y)
    assert loss.grad_fn.name() == "MseLossBackward0"
    assert 0.7767 <= loss.item() <= 0.7769
    loss.backward()
    assert w.grad.item() == pytest.approx(-1.0601, abs=1e-4)
    assert b.grad.item() == pytest.approx(1.7627, abs=1e-4)  # 2(z - y)


def test_mse_loss_with_the_documents_seeded_tensors():
    """The documents draw x, y with seed 10 and w, b with seed 1 (float32 streams)."""
    from autodiff import rng

    rng.manual_seed(10)
    x, y = (ad.tensor(rng.randn(1, sample_dtype=np.float32)) for _ in range(2))
    rng.manual_seed(1)
    w0, b0 = rng.randn(2, sample_dtype=np.float32)
    w, b = ad.tensor([w0], requires_grad=True), ad.tensor([b0], requires_grad=True)
    z = w * x + b
    assert repr(z) == "tensor([-0.1308], grad_fn=<AddBackward0>)"
    loss = F.mse_loss(z, y)
    assert repr(loss) == "tensor(0.7769, grad_fn=<MseLossBackward0>)"
    loss.backward()
    assert f"{w.grad.item():.4f}" == "-1.0601"
    assert f"{b.grad.item():.4f}" == "1.7628"


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_reductions_and_both_gradients(rng, reduction):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    sq = (a - b) ** 2
    want = {"mean": sq.mean(), "sum": sq.sum(), "none": sq}[reduction]
    np.testing.assert_allclose(F.mse_loss(a, b, reduction), want, atol=1e-12)
    ad.check_grads(lambda a, b: F.mse_loss(a, b, reduction=reduction), (a, b), order=2)
    ta, tb = ad.tensor(a, requires_grad=True), ad.tensor(b, requires_grad=True)
    F.mse_loss(ta, tb, reduction=reduction).sum().backward()
    scale = 2 / a.size if reduction == "mean" else 2
    np.testing.assert_allclose(ta.grad.numpy(), scale * (a - b), atol=1e-12)
    np.testing.assert_allclose(tb.grad.numpy(), -scale * (a - b), atol=1e-12)


def test_mse_loss_warns_on_broadcasting(rng):
    with pytest.warns(UserWarning, match="different to the input size"):
        out = F.mse_loss(rng.standard_normal((2, 3)), np.zeros(3))
    assert out.shape == ()
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.mse_loss(np.zeros(2), np.zeros(2), reduction="avg")


# ---- cross entropy and friends -------------------------------------------------------------------


def ce_reference(x, t, weight=None, ignore_index=-100, reduction="mean", smoothing=0.0):
    """Cross entropy with class indices, from a hand-written log-softmax (PyTorch's formulas)."""
    logp = np_log_softmax(x, 1)
    C = x.shape[1]
    w = np.ones(C) if weight is None else weight
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    picked = np.take_along_axis(logp, safe[:, None], 1)[:, 0]
    wt = w[safe] * valid
    nll = -picked * wt
    smooth = -(logp * w).sum(1) * valid
    if reduction == "none":
        return (1 - smoothing) * nll + smoothing / C * smooth
    if reduction == "sum":
        return (1 - smoothing) * nll.sum() + smoothing / C * smooth.sum()
    return (1 - smoothing) * nll.sum() / wt.sum() + smoothing / C * smooth.sum() / wt.sum()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_with_class_indices(rng, reduction, smoothing, weighted):
    x = rng.standard_normal((5, 4)) * 2
    t = np.array([0, 3, 1, -100, 2])
    w = rng.uniform(0.5, 2.0, 4) if weighted else None
    got = F.cross_entropy(x, t, w, reduction=reduction, label_smoothing=smoothing)
    want = ce_reference(x, t, w, reduction=reduction, smoothing=smoothing)
    np.testing.assert_allclose(got, want, atol=1e-12)
    ad.check_grads(lambda x: F.cross_entropy(x, t, w, reduction=reduction,
                                             label_smoothing=smoothing), (x,), order=2)  # fmt: skip


def test_cross_entropy_against_pytorch_numbers():
    # reference values from torch 2.13.0 (float64)
    x = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    assert float(F.cross_entropy(x, np.array([0, 1]))) == pytest.approx(0.39637800529460404)
    probs = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    assert float(F.cross_entropy(x, probs)) == pytest.approx(0.39637800529460404)
    t = ad.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    loss = F.cross_entropy(t, ad.tensor([2]))
    assert loss.item() == pytest.approx(0.4076059644443804)
    loss.backward()
    np.testing.assert_allclose(t.grad.numpy(), [[0.09003057, 0.24472847, -0.33475904]], atol=1e-8)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_probabilities(rng, reduction):
    x = rng.standard_normal((2, 3, 4, 5))  # class axis 1, spatial axes after it
    p = rng.dirichlet(np.ones(3), (2, 4, 5)).transpose(0, 3, 1, 2)
    per = -(np_log_softmax(x, 1) * p).sum(1)
    want = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    np.testing.assert_allclose(F.cross_entropy(x, p, reduction=reduction), want, atol=1e-12)
    # differentiable in the logits and in the target probabilities
    ad.check_grads(lambda x, p: F.cross_entropy(x, p, reduction=reduction), (x, p), order=2)


def test_cross_entropy_on_spatial_and_unbatched_inputs(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    t = rng.integers(0, 3, (2, 4, 5))
    logp = np_log_softmax(x, 1)
    picked = np.take_along_axis(logp, t[:, None], 1)[:, 0]
    np.testing.assert_allclose(F.cross_entropy(x, t, reduction="none"), -picked, atol=1e-12)
    v = rng.standard_normal(4)
    np.testing.assert_allclose(F.cross_entropy(v, np.array(2)), -np_log_softmax(v, 0)[2])


def test_cross_entropy_on_tensors(rng):
    x = ad.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    t = ad.tensor([1, 0, 3])
    loss = F.cross_entropy(x, t)
    loss.backward()
    p = np.exp(np_log_softmax(x.detach().numpy(), 1))
    onehot = np.eye(4)[[1, 0, 3]]
    np.testing.assert_allclose(x.grad.numpy(), (p - onehot) / 3, atol=1e-12)


def test_cross_entropy_errors():
    with pytest.raises(TypeError, match="must be integers"):
        F.cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(IndexError, match="Target 5 is out of bounds"):
        F.cross_entropy(np.zeros((2, 3)), np.array([0, 5]))
    with pytest.raises(ValueError, match="expected a target of shape"):
        F.cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(rng, reduction):
    logp = np_log_softmax(rng.standard_normal((4, 3)), 1)
    t = np.array([2, -100, 0, 1])
    w = np.array([0.5, 2.0, 1.5])
    valid = t != -100
    terms = -logp[np.arange(4), np.where(valid, t, 0)] * w[np.where(valid, t, 0)] * valid
    norm = (w[np.where(valid, t, 0)] * valid).sum()
    want = {"mean": terms.sum() / norm, "sum": terms.sum(), "none": terms}[reduction]
    np.testing.assert_allclose(F.nll_loss(logp, t, w, reduction=reduction), want, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy(rng, reduction):
    p, y = rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4))
    w = rng.uniform(0.5, 2, (3, 4))
    per = -w * (y * np.log(p) + (1 - y) * np.log(1 - p))
    want = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    np.testing.assert_allclose(F.binary_cross_entropy(p, y, w, reduction=reduction), want)
    ad.check_grads(lambda p, y: F.binary_cross_entropy(p, y, w, reduction=reduction), (p, y))
    # the logs are clamped at -100, as in PyTorch, and the gradient stays finite there
    assert float(F.binary_cross_entropy(np.array([0.0]), np.array([1.0]))) == pytest.approx(100.0)
    g = ad.grad(lambda p: F.binary_cross_entropy(p, np.array([1.0, 0.0])))(np.array([0.0, 1.0]))
    assert np.all(np.isfinite(g))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(np.array([1.5]), np.array([1.0]))


def test_binary_cross_entropy_with_logits(rng):
    x, y = rng.standard_normal((3, 4)) * 3, rng.uniform(0, 1, (3, 4))
    pw = rng.uniform(0.5, 3, 4)
    s = 1 / (1 + np.exp(-x))
    want = -(pw * y * np.log(s) + (1 - y) * np.log(1 - s)).mean()
    got = F.binary_cross_entropy_with_logits(x, y, pos_weight=pw)
    assert float(got) == pytest.approx(want, rel=1e-12)
    ad.check_grads(lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw), (x, y))
    # stable for large logits, and smooth at 0: the gradient there is σ(0) - y
    big = F.binary_cross_entropy_with_logits(np.array([800.0, -800.0]), np.array([0.0, 1.0]),
                                             reduction="none")  # fmt: skip
    np.testing.assert_allclose(big, [800.0, 800.0])
    g = ad.grad(lambda x: F.binary_cross_entropy_with_logits(x, np.array([1.0]), reduction="sum"))(
        np.array([0.0])
    )
    np.testing.assert_allclose(g, [-0.5])


# ---- linear, conv2d, pooling -----------------------------------------------------------------


def test_linear(rng):
    x, w, b = rng.standard_normal((5, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)
    np.testing.assert_allclose(F.linear(x, w, b), x @ w.T + b, atol=1e-12)
    np.testing.assert_allclose(F.linear(x, w), x @ w.T, atol=1e-12)
    ad.check_grads(F.linear, (x, w, b), order=2)
    tx, tw = ad.tensor(x), ad.tensor(w, requires_grad=True)
    F.linear(tx, tw).sum().backward()
    np.testing.assert_allclose(tw.grad.numpy(), np.ones((5, 4)).T @ x, atol=1e-12)


def conv_ref(x, w, b, stride, padding):
    """conv2d with bias as loops over output positions (PyTorch's cross-correlation)."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    kh, kw = w.shape[-2:]
    Ho, Wo = (xp.shape[2] - kh) // stride + 1, (xp.shape[3] - kw) // stride + 1
    out = np.zeros((x.shape[0], w.shape[0], Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            patch = xp[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[:, :, i, j] = np.einsum("ncij,ocij->no", patch, w)
    return out + b[None, :, None, None]


def test_conv2d_with_bias(rng):
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    np.testing.assert_allclose(F.conv2d(x, w, b, 2, 1), conv_ref(x, w, b, 2, 1), atol=1e-12)
    ad.check_grads(lambda x, w, b: F.conv2d(x, w, b, 1, 1), (x[:1, :, :4, :4], w, b), order=2)
    unbatched = F.conv2d(x[0], w, b, 2, 1)
    np.testing.assert_allclose(unbatched, conv_ref(x, w, b, 2, 1)[0], atol=1e-12)


@pytest.mark.parametrize("kernel", [(3, 3), (2, 4), (4, 3)])
def test_conv2d_same_and_valid_padding(rng, kernel):
    x, w = rng.standard_normal((1, 2, 6, 7)), rng.standard_normal((3, 2) + kernel)
    out = F.conv2d(x, w, padding="same")
    assert out.shape == (1, 3, 6, 7)
    top, left = (kernel[0] - 1) // 2, (kernel[1] - 1) // 2  # PyTorch pads the extra at the end
    xp = np.pad(x, ((0, 0), (0, 0), (top, kernel[0] - 1 - top), (left, kernel[1] - 1 - left)))
    np.testing.assert_allclose(out, conv_ref(xp, w, np.zeros(3), 1, 0), atol=1e-12)
    np.testing.assert_allclose(F.conv2d(x, w, padding="valid"), ad.conv2d(x, w), atol=1e-12)
    with pytest.raises(ValueError, match="strided"):
        F.conv2d(x, w, padding="same", stride=2)
    with pytest.raises(NotImplementedError, match="groups"):
        F.conv2d(x, w, groups=2)


def test_pooling_functions(rng):
    x = rng.standard_normal((2, 3, 6, 6))
    np.testing.assert_array_equal(F.max_pool2d(x, 2), x.reshape(2, 3, 3, 2, 3, 2).max((3, 5)))
    np.testing.assert_allclose(F.avg_pool2d(x, 2), x.reshape(2, 3, 3, 2, 3, 2).mean((3, 5)))
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, (3, 2)),
                               x.reshape(2, 3, 3, 2, 2, 3).mean((3, 5)))  # fmt: skip
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, 1), x.mean((2, 3), keepdims=True))
    t = ad.tensor(x, requires_grad=True)
    F.adaptive_avg_pool2d(F.max_pool2d(t, 3, 1, 1), [2, None]).sum().backward()
    assert t.grad.shape == x.shape
    with pytest.raises(NotImplementedError, match="return_indices"):
        F.max_pool2d(x, 2, return_indices=True)


# ---- dropout --------------------------------------------------------------------------------


def test_dropout_masks_and_scales():
    ad.manual_seed(0)
    x = np.ones((200, 50))
    out = F.dropout(x, p=0.3)
    kept = out != 0
    np.testing.assert_allclose(out[kept], 1 / 0.7)
    assert abs(kept.mean() - 0.7) < 0.02
    ad.manual_seed(0)
    np.testing.assert_array_equal(F.dropout(x, p=0.3), out)  # reproducible from the seed
    # the gradient is the mask
    ad.manual_seed(1)
    t = ad.tensor(np.arange(1.0, 11.0), requires_grad=True)
    y = F.dropout(t, p=0.5)
    y.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), y.detach().numpy() / t.detach().numpy())


def test_dropout_edge_cases():
    x = np.ones(4, dtype=np.float32)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0), np.zeros(4))
    assert F.dropout(x, 0.5).dtype == np.float32
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, 1.5)
    # inside a transformation the mask is a constant
    g = ad.grad(lambda x: ad.sum(F.dropout(x, 0.5)))(np.ones(6))
    assert set(np.unique(g)) <= {0.0, 2.0}


# ---- batch_norm ---------------------------------------------------------------------------------


def bn_reference(x, mean, var, w, b, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * w.reshape(
        shape
    ) + b.reshape(shape)


@pytest.mark.parametrize("shape", [(4, 3, 5, 5), (6, 3), (2, 3, 4)])
def test_batch_norm_training_and_running_statistics(rng, shape):
    x = rng.standard_normal(shape) * 2 + 1
    C = shape[1]
    w, b = rng.standard_normal(C), rng.standard_normal(C)
    rm, rv = rng.standard_normal(C), rng.uniform(0.5, 2, C)
    rm0, rv0 = rm.copy(), rv.copy()
    axes = (0, *range(2, len(shape)))
    out = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.3, eps=1e-3)
    mean, var = x.mean(axis=axes), x.var(axis=axes)  # biased variance normalizes
    np.testing.assert_allclose(out, bn_reference(x, mean, var, w, b, 1e-3), atol=1e-12)
    n = x.size // C
    np.testing.assert_allclose(rm, 0.7 * rm0 + 0.3 * mean)
    np.testing.assert_allclose(rv, 0.7 * rv0 + 0.3 * var * n / (n - 1))  # unbiased: running
    # evaluation uses the running statistics
    ev = F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-3)
    np.testing.assert_allclose(ev, bn_reference(x, rm, rv, w, b, 1e-3), atol=1e-12)


def test_batch_norm_gradients(rng):
    x = rng.standard_normal((3, 2, 2, 2))
    w, b = rng.standard_normal(2), rng.standard_normal(2)
    ad.check_grads(lambda x, w, b: F.batch_norm(x, None, None, w, b, True), (x, w, b), order=2)
    rm, rv = np.zeros(2), np.ones(2)
    ad.check_grads(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, False), (x, w, b), order=2)


def test_batch_norm_on_tensors_updates_tensor_buffers(rng):
    x = ad.tensor(rng.standard_normal((4, 3, 2, 2)), requires_grad=True)
    w, b = ad.ones(3, requires_grad=True), ad.zeros(3, requires_grad=True)
    rm, rv = ad.zeros(3), ad.ones(3)
    out = F.batch_norm(x, rm, rv, w, b, training=True)
    (out * out).sum().backward()
    xv = x.detach().numpy()
    np.testing.assert_allclose(rm.numpy(), 0.1 * xv.mean(axis=(0, 2, 3)))
    assert not rm.requires_grad and x.grad.shape == x.shape and w.grad.shape == (3,)
    # the normalized output has zero mean per channel, so Σ out² = N·H·W·var/(var+eps) per channel
    assert np.allclose(out.detach().numpy().mean(axis=(0, 2, 3)), 0, atol=1e-12)


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        F.batch_norm(np.zeros((1, 3)), None, None, training=True)
    with pytest.raises(ValueError, match="running_mean and running_var"):
        F.batch_norm(np.zeros((2, 3)), None, None, training=False)


# ---- all of it inside a transformation, on a tiny network -------------------------------------


def test_small_network_in_every_mode(rng):
    x = rng.standard_normal((2, 1, 6, 6))
    t = np.array([1, 0])

    def loss(w, fc):
        h = F.relu(F.conv2d(x, w, padding=1) + 0.05)
        h = F.max_pool2d(h, 2)
        h = F.batch_norm(h, None, None, training=True)
        h = ad.reshape(F.adaptive_avg_pool2d(h, 1), (2, 3))
        return F.cross_entropy(F.linear(h, fc), t, label_smoothing=0.1)

    w, fc = rng.standard_normal((3, 1, 3, 3)), rng.standard_normal((2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ad.check_grads(loss, (w, fc), order=2)
    tw, tfc = ad.tensor(w, requires_grad=True), ad.tensor(fc, requires_grad=True)
    value = loss(tw, tfc)
    value.backward()
    gw, gfc = ad.grad(loss, argnums=(0, 1))(w, fc)
    np.testing.assert_allclose(tw.grad.numpy(), gw, atol=1e-12)
    np.testing.assert_allclose(tfc.grad.numpy(), gfc, atol=1e-12)
    assert as_np(value) == pytest.approx(float(loss(w, fc)))
