"""Fuzz: the arguments every spec constructor shares (seeds, activations, names, dtypes),
ragged and empty inputs, Embedding indices at the mirrors' entry points, the weight
files' paths and models, and a ``.keras`` config that describes more than its weights.

Each call gives a right result or a clear error naming the function or layer
(``oracle.outcome``); a right result is checked against an independent computation (a
seeded layer against one drawn from ``np.random.default_rng``, a converted index batch
against the spec's forward pass).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference
from parity_tests.conftest import framework
from parity_tests.fuzz.oracle import outcome
from reference import Dense, Sequential, activations
from reference import parallel as spec_parallel
from reference.callbacks import EarlyStopping
from reference.convolution import Conv1D, Conv2D, DepthwiseConv2D, GlobalAveragePooling2D
from reference.layers import Activation, Dropout
from reference.merging import Concatenate
from reference.normalization import BatchNormalization, Rescaling
from reference.optimizers import SGD, Adam, AdamW
from reference.sequences import (
    GRU,
    LSTM,
    Embedding,
    MultiHeadAttention,
    SimpleRNN,
    scaled_dot_product_attention,
)

# -- seeds -----------------------------------------------------------------------------------

SEEDED = {
    "Dense": lambda seed: Dense(3, 2, seed=seed),
    "Conv1D": lambda seed: Conv1D(2, 3, 2, seed=seed),
    "Conv2D": lambda seed: Conv2D(2, 3, 2, seed=seed),
    "DepthwiseConv2D": lambda seed: DepthwiseConv2D(2, 2, seed=seed),
    "Embedding": lambda seed: Embedding(4, 2, seed=seed),
    "SimpleRNN": lambda seed: SimpleRNN(2, 3, seed=seed),
    "LSTM": lambda seed: LSTM(2, 3, seed=seed),
    "GRU": lambda seed: GRU(2, 3, seed=seed),
    "MultiHeadAttention": lambda seed: MultiHeadAttention(4, 2, seed=seed),
    "Sequential": lambda seed: Sequential([Dense(3, 2)], seed=seed),
    "Model": lambda seed: _graph(seed),
}


def _graph(seed: object) -> reference.Model:
    x = reference.Input((3,))
    return reference.Model(x, Dense(3, 2)(x), seed=seed)
SEEDS = [0, 7, np.int64(3), 2**40, 2.5, 2.0, -1, True, np.bool_(False), "1", [1], (1, 2),
         np.float64(1.0)]


def _is_seed(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 0


@given(kind=st.sampled_from(sorted(SEEDED)), seed=st.sampled_from(SEEDS))
def test_a_seed_is_a_whole_number_and_draws_what_numpy_draws_from_it(kind, seed) -> None:
    made = outcome(lambda: SEEDED[kind](seed), kind)
    assert (made.error is None) == _is_seed(seed), made
    if made.error is None:  # the same weights as a layer given the generator of that seed
        layer = made.value.layers[0] if kind in ("Sequential", "Model") else made.value
        again = SEEDED[kind](None)
        again_layer = again.layers[0] if kind in ("Sequential", "Model") else again
        again_layer.initialize(np.random.default_rng(int(seed)))
        for name, array in layer.parameters.items():
            np.testing.assert_array_equal(array, again_layer.parameters[name])


@pytest.mark.parametrize("seed", [2.5, -1, True, "1"])
def test_dropout_names_itself_for_a_bad_seed(seed) -> None:
    with pytest.raises(ValueError, match=r"Dropout: seed must be an integer ≥ 0 or None"):
        Dropout(0.5, seed=seed)


# -- activations, names, dtypes ------------------------------------------------------------

WITH_ACTIVATION = {
    "Dense": lambda a: Dense(3, 2, a),
    "Conv1D": lambda a: Conv1D(2, 3, 2, activation=a),
    "Conv2D": lambda a: Conv2D(2, 3, 2, activation=a),
    "Activation": lambda a: Activation(a),
}


@given(kind=st.sampled_from(sorted(WITH_ACTIVATION)),
       activation=st.sampled_from([*activations.NAMES, 3, None, 1.5, "nope", "ReLU", b"relu",
                                   ("relu",)]))
def test_an_activation_is_a_known_name_and_an_unknown_one_names_the_layer(kind,
                                                                         activation) -> None:
    made = outcome(lambda: WITH_ACTIVATION[kind](activation), kind)
    known = isinstance(activation, str) and activation in activations.NAMES
    assert (made.error is None) == known, made
    if known:
        assert made.value.activation == activations.get(activation)


@pytest.mark.parametrize("name", [3, b"dense", ["a"]])
def test_a_layer_name_is_a_string(name) -> None:
    with pytest.raises(TypeError, match=r"Dense: name must be a str or None"):
        Dense(3, 2, name=name)


@pytest.mark.parametrize("name", [False, 0, np.array(["a", "b"])], ids=repr)
@pytest.mark.parametrize("make", [
    lambda name: Dense(3, 2, name=name),
    lambda name: Dropout(0.5, name=name),
    lambda name: Concatenate(name=name),
    lambda name: Embedding(5, 2, name=name),
    lambda name: MultiHeadAttention(4, 2, name=name),
    lambda name: Rescaling(0.5, name=name),
], ids=["Dense", "Dropout", "Concatenate", "Embedding", "MultiHeadAttention", "Rescaling"])
def test_a_falsy_name_is_refused_not_replaced_by_the_default(make, name) -> None:
    with pytest.raises(TypeError, match=r"name must be a str or None"):
        make(name)


@pytest.mark.parametrize(("dtype", "shown"), [(None, "None"), ("x", "'x'"),
                                              ("float16", "float16")])
def test_a_layer_with_weights_needs_a_float_dtype(dtype, shown) -> None:
    with pytest.raises(TypeError, match=rf"Dense.*dtype.*float32 or float64, got {shown}"):
        Dense(3, 2, dtype=dtype)


# -- ragged, empty, and shapes as given --------------------------------------------------------

RAGGED = [[1.0, 2.0, 3.0], [1.0, 2.0]]


@pytest.mark.parametrize(("where", "call"), [
    ("Dense", lambda: Dense(3, 2).forward(RAGGED)),
    ("Embedding", lambda: Embedding(4, 2).forward([[1, 2], [1]])),
    ("fit", lambda: reference.fit(Sequential([Dense(3, 2)]), RAGGED, np.zeros((2, 2)))),
    ("fit", lambda: reference.fit(Sequential([Dense(3, 2)]), np.zeros((2, 3)),
                                  [[0.0, 0.0], [0.0]])),
])
def test_a_ragged_nested_list_is_refused_by_name(where, call) -> None:
    with pytest.raises(ValueError, match=rf"{where}.*must be a rectangular array, got a "
                                         "ragged nested sequence"):
        call()


@pytest.mark.parametrize("package", ["torch", "tf"])
def test_the_mirrors_fit_refuses_a_ragged_input_by_name(package) -> None:
    fw = framework(package)
    model = fw.impl.from_reference(Sequential([Dense(3, 2)]))
    with pytest.raises(ValueError, match=r"fit: .* ragged nested sequence"):
        fw.impl.fit(model, RAGGED, np.zeros((2, 2)))


@pytest.mark.parametrize("mask", [np.full((2, 2), 0.5), np.full((2, 2), 2),
                                  np.array([["a", "b"], ["c", "d"]]), [[1, 0], [1]]])
def test_a_dropout_mask_follows_the_mask_rule(mask) -> None:
    layer = Dropout(0.5)
    layer.mask = mask
    with pytest.raises((TypeError, ValueError), match=r"Dropout\(0.5\): mask"):
        layer.forward(np.ones((2, 2)), training=True)


def test_a_dropout_mask_of_0_and_1_is_the_boolean_mask() -> None:
    layer, x = Dropout(0.5), np.arange(4.0).reshape(2, 2)
    layer.mask = np.array([[1, 0], [0, 1]])
    np.testing.assert_array_equal(layer.forward(x, training=True), [[0.0, 0.0], [0.0, 6.0]])


@pytest.mark.parametrize(("layer", "x"), [
    (lambda: Conv1D(2, 3, 2), np.ones((1, 5, 3))),
    (lambda: Conv1D(2, 3, 2), np.ones((4, 7, 1))),
    (lambda: Conv2D(2, 3, 2), np.ones((1, 5, 5, 3))),
])
def test_a_channel_mismatch_shows_the_shape_received(layer, x) -> None:
    with pytest.raises(ValueError) as refused:
        layer().forward(x)
    assert str(refused.value).endswith(f"got shape {x.shape}")


@pytest.mark.parametrize(("where", "call"), [
    ("GlobalAveragePooling2D", lambda: GlobalAveragePooling2D().forward(np.ones((1, 0, 0, 2)))),
    ("GlobalAveragePooling2D", lambda: GlobalAveragePooling2D().forward(np.ones((2, 3, 0, 2)))),
    ("BatchNormalization", lambda: BatchNormalization(3).forward(np.ones((0, 3)),
                                                                 training=True)),
])
def test_a_mean_over_nothing_is_refused_not_nan(where, call) -> None:
    with pytest.raises(ValueError, match=where):
        call()


def test_batch_normalization_keeps_its_running_statistics_on_an_empty_batch() -> None:
    layer = BatchNormalization(3)
    before = {name: array.copy() for name, array in layer.state.items()}
    with pytest.raises(ValueError):
        layer.forward(np.ones((0, 3)), training=True)
    for name, array in layer.state.items():
        np.testing.assert_array_equal(array, before[name])


@given(shape=st.sampled_from([(3,), [3], (np.int64(3),), (2.5,), (3.0,), "3", (0,), (-3,),
                              (True,), 3, None]))
def test_an_input_shape_is_positive_whole_numbers_never_cut(shape) -> None:
    made = outcome(lambda: Sequential([Dense(3, 2)], input_shape=shape), "Sequential")
    valid = shape is None or (isinstance(shape, tuple | list) and all(
        isinstance(s, int | np.integer) and not isinstance(s, bool) and s >= 1 for s in shape))
    assert (made.error is None) == valid, made
    if valid:
        assert made.value.input_shape == (3,)


def test_torch_to_reference_refuses_a_fractional_input_shape() -> None:
    module = framework("torch").impl.from_reference(Sequential([Dense(3, 2)]))
    with pytest.raises(ValueError, match=r"to_reference: input_shape must be a tuple of "
                                         r"positive integers.* got \(2.5,\)"):
        framework("torch").impl.to_reference(module, input_shape=(2.5,))


@pytest.mark.parametrize(("layers", "message"), [
    (None, "layers must be a list of layers, got NoneType"),
    (Dense(3, 2), "layers must be a list of layers, got Dense"),
])
def test_sequential_takes_a_list_of_layers(layers, message) -> None:
    with pytest.raises(TypeError, match=f"Sequential: {message}"):
        Sequential(layers)


def test_one_layer_twice_in_a_sequential_is_refused() -> None:
    shared = Dense(2, 2)  # its backward would see only the second forward's input
    with pytest.raises(ValueError, match=r"Sequential: layer 1 \(Dense\(2, 2, identity\)\) is "
                                         r"layer 0 again"):
        Sequential([shared, shared])


@pytest.mark.parametrize(("q", "k", "v"), [
    (np.ones((1, 2, 3)), np.ones((1, 2, 4)), np.ones((1, 2, 4))),
    (np.ones((1, 2, 3)), np.ones((2, 2, 3)), np.ones((2, 2, 3))),
    (np.ones((1, 2, 3)), np.ones((1, 4, 3)), np.ones((1, 3, 3))),
    (np.ones(3), np.ones(3), np.ones(3)),
])
def test_attention_names_itself_when_q_k_and_v_disagree(q, k, v) -> None:
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: q \(\.\.\., T, d\)"):
        scaled_dot_product_attention(q, k, v)


@given(n=st.sampled_from([4, np.int64(4), 4.0, 0, -1, "4", True]),
       world=st.sampled_from([1, 2, 4, 5, 2.5, 2.0, 0, True]))
def test_shard_rows_takes_whole_counts_and_covers_every_row_once(n, world) -> None:
    made = outcome(lambda: spec_parallel.shard_rows(n, world), "shard_rows")
    whole = [isinstance(c, int | np.integer) and not isinstance(c, bool) and c >= 1
             for c in (n, world)]
    assert (made.error is None) == (all(whole) and world <= n), made
    if made.error is None:
        assert sorted(np.concatenate(made.value).tolist()) == list(range(n))


@pytest.mark.parametrize("package", ["reference", "torch", "tf"])
def test_an_unknown_loss_names_fit(package) -> None:
    spec = Sequential([Dense(3, 2)])
    impl = reference if package == "reference" else framework(package).impl
    model = spec if package == "reference" else impl.from_reference(spec)
    with pytest.raises(ValueError, match=r"^fit: unknown loss 'nope'"):
        impl.fit(model, np.zeros((2, 3)), np.zeros((2, 2)), loss="nope")


@pytest.mark.parametrize("package", ["reference", "torch", "tf"])
@pytest.mark.parametrize("early_stopping", [3, "patience=2", {"patience": 2}])
def test_early_stopping_is_a_spec_callback_in_every_fit(package, early_stopping) -> None:
    spec = Sequential([Dense(3, 2)])
    impl = reference if package == "reference" else framework(package).impl
    model = spec if package == "reference" else impl.from_reference(spec)
    with pytest.raises(TypeError, match=r"^fit: early_stopping must be a "
                                        r"reference.callbacks.EarlyStopping or None"):
        impl.fit(model, np.zeros((2, 3)), np.zeros((2, 2)), early_stopping=early_stopping)


@pytest.mark.parametrize("l2", [0.1, "0.weight", ["0.weight"]])
def test_torch_fit_takes_l2_as_a_mapping(l2) -> None:
    fw = framework("torch")
    model = fw.impl.from_reference(Sequential([Dense(3, 2)]))
    with pytest.raises(TypeError, match=r"^fit: l2 must map parameter names to λ"):
        fw.impl.fit(model, np.zeros((2, 3)), np.zeros((2, 2)), l2=l2)


SWITCHES = {
    ("SGD", "nesterov"): lambda v: SGD(0.1, momentum=0.9, nesterov=v),
    ("SGD", "decoupled_weight_decay"): lambda v: SGD(0.1, decoupled_weight_decay=v),
    ("Adam", "decoupled_weight_decay"): lambda v: Adam(decoupled_weight_decay=v),
    ("EarlyStopping", "restore_best_weights"): lambda v: EarlyStopping(
        restore_best_weights=v),
}


@pytest.mark.parametrize(("kind", "what"), sorted(SWITCHES))
@pytest.mark.parametrize("value", [True, False, 1, 0, "yes", None])
def test_an_optimizer_or_callback_switch_is_true_or_false(kind, what, value) -> None:
    made = outcome(lambda: SWITCHES[kind, what](value), kind)
    assert (made.error is None) == isinstance(value, bool), made


@pytest.mark.parametrize(("where", "make"), [("SGD", lambda: SGD(convention="jax")),
                                             ("Adam", lambda: Adam(convention="jax")),
                                             ("AdamW", lambda: AdamW(convention="jax"))])
def test_an_unknown_convention_names_the_optimizer(where, make) -> None:
    with pytest.raises(ValueError, match=rf"^{where}: convention must be one of"):
        make()


# -- Embedding indices at the mirrors' entry points -------------------------------------------

def _embedding_model() -> Sequential:
    return Sequential([Embedding(5, 2, seed=0), LSTM(2, 3, seed=1), Dense(3, 2, seed=2)],
                      input_shape=(2,))


@settings(max_examples=8)  # epochs=0: the checks, then no step to trace
@given(package=st.sampled_from(["torch", "tf", "harness"]),
       indices=st.lists(st.integers(-3, 8), min_size=4, max_size=4))
def test_an_index_outside_the_embedding_is_refused_at_the_entry_point(package,
                                                                      indices) -> None:
    spec = _embedding_model()
    X = np.array(indices).reshape(2, 2)
    inside = all(0 <= i < 5 for i in indices)
    fw = framework("torch" if package == "harness" else package)
    model = fw.impl.from_reference(spec)
    if package == "harness":  # the parity harness's own check of a torch model's input
        result = outcome(lambda: fw.checked_input(model, X), "model")
    else:
        result = outcome(lambda: fw.impl.fit(model, X, np.zeros((2, 2)), epochs=0), "fit")
    assert (result.error is None) == inside, result
    if not inside:
        assert "indices into the Embedding's rows" in str(result.error)
        return
    if package == "harness":  # the indices pass unchanged
        np.testing.assert_array_equal(result.value.numpy(), X)


@pytest.mark.parametrize("index", [5, -1])
def test_the_port_refuses_an_example_index_outside_the_embedding(keras, index) -> None:
    from nn_rosetta import port

    model = keras.Sequential([keras.Input((2,), dtype="int64"), keras.layers.Embedding(5, 2),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"port: example_input \(indices\) must lie in "
                                         r"\[0, 4\]"):
        port(model, np.array([[1, index]]))


def test_the_port_refuses_an_empty_example_input(keras) -> None:
    from nn_rosetta import port

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"port: example_input is empty"):
        port(model, np.ones((0, 3), np.float32))


# -- weight files: the path and the model ------------------------------------------------------

@pytest.fixture(scope="module")
def weight_entries(tmp_path_factory) -> dict[str, tuple]:
    """Per package: save_weights, load_weights, a model and the file it was saved to."""
    spec, folder = Sequential([Dense(3, 2)]), tmp_path_factory.mktemp("weights")
    torch_fw, tf_fw = framework("torch"), framework("tf")
    entries = {
        "reference": (reference.save_weights, reference.load_weights, spec, "m.npz"),
        "torch": (torch_fw.impl.save_weights, torch_fw.impl.load_weights,
                  torch_fw.impl.from_reference(spec), "m.pt"),
        "tf": (tf_fw.impl.save_weights, tf_fw.impl.load_weights,
               tf_fw.impl.from_reference(spec), "m.weights.h5"),
    }
    for package, (save, load, model, name) in entries.items():
        save(model, os.fspath(folder / name))
        entries[package] = (save, load, model, os.fspath(folder / name))
    return entries


@pytest.mark.parametrize("package", ["reference", "torch", "tf"])
@pytest.mark.parametrize(("what", "bad"), [("path", None), ("path", 3), ("path", 2.5),
                                           ("model", None), ("model", "m"),
                                           ("model", "other package")])
def test_a_weight_file_entry_names_itself_for_a_bad_path_or_model(package, what, bad,
                                                                  weight_entries) -> None:
    save, load, model, saved = weight_entries[package]
    if bad == "other package":
        bad = weight_entries["tf" if package != "tf" else "torch"][2]
    for where, call in (("save_weights", lambda: save(model if what == "path" else bad,
                                                       bad if what == "path" else saved)),
                        ("load_weights", lambda: load(bad if what == "path" else saved,
                                                      model if what == "path" else bad))):
        if package == "reference" and where == "load_weights" and what == "model" and \
                bad is None:
            continue  # the spec's load_weights(path) builds the model: None is valid
        with pytest.raises(TypeError, match=rf"^{where}: {what} must be"):
            call()


# -- a .keras config that describes more than its weights hold ----------------------------------

def _keras_file_claiming(keras, folder: str, dense: dict) -> str:
    """A saved ``Dense(2)`` model whose config.json gives its Dense the settings ``dense``:
    a file whose config describes more (or other) than its weights hold."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = os.path.join(folder, "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {info: archive.read(info) for info in archive.infolist()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info, data in members.items():
            if info.filename == "config.json":
                config = json.loads(data)
                config["config"]["layers"][-1]["config"].update(dense)
                data = json.dumps(config).encode()
            archive.writestr(info, data)
    with open(path, "wb") as file:
        file.write(buffer.getvalue())
    return path


@pytest.mark.parametrize("units", [10**9, 10**5])
def test_a_keras_config_larger_than_its_weights_is_refused_before_it_is_built(keras,
                                                                              units) -> None:
    from nn_rosetta import porting

    with tempfile.TemporaryDirectory() as folder:  # 4·10⁹ bytes of kernel: never allocated
        path = _keras_file_claiming(keras, folder, {"units": units})
        with pytest.raises(porting.port_files.KerasFileError,
                           match=r"config.json describes a model of \d+ bytes of weights, but "
                                 r"model.weights.h5 declares only"):
            porting.load(path)


def test_a_refused_keras_file_leaves_nothing_for_keras_to_allocate_later(keras) -> None:
    """Sizing a file's model makes its variables unfilled; Keras fills every unfilled
    variable of its state when a ``StatelessScope`` next closes (a Lambda's shape
    inference closes one). A refused file's variables must not be among them."""
    from nn_rosetta import porting

    filled = []

    @keras.saving.register_keras_serializable("nn_rosetta_fuzz")
    class Recording(keras.initializers.Initializer):
        def __call__(self, shape, dtype=None):
            filled.append(shape)
            return keras.ops.zeros(shape, dtype=dtype)

    recording = keras.saving.serialize_keras_object(Recording())
    with tempfile.TemporaryDirectory() as folder:
        path = _keras_file_claiming(keras, folder, {"units": 10**5,
                                                    "kernel_initializer": recording})
        with pytest.raises(porting.port_files.KerasFileError, match="declares only"):
            porting.load(path)
    keras.layers.Lambda(lambda tensor: tensor * 2.0)(keras.Input((3,)))
    assert filled == []
