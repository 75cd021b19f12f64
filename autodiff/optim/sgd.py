"""Stochastic gradient descent with PyTorch's exact momentum, dampening, Nesterov and decay."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from autodiff.autograd import no_grad
from autodiff.optim.optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """SGD, updating each parameter ``p`` with gradient ``g`` exactly as ``torch.optim.SGD``::

        g ← g + weight_decay·p                          (if weight_decay ≠ 0)
        b ← g  (first step),  b ← momentum·b + (1 − dampening)·g   (if momentum ≠ 0)
        g ← g + momentum·b  (nesterov)  or  g ← b
        p ← p − lr·g

    Parameters whose ``.grad`` is ``None`` (frozen, or unused) are skipped.

    Examples:
        >>> import autodiff as ad
        >>> w = ad.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = ad.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> for _ in range(2):
        ...     opt.zero_grad()
        ...     (w**2).sum().backward()             # gradient 2w
        ...     opt.step()
        >>> w                                        # 0.8w, then w − 0.1(0.9·2w₀ + 2w₁)
        tensor([0.4600, 0.9200], requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a ``.grad``; returns ``closure()`` if given."""
        loss = self._closure(closure)
        with no_grad():
            for group in self.param_groups:
                lr, momentum = group["lr"], group["momentum"]
                dampening, weight_decay = group["dampening"], group["weight_decay"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad.detach()
                    if group["maximize"]:
                        grad = -grad
                    if weight_decay != 0:
                        grad = grad + p * weight_decay
                    if momentum != 0:
                        state = self.state.setdefault(p, {})
                        buf = state.get("momentum_buffer")
                        if buf is None:
                            buf = grad.clone()
                            state["momentum_buffer"] = buf
                        else:
                            buf.mul_(momentum).add_(grad, alpha=1 - dampening)
                        grad = grad + buf * momentum if group["nesterov"] else buf
                    p.add_(grad, alpha=-lr)
        return loss
