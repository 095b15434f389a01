"""The spec's layers as the stock ``torch.nn`` modules a torch user writes.

* Dense is ``nn.Linear`` followed by its activation module (``nn.ReLU()``, ``nn.Tanh()``
  …; none for the identity). ``nn.Linear`` stores ``weight`` as (out, in) and computes
  ``x weightᵀ + bias``; the spec's W is (in, out), so ``torch_impl.from_reference``
  copies ``W.T`` into ``weight`` (``reference.layouts`` holds that rule as data). Default
  initialisation differs too: ``nn.Linear`` draws weight and bias from U(±1/√in_features),
  where the spec (like Keras) draws a Glorot-uniform kernel and a zero bias; parity copies
  the weights, so the initialisers never meet.
* ``kernel_regularizer`` (λ of the spec's L2 loss term λ‖W‖², Keras's ``L2(λ)``) has no
  ``nn.Linear`` counterpart: torch users write the term into the loss, and
  ``torch_impl.fit`` does so for the parameters its ``l2`` argument names
  (``torch_impl.convert.l2_penalties(spec_model)`` lists the spec's). ``weight_decay=2λ``
  would give the kernel the same step but decay the bias too.
* Flatten is ``nn.Flatten``: it flattens from axis 1 in row-major order, as the spec does.
  On torch's channels-first images that order is (c, h, w), not the spec's and Keras's
  (h, w, c).
* The standalone activation layers are torch's activation modules: Activation(φ) is φ's
  module (``nn.ReLU()``, ``nn.Softmax(dim=-1)`` …), LeakyReLU(s) ``nn.LeakyReLU(s)`` with
  the slope written out (Keras's layer defaults to 0.3, torch to 0.01), Keras's ReLU layer
  ``nn.ReLU``, ``nn.ReLU6`` (max_value=6), ``nn.Hardtanh(0, m)`` (another ceiling),
  ``nn.LeakyReLU`` (a slope) or ``nn.Threshold(t, 0)`` (a threshold); a slope or threshold
  with a ceiling has no torch module and is refused. Softmax(axis) is ``nn.Softmax(dim)``:
  the spec's last axis of a channels-last feature map is torch's ``dim=1``.
* Dropout is ``nn.Dropout(p)``: inverted dropout, like the spec's. A torch module starts
  in training mode, so it drops until ``module.eval()``; the spec's and Keras's layers
  default to inference.

Input policy: ``nn.Linear`` takes an unbatched (in_features,) vector as one sample and
raises its own "mat1 and mat2" errors on a width or dtype mismatch. The project's entry
points (``torch_impl.fit``, the parity harness) check inputs against the spec's policy
before they reach the model; the modules themselves are torch's, unchanged.

The translation rows below (``TRANSLATIONS``) are this file's part of
``torch_impl.convert.TRANSLATIONS``: each kind's modules, how they read back, and the
port's code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

import reference
from reference.layouts import Context
from torch_impl._table import (
    Read,
    Template,
    Translation,
    following,
    numpy_dtype,
    torch_dtype,
)
from torch_impl.activations import MODULE_CLASSES, as_modules, from_module


def _dense(layer: reference.Dense, context: Context) -> list[nn.Module]:
    linear = nn.Linear(layer.in_features, layer.out_features, dtype=torch_dtype(layer.dtype))
    return [linear, *as_modules(layer.activation, linear.weight.dtype)]


def _read_dense(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    linear, activation = modules[i], following(modules, i + 1, MODULE_CLASSES)
    if linear.bias is None:
        raise TypeError(f"module {i} (nn.Linear) has no bias; the spec's Dense always has one")
    spec_activation = "identity" if activation is None else \
        from_module(activation, f"module {i + 1}")
    return (reference.Dense(linear.in_features, linear.out_features, spec_activation,
                            dtype=numpy_dtype(linear.weight)), 1 + (activation is not None))


def _read_flatten(modules: Sequence[nn.Module], i: int, place: Context
                  ) -> Read:
    flatten = modules[i]
    if (flatten.start_dim, flatten.end_dim) != (1, -1):
        raise TypeError(f"module {i} flattens axes {flatten.start_dim}..{flatten.end_dim}; "
                        "the spec's Flatten keeps the batch axis and flattens all others "
                        "(1..-1)")
    return reference.layers.Flatten(), 1


def _activation(layer: reference.layers.Activation, context: Context) -> list[nn.Module]:
    dtype = torch_dtype(layer.dtype or np.float64)  # parameter-free: softplus's threshold
    return as_modules(layer.activation, dtype, context.feature_map) or [nn.Identity()]


def _read_activation(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    """An activation module on its own (after a BatchNorm, a pooling …); the Dense and
    convolution rows take the one right after their linear module first."""
    activation = from_module(modules[i], f"module {i}", place.feature_map)
    return reference.layers.Activation(activation), 1


def _relu(layer: reference.layers.ReLU, context: Context) -> list[nn.Module]:
    ceiling, slope, threshold = layer.max_value, layer.negative_slope, layer.threshold
    if threshold == 0 and ceiling is None:
        return [nn.LeakyReLU(slope) if slope else nn.ReLU()]
    if threshold == 0 and slope == 0:
        return [nn.ReLU6() if ceiling == 6 else nn.Hardtanh(0.0, ceiling)]
    if slope == 0 and ceiling is None:
        return [nn.Threshold(threshold, 0.0)]  # x above the threshold, else 0
    raise TypeError(f"{layer.name} (max_value={ceiling}, negative_slope={slope}, "
                    f"threshold={threshold}): no torch module computes a slope or a threshold "
                    "together with a ceiling, or a slope with a threshold")


def _read_relu(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    module = modules[i]
    if isinstance(module, nn.ReLU6):
        return reference.layers.ReLU(max_value=6.0), 1
    if isinstance(module, nn.Hardtanh):
        if module.min_val != 0:
            raise TypeError(f"module {i} ({module!r}) clips below at {module.min_val}; the "
                            "spec's ReLU(max_value) clips at 0")
        return reference.layers.ReLU(max_value=module.max_val), 1
    if module.value != 0:
        raise TypeError(f"module {i} ({module!r}) replaces by {module.value}; the spec's "
                        "ReLU(threshold) by 0")
    return reference.layers.ReLU(threshold=module.threshold), 1


def _softmax(layer: reference.layers.Softmax, context: Context) -> list[nn.Module]:
    if not context.input_shape:  # a lone layer: its input's rank is not known
        return [nn.Softmax(dim=layer.axis)]
    rank = len(context.input_shape) + 1  # with the batch axis
    axis = layer.axis % rank
    if context.feature_map:  # channels-last (N, H, W, C) is torch's (N, C, H, W)
        axis = 1 if axis == rank - 1 else axis + 1
    return [nn.Softmax(dim=axis)]


def _read_softmax(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    dim = modules[i].dim
    if dim is None:
        raise TypeError(f"module {i} (nn.Softmax()) has no dim; torch guesses one")
    if place.feature_map:  # torch's channels-first dim back to the spec's channels-last axis
        dim = -1 if dim == 1 else dim - 1 if dim > 1 else dim
    return reference.layers.Softmax(axis=dim), 1


def _relu_fields(layer: reference.layers.Layer, shape: tuple[int, ...]) -> dict[str, Any]:
    (module,) = _relu(layer, Context(shape))
    return {"module": f"nn.{module!r}", "note": "Keras's ReLU with max_value=6"
            if isinstance(module, nn.ReLU6) else ""}


def _softmax_fields(layer: reference.layers.Layer, shape: tuple[int, ...]) -> dict[str, Any]:
    return {"dim": layer.axis}  # the code takes Keras's channels-last layout ("last")


TRANSLATIONS = (
    Translation("Dense", _dense, _read_dense, (nn.Linear,),
                Template("nn.Linear({in_features}, {out_features})")),
    Translation("Flatten", lambda layer, context: [nn.Flatten()], _read_flatten, (nn.Flatten,),
                Template("nn.Flatten()", layout="any")),
    Translation("Dropout", lambda layer, context: [nn.Dropout(layer.rate)],
                lambda modules, i, place: (reference.layers.Dropout(modules[i].p), 1),
                (nn.Dropout,), Template("nn.Dropout({rate})", layout="any")),
    Translation("Softmax", _softmax, _read_softmax, (nn.Softmax,),
                Template("nn.Softmax(dim={dim})", arguments=_softmax_fields)),
    Translation("ReLU", _relu, _read_relu, (nn.ReLU6, nn.Hardtanh, nn.Threshold),
                Template("{module}", note="{note}", arguments=_relu_fields, layout="any")),
    # the activation wraps the line (nn_rosetta.porting); softmax needs the last axis
    Translation("Activation", _activation, _read_activation, MODULE_CLASSES,
                Template(None, call="x = x", layout=lambda layer: "last" if
                         layer.activation.name == "softmax" else "any")),
    # read back as Activation("leaky_relu", negative_slope=s), which computes the same
    Translation("LeakyReLU",
                # Keras's layer default slope is 0.3, torch's 0.01: always written out
                lambda layer, context: [nn.LeakyReLU(layer.negative_slope)],
                lambda modules, i, place: None, (), Template(None, call="x = x", layout="any")),
)
