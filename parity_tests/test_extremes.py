"""Probabilities of exactly 0 and 1: each framework's own clipping, and the bridged mirrors.

The spec clips probabilities to [ε, 1 − ε], ε = 1e-7, as Keras does. torch's own
``F.binary_cross_entropy`` instead clamps log p at −100 and divides its gradient by
max(p(1 − p), 1e-12); ``torch_impl`` bridges it to the spec. Keras hides a trap of its
own: the output of its sigmoid carries the logits, and its probability losses silently
use those instead of the probabilities. Expected numbers are hand arithmetic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from parity_tests.conftest import framework
from reference import losses

LOG_1E7 = 7 * math.log(10)  # −log ε
LOG_2_23 = 23 * math.log(2)  # −log(1 − (1 − ε)) in float32, where 1 − ε rounds to 1 − 2⁻²³


def test_raw_torch_clamps_the_log_at_minus_100(torch) -> None:
    p = torch.tensor([0.0, 0.5], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([1.0, 0.5], dtype=torch.float64)
    value = torch.nn.functional.binary_cross_entropy(p, y)
    value.backward()
    assert value.item() == pytest.approx((100 + math.log(2)) / 2)
    # −y / max(p(1 − p), 1e-12) / n at p = 0: about −1e12 / 2.
    assert p.grad[0].item() == pytest.approx(-0.5e12)


def test_torch_mirror_clips_like_the_spec(torch) -> None:
    impl = framework("torch").impl
    p = torch.tensor([0.0, 0.5], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([1.0, 0.5], dtype=torch.float64)
    value = impl.losses.binary_cross_entropy(y, p)
    value.backward()
    assert value.item() == pytest.approx((LOG_1E7 + math.log(2)) / 2, rel=1e-12)
    assert value.item() == losses.binary_cross_entropy(y.numpy(), p.detach().numpy())
    assert p.grad[0].item() == 0.0  # the clip is active: no gradient, as in Keras


def test_raw_keras_clips_like_the_spec() -> None:
    import keras
    bce = keras.losses.BinaryCrossentropy(dtype="float64")
    assert float(bce(np.array([[1.0]]), np.array([[0.0]]))) == pytest.approx(LOG_1E7, rel=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_mirrors_score_a_saturated_wrong_answer_like_the_spec(fw, dtype) -> None:
    """p = 1 for y = 0: −log ε in float64, 23 ln 2 in float32, zero gradient, everywhere."""
    y_true, y_pred = np.array([[0.0]], dtype), np.array([[1.0]], dtype)
    value, grad = fw.loss("binary_cross_entropy", y_true, y_pred)
    by_hand = LOG_1E7 if dtype == np.float64 else LOG_2_23
    assert value == pytest.approx(by_hand, rel=1e-6)
    assert value == pytest.approx(losses.binary_cross_entropy(y_true, y_pred), rel=1e-7)
    assert grad[0, 0] == 0.0


def test_keras_hidden_logits_trap_end_to_end() -> None:
    """Keras Dense(sigmoid) at z = 20, y = 0: Keras's BCE uses the hidden logit, unclipped,
    and reports log(1 + e²⁰) ≈ 20.0; tf_impl's BCE scores the probabilities it is given,
    clipped: σ(20) rounds to 1 in float32, so the loss is 23 ln 2 ≈ 15.94, the spec's."""
    tf_fw = framework("tf")
    import keras
    layer = keras.layers.Dense(1, activation="sigmoid", kernel_initializer="zeros",
                               bias_initializer=keras.initializers.Constant(20.0))
    p = layer(np.zeros((1, 3), np.float32))
    y = np.zeros((1, 1), np.float32)
    raw = float(keras.losses.BinaryCrossentropy()(y, p))
    assert raw == pytest.approx(20.0 + math.exp(-20.0), rel=1e-6)
    mirror = float(tf_fw.impl.losses.binary_cross_entropy(tf_fw.tf.constant(y), p))
    assert mirror == pytest.approx(LOG_2_23, rel=1e-6)
    assert mirror == pytest.approx(losses.binary_cross_entropy(y, p.numpy()), rel=1e-7)


# float32 logits at the edge of the range: the spec's mean does not overflow and its
# categorical cross-entropy takes 0 · log 0 as 0; torch and Keras compute the textbook
# sum-then-divide and y · log softmax, so they give inf and NaN there. A convention of
# the frameworks, shown here on each side rather than bridged inside the mirrors'
# bodies: at such values a training run stops with TrainingDiverged in all three.
BIG = np.float32(3e38)


def test_spec_bce_with_logits_mean_does_not_overflow_in_float32() -> None:
    y_true = np.array([[0.0, 1.0]], np.float32)
    logits = np.array([[BIG, -BIG]], np.float32)  # per entry: 3e38 and 3e38, sum 6e38
    assert losses.binary_cross_entropy_with_logits(y_true, logits) == pytest.approx(3e38,
                                                                                     rel=1e-6)


def test_spec_cce_with_logits_takes_zero_times_log_zero_as_zero() -> None:
    y_true = np.array([[1.0, 0.0]], np.float32)
    logits = np.array([[BIG, -BIG]], np.float32)  # log softmax: [0, −inf] in float32
    assert losses.categorical_cross_entropy_with_logits(y_true, logits) == 0.0


def test_frameworks_overflow_where_the_spec_does_not(fw) -> None:
    mirror = fw.impl.losses
    bce = mirror.binary_cross_entropy_with_logits(
        *(fw._tensor(a) for a in (np.array([[0.0, 1.0]], np.float32),
                                  np.array([[BIG, -BIG]], np.float32))))
    cce = mirror.categorical_cross_entropy_with_logits(
        *(fw._tensor(a) for a in (np.array([[1.0, 0.0]], np.float32),
                                  np.array([[BIG, -BIG]], np.float32))))
    assert math.isinf(float(bce))  # 3e38 + 3e38 overflows before the division by 2
    assert math.isnan(float(cce))  # 0 · (−inf)
