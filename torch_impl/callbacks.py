"""Early stopping the way torch users write it: torch has no callbacks, so the training
loop keeps the best loss, counts the epochs without improvement, and keeps a copy of the
best ``state_dict`` to load at the end.

Compared with Keras's ``EarlyStopping``: the same rule (an improvement is a loss lower
by more than ``min_delta``; stop after ``patience`` epochs without one; restore the best
weights at the end), compared here in Python floats, where Keras compares in float32.
``state_dict`` holds the running statistics too, as Keras's ``get_weights`` does.
"""

from __future__ import annotations

import copy
import math

from torch import nn

import reference
from reference._validation import checked, instance_check, spec_check


class EarlyStopping:
    """Call :meth:`step` after each epoch with its loss; it answers whether to stop."""

    @checked(spec_check(reference.callbacks.EarlyStopping), "EarlyStopping")
    def __init__(self, patience: int = 0, min_delta: float = 0.0,
                 restore_best_weights: bool = False) -> None:
        self.patience, self.min_delta = patience, min_delta
        self.restore_best_weights = restore_best_weights
        self.best, self.wait, self.best_state = math.inf, 0, None

    def step(self, loss: float, model: nn.Module) -> bool:
        self.wait += 1
        if loss < self.best - self.min_delta:
            self.best, self.wait = loss, 0
            if self.restore_best_weights:
                self.best_state = copy.deepcopy(model.state_dict())
            return False
        return self.wait >= self.patience

    def restore(self, model: nn.Module) -> None:
        if self.best_state is not None:
            model.load_state_dict(self.best_state)


@checked(instance_check("early_stopping", reference.callbacks.EarlyStopping,
                         "a reference.callbacks.EarlyStopping"))
def from_reference(early_stopping: reference.callbacks.EarlyStopping) -> EarlyStopping:
    """The loop's early stopping with the spec object's settings."""
    return EarlyStopping(early_stopping.patience, early_stopping.min_delta,
                         early_stopping.restore_best_weights)
