"""The port's files: reading a ``.keras`` model file defensively, before Keras does
(``nn-rosetta port M.keras``), and writing the port's folder as one unit.

A ``.keras`` file is a zip archive holding ``config.json`` (the architecture, as JSON),
``model.weights.h5`` (the weights; ``.npz`` in some Keras versions) and
``metadata.json``. Keras's own loader turns most damage into an unhelpful message (an
empty, truncated or random file reads "File not found", a zip without ``config.json`` a
``KeyError``) and reads a member fully into memory, guarding only members over 4 GiB.
:func:`check_archive` checks, in this order and from the zip's directory before any
member is decompressed:

* the file exists, is not empty, and is a zip whose directory is readable;
* ``config.json`` is there, declares at most :data:`MAX_CONFIG_BYTES` uncompressed, and
  is read through a stream that stops there whatever the header claims (a 2 GiB
  ``config.json`` compressed into a few MB costs no more than the limit), then parsed
  as a JSON object;
* a weights member is there.

:func:`load` then rebuilds the architecture from the config (``safe_mode=True``: no
code in the file runs) without filling its variables (``keras.StatelessScope``, in a
thread of its own, so nothing unfilled is left behind in the caller's Keras), refuses
a model whose arrays outgrow the weights member's declared size, and a declared size
beyond what deflate can expand from the stored bytes, bounds that declared size by what
the model holds (:func:`weights_limit`), refuses a model and weights member that do
not fit in the memory available now (``reference._validation.check_memory``), and only
then lets Keras read the file: memory stays within the weights member's declared size,
itself at most ~1000 times its stored bytes. Every failure is a
:class:`KerasFileError` naming the file and what is wrong with it.

:func:`write_folder` writes the port's output (``model.py`` and the weights) into a
temporary folder beside the target, then renames it into place: a failure at any point
leaves the target as it was, never code without its weights. The files get the user's
umask (0644 under umask 022), not the 0600 of a temporary file. A target that exists
and is not empty is refused unless ``force=True``, and even then only when it holds
nothing but a previous port's files: the port replaces a folder, it never mixes its
files with others nor deletes someone else's.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shutil
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from reference._files import dangling_link
from reference._validation import as_flag, check_memory, check_path

CONFIG = "config.json"
WEIGHTS = ("model.weights.h5", "model.weights.npz")
MAX_CONFIG_BYTES = 64 << 20  # a config of 64 MiB is thousands of layers
OVERHEAD = 1 << 20  # the weights file's bytes beyond its arrays: HDF5 headers, names
PER_VARIABLE = 1 << 14  # an HDF5 dataset's and its layer group's headers, generously
COPIES = 3  # a compiled model's file keeps the optimizer's slots too: Adam's m and v
_CHUNK = 1 << 20
MAX_RATIO = 1032  # deflate's largest expansion: a member declaring more lies about its size


class KerasFileError(ValueError):
    """A ``.keras`` file that is missing, damaged, oversized or not a Keras model."""


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int,
                  path: str) -> bytes:
    """The member's bytes, read in chunks and refused past ``limit`` (a header may lie)."""
    chunks, size = [], 0
    try:
        with archive.open(info) as member:
            while size <= limit and (chunk := member.read(min(_CHUNK, limit + 1 - size))):
                chunks.append(chunk)
                size += len(chunk)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError,
            NotImplementedError, ValueError) as error:  # damage, encryption, odd methods
        raise KerasFileError(f"{path}: {info.filename} is corrupted or cut off "
                             f"({type(error).__name__}: {error})") from None
    if size > limit:
        raise KerasFileError(f"{path}: {info.filename} holds more than {limit} bytes "
                             "uncompressed; refused before reading on")
    return b"".join(chunks)


def check_archive(path: str | os.PathLike) -> tuple[dict[str, Any], zipfile.ZipInfo]:
    """The parsed ``config.json`` and the weights member's directory entry of the
    ``.keras`` file at ``path``, after the checks in the module's docstring."""
    check_path("check_archive", path)  # os.fspath's "expected str, bytes or os.PathLike"
    path = os.fspath(path)
    if not os.path.exists(path):
        link = dangling_link(path)
        raise KerasFileError(f"{path}: no such file" + (f": {link}" if link else ""))
    if not os.path.isfile(path):
        raise KerasFileError(f"{path}: not a file (a .keras model file is a zip archive)")
    if os.path.getsize(path) == 0:
        raise KerasFileError(f"{path}: the file is empty (0 bytes), not a .keras model")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as error:
        raise KerasFileError(f"{path}: not a .keras model file: not a zip archive, or its "
                             f"zip directory is damaged or cut off ({error})") from None
    except OSError as error:
        raise KerasFileError(f"{path}: unreadable ({error})") from None
    with archive:
        members = {info.filename: info for info in archive.infolist()}
        if CONFIG not in members:
            raise KerasFileError(f"{path}: a zip archive without {CONFIG}, so not a .keras "
                                 f"model file (it holds {sorted(members)[:5]})")
        config_info = members[CONFIG]
        if config_info.file_size > MAX_CONFIG_BYTES:
            raise KerasFileError(f"{path}: {CONFIG} declares {config_info.file_size} bytes "
                                 f"uncompressed ({config_info.compress_size} stored); a "
                                 f"model's config is at most {MAX_CONFIG_BYTES}; refused "
                                 "before decompressing")
        text = _read_bounded(archive, config_info, MAX_CONFIG_BYTES, path)
        weights = [members[name] for name in WEIGHTS if name in members]
    try:
        config = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise KerasFileError(f"{path}: {CONFIG} is not valid JSON ({error})") from None
    except RecursionError:
        raise KerasFileError(f"{path}: {CONFIG} nests deeper than a JSON parser "
                             "follows; no model's config does") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise KerasFileError(f"{path}: {CONFIG} does not describe a Keras model (no "
                             f"class_name; got a {type(config).__name__})")
    if not weights:
        raise KerasFileError(f"{path}: has no weights ({' or '.join(WEIGHTS)} is missing)")
    return config, weights[0]


def array_bytes(model: Any) -> int:
    """The bytes of ``model``'s arrays, from its variables' shapes and dtypes."""
    return sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in model.weights)


def weights_limit(model: Any) -> int:
    """The most bytes a weights member may declare for ``model``: its arrays (and the
    optimizer's slots) plus the format's headers."""
    return COPIES * array_bytes(model) + OVERHEAD + COPIES * PER_VARIABLE * len(model.weights)


def _sizes(config: dict, path: str) -> tuple[int, int, Shapes]:
    """The bytes of the model ``config`` describes, :func:`weights_limit` of it and its
    :func:`owned_shapes`, without allocating a single array of it.

    The architecture is rebuilt (``safe_mode=True``) inside ``keras.StatelessScope(
    initialize_variables=False)``, which makes each variable with its shape and leaves
    its value empty. Keras keeps those unfilled variables in a list of its global state,
    and the next ``StatelessScope`` to close fills them all (a ``Lambda`` layer's shape
    inference closes one): a refused file's Dense of 10⁹ units would be allocated later,
    anywhere in the caller's process. Keras's global state is per thread, so the rebuild
    runs in a thread of its own, and its list ends with the thread. What the caller's
    state holds that the rebuild needs goes with it: ``floatx``, and the classes a
    ``keras.saving.custom_object_scope`` around the call makes known.
    """
    import keras

    floatx = keras.config.floatx()
    known = {name: cls for name in _class_names(config)
             if (cls := keras.saving.get_registered_object(name)) is not None}
    found: dict[str, Any] = {}

    def rebuild() -> None:
        keras.config.set_floatx(floatx)
        try:
            with keras.saving.custom_object_scope(known), \
                    keras.StatelessScope(initialize_variables=False):
                architecture = keras.saving.deserialize_keras_object(config, safe_mode=True)
            found["sizes"] = array_bytes(architecture), weights_limit(architecture)
            found["shapes"] = owned_shapes(architecture)
        except Exception as error:  # any failure to rebuild it from the file's description
            found["error"] = error
            found["layer"] = _first_bad_layer(config)

    thread = threading.Thread(target=rebuild, name="nn-rosetta: size the .keras model")
    thread.start()
    thread.join()
    if "error" in found:
        error = found["error"]
        where = found["layer"] or f"{type(error).__name__}: {error}"
        raise KerasFileError(f"{path}: {CONFIG} does not rebuild into a Keras model "
                             f"({where})")
    return (*found["sizes"], found["shapes"])


Shapes = dict[str, list[list[tuple[int, ...]]]]


def _first_bad_layer(config: dict) -> str | None:
    """The first layer of a model's ``config`` that does not rebuild on its own, with
    Keras's reason ("layer 'fc' (Dense): TypeError: ..."): Keras's message for the whole
    model ("Sequential could not be deserialized properly") names none. ``None`` when
    each layer rebuilds alone (the fault is in how they connect). Run inside the
    rebuild's scope: nothing is allocated."""
    import keras

    layers = config.get("config", {}).get("layers") if isinstance(config, dict) else None
    for entry in layers if isinstance(layers, list) else []:
        try:
            keras.saving.deserialize_keras_object(entry, safe_mode=True)
        except Exception as error:  # the layer's own constructor's or Keras's refusal
            inner = entry.get("config") if isinstance(entry, dict) else None
            name = inner.get("name") if isinstance(inner, dict) else None
            kind = entry.get("class_name") if isinstance(entry, dict) else None
            reason = str(error).rpartition("Exception encountered: ")[2]  # past the config
            return f"layer {name!r} ({kind}): {type(error).__name__}: {reason}"
    return None


def owned_shapes(model: Any) -> Shapes:
    """The shapes of ``model``'s variables by the name of the layer that owns them: for
    each layer of that name (a nested model may repeat one), its variables' shapes in the
    layer's order, the order Keras stores them in. (A variable's ``path`` names its layer
    last; the folders before it depend on how the model was built, so only that is kept.)
    """
    by_layer: dict[str, list[tuple[int, ...]]] = {}
    for variable in model.weights:
        by_layer.setdefault(variable.path.rpartition("/")[0], []).append(tuple(variable.shape))
    shapes: Shapes = {}
    for owner, owned in by_layer.items():
        shapes.setdefault(owner.rpartition("/")[2], []).append(owned)
    return shapes


def stored_shapes(file: Any) -> Shapes:
    """The shapes of the arrays in a Keras weights file (an open ``h5py.File``) by the name
    of the layer that owns them, as :func:`owned_shapes`: each layer's group holds a
    ``vars`` group named after the layer (its ``name`` attribute) with its arrays "0",
    "1", ...; a nested layer's group lies inside its owner's."""
    import h5py

    shapes: Shapes = {}
    pending = [file]
    while pending:  # a loop, not recursion: the groups may nest deep in a hostile file
        group = pending.pop()
        for key, item in group.items():
            if not isinstance(item, h5py.Group):
                continue
            name = item.attrs.get("name") if key == "vars" else None
            if isinstance(name, bytes):
                name = name.decode("utf-8", "replace")
            arrays = sorted((k for k in item if k.isdigit()), key=int)
            if isinstance(name, str) and arrays:
                shapes.setdefault(name, []).append(
                    [tuple(getattr(item[k], "shape", ())) for k in arrays])
            if key != "vars":
                pending.append(item)
    return shapes


def _shape_mismatch(path: str, member: zipfile.ZipInfo, expected: Shapes) -> str | None:
    """The first layer whose arrays in the weights member differ in shape (or number)
    from the model's, as a sentence; ``None`` if all agree or the member is unreadable.
    The member is read whole into memory: :func:`load` has bounded its size."""
    import h5py

    if not member.filename.endswith(".h5"):
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            data = _read_bounded(archive, member, member.file_size, path)
        with h5py.File(io.BytesIO(data), "r") as file:
            stored = stored_shapes(file)
    except (KerasFileError, OSError, ValueError, KeyError, TypeError, RuntimeError):
        return None
    for layer, shapes in expected.items():
        found = stored.get(layer, [])
        if sorted(found) != sorted(shapes):  # one layer of the name: as Keras orders them
            want, have = (shapes, found) if len(shapes) > 1 or len(found) > 1 else \
                (shapes[0], found[0] if found else "none")
            return (f"layer {layer!r} expects arrays of shapes {want} (from {CONFIG}); "
                    f"{member.filename} stores {have}")
    return None


def _class_names(config: Any) -> set[str]:
    """Every class a Keras config names (``class_name``, ``registered_name``), nested."""
    names, pending = set(), [config]
    while pending:  # a loop, not recursion: the JSON may nest as deep as the parser allows
        item = pending.pop()
        if isinstance(item, dict):
            names.update(item[key] for key in ("class_name", "registered_name")
                         if isinstance(item.get(key), str))
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return names


def load(path: str | os.PathLike) -> Any:
    """The Keras model in the ``.keras`` file at ``path``, read with ``safe_mode=True``
    after :func:`check_archive` and a bound on the weights' declared size."""
    import keras

    check_path("load", path)  # os.fspath's "expected str, bytes or os.PathLike object"
    config, weights = check_archive(path)
    path = os.fspath(path)
    if "Lambda" in _class_names(config):  # Keras's refusal advises safe_mode=False
        raise KerasFileError(f"{path}: holds a Lambda layer, whose code is stored as Python "
                             "bytecode, and the port never runs code from a file (even with "
                             "--stubs); if you trust the file, load it in Python "
                             "(keras.saving.load_model(path, safe_mode=False)) and call "
                             "nn_rosetta.porting.port(model, stubs=True)")
    needed, limit, shapes = _sizes(config, path)
    if needed > weights.file_size:  # the weights member holds every array, uncompressed
        raise KerasFileError(f"{path}: {CONFIG} describes a model of {needed} bytes of "
                             f"weights, but {weights.filename} declares only "
                             f"{weights.file_size}; refused before building it")
    if weights.file_size > MAX_RATIO * max(weights.compress_size, 1):
        raise KerasFileError(f"{path}: {weights.filename} declares {weights.file_size} bytes "
                             f"uncompressed from {weights.compress_size} stored, more than "
                             "deflate can expand; refused before decompressing")
    if weights.file_size > limit:
        raise KerasFileError(f"{path}: {weights.filename} declares {weights.file_size} bytes "
                             f"uncompressed; the model in {CONFIG} holds at most {limit}; "
                             "refused before decompressing")
    check_memory(path, "the Keras model's weights and its weights member, read whole",
                 needed + weights.file_size, KerasFileError)
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras's reader: h5py, zip and JSON errors of every kind
        mismatch = _shape_mismatch(path, weights, shapes)
        if mismatch is not None:  # Keras's own message prints the variables' values
            raise KerasFileError(f"{path}: the weights do not fit the model: {mismatch}"
                                 ) from None
        raise KerasFileError(f"{path}: Keras could not read the model "
                             f"({type(error).__name__}: {error})") from None


def read_example(path: str | os.PathLike) -> np.ndarray | dict[str, np.ndarray]:
    """The example batch of ``nn-rosetta port --input``: a NumPy ``.npy`` file, mapped
    rather than read (a header declaring more than the file holds is refused, not
    allocated), or a ``.npz`` of one array per model input, by input name, each member's
    declared size checked against what the archive holds before it is read; never
    unpickled."""
    check_path("read_example", path)  # os.fspath's "expected str, bytes or os.PathLike"
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isfile(path):  # a folder, /dev/zero, a pipe
        raise ValueError(f"--input {path}: not a file (a .npy or .npz of arrays)")
    if not os.path.isfile(path):
        link = dangling_link(path)
        raise ValueError(f"--input {path}: no such file" + (f": {link}" if link else ""))
    if zipfile.is_zipfile(path):
        return _read_archive(path)
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:  # not .npy, an object array, cut off
        raise ValueError(f"--input {path}: not a NumPy .npy array file ({error})") from None
    return np.array(array)


def _read_archive(path: str) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` by name (see :func:`read_example`)."""
    found = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                if not member.filename.endswith(".npy"):
                    raise ValueError(f"member {member.filename!r} is not a .npy array")
                with archive.open(member) as stream:
                    version = np.lib.format.read_magic(stream)
                    shape, _, dtype = _header(stream, version)
                    declared = math.prod(shape) * dtype.itemsize
                    if declared > member.file_size:
                        raise ValueError(f"member {member.filename!r} declares {declared} "
                                         f"bytes and holds {member.file_size}")
                    if dtype.hasobject:
                        raise ValueError(f"member {member.filename!r} holds Python objects")
                    stream.seek(0)
                    found[member.filename.removesuffix(".npy")] = \
                        np.lib.format.read_array(stream, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise ValueError(f"--input {path}: not a readable .npz of arrays ({error})") from None
    if not found:
        raise ValueError(f"--input {path}: the .npz holds no array")
    return found


def _header(stream: object, version: tuple[int, int]) -> tuple[tuple[int, ...], bool, np.dtype]:
    """A .npy header's (shape, fortran_order, dtype), by NumPy's public readers."""
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(stream)
    return np.lib.format.read_array_header_2_0(stream)


# What a port writes (and Python, importing model.py): what force=True may replace.
PORT_FILES = frozenset({"model.py", "weights.pt", "model.weights.h5", "model.safetensors",
                        "report.json", "__pycache__"})


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it: set it straight back
    os.umask(mask)
    return mask


def write_folder(directory: str | os.PathLike, files: dict[str, Callable[[str], None]], *,
                 force: bool = False) -> tuple[Path, ...]:
    """Write ``files`` (name → ``write(path)``) as the folder ``directory``, in one unit:
    into a temporary folder in the same parent, then renamed into place. Returns the
    written paths, in the order given."""
    check_path("save", directory)
    force = as_flag("save", "force", force)  # "yes" is no switch: refused, not read as True
    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target}: exists and is not a folder; nothing written")
    present = sorted(p.name for p in target.iterdir()) if target.is_dir() else []
    if present and not force:
        raise FileExistsError(f"{target}: the folder exists and is not empty ({len(present)} "
                              "entries); nothing written. Give another folder, or force=True "
                              "(nn-rosetta port --force) to replace a previous port")
    foreign = [name for name in present if name not in PORT_FILES]
    if foreign:
        raise FileExistsError(f"{target}: holds files a port did not write "
                              f"({', '.join(foreign[:5])}); nothing written or deleted, even "
                              "with force")
    parent = target.absolute().parent
    if (link := dangling_link(target)) is not None:  # mkdir said only "File exists"
        raise FileNotFoundError(f"{target}: the folder to write into goes through a link "
                                f"that leads nowhere: {link}; nothing written")
    if not parent.is_dir():
        existing = next(p for p in (parent, *parent.parents) if p.exists())
        if not existing.is_dir():  # mkdir said only "File exists"
            raise FileExistsError(f"{target}: {existing} is a file, not a folder; nothing "
                                  "written")
        parent.mkdir(parents=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    old = None
    try:
        mask = _umask()
        os.chmod(staging, 0o777 & ~mask)  # mkdtemp makes 0700: give the folder the umask's
        for name, write in files.items():
            write(os.fspath(staging / name))
            os.chmod(staging / name, 0o666 & ~mask)  # atomic writes make 0600 files
        if target.is_dir():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=parent))
            os.replace(target, old / "port")  # the previous port, kept until the new is in
        os.replace(staging, target)
    except BaseException:
        if old is not None and not target.exists():
            os.replace(old / "port", target)  # put the previous port back
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if old is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(old)
    return tuple(target / name for name in files)
