"""The documentation builds, strictly and offline, and every executable code block in it runs.

- one test per page that has executable Python blocks (English and Spanish), id ``page.md:LINE``
  (the line of the page's first block); a failure names the failing block's page and line, and
  the traceback points into the ``.md`` file;
- ``mkdocs build --strict`` into a temporary folder with Python's network access blocked:
  a broken link, a failing block or an attempted download fails it.
"""

from __future__ import annotations

import importlib.util
import json
import textwrap
from pathlib import Path

import pytest

try:
    import docs_blocks
except ModuleNotFoundError:  # tests/ imported as a package
    from tests import docs_blocks

PAGES = docs_blocks.collect()


def _page_id(page: str) -> str:
    return f"{page}:{PAGES[page][0].line}"


@pytest.mark.parametrize("page", sorted(PAGES), ids=_page_id)
def test_page_blocks_run(page: str) -> None:
    docs_blocks.run_page(PAGES[page])


def test_pages_have_both_languages() -> None:
    """Every English page has its Spanish twin (``page.md`` + ``page.es.md``) and vice versa."""
    pages = {p.relative_to(docs_blocks.DOCS_DIR).as_posix() for p in docs_blocks.iter_pages()}
    spanish = {p for p in pages if p.endswith(".es.md")}
    english = pages - spanish
    missing_es = sorted(p for p in english if p[: -len(".md")] + ".es.md" not in spanish)
    missing_en = sorted(p for p in spanish if p[: -len(".es.md")] + ".md" not in english)
    assert not missing_es, f"English pages without a Spanish version: {missing_es}"
    assert not missing_en, f"Spanish pages without an English version: {missing_en}"


def test_sessions_belong_to_one_page() -> None:
    """markdown-exec shares a session's globals across the whole build; the tests share them
    within a page. A session name used on two pages would make the two disagree."""
    shared = {
        name: sorted(pages)
        for name, pages in docs_blocks.sessions_by_name(PAGES).items()
        if len(pages) > 1
    }
    assert not shared, f"session names used on more than one page (rename them): {shared}"


def test_extractor_finds_nested_blocks(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        # Page

        ```python
        not_run = True
        ```

        ```python exec="on" session="s"
        x = 1
        ```

        === "Forward mode"

            ```python exec="1" source="above" session="s"
            y = x + 1
            ```

        ??? success "Solution"

            ```pycon exec="on" session="s"
            >>> z = y * 2
            >>> z
            4
            ```

        ````md exec="on"
        ```py exec="on"
        inner = 3
        ```
        ````

        ````markdown
        ```python exec="on"
        shown_not_run = 1
        ```
        ````

        ```{.python exec="on"}
        braces = 1
        ```
        """
    )
    page = tmp_path / "demo.md"
    page.write_text(text, encoding="utf-8")
    blocks = docs_blocks.extract_blocks(text, "demo.md", page)
    assert [(b.line, b.language, b.session) for b in blocks] == [
        (7, "python", "s"),
        (13, "python", "s"),
        (19, "pycon", "s"),
        (26, "py", None),
        (37, "python", None),
    ]
    assert blocks[1].code == "y = x + 1"
    assert blocks[2].code.split("\n") == ["z = y * 2", "z", ""]
    docs_blocks.run_page(blocks, root=tmp_path)

    failing = docs_blocks.extract_blocks('```python exec="on"\n\n1 / 0\n```\n', "bad.md", page)
    with pytest.raises(docs_blocks.BlockFailure, match=r"^docs/bad\.md:3: ZeroDivisionError"):
        docs_blocks.run_page(failing, root=tmp_path)
    try:
        docs_blocks.run_page(failing, root=tmp_path)
    except docs_blocks.BlockFailure as exc:
        tb = exc.__cause__.__traceback__
        while tb.tb_next is not None:
            tb = tb.tb_next
        assert tb.tb_lineno == 3, "the traceback should carry the page's own line number"


def test_mkdocs_build_strict_offline(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip(
            "mkdocs is not installed; install the docs extra: .venv/bin/pip install -e '.[docs]'"
        )
    site = tmp_path / "site"
    result = docs_blocks.build_site(site, block_network=True)
    assert result.returncode == 0, docs_blocks.describe(result)
    for page in ("index.html", "glossary/index.html", "es/index.html", "es/glossary/index.html"):
        assert (site / page).is_file(), f"{page} missing from the built site"
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert {"en", "es"} <= set(index["config"]["lang"])
    # No page loads anything from another host: KaTeX, Mermaid and fonts are local.
    for html in site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        for marker in ('src="http', "src='http", "fonts.googleapis", "unpkg.com", "jsdelivr"):
            assert marker not in text, f"{html.relative_to(site)} references {marker!r}"
