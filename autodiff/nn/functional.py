"""``torch.nn.functional`` in autodiff: activations, losses, convolution, pooling, normalization.

Every function has PyTorch's name and signature (the parts of it autodiff supports; the rest
raises a clear error), and works on three kinds of input alike:

* :class:`~autodiff.tensor.Tensor` values: the result is recorded for ``.backward()``;
* plain NumPy arrays: the result is a plain array;
* traced values inside ``ad.grad``, ``ad.jvp``, ``ad.vjp``: the result is differentiated.

They are built from registered primitives (``ad.conv2d``, ``ad.max_pool2d``, ``ad.log_softmax``,
``ad.mse_loss``, ...) and a few NumPy-like ops, so every derivative, of any order and in both
modes, comes from the op registry.

Examples:
    >>> import autodiff as ad
    >>> import autodiff.nn.functional as F
    >>> x = ad.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    >>> loss = F.cross_entropy(x, ad.tensor([2]))
    >>> round(loss.item(), 4)
    0.4076
    >>> loss.backward()
    >>> x.grad
    tensor([[ 0.0900,  0.2447, -0.3348]])
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from autodiff import functions as anp
from autodiff import rng
from autodiff.autograd import no_grad
from autodiff.core import raw
from autodiff.tensor import Tensor, get_default_dtype, tensor

#: A ``Tensor``, a NumPy array, or a value traced by ``ad.grad`` / ``ad.jvp`` / ``ad.vjp``.
Array = Any
IntPair = int | tuple[int, int]

_REDUCTIONS = ("none", "mean", "sum")
_EXP_M100 = math.exp(-100.0)

__all__ = [
    "adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "conv2d", "cross_entropy", "dropout", "linear",
    "log_softmax", "max_pool2d", "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "tanh",
]  # fmt: skip


# ---- helpers ------------------------------------------------------------------------------------


def _as_array(x: Array) -> Array:
    """Tensors and traced values as they are; anything else (lists, floats) as a NumPy array."""
    return x if hasattr(x, "shape") and hasattr(x, "dtype") else np.asarray(x, dtype=float)


def _float_dtype(x: Array) -> np.dtype:
    dtype = np.dtype(x.dtype)
    return dtype if np.issubdtype(dtype, np.floating) else get_default_dtype()


def _check_reduction(reduction: str, fn: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: {reduction!r} is not a valid value for reduction; use one of "
                         f"{', '.join(map(repr, _REDUCTIONS))}")  # fmt: skip


def _reduce(loss: Array, reduction: str) -> Array:
    if reduction == "none":
        return loss
    return anp.sum(loss) if reduction == "sum" else anp.mean(loss)


def _in_place(input: Array, result: Array) -> Array:
    """``inplace=True``: write ``result`` into ``input`` where that is possible, return it."""
    if isinstance(input, Tensor):
        return input.copy_(result)
    if isinstance(input, np.ndarray) and raw(result) is result:
        np.copyto(input, result)
        return input
    return result  # traced values are immutable: the new value is the result


def _channels_view(v: Array, ndim: int) -> Array:
    """A per-channel vector ``(C,)`` shaped to broadcast against ``(N, C, ...)``."""
    return anp.reshape(v, (-1,) + (1,) * (ndim - 2))


def _implicit_dim(fn: str, ndim: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {fn} has been deprecated. Change the call to include "
        "dim=X as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


# ---- activations --------------------------------------------------------------------------------


def relu(input: Array, inplace: bool = False) -> Array:
    """``max(x, 0)`` elementwise (derivative 0 at 0, as in PyTorch).

    Examples:
        >>> import autodiff as ad, autodiff.nn.functional as F
        >>> F.relu(ad.tensor([-1.0, 0.0, 2.0]))
        tensor([0., 0., 2.])
    """
    out = anp.relu(input)
    return _in_place(input, out) if inplace else out


def sigmoid(input: Array) -> Array:
    """The logistic function ``1 / (1 + e⁻ˣ)``, elementwise.

    Examples:
        >>> import numpy as np, autodiff.nn.functional as F
        >>> F.sigmoid(np.array([0.0, 2.0])).round(4)
        array([0.5   , 0.8808])
    """
    return anp.sigmoid(input)


def tanh(input: Array) -> Array:
    """Hyperbolic tangent, elementwise.

    Examples:
        >>> import numpy as np, autodiff.nn.functional as F
        >>> F.tanh(np.array([0.0, 1.0])).round(4)
        array([0.    , 0.7616])
    """
    return anp.tanh(input)


def softmax(input: Array, dim: int | None = None, dtype: Any = None) -> Array:
    """``exp(x) / Σ exp(x)`` along ``dim``, computed stably (the registered ``softmax`` op).

    Args:
        input: any array.
        dim: the axis that sums to one. Omitting it is deprecated in PyTorch and picks axis 0
            for 0-, 1- and 3-D inputs and axis 1 otherwise, with a warning; do pass it.
        dtype: cast the input to this floating dtype first.

    Examples:
        >>> import numpy as np, autodiff.nn.functional as F
        >>> F.softmax(np.array([[1.0, 2.0, 3.0]]), dim=1).round(4)
        array([[0.09  , 0.2447, 0.6652]])
    """
    input = _as_array(input)
    if dtype is not None:
        input = anp.astype(input, np.dtype(dtype))
    if dim is None:
        dim = _implicit_dim("softmax", input.ndim)
    return anp.softmax(input, axis=dim)


def log_softmax(input: Array, dim: int | None = None, dtype: Any = None) -> Array:
    """``x - log Σ exp(x)`` along ``dim``, computed stably (the registered ``log_softmax`` op).

    Its ``grad_fn`` is ``LogSoftmaxBackward0``, as in PyTorch. ``dim`` and ``dtype`` are as for
    :func:`softmax`.

    Examples:
        >>> import numpy as np, autodiff.nn.functional as F
        >>> F.log_softmax(np.array([0.0, 0.0]), dim=0).round(4)
        array([-0.6931, -0.6931])
    """
    input = _as_array(input)
    if dtype is not None:
        input = anp.astype(input, np.dtype(dtype))
    if dim is None:
        dim = _implicit_dim("log_softmax", input.ndim)
    return anp.log_softmax(input, axis=dim)


# ---- losses -------------------------------------------------------------------------------------


def mse_loss(input: Array, target: Array, reduction: str = "mean") -> Array:
    """Mean squared error ``(input - target)²``, averaged (``"mean"``), summed or kept (``"none"``).

    The registered ``mse_loss`` primitive, differentiable in both arguments; on tensors its
    ``grad_fn`` is ``MseLossBackward0``, as in PyTorch. Different shapes broadcast, with
    PyTorch's warning.

    Examples:
        >>> import autodiff as ad, autodiff.nn.functional as F
        >>> w = ad.tensor([0.6614], requires_grad=True)
        >>> b = ad.tensor([0.2669], requires_grad=True)
        >>> z = w * ad.tensor([-0.6014]) + b
        >>> loss = F.mse_loss(z, ad.tensor([-1.0122]))
        >>> loss
        tensor(0.7767, grad_fn=<MseLossBackward0>)
        >>> loss.backward()
        >>> w.grad, b.grad
        (tensor([-1.0601]), tensor([1.7627]))
    """
    _check_reduction(reduction, "mse_loss")
    input, target = _as_array(input), _as_array(target)
    if tuple(input.shape) != tuple(target.shape):
        warnings.warn(
            f"Using a target size ({tuple(target.shape)}) that is different to the input size "
            f"({tuple(input.shape)}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=2,
        )
    return anp.mse_loss(input, target, reduction=reduction)


def _class_targets(input: Array, target: Array, fn: str) -> tuple[Array, np.ndarray, bool]:
    """Check class-index targets; return ``(input, targets, unbatched)`` with a batch axis."""
    t = np.asarray(raw(target))
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError(
            f"{fn}: class-index targets must be integers, got dtype {t.dtype}; convert them "
            "with .long() (or np.asarray(target, dtype=np.int64))"
        )
    unbatched = input.ndim == 1
    if unbatched:
        input, t = input[None], t[None]
    if input.ndim < 1 or t.shape != (input.shape[0], *input.shape[2:]):
        raise ValueError(
            f"{fn}: expected a target of shape {(input.shape[0], *input.shape[2:])} for an input "
            f"of shape {tuple(input.shape)}, got {t.shape}"
        )
    return input, t, unbatched


def nll_loss(
    input: Array,
    target: Array,
    weight: Array | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Array:
    """Negative log likelihood: ``-input[n, target[n]]`` (times ``weight[target[n]]``).

    Args:
        input: log-probabilities, ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)``.
        target: class indices (integers), ``(N,)``, ``()`` or ``(N, d1, ...)``.
        weight: one weight per class, ``(C,)``.
        ignore_index: targets with this value contribute nothing, not even to the mean's divisor.
        reduction: ``"mean"`` divides the sum by the total weight of the counted targets.

    Examples:
        >>> import numpy as np, autodiff.nn.functional as F
        >>> logp = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]]))
        >>> round(float(F.nll_loss(logp, np.array([0, 1]))), 4)    # -(ln 0.5 + ln 0.8) / 2
        0.4581
    """
    _check_reduction(reduction, "nll_loss")
    input = _as_array(input)
    x, t, unbatched = _class_targets(input, target, "nll_loss")
    C = x.shape[1]
    valid = t != ignore_index
    bad = t[valid & ((t < 0) | (t >= C))]
    if bad.size:
        raise IndexError(f"nll_loss: Target {int(bad[0])} is out of bounds (there are {C} classes)")
    safe = np.where(valid, t, 0)
    grids = np.ogrid[tuple(slice(n) for n in t.shape)] if t.ndim else []
    index = (grids[0], safe, *grids[1:])
    picked = x[index]
    mask = valid.astype(_float_dtype(x))
    w = mask if weight is None else _as_array(weight)[safe] * mask
    loss = -picked * w
    if reduction == "none":
        return loss[0] if unbatched else loss
    total = anp.sum(loss)
    return total if reduction == "sum" else total / anp.sum(w)


def cross_entropy(
    input: Array,
    target: Array,
    weight: Array | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Array:
    """Cross entropy between logits and class indices or class probabilities.

    ``log_softmax`` over the class axis (axis 1, or 0 for an unbatched ``(C,)`` input), then:

    * **integer targets** (class indices): :func:`nll_loss` of it;
    * **float targets of the input's shape** (class probabilities): ``-Σ_c target_c · logp_c``,
      whose ``"mean"`` averages over every axis but the class axis.

    ``label_smoothing = ε`` mixes the targets with the uniform distribution, as PyTorch does.

    Examples:
        >>> import numpy as np, autodiff.nn.functional as F
        >>> logits = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
        >>> round(float(F.cross_entropy(logits, np.array([0, 1]))), 4)
        0.3964
        >>> round(float(F.cross_entropy(logits, np.array([[1.0, 0, 0], [0, 1.0, 0]]))), 4)
        0.3964
    """
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    input = _as_array(input)
    class_dim = 0 if input.ndim == 1 else 1
    logp = anp.log_softmax(input, axis=class_dim)
    C = input.shape[class_dim]
    trailing = (1,) * (input.ndim - 1 - class_dim)
    w_view = None if weight is None else anp.reshape(weight, (-1, *trailing))
    t_value = np.asarray(raw(target))
    if np.issubdtype(t_value.dtype, np.floating) and t_value.shape == tuple(input.shape):
        target = _as_array(target)  # class probabilities
        if label_smoothing:
            target = target * (1.0 - label_smoothing) + label_smoothing / C
        terms = logp * target if w_view is None else logp * target * w_view
        if reduction == "mean":
            return -anp.sum(terms) / (math.prod(input.shape) / C if C else 1)
        loss = -anp.sum(terms, axis=class_dim)
        return anp.sum(loss) if reduction == "sum" else loss
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if not label_smoothing:
        return nll
    # PyTorch's smoothing term: -Σ_c w_c·logp_c per sample, zero where the target is ignored
    _, t, unbatched = _class_targets(logp, target, "cross_entropy")
    valid = t != ignore_index
    per_class = logp if w_view is None else logp * w_view
    smooth = -anp.sum(per_class, axis=class_dim)
    mask = valid.reshape(smooth.shape) if unbatched else valid
    smooth = smooth * mask.astype(_float_dtype(input))
    if reduction == "mean":
        if weight is None:
            smooth = anp.sum(smooth) / np.sum(valid)
        else:
            smooth = anp.sum(smooth) / anp.sum(_as_array(weight)[t[valid]])
    elif reduction == "sum":
        smooth = anp.sum(smooth)
    return nll * (1.0 - label_smoothing) + smooth * (label_smoothing / C)


def binary_cross_entropy(
    input: Array, target: Array, weight: Array | None = None, *, reduction: str = "mean"
) -> Array:
    """``-(y·log x + (1 - y)·log(1 - x))`` for probabilities ``x``; the logs are clamped at -100.

    Examples:
        >>> import numpy as np, autodiff.nn.functional as F
        >>> round(float(F.binary_cross_entropy(np.array([0.8, 0.4]), np.array([1.0, 0.0]))), 4)
        0.367
    """
    _check_reduction(reduction, "binary_cross_entropy")
    input, target = _as_array(input), _as_array(target)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({tuple(target.shape)}) that is different to the input size "
            f"({tuple(input.shape)}) is deprecated. Please ensure they have the same size."
        )
    values = np.asarray(raw(input))
    if values.size and (values.min() < 0 or values.max() > 1):
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1")
    # log clamped at -100, as PyTorch does, by clamping its argument at e⁻¹⁰⁰: the same values,
    # and a finite (zero) gradient instead of 0·∞ where the input is exactly 0 or 1
    log_x = anp.log(anp.clip(input, _EXP_M100, None))
    log_1mx = anp.log(anp.clip(1.0 - input, _EXP_M100, None))
    loss = -(target * log_x + (1.0 - target) * log_1mx)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Array,
    target: Array,
    weight: Array | None = None,
    *,
    reduction: str = "mean",
    pos_weight: Array | None = None,
) -> Array:
    """Binary cross entropy of ``sigmoid(input)``, computed stably from the logits.

    ``loss = (1 - y)·x + (1 + (p - 1)·y)·log(1 + e⁻ˣ)`` with ``p = pos_weight`` (1 by default);
    ``log(1 + e⁻ˣ)`` is ``logaddexp(0, -x)``, smooth everywhere (also at ``x = 0``).

    Examples:
        >>> import numpy as np, autodiff.nn.functional as F
        >>> round(float(F.binary_cross_entropy_with_logits(np.array([0.0]), np.array([1.0]))), 4)
        0.6931
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    input, target = _as_array(input), _as_array(target)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Target size ({tuple(target.shape)}) must be the same as input size "
            f"({tuple(input.shape)})"
        )
    softplus_neg = anp.logaddexp(np.zeros((), _float_dtype(input)), -input)
    coef = 1.0 if pos_weight is None else 1.0 + (pos_weight - 1.0) * target
    loss = (1.0 - target) * input + coef * softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# ---- layers -------------------------------------------------------------------------------------


def linear(input: Array, weight: Array, bias: Array | None = None) -> Array:
    """``input @ weightᵀ + bias``, with ``weight`` of shape ``(out_features, in_features)``.

    Examples:
        >>> import numpy as np, autodiff.nn.functional as F
        >>> x, w = np.array([[1.0, 2.0]]), np.array([[1.0, 0.0], [1.0, 1.0]])
        >>> F.linear(x, w, np.array([0.5, 0.0]))
        array([[1.5, 3. ]])
    """
    out = anp.matmul(input, anp.transpose(weight))
    return out if bias is None else out + bias


def conv2d(
    input: Array,
    weight: Array,
    bias: Array | None = None,
    stride: IntPair = 1,
    padding: IntPair | str = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> Array:
    """2-D cross-correlation of ``(N, C, H, W)`` (or ``(C, H, W)``) with ``(O, C, kh, kw)`` kernels.

    The registered ``conv2d`` primitive (im2col and one matrix product), plus ``bias`` added per
    output channel. ``padding`` is an int, a pair, ``"valid"`` (none) or ``"same"`` (stride 1;
    an even kernel pads one more on the bottom/right, as PyTorch does). Only ``dilation=1`` and
    ``groups=1`` are supported.

    Examples:
        >>> import numpy as np, autodiff.nn.functional as F
        >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
        >>> F.conv2d(x, np.ones((1, 1, 2, 2)), stride=2)
        array([[[[10., 18.],
                 [42., 50.]]]])
    """
    if _pair_of(dilation) != (1, 1) or groups != 1:
        raise NotImplementedError(
            f"conv2d: dilation={dilation!r}, groups={groups!r} are not supported; autodiff's "
            "conv2d has dilation=1 and groups=1"
        )
    input = _as_array(input)
    unbatched = input.ndim == 3
    if unbatched:
        input = input[None]
    if input.ndim != 4:
        raise ValueError(
            f"conv2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
            f"{tuple(input.shape)}"
        )
    if isinstance(padding, str):
        input, padding = _string_padding(input, weight, padding, stride)
    out = anp.conv2d(input, weight, stride=stride, padding=padding)
    if bias is not None:
        out = out + _channels_view(bias, 4)
    return out[0] if unbatched else out


def _pair_of(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, (int, np.integer)) else tuple(int(a) for a in v)


def _string_padding(input: Array, weight: Array, padding: str, stride: Any) -> tuple[Array, Any]:
    if padding == "valid":
        return input, 0
    if padding != "same":
        raise ValueError(
            f"conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}"
        )
    if _pair_of(stride) != (1, 1):
        raise ValueError("conv2d: padding='same' is not supported for strided convolutions")
    kh, kw = weight.shape[-2:]
    (top, bottom), (left, right) = [((k - 1) // 2, k - 1 - (k - 1) // 2) for k in (kh, kw)]
    if top == bottom and left == right:
        return input, (top, left)
    return anp.pad(input, ((0, 0), (0, 0), (top, bottom), (left, right))), 0


def max_pool2d(
    input: Array,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Array:
    """Max over ``kernel_size`` windows of the last two axes (``stride`` defaults to the kernel).

    Padding is with ``-inf`` (at most half the kernel). The gradient goes to the first maximum of
    each window, as in PyTorch. ``dilation`` must be 1; ``return_indices`` is not supported.

    Examples:
        >>> import numpy as np, autodiff.nn.functional as F
        >>> F.max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2)
        array([[[[ 5.,  7.],
                 [13., 15.]]]])
    """
    if _pair_of(dilation) != (1, 1):
        raise NotImplementedError(f"max_pool2d: dilation={dilation!r} is not supported (only 1)")
    if return_indices:
        raise NotImplementedError("max_pool2d: return_indices=True is not supported")
    return anp.max_pool2d(_as_array(input), kernel_size, stride, padding, ceil_mode)


def avg_pool2d(
    input: Array,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Array:
    """Mean over ``kernel_size`` windows of the last two axes, with PyTorch's divisors.

    Examples:
        >>> import numpy as np, autodiff.nn.functional as F
        >>> F.avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2)
        array([[[[ 2.5,  4.5],
                 [10.5, 12.5]]]])
    """
    return anp.avg_pool2d(_as_array(input), kernel_size, stride, padding, ceil_mode,
                         count_include_pad, divisor_override)  # fmt: skip


def adaptive_avg_pool2d(input: Array, output_size: int | Sequence[int | None]) -> Array:
    """Average pooling to a fixed ``output_size`` (an int, or a pair with ``None`` = keep).

    Bin ``i`` of an axis of length ``n`` averages ``[⌊i·n/out⌋, ⌈(i+1)·n/out⌉)``, PyTorch's
    bins, so any output size works (bins overlap when ``out`` does not divide ``n``).

    Examples:
        >>> import numpy as np, autodiff.nn.functional as F
        >>> F.adaptive_avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 1)
        array([[[[7.5]]]])
    """
    if not isinstance(output_size, (int, np.integer)):
        output_size = tuple(output_size)
    return anp.adaptive_avg_pool2d(_as_array(input), output_size)


def dropout(input: Array, p: float = 0.5, training: bool = True, inplace: bool = False) -> Array:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    The mask is drawn from ``autodiff.rng``'s default generator (seed it with
    ``ad.manual_seed``); it is not bit-identical to PyTorch's, which draws through MKL. With
    ``training=False`` (or ``p=0``) the input is returned unchanged.

    Examples:
        >>> import numpy as np, autodiff as ad, autodiff.nn.functional as F
        >>> _ = ad.manual_seed(0)
        >>> out = F.dropout(np.ones(1000), p=0.25)
        >>> sorted(set(out.round(4).tolist()))
        [0.0, 1.3333]
        >>> F.dropout(np.ones(3), p=0.25, training=False)
        array([1., 1., 1.])
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    input = _as_array(input)
    dtype = _float_dtype(input)
    if p == 1.0:
        mask = np.zeros(tuple(input.shape), dtype=dtype)
    else:
        keep = rng.rand(*tuple(input.shape), dtype=dtype) < 1.0 - p
        mask = keep.astype(dtype) / dtype.type(1.0 - p)
    out = input * mask
    return _in_place(input, out) if inplace else out


def batch_norm(
    input: Array,
    running_mean: Array | None,
    running_var: Array | None,
    weight: Array | None = None,
    bias: Array | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Array:
    """Normalize each channel (axis 1) of ``(N, C, ...)`` to zero mean and unit variance.

    ``y = (x - mean) / √(var + eps) · weight + bias``. In training the statistics are the
    batch's, over every axis but 1, with the **biased** variance; the running statistics (if
    given) are updated in place with the **unbiased** one:
    ``running = (1 - momentum)·running + momentum·batch_stat``. In evaluation the running
    statistics are used. Running statistics may be tensors or NumPy arrays.

    Examples:
        >>> import numpy as np, autodiff.nn.functional as F
        >>> x = np.array([[1.0], [3.0]])
        >>> rm, rv = np.zeros(1), np.ones(1)
        >>> F.batch_norm(x, rm, rv, training=True).round(4)
        array([[-1.],
               [ 1.]])
        >>> rm, rv          # 0.1 · mean 2, 0.9 + 0.1 · unbiased variance 2
        (array([0.2]), array([1.1]))
    """
    input = _as_array(input)
    if input.ndim < 2:
        raise ValueError(
            f"batch_norm: expected an input (N, C, ...), got shape {tuple(input.shape)}"
        )
    shape = tuple(input.shape)
    axes = (0, *range(2, len(shape)))
    if training:
        n = math.prod(shape[a] for a in axes)
        if n <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size {shape}"
            )
        mean = anp.mean(input, axis=axes, keepdims=True)
        var = anp.var(input, axis=axes, keepdims=True)
        batch_mean = np.asarray(raw(mean)).reshape(-1)
        batch_var = np.asarray(raw(var)).reshape(-1) * (n / (n - 1))
        _update_running(running_mean, batch_mean, momentum)
        _update_running(running_var, batch_var, momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(
                "batch_norm: running_mean and running_var must be given when training=False"
            )
        mean = _channels_view(running_mean, len(shape))
        var = _channels_view(running_var, len(shape))
    out = (input - mean) / anp.sqrt(var + eps)
    if weight is not None:
        out = out * _channels_view(weight, len(shape))
    if bias is not None:
        out = out + _channels_view(bias, len(shape))
    return out


def _update_running(buffer: Array | None, batch_stat: np.ndarray, momentum: float) -> None:
    """``buffer ← (1 - momentum)·buffer + momentum·batch_stat``, in place, outside the graph."""
    if buffer is None:
        return
    old = np.asarray(raw(buffer))
    new = (1.0 - momentum) * old + momentum * batch_stat.astype(old.dtype)
    if isinstance(buffer, Tensor):
        with no_grad():
            buffer.copy_(tensor(new, dtype=old.dtype))
    elif isinstance(buffer, np.ndarray):
        np.copyto(buffer, new)
    else:
        raise TypeError(
            f"batch_norm: running statistics must be tensors or NumPy arrays (updated in place), "
            f"got {type(buffer).__name__}"
        )
