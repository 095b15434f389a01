"""Convolution and pooling as Keras writes them: ``keras.layers.Conv2D``, ``MaxPooling2D``,
… on channels-last data, (N, H, W, C), the spec's layout too, so nothing is permuted.

* Conv2D, Conv1D, DepthwiseConv2D: kernels (k_h, k_w, in, out), (k, in, out) and
  (k_h, k_w, C, M), as the spec's. ``padding="same"`` is TF's rule at every stride (the
  odd padded cell at the bottom or right); Keras refuses strides above 1 together with a
  dilation above 1 (torch and the spec compute it).
* MaxPooling2D, AveragePooling2D: ``"same"`` pads by the same rule; AveragePooling2D
  always leaves the padded cells out of the divisor (torch's ``count_include_pad=False``).
* GlobalAveragePooling2D: the mean over H and W.

As with Dense, the dtype is explicit on every layer, the layers with weights are built at
once, and their input follows the spec's policy instead of Keras's autocasting
(``tf_impl._inputs.spec_input_policy``, outside the class bodies).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from tf_impl._inputs import layer_input, spec_input_policy
from tf_impl.activations import get


@keras.saving.register_keras_serializable(package="tf_impl")
@spec_input_policy(layer_input)
class CheckedConv2D(keras.layers.Conv2D):
    """``keras.layers.Conv2D`` under the spec's input policy instead of autocasting."""


@keras.saving.register_keras_serializable(package="tf_impl")
@spec_input_policy(layer_input)
class CheckedConv1D(keras.layers.Conv1D):
    """``keras.layers.Conv1D`` under the spec's input policy instead of autocasting."""


@keras.saving.register_keras_serializable(package="tf_impl")
@spec_input_policy(layer_input)
class CheckedDepthwiseConv2D(keras.layers.DepthwiseConv2D):
    """``keras.layers.DepthwiseConv2D`` under the spec's input policy."""


def Conv2D(in_channels: int, filters: int, kernel_size: int | Sequence[int], *,
           strides: int | Sequence[int] = 1, padding: str = "valid",
           dilation_rate: int | Sequence[int] = 1, activation: str = "identity",
           dtype: str = "float64", **activation_params: float) -> keras.layers.Conv2D:
    """A built ``keras.layers.Conv2D``: y = φ(conv(x, kernel) + bias), kernel
    (k_h, k_w, in_channels, filters).

    Shape: x (N, H, W, in_channels) → y (N, H', W', filters).
    """
    layer = CheckedConv2D(filters, kernel_size, strides=strides, padding=padding,
                          dilation_rate=dilation_rate,
                          activation=get(activation, **activation_params), dtype=dtype,
                          autocast=False)
    layer.build((None, None, None, in_channels))
    return layer


def Conv1D(in_channels: int, filters: int, kernel_size: int | Sequence[int], *,
           strides: int | Sequence[int] = 1, padding: str = "valid",
           dilation_rate: int | Sequence[int] = 1, activation: str = "identity",
           dtype: str = "float64", **activation_params: float) -> keras.layers.Conv1D:
    """A built ``keras.layers.Conv1D``, kernel (k, in_channels, filters).

    Shape: x (N, L, in_channels) → y (N, L', filters).
    """
    layer = CheckedConv1D(filters, kernel_size, strides=strides, padding=padding,
                          dilation_rate=dilation_rate,
                          activation=get(activation, **activation_params), dtype=dtype,
                          autocast=False)
    layer.build((None, None, in_channels))
    return layer


def DepthwiseConv2D(in_channels: int, kernel_size: int | Sequence[int], *,
                    depth_multiplier: int = 1, strides: int | Sequence[int] = 1,
                    padding: str = "valid", dilation_rate: int | Sequence[int] = 1,
                    activation: str = "identity", dtype: str = "float64",
                    **activation_params: float) -> keras.layers.DepthwiseConv2D:
    """A built ``keras.layers.DepthwiseConv2D``, kernel (k_h, k_w, C, depth_multiplier).

    Shape: x (N, H, W, C) → y (N, H', W', C·depth_multiplier).
    """
    layer = CheckedDepthwiseConv2D(kernel_size, strides=strides, padding=padding,
                                   depth_multiplier=depth_multiplier,
                                   dilation_rate=dilation_rate,
                                   activation=get(activation, **activation_params),
                                   dtype=dtype, autocast=False)
    layer.build((None, None, None, in_channels))
    return layer


def MaxPool2D(pool_size: int | Sequence[int] = 2, strides: int | Sequence[int] | None = None,
              padding: str = "valid", *, dtype: str = "float64") -> keras.layers.MaxPooling2D:
    """``keras.layers.MaxPooling2D``. Shape: x (N, H, W, C) → y (N, H', W', C)."""
    return keras.layers.MaxPooling2D(pool_size, strides, padding, dtype=dtype)


def AveragePool2D(pool_size: int | Sequence[int] = 2,
                  strides: int | Sequence[int] | None = None, padding: str = "valid", *,
                  dtype: str = "float64") -> keras.layers.AveragePooling2D:
    """``keras.layers.AveragePooling2D``: under ``"same"`` the divisor counts only the
    real cells of a window. Shape: x (N, H, W, C) → y (N, H', W', C)."""
    return keras.layers.AveragePooling2D(pool_size, strides, padding, dtype=dtype)


def GlobalAveragePooling2D(*, dtype: str = "float64") -> keras.layers.GlobalAveragePooling2D:
    """``keras.layers.GlobalAveragePooling2D``. Shape: x (N, H, W, C) → y (N, C)."""
    return keras.layers.GlobalAveragePooling2D(dtype=dtype)
