"""The spec's activations with ``keras.activations`` and ``tf`` ops, by the same names.

Derivatives come from ``tf.GradientTape``, so there is no ``*_derivative`` here.
Conventions bridged to the spec:

* ``leaky_relu``: Keras's default slope is 0.2 (0.3 for the ``LeakyReLU`` layer), the
  spec's and torch's 0.01; the slope is always passed explicitly. TF's ``LeakyRelu`` op
  also stores the slope as a float32 attribute, so in float64 a slope of 0.01 acts as
  0.0099999998 (a relative error of 2e-9); float64 inputs therefore get ``tf.where``
  with the slope applied in float64.
* ``gelu``: the exact erf form, composed from ``tf.math.erf``. TF's fused kernel
  (``keras.activations.gelu(approximate=False)``, ``tf.nn.gelu``) is up to 5e-9 off that
  formula in float64, far from float64's precision; the composition is within 1e-15.
  The spec's ``approximate="tanh"`` (torch's string) is Keras's ``approximate=True``,
  which is also the default of ``keras.ops.gelu``; it differs from the exact form by up
  to 4e-4. Its fused kernel is up to 9e-10 off the tanh formula in float64, so float64
  inputs get the formula written out.
* ``sigmoid`` and ``softmax`` outputs carry a hidden ``_keras_logits`` attribute that
  Keras's probability losses silently use instead of the probabilities
  (``tf_impl.losses`` removes it).
* ``step``: ``keras.ops.heaviside(z, 0)`` has no gradient registered: the tape returns
  ``None``, TF's honest answer for a function with no useful gradient. It returns 0 at
  NaN, where the spec (like ``np.heaviside``) keeps NaN: Keras's convention, kept
  (``parity_tests/test_nonfinite.py`` shows both sides).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import keras
import tensorflow as tf

_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def identity(z: tf.Tensor) -> tf.Tensor:
    """φ(z) = z (Keras's ``linear``)."""
    return keras.activations.linear(z)


def step(z: tf.Tensor) -> tf.Tensor:
    """1 if z > 0 else 0 (value 0 at z = 0, and at NaN: Keras's convention, see above)."""
    return keras.ops.heaviside(z, tf.zeros((), dtype=z.dtype))


def sigmoid(z: tf.Tensor) -> tf.Tensor:
    """σ(z) = 1 / (1 + e^(−z))."""
    return keras.activations.sigmoid(z)


def tanh(z: tf.Tensor) -> tf.Tensor:
    """tanh(z)."""
    return keras.activations.tanh(z)


def relu(z: tf.Tensor) -> tf.Tensor:
    """max(0, z)."""
    return keras.activations.relu(z)


def leaky_relu(z: tf.Tensor, negative_slope: float = 0.01) -> tf.Tensor:
    """z if z > 0 else s·z (the spec's default slope, not Keras's 0.2)."""
    if z.dtype == tf.float64:  # the op's float32 slope attribute would round s
        return tf.where(z > 0, z, negative_slope * z)
    return keras.activations.leaky_relu(z, negative_slope=negative_slope)


def elu(z: tf.Tensor, alpha: float = 1.0) -> tf.Tensor:
    """z if z > 0 else α(e^z − 1)."""
    return keras.activations.elu(z, alpha=alpha)


def softmax(z: tf.Tensor) -> tf.Tensor:
    """e^(z_i) / Σ_j e^(z_j) over the last axis."""
    return keras.activations.softmax(z, axis=-1)


def softplus(z: tf.Tensor) -> tf.Tensor:
    """log(1 + e^z)."""
    return keras.activations.softplus(z)


def silu(z: tf.Tensor) -> tf.Tensor:
    """z·σ(z) (Keras's ``silu``, the same function as ``swish``)."""
    return keras.activations.silu(z)


def gelu(z: tf.Tensor, approximate: str = "none") -> tf.Tensor:
    """z·Φ(z) = ½ z (1 + erf(z/√2)); ``approximate="tanh"``: Keras's ``approximate=True``."""
    if approximate == "none":
        return 0.5 * z * (1.0 + tf.math.erf(z * _SQRT_HALF))  # Keras's fused kernel: 5e-9 off
    if z.dtype == tf.float64:  # the fused tanh kernel is 9e-10 off its formula in float64
        return 0.5 * z * (1.0 + tf.tanh(_SQRT_2_OVER_PI * (z + 0.044715 * z**3)))
    return keras.activations.gelu(z, approximate=True)


def get(name: str, **params: float) -> Callable[[tf.Tensor], tf.Tensor]:
    """The callable to pass as ``keras.layers.Dense(activation=...)`` for ``name``.

    It is a ``functools.partial`` so the name and parameters can be read back
    (``.func.__name__``, ``.keywords``).
    """
    functions = {f.__name__: f for f in (identity, step, sigmoid, tanh, relu, leaky_relu, elu,
                                         softmax, softplus, silu, gelu)}
    if name not in functions:
        raise ValueError(f"unknown activation {name!r}")
    return functools.partial(functions[name], **params)
