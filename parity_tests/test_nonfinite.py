"""The NaN policy: the spec propagates NaN; each mirror does what its framework does.

Stated in ``reference._validation``: the spec never refuses, clips or skips a NaN. A
mirror does not fight its framework over a NaN: where the framework raises (torch's
``F.binary_cross_entropy`` on a NaN probability or target), the mirror raises, and its
docstring says so; where its kernel maps NaN to a number (``heaviside``), so does the
mirror; TF's max pooling skips a NaN in its window (shown in
``parity_tests/fuzz/test_fuzz_layer_kinds.py``); everywhere else the frameworks propagate
NaN as the spec does. Every output entry that depends on a NaN input is NaN (one entry
for an elementwise activation, the whole row for softmax and for a network's sample),
every loss over it is NaN, and in a
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

from parity_tests.conftest import framework
from parity_tests.frameworks import run_spec_model
from reference import activations, losses, registry

ROW_COUPLED = {"softmax"}  # activations whose outputs mix the entries of a row
# Activations whose framework kernel maps NaN to a number (``heaviside(NaN, 0)`` is 0 in
# torch and Keras; ``np.heaviside`` keeps NaN).
ZERO_AT_NAN = {"step"}
# (framework, loss) pairs whose framework refuses a NaN argument instead of returning NaN.
RAISES_ON_NAN = {("torch", "binary_cross_entropy")}


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
    if concept.name in ZERO_AT_NAN:
        assert theirs[0, 0] == 0 and not np.any(np.isnan(theirs))
    else:
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
    assert np.isnan(losses.get(concept.name)(data["y_true"], data["y_pred"]))
    if (fw.name, concept.name) in RAISES_ON_NAN:
        with pytest.raises(RuntimeError, match="should be between 0 and 1"):
            fw.loss(concept.name, data["y_true"], data["y_pred"])
        return
    value, grad = fw.loss(concept.name, data["y_true"], data["y_pred"])
    assert np.isnan(value)
    # The other samples' gradients do not depend on sample 0, so stay finite.
    assert np.all(np.isfinite(losses.gradient(concept.name)(data["y_true"],
                                                            data["y_pred"])[1:]))
    assert np.all(np.isfinite(grad[1:]))


@pytest.mark.parametrize("argument", ["y_pred", "y_true"])
def test_bce_of_a_nan_is_nan_in_the_spec_and_keras_and_an_error_in_torch(argument: str) -> None:
    """The convention, each side shown: torch's kernel refuses what the spec propagates."""
    data = {"y_true": np.array([[1.0], [0.0]]), "y_pred": np.array([[0.7], [0.3]])}
    data[argument][0, 0] = np.nan
    torch_side, tf_side = framework("torch"), framework("tf")
    assert np.isnan(losses.binary_cross_entropy(data["y_true"], data["y_pred"]))
    torch_name = {"y_pred": "input", "y_true": "target"}[argument]
    with pytest.raises(RuntimeError, match=f"all elements of {torch_name} should be"):
        torch_side.impl.losses.binary_cross_entropy(
            *(torch_side.torch.tensor(data[k]) for k in ("y_true", "y_pred")))
    keras_value = tf_side.impl.losses.binary_cross_entropy(
        *(tf_side.tf.constant(data[k]) for k in ("y_true", "y_pred")))
    assert np.isnan(float(keras_value))


@pytest.mark.parametrize(("concept", "case"), _cases("layers") + _cases("networks"))
def test_a_nan_input_reaches_the_output_the_loss_and_every_gradient(concept, case, fw) -> None:
    data = _data(case)
    x = data["x"].copy()
    x[0, 0] = np.nan
    args = (data["model"], x, data["y_true"], data["loss"])
    runs = [run_spec_model(*args)]
    if (fw.name, data["loss"]) in RAISES_ON_NAN:
        with pytest.raises(RuntimeError, match="should be between 0 and 1"):
            fw.model(*args)
    else:
        runs.append(fw.model(*args))
    for run in runs:
        assert np.all(np.isnan(run.output[0])) and np.all(np.isfinite(run.output[1:]))
        assert np.isnan(run.loss)
        for grads in run.grads:
            assert all(np.any(np.isnan(g)) for g in grads.values())
