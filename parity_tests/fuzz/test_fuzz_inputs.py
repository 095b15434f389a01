"""Fuzz: shapes, dtypes and values given to every loss, activation and layer of the registry.

Each test runs over the registry's concepts, so a loss, an activation or a layer added
there is fuzzed without a line here. The spec is the oracle (``oracle.py``): it must
compute or refuse clearly, naming itself, and both mirrors must do the same.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from parity_tests.conftest import framework
from parity_tests.fuzz.oracle import Outcome, assert_same, outcome, spec_outcome
from reference import activations, losses, registry

# Where both frameworks' own kernels differ from the spec's NaN in, NaN out, as their
# mirrors' docstrings state: heaviside(NaN, 0) is 0 in torch and Keras.
NAN_TO_ZERO = ("step",)
LOSSES = [c.name for c in registry.concepts("losses")]
ACTIVATIONS = [c.name for c in registry.concepts("activations")]
MODEL_CASES = [(c.name, case) for c in registry.concepts() if c.module in ("layers", "networks")
               for case in c.cases]

# Every dtype a user can hand over: the two float dtypes, those the policy converts
# (integers, booleans) and those it refuses (float16, complex, objects, strings).
DTYPES = ("float64", "float32", "float16", "int64", "uint8", "bool", "complex64", "object",
          "str")
# Values at the edges: probabilities' bounds and just beyond them (1 + 1e-12 rounds to 1
# in float32), logits far out, NaN and ±inf.
VALUES = (0.0, 1.0, 0.5, 0.2, 1 + 1e-12, -1e-12, 2.0, -3.0, 1e4, -1e4, math.nan, math.inf,
          -math.inf)


def _array(draw, shape: tuple[int, ...], dtype: str, values=VALUES) -> np.ndarray:
    flat = draw(st.lists(st.sampled_from(values), min_size=math.prod(shape),
                         max_size=math.prod(shape)))
    array = np.array(flat, dtype=np.float64).reshape(shape)
    if dtype == "str":
        return array.astype(str)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN → int is what a user would get
        return array.astype(dtype)


@st.composite
def loss_inputs(draw, name: str) -> tuple[np.ndarray, np.ndarray]:
    n, c = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    pred_shape = draw(st.sampled_from([(n, c), (n, c), (n,), (n, c, 2), ()]))
    y_pred = _array(draw, pred_shape, draw(st.sampled_from(DTYPES)))
    if name.startswith("sparse"):
        true_shape = draw(st.sampled_from([(n,), (n,), (n, c), (n + 1,)]))
        labels = (*(float(k) for k in range(-1, c + 2)), 0.5, math.nan)
        y_true = _array(draw, true_shape, draw(st.sampled_from(("int64", "int64", "uint8",
                                                                "float64", "bool"))), labels)
    else:
        true_shape = pred_shape if draw(st.booleans()) else draw(
            st.sampled_from([(n, c), (n, 1), (n,), (c, n)]))
        y_true = _array(draw, true_shape, draw(st.sampled_from(DTYPES)))
    return y_true, y_pred


def _torch_tensor(array: np.ndarray):
    """The array as a torch tensor, where torch has its dtype (not objects or strings)."""
    torch = framework("torch").torch
    return array if array.dtype.kind in "OU" else torch.from_numpy(array.copy())


def _float_dtype(*arrays: np.ndarray) -> np.dtype:
    kinds = [a.dtype for a in arrays if a.dtype.kind == "f" and a.dtype.itemsize >= 4]
    return kinds[0] if kinds else np.dtype(np.float64)


@pytest.mark.parametrize("name", LOSSES)
@given(data=st.data())
def test_every_loss_computes_or_refuses_clearly_and_the_mirrors_agree(name: str, data) -> None:
    y_true, y_pred = data.draw(loss_inputs(name))
    spec = spec_outcome(lambda: losses.get(name)(y_true, y_pred), name)
    gradient = spec_outcome(lambda: losses.gradient(name)(y_true, y_pred), name)
    assert (spec.error is None) == (gradient.error is None), (spec, gradient)
    if spec.error is None:  # nothing silently wrong: a number, of the predictions' shape
        assert isinstance(spec.value, float)
        assert gradient.value.shape == y_pred.shape
    torch_loss = framework("torch").impl.losses.get(name)
    tf_loss = framework("tf").impl.losses.get(name)
    dtype = _float_dtype(y_pred, y_true)
    mirror = outcome(lambda: torch_loss(_torch_tensor(y_true), _torch_tensor(y_pred)).item(),
                     name)
    assert_same(spec, mirror, dtype, f"torch {name}")
    mirror = outcome(lambda: float(tf_loss(y_true, y_pred)), name)
    assert_same(spec, mirror, dtype, f"tf {name}")


@pytest.mark.parametrize("name", LOSSES)
def test_an_empty_batch_is_refused_by_every_loss_in_all_three(name: str) -> None:
    y_true = np.zeros(0, np.int64) if name.startswith("sparse") else np.zeros((0, 2))
    y_pred = np.zeros((0, 2))
    for loss in (losses.get(name), framework("tf").impl.losses.get(name),
                 lambda t, p: framework("torch").impl.losses.get(name)(_torch_tensor(t),
                                                                       _torch_tensor(p))):
        with pytest.raises(ValueError, match=rf"{name}: y_pred is empty \(shape \(0, 2\)\)"):
            loss(y_true, y_pred)


@pytest.mark.parametrize("name", [name for name in LOSSES if name.startswith("sparse")])
@pytest.mark.parametrize("labels", [np.array([0, 2], np.uint64), np.array([0, 2], np.uint32),
                                    np.array([0, 2**63], np.uint64),
                                    np.broadcast_to(np.array([2]), (2,))],
                         ids=["uint64", "uint32", "uint64 outside", "read-only"])
def test_sparse_labels_of_any_integer_array_give_the_spec_s_outcome_in_torch(name,
                                                                           labels) -> None:
    """torch compares no unsigned type wider than 8 bits ('"lt_cpu" not implemented'),
    and warned on a read-only array (np.broadcast_to's, a TF tensor's) it would share."""
    y_pred = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    spec = outcome(lambda: losses.get(name)(labels, y_pred), name)
    torch_loss = framework("torch").impl.losses.get(name)
    assert_same(spec, outcome(lambda: float(torch_loss(labels, y_pred)), name),
                np.dtype(np.float64), name)


@pytest.mark.parametrize("name", ACTIVATIONS)
@given(data=st.data())
def test_every_activation_keeps_shape_and_dtype_or_refuses_clearly(name: str, data) -> None:
    shape = data.draw(st.sampled_from([(0,), (3,), (2, 0), (2, 3), (1, 2, 2), ()]))
    dtype = data.draw(st.sampled_from(DTYPES))
    z = _array(data.draw, shape, dtype, (0.0, 0.5, -2.0, 1e4, -1e4, 3e38, math.nan))
    result = outcome(lambda: activations.get(name)(z), name if dtype in ("object", "str")
                     else "")
    if result.error is None:
        assert result.value.shape == z.shape
        assert result.value.dtype == (z.dtype if z.dtype.kind == "f" else np.float64)
    else:
        assert dtype in ("float16", "complex64", "object", "str"), result.error


@pytest.mark.parametrize("name", ACTIVATIONS)
@given(data=st.data())
def test_the_mirror_activations_agree_with_the_spec_on_any_shape(name: str, data) -> None:
    shape = data.draw(st.sampled_from([(0,), (3,), (2, 0), (2, 3), (1, 2, 2)]))
    dtype = np.dtype(data.draw(st.sampled_from(("float64", "float32"))))
    z = _array(data.draw, shape, dtype.name, (0.0, 0.5, -2.0, 30.0, -30.0, 1e4, -1e4,
                                               math.nan))
    spec = outcome(lambda: activations.get(name)(z), name)
    if name in NAN_TO_ZERO and spec.error is None:  # the frameworks' documented convention
        spec = Outcome(value=np.where(np.isnan(z), 0.0, spec.value).astype(z.dtype))
    torch = framework("torch")
    mirror = outcome(lambda: getattr(torch.impl.activations, name)(
        torch.torch.from_numpy(z.copy())).numpy(), name)
    assert_same(spec, mirror, dtype, f"torch {name}")
    tf = framework("tf")
    mirror = outcome(lambda: np.asarray(getattr(tf.impl.activations, name)(
        tf.tf.constant(z))), name)
    assert_same(spec, mirror, dtype, f"tf {name}")


@pytest.mark.parametrize("name", ["leaky_relu", "elu"])
@given(value=st.sampled_from([0.2, -1.0, 0, math.nan, math.inf, "x", None, True, 1j]))
def test_activation_parameters_are_finite_numbers(name: str, value) -> None:
    parameter = {"leaky_relu": "negative_slope", "elu": "alpha"}[name]
    result = outcome(lambda: activations.get(name, **{parameter: value}), name)
    valid = isinstance(value, int | float) and not isinstance(value, bool) and \
        math.isfinite(value)
    assert (result.error is None) == valid, (value, result)


@pytest.mark.parametrize(("concept", "case"), MODEL_CASES,
                         ids=[f"{c}-{case.label}" for c, case in MODEL_CASES])
@given(data=st.data())
def test_every_model_takes_its_input_shape_and_dtype_or_refuses_clearly(concept, case,
                                                                         data) -> None:
    dtype = np.dtype(data.draw(st.sampled_from(("float64", "float32"))))
    model = case.make(np.random.default_rng(0), dtype, 2)["model"]
    shape_in = model.input_shape
    wider = (*shape_in[:-1], shape_in[-1] + 1)
    shape = data.draw(st.sampled_from([(2, *shape_in), (0, *shape_in), shape_in, (2, *wider),
                                       (2, *shape_in, 1), (1, *shape_in)]))
    x = _array(data.draw, shape, data.draw(st.sampled_from(DTYPES)),
               (0.0, 1.0, -2.0, 1e4, math.nan))
    result = outcome(lambda: model.forward(x), type(model).__name__)
    if result.error is None:
        assert result.value.shape == (shape[0], *model.output_shape)
        assert result.value.dtype == dtype
        g = np.ones((shape[0] + 1, *model.output_shape), dtype)  # a wrong upstream shape
        assert outcome(lambda: model.backward(g), "").error is not None
