"""Whole training runs in all three frameworks: the notes' two, and TF eager against compiled.

* Note 004's 3-5-8-2 sigmoid network learns XOR, which the perceptron cannot, and the
  spec, torch and TF get there along the same trajectory.
* Note 003's per-sample loop (η = 1e-4, one input of 1000) diverges, and all three stop
  with ``TrainingDiverged`` at the same step.
* TF's training step gives the same run eagerly and compiled by ``tf.function`` (the
  parity matrix runs it compiled).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework
from parity_tests.frameworks import flat_params
from parity_tests.tolerances import tolerance
from reference import registry
from reference.optimizers import SGD

DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]


def _xor_network(dtype) -> reference.Sequential:
    return reference.Sequential([reference.Dense(3, 5, "sigmoid", dtype=dtype),
                                 reference.Dense(5, 8, "sigmoid", dtype=dtype),
                                 reference.Dense(8, 2, "sigmoid", dtype=dtype)], seed=0)


def _within(kind: str, dtype, actual, expected) -> None:
    tol = tolerance(dtype, kind)
    error = tol.error(actual, expected)
    assert error <= tol.rtol, f"{kind} differs from the spec's: {error:.3g} > {tol.rtol:g}"


@pytest.mark.parametrize("dtype", DTYPES)
def test_note004_network_learns_xor_in_all_three_along_one_trajectory(dtype) -> None:
    X, Y = registry.XOR_INPUTS, registry.XOR_TARGETS.astype(dtype)
    # η = 4 is a power of two and plain SGD has no other hyper-parameter, so Keras's
    # float32 rounding changes nothing: the torch and Keras conventions are one trajectory.
    run = {"loss": "mean_squared_error", "optimizer": SGD(4.0), "epochs": 300,
           "batch_size": None, "seed": 0}
    spec = _xor_network(dtype)
    spec_history = reference.fit(spec, X, Y, **run)
    keras_history = reference.fit(_xor_network(dtype), X, Y, **{
        **run, "optimizer": SGD(4.0, convention="keras")})
    assert keras_history.loss == spec_history.loss

    torch_fw, tf_fw = framework("torch"), framework("tf")
    module = torch_fw.impl.from_reference(_xor_network(dtype))
    torch_history = torch_fw.impl.fit(module, X, Y, **run)
    keras_model = tf_fw.impl.from_reference(_xor_network(dtype))
    tf_history = tf_fw.impl.fit(keras_model, X, Y, **run, tf_function=True)

    for name, history, trained in (
            ("spec", spec_history, spec),
            ("torch", torch_history, torch_fw.impl.to_reference(module)),
            ("tf", tf_history, tf_fw.impl.to_reference(keras_model))):
        output = trained.forward(X.astype(dtype))
        assert np.array_equal(output.argmax(axis=1), Y.argmax(axis=1)), f"{name}: {output}"
        assert history.loss[-1] < 0.01 < history.loss[0], name
        _within("loss trajectory", dtype, history.loss, spec_history.loss)
        _within("weight trajectory", dtype, flat_params(trained), flat_params(spec))


@pytest.mark.parametrize(("dtype", "expected_step"), [
    pytest.param(np.float64, 308, id="float64"), pytest.param(np.float32, 40, id="float32")])
def test_note003_loop_diverges_at_the_same_step_in_all_three(dtype, expected_step) -> None:
    # By hand: visiting x = 1000 sends w to about w − 1e-4 · 1000 w · 1000 = −99 w, so the
    # loss ½(1000 w)² there grows about 99² = 9801-fold per pass of 4 steps, from 5e5 at
    # step 4. It passes the largest float, 1.8e308 (float64) or 3.4e38 (float32), after
    # ⌈log(max / 5e5) / log 9801⌉ = 76 or 9 more passes: step 4 + 4·76 = 308, 4 + 4·9 = 40.
    largest = float(np.finfo(dtype).max)
    assert 4 + 4 * math.ceil(math.log(largest / 5e5) / math.log(99**2)) == expected_step

    X = registry.NOTE_003_INPUTS.astype(dtype)
    Y = registry.NOTE_003_TARGETS.astype(dtype)
    run = {"loss": "half_mean_squared_error", "optimizer": SGD(1e-4), "epochs": 100,
           "batch_size": 1, "seed": None}

    def neuron() -> reference.Sequential:
        layer = reference.Dense(1, 1, dtype=dtype)
        layer.W, layer.b = np.ones((1, 1), dtype), np.ones(1, dtype)
        return reference.Sequential([layer])

    torch_fw, tf_fw = framework("torch"), framework("tf")
    runs = {
        "spec": lambda: reference.fit(neuron(), X, Y, **run),
        "torch": lambda: torch_fw.impl.fit(torch_fw.impl.from_reference(neuron()), X, Y, **run),
        "tf": lambda: tf_fw.impl.fit(tf_fw.impl.from_reference(neuron()), X, Y, **run,
                                     tf_function=True),
    }
    for name, train in runs.items():
        with pytest.raises(reference.TrainingDiverged) as diverged:
            train()
        assert diverged.value.step == expected_step, name
        assert f"step {expected_step}" in str(diverged.value)
        assert not math.isfinite(diverged.value.loss)
        assert len(diverged.value.history.loss) == expected_step - 1
        assert all(math.isfinite(value) for value in diverged.value.history.loss)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("label", ["batches of 3, Adam, binary cross-entropy",
                                   "batches of 4, momentum, decoupled decay 0.01"])
def test_tf_step_gives_one_run_eager_and_under_tf_function(label: str, dtype) -> None:
    # Batches of 3 over 8 rows end with a batch of 2: the compiled step is traced twice.
    case = next(c for c in registry.concept("fit").cases if c.label == label)
    data = case.make(np.random.default_rng(0), np.dtype(dtype), 1)
    tf_fw = framework("tf")
    (eager,) = tf_fw.fit(data, tf_function=False).values()
    (compiled,) = tf_fw.fit(data, tf_function=True).values()
    _within("loss trajectory", dtype, compiled.losses, eager.losses)
    _within("weight trajectory", dtype, compiled.params, eager.params)
