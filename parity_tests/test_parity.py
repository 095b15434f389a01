"""Parity of every registered concept, generated from ``reference.registry``.

For each case, framework (torch autograd, tf.GradientTape), dtype and batch size (one,
and several), the framework's forward output, loss and gradients are compared with the
spec's. Nothing here is written per concept: a concept added to the registry is tested
here by the runner of its module (``RUNNERS``), and ``test_coverage.py`` fails until
both mirrors have it.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from parity_tests.autodiff_runner import run_autodiff
from parity_tests.frameworks import run_spec_model
from parity_tests.report import Recorder
from parity_tests.tolerances import tolerance
from reference import activations, losses, registry

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
    args = (data["model"], data["x"], data["y_true"], data["loss"])
    theirs, spec = fw.model(*args), run_spec_model(*args)
    if not check.compare("output", "output", theirs.output, spec.output):
        check.failures[-1] += _first_parting_layer(theirs, spec, data["x"].dtype)
    check.compare("loss", "loss", theirs.loss, spec.loss)
    check.compare("dL/dx", "gradient", theirs.dx, spec.dx)
    for k, ((dW, db), (sW, sb)) in enumerate(zip(theirs.grads, spec.grads, strict=True)):
        check.compare(f"dL/dW[{k}]", "gradient", dW, sW)
        check.compare(f"dL/db[{k}]", "gradient", db, sb)


def _first_parting_layer(theirs, spec, dtype) -> str:
    tol = tolerance(dtype, "output")
    for k, (a, e) in enumerate(zip(theirs.layer_outputs, spec.layer_outputs, strict=True)):
        if a.shape != e.shape or tol.error(a, e) > tol.rtol:
            return f"\n  the outputs first part at layer {k} (error {tol.error(a, e):.3g})"
    return "\n  every layer agrees alone; the difference is in the final output"


# One runner per spec module: how a case of that module is compared.
RUNNERS = {
    "activations": run_activation,
    "losses": run_loss,
    "layers": run_model,
    "networks": run_model,
    "autodiff": run_autodiff,
}

CASES = [pytest.param(concept, case, id=f"{concept.name}:{case.label}")
         for concept in registry.CONCEPTS for case in concept.cases]


def _rng(*key: object) -> np.random.Generator:
    # Stable across runs and processes (unlike hash()), different for every test.
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


@pytest.mark.parametrize("batch", BATCHES, ids=lambda b: f"batch{b}")
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize(("concept", "case"), CASES)
def test_parity(concept: registry.Concept, case: registry.Case, dtype, batch: int, fw) -> None:
    rng = _rng(case.label, np.dtype(dtype).name, batch)
    data = case.make(rng, np.dtype(dtype), batch)
    check = Recorder(concept.name, case.label, fw.name, dtype, batch)
    RUNNERS[concept.module](concept, data, rng, fw, check)
    check.finish()
