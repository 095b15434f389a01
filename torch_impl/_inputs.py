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

from reference._validation import as_float_array, check_batch, float_conversion

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


def features_input(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The spec's policy for a normalisation layer's input: the layer's dtype (integers
    converted), a batch axis, and its features on the feature axis (BatchNorm1d: (N, C))."""
    where = type(module).__name__
    weight = module.weight
    if float_conversion(where, "input x", x.dtype, weight.dtype) is not None:
        x = x.to(weight.dtype)
    features = weight.shape[0]
    if isinstance(module, nn.BatchNorm1d):
        check_batch(where, "input x", x.shape, features)
    elif x.ndim < 2 or x.shape[-1] != features:
        raise ValueError(f"{where}: input x must be (N, …, {features}), got shape "
                         f"{tuple(x.shape)}")
    return x
