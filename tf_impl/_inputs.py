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

from reference._validation import (
    as_float_array,
    as_index_array,
    check_batch,
    check_shape,
    float_conversion,
)


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


def sequence_input(layer: keras.Layer, x: tf.Tensor) -> tf.Tensor:
    """The spec's policy for a recurrent layer's input: (N, T, in_features), the layer's
    dtype, integers converted explicitly."""
    target = float_conversion(layer.name, "input x", x.dtype, layer.compute_dtype)
    check_shape(layer.name, "input x", x.shape, (None, None, layer.cell.kernel.shape[0]))
    return x if target is None else tf.cast(x, target)


def as_index_tensor(value: object, where: str, what: str) -> tf.Tensor:
    """``value`` as integer indices (an Embedding's input, class labels); a float is
    refused, as ``reference._validation.as_index_array`` refuses it."""
    if tf.is_tensor(value):
        as_index_array(np.empty(0, value.dtype.as_numpy_dtype), where, what)
        return value
    return tf.constant(as_index_array(value, where, what))


def fit_data(model: keras.Model, X: object, Y: object, loss: str, dtype: tf.DType
             ) -> tuple[tf.Tensor, tf.Tensor]:
    """``fit``'s X and Y under the policy: X integer indices when the model begins with a
    ``keras.layers.Embedding``, else floats; Y class indices for a sparse loss, else
    floats."""
    first = model.layers[0] if isinstance(model, keras.Sequential) and model.layers else model
    X = as_index_tensor(X, "fit", "X") if isinstance(first, keras.layers.Embedding) else \
        as_float_tensor(X, dtype, "fit", "X")
    if loss.startswith("sparse"):
        Y = as_index_tensor(Y, "fit", "Y (class indices)")
        check_shape("fit", "Y", Y.shape[:1], (X.shape[0],))
    else:
        Y = as_float_tensor(Y, dtype, "fit", "Y")
        check_shape("fit", "Y", Y.shape[:1], (X.shape[0],))
    return X, Y
