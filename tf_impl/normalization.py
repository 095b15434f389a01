"""The spec's normalisation layers as Keras layers, and their rows of the translation table.

* ``BatchNormalization`` is ``keras.layers.BatchNormalization`` (axis −1, channels-last:
  statistics over every other axis). Its momentum weights the old running value,
  r ← m r + (1 − m) s, default 0.99 (torch's 0.1 weights the new one: m_torch =
  1 − m_keras); ε defaults to 1e-3 (torch 1e-5); ``moving_variance`` averages the biased
  batch variance (torch's ``running_var`` the unbiased one). Called directly, the layer
  runs in inference (``training=None``) with the moving statistics; ``fit`` and a
  ``GradientTape`` loop pass ``training=True``, which uses the batch's statistics and
  updates the moving ones. ``trainable=False`` forces inference even then. A batch of one
  is allowed in training: its variance is 0 and the output is β.
* ``LayerNormalization`` is ``keras.layers.LayerNormalization``: statistics over the last
  axis, ε 1e-3 (torch 1e-5). It computes x·(γ/√(σ² + ε)) + (β − μ·γ/√(σ² + ε)), the same
  number as γ (x − μ)/√(σ² + ε) + β up to rounding.
* ``Rescaling`` and ``Normalization`` (given mean and variance) are Keras's preprocessing
  layers: nothing learned, the statistics constructor arguments, not weights (``adapt``
  makes them the weights ``mean`` and ``variance``, which ``to_reference`` reads too).
  Normalization divides by max(√variance, 1e-7). On the TF backend a Python float or list
  given to either reaches a float64 layer through float32, and a .keras file stores them
  so: the converter gives Rescaling one-element float64 arrays and Normalization its
  statistics as the weights ``mean`` and ``variance``, and ``to_reference`` reads the
  numbers Keras computes with (a list's float32 rounding included).

Built with ``dtype="float64"``, either layer computes a float32 input in float64 without a
word (Keras's autocasting); the project's entry points refuse the other float dtype first
(``tf_impl._inputs``).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

import reference
from reference.layouts import Context
from reference.normalization import normalization_statistics, rescaling_constants
from tf_impl._inputs import checked
from tf_impl._table import Read, Template, Translation
from tf_impl.layers import built


def BatchNormalization(features: int, momentum: float = 0.99, epsilon: float = 1e-3, *,
                       center: bool = True, scale: bool = True, dtype: str = "float64",
                       input_shape: tuple[int, ...] | None = None
                       ) -> keras.layers.BatchNormalization:
    """A built ``keras.layers.BatchNormalization``: y = γ (x − μ)/√(σ² + ε) + β.

    ``momentum`` in Keras's meaning, the weight of the old value (from a torch model:
    ``1 - torch_momentum``). ``input_shape``: per sample, (features,) unless told (an image
    (H, W, C)): Keras builds the layer for one rank.

    Shape: x, y (N, *, C); gamma, beta, moving_mean, moving_variance (C,); no gamma with
    ``scale=False``, no beta with ``center=False``.
    """
    layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon, center=center,
                                            scale=scale, dtype=dtype)
    layer.build((None, *(input_shape or (features,))))
    return layer


def LayerNormalization(features: int, epsilon: float = 1e-3, *,
                       dtype: str = "float64") -> keras.layers.LayerNormalization:
    """A built ``keras.layers.LayerNormalization``: y = γ (x − μ)/√(σ² + ε) + β over the
    last axis.

    Shape: x, y (N, *, C); gamma, beta (C,).
    """
    layer = keras.layers.LayerNormalization(epsilon=epsilon, dtype=dtype)
    layer.build((None, features))
    return layer


@checked(rescaling_constants)
def Rescaling(scale: float, offset: float = 0.0, *,
              dtype: str | None = None) -> keras.layers.Rescaling:
    """``keras.layers.Rescaling(scale, offset)``: y = x · scale + offset, scale and offset
    cast to the layer's dtype. Shape: x, y (N, *).

    On the TF backend ``tf.cast`` makes a Python float a float32 tensor first, so a
    float64 layer given ``scale=1/255`` multiplies by 1/255 rounded to float32 (2e-10 off),
    and a NumPy float64 scalar is saved as a Python float; a one-element float64 array
    stays float64, and is saved with its dtype."""
    # float64 arrays of one element: a Python float reaches a float64 layer through float32
    return keras.layers.Rescaling(np.array([scale], np.float64), np.array([offset], np.float64),
                                  dtype=dtype)


@checked(normalization_statistics)
def Normalization(mean: object, variance: object, axis: int = -1, *,
                  dtype: str | None = None) -> keras.layers.Normalization:
    """``keras.layers.Normalization(axis, mean=…, variance=…)``: y = (x − mean) /
    max(√variance, 1e-7) per feature of ``axis``, the statistics given (no ``adapt``).
    Shape: x, y (N, *, C); mean, variance (C,) or one number.

    Keras converts a Python list of statistics to a float32 tensor before casting it to the
    layer's dtype, so a float64 layer given ``mean=[0.1]`` uses 0.1 rounded to float32;
    float64 arrays stay float64."""
    # float64 arrays: a Python list would reach a float64 layer through float32
    return keras.layers.Normalization(axis=axis, mean=np.asarray(mean, np.float64),
                                      variance=np.asarray(variance, np.float64), dtype=dtype)


def _read_rescaling(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    main = layers[i]
    if np.size(main.scale) != 1 or np.size(main.offset) != 1:
        raise TypeError(f"to_reference: {where} scales by an array ({main.scale!r}, "
                        f"{main.offset!r}); the spec's Rescaling takes one scale and offset")
    return reference.Rescaling(_applied(main.scale), _applied(main.offset)), 1


def _applied(constant: object) -> float:
    """The number a Keras Rescaling computes with: a Python number goes through a float32
    tensor (``tf.cast``), so ``1/255`` is float32(1/255) even in a float64 layer; an array
    or a NumPy scalar keeps its own dtype."""
    if type(constant) in (int, float):
        return float(np.float32(constant))  # the bridge: Keras's float32 constant
    return float(np.ravel(constant)[0])


def _build_normalization(layer: reference.Normalization, context: Context,
                         dtype: str) -> list[keras.Layer]:
    """Keras's Normalization with the statistics as its weights ``mean`` and ``variance``
    (as ``adapt`` leaves them): float64 kept, and saved exactly in a .keras file, where a
    layer given ``mean=`` stores Python lists and reads them back through float32."""
    if not context.input_shape:  # a lone layer: the statistics as arguments
        return [Normalization(layer.mean, layer.variance, dtype=dtype)]
    made = keras.layers.Normalization(axis=-1, dtype=dtype)
    made.build((None, *context.input_shape))
    features = (context.input_shape[-1],)
    made.adapt_mean.assign(np.broadcast_to(layer.mean, features))
    made.adapt_variance.assign(np.broadcast_to(layer.variance, features))
    made.finalize_state()  # what adapt() ends with: the weights into the computation
    return [made]


def _read_normalization_layer(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    """Keras's Normalization, its statistics given (``mean=``) or adapted (its ``mean``
    and ``variance`` weights)."""
    main = layers[i]
    config = main.get_config()
    # a built layer's statistics have its input's rank: axis 3 of a 4-d input is the last
    last = {(-1,)} | ({(len(main.mean.shape) - 1,)} if main.built else set())
    if tuple(main.axis) not in last or config["invert"]:
        raise TypeError(f"to_reference: {where} normalises over axis {main.axis} or inverts; "
                        "the spec's Normalization standardises the last axis (-1)")
    if config["mean"] is not None and main.built:  # the statistics Keras computes with:
        # given as Python lists (as a .keras file gives them) they reach even a float64
        # layer through float32, which its config does not show
        return reference.Normalization(*(np.reshape(keras.ops.convert_to_numpy(value), -1)
                                         for value in (main.mean, main.variance))), 1
    if config["mean"] is not None:
        return reference.Normalization(config["mean"], config["variance"]), 1
    built(main, where)  # adapted: the statistics are weights
    return reference.Normalization(main.adapt_mean.numpy(), main.adapt_variance.numpy()), 1


def _input_rank(layer: keras.Layer) -> int | None:
    """The rank of the input a layer of a model was called on (a LayerNormalization keeps
    no input spec, so ``axis=[1]`` of a 2-d input is its last axis only by this); None for
    a layer called on no symbolic input, or on several."""
    try:
        return len(layer.input.shape)
    except (AttributeError, ValueError):
        return None


# -- the translation table's rows ------------------------------------------------------------

def _read_normalization(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    """The spec layer of a Keras BatchNormalization or LayerNormalization, refused by name
    where the spec has no counterpart."""
    main = layers[i]
    built(main, where)
    axes = list(main.axis) if isinstance(main.axis, list | tuple) else [main.axis]
    spec = main.input_spec
    rank = spec.ndim if spec is not None and spec.ndim else _input_rank(main)
    last = [rank - 1] if rank else [-1]
    if axes not in ([-1], last):
        raise TypeError(f"to_reference: {where} normalises over axis {main.axis}; the spec's "
                        "layers are channels-last (axis -1)")
    layer_norm = isinstance(main, keras.layers.LayerNormalization)
    if (layer_norm and not (main.center and main.scale)) or \
            getattr(main, "rms_scaling", False) or getattr(main, "renorm", False):
        raise TypeError(f"to_reference: {where} lacks γ or β, or uses rms_scaling or renorm; "
                        "the spec's LayerNormalization has γ and β, and neither option")
    if layer_norm:
        return reference.LayerNormalization(int(main.gamma.shape[0]), float(main.epsilon),
                                            convention="keras", dtype=main.gamma.dtype), 1
    statistics = main.moving_mean
    return reference.BatchNormalization(int(statistics.shape[0]), float(main.momentum),
                                        float(main.epsilon), center=main.center,
                                        scale=main.scale, convention="keras",
                                        dtype=statistics.dtype), 1


def _batch_norm_template(layer: reference.layers.Layer) -> dict:
    if layer.convention == "keras":
        return {"arguments": f"momentum={layer.momentum!r}, epsilon={layer.epsilon!r}",
                "note": ""}
    return {"arguments": f"momentum=1 - {layer.momentum!r}, epsilon={layer.epsilon!r}",
            "note": "torch's momentum weights the new mean, Keras's the old; torch's ε"}


def _build_batch_norm(layer: reference.BatchNormalization, context: Context,
                      dtype: str) -> list[keras.Layer]:
    # Keras's momentum weights the old value: 1 − m for a layer of torch's convention
    return [BatchNormalization(layer.features, layer.momentum_as("keras"), layer.epsilon,
                               center=layer.center, scale=layer.scale, dtype=layer.dtype.name,
                               input_shape=context.input_shape or None)]


TRANSLATIONS = [
    Translation("BatchNormalization", _build_batch_norm, _read_normalization,
                (keras.layers.BatchNormalization,),
                Template("keras.layers.BatchNormalization({arguments})", note="{note}",
                         arguments=_batch_norm_template)),
    Translation("LayerNormalization",
                lambda layer, context, dtype: [LayerNormalization(
                    layer.features, layer.epsilon, dtype=layer.dtype.name)],
                _read_normalization, (keras.layers.LayerNormalization,),
                Template("keras.layers.LayerNormalization(epsilon={epsilon!r})",
                         note="torch's ε; Keras's default is 1e-3")),
    Translation("Rescaling",
                lambda layer, context, dtype: [Rescaling(layer.scale, layer.offset,
                                                         dtype=dtype)],
                _read_rescaling, (keras.layers.Rescaling,)),
    Translation("Normalization",
                _build_normalization, _read_normalization_layer, (keras.layers.Normalization,)),
]
# No port_to_keras template for Rescaling and Normalization: written as Python numbers their
# statistics reach a float64 Keras layer through float32 (the converter passes float64
# arrays and weights), and the generated source imports keras only.
