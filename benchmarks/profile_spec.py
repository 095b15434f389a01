"""Where the spec's training step spends its time: ``python -m benchmarks.profile_spec``.

Two views of the same step (``benchmarks.steps.reference_step``):

* cProfile, by function (time inside NumPy's C code counts to the Python function that
  called it; ``x @ W`` is an operator, so a product counts to ``forward``/``backward``);
* the matmul floor: the step's own matrix products alone, same shapes and layouts, in
  NumPy and in torch. The step minus NumPy's floor is what the spec's Python and
  elementwise work cost; NumPy's floor against torch's is the BLAS libraries' difference.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from collections.abc import Callable

import numpy as np

from benchmarks.steps import SIZES, Net, batch_data, graph_products, reference_step, spec_model


def timed(function: Callable[[], object], repeats: int) -> float:
    """Seconds of the fastest of ``repeats`` calls, after one untimed call.

    The fastest, because this asks what the code costs, and other jobs on the machine can
    only add to that.
    """
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def product_shapes(net: Net) -> list[tuple[int, int, int, bool]]:
    """(rows, in, out, with dL/dx) of each layer's product x W: an MLP's layers; for the
    digit CNN its two convolutions as the im2col products they are (N·H'·W' rows of
    k_h·k_w·C_in), then its Dense layers; for the character model the LSTM's x W and h U
    and the Dense layer over all N·T positions at once (the spec does h U step by step)."""
    if net.length:
        _, embedding, units, vocabulary = net.widths
        rows = net.batch * net.length
        return [(rows, embedding, 4 * units, True), (rows, units, 4 * units, True),
                (rows, units, vocabulary, True)]
    if net.model == "digit_resnet":
        return graph_products(spec_model(net, "float64"), net.batch)
    if net.model == "digit_cnn":
        return [(net.batch * 26 * 26, 9 * 1, 24, False), (net.batch * 11 * 11, 9 * 24, 36, True),
                *((net.batch, i, o, True) for i, o in net.layer_shapes[1:])]
    return [(net.batch, i, o, k > 0) for k, (i, o) in enumerate(net.layer_shapes)]


def matmul_operands(net: Net, dtype: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (left, right) operands of every product of one step, in the spec's layouts."""
    rng = np.random.default_rng(0)
    operands = []
    for rows, fan_in, fan_out, input_gradient in product_shapes(net):
        x = rng.standard_normal((rows, fan_in)).astype(dtype)
        W = rng.standard_normal((fan_in, fan_out)).astype(dtype)
        delta = rng.standard_normal((rows, fan_out)).astype(dtype)
        operands += [(x, W), (x.T, delta)]            # forward x W, dL/dW = xᵀ δ
        if input_gradient:
            operands.append((delta, W.T))              # dL/dx = δ Wᵀ (not for the input)
    return operands


def matmul_floor(net: Net, dtype: str, repeats: int) -> dict[str, float]:
    operands = matmul_operands(net, dtype)
    floors = {"numpy": timed(lambda: [a @ b for a, b in operands], repeats)}
    try:
        import torch
    except ImportError:
        return floors
    # torch.from_numpy keeps the strides, so xᵀ and Wᵀ stay transposed views, as in autograd.
    tensors = [(torch.from_numpy(a), torch.from_numpy(b)) for a, b in operands]
    floors["torch"] = timed(lambda: [a @ b for a, b in tensors], repeats)
    return floors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_spec", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=list(SIZES), default="large")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--steps", type=int, default=None,
                        help="steps to profile (default: about 3 s worth)")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)

    net = SIZES[args.size]
    x, y_true = batch_data(net, args.dtype)
    step = reference_step(spec_model(net, args.dtype), x, y_true, net.loss).run
    per_step = timed(step, 3)
    steps = args.steps or max(3, min(2000, round(3.0 / per_step)))
    per_step = timed(step, steps)
    floors = matmul_floor(net, args.dtype, steps)

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(args.top)

    flops = net.matmul_flops
    print(f"spec step, {args.size} {args.dtype} ({net.describe} at batch "
          f"{net.batch}): {1e3 * per_step:.3f} ms, {flops / per_step / 1e9:.1f} GFLOP/s")
    for library, floor in floors.items():
        print(f"  its matmuls alone in {library:5}: {1e3 * floor:.3f} ms "
              f"({flops / floor / 1e9:.1f} GFLOP/s, {100 * floor / per_step:.0f}% of the step)")
    print(f"\ncProfile of {steps} steps, by time inside each function:")
    print("\n".join(line for line in text.getvalue().splitlines()
                    if line.strip() and not line.startswith("   Ordered")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
