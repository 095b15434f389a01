"""Fuzz: weight files in the three formats: hostile headers, corruption, truncation,
interrupted writes, and the memory a hostile file may cost.

Every load either gives back exactly the weights that were saved or raises a
``WeightFileError`` naming the file; a failed save leaves the previous file intact; a
file whose headers declare more than the model holds is refused before it is read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference
from parity_tests.conftest import framework
from reference import Dense, Sequential, activations
from reference.weights import WeightFileError

FORMATS = ("spec", "torch", "tf")
SUFFIX = {"spec": "npz", "torch": "pt", "tf": "weights.h5"}
ROOT = Path(__file__).resolve().parents[2]


def _model(seed: int = 0) -> Sequential:
    return Sequential([Dense(3, 5, "sigmoid"),
                       Dense(5, 2, activations.get("leaky_relu", negative_slope=0.2))],
                      seed=seed)


def _io(kind: str):
    """(package, make: spec model → that package's model, read: its model → spec params)."""
    if kind == "spec":
        return reference, lambda spec: spec, lambda model: model.params
    impl = framework(kind).impl
    return impl, impl.from_reference, lambda model: impl.to_reference(model).params


def _saved(kind: str, folder: Path, seed: int = 0) -> tuple[Path, bytes]:
    package, make, _ = _io(kind)
    path = folder / f"model.{SUFFIX[kind]}"
    package.save_weights(make(_model(seed)), path)
    return path, path.read_bytes()


def _load(kind: str, path: Path):
    """Load into a fresh model of the right architecture (other weights: seed 1)."""
    package, make, read = _io(kind)
    return read(package.load_weights(path, make(_model(seed=1))))


def _same(a, b) -> bool:
    return all(np.array_equal(x, y) for pa, pb in zip(a, b, strict=True)
               for x, y in zip(pa, pb, strict=True))


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("originals")
    return {kind: _saved(kind, folder / kind if (folder / kind).mkdir() is None else folder)
            for kind in FORMATS}


@pytest.mark.parametrize("kind", FORMATS)
@given(data=st.data())
def test_a_corrupted_byte_is_refused_or_changes_nothing(kind, originals, tmp_path_factory,
                                                        data) -> None:
    _, content = originals[kind]
    offset = data.draw(st.integers(0, len(content) - 1))
    mask = data.draw(st.integers(1, 255))
    path = tmp_path_factory.mktemp("corrupt") / f"model.{SUFFIX[kind]}"
    corrupted = bytearray(content)
    corrupted[offset] ^= mask
    path.write_bytes(bytes(corrupted))
    try:
        params = _load(kind, path)
    except WeightFileError as error:
        assert str(path) in str(error)
        return
    assert _same(params, _model().params), f"byte {offset} ^ {mask}: loaded other weights"


@pytest.mark.parametrize("kind", FORMATS)
@given(data=st.data())
def test_a_truncated_file_is_refused_naming_it(kind, originals, tmp_path_factory,
                                               data) -> None:
    _, content = originals[kind]
    cut = data.draw(st.integers(0, len(content) - 1))
    path = tmp_path_factory.mktemp("cut") / f"model.{SUFFIX[kind]}"
    path.write_bytes(content[:cut])
    with pytest.raises(WeightFileError, match=str(path)):
        _load(kind, path)


def _rewrite_npz(path: Path, meta: object | None = None, **members: bytes) -> None:
    """Rewrite the spec file with another 'meta' or raw member bytes (checksum kept)."""
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    if meta is not None:
        buffer = __import__("io").BytesIO()
        np.lib.format.write_array(buffer, np.array(json.dumps(meta)))
        contents["meta.npy"] = buffer.getvalue()
    contents.update({f"{name}.npy": value for name, value in members.items()})
    with zipfile.ZipFile(path, "w") as archive:
        for name, value in contents.items():
            archive.writestr(name, value)


_HOSTILE_VALUES = (10**12, -1, 0, "3", None, [], {}, 2.5, "x", True, "nan", 1e308)


@given(data=st.data())
def test_hostile_metadata_is_refused_before_anything_is_built(tmp_path_factory,
                                                              data) -> None:
    path, _ = _saved("spec", tmp_path_factory.mktemp("meta"))
    with np.load(path, allow_pickle=False) as archive:
        meta = json.loads(str(archive["meta"]))
    layer = data.draw(st.sampled_from(meta["layers"]))
    where = data.draw(st.sampled_from(["config", "parameters", "top", "layer"]))
    value = data.draw(st.sampled_from(_HOSTILE_VALUES))
    if where == "config":
        key = data.draw(st.sampled_from(sorted(layer["config"])))
        if key == "activation_params":
            layer["config"]["activation_params"] = {"negative_slope": value}
        else:
            layer["config"][key] = value
    elif where == "parameters":
        layer["arrays"][data.draw(st.sampled_from(sorted(layer["arrays"])))] = \
            [value, 5]
    elif where == "layer":
        layer["kind"] = value
    else:
        meta[data.draw(st.sampled_from(sorted(meta)))] = value
    _rewrite_npz(path, meta)
    fresh = _model(seed=1)
    with pytest.raises(WeightFileError, match=str(path)):
        reference.load_weights(path, fresh if data.draw(st.booleans()) else None)
    assert _same(fresh.params, _model(seed=1).params)  # nothing was modified


def _npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (117 - len(header)) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


@pytest.mark.parametrize(("member", "found"), [
    (_npy_header((10**6, 10**6)), r"0\.W should be float64 of shape \(3, 5\), found float64 "
                                  r"\(<f8\) of shape \(1000000, 1000000\)"),
    (_npy_header((3, 5), "|O"), r"pickled Python objects"),
    (_npy_header((3, 5), ">f8") + bytes(120), r"found float64 \(>f8\)"),
    (_npy_header((3, 5)) + bytes(8), r"0\.W holds 8 bytes of data where its header declares "
                                     r"120: truncated"),
    (b"\x93NUMPY\x01\x00\xff\xff{'descr'", r"member '0\.W' has no valid \.npy header"),
    (os.urandom(64), r"member '0\.W' has no valid \.npy header"),
], ids=["7_TiB", "object", "big_endian", "short", "header_cut", "random"])
def test_a_hostile_array_header_is_refused_with_a_true_message(tmp_path, member,
                                                               found) -> None:
    path, _ = _saved("spec", tmp_path)
    _rewrite_npz(path, **{"0.W": member})
    with pytest.raises(WeightFileError, match=found):
        reference.load_weights(path)


class _Interrupted(BaseException):
    """A stand-in for KeyboardInterrupt or a killed process, raised mid-file."""


def _cut(real, keep: float, file_argument: int):
    """``real`` (a framework's writer), after which its file is cut to the fraction
    ``keep`` of its bytes and the write interrupted: a write that died midway."""
    def write(*args, **kwargs) -> None:
        real(*args, **kwargs)
        target = args[file_argument]
        if hasattr(target, "truncate"):  # np.savez writes to the open temporary file
            target.flush()
            target.truncate(int(keep * target.tell()))
        else:
            Path(target).write_bytes(Path(target).read_bytes()[:int(keep *
                                                                    os.path.getsize(target))])
        raise _Interrupted
    return write


@pytest.mark.parametrize("kind", FORMATS)
@settings(max_examples=5)  # a save per example; where it stops matters little
@given(keep=st.floats(0.0, 0.99))
def test_an_interrupted_save_leaves_the_previous_file_intact(kind, tmp_path_factory,
                                                             keep) -> None:
    folder = tmp_path_factory.mktemp("interrupted")
    path, content = _saved(kind, folder, seed=0)
    package, make, _ = _io(kind)
    model = make(_model(seed=3))
    with pytest.MonkeyPatch.context() as patch:
        if kind == "spec":
            patch.setattr(np, "savez", _cut(np.savez, keep, 0))
        elif kind == "torch":
            torch = framework("torch").torch
            patch.setattr(torch, "save", _cut(torch.save, keep, 1))
        else:
            patch.setattr(model, "save_weights", _cut(model.save_weights, keep, 0))
        with pytest.raises(_Interrupted):
            package.save_weights(model, path)
    assert path.read_bytes() == content  # the previous file, byte for byte
    assert sorted(p.name for p in folder.iterdir()) == [path.name]  # no temporary left
    assert _same(_load(kind, path), _model(seed=0).params)


@pytest.mark.parametrize("kind", FORMATS)
def test_saving_to_a_directory_names_the_path(kind, tmp_path) -> None:
    package, make, _ = _io(kind)
    target = tmp_path / f"folder.{SUFFIX[kind]}"
    target.mkdir()
    with pytest.raises(WeightFileError, match=rf"{target}: is a directory"):
        package.save_weights(make(_model()), target)


def test_keras_refuses_a_file_with_a_layer_more_or_less(tmp_path) -> None:
    tf = framework("tf").impl
    deeper = Sequential([Dense(3, 5, "sigmoid"), Dense(5, 2), Dense(2, 2)], seed=0)
    path = tmp_path / "deeper.weights.h5"
    tf.save_weights(tf.from_reference(deeper), path)
    with pytest.raises(WeightFileError, match=r"missing \[\], unexpected \['layers/"):
        tf.load_weights(path, tf.from_reference(_model()))
    with pytest.raises(WeightFileError, match=r"missing \['layers/.*unexpected \[\]"):
        tf.load_weights(_saved("tf", tmp_path)[0], tf.from_reference(deeper))


@pytest.mark.parametrize("kind", ["torch", "tf"])
def test_a_file_of_another_format_is_refused_with_a_true_message(kind, tmp_path) -> None:
    spec_path, _ = _saved("spec", tmp_path)
    path = tmp_path / f"other.{SUFFIX[kind]}"
    path.write_bytes(spec_path.read_bytes())
    found = {"torch": r"no nn_rosetta\.sha256 record", "tf": r"not HDF5"}[kind]
    with pytest.raises(WeightFileError, match=found):
        _load(kind, path)


# --- memory: hostile files loaded in a fresh process under an address-space limit ---

_MEMORY_PROBE = textwrap.dedent("""
    import json, resource, sys
    import reference, torch_impl
    from reference.weights import WeightFileError

    def vm_bytes():
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmSize"))

    limit = vm_bytes() + (96 << 20)  # what is mapped now, plus 96 MiB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    spec = reference.Sequential([reference.Dense(3, 5, "sigmoid"), reference.Dense(5, 2)])
    module = torch_impl.from_reference(spec)
    report = {}
    for path in sys.argv[1:]:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            if path.endswith(".pt"):
                torch_impl.load_weights(path, module)
            else:
                reference.load_weights(path, spec if "into" in path else None)
            outcome = "loaded"
        except WeightFileError as error:
            outcome = "refused: " + str(error)[:120]
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        report[path] = [outcome, (after - before) * 1024]
    try:  # the control: the limit bites at the size of one hostile file
        bytearray(128 << 20)
        report["control"] = "128 MiB allocated"
    except MemoryError:
        report["control"] = "MemoryError"
    print(json.dumps(report))
""")


def _zip_bomb(source: Path, path: Path, member: str, megabytes: int,
              prefix: bytes = b"") -> None:
    """``source``, a valid weight file, with ``member`` replaced by one that inflates to
    ``megabytes`` MiB from a few hundred KiB."""
    with zipfile.ZipFile(source) as original:
        contents = {name: original.read(name) for name in original.namelist()}
    with zipfile.ZipFile(path, "w") as archive:
        for name, value in contents.items():
            if name != member:
                archive.writestr(name, value)
        info = zipfile.ZipInfo(member)
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as stream:
            stream.write(prefix)
            chunk = bytes(1 << 20)
            for _ in range(megabytes):
                stream.write(chunk)


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("hostile")
    files = {}
    # the spec's format: an array header declaring 7.28 TiB, meta claiming 10⁶ × 10⁶
    # weights, a member that inflates to 128 MiB, a 'meta' of 128 MiB
    path, _ = _saved("spec", folder)
    _rewrite_npz(path, **{"0.W": _npy_header((10**6, 10**6))})
    files["npy header of 7.28 TiB"] = path.rename(folder / "header.npz")
    path, _ = _saved("spec", folder)
    with np.load(path, allow_pickle=False) as archive:
        meta = json.loads(str(archive["meta"]))
    meta["layers"][0]["config"]["in_features"] = 10**6
    meta["layers"][0]["arrays"]["W"] = [10**6, 5]
    _rewrite_npz(path, meta)
    files["meta declaring 10^6 inputs"] = path.rename(folder / "wide.npz")
    valid, _ = _saved("spec", folder)
    _zip_bomb(valid, folder / "bomb.npz", "0.W.npy", 128, _npy_header((3, 5)))
    files["member inflating to 128 MiB"] = folder / "bomb.npz"
    _zip_bomb(valid, folder / "meta.npz", "meta.npy", 128)
    files["meta inflating to 128 MiB"] = folder / "meta.npz"
    valid, _ = _saved("torch", folder)
    record = next(n for n in zipfile.ZipFile(valid).namelist() if n.endswith("/data/0"))
    _zip_bomb(valid, folder / "bomb.pt", record, 128)
    files["torch record inflating to 128 MiB"] = folder / "bomb.pt"
    return {label: str(path) for label, path in files.items()}


def test_a_hostile_file_costs_no_more_memory_than_the_model(hostile_files) -> None:
    """Measured in a fresh process whose address space may grow by 96 MiB at most, less
    than any of the hostile files would take: a MemoryError there fails the test."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, *hostile_files.values()],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["control"] == "MemoryError"  # 128 MiB do not fit under the limit
    for label, path in hostile_files.items():
        outcome, grown = report[path]
        assert outcome.startswith("refused: "), f"{label}: {outcome}"
        assert grown < 16 << 20, f"{label}: peak memory grew by {grown} bytes"


def test_a_keras_file_declaring_a_1_gib_kernel_is_refused_unread(tmp_path) -> None:
    """The HDF5 header alone declares the kernel; h5py allocates nothing for it, and the
    check compares shapes before any dataset is read (tracemalloc sees what NumPy, and so
    h5py and Keras, allocate)."""
    import tracemalloc

    import h5py

    tf = framework("tf").impl
    module = tf.from_reference(_model())
    path = tmp_path / "huge.weights.h5"
    tf.save_weights(module, path)
    with h5py.File(path, "r+") as file:
        name = next(n for n in file["layers"])
        del file[f"layers/{name}/vars/0"]
        file.create_dataset(f"layers/{name}/vars/0", shape=(16384, 16384), dtype="float32")
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(WeightFileError, match=r"should be float64 of shape \(3, 5\)"):
            tf.load_weights(path, module)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


@pytest.mark.parametrize("mask", [0x01, 0xFF])
def test_every_changed_byte_of_a_torch_file_is_refused_or_changes_nothing(tmp_path,
                                                                        mask) -> None:
    """Every offset, not a sample: a byte of the zip directory can make a record look
    encrypted or compressed by an unknown method, or its name undecodable, which zipfile
    reports with other exceptions than BadZipFile. The smallest model (one record of
    weights) has every kind of record and header of a torch file, in 1.9 kB rather than
    2.9 kB, each load a third cheaper."""
    package, make, read = _io("torch")
    saved = Sequential([Dense(2, 1, use_bias=False)], seed=0)
    path = tmp_path / f"model.{SUFFIX['torch']}"
    package.save_weights(make(saved), path)
    content = path.read_bytes()
    module = make(Sequential([Dense(2, 1, use_bias=False)], seed=1))  # one for every load:
    for offset in range(len(content)):  # a load that succeeds sets all of its weights
        corrupted = bytearray(content)
        corrupted[offset] ^= mask
        path.write_bytes(bytes(corrupted))
        try:
            params = read(package.load_weights(path, module))
        except WeightFileError as error:
            assert str(path) in str(error)
            continue
        assert _same(params, saved.params), f"byte {offset} ^ {mask}: loaded other weights"


@pytest.mark.parametrize("kind", FORMATS)
@pytest.mark.parametrize("where", ["a folder", "/dev/zero", "a pipe"])
def test_a_path_that_is_no_regular_file_is_refused_before_it_is_read(kind, where,
                                                                    tmp_path) -> None:
    """/dev/zero never ends: the spec's and torch's zip readers read it into memory until
    a MemoryError; a pipe blocks the reader until someone writes into it."""
    path = {"a folder": tmp_path, "/dev/zero": Path("/dev/zero"),
            "a pipe": tmp_path / "pipe"}[where]
    if where == "a pipe":
        os.mkfifo(path)
    package, make, _ = _io(kind)
    with pytest.raises(WeightFileError, match=rf"{path}: is (a directory|not a regular file)"):
        package.load_weights(path, make(_model()))


@pytest.mark.parametrize("kind", FORMATS)
def test_a_path_given_as_bytes_is_refused_by_name(kind, tmp_path) -> None:
    """Its suffix check compared bytes with str: Python's TypeError."""
    package, make, _ = _io(kind)
    with pytest.raises(TypeError, match=r"save_weights: path must be a file name \(str or "
                                        r"os.PathLike\), got bytes"):
        package.save_weights(make(_model()), bytes(tmp_path / f"m.{SUFFIX[kind]}"))


@pytest.mark.parametrize("field", [6, 8], ids=["version needed", "flags"])
def test_a_changed_zip_directory_entry_of_a_spec_file_is_refused_naming_it(tmp_path,
                                                                          field) -> None:
    """A byte of a member's zip directory entry read as a newer zip version, encryption
    or patched data: zipfile's NotImplementedError escaped the spec's loader."""
    path, content = _saved("spec", tmp_path)
    entries = [i for i in range(len(content)) if content.startswith(b"PK\x01\x02", i)]
    assert len(entries) == 5  # meta and the two layers' W and b
    for entry in entries:
        corrupted = bytearray(content)
        corrupted[entry + field] ^= 0xFF
        path.write_bytes(bytes(corrupted))
        with pytest.raises(WeightFileError, match=str(path)):
            _load("spec", path)


@pytest.mark.parametrize("function", ["save_weights", "load_weights"])
def test_an_unbuilt_keras_model_is_refused_by_name(function, tmp_path, keras) -> None:
    """Keras's own message said "You are saving a model that has not yet been built",
    for a load too."""
    package, make, _ = _io("tf")
    path = tmp_path / f"model.{SUFFIX['tf']}"
    package.save_weights(make(_model()), path)
    unbuilt = keras.Sequential([keras.layers.Dense(5), keras.layers.Dense(2)], name="unbuilt")
    arguments = (unbuilt, path) if function == "save_weights" else (path, unbuilt)
    with pytest.raises(ValueError, match=rf"{function}: the Keras model 'unbuilt' is not built"):
        getattr(package, function)(*arguments)
    assert not unbuilt.built
