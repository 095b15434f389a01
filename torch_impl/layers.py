"""The spec's Dense layer as a ``torch.nn.Module``: ``nn.Linear`` followed by an activation.

Layout: ``nn.Linear`` stores ``weight`` as (out, in) and computes ``x weightᵀ + bias``;
the spec's W is (in, out). ``torch_impl.from_reference`` copies ``W.T`` into ``weight``.
Default initialisation differs too: ``nn.Linear`` draws weight and bias from
U(±1/√in_features), where the spec (like Keras) draws a Glorot-uniform kernel and a
zero bias; parity copies the weights, so the initialisers never meet.

Input policy (the spec's, ``reference._validation``): ``nn.Linear`` accepts an unbatched
(in_features,) vector as one sample and raises its own "mat1 and mat2" errors on a
width or dtype mismatch; this Dense instead requires (N, in_features), refuses the
other float dtype, and converts integer input to the layer's dtype, with the spec's
messages, before any computation.
"""

from __future__ import annotations

import torch
from torch import nn

from reference._validation import check_batch, float_conversion
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
        self.name = f"Dense({in_features}, {out_features}, {activation})"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.linear.weight
        if float_conversion(self.name, "input x", x.dtype, weight.dtype) is not None:
            x = x.to(weight.dtype)  # integer input, converted explicitly
        check_batch(self.name, "input x", x.shape, self.linear.in_features)
        return self.activation(self.linear(x))
