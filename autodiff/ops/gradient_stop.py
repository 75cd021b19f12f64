"""``stop_gradient``: the identity on values, with no derivative.

Declared with ``differentiable=False``: the engines compute the value and hand it on without
their box, at every level, so no tangent and no cotangent flows through it, in either mode and at
any order (a Hessian through it is zero too). Transformations that are not derivatives still see
the value (the op goes through ``bind`` like any other), and the Tensor facade returns a tensor
with no history (``requires_grad=False``), like ``Tensor.detach``.
"""

from __future__ import annotations

from typing import Any

from autodiff.core import Box
from autodiff.ops import samples as S
from autodiff.registry import defop


def _identity(x: Any) -> Any:
    return x


def _samples(rng: Any) -> list:
    return [((S.real(rng, shape),), {}) for shape in S.UNARY_SHAPES]


STOP_GRADIENT = defop(
    "stop_gradient", _identity, differentiable=False, batchable=True, complex=True,
    # d stop_gradient(x) = 0
    samples=_samples,
    formula="d stop_gradient(x) = 0", vjp_formula="x̄ = 0",
    doc="The value of x, through which no derivative flows (a constant to the transforms)",
)  # fmt: skip


def stop_gradient(x: Any) -> Any:
    """The value of ``x``, treated as a constant by every derivative.

    No derivative flows through it, in forward or reverse mode, at any order: it is JAX's
    ``jax.lax.stop_gradient`` (on a ``Tensor``, it gives what ``Tensor.detach`` gives). Use it
    for a target that must not be differentiated (a TD target, a moving average), or to cut a
    term out of a derivative while keeping its value.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> x = np.array([1.0, 2.0])
        >>> ad.grad(lambda x: np.sum(x * ad.stop_gradient(x)))(x)   # x, not 2x
        array([1., 2.])
        >>> ad.hessian(lambda x: np.sum(x * ad.stop_gradient(x)))(x)
        array([[0., 0.],
               [0., 0.]])
    """
    if isinstance(x, Box):
        return x._trace.process1(STOP_GRADIENT, x)
    return x


# the public function (autodiff.stop_gradient), with its own docstring and example
STOP_GRADIENT.public = stop_gradient
stop_gradient.op = STOP_GRADIENT
