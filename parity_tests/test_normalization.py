"""Each BatchNorm and LayerNorm difference between torch and Keras, shown in the
frameworks themselves (the registry's cases show the bridged agreement); plain user models
converted to the spec; the mirrors' input policy."""

from __future__ import annotations

import numpy as np
import pytest

import reference

X = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 4.0], [7.0, 0.0]])  # per feature: μ = (4, 3)
MEAN, BIASED, UNBIASED = np.array([4.0, 3.0]), np.array([5.0, 5.0]), np.array([5.0, 5.0]) * 4 / 3


def _keras_bn(keras, **options):
    layer = keras.layers.BatchNormalization(dtype="float64", **options)
    layer.build((None, 2))
    return layer


def test_the_same_momentum_number_moves_the_running_mean_opposite_ways(torch, keras) -> None:
    module = torch.nn.BatchNorm1d(2, momentum=0.1, dtype=torch.float64)
    module(torch.from_numpy(X))
    layer = _keras_bn(keras, momentum=0.1)
    layer(X, training=True)
    np.testing.assert_allclose(module.running_mean.numpy(), 0.1 * MEAN)  # weight of the new
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.9 * MEAN)  # weight of the old
    bridged = _keras_bn(keras, momentum=1 - 0.1)
    bridged(X, training=True)
    np.testing.assert_allclose(bridged.moving_mean.numpy(), module.running_mean.numpy())


def test_default_epsilons_differ_and_move_the_training_output(torch, keras) -> None:
    module, layer = torch.nn.BatchNorm1d(2, dtype=torch.float64), _keras_bn(keras)
    assert (module.eps, layer.epsilon) == (1e-5, 1e-3)
    y_torch = module(torch.from_numpy(X)).detach().numpy()
    y_keras = layer(X, training=True).numpy()
    np.testing.assert_allclose(y_torch, (X - MEAN) / np.sqrt(BIASED + 1e-5), rtol=1e-14)
    np.testing.assert_allclose(y_keras, (X - MEAN) / np.sqrt(BIASED + 1e-3), rtol=1e-14)
    assert np.max(np.abs(y_torch - y_keras)) > 1e-4
    norms = (torch.nn.LayerNorm(2).eps, keras.layers.LayerNormalization().epsilon)
    assert norms == (1e-5, 1e-3)


def test_torch_stores_the_unbiased_variance_and_keras_the_biased_one(torch, keras) -> None:
    module = torch.nn.BatchNorm1d(2, momentum=0.1, eps=1e-3, dtype=torch.float64)
    y_torch = module(torch.from_numpy(X)).detach().numpy()
    layer = _keras_bn(keras, momentum=0.9)
    y_keras = layer(X, training=True).numpy()
    np.testing.assert_allclose(module.running_var.numpy(), 0.9 + 0.1 * UNBIASED)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.9 + 0.1 * BIASED)
    np.testing.assert_allclose(y_torch, y_keras, rtol=1e-14)  # both normalised with the biased


def test_a_torch_module_starts_in_training_and_a_keras_layer_called_directly_infers(
        torch, keras) -> None:
    module, layer = torch.nn.BatchNorm1d(2, dtype=torch.float64), _keras_bn(keras)
    assert module.training
    module(torch.from_numpy(X))
    layer(X)
    assert np.all(module.running_mean.numpy() != 0.0)  # used and updated batch statistics
    np.testing.assert_array_equal(layer.moving_mean.numpy(), 0.0)  # used the moving ones
    module.eval()
    before = module.running_mean.clone()
    module(torch.from_numpy(X))
    assert torch.equal(module.running_mean, before)


def test_a_frozen_keras_layer_infers_even_when_told_to_train(keras) -> None:
    layer = _keras_bn(keras)
    layer.trainable = False
    np.testing.assert_allclose(layer(X, training=True).numpy(), X / np.sqrt(1 + 1e-3),
                               rtol=1e-14)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), 0.0)


def test_a_batch_of_one_in_training_torch_refuses_keras_returns_beta(torch, keras) -> None:
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        torch.nn.BatchNorm1d(2, dtype=torch.float64)(torch.from_numpy(X[:1]))
    layer = _keras_bn(keras)
    layer.beta.assign([0.5, -0.5])
    np.testing.assert_array_equal(layer(X[:1], training=True).numpy(), [[0.5, -0.5]])


def test_plain_user_models_convert_with_their_statistics_and_conventions(torch, keras) -> None:
    import tf_impl
    import torch_impl

    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3),
                                 torch.nn.LayerNorm(3)).double()
    module(torch.from_numpy(X))  # training mode: the running statistics move
    spec = torch_impl.to_reference(module)
    bn, ln = spec.layers[1], spec.layers[2]
    assert (bn.convention, bn.momentum, bn.epsilon, ln.epsilon) == ("torch", 0.1, 1e-5, 1e-5)
    np.testing.assert_array_equal(bn.state["moving_variance"], module[1].running_var.numpy())
    module.eval()
    np.testing.assert_allclose(spec.forward(X), module(torch.from_numpy(X)).detach().numpy(),
                               rtol=1e-13, atol=1e-15)  # a few ulps, some after cancellation

    model = keras.Sequential([keras.Input((2,), dtype="float64"),
                              keras.layers.BatchNormalization(dtype="float64"),
                              keras.layers.LayerNormalization(dtype="float64")])
    model(X, training=True)
    spec = tf_impl.to_reference(model)
    bn, ln = spec.layers
    assert (bn.convention, bn.momentum, bn.epsilon, ln.epsilon) == ("keras", 0.99, 1e-3, 1e-3)
    np.testing.assert_array_equal(bn.state["moving_mean"], model.layers[0].moving_mean.numpy())
    np.testing.assert_allclose(spec.forward(X), model(X).numpy(), rtol=1e-13, atol=1e-15)


def test_what_the_spec_has_not_is_refused_by_name(torch, keras) -> None:
    import tf_impl
    import torch_impl

    with pytest.raises(TypeError, match="momentum=None"):
        torch_impl.to_reference(torch.nn.Sequential(torch.nn.BatchNorm1d(2, momentum=None)),
                                input_shape=(2,))
    with pytest.raises(TypeError, match="no learnable weight"):
        torch_impl.to_reference(torch.nn.Sequential(torch.nn.BatchNorm1d(2, affine=False)),
                                input_shape=(2,))
    model = keras.Sequential([keras.Input((3, 2)), keras.layers.BatchNormalization(axis=1)])
    with pytest.raises(TypeError, match="channels-last"):
        tf_impl.to_reference(model)


def test_keras_scale_false_is_torchs_weight_frozen_at_one(torch, keras) -> None:
    """torch's affine is both or neither: Keras's BatchNormalization(scale=False) is an
    nn.BatchNorm whose weight is 1 and not trained, and reads back as scale=False; a
    weight frozen at other values is no spec layer (refused unless for inference)."""
    import tf_impl
    import torch_impl

    spec = tf_impl.to_reference(keras.Sequential([
        keras.Input((2,)), keras.layers.BatchNormalization(scale=False, dtype="float64")]))
    assert not spec.layers[0].scale and list(spec.layers[0].parameters) == ["beta"]
    norm = torch_impl.from_reference(spec)[0]
    assert not norm.weight.requires_grad and norm.bias.requires_grad
    assert torch.all(norm.weight == 1)
    assert not torch_impl.to_reference(torch.nn.Sequential(norm), input_shape=(2,)).layers[0].scale
    with torch.no_grad():
        norm.weight.fill_(2.0)
    with pytest.raises(TypeError, match="requires_grad=False on weight"):
        torch_impl.to_reference(torch.nn.Sequential(norm), input_shape=(2,))
    inferred = torch_impl.to_reference(torch.nn.Sequential(norm), input_shape=(2,),
                                       inference=True)
    np.testing.assert_array_equal(inferred.layers[0].parameters["gamma"], [2.0, 2.0])


@pytest.mark.parametrize("frozen", ["weight", "bias"])
def test_torch_load_weights_keeps_a_frozen_gamma_of_one(torch, tmp_path, frozen) -> None:
    """A weights.pt with γ = 2 (β = 0.5) loaded into the module of a BatchNorm(scale=False)
    (center=False), its weight frozen at 1 (bias at 0): torch's load_state_dict wrote the
    2 into the frozen weight, silently, a layer the spec has not; the spec's and Keras's
    load_weights refuse such a file (γ for a layer without)."""
    import torch_impl
    from reference.weights import WeightFileError

    options = {"weight": {"scale": False}, "bias": {"center": False}}[frozen]
    model = torch_impl.from_reference(reference.Sequential(
        [reference.Dense(3, 4), reference.BatchNormalization(4, **options)], input_shape=(3,)))
    other = torch_impl.from_reference(reference.Sequential(
        [reference.Dense(3, 4), reference.BatchNormalization(4)], input_shape=(3,)))
    with torch.no_grad():
        getattr(other[1], frozen).fill_(0.5 if frozen == "bias" else 2.0)
    torch_impl.save_weights(other, tmp_path / "other.pt")
    value = "1" if frozen == "weight" else "0"
    with pytest.raises(WeightFileError, match=rf"1\.{frozen} holds values other than {value}, "
                                              rf"where the model's is frozen at {value}"):
        torch_impl.load_weights(tmp_path / "other.pt", model)
    assert torch.all(getattr(model[1], frozen) == float(value))
    torch_impl.save_weights(model, tmp_path / "own.pt")  # its own file loads
    torch_impl.load_weights(tmp_path / "own.pt", torch_impl.from_reference(reference.Sequential(
        [reference.Dense(3, 4), reference.BatchNormalization(4, **options)], input_shape=(3,))))


def test_torch_fit_refuses_l2_on_a_frozen_gamma(torch) -> None:
    """torch_impl.fit's l2 on the weight of a BatchNorm(scale=False), frozen at 1: it
    added λ‖γ‖², a constant, to every step's loss (the spec's layer has no γ to
    penalise); refused by name, as a penalty that trains nothing."""
    import torch_impl

    module = torch_impl.from_reference(reference.Sequential(
        [reference.Dense(3, 4), reference.BatchNormalization(4, scale=False)], input_shape=(3,)))
    X, Y = np.ones((4, 3)), np.ones((4, 4))
    with pytest.raises(ValueError, match=r"^fit: l2 names \['1\.weight'\], which the model "
                                         r"holds frozen \(requires_grad=False"):
        torch_impl.fit(module, X, Y, l2={"1.weight": 0.1, "1.bias": 0.1})
    torch_impl.fit(module, X, Y, l2={"1.bias": 0.1})  # β trains: its penalty is taken


def test_the_mirrors_refuse_the_other_float_dtype_with_the_spec_message(torch) -> None:
    import tf_impl
    import torch_impl

    x32 = X.astype(np.float32)
    for layer in (reference.BatchNormalization(2), reference.LayerNormalization(2)):
        # torch's modules are stock nn.BatchNorm1d / nn.LayerNorm: the entry point checks
        module = torch_impl.from_reference(reference.Sequential([layer], input_shape=(2,)))
        with pytest.raises(TypeError, match=r"fit: input x has dtype float32.*float64"):
            torch_impl.fit(module, torch.from_numpy(x32), X)
    for layer in (tf_impl.normalization.BatchNormalization(2),
                  tf_impl.normalization.LayerNormalization(2)):  # stock: the entry point refuses
        with pytest.raises(TypeError, match=r"fit: X has dtype float32 but fit computes in "
                                            r"float64"):
            tf_impl.fit(layer, x32, X)


def test_batchnorm2d_on_channels_first_images_is_the_spec_on_channels_last(torch, keras) -> None:
    """After a convolution: one μ, σ² per channel over the batch and the pixels. torch's
    nn.BatchNorm2d sees (N, C, H, W), the spec and Keras (N, H, W, C)."""
    import reference
    import tf_impl
    import torch_impl

    images = np.random.default_rng(0).standard_normal((2, 3, 4, 5)) + 1.0
    spec = reference.Sequential([reference.BatchNormalization(5, 0.9, convention="keras")],
                                input_shape=(3, 4, 5))
    spec_torch = reference.normalization.under(spec, "torch")
    module, model = torch_impl.from_reference(spec_torch), tf_impl.from_reference(spec)
    assert isinstance(module[0], torch.nn.BatchNorm2d)
    for training in (True, False):
        module.train(training)
        out = module(torch.from_numpy(images).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        np.testing.assert_allclose(out.detach().numpy(),
                                   spec_torch.forward(images, training=training),
                                   rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(model(images, training=training).numpy(),
                                   spec.forward(images, training=training),
                                   rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(module[0].running_var.numpy(),  # n = N·H·W = 24
                               0.9 + 0.1 * images.reshape(-1, 5).var(axis=0, ddof=1),
                               rtol=1e-14)
    np.testing.assert_allclose(model.layers[0].moving_variance.numpy(),
                               spec.layers[0].state["moving_variance"], rtol=1e-14)


def test_both_frameworks_fold_inference_into_x_times_a_plus_b_losing_float32_digits(
        torch, keras) -> None:
    """At inference torch and Keras compute y = x·a + (β − μ·a), a = γ/√(σ² + ε) (TF's
    tf.nn.batch_normalization, torch's CPU kernel), the spec (x − μ)·a + β: equal in exact
    arithmetic, but in float32 x·a and μ·a are rounded before they cancel, so with a
    running mean far from 0 against the spread (μ = 300, σ ≈ 0.1) both frameworks lose
    about 1e-4 where the spec stays at float32's 1e-7. The registry's cases hold moderate
    statistics, where the three agree within the float32 tolerance."""
    x = (300.0 + 0.1 * np.random.default_rng(11).standard_normal((64, 1))).astype(np.float32)
    exact = (x.astype(np.float64) - 300.0) / np.sqrt(0.01 + 1e-3)
    spec = reference.BatchNormalization(1, convention="keras", dtype=np.float32)
    spec.set("moving_mean", np.array([300.0], np.float32))
    spec.set("moving_variance", np.array([0.01], np.float32))
    layer = keras.layers.BatchNormalization(dtype="float32")
    layer.build((None, 1))
    layer.set_weights([np.ones(1), np.zeros(1), np.full(1, 300.0), np.full(1, 0.01)])
    module = torch.nn.BatchNorm1d(1, eps=1e-3).eval()
    with torch.no_grad():
        module.running_mean.fill_(300.0)
        module.running_var.fill_(0.01)
    assert np.abs(spec.forward(x) - exact).max() < 1e-6
    assert np.abs(np.asarray(layer(x, training=False)) - exact).max() > 3e-5
    assert np.abs(module(torch.from_numpy(x)).detach().numpy() - exact).max() > 3e-5
