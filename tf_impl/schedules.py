"""The spec's learning-rate schedules as ``keras.optimizers.schedules``.

A Keras schedule is passed as the optimizer's ``learning_rate`` and evaluated at
``optimizer.iterations``, so η moves with every batch (torch's schedulers move at each
``scheduler.step()``). It evaluates its closed form in float32, the dtype of
``convert_to_tensor`` of a Python float, even for float64 weights: η₀ r^(t/k) for
``ExponentialDecay``, v_i for b_{i−1} < t ≤ b_i for ``PiecewiseConstantDecay`` (η changes
after step b), and ``CosineDecay`` holds α η₀ once t passes k.
"""

from __future__ import annotations

import keras

import reference
from reference._validation import checked, spec_check


@checked(spec_check(reference.schedules.ExponentialDecay))
def ExponentialDecay(initial_learning_rate: float, decay_steps: int, decay_rate: float,
                     staircase: bool = False) -> keras.optimizers.schedules.ExponentialDecay:
    """η₀ r^(t/k), or η₀ r^⌊t/k⌋ with ``staircase``."""
    return keras.optimizers.schedules.ExponentialDecay(initial_learning_rate, decay_steps,
                                                       decay_rate, staircase=staircase)


@checked(spec_check(reference.schedules.PiecewiseConstantDecay))
def PiecewiseConstantDecay(boundaries: list[int], values: list[float]
                           ) -> keras.optimizers.schedules.PiecewiseConstantDecay:
    """v₀ for t ≤ b₀, v_i for b_{i−1} < t ≤ b_i, the last value after the last boundary."""
    return keras.optimizers.schedules.PiecewiseConstantDecay(list(boundaries), list(values))


@checked(spec_check(reference.schedules.CosineDecay))
def CosineDecay(initial_learning_rate: float, decay_steps: int,
                alpha: float = 0.0) -> keras.optimizers.schedules.CosineDecay:
    """η₀ ((1 − α)(1 + cos(π min(t, k)/k))/2 + α)."""
    return keras.optimizers.schedules.CosineDecay(initial_learning_rate, decay_steps,
                                                  alpha=alpha)


def from_reference(schedule: object) -> keras.optimizers.schedules.LearningRateSchedule:
    """The Keras schedule of a spec schedule (``reference.schedules``)."""
    spec = reference.schedules
    if isinstance(schedule, spec.ExponentialDecay):
        return ExponentialDecay(schedule.initial_learning_rate, schedule.decay_steps,
                                schedule.decay_rate, schedule.staircase)
    if isinstance(schedule, spec.PiecewiseConstantDecay):
        return PiecewiseConstantDecay(list(schedule.boundaries), list(schedule.values))
    if isinstance(schedule, spec.CosineDecay):
        return CosineDecay(schedule.initial_learning_rate, schedule.decay_steps, schedule.alpha)
    raise TypeError(f"from_reference: schedule must be a reference.schedules object "
                    f"(ExponentialDecay, PiecewiseConstantDecay, CosineDecay), got "
                    f"{type(schedule).__name__}")
