"""The coordinator: one worker process per implementation, timed in turn, never together.

For each net and dtype every worker builds and warms its step (in parallel: untimed),
then the workers are timed one after another in ``rounds`` rotations, each with a
share of the time budget, so a change in the machine's load (other jobs on the two
cores) falls on every implementation alike. A pause between turns lets the last
worker's BLAS threads stop spinning before the next one starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.steps import Net

ROOT = Path(__file__).resolve().parent.parent
SETTLE_S = 0.15  # OpenBLAS's idle threads spin for about 0.1 s before they sleep


class WorkerError(RuntimeError):
    pass


class Workers:
    """The worker processes, one per implementation, started together."""

    def __init__(self, impls: list[str]) -> None:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                            os.environ.get("PYTHONPATH")])))
        self.impls = list(impls)
        self._processes = {
            impl: subprocess.Popen([sys.executable, "-m", "benchmarks.worker", impl],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                   cwd=ROOT, env=env)
            for impl in self.impls}
        self.ready = {impl: self._answer(impl) for impl in self.impls}

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(self, impl: str, command: str, **arguments: object) -> None:
        process = self._processes[impl]
        process.stdin.write(json.dumps({"command": command, **arguments}) + "\n")
        process.stdin.flush()

    def _answer(self, impl: str) -> dict:
        line = self._processes[impl].stdout.readline()
        if not line:
            raise WorkerError(f"the {impl} worker exited (its error is above)")
        answer = json.loads(line)
        if "error" in answer:
            raise WorkerError(f"the {impl} worker failed:\n{answer['error']}")
        return answer

    def ask(self, impl: str, command: str, **arguments: object) -> dict:
        self._send(impl, command, **arguments)
        return self._answer(impl)

    def ask_all(self, command: str, **arguments: object) -> dict[str, dict]:
        """Send ``command`` to every worker, then collect the answers: they work in parallel."""
        for impl in self.impls:
            self._send(impl, command, **arguments)
        return {impl: self._answer(impl) for impl in self.impls}

    def close(self) -> None:
        for impl, process in self._processes.items():
            if process.poll() is None:
                try:
                    self._send(impl, "quit")
                except OSError:
                    pass
        for process in self._processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def measure(workers: Workers, net: Net, dtype: str, budget_s: float, rounds: int,
            seed: int = 0) -> dict[str, dict]:
    """Seconds per step (one entry per timed block) and peak memory, per implementation."""
    workers.ask_all("setup", net=net.as_dict(), dtype=dtype, seed=seed)
    time.sleep(SETTLE_S)
    times: dict[str, list[float]] = {impl: [] for impl in workers.impls}
    count = len(workers.impls)
    for turn in range(rounds):
        for impl in workers.impls[turn % count:] + workers.impls[:turn % count]:
            times[impl] += workers.ask(impl, "time", budget_s=budget_s / rounds)["times"]
            time.sleep(SETTLE_S)
    memory = workers.ask_all("teardown")
    return {impl: {"times": times[impl], **memory[impl]} for impl in workers.impls}


def matmul_peak(dtype: str, n: int, runs: int = 3) -> float:
    """This machine's matrix-multiply peak in GFLOP/s: the best of repeated (n, n) products.

    NumPy's BLAS on square matrices large enough to run at full speed; the best run, not
    the median, because the peak is what the machine can do when nothing else runs.
    """
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
    out = np.empty((n, n), dtype=dtype)
    np.matmul(a, b, out=out)  # the first product pays for thread start-up and page faults
    best = float("inf")
    for _ in range(runs):
        begin = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - begin)
    time.sleep(SETTLE_S)
    return 2 * n**3 / best / 1e9
