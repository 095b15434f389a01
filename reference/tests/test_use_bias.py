"""use_bias=False: a layer with no b at all (Keras's ``use_bias=False``, torch's
``bias=False``), as convolutions before a BatchNormalization are built."""

from __future__ import annotations

import numpy as np
import pytest

from reference.convolution import Conv2D, DepthwiseConv2D, SeparableConv2D
from reference.layers import Dense, from_config


def test_a_dense_layer_without_bias_computes_x_w_and_holds_only_w() -> None:
    layer = Dense(3, 2, "tanh", use_bias=False, seed=0)
    x = np.random.default_rng(1).standard_normal((4, 3))
    np.testing.assert_array_equal(layer.forward(x), np.tanh(x @ layer.W))
    layer.backward(np.ones((4, 2)))
    assert list(layer.parameters) == list(layer.gradients) == ["W"]
    assert Dense.array_shapes(layer.config()) == {"W": [3, 2]}


@pytest.mark.parametrize("layer", [Conv2D(2, 3, 3, padding="same", use_bias=False, seed=0),
                                   DepthwiseConv2D(2, 3, use_bias=False, seed=0),
                                   SeparableConv2D(2, 3, 3, use_bias=False, seed=0)],
                         ids=["Conv2D", "DepthwiseConv2D", "SeparableConv2D"])
def test_a_convolution_without_bias_is_the_one_with_a_zero_bias(layer) -> None:
    """Same numbers as the layer with b = 0, one array fewer; its config rebuilds it."""
    with_bias = from_config(type(layer).__name__, {**layer.config(), "use_bias": True})
    for name, value in layer.parameters.items():
        with_bias.set(name, value)
    x = np.random.default_rng(2).standard_normal((2, 5, 5, 2))
    np.testing.assert_array_equal(layer.forward(x), with_bias.forward(x))
    assert "b" not in layer.parameters and "b" not in type(layer).array_shapes(layer.config())
    assert not from_config(type(layer).__name__, layer.config()).use_bias


def test_use_bias_must_be_a_boolean() -> None:
    with pytest.raises(TypeError, match="Dense: use_bias must be True or False"):
        Dense(3, 2, use_bias="no")
