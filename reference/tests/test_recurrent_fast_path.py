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


def _lstm_backward_by_hand(x, W, U, b, g, mask, h0, c0):
    """BPTT of the LSTM written from its equations, batch-major, one step at a time:
    (dL/dx, dW, dU, db, dL/dh0, dL/dc0) for the upstream g of every step's output."""
    steps, H = x.shape[1], U.shape[0]
    sigma = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    hs, cs, gates = [h0], [c0], []
    for t in range(steps):
        z = x[:, t] @ W + hs[-1] @ U + b
        i, f, c_hat, o = sigma(z[:, :H]), sigma(z[:, H:2 * H]), np.tanh(z[:, 2 * H:3 * H]), \
            sigma(z[:, 3 * H:])
        c = f * cs[-1] + i * c_hat
        h = o * np.tanh(c)
        keep = mask[:, t, None]
        hs.append(np.where(keep, h, hs[-1]))
        cs.append(np.where(keep, c, cs[-1]))
        gates.append((i, f, c_hat, o))
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    dx = np.zeros_like(x)
    dh_next, dc_next = np.zeros_like(h0), np.zeros_like(c0)
    for t in reversed(range(steps)):
        i, f, c_hat, o = gates[t]
        keep = mask[:, t, None]
        dh = g[:, t] + dh_next
        tanh_c = np.tanh(f * cs[t] + i * c_hat)
        dc = np.where(keep, dh * o * (1.0 - tanh_c**2) + dc_next, dc_next)
        dz = np.concatenate([dc * c_hat * i * (1 - i), dc * cs[t] * f * (1 - f),
                             dc * i * (1 - c_hat**2), dh * tanh_c * o * (1 - o)], axis=1)
        dz = np.where(keep, dz, 0.0)
        dW += x[:, t].T @ dz
        dU += hs[t].T @ dz
        db += dz.sum(axis=0)
        dx[:, t] = dz @ W.T
        dh_next = np.where(keep, dz @ U.T, dh)
        dc_next = np.where(keep, dc * f, dc)
    return dx, dW, dU, db, dh_next, dc_next


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
def test_lstm_backward_equals_bptt_from_its_equations(masked) -> None:
    """The feature-major loop ((4H, N) per step) and the whole-sequence sums give the
    step-by-step BPTT's numbers, initial states and a mask included."""
    rng = np.random.default_rng(4)
    n, steps, d, H = 3, 6, 2, 5
    layer = LSTM(d, H, return_sequences=True, seed=5)
    layer.set("b", rng.uniform(-0.5, 0.5, 4 * H))
    x, g = rng.standard_normal((n, steps, d)), rng.standard_normal((n, steps, H))
    h0, c0 = rng.standard_normal((n, H)), rng.standard_normal((n, H))
    mask = rng.random((n, steps)) > 0.4 if masked else np.ones((n, steps), bool)
    layer.initial_state, layer.mask = (h0, c0), (mask if masked else None)
    layer.forward(x)
    dx = layer.backward(g)
    expected = _lstm_backward_by_hand(x, *layer.params, g, mask, h0, c0)
    found = (dx, layer.gradients["W"], layer.gradients["U"], layer.gradients["b"],
             *layer.initial_state_gradients)
    for name, got, want in zip(("dx", "dW", "dU", "db", "dh0", "dc0"), found, expected,
                               strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("return_sequences", [True, False], ids=["sequences", "last"])
def test_lstm_in_float32_computes_float64s_numbers_in_float32(return_sequences) -> None:
    """float32 stays float32 through the loop (no upcast), to float32's rounding."""
    rng = np.random.default_rng(6)
    layers = {dtype: LSTM(4, 8, return_sequences=return_sequences, seed=7, dtype=dtype)
              for dtype in ("float32", "float64")}
    x = rng.standard_normal((5, 9, 4))
    found = {}
    for dtype, layer in layers.items():
        y = layer.forward(x.astype(dtype))
        dx = layer.backward(np.ones_like(y))
        found[dtype] = (y, dx, *(layer.gradients[k] for k in ("W", "U", "b")),
                        *layer.initial_state_gradients, *layer.final_state)
    for got, want in zip(found["float32"], found["float64"], strict=True):
        assert got.dtype == np.float32 and got.flags.c_contiguous
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
