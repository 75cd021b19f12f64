"""Discrete Fourier transforms, like ``numpy.fft``: ``ad.fft.fft(x)``, or ``np.fft.fft(x)`` on a
traced value.

Six one-dimensional primitives, ``fft``, ``ifft``, ``rfft``, ``irfft``, ``hfft`` and ``ihfft``,
each with NumPy's ``n=``, ``axis=`` and ``norm=`` (``'backward'``, ``'ortho'``, ``'forward'``).
The two- and n-dimensional transforms are composites of them that make exactly the calls NumPy's
own ``fftn``/``rfftn``/``irfftn`` make, in the same order (so the values are NumPy's, bit for
bit); ``fftshift`` and ``ifftshift`` are a ``roll``.

Every transform is linear, so its JVP is the transform of the tangent. Its VJP is its transpose
``u·J`` with no conjugation (JAX's convention, see the docs page "Complex numbers"), written with
these same transforms so that it can be differentiated again:

* ``fft`` and ``ifft`` are symmetric matrices: each is its own transpose, with the same ``norm``.
* ``n=`` crops or zero-pads the input before transforming; the transpose of cropping is
  zero-padding, and the transpose of zero-padding is cropping (:func:`_fit`).
* ``rfft`` keeps the ``n // 2 + 1`` bins of a real signal's spectrum: every bin but DC (and
  Nyquist when ``n`` is even) stands for a conjugate pair. Its transpose is
  ``Re(Σₖ ḡₖ·ωᵏʲ)``, which is ``hfft`` of ``ḡ`` with those paired bins halved; ``hfft``'s
  transpose is ``rfft`` with them doubled; likewise ``irfft`` ↔ ``ihfft`` (:func:`_pairs`).

Rules call the transforms as ``ft.<name>``, from the namespace ``functions.fft`` (which is
``autodiff.fft``), as linalg rules call ``la.<name>``: the op ``fft`` is kept out of the flat
``functions`` namespace, where its name is that of the namespace.

Tensor methods: none. PyTorch has these as functions of ``torch.fft``, not as ``Tensor`` methods;
call ``ad.fft.fft(t)`` (or ``np.fft.fft(t)``) on a ``Tensor``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from autodiff import functions as anp
from autodiff.arrays import asarray_like
from autodiff.core import raw, shape_of
from autodiff.functions import fft as ft
from autodiff.ops import samples as S
from autodiff.ops.axes import as_negative
from autodiff.ops.plain import numpy_when_plain
from autodiff.registry import defcomposite, defop

_PARAMS = {"n": None, "axis": -1, "norm": None}

# --------------------------------------------------------------------------------------------
# helpers: the axis, the transform length, cropping/padding, the Hermitian pairs
# --------------------------------------------------------------------------------------------


def _axis(x: Any, axis: int) -> int:
    """``axis`` of ``x`` counted from the end (correct with extra leading batch axes)."""
    return as_negative(axis, len(shape_of(x)))


def _length(x: Any, n: int | None, axis: int, half: bool) -> int:
    """The transform length: ``n``, or NumPy's default from ``x`` (``2·(m - 1)`` for the
    transforms whose input is a half spectrum, ``irfft`` and ``hfft``)."""
    if n is not None:
        return int(n)
    m = shape_of(x)[axis]
    return 2 * (m - 1) if half else m


def _fit(c: Any, axis: int, length: int) -> Any:
    """``c`` cropped or zero-padded to ``length`` along the negative ``axis``: NumPy's ``n=`` on an
    input, and the transpose of it (cropping and zero-padding are each other's transposes)."""
    shape = shape_of(c)
    have = shape[axis]
    if have == length:
        return c
    if have > length:
        return anp.getitem(c, index=(slice(None),) * (len(shape) + axis) + (slice(0, length),))
    width = [(0, 0)] * len(shape)
    width[axis] = (0, length - have)
    return anp.pad(c, pad_width=tuple(width))


def _pairs(n: int, axis: int, like: Any, factor: float) -> np.ndarray:
    """Weights along ``axis`` for the ``n // 2 + 1`` bins of an ``n``-point half spectrum: 1 for
    DC (and Nyquist when ``n`` is even), which stand for themselves, and ``factor`` for the other
    bins, each of which stands for a conjugate pair. A constant in ``like``'s real dtype, shaped
    to broadcast along the negative ``axis``."""
    w = np.full(n // 2 + 1, factor, dtype=np.finfo(like.dtype).dtype)
    w[0] = 1
    if n % 2 == 0:
        w[-1] = 1
    return asarray_like(w.reshape((-1,) + (1,) * (-axis - 1)), raw(like))  # like's array type


def _vjp_c2c(transform: str):
    """The VJP of ``fft``/``ifft``: the same transform (a symmetric matrix), then the transpose
    of ``n=``."""

    def rule(g, ans, x, n, axis, norm):
        a = _axis(x, axis)
        return _fit(getattr(ft, transform)(g, axis=a, norm=norm), a, shape_of(x)[a])

    return rule


def _jvp(transform: str):
    """The JVP of a linear transform: the transform of the tangent (axis counted from the end)."""

    def rule(t, ans, x, n, axis, norm):
        return getattr(ft, transform)(t, n=n, axis=_axis(x, axis), norm=norm)

    return rule


def _samples_of(rng: np.random.Generator, cases: Sequence[tuple]) -> list:
    """Real samples (the registry-wide test adds an imaginary part for the ops that take
    complex input, ``complex=True``)."""
    return [((S.real(rng, shape),), params) for shape, params in cases]


# the n=, axis= and norm= cases every one-dimensional transform is checked on
_FULL_CASES = [
    ((5,), {}),
    ((4,), {"norm": "ortho"}),
    ((2, 4), {"axis": 0, "norm": "forward"}),
    ((3, 5), {"n": 3}),  # cropped
    ((4, 2), {"n": 6, "axis": 0, "norm": "ortho"}),  # zero-padded
    ((2, 3, 4), {"axis": 1, "n": 4, "norm": "backward"}),
    ((0, 4), {}),  # zero-size along an axis that is not transformed
]
# the same for the transforms that read a half spectrum (irfft, hfft): even and odd n
_HALF_CASES = [
    ((4,), {}),  # n = 6, even
    ((4,), {"n": 7, "norm": "ortho"}),  # odd, 4 bins: nothing cropped
    ((3, 5), {"n": 5}),  # odd, cropped to 3 bins
    ((2, 3), {"n": 8, "axis": 1, "norm": "forward"}),  # even, zero-padded to 5 bins
    ((3, 2), {"axis": 0, "n": 2}),  # even: DC and Nyquist only
    ((2, 3, 4), {"axis": 1, "norm": "ortho"}),
    ((1,), {"n": 1}),  # DC only
    ((0, 3), {}),
]


def _full_samples(rng: np.random.Generator) -> list:
    return _samples_of(rng, _FULL_CASES)


def _half_samples(rng: np.random.Generator) -> list:
    return _samples_of(rng, _HALF_CASES)


# --------------------------------------------------------------------------------------------
# the one-dimensional primitives
# --------------------------------------------------------------------------------------------

_NORM_DOC = "; n= crops or zero-pads the input, norm= is 'backward', 'ortho' or 'forward'"

defop(
    "fft", lambda x, n=None, axis=-1, norm=None: np.fft.fft(x, n, axis, norm),
    params=_PARAMS, module="fft", batchable=True, complex="holomorphic", saves=(),
    jvp=(_jvp("fft"),),  # d fft(x) = fft(dx)
    vjp=(_vjp_c2c("fft"),),  # x̄ = fit(fft(ḡ)): F is symmetric
    samples=_full_samples,
    formula="d fft(x) = fft(dx)", vjp_formula="x̄ = fft(ḡ), cropped/zero-padded back to x's length",
    doc="One-dimensional discrete Fourier transform" + _NORM_DOC,
)  # fmt: skip

defop(
    "ifft", lambda x, n=None, axis=-1, norm=None: np.fft.ifft(x, n, axis, norm),
    params=_PARAMS, module="fft", batchable=True, complex="holomorphic", saves=(),
    jvp=(_jvp("ifft"),),  # d ifft(x) = ifft(dx)
    vjp=(_vjp_c2c("ifft"),),  # x̄ = fit(ifft(ḡ)): F⁻¹ is symmetric
    samples=_full_samples,
    formula="d ifft(x) = ifft(dx)",
    vjp_formula="x̄ = ifft(ḡ), cropped/zero-padded back to x's length",
    doc="One-dimensional inverse discrete Fourier transform" + _NORM_DOC,
)  # fmt: skip


def _rfft_vjp(g, ans, x, n, axis, norm):
    # x̄ⱼ = Re Σₖ ḡₖ·s·ωᵏʲ over the half spectrum = hfft(ḡ with the paired bins halved)
    a = _axis(x, axis)
    length = _length(x, n, a, half=False)
    bar = ft.hfft(anp.multiply(g, _pairs(length, a, g, 0.5)), n=length, axis=a, norm=norm)
    return _fit(bar, a, shape_of(x)[a])


defop(
    "rfft", lambda x, n=None, axis=-1, norm=None: np.fft.rfft(x, n, axis, norm),
    params=_PARAMS, module="fft", batchable=True, saves=(),  # real input only, as in NumPy
    jvp=(_jvp("rfft"),),  # d rfft(x) = rfft(dx)
    vjp=(_rfft_vjp,),
    samples=_full_samples,
    formula="d rfft(x) = rfft(dx)",
    vjp_formula="x̄ = hfft(ḡ·w, n), w = 1 at DC and Nyquist, ½ elsewhere; cropped/zero-padded",
    doc="Discrete Fourier transform of a real signal: the n // 2 + 1 non-negative frequencies"
    + _NORM_DOC,
)  # fmt: skip


def _irfft_vjp(g, ans, x, n, axis, norm):
    # x̄ₖ = Σⱼ ḡⱼ·s·m_k·e^{+2πikj/n} = ihfft(ḡ)·m, m = 1 at DC and Nyquist, 2 elsewhere
    a = _axis(x, axis)
    length = _length(x, n, a, half=True)
    bar = anp.multiply(ft.ihfft(g, axis=a, norm=norm), _pairs(length, a, g, 2.0))
    return _fit(bar, a, shape_of(x)[a])


defop(
    "irfft", lambda x, n=None, axis=-1, norm=None: np.fft.irfft(x, n, axis, norm),
    params=_PARAMS, module="fft", batchable=True, complex=True, saves=(),
    jvp=(_jvp("irfft"),),  # d irfft(x) = irfft(dx)
    vjp=(_irfft_vjp,),
    samples=_half_samples,
    formula="d irfft(x) = irfft(dx)",
    vjp_formula="x̄ = ihfft(ḡ)·m, m = 1 at DC and Nyquist, 2 elsewhere; cropped/zero-padded",
    doc="Inverse of rfft: a real signal of length n (default 2·(m - 1)) from a half spectrum"
    + _NORM_DOC,
)  # fmt: skip


def _hfft_vjp(g, ans, x, n, axis, norm):
    # x̄ₖ = Σⱼ ḡⱼ·s·m_k·ωᵏʲ = rfft(ḡ)·m, m = 1 at DC and Nyquist, 2 elsewhere
    a = _axis(x, axis)
    length = _length(x, n, a, half=True)
    bar = anp.multiply(ft.rfft(g, axis=a, norm=norm), _pairs(length, a, g, 2.0))
    return _fit(bar, a, shape_of(x)[a])


defop(
    "hfft", lambda x, n=None, axis=-1, norm=None: np.fft.hfft(x, n, axis, norm),
    params=_PARAMS, module="fft", batchable=True, complex=True, saves=(),
    jvp=(_jvp("hfft"),),  # d hfft(x) = hfft(dx)
    vjp=(_hfft_vjp,),
    samples=_half_samples,
    formula="d hfft(x) = hfft(dx)",
    vjp_formula="x̄ = rfft(ḡ)·m, m = 1 at DC and Nyquist, 2 elsewhere; cropped/zero-padded",
    doc="Discrete Fourier transform of a Hermitian-symmetric signal given by its first half: "
    "real, of length n (default 2·(m - 1))" + _NORM_DOC,
)  # fmt: skip


def _ihfft_vjp(g, ans, x, n, axis, norm):
    # x̄ⱼ = Re Σₖ ḡₖ·s·e^{+2πikj/n} over the half spectrum = irfft(ḡ with the paired bins halved)
    a = _axis(x, axis)
    length = _length(x, n, a, half=False)
    bar = ft.irfft(anp.multiply(g, _pairs(length, a, g, 0.5)), n=length, axis=a, norm=norm)
    return _fit(bar, a, shape_of(x)[a])


defop(
    "ihfft", lambda x, n=None, axis=-1, norm=None: np.fft.ihfft(x, n, axis, norm),
    params=_PARAMS, module="fft", batchable=True, saves=(),  # real input only, as in NumPy
    jvp=(_jvp("ihfft"),),  # d ihfft(x) = ihfft(dx)
    vjp=(_ihfft_vjp,),
    samples=_full_samples,
    formula="d ihfft(x) = ihfft(dx)",
    vjp_formula="x̄ = irfft(ḡ·w, n), w = 1 at DC and Nyquist, ½ elsewhere; cropped/zero-padded",
    doc="Inverse of hfft: the half spectrum (n // 2 + 1 bins) of a real signal" + _NORM_DOC,
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# the n-dimensional transforms: NumPy's own sequence of one-dimensional calls
# --------------------------------------------------------------------------------------------


def _nd_args(x: Any, s: Any, axes: Any, half: bool = False) -> tuple[list[int], list[int]]:
    """``s`` and ``axes`` completed as ``numpy.fft`` completes them (its ``_cook_nd_args``,
    deprecation warnings included)."""
    shape = shape_of(x)
    shapeless = s is None
    if shapeless:
        s = list(shape) if axes is None else [shape[a] for a in axes]
    s = list(s)
    if axes is None:
        if not shapeless:
            warnings.warn(
                "`axes` should not be `None` if `s` is not `None` (Deprecated in NumPy 2.0): "
                "pass the axes that `s` describes",
                DeprecationWarning,
                stacklevel=4,
            )
        axes = list(range(-len(s), 0))
    axes = list(axes)
    if len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    if half and shapeless:
        s[-1] = (shape[axes[-1]] - 1) * 2
    if None in s:
        warnings.warn(
            "Passing an array containing `None` values to `s` is deprecated in NumPy 2.0: pass "
            "the length, or omit `s`",
            DeprecationWarning,
            stacklevel=4,
        )
    s = [shape[a] if n == -1 else n for n, a in zip(s, axes)]
    return s, axes


def _nd_samples(half: bool = False, two: bool = False):
    """Samples of an n-dimensional transform: ``s`` that crops and pads, axes in any order."""

    def samples(rng: np.random.Generator) -> list:
        cases = [
            ((3, 4), {}),
            ((2, 3, 4), {"axes": (0, 2), "norm": "ortho"}),
            ((3, 4), {"s": (2, 5), "axes": (0, 1), "norm": "forward"}),  # crop one, pad one
            ((2, 3), {"s": (3, 5) if half else (3, 4), "axes": (1, 0)}),
            ((0, 3, 4), {"axes": (1, 2)}),
        ]
        if not two:  # one axis
            cases.append(((3, 4), {"axes": (1,), "norm": "ortho"}))
        return _samples_of(rng, cases)

    return samples


@defcomposite(module="fft", samples=_nd_samples(), complex="holomorphic")
@numpy_when_plain(np.fft.fftn)
def fftn(x: Any, s: Any = None, axes: Any = None, norm: str | None = None) -> Any:
    """N-dimensional discrete Fourier transform, like ``np.fft.fftn``: ``fft`` along each axis.


    Args:
        x: the array (complex or real).
        s: the transform length along each of ``axes`` (the input is cropped or zero-padded).
        axes: the axes to transform (default: all, or the last ``len(s)``).
        norm: ``'backward'`` (default), ``'ortho'`` or ``'forward'``.
    Examples:
        >>> import numpy as np, autodiff as ad
        >>> x = np.arange(6.0).reshape(2, 3)
        >>> ad.jvp(ad.fft.fftn, (x,), (np.ones_like(x),))[1].round(12)
        array([[6.+0.j, 0.+0.j, 0.+0.j],
               [0.+0.j, 0.+0.j, 0.+0.j]])
    """
    s, axes = _nd_args(x, s, axes)
    for n, axis in reversed(list(zip(s, axes))):
        x = ft.fft(x, n=n, axis=axis, norm=norm)
    return x


@defcomposite(module="fft", samples=_nd_samples(), complex="holomorphic")
@numpy_when_plain(np.fft.ifftn)
def ifftn(x: Any, s: Any = None, axes: Any = None, norm: str | None = None) -> Any:
    """N-dimensional inverse discrete Fourier transform, like ``np.fft.ifftn``.


    Args:
        x: the array (complex or real).
        s: the transform length along each of ``axes`` (the input is cropped or zero-padded).
        axes: the axes to transform (default: all, or the last ``len(s)``).
        norm: ``'backward'`` (default), ``'ortho'`` or ``'forward'``.
    Examples:
        >>> import numpy as np, autodiff as ad
        >>> x = np.arange(6.0).reshape(2, 3)
        >>> ad.jvp(ad.fft.ifftn, (x,), (np.ones_like(x),))[1].real.round(12)
        array([[1., 0., 0.],
               [0., 0., 0.]])
    """
    s, axes = _nd_args(x, s, axes)
    for n, axis in reversed(list(zip(s, axes))):
        x = ft.ifft(x, n=n, axis=axis, norm=norm)
    return x


@defcomposite(module="fft", samples=_nd_samples())
@numpy_when_plain(np.fft.rfftn)
def rfftn(x: Any, s: Any = None, axes: Any = None, norm: str | None = None) -> Any:
    """N-dimensional discrete Fourier transform of a real array, like ``np.fft.rfftn``: ``rfft``
    along the last of ``axes``, then ``fft`` along the others.


    Args:
        x: the array (real).
        s: the transform length along each of ``axes`` (the input is cropped or zero-padded).
        axes: the axes to transform (default: all, or the last ``len(s)``).
        norm: ``'backward'`` (default), ``'ortho'`` or ``'forward'``.
    Examples:
        >>> import numpy as np, autodiff as ad
        >>> x = np.arange(6.0).reshape(2, 3)
        >>> ad.grad(lambda x: ad.fft.irfftn(ad.fft.rfftn(x), x.shape, (0, 1)).sum())(x)
        array([[1., 1., 1.],
               [1., 1., 1.]])
    """
    s, axes = _nd_args(x, s, axes)
    x = ft.rfft(x, n=s[-1], axis=axes[-1], norm=norm)
    for n, axis in reversed(list(zip(s[:-1], axes[:-1]))):
        x = ft.fft(x, n=n, axis=axis, norm=norm)
    return x


@defcomposite(module="fft", samples=_nd_samples(half=True), complex=True)
@numpy_when_plain(np.fft.irfftn)
def irfftn(x: Any, s: Any = None, axes: Any = None, norm: str | None = None) -> Any:
    """Inverse of ``rfftn``, like ``np.fft.irfftn``: ``ifft`` along all of ``axes`` but the last,
    then ``irfft`` along the last (real output, of length ``s[-1]``, default ``2·(m - 1)``).


    Args:
        x: the array, a half spectrum along the last of ``axes``.
        s: the transform length along each of ``axes`` (the input is cropped or zero-padded;
            ``s[-1]`` is the real output's length).
        axes: the axes to transform (default: all, or the last ``len(s)``).
        norm: ``'backward'`` (default), ``'ortho'`` or ``'forward'``.
    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.fft.irfftn(np.array([[4.0, 0.0], [0.0, 0.0]])).shape
        (2, 2)
    """
    s, axes = _nd_args(x, s, axes, half=True)
    for n, axis in zip(s[:-1], axes[:-1]):
        x = ft.ifft(x, n=n, axis=axis, norm=norm)
    return ft.irfft(x, n=s[-1], axis=axes[-1], norm=norm)


@defcomposite(module="fft", samples=_nd_samples(two=True), complex="holomorphic")
@numpy_when_plain(np.fft.fft2)
def fft2(x: Any, s: Any = None, axes: Any = (-2, -1), norm: str | None = None) -> Any:
    """Two-dimensional discrete Fourier transform, like ``np.fft.fft2``: ``fftn`` over the last
    two axes.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.fft.fft2(np.ones((2, 2))).real
        array([[4., 0.],
               [0., 0.]])
    """
    return fftn(x, s, axes, norm)


@defcomposite(module="fft", samples=_nd_samples(two=True), complex="holomorphic")
@numpy_when_plain(np.fft.ifft2)
def ifft2(x: Any, s: Any = None, axes: Any = (-2, -1), norm: str | None = None) -> Any:
    """Two-dimensional inverse discrete Fourier transform, like ``np.fft.ifft2``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.fft.ifft2(np.ones((2, 2))).real
        array([[1., 0.],
               [0., 0.]])
    """
    return ifftn(x, s, axes, norm)


@defcomposite(module="fft", samples=_nd_samples(two=True))
@numpy_when_plain(np.fft.rfft2)
def rfft2(x: Any, s: Any = None, axes: Any = (-2, -1), norm: str | None = None) -> Any:
    """Two-dimensional discrete Fourier transform of a real array, like ``np.fft.rfft2``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.fft.rfft2(np.ones((2, 4))).shape
        (2, 3)
    """
    return rfftn(x, s, axes, norm)


@defcomposite(module="fft", samples=_nd_samples(half=True, two=True), complex=True)
@numpy_when_plain(np.fft.irfft2)
def irfft2(x: Any, s: Any = None, axes: Any = (-2, -1), norm: str | None = None) -> Any:
    """Inverse of ``rfft2``, like ``np.fft.irfft2``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.fft.irfft2(np.ones((2, 3))).shape
        (2, 4)
    """
    return irfftn(x, s, axes, norm)


# --------------------------------------------------------------------------------------------
# fftshift, ifftshift: a roll by half of each axis
# --------------------------------------------------------------------------------------------


def _half_shifts(x: Any, axes: Any, sign: int) -> tuple[Any, Any]:
    shape = shape_of(x)
    if axes is None:
        axes = tuple(range(len(shape)))
        return [sign * (d // 2) for d in shape], axes
    if isinstance(axes, (int, np.integer)):
        return sign * (shape[axes] // 2), axes
    return [sign * (shape[a] // 2) for a in axes], axes


def _shift_samples(rng: np.random.Generator) -> list:
    cases = [((5,), {}), ((4, 3), {}), ((4, 5), {"axes": 1}), ((2, 3, 4), {"axes": (0, 2)}),
             ((0, 3), {"axes": (1,)})]  # fmt: skip
    return _samples_of(rng, cases)


@defcomposite(module="fft", samples=_shift_samples, complex="holomorphic")
@numpy_when_plain(np.fft.fftshift)
def fftshift(x: Any, axes: Any = None) -> Any:
    """Move the zero-frequency bin to the centre, like ``np.fft.fftshift``: a ``roll`` by
    ``n // 2`` along each of ``axes`` (default: all).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.fft.fftshift(np.arange(5.0))
        array([3., 4., 0., 1., 2.])
        >>> ad.grad(lambda x: (ad.fft.fftshift(x) * np.arange(5.0)).sum())(np.zeros(5))
        array([2., 3., 4., 0., 1.])
    """
    shift, axes = _half_shifts(x, axes, 1)
    return anp.roll(x, shift=shift, axis=axes)


@defcomposite(module="fft", samples=_shift_samples, complex="holomorphic")
@numpy_when_plain(np.fft.ifftshift)
def ifftshift(x: Any, axes: Any = None) -> Any:
    """The inverse of ``fftshift``, like ``np.fft.ifftshift``: a ``roll`` by ``-(n // 2)``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> ad.fft.ifftshift(np.array([3.0, 4.0, 0.0, 1.0, 2.0]))
        array([0., 1., 2., 3., 4.])
    """
    shift, axes = _half_shifts(x, axes, -1)
    return anp.roll(x, shift=shift, axis=axes)
