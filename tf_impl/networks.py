"""The spec's Sequential is Keras's own ``keras.Sequential``.

There is no ``backward``: inside ``with tf.GradientTape() as tape:`` the forward pass is
recorded, and ``tape.gradient(loss, model.trainable_variables)`` returns
[kernel, bias, kernel, bias, …] gradients in layer order, kernels (in, out) like the spec.

Input policy: a Keras model converts a float input to the dtype of its ``keras.Input``
and its layers, so a float32 batch given to a float64 model is silently upcast (and
``model.fit``'s data pipeline first casts every float array to ``floatx``, float32 by
default). The model is Keras's, so it does that; the project's entry points
(``tf_impl.fit``, the converters, weight files) refuse the other float dtype before it
reaches the model, with the spec's messages (``tf_impl._inputs``).
"""

from __future__ import annotations

import keras

Sequential = keras.Sequential
