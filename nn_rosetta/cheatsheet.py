"""Keras/TensorFlow → PyTorch, one row per name: the table behind the cheat-sheet.

The README, the docs, the HTML page and ``nn-rosetta cheatsheet`` are generated from
``ROWS``, and the CLI resolves the names in it. A row names the Keras/TF side, the PyTorch
side, the spec's concept (a registered name, another spec name, or ``""`` where the spec
has none) and the convention that differs, in a few words. Where numbers are involved,
``test`` names the test in ``parity_tests/test_cheatsheet.py`` (``test_<test>``) that runs
both sides on the same data; a row without numbers says in ``reason`` why it has none.
``parity_tests/test_cheatsheet.py`` fails when a row has neither, or names a missing test.

To add a row when a layer lands, append a :class:`Row` to ``ROWS`` under its section and
write its test; the pages, the CLI's name resolution and its suggestions follow.
Alternatives within a cell are separated by `` / ``.
"""

from __future__ import annotations

from dataclasses import dataclass

SECTIONS = ("Layers and models", "Activations", "Losses", "Optimizers", "Training",
            "Autodiff and variables", "Data", "Callbacks and saving", "Initialisers",
            "Tensors")


@dataclass(frozen=True)
class Row:
    section: str
    keras: str  # the Keras / TensorFlow name(s)
    torch: str  # the PyTorch name(s)
    spec: str  # the concept or name in the spec, "" where the spec has none
    difference: str  # the convention that differs, in a few words (Markdown backticks)
    test: str = ""  # parity_tests/test_cheatsheet.py::test_<test>
    reason: str = ""  # why there is no test (no numbers involved)

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the row gives, Keras and PyTorch, one per alternative."""
        return tuple(n.strip() for cell in (self.keras, self.torch) for n in cell.split(" / "))


def _row(section: str):
    def make(keras: str, torch: str, spec: str, difference: str, test: str = "",
             reason: str = "") -> Row:
        return Row(section, keras, torch, spec, difference, test, reason)
    return make


_layer, _act, _loss, _opt, _train, _grad, _data, _save, _init, _tensor = map(_row, SECTIONS)

ROWS: tuple[Row, ...] = (
    _layer("keras.layers.Dense(units)", "nn.Linear(in_features, out_features)", "Dense",
           "kernel `W` is (in, out), `weight` is (out, in): transpose when copying", "dense"),
    _layer("keras.layers.Dense(units, activation=\"sigmoid\")",
           "nn.Sequential(nn.Linear(…), nn.Sigmoid())", "Dense",
           "Keras folds the activation into the layer; torch adds a module after it",
           "dense_with_activation"),
    _layer("keras.Sequential([...])", "nn.Sequential(...)", "Sequential",
           "Keras infers each input width when built; torch is told `in_features`",
           "sequential"),
    # graph models and merge layers (issue 21)
    _layer("keras.Model(inputs, outputs) / keras.Input(shape)",
           "nn.Module.forward / torch.fx.GraphModule", "Model",
           "Keras wires layers by calling them on symbolic tensors; torch writes the wiring "
           "in `forward`", "functional_model"),
    _layer("keras.layers.Add()", "torch.add(x, y)", "Add",
           "no torch layer: `x + y` in `forward`", "add"),
    _layer("keras.layers.Concatenate(axis=-1)", "torch.cat(tensors, dim=1)", "Concatenate",
           "on images Keras's last axis is the channels, torch's `dim=1`", "concatenate"),
    _layer("keras.layers.Maximum()", "torch.stack(tensors).max(dim=0).values", "Maximum",
           "a tie's gradient: Keras and `stack(…).max(0)` give it all to the first input, "
           "`torch.maximum` g/2 to each", "maximum"),
    _layer("keras.layers.Flatten()", "nn.Flatten()", "Flatten",
           "the same order for a contiguous array: Keras's channels-last images flatten in "
           "another order than torch's channels-first", "flatten"),
    _layer("keras.layers.Conv2D(filters, kernel_size)",
           "nn.Conv2d(in_channels, out_channels, kernel_size)", "Conv2D",
           "images (N, H, W, C) ↔ (N, C, H, W): `x.permute(0, 3, 1, 2)`; kernel "
           "(k_h, k_w, in, out) ↔ `weight` (out, in, k_h, k_w)", "conv2d"),
    _layer("keras.layers.Conv2D(…, strides=2, padding=\"same\")",
           "nn.ZeroPad2d((l, r, t, b)) + nn.Conv2d(…, stride=2)", "Conv2D",
           "TF pads the odd cell at the bottom/right, by an amount that depends on the input "
           "size; torch's `padding=\"same\"` refuses `stride` > 1, and `padding=1` shifts "
           "every window", "conv2d_same_stride_2"),
    _layer("keras.layers.Conv1D(filters, kernel_size)",
           "nn.Conv1d(in_channels, out_channels, kernel_size)", "Conv1D",
           "sequences (N, L, C) ↔ (N, C, L); kernel (k, in, out) ↔ `weight` (out, in, k)",
           "conv1d"),
    _layer("keras.layers.DepthwiseConv2D(kernel_size, depth_multiplier=M)",
           "nn.Conv2d(C, C * M, kernel_size, groups=C)", "DepthwiseConv2D",
           "kernel (k_h, k_w, C, M) ↔ `weight` (C·M, 1, k_h, k_w); output channel c·M + m in "
           "both", "depthwise_conv2d"),
    _layer("keras.layers.MaxPooling2D(pool_size) / keras.layers.MaxPool2D",
           "nn.MaxPool2d(kernel_size)", "MaxPool2D",
           "stride defaults to the pool size in both; `padding=\"same\"` pads −∞ by TF's "
           "rule, torch needs `F.pad(x, …, value=-inf)` first", "max_pool2d"),
    _layer("keras.layers.AveragePooling2D(…, padding=\"same\")",
           "nn.AvgPool2d(…, padding=p, count_include_pad=False)", "AveragePool2D",
           "Keras leaves padded cells out of the divisor; torch counts them unless told "
           "`count_include_pad=False`", "average_pool2d_same"),
    _layer("keras.layers.GlobalAveragePooling2D()",
           "x.mean(dim=(2, 3)) / nn.AdaptiveAvgPool2d(1) + nn.Flatten()",
           "GlobalAveragePooling2D", "the mean over H, W: axes (1, 2) in Keras, (2, 3) in torch",
           "global_average_pooling2d"),
    _layer("keras.layers.GlobalAveragePooling2D(keepdims=True)",
           "x.mean(dim=(2, 3), keepdim=True) / nn.AdaptiveAvgPool2d(1)",
           "GlobalAveragePooling2D", "(N, 1, 1, C) in Keras, (N, C, 1, 1) in torch: a 1×1 "
           "convolution takes either (MobileNet's head)", "global_average_pooling2d_keepdims"),
    _layer("keras.layers.Flatten() after a Conv2D", "nn.Flatten() after an nn.Conv2d",
           "Flatten", "features (h, w, c) ↔ (c, h, w): the next Dense kernel's rows must be "
           "permuted when weights move, or the outputs are wrong without an error",
           "flatten_after_conv"),
    _layer("keras.layers.Dropout(rate)", "nn.Dropout(p)", "Dropout",
           "`rate` ↔ `p`, both the probability of dropping; active only when training "
           "(`training=True` ↔ `model.train()`)", "dropout"),
    _layer("keras.Input(shape=(3,))", "nn.Linear(3, …)", "Dense",
           "torch has no input layer: the first layer's `in_features` carries the width",
           reason="no numbers: it declares a shape"),
    _layer("model.summary()", "print(model)", "Sequential",
           "torch prints the modules, not the output shapes or the parameter counts",
           reason="prints text; the count it shows is the row `model.count_params()`"),
    _layer("model.count_params()", "sum(p.numel() for p in model.parameters())", "Sequential",
           "no torch method; count the parameters yourself", "count_params"),
    _layer("model.trainable_weights", "model.parameters()", "Sequential",
           "Keras lists kernel (in, out) then bias; torch yields weight (out, in) then bias",
           "trainable_weights"),
    _layer("layer.get_weights() / layer.set_weights([W, b])",
           "layer.state_dict() / layer.load_state_dict({...})", "Dense",
           "a list of arrays in Keras, a name → tensor dict in torch; the kernel transposed",
           "get_set_weights"),
    _layer("keras.layers.Dense(units, dtype=\"float64\")",
           "nn.Linear(…, dtype=torch.float64) / model.double()", "Dense",
           "both default to float32; the spec defaults to float64", "float64_layer"),
    _layer("keras.layers.BatchNormalization()",
           "nn.BatchNorm1d(features, momentum=0.01, eps=1e-3)", "BatchNormalization",
           "momentum weights the old value in Keras (0.99), the new in torch (0.1): "
           "`momentum=1 − m`; ε 1e-3 vs 1e-5; torch stores the unbiased variance",
           "batch_normalization"),
    _layer("keras.layers.BatchNormalization() after a Conv2D",
           "nn.BatchNorm2d(channels, momentum=0.01, eps=1e-3)", "BatchNormalization",
           "per channel over the batch and the pixels: Keras on (N, H, W, C), torch on "
           "(N, C, H, W)", "batch_normalization_2d"),
    _layer("keras.layers.LayerNormalization()", "nn.LayerNorm(features, eps=1e-3)",
           "LayerNormalization", "ε 1e-3 in Keras, 1e-5 in torch", "layer_normalization"),
    _layer("keras.layers.Activation(\"tanh\")", "nn.Tanh()", "Activation",
           "one layer taking the activation's name in Keras, one module class per activation "
           "in torch; a linear Dense, then either, equals `Dense(activation=…)`",
           "activation_layer"),
    _layer("keras.layers.ReLU(max_value=6)", "nn.ReLU6()", "ReLU",
           "Keras's one ReLU layer takes a ceiling, a slope and a threshold; torch has a "
           "module per case: `nn.ReLU6`, `nn.Hardtanh(0, m)`, `nn.LeakyReLU(slope)`", "relu6"),
    _layer("keras.layers.LeakyReLU()", "nn.LeakyReLU(0.3)", "LeakyReLU",
           "default slope 0.3 in Keras's layer (0.2 in `keras.activations.leaky_relu`), 0.01 "
           "in torch; TF holds the slope as a float32 even for float64 data",
           "leaky_relu_layer"),
    _layer("keras.layers.Softmax(axis=-1)", "nn.Softmax(dim=-1)", "Softmax",
           "`axis` ↔ `dim`; over a feature map's channels Keras's axis −1 (channels-last) is "
           "torch's `dim=1` (channels-first)", "softmax_layer"),
    _layer("keras.layers.ZeroPadding2D(((t, b), (l, r)))", "nn.ZeroPad2d((l, r, t, b))",
           "ZeroPadding2D", "Keras lists rows, then columns; torch the last axis first, as "
           "`F.pad` counts: (left, right, top, bottom)", "zero_padding_2d"),
    # the layers of upsampling paths (U-Net) and separable stacks (MobileNet)
    _layer("keras.layers.Cropping2D(((t, b), (l, r)))",
           "nn.ZeroPad2d((-l, -r, -t, -b)) / x[:, :, t:-b, l:-r]", "Cropping2D",
           "torch has no crop module: negative padding cuts, in `F.pad`'s order (left, "
           "right, top, bottom), or a slice in `forward`", "cropping_2d"),
    _layer("keras.layers.UpSampling2D(size, interpolation=\"bilinear\")",
           "nn.Upsample(scale_factor=size, mode=\"bilinear\", align_corners=False)",
           "UpSampling2D", "Keras samples half-pixel centres: `align_corners=False` (`True` is "
           "0.6 off); TF resizes in float32 even for float64 data", "upsampling_2d_bilinear"),
    _layer("keras.layers.Conv2DTranspose(filters, 3, strides=2, padding=\"same\")",
           "nn.ConvTranspose2d(in, filters, 3, stride=2), then x[:, :, :-1, :-1]",
           "Conv2DTranspose", "kernel (k_h, k_w, out, in), `weight` (in, out, k_h, k_w); "
           "Keras's \"same\" crops k − s cells, the odd one at the end; `padding=` crops both "
           "ends alike, so `padding=1, output_padding=1` is off (k = 4: `padding=1`)",
           "conv2d_transpose_same"),
    _layer("keras.layers.SeparableConv2D(filters, k, depth_multiplier=m)",
           "nn.Sequential(nn.Conv2d(in, in * m, k, groups=in, bias=False), "
           "nn.Conv2d(in * m, filters, 1))", "SeparableConv2D",
           "one Keras layer, two torch modules; the bias is on the 1×1 step only",
           "separable_conv2d"),
    _layer("keras.layers.Reshape((1, 1, C))", "nn.Unflatten(1, (C, 1, 1))", "Reshape",
           "a feature map is (h, w, c) in Keras, (c, h, w) in torch: reshaping the same "
           "numbers differs unless the layout is moved first (`x.permute(0, 2, 3, 1)`); "
           "Keras's (1, 1, C) after a global pooling is torch's (C, 1, 1)", "reshape"),
    _layer("keras.layers.Permute((2, 1, 3))", "x.permute(0, 1, 3, 2)", "Permute",
           "Keras counts axes from 1 after the batch, on (h, w, c); torch's `permute` counts "
           "the batch axis, on (c, h, w): swapping H and W is (0, 1, 3, 2) in torch",
           "permute"),
    _layer("keras.layers.Rescaling(1 / 255)", "x * (1 / 255)", "Rescaling",
           "torch has no module: the expression in `forward`; a float64 Keras layer multiplies "
           "by the Python float rounded to float32 (TF casts it through float32)",
           "rescaling"),
    _layer("keras.layers.Normalization(mean=m, variance=v)",
           "(x - m) / v.sqrt().clamp_min(1e-7)", "Normalization",
           "Keras divides by max(√v, 1e-7), no ε added (`nn.BatchNorm` in eval divides by "
           "√(v + eps)); Python lists of m, v reach a float64 layer through float32",
           "normalization"),
    _layer("keras.layers.GlobalMaxPooling2D()",
           "x.amax(dim=(2, 3)) / nn.AdaptiveMaxPool2d(1) + nn.Flatten()", "GlobalMaxPooling2D",
           "the maximum over H, W; on a tie TF and `amax` split the gradient among the tied "
           "cells, `nn.AdaptiveMaxPool2d` gives it all to the first", "global_max_pooling_2d"),
    _layer("keras.layers.GlobalAveragePooling1D()",
           "x.mean(dim=2) / nn.AdaptiveAvgPool1d(1) + nn.Flatten()", "GlobalAveragePooling1D",
           "Keras's sequences are (N, L, C), an `nn.Conv1d`'s (N, C, L): the mean over axis 1 "
           "in Keras, dim 2 in torch", "global_average_pooling_1d"),
    _layer("keras.layers.Dense(units, kernel_regularizer=keras.regularizers.L2(λ))",
           "loss = loss_fn(...) + λ * (linear.weight ** 2).sum()", "Dense",
           "λ‖W‖² in the loss: gradient 2λW, the bias spared; torch's `weight_decay=2λ` "
           "matches the kernel but decays the bias too", "l2_regularizer"),
    _layer("keras.layers.Embedding(input_dim, output_dim)",
           "nn.Embedding(num_embeddings, embedding_dim)", "Embedding",
           "the same (V, D) table; `mask_zero=True` masks the next layers and row 0 learns, "
           "`padding_idx=0` masks nothing and freezes row 0", "embedding"),
    _layer("keras.layers.SimpleRNN(units)", "nn.RNN(in, units, batch_first=True)",
           "SimpleRNN", "torch is time first unless `batch_first=True`; kernels transposed; "
           "torch adds two biases, `b_ih + b_hh`", "simple_rnn"),
    _layer("keras.layers.LSTM(units, return_sequences=True)",
           "nn.LSTM(in, units, batch_first=True)", "LSTM",
           "same gate order (i, f, c/g, o), kernels transposed, `bias` = `b_ih + b_hh`; "
           "torch returns `output, (h_n, c_n)`, Keras the last step unless "
           "`return_sequences=True` (states with `return_state=True`)", "lstm"),
    _layer("keras.layers.GRU(units)", "nn.GRU(in, units, batch_first=True)", "GRU",
           "gate blocks (z, r, h) ↔ (r, z, n); bias (2, 3H) ↔ `b_ih`, `b_hh`; "
           "`reset_after=False` has no torch counterpart", "gru"),
    _layer("keras.layers.TimeDistributed(Dense(units)) / Dense on a sequence",
           "nn.Linear on a sequence", "TimeDistributed",
           "both apply the layer at every step with one set of weights; the Keras wrapper "
           "computes in float32 unless given `dtype`", "time_distributed"),
    _layer("keras.layers.MultiHeadAttention(num_heads, key_dim)(x, x, attention_mask=m)",
           "nn.MultiheadAttention(E, num_heads, batch_first=True)(x, x, x, attn_mask=~m)",
           "MultiHeadAttention",
           "mask True = attend in Keras, = blocked in torch; torch packs the q, k, v "
           "projections into one (3E, E) `in_proj_weight`", "multi_head_attention"),
    _layer("keras.ops.dot_product_attention(q, k, v, mask=m)",
           "F.scaled_dot_product_attention(q, k, v, attn_mask=m)", "MultiHeadAttention",
           "heads second to last (N, T, H, d) in Keras, second in torch; both masks True = "
           "attend; Keras on TF rounds a Python-float `scale` to float32",
           "dot_product_attention"),
    # cross-attention (issue 21)
    _layer("keras.layers.MultiHeadAttention(num_heads, key_dim)(query, value, key=key, "
           "use_causal_mask=True)",
           "nn.MultiheadAttention(E, num_heads, kdim=…, vdim=…, batch_first=True)(query, key, "
           "value, attn_mask=future)", "MultiHeadAttention",
           "Keras calls (query, value, key), torch (query, key, value); Keras's heads are "
           "`key_dim` wide, torch's E/num_heads; Keras's causal mask is torch's "
           "`future = torch.ones(T, S).triu(1).bool()` (True = blocked)", "cross_attention"),
    _layer("keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True))",
           "nn.LSTM(in, units, batch_first=True, bidirectional=True)", "Bidirectional",
           "Keras's weights: the forward layer's, then the backward layer's; torch's "
           "`*_l0` and `*_l0_reverse`; the per-step output is `concat` in both, but Keras's "
           "last step (no `return_sequences`) is `cat(h_n[0], h_n[1])`, not torch's "
           "`output[:, -1]`, whose reverse half is the backward direction's first step; "
           "`merge_mode` sum/mul/ave: torch adds the halves itself", "bidirectional"),
    _act("keras.activations.sigmoid / tf.nn.sigmoid", "torch.sigmoid / nn.Sigmoid()",
         "sigmoid", "the same function; a Keras sigmoid output carries hidden logits",
         "sigmoid"),
    _act("keras.activations.tanh / tf.nn.tanh", "torch.tanh / nn.Tanh()", "tanh",
         "the same", "tanh"),
    _act("keras.activations.relu / tf.nn.relu", "torch.relu / F.relu / nn.ReLU()", "relu",
         "the same; both take the derivative at 0 as 0", "relu"),
    _act("keras.layers.LeakyReLU() / keras.activations.leaky_relu", "nn.LeakyReLU() / F.leaky_relu",
         "leaky_relu", "default slope: Keras's layer 0.3, its function 0.2; torch 0.01",
         "leaky_relu"),
    _act("keras.activations.elu", "F.elu / nn.ELU()", "elu", "the same, α = 1", "elu"),
    _act("keras.activations.softmax(x, axis=-1)", "F.softmax(x, dim=-1) / nn.Softmax(dim=-1)",
         "softmax", "torch asks for `dim`; Keras defaults to the last axis", "softmax"),
    _act("keras.activations.softplus", "F.softplus / nn.Softplus()", "softplus",
         "torch returns z itself above `threshold=20`", "softplus"),
    _act("keras.activations.silu / keras.activations.swish", "F.silu / nn.SiLU()", "silu",
         "the same", "silu"),
    _act("keras.activations.exponential", "torch.exp", "exponential",
         "the same e^z; torch has no module for it (the converter adds a small `Exp`)",
         "exponential"),
    _act("keras.activations.gelu", "F.gelu / nn.GELU()", "gelu",
         "`approximate=True` ↔ `\"tanh\"`; TF's exact kernel is off by ~1e-8 in float64",
         "gelu"),
    _loss("keras.losses.BinaryCrossentropy() / keras.losses.binary_crossentropy",
          "nn.BCELoss() / F.binary_cross_entropy", "binary_cross_entropy",
          "(y_true, y_pred) ↔ (input, target); Keras clips p to [1e-7, 1 − 1e-7], torch "
          "clamps log p at −100", "binary_crossentropy"),
    _loss("keras.losses.BinaryCrossentropy(from_logits=True)",
          "nn.BCEWithLogitsLoss() / F.binary_cross_entropy_with_logits",
          "binary_cross_entropy_with_logits", "a flag in Keras, a class of its own in torch",
          "binary_crossentropy_from_logits"),
    _loss("keras.losses.CategoricalCrossentropy()", "nn.NLLLoss() on log p, class indices",
          "categorical_cross_entropy",
          "Keras takes one-hot targets and probabilities; torch takes indices and log p",
          "categorical_crossentropy"),
    _loss("keras.losses.CategoricalCrossentropy(from_logits=True)",
          "nn.CrossEntropyLoss() / F.cross_entropy", "categorical_cross_entropy_with_logits",
          "torch's cross-entropy always takes logits (and accepts one-hot targets)",
          "categorical_crossentropy_from_logits"),
    _loss("keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
          "nn.CrossEntropyLoss()", "sparse_categorical_cross_entropy_with_logits",
          "class indices on both sides; torch wants them int64", "sparse_from_logits"),
    _loss("keras.losses.MeanSquaredError() / keras.losses.MSE",
          "nn.MSELoss() / F.mse_loss", "mean_squared_error",
          "the function forms differ: `keras.losses.MSE` returns one loss per sample",
          "mean_squared_error"),
    _loss("keras.losses.MeanAbsoluteError() / keras.losses.MAE",
          "nn.L1Loss() / F.l1_loss", "mean_absolute_error", "named L1 in torch",
          "mean_absolute_error"),
    _loss("keras.losses.MeanSquaredLogarithmicError()",
          "F.mse_loss(torch.log1p(p), torch.log1p(y))", "mean_squared_logarithmic_error",
          "no torch class; Keras also clips negatives to ε first", "msle"),
    _loss("keras.losses.MeanSquaredError(dtype=\"float64\")", "nn.MSELoss()", "",
          "a Keras loss computes in floatx (float32) unless told; torch in the input's dtype",
          "loss_dtype"),
    _loss("keras.losses.Huber(delta=1.0)", "nn.HuberLoss(delta=1.0)", "",
          "the same; torch's `nn.SmoothL1Loss` is Huber divided by δ", "huber"),
    _opt("keras.optimizers.SGD(learning_rate=0.01)", "torch.optim.SGD(params, lr=…)", "SGD",
         "torch has no default rate; Keras's is 0.01", "sgd"),
    _opt("keras.optimizers.SGD(momentum=0.9)", "torch.optim.SGD(params, lr, momentum=0.9)",
         "SGD", "Keras's velocity includes η, torch's does not: equal for a fixed η",
         "sgd_momentum"),
    _opt("keras.optimizers.Adam()", "torch.optim.Adam(params)", "Adam",
         "ε 1e-7 added before the bias correction (Keras) vs 1e-8 after (torch)", "adam"),
    _opt("keras.optimizers.AdamW()", "torch.optim.AdamW(params)", "AdamW",
         "default weight decay 0.004 in Keras, 0.01 in torch", "adamw"),
    _opt("optimizer.apply_gradients(zip(grads, variables))",
         "loss.backward(); optimizer.step(); optimizer.zero_grad()", "SGD",
         "torch reads the gradients stored in `.grad`, which add up until zeroed",
         "apply_gradients"),
    _opt("optimizer.learning_rate", "optimizer.param_groups[0][\"lr\"]", "",
         "Keras keeps it as a float32 variable; torch as a Python float", "learning_rate"),
    _opt("keras.optimizers.SGD(weight_decay=λ)",
         "torch.optim.SGD(params, lr, weight_decay=λ) / torch.optim.AdamW(params, lr, "
         "weight_decay=λ)", "SGD",
         "Keras decays decoupled, p −= ηλp; torch's SGD and Adam add λp to the gradient "
         "(coupled), only AdamW is decoupled", "weight_decay"),
    _opt("keras.optimizers.SGD(clipnorm=c)",
         "for p in model.parameters(): nn.utils.clip_grad_norm_(p, c)", "SGD",
         "clipnorm clips each variable alone; `clip_grad_norm_` on all parameters is "
         "`global_clipnorm`", "clipnorm"),
    _opt("keras.optimizers.SGD(global_clipnorm=c)",
         "nn.utils.clip_grad_norm_(model.parameters(), c)", "SGD",
         "torch divides by ‖g‖ + 1e-6: its clipped norm falls 1e-6/‖g‖ short of c",
         "global_clipnorm"),
    _opt("keras.optimizers.SGD(clipvalue=v)", "nn.utils.clip_grad_value_(params, v)", "SGD",
         "the same; Keras does it in `apply_gradients`, torch between backward and step",
         "clipvalue"),
    _opt("keras.optimizers.schedules.ExponentialDecay(η, k, r)",
         "lr_scheduler.ExponentialLR(opt, gamma=r ** (1 / k)); scheduler.step() per batch",
         "ExponentialDecay",
         "Keras moves η every batch; torch at each `scheduler.step()`, usually per epoch",
         "exponential_decay"),
    _opt("keras.optimizers.schedules.PiecewiseConstantDecay([b], [v0, v1])",
         "lr_scheduler.MultiStepLR(opt, milestones=[b + 1], gamma=v1 / v0)",
         "PiecewiseConstantDecay", "Keras changes η after step b, torch at milestone b + 1",
         "piecewise_constant_decay"),
    _opt("keras.optimizers.schedules.CosineDecay(η, k)",
         "lr_scheduler.CosineAnnealingLR(opt, T_max=k)", "CosineDecay",
         "after k steps Keras stays at its floor; torch climbs back towards η",
         "cosine_decay"),
    _train("model.compile(optimizer, loss)",
           "loss_fn = nn.MSELoss(); optimizer = torch.optim.SGD(model.parameters(), lr)",
           "fit", "torch has no compile step for training; you call them in your loop",
           reason="no numbers: it only records choices"),
    _train("model.fit(x, y, epochs, batch_size)",
           "for epoch: for xb, yb: zero_grad(); loss_fn(model(xb), yb).backward(); step()",
           "fit", "you write the loop; Keras shuffles by default and casts x to float32",
           "fit"),
    _train("model.evaluate(x, y)", "with torch.no_grad(): loss_fn(model(x), y)", "fit",
           "no method in torch; `no_grad` stops recording; Keras casts x to float32",
           "evaluate"),
    _train("model.predict(x)", "model.eval(); with torch.no_grad(): model(x)", "Sequential",
           "Keras returns NumPy, computed in float32 batches; torch a tensor", "predict"),
    _train("model(x, training=False)", "model.eval() / model.train()", "Sequential",
           "a call argument in Keras, a module mode in torch (dropout, batch norm)",
           "training_flag"),
    _train("tf.function", "torch.compile", "fit",
           "a compiled graph of the same computation",
           reason="no numbers change; torch.compile also needs a C compiler"),
    _grad("tf.GradientTape() / tape.gradient(loss, variables)",
          "loss.backward() / torch.autograd.grad(loss, params)", "network_gradients",
          "the tape returns gradients; `backward()` stores them in `.grad`", "gradient_tape"),
    _grad("tape.watch(x)", "x.requires_grad_()", "jacobian",
          "unwatched: TF returns None; torch raises (no grad_fn)", "watch"),
    _grad("tape.jacobian(y, x)", "torch.autograd.functional.jacobian(f, x)", "jacobian",
          "TF differentiates a recorded y; torch calls the function f", "jacobian"),
    _grad("tf.Variable(value)", "nn.Parameter(tensor) / tensor.requires_grad_()", "",
          "a trainable variable is watched by every tape; a torch tensor needs requires_grad",
          "variable"),
    _grad("variable.assign_sub(lr * grad)", "with torch.no_grad(): w -= lr * w.grad", "SGD",
          "`w = w - lr * g` rebinds: TF stops watching it, torch makes a non-leaf",
          "assign_sub"),
    _grad("variable.assign(value)", "with torch.no_grad(): w.copy_(value)", "",
          "both write in place and keep the variable a leaf", "assign"),
    _grad("tf.stop_gradient(x)", "x.detach()", "", "the same", "stop_gradient"),
    _data("tf.data.Dataset.from_tensor_slices((x, y)).batch(n)",
          "DataLoader(TensorDataset(x, y), batch_size=n)", "fit",
          "the same batches in order; the last one smaller on both sides", "dataset_batch"),
    _data("dataset.shuffle(buffer_size, seed=0)",
          "DataLoader(..., shuffle=True, generator=torch.Generator().manual_seed(0))",
          "fit", "different generators: the same seed gives different orders",
          "dataset_shuffle"),
    _data("keras.utils.set_random_seed(0)", "torch.manual_seed(0)", "fit",
          "the same seed draws different numbers in each framework",
          reason="nothing to compare: the generators differ by design"),
    _save("keras.callbacks.EarlyStopping(monitor=\"loss\", patience=2)",
          "a counter in your loop: stop after `patience` epochs without improvement",
          "EarlyStopping",
          "no torch class; the rule is a few lines", "early_stopping"),
    _save("model.save_weights(\"m.weights.h5\")", "torch.save(model.state_dict(), \"m.pt\")",
          "save_weights", "an HDF5 file vs a pickle-based zip; the kernel transposed",
          "save_weights"),
    _save("model.load_weights(\"m.weights.h5\")",
          "model.load_state_dict(torch.load(\"m.pt\", weights_only=True))", "load_weights",
          "pass `weights_only=True`, so that loading runs no code", "load_weights"),
    _init("keras.initializers.GlorotUniform()", "nn.init.xavier_uniform_(w)",
          "glorot_uniform", "Keras's `Dense` default; the same bound √(6 / (in + out))",
          "glorot_uniform"),
    _init("keras.initializers.VarianceScaling(1/3, \"fan_in\", \"uniform\")",
          "nn.Linear's default (kaiming_uniform_ with a = √5)", "torch_linear_default",
          "torch's default init is U(±1/√in), Keras's is Glorot: the models start apart",
          "torch_linear_default"),
    _init("keras.initializers.RandomNormal(stddev=0.05)", "nn.init.normal_(w, std=0.05)",
          "normal", "default std 0.05 in Keras, 1.0 in torch", "random_normal"),
    _init("keras.initializers.Zeros()", "nn.init.zeros_(b)", "zeros",
          "both layers start their bias at zero", "zeros"),
    _tensor("tf.reduce_mean(x, axis=0)", "torch.mean(x, dim=0)", "",
            "`axis` ↔ `dim`", "reduce_mean"),
    _tensor("tf.reduce_sum(x, axis=-1)", "torch.sum(x, dim=-1)", "", "`axis` ↔ `dim`",
            "reduce_sum"),
    _tensor("tf.matmul(a, b)", "a @ b / torch.matmul(a, b)", "Dense", "the same",
            "matmul"),
    _tensor("tf.constant(x) / tf.convert_to_tensor(x)", "torch.as_tensor(x)", "",
            "both keep a NumPy array's float64; a Python float becomes float32", "constant"),
    _tensor("tensor.numpy()", "tensor.detach().numpy()", "",
            "torch refuses `.numpy()` on a tensor that requires grad", "to_numpy"),
    _tensor("tf.one_hot(indices, depth)", "F.one_hot(indices, num_classes)", "",
            "TF returns float32, torch returns int64", "one_hot"),
    _tensor("tf.argmax(x, axis=-1)", "torch.argmax(x, dim=-1)", "",
            "TF returns int64 by default, torch too; both pick the first maximum", "argmax"),
    _tensor("tf.clip_by_value(x, lo, hi)", "torch.clamp(x, lo, hi)", "", "the same",
            "clip"),
    _tensor("keras.metrics.BinaryAccuracy()", "((p > 0.5) == y).float().mean()", "",
            "no torch class; Keras counts p > 0.5 as 1", "binary_accuracy"),
)
