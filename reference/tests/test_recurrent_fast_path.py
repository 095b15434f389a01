"""The recurrent layers' fast path (time-first arrays, in-place accumulation) leaves the
caller's arrays alone and matches the step-by-step formulas."""

from __future__ import annotations

import numpy as np
import pytest

from reference.sequences import GRU, LSTM, SimpleRNN

KINDS = (SimpleRNN, LSTM, GRU)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(1, 4), (3, 1), (2, 3)], ids=["N=1", "T=1", "N=2,T=3"])
def test_backward_leaves_grad_output_and_x_unchanged(kind, shape) -> None:
    n, t = shape
    rng = np.random.default_rng(0)
    layer = kind(3, 4, return_sequences=True, seed=1)
    x = rng.standard_normal((n, t, 3))
    g = rng.standard_normal((n, t, 4))
    x_before, g_before = x.copy(), g.copy()
    layer.forward(x)
    layer.backward(g)
    np.testing.assert_array_equal(g, g_before)
    np.testing.assert_array_equal(x, x_before)


def _lstm_by_hand(x: np.ndarray, W: np.ndarray, U: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The LSTM's equations, one step and one sample at a time."""
    H = U.shape[0]
    sigma = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    out = np.empty((x.shape[0], x.shape[1], H))
    for n in range(x.shape[0]):
        h, c = np.zeros(H), np.zeros(H)
        for t in range(x.shape[1]):
            z = x[n, t] @ W + h @ U + b
            i, f, g, o = sigma(z[:H]), sigma(z[H:2 * H]), np.tanh(z[2 * H:3 * H]), sigma(z[3 * H:])
            c = f * c + i * g
            h = o * np.tanh(c)
            out[n, t] = h
    return out


def test_lstm_equals_its_equations_step_by_step() -> None:
    rng = np.random.default_rng(2)
    layer = LSTM(3, 4, return_sequences=True, seed=3)
    layer.set("b", rng.uniform(-0.5, 0.5, 16))
    x = rng.standard_normal((2, 5, 3))
    expected = _lstm_by_hand(x, *layer.params)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kind", KINDS)
def test_sigmoid_of_very_negative_preactivations_is_zero_without_a_warning(kind) -> None:
    layer = kind(1, 2, return_sequences=True, seed=0)
    layer.set("W", np.full_like(layer.params[0], 1e4))
    with np.errstate(all="raise"):
        y = layer.forward(np.full((1, 2, 1), -1.0))
    assert np.all(np.isfinite(y))
