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
* MultiHeadAttention is ``keras.layers.MultiHeadAttention(num_heads, key_dim=D)``
  called as self-attention, ``layer(x, x, attention_mask=m)`` (True = attend, the spec's
  polarity), or as cross-attention, ``layer(query, value, key=key)``; the causal mask is
  the call's ``use_causal_mask=True``. A model holding it is a functional ``keras.Model``,
  as a Keras user writes it (a ``keras.Sequential`` passes one input). The layer's
  ``value_dim`` is the spec's ``key_dim`` (Keras's default); its output is the query's
  width. On the TF backend the layer multiplies
  by its scale 1/√d through ``tf.cast`` of a Python float, which rounds it to float32
  first, even in float64 (relative error up to 6e-8): ``from_reference`` folds the
  correction into the query projection (``reference.layouts``, ``KERAS_QUERY_SCALE``).
  ``scaled_dot_product_attention`` is ``keras.ops.dot_product_attention``, which takes
  heads second to last, (N, T, H, d), where the spec and torch put them second. On the
  TF backend it rounds a Python-float scale 1/√d through float32, even in float64 (an
  error of ~1e-8); both mirrors pass the scale as a tensor of the inputs' dtype.
* Bidirectional is ``keras.layers.Bidirectional(keras.layers.LSTM(...), merge_mode=...)``
  (GRU, SimpleRNN alike): Keras rebuilds the layer it is given as ``forward_layer`` and a
  copy with ``go_backwards=True`` as ``backward_layer``, each with weights of its own, in
  that order in ``weights``; with ``return_sequences`` the backward outputs are flipped
  back into time order before the merge.
* TimeDistributed is ``keras.layers.TimeDistributed`` around the Dense layer (a plain
  ``keras.layers.Dense`` acts on the last axis of a sequence by itself, too).

As for Dense, each layer's dtype is explicit and it is built at once so its weights exist;
Keras's autocasting and the project's input checks: see ``tf_impl.layers``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras

import reference
from reference.layouts import Context
from tf_impl._table import Read, Template, Translation
from tf_impl.activations import spec_activation
from tf_impl.layers import activation_layers, built, read_dense


def Embedding(input_dim: int, output_dim: int, *, mask_zero: bool = False,
              dtype: str = "float64") -> keras.layers.Embedding:
    """``keras.layers.Embedding``: y = E[x]. Shape: x (N, T) integers → (N, T, D)."""
    layer = keras.layers.Embedding(input_dim, output_dim, mask_zero=mask_zero, dtype=dtype)
    layer.build((None, None))
    return layer


def SimpleRNN(in_features: int, units: int, *, return_sequences: bool = False,
              dtype: str = "float64") -> keras.layers.SimpleRNN:
    """h_t = tanh(x_t K + h_{t−1} R + b). Shape: x (N, T, in) → (N, T, H) or (N, H)."""
    layer = keras.layers.SimpleRNN(units, return_sequences=return_sequences, dtype=dtype)
    layer.build((None, None, in_features))
    return layer


def LSTM(in_features: int, units: int, *, return_sequences: bool = False,
         dtype: str = "float64") -> keras.layers.LSTM:
    """Gates (i, f, c, o) in the kernel's column blocks. Shape: x (N, T, in) → (N, T, H)
    or (N, H)."""
    layer = keras.layers.LSTM(units, return_sequences=return_sequences, dtype=dtype)
    layer.build((None, None, in_features))
    return layer


def GRU(in_features: int, units: int, *, reset_after: bool = True,
        return_sequences: bool = False, dtype: str = "float64") -> keras.layers.GRU:
    """Gates (z, r, h) in the kernel's column blocks. Shape: x (N, T, in) → (N, T, H) or
    (N, H)."""
    layer = keras.layers.GRU(units, reset_after=reset_after, return_sequences=return_sequences,
                             dtype=dtype)
    layer.build((None, None, in_features))
    return layer


def TimeDistributed(layer: keras.layers.Dense) -> keras.layers.TimeDistributed:
    """The Dense layer at every time step. Shape: x (N, T, in) → (N, T, out)."""
    wrapper = keras.layers.TimeDistributed(layer, dtype=layer.dtype_policy)
    wrapper.build((None, None, layer.kernel.shape[0]))
    return wrapper


def Bidirectional(layer: keras.layers.RNN, *, merge_mode: str = "concat",
                  dtype: str = "float64") -> keras.layers.Bidirectional:
    """``keras.layers.Bidirectional`` around ``layer`` (built, with its input width): the
    forward copy on x, the backward copy on x reversed, merged. Shape: x (N, T, in) →
    (N, T, 2H) (concat) or (N, T, H), or the last step's (N, 2H) or (N, H)."""
    wrapper = keras.layers.Bidirectional(layer, merge_mode=merge_mode, dtype=dtype)
    wrapper.build((None, None, int(layer.cell.kernel.shape[0])))
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


def MultiHeadAttention(embed_dim: int, num_heads: int, *, key_dim: int | None = None,
                       key_features: int | None = None, value_features: int | None = None,
                       dtype: str = "float64") -> keras.layers.MultiHeadAttention:
    """A built ``keras.layers.MultiHeadAttention``, called as ``layer(x, x,
    attention_mask=m)`` for self-attention or ``layer(query, value, key=key)``; kernels
    (E_in, H, D) and (H, D, E), D = ``key_dim`` (E/H unless given).

    Shape: query (N, T, E), value (N, S, E_v), key (N, S, E_k) → (N, T, E); m (N, T, S),
    True = attend.
    """
    layer = keras.layers.MultiHeadAttention(
        num_heads, key_dim=key_dim or embed_dim // num_heads, dtype=dtype)
    layer.build((None, None, embed_dim), (None, None, value_features or embed_dim),
                (None, None, key_features or embed_dim))
    return layer


def _check_head_width(where: str, name: str, heads: int, key_dim: int) -> None:
    """Keras 3's TensorFlow backend adds a bias that squeezes to a vector whose size is
    that of axis 1 or of the last axis of the sum through ``tf.nn.bias_add``
    (``keras.ops.add``, ``keras/src/backend/tensorflow/numpy.py``): with key_dim 1 the
    projection biases (heads, 1) of (N, T, heads, 1) were added along the steps wherever
    the length equals the number of heads, other numbers without a word."""
    if key_dim == 1 and heads > 1:
        raise TypeError(f"{where}: {name} has key_dim=1 and {heads} heads: Keras's "
                        "TensorFlow backend adds its (heads, 1) projection biases along the "
                        f"steps of a sequence {heads} long (keras.ops.add's bias-add "
                        "shortcut), so no Keras layer computes the spec's numbers; give "
                        "each head 2 or more dimensions")


def _build_attention(layer: reference.sequences.MultiHeadAttention, context: Context,
                     dtype: str) -> list[keras.Layer]:
    _check_head_width("from_reference", layer.name, layer.num_heads, layer.key_dim)
    return [MultiHeadAttention(layer.embed_dim, layer.num_heads, key_dim=layer.key_dim,
                               key_features=layer.key_features,
                               value_features=layer.value_features, dtype=dtype)]


def _call_attention(layer: keras.layers.MultiHeadAttention, x: object, **kwargs: object):
    """Self-attention on x, ``layer(x, x)``; on a list, cross-attention ``layer(query,
    value, key=key, attention_mask=mask)`` (the key is the value when the list has two;
    a fourth entry is the mask)."""
    if isinstance(x, list | tuple):
        mask = {"attention_mask": x[3]} if len(x) > 3 else {}
        return layer(x[0], x[1], key=x[2] if len(x) > 2 else None, **mask, **kwargs)
    return layer(x, x, **kwargs)


# -- the translation table's rows ------------------------------------------------------------

def _build_embedding(layer: reference.layers.Layer, context: Context,
                     dtype: str) -> list[keras.Layer]:
    if layer.padding_idx is not None:
        raise TypeError(f"from_reference: {layer.name} has padding_idx, torch's convention; "
                        "Keras has none (its mask_zero masks, and row 0 learns)")
    return [Embedding(layer.input_dim, layer.output_dim, mask_zero=layer.mask_zero,
                      dtype=dtype)]


def _read_embedding(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    main = layers[i]
    built(main, where)
    return reference.sequences.Embedding(main.input_dim, main.output_dim,
                                         mask_zero=main.mask_zero,
                                         dtype=main.embeddings.dtype), 1


def _build_recurrent(layer: reference.layers.Layer, context: Context,
                     dtype: str) -> list[keras.Layer]:
    kind = type(layer).__name__
    extra = {"reset_after": layer.reset_after} if kind == "GRU" else {}
    return [globals()[kind](layer.in_features, layer.units,
                            return_sequences=layer.return_sequences, dtype=dtype, **extra)]


def _read_recurrent(layers: Sequence[keras.Layer], i: int, where: str, *,
                    backwards: bool = False) -> Read:
    """The spec layer of ``layers[i]``; ``backwards``: the backward layer of a
    Bidirectional, which must run backwards (the wrapper flips its output back)."""
    main = layers[i]
    built(main, where)
    cell = main.cell
    plain = (spec_activation(cell.activation, where)[0] == "tanh" and cell.use_bias and
             main.go_backwards == backwards and not main.stateful and not main.return_state and
             not cell.dropout and not cell.recurrent_dropout and
             spec_activation(getattr(cell, "recurrent_activation", keras.activations.sigmoid),
                             where)[0] == "sigmoid")
    if not plain:
        raise TypeError(f"to_reference: {where} must use tanh and sigmoid, a bias, no "
                        "dropout, run forwards and return no state, as the spec's does")
    kind = next(kind for kind in ("GRU", "LSTM", "SimpleRNN")
                if isinstance(main, getattr(keras.layers, kind)))
    extra = {"reset_after": cell.reset_after} if kind == "GRU" else {}
    return getattr(reference.sequences, kind)(
        int(cell.kernel.shape[0]), cell.units, return_sequences=main.return_sequences,
        dtype=cell.kernel.dtype, **extra), 1


def _build_bidirectional(layer: reference.layers.Layer, context: Context,
                         dtype: str) -> list[keras.Layer]:
    (wrapped,) = _build_recurrent(layer.forward_layer, context, dtype)
    return [Bidirectional(wrapped, merge_mode=layer.merge_mode, dtype=dtype)]


def _read_bidirectional(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    main = layers[i]
    built(main, where)
    if main.merge_mode is None or main.return_state:
        raise TypeError(f"to_reference: {where} returns a list (merge_mode=None or "
                        "return_state=True); the spec's Bidirectional merges into one output")
    if type(main.forward_layer) is not type(main.backward_layer):
        raise TypeError(f"to_reference: {where} runs a {type(main.forward_layer).__name__} "
                        f"forwards and a {type(main.backward_layer).__name__} backwards; the "
                        "spec's Bidirectional runs one kind both ways")
    wrapped, _ = _read_recurrent([main.forward_layer], 0, f"{where}, its forward layer")
    back, _ = _read_recurrent([main.backward_layer], 0, f"{where}, its backward layer",
                              backwards=True)
    if wrapped.config() != back.config():
        raise TypeError(f"to_reference: {where}: its two layers differ ({wrapped.config()} "
                        f"and {back.config()}); the spec's Bidirectional runs one "
                        "configuration both ways")
    return reference.sequences.Bidirectional(wrapped, merge_mode=main.merge_mode,
                                             backward_layer=back), 1


def _build_time_distributed(layer: reference.layers.Layer, context: Context,
                            dtype: str) -> list[keras.Layer]:
    dense = layer.layer
    name, after = activation_layers(dense, dense.dtype.name, f"from_reference: {layer.name}")
    inner = keras.layers.Dense(dense.out_features, activation=name,
                               kernel_regularizer=keras.regularizers.L2(
                                   dense.kernel_regularizer) if dense.kernel_regularizer
                               else None, use_bias=dense.use_bias, dtype=dense.dtype.name)
    inner.build((None, dense.in_features))
    return [TimeDistributed(inner), *after]


def _read_time_distributed(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    inner = layers[i].layer
    if not isinstance(inner, keras.layers.Dense):
        raise TypeError(f"to_reference: {where} wraps a {type(inner).__name__}; the spec's "
                        "TimeDistributed wraps a Dense")
    dense, n = read_dense([inner, *layers[i + 1:]], 0, where)
    return reference.sequences.TimeDistributed(dense), n


def _read_attention(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    main = layers[i]
    built(main, where)
    query, key, value = (main.query_dense.kernel, main.key_dense.kernel,
                         main.value_dense.kernel)
    embed_dim, heads, key_dim = (int(n) for n in query.shape) if len(query.shape) == 3 \
        else (0, 0, 0)  # more attention axes than one: refused below
    if not key_dim or main.value_dim != key_dim or not main.use_bias or main.dropout or \
            main.output_dense.kernel.shape[-1] != embed_dim:
        config = main.get_config()
        got = ", ".join(f"{name}={config.get(name)!r}" for name in (
            "key_dim", "value_dim", "output_shape", "use_bias", "dropout", "attention_axes"))
        raise TypeError(f"to_reference: {where} must have value_dim = key_dim, an output of "
                        "the query's width, biases, no dropout and one attention axis, as "
                        f"the spec's MultiHeadAttention; got {got}")
    _check_head_width("to_reference", where, heads, key_dim)
    return reference.sequences.MultiHeadAttention(
        embed_dim, heads, key_dim=key_dim, key_features=int(key.shape[0]),
        value_features=int(value.shape[0]), dtype=query.dtype), 1


def _recurrent_template(layer: reference.layers.Layer) -> dict:
    return {"sequences": ", return_sequences=True" if layer.return_sequences else ""}


def _bidirectional_template(layer: reference.layers.Layer) -> dict:
    wrapped = layer.forward_layer
    merge = "" if layer.merge_mode == "concat" else f", merge_mode=\"{layer.merge_mode}\""
    extra = ", reset_after=False" if getattr(wrapped, "reset_after", True) is False else ""
    return {"kind": type(wrapped).__name__, "units": wrapped.units, "merge": merge,
            "extra": extra, **_recurrent_template(wrapped)}


def _embedding_template(layer: reference.layers.Layer) -> dict:
    if layer.padding_idx is not None:
        raise TypeError("padding_idx keeps a row from learning, which no Keras Embedding "
                        "does (its mask_zero masks the layers after it instead)")
    return {}


def _wrapped(layer: keras.Layer) -> keras.Layer:
    """A TimeDistributed's weights live on the Dense it wraps (a plain Dense after a
    sequence acts at every step by itself)."""
    return layer.layer if isinstance(layer, keras.layers.TimeDistributed) else layer


def _cell(layer: keras.layers.RNN) -> keras.Layer:
    return layer.cell  # a recurrent layer's weights live on its cell


TRANSLATIONS = [
    Translation("Embedding", _build_embedding, _read_embedding, (keras.layers.Embedding,),
                Template("keras.layers.Embedding({input_dim}, {output_dim})",
                         arguments=_embedding_template)),
    *(Translation(kind, _build_recurrent, _read_recurrent, (getattr(keras.layers, kind),),
                  Template(f"keras.layers.{kind}({{units}}{{sequences}})", note=note,
                           arguments=_recurrent_template), holder=_cell)
      for kind, note in (("SimpleRNN", ""), ("LSTM", ""),
                         ("GRU", "Keras's gates (z, r, h), torch's (r, z, n): reordered"))),
    Translation("Bidirectional", _build_bidirectional, _read_bidirectional,
                (keras.layers.Bidirectional,),
                Template("keras.layers.Bidirectional(keras.layers.{kind}({units}{sequences}"
                         "{extra}){merge})", arguments=_bidirectional_template)),
    # Keras's Dense acts on the last axis of a sequence, as nn.Linear does
    Translation("TimeDistributed", _build_time_distributed, _read_time_distributed,
                (keras.layers.TimeDistributed,),
                Template("keras.layers.Dense({out_features})", activation=True,
                         arguments=lambda layer: layer.layer.config()),
                holder=_wrapped, modeled=("kernel_regularizer",)),
    Translation("MultiHeadAttention", _build_attention, _read_attention,
                (keras.layers.MultiHeadAttention,), call=_call_attention, sequential=False,
                options=lambda layer: {"use_causal_mask": True} if layer.use_causal_mask
                else {}),
]
