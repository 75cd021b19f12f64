"""The command line: ``python -m bench [--quick] [--only ...] [--libs ...] [--all-cores]``."""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import shlex
import sys
import time
import traceback
from pathlib import Path

from bench import _threads, report, workloads
from bench.harness import Settings, run_task, task_records
from bench.libs import LIBRARIES, load
from bench.machine import info

RESULTS = Path(__file__).resolve().parent / "results"


def _csv(choices: tuple[str, ...], what: str):
    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in choices]
        if bad or not items:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {', '.join(bad) or '(none)'}; choose from {', '.join(choices)}"
            )
        return items

    return parse


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark autodiff beside HIPS autograd, PyTorch and JAX, in one run.",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="small sizes and few repetitions: proves everything runs in under a minute",
    )
    ap.add_argument(
        "--only",
        type=_csv(workloads.WORKLOADS, "workload"),
        default=list(workloads.WORKLOADS),
        metavar="WORKLOAD[,...]",
        help=f"run only these workloads ({', '.join(workloads.WORKLOADS)})",
    )
    ap.add_argument(
        "--libs",
        type=_csv(LIBRARIES, "library"),
        default=list(LIBRARIES),
        metavar="LIB[,...]",
        help=f"run only these libraries ({', '.join(LIBRARIES)}); keep numpy for the ratios",
    )
    ap.add_argument(
        "--all-cores",
        action="store_true",
        help="let BLAS, torch and XLA use every core (results labelled all-cores)",
    )
    ap.add_argument(
        "--default-allocator",
        action="store_true",
        help="leave glibc's malloc thresholds at their defaults (by default they are fixed, so "
        "that what one library imports cannot change another's figures)",
    )
    ap.add_argument("--repetitions", type=int, help="repetitions per case (default 15, quick 3)")
    ap.add_argument(
        "--out",
        type=Path,
        default=RESULTS,
        help="directory for <timestamp>.jsonl, latest.md and latest.png (default bench/results)",
    )
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument(
        "--report",
        type=Path,
        metavar="RUN.jsonl",
        help="measure nothing: rewrite the Markdown table and the PNG of an earlier run",
    )
    return ap


def _progress(disable: bool):
    if disable:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        print("(tqdm not installed: no progress bar)", file=sys.stderr)
        return None
    return tqdm(total=0, unit="rep", dynamic_ncols=True, file=sys.stderr)


def rewrite(jsonl: Path, out_dir: Path) -> int:
    """Write latest*.md and latest*.png again from the records of an earlier run."""
    records = report.read_jsonl(jsonl)
    if not records:
        print(f"{jsonl}: no records", file=sys.stderr)
        return 1
    first = records[0]
    suffix = ("-quick" if first.get("quick") else "") + (
        "-all-cores" if first.get("threads", "").startswith("all-cores") else ""
    )
    meta = {
        "run_id": first.get("run", jsonl.stem),
        "command": first.get("command", "python -m bench"),
        "quick": first.get("quick", False),
        "machine": first["machine"],
        "libraries": list(dict.fromkeys(r["library"] for r in records)),
        "descriptions": workloads.DESCRIPTIONS,
        "loadavg_at_end": first.get("loadavg_at_end"),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path, png_path = out_dir / f"latest{suffix}.md", out_dir / f"latest{suffix}.png"
    md_path.write_text(report.markdown(records, meta), encoding="utf-8")
    note = report.plot(records, meta, png_path)
    print(f"wrote {md_path}", file=sys.stderr)
    print(f"wrote {png_path}" if note is None else f"no plot: {note}", file=sys.stderr)
    return 0


def _failure(workload: str, exc: Exception) -> dict:
    """The record of a workload that failed as a whole (a bug in the suite itself)."""
    empty = ("median", "q1", "q3", "iqr", "min", "ratio", "ratio_to", "ratio_own")
    return {
        "workload": workload,
        "task": "*",
        "size": {},
        "library": "bench",
        "variant": "*",
        "kind": "*",
        "flavor": "",
        "status": "error",
        "unit": "s",
        **dict.fromkeys(empty),
        "ratio_own_to": None,
        "per_unit": None,
        "per_unit_value": None,
        "repetitions": 0,
        "number": 0,
        "headline": None,
        "check": "",
        "note": f"{type(exc).__name__}: {exc}",
    }


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.report is not None:
        return rewrite(args.report, args.out)
    if _threads.mode() == "unpinned":  # imported some other way than python -m bench
        _threads.pin(args.all_cores)
    settings = (
        Settings(repetitions=3, min_repetitions=3, rep_seconds=0.002, case_budget=0.3,
                 memory_repetitions=1, calibrate=False)
        if args.quick
        else Settings()
    )  # fmt: skip
    if args.repetitions:
        settings.repetitions = settings.min_repetitions = args.repetitions

    libs = {name: load(name) for name in LIBRARIES if name in args.libs}
    for name, (mod, why) in libs.items():
        if mod is None:
            print(f"skipping {name}: {why}", file=sys.stderr)
    machine = info(libs)
    now = _dt.datetime.now(_dt.timezone.utc)
    run_id = now.strftime("%Y%m%dT%H%M%SZ")
    mode = machine["threads"]["mode"]
    suffix = ("-quick" if args.quick else "") + ("-all-cores" if args.all_cores else "")
    out_dir = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    jsonl = out_dir / f"{run_id}{suffix}.jsonl"
    command = shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)])
    meta = {
        "run_id": run_id,
        "command": command,
        "quick": args.quick,
        "machine": machine,
        "libraries": list(libs),
        "descriptions": workloads.DESCRIPTIONS,
    }
    common = {
        "run": run_id,
        "command": command,
        "threads": mode,
        "quick": args.quick,
        "machine": machine,
    }

    records: list[dict] = []
    bar = _progress(args.no_progress)
    t0 = time.perf_counter()
    try:
        for workload in args.only:
            if bar is not None:
                bar.set_description(workload)
            try:
                for task in workloads.build(
                    workload, libs, args.quick, settings.memory_repetitions
                ):
                    run_task(task, settings, bar)
                    note = {"task_note": task.description}
                    recs = [{**rec, **note, **common} for rec in task_records(task)]
                    report.write_jsonl(jsonl, recs)
                    records += recs
            except Exception as exc:  # a bug in one workload must not lose the others
                traceback.print_exc()
                rec = {**_failure(workload, exc), **common}
                report.write_jsonl(jsonl, [rec])
                records.append(rec)
    except KeyboardInterrupt:
        print("\ninterrupted: writing what was measured", file=sys.stderr)
    finally:
        if bar is not None:
            bar.close()
    elapsed = time.perf_counter() - t0
    meta["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]

    md_path = out_dir / f"latest{suffix}.md"
    png_path = out_dir / f"latest{suffix}.png"
    md = report.markdown(records, meta)
    md += f"\nThe run took {elapsed:.0f} s. Raw records: `{jsonl.name}`.\n"
    md_path.write_text(md, encoding="utf-8")
    note = report.plot(records, meta, png_path)
    print(f"wrote {jsonl}", file=sys.stderr)
    print(f"wrote {md_path}", file=sys.stderr)
    print(f"wrote {png_path}" if note is None else f"no plot: {note}", file=sys.stderr)
    bad = [r for r in records if r["status"] in ("wrong", "error")]
    for r in bad:
        print(
            f"{r['status'].upper()}: {r['library']} {r['workload']} {r['variant']}: {r['note']}",
            file=sys.stderr,
        )
    print(
        f"{len(records)} records in {elapsed:.0f} s ({len(bad)} wrong or failed)", file=sys.stderr
    )
    return 1 if bad else 0
