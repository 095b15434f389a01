"""The port's files: a damaged or hostile ``.keras`` file is refused by name, with bounded
memory (``nn_rosetta.port_files``); the output folder is written as one unit, with the
user's umask, in the format ``torch_impl.load_weights`` reads."""

from __future__ import annotations

import importlib.util
import os
import stat
import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import keras
import numpy as np
import pytest
import torch

import nn_rosetta
import torch_impl
from nn_rosetta import cli, port_files, porting
from nn_rosetta.port_files import KerasFileError

GIB = 1 << 30


def _model() -> keras.Sequential:
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(3, name="classes")], name="small")


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("keras") / "model.keras"
    _model().save(path)
    return path


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rezip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _refused(path: Path, *fragments: str) -> str:
    with pytest.raises(KerasFileError) as error:
        porting.load(path)
    message = str(error.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    return message


def test_a_missing_file_is_named(tmp_path) -> None:
    _refused(tmp_path / "absent.keras", "no such file")


def test_an_empty_file_is_refused_as_empty(tmp_path) -> None:
    (tmp_path / "m.keras").write_bytes(b"")
    _refused(tmp_path / "m.keras", "empty (0 bytes)")


def test_random_bytes_are_not_a_zip(tmp_path) -> None:
    (tmp_path / "m.keras").write_bytes(np.random.default_rng(0).bytes(5000))
    _refused(tmp_path / "m.keras", "not a zip archive")


def test_a_truncated_file_is_refused_as_damaged(keras_file, tmp_path) -> None:
    data = keras_file.read_bytes()
    (tmp_path / "m.keras").write_bytes(data[:len(data) // 2])
    _refused(tmp_path / "m.keras", "damaged or cut off")


def test_a_zip_without_config_json_is_not_a_keras_file(keras_file, tmp_path) -> None:
    members = _members(keras_file)
    del members["config.json"]
    _refused(_rezip(tmp_path / "m.keras", members), "without config.json")


def test_broken_json_names_the_file_and_the_member(keras_file, tmp_path) -> None:
    members = _members(keras_file)
    members["config.json"] = members["config.json"][:-10]
    _refused(_rezip(tmp_path / "m.keras", members), "config.json is not valid JSON")


def test_json_that_is_not_a_model_is_refused(keras_file, tmp_path) -> None:
    members = _members(keras_file)
    members["config.json"] = b"[1, 2, 3]"
    _refused(_rezip(tmp_path / "m.keras", members), "does not describe a Keras model")


def test_a_file_without_weights_is_refused(keras_file, tmp_path) -> None:
    members = _members(keras_file)
    del members["model.weights.h5"]
    _refused(_rezip(tmp_path / "m.keras", members), "has no weights")


def test_corrupted_weights_are_an_error_naming_the_file(keras_file, tmp_path) -> None:
    members = _members(keras_file)
    members["model.weights.h5"] = np.random.default_rng(1).bytes(
        len(members["model.weights.h5"]))
    _refused(_rezip(tmp_path / "m.keras", members), "Keras could not read the model")


def _deflated(size: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``size`` spaces, built from one compressed MiB repeated
    (a full flush resets the compressor, so each MiB compresses to the same bytes)."""
    mib = 1 << 20
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(b" " * mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * (size // mib) + compressor.flush(), size


def _handmade_zip(path: Path, members: list[tuple[str, bytes, int, int, int]]) -> Path:
    """A zip of (name, stored bytes, method, crc, uncompressed size) members."""
    body, directory = b"", b""
    for name, data, method, crc, size in members:
        header = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc,
                             len(data), size, len(name), 0)
        directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21,
                                 crc, len(data), size, len(name), 0, 0, 0, 0, 0, len(body))
        directory += name.encode()
        body += header + name.encode() + data
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members),
                      len(directory), len(body), 0)
    path.write_bytes(body + directory + end)
    return path


def test_a_2_gib_config_json_is_refused_before_it_is_decompressed(keras_file, tmp_path) -> None:
    stream, size = _deflated(2 * GIB)
    weights = _members(keras_file)["model.weights.h5"]
    # The CRC is left 0: a reader finds that out only after decompressing the 2 GiB.
    bomb = _handmade_zip(tmp_path / "bomb.keras", [
        ("config.json", stream, zipfile.ZIP_DEFLATED, 0, size),
        ("model.weights.h5", weights, zipfile.ZIP_STORED, zlib.crc32(weights), len(weights))])
    assert os.path.getsize(bomb) < 3 << 20
    assert zipfile.ZipFile(bomb).getinfo("config.json").file_size == 2 * GIB
    tracemalloc.start()
    try:
        with pytest.raises(KerasFileError) as error:
            port_files.check_archive(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f"{bomb}: config.json declares 2147483648 bytes" in str(error.value)
    assert peak < 1 << 20


def test_a_config_whose_header_understates_it_is_read_no_further_than_the_limit(
        tmp_path) -> None:
    stream, _ = _deflated(16 << 20)
    # The directory says 1 KiB; the stream holds 16 MiB: reading stops at the declared size.
    liar = _handmade_zip(tmp_path / "liar.keras", [
        ("config.json", stream, zipfile.ZIP_DEFLATED, 0, 1024)])
    tracemalloc.start()
    try:
        _refused(liar, "config.json is corrupted or cut off")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_a_weights_member_larger_than_the_model_is_refused_before_keras_reads_it(
        keras_file, tmp_path) -> None:
    stream, size = _deflated(256 << 20)
    config = _members(keras_file)["config.json"]
    bomb = _handmade_zip(tmp_path / "bomb.keras", [
        ("config.json", config, zipfile.ZIP_STORED, zlib.crc32(config), len(config)),
        ("model.weights.h5", stream, zipfile.ZIP_DEFLATED, 0, size)])
    _refused(bomb, "model.weights.h5 declares 268435456 bytes", "refused before decompressing")


def test_the_terminal_names_a_damaged_file_and_writes_nothing(tmp_path, capsys) -> None:
    (tmp_path / "m.keras").write_bytes(b"PK\x03\x04 not really")
    assert cli.main(["port", str(tmp_path / "m.keras"), "--out", str(tmp_path / "out")]) == 2
    assert f"{tmp_path / 'm.keras'}: not a .keras model file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# -- writing ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ported() -> nn_rosetta.Ported:
    return nn_rosetta.port(_model())


def test_the_written_weights_load_into_the_generated_class(ported, tmp_path) -> None:
    model_py, weights, *_ = ported.save(tmp_path / "out")  # report.json too
    spec = importlib.util.spec_from_file_location("generated_model", model_py)
    code = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(code)
    net = torch_impl.load_weights(weights, code.Net())
    x = torch.randn(5, 4)
    with torch.no_grad():
        torch.testing.assert_close(net(x), ported.module(x), rtol=0, atol=0)


def test_the_files_follow_the_umask(ported, tmp_path) -> None:
    previous = os.umask(0o022)
    try:
        written = ported.save(tmp_path / "out")
    finally:
        os.umask(previous)
    assert [stat.S_IMODE(p.stat().st_mode) for p in written] == [0o644] * len(written)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755


def test_a_folder_that_is_not_empty_is_refused_without_force(ported, tmp_path) -> None:
    ported.save(tmp_path / "out")
    (tmp_path / "out" / "model.py").write_text("# the user's edit")
    with pytest.raises(FileExistsError, match="not empty"):
        ported.save(tmp_path / "out")
    assert (tmp_path / "out" / "model.py").read_text() == "# the user's edit"


def test_force_replaces_a_previous_port_as_one_folder(ported, tmp_path) -> None:
    ported.save(tmp_path / "out")
    (tmp_path / "out" / "model.py").write_text("# stale")
    ported.save(tmp_path / "out", force=True)
    assert (tmp_path / "out" / "model.py").read_text() == ported.source
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging left behind


def test_force_never_deletes_files_a_port_did_not_write(ported, tmp_path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"notes\.txt"):
        ported.save(tmp_path / "out", force=True)
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"


def test_a_failed_write_leaves_the_previous_port_untouched(ported, tmp_path) -> None:
    ported.save(tmp_path / "out")
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}

    def fail(path: str) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        port_files.write_folder(tmp_path / "out", {
            "model.py": lambda path: Path(path).write_text("x"), "weights.pt": fail}, force=True)
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_the_terminal_port_refuses_an_existing_folder_and_takes_force(keras_file, tmp_path,
                                                                       capsys) -> None:
    arguments = ["port", str(keras_file), "--out", str(tmp_path / "out")]
    assert cli.main(arguments) == 0
    assert cli.main(arguments) == 2
    assert "--force" in capsys.readouterr().err
    assert cli.main([*arguments, "--force"]) == 0
