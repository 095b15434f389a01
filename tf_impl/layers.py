"""The spec's layers as Keras layers.

* Dense is ``keras.layers.Dense``: same math, same (in, out) kernel layout. Keras's
  defaults: Glorot-uniform kernel and zero bias (the spec's too), and the layer's dtype
  policy, float32 unless told, which also casts float64 inputs to float32. Here the dtype
  is always explicit, and the layer is built at once so its weights exist.
* ``kernel_regularizer=keras.regularizers.L2(λ)`` puts λ‖W‖² into ``model.losses``,
  which a training loop adds to the loss (gradient 2λW, the bias untouched).
* Flatten is ``keras.layers.Flatten``: row-major, as the spec's; on Keras's channels-last
  images the order is (h, w, c), the spec's too.
* Dropout is ``keras.layers.Dropout(rate)``: inverted dropout, like the spec's. Called
  directly, a Keras layer runs in inference (``training=None`` → no dropout), as the
  spec's does; ``fit`` and a ``GradientTape`` loop pass ``training=True``.

Keras layers without weights (Flatten, Dropout) also follow the dtype policy: built
without ``dtype=``, they cast a float64 input to float32 silently. ``tf_impl.convert``
gives them the model's dtype.

Input policy (the spec's, ``reference._validation``): Keras *autocasts* a float input
to the layer's dtype, so a float64 batch fed to a float32 layer loses its precision
without a word. The Dense here turns autocasting off and applies the spec's policy
instead (``tf_impl._inputs.spec_input_policy``, outside the class body): the other
float dtype is refused, integer input is converted explicitly, and the input must be
(N, in_features). Keras's own input spec already refuses a wrong width or a missing
batch axis, naming the layer.
"""

from __future__ import annotations

import keras

from tf_impl._inputs import dense_input, spec_input_policy
from tf_impl.activations import get

Flatten = keras.layers.Flatten
Dropout = keras.layers.Dropout


@keras.saving.register_keras_serializable(package="tf_impl")
@spec_input_policy(dense_input)
class CheckedDense(keras.layers.Dense):
    """``keras.layers.Dense`` under the spec's input policy instead of autocasting."""


def Dense(in_features: int, out_features: int, activation: str = "identity", *,
          kernel_regularizer: float = 0.0, dtype: str = "float64",
          **activation_params: float) -> keras.layers.Dense:
    """A built ``keras.layers.Dense``: y = φ(x K + b), kernel K of shape (in, out).

    Shape: x (N, in_features) → y (N, out_features). Keras layers do not take the input
    width; ``build`` does, so it is called here (Keras keeps build and call apart).
    """
    regularizer = keras.regularizers.L2(kernel_regularizer) if kernel_regularizer else None
    layer = CheckedDense(out_features, activation=get(activation, **activation_params),
                         kernel_regularizer=regularizer,  # adds λ‖W‖² to model.losses
                         dtype=dtype, autocast=False)  # autocast off: the policy decides
    layer.build((None, in_features))
    return layer
