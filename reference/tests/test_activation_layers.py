"""The standalone activation layers and ZeroPadding2D against Keras's documented examples.

The expected values are the literal examples of Keras 3's own docstrings
(``keras/src/layers/activations/relu.py``, ``leaky_relu.py``, ``softmax.py`` and
``layers/reshaping/zero_padding2d.py``): an oracle nobody here wrote.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from reference.convolution import ZeroPadding2D
from reference.layers import Activation, Dense, LeakyReLU, ReLU, Softmax, from_config
from reference.networks import Sequential

KERAS_RELU_INPUT = np.array([[-3.0, -1.0, 0.0, 2.0]])


@pytest.mark.parametrize(("options", "expected"), [
    ({}, [0.0, 0.0, 0.0, 2.0]),
    ({"max_value": 1.0}, [0.0, 0.0, 0.0, 1.0]),
    ({"negative_slope": 1.0}, [-3.0, -1.0, 0.0, 2.0]),
    ({"threshold": 1.5}, [0.0, 0.0, 0.0, 2.0]),
], ids=["default", "max_value", "negative_slope", "threshold"])
def test_relu_gives_the_keras_docstring_examples(options: dict, expected: list) -> None:
    np.testing.assert_array_equal(ReLU(**options).forward(KERAS_RELU_INPUT), [expected])


def test_relu_below_a_threshold_follows_the_slope_from_the_threshold() -> None:
    layer = ReLU(negative_slope=0.5, threshold=1.0)
    np.testing.assert_array_equal(layer.forward(np.array([[-1.0, 1.0, 3.0]])), [[-1.0, 0.0, 3.0]])


def test_relu6_clips_at_six_and_passes_no_gradient_above_it() -> None:
    layer = ReLU(max_value=6)
    x = np.array([[-2.0, 3.0, 7.0]])
    np.testing.assert_array_equal(layer.forward(x), np.clip(x, 0, 6))
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), [[0.0, 1.0, 0.0]])


@pytest.mark.parametrize("options", [{"max_value": -1.0}, {"negative_slope": -0.1},
                                     {"threshold": -0.5}, {"threshold": float("inf")}],
                         ids=lambda o: next(iter(o)))
def test_relu_refuses_a_negative_or_infinite_option_by_name(options: dict) -> None:
    with pytest.raises(ValueError, match=f"ReLU: {next(iter(options))} must be"):
        ReLU(**options)


def test_leaky_relu_gives_the_keras_docstring_example() -> None:
    x = np.array([[-10.0, -5.0, 0.0, 5.0, 10.0]])
    np.testing.assert_array_equal(LeakyReLU(negative_slope=0.5).forward(x),
                                  [[-5.0, -2.5, 0.0, 5.0, 10.0]])


def test_leaky_relu_defaults_to_keras_layer_slope_not_torch() -> None:
    assert LeakyReLU().negative_slope == 0.3  # torch's nn.LeakyReLU(): 0.01


def test_softmax_gives_the_keras_docstring_example() -> None:
    np.testing.assert_allclose(Softmax().forward(np.array([[1.0, 2.0, 1.0]])),
                               [[0.21194157, 0.5761169, 0.21194157]], rtol=1e-7)


def test_softmax_along_another_axis_sums_to_one_along_it() -> None:
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    np.testing.assert_allclose(Softmax(axis=1).forward(x).sum(axis=1), np.ones((2, 4)))


def test_softmax_refuses_the_batch_axis_and_an_axis_the_input_lacks() -> None:
    with pytest.raises(ValueError, match="axis 0 is the batch"):
        Softmax(axis=0)
    with pytest.raises(ValueError, match="axis 3 is not a feature axis of an input with 3"):
        Softmax(axis=3).forward(np.zeros((2, 3, 4)))


def test_an_activation_layer_after_a_linear_dense_is_the_dense_with_that_activation() -> None:
    x = np.random.default_rng(1).standard_normal((5, 4))
    fused = Dense(4, 3, "elu", seed=2)
    split = Sequential([Dense(4, 3, seed=2), Activation("elu")])
    np.testing.assert_array_equal(split.forward(x), fused.forward(x))
    g = np.random.default_rng(3).standard_normal((5, 3))
    np.testing.assert_array_equal(split.backward(g), fused.backward(g))


def test_zero_padding_gives_the_keras_docstring_example() -> None:
    x = np.arange(4, dtype=np.float64).reshape(1, 1, 2, 2)
    y = ZeroPadding2D(padding=1).forward(x)
    assert y.shape == (1, 3, 4, 2)
    np.testing.assert_array_equal(y[0, :, :, 0], [[0, 0, 0, 0], [0, 0, 2, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(y[0, :, :, 1], [[0, 0, 0, 0], [0, 1, 3, 0], [0, 0, 0, 0]])


@pytest.mark.parametrize(("padding", "expected"), [
    (2, ((2, 2), (2, 2))), ((1, 3), ((1, 1), (3, 3))), (((0, 1), (2, 3)), ((0, 1), (2, 3))),
])
def test_zero_padding_takes_keras_three_spellings(padding: object, expected: tuple) -> None:
    assert ZeroPadding2D(padding).padding == expected


@pytest.mark.parametrize("padding", [-1, 1.5, (1, 2, 3), ((1, 2), 3), "same", True])
def test_zero_padding_refuses_other_spellings_with_what_it_received(padding: object) -> None:
    received = re.escape(repr(padding))
    with pytest.raises(ValueError, match=f"ZeroPadding2D: padding must be .*got {received}"):
        ZeroPadding2D(padding)


def test_zero_padding_backward_drops_the_border() -> None:
    layer = ZeroPadding2D(((1, 0), (0, 2)))
    x = np.random.default_rng(4).standard_normal((2, 3, 3, 1))
    g = np.random.default_rng(5).standard_normal((2, 4, 5, 1))
    layer.forward(x)
    np.testing.assert_array_equal(layer.backward(g), g[:, 1:, :3])


@pytest.mark.parametrize("layer", [
    Activation("elu", alpha=0.5), ReLU(max_value=6), LeakyReLU(0.25), Softmax(axis=1),
    ZeroPadding2D(((1, 2), (3, 0))),
], ids=lambda layer: type(layer).__name__)
def test_config_rebuilds_the_same_layer(layer: object) -> None:
    assert from_config(type(layer).__name__, layer.config()).config() == layer.config()
