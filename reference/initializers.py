"""Weight initialisers: the starting point of training, drawn from a seeded generator.

The two frameworks start a dense layer differently, which is why the parity suite always
copies weights across instead of drawing them:

* Keras's ``Dense``: kernel :func:`glorot_uniform`, bias :func:`zeros`.
* torch's ``nn.Linear``: weight and bias both :func:`torch_linear_default`,
  U(±1/√fan_in). For ``nn.Linear(3, 5)`` that is ±0.577 where Glorot gives ±0.866.

:func:`normal` and :func:`zeros` complete the set.

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


def torch_linear_default(shape: tuple[int, ...], rng: np.random.Generator,
                         dtype: np.dtype = np.float64, fan_in: int | None = None) -> np.ndarray:
    """U(−a, a) with a = 1/√fan_in: what torch's ``nn.Linear`` draws for weight and bias.

    ``nn.Linear.reset_parameters`` calls ``kaiming_uniform_(weight, a=√5)``, whose bound
    gain·√(3/fan_in) with gain = √(2/(1 + a²)) = √(1/3) is 1/√fan_in, and draws the bias
    from the same interval. ``fan_in`` defaults to ``shape[0]`` (a kernel (fan_in,
    fan_out)); a bias (fan_out,) must be told its layer's fan_in.
    """
    if fan_in is None:
        if len(shape) != 2:
            raise ValueError(f"torch_linear_default: pass fan_in for a shape {shape} that is "
                             "not a kernel (fan_in, fan_out)")
        fan_in = shape[0]
    limit = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def normal(shape: tuple[int, ...], rng: np.random.Generator, dtype: np.dtype = np.float64,
           mean: float = 0.0, stddev: float = 1.0) -> np.ndarray:
    """N(mean, stddev²) entrywise; N(0, 1) by default, as torch's ``nn.init.normal_``.

    (Keras's ``RandomNormal`` defaults to stddev = 0.05; the mirror passes it explicitly.)
    """
    return rng.normal(mean, stddev, size=shape).astype(dtype)


def zeros(shape: tuple[int, ...], rng: np.random.Generator | None = None,
          dtype: np.dtype = np.float64) -> np.ndarray:
    """All zeros: Keras's default ``bias_initializer``."""
    return np.zeros(shape, dtype=dtype)
