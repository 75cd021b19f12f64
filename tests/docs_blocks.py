"""Find and run the executable Python blocks of the documentation, the way markdown-exec does.

The docs run their examples at build time with markdown-exec: a fence such as

    ```python exec="on" source="above" result="text" session="forward-en"

is executed while ``mkdocs build`` renders the page. This module finds the same blocks in every
page (English ``page.md`` and Spanish ``page.es.md``) so that pytest can run them too, and report a
failure with the page and the line:

- ``exec`` is read like markdown-exec reads it: anything but ``""``, ``no``, ``off``, ``false`` or
  ``0`` turns execution on; the languages markdown-exec runs as Python are ``python``, ``py`` and
  ``pycon`` (for ``pycon`` only the ``>>> `` and ``... `` lines run);
- blocks nested in content tabs, admonitions or ``??? success "Solution"`` are found, and so are
  blocks inside an executed ``md``/``markdown`` block;
- blocks that share a ``session`` share their globals, in page order; a block without a session
  gets a fresh namespace. markdown-exec keys sessions by name across the whole build, so a session
  name must belong to one page only (``tests/test_docs_build.py`` checks it);
- code is compiled with the page as its file name and at the page's line numbers, so a traceback
  points at the line of the ``.md`` file itself;
- a block runs in the folder it names with ``workdir=``, otherwise in the repository root (where
  ``scripts/docs.sh`` runs mkdocs).

It also holds :func:`build_site`, the ``mkdocs build --strict`` call shared by the docs tests.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS_DIR = REPO_ROOT / "docs"
# Folders of docs/ that hold no pages (scripts, vendored assets).
SKIP_DIRS = ("tools", "assets")

PYTHON_LANGUAGES = {"python", "py", "pycon"}
MARKDOWN_LANGUAGES = {"md", "markdown"}
FALSE_VALUES = {"", "no", "off", "false", "0"}

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>.*?)[ \t]*$")
_OPTION = re.compile(r"""(?P<key>[\w.:-]+)=(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s}]+))""")


@dataclass
class Block:
    """One executable code block of one page."""

    page: str  # path relative to docs/, e.g. "index.es.md"
    path: Path  # absolute path of the page
    line: int  # 1-based line of the opening fence
    language: str
    code: str  # the code as markdown-exec runs it, fence indentation removed
    options: dict[str, str] = field(default_factory=dict)

    @property
    def session(self) -> str | None:
        return self.options.get("session") or None

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"

    def padded_source(self) -> str:
        """The code preceded by blank lines, so that its line numbers are the page's."""
        return "\n" * self.line + self.code + "\n"


def _to_bool(value: str) -> bool:
    return value.lower() not in FALSE_VALUES


def _auto_languages() -> set[str]:
    return {lang.strip() for lang in os.environ.get("MARKDOWN_EXEC_AUTO", "").split(",")} - {""}


def parse_info(info: str) -> tuple[str, dict[str, str]]:
    """Split a fence's info string into its language and its ``key="value"`` options.

    Both superfences forms are understood: ``python exec="on"`` and ``{.python exec="on"}``.
    """
    info = info.strip()
    if info.startswith("{") and info.endswith("}"):
        body = info[1:-1]
        classes = re.findall(r"(?:^|\s)\.([\w+-]+)", body)
        language = classes[0] if classes else ""
    else:
        language, _, body = info.partition(" ")
        if "=" in language:  # no language, only options
            language, body = "", info
    options = {}
    for m in _OPTION.finditer(body):
        value = m.group("dq")
        if value is None:
            value = m.group("sq") if m.group("sq") is not None else m.group("bare")
        options[m.group("key")] = value
    return language.lower(), options


def _is_executed(language: str, options: dict[str, str]) -> bool:
    return language in _auto_languages() or _to_bool(options.get("exec", "no"))


def _dedent_fence(lines: list[str], indent: str) -> list[str]:
    """Remove the opening fence's indentation from the block's lines, as superfences does."""
    out = []
    for raw in lines:
        if raw.startswith(indent):
            out.append(raw[len(indent) :])
        else:
            out.append(raw.lstrip(" \t") if not raw.strip() else raw)
    return out


def _pycon_to_python(lines: list[str]) -> list[str]:
    """Keep the ``>>> `` / ``... `` lines (prompt removed), blank the output lines."""
    return [line[4:] if line.startswith((">>> ", "... ")) else "" for line in lines]


def extract_blocks(text: str, page: str, path: Path, *, first_line: int = 1) -> list[Block]:
    """All executable Python blocks of a Markdown text, in order.

    ``first_line`` is the page line of ``text``'s first line (for text nested in another block).
    """
    blocks: list[Block] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m.group("indent"), m.group("fence"), m.group("info")
        if fence[0] == "`" and "`" in info:  # inline code that starts a line, not a fence
            i += 1
            continue
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            j += 1
        body = _dedent_fence(lines[i + 1 : j], indent)
        open_line = first_line + i
        language, options = parse_info(info)
        if _is_executed(language, options):
            if language in PYTHON_LANGUAGES:
                code_lines = _pycon_to_python(body) if language == "pycon" else body
                blocks.append(
                    Block(page, path, open_line, language, "\n".join(code_lines), options)
                )
            elif language in MARKDOWN_LANGUAGES:
                # markdown-exec renders an executed Markdown block, running the blocks inside it.
                blocks.extend(extract_blocks("\n".join(body), page, path, first_line=open_line + 1))
        i = j + 1
    return blocks


def iter_pages(docs_dir: Path = DOCS_DIR) -> Iterator[Path]:
    """Every Markdown page of the site, English and Spanish, in a stable order."""
    for path in sorted(docs_dir.rglob("*.md")):
        rel = path.relative_to(docs_dir)
        if rel.parts[0] in SKIP_DIRS or any(part.startswith(".") for part in rel.parts):
            continue
        yield path


def collect(docs_dir: Path = DOCS_DIR) -> dict[str, list[Block]]:
    """Executable blocks grouped by page (relative path -> blocks); pages without any are left
    out."""
    pages: dict[str, list[Block]] = {}
    for path in iter_pages(docs_dir):
        page = path.relative_to(docs_dir).as_posix()
        blocks = extract_blocks(path.read_text(encoding="utf-8"), page, path)
        if blocks:
            pages[page] = blocks
    return pages


def sessions_by_name(pages: dict[str, list[Block]]) -> dict[str, set[str]]:
    """Session name -> the pages that use it."""
    names: dict[str, set[str]] = {}
    for page, blocks in pages.items():
        for block in blocks:
            if block.session:
                names.setdefault(block.session, set()).add(page)
    return names


class BlockFailure(AssertionError):
    """A documentation block raised; the message starts with ``docs/page.md:LINE``."""


@contextlib.contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def run_page(blocks: list[Block], *, root: Path = REPO_ROOT) -> None:
    """Run one page's blocks in order, sessions sharing globals, as the docs build does.

    Raises :class:`BlockFailure` naming the page and line of the first block that fails.
    """
    os.environ.setdefault("MPLBACKEND", "Agg")
    sessions: dict[str, dict[str, object]] = {}
    for block in blocks:
        if block.session:
            namespace = sessions.setdefault(block.session, {})
        else:
            namespace = {}
        module_name = "docs_block_" + re.sub(r"\W+", "_", f"{block.page}_{block.line}")
        namespace["__name__"] = module_name
        workdir = root / block.options["workdir"] if block.options.get("workdir") else root
        try:
            code = compile(block.padded_source(), str(block.path), "exec")
            with _working_directory(workdir):
                exec(code, namespace)
        except Exception as exc:
            line = _failing_line(exc, block.path)
            where = f"docs/{block.page}:{line}" if line else block.where
            session = f", session {block.session!r}" if block.session else ""
            raise BlockFailure(
                f"{where}: {type(exc).__name__}: {exc}\n"
                f"in the {block.language} block at {block.where}{session}:\n\n"
                f"{textwrap.indent(block.code, '    ')}"
            ) from exc


def _failing_line(exc: BaseException, path: Path) -> int | None:
    """The page line where ``exc`` was raised (the innermost frame in the page), if any."""
    if isinstance(exc, SyntaxError) and exc.filename == str(path):
        return exc.lineno
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == str(path):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def build_site(
    dest: Path, *, block_network: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run ``mkdocs build --strict`` into ``dest`` from the repository root.

    With ``block_network`` the build runs with Python's sockets unable to reach anything but the
    loopback interface, to prove that building needs no download.
    """
    run_mkdocs = textwrap.dedent(
        """
        import sys
        from mkdocs.__main__ import cli
        sys.argv = ["mkdocs", *sys.argv[1:]]
        cli()
        """
    )
    code = (_NETWORK_GUARD if block_network else "") + run_mkdocs
    cmd = [sys.executable, "-c", code, "build", "--strict", "--site-dir", str(dest)]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"}
    return subprocess.run(
        cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def describe(result: subprocess.CompletedProcess[str]) -> str:
    """A failed subprocess, for an assertion message."""
    cmd = shlex.join("<script>" if "\n" in str(a) else str(a) for a in result.args)
    return f"$ {cmd}\nexit code {result.returncode}\n{result.stdout}\n{result.stderr}"


# Prepended to the mkdocs process: any connection or DNS lookup outside the loopback interface
# raises, so a plugin that tries to download something fails the strict build loudly.
_NETWORK_GUARD = """
import ipaddress as _ip
import socket as _socket

def _loopback(host):
    if host is None:
        return True
    host = host.decode() if isinstance(host, bytes) else str(host)
    if host in ("localhost", "", "::1") or host.endswith(".localhost"):
        return True
    try:
        return _ip.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False

def _refuse(what):
    raise OSError(f"network access blocked during the docs build: {what}")

_getaddrinfo = _socket.getaddrinfo
def _guarded_getaddrinfo(host, *args, **kwargs):
    if not _loopback(host):
        _refuse(f"DNS lookup of {host!r}")
    return _getaddrinfo(host, *args, **kwargs)
_socket.getaddrinfo = _guarded_getaddrinfo

_connect, _connect_ex = _socket.socket.connect, _socket.socket.connect_ex
def _check(sock, address):
    if sock.family in (_socket.AF_INET, _socket.AF_INET6) and not _loopback(address[0]):
        _refuse(f"connection to {address!r}")
def _guarded_connect(self, address):
    _check(self, address)
    return _connect(self, address)
def _guarded_connect_ex(self, address):
    _check(self, address)
    return _connect_ex(self, address)
_socket.socket.connect, _socket.socket.connect_ex = _guarded_connect, _guarded_connect_ex
"""
