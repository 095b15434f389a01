"""The losses' claims: worked numbers by hand, relations between the forms, and their traps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reference import losses

Y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
P = np.array([[0.9, 0.2], [0.4, 0.6], [0.7, 0.5]])


def test_mean_squared_error_by_hand_note_000() -> None:
    # squared errors: .01 .04 / .16 .16 / .09 .25, six entries
    assert losses.mean_squared_error(Y, P) == pytest.approx(0.71 / 6, rel=1e-15)


def test_half_mean_squared_error_is_one_over_2n_of_the_squared_norms_note_002() -> None:
    # per-sample squared norms .05, .32, .34 over n = 3 samples, halved
    assert losses.half_mean_squared_error(Y, P) == pytest.approx(0.71 / 6, rel=1e-15)
    one_output = np.array([[2.0], [4.0]]), np.array([[1.0], [1.0]])
    assert losses.half_mean_squared_error(*one_output) == pytest.approx(
        losses.mean_squared_error(*one_output) / 2)


def test_half_mse_gradient_is_prediction_minus_target_note_003() -> None:
    y, p = np.array([[0.0], [1.0]]), np.array([[2.9], [3.0]])
    np.testing.assert_allclose(losses.half_mean_squared_error_gradient(y, p), (p - y) / 2)


def test_mean_absolute_error_by_hand() -> None:
    assert losses.mean_absolute_error(Y, P) == pytest.approx(1.9 / 6, rel=1e-15)


def test_mean_squared_logarithmic_error_by_hand() -> None:
    y, p = np.array([0.0, math.e - 1]), np.array([math.e - 1, math.e**2 - 1])
    # log(1 + p) − log(1 + y) = 1 − log(1 + 1e-7) and 2 − 1 = 1 (ε floors y = 0 at 1e-7)
    first = 1.0 - math.log1p(1e-7)
    assert losses.mean_squared_logarithmic_error(y, p) == pytest.approx((first**2 + 1) / 2)


def test_binary_cross_entropy_by_hand_note_002() -> None:
    expected = -sum(y * math.log(p) + (1 - y) * math.log(1 - p)
                    for y, p in zip(Y.ravel(), P.ravel(), strict=True)) / 6
    assert losses.binary_cross_entropy(Y, P) == pytest.approx(expected, rel=1e-14)


def test_binary_cross_entropy_of_a_coin_flip_is_log_2() -> None:
    assert losses.binary_cross_entropy(np.array([0.0, 1.0]), np.array([0.5, 0.5])) == \
        pytest.approx(math.log(2), rel=1e-15)


def test_binary_cross_entropy_clips_certain_predictions_at_epsilon() -> None:
    """p = 0 for a positive is −log(1e-7) = 16.118…, Keras's value, not infinity."""
    assert losses.binary_cross_entropy(np.array([1.0]), np.array([0.0])) == \
        pytest.approx(-math.log(1e-7), rel=1e-12)
    assert losses.binary_cross_entropy_gradient(np.array([1.0]), np.array([0.0]))[0] == 0.0


def test_from_logits_equals_probabilities_of_the_sigmoid() -> None:
    logits = np.array([[-3.0, 0.5], [2.0, -0.1], [0.0, 4.0]])
    probabilities = 1 / (1 + np.exp(-logits))
    assert losses.binary_cross_entropy_with_logits(Y, logits) == pytest.approx(
        losses.binary_cross_entropy(Y, probabilities), rel=1e-13)


def test_from_logits_stays_exact_where_probabilities_saturate() -> None:
    """At logit 40, σ rounds to 1 and the probability form can only clip; logits don't."""
    value = losses.binary_cross_entropy_with_logits(np.array([0.0]), np.array([40.0]))
    assert value == pytest.approx(40.0 + math.log1p(math.exp(-40.0)), rel=1e-15)


def test_categorical_cross_entropy_is_minus_log_of_the_true_class_note_003() -> None:
    """Note 003 writes −Σ y·ŷ; the log is missing. With the log, one-hot targets pick −log p_k."""
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    p = np.array([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]])
    expected = -(math.log(0.7) + math.log(0.5)) / 2
    assert losses.categorical_cross_entropy(y, p) == pytest.approx(expected, rel=1e-15)
    assert losses.sparse_categorical_cross_entropy(np.array([1, 0]), p) == pytest.approx(
        expected, rel=1e-15)


def test_categorical_cross_entropy_with_logits_is_log_sum_exp_minus_true_logit() -> None:
    x = np.array([[1.0, 2.0, 3.0]])
    expected = math.log(math.exp(1) + math.exp(2) + math.exp(3)) - 2.0
    assert losses.categorical_cross_entropy_with_logits(np.array([[0.0, 1.0, 0.0]]), x) == \
        pytest.approx(expected, rel=1e-15)
    assert losses.sparse_categorical_cross_entropy_with_logits(np.array([1]), x) == \
        pytest.approx(expected, rel=1e-15)


def test_cross_entropy_from_logits_is_finite_for_huge_logits() -> None:
    x = np.array([[1e4, -1e4, 0.0]])
    assert losses.categorical_cross_entropy_with_logits(np.array([[0.0, 1.0, 0.0]]), x) == \
        pytest.approx(2e4)


def test_categorical_gradient_is_blind_to_rescaling_the_predictions() -> None:
    """Keras rescales ŷ to sum to 1 first; the gradient is then orthogonal to ŷ."""
    y = np.array([[0.0, 1.0, 0.0]])
    p = np.array([[0.2, 0.7, 0.1]])
    grad = losses.categorical_cross_entropy_gradient(y, p)
    assert float(np.sum(grad * p)) == pytest.approx(0.0, abs=1e-15)


def test_losses_refuse_column_labels_against_flat_predictions() -> None:
    """torch's mse_loss would broadcast (3, 1) against (3,) to (3, 3) and only warn."""
    with pytest.raises(ValueError, match=r"mean_squared_error: y_true has shape \(3, 1\) but "
                                         r"y_pred has shape \(3,\)"):
        losses.mean_squared_error(np.zeros((3, 1)), np.zeros(3))


def test_losses_refuse_mixed_float_dtypes() -> None:
    with pytest.raises(TypeError, match="float32"):
        losses.mean_squared_error(np.zeros(3, np.float32), np.zeros(3, np.float64))


def test_integer_labels_are_converted_to_the_prediction_dtype() -> None:
    value = losses.binary_cross_entropy(np.array([1, 0]), np.array([0.5, 0.5], np.float32))
    assert value == pytest.approx(math.log(2), rel=1e-7)
    grad = losses.binary_cross_entropy_gradient(np.array([1, 0]), np.array([0.5, 0.5],
                                                                           np.float32))
    assert grad.dtype == np.float32


@pytest.mark.parametrize("name", losses.NAMES)
def test_every_loss_returns_a_float_and_a_gradient_shaped_like_the_prediction(name) -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0.1, 0.9, (4, 3)).astype(np.float32)
    y = rng.integers(0, 3, 4) if name.startswith("sparse") else \
        np.eye(3, dtype=np.float32)[rng.integers(0, 3, 4)]
    assert isinstance(losses.get(name)(y, p), float)
    grad = losses.gradient(name)(y, p)
    assert grad.shape == p.shape and grad.dtype == np.float32


def test_sparse_losses_refuse_indices_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"class indices\) must lie in \[0, 2\]"):
        losses.sparse_categorical_cross_entropy_with_logits(np.array([0, 3]), np.zeros((2, 3)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sparse_cross_entropy_with_logits_of_sequences_is_its_formula(dtype) -> None:
    """Value mean(logsumexp(x) − x_k) and gradient (softmax(x) − onehot(k))/(N·T) on
    (N, T, C) logits, as the character model uses them (the spec's in-place path)."""
    from scipy.special import log_softmax, softmax

    rng = np.random.default_rng(3)
    x = (3 * rng.standard_normal((4, 5, 6))).astype(dtype)
    k = rng.integers(0, 6, (4, 5))
    onehot = np.eye(6)[k]
    log_q = log_softmax(x.astype(np.float64), axis=-1)
    rtol = 1e-6 if dtype == "float32" else 1e-14
    value = losses.sparse_categorical_cross_entropy_with_logits(k, x)
    assert value == pytest.approx(-np.sum(onehot * log_q) / k.size, rel=rtol)
    grad = losses.sparse_categorical_cross_entropy_with_logits_gradient(k, x)
    assert grad.dtype == np.dtype(dtype)
    np.testing.assert_allclose(grad, (softmax(x.astype(np.float64), axis=-1) - onehot) / k.size,
                               rtol=rtol, atol=rtol / k.size)
