"""The spec's convolution and pooling against their definitions, written out as loops
over output pixels (fine in a test, on a few pixels), and its errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

from reference import convolution, layers
from reference.convolution import (
    AveragePool2D,
    Conv1D,
    Conv2D,
    DepthwiseConv2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    same_padding,
)


@pytest.mark.parametrize(("size", "kernel", "stride", "dilation", "pads"), [
    (8, 3, 2, 1, (0, 1)), (10, 3, 2, 1, (0, 1)), (9, 3, 2, 1, (1, 1)),  # the sizes
    (7, 4, 1, 1, (1, 2)),  # an even kernel at stride 1: the odd cell after, too
    (7, 3, 1, 2, (2, 2)), (5, 3, 3, 1, (0, 1)), (6, 2, 2, 1, (0, 0)),
])
def test_same_padding_is_tf_rule(size, kernel, stride, dilation, pads) -> None:
    assert same_padding(size, kernel, stride, dilation) == pads


def _by_definition(x, W, b, stride, dilation, pads):
    """z[n, h, w, o] = b_o + Σ x̃[n, h·s + i·d, w·s + j·d, c] W[i, j, c, o], pixel by pixel."""
    (top, bottom), (left, right) = pads
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    kh, kw, _, out = W.shape
    (sh, sw), (dh, dw) = stride, dilation
    height = (xp.shape[1] - dh * (kh - 1) - 1) // sh + 1
    width = (xp.shape[2] - dw * (kw - 1) - 1) // sw + 1
    z = np.zeros((len(x), height, width, out))
    for h in range(height):
        for w in range(width):
            rows = slice(h * sh, h * sh + dh * (kh - 1) + 1, dh)
            window = xp[:, rows, w * sw:w * sw + dw * (kw - 1) + 1:dw]
            z[:, h, w] = np.einsum("nijc,ijco->no", window, W) + b
    return z


@pytest.mark.parametrize(("kernel", "strides", "dilation", "padding", "size"), [
    ((3, 3), (2, 2), (1, 1), "same", (8, 8)),
    ((3, 2), (2, 1), (1, 1), "same", (7, 6)),
    ((2, 3), (1, 1), (2, 2), "same", (6, 7)),
    ((3, 3), (1, 2), (1, 1), "valid", (6, 7)),
])
def test_conv2d_is_its_definition(kernel, strides, dilation, padding, size) -> None:
    rng = np.random.default_rng(0)
    conv = Conv2D(2, 3, kernel, strides=strides, padding=padding, dilation_rate=dilation, seed=1)
    conv.b = rng.standard_normal(3)
    x = rng.standard_normal((2, *size, 2))
    pads = [same_padding(n, k, s, d) if padding == "same" else (0, 0)
            for n, k, s, d in zip(size, kernel, strides, dilation, strict=True)]
    np.testing.assert_allclose(conv.forward(x), _by_definition(x, conv.W, conv.b, strides,
                                                               dilation, pads), rtol=1e-12)


def test_conv1d_is_conv2d_on_a_single_row() -> None:
    rng = np.random.default_rng(2)
    conv1d = Conv1D(2, 3, 3, strides=2, padding="same", seed=3)
    conv2d = Conv2D(2, 3, (1, 3), strides=(1, 2), padding="same")
    conv2d.W = conv1d.W[None]
    x = rng.standard_normal((2, 10, 2))
    np.testing.assert_allclose(conv1d.forward(x), conv2d.forward(x[:, None])[:, 0], rtol=1e-12)


def test_depthwise_is_one_convolution_per_channel() -> None:
    rng = np.random.default_rng(4)
    depthwise = DepthwiseConv2D(2, 3, depth_multiplier=2, padding="same", seed=5)
    x = rng.standard_normal((2, 5, 5, 2))
    y = depthwise.forward(x)
    for c in range(2):
        single = Conv2D(1, 2, 3, padding="same")
        single.W = depthwise.W[:, :, c:c + 1, :]
        np.testing.assert_allclose(y[..., 2 * c:2 * c + 2], single.forward(x[..., c:c + 1]),
                                   rtol=1e-12)


def test_pooling_by_definition() -> None:
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(MaxPool2D(2).forward(x)[0, :, :, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(AveragePool2D(2).forward(x)[0, :, :, 0],
                                  [[2.5, 4.5], [10.5, 12.5]])
    # "same", 3×3 at stride 2 on 4: pads (0, 1); the last window holds 2×2 real cells
    same = AveragePool2D(3, 2, "same")
    assert same.forward(x)[0, 1, 1, 0] == np.mean([10, 11, 14, 15])
    counted = AveragePool2D(3, 2, "same", count_include_pad=True)
    assert counted.forward(x)[0, 1, 1, 0] == np.sum([10, 11, 14, 15]) / 9
    np.testing.assert_array_equal(GlobalAveragePooling2D().forward(x), [[7.5]])


def test_a_max_pooling_tie_sends_the_gradient_to_the_first_cell_only() -> None:
    pool = MaxPool2D(2)
    pool.forward(np.ones((1, 2, 2, 1)))
    np.testing.assert_array_equal(pool.backward(np.ones((1, 1, 1, 1))).ravel(), [1, 0, 0, 0])


def test_a_max_pooling_tie_after_a_larger_cell_keeps_the_first_maximum() -> None:
    pool = MaxPool2D(2)
    pool.forward(np.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 2, 2, 1))
    np.testing.assert_array_equal(pool.backward(np.ones((1, 1, 1, 1))).ravel(), [0, 1, 0, 0])


@pytest.mark.parametrize("make", [
    lambda: Conv2D(3, 4, 3, padding="same", seed=0),
    lambda: Conv2D(2, 3, (2, 3), padding="same", dilation_rate=2, seed=0),
    lambda: Conv2D(1, 1, (4, 1), padding="same", seed=0),
    lambda: Conv1D(2, 3, 4, padding="same", dilation_rate=2, seed=0),
], ids=["3x3", "2x3 dilated", "one channel, even kernel", "Conv1D dilated"])
def test_the_transposed_convolution_is_the_per_offset_input_gradient(make) -> None:
    """At stride 1 with "same" padding dL/dx is computed as a convolution of δ with the
    flipped kernel: the same numbers as adding δ W[i, j]ᵀ back offset by offset."""
    layer = make()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, *([5, 6] if layer.rank == 2 else [7]), layer.in_channels))
    g = rng.standard_normal(layer.forward(x).shape)
    transposed = layer.backward(g)
    per_offset = layer._dx(super(Conv2D, layer)._input_gradient(layer._grad_2d(g, g.shape)))
    np.testing.assert_allclose(transposed, per_offset, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("layer", [Conv2D(2, 3, 3, padding="same"), Conv2D(2, 3, 3, strides=2),
                                   Conv1D(2, 3, 3, padding="same")], ids=["same", "strided", "1-D"])
def test_an_empty_batch_goes_forward_and_back(layer) -> None:
    x = np.zeros((0, *([7, 7] if layer.rank == 2 else [7]), 2))
    y = layer.forward(x)
    assert layer.backward(np.zeros(y.shape)).shape == x.shape
    assert layer.grads[0].shape == layer.W.shape


def test_nan_in_nan_out() -> None:
    x = np.zeros((1, 2, 2, 1))
    x[0, 1, 1, 0] = np.nan
    assert np.isnan(MaxPool2D(2).forward(x)).all()
    assert np.isnan(Conv2D(1, 1, 2, seed=0).forward(x)).all()


def test_config_rebuilds_every_layer() -> None:
    for layer in (Conv2D(2, 3, (3, 2), strides=2, padding="same", dilation_rate=1,
                         activation="relu", dtype="float32"),
                  Conv1D(2, 3, 3, dilation_rate=2), DepthwiseConv2D(2, 3, depth_multiplier=2),
                  MaxPool2D(3, 2, "same"), AveragePool2D(2, count_include_pad=True),
                  GlobalAveragePooling2D()):
        rebuilt = layers.from_config(type(layer).__name__, layer.config())
        assert rebuilt.config() == layer.config()


@pytest.mark.parametrize(("make", "x", "message"), [
    (lambda: Conv2D(3, 2, 3), np.zeros((1, 5, 5, 2)),
     r"Conv2D\(3, 2, identity\): input x must have 3 channels on its last axis"),
    (lambda: Conv2D(3, 2, 3), np.zeros((5, 5, 3)), r"must have 4 axes \(batch first\)"),
    (lambda: Conv2D(1, 2, 5), np.zeros((1, 4, 4, 1)),
     "a window of 5 cells does not fit an input of 4 cells without padding"),
    (lambda: MaxPool2D(2), np.zeros((1, 4, 4)), r"must have 4 axes"),
])
def test_bad_input_is_refused_by_name(make, x, message) -> None:
    with pytest.raises(ValueError, match=message):
        make().forward(x)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Conv2D(2, 3, 3, padding="SAME"), "padding must be 'valid' or 'same'"),
    (lambda: Conv2D(2, 0, 3), "filters must be a positive integer"),
    (lambda: Conv2D(2, 3, (3, 3, 3)), "kernel_size must be a positive integer or 2 of them"),
    (lambda: MaxPool2D(0), "MaxPool2D: pool_size must be a positive integer"),
])
def test_bad_arguments_are_refused_by_name(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_weight_files_hold_convolutional_models(tmp_path) -> None:
    from reference import digits, load_weights, save_weights

    model = digits.digit_cnn("float32", seed=1)
    save_weights(model, tmp_path / "cnn.npz")
    loaded = load_weights(tmp_path / "cnn.npz")
    x, _ = digits.images(2, np.random.default_rng(0), "float32")
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))


@pytest.mark.parametrize(("pool", "shape"), [(GlobalAveragePooling2D, (2, 0, 3, 4)),
                                             (GlobalMaxPooling2D, (2, 3, 0, 4)),
                                             (GlobalAveragePooling1D, (2, 0, 4))])
def test_a_global_pooling_of_no_positions_is_refused_not_nan(pool, shape) -> None:
    with pytest.raises(ValueError, match=re.escape(f"{pool.__name__}: input x has no "
                                                   f"positions to pool, got shape {shape}")):
        pool().forward(np.zeros(shape))


def _forward_and_back(layer, x, g):
    y = layer.forward(x)
    dx = layer.backward(g)
    return [y, dx, *layer.grads]


_GEOMETRIES = [  # (in, out, kernel, strides, padding, dilation, spatial size)
    (3, 4, 1, 1, "valid", 1, (5, 6)), (3, 4, 2, 1, "same", 1, (5, 6)),
    (2, 3, 3, 1, "same", 1, (7, 5)), (2, 3, 3, 1, "valid", 1, (7, 5)),
    (1, 3, 3, 1, "same", 1, (6, 6)), (1, 2, 5, 1, "valid", 1, (9, 7)),
    (3, 2, 4, 1, "same", 1, (7, 7)), (2, 3, 5, 1, "same", 1, (5, 8)),
    (2, 3, 3, 2, "same", 1, (8, 7)), (2, 3, 3, 2, "valid", 1, (9, 9)),
    (1, 2, 3, 2, "same", 1, (7, 7)), (3, 2, 1, 2, "same", 1, (8, 8)),
    (2, 2, (3, 2), (2, 1), "same", 1, (7, 6)), (2, 3, 4, 3, "valid", 1, (11, 10)),
    (2, 3, 3, 1, "same", 2, (7, 7)), (2, 2, (2, 3), 1, "valid", (2, 1), (7, 8)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch", [0, 1, 5])
@pytest.mark.parametrize(("cin", "cout", "kernel", "strides", "padding", "dilation", "size"),
                         _GEOMETRIES)
def test_conv2d_in_blocks_of_samples_is_the_whole_batch_at_once(
        monkeypatch, dtype, batch, cin, cout, kernel, strides, padding, dilation, size) -> None:
    """Conv2D gathers and multiplies its windows a block of samples at a time: blocks of
    one sample, of two (a shorter last block) and one block of the whole batch give the
    same output and gradients, up to the products' rounding."""
    rng = np.random.default_rng(7)
    layer = Conv2D(cin, cout, kernel, strides=strides, padding=padding, dilation_rate=dilation,
                   activation="tanh", dtype=dtype, seed=2)
    layer.b = rng.standard_normal(cout).astype(dtype)
    x = rng.standard_normal((batch, *size, cin)).astype(dtype)
    g = rng.standard_normal(layer.forward(x).shape).astype(dtype)
    results = {}
    for label, block_bytes in (("whole", 1 << 40), ("one", 1), ("two", None)):
        padded, out = layer._padded(x)
        per_sample = padded.itemsize * padded.shape[3] * out[0] * out[1] * np.prod(
            layer.kernel_size)
        monkeypatch.setattr(convolution, "_BLOCK_BYTES",
                            2 * per_sample if block_bytes is None else block_bytes)
        expected_blocks = {"whole": min(batch, 1), "one": batch, "two": -(-batch // 2)}[label]
        assert len(list(layer._blocks(padded, out))) == expected_blocks
        results[label] = _forward_and_back(layer, x, g)
    tolerance = {"float64": 1e-12, "float32": 1e-5}[dtype]
    for label in ("one", "two"):
        for got, want in zip(results[label], results["whole"], strict=True):
            assert got.dtype == np.dtype(dtype) and got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_conv1d_in_blocks_of_samples_is_the_whole_batch_at_once(monkeypatch, dtype) -> None:
    rng = np.random.default_rng(8)
    layer = Conv1D(3, 2, 3, padding="same", dilation_rate=2, dtype=dtype, seed=1)
    x = rng.standard_normal((3, 9, 3)).astype(dtype)
    g = rng.standard_normal((3, 9, 2)).astype(dtype)
    whole = _forward_and_back(layer, x, g)
    monkeypatch.setattr(convolution, "_BLOCK_BYTES", 1)
    tolerance = {"float64": 1e-12, "float32": 1e-5}[dtype]
    for got, want in zip(_forward_and_back(layer, x, g), whole, strict=True):
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("cin", "kernel", "dilation", "size", "batch"), [
    (3, 3, 1, (5, 6), 2), (2, 2, 1, (7, 7), 3), (1, 3, 1, (6, 5), 2), (2, 5, 1, (4, 9), 1),
    (2, (3, 2), (2, 1), (7, 6), 2), (4, 1, 1, (3, 3), 2), (2, 3, 1, (5, 5), 0)])
def test_the_weight_gradient_from_delta_windows_is_windows_transposed_times_delta(
        dtype, cin, kernel, dilation, size, batch) -> None:
    """At stride 1 with "same" padding dL/dW is read off δ's windows (the transposed
    convolution's); it equals windowsᵀ δ from the input's windows, and the backward
    without dL/dx (which gathers no δ windows) gives it too."""
    rng = np.random.default_rng(9)
    layer = Conv2D(cin, 3, kernel, padding="same", dilation_rate=dilation, activation="tanh",
                   dtype=dtype, seed=4)
    x = rng.standard_normal((batch, *size, cin)).astype(dtype)
    g = rng.standard_normal(layer.forward(x).shape).astype(dtype)
    delta = layer.activation.vjp(layer._cache["z"], g)
    by_definition = layer._kernel_gradient(layer._gather(x), delta)
    tolerance = {"float64": 1e-12, "float32": 1e-5}[dtype]
    for input_gradient in (True, False):
        layer.forward(x)
        layer.backward(g, input_gradient=input_gradient)
        assert layer.grads[0].dtype == np.dtype(dtype)
        np.testing.assert_allclose(layer.grads[0], by_definition, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize(("pool", "shape"), [(GlobalAveragePooling2D, (2, 3, 4, 5)),
                                             (GlobalMaxPooling2D, (2, 3, 4, 5)),
                                             (GlobalAveragePooling1D, (2, 3, 5))])
def test_a_global_pooling_that_keeps_dims_is_the_flat_one_with_unit_axes(pool, shape) -> None:
    """keepdims=True: y (N, 1, …, 1, C), the same numbers; its gradient is the same too."""
    x = np.random.default_rng(4).standard_normal(shape)
    flat, kept = pool(), pool(keepdims=True)
    y = kept.forward(x)
    assert y.shape == (2, *(1,) * (len(shape) - 2), 5) == (2, *kept.output_shape(shape[1:]))
    np.testing.assert_array_equal(y.reshape(2, 5), flat.forward(x))
    g = np.random.default_rng(5).standard_normal((2, 5))
    np.testing.assert_array_equal(kept.backward(g.reshape(y.shape)), flat.backward(g))
    assert kept.config() == {"keepdims": True} and flat.config() == {}
