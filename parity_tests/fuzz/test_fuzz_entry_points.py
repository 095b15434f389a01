"""Fuzz: the entry points beyond ``fit``: data parallelism in all three packages, the
spec's masks, normalisation ε, window sizes and switches, and the port's ``.keras`` reader.

Each call gives a right result or a clear error naming the function or layer
(``oracle.outcome``). The right results are checked against an independent computation:
a data-parallel run against ``reference.fit`` on the full batch, a 0/1 integer mask
against the same mask as booleans, a window size against the tuple it stands for.
"""

from __future__ import annotations

import importlib
import math
import numbers
import os
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference
from parity_tests.conftest import framework
from parity_tests.fuzz.oracle import outcome
from parity_tests.tolerances import tolerance
from reference import Dense, Sequential
from reference import parallel as spec_parallel
from reference.convolution import AveragePool2D, Conv1D, Conv2D, DepthwiseConv2D, MaxPool2D
from reference.normalization import BatchNormalization, LayerNormalization
from reference.optimizers import SGD
from reference.sequences import (
    GRU,
    LSTM,
    Embedding,
    MultiHeadAttention,
    SimpleRNN,
    scaled_dot_product_attention,
)
from reference.training import TrainingDiverged

LOSS = "mean_squared_error"
RATE = 0.5  # a power of two: Keras's float32 η is exact

# -- data parallelism ------------------------------------------------------------------------

# Each argument's valid values, then its invalid ones; world_size is the spec's alone (the
# mirrors take the process group's or the strategy's).
PARALLEL = {
    "epochs": ((0, 1, 2, np.int64(2)), (2.5, 2.0, -1, True, "2", None)),
    "world_size": ((1, 2, 3), (0, 2.5, True, "2", None, 9)),  # 9 > the 4 to 6 rows
    "optimizer": (("SGD",), ("sgd", 0.1, {"learning_rate": 0.1})),
}


def _model(dtype: np.dtype) -> Sequential:
    return Sequential([Dense(3, 4, "tanh", dtype=dtype), Dense(4, 2, "sigmoid", dtype=dtype)],
                      seed=0)


@st.composite
def parallel_runs(draw) -> dict:
    dtype = np.dtype(draw(st.sampled_from(("float64", "float32"))))
    n = draw(st.integers(4, 6))
    rng = np.random.default_rng(draw(st.integers(0, 3)))
    bad = draw(st.sampled_from([None, None, *PARALLEL]))
    arguments = {name: draw(st.sampled_from(values[name == bad]))
                 for name, values in PARALLEL.items()}
    if arguments["optimizer"] == "SGD":
        arguments["optimizer"] = SGD(RATE)
    return dict(dtype=dtype, X=rng.uniform(-1, 1, (n, 3)).astype(dtype),
                Y=rng.uniform(0.1, 0.9, (n, 2)).astype(dtype), bad=bad, **arguments)


@settings(max_examples=8)  # a TF run traces its step anew: about 1 s each
@given(run=parallel_runs())
def test_data_parallel_fit_checks_fits_arguments_and_equals_the_full_batch_run(
        run: dict, process_group) -> None:
    spec = outcome(lambda: spec_parallel.data_parallel_fit(
        _model(run["dtype"]), run["X"], run["Y"], LOSS, run["optimizer"], run["epochs"],
        run["world_size"]), "data_parallel_fit")
    assert (spec.error is None) == (run["bad"] is None), spec
    expected = None
    if run["bad"] in (None, "world_size"):  # what the mirrors compute
        expected = reference.fit(_model(run["dtype"]), run["X"], run["Y"], LOSS, SGD(RATE),
                                 run["epochs"], batch_size=None).loss
    tol = tolerance(run["dtype"], "loss trajectory")
    if spec.error is None:
        assert len(spec.value.loss) == len(expected)
        assert tol.error(spec.value.loss, expected) <= tol.rtol
    for name in ("torch", "tf"):
        fw = framework(name)
        module = fw.impl.from_reference(_model(run["dtype"]))
        entry = importlib.import_module(f"{fw.impl.__name__}.parallel").data_parallel_fit
        mirror = outcome(lambda entry=entry, module=module: entry(
            module, run["X"], run["Y"], LOSS, run["optimizer"], run["epochs"]),
            "data_parallel_fit")
        assert (mirror.error is None) == (expected is not None), f"{name}: {mirror}"
        if expected is not None:
            assert len(mirror.value.loss) == len(expected)
            assert tol.error(mirror.value.loss, expected) <= tol.rtol


def _models() -> dict[str, object]:
    spec = _model(np.dtype(np.float64))
    return {"reference": spec, "torch_impl": framework("torch").impl.from_reference(spec),
            "tf_impl": framework("tf").impl.from_reference(spec)}


@pytest.mark.parametrize("package", ["reference", "torch_impl", "tf_impl"])
@pytest.mark.parametrize("function", ["data_parallel_fit", "data_parallel_gradient"])
def test_a_model_of_another_package_is_refused_by_name(package, function,
                                                       process_group) -> None:
    entry = getattr(importlib.import_module(f"{package}.parallel"), function)
    X, Y = np.zeros((4, 3)), np.zeros((4, 2))
    for other, model in _models().items():
        if other == package:
            continue
        with pytest.raises(TypeError, match=rf"{function}: model must be .* got "
                                            rf"{type(model).__module__}"):
            entry(model, X, Y)


@pytest.mark.parametrize("package", ["reference", "torch_impl", "tf_impl"])
def test_a_diverging_data_parallel_run_stops_at_its_first_step(package, process_group) -> None:
    X, Y = np.ones((4, 3)), np.full((4, 2), 1e200)  # (1e200)² overflows: the loss is inf
    model = _models()[package]
    fit = importlib.import_module(f"{package}.parallel").data_parallel_fit
    runs = [{}] if package != "tf_impl" else [{}, {"keras_fit": True}]
    for options in runs:
        with pytest.raises(TrainingDiverged) as diverged:
            fit(model, X, Y, LOSS, SGD(RATE), 3, **options)
        assert diverged.value.step == 1 and math.isinf(diverged.value.loss), options


def test_torch_shard_rows_refuses_more_ranks_than_rows() -> None:
    """torch's sampler dealt 3 rows to 10⁹ ranks, copies and all, for minutes."""
    shard_rows = importlib.import_module("torch_impl.parallel").shard_rows
    with pytest.raises(ValueError, match=r"shard_rows: need 1 ≤ world_size ≤ n_samples, got "
                                         r"world_size 1000000000 for 3 samples"):
        shard_rows(3, 10**9)


def test_tf_shard_rows_refuses_more_rows_than_memory_holds() -> None:
    """10¹² rows ran on inside tf.data."""
    tf = framework("tf").tf
    shard_rows = importlib.import_module("tf_impl.parallel").shard_rows
    with pytest.raises(ValueError, match=r"shard_rows: the indices of 1000000000000 rows"):
        shard_rows(10**12, tf.distribute.get_strategy())


@pytest.mark.parametrize(("options", "error", "match"), [
    ({"keras_fit": np.True_}, None, None),  # NumPy's True, as every other switch takes it
    ({"keras_fit": "yes"}, TypeError, "keras_fit must be True or False, got 'yes'"),
    ({"loss": None}, TypeError, r"loss must be a loss name \(str\), got NoneType"),
    ({"loss": "mse"}, ValueError, "loss must be one of"),
])
def test_tf_data_parallel_fit_checks_its_switch_and_loss_as_fit(options, error, match) -> None:
    model = _models()["tf_impl"]
    X, Y = np.ones((4, 3)), np.full((4, 2), 0.5)
    arguments = {"loss": LOSS, "epochs": 0, **options}  # the checks alone: no step
    fit = importlib.import_module("tf_impl.parallel").data_parallel_fit
    if error is None:
        assert fit(model, X, Y, **arguments).loss == []
        return
    with pytest.raises(error, match=f"data_parallel_fit: {match}"):
        fit(model, X, Y, **arguments)


# -- masks -----------------------------------------------------------------------------------

MASK_KINDS = ("bool", "int 0/1", "uint8 0/1", "float 0/1", "float 0.5", "int 2", "str",
              "ragged", "shape")
LAYERS = {"LSTM": lambda: LSTM(2, 3, seed=0), "GRU": lambda: GRU(2, 3, seed=0),
          "SimpleRNN": lambda: SimpleRNN(2, 3, seed=0),
          "MultiHeadAttention": lambda: MultiHeadAttention(4, 2, seed=0)}


def _mask(kind: str, base: np.ndarray) -> object:
    if kind == "ragged":  # the last innermost row one entry short
        rows = base.tolist()
        last = rows
        while isinstance(last[-1][-1], list):
            last = last[-1]
        last[-1] = last[-1][:-1]
        return rows
    return {"bool": base, "int 0/1": base.astype(np.int64), "uint8 0/1": base.astype(np.uint8),
            "float 0/1": base.astype(np.float64), "float 0.5": np.where(base, 0.5, 0.0),
            "int 2": base * 2, "str": np.where(base, "yes", "no"),
            "shape": base[..., :-1]}[kind]


@given(kind=st.sampled_from(MASK_KINDS), name=st.sampled_from(sorted(LAYERS)),
       seed=st.integers(0, 3))
def test_a_mask_is_boolean_or_0_and_1_and_anything_else_is_refused(kind, name, seed) -> None:
    rng = np.random.default_rng(seed)
    layer = LAYERS[name]()
    n, t = 2, 4
    attention = name == "MultiHeadAttention"
    x = rng.standard_normal((n, t, 4 if attention else 2))
    base = rng.random((n, t, t) if attention else (n, t)) < 0.6
    base[..., 0] = True  # every query attends somewhere
    layer.mask = _mask(kind, base)
    result = outcome(lambda: layer.forward(x), layer.name)
    assert (result.error is None) == (kind in ("bool", "int 0/1", "uint8 0/1")), result
    if kind == "ragged":
        assert "ragged" in str(result.error)
    if result.error is None:
        layer.mask = base
        np.testing.assert_array_equal(result.value, layer.forward(x))


@pytest.mark.parametrize("mask", [np.full((1, 2, 2), 0.5), np.array([[["a", "b"]] * 2]),
                                  np.full((1, 2, 2), 3)])
def test_the_attention_function_takes_the_same_masks(mask) -> None:
    q = np.ones((1, 2, 2))
    with pytest.raises((TypeError, ValueError), match="scaled_dot_product_attention: mask"):
        scaled_dot_product_attention(q, q, q, mask)


# -- normalisation ε ------------------------------------------------------------------------

@pytest.mark.parametrize("layer", [BatchNormalization, LayerNormalization])
@given(epsilon=st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                         st.sampled_from([0, 1, -1, True, "1e-3", None, np.float32(1e-3)])))
def test_epsilon_is_finite_and_positive_and_keeps_a_constant_feature_finite(layer,
                                                                           epsilon) -> None:
    made = outcome(lambda: layer(3, epsilon=epsilon), layer.__name__)
    valid = epsilon is None or (isinstance(epsilon, numbers.Real) and
                                not isinstance(epsilon, bool) and math.isfinite(epsilon) and
                                epsilon > 0)
    assert (made.error is None) == valid, made
    if valid:
        y = made.value.forward(np.ones((4, 3)), training=True)  # σ² = 0: only ε divides
        assert np.all(np.isfinite(y))


# -- window sizes ---------------------------------------------------------------------------

SIZES = [1, 2, 3, np.int64(2), (2, 1), [1, 2], (2,), 2.5, 2.0, 0, -1, True, "2", (2, 2.0),
         (1, 1, 1), None, np.float64(2.0)]
WINDOWS = {
    "Conv1D": (1, lambda k, s, d: Conv1D(2, 3, k, strides=s, dilation_rate=d)),
    "Conv2D": (2, lambda k, s, d: Conv2D(2, 3, k, strides=s, dilation_rate=d)),
    "DepthwiseConv2D": (2, lambda k, s, d: DepthwiseConv2D(2, k, strides=s, dilation_rate=d)),
    "MaxPool2D": (2, lambda k, s, d: MaxPool2D(k, s)),
    "AveragePool2D": (2, lambda k, s, d: AveragePool2D(k, s)),
}


def _as_tuple(value: object, rank: int) -> tuple[int, ...] | None:
    """The tuple a valid window size stands for; None for an invalid one."""
    def whole(v: object) -> bool:
        return isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1
    if whole(value):
        return (int(value),) * rank
    if isinstance(value, tuple | list) and len(value) == rank and all(map(whole, value)):
        return tuple(int(v) for v in value)
    return None


@given(kind=st.sampled_from(sorted(WINDOWS)), what=st.sampled_from(["kernel", "strides",
                                                                   "dilation_rate"]),
       value=st.sampled_from(SIZES))
def test_window_sizes_are_whole_numbers_never_cut_floats(kind, what, value) -> None:
    rank, make = WINDOWS[kind]
    pool = "Pool" in kind
    sizes = {"kernel": 2, "strides": None if pool else 1, "dilation_rate": 1, what: value}
    made = outcome(lambda: make(sizes["kernel"], sizes["strides"], sizes["dilation_rate"]),
                   kind)
    if pool and what == "dilation_rate":  # pooling has no dilation: nothing to check
        return
    expected = _as_tuple(value, rank)
    if pool and what == "strides" and value is None:
        expected = (2,) * rank  # strides default to the pool size
    assert (made.error is None) == (expected is not None), made
    if expected is not None:
        attribute = {"kernel": "kernel_size"}.get(what, what)
        assert getattr(made.value, attribute) == expected


# -- the port's .keras reader -----------------------------------------------------------------

@pytest.fixture(scope="module")
def keras_bytes(keras) -> bytes:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.keras")
        model.save(path)
        with open(path, "rb") as file:
            return file.read()


@given(mutation=st.sampled_from(["truncate", "flip", "zeros", "random", "garbage"]),
       where=st.floats(0, 1), seed=st.integers(0, 1 << 16))
def test_a_mutated_keras_file_loads_or_is_refused_naming_the_file(keras_bytes, mutation,
                                                                  where, seed) -> None:
    from nn_rosetta import porting

    rng = np.random.default_rng(seed)
    data = bytearray(keras_bytes)
    at = min(int(where * len(data)), len(data) - 1)
    if mutation == "truncate":
        data = data[:at]
    elif mutation == "flip":
        data[at] ^= 1 << int(rng.integers(8))
    elif mutation == "zeros":
        data[at:at + 64] = bytes(len(data[at:at + 64]))
    elif mutation == "random":
        data = bytearray(rng.bytes(len(data)))
    else:
        data += rng.bytes(100)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.keras")
        with open(path, "wb") as file:
            file.write(bytes(data))
        result = outcome(lambda: porting.load(path), path)
    if result.error is not None:
        assert type(result.error).__name__ == "KerasFileError", result.error


# -- switches --------------------------------------------------------------------------------

SWITCHES = {
    ("Embedding", "mask_zero"): lambda v: Embedding(3, 2, mask_zero=v),
    ("LSTM", "return_sequences"): lambda v: LSTM(2, 3, return_sequences=v),
    ("GRU", "reset_after"): lambda v: GRU(2, 3, reset_after=v),
    ("AveragePool2D", "count_include_pad"): lambda v: AveragePool2D(2, count_include_pad=v),
}


@pytest.mark.parametrize(("kind", "what"), sorted(SWITCHES))
@pytest.mark.parametrize("value", [True, False, np.bool_(True), "no", "False", 1, 0, None, 1.0])
def test_a_switch_is_true_or_false_never_a_value_read_as_one(kind, what, value) -> None:
    made = outcome(lambda: SWITCHES[kind, what](value), kind)
    assert (made.error is None) == isinstance(value, bool | np.bool_), made
    if made.error is None:
        assert getattr(made.value, what) is bool(value)


@pytest.mark.parametrize("value", [1.0, True, "1", -1, 3])
def test_a_padding_index_is_an_integer_inside_the_table(value) -> None:
    with pytest.raises(ValueError, match=r"Embedding: padding_idx must be None or an integer"):
        Embedding(3, 2, padding_idx=value)
