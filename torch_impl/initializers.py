"""The spec's initialisers with ``torch.nn.init``, by the same names.

torch's own default for a dense layer: ``nn.Linear(in, out)`` draws its weight with
``kaiming_uniform_(a=√5)`` and its bias from U(±1/√in), i.e. both from
:func:`torch_linear_default`; not Keras's Glorot-uniform kernel and zero bias.

Layout: each function takes the spec's kernel shape (fan_in, fan_out) and returns a
tensor of that shape. ``torch.nn.init`` reads fan_in from dimension 1 of torch's
(out, in) layout, so the kernel is drawn as (fan_out, fan_in), torch's ``weight``, and
returned transposed. ``rng`` is a ``torch.Generator`` (``None``: torch's global one).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from torch_impl._inputs import checked, initializer_arguments


@checked(initializer_arguments)
def glorot_uniform(shape: tuple[int, int], rng: torch.Generator | None = None,
                   dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """U(±√(6 / (fan_in + fan_out))) by ``nn.init.xavier_uniform_``."""
    weight = torch.empty(shape[::-1], dtype=dtype)  # torch's (out, in) layout
    return nn.init.xavier_uniform_(weight, generator=rng).T


@checked(initializer_arguments)
def torch_linear_default(shape: tuple[int, ...], rng: torch.Generator | None = None,
                         dtype: torch.dtype = torch.float64,
                         fan_in: int | None = None) -> torch.Tensor:
    """U(±1/√fan_in), as ``nn.Linear.reset_parameters`` draws weight and bias.

    A kernel goes through ``kaiming_uniform_(a=√5)`` exactly as ``nn.Linear`` does; a
    bias (fan_out,) through ``uniform_`` with the bound of its layer's ``fan_in``.
    """
    if fan_in is None:
        weight = torch.empty(shape[::-1], dtype=dtype)  # torch's (out, in) layout
        return nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=rng).T
    bound = 1.0 / math.sqrt(fan_in)
    return nn.init.uniform_(torch.empty(shape, dtype=dtype), -bound, bound, generator=rng)


@checked(initializer_arguments)
def normal(shape: tuple[int, ...], rng: torch.Generator | None = None,
           dtype: torch.dtype = torch.float64, mean: float = 0.0,
           stddev: float = 1.0) -> torch.Tensor:
    """N(mean, stddev²) by ``nn.init.normal_`` (whose ``std`` also defaults to 1)."""
    return nn.init.normal_(torch.empty(shape, dtype=dtype), mean, stddev, generator=rng)


@checked(initializer_arguments)
def zeros(shape: tuple[int, ...], rng: torch.Generator | None = None,
          dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """All zeros by ``nn.init.zeros_``."""
    return nn.init.zeros_(torch.empty(shape, dtype=dtype))
