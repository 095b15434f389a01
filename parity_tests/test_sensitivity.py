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
