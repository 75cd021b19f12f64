"""compare_modes, the built-in family of functions, and ``python -m autodiff compare``.

No timing is asserted: only the structure, the agreement of the Jacobians, the sweep counts and
the recommendation of the sweep-count model.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autodiff.__main__ import COMMANDS, build_parser, main
from autodiff.compare import (
    ModeComparison,
    Problem,
    builtin_problem,
    compare_modes,
    summary_table,
)
from autodiff.jacobian import jacfwd, jacrev

ROOT = Path(__file__).resolve().parents[1]
HAS_MPL = importlib.util.find_spec("matplotlib") is not None


def _cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "autodiff", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
        **kwargs,
    )


# --------------------------------------------------------------------------------------------
# The built-in family
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "m"), [(1, 1), (3, 5), (7, 2)])
def test_builtin_problem_has_the_right_shapes_and_closed_form(n, m):
    p = builtin_problem(n, m, seed=1)
    assert isinstance(p, Problem)
    assert p.W.shape == (m, n) and p.x.shape == (n,)
    assert p.f(p.x).shape == (m,)
    np.testing.assert_allclose(jacfwd(p.f)(p.x), p.jacobian(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(jacrev(p.f)(p.x), p.jacobian(), rtol=1e-12, atol=1e-14)


def test_builtin_problem_is_seeded_and_not_linear():
    a, b = builtin_problem(4, 3, seed=2), builtin_problem(4, 3, seed=2)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.allclose(a.jacobian(a.x), a.jacobian(a.x + 0.5))  # J depends on the point
    with pytest.raises(ValueError, match="at least 1"):
        builtin_problem(0, 3)


# --------------------------------------------------------------------------------------------
# compare_modes
# --------------------------------------------------------------------------------------------


def test_compare_modes_structure_and_sweeps():
    p = builtin_problem(3, 5)
    steps = []
    r = compare_modes(p.f, p.x, repeat=2, progress=steps.append)
    assert isinstance(r, ModeComparison)
    assert (r.n, r.m, r.repeat) == (3, 5, 2)
    assert [t.name for t in r.timings] == [
        "forward looped",
        "forward vectorized",
        "reverse looped",
        "reverse vectorized",
    ]
    assert len(steps) == 5  # f, then the four builders
    assert r.agree and r.max_difference < 1e-12
    fl, fv, rl, rv = r.timings
    assert (fl.sweeps.jvp, fl.sweeps.vjp) == (3, 0)
    assert (fv.sweeps.jvp, fv.sweeps.tangents) == (1, 3)
    assert (rl.sweeps.vjp, rl.sweeps.recordings, rl.sweeps.jvp) == (5, 1, 0)
    assert (rv.sweeps.vjp, rv.sweeps.cotangents) == (1, 5)
    assert all(t.seconds > 0 and t.times_f > 0 for t in r.timings)
    assert r.f_seconds > 0
    assert r.fastest in r.timings
    assert r.timing("reverse", vectorized=False) is rl
    d = r.as_dict()
    json.dumps(d)
    assert d["recommended"] == r.recommended and len(d["timings"]) == 4


@pytest.mark.parametrize(
    ("n", "m", "mode"),
    [(2, 200, "forward"), (200, 2, "reverse"), (1, 50, "forward"), (30, 1, "reverse")],
)
def test_recommendation_follows_the_sweep_count_model(n, m, mode):
    p = builtin_problem(n, m)
    r = compare_modes(p.f, p.x, repeat=1, looped=False)
    assert r.recommended == mode
    assert r.agree
    assert [t.name for t in r.timings] == ["forward vectorized", "reverse vectorized"]
    assert f"recommends {mode} mode" in str(r)


def test_compare_modes_table_is_readable():
    p = builtin_problem(2, 4)
    text = str(compare_modes(p.f, p.x, repeat=1))
    lines = text.splitlines()
    assert lines[0].startswith("Jacobian of f: R^2 → R^4 (J is 4 × 2)")
    assert any(line.startswith("mode") and "× f" in line for line in lines)
    assert "forward looped      2 JVP sweeps (2 tangents)" in text
    assert "reverse vectorized  1 tape recorded, 1 VJP sweep (4 cotangents)" in text
    assert "all 4 Jacobians agree" in text and "fastest here:" in text


def test_compare_modes_on_a_user_function_with_several_inputs():
    W = np.random.default_rng(0).normal(size=(4, 3))

    def f(x, scale):
        return np.sin(W @ x) * scale

    r = compare_modes(f, np.ones(3), np.array(2.0), repeat=1)
    assert (r.n, r.m, r.recommended) == (3, 4, "forward") and r.agree
    r = compare_modes(f, np.ones(3), np.array(2.0), argnums=1, repeat=1)
    assert (r.n, r.m, r.recommended) == (1, 4, "forward") and r.agree


def test_compare_modes_rejects_bad_arguments():
    p = builtin_problem(2, 2)
    with pytest.raises(ValueError, match="repeat"):
        compare_modes(p.f, p.x, repeat=0)
    with pytest.raises(ValueError, match="nothing to compare"):
        compare_modes(p.f, p.x, looped=False, vectorized=False)
    with pytest.raises(TypeError, match="at least one input"):
        compare_modes(p.f)
    with pytest.raises(TypeError, match="floating point"):
        compare_modes(p.f, np.arange(2))


def test_summary_table_has_one_row_per_size():
    results = [
        compare_modes(p.f, p.x, repeat=1) for p in (builtin_problem(2, 3), builtin_problem(3, 2))
    ]
    lines = summary_table(results).splitlines()
    assert lines[0].split()[:2] == ["N", "M"]
    assert len(lines) == 4
    assert lines[2].split()[:2] == ["2", "3"] and "forward" in lines[2]
    assert lines[3].split()[:2] == ["3", "2"] and "reverse" in lines[3]


# --------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------


def test_cli_compare_runs_from_the_command_line():
    proc = _cli("compare", "--inputs", "3", "--outputs", "5", "--repeat", "1")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "R^3 → R^5" in out
    for name in ("forward looped", "forward vectorized", "reverse looped", "reverse vectorized"):
        assert name in out
    assert "recommends forward mode" in out
    assert "all 4 Jacobians agree" in out


def test_cli_compare_several_sizes_prints_a_summary():
    proc = _cli("compare", "--inputs", "2", "6", "--outputs", "4", "--repeat", "1", "--quiet")
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()]
    assert ["2", "4"] in [r[:2] for r in rows] and ["6", "4"] in [r[:2] for r in rows]
    assert proc.stderr == ""  # --quiet: no progress bar


def test_cli_errors_and_help():
    proc = _cli("compare", "--inputs", "0", "--repeat", "1")
    assert proc.returncode == 2 and "at least 1" in proc.stderr
    proc = _cli()
    assert proc.returncode == 2 and "compare" in proc.stdout
    proc = _cli("compare", "--help")
    assert proc.returncode == 0 and "--inputs" in proc.stdout and "--plot" in proc.stdout


def test_subcommands_come_from_their_modules():
    assert "autodiff.compare" in COMMANDS
    args = build_parser().parse_args(["compare", "--inputs", "4", "8", "--outputs", "2"])
    assert args.inputs == [4, 8] and args.outputs == [2] and callable(args.run)


def test_main_in_process(capsys):
    assert main(["compare", "--inputs", "2", "--outputs", "3", "--repeat", "1", "--quiet"]) == 0
    assert "R^2 → R^3" in capsys.readouterr().out


def test_progress_without_tqdm_is_a_simple_stderr_line(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `import tqdm` fail
    assert main(["compare", "--inputs", "2", "--outputs", "3", "--repeat", "1", "--no-looped"]) == 0
    err = capsys.readouterr().err
    assert "3/3" in err and "N=2 M=3" in err


def test_plot_without_matplotlib_says_what_to_install(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code = main(["compare", "--inputs", "2", "--outputs", "3", "--repeat", "1", "--plot", "x.png"])
    assert code == 2
    assert "needs matplotlib" in capsys.readouterr().err


@pytest.mark.skipif(not HAS_MPL, reason="matplotlib is not installed")
def test_cli_plot_writes_a_png(tmp_path):
    png = tmp_path / "modes.png"
    proc = _cli(
        "compare", "--inputs", "2", "8", "--outputs", "4", "--repeat", "1", "--plot", str(png)
    )
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plot written to {png}" in proc.stdout


@pytest.mark.skipif(not HAS_MPL, reason="matplotlib is not installed")
def test_plot_with_several_output_sizes(tmp_path):
    from autodiff.compare import plot_comparisons

    results = [
        compare_modes(p.f, p.x, repeat=1, looped=False)
        for p in (builtin_problem(2, 3), builtin_problem(6, 3), builtin_problem(2, 5))
    ]
    png = tmp_path / "several.png"
    plot_comparisons(results, str(png))
    assert png.stat().st_size > 1000
