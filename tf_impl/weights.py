"""Weight files the Keras way: ``model.save_weights`` / ``model.load_weights`` on a
``.weights.h5`` file.

Same public names as ``reference.weights``. The file is HDF5 with one dataset per
variable (kernels (in, out), like the spec's W), grouped by layer; Keras requires the
``.weights.h5`` suffix. It holds no architecture, so the weights are loaded *into* a
model of the right shape, e.g. one made by ``from_reference``.

Safety: HDF5 datasets are raw numbers read by h5py; nothing is unpickled or executed.

Checks on load (``@checked``): Keras itself refuses a file whose variables do not fit the model's
shapes, naming the layer. It would, however, cast a float32 file into a float64 model
silently; every dataset's dtype is therefore checked against the model's first.
"""

from __future__ import annotations

import os

import h5py
import keras

from reference._validation import dtype_name
from reference.weights import WeightFileError
from tf_impl._inputs import checked


def save_weights(model: keras.Model, path: str | os.PathLike) -> None:
    """``model.save_weights(path)``; ``path`` must end in ``.weights.h5``."""
    model.save_weights(path)


def _dataset_dtypes(path: str | os.PathLike) -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        with h5py.File(path, "r") as file:
            file.visititems(lambda name, item: found.__setitem__(name, item.dtype.name)
                            if isinstance(item, h5py.Dataset) else None)
    except OSError as error:
        raise WeightFileError(f"{path}: unreadable as a Keras .weights.h5 file "
                              f"({error})") from None
    return found


def _weights_file(where: str, path: str | os.PathLike, model: keras.Model) -> None:
    """Every dataset of the file has the model's dtype (Keras would cast it silently)."""
    wanted = {dtype_name(v.dtype) for v in model.weights}
    for name, dtype in _dataset_dtypes(path).items():
        if {dtype} != wanted:
            raise WeightFileError(f"{path}: {name} is {dtype}, the model computes in "
                                  f"{', '.join(sorted(wanted))}")


@checked(_weights_file)
def load_weights(path: str | os.PathLike, model: keras.Model) -> keras.Model:
    """``model`` with the weights of the ``.weights.h5`` file at ``path``, checked first."""
    model.load_weights(path)
    return model
