"""Dense and Sequential backward on the fast paths: no dL/dx for the data, a batch of one."""

from __future__ import annotations

import weakref

import numpy as np

from reference import Dense, Sequential, losses


def test_skipping_the_input_gradient_changes_no_weight_gradient() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((6, 4)), rng.uniform(size=(6, 2))
    grads = []
    for input_gradient in (True, False):
        model = Sequential([Dense(4, 3, "tanh"), Dense(3, 2, "sigmoid")], seed=5)
        out = model.forward(x)
        dx = model.backward(losses.mean_squared_error_gradient(y, out),
                            input_gradient=input_gradient)
        assert (dx is None) == (not input_gradient)
        grads.append(model.grads)
    for (dW, db), (dW_skipped, db_skipped) in zip(*grads, strict=True):
        np.testing.assert_array_equal(dW_skipped, dW)
        np.testing.assert_array_equal(db_skipped, db)


def test_dense_backward_without_input_gradient_returns_none_and_stores_grads() -> None:
    layer = Dense(3, 2, "relu", seed=1)
    x = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 3.0]])
    z = x @ layer.W + layer.b
    g = np.array([[1.0, -1.0], [0.5, 2.0]])
    layer.forward(x)
    assert layer.backward(g, input_gradient=False) is None
    delta = g * (z > 0)                                  # ReLU'(z) = 1 where z > 0
    np.testing.assert_allclose(layer.grads[0], x.T @ delta, rtol=1e-15)
    np.testing.assert_allclose(layer.grads[1], delta.sum(axis=0), rtol=1e-15)


def test_a_batch_of_one_gives_the_outer_product_as_weight_gradient() -> None:
    """dL/dW = xᵀ δ is the outer product x ⊗ δ for one sample (computed without matmul)."""
    layer = Dense(3, 2, seed=2)
    x, g = np.array([[1.0, -2.0, 0.5]]), np.array([[0.25, -4.0]])
    layer.forward(x)
    layer.backward(g)                                    # identity: δ = g
    np.testing.assert_array_equal(layer.grads[0], [[0.25, -4.0], [-0.5, 8.0], [0.125, -2.0]])
    np.testing.assert_array_equal(layer.grads[1], [0.25, -4.0])


def test_an_identity_dense_layer_is_its_formulas_and_leaves_g_alone() -> None:
    """The linear output's fast path (z returned, δ = g) gives y = x W + b, dW = xᵀ g,
    db = Σ g, dx = g Wᵀ exactly, in float32 and float64, and does not write to g."""
    rng = np.random.default_rng(8)
    for dtype in ("float32", "float64"):
        layer = Dense(5, 3, dtype=dtype, seed=2)
        layer.set("b", rng.standard_normal(3).astype(dtype))
        x, g = rng.standard_normal((7, 5)).astype(dtype), rng.standard_normal((7, 3)).astype(dtype)
        g_before = g.copy()
        np.testing.assert_array_equal(layer.forward(x), x @ layer.W + layer.b)
        dx = layer.backward(g)
        np.testing.assert_array_equal(g, g_before)
        np.testing.assert_array_equal(layer.gradients["W"], x.T @ g)
        np.testing.assert_array_equal(layer.gradients["b"], g.sum(axis=0))
        np.testing.assert_array_equal(dx, g @ layer.W.T)
        assert dx.dtype == np.dtype(dtype)


def _two_steps(layer: Dense, keep_first: bool) -> tuple[weakref.ref, np.ndarray | None]:
    """Two backward passes on different data; a weak reference to the first dL/dW (which
    does not count as holding it), and the first dL/dW itself where ``keep_first``."""
    rng = np.random.default_rng(3)
    layer.forward(rng.standard_normal((4, 3)))
    layer.backward(rng.standard_normal((4, 2)))
    first = layer.gradients["W"] if keep_first else None
    first_ref = weakref.ref(layer.gradients["W"])
    layer.forward(rng.standard_normal((4, 3)))
    layer.backward(rng.standard_normal((4, 2)))
    return first_ref, first


def test_a_weight_gradient_nobody_holds_is_rewritten_in_place() -> None:
    """The next backward writes its dL/dW into the last one's array (no fresh memory)."""
    layer = Dense(3, 2, seed=4)
    first_ref, _ = _two_steps(layer, keep_first=False)
    assert first_ref() is layer.gradients["W"]


def test_a_weight_gradient_someone_holds_is_never_changed() -> None:
    """Kept by the caller, the first step's dL/dW stays that step's; the next is a new array."""
    rng = np.random.default_rng(3)
    alone = Dense(3, 2, seed=4)
    alone.forward(rng.standard_normal((4, 3)))
    alone.backward(rng.standard_normal((4, 2)))
    first_step = alone.gradients["W"].copy()
    layer = Dense(3, 2, seed=4)
    _, kept = _two_steps(layer, keep_first=True)
    assert kept is not layer.gradients["W"]
    np.testing.assert_array_equal(kept, first_step)
    assert not np.array_equal(layer.gradients["W"], first_step)
