"""Moving a spec model into Keras and back, weights copied exactly, driven by the tables of
``reference.layouts``.

Each spec layer becomes its Keras layer (``keras.layers.Dense``, ``Flatten``,
``Dropout``), and each row of the layer's table says which Keras weight receives which
spec array, through which transform (for Dense none: Keras's kernel is (in, out), like
the spec's). The dtype is set per layer (``dtype="float64"``) rather than through the
global ``floatx``.

``to_reference`` takes what a Keras user has, too: a ``keras.Sequential`` of plain
``keras.layers.Dense`` (any activation the spec has, by name), ``Activation`` and
``LeakyReLU`` layers after a linear Dense, ``Flatten``, ``Dropout``,
``BatchNormalization`` and ``LayerNormalization`` (channels-last).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

import keras
import numpy as np
import tensorflow as tf

import reference
from reference.layouts import Context, contexts, layout, pack, time_distributed, unpack
from tf_impl import convolution, normalization, sequences
from tf_impl.layers import Dense
from tf_impl.networks import Sequential

# Keras's activation functions (by ``__name__``) and the spec activation each computes.
# Keras's defaults are written out where they differ from the spec's: leaky_relu's slope
# is 0.2 in keras.activations (0.3 in the LeakyReLU layer), the spec's 0.01.
_KERAS_ACTIVATIONS = {
    "linear": ("identity", {}), "sigmoid": ("sigmoid", {}), "tanh": ("tanh", {}),
    "relu": ("relu", {}), "leaky_relu": ("leaky_relu", {"negative_slope": 0.2}),
    "elu": ("elu", {}), "softmax": ("softmax", {}), "softplus": ("softplus", {}),
    "silu": ("silu", {}), "swish": ("silu", {}), "gelu": ("gelu", {}),
}


def _keras_layer(layer: reference.layers.Layer, dtype: str,
                 context: Context | None = None) -> keras.Layer:
    """The Keras layer of a spec layer, its weights not yet copied; ``dtype``: the model's
    (a Keras layer without weights would otherwise cast its input to float32); ``context``:
    where it sits (a BatchNorm is built for its input's rank)."""
    if isinstance(layer, reference.Dense):
        return Dense(layer.in_features, layer.out_features, layer.activation.name,
                     kernel_regularizer=layer.kernel_regularizer, dtype=layer.dtype.name,
                     **layer.activation.params)
    if isinstance(layer, reference.layers.Flatten):
        return keras.layers.Flatten(dtype=dtype)
    if isinstance(layer, reference.layers.Dropout):
        return keras.layers.Dropout(layer.rate, dtype=dtype)
    if isinstance(layer, reference.BatchNormalization):
        # Keras's momentum weights the old value: 1 − m for a layer of torch's convention
        return normalization.BatchNormalization(
            layer.features, layer.momentum_as("keras"), layer.epsilon, dtype=layer.dtype.name,
            input_shape=None if context is None else context.input_shape)
    if isinstance(layer, reference.LayerNormalization):
        return normalization.LayerNormalization(layer.features, layer.epsilon,
                                                dtype=layer.dtype.name)
    if isinstance(layer, _CONVOLUTION_LAYERS):
        return _convolution_layer(layer, dtype)
    if isinstance(layer, reference.sequences.Embedding):
        if layer.padding_idx is not None:
            raise TypeError(f"from_reference: {layer.name} has padding_idx, torch's "
                            "convention; Keras has none (its mask_zero masks, and row 0 learns)")
        return sequences.Embedding(layer.input_dim, layer.output_dim,
                                   mask_zero=layer.mask_zero, dtype=dtype)
    if isinstance(layer, reference.sequences.GRU):
        return sequences.GRU(layer.in_features, layer.units, reset_after=layer.reset_after,
                             return_sequences=layer.return_sequences, dtype=dtype)
    if isinstance(layer, reference.sequences._Recurrent):
        return getattr(sequences, type(layer).__name__)(
            layer.in_features, layer.units, return_sequences=layer.return_sequences,
            dtype=dtype)
    if isinstance(layer, reference.sequences.TimeDistributed):
        return sequences.TimeDistributed(_keras_layer(layer.layer, dtype))
    if isinstance(layer, reference.sequences.MultiHeadAttention):
        return sequences.MultiHeadAttention(layer.embed_dim, layer.num_heads, dtype=dtype)
    raise TypeError(f"from_reference: no Keras layer for spec layer {layer.name} "
                    f"({type(layer).__name__})")


_CONVOLUTION_LAYERS = (reference.Conv1D, reference.Conv2D, reference.DepthwiseConv2D,
                       reference.MaxPool2D, reference.AveragePool2D,
                       reference.GlobalAveragePooling2D)
_KERAS_CONVOLUTIONS = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.DepthwiseConv2D)
_KERAS_POOLINGS = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D,
                   keras.layers.GlobalAveragePooling2D)


def _convolution_layer(layer: reference.layers.Layer, dtype: str) -> keras.Layer:
    """The Keras layer of a spec convolution or pooling layer (channels-last, as the spec)."""
    kind = type(layer).__name__
    if kind == "GlobalAveragePooling2D":
        return convolution.GlobalAveragePooling2D(dtype=dtype)
    if kind == "MaxPool2D":
        return convolution.MaxPool2D(layer.pool_size, layer.strides, layer.padding, dtype=dtype)
    if kind == "AveragePool2D":
        if layer.count_include_pad and layer.padding == "same":
            raise TypeError(f"from_reference: {layer.name} counts padded cells in its divisor "
                            "(count_include_pad=True); Keras's AveragePooling2D always leaves "
                            "them out")
        return convolution.AveragePool2D(layer.pool_size, layer.strides, layer.padding,
                                         dtype=dtype)
    options = {"strides": layer.strides, "padding": layer.padding,
               "dilation_rate": layer.dilation_rate, "activation": layer.activation.name,
               "dtype": layer.dtype.name, **layer.activation.params}
    if kind == "DepthwiseConv2D":
        return convolution.DepthwiseConv2D(layer.in_channels, layer.kernel_size,
                                           depth_multiplier=layer.depth_multiplier, **options)
    return getattr(convolution, kind)(layer.in_channels, layer.filters, layer.kernel_size,
                                      **options)


def _holder(keras_layer: keras.Layer) -> keras.Layer:
    """The layer whose attributes the table's Keras names refer to: a recurrent layer's
    weights live on its ``cell``, a TimeDistributed's on the layer it wraps."""
    if isinstance(keras_layer, keras.layers.RNN):
        return keras_layer.cell
    if isinstance(keras_layer, keras.layers.TimeDistributed):
        return keras_layer.layer
    return keras_layer


def _copy_in(layer: reference.layers.Layer, keras_layer: keras.Layer, context: Context) -> None:
    values = {**layer.parameters, **layer.state}
    for row in layout(type(layer).__name__).rows:
        arrays = row.to_keras.forward(pack(tuple(values[n] for n in row.spec_names)), context)
        for name, array in unpack(row.keras_names, arrays).items():
            attrgetter(name)(_holder(keras_layer)).assign(array)


def from_reference(model: reference.Sequential | reference.layers.Layer) -> keras.Layer:
    """A Keras model (or layer, for a spec layer) with the spec ``model``'s exact weights."""
    if isinstance(model, reference.layers.Layer):
        keras_layer = _keras_layer(model, (model.dtype or np.dtype(np.float64)).name)
        _copy_in(model, keras_layer, Context(_single_shape(model), layer=model))
        return keras_layer
    if not isinstance(model, reference.Sequential):
        raise TypeError(f"from_reference: expected a reference.Sequential or a spec layer, "
                        f"got {type(model).__name__}")
    places = contexts(model.layers, model.input_shape)
    layers = [_keras_layer(layer, model.dtype.name, context)
              for layer, context in zip(model.layers, places, strict=True)]
    indices = model.layers[0].input_kind == "indices"  # an Embedding first takes integers
    keras_model = Sequential([keras.Input(shape=model.input_shape,
                                          dtype="int64" if indices else model.dtype.name),
                              *layers])
    for layer, keras_layer, context in zip(model.layers, layers,
                                           contexts(model.layers, model.input_shape),
                                           strict=True):
        _copy_in(layer, keras_layer, context)
    return keras_model


def _single_shape(layer: reference.layers.Layer) -> tuple:
    """What a lone layer's Context knows of its input: Dense's width, a convolution's
    channels (last)."""
    if isinstance(layer, reference.Dense):
        return (layer.in_features,)
    return (layer.in_channels,) if hasattr(layer, "in_channels") else ()


@dataclass
class _Group:
    """The Keras layers that make one spec layer: ``main`` (and an activation layer after a
    linear Dense), with the position of ``main`` in the model."""

    index: int
    main: keras.Layer
    activation: tuple[str, dict] | None = None


def _activation_of(function: object, where: str) -> tuple[str, dict]:
    if isinstance(function, functools.partial):  # tf_impl.activations.get: name and params
        return function.func.__name__, dict(function.keywords)
    name = getattr(function, "__name__", repr(function))
    if name not in _KERAS_ACTIVATIONS:
        raise TypeError(f"to_reference: {where} uses the activation {name!r}, which the spec "
                        f"has not; supported: {', '.join(sorted(_KERAS_ACTIVATIONS))}")
    return _KERAS_ACTIVATIONS[name]


def _groups(layers: Sequence[keras.Layer]) -> list[_Group]:
    groups: list[_Group] = []
    for k, layer in enumerate(layers):
        where = f"layer {k} ({layer.name})"
        if isinstance(layer, keras.layers.Activation | keras.layers.LeakyReLU):
            last = groups[-1] if groups else None
            if last is None or not isinstance(last.main, (keras.layers.Dense,
                                                          *_KERAS_CONVOLUTIONS)) or \
                    last.activation or _activation_of(last.main.activation, where)[0] != \
                    "identity":
                raise TypeError(f"to_reference: {where} must directly follow a Dense or "
                                "convolution layer without activation: the spec applies an "
                                "activation inside its Dense and convolution layers")
            last.activation = (("leaky_relu", {"negative_slope": float(layer.negative_slope)})
                               if isinstance(layer, keras.layers.LeakyReLU) else
                               _activation_of(layer.activation, where))
        elif isinstance(layer, (keras.layers.Dense, keras.layers.Flatten, keras.layers.Dropout,
                                keras.layers.BatchNormalization, keras.layers.LayerNormalization,
                                keras.layers.Embedding, keras.layers.SimpleRNN, keras.layers.LSTM,
                                keras.layers.GRU, keras.layers.TimeDistributed,
                                sequences.SelfAttention, *_KERAS_CONVOLUTIONS, *_KERAS_POOLINGS)):
            groups.append(_Group(k, layer))
        else:
            raise TypeError(f"to_reference: {where}, a {type(layer).__name__}, has no spec "
                            "counterpart; supported: keras.layers.Dense, Activation and "
                            "LeakyReLU after a linear Dense or convolution, Flatten, Dropout, "
                            "Conv1D, Conv2D, DepthwiseConv2D, MaxPooling2D, AveragePooling2D, "
                            "GlobalAveragePooling2D, BatchNormalization, LayerNormalization, "
                            "Embedding, SimpleRNN, LSTM, GRU, TimeDistributed(Dense)")
    return groups


def _keras_convolution(group: _Group) -> reference.layers.Layer:
    """The spec layer of a Keras convolution or pooling layer (weights not yet copied)."""
    main, where = group.main, f"layer {group.index} ({group.main.name})"
    if getattr(main, "data_format", "channels_last") != "channels_last":
        raise TypeError(f"to_reference: {where} is channels_first; the spec is channels-last")
    if isinstance(main, keras.layers.GlobalAveragePooling2D):
        if main.keepdims:
            raise TypeError(f"to_reference: {where} keeps dims; the spec's gives (N, C)")
        return reference.GlobalAveragePooling2D()
    padding = main.padding.lower()
    if padding not in ("valid", "same"):
        raise TypeError(f"to_reference: {where} pads {padding!r}; the spec pads 'valid' or "
                        "'same'")
    if isinstance(main, keras.layers.MaxPooling2D | keras.layers.AveragePooling2D):
        pooling = reference.MaxPool2D if isinstance(main, keras.layers.MaxPooling2D) else \
            reference.AveragePool2D
        return pooling(main.pool_size, main.strides, padding)
    if not main.built:
        raise ValueError(f"to_reference: {where} is not built: call the model once or build "
                         "it with an input shape, so its weights exist")
    if not main.use_bias or getattr(main, "groups", 1) != 1:
        raise TypeError(f"to_reference: {where} has no bias or groups > 1; the spec's "
                        "convolutions have a bias and one group (DepthwiseConv2D: one per "
                        "channel)")
    name, params = group.activation or _activation_of(main.activation, where)
    kernel = main.kernel
    options = {"strides": main.strides, "padding": padding,
               "dilation_rate": main.dilation_rate,
               "activation": reference.activations.get(name, **params), "dtype": kernel.dtype}
    if isinstance(main, keras.layers.DepthwiseConv2D):
        return reference.DepthwiseConv2D(int(kernel.shape[2]), main.kernel_size,
                                         depth_multiplier=int(kernel.shape[3]), **options)
    kind = reference.Conv1D if isinstance(main, keras.layers.Conv1D) else reference.Conv2D
    return kind(int(kernel.shape[-2]), int(kernel.shape[-1]), main.kernel_size, **options)


def _layer(group: _Group) -> reference.layers.Layer:
    """The spec layer of a group, its weights not yet copied."""
    main, where = group.main, f"layer {group.index} ({group.main.name})"
    if isinstance(main, (*_KERAS_CONVOLUTIONS, *_KERAS_POOLINGS)):
        return _keras_convolution(group)
    if isinstance(main, keras.layers.Embedding | keras.layers.RNN |
                  keras.layers.TimeDistributed | sequences.SelfAttention):
        return _sequence_layer(group)
    if isinstance(main, keras.layers.Flatten):
        if main.data_format != "channels_last":
            raise TypeError(f"to_reference: {where} flattens channels_first data; the spec is "
                            "channels-last")
        return reference.layers.Flatten()
    if isinstance(main, keras.layers.Dropout):
        if main.noise_shape is not None:
            raise TypeError(f"to_reference: {where} has a noise_shape; the spec's Dropout "
                            "draws every unit independently")
        return reference.layers.Dropout(float(main.rate))
    if not main.built:
        raise ValueError(f"to_reference: {where} is not built: call the model once or build "
                         "it with an input shape, so its weights exist")
    if isinstance(main, keras.layers.BatchNormalization | keras.layers.LayerNormalization):
        return _normalization(main, where)
    if not main.use_bias:
        raise TypeError(f"to_reference: {where} has no bias; the spec's Dense always has one")
    name, params = group.activation or _activation_of(main.activation, where)
    regularizer = main.kernel_regularizer
    if regularizer is not None and (not isinstance(regularizer, keras.regularizers.L2) or
                                    main.bias_regularizer is not None):
        raise TypeError(f"to_reference: {where} has a regulariser other than an L2 kernel "
                        f"regulariser ({regularizer!r}); the spec's Dense has only that")
    kernel = main.kernel
    return reference.Dense(int(kernel.shape[0]), int(kernel.shape[1]),
                           reference.activations.get(name, **params),
                           kernel_regularizer=0.0 if regularizer is None else
                           float(regularizer.l2), dtype=kernel.dtype)


def _normalization(main: keras.Layer, where: str) -> reference.layers.Layer:
    """The spec layer of a Keras BatchNormalization or LayerNormalization, refused by name
    where the spec has no counterpart."""
    axes = list(main.axis) if isinstance(main.axis, list | tuple) else [main.axis]
    spec = main.input_spec
    last = [spec.ndim - 1] if spec is not None and spec.ndim else [-1]
    if axes not in ([-1], last):
        raise TypeError(f"to_reference: {where} normalises over axis {main.axis}; the spec's "
                        "layers are channels-last (axis -1)")
    if not (main.center and main.scale) or getattr(main, "rms_scaling", False) or \
            getattr(main, "renorm", False):
        raise TypeError(f"to_reference: {where} lacks γ or β, or uses rms_scaling or renorm; "
                        "the spec's layer has γ and β and neither option")
    features, dtype = int(main.gamma.shape[0]), main.gamma.dtype
    if isinstance(main, keras.layers.LayerNormalization):
        return reference.LayerNormalization(features, float(main.epsilon), convention="keras",
                                            dtype=dtype)
    return reference.BatchNormalization(features, float(main.momentum), float(main.epsilon),
                                        convention="keras", dtype=dtype)


def _sequence_layer(group: _Group) -> reference.layers.Layer:
    """The spec layer of an Embedding, a recurrent layer or a TimeDistributed(Dense)."""
    main, where = group.main, f"layer {group.index} ({group.main.name})"
    if isinstance(main, keras.layers.TimeDistributed):
        return reference.sequences.TimeDistributed(_layer(_Group(group.index, main.layer)))
    if not main.built:
        raise ValueError(f"to_reference: {where} is not built: call the model once or build "
                         "it with an input shape, so its weights exist")
    if isinstance(main, sequences.SelfAttention):
        kernel = main.query_dense.kernel
        return reference.sequences.MultiHeadAttention(int(kernel.shape[0]), main.num_heads,
                                                      dtype=kernel.dtype)
    if isinstance(main, keras.layers.Embedding):
        return reference.sequences.Embedding(main.input_dim, main.output_dim,
                                             mask_zero=main.mask_zero,
                                             dtype=main.embeddings.dtype)
    cell = main.cell
    plain = (_activation_of(cell.activation, where)[0] == "tanh" and cell.use_bias and
             not main.go_backwards and not main.stateful and not main.return_state and
             not cell.dropout and not cell.recurrent_dropout and
             _activation_of(getattr(cell, "recurrent_activation", keras.activations.sigmoid),
                            where)[0] == "sigmoid")
    if not plain:
        raise TypeError(f"to_reference: {where} must use tanh and sigmoid, a bias, no "
                        "dropout, run forwards and return no state, as the spec's does")
    kind = next(kind for kind in ("SimpleRNN", "LSTM", "GRU")
                if isinstance(main, getattr(keras.layers, kind)))
    extra = {"reset_after": cell.reset_after} if kind == "GRU" else {}
    return getattr(reference.sequences, kind)(
        int(cell.kernel.shape[0]), cell.units, return_sequences=main.return_sequences,
        dtype=cell.kernel.dtype, **extra)


def _copy_out(layer: reference.layers.Layer, keras_layer: keras.Layer, context: Context,
              read=lambda variable: variable.numpy(),
              trainable_only: bool = False) -> dict[str, np.ndarray]:
    """The spec arrays of ``layer`` from ``keras_layer``'s weights, each read by ``read``
    (its value, or its gradient); ``trainable_only``: the parameters, not the state
    (moving statistics have no gradient)."""
    found = {}
    for row in layout(type(layer).__name__).rows:
        if trainable_only and not row.trainable:
            continue
        arrays = pack(tuple(read(attrgetter(name)(_holder(keras_layer)))
                            for name in row.keras_names))
        found.update(unpack(row.spec_names, row.to_keras.inverse(arrays, context)))
    return found


def _walk(model: keras.Layer, input_shape: Sequence[int] | None
          ) -> tuple[reference.Sequential | reference.layers.Layer,
                     list[tuple[reference.layers.Layer, _Group, Context]]]:
    """The spec model of ``model`` (weights not yet copied), and each of its layers with
    the Keras layers that make it and its place in the model."""
    if not isinstance(model, keras.Sequential):
        groups = _groups([model])
        spec = _layer(groups[0])
        shape = _single_shape(spec)
        return spec, [(spec, groups[0], Context(shape, layer=spec))]
    groups = _groups(model.layers)
    layers = time_distributed([_layer(group) for group in groups])
    if input_shape is None and model.built and not isinstance(layers[0], reference.Dense):
        input_shape = tuple(model.input_shape[1:])
    try:
        spec = reference.Sequential(layers, input_shape=input_shape)
    except (TypeError, ValueError) as error:
        raise type(error)(f"to_reference: {error}") from None
    shape = spec.input_shape
    return spec, list(zip(layers, groups, contexts(layers, shape), strict=True))


def to_reference(model: keras.Layer, *, input_shape: Sequence[int] | None = None
                 ) -> reference.Sequential | reference.layers.Layer:
    """The spec model equal to a Keras model or layer: one built by :func:`from_reference`,
    or a ``keras.Sequential`` of plain layers (see the module docstring).

    ``input_shape``: the per-sample input shape, needed only when the model is not built
    and its first layer does not fix it. Anything without a spec counterpart is refused
    by name.
    """
    if not isinstance(model, keras.Layer):  # before _walk reads Keras attributes off it
        raise TypeError(f"to_reference: expected a Keras model or layer, got "
                        f"{type(model).__name__}")
    spec, walk = _walk(model, input_shape)
    for layer, group, context in walk:
        for name, array in _copy_out(layer, group.main, context).items():
            layer.set(name, array)
    return spec


def gradients_to_reference(model: keras.Layer, gradients: Sequence[tf.Tensor]
                           ) -> list[dict[str, np.ndarray]]:
    """Each spec layer's gradients, named and laid out as the spec's, from
    ``tape.gradient(loss, model.trainable_variables)`` (``gradients``, in that order).

    An Embedding's gradient comes as ``tf.IndexedSlices`` (the rows looked up, not the
    whole table); ``tf.convert_to_tensor`` makes it the dense (V, D) array the spec has."""
    by_variable = {id(v): g for v, g in zip(model.trainable_variables, gradients, strict=True)}
    _, walk = _walk(model, None)
    return [_copy_out(layer, group.main, context,
                      read=lambda variable: tf.convert_to_tensor(by_variable[id(variable)])
                      .numpy(), trainable_only=True)
            for layer, group, context in walk]
