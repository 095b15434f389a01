"""Learning-rate schedules as torch and Keras run them: each difference shown in the
frameworks themselves (the registry's schedule and fit cases show the bridged agreement)."""

from __future__ import annotations

import numpy as np
import pytest


def _torch_rates(torch, make_scheduler, steps: int, *, step_scheduler: bool = True) -> list:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    scheduler, rates = make_scheduler(optimizer), []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if step_scheduler:
            scheduler.step()
    return rates


def test_a_keras_schedule_moves_every_batch_a_torch_scheduler_only_when_stepped(
        torch, keras) -> None:
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5)
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    variable = keras.Variable(np.zeros(1))
    for _ in range(3):
        optimizer.apply_gradients([(np.zeros(1), variable)])
    assert float(optimizer.learning_rate) == pytest.approx(0.1 * 0.5**3)  # three batches on
    rates = _torch_rates(torch, lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.5), 4,
                         step_scheduler=False)  # stepped per epoch: not yet
    assert rates == [0.1] * 4


def test_keras_switches_after_the_boundary_torch_at_the_milestone(torch, keras) -> None:
    keras_rates = [float(keras.optimizers.schedules.PiecewiseConstantDecay([2], [0.1, 0.05])(t))
                   for t in range(4)]
    torch_rates = _torch_rates(
        torch, lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [2], gamma=0.5), 4)
    np.testing.assert_allclose(keras_rates, [0.1, 0.1, 0.1, 0.05], rtol=1e-7)
    np.testing.assert_allclose(torch_rates, [0.1, 0.1, 0.05, 0.05], rtol=1e-15)


def test_after_its_steps_keras_cosine_stays_down_torch_climbs_back(torch, keras) -> None:
    keras_rates = [float(keras.optimizers.schedules.CosineDecay(0.1, 4)(t)) for t in range(9)]
    torch_rates = _torch_rates(
        torch, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4), 9)
    np.testing.assert_allclose(keras_rates[4:], 0.0, atol=1e-9)
    np.testing.assert_allclose(torch_rates[:5], keras_rates[:5], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(torch_rates[8], 0.1, rtol=1e-12)  # a whole period later


def test_keras_evaluates_a_schedule_in_float32_torch_in_python_floats(torch, keras) -> None:
    assert keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5)(0).dtype == "float32"
    rates = _torch_rates(torch, lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.5), 2)
    assert rates == [0.1, 0.05]  # η₀ exactly, then η₀ γ


def test_tf_function_computes_the_float32_cosine_one_ulp_away_from_eager(keras) -> None:
    """Why the registry's cosine fit case runs TF eagerly: in a graph, TF's float32 cosine
    is another kernel, and at t = 3 of CosineDecay(0.01, 5, α = 0.1) one ulp apart."""
    import tensorflow as tf
    schedule = keras.optimizers.schedules.CosineDecay(0.01, 5, alpha=0.1)
    step = tf.Variable(3, dtype=tf.int64)
    eager, graph = float(schedule(step)), float(tf.function(lambda: schedule(step))())
    assert abs(eager - graph) == float(np.spacing(np.float32(min(eager, graph))))
