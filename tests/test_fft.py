"""np.fft: values equal NumPy's, JVP = J·v and VJP = uᵀ·J (transpose, no conjugate) against the
dense Jacobian built by applying NumPy's transform to basis vectors, dispatch, conventions, errors.

The complex-input cases need the engines' complex support; the real-input cases (rfft of a real
signal, irfft, hfft and fft of real input) run on real engines.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import autodiff as ad
from autodiff import functions
from autodiff.registry import composites, get

NORMS = [None, "backward", "ortho", "forward"]
ONE_D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
REAL_INPUT_ONLY = {"rfft", "ihfft", "rfftn", "rfft2"}
ALL = [*ONE_D, "fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn", "rfftn", "irfftn"]
ALL += ["fftshift", "ifftshift"]


def _rng(*key):
    return np.random.default_rng(abs(hash(key)) % 2**32)


def _complex(rng, shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _dense(np_fn, x):
    """The op as a real-linear map at x's shape: (A, B) with op(z) = A·Re z + B·Im z, flattened
    (B is None for a real input: only A matters)."""
    n = x.size
    cols_a = [np.ravel(np_fn(np.eye(n)[j].reshape(x.shape))) for j in range(n)]
    a = np.stack(cols_a, axis=1)
    if not np.iscomplexobj(x):
        return a, None
    cols_b = [np.ravel(np_fn(1j * np.eye(n)[j].reshape(x.shape))) for j in range(n)]
    return a, np.stack(cols_b, axis=1)


def _want_jvp(a, b, v):
    v = np.ravel(v)
    return a @ v.real if b is None else a @ v.real + b @ v.imag


def _want_vjp(a, b, u):
    """uᵀ·J in JAX's convention: the transpose under the pairing Re(Σ w·z), no conjugation."""
    u = np.ravel(u)
    if b is None:
        return (u @ a).real
    return (u @ a).real - 1j * (u @ b).real


def _check_against_dense(np_fn, ad_fn, x, rng):
    a, b = _dense(np_fn, x)
    want_out = np_fn(x)
    v = _complex(rng, x.shape) if np.iscomplexobj(x) else rng.standard_normal(x.shape)
    out, t = ad.jvp(ad_fn, (x,), (v,))
    np.testing.assert_array_equal(out, want_out)
    np.testing.assert_allclose(np.ravel(t), _want_jvp(a, b, v), rtol=1e-10, atol=1e-12)

    u = (
        _complex(rng, want_out.shape)
        if np.iscomplexobj(want_out)
        else rng.standard_normal(want_out.shape)
    )
    out, pullback = ad.vjp(ad_fn, x)
    np.testing.assert_array_equal(out, want_out)
    (ct,) = pullback(u)
    assert ct.shape == x.shape
    assert np.iscomplexobj(ct) == np.iscomplexobj(x)
    np.testing.assert_allclose(np.ravel(ct), _want_vjp(a, b, u), rtol=1e-10, atol=1e-12)


# the transform length n and the input length m along the axis: crop, pad, even, odd
ONE_D_CASES = [
    # (shape, n, axis)
    ((6,), None, -1),
    ((5,), None, -1),
    ((5,), 3, -1),
    ((4,), 7, -1),
    ((3, 4), 4, 0),
    ((2, 5), 8, 1),
    ((4, 3), 2, 0),
    ((2, 3, 2), None, 1),
    ((3,), 1, -1),
]


def _one_d_params(names=ONE_D):
    for name, (shape, n, axis), norm in itertools.product(names, ONE_D_CASES, NORMS):
        if name in ("irfft", "hfft") and n is None and shape[axis] == 1:
            continue
        yield pytest.param(name, shape, n, axis, norm, id=f"{name}-{shape}-n{n}-ax{axis}-{norm}")


@pytest.mark.parametrize(("name", "shape", "n", "axis", "norm"), list(_one_d_params()))
def test_one_dimensional_real_input_against_dense_jacobian(name, shape, n, axis, norm):
    rng = _rng(name, shape, n, axis, norm)
    x = rng.standard_normal(shape)

    def np_fn(z):
        return getattr(np.fft, name)(z, n=n, axis=axis, norm=norm)

    def ad_fn(z):
        return getattr(ad.fft, name)(z, n=n, axis=axis, norm=norm)

    _check_against_dense(np_fn, ad_fn, x, rng)


COMPLEX_INPUT = [name for name in ONE_D if name not in REAL_INPUT_ONLY]


@pytest.mark.parametrize(("name", "shape", "n", "axis", "norm"), list(_one_d_params(COMPLEX_INPUT)))
def test_one_dimensional_complex_input_against_dense_jacobian(name, shape, n, axis, norm):
    rng = _rng("c", name, shape, n, axis, norm)
    x = _complex(rng, shape)

    def np_fn(z):
        return getattr(np.fft, name)(z, n=n, axis=axis, norm=norm)

    def ad_fn(z):
        return getattr(ad.fft, name)(z, n=n, axis=axis, norm=norm)

    _check_against_dense(np_fn, ad_fn, x, rng)


ND_CASES = [
    # (name, shape, kwargs)
    ("fftn", (3, 4), {}),
    ("fftn", (2, 3, 4), {"axes": (0, 2), "norm": "ortho"}),
    ("fftn", (3, 4), {"s": (2, 6), "axes": (0, 1), "norm": "forward"}),
    ("fftn", (3, 4), {"s": (4, 2), "axes": (1, 0)}),
    ("fftn", (3, 4), {"axes": (1, 1)}),  # a repeated axis: transformed twice, as in NumPy
    ("ifftn", (3, 4), {"s": (5, 3), "axes": (0, 1), "norm": "ortho"}),
    ("rfftn", (3, 4), {}),
    ("rfftn", (3, 5), {"norm": "ortho"}),
    ("rfftn", (2, 3, 4), {"s": (3, 5), "axes": (2, 0), "norm": "forward"}),
    ("irfftn", (3, 4), {}),
    ("irfftn", (3, 3), {"s": (2, 5), "axes": (0, 1), "norm": "ortho"}),
    ("irfftn", (2, 3, 2), {"s": (4, 4), "axes": (2, 1)}),
    ("fft2", (2, 3, 4), {"norm": "ortho"}),
    ("ifft2", (3, 4), {"s": (2, 5)}),
    ("rfft2", (3, 4), {"s": (3, 3), "norm": "forward"}),
    ("irfft2", (3, 4), {"s": (3, 7)}),
    ("fftshift", (4, 5), {}),
    ("fftshift", (2, 3, 5), {"axes": (0, 2)}),
    ("ifftshift", (5, 4), {"axes": 0}),
    ("ifftshift", (3, 5), {}),
]


@pytest.mark.parametrize(
    ("name", "shape", "kwargs", "kind"),
    [(*case, kind) for case in ND_CASES for kind in ("real", "complex")
     if kind == "real" or case[0] not in REAL_INPUT_ONLY],
)  # fmt: skip
def test_n_dimensional_against_dense_jacobian(name, shape, kwargs, kind):
    rng = _rng(name, shape, tuple(kwargs.items()), kind)
    x = rng.standard_normal(shape) if kind == "real" else _complex(rng, shape)
    np_fn = getattr(np.fft, name)
    ad_fn = getattr(ad.fft, name)
    _check_against_dense(lambda z: np_fn(z, **kwargs), lambda z: ad_fn(z, **kwargs), x, rng)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 8])
def test_rfft_transpose_weighs_dc_nyquist_and_pairs(n):
    # rfft's Jacobian restricted to the half spectrum: DC (and Nyquist when n is even) appear
    # once, every other bin stands for a conjugate pair; the VJP is Re(uᵀ J), not irfft(u)
    rng = _rng("halving", n)
    x = rng.standard_normal(n)
    u = _complex(rng, n // 2 + 1)
    j = np.fft.fft(np.eye(n), axis=0)[: n // 2 + 1]  # J[k, j] = ω^{kj}
    (ct,) = ad.vjp(ad.fft.rfft, x)[1](u)
    np.testing.assert_allclose(ct, (u @ j).real, rtol=1e-12, atol=1e-12)
    # irfft's transpose: every paired bin counts twice
    (ct,) = ad.vjp(lambda c: ad.fft.irfft(c, n=n), u)[1](x)
    a, b = _dense(lambda c: np.fft.irfft(c, n=n), u)
    np.testing.assert_allclose(ct, _want_vjp(a, b, x), rtol=1e-12, atol=1e-12)


def test_irfft_gradient_of_real_input_is_the_real_part():
    # a real input gets the real part of its complex cotangent (JAX's convention)
    rng = _rng("real part")
    c = rng.standard_normal(5)
    w = rng.standard_normal(8)
    g = ad.grad(lambda c: (ad.fft.irfft(c, n=8) * w).sum())(c)
    assert g.dtype == np.float64
    a, _ = _dense(lambda c: np.fft.irfft(c, n=8), c)
    np.testing.assert_allclose(g, (w @ a).real, rtol=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_numpy_dispatch_reaches_the_op(name):
    rng = _rng("dispatch", name)
    x = rng.standard_normal((4, 6))
    v = rng.standard_normal((4, 6))
    np_fn, ad_fn = getattr(np.fft, name), getattr(ad.fft, name)
    out, t = ad.jvp(np_fn, (x,), (v,))  # np.fft.<name>(Dual)
    want_out, want_t = ad.jvp(ad_fn, (x,), (v,))
    np.testing.assert_array_equal(out, np_fn(x))
    np.testing.assert_array_equal(t, want_t)
    np.testing.assert_array_equal(want_out, np_fn(x))
    assert functions.fft is ad.fft  # the namespace, not shadowed by the op fft
    assert getattr(functions.fft, name) is ad_fn
    entry = get(name) if name in ONE_D else {c.name: c for c in composites()}[name]
    assert entry.module == "fft"


def test_plain_arrays_go_straight_to_numpy():
    x = np.arange(24.0).reshape(4, 6)
    for name in ALL:
        np.testing.assert_array_equal(getattr(ad.fft, name)(x), getattr(np.fft, name)(x))
    # the public functions keep NumPy's signature on plain arrays
    np.testing.assert_array_equal(ad.fft.rfft(x, 4, 0, "ortho"), np.fft.rfft(x, 4, 0, "ortho"))


def test_float32_stays_single_precision():
    x = np.arange(6, dtype=np.float32)
    out, t = ad.jvp(ad.fft.rfft, (x,), (np.ones_like(x),))
    assert out.dtype == t.dtype == np.complex64
    g = ad.grad(lambda x: ad.fft.irfft(ad.fft.rfft(x)).sum())(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, np.ones(6), rtol=1e-6)


def test_second_order_real_to_real():
    rng = _rng("second order")
    w = rng.standard_normal(7)

    def f(x):
        # a nonlinear real function through the transforms: derivatives of the rules
        return ad.fft.hfft(ad.fft.rfft(x * x, n=6), n=7) * w

    ad.check_grads(f, (rng.standard_normal(5),), order=2)
    ad.check_grads(lambda x: ad.fft.irfftn(ad.fft.rfftn(x**3)), (rng.standard_normal((3, 4)),))
    ad.check_grads(lambda x: ad.fft.fftshift(x) ** 2, (rng.standard_normal((3, 4)),))


def test_hessian_of_a_spectral_energy():
    # E(x) = Σ hfft(rfft(x)²): a real function; forward-over-reverse equals reverse-over-reverse
    rng = _rng("hessian")
    x = rng.standard_normal(6)

    def energy(x):
        return ad.sum(ad.fft.hfft(ad.fft.rfft(x) * ad.fft.rfft(x), n=6))

    h1 = ad.jacfwd(ad.grad(energy))(x)
    h2 = ad.jacrev(ad.grad(energy))(x)
    np.testing.assert_allclose(h1, h2, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(h1, h1.T, rtol=1e-10, atol=1e-10)


def test_batched_jacobians_equal_the_dense_one():
    # jacfwd/jacrev push a stack of tangents/cotangents through the rules at once (batchable)
    rng = _rng("batched")
    c = rng.standard_normal((3, 5))
    a, _ = _dense(lambda c: np.fft.irfft(c, n=7, axis=1, norm="ortho"), c)

    def f(c):
        return ad.fft.irfft(c, n=7, axis=1, norm="ortho")

    np.testing.assert_allclose(ad.jacfwd(f)(c).reshape(a.shape), a, atol=1e-12)
    np.testing.assert_allclose(ad.jacrev(f)(c).reshape(a.shape), a, atol=1e-12)


def test_zero_size_along_another_axis():
    x = np.zeros((0, 4))
    out, t = ad.jvp(ad.fft.rfft, (x,), (x,))
    assert out.shape == t.shape == (0, 3)
    (ct,) = ad.vjp(ad.fft.irfft, np.zeros((0, 3)))[1](np.zeros((0, 4)))
    assert ct.shape == (0, 3)


def test_errors_are_numpy_s():
    x = np.arange(4.0)
    with pytest.raises(ValueError, match="Invalid norm value"):
        ad.jvp(lambda x: ad.fft.fft(x, norm="bogus"), (x,), (x,))
    with pytest.raises(ValueError, match="Invalid number of FFT data points"):
        ad.jvp(lambda x: ad.fft.fft(x, n=0), (x,), (x,))
    with pytest.raises(IndexError):  # NumPy's error for an axis out of range
        ad.jvp(lambda x: ad.fft.fft(x, axis=3), (x,), (x,))
    with pytest.raises(TypeError, match="out"):
        ad.jvp(lambda x: ad.fft.fft(x, out=np.empty(4, complex)), (x,), (x,))
    with pytest.raises(TypeError, match="rfft"):  # a real transform of complex input, as NumPy
        ad.jvp(ad.fft.rfft, (x + 1j,), (x + 0j,))
    with pytest.raises(ValueError, match="Shape and axes"):
        ad.jvp(lambda x: ad.fft.fftn(x, s=(2, 2), axes=(0,)), (x,), (x,))


def test_irfftn_default_length_and_deprecated_s_without_axes():
    x = np.arange(12.0).reshape(3, 4)
    out = ad.jvp(ad.fft.irfftn, (x,), (x,))[0]
    np.testing.assert_array_equal(out, np.fft.irfftn(x))
    with pytest.warns(DeprecationWarning):
        out = ad.jvp(lambda x: ad.fft.fftn(x, s=(3, 5)), (x,), (x,))[0]
    with pytest.warns(DeprecationWarning):
        np.testing.assert_array_equal(out, np.fft.fftn(x, s=(3, 5)))


def test_tensor_facade():
    # no Tensor methods (torch.fft holds functions); the functions take tensors
    assert not hasattr(ad.Tensor, "rfft") and not hasattr(ad.Tensor, "fftshift")
    t = ad.tensor(np.arange(6.0), requires_grad=True)
    w = np.arange(6.0) - 2
    (ad.fft.irfft(ad.fft.rfft(t)) * w).sum().backward()
    np.testing.assert_allclose(t.grad, w, atol=1e-12)


def test_sample_frequencies_follow_a_traced_spacing():
    # np.fft.fftfreq/rfftfreq compute with plain arithmetic, which boxes carry: d(k/(n·d))/dd
    d = np.array(0.5)
    out, t = ad.jvp(lambda d: np.fft.fftfreq(8, d), (d,), (np.array(1.0),))
    np.testing.assert_array_equal(out, np.fft.fftfreq(8, 0.5))
    np.testing.assert_allclose(t, -np.fft.fftfreq(8, 1.0) / 0.25)
    g = ad.grad(lambda d: np.fft.rfftfreq(8, d).sum())(d)
    np.testing.assert_allclose(g, -np.fft.rfftfreq(8, 1.0).sum() / 0.25)
