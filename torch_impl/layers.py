"""The spec's Dense layer as a ``torch.nn.Module``: ``nn.Linear`` followed by an activation.

Layout: ``nn.Linear`` stores ``weight`` as (out, in) and computes ``x weightᵀ + bias``;
the spec's W is (in, out). ``torch_impl.from_reference`` copies ``W.T`` into ``weight``.
Default initialisation differs too: ``nn.Linear`` draws weight and bias from
U(±1/√in_features), where the spec (like Keras) draws a Glorot-uniform kernel and a
zero bias; parity copies the weights, so the initialisers never meet.
"""

from __future__ import annotations

import torch
from torch import nn

from torch_impl.activations import get


class Dense(nn.Module):
    """y = φ(x Wᵀ + b) with ``weight`` W of shape (out_features, in_features).

    Shape: x (N, in_features) → y (N, out_features).
    """

    def __init__(self, in_features: int, out_features: int, activation: str = "identity", *,
                 dtype: torch.dtype = torch.float64, **activation_params: float) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, dtype=dtype)
        self.activation = get(activation, **activation_params)
        self.activation_name = activation
        self.activation_params = dict(activation_params)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.linear(x))
