r"""Learning-rate schedules: η as a function of the step t (the number of updates before
this one), under Keras's names.

=======================  ================================  ==================================
spec / Keras             η_t                               torch, scheduler.step() per batch
=======================  ================================  ==================================
ExponentialDecay         η₀ · r^(t/k)                      ExponentialLR(γ = r^(1/k))
  staircase=True         η₀ · r^⌊t/k⌋                      StepLR(step_size=k, γ = r)
PiecewiseConstantDecay   v_i for b_{i−1} < t ≤ b_i         MultiStepLR(milestones = b_i + 1,
                                                           γ = v_{i+1}/v_i), for geometric v
CosineDecay              η₀ ((1 − α) c_t + α),             CosineAnnealingLR(T_max = k,
                         c_t = (1 + cos(π min(t,k)/k))/2   eta_min = α η₀)
=======================  ================================  ==================================

The conventions differ in more than names:

* when: a Keras schedule is a function of ``optimizer.iterations``, so η moves every
  batch; a torch scheduler moves once per ``scheduler.step()``, which torch code
  conventionally calls once per epoch. The bridge steps it once per batch.
* how: torch updates η recursively from the last value (η_t = γ η_{t−1}; the cosine by
  the ratio of consecutive cosines), in Python floats; Keras evaluates the closed form in
  float32 (its ``convert_to_tensor`` of a Python float), even for float64 weights.
  ``convention=`` reproduces either to the last bit: the recursion's rounding for
  ``"torch"``, float32 (with a correctly rounded cosine and power, as TF's) for ``"keras"``.
* boundaries: Keras's piecewise schedule switches after step b (t ≤ b keeps v₀), torch's
  MultiStepLR at milestone m, so the milestone is b + 1.
* past the end: Keras's CosineDecay stays at α η₀ after k steps; torch's
  CosineAnnealingLR keeps following the cosine, back up towards η₀ over the next k.

Shape: ``learning_rates(steps)``: (steps,), η for the updates t = 0, …, steps − 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from reference._validation import FLOAT32_MAX, as_flag, check_count, check_memory, check_real

CONVENTIONS = ("torch", "keras")
_f32 = np.float32


def _check_convention(where: str, convention: object) -> None:
    if not isinstance(convention, str) or convention not in CONVENTIONS:
        raise ValueError(f"{where}: convention must be one of {CONVENTIONS}, got "
                         f"{convention!r}")


def _check_steps(where: str, steps: object) -> None:
    """A number of updates: an integer ≥ 0 whose rates fit in memory (torch's recursion
    walks every step up to it)."""
    check_count(where, "steps", steps, 0)
    # each rate is a Python float in a list (8 bytes of pointer, 24 of float object), then
    # 8 bytes in the array made of it: 8 a step undercounted 2**31 rates by 70 GB
    check_memory(where, f"{steps} learning rates", 40 * steps)


def _check_decay_steps(where: str, decay_steps: object) -> None:
    if isinstance(decay_steps, bool | np.bool_) or \
            not isinstance(decay_steps, int | np.integer) or decay_steps < 1:
        raise ValueError(f"{where}: decay_steps must be a positive integer (a count of "
                         f"updates), got {decay_steps!r}")


def _positive(where: str, **values: float) -> None:
    """Each value finite and > 0, and within float32's range: Keras computes a schedule in
    float32, where 1e300 is inf (the spec's Keras convention warned "overflow encountered
    in cast", TF's mirror said "Can't convert Python sequence with a value out of range")."""
    for what, value in values.items():
        check_real(where, what, value, 0.0, low_open=True)
        if float(value) > FLOAT32_MAX:  # a float16 compared with it overflowed
            raise ValueError(f"{where}: {what} must be at most {FLOAT32_MAX!r} (Keras "
                             f"computes the schedule in float32), got {value!r}")


class _Schedule:
    """What the schedules share: η_t by convention, for one step or a run of them."""

    def learning_rates(self, steps: int, convention: str = "torch") -> np.ndarray:
        """η for the updates t = 0, …, steps − 1, as ``convention``'s framework computes it."""
        where = f"{type(self).__name__}.learning_rates"
        _check_steps(where, steps)
        _check_convention(where, convention)
        if convention == "keras":
            return np.array([float(self._keras(t)) for t in range(steps)])
        rates, eta = [], float(self.initial_learning_rate)
        for t in range(steps):
            eta = eta if t == 0 else self._torch_next(t, eta)
            rates.append(eta)
        return np.array(rates)

    def __call__(self, step: int, convention: str = "torch") -> float:
        """η for the update after ``step`` updates: Keras's formula at ``step`` directly;
        torch's recursion through every step before it (so ``learning_rates``' memory
        check applies: step = 2**31 walked a loop of 2**31 Python steps)."""
        check_count(type(self).__name__, "step", step, 0)
        _check_convention(type(self).__name__, convention)
        if convention == "keras":
            return float(self._keras(int(step)))
        return float(self.learning_rates(step + 1, convention)[-1])

    initial_learning_rate: float  # η₀, the optimizer's learning rate in torch

    def _keras(self, t: int) -> np.float32:
        raise NotImplementedError

    def _torch_next(self, t: int, eta: float) -> float:
        raise NotImplementedError


@dataclass(frozen=True)
class ExponentialDecay(_Schedule):
    """η_t = η₀ · r^(t/k), or η₀ · r^⌊t/k⌋ with ``staircase`` (Keras's ExponentialDecay;
    torch's ExponentialLR(γ = r^(1/k)) or StepLR(k, r) stepped per batch)."""

    initial_learning_rate: float
    decay_steps: int
    decay_rate: float
    staircase: bool = False

    def __post_init__(self) -> None:
        _positive("ExponentialDecay", initial_learning_rate=self.initial_learning_rate,
                  decay_rate=self.decay_rate)
        _check_decay_steps("ExponentialDecay", self.decay_steps)
        as_flag("ExponentialDecay", "staircase", self.staircase)

    def _keras(self, t: int) -> np.float32:
        p = _f32(t) / _f32(self.decay_steps)
        p = np.floor(p) if self.staircase else p
        # TF's float32 pow is correctly rounded (NumPy's float32 power is 1 ulp off in
        # about one case in six), and TF flushes a subnormal result to zero
        power = _f32(np.float64(_f32(self.decay_rate)) ** np.float64(p))
        power = power if power >= np.finfo(_f32).tiny else _f32(0.0)
        return _f32(self.initial_learning_rate) * power

    def _torch_next(self, t: int, eta: float) -> float:
        if self.staircase:  # StepLR: γ = r every k steps
            return eta * self.decay_rate if t % self.decay_steps == 0 else eta
        return eta * self.decay_rate ** (1 / self.decay_steps)  # ExponentialLR's γ


@dataclass(frozen=True)
class PiecewiseConstantDecay(_Schedule):
    """η_t = v₀ for t ≤ b₀, v_i for b_{i−1} < t ≤ b_i, the last v after the last b
    (Keras's PiecewiseConstantDecay; torch's MultiStepLR(milestones b_i + 1, γ) when each
    v is γ times the one before)."""

    boundaries: tuple[int, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        where = "PiecewiseConstantDecay"
        for what, given in (("boundaries", self.boundaries), ("values", self.values)):
            if not isinstance(given, list | tuple | np.ndarray) or \
                    (isinstance(given, np.ndarray) and given.ndim != 1):  # a 0-d array: len()
                raise TypeError(f"{where}: {what} must be a list or tuple, got {given!r}")
        for i, boundary in enumerate(self.boundaries):  # steps: whole numbers
            check_count(where, f"boundaries[{i}]", boundary, 0)
        if len(self.values) != len(self.boundaries) + 1 or \
                list(self.boundaries) != sorted(set(self.boundaries)):
            raise ValueError(f"PiecewiseConstantDecay: needs increasing boundaries and one "
                             f"value more than boundaries, got {self.boundaries}, {self.values}")
        _positive("PiecewiseConstantDecay", **{f"values[{i}]": v
                                               for i, v in enumerate(self.values)})

    @property
    def gamma(self) -> float:
        """torch's γ: the ratio of the second value to the first (the values must be geometric
        for MultiStepLR; ``torch_impl.schedules`` checks)."""
        return self.values[1] / self.values[0]

    @property
    def initial_learning_rate(self) -> float:
        """η₀ = v₀."""
        return float(self.values[0])

    def _keras(self, t: int) -> np.float32:
        return _f32(self.values[int(np.searchsorted(self.boundaries, t, side="left"))])

    def _torch_next(self, t: int, eta: float) -> float:
        milestones = [b + 1 for b in self.boundaries]
        return eta * self.gamma ** milestones.count(t) if t in milestones else eta


@dataclass(frozen=True)
class CosineDecay(_Schedule):
    """η_t = η₀ ((1 − α) (1 + cos(π min(t, k)/k))/2 + α) (Keras's CosineDecay without
    warm-up; torch's CosineAnnealingLR(T_max = k, eta_min = α η₀) for t ≤ k)."""

    initial_learning_rate: float
    decay_steps: int
    alpha: float = 0.0

    def __post_init__(self) -> None:
        _positive("CosineDecay", initial_learning_rate=self.initial_learning_rate)
        _check_decay_steps("CosineDecay", self.decay_steps)
        check_real("CosineDecay", "alpha", self.alpha, 0.0, 1.0)

    @property
    def eta_min(self) -> float:
        """torch's floor, α η₀."""
        return self.alpha * self.initial_learning_rate

    def _keras(self, t: int) -> np.float32:
        fraction = min(_f32(t), _f32(self.decay_steps)) / _f32(self.decay_steps)
        cosine = _f32(np.cos(np.float64(_f32(math.pi) * fraction)))  # TF's is correctly rounded
        decayed = _f32(1 - self.alpha) * (_f32(0.5) * (_f32(1.0) + cosine)) + _f32(self.alpha)
        return _f32(self.initial_learning_rate) * decayed

    def _torch_next(self, t: int, eta: float) -> float:
        k, low = self.decay_steps, self.eta_min
        if (t - 1 - k) % (2 * k) == 0:  # torch's branch at the cosine's trough
            return eta + (self.initial_learning_rate - low) * (1 - math.cos(math.pi / k)) / 2
        return (1 + math.cos(math.pi * t / k)) / (1 + math.cos(math.pi * (t - 1) / k)) * \
            (eta - low) + low


SCHEDULES = (ExponentialDecay, PiecewiseConstantDecay, CosineDecay)
