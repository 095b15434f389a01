"""The NaN policy, the same in all three: NaN in, NaN out, never hidden.

Stated in ``reference._validation``: nothing refuses, clips or skips a NaN. Every output
entry that depends on a NaN input is NaN (one entry for an elementwise activation, the
whole row for softmax and for a network's sample), every loss over it is NaN, and in a
network it reaches every parameter's gradient. What a NaN does *not* touch stays finite:
the other samples' outputs and their loss gradients. The frameworks' kernels disagree
only on the derivative *at* the NaN entry itself (torch's ReLU backward passes the
upstream gradient through, TF's multiplies it by 0), which no claim here relies on.

The cases are the registry's, with one NaN planted, so every concept is covered.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from parity_tests.frameworks import run_spec_model
from reference import activations, losses, registry

ROW_COUPLED = {"softmax"}  # activations whose outputs mix the entries of a row


def _cases(module: str) -> list:
    return [pytest.param(c, case, id=f"{c.name}:{case.label}")
            for c in registry.concepts(module) for case in c.cases]


def _data(case: registry.Case, dtype=np.float64) -> dict:
    return case.make(np.random.default_rng(zlib.crc32(case.label.encode())), np.dtype(dtype), 3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize(("concept", "case"), _cases("activations"))
def test_an_activation_of_nan_is_nan_where_it_depends_on_it(concept, case, dtype, fw) -> None:
    data = _data(case, dtype)
    z = data["z"].copy()
    z[0, 0] = np.nan
    expected = np.zeros(z.shape, dtype=bool)
    if concept.name in ROW_COUPLED:
        expected[0] = True
    else:
        expected[0, 0] = True
    spec = activations.get(concept.name, **data["params"])(z)
    theirs, _ = fw.activation(concept.name, z, np.ones_like(z), data["params"])
    np.testing.assert_array_equal(np.isnan(spec), expected)
    np.testing.assert_array_equal(np.isnan(theirs), expected)


# Class indices are integers and cannot hold a NaN: only float arguments get one.
LOSS_ARGUMENTS = [pytest.param(*p.values, argument, id=f"{p.id}-{argument}")
                  for p in _cases("losses") for argument in ("y_pred", "y_true")
                  if _data(p.values[1])[argument].dtype.kind == "f"]


@pytest.mark.parametrize(("concept", "case", "argument"), LOSS_ARGUMENTS)
def test_a_loss_over_a_nan_is_nan(concept, case, argument: str, fw) -> None:
    data = _data(case)
    data[argument] = data[argument].copy()
    data[argument][0, 0] = np.nan
    value, grad = fw.loss(concept.name, data["y_true"], data["y_pred"])
    assert np.isnan(losses.get(concept.name)(data["y_true"], data["y_pred"]))
    assert np.isnan(value)
    # The other samples' gradients do not depend on sample 0, so stay finite.
    assert np.all(np.isfinite(losses.gradient(concept.name)(data["y_true"],
                                                            data["y_pred"])[1:]))
    assert np.all(np.isfinite(grad[1:]))


@pytest.mark.parametrize(("concept", "case"), _cases("layers") + _cases("networks"))
def test_a_nan_input_reaches_the_output_the_loss_and_every_gradient(concept, case, fw) -> None:
    data = _data(case)
    x = data["x"].copy()
    x[0, 0] = np.nan
    args = (data["model"], x, data["y_true"], data["loss"])
    for run in (run_spec_model(*args), fw.model(*args)):
        assert np.all(np.isnan(run.output[0])) and np.all(np.isfinite(run.output[1:]))
        assert np.isnan(run.loss)
        for grads in run.grads:
            assert all(np.any(np.isnan(g)) for g in grads.values())
