"""The benchmark times the same step everywhere, and counts its flops right."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.steps import BUILDERS, SIZES, build_step
from parity_tests.tolerances import tolerance


def test_flops_of_note_004_net_by_hand() -> None:
    """3-5-8-2 at batch 4: x W and xᵀ δ cost 2·4·(15 + 40 + 16) each; δ Wᵀ skips layer 1."""
    forward = 2 * 4 * (3 * 5 + 5 * 8 + 8 * 2)     # 568
    input_gradients = 2 * 4 * (5 * 8 + 8 * 2)     # 448: no dL/dx for the data
    assert SIZES["small"].matmul_flops == 2 * forward + input_gradients == 1584


# The ResNet in float64 only: a float32 dL/dW of a convolution under a training-mode
# BatchNorm sums 50 176 products x·δ whose δ sum to zero per channel, so their rounding,
# not a convention, parts the implementations by ~1e-4 after one step (measured 1.4e-4 on
# the stem's kernel); in float64 the same step agrees to 1e-10.
@pytest.mark.parametrize(("size", "dtype"), [
    *((size, dtype) for size in ("small", "medium", "cnn", "char")
      for dtype in ("float64", "float32")), ("resnet", "float64")])
def test_every_implementation_takes_the_spec_step(size: str, dtype: str) -> None:
    """Two SGD steps from the same weights leave every implementation with the spec's."""
    steps = {impl: build_step(impl, SIZES[size], dtype) for impl in BUILDERS}
    for step in steps.values():
        step.run()
        step.run()
    expected = steps.pop("reference").weights()
    start = build_step("reference", SIZES[size], dtype).weights()
    tol = tolerance(dtype, "output")
    for impl, step in steps.items():
        for layer, expected_layer, start_layer in zip(step.weights(), expected, start,
                                                      strict=True):
            for W, eW, W0 in zip(layer, expected_layer, start_layer, strict=True):
                assert W.dtype == eW.dtype == np.dtype(dtype)
                assert not np.array_equal(eW, W0), "the step must move the weights"
                assert tol.error(W, eW) <= tol.rtol, f"{impl}: a weight differs from the spec's"


def test_flops_of_the_digit_cnn_by_hand() -> None:
    """Convolutions: conv1 forward and dL/dW (no dL/dx for the data), conv2 all three;
    Dense 900 → 128 → 10 all three (neither is the first layer)."""
    conv1, conv2 = 2 * 64 * 26 * 26 * 9 * 24, 2 * 64 * 11 * 11 * 9 * 24 * 36
    dense = 2 * 64 * (900 * 128 + 128 * 10)
    assert SIZES["cnn"].convolution_flops == 2 * conv1 + 3 * conv2 == 398_684_160
    assert SIZES["cnn"].matmul_flops == 2 * conv1 + 3 * conv2 + 3 * dense


def test_flops_of_the_digit_resnet_by_hand() -> None:
    """3×3 convolutions: the stem on the image (forward and dL/dW only), block 1's two at
    28×28 (8 → 8), block 2's two at 14×14 (8 → 16, then 16 → 16); the 1×1 projection
    (8 → 16) at 14×14; Dense 16 → 10. Every one but the stem also computes dL/dx."""
    stem = 2 * 64 * 28 * 28 * 9 * 1 * 8
    block1 = 2 * (2 * 64 * 28 * 28 * 9 * 8 * 8)
    block2 = 2 * 64 * 14 * 14 * (9 * 8 * 16 + 9 * 16 * 16 + 8 * 16)
    dense = 2 * 64 * 16 * 10
    assert SIZES["resnet"].matmul_flops == 2 * stem + 3 * (block1 + block2 + dense)
