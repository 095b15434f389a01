"""The checks at the top of the torch mirror's own entry points (``fit``, the optimizer
builders): the spec's rules from ``reference._validation`` and ``reference.training``,
applied before anything is computed. Data plumbing, not the lesson.
"""

from __future__ import annotations

import numpy as np
import torch

from reference._fit_checks import check_run, check_targets, is_sparse
from reference._validation import check_hyperparameters, check_within
from torch_impl._inputs import as_float_tensor


def _out_features(model: torch.nn.Module) -> int | None:
    """The width of the model's last ``nn.Linear``, when that is its last parameterised
    module (the width of its output, then); ``None`` when unknown."""
    last = [m for m in model.modules() if next(m.parameters(recurse=False), None) is not None]
    return last[-1].out_features if last and isinstance(last[-1], torch.nn.Linear) else None


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
    out_features = _out_features(model)
    output_shape = tuple(Y.shape[1:]) if out_features is None else (out_features,)
    # the input's per-sample shape is the model's own to check (framework idiom)
    check_targets("fit", loss, tuple(X.shape), tuple(Y.shape), Y.dtype, tuple(X.shape[1:]),
                  output_shape)
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
