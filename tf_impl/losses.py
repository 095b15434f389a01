"""The spec's losses with ``keras.losses`` and ``tf`` ops, by the same names and order.

Keras's argument order is already the spec's ``(y_true, y_pred)``. Gradients come from
``tf.GradientTape``. Conventions bridged to the spec (see ``reference.losses``):

* dtype: a Keras ``Loss`` computes in ``floatx`` (float32) and casts float64 predictions
  down; each loss here is built with ``dtype`` = the prediction's dtype.
* Hidden logits: the output of a Keras ``sigmoid``/``softmax`` carries ``_keras_logits``,
  and Keras's probability losses then use those logits, unclipped, instead of the
  probabilities they were given (at z = 20, y = 0, BCE is 20.0, not the clipped 15.94).
  ``tf.identity`` returns a tensor without the attribute, so the probabilities given are
  the probabilities used.
* Averaging: Keras averages over the last axis per sample, then over the batch
  (``sum_over_batch_size``): for equal-sized samples that is the spec's mean.
* Clipping: Keras clips probabilities to [ε, 1 − ε] with ε = ``keras.config.epsilon()``
  = 1e-7, as the spec does.
"""

from __future__ import annotations

import functools

import keras
import tensorflow as tf

from reference._validation import check_same_shape, check_shape


@functools.cache
def _keras_loss(cls: type[keras.losses.Loss], dtype: str, **options: bool) -> keras.losses.Loss:
    return cls(dtype=dtype, **options)


def _apply(cls: type[keras.losses.Loss], y_true: tf.Tensor, y_pred: tf.Tensor,
           **options: bool) -> tf.Tensor:
    y_pred = tf.identity(y_pred)  # drops _keras_logits: see the module docstring
    return _keras_loss(cls, y_pred.dtype.name, **options)(y_true, y_pred)


def _checked(where: str, y_true: tf.Tensor, y_pred: tf.Tensor) -> None:
    check_same_shape(where, y_true.shape, y_pred.shape)


def _checked_sparse(where: str, y_true: tf.Tensor, y_pred: tf.Tensor) -> None:
    check_shape(where, "y_pred", y_pred.shape, (None, None))
    check_shape(where, "y_true (class indices)", y_true.shape, (y_pred.shape[0],))


def mean_squared_error(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Mean of (ŷ − y)² over all entries."""
    _checked("mean_squared_error", y_true, y_pred)
    return _apply(keras.losses.MeanSquaredError, y_true, y_pred)


def half_mean_squared_error(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """(1/2N) Σ ‖ŷ − y‖²: ``tf.nn.l2_loss(t)`` is Σt²/2, divided here by N."""
    _checked("half_mean_squared_error", y_true, y_pred)
    return tf.nn.l2_loss(y_pred - y_true) / y_pred.shape[0]


def mean_absolute_error(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Mean of |ŷ − y| over all entries."""
    _checked("mean_absolute_error", y_true, y_pred)
    return _apply(keras.losses.MeanAbsoluteError, y_true, y_pred)


def mean_squared_logarithmic_error(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Mean of (log(1 + max(ŷ, ε)) − log(1 + max(y, ε)))²."""
    _checked("mean_squared_logarithmic_error", y_true, y_pred)
    return _apply(keras.losses.MeanSquaredLogarithmicError, y_true, y_pred)


def binary_cross_entropy(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """−mean[y log p + (1 − y) log(1 − p)], p = clip(ŷ, ε, 1 − ε)."""
    _checked("binary_cross_entropy", y_true, y_pred)
    return _apply(keras.losses.BinaryCrossentropy, y_true, y_pred)


def binary_cross_entropy_with_logits(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Binary cross-entropy of σ(x), x = ``y_pred`` the logits."""
    _checked("binary_cross_entropy_with_logits", y_true, y_pred)
    return _apply(keras.losses.BinaryCrossentropy, y_true, y_pred, from_logits=True)


def categorical_cross_entropy(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """−(1/N) Σ y log q, q = clip(ŷ / Σŷ, ε, 1 − ε)."""
    _checked("categorical_cross_entropy", y_true, y_pred)
    return _apply(keras.losses.CategoricalCrossentropy, y_true, y_pred)


def categorical_cross_entropy_with_logits(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """−(1/N) Σ y log softmax(x)."""
    _checked("categorical_cross_entropy_with_logits", y_true, y_pred)
    return _apply(keras.losses.CategoricalCrossentropy, y_true, y_pred, from_logits=True)


def sparse_categorical_cross_entropy(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """−(1/N) Σ log(c_k / Σc), c = clip(ŷ, ε, 1 − ε), k = ``y_true`` of shape (N,)."""
    _checked_sparse("sparse_categorical_cross_entropy", y_true, y_pred)
    return _apply(keras.losses.SparseCategoricalCrossentropy, y_true, y_pred)


def sparse_categorical_cross_entropy_with_logits(y_true: tf.Tensor,
                                                 y_pred: tf.Tensor) -> tf.Tensor:
    """(1/N) Σ (logsumexp(x) − x_k)."""
    _checked_sparse("sparse_categorical_cross_entropy_with_logits", y_true, y_pred)
    return _apply(keras.losses.SparseCategoricalCrossentropy, y_true, y_pred, from_logits=True)


def get(name: str):
    """The loss function called ``name`` (the spec's names)."""
    from reference.losses import NAMES
    if name not in NAMES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(NAMES)}")
    return globals()[name]
