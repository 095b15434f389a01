"""The layer protocol across frameworks: Dropout's convention on each side, its training
trajectory with the mask injected, and conversion of plain torch and Keras models through
the weight-layout tables."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework
from parity_tests.frameworks import flat_params
from parity_tests.tolerances import TRAJECTORY, tolerance
from reference.layers import Dense, Dropout, Flatten

DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]


# ── Dropout: what each framework does on its own ──────────────────────────────────────


def test_a_fresh_torch_dropout_drops_because_torch_modules_start_in_training_mode() -> None:
    torch = framework("torch").torch
    dropout = torch.nn.Dropout(0.5)
    y = dropout(torch.ones(1000, dtype=torch.float64))
    assert dropout.training and (y == 0).any()
    assert set(y.unique().tolist()) == {0.0, 2.0}  # inverted: survivors scaled by 1/(1 − p)
    dropout.eval()
    assert (dropout(torch.ones(1000, dtype=torch.float64)) == 1).all()


def test_a_keras_dropout_called_directly_runs_in_inference_and_drops_with_training_true() -> None:
    tf = framework("tf").tf
    import keras
    dropout = keras.layers.Dropout(0.5, dtype="float64")
    x = tf.ones(1000, tf.float64)
    assert (dropout(x).numpy() == 1).all()
    assert set(np.unique(dropout(x, training=True).numpy())) == {0.0, 2.0}


def test_the_spec_dropout_defaults_to_inference_like_keras() -> None:
    x = np.ones((10, 100))
    np.testing.assert_array_equal(Dropout(0.5, seed=0).forward(x), x)


# ── Dropout: a training run with the mask injected ────────────────────────────────────


def _dropout_model(dtype, mask: np.ndarray) -> reference.Sequential:
    dropout = Dropout(0.5)
    dropout.mask = mask
    return reference.Sequential([Dense(3, 6, "tanh", dtype=dtype), dropout,
                                 Dense(6, 2, dtype=dtype)], seed=5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_training_run_through_dropout_follows_the_spec_step_by_step(fw, dtype) -> None:
    rng = np.random.default_rng(6)
    X = rng.standard_normal((8, 3)).astype(dtype)
    Y = rng.standard_normal((8, 2)).astype(dtype)
    mask = rng.random((8, 6)) >= 0.5  # full batch, one mask for every step
    run = dict(loss="mean_squared_error", optimizer=reference.optimizers.SGD(0.1),
               epochs=5, batch_size=None, seed=None)
    spec = _dropout_model(dtype, mask)
    mirror = fw.impl.from_reference(spec)
    fw.inject_masks(mirror, spec)
    history = fw.impl.fit(mirror, X, Y, **run)
    # the spec follows the framework's optimizer formulas (Keras rounds η through float32)
    spec_history = reference.fit(spec, X, Y, **{**run, "optimizer": replace(
        run["optimizer"], convention=fw.convention)})
    tol = TRAJECTORY[np.dtype(dtype).name]
    assert tol.error(np.array(history.loss), np.array(spec_history.loss)) <= tol.rtol
    trained = fw.impl.to_reference(mirror)
    assert tol.error(flat_params(trained), flat_params(spec)) <= tol.rtol


# ── Conversion of what a user has, through the tables ─────────────────────────────────


def test_a_plain_torch_sequential_converts_and_computes_the_same() -> None:
    torch = framework("torch").torch
    nn = torch.nn
    torch.manual_seed(0)
    module = nn.Sequential(nn.Flatten(), nn.Linear(6, 5, dtype=torch.float64), nn.LeakyReLU(0.2),
                           nn.Dropout(0.1), nn.Linear(5, 3, dtype=torch.float64),
                           nn.Softmax(dim=-1)).eval()
    spec = framework("torch").impl.to_reference(module, input_shape=(2, 3))
    assert [type(layer).__name__ for layer in spec.layers] == ["Flatten", "Dense", "Dropout",
                                                               "Dense"]
    x = np.random.default_rng(7).standard_normal((4, 2, 3))
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    assert tolerance(np.float64, "output").error(spec.forward(x), expected) <= 1e-10


def test_a_plain_keras_sequential_converts_and_computes_the_same() -> None:
    tf = framework("tf").tf
    import keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2, 3), dtype="float64"),
                              keras.layers.Flatten(dtype="float64"),
                              keras.layers.Dense(5, activation="relu", dtype="float64"),
                              keras.layers.Dropout(0.1, dtype="float64"),
                              keras.layers.Dense(3, dtype="float64"),
                              keras.layers.Activation("softmax", dtype="float64")])
    spec = framework("tf").impl.to_reference(model)
    assert [type(layer).__name__ for layer in spec.layers] == ["Flatten", "Dense", "Dropout",
                                                               "Dense"]
    x = np.random.default_rng(8).standard_normal((4, 2, 3))
    expected = model(tf.constant(x)).numpy()
    assert tolerance(np.float64, "output").error(spec.forward(x), expected) <= 1e-10


def test_keras_leaky_relu_by_name_means_slope_0_2_not_the_spec_default() -> None:
    import keras
    model = keras.Sequential([keras.Input((2,), dtype="float64"),
                              keras.layers.Dense(2, activation="leaky_relu", dtype="float64")])
    (dense,) = framework("tf").impl.to_reference(model).layers
    assert dense.activation.params == {"negative_slope": 0.2}


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_model_with_flatten_and_dropout_round_trips_bit_for_bit(fw, dtype) -> None:
    spec = reference.Sequential([Flatten(), Dense(6, 4, "sigmoid", dtype=dtype), Dropout(0.2),
                                 Dense(4, 2, dtype=dtype)], input_shape=(3, 2), seed=9)
    back = fw.impl.to_reference(fw.impl.from_reference(spec), input_shape=(3, 2))
    assert [layer.config() for layer in back.layers] == [layer.config() for layer in spec.layers]
    for ours, theirs in zip(spec.parameters, back.parameters, strict=True):
        assert list(ours) == list(theirs)
        for name in ours:
            assert theirs[name].dtype == ours[name].dtype
            np.testing.assert_array_equal(theirs[name], ours[name])
