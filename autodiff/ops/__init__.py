"""The primitives, one ``defop`` declaration each, grouped by family."""

from autodiff.ops import (  # noqa: F401  (declaring is importing)
    arrange,
    conv,
    elementwise,
    indexing,
    joining,
    linalg,
    matmul,
    reductions,
    shape,
)
