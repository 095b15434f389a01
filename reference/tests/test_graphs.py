"""Graph models: backward through skips, fan-out and several inputs and outputs against
finite differences, the equivalence with Sequential, fit, weight files, and the wiring
that is refused (spec only: no torch, no TF)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from reference import registry
from reference.gradcheck import gradient_error, numerical_gradient, parameter_gradient_errors
from reference.graphs import Input, Model
from reference.layers import Dense, Dropout, Flatten
from reference.merging import Add, Average, Concatenate, Maximum, Multiply, Subtract
from reference.networks import Sequential
from reference.normalization import BatchNormalization
from reference.optimizers import Adam
from reference.sequences import LSTM, Embedding
from reference.training import fit
from reference.weights import WeightFileError, load_weights, save_weights

FD_TOLERANCE = 1e-7


def _residual_block(seed: int = 0) -> Model:
    """x → Dense → BatchNorm → Dense, plus x: y = relu-free so no kink is near."""
    x = Input((4,), name="x")
    h = Dense(4, 6, "tanh", name="expand")(x)
    h = BatchNormalization(6, name="norm")(h)
    h = Dense(6, 4, name="project")(h)
    y = Add(name="residual")([h, x])
    return Model(x, Dense(4, 2, "sigmoid", name="head")(y), seed=seed)


def _two_in_two_out(seed: int = 0) -> Model:
    """Two inputs; ``a`` feeds three layers (fan-out); two outputs, one of them also read
    by another layer."""
    a, b = Input((3,), name="a"), Input((5,), name="b")
    ha = Dense(3, 4, "tanh", name="ha")(a)
    hb = Dense(5, 4, "sigmoid", name="hb")(b)
    gate = Multiply(name="gate")([ha, hb])
    joined = Concatenate(name="joined")([ha, gate, Dense(3, 2, name="direct")(a)])
    first = Dense(10, 2, name="first")(joined)
    difference = Subtract(name="difference")([ha, hb])
    second = Average(name="second")([difference, Dense(2, 4, "tanh", name="back")(first), gate])
    return Model([a, b], [first, second], seed=seed)


def _nested_skips(seed: int = 0) -> Model:
    """An inner skip inside an outer one, and a Maximum of three paths."""
    x = Input((3,), name="x")
    h1 = Dense(3, 5, "tanh", name="h1")(x)
    h2 = Dense(5, 5, "tanh", name="h2")(h1)
    inner = Add(name="inner")([h2, h1])
    h3 = Dense(5, 5, name="h3")(inner)
    outer = Maximum(name="outer")([h3, h1, inner])
    return Model(inputs=[x], outputs=Dense(5, 3, name="out")(outer), seed=seed)


def _inputs(model: Model, batch: int = 3, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((batch, *t.shape)) for t in model.inputs]


def _check_gradients(model: Model, xs: list[np.ndarray], training: bool = False) -> None:
    """L = Σ_j Σ G_j ⊙ y_j for fixed random G_j: dL/d(each input) and dL/d(each parameter)
    from backward against central differences."""
    def as_given(arrays: list[np.ndarray]) -> object:
        return arrays if model.input_list else arrays[0]

    def listed(y: object) -> list[np.ndarray]:
        return y if model.output_list else [y]

    ys = listed(model.forward(as_given(xs), training=training))
    rng = np.random.default_rng(2)
    upstream = [rng.standard_normal(y.shape) for y in ys]

    def loss() -> float:
        outputs = listed(model.forward(as_given(xs), training=training))
        return float(sum(np.sum(g * y) for g, y in zip(upstream, outputs, strict=True)))

    dxs = model.backward(upstream if model.output_list else upstream[0])
    dxs = dxs if model.input_list else [dxs]
    gradients = {name: {k: g.copy() for k, g in grads.items()}
                 for name, grads in model.gradients.items()}
    for i, x in enumerate(xs):
        if model.input_kind(model.inputs[i]) == "mask":  # booleans: no gradient
            assert dxs[i] is None
            continue

        def through_input(v: np.ndarray, i: int = i) -> float:
            saved, xs[i] = xs[i], v
            try:
                return loss()
            finally:
                xs[i] = saved
        assert gradient_error(dxs[i], numerical_gradient(through_input, x)) < FD_TOLERANCE, i
    errors = parameter_gradient_errors(
        model.layers, [gradients[layer.name] for layer in model.layers], loss)
    assert len(errors) == sum(len(p) for p in model.params)
    assert max(errors.values(), default=0.0) < FD_TOLERANCE, errors


def test_a_residual_block_backpropagates_through_the_skip() -> None:
    model = _residual_block()
    _check_gradients(model, _inputs(model), training=True)  # BatchNorm on batch statistics


def test_two_inputs_two_outputs_and_fan_out_sum_their_gradients() -> None:
    model = _two_in_two_out()
    _check_gradients(model, _inputs(model))


def test_nested_skip_connections_backpropagate() -> None:
    model = _nested_skips()
    _check_gradients(model, _inputs(model))


def test_a_graph_with_images_flatten_and_dropout_backpropagates() -> None:
    from reference.convolution import Conv2D

    x = Input((4, 4, 1), name="image")
    left = Conv2D(1, 2, 3, padding="same", activation="tanh", name="left")(x)
    both = Concatenate(name="channels")([left, x])
    dropped = Dropout(0.5, seed=0, name="drop")(Flatten(name="flat")(both))
    model = Model(x, Dense(48, 2, name="out")(dropped), seed=0)
    model.get_layer("drop").mask = np.random.default_rng(3).random((2, 48)) < 0.5
    _check_gradients(model, _inputs(model, batch=2), training=True)


def test_a_linear_model_computes_exactly_what_the_sequential_of_its_layers_does() -> None:
    sequential = Sequential([Dense(3, 5, "tanh"), BatchNormalization(5), Dense(5, 2, "softmax")],
                            seed=4)
    x = Input((3,))
    y = x
    for layer in sequential.layers:
        y = layer(y)
    model = Model(x, y)
    X = np.random.default_rng(5).standard_normal((6, 3))
    G = np.random.default_rng(6).standard_normal((6, 2))
    expected_y = sequential.forward(X, training=True)
    expected_dx = sequential.backward(G)
    expected = [tuple(g.copy() for g in grads) for grads in sequential.grads]
    np.testing.assert_array_equal(model.forward(X, training=True), expected_y)
    np.testing.assert_array_equal(model.backward(G), expected_dx)
    for grads, wanted in zip(model.grads, expected, strict=True):
        for g, w in zip(grads, wanted, strict=True):
            np.testing.assert_array_equal(g, w)


def test_fit_trains_a_model_of_one_input_and_one_output_as_it_trains_the_sequential() -> None:
    def layers() -> list:
        return [Dense(4, 6, "tanh", name="a"), Dense(6, 3, "softmax", name="b")]

    sequential = Sequential(layers(), seed=7)
    x = Input((4,))
    chain = layers()
    model = Model(x, [chain[1](chain[0](x))], seed=7)
    rng = np.random.default_rng(8)
    X, Y = rng.standard_normal((20, 4)), rng.integers(0, 3, 20)
    run = dict(loss="sparse_categorical_cross_entropy", epochs=3, batch_size=8, seed=1)
    expected = fit(sequential, X, Y, optimizer=Adam(learning_rate=0.01), **run)
    history = fit(model, X, Y, optimizer=Adam(learning_rate=0.01), **run)
    assert history.loss == expected.loss
    for grads, wanted in zip(model.params, sequential.params, strict=True):
        for g, w in zip(grads, wanted, strict=True):
            np.testing.assert_array_equal(g, w)


def test_fit_refuses_one_array_for_a_model_of_two_inputs() -> None:
    model = _two_in_two_out()  # its runs: reference/tests/test_graph_fit.py
    with pytest.raises(ValueError, match=r"fit: the model has 2 inputs: X must be a list of 2 "
                                         r"arrays, got a numpy\.ndarray"):
        fit(model, np.ones((2, 3)), np.ones((2, 2)))


def test_parameters_gradients_and_state_are_keyed_by_layer_name_in_layer_order() -> None:
    model = _residual_block()
    X = _inputs(model)[0]
    model.forward(X, training=True)
    assert model.backward(np.ones((3, 2)), input_gradient=False) is None
    assert list(model.parameters) == ["expand", "norm", "project", "residual", "head"]
    assert list(model.parameters["norm"]) == ["gamma", "beta"]
    assert list(model.state["norm"]) == ["moving_mean", "moving_variance"]
    assert list(model.gradients["head"]) == ["W", "b"] and model.gradients["residual"] == {}
    assert model.get_layer("head") is model.layers[-1]


def test_an_embedding_input_is_kept_as_indices_and_its_mask_reaches_the_lstm() -> None:
    embedding, lstm = Embedding(6, 3, mask_zero=True, seed=0), LSTM(3, 4, seed=1)
    head = Dense(4, 2, seed=2)
    sequential = Sequential([embedding, lstm, head], input_shape=(5,))
    tokens = Input((5,), name="tokens")
    model = Model(tokens, head(lstm(embedding(tokens))))
    X = np.array([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0]])
    expected = sequential.forward(X)
    np.testing.assert_array_equal(model.forward(X), expected)
    assert model.backward(np.ones((2, 2))) is None  # no gradient for integer indices


def test_calling_a_layer_on_a_tensor_leaves_its_forward_on_arrays_unchanged() -> None:
    dense = Dense(3, 2, "tanh", seed=0)
    X = np.random.default_rng(0).standard_normal((4, 3))
    before = dense.forward(X)
    x = Input((3,))
    Model(x, dense(x))
    np.testing.assert_array_equal(dense.forward(X), before)


def test_calling_a_layer_on_an_array_points_to_forward() -> None:
    with pytest.raises(TypeError, match=r"Dense\(3, 2, identity\): calling a layer wires it into "
                                        r"a graph .* got a ndarray; on arrays, call forward\(x\)"):
        Dense(3, 2)(np.ones((1, 3)))


def test_model_config_rebuilds_the_same_graph() -> None:
    model = _two_in_two_out()
    assert Model.from_config(model.config()).config() == model.config()


# -- weight files -----------------------------------------------------------------------


def test_a_graph_round_trips_through_a_weight_file_bit_exactly(tmp_path) -> None:
    model = _two_in_two_out(seed=3)
    xs = _inputs(model)
    model.forward(xs, training=True)  # nothing to move here, but BatchNorm-free graphs too
    path = tmp_path / "graph.npz"
    save_weights(model, path)
    loaded = load_weights(path)
    assert isinstance(loaded, Model) and loaded.wiring() == model.wiring()
    for name, arrays in model.parameters.items():
        for key, value in arrays.items():
            np.testing.assert_array_equal(loaded.parameters[name][key], value)
    for y, expected in zip(loaded.forward(xs), model.forward(xs), strict=True):
        np.testing.assert_array_equal(y, expected)


def test_a_graphs_state_is_saved_and_loaded_into_an_existing_model(tmp_path) -> None:
    model = _residual_block(seed=1)
    model.forward(_inputs(model), training=True)  # moves BatchNorm's running statistics
    path = tmp_path / "block.npz"
    save_weights(model, path)
    target = _residual_block(seed=2)
    assert load_weights(path, target) is target
    np.testing.assert_array_equal(target.state["norm"]["moving_mean"],
                                  model.state["norm"]["moving_mean"])


def _meta(path) -> dict:
    with zipfile.ZipFile(path) as archive, archive.open("meta.npy") as stream:
        return json.loads(str(np.lib.format.read_array(stream)))


def _rewrite_meta(path, meta: dict) -> None:
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files if name != "meta"}
    with open(path, "wb") as file:
        np.savez(file, meta=np.array(json.dumps(meta)), **arrays)


def test_the_checksum_covers_the_wiring(tmp_path) -> None:
    model = _two_in_two_out()
    path = tmp_path / "graph.npz"
    save_weights(model, path)
    meta = _meta(path)
    difference = next(d for d in meta["graph"]["layers"] if d["name"] == "difference")
    difference["inbound"].reverse()  # hb − ha instead of ha − hb: same shapes, other numbers
    _rewrite_meta(path, meta)
    with pytest.raises(WeightFileError, match="checksum mismatch"):
        load_weights(path)


def test_a_file_wired_otherwise_is_refused_for_an_existing_model(tmp_path) -> None:
    path = tmp_path / "graph.npz"
    save_weights(_two_in_two_out(), path)
    other = _two_in_two_out()
    a, b = other.inputs
    other = Model([b, a], other.outputs)  # the same layers, inputs in the other order
    with pytest.raises(WeightFileError, match="wires its layers otherwise"):
        load_weights(path, other)


def test_a_wiring_that_reads_an_unknown_tensor_is_refused(tmp_path) -> None:
    path = tmp_path / "graph.npz"
    save_weights(_nested_skips(), path)
    meta = _meta(path)
    meta["graph"]["layers"][0]["inbound"] = ["nowhere"]
    from reference.weights import _checksum  # the file stays self-consistent: only the wiring

    arrays = dict(np.load(path))
    meta.pop("sha256")
    meta["sha256"] = _checksum(meta, arrays)
    _rewrite_meta(path, meta)
    with pytest.raises(WeightFileError, match=r"describes no valid model: Model: layer 'h1' "
                                              r"reads 'nowhere'"):
        load_weights(path)


def test_a_sequentials_file_is_what_it_was_before_graphs(tmp_path) -> None:
    path = tmp_path / "sequential.npz"
    save_weights(Sequential([Dense(2, 3)]), path)
    meta = _meta(path)
    assert meta["version"] == 2 and "graph" not in meta
    assert set(meta) == {"format", "version", "model", "dtype", "layers", "input_shape", "sha256"}


# -- wiring that is refused ----------------------------------------------------------------


def test_an_output_that_needs_an_input_not_given_is_refused() -> None:
    a, b = Input((2,), name="a"), Input((2,), name="b")
    y = Add(name="sum")([a, b])
    with pytest.raises(ValueError, match=r"Model: output 'sum' cannot be computed from the inputs "
                                         r"\['a'\]: it needs Input 'b', which is not among them"):
        Model(a, y)


def test_an_unused_input_is_refused() -> None:
    a, b = Input((2,), name="a"), Input((2,), name="b")
    with pytest.raises(ValueError, match="Model: input 'b' is used by no output"):
        Model([a, b], Dense(2, 1, name="d")(a))


def test_add_of_two_shapes_is_refused_naming_the_layer_and_what_it_received() -> None:
    x = Input((4,), name="x")
    h = Dense(4, 3, name="h")(x)
    with pytest.raises(ValueError, match=r"skip: called on \[output of 'h' \(N, 3\), Input 'x' "
                                         r"\(N, 4\)\], which it cannot take: inputs must have "
                                         r"one per-sample shape"):
        Add(name="skip")([h, x])


def test_concatenate_along_the_batch_axis_is_refused_when_wired() -> None:
    x = Input((4,), name="x")
    with pytest.raises(ValueError, match=r"cat: called on \[Input 'x' \(N, 4\), Input 'x' "
                                         r"\(N, 4\)\], which it cannot take: axis -2 of inputs "
                                         r"with 2 axes \(batch first\) is the batch axis"):
        Concatenate(axis=-2, name="cat")([x, x])


def test_a_dense_layer_on_the_wrong_width_is_refused_when_wired() -> None:
    with pytest.raises(ValueError, match=r"wide: called on Input 'x' \(N, 4\), which it cannot "
                                         r"take: expects 3 input features"):
        Dense(3, 2, name="wide")(Input((4,), name="x"))


def test_a_merge_layer_on_one_tensor_is_refused() -> None:
    with pytest.raises(TypeError, match=r"add: a merge layer is called on a list of symbolic "
                                        r"tensors .* got Input 'x' \(N, 4\)"):
        Add(name="add")(Input((4,), name="x"))


def test_two_layers_of_one_name_are_refused_naming_it() -> None:
    x = Input((2,), name="x")
    with pytest.raises(ValueError, match=r"Model: the name 'Dense\(2, 2, identity\)' is used by 2 "
                                         r"inputs or layers; .* give each a unique name="):
        Model(x, Dense(2, 2)(Dense(2, 2)(x)))


def test_a_layer_called_twice_is_refused() -> None:
    x = Input((2,), name="x")
    shared = Dense(2, 2, name="shared")
    with pytest.raises(ValueError, match=r"Model: layer 'shared' is called 2 times"):
        Model(x, shared(shared(x)))


def test_a_layer_output_given_as_an_input_is_refused() -> None:
    x = Input((2,), name="x")
    h = Dense(2, 2, name="h")(x)
    with pytest.raises(ValueError, match=r"Model: inputs must be reference.Input tensors, got "
                                         r"output of 'h'"):
        Model(h, Dense(2, 1, name="y")(h))


def test_forward_refuses_the_wrong_number_of_inputs_and_mismatched_batches() -> None:
    model = _two_in_two_out()
    with pytest.raises(ValueError, match=r"Model.forward: expects a list of 2 arrays, one per "
                                         r"input \['a', 'b'\], got 1"):
        model.forward([np.ones((2, 3))])
    with pytest.raises(ValueError, match=r"the inputs must have one batch size, got "
                                         r"\{'a': 2, 'b': 3\}"):
        model.forward([np.ones((2, 3)), np.ones((3, 5))])


def test_backward_before_forward_is_refused() -> None:
    with pytest.raises(RuntimeError, match=r"Model: call forward\(\) before backward\(\)"):
        _nested_skips().backward(np.ones((1, 3)))


def test_a_mask_reaching_a_merge_layer_is_refused() -> None:
    tokens = Input((4,), name="tokens")
    embedded = Embedding(5, 3, mask_zero=True, name="embed")(tokens)
    model = Model(tokens, Add(name="add")([embedded, embedded]))
    with pytest.raises(ValueError, match=r"merge layer 'add' receives the padding mask"):
        model.forward(np.array([[1, 2, 0, 0]]))


def test_a_deep_copy_of_a_model_takes_its_inputs() -> None:
    """The parity harness trains a copy.deepcopy of the case's model: the copy's inputs
    are new tensors, and it still knows which of them take indices."""
    import copy

    model = _residual_block()
    x = _inputs(model)[0]
    np.testing.assert_array_equal(copy.deepcopy(model).forward(x), model.forward(x))


GRAPH_CASES = [(c.name, case) for c in registry.concepts() if c.module in ("merging", "graphs")
               for case in c.cases if case.gradcheck and "optimizer" not in case.make(
                   np.random.default_rng(0), np.dtype(np.float64), 1)]


@pytest.mark.parametrize(("name", "case"), GRAPH_CASES, ids=lambda v: getattr(v, "label", v))
def test_every_registry_graph_case_backpropagates_as_finite_differences_say(name, case) -> None:
    data = case.make(np.random.default_rng(3), np.dtype(np.float64), 2)
    model = data["model"]
    _check_gradients(model, data["x"] if model.input_list else [data["x"]])
