"""Training runs: schedules, one step by hand, and note 003's diverging loop."""

from __future__ import annotations

import numpy as np
import pytest

import reference
from reference import registry
from reference.optimizers import SGD
from reference.training import TrainingDiverged, batch_order, fit


def test_full_batch_is_one_batch_of_every_row_per_epoch() -> None:
    order = batch_order(6, None, epochs=3, seed=0)
    assert [len(epoch) for epoch in order] == [1, 1, 1]
    for (rows,) in order:
        assert sorted(rows) == list(range(6))


def test_mini_batches_cut_each_permutation_and_keep_the_last_short_one() -> None:
    order = batch_order(10, 4, epochs=2, seed=0)
    for epoch in order:
        assert [len(rows) for rows in epoch] == [4, 4, 2]
        assert sorted(np.concatenate(epoch)) == list(range(10))
    assert not np.array_equal(np.concatenate(order[0]), np.concatenate(order[1]))


def test_per_sample_with_no_seed_keeps_the_data_order() -> None:
    order = batch_order(4, 1, epochs=2, seed=None)
    assert [[int(r[0]) for r in epoch] for epoch in order] == [[0, 1, 2, 3], [0, 1, 2, 3]]


def test_one_seed_gives_one_order() -> None:
    first, again = batch_order(9, 2, 3, seed=7), batch_order(9, 2, 3, seed=7)
    assert all(np.array_equal(a, b) for e1, e2 in zip(first, again, strict=True)
               for a, b in zip(e1, e2, strict=True))


def _line(w: float, b: float) -> reference.Sequential:
    layer = reference.Dense(1, 1)
    layer.W, layer.b = np.array([[w]]), np.array([b])
    return reference.Sequential([layer])


def test_one_full_batch_step_by_hand() -> None:
    # ŷ = w x + b from w = b = 0 on x = (1, 2), y = (2, 4), MSE, η = 0.1:
    # L = (2² + 4²)/2 = 10; dL/dw = (2/2)(−2·1 − 4·2) = −10, dL/db = (2/2)(−2 − 4) = −6;
    # w = 0 + 0.1·10 = 1, b = 0 + 0.1·6 = 0.6.
    model = _line(0.0, 0.0)
    history = fit(model, np.array([[1.0], [2.0]]), np.array([[2.0], [4.0]]),
                  optimizer=SGD(0.1), epochs=1)
    assert history.loss == [10.0]
    np.testing.assert_allclose(model.layers[0].W, [[1.0]], rtol=1e-15)
    np.testing.assert_allclose(model.layers[0].b, [0.6], rtol=1e-15)


def test_history_has_one_loss_per_step() -> None:
    X, Y = np.zeros((10, 1)), np.zeros((10, 1))
    history = fit(_line(0.5, 0.5), X, Y, optimizer=SGD(0.1), epochs=3, batch_size=4)
    assert (history.epochs, history.steps_per_epoch, len(history.loss)) == (3, 3, 9)


def test_learning_a_line_lowers_the_loss() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (32, 1))
    model = _line(0.0, 0.0)
    history = fit(model, X, 3.0 * X - 1.0, optimizer=SGD(0.5), epochs=50, batch_size=8)
    assert history.loss[-1] < 1e-6 < history.loss[0]
    np.testing.assert_allclose([model.layers[0].W[0, 0], model.layers[0].b[0]], [3.0, -1.0],
                               atol=1e-3)


def test_note003_first_step_updates_weight_and_bias_from_one_forward_pass() -> None:
    # x = 2.9, y = 0 from w = b = 1, ½(ŷ − y)², η = 1e-4: ŷ − y = 3.9, so
    # w = 1 − 1e-4·3.9·2.9 = 0.998869 and b = 1 − 1e-4·3.9 = 0.99961. Note 003's loop
    # prints b = 0.99961032799: it recomputed ŷ with the weight it had just updated.
    model = _line(1.0, 1.0)
    fit(model, registry.NOTE_003_INPUTS[:1], registry.NOTE_003_TARGETS[:1],
        loss="half_mean_squared_error", optimizer=SGD(1e-4), epochs=1, batch_size=1, seed=None)
    assert model.layers[0].W[0, 0] == pytest.approx(0.998869, rel=1e-14)
    assert model.layers[0].b[0] == pytest.approx(0.99961, rel=1e-14)


def test_note003_loop_diverges_and_names_the_step() -> None:
    with pytest.raises(TrainingDiverged, match=r"step \d+ \(epoch \d+\)") as diverged:
        fit(_line(1.0, 1.0), registry.NOTE_003_INPUTS, registry.NOTE_003_TARGETS,
            loss="half_mean_squared_error", optimizer=SGD(1e-4), epochs=1000, batch_size=1,
            seed=None)
    losses = diverged.value.history.loss
    assert len(losses) == diverged.value.step - 1
    assert np.all(np.isfinite(losses))
    # The visits to x = 1000 (every 4th step) multiply w by about −99, the loss by 99².
    at_1000 = np.array(losses[3::4])
    np.testing.assert_allclose(at_1000[-5:] / at_1000[-6:-1], 99.0**2, rtol=1e-2)


def test_inputs_follow_the_dtype_policy() -> None:
    with pytest.raises(TypeError, match="float32"):
        fit(_line(0.0, 0.0), np.zeros((2, 1), np.float32), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="Y must have shape"):
        fit(_line(0.0, 0.0), np.zeros((2, 1)), np.zeros((3, 1)))
