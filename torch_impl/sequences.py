"""The spec's sequence layers as the stock ``torch.nn`` modules a torch user writes.

* Embedding is ``nn.Embedding``: ``weight`` is the spec's (V, D) table. Its
  ``padding_idx`` makes that row's gradient zero (the row is also drawn as zeros at
  construction, but a row copied in is looked up as it is); torch has no ``mask_zero``:
  nothing downstream is masked.
* SimpleRNN, LSTM and GRU are ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` with
  ``batch_first=True`` (torch's default is time first, (T, N, features)), followed by
  :class:`RecurrentOutput`. A torch recurrent module returns a tuple, ``(output, h_n)`` or
  ``(output, (h_n, c_n))``, which the next module of an ``nn.Sequential`` cannot take;
  torch has no module that picks the output out, so this small one does, and keeps all
  steps or only the last, as Keras's ``return_sequences`` does. The initial state is a
  call argument, as in torch: ``rnn(x, h0)`` (``(h0, c0)`` for the LSTM).
* Bidirectional(LSTM) (GRU, SimpleRNN alike) is ``nn.LSTM(..., bidirectional=True)``, one
  module holding both directions (``weight_ih_l0``, …, ``weight_ih_l0_reverse``, …), and
  :class:`RecurrentOutput`: torch's per-step output is Keras's ``merge_mode="concat"``,
  forward features first. Keras's last step is each direction's final state, which for
  the reverse direction is its output at t = 0, not at −1: :class:`RecurrentOutput` takes
  both from ``h_n``. The other merges (sum, mul, ave) are :class:`MergeDirections` after
  it, the two halves of torch's output combined.
* MultiHeadAttention is ``nn.MultiheadAttention`` (``batch_first=True``) through
  :class:`Attention`, which calls it as Keras calls its layer: on x alone, self-attention
  (x as query, key and value, so it fits an ``nn.Sequential``), or on (query, value, key),
  cross-attention, and returns the output alone. The mask is a call argument, ``mask`` the
  spec's and Keras's polarity, True = attend; torch's boolean ``attn_mask`` means the
  opposite, True = blocked, and wants one (T, S) mask per batch row and head, (N·H, T, S).
  Keras's ``use_causal_mask`` is ``causal=True`` on the module, a constant (T, S) mask.
  torch's heads are E/H wide; a key or value of another width than the query's is
  ``kdim``/``vdim`` (three weights ``q_proj_weight`` … then, not ``in_proj_weight``).
  Keras's ``key_dim`` ≠ E/H (keras.io's Transformer has heads as wide as the embedding) is
  :class:`MultiHeadAttention`, the module a torch user writes for it: four ``nn.Linear``
  (``q_proj``, ``k_proj``, ``v_proj``, ``out_proj``) and ``F.scaled_dot_product_attention``,
  called as :class:`Attention` is.
  :func:`scaled_dot_product_attention` is ``F.scaled_dot_product_attention``, whose boolean
  ``attn_mask`` is True = attend again.
* TimeDistributed(Dense) is ``nn.Linear`` (and its activation module): it acts on the last
  axis of any input by itself.

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

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

import reference
from reference.layouts import Context, torch_heads
from torch_impl._table import Read, Template, Translation, numpy_dtype, torch_dtype
from torch_impl.layers import TRANSLATIONS as _LAYERS
from torch_impl.layers import _no_bias

Embedding = nn.Embedding


class RecurrentOutput(nn.Module):
    """The output sequence of a torch recurrent module's ``(output, states)`` tuple, or
    its last step (``last_step=True``, Keras's ``return_sequences=False``).

    torch has no module for this step: an ``nn.Sequential`` passes the tuple on as it is.
    Of a bidirectional module, the last step is both directions' final states, ``h_n``
    side by side: the reverse direction's is its output at t = 0.

    Shape: (output (N, T, D·H), states) → (N, T, D·H), or (N, D·H) with ``last_step``
    (D = 2 directions for a bidirectional module, else 1).
    """

    def __init__(self, last_step: bool = False) -> None:
        super().__init__()
        self.last_step = last_step

    def forward(self, result: tuple[torch.Tensor, object]) -> torch.Tensor:
        output, states = result  # the final states: h_n, or (h_n, c_n) for the LSTM
        if not self.last_step:
            return output
        h_n = states[0] if isinstance(states, tuple) else states  # (layers·directions, N, H)
        if output.shape[-1] == 2 * h_n.shape[-1]:  # bidirectional: the reverse one ends at t = 0
            return torch.cat((h_n[-2], h_n[-1]), dim=-1)  # the last layer's two final states
        return output[:, -1]

    def extra_repr(self) -> str:
        return f"last_step={self.last_step}"


class MergeDirections(nn.Module):
    """A bidirectional module's output, forward features then backward ones, merged as
    Keras's ``Bidirectional(merge_mode=...)``: "sum", "mul" or "ave" ("concat" is torch's
    own output and needs no module).

    torch has no module for this step; a torch user writes ``out[..., :H] + out[..., H:]``.

    Shape: (..., 2H) → (..., H).
    """

    def __init__(self, merge_mode: str) -> None:
        super().__init__()
        if merge_mode not in ("sum", "mul", "ave"):
            raise ValueError(f"MergeDirections: merge_mode must be 'sum', 'mul' or 'ave', got "
                             f"{merge_mode!r}")
        self.merge_mode = merge_mode

    def forward(self, output: torch.Tensor) -> torch.Tensor:
        forward, backward = output.chunk(2, dim=-1)
        if self.merge_mode == "sum":
            return forward + backward
        if self.merge_mode == "mul":
            return forward * backward
        return (forward + backward) / 2

    def extra_repr(self) -> str:
        return f"merge_mode={self.merge_mode!r}"


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 mask: torch.Tensor | None = None) -> torch.Tensor:
    """softmax(Q Kᵀ / √d) V with ``F.scaled_dot_product_attention``; ``mask`` True = attend.

    Shape: q (..., T, d), k (..., S, d), v (..., S, d_v) → (..., T, d_v).
    """
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


class Attention(nn.MultiheadAttention):
    """``nn.MultiheadAttention`` called as Keras calls its layer, returning the output only:
    ``attention(x)`` is self-attention (x as query, key and value), ``attention(query,
    value)`` or ``attention(query, value, key)`` cross-attention.

    torch has no module for either call: ``nn.MultiheadAttention`` takes (query, key,
    value), in that order, and returns ``(output, weights)``, which an ``nn.Sequential``
    cannot pass on. A subclass keeps its ``state_dict`` keys (``in_proj_weight``,
    ``out_proj.weight`` …). ``causal=True``: each query t attends to keys 0 … t only
    (Keras's ``use_causal_mask=True``).

    Shape: query (N, T, E), value (N, S, vdim), key (N, S, kdim) → (N, T, E); ``mask``
    (N, T, S) bool, True = attend.
    """

    def __init__(self, *args: object, causal: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.causal = causal

    def forward(self, query: torch.Tensor, value: torch.Tensor | None = None,
                key: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        value = query if value is None else value
        key = value if key is None else key
        if mask is not None:
            mask = MultiHeadAttention.boolean_mask("Attention", mask, query, key)
        # torch's boolean attn_mask: True = blocked, one (T, S) mask per batch row and head
        blocked = None if mask is None else ~mask.repeat_interleave(self.num_heads, dim=0)
        if self.causal:
            t, s = query.shape[1], key.shape[1]
            future = torch.ones(t, s, dtype=torch.bool, device=query.device).triu(1)
            blocked = future if blocked is None else blocked | future
        output, _ = super().forward(query, key, value, attn_mask=blocked, need_weights=False)
        return output

    def extra_repr(self) -> str:
        return super().extra_repr() + (", causal=True" if self.causal else "")


class MultiHeadAttention(nn.Module):
    r"""Multi-head attention with heads of any width, from four ``nn.Linear`` and
    ``F.scaled_dot_product_attention``, called as Keras calls its layer: ``attention(x)``
    is self-attention, ``attention(query, value)`` or ``attention(query, value, key)``
    cross-attention.

    torch has no module for heads of another width than ``embed_dim / num_heads``:
    ``nn.MultiheadAttention``'s heads are that wide, Keras's ``key_dim`` is any width D
    (keras.io's Transformer classifier has D = E). With H heads of width D:
    Q = q_proj(query), K = k_proj(key), V = v_proj(value), each split into H heads of D
    features; O_h = softmax(Q_h K_hᵀ / √D) V_h; y = out_proj([O_1, …, O_H]), the heads side
    by side (H·D features) projected back to the query's width E. ``causal=True``: query t
    attends to keys 0 … t only (Keras's ``use_causal_mask=True``).

    Shape:
        query (N, T, E), value (N, S, vdim), key (N, S, kdim) → (N, T, E); ``mask``
        (N, T, S) bool, True = attend (as ``F.scaled_dot_product_attention``'s boolean
        ``attn_mask``). Weights: ``q_proj`` (H·D, E), ``k_proj`` (H·D, kdim), ``v_proj``
        (H·D, vdim), ``out_proj`` (E, H·D), each with a bias.
    """

    def __init__(self, embed_dim: int, num_heads: int, head_dim: int, *,
                 kdim: int | None = None, vdim: int | None = None, causal: bool = False,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.num_heads, self.head_dim, self.causal = num_heads, head_dim, causal
        width = num_heads * head_dim  # the heads side by side
        self.q_proj = nn.Linear(embed_dim, width, dtype=dtype)
        self.k_proj = nn.Linear(kdim or embed_dim, width, dtype=dtype)
        self.v_proj = nn.Linear(vdim or embed_dim, width, dtype=dtype)
        self.out_proj = nn.Linear(width, embed_dim, dtype=dtype)

    def forward(self, query: torch.Tensor, value: torch.Tensor | None = None,
                key: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        value = query if value is None else value
        key = value if key is None else key
        heads = (self.num_heads, self.head_dim)  # (N, L, H·D) → (N, H, L, D)
        q = self.q_proj(query).unflatten(-1, heads).transpose(1, 2)
        k = self.k_proj(key).unflatten(-1, heads).transpose(1, 2)
        v = self.v_proj(value).unflatten(-1, heads).transpose(1, 2)
        if mask is not None:
            mask = self.boolean_mask("MultiHeadAttention", mask, query, key)
            mask = mask.unsqueeze(1)  # (N, 1, T, S): the same mask for every head
            if self.causal:  # is_causal cannot be given beside a mask: "and" them here
                t, s = query.shape[1], key.shape[1]
                mask = mask & torch.ones(t, s, dtype=torch.bool, device=mask.device).tril()
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                           is_causal=self.causal and mask is None)
        return self.out_proj(o.transpose(1, 2).flatten(2))  # the heads side by side

    @staticmethod
    def boolean_mask(where: str, mask: object, query: torch.Tensor,
                     key: torch.Tensor) -> torch.Tensor:
        """``mask`` checked and read as booleans, True = attend: one (T, S) mask per batch
        row, (N, T, S) exactly (torch would broadcast a (T, S) or (1, T, S) mask, or refuse
        another shape in its words), boolean or integers 0 and 1 (a float ``attn_mask`` is
        added to the scores)."""
        if not isinstance(mask, torch.Tensor):
            raise TypeError(f"{where}: mask must be a torch.Tensor, got {type(mask).__name__}")
        expected = (query.shape[0], query.shape[1], key.shape[1])
        if query.dim() != 3 or tuple(mask.shape) != expected:
            raise ValueError(f"{where}: mask must have shape (N, T, S) = {expected} for a query "
                             f"of shape {tuple(query.shape)} and a key of shape "
                             f"{tuple(key.shape)}, got {tuple(mask.shape)}")
        if mask.dtype != torch.bool:  # integers 0/1 read as the spec reads them
            if mask.is_floating_point() or mask.is_complex():
                raise TypeError(f"{where}: mask must be boolean (True = attend) or integers "
                                f"0 and 1, got {mask.dtype} {mask.unique()[:4].tolist()}")
            others = mask[(mask != 0) & (mask != 1)]
            if others.numel():  # a ValueError, as the spec's (reference._validation.as_mask)
                raise ValueError(f"{where}: mask of integers must hold only 0 (False) and 1 "
                                 f"(True), got {others.numel()} other value(s), e.g. "
                                 f"{others[0].item()!r}")
            mask = mask.bool()
        return mask

    def extra_repr(self) -> str:
        return f"num_heads={self.num_heads}, head_dim={self.head_dim}" + (
            ", causal=True" if self.causal else "")


SMALL_MODULES = (RecurrentOutput, Attention, MergeDirections, MultiHeadAttention)

_RNN = {"SimpleRNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
_KIND = {module: kind for kind, module in _RNN.items()}


def _embedding(layer: reference.sequences.Embedding, context: Context) -> list[nn.Module]:
    if layer.mask_zero:
        raise TypeError(f"{layer.name} has mask_zero=True, Keras's convention; torch has no "
                        "mask to pass on (padding_idx only freezes a row)")
    return [nn.Embedding(layer.input_dim, layer.output_dim, padding_idx=layer.padding_idx,
                         dtype=torch_dtype(layer.dtype))]


def _read_embedding(modules: Sequence[nn.Module], i: int, place: Context
                    ) -> Read:
    embedding = modules[i]
    if embedding.max_norm is not None or embedding.scale_grad_by_freq:
        raise TypeError(f"module {i} (Embedding) renormalises rows or scales gradients; "
                        "the spec's Embedding does neither")
    return reference.sequences.Embedding(embedding.num_embeddings, embedding.embedding_dim,
                                         padding_idx=embedding.padding_idx,
                                         dtype=numpy_dtype(embedding.weight)), 1


# The second bias of an RNN or LSTM, which from_reference freezes at 0 (see _recurrent)
ONE_BIAS = ("bias_hh_l0", "bias_hh_l0_reverse")


def _recurrent(layer: reference.sequences._Recurrent, context: Context, *,
               bidirectional: bool = False) -> list[nn.Module]:
    kind = type(layer).__name__
    if not getattr(layer, "reset_after", True):
        raise TypeError(f"{layer.name} has reset_after=False, which no torch module computes "
                        "(nn.GRU is reset_after=True)")
    # batch_first=True: (N, T, features) like Keras; torch's default is (T, N, features)
    rnn = _RNN[kind](layer.in_features, layer.units, batch_first=True,
                     bidirectional=bidirectional, dtype=torch_dtype(layer.dtype))
    if kind != "GRU":  # the GRU's b_hh is Keras's too
        # One bias, as Keras trains it: b_hh stays 0. Trained too, it would move the sum
        # b_ih + b_hh by 2ηg per SGD step where Keras's bias moves by ηg.
        for name in ONE_BIAS[:1 + bidirectional]:
            getattr(rnn, name).requires_grad_(False)
    return [rnn, RecurrentOutput(last_step=not layer.return_sequences)]


def _bidirectional(layer: reference.sequences.Bidirectional, context: Context
                   ) -> list[nn.Module]:
    modules = _recurrent(layer.forward_layer, context, bidirectional=True)
    if layer.merge_mode != "concat":  # concat is torch's own output
        modules.append(MergeDirections(layer.merge_mode))
    return modules


def _read_recurrent(modules: Sequence[nn.Module], i: int, place: Context
                    ) -> Read:
    rnn, where = modules[i], f"module {i} ({type(modules[i]).__name__})"
    if rnn.bidirectional:
        return None  # the Bidirectional row reads it
    if rnn.num_layers != 1 or not rnn.bias or not rnn.batch_first or \
            getattr(rnn, "nonlinearity", "tanh") != "tanh" or getattr(rnn, "proj_size", 0):
        raise TypeError(f"{where} must be one layer, one direction, with biases, batch "
                        "first and tanh, as the spec's")
    output = modules[i + 1] if i + 1 < len(modules) else None
    if not isinstance(output, RecurrentOutput):
        raise TypeError(f"{where} returns a tuple: follow it with "
                        "torch_impl.sequences.RecurrentOutput() to pass its output on")
    return getattr(reference.sequences, _KIND[type(rnn)])(
        rnn.input_size, rnn.hidden_size, return_sequences=not output.last_step,
        dtype=numpy_dtype(rnn.weight_ih_l0)), 2


def _read_bidirectional(modules: Sequence[nn.Module], i: int, place: Context) -> Read:
    rnn, where = modules[i], f"module {i} ({type(modules[i]).__name__})"
    if not rnn.bidirectional:
        return None
    if rnn.num_layers != 1 or not rnn.bias or not rnn.batch_first or \
            getattr(rnn, "nonlinearity", "tanh") != "tanh" or getattr(rnn, "proj_size", 0):
        raise TypeError(f"{where} must be one layer, with biases, batch first and tanh, as "
                        "the spec's Bidirectional")
    output = modules[i + 1] if i + 1 < len(modules) else None
    if not isinstance(output, RecurrentOutput):
        raise TypeError(f"{where} returns a tuple: follow it with "
                        "torch_impl.sequences.RecurrentOutput() to pass its output on")
    merge = modules[i + 2] if i + 2 < len(modules) else None
    merge_mode = merge.merge_mode if isinstance(merge, MergeDirections) else "concat"
    wrapped = getattr(reference.sequences, _KIND[type(rnn)])(
        rnn.input_size, rnn.hidden_size, return_sequences=not output.last_step,
        dtype=numpy_dtype(rnn.weight_ih_l0))
    return reference.sequences.Bidirectional(wrapped, merge_mode=merge_mode), \
        2 + (merge_mode != "concat")


def _attention(layer: reference.sequences.MultiHeadAttention, context: Context
               ) -> list[nn.Module]:
    dtype = torch_dtype(layer.dtype)
    if not torch_heads(layer):  # heads nn.MultiheadAttention cannot hold: four nn.Linear
        return [MultiHeadAttention(layer.embed_dim, layer.num_heads, layer.key_dim,
                                   kdim=layer.key_features, vdim=layer.value_features,
                                   causal=layer.use_causal_mask, dtype=dtype)]
    return [Attention(layer.embed_dim, layer.num_heads, kdim=layer.key_features,
                      vdim=layer.value_features, batch_first=True,  # torch's default: time first
                      causal=layer.use_causal_mask, dtype=dtype)]


def _read_attention(modules: Sequence[nn.Module], i: int, place: Context
                    ) -> Read:
    attention = modules[i]
    if isinstance(attention, MultiHeadAttention):
        return _read_projections(attention, i), 1
    if attention.in_proj_bias is None or attention.dropout or attention.bias_k is not None \
            or not attention.batch_first:
        raise TypeError(f"module {i} (Attention) must be batch first, with biases, no "
                        "dropout and no added key/value biases, as the spec's "
                        "MultiHeadAttention in torch")
    return reference.sequences.MultiHeadAttention(
        attention.embed_dim, attention.num_heads, key_features=attention.kdim,
        value_features=attention.vdim, use_causal_mask=attention.causal,
        dtype=numpy_dtype(attention.in_proj_bias)), 1


def _read_projections(attention: MultiHeadAttention, i: int
                      ) -> reference.sequences.MultiHeadAttention:
    """The spec layer of a :class:`MultiHeadAttention`, its projections checked: biases,
    H·D features out of q_proj, k_proj and v_proj, into out_proj."""
    width = attention.num_heads * attention.head_dim
    projections = {"q_proj": attention.q_proj, "k_proj": attention.k_proj,
                   "v_proj": attention.v_proj, "out_proj": attention.out_proj}
    got = {name: (linear.in_features, linear.out_features, linear.bias is not None)
           for name, linear in projections.items()}
    if any(not bias for _, _, bias in got.values()) or \
            any(got[name][1] != width for name in ("q_proj", "k_proj", "v_proj")) or \
            got["out_proj"][0] != width or got["q_proj"][0] != got["out_proj"][1]:
        raise TypeError(f"module {i} (MultiHeadAttention) must have biases, {width} "
                        f"features (num_heads·head_dim) out of q_proj, k_proj and v_proj "
                        f"and into out_proj, and out_proj give the query's width, as the "
                        f"spec's MultiHeadAttention; got (in, out, bias) {got}")
    return reference.sequences.MultiHeadAttention(
        attention.out_proj.out_features, attention.num_heads, key_dim=attention.head_dim,
        key_features=attention.k_proj.in_features,
        value_features=attention.v_proj.in_features, use_causal_mask=attention.causal,
        dtype=numpy_dtype(attention.q_proj.weight))


def _recurrent_fields(layer: reference.layers.Layer, shape: tuple[int, ...]) -> dict:
    if getattr(layer, "reset_after", True) is False:
        raise TypeError("reset_after=False has no torch GRU: torch applies the reset gate "
                        "after the recurrent product, as Keras's reset_after=True")
    last = "" if layer.return_sequences else \
        "\nx = x[:, -1]  # Keras's return_sequences=False: the last step only"
    return {"last": last}


def _embedding_fields(layer: reference.layers.Layer, shape: tuple[int, ...]) -> dict:
    if layer.mask_zero:
        raise TypeError("mask_zero=True makes Keras skip the padded steps in the layers "
                        "after it, which plain torch modules do not; it ports without "
                        "mask_zero")
    return {}


def _attention_fields(layer: reference.layers.Layer, shape: tuple[int, ...]) -> dict:
    if layer.mask is not None:
        raise TypeError("its attention mask is set per batch, outside the model; it ports "
                        "without one")
    if torch_heads(layer):
        if layer.use_causal_mask:
            raise TypeError("use_causal_mask=True is a mask the template does not write for "
                            "nn.MultiheadAttention; from_reference gives "
                            "torch_impl.sequences.Attention(causal=True)")
        return {"module": f"nn.MultiheadAttention({layer.embed_dim}, {layer.num_heads}, "
                          "batch_first=True)",
                "note": "Keras's batches are (N, T, E); torch's default is time first",
                "result": "x, _", "operands": "x, x, x, need_weights=False"}
    causal = ", causal=True" if layer.use_causal_mask else ""
    return {"module": f"MultiHeadAttention({layer.embed_dim}, {layer.num_heads}, "
                      f"head_dim={layer.key_dim}{causal})",
            "note": f"heads of Keras's key_dim={layer.key_dim}; nn.MultiheadAttention's are "
                    f"{layer.embed_dim}/{layer.num_heads} wide",
            "result": "x", "operands": "x"}


def _recurrent_template(module: str, note: str) -> Template:
    return Template(f"{module}({{in_features}}, {{units}}, batch_first=True)", note=note,
                    call="x, _ = self.{attr}(x){last}", arguments=_recurrent_fields)


_MERGE_LINES = {"sum": "x = x[..., :{units}] + x[..., {units}:]",
                "mul": "x = x[..., :{units}] * x[..., {units}:]",
                "ave": "x = (x[..., :{units}] + x[..., {units}:]) / 2"}


def _bidirectional_fields(layer: reference.layers.Layer, shape: tuple[int, ...]) -> dict:
    wrapped = layer.forward_layer
    fields = {**_recurrent_fields(wrapped, shape), **wrapped.config(),
              "module": f"nn.{_RNN[type(wrapped).__name__].__name__}"}
    units = wrapped.units
    if not wrapped.return_sequences:  # torch's x[:, -1] has the reverse direction's first step
        fields["last"] = (f"\nx = torch.cat((x[:, -1, :{units}], x[:, 0, {units}:]), dim=-1)"
                          "  # Keras's last step: the reverse direction ends at t = 0")
    fields["merge"] = "" if layer.merge_mode == "concat" else (
        "\n" + _MERGE_LINES[layer.merge_mode].format(units=units) +
        f"  # Keras's merge_mode=\"{layer.merge_mode}\"; torch's output is the concat")
    return fields


_DENSE = next(row for row in _LAYERS if row.kind == "Dense")

TRANSLATIONS = (
    Translation("Embedding", _embedding, _read_embedding, (nn.Embedding,),
                Template("nn.Embedding({input_dim}, {output_dim})", arguments=_embedding_fields)),
    Translation("SimpleRNN", _recurrent, _read_recurrent, (nn.RNN,),
                _recurrent_template("nn.RNN", "Keras's batches are (N, T, features)"),
                frozen=ONE_BIAS),
    Translation("LSTM", _recurrent, _read_recurrent, (nn.LSTM,),
                _recurrent_template("nn.LSTM", "Keras's batches are (N, T, features)"),
                frozen=ONE_BIAS),
    Translation("GRU", _recurrent, _read_recurrent, (nn.GRU,),
                _recurrent_template("nn.GRU", "(N, T, features) as Keras; gates reordered "
                                              "(z, r, h) → (r, z, n)")),
    # read back by the Dense row: reference.layouts.time_distributed wraps an nn.Linear
    # that follows a sequence output
    Translation("TimeDistributed", lambda layer, context: _DENSE.build(layer.layer, context),
                lambda modules, i, place: None, (),
                Template("nn.Linear({in_features}, {out_features}{bias})",
                         arguments=lambda layer, shape: {
                             "in_features": layer.layer.in_features,
                             "out_features": layer.layer.out_features,
                             "bias": _no_bias(layer.layer)})),
    Translation("Bidirectional", _bidirectional, _read_bidirectional, (nn.RNN, nn.LSTM, nn.GRU),
                Template("{module}({in_features}, {units}, batch_first=True, bidirectional=True)",
                         note="Keras's batches are (N, T, features); forward features, then "
                              "backward, as Keras's concat",
                         call="x, _ = self.{attr}(x){last}{merge}",
                         arguments=_bidirectional_fields)),
    Translation("MultiHeadAttention", _attention, _read_attention,
                (Attention, MultiHeadAttention),
                Template("{module}", note="{note}",
                         call="{result} = self.{attr}({operands})  # self-attention",
                         arguments=_attention_fields,
                         defines=lambda layer: () if torch_heads(layer) else
                         (MultiHeadAttention,))),
)
