"""Bidirectional against an outside oracle: the literal values of Keras's own tests
(keras-team/keras, keras/src/layers/rnn/bidirectional_test.py at c559fa8), which build
each direction with constant initialisers (kernel 0.01, recurrent kernel 0.02, bias 0.03
unless said), on x = arange(24) as (2, 3, 4) or (2, 4, 3) in float32; Keras compares at
1e-5."""

from __future__ import annotations

import numpy as np
import pytest

from reference.sequences import GRU, LSTM, Bidirectional, SimpleRNN

KERAS = {"rtol": 1e-5, "atol": 1e-5}  # the tolerance of Keras's own assertions


def constant(layer, kernel: float = 0.01, recurrent: float = 0.02, bias: float = 0.03):
    """``layer`` with Keras's Constant initialisers' values; an LSTM's forget block of b
    stays 1 (Keras's ``unit_forget_bias=True`` replaces that block of any initialiser's)."""
    for name, value in (("W", kernel), ("U", recurrent), ("b", bias)):
        array = np.full(layer.parameters[name].shape, value)
        if name == "b" and isinstance(layer, LSTM):
            array[layer.units:2 * layer.units] = 1.0
        layer.set(name, array)
    return layer


def both_ways(layer, merge_mode: str = "concat", backward_layer=None) -> Bidirectional:
    wrapper = Bidirectional(layer, merge_mode=merge_mode, backward_layer=backward_layer)
    if backward_layer is None:  # Keras's copy is built from the same initialisers
        constant(wrapper.backward_layer)
        wrapper.set("backward_W", wrapper.backward_layer.parameters["W"])
        wrapper.set("backward_U", wrapper.backward_layer.parameters["U"])
        wrapper.set("backward_b", wrapper.backward_layer.parameters["b"])
    return wrapper


SEQUENCE_234 = np.arange(24, dtype=np.float32).reshape(2, 3, 4).astype(np.float64)
SEQUENCE_243 = np.arange(24, dtype=np.float32).reshape(2, 4, 3).astype(np.float64)


def test_simple_rnn_concat_matches_keras() -> None:
    layer = both_ways(constant(SimpleRNN(4, 2)))
    np.testing.assert_allclose(layer.forward(SEQUENCE_234),
                               [[0.39687276, 0.39687276, 0.10004295, 0.10004295],
                                [0.7237238, 0.7237238, 0.53391594, 0.53391594]], **KERAS)


def test_simple_rnn_ave_matches_keras() -> None:
    layer = both_ways(constant(SimpleRNN(4, 2)), "ave")
    np.testing.assert_allclose(layer.forward(SEQUENCE_234),
                               [[0.24845785, 0.24845785], [0.6288199, 0.6288199]], **KERAS)


def test_simple_rnn_mul_with_its_own_backward_layer_matches_keras() -> None:
    backward = constant(SimpleRNN(4, 2), kernel=0.03, recurrent=0.02, bias=0.01)
    layer = both_ways(constant(SimpleRNN(4, 2)), "mul", backward_layer=backward)
    np.testing.assert_allclose(layer.forward(SEQUENCE_234),
                               [[0.08374989, 0.08374989], [0.6740834, 0.6740834]], **KERAS)


def test_gru_sum_every_step_matches_keras() -> None:
    layer = both_ways(constant(GRU(4, 2, return_sequences=True)), "sum")
    np.testing.assert_allclose(layer.forward(SEQUENCE_234), [
        [[0.20937867, 0.20937867], [0.34462988, 0.34462988], [0.40290534, 0.40290534]],
        [[0.59829646, 0.59829646], [0.6734641, 0.6734641], [0.6479671, 0.6479671]]], **KERAS)


def test_gru_with_a_mask_matches_keras() -> None:
    layer = both_ways(constant(GRU(3, 2)))
    layer.mask = np.array([[True, True, False, True], [True, False, False, True]])
    np.testing.assert_allclose(layer.forward(SEQUENCE_243),
                               [[0.19393763, 0.19393763, 0.11669192, 0.11669192],
                                [0.30818558, 0.30818558, 0.28380975, 0.28380975]], **KERAS)


def test_lstm_output_and_each_directions_final_states_match_keras() -> None:
    layer = both_ways(constant(LSTM(3, 2)))
    np.testing.assert_allclose(layer.forward(SEQUENCE_243),
                               [[0.1990008, 0.1990008, 0.12659755, 0.12659755],
                                [0.52335435, 0.52335435, 0.44717982, 0.44717982]], **KERAS)
    (h1, c1), (h2, c2) = layer.forward_layer.final_state, layer.backward_layer.final_state
    np.testing.assert_allclose(h1, [[0.1990008, 0.1990008], [0.52335435, 0.52335435]], **KERAS)
    np.testing.assert_allclose(c1, [[0.35567185, 0.35567185], [1.0492687, 1.0492687]], **KERAS)
    np.testing.assert_allclose(h2, [[0.12659755, 0.12659755], [0.44717982, 0.44717982]],
                               **KERAS)
    np.testing.assert_allclose(c2, [[0.2501858, 0.2501858], [0.941473, 0.941473]], **KERAS)


def test_every_step_output_is_the_backward_layer_on_reversed_x_flipped_back() -> None:
    rng = np.random.default_rng(0)
    layer = Bidirectional(LSTM(3, 4, return_sequences=True, seed=1), seed=2)
    x = rng.standard_normal((2, 5, 3))
    y = layer.forward(x)
    backward = LSTM(3, 4, return_sequences=True)
    for name, value in layer.backward_layer.parameters.items():
        backward.set(name, value)
    np.testing.assert_array_equal(y[..., 4:], backward.forward(x[:, ::-1])[:, ::-1])


def test_a_masked_step_outputs_zero_in_both_directions_with_return_sequences() -> None:
    layer = Bidirectional(GRU(3, 2, return_sequences=True, seed=0), seed=1)
    layer.mask = np.array([[True, False, True]])
    y = layer.forward(np.ones((1, 3, 3)))
    assert np.all(y[0, 1] == 0) and np.all(y[0, [0, 2]] != 0)


def test_parameters_are_the_forward_layers_then_the_backward_layers() -> None:
    layer = Bidirectional(GRU(3, 2, seed=0), seed=1)
    assert list(layer.parameters) == ["forward_W", "forward_U", "forward_b",
                                      "backward_W", "backward_U", "backward_b"]
    assert layer.parameters["backward_b"].shape == (2, 6)  # reset_after=True's two rows


def test_a_value_set_on_the_wrapper_reaches_its_layer() -> None:
    layer = Bidirectional(SimpleRNN(1, 1, seed=0), seed=1)
    layer.set("backward_W", np.array([[0.0]]))
    layer.set("backward_U", np.array([[0.0]]))
    layer.set("backward_b", np.array([0.5]))
    assert layer.forward(np.ones((1, 2, 1)))[0, 1] == pytest.approx(np.tanh(0.5))


def test_a_merge_mode_outside_the_four_is_refused() -> None:
    with pytest.raises(ValueError, match="Bidirectional: merge_mode must be one of"):
        Bidirectional(LSTM(3, 2), merge_mode=None)


def test_a_backward_layer_of_another_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="backward_layer must be a LSTM configured as"):
        Bidirectional(LSTM(3, 2), backward_layer=LSTM(3, 5))
    with pytest.raises(TypeError, match="wraps a SimpleRNN, LSTM or GRU"):
        Bidirectional(object())
