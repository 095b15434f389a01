"""The spec's BatchNormalization and LayerNormalization: the math by hand, and each
difference between torch's and Keras's conventions, in numbers."""

from __future__ import annotations

import numpy as np
import pytest

from reference import Dense, Sequential
from reference.layers import from_config
from reference.normalization import BatchNormalization, LayerNormalization, under

X = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 4.0], [7.0, 0.0]])  # per feature: μ = (4, 3)
BIASED = np.array([5.0, 5.0])  # Σ (x − μ)² / n
UNBIASED = BIASED * 4 / 3  # Σ (x − μ)² / (n − 1)
# ε must be > 0; the smallest normal float64 vanishes beside these variances, exactly.
NO_EPSILON = np.finfo(np.float64).tiny


def test_training_normalises_each_feature_with_the_batch_mean_and_biased_variance() -> None:
    bn = BatchNormalization(2, epsilon=NO_EPSILON)
    y = bn.forward(X, training=True)
    np.testing.assert_allclose(y, (X - [4.0, 3.0]) / np.sqrt(BIASED), rtol=1e-15)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose(y.var(axis=0), 1.0, rtol=1e-15)


def test_inference_uses_the_running_statistics_and_is_the_default() -> None:
    bn = BatchNormalization(2, epsilon=NO_EPSILON)
    bn.set("moving_mean", np.array([1.0, -1.0]))
    bn.set("moving_variance", np.array([4.0, 16.0]))
    np.testing.assert_array_equal(bn.forward(X), (X - [1.0, -1.0]) / [2.0, 4.0])
    np.testing.assert_array_equal(bn.state["moving_mean"], [1.0, -1.0])  # nothing moved


def test_torch_momentum_weights_the_new_value_and_keras_the_old_one() -> None:
    torch_bn = BatchNormalization(2, 0.1, convention="torch")
    keras_bn = BatchNormalization(2, 0.1, convention="keras")
    torch_bn.forward(X, training=True)
    keras_bn.forward(X, training=True)
    np.testing.assert_allclose(torch_bn.state["moving_mean"], 0.1 * np.array([4.0, 3.0]))
    np.testing.assert_allclose(keras_bn.state["moving_mean"], 0.9 * np.array([4.0, 3.0]))
    same_decay = BatchNormalization(2, 0.9, convention="keras")
    same_decay.forward(X, training=True)
    np.testing.assert_allclose(same_decay.state["moving_mean"], torch_bn.state["moving_mean"])


def test_the_defaults_are_each_frameworks() -> None:
    torch_bn, keras_bn = BatchNormalization(2), BatchNormalization(2, convention="keras")
    assert (torch_bn.momentum, torch_bn.epsilon) == (0.1, 1e-5)
    assert (keras_bn.momentum, keras_bn.epsilon) == (0.99, 1e-3)
    assert keras_bn.momentum_as("torch") == pytest.approx(0.01)
    assert LayerNormalization(2).epsilon == 1e-5
    assert LayerNormalization(2, convention="keras").epsilon == 1e-3


def test_torch_stores_the_unbiased_variance_keras_the_biased_one() -> None:
    torch_bn = BatchNormalization(2, 0.1, convention="torch")
    keras_bn = BatchNormalization(2, 0.9, convention="keras")
    y_torch = torch_bn.forward(X, training=True)
    y_keras = keras_bn.forward(X, training=True)
    np.testing.assert_allclose(torch_bn.state["moving_variance"], 0.9 + 0.1 * UNBIASED)
    np.testing.assert_allclose(keras_bn.state["moving_variance"], 0.9 + 0.1 * BIASED)
    # ... while both normalised the batch with the biased one: the outputs differ only by ε
    torch_bn.epsilon = keras_bn.epsilon
    np.testing.assert_array_equal(torch_bn.forward(X, training=True), y_keras)
    assert not np.array_equal(y_torch, y_keras)


def test_the_stored_variance_converts_as_is_but_the_updates_part() -> None:
    """A port copies running_var unchanged (both normalise with it at inference); only the
    next training step, n/(n − 1) against 1, tells the conventions apart."""
    keras_bn = BatchNormalization(2, 0.9, convention="keras")
    keras_bn.set("moving_variance", np.array([2.0, 3.0]))
    torch_bn = keras_bn.under("torch")
    np.testing.assert_array_equal(torch_bn.forward(X), keras_bn.forward(X))
    torch_bn.forward(X, training=True)
    keras_bn.forward(X, training=True)
    np.testing.assert_allclose(torch_bn.state["moving_variance"] -
                               keras_bn.state["moving_variance"], 0.1 * (UNBIASED - BIASED))


def test_a_batch_of_one_is_refused_in_training_under_torch_and_gives_beta_under_keras() -> None:
    with pytest.raises(ValueError, match=r"BatchNormalization\(2\).*more than one value"):
        BatchNormalization(2).forward(X[:1], training=True)
    keras_bn = BatchNormalization(2, convention="keras")
    keras_bn.set("beta", np.array([0.5, -0.5]))
    np.testing.assert_array_equal(keras_bn.forward(X[:1], training=True), [[0.5, -0.5]])


def test_with_two_rows_the_output_is_plus_minus_gamma_and_the_input_gradient_zero() -> None:
    bn = BatchNormalization(2, epsilon=NO_EPSILON)
    y = bn.forward(X[:2], training=True)
    np.testing.assert_allclose(np.abs(y), 1.0, rtol=1e-15)
    np.testing.assert_allclose(bn.backward(np.array([[0.3, -1.0], [2.0, 0.7]])), 0.0,
                               atol=1e-15)


def test_channels_last_images_share_statistics_over_batch_and_pixels() -> None:
    images = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    as_rows = images.reshape(-1, 5)
    bn_images, bn_rows = BatchNormalization(5), BatchNormalization(5)
    y = bn_images.forward(images, training=True)
    np.testing.assert_allclose(y.reshape(-1, 5), bn_rows.forward(as_rows, training=True),
                               rtol=1e-14)
    np.testing.assert_allclose(bn_images.state["moving_variance"],
                               bn_rows.state["moving_variance"], rtol=1e-14)  # n = 24


def test_layer_normalization_standardises_each_sample_and_ignores_training() -> None:
    ln = LayerNormalization(2, epsilon=NO_EPSILON)
    y = ln.forward(X)
    np.testing.assert_allclose(y, np.sign(X[:, :1] - X[:, 1:]) * [[1.0, -1.0]], rtol=1e-15)
    np.testing.assert_array_equal(ln.forward(X, training=True), y)
    assert ln.state == {}


def test_config_rebuilds_the_layer() -> None:
    bn = BatchNormalization(3, 0.8, 1e-4, convention="keras", dtype=np.float32)
    again = from_config("BatchNormalization", bn.config())
    assert again.config() == bn.config()
    ln = from_config("LayerNormalization", LayerNormalization(4).config())
    assert (ln.features, ln.epsilon) == (4, 1e-5)


def test_under_keeps_weights_statistics_and_decay() -> None:
    model = Sequential([Dense(2, 2), BatchNormalization(2, 0.99, convention="keras")], seed=0)
    model.layers[1].set("moving_mean", np.array([0.25, -0.5]))
    torch_model = under(model, "torch")
    bn = torch_model.layers[1]
    assert (bn.convention, bn.epsilon) == ("torch", 1e-3)
    assert bn.momentum == pytest.approx(0.01)
    np.testing.assert_array_equal(bn.state["moving_mean"], [0.25, -0.5])
    np.testing.assert_array_equal(torch_model.layers[0].W, model.layers[0].W)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: BatchNormalization(0), "features must be a positive integer"),
    (lambda: BatchNormalization(2, 1.5), r"momentum must be a number in \[0.0, 1.0\]"),
    (lambda: BatchNormalization(2, convention="jax"), "convention must be one of"),
    (lambda: LayerNormalization(2, -1.0), "epsilon must be a finite number in"),
])
def test_bad_arguments_are_refused_by_name(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_an_input_with_the_wrong_number_of_features_is_refused() -> None:
    with pytest.raises(ValueError, match=r"BatchNormalization\(3\).*input x"):
        BatchNormalization(3).forward(X)
    with pytest.raises(ValueError, match=r"LayerNormalization\(3\).*3 features"):
        Sequential([LayerNormalization(3)], input_shape=(2,))


def test_a_weight_file_keeps_the_running_statistics(tmp_path) -> None:
    from reference import load_weights, save_weights

    model = Sequential([Dense(2, 2), BatchNormalization(2, 0.9, convention="keras"),
                        LayerNormalization(2)], seed=0)
    model.forward(X[:, :2], training=True)  # the running statistics move
    save_weights(model, tmp_path / "m.npz")
    loaded = load_weights(tmp_path / "m.npz")
    for name, value in model.layers[1].state.items():
        np.testing.assert_array_equal(loaded.layers[1].state[name], value)
    assert loaded.layers[1].config() == model.layers[1].config()


def test_no_fixed_factor_turns_one_running_variance_into_the_other() -> None:
    """Why the weight layout copies running_var as is: after k steps from 1, torch's is
    (1 − m)ᵏ + n/(n − 1)·(Keras's − (1 − m)ᵏ), so its ratio to Keras's depends on k (and
    on the batches), reaching n/(n − 1) only as the initial 1 fades."""
    torch_bn = BatchNormalization(2, 0.1, convention="torch")
    keras_bn = BatchNormalization(2, 0.9, convention="keras")
    ratios = []
    for _ in range(40):
        torch_bn.forward(X, training=True)
        keras_bn.forward(X, training=True)
        ratios.append(torch_bn.state["moving_variance"][0] / keras_bn.state["moving_variance"][0])
    assert ratios[0] == pytest.approx((0.9 + 0.1 * 5 * 4 / 3) / (0.9 + 0.1 * 5), rel=1e-15)
    assert ratios[0] < ratios[5] < ratios[-1] < 4 / 3
    assert ratios[-1] == pytest.approx(4 / 3, rel=1e-2)


@pytest.mark.parametrize(("option", "fixed", "kept"), [("scale", "gamma", "beta"),
                                                        ("center", "beta", "gamma")])
def test_without_gamma_or_beta_the_layer_computes_with_one_or_zero(option, fixed, kept) -> None:
    """Keras's scale=False (InceptionV3's) or center=False: the same numbers as γ = 1 or
    β = 0, one parameter fewer, none learnt for it; its config rebuilds it."""
    x = np.random.default_rng(6).standard_normal((5, 3)) * 2 + 1
    layer = BatchNormalization(3, convention="keras", **{option: False})
    full = BatchNormalization(3, convention="keras")
    full.set(kept, layer.parameters[kept])
    g = np.random.default_rng(7).standard_normal((5, 3))
    np.testing.assert_array_equal(layer.forward(x, training=True), full.forward(x, training=True))
    np.testing.assert_array_equal(layer.backward(g), full.backward(g))
    assert list(layer.parameters) == list(layer.gradients) == [kept]
    assert fixed not in BatchNormalization.array_shapes(layer.config())
    assert not getattr(from_config("BatchNormalization", layer.config()), option)
