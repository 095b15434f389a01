"""Fuzz round 6 (issue 25), found by hand beside the differential rounds: inputs the
earlier rounds reached only through a framework's own message."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import torch_impl
from parity_tests.fuzz.oracle import Outcome, assert_same

VALUE_CHECKED = ["sparse_categorical_cross_entropy", "sparse_categorical_cross_entropy_with_logits",
                 "binary_cross_entropy", "categorical_cross_entropy"]


def _meta_pair(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    y_pred = torch.full((3, 4), 0.25, device="meta")
    if name.startswith("sparse"):
        return torch.zeros(3, dtype=torch.long, device="meta"), y_pred
    return torch.full((3, 4), 0.25, device="meta"), y_pred


@pytest.mark.parametrize("name", VALUE_CHECKED)
def test_a_loss_that_checks_values_refuses_meta_tensors_by_name(name: str) -> None:
    """A meta tensor has a shape and no values: torch's NotImplementedError (from
    nonzero) where the loss checks labels or probabilities, now the loss's own error."""
    with pytest.raises(ValueError, match=f"{name}: .*meta device"):
        torch_impl.losses.get(name)(*_meta_pair(name))


def test_a_loss_without_value_checks_computes_a_meta_result_as_torch_does() -> None:
    """Shape-only computation is torch's purpose for the meta device: mean squared error
    checks shapes only, and returns the meta scalar F.mse_loss gives."""
    loss = torch_impl.losses.mean_squared_error(*_meta_pair("mean_squared_error"))
    assert loss.is_meta and loss.shape == ()


def test_the_oracle_fails_a_mirror_that_computes_in_another_precision() -> None:
    """Equal numbers in float64 where the spec gave float32 are a silently different
    result (tf_impl's MaxPool2D once): the oracle compares dtypes as well as values."""
    spec = np.linspace(-1.0, 1.0, 4, dtype=np.float32)
    with pytest.raises(AssertionError, match="computes in float64, the spec in float32"):
        assert_same(Outcome(value=spec), Outcome(value=torch.from_numpy(spec.astype(np.float64))),
                    np.dtype(np.float32), "MaxPool2D")
