"""from_reference / to_reference: the spec's weights go to each framework and back exactly."""

from __future__ import annotations

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework


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
    spec = _model(dtype)
    back = fw.impl.to_reference(fw.impl.from_reference(spec))
    for (W, b), (W2, b2) in zip(spec.params, back.params, strict=True):
        assert W2.dtype == W.dtype and b2.dtype == b.dtype
        np.testing.assert_array_equal(W2, W)
        np.testing.assert_array_equal(b2, b)
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
