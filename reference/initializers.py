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

import math

import numpy as np

from reference._validation import (
    as_dtype,
    as_shape,
    check_count,
    check_instance,
    check_memory,
    check_real,
)


def check_arguments(where: str, shape: object, dtype: object, *, kernel: bool = False,
                    fan_in: object = None, mean: object = 0.0,
                    stddev: object = 1.0) -> tuple[int, ...]:
    """An initialiser's arguments, the same in the spec and both mirrors, before anything
    is drawn: ``shape`` a tuple of positive integers ((fan_in, fan_out) for a ``kernel``)
    whose array fits in memory, ``dtype`` float32 or float64, ``fan_in`` a positive
    integer or None, ``mean`` finite and ``stddev`` finite and ≥ 0. Unchecked, a shape
    of 2**31 rows grew the process until the OOM killer ended it, a ``stddev`` of NaN
    drew an array of NaN, and a float ``fan_in`` or a dtype of int64 went through."""
    shape = as_shape(where, "shape", shape)
    if kernel and len(shape) != 2:
        raise ValueError(f"{where}: shape must be a kernel's (fan_in, fan_out), got {shape}")
    as_dtype(dtype, where)
    check_count(where, "fan_in", fan_in, 1, none_means="shape[0], a kernel's fan_in")
    check_real(where, "mean", mean, -math.inf)
    check_real(where, "stddev", stddev)
    check_memory(where, f"an array of shape {shape}", 8 * math.prod(shape))
    return shape


def _generator(where: str, rng: object, optional: bool = False) -> None:
    kinds = (np.random.Generator, type(None)) if optional else np.random.Generator
    check_instance(where, "rng", rng, kinds, "a numpy.random.Generator" +
                   (" or None" if optional else "") + " (np.random.default_rng(seed))")


def glorot_uniform(shape: tuple[int, int], rng: np.random.Generator,
                   dtype: np.dtype = np.float64) -> np.ndarray:
    """U(−a, a) with a = √(6 / (fan_in + fan_out)): Keras's default ``kernel_initializer``."""
    shape = check_arguments("glorot_uniform", shape, dtype, kernel=True)
    _generator("glorot_uniform", rng)
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
    shape = check_arguments("torch_linear_default", shape, dtype, kernel=fan_in is None,
                            fan_in=fan_in)
    _generator("torch_linear_default", rng)
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
    shape = check_arguments("normal", shape, dtype, mean=mean, stddev=stddev)
    _generator("normal", rng)
    return rng.normal(mean, stddev, size=shape).astype(dtype)


def zeros(shape: tuple[int, ...], rng: np.random.Generator | None = None,
          dtype: np.dtype = np.float64) -> np.ndarray:
    """All zeros: Keras's default ``bias_initializer``."""
    shape = check_arguments("zeros", shape, dtype)
    _generator("zeros", rng, optional=True)
    return np.zeros(shape, dtype=dtype)
