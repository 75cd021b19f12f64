"""One allocator behaviour for the whole run, whichever libraries were imported.

glibc's malloc hands out a large block (128 KiB and up, by default) with ``mmap`` and raises that
threshold each time such a block is freed, up to 32 MiB. While the threshold is low, every large
temporary array is fresh memory from the kernel, and touching it costs a page fault per 4 KiB: a
200×200 float64 temporary costs about as much again as the arithmetic on it. What a library does
at import (PyTorch's import frees large blocks) moves the threshold, so one library's figures
would depend on which others were loaded. Fixing both thresholds at the start puts every library
under the same allocator; ``--default-allocator`` measures glibc's defaults instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

ENV = "AUTODIFF_BENCH_ALLOCATOR"
M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # the ceiling of glibc's own dynamic threshold
TRIM_THRESHOLD = 64 << 20


def fix(default: bool = False) -> str:
    """Fix glibc's mmap and trim thresholds (unless ``default``); return the label for the report."""
    if default:
        label = "glibc defaults (dynamic mmap threshold)"
    else:
        try:
            mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
        except (OSError, AttributeError):
            label = "the C library's defaults (no mallopt: not glibc)"
        else:
            fixed = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
            fixed = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and fixed
            label = (
                "glibc, mmap threshold fixed at 32 MiB and trim threshold at 64 MiB"
                if fixed
                else "glibc defaults (mallopt refused)"
            )
    os.environ[ENV] = label
    return label
