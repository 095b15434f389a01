"""Moving a spec model into Keras and back, weights copied exactly.

Keras's kernel has the spec's (in, out) layout, so nothing is transposed; the dtype is
set per layer (``dtype="float64"``) rather than through the global ``floatx``.
"""

from __future__ import annotations

import keras

import reference
from tf_impl.layers import CheckedDense, Dense
from tf_impl.networks import Sequential


def _dense_from_reference(layer: reference.Dense) -> keras.layers.Dense:
    mirror = Dense(layer.in_features, layer.out_features, layer.activation.name,
                   dtype=layer.dtype.name, **layer.activation.params)
    mirror.set_weights([layer.W, layer.b])
    return mirror


def from_reference(model: reference.Sequential | reference.Dense) -> keras.Layer:
    """A Keras model (or layer, for a spec Dense) with the spec ``model``'s exact weights."""
    if isinstance(model, reference.Dense):
        return _dense_from_reference(model)
    if not isinstance(model, reference.Sequential):
        raise TypeError(f"from_reference: expected a reference.Sequential or reference.Dense, "
                        f"got {type(model).__name__}")
    return Sequential([keras.Input(shape=(model.in_features,), dtype=model.dtype.name),
                       *(_dense_from_reference(layer) for layer in model.layers)])


def _dense_to_reference(layer: keras.layers.Dense) -> reference.Dense:
    kernel, bias = (v.numpy() for v in (layer.kernel, layer.bias))
    activation = reference.activations.get(layer.activation.func.__name__,
                                           **layer.activation.keywords)
    spec = reference.Dense(kernel.shape[0], kernel.shape[1], activation, dtype=kernel.dtype)
    spec.W, spec.b = kernel, bias
    return spec


def to_reference(model: keras.Layer) -> reference.Sequential | reference.Dense:
    """The spec model equal to a Keras model (or layer) built by :func:`from_reference`.

    Only ``tf_impl`` Dense layers (alone or in a Sequential) have a spec counterpart;
    their dtypes must agree, as the spec's policy requires, and anything else is refused
    by name.
    """
    if isinstance(model, CheckedDense):
        return _dense_to_reference(model)
    layers = model.layers if isinstance(model, keras.Sequential) else [model]
    foreign = [f"{k}: {type(layer).__name__}" for k, layer in enumerate(layers)
               if not isinstance(layer, CheckedDense)]
    if foreign:
        raise TypeError("to_reference: only tf_impl.layers.Dense layers (alone or in a "
                        f"Sequential) have a spec counterpart; got {', '.join(foreign)}")
    return reference.Sequential([_dense_to_reference(layer) for layer in layers])
