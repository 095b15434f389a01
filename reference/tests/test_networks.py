"""Dense layers and feedforward networks: the forward formula, the four backpropagation
equations of note 002, and the contract of shapes and dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from reference import Dense, Sequential, activations, losses, registry


def test_dense_computes_bias_plus_weighted_sum_note_000() -> None:
    """z_i = w_{0,i} + Σ_j x_j w_{j,i}, for two units and three inputs, by hand."""
    layer = Dense(3, 2)
    layer.W = np.array([[1.0, -1.0], [2.0, 0.0], [0.5, 3.0]])
    layer.b = np.array([0.25, -0.5])
    x = np.array([[1.0, 2.0, 4.0]])
    np.testing.assert_array_equal(layer.forward(x), [[0.25 + 1 + 4 + 2, -0.5 - 1 + 12]])


def test_backward_follows_the_four_equations_of_note_002() -> None:
    """A 2-layer sigmoid network, its gradients written out equation by equation."""
    rng = np.random.default_rng(3)
    model = Sequential([Dense(3, 4, "sigmoid"), Dense(4, 2, "sigmoid")], seed=3)
    x, y = rng.standard_normal((5, 3)), rng.uniform(size=(5, 2))
    (W1, b1), (W2, b2) = model.params
    z1 = x @ W1 + b1
    a1 = 1 / (1 + np.exp(-z1))
    z2 = a1 @ W2 + b2
    a2 = 1 / (1 + np.exp(-z2))
    grad_a2 = (a2 - y) / y.shape[0]                       # ∇_a C for C = half MSE
    delta2 = grad_a2 * a2 * (1 - a2)                      # (1) δ^L = ∇_a C ⊙ σ'(z^L)
    delta1 = (delta2 @ W2.T) * a1 * (1 - a1)              # (2) δ^l = (δ^{l+1} W^{l+1}ᵀ) ⊙ σ'(z^l)
    expected = [(x.T @ delta1, delta1.sum(0)),           # (3) ∂C/∂b = δ, (4) ∂C/∂W = aᵀ δ
                (a1.T @ delta2, delta2.sum(0))]

    out = model.forward(x)
    model.backward(losses.half_mean_squared_error_gradient(y, out))
    for (dW, db), (eW, eb) in zip(model.grads, expected, strict=True):
        np.testing.assert_allclose(dW, eW, rtol=1e-13)
        np.testing.assert_allclose(db, eb, rtol=1e-13)


def test_note_004_network_maps_four_xor_rows_to_two_outputs() -> None:
    model = Sequential([Dense(3, 5, "sigmoid"), Dense(5, 8, "sigmoid"),
                        Dense(8, 2, "sigmoid")], seed=0)
    y = model.forward(registry.XOR_INPUTS)  # integer data, converted to float64
    assert y.shape == (4, 2) and y.dtype == np.float64
    assert np.all((y > 0) & (y < 1))
    assert [W.shape for W, _ in model.params] == [(3, 5), (5, 8), (8, 2)]
    dx = model.backward(np.ones_like(y))
    assert dx.shape == (4, 3)
    assert [(dW.shape, db.shape) for dW, db in model.grads] == \
        [((3, 5), (5,)), ((5, 8), (8,)), ((8, 2), (2,))]


def test_the_same_seed_gives_the_same_weights_and_glorot_bounds_hold() -> None:
    first = Sequential([Dense(30, 20), Dense(20, 10)], seed=42)
    second = Sequential([Dense(30, 20), Dense(20, 10)], seed=42)
    for (W1, b1), (W2, _) in zip(first.params, second.params, strict=True):
        np.testing.assert_array_equal(W1, W2)
        np.testing.assert_array_equal(b1, np.zeros_like(b1))
    assert np.max(np.abs(first.layers[0].W)) <= np.sqrt(6 / (30 + 20))


def test_float32_model_computes_in_float32() -> None:
    model = Sequential([Dense(3, 4, "gelu", dtype=np.float32),
                        Dense(4, 2, "softmax", dtype=np.float32)], seed=0)
    y = model.forward(np.ones((2, 3), np.float32))
    dx = model.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert all(dW.dtype == db.dtype == np.float32 for dW, db in model.grads)


def test_wrong_input_width_names_the_layer_and_both_shapes() -> None:
    model = Sequential([Dense(3, 5, "sigmoid"), Dense(5, 2)], seed=0)
    with pytest.raises(ValueError, match=r"Sequential: input x must have shape \(N, 3\), "
                                         r"got \(4, 2\)"):
        model.forward(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"Dense\(5, 2, identity\): input x must have shape"):
        model.layers[1].forward(np.zeros((4, 3)))


def test_input_without_a_batch_dimension_is_refused() -> None:
    with pytest.raises(ValueError, match=r"must have shape \(N, 3\), got \(3,\)"):
        Dense(3, 2).forward(np.zeros(3))


def test_an_input_of_the_other_float_dtype_is_refused_not_cast() -> None:
    with pytest.raises(TypeError, match=r"float32 but .* computes in float64"):
        Dense(3, 2).forward(np.zeros((1, 3), np.float32))


def test_weights_are_assignable_with_their_shape_checked() -> None:
    layer = Dense(3, 2)
    layer.W = np.ones((3, 2))
    with pytest.raises(ValueError, match=r"W must have shape \(3, 2\), got \(2, 3\)"):
        layer.W = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"b must have shape \(2,\), got \(3,\)"):
        layer.b = np.ones(3)


def test_mismatched_layer_widths_are_refused_when_the_model_is_built() -> None:
    with pytest.raises(ValueError, match="outputs 5 features but layer 1"):
        Sequential([Dense(3, 5), Dense(4, 2)])


def test_backward_before_forward_says_what_to_do() -> None:
    with pytest.raises(RuntimeError, match="call forward"):
        Dense(2, 2).backward(np.ones((1, 2)))


def test_activation_parameters_reach_the_layer() -> None:
    layer = Dense(1, 1, activations.get("leaky_relu", negative_slope=0.25))
    layer.W, layer.b = np.array([[1.0]]), np.array([0.0])
    np.testing.assert_array_equal(layer.forward(np.array([[-4.0]])), [[-1.0]])
