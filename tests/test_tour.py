"""The tour shows the documents' numbers, in both languages, and survives a failing section."""

import io
import os
import subprocess
import sys

import pytest

from autodiff import tour


@pytest.fixture(scope="module")
def english():
    stream = io.StringIO()
    status, results = tour.run(lang="en", stream=stream, color=False)
    return status, results, stream.getvalue()


def test_every_section_runs(english):
    status, results, text = english
    assert status == 0, text
    assert sorted(results) == [1, 2, 3, 4, 5, 6]
    assert "6 of 6 sections ran without error." in text
    assert "\x1b[" not in text  # no colour when asked for none


def test_Q_in_both_modes(english):
    r = english[1][1]
    assert r["a.grad"] == r["jvp_a"] == [36.0, 81.0]
    assert r["b.grad"] == r["jvp_b"] == [-12.0, -8.0]
    assert r["jacobians_agree"] and r["vjp_confirmed"]
    assert "9*a**2 == a.grad  →  tensor([True, True])" in english[2]


def test_accumulation(english):
    r = english[1][2]
    assert r["grads"] == [[3.0] * 4, [6.0] * 4, [9.0] * 4]
    assert r["after_zero"] == [0.0] * 4


def test_exclusion_and_freezing(english):
    r = english[1][3]
    assert (r["x+y"], r["x+z"], r["no_grad"]) == (False, True, False)
    assert (r["before"], r["after"]) == (62, 2)
    assert r["names"] == ["fc.weight", "fc.bias"]


def test_resnet_step(english):
    r = english[1][4]
    assert r["params"] == 62
    assert r["loss_after"] < r["loss_before"]  # one step of gradient descent on the sum


def test_linear_model_has_the_notes_numbers(english):
    r, text = english[1][5], english[2]
    for key, printed in [("x", -0.6014), ("y", -1.0122), ("w", 0.6614), ("b", 0.2669),
                         ("z", -0.1308), ("loss", 0.7769), ("w.grad", -1.0601),
                         ("b.grad", 1.7628)]:  # fmt: skip
        assert round(r[key], 4) == printed, key
    assert r["dw_forward"] == pytest.approx(r["w.grad"], rel=1e-12)
    assert r["db_forward"] == pytest.approx(r["b.grad"], rel=1e-12)
    assert r["w.grad x²"] == pytest.approx(r["hand x²"], rel=1e-12)
    assert "−1.4793" in text and "z: tensor([-0.1308], grad_fn=<AddBackward0>)" in text


def test_mode_comparison_follows_the_sweep_counts(english):
    winners = english[1][6]["winners"]
    assert winners[(4, 300)] == "forward"
    assert winners[(300, 4)] == "reverse"


def test_spanish_section_and_exit_status():
    stream = io.StringIO()
    status, _ = tour.run([5], lang="es", stream=stream, color=False)
    assert status == 0
    assert "El modelo lineal" in stream.getvalue() and "error aritmético" in stream.getvalue()


def test_a_failing_section_is_reported_and_the_tour_goes_on(monkeypatch):
    def boom(out):
        raise ValueError("kaput")

    sections = list(tour.SECTIONS)
    sections[1] = ("s2", boom)
    monkeypatch.setattr(tour, "SECTIONS", sections)
    stream = io.StringIO()
    status, results = tour.run([1, 2, 5], stream=stream, color=False)
    text = stream.getvalue()
    assert status == 1
    assert "section 2 (Gradients accumulate in .grad) failed" in text and "kaput" in text
    assert sorted(results) == [1, 5]


def test_command_line_respects_no_color():
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "autodiff", "tour", "--section", "2"],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "tensor([9., 9., 9., 9.])" in proc.stdout and "\x1b[" not in proc.stdout
