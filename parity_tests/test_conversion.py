"""from_reference / to_reference: the spec's weights go to each framework and back exactly."""

from __future__ import annotations

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework
from parity_tests.tolerances import tolerance


def _model(dtype) -> reference.Sequential:
    model = reference.Sequential(
        [reference.Dense(3, 5, "sigmoid", dtype=dtype),
         reference.Dense(5, 4, reference.activations.get("leaky_relu", negative_slope=0.2),
                         dtype=dtype),
         reference.Dense(4, 2, "softmax", dtype=dtype)], seed=7)
    for layer in model.layers:
        layer.b = np.linspace(-1, 1, layer.out_features).astype(dtype)
    return model


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_round_trip_is_bit_exact(fw, dtype) -> None:
    """The weights come back bit for bit, and the model computes the same function (in
    Keras a slope the name "leaky_relu" does not give exactly is a layer of its own, which
    comes back as the spec's ReLU layer)."""
    spec = _model(dtype)
    back = fw.impl.to_reference(fw.impl.from_reference(spec))
    for (W, b), (W2, b2) in zip(spec.params, [p for p in back.params if p], strict=True):
        assert W2.dtype == W.dtype and b2.dtype == b.dtype
        np.testing.assert_array_equal(W2, W)
        np.testing.assert_array_equal(b2, b)
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(dtype)
    assert tolerance(dtype, "output").error(back.forward(x), spec.forward(x)) <= \
        tolerance(dtype, "output").rtol
    if fw.name == "torch" or dtype == np.float32:
        assert [layer.activation for layer in back.layers] == \
            [layer.activation for layer in spec.layers]


def test_torch_stores_the_transpose_and_keras_the_same_layout() -> None:
    spec = _model(np.float64)
    torch_module = framework("torch").impl.from_reference(spec)
    keras_model = framework("tf").impl.from_reference(spec)
    W = spec.layers[0].W  # (in, out) = (3, 5)
    assert tuple(torch_module[0].weight.shape) == (5, 3)
    np.testing.assert_array_equal(torch_module[0].weight.detach().numpy(), W.T)
    assert tuple(keras_model.layers[0].kernel.shape) == (3, 5)
    np.testing.assert_array_equal(keras_model.layers[0].kernel.numpy(), W)


def test_a_single_dense_layer_converts_too(fw) -> None:
    layer = reference.Dense(4, 3, "tanh", seed=1)
    back = fw.impl.to_reference(fw.impl.from_reference(layer))
    if fw.name == "torch":  # a layer is an nn.Sequential of its modules (nn.Linear, nn.Tanh)
        (back,) = back.layers
    np.testing.assert_array_equal(back.W, layer.W)
    assert back.activation == layer.activation


# ── Keras: models without weights keep their dtype ─────────────────────────────────────


def _pooling_only(keras, dtype: str):
    return keras.Sequential([keras.Input((4, 4, 1), dtype=dtype),
                             keras.layers.MaxPooling2D(2, dtype=dtype),
                             keras.layers.GlobalAveragePooling2D(dtype=dtype)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_keras_model_without_weights_gives_a_spec_model_of_its_dtype(dtype: str) -> None:
    """Nothing but the keras.Input says the dtype of a pooling-only model."""
    tf_impl = framework("tf").impl
    import keras

    spec = tf_impl.to_reference(_pooling_only(keras, dtype))
    assert spec.dtype == np.dtype(dtype)
    x = np.arange(32, dtype=dtype).reshape(2, 4, 4, 1)
    assert spec.forward(x).dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_a_converted_max_pooling_keeps_its_input_dtype(fw, dtype) -> None:
    """As the spec's MaxPool2D, whose dtype is its input's (Keras's layer would cast it)."""
    layer = fw.impl.from_reference(reference.MaxPool2D(2))
    x = np.arange(32, dtype=dtype).reshape(2, 4, 4, 1)
    if fw.name == "torch":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # channels-first
    y = layer(fw.torch.from_numpy(x) if fw.name == "torch" else fw.tf.constant(x))
    assert np.asarray(y).dtype == dtype


def test_the_tf_max_pooling_mirror_keeps_its_input_dtype() -> None:
    tf_impl, tf = framework("tf").impl, framework("tf").tf
    x = tf.constant(np.ones((1, 4, 4, 1), np.float32))
    assert tf_impl.MaxPool2D(2)(x).dtype == tf.float32
