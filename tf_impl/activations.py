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

import math
from collections.abc import Callable

import keras
import numpy as np
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


def exponential(z: tf.Tensor) -> tf.Tensor:
    """e^z (Keras's ``exponential``)."""
    return keras.activations.exponential(z)


# -- the spec's activations on stock Keras layers ------------------------------------------
# A layer's ``activation=`` takes a name; Keras's functions by that name, and the spec
# activation each computes. Keras's defaults are written out where they differ from the
# spec's: keras.activations.leaky_relu's slope is 0.2 (the LeakyReLU layer's 0.3), the
# spec's 0.01.
KERAS_NAMES: dict[str, tuple[str, dict[str, float]]] = {
    "linear": ("identity", {}), "sigmoid": ("sigmoid", {}), "tanh": ("tanh", {}),
    "relu": ("relu", {}), "leaky_relu": ("leaky_relu", {"negative_slope": 0.2}),
    "elu": ("elu", {}), "softmax": ("softmax", {}), "softplus": ("softplus", {}),
    "silu": ("silu", {}), "swish": ("silu", {}), "gelu": ("gelu", {}),
    "gelu_erf": ("gelu", {}), "gelu_tanh": ("gelu", {"approximate": "tanh"}),
    "exponential": ("exponential", {}),
}


@keras.saving.register_keras_serializable(package="tf_impl")
def gelu_erf(z: tf.Tensor) -> tf.Tensor:
    """½ z (1 + erf(z/√2)) for a float64 layer: Keras's ``"gelu"`` is 1.6e-8 off it there
    (TF casts the Python float 1/√2 through float32). Registered with Keras, so a saved
    model holding it loads where ``tf_impl`` is imported."""
    return gelu(z)


@keras.saving.register_keras_serializable(package="tf_impl")
def gelu_tanh(z: tf.Tensor) -> tf.Tensor:
    """The tanh form of GELU, which Keras has no activation name for. Registered as
    :func:`gelu_erf` is."""
    return gelu(z, approximate="tanh")


def leaky_relu_layer(negative_slope: float, dtype: str | None) -> keras.Layer:
    """``keras.layers.LeakyReLU(negative_slope)``; in float64 a slope that float32 cannot
    hold is a ReLU with an infinite ceiling: TF's LeakyRelu kernel keeps the slope as a
    float32 attribute (4e-8 off for 0.3), where ReLU with a ``max_value`` computes
    relu(x) − s·relu(−x) in the data's dtype."""
    if dtype == "float64" and float(np.float32(negative_slope)) != negative_slope:
        return keras.layers.ReLU(negative_slope=negative_slope, max_value=float("inf"),
                                 dtype=dtype)
    return keras.layers.LeakyReLU(negative_slope=negative_slope, dtype=dtype)


def keras_activation(name: str, params: dict[str, float], dtype: str, where: str
                     ) -> tuple[str | Callable[[tf.Tensor], tf.Tensor], list[keras.Layer]]:
    """The spec activation ``name(**params)`` as Keras: the ``activation=`` of the layer
    computing it (a Keras name), and the stock layers after that layer where no name is
    exact (a slope or α other than Keras's default). The spec's ``step`` has no Keras
    form: refused, naming ``where``. GELU has none exact in float64, nor a name for its
    tanh form: those two get the registered :func:`gelu_erf` and :func:`gelu_tanh`, which
    need ``tf_impl`` to load."""
    if name == "identity":
        return "linear", []
    if name == "leaky_relu":
        slope = params.get("negative_slope", 0.01)
        if slope == 0.2 and dtype != "float64":  # keras.activations.leaky_relu's default
            return "leaky_relu", []
        return "linear", [leaky_relu_layer(slope, dtype)]
    if name == "elu":
        alpha = params.get("alpha", 1.0)
        return ("elu", []) if alpha == 1.0 else \
            ("linear", [keras.layers.ELU(alpha=alpha, dtype=dtype)])
    if name == "gelu" and params.get("approximate", "none") == "tanh":
        return gelu_tanh, []
    if name == "gelu" and dtype == "float64":
        return gelu_erf, []
    if name in KERAS_NAMES and KERAS_NAMES[name] == (name, {}):
        return name, []
    raise TypeError(f"{where}: Keras has no activation name or layer for {name} "
                    f"{params or ''}")


def spec_activation(function: object, where: str) -> tuple[str, dict[str, float]]:
    """The spec activation (name, params) of a Keras layer's ``activation``."""
    name = getattr(function, "__name__", repr(function))
    if name not in KERAS_NAMES:
        raise TypeError(f"to_reference: {where} uses the activation {name!r}, which the spec "
                        f"has not; supported: {', '.join(sorted(KERAS_NAMES))}")
    return KERAS_NAMES[name]


def following_activation(layer: keras.Layer, where: str) -> tuple[str, dict[str, float]] | None:
    """The spec activation of a Keras activation layer right after a linear Dense or
    convolution, which the spec (and ``nn_rosetta.port``) applies inside that layer;
    ``None`` for other layers, which read as layers of their own."""
    if isinstance(layer, keras.layers.ELU):
        return "elu", {"alpha": float(layer.alpha)}
    if isinstance(layer, keras.layers.LeakyReLU):
        return "leaky_relu", {"negative_slope": float(layer.negative_slope)}
    if isinstance(layer, keras.layers.Softmax) and layer.axis in (-1, [-1]):
        return "softmax", {}
    if isinstance(layer, keras.layers.ReLU) and not layer.threshold and (
            layer.max_value is None or layer.max_value == float("inf")):
        slope = float(layer.negative_slope)
        return ("leaky_relu", {"negative_slope": slope}) if slope else ("relu", {})
    if isinstance(layer, keras.layers.Activation):
        return spec_activation(layer.activation, where)
    return None


# The port's Keras line for a spec activation: the layer's ``activation=`` argument, or a
# layer of its own after the linear one, with the convention that line bridges.
TEMPLATES: dict[str, Callable[[dict[str, float]], tuple[str, str, str] | None]] = {
    "identity": lambda p: ("", "", ""),
    **{name: (lambda p, name=name: (f'activation="{name}"', "", ""))
       for name in ("sigmoid", "tanh", "relu", "softmax", "softplus", "silu", "exponential")},
    # Keras's activation="gelu" is the exact form; its tanh form has no name to pass
    "gelu": lambda p: ('activation="gelu"', "", "") if p.get("approximate", "none") == "none"
    else None,
    "leaky_relu": lambda p: (
        ('activation="leaky_relu"', "", "") if p.get("negative_slope", 0.01) == 0.2 else
        ("", f"keras.layers.LeakyReLU(negative_slope={p.get('negative_slope', 0.01)!r})",
         "torch's slope; Keras's LeakyReLU defaults to 0.3")),
    "elu": lambda p: (('activation="elu"', "", "") if p.get("alpha", 1.0) == 1.0 else
                      ("", f"keras.layers.ELU(alpha={p['alpha']!r})", "")),
}
