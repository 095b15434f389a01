"""The perceptron (notes 001, 002, 004): a step of a linear function, and how it learns.

Rosenblatt's perceptron classifies x into {0, 1} by the side of a hyperplane it lies on:

    f(x) = w·x + b            (the linear decision function; sign(f) tells the side)
    ŷ    = step(f(x))         (step(z) = 1 if z > 0 else 0, so a point on the plane is 0)

It learns by the perceptron rule, one sample at a time in data order:

    w ← w + η (y − ŷ) x,   b ← b + η (y − ŷ)

which changes nothing when ŷ = y and moves the plane towards a misclassified point
otherwise. Folding the bias in (note 002's trick: w' = [w, b], x' = [x, 1]) makes it one
rule, w' ← w' + η (y − ŷ) x'; the weight history below is stored in that folded form.
Training stops after an epoch without a mistake (``converged``) or after ``max_epochs``.
On linearly separable data it always converges; on XOR it cannot, and ``fit`` says so
through ``converged = False`` instead of looping forever.

The step has no useful gradient, so nothing here is trained by gradient descent; the
sigmoid perceptron of note 001, which is, closes the module.

Note 002's code trains with ``w·x + b >= 0`` but predicts with ``> 0``, so a point exactly
on the plane is labelled 1 in training and 0 in prediction. Here one decision, the step of
:mod:`reference.activations` (step(0) = 0), serves both.

Shape:
    n-d form: X (N, n), y (N,), weights (n,), bias a scalar.
    1-d form: X (N,), y (N,), one weight and one bias, both scalars.
    weight_history: (epochs_run, n + 1), row k = [w, b] after epoch k + 1.
"""

from __future__ import annotations

import numpy as np

from reference._validation import (
    as_float_array,
    check_count,
    check_hyperparameters,
    check_shape,
)
from reference.activations import sigmoid, step


class Perceptron:
    """The Rosenblatt perceptron, trained by the perceptron rule (see the module docstring).

    Args:
        learning_rate: η, the size of each correction (note 002's code uses 1).
        weights, bias: a hand-chosen hyperplane (note 002's exercise), instead of ``fit``.
    """

    def __init__(self, learning_rate: float = 1.0, *, weights: object = None,
                 bias: float = 0.0) -> None:
        check_hyperparameters("Perceptron", learning_rate=learning_rate)
        self.learning_rate = float(learning_rate)
        self.converged = False
        self.epochs_run = 0
        self.weight_history: np.ndarray | None = None
        self._w: np.ndarray | None = None
        self._b: np.ndarray | None = None
        self._one_d = False
        if weights is not None:
            w = as_float_array(weights, None, "Perceptron", "weights")
            self._one_d = w.ndim == 0
            self._w = w.reshape(-1).copy()
            self._b = np.asarray(bias, dtype=w.dtype)

    @property
    def weights(self) -> np.ndarray:
        """w: shape (n,), or a scalar in the 1-d form."""
        self._check_ready()
        return self._w[0] if self._one_d else self._w

    @property
    def bias(self) -> np.ndarray:
        """b, a scalar."""
        self._check_ready()
        return self._b[()]

    def fit(self, X: np.ndarray, y: np.ndarray, max_epochs: int = 100) -> Perceptron:
        """Learn w and b from zero by the perceptron rule; returns ``self``.

        An epoch visits the samples once, in data order (the rule is sequential: each
        correction changes the next prediction). ``converged`` says whether an epoch
        passed without a mistake within ``max_epochs``; ``epochs_run`` counts the epochs.
        """
        check_count("Perceptron.fit", "max_epochs", max_epochs, 0)
        X, y = self._inputs(X, y)
        n_features = X.shape[1]
        w, b = np.zeros(n_features, dtype=X.dtype), np.zeros((), dtype=X.dtype)
        history = []
        self.converged = False
        for _ in range(max_epochs):
            mistakes = 0
            for x_i, y_i in zip(X, y, strict=True):  # sequential by definition
                error = y_i - step(x_i @ w + b)
                if error != 0:
                    w += (self.learning_rate * error) * x_i
                    b += self.learning_rate * error
                    mistakes += 1
            history.append(np.append(w, b))
            if mistakes == 0:
                self.converged = True
                break
        self._w, self._b = w, b
        self.epochs_run = len(history)
        self.weight_history = np.stack(history) if history else np.zeros((0, n_features + 1),
                                                                         dtype=X.dtype)
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """f(x) = w·x + b for every sample: positive on the side labelled 1. Shape (N,)."""
        self._check_ready()
        X = self._features(X, self._w.dtype)
        check_shape("Perceptron", "X", X.shape, (None, self._w.shape[0]))
        return X @ self._w + self._b

    def predict(self, X: np.ndarray) -> np.ndarray:
        """ŷ = step(w·x + b) ∈ {0, 1} (a point on the plane gets 0). Shape (N,)."""
        return step(self.decision_function(X))

    def _inputs(self, X: object, y: object) -> tuple[np.ndarray, np.ndarray]:
        X = as_float_array(X, None, "Perceptron.fit", "X")
        self._one_d = X.ndim == 1
        X = self._features(X, X.dtype)
        y = as_float_array(y, X.dtype, "Perceptron.fit", "y")
        check_shape("Perceptron.fit", "y", y.shape, (X.shape[0],))
        if not np.all((y == 0) | (y == 1)):
            raise ValueError("Perceptron.fit: labels y must be 0 or 1")
        return X, y

    def _features(self, X: object, dtype: np.dtype) -> np.ndarray:
        X = as_float_array(X, dtype, "Perceptron", "X")
        if X.ndim == 1 and self._one_d:
            return X[:, None]
        check_shape("Perceptron", "X", X.shape, (None, None))
        return X

    def _check_ready(self) -> None:
        if self._w is None:
            raise RuntimeError("Perceptron: call fit() or give weights= before using it")

    def __repr__(self) -> str:
        outcome = "converged" if self.converged else "did not converge"
        state = f"{outcome} in {self.epochs_run} epochs" if self.epochs_run else "not trained"
        return f"Perceptron(learning_rate={self.learning_rate:g}): {state}"


def sigmoid_perceptron_loss(w: np.ndarray, x: np.ndarray, y: float) -> float:
    """L(w) = (σ(xᵀw) − y)²: note 001's perceptron with a sigmoid, on the L2 loss.

    The bias is folded into x (x = [1, x_1, …, x_n], w = [w_0, w_1, …, w_n]).

    Shape: w, x (n + 1,); y a scalar.
    """
    w = as_float_array(w, None, "sigmoid_perceptron_loss", "w")
    x = as_float_array(x, w.dtype, "sigmoid_perceptron_loss", "x")
    check_shape("sigmoid_perceptron_loss", "x", x.shape, w.shape)
    return float(np.square(sigmoid(x @ w) - y))


def sigmoid_perceptron_gradient(w: np.ndarray, x: np.ndarray, y: float) -> np.ndarray:
    """DL = 2(σ(xᵀw) − y) · σ(xᵀw)(1 − σ(xᵀw)) · xᵀ, note 001's Jacobian worked by hand.

    The chain rule twice: d(F − y)²/dF = 2(F − y), dσ(z)/dz = σ(1 − σ), dz/dw = xᵀ.

    Shape: w, x (n + 1,) → (n + 1,).
    """
    w = as_float_array(w, None, "sigmoid_perceptron_gradient", "w")
    x = as_float_array(x, w.dtype, "sigmoid_perceptron_gradient", "x")
    check_shape("sigmoid_perceptron_gradient", "x", x.shape, w.shape)
    s = sigmoid(x @ w)
    return 2.0 * (s - y) * s * (1.0 - s) * x
