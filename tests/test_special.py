"""scipy.special with derivatives: its ufuncs on traced values, ``autodiff.special``, conventions,
and the clear error when SciPy is missing."""

import math
import subprocess
import sys

import numpy as np
import pytest

import autodiff as ad
from autodiff import functions, numpy_api

sc = pytest.importorskip("scipy.special")

POS = np.array([0.4, 1.3, 3.7])
REAL = np.array([-1.2, 0.3, 2.1])
UNIT = np.array([-0.7, 0.05, 0.6])
OPEN = np.array([0.15, 0.5, 0.85])

UFUNCS = [
    ("erf", (REAL,)), ("erfc", (REAL,)), ("erfinv", (UNIT,)), ("gammaln", (POS,)),
    ("digamma", (POS,)), ("xlogy", (REAL, POS)), ("xlog1py", (REAL, POS)), ("expit", (REAL,)),
    ("logit", (OPEN,)), ("ndtr", (REAL,)), ("log_ndtr", (REAL,)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args"), UFUNCS, ids=[n for n, _ in UFUNCS])
def test_scipy_ufunc_on_traced_values_is_differentiated(name, args):
    fn = getattr(sc, name)
    out, _ = ad.jvp(fn, args, tuple(np.ones_like(a) for a in args))
    np.testing.assert_array_equal(out, fn(*args))  # SciPy's own values
    np.testing.assert_array_equal(getattr(ad.special, name)(*args), fn(*args))
    ad.check_grads(fn, args, order=2)


@pytest.mark.parametrize(("name", "args"), UFUNCS, ids=[n for n, _ in UFUNCS])
def test_special_functions_live_in_ad_special_and_keep_float32(name, args):
    public = getattr(ad.special, name)
    assert getattr(functions, name) is public  # rules call them as anp.<name>
    assert getattr(ad, name, None) is not public  # not in the root namespace
    args32 = tuple(a.astype(np.float32) for a in args)
    assert public(*args32).dtype == np.float32
    g = ad.grad(lambda *xs: public(*xs).sum())(*args32)
    assert g.dtype == np.float32


def test_known_derivatives():
    x = np.array([0.2, 1.5])
    np.testing.assert_allclose(
        ad.grad(lambda x: sc.erf(x).sum())(x), 2 / math.sqrt(math.pi) * np.exp(-x * x)
    )
    np.testing.assert_allclose(ad.grad(lambda x: sc.gammaln(x).sum())(x), sc.psi(x))
    np.testing.assert_allclose(ad.grad(lambda x: sc.digamma(x).sum())(x), sc.polygamma(1, x))
    np.testing.assert_allclose(ad.grad(ad.grad(sc.digamma))(1.5), sc.polygamma(2, 1.5))
    u = np.array([-0.5, 0.9])
    np.testing.assert_allclose(
        ad.grad(lambda u: sc.erfinv(u).sum())(u), math.sqrt(math.pi) / 2 * np.exp(sc.erfinv(u) ** 2)
    )
    np.testing.assert_allclose(
        ad.grad(lambda x: sc.ndtr(x).sum())(x), np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    )


def test_polygamma_any_order():
    assert float(ad.special.polygamma(1, 1.0)) == pytest.approx(math.pi**2 / 6)
    for n in range(4):
        g = ad.grad(lambda x, n=n: ad.special.polygamma(n, x))(2.5)
        assert g == pytest.approx(sc.polygamma(n + 1, 2.5))
    assert ad.special.polygamma(1, np.float32(2.0)).dtype == np.float32
    with pytest.raises(TypeError, match="integer"):
        ad.special.polygamma(1.5, 2.0)
    ad.check_grads(lambda x: ad.special.polygamma(2, x), (POS,), order=2)


def test_log_ndtr_is_stable_in_the_left_tail():
    x = np.array([-40.0, -10.0])
    g = ad.grad(lambda x: sc.log_ndtr(x).sum())(x)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, -x, rtol=1e-2)  # φ/Φ ≈ -x far left


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_xlogy_conventions_at_zero():
    # ∂/∂x = log y also at x = 0 (the function is smooth in x there); ∂/∂y = x/y, 0 at (0, 0)
    gx, gy = ad.grad(lambda x, y: sc.xlogy(x, y).sum(), argnums=(0, 1))(
        np.array([0.0, 0.0, 2.0]), np.array([3.0, 0.0, 4.0])
    )
    np.testing.assert_array_equal(gx, [math.log(3.0), -np.inf, math.log(4.0)])
    np.testing.assert_array_equal(gy, [0.0, 0.0, 0.5])
    gx, gy = ad.grad(lambda x, y: sc.xlog1py(x, y).sum(), argnums=(0, 1))(
        np.array([0.0, 0.0]), np.array([2.0, -1.0])
    )
    np.testing.assert_array_equal(gx, [math.log(3.0), -np.inf])
    np.testing.assert_array_equal(gy, [0.0, 0.0])
    # the mixed second derivative at x = 0, y > 0 is 1/y (not lost to a mask)
    h = ad.grad(lambda x: ad.grad(lambda y: sc.xlogy(x, y), argnums=0)(2.0))(0.0)
    assert h == pytest.approx(0.5)


def test_tensor_methods_under_pytorch_names():
    t = ad.tensor([0.3, 0.8], requires_grad=True)
    (t.erf() + t.lgamma() + t.digamma() + t.logit() + t.erfinv()).sum().backward()
    x = np.array([0.3, 0.8])
    want = (2 / math.sqrt(math.pi) * np.exp(-x * x) + sc.psi(x) + sc.polygamma(1, x)
            + 1 / (x * (1 - x)) + math.sqrt(math.pi) / 2 * np.exp(sc.erfinv(x) ** 2))  # fmt: skip
    np.testing.assert_allclose(t.grad.detach().numpy(), want)


def test_scipy_ufuncs_named_like_numpy_ones_compute_the_same_function():
    # the ufunc dispatch table is keyed by name: a SciPy ufunc whose name an op serves (exp2,
    # cbrt, expm1, log1p, ...) must be the same function as that op
    x = np.array([0.3, 1.7, 2.2])
    shared = [n for n in dir(sc) if isinstance(getattr(sc, n), np.ufunc)
              and getattr(sc, n).__name__ in numpy_api._ufunc_table]  # fmt: skip
    assert {"exp2", "cbrt", "erf", "psi"} <= {getattr(sc, n).__name__ for n in shared}
    for name in shared:
        fn = getattr(sc, name)
        if fn.nin != 1 and fn.nin != 2:
            continue
        args = (x,) * fn.nin
        out, _ = ad.jvp(fn, args, tuple(np.ones_like(a) for a in args))
        np.testing.assert_allclose(out, fn(*args), rtol=1e-14, err_msg=name)
    for fn in (np.exp2, sc.exp2, np.cbrt, sc.cbrt):
        _, t = ad.jvp(fn, (x,), (np.ones_like(x),))
        np.testing.assert_allclose(t, ad.grad(lambda x, fn=fn: fn(x).sum())(x))


def test_import_autodiff_does_not_import_scipy():
    # scipy.special takes longer to import than autodiff: it is imported on first use only
    code = "import sys, autodiff; print('scipy.special' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_without_scipy_the_functions_say_they_need_it():
    code = """
import sys
sys.modules["scipy"] = None  # import scipy now raises ImportError
sys.modules["scipy.special"] = None
import numpy as np
import autodiff as ad
assert float(ad.grad(np.sin)(0.0)) == 1.0
for call in (lambda: ad.special.erf(0.5), lambda: ad.special.polygamma(1, 0.5),
             lambda: ad.grad(ad.special.gammaln)(2.0)):
    try:
        call()
    except ImportError as e:
        assert "autodiff.special." in str(e) and "needs SciPy" in str(e), e
    else:
        raise AssertionError("no ImportError")
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
