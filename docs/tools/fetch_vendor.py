#!/usr/bin/env python3
"""Fetch the pinned KaTeX and Mermaid releases the docs site needs, with no CDN at view time.

Each package is downloaded from the npm registry with ``npm pack <name>@<version>`` into a
temporary directory, its tarball is checked against the sha512 integrity pinned below (the value
``npm view <name>@<version> dist.integrity`` prints), and only the files the site uses are
extracted into ``docs/assets/vendor/<name>/`` (git-ignored: third-party files are never
committed).

The script is idempotent: a ``.vendor.json`` stamp records what was extracted, and when the stamp
matches the pins and every file is present the script returns at once, without npm or network.

Usage::

    python docs/tools/fetch_vendor.py            # fetch what is missing
    python docs/tools/fetch_vendor.py --check    # exit 1 if something is missing, fetch nothing
    python docs/tools/fetch_vendor.py --force    # fetch and extract again

To move to a new release: change ``version``, put the output of
``npm view <name>@<version> dist.integrity`` in ``integrity``, and run the script.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DEST = REPO_ROOT / "docs" / "assets" / "vendor"
STAMP = ".vendor.json"


@dataclass(frozen=True)
class Pin:
    """One npm package at one version, and the files of its tarball that the site serves."""

    name: str
    version: str
    integrity: str
    # tarball path (below "package/") -> path below docs/assets/vendor/<name>/.
    # A path ending in "/" copies every file of that folder (not its subfolders).
    files: dict[str, str]


PINS: tuple[Pin, ...] = (
    Pin(
        name="katex",
        version="0.19.1",
        integrity=(
            "sha512-jG8uKntjSEcm2EpQOh0XturpPuuC9r3Sq5HLHdsFdWZT27E672SF19QE"
            "i+of0/YeOy15lDgRhKvr5614uRrEfA=="
        ),
        files={
            "dist/katex.min.js": "katex.min.js",
            "dist/katex.min.css": "katex.min.css",
            "dist/fonts/": "fonts/",
            "LICENSE": "LICENSE",
        },
    ),
    # Material for MkDocs 9.x drives Mermaid 11 (it would load mermaid@11 from a CDN): keep the
    # major version in step with material's, not with mermaid's newest.
    Pin(
        name="mermaid",
        version="11.17.2",
        integrity=(
            "sha512-V6K3C8EBdEsPFZXSKMJe6ppQOENxuHARr9GvHX4hh47lAbhMRD9qf4oEK7Lo"
            "aRQxULMa80/qt5gHO73aCleBBg=="
        ),
        files={
            "dist/mermaid.min.js": "mermaid.min.js",
            "LICENSE": "LICENSE",
        },
    ),
)


class VendorError(RuntimeError):
    """Something went wrong; the message says what and what to do."""


def sri_sha512(data: bytes) -> str:
    """The Subresource-Integrity form npm uses: ``sha512-<base64 digest>``."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def stamp_for(pin: Pin) -> dict[str, object]:
    return {"name": pin.name, "version": pin.version, "integrity": pin.integrity}


def is_current(pin: Pin, dest: Path) -> bool:
    """True when ``dest`` holds exactly this pin's extraction (stamp matches, files present)."""
    stamp_path = dest / STAMP
    try:
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if {k: stamp.get(k) for k in ("name", "version", "integrity")} != stamp_for(pin):
        return False
    extracted = stamp.get("files")
    if not isinstance(extracted, list) or not extracted:
        return False
    return all((dest / rel).is_file() for rel in extracted)


def npm_pack(pin: Pin, workdir: Path) -> Path:
    """Download the package tarball with ``npm pack`` into ``workdir``; return its path."""
    npm = shutil.which("npm")
    if npm is None:
        raise VendorError(
            "npm was not found on PATH. The docs site serves KaTeX and Mermaid from local copies "
            "fetched from the npm registry; install Node.js and npm (Debian/Ubuntu: "
            "`apt-get install npm`) and run this script again."
        )
    spec = f"{pin.name}@{pin.version}"
    cmd = [npm, "pack", spec, "--json", "--prefer-offline", "--ignore-scripts", "--loglevel=error"]
    try:
        proc = subprocess.run(
            cmd, cwd=workdir, capture_output=True, text=True, timeout=600, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise VendorError(f"`npm pack {spec}` took longer than 10 minutes; giving up") from exc
    if proc.returncode != 0:
        raise VendorError(
            f"`npm pack {spec}` failed with exit code {proc.returncode} (is the npm registry "
            f"reachable?):\n{proc.stderr.strip() or proc.stdout.strip()}"
        )
    tarballs = sorted(workdir.glob("*.tgz"))
    if len(tarballs) != 1:
        raise VendorError(f"`npm pack {spec}` left {len(tarballs)} tarballs in {workdir}, not 1")
    return tarballs[0]


def verify(pin: Pin, tarball: Path) -> None:
    actual = sri_sha512(tarball.read_bytes())
    if actual != pin.integrity:
        raise VendorError(
            f"integrity mismatch for {pin.name}@{pin.version}:\n"
            f"  pinned:     {pin.integrity}\n  downloaded: {actual}\n"
            "The tarball was not extracted. If the pin is wrong, take the value from "
            f"`npm view {pin.name}@{pin.version} dist.integrity`."
        )


def select_members(pin: Pin, tar: tarfile.TarFile) -> list[tuple[tarfile.TarInfo, str]]:
    """Pair the wanted regular files of the tarball with their destination paths."""
    chosen: list[tuple[tarfile.TarInfo, str]] = []
    found: set[str] = set()
    for member in tar.getmembers():
        if not member.isfile():
            continue
        # npm tarballs put everything under one top folder, normally "package/".
        parts = member.name.split("/", 1)
        if len(parts) != 2:
            continue
        inner = parts[1]
        for src, dst in pin.files.items():
            if src.endswith("/"):
                rest = inner[len(src) :] if inner.startswith(src) else ""
                if rest and "/" not in rest and rest not in (".", ".."):
                    chosen.append((member, dst + rest))
                    found.add(src)
            elif inner == src:
                chosen.append((member, dst))
                found.add(src)
    missing = sorted(set(pin.files) - found)
    if missing:
        raise VendorError(f"{pin.name}@{pin.version}: tarball has no {', '.join(missing)}")
    return chosen


def extract(pin: Pin, tarball: Path, dest: Path) -> list[str]:
    """Extract the pin's files into a staging folder, then swap it in place of ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{pin.name}-", dir=dest.parent))
    try:
        written: list[str] = []
        with tarfile.open(tarball, "r:gz") as tar:
            for member, rel in select_members(pin, tar):
                target = staging / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:
                    raise VendorError(f"cannot read {member.name} from {tarball.name}")
                with source, target.open("wb") as out:
                    shutil.copyfileobj(source, out)
                written.append(rel)
        written.sort()
        stamp = {**stamp_for(pin), "files": written}
        (staging / STAMP).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
        return written
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def fetch(pin: Pin, dest_root: Path, *, force: bool = False, quiet: bool = False) -> bool:
    """Make ``dest_root/<name>`` hold the pinned files. Returns True if it downloaded."""
    dest = dest_root / pin.name
    if not force and is_current(pin, dest):
        if not quiet:
            print(f"fetch_vendor: {pin.name}@{pin.version} already present in {dest}")
        return False
    with tempfile.TemporaryDirectory(prefix="autodiff-vendor-") as tmp:
        tarball = npm_pack(pin, Path(tmp))
        verify(pin, tarball)
        written = extract(pin, tarball, dest)
    if not quiet:
        print(f"fetch_vendor: {pin.name}@{pin.version} verified, {len(written)} files -> {dest}")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dest", type=Path, default=DEFAULT_DEST, help="vendor folder (default: %(default)s)"
    )
    parser.add_argument("--force", action="store_true", help="download and extract again")
    parser.add_argument(
        "--check", action="store_true", help="only check; exit 1 if anything is missing or stale"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    args = parser.parse_args(argv)

    if args.check:
        stale = [p for p in PINS if not is_current(p, args.dest / p.name)]
        for pin in stale:
            print(f"fetch_vendor: {pin.name}@{pin.version} missing or stale", file=sys.stderr)
        return 1 if stale else 0

    try:
        for pin in PINS:
            fetch(pin, args.dest, force=args.force, quiet=args.quiet)
    except VendorError as exc:
        print(f"fetch_vendor: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
