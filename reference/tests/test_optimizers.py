"""Gradient descent (note 002) and the optimizers, with the frameworks' differences in numbers."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from reference.optimizers import SGD, Adam, AdamW, gradient_descent, keras_rounded


def _quadratic_slope(x: np.ndarray) -> np.ndarray:
    return 2.0 * (x - 2.0)  # f(x) = (x − 2)², f'(x) = 2(x − 2)


def test_note002_iterates_from_4() -> None:
    # x₁ = 4 − 0.01·2·(4 − 2) = 3.96, x₂ = 3.96 − 0.01·2·1.96 = 3.9208,
    # x₃ = 3.9208 − 0.01·2·1.9208 = 3.882384 (note 002 prints them rounded: 3.92, 3.88).
    iterates = gradient_descent(_quadratic_slope, x0=4.0, learning_rate=0.01, precision=1e-4,
                                max_iters=1000)
    np.testing.assert_allclose(iterates[:4], [4.0, 3.96, 3.9208, 3.882384], rtol=1e-15)


def test_note002_iterates_from_0() -> None:
    # 0 → 0.04 → 0.0792 → 0.117616 (printed as 0.079 and 0.117 in note 002).
    iterates = gradient_descent(_quadratic_slope, x0=0.0, learning_rate=0.01, precision=1e-4,
                                max_iters=3)
    np.testing.assert_allclose(iterates, [0.0, 0.04, 0.0792, 0.117616], rtol=1e-14)


def test_every_iterate_is_2_plus_2_times_098_to_the_k() -> None:
    # x_{k+1} − 2 = (x_k − 2) − 0.02 (x_k − 2) = 0.98 (x_k − 2), and x₀ − 2 = 2.
    iterates = gradient_descent(_quadratic_slope, 4.0, 0.01, 1e-4, 1000)
    k = np.arange(len(iterates))
    np.testing.assert_allclose(iterates, 2.0 + 2.0 * 0.98**k, rtol=1e-13)


def test_stopping_rule_step_below_precision() -> None:
    # Step k has size 0.04 · 0.98^(k−1); the first one ≤ 1e-4 has 0.98^(k−1) ≤ 0.0025,
    # i.e. k − 1 ≥ log(0.0025)/log(0.98) = 296.6: k = 298 steps, 299 iterates.
    iterates = gradient_descent(_quadratic_slope, 4.0, 0.01, 1e-4, 1000)
    assert len(iterates) == 299
    steps = np.abs(np.diff(iterates))
    assert steps[-1] <= 1e-4 < steps[-2]


def test_stopping_rule_iteration_cap() -> None:
    assert len(gradient_descent(_quadratic_slope, 4.0, 0.01, 1e-12, max_iters=5)) == 6


def test_finds_the_minimum_at_9_over_4_of_the_function_in_note002s_code() -> None:
    # The comment in note 002's code belongs to f(x) = x⁴ − 3x³ + 2 (f' = 4x³ − 9x²,
    # zero at x = 9/4), not to (x − 2)², whose minimum is 2.
    iterates = gradient_descent(lambda x: 4.0 * x**3 - 9.0 * x**2, 6.0, 0.01, 1e-6, 10_000)
    assert iterates[1] == pytest.approx(6.0 - 0.01 * (4 * 216 - 9 * 36))  # = 0.6
    assert iterates[-1] == pytest.approx(9 / 4, abs=1e-4)


def test_keras_convention_rounds_the_learning_rate_through_float32() -> None:
    torch_run = gradient_descent(_quadratic_slope, 4.0, 0.01, 1e-4, 1, convention="torch")
    keras_run = gradient_descent(_quadratic_slope, 4.0, 0.01, 1e-4, 1, convention="keras")
    assert keras_rounded(0.01) == 0.009999999776482582
    assert torch_run[1] == 3.96
    assert keras_run[1] == 4.0 - 0.009999999776482582 * 4.0  # 3.9600000008940697


def _run(optimizer, gradients: list[float], p0: float = 0.0) -> list[float]:
    """One scalar parameter through the optimizer; the value after each step."""
    p = np.array([p0])
    state, values = optimizer.init([p]), []
    for g in gradients:
        optimizer.step([p], [np.array([g])], state)
        values.append(float(p[0]))
    return values


def test_sgd_step_by_hand() -> None:
    assert _run(SGD(learning_rate=0.1), [0.5], p0=1.0) == [0.95]


def test_momentum_forms_agree_while_the_learning_rate_is_constant() -> None:
    # g = 1 each step, μ = 0.5, η = 0.25 (exact in binary): torch b = 1, 1.5, 1.75;
    # p = −0.25, −0.625, −1.0625. Keras v = −0.25, −0.375, −0.4375: the same p.
    torch_form, keras_form = (SGD(0.25, momentum=0.5, convention=c) for c in ("torch", "keras"))
    assert _run(torch_form, [1.0] * 3) == _run(keras_form, [1.0] * 3) == [-0.25, -0.625, -1.0625]


def test_momentum_forms_part_when_the_learning_rate_changes() -> None:
    # Two steps at η = 0.1 (p = −0.1, −0.29 in both), then η = 0.01 with μ = 0.9, g = 1:
    # torch's buffer b = 2.71 holds no η: p = −0.29 − 0.01·2.71 = −0.3171;
    # Keras's velocity v = 0.9·(−0.19) − 0.01 = −0.181 still carries η = 0.1: p = −0.471.
    results = {}
    for convention in ("torch", "keras"):
        fast = SGD(0.1, momentum=0.9, convention=convention)
        p, state = [np.zeros(1)], fast.init([np.zeros(1)])
        for optimizer in (fast, fast, replace(fast, learning_rate=0.01)):
            optimizer.step(p, [np.ones(1)], state)
        results[convention] = float(p[0][0])
    assert results["torch"] == pytest.approx(-0.3171, abs=1e-12)
    assert results["keras"] == pytest.approx(-0.471, abs=1e-6)  # μ, η rounded to float32


def test_nesterov_first_step_by_hand() -> None:
    # torch: b = g = 1, p = −0.1 · (1 + 0.9 · 1) = −0.19; Keras: v = −0.1,
    # p = 0.9 · (−0.1) − 0.1 = −0.19.
    for convention in ("torch", "keras"):
        optimizer = SGD(0.1, momentum=0.9, nesterov=True, convention=convention)
        assert _run(optimizer, [1.0]) == [pytest.approx(-0.19, abs=1e-8)]


def test_adam_epsilon_defaults() -> None:
    assert Adam().epsilon == 1e-8
    assert Adam(convention="keras").epsilon == 1e-7
    assert replace(Adam(), convention="keras").epsilon == 1e-8  # a value, once resolved


def test_adam_epsilon_placement_in_numbers() -> None:
    # First step from m = v = 0: m = (1 − β₁) g, v = (1 − β₂) g², c_k = 1 − β_k.
    # torch: η (m/c₁) / (√(v/c₂) + ε) = η g / (|g| + ε).
    # Keras: η (√c₂/c₁) m / (√v + ε) = η g / (|g| + ε/√c₂): ε acts √1000 ≈ 31.6 times larger.
    # For g = 1e-6: torch moves η · 1e-6 / (1e-6 + 1e-8) = 0.990 η; Keras, with its own
    # ε = 1e-7, η · 1e-6 / (1e-6 + 3.16e-6) = 0.240 η; with ε = 1e-8, 0.760 η.
    eta, g = 0.01, 1e-6
    torch_step = -_run(Adam(eta), [g])[0] / eta
    keras_step = -_run(Adam(eta, convention="keras"), [g])[0] / eta
    keras_same_eps = -_run(Adam(eta, epsilon=1e-8, convention="keras"), [g])[0] / eta
    # (Keras's float32 β₂ = 0.99900001287 moves √c₂ by 6e-6 relative: rel=1e-5 below.)
    assert torch_step == pytest.approx(1e-6 / (1e-6 + 1e-8), rel=1e-12)
    assert keras_step == pytest.approx(1e-6 / (1e-6 + 1e-7 / math.sqrt(1e-3)), rel=1e-5)
    assert keras_same_eps == pytest.approx(1e-6 / (1e-6 + 1e-8 / math.sqrt(1e-3)), rel=1e-5)
    assert (round(torch_step, 3), round(keras_step, 3), round(keras_same_eps, 3)) == \
        (0.99, 0.24, 0.76)


def test_adam_conventions_nearly_agree_when_gradients_dwarf_epsilon() -> None:
    # With |g| ~ 1, √v ~ 0.03 at step 1: Keras's ε/√c₂ = 3e-6 shifts the step by 1e-5,
    # its float32 β₂ by 6e-6, so the runs agree to about 3e-5, not to float64 precision.
    gradients = [0.3, -1.2, 0.7, 2.0, -0.4]
    torch_run = np.array(_run(Adam(0.01), gradients))
    keras_run = np.array(_run(Adam(0.01, convention="keras"), gradients))
    relative_gap = np.max(np.abs(keras_run - torch_run) / np.abs(torch_run))
    assert 1e-6 < relative_gap < 1e-4


def test_keras_rounds_hyperparameters_through_float32() -> None:
    assert keras_rounded(0.999) == 0.9990000128746033
    assert keras_rounded(0.9) == 0.8999999761581421
    assert keras_rounded(0.5) == 0.5  # dyadic values are exact


def test_l2_and_decoupled_decay_agree_for_plain_sgd() -> None:
    # p − η(g + λp) = p − ηg − ηλp: the same step for SGD without momentum.
    coupled = _run(SGD(0.1, weight_decay=0.5), [0.2, -0.3], p0=1.0)
    decoupled = _run(SGD(0.1, weight_decay=0.5, decoupled_weight_decay=True), [0.2, -0.3],
                     p0=1.0)
    np.testing.assert_allclose(decoupled, coupled, rtol=1e-15)
    assert coupled[0] == pytest.approx(1.0 - 0.1 * (0.2 + 0.5))


def test_l2_and_decoupled_decay_differ_for_adam() -> None:
    # With g = 0 and p = 1, λ = 0.1: L2 gives Adam the gradient λp = 0.1, which Adam
    # normalises to a full step of η: p = 1 − 0.001 · 0.1/(0.1 + 1e-8) ≈ 0.999.
    # Decoupled decay shrinks p by ηλp = 1e-4 outside Adam, whose own step is 0: 0.9999.
    coupled = _run(Adam(0.001, weight_decay=0.1), [0.0], p0=1.0)[0]
    decoupled = _run(AdamW(0.001, weight_decay=0.1), [0.0], p0=1.0)[0]
    assert coupled == pytest.approx(1.0 - 0.001 * 0.1 / (0.1 + 1e-8), rel=1e-12)
    assert decoupled == pytest.approx(0.9999, rel=1e-15)


def test_adamw_default_decay_per_convention() -> None:
    assert AdamW().weight_decay == 0.01
    assert AdamW(convention="keras").weight_decay == 0.004
    assert AdamW().decoupled_weight_decay


def test_float32_parameters_stay_float32() -> None:
    p = [np.ones(3, np.float32)]
    for optimizer in (SGD(0.1, momentum=0.9), Adam(0.01), AdamW(0.01, convention="keras")):
        state = optimizer.init(p)
        optimizer.step(p, [np.full(3, 0.5, np.float32)], state)
        assert p[0].dtype == np.float32


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="nesterov"):
        SGD(0.1, nesterov=True)
    with pytest.raises(ValueError, match="convention"):
        Adam(convention="jax")
    with pytest.raises(ValueError, match="gradient 0"):
        SGD().step([np.zeros(3)], [np.zeros(2)], SGD().init([np.zeros(3)]))
