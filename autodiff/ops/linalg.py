"""Contractions (``dot``, ``inner``, ``outer``, ``tensordot``, ``einsum``) and ``autodiff.linalg``.

Every contraction is an Einstein sum, so the rules of ``dot``, ``inner`` and ``tensordot`` write
their (co)tangents as :func:`einsum` calls with explicit labels: a batched (co)tangent only gets
fresh labels in front, which makes every rule here *batchable*. The VJP of an einsum operand is
another einsum (of the output cotangent with the other operands), spread back over the labels
that only that operand has and put on the diagonal for a repeated label (``"ii->i"``).

The ``linalg`` ops (``inv``, ``det``, ``slogdet``, ``solve``, ``norm``, ``cholesky``) write their
rules with ``matmul``, ``swapaxes`` and the linalg ops themselves, so derivatives of any order
work, and stacks of matrices go through the same lines. ``matrix_power`` and ``multi_dot`` are
compositions of ``matmul``/``dot`` in NumPy's own order. The decompositions (``eigh``, ``svd``,
``qr``, ...) and what is built on them (``pinv``, ``lstsq``, the norms 2, -2 and ``'nuc'``) are in
:mod:`autodiff.ops.decompositions`.

Examples:
    >>> import numpy as np, autodiff as ad
    >>> A = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> np.allclose(ad.grad(ad.linalg.det)(A), np.linalg.det(A) * np.linalg.inv(A).T)
    True
    >>> ad.grad(lambda x: ad.einsum("ii", x))(A)          # d tr(A) = I
    array([[1., 0.],
           [0., 1.]])
"""

from __future__ import annotations

import functools
import math
import operator
import string
from collections import Counter
from typing import Any, NamedTuple

import numpy as np

from autodiff import functions as anp
from autodiff.arrays import as_array, asarray_like, cholesky_lower, is_duck
from autodiff.core import EMPTY, Box, bind, raw, shape_of
from autodiff.functions import linalg as la
from autodiff.ops.axes import batch_of
from autodiff.registry import defcomposite, defop

LETTERS = string.ascii_uppercase + string.ascii_lowercase  # einsum's labels, in NumPy's order
MAX_OPERANDS = 64  # NumPy's limit on the operands of one einsum

# --------------------------------------------------------------------------------------------
# Einstein sums: parsing, and the rules every contraction shares
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def parse(subscripts: str, shapes: tuple[tuple[int, ...], ...]) -> tuple[tuple[str, ...], str]:
    """The explicit form of an einsum: the labels of each operand and of the output.

    ``...`` is spelled out with unused letters (right-aligned, so that ``...`` broadcasts as in
    NumPy) and an implicit output is written out (``...`` first, then the labels seen once, in
    alphabetical order).

    Examples:
        >>> parse("...ij,jk", ((5, 2, 3), (3, 4)))
        (('Aij', 'jk'), 'Aik')
    """
    subs = subscripts.replace(" ", "")
    if subs.count("->") > 1:
        raise ValueError(f"einsum: subscripts {subscripts!r} have more than one '->'")
    lhs, arrow, out = subs.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(
            f"einsum: subscripts {subscripts!r} name {len(ins)} operand(s) but "
            f"{len(shapes)} were given"
        )
    for part in [*ins, out]:
        bad = set(part.replace("...", "")) - set(LETTERS)
        if bad or part.count("...") > 1:
            raise ValueError(
                f"einsum: invalid subscripts {subscripts!r}; use letters, ',' , one '...' per "
                "operand and at most one '->'"
            )
    used = set(subs)
    free = [c for c in LETTERS if c not in used]
    ell = 0
    for s, shape in zip(ins, shapes):
        named = len(s.replace("...", ""))
        if ("..." in s and named > len(shape)) or ("..." not in s and named != len(shape)):
            raise ValueError(
                f"einsum: operand with subscripts {s!r} has {len(shape)} dimension(s) {shape}"
            )
        if "..." in s:
            ell = max(ell, len(shape) - named)
    if ell > len(free):
        raise ValueError(f"einsum {subscripts!r}: not enough letters left for '...'")
    ell_labels = "".join(free[:ell])
    full = []
    for s, shape in zip(ins, shapes):
        if "..." in s:
            n = len(shape) - len(s.replace("...", ""))
            s = s.replace("...", ell_labels[ell - n :])
        full.append(s)
    if not arrow:
        counts = Counter("".join(ins).replace(".", ""))
        out = ell_labels + "".join(sorted(c for c, k in counts.items() if k == 1))
    elif "..." in out:
        out = out.replace("...", ell_labels)
    elif ell:
        raise ValueError(
            f"einsum {subscripts!r}: the operands have '...' dimensions but the output has no "
            "'...' to put them in"
        )
    return tuple(full), out


def spelled(ins: tuple[str, ...], out: str) -> str:
    return ",".join(ins) + "->" + out


def _fresh(ins: tuple[str, ...], out: str, n: int) -> str:
    """``n`` labels that the einsum does not use, for the batch axes of a (co)tangent."""
    used = set("".join(ins) + out)
    free = [c for c in LETTERS if c not in used]
    if n > len(free):
        raise ValueError("einsum: too many axes for the 52 einsum labels")
    return "".join(free[:n])


def contract_jvp(ins: tuple[str, ...], out: str, i: int, t: Any, args: tuple) -> Any:
    """The tangent of an einsum from operand ``i``: the same einsum with ``t`` in its place.

    A batched tangent gets fresh labels for its leading axes, kept in front of the output.
    """
    b = _fresh(ins, out, len(shape_of(t)) - len(ins[i]))
    subs = list(ins)
    subs[i] = b + ins[i]
    operands = list(args)
    operands[i] = t
    return anp.einsum(spelled(tuple(subs), b + out), *operands)


def contract_vjp(ins: tuple[str, ...], out: str, i: int, g: Any, args: tuple) -> Any:
    """The cotangent of einsum operand ``i``: ḡ contracted with the other operands.

    Labels of operand ``i`` that appear nowhere else were summed over: the cotangent is spread
    (broadcast) along them. A label repeated in operand ``i`` (a diagonal, ``"ii->i"``) puts the
    cotangent on that diagonal, zero elsewhere.
    """
    s = ins[i]
    xshape = shape_of(args[i])
    nb = len(shape_of(g)) - len(out)
    b = _fresh(ins, out, nb)
    others = [j for j in range(len(ins)) if j != i]
    elsewhere = set(out).union(*(ins[j] for j in others))
    first = [p for p, label in enumerate(s) if s.index(label) == p]
    keep = "".join(s[p] for p in first if s[p] in elsewhere)
    subs = spelled((b + out, *(ins[j] for j in others)), b + keep)
    c = anp.einsum(subs, g, *(args[j] for j in others))
    if keep == s:
        return c
    batch = shape_of(g)[:nb]
    sizes = dict(zip(keep, shape_of(c)[nb:]))
    spread = tuple(sizes[s[p]] if p in first and s[p] in sizes else 1 for p in range(len(s)))
    target = tuple(sizes[s[p]] if p in first and s[p] in sizes else xshape[p]
                   for p in range(len(s)))  # fmt: skip
    c = anp.reshape(c, batch + spread)
    if len(first) == len(s):
        return anp.broadcast_to(c, batch + target)
    return c * _diagonal_mask(s, target, raw(c).dtype)


def _diagonal_mask(s: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """1 where every repeated label of ``s`` takes one value (the generalized diagonal), else 0."""
    mask = np.ones(shape, dtype=dtype)
    for p, label in enumerate(s):
        p0 = s.index(label)
        if p0 != p:
            view = [1] * len(s)
            view[p0], view[p] = shape[p0], shape[p]
            mask = mask * np.eye(shape[p0], shape[p], dtype=dtype).reshape(view)
    return mask


def _cost(ins: tuple[str, ...], shapes: tuple) -> int:
    sizes: dict[str, int] = {}
    for s, shape in zip(ins, shapes):
        for label, n in zip(s, shape):
            sizes[label] = max(sizes.get(label, 1), n)
    return math.prod(sizes.values())


def _einsum_primal(*operands, subscripts):
    shapes = tuple(np.shape(x) for x in operands)
    ins, _ = parse(subscripts, shapes)
    # NumPy's path optimizer (BLAS through tensordot) pays off only on large contractions
    return np.einsum(subscripts, *operands, optimize=_cost(ins, shapes) > 200_000)


def _einsum_operand_rule(kind: str, i: int):
    def rule(c, ans, *operands, subscripts):
        ins, out = parse(subscripts, tuple(shape_of(x) for x in operands))
        if kind == "jvp":
            return contract_jvp(ins, out, i, c, operands)  # d einsum = einsum(…, dxᵢ, …)
        return contract_vjp(ins, out, i, c, operands)  # x̄ᵢ = einsum(ḡ, xⱼ≠ᵢ → labels of xᵢ)

    return rule


def _einsum_samples(rng):
    r = rng.standard_normal
    return [
        ((r((2, 3)), r((3, 4))), {"subscripts": "ij,jk->ik"}),
        ((r((3, 3)),), {"subscripts": "ii->i"}),
        ((r((3, 3)),), {"subscripts": "ii"}),
        ((r((2, 3)),), {"subscripts": "ij->"}),
        ((r((2, 3)),), {"subscripts": "ij->ji"}),
        ((r((3,)), r((3,))), {"subscripts": "i,i"}),
        ((r((2, 3)), r((3,))), {"subscripts": "ij,j"}),
        ((r((2, 1, 2, 3)), r((3, 3, 2))), {"subscripts": "...ij,...jk->...ik"}),
        ((r((1, 3)), r((2, 3))), {"subscripts": "ij,ij->ij"}),
        ((r((2, 2, 3)),), {"subscripts": "iij->ij"}),
        ((r((2,)), r((3,)), r((2,))), {"subscripts": "i,j,k->ijk"}),
        ((r((2, 3)), r((3, 4)), r((4, 2))), {"subscripts": "ij,jk,ki->"}),
        ((r(()), r((3,))), {"subscripts": ",i->i"}),
        ((r((0, 3)), r((3, 2))), {"subscripts": "ij,jk->ik"}),
    ]


_einsum_op = defop(
    "einsum", _einsum_primal, nargs=-1, params={"subscripts": None}, batchable=True,
    jvp=tuple(_einsum_operand_rule("jvp", i) for i in range(MAX_OPERANDS)),
    # d einsum(x₁, …, xₙ) = Σᵢ einsum(x₁, …, dxᵢ, …, xₙ)
    vjp=tuple(_einsum_operand_rule("vjp", i) for i in range(MAX_OPERANDS)),
    # x̄ᵢ = einsum(ḡ, xⱼ (j ≠ i) → labels of xᵢ), spread over labels only xᵢ has
    complex="holomorphic", samples=_einsum_samples,
    formula="d einsum(…, xᵢ, …) = Σᵢ einsum(…, dxᵢ, …)",
    vjp_formula="x̄ᵢ = einsum(ḡ, xⱼ≠ᵢ → labels of xᵢ) (diagonal for repeated labels)",
    doc="Einstein summation over labelled axes (einsum(subscripts, *operands), like NumPy)",
)  # fmt: skip


def _interleaved(args: tuple) -> tuple[str, tuple]:
    """NumPy's other einsum form, ``einsum(a, [0, 1], b, [1, 2], [0, 2])``, as subscripts."""

    def labels(sub):
        return "".join("..." if k is Ellipsis else LETTERS[int(k)] for k in sub)

    arrays, subs = args[0::2], args[1::2]
    out = None
    if len(args) % 2:
        arrays, out = arrays[:-1], args[-1]
    text = ",".join(labels(s) for s in subs)
    return (text if out is None else f"{text}->{labels(out)}"), tuple(arrays)


def einsum(*operands: Any, optimize: Any = False, **kwargs: Any) -> Any:
    """Einstein summation, ``einsum(subscripts, *operands)``, differentiable in every operand.

    Explicit (``"ij,jk->ik"``) and implicit (``"ij,jk"``) outputs, ``...`` broadcasting,
    repeated labels (diagonals and traces: ``"ii->i"``, ``"ii"``) and NumPy's interleaved form
    ``einsum(a, [0, 1], b, [1, 2])``. Plain arrays go straight to ``np.einsum``.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> A = np.array([[1.0, 2.0], [3.0, 4.0]])
        >>> ad.grad(lambda a: ad.einsum("ij,ij", a, a))(A)   # d Σ a² = 2a
        array([[2., 4.],
               [6., 8.]])
    """
    if not operands:
        raise TypeError("einsum() needs subscripts and at least one operand")
    if isinstance(operands[0], str):
        subscripts, arrays = operands[0], tuple(operands[1:])
    else:
        subscripts, arrays = _interleaved(operands)
    if not any(isinstance(a, Box) for a in arrays):
        return np.einsum(subscripts, *arrays, optimize=optimize, **kwargs)
    if kwargs:
        raise TypeError(
            f"einsum() on traced values does not support {', '.join(kwargs)}=; "
            "call it without them (the result is a new array)"
        )
    arrays = tuple(a if isinstance(a, Box) else as_array(a) for a in arrays)
    ins, out = parse(subscripts, tuple(shape_of(a) for a in arrays))
    return bind(_einsum_op, arrays, {"subscripts": spelled(ins, out)})


_einsum_op.public = einsum
einsum.op = _einsum_op

# --------------------------------------------------------------------------------------------
# dot, inner, tensordot: einsums with labels computed from the shapes
# --------------------------------------------------------------------------------------------


def tensordot_axes(axes: Any, nda: int, ndb: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``tensordot``'s ``axes`` (an int or a pair of sequences) as two tuples of axes."""
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        return tuple(range(nda - n, nda)), tuple(range(n))
    a_axes, b_axes = axes
    a_axes = (a_axes,) if isinstance(a_axes, (int, np.integer)) else tuple(a_axes)
    b_axes = (b_axes,) if isinstance(b_axes, (int, np.integer)) else tuple(b_axes)
    return tuple(int(a) % nda for a in a_axes), tuple(int(b) % ndb for b in b_axes)


def _contract_spec(nda: int, ndb: int, a_axes, b_axes) -> tuple[tuple[str, str], str]:
    """Labels of ``tensordot(a, b, (a_axes, b_axes))``: free axes of a, then free axes of b."""
    a = LETTERS[:nda]
    pool = iter(LETTERS[nda:])
    b = "".join(a[a_axes[b_axes.index(j)]] if j in b_axes else next(pool) for j in range(ndb))
    out = "".join(a[i] for i in range(nda) if i not in a_axes)
    out += "".join(b[j] for j in range(ndb) if j not in b_axes)
    return (a, b), out


@functools.lru_cache(maxsize=1024)
def _spec(kind: str, ashape: tuple, bshape: tuple, axes: Any = None):
    nda, ndb = len(ashape), len(bshape)
    if kind == "tensordot":
        return _contract_spec(nda, ndb, *tensordot_axes(axes, nda, ndb))
    if nda == 0 or ndb == 0:  # a product with a scalar
        return _contract_spec(nda, ndb, (), ())
    if kind == "dot":  # last axis of a with the second-to-last of b (the only one of a vector)
        return _contract_spec(nda, ndb, (nda - 1,), (max(ndb - 2, 0),))
    return _contract_spec(nda, ndb, (nda - 1,), (ndb - 1,))  # inner: the last axes


def _hashable(axes: Any) -> Any:
    if isinstance(axes, (int, np.integer)):
        return int(axes)
    return tuple(_hashable(a) if isinstance(a, (list, tuple, np.ndarray)) else int(a) for a in axes)


def _binary_rules(kind: str):
    def spec(a, b, axes):
        return _spec(kind, shape_of(a), shape_of(b), None if axes is None else _hashable(axes))

    def jvp_a(t, ans, a, b, axes=None):
        # d(a·b) from da: the same contraction of da with b
        return contract_jvp(*spec(a, b, axes), 0, t, (a, b))

    def jvp_b(t, ans, a, b, axes=None):
        # d(a·b) from db: the same contraction of a with db
        return contract_jvp(*spec(a, b, axes), 1, t, (a, b))

    def vjp_a(g, ans, a, b, axes=None):
        # ā = ḡ contracted with b over b's free axes
        return contract_vjp(*spec(a, b, axes), 0, g, (a, b))

    def vjp_b(g, ans, a, b, axes=None):
        # b̄ = ḡ contracted with a over a's free axes
        return contract_vjp(*spec(a, b, axes), 1, g, (a, b))

    return (jvp_a, jvp_b), (vjp_a, vjp_b)


def _pairs(rng, shapes):
    return [((rng.standard_normal(a), rng.standard_normal(b)), {}) for a, b in shapes]


def _duck_dot(kind):
    """``np.dot``/``np.inner`` that also work on duck arrays: dask has no ``inner``, and its
    ``dot`` fails on a vector ``b``; both are a ``tensordot`` (a 0-d factor: a product)."""
    plain = np.dot if kind == "dot" else np.inner

    def primal(a, b):
        if (type(a) is np.ndarray and type(b) is np.ndarray) or not (is_duck(a) or is_duck(b)):
            return plain(a, b)
        nda, ndb = np.ndim(a), np.ndim(b)
        if nda == 0 or ndb == 0:
            return a * b
        return np.tensordot(a, b, axes=(nda - 1, max(ndb - 2, 0) if kind == "dot" else ndb - 1))

    return primal


_DOT_JVP, _DOT_VJP = _binary_rules("dot")
defop(
    "dot", _duck_dot("dot"), nargs=2, numpy=np.dot, batchable=True,
    jvp=_DOT_JVP,  # d dot(a, b) = dot(da, b) + dot(a, db), as einsums
    vjp=_DOT_VJP,  # ā = ḡ contracted with b over b's free axes; b̄ likewise with a
    complex="holomorphic",
    samples=lambda rng: _pairs(rng, [((), (3,)), ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)),
                                     ((2, 3), (3, 4)), ((2, 3, 4), (5, 4, 2)), ((2, 3), ()),
                                     ((0, 3), (3, 2))]),
    formula="d dot(a, b) = dot(da, b) + dot(a, db)",
    vjp_formula="ā = Σ over b's free axes of ḡ·b, b̄ = Σ over a's free axes of ḡ·a",
    doc="Dot product: sums the last axis of a with the second-to-last of b (NumPy's np.dot)",
    torch="dot",
)  # fmt: skip

_INNER_JVP, _INNER_VJP = _binary_rules("inner")
defop(
    "inner", _duck_dot("inner"), nargs=2, numpy=np.inner, batchable=True,
    jvp=_INNER_JVP,  # d inner(a, b) = inner(da, b) + inner(a, db)
    vjp=_INNER_VJP,  # ā = ḡ contracted with b over b's free axes; b̄ likewise with a
    complex="holomorphic", samples=lambda rng: _pairs(rng, [((3,), (3,)), ((2, 3), (4, 3)), ((2, 3, 4), (4,)),
                                     ((), (2, 3)), ((0, 3), (3,))]),
    formula="d inner(a, b) = inner(da, b) + inner(a, db)",
    vjp_formula="ā = Σ over b's free axes of ḡ·b, b̄ = Σ over a's free axes of ḡ·a",
    doc="Inner product over the last axes of a and b (np.inner)",
    torch="inner",
)  # fmt: skip

_TD_JVP, _TD_VJP = _binary_rules("tensordot")
defop(
    "tensordot", lambda a, b, axes=2: np.tensordot(a, b, axes=axes), nargs=2,
    params={"axes": 2}, batchable=True,
    jvp=_TD_JVP,  # d tensordot(a, b) = tensordot(da, b) + tensordot(a, db)
    vjp=_TD_VJP,  # ā = ḡ contracted with b over b's free axes, back in a's axis order
    complex="holomorphic", samples=lambda rng: [
        ((rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4, 5))), {"axes": 2}),
        ((rng.standard_normal((2, 3)), rng.standard_normal((3, 4))), {"axes": 1}),
        ((rng.standard_normal((2,)), rng.standard_normal((3,))), {"axes": 0}),
        ((rng.standard_normal((3, 2, 4)), rng.standard_normal((2, 5, 3))),
         {"axes": ([1, 0], [0, 2])}),
        ((rng.standard_normal((4, 3)), rng.standard_normal((3, 2))), {"axes": (-1, 0)}),
        ((rng.standard_normal((0, 3)), rng.standard_normal((3, 2))), {"axes": 1}),
    ],
    formula="d tensordot(a, b) = tensordot(da, b) + tensordot(a, db)",
    vjp_formula="ā = Σ over b's free axes of ḡ·b, b̄ = Σ over a's free axes of ḡ·a",
    doc="Sum products over the given axes of a and b (np.tensordot; axes int or pair)",
)  # fmt: skip


def _flat_size(x):
    return math.prod(shape_of(raw(x)))


def _outer_jvp_a(t, ans, a, b):
    # d outer(a, b) from da: outer(da, b) = da[:, None] · b[None, :]
    col = anp.reshape(t, batch_of(t, len(shape_of(a))) + (_flat_size(a), 1))
    return col * anp.reshape(b, (1, _flat_size(b)))


def _outer_jvp_b(t, ans, a, b):
    # d outer(a, b) from db: outer(a, db) = a[:, None] · db[None, :]
    row = anp.reshape(t, batch_of(t, len(shape_of(b))) + (1, _flat_size(b)))
    return anp.reshape(a, (_flat_size(a), 1)) * row


def _outer_vjp_a(g, ans, a, b):
    # ā = ḡ b (the rows of ḡ against b), in a's shape
    c = anp.sum(g * anp.reshape(b, (_flat_size(b),)), axis=-1)
    return anp.reshape(c, batch_of(g, 2) + shape_of(a))


def _outer_vjp_b(g, ans, a, b):
    # b̄ = ḡᵀ a (the columns of ḡ against a), in b's shape
    c = anp.sum(g * anp.reshape(a, (_flat_size(a), 1)), axis=-2)
    return anp.reshape(c, batch_of(g, 2) + shape_of(b))


defop(
    "outer", np.outer, nargs=2, batchable=True,
    jvp=(_outer_jvp_a, _outer_jvp_b),  # d outer(a, b) = outer(da, b) + outer(a, db)
    vjp=(_outer_vjp_a, _outer_vjp_b),  # ā = ḡ·b, b̄ = ḡᵀ·a (reshaped like a and b)
    complex="holomorphic",
    samples=lambda rng: _pairs(rng, [((3,), (4,)), ((2, 3), (2,)), ((), (3,)), ((0,), (3,))]),
    formula="d outer(a, b) = outer(da, b) + outer(a, db)",
    vjp_formula="ā = ḡ·vec(b), b̄ = ḡᵀ·vec(a) (reshaped like a and b)",
    doc="Outer product of the flattened a and b (np.outer)",
    torch="outer",
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# autodiff.linalg: well-conditioned sample matrices
# --------------------------------------------------------------------------------------------


def _orthogonal(rng, batch, n):
    q, r = np.linalg.qr(rng.standard_normal((*batch, n, n)))
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def well_conditioned(rng, shape, spd=False):
    """Matrices ``Q₁ diag(s) Q₂ᵀ`` with singular values ``s`` in [1, 2] (``Q₁ = Q₂`` when SPD)."""
    *batch, n, _ = shape
    s = rng.uniform(1.0, 2.0, (*batch, 1, n))
    q1 = _orthogonal(rng, batch, n)
    q2 = q1 if spd else _orthogonal(rng, batch, n)
    a = (q1 * s) @ np.swapaxes(q2, -1, -2)
    return (a + np.swapaxes(a, -1, -2)) / 2 if spd else a


def _square_samples(spd=False):
    def samples(rng):
        shapes = [(3, 3), (2, 3, 3), (1, 1), (2, 1, 2, 2), (0, 2, 2)]
        out = [((well_conditioned(rng, s, spd),), {}) for s in shapes]
        if not spd:  # a negative determinant
            a = well_conditioned(rng, (3, 3))
            out.append(((a * np.array([[-1.0], [1.0], [1.0]]) * np.sign(np.linalg.det(a)),), {}))
        return out

    return samples


def _mT(x):
    return anp.swapaxes(x, -1, -2)


def _mH(x):
    """The conjugate transpose (the transpose of a real matrix, with no extra op)."""
    return anp.conj(_mT(x)) if raw(x).dtype.kind == "c" else _mT(x)


def _cast(value, like):
    """A NumPy constant in ``like``'s dtype and array type."""
    return asarray_like(np.asarray(value), raw(like), raw(like).dtype)


# --------------------------------------------------------------------------------------------
# inv, det, slogdet
# --------------------------------------------------------------------------------------------


def _inv_jvp(t, ans, a):
    # d inv(A) = -A⁻¹ dA A⁻¹
    return anp.negative(anp.matmul(anp.matmul(ans, t), ans))


def _inv_vjp(g, ans, a):
    # Ā = -A⁻ᵀ Ḡ A⁻ᵀ
    return anp.negative(anp.matmul(anp.matmul(_mT(ans), g), _mT(ans)))


defop(
    "inv", np.linalg.inv, module="linalg", batchable=True,
    jvp=(_inv_jvp,), vjp=(_inv_vjp,), complex="holomorphic", samples=_square_samples(),
    formula="d inv(A) = -A⁻¹ dA A⁻¹", vjp_formula="Ā = -A⁻ᵀ Ḡ A⁻ᵀ",
    doc="Inverse of a square matrix (or of each matrix of a stack)",
    torch="inverse",
)  # fmt: skip


def _trace_inv_times(a, t):
    """tr(A⁻¹ dA) for each matrix, as Σᵢⱼ (A⁻ᵀ)ᵢⱼ dAᵢⱼ (a batched dA keeps its batch axes)."""
    return anp.sum(_mT(la.inv(a)) * t, axis=(-2, -1))


def _as_matrix_factor(g):
    """ḡ with two axes of length one appended, to scale whole matrices."""
    return anp.getitem(g, index=(Ellipsis, None, None))


defop(
    "det", np.linalg.det, module="linalg", batchable=True,
    jvp=(lambda t, ans, a: ans * _trace_inv_times(a, t),),  # d det(A) = det(A) tr(A⁻¹ dA)
    vjp=(lambda g, ans, a: _as_matrix_factor(g * ans) * _mT(la.inv(a)),),  # Ā = ḡ det(A) A⁻ᵀ
    complex="holomorphic", samples=_square_samples(),
    formula="d det(A) = det(A)·tr(A⁻¹ dA)", vjp_formula="Ā = ḡ·det(A)·A⁻ᵀ",
    doc="Determinant of a square matrix (or of each matrix of a stack)",
    torch="det",
)  # fmt: skip

_slogdet_op = defop(
    "slogdet", lambda a: np.linalg.slogdet(a)[1], module="linalg", batchable=True,
    jvp=(lambda t, ans, a: _real_part(_trace_inv_times(a, t)),),  # d log|det A| = Re tr(A⁻¹ dA)
    vjp=(lambda g, ans, a: _as_matrix_factor(g) * _mT(la.inv(a)),),  # Ā = ḡ A⁻ᵀ
    samples=_square_samples(), complex=True,
    formula="d log|det A| = Re tr(A⁻¹ dA) (a real sign is piecewise constant)",
    vjp_formula="Ā = ḡ·A⁻ᵀ",
    doc="(sign, log|det A|); the primitive is log|det A|; a real sign has zero derivative, a "
    "complex one is det(A)/|det(A)|",
    torch="slogdet",
)  # fmt: skip


class SlogdetResult(NamedTuple):
    """``(sign, logabsdet)`` as NumPy returns it; only ``logabsdet`` carries a derivative."""

    sign: Any
    logabsdet: Any


def slogdet(a: Any) -> SlogdetResult:
    """Sign and natural log of the absolute determinant, ``(sign, logabsdet)``, like NumPy.

    ``logabsdet`` is differentiable (``d log|det A| = tr(A⁻¹ dA)``); ``sign`` is a plain array,
    piecewise constant, with zero derivative.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> A = np.array([[0.0, 2.0], [1.0, 0.0]])       # det = -2
        >>> sign, logabsdet = ad.linalg.slogdet(A)
        >>> float(sign), float(logabsdet)
        (-1.0, 0.6931471805599453)
        >>> ad.grad(lambda a: ad.linalg.slogdet(a).logabsdet)(A)   # A⁻ᵀ
        array([[0. , 0.5],
               [1. , 0. ]])
    """
    if not isinstance(a, Box):
        sign, logabsdet = np.linalg.slogdet(a)
        return SlogdetResult(sign, logabsdet)
    logabsdet = bind(_slogdet_op, (a,), EMPTY)
    if np.iscomplexobj(raw(a)):  # a complex sign moves with A: det(A)/|det(A)|
        det = la.det(a)
        return SlogdetResult(det / anp.abs(det), logabsdet)
    return SlogdetResult(np.linalg.slogdet(raw(a))[0], logabsdet)


def _real_part(v: Any) -> Any:
    """``Re v`` of a complex value (a real one as it is)."""
    return anp.real(v) if np.iscomplexobj(raw(v)) else v


_slogdet_op.public = slogdet
slogdet.op = _slogdet_op

# --------------------------------------------------------------------------------------------
# solve
# --------------------------------------------------------------------------------------------


def _is_vector(b):
    """NumPy 2's rule: ``b`` is one right-hand side exactly when it is 1-D."""
    return len(shape_of(b)) == 1


def _as_columns(x, vector):
    return anp.getitem(x, index=(Ellipsis, None)) if vector else x


def _from_columns(x, vector):
    return anp.getitem(x, index=(Ellipsis, 0)) if vector else x


def _lift(t, unbatched_ndim, ndim):
    """Axes of length one after the batch axes of ``t``, so that it has ``ndim`` axes without
    its batch: a batched tangent then broadcasts against the other operand like the primal."""
    missing = ndim - unbatched_ndim
    if missing <= 0:
        return t
    shape = shape_of(t)
    lead = len(shape) - unbatched_ndim
    return anp.reshape(t, shape[:lead] + (1,) * missing + shape[lead:])


def _solve_jvp_a(t, ans, a, b):
    # d solve(A, b) from dA: -A⁻¹ dA x
    vector = _is_vector(b)
    x = _as_columns(ans, vector)
    t = _lift(t, len(shape_of(a)), len(shape_of(x)))
    return _from_columns(anp.negative(la.solve(a, anp.matmul(t, x))), vector)


def _solve_jvp_b(t, ans, a, b):
    # d solve(A, b) from db: A⁻¹ db
    vector = _is_vector(b)
    t = _lift(_as_columns(t, vector), len(shape_of(b)) + vector, len(shape_of(ans)) + vector)
    return _from_columns(la.solve(a, t), vector)


def _solve_vjp_b(g, ans, a, b):
    # b̄ = A⁻ᵀ ḡ
    vector = _is_vector(b)
    return _from_columns(la.solve(_mT(a), _as_columns(g, vector)), vector)


def _solve_vjp_a(g, ans, a, b):
    # Ā = -b̄ xᵀ with b̄ = A⁻ᵀ ḡ
    vector = _is_vector(b)
    bbar = la.solve(_mT(a), _as_columns(g, vector))
    return anp.negative(anp.matmul(bbar, _mT(_as_columns(ans, vector))))


def _solve_samples(rng):
    pairs = [
        ((3, 3), (3,)),
        ((3, 3), (3, 2)),
        ((2, 3, 3), (2, 3, 1)),
        ((2, 3, 3), (3,)),  # one vector, broadcast against a stack of matrices
        ((3, 3), (2, 3, 2)),  # one matrix, broadcast against a stack of right-hand sides
        ((2, 1, 2, 2), (3, 2, 4)),  # stacks that broadcast against each other
        ((0, 2, 2), (0, 2, 1)),
    ]
    return [((well_conditioned(rng, a), rng.standard_normal(b)), {}) for a, b in pairs]


defop(
    "solve", np.linalg.solve, nargs=2, module="linalg", batchable=True,
    jvp=(_solve_jvp_a, _solve_jvp_b),  # d x = A⁻¹ (db - dA x)
    vjp=(_solve_vjp_a, _solve_vjp_b),  # b̄ = A⁻ᵀ ḡ, Ā = -b̄ xᵀ
    complex="holomorphic", samples=_solve_samples,
    formula="d solve(A, b) = A⁻¹ (db - dA·x)", vjp_formula="b̄ = A⁻ᵀ ḡ, Ā = -b̄ xᵀ",
    doc="Solve A x = b (b a vector when 1-D, else a stack of matrices; broadcasting stacks)",
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# norm
# --------------------------------------------------------------------------------------------


def norm_kind(ndim: int, ord: Any, axis: Any) -> tuple[str, tuple[int, ...]]:
    """Which norm ``np.linalg.norm(x, ord, axis)`` computes, and over which (negative) axes.

    Raises:
        NotImplementedError: for the vector norms with no rule here (``ord`` < 1 other than 0
            and -inf).
    """
    if axis is None:
        if ord is None:
            return "two", tuple(range(-ndim, 0))
        if ndim not in (1, 2):
            raise ValueError("linalg.norm: improper number of dimensions to norm")
        axes = tuple(range(-ndim, 0))
    else:
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        axes = tuple(int(a) % ndim - ndim for a in axes)
    inf = np.inf
    if len(axes) == 1:
        if ord is None or (not isinstance(ord, str) and ord == 2):
            return "two", axes
        if isinstance(ord, str):
            raise ValueError(f"linalg.norm: invalid norm order {ord!r} for vectors")
        if ord == 1:
            return "one", axes
        if ord == inf:
            return "max", axes
        if ord == -inf:
            return "min", axes
        if ord == 0:
            return "zero", axes
        if ord > 1:
            return "p", axes
    elif len(axes) == 2:
        if ord is None or ord == "fro":
            return "two", axes
        if ord == "nuc":
            return "nuc", axes
        kinds = {1: "col max", -1: "col min", inf: "row max", -inf: "row min", 2: "sv max",
                 -2: "sv min"}  # fmt: skip
        if not isinstance(ord, str) and ord in kinds:
            return kinds[ord], axes
    else:
        raise ValueError("linalg.norm: axis must name one axis (vector norm) or two (matrix norm)")
    raise NotImplementedError(
        f"linalg.norm: no derivative rule for ord={ord!r} over {len(axes)} axis(es): a vector "
        "norm with ord < 1 is not differentiable at zero and has no rule here. Use ord=None, "
        "1, inf, -inf, 0 or p ≥ 1 for vectors"
    )


def _with_kept_axes(c, x, axes, keepdims):
    """``c`` (reduced over ``axes`` of ``x``) with those axes back as length one."""
    if keepdims:
        return c
    xshape = shape_of(x)
    kept = tuple(1 if i - len(xshape) in axes else n for i, n in enumerate(xshape))
    return anp.reshape(c, batch_of(c, len(xshape) - len(axes)) + kept)


def _share(hit, axes):
    """``hit`` divided evenly among its ties along ``axes``: the mean of the active subgradients."""
    return hit / np.maximum(np.sum(hit, axis=axes, keepdims=True), 1)


def _norm_weight(x, ans, ord, axis, keepdims):
    """∂‖x‖/∂x, shaped like x: the JVP sums it against dx, the VJP scales it by ḡ."""
    kind, axes = norm_kind(len(shape_of(x)), ord, axis)
    norm = _with_kept_axes(ans, x, axes, keepdims)
    if kind in ("two", "p"):
        zero = raw(norm) == 0  # the gradient at 0 is defined as 0 (a subgradient), never nan
        safe = anp.where(zero, 1.0, norm)
        if kind == "two":
            return anp.where(zero, 0.0, x / safe)  # x / ‖x‖
        p = float(ord)  # sign(x)·|x|^(p-1) / ‖x‖^(p-1)
        sign = anp.sign(x) if raw(x).dtype.kind == "c" else np.sign(raw(x))  # z/|z| is traced
        return anp.where(zero, 0.0, sign * anp.abs(x) ** (p - 1) / safe ** (p - 1))
    if kind in ("sv max", "sv min", "nuc"):
        return _singular_value_weight(x, kind, axes)
    xv = raw(x)
    sign = np.sign(xv)
    if kind == "one":
        weight = sign
    elif kind == "zero":  # counts the non-zeros: piecewise constant
        weight = np.zeros_like(xv)
    elif kind in ("max", "min"):
        weight = sign * _share(np.abs(xv) == raw(norm), axes)
    else:  # max/min over one axis of the absolute sums over the other
        reduce_axis, pick_axis = axes if kind.startswith("col") else axes[::-1]
        sums = np.sum(np.abs(xv), axis=reduce_axis, keepdims=True)
        weight = sign * _share(sums == raw(norm), (pick_axis,))
    if xv.dtype.kind == "c" and kind != "zero":
        # z/|z| varies with z: traced, so second derivatives see it (the shares stay constant)
        return anp.sign(x) * _cast(np.abs(weight), x)
    return _cast(weight, x)


def _singular_value_weight(x, kind, axes):
    """∂‖X‖/∂X for the norms of singular values: Σᵢ cᵢ uᵢ vᵢᵀ over the matrices on ``axes``.

    ``cᵢ`` is 1 for every non-zero singular value (``'nuc'``), or shared evenly among the
    non-zero ties of the largest (``2``) or smallest (``-2``) one: the sum over a tie does not
    depend on the basis the SVD chose for it. A zero singular value gets 0 (a subgradient).
    """
    moved = anp.moveaxis(x, axes, (-2, -1))
    u, s, vh = la.svd(moved, full_matrices=False)
    sv = raw(s)
    # values within max(m, n)·eps·s₁ of each other (or of 0) are equal to working precision
    tol = max(shape_of(moved)[-2:]) * np.finfo(sv.dtype).eps * np.max(sv, -1, keepdims=True)
    if kind == "nuc":
        coef = (sv > tol).astype(float)
    else:
        pick = np.max if kind == "sv max" else np.min
        coef = _share((np.abs(sv - pick(sv, axis=-1, keepdims=True)) <= tol) & (sv > tol), -1)
    weight = anp.matmul(u * _cast(coef[..., None, :], x), vh)
    return anp.moveaxis(weight, (-2, -1), axes)


def _conj_weight(x, ans, ord, axis, keepdims):
    """∂‖x‖/∂x in JAX's convention (d‖x‖ = Re Σ w·dx): of a complex x, the conjugate of the real
    formula with sign(z) = z/|z| (2-norm: conj(x)/‖x‖; 'nuc': conj(U Vᴴ))."""
    weight = _norm_weight(x, ans, ord, axis, keepdims)
    return anp.conj(weight) if raw(x).dtype.kind == "c" else weight


def _norm_jvp(t, ans, x, ord, axis, keepdims):
    # d‖x‖ = Re Σ ∂‖x‖/∂x · dx (2-norm: Re⟨conj(x), dx⟩/‖x‖, 0 at x = 0)
    axes = norm_kind(len(shape_of(x)), ord, axis)[1]
    weight = _conj_weight(x, ans, ord, axis, keepdims)
    out = anp.sum(weight * t, axis=tuple(sorted(axes)), keepdims=keepdims)
    return anp.real(out) if raw(out).dtype.kind == "c" else out


def _norm_vjp(g, ans, x, ord, axis, keepdims):
    # x̄ = ḡ ∂‖x‖/∂x (2-norm: ḡ conj(x)/‖x‖, 0 at x = 0)
    axes = norm_kind(len(shape_of(x)), ord, axis)[1]
    return _with_kept_axes(g, x, axes, keepdims) * _conj_weight(x, ans, ord, axis, keepdims)


def _norm_samples(rng):
    r = rng.standard_normal
    apart = np.array([0.5, -2.0, 1.25, -0.75])  # no ties among |x|, no zeros
    cols = np.array([[1.0, -0.5, 2.0], [0.25, 3.0, -1.5], [-2.0, 0.75, 0.5]])  # distinct sums
    return [
        ((r((3,)),), {}),
        ((r((2, 3)),), {"axis": None}),
        ((r((2, 3)),), {"axis": 1, "keepdims": True}),
        ((r((2, 3, 4)),), {"axis": -1}),
        ((r((2, 3, 4)),), {"ord": "fro", "axis": (0, 2), "keepdims": True}),
        ((r((3, 3)),), {"ord": "fro"}),
        ((apart,), {"ord": 1}),
        ((apart,), {"ord": np.inf}),
        ((apart,), {"ord": -np.inf}),
        ((apart,), {"ord": 3}),
        ((cols,), {"ord": 1}),
        ((cols,), {"ord": np.inf}),
        ((cols,), {"ord": -1, "axis": (1, 0)}),
        ((r((0, 3)),), {"axis": 1}),
        ((well_conditioned(rng, (3, 3)),), {"ord": 2}),
        ((well_conditioned(rng, (3, 3)),), {"ord": -2}),
        ((well_conditioned(rng, (3, 3)),), {"ord": "nuc"}),
        ((r((4, 2)),), {"ord": "nuc"}),
        ((r((2, 3, 4)),), {"ord": 2, "axis": (2, 0), "keepdims": True}),
        ((r((2, 4, 3)),), {"ord": -2, "axis": (-2, -1)}),
        ((r((2, 2, 3)),), {"ord": "nuc", "axis": (1, 2), "keepdims": True}),
        ((r((0, 2, 2)),), {"ord": 2, "axis": (1, 2)}),
    ]


defop(
    "norm", lambda x, ord=None, axis=None, keepdims=False: np.linalg.norm(x, ord, axis, keepdims),
    module="linalg", params={"ord": None, "axis": None, "keepdims": False}, batchable=True,
    jvp=(_norm_jvp,), vjp=(_norm_vjp,), samples=_norm_samples, complex=True,
    formula="d‖x‖₂ = ⟨x, dx⟩/‖x‖₂ (0 at x = 0); d‖x‖₁ = Σ sign(x)·dx; d‖x‖∞ = sign·dx at the "
    "max; d‖X‖_nuc = ⟨U Vᵀ, dX⟩, d‖X‖₂ = u₁ᵀ dX v₁",
    vjp_formula="x̄ = ḡ·x/‖x‖₂ (0 at x = 0); ḡ·sign(x) for ‖·‖₁; shared among ties for ‖·‖∞; "
    "X̄ = ḡ U Vᵀ ('nuc'), ḡ u₁ v₁ᵀ (2)",
    doc="Vector norms (ord None/2, 1, inf, -inf, 0, p ≥ 1) and matrix norms ('fro', 1, inf, "
    "2, -2, 'nuc'); of complex values too (real-valued: their rules use conj(x)/|x|)",
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# cholesky
# --------------------------------------------------------------------------------------------


def _cholesky_primal(a):
    a = as_array(a)
    at = np.swapaxes(a, -1, -2)
    return cholesky_lower((a + (at.conj() if a.dtype.kind == "c" else at)) / 2)


def _phi(x, like):
    """Φ(X): the lower triangle of X with its diagonal halved."""
    n = shape_of(like)[-1]
    return x * _cast(np.tril(np.ones((n, n))) - 0.5 * np.eye(n), like)


def _cholesky_jvp(t, ans, a):
    # dL = L Φ(L⁻¹ sym(dA) L⁻ᴴ), sym(dA) = (dA + dAᴴ)/2 (ᴴ = ᵀ for real A)
    sym = (t + _mH(t)) * 0.5
    inner = la.solve(ans, _mH(la.solve(ans, sym)))  # L⁻¹ S L⁻ᴴ (S Hermitian)
    return anp.matmul(ans, _phi(inner, ans))


def _cholesky_vjp(g, ans, a):
    # Ā = herm(L⁻ᵀ Φ(Lᵀ L̄) conj(L)⁻¹), herm(P) = (P + Pᴴ)/2: the transpose of the JVP under
    # Re Σ Ā·dA (for real A: sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹))
    m = _phi(anp.matmul(_mT(ans), g), ans)
    p = _mT(la.solve(_mH(ans), _mT(la.solve(_mT(ans), m))))  # L⁻ᵀ M conj(L)⁻¹
    return (p + _mH(p)) * 0.5


defop(
    "cholesky", _cholesky_primal, module="linalg", batchable=True,
    jvp=(_cholesky_jvp,), vjp=(_cholesky_vjp,), samples=_square_samples(spd=True), complex=True,
    formula="dL = L·Φ(L⁻¹ sym(dA) L⁻ᵀ), Φ = lower triangle with half the diagonal",
    vjp_formula="Ā = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹) (Murray 2016)",
    doc="Lower Cholesky factor L of a symmetric positive definite A = L Lᵀ (of (A + Aᵀ)/2); of "
    "a Hermitian one, A = L Lᴴ (of (A + Aᴴ)/2, JAX's rule with conjugate transposes)",
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# matrix_power, multi_dot: products of matrices, in NumPy's order
# --------------------------------------------------------------------------------------------


def _matrix_power_samples(rng):
    shapes_and_powers = [((3, 3), 3), ((3, 3), 2), ((3, 3), 1), ((2, 3, 3), 5), ((3, 3), -2),
                         ((2, 2, 2), -1), ((3, 3), 0), ((0, 2, 2), 4)]  # fmt: skip
    return [((well_conditioned(rng, s) / 1.5,), {"n": k}) for s, k in shapes_and_powers]


@defcomposite(
    complex="holomorphic", module="linalg", samples=_matrix_power_samples, torch="matrix_power"
)
def matrix_power(a: Any, n: int) -> Any:
    """A square matrix (or each matrix of a stack) to an integer power, like
    ``np.linalg.matrix_power``: the same products in the same order (squarings), and the inverse
    first for ``n < 0``. For ``n = 0`` the identity, traced with a zero derivative (as PyTorch's).

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> A = np.array([[1.0, 2.0], [0.0, 1.0]])
        >>> ad.grad(lambda a: ad.linalg.matrix_power(a, 3)[0, 1])(A)   # d(A³)₀₁
        array([[6., 3.],
               [4., 6.]])
    """
    if not isinstance(a, Box):
        return np.linalg.matrix_power(a, n)
    shape = shape_of(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise np.linalg.LinAlgError(
            "linalg.matrix_power: last 2 dimensions of the array must be square"
        )
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError("linalg.matrix_power: exponent must be an integer") from None
    if n == 0:
        eye = np.broadcast_to(np.eye(shape[-1], dtype=raw(a).dtype), shape)
        return anp.where(np.ones(shape, dtype=bool), eye, a)
    if n < 0:
        a, n = la.inv(a), -n
    if n == 1:
        return a
    if n == 2:
        return anp.matmul(a, a)
    if n == 3:
        return anp.matmul(anp.matmul(a, a), a)
    z = result = None
    while n > 0:  # binary decomposition, as NumPy: squarings of a, multiplied in where a bit is 1
        z = a if z is None else anp.matmul(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else anp.matmul(result, z)
    return result


def _chain_order(shapes: list[tuple[int, int]]) -> np.ndarray:
    """NumPy's optimal parenthesization of a matrix chain (Cormen 15.2, as in multi_dot)."""
    n = len(shapes)
    p = [s[0] for s in shapes] + [shapes[-1][1]]
    cost = np.zeros((n, n))
    split = np.empty((n, n), dtype=np.intp)
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i, j] = np.inf
            for k in range(i, j):
                q = cost[i, k] + cost[k + 1, j] + p[i] * p[k + 1] * p[j + 1]
                if q < cost[i, j]:
                    cost[i, j] = q
                    split[i, j] = k
    return split


def _chain(arrays: list, split: np.ndarray, i: int, j: int) -> Any:
    if i == j:
        return arrays[i]
    k = split[i, j]
    return anp.dot(_chain(arrays, split, i, k), _chain(arrays, split, k + 1, j))


def _multi_dot_samples(rng):
    r = rng.standard_normal
    chains = [[(2, 3), (3, 4)], [(3,), (3, 4), (4, 2)], [(2, 5), (5, 3), (3,)],
              [(4,), (4, 2), (2, 3), (3,)], [(3, 4), (4, 2), (2, 5), (5, 1)],
              [(5, 2), (2, 6), (6, 3), (3, 4), (4, 2)], [(0, 2), (2, 3), (3, 2)]]  # fmt: skip
    return [(([r(s) for s in chain],), {}) for chain in chains]


@defcomposite(complex="holomorphic", module="linalg", samples=_multi_dot_samples)
def multi_dot(arrays: Any, *, out: Any = None) -> Any:
    """The product of two or more matrices, in the cheapest order, like
    ``np.linalg.multi_dot``: the same order, so the same values. A 1-D first (last) array is a
    row (column) vector.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> A, B, c = np.eye(2), np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, -1.0])
        >>> ad.grad(lambda b: ad.linalg.multi_dot([A, b, c]).sum())(B)
        array([[ 1., -1.],
               [ 1., -1.]])
    """
    arrays = list(arrays)
    if not any(isinstance(x, Box) for x in arrays):
        return np.linalg.multi_dot(arrays, out=out)
    if out is not None:
        raise TypeError("linalg.multi_dot: out= is not supported on traced values")
    n = len(arrays)
    if n < 2:
        raise ValueError("linalg.multi_dot: expecting at least two arrays")
    if n == 2:
        return anp.dot(arrays[0], arrays[1])
    arrays = [x if isinstance(x, Box) else as_array(x) for x in arrays]
    first, last = len(shape_of(arrays[0])), len(shape_of(arrays[-1]))
    if first == 1:
        arrays[0] = anp.reshape(arrays[0], (1, shape_of(arrays[0])[0]))
    if last == 1:
        arrays[-1] = anp.reshape(arrays[-1], (shape_of(arrays[-1])[0], 1))
    if any(len(shape_of(x)) != 2 for x in arrays):
        raise np.linalg.LinAlgError(
            "linalg.multi_dot: the arrays must be 2-dimensional (the first and last may be 1-D)"
        )
    shapes = [shape_of(x) for x in arrays]
    if n == 3:  # NumPy's _multi_dot_three
        (a0, a1b0), (b1c0, c1) = shapes[0], shapes[2]
        if a0 * b1c0 * (a1b0 + c1) < a1b0 * c1 * (a0 + b1c0):
            result = anp.dot(anp.dot(arrays[0], arrays[1]), arrays[2])
        else:
            result = anp.dot(arrays[0], anp.dot(arrays[1], arrays[2]))
    else:
        result = _chain(arrays, _chain_order(shapes), 0, n - 1)
    if first == 1 and last == 1:
        return anp.getitem(result, index=(0, 0))
    if first == 1 or last == 1:
        return anp.reshape(result, (-1,))
    return result
