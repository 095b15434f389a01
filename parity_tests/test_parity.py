"""Parity of every registered concept, generated from ``reference.registry``.

For each case, framework (torch autograd, tf.GradientTape), dtype and batch size (one,
and several), the framework's forward output, loss and gradients are compared with the
spec's. Nothing here is written per concept: a concept added to the registry is tested
here by the runner of its module (``RUNNERS``), and ``test_coverage.py`` fails until
both mirrors have it.
"""

from __future__ import annotations

import zlib
from dataclasses import replace

import numpy as np
import pytest

from parity_tests.autodiff_runner import run_autodiff
from parity_tests.frameworks import (
    run_spec_fit,
    run_spec_graph,
    run_spec_model,
    run_spec_optimizer,
)
from parity_tests.normalization_runner import run_normalization
from parity_tests.report import Recorder
from parity_tests.schedules_runner import run_schedule
from parity_tests.tolerances import tolerance
from reference import activations, losses, optimizers, perceptron, registry

DTYPES = (np.float64, np.float32)
BATCHES = (1, 5)


def run_activation(concept, data, rng, fw, check: Recorder) -> None:
    """φ(z) and dL/dz for L = Σ g ⊙ φ(z), g a random upstream gradient."""
    z, params = data["z"], data["params"]
    upstream = rng.standard_normal(z.shape).astype(z.dtype)
    act = activations.get(concept.name, **params)
    out, grad = fw.activation(concept.name, z, upstream, params)
    check.compare("output", "output", out, act(z))
    if concept.differentiable:
        check.compare("dL/dz", "gradient", grad, act.vjp(z, upstream))
    else:
        check.no_gradient("dL/dz", grad, act.vjp(z, upstream))


def run_loss(concept, data, rng, fw, check: Recorder) -> None:
    """L(y_true, ŷ) and dL/dŷ."""
    y_true, y_pred = data["y_true"], data["y_pred"]
    value, grad = fw.loss(concept.name, y_true, y_pred)
    check.compare("loss", "loss", value, losses.get(concept.name)(y_true, y_pred))
    check.compare("dL/dŷ", "gradient", grad, losses.gradient(concept.name)(y_true, y_pred))


def run_model(concept, data, rng, fw, check: Recorder) -> None:
    """Forward, loss, dL/dx and dL/dW, dL/db of every layer; names the first parting layer."""
    args = (data["model"], data["x"], data["y_true"], data["loss"], data.get("training", False))
    theirs, spec = fw.model(*args), run_spec_model(*args)
    if not check.compare("output", "output", theirs.output, spec.output):
        check.failures[-1] += _first_parting_layer(theirs, spec, data["x"].dtype)
    check.compare("loss", "loss", theirs.loss, spec.loss)
    if spec.dx is not None or theirs.dx is not None:  # None: integer indices in
        check.compare("dL/dx", "gradient", theirs.dx, spec.dx)
    for k, (grads, spec_grads) in enumerate(zip(theirs.grads, spec.grads, strict=True)):
        for name, expected in spec_grads.items():
            check.compare(f"dL/d{name}[{k}]", "gradient", grads[name], expected)


def run_graph(concept, data, rng, fw, check: Recorder) -> None:
    """A graph model: every output, the loss summed over them, dL/d(each input) and every
    layer's gradients by name; a training run where the case gives one (``optimizer``)."""
    if "optimizer" in data:
        run_training(concept, data, rng, fw, check)
        return
    args = (data["model"], data["x"], data["y_true"], data["loss"], data.get("training", False))
    theirs, spec = fw.graph(*args), run_spec_graph(*args)
    for tensor, output, expected in zip(data["model"].outputs, theirs.outputs, spec.outputs,
                                        strict=True):
        check.compare(f"output {tensor.name}", "output", output, expected)
    check.compare("loss", "loss", theirs.loss, spec.loss)
    for tensor, dx, expected in zip(data["model"].inputs, theirs.dxs, spec.dxs, strict=True):
        if data["model"].input_kind(tensor) == "mask":  # booleans: no gradient on any side
            check.no_gradient(f"dL/d{tensor.name}", dx, expected)
        else:
            check.compare(f"dL/d{tensor.name}", "gradient", dx, expected)
    for name, expected_grads in spec.grads.items():
        for parameter, expected in expected_grads.items():
            check.compare(f"dL/d{parameter}[{name}]", "gradient", theirs.grads[name][parameter],
                          expected)


def _first_parting_layer(theirs, spec, dtype) -> str:
    tol = tolerance(dtype, "output")
    for k, (a, e) in enumerate(zip(theirs.layer_outputs, spec.layer_outputs, strict=True)):
        if a.shape != e.shape or tol.error(a, e) > tol.rtol:
            return f"\n  the outputs first part at layer {k} (error {tol.error(a, e):.3g})"
    return "\n  every layer agrees alone; the difference is in the final output"


def run_perceptron(concept, data, rng, fw, check: Recorder) -> None:
    """The perceptron rule: [w, b] after every epoch, convergence, then w·x + b and ŷ."""
    X, y, eta, epochs = data["X"], data["y"], data["learning_rate"], data["max_epochs"]
    spec = perceptron.Perceptron(eta).fit(X, y, max_epochs=epochs)
    theirs = fw.perceptron(X, y, eta, epochs)
    check.compare("epochs run", "output", theirs.epochs_run, spec.epochs_run)
    check.compare("converged", "output", float(theirs.converged), float(spec.converged))
    check.compare("[w, b] after each epoch", "weight trajectory", theirs.weight_history,
                  spec.weight_history)
    check.compare("w·x + b", "output", theirs.decision, spec.decision_function(X))
    check.compare("prediction", "output", theirs.prediction, spec.predict(X))


def run_optimizer(concept, data, rng, fw, check: Recorder) -> None:
    """Gradient descent's iterates, or an optimizer's parameters after each given gradient.

    The spec follows the framework's convention (``fw.convention``): torch's formulas
    for torch, Keras's (momentum form, ε placement, float32-rounded hyper-parameters) for TF.
    """
    if concept.name == "gradient_descent":
        args = (data["x0"], data["learning_rate"], data["precision"], data["max_iters"])
        spec = optimizers.gradient_descent(data["derivative"], *args, convention=fw.convention)
        check.compare("iterates x_k", "weight trajectory",
                      fw.gradient_descent(data["function"], *args), spec)
        return
    spec = run_spec_optimizer(replace(data["optimizer"], convention=fw.convention),
                              data["params"], data["grads"])
    theirs = fw.optimizer_trajectory(data["optimizer"], data["params"], data["grads"])
    check.compare("parameters after each step", "weight trajectory", theirs, spec)


def run_training(concept, data, rng, fw, check: Recorder) -> None:
    """A whole run: the loss of every step, the final weights, and where it diverged."""
    spec = run_spec_fit(data, fw.convention)
    for variant, theirs in fw.fit(data).items():
        check.compare(f"diverged at step{variant}", "output", theirs.diverged_at or 0,
                      spec.diverged_at or 0)
        check.compare(f"loss per step{variant}", "loss trajectory", theirs.losses, spec.losses)
        if spec.params is not None or theirs.params is not None:
            check.compare(f"final weights{variant}", "weight trajectory", theirs.params,
                          spec.params)


# One runner per spec module: how a case of that module is compared.
RUNNERS = {
    "activations": run_activation,
    "losses": run_loss,
    "layers": run_model,
    "networks": run_model,
    "normalization": run_normalization,
    "convolution": run_model,
    "sequences": run_model,
    "perceptron": run_perceptron,
    "optimizers": run_optimizer,
    "training": run_training,
    "schedules": run_schedule,
    "callbacks": run_training,
    "autodiff": run_autodiff,
    "merging": run_graph,
    "graphs": run_graph,
}

# A case on a note's fixed data set runs at its own size once, not once per batch size.
CASES = [pytest.param(concept, case, batch, id=f"{concept.name}:{case.label}-batch{batch}")
         for concept in registry.CONCEPTS for case in concept.cases
         for batch in (BATCHES if case.batched else BATCHES[:1])]


def _rng(*key: object) -> np.random.Generator:
    # Stable across runs and processes (unlike hash()), different for every test.
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize(("concept", "case", "batch"), CASES)
def test_parity(concept: registry.Concept, case: registry.Case, dtype, batch: int, fw) -> None:
    rng = _rng(case.label, np.dtype(dtype).name, batch)
    data = case.make(rng, np.dtype(dtype), batch)
    check = Recorder(concept.name, case.label, fw.name, dtype, batch)
    RUNNERS[concept.module](concept, data, rng, fw, check)
    check.finish()
