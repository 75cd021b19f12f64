"""One adapter module per library. Each is optional: a failed import skips that library.

An adapter module ``<name>_impl`` defines, for each workload it takes part in, a function of the
same name (``perop``, ``mlp``, ``jacobian``, ``hvp``, ``memory``, ``resnet``,
``perexample``) that receives the
problem from `bench.problems` and returns a list of `bench.harness.Impl`. It also defines
``VERSION`` (a string) for the machine record.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: in the order of the tables' columns
LIBRARIES = ("autodiff", "autograd", "torch", "jax", "numpy")
PEERS = ("autograd", "torch", "jax")
INSTALL_HINT = "pip install -e '.[bench]'"


def load(name: str) -> tuple[ModuleType | None, str]:
    """Import the adapter of library ``name``: (module, "") or (None, the reason it is skipped)."""
    if name not in LIBRARIES:
        raise ValueError(f"unknown library {name!r}; choose from {', '.join(LIBRARIES)}")
    try:
        return importlib.import_module(f"bench.libs.{name}_impl"), ""
    except ImportError as exc:
        missing = getattr(exc, "name", None) or str(exc)
        if name == "autodiff":
            return None, f"import autodiff failed: {exc}"
        return None, f"{name} not installed ({missing}: {INSTALL_HINT})"
    except Exception as exc:  # a broken install of a peer must not stop the run
        return None, f"import of {name} failed: {type(exc).__name__}: {exc}"
