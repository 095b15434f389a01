"""``python -m benchmarks --quick`` runs end to end and writes the promised report."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks.run import ROOT
from benchmarks.steps import IMPLEMENTATIONS, SIZES


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--sizes", "small",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "report.json").read_text()), done.stdout


def test_steps_hold_every_implementation_and_dtype_once(quick_report) -> None:
    report, _ = quick_report
    keys = sorted((r["impl"], r["size"], r["dtype"]) for r in report["steps"])
    assert keys == sorted((impl, "small", dtype) for impl in IMPLEMENTATIONS
                          for dtype in ("float32", "float64"))


def test_step_records_are_consistent(quick_report) -> None:
    report, _ = quick_report
    flops = SIZES["small"].matmul_flops
    for r in report["steps"]:
        torch = next(t for t in report["steps"]
                     if t["impl"] == "torch_eager" and t["dtype"] == r["dtype"])
        assert r["median_s"] > 0
        assert r["ratio_to_torch_eager"] == pytest.approx(r["median_s"] / torch["median_s"])
        assert r["gflops"] == pytest.approx(flops / r["median_s"] / 1e9)
        peak = report["matmul_peak"][r["dtype"]]["gflops"]
        assert r["peak_fraction"] == pytest.approx(r["gflops"] / peak)
        assert r["peak_rss_mib"] >= 0


def test_the_table_fits_100_columns_and_names_every_implementation(quick_report) -> None:
    _, table = quick_report
    assert max(len(line) for line in table.splitlines()) <= 100
    for impl in IMPLEMENTATIONS:
        assert impl in table
