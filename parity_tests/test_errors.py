"""Bad input gets the spec's clear error in both mirrors, before any computation.

The mirrors reuse ``reference._validation`` on their tensors' shapes, dtype names and
values, so a loss, or a model converted with ``from_reference`` given input through an
entry point (``torch_impl.fit``, the parity harness; a Keras model's own call), refuses
what the spec refuses, with the same message, and converts integer input the same way. Where the
framework alone would do something else, a test shows what (torch's broadcast and its
ignore_index, Keras's silent autocast). The spec's side is ``reference/tests/test_errors.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework
from reference.registry import XOR_INPUTS
from reference.tests.test_errors import (
    PAIRED_LOSSES,
    PROBABILITY_PREDICTIONS,
    PROBABILITY_TARGETS,
    SPARSE_LOSSES,
)


def tensor(fw, array):
    """``array`` as the framework's tensor, dtype kept."""
    array = np.asarray(array)
    if fw.name == "torch":
        return fw.torch.from_numpy(array.copy())  # a copy is contiguous and keeps 0-d arrays
    return fw.tf.constant(array)


def numpy(fw, t) -> np.ndarray:
    return t.detach().numpy() if fw.name == "torch" else t.numpy()


def loss(fw, name: str, y_true, y_pred) -> float:
    return float(getattr(fw.impl.losses, name)(tensor(fw, y_true), tensor(fw, y_pred)))


def run(fw, model, x):
    """A converted model on ``x`` through the entry point that checks it: torch's modules
    are stock ``nn.Linear`` … and check nothing, so the torch harness applies the spec's
    policy first (``torch_impl.fit`` does the same); the Keras model checks its input."""
    return model(fw.checked_input(model, x)) if fw.name == "torch" else model(x)


def _spec_model(dtype=np.float64) -> reference.Sequential:
    return reference.Sequential([reference.Dense(3, 2, "tanh", dtype=dtype),
                                 reference.Dense(2, 1, "sigmoid", dtype=dtype)], seed=3)


# Losses -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PAIRED_LOSSES)
def test_labels_n1_against_predictions_n_are_refused(fw, name: str) -> None:
    with pytest.raises(ValueError, match=rf"{name}: y_true has shape \(4, 1\) but y_pred has "
                                         r"shape \(4,\)"):
        loss(fw, name, np.full((4, 1), 0.5), np.full(4, 0.5))


def test_raw_torch_broadcasts_n1_against_n_with_only_a_warning() -> None:
    """Why the check exists: (N, 1) − (N,) is (N, N) in torch, and the mean is wrong."""
    torch = framework("torch").torch
    y_true, y_pred = torch.tensor([[0.0], [1.0], [2.0]]), torch.tensor([0.0, 1.0, 2.0])
    with pytest.warns(UserWarning, match="broadcast"):
        raw = torch.nn.functional.mse_loss(y_pred, y_true)
    assert raw.item() == pytest.approx(12 / 9)  # the mean of (i − j)² over the 3×3 pairs


@pytest.mark.parametrize("name", PAIRED_LOSSES)
def test_a_loss_needs_a_batch_dimension(fw, name: str) -> None:
    with pytest.raises(ValueError, match=rf"{name}: expected a batch dimension"):
        loss(fw, name, np.float64(0.5), np.float64(0.5))


@pytest.mark.parametrize("name", PAIRED_LOSSES)
def test_labels_and_predictions_of_different_float_dtypes_are_refused(fw, name: str) -> None:
    with pytest.raises(TypeError, match=rf"{name}: y_true has dtype float32 but {name} "
                                        r"computes in float64"):
        loss(fw, name, np.full((2, 3), 0.5, np.float32), np.full((2, 3), 0.25))


@pytest.mark.parametrize("name", PAIRED_LOSSES)
def test_integer_labels_are_converted_to_the_prediction_dtype(fw, name: str) -> None:
    y_true = np.array([[0, 1, 0], [1, 0, 0]])
    y_pred = np.array([[0.2, 0.7, 0.1], [0.6, 0.3, 0.1]], dtype=np.float32)
    assert loss(fw, name, y_true, y_pred) == loss(fw, name, y_true.astype(np.float32), y_pred)


@pytest.mark.parametrize("name", SPARSE_LOSSES)
@pytest.mark.parametrize("index", [3, -1, -100], ids=["C", "minus1", "torch_ignore_index"])
def test_class_indices_out_of_range_are_refused(fw, name: str, index: int) -> None:
    with pytest.raises(ValueError, match=rf"{name}: y_true \(class indices\) must lie in "
                                         r"\[0, 2\], but 1 value lies outside"):
        loss(fw, name, np.array([0, index]), np.full((2, 3), 1 / 3))


def test_raw_torch_silently_skips_the_class_index_minus_100() -> None:
    """Why the check exists: -100 is F.cross_entropy's ignore_index, not an error."""
    torch = framework("torch").torch
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 5.0, 0.0]])
    both = torch.nn.functional.cross_entropy(logits, torch.tensor([0, -100]))
    first = torch.nn.functional.cross_entropy(logits[:1], torch.tensor([0]))
    assert both.item() == first.item()  # the second sample is gone without a word


@pytest.mark.parametrize("name", SPARSE_LOSSES)
def test_class_indices_must_be_integers(fw, name: str) -> None:
    with pytest.raises(TypeError, match=rf"{name}: y_true must hold integer class indices, "
                                        r"got dtype float64"):
        loss(fw, name, np.array([0.0, 1.7]), np.full((2, 3), 1 / 3))


@pytest.mark.parametrize("name", SPARSE_LOSSES)
def test_integer_class_indices_of_any_width_are_accepted(fw, name: str) -> None:
    y_pred = np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])
    assert loss(fw, name, np.array([1, 0], np.int32), y_pred) == \
        loss(fw, name, np.array([1, 0], np.int64), y_pred)


@pytest.mark.parametrize("name", PROBABILITY_PREDICTIONS)
@pytest.mark.parametrize("bad", [1.5, -0.25, np.inf])
def test_probabilities_outside_0_1_are_refused(fw, name: str, bad: float) -> None:
    y_pred = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, bad]])
    y_true = np.array([1, 0]) if name.startswith("sparse") else np.eye(3)[[1, 0]]
    with pytest.raises(ValueError, match=rf"{name}: y_pred \(probabilities\) must lie in "
                                         rf"\[0, 1\], but 1 value lies outside \(from {bad:g}"):
        loss(fw, name, y_true, y_pred)


@pytest.mark.parametrize("name", PROBABILITY_TARGETS)
def test_cross_entropy_targets_outside_0_1_are_refused(fw, name: str) -> None:
    with pytest.raises(ValueError, match=rf"{name}: y_true \(probabilities\) must lie in "
                                         r"\[0, 1\], but 2 values lie outside "
                                         r"\(from -1\.0 to 2\.0\)"):
        loss(fw, name, np.array([[2.0, -1.0, 0.0]]), np.array([[0.2, 0.5, 0.3]]))


def test_keras_value_checks_become_assertions_inside_tf_function() -> None:
    """Inside tf.function values are unknown while tracing: the check runs with the graph."""
    tf = framework("tf").tf
    bce = tf.function(framework("tf").impl.losses.binary_cross_entropy)
    good = bce(tf.constant([[1.0, 0.0]], tf.float64), tf.constant([[0.9, 0.2]], tf.float64))
    assert np.isfinite(good.numpy())
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"y_pred \(probabilities\) must "
                                                             r"lie in \[0, 1\]"):
        bce(tf.constant([[1.0, 0.0]], tf.float64), tf.constant([[1.5, 0.2]], tf.float64))


# Models converted with from_reference --------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_a_converted_model_refuses_the_other_float_dtype(fw, dtype) -> None:
    model = fw.impl.from_reference(_spec_model(dtype))
    other = np.float32 if dtype == np.float64 else np.float64
    if fw.name == "tf":  # a stock Keras model autocasts; the entry point refuses first
        with pytest.raises(TypeError, match=rf"fit: X has dtype {np.dtype(other)} but fit "
                                            rf"computes in {np.dtype(dtype)}"):
            fw.impl.fit(model, tensor(fw, np.ones((4, 3), other)), np.ones((4, 2), dtype))
        return
    with pytest.raises(TypeError, match=rf"input x has dtype {np.dtype(other)} but .* computes "
                                        rf"in {np.dtype(dtype)}"):
        run(fw, model, tensor(fw, np.ones((4, 3), other)))


def test_fit_refuses_the_other_float_dtype_for_a_converted_keras_layer() -> None:
    tf_fw = framework("tf")
    layer = tf_fw.impl.from_reference(reference.Dense(3, 2, "tanh", dtype=np.float32))
    with pytest.raises(TypeError, match=r"fit: X has dtype float64 but fit computes in "
                                        r"float32"):
        tf_fw.impl.fit(layer, tf_fw.tf.constant(np.ones((4, 3))), np.ones((4, 2), np.float32))


def test_raw_keras_casts_a_float64_batch_to_float32_silently() -> None:
    """Why the check exists: Keras's autocast drops the input's precision without a word."""
    import keras
    layer = keras.layers.Dense(2, dtype="float32")
    assert layer(np.full((1, 3), 1 + 1e-12)).dtype == "float32"


def test_torch_fit_refuses_the_other_float_dtype_naming_itself() -> None:
    torch_fw = framework("torch")
    layer = torch_fw.impl.from_reference(reference.Dense(3, 2, "tanh"))
    with pytest.raises(TypeError, match=r"fit: input x has dtype float32 but fit computes in "
                                        r"float64"):
        torch_fw.impl.fit(layer, torch_fw.torch.ones((4, 3), dtype=torch_fw.torch.float32),
                          np.zeros((4, 2)))


# A stock Keras model checks its input's shape itself (its keras.Input), naming the layer.
KERAS_WIDTH = r"expected axis -1 of input shape to have value 3, but received .* shape \(4, 2\)"
KERAS_BATCH = r"Expected shape \(None, 3\), but input has incompatible shape \(3,\)"


def test_a_converted_model_refuses_the_wrong_input_width(fw) -> None:
    model = fw.impl.from_reference(_spec_model())
    with pytest.raises(ValueError, match=KERAS_WIDTH if fw.name == "tf" else
                       r"input x must have shape \(N, 3\), got \(4, 2\)"):
        run(fw, model, tensor(fw, np.ones((4, 2))))


def test_a_converted_model_needs_a_batch_dimension(fw) -> None:
    """torch's nn.Linear would take a (3,) vector as one sample."""
    model = fw.impl.from_reference(_spec_model())
    with pytest.raises(ValueError, match=KERAS_BATCH if fw.name == "tf" else
                       r"got \(3,\): a single sample needs a batch dimension"):
        run(fw, model, tensor(fw, np.ones(3)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_a_converted_model_converts_integer_input(fw, dtype) -> None:
    """Note 004's XOR data is integer: converted to the model's dtype, never computed in
    integers, so it gives exactly what the same data given as floats gives."""
    model = fw.impl.from_reference(_spec_model(dtype))
    out = numpy(fw, run(fw, model, tensor(fw, XOR_INPUTS)))
    assert XOR_INPUTS.dtype.kind == "i" and out.dtype == dtype
    np.testing.assert_array_equal(out, numpy(fw, run(fw, model,
                                                     tensor(fw, XOR_INPUTS.astype(dtype)))))


def test_from_reference_refuses_what_is_not_a_spec_model(fw) -> None:
    with pytest.raises(TypeError, match=r"from_reference: expected a reference.Sequential, "
                                        r"reference.Model or a spec layer, got list"):
        fw.impl.from_reference([reference.Dense(3, 2)])


def test_to_reference_refuses_a_layer_without_spec_counterpart() -> None:
    torch = framework("torch").torch
    module = torch.nn.Sequential(torch.nn.Linear(3, 2, dtype=torch.float64),
                                 torch.nn.Bilinear(2, 2, 1, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"to_reference: module 1 \(Bilinear\) has no spec "
                                        r"counterpart; supported: .*nn.Linear"):
        framework("torch").impl.to_reference(module)
    import keras
    # named: Keras numbers unnamed layers per process (lambda_1 after another test's Lambda)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2),
                              keras.layers.Lambda(lambda x: 2 * x, name="double")])
    with pytest.raises(TypeError, match=r"to_reference: layer 1 \(double\), a Lambda, has no "
                                        r"spec counterpart; supported: keras.layers.Dense"):
        framework("tf").impl.to_reference(model)


def test_to_reference_refuses_an_activation_module_that_computes_no_spec_activation() -> None:
    torch = framework("torch").torch
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Softplus(beta=2.0))
    with pytest.raises(TypeError, match=r"to_reference: module 1 \(Softplus\(beta=2\.0, "
                                        r"threshold=20\.0\)\) computes no spec activation"):
        framework("torch").impl.to_reference(module, input_shape=(3,))


def test_an_activation_module_after_no_linear_module_is_the_spec_activation_layer() -> None:
    torch = framework("torch").torch
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.ReLU())
    spec = framework("torch").impl.to_reference(module, input_shape=(3,))
    assert [layer.config() for layer in spec.layers[1:]] == \
        [reference.layers.Activation("relu").config()]


def test_to_reference_refuses_layers_of_mixed_dtypes(fw) -> None:
    first = fw.impl.from_reference(reference.Dense(3, 2, "tanh", dtype=np.float64))
    second = fw.impl.from_reference(reference.Dense(2, 1, dtype=np.float32))
    model = fw.impl.Sequential(*first, *second) if fw.name == "torch" else \
        fw.impl.Sequential([first, second])
    with pytest.raises(TypeError, match=r"Sequential: all layers must share one dtype, got "
                                        r"\['float32', 'float64'\]"):
        fw.impl.to_reference(model)


def test_to_reference_refuses_a_bias_of_the_other_dtype() -> None:
    torch_fw = framework("torch")
    module = torch_fw.impl.from_reference(reference.Dense(3, 2, "tanh"))
    module[0].bias.data = module[0].bias.data.float()
    with pytest.raises(TypeError, match=r"Dense\(3, 2, tanh\): b has dtype float32 but "
                                        r"Dense\(3, 2, tanh\) computes in float64"):
        torch_fw.impl.to_reference(module)
