"""The spec's Sequential is Keras's own ``keras.Sequential``, with the spec's input policy.

There is no ``backward``: inside ``with tf.GradientTape() as tape:`` the forward pass is
recorded, and ``tape.gradient(loss, model.trainable_variables)`` returns
[kernel, bias, kernel, bias, …] gradients in layer order, kernels (in, out) like the spec.

Input policy: a Keras model converts any input to the dtype of its ``keras.Input``, so a
float32 batch given to a float64 model is silently upcast (and ``fit``'s data pipeline
first casts every float array to ``floatx``, float32 by default, so a float64 model
trained with ``fit`` sees float32-rounded data unless ``keras.config.set_floatx("float64")``
is set). This Sequential checks its input against its first layer before Keras converts
it (``tf_impl._inputs.model_input``): the other float dtype is refused, integer input
converted, and (N, in_features) required, with the spec's messages.
"""

from __future__ import annotations

import keras

from tf_impl._inputs import model_input, spec_input_policy


@keras.saving.register_keras_serializable(package="tf_impl")
@spec_input_policy(model_input)
class Sequential(keras.Sequential):
    """``keras.Sequential`` whose input is checked like the spec's (see above)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.autocast = False  # else Keras casts the input to the model's dtype before call
