"""Spec weight files: exact round trips, checks on load, and no code execution ever."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

import reference
from reference import Dense, Sequential, activations, load_weights, save_weights
from reference.weights import VERSION, WeightFileError


def _model(dtype=np.float64, seed: int = 7) -> Sequential:
    model = Sequential([Dense(3, 5, "sigmoid", dtype=dtype),
                        Dense(5, 4, activations.get("leaky_relu", negative_slope=0.2),
                              dtype=dtype),
                        Dense(4, 2, "softmax", dtype=dtype)], seed=seed)
    for layer in model.layers:
        layer.b = np.random.default_rng(seed).uniform(-1, 1, layer.out_features).astype(dtype)
    return model


def _assert_same(a: Sequential | Dense, b: Sequential | Dense) -> None:
    layers_a = a.layers if isinstance(a, Sequential) else [a]
    layers_b = b.layers if isinstance(b, Sequential) else [b]
    assert type(a) is type(b) and len(layers_a) == len(layers_b)
    for x, y in zip(layers_a, layers_b, strict=True):
        assert x.activation == y.activation and x.dtype == y.dtype
        np.testing.assert_array_equal(x.W, y.W)
        np.testing.assert_array_equal(x.b, y.b)


def _rewrite(path, **changes) -> None:
    """Rewrite the weight file at ``path`` with some arrays replaced (None: removed)."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    for name, value in changes.items():
        if value is None:
            del arrays[name]
        else:
            arrays[name] = value
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def _meta(path) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        return json.loads(str(archive["meta"]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_round_trip_is_bit_exact(tmp_path, dtype) -> None:
    model = _model(dtype)
    save_weights(model, tmp_path / "model.npz")
    _assert_same(load_weights(tmp_path / "model.npz"), model)


def test_a_single_dense_layer_round_trips(tmp_path) -> None:
    layer = Dense(4, 3, "tanh", seed=1)
    save_weights(layer, tmp_path / "layer.npz")
    _assert_same(load_weights(tmp_path / "layer.npz"), layer)


def test_the_path_is_used_as_given(tmp_path) -> None:
    save_weights(_model(), tmp_path / "weights.bin")
    assert os.listdir(tmp_path) == ["weights.bin"]  # np.savez alone would add ".npz"


def test_loading_into_a_model_replaces_its_weights(tmp_path) -> None:
    saved, other = _model(seed=1), _model(seed=2)
    save_weights(saved, tmp_path / "model.npz")
    assert load_weights(tmp_path / "model.npz", other) is other
    _assert_same(other, saved)


def test_the_file_records_format_version_shapes_activations_and_dtype(tmp_path) -> None:
    save_weights(_model(np.float32), tmp_path / "model.npz")
    meta = _meta(tmp_path / "model.npz")
    assert (meta["format"], meta["version"], meta["model"], meta["dtype"]) == \
        ("nn-rosetta-weights", VERSION, "Sequential", "float32")
    assert meta["input_shape"] == [3]
    assert meta["layers"][1] == {
        "kind": "Dense", "arrays": {"W": [5, 4], "b": [4]},
        "config": {"in_features": 5, "out_features": 4, "activation": "leaky_relu",
                   "activation_params": {"negative_slope": 0.2}, "dtype": "float32"}}
    assert len(meta["sha256"]) == 64


@pytest.mark.parametrize(("other", "found"), [
    (Sequential([Dense(3, 5, "sigmoid"), Dense(5, 4, "relu"), Dense(4, 2, "softmax")]),
     r"layer 1 \(Dense\(5, 4, relu\)\) does not match"),
    (Sequential([Dense(3, 6, "sigmoid"), Dense(6, 4), Dense(4, 2)]),
     r"layer 0 \(Dense\(3, 6, sigmoid\)\) does not match"),
    (Sequential([Dense(3, 2, "softmax")]), r"holds a Sequential of 3 layer\(s\), the model is a "
                                           r"Sequential of 1"),
], ids=["activation", "width", "depth"])
def test_a_file_for_another_architecture_is_refused(tmp_path, other, found) -> None:
    save_weights(_model(), tmp_path / "model.npz")
    before = [layer.W.copy() for layer in other.layers]
    with pytest.raises(WeightFileError, match=found):
        load_weights(tmp_path / "model.npz", other)
    for layer, W in zip(other.layers, before, strict=True):
        np.testing.assert_array_equal(layer.W, W)  # nothing was modified


def test_a_file_of_the_other_dtype_is_refused(tmp_path) -> None:
    save_weights(_model(np.float32), tmp_path / "model.npz")
    with pytest.raises(WeightFileError, match=r"'dtype': 'float64'.*'dtype': 'float32'"):
        load_weights(tmp_path / "model.npz", _model(np.float64))


def test_a_newer_format_version_is_refused(tmp_path) -> None:
    path = tmp_path / "model.npz"
    save_weights(_model(), path)
    _rewrite(path, meta=np.array(json.dumps({**_meta(path), "version": VERSION + 1})))
    with pytest.raises(WeightFileError, match=rf"format version {VERSION + 1}; this nn-rosetta "
                                              rf"reads version {VERSION}"):
        load_weights(path)


@pytest.mark.parametrize(("changes", "found"), [
    ({"1.W": np.zeros((4, 5))}, r"1\.W should be float64 of shape \(5, 4\), found "
                                r"float64 \(<f8\) of shape \(4, 5\)"),
    ({"2.b": np.zeros(2, np.float32)}, r"2\.b should be float64 of shape \(2,\), found "
                                       r"float32"),
    ({"0.W": None}, r"expected the arrays \['0\.W', .*\], found \['0\.b'"),
    ({"extra": np.zeros(1)}, r"found \[.*'extra'"),
    ({"meta": None}, r"no 'meta' string: not a nn-rosetta-weights file"),
    ({"meta": np.array("{not json")}, r"'meta' is not valid JSON"),
], ids=["kernel_shape", "bias_dtype", "missing", "unexpected", "no_meta", "bad_json"])
def test_a_file_that_contradicts_itself_is_refused(tmp_path, changes, found) -> None:
    path = tmp_path / "model.npz"
    save_weights(_model(), path)
    _rewrite(path, **changes)
    with pytest.raises(WeightFileError, match=found):
        load_weights(path)


def test_layers_without_parameters_round_trip_by_kind_and_config(tmp_path) -> None:
    model = Sequential([reference.layers.Flatten(), Dense(6, 4, "relu"),
                        reference.layers.Dropout(0.5, seed=3), Dense(4, 2)],
                       input_shape=(2, 3), seed=0)
    save_weights(model, tmp_path / "model.npz")
    loaded = load_weights(tmp_path / "model.npz")
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert loaded.input_shape == (2, 3) and loaded.layers[2].config() == model.layers[2].config()
    for a, b in zip(loaded.params, model.params, strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)


def _registry_layers() -> list:
    found = []
    for concept in reference.registry.CONCEPTS:
        for case in concept.cases:
            data = case.make(np.random.default_rng(0), np.dtype(np.float64), 2)
            if isinstance(data.get("model"), reference.Sequential | reference.Model):
                found += data["model"].layers
    return found


def test_each_layer_class_declares_the_arrays_its_configuration_makes() -> None:
    """What the loader checks a file against (before allocating) is what a built layer holds,
    for every layer of every registry case, and every layer kind is among them."""
    layers = _registry_layers()
    assert {type(layer).__name__ for layer in layers} == \
        set(reference.layers.LAYERS)
    for layer in layers:
        built = {name: list(a.shape) for name, a in {**layer.parameters, **layer.state}.items()}
        assert type(layer).array_shapes(layer.config()) == built, layer.name


def test_an_unknown_activation_is_refused(tmp_path) -> None:
    path = tmp_path / "model.npz"
    save_weights(_model(), path)
    meta = _meta(path)
    meta["layers"][0]["config"]["activation"] = "swish_v2"
    _rewrite(path, meta=np.array(json.dumps(meta)))
    with pytest.raises(WeightFileError, match=r"describes no valid model: unknown activation "
                                              r"'swish_v2'"):
        load_weights(path)


def test_what_is_not_a_weight_file_is_refused(tmp_path) -> None:
    np.save(tmp_path / "array.npy", np.zeros(3))
    with pytest.raises(WeightFileError, match=r"not an \.npz weight file"):
        load_weights(tmp_path / "array.npy")
    with pytest.raises(WeightFileError, match="unreadable"):
        load_weights(tmp_path / "missing.npz")


class _Payload:
    """Unpickling this creates the directory ``marker``: a stand-in for arbitrary code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_the_payload_would_run_if_unpickled(tmp_path) -> None:
    """The control: the refusals below are of a live payload."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(_Payload(str(marker))))
    assert marker.is_dir()


def test_a_weight_file_with_a_pickled_object_is_refused(tmp_path) -> None:
    path, marker = tmp_path / "model.npz", tmp_path / "ran"
    save_weights(_model(), path)
    _rewrite(path, **{"0.W": np.array([_Payload(str(marker))], dtype=object)})
    with pytest.raises(WeightFileError, match="refused: it holds pickled Python objects"):
        load_weights(path)
    assert not marker.exists()


def test_a_plain_pickle_is_refused(tmp_path) -> None:
    path, marker = tmp_path / "model.npz", tmp_path / "ran"
    path.write_bytes(pickle.dumps({"W0": _Payload(str(marker))}))
    with pytest.raises(WeightFileError, match=r"not an \.npz weight file"):
        load_weights(path)
    assert not marker.exists()


def test_save_and_load_are_exported_by_the_spec_package() -> None:
    assert reference.save_weights is save_weights and reference.load_weights is load_weights
