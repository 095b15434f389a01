"""The layer protocol, and the two layers that prove it besides Dense: Flatten and Dropout."""

from __future__ import annotations

import numpy as np
import pytest

from reference import layers, layouts
from reference.layers import Dense, Dropout, Flatten, from_config
from reference.networks import Sequential


def test_flatten_lays_each_sample_out_row_major_and_backward_reshapes_back() -> None:
    x = np.arange(24.0).reshape(2, 3, 4)
    flatten = Flatten()
    y = flatten.forward(x)
    np.testing.assert_array_equal(y, [np.arange(12.0), np.arange(12.0, 24.0)])
    np.testing.assert_array_equal(flatten.backward(y), x)


def test_flatten_has_no_parameters_and_no_state() -> None:
    flatten = Flatten()
    assert flatten.parameters == {} and flatten.state == {} and flatten.gradients == {}


def test_dropout_in_inference_is_the_identity() -> None:
    x = np.random.default_rng(0).standard_normal((4, 5))
    dropout = Dropout(0.5, seed=1)
    np.testing.assert_array_equal(dropout.forward(x), x)
    np.testing.assert_array_equal(dropout.backward(np.ones_like(x)), np.ones_like(x))


def test_dropout_in_training_zeroes_or_scales_by_one_over_keep_probability() -> None:
    x = np.ones((200, 50))
    y = Dropout(0.25, seed=2).forward(x, training=True)
    assert set(np.unique(y)) == {0.0, 1.0 / 0.75}
    assert abs(np.mean(y == 0.0) - 0.25) < 0.01  # 10 000 draws: σ ≈ 0.004


def test_an_injected_mask_decides_what_is_dropped_and_what_the_gradient_sees() -> None:
    mask = np.array([[True, False, True], [False, True, True]])
    dropout = Dropout(0.5)
    dropout.mask = mask
    x = np.arange(1.0, 7.0).reshape(2, 3)
    np.testing.assert_array_equal(dropout.forward(x, training=True), np.where(mask, 2 * x, 0))
    np.testing.assert_array_equal(dropout.backward(np.ones((2, 3))), np.where(mask, 2.0, 0))
    np.testing.assert_array_equal(dropout.last_mask, mask)


def test_the_same_seed_drops_the_same_units() -> None:
    x = np.ones((3, 8))
    first = Dropout(0.5, seed=3).forward(x, training=True)
    np.testing.assert_array_equal(Dropout(0.5, seed=3).forward(x, training=True), first)


def test_a_noise_shape_shares_one_draw_along_its_ones() -> None:
    x = np.ones((200, 3, 4))
    y = Dropout(0.5, seed=4, noise_shape=(None, 1, 1)).forward(x, training=True)
    assert all(len(np.unique(sample)) == 1 for sample in y)  # each sample kept or dropped whole
    assert set(np.unique(y)) == {0.0, 2.0}


@pytest.mark.parametrize("noise_shape", [(None, 2), (None, 1, 1)])
def test_a_noise_shape_that_does_not_fit_the_input_is_refused(noise_shape) -> None:
    with pytest.raises(ValueError, match=r"noise_shape .* does not fit the input's shape "
                                         r"\(4, 3\)"):
        Dropout(0.5, noise_shape=noise_shape).forward(np.ones((4, 3)), training=True)


@pytest.mark.parametrize("rate", [-0.1, 1.0, "0.5", True])
def test_a_dropout_rate_outside_zero_to_one_is_refused(rate) -> None:
    with pytest.raises(ValueError, match=r"Dropout: rate must be a number in \[0, 1\)"):
        Dropout(rate)


def test_a_mask_of_the_wrong_shape_is_refused_with_both_shapes() -> None:
    dropout = Dropout(0.5)
    dropout.mask = np.ones((2, 2), bool)
    with pytest.raises(ValueError, match=r"mask.*\(2, 3\).*\(2, 2\)|mask.*\(2, 2\).*\(2, 3\)"):
        dropout.forward(np.ones((2, 3)), training=True)


def test_named_parameters_come_in_a_fixed_order_and_are_set_with_checks() -> None:
    dense = Dense(3, 2)
    assert list(dense.parameters) == ["W", "b"]
    dense.set("b", np.array([1.0, 2.0]))
    np.testing.assert_array_equal(dense.b, [1.0, 2.0])
    with pytest.raises(ValueError, match=r"b.*\(2,\)"):
        dense.set("b", np.ones(3))
    with pytest.raises(KeyError, match="no parameter or state named 'gamma'"):
        dense.set("gamma", np.ones(2))


def test_sequential_composes_any_layers_and_backpropagates_through_them() -> None:
    model = Sequential([Flatten(), Dense(6, 4, "tanh"), Dropout(0.5), Dense(4, 1)],
                       input_shape=(2, 3), seed=0)
    assert model.shapes == [(2, 3), (6,), (4,), (4,), (1,)]
    x = np.random.default_rng(1).standard_normal((5, 2, 3))
    y = model.forward(x, training=False)
    dx = model.backward(np.ones_like(y))
    assert dx.shape == x.shape
    assert [list(g) for g in model.gradients] == [[], ["W", "b"], [], ["W", "b"]]


def test_a_first_layer_that_does_not_fix_its_input_needs_an_input_shape() -> None:
    with pytest.raises(ValueError, match=r"Sequential: the first layer \(Flatten\) does not fix "
                                         r"its input shape; pass input_shape"):
        Sequential([Flatten(), Dense(6, 1)])


def test_a_flattened_width_that_the_next_dense_cannot_take_is_refused_at_build() -> None:
    with pytest.raises(ValueError, match=r"layer 0 \(Flatten\) outputs 6 features but layer 1 "
                                         r"\(Dense\(5, 1, identity\)\) cannot take them"):
        Sequential([Flatten(), Dense(5, 1)], input_shape=(2, 3))


@pytest.mark.parametrize("layer", [Dense(3, 2, "leaky_relu", dtype=np.float32), Flatten(),
                                   Dropout(0.3, seed=4)], ids=lambda layer: type(layer).__name__)
def test_config_rebuilds_the_same_layer(layer: layers.Layer) -> None:
    rebuilt = from_config(type(layer).__name__, layer.config())
    assert rebuilt.config() == layer.config()


def test_an_unknown_layer_kind_is_named_with_the_kinds_there_are() -> None:
    with pytest.raises(ValueError, match="unknown layer kind 'Conv9D'; the spec has Dense"):
        from_config("Conv9D", {})


# merge layers hold no weights and have no torch module: the graph converters write them
@pytest.mark.parametrize("kind", sorted(k for k, cls in layers.LAYERS.items() if not cls.merges))
def test_every_layer_kind_has_a_weight_layout_naming_its_own_arrays(kind: str) -> None:
    layout = layouts.layout(kind)
    layer_class = layers.LAYERS[kind]
    named = set(layer_class.parameter_names + layer_class.state_names)
    assert {name for row in layout.rows for name in row.spec_names} == named
