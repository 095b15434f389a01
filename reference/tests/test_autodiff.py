"""The spec's autodiff against the spec's hand-written derivatives and against finite differences.

Every registered case of the activations, losses, layers and networks is differentiated
by the graph of ``reference.autodiff`` and compared with the hand-written derivative
(``Activation.vjp``, ``losses.*_gradient``, ``Sequential.backward``) at the parity
tolerance, and with central differences in float64. The other tests check, one claim
each, what note 001 leaves empty: Jacobians, the chain rule, the computational graph.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from parity_tests.tolerances import tolerance
from reference import Dense, Sequential, activations, losses, registry
from reference import autodiff as ad
from reference.gradcheck import gradient_error, numerical_gradient

DTYPES = (np.float64, np.float32)
FINITE_DIFFERENCE_ERROR = 1e-7  # central differences, h = 1e-6: ~1e-10, 1e-9 at worst seen

# The graph records activations, losses and dense networks (``autodiff.forward``).
RECORDED = [concept for concept in registry.CONCEPTS
            if concept.module in ("activations", "losses") or concept.name in ("Dense",
                                                                               "Sequential")]
CASES = [pytest.param(concept, case, id=f"{concept.name}:{case.label}")
         for concept in RECORDED for case in concept.cases]


def _inputs(case: registry.Case, dtype, batch: int) -> dict:
    key = repr((case.label, np.dtype(dtype).name, batch)).encode()
    return case.make(np.random.default_rng(zlib.crc32(key)), np.dtype(dtype), batch)


def _scalar_function(concept: registry.Concept, data: dict):
    """The case as (point, f, hand-written gradient): f maps a Tensor at the point to a scalar."""
    if concept.module == "activations":
        act = activations.get(concept.name, **data["params"])
        upstream = np.random.default_rng(0).standard_normal(data["z"].shape).astype(
            data["z"].dtype)
        return (data["z"], lambda z: (ad.activation(act)(z) * upstream).sum(),
                act.vjp(data["z"], upstream))
    if concept.module == "losses":
        y_true = data["y_true"]
        return (data["y_pred"], lambda y_pred: ad.LOSSES[concept.name](y_true, y_pred),
                losses.gradient(concept.name)(y_true, data["y_pred"]))
    model, y_true, loss = data["model"], data["y_true"], data["loss"]
    _, dx, _ = _backpropagation(model, data["x"], y_true, loss)
    return data["x"], lambda x: ad.LOSSES[loss](y_true, ad.forward(model, x)), dx


def _backpropagation(model: Sequential, x: np.ndarray, y_true: np.ndarray, loss: str):
    """The spec's hand-written route: forward, loss, ``Sequential.backward``."""
    y = model.forward(x)
    dx = model.backward(losses.gradient(loss)(y_true, y))
    return losses.get(loss)(y_true, y), dx, model.grads


def _gradient(f, point: np.ndarray) -> np.ndarray:
    leaf = ad.Tensor(point, requires_grad=True)
    return ad.grad(f(leaf), [leaf])[0]


@pytest.mark.parametrize("batch", (1, 5), ids=lambda b: f"batch{b}")
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize(("concept", "case"), CASES)
def test_autodiff_equals_the_hand_written_derivative(concept, case, dtype, batch) -> None:
    point, f, hand_written = _scalar_function(concept, _inputs(case, dtype, batch))
    derived = _gradient(f, point)
    assert derived.dtype == np.dtype(dtype)
    tol = tolerance(dtype, "gradient")
    assert tol.error(derived, hand_written) <= tol.rtol


# Kinks (gradcheck False) and extremes (a magnitude-aware bound, in the property tests)
# are left to the comparison with the hand-written derivatives above.
FD_CASES = [param for param in CASES if param.values[1].gradcheck
            and not param.values[1].extreme]


@pytest.mark.parametrize("batch", (1, 5), ids=lambda b: f"batch{b}")
@pytest.mark.parametrize(("concept", "case"), FD_CASES)
def test_autodiff_equals_finite_differences(concept, case, batch) -> None:
    point, f, _ = _scalar_function(concept, _inputs(case, np.float64, batch))
    numerical = numerical_gradient(lambda v: float(f(ad.Tensor(v)).data), point)
    assert gradient_error(_gradient(f, point), numerical) < FINITE_DIFFERENCE_ERROR


# The graph records dense networks, the notes' networks (``autodiff.forward``).
NETWORK_CASES = [pytest.param(case, id=case.label)
                 for name in ("Dense", "Sequential") for case in registry.concept(name).cases]
NETWORKS = [pytest.param(case, id=case.label) for case in registry.concept("Sequential").cases]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", NETWORK_CASES)
def test_network_gradients_equal_backpropagation(case, dtype) -> None:
    """One walk of the graph gives what note 002's four equations give, layer by layer."""
    data = _inputs(case, dtype, 5)
    args = (data["model"], data["x"], data["y_true"], data["loss"])
    value, dx, grads = ad.network_gradients(*args)
    spec_value, spec_dx, spec_grads = _backpropagation(*args)
    loss_tol, tol = tolerance(dtype, "loss"), tolerance(dtype, "gradient")
    assert loss_tol.error(value, spec_value) <= loss_tol.rtol
    for derived, hand_written in zip([dx, *(g for pair in grads for g in pair)],
                                     [spec_dx, *(g for pair in spec_grads for g in pair)],
                                     strict=True):
        assert tol.error(derived, hand_written) <= tol.rtol


@pytest.mark.parametrize("case", NETWORKS)
def test_network_parameter_gradients_equal_finite_differences(case) -> None:
    data = _inputs(case, np.float64, 5)
    model, y_true, loss = data["model"], data["y_true"], data["loss"]
    arrays = [data["x"], *(p for layer in model.layers for p in layer.params)]

    def loss_at(k: int, value: np.ndarray) -> float:
        at = [value if i == k else a for i, a in enumerate(arrays)]
        params = [(ad.Tensor(W), ad.Tensor(b)) for W, b in zip(at[1::2], at[2::2], strict=True)]
        return float(ad.LOSSES[loss](y_true, ad.forward(model, ad.Tensor(at[0]), params)).data)

    _, dx, grads = ad.network_gradients(model, data["x"], y_true, loss)
    for k, derived in enumerate([dx, *(g for pair in grads for g in pair)]):
        numerical = numerical_gradient(lambda v, k=k: loss_at(k, v), arrays[k])
        assert gradient_error(derived, numerical) < FINITE_DIFFERENCE_ERROR


# --- Note 001: the perceptron's gradient, worked by hand. ---

def test_note_001_perceptron_gradient_by_hand() -> None:
    """DL = 2(σ(xᵀw) − y)·σ(1 − σ)·xᵀ, the bias folded into x as a leading 1."""
    x, w, y = [1.0, 2.0, -1.0], [0.5, -0.25, 0.1], 1.0
    s = 1.0 / (1.0 + math.exp(-(0.5 - 0.5 - 0.1)))  # xᵀw = 0.5·1 − 0.25·2 + 0.1·(−1) = −0.1
    by_hand = [2.0 * (s - y) * s * (1.0 - s) * xi for xi in x]

    weights = ad.Tensor(np.array(w).reshape(3, 1), requires_grad=True)
    prediction = ad.sigmoid(ad.Tensor(np.array([x])) @ weights)
    (derived,) = ad.grad(ad.square(prediction - y).sum(), [weights])
    np.testing.assert_allclose(derived.ravel(), by_hand, rtol=1e-14)


# --- Jacobians. ---

def test_softmax_jacobian_is_diag_s_minus_s_s_transposed() -> None:
    z = np.array([[1.0, -0.5, 2.0, 0.0], [0.3, 0.3, -1.0, 4.0]])
    s = activations.softmax(z)
    J = ad.jacobian(ad.softmax, z)
    assert J.shape == (2, 4, 2, 4)
    for n in range(2):
        np.testing.assert_allclose(J[n, :, n, :], np.diag(s[n]) - np.outer(s[n], s[n]),
                                   rtol=1e-14, atol=1e-16)
    assert not np.any(J[0, :, 1, :]) and not np.any(J[1, :, 0, :])  # samples do not mix


def test_dense_jacobian_is_phi_prime_times_w_transposed() -> None:
    """∂y[n, i]/∂x[m, j] = δ_nm φ'(z[n, i]) W[j, i]."""
    layer = Dense(4, 3, "tanh", seed=3)
    layer.b = np.array([0.1, -0.2, 0.3])
    x = np.random.default_rng(1).standard_normal((2, 4))
    slopes = activations.tanh_derivative(x @ layer.W + layer.b)
    J = ad.jacobian(lambda v: ad.forward(layer, v), x)
    assert J.shape == (2, 3, 2, 4)
    for n in range(2):
        np.testing.assert_allclose(J[n, :, n, :], slopes[n][:, None] * layer.W.T, rtol=1e-14)
    assert not np.any(J[0, :, 1, :])


def test_a_seeded_backward_pass_is_a_row_combination_of_the_jacobian() -> None:
    """Seeded with g, the walk returns gᵀJ without ever forming J."""
    z = np.array([[0.5, -1.0, 2.0]])
    g = np.array([[1.0, -2.0, 0.5]])
    leaf = ad.Tensor(z, requires_grad=True)
    (vjp,) = ad.grad(ad.softmax(leaf), [leaf], seed=g)
    J = ad.jacobian(ad.softmax, z).reshape(3, 3)
    np.testing.assert_allclose(vjp.ravel(), g.ravel() @ J, rtol=1e-14)


@pytest.mark.parametrize("case", NETWORKS)
def test_chain_rule_product_of_layer_jacobians_is_the_network_jacobian(case) -> None:
    data = _inputs(case, np.float64, 3)
    model, x = data["model"], data["x"]
    whole = ad.jacobian(lambda v: ad.forward(model, v), x)
    chained = ad.chain_rule(ad.layer_jacobians(model, x))
    assert chained.shape == whole.shape == (*model.forward(x).shape, *x.shape)
    np.testing.assert_allclose(chained, whole, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", NETWORKS)
def test_chain_rule_gradient_times_jacobians_is_the_backward_pass(case) -> None:
    """∂L/∂x = ∇_y Lᵀ J_L ⋯ J_1: the hand-written backward pass, as a product of matrices."""
    data = _inputs(case, np.float64, 3)
    model, x, y_true, loss = data["model"], data["x"], data["y_true"], data["loss"]
    y = model.forward(x)
    dL_dy = losses.gradient(loss)(y_true, y)
    chained = ad.chain_rule(ad.layer_jacobians(model, x)).reshape(y.size, x.size)
    np.testing.assert_allclose((dL_dy.ravel() @ chained).reshape(x.shape), model.backward(dL_dy),
                               rtol=1e-12, atol=1e-15)


# --- Second derivatives. ---

def test_hessian_of_mean_squared_error_is_2_over_n_times_identity() -> None:
    y_true = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])
    y_pred = np.array([[0.5, 2.5], [1.0, -2.0], [2.0, 0.0]])
    H = ad.hessian(lambda p: ad.mean_squared_error(y_true, p), y_pred)
    np.testing.assert_allclose(H.reshape(6, 6), 2.0 / 6.0 * np.eye(6), atol=1e-12)


def test_hessian_of_cross_entropy_with_logits_is_the_softmax_jacobian_over_n() -> None:
    """∂L/∂x = (softmax(x) − y)/N, so ∂²L/∂x² = (diag(s) − s sᵀ)/N per sample."""
    x = np.array([[1.0, -0.5, 2.0], [0.0, 0.3, -1.0]])
    y_true = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    H = ad.hessian(lambda v: ad.categorical_cross_entropy_with_logits(y_true, v), x)
    s = activations.softmax(x)
    for n in range(2):
        np.testing.assert_allclose(H[n, :, n, :], (np.diag(s[n]) - np.outer(s[n], s[n])) / 2,
                                   atol=1e-12)
    np.testing.assert_allclose(H[0, :, 1, :], 0.0, atol=1e-12)


def test_hessian_of_a_network_loss_is_symmetric() -> None:
    data = _inputs(registry.concept("Sequential").cases[0], np.float64, 2)
    model, y_true, loss = data["model"], data["y_true"], data["loss"]
    H = ad.hessian(lambda x: ad.LOSSES[loss](y_true, ad.forward(model, x)),
                   data["x"]).reshape(6, 6)
    np.testing.assert_allclose(H, H.T, atol=1e-12)


def test_hessian_refuses_float32() -> None:
    with pytest.raises(TypeError, match="float64"):
        ad.hessian(lambda v: ad.square(v).sum(), np.ones(3, dtype=np.float32))


# --- The computational graph. ---

def test_a_node_used_twice_gets_the_sum_of_both_gradients() -> None:
    """d(x·x + x)/dx = 2x + 1: x feeds the product twice and the sum once."""
    x = ad.Tensor(np.array([3.0, -1.0]), requires_grad=True)
    (derived,) = ad.grad((x * x + x).sum(), [x])
    np.testing.assert_array_equal(derived, [7.0, -1.0])


def test_a_shared_intermediate_passes_on_its_summed_gradient_once() -> None:
    """z = e² + e with e = exp(x): dz/dx = (2e + 1)·e, e's two uses summed before exp's VJP."""
    x = ad.Tensor(np.array([0.5]), requires_grad=True)
    e = ad.exp(x)
    (derived,) = ad.grad((e * e + e).sum(), [x])
    expected = (2.0 * math.exp(0.5) + 1.0) * math.exp(0.5)
    np.testing.assert_allclose(derived, [expected], rtol=1e-15)


@pytest.mark.parametrize("exponent", [2, 3, -1.5, 0.5])
def test_power_with_a_scalar_exponent_equals_finite_differences(exponent: float) -> None:
    """d(xᵖ)/dx = p·xᵖ⁻¹, the micrograd ``__pow__``."""
    point = np.array([0.5, 1.5, 3.0])
    derived = _gradient(lambda x: (x ** exponent).sum(), point)
    numerical = numerical_gradient(lambda v: float(np.sum(v ** exponent)), point)
    assert gradient_error(derived, numerical) < FINITE_DIFFERENCE_ERROR
    np.testing.assert_allclose(derived, exponent * point ** (exponent - 1), rtol=1e-15)


def test_power_keeps_float32_and_refuses_a_tensor_exponent() -> None:
    x = ad.Tensor(np.array([2.0], dtype=np.float32), requires_grad=True)
    assert (x ** 2).data.dtype == np.float32
    assert ad.grad((x ** 2).sum(), [x])[0].dtype == np.float32
    with pytest.raises(TypeError, match=r"Tensor\.__pow__: the exponent must be a real scalar"):
        x ** x


def test_broadcast_bias_gradient_is_summed_over_the_batch() -> None:
    z = ad.Tensor(np.arange(6.0).reshape(3, 2))
    b = ad.Tensor(np.zeros(2), requires_grad=True)
    (db,) = ad.grad(((z + b) * np.array([[1.0, 2.0]])).sum(), [b])
    np.testing.assert_array_equal(db, [3.0, 6.0])  # three rows, each contributing (1, 2)


def test_a_non_scalar_output_needs_a_seed() -> None:
    x = ad.Tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(ValueError, match="seed"):
        ad.grad(ad.square(x), [x])


def test_an_input_that_does_not_require_grad_is_refused() -> None:
    x = ad.Tensor(np.ones(2))
    with pytest.raises(ValueError, match="requires_grad=True"):
        ad.grad(ad.square(x).sum(), [x])


def test_an_input_the_output_does_not_depend_on_gets_zeros() -> None:
    x, unused = (ad.Tensor(np.ones(2), requires_grad=True) for _ in range(2))
    np.testing.assert_array_equal(ad.grad(ad.square(x).sum(), [unused])[0], [0.0, 0.0])


def test_the_step_has_no_edge_back_so_its_gradient_is_zero() -> None:
    z = ad.Tensor(np.array([-1.0, 2.0]), requires_grad=True)
    np.testing.assert_array_equal(ad.grad(ad.step(z).sum(), [z])[0], [0.0, 0.0])


def test_backward_accumulates_into_leaves_until_zero_grad() -> None:
    x = ad.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = ad.square(x)  # not a leaf: it never stores a gradient
    loss = y.sum()
    loss.backward()
    loss.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])  # 2x, twice
    assert y.grad is None and not y.is_leaf
    ad.zero_grad([x])
    assert x.grad is None
    ad.grad(loss, [x])  # grad() returns its result and stores nothing
    assert x.grad is None


@pytest.mark.parametrize(("name", "derivative_at_zero"), [
    ("sigmoid", 0.25), ("softplus", 0.5), ("relu", 0.0), ("leaky_relu", 0.01), ("elu", 1.0),
    ("silu", 0.5), ("gelu", 0.5),
])
def test_derivative_at_zero_is_the_spec_convention(name: str, derivative_at_zero: float) -> None:
    """At 0 the graph gives what ``activations.*_derivative`` gives (and torch, and TF)."""
    z = ad.Tensor(np.zeros(1), requires_grad=True)
    (derived,) = ad.grad(ad.ACTIVATIONS[name](z).sum(), [z])
    assert derived[0] == derivative_at_zero == activations.get(name).derivative(np.zeros(1))[0]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", [n for n in activations.NAMES if n != "exponential"])
def test_activations_are_finite_at_extreme_inputs(name: str, dtype) -> None:
    """No overflow (pytest turns NumPy warnings into errors), values and gradients finite."""
    z = ad.Tensor(np.array([[-1000.0, -30.0, 0.0, 30.0, 1000.0]], dtype=dtype),
                  requires_grad=True)
    out = ad.ACTIVATIONS[name](z)
    (derived,) = ad.grad(out.sum(), [z])
    assert out.dtype == derived.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(derived))
    np.testing.assert_allclose(out.data, activations.get(name)(z.data), rtol=1e-6)


def test_logit_losses_are_finite_at_extreme_logits() -> None:
    logits = ad.Tensor(np.array([[-1000.0, 0.0, 1000.0]]), requires_grad=True)
    for loss, target in [("binary_cross_entropy_with_logits", np.array([[1.0, 0.0, 0.0]])),
                         ("categorical_cross_entropy_with_logits", np.array([[1.0, 0.0, 0.0]]))]:
        value = ad.LOSSES[loss](target, logits)
        (derived,) = ad.grad(value, [logits])
        assert np.isfinite(value.data) and np.all(np.isfinite(derived))
        np.testing.assert_allclose(derived, losses.gradient(loss)(target, logits.data), rtol=1e-15)


def test_a_graph_refuses_to_mix_float32_and_float64() -> None:
    with pytest.raises(TypeError, match="one dtype"):
        ad.Tensor(np.ones(2, dtype=np.float32)) + ad.Tensor(np.ones(2))


def test_python_numbers_keep_a_float32_graph_float32() -> None:
    x = ad.Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    y = (0.5 * x + 1.0) / 3.0 - 2.0
    assert y.dtype == np.float32
    assert ad.grad(y.sum(), [x])[0].dtype == np.float32


def test_a_model_refuses_an_input_of_the_other_float_dtype() -> None:
    model = Sequential([Dense(2, 1, "sigmoid", dtype=np.float32)])
    with pytest.raises(TypeError, match="float32"):
        ad.forward(model, ad.Tensor(np.ones((1, 2))))
