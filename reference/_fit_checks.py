"""The checks of a training run, shared by the spec's ``fit`` and both mirrors' (data
plumbing: the mirrors call them on their tensors' shapes and dtypes, before any step)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from reference import losses
from reference._validation import (
    as_array,
    as_float_array,
    check_array_within,
    check_count,
    check_integer_labels,
    check_memory,
    check_not_empty,
    check_real,
    check_shape,
    type_name,
)
from reference.callbacks import EarlyStopping
from reference.optimizers import SGD, Adam

if TYPE_CHECKING:
    from reference.graphs import Model
    from reference.networks import Sequential


def is_sparse(loss: str) -> bool:
    """Whether the loss takes class indices (N,) rather than targets (N, C) (or (N, T)
    rather than (N, T, C))."""
    return loss.startswith("sparse_")


def check_run(where: str, loss: object, optimizer: object, epochs: object,
              batch_size: object, seed: object, early_stopping: object = None) -> None:
    """The arguments of a training run, checked before anything runs (all three ``fit``)."""
    if early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
        raise TypeError(f"{where}: early_stopping must be a reference.callbacks.EarlyStopping "
                        f"or None, got {type_name(early_stopping)}")
    if not isinstance(loss, list | tuple):  # a list, one loss per output: check_terms
        check_loss_name(where, "loss", loss)
    if optimizer is not None and not isinstance(optimizer, SGD | Adam):
        raise TypeError(f"{where}: optimizer must be a reference.optimizers object (SGD, Adam, "
                        f"AdamW) or None, got {type_name(optimizer)} {optimizer!r:.60}")
    check_count(where, "epochs", epochs, 0)
    check_count(where, "batch_size", batch_size, 1, none_means="one batch of all rows")
    check_count(where, "seed", seed, 0, none_means="data order")


def one_row_batch(order: list[list[np.ndarray]]) -> np.ndarray | None:
    """The rows of a batch of one row, where the cut of ``batch_order`` leaves one (every
    epoch is cut alike): the one batch size at which a layer's batch statistics can have
    a single value per feature (torch's BatchNorm then refuses the step)."""
    return next((rows for rows in order[0] if len(rows) == 1), None) if order else None


def one_row_batch_error(where: str, n_samples: int, batch_size: int | None,
                        error: Exception) -> ValueError:
    """The refusal, before any step, of a run with a batch of one row that a layer cannot
    normalize in training (``error``, the layer's own, says which and why)."""
    return ValueError(f"{where}: batch_size={batch_size!r} on {n_samples} row(s) makes a "
                      f"batch of one row, too few for a layer's batch statistics in "
                      f"training ({error}); choose a batch_size that leaves no batch of "
                      f"one row")


def check_loss_name(where: str, what: str, loss: object) -> None:
    """A loss named by a string of ``reference.losses.NAMES``."""
    if not isinstance(loss, str):
        raise TypeError(f"{where}: {what} must be a loss name (str), got {type(loss).__name__}")
    if loss not in losses.NAMES:
        raise ValueError(f"{where}: unknown loss {loss!r}; choose one of "
                         f"{', '.join(losses.NAMES)}")


def check_targets(where: str, loss: str, x_shape: tuple, y_shape: tuple, y_dtype: object,
                  input_shape: tuple, output_shape: tuple) -> None:
    """Shapes of X and Y against the model's per-sample ``input_shape`` and ``output_shape``
    (``None``: any size): Y (N, *output_shape) or, for a sparse loss, integer class
    indices (N,), one per sample, or (N, T), one per step of a sequence output (their
    range is checked by the caller, on its own tensors)."""
    check_shape(where, "X", x_shape, (None, *input_shape))
    check_not_empty(where, "X", x_shape)
    if is_sparse(loss):
        check_integer_labels(where, f"Y (class indices for {loss})", y_dtype)
        check_shape(where, f"Y (class indices for {loss})", y_shape,
                    (x_shape[0], *output_shape[:-1]))
    else:
        check_shape(where, "Y", y_shape, (x_shape[0], *output_shape))


def check_history(where: str, epochs: int) -> None:
    """A full-batch run's loss history, one Python float per epoch (a list entry and the
    float: 32 bytes), must fit in memory: ``epochs=10**12`` ran on for days."""
    check_memory(where, f"the loss history of {epochs} steps (one per epoch)", 32 * epochs)


def check_world_size(where: str, world_size: object, n_samples: int) -> None:
    """A data-parallel run's replica count: an integer in [1, N], so that no shard is empty."""
    check_count(where, "world_size", world_size, 1)
    if world_size > n_samples:
        raise ValueError(f"{where}: world_size {world_size} exceeds the {n_samples} rows of X; "
                         "every replica needs at least one row")


def spec_data(where: str, model: Sequential, X: object, Y: object,
              loss: str) -> tuple[np.ndarray, np.ndarray]:
    """X and Y for a spec model's run (``fit``, ``data_parallel_fit``): converted under the
    model's input policy, shapes checked (:func:`check_targets`), class indices in range."""
    X = model.as_input(X, where, "X")  # integer indices kept for an Embedding first
    Y = as_array(Y, where, "Y") if is_sparse(loss) else as_float_array(Y, model.dtype, where, "Y")
    check_targets(where, loss, X.shape, Y.shape, Y.dtype, model.input_shape, model.output_shape)
    if is_sparse(loss):
        check_array_within(where, "Y (class indices)", Y, 0, model.output_shape[-1] - 1)
    return X, Y


# -- graph models: several inputs, several outputs, a loss per output and the KL ------------

def is_graph_run(n_inputs: int, n_outputs: int, loss: object, loss_weights: object,
                 kl: object) -> bool:
    """Whether a run takes the several-input/several-output form of ``fit`` (lists of X
    and Y, a loss per output, ``loss_weights``, ``kl``) rather than one X and one Y. A
    list given as X to a model of one input is that input's data (a nested list), as in
    Keras."""
    return (n_inputs, n_outputs) != (1, 1) or loss_weights is not None or kl is not None \
        or isinstance(loss, list | tuple)


def check_one_output_run(where: str, kind: str, loss: object, loss_weights: object,
                         kl: object) -> None:
    """A sequential model (``kind``) trains on one loss name: a list of losses,
    ``loss_weights`` and ``kl`` are a graph's (the spec's Sequential refuses them; a
    mirror's one-output module would otherwise take them as a graph's run)."""
    if loss_weights is not None or kl is not None or isinstance(loss, list | tuple):
        raise ValueError(f"{where}: a Sequential takes one loss name; a list of losses, "
                         f"loss_weights and kl are for a graph, got a {kind}")


def check_terms(where: str, loss: object, loss_weights: object, kl: object,
                n_outputs: int) -> tuple[list[str | None], list[float], tuple[int, int] | None]:
    """The terms of a graph's loss (Keras's ``compile(loss=[...], loss_weights=[...])``):
    one loss name per output (a single name: every output outside ``kl``), None where an
    output has no target; a weight per output (default 1); ``kl`` a pair of distinct
    output positions (mean, log-variance) whose ``gaussian_kl`` is added."""
    if kl is not None:
        if not isinstance(kl, list | tuple) or len(kl) != 2 or not all(
                isinstance(k, numbers.Integral) and not isinstance(k, bool | np.bool_)
                for k in kl):
            raise TypeError(f"{where}: kl must be a pair of output positions (mean, "
                            f"log-variance), e.g. kl=(1, 2), or None, got {kl!r:.60}")
        if kl[0] == kl[1] or not all(0 <= k < n_outputs for k in kl):
            raise ValueError(f"{where}: kl must name two different outputs among the model's "
                             f"{n_outputs} (positions 0 … {n_outputs - 1}), got {tuple(kl)}")
        kl = (int(kl[0]), int(kl[1]))
    taken = () if kl is None else kl
    if isinstance(loss, list | tuple):
        if len(loss) != n_outputs:
            raise ValueError(f"{where}: loss lists {len(loss)} losses for the model's "
                             f"{n_outputs} output(s); give one per output (None: no target)")
        per_output = list(loss)
    else:
        per_output = [None if k in taken else loss for k in range(n_outputs)]
    for k, name in enumerate(per_output):
        if name is not None:
            check_loss_name(where, f"loss[{k}]", name)
        if name is not None and k in taken:
            raise ValueError(f"{where}: output {k} feeds the KL term (kl={kl}) and has loss "
                             f"{name!r} too; give it None in loss")
    if loss_weights is None:
        weights = [1.0] * n_outputs
    elif not isinstance(loss_weights, list | tuple):  # a dict by name, an array: say so
        raise TypeError(f"{where}: loss_weights must be a list or tuple of one weight per "
                        f"output ({n_outputs}), got a {type_name(loss_weights)}")
    elif len(loss_weights) != n_outputs:
        raise ValueError(f"{where}: loss_weights must list one weight per output "
                         f"({n_outputs}), got {loss_weights!r:.60}")
    else:
        for k, weight in enumerate(loss_weights):
            check_real(where, f"loss_weights[{k}]", weight)
        weights = [float(w) for w in loss_weights]
    for k, (name, weight) in enumerate(zip(per_output, weights, strict=True)):
        if name is None and weight != 1.0:
            raise ValueError(f"{where}: loss_weights[{k}] is {weight} but output {k} has no "
                             "loss to weigh (the KL term's weight is 1)")
    if kl is None and all(name is None for name in per_output):
        raise ValueError(f"{where}: no output has a loss and kl is None: nothing to minimise")
    return per_output, weights, kl


def as_parts(where: str, what: str, given: object, count: int,
             wanted: Sequence[bool] | None = None) -> list:
    """``given`` as a list of ``count`` parts (X: one per input; Y: one per output, None
    where ``wanted`` is False). A single array stands for the one part there is (for Y:
    the target of the one output that has a loss); for a model of one input (or output)
    a list is its data, a nested list."""
    slots = [True] * count if wanted is None else list(wanted)
    if isinstance(given, dict):  # Keras's by-name form; positions say the same, unambiguously
        parts_of = "input" if wanted is None else "output (None where there is no target)"
        raise TypeError(f"{where}: {what} given as a dict is not supported; give a list in "
                        f"the order of the model's {'inputs' if wanted is None else 'outputs'}, "
                        f"one array per {parts_of}")
    if count == 1:
        parts = [given]
    elif isinstance(given, list | tuple):
        if len(given) != count:
            raise ValueError(f"{where}: {what} must list {count} arrays, one per "
                             f"{'input' if wanted is None else 'output'}, got {len(given)}")
        parts = list(given)
    elif sum(slots) == 1:
        parts = [given if slot else None for slot in slots]
    else:
        parts_of = "inputs" if wanted is None else f"outputs ({sum(slots)} with a target)"
        blanks = "" if wanted is None else " (None where there is no target)"
        raise ValueError(f"{where}: the model has {count} {parts_of}: {what} must be a list "
                         f"of {count} arrays{blanks}, got a {type_name(given)}")
    for k, (part, slot) in enumerate(zip(parts, slots, strict=True)):
        if slot and part is None:
            raise ValueError(f"{where}: {what}[{k}] must be an array, got None" if wanted is None
                             else f"{where}: output {k} has a loss, so {what}[{k}] must be its "
                             "target, got None")
        if not slot and part is not None:
            raise ValueError(f"{where}: output {k} has no loss (None, or it feeds kl), so "
                             f"{what}[{k}] must be None, got a {type_name(part)}")
    return parts


def check_graph_data(where: str, losses_per_output: Sequence[str | None],
                     x_shapes: Sequence[tuple], input_shapes: Sequence[tuple],
                     y_shapes: Sequence[tuple | None], y_dtypes: Sequence[object],
                     output_shapes: Sequence[tuple], kl: tuple[int, int] | None = None) -> None:
    """Shapes of a graph run's X (one array per input, each (N, *input_shape), one N) and
    Y (per output with a loss: (N, *output_shape), or class indices for a sparse loss);
    the two outputs of ``kl`` of one shape."""
    if kl is not None and tuple(output_shapes[kl[0]]) != tuple(output_shapes[kl[1]]):
        raise ValueError(f"{where}: kl={kl} names outputs of shapes "
                         f"{tuple(output_shapes[kl[0]])} and {tuple(output_shapes[kl[1]])} "
                         "(per sample); the mean and log-variance must have one shape")
    for k, (shape, expected) in enumerate(zip(x_shapes, input_shapes, strict=True)):
        check_shape(where, f"X[{k}]", shape, (None, *expected))
        check_not_empty(where, f"X[{k}]", shape)
    rows = {shape[0] for shape in x_shapes}
    if len(rows) > 1:
        raise ValueError(f"{where}: the inputs must have one number of rows, got "
                         f"{[shape[0] for shape in x_shapes]}")
    n = x_shapes[0][0]
    for k, (name, shape, dtype, output) in enumerate(zip(
            losses_per_output, y_shapes, y_dtypes, output_shapes, strict=True)):
        if name is None:
            continue
        if is_sparse(name):
            check_integer_labels(where, f"Y[{k}] (class indices for {name})", dtype)
            check_shape(where, f"Y[{k}] (class indices for {name})", shape, (n, *output[:-1]))
        else:
            check_shape(where, f"Y[{k}]", shape, (n, *output))


def spec_graph_data(where: str, model: Model, X: object, Y: object,
                    losses_per_output: Sequence[str | None],
                    kl: tuple[int, int] | None = None) -> tuple[list, list]:
    """X (one array per input, under each input's policy: floats, an Embedding's indices,
    attention's boolean mask) and Y (per output: a target, or None) for a spec graph's run."""
    xs = as_parts(where, "X", X, len(model.inputs))
    xs = [model._array(t, x, where, f"X[{k}]") for k, (t, x) in
          enumerate(zip(model.inputs, xs, strict=True))]
    ys = as_parts(where, "Y", Y, len(model.outputs), [n is not None for n in losses_per_output])
    ys = [None if y is None else as_array(y, where, f"Y[{k}]") if is_sparse(name)
          else as_float_array(y, model.dtype, where, f"Y[{k}]")
          for k, (y, name) in enumerate(zip(ys, losses_per_output, strict=True))]
    outputs = [t.shape for t in model.outputs]
    check_graph_data(where, losses_per_output, [x.shape for x in xs],
                     [t.shape for t in model.inputs], [None if y is None else y.shape for y in ys],
                     [None if y is None else y.dtype for y in ys], outputs, kl)
    for k, (y, name) in enumerate(zip(ys, losses_per_output, strict=True)):
        if name is not None and is_sparse(name):
            check_array_within(where, f"Y[{k}] (class indices)", y, 0, outputs[k][-1] - 1)
    return xs, ys
