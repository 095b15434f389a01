"""The spec's normalisation layers as the stock ``torch.nn`` modules.

* ``BatchNormalization`` is ``nn.BatchNorm1d`` over the features of (N, C), and
  ``nn.BatchNorm2d`` over the channels of torch's channels-first images (N, C, H, W),
  the spec's and Keras's (N, H, W, C) permuted at the boundary. Its momentum
  weights the new batch statistic, r ← (1 − m) r + m s, default 0.1; Keras's weights
  the old value, default 0.99, so a Keras model ported to torch needs
  ``momentum=1 - m_keras`` (``torch_impl.from_reference`` writes that). ε defaults to
  1e-5 (Keras 1e-3). A training batch is normalised with its biased variance, but
  ``running_var`` averages the unbiased one, σ² n/(n − 1). A module starts in training
  mode: it uses the batch's statistics and updates ``running_mean``/``running_var`` at
  every call until ``module.eval()`` (a Keras layer called directly runs in inference).
* ``LayerNormalization`` is ``nn.LayerNorm(features)``: statistics over the last axis,
  ε 1e-5 (Keras 1e-3).

* Keras's preprocessing layers ``Rescaling`` (x · scale + offset) and ``Normalization``
  ((x − mean) / max(√variance, 1e-7), the statistics given) have no torch module: two
  small modules here, the statistics buffers of the second, on torch's channel dim 1 of a
  feature map.

Input policy: ``nn.BatchNorm1d`` alone would also take (N, C, L), with C on axis 1, and
raise its own error on the other float dtype; the project's entry points check inputs
before they reach the model (``torch_impl.fit``, the parity harness).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

import reference
from reference.layouts import Context
from reference.normalization import (
    NORMALIZATION_FLOOR,
    normalization_statistics,
    rescaling_constants,
)
from torch_impl._inputs import checked
from torch_impl._table import Read, Template, Translation, numpy_dtype, torch_dtype


def _batch_norm(layer: reference.BatchNormalization, context: Context) -> list[nn.Module]:
    images = len(context.input_shape) == 3  # after a convolution: per channel of (N, C, H, W)
    kind = nn.BatchNorm2d if images else nn.BatchNorm1d
    # momentum_as("torch"): torch's momentum weights the new value, Keras's the old (1 − m)
    module = kind(layer.features, eps=layer.epsilon, momentum=layer.momentum_as("torch"),
                  dtype=torch_dtype(layer.dtype))
    # Keras's scale=False / center=False: torch's affine is both or neither, so γ stays 1
    # (β 0) by not being trained
    module.weight.requires_grad_(layer.scale)
    module.bias.requires_grad_(layer.center)
    return [module]


def _affine(module: nn.Module, i: int) -> None:
    if getattr(module, "weight", None) is None or getattr(module, "bias", None) is None:
        raise TypeError(f"module {i} ({module!r}) has no learnable weight or bias; the "
                        "spec's always has both")


def fixed_at(parameter: torch.nn.Parameter | None, value: float) -> bool:
    """A parameter not trained and equal to ``value`` everywhere: Keras's γ of scale=False
    (1) or β of center=False (0), as _batch_norm writes them."""
    return parameter is not None and not parameter.requires_grad and \
        bool(torch.all(parameter == value))


# The value at which _batch_norm freezes a parameter the spec's layer lacks
FIXED_AFFINE = {"weight": 1.0, "bias": 0.0}


def frozen_affine(norm: nn.Module) -> tuple[str, ...]:
    """The parameters _batch_norm freezes: γ of 1 (scale=False), β of 0 (center=False)."""
    return tuple(name for name, value in FIXED_AFFINE.items()
                 if fixed_at(getattr(norm, name), value))


def fixed_affine(model: nn.Module) -> dict[str, float]:
    """The γ of 1 and β of 0 frozen in ``model``'s batch normalisations (Keras's
    scale=False / center=False, the spec's layer without γ / β), by state_dict name,
    with the value each must keep: a weight file writing another would make the layer
    one the spec has not (``torch_impl.load_weights`` refuses it, as the spec's and
    Keras's refuse a file with γ for a layer without)."""
    return {f"{prefix}.{name}" if prefix else name: FIXED_AFFINE[name]
            for prefix, norm in model.named_modules()
            if isinstance(norm, nn.BatchNorm1d | nn.BatchNorm2d)
            for name in frozen_affine(norm)}


def _read_batch_norm(modules: Sequence[nn.Module], i: int, place: Context
                     ) -> Read:
    norm = modules[i]
    _affine(norm, i)
    if norm.momentum is None or not norm.track_running_stats:
        raise TypeError(f"module {i} ({norm!r}) keeps no exponential running average "
                        "(momentum=None or track_running_stats=False); the spec's "
                        "BatchNormalization does")
    frozen = frozen_affine(norm)
    return reference.BatchNormalization(norm.num_features, norm.momentum, norm.eps,
                                        center="bias" not in frozen,
                                        scale="weight" not in frozen, convention="torch",
                                        dtype=numpy_dtype(norm.weight)), 1


def _layer_norm(layer: reference.LayerNormalization, context: Context) -> list[nn.Module]:
    return [nn.LayerNorm(layer.features, eps=layer.epsilon, dtype=torch_dtype(layer.dtype))]


def _read_layer_norm(modules: Sequence[nn.Module], i: int, place: Context
                     ) -> Read:
    norm = modules[i]
    _affine(norm, i)
    if len(norm.normalized_shape) != 1:
        raise TypeError(f"module {i} ({norm!r}) normalises over {len(norm.normalized_shape)} "
                        "axes; the spec's LayerNormalization over the last one")
    return reference.LayerNormalization(norm.normalized_shape[0], norm.eps, convention="torch",
                                        dtype=numpy_dtype(norm.weight)), 1


def _batch_norm_fields(layer: reference.layers.Layer, shape: tuple[int, ...]
                       ) -> dict[str, Any]:
    arguments, bridged = [str(layer.features)], []
    if layer.epsilon != 1e-5:
        arguments.append(f"eps={layer.epsilon!r}")
        bridged.append(f"Keras's ε {layer.epsilon:g}")
    if layer.convention == "keras":
        arguments.append(f"momentum=1 - {layer.momentum!r}")
        bridged.append("its momentum weights the old mean, torch's the new")
    elif layer.momentum != 0.1:
        arguments.append(f"momentum={layer.momentum!r}")
    fixed = [(flag, value) for flag, value, kept in (
        ("scale", "weight = 1", layer.scale), ("center", "bias = 0", layer.center)) if not kept]
    if fixed:  # torch's affine is both or neither: the weights.pt holds the 1 (0)
        bridged.append(f"Keras's {' and '.join(f'{flag}=False' for flag, _ in fixed)}: "
                       f"{' and '.join(value for _, value in fixed)}; to train as Keras, "
                       "freeze it with requires_grad_(False)")
    return {"arguments": ", ".join(arguments), "note": "; ".join(bridged),
            "d": "2d" if len(shape) == 3 else "1d"}


def _layer_norm_fields(layer: reference.layers.Layer, shape: tuple[int, ...]
                       ) -> dict[str, Any]:
    if layer.epsilon == 1e-5:
        return {"arguments": str(layer.features), "note": ""}
    return {"arguments": f"{layer.features}, eps={layer.epsilon!r}",
            "note": f"Keras's ε {layer.epsilon:g}; torch's default is 1e-5"}


# ── Rescaling and Normalization: fixed, elementwise preprocessing ────────────────────────

class Rescaling(nn.Module):
    """y = x · scale + offset: Keras's ``Rescaling`` layer. torch has no module for it
    (torchvision's transforms act on data, not inside a model); torch users write the
    expression in ``forward``.

    Shape: x, y (N, *) any shape.
    """

    @checked(rescaling_constants, "Rescaling")
    def __init__(self, scale: float, offset: float = 0.0) -> None:
        super().__init__()
        self.scale, self.offset = float(scale), float(offset)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.offset

    def extra_repr(self) -> str:
        return f"scale={self.scale!r}, offset={self.offset!r}"


class Normalization(nn.Module):
    """y = (x − mean) / max(√variance, 1e-7) per feature along ``dim``: Keras's
    ``Normalization`` with a given mean and variance. torch has no module for it:
    ``nn.BatchNorm2d`` in eval mode divides by √(variance + ε) and, in training mode (a
    module's default), normalises by the batch's statistics instead. ``mean`` and
    ``variance`` are buffers, so ``state_dict`` carries them, and never trained.

    Shape: x, y (N, *) with C features on ``dim`` (1: channels-first maps and (N, C));
    mean, variance (C,) or (), kept as given (float64 unless told) and cast to x's dtype.
    """

    @checked(normalization_statistics, "Normalization")
    def __init__(self, mean: torch.Tensor, variance: torch.Tensor, dim: int = 1) -> None:
        super().__init__()
        self.dim = int(dim)
        self.register_buffer("mean", torch.as_tensor(mean).clone())
        self.register_buffer("variance", torch.as_tensor(variance).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = [1] * x.dim()
        if self.mean.dim():
            shape[self.dim] = -1
        # the statistics in x's dtype, as Keras casts them to its compute dtype
        mean, variance = self.mean.to(x.dtype), self.variance.to(x.dtype)
        divisor = variance.sqrt().clamp_min(NORMALIZATION_FLOOR)  # Keras's floor, not ε
        return (x - mean.view(shape)) / divisor.view(shape)

    def extra_repr(self) -> str:
        return f"features={self.mean.numel()}, dim={self.dim}"


SMALL_MODULES = (Rescaling, Normalization)


def _features_dim(context: Context) -> int:
    """The axis of the features in torch: 1 on a channels-first feature map and on
    (N, C), the last otherwise (a sequence, batch-first)."""
    shape = context.input_shape or ()
    return 1 if context.feature_map or len(shape) <= 1 else -1


def _rescaling_fields(layer: reference.layers.Layer, shape: tuple[int, ...]
                      ) -> dict[str, Any]:
    offset = layer.offset
    return {"shift": "" if offset == 0 else f" {'-' if offset < 0 else '+'} {abs(offset)!r}"}


def _normalization(layer: reference.Normalization, context: Context) -> list[nn.Module]:
    # Keras's features are on the last axis; a feature map's are on torch's dim 1
    return [Normalization(torch.from_numpy(layer.mean), torch.from_numpy(layer.variance),
                          dim=_features_dim(context))]


def _read_normalization_module(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    module = modules[i]
    expected = _features_dim(place)
    rank = len(place.input_shape) + 1 if place.input_shape is not None else None
    if rank is not None and module.dim % rank != expected % rank and module.mean.dim():
        raise TypeError(f"module {i} ({module!r}) normalises dim {module.dim}; here the "
                        f"features are on dim {expected}")
    return reference.Normalization(module.mean.double().numpy(),
                                   module.variance.double().numpy()), 1


TRANSLATIONS = (
    Translation("BatchNormalization", _batch_norm, _read_batch_norm,
                (nn.BatchNorm1d, nn.BatchNorm2d),
                Template("nn.BatchNorm{d}({arguments})", note="{note}",
                         arguments=_batch_norm_fields, layout="channels"),
                frozen=frozen_affine),
    Translation("LayerNormalization", _layer_norm, _read_layer_norm, (nn.LayerNorm,),
                Template("nn.LayerNorm({arguments})", note="{note}",
                         arguments=_layer_norm_fields)),
    Translation("Rescaling", lambda layer, context: [Rescaling(layer.scale, layer.offset)],
                lambda modules, i, place: (reference.Rescaling(modules[i].scale,
                                                               modules[i].offset), 1),
                (Rescaling,), Template(None, call="x = x * {scale!r}{shift}  # Keras's "
                                       "Rescaling", arguments=_rescaling_fields, layout="any")),
    Translation("Normalization", _normalization, _read_normalization_module, (Normalization,),
                Template(None, call="x = x - x.new_tensor({mean})  # Keras's Normalization\n"
                         "x = x / x.new_tensor({variance}).sqrt().clamp_min(1e-7)  # Keras's "
                         "floor, not torch's + eps")),
)
