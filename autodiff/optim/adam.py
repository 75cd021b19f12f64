"""Adam and AdamW with PyTorch's exact update (bias corrections, eps outside the square root)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from autodiff import functions as anp
from autodiff.autograd import no_grad
from autodiff.optim.optimizer import Optimizer
from autodiff.tensor import Tensor, zeros_like

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba), updating each parameter ``p`` at step ``t`` as ``torch.optim.Adam``::

        g ← g + weight_decay·p                          (if weight_decay ≠ 0)
        m ← β₁·m + (1 − β₁)·g,   v ← β₂·v + (1 − β₂)·g²
        p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + eps)

    ``amsgrad=True`` uses the running maximum of ``v``. Parameters without a ``.grad`` are
    skipped (and their step count does not advance).

    Examples:
        >>> import autodiff as ad
        >>> w = ad.tensor([1.0, -1.0], requires_grad=True)
        >>> opt = ad.optim.Adam([w], lr=0.1)
        >>> (w**2).sum().backward()
        >>> opt.step()                                # the first step moves by lr·sign(g)
        >>> w
        tensor([ 0.9000, -0.9000], requires_grad=True)
    """

    _decoupled = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a ``.grad``; returns ``closure()`` if given."""
        loss = self._closure(closure)
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self._update(p, group)
        return loss

    def _update(self, p: Tensor, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay = group["weight_decay"]
        grad = p.grad.detach()
        if group["maximize"]:
            grad = -grad
        state = self.state.setdefault(p, {})
        if not state:
            state["step"] = 0
            state["exp_avg"] = zeros_like(p)
            state["exp_avg_sq"] = zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = zeros_like(p)
        state["step"] += 1
        step = state["step"]
        if weight_decay != 0:
            if self._decoupled:
                p.mul_(1 - lr * weight_decay)
            else:
                grad = grad + p * weight_decay
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        # m.lerp_(g, 1 − β₁), with torch's lerp formula
        weight = 1 - beta1
        if weight < 0.5:
            exp_avg.add_((grad - exp_avg) * weight)
        else:
            exp_avg.copy_(grad - (grad - exp_avg) * (1 - weight))
        exp_avg_sq.mul_(beta2).add_(grad * grad * (1 - beta2))
        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = math.sqrt(1 - beta2**step)
        step_size = lr / bias_correction1
        if group["amsgrad"]:
            state["max_exp_avg_sq"].copy_(anp.maximum(state["max_exp_avg_sq"], exp_avg_sq))
            second = state["max_exp_avg_sq"]
        else:
            second = exp_avg_sq
        denom = second.sqrt() / bias_correction2_sqrt + eps
        p.add_(exp_avg / denom * -step_size)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), like ``torch.optim.AdamW``:
    ``p ← p·(1 − lr·weight_decay)`` before the Adam step; ``weight_decay`` defaults to 0.01.

    Examples:
        >>> import autodiff as ad
        >>> w = ad.tensor([1.0], requires_grad=True)
        >>> opt = ad.optim.AdamW([w], lr=0.1, weight_decay=0.5)
        >>> (w * 0).sum().backward()                  # zero gradient: only the decay acts
        >>> opt.step()
        >>> w
        tensor([0.9500], requires_grad=True)
    """

    _decoupled = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
