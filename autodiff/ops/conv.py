"""Neural-network primitives: 2-D convolution, pooling, softmax and the mean squared error.

Layouts are PyTorch's: images are ``(N, C, H, W)``, kernels ``(O, C, kh, kw)``; ``conv2d`` is a
cross-correlation (the kernel is not flipped), with ``groups=1`` and ``dilation=1``.

**Convolution is three primitives, closed under differentiation.** ``conv2d(x, w)`` is bilinear,
and so are its two transposes:

* ``conv2d_input_grad(g, w)``: the transposed convolution,
  ``⟨conv2d(x, w), g⟩ = ⟨x, input_grad(g, w)⟩``;
* ``conv2d_weight_grad(x, g)``: the correlation of the input with the output gradient,
  ``⟨conv2d(x, w), g⟩ = ⟨w, weight_grad(x, g)⟩``.

Each one's JVP and VJP rules are written with the three of them, so derivatives of any order stay
convolutions. The primal uses im2col: ``sliding_window_view`` of the padded input, one copy into
a ``(N, C·kh·kw, Ho·Wo)`` matrix, and one matrix product; the transposed convolution multiplies
first and then adds the ``kh·kw`` shifted slices back (col2im).

**Leading stack axes.** Every operand may carry extra leading axes, which broadcast between the
two operands like ``matmul``'s stacks (PyTorch's functions take exactly ``(N, C, H, W)``; the
extra axes are what lets the rules accept batched tangents and cotangents). A stack on one
operand only is folded into a matrix dimension (images into ``N``, kernels into ``O`` or ``C``),
so a batch of tangents costs one bigger product, not a loop.

**Pooling** works on the last two axes, whatever comes before them. ``max_pool2d`` routes the
gradient to the first maximum of each window (PyTorch's tie rule) with ``getitem`` /
``scatter_add`` at precomputed flat indices, which are themselves differentiable primitives.
``avg_pool2d`` and ``adaptive_avg_pool2d`` are separable linear maps, ``A_h · x · A_wᵀ`` with
constant averaging matrices, so their VJP is ``A_hᵀ · ḡ · A_w``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from autodiff import functions as anp
from autodiff.arrays import as_array, is_duck, zeros_like
from autodiff.core import raw, shape_of
from autodiff.ops import samples as S
from autodiff.ops.axes import batch_of, neg_axes
from autodiff.ops.indexing import _scatter, _take
from autodiff.registry import defop

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _pair(value, name: str, op: str) -> tuple[int, int]:
    """An int or a pair of ints as a pair of Python ints."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    try:
        pair = tuple(int(v) for v in value)
    except TypeError:
        pair = ()
    if len(pair) != 2:
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return pair


def _stride_pad(stride, padding, op: str) -> tuple[tuple[int, int], tuple[int, int]]:
    s, p = _pair(stride, "stride", op), _pair(padding, "padding", op)
    if min(s) < 1:
        raise ValueError(f"{op}: stride must be positive, got {stride!r}")
    if min(p) < 0:
        raise ValueError(f"{op}: padding must be non-negative, got {padding!r}")
    return s, p


def _windows(x: np.ndarray, kernel, stride, padding, fill=0.0, extra=(0, 0)) -> np.ndarray:
    """``(..., Ho, Wo, kh, kw)``: the windows of the padded last two axes, a strided view."""
    (ph, pw), (eh, ew) = padding, extra
    if ph or pw or eh or ew:
        widths = [(0, 0)] * (x.ndim - 2) + [(ph, ph + eh), (pw, pw + ew)]
        x = np.pad(x, widths, constant_values=fill)
    view = sliding_window_view(x, kernel, axis=(-2, -1))
    return view[..., :: stride[0], :: stride[1], :, :]


def _conv_out(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


def _fold(a: np.ndarray, lead: int, axis: int) -> np.ndarray:
    """Merge the ``lead`` leading stack axes of ``a`` into its core axis ``axis`` (0 or 1)."""
    if axis == 1:
        a = np.moveaxis(a, lead, 0)
    core = a.shape[lead:] if axis == 0 else a.shape[:1] + a.shape[1 + lead :]
    merged = math.prod(a.shape[axis : axis + lead + 1])
    return a.reshape(core[:axis] + (merged,) + core[axis + 1 :])


def _unfold(r: np.ndarray, stack: tuple[int, ...], axis: int) -> np.ndarray:
    """Undo :func:`_fold` on a result: split core axis ``axis`` and move the stack to the front."""
    k = len(stack)
    inner = r.shape[axis] // max(math.prod(stack), 1)
    r = r.reshape(r.shape[:axis] + stack + (inner,) + r.shape[axis + 1 :])
    return np.moveaxis(r, tuple(range(axis, axis + k)), tuple(range(k))) if axis else r


def _stacked(core, a, b, fold_a: int, out_a: int, fold_b: int, out_b: int) -> np.ndarray:
    """Apply ``core`` (on 4-D operands) over the broadcast leading stack axes of ``a`` and ``b``.

    A stack on one operand is folded into its core axis ``fold_*`` and comes out of the result's
    core axis ``out_*``; stacks on both operands fall back to a loop (rare: only mixed
    higher-order batches produce them).
    """
    la, lb = a.ndim - 4, b.ndim - 4
    if la == 0 and lb == 0:
        return core(a, b)
    if lb == 0:
        return _unfold(core(_fold(a, la, fold_a), b), a.shape[:la], out_a)
    if la == 0:
        return _unfold(core(a, _fold(b, lb, fold_b)), b.shape[:lb], out_b)
    stack = np.broadcast_shapes(a.shape[:la], b.shape[:lb])
    a = np.broadcast_to(a, stack + a.shape[la:])
    b = np.broadcast_to(b, stack + b.shape[lb:])
    outs = [core(a[i], b[i]) for i in np.ndindex(stack)]
    return np.stack(outs).reshape(stack + outs[0].shape)


def _check4(x, what: str, op: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 4:
        axes = "O, C, kh, kw" if what == "weight" else "N, C, H, W"
        raise ValueError(
            f"{op}: {what} must have at least 4 dimensions ({axes}), got shape {x.shape}; "
            "add a batch axis with x[None] for a single image"
        )
    return x


def _align(t, x, ans):
    """Give a batched tangent of ``x`` the stack axes ``ans`` has and ``x`` lacks (size 1).

    Tangents carry their batch axes in front, and stacks broadcast from the right, so without
    this a tangent's batch axis would meet the other operand's stack axis.
    """
    extra = len(shape_of(ans)) - len(shape_of(x))
    b = len(shape_of(t)) - len(shape_of(x))
    if extra <= 0 or b <= 0:
        return t
    s = shape_of(t)
    return anp.reshape(t, s[:b] + (1,) * extra + s[b:])


# --------------------------------------------------------------------------------------------
# conv2d and its two transposes
# --------------------------------------------------------------------------------------------


def _conv_core(x, w, stride, padding):
    N, C, H, W = x.shape
    O, Cw, kh, kw = w.shape
    if Cw != C:
        raise ValueError(
            f"conv2d: weight of size {list(w.shape)} expects input to have {Cw} channels, but "
            f"the input has shape {list(x.shape)} with {C} channels"
        )
    (sh, sw), (ph, pw) = stride, padding
    if H + 2 * ph < kh or W + 2 * pw < kw:
        raise ValueError(
            f"conv2d: padded input size per channel ({H + 2 * ph} x {W + 2 * pw}) is smaller "
            f"than the kernel ({kh} x {kw}); the kernel can't be greater than the input"
        )
    Ho, Wo = _conv_out(H, kh, sh, ph), _conv_out(W, kw, sw, pw)
    cols = _windows(x, (kh, kw), stride, padding).transpose(0, 1, 4, 5, 2, 3)
    cols = cols.reshape(N, C * kh * kw, Ho * Wo)  # im2col: the one copy
    out = np.matmul(w.reshape(O, C * kh * kw), cols)
    return out.reshape(N, O, Ho, Wo)


def _numpy_only(name, primal):
    """Conv and pool work on strided windows of one in-memory NumPy array: on a duck array (dask,
    CuPy) they raise a clear error naming the op instead of computing it into memory."""

    @functools.wraps(primal)
    def checked(*args, **params):
        for a in args:
            if is_duck(a):
                kind = f"{type(a).__module__.split('.')[0]}.{type(a).__name__}"
                raise TypeError(
                    f"{name} works on NumPy arrays only, but got a {kind}; convert the input "
                    f"first (for dask: x.compute()), or write the op with array functions"
                )
        return primal(*args, **params)

    return checked


def _conv2d(x, w, stride=1, padding=0):
    x, w = _check4(x, "input", "conv2d"), _check4(w, "weight", "conv2d")
    s, p = _stride_pad(stride, padding, "conv2d")
    return _stacked(lambda a, b: _conv_core(a, b, s, p), x, w, 0, 0, 0, 1)


def _input_grad_core(g, w, stride, padding, size):
    N, O, Ho, Wo = g.shape
    _, C, kh, kw = w.shape
    H, W = size
    (sh, sw), (ph, pw) = stride, padding
    dtype = np.result_type(g.dtype, w.dtype)
    cols = np.matmul(w.reshape(O, C * kh * kw).T, g.reshape(N, O, Ho * Wo))
    cols = cols.reshape(N, C, kh, kw, Ho, Wo)
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=dtype)
    if Ho and Wo:
        for i in range(kh):  # col2im: add each kernel offset's slice back where it was read
            for j in range(kw):
                xp[:, :, i : i + sh * (Ho - 1) + 1 : sh, j : j + sw * (Wo - 1) + 1 : sw] += cols[
                    :, :, i, j
                ]
    return xp[:, :, ph : ph + H, pw : pw + W] if ph or pw else xp


def _conv2d_input_grad(g, w, stride=1, padding=0, size=None):
    g = _check4(g, "output gradient", "conv2d_input_grad")
    w = _check4(w, "weight", "conv2d_input_grad")
    s, p = _stride_pad(stride, padding, "conv2d_input_grad")
    size = _pair(size, "size", "conv2d_input_grad")
    return _stacked(lambda a, b: _input_grad_core(a, b, s, p, size), g, w, 0, 0, 1, 1)


def _weight_grad_core(x, g, stride, padding, kernel):
    N, C, _, _ = x.shape
    _, O, Ho, Wo = g.shape
    kh, kw = kernel
    cols = _windows(x, kernel, stride, padding)
    if cols.shape[2:4] != (Ho, Wo):
        raise ValueError(
            f"conv2d_weight_grad: output gradient of spatial size {(Ho, Wo)} does not match the "
            f"{tuple(cols.shape[2:4])} windows of the input"
        )
    cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * kh * kw)
    gm = g.reshape(O, Ho * Wo) if N == 1 else g.transpose(1, 0, 2, 3).reshape(O, N * Ho * Wo)
    return np.matmul(gm, cols).reshape(O, C, kh, kw)


def _conv2d_weight_grad(x, g, stride=1, padding=0, kernel_size=None):
    x = _check4(x, "input", "conv2d_weight_grad")
    g = _check4(g, "output gradient", "conv2d_weight_grad")
    s, p = _stride_pad(stride, padding, "conv2d_weight_grad")
    k = _pair(kernel_size, "kernel_size", "conv2d_weight_grad")
    return _stacked(lambda a, b: _weight_grad_core(a, b, s, p, k), x, g, 1, 1, 1, 0)


def _hw(x) -> tuple[int, int]:
    return tuple(shape_of(x)[-2:])


def _input_grad(g, w, x, stride, padding):
    return anp.conv2d_input_grad(g, w, stride=stride, padding=padding, size=_hw(x))


def _weight_grad(x, g, w, stride, padding):
    return anp.conv2d_weight_grad(x, g, stride=stride, padding=padding, kernel_size=_hw(w))


def _conv_samples(rng):
    r = S.real
    return [
        ((r(rng, (1, 2, 5, 5)), r(rng, (3, 2, 3, 3))), {"stride": 1, "padding": 0}),
        ((r(rng, (2, 2, 5, 4)), r(rng, (3, 2, 3, 2))), {"stride": 2, "padding": 1}),
        ((r(rng, (1, 1, 6, 5)), r(rng, (2, 1, 3, 3))), {"stride": (2, 1), "padding": (0, 1)}),
        ((r(rng, (1, 2, 4, 4)), r(rng, (2, 2, 1, 1))), {"stride": 2, "padding": 0}),
        ((r(rng, (2, 1, 2, 4, 4)), r(rng, (3, 2, 2, 2))), {"stride": 1, "padding": 0}),  # stacks
        ((r(rng, (1, 2, 4, 4)), r(rng, (2, 3, 2, 2, 2))), {"stride": 1, "padding": 1}),  # stacks
        ((r(rng, (0, 2, 4, 4)), r(rng, (3, 2, 3, 3))), {"stride": 1, "padding": 0}),
    ]


defop(
    "conv2d", _numpy_only("conv2d", _conv2d), nargs=2, params={"stride": 1, "padding": 0}, batchable=True,
    jvp=(
        # d conv(x, w) from dx: conv(dx, w)
        lambda t, ans, x, w, stride, padding: anp.conv2d(_align(t, x, ans), w, stride=stride,
                                                         padding=padding),
        # d conv(x, w) from dw: conv(x, dw)
        lambda t, ans, x, w, stride, padding: anp.conv2d(x, _align(t, w, ans), stride=stride,
                                                         padding=padding),
    ),
    vjp=(
        # x̄ = conv_transpose(ḡ, w)
        lambda g, ans, x, w, stride, padding: _input_grad(g, w, x, stride, padding),
        # w̄ = correlate(x, ḡ)
        lambda g, ans, x, w, stride, padding: _weight_grad(x, g, w, stride, padding),
    ),
    samples=_conv_samples,
    formula="d conv(x, w) = conv(dx, w) + conv(x, dw)",
    vjp_formula="x̄ = conv_transpose(ḡ, w), w̄ = correlate(x, ḡ)",
    doc="2-D cross-correlation, NCHW input and OIHW kernel (PyTorch's conv2d without bias)",
)  # fmt: skip


def _input_grad_samples(rng):
    r = S.real
    p = {"stride": 1, "padding": 0}
    return [
        ((r(rng, (1, 3, 3, 3)), r(rng, (3, 2, 3, 3))), {**p, "size": (5, 5)}),
        ((r(rng, (2, 3, 2, 2)), r(rng, (3, 2, 3, 2))), {"stride": 2, "padding": 1, "size": (4, 3)}),
        # stride 2 leaves the last row of a 6-row input unread: its gradient is zero
        ((r(rng, (1, 2, 2, 3)), r(rng, (2, 1, 3, 3))), {"stride": 2, "padding": 0, "size": (6, 7)}),
        ((r(rng, (2, 1, 2, 2, 2)), r(rng, (2, 2, 2, 2))), {**p, "size": (3, 3)}),
    ]  # fmt: skip


defop(
    "conv2d_input_grad", _numpy_only("conv2d_input_grad", _conv2d_input_grad), nargs=2,
    params={"stride": 1, "padding": 0, "size": None}, batchable=True,
    jvp=(
        # d input_grad(g, w) from dg: input_grad(dg, w)
        lambda t, ans, g, w, **p: anp.conv2d_input_grad(_align(t, g, ans), w, **p),
        # d input_grad(g, w) from dw: input_grad(g, dw)
        lambda t, ans, g, w, **p: anp.conv2d_input_grad(g, _align(t, w, ans), **p),
    ),
    vjp=(
        # ḡ = conv(c̄, w)
        lambda c, ans, g, w, stride, padding, size: anp.conv2d(c, w, stride=stride,
                                                              padding=padding),
        # w̄ = correlate(c̄, g)
        lambda c, ans, g, w, stride, padding, size: _weight_grad(c, g, w, stride, padding),
    ),
    samples=_input_grad_samples,
    formula="d conv_transpose(g, w) = conv_transpose(dg, w) + conv_transpose(g, dw)",
    vjp_formula="ḡ = conv(c̄, w), w̄ = correlate(c̄, g)",
    doc="Transposed 2-D convolution: the input gradient of conv2d (size = the input's H, W)",
)  # fmt: skip


def _weight_grad_samples(rng):
    r = S.real
    p = {"stride": 1, "padding": 0}
    return [
        ((r(rng, (1, 2, 5, 5)), r(rng, (1, 3, 3, 3))), {**p, "kernel_size": (3, 3)}),
        ((r(rng, (2, 2, 4, 3)), r(rng, (2, 3, 2, 2))),
         {"stride": 2, "padding": 1, "kernel_size": (3, 2)}),
        ((r(rng, (2, 1, 2, 4, 4)), r(rng, (1, 2, 3, 3))), {**p, "kernel_size": (2, 2)}),
    ]  # fmt: skip


defop(
    "conv2d_weight_grad", _numpy_only("conv2d_weight_grad", _conv2d_weight_grad), nargs=2,
    params={"stride": 1, "padding": 0, "kernel_size": None}, batchable=True,
    jvp=(
        # d correlate(x, g) from dx: correlate(dx, g)
        lambda t, ans, x, g, **p: anp.conv2d_weight_grad(_align(t, x, ans), g, **p),
        # d correlate(x, g) from dg: correlate(x, dg)
        lambda t, ans, x, g, **p: anp.conv2d_weight_grad(x, _align(t, g, ans), **p),
    ),
    vjp=(
        # x̄ = conv_transpose(g, c̄)
        lambda c, ans, x, g, stride, padding, kernel_size: _input_grad(g, c, x, stride, padding),
        # ḡ = conv(x, c̄)
        lambda c, ans, x, g, stride, padding, kernel_size: anp.conv2d(x, c, stride=stride,
                                                                     padding=padding),
    ),
    samples=_weight_grad_samples,
    formula="d correlate(x, g) = correlate(dx, g) + correlate(x, dg)",
    vjp_formula="x̄ = conv_transpose(g, c̄), ḡ = conv(x, c̄)",
    doc="Correlation of an input with an output gradient: the weight gradient of conv2d",
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# pooling
# --------------------------------------------------------------------------------------------


def _pool_out(n: int, k: int, s: int, p: int, ceil_mode: bool, op: str) -> int:
    """PyTorch's pooling output size (``pooling_output_shape``, dilation 1)."""
    if p > k // 2:
        raise ValueError(
            f"{op}: pad should be at most half of the kernel size, but got pad={p} and "
            f"kernel_size={k}"
        )
    out = (n + 2 * p - k + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1  # the last window must start inside the input or the left padding
    if out < 1:
        raise ValueError(
            f"{op}: input of spatial size {n} is too small for kernel {k}, stride {s}, padding "
            f"{p}: the output size would be {out}"
        )
    return out


def _pool_params(x, kernel_size, stride, padding, ceil_mode, op):
    if len(shape_of(x)) < 2:
        raise ValueError(f"{op}: input must have at least 2 dimensions (H, W), got {shape_of(x)}")
    if kernel_size is None:
        raise TypeError(f"{op}() missing the kernel_size parameter")
    k = _pair(kernel_size, "kernel_size", op)
    s = k if stride is None or stride == () or stride == [] else _pair(stride, "stride", op)
    s, p = _stride_pad(s, padding, op)
    H, W = shape_of(x)[-2:]
    out = (_pool_out(H, k[0], s[0], p[0], ceil_mode, op),
           _pool_out(W, k[1], s[1], p[1], ceil_mode, op))  # fmt: skip
    return k, s, p, out


def _max_windows(x, kernel_size, stride, padding, ceil_mode):
    x = np.asarray(x)
    k, s, p, (Ho, Wo) = _pool_params(x, kernel_size, stride, padding, ceil_mode, "max_pool2d")
    H, W = x.shape[-2:]
    extra = (max(0, (Ho - 1) * s[0] + k[0] - H - 2 * p[0]),
             max(0, (Wo - 1) * s[1] + k[1] - W - 2 * p[1]))  # fmt: skip
    fill = -np.inf if np.issubdtype(x.dtype, np.inexact) else np.iinfo(x.dtype).min
    win = _windows(x, k, s, p, fill=fill, extra=extra)[..., :Ho, :Wo, :, :]
    return win.reshape(win.shape[:-2] + (k[0] * k[1],)), k, s, p


def _max_pool2d(x, kernel_size=None, stride=None, padding=0, ceil_mode=False):
    win = _max_windows(x, kernel_size, stride, padding, ceil_mode)[0]
    return win.max(axis=-1) if win.size else np.zeros(win.shape[:-1], win.dtype)


def max_pool2d_indices(x, kernel_size, stride=None, padding=0, ceil_mode=False) -> np.ndarray:
    """Flat indices into ``x.reshape(-1)`` of each window's first maximum (PyTorch's tie rule).

    ``np.argmax`` returns the first occurrence, and a NaN counts as the maximum, as in PyTorch.
    """
    x = np.asarray(raw(x))
    win, k, s, p = _max_windows(x, kernel_size, stride, padding, ceil_mode)
    H, W = x.shape[-2:]
    Ho, Wo = win.shape[-3:-1]
    arg = win.argmax(axis=-1) if win.size else np.zeros(win.shape[:-1], np.intp)
    rows = np.arange(Ho)[:, None] * s[0] - p[0] + arg // k[1]
    cols = np.arange(Wo)[None, :] * s[1] - p[1] + arg % k[1]
    planes = np.arange(math.prod(x.shape[:-2])).reshape(x.shape[:-2] + (1, 1)) * (H * W)
    return planes + rows * W + cols


def _max_jvp(t, ans, x, **p):
    # d maxpool(x) = dx at each window's argmax
    idx = max_pool2d_indices(x, **p)
    flat = anp.reshape(t, batch_of(t, len(shape_of(x))) + (-1,))
    return _take(flat, 1, (idx,))


def _max_vjp(g, ans, x, **p):
    # x̄ = ḡ scattered to each window's argmax (overlapping windows accumulate)
    idx = max_pool2d_indices(x, **p)
    n = math.prod(shape_of(x))
    flat = _scatter(g, (n,), (idx,), len(shape_of(ans)))
    return anp.reshape(flat, batch_of(g, len(shape_of(ans))) + tuple(shape_of(x)))


POOL = {"kernel_size": None, "stride": None, "padding": 0, "ceil_mode": False}


def _max_samples(rng):
    d = S.distinct  # gaps of 0.1 at least: no ties, so the max is smooth at the sample
    return [
        ((d(rng, (1, 2, 5, 5)),), {**POOL, "kernel_size": 2}),
        ((d(rng, (1, 2, 5, 5)),), {**POOL, "kernel_size": 3, "stride": 2, "padding": 1}),
        ((d(rng, (2, 4, 5)),), {**POOL, "kernel_size": (2, 3), "stride": (1, 2)}),
        ((d(rng, (1, 1, 5, 5)),), {**POOL, "kernel_size": 2, "ceil_mode": True}),
        ((d(rng, (0, 2, 4, 4)),), {**POOL, "kernel_size": 2}),
    ]


defop(
    "max_pool2d", _numpy_only("max_pool2d", _max_pool2d), params=POOL, batchable=True,
    jvp=(_max_jvp,),  # d maxpool(x) = dx[argmax of each window]
    vjp=(_max_vjp,),  # x̄ = scatter_add(ḡ at the argmax of each window)
    samples=_max_samples,
    formula="d maxpool(x) = dx[argmax of each window]",
    vjp_formula="x̄ = scatter_add(ḡ at each window's first argmax)",
    doc="2-D max pooling over the last two axes (padding with -inf; ties go to the first)",
)  # fmt: skip


def _avg_matrix(n, k, s, p, out, count_include_pad, dtype, scale=True):
    """``(out, n)`` matrix averaging each window of a padded axis, with PyTorch's divisors."""
    A = np.zeros((out, n), dtype=dtype)
    for i in range(out):
        start = i * s - p
        end = min(start + k, n + p)  # PyTorch's pool_size counts the padding, not beyond it
        lo, hi = max(start, 0), min(end, n)
        div = (end - start) if count_include_pad else (hi - lo)
        A[i, lo:hi] = 1.0 / div if scale else 1.0
    return A


def _float(x):
    dtype = np.asarray(raw(x)).dtype
    return dtype if np.issubdtype(dtype, np.inexact) else np.dtype(np.float64)


def _avg_matrices(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                  divisor_override, dtype):  # fmt: skip
    k, s, p, out = _pool_params(x, kernel_size, stride, padding, ceil_mode, "avg_pool2d")
    H, W = shape_of(x)[-2:]
    scale = divisor_override is None
    Ah = _avg_matrix(H, k[0], s[0], p[0], out[0], count_include_pad, dtype, scale)
    Aw = _avg_matrix(W, k[1], s[1], p[1], out[1], count_include_pad, dtype, scale)
    if not scale:
        Ah = Ah / dtype.type(divisor_override)
    return Ah, Aw


def _separable(x, Ah, Aw):
    """``Ah · x · Awᵀ`` over the last two axes."""
    return np.matmul(np.matmul(Ah, x), Aw.T)


def _avg_pool2d(x, **p):
    x = np.asarray(x)
    Ah, Aw = _avg_matrices(x, **p, dtype=_float(x))
    return _separable(x, Ah, Aw)


def _avg_vjp(g, ans, x, **p):
    # x̄ = A_hᵀ · ḡ · A_w
    Ah, Aw = _avg_matrices(x, **p, dtype=_float(g))
    return anp.matmul(anp.matmul(Ah.T, g), Aw)


AVG = {**POOL, "count_include_pad": True, "divisor_override": None}


def _avg_samples(rng):
    r = S.real
    return [
        ((r(rng, (1, 2, 5, 5)),), {**AVG, "kernel_size": 2}),
        ((r(rng, (1, 2, 5, 5)),), {**AVG, "kernel_size": 3, "stride": 2, "padding": 1}),
        ((r(rng, (2, 4, 5)),), {**AVG, "kernel_size": (2, 3), "stride": 1, "padding": (1, 1),
                                "count_include_pad": False}),
        ((r(rng, (1, 1, 5, 5)),), {**AVG, "kernel_size": 2, "ceil_mode": True,
                                   "divisor_override": 3}),
        ((r(rng, (0, 2, 4, 4)),), {**AVG, "kernel_size": 2}),
    ]  # fmt: skip


defop(
    "avg_pool2d", _numpy_only("avg_pool2d", _avg_pool2d), params=AVG, linear=True, batchable=True,
    # d avgpool(x) = avgpool(dx)   (linear: the JVP is the op on the tangent)
    vjp=(_avg_vjp,),  # x̄ = A_hᵀ · ḡ · A_w
    samples=_avg_samples,
    formula="d avgpool(x) = avgpool(dx) = A_h · dx · A_wᵀ",
    vjp_formula="x̄ = A_hᵀ · ḡ · A_w",
    doc="2-D average pooling over the last two axes (PyTorch's divisors), a separable linear map",
)  # fmt: skip


def _adaptive_matrix(n: int, out: int, dtype) -> np.ndarray:
    """PyTorch's adaptive bins: ``[floor(i·n/out), ceil((i+1)·n/out))``, averaged."""
    A = np.zeros((out, n), dtype=dtype)
    for i in range(out):
        lo, hi = (i * n) // out, -((-(i + 1) * n) // out)
        A[i, lo:hi] = 1.0 / (hi - lo)
    return A


def _adaptive_matrices(x, output_size, dtype):
    shape = shape_of(x)
    if len(shape) < 2:
        raise ValueError(f"adaptive_avg_pool2d: input must have at least 2 dimensions, got {shape}")
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size, output_size)
    if len(output_size) != 2:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got "
                         f"{output_size!r}")  # fmt: skip
    out = tuple(n if o is None else int(o) for o, n in zip(output_size, shape[-2:]))
    if min(out) < 1 or min(shape[-2:]) < 1:
        raise ValueError(f"adaptive_avg_pool2d: cannot pool spatial size {shape[-2:]} to {out}")
    return _adaptive_matrix(shape[-2], out[0], dtype), _adaptive_matrix(shape[-1], out[1], dtype)


def _adaptive_avg_pool2d(x, output_size=1):
    x = np.asarray(x)
    Ah, Aw = _adaptive_matrices(x, output_size, _float(x))
    return _separable(x, Ah, Aw)


def _adaptive_vjp(g, ans, x, output_size):
    # x̄ = A_hᵀ · ḡ · A_w
    Ah, Aw = _adaptive_matrices(x, output_size, _float(g))
    return anp.matmul(anp.matmul(Ah.T, g), Aw)


defop(
    "adaptive_avg_pool2d", _numpy_only("adaptive_avg_pool2d", _adaptive_avg_pool2d),
    params={"output_size": 1}, linear=True,
    batchable=True,
    # d adaptive_avgpool(x) = adaptive_avgpool(dx)
    vjp=(_adaptive_vjp,),  # x̄ = A_hᵀ · ḡ · A_w
    samples=lambda rng: [
        ((S.real(rng, (1, 2, 4, 4)),), {"output_size": 1}),
        ((S.real(rng, (1, 2, 4, 6)),), {"output_size": (2, 3)}),
        ((S.real(rng, (2, 5, 7)),), {"output_size": (3, None)}),  # bins overlap: 5 → 3
    ],
    formula="d adaptive_avgpool(x) = adaptive_avgpool(dx) = A_h · dx · A_wᵀ",
    vjp_formula="x̄ = A_hᵀ · ḡ · A_w",
    doc="2-D adaptive average pooling to output_size (PyTorch's bins) over the last two axes",
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# softmax, log_softmax, mse_loss
# --------------------------------------------------------------------------------------------


def _shifted(x, axis):
    """``x - max(x)`` along ``axis`` (0 where the max is not finite), the stable exponent."""
    x = as_array(x)
    if type(x) is np.ndarray:
        m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    else:  # a duck array (dask) takes no initial=
        m = np.max(x, axis=axis, keepdims=True) if x.size else zeros_like(x, (1,) * x.ndim) - np.inf
    return x - np.where(np.isfinite(m), m, 0.0).astype(x.dtype)


def _softmax(x, axis=-1):
    e = np.exp(_shifted(x, axis))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    z = _shifted(x, axis)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _ax(x, axis):
    return neg_axes(axis, len(shape_of(x)))[0]


def _softmax_samples(rng):
    r = S.real
    return [
        ((r(rng, (4,)),), {"axis": -1}),
        ((r(rng, (2, 3)),), {"axis": 0}),
        ((r(rng, (2, 3, 4)),), {"axis": 1}),
        ((r(rng, (0, 3)),), {"axis": -1}),
    ]


defop(
    "softmax", _softmax, params={"axis": -1}, batchable=True,
    jvp=(lambda t, ans, x, axis: ans * (t - anp.sum(ans * t, axis=_ax(x, axis), keepdims=True)),),
    # d softmax(x) = s·(dx - Σ s·dx)
    vjp=(lambda g, ans, x, axis: ans * (g - anp.sum(g * ans, axis=_ax(x, axis), keepdims=True)),),
    # x̄ = s·(ḡ - Σ ḡ·s)
    samples=_softmax_samples, complex="holomorphic",
    formula="d softmax(x) = s·(dx - Σ s·dx)", vjp_formula="x̄ = s·(ḡ - Σ ḡ·s)",
    doc="exp(x) / Σ exp(x) along an axis, computed stably",
    torch="softmax", torch_args={"axis": "dim"},
)  # fmt: skip
defop(
    "log_softmax", _log_softmax, params={"axis": -1}, batchable=True,
    jvp=(lambda t, ans, x, axis: t - anp.sum(anp.exp(ans) * t, axis=_ax(x, axis),
                                             keepdims=True),),  # d log_softmax(x) = dx - Σ s·dx
    vjp=(lambda g, ans, x, axis: g - anp.exp(ans) * anp.sum(g, axis=_ax(x, axis),
                                                            keepdims=True),),  # x̄ = ḡ - s·Σḡ
    samples=_softmax_samples, complex="holomorphic",
    formula="d log_softmax(x) = dx - Σ softmax(x)·dx", vjp_formula="x̄ = ḡ - softmax(x)·Σḡ",
    doc="x - log Σ exp(x) along an axis, computed stably",
    torch="log_softmax", torch_args={"axis": "dim"},
)  # fmt: skip

REDUCTIONS = ("mean", "sum", "none")


def _mse_loss(x, y, reduction="mean"):
    if reduction not in REDUCTIONS:
        raise ValueError(f"mse_loss: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    d = np.subtract(x, y)
    sq = d * d
    if reduction == "none":
        return sq
    return np.mean(sq) if reduction == "mean" else np.sum(sq)


def _mse_scale(d, reduction):
    n = math.prod(shape_of(d))
    return 2.0 / n if reduction == "mean" and n else 2.0


def _mse_jvp(sign):
    def rule(t, ans, x, y, reduction):
        # d mse = ±(2/n) Σ (x - y)·dt    (no Σ, no 1/n for reduction="none")
        d = x - y
        own = x if sign > 0 else y
        t = _align(t, own, d)
        prod = d * t * (sign * _mse_scale(d, reduction))
        if reduction == "none":
            return prod
        nd = len(shape_of(d))
        return anp.sum(prod, axis=tuple(range(-nd, 0))) if nd else prod

    return rule


def _mse_vjp(sign):
    def rule(g, ans, x, y, reduction):
        # x̄ = ḡ·(2/n)(x - y), ȳ = -x̄   (the engine sums it back to a broadcast input's shape)
        d = x - y
        if reduction != "none":
            b = batch_of(g, 0)
            g = anp.reshape(g, b + (1,) * len(shape_of(d))) if b else g
        return g * d * (sign * _mse_scale(d, reduction))

    return rule


def _mse_samples(rng):
    r = S.real
    return [
        ((r(rng, (3,)), r(rng, (3,))), {"reduction": "mean"}),
        ((r(rng, (2, 3)), r(rng, (2, 3))), {"reduction": "sum"}),
        ((r(rng, (2, 3)), r(rng, (2, 3))), {"reduction": "none"}),
        ((r(rng, (2, 3)), r(rng, (3,))), {"reduction": "mean"}),
        ((r(rng, (3,)), r(rng, (2, 3))), {"reduction": "none"}),
        ((r(rng, ()), r(rng, ())), {"reduction": "mean"}),
    ]


defop(
    "mse_loss", _mse_loss, nargs=2, params={"reduction": "mean"}, batchable=True,
    jvp=(_mse_jvp(1), _mse_jvp(-1)),  # d mse = (2/n) Σ (x - y)·(dx - dy)
    vjp=(_mse_vjp(1), _mse_vjp(-1)),  # x̄ = ḡ·(2/n)(x - y), ȳ = -x̄
    samples=_mse_samples,
    formula="d mse(x, y) = (2/n)·Σ (x - y)·(dx - dy)",
    vjp_formula="x̄ = ḡ·(2/n)·(x - y), ȳ = -x̄",
    doc="Mean squared error (x - y)² with reduction 'mean', 'sum' or 'none'",
)  # fmt: skip
