"""The spec's sequence layers as ``torch.nn`` modules.

* Embedding is ``nn.Embedding``: ``weight`` is the spec's (V, D) table. Its
  ``padding_idx`` makes that row's gradient zero (the row is also drawn as zeros at
  construction, but a row copied in is looked up as it is); torch has no ``mask_zero``:
  nothing downstream is masked.
* SimpleRNN, LSTM and GRU wrap ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU``. A torch recurrent
  module returns a tuple, ``(output, h_n)`` or ``(output, (h_n, c_n))``, which an
  ``nn.Sequential`` cannot pass on, so each wrapper's ``forward`` returns the output
  sequence, or its last step as Keras's ``return_sequences=False`` does; the final
  states are the module's ``rnn(x)[1]``. ``batch_first=True`` everywhere: torch's
  default is time first, (T, N, features).
* MultiHeadAttention wraps ``nn.MultiheadAttention`` for self-attention (query = key =
  value = x, so it fits an ``nn.Sequential``), ``batch_first=True`` (torch's default is
  time first). ``mask`` is the spec's and Keras's, True = attend; torch's boolean
  ``attn_mask`` means the opposite, True = blocked, and wants one (T, S) mask per batch
  row and head, (N·H, T, S). ``scaled_dot_product_attention`` is
  ``F.scaled_dot_product_attention``, whose boolean ``attn_mask`` is True = attend again.
* TimeDistributed: ``nn.Linear`` acts on the last axis of any input by itself; the
  wrapper folds time into the batch so that the Dense module's (N, in) input policy
  holds.

Weights: ``weight_ih_l0`` is the spec's Wᵀ, ``weight_hh_l0`` its Uᵀ, and torch adds
two biases, ``bias_ih_l0 + bias_hh_l0``, where the spec (like Keras) has one (the GRU's
candidate multiplies ``bias_hh_l0`` by the reset gate; there the spec keeps both, as
Keras's ``reset_after=True`` does). ``nn.GRU`` orders its gate blocks (r, z, n), the spec
(z, r, h). ``reference.layouts`` holds these rules; ``torch_impl.from_reference`` applies
them. Defaults differ: torch draws every recurrent weight from U(±1/√H), Keras (and the
spec) Glorot-uniform kernels, orthogonal recurrent kernels and zero biases (the LSTM's
forget bias 1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from torch_impl._inputs import sequence_input, spec_input_policy
from torch_impl.layers import Dense

Embedding = nn.Embedding


@spec_input_policy(sequence_input)
class _Recurrent(nn.Module):
    """A torch recurrent module, batch first, returning its output sequence or last step."""

    rnn_class: type[nn.RNNBase]

    def __init__(self, in_features: int, units: int, *, return_sequences: bool = False,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        # batch_first=True: (N, T, features) like Keras; torch's default is (T, N, features)
        self.rnn = self.rnn_class(in_features, units, batch_first=True, dtype=dtype)
        self.return_sequences = return_sequences
        self.name = f"{type(self).__name__}({in_features}, {units})"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output, _ = self.rnn(x)  # _: the final states, h_n (and c_n for the LSTM)
        return output if self.return_sequences else output[:, -1]  # Keras's last step


class SimpleRNN(_Recurrent):
    """h_t = tanh(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh): ``nn.RNN``.

    Shape: x (N, T, in) → (N, T, H) with ``return_sequences``, else (N, H).
    """

    rnn_class = nn.RNN


class LSTM(_Recurrent):
    """``nn.LSTM``: gates (i, f, g, o), c_t = f c_{t−1} + i g, h_t = o tanh(c_t).

    Shape: x (N, T, in) → (N, T, H) with ``return_sequences``, else (N, H).
    """

    rnn_class = nn.LSTM


class GRU(_Recurrent):
    """``nn.GRU``: gates (r, z, n), n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn)),
    h_t = (1 − z) n + z h_{t−1}.

    Shape: x (N, T, in) → (N, T, H) with ``return_sequences``, else (N, H).
    """

    rnn_class = nn.GRU


class TimeDistributed(nn.Module):
    """The Dense module at every time step, one set of weights.

    Shape: x (N, T, in_features) → (N, T, out_features).
    """

    def __init__(self, layer: Dense) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x.flatten(0, 1)).unflatten(0, x.shape[:2])


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 mask: torch.Tensor | None = None) -> torch.Tensor:
    """softmax(Q Kᵀ / √d) V with ``F.scaled_dot_product_attention``; ``mask`` True = attend.

    Shape: q (..., T, d), k (..., S, d), v (..., S, d_v) → (..., T, d_v).
    """
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


class MultiHeadAttention(nn.Module):
    """Self-attention with ``nn.MultiheadAttention``: query = key = value = x.

    Shape: x (N, T, E) → (N, T, E); ``mask`` (N, T, T) bool, True = attend.
    """

    def __init__(self, embed_dim: int, num_heads: int, *,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True,
                                               dtype=dtype)  # torch's default: time first
        self.mask: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        blocked = None
        if self.mask is not None:  # torch's boolean attn_mask: True = blocked, one per head
            blocked = ~self.mask.repeat_interleave(self.attention.num_heads, dim=0)
        output, _ = self.attention(x, x, x, attn_mask=blocked, need_weights=False)
        return output
