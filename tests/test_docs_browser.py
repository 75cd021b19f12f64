"""The built documentation site, opened in a real (headless) browser with no network.

The site is built (or an existing build is reused: ``AUTODIFF_DOCS_SITE=path/to/site``), served
by ``python -m http.server`` on 127.0.0.1, and read by Debian's Chromium with ``--dump-dom`` (the
DOM after the page's scripts ran) and ``--screenshot``, or, for the search, driven over the Chrome
DevTools Protocol (see ``CdpSession``). Chromium resolves no host name but 127.0.0.1, so anything
the site tried to load from a CDN would be missing and the checks would fail: math must become
KaTeX, the Mermaid diagram an SVG, the Spanish pages must exist and be linked from the language
switcher, and search must answer.

Screenshots are saved to ``artifacts/screenshots/`` for a person to look at.

Without ``/usr/bin/chromium`` (``apt-get install -y chromium``) the tests are skipped; with
``AUTODIFF_REQUIRE_BROWSER=1`` (CI) they fail instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import html
import importlib.util
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

try:
    import docs_blocks
except ModuleNotFoundError:  # tests/ imported as a package
    from tests import docs_blocks

REPO_ROOT = docs_blocks.REPO_ROOT
CHROMIUM = Path(os.environ.get("AUTODIFF_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
FETCH_VENDOR = REPO_ROOT / "docs" / "tools" / "fetch_vendor.py"
REQUIRE = os.environ.get("AUTODIFF_REQUIRE_BROWSER") == "1"

# The pages checked and photographed: (name, path below the site root).
PAGES = {
    "home-en": "",
    "home-es": "es/",
    "glossary-en": "glossary/",
    "glossary-es": "es/glossary/",
}

# Material renders each Mermaid diagram into a *closed* shadow root, which --dump-dom cannot see.
# The served copy of the site loads this probe first: it opens those shadow roots and mirrors each
# one's markup into a hidden light-DOM element, so the dumped DOM shows the SVG Mermaid produced.
SHADOW_PROBE = """\
(function () {
  var attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    return attach.call(this, Object.assign({}, init, { mode: "open" }));
  };
  var ticks = 0;
  var timer = setInterval(function () {
    document.querySelectorAll("div.mermaid").forEach(function (host) {
      if (!host.shadowRoot || !host.shadowRoot.innerHTML) return;
      var mirror = host.nextElementSibling;
      if (!mirror || !mirror.hasAttribute("data-test-shadow")) {
        mirror = document.createElement("div");
        mirror.setAttribute("data-test-shadow", "mermaid");
        mirror.hidden = true;
        host.after(mirror);
      }
      mirror.innerHTML = host.shadowRoot.innerHTML;
    });
    if (++ticks > 80) clearInterval(timer);
  }, 100);
})();
"""
PROBE_PATH = "__autodiff_test__/shadow-probe.js"


def _unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"{reason} (AUTODIFF_REQUIRE_BROWSER=1 makes this a failure)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        _unavailable(
            f"{CHROMIUM} not found: install Debian's Chromium "
            "(apt-get update && apt-get install -y chromium chromium-driver)"
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def site(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site to serve: a copy of an existing build or a fresh strict build, plus the probe."""
    served = tmp_path_factory.mktemp("served") / "site"
    reuse = os.environ.get("AUTODIFF_DOCS_SITE")
    if reuse:
        if not (Path(reuse) / "index.html").is_file():
            pytest.fail(f"AUTODIFF_DOCS_SITE={reuse} holds no built site (no index.html)")
        shutil.copytree(reuse, served)
    else:
        if importlib.util.find_spec("mkdocs") is None:
            _unavailable("mkdocs is not installed: .venv/bin/pip install -e '.[docs]'")
        vendor = subprocess.run(
            [sys.executable, str(FETCH_VENDOR), "--quiet"],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert vendor.returncode == 0, (
            "could not fetch KaTeX/Mermaid for the site:\n" + vendor.stdout + vendor.stderr
        )
        result = docs_blocks.build_site(served, block_network=True)
        assert result.returncode == 0, docs_blocks.describe(result)
    for needed in ("katex/katex.min.js", "katex/katex.min.css", "mermaid/mermaid.min.js"):
        assert (served / "assets" / "vendor" / needed).is_file(), (
            f"assets/vendor/{needed} missing from the site: run docs/tools/fetch_vendor.py"
        )
    probe = served / PROBE_PATH
    probe.parent.mkdir(parents=True)
    probe.write_text(SHADOW_PROBE, encoding="utf-8")
    for page in PAGES.values():
        index = served / page / "index.html"
        text = index.read_text(encoding="utf-8")
        text = text.replace("<head>", f'<head><script src="/{PROBE_PATH}"></script>', 1)
        index.write_text(text, encoding="utf-8")
    return served


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    """``python -m http.server`` on 127.0.0.1 serving the site; yields its base URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=site,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(base, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"http.server did not start on {base}")
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def chromium_command(executable: Path, profile: Path) -> list[str]:
    """Headless Chromium with the throwaway profile ``profile``, able to reach 127.0.0.1 only.

    Both ways the tests drive Chromium (``Browser.visit`` and ``Browser.cdp``) start from this.
    """
    return [
        str(executable),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--mute-audio",
        f"--user-data-dir={profile}",
        # No name resolves except the local server: a CDN request can only fail.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ]


class CdpError(Exception):
    """Chromium answered a DevTools command with an error, or did not answer in time."""


class CdpSession:
    """A Chromium driven over the Chrome DevTools Protocol on a pipe (``--remote-debugging-pipe``).

    Why: ``--dump-dom`` takes the DOM at one (virtual) moment, but material's search builds its
    index in a web worker, which runs in real time, outside Chromium's virtual time. Over CDP the
    test can poll the page against the wall clock until the results show. The pipe transport
    needs only the standard library (no WebSocket client, no port): the browser reads commands
    from its fd 3 and writes replies and events to its fd 4, each a JSON text ended by a NUL byte.
    Every command has a timeout, so a hung browser fails the test instead of hanging it.
    """

    def __init__(self, command: list[str], timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        commands_read, commands_write = os.pipe()
        replies_read, replies_write = os.pipe()

        def onto_fds_3_and_4() -> None:  # runs in the child, between fork and exec
            # First copy both ends above fd 4, so that neither dup2 below overwrites the other
            # (or is a no-op that leaves the close-on-exec flag on); dup2's copies are inheritable.
            high = [
                fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 5) for fd in (commands_read, replies_write)
            ]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        try:
            # close_fds=True would close fds 3 and 4 again after preexec_fn. Without it the child
            # inherits only fds made inheritable on purpose: Python opens none so (PEP 446).
            self.proc = subprocess.Popen(
                [*command, "--remote-debugging-pipe", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                preexec_fn=onto_fds_3_and_4,
                close_fds=False,
            )
        except BaseException:
            for fd in (commands_read, commands_write, replies_read, replies_write):
                os.close(fd)
            self._stderr.close()
            raise
        os.close(commands_read)
        os.close(replies_write)
        self._commands = open(commands_write, "wb")  # noqa: SIM115 (closed by close())
        self._replies = replies_read
        self._pending = b""
        self._last_id = 0

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session_id: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one command (to a page when ``session_id`` is given) and return its result;
        events, which arrive on the same pipe, are skipped."""
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        self._commands.write(json.dumps(message).encode() + b"\0")
        self._commands.flush()
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            reply = json.loads(self._receive(method, deadline))
            if reply.get("id") == self._last_id:
                if "error" in reply:
                    raise CdpError(f"{method} failed: {reply['error']}")
                return reply["result"]

    def _receive(self, method: str, deadline: float) -> bytes:
        while b"\0" not in self._pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies], [], [], left)[0]:
                raise CdpError(f"chromium did not answer {method} in time{self._stderr_tail()}")
            chunk = os.read(self._replies, 1 << 16)
            if not chunk:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)
                raise CdpError(
                    f"chromium closed the DevTools pipe (exit code {self.proc.returncode}) while "
                    f"{method} was pending{self._stderr_tail()}"
                )
            self._pending += chunk
        message, _, self._pending = self._pending.partition(b"\0")
        return message

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        tail = self._stderr.read()[-3000:].decode(errors="replace")
        return f"; its stderr ends with:\n{tail}" if tail else ""

    def open_page(self, url: str) -> str:
        """Open ``url`` in a new tab; return the session id to send the tab commands with."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        navigated = self.send("Page.navigate", {"url": url}, session["sessionId"])
        if "errorText" in navigated:
            raise CdpError(f"could not load {url}: {navigated['errorText']}")
        return session["sessionId"]

    def evaluate(self, expression: str, session_id: str) -> Any:
        """The value of a JavaScript expression in the tab (JSON-like values only)."""
        params = {"expression": expression, "returnByValue": True}
        reply = self.send("Runtime.evaluate", params, session_id)
        if "exceptionDetails" in reply:
            raise CdpError(f"{expression!r} threw: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def close(self) -> None:
        """Ask the browser to quit, kill it if it does not, and release the pipes."""
        try:
            if self.proc.poll() is None:
                try:
                    self.send("Browser.close", timeout=10)
                    self.proc.wait(timeout=10)
                except (CdpError, OSError, subprocess.TimeoutExpired):
                    self.proc.kill()
                    self.proc.wait()
        finally:
            with contextlib.suppress(OSError):
                self._commands.close()
            os.close(self._replies)
            self._stderr.close()


@dataclass
class Browser:
    executable: Path
    profiles: Path
    runs: int = 0

    def _new_profile(self) -> Path:
        self.runs += 1
        return self.profiles / f"profile-{self.runs}"

    def _run(self, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
        profile = self._new_profile()
        cmd = [
            *chromium_command(self.executable, profile),
            *(
                extra
                if any(e.startswith("--virtual-time-budget") for e in extra)
                else ("--virtual-time-budget=10000", *extra)
            ),
            url,
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        shutil.rmtree(profile, ignore_errors=True)
        assert result.returncode == 0, (
            f"chromium failed on {url} (exit {result.returncode}):\n{result.stderr[-3000:]}"
        )
        return result

    def visit(self, url: str, *extra: str, screenshot: Path | None = None) -> str:
        """Load ``url``; return its DOM after the page's scripts ran, and optionally save a
        1280×900 screenshot of it, taken in the same run."""
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.unlink(missing_ok=True)
            extra = (*extra, f"--screenshot={screenshot}", "--window-size=1280,900")
        dom = self._run(url, *extra, "--dump-dom").stdout
        if screenshot is not None:
            assert screenshot.is_file(), f"chromium wrote no screenshot for {url}"
        return dom

    @contextlib.contextmanager
    def cdp(self) -> Iterator[CdpSession]:
        """A browser to drive over CDP; closed, and its profile removed, on leaving the block."""
        profile = self._new_profile()
        session = CdpSession(chromium_command(self.executable, profile))
        try:
            yield session
        finally:
            session.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Browser:
    return Browser(chromium, tmp_path_factory.mktemp("chromium"))


@pytest.fixture(scope="module")
def doms(browser: Browser, server: str) -> dict[str, str]:
    """The rendered DOM of each page; a screenshot of each goes to artifacts/screenshots/."""
    return {
        name: browser.visit(server + path, screenshot=SCREENSHOTS / f"{name}.png")
        for name, path in PAGES.items()
    }


def test_math_is_rendered_by_katex(doms: dict[str, str]) -> None:
    for name, dom in doms.items():
        assert dom.count('class="katex"') >= 3, f"{name}: KaTeX did not render the math"
        assert "katex-error" not in dom, f"{name}: KaTeX reported a formula it cannot parse"
        unrendered = re.findall(r'class="arithmatex"(?! data-katex-rendered)', dom)
        assert not unrendered, f"{name}: {len(unrendered)} math elements left unrendered"


def test_mermaid_diagram_becomes_svg(doms: dict[str, str]) -> None:
    for name in ("home-en", "home-es"):
        dom = doms[name]
        assert '<pre class="mermaid">' not in dom, f"{name}: Mermaid source left unrendered"
        mirrors = re.findall(r'<div data-test-shadow="mermaid" hidden="">(.*?</svg>)', dom, re.S)
        assert mirrors, f"{name}: no Mermaid SVG in material's div.mermaid host"
        svg = mirrors[0]
        assert svg.startswith("<svg"), f"{name}: the diagram is not an SVG: {svg[:200]}"
        assert "Syntax error" not in svg, f"{name}: Mermaid could not parse the diagram"
        for label in ("a³", "b²", "3a³ − b²"):
            assert label in html.unescape(svg), f"{name}: node {label!r} missing from the SVG"


def test_spanish_pages_and_language_switcher(doms: dict[str, str], server: str) -> None:
    assert '<html lang="es"' in doms["home-es"]
    assert "Los dos modos en diez líneas" in doms["home-es"]
    assert "Glosario" in doms["glossary-es"] and "cinta de Wengert" in doms["glossary-es"]
    links = re.findall(r'<a href="([^"]*)" hreflang="es" class="md-select__link"', doms["home-en"])
    assert links, "the English home page has no language switcher entry for Spanish"
    target = urllib.request.urljoin(server, links[0])
    assert target == server + "es/", f"switcher points at {target}, not {server}es/"
    # On the glossary the switcher stays on the glossary.
    links = re.findall(
        r'<a href="([^"]*)" hreflang="es" class="md-select__link"', doms["glossary-en"]
    )
    assert urllib.request.urljoin(server + "glossary/", links[0]) == server + "es/glossary/"
    links = re.findall(
        r'<a href="([^"]*)" hreflang="en" class="md-select__link"', doms["glossary-es"]
    )
    assert urllib.request.urljoin(server + "es/glossary/", links[0]) == server + "glossary/"
    with urllib.request.urlopen(target, timeout=10) as response:
        assert response.status == 200


def test_search_index(server: str) -> None:
    with urllib.request.urlopen(server + "search/search_index.json", timeout=10) as response:
        index = json.load(response)
    text = " ".join(doc["text"] + " " + doc["title"] for doc in index["docs"])
    assert "Wengert" in text and "cinta de Wengert" in text


# How long material's search worker may take to index the site, in real (wall-clock) seconds.
SEARCH_WAIT = 60.0
SEARCH_META = "document.querySelector('.md-search-result__meta')?.textContent.trim() ?? null"
SEARCH_LINKS = "[...document.querySelectorAll('.md-search-result__link')].map(a => a.href)"


@pytest.mark.parametrize(
    ("lang", "found"),
    [("", r"\d+ matching documents?"), ("es/", r"\d+ documentos? encontrados?")],
    ids=["en", "es"],
)
def test_search_ui_lists_results(browser: Browser, server: str, lang: str, found: str) -> None:
    """Material opens the search from ?q= and lists the results once its web worker has indexed
    the site ("Initializing search" until then): poll the page in real time until they show."""
    url = f"{server}{lang}?q=wengert"
    with browser.cdp() as cdp:
        page = cdp.open_page(url)
        start = time.monotonic()
        while True:
            meta = cdp.evaluate(SEARCH_META, page)
            if meta is not None and re.fullmatch(found, meta):
                break
            if time.monotonic() - start > SEARCH_WAIT:
                shown = "no search result list" if meta is None else repr(meta)
                pytest.fail(f"{url}: the search UI shows {shown} after {SEARCH_WAIT:.0f} s")
            time.sleep(0.25)
        links = cdp.evaluate(SEARCH_LINKS, page)
    paths = {urllib.parse.urlsplit(link).path for link in links}
    assert f"/{lang}glossary/" in paths, f"{url}: no result on the glossary page, only {paths}"


# A reader whose system prefers a dark theme.
DARK = ("--force-dark-mode", "--blink-settings=preferredColorScheme=0")


def test_dark_and_light_schemes(browser: Browser, server: str, doms: dict[str, str]) -> None:
    """Light by default, dark when the system prefers it, and a toggle between the two."""
    schemes = set(re.findall(r'data-md-color-scheme="(\w+)"', doms["home-en"]))
    assert {"default", "slate"} <= schemes, f"palette toggle incomplete: {schemes}"
    assert re.search(r'<body[^>]*data-md-color-scheme="default"', doms["home-en"])
    dark = browser.visit(server, *DARK, screenshot=SCREENSHOTS / "home-en-dark.png")
    assert re.search(r'<body[^>]*data-md-color-scheme="slate"', dark), "dark scheme not applied"


def test_screenshots(doms: dict[str, str]) -> None:
    """The screenshots taken with each page are real, non-blank pictures."""
    for name in PAGES:
        shot = SCREENSHOTS / f"{name}.png"
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{shot} is not a PNG"
        assert len(data) > 20_000, f"{shot} is suspiciously small ({len(data)} bytes)"
        try:
            from PIL import Image
        except ModuleNotFoundError:
            continue
        with Image.open(shot) as image:
            assert image.size == (1280, 900)
            colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
            assert colours is not None and len(colours) > 50, f"{shot} looks blank"
