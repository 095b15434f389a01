"""L2 as a loss term against coupled and decoupled weight decay, and gradient clipping,
in the spec: each convention difference in numbers."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from reference import Dense, Sequential, fit, registry
from reference.optimizers import SGD, Adam

W = np.array([[1.0, -2.0], [0.5, 3.0]])
B = np.array([0.25, -1.0])


def _dense(regularizer: float = 0.0) -> Dense:
    layer = Dense(2, 2, kernel_regularizer=regularizer)
    layer.W, layer.b = W, B
    return layer


def _one_step(layer: Dense, optimizer) -> tuple[np.ndarray, np.ndarray]:
    """One step on a batch whose data gradient is zero (y = target), so only the penalty or
    the decay moves the weights."""
    x = np.array([[1.0, 2.0]])
    y = layer.forward(x)
    layer.backward(np.zeros_like(y))
    params = [layer.W.copy(), layer.b.copy()]
    optimizer.step(params, list(layer.grads), optimizer.init(params))
    return params[0], params[1]


def test_the_l2_term_adds_lambda_w_squared_to_the_loss_and_2_lambda_w_to_its_gradient() -> None:
    layer = _dense(0.1)
    assert layer.regularization_loss() == pytest.approx(0.1 * np.sum(W**2), rel=1e-15)
    assert Sequential([layer]).regularization_loss() == layer.regularization_loss()
    layer.forward(np.array([[1.0, 2.0]]))
    layer.backward(np.zeros((1, 2)))
    np.testing.assert_allclose(layer.gradients["W"], 0.2 * W, rtol=1e-15)
    np.testing.assert_array_equal(layer.gradients["b"], 0.0)  # the bias is not penalised


def test_coupled_decay_needs_twice_lambda_for_the_same_kernel_step_and_decays_the_bias() -> None:
    eta, lam = 0.5, 0.1
    w_l2, b_l2 = _one_step(_dense(lam), SGD(eta))
    w_2lam, b_2lam = _one_step(_dense(), SGD(eta, weight_decay=2 * lam))
    w_lam, _ = _one_step(_dense(), SGD(eta, weight_decay=lam))
    np.testing.assert_allclose(w_l2, W * (1 - 2 * eta * lam), rtol=1e-15)
    np.testing.assert_allclose(w_2lam, w_l2, rtol=1e-15)  # the factor of 2
    np.testing.assert_allclose(w_lam, W * (1 - eta * lam), rtol=1e-15)  # λ alone: half the pull
    np.testing.assert_array_equal(b_l2, B)  # the loss term leaves the bias alone
    np.testing.assert_allclose(b_2lam, B * (1 - 2 * eta * lam), rtol=1e-15)  # torch's decays it


def test_with_adam_the_loss_term_is_rescaled_and_decoupled_decay_is_not() -> None:
    """Adam divides the L2 gradient by √v like any gradient (here it is the whole gradient,
    so the first step is ≈ η·sign(W)); decoupled decay shrinks by ηλ outside Adam."""
    eta, lam = 0.01, 0.1
    w_l2, _ = _one_step(_dense(lam), Adam(eta))
    w_decoupled, _ = _one_step(_dense(), Adam(eta, weight_decay=lam,
                                              decoupled_weight_decay=True))
    np.testing.assert_allclose(w_l2, W - eta * np.sign(W), rtol=1e-6)
    np.testing.assert_allclose(w_decoupled, W * (1 - eta * lam), rtol=1e-15)


def test_keras_clipnorm_clips_each_variable_and_global_clipnorm_all_together() -> None:
    grads = [np.array([3.0, 4.0]), np.array([0.0, 0.5])]  # norms 5 and 0.5, together √25.25
    per_variable = SGD(convention="keras", clipnorm=1.0)._clipped(grads)
    together = SGD(convention="keras", global_clipnorm=1.0)._clipped(grads)
    np.testing.assert_allclose(per_variable[0], [0.6, 0.8], rtol=1e-15)
    np.testing.assert_array_equal(per_variable[1], grads[1])  # under the limit: untouched
    np.testing.assert_allclose([np.linalg.norm(g) for g in together],
                               np.array([5.0, 0.5]) / np.sqrt(25.25), rtol=1e-15)


def test_torch_clips_to_slightly_less_than_the_limit() -> None:
    """clip_grad_norm_ divides by ‖g‖ + 1e-6: the clipped norm falls short of c by
    about 1e-6 / ‖g‖ relative, far above float64 rounding."""
    g = [np.array([3.0, 4.0])]
    torch_norm = np.linalg.norm(SGD(convention="torch", clipnorm=1.0)._clipped(g)[0])
    keras_norm = np.linalg.norm(SGD(convention="keras", clipnorm=1.0)._clipped(g)[0])
    assert keras_norm == pytest.approx(1.0, rel=1e-15)
    assert torch_norm == pytest.approx(5.0 / (5.0 + 1e-6), rel=1e-15)


def test_clipvalue_clips_every_entry_alike_in_both() -> None:
    g = [np.array([-3.0, 0.1, 2.0])]
    for convention in ("torch", "keras"):
        np.testing.assert_array_equal(SGD(convention=convention, clipvalue=0.5)._clipped(g)[0],
                                      [-0.5, 0.1, 0.5])


@pytest.mark.parametrize("label", ["clipnorm 0.05", "global_clipnorm 0.1", "clipvalue 0.02"])
def test_the_registry_runs_really_clip(label) -> None:
    """Each clipping case's run differs from the same run unclipped, so its parity tests
    the clipping and not only the optimizer."""
    case = next(c for c in registry.concept("fit").cases if label in c.label)
    data = case.make(np.random.default_rng(0), np.dtype(np.float64), 5)
    runs = []
    for clip in (data["optimizer"], type(data["optimizer"])(data["optimizer"].learning_rate)):
        runs.append(fit(copy.deepcopy(data["model"]), data["X"], data["Y"], optimizer=clip,
                        epochs=1, batch_size=4).loss)
    assert runs[0][1:] != pytest.approx(runs[1][1:], rel=1e-6)


def test_at_most_one_kind_of_clipping_as_in_keras() -> None:
    with pytest.raises(ValueError, match="at most one of clipnorm, global_clipnorm"):
        SGD(clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(ValueError, match="clipnorm must be a finite number > 0"):
        Adam(clipnorm=0.0)


def test_a_negative_regularizer_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="Dense: kernel_regularizer must be a finite number"):
        Dense(2, 2, kernel_regularizer=-0.1)
