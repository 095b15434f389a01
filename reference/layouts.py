"""Weight layouts as data: which torch parameter and which Keras weight each spec array
becomes, and by what transform.

One table per layer kind (``LAYOUTS``). A row names a spec parameter (or state array),
the torch attribute(s) and the Keras weight it maps to, and the transform from the spec's
layout to each framework's; every transform has its inverse, so conversion works both
ways and a round trip is exact. ``torch_impl.convert`` and ``tf_impl.convert`` are driven
by these tables, and the docs' weight-layout page is rendered from them.

A transform gets the array and a :class:`Context`: what the converter knows about where
the layer sits (its per-sample input shape, and the shape a Flatten below it flattened),
for the rows whose transform depends on it. A transform may also map one spec array to
several framework arrays (torch's two recurrent biases against Keras's one): ``forward``
returns a tuple, and ``inverse`` takes one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

Arrays = np.ndarray | tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Context:
    """Where a layer sits: its per-sample input shape in the spec's layout, and, when a
    Flatten of a feature map (the output of a convolution or pooling layer, channels-last
    here, channels-first in torch) lies directly below it (parameter-free layers between
    them allowed), the per-sample shape that Flatten flattened; ``layer``: the spec layer
    itself, for a transform that needs its configuration (attention's number of heads);
    ``feature_map``: whether the layer's input is a convolution's feature map."""

    input_shape: tuple[int, ...]
    flattened_from: tuple[int, ...] | None = None
    layer: object = None
    feature_map: bool = False  # the input is a feature map: channels-last here and in
    # Keras, channels-first in torch (a Softmax's axis −1 is torch's dim 1 there)


@dataclass(frozen=True)
class Transform:
    """A change of layout, spec → framework (``forward``) and back (``inverse``).

    Gradients come back through ``gradient``, the adjoint of ``forward``: for a
    transpose or a permutation that is ``inverse`` itself (the default), but where one
    spec array feeds two framework arrays (b_ih = b, b_hh = 0), dL/db is dL/db_ih, not
    the sum of the two gradients that ``inverse`` would take.
    """

    name: str  # as the weight-layout page shows it
    forward: Callable[[np.ndarray, Context], Arrays]
    inverse: Callable[[Arrays, Context], np.ndarray]
    gradient: Callable[[Arrays, Context], np.ndarray] | None = None

    def inverse_gradient(self, gradient: Arrays, context: Context) -> np.ndarray:
        """dL/d(spec array) from the framework's gradients."""
        return (self.gradient or self.inverse)(gradient, context)


def _same(array: Arrays, context: Context) -> Arrays:
    return array


def _transpose(array: np.ndarray, context: Context) -> np.ndarray:
    return np.ascontiguousarray(array.T)


SAME = Transform("as is", _same, _same)
TRANSPOSE = Transform("transpose", _transpose, _transpose)


def _channels_first_order(shape: tuple[int, ...]) -> np.ndarray:
    """For a flattened channels-last feature map of ``shape`` ((h, w, c) or (l, c)): the
    spec's feature index at each position of torch's channels-first order ((c, h, w))."""
    index = np.arange(int(np.prod(shape))).reshape(shape)
    return np.moveaxis(index, -1, 0).reshape(-1)


def _dense_to_torch(W: np.ndarray, context: Context) -> np.ndarray:
    if context.flattened_from is not None and len(context.flattened_from) > 1:
        W = W[_channels_first_order(context.flattened_from)]  # rows (h, w, c) → (c, h, w)
    return np.ascontiguousarray(W.T)


def _dense_from_torch(weight: np.ndarray, context: Context) -> np.ndarray:
    W = weight.T
    if context.flattened_from is not None and len(context.flattened_from) > 1:
        permuted, W = W, np.empty_like(W)
        W[_channels_first_order(context.flattened_from)] = permuted  # rows (c, h, w) → (h, w, c)
    return np.ascontiguousarray(W)


DENSE_TO_TORCH = Transform("transpose; after a Flatten of a feature map, rows permuted from "
                           "(h, w, c) to (c, h, w)", _dense_to_torch, _dense_from_torch)


def _axes(order: tuple[int, ...]) -> Transform:
    inverse = tuple(int(i) for i in np.argsort(order))
    return Transform(f"permute{order}",
                     lambda a, context: np.ascontiguousarray(a.transpose(order)),
                     lambda a, context: np.ascontiguousarray(a.transpose(inverse)))


def _depthwise_to_torch(W: np.ndarray, context: Context) -> np.ndarray:
    kh, kw, c, m = W.shape
    return np.ascontiguousarray(W.reshape(kh, kw, c * m).transpose(2, 0, 1)[:, None])


def _depthwise_from_torch(weight: np.ndarray, context: Context) -> np.ndarray:
    channels = context.input_shape[-1]
    _, _, kh, kw = weight.shape
    return np.ascontiguousarray(weight[:, 0].transpose(1, 2, 0).reshape(kh, kw, channels, -1))


KERNEL_2D = _axes((3, 2, 0, 1))  # (k_h, k_w, in, out) → (out, in, k_h, k_w)
KERNEL_1D = _axes((2, 1, 0))  # (k, in, out) → (out, in, k)
DEPTHWISE = Transform("reshape (k_h, k_w, C·M), permute(2, 0, 1), new axis 1",
                      _depthwise_to_torch, _depthwise_from_torch)


def _bias_pair(b: np.ndarray, context: Context) -> tuple[np.ndarray, np.ndarray]:
    return b, np.zeros_like(b)


def _bias_sum(pair: tuple[np.ndarray, np.ndarray], context: Context) -> np.ndarray:
    return pair[0] + pair[1]


# torch's recurrent layers add two biases, b_ih + b_hh, where Keras has one b: going to
# torch, b_ih = b and b_hh = 0; coming back, b = b_ih + b_hh (any split sums the same).
TWO_BIASES = Transform("(b, 0) → b_ih, b_hh; back: b_ih + b_hh", _bias_pair, _bias_sum,
                       gradient=lambda pair, context: pair[0])  # dL/db_ih = dL/db_hh = dL/db


def _swap_first_two_blocks(array: np.ndarray) -> np.ndarray:
    """Gate blocks along the last axis: (z, r, h) ↔ (r, z, n); its own inverse."""
    z, r, h = np.split(array, 3, axis=-1)
    return np.concatenate([r, z, h], axis=-1)


def _gru_kernel(array: np.ndarray, context: Context) -> np.ndarray:
    return np.ascontiguousarray(_swap_first_two_blocks(array).T)


def _gru_kernel_back(array: np.ndarray, context: Context) -> np.ndarray:
    return _swap_first_two_blocks(np.ascontiguousarray(array.T))


def _gru_biases(b: np.ndarray, context: Context) -> tuple[np.ndarray, np.ndarray]:
    if b.ndim != 2:
        raise TypeError("GRU(reset_after=False) has no torch equivalent: torch's nn.GRU "
                        "multiplies the reset gate after the recurrent product")
    return _swap_first_two_blocks(b[0]), _swap_first_two_blocks(b[1])


def _gru_biases_back(pair: tuple[np.ndarray, np.ndarray], context: Context) -> np.ndarray:
    return np.stack([_swap_first_two_blocks(pair[0]), _swap_first_two_blocks(pair[1])])


def _heads(context: Context) -> int:
    return context.layer.num_heads


def _pack_kernels(kernels: tuple[np.ndarray, ...], context: Context) -> np.ndarray:
    return np.concatenate([k.reshape(k.shape[0], -1).T for k in kernels])


def _unpack_kernels(packed: np.ndarray, context: Context) -> tuple[np.ndarray, ...]:
    e = packed.shape[1]
    return tuple(np.ascontiguousarray(w.T).reshape(e, _heads(context), -1)
                 for w in np.split(packed, 3))


def _pack_biases(biases: tuple[np.ndarray, ...], context: Context) -> np.ndarray:
    return np.concatenate([b.reshape(-1) for b in biases])


def _unpack_biases(packed: np.ndarray, context: Context) -> tuple[np.ndarray, ...]:
    return tuple(b.reshape(_heads(context), -1) for b in np.split(packed, 3))


def _output_kernel(kernel: np.ndarray, context: Context) -> np.ndarray:
    return np.ascontiguousarray(kernel.reshape(-1, kernel.shape[-1]).T)


def _output_kernel_back(weight: np.ndarray, context: Context) -> np.ndarray:
    return np.ascontiguousarray(weight.T).reshape(_heads(context), -1, weight.shape[0])


# torch's nn.MultiheadAttention packs the query, key and value projections into one
# (3E, E) in_proj_weight, each block (E_out, E_in) with the heads' columns side by side;
# Keras keeps three (E, H, Dh) kernels (and an (H, Dh, E) output kernel).
PACK_QKV = Transform("(E, H, Dh) × 3 → reshape (E, E), transpose, stack (3E, E)",
                     _pack_kernels, _unpack_kernels)
PACK_QKV_BIASES = Transform("(H, Dh) × 3 → concatenate (3E,)", _pack_biases, _unpack_biases)


def _split_kernels(kernels: tuple[np.ndarray, ...], context: Context) -> tuple[np.ndarray, ...]:
    return tuple(np.ascontiguousarray(k.reshape(k.shape[0], -1).T) for k in kernels)


def _join_kernels(weights: tuple[np.ndarray, ...], context: Context) -> tuple[np.ndarray, ...]:
    return tuple(np.ascontiguousarray(w.T).reshape(w.shape[1], _heads(context), -1)
                 for w in weights)


def _packed(layer: object) -> bool:
    """Whether torch packs the layer's projections: key and value of the query's width."""
    return layer.key_features == layer.value_features == layer.embed_dim


def torch_heads(layer: object) -> bool:
    """Whether ``nn.MultiheadAttention`` holds the layer: heads E/H wide (Keras's key_dim
    may be any width; torch_impl.sequences.MultiHeadAttention holds the others)."""
    return layer.key_dim * layer.num_heads == layer.embed_dim


def _flatten_heads(biases: tuple[np.ndarray, ...], context: Context) -> tuple[np.ndarray, ...]:
    return tuple(b.reshape(-1) for b in biases)


def _split_heads(biases: tuple[np.ndarray, ...], context: Context) -> tuple[np.ndarray, ...]:
    return tuple(b.reshape(_heads(context), -1) for b in biases)


# With a key or value of another width (kdim, vdim), nn.MultiheadAttention keeps three
# weights, (E, E_in) each, where it packed one (in_proj_bias stays packed).
SPLIT_QKV = Transform("(E_in, H, Dh) × 3 → reshape (E_in, E), transpose, each",
                      _split_kernels, _join_kernels)
OUTPUT_KERNEL = Transform("(H, Dh, E) → reshape (H·Dh, E), transpose", _output_kernel,
                          _output_kernel_back)
SAME_EACH = Transform("as is, each", _same, _same)
FLAT_HEADS = Transform("(H, Dh) → (H·Dh,), each", _flatten_heads, _split_heads)


def _query_correction(context: Context) -> float:
    """s / fl32(s) for Keras's scale s = 1/√d in float64, else 1: on the TF backend
    ``keras.layers.MultiHeadAttention`` multiplies by ``tf.cast(s, float64)``, and
    ``tf.cast`` of a Python float makes a float32 tensor first."""
    layer = context.layer
    if layer is None or np.dtype(layer.dtype) != np.float64:
        return 1.0
    scale = 1.0 / np.sqrt(layer.key_dim)  # Keras's key_dim, the heads' width
    return float(scale / np.float64(np.float32(scale)))


def _scale_query(arrays: tuple[np.ndarray, ...], context: Context) -> tuple[np.ndarray, ...]:
    return (arrays[0] * _query_correction(context), *arrays[1:])


def _unscale_query(arrays: tuple[np.ndarray, ...], context: Context) -> tuple[np.ndarray, ...]:
    return (arrays[0] / _query_correction(context), *arrays[1:])


# Keras's float64 attention scales the scores by 1/√d rounded to float32 (TF casts the
# Python float through float32): the query projection carries the correction s / fl32(s)
# (about 1 ± 6e-8), so the scores are the spec's; its gradient comes back times it.
KERAS_QUERY_SCALE = Transform("as is, each; query × s / fl32(s) in float64 (TF rounds the "
                              "scale s = 1/√d to float32)", _scale_query, _unscale_query,
                              gradient=_scale_query)


# Keras orders a GRU's gate blocks (z, r, h), torch (r, z, n): swap the first two blocks,
# then transpose like every torch kernel.
GRU_GATES = Transform("gates (z, r, h) → (r, z, n), transpose", _gru_kernel, _gru_kernel_back)
GRU_BIASES = Transform("row 0 → b_ih, row 1 → b_hh, gates (z, r, h) → (r, z, n)",
                       _gru_biases, _gru_biases_back)


def _as_wrapped(part: str) -> Transform:
    """A Bidirectional's array ``part`` (W, U or b) of either direction to torch: as the
    wrapped kind's own row converts it (LSTM and SimpleRNN transpose, GRU reorders the
    gates too), on a context whose layer is the wrapped one."""
    def pick(context: Context) -> tuple[Transform, Context]:
        wrapped = context.layer.forward_layer
        row = next(row for row in LAYOUTS[type(wrapped).__name__].rows if row.spec == part)
        return row.to_torch, replace(context, layer=wrapped)

    def forward(array: Arrays, context: Context) -> Arrays:
        transform, inner = pick(context)
        return transform.forward(array, inner)

    def inverse(arrays: Arrays, context: Context) -> np.ndarray:
        transform, inner = pick(context)
        return transform.inverse(arrays, inner)

    def gradient(arrays: Arrays, context: Context) -> np.ndarray:
        transform, inner = pick(context)
        return transform.inverse_gradient(arrays, inner)

    return Transform(f"as the wrapped layer's {part}", forward, inverse, gradient)


@dataclass(frozen=True)
class WeightRow:
    """One spec array (or several packed together) and its counterparts.

    ``spec``: the spec parameter's name, or a tuple of names when the framework packs
    several spec arrays into one (torch's ``in_proj_weight`` holds the query, key and
    value kernels; the transform then takes and gives back a tuple). ``torch``: the
    attribute of the torch module that holds it (a tuple when a transform splits it; a
    dotted name reaches a submodule, ``out_proj.weight``); ``keras``: the Keras weight's
    name (``kernel``, ``bias``; a tuple, one per spec array, beside a tuple ``spec``).
    ``trainable``: a parameter (True) or a state array such as a running mean (False).
    ``note``: the convention a porter must know, in a few words. ``when``: for a row that
    holds only for some configurations of its kind, which layers it holds for (attention's
    packed projections need a key and value of the query's width).
    """

    spec: str | tuple[str, ...]
    torch: str | tuple[str, ...]
    keras: str | tuple[str, ...]
    to_torch: Transform = SAME
    to_keras: Transform = SAME
    trainable: bool = True
    note: str = ""
    when: Callable[[object], bool] | None = None

    @property
    def spec_names(self) -> tuple[str, ...]:
        return self.spec if isinstance(self.spec, tuple) else (self.spec,)

    @property
    def torch_names(self) -> tuple[str, ...]:
        return self.torch if isinstance(self.torch, tuple) else (self.torch,)

    @property
    def keras_names(self) -> tuple[str, ...]:
        return self.keras if isinstance(self.keras, tuple) else (self.keras,)


def pack(arrays: tuple[np.ndarray, ...]) -> Arrays:
    """Several arrays as one transform argument: the array itself when there is one."""
    return arrays if len(arrays) > 1 else arrays[0]


def unpack(names: tuple[str, ...], arrays: Arrays) -> dict[str, np.ndarray]:
    """A transform's result by name: a tuple for several names, an array for one."""
    return dict(zip(names, arrays if len(names) > 1 else (arrays,), strict=True))


@dataclass(frozen=True)
class Layout:
    """A spec layer kind, the torch module and Keras layer that mirror it, its rows."""

    kind: str
    torch_module: str
    keras_layer: str
    rows: tuple[WeightRow, ...] = ()
    note: str = ""

    def rows_of(self, layer: object) -> tuple[WeightRow, ...]:
        """The rows of the arrays ``layer`` has: a layer built with ``use_bias=False``
        has no bias, and neither has its torch module (``bias=None``) or Keras layer."""
        names = set(layer.parameter_names) | set(layer.state_names)
        return tuple(row for row in self.rows if set(row.spec_names) <= names and
                     (row.when is None or row.when(layer)))


LAYOUTS: dict[str, Layout] = {layout.kind: layout for layout in (
    Layout("Dense", "nn.Linear", "keras.layers.Dense", (
        WeightRow("W", "weight", "kernel", to_torch=DENSE_TO_TORCH,
                  note="spec and Keras (in, out), torch (out, in): y = x Wᵀ + b; after a "
                       "Flatten of a feature map torch's inputs come (c, h, w), Keras's "
                       "(h, w, c)"),
        WeightRow("b", "bias", "bias"),
    ), note="the activation is a separate module in torch (nn.Sigmoid …), an argument in "
            "Keras"),
    Layout("Flatten", "nn.Flatten", "keras.layers.Flatten",
           note="after a convolution the feature order differs ((h, w, c) in Keras and the "
                "spec, (c, h, w) in torch), so the next Dense kernel's rows are permuted"),
    Layout("Conv2D", "nn.Conv2d", "keras.layers.Conv2D", (
        WeightRow("W", "weight", "kernel", to_torch=KERNEL_2D,
                  note="spec and Keras (k_h, k_w, in, out), torch (out, in, k_h, k_w)"),
        WeightRow("b", "bias", "bias"),
    ), note="data NHWC in Keras and the spec, NCHW in torch; TF's \"same\" padding at "
            "stride > 1 is an nn.ZeroPad2d with TF's amounts where they are uneven"),
    Layout("Conv1D", "nn.Conv1d", "keras.layers.Conv1D", (
        WeightRow("W", "weight", "kernel", to_torch=KERNEL_1D,
                  note="spec and Keras (k, in, out), torch (out, in, k)"),
        WeightRow("b", "bias", "bias"),
    ), note="data (N, L, C) in Keras and the spec, (N, C, L) in torch"),
    Layout("DepthwiseConv2D", "nn.Conv2d(groups=C)", "keras.layers.DepthwiseConv2D", (
        WeightRow("W", "weight", "kernel", to_torch=DEPTHWISE,
                  note="spec and Keras (k_h, k_w, C, M), torch (C·M, 1, k_h, k_w); output "
                       "channel c·M + m in both"),
        WeightRow("b", "bias", "bias"),
    ), note="a grouped convolution with one group per input channel"),
    Layout("MaxPool2D", "nn.MaxPool2d", "keras.layers.MaxPooling2D",
           note="\"same\": TF pads with −∞ by its rule; torch pads symmetrically only, so "
                "nn.ConstantPad2d(…, -inf) first where TF's cells are uneven"),
    Layout("AveragePool2D", "nn.AvgPool2d", "keras.layers.AveragePooling2D",
           note="\"same\": Keras leaves padded cells out of the divisor, torch counts them "
                "unless count_include_pad=False"),
    Layout("GlobalAveragePooling2D", "nn.AdaptiveAvgPool2d(1) + nn.Flatten()",
           "keras.layers.GlobalAveragePooling2D",
           note="the mean over H and W; torch's axes are 2 and 3 (NCHW)"),
    Layout("Activation", "nn.ReLU, nn.Sigmoid, nn.Softmax(dim=-1) …",
           "keras.layers.Activation",
           note="torch has one module per activation; Keras one layer taking its name"),
    Layout("ReLU", "nn.ReLU / nn.ReLU6 / nn.Hardtanh(0, m) / nn.LeakyReLU",
           "keras.layers.ReLU",
           note="Keras's one layer with max_value, negative_slope and threshold is one of "
                "several torch modules, by its options"),
    Layout("LeakyReLU", "nn.LeakyReLU", "keras.layers.LeakyReLU",
           note="default slope 0.3 in Keras's layer, 0.01 in torch: write it out"),
    Layout("Softmax", "nn.Softmax(dim)", "keras.layers.Softmax",
           note="axis −1 of a channels-last feature map is dim 1 of torch's channels-first one"),
    Layout("ZeroPadding2D", "nn.ZeroPad2d", "keras.layers.ZeroPadding2D",
           note="Keras ((top, bottom), (left, right)), torch (left, right, top, bottom)"),
    Layout("GlobalMaxPooling2D", "nn.AdaptiveMaxPool2d(1) + nn.Flatten()",
           "keras.layers.GlobalMaxPooling2D",
           note="the maximum over H and W; on a tie torch's gradient goes to the first cell, "
                "TF's is split among the tied cells"),
    Layout("GlobalAveragePooling1D", "nn.AdaptiveAvgPool1d(1) + nn.Flatten()",
           "keras.layers.GlobalAveragePooling1D",
           note="the mean over the steps; torch's sequences for convolutions are (N, C, L)"),
    Layout("Reshape", "nn.Unflatten / nn.Flatten", "keras.layers.Reshape",
           note="on a feature map Keras reshapes (h, w, c), torch (c, h, w): Keras's "
                "Reshape((1, 1, C)) is nn.Unflatten(1, (C, 1, 1))"),
    Layout("Permute", "Permute (small module: x.permute)", "keras.layers.Permute",
           note="Keras counts axes from 1 after the batch; on a feature map Keras's "
                "(h, w, c) axes are torch's (c, h, w)"),
    Layout("Rescaling", "Rescaling (small module)", "keras.layers.Rescaling",
           note="x · scale + offset; nothing learned"),
    Layout("Normalization", "Normalization (small module, buffers mean and variance)",
           "keras.layers.Normalization",
           note="mean and variance are given, not learned: constructor arguments in Keras, "
                "buffers in torch; Keras divides by max(√variance, 1e-7)"),
    Layout("Dropout", "nn.Dropout", "keras.layers.Dropout",
           note="torch's p and Keras's rate are the same drop probability; a torch module "
                "starts in training mode, a Keras layer called directly runs in inference"),
    Layout("BatchNormalization", "nn.BatchNorm1d / nn.BatchNorm2d",
           "keras.layers.BatchNormalization", (
        WeightRow("gamma", "weight", "gamma"),
        WeightRow("beta", "bias", "beta"),
        WeightRow("moving_mean", "running_mean", "moving_mean", trainable=False),
        WeightRow("moving_variance", "running_var", "moving_variance", trainable=False,
                  note="as is: both normalise with the stored value at inference; torch "
                       "averages the unbiased batch variance into it, Keras the biased one, "
                       "so the two part only in how training updates it"),
    ), note="momentum: torch's weights the new value (0.1), Keras's the old (0.99): "
            "m_torch = 1 − m_keras; ε 1e-5 against 1e-3"),
    Layout("LayerNormalization", "nn.LayerNorm", "keras.layers.LayerNormalization", (
        WeightRow("gamma", "weight", "gamma"),
        WeightRow("beta", "bias", "beta"),
    ), note="ε 1e-5 (torch) against 1e-3 (Keras)"),
    Layout("Embedding", "nn.Embedding", "keras.layers.Embedding", (
        WeightRow("embeddings", "weight", "embeddings",
                  note="the same (V, D) table; Keras draws U(±0.05), torch N(0, 1)"),
    ), note="padding: Keras mask_zero=True masks the layers after it and row 0 still "
            "learns; torch padding_idx=0 masks nothing and row 0 never learns"),
    *(Layout(kind, f"nn.{torch_kind} (batch_first=True)", f"keras.layers.{kind}", (
        WeightRow("W", "weight_ih_l0", "kernel", to_torch=TRANSPOSE,
                  note=f"({blocks}H, in) in torch, (in, {blocks}H) on the Keras cell"),
        WeightRow("U", "weight_hh_l0", "recurrent_kernel", to_torch=TRANSPOSE,
                  note=f"({blocks}H, H) in torch, (H, {blocks}H) on the Keras cell"),
        WeightRow("b", ("bias_ih_l0", "bias_hh_l0"), "bias", to_torch=TWO_BIASES,
                  note="torch adds two biases, Keras has one"),
    ), note=f"Keras's weights live on layer.cell; {gates}; torch defaults to "
            "batch_first=False (time first)")
      for kind, torch_kind, blocks, gates in (
          ("SimpleRNN", "RNN", 1, "one block"),
          ("LSTM", "LSTM", 4, "gate blocks (i, f, c, o) in both"))),
    Layout("GRU", "nn.GRU (batch_first=True)", "keras.layers.GRU", (
        WeightRow("W", "weight_ih_l0", "kernel", to_torch=GRU_GATES,
                  note="blocks (z, r, h) in Keras, (r, z, n) in torch"),
        WeightRow("U", "weight_hh_l0", "recurrent_kernel", to_torch=GRU_GATES,
                  note="blocks (z, r, h) in Keras, (r, z, n) in torch"),
        WeightRow("b", ("bias_ih_l0", "bias_hh_l0"), "bias", to_torch=GRU_BIASES,
                  note="Keras reset_after=True: (2, 3H), the input and the recurrent bias"),
    ), note="Keras's weights live on layer.cell; reset_after=True (Keras's default) is "
            "torch's formula, reset_after=False has no torch equivalent"),
    Layout("Bidirectional", "nn.LSTM / nn.GRU / nn.RNN (bidirectional=True, batch_first=True)",
           "keras.layers.Bidirectional", tuple(
               WeightRow(f"{direction}_{part}",
                         tuple(f"{name}{suffix}" for name in torch_names)
                         if len(torch_names) > 1 else f"{torch_names[0]}{suffix}",
                         f"{direction}_layer.cell.{keras}", to_torch=_as_wrapped(part),
                         note=f"the {direction} direction's {part}" + (
                             ": torch's names end in _reverse" if suffix else ""))
               for direction, suffix in (("forward", ""), ("backward", "_reverse"))
               for part, torch_names, keras in (
                   ("W", ("weight_ih_l0",), "kernel"), ("U", ("weight_hh_l0",), "recurrent_kernel"),
                   ("b", ("bias_ih_l0", "bias_hh_l0"), "bias"))),
           note="Keras lists the forward layer's weights, then the backward layer's; torch's "
                "one module holds both, *_l0 and *_l0_reverse; its output is the concat "
                "merge, and its last step's reverse half is not the backward final state "
                "(that is at t = 0)"),
    Layout("MultiHeadAttention", "nn.MultiheadAttention (batch_first=True); heads not E/H "
           "wide: MultiHeadAttention (small module: four nn.Linear, "
           "F.scaled_dot_product_attention)",
           "keras.layers.MultiHeadAttention", (
               WeightRow(("query_kernel", "key_kernel", "value_kernel"), "in_proj_weight",
                         ("query_dense.kernel", "key_dense.kernel", "value_dense.kernel"),
                         to_torch=PACK_QKV, to_keras=KERAS_QUERY_SCALE,
                         note="torch packs the three projections, Keras splits them by head",
                         when=lambda layer: torch_heads(layer) and _packed(layer)),
               WeightRow(("query_kernel", "key_kernel", "value_kernel"),
                         ("q_proj_weight", "k_proj_weight", "v_proj_weight"),
                         ("query_dense.kernel", "key_dense.kernel", "value_dense.kernel"),
                         to_torch=SPLIT_QKV, to_keras=KERAS_QUERY_SCALE,
                         note="a key or value of another width than the query's (kdim, "
                              "vdim): three torch weights",
                         when=lambda layer: torch_heads(layer) and not _packed(layer)),
               WeightRow(("query_bias", "key_bias", "value_bias"), "in_proj_bias",
                         ("query_dense.bias", "key_dense.bias", "value_dense.bias"),
                         to_torch=PACK_QKV_BIASES, to_keras=KERAS_QUERY_SCALE,
                         when=torch_heads),
               WeightRow(("query_kernel", "key_kernel", "value_kernel"),
                         ("q_proj.weight", "k_proj.weight", "v_proj.weight"),
                         ("query_dense.kernel", "key_dense.kernel", "value_dense.kernel"),
                         to_torch=SPLIT_QKV, to_keras=KERAS_QUERY_SCALE,
                         note="heads of Keras's key_dim ≠ E/H: torch_impl.sequences."
                              "MultiHeadAttention, an nn.Linear of H·Dh outputs each",
                         when=lambda layer: not torch_heads(layer)),
               WeightRow(("query_bias", "key_bias", "value_bias"),
                         ("q_proj.bias", "k_proj.bias", "v_proj.bias"),
                         ("query_dense.bias", "key_dense.bias", "value_dense.bias"),
                         to_torch=FLAT_HEADS, to_keras=KERAS_QUERY_SCALE,
                         when=lambda layer: not torch_heads(layer)),
               WeightRow("output_kernel", "out_proj.weight", "output_dense.kernel",
                         to_torch=OUTPUT_KERNEL, note="(E, H·Dh) in torch, (H, Dh, E) in Keras"),
               WeightRow("output_bias", "out_proj.bias", "output_dense.bias"),
           ), note="boolean masks have opposite polarity: Keras's attention_mask True "
                   "attends, nn.MultiheadAttention's attn_mask True blocks (and "
                   "F.scaled_dot_product_attention's True attends again)"),
    Layout("TimeDistributed", "nn.Linear (on the last axis)",
           "keras.layers.TimeDistributed(Dense)", (
               WeightRow("W", "weight", "kernel", to_torch=TRANSPOSE,
                         note="the Dense kernel, shared by every time step"),
               WeightRow("b", "bias", "bias"),
           ), note="nn.Linear and keras.layers.Dense act on the last axis of any input "
                   "already; the spec's Dense takes (N, in) only"),
    # the layers of upsampling paths (U-Net) and separable stacks (MobileNet)
    Layout("Cropping2D", "nn.ZeroPad2d (negative amounts)", "keras.layers.Cropping2D",
           note="torch has no crop module: nn.ZeroPad2d((-l, -r, -t, -b)) cuts, in F.pad's "
                "order (left, right, top, bottom)"),
    Layout("UpSampling2D", "nn.Upsample(scale_factor, mode)", "keras.layers.UpSampling2D",
           note="Keras's bilinear is torch's align_corners=False; TF computes it in float32 "
                "whatever the dtype"),
    Layout("Conv2DTranspose", "nn.ConvTranspose2d", "keras.layers.Conv2DTranspose", (
        WeightRow("W", "weight", "kernel", to_torch=KERNEL_2D,
                  note="spec and Keras (k_h, k_w, out, in), torch (in, out, k_h, k_w): the "
                       "same permute(3, 2, 0, 1) as Conv2D's, in and out swapped in both"),
        WeightRow("b", "bias", "bias"),
    ), note="Keras's \"same\" crops k − s cells, the odd one at the end, which torch's "
            "padding= cannot: an nn.ZeroPad2d with −1 after it where k − s is odd"),
    Layout("SeparableConv2D", "nn.Sequential(nn.Conv2d(groups=C), nn.Conv2d(1×1))",
           "keras.layers.SeparableConv2D", (
        WeightRow("W", "0.weight", "depthwise_kernel", to_torch=DEPTHWISE,
                  note="spec and Keras (k_h, k_w, C, M), torch (C·M, 1, k_h, k_w)"),
        WeightRow("P", "1.weight", "pointwise_kernel", to_torch=KERNEL_2D,
                  note="spec and Keras (1, 1, C·M, out), torch (out, C·M, 1, 1)"),
        WeightRow("b", "1.bias", "bias", note="on the pointwise step; the depthwise one has "
                  "none (bias=False)"),
    ), note="two torch modules, a depthwise and a 1×1 convolution, in one nn.Sequential"),
)}


def layout(kind: str) -> Layout:
    """The table of a spec layer kind."""
    if kind not in LAYOUTS:
        raise KeyError(f"no weight layout for layer kind {kind!r}; the tables cover "
                       f"{', '.join(LAYOUTS)}")
    return LAYOUTS[kind]


def contexts(layers: list, input_shape: tuple[int, ...], channels_first: bool = False
             ) -> list[Context]:
    """The :class:`Context` of every layer of a spec Sequential (``layers``, whose input
    has per-sample shape ``input_shape``); ``channels_first``: torch takes the input itself
    as a feature map (a model with feature maps does), so the layers before the first
    convolution see one too."""
    from reference.layers import Flatten, layer_shapes

    shapes = layer_shapes(layers, input_shape)
    found, flattened, feature_map = [], None, channels_first
    for layer, shape, out in zip(layers, shapes, shapes[1:], strict=False):
        # Data is a channels-last feature map (channels-first in torch) from the first
        # convolution or pooling layer on, until a Flatten.
        feature_map = (feature_map or getattr(layer, "channels_last", False)) and len(shape) > 1
        found.append(Context(shape, flattened, layer, feature_map))
        if isinstance(layer, Flatten):
            flattened, feature_map = (shape if feature_map else None), False
        else:
            # a Reshape or Permute to an image makes one of a vector too: torch's module
            # gives it channels-first (torch_impl.layers), so the layers after read it so
            feature_map = (feature_map or getattr(layer, "channels_last", False)) and \
                len(out) > 1
            if layer.parameter_names:
                flattened = None  # a layer with weights in between: its rows are not permuted
    return found


def time_distributed(layers: list, sequence: bool = False) -> list:
    """``layers`` with each Dense that follows a sequence output wrapped in a spec
    ``TimeDistributed``: a framework's plain ``nn.Linear`` or ``keras.layers.Dense`` after a
    recurrent layer acts at every time step, where the spec's Dense takes (N, in) only.
    ``sequence``: the input itself is one, (N, T, F). Layers acting at every step keep a
    sequence a sequence (an activation or a LayerNormalization between the two)."""
    from reference.layers import Activation, Dense, Dropout, ReLU, Softmax
    from reference.normalization import LayerNormalization, Normalization, Rescaling
    from reference.sequences import (
        Bidirectional,
        Embedding,
        MultiHeadAttention,
        TimeDistributed,
        _Recurrent,
    )

    keeps = (Dropout, Activation, ReLU, Softmax, LayerNormalization, Normalization, Rescaling)
    found = []
    for layer in layers:
        if isinstance(layer, Dense) and sequence:
            layer = TimeDistributed(layer)
        found.append(layer)
        if not isinstance(layer, keeps):  # these keep their input's shape
            sequence = isinstance(layer, Embedding | TimeDistributed | MultiHeadAttention) or (
                isinstance(layer, _Recurrent | Bidirectional) and layer.return_sequences)
    return found
