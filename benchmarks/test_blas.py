"""The report names NumPy's BLAS kernel, and says where the environment chose it."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from benchmarks.blas import describe, openblas_kernel
from benchmarks.run import ROOT


def test_the_report_says_where_the_environment_chose_the_kernel() -> None:
    assert describe("SkylakeX", {}) == "OpenBLAS SkylakeX"
    assert describe("Haswell", {"OPENBLAS_CORETYPE": "Haswell"}) == \
        "OpenBLAS Haswell (OPENBLAS_CORETYPE=Haswell set)"
    assert describe(None, {}) is None


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64") or openblas_kernel() is None,
                    reason="no x86-64 OpenBLAS to ask")
def test_the_kernel_read_back_is_the_one_openblas_was_told() -> None:
    env = dict(os.environ, OPENBLAS_CORETYPE="Nehalem")  # SSE4.2: any x86-64 CPU runs it
    done = subprocess.run([sys.executable, "-c", "from benchmarks.blas import openblas_kernel;"
                           " print(openblas_kernel())"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "Nehalem"
