"""Early stopping in the spec: the rule by hand, the registry's runs really stop, and the
one place the conventions compare differently."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from reference import Dense, Sequential, fit, registry
from reference.callbacks import EarlyStopping
from reference.optimizers import SGD


def _stops(stopping: EarlyStopping, losses: list[float]) -> int | None:
    """The 0-based epoch after which ``stopping`` ends a run with these epoch losses."""
    state, model = stopping.init(), Sequential([Dense(1, 1)])
    for epoch, value in enumerate(losses):
        if stopping.update(state, epoch, value, model):
            return epoch
    return None


def test_patience_counts_epochs_without_an_improvement_larger_than_min_delta() -> None:
    losses = [1.0, 0.9, 0.95, 0.89, 0.97, 0.5]  # 0.89 is not 0.02 better than 0.9
    assert _stops(EarlyStopping(patience=2, min_delta=0.02), losses) == 3
    assert _stops(EarlyStopping(patience=2), losses) is None  # 0.89 counts without min_delta
    assert _stops(EarlyStopping(patience=0), losses) == 2  # the first epoch that is worse


def test_keras_compares_in_float32_and_misses_a_tiny_improvement() -> None:
    losses = [0.3, 0.3 - 1e-9]
    assert _stops(EarlyStopping(convention="torch"), losses) is None
    assert _stops(EarlyStopping(convention="keras"), losses) == 1


@pytest.mark.parametrize("index", [0, 1])
def test_the_registry_runs_stop_early(index) -> None:
    case = registry.concept("EarlyStopping").cases[index]
    data = case.make(np.random.default_rng(0), np.dtype(np.float64), 5)
    model = copy.deepcopy(data["model"])
    history = fit(model, data["X"], data["Y"], loss=data["loss"], optimizer=data["optimizer"],
                  epochs=data["epochs"], batch_size=data["batch_size"], seed=data["seed"],
                  early_stopping=data["early_stopping"])
    assert history.stopped_epoch is not None and history.stopped_epoch < data["epochs"]


def test_the_best_weights_come_back_even_when_training_runs_to_the_end() -> None:
    """As Keras 3 does (tf.keras 2 restored only after an early stop). η = 2.5 overshoots,
    so the first epoch has the lowest loss: its weights (after its update) come back."""
    X, Y = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0], [-1.0]])
    after_one = Sequential([Dense(2, 1)], seed=0)
    fit(after_one, X, Y, optimizer=SGD(2.5), epochs=1)
    model = Sequential([Dense(2, 1)], seed=0)
    history = fit(model, X, Y, optimizer=SGD(2.5), epochs=3,
                  early_stopping=EarlyStopping(patience=5, restore_best_weights=True))
    assert history.stopped_epoch is None and history.loss[0] < min(history.loss[1:])
    np.testing.assert_array_equal(model.layers[0].W, after_one.layers[0].W)
