"""The spec's layers as Keras layers, and their rows of the translation table.

* Dense is ``keras.layers.Dense``: same math, same (in, out) kernel layout. Keras's
  defaults: Glorot-uniform kernel and zero bias (the spec's too), and the layer's dtype
  policy, float32 unless told, which also casts float64 inputs to float32. Here the dtype
  is always explicit, and the layer is built at once so its weights exist.
* ``kernel_regularizer=keras.regularizers.L2(λ)`` puts λ‖W‖² into ``model.losses``,
  which a training loop adds to the loss (gradient 2λW, the bias untouched). Keras
  computes with λ rounded to float32 (its ``ops.cast`` of the Python float goes through
  a float32 tensor), a float64 model too: λ = 0.01 is 0.0099999998, so a float64 run
  drifts from the spec's and torch's by 3e-10 to 2e-9 over a few steps, a λ that float32
  holds (0.0625, 2⁻ᵏ) not at all. Left as Keras computes it, documented.
* The activation is Keras's by name (``activation="relu"``); a slope or α other than
  Keras's default is a ``keras.layers.LeakyReLU`` or ``ELU`` layer after a linear Dense
  (``tf_impl.activations.keras_activation``).
* Flatten is ``keras.layers.Flatten``: row-major, as the spec's; on Keras's channels-last
  images the order is (h, w, c), the spec's too.
* Reshape and Permute are ``keras.layers.Reshape`` and ``keras.layers.Permute``, on the
  spec's own channels-last layout: the same numbers (torch's mirror is where they differ).
* Dropout is ``keras.layers.Dropout(rate, noise_shape)``: inverted dropout, like the
  spec's, one draw shared along the noise shape's 1s (stochastic depth). Called
  directly, a Keras layer runs in inference (``training=None`` → no dropout), as the
  spec's does; ``fit`` and a ``GradientTape`` loop pass ``training=True``.

Input policy: Keras *autocasts* a float input to the layer's dtype, so a float64 batch
fed to a float32 layer loses its precision without a word. The layers are Keras's own and
do that; the project's entry points (``tf_impl.fit``, the converters, weight files)
refuse the other float dtype first, as the spec does (``tf_impl._inputs``). Flatten and
Dropout made here keep their input's dtype (``autocast=False``), as the spec's do.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

import reference
from reference.layouts import Context
from tf_impl._table import Read, Template, Translation
from tf_impl.activations import (
    TEMPLATES,
    following_activation,
    keras_activation,
    leaky_relu_layer,
    spec_activation,
)


def Dense(in_features: int, out_features: int, activation: str = "linear", *,
          kernel_regularizer: float = 0.0, use_bias: bool = True,
          dtype: str = "float64") -> keras.layers.Dense:
    """A built ``keras.layers.Dense``: y = φ(x K + b), kernel K of shape (in, out);
    ``activation``: a Keras activation name.

    Shape: x (N, in_features) → y (N, out_features). Keras layers do not take the input
    width; ``build`` does, so it is called here (Keras keeps build and call apart).
    """
    regularizer = keras.regularizers.L2(kernel_regularizer) if kernel_regularizer else None
    layer = keras.layers.Dense(out_features, activation=activation,
                               kernel_regularizer=regularizer,  # adds λ‖W‖² to model.losses
                               use_bias=use_bias, dtype=dtype)
    layer.build((None, in_features))
    return layer


def Flatten(*, dtype: str | None = None) -> keras.layers.Flatten:
    """``keras.layers.Flatten``, keeping its input's dtype. Shape: (N, *) → (N, ∏ *)."""
    return keras.layers.Flatten(dtype=dtype, autocast=False)


def Dropout(rate: float, *, noise_shape: Sequence[int | None] | None = None,
            dtype: str | None = None) -> keras.layers.Dropout:
    """``keras.layers.Dropout(rate, noise_shape)``, keeping its input's dtype. Shape: x, y
    (N, *)."""
    return keras.layers.Dropout(rate, noise_shape=noise_shape, dtype=dtype, autocast=False)


def Activation(activation: str, *, dtype: str | None = None) -> keras.layers.Activation:
    """``keras.layers.Activation(activation)``: y = φ(x) by Keras's name, keeping its
    input's dtype. Shape: x, y (N, *)."""
    return keras.layers.Activation(activation, dtype=dtype, autocast=False)


def ReLU(max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0,
         *, dtype: str | None = None) -> keras.layers.ReLU:
    """``keras.layers.ReLU``: min(x, max_value) above ``threshold``, negative_slope ·
    (x − threshold) below; keeping its input's dtype.

    NaN: with a threshold and no slope Keras computes ``where(x > threshold, x, 0)``, so a
    NaN gives 0, where the spec and torch give NaN (``keras/src/activations/
    activations.py``, ``ReLU.static_call``; ``parity_tests/fuzz/
    test_fuzz_generated_layers.py``).

    Precision: Keras casts max_value and threshold with ``ops.cast``, through float32
    even for a float64 input (conventions.md §4), so in float64 a ceiling of 0.1 clips at
    0.10000000149 and a threshold of 0.1 lets 0.1000000001 through as 0; the spec and
    torch use the float64 number. Dyadic constants (6, 0.5, 0.25) are exact in both.

    Shape: x, y (N, *)."""
    return keras.layers.ReLU(max_value=max_value, negative_slope=negative_slope,
                             threshold=threshold, dtype=dtype, autocast=False)


def LeakyReLU(negative_slope: float = 0.3, *, dtype: str | None = None
              ) -> keras.layers.LeakyReLU:
    """``keras.layers.LeakyReLU``: x for x > 0, else s·x (Keras's default s = 0.3); keeping
    its input's dtype. Shape: x, y (N, *)."""
    return keras.layers.LeakyReLU(negative_slope=negative_slope, dtype=dtype, autocast=False)


def Softmax(axis: int = -1, *, dtype: str | None = None) -> keras.layers.Softmax:
    """``keras.layers.Softmax(axis)``: e^(x_i) / Σ_j e^(x_j) along ``axis``, keeping its
    input's dtype. Shape: x, y (N, *)."""
    return keras.layers.Softmax(axis=axis, dtype=dtype, autocast=False)


def Reshape(target_shape: Sequence[int], *, dtype: str | None = None) -> keras.layers.Reshape:
    """``keras.layers.Reshape(target_shape)``: each sample's values in a new shape,
    row-major (one size may be −1), keeping its input's dtype. Shape: (N, *) → (N,
    *target_shape)."""
    return keras.layers.Reshape(tuple(target_shape), dtype=dtype, autocast=False)


def Permute(dims: Sequence[int], *, dtype: str | None = None) -> keras.layers.Permute:
    """``keras.layers.Permute(dims)``: the per-sample axes reordered, counted from 1 after
    the batch axis, keeping its input's dtype. Shape: (N, d₁, …, d_k) → (N, d_{dims[1]},
    …)."""
    return keras.layers.Permute(tuple(dims), dtype=dtype, autocast=False)


# -- the translation table's rows ------------------------------------------------------------

def activation_layers(layer: reference.layers.Layer, dtype: str,
                      where: str) -> tuple[str, list[keras.Layer]]:
    """A spec layer's activation: the Keras name and the layers after (see activations)."""
    return keras_activation(layer.activation.name, layer.activation.params, dtype, where)


def read_activation(layers: Sequence[keras.Layer], i: int, where: str
                    ) -> tuple[reference.activations.Activation, int]:
    """The activation of ``layers[i]`` (a Dense or convolution) and how many layers it
    takes: the layer's own, or, when it is linear, an activation layer right after it,
    which the spec applies inside the layer, as ``nn_rosetta.port`` groups them (anywhere
    else an activation layer is a spec layer of its own)."""
    name, params = spec_activation(layers[i].activation, where)
    if name == "identity" and i + 1 < len(layers):
        found = following_activation(layers[i + 1], f"layer {i + 1} ({layers[i + 1].name})")
        if found is not None:
            return reference.activations.get(found[0], **found[1]), 2
    return reference.activations.get(name, **params), 1


def built(layer: keras.Layer, where: str) -> None:
    """A layer with weights must be built for its weights to exist."""
    if not layer.built:
        raise ValueError(f"to_reference: {where} is not built: call the model once or build "
                         "it with an input shape, so its weights exist")


def _build_dense(layer: reference.Dense, context: Context, dtype: str) -> list[keras.Layer]:
    name, after = activation_layers(layer, layer.dtype.name, f"from_reference: {layer.name}")
    return [Dense(layer.in_features, layer.out_features, name,
                  kernel_regularizer=layer.kernel_regularizer, use_bias=layer.use_bias,
                  dtype=layer.dtype.name), *after]


def read_dense(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    main = layers[i]
    built(main, where)
    # an L2 kernel regulariser is the spec's; any other is refused (or dropped, for
    # inference) by the walker as a training option (tf_impl.convert.training_options)
    regularizer = main.kernel_regularizer
    activation, n = read_activation(layers, i, where)
    kernel = main.kernel  # LoRA's low-rank update included: the kernel the layer computes with
    return reference.Dense(int(kernel.shape[0]), int(kernel.shape[1]), activation,
                           kernel_regularizer=float(regularizer.l2) if isinstance(
                               regularizer, keras.regularizers.L2) else 0.0,
                           use_bias=main.use_bias, dtype=kernel.dtype), n


def _read_flatten(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    if layers[i].data_format != "channels_last":
        raise TypeError(f"to_reference: {where} flattens channels_first data; the spec is "
                        "channels-last")
    return reference.layers.Flatten(), 1


def _read_dropout(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    noise_shape = layers[i].noise_shape
    return reference.layers.Dropout(float(layers[i].rate), noise_shape=None if noise_shape is
                                    None else tuple(noise_shape)), 1


# The standalone activation layers keep their input's dtype when alone (autocast off), as
# the spec's do; in a model they get its dtype.

def _build_activation(layer: reference.layers.Layer, context: Context,
                      dtype: str) -> list[keras.Layer]:
    name, after = keras_activation(layer.activation.name, layer.activation.params, dtype,
                                   f"from_reference: {layer.name}")
    return after or [Activation(name, dtype=dtype)]


def _read_activation_layer(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    main = layers[i]
    if isinstance(main, keras.layers.ELU):  # Keras's ELU layer: the spec's Activation("elu")
        return reference.layers.Activation("elu", alpha=float(main.alpha)), 1
    name, params = spec_activation(main.activation, where)
    return reference.layers.Activation(name, **params), 1


def _build_relu(layer: reference.layers.ReLU, context: Context,
                dtype: str) -> list[keras.Layer]:
    if layer.max_value is None and not layer.threshold and layer.negative_slope:
        return [leaky_relu_layer(layer.negative_slope, dtype)]  # exact in float64 too
    return [ReLU(layer.max_value, layer.negative_slope, layer.threshold, dtype=dtype)]


def _read_relu(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    main = layers[i]
    ceiling = None if main.max_value is None or main.max_value == float("inf") else \
        float(main.max_value)
    return reference.layers.ReLU(**relu_constants(main, ceiling)), 1


def relu_constants(layer: keras.layers.ReLU, ceiling: float | None) -> dict[str, float | None]:
    """The numbers a Keras ReLU computes with: in float64 its ceiling is held in float32,
    and so is its slope where it has neither threshold nor ``max_value`` (None: TF's
    LeakyRelu kernel then, whose slope is a float32 attribute; ``max_value=inf`` takes
    the exact path); in float32 the numbers given."""
    slope, threshold = float(layer.negative_slope), float(layer.threshold)
    if keras.backend.standardize_dtype(layer.compute_dtype) == "float64":
        if ceiling is not None:
            ceiling = float(np.float32(ceiling))
        if layer.max_value is None and not threshold:  # Keras's own test: a ceiling of
            slope = float(np.float32(slope))  # inf takes its exact path, as any ceiling
    return {"max_value": ceiling, "negative_slope": slope, "threshold": threshold}


def _relu_template(layer: reference.layers.Layer) -> dict:
    given = {"max_value": layer.max_value, "negative_slope": layer.negative_slope or None,
             "threshold": layer.threshold or None}
    return {"arguments": ", ".join(f"{k}={v!r}" for k, v in given.items() if v is not None)}


def _activation_template(layer: reference.layers.Layer) -> dict:
    form = TEMPLATES.get(layer.activation.name, lambda p: None)(layer.activation.params)
    if form is None:
        raise TypeError(f"Keras has no activation name or layer for {layer.activation.name}")
    argument, extra, note = form  # activation="relu", or a layer of its own
    if extra:
        return {"code": extra, "note": note}
    name = argument.split("=", 1)[-1] if argument else '"linear"'
    return {"code": f"keras.layers.Activation({name})", "note": note}


TRANSLATIONS = [
    Translation("Dense", _build_dense, read_dense, (keras.layers.Dense,),
                Template("keras.layers.Dense({out_features}{bias})", activation=True,
                         arguments=lambda layer: {"bias": "" if layer.use_bias else
                                                  ", use_bias=False"}),
                modeled=("kernel_regularizer",)),
    Translation("Flatten", lambda layer, context, dtype: [Flatten(dtype=dtype)],
                _read_flatten, (keras.layers.Flatten,), Template("keras.layers.Flatten()")),
    Translation("Dropout", lambda layer, context, dtype: [
        Dropout(layer.rate, noise_shape=layer.noise_shape, dtype=dtype)],
                _read_dropout, (keras.layers.Dropout,),
                Template("keras.layers.Dropout({rate}{noise})", arguments=lambda layer: {
                    "noise": "" if layer.noise_shape is None else
                    f", noise_shape={layer.noise_shape}"})),
    Translation("Activation", _build_activation, _read_activation_layer,
                (keras.layers.Activation, keras.layers.ELU),
                Template("{code}", note="{note}", arguments=_activation_template)),
    Translation("ReLU", _build_relu, _read_relu, (keras.layers.ReLU,),
                Template("keras.layers.ReLU({arguments})", arguments=_relu_template)),
    Translation("LeakyReLU",
                lambda layer, context, dtype: [leaky_relu_layer(layer.negative_slope, dtype)],
                lambda layers, i, where: (reference.layers.LeakyReLU(
                    float(layers[i].negative_slope)), 1),
                (keras.layers.LeakyReLU,),
                Template("keras.layers.LeakyReLU(negative_slope={negative_slope!r})")),
    Translation("Reshape",
                lambda layer, context, dtype: [Reshape(layer.target_shape, dtype=dtype)],
                lambda layers, i, where: (reference.layers.Reshape(  # Keras reads None as -1
                    tuple(-1 if s is None else int(s) for s in layers[i].target_shape)), 1),
                (keras.layers.Reshape,), Template("keras.layers.Reshape({target_shape})",
                                                  arguments=lambda layer: {
                                                      "target_shape": layer.target_shape})),
    Translation("Permute",
                lambda layer, context, dtype: [Permute(layer.dims, dtype=dtype)],
                lambda layers, i, where: (reference.layers.Permute(
                    tuple(int(d) for d in layers[i].dims)), 1),
                (keras.layers.Permute,), Template("keras.layers.Permute({dims})",
                                                  arguments=lambda layer: {"dims": layer.dims})),
    Translation("Softmax",
                lambda layer, context, dtype: [Softmax(layer.axis, dtype=dtype)],
                lambda layers, i, where: (reference.layers.Softmax(int(
                    layers[i].axis if isinstance(layers[i].axis, int) else layers[i].axis[0])), 1),
                (keras.layers.Softmax,), Template("keras.layers.Softmax(axis={axis})")),
]
