"""Turning user data (NumPy arrays, lists or tensors) into tensors under the spec's dtype policy.

Integer data (the notes' XOR table) becomes floating; a float tensor of the other float
dtype is refused, as ``reference._validation`` refuses it, rather than cast silently.
This is data plumbing: nothing is computed here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from reference._validation import as_float_array, check_batch, float_conversion


def as_float_tensor(value: object, dtype: tf.DType | None, where: str, what: str) -> tf.Tensor:
    """``value`` as a float tensor of ``dtype`` (``None``: keep a float dtype, ints → float64)."""
    if tf.is_tensor(value) or isinstance(value, tf.Variable):
        if not value.dtype.is_floating:
            return tf.cast(value, dtype or tf.float64)
        if dtype is not None and value.dtype != dtype:
            raise TypeError(f"{where}: {what} has dtype {value.dtype.name} but {where} computes "
                            f"in {dtype.name}; convert it explicitly so the change of precision "
                            "is visible")
        return tf.convert_to_tensor(value)
    numpy_dtype = None if dtype is None else np.dtype(dtype.as_numpy_dtype)
    array = as_float_array(value, numpy_dtype, where, what)
    return tf.constant(array)


def spec_input_policy(check: Callable[[keras.Layer, tf.Tensor], tf.Tensor]):
    """Class decorator: the layer's ``call`` first passes its input through
    ``check(layer, x)``, which applies the spec's input policy and returns x (integers
    converted). The check stays out of the class body, which is the Keras idiom."""
    def decorate(cls: type[keras.Layer]) -> type[keras.Layer]:
        call = cls.call

        @functools.wraps(call)
        def checked_call(self: keras.Layer, inputs: tf.Tensor, *args: object,
                         **kwargs: object) -> tf.Tensor:
            return call(self, check(self, inputs), *args, **kwargs)

        cls.call = checked_call
        return cls
    return decorate


def dense_input(layer: keras.Layer, x: tf.Tensor) -> tf.Tensor:
    """The spec's policy for a dense layer's input: (N, in_features), the layer's dtype,
    integers converted explicitly."""
    target = float_conversion(layer.name, "input x", x.dtype, layer.compute_dtype)
    check_batch(layer.name, "input x", x.shape, layer.kernel.shape[0])
    return x if target is None else tf.cast(x, target)


def model_input(model: keras.Sequential, x: tf.Tensor) -> tf.Tensor:
    """A Sequential's input, checked against its first layer when that is a built Dense
    (Keras would convert it to the model's input dtype silently)."""
    first = model.layers[0] if model.layers else None
    if isinstance(first, keras.layers.Dense) and first.built:
        target = float_conversion("Sequential", "input x", x.dtype, first.compute_dtype)
        check_batch("Sequential", "input x", x.shape, first.kernel.shape[0])
        return x if target is None else tf.cast(x, target)
    return x


def features_input(layer: keras.Layer, x: tf.Tensor) -> tf.Tensor:
    """The spec's policy for a normalisation layer's input: the layer's dtype (integers
    converted; Keras would compute a float32 input in float64 silently), a batch axis, and
    its features on the last axis."""
    target = float_conversion(layer.name, "input x", x.dtype, layer.compute_dtype)
    features = layer.gamma.shape[0]
    if len(x.shape) < 2 or x.shape[-1] != features:
        raise ValueError(f"{layer.name}: input x must be (N, …, {features}), got shape "
                         f"{tuple(x.shape)}")
    return x if target is None else tf.cast(x, target)
