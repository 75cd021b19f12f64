"""What a replay could not repeat: I/O and random draws during a recording become clear errors."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from autodiff.compile.trace import CompileError, active

_CODE_FILES = (".py", ".pyc", ".pyd", ".so", ".pth", ".dylib")
_EVENTS = {"open", "socket.connect", "socket.bind", "subprocess.Popen", "os.system", "os.exec"}
_installed: list[bool] = []


def _hook(event: str, args: tuple) -> None:
    if event not in _EVENTS or active() is None:
        return
    if event == "open":
        path = args[0]
        if isinstance(path, bytes):
            path = path.decode(errors="replace")
        if not isinstance(path, str) or path.endswith(_CODE_FILES):
            return  # imports read code files; that is no I/O of the function's
    raise CompileError(
        f"ad.compile: the function does I/O ({event} {args[0]!r}) while it is recorded; a replay "
        "would not repeat it. Do the I/O outside the compiled function"
    )


def watch_io() -> Any:
    """Install the audit hook once (it acts only while a recording runs), and guard
    ``sys.stdout`` for this recording; returns the function that puts ``sys.stdout`` back."""
    if not _installed:
        sys.addaudithook(_hook)
        _installed.append(True)
    # stdout only: warnings go to stderr, and a warning on the first call is no wrong result
    stream = sys.stdout
    if isinstance(stream, _Guarded) or stream is None:
        return lambda: None
    guarded = sys.stdout = _Guarded(stream, "stdout")

    def restore() -> None:
        if sys.stdout is guarded:  # unless the function replaced it itself
            sys.stdout = stream

    return restore


class _Guarded:
    """``sys.stdout``: printing while a recording runs is I/O that a replay would skip."""

    def __init__(self, stream: Any, name: str) -> None:
        self._stream = stream
        self._name = name

    def write(self, text: str) -> int:
        if active() is not None and text:
            raise CompileError(
                f"ad.compile: the function writes to {self._name} (print) while it is "
                "recorded; that would happen on the first call only, not on replays. Return "
                "the value instead, or print outside the compiled function"
            )
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def random_state() -> Any:
    """The state of NumPy's global generator (``np.random.*``), to see whether f drew from it."""
    state = np.random.get_state(legacy=False)
    return state["state"]["pos"], state["state"]["key"].copy()


def check_random(before: Any) -> None:
    after = random_state()
    if before[0] != after[0] or not np.array_equal(before[1], after[1]):
        raise CompileError(
            "ad.compile: the function draws random numbers from NumPy's global generator "
            "(np.random.*); a replay would repeat the same draws. Pass a seed (a Python int, "
            "which becomes part of the signature) and draw from np.random.default_rng(seed), "
            "or draw outside and pass the numbers in"
        )
