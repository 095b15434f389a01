"""The benchmark's command line: what to time, for how long, and where the report goes."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import benchmarks
from benchmarks import blas, report, scaling
from benchmarks.run import ROOT, Workers, matmul_peak, measure
from benchmarks.steps import IMPLEMENTATIONS, SIZES

DTYPES = ("float32", "float64")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=benchmarks.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: small size, short budgets, small peak matmul, "
                             "no scaling sweep")
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES),
                        help="default: all (--quick: small)")
    parser.add_argument("--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    parser.add_argument("--impls", nargs="+", choices=IMPLEMENTATIONS,
                        default=list(IMPLEMENTATIONS))
    parser.add_argument("--budget", type=float,
                        help="seconds of timed steps per implementation, size and dtype "
                             "(default 2; --quick 0.2); at least one step per round is timed")
    parser.add_argument("--rounds", type=int,
                        help="turns each implementation gets, the budget split among them "
                             "(default 5; --quick 1)")
    parser.add_argument("--peak-n", type=int,
                        help="size n of the n×n matmul that measures the peak "
                             "(default 4096; --quick 512)")
    parser.add_argument("--scaling", action=argparse.BooleanOptionalAction,
                        help="the batch × width sweep and its plot (default on; --quick off)")
    parser.add_argument("--scaling-dtype", choices=DTYPES, default="float32")
    parser.add_argument("--scaling-budget", type=float, default=0.25,
                        help="seconds per implementation and point of the sweep")
    parser.add_argument("--scaling-widths", type=int, nargs="+", default=list(scaling.WIDTHS))
    parser.add_argument("--scaling-batches", type=int, nargs="+",
                        default=list(scaling.BATCHES))
    parser.add_argument("--scaling-max-gflop", type=float, default=16.0,
                        help="leave out sweep points whose matmuls exceed this per step")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench",
                        help="where report.json and scaling.png go")
    args = parser.parse_args(argv)
    quick = args.quick
    args.sizes = args.sizes or (["small"] if quick else list(SIZES))
    args.budget = args.budget if args.budget is not None else (0.2 if quick else 2.0)
    args.rounds = args.rounds or (1 if quick else 5)
    args.peak_n = args.peak_n or (512 if quick else 4096)
    args.scaling = args.scaling if args.scaling is not None else not quick
    return args


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# The vector extensions that decide how fast BLAS and oneDNN kernels run, widest last.
VECTOR_FLAGS = ("sse4_2", "avx", "fma", "avx2", "avx512f", "avx512_vnni", "avx512_bf16",
                "amx_tile")


def _cpuinfo() -> tuple[str, set[str]]:
    """The CPU's model and its flags, from /proc/cpuinfo (all cores are alike here)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if not line.strip():
                    break  # the first processor's block
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
    except OSError:
        pass
    return model, flags


def _cpu() -> dict[str, object]:
    """The CPU's model, which of :data:`VECTOR_FLAGS` it offers, and the kernel NumPy's
    OpenBLAS runs (:mod:`benchmarks.blas`)."""
    model, flags = _cpuinfo()
    return {"cpu": model, "vector_extensions": [f for f in VECTOR_FLAGS if f in flags],
            "blas_kernel": blas.describe(blas.openblas_kernel(), dict(os.environ))}


def peaks_now(dtypes: list[str], n: int, before: dict | None = None) -> dict[str, dict]:
    """The matmul peak of each dtype; with ``before``, the better of the two measurements.

    Measured before and after the steps, and the best kept: a peak is what the machine
    can do, and the other jobs on it may have been busy one of the two times.
    """
    peaks = {dtype: {"n": n, "gflops": matmul_peak(dtype, n)} for dtype in dtypes}
    for dtype, earlier in (before or {}).items():
        peaks[dtype]["gflops"] = max(peaks[dtype]["gflops"], earlier["gflops"])
    progress("matmul peak: " + ", ".join(f"{d} {p['gflops']:.1f} GFLOP/s"
                                         for d, p in peaks.items()))
    return peaks


def time_steps(workers: Workers, args: argparse.Namespace) -> list[tuple[str, str, dict]]:
    """(size, dtype, each implementation's timings and memory) for every size and dtype."""
    configs = [(size, dtype) for size in args.sizes for dtype in args.dtypes]
    timings = []
    for k, (size, dtype) in enumerate(configs, start=1):
        net = SIZES[size]
        progress(f"[{k}/{len(configs)}] {size} {dtype}: {net.describe} at "
                 f"batch {net.batch}, {args.rounds} turns of {args.budget / args.rounds:.2g} s "
                 "per implementation")
        results = measure(workers, net, dtype, args.budget, args.rounds)
        timings.append((size, dtype, results))
        progress("    " + ", ".join(f"{impl} {report.seconds(statistics.median(r['times']))}"
                                    for impl, r in results.items()))
    return timings


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    began, load_before = time.perf_counter(), os.getloadavg()
    progress(f"starting one worker process per implementation: {', '.join(args.impls)}")
    peak_dtypes = sorted(set(args.dtypes) | ({args.scaling_dtype} if args.scaling else set()))
    with Workers(args.impls) as workers:
        peaks = peaks_now(peak_dtypes, args.peak_n)
        timings = time_steps(workers, args)
        peaks = peaks_now(peak_dtypes, args.peak_n, before=peaks)
        sweep = scaling.run(workers, args.scaling_dtype, args.scaling_budget,
                            args.scaling_max_gflop, progress, tuple(args.scaling_widths),
                            tuple(args.scaling_batches)) if args.scaling else None
    steps = [record for size, dtype, results in timings for record in
             report.step_records(size, SIZES[size], dtype, results, peaks[dtype]["gflops"])]
    result = {
        "benchmark": "one training step: forward, loss, backward, SGD update",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {**_cpu(), "cores": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    # other jobs on the cores slow everything, and torch's threads the most
                    "load_average_1min": {"before": load_before[0],
                                          "after": os.getloadavg()[0]}},
        "versions": {k: v for ready in workers.ready.values()
                     for k, v in ready["versions"].items()},
        "settings": {"budget_s": args.budget, "rounds": args.rounds, "quick": args.quick,
                     "memory_baseline_mib": {impl: ready["baseline_mib"]
                                             for impl, ready in workers.ready.items()}},
        "matmul_peak": peaks,
        "steps": steps,
        "scaling": sweep,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    if sweep is not None:
        sweep["plot"] = str(args.out / "scaling.png")
        scaling.plot(sweep, args.out / "scaling.png")
    report.write_json(args.out / "report.json", result)
    print(report.render(result), flush=True)
    progress(f"report written to {args.out / 'report.json'}"
             + (f", plot to {args.out / 'scaling.png'}" if sweep is not None else "")
             + f" ({time.perf_counter() - began:.0f} s)")
    return 0
