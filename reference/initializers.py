"""Weight initialisers: the starting point of training, drawn from a seeded generator.

Shape: every initialiser takes the kernel shape (fan_in, fan_out) of a Dense layer
(or (fan_out,) for a bias, whose fan_in is passed explicitly where it matters).
"""

from __future__ import annotations

import numpy as np


def glorot_uniform(shape: tuple[int, int], rng: np.random.Generator,
                   dtype: np.dtype = np.float64) -> np.ndarray:
    """U(−a, a) with a = √(6 / (fan_in + fan_out)): Keras's default ``kernel_initializer``."""
    fan_in, fan_out = shape
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def zeros(shape: tuple[int, ...], rng: np.random.Generator | None = None,
          dtype: np.dtype = np.float64) -> np.ndarray:
    """All zeros: Keras's default ``bias_initializer``."""
    return np.zeros(shape, dtype=dtype)
