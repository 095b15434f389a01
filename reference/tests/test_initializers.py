"""Initialisers, checked statistically: support, mean, variance, and the whole distribution.

Each test draws tens of thousands of numbers from a fixed seed, so it is deterministic;
the bounds are 5 standard errors (or the Kolmogorov-Smirnov statistic's 1e-6 quantile),
so a correct initialiser would fail them with any seed only with negligible chance,
while a wrong limit (Glorot's √(6/(in+out)) for torch's 1/√in, say) is far outside.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import ndtr

from reference import initializers

SHAPE = (300, 200)  # (fan_in, fan_out): 60 000 draws


def _rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


def ks_statistic(sample: np.ndarray, cdf) -> float:
    """sup |F_n(x) − F(x)|, the Kolmogorov-Smirnov distance to the distribution F."""
    x = np.sort(sample.ravel())
    n, f = x.size, cdf(x)
    return float(max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n)))


def ks_bound(n: int) -> float:
    """The KS statistic exceeds √(ln(2/α)/(2n)) with probability below α = 1e-6."""
    return math.sqrt(math.log(2 / 1e-6) / (2 * n))


def assert_uniform(sample: np.ndarray, limit: float) -> None:
    n = sample.size
    assert np.all(np.abs(sample) <= limit)
    assert np.max(np.abs(sample)) > 0.999 * limit  # the whole interval is used
    # U(−a, a): mean 0, variance a²/3, with Var(x²) = 4a⁴/45.
    assert abs(sample.mean()) < 5 * limit / math.sqrt(3 * n)
    assert abs(np.mean(sample**2) - limit**2 / 3) < 5 * math.sqrt(4 * limit**4 / 45 / n)
    assert ks_statistic(sample, lambda x: (x + limit) / (2 * limit)) < ks_bound(n)


def test_glorot_uniform_limit_is_sqrt_6_over_fan_in_plus_fan_out() -> None:
    sample = initializers.glorot_uniform(SHAPE, _rng())
    assert sample.shape == SHAPE
    assert_uniform(sample, math.sqrt(6 / 500))


def test_torch_linear_default_limit_is_1_over_sqrt_fan_in() -> None:
    sample = initializers.torch_linear_default(SHAPE, _rng())
    assert_uniform(sample, 1 / math.sqrt(300))


def test_torch_linear_default_bias_takes_its_layers_fan_in() -> None:
    bias = initializers.torch_linear_default((60_000,), _rng(), fan_in=300)
    assert_uniform(bias, 1 / math.sqrt(300))
    with pytest.raises(ValueError, match="fan_in"):
        initializers.torch_linear_default((5,), _rng())


def test_the_two_defaults_differ_for_note004s_first_layer() -> None:
    # nn.Linear(3, 5): ±1/√3 = ±0.577; keras Dense(5) on 3 inputs: ±√(6/8) = ±0.866.
    torch_like = initializers.torch_linear_default((3, 5), _rng())
    keras_like = initializers.glorot_uniform((3, 5), _rng())
    assert np.max(np.abs(torch_like)) <= 1 / math.sqrt(3) < np.max(np.abs(keras_like)) <= \
        math.sqrt(6 / 8)


def test_normal_mean_and_stddev() -> None:
    sample = initializers.normal(SHAPE, _rng(), mean=0.5, stddev=0.05)
    n = sample.size
    assert abs(sample.mean() - 0.5) < 5 * 0.05 / math.sqrt(n)
    # Var(s²) ≈ 2σ⁴/n for a normal sample.
    assert abs(sample.var() - 0.05**2) < 5 * math.sqrt(2 / n) * 0.05**2
    cdf = lambda x: ndtr((x - 0.5) / 0.05)  # noqa: E731
    assert ks_statistic(sample, cdf) < ks_bound(n)


def test_normal_defaults_to_the_standard_normal() -> None:
    sample = initializers.normal(SHAPE, _rng())
    assert ks_statistic(sample, ndtr) < ks_bound(sample.size)


def test_zeros() -> None:
    np.testing.assert_array_equal(initializers.zeros((4, 3)), np.zeros((4, 3)))


def test_a_seed_reproduces_a_draw_and_dtype_is_kept() -> None:
    for init in (initializers.glorot_uniform, initializers.torch_linear_default,
                 initializers.normal):
        first = init((4, 3), np.random.default_rng(1), np.float32)
        again = init((4, 3), np.random.default_rng(1), np.float32)
        other = init((4, 3), np.random.default_rng(2), np.float32)
        assert first.dtype == np.float32
        np.testing.assert_array_equal(first, again)
        assert not np.array_equal(first, other)
