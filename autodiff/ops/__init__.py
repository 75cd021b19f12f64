"""The primitives, one ``defop`` declaration each, grouped by family."""

from autodiff.ops import (  # noqa: F401  (declaring is importing)
    arrange,
    conv,
    decompositions,
    elementwise,
    gradient_stop,
    indexing,
    joining,
    layout,
    linalg,
    matmul,
    polynomials,
    products,
    reductions,
    rounding,
    shape,
    signals,
    sorting,
    spaces,
    special,
    statistics,
)
