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
* Input checks are the spec's (``reference._validation``), made before any computation:
  shapes must match exactly (Keras would squeeze (N, 1) against (N,)); y_true and y_pred
  share one float dtype (a Keras ``Loss`` casts both to its own dtype silently; integer
  labels are converted explicitly); probabilities and cross-entropy targets lie in
  [0, 1]; class indices are integers in [0, C − 1] (Keras truncates float labels, and on
  GPU an index out of range gives NaN rather than an error). The value checks run
  eagerly; inside ``tf.function`` they become ``tf.debugging`` assertions, which raise
  ``InvalidArgumentError`` when the graph runs.
"""

from __future__ import annotations

import functools

import keras
import tensorflow as tf

from reference._validation import (
    check_integer_labels,
    check_same_shape,
    check_shape,
    check_within,
    float_conversion,
)
from reference.losses import BOTH, PREDICTIONS, TARGETS


@functools.cache
def _keras_loss(cls: type[keras.losses.Loss], dtype: str, **options: bool) -> keras.losses.Loss:
    return cls(dtype=dtype, **options)


def _apply(cls: type[keras.losses.Loss], y_true: tf.Tensor, y_pred: tf.Tensor,
           **options: bool) -> tf.Tensor:
    y_pred = tf.identity(y_pred)  # drops _keras_logits: see the module docstring
    return _keras_loss(cls, y_pred.dtype.name, **options)(y_true, y_pred)


def _as_float(where: str, what: str, t: tf.Tensor, dtype: tf.DType | None) -> tf.Tensor:
    target = float_conversion(where, what, t.dtype, dtype)
    return t if target is None else tf.cast(t, target)


def _within(where: str, what: str, t: tf.Tensor, low: float, high: float) -> None:
    outside = tf.boolean_mask(t, (t < low) | (t > high))  # NaN compares false: it passes
    if not tf.executing_eagerly():
        tf.debugging.assert_equal(tf.size(outside), 0,
                                  message=f"{where}: {what} must lie in [{low:g}, {high:g}]")
    elif tf.size(outside) > 0:
        check_within(where, what, int(tf.size(outside)), float(tf.reduce_min(outside)),
                     float(tf.reduce_max(outside)), low, high)


def _checked(where: str, y_true: tf.Tensor, y_pred: tf.Tensor,
             probabilities: tuple[str, ...] = ()) -> tuple[tf.Tensor, tf.Tensor]:
    y_true, y_pred = tf.convert_to_tensor(y_true), tf.convert_to_tensor(y_pred)
    y_pred = _as_float(where, "y_pred", y_pred, None)
    y_true = _as_float(where, "y_true", y_true, y_pred.dtype)
    check_same_shape(where, y_true.shape, y_pred.shape)
    for what, t in (("y_true", y_true), ("y_pred", y_pred)):
        if what in probabilities:
            _within(where, f"{what} (probabilities)", t, 0.0, 1.0)
    return y_true, y_pred


def _checked_sparse(where: str, y_true: tf.Tensor, y_pred: tf.Tensor,
                    probabilities: tuple[str, ...] = ()) -> tuple[tf.Tensor, tf.Tensor]:
    y_true, y_pred = tf.convert_to_tensor(y_true), tf.convert_to_tensor(y_pred)
    y_pred = _as_float(where, "y_pred", y_pred, None)
    if len(y_pred.shape) < 2:
        check_shape(where, "y_pred", y_pred.shape, (None, None))
    check_integer_labels(where, "y_true", y_true.dtype)
    check_shape(where, "y_true (class indices)", y_true.shape, tuple(y_pred.shape[:-1]))
    _within(where, "y_true (class indices)", y_true, 0, y_pred.shape[-1] - 1)
    if "y_pred" in probabilities:
        _within(where, "y_pred (probabilities)", y_pred, 0.0, 1.0)
    return y_true, y_pred


def mean_squared_error(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Mean of (ŷ − y)² over all entries."""
    y_true, y_pred = _checked("mean_squared_error", y_true, y_pred)
    return _apply(keras.losses.MeanSquaredError, y_true, y_pred)


def half_mean_squared_error(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """(1/2N) Σ ‖ŷ − y‖²: ``tf.nn.l2_loss(t)`` is Σt²/2, divided here by N."""
    y_true, y_pred = _checked("half_mean_squared_error", y_true, y_pred)
    return tf.nn.l2_loss(y_pred - y_true) / y_pred.shape[0]


def mean_absolute_error(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Mean of |ŷ − y| over all entries."""
    y_true, y_pred = _checked("mean_absolute_error", y_true, y_pred)
    return _apply(keras.losses.MeanAbsoluteError, y_true, y_pred)


def mean_squared_logarithmic_error(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Mean of (log(1 + max(ŷ, ε)) − log(1 + max(y, ε)))²."""
    y_true, y_pred = _checked("mean_squared_logarithmic_error", y_true, y_pred)
    return _apply(keras.losses.MeanSquaredLogarithmicError, y_true, y_pred)


def binary_cross_entropy(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """−mean[y log p + (1 − y) log(1 − p)], p = clip(ŷ, ε, 1 − ε)."""
    y_true, y_pred = _checked("binary_cross_entropy", y_true, y_pred, BOTH)
    return _apply(keras.losses.BinaryCrossentropy, y_true, y_pred)


def binary_cross_entropy_with_logits(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Binary cross-entropy of σ(x), x = ``y_pred`` the logits."""
    y_true, y_pred = _checked("binary_cross_entropy_with_logits", y_true, y_pred, TARGETS)
    return _apply(keras.losses.BinaryCrossentropy, y_true, y_pred, from_logits=True)


def categorical_cross_entropy(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """−(1/N) Σ y log q, q = clip(ŷ / Σŷ, ε, 1 − ε)."""
    y_true, y_pred = _checked("categorical_cross_entropy", y_true, y_pred, BOTH)
    return _apply(keras.losses.CategoricalCrossentropy, y_true, y_pred)


def categorical_cross_entropy_with_logits(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """−(1/N) Σ y log softmax(x)."""
    y_true, y_pred = _checked("categorical_cross_entropy_with_logits", y_true, y_pred, TARGETS)
    return _apply(keras.losses.CategoricalCrossentropy, y_true, y_pred, from_logits=True)


def sparse_categorical_cross_entropy(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """−(1/N) Σ log(c_k / Σc), c = clip(ŷ, ε, 1 − ε), k = ``y_true`` of shape (N,)."""
    y_true, y_pred = _checked_sparse("sparse_categorical_cross_entropy", y_true,
                                     y_pred, PREDICTIONS)
    return _apply(keras.losses.SparseCategoricalCrossentropy, y_true, y_pred)


def sparse_categorical_cross_entropy_with_logits(y_true: tf.Tensor,
                                                 y_pred: tf.Tensor) -> tf.Tensor:
    """(1/N) Σ (logsumexp(x) − x_k)."""
    y_true, y_pred = _checked_sparse("sparse_categorical_cross_entropy_with_logits", y_true, y_pred)
    return _apply(keras.losses.SparseCategoricalCrossentropy, y_true, y_pred, from_logits=True)


def get(name: str):
    """The loss function called ``name`` (the spec's names)."""
    from reference.losses import NAMES
    if name not in NAMES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(NAMES)}")
    return globals()[name]
