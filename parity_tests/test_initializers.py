"""Initialisers: each mirror draws from the spec's distribution, and the defaults are as documented.

Random streams differ between NumPy, torch and Keras, so numbers cannot be compared;
distributions can. A two-sample Kolmogorov-Smirnov test compares 60 000 draws of a
mirror with 60 000 of the spec (fixed seeds, so deterministic) at α = 1e-6: a wrong
limit or spread is far outside, a right one fails with negligible chance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from reference import initializers

SHAPE = (300, 200)  # (fan_in, fan_out)
INITIALIZERS = {
    "glorot_uniform": {},
    "torch_linear_default": {},
    "torch_linear_default[bias]": {"fan_in": 300},
    "normal": {"mean": 0.5, "stddev": 0.05},
    "zeros": {},
}


def _two_sample_ks(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.sort(a.ravel()), np.sort(b.ravel())
    grid = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, grid, side="right") / a.size
                               - np.searchsorted(b, grid, side="right") / b.size)))


def _ks_bound(n: int, m: int, alpha: float = 1e-6) -> float:
    return math.sqrt(math.log(2 / alpha) / 2) * math.sqrt((n + m) / (n * m))


def _draw(fw, name: str, shape: tuple[int, ...], options: dict) -> np.ndarray:
    function = getattr(fw.impl.initializers, name.split("[")[0])
    if fw.name == "torch":
        return function(shape, fw.torch.Generator().manual_seed(1), **options).numpy()
    return function(shape, 1, **options).numpy()


@pytest.mark.parametrize("name", INITIALIZERS)
def test_mirror_draws_from_the_specs_distribution(fw, name: str) -> None:
    options = INITIALIZERS[name]
    shape = (60_000,) if "bias" in name else SHAPE
    spec = getattr(initializers, name.split("[")[0])(shape, np.random.default_rng(0),
                                                       **options)
    theirs = _draw(fw, name, shape, options)
    assert theirs.shape == spec.shape and theirs.dtype == np.float64
    if name == "zeros":
        np.testing.assert_array_equal(theirs, spec)
        return
    ks = _two_sample_ks(theirs, spec)
    assert ks < _ks_bound(theirs.size, spec.size), f"{name}: KS distance {ks:.4f}"


def test_torch_linear_uses_torch_linear_default_for_weight_and_bias() -> None:
    import torch

    torch.manual_seed(0)
    layer = torch.nn.Linear(300, 200, dtype=torch.float64)
    spec = initializers.torch_linear_default(SHAPE, np.random.default_rng(0))
    weight = layer.weight.detach().numpy().T
    assert _two_sample_ks(weight, spec) < _ks_bound(weight.size, spec.size)
    bias_bound = 1 / math.sqrt(300)
    assert np.all(np.abs(layer.bias.detach().numpy()) <= bias_bound)
    assert np.max(np.abs(layer.bias.detach().numpy())) > 0.9 * bias_bound


def test_keras_dense_uses_glorot_uniform_and_zeros() -> None:
    import tf_impl  # first: it sets TensorFlow's environment

    layer = tf_impl.Dense(300, 200, dtype="float64")
    spec = initializers.glorot_uniform(SHAPE, np.random.default_rng(0))
    kernel = layer.kernel.numpy()
    assert _two_sample_ks(kernel, spec) < _ks_bound(kernel.size, spec.size)
    np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(200))
