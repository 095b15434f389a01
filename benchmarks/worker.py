"""One implementation's own process: builds a step, times it and measures its memory.

``python -m benchmarks.worker IMPL`` reads one JSON command per line on stdin and
answers each with one JSON line (on a private copy of stdout; whatever a framework
prints goes to stderr). Commands: ``setup`` (build the step for a net and dtype, and
warm it up), ``time`` (run blocks of steps for a time budget), ``teardown`` (report
the peak memory, free the step), ``quit``.

Why a process per implementation: on two cores, one framework's idle worker threads
(OpenBLAS's spin for about 0.1 s after a product) steal the cores another framework's
threads wait for, which slowed torch steps 2-7× when the four shared a process.

Memory: the peak resident set (VmHWM) while the step is built and run, minus the
resident set after imports and a warm-up of the framework on a tiny net, so one-time
framework initialisation is not charged to any size. The peak is reset (Linux
``/proc/self/clear_refs``) after the step is built and the spec model a mirror copied
is freed, so the copy is not counted either; where the reset is not possible the peak
falls back to ``getrusage``'s lifetime maximum and the answer says so.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import time
import traceback
from collections.abc import Callable

from benchmarks.steps import SIZES, Net, build_step

BLOCK_S = 0.02          # steps shorter than this are timed in blocks, for the clock's sake
WARMUP_STEPS = 2        # the first tf.function call traces; the first step of all allocates


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # resets VmHWM to the current resident set
        return True
    except OSError:
        return False


def _resident_kib() -> int:
    return _status_kib("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak_kib() -> int:
    return _status_kib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def versions(impl: str) -> dict[str, str]:
    """The libraries (and their thread and BLAS settings) that ``impl`` runs on."""
    import numpy as np

    blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
    found = {"numpy": np.__version__, "numpy BLAS": f"{blas['name']} {blas['version']}"}
    if impl == "torch_eager":
        import torch
        found |= {"torch": torch.__version__, "torch threads": str(torch.get_num_threads()),
                  "torch BLAS": "MKL" if torch.backends.mkl.is_available() else "other"}
    elif impl.startswith("tf_"):
        import keras
        import tensorflow as tf
        found |= {"tensorflow": tf.__version__, "keras": keras.__version__,
                  "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset")}
    return found


class Worker:
    """The commands of the protocol, for one implementation and one step at a time."""

    def __init__(self, impl: str) -> None:
        self.impl = impl
        self.step: Callable[[], None] | None = None
        self.block = 1
        for dtype in ("float32", "float64"):  # load the framework's kernels once, untimed
            warm = build_step(impl, SIZES["small"], dtype).run
            for _ in range(WARMUP_STEPS):
                warm()
        del warm
        self._free()
        self.baseline_kib = _resident_kib()
        self.peak_reset = False

    def _free(self) -> None:
        self.step = None
        if self.impl.startswith("tf_"):
            import keras
            keras.backend.clear_session()
        gc.collect()

    def setup(self, net: dict, dtype: str, seed: int = 0) -> dict:
        self._free()
        self.step = build_step(self.impl, Net.from_dict(net), dtype, seed).run
        gc.collect()  # the spec model a mirror copied from is garbage now
        self.peak_reset = _reset_peak()
        warmup = []
        for _ in range(WARMUP_STEPS):
            start = time.perf_counter()
            self.step()
            warmup.append(time.perf_counter() - start)
        # Time one more step (or a few, if they are short) to size the blocks.
        steps, start = 0, time.perf_counter()
        while steps < 1 or time.perf_counter() - start < BLOCK_S:
            self.step()
            steps += 1
        per_step = (time.perf_counter() - start) / steps
        self.block = max(1, round(BLOCK_S / per_step))
        return {"warmup_s": warmup, "block": self.block}

    def time(self, budget_s: float, min_blocks: int = 1) -> dict:
        """Run blocks of steps until ``budget_s`` has passed; the seconds per step of each."""
        step, block, times = self.step, self.block, []
        start = time.perf_counter()
        while len(times) < min_blocks or time.perf_counter() - start < budget_s:
            begin = time.perf_counter()
            for _ in range(block):
                step()
            times.append((time.perf_counter() - begin) / block)
        return {"times": times}

    def teardown(self) -> dict:
        peak_mib = (_peak_kib() - self.baseline_kib) / 1024
        self._free()
        return {"peak_rss_mib": peak_mib, "peak_reset": self.peak_reset}


def main(impl: str) -> None:
    if impl.startswith("tf_"):
        import tf_impl  # noqa: F401  (sets TF's environment, read when TF is first imported)
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything a library prints goes to stderr, not into the protocol
    sys.stdout = sys.stderr

    def answer(message: dict) -> None:
        protocol.write(json.dumps(message) + "\n")

    try:
        worker = Worker(impl)
        answer({"ready": True, "versions": versions(impl),
                "baseline_mib": worker.baseline_kib / 1024})
    except Exception:
        answer({"error": traceback.format_exc()})
        return
    for line in sys.stdin:
        command = json.loads(line)
        name = command.pop("command")
        if name == "quit":
            return
        try:
            answer(getattr(worker, name)(**command))
        except Exception:
            answer({"error": traceback.format_exc()})


if __name__ == "__main__":
    main(sys.argv[1])
