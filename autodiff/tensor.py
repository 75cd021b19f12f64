"""The PyTorch-style ``Tensor``: a facade on the reverse engine.

A ``Tensor`` is a box of the outermost reverse trace (level 0). Operations on tensors that
require grad append nodes to the same kind of tape that ``vjp`` uses; ``.backward()`` sweeps it.
Everything else is PyTorch's vocabulary: ``requires_grad``, ``grad``, ``grad_fn``, ``is_leaf``,
``detach``, ``no_grad``, in-place methods with version counters.

Examples:
    >>> import autodiff as ad
    >>> a = ad.tensor([2.0, 3.0], requires_grad=True)
    >>> b = ad.tensor([6.0, 4.0], requires_grad=True)
    >>> Q = 3 * a**3 - b**2
    >>> Q.backward(gradient=ad.tensor([1.0, 1.0]))
    >>> a.grad, b.grad
    (tensor([36., 81.]), tensor([-12.,  -8.]))
"""

from __future__ import annotations

import weakref
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from autodiff import autograd, rng, tensor_methods
from autodiff.autograd import LeafNode, TensorNode, is_grad_enabled
from autodiff.core import Box, Trace, bind, lean
from autodiff.registry import Op, get
from autodiff.tensor_predicates import Predicates

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)
complex64 = np.dtype(np.complex64)
complex128 = np.dtype(np.complex128)

MinMax = namedtuple("MinMax", ["values", "indices"])


class TensorTrace(Trace):
    """The ambient reverse trace of the Tensor facade (level 0: below every transformation)."""

    __slots__ = ()

    def process(self, op: Op, args: tuple | list, params: dict[str, Any]) -> Any:
        values = []
        parents = []
        record = False
        for a in args:
            if isinstance(a, Tensor):
                values.append(a._value)
                node = a._node
                parents.append(node)
                record = record or node is not None
            else:
                values.append(a)
                parents.append(None)
        ans = bind(op, values, params)
        if not (record and op.differentiable and is_grad_enabled()):
            return Tensor._wrap(np.asarray(ans), None)
        out = Tensor._wrap(np.asarray(ans), None)
        saved, saved_ans = lean(op, values, out._value)
        # the version counters of the saved arrays, and the values they had when saved
        versions = tuple((a._version, a._version[0]) for a in args if isinstance(a, Tensor))
        out._node = TensorNode(op, saved, params, saved_ans, parents, versions, out._version)
        return out

    def wrap(self, value: np.ndarray, node: Any) -> Tensor:
        """A tensor of this trace holding ``value``, made by ``node`` (``None``: no history).

        :mod:`autodiff.autograd` makes tensors through this method, so it needs no import of
        this module."""
        return Tensor._wrap(value, node)


TENSOR_TRACE = TensorTrace(level=0)


def _name(op: Op) -> str:
    """The node's name as PyTorch prints it (``MulBackward0``): from the op's PyTorch name."""
    special = {"getitem": "Index", "matmul": "Mm", "logsumexp": "Logsumexp", "max": "Max",
               "min": "Min", "broadcast_to": "Expand", "getitem_": "Index"}  # fmt: skip
    if op.name in special:
        return special[op.name]
    return "".join(part.capitalize() for part in (op.torch or op.name).split("_"))


class GradFn:
    """A read-only view of a tape node in PyTorch's words (``grad_fn``, ``next_functions``)."""

    __slots__ = ("_node",)

    def __init__(self, node: Any) -> None:
        self._node = node

    def name(self) -> str:
        if isinstance(self._node, LeafNode):
            return "AccumulateGrad"
        return _name(self._node.op) + "Backward0"

    @property
    def next_functions(self) -> tuple[tuple[GradFn | None, int], ...]:
        if isinstance(self._node, LeafNode):
            return ()
        return tuple((GradFn(p) if p is not None else None, 0) for p in self._node.parents)

    @property
    def variable(self) -> Tensor | None:
        """For ``AccumulateGrad``: the leaf tensor it accumulates into."""
        return self._node.tensor_ref() if isinstance(self._node, LeafNode) else None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GradFn) and other._node is self._node

    def __hash__(self) -> int:
        return id(self._node)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self._node):#x}>"


class Tensor(Predicates, Box):
    """An n-dimensional array that can record its history for reverse-mode differentiation.

    Create tensors with :func:`tensor`, :func:`zeros`, :func:`randn`, ...; see the module
    docstring for an example.
    """

    __slots__ = ("__weakref__", "_grad", "_node", "_value", "_version")
    _trace = TENSOR_TRACE

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        arr = _to_array(data, dtype)
        self._value = arr
        self._node = None
        self._grad = None
        self._version = [0]
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, value: np.ndarray, node: Any) -> Tensor:
        t = object.__new__(cls)
        t._value = value
        t._node = node
        t._grad = None
        t._version = [0]
        return t

    # ---- autograd attributes ------------------------------------------------------------------

    @property
    def requires_grad(self) -> bool:
        return self._node is not None

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Start (or stop) recording operations on this leaf tensor. Returns the tensor."""
        if not self.is_leaf:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if requires_grad and not np.issubdtype(self.dtype, np.inexact):
            raise RuntimeError(
                "only Tensors of floating point and complex dtype can require gradients "
                f"(this one has dtype {self.dtype}); create it with dtype=ad.float32 or a float"
            )
        if requires_grad and self._node is None:
            self._node = LeafNode(self)
        elif not requires_grad:
            self._node = None
        return self

    @property
    def is_leaf(self) -> bool:
        return self._node is None or isinstance(self._node, LeafNode)

    @property
    def grad_fn(self) -> GradFn | None:
        if self._node is None or isinstance(self._node, LeafNode):
            return None
        return GradFn(self._node)

    @property
    def grad(self) -> Tensor | None:
        if not self.is_leaf and self._node.retain_ref is None:
            import warnings

            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. "
                "Its .grad attribute won't be populated during autograd.backward(). If you "
                "indeed want the .grad field to be populated for a non-leaf Tensor, use "
                ".retain_grad() on the non-leaf Tensor.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None and tuple(value.shape) != tuple(self.shape):
            raise RuntimeError(
                f"assigned grad has shape {tuple(value.shape)} but the tensor has shape "
                f"{tuple(self.shape)}"
            )
        self._grad = value

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor during the next backward."""
        if self._node is None:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if not self.is_leaf:
            self._node.retain_ref = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        return not self.is_leaf and self._node.retain_ref is not None

    def _accumulate(self, g: Any, create_graph: bool, taken: set[int]) -> None:
        """Add ``g`` into ``.grad``, in place like PyTorch.

        ``.grad`` must own its array (``zero_()`` and the in-place add write into it), so ``g`` is
        copied only when it might be shared: a view, an array already given to another tensor in
        this sweep (``taken``), or the caller's own ``gradient``.
        """
        if isinstance(g, Tensor):
            g = g if create_graph else g._value
        if g.dtype.kind == "c":
            # the engines' gradient is JAX's, ∂L/∂a - i·∂L/∂b; PyTorch's .grad is its conjugate
            g = get("conj").public(g) if isinstance(g, Tensor) else np.conj(g)
        if isinstance(g, Tensor):
            self._grad = g if self._grad is None else self._grad + g
            return
        g = np.asarray(g)
        if self._grad is None:
            if (
                id(g) in taken
                or not g.flags.owndata
                or not g.flags.writeable
                or g.dtype != self.dtype
            ):
                g = np.array(g, dtype=self.dtype, copy=True)
            taken.add(id(g))
            self._grad = Tensor._wrap(g, None)
            return
        grad = self._grad._value
        if grad.flags.writeable and grad.shape == g.shape:
            np.add(grad, g, out=grad, casting="unsafe")
        else:
            self._grad._value = (grad + g).astype(self.dtype, copy=False)
        self._grad._version[0] += 1

    def backward(
        self, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False
    ) -> None:
        """Compute the gradient of this tensor with respect to the graph's leaves.

        Gradients **accumulate** into each leaf's ``.grad``; zero them between steps
        (``optimizer.zero_grad()`` or ``x.grad.zero_()``).

        Args:
            gradient: ``∂L/∂self``, the vector of the vector-Jacobian product; may be omitted
                for a scalar (one-element) tensor.
            retain_graph: keep the graph for another backward (default: ``create_graph``).
            create_graph: record the backward pass too, for higher-order derivatives.
        """
        autograd.backward(self, gradient, retain_graph, create_graph)

    def detach(self) -> Tensor:
        """A tensor sharing this one's data, cut from the graph (``requires_grad=False``)."""
        t = Tensor._wrap(self._value, None)
        t._version = self._version
        return t

    def detach_(self) -> Tensor:
        self._node = None
        return self

    @property
    def data(self) -> Tensor:
        return self.detach()

    @data.setter
    def data(self, value: Tensor) -> None:
        self._value = _to_array(value, None)

    def clone(self) -> Tensor:
        """A copy that stays in the graph (its gradient flows back to this tensor)."""
        return self * 1 if self.requires_grad else Tensor._wrap(self._value.copy(), None)

    # ---- conversion ---------------------------------------------------------------------------

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared, not copied)."""
        if self.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        return self._value

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def item(self) -> float | int | bool:
        if self._value.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._value.size} elements cannot be converted to Scalar"
            )
        return self._value.reshape(()).item()

    def tolist(self) -> Any:
        return self._value.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if not np.issubdtype(self.dtype, np.integer):
            raise TypeError("only integer tensors can be converted to an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._value.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._value.size} values is ambiguous; use .any() or "
                ".all()"
            )
        return bool(self.item())

    def float(self) -> Tensor:
        return self.to(float32)

    def double(self) -> Tensor:
        return self.to(float64)

    def long(self) -> Tensor:
        return Tensor._wrap(self._value.astype(np.int64), None)

    def int(self) -> Tensor:
        return Tensor._wrap(self._value.astype(np.int32), None)

    def bool(self) -> Tensor:
        return Tensor._wrap(self._value.astype(bool), None)

    def to(self, dtype: Any) -> Tensor:
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        if np.issubdtype(dtype, np.inexact) and self.requires_grad:
            return get("astype").public(self, dtype)
        return Tensor._wrap(self._value.astype(dtype), None)

    type = to

    # ---- complex numbers (PyTorch's convention: .grad = ∂L/∂a + i·∂L/∂b) ---------------------

    def is_complex(self) -> bool:
        """Whether the tensor holds complex numbers.

        Examples:
            >>> import autodiff as ad
            >>> ad.tensor([1 + 2j]).is_complex(), ad.tensor([1.0]).is_complex()
            (True, False)
        """
        return self.dtype.kind == "c"

    def is_floating_point(self) -> bool:
        """Whether the tensor holds real floating point numbers."""
        return self.dtype.kind == "f"

    @property
    def real(self) -> Tensor:
        """The real part (differentiable), as PyTorch's ``Tensor.real``.

        Examples:
            >>> import autodiff as ad
            >>> z = ad.tensor([3 + 4j], requires_grad=True)
            >>> (z.real * 2 + z.imag).sum().backward()
            >>> z.grad                                     # ∂L/∂a + i·∂L/∂b
            tensor([2.+1.j])
        """
        return get("real").public(self)

    @property
    def imag(self) -> Tensor:
        """The imaginary part (differentiable), as PyTorch's ``Tensor.imag``."""
        return get("imag").public(self)

    # ---- shape -------------------------------------------------------------------------------

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:  # type: ignore[override]
        return tuple(self.shape) if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(self._value.size)

    def reshape(self, *shape: Any) -> Tensor:  # type: ignore[override]
        """This tensor's data in a new shape: ``t.reshape(2, 3)`` or ``t.reshape((2, -1))``."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return get("reshape").public(self, shape)

    def view(self, *shape: Any) -> Tensor:
        return self.reshape(*shape)

    def view_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        shape = tuple(self.shape)
        if not shape:
            return self.reshape(1)
        s, e = start_dim % len(shape), end_dim % len(shape)
        new = shape[:s] + (int(np.prod(shape[s : e + 1])),) + shape[e + 1 :]
        return self.reshape(new)

    def unsqueeze(self, dim: int) -> Tensor:
        return get("expand_dims").public(self, dim % (self.ndim + 1))

    def squeeze(self, dim: int | None = None) -> Tensor:
        if dim is not None and self.shape[dim] != 1:
            return self
        return get("squeeze").public(self, dim)

    def permute(self, *dims: Any) -> Tensor:
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return get("transpose").public(self, dims)

    def transpose(self, dim0: int, dim1: int) -> Tensor:  # type: ignore[override]
        return get("swapaxes").public(self, dim0, dim1)

    def t(self) -> Tensor:
        return get("transpose").public(self, None)

    def expand(self, *sizes: Any) -> Tensor:
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        shape = tuple(s if s != -1 else self.shape[i - len(sizes) + self.ndim]
                      for i, s in enumerate(sizes))  # fmt: skip
        return get("broadcast_to").public(self, shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(tuple(other.shape))

    # ---- math in PyTorch's words (dim / keepdim) -----------------------------------------------
    # The methods here are the ones whose PyTorch semantics differ from their op's (max returns
    # values and indices, var is unbiased, ...). Every other op declared with a PyTorch name
    # (``torch=``) becomes a method generated from the registry: see autodiff.tensor_methods.

    def _reduce(self, name: str, dim: Any, keepdim: bool, **extra: Any) -> Tensor:
        return get(name).public(self, axis=dim, keepdims=keepdim, **extra)

    def sum(self, dim: Any = None, keepdim: bool = False, axis: Any = None) -> Tensor:
        return self._reduce("sum", dim if axis is None else axis, keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False, axis: Any = None) -> Tensor:
        return self._reduce("mean", dim if axis is None else axis, keepdim)

    def var(self, dim: Any = None, unbiased: bool = True, keepdim: bool = False,
            correction: int | None = None) -> Tensor:  # fmt: skip
        ddof = correction if correction is not None else int(unbiased)
        return self._reduce("var", dim, keepdim, ddof=ddof)

    def std(self, dim: Any = None, unbiased: bool = True, keepdim: bool = False,
            correction: int | None = None) -> Tensor:  # fmt: skip
        ddof = correction if correction is not None else int(unbiased)
        return self._reduce("std", dim, keepdim, ddof=ddof)

    def _extremum(self, name: str, dim: Any, keepdim: bool) -> Any:
        if dim is None:
            return self._reduce(name, None, False)
        values = self._reduce(name, dim, keepdim)
        arg = np.argmax if name == "max" else np.argmin
        idx = arg(self._value, axis=dim)
        idx = np.expand_dims(idx, dim) if keepdim else idx
        return MinMax(values, Tensor._wrap(np.asarray(idx, dtype=np.int64), None))

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:  # type: ignore[override]
        return self._extremum("max", dim, keepdim)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:  # type: ignore[override]
        return self._extremum("min", dim, keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        idx = np.argmax(self._value, axis=dim, keepdims=keepdim)
        return Tensor._wrap(np.asarray(idx, dtype=np.int64), None)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        idx = np.argmin(self._value, axis=dim, keepdims=keepdim)
        return Tensor._wrap(np.asarray(idx, dtype=np.int64), None)

    def pow(self, exponent: Any) -> Tensor:
        return self**exponent

    def mm(self, mat2: Any) -> Tensor:
        return self @ mat2

    def where(self, condition: Any, other: Any) -> Tensor:
        """``self`` where ``condition`` holds, ``other`` elsewhere (``torch.where(condition,
        self, other)``)."""
        return get("where").public(condition, self, other)

    def repeat(self, *sizes: Any) -> Tensor:  # type: ignore[override]
        """Tile the tensor ``sizes[i]`` times along each dimension, like ``torch.Tensor.repeat``
        (NumPy's ``tile``; NumPy's ``repeat`` is :meth:`repeat_interleave`)."""
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        if len(sizes) < self.ndim:
            raise RuntimeError(
                "Number of dimensions of repeat dims can not be smaller than number of dimensions "
                f"of tensor (got {len(sizes)} for a {self.ndim}-d tensor)"
            )
        return get("tile").public(self, tuple(sizes))

    def all(self, dim: Any = None) -> Tensor:
        return Tensor._wrap(np.asarray(np.all(self._value, axis=dim)), None)

    def any(self, dim: Any = None) -> Tensor:
        return Tensor._wrap(np.asarray(np.any(self._value, axis=dim)), None)

    # comparisons, isnan and the other tests of values: autodiff/tensor_predicates.py

    __hash__ = Box.__hash__

    # ---- in-place operations ------------------------------------------------------------------

    def _check_inplace(self) -> None:
        if self.is_leaf and self.requires_grad and is_grad_enabled():
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation. "
                "Wrap the update in `with ad.no_grad():` (as optimizers do) or work on a copy"
            )

    def _set(self, result: Tensor) -> Tensor:
        """Make ``self`` hold ``result`` (an in-place update), bumping its version."""
        self._check_inplace()
        value = np.asarray(result._value, dtype=self.dtype)
        if result._node is not None and is_grad_enabled():
            # Recorded: this tensor now stands for the new node (PyTorch "rebases" its history).
            # It takes the new array instead of overwriting the old one, which earlier nodes
            # may have saved; so they stay valid and need no version check.
            self._value = value
            self._node = result._node
            self._version = [self._version[0] + 1]
            self._node.out_version = self._version
            self._node.out_seen = self._version[0]
            return self
        if value.shape == self._value.shape and self._value.flags.writeable:
            self._value[...] = value  # keep sharing memory with views made by detach()
        else:
            self._value = value.copy()
        self._version[0] += 1
        return self

    def _inplace(self, ufunc: np.ufunc, other: Any, recorded: Any) -> Tensor:
        """``self = ufunc(self, other)`` in place: NumPy's ``out=`` when nothing is recorded."""
        o = other._value if isinstance(other, Tensor) else other
        records = is_grad_enabled() and (
            self._node is not None or (isinstance(other, Tensor) and other._node is not None)
        )
        if records or not self._value.flags.writeable:
            return self._set(recorded())
        self._check_inplace()
        ufunc(self._value, o, out=self._value, casting="same_kind")
        self._version[0] += 1
        return self

    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        if alpha != 1:
            return self._set(self + other * alpha)
        return self._inplace(np.add, other, lambda: self + other)

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        if alpha != 1:
            return self._set(self - other * alpha)
        return self._inplace(np.subtract, other, lambda: self - other)

    def mul_(self, other: Any) -> Tensor:
        return self._inplace(np.multiply, other, lambda: self * other)

    def div_(self, other: Any) -> Tensor:
        return self._inplace(np.divide, other, lambda: self / other)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        return self._set(self.clamp(min, max))

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        return self._set(Tensor._wrap(np.full(self.shape, value, dtype=self.dtype), None))

    def copy_(self, src: Any) -> Tensor:
        src = src if isinstance(src, Tensor) else Tensor(src)
        if src.requires_grad and is_grad_enabled():
            return self._set(get("broadcast_to").public(src, tuple(self.shape)) + 0)
        return self._set(Tensor._wrap(np.broadcast_to(src._value, self.shape), None))

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        """Fill with uniform samples in [a, b), drawn like ``torch.Tensor.uniform_``."""
        return self._set(Tensor._wrap(rng.uniform_(np.empty_like(self._value), a, b), None))

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        """Fill with normal samples, drawn like ``torch.Tensor.normal_``."""
        return self._set(Tensor._wrap(rng.normal_(np.empty_like(self._value), mean, std), None))

    def __setitem__(self, index: Any, value: Any) -> None:
        index = index._value if isinstance(index, Tensor) else index
        if (isinstance(value, Tensor) and value.requires_grad) or self.requires_grad:
            if not is_grad_enabled():
                new = self._value.copy()
                new[index] = value._value if isinstance(value, Tensor) else value
                self._set(Tensor._wrap(new, None))
                return
            mask = np.zeros(self.shape, dtype=bool)
            mask[index] = True
            placed = (
                get("scatter_add").public(
                    value if isinstance(value, Tensor) else Tensor(value, dtype=self.dtype),
                    index=index,
                    shape=tuple(self.shape),
                )
                if not np.isscalar(value)
                else value
            )
            # broadcast a smaller value the way NumPy assignment does
            if isinstance(placed, Tensor) and tuple(placed.shape) != tuple(self.shape):
                placed = get("broadcast_to").public(placed, tuple(self.shape))
            self._set(get("where").public(mask, placed, self))
            return
        self._check_inplace()
        self._value[index] = value._value if isinstance(value, Tensor) else value
        self._version[0] += 1

    # ---- printing -----------------------------------------------------------------------------

    def __repr__(self) -> str:
        return format_tensor(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        # like PyTorch: a 0-d tensor formats as its number (f"{loss}" prints 0.7768...)
        if self._value.ndim == 0 or (spec and self._value.size == 1):
            return format(self.item(), spec)
        return repr(self)

    def __deepcopy__(self, memo: dict) -> Tensor:
        if not self.is_leaf:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol at the moment; use .detach().clone() for a computed tensor"
            )
        new = type(self).__new__(type(self))
        new._value = self._value.copy()
        new._node = None
        new._grad = None if self._grad is None else Tensor._wrap(self._grad._value.copy(), None)
        new._version = [0]
        if self.requires_grad:
            new.requires_grad_(True)
        memo[id(self)] = new
        return new

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(self.shape[0]):
            yield self[i]

    def __reduce__(self):
        raise TypeError("Tensors are not pickled by autodiff; save with ad.save (an .npz file)")


def _to_array(data: Any, dtype: Any) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data._value
    elif isinstance(data, Box):
        raise TypeError("cannot make a Tensor from a traced value inside a transformation")
    elif isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in _flatten(data)):
        data = np.array([d._value if isinstance(d, Tensor) else d for d in data])
    if isinstance(data, (str, bytes)) or data is None:
        raise TypeError(f"tensor() needs numbers, got {type(data).__name__}")
    arr = np.array(data, dtype=None if dtype is None else np.dtype(dtype))
    if arr.dtype == object:
        raise TypeError("tensor() needs a rectangular nest of numbers")
    if dtype is None and arr.dtype == np.float16:
        arr = arr.astype(np.float64)
    if dtype is None and not isinstance(data, (np.ndarray, np.generic)):
        arr = arr.astype(_python_number_dtype(arr.dtype), copy=False)
    return arr


def _python_number_dtype(inferred: np.dtype) -> np.dtype:
    """The dtype of Python floats (and complex numbers) in a new tensor: the default dtype (and
    its complex counterpart), as in PyTorch; NumPy's arrays and scalars keep theirs."""
    if inferred == float64:
        return _default_dtype
    if inferred == np.complex128 and _default_dtype == float32:
        return np.dtype(np.complex64)
    return inferred


def _flatten(items: Any):
    for x in items:
        if isinstance(x, (list, tuple)):
            yield from _flatten(x)
        else:
            yield x


def _fmt_float(values: np.ndarray):
    finite = values[np.isfinite(values)]
    if finite.size and np.all(finite == np.round(finite)) and np.max(np.abs(finite)) < 1e8:
        return lambda v: f"{v:.0f}." if np.isfinite(v) else str(v)
    absf = np.abs(finite[finite != 0]) if finite.size else finite
    if absf.size and (absf.max() / absf.min() > 1000 or absf.max() > 1e8 or absf.max() < 1e-4):
        return lambda v: f"{v:.4e}"
    return lambda v: f"{v:.4f}"


def format_tensor(t: Tensor) -> str:
    """PyTorch-like text: ``tensor([-0.1308], grad_fn=<AddBackward0>)``."""
    value = t._value
    prefix = "tensor("
    if np.issubdtype(value.dtype, np.floating):
        flat = value.ravel().astype(np.float64)
        base = _fmt_float(flat)
        width = max((len(base(v)) for v in flat[:2000]), default=0)

        def fmt(v):
            return base(v).rjust(width)

        body = np.array2string(value, separator=", ", prefix=prefix,
                               formatter={"float_kind": fmt}, threshold=1000, edgeitems=3)  # fmt: skip
        if value.ndim == 0:
            body = base(float(value))
    elif value.dtype == bool:
        body = np.array2string(value, separator=", ", prefix=prefix,
                               formatter={"bool": lambda b: str(bool(b))})  # fmt: skip
    else:
        body = np.array2string(value, separator=", ", prefix=prefix)
    extras = []
    if value.size == 0:
        extras.append(f"size={tuple(value.shape)}")
    default_complex = complex64 if _default_dtype == float32 else complex128
    if value.dtype not in (float64, int64, bool_, default_complex):
        extras.append(f"dtype={value.dtype}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return prefix + body + "".join(", " + e for e in extras) + ")"


# ---- creation ----------------------------------------------------------------------------------


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, NumPy arrays, numbers).

    Python floats give the default dtype (float64 unless :func:`set_default_dtype` changed it),
    ints give int64; a NumPy array keeps its dtype.

    Examples:
        >>> import autodiff as ad
        >>> ad.tensor([2.0, 3.0], requires_grad=True)
        tensor([2., 3.], requires_grad=True)
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _shape(size: Sequence[Any]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(int(s) for s in size[0])
    return tuple(int(s) for s in size)


def _dtype(dtype: Any) -> np.dtype:
    return _default_dtype if dtype is None else np.dtype(dtype)


# The dtype of floating-point tensors made without a dtype: process-wide, as in PyTorch.
_default_dtype = float64


def set_default_dtype(d: Any) -> None:
    """Set the dtype of floating-point tensors made without one (``ad.tensor([1.0])``,
    ``ad.zeros(3)``, ``ad.randn(2)``, layers' parameters), like ``torch.set_default_dtype``.

    float64 is autodiff's default (NumPy's); float32 works end to end and stays float32. The
    setting is process-wide, as in PyTorch; NumPy arrays given to ``ad.tensor`` keep their dtype.

    Examples:
        >>> import autodiff as ad
        >>> ad.set_default_dtype(ad.float32)
        >>> ad.tensor([1.5]).dtype, ad.zeros(2).dtype
        (dtype('float32'), dtype('float32'))
        >>> ad.set_default_dtype(ad.float64)
        >>> ad.get_default_dtype()
        dtype('float64')

    Raises:
        TypeError: ``d`` is not float32 or float64.
    """
    global _default_dtype
    dtype = np.dtype(d)
    if dtype not in (float32, float64):
        raise TypeError(
            f"only floating-point types are supported as the default type: float32 or float64, "
            f"got {dtype}"
        )
    _default_dtype = dtype


def get_default_dtype() -> np.dtype:
    """The dtype of floating-point tensors made without one (float64 unless
    :func:`set_default_dtype` changed it), like ``torch.get_default_dtype``.

    Examples:
        >>> import autodiff as ad
        >>> ad.get_default_dtype()
        dtype('float64')
    """
    return _default_dtype


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``ad.zeros(2, 3)`` or ``ad.zeros((2, 3))``."""
    return Tensor(np.zeros(_shape(size), _dtype(dtype)), requires_grad=requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ad.ones(4)``."""
    return Tensor(np.ones(_shape(size), _dtype(dtype)), requires_grad=requires_grad)


def full(size: Sequence[int], fill_value: float, dtype: Any = None,
         requires_grad: bool = False) -> Tensor:  # fmt: skip
    """A tensor filled with ``fill_value`` (of the default dtype for a float, int64 for an int)."""
    dt = _python_number_dtype(np.asarray(fill_value).dtype) if dtype is None else np.dtype(dtype)
    return Tensor(np.full(tuple(size), fill_value, dt), requires_grad=requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:  # fmt: skip
    """Evenly spaced values in ``[start, end)``, like ``torch.arange`` (int64 for integer
    arguments, the default dtype when one is a float)."""
    values = np.arange(start, end, step) if end is not None else np.arange(start)
    dt = _python_number_dtype(values.dtype) if dtype is None else np.dtype(dtype)
    return Tensor(values.astype(dt, copy=False), requires_grad=requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:  # fmt: skip
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    return Tensor(np.linspace(start, end, steps, dtype=_dtype(dtype)), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """The identity matrix."""
    return Tensor(np.eye(n, m, dtype=_dtype(dtype)), requires_grad=requires_grad)


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(tuple(np.shape(t)), dtype=_like_dtype(t, dtype), requires_grad=requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(tuple(np.shape(t)), dtype=_like_dtype(t, dtype), requires_grad=requires_grad)


def full_like(t: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return full(tuple(np.shape(t)), fill_value, dtype=_like_dtype(t, dtype),
                requires_grad=requires_grad)  # fmt: skip


def _like_dtype(t: Any, dtype: Any) -> np.dtype:
    if dtype is not None:
        return np.dtype(dtype)
    return t.dtype if hasattr(t, "dtype") else _default_dtype


def manual_seed(seed: int) -> Any:
    """Seed the random generator; the same seed gives PyTorch's CPU numbers.

    Examples:
        >>> import autodiff as ad
        >>> _ = ad.manual_seed(10)
        >>> ad.randn(1)
        tensor([-0.6014])
    """
    return rng.manual_seed(seed)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False, generator: Any = None
         ) -> Tensor:  # fmt: skip
    """Uniform samples in [0, 1), drawn like ``torch.rand`` (same numbers for the same seed).

    The default dtype is float64 (see :func:`set_default_dtype`), holding the values torch draws
    for its default float32.
    """
    # with no dtype given, draw torch's default (float32) stream, so the numbers match PyTorch
    sample = np.float32 if dtype is None else None
    value = rng.rand(*_shape(size), dtype=_dtype(dtype), sample_dtype=sample, generator=generator)
    return Tensor(value, requires_grad=requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False, generator: Any = None
          ) -> Tensor:  # fmt: skip
    """Standard normal samples, drawn like ``torch.randn`` (same numbers for the same seed)."""
    sample = np.float32 if dtype is None else None
    value = rng.randn(*_shape(size), dtype=_dtype(dtype), sample_dtype=sample, generator=generator)
    return Tensor(value, requires_grad=requires_grad)


def rand_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return rand(tuple(np.shape(t)), dtype=_like_dtype(t, dtype), requires_grad=requires_grad)


def randn_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return randn(tuple(np.shape(t)), dtype=_like_dtype(t, dtype), requires_grad=requires_grad)


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


# every op declared with a PyTorch name is a Tensor method, now and when declared later
tensor_methods.attach(Tensor)
