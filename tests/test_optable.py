"""The docs' op table (``autodiff.optable``) lists exactly the registered ops, with both rules.

The op-registry page renders :func:`autodiff.optable.op_table` at build time; these tests hold
the table to the registry: one row per op of :func:`autodiff.registry.ops`, no more, no less,
each with a forward (JVP) and a reverse (VJP) formula. They also check the declarations the page
shows, read from the source by :func:`autodiff.optable.declaration_source`.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import markdown
import numpy as np
import pytest

from autodiff.optable import (
    HEADERS,
    MISSING,
    declaration_source,
    op_table,
    public_name,
)
from autodiff.registry import defop, ops, remove

ROOT = Path(__file__).resolve().parents[1]


def _cells(table: str) -> list[list[str]]:
    """The table's body rows, rendered by Python-Markdown the way the site renders them."""
    rendered = markdown.markdown(  # the extensions of mkdocs.yml that act on a table's text
        table,
        extensions=["tables", "attr_list", "pymdownx.arithmatex"],
        extension_configs={"pymdownx.arithmatex": {"generic": True}},
    )
    rows = re.findall(r"<tr>(.*?)</tr>", rendered, flags=re.S)
    body = rows[1:]  # the first row holds the headers
    return [re.findall(r"<td>(.*?)</td>", row, flags=re.S) for row in body]


def _plain(cell: str) -> str:
    """A rendered cell's text, tags removed and HTML entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()


@pytest.mark.parametrize("lang", sorted(HEADERS))
def test_table_lists_exactly_the_registered_ops(lang: str) -> None:
    cells = _cells(op_table(lang))
    listed = [_plain(row[0]) for row in cells]
    registered = [public_name(op) for op in ops()]
    assert listed == registered  # same ops, same (declaration) order, no duplicates
    assert len(set(listed)) == len(listed)


@pytest.mark.parametrize("lang", sorted(HEADERS))
def test_every_row_has_both_formulas(lang: str) -> None:
    cells = _cells(op_table(lang))
    assert all(len(row) == len(HEADERS[lang]) for row in cells), "a cell split or went missing"
    lacking = [_plain(row[0]) for row in cells if {_plain(row[2]), _plain(row[3])} & {"", MISSING}]
    assert not lacking, f"ops without a JVP or VJP formula in the table: {lacking}"


def test_formulas_and_descriptions_render_as_declared() -> None:
    """Escaping keeps every cell one cell and shows the registry's text unchanged."""
    by_name = {public_name(op): op for op in ops()}
    for row in _cells(op_table()):
        op = by_name[_plain(row[0])]
        assert _plain(row[1]) == " ".join(op.doc.split()).replace("`", "")
        assert _plain(row[2]) == " ".join(op.jvp_formula.split())
        assert _plain(row[3]) == " ".join(op.vjp_formula.split())


def test_headers_and_flags_are_translated() -> None:
    en, es = op_table("en").splitlines(), op_table("es").splitlines()
    assert en[0] == "| " + " | ".join(HEADERS["en"]) + " |"
    assert es[0] == "| " + " | ".join(HEADERS["es"]) + " |"
    sin_en = next(r for r in en if r.startswith("| `sin`{"))
    sin_es = next(r for r in es if r.startswith("| `sin`{"))
    assert "| d sin x = cos x·dx | x̄ = ḡ·cos x |" in sin_en
    assert sin_en.endswith("| elementwise, batchable |")
    assert sin_es.endswith("| elemento a elemento, admite lotes |")
    assert "| `linalg.inv`{" in "\n".join(en)
    with pytest.raises(ValueError, match="lang"):
        op_table("fr")


def test_a_new_op_appears_and_disappears_with_the_registry() -> None:
    name = "_test_optable_cube"
    defop(name, lambda x: x**3, elementwise=True, partials=(lambda ans, x: 3.0 * x * x,),
          formula="d |x|³ = 3x|x|·dx", vjp_formula="x̄ = ḡ·3x|x| (a_b * $c$ <d>)",
          doc="Cube | with a pipe")  # fmt: skip
    try:
        rows = [row for row in _cells(op_table()) if _plain(row[0]) == name]
        assert len(rows) == 1
        assert _plain(rows[0][1]) == "Cube | with a pipe"  # escaped, still one cell
        assert _plain(rows[0][2]) == "d |x|³ = 3x|x|·dx"
        assert _plain(rows[0][3]) == "x̄ = ḡ·3x|x| (a_b * $c$ <d>)"
    finally:
        remove(name)
    assert name not in [_plain(row[0]) for row in _cells(op_table())]


def test_a_missing_formula_shows_and_is_caught() -> None:
    name = "_test_optable_noformula"
    defop(name, np.negative, elementwise=True, partials=(lambda ans, x: -1.0 + 0.0 * x,))
    try:
        row = next(r for r in _cells(op_table()) if _plain(r[0]) == name)
        assert _plain(row[2]) == MISSING and _plain(row[3]) == MISSING
    finally:
        remove(name)


@pytest.mark.parametrize(
    ("name", "path", "snippet"),
    [
        ("multiply", "autodiff/ops/elementwise.py", '"multiply", np.multiply, nargs=2'),
        ("sum", "autodiff/ops/reductions.py", '"sum", lambda x, axis=None'),
        ("sin", "autodiff/ops/elementwise.py", '("sin", np.sin, lambda ans, x: anp.cos(x)'),
        ("max", "autodiff/ops/reductions.py", '_extremum("max", np.max)'),
    ],
)
def test_declarations_come_from_the_source(name: str, path: str, snippet: str) -> None:
    decl = declaration_source(name)
    assert decl.path == path
    assert snippet in decl.text
    assert "defop(" in decl.text
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    for first, last in decl.spans:  # every line shown is a line of the file, at that place
        for k in range(first, last + 1):
            assert lines[k - 1] in decl.text


def test_sin_declaration_shows_its_row_and_the_loop() -> None:
    text = declaration_source("sin").text
    assert "for _name" in text and "in _UNARY" in text
    assert '("cos", np.cos' not in text  # the other rows are elided
    assert "..." in text


def test_unknown_op_raises() -> None:
    with pytest.raises(LookupError, match="no declaration"):
        declaration_source("no_such_op")
