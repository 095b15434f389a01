"""The spec's training run (``reference.training.fit``) the way TensorFlow users write it.

Each step records the forward pass and the loss (plus ``model.losses``, the layers'
regularisation terms, as Keras's own ``fit`` adds them) on a ``tf.GradientTape``, takes
``tape.gradient`` for the model's ``trainable_variables`` and hands them to
``optimizer.apply_gradients``; with ``tf_function=True`` that step is compiled by
``tf.function`` (one graph per step, traced once, and again for a smaller last batch).
The optimizer is Keras's own (``keras.optimizers.SGD``, ``Adam``, ``AdamW``), built from
the spec's optimizer object by ``tf_impl.optimizers``; Keras follows its own formulas,
so compare with the spec under ``convention="keras"``.

The batches come from ``reference.training.batch_order`` (the same seeded permutation as
the spec and the torch mirror: data plumbing). A non-finite loss raises the spec's
``TrainingDiverged`` naming the same step; as the step is one graph, the check comes
after that step's update, so the model then holds the weights that update made from the
non-finite loss's gradient (finite or not: it depends on the optimizer and the step); the
spec and torch stop before the update. The exception is raised either way.

Shape: X (N, in_features), Y (N, out_features), tensors or arrays of the model's dtype.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

import reference
from reference.training import History, TrainingDiverged, batch_order
from tf_impl import callbacks, losses, optimizers
from tf_impl._inputs import checked, training_data


@checked(training_data)
def fit(model: keras.Model, X: object, Y: object, loss: str = "mean_squared_error",
        optimizer: object = None, epochs: int = 1, batch_size: int | None = None,
        seed: int | None = 0, early_stopping: object = None, *,
        tf_function: bool = False) -> History:
    """Train ``model`` (e.g. from ``tf_impl.from_reference``) in place; per-step losses.

    The arguments are the spec's: ``loss`` a name, ``optimizer`` a spec optimizer object
    (default ``reference.optimizers.SGD()``); ``tf_function`` compiles the step.
    """
    keras_optimizer = optimizers.from_reference(
        reference.optimizers.SGD() if optimizer is None else optimizer)
    keras_optimizer.build(model.trainable_variables)  # its variables exist before any trace
    loss_fn = getattr(losses, loss)

    def train_step(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            value = loss_fn(y, model(x, training=True)) + sum(model.losses)  # L2 terms
        grads = tape.gradient(value, model.trainable_variables)
        # An Embedding's gradient is tf.IndexedSlices, one slice per lookup; Keras's Adam
        # would square each slice apart (v gets Σ g² of a row's lookups, not (Σ g)²).
        grads = [tf.convert_to_tensor(g) for g in grads]
        keras_optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return value

    if tf_function:
        train_step = tf.function(train_step, reduce_retracing=True)
    order = batch_order(X.shape[0], batch_size, epochs, seed)
    history = History(epochs=epochs, steps_per_epoch=len(order[0]) if order else 0)
    callback = None if early_stopping is None else callbacks.from_reference(early_stopping)
    if callback is not None:  # a custom loop drives the callback itself
        model.stop_training = False  # model.fit sets it; the callback sets it True to stop
        callback.set_model(model)
        callback.on_train_begin()
    step = 0
    for epoch, batches in enumerate(order, start=1):
        for rows in batches:
            step += 1
            value = float(train_step(tf.gather(X, rows), tf.gather(Y, rows)))
            if not math.isfinite(value):
                raise TrainingDiverged(step, epoch, value, history)
            history.loss.append(value)
        if callback is not None:
            callback.on_epoch_end(epoch - 1, {"loss": float(np.mean(history.loss[-len(batches):]))})
            if model.stop_training:
                history.stopped_epoch = epoch
                break
    if callback is not None:
        callback.on_train_end()  # restores the best weights
    return history
