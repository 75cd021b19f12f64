"""What the numbers were measured on: attached to every record."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

from bench import _malloc, _threads


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas() -> str:
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:
        return "unknown"


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def info(libs: dict[str, tuple[ModuleType | None, str]]) -> dict:
    versions = {
        name: getattr(mod, "VERSION", "?") if mod is not None else None
        for name, (mod, _) in libs.items()
    }
    threads: dict = {"mode": _threads.mode()}
    threads.update({v: os.environ.get(v) for v in _threads.THREAD_ENV if os.environ.get(v)})
    if os.environ.get("XLA_FLAGS"):
        threads["XLA_FLAGS"] = os.environ["XLA_FLAGS"]
    if os.environ.get(_threads.LATE_ENV):
        threads["warning"] = "numpy was imported before the threads were pinned"
    if "torch" in sys.modules:
        threads["torch"] = sys.modules["torch"].get_num_threads()
    try:
        from threadpoolctl import threadpool_info

        threads["threadpoolctl"] = [
            {k: d.get(k) for k in ("internal_api", "num_threads")} for d in threadpool_info()
        ]
    except ImportError:
        pass
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": _blas(),
        "versions": versions,
        "threads": threads,
        "dtype": "float64",
        "commit": _git_commit(),
        "loadavg_at_start": _loadavg(),
        "allocator": os.environ.get(_malloc.ENV, "not fixed (bench run without python -m bench)"),
    }


def _loadavg() -> list[float] | None:
    """Other processes share the cores: a load above the core count means noisier figures."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None
