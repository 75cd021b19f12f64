"""Peak resident memory of one fwd+bwd, in a fresh process (run by the memory workload).

    python -m bench.memprobe LIB FLAVOR LAYERS WIDTH BATCH REPS

tracemalloc sees only the allocations of NumPy (and Python); torch and XLA have their own
allocators. This probe measures every library the same way: the process's resident set, whose
high-water mark Linux resets on ``echo 5 > /proc/self/clear_refs``. The parent sets
``MALLOC_MMAP_THRESHOLD_`` so that glibc gives large blocks back to the system when they are
freed, and the RSS follows the live memory. Prints one JSON line:
``{"samples": [bytes, ...], "status": "ok" | "wrong" | "error", "check": ..., "note": ...}``.
"""

from __future__ import annotations

import sys

from bench._threads import mode, pin

if mode() == "unpinned":  # run by hand: pin as the suite does
    pin()

import gc
import json
import resource

from bench import problems as P
from bench.harness import CheckFailed, compare
from bench.libs import load


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def probe(lib: str, flavor: str, layers: int, width: int, batch: int, reps: int) -> dict:
    module, why = load(lib)
    if module is None:
        return {"samples": [], "status": "skipped", "note": why}
    p = P.DeepMLP(layers, width, batch)
    impls = [i for i in module.memory(p) if i.flavor == flavor]
    if not impls:
        return {"samples": [], "status": "error", "note": f"no memory flavor {flavor!r}"}
    impl = impls[0]
    try:
        fn = impl.make()
    except Exception as exc:
        status = "skipped" if type(exc).__name__ == "Unavailable" else "error"
        return {"samples": [], "status": status, "note": str(exc)}
    # warm-up (jit compilation, lazy imports), then check against the hand-written backward
    result = impl.to_numpy(fn())
    try:
        msg = compare(
            result,
            P.deep_backward(p.Ws, p.X),
            rtol=1e-8,
            atol=1e-9,
            what="hand-written NumPy backward",
        )
    except CheckFailed as exc:
        return {"samples": [], "status": "wrong", "note": str(exc)}
    del result
    samples = []
    method = "VmHWM after clear_refs"
    for _ in range(reps):
        gc.collect()
        if not _reset_peak():
            method = "ru_maxrss (high-water mark not resettable: one sample, includes set-up)"
            base = _status_kib("VmRSS")
            out = fn()
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            samples.append(float(peak - base) * 1024)
            del out
            break
        base = _status_kib("VmRSS")
        out = fn()
        peak = _status_kib("VmHWM")
        del out
        samples.append(float(peak - base) * 1024)
    return {"samples": samples, "status": "ok", "check": msg, "method": method}


def main(argv: list[str]) -> int:
    lib, flavor, layers, width, batch, reps = argv
    res = probe(lib, flavor, int(layers), int(width), int(batch), int(reps))
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
