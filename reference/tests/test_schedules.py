"""The spec's learning-rate schedules: the closed forms by hand, and how torch's
recursion and Keras's float32 part from them."""

from __future__ import annotations

import numpy as np
import pytest

from reference.optimizers import SGD
from reference.schedules import CosineDecay, ExponentialDecay, PiecewiseConstantDecay


def test_exponential_decay_by_hand_with_and_without_staircase() -> None:
    smooth = ExponentialDecay(0.1, 2, 0.5).learning_rates(5, "torch")
    stairs = ExponentialDecay(0.1, 2, 0.5, staircase=True).learning_rates(5, "torch")
    np.testing.assert_allclose(smooth, 0.1 * 0.5 ** (np.arange(5) / 2), rtol=1e-15)
    np.testing.assert_array_equal(stairs, [0.1, 0.1, 0.05, 0.05, 0.025])


def test_piecewise_keeps_a_value_up_to_and_including_its_boundary() -> None:
    rates = PiecewiseConstantDecay((1, 3), (0.1, 0.05, 0.025)).learning_rates(5, "keras")
    np.testing.assert_allclose(rates, [0.1, 0.1, 0.05, 0.05, 0.025], rtol=1e-7)


def test_cosine_reaches_alpha_eta_and_stays_under_keras_climbs_back_under_torch() -> None:
    schedule = CosineDecay(0.1, 4, alpha=0.1)
    keras, torch = schedule.learning_rates(9, "keras"), schedule.learning_rates(9, "torch")
    closed = 0.1 * (0.9 * (1 + np.cos(np.pi * np.minimum(np.arange(9), 4) / 4)) / 2 + 0.1)
    np.testing.assert_allclose(keras, closed, rtol=1e-7)
    np.testing.assert_allclose(torch[:5], closed[:5], rtol=1e-15)
    assert torch[8] == pytest.approx(0.1, rel=1e-14) and keras[8] == pytest.approx(0.01, rel=1e-7)


def test_keras_computes_in_float32_so_its_eta_is_a_float32_number() -> None:
    rates = ExponentialDecay(0.1, 3, 0.9).learning_rates(6, "keras")
    np.testing.assert_array_equal(rates, rates.astype(np.float32))
    assert rates[0] == float(np.float32(0.1)) != 0.1


def test_torch_recursion_parts_from_the_closed_form_in_the_last_bits() -> None:
    """ExponentialLR multiplies by γ = r^(1/k) each step: rounding accumulates, a few ulps
    after a dozen steps; the spec follows the recursion, not the formula."""
    torch = ExponentialDecay(0.1, 3, 0.9).learning_rates(12, "torch")
    closed = 0.1 * 0.9 ** (np.arange(12) / 3)
    np.testing.assert_allclose(torch, closed, rtol=1e-14)
    assert not np.array_equal(torch, closed)


def test_a_schedule_drives_the_spec_optimizer_step_by_step() -> None:
    """With plain SGD and a zero-mean gradient of 1, the weight moves by η_t each step."""
    schedule = PiecewiseConstantDecay((0, 1), (0.5, 0.25, 0.125))
    params, optimizer = [np.zeros(1)], SGD(schedule)
    state = optimizer.init(params)
    moves = []
    for _ in range(3):
        before = params[0].copy()
        optimizer.step(params, [np.ones(1)], state)
        moves.append(float(before[0] - params[0][0]))
    assert moves == [0.5, 0.25, 0.125]


@pytest.mark.parametrize(("make", "message"), [
    (lambda: ExponentialDecay(0.1, 0, 0.5), "decay_steps must be a positive"),
    (lambda: PiecewiseConstantDecay((3, 1), (0.1, 0.2, 0.3)), "increasing boundaries"),
    (lambda: PiecewiseConstantDecay((1,), (0.1,)), "one value more"),
    (lambda: CosineDecay(0.1, 5, alpha=2.0), "alpha must be a finite number in"),
])
def test_bad_schedules_are_refused_by_name(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make()
