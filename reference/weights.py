"""Weight files: a spec model saved and loaded without any possibility of running code,
written atomically, read with memory bounded by the model, and checked by a checksum.

Format, version 2: an ``.npz`` file (NumPy's zip of ``.npy`` arrays, stored uncompressed)
holding

* ``meta``: one string, JSON: ``{"format": "nn-rosetta-weights", "version": 2,
  "model": "Sequential" (with its per-sample "input_shape"), "Model" (a graph, with its
  "graph") or "Layer" (one layer alone), "dtype": "float64", "layers": [{"kind":
  "Dense", "config": {…}, "arrays": {"W": [3, 5], "b": [5]}}, …], "sha256": "…"}``: per
  layer its kind (a name in ``reference.layers.LAYERS``), its ``config()`` (what
  ``from_config`` rebuilds it from) and the shape of each named parameter and state
  array (the layer protocol's ``parameters`` and ``state``; none for Flatten or Dropout);
  a graph's ``"graph"`` is ``reference.graphs.Model.wiring()``: its inputs (name,
  per-sample shape), each layer's name and the tensors it reads, in the order of
  ``layers``, and its outputs;
* one array per layer and name, called ``"{layer index}.{name}"`` (``0.W``, ``0.b``,
  ``2.W``, …); the spec's kernel W is (in, out).

A graph needs no new version: a Sequential's or a layer's file is what it was, and a
reader that predates graphs refuses a ``"Model"`` file by naming its kind.

Each layer class says which arrays a configuration makes, and of which shapes, without
building the layer (``Layer.array_shapes``, part of the layer protocol); that is what
lets the loader check a file's declarations before allocating anything.

``sha256`` is the SHA-256 of the canonical JSON of ``meta`` without it (sorted keys,
no spaces; a graph's wiring included) followed by, for each array in the order of
``layers``, its name, dtype, shape and raw C-order bytes: :func:`_checksum`. Any change
to a number or to the metadata is caught, beyond what the zip's CRC-32 of each member
already catches.

Why it is safe: the arrays are read from their ``.npy`` headers with
``allow_pickle=False`` semantics: only plain float32/float64 arrays are accepted, so no
pickle (whose ``__reduce__`` can call any function) is ever unpickled. Nothing else in the
file is executable: JSON and raw numbers.

Memory: nothing is read before its size is known to be the model's. The ``meta`` member
may be at most :data:`META_LIMIT` bytes; then every array member's declared size (its
zip entry, stored, not compressed, so it cannot expand) and its ``.npy`` header's shape
and dtype are checked against the model the metadata describes (and, given ``model``,
against that model) before its data is read. A file whose headers declare 7 TiB is
refused after reading a few hundred bytes, and a model that fits in the file but not
in the memory available now (``reference._validation.check_memory``) before any of it
is built.

Writes are atomic: the file is written to a temporary file in the same folder, flushed
and ``fsync``-ed, then moved over ``path`` with ``os.replace``; a write that fails midway
leaves the previous file as it was (``reference._files.atomic_write``, which the mirrors share).

Every failure raises :class:`WeightFileError` naming the file and what was wrong.

The mirrors keep their frameworks' own formats: ``torch_impl.weights`` (a ``state_dict``
file, loaded with ``weights_only=True``) and ``tf_impl.weights`` (a Keras
``.weights.h5``), with the same public names, the same atomic writes and each a
SHA-256 digest inside the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import zipfile
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from reference._files import WeightFileError, atomic_write, check_regular_file
from reference._validation import FLOAT_NAMES, check_memory, check_path, type_name
from reference.graphs import Model
from reference.layers import LAYERS, Layer, from_config
from reference.networks import Sequential

FORMAT = "nn-rosetta-weights"
VERSION = 2
META_LIMIT = 1 << 20  # bytes: the JSON of thousands of layers
_NPY_HEADER_LIMIT = 1 << 16  # NumPy writes headers of 128 bytes; it reads up to 10 000
_Model = Sequential | Model | Layer
MODELS = ("Sequential", "Model", "Layer")


def _arrays(layer: Layer) -> dict[str, np.ndarray]:
    return {**layer.parameters, **layer.state}


def _describe(layer: Layer) -> dict[str, Any]:
    kind = type(layer).__name__
    if LAYERS.get(kind) is not type(layer):
        raise TypeError(f"save_weights: layer {layer.name} of kind {kind} is not a spec layer "
                        "kind (reference.layers.LAYERS)")
    return {"kind": kind, "config": layer.config(),
            "arrays": {name: list(value.shape) for name, value in _arrays(layer).items()}}


def _layers(model: _Model, where: str = "load_weights") -> list[Layer]:
    if isinstance(model, Layer):
        return [model]
    if isinstance(model, Sequential | Model):
        return model.layers
    raise TypeError(f"{where}: model must be a reference.Sequential, a reference.Model or a "
                    f"reference layer, got {type_name(model)}")


def _kind(model: _Model) -> str:
    return "Layer" if isinstance(model, Layer) else type(model).__name__


def _dtype(model: _Model) -> str:
    dtype = model.dtype
    return "float64" if dtype is None else dtype.name


def _array_names(meta: dict[str, Any]) -> list[str]:
    return [f"{k}.{name}" for k, layer in enumerate(meta["layers"]) for name in layer["arrays"]]


def _checksum(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of ``meta`` (without its ``sha256``) and the arrays it lists, in order."""
    digest = hashlib.sha256()
    body = {key: value for key, value in meta.items() if key != "sha256"}
    digest.update(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    for name in _array_names(meta):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"\n{name} {array.dtype.str} {array.shape}\n".encode())
        digest.update(array.data)
    return digest.hexdigest()


def save_weights(model: _Model, path: str | os.PathLike) -> None:
    """Write ``model``'s architecture and exact weights to ``path`` (an ``.npz`` file),
    atomically."""
    layers = _layers(model, "save_weights")
    check_path("save_weights", path)
    meta = {"format": FORMAT, "version": VERSION, "model": _kind(model),
            "dtype": _dtype(model), "layers": [_describe(layer) for layer in layers]}
    if isinstance(model, Sequential):
        meta["input_shape"] = list(model.input_shape)
    if isinstance(model, Model):
        meta["graph"] = model.wiring()
    arrays = {f"{k}.{name}": value for k, layer in enumerate(layers)
              for name, value in _arrays(layer).items()}
    meta["sha256"] = _checksum(meta, arrays)

    def write(temporary: str) -> None:
        with open(temporary, "wb") as file:  # a file: np.savez would append ".npz" to a name
            np.savez(file, meta=np.array(json.dumps(meta)), **arrays)
            file.flush()

    atomic_write(path, write)


def _npy_header(path: str | os.PathLike, name: str,
                stream: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype]:
    """The shape, Fortran order and dtype an ``.npy`` member declares: no data read."""
    try:
        version = np.lib.format.read_magic(stream)
        reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        return reader(stream, max_header_size=_NPY_HEADER_LIMIT)
    except (ValueError, SyntaxError, TypeError, EOFError, OSError, zipfile.BadZipFile) as error:
        raise WeightFileError(f"{path}: member {name!r} has no valid .npy header "
                              f"({error})") from None


# What zipfile raises on a damaged member: a flipped byte in the zip directory reads as a
# newer zip version or an unknown method (NotImplementedError), encryption (RuntimeError).
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError)


def _read_member(path: str | os.PathLike, archive: zipfile.ZipFile, name: str,
                 shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """The array ``name``, after its zip entry and ``.npy`` header declared ``shape`` and
    ``dtype``: at most the model's own bytes are ever read."""
    nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    info = archive.getinfo(f"{name}.npy")
    if info.compress_type != zipfile.ZIP_STORED or info.file_size > nbytes + _NPY_HEADER_LIMIT:
        raise WeightFileError(f"{path}: member {name!r} declares {info.file_size} bytes "
                              f"(compression {info.compress_type}); the model's {dtype} "
                              f"array of shape {shape} takes {nbytes}, stored uncompressed")
    try:
        with archive.open(info) as stream:
            found_shape, fortran, found_dtype = _npy_header(path, name, stream)
            if found_dtype.hasobject:
                raise WeightFileError(f"{path}: {name} refused: it holds pickled Python "
                                      "objects, and unpickling can run code")
            if found_shape != shape or found_dtype != np.dtype(dtype):  # byte order too
                raise WeightFileError(f"{path}: {name} should be {dtype} of shape {shape}, "
                                      f"found {found_dtype.name} ({found_dtype.str}) of shape "
                                      f"{found_shape}")
            data = stream.read(nbytes)
            if len(data) != nbytes or stream.read(1):  # reading to the end checks the CRC
                raise WeightFileError(f"{path}: {name} holds {len(data)} bytes of data where "
                                      f"its header declares {nbytes}: truncated or padded")
    except _ZIP_ERRORS as error:  # "Bad CRC-32", a cut stream, a mutated zip directory
        raise WeightFileError(f"{path}: member {name!r} is corrupted ({error})") from None
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return np.ascontiguousarray(array)


def _read_meta(path: str | os.PathLike, archive: zipfile.ZipFile) -> dict[str, Any]:
    info = next((i for i in archive.infolist() if i.filename == "meta.npy"), None)
    if info is None:
        raise WeightFileError(f"{path}: no 'meta' string: not a {FORMAT} file")
    if info.file_size > META_LIMIT or info.compress_type != zipfile.ZIP_STORED:
        raise WeightFileError(f"{path}: 'meta' declares {info.file_size} bytes (compression "
                              f"{info.compress_type}); at most {META_LIMIT}, uncompressed")
    try:
        with archive.open(info) as stream:
            shape, _, dtype = _npy_header(path, "meta", stream)
            if shape != () or dtype.kind != "U":
                raise WeightFileError(f"{path}: 'meta' should be one string, found "
                                      f"{dtype.str} of shape {shape}: not a {FORMAT} file")
            data = stream.read(dtype.itemsize)
            stream.read(1)
    except _ZIP_ERRORS as error:
        raise WeightFileError(f"{path}: member 'meta' is corrupted ({error})") from None
    if len(data) != dtype.itemsize:
        raise WeightFileError(f"{path}: 'meta' is truncated")
    try:
        meta = json.loads(str(np.frombuffer(data, dtype=dtype)[0]))
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as error:
        raise WeightFileError(f"{path}: 'meta' is not valid JSON ({error})") from None
    return _check_meta(path, meta)


def _is_shape(shape: object, any_length: bool = False) -> bool:
    """A list of positive integers (``any_length``: or None, an axis of any length)."""
    return isinstance(shape, list) and len(shape) <= 8 and all(
        (any_length and n is None) or (type(n) is int and n >= 1) for n in shape)


def _check_meta(path: str | os.PathLike, meta: object) -> dict[str, Any]:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise WeightFileError(f"{path}: not a {FORMAT} file")
    if meta.get("version") != VERSION:
        raise WeightFileError(f"{path}: format version {meta.get('version')!r}; this "
                              f"nn-rosetta reads version {VERSION}")
    if meta.get("model") not in MODELS or meta.get("dtype") not in FLOAT_NAMES:
        raise WeightFileError(f"{path}: model {meta.get('model')!r} with dtype "
                              f"{meta.get('dtype')!r}; expected {', '.join(MODELS)}, float32 "
                              "or float64")
    if not isinstance(meta.get("sha256"), str):
        raise WeightFileError(f"{path}: no 'sha256' checksum in the metadata")
    if meta["model"] == "Sequential" and not _is_shape(meta.get("input_shape"),
                                                       any_length=True):
        raise WeightFileError(f"{path}: 'input_shape' {meta.get('input_shape')!r} is no "
                              "per-sample shape")
    if meta["model"] == "Model" and not isinstance(meta.get("graph"), dict):
        raise WeightFileError(f"{path}: a Model without its 'graph' (the wiring)")
    layers = meta.get("layers")
    keys = {"kind", "config", "arrays"}
    if not isinstance(layers, list) or not layers or \
            any(not isinstance(d, dict) or set(d) != keys for d in layers) or \
            (meta["model"] == "Layer" and len(layers) != 1):
        raise WeightFileError(f"{path}: 'layers' must list each layer's {sorted(keys)}")
    for k, layer in enumerate(layers):
        shapes = layer["arrays"]
        if layer["kind"] not in LAYERS or not isinstance(layer["config"], dict) or \
                not isinstance(shapes, dict) or not all(map(_is_shape, shapes.values())):
            raise WeightFileError(f"{path}: layer {k}: kind {layer['kind']!r} with arrays "
                                  f"{shapes!r}; expected a kind of {sorted(LAYERS)} "
                                  "and positive integer shapes")
    return meta


def _build(path: str | os.PathLike, meta: dict[str, Any]) -> _Model:
    """The model the metadata describes: every configuration checked (activation names
    and parameters included) at load, not at the first forward pass; and first, the
    array shapes each configuration makes against those the file declares and holds."""
    declared = sum(math.prod(shape) for layer in meta["layers"]
                   for shape in layer["arrays"].values())
    size = os.path.getsize(path)
    if declared * np.dtype(meta["dtype"]).itemsize > size:
        raise WeightFileError(f"{path}: declares {declared} {meta['dtype']} numbers, more "
                              f"than its {size} bytes can hold")
    # the model built from the file, the arrays read from it, and one array's copy in set()
    largest = max((math.prod(shape) for layer in meta["layers"]
                   for shape in layer["arrays"].values()), default=0)
    check_memory(f"load_weights: {path}", "the model it describes and its arrays read",
                 (2 * declared + largest) * np.dtype(meta["dtype"]).itemsize, WeightFileError)
    for k, layer in enumerate(meta["layers"]):
        try:
            shapes = LAYERS[layer["kind"]].array_shapes(layer["config"])
        except (KeyError, TypeError) as error:
            raise WeightFileError(f"{path}: layer {k}: configuration {layer['config']!r} "
                                  f"({type(error).__name__}: {error})") from None
        if shapes != layer["arrays"]:
            raise WeightFileError(f"{path}: layer {k}: the file declares the arrays "
                                  f"{layer['arrays']}, its configuration makes {shapes}")
    try:
        layers = [from_config(d["kind"], d["config"]) for d in meta["layers"]]
        if meta["model"] == "Layer":
            return layers[0]
        if meta["model"] == "Model":
            return Model.from_wiring(meta["graph"], layers)
        return Sequential(layers, input_shape=meta["input_shape"])
    except (TypeError, ValueError, KeyError) as error:
        raise WeightFileError(f"{path}: describes no valid model: {error}") from None


def _check_fits(path: str | os.PathLike, meta: dict[str, Any], model: _Model,
                built: _Model) -> None:
    """``model`` must be the model the file describes (``built`` from it): same layers,
    configurations, array shapes, dtype and input shape."""
    layers, found = _layers(model), _layers(built)
    if _kind(model) != meta["model"] or len(layers) != len(found):
        raise WeightFileError(f"{path}: holds a {meta['model']} of {len(found)} layer(s), "
                              f"the model is a {_kind(model)} of {len(layers)}")
    for k, (layer, other) in enumerate(zip(layers, found, strict=True)):
        expected = {**_describe(layer), "dtype": _dtype(model)}
        described = {**_describe(other), "dtype": meta["dtype"]}
        if described != expected:
            raise WeightFileError(f"{path}: layer {k} ({layer.name}) does not match: the model "
                                  f"has {expected}, the file {described}")
    if isinstance(model, Model):  # the inputs' shapes first: the wiring dump hides them
        takes = {t.name: tuple(t.shape) for t in model.inputs}
        made = {t.name: tuple(t.shape) for t in built.inputs}
        if takes.keys() == made.keys() and takes != made:
            raise WeightFileError(f"{path}: made for inputs of shape {made}, the model "
                                  f"takes {takes}")
    if isinstance(model, Model) and model.wiring() != built.wiring():
        raise WeightFileError(f"{path}: wires its layers otherwise: the model has "
                              f"{model.wiring()}, the file {built.wiring()}")
    if isinstance(model, Sequential) and model.input_shape != built.input_shape:
        raise WeightFileError(f"{path}: made for inputs of shape {built.input_shape}, the "
                              f"model takes {model.input_shape}")


@contextlib.contextmanager
def _archive(path: str | os.PathLike) -> Iterator[zipfile.ZipFile]:
    try:
        archive = zipfile.ZipFile(path)
    except OSError as error:
        raise WeightFileError(f"{path}: unreadable ({error})") from None
    except (*_ZIP_ERRORS, ValueError) as error:  # a mutated directory: version, method
        raise WeightFileError(f"{path}: not an .npz weight file: its zip structure is "
                              f"missing or damaged ({error})") from None
    with archive:
        yield archive


def load_weights(path: str | os.PathLike, model: _Model | None = None) -> _Model:
    """The model saved in ``path``: a new one, or ``model`` with the file's weights.

    Raises :class:`WeightFileError` on a malformed, corrupted or truncated file, a file
    whose checksum does not match, or (given ``model``) a file describing another
    architecture. Nothing is modified before every check passed.
    """
    check_path("load_weights", path)
    check_regular_file(path)
    if model is not None:
        _layers(model)  # a TypeError for what is no spec model
    with _archive(path) as archive:
        meta = _read_meta(path, archive)
        built = _build(path, meta)  # validates every configuration
        if model is not None:
            _check_fits(path, meta, model, built)
        expected = set(_array_names(meta)) | {"meta"}
        found = {name.removesuffix(".npy") for name in archive.namelist()}
        if found != expected:
            raise WeightFileError(f"{path}: expected the arrays {sorted(expected)}, found "
                                  f"{sorted(found)}")
        arrays = {f"{k}.{name}": _read_member(path, archive, f"{k}.{name}", tuple(shape),
                                              meta["dtype"])
                  for k, layer in enumerate(meta["layers"])
                  for name, shape in layer["arrays"].items()}
    if _checksum(meta, arrays) != meta["sha256"]:
        raise WeightFileError(f"{path}: checksum mismatch: the file was changed or corrupted "
                              "after it was written")
    target = built if model is None else model
    for k, layer in enumerate(_layers(target)):
        for name in meta["layers"][k]["arrays"]:
            layer.set(name, arrays[f"{k}.{name}"])
    return target
