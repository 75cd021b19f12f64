"""``BatchNorm2d``: normalise each channel by batch statistics, track running statistics.

Examples:
    >>> import autodiff as ad
    >>> from autodiff import nn
    >>> bn = nn.BatchNorm2d(64)
    >>> bn
    BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    >>> [name for name, _ in bn.named_buffers()]
    ['running_mean', 'running_var', 'num_batches_tracked']
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import Any

import numpy as np

from autodiff.nn import functional as F
from autodiff.nn import init
from autodiff.nn.layers import _empty
from autodiff.nn.module import Module
from autodiff.tensor import Tensor, get_default_dtype

__all__ = ["BatchNorm2d"]


class BatchNorm2d(Module):
    """Batch normalisation over the ``(N, H, W)`` axes of an ``(N, C, H, W)`` input.

    In training mode the batch's mean and (biased) variance normalise the input and the running
    statistics move towards them: ``running = (1 − momentum)·running + momentum·batch`` (the
    running variance uses the unbiased batch variance, as in PyTorch); ``momentum=None`` gives
    a cumulative average. In eval mode the running statistics normalise. ``weight`` starts at
    1 and ``bias`` at 0.

    Examples:
        >>> import autodiff as ad
        >>> from autodiff import nn
        >>> bn = nn.BatchNorm2d(2)
        >>> x = ad.rand(4, 2, 3, 3) * 5 + 3
        >>> y = bn(x)                                  # training mode: batch statistics
        >>> bool((y.mean(dim=(0, 2, 3)).abs() < 1e-6).all())
        True
        >>> int(bn.num_batches_tracked)
        1
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = _empty((self.num_features,), dtype)
            self.bias = _empty((self.num_features,), dtype)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            dt = get_default_dtype() if dtype is None else np.dtype(dtype)
            self.register_buffer("running_mean", Tensor(np.zeros(self.num_features, dt)))
            self.register_buffer("running_var", Tensor(np.ones(self.num_features, dt)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        """Fresh statistics, ``weight`` = 1 and ``bias`` = 0."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        if getattr(input, "ndim", None) != 4:
            raise ValueError(
                f"expected 4D input (got {getattr(input, 'ndim', '?')}D input of shape "
                f"{tuple(getattr(input, 'shape', ()))}); BatchNorm2d works on (N, C, H, W)"
            )
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm2d({self.num_features}) got an input with {input.shape[1]} channels "
                f"(shape {tuple(input.shape)})"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )

    def _load_from_state_dict(
        self,
        state_dict: Mapping[str, Any],
        prefix: str,
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        # like PyTorch: checkpoints from before num_batches_tracked existed still load
        key = prefix + "num_batches_tracked"
        if self.track_running_stats and key not in state_dict:
            state_dict = ChainMap({key: np.array(0, dtype=np.int64)}, state_dict)  # type: ignore[arg-type]
        super()._load_from_state_dict(
            state_dict, prefix, strict, missing_keys, unexpected_keys, error_msgs
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )
