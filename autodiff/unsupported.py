"""The NumPy functions autodiff refuses on traced values, each with the reason it gives.

The errors say the reason, and the docs' NumPy coverage page lists them (see
:mod:`autodiff.coverage`). A function not listed here and not differentiated has simply no rule
yet; the error then says how to add one.
"""

from __future__ import annotations

import numpy as np

from autodiff.numpy_api import unsupported


def _present(*names: str, space=np) -> list:
    """The callables that this NumPy version has (some were added or removed over versions)."""
    return [getattr(space, n) for n in names if hasattr(space, n)]


unsupported(
    "it writes into an array in place, and a traced value is immutable (its derivative needs "
    "the values it had); build a new array instead: ad.where(mask, new, x), ad.concatenate, "
    "or ad.scatter_add for accumulating updates",
    *_present("put", "place", "putmask", "copyto", "fill_diagonal", "put_along_axis"),
    *[uf.at for uf in (np.add, np.subtract, np.multiply, np.divide, np.maximum,
                                   np.minimum, np.negative, np.power)],
)  # fmt: skip
unsupported(
    "it works on integers or bits only, so it has no derivative; apply it to ad.raw(x), the "
    "plain values, if that is what you mean",
    *_present("bincount", "gcd", "lcm", "left_shift", "right_shift", "bitwise_count",
              "packbits", "unpackbits", "binary_repr", "base_repr"),
)  # fmt: skip
unsupported(
    "it reads or writes files; save or print the plain values (ad.raw(x)) outside the "
    "function being differentiated",
    *_present("save", "savez", "savez_compressed", "savetxt", "load", "loadtxt", "genfromtxt",
              "fromfile", "frombuffer", "fromregex", "fromstring"),
)  # fmt: skip
unsupported(
    "it works on dates, strings or Python objects, not on floating-point values",
    *_present("busday_count", "busday_offset", "is_busday", "datetime_as_string",
              "datetime_data", "frompyfunc"),
)  # fmt: skip
unsupported(
    "it calls a Python function on pieces of the array; write the loop (or the vectorised "
    "expression) with autodiff's functions instead",
    *_present("piecewise", "apply_along_axis", "apply_over_axes"),
)  # fmt: skip
