"""The perceptron's worked numbers of notes 001 and 002 in the mirrors.

The spec's side is in reference/tests/test_perceptron.py, which needs NumPy only.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from reference.perceptron import sigmoid_perceptron_gradient

X_FOLDED = np.array([1.0, 0.5, -2.0])  # x_0 = 1 carries the bias
W = np.array([0.3, -0.8, 0.25])


@pytest.mark.parametrize("package", ["torch_impl", "tf_impl"])
def test_note002_hand_exercise(package: str) -> None:
    # u = (0, 2) labelled 1, v = (1, 0) labelled 0; w = (0, 1), b = −1:
    # f(u) = 0·0 + 1·2 − 1 = 1 > 0 and f(v) = 0·1 + 1·0 − 1 = −1 < 0.
    perceptron = importlib.import_module(f"{package}.perceptron").Perceptron
    p = perceptron(weights=np.array([0.0, 1.0]), bias=-1.0)
    u_and_v = np.array([[0.0, 2.0], [1.0, 0.0]])
    np.testing.assert_array_equal(np.asarray(p.decision_function(u_and_v)), [1.0, -1.0])
    np.testing.assert_array_equal(np.asarray(p.predict(u_and_v)), [1.0, 0.0])


def test_note001_gradient_matches_torch_autograd() -> None:
    import torch

    from torch_impl.perceptron import sigmoid_perceptron_loss as torch_loss
    w = torch.tensor(W, requires_grad=True)
    torch_loss(w, torch.tensor(X_FOLDED), 1.0).backward()
    np.testing.assert_allclose(w.grad.numpy(), sigmoid_perceptron_gradient(W, X_FOLDED, 1.0),
                               rtol=1e-14, atol=1e-16)


def test_note001_gradient_matches_the_tape() -> None:
    # tf_impl before TensorFlow: it sets TF's environment (oneDNN off) before TF loads.
    from tf_impl.perceptron import sigmoid_perceptron_loss as tf_loss  # noqa: I001
    import tensorflow as tf
    w = tf.Variable(W)
    with tf.GradientTape() as tape:
        loss = tf_loss(w, tf.constant(X_FOLDED), 1.0)
    np.testing.assert_allclose(tape.gradient(loss, w).numpy(),
                               sigmoid_perceptron_gradient(W, X_FOLDED, 1.0),
                               rtol=1e-14, atol=1e-16)
