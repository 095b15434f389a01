"""MultiHeadAttention on a list: cross-attention, a key of its own, the causal mask and a
mask given as an input, in the spec alone (parity: parity_tests/test_graphs_conversion.py
and the registry's graph cases)."""

from __future__ import annotations

import numpy as np
import pytest

from reference import Input, Model
from reference.layers import from_config
from reference.sequences import MultiHeadAttention


def _layer(**options: object) -> MultiHeadAttention:
    return MultiHeadAttention(6, 2, seed=0, **options)


def test_self_attention_is_cross_attention_of_x_on_itself() -> None:
    x = np.random.default_rng(0).standard_normal((2, 4, 6))
    g = np.random.default_rng(1).standard_normal((2, 4, 6))
    alone, listed = _layer(), _layer()
    np.testing.assert_allclose(listed.forward([x, x, x]), alone.forward(x), rtol=1e-14)
    dq, dv, dk = listed.backward(g)
    np.testing.assert_allclose(dq + dv + dk, alone.backward(g), rtol=1e-12, atol=1e-14)


def test_without_a_key_the_value_is_the_key_and_gets_both_gradients() -> None:
    rng = np.random.default_rng(2)
    query, value = rng.standard_normal((2, 3, 6)), rng.standard_normal((2, 5, 6))
    g = rng.standard_normal((2, 3, 6))
    two, three = _layer(), _layer()
    np.testing.assert_array_equal(two.forward([query, value]),
                                  three.forward([query, value, value]))
    dq, dv = two.backward(g)
    dq3, dv3, dk3 = three.backward(g)
    np.testing.assert_array_equal(dq, dq3)
    np.testing.assert_allclose(dv, dv3 + dk3, rtol=1e-12, atol=1e-14)


def test_use_causal_mask_is_the_lower_triangle_aligned_at_the_top_left() -> None:
    rng = np.random.default_rng(3)
    query, value = rng.standard_normal((2, 3, 6)), rng.standard_normal((2, 5, 6))
    causal, masked = _layer(use_causal_mask=True), _layer()
    masked.mask = np.broadcast_to(np.tril(np.ones((3, 5), bool)), (2, 3, 5))
    np.testing.assert_array_equal(causal.forward([query, value]),
                                  masked.forward([query, value]))


def test_a_mask_given_as_the_fourth_input_is_the_mask_set_on_the_layer() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 6))
    mask = np.ones((2, 4, 4), bool)
    mask[1, :, -1] = False
    given, set_on = _layer(), _layer()
    set_on.mask = mask
    np.testing.assert_array_equal(given.forward([x, x, x, mask]), set_on.forward(x))
    assert given.backward(np.ones((2, 4, 6)))[3] is None  # booleans: no gradient


def test_a_graph_takes_the_mask_input_as_booleans() -> None:
    x, mask = Input((4, 6), name="x"), Input((4, 4), name="mask")
    model = Model([x, mask], _layer()([x, x, x, mask]))
    assert [model.input_kind(t) for t in model.inputs] == ["float", "mask"]
    with pytest.raises(ValueError, match="input 'mask' of integers must hold only 0"):
        model.forward([np.zeros((1, 4, 6)), np.full((1, 4, 4), 2)])


def test_key_and_value_of_other_widths_and_a_key_dim_of_its_own_round_trip_a_config() -> None:
    layer = MultiHeadAttention(6, 3, key_dim=4, key_features=3, value_features=5,
                               use_causal_mask=True)
    assert {name: value.shape for name, value in layer.parameters.items()} == {
        "query_kernel": (6, 3, 4), "query_bias": (3, 4), "key_kernel": (3, 3, 4),
        "key_bias": (3, 4), "value_kernel": (5, 3, 4), "value_bias": (3, 4),
        "output_kernel": (3, 4, 6), "output_bias": (6,)}
    assert from_config("MultiHeadAttention", layer.config()).config() == layer.config()
    assert MultiHeadAttention.array_shapes(layer.config()) == {
        name: list(value.shape) for name, value in layer.parameters.items()}
    assert "key_dim" not in MultiHeadAttention(6, 3).config()  # the defaults stay unsaid


def test_a_key_of_other_steps_than_the_value_is_refused_when_wired() -> None:
    query, value, key = Input((3, 6), name="q"), Input((5, 6), name="v"), Input((4, 6), name="k")
    with pytest.raises(ValueError, match=r"cross: called on .* which it cannot take: takes a "
                                         r"key of per-sample shape \(S, 6\), got \(4, 6\)"):
        MultiHeadAttention(6, 2, name="cross")([query, value, key])


def test_cross_attention_widths_on_one_x_are_refused_naming_the_layer() -> None:
    with pytest.raises(ValueError, match=r"cross: has key_features=3, value_features=6 .* "
                                         r"called on a list"):
        MultiHeadAttention(6, 2, key_features=3, name="cross").forward(np.zeros((1, 4, 6)))


def test_the_encoder_block_with_its_mask_input_round_trips_through_a_weight_file(
        tmp_path) -> None:
    from reference import load_weights, save_weights
    from reference.transformer import encoder_block

    model = encoder_block(padding_mask=True, seed=4)
    mask = np.ones((2, 5, 5), bool)
    mask[0, :, -2:] = False
    xs = [np.random.default_rng(5).standard_normal((2, 5, 6)), mask]
    save_weights(model, tmp_path / "block.npz")
    loaded = load_weights(tmp_path / "block.npz")
    assert loaded.wiring() == model.wiring()
    assert loaded.input_kind(loaded.inputs[1]) == "mask"
    np.testing.assert_array_equal(loaded.forward(xs), model.forward(xs))
