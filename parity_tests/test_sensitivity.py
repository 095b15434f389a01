"""The parity suite has teeth: a deliberately wrong derivative in the spec makes it fail."""

from __future__ import annotations

import numpy as np
import pytest

from parity_tests.report import Comparison, Recorder
from parity_tests.test_parity import RUNNERS, _rng
from reference import activations, registry


@pytest.fixture
def unrecorded():
    """Keep the sabotaged comparisons out of the parity matrix."""
    kept = len(Recorder.records)
    yield
    del Recorder.records[kept:]


@pytest.mark.usefixtures("unrecorded")
@pytest.mark.parametrize("concept_name", ["sigmoid", "Sequential"])
def test_a_sigmoid_derivative_off_by_one_part_in_ten_thousand_fails(fw, monkeypatch,
                                                                    concept_name) -> None:
    def wrong(z: np.ndarray) -> np.ndarray:
        return activations.sigmoid_derivative(z) * 1.0001

    monkeypatch.setitem(activations._DERIVATIVES, "sigmoid", wrong)
    concept = registry.concept(concept_name)
    case = next(c for c in concept.cases if "sigmoid" in c.label)
    rng = _rng("sabotage", case.label)
    check = Recorder(concept.name, case.label, fw.name, np.float64, 3)
    RUNNERS[concept.module](concept, case.make(rng, np.dtype(np.float64), 3), rng, fw, check)
    with pytest.raises(Comparison, match=r"dL/d[zx] differs"):
        check.finish()


@pytest.mark.usefixtures("unrecorded")
def test_an_output_in_the_other_precision_fails_though_its_numbers_agree() -> None:
    """A mirror that returns float64 for a float32 case (tf_impl's MaxPool2D once did)
    gives the spec's numbers to every digit float32 has, and is still a failure."""
    spec = np.linspace(-1.0, 1.0, 6, dtype=np.float32)
    check = Recorder("MaxPool2D", "a sabotaged dtype", "tf", np.float32, 3)
    check.compare("output", "output", spec.astype(np.float64), spec)
    with pytest.raises(Comparison, match="dtype float64 from tf in a float32 case"):
        check.finish()


@pytest.mark.usefixtures("unrecorded")
def test_a_float64_spec_reference_in_a_float32_case_is_no_failure() -> None:
    """The spec may compute a float32 case's reference in float64 (its Hessian's finite
    differences need it): only the mirror's tensor must be float32."""
    mirror = np.linspace(-1.0, 1.0, 6, dtype=np.float32)
    check = Recorder("hessian", "a float64 reference", "torch", np.float32, 3)
    check.compare("∂²L/∂ŷ²", "gradient", mirror, mirror.astype(np.float64))
    check.finish()
