"""Parity of the registry's ``autodiff`` concepts: the spec's graph against the frameworks'.

Each concept is computed by ``reference.autodiff`` and by the framework's autodiff
(``torch_impl.autodiff`` on autograd, ``tf_impl.autodiff`` on ``tf.GradientTape``).
``reference/tests/test_autodiff.py`` holds the third side: the spec's autodiff against
its hand-written backward pass and finite differences.

Second derivatives: the spec's ``hessian`` is a five-point finite difference of its
exact gradient (error about 1e-12), so it is held to the gradient tolerance in float64.
It needs float64; for a float32 case the framework's float32 Hessian is compared with
the spec's float64 one at the same inputs (float32 values are exact in float64), under
float32's tolerance: the framework's own float32 rounding is what is measured.
"""

from __future__ import annotations

import numpy as np

from parity_tests.report import Recorder
from reference import Dense, Sequential, autodiff, registry


def run_autodiff(concept: registry.Concept, data: dict, rng: np.random.Generator, fw,
                 check: Recorder) -> None:
    """Dispatch on the concept: each compares the spec's autodiff with the framework's."""
    {"jacobian": _jacobian, "layer_jacobians": _layer_jacobians, "hessian": _hessian,
     "network_gradients": _network_gradients}[concept.name](data, fw, check)


def _jacobian(data: dict, fw, check: Recorder) -> None:
    if data["of"] == "softmax":
        expected = autodiff.jacobian(autodiff.softmax, data["z"])
        actual = fw.autodiff_jacobian("softmax", data["z"])
    else:
        model = data["model"]
        expected = autodiff.jacobian(lambda x: autodiff.forward(model, x), data["x"])
        actual = fw.autodiff_jacobian("model", data["x"], model)
    check.compare("∂y/∂x", "gradient", actual, expected)


def _layer_jacobians(data: dict, fw, check: Recorder) -> None:
    expected = autodiff.layer_jacobians(data["model"], data["x"])
    actual = fw.autodiff_layer_jacobians(data["model"], data["x"])
    for k, (a, e) in enumerate(zip(actual, expected, strict=True)):
        check.compare(f"∂a{k + 1}/∂a{k}", "gradient", a, e)


def _network_gradients(data: dict, fw, check: Recorder) -> None:
    args = (data["model"], data["x"], data["y_true"], data["loss"])
    value, dx, grads = fw.autodiff_network_gradients(*args)
    spec_value, spec_dx, spec_grads = autodiff.network_gradients(*args)
    check.compare("loss", "loss", value, spec_value)
    check.compare("dL/dx", "gradient", dx, spec_dx)
    for k, ((dW, db), (sW, sb)) in enumerate(zip(grads, spec_grads, strict=True)):
        check.compare(f"dL/dW[{k}]", "gradient", dW, sW)
        check.compare(f"dL/db[{k}]", "gradient", db, sb)


def _hessian(data: dict, fw, check: Recorder) -> None:
    spec = {key: _in_float64(value) for key, value in data.items()}
    loss, y_true = autodiff.LOSSES[data["loss"]], spec["y_true"]
    if "model" in data:
        quantity, point = "∂²L/∂x²", "x"
        expected = autodiff.hessian(lambda x: loss(y_true, autodiff.forward(spec["model"], x)),
                                    spec["x"])
    else:
        quantity, point = "∂²L/∂ŷ²", "y_pred"
        expected = autodiff.hessian(lambda y_pred: loss(y_true, y_pred), spec["y_pred"])
    actual = fw.autodiff_hessian(data["loss"], data["y_true"], data[point], data.get("model"))
    check.compare(quantity, "gradient", actual, expected)


def _in_float64(value: object) -> object:
    """A float32 array or spec model as float64 (exactly: every float32 is a float64)."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(np.float64)
    if isinstance(value, Sequential):
        layers = []
        for layer in value.layers:
            copy = Dense(layer.in_features, layer.out_features, layer.activation,
                         dtype=np.float64)
            copy.W, copy.b = layer.W.astype(np.float64), layer.b.astype(np.float64)
            layers.append(copy)
        return Sequential(layers)
    return value
