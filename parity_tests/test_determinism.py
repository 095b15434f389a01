"""The mirrors run deterministically in the tests, and repeat themselves bit for bit.

Each adapter in ``parity_tests/frameworks.py`` calls its mirror's
``configure_full_precision_determinism()`` once, when the session first needs it. These
tests read the frameworks' own switches back, then run every model case twice.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from parity_tests.conftest import framework
from reference import registry

MODEL_CASES = [pytest.param(c, case, id=f"{c.name}:{case.label}")
               for c in registry.concepts("networks")
               for case in c.cases]


def test_torch_is_configured_for_deterministic_full_precision() -> None:
    torch = framework("torch").torch
    assert torch.are_deterministic_algorithms_enabled()
    assert not torch.backends.cudnn.benchmark
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    assert torch.get_float32_matmul_precision() == "highest"


def test_tensorflow_is_configured_for_deterministic_full_precision() -> None:
    tf = framework("tf").tf
    from tensorflow.python.framework import config  # no public getter for op determinism

    assert config.is_op_determinism_enabled()
    assert not tf.config.experimental.tensor_float_32_execution_enabled()


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize(("concept", "case"), MODEL_CASES)
def test_a_framework_run_repeats_bit_for_bit(concept, case, dtype, fw) -> None:
    runs = []
    for _ in range(2):
        data = case.make(np.random.default_rng(zlib.crc32(case.label.encode())),
                         np.dtype(dtype), 5)
        run = fw.model(data["model"], data["x"], data["y_true"], data["loss"])
        runs.append([run.output, run.loss, run.dx, *(g for d in run.grads for g in d.values())])
    for first, second in zip(*runs, strict=True):
        assert np.asarray(first).tobytes() == np.asarray(second).tobytes()
