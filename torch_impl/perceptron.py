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

from torch_impl._inputs import (
    checked,
    perceptron_data,
    perceptron_input,
    perceptron_weights,
    ready,
    same_shape,
)
from torch_impl.activations import step


class Perceptron:
    """The Rosenblatt perceptron on tensors; see ``reference.perceptron.Perceptron``.

    Shape: X (N, n) or (N,) for the 1-d form; y (N,); weights (n,) or a scalar; bias a
    scalar; weight_history (epochs_run, n + 1), rows [w, b].
    """

    @checked(perceptron_weights, where="Perceptron")
    def __init__(self, learning_rate: float = 1.0, *, weights: torch.Tensor | None = None,
                 bias: float = 0.0) -> None:
        self.learning_rate = float(learning_rate)
        self.converged = False
        self.epochs_run = 0
        self.weight_history: torch.Tensor | None = None
        self._one_d = weights is not None and weights.ndim == 0
        self._w = None if weights is None else weights.reshape(-1).clone()
        self._b = None if weights is None else torch.tensor(bias, dtype=weights.dtype)

    @property
    @checked(ready)
    def weights(self) -> torch.Tensor:
        """w: shape (n,), or a 0-d tensor in the 1-d form."""
        return self._w[0] if self._one_d else self._w

    @property
    @checked(ready)
    def bias(self) -> torch.Tensor:
        """b, a 0-d tensor."""
        return self._b

    @checked(perceptron_data)
    def fit(self, X: torch.Tensor, y: torch.Tensor, max_epochs: int = 100) -> Perceptron:
        """Learn w and b from zero by the perceptron rule, one sample at a time; returns self."""
        self._one_d = X.ndim == 1
        X = X[:, None] if self._one_d else X  # the 1-d form: one feature per sample
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

    @checked(perceptron_input)
    def decision_function(self, X: torch.Tensor) -> torch.Tensor:
        """f(x) = w·x + b for every sample. Shape (N,)."""
        return X @ self._w + self._b

    def predict(self, X: torch.Tensor) -> torch.Tensor:
        """ŷ = step(w·x + b) ∈ {0, 1}. Shape (N,)."""
        return step(self.decision_function(X))


@checked(same_shape("x", "w"))
def sigmoid_perceptron_loss(w: torch.Tensor, x: torch.Tensor, y: float) -> torch.Tensor:
    """L(w) = (σ(xᵀw) − y)², bias folded into x; ``L.backward()`` gives note 001's gradient.

    Shape: w, x (n + 1,); y a scalar.
    """
    return torch.square(torch.sigmoid(x @ w) - y)
