"""The checks at the top of the TF mirror's own entry points (``fit``, the optimizer
builders): the spec's rules from ``reference._validation`` and ``reference.training``,
applied before anything is computed. Data plumbing, not the lesson.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from reference._fit_checks import check_run, check_targets, is_sparse
from reference._validation import check_hyperparameters, check_within
from tf_impl._inputs import as_float_tensor


def _out_features(model: keras.Model) -> int | None:
    """The width of the model's output, when Keras knows it; ``None`` otherwise."""
    try:
        shape = tuple(model.output_shape)
    except (AttributeError, ValueError, TypeError):
        return None
    return shape[-1] if len(shape) == 2 and shape[-1] is not None else None


def fit_arguments(model: keras.Model, X: object, Y: object, loss: object, optimizer: object,
                  epochs: object, batch_size: object,
                  seed: object) -> tuple[tf.Tensor, tf.Tensor]:
    """X and Y as tensors for ``fit``, after every check of the spec's ``fit``."""
    if not isinstance(model, keras.Layer) or not model.trainable_variables:
        raise TypeError(f"fit: model must be a built Keras model with trainable variables, "
                        f"got {type(model).__name__}")
    check_run("fit", loss, optimizer, epochs, batch_size, seed)
    dtype = tf.as_dtype(model.trainable_variables[0].dtype)
    X = as_float_tensor(X, dtype, "fit", "X")
    if is_sparse(loss):  # class indices stay integers
        Y = as_tensor(Y, "fit", "Y")
    else:
        Y = as_float_tensor(Y, dtype, "fit", "Y")
    out_features = _out_features(model)
    output_shape = tuple(Y.shape[1:]) if out_features is None else (out_features,)
    # the input's per-sample shape is the model's own to check (framework idiom)
    check_targets("fit", loss, tuple(X.shape), tuple(Y.shape), Y.dtype, tuple(X.shape[1:]),
                  output_shape)
    if is_sparse(loss) and out_features is not None:
        outside = tf.boolean_mask(Y, (Y < 0) | (Y > out_features - 1))
        if tf.size(outside) > 0:
            check_within("fit", "Y (class indices)", int(tf.size(outside)),
                         int(tf.reduce_min(outside)), int(tf.reduce_max(outside)), 0,
                         out_features - 1)
    return X, Y


def _numeric(value: object, where: str, what: str) -> np.ndarray:
    """``value`` as a NumPy array of numbers; strings, objects or complex are refused."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{where}: {what} must be a float32/float64 or integer array, got "
                        f"dtype {array.dtype.name}")
    return array


def as_tensor(value: object, where: str, what: str) -> tf.Tensor:
    """A tensor as it is; anything else through NumPy, so Python floats are float64 as in
    the spec (``tf.convert_to_tensor([0.1])`` would make them float32)."""
    return value if tf.is_tensor(value) else tf.constant(_numeric(value, where, what))


def hyperparameters(where: str, **values: object) -> None:
    """An optimizer builder's hyper-parameters: finite and in range (Keras lets NaN pass)."""
    check_hyperparameters(where, **values)
