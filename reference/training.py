"""Training runs: forward, loss, backward and an optimizer step, batch after batch.

One step on a batch B of the data:

    ŷ = model(X_B);   L = loss(Y_B, ŷ);   g = dL/dθ (backpropagation);   θ ← optimizer(θ, g)

An epoch is one pass over the data in mini-batches of ``batch_size`` rows:
``batch_size=None`` is full-batch gradient descent (one step per epoch), ``1`` is
per-sample SGD (note 003's loop), anything between is mini-batch SGD. The last batch of
an epoch may be smaller, as in torch's ``DataLoader`` and Keras's ``fit``.

The order of the rows comes from :func:`batch_order`: one permutation per epoch from one
generator seeded with ``seed`` (``None``: data order, no shuffling). The torch and TF
mirrors call the same function, so the three frameworks see the same batches in the same
order; that is data plumbing, not computation.

A loss that is not finite (inf or nan) stops the run with :class:`TrainingDiverged`,
which names the step, instead of returning weights that are garbage. Note 003's
per-sample loop with η = 1e-4 and an input of 1000 is the classic case: every visit to
x = 1000 multiplies the weight by about −99. (Note 003's loop also updates the bias
with the weight it has just updated; here both gradients come from the same forward
pass, as in every framework.)

Shape: X (N, in_features), Y (N, out_features) of the model's dtype (integers converted);
for the sparse losses Y holds integer class indices, shape (N,), or (N, T) for a model
with an output per step; for a model that begins with an Embedding, X is integer
indices (N, T), kept as integers.

Every argument is checked before the first step (:func:`check_run`, :func:`check_targets`,
shared with both mirrors' ``fit``): counts are integers (``batch_size=2.5`` is refused,
not cut to 2), the optimizer's hyper-parameters are finite, class indices lie in range.

Graphs of several inputs and outputs train as Keras's ``compile`` and ``fit`` take them,
with the same signature in all three packages: X is a list of arrays, one per input (a
Transformer block's ``[x, mask]``, a VAE's ``[images, noise]``), cut into the same rows
at every step; Y holds one target per output, None where an output has none; ``loss`` is
one name for every output or a list of one per output, ``loss_weights`` their weights,
and ``kl=(mean, log_var)`` adds :func:`reference.losses.gaussian_kl` of two outputs, a
variational autoencoder's code, a loss without a target. The step's loss is then
L = Σ_k w_k loss_k(Y_k, ŷ_k) + KL, and each output's upstream gradient is the sum of its
terms'. torch computes that sum in its loop, Keras on its ``GradientTape``, as their users
write a VAE's step; the checks (``check_terms``, ``check_graph_data``) are shared.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from reference import losses
from reference._fit_checks import (
    check_run,
    check_terms,
    is_graph_run,
    one_row_batch,
    one_row_batch_error,
    spec_data,
    spec_graph_data,
)
from reference._validation import check_count, check_memory
from reference.callbacks import EarlyStopping
from reference.graphs import Model
from reference.networks import Sequential
from reference.normalization import ONE_VALUE_PER_FEATURE
from reference.optimizers import SGD, Adam


@dataclass
class History:
    """What a run recorded: the loss of every step, in order (before that step's update)."""

    loss: list[float] = field(default_factory=list)
    epochs: int = 0
    steps_per_epoch: int = 0
    stopped_epoch: int | None = None  # 1-based: the epoch after which early stopping ended it


class TrainingDiverged(FloatingPointError):
    """The loss stopped being a finite number: the run diverged.

    Attributes: ``step`` (1-based, counted over the whole run), ``epoch`` (1-based),
    ``loss`` (the non-finite value) and ``history`` (the finite losses before it).
    """

    def __init__(self, step: int, epoch: int, loss: float, history: History) -> None:
        self.step, self.epoch, self.loss, self.history = step, epoch, loss, history
        super().__init__(
            f"training diverged at step {step} (epoch {epoch}): the loss is {loss}. The "
            "weights are no longer usable; lower the learning rate or scale the inputs.")


_ARRAY_HEADER = 112  # bytes: sys.getsizeof of an empty ndarray or a view


def batch_order(n_samples: int, batch_size: int | None, epochs: int,
                seed: int | None, *, where: str = "batch_order") -> list[list[np.ndarray]]:
    """The row indices of every batch, epoch by epoch: ``order[epoch][batch]``.

    Each epoch takes the next permutation of one ``np.random.default_rng(seed)`` and cuts
    it into consecutive batches of ``batch_size`` (``None``: one batch of all rows);
    ``seed=None`` keeps the data order. ``where`` names the caller (``fit``) in the errors.
    """
    check_count(where, "n_samples", n_samples, 1)
    check_count(where, "epochs", epochs, 0)
    check_count(where, "batch_size", batch_size, 1, none_means="one batch of all rows")
    check_count(where, "seed", seed, 0, none_means="data order")
    size = n_samples if batch_size is None else batch_size
    # the whole order is built before the first step: an epoch's permutation (8 bytes a
    # row), a view per batch (an array header each) and the list of them; 2**31 epochs of
    # 4 rows grew the process for minutes until the system's OOM killer ended it
    # in Python's integers: np.int8(2) rows overflowed int8 in this count
    rows, per_batch, count = int(n_samples), int(size), int(epochs)
    batches = -(-rows // per_batch)
    check_memory(where, f"the order of {count} epochs of {batches} batches",
                 count * (8 * rows + _ARRAY_HEADER * (1 + batches) + 8 * batches + 56))
    rng = None if seed is None else np.random.default_rng(seed)
    order = []
    for _ in range(epochs):
        rows = np.arange(n_samples) if rng is None else rng.permutation(n_samples)
        order.append([rows[start:start + size] for start in range(0, n_samples, size)])
    return order


def fit(model: Sequential | Model, X: object, Y: object,
        loss: str | Sequence[str | None] = "mean_squared_error",
        optimizer: SGD | Adam | None = None, epochs: int = 1, batch_size: int | None = None,
        seed: int | None = 0, early_stopping: EarlyStopping | None = None, *,
        loss_weights: Sequence[float] | None = None,
        kl: tuple[int, int] | None = None) -> History:
    """Train ``model`` in place by gradient descent; return the per-step loss history.

    A graph of several inputs and outputs trains as Keras's ``compile``/``fit`` does: X a
    list of arrays, one per input in the order of ``model.inputs``; Y a list, one target
    per output (None for an output without one), or one array when one output has a
    loss; ``loss`` one name for every output or a list of one name (or None) per output,
    each weighted by ``loss_weights``. The step's loss is

        L = Σ_k w_k loss_k(Y_k, ŷ_k) + KL(ŷ_mean, ŷ_log_var)

    where the KL term, :func:`reference.losses.gaussian_kl`, comes in with ``kl=(mean,
    log_var)``, two output positions: a variational autoencoder's code, a loss without a
    target. Each output's upstream gradient is the sum of its terms' (w_k dloss_k/dŷ_k;
    the KL's dL/dμ, dL/d log σ²) and ``model.backward`` takes them all at once.

    Args:
        model: a spec :class:`~reference.networks.Sequential`, or a
            :class:`~reference.graphs.Model`; its weights are updated.
        X, Y: inputs (N, in_features) and targets (N, out_features); for a sparse loss,
            integer class indices (N,); for a graph, lists (see above).
        loss: a name from ``reference.losses``, or one per output (None: no target).
        optimizer: a spec optimizer (default ``SGD()``, η = 0.01); its ``convention``
            decides whose formulas the spec follows.
        epochs: passes over the data.
        batch_size: rows per step; ``None`` = all (full batch), 1 = per sample.
        seed: seeds the shuffle of :func:`batch_order`; ``None`` = data order.
        early_stopping: a ``reference.callbacks.EarlyStopping``, consulted after every
            epoch with the mean of its step losses; its ``convention`` decides whose
            comparison the spec follows.
        loss_weights: one weight per output (Keras's ``loss_weights``), default 1 each.
        kl: positions of the two outputs (mean, log-variance) whose Gaussian KL
            divergence is added to the loss, with weight 1; None: no KL term.

    Raises:
        TrainingDiverged: at the first step whose loss is inf or nan (before its update).
    """
    if not isinstance(model, Sequential | Model):
        raise TypeError(f"fit: model must be a reference.Sequential or reference.Model, got "
                        f"{type(model).__name__}")
    check_run("fit", loss, optimizer, epochs, batch_size, seed, early_stopping)
    counts = (len(model.inputs), len(model.outputs)) if isinstance(model, Model) else (1, 1)
    if is_graph_run(*counts, loss, loss_weights, kl):
        if not isinstance(model, Model):
            raise ValueError("fit: a Sequential takes one loss name; a list of losses, "
                             "loss_weights and kl are for a reference.Model (a graph)")
        per_output, weights, kl = check_terms("fit", loss, loss_weights, kl, counts[1])
        xs, ys = spec_graph_data("fit", model, X, Y, per_output, kl)

        def inputs(rows: np.ndarray) -> object:
            return [x[rows] for x in xs] if model.input_list else xs[0][rows]

        def step_loss(rows: np.ndarray) -> tuple[float, object]:
            outputs = model.forward(inputs(rows), training=True)
            outputs = outputs if model.output_list else [outputs]
            value, upstream = _graph_loss(outputs, [None if y is None else y[rows] for y in ys],
                                          per_output, weights, kl)
            return value, upstream if model.output_list else upstream[0]
        n_samples = len(xs[0])
    else:
        X, Y = spec_data("fit", model, X, Y, loss)
        value_of, gradient_of = losses.get(loss), losses.gradient(loss)

        def inputs(rows: np.ndarray) -> object:
            return X[rows]

        def step_loss(rows: np.ndarray) -> tuple[float, object]:
            y_pred = model.forward(inputs(rows), training=True)
            if isinstance(y_pred, list):  # a Model(outputs=[y]): its one output
                (y_pred,) = y_pred
            return value_of(Y[rows], y_pred), gradient_of(Y[rows], y_pred)
        n_samples = X.shape[0]
    optimizer = SGD() if optimizer is None else optimizer
    params = [p for layer in model.layers for p in layer.params]
    state = optimizer.init(params)
    order = batch_order(n_samples, batch_size, epochs, seed, where="fit")
    lone = one_row_batch(order)
    if lone is not None:  # a batch of one row: can every layer normalize it?
        try:  # on a copy: the run is refused before any step changes the model
            with np.errstate(over="ignore", invalid="ignore"):  # as in a step, below
                copy.deepcopy(model).forward(inputs(lone), training=True)
        except ValueError as error:
            if ONE_VALUE_PER_FEATURE not in str(error):
                raise
            raise one_row_batch_error("fit", n_samples, batch_size, error) from None
    history = History(epochs=epochs, steps_per_epoch=len(order[0]) if order else 0)
    stopper = None if early_stopping is None else early_stopping.init()
    step = 0
    for epoch, batches in enumerate(order, start=1):
        for rows in batches:
            step += 1
            # A diverging run overflows on purpose; it is reported below, not warned about.
            with np.errstate(over="ignore", invalid="ignore"):
                value, upstream = step_loss(rows)
                value += model.regularization_loss()
                if not math.isfinite(value):
                    raise TrainingDiverged(step, epoch, value, history)
                model.backward(upstream)
                grads = [g for layer in model.layers for g in layer.grads]
                optimizer.step(params, grads, state)
            history.loss.append(value)
        if stopper is not None and early_stopping.update(
                stopper, epoch - 1, float(np.mean(history.loss[-len(batches):])), model):
            history.stopped_epoch = epoch
            break
    if stopper is not None:
        early_stopping.restore(stopper, model)
    return history


def _graph_loss(outputs: list[np.ndarray], targets: list[np.ndarray | None],
                per_output: list[str | None], weights: list[float],
                kl: tuple[int, int] | None) -> tuple[float, list[np.ndarray]]:
    """L = Σ_k w_k loss_k(Y_k, ŷ_k) + KL(ŷ_mean, ŷ_log_var), and dL/dŷ_k for every output
    (zero for an output that enters no term)."""
    value, upstream = 0.0, [np.zeros_like(y) for y in outputs]
    for k, (name, weight) in enumerate(zip(per_output, weights, strict=True)):
        if name is not None:
            value += weight * losses.get(name)(targets[k], outputs[k])
            upstream[k] += weight * losses.gradient(name)(targets[k], outputs[k])
    if kl is not None:
        mean, log_var = kl
        value += losses.gaussian_kl(outputs[mean], outputs[log_var])
        d_mean, d_log_var = losses.gaussian_kl_gradient(outputs[mean], outputs[log_var])
        upstream[mean] += d_mean
        upstream[log_var] += d_log_var
    return value, upstream
