"""Turning user data (NumPy arrays, lists or tensors) into tensors under the spec's dtype policy.

Integer data (the notes' XOR table) becomes floating; a float tensor of the other float
dtype is refused, as ``reference._validation`` refuses it, rather than cast silently.
This is data plumbing: nothing is computed here.
"""

from __future__ import annotations

import numpy as np
import torch

from reference._validation import as_float_array

_NUMPY = {torch.float64: np.dtype(np.float64), torch.float32: np.dtype(np.float32)}


def as_float_tensor(value: object, dtype: torch.dtype | None, where: str,
                    what: str) -> torch.Tensor:
    """``value`` as a float tensor of ``dtype`` (``None``: keep a float dtype, ints → float64)."""
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point():
            return value.to(dtype or torch.float64)
        if dtype is not None and value.dtype != dtype:
            raise TypeError(f"{where}: {what} has dtype {value.dtype} but {where} computes in "
                            f"{dtype}; convert it explicitly so the change of precision is visible")
        return value
    array = as_float_array(value, None if dtype is None else _NUMPY[dtype], where, what)
    return torch.tensor(array)  # a copy: keeps the dtype, the shape (0-d too) and the data safe
