"""The benchmark suite runs end to end (``--quick``, autodiff + NumPy only, no peers needed) and
writes records that parse. No time is ever asserted: CI machines are noisy and shared."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ("perop", "mlp", "jacobian", "hvp", "memory", "resnet", "perexample", "sim", "dask")

#: the autodiff API each workload's main case needs; where it exists, the case must have run
NEEDS = {
    "perop": "vjp",
    "mlp": "vjp",
    "jacobian": "jacfwd",
    "hvp": "grad",
    "memory": "vjp",
    "resnet": "models.resnet18",
    "perexample": "vmap",
    "sim": "grad",
    "dask": "value_and_grad",
}


def _has(path: str) -> bool:
    import autodiff

    obj = autodiff
    parts = path.split(".")
    for i, part in enumerate(parts):
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        try:
            obj = importlib.import_module("autodiff." + ".".join(parts[: i + 1]))
        except ImportError:
            return False
    return True


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    cmd = [sys.executable, "-m", "bench", "--quick", "--libs", "autodiff,numpy"]
    cmd += ["--out", str(out), "--no-progress"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    files = sorted(out.glob("*.jsonl"))
    records = [
        json.loads(line) for f in files for line in f.read_text("utf-8").splitlines() if line
    ]
    return proc, records, out, files


def test_runs_and_writes_its_files(run):
    proc, records, out, files = run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(files) == 1, files
    assert records, proc.stderr[-3000:]
    md = (out / "latest-quick.md").read_text("utf-8")
    assert "## Summary" in md
    for w in WORKLOADS:
        assert f"## {w}" in md
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert (out / "latest-quick.png").stat().st_size > 0


def test_records_have_the_fields(run):
    _, records, _, _ = run
    keys = {"workload", "task", "library", "variant", "status", "unit", "median", "iqr"}
    keys |= {"repetitions", "ratio", "ratio_to", "machine", "threads", "note", "check"}
    for rec in records:
        assert keys <= rec.keys(), sorted(keys - rec.keys())
        assert rec["threads"] == "1-thread"
        assert rec["machine"]["dtype"] == "float64"
        assert rec["library"] in ("autodiff", "numpy"), rec["library"]
        assert rec["status"] in ("ok", "skipped"), (rec["library"], rec["variant"], rec["note"])
        if rec["status"] == "ok":
            assert rec["median"] is not None and rec["median"] >= 0
            assert rec["repetitions"] >= 1
            assert rec["check"], "every measured result is checked"
            if rec["ratio_to"] and rec["ratio_to"].startswith("numpy"):
                assert rec["ratio"] is not None, rec


def test_numpy_references_cover_every_workload(run):
    _, records, _, _ = run
    for w in WORKLOADS:
        ok = [r for r in records if r["workload"] == w and r["library"] == "numpy"]
        assert ok and all(r["status"] == "ok" for r in ok), w


@pytest.mark.parametrize("workload", WORKLOADS)
def test_autodiff_runs_every_workload_it_supports(run, workload):
    _, records, _, _ = run
    recs = [r for r in records if r["workload"] == workload and r["library"] == "autodiff"]
    assert recs, f"no autodiff record for {workload}"
    for r in recs:
        if r["status"] == "skipped":
            assert re.search(r"autodiff\.[\w.]+ not available yet", r["note"]), r["note"]
    if _has(NEEDS[workload]):
        assert any(r["status"] == "ok" for r in recs), [(r["variant"], r["note"]) for r in recs]


def test_header_blames_other_processes_only_when_the_load_exceeds_the_cores():
    from bench.report import _load_verdict

    assert "competed" in _load_verdict([2.5, 1.0, 1.0], [1.0, 1.0, 1.0], 2)
    assert "competed" in _load_verdict([0.5, 0.5, 0.5], [3.1, 1.0, 1.0], 2)
    assert "competed" not in _load_verdict([0.6, 0.6, 0.9], [1.0, 1.0, 1.0], 2)
    assert _load_verdict(None, None, 2) == "."
