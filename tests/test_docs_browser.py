"""The built documentation site, opened in a real (headless) browser with no network.

The site is built (or an existing build is reused: ``AUTODIFF_DOCS_SITE=path/to/site``), served
by ``python -m http.server`` on 127.0.0.1, and read by Debian's Chromium with ``--dump-dom`` (the
DOM after the page's scripts ran) and ``--screenshot``. Chromium resolves no host name but
127.0.0.1, so anything the site tried to load from a CDN would be missing and the checks would
fail: math must become KaTeX, the Mermaid diagram an SVG, the Spanish pages must exist and be
linked from the language switcher, and search must answer.

Screenshots are saved to ``artifacts/screenshots/`` for a person to look at.

Without ``/usr/bin/chromium`` (``apt-get install -y chromium``) the tests are skipped; with
``AUTODIFF_REQUIRE_BROWSER=1`` (CI) they fail instead.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


@dataclass
class Browser:
    executable: Path
    profiles: Path
    runs: int = 0

    def _run(self, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
        self.runs += 1
        profile = self.profiles / f"profile-{self.runs}"
        cmd = [
            str(self.executable),
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


@pytest.mark.xfail(
    strict=True,
    reason="known: since the site grew to ~400 search sections, material's search worker is still "
    "'Initializing search' when headless Chromium dumps the DOM, even with a long virtual-time "
    "budget (the worker runs outside virtual time); the index itself is checked above",
)
def test_search_ui_lists_results(browser: Browser, server: str) -> None:
    # The search UI: material opens the search with ?q= and lists the results.
    # the search worker indexes every page first: give it more (virtual) time than a page load
    dom = browser.visit(server + "?q=wengert", "--virtual-time-budget=60000")
    meta = re.search(r'class="md-search-result__meta">([^<]*)<', dom)
    assert meta and re.search(r"\d+ matching documents?", meta.group(1)), (
        f"search UI shows no results: {meta.group(1) if meta else 'no result list'}"
    )
    assert re.search(r'class="md-search-result__link"[^>]*>|href="[^"]*glossary/', dom)
    assert 'href="' + server + "glossary/" in dom


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
