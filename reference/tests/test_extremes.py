"""Numerical extremes in the spec: finite, warning-free, and right by hand arithmetic.

pytest turns every NumPy warning (overflow, divide by zero, invalid value) into an
error, so each test here also proves that none is raised. Parity at the extremes is the
registry's extreme cases in ``parity_tests/test_parity.py``.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from reference import activations, losses, registry

ALL_CASES = [pytest.param(c, case, id=f"{c.name}:{case.label}")
             for c in registry.CONCEPTS if c.module in registry.HAND_DIFFERENTIATED
             for case in c.cases]
LOG_1E7 = 7 * math.log(10)  # −log ε for ε = 1e-7: the largest clipped loss per entry
LOG_2_23 = 23 * math.log(2)  # in float32, 1 − 1e-7 rounds to 1 − 2⁻²³


@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize(("concept", "case"), ALL_CASES)
def test_every_case_gives_finite_outputs_losses_and_gradients(concept, case, dtype,
                                                              batch) -> None:
    rng = np.random.default_rng(zlib.crc32(case.label.encode()))
    data = case.make(rng, np.dtype(dtype), batch)
    values = registry.spec_results(concept, data)
    for value in values:
        assert np.all(np.isfinite(value))
        assert np.asarray(value).dtype in (np.dtype(dtype), np.dtype(float))


def test_the_extremes_are_in_the_registry() -> None:
    """Every activation, loss and the dense layer has a case reaching ±1e4 or exact 0/1
    (the exponential ±80: e^z leaves float32's range at 88.7)."""
    for concept in registry.concepts("activations") + registry.concepts("losses"):
        reach = "±80" if concept.name == "exponential" else "1e4"
        assert any(reach in c.label or "exactly 0 and 1" in c.label for c in concept.cases)
    assert sum("±1e4" in c.label for c in registry.concept("Dense").cases) >= 10


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_saturated_activations_at_1e4(dtype) -> None:
    z = np.array([[-1e4, 1e4]], dtype=dtype)
    np.testing.assert_array_equal(activations.sigmoid(z), [[0.0, 1.0]])
    np.testing.assert_array_equal(activations.tanh(z), [[-1.0, 1.0]])
    np.testing.assert_array_equal(activations.softplus(z), [[0.0, 1e4]])
    np.testing.assert_array_equal(activations.gelu(z), [[-0.0, 1e4]])
    np.testing.assert_array_equal(activations.softmax(z), [[0.0, 1.0]])
    np.testing.assert_array_equal(activations.get("sigmoid").derivative(z), [[0.0, 0.0]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_logit_losses_at_1e4_by_hand(dtype) -> None:
    # max(x, 0) − x·y + log1p(e^−|x|): a logit of 1e4 against the wrong label costs 1e4.
    x, y = np.array([1e4, -1e4], dtype=dtype), np.array([0.0, 1.0], dtype=dtype)
    assert losses.binary_cross_entropy_with_logits(y, x) == 1e4
    np.testing.assert_array_equal(losses.binary_cross_entropy_with_logits_gradient(y, x),
                                  [0.5, -0.5])  # (σ(x) − y)/n with σ exactly 1 and 0
    # logsumexp(1e4, −1e4, 0) − (−1e4) = 2e4 for the target class 1.
    logits = np.array([[1e4, -1e4, 0.0]], dtype=dtype)
    assert losses.sparse_categorical_cross_entropy_with_logits(np.array([1]), logits) == 2e4
    assert losses.categorical_cross_entropy_with_logits(np.eye(3, dtype=dtype)[[1]],
                                                        logits) == 2e4


def test_bce_of_exact_0_and_1_is_clipped_like_keras_in_float64() -> None:
    y_true, y_pred = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    # p = 0 → ε: −log ε; p = 1 → 1 − ε: −log(1 − (1 − 1e-7)), 1e-7 up to float64 rounding.
    assert losses.binary_cross_entropy(y_true, y_pred) == pytest.approx(LOG_1E7, rel=1e-9)
    np.testing.assert_array_equal(losses.binary_cross_entropy_gradient(y_true, y_pred), [0, 0])


def test_bce_of_exact_1_costs_23_ln_2_in_float32() -> None:
    y_true, y_pred = np.array([0.0], np.float32), np.array([1.0], np.float32)
    assert losses.binary_cross_entropy(y_true, y_pred) == pytest.approx(LOG_2_23, rel=1e-6)


def test_a_correct_saturated_prediction_costs_almost_nothing() -> None:
    y_true, y_pred = np.array([1.0, 0.0]), np.array([1.0, 0.0])
    assert losses.binary_cross_entropy(y_true, y_pred) == pytest.approx(1e-7, rel=1e-6)
