"""Weight files: a spec model saved and loaded without any possibility of running code.

Format, version 1: an ``.npz`` file (NumPy's zip of ``.npy`` arrays) holding

* ``meta``: one string, JSON: ``{"format": "nn-rosetta-weights", "version": 1,
  "model": "Sequential" or "Dense", "dtype": "float64", "layers": [{"in_features": 3,
  "out_features": 5, "activation": "sigmoid", "params": {}}, …]}``;
* ``W0``, ``b0``, ``W1``, ``b1``, …: each layer's kernel, shape (in, out), and bias.

Why it is safe: the file is read with ``np.load(path, allow_pickle=False)``, so NumPy
itself refuses any array of Python objects, the only place an ``.npy`` can hold a pickle
(and a pickle's ``__reduce__`` can call any function). Nothing else in the file is
executable: JSON and raw numbers.

What is checked on load, before a model is built: the format name and version, that the
arrays are exactly those the metadata announces, each array's shape and dtype against
the metadata, consecutive widths, and the activations' names and parameters. Given a
``model``, the file must also describe that model's architecture: same layers, widths,
activations and dtype. Any mismatch raises :class:`WeightFileError` naming the file, the
layer, what was expected and what was found.

The mirrors keep their frameworks' own formats: ``torch_impl.weights`` (a ``state_dict``
file, loaded with ``weights_only=True``) and ``tf_impl.weights`` (a Keras
``.weights.h5``), with the same public names.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np

from reference import activations
from reference._validation import FLOAT_NAMES
from reference.layers import Dense
from reference.networks import Sequential

FORMAT = "nn-rosetta-weights"
VERSION = 1
_Model = Sequential | Dense


class WeightFileError(ValueError):
    """A weight file that is unsafe, malformed, or does not describe the expected model."""


def _describe(layer: Dense) -> dict[str, Any]:
    return {"in_features": layer.in_features, "out_features": layer.out_features,
            "activation": layer.activation.name, "params": dict(layer.activation.params)}


def _layers(model: _Model) -> list[Dense]:
    if isinstance(model, Dense):
        return [model]
    if isinstance(model, Sequential):
        others = [f"{k}: {layer.name}" for k, layer in enumerate(model.layers)
                  if not isinstance(layer, Dense)]
        if others:
            raise TypeError(f"weight files (format {VERSION}) hold Dense layers only; got "
                            f"{others}")
        return model.layers
    raise TypeError(f"expected a reference.Sequential or reference.Dense, got "
                    f"{type(model).__name__}")


def save_weights(model: _Model, path: str | os.PathLike) -> None:
    """Write ``model``'s architecture and exact weights to ``path`` (an ``.npz`` file)."""
    layers = _layers(model)
    meta = {"format": FORMAT, "version": VERSION, "model": type(model).__name__,
            "dtype": layers[0].dtype.name, "layers": [_describe(layer) for layer in layers]}
    arrays = {"meta": np.array(json.dumps(meta))}
    for k, layer in enumerate(layers):
        arrays[f"W{k}"], arrays[f"b{k}"] = layer.W, layer.b
    with open(path, "wb") as file:  # a file object: np.savez would append ".npz" to a name
        np.savez(file, **arrays)


def _read(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array in the file, refusing pickles and anything that is not an ``.npz``."""
    unsafe = (f"{path}: refused: it holds pickled Python objects, and unpickling can run "
              "code")
    try:
        archive = np.load(path, allow_pickle=False)
    except ValueError as error:  # neither .npy nor .npz: NumPy would have to unpickle it
        raise WeightFileError(f"{unsafe} ({error})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise WeightFileError(f"{path}: unreadable as an .npz weight file ({error})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise WeightFileError(f"{path}: a single array, not an .npz weight file")
    with archive:
        try:
            return {name: archive[name] for name in archive.files}
        except ValueError as error:  # "Object arrays cannot be loaded when allow_pickle=False"
            raise WeightFileError(f"{unsafe} ({error})") from None


def _meta(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    raw = arrays.get("meta")
    if raw is None or raw.dtype.kind != "U" or raw.shape != ():
        raise WeightFileError(f"{path}: no 'meta' string: not a {FORMAT} file")
    try:
        meta = json.loads(str(raw))
    except json.JSONDecodeError as error:
        raise WeightFileError(f"{path}: 'meta' is not valid JSON ({error})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise WeightFileError(f"{path}: not a {FORMAT} file")
    if meta.get("version") != VERSION:
        raise WeightFileError(f"{path}: format version {meta.get('version')!r}; this "
                              f"nn-rosetta reads version {VERSION}")
    if meta.get("model") not in ("Sequential", "Dense") or meta.get("dtype") not in FLOAT_NAMES:
        raise WeightFileError(f"{path}: model {meta.get('model')!r} with dtype "
                              f"{meta.get('dtype')!r}; expected Sequential or Dense, float32 "
                              "or float64")
    layers = meta.get("layers")
    keys = {"in_features", "out_features", "activation", "params"}
    if not isinstance(layers, list) or not layers or \
            any(not isinstance(d, dict) or set(d) != keys for d in layers) or \
            (meta["model"] == "Dense" and len(layers) != 1):
        raise WeightFileError(f"{path}: 'layers' must list each layer's {sorted(keys)}")
    return meta


def _check_arrays(path: str | os.PathLike, meta: dict[str, Any],
                  arrays: dict[str, np.ndarray]) -> None:
    expected_names = {"meta"} | {f"{p}{k}" for k in range(len(meta["layers"])) for p in "Wb"}
    if set(arrays) != expected_names:
        raise WeightFileError(f"{path}: expected the arrays {sorted(expected_names)}, found "
                              f"{sorted(arrays)}")
    for k, layer in enumerate(meta["layers"]):
        shapes = {f"W{k}": (layer["in_features"], layer["out_features"]),
                  f"b{k}": (layer["out_features"],)}
        for name, shape in shapes.items():
            array = arrays[name]
            if array.shape != shape or array.dtype.name != meta["dtype"]:
                raise WeightFileError(f"{path}: layer {k}: {name} should be {meta['dtype']} "
                                      f"of shape {shape}, found {array.dtype.name} of shape "
                                      f"{array.shape}")


def _build(path: str | os.PathLike, meta: dict[str, Any]) -> _Model:
    try:
        layers = [Dense(d["in_features"], d["out_features"],
                        activations.get(d["activation"], **d["params"]), dtype=meta["dtype"])
                  for d in meta["layers"]]
        return layers[0] if meta["model"] == "Dense" else Sequential(layers)
    except (TypeError, ValueError) as error:
        raise WeightFileError(f"{path}: describes no valid model: {error}") from None


def _check_fits(path: str | os.PathLike, meta: dict[str, Any], model: _Model) -> None:
    layers = _layers(model)
    if type(model).__name__ != meta["model"] or len(layers) != len(meta["layers"]):
        raise WeightFileError(f"{path}: holds a {meta['model']} of {len(meta['layers'])} "
                              f"layer(s), the model is a {type(model).__name__} of "
                              f"{len(layers)}")
    for k, (layer, found) in enumerate(zip(layers, meta["layers"], strict=True)):
        expected = {**_describe(layer), "dtype": layer.dtype.name}
        found = {**found, "dtype": meta["dtype"]}
        if found != expected:
            raise WeightFileError(f"{path}: layer {k} ({layer.name}) does not match: the model "
                                  f"has {expected}, the file {found}")


def load_weights(path: str | os.PathLike, model: _Model | None = None) -> _Model:
    """The model saved in ``path``: a new one, or ``model`` with the file's weights.

    Raises :class:`WeightFileError` on a pickle, a malformed file, or (given ``model``) a
    file describing another architecture; nothing is modified before every check passed.
    """
    arrays = _read(path)
    meta = _meta(path, arrays)
    _check_arrays(path, meta, arrays)
    if model is None:
        model = _build(path, meta)
    else:
        _check_fits(path, meta, model)
    for k, layer in enumerate(_layers(model)):
        layer.W, layer.b = arrays[f"W{k}"], arrays[f"b{k}"]
    return model
