"""The spec's sequence layers as Keras layers.

* Embedding is ``keras.layers.Embedding``: ``embeddings`` is the spec's (V, D) table.
  ``mask_zero=True`` keeps row 0 an ordinary, trainable row and attaches a mask (x ≠ 0)
  that the recurrent layers after it honour (a masked step carries the states over).
  The mask travels on to the model's output, and a Keras loss object then averages over
  the real steps only; the spec's losses, torch's and ``tf_impl.losses`` over every step.
* SimpleRNN, LSTM and GRU are ``keras.layers.SimpleRNN``, ``LSTM`` and ``GRU``, batch
  first like the spec; the weights live on the layer's ``cell``: ``kernel`` (in, k·H),
  ``recurrent_kernel`` (H, k·H) and ``bias``, the spec's W, U and b exactly.
  ``return_sequences=False`` (Keras's default) returns the last step only;
  ``return_state=True`` adds the final states; ``initial_state=[h0, c0]`` sets them.
  The GRU's ``reset_after=True`` (the default) keeps a (2, 3H) bias: input and
  recurrent; ``reset_after=False`` applies the reset gate before the recurrent product,
  a formula torch does not have.
* MultiHeadAttention is ``keras.layers.MultiHeadAttention(num_heads, key_dim=E/H)`` on
  one input (query = key = value = x, so that it fits a ``keras.Sequential``), with
  ``mask`` given as its ``attention_mask`` (True = attend, the spec's polarity).
  ``scaled_dot_product_attention`` is ``keras.ops.dot_product_attention``, which takes
  heads second to last, (N, T, H, d), where the spec and torch put them second. On the
  TF backend it rounds a Python-float scale 1/√d through float32, even in float64 (an
  error of ~1e-8); both mirrors pass the scale as a tensor of the inputs' dtype.
* TimeDistributed is ``keras.layers.TimeDistributed`` around the Dense layer (a plain
  ``keras.layers.Dense`` acts on the last axis of a sequence by itself, too).

As for Dense, each layer's dtype is explicit, it is built at once so its weights exist,
and autocasting is off: the spec's input policy (``tf_impl._inputs``) decides.
"""

from __future__ import annotations

import math

import keras

from tf_impl._inputs import sequence_input, spec_input_policy


def Embedding(input_dim: int, output_dim: int, *, mask_zero: bool = False,
              dtype: str = "float64") -> keras.layers.Embedding:
    """``keras.layers.Embedding``: y = E[x]. Shape: x (N, T) integers → (N, T, D)."""
    return keras.layers.Embedding(input_dim, output_dim, mask_zero=mask_zero, dtype=dtype)


@keras.saving.register_keras_serializable(package="tf_impl")
@spec_input_policy(sequence_input)
class CheckedSimpleRNN(keras.layers.SimpleRNN):
    """``keras.layers.SimpleRNN`` under the spec's input policy instead of autocasting."""


@keras.saving.register_keras_serializable(package="tf_impl")
@spec_input_policy(sequence_input)
class CheckedLSTM(keras.layers.LSTM):
    """``keras.layers.LSTM`` under the spec's input policy instead of autocasting."""


@keras.saving.register_keras_serializable(package="tf_impl")
@spec_input_policy(sequence_input)
class CheckedGRU(keras.layers.GRU):
    """``keras.layers.GRU`` under the spec's input policy instead of autocasting."""


def SimpleRNN(in_features: int, units: int, *, return_sequences: bool = False,
              dtype: str = "float64") -> keras.layers.SimpleRNN:
    """h_t = tanh(x_t K + h_{t−1} R + b). Shape: x (N, T, in) → (N, T, H) or (N, H)."""
    layer = CheckedSimpleRNN(units, return_sequences=return_sequences, dtype=dtype,
                             autocast=False)
    layer.build((None, None, in_features))
    return layer


def LSTM(in_features: int, units: int, *, return_sequences: bool = False,
         dtype: str = "float64") -> keras.layers.LSTM:
    """Gates (i, f, c, o) in the kernel's column blocks. Shape: x (N, T, in) → (N, T, H)
    or (N, H)."""
    layer = CheckedLSTM(units, return_sequences=return_sequences, dtype=dtype,
                        autocast=False)
    layer.build((None, None, in_features))
    return layer


def GRU(in_features: int, units: int, *, reset_after: bool = True,
        return_sequences: bool = False, dtype: str = "float64") -> keras.layers.GRU:
    """Gates (z, r, h) in the kernel's column blocks. Shape: x (N, T, in) → (N, T, H) or
    (N, H)."""
    layer = CheckedGRU(units, reset_after=reset_after, return_sequences=return_sequences,
                       dtype=dtype, autocast=False)
    layer.build((None, None, in_features))
    return layer


def TimeDistributed(layer: keras.layers.Dense) -> keras.layers.TimeDistributed:
    """The Dense layer at every time step. Shape: x (N, T, in) → (N, T, out)."""
    wrapper = keras.layers.TimeDistributed(layer, dtype=layer.dtype_policy)
    wrapper.build((None, None, layer.kernel.shape[0]))
    return wrapper


def scaled_dot_product_attention(q, k, v, mask=None):
    """softmax(Q Kᵀ / √d) V with ``keras.ops.dot_product_attention``; ``mask`` True = attend.

    Shape: q (N, H, T, d), k (N, H, S, d), v (N, H, S, d_v) → (N, H, T, d_v).
    """
    heads_third = (0, 2, 1, 3)  # Keras wants (N, T, H, d), the spec and torch (N, H, T, d)
    q, k, v = (keras.ops.transpose(t, heads_third) for t in (q, k, v))
    # 1/√d as a tensor: TF's default, and any Python float, passes through float32 first
    scale = keras.ops.convert_to_tensor(1.0 / math.sqrt(q.shape[-1]), q.dtype)
    output = keras.ops.dot_product_attention(q, k, v, mask=mask, scale=scale)
    return keras.ops.transpose(output, heads_third)


@keras.saving.register_keras_serializable(package="tf_impl")
class SelfAttention(keras.layers.MultiHeadAttention):
    """``keras.layers.MultiHeadAttention`` with query = key = value = x (one input, so it
    fits a ``keras.Sequential``), and ``mask`` (N, T, T) as its ``attention_mask``."""

    mask = None

    def build(self, *shapes):
        super().build(*shapes)
        # TF's dot_product_attention casts the Python float 1/√d through float32 (tf.cast of
        # a Python float makes a float32 tensor first); as a tensor it stays exact.
        self._inverse_sqrt_key_dim = keras.ops.convert_to_tensor(self._inverse_sqrt_key_dim,
                                                                 self.compute_dtype)

    def call(self, x, training=None):
        return super().call(x, x, attention_mask=self.mask, training=training)

    def compute_output_spec(self, x, training=None):
        return super().compute_output_spec(x, x)


def MultiHeadAttention(embed_dim: int, num_heads: int, *,
                       dtype: str = "float64") -> keras.layers.MultiHeadAttention:
    """Self-attention, kernels (E, H, E/H) and (H, E/H, E). Shape: x (N, T, E) → (N, T, E)."""
    layer = SelfAttention(num_heads, key_dim=embed_dim // num_heads, dtype=dtype)
    layer.build((None, None, embed_dim), (None, None, embed_dim))
    return layer
