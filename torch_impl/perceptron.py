"""The spec's perceptron (``reference.perceptron``) written with torch tensors.

The perceptron rule w ← w + η (y − ŷ) x, b ← b + η (y − ŷ), ŷ = step(w·x + b), is not
gradient descent: the step has no useful gradient (``torch.heaviside`` has no autograd
formula at all), so the update is written with in-place tensor arithmetic and no
autograd. Same API as the spec: ``Perceptron(learning_rate).fit(X, y, max_epochs)``,
``converged``, ``epochs_run``, ``weights``, ``bias``, ``weight_history``,
``decision_function``, ``predict``; tensors where the spec has arrays.

The sigmoid perceptron of note 001 is here as its loss only: autograd derives the
gradient that ``reference.perceptron.sigmoid_perceptron_gradient`` works out by hand.
"""

from __future__ import annotations

import torch

from reference._validation import check_shape
from torch_impl._inputs import as_float_tensor
from torch_impl.activations import step


class Perceptron:
    """The Rosenblatt perceptron on tensors; see ``reference.perceptron.Perceptron``.

    Shape: X (N, n) or (N,) for the 1-d form; y (N,); weights (n,) or a scalar; bias a
    scalar; weight_history (epochs_run, n + 1), rows [w, b].
    """

    def __init__(self, learning_rate: float = 1.0, *, weights: object = None,
                 bias: float = 0.0) -> None:
        self.learning_rate = float(learning_rate)
        self.converged = False
        self.epochs_run = 0
        self.weight_history: torch.Tensor | None = None
        self._w: torch.Tensor | None = None
        self._b: torch.Tensor | None = None
        self._one_d = False
        if weights is not None:
            w = as_float_tensor(weights, None, "Perceptron", "weights")
            self._one_d = w.ndim == 0
            self._w = w.reshape(-1).clone()
            self._b = torch.tensor(bias, dtype=w.dtype)

    @property
    def weights(self) -> torch.Tensor:
        """w: shape (n,), or a 0-d tensor in the 1-d form."""
        self._check_ready()
        return self._w[0] if self._one_d else self._w

    @property
    def bias(self) -> torch.Tensor:
        """b, a 0-d tensor."""
        self._check_ready()
        return self._b

    def fit(self, X: torch.Tensor, y: torch.Tensor, max_epochs: int = 100) -> Perceptron:
        """Learn w and b from zero by the perceptron rule, one sample at a time; returns self."""
        X = as_float_tensor(X, None, "Perceptron.fit", "X")
        self._one_d = X.ndim == 1
        X = self._features(X)
        y = as_float_tensor(y, X.dtype, "Perceptron.fit", "y")
        check_shape("Perceptron.fit", "y", y.shape, (X.shape[0],))
        if not torch.all((y == 0) | (y == 1)):
            raise ValueError("Perceptron.fit: labels y must be 0 or 1")
        w = torch.zeros(X.shape[1], dtype=X.dtype)
        b = torch.zeros((), dtype=X.dtype)
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
            history.append(torch.cat([w, b.reshape(1)]))
            if mistakes == 0:
                self.converged = True
                break
        self._w, self._b = w, b
        self.epochs_run = len(history)
        self.weight_history = (torch.stack(history) if history
                               else torch.zeros((0, X.shape[1] + 1), dtype=X.dtype))
        return self

    def decision_function(self, X: torch.Tensor) -> torch.Tensor:
        """f(x) = w·x + b for every sample. Shape (N,)."""
        self._check_ready()
        X = self._features(as_float_tensor(X, self._w.dtype, "Perceptron", "X"))
        check_shape("Perceptron", "X", X.shape, (None, self._w.shape[0]))
        return X @ self._w + self._b

    def predict(self, X: torch.Tensor) -> torch.Tensor:
        """ŷ = step(w·x + b) ∈ {0, 1}. Shape (N,)."""
        return step(self.decision_function(X))

    def _features(self, X: torch.Tensor) -> torch.Tensor:
        if X.ndim == 1 and self._one_d:
            return X[:, None]
        check_shape("Perceptron", "X", X.shape, (None, None))
        return X

    def _check_ready(self) -> None:
        if self._w is None:
            raise RuntimeError("Perceptron: call fit() or give weights= before using it")


def sigmoid_perceptron_loss(w: torch.Tensor, x: torch.Tensor, y: float) -> torch.Tensor:
    """L(w) = (σ(xᵀw) − y)², bias folded into x; ``L.backward()`` gives note 001's gradient.

    Shape: w, x (n + 1,); y a scalar.
    """
    check_shape("sigmoid_perceptron_loss", "x", x.shape, tuple(w.shape))
    return torch.square(torch.sigmoid(x @ w) - y)
