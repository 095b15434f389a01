"""Cropping2D, UpSampling2D, Conv2DTranspose and SeparableConv2D against outside oracles:
Keras's own layer tests' literal values (keras/src/layers/reshaping/*_test.py) and small
examples worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from reference.convolution import (
    Conv2D,
    Conv2DTranspose,
    Cropping2D,
    DepthwiseConv2D,
    SeparableConv2D,
    UpSampling2D,
    bilinear_matrix,
)


# Keras's cropping2d_test.py: on a (·, 7, 9, ·) input, each cropping keeps these ranges
@pytest.mark.parametrize(("cropping", "rows", "columns"), [
    (((1, 2), (3, 4)), (1, 5), (3, 5)), (((2, 2), (2, 2)), (2, 5), (2, 7)),
    ((2, 2), (2, 5), (2, 7)), (2, (2, 5), (2, 7)), (((0, 2), (0, 4)), (0, 5), (0, 5)),
    (((1, 0), (3, 0)), (1, 7), (3, 9)), (((1, 0), (3, 4)), (1, 7), (3, 5)),
])
def test_cropping_keeps_keras_ranges(cropping, rows, columns) -> None:
    x = np.random.default_rng(0).standard_normal((2, 7, 9, 3))
    expected = x[:, rows[0]:rows[1], columns[0]:columns[1]]
    np.testing.assert_array_equal(Cropping2D(cropping).forward(x), expected)


def test_cropping_backward_puts_g_back_in_zeros() -> None:
    layer = Cropping2D(((1, 0), (0, 2)))
    layer.forward(np.zeros((1, 3, 4, 1)))
    dx = layer.backward(np.full((1, 2, 2, 1), 5.0))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[0, 0, 0, 0], [5, 5, 0, 0], [5, 5, 0, 0]])


@pytest.mark.parametrize("cropping", [((2, 1), (0, 0)), (0, 5)])
def test_cropping_everything_is_refused(cropping) -> None:
    with pytest.raises(ValueError, match=r"Cropping2D.*leaves nothing"):
        Cropping2D(cropping).output_shape((3, 5, 1))


@pytest.mark.parametrize("cropping", [-1, (1, -2), ((1, 2), (3,)), 1.5, "1"])
def test_cropping_spellings_are_checked(cropping) -> None:
    with pytest.raises(ValueError, match="Cropping2D: cropping must be"):
        Cropping2D(cropping)


def test_nearest_upsampling_keras_example() -> None:
    """up_sampling2d_test.py's test_upsampling_2d_correctness: size (1, 2)."""
    x = np.arange(12.0).reshape(2, 2, 1, 3)
    expected = [[[[0, 1, 2], [0, 1, 2]], [[3, 4, 5], [3, 4, 5]]],
                [[[6, 7, 8], [6, 7, 8]], [[9, 10, 11], [9, 10, 11]]]]
    np.testing.assert_array_equal(UpSampling2D((1, 2)).forward(x), expected)


def test_nearest_backward_sums_each_block() -> None:
    layer = UpSampling2D((2, 3))
    layer.forward(np.zeros((1, 2, 1, 1)))
    g = np.arange(12.0).reshape(1, 4, 3, 1)
    np.testing.assert_array_equal(layer.backward(g)[0, :, 0, 0], [0 + 1 + 2 + 3 + 4 + 5,
                                                                   6 + 7 + 8 + 9 + 10 + 11])


def test_bilinear_half_pixel_centres_by_hand() -> None:
    """[0, 4] doubled: outputs sample at ¼ (clamped to 0), ¼, ¾, 1¼ (clamped to the last
    cell): 0, 1, 3, 4; align_corners=True would give 0, 4/3, 8/3, 4."""
    np.testing.assert_allclose(bilinear_matrix(2, 2) @ [0.0, 4.0], [0, 1, 3, 4])
    layer = UpSampling2D(2, "bilinear")
    y = layer.forward(np.array([0.0, 4.0]).reshape(1, 1, 2, 1))
    np.testing.assert_allclose(y[0, :, :, 0], [[0, 1, 3, 4], [0, 1, 3, 4]])


def test_bilinear_backward_is_the_adjoint() -> None:
    """⟨A x, g⟩ = ⟨x, Aᵀ g⟩ for the whole layer: backward is forward's transpose."""
    rng = np.random.default_rng(1)
    x, g = rng.standard_normal((2, 3, 4, 2)), rng.standard_normal((2, 6, 12, 2))
    layer = UpSampling2D((2, 3), "bilinear")
    y = layer.forward(x)
    np.testing.assert_allclose(np.sum(y * g), np.sum(x * layer.backward(g)))


def test_bilinear_rows_sum_to_one() -> None:
    np.testing.assert_allclose(bilinear_matrix(5, 3).sum(axis=1), np.ones(15))


# x = [[1, 2], [3, 4]], a 3×3 kernel of ones at stride 2: each cell stamps a 3×3 block of
# its value, two cells apart; where blocks meet (row and column 2) they add up.
STAMPED = np.array([[1, 1, 3, 2, 2],
                    [1, 1, 3, 2, 2],
                    [4, 4, 10, 6, 6],
                    [3, 3, 7, 4, 4],
                    [3, 3, 7, 4, 4]], dtype=float)


def _ones_transpose(**options) -> Conv2DTranspose:
    layer = Conv2DTranspose(1, 1, 3, strides=2, **options)
    layer.set("W", np.ones((3, 3, 1, 1)))
    return layer


def test_transpose_valid_stamps_the_kernel() -> None:
    y = _ones_transpose().forward(np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1))
    np.testing.assert_array_equal(y[0, :, :, 0], STAMPED)


def test_transpose_same_crops_the_odd_cell_at_the_end() -> None:
    """Keras's "same" (k = 3, s = 2): H·s = 4 of the 5 cells, 0 cropped at the start."""
    y = _ones_transpose(padding="same").forward(
        np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1))
    np.testing.assert_array_equal(y[0, :, :, 0], STAMPED[:4, :4])


def test_transpose_output_padding_adds_bias_only_cells() -> None:
    layer = _ones_transpose(output_padding=1)
    layer.set("b", np.array([0.5]))
    y = layer.forward(np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1))[0, :, :, 0]
    np.testing.assert_array_equal(y[:5, :5], STAMPED + 0.5)
    np.testing.assert_array_equal(y[5], 0.5)


@pytest.mark.parametrize(("padding", "output_padding", "kernel", "stride", "expected"), [
    ("valid", None, 3, 2, 9), ("valid", None, 2, 3, 12), ("same", None, 4, 2, 8),
    ("same", 1, 3, 2, 8), ("valid", 1, 3, 2, 10), ("same", 1, 4, 2, 7),
])
def test_transpose_output_sizes_follow_keras(padding, output_padding, kernel, stride,
                                             expected) -> None:
    """keras.src.utils.conv_utils.deconv_output_length on an input of 4 cells."""
    layer = Conv2DTranspose(1, 1, kernel, strides=stride, padding=padding,
                            output_padding=output_padding)
    assert layer.output_shape((4, 4, 1)) == (expected, expected, 1)


def test_transpose_is_the_adjoint_of_conv2d() -> None:
    """⟨conv(u, W), x⟩ = ⟨u, convᵀ(x, W)⟩ with the kernel's in and out swapped."""
    rng = np.random.default_rng(2)
    conv = Conv2D(3, 2, 3, strides=2, seed=0)
    transpose = Conv2DTranspose(2, 3, 3, strides=2, seed=0)
    transpose.set("W", conv.W)  # (k, k, 3, 2): Conv2D's (in, out) is the transpose's (out, in)
    u, x = rng.standard_normal((2, 7, 7, 3)), rng.standard_normal((2, 3, 3, 2))
    np.testing.assert_allclose(np.sum(conv.forward(u) * x),
                               np.sum(u * transpose.forward(x)))


@pytest.mark.parametrize(("options", "match"), [
    ({"output_padding": 2}, "below its stride"), ({"output_padding": -1}, "below its stride"),
    ({"kernel_size": 4, "padding": "same", "output_padding": 0}, "needs output_padding ≥ 1"),
])
def test_transpose_output_padding_is_checked(options, match) -> None:
    arguments = {"kernel_size": 3, "strides": 2, **options}
    with pytest.raises(ValueError, match=f"Conv2DTranspose: .*{match}"):
        Conv2DTranspose(1, 1, **arguments)


def test_separable_is_depthwise_then_pointwise() -> None:
    """Keras's separable_conv_test.py oracle: np_depthwise_conv2d, then np_conv2d 1×1."""
    rng = np.random.default_rng(3)
    layer = SeparableConv2D(2, 3, 3, depth_multiplier=2, strides=2, padding="same", seed=0)
    layer.set("b", rng.standard_normal(3))
    depthwise = DepthwiseConv2D(2, 3, depth_multiplier=2, strides=2, padding="same")
    depthwise.set("W", layer.W)
    depthwise.set("b", np.zeros(4))
    pointwise = Conv2D(4, 3, 1)
    pointwise.set("W", layer.P)
    pointwise.set("b", layer.b)
    x = rng.standard_normal((2, 7, 8, 2))
    np.testing.assert_allclose(layer.forward(x), pointwise.forward(depthwise.forward(x)),
                               rtol=1e-13)
