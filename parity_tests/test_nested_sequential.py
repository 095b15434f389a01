"""A ``keras.Sequential`` holding nested models (a Sequential and a functional block, as a
user stacks a pretrained backbone and a head): flattened as a functional model's nested
models are (``tf_impl.graphs.flatten``), read by ``tf_impl.to_reference`` as a chain with
its weights, its gradients read back, and ported."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

import nn_rosetta
import reference
import tf_impl
from parity_tests.tolerances import tolerance

L = keras.layers


def _outer_sequential() -> keras.Sequential:
    """Sequential[Input, Sequential[Dense, Dense], functional[Dense], Dense]: the nested
    Sequential's second Dense and the outer Dense share the name ``fc``."""
    keras.utils.set_random_seed(3)
    backbone = keras.Sequential([L.Dense(6, activation="tanh", name="hidden", dtype="float64"),
                                 L.Dense(5, activation="relu", name="fc", dtype="float64")],
                                name="backbone")
    u = keras.Input((5,), dtype="float64")
    block = keras.Model(u, L.Dense(4, activation="sigmoid", name="gate", dtype="float64")(u),
                        name="block")
    return keras.Sequential([keras.Input((3,), dtype="float64"), backbone, block,
                             L.Dense(2, name="fc", dtype="float64")], name="outer")


def _close(actual: np.ndarray, expected: np.ndarray, kind: str = "output") -> None:
    tol = tolerance(np.float64, kind)
    assert tol.error(actual, expected) <= tol.rtol, tol.error(actual, expected)


def test_an_outer_sequential_flattens_into_a_model_of_its_layers_with_its_numbers() -> None:
    model = _outer_sequential()
    flat = tf_impl.graphs.flatten(model)
    x = np.random.default_rng(0).standard_normal((4, 3))
    assert [layer.name for layer in flat.layers[1:]] == ["hidden", "backbone_fc", "gate", "fc"]
    np.testing.assert_array_equal(flat(x).numpy(), model(x).numpy())


def test_an_outer_sequential_reaches_the_spec_as_a_chain_with_its_numbers() -> None:
    model = _outer_sequential()
    spec = tf_impl.to_reference(model)
    x = np.random.default_rng(1).standard_normal((4, 3))
    assert isinstance(spec, reference.Sequential)
    assert [(layer.in_features, layer.out_features) for layer in spec.layers] == [
        (3, 6), (6, 5), (5, 4), (4, 2)]
    _close(spec.forward(x), model(x).numpy())


def test_an_outer_sequentials_gradients_come_back_from_its_nested_layers() -> None:
    model = _outer_sequential()
    spec = tf_impl.to_reference(model)
    x = np.random.default_rng(2).standard_normal((4, 3))
    upstream = np.random.default_rng(3).standard_normal((4, 2))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(upstream * model(tf.constant(x)))
    found = tf_impl.convert.gradients_to_reference(
        model, tape.gradient(loss, model.trainable_variables))
    spec.forward(x)
    spec.backward(upstream)
    assert len(found) == len(spec.layers)
    for keras_grads, spec_grads in zip(found, spec.gradients, strict=True):
        assert set(keras_grads) == set(spec_grads)
        for name, value in spec_grads.items():
            _close(keras_grads[name], value, "gradient")


def test_an_outer_sequential_ports_flattened_within_the_tolerance() -> None:
    result = nn_rosetta.port(_outer_sequential(), np.random.default_rng(4).standard_normal(
        (3, 3)))
    assert result.report.first_divergence is None, str(result.report)
    assert [row.layer for row in result.report.layers][:4] == ["hidden", "backbone_fc",
                                                                "gate", "fc"]
