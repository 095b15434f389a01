"""The checks at the top of the torch mirror's own entry points (``fit``, the optimizer
builders): the spec's rules from ``reference._validation`` and ``reference.training``,
applied before anything is computed. Data plumbing, not the lesson.
"""

from __future__ import annotations

import numpy as np
import torch

from reference._validation import check_hyperparameters, check_within
from reference.training import check_run, check_targets, is_sparse
from torch_impl._inputs import as_float_tensor


def _widths(model: torch.nn.Module) -> tuple[int | None, int | None]:
    """(in_features, out_features) of the model's first and last ``nn.Linear``, if any."""
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    return (linears[0].in_features, linears[-1].out_features) if linears else (None, None)


def fit_arguments(model: torch.nn.Module, X: object, Y: object, loss: object,
                  optimizer: object, epochs: object, batch_size: object,
                  seed: object) -> tuple[torch.Tensor, torch.Tensor]:
    """X and Y as tensors for ``fit``, after every check of the spec's ``fit``."""
    if not isinstance(model, torch.nn.Module) or next(model.parameters(), None) is None:
        raise TypeError(f"fit: model must be a torch.nn.Module with parameters, got "
                        f"{type(model).__name__}")
    check_run("fit", loss, optimizer, epochs, batch_size, seed)
    dtype = next(model.parameters()).dtype
    X = as_float_tensor(X, dtype, "fit", "X")
    if is_sparse(loss):  # class indices stay integers
        Y = as_tensor(Y, "fit", "Y")
    else:
        Y = as_float_tensor(Y, dtype, "fit", "Y")
    in_features, out_features = _widths(model)
    check_targets("fit", loss, tuple(X.shape), tuple(Y.shape), Y.dtype,
                  X.shape[-1] if in_features is None else in_features, out_features)
    if is_sparse(loss) and out_features is not None and Y.numel():
        outside = Y[(Y < 0) | (Y > out_features - 1)]
        if outside.numel():
            check_within("fit", "Y (class indices)", outside.numel(), outside.min().item(),
                         outside.max().item(), 0, out_features - 1)
    return X, Y


def _numeric(value: object, where: str, what: str) -> np.ndarray:
    """``value`` as a NumPy array of numbers; strings, objects or complex are refused."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{where}: {what} must be a float32/float64 or integer array, got "
                        f"dtype {array.dtype.name}")
    return array


def as_tensor(value: object, where: str, what: str) -> torch.Tensor:
    """A tensor as it is; anything else (a list, an array) through NumPy: Python floats
    become float64, as in the spec, not torch's default float32."""
    return value if isinstance(value, torch.Tensor) else torch.as_tensor(_numeric(value, where,
                                                                                  what))


def hyperparameters(where: str, **values: object) -> None:
    """An optimizer builder's hyper-parameters: finite and in range (torch lets NaN pass)."""
    check_hyperparameters(where, **values)
