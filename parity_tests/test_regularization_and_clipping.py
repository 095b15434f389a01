"""L2 regularisation, weight decay and gradient clipping as torch and Keras do them: each
difference shown in the frameworks themselves (the registry's fit cases show the bridged
trajectories)."""

from __future__ import annotations

import numpy as np
import pytest

W = np.array([[1.0, -2.0], [0.5, 3.0]])
B = np.array([0.25, -1.0])


def _keras_dense(regularizer):
    import keras
    layer = keras.layers.Dense(2, kernel_regularizer=regularizer, dtype="float64")
    layer.build((None, 2))
    layer.kernel.assign(W)
    layer.bias.assign(B)
    return layer


def test_keras_l2_adds_lambda_w_squared_whose_gradient_is_2_lambda_w_and_spares_the_bias(
        tf) -> None:
    import keras
    layer = _keras_dense(keras.regularizers.L2(0.125))
    with tf.GradientTape() as tape:
        penalty = tf.add_n(layer.losses)
    kernel_grad, bias_grad = tape.gradient(penalty, [layer.kernel, layer.bias])
    assert float(penalty) == 0.125 * np.sum(W**2)
    np.testing.assert_array_equal(kernel_grad.numpy(), 0.25 * W)
    assert bias_grad is None  # the bias is not in the loss term at all


def test_torch_weight_decay_adds_lambda_w_and_decays_the_bias_too(torch) -> None:
    linear = torch.nn.Linear(2, 2, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(W.T))
        linear.bias.copy_(torch.from_numpy(B))
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.5, weight_decay=0.125)
    for p in linear.parameters():
        p.grad = torch.zeros_like(p)  # no data gradient: only the decay moves them
    optimizer.step()
    np.testing.assert_array_equal(linear.weight.detach().numpy(), W.T * (1 - 0.5 * 0.125))
    np.testing.assert_array_equal(linear.bias.detach().numpy(), B * (1 - 0.5 * 0.125))


def test_keras_rounds_the_l2_lambda_through_float32(tf) -> None:
    import keras
    layer = _keras_dense(keras.regularizers.L2(0.1))
    penalty = float(tf.add_n(layer.losses))
    assert penalty == pytest.approx(float(np.float32(0.1)) * np.sum(W**2), rel=1e-15)
    assert abs(penalty / (0.1 * np.sum(W**2)) - 1) > 1e-9  # 0.1 acts as 0.10000000149


def test_keras_clipnorm_clips_each_variable_torch_clip_grad_norm_all_together(tf, torch) -> None:
    import keras
    grads = [np.array([3.0, 4.0]), np.array([0.0, 0.5])]
    variables = [tf.Variable(np.zeros(2)) for _ in grads]
    keras.optimizers.SGD(learning_rate=1.0, clipnorm=1.0).apply_gradients(
        zip([tf.constant(-g) for g in grads], variables, strict=True))  # p ← 0 − (−g_clipped)
    keras_norms = [np.linalg.norm(v.numpy()) for v in variables]
    params = [torch.zeros(2, dtype=torch.float64, requires_grad=True) for _ in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.from_numpy(g.copy())
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    torch_norms = [np.linalg.norm(p.grad.numpy()) for p in params]
    np.testing.assert_allclose(keras_norms, [1.0, 0.5], rtol=1e-15)  # each alone
    np.testing.assert_allclose(torch_norms, np.array([5.0, 0.5]) / (np.sqrt(25.25) + 1e-6),
                               rtol=1e-15)  # together, and 1e-6 short


def test_keras_global_clipnorm_is_torch_clip_grad_norm_up_to_its_1e6(tf, torch) -> None:
    import keras
    grads = [np.array([3.0, 4.0]), np.array([0.0, 0.5])]
    variables = [tf.Variable(np.zeros(2)) for _ in grads]
    keras.optimizers.SGD(learning_rate=1.0, global_clipnorm=1.0).apply_gradients(
        zip([tf.constant(-g) for g in grads], variables, strict=True))
    params = [torch.zeros(2, dtype=torch.float64, requires_grad=True) for _ in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.from_numpy(g.copy())
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    for v, p in zip(variables, params, strict=True):
        ratio = np.linalg.norm(p.grad.numpy()) / np.linalg.norm(v.numpy())
        assert ratio == pytest.approx(np.sqrt(25.25) / (np.sqrt(25.25) + 1e-6), rel=1e-14)
