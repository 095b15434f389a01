"""Data parallelism (``reference.parallel``) with ``tf.distribute.MirroredStrategy``.

One process drives W replicas, one per device (here logical CPU devices, set up with
``tf.config.set_logical_device_configuration`` before TF first touches its devices).
``strategy.experimental_distribute_dataset`` splits each global batch into W
consecutive slices; ``strategy.run`` runs the step on every replica, and Keras's
``apply_gradients`` sums the replicas' gradients before one update of the mirrored
variables. The model and the optimizer are created under ``strategy.scope()``.

Conventions bridged to the spec:

* The replicas' gradients are **summed**, so a custom loop divides each replica's summed
  loss by the **global** batch: ``tf.nn.compute_average_loss(per_example,
  global_batch_size=N)``. A per-replica ``reduce_mean`` gives W times the gradient (the
  classic mistake). Without ``global_batch_size`` it divides by the replica's own rows
  times W: right for even slices, wrong for an uneven last one (4 and 3 rows of 7: 1/8
  and 1/6 instead of 1/7).
* Keras ``fit`` under the strategy scales each replica's mean loss by 1/W
  (``keras.losses.loss.scale_loss_for_distribution``): the plain average of the slices'
  gradients, the full batch's only when the slices are even. A batch that splits
  unevenly gives the average of the slices' means instead, and one that does so first
  stops ``fit`` in its model build (``_maybe_symbolic_build`` averages the first batch
  over the replicas: "Inputs to operation AddN … must have the same size and shape").
* ``fit``'s History keeps the loss in a ``Mean`` metric of dtype ``floatx``: with a
  float64 model and floatx float32 the logged losses are float32-rounded (2.7e-8 off)
  while the weights are float64-exact; ``keras.config.set_floatx("float64")`` first.
* ``shard_rows``: the slices are consecutive rows (7 on 2 replicas: 0–3 and 4–6), where
  torch's sampler deals them out in turn; the gradient's sum does not depend on it.
* The layers' L2 terms (``model.losses``) do not depend on the rows: each replica adds
  them scaled by 1/W (``tf.nn.scale_regularization_loss``), so that the sum over the
  replicas holds them once, as Keras ``fit`` does.
* Keras 3's ``apply_gradients`` clips (``clipnorm``, ``global_clipnorm``, ``clipvalue``)
  in the replica context, before its all-reduce: each replica's share of the gradient,
  not the full batch's. An optimizer that clips is refused with more than one replica.
* Keras ``fit`` scales each replica's loss by ``ops.cast(1.0 / W, dtype)``, which goes
  through float32: with W = 3 a float64 run's steps are 3e-8 off (refused; 1, 2, 4 …
  replicas are exact).
* ``BatchNormalization`` (unsynchronized) normalizes each replica's slice by its own
  statistics, not the full batch's: refused with more than one replica, as the spec
  refuses it; so is Keras ``fit`` on a batch that the replicas split unevenly (above).

Shape: X (N, in_features), Y (N, out_features); N ≥ W.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

import reference
from reference._fit_checks import check_history
from reference._validation import (
    as_flag,
    check_count,
    check_instance,
    check_memory,
    type_name,
)
from reference.training import History, TrainingDiverged
from tf_impl import optimizers
from tf_impl._inputs import checked, training_data

# The losses whose per-example form a custom loop needs: Keras loss classes by spec name.
LOSSES = {"mean_squared_error": keras.losses.MeanSquaredError,
          "mean_absolute_error": keras.losses.MeanAbsoluteError,
          "mean_squared_logarithmic_error": keras.losses.MeanSquaredLogarithmicError}


def _shard_counts(where: str, n_samples: object, strategy: object) -> None:
    """A whole count ≥ 1 and a strategy; the rows' indices must fit (10¹² rows ran on
    inside tf.data)."""
    check_count(where, "n_samples", n_samples, 1)
    check_instance(where, "strategy", strategy, tf.distribute.Strategy,
                   "a tf.distribute.Strategy")
    check_memory(where, f"the indices of {n_samples} rows", 16 * n_samples)


@checked(_shard_counts)
def shard_rows(n_samples: int, strategy: tf.distribute.Strategy) -> list[np.ndarray]:
    """The rows each replica gets when a batch of all ``n_samples`` rows is distributed."""
    rows = tf.data.Dataset.range(n_samples).batch(n_samples)
    batch = next(iter(strategy.experimental_distribute_dataset(rows)))
    return [t.numpy() for t in strategy.experimental_local_results(batch)]


def _parallel_data(where: str, model: keras.Model, X: object, Y: object, loss: str,
                   optimizer: object = None, epochs: object = 1,
                   strategy: object = None, keras_fit: object = False,
                   **_: object) -> dict[str, tf.Tensor]:
    """``fit``'s checks (``training_data``), a loss with a per-example Keras form, and a
    strategy with no more replicas than rows."""
    if not isinstance(model, keras.Layer):
        raise TypeError(f"{where}: model must be a Keras model (e.g. "
                        f"tf_impl.from_reference(spec_model) under strategy.scope()), got "
                        f"{type_name(model)}")
    if not isinstance(loss, str):  # a TypeError, as fit's
        raise TypeError(f"{where}: loss must be a loss name (str), got {type_name(loss)}")
    if loss not in LOSSES:
        raise ValueError(f"{where}: loss must be one of {sorted(LOSSES)} (a per-example Keras "
                         f"loss), got {loss!r}")
    if strategy is not None and not isinstance(strategy, tf.distribute.Strategy):
        raise TypeError(f"{where}: strategy must be a tf.distribute.Strategy or None, got "
                        f"{type_name(strategy)}")
    keras_fit = as_flag(where, "keras_fit", keras_fit)  # NumPy's True too, as every switch
    data = training_data(where, model=model, X=X, Y=Y, loss=loss, optimizer=optimizer,
                         epochs=epochs)
    check_history(where, epochs)
    if isinstance(data["X"], list) or isinstance(data["Y"], list):  # a graph's run
        raise TypeError(f"{where}: model has several inputs or outputs (a graph); data "
                        "parallelism takes a model of one input and one output, X and Y "
                        "one array each, as the spec's Sequential")
    replicas = (strategy or tf.distribute.get_strategy()).num_replicas_in_sync
    n = data["X"].shape[0]
    if n < replicas:
        raise ValueError(f"{where}: the strategy's {replicas} replicas exceed the "
                         f"{n} rows of X; every replica needs at least one row")
    norms = [layer.name for layer in _layers(model)
             if isinstance(layer, keras.layers.BatchNormalization)]
    if replicas > 1 and norms:
        raise ValueError(f"{where}: layer {norms[0]!r} is a BatchNormalization, which "
                         f"normalizes each of the {replicas} replicas' slices by its own "
                         "statistics, not the full batch's; data parallelism needs one "
                         "replica for it")
    clipping = [k for k in ("clipnorm", "global_clipnorm", "clipvalue")
                if getattr(optimizer, k, None) is not None]
    if replicas > 1 and clipping:
        raise ValueError(f"{where}: optimizer has {clipping[0]}={getattr(optimizer, clipping[0])}"
                         f", but Keras's optimizer clips each of the {replicas} replicas' "
                         "share of the gradient before it sums them, not the full batch's "
                         "gradient; clip with one replica, or not at all")
    if keras_fit and replicas & (replicas - 1) and data["Y"].dtype == tf.float64:
        raise ValueError(f"{where}: keras_fit=True in float64 on {replicas} replicas: Keras "
                         f"fit scales each replica's loss by 1/{replicas} cast from a Python "
                         "float through float32 (3e-8 off), exact only for a power of two; "
                         "use the custom loop (keras_fit=False) or 1, 2, 4 … replicas")
    if keras_fit and n % replicas:
        raise ValueError(f"{where}: keras_fit=True on {n} rows and {replicas} replicas: Keras "
                         "fit averages the replicas' mean losses, the full batch's only when "
                         "the slices are even (and it stops in its build on an uneven first "
                         f"batch); use N divisible by {replicas}, or the custom loop "
                         "(keras_fit=False)")
    return data


def _layers(layer: keras.Layer) -> list[keras.Layer]:
    """``layer`` and every layer nested in it (a Sequential's, a wrapper's)."""
    inner = [*getattr(layer, "layers", []), getattr(layer, "layer", None)]
    return [layer, *(nested for child in inner if isinstance(child, keras.Layer)
                     for nested in _layers(child))]


def replica_regularization(model: keras.Layer) -> tf.Tensor | float:
    """The layers' L2 terms, this replica's share (1/W of them): summed over the replicas,
    the terms once, as in the full batch."""
    return tf.nn.scale_regularization_loss(tf.add_n(model.losses)) if model.losses else 0.0


@checked(_parallel_data)
def data_parallel_gradient(model: keras.Model, X: object, Y: object,
                           loss: str = "mean_squared_error",
                           strategy: tf.distribute.Strategy | None = None,
                           ) -> tuple[float, list[tf.Tensor]]:
    """One step's full-batch loss and gradients, summed over the replicas of ``strategy``.

    The gradients are what ``apply_gradients`` would receive: each replica's, all-reduced
    (``ReplicaContext.all_reduce``), aligned with ``model.trainable_variables``.
    """
    strategy = strategy or tf.distribute.get_strategy()
    n = int(X.shape[0])
    per_example_loss = LOSSES[loss](reduction=None, dtype=Y.dtype.name)
    batch = next(iter(strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices((X, Y)).batch(n))))

    def replica_step(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, list[tf.Tensor]]:
        with tf.GradientTape() as tape:
            # The replicas' gradients are summed: divide by the global batch, not this slice.
            value = tf.nn.compute_average_loss(per_example_loss(y, model(x, training=True)),
                                               global_batch_size=n) + replica_regularization(model)
        grads = tape.gradient(value, model.trainable_variables)
        return value, tf.distribute.get_replica_context().all_reduce("sum", grads)

    @tf.function
    def step(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, list[tf.Tensor]]:
        value, grads = strategy.run(replica_step, args=(x, y))
        return (strategy.reduce("sum", value, axis=None),
                strategy.experimental_local_results(grads)[0])

    value, grads = step(*batch)
    return float(value), list(grads)


@checked(_parallel_data)
def data_parallel_fit(model: keras.Model, X: object, Y: object,
                      loss: str = "mean_squared_error", optimizer: object = None,
                      epochs: int = 1, strategy: tf.distribute.Strategy | None = None, *,
                      keras_fit: bool = False) -> History:
    """Full-batch training of ``model`` (built under ``strategy.scope()``) in place.

    A custom loop (``strategy.run`` inside ``tf.function``), or with ``keras_fit=True``
    ``model.compile`` and ``model.fit`` under the same strategy. The arguments are the
    spec's: ``loss`` a name, ``optimizer`` a spec optimizer object (default ``SGD()``).
    Returns the full batch's loss before every step.

    Raises:
        TrainingDiverged: at the first step whose loss is inf or nan, after its update
            (the step is one graph, or Keras ``fit``'s).
    """
    strategy = strategy or tf.distribute.get_strategy()
    n = int(X.shape[0])
    dataset = tf.data.Dataset.from_tensor_slices((X, Y)).batch(n)  # one step per epoch
    with strategy.scope():
        keras_optimizer = optimizers.from_reference(
            reference.optimizers.SGD() if optimizer is None else optimizer)
        keras_optimizer.build(model.trainable_variables)  # its variables: mirrored, up front
        if keras_fit:
            # Keras's default reduction; under a strategy, each replica's mean is scaled by 1/W.
            model.compile(optimizer=keras_optimizer, loss=LOSSES[loss](
                reduction="sum_over_batch_size", dtype=Y.dtype.name))
    if keras_fit:
        fitted = model.fit(dataset, epochs=epochs, shuffle=False, verbose=0,
                           callbacks=[keras.callbacks.TerminateOnNaN()])  # NaN or ±inf stops it
        history = History(epochs=epochs, steps_per_epoch=1)
        for epoch, value in enumerate(fitted.history.get("loss", []), start=1):
            if not math.isfinite(value):  # Keras has applied that step's update
                raise TrainingDiverged(epoch, epoch, value, history)
            history.loss.append(value)
        return history
    per_example_loss = LOSSES[loss](reduction=None, dtype=Y.dtype.name)

    def replica_step(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            # The replicas' gradients are summed: divide by the global batch, not this slice.
            value = tf.nn.compute_average_loss(per_example_loss(y, model(x, training=True)),
                                               global_batch_size=n) + replica_regularization(model)
        grads = tape.gradient(value, model.trainable_variables)
        keras_optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return value

    @tf.function
    def train_step(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        return strategy.reduce("sum", strategy.run(replica_step, args=(x, y)), axis=None)

    history = History(epochs=epochs, steps_per_epoch=1)
    batches = strategy.experimental_distribute_dataset(dataset.repeat(epochs))
    for epoch, (x, y) in enumerate(batches, start=1):
        value = float(train_step(x, y))
        if not math.isfinite(value):
            raise TrainingDiverged(epoch, epoch, value, history)
        history.loss.append(value)
    return history
