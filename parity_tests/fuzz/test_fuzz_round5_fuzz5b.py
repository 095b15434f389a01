"""Fuzz round 5 (issue 25), the port, weight files and the command line: Keras models
built as keras.io builds them with unusual options, .keras files whose weights do not fit
their config, paths through a link that leads nowhere, names Python reads alike, odd
terminals. Each case gives Keras's numbers or a refusal naming what is wrong."""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import reference
from nn_rosetta import cli, port_files, porting
from reference.weights import WeightFileError


def _ported_output(keras, model, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import torch

    ported = porting.port(model, x, other_dtype=False)
    with torch.no_grad():
        return ported.module(torch.as_tensor(x)).numpy(), np.asarray(model(x))


def _flatten_model(keras, after: str):
    L = keras.layers
    tails = {"nothing": [], "dropout": [L.Dropout(0.3)], "softmax": [L.Activation("softmax")],
             "batchnorm": [L.BatchNormalization(), L.Dense(2)],
             "layernorm": [L.LayerNormalization(), L.Dense(2)], "reshape": [L.Reshape((4, 3))]}
    model = keras.Sequential([keras.Input((4, 4, 2)), L.Conv2D(3, 3, padding="same"),
                              L.MaxPooling2D(2), L.Flatten(), *tails[after]])
    for layer in model.layers:  # statistics away from 0 and 1, so the order shows
        if isinstance(layer, L.BatchNormalization):
            layer.set_weights([np.linspace(0.5, 1.5, 12), np.linspace(-1, 1, 12),
                               np.linspace(-0.5, 0.5, 12), np.linspace(0.5, 2, 12)])
    return model


@pytest.mark.parametrize("after", ["nothing", "dropout", "softmax", "batchnorm", "layernorm",
                                   "reshape"])
def test_a_flatten_that_no_dense_reads_ports_in_keras_order(keras, after) -> None:
    """torch flattens (c, h, w), Keras (h, w, c): only a Dense's permuted rows may read
    torch's order; an output, a normalization or a Reshape after the Flatten read Keras's
    (the module returned torch's order while each layer's row read ok)."""
    x = np.random.default_rng(0).standard_normal((2, 4, 4, 2)).astype(np.float32)
    actual, expected = _ported_output(keras, _flatten_model(keras, after), x)
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("names", [("ﬁ", "fi"), ("x²", "x2"), ("ℌ", "H"), ("training", "eval")])
def test_layer_names_python_reads_alike_stay_two_layers(keras, names) -> None:
    """Python reads identifiers NFKC-normalised (ﬁ is fi) and nn.Module sets ``training``
    in __init__: the port gave one attribute for two layers, a SyntaxError or torch's
    'cannot assign bool as child module'."""
    L = keras.layers
    model = keras.Sequential([keras.Input((3,)), L.Dense(3, name=names[0]),
                              L.Dense(2, name=names[1])])
    x = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    actual, expected = _ported_output(keras, model, x)
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_an_activation_after_a_dropout_is_a_layer_of_its_own(keras) -> None:
    """The port grouped any Activation with the layer before it, where to_reference
    keeps one after a Dropout apart (zip() stopped the port)."""
    L = keras.layers
    model = keras.Sequential([keras.Input((3,)), L.Dense(4), L.Dropout(0.2),
                              L.Activation("relu")])
    x = np.random.default_rng(2).standard_normal((2, 3)).astype(np.float32)
    actual, expected = _ported_output(keras, model, x)
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def _subclassed(keras):
    class Doubled(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return 2 * self.dense(x)

    model = Doubled()
    model(np.zeros((1, 3), np.float32))
    return model


def _dict_inputs(keras):
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    return keras.Model({"a": a, "b": b}, keras.layers.Concatenate()([a, b]))


def _dict_outputs(keras):
    a = keras.Input((3,), name="a")
    return keras.Model(a, {"p": keras.layers.Dense(2)(a)})


@pytest.mark.parametrize(("build", "message"), [
    (_subclassed, "is a subclassed keras.Model"),
    (_dict_inputs, "has its inputs as a dict (a, b)"),
    (_dict_outputs, "has its outputs as a dict (p)"),
])
def test_a_model_the_port_cannot_read_is_refused_by_name(keras, build, message) -> None:
    """A KeyError ('input_layers', 0) escaped from reading the model's config."""
    with pytest.raises(TypeError, match=r"^port: model '\w+'.*" + message.replace("(", r"\(")
                       .replace(")", r"\)")):
        porting.port(build(keras))


def test_an_example_batch_beyond_memory_is_refused_before_keras_runs(keras) -> None:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    huge = np.broadcast_to(np.float32(1), (10**10, 4))  # 16 bytes, read-only
    with pytest.raises(ValueError, match="port: the layers' outputs on example_input's "
                                         "10000000000 rows"):
        porting.port(model, huge)


def test_a_report_with_nan_errors_is_written_as_json() -> None:
    """NaN weights give NaN errors: report.json said 'Out of range float values are not
    JSON compliant' and Ported.save wrote nothing."""
    row = porting.LayerParity("dense", "Dense", float("nan"), float("nan"), 1e-5)
    report = porting.ParityReport((row,), "float32", (3,), True)
    data = json.loads(report.to_json())
    assert (data["layers"][0]["error"], data["ok"]) == (None, False)


def _wrong_shapes_file(keras, folder: Path, units: object = 4) -> Path:
    """A .keras file whose config gives Dense 'head' ``units`` over weights of 2."""
    L = keras.layers
    keras.Sequential([keras.Input((3,)), L.Dense(3, name="body"),
                      L.Dense(2, name="head")]).save(folder / "ok.keras")
    path = folder / "wrong.keras"
    with zipfile.ZipFile(folder / "ok.keras") as source, zipfile.ZipFile(path, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "config.json":
                text = json.loads(data)
                for layer in text["config"]["layers"]:
                    if layer["config"].get("name") == "head":
                        layer["config"]["units"] = units
                data = json.dumps(text).encode()
            out.writestr(info.filename, data)
    return path


def test_weights_that_do_not_fit_the_config_name_the_layer_and_shapes(keras, tmp_path) -> None:
    """Keras's message printed the variable's values inside three paragraphs."""
    path = _wrong_shapes_file(keras, tmp_path)
    with pytest.raises(port_files.KerasFileError) as error:
        port_files.load(path)
    assert str(error.value) == (
        f"{path}: the weights do not fit the model: layer 'head' expects arrays of shapes "
        "[(3, 4), (4,)] (from config.json); model.weights.h5 stores [(3, 2), (2,)]")


def test_a_config_that_does_not_rebuild_names_the_layer_and_keras_reason(keras,
                                                                         tmp_path) -> None:
    """Keras's message for the model ('Sequential could not be deserialized properly',
    then the whole config) named no layer."""
    path = _wrong_shapes_file(keras, tmp_path, units="2")
    with pytest.raises(port_files.KerasFileError) as error:
        port_files.load(path)
    assert str(error.value) == (
        f"{path}: config.json does not rebuild into a Keras model (layer 'head' (Dense): "
        "TypeError: Received an invalid value for `units`, expected a positive integer. "
        "Received: units=2)")


def _spec() -> reference.Sequential:
    return reference.Sequential([reference.Dense(3, 2)])


def _torch_model():
    import torch
    return torch.nn.Linear(3, 2)


def _keras_model():
    import keras
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])


def _entry(kind: str):
    """(save(path), load(path), suffix) of one package's weight files."""
    if kind == "spec":
        return (lambda p: reference.save_weights(_spec(), p),
                lambda p: reference.load_weights(p, _spec()), ".npz")
    if kind == "torch":
        import torch_impl
        return (lambda p: torch_impl.save_weights(_torch_model(), p),
                lambda p: torch_impl.load_weights(p, _torch_model()), ".pt")
    import tf_impl
    return (lambda p: tf_impl.save_weights(_keras_model(), p),
            lambda p: tf_impl.load_weights(p, _keras_model()), ".weights.h5")


@pytest.fixture
def dangling(tmp_path) -> Path:
    link = tmp_path / "gone"
    link.symlink_to(tmp_path / "nowhere" / "target")
    return link


@pytest.mark.parametrize("kind", ["spec", "torch", "tf"])
@pytest.mark.parametrize("action", ["save", "load"])
def test_a_weight_path_through_a_dangling_link_names_the_link(kind, action, dangling,
                                                               keras) -> None:
    """The system said 'No such file or directory' of the whole path, or 'Not a
    directory'."""
    save, load, suffix = _entry(kind)
    path = dangling / f"w{suffix}"
    with pytest.raises(WeightFileError, match=f"{dangling} is a symbolic link to "
                                              f"{os.readlink(dangling)}, which does not exist"):
        (save if action == "save" else load)(path)


@pytest.mark.parametrize("call", [
    lambda link: port_files.load(link / "m.keras"),
    lambda link: port_files.read_example(link / "x.npy"),
    lambda link: port_files.write_folder(link / "out", {}),
    lambda link: cli._path(str(link / "m.keras")),
])
def test_a_port_path_through_a_dangling_link_names_the_link(call, dangling) -> None:
    """mkdir said only 'File exists' of a port folder below the link."""
    with pytest.raises(Exception, match=f"{dangling} is a symbolic link to .*which does not "
                                        "exist"):
        call(dangling)


@pytest.mark.parametrize("kind", ["spec", "torch", "tf"])
def test_a_name_near_the_systems_limit_is_written_and_read(kind, tmp_path, keras) -> None:
    """The temporary file's name added 20 characters: 'File name too long'."""
    save, load, suffix = _entry(kind)
    path = tmp_path / ("w" * (250 - len(suffix)) + suffix)
    save(path)
    load(path)
    assert sorted(os.listdir(tmp_path)) == [path.name]


@pytest.mark.parametrize("kind", ["spec", "torch", "tf"])
@pytest.mark.parametrize(("path", "message"), [
    ("", "the path is empty"), ("w\0.npz", "a path cannot hold a NUL character")])
@pytest.mark.parametrize("action", ["save", "load"])
def test_an_empty_path_or_one_with_nul_is_refused_by_name(kind, path, message, action,
                                                           keras) -> None:
    save, load, suffix = _entry(kind)
    path = path.replace(".npz", suffix)
    with pytest.raises(WeightFileError, match=message):
        (save if action == "save" else load)(path)


def test_a_name_longer_than_any_concept_is_refused_before_suggestions(capsys) -> None:
    """100 000 characters took minutes of difflib near misses."""
    with pytest.raises(SystemExit) as exit_:
        cli.main(["cheatsheet", "a" * 100_000])
    assert exit_.value.code == 2
    assert "a name of at most 200 characters, got 100000" in capsys.readouterr().err


@pytest.mark.parametrize("encoding", ["latin-1", "ascii"])
def test_an_output_encoding_without_the_tables_characters_prints(monkeypatch,
                                                                 encoding) -> None:
    """UnicodeEncodeError's traceback under LANG=C or PYTHONIOENCODING=latin-1."""
    buffer = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(buffer, encoding=encoding))
    assert cli.main(["show", "sigmoid", "--width", "80"]) == 0
    assert b"sigmoid" in buffer.getvalue()


class _Full(io.StringIO):
    def flush(self) -> None:
        raise OSError(28, "No space left on device")


def test_a_full_output_ends_in_one_line_not_a_traceback(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdout", _Full())
    assert cli.main(["notes"]) == 1
    assert "could not write the output ([Errno 28] No space left on device)" in \
        capsys.readouterr().err
