"""Reshape, Permute, Rescaling, Normalization and the global poolings against Keras's
documented examples and the literal values of Keras's own layer tests
(keras/src/layers/{reshaping,preprocessing,pooling}/*_test.py, Keras 3.15)."""

from __future__ import annotations

import numpy as np
import pytest

from reference.convolution import GlobalAveragePooling1D, GlobalMaxPooling2D
from reference.layers import Permute, Reshape
from reference.normalization import Normalization, Rescaling


@pytest.mark.parametrize(("target", "input_shape", "expected"), [
    ((8, 1), (2, 4), (8, 1)), ((8,), (2, 4), (8,)), ((2, 4), (8,), (2, 4)),
    ((-1, 8), (3, 8), (3, 8)), ((-1, 3), (4, 3), (4, 3))])
def test_reshape_shapes_are_keras_tests(target, input_shape, expected) -> None:
    """reshape_test.py: Reshape((8, 1)) of (3, 2, 4) is (3, 8, 1), …; −1 takes the rest."""
    x = np.arange(3 * np.prod(input_shape), dtype=np.float64).reshape(3, *input_shape)
    y = Reshape(target).forward(x)
    assert y.shape == (3, *expected)
    np.testing.assert_array_equal(y.ravel(), x.ravel())  # row-major: the order is kept


@pytest.mark.parametrize("target", [(-2, 5), (-1, -1, 5), (), (2.0, 3)])
def test_reshape_refuses_what_keras_refuses(target) -> None:
    with pytest.raises(ValueError, match="Reshape: target_shape must be"):
        Reshape(target)


def test_reshape_refuses_a_size_that_does_not_fit() -> None:
    with pytest.raises(ValueError, match=r"cannot lay out a per-sample shape \(2, 4\)"):
        Reshape((3, -1)).forward(np.zeros((1, 2, 4)))


def test_reshape_backward_is_the_inverse_reshape() -> None:
    layer = Reshape((4, 2))
    layer.forward(np.zeros((2, 8)))
    g = np.arange(16.0).reshape(2, 4, 2)
    np.testing.assert_array_equal(layer.backward(g), g.reshape(2, 8))


def test_permute_is_keras_tests_transpose() -> None:
    """permute_test.py: Permute((3, 1, 2)) of (10, 3, 5, 5) is np.transpose(x, (0, 3, 1, 2))."""
    x = np.random.default_rng(0).random((10, 3, 5, 5))
    np.testing.assert_array_equal(Permute((3, 1, 2)).forward(x), np.transpose(x, (0, 3, 1, 2)))
    assert Permute((2, 1)).output_shape((3, 5)) == (5, 3)


@pytest.mark.parametrize("dims", [(0, 1, 2), (1, 1, 2), (1, 3)])
def test_permute_refuses_dims_that_are_not_a_permutation_from_one(dims) -> None:
    """permute_test.py refuses a dims index starting at 0 and a repeated index."""
    with pytest.raises(ValueError, match="Permute: dims must be a permutation"):
        Permute(dims)


def test_permute_backward_applies_the_inverse_order() -> None:
    layer = Permute((3, 1, 2))
    x = np.random.default_rng(1).random((2, 3, 4, 5))
    y = layer.forward(x)
    np.testing.assert_array_equal(layer.backward(y), x)


def test_rescaling_is_keras_tests_formula() -> None:
    """rescaling_test.py: Rescaling(scale=1/255, offset=0.5) of x is x/255 + 0.5."""
    x = np.random.default_rng(2).random((3, 10, 10, 3)) * 255
    layer = Rescaling(scale=1.0 / 255, offset=0.5)
    np.testing.assert_allclose(layer.forward(x), x / 255 + 0.5, rtol=1e-15)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), np.full(x.shape, 1 / 255))


def test_rescaling_rounds_its_scale_to_a_float32_input() -> None:
    x = np.full((1, 1), 200.0, np.float32)
    assert Rescaling(1 / 255).forward(x)[0, 0] == np.float32(200) * np.float32(1 / 255)


def test_normalization_is_keras_documented_example() -> None:
    """keras.layers.Normalization's docstring: mean 3, variance 2 on [[1], [2], [3]]."""
    x = np.array([[1.0], [2.0], [3.0]], np.float32)
    y = Normalization(mean=3.0, variance=2.0).forward(x)
    np.testing.assert_array_equal(y, np.array([[-1.4142135], [-0.70710677], [0.0]], np.float32))


def test_normalization_per_feature_is_keras_tests_values() -> None:
    """normalization_test.py's per-feature statistics, mean [0.5, 0.2, -0.1], variance
    [0.1, 0.2, 0.3], on the last axis of an image."""
    mean, variance = np.array([0.5, 0.2, -0.1]), np.array([0.1, 0.2, 0.3])
    x = np.random.default_rng(3).standard_normal((2, 4, 4, 3))
    layer = Normalization(mean, variance)
    np.testing.assert_allclose(layer.forward(x), (x - mean) / np.sqrt(variance), rtol=1e-15)
    np.testing.assert_allclose(layer.backward(np.ones_like(x)),
                               np.broadcast_to(1 / np.sqrt(variance), x.shape), rtol=1e-15)


def test_normalization_divides_a_zero_variance_by_keras_floor() -> None:
    """Keras divides by max(√variance, backend.epsilon() = 1e-7), no ε added: a constant
    feature is not an error."""
    y = Normalization([0.0, 0.0], [0.0, 1.0]).forward(np.array([[1.0, 1.0]]))
    np.testing.assert_allclose(y, [[1e7, 1.0]], rtol=1e-12)


@pytest.mark.parametrize(("mean", "variance", "axis"), [
    ([0.0, 1.0], [1.0], -1), ([0.0], [-1.0], -1), (0.0, 1.0, 1), ("a", 1.0, -1),
    ([np.nan], [1.0], -1)])
def test_normalization_refuses_statistics_it_cannot_use(mean, variance, axis) -> None:
    with pytest.raises(ValueError, match="Normalization: "):
        Normalization(mean, variance, axis=axis)


def test_global_max_pooling_2d_is_keras_tests_values() -> None:
    """global_max_pooling_test.py: arange(96) as (2, 3, 4, 4), channels-last."""
    x = np.arange(96, dtype=np.float64).reshape(2, 3, 4, 4)
    np.testing.assert_array_equal(GlobalMaxPooling2D().forward(x),
                                  [[44, 45, 46, 47], [92, 93, 94, 95]])


def test_global_max_pooling_2d_sends_a_tie_to_the_first_cell() -> None:
    """nn.AdaptiveMaxPool2d's choice (TF splits it: parity inputs hold no ties)."""
    layer = GlobalMaxPooling2D()
    layer.forward(np.zeros((1, 2, 2, 1)))
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1))).ravel(), [1, 0, 0, 0])


def test_global_average_pooling_1d_is_keras_tests_values() -> None:
    """global_average_pooling_test.py: arange(24) as (2, 3, 4), the mean over the steps."""
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    layer = GlobalAveragePooling1D()
    np.testing.assert_array_equal(layer.forward(x), [[4, 5, 6, 7], [16, 17, 18, 19]])
    np.testing.assert_array_equal(layer.backward(np.ones((2, 4))), np.full(x.shape, 1 / 3))
