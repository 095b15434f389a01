"""Fuzz: graph models (``reference.Model``, Keras's functional API) as an outside user
calls them, in the spec and at the mirrors' entry points: inputs of the wrong count,
names, shapes and dtypes, gradients that do not fit, graphs that cannot be built, the
mirrors' ``fit`` and converters given what a graph cannot take.

Each call gives the result of an independent computation (NumPy, written out here) or a
clear error naming the function (``oracle.outcome``).
"""

from __future__ import annotations

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework
from parity_tests.fuzz.oracle import outcome
from reference import Dense, Input, Model
from reference.convolution import Conv2D
from reference.layers import Flatten
from reference.merging import Add, Concatenate

RNG = np.random.default_rng(0)
A, B = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))


def _two_inputs() -> Model:
    """y = tanh(a W_h + b_h) + (b W_k + b_k): two inputs, one output."""
    a, b = Input((4,), name="a"), Input((4,), name="b")
    h, k = Dense(4, 3, "tanh", name="h")(a), Dense(4, 3, name="k")(b)
    return Model([a, b], Add(name="y")([h, k]), seed=0)


def _expected(model: Model, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    (Wh, bh), (Wk, bk) = model.get_layer("h").params, model.get_layer("k").params
    return np.tanh(a @ Wh + bh) + (b @ Wk + bk)


# (label, inputs, valid): what Model.forward is given for inputs [a, b].
FORWARD = [
    ("a list", [A, B], True),
    ("a tuple", (A, B), True),
    ("integers", [np.ones((3, 4), int), np.zeros((3, 4), np.int8)], True),
    ("nested lists", [A.tolist(), B.tolist()], True),
    ("one of two", [A], False),
    ("three of two", [A, B, A], False),
    ("a dict by name", {"a": A, "b": B}, False),
    ("one array for two inputs", A, False),
    ("a narrow input", [A, B[:, :3]], False),
    ("two batch sizes", [A, B[:2]], False),
    ("no batch axis", [A[0], B[0]], False),
    ("float32 in a float64 model", [A, B.astype(np.float32)], False),
    ("float16", [A.astype(np.float16), B], False),
    ("a string", [A, "b"], False),
    ("None", None, False),
    ("a ragged list", [A, [[1.0, 2.0], [3.0]]], False),
]


@pytest.mark.parametrize(("label", "inputs", "valid"), FORWARD, ids=[f[0] for f in FORWARD])
def test_a_graph_computes_its_inputs_or_refuses_them_by_name(label, inputs, valid) -> None:
    model = _two_inputs()
    made = outcome(lambda: model.forward(inputs), "Model.forward")
    assert (made.error is None) == valid, made
    if valid:
        a, b = (np.asarray(x, np.float64) for x in inputs)
        np.testing.assert_allclose(made.value, _expected(model, a, b), rtol=1e-12)


@pytest.mark.parametrize("training", [True, False, np.bool_(True), 1, 0, "yes", "no", None])
def test_a_graph_and_a_sequential_take_their_switches_as_true_or_false(training) -> None:
    graph = outcome(lambda: _two_inputs().forward([A, B], training=training), "Model.forward")
    chain = outcome(lambda: reference.Sequential([Dense(4, 3)]).forward(A, training=training),
                    "Sequential.forward")
    model = _two_inputs()
    model.forward([A, B])
    backward = outcome(lambda: model.backward(np.ones((3, 3)), input_gradient=training),
                       "Model.backward")
    for made in (graph, chain, backward):
        assert (made.error is None) == isinstance(training, bool | np.bool_), made


@pytest.mark.parametrize(("label", "gradient", "valid"), [
    ("the output's shape", np.ones((3, 3)), True),
    ("a list of the one output", [np.ones((3, 3))], True),
    ("a wider gradient", np.ones((3, 4)), False),
    ("another batch", np.ones((2, 3)), False),
    ("float32", np.ones((3, 3), np.float32), False),
    ("two for one output", [np.ones((3, 3))] * 2, False),
    ("a string", "g", False),
])
def test_a_graph_backward_takes_one_gradient_per_output(label, gradient, valid) -> None:
    model = _two_inputs()
    model.forward([A, B])
    made = outcome(lambda: model.backward(gradient), "Model.backward")
    assert (made.error is None) == valid, made
    if valid:  # dL/da = (1 − h²) W_hᵀ summed over the output, dL/db = W_kᵀ summed
        (Wh, bh), (Wk, _) = model.get_layer("h").params, model.get_layer("k").params
        h = np.tanh(A @ Wh + bh)
        np.testing.assert_allclose(made.value[0], (1 - h**2) @ Wh.T, rtol=1e-12)
        np.testing.assert_allclose(made.value[1], np.ones((3, 3)) @ Wk.T, rtol=1e-12)


def _unused_input() -> Model:
    a, b = Input((4,), name="a"), Input((4,), name="b")
    return Model([a, b], Dense(4, 3)(a))


def _foreign_input() -> Model:
    a, b = Input((4,), name="a"), Input((4,), name="b")
    return Model(a, Add()([Dense(4, 3, name="p")(a), Dense(4, 3, name="q")(b)]))


def _layer_twice() -> Model:
    a, dense = Input((4,), name="a"), Dense(4, 4, name="twice")
    return Model(a, dense(dense(a)))


def _one_name_twice() -> Model:
    a = Input((4,), name="a")
    return Model(a, Dense(4, 4, name="d")(Dense(4, 4, name="d")(a)))


def _input_twice() -> Model:
    a = Input((4,), name="a")
    return Model([a, a], Dense(4, 3)(a))


@pytest.mark.parametrize("build", [
    _unused_input, _foreign_input, _layer_twice, _one_name_twice, _input_twice,
    lambda: Model([], Dense(4, 3)(Input((4,)))),
    lambda: Model(None, Dense(4, 3)(Input((4,)))),
    lambda: Model(Input((4,)), A),
    lambda: Model(Dense(4, 4)(Input((4,))), Input((4,))),
    lambda: (lambda a: Model(a, Dense(4, 3)(a), seed=2.5))(Input((4,))),
    lambda: Model.from_config({"layers": [{"kind": "Dense", "config": {}}]}),
    lambda: Model.from_config({"layers": "x"}),
    lambda: Model.from_wiring({"inputs": [{"name": "a", "shape": [4]}],  # a cycle
                               "layers": [{"name": "p", "inbound": ["q"]},
                                          {"name": "q", "inbound": ["p"]}],
                               "outputs": ["q"], "input_list": False, "output_list": False},
                              [Dense(4, 4), Dense(4, 4)]),
    lambda: Model.from_wiring({"inputs": [], "layers": [], "outputs": ["y"],
                               "input_list": False, "output_list": False}, []),
])
def test_a_graph_that_cannot_be_built_is_refused_by_name(build) -> None:
    made = outcome(build, "Model")
    assert made.error is not None, made


@pytest.mark.parametrize(("label", "call"), [
    ("an Input of a float size", lambda: Input((4.0,))),
    ("an Input of size 0", lambda: Input((0,))),
    ("an Input of a bool size", lambda: Input((True,))),
    ("an Input named by a number", lambda: Input((4,), name=3)),
    ("a layer called on an array", lambda: Dense(4, 3)(A)),
    ("a layer called on the wrong width", lambda: Dense(5, 3)(Input((4,)))),
    ("a merge called on one tensor", lambda: Add()(Input((4,)))),
    ("a merge of two widths", lambda: Add()([Input((4,)), Input((3,))])),
])
def test_wiring_a_layer_refuses_what_it_cannot_take(label, call) -> None:
    where = "Input" if label.startswith("an Input") else "Add" if "merge" in label else "Dense"
    assert outcome(call, where).error is not None


# -- the mirrors' fit and converters on graphs ------------------------------------------------

def _cnn_graph() -> Model:
    image = Input((6, 6, 1), name="image")
    h = Flatten(name="f")(Conv2D(1, 2, 3, name="c")(image))
    return Model(image, Concatenate(name="y")([Dense(32, 2, name="p")(h),
                                              Dense(32, 1, name="q")(h)]), seed=0)


# (label, X as the spec and Keras take it (N, H, W, C), Y): the spec's verdict is the oracle
FIT = [
    ("the right size", np.zeros((2, 6, 6, 1)), np.zeros((2, 3)), True),
    ("images one row too tall", np.zeros((2, 7, 6, 1)), np.zeros((2, 3)), False),
    ("images too small for the kernel", np.zeros((2, 2, 2, 1)), np.zeros((2, 3)), False),
    ("two channels", np.zeros((2, 6, 6, 2)), np.zeros((2, 3)), False),
    ("targets of the wrong width", np.zeros((2, 6, 6, 1)), np.zeros((2, 2)), False),
    ("an empty batch", np.zeros((0, 6, 6, 1)), np.zeros((0, 3)), False),
]


@pytest.mark.parametrize(("label", "X", "Y", "valid"), FIT, ids=[f[0] for f in FIT])
def test_every_fit_of_a_graph_refuses_a_wrong_image_size_by_name(label, X, Y, valid) -> None:
    spec = outcome(lambda: reference.fit(_cnn_graph(), X, Y, epochs=0), "fit")
    assert (spec.error is None) == valid, spec
    torch_side, tf_side = framework("torch"), framework("tf")
    torch_made = outcome(lambda: torch_side.impl.fit(
        torch_side.impl.from_reference(_cnn_graph()), X.transpose(0, 3, 1, 2), Y, epochs=0),
        "fit")
    tf_made = outcome(lambda: tf_side.impl.fit(tf_side.impl.from_reference(_cnn_graph()), X, Y,
                                               epochs=0), "fit")
    for made in (torch_made, tf_made):
        assert (made.error is None) == valid, made
        if not valid:
            assert type(made.error) is type(spec.error), (made.error, spec.error)


def test_torch_fit_names_the_image_size_it_was_given() -> None:
    torch_side = framework("torch")
    module = torch_side.impl.from_reference(_cnn_graph())
    with pytest.raises(ValueError, match=r"^fit: the model cannot take X of shape "
                                         r"\(2, 1, 7, 6\)"):
        torch_side.impl.fit(module, np.zeros((2, 1, 7, 6)), np.zeros((2, 3)), epochs=0)


def test_a_refused_torch_fit_leaves_each_module_in_its_mode() -> None:
    """The output-shape probe runs in eval mode and puts every module's mode back."""
    torch_side = framework("torch")
    module = torch_side.impl.from_reference(_cnn_graph())
    module.get_submodule("c").eval()
    with pytest.raises(ValueError, match=r"^fit: Y must have shape"):
        torch_side.impl.fit(module, np.zeros((2, 1, 6, 6)), np.zeros((2, 2)), epochs=0)
    assert module.training and not module.get_submodule("c").training


@pytest.mark.parametrize("shapes", [None, "4", 4, (4.0,), [(4,)], [(4,), (4,), (4,)],
                                    [(5,), (4,)], [(4,), (0,)], [(4,), "4"], [(4,), (True,)]])
def test_torch_to_reference_of_a_graph_names_a_bad_input_shape(shapes) -> None:
    impl = framework("torch").impl
    module = impl.from_reference(_two_inputs())
    assert outcome(lambda: impl.to_reference(module, input_shapes=shapes),
                   "to_reference").error is not None


def _torch_module(returns: str):
    """A torch module a user writes, whose forward returns ``returns`` of two Linears."""
    torch = framework("torch").torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.p, self.q = torch.nn.Linear(4, 3), torch.nn.Linear(4, 1)

        def forward(self, x):
            p, q = self.p(x), self.q(x)
            return {"dict": lambda: {"y": p}, "broadcast": lambda: p + q,
                    "batch concat": lambda: torch.cat([p, p], 0),
                    "a constant added": lambda: p + 1.0}[returns]()
    return Net()


@pytest.mark.parametrize("returns", ["dict", "broadcast", "batch concat", "a constant added"])
def test_torch_to_reference_names_itself_for_a_forward_the_spec_cannot_be(returns) -> None:
    impl = framework("torch").impl
    assert outcome(lambda: impl.to_reference(_torch_module(returns), input_shapes=[(4,)]),
                   "to_reference").error is not None


@pytest.mark.parametrize("merge", ["Add", "Multiply", "Subtract"])
def test_tf_to_reference_names_itself_for_a_broadcast_the_spec_refuses(keras, merge) -> None:
    """Keras adds (N, 3) and (N, 1); the spec broadcasts nothing (Multiply: equal or 1 on
    each axis, so (N, 3) ⊙ (N, 1) is taken, as Keras takes it)."""
    x = keras.Input((4,))
    model = keras.Model(x, getattr(keras.layers, merge)()([keras.layers.Dense(3)(x),
                                                           keras.layers.Dense(1)(x)]))
    made = outcome(lambda: framework("tf").impl.to_reference(model), "to_reference")
    assert (made.error is None) == (merge == "Multiply"), made


def test_a_graph_reads_back_from_both_mirrors_computing_the_same() -> None:
    model = _two_inputs()
    expected = _expected(model, A, B)
    torch_side, tf_side = framework("torch"), framework("tf")
    back = [torch_side.impl.to_reference(torch_side.impl.from_reference(model),
                                         input_shapes=[(4,), (4,)]),
            tf_side.impl.to_reference(tf_side.impl.from_reference(model))]
    for spec in back:
        np.testing.assert_allclose(spec.forward([A, B]), expected, rtol=1e-12)


@pytest.mark.parametrize("package", ["reference", "torch", "tf"])
def test_a_graph_weight_file_loads_only_into_its_own_wiring(package, tmp_path) -> None:
    impl = reference if package == "reference" else framework(package).impl

    def made(model: Model):
        return model if package == "reference" else impl.from_reference(model)

    path = tmp_path / ("w.npz" if package == "reference" else
                       "w.pt" if package == "torch" else "w.weights.h5")
    impl.save_weights(made(_two_inputs()), path)  # a refusal names the file
    assert outcome(lambda: impl.load_weights(path, made(_two_inputs())), str(path)
                   ).error is None
    assert outcome(lambda: impl.load_weights(path, made(_cnn_graph())), str(path)
                   ).error is not None


# -- the port of a functional Keras model, given example inputs -------------------------------

@pytest.fixture(scope="module")
def keras_graph(keras):
    """Two Inputs, one read by an Embedding of 5 rows: y = [flatten(E[tokens]), features W]."""
    tokens = keras.Input((3,), name="tokens", dtype="int64")
    features = keras.Input((4,), name="features")
    embedded = keras.layers.Flatten(name="flat")(keras.layers.Embedding(5, 2, name="emb")(tokens))
    return keras.Model([tokens, features], keras.layers.Concatenate(name="cat")(
        [embedded, keras.layers.Dense(2, name="d")(features)]))


TOKENS, FEATURES = np.array([[0, 4, 2], [1, 1, 3]]), RNG.standard_normal((2, 4)).astype("float32")
EXAMPLES = [
    ("by name", {"tokens": TOKENS, "features": FEATURES}, True),
    ("in order", [TOKENS, FEATURES], True),
    ("an index past the table", {"tokens": TOKENS + 1, "features": FEATURES}, False),
    ("a negative index", {"tokens": -TOKENS, "features": FEATURES}, False),
    ("float indices", {"tokens": TOKENS.astype(float), "features": FEATURES}, False),
    ("an empty batch", {"tokens": TOKENS[:0], "features": FEATURES[:0]}, False),
    ("a wrong name", {"tokens": TOKENS, "feature": FEATURES}, False),
    ("float64 features", {"tokens": TOKENS, "features": FEATURES.astype(float)}, False),
    ("narrow features", {"tokens": TOKENS, "features": FEATURES[:, :3]}, False),
    ("two batch sizes", {"tokens": TOKENS, "features": FEATURES[:1]}, False),
    ("one array", FEATURES, False),
]


@pytest.mark.parametrize(("label", "example", "valid"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_the_port_of_a_graph_checks_its_example_inputs(keras_graph, label, example,
                                                       valid) -> None:
    from nn_rosetta import porting

    made = outcome(lambda: porting.port(keras_graph, example), "port")
    assert (made.error is None) == valid, made
    if valid:
        assert made.value.report.ok


@pytest.mark.parametrize("stubs", ["yes", 1, None])
def test_the_port_takes_stubs_as_true_or_false(keras_graph, stubs) -> None:
    from nn_rosetta import porting

    with pytest.raises(TypeError, match=r"^port: stubs must be True or False"):
        porting.port(keras_graph, stubs=stubs)


@pytest.mark.parametrize(("directory", "force", "message"), [
    ("out", "yes", r"^save: force must be True or False"),
    ("out", 1, r"^save: force must be True or False"),
    (3, False, r"^save: path must be a file name"),
])
def test_the_ports_save_takes_a_path_and_force_as_true_or_false(tmp_path, directory, force,
                                                                message) -> None:
    """``Ported.save``'s folder writer: "yes" is no switch (it would replace a previous
    port), 3 no folder; both refused before anything is written."""
    from nn_rosetta import port_files

    target = tmp_path / directory if isinstance(directory, str) else directory
    with pytest.raises(TypeError, match=message):
        port_files.write_folder(target, {"model.py": lambda path: open(path, "w").close()},
                                force=force)
    assert list(tmp_path.iterdir()) == []
