"""Moving a spec model into torch and back, weights copied exactly, driven by the tables of
``reference.layouts``.

Each spec layer becomes its torch module (``nn.Linear`` and its activation inside
``torch_impl.layers.Dense``, ``nn.Flatten``, ``nn.Dropout``), and each row of the layer's
table says which attribute receives which spec array, through which transform (the
Dense kernel is transposed: torch's ``weight`` is (out, in)). The copies are bit for bit,
so a round trip returns the same numbers.

``to_reference`` takes what a torch user has, too: an ``nn.Sequential`` of plain
``nn.Linear`` modules, each optionally followed by an activation module (``nn.Sigmoid``,
``nn.ReLU``, ``nn.LeakyReLU(0.2)`` …), ``nn.Flatten``, ``nn.Dropout``, ``nn.BatchNorm1d`` and
``nn.LayerNorm``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

import numpy as np
import torch
from torch import nn

import reference
from reference.layouts import Context, contexts, layout, pack, time_distributed, unpack
from torch_impl import convolution, normalization, sequences
from torch_impl.layers import Dense

_DTYPES = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}

# torch's activation modules and the spec activation each computes: (name, its parameters).
_ACTIVATION_MODULES = {
    nn.Identity: lambda m: ("identity", {}),
    nn.Sigmoid: lambda m: ("sigmoid", {}),
    nn.Tanh: lambda m: ("tanh", {}),
    nn.ReLU: lambda m: ("relu", {}),
    nn.LeakyReLU: lambda m: ("leaky_relu", {"negative_slope": m.negative_slope}),
    nn.ELU: lambda m: ("elu", {"alpha": m.alpha}),
    nn.Softmax: lambda m: ("softmax", {}) if m.dim in (-1, 1) else None,
    nn.Softplus: lambda m: ("softplus", {}) if m.beta == 1 else None,
    nn.SiLU: lambda m: ("silu", {}),
    nn.GELU: lambda m: ("gelu", {} if m.approximate == "none" else
                        {"approximate": m.approximate}),
}


_CONVOLUTION_LAYERS = (reference.Conv1D, reference.Conv2D, reference.DepthwiseConv2D,
                       reference.MaxPool2D, reference.AveragePool2D,
                       reference.GlobalAveragePooling2D)
# torch modules that make a spec convolution or pooling layer (channels-first data).
_CONVOLUTION_MODULES = (nn.Conv1d, nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d,
                        convolution._Convolution, convolution.MaxPool2D,
                        convolution.AveragePool2D, convolution.GlobalAveragePooling2D)


def torch_dtype(dtype: np.dtype) -> torch.dtype:
    """The torch dtype of a spec model's NumPy dtype."""
    return _DTYPES[np.dtype(dtype)]


def _module(layer: reference.layers.Layer, context: Context | None = None) -> nn.Module:
    """The torch module of a spec layer, its weights not yet copied; ``context``: where it
    sits (a BatchNorm after a convolution sees images)."""
    if isinstance(layer, reference.Dense):
        return Dense(layer.in_features, layer.out_features, layer.activation.name,
                     kernel_regularizer=layer.kernel_regularizer,
                     dtype=torch_dtype(layer.dtype), **layer.activation.params)
    if isinstance(layer, reference.layers.Flatten):
        return nn.Flatten()
    if isinstance(layer, reference.layers.Dropout):
        return nn.Dropout(layer.rate)
    if isinstance(layer, reference.BatchNormalization):
        # torch's momentum weights the new value: 1 − m for a layer of Keras's convention
        images = context is not None and len(context.input_shape) == 3
        return normalization.BatchNormalization(layer.features, layer.momentum_as("torch"),
                                                layer.epsilon, images=images,
                                                dtype=torch_dtype(layer.dtype))
    if isinstance(layer, reference.LayerNormalization):
        return normalization.LayerNormalization(layer.features, layer.epsilon,
                                                dtype=torch_dtype(layer.dtype))
    if isinstance(layer, _CONVOLUTION_LAYERS):
        return _convolution_module(layer)
    if isinstance(layer, reference.sequences.Embedding):
        if layer.mask_zero:
            raise TypeError(f"from_reference: {layer.name} has mask_zero=True, Keras's "
                            "convention; torch has no mask to pass on (padding_idx only "
                            "freezes a row)")
        return nn.Embedding(layer.input_dim, layer.output_dim, padding_idx=layer.padding_idx,
                            dtype=torch_dtype(layer.dtype))
    if isinstance(layer, reference.sequences.GRU) and not layer.reset_after:
        raise TypeError(f"from_reference: {layer.name} has reset_after=False, which no torch "
                        "module computes (nn.GRU is reset_after=True)")
    if isinstance(layer, reference.sequences._Recurrent):
        module = getattr(sequences, type(layer).__name__)(
            layer.in_features, layer.units, return_sequences=layer.return_sequences,
            dtype=torch_dtype(layer.dtype))
        if not isinstance(layer, reference.sequences.GRU):  # the GRU's b_hh is Keras's too
            # One bias, as Keras trains it: b_hh stays 0. Trained too, it would move the sum
            # b_ih + b_hh by 2ηg per SGD step where Keras's bias moves by ηg.
            module.rnn.bias_hh_l0.requires_grad_(False)
        return module
    if isinstance(layer, reference.sequences.TimeDistributed):
        return sequences.TimeDistributed(_module(layer.layer))
    if isinstance(layer, reference.sequences.MultiHeadAttention):
        return sequences.MultiHeadAttention(layer.embed_dim, layer.num_heads,
                                            dtype=torch_dtype(layer.dtype))
    raise TypeError(f"from_reference: no torch module for spec layer {layer.name} "
                    f"({type(layer).__name__})")


def _convolution_module(layer: reference.layers.Layer) -> nn.Module:
    """The torch module of a spec convolution or pooling layer (channels-first)."""
    kind = type(layer).__name__
    if kind == "GlobalAveragePooling2D":
        return convolution.GlobalAveragePooling2D()
    if kind == "MaxPool2D":
        return convolution.MaxPool2D(layer.pool_size, layer.strides, layer.padding)
    if kind == "AveragePool2D":
        return convolution.AveragePool2D(layer.pool_size, layer.strides, layer.padding,
                                         count_include_pad=layer.count_include_pad)
    options = {"strides": layer.strides, "padding": layer.padding,
               "dilation_rate": layer.dilation_rate, "activation": layer.activation.name,
               "dtype": torch_dtype(layer.dtype), **layer.activation.params}
    if kind == "DepthwiseConv2D":
        return convolution.DepthwiseConv2D(layer.in_channels, layer.kernel_size,
                                           depth_multiplier=layer.depth_multiplier, **options)
    return getattr(convolution, kind)(layer.in_channels, layer.filters, layer.kernel_size,
                                      **options)


def _holder(module: nn.Module) -> nn.Module:
    """The module whose attributes the table's torch names refer to."""
    if isinstance(module, convolution._Convolution):
        return module.conv
    if isinstance(module, sequences._Recurrent):
        return module.rnn
    if isinstance(module, sequences.TimeDistributed):
        return module.layer.linear
    if isinstance(module, sequences.MultiHeadAttention):
        return module.attention
    return module.linear if isinstance(module, Dense) else module


def _single_shape(layer: reference.layers.Layer) -> tuple:
    """What a lone layer's Context knows of its input: Dense's width, a convolution's
    channels (last, as in the spec's layout)."""
    if isinstance(layer, reference.Dense):
        return (layer.in_features,)
    return (layer.in_channels,) if hasattr(layer, "in_channels") else ()


def _copy_in(layer: reference.layers.Layer, module: nn.Module, context: Context) -> None:
    holder = _holder(module)
    values = {**layer.parameters, **layer.state}
    with torch.no_grad():
        for row in layout(type(layer).__name__).rows:
            arrays = row.to_torch.forward(pack(tuple(values[n] for n in row.spec_names)),
                                          context)
            arrays = arrays if isinstance(arrays, tuple) else (arrays,)
            for name, array in zip(row.torch_names, arrays, strict=True):
                attrgetter(name)(holder).copy_(torch.from_numpy(np.ascontiguousarray(array)))


def from_reference(model: reference.Sequential | reference.layers.Layer) -> nn.Module:
    """A torch module computing what the spec ``model`` computes, with its exact weights."""
    if isinstance(model, reference.layers.Layer):
        module = _module(model)
        _copy_in(model, module, Context(_single_shape(model), layer=model))
        return module
    if not isinstance(model, reference.Sequential):
        raise TypeError(f"from_reference: expected a reference.Sequential or a spec layer, "
                        f"got {type(model).__name__}")
    places = contexts(model.layers, model.input_shape)
    modules = [_module(layer, context) for layer, context in zip(model.layers, places,
                                                                   strict=True)]
    for layer, module, context in zip(model.layers, modules, places, strict=True):
        _copy_in(layer, module, context)
    return nn.Sequential(*modules)


@dataclass
class _Group:
    """The modules that make one spec layer: ``main`` (and an activation module after an
    ``nn.Linear``), with the position of ``main`` in the torch Sequential."""

    index: int
    main: nn.Module
    activation: nn.Module | None = None


def _groups(modules: Sequence[nn.Module]) -> list[_Group]:
    groups: list[_Group] = []
    for k, module in enumerate(modules):
        if type(module) in _ACTIVATION_MODULES:
            last = groups[-1] if groups else None
            if last is None or not isinstance(last.main, nn.Linear | nn.Conv1d | nn.Conv2d) \
                    or last.activation:
                raise TypeError(f"to_reference: module {k} ({type(module).__name__}) must "
                                "directly follow an nn.Linear or nn.Conv1d/2d: the spec applies "
                                "an activation inside its Dense and convolution layers")
            last.activation = module
        elif isinstance(module, (Dense, nn.Linear, nn.Flatten, nn.Dropout, nn.BatchNorm1d,
                                 nn.BatchNorm2d, nn.LayerNorm, nn.Embedding,
                                 sequences._Recurrent, sequences.TimeDistributed,
                                 sequences.MultiHeadAttention, *_CONVOLUTION_MODULES)):
            groups.append(_Group(k, module))
        else:
            supported = "torch_impl.layers.Dense, nn.Linear (+ an activation module), " \
                        "nn.Flatten, nn.Dropout, nn.Conv1d, nn.Conv2d (+ an activation module), " \
                        "nn.MaxPool2d, nn.AvgPool2d, torch_impl.convolution's layers, " \
                        "nn.BatchNorm1d/2d, nn.LayerNorm, " \
                        "nn.Embedding, torch_impl.sequences' SimpleRNN, LSTM, GRU (an " \
                        "nn.RNN/LSTM/GRU returns a tuple: wrap it)"
            raise TypeError(f"to_reference: module {k} ({type(module).__name__}) has no spec "
                            f"counterpart; supported: {supported}; activations: "
                            f"{', '.join(sorted(c.__name__ for c in _ACTIVATION_MODULES))}")
    return groups


def _activation(group: _Group) -> reference.activations.Activation:
    if group.activation is None:
        return reference.activations.get("identity")
    found = _ACTIVATION_MODULES[type(group.activation)](group.activation)
    if found is None:
        raise TypeError(f"to_reference: module {group.index + 1} ({group.activation!r}) "
                        "computes no spec activation (softmax over the last axis, softplus "
                        "with beta=1)")
    name, params = found
    return reference.activations.get(name, **params)


def _padding(group: _Group, conv: nn.Module, pad: nn.Module | None = None) -> str:
    """The spec's padding ("valid" or TF's "same") of a torch convolution or pooling."""
    if isinstance(pad, convolution.SamePadding) or conv.padding == "same":
        return "same"
    pads = (conv.padding,) * 2 if isinstance(conv.padding, int) else conv.padding
    if conv.padding == "valid" or not any(pads):
        return "valid"
    kernel, dilation = tuple(conv.kernel_size), getattr(conv, "dilation", (1,) * len(pads))
    stride = conv.stride if isinstance(conv.stride, tuple) else (conv.stride,) * len(pads)
    if all(s == 1 and 2 * p == d * (k - 1)
           for p, k, s, d in zip(pads, kernel, stride, dilation, strict=True)):
        return "same"  # symmetric padding at stride 1 that keeps the size: TF's "same"
    raise TypeError(f"to_reference: module {group.index} ({type(conv).__name__}) pads {pads} "
                    "symmetrically; the spec pads by TF's rule only ('valid', or 'same': "
                    "⌈n/s⌉ outputs, the odd cell at the bottom/right)")


def _convolution_layer(group: _Group) -> reference.layers.Layer:
    """The spec layer of a torch convolution or pooling group."""
    main, where = group.main, f"module {group.index} ({type(group.main).__name__})"
    if isinstance(main, convolution.GlobalAveragePooling2D):
        return reference.GlobalAveragePooling2D()
    if isinstance(main, convolution.MaxPool2D | convolution.AveragePool2D):
        pool, padding = main.pool, _padding(group, main.pool, main.pad)
        if isinstance(main, convolution.MaxPool2D):
            return reference.MaxPool2D(pool.kernel_size, pool.stride, padding)
        return reference.AveragePool2D(pool.kernel_size, pool.stride, padding,
                                       count_include_pad=padding == "same" and
                                       not main.divide_by_real_cells)
    if isinstance(main, nn.MaxPool2d | nn.AvgPool2d):
        if main.padding not in (0, (0, 0)) or main.ceil_mode or \
                getattr(main, "dilation", 1) not in (1, (1, 1)):
            raise TypeError(f"to_reference: {where} pads, dilates or rounds its output size "
                            "up; the spec pools without padding or with TF's 'same'")
        pooling = reference.MaxPool2D if isinstance(main, nn.MaxPool2d) else \
            reference.AveragePool2D
        return pooling(main.kernel_size, main.stride, "valid")
    if isinstance(main, convolution._Convolution):
        conv, padding = main.conv, _padding(group, main.conv, main.pad)
        activation = reference.activations.get(main.activation_name, **main.activation_params)
    else:
        conv, padding, activation = main, _padding(group, main), _activation(group)
    if conv.bias is None or conv.padding_mode != "zeros":
        raise TypeError(f"to_reference: {where} has no bias or pads other than with zeros; "
                        "the spec's convolutions have a bias and pad with zeros")
    options = {"strides": conv.stride, "padding": padding, "dilation_rate": conv.dilation,
               "activation": activation, "dtype": conv.weight.detach().numpy().dtype}
    if conv.groups == 1:
        kind = reference.Conv1D if isinstance(conv, nn.Conv1d) else reference.Conv2D
        return kind(conv.in_channels, conv.out_channels, conv.kernel_size, **options)
    if conv.groups == conv.in_channels and isinstance(conv, nn.Conv2d):
        return reference.DepthwiseConv2D(conv.in_channels, conv.kernel_size,
                                         depth_multiplier=conv.out_channels // conv.in_channels,
                                         **options)
    raise TypeError(f"to_reference: {where} has groups={conv.groups}; the spec has ordinary "
                    "(groups=1) and depthwise (groups=in_channels) convolutions")


def _layer(group: _Group) -> reference.layers.Layer:
    """The spec layer of a group, its weights not yet copied."""
    main = group.main
    if isinstance(main, _CONVOLUTION_MODULES):
        return _convolution_layer(group)
    if isinstance(main, nn.Embedding | sequences._Recurrent | sequences.TimeDistributed |
                  sequences.MultiHeadAttention):
        return _sequence_layer(group)
    regularizer = 0.0
    if isinstance(main, Dense):
        activation = reference.activations.get(main.activation_name, **main.activation_params)
        regularizer = main.kernel_regularizer
        main = main.linear
    elif isinstance(main, nn.Linear):
        activation = _activation(group)
    elif isinstance(main, nn.Flatten):
        if (main.start_dim, main.end_dim) != (1, -1):
            raise TypeError(f"to_reference: module {group.index} flattens axes "
                            f"{main.start_dim}..{main.end_dim}; the spec's Flatten keeps the "
                            "batch axis and flattens all others (1..-1)")
        return reference.layers.Flatten()
    elif isinstance(main, nn.BatchNorm1d | nn.BatchNorm2d | nn.LayerNorm):
        return _normalization(group)
    else:
        return reference.layers.Dropout(main.p)
    if main.bias is None:
        raise TypeError(f"to_reference: module {group.index} (nn.Linear) has no bias; the "
                        "spec's Dense always has one")
    return reference.Dense(main.in_features, main.out_features, activation,
                           kernel_regularizer=regularizer,
                           dtype=main.weight.detach().numpy().dtype)


def _normalization(group: _Group) -> reference.layers.Layer:
    """The spec layer of an ``nn.BatchNorm1d`` or ``nn.LayerNorm``, refused by name where
    the spec has no counterpart."""
    main, where = group.main, f"to_reference: module {group.index} ({group.main!r})"
    if getattr(main, "weight", None) is None or getattr(main, "bias", None) is None:
        raise TypeError(f"{where} has no learnable weight or bias; the spec's always has both")
    dtype = main.weight.detach().numpy().dtype
    if isinstance(main, nn.LayerNorm):
        if len(main.normalized_shape) != 1:
            raise TypeError(f"{where} normalises over {len(main.normalized_shape)} axes; the "
                            "spec's LayerNormalization over the last one")
        return reference.LayerNormalization(main.normalized_shape[0], main.eps,
                                            convention="torch", dtype=dtype)
    if main.momentum is None or not main.track_running_stats:
        raise TypeError(f"{where} keeps no exponential running average (momentum=None or "
                        "track_running_stats=False); the spec's BatchNormalization does")
    return reference.BatchNormalization(main.num_features, main.momentum, main.eps,
                                        convention="torch", dtype=dtype)


def _sequence_layer(group: _Group) -> reference.layers.Layer:
    """The spec layer of an embedding, recurrent or time-distributed module."""
    main, where = group.main, f"module {group.index} ({type(group.main).__name__})"
    if isinstance(main, sequences.TimeDistributed):
        return reference.sequences.TimeDistributed(_layer(_Group(group.index, main.layer)))
    if isinstance(main, sequences.MultiHeadAttention):
        attention = main.attention
        return reference.sequences.MultiHeadAttention(
            attention.embed_dim, attention.num_heads,
            dtype=attention.in_proj_weight.detach().numpy().dtype)
    if isinstance(main, nn.Embedding):
        if main.max_norm is not None or main.scale_grad_by_freq:
            raise TypeError(f"to_reference: {where} renormalises rows or scales gradients; "
                            "the spec's Embedding does neither")
        return reference.sequences.Embedding(main.num_embeddings, main.embedding_dim,
                                             padding_idx=main.padding_idx,
                                             dtype=main.weight.detach().numpy().dtype)
    rnn = main.rnn
    if rnn.num_layers != 1 or rnn.bidirectional or not rnn.bias or not rnn.batch_first or \
            getattr(rnn, "nonlinearity", "tanh") != "tanh" or getattr(rnn, "proj_size", 0):
        raise TypeError(f"to_reference: {where} must be one layer, one direction, with "
                        "biases, batch first and tanh, as the spec's")
    return getattr(reference.sequences, type(main).__name__)(
        rnn.input_size, rnn.hidden_size, return_sequences=main.return_sequences,
        dtype=rnn.weight_ih_l0.detach().numpy().dtype)


def _copy_out(layer: reference.layers.Layer, module: nn.Module, context: Context,
              gradients: bool = False) -> dict[str, np.ndarray]:
    """The spec arrays of ``layer`` from the torch ``module``: its weights, or with
    ``gradients`` their ``.grad``."""
    holder, found = _holder(module), {}
    for row in layout(type(layer).__name__).rows:
        if gradients and not row.trainable:  # running statistics have no gradient
            continue
        tensors = [attrgetter(name)(holder) for name in row.torch_names]
        arrays = tuple((t if not gradients else t.grad if t.requires_grad else
                        torch.zeros_like(t)).detach().cpu().numpy() for t in tensors)
        arrays = arrays if len(arrays) > 1 else arrays[0]
        found.update(unpack(row.spec_names, row.to_torch.inverse_gradient(arrays, context)
                            if gradients else row.to_torch.inverse(arrays, context)))
    return found


def _walk(module: nn.Module, input_shape: Sequence[int] | None
          ) -> tuple[reference.Sequential | reference.layers.Layer,
                     list[tuple[reference.layers.Layer, _Group, Context]]]:
    """The spec model of ``module`` (weights not yet copied), and each of its layers with
    the torch modules that make it and its place in the model."""
    if not isinstance(module, nn.Sequential):
        groups = _groups([module])
        model = _layer(groups[0])
        shape = _single_shape(model)
        return model, [(model, groups[0], Context(shape, layer=model))]
    groups = _groups(list(module))
    layers = time_distributed([_layer(group) for group in groups])
    try:
        model = reference.Sequential(layers, input_shape=input_shape)
    except (TypeError, ValueError) as error:
        raise type(error)(f"to_reference: {error}") from None
    shape = model.input_shape
    return model, list(zip(layers, groups, contexts(layers, shape), strict=True))


def to_reference(module: nn.Module, *, input_shape: Sequence[int] | None = None
                 ) -> reference.Sequential | reference.layers.Layer:
    """The spec model equal to a torch module: one built by :func:`from_reference`, or an
    ``nn.Sequential`` of plain modules (see the module docstring).

    ``input_shape``: the per-sample input shape, needed only when the first module does
    not fix it (a Flatten first). Anything without a spec counterpart is refused by name.
    """
    model, walk = _walk(module, input_shape)
    for layer, group, context in walk:
        for name, array in _copy_out(layer, group.main, context).items():
            layer.set(name, array)
    return model


def gradients_to_reference(module: nn.Module, *, input_shape: Sequence[int] | None = None
                           ) -> list[dict[str, np.ndarray]]:
    """Each spec layer's gradients from the ``.grad`` that ``loss.backward()`` left on
    ``module``'s parameters, named and laid out as the spec's (the kernel's transposed
    back to (in, out))."""
    _, walk = _walk(module, input_shape)
    return [_copy_out(layer, group.main, context, gradients=True)
            for layer, group, context in walk]
