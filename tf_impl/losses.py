"""The spec's losses with ``keras.losses`` and ``tf`` ops, by the same names and order.

Keras's argument order is already the spec's ``(y_true, y_pred)``. Gradients come from
``tf.GradientTape``. Conventions bridged to the spec (see ``reference.losses``):

* dtype: a Keras ``Loss`` computes in ``floatx`` (float32) and casts float64 predictions
  down; each loss here is built with ``dtype`` = the prediction's dtype.
* NaN: a NaN probability or target gives a NaN loss, as in the spec (torch's
  ``binary_cross_entropy`` raises instead).
* Hidden logits: the output of a Keras ``sigmoid``/``softmax`` carries ``_keras_logits``,
  and Keras's probability losses then use those logits, unclipped, instead of the
  probabilities they were given (at z = 20, y = 0, BCE is 20.0, not the clipped 15.94).
  ``tf.identity`` returns a tensor without the attribute, so the probabilities given are
  the probabilities used. Given logits that a ``sigmoid``/``softmax`` op made (a test
  may feed any tensor as logits), Keras would warn that they are not logits; after
  ``tf.identity`` the op is an ``Identity``, and the numbers are used as given.
* Averaging: Keras averages over the last axis per sample, then over the batch
  (``sum_over_batch_size``): for equal-sized samples that is the spec's mean.
* Clipping: Keras clips probabilities to [ε, 1 − ε] with ε = ``keras.config.epsilon()``
  = 1e-7, as the spec does.
* Input checks are the spec's (``reference._validation``), made by each function's
  ``@checked`` decorator (``tf_impl._inputs``) before the body runs: shapes must match
  exactly (Keras would squeeze (N, 1) against (N,)); y_true and y_pred share one float
  dtype (a Keras ``Loss`` casts both to its own dtype silently; integer
  labels are converted explicitly); probabilities and cross-entropy targets lie in
  [0, 1]; class indices are integers in [0, C − 1] (Keras truncates float labels, and on
  GPU an index out of range gives NaN rather than an error). The value checks run
  eagerly; inside ``tf.function`` they become ``tf.debugging`` assertions, which raise
  ``InvalidArgumentError`` when the graph runs.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from reference.losses import BOTH, PREDICTIONS, TARGETS
from tf_impl._inputs import checked, code_pair, pair, sparse


@checked(pair())
def mean_squared_error(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Mean of (ŷ − y)² over all entries."""
    return keras.losses.MeanSquaredError(dtype=y_pred.dtype.name)(y_true, y_pred)


@checked(pair())
def half_mean_squared_error(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """(1/2N) Σ ‖ŷ − y‖²: ``tf.nn.l2_loss(t)`` is Σt²/2, divided here by N (the batch's
    size when the step runs: a graph traced for batches of any size knows no N)."""
    return tf.nn.l2_loss(y_pred - y_true) / tf.cast(tf.shape(y_pred)[0], y_pred.dtype)


@checked(pair())
def mean_absolute_error(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Mean of |ŷ − y| over all entries."""
    return keras.losses.MeanAbsoluteError(dtype=y_pred.dtype.name)(y_true, y_pred)


@checked(pair())
def mean_squared_logarithmic_error(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Mean of (log(1 + max(ŷ, ε)) − log(1 + max(y, ε)))²."""
    return keras.losses.MeanSquaredLogarithmicError(dtype=y_pred.dtype.name)(y_true, y_pred)


@checked(pair(BOTH))
def binary_cross_entropy(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """−mean[y log p + (1 − y) log(1 − p)], p = clip(ŷ, ε, 1 − ε)."""
    y_pred = tf.identity(y_pred)  # drops _keras_logits: the probabilities given are used
    return keras.losses.BinaryCrossentropy(dtype=y_pred.dtype.name)(y_true, y_pred)


@checked(pair(TARGETS))
def binary_cross_entropy_with_logits(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Binary cross-entropy of σ(x), x = ``y_pred`` the logits."""
    y_pred = tf.identity(y_pred)  # Keras would warn on logits made by a sigmoid/softmax op
    loss = keras.losses.BinaryCrossentropy(from_logits=True, dtype=y_pred.dtype.name)
    return loss(y_true, y_pred)


@checked(pair(BOTH))
def categorical_cross_entropy(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """−(1/N) Σ y log q, q = clip(ŷ / Σŷ, ε, 1 − ε)."""
    y_pred = tf.identity(y_pred)  # drops _keras_logits: the probabilities given are used
    return keras.losses.CategoricalCrossentropy(dtype=y_pred.dtype.name)(y_true, y_pred)


@checked(pair(TARGETS))
def categorical_cross_entropy_with_logits(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """−(1/N) Σ y log softmax(x)."""
    y_pred = tf.identity(y_pred)  # Keras would warn on logits made by a sigmoid/softmax op
    loss = keras.losses.CategoricalCrossentropy(from_logits=True, dtype=y_pred.dtype.name)
    return loss(y_true, y_pred)


@checked(sparse(PREDICTIONS))
def sparse_categorical_cross_entropy(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """−(1/N) Σ log(c_k / Σc), c = clip(ŷ, ε, 1 − ε), k = ``y_true`` of shape (N,)."""
    y_pred = tf.identity(y_pred)  # drops _keras_logits: the probabilities given are used
    return keras.losses.SparseCategoricalCrossentropy(dtype=y_pred.dtype.name)(y_true, y_pred)


@checked(sparse())
def sparse_categorical_cross_entropy_with_logits(y_true: tf.Tensor,
                                                 y_pred: tf.Tensor) -> tf.Tensor:
    """(1/N) Σ (logsumexp(x) − x_k)."""
    y_pred = tf.identity(y_pred)  # Keras would warn on logits made by a sigmoid/softmax op
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                      dtype=y_pred.dtype.name)
    return loss(y_true, y_pred)


@checked(code_pair)
def gaussian_kl(z_mean: tf.Tensor, z_log_var: tf.Tensor) -> tf.Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) summed over the code, averaged over the batch, as the Keras
    VAE example's ``train_step`` writes it (Keras has no loss object for it)."""
    kl = -0.5 * (1 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var))
    return tf.reduce_mean(tf.reduce_sum(kl, axis=list(range(1, len(kl.shape)))))


def get(name: str):
    """The loss function called ``name`` (the spec's names)."""
    from reference.losses import NAMES
    if not isinstance(name, str) or name not in NAMES:  # an array: NumPy's "truth value
        # of an array is ambiguous"; a TF tensor: "Cannot convert 'mean_squared_error'"
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(NAMES)}")
    return globals()[name]
