"""Fuzz: differential training, the spec's ``fit`` against both mirrors' (issue 25).

A seeded generator draws small models (Dense chains with batch or layer normalization,
L2 regularizers; graphs of two outputs with loss weights), data (one row, a last batch
of another size, a batch larger than the data), a loss that fits the output, an
optimizer with its options (momentum, Nesterov, β's, ε, weight decay coupled or
decoupled, clipping), a schedule and early stopping. The spec under
``convention="torch"`` must train as ``torch_impl.fit``, under ``"keras"`` as
``tf_impl.fit``, eager and compiled: the same steps, losses and final weights within the
trajectory tolerances, or the same refusal naming ``fit``.

What the generator leaves out, and why:

* a bias just before a normalization: its gradient is zero up to rounding, which Adam
  scales up to a full step of ±η, different in each framework (so such a layer has none,
  and batch statistics see 3 rows or more);
* mean_absolute_error in float32: a residual that float32 rounds across zero flips its
  gradient's sign, and the runs part by far more than any rounding;
* an L2 λ that float32 cannot hold: Keras's ``L2`` casts λ through float32 (0.01 →
  0.0099999998) where the spec and torch take it exactly, so a float64 run with λ = 0.01
  parts from the spec by 1e-9 (left open: the spec's Dense has no convention for it);
* L2 in a graph: ``torch_impl.convert.l2_penalties`` takes a Sequential only, and
  ``torch_impl.fit`` without ``l2`` trains a converted graph unregularized (left open);
* a graph's layers without names: the spec names them ``Dense(3, 3, relu)``, which
  ``tf_impl.from_reference`` gives the Keras layers, and TF takes no such name scope in
  a compiled step (``tf_impl.fit`` refuses it by name; eager, it trains).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework
from parity_tests.tolerances import tolerance
from reference import (
    BatchNormalization,
    Dense,
    Input,
    LayerNormalization,
    Model,
    Sequential,
    callbacks,
    optimizers,
    schedules,
)
from reference.training import TrainingDiverged

LOSSES = reference.losses.NAMES
LAST = {"binary_cross_entropy": "sigmoid", "categorical_cross_entropy": "softmax",
        "sparse_categorical_cross_entropy": "softmax"}
MIRRORS = (("torch", "torch", {}), ("tf", "keras", {}), ("tf", "keras", {"tf_function": True}))
# Seeds of the generator: every loss, optimizer, schedule and clipping, early stopping,
# both normalizations, graphs, float32 and float64 (about 0.5 s each).
SEEDS = (0, 1, 2, 3, 4, 5, 6, 9, 11, 12, 21, 22, 23, 30)


def _targets(loss: str, rng: np.random.Generator, n: int, width: int,
             dtype: np.dtype) -> np.ndarray:
    if loss.startswith("sparse"):
        return rng.integers(0, width, n)
    if "categorical" in loss:
        return np.eye(width, dtype=dtype)[rng.integers(0, width, n)]
    if "binary" in loss:
        return rng.integers(0, 2, (n, width)).astype(dtype)
    return rng.uniform(0.1, 0.9, (n, width)).astype(dtype)


def _optimizer(rng: np.random.Generator) -> tuple[str, object, dict]:
    """An optimizer's kind, learning rate (a number or a schedule) and options."""
    eta = float(rng.choice([0.01, 0.1, 0.3, 1e-3]))
    rate = [eta, schedules.ExponentialDecay(eta, int(rng.integers(1, 4)),
                                            float(rng.choice([0.5, 0.9])),
                                            staircase=bool(rng.integers(2))),
            schedules.PiecewiseConstantDecay([int(rng.integers(1, 4))], [eta, eta / 2]),
            schedules.CosineDecay(eta, int(rng.integers(1, 6)), float(rng.choice([0.0, 0.1])))
            ][rng.integers(4)]
    kind = str(rng.choice(["SGD", "Adam", "AdamW"]))
    options: dict = {}
    if kind == "SGD" and rng.random() < 0.6:
        options.update(momentum=float(rng.choice([0.5, 0.9, 1.0])), nesterov=rng.random() < 0.5)
    elif kind != "SGD":
        options.update(beta_1=float(rng.choice([0.0, 0.5, 0.9])),
                       beta_2=float(rng.choice([0.9, 0.999])),
                       epsilon=float(rng.choice([1e-3, 1e-6, 1.0])))
    if rng.random() < 0.4:
        options["weight_decay"] = float(rng.choice([0.01, 0.1]))
        if kind != "AdamW":
            options["decoupled_weight_decay"] = rng.random() < 0.5
    clipping = rng.integers(4)
    if clipping:
        options[("clipnorm", "global_clipnorm", "clipvalue")[clipping - 1]] = \
            float(rng.choice([0.05, 1.0]))
    return kind, rate, options


def _draw(seed: int) -> dict:
    """One training run: the model's maker (by convention), data and fit's arguments."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(str(rng.choice(["float64", "float32"])))
    loss = str(rng.choice([name for name in LOSSES if dtype == np.float64 or
                           name != "mean_absolute_error"]))
    n_in, n_out, hidden = int(rng.integers(1, 4)), int(rng.integers(2, 4)), int(rng.integers(3, 6))
    norm = int(rng.integers(3))  # none, batch, layer normalization
    graph = norm == 0 and rng.random() < 0.4
    n, batch_size = (6, [None, 3, 6][rng.integers(3)]) if norm == 1 else \
        (int(rng.choice([1, 2, 3, 5, 7])), [None, 1, 2, 3, 10][rng.integers(5)])
    act = str(rng.choice(["tanh", "relu", "sigmoid", "identity"]))
    l2, seed_model = float(rng.choice([0.0, 0.0625])), int(rng.integers(100))

    def model(convention: str) -> Sequential | Model:
        last = Dense(hidden, n_out, LAST.get(loss, "identity"), dtype=dtype, name="y")
        if graph:  # named layers, no L2 (both left open, see the module docstring)
            x = Input((n_in,), name="x")
            h = Dense(n_in, hidden, act, dtype=dtype, name="h")(x)
            return Model(x, [last(h), Dense(hidden, 2, dtype=dtype, name="z")(h)],
                         seed=seed_model)
        first = Dense(n_in, hidden, act, use_bias=norm == 0, kernel_regularizer=l2, dtype=dtype)
        middle = [[], [BatchNormalization(hidden, dtype=dtype, convention=convention)],
                  [LayerNormalization(hidden, dtype=dtype, convention=convention)]][norm]
        return Sequential([first, *middle, last], seed=seed_model)

    X = rng.uniform(-1, 1, (n, n_in)).astype(dtype)
    Y = _targets(loss, rng, n, n_out, dtype)
    arguments = dict(loss=loss, epochs=int(rng.integers(1, 5)), batch_size=batch_size,
                     seed=[None, 0, 3][rng.integers(3)])
    if graph:
        arguments.update(loss=[loss, "mean_squared_error"],
                         loss_weights=[float(rng.choice([1.0, 0.5, 2.0])), 0.3])
        Y = [Y, rng.uniform(-1, 1, (n, 2)).astype(dtype)]
    stopping = dict(patience=int(rng.integers(0, 3)), min_delta=float(rng.choice([0.0, 1e-3])),
                    restore_best_weights=bool(rng.integers(2))) if rng.random() < 0.4 else None
    return dict(model=model, X=X, Y=Y, dtype=dtype, arguments=arguments,
                optimizer=_optimizer(rng), stopping=stopping)


def _fit(package, model, run: dict, convention: str, source=None, **options) -> object:
    """``package.fit`` of ``run`` with its optimizer and early stopping in ``convention``;
    its History, the TrainingDiverged it raised, or the clear error naming fit."""
    kind, rate, settings = run["optimizer"]
    optimizer = getattr(optimizers, kind)(learning_rate=rate, convention=convention, **settings)
    stopping = None if run["stopping"] is None else \
        callbacks.EarlyStopping(convention=convention, **run["stopping"])
    if source is not None and isinstance(source, Sequential) and convention == "torch":
        options["l2"] = package.convert.l2_penalties(source, model)  # torch keeps no λ
    try:
        return package.fit(model, run["X"], run["Y"], optimizer=optimizer,
                           early_stopping=stopping, **run["arguments"], **options)
    except TrainingDiverged as diverged:
        return diverged
    except (ValueError, TypeError) as error:
        assert "fit" in str(error), f"the error does not name fit: {error!r}"
        return error


def _weights(model) -> list[np.ndarray]:
    return [np.asarray(value, np.float64) for layer in model.layers
            for value in {**layer.parameters, **layer.state}.values()]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_mirrors_train_as_the_spec_under_their_convention(seed: int) -> None:
    run = _draw(seed)
    for name, convention, options in MIRRORS:
        impl = framework(name).impl
        spec_model = run["model"](convention)
        expected = _fit(reference, spec_model, run, convention)
        source = run["model"](convention)
        mirror = impl.from_reference(copy.deepcopy(source))
        got = _fit(impl, mirror, run, convention, source, **options)
        what = f"seed {seed}, {name} {options}"
        assert type(got) is type(expected), f"{what}: {got!r:.200} vs {expected!r:.200}"
        if isinstance(expected, Exception):
            if isinstance(expected, TrainingDiverged):
                assert got.step == expected.step, what
            continue
        assert (len(got.loss), got.stopped_epoch) == (len(expected.loss), expected.stopped_epoch)
        tol = tolerance(run["dtype"], "loss trajectory")
        assert tol.error(got.loss, expected.loss) <= tol.rtol, f"{what}: {got.loss} vs " \
                                                              f"{expected.loss}"
        shapes = {"input_shapes": [run["X"].shape[1:]]} if name == "torch" and \
            isinstance(spec_model, Model) else {}
        back = impl.to_reference(mirror, **shapes)
        tol = tolerance(run["dtype"], "weight trajectory")
        for theirs, ours in zip(_weights(back), _weights(spec_model), strict=True):
            assert tol.error(theirs, ours) <= tol.rtol, what


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


def test_a_compiled_step_refuses_a_layer_name_that_tf_takes_as_no_name_scope() -> None:
    """An unnamed layer of a spec graph is 'Dense(3, 3, tanh)', and so is its Keras
    layer; a compiled step stopped inside Keras with "'Dense(3, 3, tanh)' is not a valid
    scope name", naming neither fit nor what to do."""
    tf_impl = framework("tf").impl
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    x = Input((3,), name="x")
    h = Dense(3, 3, "tanh")(x)
    mirror = tf_impl.from_reference(Model(x, [Dense(3, 2, name="a")(h),
                                              Dense(3, 2, name="b")(h)], seed=0))
    with pytest.raises(ValueError, match=r"^fit: tf_function=True compiles the step, and TF "
                                         r"takes no name scope 'Dense\(3, 3, tanh\)'"):
        tf_impl.fit(mirror, X, [Y, Y], loss=["mean_squared_error"] * 2, tf_function=True)
