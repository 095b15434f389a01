"""Fuzz, round five (layers, graphs, fit, losses and conversion): inputs and models
configured as outside users configure them.

* A masked NumPy array (``np.ma``) is refused by name wherever the project takes arrays:
  ``np.asarray`` keeps a masked array's data, masked entries included, and drops its
  mask without a word (``reference._validation.as_array``). So is an array-like that
  refuses to become an array (a torch tensor that requires grad, given to the spec or TF).
* A hyper-parameter that is an integer too large for a float (10**400) is refused by
  name (``math.isfinite`` raised ``OverflowError``); a torch optimizer builder given no
  parameters too (torch's "optimizer got an empty parameter list" named neither).
* A spec model called as Keras calls one (on a graph's tensor to nest it, on a batch) is
  refused by name: it is not a layer.
* ``tf_impl.to_reference`` refuses, naming the layer and the option, a Keras layer's
  options that act only in training and that the spec does not model (constraints,
  activity and other regularisers, LoRA, ``trainable=False``): training the spec model
  would differ. ``inference=True`` drops them, the outputs unchanged, and the port does
  so, saying it in the layer's row of its report. A layer of another dtype policy
  (float16, bfloat16, int8-quantized) is refused by name. ``torch_impl.to_reference``
  does the same for a torch module's: a parameter with ``requires_grad=False``, a
  parametrization (``weight_norm``, ``spectral_norm``, ``orthogonal``);
  ``nn_rosetta.port_to_keras`` drops them.
* A Keras Dense first on a sequence (``keras.Input((T, F))``) acts at every step: the
  spec model is its TimeDistributed, taking (N, T, F) as the Keras model does (it was a
  spec Dense taking (N, F) only); on an image it is refused by name.
* ``tf_impl.from_reference`` refuses a spec graph whose Input or layer name holds '/'
  by name (Keras's own error named neither the function nor the graph).
* A NumPy array with a negative stride (``x[::-1]``) given to torch_impl's fit or losses
  is read as its copy (torch's "At least one stride … is negative" named neither).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import parametrizations

import reference
import tf_impl
import torch_impl
from nn_rosetta import porting


def _x(n: int = 4, d: int = 3) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, d))


def _masked(array: np.ndarray) -> np.ma.MaskedArray:
    mask = np.zeros(array.shape, bool)
    mask.flat[0] = True
    return np.ma.array(array, mask=mask)


def _dense() -> reference.Sequential:
    return reference.Sequential([reference.Dense(3, 2, "tanh")])


def _graph() -> reference.Model:
    a = reference.Input((3,), name="a")
    return reference.Model(a, reference.Dense(3, 2)(a))


# Each entry point that takes arrays, given a masked one: (the call, the name it must say)
MASKED: dict[str, tuple[Callable[[], object], str]] = {
    "spec forward": (lambda: _dense().forward(_masked(_x())), "Sequential"),
    "spec graph forward": (lambda: _graph().forward(_masked(_x())), "Model.forward"),
    "spec fit X": (lambda: reference.training.fit(_dense(), _masked(_x()), _x(4, 2)), "fit"),
    "spec fit Y": (lambda: reference.training.fit(_dense(), _x(), _masked(_x(4, 2))), "fit"),
    "spec fit sparse Y": (lambda: reference.training.fit(
        _dense(), _x(), np.ma.array([0, 1, 1, 0], mask=[1, 0, 0, 0]),
        loss="sparse_categorical_cross_entropy_with_logits"), "fit"),
    "spec graph fit": (lambda: reference.training.fit(_graph(), [_masked(_x())], [_x(4, 2)]),
                       "fit"),
    "spec loss": (lambda: reference.losses.mean_squared_error(_masked(_x()), _x()),
                  "mean_squared_error"),
    "spec sparse loss": (lambda: reference.losses.sparse_categorical_cross_entropy(
        np.ma.array([0, 1], mask=[1, 0]), np.full((2, 2), 0.5)),
        "sparse_categorical_cross_entropy"),
    "spec KL": (lambda: reference.losses.gaussian_kl(_masked(_x()), _x()), "gaussian_kl"),
    "spec layer weights": (lambda: reference.Dense(3, 2).set("W", _masked(_x(3, 2))),
                           "Dense"),
    "spec Embedding": (lambda: reference.sequences.Embedding(5, 2).forward(
        np.ma.array([[0, 1]], mask=[[1, 0]])), "Embedding"),
    "spec autodiff": (lambda: reference.autodiff.Tensor(_masked(_x())), "Tensor"),
    "gradcheck": (lambda: reference.gradcheck.gradient_error(_masked(_x()), _x()),
                  "gradient_error"),
    "a list of masked rows": (lambda: _dense().forward([_masked(_x(1, 3)[0])]),
                              "Sequential"),
    "torch fit": (lambda: torch_impl.fit(torch_impl.from_reference(_dense()),
                                         _masked(_x()), _x(4, 2)), "fit"),
    "torch loss": (lambda: torch_impl.losses.mean_squared_error(_masked(_x()), _x()),
                   "mean_squared_error"),
    "tf fit": (lambda: tf_impl.fit(tf_impl.from_reference(_dense()), _masked(_x()), _x(4, 2)),
               "fit"),
    "tf loss": (lambda: tf_impl.losses.mean_squared_error(_masked(_x()), _x()),
                "mean_squared_error"),
}


@pytest.mark.parametrize("case", MASKED)
def test_a_masked_array_is_refused_by_name(case: str) -> None:
    call, where = MASKED[case]
    with pytest.raises(TypeError, match=rf"^{where}\b.*masked array"):
        call()


def _needs_grad() -> torch.Tensor:
    return torch.ones(4, 3, dtype=torch.float64, requires_grad=True)


UNREADABLE: dict[str, tuple[Callable[[], object], str]] = {
    "spec fit": (lambda: reference.training.fit(_dense(), _needs_grad(), _x(4, 2)), "fit"),
    "spec loss": (lambda: reference.losses.mean_squared_error(_needs_grad(), _x(4, 3)),
                  "mean_squared_error"),
    "tf fit": (lambda: tf_impl.fit(tf_impl.from_reference(_dense()), _needs_grad(), _x(4, 2)),
               "fit"),
}


@pytest.mark.parametrize("case", UNREADABLE)
def test_an_array_like_numpy_cannot_read_is_refused_by_name(case: str) -> None:
    call, where = UNREADABLE[case]
    with pytest.raises(TypeError, match=rf"^{where}: .* cannot be read as a NumPy array "
                                        r"\(torch\.Tensor: .*requires grad"):
        call()


CALLED = {
    "Sequential on a tensor": (lambda: _dense()(reference.Input((3,))), "Sequential"),
    "Model on a tensor": (lambda: _graph()(reference.Input((3,))), "Model"),
    "Model on a batch": (lambda: _graph()(_x()), "Model"),
}


@pytest.mark.parametrize("case", CALLED)
def test_a_spec_model_called_like_a_layer_is_refused_by_name(case: str) -> None:
    call, where = CALLED[case]
    with pytest.raises(TypeError, match=rf"^{where}: a spec model is not called"):
        call()


HUGE = {
    "spec SGD": (lambda: reference.optimizers.SGD(learning_rate=10**400), "SGD"),
    "spec Adam": (lambda: reference.optimizers.Adam(epsilon=10**400), "Adam"),
    "torch SGD": (lambda: torch_impl.optimizers.SGD([torch.zeros(2, requires_grad=True)],
                                                    learning_rate=10**400), "SGD"),
    "tf SGD": (lambda: tf_impl.optimizers.SGD(learning_rate=10**400), "SGD"),
    "spec schedule": (lambda: reference.schedules.ExponentialDecay(10**400, 10, 0.9),
                      "ExponentialDecay"),
}


@pytest.mark.parametrize("case", HUGE)
def test_a_hyperparameter_too_large_for_a_float_is_refused_by_name(case: str) -> None:
    call, where = HUGE[case]
    with pytest.raises(ValueError, match=rf"^{where}: \w+ must be a finite number"):
        call()


@pytest.mark.parametrize("params", [[], iter([])], ids=["list", "iterator"])
def test_a_torch_optimizer_without_parameters_is_refused_by_name(params: object) -> None:
    with pytest.raises(ValueError, match=r"^SGD: params is empty"):
        torch_impl.optimizers.SGD(params)


def _keras(layer: keras.Layer, shape: tuple[int, ...] = (3,), dtype: str = "float32",
           after: Callable[[keras.Layer], object] = lambda layer: None) -> keras.Sequential:
    """A Keras model of ``layer`` (called ``odd`` to be named in errors), then ``after``."""
    model = keras.Sequential([keras.Input(shape, dtype=dtype), layer])
    after(layer)
    return model


def _frozen(layer: keras.Layer) -> None:
    layer.trainable = False


_L = keras.layers
# Keras layers set up as users set them up, with an option that acts only in training:
# (the model, the option as the error names it)
TRAINING_ONLY: dict[str, tuple[Callable[[], keras.Model], str]] = {
    "Dense kernel constraint": (lambda: _keras(_L.Dense(
        2, kernel_constraint=keras.constraints.MaxNorm(1.0), name="odd")), "kernel_constraint"),
    "Dense activity regulariser": (lambda: _keras(_L.Dense(
        2, activity_regularizer="l2", name="odd")), "activity_regularizer"),
    "Dense bias regulariser": (lambda: _keras(_L.Dense(2, bias_regularizer="l2", name="odd")),
                               "bias_regularizer"),
    "Dense L1 kernel regulariser": (lambda: _keras(_L.Dense(
        2, kernel_regularizer="l1", name="odd")), "kernel_regularizer=L1"),
    "Conv2D L2 kernel regulariser": (lambda: _keras(_L.Conv2D(
        2, 3, kernel_regularizer="l2", name="odd"), (5, 5, 1)), "kernel_regularizer=L2"),
    "DepthwiseConv2D regulariser": (lambda: _keras(_L.DepthwiseConv2D(
        3, depthwise_regularizer="l2", name="odd"), (5, 5, 2)), "depthwise_regularizer"),
    "LSTM recurrent constraint": (lambda: _keras(_L.LSTM(
        2, recurrent_constraint="non_neg", name="odd"), (4, 3)), "recurrent_constraint"),
    "Bidirectional's LSTM regulariser": (lambda: _keras(_L.Bidirectional(
        _L.LSTM(2, kernel_regularizer="l2"), name="odd"), (4, 3)), "kernel_regularizer"),
    "Embedding constraint": (lambda: _keras(_L.Embedding(
        5, 2, embeddings_constraint="unit_norm", name="odd"), (4,), "int32"),
        "embeddings_constraint"),
    "BatchNormalization gamma regulariser": (lambda: _keras(_L.BatchNormalization(
        gamma_regularizer="l2", name="odd")), "gamma_regularizer"),
    "MultiHeadAttention regulariser": (lambda: (lambda x: keras.Model(x, _L.MultiHeadAttention(
        2, 2, kernel_regularizer="l2", name="odd")(x, x)))(keras.Input((4, 3))),
        "kernel_regularizer"),
    "a frozen Dense": (lambda: _keras(_L.Dense(2, name="odd"), after=_frozen),
                       "trainable=False"),
    "a frozen BatchNormalization": (lambda: _keras(_L.BatchNormalization(name="odd"),
                                                   after=_frozen), "trainable=False"),
    "Dense with LoRA": (lambda: _keras(_L.Dense(2, name="odd"),
                                       after=lambda layer: layer.enable_lora(2)), "LoRA"),
    "in a graph": (lambda: (lambda a, b: keras.Model([a, b], _L.Add()([_L.Dense(
        2, kernel_constraint="non_neg", name="odd")(a), _L.Dense(2)(b)])))(
        keras.Input((3,)), keras.Input((3,))), "kernel_constraint"),
}


@pytest.mark.parametrize("case", TRAINING_ONLY)
def test_to_reference_refuses_a_training_only_option_naming_layer_and_option(case: str) -> None:
    build, option = TRAINING_ONLY[case]
    with pytest.raises(TypeError, match=rf"^to_reference: layer \d+ \(odd\) has .*"
                                        rf"{option}.*inference=True"):
        tf_impl.to_reference(build())


@pytest.mark.parametrize("layers", [[_L.Dense(2)], [_L.Dense(5, activation="relu"), _L.Dense(2)],
                                    [_L.Dense(2), _L.Flatten(), _L.Dense(1)]],
                         ids=["Dense", "two Dense", "then Flatten"])
def test_a_keras_dense_on_a_sequence_reads_as_the_spec_model_of_the_same_input(
        layers: list) -> None:
    model = keras.Sequential([keras.Input((4, 3)), *layers])
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    spec = tf_impl.to_reference(model)
    np.testing.assert_allclose(spec.forward(x), keras.ops.convert_to_numpy(model(x)),
                               rtol=1e-5, atol=1e-6)


def test_a_keras_dense_on_an_image_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match=r"^to_reference: layer 0 \(odd\) is a Dense on inputs "
                                        r"of per-sample shape \(4, 4, 3\)"):
        tf_impl.to_reference(_keras(_L.Dense(2, name="odd"), (4, 4, 3)))


@pytest.mark.parametrize(("layer", "given"), [("dé/nse", "a"), ("dense", "in/put")],
                         ids=["layer", "Input"])
def test_tf_from_reference_refuses_a_slash_in_a_graphs_names_by_name(layer: str,
                                                                       given: str) -> None:
    a = reference.Input((3,), name=given)
    graph = reference.Model(a, reference.Dense(3, 2, name=layer)(a))
    with pytest.raises(ValueError, match=r"^from_reference: (layer|Input) '.*/.*' holds '/'"):
        tf_impl.from_reference(graph)


def _lora_trained(layer: keras.Layer) -> None:
    layer.enable_lora(2)
    layer.lora_kernel_b.assign(np.ones((2, 2)))  # as after training: the update is not 0


INFERENCE = {case: TRAINING_ONLY[case][0] for case in (
    "Dense kernel constraint", "Conv2D L2 kernel regulariser", "LSTM recurrent constraint",
    "a frozen BatchNormalization", "in a graph")}
INFERENCE["Dense with trained LoRA"] = lambda: _keras(_L.Dense(2), after=_lora_trained)


@pytest.mark.parametrize("case", INFERENCE)
def test_to_reference_for_inference_drops_the_option_and_computes_the_same(case: str) -> None:
    model = INFERENCE[case]()
    x = [np.random.default_rng(0).normal(size=(2, *t.shape[1:])).astype("float32")
         for t in model.inputs]
    x = x if len(x) > 1 else x[0]
    spec = tf_impl.to_reference(model, inference=True)
    np.testing.assert_allclose(spec.forward(x), keras.ops.convert_to_numpy(model(x)),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("graph", [False, True], ids=["chain", "graph"])
def test_the_port_drops_a_training_only_option_and_says_so_in_the_layers_row(
        graph: bool) -> None:
    a = keras.Input((3,))
    h = _L.Dense(2, kernel_constraint="non_neg", name="odd")(a)
    model = keras.Model(a, _L.Add()([h, _L.Dense(2)(a)]) if graph else h)
    report = porting.port(model, other_dtype=False).report
    row = next(row for row in report.as_dict()["layers"] if row["layer"] == "odd")
    assert report.ok and row["note"] == "dropped, training-only: kernel_constraint=NonNeg()"


POLICIES = {
    "float16": lambda: _keras(_L.Dense(2, dtype="float16", name="odd")),
    "bfloat16": lambda: _keras(_L.Dense(2, dtype="bfloat16", name="odd")),
    "mixed_float16": lambda: _keras(_L.Dense(2, dtype="mixed_float16", name="odd")),
}


@pytest.mark.parametrize("case", POLICIES)
def test_to_reference_refuses_another_dtype_policy_by_name(case: str) -> None:
    with pytest.raises(TypeError, match=rf"^to_reference: layer 0 \(odd\) .*{case}"):
        tf_impl.to_reference(POLICIES[case]())


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras's own quantize call
def test_to_reference_refuses_a_quantized_layer_by_name() -> None:
    model = _keras(_L.Dense(2, name="odd"), after=lambda layer: layer.quantize("int8"))
    with pytest.raises(TypeError, match=r"^to_reference: layer 0 \(odd\) is quantized"):
        tf_impl.to_reference(model, inference=True)


def _frozen_linear() -> nn.Linear:
    linear = nn.Linear(4, 2)
    linear.bias.requires_grad_(False)
    return linear


# torch modules set up as users set them up: (the module, the option as the error names it)
TORCH_TRAINING_ONLY: dict[str, tuple[Callable[[], nn.Module], str]] = {
    "a frozen bias": (_frozen_linear, "requires_grad=False on bias"),
    "weight_norm": (lambda: parametrizations.weight_norm(nn.Linear(4, 2)),
                    r"parametrization of weight \(WeightNorm\)"),
    "spectral_norm": (lambda: parametrizations.spectral_norm(nn.Linear(4, 2)),
                      r"parametrization of weight \(SpectralNorm\)"),
    "orthogonal": (lambda: parametrizations.orthogonal(nn.Linear(4, 4)),
                   r"parametrization of weight \(Orthogonal\)"),
}


@pytest.mark.parametrize("case", TORCH_TRAINING_ONLY)
def test_torch_to_reference_refuses_a_training_only_option_naming_module_and_option(
        case: str) -> None:
    build, option = TORCH_TRAINING_ONLY[case]
    with pytest.raises(TypeError, match=rf"^to_reference: module 1 \(\w+\) has (a )?{option}.*"
                                        "inference=True"):
        torch_impl.to_reference(nn.Sequential(nn.Tanh(), build()))


@pytest.mark.parametrize("case", TORCH_TRAINING_ONLY)
def test_torch_to_reference_for_inference_drops_the_option_and_computes_the_same(
        case: str) -> None:
    module = nn.Sequential(TORCH_TRAINING_ONLY[case][0]()).double().eval()
    x = np.random.default_rng(0).normal(size=(3, 4))
    spec = torch_impl.to_reference(module, inference=True)
    with torch.no_grad():
        np.testing.assert_allclose(spec.forward(x), module(torch.from_numpy(x)).numpy(),
                                   rtol=1e-12, atol=1e-12)


def test_the_port_to_keras_drops_a_frozen_parameter() -> None:
    assert porting.port_to_keras(nn.Sequential(_frozen_linear())).report.ok


@pytest.mark.parametrize("entry", ["fit", "loss"])
def test_torch_impl_reads_a_reversed_array_as_its_copy(entry: str) -> None:
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((8, 2))[::-1], rng.standard_normal((8, 1))[::-1]
    if entry == "loss":
        results = [torch_impl.losses.mean_squared_error(y, x[:, :1]).item()
                   for x, y in ((X, Y), (X.copy(), Y.copy()))]
    else:
        spec = reference.Sequential([reference.Dense(2, 1)], seed=0)
        results = [torch_impl.fit(torch_impl.from_reference(spec), x, y,
                                  optimizer=reference.optimizers.SGD(0.1), batch_size=4).loss
                   for x, y in ((X, Y), (X.copy(), Y.copy()))]
    assert results[0] == results[1]
