"""Second derivatives by every nesting of jacfwd / jacrev / grad, vectorized or looped.

Nested vectorized sweeps put one batch axis inside another (and indexing moves its batch axis to
the end), so these combinations are where batching bugs hide.
"""

import itertools

import numpy as np
import pytest

import autodiff as ad

W = np.random.default_rng(3).standard_normal((3, 3))

FUNCTIONS = {
    "slice-square": lambda x: np.sum(x[1:] ** 2),
    "quadratic-form": lambda x: x @ W @ x,
    "fancy-index": lambda x: np.sum(np.sin(x[np.array([0, 2, 2])]) * x[1]),
    "broadcast": lambda x: np.sum(np.tanh(x[:, None] * x[None, :])),
    "reductions": lambda x: np.max(x) * np.mean(np.exp(x)) + np.prod(x),
    "concat-stack": lambda x: np.sum(np.stack([x, x**2]) * np.concatenate([x[:1], x[1:]])),
}


def _numeric_hessian(f, x, eps=1e-5):
    g = ad.grad(f)
    cols = [(g(x + eps * e) - g(x - eps * e)) / (2 * eps) for e in np.eye(len(x))]
    return np.stack(cols, axis=1)


def _builders():
    outers = [("jacfwd", ad.jacfwd), ("jacrev", ad.jacrev)]
    inners = [("jacfwd", ad.jacfwd), ("jacrev", ad.jacrev), ("grad", ad.grad)]
    for (on, o), (i_n, i), vec in itertools.product(outers, inners, [True, False]):
        yield pytest.param(o, i, vec, id=f"{on}({i_n})-{'vec' if vec else 'loop'}")


@pytest.mark.parametrize(("outer", "inner", "vectorize"), list(_builders()))
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_hessian_by_every_nesting(name, outer, inner, vectorize):
    f = FUNCTIONS[name]
    x = np.array([0.5, 1.0, 1.5])
    inner_f = inner(f) if inner is ad.grad else inner(f, vectorize=vectorize)
    H = outer(inner_f, vectorize=vectorize)(x)
    np.testing.assert_allclose(H, _numeric_hessian(f, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(H, ad.hessian(f)(x), rtol=1e-10, atol=1e-12)
