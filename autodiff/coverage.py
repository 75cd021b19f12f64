"""Which NumPy (and SciPy) functions autodiff differentiates, read from the dispatch tables.

Nothing here is written by hand: :mod:`autodiff.numpy_api` fills its tables from the registry,
and this module reads them next to the public names of ``numpy``, ``numpy.linalg``,
``numpy.fft`` and ``scipy.special`` (when SciPy is installed). Each NumPy callable falls in one
of four kinds:

* ``derivative``: called on a traced value, it is differentiated (an op or a composite);
* ``no derivative``: it accepts traced values and returns a plain result that carries no
  derivative (a boolean or integer array, a shape, an index);
* ``unsupported``: it raises a clear error, with the reason recorded by
  :func:`autodiff.numpy_api.unsupported` (mutation, integer-only, I/O, ...);
* ``no rule yet``: it raises "not supported" because nobody has written its rule.

``python -m autodiff coverage`` prints the counts; the docs' NumPy coverage page shows the lists.

Examples:
    >>> from autodiff.coverage import classify
    >>> import numpy as np
    >>> classify(np.sin), classify(np.argmax), classify(np.add.at)[0]
    (('derivative', 'sin'), ('no derivative', ''), 'unsupported')
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import types
from dataclasses import dataclass
from typing import Any

import numpy as np

from autodiff import numpy_api
from autodiff.registry import Composite, Op, composites, ops

KINDS = ("derivative", "no derivative", "unsupported", "no rule yet")

# ufunc methods worth listing (np.add.reduce, ...); __call__ is the ufunc itself
UFUNC_METHODS = ("reduce", "accumulate", "reduceat", "outer", "at")


@dataclass(frozen=True)
class Entry:
    """One NumPy callable: its name as users write it, its kind, and what serves it."""

    name: str
    kind: str
    detail: str  # the autodiff function, or the reason it is unsupported


def namespaces() -> dict[str, Any]:
    """The namespaces covered: NumPy's main ones, and scipy.special when SciPy is installed."""
    spaces: dict[str, Any] = {"np": np, "np.linalg": np.linalg, "np.fft": np.fft}
    with contextlib.suppress(ImportError):
        spaces["scipy.special"] = importlib.import_module("scipy.special")
    return spaces


def _public_callables(space: Any) -> list[tuple[str, Any]]:
    out = []
    for name in sorted(dir(space)):
        if name.startswith("_"):
            continue
        obj = getattr(space, name, None)
        if isinstance(obj, (type, types.ModuleType)) or not callable(obj):
            continue  # dtypes, classes, submodules
        out.append((name, obj))
    return out


def _served_by(entry: Any) -> str:
    """The autodiff name behind a dispatch-table entry (an op, a composite or a function)."""
    if isinstance(entry, (Op, Composite)):
        return f"{entry.module}.{entry.name}" if entry.module else entry.name
    comp = getattr(entry, "composite", None)
    if comp is not None:
        return _served_by(comp)
    op = getattr(entry, "op", None)
    if isinstance(op, Op):
        return _served_by(op)
    by_fn = {x.public: x for x in [*ops(), *composites()]}
    if entry in by_fn:
        return _served_by(by_fn[entry])
    return getattr(entry, "__name__", "")


def classify(fn: Any, method: str = "__call__") -> tuple[str, str]:
    """``(kind, detail)`` for a NumPy callable (or a ufunc's ``method``)."""
    if isinstance(fn, np.ufunc):
        if method != "__call__":
            served = numpy_api._ufunc_method_table.get((fn.__name__, method))
            if served is not None:
                return "derivative", _served_by(served)
            if fn.__name__ in numpy_api.NONDIFF_UFUNCS:
                return "no derivative", ""
            reason = numpy_api.UNSUPPORTED.get((fn, method)) or numpy_api.UNSUPPORTED.get(
                getattr(fn, method, None)
            )
            return ("unsupported", reason) if reason else ("no rule yet", "")
        entry = numpy_api._ufunc_table.get(fn.__name__)
        if entry is not None:
            return "derivative", _served_by(entry)
        if fn.__name__ in numpy_api.NONDIFF_UFUNCS:
            return "no derivative", ""
    else:
        entry = numpy_api._function_table.get(fn)
        if entry is not None:
            return "derivative", _served_by(entry)
        if fn in numpy_api.NONDIFF_FUNCTIONS:
            return "no derivative", ""
    reason = numpy_api.UNSUPPORTED.get(fn)
    return ("unsupported", reason) if reason else ("no rule yet", "")


def entries() -> dict[str, list[Entry]]:
    """Every public callable of each namespace, classified; ufunc methods of the main
    namespace's ufuncs that autodiff serves or explains are listed too."""
    out: dict[str, list[Entry]] = {}
    for prefix, space in namespaces().items():
        rows = []
        for name, fn in _public_callables(space):
            kind, detail = classify(fn)
            rows.append(Entry(f"{prefix}.{name}", kind, detail))
            if isinstance(fn, np.ufunc) and prefix == "np":
                for method in UFUNC_METHODS:
                    mkind, mdetail = classify(fn, method)
                    if mkind in ("derivative", "unsupported"):
                        rows.append(Entry(f"{prefix}.{name}.{method}", mkind, mdetail))
        out[prefix] = rows
    return out


def counts() -> dict[str, dict[str, int]]:
    """Per namespace, how many callables of each kind."""
    return {
        prefix: {kind: sum(e.kind == kind for e in rows) for kind in KINDS}
        for prefix, rows in entries().items()
    }


WORDS = {
    "en": {
        "namespace": "Namespace",
        "derivative": "differentiated",
        "no derivative": "accepted, no derivative",
        "unsupported": "unsupported (reason given)",
        "no rule yet": "no rule yet",
        "function": "NumPy function",
        "served": "autodiff function",
        "reason": "Why not",
        "total": "total",
    },
    "es": {
        "namespace": "Espacio de nombres",
        "derivative": "derivadas",
        "no derivative": "aceptadas, sin derivada",
        "unsupported": "no admitidas (con motivo)",
        "no rule yet": "aún sin regla",
        "function": "Función de NumPy",
        "served": "Función de autodiff",
        "reason": "Por qué no",
        "total": "total",
    },
}


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def count_table(lang: str = "en") -> str:
    """The counts as a Markdown table, one row per namespace."""
    w = WORDS[lang]
    head = [w["namespace"], *(w[k] for k in KINDS)]
    lines = [_row(head), _row(["---"] * len(head))]
    for prefix, c in counts().items():
        lines.append(_row([f"`{prefix}`", *(str(c[k]) for k in KINDS)]))
    return "\n".join(lines)


def supported_table(prefix: str, lang: str = "en") -> str:
    """The differentiated callables of one namespace, with the autodiff function serving each."""
    w = WORDS[lang]
    lines = [_row([w["function"], w["served"]]), _row(["---", "---"])]
    for e in entries()[prefix]:
        if e.kind == "derivative":
            lines.append(_row([f"`{e.name}`", f"`ad.{e.detail}`"]))
    return "\n".join(lines)


def names(kind: str, prefix: str | None = None) -> list[str]:
    """The names of one kind (in one namespace, or all)."""
    return [
        e.name
        for p, rows in entries().items()
        if prefix is None or p == prefix
        for e in rows
        if e.kind == kind
    ]


def unsupported_table(lang: str = "en") -> str:
    """The unsupported callables with their reasons, grouped by reason."""
    w = WORDS[lang]
    by_reason: dict[str, list[str]] = {}
    for rows in entries().values():
        for e in rows:
            if e.kind == "unsupported":
                by_reason.setdefault(e.detail, []).append(f"`{e.name}`")
    lines = [_row([w["reason"], w["function"]]), _row(["---", "---"])]
    for reason, fns in by_reason.items():
        lines.append(_row([reason.replace("|", "\\|"), ", ".join(fns)]))
    return "\n".join(lines)


def add_command(subparsers: Any) -> None:
    """``python -m autodiff coverage``: the counts of NumPy functions by kind."""
    parser = subparsers.add_parser(
        "coverage", help="count the NumPy functions autodiff differentiates"
    )
    parser.add_argument("--list", choices=KINDS, help="also list the names of one kind")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    import autodiff  # noqa: F401  (fills the dispatch tables)

    for prefix, c in counts().items():
        parts = ", ".join(f"{c[k]} {k}" for k in KINDS)
        print(f"{prefix:14} {parts}")
    total = sum(c["derivative"] + c["no derivative"] for c in counts().values())
    print(f"accepted on traced values: {total}")
    if args.list:
        print("\n".join(names(args.list)))
    return 0
