"""Every registered op through ad.compile: a replay at another point equals eager code there.

The gradient and the JVP of each op's samples are recorded at the sample, then replayed at a
nearby point (and at the sample with its signs flipped, where the op accepts it): the replay must
give eager code's numbers bit for bit, or record the function again when a guard fails. A mask or
an index that a rule computes from the values must never be baked into the program.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import autodiff as ad
from autodiff.core import bind
from autodiff.registry import ops

MULTI = "returns several arrays"  # ops with tuple results (eigh, svd, qr...): not recorded yet


def _cases():
    for op in ops():
        if op.samples is None or not op.differentiable:
            continue
        for k, (args, params) in enumerate(op.samples(np.random.default_rng(0))[:2]):
            yield pytest.param(op, args, params, id=f"{op.name}-{k}")


def _floats(args):
    return [i for i, a in enumerate(args) if np.issubdtype(np.asarray(a).dtype, np.floating)]


def _moved(args, idx, rng, scale):
    out = list(args)
    for i in idx:
        a = np.asarray(args[i])
        out[i] = a + scale * rng.standard_normal(a.shape) * np.maximum(np.abs(a), 1e-3)
    return out


def _same(a, b):
    la, lb = ad.tree.leaves(a), ad.tree.leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape and x.dtype == y.dtype
        assert np.array_equal(x, y, equal_nan=True), (x, y)


@pytest.mark.parametrize(("op", "args", "params"), list(_cases()))
def test_compiled_derivatives_replay_like_eager(op, args, params):
    full = {**op.params, **params}
    idx = _floats(args)
    if not idx:
        pytest.skip("no float argument")
    out = bind(op, list(args), full)
    if np.iscomplexobj(out):
        pytest.skip("complex output: grad needs a real loss")
    weight = np.random.default_rng(1).standard_normal(np.shape(out))

    def with_args(floats):
        xs = list(args)
        for i, v in zip(idx, floats):
            xs[i] = v
        return xs

    def loss(*floats):
        return np.sum(bind(op, with_args(floats), full) * weight)

    def tangent(*floats):
        tangents = tuple(np.ones_like(f) for f in floats)
        return ad.jvp(lambda *fs: bind(op, with_args(fs), full), floats, tangents)

    grad = ad.grad(loss, argnums=tuple(range(len(idx))))
    rng = np.random.default_rng(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn in (grad, tangent):
            compiled = ad.compile(fn, max_versions=16)
            first = [np.asarray(args[i]) for i in idx]
            try:
                _same(compiled(*first), fn(*first))
            except ad.compile.__globals__["CompileError"] as exc:
                if MULTI in str(exc):
                    pytest.skip(MULTI)
                raise
            for scale in (1e-3, 1e-2):
                point = [np.asarray(a) for a in _moved(args, idx, rng, scale)]
                point = [point[i] for i in idx]
                try:
                    want = fn(*point)
                except Exception:
                    continue  # outside the op's domain: nothing to compare
                _same(compiled(*point), want)
