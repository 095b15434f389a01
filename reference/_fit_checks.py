"""The checks of a training run, shared by the spec's ``fit`` and both mirrors' (data
plumbing: the mirrors call them on their tensors' shapes and dtypes, before any step)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from reference import losses
from reference._validation import (
    as_float_array,
    check_array_within,
    check_count,
    check_integer_labels,
    check_not_empty,
    check_shape,
    type_name,
)
from reference.callbacks import EarlyStopping
from reference.optimizers import SGD, Adam

if TYPE_CHECKING:
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
    if not isinstance(loss, str):
        raise TypeError(f"{where}: loss must be a loss name (str), got {type(loss).__name__}")
    if loss not in losses.NAMES:
        raise ValueError(f"{where}: unknown loss {loss!r}; choose one of "
                         f"{', '.join(losses.NAMES)}")
    if optimizer is not None and not isinstance(optimizer, SGD | Adam):
        raise TypeError(f"{where}: optimizer must be a reference.optimizers object (SGD, Adam, "
                        f"AdamW) or None, got {type_name(optimizer)} {optimizer!r:.60}")
    check_count(where, "epochs", epochs, 0)
    check_count(where, "batch_size", batch_size, 1, none_means="one batch of all rows")
    check_count(where, "seed", seed, 0, none_means="data order")


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
    Y = np.asarray(Y) if is_sparse(loss) else as_float_array(Y, model.dtype, where, "Y")
    check_targets(where, loss, X.shape, Y.shape, Y.dtype, model.input_shape, model.output_shape)
    if is_sparse(loss):
        check_array_within(where, "Y (class indices)", Y, 0, model.output_shape[-1] - 1)
    return X, Y
