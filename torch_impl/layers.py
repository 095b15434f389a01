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
* Reshape is ``nn.Unflatten`` / ``nn.Flatten`` on torch's layout, where that gives
  Keras's numbers: on a feature map torch holds (c, h, w) where Keras holds (h, w, c), so
  EfficientNet's ``Reshape((1, 1, C))`` after a global pooling is ``nn.Unflatten(1, (C, 1,
  1))``, and a reshape that mixes the channels with the pixels is moved to channels-last
  and back (:class:`Permute`) around it. Keras's ``Permute(dims)`` counts axes from 1 on
  (h, w, c); the torch module permutes torch's axes to the same effect.
* Dropout is ``nn.Dropout(p)``: inverted dropout, like the spec's. A torch module starts
  in training mode, so it drops until ``module.eval()``; the spec's and Keras's layers
  default to inference. Keras's ``noise_shape`` (one draw shared along its 1s; (None, 1,
  1, 1) is stochastic depth) has no ``torch.nn`` module: :class:`SharedDropout`, and the
  port writes ``x * self.dropout(x.new_ones(len(x), 1, 1, 1))``.

Input policy: ``nn.Linear`` takes an unbatched (in_features,) vector as one sample and
raises its own "mat1 and mat2" errors on a width or dtype mismatch. The project's entry
points (``torch_impl.fit``, the parity harness) check inputs against the spec's policy
before they reach the model; the modules themselves are torch's, unchanged.

The translation rows below (``TRANSLATIONS``) are this file's part of
``torch_impl.convert.TRANSLATIONS``: each kind's modules, how they read back, and the
port's code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
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


def _no_bias(layer: reference.layers.Layer) -> str:
    """The port's ``, bias=False`` for a layer built without one (Keras's ``use_bias=False``)."""
    return "" if layer.use_bias else ", bias=False"


def _dense(layer: reference.Dense, context: Context) -> list[nn.Module]:
    linear = nn.Linear(layer.in_features, layer.out_features, bias=layer.use_bias,
                       dtype=torch_dtype(layer.dtype))
    return [linear, *as_modules(layer.activation, linear.weight.dtype)]


def _read_dense(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    linear, activation = modules[i], following(modules, i + 1, MODULE_CLASSES)
    spec_activation = "identity" if activation is None else \
        from_module(activation, f"module {i + 1}")
    return (reference.Dense(linear.in_features, linear.out_features, spec_activation,
                            use_bias=linear.bias is not None, dtype=numpy_dtype(linear.weight)),
            1 + (activation is not None))


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


# ── Reshape and Permute: Keras's layout of a feature map against torch's ─────────────────

class Permute(nn.Module):
    """``x.permute(*dims)``, ``dims`` counting the batch axis (torchvision's
    ``ops.Permute``). torch has no such module in ``torch.nn``: users write
    ``x.permute(...)`` in ``forward``, which an ``nn.Sequential`` cannot hold.

    Shape: x (N, d₁, …, d_k) → y (N, d_{dims[1]}, …, d_{dims[k]}).
    """

    def __init__(self, dims: Sequence[int]) -> None:
        super().__init__()
        self.dims = tuple(int(d) for d in dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(*self.dims)

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


# ── Dropout with Keras's noise_shape: one draw shared along some axes ────────────────────

class SharedDropout(nn.Module):
    """Inverted dropout with one draw shared along the axes where ``noise_shape`` is 1:
    y = x ⊙ dropout(1 of noise_shape), Keras's ``Dropout(rate, noise_shape)``; ``(None, 1,
    1, 1)`` keeps or drops each sample whole (stochastic depth, torchvision's
    ``ops.StochasticDepth(p, "row")``); torch has no such module in ``torch.nn``: users write
    ``x * self.dropout(x.new_ones(len(x), 1, 1, 1))`` in ``forward``, as the port does.

    Shape: x, y (N, *); ``noise_shape``: one entry per axis of x in torch's layout, 1 or
    ``None`` (the input's size).
    """

    def __init__(self, p: float, noise_shape: Sequence[int | None]) -> None:
        super().__init__()
        self.dropout = nn.Dropout(p)
        self.noise_shape = tuple(noise_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = [size if n is None else n for n, size in zip(self.noise_shape, x.shape,
                                                             strict=True)]
        return x * self.dropout(x.new_ones(shape))

    def extra_repr(self) -> str:
        return f"p={self.dropout.p}, noise_shape={self.noise_shape}"


def _dropout(layer: reference.layers.Dropout, context: Context) -> list[nn.Module]:
    if layer.noise_shape is None:
        return [nn.Dropout(layer.rate)]
    batch, *per_sample = layer.noise_shape
    axes = _torch_axes(len(per_sample), context.feature_map)
    noise = [batch, *[None] * len(per_sample)]
    for k, n in enumerate(per_sample):  # the spec's axis k + 1 is torch's axes[k]
        noise[axes[k]] = n
    return [SharedDropout(layer.rate, noise)]


def _read_dropout(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    module = modules[i]
    if isinstance(module, nn.Dropout):
        return reference.layers.Dropout(module.p), 1
    batch, *per_sample = module.noise_shape
    axes = _torch_axes(len(per_sample), place.feature_map)
    return reference.layers.Dropout(module.dropout.p, noise_shape=(
        batch, *(module.noise_shape[a] for a in axes))), 1


def _dropout_fields(layer: reference.layers.Layer, shape: tuple[int, ...]) -> dict[str, Any]:
    """The forward line: ``self.dropout(x)``, or for a noise shape a dropout of ones of that
    shape times x, on Keras's layout (any layout when every per-sample entry is 1)."""
    if layer.noise_shape is None:
        return {"times": "", "operand": "x", "why": ""}
    sizes = ["len(x)" if k == 0 else f"x.shape[{k}]" if n is None else str(n)
             for k, n in enumerate(layer.noise_shape)]
    keras = ", ".join("None" if n is None else str(n) for n in layer.noise_shape)
    return {"times": "x * ", "operand": f"x.new_ones({', '.join(sizes)})",
            "why": f"  # Keras's noise_shape=({keras}): one draw shared where it is 1"}


SMALL_MODULES = (Permute, SharedDropout)


def _torch_axes(rank: int, channels_first: bool) -> list[int]:
    """Where each per-sample axis of the spec's layout (1 … rank) sits in torch's: the
    channels (the spec's last) move to axis 1 on a feature map."""
    if not channels_first or rank < 2:
        return list(range(1, rank + 1))
    return [*range(2, rank + 1), 1]


def _to_torch_layout(array: np.ndarray, channels_first: bool) -> np.ndarray:
    """A per-sample array in torch's layout: channels first on a feature map."""
    return np.moveaxis(array, -1, 0) if channels_first and array.ndim > 1 else array


def _reshape_modules(start: int, shape_in: tuple[int, ...], shape_out: tuple[int, ...]
                     ) -> list[nn.Module]:
    """The stock modules reshaping torch axes ``start``… of per-sample ``shape_in`` into
    ``shape_out``, leading axes they share left alone: ``nn.Flatten(s)``,
    ``nn.Unflatten(s, sizes)`` or both."""
    shared = 0
    while shared < min(len(shape_in), len(shape_out)) - 1 and \
            shape_in[shared] == shape_out[shared]:
        shared += 1
    axis, rest_in, rest_out = start + shared, shape_in[shared:], shape_out[shared:]
    if len(rest_out) == 1:
        return [nn.Flatten(axis)]
    if len(rest_in) == 1:
        return [nn.Unflatten(axis, rest_out)]
    return [nn.Flatten(axis), nn.Unflatten(axis, rest_out)]


def _reshape(layer: reference.layers.Reshape, context: Context) -> list[nn.Module]:
    """torch's reshape of its own layout where that gives Keras's numbers; else permuted to
    channels-last, reshaped, and permuted back to channels-first."""
    if not context.input_shape:
        raise TypeError(f"{layer.name}: the input shape fixes what torch's layout is; "
                        "convert it inside a reference.Sequential with its input_shape")
    shape_in = tuple(context.input_shape)
    shape_out = layer.output_shape(shape_in)
    first_in = context.feature_map and len(shape_in) > 1
    first_out = (context.feature_map or layer.channels_last) and len(shape_out) > 1
    torch_in = _to_torch_layout(np.empty(shape_in), first_in).shape
    torch_out = _to_torch_layout(np.empty(shape_out), first_out).shape
    index = np.arange(math.prod(shape_in)).reshape(shape_in)
    keras_order = _to_torch_layout(index.reshape(shape_out), first_out)
    if np.array_equal(_to_torch_layout(index, first_in).reshape(torch_out), keras_order):
        # Keras reshapes (h, w, c), torch (c, h, w): here both give the same numbers
        return _reshape_modules(1, torch_in, torch_out)
    before = [Permute((0, *range(2, len(shape_in) + 1), 1))] if first_in else []
    after = [Permute((0, len(shape_out), *range(1, len(shape_out))))] if first_out else []
    return [*before, *_reshape_modules(1, shape_in, shape_out), *after]


def _read_reshape(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    """A run of Permute, nn.Flatten and nn.Unflatten modules that :func:`_reshape` writes
    for a spec Reshape on this input; ``None`` for a lone nn.Flatten() (a Flatten) or
    a lone Permute (a Permute)."""
    shape = place.input_shape
    channels_first = place.feature_map and shape is not None and len(shape) > 1
    leading = isinstance(modules[i], Permute)
    if leading and (not channels_first or
                    modules[i].dims != (0, *range(2, len(shape) + 1), 1)):
        return None  # not the move to channels-last that _reshape writes: a Permute
    k = i + leading
    end = k
    while end < len(modules) and isinstance(modules[end], nn.Flatten | nn.Unflatten) and \
            not (end > k and isinstance(modules[end], nn.Flatten)):
        end += 1
    if end == k or (end == k + 1 and not leading and type(modules[k]) is nn.Flatten and
                    (modules[k].start_dim, modules[k].end_dim) == (1, -1)):
        return None
    if shape is None:
        raise TypeError(f"module {i} ({type(modules[i]).__name__}) reshapes an input of "
                        "unknown shape; pass input_shape")
    torch_in = _to_torch_layout(np.empty(shape), channels_first).shape
    trailing = end < len(modules) and isinstance(modules[end], Permute)
    for stop in (end + 1, end) if trailing else (end,):  # a Permute after: this one's?
        group = nn.Sequential(*modules[i:stop])
        out = group(torch.zeros(1, *torch_in))
        if out.dim() < 2 or out.shape[0] != 1:  # Keras's Reshape keeps the batch axis
            raise TypeError(f"modules {i}..{stop - 1} ({', '.join(repr(m) for m in group)}) "
                            f"reshape the batch axis; the spec's Reshape keeps it")
        torch_out = tuple(out.shape[1:])
        first_out = len(torch_out) == 3 or (place.feature_map and len(torch_out) > 1)
        target = (*torch_out[1:], torch_out[0]) if first_out else torch_out
        layer = reference.layers.Reshape(target)
        spec_place = Context(shape, feature_map=(place.feature_map or len(target) == 3)
                             and len(shape) > 1)
        written = nn.Sequential(*_reshape(layer, spec_place))
        if repr(written) == repr(group):
            return layer, stop - i
    raise TypeError(f"modules {i}..{end - 1} ({', '.join(repr(m) for m in group)}) reshape "
                    f"{shape} as no Keras Reshape does in torch's layout; Keras's "
                    f"Reshape({target}) is {list(written)}")


def _permute(layer: reference.layers.Permute, context: Context) -> list[nn.Module]:
    first = context.feature_map and len(layer.dims) > 1
    axes = _torch_axes(len(layer.dims), first)
    dims = [0] * (len(layer.dims) + 1)
    for j, d in enumerate(layer.dims):  # output axis j is input axis d, in torch's places
        dims[axes[j]] = axes[d - 1]
    return [Permute(dims)]  # Keras counts (h, w, c) from 1, torch (n, c, h, w) from 0


def _read_permute(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    dims = modules[i].dims
    if dims[0] != 0 or sorted(dims) != list(range(len(dims))):
        raise TypeError(f"module {i} ({modules[i]!r}) moves the batch axis; Keras's Permute "
                        "keeps it first")
    rank = len(dims) - 1
    axes = _torch_axes(rank, (place.feature_map or rank == 3) and rank > 1)
    spec_of = {torch_axis: k + 1 for k, torch_axis in enumerate(axes)}
    return reference.layers.Permute(tuple(spec_of[dims[axes[j]]] for j in range(rank))), 1


TRANSLATIONS = (
    Translation("Dense", _dense, _read_dense, (nn.Linear,),
                Template("nn.Linear({in_features}, {out_features}{bias})",
                         arguments=lambda layer, shape: {"bias": _no_bias(layer)})),
    # before Flatten's row: an nn.Flatten followed by an nn.Unflatten is a Reshape
    Translation("Reshape", _reshape, _read_reshape, (nn.Flatten, nn.Unflatten, Permute),
                Template(None, call="x = x.reshape(len(x), {shape})  # Keras's Reshape, "
                         "on Keras's layout", arguments=lambda layer, shape: {"shape": ", ".join(
                             str(s) for s in layer.output_shape(shape))})),
    Translation("Permute", _permute, _read_permute, (Permute,),
                Template(None, call="x = x.permute(0, {dims})  # Keras's Permute counts "
                         "from 1, after the batch axis", arguments=lambda layer, shape: {
                             "dims": ", ".join(str(d) for d in layer.dims)})),
    Translation("Flatten", lambda layer, context: [nn.Flatten()], _read_flatten, (nn.Flatten,),
                Template("nn.Flatten()", layout="any")),
    Translation("Dropout", _dropout, _read_dropout, (nn.Dropout, SharedDropout),
                Template("nn.Dropout({rate})", call="x = {times}self.{attr}({operand}){why}",
                         arguments=_dropout_fields, layout=lambda layer: "any" if
                         layer.noise_shape is None or set(layer.noise_shape[1:]) <= {1}
                         else "last")),
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
