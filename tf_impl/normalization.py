"""The spec's normalisation layers as Keras layers.

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

Input policy (the spec's, ``reference._validation``): built with ``dtype="float64"``,
either layer would compute a float32 input in float64 without a word. The layers here
apply the spec's policy first (``tf_impl._inputs.spec_input_policy``, outside the class
body): the other float dtype is refused, integers are converted, and the last axis must
hold the features.
"""

from __future__ import annotations

import keras

from tf_impl._inputs import features_input, spec_input_policy


@keras.saving.register_keras_serializable(package="tf_impl")
@spec_input_policy(features_input)
class CheckedBatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` under the spec's input policy."""


@keras.saving.register_keras_serializable(package="tf_impl")
@spec_input_policy(features_input)
class CheckedLayerNormalization(keras.layers.LayerNormalization):
    """``keras.layers.LayerNormalization`` under the spec's input policy."""


def BatchNormalization(features: int, momentum: float = 0.99, epsilon: float = 1e-3, *,
                       dtype: str = "float64", input_shape: tuple[int, ...] | None = None
                       ) -> keras.layers.BatchNormalization:
    """A built ``keras.layers.BatchNormalization``: y = γ (x − μ)/√(σ² + ε) + β.

    ``momentum`` in Keras's meaning, the weight of the old value (from a torch model:
    ``1 - torch_momentum``). ``input_shape``: per sample, (features,) unless told (an image
    (H, W, C)): Keras builds the layer for one rank.

    Shape: x, y (N, *, C); gamma, beta, moving_mean, moving_variance (C,).
    """
    layer = CheckedBatchNormalization(momentum=momentum, epsilon=epsilon, dtype=dtype,
                                      autocast=False)  # autocast off: the policy decides
    layer.build((None, *(input_shape or (features,))))
    return layer


def LayerNormalization(features: int, epsilon: float = 1e-3, *,
                       dtype: str = "float64") -> keras.layers.LayerNormalization:
    """A built ``keras.layers.LayerNormalization``: y = γ (x − μ)/√(σ² + ε) + β over the
    last axis.

    Shape: x, y (N, *, C); gamma, beta (C,).
    """
    layer = CheckedLayerNormalization(epsilon=epsilon, dtype=dtype,
                                      autocast=False)  # autocast off: the policy decides
    layer.build((None, features))
    return layer
