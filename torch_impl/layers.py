"""The spec's layers as ``torch.nn`` modules.

* Dense is ``nn.Linear`` followed by an activation. ``nn.Linear`` stores ``weight`` as
  (out, in) and computes ``x weightᵀ + bias``; the spec's W is (in, out), so
  ``torch_impl.from_reference`` copies ``W.T`` into ``weight`` (``reference.layouts``
  holds that rule as data). Default initialisation differs too: ``nn.Linear`` draws weight
  and bias from U(±1/√in_features), where the spec (like Keras) draws a Glorot-uniform
  kernel and a zero bias; parity copies the weights, so the initialisers never meet.
* ``kernel_regularizer`` (λ of the spec's L2 loss term λ‖W‖², Keras's ``L2(λ)``) has
  no ``nn.Linear`` counterpart: the module keeps λ and ``torch_impl.fit`` writes the
  term into the loss, as torch users do. ``weight_decay=2λ`` would give the kernel the
  same step but decay the bias too.
* Flatten is ``nn.Flatten``: it flattens from axis 1 in row-major order, as the spec does.
  On torch's channels-first images that order is (c, h, w), not the spec's and Keras's
  (h, w, c).
* Dropout is ``nn.Dropout(p)``: inverted dropout, like the spec's. A torch module starts
  in training mode, so it drops until ``module.eval()``; the spec's and Keras's layers
  default to inference.

Input policy (the spec's, ``reference._validation``): ``nn.Linear`` accepts an unbatched
(in_features,) vector as one sample and raises its own "mat1 and mat2" errors on a
width or dtype mismatch; this Dense instead requires (N, in_features), refuses the
other float dtype, and converts integer input to the layer's dtype, with the spec's
messages, before any computation. The check runs in a forward pre-hook
(``torch_impl._inputs.spec_input_policy``), so ``forward`` is the plain idiom.
"""

from __future__ import annotations

import torch
from torch import nn

from torch_impl._inputs import dense_input, spec_input_policy
from torch_impl.activations import get

Flatten = nn.Flatten
Dropout = nn.Dropout


@spec_input_policy(dense_input)
class Dense(nn.Module):
    """y = φ(x Wᵀ + b) with ``weight`` W of shape (out_features, in_features).

    Shape: x (N, in_features) → y (N, out_features).
    """

    def __init__(self, in_features: int, out_features: int, activation: str = "identity", *,
                 kernel_regularizer: float = 0.0, dtype: torch.dtype = torch.float64,
                 **activation_params: float) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, dtype=dtype)
        # torch has no regulariser argument: the training loop adds λ‖W‖² to the loss
        self.kernel_regularizer = kernel_regularizer
        self.activation = get(activation, **activation_params)
        self.activation_name = activation
        self.activation_params = dict(activation_params)
        self.name = f"Dense({in_features}, {out_features}, {activation})"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.linear(x))
