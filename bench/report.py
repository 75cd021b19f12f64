"""Writing the results: JSON lines, the Markdown table and the PNG plot."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.libs import LIBRARIES

COLORS = {
    "autodiff": "#d62728",
    "autograd": "#9467bd",
    "torch": "#ff7f0e",
    "jax": "#1f77b4",
    "numpy": "#7f7f7f",
}


# --------------------------------------------------------------------------- formatting


def fmt_time(s: float | None) -> str:
    if s is None:
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{_sig(s / scale)} {unit}"
    return f"{_sig(s / 1e-9)} ns"


def fmt_bytes(b: float | None) -> str:
    if b is None:
        return "—"
    if abs(b) < 2**20:
        return f"{_sig(b / 2**10)} KiB"
    return f"{_sig(b / 2**20)} MiB"


def _sig(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - mag)
    return f"{x:,.{decimals}f}"


def fmt_value(rec: dict, key: str = "median") -> str:
    v = rec.get(key)
    return fmt_bytes(v) if rec.get("unit") == "B" else fmt_time(v)


def _headline_value(rec: dict) -> float | None:
    return rec.get(rec.get("headline_field") or "ratio")


def _fmt_headline(rec: dict, value: float) -> str:
    if rec.get("headline_field") == "median":
        return fmt_time(value)
    return _sig(value)


# --------------------------------------------------------------------------- JSON lines


def write_jsonl(path: Path, records: Iterable[dict]) -> None:
    with path.open("a", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# --------------------------------------------------------------------------- Markdown


def _tag(rec: dict, mixed_kinds: bool) -> str:
    """How a variant is named inside a summary cell: its flavor, and its kind when they differ."""
    parts = [rec["kind"]] if mixed_kinds else []
    return ", ".join(parts + ([rec["flavor"]] if rec["flavor"] else []))


def _mixed(by_lib: dict[str, list[dict]]) -> bool:
    return len({r["kind"] for recs in by_lib.values() for r in recs}) > 1


@dataclass
class Target:
    """autodiff's target for one metric: the issue's figure, or that figure scaled by how fast
    the peer it was derived from ran in this run (``peer`` names it)."""

    value: float
    filed: float
    peer: str | None = None
    peer_value: float | None = None

    def describe(self, fmt: Callable[[float], str]) -> str:
        if self.peer is None:
            return f"≤ {fmt(self.value)}"
        ratio = self.value / self.peer_value
        return (
            f"≤ {fmt(self.value)}: {ratio:.2f}× {self.peer} in this run "
            f"(filed as ≤ {fmt(self.filed)} beside {self.peer} at {fmt(self.filed / ratio)})"
        )


def _target(rec: dict, by_lib: dict[str, list[dict]]) -> Target | None:
    if rec.get("target") is None:
        return None
    peer = rec.get("target_peer")
    peer_recs = by_lib.get(peer["library"], []) if peer else []
    if not peer_recs:
        return Target(rec["target"], rec["target"])
    peer_value = _headline_value(peer_recs[0])
    scaled = rec["target"] * peer_value / peer["figure"]
    return Target(scaled, rec["target"], peer["library"], peer_value)


def headline_rows(records: list[dict]) -> list[tuple[str, dict[str, list[dict]], Target | None]]:
    """(metric, {library: records}, target) in the order the metrics first appear."""
    order: list[str] = []
    cells: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for rec in records:
        h = rec.get("headline")
        if not h or rec.get("status") != "ok" or _headline_value(rec) is None:
            continue
        if h not in cells:
            order.append(h)
        cells[h][rec["library"]].append(rec)
    rows = []
    for h in order:
        with_target = [r for recs in cells[h].values() for r in recs if r.get("target") is not None]
        rows.append((h, cells[h], _target(with_target[0], cells[h]) if with_target else None))
    return rows


def _load_verdict(start: list | None, end: list | None, cores: int) -> str:
    """Whether other processes competed for the CPU, from the 1-minute load averages."""
    loads = [x[0] for x in (start, end) if x]
    if not loads:
        return "."
    if max(loads) > cores:
        return (
            f": above {cores} (the core count), other processes competed for the CPU and the "
            "figures are noisier."
        )
    return f": at most {cores} (the core count), the suite's own work included."


def markdown(records: list[dict], meta: dict) -> str:
    libs = [lib for lib in LIBRARIES if lib in meta.get("libraries", LIBRARIES)]
    m = meta["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v) or "none"
    sizes = "**quick** sizes (proves it runs; not for quoting)" if meta["quick"] else "full sizes"
    out = [
        "# autodiff benchmarks",
        "",
        f"Run `{meta['run_id']}` · `{meta['command']}` · threads: **{m['threads']['mode']}** · "
        f"float64 · {sizes}",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['platform']}, Python {m['python']}, "
        f"NumPy {m['numpy']} ({m['blas']}); commit {m.get('commit') or '?'}. "
        f"Allocator: {m.get('allocator', 'not recorded')}.",
        f"Libraries: {versions}.",
        f"Load average (1, 5, 15 min) at start {m.get('loadavg_at_start')}"
        + (f", at end {meta['loadavg_at_end']}" if meta.get("loadavg_at_end") else "")
        + _load_verdict(m.get("loadavg_at_start"), meta.get("loadavg_at_end"), m["cores"]),
        "",
        "Figures are **medians** over the repetitions (libraries interleaved round-robin); every "
        "ratio divides two medians measured in this same run. Every result was checked against a "
        "closed form or a NumPy reference before it was timed.",
        "",
        "## Summary",
        "",
        "| metric | " + " | ".join(libs) + " | autodiff's target (issue 6) |",
        "| --- | " + " | ".join("---" for _ in libs) + " | --- |",
    ]
    for metric, by_lib, target in headline_rows(records):
        row = [metric]
        mixed = _mixed(by_lib)
        for lib in libs:
            parts = []
            for rec in by_lib.get(lib, []):
                v = _headline_value(rec)
                s = _fmt_headline(rec, v)
                goal = _target(rec, by_lib) if lib == "autodiff" else None
                if goal is not None:
                    if v > goal.value and s == _fmt_headline(rec, goal.value):
                        s = _sig(v, 5)  # a miss that three digits would hide
                    s = f"**{s}** {'✓' if v <= goal.value else '✗'}"
                tag = _tag(rec, mixed)
                parts.append(f"{s} ({tag})" if tag else s)
            row.append("<br>".join(parts) if parts else "—")
        if target is None:
            row.append("")
        else:
            row.append(target.describe(fmt_time if metric.endswith("(s)") else _sig))
        out.append("| " + " | ".join(row) + " |")

    by_task: dict[tuple[str, str], list[dict]] = defaultdict(list)
    task_order: list[tuple[str, str]] = []
    for rec in records:
        key = (rec["workload"], rec["task"])
        if key not in by_task:
            task_order.append(key)
        by_task[key].append(rec)

    current = None
    for workload, task in task_order:
        recs = by_task[(workload, task)]
        if workload != current:
            current = workload
            desc = meta.get("descriptions", {}).get(workload, "")
            out += ["", f"## {workload}" + (f": {desc}" if desc else "")]
        ok = [r for r in recs if r["status"] == "ok"]
        out += ["", f"### {task}", ""]
        note = next((r.get("task_note") for r in recs if r.get("task_note")), "")
        if note:
            out += [note, ""]
        if not ok:
            out.append("No measurement (see the notes below).")
            continue
        has_unit = any(r.get("per_unit") for r in ok)
        has_own = any(r.get("ratio_own") is not None for r in ok)
        unit_label = next((r["per_unit"] for r in ok if r.get("per_unit")), "")
        head = ["library", "variant", "median", "IQR", "reps"]
        head += [unit_label] if has_unit else []
        head += ["ratio", "÷"]
        head += ["own ratio", "÷ own"] if has_own else []
        head += ["check"]
        out.append("| " + " | ".join(head) + " |")
        out.append("| " + " | ".join("---" for _ in head) + " |")
        for r in ok:
            row = [r["library"], r["variant"], fmt_value(r), fmt_value(r, "iqr")]
            row.append(
                f"{r['repetitions']}×{r['number']}" if r["number"] > 1 else str(r["repetitions"])
            )
            if has_unit:
                row.append(_sig(r.get("per_unit_value")))
            row += [_sig(r.get("ratio")), r.get("ratio_to") or ""]
            if has_own:
                row += [_sig(r.get("ratio_own")), r.get("ratio_own_to") or ""]
            row.append(r.get("check", ""))
            out.append("| " + " | ".join(row) + " |")

    notes = [r for r in records if r["status"] != "ok"]
    if notes:
        out += ["", "## Skipped, wrong and failed", ""]
        for r in notes:
            variant = "" if r["variant"] == "*" else f" · {r['variant']}"
            out.append(
                f"- **{r['status']}** · {r['library']} · {r['workload']} · {r['task']}{variant}: "
                f"{r.get('note') or ''}"
            )
    out += [
        "",
        "Columns: *median* and *IQR* (interquartile range) are per call (bytes for memory); "
        "*reps* is repetitions × calls per repetition; *ratio* = median ÷ the median named in "
        "the next column.",
        "",
    ]
    return "\n".join(out)


# --------------------------------------------------------------------------- PNG


def plot(records: list[dict], meta: dict, path: Path) -> str | None:
    """Draw the summary metrics as bar charts; return a note when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib not installed: no PNG (pip install -e '.[bench]')"
    rows = headline_rows(records)
    if not rows:
        return "nothing to plot"
    ncols = 2 if len(rows) > 1 else 1
    nrows = math.ceil(len(rows) / ncols)
    heights = [max(2, sum(len(v) for v in by_lib.values())) for _, by_lib, _ in rows]
    per_row = [max(heights[i : i + ncols]) for i in range(0, len(rows), ncols)]
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(15, 1.0 + sum(0.32 * h + 0.9 for h in per_row)),
        gridspec_kw={"height_ratios": per_row},
        squeeze=False,
    )
    for ax in axes.flat[len(rows) :]:
        ax.set_visible(False)
    for ax, (metric, by_lib, target) in zip(axes.flat, rows):
        labels, values, colors = [], [], []
        mixed = _mixed(by_lib)
        for lib in LIBRARIES:
            for rec in by_lib.get(lib, []):
                labels.append(f"{lib} {_tag(rec, mixed)}".strip())
                values.append(_headline_value(rec))
                colors.append(COLORS.get(lib, "black"))
        y = list(range(len(values)))[::-1]
        ax.barh(y, values, color=colors)
        ax.set_yticks(y, labels, fontsize=8)
        positive = [v for v in values if v and v > 0]
        if positive and max(positive) / min(positive) > 30:
            ax.set_xscale("log")
        for yi, v, rec in zip(y, values, [r for lib in LIBRARIES for r in by_lib.get(lib, [])]):
            ax.text(v, yi, " " + _fmt_headline(rec, v), va="center", fontsize=7)
        title = metric
        if target is not None:
            ax.axvline(target.value, color=COLORS["autodiff"], ls="--", lw=1)
            shown = fmt_time(target.value) if metric.endswith("(s)") else _sig(target.value)
            scaled = (
                f", {target.value / target.peer_value:.2f}× {target.peer}" if target.peer else ""
            )
            title += f"  (dashed: target ≤ {shown}{scaled})"
        ax.set_title(title, fontsize=10)
        ax.margins(x=0.15)
    m = meta["machine"]
    fig.suptitle(
        f"autodiff vs peers — {m['threads']['mode']}, float64, "
        f"{'quick sizes' if meta['quick'] else 'full sizes'} — {m['cpu']} — run {meta['run_id']}",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
