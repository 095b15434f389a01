"""Where torch and Keras convolve and pool differently: each difference shown on both sides,
then the bridge the mirrors use (conventions.md §11, checked against the pinned versions).

* Layout: Keras images (N, H, W, C), torch (N, C, H, W); kernels (k_h, k_w, in, out)
  against (out, in, k_h, k_w); Flatten orders features (h, w, c) against (c, h, w).
* TF's ``"same"`` padding at stride 2 puts the odd cell at the bottom/right, so on an
  even size it differs from torch's symmetric ``padding=1``; torch's ``padding="same"``
  refuses strides above 1.
* Average pooling under padding: Keras leaves padded cells out of the divisor, torch's
  ``nn.AvgPool2d`` counts them by default.
* Keras refuses a stride above 1 with a dilation above 1; torch computes it.
* A max-pooling tie sends the gradient to the first cell in both.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference
from parity_tests.tolerances import tolerance


def _close(actual, expected) -> bool:
    tol = tolerance(np.float64, "output")
    return tol.error(actual, expected) <= tol.rtol


def _tf_conv(tf, x: np.ndarray, kernel: np.ndarray, stride: int) -> np.ndarray:
    return tf.nn.conv2d(x, kernel, stride, "SAME").numpy()


def _torch_conv(torch, x: np.ndarray, kernel: np.ndarray, stride: int, padding) -> np.ndarray:
    nchw = torch.from_numpy(x).permute(0, 3, 1, 2)
    weight = torch.from_numpy(kernel).permute(3, 2, 0, 1)  # (k_h, k_w, in, out) → (out, in, …)
    out = torch.nn.functional.conv2d(nchw, weight, stride=stride, padding=padding)
    return out.permute(0, 2, 3, 1).numpy()


@pytest.mark.parametrize(("size", "pads", "symmetric"), [(8, (0, 1), False),
                                                          (10, (0, 1), False),
                                                          (9, (1, 1), True)])
def test_tf_same_padding_at_stride_2_is_asymmetric_on_even_sizes(tf, torch, size, pads,
                                                                  symmetric) -> None:
    rng = np.random.default_rng(size)
    x, kernel = rng.standard_normal((2, size, size, 2)), rng.standard_normal((3, 3, 2, 3))
    assert reference.convolution.same_padding(size, 3, 2) == pads
    tf_out = _tf_conv(tf, x, kernel, 2)
    torch_symmetric = _torch_conv(torch, x, kernel, 2, padding=1)
    assert tf_out.shape == torch_symmetric.shape  # same sizes: the difference is silent
    assert _close(torch_symmetric, tf_out) is symmetric


def test_torch_refuses_same_padding_at_stride_2(torch) -> None:
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        torch.nn.Conv2d(2, 3, 3, stride=2, padding="same")


def test_the_torch_mirror_pads_by_tf_rule_with_an_explicit_pad(tf, torch) -> None:
    """On 10 cells at stride 2 TF pads (0, 1): ``nn.ZeroPad2d((0, 1, 0, 1))`` first, the
    amounts fixed by the input size that the spec model knows."""
    import reference
    import torch_impl

    rng = np.random.default_rng(0)
    x, kernel = rng.standard_normal((2, 10, 10, 2)), rng.standard_normal((3, 3, 2, 3))
    spec = reference.Sequential([reference.Conv2D(2, 3, 3, strides=2, padding="same")],
                                input_shape=(10, 10, 2))
    spec.layers[0].W, spec.layers[0].b = kernel, np.zeros(3)
    pad, conv = torch_impl.from_reference(spec)
    assert isinstance(pad, torch.nn.ZeroPad2d) and pad.padding == (0, 1, 0, 1)
    assert conv.padding == (0, 0) and conv.stride == (2, 2)
    with torch.no_grad():
        out = conv(pad(torch.from_numpy(x).permute(0, 3, 1, 2))).permute(0, 2, 3, 1).numpy()
    assert _close(out, _tf_conv(tf, x, kernel, 2))


def test_flatten_orders_features_hwc_in_keras_and_chw_in_torch(torch) -> None:
    import keras

    x = np.arange(24.0).reshape(1, 2, 3, 4)  # one image, 2 × 3 pixels, 4 channels
    keras_features = keras.layers.Flatten(dtype="float64")(x).numpy()
    torch_features = torch.nn.Flatten()(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()
    np.testing.assert_array_equal(keras_features, x.reshape(1, -1))  # (h, w, c)
    np.testing.assert_array_equal(torch_features, x.transpose(0, 3, 1, 2).reshape(1, -1))
    assert not np.array_equal(keras_features, torch_features)
    order = reference.layouts._channels_first_order((2, 3, 4))
    np.testing.assert_array_equal(keras_features[:, order], torch_features)  # the row table


def test_average_pooling_divisor_keras_leaves_padding_out_torch_counts_it(torch) -> None:
    import keras

    ones = np.ones((1, 9, 9, 1))
    keras_out = keras.layers.AveragePooling2D(3, 2, padding="same", dtype="float64")(ones)
    np.testing.assert_array_equal(keras_out.numpy(), 1.0)  # real cells only: all ones
    nchw = torch.from_numpy(ones).permute(0, 3, 1, 2)
    counted = torch.nn.AvgPool2d(3, 2, padding=1)(nchw)  # count_include_pad=True by default
    assert counted[0, 0, 0, 0].item() == pytest.approx(4 / 9)  # a corner: 4 real of 9
    left_out = torch.nn.AvgPool2d(3, 2, padding=1, count_include_pad=False)(nchw)
    np.testing.assert_array_equal(left_out.numpy(), 1.0)


def test_the_spec_computes_both_divisors(torch) -> None:
    x = np.random.default_rng(1).standard_normal((2, 9, 9, 2))
    nchw = torch.from_numpy(x).permute(0, 3, 1, 2)
    for count_include_pad in (True, False):
        spec = reference.AveragePool2D(3, 2, "same", count_include_pad=count_include_pad)
        torch_out = torch.nn.AvgPool2d(3, 2, padding=1, count_include_pad=count_include_pad)
        assert _close(spec.forward(x), torch_out(nchw).permute(0, 2, 3, 1).numpy())


def test_keras_refuses_a_stride_with_a_dilation_torch_computes_it(torch) -> None:
    import keras

    with pytest.raises(ValueError, match="strides > 1` not supported in conjunction with"):
        keras.layers.Conv2D(2, 3, strides=2, dilation_rate=2, dtype="float64")(
            np.zeros((1, 9, 9, 1)))
    spec = reference.Conv2D(1, 2, 3, strides=2, dilation_rate=2, seed=0)
    x = np.random.default_rng(2).standard_normal((1, 9, 9, 1))
    out = torch.nn.functional.conv2d(torch.from_numpy(x).permute(0, 3, 1, 2),
                                     torch.from_numpy(spec.W).permute(3, 2, 0, 1),
                                     stride=2, dilation=2)
    assert _close(spec.forward(x), out.permute(0, 2, 3, 1).numpy())


def test_a_max_pooling_tie_sends_the_gradient_to_the_first_cell(tf, torch) -> None:
    x = np.zeros((1, 2, 2, 1))
    variable = tf.Variable(x)
    with tf.GradientTape() as tape:
        pooled = tf.nn.max_pool2d(variable, 2, 2, "VALID")
    tensor = torch.zeros(1, 1, 2, 2, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.max_pool2d(tensor, 2).sum().backward()
    spec = reference.MaxPool2D(2)
    spec.forward(x)
    first = [1.0, 0.0, 0.0, 0.0]
    np.testing.assert_array_equal(tape.gradient(pooled, variable).numpy().ravel(), first)
    np.testing.assert_array_equal(tensor.grad.numpy().ravel(), first)
    np.testing.assert_array_equal(spec.backward(np.ones((1, 1, 1, 1))).ravel(), first)
