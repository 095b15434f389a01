"""Where torch and Keras crop, upsample and transpose-convolve differently: each
difference shown on both sides, then the bridge the mirrors use (conventions.md §12,
checked against the pinned versions).

* Conv2DTranspose: Keras's "same" crops k − s cells of the full output, the odd one at the
  end; torch's ``padding=q`` crops q at both ends and ``output_padding`` adds at the end
  only, so k = 3, s = 2 needs a crop after ``nn.ConvTranspose2d``; k = 4 is ``padding=1``.
* Cropping2D: torch has no crop module; ``nn.ZeroPad2d`` with negative amounts cuts.
* UpSampling2D bilinear: Keras's is ``align_corners=False``; TF computes it in float32 even
  for float64 data, so its float64 parity lives here, against torch (float64) and Keras
  (float32), not in the registry.
* SeparableConv2D: one Keras layer, two torch modules (depthwise, then 1×1).
"""

from __future__ import annotations

import numpy as np
import pytest

import reference
from parity_tests.tolerances import tolerance


def _close(actual, expected, dtype=np.float64, kind: str = "output") -> bool:
    tol = tolerance(dtype, kind)
    return tol.error(np.asarray(actual), np.asarray(expected)) <= tol.rtol


def _nchw(torch, x: np.ndarray):
    return torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2)


def _nhwc(y) -> np.ndarray:
    return y.detach().permute(0, 2, 3, 1).numpy()


# ── Conv2DTranspose ─────────────────────────────────────────────────────────────────────

def _transposes(keras, torch, kernel: int, **torch_options):
    layer = keras.layers.Conv2DTranspose(3, kernel, strides=2, padding="same", dtype="float64")
    layer.build((None, None, None, 2))
    conv = torch.nn.ConvTranspose2d(2, 3, kernel, stride=2, dtype=torch.float64,
                                    **torch_options)
    with torch.no_grad():  # (k_h, k_w, out, in) → (in, out, k_h, k_w)
        conv.weight.copy_(torch.from_numpy(layer.kernel.numpy().transpose(3, 2, 0, 1)))
        conv.bias.copy_(torch.from_numpy(layer.bias.numpy()))
    return layer, conv


def test_keras_same_k3_s2_is_torch_padding_0_then_a_crop_at_the_end(keras, torch) -> None:
    x = np.random.default_rng(0).standard_normal((2, 5, 5, 2))
    layer, conv = _transposes(keras, torch, 3)
    keras_out = layer(x).numpy()
    assert keras_out.shape == (2, 10, 10, 3)
    assert _close(_nhwc(conv(_nchw(torch, x))[:, :, :-1, :-1]), keras_out)


def test_torch_padding_1_output_padding_1_is_not_keras_same_for_k3(keras, torch) -> None:
    """The same 10×10 size, other numbers: it crops one cell at the start."""
    x = np.random.default_rng(0).standard_normal((2, 5, 5, 2))
    layer, conv = _transposes(keras, torch, 3, padding=1, output_padding=1)
    torch_out = _nhwc(conv(_nchw(torch, x)))
    keras_out = layer(x).numpy()
    assert torch_out.shape == keras_out.shape
    assert np.abs(torch_out - keras_out).max() > 0.1


def test_keras_same_k4_s2_is_torch_padding_1(keras, torch) -> None:
    x = np.random.default_rng(1).standard_normal((2, 4, 5, 2))
    layer, conv = _transposes(keras, torch, 4, padding=1)
    assert _close(_nhwc(conv(_nchw(torch, x))), layer(x).numpy())


def test_keras_same_k5_s2_is_torch_padding_1_then_a_crop_too(keras, torch) -> None:
    """k − s = 3 is odd as for k = 3: one cell more cropped at the end than at the start."""
    x = np.random.default_rng(1).standard_normal((2, 5, 5, 2))
    layer, conv = _transposes(keras, torch, 5, padding=1)
    keras_out = layer(x).numpy()
    assert conv(_nchw(torch, x)).shape[2:] == (11, 11) and keras_out.shape[1:3] == (10, 10)
    assert _close(_nhwc(conv(_nchw(torch, x))[:, :, :-1, :-1]), keras_out)


def test_the_torch_mirror_crops_where_keras_crops_the_odd_cell(torch) -> None:
    import torch_impl

    odd = torch_impl.from_reference(reference.Conv2DTranspose(2, 3, 3, strides=2,
                                                              padding="same"))
    assert [type(m).__name__ for m in odd] == ["ConvTranspose2d", "ZeroPad2d"]
    assert odd[0].padding == (0, 0) and odd[1].padding == (0, -1, 0, -1)
    even = torch_impl.from_reference(reference.Conv2DTranspose(2, 3, 4, strides=2,
                                                               padding="same"))
    assert [type(m).__name__ for m in even] == ["ConvTranspose2d"]
    assert even[0].padding == (1, 1) and even[0].output_padding == (0, 0)


@pytest.mark.parametrize(("kernel", "padding", "output_padding", "expected"), [
    (3, 1, 0, ("same", (0, 0))), (4, 1, 0, ("same", None)), (3, 0, 0, ("valid", None)),
    (3, 0, 1, ("valid", (1, 1))), (2, 0, 1, ("valid", (1, 1))),
])
def test_a_torch_users_conv_transpose_reads_back_by_keras_rule(torch, kernel, padding,
                                                                output_padding,
                                                                expected) -> None:
    """k = 3, ``padding=1``: 2·n − 1 cells, Keras's "same" with output_padding 0."""
    import torch_impl

    conv = torch.nn.ConvTranspose2d(2, 3, kernel, stride=2, padding=padding,
                                    output_padding=output_padding, dtype=torch.float64)
    layer = torch_impl.to_reference(torch.nn.Sequential(conv), input_shape=(4, 4, 2)).layers[0]
    assert (layer.padding, layer.output_padding) == expected


def test_torch_padding_1_output_padding_1_at_k3_has_no_keras_rule(torch) -> None:
    """torch's common ×2 upsampling crops the first cell; Keras's rules crop at the end."""
    import torch_impl

    conv = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1,
                                    dtype=torch.float64)
    with pytest.raises(TypeError, match=r"nn.ZeroPad2d\(\(-1, 0, -1, 0\)\)"):
        torch_impl.to_reference(torch.nn.Sequential(conv), input_shape=(4, 4, 2))


# ── Cropping2D ──────────────────────────────────────────────────────────────────────────

def test_negative_zero_pad_crops_as_keras_does_and_carries_gradients(keras, torch) -> None:
    x = np.random.default_rng(2).standard_normal((2, 6, 7, 3))
    keras_out = keras.layers.Cropping2D(((1, 2), (0, 3)), dtype="float64")(x).numpy()
    xt = _nchw(torch, x).clone().requires_grad_(True)
    cropped = torch.nn.ZeroPad2d((0, -3, -1, -2))(xt)  # (left, right, top, bottom)
    assert np.array_equal(_nhwc(cropped), keras_out)
    cropped.sum().backward()
    expected = np.zeros((2, 3, 6, 7))
    expected[:, :, 1:4, 0:4] = 1.0  # 1 on the kept cells, 0 on the cut ones
    assert np.array_equal(xt.grad.numpy(), expected)


def test_cropping_and_zero_padding_read_back_apart(torch) -> None:
    import torch_impl

    model = torch.nn.Sequential(torch.nn.ZeroPad2d((1, 1, 0, 2)), torch.nn.ZeroPad2d((0, -1,
                                                                                      -2, 0)))
    spec = torch_impl.to_reference(model, input_shape=(4, 4, 1))
    assert [type(layer).__name__ for layer in spec.layers] == ["ZeroPadding2D", "Cropping2D"]
    assert spec.layers[1].cropping == ((2, 0), (0, 1))


def test_a_pad_module_that_pads_and_crops_is_refused(torch) -> None:
    import torch_impl

    with pytest.raises(TypeError, match="pads some sides and crops others"):
        torch_impl.to_reference(torch.nn.Sequential(torch.nn.ZeroPad2d((1, -1, 0, 0))),
                                input_shape=(4, 4, 1))


# ── UpSampling2D ────────────────────────────────────────────────────────────────────────

def test_keras_bilinear_is_align_corners_false_not_true(keras, torch) -> None:
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 2)).astype(np.float32)
    keras_out = keras.layers.UpSampling2D((2, 3), interpolation="bilinear")(x).numpy()

    def torch_out(corners: bool) -> np.ndarray:
        return _nhwc(torch.nn.Upsample(scale_factor=(2, 3), mode="bilinear",
                                       align_corners=corners)(_nchw(torch, x)))
    assert _close(torch_out(False), keras_out, np.float32)
    assert np.abs(torch_out(True) - keras_out).max() > 0.1


def test_tf_computes_float64_bilinear_in_float32(keras, torch) -> None:
    """Keras's float64 bilinear is float32 numbers; torch's (and the spec's) are float64."""
    x = np.random.default_rng(4).standard_normal((2, 3, 4, 2))
    keras_out = keras.layers.UpSampling2D(2, interpolation="bilinear", dtype="float64")(x)
    spec_out = reference.UpSampling2D(2, "bilinear").forward(x)
    torch_out = _nhwc(torch.nn.Upsample(scale_factor=2, mode="bilinear",
                                        align_corners=False)(_nchw(torch, x)))
    assert _close(torch_out, spec_out)
    assert not _close(keras_out.numpy(), spec_out)
    assert _close(keras_out.numpy(), spec_out, np.float32)


def _bilinear_model(dtype) -> reference.Sequential:
    model = reference.Sequential([
        reference.Conv2D(2, 3, 3, padding="same", activation="tanh", dtype=dtype),
        reference.UpSampling2D((2, 3), "bilinear"), reference.Flatten(),
        reference.Dense(3 * 4 * 2 * 3 * 3, 2, dtype=dtype)], input_shape=(3, 4, 2), seed=5)
    model.layers[0].b = np.linspace(-0.5, 0.5, 3).astype(dtype)
    return model


def _spec_run(model, x, y):
    """The spec's output, and dL/dx and dL/dW of the first layer under ½‖ŷ − y‖²."""
    out = model.forward(x)
    dx = model.backward(out - y)
    return out, dx, model.layers[0].gradients["W"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bilinear_spec_matches_torch_forward_and_gradients(torch, dtype) -> None:
    import torch_impl

    rng = np.random.default_rng(6)
    model = _bilinear_model(dtype)
    x, y = rng.standard_normal((3, 3, 4, 2)).astype(dtype), rng.standard_normal((3, 2)
                                                                                  ).astype(dtype)
    out, dx, dW = _spec_run(model, x, y)
    module = torch_impl.from_reference(model)
    xt = _nchw(torch, x).clone().requires_grad_(True)
    torch_out = module(xt)
    (0.5 * ((torch_out - torch.from_numpy(y)) ** 2).sum()).backward()
    assert _close(torch_out.detach().numpy(), out, dtype)
    assert _close(_nhwc(xt.grad), dx, dtype, "gradient")
    assert _close(module[0].weight.grad.numpy().transpose(2, 3, 1, 0), dW, dtype, "gradient")


def test_bilinear_spec_matches_keras_in_float32(tf) -> None:
    import tf_impl

    rng = np.random.default_rng(7)
    model = _bilinear_model(np.float32)
    x = rng.standard_normal((3, 3, 4, 2)).astype(np.float32)
    y = rng.standard_normal((3, 2)).astype(np.float32)
    out, dx, dW = _spec_run(model, x, y)
    keras_model = tf_impl.from_reference(model)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        keras_out = keras_model(xt)
        loss = 0.5 * tf.reduce_sum((keras_out - y) ** 2)
    dx_keras, dW_keras = tape.gradient(loss, [xt, keras_model.layers[0].kernel])
    assert _close(keras_out.numpy(), out, np.float32)
    assert _close(dx_keras.numpy(), dx, np.float32, "gradient")
    assert _close(dW_keras.numpy(), dW, np.float32, "gradient")


# ── SeparableConv2D ─────────────────────────────────────────────────────────────────────

def test_keras_separable_is_two_torch_modules(keras, torch) -> None:
    x = np.random.default_rng(8).standard_normal((2, 6, 6, 3))
    layer = keras.layers.SeparableConv2D(4, 3, depth_multiplier=2, dtype="float64")
    layer.build((None, None, None, 3))
    depthwise, pointwise, bias = layer.get_weights()
    pair = torch.nn.Sequential(
        torch.nn.Conv2d(3, 6, 3, groups=3, bias=False, dtype=torch.float64),
        torch.nn.Conv2d(6, 4, 1, dtype=torch.float64))
    with torch.no_grad():  # (k_h, k_w, C, M) → (C·M, 1, k_h, k_w); (1, 1, C·M, F) → (F, C·M, 1, 1)
        pair[0].weight.copy_(torch.from_numpy(
            depthwise.reshape(3, 3, 6).transpose(2, 0, 1)[:, None].copy()))
        pair[1].weight.copy_(torch.from_numpy(pointwise.transpose(3, 2, 0, 1).copy()))
        pair[1].bias.copy_(torch.from_numpy(bias))
    assert _close(_nhwc(pair(_nchw(torch, x))), layer(x).numpy())
