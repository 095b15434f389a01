"""The spec's Dense layer is ``keras.layers.Dense``: same math, same (in, out) kernel layout.

Keras's defaults: Glorot-uniform kernel and zero bias (the spec's too), and the layer's
dtype policy, float32 unless told, which also casts float64 inputs to float32. Here the
dtype is always explicit, and the layer is built at once so its weights exist.

Input policy (the spec's, ``reference._validation``): Keras *autocasts* a float input
to the layer's dtype, so a float64 batch fed to a float32 layer loses its precision
without a word. This Dense turns autocasting off and applies the spec's policy instead:
the other float dtype is refused, integer input is converted explicitly, and the input
must be (N, in_features). Keras's own input spec already refuses a wrong width or a
missing batch axis, naming the layer.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from reference._validation import check_batch, float_conversion
from tf_impl.activations import get


def checked_input(where: str, x: tf.Tensor, dtype: str, width: int) -> tf.Tensor:
    """``x`` after the spec's input policy: (N, width), ``dtype``, integers converted."""
    target = float_conversion(where, "input x", x.dtype, dtype)
    check_batch(where, "input x", x.shape, width)
    return x if target is None else tf.cast(x, target)


@keras.saving.register_keras_serializable(package="tf_impl")
class CheckedDense(keras.layers.Dense):
    """``keras.layers.Dense`` that applies the spec's input policy instead of autocasting."""

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        inputs = checked_input(self.name, inputs, self.compute_dtype, self.kernel.shape[0])
        return super().call(inputs, training=training)


def Dense(in_features: int, out_features: int, activation: str = "identity", *,
          dtype: str = "float64", **activation_params: float) -> keras.layers.Dense:
    """A built ``keras.layers.Dense``: y = φ(x K + b), kernel K of shape (in, out).

    Shape: x (N, in_features) → y (N, out_features). Keras layers do not take the input
    width; ``build`` does, so it is called here (Keras keeps build and call apart).
    """
    layer = CheckedDense(out_features, activation=get(activation, **activation_params),
                         dtype=dtype, autocast=False)
    layer.build((None, in_features))
    return layer
