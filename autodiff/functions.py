"""The public function of every registered op and composite, in one namespace.

:mod:`autodiff.numpy_api` fills this module from the registry at import (and keeps it in step as
ops are declared or removed): ``functions.sin``, ``functions.sum``, ... are the same objects as
``autodiff.sin``, ``autodiff.sum``. Derivative rules call them as ``anp.<name>`` so that a rule
applied to boxed values is itself recorded. Ops of NumPy's submodules are here too, under their
registry names, and in their own namespaces (:data:`linalg`, :data:`fft`, :data:`special`), which
are the ``autodiff.linalg``, ``autodiff.fft`` and ``autodiff.special`` that users see.

This module holds no code of its own, so the names it holds (``sum``, ``max``, ``abs``) shadow
no builtin that anything here uses.
"""

import types

linalg = types.ModuleType("autodiff.linalg", "Linear algebra with derivatives (like numpy.linalg).")
fft = types.ModuleType("autodiff.fft", "Discrete Fourier transforms with derivatives (numpy.fft).")
special = types.ModuleType(
    "autodiff.special",
    "Special functions with derivatives (scipy.special's ufuncs; needs SciPy installed).",
)

# the namespace of each registry ``module`` value
NAMESPACES = {"linalg": linalg, "fft": fft, "special": special}
