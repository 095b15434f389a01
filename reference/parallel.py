r"""Data parallelism: W replicas of one model, each given a shard of the batch.

Each replica r holds the same weights θ, takes its shard S_r of the batch (n_r rows,
Σ n_r = N) and computes the mean loss and its gradient over that shard alone:

    L_r = (1/n_r) Σ_{i∈S_r} ℓ_i,        g_r = ∇_θ L_r

The full batch's mean loss is a sum over the same rows, so the replicas' results
combine into it exactly, each shard weighted by its share of the rows:

    L = (1/N) Σ_i ℓ_i = Σ_r (n_r/N) L_r,        ∇_θ L = Σ_r (n_r/N) g_r

With even shards (n_r = N/W) the weights are all 1/W: the plain average of the
replicas' gradients, which is what ``DistributedDataParallel`` computes (an all-reduce
sum, divided by W). With an uneven last shard (7 rows on 2 replicas: 4 and 3) the plain
average weighs the smaller shard's rows more (1/6 each instead of 1/7) and is no longer
the full-batch gradient; the weights n_r/N are. The frameworks get there in two ways:

* scale each replica's loss so that the all-reduce does the weighting: torch's DDP
  averages, so a rank's loss is L_r·n_r·W/N; ``tf.distribute`` sums, so a replica's loss
  is Σ_{i∈S_r} ℓ_i / N (``tf.nn.compute_average_loss`` with the global batch size);
* or keep every shard the same size, where all of these coincide.

A data-parallel run is therefore the spec's full-batch run (``reference.fit`` with
``batch_size=None``), step for step; :func:`data_parallel_fit` computes it the
replicas' way, and the parity suite holds both frameworks' distributed engines to it.
How the rows are dealt out does not change the sum: the spec deals them like torch's
``DistributedSampler``, rank r taking rows r, r + W, r + 2W, … (:func:`shard_rows`).

Each replica runs its forward in training mode, as ``fit`` does (Dropout drops, each
shard with its own draws), and the loss includes the layers' L2 terms λ‖W‖² (they do not
depend on the rows, so they enter once, as in the full batch). A layer that normalizes by
the batch's statistics (BatchNormalization) would see its shard's rows alone, which is
not the full batch: such a model is refused for W > 1 (W = 1 is the full batch itself),
as is a Dropout with an injected ``mask``, which is drawn for the whole batch.

Shape: X (N, in_features), Y (N, out_features); N ≥ W, so that no shard is empty.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from reference import losses
from reference._fit_checks import (
    check_history,
    check_loss_name,
    check_run,
    check_world_size,
    spec_data,
)
from reference._validation import check_count, check_memory, type_name
from reference.layers import Dropout
from reference.networks import Sequential
from reference.normalization import ONE_VALUE_PER_FEATURE, BatchNormalization
from reference.optimizers import SGD, Adam
from reference.training import History, TrainingDiverged


def shard_rows(n_samples: int, world_size: int) -> list[np.ndarray]:
    """The rows of each replica's shard: rank r takes rows r, r + W, r + 2W, ….

    The shards differ in size by at most one row; when W does not divide N, the ranks
    from N mod W on have one row fewer (the uneven last shard). Every row is in
    exactly one shard.
    """
    check_count("shard_rows", "n_samples", n_samples, 1)
    check_count("shard_rows", "world_size", world_size, 1)
    if n_samples < world_size:
        raise ValueError(f"shard_rows: need 1 ≤ world_size ≤ n_samples, got world_size "
                         f"{world_size} for {n_samples} samples")
    check_memory("shard_rows", f"the indices of {n_samples} rows", 8 * n_samples)
    return [np.arange(rank, n_samples, world_size) for rank in range(world_size)]


def _shard_step(model: Sequential, x: np.ndarray, y: np.ndarray,
                loss: str) -> tuple[float, list[np.ndarray]]:
    """One replica: its shard's mean loss L_r and gradient g_r."""
    y_pred = model.forward(x, training=True)  # as fit's step: Dropout drops
    value = losses.get(loss)(y, y_pred)
    model.backward(losses.gradient(loss)(y, y_pred), input_gradient=False)
    return value, [g.copy() for pair in model.grads for g in pair]


def data_parallel_gradient(model: Sequential, X: np.ndarray, Y: np.ndarray,
                           loss: str = "mean_squared_error",
                           world_size: int = 2) -> tuple[float, list[np.ndarray]]:
    """The full batch's loss and gradient, from W shards: Σ_r (n_r/N)·(L_r, g_r).

    Returns the loss and the gradients [dL/dW¹, dL/db¹, dL/dW², …] (the spec's layout,
    W of shape (in, out)); they equal a single full-batch backward pass up to rounding.
    """
    X, Y = _checked("data_parallel_gradient", model, X, Y, loss, None, 1, world_size)
    return _combined(model, X, Y, loss, world_size)


def _checked(where: str, model: Sequential, X: object, Y: object, loss: object,
             optimizer: object, epochs: object, world_size: object
             ) -> tuple[np.ndarray, np.ndarray]:
    """``fit``'s checks (one full batch: no ``batch_size`` or ``seed``), and 1 ≤ W ≤ N."""
    if not isinstance(model, Sequential):
        raise TypeError(f"{where}: model must be a reference.Sequential (the torch and Keras "
                        f"versions are torch_impl.parallel and tf_impl.parallel), got "
                        f"{type_name(model)}")
    check_run(where, loss, optimizer, epochs, None, None)
    check_loss_name(where, "loss", loss)  # one name: a list of losses is a graph's (fit's)
    check_history(where, epochs)
    X, Y = spec_data(where, model, X, Y, loss)
    check_world_size(where, world_size, X.shape[0])
    for k, layer in enumerate(model.layers):
        inner = getattr(layer, "layer", layer)  # a wrapper's (TimeDistributed) layer
        if world_size > 1 and isinstance(inner, BatchNormalization):
            raise ValueError(f"{where}: layer {k} ({layer.name}) normalizes by its batch's "
                             f"statistics, which on {world_size} replicas are each shard's, "
                             "not the full batch's; data parallelism needs world_size=1 for it "
                             "(or a synchronized batch norm, which the spec does not model)")
        if world_size > 1 and isinstance(inner, Dropout) and inner.mask is not None:
            raise ValueError(f"{where}: layer {k} ({layer.name}) has an injected mask, drawn "
                             f"for one forward of all rows; on {world_size} replicas each shard "
                             "draws its own: set its mask to None, or world_size=1")
    lone = next((rows for rows in shard_rows(X.shape[0], world_size) if len(rows) == 1), None)
    if lone is not None:  # a shard of one row: can every layer normalize it? (as fit asks)
        try:  # on a copy: the run is refused before any step changes the model
            with np.errstate(over="ignore", invalid="ignore"):
                copy.deepcopy(model).forward(X[lone], training=True)
        except ValueError as error:
            if ONE_VALUE_PER_FEATURE not in str(error):
                raise
            raise ValueError(f"{where}: {X.shape[0]} row(s) on {world_size} replica(s) make a "
                             f"shard of one row, too few for a layer's batch statistics in "
                             f"training ({error})") from None
    return X, Y


def _combined(model: Sequential, X: np.ndarray, Y: np.ndarray, loss: str,
              world_size: int) -> tuple[float, list[np.ndarray]]:
    """Σ_r (n_r/N)·(L_r, g_r) over the shards of checked data."""
    value, grads = 0.0, None
    for rows in shard_rows(X.shape[0], world_size):
        shard_value, shard_grads = _shard_step(model, X[rows], Y[rows], loss)
        share = len(rows) / X.shape[0]  # n_r / N: this shard's weight in the full batch
        value += share * shard_value
        weighted = [share * g for g in shard_grads]
        grads = weighted if grads is None else [a + b for a, b in zip(grads, weighted,
                                                                      strict=True)]
    # The L2 terms λ‖W‖² (whose 2λW each shard's backward added, weighted to one whole):
    # the loss fit reports includes them.
    return value + model.regularization_loss(), grads


def data_parallel_fit(model: Sequential, X: np.ndarray, Y: np.ndarray,
                      loss: str = "mean_squared_error", optimizer: SGD | Adam | None = None,
                      epochs: int = 1, world_size: int = 2) -> History:
    """Full-batch training with each step's gradient combined from W shards.

    One step per epoch, on all N rows; the per-step loss history is the full batch's
    loss (before that step's update), as in ``reference.fit(..., batch_size=None)``.

    The arguments are checked as ``fit`` checks them, before the first step: ``epochs``
    an integer ≥ 0, ``world_size`` an integer in [1, N], ``optimizer`` a spec optimizer
    object, ``model`` a spec Sequential.

    Raises:
        TrainingDiverged: at the first step whose loss is inf or nan (before its update).
    """
    X, Y = _checked("data_parallel_fit", model, X, Y, loss, optimizer, epochs, world_size)
    optimizer = SGD() if optimizer is None else optimizer
    params = [p for pair in model.params for p in pair]
    state = optimizer.init(params)
    history = History(epochs=epochs, steps_per_epoch=1)
    for epoch in range(1, epochs + 1):
        # A diverging run overflows on purpose; it is reported below, not warned about.
        with np.errstate(over="ignore", invalid="ignore"):
            value, grads = _combined(model, X, Y, loss, world_size)
        if not math.isfinite(value):
            raise TrainingDiverged(epoch, epoch, value, history)
        optimizer.step(params, grads, state)
        history.loss.append(value)
    return history
