"""How the cost of a step grows: batch sizes 1 to 4096 and widths 16 to 4096, plotted.

The net is w-w-w-10 (ReLU, ReLU, linear; cross-entropy on the logits), so the matrix
products grow as N·w² and everything else as N·w: at small N·w the fixed cost per
step (Python, the framework's dispatch) dominates, at large N·w the products do. Points
whose products exceed a budget of GFLOP per step are left out, and listed as such.

Each point gets one short turn per implementation, so the plot shows the fastest step
of each (``per_sample_s``), which other jobs on the machine cannot make look faster;
the median is in the report too.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

from benchmarks.report import seconds
from benchmarks.run import Workers, measure
from benchmarks.steps import Net, mlp

WIDTHS = (16, 128, 1024, 4096)
BATCHES = (1, 4, 16, 64, 256, 1024, 4096)


def scaling_net(width: int, batch: int) -> Net:
    return mlp((width, width, width, 10), batch)


def grid(max_gflop: float, widths: tuple[int, ...] = WIDTHS, batches: tuple[int, ...] = BATCHES
         ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(points to run, points skipped for costing more than ``max_gflop`` per step)."""
    points = [(w, n) for w in widths for n in batches]
    cheap = [p for p in points if scaling_net(*p).matmul_flops <= max_gflop * 1e9]
    return cheap, [p for p in points if p not in cheap]


def run(workers: Workers, dtype: str, budget_s: float, max_gflop: float,
        progress: Callable[[str], None], widths: tuple[int, ...] = WIDTHS,
        batches: tuple[int, ...] = BATCHES) -> dict:
    points, skipped = grid(max_gflop, widths, batches)
    records = []
    for k, (width, batch) in enumerate(points, start=1):
        net = scaling_net(width, batch)
        results = measure(workers, net, dtype, budget_s, rounds=1)
        records += [{"impl": impl, "width": width, "batch": batch, "dtype": dtype,
                     "median_s": statistics.median(r["times"]), "min_s": min(r["times"]),
                     "per_sample_s": min(r["times"]) / batch,
                     "gflops": net.matmul_flops / min(r["times"]) / 1e9}
                    for impl, r in results.items()]
        progress(f"scaling [{k:2}/{len(points)}] width {width:4}, batch {batch:4}, per sample: "
                 + ", ".join(f"{r['impl']} {seconds(r['per_sample_s'])}"
                             for r in records[-len(results):]))
    return {"dtype": dtype, "net": "w-w-w-10, relu, relu, linear, cross-entropy on logits",
            "max_gflop_per_step": max_gflop, "points": records,
            "skipped": [{"width": w, "batch": n} for w, n in skipped]}


def plot(scaling: dict, path: Path) -> None:
    """Time per sample against batch size, one panel per width, one line per implementation."""
    import matplotlib

    matplotlib.use("Agg")  # headless: no display needed
    import matplotlib.pyplot as plt

    points = scaling["points"]
    widths = sorted({p["width"] for p in points})
    impls = list(dict.fromkeys(p["impl"] for p in points))
    columns = 2 if len(widths) > 1 else 1
    rows = -(-len(widths) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 4 * rows),
                                squeeze=False, sharex=True, sharey=True)
    for axis, width in zip(axes.flat, widths, strict=False):
        for impl in impls:
            mine = sorted((p["batch"], p["per_sample_s"]) for p in points
                          if p["width"] == width and p["impl"] == impl)
            axis.plot([n for n, _ in mine], [1e6 * t for _, t in mine], marker="o",
                      markersize=3, label=impl)
        left_out = [s["batch"] for s in scaling["skipped"] if s["width"] == width]
        note = f" (batch ≥ {min(left_out)}: over the GFLOP cap)" if left_out else ""
        axis.set_title(f"{width}-{width}-{width}-10{note}", fontsize="medium")
        axis.set(xscale="log", yscale="log")
        axis.grid(True, which="major", alpha=0.3)
    for axis in axes.flat[len(widths):]:
        axis.set_visible(False)
    for axis in axes[-1]:
        axis.set_xlabel("batch size")
    for axis in axes[:, 0]:
        axis.set_ylabel(f"time per sample (µs), {scaling['dtype']}")
    axes.flat[0].legend(fontsize="small")
    figure.suptitle("The fastest training step divided by its batch size: fixed costs fall "
                    "away as the batch grows")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
