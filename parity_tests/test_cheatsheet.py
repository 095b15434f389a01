"""The cheat-sheet's rows, each run on both sides on the same data (``nn_rosetta.cheatsheet``).

One test per row that involves numbers, named ``test_<row.test>``: the Keras/TF side and
the PyTorch side as a user writes them, then the numbers compared with the project's
tolerances (``parity_tests/tolerances.py``), or, where the row's point is a difference,
the difference itself shown. Shapes are small, so the whole file runs in seconds.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from nn_rosetta.cheatsheet import ROWS
from parity_tests.conftest import framework
from parity_tests.tolerances import tolerance

tf = framework("tf").tf  # imported through tf_impl, which sets TF's environment first
torch = framework("torch").torch
keras = tf.keras
nn, F = torch.nn, torch.nn.functional


def agree(keras_side, torch_side, kind: str = "output", dtype: str | None = None) -> None:
    """Equal within the project's tolerance for ``dtype`` (default: the Keras side's)."""
    a = np.asarray(keras_side)
    b = np.asarray(torch_side.detach() if isinstance(torch_side, torch.Tensor) else torch_side)
    assert a.shape == b.shape, (a.shape, b.shape)
    bound = tolerance(dtype or (a.dtype if a.dtype.kind == "f" else np.float64), kind)
    assert bound.error(b, a) <= bound.rtol, (a, b)


def data(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def t(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x))


def linear_like(layer: keras.layers.Dense) -> nn.Linear:
    """An ``nn.Linear`` holding a built Keras ``Dense``'s weights."""
    W, b = layer.get_weights()
    linear = nn.Linear(*W.shape, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(t(W.T))  # (in, out) → (out, in)
        linear.bias.copy_(t(b))
    return linear


def keras_dense(units: int, x: np.ndarray, **kw) -> keras.layers.Dense:
    layer = keras.layers.Dense(units, dtype="float64", **kw)
    layer.build(x.shape)
    layer.set_weights([data(x.shape[1], units, seed=1), data(units, seed=2)])
    return layer


# ── the table and these tests cover each other ───────────────────────────────────────────

def test_every_row_has_a_test_here_or_a_reason() -> None:
    tests = {name[5:] for name in vars(sys.modules[__name__]) if name.startswith("test_")}
    for row in ROWS:
        assert bool(row.test) != bool(row.reason), f"{row.keras}: a test or a reason, not both"
        assert not row.test or row.test in tests, f"{row.keras}: no test_{row.test} here"
    used = {row.test for row in ROWS}
    assert tests - used == {"every_row_has_a_test_here_or_a_reason"}


# ── layers and models ────────────────────────────────────────────────────────────────────

def test_dense() -> None:
    x = data(4, 3)
    layer = keras_dense(2, x)
    agree(layer(x), linear_like(layer)(t(x)))
    assert tuple(layer.kernel.shape) == (3, 2) and tuple(linear_like(layer).weight.shape) == (2, 3)


def test_dense_with_activation() -> None:
    x = data(4, 3)
    layer = keras_dense(2, x, activation="sigmoid")
    agree(layer(x), nn.Sequential(linear_like(layer), nn.Sigmoid())(t(x)))


def _models(x: np.ndarray) -> tuple[keras.Sequential, nn.Sequential]:
    model = keras.Sequential([keras.layers.Dense(5, activation="tanh", dtype="float64"),
                              keras.layers.Dense(2, dtype="float64")])
    model.build(x.shape)
    module = nn.Sequential(linear_like(model.layers[0]), nn.Tanh(), linear_like(model.layers[1]))
    return model, module


def test_sequential() -> None:
    x = data(4, 3)
    model, module = _models(x)
    agree(model(x), module(t(x)))


def test_functional_model() -> None:
    """A residual block both ways: Keras calls layers on tensors, torch writes forward."""
    x = data(4, 3)
    inputs = keras.Input((3,), dtype="float64")
    hidden = keras.layers.Dense(3, activation="tanh", dtype="float64")
    model = keras.Model(inputs, keras.layers.Add(dtype="float64")([inputs, hidden(inputs)]))

    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden = linear_like(hidden)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + torch.tanh(self.hidden(x))

    agree(model(x), Residual()(t(x)))


def test_add() -> None:
    x, y = data(4, 3), data(4, 3, seed=1)
    agree(keras.layers.Add()([x, y]), t(x) + t(y))


def test_concatenate() -> None:
    x, y = data(2, 3, 3, 1), data(2, 3, 3, 2, seed=1)
    agree(keras.layers.Concatenate(axis=-1)([x, y]), nhwc(torch.cat([nchw(x), nchw(y)], dim=1)))


def test_maximum() -> None:
    """On a tie Keras's gradient goes to the first input, as stack(…).max(0)'s; torch.maximum
    splits it."""
    x, y = np.array([[1.0, 2.0]]), np.array([[1.0, 0.0]])
    tensors = [tf.constant(x), tf.constant(y)]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        out = keras.layers.Maximum(dtype="float64")(tensors)
    keras_grads = tape.gradient(out, tensors)
    first, second = t(x).requires_grad_(), t(y).requires_grad_()
    torch.stack([first, second]).max(dim=0).values.sum().backward()
    agree(keras_grads[0], first.grad, "gradient")
    agree(keras_grads[1], second.grad, "gradient")
    a, b = t(x).requires_grad_(), t(y).requires_grad_()
    torch.maximum(a, b).sum().backward()
    assert a.grad[0, 0] == b.grad[0, 0] == 0.5


def test_flatten() -> None:
    x = data(2, 3, 4)
    agree(keras.layers.Flatten()(x), nn.Flatten()(t(x)))


def nchw(x: np.ndarray) -> torch.Tensor:
    """A Keras batch of images (N, H, W, C) as torch takes it, (N, C, H, W)."""
    return t(x).permute(0, 3, 1, 2)


def nhwc(y: torch.Tensor) -> torch.Tensor:
    return y.permute(0, 2, 3, 1)


def conv_like(layer, **options) -> nn.Conv2d:
    """An ``nn.Conv2d`` holding a built Keras ``Conv2D``'s weights."""
    kernel, bias = layer.get_weights()
    kh, kw, cin, cout = kernel.shape
    conv = nn.Conv2d(cin, cout, (kh, kw), dtype=torch.float64, **options)
    with torch.no_grad():
        conv.weight.copy_(t(kernel).permute(3, 2, 0, 1))  # (k_h, k_w, in, out) → (out, in, …)
        conv.bias.copy_(t(bias))
    return conv


def test_conv2d() -> None:
    x = data(2, 6, 5, 3)
    layer = keras.layers.Conv2D(4, 3, dtype="float64")
    agree(layer(x), nhwc(conv_like(layer)(nchw(x))))


def test_conv2d_same_stride_2() -> None:
    x = data(2, 8, 8, 2)  # 8 at stride 2: TF pads (0, 1) on each axis
    layer = keras.layers.Conv2D(3, 3, strides=2, padding="same", dtype="float64")
    expected = layer(x)
    with pytest.raises(ValueError, match="not supported for strided convolutions"):
        conv_like(layer, stride=2, padding="same")
    padded = nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), conv_like(layer, stride=2))
    agree(expected, nhwc(padded(nchw(x))))
    symmetric = conv_like(layer, stride=2, padding=1)(nchw(x))
    assert tuple(nhwc(symmetric).shape) == tuple(expected.shape)  # the same shape, and …
    assert tolerance(np.float64, "output").error(nhwc(symmetric).detach(), expected) > 1e-3


def test_conv1d() -> None:
    x = data(2, 7, 3)
    layer = keras.layers.Conv1D(4, 3, dtype="float64")
    layer.build(x.shape)
    kernel, bias = layer.get_weights()
    conv = nn.Conv1d(3, 4, 3, dtype=torch.float64)
    with torch.no_grad():
        conv.weight.copy_(t(kernel).permute(2, 1, 0))  # (k, in, out) → (out, in, k)
        conv.bias.copy_(t(bias))
    agree(layer(x), conv(t(x).permute(0, 2, 1)).permute(0, 2, 1))


def test_depthwise_conv2d() -> None:
    x = data(2, 5, 5, 3)
    layer = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, dtype="float64")
    layer.build(x.shape)
    kernel, bias = layer.get_weights()  # (3, 3, C=3, M=2)
    conv = nn.Conv2d(3, 6, 3, groups=3, dtype=torch.float64)
    with torch.no_grad():
        conv.weight.copy_(t(kernel.reshape(3, 3, 6).transpose(2, 0, 1)[:, None]))
        conv.bias.copy_(t(bias))
    agree(layer(x), nhwc(conv(nchw(x))))


def test_max_pool2d() -> None:
    x = data(2, 6, 6, 2)
    agree(keras.layers.MaxPooling2D(2, dtype="float64")(x), nhwc(nn.MaxPool2d(2)(nchw(x))))
    same = keras.layers.MaxPooling2D(3, 2, padding="same", dtype="float64")(x)  # pads (0, 1)
    padded = F.pad(nchw(x), (0, 1, 0, 1), value=float("-inf"))
    agree(same, nhwc(nn.MaxPool2d(3, 2)(padded)))


def test_average_pool2d_same() -> None:
    x = data(2, 7, 7, 2)  # 7 at stride 2: TF pads (1, 1), torch's padding=1
    expected = keras.layers.AveragePooling2D(3, 2, padding="same", dtype="float64")(x)
    agree(expected, nhwc(nn.AvgPool2d(3, 2, padding=1, count_include_pad=False)(nchw(x))))
    counted = nhwc(nn.AvgPool2d(3, 2, padding=1)(nchw(x)))  # torch's default divisor: 9
    assert tolerance(np.float64, "output").error(counted, expected) > 1e-3


def test_global_average_pooling2d() -> None:
    x = data(2, 4, 5, 3)
    expected = keras.layers.GlobalAveragePooling2D(dtype="float64")(x)
    agree(expected, nchw(x).mean(dim=(2, 3)))
    agree(expected, nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())(nchw(x)))


def test_global_average_pooling2d_keepdims() -> None:
    x = data(2, 4, 5, 3)
    expected = keras.layers.GlobalAveragePooling2D(keepdims=True, dtype="float64")(x)
    assert expected.shape == (2, 1, 1, 3)
    agree(expected, nhwc(nchw(x).mean(dim=(2, 3), keepdim=True)))
    agree(expected, nhwc(nn.AdaptiveAvgPool2d(1)(nchw(x))))


def test_flatten_after_conv() -> None:
    x = data(2, 3, 3, 2)
    keras_features = keras.layers.Flatten(dtype="float64")(x)  # (h, w, c)
    torch_features = nn.Flatten()(nchw(x))  # (c, h, w)
    rows = np.arange(18).reshape(3, 3, 2).transpose(2, 0, 1).ravel()  # (c, h, w) ← (h, w, c)
    agree(np.asarray(keras_features)[:, rows], torch_features)
    assert tolerance(np.float64, "output").error(torch_features, keras_features) > 1e-3


def test_dropout() -> None:
    x = np.ones((50, 40))
    keras_drop, torch_drop = keras.layers.Dropout(0.25, seed=0), nn.Dropout(p=0.25)
    agree(keras_drop(x), torch_drop.eval()(t(x)))  # not training: the identity on both sides
    torch.manual_seed(0)
    kept = [keras_drop(x, training=True).numpy(), torch_drop.train()(t(x)).numpy()]
    for out in kept:  # the survivors scaled by 1 / (1 − p), about a quarter dropped
        np.testing.assert_allclose(np.unique(out), [0.0, 1 / 0.75], rtol=1e-6)  # Keras: float32
        assert abs(np.mean(out == 0) - 0.25) < 0.05


def test_count_params() -> None:
    model, module = _models(data(4, 3))
    count = sum(p.numel() for p in module.parameters())
    assert model.count_params() == count == (3 * 5 + 5) + (5 * 2 + 2)


def test_trainable_weights() -> None:
    model, module = _models(data(4, 3))
    keras_shapes = [tuple(v.shape) for v in model.trainable_weights]
    torch_shapes = [tuple(p.shape) for p in module.parameters()]
    assert keras_shapes == [(3, 5), (5,), (5, 2), (2,)]
    assert torch_shapes == [(5, 3), (5,), (2, 5), (2,)]
    agree(model.trainable_weights[0], module[0].weight.T)


def test_get_set_weights() -> None:
    x = data(4, 3)
    layer = keras_dense(2, x)
    W, b = layer.get_weights()
    linear = nn.Linear(3, 2, dtype=torch.float64)
    linear.load_state_dict({"weight": t(W.T), "bias": t(b)})
    agree(W, linear.state_dict()["weight"].T)
    agree(layer(x), linear(t(x)))


def _rnn_like(layer, torch_class, gates: tuple[int, ...] | None = None) -> nn.Module:
    """A batch-first torch RNN holding a built Keras recurrent layer's weights: kernels
    transposed, Keras's bias in ``b_ih`` (``b_hh`` zero), blocks reordered by ``gates``."""
    kernel, recurrent, bias = (w.numpy() for w in layer.cell.weights)
    rnn = torch_class(kernel.shape[0], layer.cell.units, batch_first=True, dtype=torch.float64)
    order = np.concatenate([np.arange(g * layer.cell.units, (g + 1) * layer.cell.units)
                            for g in gates]) if gates else np.arange(kernel.shape[1])
    b_ih, b_hh = (bias[0], bias[1]) if bias.ndim == 2 else (bias, np.zeros_like(bias))
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(t(kernel[:, order].T))
        rnn.weight_hh_l0.copy_(t(recurrent[:, order].T))
        rnn.bias_ih_l0.copy_(t(b_ih[order]))
        rnn.bias_hh_l0.copy_(t(b_hh[order]))
    return rnn


def _keras_recurrent(layer, x: np.ndarray):
    layer.build(x.shape)
    layer.set_weights([data(*w.shape, seed=k) * 0.5 for k, w in enumerate(layer.weights)])
    return layer


def test_embedding() -> None:
    x = np.array([[3, 0, 1], [2, 2, 0]])
    keras_table = keras.layers.Embedding(4, 2, mask_zero=True, dtype="float64")
    keras_table.build(x.shape)
    table = nn.Embedding(4, 2, padding_idx=0, dtype=torch.float64)
    with torch.no_grad():
        table.weight.copy_(t(keras_table.embeddings.numpy()))  # the same (V, D) table
    agree(keras_table(x), table(t(x)))
    assert keras_table.compute_mask(x).numpy().tolist() == (x != 0).tolist()
    table(t(x)).sum().backward()
    assert table.weight.grad[0].abs().max() == 0  # padding_idx: row 0 never learns


def test_simple_rnn() -> None:
    x = data(2, 5, 3)
    layer = _keras_recurrent(keras.layers.SimpleRNN(4, return_sequences=True,
                                                    dtype="float64"), x)
    agree(layer(x), _rnn_like(layer, nn.RNN)(t(x))[0])


def test_lstm() -> None:
    x = data(2, 5, 3)
    layer = _keras_recurrent(keras.layers.LSTM(4, return_sequences=True, return_state=True,
                                               dtype="float64"), x)
    output, h, c = layer(x)
    torch_output, (h_n, c_n) = _rnn_like(layer, nn.LSTM)(t(x))
    agree(output, torch_output)
    agree(h, h_n[0])
    agree(c, c_n[0])
    last = keras.layers.LSTM(4, dtype="float64")  # Keras's default: the last step only
    last.build(x.shape)
    last.set_weights(layer.get_weights())
    agree(last(x), torch_output[:, -1])


def test_gru() -> None:
    x = data(2, 5, 3)
    layer = _keras_recurrent(keras.layers.GRU(4, return_sequences=True, dtype="float64"), x)
    agree(layer(x), _rnn_like(layer, nn.GRU, gates=(1, 0, 2))(t(x))[0])  # (z, r, h) → (r, z, n)
    unswapped = _rnn_like(layer, nn.GRU)(t(x))[0].detach().numpy()
    assert np.abs(unswapped - layer(x).numpy()).max() > 1e-3


def test_bidirectional() -> None:
    x = data(2, 5, 3)
    wrapper = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True,
                                                           dtype="float64"), dtype="float64")
    wrapper.build(x.shape)
    wrapper.set_weights([data(*w.shape, seed=k) * 0.5 for k, w in enumerate(wrapper.weights)])
    forward = _rnn_like(wrapper.forward_layer, nn.LSTM)  # Keras: the forward layer's three
    backward = _rnn_like(wrapper.backward_layer, nn.LSTM)  # weights, then the backward's
    rnn = nn.LSTM(3, 4, batch_first=True, bidirectional=True, dtype=torch.float64)
    with torch.no_grad():
        for name, tensor in forward.named_parameters():
            getattr(rnn, name).copy_(tensor)
            getattr(rnn, f"{name}_reverse").copy_(getattr(backward, name))
    output, (h_n, _) = rnn(t(x))
    agree(wrapper(x), output)  # every step: [forward, backward], both in time order
    last = keras.layers.Bidirectional(keras.layers.LSTM(4, dtype="float64"), dtype="float64")
    last.build(x.shape)
    last.set_weights(wrapper.get_weights())
    agree(last(x), torch.cat((h_n[0], h_n[1]), dim=-1))  # each direction's final state
    assert np.abs(last(x).numpy() - output[:, -1].detach().numpy()).max() > 1e-2
    summed = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True,
                                                          dtype="float64"),
                                        merge_mode="sum", dtype="float64")
    summed.build(x.shape)
    summed.set_weights(wrapper.get_weights())
    agree(summed(x), output[..., :4] + output[..., 4:])


def test_time_distributed() -> None:
    x = data(2, 5, 3)
    dense = keras_dense(4, x[:, 0])
    # the wrapper has a dtype policy of its own: float32 (casting x) unless told
    agree(keras.layers.TimeDistributed(dense, dtype="float64")(x), linear_like(dense)(t(x)))
    agree(dense(x), linear_like(dense)(t(x)))  # a Dense on a sequence acts at every step


def test_multi_head_attention() -> None:
    x = data(2, 4, 6)
    keras_attention = keras.layers.MultiHeadAttention(2, 3, dtype="float64")
    keras_attention.build(x.shape, x.shape)
    keras_attention.set_weights([data(*w.shape, seed=k) * 0.5
                                 for k, w in enumerate(keras_attention.weights)])
    attend = np.tril(np.ones((2, 4, 4), bool))
    q, k, v, out = (keras_attention.query_dense, keras_attention.key_dense,
                    keras_attention.value_dense, keras_attention.output_dense)
    attention = nn.MultiheadAttention(6, 2, batch_first=True, dtype=torch.float64)
    with torch.no_grad():  # (E, H, Dh) kernels → one packed (3E, E) in_proj_weight
        attention.in_proj_weight.copy_(t(np.concatenate(
            [d.kernel.numpy().reshape(6, 6).T for d in (q, k, v)])))
        attention.in_proj_bias.copy_(t(np.concatenate(
            [d.bias.numpy().reshape(6) for d in (q, k, v)])))
        attention.out_proj.weight.copy_(t(out.kernel.numpy().reshape(6, 6).T))
        attention.out_proj.bias.copy_(t(out.bias.numpy()))
    blocked = ~t(attend).repeat_interleave(2, dim=0)  # torch: True = blocked, one per head
    expected = keras_attention(x, x, attention_mask=attend).numpy()
    # float32's bound: Keras on TF rounds its scale 1/√Dh through float32 (~1e-8 here)
    agree(expected, attention(t(x), t(x), t(x), attn_mask=blocked)[0], dtype="float32")


def test_cross_attention() -> None:
    query, value, key = data(2, 3, 6), data(2, 5, 4, seed=1), data(2, 5, 3, seed=2)
    keras_attention = keras.layers.MultiHeadAttention(3, key_dim=2, dtype="float64")
    keras_attention.build(query.shape, value.shape, key.shape)
    keras_attention.set_weights([data(*w.shape, seed=k) * 0.5
                                 for k, w in enumerate(keras_attention.weights)])
    q, k, v, out = (keras_attention.query_dense, keras_attention.key_dense,
                    keras_attention.value_dense, keras_attention.output_dense)
    # kdim, vdim ≠ E: three weights (E, E_in), not one in_proj_weight; heads of 6/3 = 2
    attention = nn.MultiheadAttention(6, 3, kdim=3, vdim=4, batch_first=True,
                                      dtype=torch.float64)
    with torch.no_grad():
        for weight, d in ((attention.q_proj_weight, q), (attention.k_proj_weight, k),
                          (attention.v_proj_weight, v)):
            weight.copy_(t(d.kernel.numpy().reshape(weight.shape[1], 6).T))
        attention.in_proj_bias.copy_(t(np.concatenate(
            [d.bias.numpy().reshape(6) for d in (q, k, v)])))
        attention.out_proj.weight.copy_(t(out.kernel.numpy().reshape(6, 6).T))
        attention.out_proj.bias.copy_(t(out.bias.numpy()))
    future = torch.ones(3, 5, dtype=torch.bool).triu(1)  # torch: True = blocked
    expected = keras_attention(query, value, key=key, use_causal_mask=True).numpy()
    # float32's bound: Keras on TF rounds its scale 1/√Dh through float32 (~1e-8 here)
    agree(expected, attention(t(query), t(key), t(value), attn_mask=future)[0],
          dtype="float32")
    unmasked = keras_attention(query, value, key=key).numpy()
    assert not np.allclose(unmasked, expected)  # the causal mask matters here


def test_dot_product_attention() -> None:
    q, k, v = (data(2, 2, 4, 3, seed=s) for s in range(3))  # (N, H, T, d): torch's layout
    mask = np.tril(np.ones((4, 4), bool))
    heads_third = (0, 2, 1, 3)
    keras_out = keras.ops.dot_product_attention(
        *(x.transpose(heads_third) for x in (q, k, v)), mask=mask,
        scale=np.float64(1 / np.sqrt(3)))  # a NumPy float: no float32 rounding
    torch_out = F.scaled_dot_product_attention(t(q), t(k), t(v), attn_mask=t(mask))
    agree(keras_out.numpy().transpose(heads_third), torch_out)


def test_float64_layer() -> None:
    assert keras.layers.Dense(2).dtype == "float32"
    assert nn.Linear(3, 2).weight.dtype == torch.float32
    assert keras.layers.Dense(2, dtype="float64").dtype == "float64"
    assert nn.Linear(3, 2).double().weight.dtype == torch.float64


def test_batch_normalization() -> None:
    x = data(8, 3)
    layer = keras.layers.BatchNormalization(dtype="float64")
    module = nn.BatchNorm1d(3, momentum=1 - 0.99, eps=1e-3, dtype=torch.float64)
    agree(layer(x, training=True), module(t(x)))  # the batch's statistics, biased variance
    agree(layer.moving_mean, module.running_mean)
    # torch's running_var averages the unbiased variance n/(n − 1) σ², Keras's the biased one
    agree((layer.moving_variance.numpy() - 0.99) * 8 / 7, module.running_var.numpy() - 0.99)
    # called directly, Keras normalises with the moving statistics (inference)
    agree(layer(x), (x - layer.moving_mean.numpy()) / np.sqrt(layer.moving_variance + 1e-3))


def test_batch_normalization_2d() -> None:
    x = data(2, 3, 4, 5)  # (N, H, W, C)
    layer = keras.layers.BatchNormalization(dtype="float64")
    module = nn.BatchNorm2d(5, momentum=1 - 0.99, eps=1e-3, dtype=torch.float64)
    agree(layer(x, training=True), module(t(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1))
    agree(layer.moving_mean, module.running_mean)


def test_layer_normalization() -> None:
    x = data(4, 5)
    agree(keras.layers.LayerNormalization(dtype="float64")(x),
          nn.LayerNorm(5, eps=1e-3, dtype=torch.float64)(t(x)))
    assert nn.LayerNorm(5).eps == 1e-5


def test_activation_layer() -> None:
    x = data(4, 3)
    fused = keras_dense(2, x, activation="tanh")
    linear = linear_like(fused)
    linear_dense = keras_dense(2, x)  # the same weights, no activation
    agree(keras.layers.Activation("tanh", dtype="float64")(linear_dense(x)), fused(x))
    agree(fused(x), nn.Sequential(linear, nn.Tanh())(t(x)))


def test_relu6() -> None:
    x = 5 * data(4, 6)
    agree(keras.layers.ReLU(max_value=6, dtype="float64")(x), nn.ReLU6()(t(x)))
    agree(keras.layers.ReLU(max_value=2.5, dtype="float64")(x), nn.Hardtanh(0, 2.5)(t(x)))
    agree(keras.layers.ReLU(negative_slope=0.25, dtype="float64")(x), nn.LeakyReLU(0.25)(t(x)))


def test_leaky_relu_layer() -> None:
    x = data(4, 6).astype(np.float32)
    agree(keras.layers.LeakyReLU()(x), nn.LeakyReLU(0.3)(t(x)))
    assert nn.LeakyReLU().negative_slope == 0.01
    # float64: TF's kernel rounds the slope to float32, torch keeps 0.3 (here 4e-8 apart)
    x64 = -np.ones((1, 1))
    keras_side = keras.layers.LeakyReLU(dtype="float64")(x64).numpy()
    torch_side = nn.LeakyReLU(0.3)(t(x64)).numpy()
    np.testing.assert_array_equal(keras_side, -np.float64(np.float32(0.3)))
    np.testing.assert_array_equal(torch_side, -0.3)


def test_softmax_layer() -> None:
    x = data(2, 3, 4, 5)  # (N, H, W, C)
    agree(keras.layers.Softmax(dtype="float64")(x), nn.Softmax(dim=-1)(t(x)))
    agree(keras.layers.Softmax(dtype="float64")(x),
          nn.Softmax(dim=1)(t(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1))  # channels-first


def test_zero_padding_2d() -> None:
    x = data(2, 3, 4, 5)  # (N, H, W, C)
    keras_side = keras.layers.ZeroPadding2D(((1, 2), (3, 0)), dtype="float64")(x)
    torch_side = nn.ZeroPad2d((3, 0, 1, 2))(t(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    agree(keras_side, torch_side)
    assert keras_side.shape == (2, 6, 7, 5)


# the layers of upsampling paths (U-Net) and separable stacks (MobileNet)

def test_cropping_2d() -> None:
    x = data(2, 6, 7, 3)  # (N, H, W, C)
    keras_side = keras.layers.Cropping2D(((1, 2), (3, 1)), dtype="float64")(x)
    nchw = t(x).permute(0, 3, 1, 2)
    agree(keras_side, nn.ZeroPad2d((-3, -1, -1, -2))(nchw).permute(0, 2, 3, 1))
    agree(keras_side, nchw[:, :, 1:-2, 3:-1].permute(0, 2, 3, 1))
    assert keras_side.shape == (2, 3, 3, 3)


def test_upsampling_2d_bilinear() -> None:
    x = data(2, 3, 4, 2).astype(np.float32)
    keras_side = keras.layers.UpSampling2D((2, 3), interpolation="bilinear")(x)
    nchw = t(x).permute(0, 3, 1, 2)
    torch_side = nn.Upsample(scale_factor=(2, 3), mode="bilinear", align_corners=False)(nchw)
    agree(keras_side, torch_side.permute(0, 2, 3, 1))
    corners = nn.Upsample(scale_factor=(2, 3), mode="bilinear", align_corners=True)(nchw)
    assert np.abs(np.asarray(keras_side) - corners.permute(0, 2, 3, 1).numpy()).max() > 0.1


def test_conv2d_transpose_same() -> None:
    x = data(2, 5, 5, 3)
    layer = keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same", dtype="float64")
    keras_side = layer(x)
    kernel, bias = layer.get_weights()

    def transpose(**kw) -> nn.ConvTranspose2d:
        conv = nn.ConvTranspose2d(3, 4, 3, stride=2, dtype=torch.float64, **kw)
        with torch.no_grad():
            conv.weight.copy_(t(kernel.transpose(3, 2, 0, 1)))  # (k, k, out, in) → (in, out, k, k)
            conv.bias.copy_(t(bias))
        return conv
    nchw = t(x).permute(0, 3, 1, 2)
    agree(keras_side, transpose()(nchw)[:, :, :-1, :-1].detach().permute(0, 2, 3, 1))
    padded = transpose(padding=1, output_padding=1)(nchw).detach().permute(0, 2, 3, 1)
    assert padded.shape == keras_side.shape == (2, 10, 10, 4)
    assert np.abs(np.asarray(keras_side) - padded.numpy()).max() > 0.1


def test_separable_conv2d() -> None:
    x = data(2, 5, 6, 3)
    layer = keras.layers.SeparableConv2D(4, 3, depth_multiplier=2, dtype="float64")
    keras_side = layer(x)
    depthwise, pointwise, bias = layer.get_weights()  # (3, 3, 3, 2), (1, 1, 6, 4), (4,)
    module = nn.Sequential(nn.Conv2d(3, 3 * 2, 3, groups=3, bias=False, dtype=torch.float64),
                           nn.Conv2d(3 * 2, 4, 1, dtype=torch.float64))
    with torch.no_grad():  # channel c·m + j in both
        module[0].weight.copy_(t(depthwise.reshape(3, 3, 6).transpose(2, 0, 1)[:, None]))
        module[1].weight.copy_(t(pointwise.transpose(3, 2, 0, 1)))
        module[1].bias.copy_(t(bias))
    agree(keras_side, module(t(x).permute(0, 3, 1, 2)).detach().permute(0, 2, 3, 1))
def test_reshape() -> None:
    pooled = data(2, 4)  # (N, C) after a global pooling
    agree(keras.layers.Reshape((1, 1, 4), dtype="float64")(pooled),
          nhwc(nn.Unflatten(1, (4, 1, 1))(t(pooled))))  # (C, 1, 1): channels-first
    x = data(2, 2, 3, 4)  # (N, H, W, C): here the same numbers reshape differently
    keras_side = keras.layers.Reshape((6, 4), dtype="float64")(x).numpy()
    assert not np.allclose(keras_side, nchw(x).reshape(2, 6, 4).numpy())
    agree(keras_side, nchw(x).permute(0, 2, 3, 1).reshape(2, 6, 4))  # Keras's layout first


def test_permute() -> None:
    x = data(2, 3, 4, 5)  # (N, H, W, C)
    keras_side = keras.layers.Permute((2, 1, 3), dtype="float64")(x)  # swap H and W
    agree(keras_side, nhwc(nchw(x).permute(0, 1, 3, 2)))  # (N, C, H, W): W and H are 3, 2
    assert keras_side.shape == (2, 4, 3, 5)


def test_rescaling() -> None:
    x = np.random.default_rng(0).integers(0, 256, (2, 3)).astype(np.float64)
    agree(keras.layers.Rescaling(1 / 127.5, -1.0, dtype="float32")(x.astype(np.float32)),
          t(x).float() * (1 / 127.5) - 1.0)
    keras_side = keras.layers.Rescaling(1 / 255, dtype="float64")(x).numpy()
    np.testing.assert_array_equal(keras_side, x * np.float64(np.float32(1 / 255)))  # TF
    np.testing.assert_array_equal((t(x) * (1 / 255)).numpy(), x * (1 / 255))  # torch
    agree(keras.layers.Rescaling(np.float64(1 / 255), dtype="float64")(x), t(x) * (1 / 255))


def test_normalization() -> None:
    x = data(3, 2)
    m, v = np.array([0.5, -1.0]), np.array([4.0, 0.0])  # a zero variance: divided by 1e-7
    keras_side = keras.layers.Normalization(mean=m, variance=v, dtype="float64")(x)
    agree(keras_side, (t(x) - t(m)) / t(v).sqrt().clamp_min(1e-7))
    assert np.abs(keras_side.numpy()[:, 1]).max() > 1e5
    norm = nn.BatchNorm1d(2, affine=False, dtype=torch.float64).eval()
    norm.running_mean.copy_(t(m)), norm.running_var.copy_(t(v))
    assert np.abs(norm(t(x)).numpy()[:, 1]).max() < 1e3  # √(v + eps): not Keras's


def test_global_max_pooling_2d() -> None:
    x = data(2, 3, 4, 5)
    agree(keras.layers.GlobalMaxPooling2D(dtype="float64")(x),
          nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten())(nchw(x)))
    tied = np.zeros((1, 2, 2, 1))  # four equal cells: who gets the gradient
    xt = tf.constant(tied)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        value = tf.reduce_sum(keras.layers.GlobalMaxPooling2D(dtype="float64")(xt))
    np.testing.assert_array_equal(tape.gradient(value, xt).numpy().ravel(), [0.25] * 4)
    for pool, expected in ((nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten()),
                            [1, 0, 0, 0]), (lambda x: x.amax(dim=(2, 3)), [0.25] * 4)):
        x_torch = nchw(tied).detach().requires_grad_()
        pool(x_torch).sum().backward()
        np.testing.assert_array_equal(x_torch.grad.numpy().ravel(), expected)


def test_global_average_pooling_1d() -> None:
    x = data(2, 5, 3)  # (N, L, C)
    agree(keras.layers.GlobalAveragePooling1D(dtype="float64")(x),
          nn.Sequential(nn.AdaptiveAvgPool1d(1), nn.Flatten())(t(x).permute(0, 2, 1)))
    agree(keras.layers.GlobalAveragePooling1D(dtype="float64")(x), t(x).permute(0, 2, 1)
          .mean(dim=2))


def test_l2_regularizer() -> None:
    x, y = data(4, 3), data(4, 2, seed=3)
    layer = keras_dense(2, x, kernel_regularizer=keras.regularizers.L2(0.125))
    linear = linear_like(layer)
    with tf.GradientTape() as tape:
        loss = keras.losses.MeanSquaredError(dtype="float64")(y, layer(x)) + sum(layer.losses)
    kernel_grad, bias_grad = tape.gradient(loss, [layer.kernel, layer.bias])
    (F.mse_loss(linear(t(x)), t(y)) + 0.125 * (linear.weight ** 2).sum()).backward()
    agree(kernel_grad, linear.weight.grad.T, kind="gradient")
    agree(bias_grad, linear.bias.grad, kind="gradient")


# ── activations ──────────────────────────────────────────────────────────────────────────

def _activation(keras_fn, torch_fn, **kw) -> None:
    z = 3 * data(4, 5)
    agree(keras_fn(z), torch_fn(t(z)), **kw)


def test_sigmoid() -> None:
    _activation(keras.activations.sigmoid, nn.Sigmoid())
    _activation(tf.nn.sigmoid, torch.sigmoid)


def test_tanh() -> None:
    _activation(keras.activations.tanh, nn.Tanh())


def test_relu() -> None:
    _activation(keras.activations.relu, nn.ReLU())
    z = tf.Variable([0.0])
    with tf.GradientTape() as tape:
        y = keras.activations.relu(z)
    w = torch.zeros(1, requires_grad=True)
    torch.relu(w).backward()
    assert tape.gradient(y, z).numpy()[0] == w.grad.item() == 0.0


def test_leaky_relu() -> None:
    z = np.array([-2.0, 3.0])
    assert keras.layers.LeakyReLU()(z).numpy()[0] == pytest.approx(-0.6)  # slope 0.3
    assert keras.activations.leaky_relu(z).numpy()[0] == pytest.approx(-0.4)  # slope 0.2
    assert nn.LeakyReLU()(t(z))[0].item() == pytest.approx(-0.02)  # slope 0.01
    _activation(keras.layers.LeakyReLU(negative_slope=0.01), nn.LeakyReLU())


def test_elu() -> None:
    _activation(keras.activations.elu, nn.ELU())


def test_softmax() -> None:
    _activation(keras.activations.softmax, nn.Softmax(dim=-1))


def test_softplus() -> None:
    _activation(keras.activations.softplus, nn.Softplus())
    z = np.array([20.5])  # above torch's threshold: z itself, log1p(e^−20.5) ≈ 1.2e-9 lost
    assert nn.Softplus()(t(z)).item() == 20.5 != keras.activations.softplus(z).numpy()[0]


def test_silu() -> None:
    _activation(keras.activations.silu, nn.SiLU())


def test_exponential() -> None:
    _activation(keras.activations.exponential, torch.exp)


def test_gelu() -> None:
    z = 3 * data(4, 5)
    exact, approximate = keras.activations.gelu(z), keras.activations.gelu(z, approximate=True)
    # TF's float64 kernels for both forms are good to about 1e-8, not to 1e-16
    assert np.max(np.abs(exact - nn.GELU()(t(z)).numpy())) < 1e-7
    assert np.max(np.abs(approximate - nn.GELU("tanh")(t(z)).numpy())) < 1e-7


# ── losses ───────────────────────────────────────────────────────────────────────────────

def _binary(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, (6, 3)).astype(np.float64), rng.uniform(0.05, 0.95, (6, 3))


def test_binary_crossentropy() -> None:
    y, p = _binary()
    keras_loss = keras.losses.BinaryCrossentropy(dtype="float64")(y, p)  # (y_true, y_pred)
    agree(keras_loss, nn.BCELoss()(t(p), t(y)), kind="loss")  # (input, target)
    agree(keras.losses.binary_crossentropy(y, p), F.binary_cross_entropy(
        t(p), t(y), reduction="none").mean(dim=-1), kind="loss")
    one = np.array([[1.0]])  # p = 0 for y = 1: Keras clips p to 1e-7, torch clamps log p
    clipped = keras.losses.BinaryCrossentropy(dtype="float64")(one, 0 * one).numpy()
    assert clipped == pytest.approx(-np.log(1e-7), 1e-6)  # 16.118
    assert nn.BCELoss()(t(0 * one), t(one)).item() == 100.0


def test_binary_crossentropy_from_logits() -> None:
    y, logits = _binary()[0], 3 * data(6, 3)
    agree(keras.losses.BinaryCrossentropy(from_logits=True, dtype="float64")(y, logits),
          nn.BCEWithLogitsLoss()(t(logits), t(y)), kind="loss")


def _classes(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4, 6), 3 * rng.standard_normal((6, 4))


def test_categorical_crossentropy() -> None:
    k, logits = _classes()
    p = tf.nn.softmax(logits).numpy()
    agree(keras.losses.CategoricalCrossentropy(dtype="float64")(np.eye(4)[k], p),
          nn.NLLLoss()(torch.log(t(p)), t(k)), kind="loss")


def test_categorical_crossentropy_from_logits() -> None:
    k, logits = _classes()
    keras_loss = keras.losses.CategoricalCrossentropy(from_logits=True, dtype="float64")(
        np.eye(4)[k], logits)
    agree(keras_loss, nn.CrossEntropyLoss()(t(logits), t(k)), kind="loss")
    agree(keras_loss, F.cross_entropy(t(logits), t(np.eye(4)[k])), kind="loss")  # one-hot


def test_sparse_from_logits() -> None:
    k, logits = _classes()
    agree(keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")(k, logits),
          nn.CrossEntropyLoss()(t(logits), t(k.astype(np.int64))), kind="loss")


def test_loss_dtype() -> None:
    y, p = data(5, 2), data(5, 2, seed=1)
    assert keras.losses.MeanSquaredError()(y, p).dtype == tf.float32  # floatx, not y_pred's
    assert keras.losses.MeanSquaredError(dtype="float64")(y, p).dtype == tf.float64
    assert nn.MSELoss()(t(p), t(y)).dtype == torch.float64  # the input's
    agree(keras.losses.MeanSquaredError(dtype="float64")(y, p), nn.MSELoss()(t(p), t(y)),
          kind="loss")


def test_mean_squared_error() -> None:
    y, p = data(5, 2), data(5, 2, seed=1)
    agree(keras.losses.MeanSquaredError(dtype="float64")(y, p), nn.MSELoss()(t(p), t(y)),
          kind="loss")
    per_sample = keras.losses.MSE(y, p)
    assert per_sample.shape == (5,)
    agree(per_sample, F.mse_loss(t(p), t(y), reduction="none").mean(dim=-1), kind="loss")


def test_mean_absolute_error() -> None:
    y, p = data(5, 2), data(5, 2, seed=1)
    agree(keras.losses.MeanAbsoluteError(dtype="float64")(y, p), nn.L1Loss()(t(p), t(y)),
          kind="loss")


def test_msle() -> None:
    rng = np.random.default_rng(0)
    y, p = rng.uniform(0, 3, (5, 2)), rng.uniform(0, 3, (5, 2))
    agree(keras.losses.MeanSquaredLogarithmicError(dtype="float64")(y, p),
          F.mse_loss(torch.log1p(t(p)), torch.log1p(t(y))), kind="loss")


def test_huber() -> None:
    y, p = data(5, 2), 2 * data(5, 2, seed=1)
    keras_loss = keras.losses.Huber(delta=0.5, dtype="float64")(y, p)
    agree(keras_loss, nn.HuberLoss(delta=0.5)(t(p), t(y)), kind="loss")
    agree(keras_loss, 0.5 * nn.SmoothL1Loss(beta=0.5)(t(p), t(y)), kind="loss")


# ── optimizers ───────────────────────────────────────────────────────────────────────────

def _steps(keras_optimizer, torch_optimizer, steps: int = 3):
    """Both optimizers stepping one weight vector on the same gradients."""
    grads = [data(4, seed=s) for s in range(steps)]
    w = tf.Variable(data(4, seed=9))
    p = nn.Parameter(t(data(4, seed=9)))
    opt = torch_optimizer([p])
    for g in grads:
        keras_optimizer.apply_gradients([(tf.constant(g), w)])
        p.grad = t(g).clone()
        opt.step()
    return w.numpy(), p.detach().numpy()


def test_sgd() -> None:
    assert keras.optimizers.SGD().learning_rate.numpy() == pytest.approx(0.01)
    # 0.25 is exact in float32, where Keras keeps the rate
    agree(*_steps(keras.optimizers.SGD(0.25), lambda ps: torch.optim.SGD(ps, lr=0.25)))


def test_sgd_momentum() -> None:
    agree(*_steps(keras.optimizers.SGD(0.25, momentum=0.5),
                  lambda ps: torch.optim.SGD(ps, lr=0.25, momentum=0.5)))


def test_adam() -> None:
    a, b = _steps(keras.optimizers.Adam(0.125), lambda ps: torch.optim.Adam(ps, lr=0.125))
    # Keras rounds β₁, β₂ through float32 and places ε before the bias correction
    assert 0 < np.max(np.abs(a - b)) < 1e-4
    assert keras.optimizers.Adam().epsilon == 1e-7
    assert torch.optim.Adam([nn.Parameter(torch.zeros(1))]).defaults["eps"] == 1e-8


def test_adamw() -> None:
    assert keras.optimizers.AdamW().weight_decay == pytest.approx(0.004)
    assert torch.optim.AdamW([nn.Parameter(torch.zeros(1))]).defaults["weight_decay"] == 0.01
    a, b = _steps(keras.optimizers.AdamW(0.125, weight_decay=0.0625, epsilon=1e-8),
                  lambda ps: torch.optim.AdamW(ps, lr=0.125, weight_decay=0.0625))
    assert 0 < np.max(np.abs(a - b)) < 1e-4  # as for Adam


def test_apply_gradients() -> None:
    x, y = data(6, 3), data(6, 2, seed=3)
    model, module = _models(x)
    with tf.GradientTape() as tape:
        loss = keras.losses.MeanSquaredError(dtype="float64")(y, model(x))
    grads = tape.gradient(loss, model.trainable_variables)
    keras.optimizers.SGD(0.25).apply_gradients(
        zip(grads, model.trainable_variables, strict=True))
    optimizer = torch.optim.SGD(module.parameters(), lr=0.25)
    optimizer.zero_grad()
    nn.MSELoss()(module(t(x)), t(y)).backward()
    optimizer.step()
    agree(model(x), module(t(x)))


def test_learning_rate() -> None:
    optimizer = keras.optimizers.SGD(0.1)
    param_groups = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1).param_groups
    assert float(optimizer.learning_rate.numpy()) == float(np.float32(0.1)) != 0.1
    assert param_groups[0]["lr"] == 0.1


def test_weight_decay() -> None:
    # no gradient: only the decay moves the weights (0.25 and 0.5 are exact in float32)
    w, p = tf.Variable(data(4, seed=9)), nn.Parameter(t(data(4, seed=9)))
    keras.optimizers.SGD(0.25, weight_decay=0.5).apply_gradients([(tf.zeros(4, "float64"), w)])
    p.grad = torch.zeros(4, dtype=torch.float64)
    torch.optim.SGD([p], lr=0.25, weight_decay=0.5).step()
    agree(w.numpy(), p)  # one step from a zero gradient: both shrink by 1 − ηλ
    a, b = _steps(keras.optimizers.SGD(0.25, momentum=0.5, weight_decay=0.5),
                  lambda ps: torch.optim.SGD(ps, lr=0.25, momentum=0.5, weight_decay=0.5))
    assert np.max(np.abs(a - b)) > 1e-3  # with momentum, decoupled and coupled part


def _clipped(keras_optimizer, clip) -> tuple[np.ndarray, np.ndarray]:
    grads = [data(3, seed=1) * 4, data(2, seed=2) / 4]
    variables = [tf.Variable(np.zeros_like(g)) for g in grads]
    keras_optimizer.apply_gradients(zip([tf.constant(-g) for g in grads], variables,
                                        strict=True))  # SGD(1.0) from 0: p = clip(g)
    params = [nn.Parameter(torch.zeros(len(g), dtype=torch.float64)) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = t(g).clone()
    clip(params)
    return (np.concatenate([v.numpy() for v in variables]),
            np.concatenate([p.grad.numpy() for p in params]))


def test_clipnorm() -> None:
    keras_side, torch_side = _clipped(keras.optimizers.SGD(1.0, clipnorm=1.0),
                                      lambda ps: [nn.utils.clip_grad_norm_(p, 1.0) for p in ps])
    agree(keras_side, torch_side, dtype="float32")  # torch's 1e-6 (next row): float32 level


def test_global_clipnorm() -> None:
    keras_side, torch_side = _clipped(keras.optimizers.SGD(1.0, global_clipnorm=1.0),
                                      lambda ps: nn.utils.clip_grad_norm_(ps, 1.0))
    norm = np.linalg.norm(torch_side)
    assert np.linalg.norm(keras_side) == pytest.approx(1.0, rel=1e-15)
    assert 0 < 1.0 - norm < 1e-6  # c ‖g‖ / (‖g‖ + 1e-6)


def test_clipvalue() -> None:
    agree(*_clipped(keras.optimizers.SGD(1.0, clipvalue=0.5),
                    lambda ps: nn.utils.clip_grad_value_(ps, 0.5)))


def _torch_rates(make, steps: int = 8) -> list[float]:
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.5)
    scheduler, rates = make(opt), []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()  # per batch, as Keras's schedule moves
    return rates


def test_exponential_decay() -> None:
    schedule = keras.optimizers.schedules.ExponentialDecay(0.5, 2, 0.25)
    agree([schedule(s) for s in range(8)],
          _torch_rates(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.25 ** (1 / 2))),
          dtype="float32")  # Keras computes η in float32


def test_piecewise_constant_decay() -> None:
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([2], [0.5, 0.25])
    agree([schedule(s) for s in range(8)],
          _torch_rates(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [3], gamma=0.5)))


def test_cosine_decay() -> None:
    schedule = keras.optimizers.schedules.CosineDecay(0.5, 4)
    rates = _torch_rates(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4))
    agree([schedule(s) for s in range(5)], rates[:5], dtype="float32")
    assert float(schedule(7)) == 0.0 and rates[7] > 0.4  # Keras stays down; torch climbs


# ── training ─────────────────────────────────────────────────────────────────────────────

def test_fit() -> None:
    x, y = data(8, 3), data(8, 2, seed=3)
    model, module = _models(x)
    model.compile(optimizer=keras.optimizers.SGD(0.25),
                  loss=keras.losses.MeanSquaredError(dtype="float64"))
    model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    loss_fn, optimizer = nn.MSELoss(), torch.optim.SGD(module.parameters(), lr=0.25)
    for _ in range(2):
        for start in (0, 4):
            xb, yb = t(x[start:start + 4]), t(y[start:start + 4])
            optimizer.zero_grad()
            loss_fn(module(xb), yb).backward()
            optimizer.step()
    # fit casts float64 arrays to floatx (float32) first: float32 agreement, not float64
    agree(model.predict(x, verbose=0), module(t(x)), kind="gradient", dtype="float32")


def test_evaluate() -> None:
    x, y = data(8, 3), data(8, 2, seed=3)
    model, module = _models(x)
    model.compile(loss=keras.losses.MeanSquaredError(dtype="float64"))
    with torch.no_grad():
        loss = nn.MSELoss()(module(t(x)), t(y))
    assert not loss.requires_grad
    agree(model.evaluate(x, y, verbose=0), loss, kind="loss", dtype="float32")  # floatx input


def test_predict() -> None:
    x = data(40, 3)
    model, module = _models(x)
    module.eval()
    with torch.no_grad():
        out = module(t(x))
    predicted = model.predict(x, verbose=0)  # casts x to floatx (float32) first
    assert isinstance(predicted, np.ndarray) and isinstance(out, torch.Tensor)
    agree(predicted, out, dtype="float32")
    agree(model(x), out)  # calling the model keeps float64


def test_training_flag() -> None:
    x = data(50, 3)
    model = keras.Sequential([keras.layers.Dense(40, dtype="float64"),
                              keras.layers.Dropout(0.5, seed=0)])
    model.build(x.shape)
    module = nn.Sequential(linear_like(model.layers[0]), nn.Dropout(0.5))
    agree(model(x, training=False), module.eval()(t(x)))  # dropout off on both sides
    torch.manual_seed(0)
    for training in (model(x, training=True).numpy(), module.train()(t(x)).detach().numpy()):
        assert 0.4 < np.mean(training == 0) < 0.6  # on: about half the units dropped


# ── autodiff and variables ───────────────────────────────────────────────────────────────

def test_gradient_tape() -> None:
    x, y = data(6, 3), data(6, 2, seed=3)
    model, module = _models(x)
    with tf.GradientTape() as tape:
        loss = keras.losses.MeanSquaredError(dtype="float64")(y, model(x))
    keras_grads = tape.gradient(loss, model.trainable_variables)
    nn.MSELoss()(module(t(x)), t(y)).backward()
    agree(keras_grads[0], module[0].weight.grad.T, kind="gradient")
    agree(keras_grads[3], module[2].bias.grad, kind="gradient")


def test_watch() -> None:
    x = tf.constant([2.0])
    with tf.GradientTape() as tape:
        y = x * x
    assert tape.gradient(y, x) is None  # a constant is not watched
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    w = torch.tensor([2.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        (w * w).sum().backward()
    w.requires_grad_()
    (w * w).sum().backward()
    agree(tape.gradient(y, x), w.grad)


def test_jacobian() -> None:
    z = data(3)
    zt = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(zt)
        y = tf.nn.softmax(zt)
    agree(tape.jacobian(y, zt), torch.autograd.functional.jacobian(
        lambda v: torch.softmax(v, dim=-1), t(z)), kind="gradient")


def test_variable() -> None:
    v = tf.Variable(data(3))
    p = nn.Parameter(t(data(3)))
    with tf.GradientTape() as tape:  # watched without asking
        y = tf.reduce_sum(v * v)
    (p * p).sum().backward()
    agree(tape.gradient(y, v), p.grad, kind="gradient")


def test_assign_sub() -> None:
    g = data(3, seed=1)
    v, w = tf.Variable(data(3)), t(data(3)).requires_grad_()
    w.grad = t(g)
    v.assign_sub(0.5 * g)
    with torch.no_grad():
        w -= 0.5 * w.grad
    agree(v, w)
    assert isinstance(v, tf.Variable) and w.is_leaf
    rebound = v - 0.5 * g  # what `w = w - lr * g` does
    assert not isinstance(rebound, tf.Variable)


def test_assign() -> None:
    v, w = tf.Variable(np.zeros(3)), torch.zeros(3, dtype=torch.float64, requires_grad=True)
    v.assign(data(3))
    with torch.no_grad():
        w.copy_(t(data(3)))
    agree(v, w)
    assert w.is_leaf and w.requires_grad


def test_stop_gradient() -> None:
    v, w = tf.Variable([3.0]), torch.tensor([3.0], requires_grad=True)
    with tf.GradientTape() as tape:
        y = v * tf.stop_gradient(v)
    (w * w.detach()).sum().backward()
    agree(tape.gradient(y, v), w.grad)


# ── data ─────────────────────────────────────────────────────────────────────────────────

def test_dataset_batch() -> None:
    x, y = data(10, 3), data(10, 2)
    keras_batches = list(tf.data.Dataset.from_tensor_slices((x, y)).batch(4))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(t(x), t(y)),
                                         batch_size=4)
    torch_batches = list(loader)
    assert [len(b[0]) for b in keras_batches] == [len(b[0]) for b in torch_batches] == [4, 4, 2]
    for (kx, ky), (px, py) in zip(keras_batches, torch_batches, strict=True):
        agree(kx, px)
        agree(ky, py)


def test_dataset_shuffle() -> None:
    x = np.arange(10.0)
    keras_order = [float(v) for v in tf.data.Dataset.from_tensor_slices(x).shuffle(10, seed=0)]
    loader = torch.utils.data.DataLoader(t(x), shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    torch_order = [float(v) for v in loader]
    assert sorted(keras_order) == sorted(torch_order) == list(x)  # both permutations of x
    assert keras_order != torch_order


# ── callbacks and saving ─────────────────────────────────────────────────────────────────

LOSSES = [1.0, 0.8, 0.81, 0.79, 0.85, 0.9, 0.7]  # best at epoch 3, then no improvement


def test_early_stopping() -> None:
    model, _ = _models(data(2, 3))
    model.stop_training = False  # what fit sets before the first epoch
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=2)
    stop.set_model(model)
    stop.on_train_begin()
    keras_epochs = 0
    for epoch, loss in enumerate(LOSSES):
        keras_epochs += 1
        stop.on_epoch_end(epoch, {"loss": loss})
        if model.stop_training:
            break
    best, waited, torch_epochs = float("inf"), 0, 0
    for loss in LOSSES:  # the loop a torch user writes
        torch_epochs += 1
        best, waited = (loss, 0) if loss < best else (best, waited + 1)
        if waited >= 2:
            break
    assert keras_epochs == torch_epochs == 6


def test_save_weights(tmp_path) -> None:
    x = data(4, 3)
    model, module = _models(x)
    model.save_weights(tmp_path / "m.weights.h5")
    torch.save(module.state_dict(), tmp_path / "m.pt")
    keras_copy, torch_copy = _models(x)
    keras_copy.load_weights(tmp_path / "m.weights.h5")
    torch_copy.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    agree(keras_copy(x), torch_copy(t(x)))


def test_load_weights(tmp_path) -> None:
    x = data(4, 3)
    model, module = _models(x)
    torch.save(module.state_dict(), tmp_path / "m.pt")
    state = torch.load(tmp_path / "m.pt", weights_only=True)
    model.layers[0].set_weights([state["0.weight"].numpy().T, state["0.bias"].numpy()])
    fresh = nn.Sequential(nn.Linear(3, 5, dtype=torch.float64), nn.Tanh(),
                          nn.Linear(5, 2, dtype=torch.float64))
    fresh.load_state_dict(state)
    agree(model(x), fresh(t(x)))


# ── initialisers ─────────────────────────────────────────────────────────────────────────

def _bounds(keras_init, torch_init, shape=(200, 300)) -> tuple[float, float]:
    w = torch.empty(shape[::-1], dtype=torch.float64)
    torch_init(w)
    return float(np.max(np.abs(keras_init(shape)))), float(w.abs().max())


def test_glorot_uniform() -> None:
    limit = np.sqrt(6 / (200 + 300))
    a, b = _bounds(keras.initializers.GlorotUniform(seed=0), nn.init.xavier_uniform_)
    assert 0.99 * limit < a <= limit and 0.99 * limit < b <= limit


def test_torch_linear_default() -> None:
    limit = 1 / np.sqrt(200)
    a, b = _bounds(keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform", seed=0),
                   lambda w: nn.init.kaiming_uniform_(w, a=np.sqrt(5)))
    assert 0.99 * limit < a <= limit and 0.99 * limit < b <= limit
    assert nn.Linear(200, 300).weight.abs().max().item() <= limit


def test_random_normal() -> None:
    keras_std = float(np.std(keras.initializers.RandomNormal(seed=0)((200, 300))))
    w = torch.empty(300, 200)
    torch_std = float(nn.init.normal_(w).std())
    assert keras_std == pytest.approx(0.05, rel=0.02) and torch_std == pytest.approx(1, rel=0.02)


def test_zeros() -> None:
    x = data(4, 3)
    layer = keras.layers.Dense(2)
    layer.build(x.shape)
    assert not np.any(layer.bias.numpy())
    agree(keras.initializers.Zeros()((3,)), nn.init.zeros_(torch.empty(3)))


# ── tensors ──────────────────────────────────────────────────────────────────────────────

def test_reduce_mean() -> None:
    x = data(4, 3)
    agree(tf.reduce_mean(x, axis=0), torch.mean(t(x), dim=0))


def test_reduce_sum() -> None:
    x = data(4, 3)
    agree(tf.reduce_sum(x, axis=-1), torch.sum(t(x), dim=-1))


def test_matmul() -> None:
    a, b = data(4, 3), data(3, 2)
    agree(tf.matmul(a, b), t(a) @ t(b))


def test_constant() -> None:
    x = data(2)
    assert tf.constant(x).dtype == tf.float64 and torch.as_tensor(x).dtype == torch.float64
    assert tf.constant(1.5).dtype == tf.float32 and torch.as_tensor(1.5).dtype == torch.float32
    agree(tf.convert_to_tensor(x), torch.as_tensor(x))


def test_to_numpy() -> None:
    w = t(data(3)).requires_grad_()
    with pytest.raises(RuntimeError, match="requires grad"):
        w.numpy()
    agree(tf.Variable(data(3)).numpy(), w.detach().numpy())


def test_one_hot() -> None:
    k = np.array([0, 2, 1])
    a, b = tf.one_hot(k, 3), F.one_hot(t(k), 3)
    assert a.dtype == tf.float32 and b.dtype == torch.int64
    agree(a.numpy().astype(np.float64), b.double())


def test_argmax() -> None:
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]])
    a, b = tf.argmax(x, axis=-1), torch.argmax(t(x), dim=-1)
    assert a.dtype == tf.int64 and b.dtype == torch.int64
    assert a.numpy().tolist() == b.tolist() == [1, 0]


def test_clip() -> None:
    x = 3 * data(4, 3)
    agree(tf.clip_by_value(x, -1.0, 1.0), torch.clamp(t(x), -1.0, 1.0))


def test_binary_accuracy() -> None:
    y, p = np.array([[1.0], [0.0], [1.0], [0.0]]), np.array([[0.9], [0.5], [0.2], [0.1]])
    metric = keras.metrics.BinaryAccuracy()
    metric.update_state(y, p)
    agree(np.float64(metric.result().numpy()), ((t(p) > 0.5) == t(y)).double().mean())
