"""Convolutional models across the frameworks: exact round trips through the layout tables,
plain ``nn.Conv2d`` and ``keras.layers.Conv2D`` models taken in, and what has no spec
counterpart refused by name."""

from __future__ import annotations

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework
from parity_tests.tolerances import tolerance
from reference import registry


def _every_layer_kind(dtype) -> reference.Sequential:
    """One of each convolution and pooling kind, biases non-zero, with a Dense after a
    Flatten of a feature map (whose rows torch permutes)."""
    layers = [reference.Conv2D(2, 4, (3, 2), strides=2, padding="same", activation="relu",
                               dtype=dtype),
              reference.DepthwiseConv2D(4, 3, depth_multiplier=2, padding="same", dtype=dtype),
              reference.MaxPool2D(2, 1, "same"), reference.AveragePool2D(2),
              reference.Flatten(), reference.Dense(32, 3, "softmax", dtype=dtype)]
    model = reference.Sequential(layers, input_shape=(8, 7, 2), seed=3)
    for layer in model.layers:
        if "b" in layer.parameter_names:
            layer.b = np.linspace(-1, 1, layer.b.size).astype(dtype)
    return model


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_round_trip_is_bit_exact(fw, dtype) -> None:
    spec = _every_layer_kind(dtype)
    back = fw.impl.to_reference(fw.impl.from_reference(spec), input_shape=spec.input_shape)
    assert [layer.config() for layer in back.layers] == [layer.config() for layer in
                                                         spec.layers]
    for mine, theirs in zip(spec.parameters, back.parameters, strict=True):
        for name, value in mine.items():
            assert theirs[name].dtype == value.dtype
            np.testing.assert_array_equal(theirs[name], value)


def test_a_conv1d_model_round_trips_too(fw) -> None:
    concept = registry.concept("Conv1D")
    spec = concept.cases[0].make(np.random.default_rng(0), np.dtype(np.float64), 1)["model"]
    back = fw.impl.to_reference(fw.impl.from_reference(spec), input_shape=spec.input_shape)
    for mine, theirs in zip(spec.parameters, back.parameters, strict=True):
        for name, value in mine.items():
            np.testing.assert_array_equal(theirs[name], value)


def test_torch_holds_kernels_out_in_kh_kw_and_keras_kh_kw_in_out() -> None:
    spec = _every_layer_kind(np.float64)
    torch = framework("torch").torch
    module = framework("torch").impl.from_reference(spec)
    conv, depthwise_conv = (m for m in module if isinstance(m, torch.nn.Conv2d))
    keras_model = framework("tf").impl.from_reference(spec)
    W = spec.layers[0].W  # (3, 2, 2, 4)
    np.testing.assert_array_equal(conv.weight.detach().numpy(),
                                  W.transpose(3, 2, 0, 1))
    np.testing.assert_array_equal(keras_model.layers[0].kernel.numpy(), W)
    depthwise = spec.layers[1].W  # (3, 3, 4, 2): output channel c·2 + m
    np.testing.assert_array_equal(depthwise_conv.weight.detach().numpy()[5, 0],
                                  depthwise[:, :, 2, 1])


def _agree(actual, expected, dtype=np.float64) -> None:
    tol = tolerance(dtype, "output")
    assert tol.error(actual, expected) <= tol.rtol


def test_a_plain_torch_model_converts_to_the_spec() -> None:
    """What a torch user writes: padding=1 at stride 1 is TF's "same"; an activation module
    after a convolution joins it."""
    torch = framework("torch").torch
    from torch import nn

    import torch_impl

    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, dtype=torch.float64), nn.Tanh(),
        nn.MaxPool2d(2), nn.Conv2d(4, 4, 3, groups=4, dtype=torch.float64),
        nn.AvgPool2d(2, 1), nn.Flatten(), nn.Linear(4, 2, dtype=torch.float64))
    spec = torch_impl.to_reference(module, input_shape=(8, 8, 3))
    assert [type(layer).__name__ for layer in spec.layers] == [
        "Conv2D", "MaxPool2D", "DepthwiseConv2D", "AveragePool2D", "Flatten", "Dense"]
    assert spec.layers[0].padding == "same" and spec.layers[0].activation.name == "tanh"
    x = np.random.default_rng(0).standard_normal((2, 8, 8, 3))
    expected = module(torch.from_numpy(x).permute(0, 3, 1, 2)).detach().numpy()
    _agree(spec.forward(x), expected)


def test_a_plain_keras_model_converts_to_the_spec() -> None:
    framework("tf")
    import keras

    import tf_impl

    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((9, 8, 2), dtype="float64"),  # Keras's default input dtype is float32
        keras.layers.Conv2D(3, 3, strides=2, padding="same", dtype="float64"),
        keras.layers.Activation("relu", dtype="float64"),
        keras.layers.DepthwiseConv2D(2, depth_multiplier=2, dtype="float64"),
        keras.layers.AveragePooling2D(2, padding="same", dtype="float64"),
        keras.layers.GlobalAveragePooling2D(dtype="float64"),
        keras.layers.Dense(2, dtype="float64"),
    ])
    spec = tf_impl.to_reference(model)
    assert spec.layers[0].activation.name == "relu" and spec.layers[0].padding == "same"
    x = np.random.default_rng(1).standard_normal((2, 9, 8, 2))
    _agree(spec.forward(x), model(x).numpy())


@pytest.mark.parametrize(("build", "message"), [
    (lambda nn: nn.Conv2d(2, 2, 3, stride=2, padding=1),
     r"pads \[\(1, 1\), \(1, 1\)\]; the spec pads by TF's rule only"),
    (lambda nn: nn.Conv2d(4, 4, 3, groups=2), "groups=2"),
    (lambda nn: nn.MaxPool2d(2, ceil_mode=True), "rounds its output size up"),
    (lambda nn: nn.Conv2d(2, 2, 3, padding_mode="reflect"), "pads with 'reflect'"),
])
def test_torch_modules_without_a_spec_counterpart_are_refused(build, message) -> None:
    framework("torch")
    from torch import nn

    import torch_impl

    with pytest.raises(TypeError, match=message):
        torch_impl.to_reference(nn.Sequential(build(nn), nn.Flatten()), input_shape=(8, 8, 2))


def test_keras_cannot_hold_an_average_pooling_that_counts_padding() -> None:
    import tf_impl

    framework("tf")
    spec = reference.Sequential([reference.AveragePool2D(3, 2, "same", count_include_pad=True),
                                 reference.Flatten()], input_shape=(6, 6, 1))
    with pytest.raises(TypeError, match="Keras's AveragePooling2D always leaves them out"):
        tf_impl.from_reference(spec)


def test_torch_fit_refuses_a_channels_last_batch() -> None:
    """The converted model is torch's own nn.Conv2d, channels-first; the entry point
    (``torch_impl.fit``) names the layout before nn.Conv2d's own channel error."""
    torch = framework("torch").torch
    import torch_impl

    spec = reference.Sequential([reference.Conv2D(3, 4, 3), reference.Flatten()],
                                input_shape=(8, 8, 3))
    module = torch_impl.from_reference(spec)
    with pytest.raises(ValueError, match=r"fit: input x \(channels-first\) must have shape "
                                         r"\(N, 3, N, N\), got \(2, 8, 8, 3\)"):
        torch_impl.fit(module, torch.zeros(2, 8, 8, 3, dtype=torch.float64),  # NHWC
                       torch.zeros(2, 144, dtype=torch.float64))


def test_a_bias_free_convolution_reads_from_torch_and_keras_as_use_bias_false() -> None:
    """torch's ``bias=False`` and Keras's ``use_bias=False`` are the spec's ``use_bias=False``
    (no b at all, not a b of zeros), and go back out as they came in."""
    framework("torch")
    import keras
    from torch import nn

    import tf_impl
    import torch_impl

    module = nn.Sequential(nn.Conv2d(2, 3, 3, bias=False), nn.Flatten()).double()
    from_torch = torch_impl.to_reference(module, input_shape=(5, 5, 2))
    model = keras.Sequential([keras.Input((5, 5, 2)), keras.layers.Conv2D(3, 3, use_bias=False),
                              keras.layers.Flatten()])
    from_keras = tf_impl.to_reference(model)
    for spec in (from_torch, from_keras):
        assert not spec.layers[0].use_bias and list(spec.layers[0].parameters) == ["W"]
    assert torch_impl.from_reference(from_torch)[0].bias is None
    assert not tf_impl.from_reference(from_keras).layers[0].use_bias


def test_a_global_pooling_that_keeps_dims_is_torchs_adaptive_pool_without_flatten() -> None:
    """Keras's keepdims=True gives (N, 1, 1, C); torch's nn.AdaptiveAvgPool2d(1) alone gives
    (N, C, 1, 1), the same feature map channels-first, and a 1×1 convolution reads it
    (MobileNet's head); with an nn.Flatten after the pooling it is keepdims=False."""
    torch = framework("torch").torch
    import keras
    from torch import nn

    import tf_impl
    import torch_impl

    module = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(2, 3, 1), nn.Flatten()).double()
    from_torch = torch_impl.to_reference(module, input_shape=(4, 5, 2))
    model = keras.Sequential([keras.Input((4, 5, 2)),
                              keras.layers.GlobalAveragePooling2D(keepdims=True),
                              keras.layers.Conv2D(3, 1), keras.layers.Flatten()])
    from_keras = tf_impl.to_reference(model)
    for spec in (from_torch, from_keras):
        assert spec.layers[0].keepdims and spec.layers[0].output_shape((4, 5, 2)) == (1, 1, 2)
    x = np.random.default_rng(3).standard_normal((2, 4, 5, 2))
    _agree(from_torch.forward(x), module(torch.from_numpy(x).permute(0, 3, 1, 2)).detach().numpy())
    _agree(from_keras.forward(x.astype(np.float32)), model(x.astype(np.float32)).numpy(),
           np.float32)
    flat = torch_impl.to_reference(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()),
                                   input_shape=(4, 5, 2))
    assert not flat.layers[0].keepdims and flat.output_shape == (2,)


@pytest.mark.parametrize("use_bias", [True, False])
def test_a_separable_convolution_same_with_an_even_kernel_reads_back_as_one_layer(
        use_bias) -> None:
    """TF's "same" of an even kernel pads one more cell at the end: torch holds it as an
    nn.ZeroPad2d before the separable pair, which to_reference read as a ZeroPadding2D
    of its own (its row asked before the SeparableConv2D's), a valid separable
    convolution after it: spec → torch → spec gave two layers for one."""
    torch_impl = framework("torch").impl
    model = reference.Sequential([reference.SeparableConv2D(
        2, 3, 2, padding="same", use_bias=use_bias)], input_shape=(5, 5, 2))
    module = torch_impl.from_reference(model)
    assert isinstance(module[0], framework("torch").torch.nn.ZeroPad2d)
    (back,) = torch_impl.to_reference(module, input_shape=(5, 5, 2)).layers
    assert isinstance(back, reference.SeparableConv2D) and back.padding == "same"
    assert back.use_bias is use_bias
    for name, value in model.layers[0].parameters.items():
        np.testing.assert_array_equal(back.parameters[name], value)
