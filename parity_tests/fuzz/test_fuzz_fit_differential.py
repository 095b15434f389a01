"""Fuzz: differential training, the spec's ``fit`` against both mirrors' (issue 25).

A seeded generator draws small models (Dense chains with batch or layer normalization),
data (one row, a last batch of another size, a batch larger than the data), a loss that
fits the output, an optimizer with its options (momentum, Nesterov, β's, ε, weight decay
coupled or decoupled, clipping), a schedule and early stopping. The spec under
``convention="torch"`` must train as ``torch_impl.fit``, under ``"keras"`` as
``tf_impl.fit`` (eager): the same steps, the same losses and the same final weights
within the trajectory tolerances, or the same clear refusal naming ``fit``.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework
from parity_tests.tolerances import tolerance
from reference import BatchNormalization, Dense, Sequential, optimizers, schedules


def test_the_keras_exponential_decay_is_keras_s_to_the_last_bit(keras) -> None:
    """TF's float32 pow is correctly rounded; NumPy's float32 power, which the spec used,
    is one ulp off for about one step in six (η₁ of ExponentialDecay(0.3, 3, 0.5), among
    others), and a float64 model trained by Keras then parted from the spec by 4e-8."""
    for staircase in (False, True):
        spec = schedules.ExponentialDecay(0.3, 3, 0.5, staircase=staircase)
        theirs = keras.optimizers.schedules.ExponentialDecay(0.3, 3, 0.5, staircase=staircase)
        np.testing.assert_array_equal(spec.learning_rates(12, "keras"),
                                      [float(theirs(t)) for t in range(12)])


def _normalized() -> Sequential:
    return Sequential([Dense(3, 4, "tanh"), BatchNormalization(4), Dense(4, 2)], seed=0)


@pytest.mark.parametrize("package", ["reference", "torch"])
def test_a_last_batch_of_one_row_under_torch_batch_norm_is_refused_before_any_step(
        package: str) -> None:
    """7 rows in batches of 2 leave a last batch of one row, whose batch statistics
    torch's BatchNorm cannot take: the spec stopped at step 4 with the layer's message
    and torch with its own ('Expected more than 1 value per channel'), neither naming
    fit, after three updates of the model."""
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((7, 3)), rng.standard_normal((7, 2))
    model = _normalized() if package == "reference" else \
        framework("torch").impl.from_reference(_normalized())
    fit = reference.fit if package == "reference" else framework("torch").impl.fit
    before = framework("torch").impl.to_reference(model) if package == "torch" else model
    weights = [w.copy() for layer in before.layers for w in layer.parameters.values()]
    with pytest.raises(ValueError, match=r"^fit: batch_size=2 on 7 row\(s\) makes a batch of "
                                         r"one row, too few for a layer's batch statistics"):
        fit(model, X, Y, optimizer=optimizers.SGD(0.1), epochs=2, batch_size=2)
    after = framework("torch").impl.to_reference(model) if package == "torch" else model
    for w, w0 in zip((w for layer in after.layers for w in layer.parameters.values()),
                     weights, strict=True):
        np.testing.assert_array_equal(w, w0)


def test_a_compiled_keras_step_follows_the_cosine_schedule_of_the_spec() -> None:
    """Inside tf.function, grappler's constant folding rewrites the schedule's π·(t/k) as
    (π/k)·t: η₃ of CosineDecay(0.3, 5, 0.1) came out 1.8e-7 off Keras's eager value (the
    spec's), and a float64 run parted from the spec by 2e-8 (tolerance 1e-10)."""
    tf_impl = framework("tf").impl
    rng = np.random.default_rng(2)
    X, Y = rng.uniform(-1, 1, (5, 2)), rng.uniform(0.1, 0.9, (5, 2))
    rate = schedules.CosineDecay(0.3, 5, 0.1)
    model = Sequential([Dense(2, 3, "tanh"), Dense(3, 2)], seed=0)
    mirror = tf_impl.from_reference(model)
    run = dict(loss="mean_squared_error", epochs=2, batch_size=1, seed=0)
    spec = reference.fit(model, X, Y, optimizer=optimizers.SGD(rate, convention="keras"), **run)
    compiled = tf_impl.fit(mirror, X, Y, optimizer=optimizers.SGD(rate), tf_function=True, **run)
    tol = tolerance(np.float64, "loss trajectory")
    assert tol.error(compiled.loss, spec.loss) <= tol.rtol
    back = tf_impl.to_reference(mirror)
    for layer, theirs in zip(model.layers, back.layers, strict=True):
        for name, value in layer.parameters.items():
            assert tol.error(theirs.parameters[name], value) <= tol.rtol, name


def test_a_compiled_step_of_half_mse_takes_a_last_batch_of_another_size() -> None:
    """7 rows in batches of 3: the last batch of one retraces the step for batches of any
    size (reduce_retracing), where half_mean_squared_error divided by the static
    y_pred.shape[0], None: 'ValueError: None values not supported' from inside the graph."""
    tf_impl = framework("tf").impl
    rng = np.random.default_rng(0)
    X, Y = rng.uniform(-1, 1, (7, 2)), rng.uniform(0.1, 0.9, (7, 2))
    model = Sequential([Dense(2, 3, "tanh"), Dense(3, 2)], seed=0)
    mirror = tf_impl.from_reference(model)
    run = dict(loss="half_mean_squared_error", epochs=2, batch_size=3, seed=0)
    spec = reference.fit(model, X, Y, optimizer=optimizers.SGD(0.1, convention="keras"), **run)
    compiled = tf_impl.fit(mirror, X, Y, optimizer=optimizers.SGD(0.1), tf_function=True, **run)
    tol = tolerance(np.float64, "loss trajectory")
    assert tol.error(compiled.loss, spec.loss) <= tol.rtol
