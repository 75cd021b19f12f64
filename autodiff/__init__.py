"""autodiff: derivatives of NumPy code, in forward mode (dual numbers) and reverse mode (a tape).

Examples:
    >>> import numpy as np, autodiff as ad
    >>> Q = lambda a, b: 3 * a**3 - b**2
    >>> a, b = np.array([2.0, 3.0]), np.array([6.0, 4.0])
    >>> ad.jvp(Q, (a, b), (np.ones(2), np.zeros(2)))[1]     # forward: one column sweep
    array([36., 81.])
    >>> ad.vjp(Q, a, b)[1](np.ones(2))                        # reverse: one row sweep
    (array([36., 81.]), array([-12.,  -8.]))
"""

import sys as _sys

from autodiff import autograd, models, nn, optim, registry, tree, utils, viz
from autodiff import numpy_api as _numpy_api
from autodiff import ops as _ops  # noqa: F401  (declares the primitives)
from autodiff import unsupported as _unsupported  # noqa: F401  (the reasons errors give)
from autodiff.autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from autodiff.checkpoint import checkpoint, remat
from autodiff.compare import builtin_problem, compare_modes
from autodiff.compile import compile  # ad.compile; the builtin stays builtins.compile
from autodiff.construct import array, asarray  # ad.linspace is construct's composite too
from autodiff.core import raw
from autodiff.custom import custom_jvp, custom_vjp
from autodiff.forward import Dual, jvp
from autodiff.functional_call import functional_call
from autodiff.functions import fft, linalg, special
from autodiff.io import load, save
from autodiff.jacobian import (
    SweepCount,
    confirm_vjp,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    linearize,
)  # fmt: skip
from autodiff.parallel import freeze_builtin_ops as _freeze_builtin_ops
from autodiff.parallel import per_example_grad
from autodiff.reverse import Tape, Traced, grad, tape, value_and_grad, vjp
from autodiff.tensor import (
    Tensor,
    arange,
    bool_,
    complex64,
    complex128,
    eye,
    float32,
    float64,
    full,
    full_like,
    get_default_dtype,
    int64,
    is_tensor,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randn,
    randn_like,
    set_default_dtype,
    tensor,
    zeros,
    zeros_like,
)  # fmt: skip
from autodiff.testing import check_grads
from autodiff.vmap import vmap

_numpy_api.install(globals())
for _space in (linalg, fft, special):
    _sys.modules[_space.__name__] = _space

__version__ = "0.1.0"
_freeze_builtin_ops()  # ops declared after this are sent to executor= workers

__all__ = [
    "jvp", "vjp", "grad", "value_and_grad", "tape", "check_grads",
    "jacfwd", "jacrev", "jacobian", "hessian", "hvp", "linearize", "confirm_vjp", "SweepCount",
    "compare_modes", "builtin_problem", "compile",
    "Tensor", "tensor", "zeros", "ones", "full", "arange", "eye", "zeros_like",
    "ones_like", "full_like", "rand", "randn", "rand_like", "randn_like", "manual_seed",
    "is_tensor", "float32", "float64", "int64", "bool_", "complex64", "complex128",
    "set_default_dtype", "get_default_dtype",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "autograd",
    "Dual", "Traced", "Tape", "raw", "registry", "linalg", "fft", "special", "viz",
    "tree", "vmap", "custom_jvp", "custom_vjp",
    "array", "asarray",
    "load", "save", "models", "nn", "optim",
    "checkpoint", "remat", "functional_call", "utils", "per_example_grad",
] + [f.name for f in [*registry.ops(), *registry.composites()] if f.module == ""]  # fmt: skip
