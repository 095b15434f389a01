"""Every derivative in the spec against central finite differences, generated from the registry.

The spec is never checked only against itself: for each registered case (float64), the
hand-written derivative (activation vjp, loss gradient, backward pass) must match
(f(x + h) − f(x − h)) / 2h. The registry keeps inputs away from kinks.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from reference import activations, losses, registry
from reference.gradcheck import gradient_error, numerical_gradient

# Central differences with h = 1e-6 carry ~1e-10 of truncation and rounding error.
FD_TOLERANCE = 1e-7

# Cases with clipped probabilities (exactly 0 or 1) sit on the clip's kink (gradcheck is
# False); extreme cases need a magnitude-aware bound (parity_tests/test_properties.py).
CASES = [pytest.param(concept, case, id=f"{concept.name}:{case.label}")
         for concept in registry.CONCEPTS if concept.module in registry.HAND_DIFFERENTIATED
         for case in concept.cases if case.gradcheck and not case.extreme]


def _data(case: registry.Case, batch: int) -> tuple[dict, np.random.Generator]:
    rng = np.random.default_rng(zlib.crc32(f"fd {case.label} {batch}".encode()))
    return case.make(rng, np.dtype(np.float64), batch), rng


@pytest.mark.parametrize("batch", [1, 4], ids=lambda b: f"batch{b}")
@pytest.mark.parametrize(("concept", "case"), CASES)
def test_derivative_matches_finite_differences(concept, case, batch) -> None:
    data, rng = _data(case, batch)
    if concept.module == "activations":
        act = activations.get(concept.name, **data["params"])
        z, upstream = data["z"], rng.standard_normal(data["z"].shape)
        analytic = act.vjp(z, upstream)
        numerical = numerical_gradient(lambda v: float(np.sum(upstream * act(v))), z)
        assert gradient_error(analytic, numerical) < FD_TOLERANCE
    elif concept.module == "losses":
        loss, grad = losses.get(concept.name), losses.gradient(concept.name)
        y_true, y_pred = data["y_true"], data["y_pred"]
        numerical = numerical_gradient(lambda v: loss(y_true, v), y_pred)
        assert gradient_error(grad(y_true, y_pred), numerical) < FD_TOLERANCE
    else:
        _check_model(data)


def _check_model(data: dict) -> None:
    model, x, y_true = data["model"], data["x"], data["y_true"]
    loss, loss_grad = losses.get(data["loss"]), losses.gradient(data["loss"])

    def total(_: np.ndarray) -> float:
        return loss(y_true, model.forward(x))

    y = model.forward(x)
    dx = model.backward(loss_grad(y_true, y))
    grads = [(dW.copy(), db.copy()) for dW, db in model.grads]
    numerical_dx = numerical_gradient(lambda v: loss(y_true, model.forward(v)), x)
    assert gradient_error(dx, numerical_dx) < FD_TOLERANCE, "dL/dx"
    for k, layer in enumerate(model.layers):
        # numerical_gradient perturbs a copy; write it back into the layer for each probe.
        def through_W(W: np.ndarray, layer=layer) -> float:
            saved, layer.W = layer.W, W
            value = total(W)
            layer.W = saved
            return value

        def through_b(b: np.ndarray, layer=layer) -> float:
            saved, layer.b = layer.b, b
            value = total(b)
            layer.b = saved
            return value

        assert gradient_error(grads[k][0], numerical_gradient(through_W, layer.W)) \
            < FD_TOLERANCE, f"dL/dW of layer {k}"
        assert gradient_error(grads[k][1], numerical_gradient(through_b, layer.b)) \
            < FD_TOLERANCE, f"dL/db of layer {k}"


def test_a_wrong_derivative_is_caught(monkeypatch) -> None:
    """The check has teeth: a sigmoid derivative missing its (1 − σ) factor fails it."""
    monkeypatch.setitem(activations._DERIVATIVES, "sigmoid", activations.sigmoid)
    case = registry.concept("sigmoid").cases[0]
    data, rng = _data(case, 4)
    act = activations.get("sigmoid")
    upstream = rng.standard_normal(data["z"].shape)
    numerical = numerical_gradient(lambda v: float(np.sum(upstream * act(v))), data["z"])
    assert gradient_error(act.vjp(data["z"], upstream), numerical) > 1e-2
