"""Turning user data (NumPy arrays, lists or tensors) into tensors under the spec's dtype policy.

Integer data (the notes' XOR table) becomes floating; a float tensor of the other float
dtype is refused, as ``reference._validation`` refuses it, rather than cast silently.
This is data plumbing: nothing is computed here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from reference._validation import (
    as_float_array,
    as_index_array,
    check_batch,
    check_shape,
    float_conversion,
)

_NUMPY = {torch.float64: np.dtype(np.float64), torch.float32: np.dtype(np.float32)}


def as_float_tensor(value: object, dtype: torch.dtype | None, where: str,
                    what: str) -> torch.Tensor:
    """``value`` as a float tensor of ``dtype`` (``None``: keep a float dtype, ints → float64)."""
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point():
            return value.to(dtype or torch.float64)
        if dtype is not None and value.dtype != dtype:
            raise TypeError(f"{where}: {what} has dtype {value.dtype} but {where} computes in "
                            f"{dtype}; convert it explicitly so the change of precision is visible")
        return value
    array = as_float_array(value, None if dtype is None else _NUMPY[dtype], where, what)
    return torch.tensor(array)  # a copy: keeps the dtype, the shape (0-d too) and the data safe


def spec_input_policy(check: Callable[[nn.Module, torch.Tensor], torch.Tensor]):
    """Class decorator: every instance checks its input with ``check(module, x)`` (which
    returns x, integers converted) in a forward pre-hook, before ``forward`` runs.

    The checks stay out of ``forward``, whose body is the idiom a torch user writes.
    """
    def decorate(cls: type[nn.Module]) -> type[nn.Module]:
        init = cls.__init__

        @functools.wraps(init)
        def __init__(self: nn.Module, *args: object, **kwargs: object) -> None:
            init(self, *args, **kwargs)
            self.register_forward_pre_hook(lambda module, args: (check(module, *args),))

        cls.__init__ = __init__
        return cls
    return decorate


def dense_input(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The spec's policy for a Dense layer's input: (N, in_features), the layer's dtype,
    integers converted explicitly."""
    weight = module.linear.weight
    if float_conversion(module.name, "input x", x.dtype, weight.dtype) is not None:
        x = x.to(weight.dtype)
    check_batch(module.name, "input x", x.shape, module.linear.in_features)
    return x


def sequence_input(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The spec's policy for a recurrent layer's input: (N, T, in_features), the layer's
    dtype, integers converted explicitly."""
    weight = module.rnn.weight_ih_l0
    if float_conversion(module.name, "input x", x.dtype, weight.dtype) is not None:
        x = x.to(weight.dtype)
    check_shape(module.name, "input x", x.shape, (None, None, module.rnn.input_size))
    return x


def as_index_tensor(value: object, where: str, what: str) -> torch.Tensor:
    """``value`` as integer indices (an Embedding's input, class labels): a long tensor;
    a float is refused, as ``reference._validation.as_index_array`` refuses it."""
    if isinstance(value, torch.Tensor):
        as_index_array(np.empty(0, str(value.dtype).removeprefix("torch.")), where, what)
        return value.long()
    return torch.from_numpy(np.array(as_index_array(value, where, what), np.int64))


def fit_data(model: nn.Module, X: object, Y: object, loss: str, dtype: torch.dtype
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """``fit``'s X and Y under the policy: X integer indices when the model begins with an
    ``nn.Embedding``, else floats; Y class indices for a sparse loss, else floats."""
    first = model[0] if isinstance(model, nn.Sequential) else model
    X = as_index_tensor(X, "fit", "X") if isinstance(first, nn.Embedding) else \
        as_float_tensor(X, dtype, "fit", "X")
    if loss.startswith("sparse"):
        Y = as_index_tensor(Y, "fit", "Y (class indices)")
        check_shape("fit", "Y", Y.shape[:1], (X.shape[0],))
    else:
        Y = as_float_tensor(Y, dtype, "fit", "Y")
        check_shape("fit", "Y", Y.shape[:1], (X.shape[0],))
    return X, Y
