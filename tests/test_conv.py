"""conv2d, its transposes, pooling: values against naive loops, derivatives in every mode."""

import numpy as np
import pytest

import autodiff as ad
from autodiff.forward import jvp_batched
from autodiff.reverse import vjp as vjp_fn

# ---- naive references ------------------------------------------------------------------------


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv_naive(x, w, stride=1, padding=0):
    """PyTorch's conv2d (cross-correlation), written as loops."""
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    xp[:, :, ph : ph + H, pw : pw + W] = x
    Ho, Wo = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    out = np.zeros((N, O, Ho, Wo))
    for n in range(N):
        for o in range(O):
            for i in range(Ho):
                for j in range(Wo):
                    patch = xp[n, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
                    out[n, o, i, j] = np.sum(patch * w[o])
    return out


def conv_grads_naive(x, w, g, stride=1, padding=0):
    """x̄ and w̄ of conv2d for the output gradient g, by the chain rule on the loops."""
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    xp[:, :, ph : ph + H, pw : pw + W] = x
    gxp, gw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for o in range(O):
            for i in range(g.shape[2]):
                for j in range(g.shape[3]):
                    rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
                    gxp[n, :, rows, cols] += g[n, o, i, j] * w[o]
                    gw[o] += g[n, o, i, j] * xp[n, :, rows, cols]
    return gxp[:, :, ph : ph + H, pw : pw + W], gw


def pool_naive(x, k, stride=None, padding=0, ceil_mode=False, kind="max", count_include_pad=True):
    """PyTorch's max_pool2d / avg_pool2d on the last two axes, as loops."""
    (kh, kw) = _pair(k)
    (sh, sw) = _pair(stride if stride is not None else k)
    (ph, pw) = _pair(padding)
    H, W = x.shape[-2:]

    def size(n, k, s, p):
        out = (n + 2 * p - k + (s - 1 if ceil_mode else 0)) // s + 1
        return out - 1 if ceil_mode and (out - 1) * s >= n + p else out

    Ho, Wo = size(H, kh, sh, ph), size(W, kw, sw, pw)
    out = np.zeros(x.shape[:-2] + (Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            r0, c0 = i * sh - ph, j * sw - pw
            r1, c1 = min(r0 + kh, H + ph), min(c0 + kw, W + pw)
            win = x[..., max(r0, 0) : min(r1, H), max(c0, 0) : min(c1, W)]
            if kind == "max":
                out[..., i, j] = win.max(axis=(-2, -1))
            else:
                div = (r1 - r0) * (c1 - c0) if count_include_pad else win.shape[-2] * win.shape[-1]
                out[..., i, j] = win.sum(axis=(-2, -1)) / div
    return out


def adaptive_naive(x, out):
    H, W = x.shape[-2:]
    Ho, Wo = out
    res = np.zeros(x.shape[:-2] + (Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            r0, r1 = (i * H) // Ho, -((-(i + 1) * H) // Ho)
            c0, c1 = (j * W) // Wo, -((-(j + 1) * W) // Wo)
            res[..., i, j] = x[..., r0:r1, c0:c1].mean(axis=(-2, -1))
    return res


CONV_CASES = [
    ((1, 1, 5, 5), (1, 1, 3, 3), 1, 0),
    ((2, 3, 7, 6), (4, 3, 3, 2), 1, 0),
    ((1, 2, 9, 9), (3, 2, 3, 3), 2, 1),
    ((2, 2, 8, 7), (5, 2, 1, 1), (2, 3), (0, 2)),
    ((1, 3, 10, 11), (2, 3, 4, 5), 3, 2),
    ((1, 1, 6, 6), (2, 1, 3, 3), 2, 0),  # the last row and column are never read
    ((3, 2, 4, 4), (2, 2, 4, 4), 1, 1),
]


@pytest.mark.parametrize(("xs", "ws", "stride", "padding"), CONV_CASES)
def test_conv2d_matches_loops(rng, xs, ws, stride, padding):
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    out = ad.conv2d(x, w, stride=stride, padding=padding)
    np.testing.assert_allclose(out, conv_naive(x, w, stride, padding), atol=1e-12)


@pytest.mark.parametrize(("xs", "ws", "stride", "padding"), CONV_CASES)
def test_conv2d_gradients_match_loops(rng, xs, ws, stride, padding):
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    out, pullback = ad.vjp(lambda x, w: ad.conv2d(x, w, stride=stride, padding=padding), x, w)
    g = rng.standard_normal(out.shape)
    gx, gw = pullback(g)
    want_x, want_w = conv_grads_naive(x, w, g, stride, padding)
    np.testing.assert_allclose(gx, want_x, atol=1e-12)
    np.testing.assert_allclose(gw, want_w, atol=1e-12)
    # the transposes are primitives of their own, callable directly
    size = xs[-2:]
    np.testing.assert_allclose(
        ad.conv2d_input_grad(g, w, stride=stride, padding=padding, size=size), want_x, atol=1e-12
    )
    np.testing.assert_allclose(
        ad.conv2d_weight_grad(x, g, stride=stride, padding=padding, kernel_size=ws[-2:]),
        want_w,
        atol=1e-12,
    )


@pytest.mark.parametrize(("xs", "ws", "stride", "padding"), CONV_CASES[:5])
def test_conv2d_vjp_is_the_transpose_of_the_jvp(rng, xs, ws, stride, padding):
    """⟨u, J·v⟩ = ⟨Jᵀ·u, v⟩ for the bilinear map (x, w) ↦ conv2d(x, w)."""
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    vx, vw = rng.standard_normal(xs), rng.standard_normal(ws)

    def f(x, w):
        return ad.conv2d(x, w, stride=stride, padding=padding)

    out, jv = ad.jvp(f, (x, w), (vx, vw))
    u = rng.standard_normal(out.shape)
    ux, uw = ad.vjp(f, x, w)[1](u)
    assert np.vdot(u, jv) == pytest.approx(np.vdot(ux, vx) + np.vdot(uw, vw), rel=1e-12)
    # and the JVP is bilinearity: conv(vx, w) + conv(x, vw)
    np.testing.assert_allclose(jv, f(vx, w) + f(x, vw), atol=1e-12)


@pytest.mark.parametrize(
    ("xs", "ws", "stride", "padding"),
    [((1, 2, 5, 5), (3, 2, 3, 3), 1, 0), ((2, 1, 5, 4), (2, 1, 2, 3), 2, 1)],
)
def test_conv2d_check_grads_second_order(rng, xs, ws, stride, padding):
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    ad.check_grads(lambda x, w: ad.conv2d(x, w, stride=stride, padding=padding), (x, w), order=2)
    # a small network around it: conv → tanh → max pool → weighted sum, third order
    u = rng.standard_normal((xs[0], ws[0], 1, 1))

    def net(x, w):
        h = ad.tanh(ad.conv2d(x, w, stride=stride, padding=padding))
        return ad.sum(ad.adaptive_avg_pool2d(ad.max_pool2d(h, 2, 1), 1) * u)

    ad.check_grads(net, (x, w), order=3)


def test_conv2d_hessian_vector_product_is_bilinear(rng):
    """conv2d is bilinear: ∂²/∂x∂w of ⟨u, conv(x, w)⟩ along (vx, vw) is ⟨u, conv(vx, vw)⟩ · 2."""
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    vx, vw = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    u = rng.standard_normal((1, 3, 3, 3))

    def f(x, w):
        return ad.sum(ad.conv2d(x, w) * u)

    def grad_dot_v(x, w):  # forward-over-reverse: ⟨∇f(x, w), v⟩, differentiated again
        gx, gw = ad.grad(f, argnums=(0, 1))(x, w)
        return ad.sum(gx * vx) + ad.sum(gw * vw)

    _, hvv = ad.jvp(grad_dot_v, (x, w), (vx, vw))
    assert float(hvv) == pytest.approx(2 * float(np.sum(conv_naive(vx, vw) * u)), rel=1e-12)


# ---- batched tangents and cotangents (batchable=True) ----------------------------------------

BATCHED = [
    ("conv2d", ((1, 2, 5, 5), (3, 2, 3, 3)), {"stride": 2, "padding": 1}),
    ("conv2d", ((2, 1, 2, 4, 4), (3, 2, 2, 2)), {"stride": 1, "padding": 0}),
    ("conv2d", ((1, 2, 4, 4), (2, 3, 2, 2, 2)), {"stride": 1, "padding": 1}),
    ("conv2d_input_grad", ((2, 3, 2, 2), (3, 2, 3, 2)),
     {"stride": 2, "padding": 1, "size": (4, 3)}),
    ("conv2d_weight_grad", ((2, 2, 4, 3), (2, 3, 2, 2)),
     {"stride": 2, "padding": 1, "kernel_size": (3, 2)}),
    ("max_pool2d", ((1, 2, 5, 5),), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("avg_pool2d", ((1, 2, 5, 5),), {"kernel_size": 2, "ceil_mode": True}),
    ("adaptive_avg_pool2d", ((2, 5, 7),), {"output_size": (3, 2)}),
    ("softmax", ((2, 3, 4),), {"axis": 1}),
    ("log_softmax", ((2, 3, 4),), {"axis": -1}),
    ("mse_loss", ((2, 3), (3,)), {"reduction": "mean"}),
    ("mse_loss", ((3,), (2, 3)), {"reduction": "none"}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "shapes", "params"), BATCHED)
def test_batched_rules_match_one_at_a_time(rng, name, shapes, params):
    fn = getattr(ad, name)
    args = tuple(rng.permutation(int(np.prod(s))).reshape(s) * 0.1 + 0.01 for s in shapes)

    def f(*xs):
        return fn(*xs, **params)

    out = f(*args)
    k = 3
    tangents = tuple(rng.standard_normal((k, *a.shape)) for a in args)
    _, batched = jvp_batched(f, args, tangents, batch=1)
    for i in range(k):
        _, single = ad.jvp(f, args, tuple(t[i] for t in tangents))
        np.testing.assert_allclose(batched[i], single, atol=1e-12)
    cts = rng.standard_normal((k, *np.shape(out)))
    pullback = vjp_fn(f, *args)[1]
    rows = pullback.batched(cts)
    for i in range(k):
        for got, want in zip(rows, pullback(cts[i])):
            np.testing.assert_allclose(got[i], want, atol=1e-12)


# ---- max pooling ---------------------------------------------------------------------------


POOL_CASES = [
    ((2, 3, 7, 6), 2, None, 0, False),
    ((1, 2, 9, 9), 3, 2, 1, False),
    ((1, 2, 8, 7), (2, 3), (2, 1), (1, 1), False),
    ((1, 1, 7, 7), 3, 2, 1, True),
    ((1, 1, 6, 6), 2, 2, 0, True),
    ((3, 5, 5), 2, 1, 1, False),
]


@pytest.mark.parametrize(("xs", "k", "s", "p", "ceil"), POOL_CASES)
def test_max_pool2d_matches_loops(rng, xs, k, s, p, ceil):
    x = rng.standard_normal(xs)
    np.testing.assert_allclose(
        ad.max_pool2d(x, k, s, p, ceil), pool_naive(x, k, s, p, ceil, "max"), atol=0
    )


def test_max_pool2d_ties_go_to_the_first_element():
    x = np.ones((1, 1, 4, 4))
    g = ad.grad(lambda x: ad.sum(ad.max_pool2d(x, 2)))(x)
    want = np.zeros((4, 4))
    want[::2, ::2] = 1.0  # the top-left element of every 2×2 window
    np.testing.assert_array_equal(g[0, 0], want)
    # overlapping windows (stride 1) on a plateau: each window's first element collects
    x = np.array([[[[0.0, 5.0, 5.0], [5.0, 5.0, 0.0]]]])
    g = ad.grad(lambda x: ad.sum(ad.max_pool2d(x, 2, 1)))(x)
    np.testing.assert_array_equal(g[0, 0], [[0.0, 2.0, 0.0], [0.0, 0.0, 0.0]])
    # forward mode picks the same element
    _, t = ad.jvp(lambda x: ad.max_pool2d(x, 2, 1), (x,), (np.arange(6.0).reshape(x.shape),))
    np.testing.assert_array_equal(t[0, 0], [[1.0, 1.0]])


def test_max_pool2d_gradient_routes_to_the_argmax(rng):
    x = rng.permutation(36).reshape(1, 1, 6, 6).astype(float)
    g = rng.standard_normal((1, 1, 3, 3))
    (gx,) = ad.vjp(lambda x: ad.max_pool2d(x, 2), x)[1](g)
    want = np.zeros_like(x)
    for i in range(3):
        for j in range(3):
            win = x[0, 0, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
            r, c = np.unravel_index(np.argmax(win), (2, 2))
            want[0, 0, 2 * i + r, 2 * j + c] = g[0, 0, i, j]
    np.testing.assert_array_equal(gx, want)


def test_max_pool2d_check_grads(rng):
    x = rng.permutation(50).reshape(1, 2, 5, 5) * 0.1
    ad.check_grads(lambda x: ad.max_pool2d(x, 3, 2, 1), (x,), order=2)


def test_max_pool2d_padding_must_be_at_most_half_the_kernel():
    with pytest.raises(ValueError, match="pad should be at most half"):
        ad.max_pool2d(np.zeros((1, 1, 4, 4)), 2, 1, 2)


# ---- average pooling -----------------------------------------------------------------------


@pytest.mark.parametrize(("xs", "k", "s", "p", "ceil"), POOL_CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_matches_loops(rng, xs, k, s, p, ceil, count_include_pad):
    x = rng.standard_normal(xs)
    got = ad.avg_pool2d(x, k, s, p, ceil, count_include_pad)
    want = pool_naive(x, k, s, p, ceil, "avg", count_include_pad)
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_avg_pool2d_divisor_override(rng):
    x = rng.standard_normal((1, 1, 4, 4))
    got = ad.avg_pool2d(x, 2, divisor_override=3)
    np.testing.assert_allclose(got, pool_naive(x, 2, kind="avg") * 4 / 3, atol=1e-12)


@pytest.mark.parametrize(
    ("xs", "out"),
    [((1, 3, 8, 8), 1), ((1, 3, 8, 8), (2, 4)), ((2, 3, 7, 5), (3, 2)), ((1, 1, 3, 3), 5),
     ((2, 5, 7), (None, 3))],
)  # fmt: skip
def test_adaptive_avg_pool2d_matches_loops(rng, xs, out):
    x = rng.standard_normal(xs)
    size = (out, out) if isinstance(out, int) else tuple(n if o is None else o
                                                         for o, n in zip(out, xs[-2:]))  # fmt: skip
    np.testing.assert_allclose(ad.adaptive_avg_pool2d(x, out), adaptive_naive(x, size), atol=1e-12)


def test_adaptive_avg_pool2d_to_one_is_the_spatial_mean(rng):
    x = rng.standard_normal((2, 4, 5, 3))
    np.testing.assert_allclose(
        ad.adaptive_avg_pool2d(x, 1), x.mean(axis=(-2, -1), keepdims=True), atol=1e-12
    )
    g = ad.grad(lambda x: ad.sum(ad.adaptive_avg_pool2d(x, 1)))(x)
    np.testing.assert_allclose(g, np.full(x.shape, 1 / 15))


def test_pooling_check_grads(rng):
    x = rng.standard_normal((1, 2, 5, 5))
    ad.check_grads(lambda x: ad.avg_pool2d(x, 3, 2, 1, False, False), (x,), order=2)
    ad.check_grads(lambda x: ad.adaptive_avg_pool2d(x, (2, 3)), (x,), order=2)


# ---- dtypes, errors, the Tensor facade ---------------------------------------------------------


def test_float32_stays_float32(rng):
    x = rng.standard_normal((1, 2, 6, 6)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)

    def f(x, w):
        h = ad.max_pool2d(ad.conv2d(x, w, padding=1), 2)
        a = ad.avg_pool2d(h, 2)
        return ad.sum(a * a) + ad.sum(ad.log_softmax(h, axis=1)) + ad.mse_loss(a, a * 0.5)

    value, (gx, gw) = ad.value_and_grad(f, argnums=(0, 1))(x, w)
    assert value.dtype == gx.dtype == gw.dtype == np.float32


def test_conv2d_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match="expects input to have 2 channels"):
        ad.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((4, 2, 3, 3)))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        ad.conv2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="at least 4 dimensions"):
        ad.conv2d(np.zeros((1, 5, 5)), np.zeros((1, 1, 3, 3)))


def test_tensor_facade_records_conv_and_pool(rng):
    x = ad.tensor(rng.standard_normal((1, 2, 6, 6)), requires_grad=True)
    w = ad.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    y = ad.conv2d(x, w, padding=1)
    assert y.grad_fn.name() == "Conv2dBackward0"
    z = ad.max_pool2d(y, 2)
    z.sum().backward()
    gx, gw = ad.grad(lambda x, w: ad.sum(ad.max_pool2d(ad.conv2d(x, w, padding=1), 2)),
                     argnums=(0, 1))(x.detach().numpy(), w.detach().numpy())  # fmt: skip
    np.testing.assert_allclose(x.grad.numpy(), gx, atol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), gw, atol=1e-12)


def test_tensor_double_backward_through_conv(rng):
    x = ad.tensor(rng.standard_normal((1, 1, 4, 4)), requires_grad=True)
    w = ad.tensor(rng.standard_normal((1, 1, 2, 2)), requires_grad=True)
    y = (ad.conv2d(x, w) ** 2).sum()
    (gw,) = ad.autograd.grad(y, w, create_graph=True)
    gw.sum().backward()  # d/dx Σ ∂y/∂w
    xs, ws = x.detach().numpy(), w.detach().numpy()
    want = ad.grad(lambda x: ad.sum(ad.grad(lambda w: ad.sum(ad.conv2d(x, w) ** 2))(ws)))(xs)
    np.testing.assert_allclose(x.grad.numpy(), want, atol=1e-12)
