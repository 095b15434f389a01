"""Fuzz: the command line. Any arguments give the output asked for or one line of usage
error (exit status 2), never a traceback and never a silently adjusted value."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nn_rosetta import cli, port_files
from reference import registry

TOKENS = ("list", "show", "sigmoid", "sigmod", "", "--width", "-5", "0", "19", "20", "80",
          "abc", "--color", "always", "never", "rainbow", "--report", "/nonexistent.json",
          "--help-me", registry.CONCEPTS[-1].name)


@given(argv=st.lists(st.sampled_from(TOKENS), max_size=5))
def test_any_command_line_runs_or_is_refused_in_one_line(argv) -> None:
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse's usage error, already printed
        code = exit_.code
    assert code in (0, 2), argv


@pytest.mark.parametrize(("argv", "message"), [
    (["show", "sigmoid", "--width", "-5"], "between 20 and 1000 columns, got -5"),
    (["show", "sigmoid", "--width", "99999999"], "between 20 and 1000 columns, got 99999999"),
    (["port", "m.keras", ""], "argument folder: an empty path"),  # Path("") is "."
    (["port", "", "out"], "argument model: an empty path"),
    (["port", "m.keras", "--out", ""], "argument --out: an empty path"),
    (["--report", "", "list"], "argument --report: an empty path"),
    (["show", "sigmoid", "--width", "2.5"], "a whole number of columns, got '2.5'"),
    (["--report", "/nonexistent.json", "list"], "not a readable parity report"),
])
def test_a_bad_value_is_named_not_adjusted(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def _npy_header(shape: tuple[int, ...]) -> bytes:
    """A version 1 ``.npy`` header declaring float64 of ``shape``, padded as NumPy pads it."""
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"),
    (b"hello", "not a NumPy .npy array file"),
    (_npy_header((10**10,)) + bytes(80), "not a NumPy .npy array file"),  # 75 GiB declared
    (_npy_header((2, 3)) + bytes(10), "not a NumPy .npy array file"),  # cut off
    ("npz", "not a readable .npz of arrays (member 'x.npy' declares 80000000000 bytes"),
])
def test_a_bad_example_file_is_named_before_keras_or_numpy_allocates(
        content, message, tmp_path, capsys, keras) -> None:

    model = tmp_path / "m.keras"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]).save(model)
    example = tmp_path / ("x.npz" if content == "npz" else "x.npy")
    if content == "npz":  # an archive whose member declares 75 GiB in 80 bytes
        with zipfile.ZipFile(example, "w") as archive:
            archive.writestr("x.npy", _npy_header((10**10,)) + bytes(80))
    elif content is not None:
        example.write_bytes(content)
    code = cli.main(["port", str(model), "--out", str(tmp_path / "out"), "--input",
                     str(example)])
    assert code == 2
    assert f"--input {example}: {message}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def graph_file(tmp_path_factory, keras):
    """A functional model of two Inputs, one read by an Embedding of 5 rows, saved."""
    tokens = keras.Input((3,), name="tokens", dtype="int64")
    features = keras.Input((4,), name="features")
    embedded = keras.layers.Flatten()(keras.layers.Embedding(5, 2)(tokens))
    path = tmp_path_factory.mktemp("graph") / "m.keras"
    keras.Model([tokens, features], keras.layers.Concatenate()(
        [embedded, keras.layers.Dense(2)(features)])).save(path)
    return path


TOKENS = np.array([[0, 4, 2], [1, 1, 3]])
FEATURES = np.ones((2, 4), np.float32)


@pytest.mark.parametrize(("arrays", "message"), [
    ({"tokens": TOKENS, "features": FEATURES}, None),
    ({"tokens": TOKENS, "feature": FEATURES}, "must hold one array per input"),
    ({"tokens": TOKENS[:0], "features": FEATURES[:0]}, "example_input 'tokens' is empty"),
    ({"tokens": TOKENS + 1, "features": FEATURES}, "'tokens' (indices) must lie in [0, 4]"),
    ({"tokens": TOKENS, "features": FEATURES[:, :3]}, "'features' must have shape (N, 4)"),
    ({"tokens": TOKENS, "features": FEATURES.astype(np.float64)}, "has dtype float64"),
])
def test_a_graph_port_names_a_bad_input_file_in_one_line(graph_file, arrays, message, tmp_path,
                                                         capsys) -> None:
    example = tmp_path / "x.npz"
    np.savez(example, **arrays)
    code = cli.main(["port", str(graph_file), "--out", str(tmp_path / "out"), "--input",
                     str(example)])
    err = capsys.readouterr().err
    if message is None:
        assert code == 0 and (tmp_path / "out").exists(), err
        return
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("below", ["", "deeper/"])
def test_an_output_folder_below_a_file_is_refused_naming_the_file(below, tmp_path) -> None:
    """mkdir said "[Errno 17] File exists" of the file alone."""
    (tmp_path / "a file").write_text("x")
    target = tmp_path / "a file" / f"{below}out"
    with pytest.raises(FileExistsError, match=rf"{target}: {tmp_path / 'a file'} is a file, "
                                              "not a folder; nothing written"):
        port_files.write_folder(target, {"model.py": lambda path: None})
    assert (tmp_path / "a file").read_text() == "x"


@pytest.mark.parametrize("stubs", [[], ["--stubs"]])
def test_a_keras_file_with_a_lambda_is_refused_without_advising_unsafe_loading(
        stubs, tmp_path, capsys, keras) -> None:
    """Keras's refusal advised passing safe_mode=False, which the CLI does not take."""
    model = tmp_path / "m.keras"
    keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda x: x * 2)]).save(model)
    assert cli.main(["port", str(model), str(tmp_path / "out"), *stubs]) == 2
    assert f"{model}: holds a Lambda layer" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
