"""Sample inputs for the gradient checks: shapes that broadcast, a zero-size case, valid domains.

Every op declares ``samples=...``; the registry-wide test runs ``check_grads`` on each sample in
both modes and to second order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Domain = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]

UNARY_SHAPES = [(), (3,), (2, 3), (0, 2)]
BINARY_SHAPES = [
    ((), ()),
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((2, 1), (1, 3)),
    ((), (2,)),
    ((0, 3), (3,)),
]


def real(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal values."""
    return rng.standard_normal(shape)


def positive(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values in [0.5, 2]: away from zero, for log, sqrt, reciprocal, power's base."""
    return rng.uniform(0.5, 2.0, shape)


def unit(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values in (-0.8, 0.8): inside arcsin/arccos's domain, away from its edges."""
    return rng.uniform(-0.8, 0.8, shape)


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """|x| in [0.3, 2], random sign: for abs and other kinks at zero."""
    return rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def unary(domain: Domain = real, **params) -> Callable[[np.random.Generator], list]:
    """One array argument on each of the unary shapes."""

    def samples(rng: np.random.Generator) -> list:
        return [((domain(rng, s),), dict(params)) for s in UNARY_SHAPES]

    return samples


def binary(
    domain0: Domain = real, domain1: Domain | None = None
) -> Callable[[np.random.Generator], list]:
    """Two array arguments on broadcasting shapes, including a zero-size one."""
    domain1 = domain1 or domain0

    def samples(rng: np.random.Generator) -> list:
        return [((domain0(rng, a), domain1(rng, b)), {}) for a, b in BINARY_SHAPES]

    return samples


def distinct(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values whose pairwise gaps are at least 0.1: no ties, so max/sort-like ops are smooth."""
    n = int(np.prod(shape))
    values = rng.permutation(n) * 0.37 + rng.uniform(0, 0.05, n) - n * 0.18
    return values.reshape(shape)
