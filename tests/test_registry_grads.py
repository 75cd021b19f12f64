"""Every registered op, through check_grads, in both modes, to second order (float64)."""

import numpy as np
import pytest

import autodiff as ad
from autodiff import core
from autodiff.core import bind
from autodiff.registry import composites, ops

ALL = ops()
COMPOSITES = composites()


def _call(op, params):
    # bind, not the public function: some publics (where, einsum) order their arguments as NumPy does
    full = {**op.params, **params}
    return lambda *xs: bind(op, xs, full)


def _cases():
    for op in ALL:
        if op.samples is None:
            continue
        for k, (args, params) in enumerate(op.samples(np.random.default_rng(0))):
            yield pytest.param(op, args, params, id=f"{op.name}-{k}")


def test_every_op_has_rules_and_samples():
    problems = []
    for op in ALL:
        if op.differentiable and (op.jvp is None or op.vjp is None):
            problems.append(f"{op.name}: missing {'JVP' if op.jvp is None else 'VJP'} rule")
        if op.samples is None or not op.samples(np.random.default_rng(0)):
            problems.append(f"{op.name}: no samples for the gradient checks")
        if not op.jvp_formula or not op.vjp_formula:
            problems.append(f"{op.name}: no formula for the docs")
    assert not problems, "\n".join(problems)


def test_zero_size_inputs_are_covered():
    names = {
        op.name
        for op in ALL
        for args, _ in (op.samples(np.random.default_rng(0)) if op.samples else [])
        if any(np.asarray(a).size == 0 for a in args)
    }
    assert names, "no op is checked on a zero-size input"


@pytest.mark.parametrize(("op", "args", "params"), list(_cases()))
def test_check_grads(op, args, params):
    f = _call(op, params)
    if not op.differentiable:
        _, t = ad.jvp(f, args, tuple(np.ones_like(a) for a in args))
        assert np.all(t == 0)
        return
    ad.check_grads(f, args, modes=("fwd", "rev"), order=2)


@pytest.mark.parametrize(("op", "args", "params"), [c for c in _cases() if c.values[0].keeps])
def test_check_grads_with_a_lean_tape(op, args, params, monkeypatch):
    # the tape drops large values that no rule reads; make every value "large" so the rules are
    # checked against a tape that kept only what they read
    monkeypatch.setattr(core, "LEAN_MIN_SIZE", 0)
    ad.check_grads(_call(op, params), args, modes=("fwd", "rev"), order=2)


def _composite_cases():
    for comp in COMPOSITES:
        for k, (args, params) in enumerate(
            comp.samples(np.random.default_rng(0)) if comp.samples else []
        ):
            yield pytest.param(comp, args, params, id=f"{comp.name}-{k}")


def test_every_composite_has_samples():
    missing = [c.name for c in COMPOSITES if c.samples is None]
    assert not missing, f"composites without samples: {missing}"


def _with_float_leaves(fn, args, params):
    """``fn`` as a function of the float arrays in ``args`` (lists and tuples opened: ``hstack``
    takes a list), the other values held fixed; a list or tuple result (``split``) becomes one
    array, its pieces flattened and joined."""
    leaves = []

    def slot(a):
        if isinstance(a, (list, tuple)):
            return type(a)(slot(v) for v in a)
        if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.inexact):
            leaves.append(a)
            return _Leaf(len(leaves) - 1)
        return a

    tree = slot(tuple(args))

    def fill(t, xs):
        if isinstance(t, (list, tuple)):
            return type(t)(fill(v, xs) for v in t)
        return xs[t.i] if isinstance(t, _Leaf) else t

    def f(*xs):
        out = fn(*fill(tree, xs), **params)
        if isinstance(out, (list, tuple)):
            out = ad.concatenate([ad.reshape(o, (-1,)) for o in out])
        return out

    return f, tuple(leaves)


class _Leaf:
    def __init__(self, i):
        self.i = i


@pytest.mark.parametrize(("comp", "args", "params"), list(_composite_cases()))
def test_check_grads_composite(comp, args, params):
    f, leaves = _with_float_leaves(comp.fn, args, params)
    ad.check_grads(f, leaves, modes=("fwd", "rev"), order=2)


# ---- complex numbers: every op declared complex-capable, on complex samples ------------------


def _complexify(args, rng, which=None):
    """``args`` with an imaginary part added to the float arrays (all, or positions ``which``)."""

    def one(a, k):
        if isinstance(a, (list, tuple)):
            return type(a)(one(v, k) for v in a)
        if (
            isinstance(a, np.ndarray)
            and np.issubdtype(a.dtype, np.floating)
            and (which is None or k in which)
        ):
            return a + 0.5j * rng.standard_normal(a.shape)
        return a

    return tuple(one(a, k) for k, a in enumerate(args))


def _complex_cases(entries):
    for entry in entries:
        if not entry.complex or entry.samples is None:
            continue
        rng = np.random.default_rng(1)
        for k, (args, params) in enumerate(entry.samples(np.random.default_rng(0))):
            if any(np.iscomplexobj(a) for a in args if isinstance(a, np.ndarray)):
                yield pytest.param(entry, args, params, id=f"{entry.name}-{k}")  # already complex
                continue
            if params.get("dtype") is not None:
                continue  # a real dtype asked for: NumPy refuses complex input as well
            yield pytest.param(entry, _complexify(args, rng), params, id=f"{entry.name}-c{k}")
            n_float = sum(isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in args)
            if n_float > 1:  # mixed real and complex arguments: NumPy's promotion
                yield pytest.param(
                    entry, _complexify(args, rng, which={0}), params, id=f"{entry.name}-m{k}"
                )


def test_some_ops_are_complex():
    assert sum(bool(op.complex) for op in ALL) > 30


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
@pytest.mark.parametrize(("op", "args", "params"), list(_complex_cases(ALL)))
def test_check_grads_complex(op, args, params):
    f = _call(op, params)
    if not op.differentiable:
        _, t = ad.jvp(f, args, tuple(np.ones_like(a) for a in args))
        assert np.all(t == 0)
        return
    holo = op.complex == "holomorphic" and all(np.iscomplexobj(a) for a in args)
    ad.check_grads(f, args, modes=("fwd", "rev"), order=2, holomorphic=holo)


@pytest.mark.parametrize(("comp", "args", "params"), list(_complex_cases(COMPOSITES)))
def test_check_grads_composite_complex(comp, args, params):
    f, leaves = _with_float_leaves(comp.fn, args, params)
    holo = comp.complex == "holomorphic" and all(np.iscomplexobj(a) for a in leaves)
    ad.check_grads(f, leaves, modes=("fwd", "rev"), order=2, holomorphic=holo)
