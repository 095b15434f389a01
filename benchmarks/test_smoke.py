"""``python -m benchmarks --quick`` runs end to end and writes the promised report.

One dtype and one point of the sweep: the run starts a worker per implementation and
traces TF's step, so each more costs the suite seconds; both dtypes' steps are checked
against the spec in ``test_steps.py``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks.report import STEP_FIELDS
from benchmarks.run import ROOT
from benchmarks.scaling import grid
from benchmarks.steps import IMPLEMENTATIONS, SIZES


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--sizes", "small",
                           "--dtypes", "float32",
                           "--scaling", "--scaling-widths", "16", "--scaling-batches", "4",
                           "--scaling-budget", "0.05", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "report.json").read_text()), done.stdout, out


def test_steps_hold_every_implementation_once(quick_report) -> None:
    report, _, _ = quick_report
    keys = sorted((r["impl"], r["size"], r["dtype"]) for r in report["steps"])
    assert keys == sorted((impl, "small", "float32") for impl in IMPLEMENTATIONS)


def test_step_records_are_consistent(quick_report) -> None:
    report, _, _ = quick_report
    flops = SIZES["small"].matmul_flops
    for r in report["steps"]:
        assert set(STEP_FIELDS) <= set(r)
        torch = next(t for t in report["steps"]
                     if t["impl"] == "torch_eager" and t["dtype"] == r["dtype"])
        assert r["median_s"] > 0
        assert r["ratio_to_torch_eager"] == pytest.approx(r["median_s"] / torch["median_s"])
        assert r["gflops"] == pytest.approx(flops / r["median_s"] / 1e9)
        peak = report["matmul_peak"][r["dtype"]]["gflops"]
        assert r["peak_fraction"] == pytest.approx(r["gflops"] / peak)
        assert r["peak_rss_mib"] >= 0


def test_the_table_fits_100_columns_and_names_every_implementation(quick_report) -> None:
    _, table, _ = quick_report
    assert max(len(line) for line in table.splitlines()) <= 100
    for impl in IMPLEMENTATIONS:
        assert impl in table


def test_the_scaling_sweep_is_recorded_and_plotted(quick_report) -> None:
    report, _, out = quick_report
    points = {(p["impl"], p["width"], p["batch"]) for p in report["scaling"]["points"]}
    assert points == {(impl, 16, 4) for impl in IMPLEMENTATIONS}
    for p in report["scaling"]["points"]:
        assert p["per_sample_s"] == pytest.approx(p["min_s"] / p["batch"])
    assert (out / "scaling.png").read_bytes().startswith(b"\x89PNG")


def test_the_sweep_leaves_out_what_exceeds_its_flop_budget() -> None:
    """At width 4096 a step costs about 6·N·2·4096² flops: 10.8 GFLOP at batch 64, 43 at 256."""
    kept, skipped = grid(16.0, widths=(4096,), batches=(64, 256))
    assert kept == [(4096, 64)] and skipped == [(4096, 256)]
