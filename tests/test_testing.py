"""autodiff.testing.check_grads: NaNs reported as NaNs, float32 checked without false failures."""

from __future__ import annotations

import contextlib
import inspect
import warnings

import numpy as np
import pytest

import autodiff as ad
from autodiff.core import bind
from autodiff.registry import defop, remove
from autodiff.testing import GradCheckError, check_grads

X32 = np.array([0.3, 0.7, 1.1], dtype=np.float32)


def test_signature_is_unchanged():
    params = list(inspect.signature(check_grads).parameters)
    assert params == ["f", "args", "modes", "order", "eps", "rtol", "atol", "seed", "holomorphic"]


@pytest.mark.parametrize(
    "f",
    [np.sin, np.exp, np.tanh, lambda x: x * x * x, lambda x: np.sum(np.log(x) * x)],
    ids=["sin", "exp", "tanh", "cube", "sum-xlogx"],
)
def test_float32_inputs_pass_to_second_order(f):
    # the old check took its central difference in float32 (eps=1e-6 under float32's rounding)
    # and failed with a relative error of about 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no warning: the difference runs in float64
        check_grads(f, (X32,), order=2)


def test_float32_matrices_and_mixed_dtypes():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 5)).astype(np.float32)
    b = rng.standard_normal((5, 3)).astype(np.float32)
    check_grads(lambda a, b: np.tanh(a @ b), (a, b), order=2)
    check_grads(lambda a, b: a @ b, (a, b.astype(np.float64)), order=2)


def test_float32_derivatives_run_in_float32():
    seen = []

    def f(x):
        seen.append(np.result_type(x))  # boxes report their primal's dtype
        return np.sin(x)

    ad.jvp(f, (X32,), (np.ones_like(X32),))
    check_grads(f, (X32,), order=1)
    assert np.dtype(np.float32) in seen and np.dtype(np.float64) in seen


def _wrong_sin(name, *, jvp_wrong):
    """An op whose JVP (or VJP) is off by 1%: every check must still catch it."""
    factor_j, factor_v = (1.01, 1.0) if jvp_wrong else (1.0, 1.01)
    return defop(
        name,
        np.sin,
        jvp=(lambda t, ans, x: t * ad.cos(x) * factor_j,),
        vjp=(lambda g, ans, x: g * ad.cos(x) * factor_v,),
        samples=None,
        formula="wrong",
        vjp_formula="wrong",
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("jvp_wrong", [True, False])
def test_a_wrong_rule_still_fails_in_both_dtypes(dtype, jvp_wrong):
    name = f"_test_wrong_sin_{np.dtype(dtype).name}_{jvp_wrong}"
    op = _wrong_sin(name, jvp_wrong=jvp_wrong)
    try:
        f = lambda x: bind(op, (x,), {})  # noqa: E731
        x = np.array([0.3, 0.7, 1.1], dtype=dtype)
        what = "central difference" if jvp_wrong else "reverse mode"
        with pytest.raises(GradCheckError, match=what):
            check_grads(f, (x,), order=1)
    finally:
        remove(name)


def test_nan_in_the_derivative_is_reported_as_nan():
    # d sqrt at 0 is inf; the central difference straddles 0 and is NaN. The old message hid it:
    # "max abs difference 4.52e-11 (relative 6.85e-10) exceeds rtol=0.0001"
    with np.errstate(all="ignore"), pytest.raises(GradCheckError) as info:
        check_grads(np.sqrt, (np.array([0.0, 1.0]),), order=1)
    msg = str(info.value)
    assert "NaN" in msg and "exceeds" not in msg
    assert "central difference (expected) is NaN in 1 of 2 entries (at 0)" in msg


def test_nan_in_the_jvp_names_the_jvp():
    name = "_test_nan_jvp"
    op = defop(name, np.sin, jvp=(lambda t, ans, x: t * ad.cos(x) * np.nan,),
               vjp=(lambda g, ans, x: g * ad.cos(x),), samples=None, formula="x",
               vjp_formula="x")  # fmt: skip
    try:
        with pytest.raises(GradCheckError, match=r"the JVP \(got\) is NaN in 2 of 2 entries"):
            check_grads(lambda x: bind(op, (x,), {}), (np.array([0.1, 0.2]),), order=1)
    finally:
        remove(name)


def test_nan_in_the_vjp_is_reported_as_nan():
    name = "_test_nan_vjp"
    op = defop(name, np.sin, jvp=(lambda t, ans, x: t * ad.cos(x),),
               vjp=(lambda g, ans, x: g * ad.cos(x) * np.nan,), samples=None, formula="x",
               vjp_formula="x")  # fmt: skip
    try:
        with pytest.raises(GradCheckError, match=r"Jᵀ·u \(reverse mode\) holds NaN"):
            check_grads(lambda x: bind(op, (x,), {}), (np.array([0.1, 0.2]),), modes=("rev",))
    finally:
        remove(name)


def test_warns_when_f_computes_in_float32_whatever_it_is_given():
    f = lambda x: np.sin(x.astype(np.float32))  # noqa: E731
    with (
        pytest.warns(RuntimeWarning, match="central difference runs in float32"),
        contextlib.suppress(GradCheckError),  # likely, as the warning says
    ):
        check_grads(f, (X32,), order=1)


def test_float64_checks_are_unchanged():
    check_grads(np.sin, (np.array([0.1, 0.2]),), order=3)
    with pytest.raises(GradCheckError, match="exceeds"):
        check_grads(lambda x: x + 1e-3 * np.sin(1e4 * x), (np.array([0.1, 0.2]),), eps=1e-3)
