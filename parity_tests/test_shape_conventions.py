"""The conventions the Reshape, Permute, Rescaling and Normalization translations bridge,
each side shown: torch holds a feature map channels-first where Keras (and the spec) hold
it channels-last, and TF casts a Python float through float32."""

from __future__ import annotations

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework

torch_impl, tf_impl = framework("torch").impl, framework("tf").impl
torch = framework("torch").torch
keras = framework("tf").tf.keras
nn = torch.nn


def _spec(layers: list, input_shape: tuple[int, ...]) -> reference.Sequential:
    return reference.Sequential(layers, input_shape=input_shape, seed=0)


def test_squeeze_excite_reshape_is_unflatten_to_channels_first() -> None:
    """Keras's Reshape((1, 1, C)) after a global pooling: torch's (C, 1, 1)."""
    spec = _spec([reference.Conv2D(2, 4, 3), reference.GlobalAveragePooling2D(),
                  reference.Reshape((1, 1, 4))], (5, 5, 2))
    module = torch_impl.from_reference(spec)
    assert repr(module[-1]) == repr(nn.Unflatten(1, (4, 1, 1)))
    x = np.random.default_rng(0).standard_normal((2, 5, 5, 2))
    torch_side = module(torch.from_numpy(x).permute(0, 3, 1, 2)).detach().numpy()
    np.testing.assert_allclose(np.moveaxis(torch_side, 1, -1), spec.forward(x), rtol=1e-12)


def test_a_reshape_that_mixes_channels_moves_torch_to_channels_last_first() -> None:
    """(H, W, C) = (2, 3, 4) → (4, 3, 2): torch's view of (C, H, W) would give other
    numbers, so the modules permute to channels-last, reshape, and permute back."""
    spec = _spec([reference.Conv2D(2, 4, 1), reference.Reshape((4, 3, 2))], (2, 3, 2))
    module = torch_impl.from_reference(spec)
    x = np.random.default_rng(1).standard_normal((2, 2, 3, 2))
    features = module[0](torch.from_numpy(x).permute(0, 3, 1, 2))  # (N, C, H, W)
    naive = features.reshape(2, 2, 4, 3).permute(0, 2, 3, 1).detach().numpy()  # a plain view
    expected = spec.forward(x)
    assert not np.allclose(naive, expected)
    assert [type(m).__name__ for m in module[1:]] == ["Permute", "Flatten", "Unflatten",
                                                       "Permute"]
    np.testing.assert_allclose(module[1:](features).permute(0, 2, 3, 1).detach().numpy(),
                               expected, rtol=1e-12)


def test_permute_on_a_feature_map_counts_torch_axes() -> None:
    """Keras's Permute((2, 1, 3)) swaps H and W of (H, W, C): torch's permute(0, 1, 3, 2)."""
    spec = _spec([reference.Conv2D(2, 3, 1), reference.Permute((2, 1, 3))], (4, 5, 2))
    assert torch_impl.from_reference(spec)[-1].dims == (0, 1, 3, 2)
    sequence = _spec([reference.Permute((2, 1))], (4, 5))  # no feature map: Keras's dims
    assert torch_impl.from_reference(sequence)[-1].dims == (0, 2, 1)


def test_normalization_takes_torch_channels_on_dim_1() -> None:
    spec = _spec([reference.Conv2D(2, 3, 1), reference.Normalization([1.0, 2.0, 3.0],
                                                                     [1.0, 4.0, 9.0])], (2, 2, 2))
    assert torch_impl.from_reference(spec)[-1].dim == 1  # (N, C, H, W)
    keras_layer = tf_impl.from_reference(spec).layers[-1]
    assert tuple(keras_layer.axis) == (-1,)  # (N, H, W, C)


def test_a_float64_keras_rescaling_gets_float64_arrays() -> None:
    """TF's cast takes a Python float through float32; the converter passes float64 arrays
    (a NumPy float64 scalar would be saved as a Python float)."""
    spec = _spec([reference.Rescaling(1 / 255, 0.1)], (3,))
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(tf_impl.from_reference(spec)(x).numpy(),
                                  x * (1 / 255) + 0.1)
    plain = keras.layers.Rescaling(1 / 255, 0.1, dtype="float64")(x).numpy()
    assert not np.array_equal(plain, x * (1 / 255) + 0.1)


def test_a_lone_reshape_is_refused_without_its_input_shape() -> None:
    with pytest.raises(TypeError, match=r"from_reference: Reshape\(\(1, 1, 4\)\): the input "
                                        "shape fixes"):
        torch_impl.from_reference(reference.Reshape((1, 1, 4)))


def test_torch_modules_that_are_no_keras_reshape_are_refused_by_position() -> None:
    """nn.Flatten() then nn.Unflatten(1, (4, 5, 3)) of a channels-first (3, 4, 5) map: a
    view that is no Keras Reshape of the channels-last map."""
    module = nn.Sequential(nn.Conv2d(2, 3, 1, dtype=torch.float64), nn.Flatten(),
                           nn.Unflatten(1, (4, 5, 3)))
    with pytest.raises(TypeError, match=r"to_reference: modules 1\.\.2 .* as no Keras "
                                        r"Reshape does in torch's layout"):
        torch_impl.to_reference(module, input_shape=(4, 5, 2))


def test_a_float64_keras_normalization_holds_its_statistics_as_weights(tmp_path) -> None:
    """A Keras Normalization given mean=[0.1, …] computes, and saves, the lists through
    float32; the converter's holds them as its float64 weights mean and variance."""
    spec = _spec([reference.Normalization([0.1, 0.2], [0.3, 0.7])], (2,))
    x = np.arange(4.0).reshape(2, 2)
    expected = (x - [0.1, 0.2]) / np.sqrt([0.3, 0.7])
    model = tf_impl.from_reference(spec)
    model.save(tmp_path / "m.keras")
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "m.keras")(x).numpy(),
                                  expected)
    given = keras.layers.Normalization(mean=[0.1, 0.2], variance=[0.3, 0.7], dtype="float64")
    assert not np.array_equal(given(x).numpy(), expected)


def test_an_adapted_keras_normalization_reads_its_weights() -> None:
    """Keras's adapt() stores the statistics as the weights mean and variance."""
    layer = keras.layers.Normalization(dtype="float64")
    layer.adapt(np.array([[0.0, 2.0], [2.0, 6.0]]))
    spec = tf_impl.to_reference(layer)
    np.testing.assert_array_equal(spec.mean, [1.0, 4.0])
    np.testing.assert_array_equal(spec.variance, [1.0, 4.0])
