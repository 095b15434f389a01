"""The spec's learning-rate schedules as ``torch.optim.lr_scheduler`` schedulers.

Each function takes the optimizer (whose ``lr`` is η₀) and the spec's arguments, and
returns torch's scheduler; ``from_reference`` builds one from a spec schedule object.

* Keras's schedules move with every batch; a torch scheduler moves at each
  ``scheduler.step()``, which torch code conventionally calls once per epoch. To follow a
  Keras schedule, call it after every ``optimizer.step()`` (``torch_impl.fit`` does).
* torch computes η recursively from the last value, in Python floats: ``ExponentialLR``
  multiplies by γ = r^(1/k) each step, where Keras evaluates η₀ r^(t/k) in float32.
* ``PiecewiseConstantDecay`` is ``MultiStepLR``, which multiplies η by γ at each
  milestone: Keras's boundary b (η changes after step b) is milestone b + 1, and the
  values must be geometric (v_{i+1} = γ v_i) for one γ to reproduce them.
* ``CosineDecay`` is ``CosineAnnealingLR(T_max=k, eta_min=α η₀)``, which after k steps
  climbs back towards η₀ where Keras's stays at α η₀.
"""

from __future__ import annotations

import torch
from torch.optim import lr_scheduler

import reference
from torch_impl._inputs import checked, schedule_start


@checked(schedule_start)
def ExponentialDecay(optimizer: torch.optim.Optimizer, initial_learning_rate: float,
                     decay_steps: int, decay_rate: float,
                     staircase: bool = False) -> lr_scheduler.LRScheduler:
    """η₀ r^(t/k): ``ExponentialLR(γ = r^(1/k))``; with ``staircase``, ``StepLR(k, r)``.

    ``initial_learning_rate`` must be the optimizer's ``lr``: torch starts from it.
    """
    if staircase:
        return lr_scheduler.StepLR(optimizer, step_size=decay_steps, gamma=decay_rate)
    return lr_scheduler.ExponentialLR(optimizer, gamma=decay_rate ** (1 / decay_steps))


@checked(schedule_start)
def PiecewiseConstantDecay(optimizer: torch.optim.Optimizer, boundaries: list[int],
                           values: list[float]) -> lr_scheduler.MultiStepLR:
    """v_i between boundaries: ``MultiStepLR`` at milestones b + 1, for geometric values."""
    gamma = values[1] / values[0]
    # Keras keeps v_i up to and including step b; MultiStepLR switches at the milestone
    return lr_scheduler.MultiStepLR(optimizer, milestones=[b + 1 for b in boundaries],
                                    gamma=gamma)


@checked(schedule_start)
def CosineDecay(optimizer: torch.optim.Optimizer, initial_learning_rate: float,
                decay_steps: int, alpha: float = 0.0) -> lr_scheduler.CosineAnnealingLR:
    """η₀ ((1 − α)(1 + cos(π t/k))/2 + α): ``CosineAnnealingLR(k, eta_min = α η₀)``."""
    return lr_scheduler.CosineAnnealingLR(optimizer, T_max=decay_steps,
                                          eta_min=alpha * initial_learning_rate)


def from_reference(schedule: object, optimizer: torch.optim.Optimizer
                   ) -> lr_scheduler.LRScheduler:
    """torch's scheduler of a spec schedule (``reference.schedules``), on ``optimizer``."""
    spec = reference.schedules
    if isinstance(schedule, spec.ExponentialDecay):
        return ExponentialDecay(optimizer, schedule.initial_learning_rate, schedule.decay_steps,
                                schedule.decay_rate, schedule.staircase)
    if isinstance(schedule, spec.PiecewiseConstantDecay):
        return PiecewiseConstantDecay(optimizer, list(schedule.boundaries),
                                      list(schedule.values))
    if isinstance(schedule, spec.CosineDecay):
        return CosineDecay(optimizer, schedule.initial_learning_rate, schedule.decay_steps,
                           schedule.alpha)
    raise TypeError(f"from_reference: schedule must be a reference.schedules object "
                    f"(ExponentialDecay, PiecewiseConstantDecay, CosineDecay), got "
                    f"{type(schedule).__name__}")

