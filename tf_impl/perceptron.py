"""The spec's perceptron (``reference.perceptron``) written with TensorFlow tensors.

The perceptron rule w ← w + η (y − ŷ) x, b ← b + η (y − ŷ), ŷ = step(w·x + b), is not
gradient descent: the step has no useful gradient (``keras.ops.heaviside`` has none
registered), so w and b are ``tf.Variable``s updated with ``assign_add`` and no tape.
Same API as the spec: ``Perceptron(learning_rate).fit(X, y, max_epochs)``, ``converged``,
``epochs_run``, ``weights``, ``bias``, ``weight_history``, ``decision_function``,
``predict``; tensors where the spec has arrays.

The sigmoid perceptron of note 001 is here as its loss only: ``tf.GradientTape`` derives
the gradient that ``reference.perceptron.sigmoid_perceptron_gradient`` works out by hand.
"""

from __future__ import annotations

import tensorflow as tf

from tf_impl._inputs import (
    checked,
    perceptron_data,
    perceptron_input,
    perceptron_weights,
    ready,
    same_shape,
)
from tf_impl.activations import step


class Perceptron:
    """The Rosenblatt perceptron on tensors; see ``reference.perceptron.Perceptron``.

    Shape: X (N, n) or (N,) for the 1-d form; y (N,); weights (n,) or a scalar; bias a
    scalar; weight_history (epochs_run, n + 1), rows [w, b].
    """

    @checked(perceptron_weights, where="Perceptron")
    def __init__(self, learning_rate: float = 1.0, *, weights: tf.Tensor | None = None,
                 bias: float = 0.0) -> None:
        self.learning_rate = float(learning_rate)
        self.converged = False
        self.epochs_run = 0
        self.weight_history: tf.Tensor | None = None
        self._one_d = weights is not None and weights.shape.rank == 0
        self._w = None if weights is None else tf.Variable(tf.reshape(weights, [-1]))
        self._b = None if weights is None else tf.Variable(tf.constant(bias, weights.dtype))

    @property
    @checked(ready)
    def weights(self) -> tf.Tensor:
        """w: shape (n,), or a scalar tensor in the 1-d form."""
        return self._w[0] if self._one_d else tf.convert_to_tensor(self._w)

    @property
    @checked(ready)
    def bias(self) -> tf.Tensor:
        """b, a scalar tensor."""
        return tf.convert_to_tensor(self._b)

    @checked(perceptron_data)
    def fit(self, X: tf.Tensor, y: tf.Tensor, max_epochs: int = 100) -> Perceptron:
        """Learn w and b from zero by the perceptron rule, one sample at a time; returns self."""
        self._one_d = X.shape.rank == 1
        X = X[:, None] if self._one_d else X  # the 1-d form: one feature per sample
        self._w = tf.Variable(tf.zeros(X.shape[1], dtype=X.dtype))
        self._b = tf.Variable(tf.zeros((), dtype=X.dtype))
        history = []
        self.converged = False
        for _ in range(max_epochs):
            mistakes = 0
            for x_i, y_i in zip(X, y, strict=True):  # sequential by definition
                error = y_i - step(tf.tensordot(x_i, self._w, axes=1) + self._b)
                if error != 0:
                    self._w.assign_add((self.learning_rate * error) * x_i)
                    self._b.assign_add(self.learning_rate * error)
                    mistakes += 1
            history.append(tf.concat([self._w, tf.reshape(self._b, [1])], axis=0))
            if mistakes == 0:
                self.converged = True
                break
        self.epochs_run = len(history)
        self.weight_history = (tf.stack(history) if history
                               else tf.zeros((0, X.shape[1] + 1), dtype=X.dtype))
        return self

    @checked(perceptron_input)
    def decision_function(self, X: tf.Tensor) -> tf.Tensor:
        """f(x) = w·x + b for every sample. Shape (N,)."""
        return tf.tensordot(X, self._w, axes=1) + self._b

    def predict(self, X: tf.Tensor) -> tf.Tensor:
        """ŷ = step(w·x + b) ∈ {0, 1}. Shape (N,)."""
        return step(self.decision_function(X))


@checked(same_shape("x", "w"))
def sigmoid_perceptron_loss(w: tf.Tensor, x: tf.Tensor, y: float) -> tf.Tensor:
    """L(w) = (σ(xᵀw) − y)², bias folded into x; ``tape.gradient(L, w)`` is note 001's DL.

    Shape: w, x (n + 1,); y a scalar.
    """
    return tf.square(tf.sigmoid(tf.tensordot(x, w, axes=1)) - y)
