"""The perceptron of notes 001, 002 and 004: its rule, its data sets, its limits."""

from __future__ import annotations

import numpy as np
import pytest

from reference import gradcheck, registry
from reference.perceptron import (
    Perceptron,
    sigmoid_perceptron_gradient,
    sigmoid_perceptron_loss,
)

POINTS, LABELS = registry.NOTE_002_POINTS, registry.NOTE_002_LABELS


def test_seven_points_converge_and_every_point_is_classified() -> None:
    p = Perceptron(learning_rate=1.0).fit(POINTS, LABELS, max_epochs=100)
    assert p.converged
    assert p.epochs_run < 100
    np.testing.assert_array_equal(p.predict(POINTS), LABELS)


def test_first_two_epochs_follow_the_rule_by_hand() -> None:
    # From w = (0, 0), b = 0, η = 1, in data order, ŷ = step(w·x + b):
    # epoch 1: (0.8, 0.8) is 1 but scores 0 → w = (0.8, 0.8), b = 1;
    #          (0.4, 0.2) is 0 but scores 1.48 → w = (0.4, 0.6), b = 0.
    # epoch 2: (0.8, 0.4) is 0, scores 0.56 → w = (−0.4, 0.2), b = −1;
    #          (0.8, 0.8) is 1, scores −1.16 → w = (0.4, 1.0), b = 0;
    #          (0.4, 0.2) is 0, scores 0.36 → w = (0.0, 0.8), b = −1;
    #          (0.4, 0.5) is 1, scores −0.6 → w = (0.4, 1.3), b = 0.
    p = Perceptron().fit(POINTS, LABELS)
    np.testing.assert_allclose(p.weight_history[:2], [[0.4, 0.6, 0.0], [0.4, 1.3, 0.0]],
                               atol=1e-15)


def test_xor_never_converges_and_says_so() -> None:
    p = Perceptron().fit(registry.NOTE_002_XOR_POINTS, registry.NOTE_002_XOR_LABELS,
                         max_epochs=50)
    assert not p.converged
    assert p.epochs_run == 50
    assert "did not converge in 50 epochs" in repr(p)
    assert np.any(p.predict(registry.NOTE_002_XOR_POINTS) != registry.NOTE_002_XOR_LABELS)


def test_note002_hand_exercise() -> None:
    # u = (0, 2) labelled 1, v = (1, 0) labelled 0; w = (0, 1), b = −1:
    # f(u) = 0·0 + 1·2 − 1 = 1 > 0 and f(v) = 0·1 + 1·0 − 1 = −1 < 0.
    # (parity_tests/test_perceptron_notes.py runs it in torch_impl and tf_impl.)
    p = Perceptron(weights=np.array([0.0, 1.0]), bias=-1.0)
    u_and_v = np.array([[0.0, 2.0], [1.0, 0.0]])
    np.testing.assert_array_equal(p.decision_function(u_and_v), [1.0, -1.0])
    np.testing.assert_array_equal(p.predict(u_and_v), [1.0, 0.0])


def test_a_point_on_the_plane_is_0_in_training_and_in_prediction() -> None:
    # Note 002 trains with w·x + b >= 0 (it would call this point 1 and update) but
    # predicts with > 0. One step function for both: the zero plane already fits.
    p = Perceptron().fit(np.array([[0.0, 0.0]]), np.array([0]))
    assert p.converged and p.epochs_run == 1
    np.testing.assert_array_equal(p.weights, [0.0, 0.0])
    assert p.bias == 0.0
    np.testing.assert_array_equal(p.predict(np.array([[0.0, 0.0]])), [0.0])


def test_one_dimensional_form_finds_note003s_border() -> None:
    x = np.array([0.5, 4.0, 2.0, 5.5, 1.0, 3.5, 2.5, 3.2])
    labels = (x >= 3.0).astype(int)  # country B from x = 3 on
    p = Perceptron(learning_rate=0.5).fit(x, labels)
    assert p.converged
    assert np.ndim(p.weights) == 0 and np.ndim(p.bias) == 0
    border = -p.bias / p.weights
    assert 2.5 <= border < 3.2
    np.testing.assert_array_equal(p.predict(x), labels)


def test_from_zero_weights_the_learning_rate_only_scales_them() -> None:
    # Every correction is η times ±x', so with w' = 0 at the start w'(η) = η · w'(1):
    # the same plane, the same epochs.
    unit, tenth = Perceptron(1.0).fit(POINTS, LABELS), Perceptron(0.1).fit(POINTS, LABELS)
    assert tenth.epochs_run == unit.epochs_run
    np.testing.assert_allclose(tenth.weight_history, 0.1 * unit.weight_history, atol=1e-14)


def test_labels_must_be_0_or_1_and_weights_exist_before_use() -> None:
    with pytest.raises(ValueError, match="0 or 1"):
        Perceptron().fit(POINTS, 2 * LABELS - 1)
    with pytest.raises(RuntimeError, match="fit"):
        Perceptron().predict(POINTS)


def test_float32_data_trains_in_float32() -> None:
    p = Perceptron().fit(POINTS.astype(np.float32), LABELS)
    assert p.weights.dtype == np.float32 and p.weight_history.dtype == np.float32


# Note 001: the sigmoid perceptron F = σ(xᵀw) on the L2 loss (F − y)², bias folded in x.
X_FOLDED = np.array([1.0, 0.5, -2.0])  # x_0 = 1 carries the bias
W = np.array([0.3, -0.8, 0.25])


def test_note001_gradient_by_hand_at_a_point() -> None:
    # At w = 0: σ(0) = ½, so DL = 2(½ − 1) · ½ · ½ · x = −¼ x.
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(sigmoid_perceptron_gradient(np.zeros(2), x, 1.0), [-0.25, -0.5],
                               rtol=1e-15)


def test_note001_gradient_matches_finite_differences() -> None:
    numerical = gradcheck.numerical_gradient(lambda w: sigmoid_perceptron_loss(w, X_FOLDED, 1.0),
                                             W)
    assert gradcheck.gradient_error(sigmoid_perceptron_gradient(W, X_FOLDED, 1.0),
                                    numerical) < 1e-9
