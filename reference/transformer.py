"""A Transformer encoder block as a spec graph (``reference.Model``), the worked example of
attention inside a model.

The block (Vaswani et al., 2017, post-norm, as Keras's examples write it):

    a = MultiHeadAttention(x, x)            self-attention, optionally masked
    h = LayerNorm(x + a)                    residual Add, normalised per position
    f = Dense(relu(Dense(h)))               a feed-forward applied at every position
    y = LayerNorm(h + f)

Each Dense on the sequence is a ``TimeDistributed(Dense)`` in the spec (its Dense takes
(N, in) only); Keras's ``Dense`` and torch's ``nn.Linear`` act at every step by themselves.
``torch_impl.from_reference`` and ``tf_impl.from_reference`` give the block as a
``torch.fx.GraphModule`` and a functional ``keras.Model``.

The padding mask. Keras passes it at the call, ``attention(x, x, attention_mask=m)``; a
functional model takes it as an input of its own (``keras.Input((T, T), dtype="bool")``).
The spec's graph does the same: with ``padding_mask=True`` the model takes [x, mask] and
the attention layer is called on [x, x, x, mask] (query, value, key, mask), True: query t
may attend to key s.

Shape:
    x (N, T, E) → y (N, T, E); mask (N, T, T) bool.
"""

from __future__ import annotations

import numpy as np

from reference.graphs import Input, Model
from reference.layers import Dense
from reference.merging import Add
from reference.normalization import LayerNormalization
from reference.sequences import MultiHeadAttention, TimeDistributed


def encoder_block(steps: int = 5, embed_dim: int = 6, num_heads: int = 2, hidden: int = 8,
                  *, padding_mask: bool = False, causal: bool = False,
                  dtype: object = np.float64, seed: int | None = 0) -> Model:
    """A post-norm Transformer encoder block on sequences of ``steps`` × ``embed_dim``:
    self-attention of ``num_heads`` heads, a feed-forward of ``hidden`` units (ReLU), each
    followed by a residual Add and a LayerNormalization (Keras's ε 1e-3); with
    ``padding_mask``, a second input, the (N, T, T) attention mask; ``causal``: each step
    attends to itself and the past only (``use_causal_mask``, a decoder's self-attention).
    """
    x = Input((steps, embed_dim), name="x")
    attention = MultiHeadAttention(embed_dim, num_heads, use_causal_mask=causal, dtype=dtype,
                                   name="attention")
    if padding_mask:
        mask = Input((steps, steps), name="mask")
        attended = attention([x, x, x, mask])
    else:
        attended = attention(x)
    h = LayerNormalization(embed_dim, convention="keras", dtype=dtype, name="norm1")(
        Add(name="residual1")([x, attended]))
    f = TimeDistributed(Dense(embed_dim, hidden, "relu", dtype=dtype), name="ffn1")(h)
    f = TimeDistributed(Dense(hidden, embed_dim, dtype=dtype), name="ffn2")(f)
    y = LayerNormalization(embed_dim, convention="keras", dtype=dtype, name="norm2")(
        Add(name="residual2")([h, f]))
    return Model([x, mask] if padding_mask else x, y, seed=seed)
