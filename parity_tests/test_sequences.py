"""Sequences across frameworks: the final states, the conventions that differ (two torch
biases, the GRU's gate order and reset_after, padding), each side shown, and the
character model ported from plain Keras layers to torch through the tables."""

from __future__ import annotations

import math

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework
from reference import registry
from reference.sequences import GRU, LSTM, Embedding, SimpleRNN

DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]
RECURRENT = [pytest.param(SimpleRNN, id="SimpleRNN"), pytest.param(LSTM, id="LSTM"),
             pytest.param(GRU, id="GRU")]


def _error(actual, expected, dtype=np.float64, kind: str = "output") -> float:
    from parity_tests.tolerances import tolerance
    return tolerance(dtype, kind).error(actual, expected) / tolerance(dtype, kind).rtol


def _layer(kind, dtype=np.float64, seed: int = 0, **options):
    layer = kind(3, 4, return_sequences=True, dtype=dtype, seed=seed, **options)
    rng = np.random.default_rng(seed)
    b = layer.parameters["b"]
    layer.set("b", rng.uniform(-0.5, 0.5, b.shape).astype(dtype))
    return layer


# ── Final states, from given initial states ─────────────────────────────────────────────


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", RECURRENT)
def test_final_states_and_their_gradients_from_given_initial_states(kind, dtype) -> None:
    """torch: ``rnn(x, h0)`` returns (output, h_n) (for the LSTM (h0, c0) and (h_n, c_n));
    Keras: ``layer(x, initial_state=[…])`` with ``return_state=True``."""
    torch, tf = framework("torch").torch, framework("tf").tf
    rng = np.random.default_rng(1)
    spec = _layer(kind, dtype)
    x = rng.standard_normal((2, 3, 3)).astype(dtype)
    states = tuple(rng.standard_normal((2, 4)).astype(dtype) for _ in range(spec.state_count))
    spec.initial_state = states
    y = spec.forward(x)
    spec.backward(np.ones_like(y))
    expected = (*spec.final_state, *spec.initial_state_gradients)

    rnn = framework("torch").impl.from_reference(spec)[0]  # nn.LSTM …
    h0 = [torch.from_numpy(s[None]).requires_grad_() for s in states]  # (layers, N, H)
    output, final = rnn(torch.from_numpy(x), tuple(h0) if kind is LSTM else h0[0])
    output.sum().backward()
    final = final if kind is LSTM else (final,)
    torch_found = (*(f[0].detach().numpy() for f in final), *(h.grad[0].numpy() for h in h0))

    keras_layer = framework("tf").impl.from_reference(spec)
    keras_layer.return_state = True
    h0 = [tf.constant(s) for s in states]
    with tf.GradientTape() as tape:
        tape.watch(h0)
        output, *final = keras_layer(tf.constant(x), initial_state=h0)
    tf_found = (*(f.numpy() for f in final), *(g.numpy() for g in tape.gradient(output, h0)))
    for found in (torch_found, tf_found):
        for a, e in zip(found, expected, strict=True):
            assert _error(a, e, dtype, "gradient") <= 1


# ── Biases: torch's two against Keras's one ─────────────────────────────────────────────


def test_torch_keeps_two_biases_that_the_table_maps_to_one_both_ways() -> None:
    torch = framework("torch").torch
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, batch_first=True, dtype=torch.float64)  # both biases random
    plain = torch.nn.Sequential(lstm, framework("torch").impl.sequences.RecurrentOutput())
    (spec,) = framework("torch").impl.to_reference(plain, input_shape=(5, 3)).layers
    np.testing.assert_array_equal(spec.parameters["b"],
                                  (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().numpy())
    x = np.random.default_rng(2).standard_normal((2, 5, 3))
    with torch.no_grad():
        expected = lstm(torch.from_numpy(x))[0].numpy()
    assert _error(spec.forward(x), expected) <= 1
    back = framework("torch").impl.from_reference(spec)[0]  # nn.LSTM …
    np.testing.assert_array_equal(back.bias_hh_l0.detach().numpy(), np.zeros(16))


def test_an_sgd_step_moves_torchs_bias_sum_twice_as_far_unless_b_hh_is_frozen() -> None:
    torch = framework("torch").torch
    spec = _layer(SimpleRNN)
    x = torch.from_numpy(np.random.default_rng(3).standard_normal((2, 5, 3)))
    moved = {}
    for frozen in (True, False):
        rnn = framework("torch").impl.from_reference(spec)[0]  # nn.LSTM …
        rnn.bias_hh_l0.requires_grad_(not frozen)
        optimizer = torch.optim.SGD(rnn.parameters(), lr=0.1)
        before = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().clone()
        rnn(x)[0].sum().backward()
        optimizer.step()
        moved[frozen] = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach() - before
    torch.testing.assert_close(moved[False], 2 * moved[True])
    assert framework("torch").impl.from_reference(spec)[0].bias_hh_l0.requires_grad is False


# ── GRU: the gate order and reset_after ─────────────────────────────────────────────────


def test_a_keras_gru_ported_to_torch_needs_its_gate_blocks_swapped() -> None:
    tf, torch = framework("tf").tf, framework("torch").torch
    import keras
    keras.utils.set_random_seed(0)
    keras_gru = keras.layers.GRU(4, return_sequences=True, dtype="float64")
    x = np.random.default_rng(4).standard_normal((2, 5, 3))
    expected = keras_gru(tf.constant(x)).numpy()
    keras_gru.cell.bias.assign(np.random.default_rng(5).uniform(-1, 1, (2, 12)))
    expected = keras_gru(tf.constant(x)).numpy()
    spec = framework("tf").impl.to_reference(keras_gru)
    module = framework("torch").impl.from_reference(spec)
    with torch.no_grad():
        assert _error(module(torch.from_numpy(x)).numpy(), expected) <= 1
        naive = torch.nn.GRU(3, 4, batch_first=True, dtype=torch.float64)
        naive.weight_ih_l0.copy_(torch.from_numpy(keras_gru.cell.kernel.numpy().T))
        naive.weight_hh_l0.copy_(torch.from_numpy(keras_gru.cell.recurrent_kernel.numpy().T))
        naive.bias_ih_l0.copy_(torch.from_numpy(keras_gru.cell.bias.numpy()[0]))
        naive.bias_hh_l0.copy_(torch.from_numpy(keras_gru.cell.bias.numpy()[1]))
        assert np.abs(naive(torch.from_numpy(x))[0].numpy() - expected).max() > 1e-2


@pytest.mark.parametrize("dtype", DTYPES)
def test_gru_reset_before_the_product_matches_keras_and_has_no_torch_module(dtype) -> None:
    tf = framework("tf").tf
    spec = _layer(GRU, dtype, reset_after=False)
    x = np.random.default_rng(6).standard_normal((2, 4, 3)).astype(dtype)
    y = spec.forward(x)
    dx = spec.backward(np.ones_like(y))
    keras_gru = framework("tf").impl.from_reference(spec)
    assert keras_gru.reset_after is False
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = keras_gru(xt)
    dxt, *grads = tape.gradient(out, [xt, *keras_gru.trainable_variables])
    assert _error(out.numpy(), y, dtype) <= 1 and _error(dxt.numpy(), dx, dtype) <= 1
    found = framework("tf").impl.convert.gradients_to_reference(keras_gru, grads)[0]
    for name, expected in spec.gradients.items():
        assert _error(found[name], expected, dtype, "gradient") <= 1
    with pytest.raises(TypeError, match=r"reset_after=False, which no torch module computes"):
        framework("torch").impl.from_reference(spec)


# ── Padding: Keras's mask_zero against torch's padding_idx ──────────────────────────────


def _padded() -> np.ndarray:
    return np.array([[3, 1, 0, 0], [2, 0, 4, 1]])  # 0: padding


@pytest.mark.parametrize("dtype", DTYPES)
def test_keras_mask_zero_carries_the_states_over_padding_like_the_spec(dtype) -> None:
    tf = framework("tf").tf
    spec = reference.Sequential([Embedding(5, 3, mask_zero=True, dtype=dtype),
                                 LSTM(3, 4, return_sequences=True, dtype=dtype)],
                                input_shape=(4,), seed=7)
    x = _padded()
    y = spec.forward(x)
    spec.backward(np.ones_like(y))
    model = framework("tf").impl.from_reference(spec)
    with tf.GradientTape() as tape:
        out = model(tf.constant(x))
    grads = tape.gradient(out, model.trainable_variables)
    assert _error(out.numpy(), y, dtype) <= 1
    found = framework("tf").impl.convert.gradients_to_reference(model, grads)
    for ours, theirs in zip(spec.gradients, found, strict=True):
        for name, expected in ours.items():
            assert _error(theirs[name], expected, dtype, "gradient") <= 1
    np.testing.assert_array_equal(y[0, 2], y[0, 1])  # padding repeats the last state
    # row 0 is trainable, but here only padding looks it up, and masked steps use no input
    assert np.abs(spec.gradients[0]["embeddings"][0]).max() == 0
    with pytest.raises(TypeError, match="mask_zero=True, Keras's convention; torch has no mask"):
        framework("torch").impl.from_reference(spec)


@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_padding_idx_masks_nothing_and_freezes_its_row_like_the_spec(dtype) -> None:
    torch = framework("torch").torch
    spec = reference.Sequential([Embedding(5, 3, padding_idx=0, dtype=dtype),
                                 LSTM(3, 4, return_sequences=True, dtype=dtype)],
                                input_shape=(4,), seed=8)
    spec.layers[0].set("embeddings", np.full((5, 3), 0.5, dtype))  # row 0 not zero
    x = _padded()
    y = spec.forward(x)
    spec.backward(np.ones_like(y))
    module = framework("torch").impl.from_reference(spec)
    out = module(torch.from_numpy(x))
    out.sum().backward()
    assert _error(out.detach().numpy(), y, dtype) <= 1
    assert not np.array_equal(y[0, 2], y[0, 1])  # no mask: the padding is an input like any
    assert module[0].weight.grad[0].abs().max() == 0
    assert np.abs(spec.gradients[0]["embeddings"][0]).max() == 0
    with pytest.raises(TypeError, match="padding_idx, torch's convention; Keras has none"):
        framework("tf").impl.from_reference(spec)


def test_keras_adam_squares_each_embedding_lookup_apart_unless_made_dense() -> None:
    tf = framework("tf").tf
    import keras
    slices = tf.IndexedSlices(tf.constant([[1.0], [2.0]], tf.float64), tf.constant([0, 0]),
                              tf.constant([2, 1]))
    second_moments = []
    for gradient in (slices, tf.convert_to_tensor(slices)):
        variable, adam = tf.Variable(np.zeros((2, 1))), keras.optimizers.Adam(0.1)
        adam.apply_gradients([(gradient, variable)])
        (velocity,) = [v for v in adam.variables if "velocity" in v.path]
        second_moments.append(velocity.numpy()[0, 0] / (1 - adam.beta_2))
    assert second_moments == pytest.approx([1.0**2 + 2.0**2, (1.0 + 2.0) ** 2])


# ── The character model: plain Keras layers, ported to torch through the tables ──────────


def test_the_keras_character_model_ported_to_torch_gives_the_same_logits() -> None:
    tf, torch = framework("tf").tf, framework("torch").torch
    import keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((25,), dtype="int64"),
                              keras.layers.Embedding(40, 16, dtype="float64"),
                              keras.layers.LSTM(32, return_sequences=True, dtype="float64"),
                              keras.layers.Dense(40, dtype="float64")])
    for variable in model.trainable_variables:  # biases too, so that they must match
        variable.assign(np.random.default_rng(9).uniform(-0.3, 0.3, variable.shape))
    x, _ = registry.char_sequences(3, 25, np.random.default_rng(10))
    expected = model(tf.constant(x)).numpy()
    spec = framework("tf").impl.to_reference(model)
    assert [type(layer).__name__ for layer in spec.layers] == ["Embedding", "LSTM",
                                                               "TimeDistributed"]
    module = framework("torch").impl.from_reference(spec)
    with torch.no_grad():
        assert _error(module(torch.from_numpy(x)).numpy(), expected) <= 1
    assert _error(spec.forward(x), expected) <= 1
    assert [type(m).__name__ for m in module] == ["Embedding", "LSTM", "RecurrentOutput",
                                                  "Linear"]  # TimeDistributed: nn.Linear
    back = framework("torch").impl.to_reference(module, input_shape=(25,))
    np.testing.assert_array_equal(back.layers[2].parameters["W"], spec.layers[2].parameters["W"])


# ── Attention: the function, mask polarity, the scale ───────────────────────────────────


def _qkv(dtype=np.float64):
    rng = np.random.default_rng(11)
    return tuple(rng.standard_normal((2, 2, 4, 3)).astype(dtype) for _ in range(3))


@pytest.mark.parametrize("dtype", DTYPES)
def test_scaled_dot_product_attention_with_a_mask_matches_in_all_three(fw, dtype) -> None:
    q, k, v = _qkv(dtype)
    mask = np.tril(np.ones((4, 4), bool))
    expected, _ = reference.sequences.scaled_dot_product_attention(q, k, v, mask)
    convert = fw.torch.from_numpy if fw.name == "torch" else fw.tf.constant
    found = fw.impl.sequences.scaled_dot_product_attention(*(convert(t) for t in (q, k, v)),
                                                          convert(mask))
    assert _error(found.numpy(), expected, dtype) <= 1


def test_torch_attention_masks_disagree_with_each_other_on_what_true_means() -> None:
    torch = framework("torch").torch
    q, k, v = (torch.from_numpy(t) for t in _qkv())
    causal = torch.tril(torch.ones(4, 4, dtype=torch.bool))
    functional = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=causal)
    expected, _ = reference.sequences.scaled_dot_product_attention(*_qkv(), causal.numpy())
    assert _error(functional.numpy(), expected) <= 1  # F.sdpa: True = attend
    module = torch.nn.MultiheadAttention(6, 2, batch_first=True, dtype=torch.float64)
    x = torch.from_numpy(np.random.default_rng(12).standard_normal((1, 4, 6)))
    blocked, _ = module(x, x, x, attn_mask=~causal)  # nn.MultiheadAttention: True = blocked
    attended, _ = module(x, x, x, attn_mask=causal)
    spec = reference.sequences.MultiHeadAttention(6, 2)
    (attention,) = framework("torch").impl.from_reference(spec)  # torch_impl.sequences.Attention
    attention.load_state_dict(module.state_dict())  # a subclass: the same keys
    found = attention(x, mask=causal[None])  # the spec's polarity, True = attend
    assert _error(found.detach().numpy(), blocked.detach().numpy()) <= 1
    assert not torch.allclose(attended, blocked)


def test_a_query_that_may_attend_to_nothing_gets_nan_zero_or_the_mean_of_the_values() -> None:
    """The spec: NaN (0/0, the NaN policy); torch's F.scaled_dot_product_attention: 0;
    Keras: −0.7·3.4e38 added to every score, so the softmax is uniform over them all."""
    torch, tf = framework("torch").torch, framework("tf").tf
    import keras
    q, k, v = _qkv()
    nothing = np.ones((4, 4), bool)
    nothing[0] = False
    out = torch.nn.functional.scaled_dot_product_attention(
        *(torch.from_numpy(t) for t in (q, k, v)), attn_mask=torch.from_numpy(nothing))
    spec, _ = reference.sequences.scaled_dot_product_attention(q, k, v, nothing)
    assert np.isnan(spec[..., 0, :]).all() and (out[..., 0, :] == 0).all()
    heads_third = (0, 2, 1, 3)
    keras_out = keras.ops.dot_product_attention(
        *(tf.constant(t.transpose(heads_third)) for t in (q, k, v)), mask=tf.constant(nothing))
    row = keras_out.numpy().transpose(heads_third)[..., 0, :]
    np.testing.assert_allclose(row, v.mean(axis=-2), rtol=1e-6)


def test_keras_rounds_the_attention_scale_through_float32_unless_given_a_tensor() -> None:
    tf = framework("tf").tf
    import keras
    q, k, v = _qkv()
    expected, _ = reference.sequences.scaled_dot_product_attention(q, k, v)
    heads_third = (0, 2, 1, 3)
    inputs = [tf.constant(t.transpose(heads_third)) for t in (q, k, v)]
    default = keras.ops.dot_product_attention(*inputs).numpy().transpose(heads_third)
    python_float = keras.ops.dot_product_attention(*inputs, scale=1 / math.sqrt(3.0))
    assert 1e-9 < np.abs(default - expected).max() < 1e-6
    assert 1e-9 < np.abs(python_float.numpy().transpose(heads_third) - expected).max()
    bridged = framework("tf").impl.sequences.scaled_dot_product_attention(q, k, v)
    assert _error(bridged.numpy(), expected) <= 1


def test_a_keras_loss_on_a_masked_output_averages_over_the_real_steps_only() -> None:
    """The mask of Embedding(mask_zero=True) reaches the model's output (the LSTM and the
    Dense pass it on), and a Keras loss object then leaves the padded steps out of its
    mean; the spec's loss, torch's and ``tf_impl.losses`` average over every step."""
    tf = framework("tf").tf
    import keras
    spec = reference.Sequential([Embedding(5, 3, mask_zero=True),
                                 LSTM(3, 4, return_sequences=True),
                                 reference.sequences.TimeDistributed(reference.Dense(4, 5))],
                                input_shape=(4,), seed=9)
    x, y = _padded(), np.array([[1, 2, 3, 4], [0, 1, 2, 3]])
    out = framework("tf").impl.from_reference(spec)(tf.constant(x))
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                            dtype="float64")(y, out)
    every_step = reference.losses.sparse_categorical_cross_entropy_with_logits(
        y, spec.forward(x))
    per_step = keras.losses.sparse_categorical_crossentropy(y, tf.identity(out),
                                                            from_logits=True).numpy()
    assert _error(float(keras_loss), per_step[x != 0].mean()) <= 1
    assert _error(float(framework("tf").impl.losses.sparse_categorical_cross_entropy_with_logits(
        tf.constant(y), out)), every_step) <= 1
    assert abs(float(keras_loss) - every_step) > 1e-4
