"""The spec's Dense layer is ``keras.layers.Dense``: same math, same (in, out) kernel layout.

Keras's defaults: Glorot-uniform kernel and zero bias (the spec's too), and the layer's
dtype policy, float32 unless told, which also casts float64 inputs to float32. Here the
dtype is always explicit, and the layer is built at once so its weights exist.
"""

from __future__ import annotations

import keras

from tf_impl.activations import get


def Dense(in_features: int, out_features: int, activation: str = "identity", *,
          dtype: str = "float64", **activation_params: float) -> keras.layers.Dense:
    """A built ``keras.layers.Dense``: y = φ(x K + b), kernel K of shape (in, out).

    Shape: x (N, in_features) → y (N, out_features). Keras layers do not take the input
    width; ``build`` does, so it is called here (Keras keeps build and call apart).
    """
    layer = keras.layers.Dense(out_features, activation=get(activation, **activation_params),
                               dtype=dtype)
    layer.build((None, in_features))
    return layer
