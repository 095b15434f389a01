"""The spec's sequence layers: what backpropagation through time does, checked as a reader
would check it (finite differences, gradients over long sequences, masks, indices)."""

from __future__ import annotations

import numpy as np
import pytest

from reference import fit, optimizers, registry
from reference.gradcheck import gradient_error, numerical_gradient
from reference.layers import Dense
from reference.networks import Sequential
from reference.sequences import GRU, LSTM, Embedding, SimpleRNN, TimeDistributed

RECURRENT = [pytest.param(SimpleRNN, {}, id="SimpleRNN"), pytest.param(LSTM, {}, id="LSTM"),
             pytest.param(GRU, {}, id="GRU"),
             pytest.param(GRU, {"reset_after": False}, id="GRU-reset_before")]


def _sum_of_outputs_gradients(layer, x: np.ndarray, g: np.ndarray):
    """F = Σ g ⊙ layer(x): the analytic dF/dx and dF/d(initial states), and F itself."""
    layer.forward(x)
    dx = layer.backward(g)
    return dx, layer.initial_state_gradients, lambda: float(np.sum(g * layer.forward(x)))


@pytest.mark.parametrize(("kind", "options"), RECURRENT)
def test_the_gradient_of_the_initial_state_matches_finite_differences(kind, options) -> None:
    rng = np.random.default_rng(0)
    layer = kind(3, 4, return_sequences=True, seed=1, **options)
    x = rng.standard_normal((2, 5, 3))
    states = tuple(rng.standard_normal((2, 4)) for _ in range(layer.state_count))
    layer.initial_state = states
    g = rng.standard_normal((2, 5, 4))
    _, analytic, _ = _sum_of_outputs_gradients(layer, x, g)
    for j, state in enumerate(states):
        def f(value: np.ndarray, j: int = j) -> float:
            layer.initial_state = tuple(value if k == j else s for k, s in enumerate(states))
            return float(np.sum(g * layer.forward(x)))
        assert gradient_error(analytic[j], numerical_gradient(f, state)) < 1e-7


@pytest.mark.parametrize(("kind", "options"), RECURRENT)
def test_a_masked_sequence_differentiates_like_finite_differences(kind, options) -> None:
    rng = np.random.default_rng(1)
    layer = kind(3, 4, seed=2, **options)
    layer.mask = np.array([[True, True, False, True, False], [True, False, False, True, True]])
    x, g = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 4))
    dx, _, _ = _sum_of_outputs_gradients(layer, x, g)
    assert gradient_error(dx, numerical_gradient(
        lambda v: float(np.sum(g * layer.forward(v))), x)) < 1e-7


@pytest.mark.parametrize(("kind", "options"), RECURRENT)
def test_a_masked_step_carries_the_state_over(kind, options) -> None:
    layer = kind(3, 4, return_sequences=True, seed=3, **options)
    layer.mask = np.array([[True, False, True]])
    y = layer.forward(np.random.default_rng(2).standard_normal((1, 3, 3)))
    np.testing.assert_array_equal(y[0, 1], y[0, 0])
    assert not np.allclose(y[0, 2], y[0, 1])


@pytest.mark.parametrize(("kind", "options"), RECURRENT)
def test_the_last_step_output_is_the_last_row_of_the_sequence_output(kind, options) -> None:
    x = np.random.default_rng(3).standard_normal((2, 4, 3))
    every = kind(3, 4, return_sequences=True, seed=4, **options).forward(x)
    last = kind(3, 4, seed=4, **options)
    np.testing.assert_array_equal(last.forward(x), every[:, -1])
    np.testing.assert_array_equal(last.final_state[0], every[:, -1])


# ── Vanishing gradients ───────────────────────────────────────────────────────────────


def _initial_state_gradient_norms(layer, lengths: list[int]) -> list[float]:
    """‖dL/dh_0‖ for L = Σ h_T (the last output), one long random sequence cut to each
    length: how much of the loss's gradient reaches the first state."""
    x = np.random.default_rng(5).standard_normal((8, max(lengths), layer.in_features))
    layer.initial_state = tuple(np.zeros((8, layer.units)) for _ in range(layer.state_count))
    norms = []
    for steps in lengths:
        out = layer.forward(x[:, -steps:])
        layer.backward(np.ones_like(out))
        norms.append(float(np.linalg.norm(layer.initial_state_gradients[0])))
    return norms


def test_a_tanh_rnn_gradient_vanishes_geometrically_with_the_sequence_length() -> None:
    rnn = SimpleRNN(4, 16, seed=0)
    rnn.set("U", 0.5 * rnn.parameters["U"])  # orthogonal U scaled: ‖Uᵀ‖ = 0.5 per step
    norms = _initial_state_gradient_norms(rnn, [1, 10, 20, 40])
    # each step multiplies by Uᵀ diag(1 − h²): at most 0.5, so 10 steps lose 2¹⁰ ≈ 1e3
    assert norms[1] < norms[0] * 0.5**10 and norms[2] < norms[1] * 0.5**10
    assert norms[3] < 1e-15 * norms[0]


def test_sigmoid_gates_vanish_too_but_the_lstm_cell_path_keeps_more() -> None:
    lstm = LSTM(4, 16, seed=0)
    norms = _initial_state_gradient_norms(lstm, [1, 20, 40])
    assert norms[2] < norms[1] < norms[0]
    rnn = SimpleRNN(4, 16, seed=0)
    rnn.set("U", 0.5 * rnn.parameters["U"])
    assert norms[2] > 1e6 * _initial_state_gradient_norms(rnn, [40])[0]


# ── Embedding ─────────────────────────────────────────────────────────────────────────


def test_an_embedding_looks_rows_up_and_its_gradient_adds_each_lookup() -> None:
    table = Embedding(5, 2, seed=0)
    x = np.array([[1, 3, 1]])
    np.testing.assert_array_equal(table.forward(x)[0], table.parameters["embeddings"][[1, 3, 1]])
    assert table.backward(np.ones((1, 3, 2))) is None  # indices have no gradient
    np.testing.assert_array_equal(table.gradients["embeddings"][:, 0], [0, 2, 0, 1, 0])


def test_padding_idx_freezes_its_row_and_mask_zero_masks_the_next_layer() -> None:
    frozen = Embedding(4, 2, padding_idx=0, seed=0)
    frozen.forward(np.array([[0, 2, 0]]))
    frozen.backward(np.ones((1, 3, 2)))
    np.testing.assert_array_equal(frozen.gradients["embeddings"][0], [0, 0])
    model = Sequential([Embedding(4, 2, mask_zero=True), LSTM(2, 3)], input_shape=(3,))
    model.forward(np.array([[2, 0, 1]]))
    np.testing.assert_array_equal(model.layers[1].mask, [[True, False, True]])


def test_a_model_taking_indices_refuses_floats_and_keeps_integers() -> None:
    model = Sequential([Embedding(4, 2), LSTM(2, 3)], input_shape=(3,))
    with pytest.raises(TypeError, match="Sequential: input x must hold integer indices, got "
                                        "dtype float64"):
        model.forward(np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"Embedding\(4, 2\): input x \(indices\) must lie in "
                                         r"\[0, 3\]"):
        model.forward(np.array([[0, 4, 1]]))
    assert model.as_input(np.array([[1, 2, 3]], np.int32)).dtype == np.int32


def test_time_distributed_is_the_dense_layer_at_every_step() -> None:
    dense = Dense(3, 2, "tanh", seed=0)
    x = np.random.default_rng(6).standard_normal((2, 4, 3))
    y = TimeDistributed(dense).forward(x)
    np.testing.assert_array_equal(y[:, 2], Dense(3, 2, "tanh", seed=0).forward(x[:, 2]))


def test_the_gru_reset_gate_before_or_after_the_product_gives_different_numbers() -> None:
    after, before = GRU(3, 4, seed=0), GRU(3, 4, reset_after=False, seed=0)
    after.set("b", np.zeros((2, 12)))
    x = np.random.default_rng(7).standard_normal((1, 5, 3))
    assert np.abs(after.forward(x) - before.forward(x)).max() > 1e-3


def test_the_character_model_learns_its_text() -> None:
    rng = np.random.default_rng(0)
    X, Y = registry.char_sequences(32, 25, rng)
    model = registry.char_model(np.dtype(np.float64), seed=1)
    history = fit(model, X, Y, loss="sparse_categorical_cross_entropy_with_logits",
                  optimizer=optimizers.Adam(0.01), epochs=10, batch_size=8)
    assert history.loss[0] > 0.99 * np.log(40)  # uniform guessing at first
    assert history.loss[-1] < 0.8 * history.loss[0]


def test_sequence_models_round_trip_through_weight_files(tmp_path) -> None:
    from reference import load_weights, save_weights
    model = Sequential([Embedding(6, 4, mask_zero=True), GRU(4, 3, reset_after=False,
                                                           return_sequences=True),
                        TimeDistributed(Dense(3, 5))], input_shape=(7,), seed=0)
    save_weights(model, tmp_path / "sequence.npz")
    loaded = load_weights(tmp_path / "sequence.npz")
    assert [layer.config() for layer in loaded.layers] == [layer.config()
                                                           for layer in model.layers]
    x = np.random.default_rng(8).integers(0, 6, (2, 7))
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))


def test_a_new_embedding_starts_its_padding_row_at_zeros_and_no_other() -> None:
    table = Embedding(6, 3, padding_idx=2, seed=0).parameters["embeddings"]
    np.testing.assert_array_equal(table[2], np.zeros(3))
    assert np.all(np.delete(table, 2, axis=0) != 0.0)
