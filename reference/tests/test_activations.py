"""The activations' claims, each checked the way a reader of the notes would check it."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from reference import activations

GRID = np.linspace(-6.0, 6.0, 121)


def test_sigmoid_matches_its_definition_point_by_point() -> None:
    expected = [1.0 / (1.0 + math.exp(-z)) for z in GRID]
    np.testing.assert_allclose(activations.sigmoid(GRID), expected, rtol=1e-15)


def test_sigmoid_derivative_is_sigma_times_one_minus_sigma_note_000() -> None:
    expected = [math.exp(-z) / (1.0 + math.exp(-z)) ** 2 for z in GRID]
    np.testing.assert_allclose(activations.sigmoid_derivative(GRID), expected, rtol=1e-13)


def test_tanh_is_a_scaled_sigmoid_note_002() -> None:
    np.testing.assert_allclose(activations.tanh(GRID), 2 * activations.sigmoid(2 * GRID) - 1,
                               atol=1e-15)


def test_tanh_derivative_is_one_minus_tanh_squared_note_000() -> None:
    expected = [1.0 / math.cosh(z) ** 2 for z in GRID]
    np.testing.assert_allclose(activations.tanh_derivative(GRID), expected, rtol=1e-13)


def test_relu_and_its_derivative_note_000() -> None:
    z = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(activations.relu(z), [0, 0, 0, 0.5, 2.0])
    np.testing.assert_array_equal(activations.relu_derivative(z), [0, 0, 0, 1, 1])


def test_leaky_relu_uses_its_slope_below_zero_and_at_the_kink() -> None:
    z = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(activations.leaky_relu(z, negative_slope=0.1), [-0.2, 0, 3])
    np.testing.assert_allclose(activations.leaky_relu_derivative(z, negative_slope=0.1),
                               [0.1, 0.1, 1])


def test_elu_is_alpha_times_expm1_below_zero_note_003() -> None:
    z = np.array([-3.0, -1.0, 2.0])
    expected = [0.5 * (math.exp(-3.0) - 1), 0.5 * (math.exp(-1.0) - 1), 2.0]
    np.testing.assert_allclose(activations.elu(z, alpha=0.5), expected, rtol=1e-15)


def test_step_is_zero_at_zero_and_has_no_gradient_notes_001_004() -> None:
    z = np.array([-1.0, 0.0, 1e-300, 4.0])
    np.testing.assert_array_equal(activations.step(z), [0, 0, 1, 1])
    np.testing.assert_array_equal(activations.step_derivative(z), [0, 0, 0, 0])


def test_softmax_is_a_probability_distribution_note_003() -> None:
    z = np.random.default_rng(0).standard_normal((4, 6)) * 5
    s = activations.softmax(z)
    assert np.all(s > 0)
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, rtol=1e-15)
    expected = np.array([[math.exp(v) for v in row] for row in z])
    np.testing.assert_allclose(s, expected / expected.sum(axis=-1, keepdims=True), rtol=1e-14)


def test_softmax_ignores_a_constant_shift() -> None:
    z = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(activations.softmax(z + 1000.0), activations.softmax(z),
                               rtol=1e-15)


def test_softmax_vjp_equals_the_full_jacobian_product() -> None:
    z, g = np.array([0.3, -1.2, 2.0]), np.array([0.5, -1.0, 2.0])
    s = activations.softmax(z)
    jacobian = np.diag(s) - np.outer(s, s)  # J_ij = s_i(δ_ij − s_j)
    np.testing.assert_allclose(activations.softmax_vjp(z, g), g @ jacobian, rtol=1e-14)


def test_softplus_derivative_is_the_sigmoid() -> None:
    expected = [math.log1p(math.exp(z)) for z in GRID]
    np.testing.assert_allclose(activations.softplus(GRID), expected, rtol=1e-15)
    np.testing.assert_array_equal(activations.softplus_derivative(GRID),
                                  activations.sigmoid(GRID))


def test_silu_is_z_times_sigmoid() -> None:
    expected = [z / (1.0 + math.exp(-z)) for z in GRID]
    np.testing.assert_allclose(activations.silu(GRID), expected, rtol=1e-14, atol=1e-300)


# GELU's tails: z·Φ(z) in 50-digit arithmetic (mpmath), independent of scipy's ndtr.
GELU_GRID = np.linspace(-12.0, 5.0, 1701)


def _gelu_exact(z: float) -> float:
    with mpmath.workdps(50):
        x = mpmath.mpf(float(z))
        return float(x * mpmath.ncdf(x))


def test_gelu_is_accurate_in_both_tails_in_float64() -> None:
    """½ z (1 + erf(z/√2)) cancels for z ≪ 0 (issue 10: −0.0 at z = −12 for −2.1e-32)."""
    expected = np.array([_gelu_exact(z) for z in GELU_GRID])
    np.testing.assert_allclose(activations.gelu(GELU_GRID), expected, rtol=1e-6, atol=0)


def test_gelu_is_within_a_few_ulps_in_float32() -> None:
    z = GELU_GRID.astype(np.float32)
    expected = np.array([_gelu_exact(v) for v in z])
    ulps = np.abs(activations.gelu(z) - expected) / np.spacing(np.abs(expected).astype(np.float32))
    assert np.max(ulps) <= 4


def test_gelu_derivative_is_phi_plus_z_times_density() -> None:
    expected = [float(mpmath.ncdf(z) + z * mpmath.npdf(z)) for z in GRID]
    np.testing.assert_allclose(activations.gelu_derivative(GRID), expected, rtol=1e-13,
                               atol=1e-300)


def test_gelu_tanh_form_is_the_frameworks_approximation_and_differs_from_the_exact() -> None:
    u = math.sqrt(2 / math.pi) * (GRID + 0.044715 * GRID**3)
    tanh_approximation = 0.5 * GRID * (1 + np.tanh(u))
    np.testing.assert_allclose(activations.gelu(GRID, approximate="tanh"), tanh_approximation,
                               rtol=1e-14, atol=1e-16)
    assert np.max(np.abs(activations.gelu(GRID) - tanh_approximation)) > 1e-4


def test_gelu_refuses_an_unknown_form() -> None:
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'erf'"):
        activations.gelu(GRID, approximate="erf")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", [n for n in activations.NAMES if n != "exponential"])
def test_extreme_inputs_stay_finite_without_warnings(name: str, dtype) -> None:
    """Pytest turns warnings into errors, so an overflow in exp would fail here."""
    z = np.array([[-1e4, -750.0, -88.0, -1.0, 0.0, 1.0, 88.0, 750.0, 1e4]], dtype=dtype)
    act = activations.get(name)
    out, grad = act(z), act.vjp(z, np.ones_like(z))
    assert out.dtype == dtype and grad.dtype == dtype
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(grad))


def test_saturated_sigmoid_keeps_its_tiny_values() -> None:
    """The stable form returns e^(−745)-sized values instead of rounding 1/(1 + e^745) to 0."""
    assert activations.sigmoid(np.array([-700.0]))[0] == pytest.approx(math.exp(-700.0),
                                                                      rel=1e-13)


def test_unknown_activation_names_the_choices() -> None:
    with pytest.raises(ValueError, match="choose one of"):
        activations.get("swishy")
    with pytest.raises(TypeError, match="takes no parameter"):
        activations.get("relu", alpha=0.1)


@pytest.mark.parametrize(("dtype", "last_finite"), [(np.float32, 88.0), (np.float64, 709.0)])
def test_exponential_is_inf_past_the_dtype_range_without_warnings(dtype, last_finite) -> None:
    """e^z has no finite value past ln(max float): inf there (as torch.exp and tf.exp give),
    finite below, and no NumPy overflow warning (pytest would raise it)."""
    z = np.array([-1e4, -750.0, 0.0, last_finite, last_finite + 1.0, 1e4], dtype=dtype)
    act = activations.get("exponential")
    out, grad = act(z), act.vjp(z, np.ones_like(z))
    assert out.dtype == grad.dtype == dtype
    np.testing.assert_array_equal(np.isinf(out), [False, False, False, False, True, True])
    np.testing.assert_array_equal(out, grad)  # (e^z)' = e^z
