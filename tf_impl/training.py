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

Shape: X (N, in_features), Y (N, out_features), tensors or arrays of the model's dtype;
for a functional model of several inputs or outputs, X a list, one tensor per
``model.inputs``, and Y one target per output (None without one).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import keras
import numpy as np
import tensorflow as tf

import reference
from reference.training import History, TrainingDiverged, batch_order
from tf_impl import callbacks, losses, optimizers, schedules
from tf_impl._inputs import checked, fit_data


@checked(fit_data)
def fit(model: keras.Model, X: object, Y: object,
        loss: str | Sequence[str | None] = "mean_squared_error", optimizer: object = None,
        epochs: int = 1, batch_size: int | None = None, seed: int | None = 0,
        early_stopping: object = None, *, tf_function: bool = False,
        loss_weights: Sequence[float] | None = None,
        kl: tuple[int, int] | None = None) -> History:
    """Train ``model`` (e.g. from ``tf_impl.from_reference``) in place; per-step losses.

    The arguments are the spec's: ``loss`` a name, ``optimizer`` a spec optimizer object
    (default ``reference.optimizers.SGD()``); ``tf_function`` compiles the step. A
    functional model trains as in the spec, as Keras's ``fit`` takes one: X a list, one
    tensor per ``model.inputs``; Y one target per output (None without one); ``loss`` one
    name per output, weighed by ``loss_weights`` (``compile(loss=[...],
    loss_weights=[...])``); ``kl=(mean, log_var)`` adds ``tf_impl.losses.gaussian_kl`` of
    those two outputs on the tape, as the Keras VAE example's ``train_step`` does.
    """
    optimizer = reference.optimizers.SGD() if optimizer is None else optimizer
    # In a graph, grappler's constant folding rewrites a schedule's π·(t/k) as (π/k)·t,
    # an ulp off in η (CosineDecay: 1.8e-7): a compiled step takes η from the schedule
    # evaluated eagerly before it, as the optimizer does outside a graph.
    schedule = schedules.from_reference(optimizer.learning_rate) if tf_function and \
        isinstance(optimizer.learning_rate, reference.schedules.SCHEDULES) else None
    if schedule is not None:
        optimizer = replace(optimizer,
                            learning_rate=optimizer.learning_rate.initial_learning_rate)
    keras_optimizer = optimizers.from_reference(optimizer)
    keras_optimizer.build(model.trainable_variables)  # its variables exist before any trace
    graph = isinstance(X, list)  # a graph's run (checked): a tensor per input
    targets = [k for k, name in enumerate(loss) if name] if graph else [0]
    loss_fns = [getattr(losses, name) for name in loss if name] if graph else \
        [getattr(losses, loss)]
    weights = [loss_weights[k] for k in targets] if graph else [1.0]

    def train_step(x: list[tf.Tensor], y: list[tf.Tensor]) -> tf.Tensor:
        with tf.GradientTape() as tape:
            outputs = model(x if len(x) > 1 else x[0], training=True)
            outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
            value = sum(weight * loss_fn(y_true, outputs[k]) for k, weight, loss_fn, y_true
                        in zip(targets, weights, loss_fns, y, strict=True))
            if graph and kl is not None:  # the VAE's KL term: two outputs, no target
                value = value + losses.gaussian_kl(outputs[kl[0]], outputs[kl[1]])
            value = value + sum(model.losses)  # L2 terms
        grads = tape.gradient(value, model.trainable_variables)
        # An Embedding's gradient is tf.IndexedSlices, one slice per lookup; Keras's Adam
        # would square each slice apart (v gets Σ g² of a row's lookups, not (Σ g)²).
        grads = [tf.convert_to_tensor(g) for g in grads]
        keras_optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return value

    if tf_function:
        train_step = tf.function(train_step, reduce_retracing=True)
    xs, ys = (X, [Y[k] for k in targets]) if graph else ([X], [Y])
    order = batch_order(xs[0].shape[0], batch_size, epochs, seed, where="fit")
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
            if schedule is not None:
                keras_optimizer.learning_rate = schedule(keras_optimizer.iterations)
            value = float(train_step([tf.gather(x, rows) for x in xs],
                                     [tf.gather(y, rows) for y in ys]))
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
