"""The spec's initialisers with ``keras.initializers``, by the same names.

Keras's own default for a dense layer: ``keras.layers.Dense`` draws its kernel with
``GlorotUniform`` and sets its bias with ``Zeros`` (:func:`glorot_uniform`,
:func:`zeros`); torch's ``nn.Linear`` default is :func:`torch_linear_default`.

Each function takes the spec's shape ((fan_in, fan_out) for a kernel, Keras's layout
too) and returns a tensor of it. ``rng`` is the Keras ``seed`` (an int, a
``keras.random.SeedGenerator``, or ``None`` for an unseeded draw).
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from tf_impl._inputs import checked, initializer_arguments


@checked(initializer_arguments)
def glorot_uniform(shape: tuple[int, int], rng: int | None = None,
                   dtype: str = "float64") -> tf.Tensor:
    """U(±√(6 / (fan_in + fan_out))) by ``keras.initializers.GlorotUniform``."""
    return keras.initializers.GlorotUniform(seed=rng)(shape, dtype=dtype)


@checked(initializer_arguments)
def torch_linear_default(shape: tuple[int, ...], rng: int | None = None,
                         dtype: str = "float64", fan_in: int | None = None) -> tf.Tensor:
    """U(±1/√fan_in), torch's ``nn.Linear`` default, built from Keras's initialisers.

    A kernel: ``VarianceScaling(scale=1/3, mode="fan_in", distribution="uniform")``,
    whose limit √(3·scale/fan_in) is 1/√fan_in. A bias (fan_out,): Keras would take its
    own length as fan_in, so it is ``RandomUniform`` with the layer's ``fan_in`` instead.
    """
    if fan_in is None:
        initializer = keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in",
                                                         distribution="uniform", seed=rng)
    else:
        bound = 1.0 / math.sqrt(fan_in)
        initializer = keras.initializers.RandomUniform(-bound, bound, seed=rng)
    return initializer(shape, dtype=dtype)


@checked(initializer_arguments)
def normal(shape: tuple[int, ...], rng: int | None = None, dtype: str = "float64",
           mean: float = 0.0, stddev: float = 1.0) -> tf.Tensor:
    """N(mean, stddev²) by ``keras.initializers.RandomNormal`` (given stddev; its own is 0.05)."""
    return keras.initializers.RandomNormal(mean=mean, stddev=stddev, seed=rng)(shape, dtype=dtype)


@checked(initializer_arguments)
def zeros(shape: tuple[int, ...], rng: int | None = None, dtype: str = "float64") -> tf.Tensor:
    """All zeros by ``keras.initializers.Zeros``."""
    return keras.initializers.Zeros()(shape, dtype=dtype)
