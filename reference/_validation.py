"""Input checks shared by the spec and, through shape tuples, by both mirrors.

The policy, once for the whole project:

* A model has one floating dtype (float64 by default, as in NumPy). An input in the
  *other* floating dtype is refused with a ``TypeError``: a silent cast would hide a
  precision change from the reader.
* Integer and boolean inputs (the notes' XOR data is integer) are converted to the
  model's floating dtype, explicitly, before any arithmetic.
* Shapes must match exactly; nothing is broadcast by accident. A shape error names
  where it happened, the shape that was expected and the shape that was received.

The shape checks take plain tuples, so the torch and TF mirrors reuse them on
``tensor.shape`` without any NumPy computation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_dtype(dtype: object) -> np.dtype:
    """Return ``dtype`` as a NumPy floating dtype, refusing anything but float32/64."""
    resolved = np.dtype(getattr(dtype, "name", dtype))
    if resolved not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {resolved}")
    return resolved


def as_float_array(value: object, dtype: np.dtype | None, where: str, what: str) -> np.ndarray:
    """Convert ``value`` to an array of the floating ``dtype``, following the policy above.

    ``dtype=None`` keeps a floating input's own dtype and gives integers float64.
    """
    array = np.asarray(value)
    if array.dtype.kind in "biu":
        return array.astype(dtype if dtype is not None else np.float64)
    if array.dtype.kind != "f" or array.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{where}: {what} must be a float32/float64 or integer array, "
                        f"got dtype {array.dtype}")
    if dtype is not None and array.dtype != dtype:
        raise TypeError(f"{where}: {what} has dtype {array.dtype} but {where} computes in "
                        f"{np.dtype(dtype)}; convert it explicitly (e.g. x.astype(np.{dtype})) "
                        "so the change of precision is visible")
    return array


def check_shape(where: str, what: str, received: Sequence[int],
                expected: Sequence[int | None]) -> None:
    """Raise ``ValueError`` unless ``received`` matches ``expected`` (``None`` = any size)."""
    received = tuple(int(n) for n in received)
    if len(received) != len(expected) or any(
        e is not None and r != e for r, e in zip(received, expected, strict=False)
    ):
        shown = "(" + ", ".join("N" if e is None else str(e) for e in expected)
        shown += ",)" if len(expected) == 1 else ")"
        raise ValueError(f"{where}: {what} must have shape {shown}, got {received}")


def check_same_shape(where: str, y_true_shape: Sequence[int],
                     y_pred_shape: Sequence[int]) -> None:
    """Refuse targets and predictions of different shapes, (N, 1) against (N,) included.

    torch's ``mse_loss`` broadcasts those two to (N, N) with only a warning; here that
    is an error.
    """
    y_true_shape, y_pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
    if y_true_shape != y_pred_shape:
        raise ValueError(f"{where}: y_true has shape {y_true_shape} but y_pred has shape "
                         f"{y_pred_shape}; they must match exactly (nothing is broadcast)")
    if len(y_pred_shape) == 0:
        raise ValueError(f"{where}: expected a batch dimension, got a scalar")
