"""The measuring machinery: cases, checks, round-robin timing, statistics.

A workload (``bench/workloads.py``) builds *tasks*; a task holds one *case* per (library, variant).
Every case is first run once and its result checked (against a closed form, or against a
reference computed with plain NumPy), then timed. Timing interleaves the cases of a task
round-robin: repetition ``r`` runs every case once, starting at a rotating offset, so that a slow
drift of the machine (frequency, another process) spreads over all libraries alike.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class Unavailable(Exception):
    """A library or one of its functions is missing: the case is skipped with this note."""


class CheckFailed(AssertionError):
    """A result disagrees with its reference: the case is reported as wrong and not timed."""


# --------------------------------------------------------------------------- results to NumPy


def as_numpy(x: Any) -> Any:
    """Convert a result of any library (tuples included) to NumPy arrays, for the checks."""
    if isinstance(x, (tuple, list)):
        return tuple(as_numpy(e) for e in x)
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach"):  # torch.Tensor, autodiff.Tensor
        x = x.detach()
        if hasattr(x, "cpu"):
            x = x.cpu()
        if hasattr(x, "numpy"):
            return np.asarray(x.numpy())
    if hasattr(x, "numpy") and callable(x.numpy):
        return np.asarray(x.numpy())
    return np.asarray(x)


def compare(got: Any, want: Any, *, rtol: float = 1e-9, atol: float = 1e-12, what: str) -> str:
    """Check ``got`` against ``want`` (arrays or tuples of arrays); return a one-line summary.

    Raises `CheckFailed` naming the shapes or the worst element.
    """
    got_t = got if isinstance(got, tuple) else (got,)
    want_t = want if isinstance(want, tuple) else (want,)
    if len(got_t) != len(want_t):
        raise CheckFailed(f"expected {len(want_t)} arrays, got {len(got_t)} (vs {what})")
    worst = 0.0
    for i, (g, w) in enumerate(zip(got_t, want_t)):
        g = np.asarray(g)
        w = np.asarray(w)
        if g.shape != w.shape:
            raise CheckFailed(f"output {i}: shape {g.shape}, expected {w.shape} (vs {what})")
        if g.dtype != np.float64 and np.issubdtype(g.dtype, np.floating):
            raise CheckFailed(f"output {i}: dtype {g.dtype}, expected float64 (vs {what})")
        if not np.all(np.isfinite(g)):
            raise CheckFailed(f"output {i}: not finite (vs {what})")
        err = np.abs(g - w)
        bad = err > atol + rtol * np.abs(w)
        if np.any(bad):
            j = np.unravel_index(np.argmax(err - rtol * np.abs(w)), err.shape)
            raise CheckFailed(
                f"output {i}{list(j)}: {g[j]!r} != {w[j]!r} (abs err {err[j]:.3g}, vs {what})"
            )
        if err.size:
            scale = max(float(np.max(np.abs(w))), 1e-300)
            worst = max(worst, float(np.max(err)) / scale)
    return f"max rel err {worst:.1e} vs {what}"


# --------------------------------------------------------------------------- cases and tasks


@dataclass
class Impl:
    """One library's way of computing one thing.

    ``make()`` does the set-up (converting arrays, building models, jit wrappers) and returns the
    thunk that is timed; it raises `Unavailable` when the library lacks what it needs.
    ``kind`` says *what* is computed (fixed per workload: "fwd+bwd", "jacfwd", "hvp", ...),
    ``flavor`` *how* ("vectorized", "jit", "torch.func", ...).
    """

    kind: str
    make: Callable[[], Callable[[], Any]]
    flavor: str = ""
    to_numpy: Callable[[Any], Any] = as_numpy
    #: flavor of the same library's reference case, where a ratio is taken within the library
    ref_flavor: str | None = None
    note: str = ""

    @property
    def variant(self) -> str:
        return variant_name(self.kind, self.flavor)


def variant_name(kind: str, flavor: str = "") -> str:
    """How a case is named in the records and tables: ``kind [flavor]``."""
    return f"{kind} [{flavor}]" if flavor else kind


def skipped(kind: str, note: str, flavor: str = "") -> Impl:
    """An `Impl` that is always skipped with ``note``."""

    def make() -> Callable[[], Any]:
        raise Unavailable(note)

    return Impl(kind, make, flavor)


@dataclass
class Case:
    library: str
    impl: Impl
    #: given the result as NumPy, returns a summary or raises `CheckFailed`
    check: Callable[[Any], str] | None = None
    #: (library, variant) whose median divides this one's, in the same task
    ratio_to: tuple[str, str] | None = None
    #: (library, variant) of the library's own reference (e.g. its own forward)
    own_ref: tuple[str, str] | None = None
    headline: str | None = None
    #: e.g. ("µs/op", 3000): per_unit = median / 3000 * 1e6
    per_unit: tuple[str, float] | None = None
    #: a constant to divide by instead of another case: (what it is, value)
    ratio_by: tuple[str, float] | None = None
    unit: str = "s"
    #: "time" (default), "tracemalloc", or "presampled" (samples filled in by a subprocess)
    measure: str = "time"
    extra: dict = field(default_factory=dict)
    # filled in while running
    fn: Callable[[], Any] | None = None
    status: str = "pending"
    note: str = ""
    check_msg: str = ""
    number: int = 1
    reps: int = 0
    samples: list[float] = field(default_factory=list)

    @property
    def variant(self) -> str:
        return self.impl.variant

    @property
    def key(self) -> tuple[str, str]:
        return (self.library, self.variant)


@dataclass
class Task:
    workload: str
    name: str
    size: dict
    cases: list[Case]
    description: str = ""


@dataclass
class Settings:
    repetitions: int = 15
    min_repetitions: int = 5
    #: each repetition of a case lasts at least this long (calls are batched to reach it)
    rep_seconds: float = 0.02
    #: a case's repetitions are cut (down to min_repetitions) to stay near this budget
    case_budget: float = 4.0
    memory_repetitions: int = 3
    #: time one call after the warm-up to choose the calls per repetition; without it (quick
    #: mode) the warm-up's own time is used, which overestimates jitted functions
    calibrate: bool = True


# --------------------------------------------------------------------------- running


def _tracemalloc_peak(fn: Callable[[], Any]) -> tuple[float, Any]:
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return float(peak - base), result


def _error_note(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
    msg = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg}{where}"


def prepare(case: Case, settings: Settings) -> float | None:
    """Build, run once, check, and calibrate one case; return the seconds one call takes."""
    try:
        case.fn = case.impl.make()
    except Unavailable as exc:
        case.status, case.note = "skipped", str(exc)
        return None
    except Exception as exc:
        case.status, case.note = "error", _error_note(exc)
        return None
    if case.measure == "presampled":  # make() did the measuring (in a subprocess)
        result = case.fn()
        case.samples = list(result["samples"])
        case.check_msg = result.get("check", "")
        if "method" in result:
            case.extra["method"] = result["method"]
        if result.get("status", "ok") != "ok":
            case.status, case.note = result["status"], result.get("note", "")
        else:
            case.status = "ok"
        case.reps = len(case.samples)
        return None
    try:
        t0 = time.perf_counter()
        result = case.fn()  # warm-up (jit compilation happens here) and the result to check
        once = max(time.perf_counter() - t0, 1e-7)
        if case.check is not None:
            case.check_msg = case.check(case.impl.to_numpy(result))
        del result
    except CheckFailed as exc:
        case.status, case.note = "wrong", str(exc)
        case.fn = None
        return None
    except Exception as exc:
        case.status, case.note = "error", _error_note(exc)
        case.fn = None
        return None
    case.status = "ok"
    if case.measure == "tracemalloc":
        case.reps = settings.memory_repetitions
        return None
    if settings.calibrate:
        t0 = time.perf_counter()
        case.fn()
        once = max(time.perf_counter() - t0, 1e-7)
    case.number = max(1, min(100_000, math.ceil(settings.rep_seconds / once)))
    per_rep = once * case.number
    fit = int(settings.case_budget / per_rep)
    case.reps = max(settings.min_repetitions, min(settings.repetitions, fit))
    return once


def sample(case: Case) -> float:
    """One repetition of one case: seconds per call, or peak bytes."""
    fn = case.fn
    assert fn is not None
    if case.measure == "tracemalloc":
        peak, result = _tracemalloc_peak(fn)
        del result
        return peak
    n = case.number
    t0 = time.perf_counter_ns()
    for _ in range(n):
        fn()
    t1 = time.perf_counter_ns()
    return (t1 - t0) / n / 1e9


def run_task(task: Task, settings: Settings, progress: Any = None) -> None:
    """Prepare every case, then time them round-robin; fills in ``samples`` and ``status``."""
    for case in task.cases:
        if progress is not None:
            progress.set_postfix_str(f"{case.library} {case.variant}"[:60], refresh=False)
            progress.set_description(f"{task.workload}: {task.name}"[:50])
        prepare(case, settings)
        if progress is not None:
            progress.update(0)
    live = [c for c in task.cases if c.status == "ok" and c.fn is not None and c.reps > 0]
    if progress is not None:
        progress.total = (progress.total or 0) + sum(c.reps for c in live)
        progress.refresh()
    rounds = max((c.reps for c in live), default=0)
    gc_was_enabled = gc.isenabled()
    try:
        for r in range(rounds):
            gc.collect()
            gc.disable()
            k = r % len(live)
            for case in live[k:] + live[:k]:
                if len(case.samples) >= case.reps:
                    continue
                if progress is not None:
                    progress.set_postfix_str(f"{case.library} {case.variant}"[:60], refresh=False)
                try:
                    case.samples.append(sample(case))
                except Exception as exc:
                    case.status, case.note = "error", _error_note(exc)
                    case.reps = len(case.samples)
                if progress is not None:
                    progress.update(1)
            if gc_was_enabled:
                gc.enable()
    finally:
        if gc_was_enabled:
            gc.enable()
    for case in task.cases:
        case.fn = None  # let go of models, tapes and compiled functions
    gc.collect()


# --------------------------------------------------------------------------- statistics


def stats(samples: Sequence[float]) -> dict:
    if not samples:
        return {"median": None, "q1": None, "q3": None, "iqr": None, "min": None}
    q1, q3 = np.percentile(np.asarray(samples, dtype=float), [25, 75])
    return {
        "median": statistics.median(samples),
        "q1": float(q1),
        "q3": float(q3),
        "iqr": float(q3 - q1),
        "min": min(samples),
    }


def task_records(task: Task) -> list[dict]:
    """One record per case of the task (measurements, and the skipped / wrong ones with a note)."""
    medians = {c.key: stats(c.samples)["median"] for c in task.cases if c.status == "ok"}
    records = []
    for case in task.cases:
        st = stats(case.samples) if case.status == "ok" else stats([])
        rec: dict[str, Any] = {
            "workload": task.workload,
            "task": task.name,
            "size": task.size,
            "library": case.library,
            "variant": case.variant,
            "kind": case.impl.kind,
            "flavor": case.impl.flavor,
            "status": case.status,
            "unit": case.unit,
            **st,
            "repetitions": len(case.samples) if case.status == "ok" else 0,
            "number": case.number if case.measure == "time" else 1,
            "ratio": None,
            "ratio_to": None,
            "ratio_own": None,
            "ratio_own_to": None,
            "per_unit": None,
            "per_unit_value": None,
            "headline": case.headline,
            "check": case.check_msg,
            "note": case.note or case.impl.note,
        }
        rec.update(case.extra)
        med = st["median"]
        if med is not None:
            if case.ratio_by is not None:
                rec["ratio_to"], rec["ratio"] = case.ratio_by[0], med / case.ratio_by[1]
            if case.ratio_to is not None:
                rec["ratio_to"] = f"{case.ratio_to[0]} {case.ratio_to[1]}"
                ref = medians.get(case.ratio_to)
                if ref:
                    rec["ratio"] = med / ref
            if case.own_ref is not None and case.own_ref != case.key:
                ref = medians.get(case.own_ref)
                if ref:
                    rec["ratio_own_to"] = f"{case.own_ref[0]} {case.own_ref[1]}"
                    rec["ratio_own"] = med / ref
            if case.per_unit is not None:
                label, count = case.per_unit
                rec["per_unit"] = label
                rec["per_unit_value"] = med / count * (1e6 if label.startswith("µs") else 1.0)
        records.append(rec)
    return records
