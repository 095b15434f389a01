"""Bad input gets a clear error before any computation: the spec's side of the policy.

Each error names the layer or loss and shows what was expected and what was received
(``reference._validation`` states the policy). The mirrors' side is
``parity_tests/test_errors.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from reference import Dense, Sequential, losses
from reference.registry import XOR_INPUTS

PAIRED_LOSSES = [name for name in losses.NAMES if not name.startswith("sparse")]
SPARSE_LOSSES = [name for name in losses.NAMES if name.startswith("sparse")]
PROBABILITY_PREDICTIONS = ["binary_cross_entropy", "categorical_cross_entropy",
                           "sparse_categorical_cross_entropy"]
PROBABILITY_TARGETS = ["binary_cross_entropy", "binary_cross_entropy_with_logits",
                       "categorical_cross_entropy", "categorical_cross_entropy_with_logits"]


def _layer(dtype=np.float64) -> Dense:
    return Dense(3, 2, "tanh", dtype=dtype, seed=0)


def _both(name: str):
    """The loss and its gradient: every check must guard both."""
    return [losses.get(name), losses.gradient(name)]


# Layers and networks -------------------------------------------------------------------

def test_wrong_input_width_names_the_layer_and_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"Dense\(3, 2, tanh\): input x must have shape "
                                         r"\(N, 3\), got \(4, 2\)"):
        _layer().forward(np.ones((4, 2)))


def test_wrong_input_width_in_a_network_names_the_network() -> None:
    model = Sequential([_layer(), Dense(2, 1)])
    with pytest.raises(ValueError, match=r"Sequential: input x must have shape \(N, 3\), "
                                         r"got \(4, 5\)"):
        model.forward(np.ones((4, 5)))


def test_a_single_sample_without_batch_axis_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"got \(3,\): a single sample needs a batch "
                                         r"dimension.*x\[None, :\]"):
        _layer().forward(np.ones(3))


def test_a_batch_with_too_many_axes_is_refused() -> None:
    with pytest.raises(ValueError, match=r"must have shape \(N, 3\), got \(2, 4, 3\)"):
        _layer().forward(np.ones((2, 4, 3)))


@pytest.mark.parametrize(("layer_dtype", "input_dtype"),
                         [(np.float64, np.float32), (np.float32, np.float64)])
def test_the_other_float_dtype_is_refused_naming_both(layer_dtype, input_dtype) -> None:
    layer, received, expected = _layer(layer_dtype), np.dtype(input_dtype), np.dtype(layer_dtype)
    with pytest.raises(TypeError, match=rf"Dense\(3, 2, tanh\): input x has dtype {received} "
                                        rf"but Dense\(3, 2, tanh\) computes in {expected}"):
        layer.forward(np.ones((4, 3), dtype=input_dtype))


def test_weights_of_the_other_float_dtype_are_refused() -> None:
    layer = _layer(np.float64)
    with pytest.raises(TypeError, match=r"W has dtype float32 but .* computes in float64"):
        layer.W = np.ones((3, 2), dtype=np.float32)


def test_weights_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ValueError, match=r"b must have shape \(2,\), got \(3,\)"):
        _layer().b = np.zeros(3)


def test_unsupported_dtypes_are_refused() -> None:
    with pytest.raises(TypeError, match=r"input x must be a float32/float64 or integer array, "
                                        r"got dtype float16"):
        _layer().forward(np.ones((4, 3), dtype=np.float16))
    with pytest.raises(TypeError, match=r"Dense\(3, 2, tanh\): the dtype must be float32 or "
                                        r"float64, got float16"):
        Dense(3, 2, "tanh", dtype=np.float16)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_integer_input_is_converted_to_the_layer_dtype(dtype) -> None:
    """Note 004's XOR data is integer: it is converted, never computed in integers."""
    layer = Dense(3, 5, "sigmoid", dtype=dtype, seed=4)
    out = layer.forward(XOR_INPUTS)
    assert XOR_INPUTS.dtype.kind == "i" and out.dtype == dtype
    np.testing.assert_array_equal(out, layer.forward(XOR_INPUTS.astype(dtype)))
    np.testing.assert_array_equal(layer.forward(XOR_INPUTS.astype(bool)), out)


def test_a_refused_input_leaves_the_layer_untouched() -> None:
    """The check runs before any computation: nothing is cached for backward."""
    layer = _layer()
    with pytest.raises(ValueError):
        layer.forward(np.ones((4, 2)))
    with pytest.raises(RuntimeError, match="call forward"):
        layer.backward(np.ones((4, 2)))


# Losses -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PAIRED_LOSSES)
def test_labels_n1_against_predictions_n_are_refused(name: str) -> None:
    """torch's mse_loss would broadcast these to (N, N) with only a warning."""
    y_true, y_pred = np.full((4, 1), 0.5), np.full(4, 0.5)
    for function in _both(name):
        with pytest.raises(ValueError, match=rf"{name}: y_true has shape \(4, 1\) but y_pred "
                                             r"has shape \(4,\)"):
            function(y_true, y_pred)


@pytest.mark.parametrize("name", PAIRED_LOSSES)
def test_a_loss_needs_a_batch_dimension(name: str) -> None:
    for function in _both(name):
        with pytest.raises(ValueError, match=rf"{name}: expected a batch dimension"):
            function(np.float64(0.5), np.float64(0.5))


@pytest.mark.parametrize("name", PAIRED_LOSSES)
def test_labels_and_predictions_of_different_float_dtypes_are_refused(name: str) -> None:
    y_true, y_pred = np.full((2, 3), 0.5, np.float32), np.full((2, 3), 0.25)
    for function in _both(name):
        with pytest.raises(TypeError, match=rf"{name}: y_true has dtype float32 but {name} "
                                            r"computes in float64"):
            function(y_true, y_pred)


@pytest.mark.parametrize("name", PAIRED_LOSSES)
def test_integer_labels_are_converted_to_the_prediction_dtype(name: str) -> None:
    y_true = np.array([[0, 1, 0], [1, 0, 0]])
    y_pred = np.array([[0.2, 0.7, 0.1], [0.6, 0.3, 0.1]], dtype=np.float32)
    assert losses.get(name)(y_true, y_pred) == losses.get(name)(y_true.astype(np.float32), y_pred)
    grad = losses.gradient(name)(y_true, y_pred)
    assert grad.dtype == np.float32


@pytest.mark.parametrize("name", SPARSE_LOSSES)
@pytest.mark.parametrize("index", [3, -1, -100], ids=["C", "minus1", "torch_ignore_index"])
def test_class_indices_out_of_range_are_refused(name: str, index: int) -> None:
    """-100 is torch's ignore_index: F.cross_entropy would silently skip that sample."""
    y_pred = np.full((2, 3), 1 / 3)
    for function in _both(name):
        with pytest.raises(ValueError, match=rf"{name}: y_true \(class indices\) must lie in "
                                             rf"\[0, 2\], but 1 value lies outside \(from "
                                             rf"{index} to {index}\)"):
            function(np.array([0, index]), y_pred)


@pytest.mark.parametrize("name", SPARSE_LOSSES)
def test_class_indices_must_be_integers(name: str) -> None:
    for function in _both(name):
        with pytest.raises(TypeError, match=rf"{name}: y_true must hold integer class "
                                            r"indices, got dtype float64"):
            function(np.array([0.0, 1.7]), np.full((2, 3), 1 / 3))


@pytest.mark.parametrize("name", SPARSE_LOSSES)
def test_one_class_index_per_sample(name: str) -> None:
    with pytest.raises(ValueError, match=r"y_true \(class indices\) must have shape \(2,\), "
                                         r"got \(2, 1\)"):
        losses.get(name)(np.array([[0], [1]]), np.full((2, 3), 1 / 3))


@pytest.mark.parametrize("name", PROBABILITY_PREDICTIONS)
@pytest.mark.parametrize("bad", [1.5, -0.25, np.inf])
def test_probabilities_outside_0_1_are_refused(name: str, bad: float) -> None:
    y_pred = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, bad]])
    y_true = np.array([1, 0]) if name.startswith("sparse") else np.eye(3)[[1, 0]]
    for function in _both(name):
        with pytest.raises(ValueError, match=rf"{name}: y_pred \(probabilities\) must lie in "
                                             rf"\[0, 1\], but 1 value lies outside \(from "
                                             rf"{bad:g} to {bad:g}\)"):
            function(y_true, y_pred)


@pytest.mark.parametrize("name", PROBABILITY_TARGETS)
def test_cross_entropy_targets_outside_0_1_are_refused(name: str) -> None:
    y_true = np.array([[2.0, -1.0, 0.0]])
    y_pred = np.array([[0.2, 0.5, 0.3]])
    for function in _both(name):
        with pytest.raises(ValueError, match=rf"{name}: y_true \(probabilities\) must lie in "
                                             r"\[0, 1\], but 2 values lie outside \(from -1\.0 "
                                             r"to 2\.0\)"):
            function(y_true, y_pred)


def test_logits_may_take_any_value() -> None:
    """The *_with_logits losses check their targets only: logits are unbounded."""
    assert np.isfinite(losses.binary_cross_entropy_with_logits(np.array([1.0]), np.array([50.0])))


@pytest.mark.parametrize("name", PROBABILITY_PREDICTIONS + PROBABILITY_TARGETS)
def test_the_range_checks_let_nan_through(name: str) -> None:
    """A NaN is not a wrong value but the symptom of an earlier failure: it must reach the
    loss (NaN), not be turned into an error about a probability outside [0, 1]."""
    y_pred = np.array([[np.nan, 0.5, 0.5]])
    y_true = np.array([1]) if name.startswith("sparse") else np.array([[0.0, 1.0, 0.0]])
    assert np.isnan(losses.get(name)(y_true, y_pred))
