"""Fuzz: the data-parallel entry points, generated and differential (issue 25).

A seeded generator draws small spec models (Dense chains with L2 regularizers, a
BatchNormalization, float32 and float64), data (N not divisible by the world size,
N == W, N == 1), a loss that fits the output, an optimizer with clipping or a schedule,
and a world size from 1 to 4. The oracle is what ``reference.parallel`` promises: the
full batch, i.e. one training-mode backward pass of all rows (the L2 terms in the loss)
and ``reference.fit(batch_size=None)``, step for step; or a refusal naming the function.

The mirrors run here on one rank (a gloo group of one, in this process) and on TF's
default strategy: their code paths, without spawning. The multi-rank runs are
``parity_tests/test_data_parallel.py``'s; the refusals that read the world size before
anything runs are checked here with the count alone (a patched world size, a strategy
that reports two replicas).

What the generator leaves out, and why: Dropout (each shard draws its own mask; the
spec's injected mask is refused for W > 1), mean_absolute_error in float32 (a residual
rounded across zero flips its gradient), and on TF the losses without a per-example
Keras form (refused by name).
"""

from __future__ import annotations

import importlib
import itertools

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework
from parity_tests.fuzz.oracle import outcome
from parity_tests.tolerances import tolerance
from reference import BatchNormalization, Dense, Dropout, Sequential, optimizers, schedules
from reference import parallel as spec_parallel

LOSSES = reference.losses.NAMES
LAST = {"binary_cross_entropy": "sigmoid", "categorical_cross_entropy": "softmax",
        "sparse_categorical_cross_entropy": "softmax", "mean_squared_logarithmic_error": "sigmoid"}
TF_LOSSES = ("mean_squared_error", "mean_absolute_error", "mean_squared_logarithmic_error")
SPEC_SEEDS = range(60)


def _case(seed: int, losses: tuple[str, ...] = LOSSES, world: int | None = None) -> dict:
    """One generated run: a model's layers, data sizes, a loss, an optimizer, W."""
    rng = np.random.default_rng(seed)
    dtype = str(rng.choice(["float64", "float32"]))
    world = int(rng.integers(1, 5)) if world is None else world
    n = int(rng.choice([world, world + 1, 2 * world + 1, 7, 1 if world == 1 else world]))
    loss = str(rng.choice([x for x in losses
                           if not (x == "mean_absolute_error" and dtype == "float32")]))
    widths = [int(w) for w in rng.integers(2, 5, size=int(rng.integers(2, 4)))]
    layers = []
    for k, (a, b) in enumerate(itertools.pairwise(widths)):
        last = k == len(widths) - 2
        act = next((v for key, v in LAST.items() if loss.startswith(key)), "identity") \
            if last else str(rng.choice(["tanh", "sigmoid"]))
        # a normalization on one replica only, after a layer without a bias (a bias there
        # has a gradient of zero up to rounding, which Adam scales to a full step)
        norm = not last and world == 1 and n >= 3 and rng.random() < 0.3
        layers.append(("Dense", a, b, "identity" if norm else act,
                       float(rng.choice([0.0, 0.0625])), not norm))
        if norm:
            layers.append(("BatchNormalization", b))
    kind = str(rng.choice(["SGD", "momentum", "Adam"]))
    options = {str(rng.choice(["clipnorm", "clipvalue", "global_clipnorm"])): 0.25} \
        if rng.random() < 0.4 else {}
    return dict(seed=seed, dtype=dtype, world=world, n=n, loss=loss, layers=layers,
                kind=kind, options=options, schedule=bool(rng.random() < 0.25),
                epochs=int(rng.integers(0, 4)))


def _model(case: dict) -> Sequential:
    made = []
    for kind, *sizes in case["layers"]:
        if kind == "Dense":
            a, b, act, l2, bias = sizes
            made.append(Dense(a, b, act, dtype=case["dtype"], kernel_regularizer=l2,
                              use_bias=bias))
        else:
            made.append(BatchNormalization(sizes[0], dtype=case["dtype"]))
    return Sequential(made, seed=case["seed"])


def _data(case: dict) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(case["seed"] + 1)
    n, dense = case["n"], [layer for layer in case["layers"] if layer[0] == "Dense"]
    X = rng.uniform(-1, 1, (n, dense[0][1])).astype(case["dtype"])
    classes = dense[-1][2]
    if case["loss"].startswith("sparse"):
        return X, rng.integers(0, classes, n)
    if "categorical" in case["loss"]:
        return X, np.eye(classes, dtype=case["dtype"])[rng.integers(0, classes, n)]
    if "binary" in case["loss"]:
        return X, rng.integers(0, 2, (n, classes)).astype(case["dtype"])
    return X, rng.uniform(0.1, 0.9, (n, classes)).astype(case["dtype"])


def _optimizer(case: dict, convention: str) -> optimizers.SGD | optimizers.Adam:
    rate = 0.05 if case["kind"] == "Adam" else 0.5
    if case["schedule"]:
        rate = schedules.ExponentialDecay(rate, 1, 0.5)
    if case["kind"] == "Adam":
        return optimizers.Adam(rate, convention=convention, **case["options"])
    return optimizers.SGD(rate, momentum=0.5 if case["kind"] == "momentum" else 0.0,
                          convention=convention, **case["options"])


def _flat(arrays) -> np.ndarray:
    return np.concatenate([np.asarray(a, np.float64).ravel() for a in arrays])


def _weights(model: Sequential) -> np.ndarray:
    return _flat(p for layer in model.layers for p in layer.params)


def _full_batch(case: dict) -> tuple[float, np.ndarray]:
    """One training-mode forward and backward of all rows: the loss with its L2 terms."""
    return _full_batch_of(_model(case), *_data(case), case["loss"])


def _fit(case: dict, convention: str) -> tuple[list[float], np.ndarray]:
    X, Y = _data(case)
    model = _model(case)
    history = reference.fit(model, X, Y, case["loss"], _optimizer(case, convention),
                            case["epochs"], batch_size=None)
    return history.loss, _weights(model)


def _close(dtype: str, kind: str, actual: object, expected: object) -> bool:
    tol = tolerance(dtype, kind)
    return tol.error(np.asarray(actual, np.float64), np.asarray(expected, np.float64)) \
        <= tol.rtol


# -- the spec: generated runs against the full batch --------------------------------------

@pytest.mark.parametrize("seed", SPEC_SEEDS)
def test_the_spec_data_parallel_run_is_the_full_batch_run(seed) -> None:
    """L2 terms in the loss, BatchNormalization in training mode (W = 1), shards uneven."""
    case = _case(seed)
    X, Y = _data(case)
    value, grads = spec_parallel.data_parallel_gradient(_model(case), X, Y, case["loss"],
                                                        case["world"])
    full_value, full_grads = _full_batch(case)
    assert _close(case["dtype"], "loss", value, full_value), case
    assert _close(case["dtype"], "gradient", _flat(grads), full_grads), case
    model = _model(case)
    history = spec_parallel.data_parallel_fit(model, X, Y, case["loss"],
                                              _optimizer(case, "torch"), case["epochs"],
                                              case["world"])
    losses, weights = _fit(case, "torch")
    assert len(history.loss) == len(losses)
    assert _close(case["dtype"], "loss trajectory", history.loss, losses), case
    assert _close(case["dtype"], "weight trajectory", _weights(model), weights), case


def _norm_model() -> Sequential:
    return Sequential([Dense(3, 4, "tanh"), BatchNormalization(4), Dense(4, 2, "sigmoid")],
                      seed=0)


@pytest.mark.parametrize("function", ["data_parallel_fit", "data_parallel_gradient"])
def test_the_spec_refuses_batch_statistics_split_over_replicas(function) -> None:
    """Each shard's statistics are not the full batch's (main: computed them silently)."""
    X, Y = np.ones((6, 3)), np.full((6, 2), 0.5)
    entry = getattr(spec_parallel, function)
    with pytest.raises(ValueError, match=rf"{function}: layer 1 \(BatchNormalization\(4\)\) "
                                         r"normalizes by its batch's statistics"):
        entry(_norm_model(), X, Y, world_size=2)


def test_the_spec_refuses_a_batch_norm_shard_of_one_row_as_fit_does() -> None:
    X, Y = np.ones((1, 3)), np.full((1, 2), 0.5)
    with pytest.raises(ValueError, match=r"data_parallel_fit: 1 row\(s\) on 1 replica\(s\) "
                                         r"make a shard of one row"):
        spec_parallel.data_parallel_fit(_norm_model(), X, Y, world_size=1)


def test_the_spec_refuses_an_injected_dropout_mask_over_replicas() -> None:
    dropout = Dropout(0.5)
    dropout.mask = np.ones((6, 4), bool)
    model = Sequential([Dense(3, 4, "tanh"), dropout, Dense(4, 2)], seed=0)
    with pytest.raises(ValueError, match=r"data_parallel_gradient: layer 1 \(Dropout\(0.5\)\) "
                                         r"has an injected mask"):
        spec_parallel.data_parallel_gradient(model, np.ones((6, 3)), np.zeros((6, 2)),
                                             world_size=2)
    # one replica is the full batch: the mask applies as in fit
    value, _ = spec_parallel.data_parallel_gradient(model, np.ones((6, 3)), np.zeros((6, 2)),
                                                    world_size=1)
    assert np.isfinite(value)


@pytest.mark.parametrize("loss", [["mean_squared_error"], ("mean_squared_error", None)])
def test_the_spec_refuses_a_list_of_losses_by_name(loss) -> None:
    """main: AttributeError: 'list' object has no attribute 'startswith'."""
    model = Sequential([Dense(3, 2)], seed=0)
    with pytest.raises(TypeError, match=r"data_parallel_fit: loss must be a loss name \(str\)"):
        spec_parallel.data_parallel_fit(model, np.ones((4, 3)), np.zeros((4, 2)), loss)


# -- the mirrors, on one rank / replica ---------------------------------------------------

def _entries(package: str) -> object:
    return importlib.import_module(f"{package}.parallel")


@pytest.mark.parametrize("package", ["reference", "torch_impl", "tf_impl"])
def test_an_impossible_number_of_epochs_is_refused_before_the_first_step(
        package, process_group) -> None:
    """main: epochs=10**12 ran on (a loss history of 32 TB), never refused."""
    spec = Sequential([Dense(3, 2)], seed=0)
    model = {"reference": spec, "torch_impl": framework("torch").impl.from_reference(spec),
             "tf_impl": framework("tf").impl.from_reference(spec)}[package]
    with pytest.raises(ValueError, match=r"data_parallel_fit: the loss history of "
                                         r"1000000000000 steps"):
        _entries(package).data_parallel_fit(model, np.ones((4, 3)), np.zeros((4, 2)),
                                            epochs=10**12)


# Seeds whose runs the torch mirror is held to: L2 (through ``l2``), clipping, schedules,
# BatchNormalization on one rank.
TORCH_SEEDS = range(12)


@pytest.mark.parametrize("seed", TORCH_SEEDS)
def test_torch_ddp_on_one_rank_is_the_full_batch_run(seed, process_group) -> None:
    """main: no ``l2`` argument, the spec optimizer's clipping and schedule ignored."""
    impl = framework("torch").impl
    case = _case(seed, world=1)
    X, Y = _data(case)
    spec = _model(case)
    module = impl.from_reference(spec)
    module.eval()  # the entry point trains in train mode, whatever mode it is given
    l2 = impl.convert.l2_penalties(spec, module)
    run = outcome(lambda: _entries("torch_impl").data_parallel_fit(
        module, X, Y, case["loss"], _optimizer(case, "torch"), case["epochs"], l2=l2),
        "data_parallel_fit")
    losses, weights = _fit(case, "torch")
    assert run.error is None, run.error
    assert _close(case["dtype"], "loss trajectory", run.value.loss, losses), case
    assert _close(case["dtype"], "weight trajectory",
                  _weights(impl.to_reference(module)), weights), case


@pytest.mark.parametrize("options", [{"clipvalue": 0.01}, {"clipnorm": 0.01},
                                     {"global_clipnorm": 0.01},
                                     {"learning_rate": "schedule"}])
def test_torch_ddp_applies_the_optimizers_clipping_and_schedule(options,
                                                                process_group) -> None:
    """main: DDP stepped with the bare ``torch.optim`` optimizer, unclipped, η constant."""
    impl = framework("torch").impl
    if options.get("learning_rate") == "schedule":
        options = {"learning_rate": schedules.ExponentialDecay(0.5, 1, 0.25)}
    optimizer = optimizers.SGD(**{"learning_rate": 0.5, **options})
    rng = np.random.default_rng(0)
    X, Y = rng.uniform(-1, 1, (5, 3)), rng.uniform(0.1, 0.9, (5, 2))
    spec, copy = (Sequential([Dense(3, 4, "tanh"), Dense(4, 2, "sigmoid")], seed=0)
                  for _ in range(2))
    module = impl.from_reference(copy)
    history = _entries("torch_impl").data_parallel_fit(module, X, Y, optimizer=optimizer,
                                                       epochs=3)
    expected = reference.fit(spec, X, Y, optimizer=optimizer, epochs=3, batch_size=None)
    assert _close("float64", "loss trajectory", history.loss, expected.loss)
    assert _close("float64", "weight trajectory", _weights(impl.to_reference(module)),
                  _weights(spec))


def test_torch_ddp_trains_a_module_given_in_eval_mode_in_train_mode(process_group) -> None:
    """main: an ``eval()`` module normalized by its running statistics, not the batch's."""
    impl = framework("torch").impl
    X, Y = np.random.default_rng(0).uniform(-1, 1, (6, 3)), np.full((6, 2), 0.5)
    module = impl.from_reference(_norm_model()).eval()
    value, _ = _entries("torch_impl").data_parallel_gradient(module, X, Y)
    full_value, _ = _full_batch_of(_norm_model(), X, Y)
    assert _close("float64", "loss", value, full_value)


def _full_batch_of(model: Sequential, X: np.ndarray, Y: np.ndarray,
                   loss: str = "mean_squared_error") -> tuple[float, np.ndarray]:
    y_pred = model.forward(X, training=True)
    model.backward(reference.losses.gradient(loss)(Y, y_pred))
    return (reference.losses.get(loss)(Y, y_pred) + model.regularization_loss(),
            _flat(g for layer in model.layers for g in layer.grads))


def _patched_world(monkeypatch, size: int) -> None:
    """The group's size as the refusal reads it, before DDP or any collective runs."""
    monkeypatch.setattr(_entries("torch_impl").dist, "get_world_size", lambda *_: size)


@pytest.mark.parametrize("function", ["data_parallel_fit", "data_parallel_gradient"])
def test_torch_refuses_a_batch_norm_over_ranks(function, process_group, monkeypatch) -> None:
    module = framework("torch").impl.from_reference(_norm_model())
    _patched_world(monkeypatch, 2)
    with pytest.raises(ValueError, match=rf"{function}: module '2' is a BatchNorm"):
        getattr(_entries("torch_impl"), function)(module, np.ones((6, 3)),
                                                  np.full((6, 2), 0.5))


def test_torch_refuses_a_batch_norm_shard_of_one_row(process_group) -> None:
    """main: torch's own ValueError from inside DDP's forward, naming nothing."""
    module = framework("torch").impl.from_reference(_norm_model())
    with pytest.raises(ValueError, match=r"data_parallel_fit: 1 row\(s\) on 1 rank\(s\)"):
        _entries("torch_impl").data_parallel_fit(module, np.ones((1, 3)),
                                                 np.full((1, 2), 0.5))


@pytest.mark.parametrize("package", ["torch_impl", "tf_impl"])
@pytest.mark.parametrize("function", ["data_parallel_fit", "data_parallel_gradient"])
def test_a_graph_of_two_inputs_is_refused_by_name(package, function, process_group) -> None:
    """main: AttributeError ('list' object has no attribute 'size' / 'shape')."""
    a, b = reference.Input((3,), name="a"), reference.Input((2,), name="b")
    graph = reference.Model([a, b], [Dense(5, 2, name="d")(
        reference.Concatenate(name="c")([a, b]))])
    model = framework("torch" if package == "torch_impl" else "tf").impl.from_reference(graph)
    with pytest.raises(TypeError, match=rf"{function}: model has several inputs or outputs"):
        getattr(_entries(package), function)(model, [np.ones((4, 3)), np.ones((4, 2))],
                                             np.zeros((4, 2)))


def _two_replicas():
    """A strategy reporting two replicas: what the refusals read before anything runs
    (this process has one CPU device; the real two are test_data_parallel.py's)."""
    tf = framework("tf").tf

    class TwoReplicas(tf.distribute.MirroredStrategy):
        num_replicas_in_sync = 2

    return TwoReplicas(["/cpu:0"])


@pytest.mark.parametrize("options", [{"keras_fit": True}, {}])
def test_tf_refuses_a_batch_norm_over_replicas(options) -> None:
    model = framework("tf").impl.from_reference(_norm_model())
    with pytest.raises(ValueError, match=r"data_parallel_fit: layer '.*' is a "
                                         r"BatchNormalization"):
        _entries("tf_impl").data_parallel_fit(model, np.ones((6, 3)), np.full((6, 2), 0.5),
                                              strategy=_two_replicas(), **options)


def test_tf_keras_fit_refuses_a_batch_the_replicas_split_unevenly() -> None:
    """main: Keras's InvalidArgumentError from its build (AddN of [4,3] and [3,3]), or on
    a later batch the average of the slices' means, silently."""
    model = framework("tf").impl.from_reference(Sequential([Dense(3, 2)], seed=0))
    with pytest.raises(ValueError, match=r"data_parallel_fit: keras_fit=True on 7 rows and "
                                         r"2 replicas"):
        _entries("tf_impl").data_parallel_fit(model, np.ones((7, 3)), np.full((7, 2), 0.5),
                                              strategy=_two_replicas(), keras_fit=True)


@pytest.mark.parametrize("keras_fit", [False, True])
@pytest.mark.parametrize("clip", ["clipnorm", "global_clipnorm", "clipvalue"])
def test_tf_refuses_clipping_over_replicas(clip, keras_fit) -> None:
    """main: Keras 3 clipped each replica's share before the sum (3 replicas, global
    clipnorm: weights off by 13 % after one step), silently."""
    model = framework("tf").impl.from_reference(Sequential([Dense(3, 2)], seed=0))
    with pytest.raises(ValueError, match=rf"data_parallel_fit: optimizer has {clip}=0.5, but "
                                         r"Keras's optimizer clips each of the 2 replicas'"):
        _entries("tf_impl").data_parallel_fit(model, np.ones((6, 3)), np.full((6, 2), 0.5),
                                              optimizer=optimizers.SGD(**{clip: 0.5}),
                                              strategy=_two_replicas(), keras_fit=keras_fit)


def test_tf_keras_fit_refuses_float64_on_three_replicas() -> None:
    """Keras fit's 1/3 goes through float32 (test_data_parallel.py shows it)."""
    tf = framework("tf").tf

    class ThreeReplicas(tf.distribute.MirroredStrategy):
        num_replicas_in_sync = 3

    model = framework("tf").impl.from_reference(Sequential([Dense(3, 2)], seed=0))
    with pytest.raises(ValueError, match=r"data_parallel_fit: keras_fit=True in float64 on 3 "
                                         r"replicas"):
        _entries("tf_impl").data_parallel_fit(model, np.ones((6, 3)), np.full((6, 2), 0.5),
                                              strategy=ThreeReplicas(["/cpu:0"]),
                                              keras_fit=True)


TF_SEEDS = (1, 7)  # an L2 term each: a TF step traces its graph anew, about 1 s a run


@pytest.mark.parametrize("seed", TF_SEEDS)
def test_tf_custom_loop_adds_the_l2_terms(seed) -> None:
    """main: the custom loop left ``model.losses`` (Keras's L2 terms) out of the loss."""
    impl = framework("tf").impl
    case = _case(seed, losses=TF_LOSSES, world=1)
    assert any(layer[0] == "Dense" and layer[4] for layer in case["layers"]), case
    X, Y = _data(case)
    model = impl.from_reference(_model(case))
    value, grads = _entries("tf_impl").data_parallel_gradient(model, X, Y, case["loss"])
    full_value, full_grads = _full_batch(case)
    assert _close(case["dtype"], "loss", value, full_value), case
    assert _close(case["dtype"], "gradient", _flat(g.numpy() for g in grads), full_grads)
    model = impl.from_reference(_model(case))
    history = _entries("tf_impl").data_parallel_fit(model, X, Y, case["loss"],
                                                    _optimizer(case, "keras"), case["epochs"])
    losses, weights = _fit(case, "keras")
    assert _close(case["dtype"], "loss trajectory", history.loss, losses), case
    assert _close(case["dtype"], "weight trajectory", _weights(impl.to_reference(model)),
                  weights), case
