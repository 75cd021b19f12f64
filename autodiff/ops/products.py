"""Products of whole arrays: ``kron``, ``cross`` and ``vdot``.

Each is a composite, NumPy's own recipe written with registered ops (reshape, multiply, subtract,
stack, dot), so its derivatives are theirs and its values are NumPy's. Plain arrays go straight to
NumPy.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from autodiff import functions as anp
from autodiff.core import prod, raw, shape_of
from autodiff.ops import samples as S
from autodiff.ops.axes import neg_axes
from autodiff.ops.plain import numpy_when_plain
from autodiff.registry import defcomposite

# --------------------------------------------------------------------------------------------
# kron
# --------------------------------------------------------------------------------------------


def _kron_samples(rng: np.random.Generator) -> list:
    return [
        ((S.real(rng, (2, 3)), S.real(rng, (3, 2))), {}),
        ((S.real(rng, (3,)), S.real(rng, (2, 2))), {}),  # ranks differ: ones are prepended
        ((S.real(rng, (2, 1, 2)), S.real(rng, (3,))), {}),
        ((S.real(rng, ()), S.real(rng, (2,))), {}),
        ((S.real(rng, (2,)), S.real(rng, ())), {}),
        ((S.real(rng, (0, 2)), S.real(rng, (2, 2))), {}),
    ]


@defcomposite(complex="holomorphic", numpy=np.kron, torch="kron", samples=_kron_samples)
@numpy_when_plain(np.kron)
def kron(a: Any, b: Any) -> Any:
    """Kronecker product of two arrays: blocks ``a[i, j] * b`` (NumPy's ``np.kron``).

    NumPy's recipe with registered ops: ``a`` reshaped to ``(a₀, 1, a₁, 1, …)`` times ``b``
    reshaped to ``(1, b₀, 1, b₁, …)``, reshaped to ``(a₀b₀, a₁b₁, …)``; the shorter shape gets
    leading ones. So ``d kron(a, b) = kron(da, b) + kron(a, db)``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> a = np.array([1.0, 2.0])
        >>> ad.grad(lambda a: ad.kron(a, np.array([1.0, 10.0])).sum())(a)
        array([11., 11.])
    """
    sa, sb = shape_of(a), shape_of(b)
    if not sb:  # NumPy: a scalar b multiplies (a is promoted to b's rank first, so never 0-d alone)
        return anp.multiply(a, b)
    nd = max(len(sa), len(sb))
    sa = (1,) * (nd - len(sa)) + tuple(sa)
    sb = (1,) * (nd - len(sb)) + tuple(sb)
    a_blocks = anp.reshape(a, tuple(n for k in sa for n in (k, 1)))
    b_blocks = anp.reshape(b, tuple(n for k in sb for n in (1, k)))
    return anp.reshape(anp.multiply(a_blocks, b_blocks), tuple(p * q for p, q in zip(sa, sb)))


# --------------------------------------------------------------------------------------------
# cross
# --------------------------------------------------------------------------------------------


def _cross_samples(rng: np.random.Generator) -> list:
    return [
        ((S.real(rng, (3,)), S.real(rng, (3,))), {}),
        ((S.real(rng, (4, 3)), S.real(rng, (3,))), {}),  # broadcast over the leading axes
        ((S.real(rng, (3, 2)), S.real(rng, (2, 3))), {"axisa": 0, "axisb": 1, "axisc": 0}),
        ((S.real(rng, (2, 3, 2)), S.real(rng, (1, 3, 2))), {"axis": 1}),
        ((S.real(rng, (0, 3)), S.real(rng, (3,))), {}),
    ]


_CROSS_2D = (
    "Arrays of 2-dimensional vectors are deprecated. Use arrays of 3-dimensional vectors "
    "instead. (deprecated in NumPy 2.0)"
)


@defcomposite(complex="holomorphic", numpy=np.cross, samples=_cross_samples)
@numpy_when_plain(np.cross)
def cross(
    a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None
) -> Any:
    """Cross product of 3-vectors (or 2-vectors, as NumPy still allows) along an axis.

    The arguments are NumPy's (``axis`` sets ``axisa``, ``axisb`` and ``axisc`` at once). Written
    as NumPy writes it, with the components: ``c = (a₁b₂ − a₂b₁, a₂b₀ − a₀b₂, a₀b₁ − a₁b₀)``, so
    ``d(a × b) = da × b + a × db``. No ``Tensor`` method is generated from it: ``Tensor.cross``
    takes PyTorch's ``dim`` as its second positional argument, where NumPy has ``axisa``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
        >>> ad.cross(a, b)
        array([0., 0., 1.])
        >>> ad.jacfwd(lambda a: ad.cross(a, b))(a)
        array([[ 0.,  0., -1.],
               [ 0.,  0.,  0.],
               [ 1.,  0.,  0.]])
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na < 1 or nb < 1:
        raise ValueError("At least one array has zero dimension")
    a = _to_last(a, axisa, na)
    b = _to_last(b, axisb, nb)
    la, lb = shape_of(a)[-1], shape_of(b)[-1]
    if la not in (2, 3) or lb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product\n(dimension must be 2 or 3)")
    if (la == 2 or lb == 2) and int(np.__version__.split(".")[0]) >= 2:
        warnings.warn(_CROSS_2D, DeprecationWarning, stacklevel=2)
    a0, a1, b0, b1 = _part(a, 0), _part(a, 1), _part(b, 0), _part(b, 1)
    if la == 2 and lb == 2:  # a 2-vector's third component is zero: only c₂ is left
        return a0 * b1 - a1 * b0
    c2 = a0 * b1 - a1 * b0
    if la == 3 and lb == 3:
        a2, b2 = _part(a, 2), _part(b, 2)
        c0 = a1 * b2 - a2 * b1
        c1 = a2 * b0 - a0 * b2
    elif la == 2:  # a₂ = 0
        b2 = _part(b, 2)
        c0 = a1 * b2
        c1 = -(a0 * b2)
    else:  # b₂ = 0
        a2 = _part(a, 2)
        c0 = -(a2 * b1)
        c1 = a2 * b0
    c = anp.stack([c0, c1, c2], axis=-1)
    n = len(shape_of(c))
    c_axis = neg_axes(axisc, n)[0]
    return c if c_axis == -1 else anp.moveaxis(c, -1, c_axis)


def _to_last(v: Any, axis: int, ndim: int) -> Any:
    a = neg_axes(axis, ndim)[0]
    return v if a == -1 else anp.moveaxis(v, a, -1)


def _part(v: Any, i: int) -> Any:
    return anp.getitem(v, index=(Ellipsis, i))


# --------------------------------------------------------------------------------------------
# vdot
# --------------------------------------------------------------------------------------------


def _vdot_samples(rng: np.random.Generator) -> list:
    return [
        ((S.real(rng, (3,)), S.real(rng, (3,))), {}),
        ((S.real(rng, (2, 3)), S.real(rng, (3, 2))), {}),  # flattened: only the sizes match
        ((S.real(rng, ()), S.real(rng, (1,))), {}),
        ((S.real(rng, (0,)), S.real(rng, (0, 2))), {}),
    ]


@defcomposite(complex=True, numpy=np.vdot, torch="vdot", samples=_vdot_samples)
@numpy_when_plain(np.vdot)
def vdot(a: Any, b: Any) -> Any:
    """Dot product of the two arrays flattened: ``Σᵢ aᵢ bᵢ`` (NumPy's ``np.vdot``).

    ``dot(ravel(a), ravel(b))``, so ``d vdot(a, b) = vdot(da, b) + vdot(a, db)``. Complex traced
    values work as in NumPy: the first argument is conjugated, ``Σᵢ conj(aᵢ) bᵢ``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
        >>> ad.grad(lambda a: ad.vdot(a, a))(a)
        array([[2., 4.],
               [6., 8.]])
    """
    if np.iscomplexobj(raw(a)):
        a = anp.conj(a)  # np.vdot conjugates its first argument
    na, nb = prod(shape_of(a)), prod(shape_of(b))
    if na != nb:
        raise ValueError(
            f"vdot: the arrays have {na} and {nb} elements; vdot needs the same number in both"
        )
    return anp.dot(anp.reshape(a, (na,)), anp.reshape(b, (nb,)))
