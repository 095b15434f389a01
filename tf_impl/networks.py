"""The spec's Sequential is Keras's own ``keras.Sequential``, with the spec's input policy.

There is no ``backward``: inside ``with tf.GradientTape() as tape:`` the forward pass is
recorded, and ``tape.gradient(loss, model.trainable_variables)`` returns
[kernel, bias, kernel, bias, …] gradients in layer order, kernels (in, out) like the spec.

Input policy: a Keras model converts any input to the dtype of its ``keras.Input``, so a
float32 batch given to a float64 model is silently upcast (and ``fit``'s data pipeline
first casts every float array to ``floatx``, float32 by default, so a float64 model
trained with ``fit`` sees float32-rounded data unless ``keras.config.set_floatx("float64")``
is set). This Sequential checks its input against its first layer before Keras converts
it: the other float dtype is refused, integer input converted, and (N, in_features)
required, with the spec's messages.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_impl.layers import checked_input


@keras.saving.register_keras_serializable(package="tf_impl")
class Sequential(keras.Sequential):
    """``keras.Sequential`` whose input is checked like the spec's (see above)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.autocast = False  # else Keras casts the input to the model's dtype before call

    def call(self, inputs: tf.Tensor, training: bool | None = None, mask: object = None,
             **kwargs: object) -> tf.Tensor:
        first = self.layers[0] if self.layers else None
        if isinstance(first, keras.layers.Dense) and first.built:
            inputs = checked_input("Sequential", inputs, first.compute_dtype,
                                   first.kernel.shape[0])
        return super().call(inputs, training=training, mask=mask, **kwargs)
