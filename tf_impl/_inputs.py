"""Turning user data (NumPy arrays, lists or tensors) into tensors under the spec's dtype policy.

Integer data (the notes' XOR table) becomes floating; a float tensor of the other float
dtype is refused, as ``reference._validation`` refuses it, rather than cast silently.
This is data plumbing: nothing is computed here.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from reference._validation import as_float_array


def as_float_tensor(value: object, dtype: tf.DType | None, where: str, what: str) -> tf.Tensor:
    """``value`` as a float tensor of ``dtype`` (``None``: keep a float dtype, ints → float64)."""
    if tf.is_tensor(value) or isinstance(value, tf.Variable):
        if not value.dtype.is_floating:
            return tf.cast(value, dtype or tf.float64)
        if dtype is not None and value.dtype != dtype:
            raise TypeError(f"{where}: {what} has dtype {value.dtype.name} but {where} computes "
                            f"in {dtype.name}; convert it explicitly so the change of precision "
                            "is visible")
        return tf.convert_to_tensor(value)
    numpy_dtype = None if dtype is None else np.dtype(dtype.as_numpy_dtype)
    array = as_float_array(value, numpy_dtype, where, what)
    return tf.constant(array)
