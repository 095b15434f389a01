"""Every derivative in the spec against central finite differences, generated from the registry.

The spec is never checked only against itself: for each registered case (float64), the
hand-written derivative (activation vjp, loss gradient, backward pass) must match
(f(x + h) − f(x − h)) / 2h. The registry keeps inputs away from kinks.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from reference import activations, registry
from reference.gradcheck import case_derivatives, gradient_error, numerical_gradient

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
    upstream = rng.standard_normal(data["z"].shape) if "z" in data else None
    for what, analytic, f, x in case_derivatives(concept, data, upstream):
        assert gradient_error(analytic, numerical_gradient(f, x)) < FD_TOLERANCE, what


def test_a_wrong_derivative_is_caught(monkeypatch) -> None:
    """The check has teeth: a sigmoid derivative missing its (1 − σ) factor fails it."""
    monkeypatch.setitem(activations._DERIVATIVES, "sigmoid", activations.sigmoid)
    case = registry.concept("sigmoid").cases[0]
    data, rng = _data(case, 4)
    act = activations.get("sigmoid")
    upstream = rng.standard_normal(data["z"].shape)
    numerical = numerical_gradient(lambda v: float(np.sum(upstream * act(v))), data["z"])
    assert gradient_error(act.vjp(data["z"], upstream), numerical) > 1e-2
