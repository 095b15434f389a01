"""Sequences of any length: a spec Input with a None axis (Keras's ``Input(shape=(None,))``)
runs one model on every length, reaches Keras (an Input of shape (None, …)) and torch
with its numbers at each, reads back from Keras with the None kept, and the layers that
need the length fixed refuse it by name, saying what to do."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch

import reference
import tf_impl
import torch_impl
from parity_tests.tolerances import tolerance
from reference.sequences import (
    GRU,
    LSTM,
    Bidirectional,
    Embedding,
    MultiHeadAttention,
    TimeDistributed,
)

LENGTHS = (5, 13)  # two lengths, one model
VOCABULARY = 30


def _close(actual: np.ndarray, expected: np.ndarray, kind: str = "output") -> None:
    tol = tolerance(expected.dtype, kind)
    assert tol.error(actual, expected) <= tol.rtol, tol.error(actual, expected)


def _recurrent() -> reference.Model:
    """Token ids of any length → Embedding → Bidirectional LSTM (every step) →
    Bidirectional GRU (its last step) → a sigmoid Dense: keras.io's IMDB classifier in
    small."""
    tokens = reference.Input((None,), name="tokens")
    h = Embedding(VOCABULARY, 6, name="embedding")(tokens)
    h = Bidirectional(LSTM(6, 4, return_sequences=True), name="lstm")(h)
    h = Bidirectional(GRU(8, 3), name="gru")(h)
    return reference.Model(tokens, reference.Dense(6, 1, "sigmoid", name="out")(h), seed=1)


def _attention() -> reference.Model:
    """Vectors of any length → self-attention, a residual Add, LayerNorm, Dropout, a Dense
    at every step: one output per step."""
    x = reference.Input((None, 8), name="x")
    attended = MultiHeadAttention(8, 2, name="attention")(x)
    h = reference.LayerNormalization(8, name="norm")(reference.Add(name="residual")(
        [x, attended]))
    h = reference.Dropout(0.1, name="dropout")(h)
    return reference.Model(x, TimeDistributed(reference.Dense(8, 2, "relu"), name="ffn")(h),
                           seed=2)


def _pooled() -> reference.Model:
    """Token ids of any length → Embedding → a Dense at every step → the mean over time
    → a Dense."""
    tokens = reference.Input((None,), name="tokens")
    h = TimeDistributed(reference.Dense(6, 4, "tanh"), name="step")(
        Embedding(VOCABULARY, 6, name="embedding")(tokens))
    h = reference.GlobalAveragePooling1D(name="pool")(h)
    return reference.Model(tokens, reference.Dense(4, 2, name="out")(h), seed=3)


def _batch(model: reference.Model, length: int) -> np.ndarray:
    rng = np.random.default_rng(length)
    if model.input_kind(model.inputs[0]) == "indices":
        return rng.integers(0, VOCABULARY, (3, length))
    return rng.standard_normal((3, length, 8))


@pytest.mark.parametrize("build", [_recurrent, _attention, _pooled])
def test_one_spec_model_takes_two_lengths_and_keras_and_torch_agree_at_each(build) -> None:
    spec = build()
    keras_model = tf_impl.from_reference(spec)
    module = torch_impl.from_reference(spec).eval()
    for length in LENGTHS:
        x = _batch(spec, length)
        expected = spec.forward(x)
        _close(keras_model(x, training=False).numpy(), expected)
        _close(module(torch.from_numpy(x)).detach().numpy(), expected)


@pytest.mark.parametrize("length", LENGTHS)
def test_the_gradients_of_a_model_of_any_length_agree_with_keras_at_each_length(length) -> None:
    spec = _recurrent()
    keras_model = tf_impl.from_reference(spec)
    x = _batch(spec, length)
    upstream = np.random.default_rng(0).standard_normal((3, 1))
    spec.forward(x)
    spec.backward(upstream)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(upstream * keras_model(x))
    found = tf_impl.convert.gradients_to_reference(
        keras_model, tape.gradient(loss, keras_model.trainable_variables), spec)
    for name, expected in spec.gradients.items():
        for parameter, value in expected.items():
            _close(found[name][parameter], value, "gradient")


def test_keras_gets_an_input_of_any_length_and_the_spec_reads_the_none_back() -> None:
    keras_model = tf_impl.from_reference(_recurrent())
    assert tuple(keras_model.inputs[0].shape) == (None, None)
    assert tf_impl.to_reference(keras_model).input_shape == (None,)  # a chain: a Sequential


def test_a_keras_sequential_of_any_length_reads_as_a_spec_sequential_and_back() -> None:
    model = keras.Sequential([keras.Input((None,), dtype="int32"),
                              keras.layers.Embedding(VOCABULARY, 4),
                              keras.layers.GRU(3), keras.layers.Dense(2)])
    spec = tf_impl.to_reference(model)
    assert spec.input_shape == (None,)
    assert tuple(tf_impl.from_reference(spec).input_shape) == (None, None)
    for length in LENGTHS:
        x = np.random.default_rng(length).integers(0, VOCABULARY, (2, length))
        _close(spec.forward(x), model(x).numpy())


def _sequence() -> reference.graphs.SymbolicTensor:
    return Embedding(VOCABULARY, 4, name="embedding")(reference.Input((None,), name="tokens"))


@pytest.mark.parametrize(("make", "kind"), [
    (lambda: reference.Flatten(name="flat"), "Flatten"),
    (lambda: reference.Reshape((-1,), name="flat"), "Reshape"),
    (lambda: reference.Conv1D(4, 2, 3, name="flat"), "Conv1D"),
])
def test_a_layer_that_needs_the_length_refuses_a_sequence_of_any_length_by_name(
        make, kind) -> None:
    with pytest.raises(ValueError, match=rf"^flat: called on output of 'embedding' \(N, None, "
                                         rf"4\), which it cannot take: a {kind} needs every size "
                                         r"of its input known.*fix the length \(Input"):
        make()(_sequence())


def test_a_dense_over_the_axis_of_any_length_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"^over_time: called on Input 'x' \(N, None\), which "
                                         r"it cannot take: a Dense needs every size"):
        reference.Dense(5, 2, name="over_time")(reference.Input((None,), name="x"))


def test_a_concatenation_along_the_axis_of_any_length_is_refused_by_name() -> None:
    h = _sequence()
    with pytest.raises(ValueError, match=r"^joined: .*cannot concatenate along axis 1, a "
                                         r"sequence of any length"):
        reference.Concatenate(axis=1, name="joined")([h, h])


def test_a_spec_sequential_of_any_length_refuses_a_flatten_naming_the_layer() -> None:
    with pytest.raises(ValueError, match=r"layer 1 \(Flatten\) cannot take them: Flatten: a "
                                         r"Flatten needs every size"):
        reference.Sequential([Embedding(VOCABULARY, 4), reference.Flatten()],
                             input_shape=(None,))


@pytest.mark.parametrize("make", [
    _recurrent,
    lambda: reference.Sequential([Embedding(VOCABULARY, 4), GRU(4, 3)], input_shape=(None,),
                                 seed=4),
], ids=["graph", "Sequential"])
def test_a_model_of_any_length_saves_and_loads_its_weights(make, tmp_path) -> None:
    model = make()
    reference.weights.save_weights(model, tmp_path / "m.npz")
    loaded = reference.weights.load_weights(tmp_path / "m.npz")
    x = _batch(model, LENGTHS[1]) if isinstance(model, reference.Model) else \
        np.random.default_rng(0).integers(0, VOCABULARY, (2, LENGTHS[1]))
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))


@pytest.mark.parametrize("build", [_recurrent, _attention, _pooled])
def test_torch_reads_a_graph_of_any_length_back_with_the_none_kept(build) -> None:
    spec = build()
    module = torch_impl.from_reference(spec).eval()
    back = torch_impl.to_reference(module, input_shapes=[spec.inputs[0].shape])
    assert back.inputs[0].shape == spec.inputs[0].shape and None in back.inputs[0].shape
    for length in LENGTHS:
        x = _batch(spec, length)
        _close(back.forward(x), module(torch.from_numpy(x)).detach().numpy())


def test_torch_reads_a_sequential_of_any_length_back_with_the_none_kept() -> None:
    spec = reference.Sequential([Embedding(VOCABULARY, 4), GRU(4, 3)], input_shape=(None,),
                                seed=4)
    back = torch_impl.to_reference(torch_impl.from_reference(spec), input_shape=(None,))
    assert back.input_shape == (None,)
    x = np.random.default_rng(0).integers(0, VOCABULARY, (2, LENGTHS[1]))
    np.testing.assert_array_equal(back.forward(x), spec.forward(x))


def test_a_single_torch_input_shape_may_hold_none() -> None:
    """``input_shapes=(None,)`` is the one input's shape, as ``(5,)`` is."""
    module = torch_impl.from_reference(_pooled())
    assert torch_impl.to_reference(module, input_shapes=(None,)).inputs[0].shape == (None,)
