"""Every op's rules with a leading batch axis equal the stacked one-at-a-time results.

Batched sweeps are what vectorized Jacobians use; ops that are not ``batchable`` go through the
engine's per-entry fallback, which this test covers too.
"""

import numpy as np
import pytest

import autodiff as ad
from autodiff.core import bind
from autodiff.forward import jvp_batched
from autodiff.registry import ops

K = 3


def _cases():
    for op in ops():
        if op.samples is None or not op.differentiable:
            continue
        for k, (args, params) in enumerate(op.samples(np.random.default_rng(1))):
            if any(np.asarray(a).size == 0 for a in args):
                continue
            yield pytest.param(op, args, params, id=f"{op.name}-{k}")


@pytest.mark.parametrize(("op", "args", "params"), list(_cases()))
def test_batched_equals_stacked(op, args, params):
    full = {**op.params, **params}

    def f(*xs):
        return bind(op, xs, full)

    rng = np.random.default_rng(2)
    tangents = tuple(rng.standard_normal((K, *np.shape(a))) for a in args)
    _, batched = jvp_batched(f, tuple(args), tangents, batch=1)
    stacked = np.stack([ad.jvp(f, tuple(args), tuple(t[i] for t in tangents))[1] for i in range(K)])
    np.testing.assert_allclose(batched, stacked, rtol=1e-12, atol=1e-12)

    out, pullback = ad.vjp(f, *args)
    cts = rng.standard_normal((K, *np.shape(out)))
    rows = pullback.batched(cts)
    for i, arg_rows in enumerate(rows):
        want = np.stack([pullback(cts[k])[i] for k in range(K)])
        np.testing.assert_allclose(arg_rows, want, rtol=1e-12, atol=1e-12)
