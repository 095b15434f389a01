"""The benchmark's results: step records, the terminal table and the JSON report."""

from __future__ import annotations

import json
import statistics
import textwrap
from pathlib import Path

from benchmarks.steps import Net

# What every record of the report's ``steps`` holds at least (the schema).
STEP_FIELDS = ("impl", "size", "dtype", "median_s", "ratio_to_torch_eager", "gflops",
               "peak_fraction")


def step_records(size: str, net: Net, dtype: str, results: dict[str, dict],
                 peak_gflops: float) -> list[dict]:
    """One record per implementation; the ratio is to torch eager's median of the same run."""
    medians = {impl: statistics.median(r["times"]) for impl, r in results.items()}
    torch_median = medians.get("torch_eager")
    torch_best = min(results["torch_eager"]["times"]) if "torch_eager" in results else None
    records = []
    for impl, result in results.items():
        median = medians[impl]
        gflops = net.matmul_flops / median / 1e9
        quartiles = statistics.quantiles(result["times"], n=4) if len(result["times"]) > 1 \
            else [median, median, median]
        records.append({
            "impl": impl, "size": size, "dtype": dtype, "median_s": median,
            "ratio_to_torch_eager": None if torch_median is None else median / torch_median,
            "gflops": gflops, "peak_fraction": gflops / peak_gflops,
            # Other jobs on the machine can only slow a step: the ratio of the fastest steps
            # is the steadier estimate of what the code itself can do on a busy machine.
            "min_s": min(result["times"]),
            "min_ratio_to_torch_eager": None if torch_best is None
            else min(result["times"]) / torch_best,
            "quartiles_s": [quartiles[0], quartiles[2]],
            "timed_blocks": len(result["times"]),
            "peak_rss_mib": result["peak_rss_mib"], "peak_rss_reset": result["peak_reset"],
            "batch": net.batch, "widths": list(net.widths), "loss": net.loss,
            "matmul_flops": net.matmul_flops,
        })
    return records


def seconds(value: float) -> str:
    """A duration with a unit a reader can compare at a glance."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if value >= scale or unit == "µs":
            return f"{value / scale:.3g} {unit}" if value / scale < 100 else \
                f"{value / scale:.0f} {unit}"
    raise AssertionError("unreachable")


def render(report: dict) -> str:
    """The step table, at most 100 columns wide."""
    peaks = ", ".join(f"{dtype} {p['gflops']:.1f} GFLOP/s"
                      for dtype, p in report["matmul_peak"].items())
    n = next(iter(report["matmul_peak"].values()))["n"]
    head = (f"{'size':<8}{'dtype':<9}{'implementation':<15}{'median/step':>12}{'IQR':>6}"
            f"{'÷ torch':>9}{'best ÷':>8}{'GFLOP/s':>10}{'% peak':>8}{'peak RSS':>12}")
    rule = "─" * len(head)
    intro = ("One training step (forward, loss, backward, SGD update): median time per step; "
             "÷ torch = time / torch eager's in the same run; best ÷ = the same for the fastest "
             "step of each; IQR = interquartile range of "
             "the timed steps / median; GFLOP/s counts the matmuls of forward + backward; "
             f"% peak = of this machine's matmul peak (NumPy, {n}×{n} @ {n}×{n}): {peaks}.")
    lines = ["", *textwrap.wrap(intro, width=len(head)), "", head, rule]
    previous = None
    for r in report["steps"]:
        key = (r["size"], r["dtype"])
        if previous is not None and key[0] != previous[0]:
            lines.append("")
        label = f"{r['size']:<8}{r['dtype']:<9}" if key != previous else " " * 17
        previous = key
        ratio, best = ("—" if r[field] is None else f"{r[field]:.2f}"
                       for field in ("ratio_to_torch_eager", "min_ratio_to_torch_eager"))
        low, high = r["quartiles_s"]
        spread = f"{100 * (high - low) / r['median_s']:.0f}%"
        lines.append(f"{label}{r['impl']:<15}{seconds(r['median_s']):>12}{spread:>6}"
                     f"{ratio:>9}{best:>8}{r['gflops']:>10.3g}{100 * r['peak_fraction']:>7.1f}%"
                     f"{r['peak_rss_mib']:>8.1f} MiB")
    machine = report["machine"]
    load = machine["load_average_1min"]
    lines += [rule, "peak RSS: growth of the resident set over the worker's baseline (imports "
              "and a tiny warm-up),", "each implementation in its own process. "
              f"Load average (1 min) before and after: {load['before']:.2f}, "
              f"{load['after']:.2f}."]
    lines += textwrap.wrap(", ".join(f"{k} {v}" for k, v in report["versions"].items()),
                           width=len(head))
    lines += textwrap.wrap(
        f"CPU: {machine['cpu']}, {machine['cores']} cores, vector extensions "
        f"{' '.join(machine.get('vector_extensions', [])) or 'unknown'}, BLAS kernel "
        f"{machine.get('blas_kernel') or 'unknown'}.", width=len(head))
    return "\n".join(lines)


def write_json(path: Path, report: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
