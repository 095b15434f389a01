"""Parity of the registry's ``schedules`` concepts: η at every step.

The spec computes η_t as the framework does (``convention``: torch's recursion in Python
floats, Keras's closed form in float32); torch's scheduler is stepped once per batch, as
a Keras schedule moves, and read from the optimizer's ``lr``; a Keras schedule is called
at t = 0, 1, …, the value of ``optimizer.iterations`` it sees. The fit cases of
``training`` run the same schedules through whole trainings.
"""

from __future__ import annotations

import numpy as np

from parity_tests.report import Recorder
from reference import registry


def run_schedule(concept: registry.Concept, data: dict, rng: np.random.Generator, fw,
                 check: Recorder) -> None:
    schedule, steps = data["schedule"], data["steps"]
    expected = schedule.learning_rates(steps, fw.convention)
    check.compare("η at every step", "weight trajectory", _RATES[fw.name](fw, schedule, steps),
                  expected)


def _torch_rates(fw, schedule, steps: int) -> np.ndarray:
    torch = fw.torch
    parameter = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=schedule.initial_learning_rate)
    scheduler = fw.impl.schedules.from_reference(schedule, optimizer)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()  # once per batch
    return np.array(rates)


def _tf_rates(fw, schedule, steps: int) -> np.ndarray:
    keras_schedule = fw.impl.schedules.from_reference(schedule)
    return np.array([float(keras_schedule(t)) for t in range(steps)])


_RATES = {"torch": _torch_rates, "tf": _tf_rates}
