"""The docs' table of every registered op, and each op's declaration, read from the registry.

Nothing here is written by hand: the table and the declarations come from the registry and from
the source files of :mod:`autodiff.ops` at the moment they are asked for, so the documentation
that shows them cannot fall behind the code.

* :func:`op_table` renders one Markdown row per registered op, in declaration order: its public
  name (``linalg.inv`` for the ``linalg`` namespace), its one-line description, its forward
  (JVP) and reverse (VJP) formulas and its flags (elementwise, linear, batchable, …).
* :func:`declaration_source` finds the ``defop`` block that declares an op in
  ``autodiff/ops/*.py`` and returns its text with the file and line numbers.

Examples:
    >>> from autodiff.optable import op_table, declaration_source
    >>> print(op_table().splitlines()[0])
    | Op | What it does | Forward rule (JVP) | Reverse rule (VJP) | Flags |
    >>> print(declaration_source("multiply").text.splitlines()[1])
        "multiply", np.multiply, nargs=2, elementwise=True, complex="holomorphic",
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import autodiff.ops as _ops_package
from autodiff.registry import Op, ops

# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------

HEADERS = {
    "en": ("Op", "What it does", "Forward rule (JVP)", "Reverse rule (VJP)", "Flags"),
    "es": ("Operación", "Qué hace", "Regla directa (JVP)", "Regla inversa (VJP)", "Propiedades"),
}

FLAG_WORDS = {
    "en": {
        "elementwise": "elementwise",
        "linear": "linear",
        "batchable": "batchable",
        "variadic": "any number of arrays",
        "zero": "zero derivative",
    },
    "es": {
        "elementwise": "elemento a elemento",
        "linear": "lineal",
        "batchable": "admite lotes",
        "variadic": "número variable de arrays",
        "zero": "derivada nula",
    },
}

#: What a missing formula shows in the table (the tests look for it).
MISSING = "—"

#: attr_list syntax (an extension the site enables) that keeps an op's name on one line.
NOWRAP = '{style="white-space: nowrap"}'


def public_name(op: Op) -> str:
    """The name a user calls: ``sin``, or ``linalg.inv`` for the ``linalg`` namespace."""
    return f"{op.module}.{op.name}" if op.module else op.name


def flags(op: Op, lang: str = "en") -> list[str]:
    """The op's flags as words, in a fixed order."""
    words = FLAG_WORDS[_check_lang(lang)]
    out = []
    if op.elementwise:
        out.append(words["elementwise"])
    if op.linear:
        out.append(words["linear"])
    if op.batchable:
        out.append(words["batchable"])
    if op.nargs == -1:
        out.append(words["variadic"])
    if not op.differentiable:
        out.append(words["zero"])
    return out


def op_rows(lang: str = "en", registered: Iterable[Op] | None = None) -> list[tuple[str, ...]]:
    """The table's cells as Markdown, one tuple per op: name, description, JVP, VJP, flags.

    The name is a code span kept on one line (attr_list syntax, enabled by the site); the other
    cells are the registry's text with Markdown's special characters escaped.
    """
    lang = _check_lang(lang)
    rows = []
    for op in ops() if registered is None else registered:
        rows.append(
            (
                _code(public_name(op)) + NOWRAP,
                _text(op.doc) or MISSING,
                _text(op.jvp_formula) or MISSING,
                _text(op.vjp_formula) or MISSING,
                ", ".join(flags(op, lang)),
            )
        )
    return rows


def op_table(lang: str = "en", registered: Iterable[Op] | None = None) -> str:
    """Every registered op as a Markdown table, in declaration order.

    Args:
        lang: ``"en"`` or ``"es"``; only the headers and the flags are translated (names,
            formulas and the registry's one-line descriptions stay as declared).
        registered: the ops to list; by default all of :func:`autodiff.registry.ops`.

    Returns:
        The table as Markdown text, header row first. A missing formula shows as ``—``.

    Examples:
        >>> from autodiff.optable import op_table
        >>> sin_row = next(r for r in op_table().splitlines() if r.startswith("| `sin`"))
        >>> print(sin_row.split(" | ", 1)[1])
        Elementwise sin | d sin x = cos x·dx | x̄ = ḡ·cos x | elementwise, batchable |
    """
    head = HEADERS[_check_lang(lang)]
    lines = [_row(head), _row(["---"] * len(head))]
    lines += [_row(r) for r in op_rows(lang, registered)]
    return "\n".join(lines)


def _check_lang(lang: str) -> str:
    if lang not in HEADERS:
        raise ValueError(f"lang must be one of {', '.join(map(repr, HEADERS))}, got {lang!r}")
    return lang


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _code(text: str) -> str:
    """``text`` as an inline code span; pipes inside a code span do not split a table cell."""
    text = " ".join(text.split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _text(text: str) -> str:
    """Text for a table cell, shown as written: code spans are kept, and outside them the
    characters that Markdown or the math extension would read (``\\ | < * _ $``) are escaped,
    so that the cell stays one cell and no markup appears by accident."""
    text = " ".join(text.split())
    parts = re.split(r"(`+[^`]*`+)", text)
    for i in range(0, len(parts), 2):  # the even parts are outside code spans
        parts[i] = (
            parts[i]
            .replace("\\", "\\\\")
            .replace("|", "\\|")
            .replace("<", "&lt;")
            .replace("*", "\\*")
            .replace("_", "\\_")
            .replace("$", "\\$")
        )
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# Declarations, from the source
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Declaration:
    """Where and how an op is declared.

    Attributes:
        name: the op's registry name.
        path: the file, relative to the repository (``autodiff/ops/elementwise.py``).
        spans: the line ranges shown, 1-based and inclusive, in file order.
        text: those lines, with ``...`` where rows of a table of declarations were left out.
    """

    name: str
    path: str
    spans: tuple[tuple[int, int], ...]
    text: str

    @property
    def where(self) -> str:
        """``path:first-last`` of the lines shown."""
        return f"{self.path}:{self.spans[0][0]}-{self.spans[-1][1]}"

    def __str__(self) -> str:
        return self.text


def declaration_source(name: str) -> Declaration:
    """The source that declares the op ``name``, read from ``autodiff/ops/*.py`` now.

    Three ways of declaring are recognised:

    * a ``defop("name", ...)`` call: the whole statement;
    * a row ``("name", ...)`` of a list that a ``for`` loop passes to ``defop``: the row and
      the loop (the other rows are shown as ``...``);
    * ``helper("name", ...)`` where ``helper`` calls ``defop`` with its parameter: the helper's
      definition and that call.

    Raises:
        LookupError: no declaration of ``name`` in ``autodiff/ops``.

    Examples:
        >>> from autodiff.optable import declaration_source
        >>> decl = declaration_source("sin")
        >>> decl.path
        'autodiff/ops/elementwise.py'
        >>> '("sin", np.sin' in decl.text
        True
    """
    found = _all_declarations().get(name)
    if found is None:
        raise LookupError(
            f"no declaration of the op {name!r} found in autodiff/ops/*.py (ops declared "
            "elsewhere, e.g. in your own code, are not searched)"
        )
    return found


@lru_cache(maxsize=1)
def _ops_files() -> tuple[Path, ...]:
    return tuple(sorted(Path(p) for d in _ops_package.__path__ for p in Path(d).glob("*.py")))


def _all_declarations() -> dict[str, Declaration]:
    result: dict[str, Declaration] = {}
    for path in _ops_files():
        for decl in _declarations_in(path):
            result.setdefault(decl.name, decl)
    return result


def _relative(path: Path) -> str:
    root = Path(_ops_package.__file__).resolve().parents[2]
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _is_defop(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    f = node.func
    return (isinstance(f, ast.Name) and f.id == "defop") or (
        isinstance(f, ast.Attribute) and f.attr == "defop"
    )


def _first_arg(call: ast.Call) -> ast.AST | None:
    if call.args:
        return call.args[0]
    for kw in call.keywords:
        if kw.arg == "name":
            return kw.value
    return None


def _str_const(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _declarations_in(path: Path) -> list[Declaration]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source, filename=str(path))
    rel = _relative(path)
    top_lists = {
        t.id: stmt.value
        for stmt in tree.body
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.List)
        for t in stmt.targets
        if isinstance(t, ast.Name)
    }

    def text(a: int, b: int) -> str:
        return "\n".join(lines[a - 1 : b])

    out: list[Declaration] = []
    for stmt in tree.body:
        calls = [n for n in ast.walk(stmt) if _is_defop(n)]
        if not calls:
            continue
        for call in calls:
            arg = _first_arg(call)
            literal = _str_const(arg)
            if literal is not None:  # defop("name", ...)
                span = (stmt.lineno, stmt.end_lineno)
                out.append(Declaration(literal, rel, (span,), text(*span)))
            elif isinstance(arg, ast.Name) and isinstance(stmt, ast.For):
                out += _loop_rows(stmt, top_lists, rel, text)
            elif isinstance(arg, ast.Name) and isinstance(stmt, ast.FunctionDef):
                out += _helper_calls(stmt, arg.id, tree, rel, text)
    return out


def _loop_rows(loop: ast.For, top_lists: dict, rel: str, text) -> list[Declaration]:
    """``for ... in TABLE: defop(name, ...)``: one declaration per row of the table."""
    it = loop.iter
    table = top_lists.get(it.id) if isinstance(it, ast.Name) else it
    if not isinstance(table, ast.List):
        return []
    loop_span = (loop.lineno, loop.end_lineno)
    out = []
    for row in table.elts:
        if not isinstance(row, ast.Tuple) or not row.elts:
            continue
        name = _str_const(row.elts[0])
        if name is None:
            continue
        if table is it:  # the list is written in the loop header: the loop shows the row
            out.append(Declaration(name, rel, (loop_span,), text(*loop_span)))
            continue
        # NAME = [ <comment lines> ... <row> ... ] then the loop
        head_line = table.lineno
        first_row = table.elts[0].lineno
        comments = [
            k for k in range(head_line + 1, first_row) if text(k, k).strip().startswith("#")
        ]
        row_span = (row.lineno, row.end_lineno)
        parts = [text(head_line, head_line)]
        parts += [text(k, k) for k in comments]
        indent = re.match(r"\s*", text(*row_span)).group(0)
        if row is not table.elts[0]:
            parts.append(f"{indent}...")
        parts.append(text(*row_span))
        if row is not table.elts[-1]:
            parts.append(f"{indent}...")
        parts.append(text(table.end_lineno, table.end_lineno))  # "]", maybe a comment
        spans = [(k, k) for k in (head_line, *comments)]
        spans += [row_span, (table.end_lineno, table.end_lineno)]
        body = "\n".join(parts) + "\n\n" + text(*loop_span)
        out.append(Declaration(name, rel, (*spans, loop_span), body))
    return out


def _helper_calls(
    fn: ast.FunctionDef, param: str, tree: ast.Module, rel: str, text
) -> list[Declaration]:
    """``def helper(name, ...): defop(name, ...)`` and the module-level ``helper("x")`` calls."""
    params = [a.arg for a in fn.args.args]
    if param not in params:
        return []
    k = params.index(param)
    fn_span = (fn.lineno, fn.end_lineno)
    out = []
    for stmt in tree.body:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
            continue
        if call.func.id != fn.name or len(call.args) <= k:
            continue
        name = _str_const(call.args[k])
        if name is None:
            continue
        span = (stmt.lineno, stmt.end_lineno)
        out.append(Declaration(name, rel, (fn_span, span), text(*fn_span) + "\n\n\n" + text(*span)))
    return out


__all__ = [
    "HEADERS",
    "MISSING",
    "Declaration",
    "declaration_source",
    "flags",
    "op_rows",
    "op_table",
    "public_name",
]
