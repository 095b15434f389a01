"""A Conv2DTranspose whose "same" crop is uneven (k − s odd: 3×3 stride 2) is written in
torch as ``nn.ConvTranspose2d``, ``nn.ZeroPad2d((0, -1, 0, -1))`` and its activation
(conventions.md §12); ``torch_impl.to_reference`` reads that group back as the one
Conv2DTranspose it came from, in a Sequential and in a graph, so the layer keeps its name
and weights; a crop the translation did not write stays a Cropping2D of its own."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch
from torch import nn

import reference
import tf_impl
import torch_impl

L = keras.layers


def _keras_transpose(name: str = "up") -> keras.layers.Layer:
    return L.Conv2DTranspose(3, 3, strides=2, padding="same", activation="relu", name=name,
                             dtype="float64")


def _same_layers_and_weights(back: reference.layers.Layer, spec: reference.layers.Layer
                             ) -> None:
    assert back.config() == spec.config()
    assert back.parameter_names == spec.parameter_names
    for name in spec.parameter_names:
        np.testing.assert_array_equal(back.parameters[name], spec.parameters[name])


@pytest.mark.parametrize(("kernel", "output_padding"), [(3, None), (5, None), (2, (1, 1)),
                                                      (3, (0, 1)), (4, (1, 1))])
def test_a_spec_same_transpose_written_with_a_crop_or_without_reads_back_as_itself(
        kernel, output_padding) -> None:
    layer = reference.Conv2DTranspose(2, 3, kernel, strides=2, padding="same",
                                      output_padding=output_padding, activation="tanh")
    spec = reference.Sequential([layer], input_shape=(5, 4, 2), seed=0)
    back = torch_impl.to_reference(torch_impl.from_reference(spec), input_shape=(5, 4, 2))
    assert len(back.layers) == 1
    _same_layers_and_weights(back.layers[0], spec.layers[0])


def test_a_sequential_round_trip_keeps_one_conv2d_transpose() -> None:
    keras_model = keras.Sequential([keras.Input((5, 5, 2), dtype="float64"),
                                    _keras_transpose()])
    spec = tf_impl.to_reference(keras_model)
    module = torch_impl.from_reference(spec)
    assert isinstance(module[1], nn.ZeroPad2d)  # the uneven crop is a module of its own
    back = torch_impl.to_reference(module, input_shape=(5, 5, 2))
    assert [type(layer).__name__ for layer in back.layers] == ["Conv2DTranspose"]
    assert back.layers[0].padding == "same"
    _same_layers_and_weights(back.layers[0], spec.layers[0])


def test_a_graph_round_trip_keeps_one_conv2d_transpose_by_name() -> None:
    image = keras.Input((5, 5, 2), name="image", dtype="float64")
    up = _keras_transpose()(image)
    skip = L.UpSampling2D(2, name="skip", dtype="float64")(
        L.Conv2D(3, 1, name="project", dtype="float64")(image))
    keras_model = keras.Model(image, L.Add(name="joined", dtype="float64")([up, skip]))
    spec = tf_impl.to_reference(keras_model)
    module = torch_impl.from_reference(spec)
    assert [type(m).__name__ for m in module.up] == ["ConvTranspose2d", "ZeroPad2d", "ReLU"]
    back = torch_impl.to_reference(module, input_shapes=[(5, 5, 2)])
    assert sorted(layer.name for layer in back.layers) == sorted(
        layer.name for layer in spec.layers)  # one layer "up", no crop or activation of its own
    _same_layers_and_weights(back.get_layer("up"), spec.get_layer("up"))
    x = np.random.default_rng(0).standard_normal((2, 5, 5, 2))
    np.testing.assert_allclose(back.forward(x), keras_model(x).numpy(), rtol=1e-12,
                               atol=1e-12)


def test_a_crop_the_translation_did_not_write_stays_a_cropping2d() -> None:
    """A 3×3 stride-2 "same" crops one cell at the end: two cropped are the user's own."""
    module = nn.Sequential(nn.ConvTranspose2d(2, 3, 3, stride=2), nn.ZeroPad2d((0, -2, 0, -2)),
                           nn.ReLU()).double()
    back = torch_impl.to_reference(module, input_shape=(5, 5, 2))
    assert [type(layer).__name__ for layer in back.layers] == [
        "Conv2DTranspose", "Cropping2D", "Activation"]
    assert back.layers[0].padding == "valid" and back.layers[1].cropping == ((0, 2), (0, 2))
    x = np.random.default_rng(1).standard_normal((2, 5, 5, 2))
    expected = module(torch.from_numpy(x).permute(0, 3, 1, 2)).detach().permute(0, 2, 3, 1)
    np.testing.assert_allclose(back.forward(x), expected.numpy(), rtol=1e-12, atol=1e-12)


def test_a_crop_at_the_start_after_a_3x3_stride_2_stays_a_cropping2d() -> None:
    """Keras's "same" crops the odd cell at the end; one cropped at the start is not it."""
    module = nn.Sequential(nn.ConvTranspose2d(2, 3, 3, stride=2),
                           nn.ZeroPad2d((-1, 0, -1, 0))).double()
    back = torch_impl.to_reference(module, input_shape=(5, 5, 2))
    assert [(type(layer).__name__, getattr(layer, "padding", None)) for layer in back.layers
            ] == [("Conv2DTranspose", "valid"), ("Cropping2D", None)]


def test_the_digit_vaes_3x3_decoder_reads_back_from_torch_as_its_one_layer() -> None:
    from reference.digits import digit_vae

    spec = digit_vae()
    back = torch_impl.to_reference(torch_impl.from_reference(spec),
                                   input_shapes=[(8, 8, 1), (2,)])
    assert sorted(layer.name for layer in back.layers) == sorted(
        layer.name for layer in spec.layers)
    _same_layers_and_weights(back.get_layer("decode"), spec.get_layer("decode"))
