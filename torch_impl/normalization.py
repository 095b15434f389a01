"""The spec's normalisation layers as ``torch.nn`` modules.

* ``BatchNormalization`` is ``nn.BatchNorm1d`` over the features of (N, C), and
  ``nn.BatchNorm2d`` over the channels of torch's channels-first images (N, C, H, W),
  the spec's and Keras's (N, H, W, C) permuted at the boundary. Its momentum
  weights the new batch statistic, r ← (1 − m) r + m s, default 0.1; Keras's weights
  the old value, default 0.99, so a Keras model ported to torch needs
  ``momentum=1 - m_keras`` (``torch_impl.from_reference`` writes that line). ε defaults to
  1e-5 (Keras 1e-3). A training batch is normalised with its biased variance, but
  ``running_var`` averages the unbiased one, σ² n/(n − 1), so a batch of one
  (n = 1) is refused in training. A module starts in training mode: it uses the batch's
  statistics and updates ``running_mean``/``running_var`` at every call until
  ``module.eval()`` (a Keras layer called directly runs in inference).
* ``LayerNormalization`` is ``nn.LayerNorm(features)``: statistics over the last axis,
  ε 1e-5 (Keras 1e-3).

Input policy (the spec's, ``reference._validation``): ``nn.BatchNorm1d`` alone would also
take (N, C, L), with C on axis 1, and raise its own error on the other float dtype. The
modules here are the torch classes with the spec's check in a forward pre-hook
(``torch_impl._inputs.spec_input_policy``), so ``forward`` is torch's own.
"""

from __future__ import annotations

import torch
from torch import nn

from torch_impl._inputs import features_input, spec_input_policy


@spec_input_policy(features_input)
class BatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` under the spec's input policy."""


@spec_input_policy(features_input)
class BatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` under the spec's input policy."""


@spec_input_policy(features_input)
class LayerNorm(nn.LayerNorm):
    """``nn.LayerNorm`` under the spec's input policy."""


def BatchNormalization(features: int, momentum: float = 0.1, epsilon: float = 1e-5, *,
                       images: bool = False, dtype: torch.dtype = torch.float64
                       ) -> nn.BatchNorm1d | nn.BatchNorm2d:
    """``nn.BatchNorm1d``: y = γ (x − μ)/√(σ² + ε) + β over the batch, per feature;
    ``nn.BatchNorm2d`` for ``images``, per channel over the batch and the pixels.

    ``momentum`` in torch's meaning, the weight of the new value (from a Keras model:
    ``1 - keras_momentum``).

    Shape: x, y (N, C), or (N, C, H, W) channels-first for ``images``; weight, bias,
    running_mean, running_var (C,).
    """
    module = BatchNorm2d if images else BatchNorm1d
    return module(features, eps=epsilon, momentum=momentum, dtype=dtype)


def LayerNormalization(features: int, epsilon: float = 1e-5, *,
                       dtype: torch.dtype = torch.float64) -> nn.LayerNorm:
    """``nn.LayerNorm``: y = γ (x − μ)/√(σ² + ε) + β over the last axis, per sample.

    Shape: x, y (N, *, C); weight, bias (C,).
    """
    return LayerNorm(features, eps=epsilon, dtype=dtype)
