"""Weight files the Keras way: ``model.save_weights`` / ``model.load_weights`` on a
``.weights.h5`` file.

Same public names as ``reference.weights``. The file is HDF5 with one dataset per
variable (kernels (in, out), like the spec's W), grouped by layer; Keras requires the
``.weights.h5`` suffix. It holds no architecture, so the weights are loaded *into* a
model of the right shape, e.g. one made by ``from_reference``.

Safety: HDF5 datasets are raw numbers read by h5py; nothing is unpickled or executed.

Checks on load (``@checked``), from the HDF5 metadata alone, before any number is read:
the file must
hold exactly the datasets the model itself writes (found by saving the model to a
temporary file), each with the model's shape and dtype. Keras alone would take a
3-5-2-2 file into a 3-5-2 model, ignore an extra layer group, and cast a float32 file
into a float64 model silently; and since only the model's own shapes are accepted, a
hostile header declaring a 1 GiB kernel costs nothing.

Integrity: ``save_weights`` stores the SHA-256 of every dataset (path, dtype, shape,
bytes) in the file's root attribute ``nn_rosetta_sha256``, which Keras ignores.
``load_weights`` checks it before Keras reads the file: truncation, a changed byte or a
file without the digest (written by ``model.save_weights`` alone) is a
:class:`WeightFileError` naming the file. Writes are atomic
(``reference._files.atomic_write``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile

import h5py
import keras
import numpy as np

from reference._files import atomically, check_regular_file
from reference._validation import check_model, check_path
from reference.weights import WeightFileError
from tf_impl._inputs import checked

DIGEST = "nn_rosetta_sha256"
_SUFFIX = ".weights.h5"


def _datasets(file: h5py.File) -> dict[str, h5py.Dataset]:
    found: dict[str, h5py.Dataset] = {}
    file.visititems(lambda name, item: found.__setitem__(name, item)
                    if isinstance(item, h5py.Dataset) else None)
    return found


def _digest(file: h5py.File) -> str:
    digest = hashlib.sha256()
    for name, dataset in sorted(_datasets(file).items()):
        digest.update(f"\n{name} {dataset.dtype.str} {dataset.shape}\n".encode())
        digest.update(np.ascontiguousarray(dataset[()]).tobytes())
    return digest.hexdigest()


def _add_digest(path: str) -> None:
    with h5py.File(path, "r+") as file:
        file.attrs[DIGEST] = _digest(file)


def _built(where: str, model: keras.Model) -> None:
    """A model with its variables: Keras's own save of an unbuilt one says "saving" even
    when loading."""
    if not model.built:
        raise ValueError(f"{where}: the Keras model {model.name!r} is not built, so it has "
                         "no weights yet; call it on a batch or model.build(input_shape) first")


@atomically((keras.Model, "a keras.Model"), finish=_add_digest, suffix=_SUFFIX, ready=_built)
def save_weights(model: keras.Model, path: str | os.PathLike) -> None:
    """``model.save_weights(path)``, written atomically with its digest (``@atomically``);
    ``path`` must end in ``.weights.h5``."""
    model.save_weights(path)


def _layout(model: keras.Model) -> dict[str, tuple[tuple[int, ...], str]]:
    """Each dataset the model writes: path → (shape, dtype), from a save to a temporary
    file (Keras names the groups by the layers' classes, in order)."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"layout{_SUFFIX}")
        model.save_weights(path)
        with h5py.File(path, "r") as file:
            return {name: (d.shape, d.dtype.name) for name, d in _datasets(file).items()}


def _weights_file(where: str, path: str | os.PathLike, model: keras.Model) -> None:
    """The file holds exactly the model's datasets, shapes and dtypes, and its digest."""
    check_model(where, model, keras.Model, "a keras.Model")
    _built(where, model)
    check_path(where, path)
    check_regular_file(path)
    expected = _layout(model)
    try:
        with h5py.File(path, "r") as file:
            found = {name: (d.shape, d.dtype.name) for name, d in _datasets(file).items()}
            missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
            if missing or extra:
                raise WeightFileError(f"{path}: does not hold the model's variables: missing "
                                      f"{missing}, unexpected {extra} (the model has "
                                      f"{len(expected)} variables, the file {len(found)})")
            for name, (shape, dtype) in expected.items():
                if found[name] != (shape, dtype):
                    raise WeightFileError(f"{path}: {name} should be {dtype} of shape {shape} "
                                          f"as in the model, found {found[name][1]} of shape "
                                          f"{found[name][0]}")
            stored = file.attrs.get(DIGEST)
            if not isinstance(stored, str):
                raise WeightFileError(f"{path}: no {DIGEST} attribute: not written by "
                                      "tf_impl.save_weights, so its integrity cannot be checked")
            if _digest(file) != stored:
                raise WeightFileError(f"{path}: checksum mismatch: the file was changed or "
                                      "corrupted after it was written")
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as error:
        if isinstance(error, WeightFileError):
            raise
        raise WeightFileError(f"{path}: unreadable as a Keras .weights.h5 file: not HDF5, "
                              f"truncated or corrupted ({error})") from None


@checked(_weights_file)
def load_weights(path: str | os.PathLike, model: keras.Model) -> keras.Model:
    """``model`` with the weights of the ``.weights.h5`` file at ``path``, checked first."""
    model.load_weights(path)
    return model
