"""Fuzz (issue 25), generated: every spec layer kind (``reference.layers.LAYERS``), each
constructor argument given one value drawn, with a fixed seed, from a menu of what an
outside user might pass (valid, at the edges, of the wrong type: floats for integers,
bools, NumPy scalars, strings, None, tuples of the wrong length, nested lists, ±inf, NaN,
−0.0, 1e300, 10**20); then the layer, where the spec takes it, run by the spec and by
both mirrors (``from_reference``) on float64 and float32 inputs, and the base layer of
each kind on inputs of odd layouts and dtypes. The oracle is ``oracle.py``: a clear error
naming the kind, or the spec's numbers from all three.

Below the sweep, one test per bug the sweep found, each failing before its fix.
"""

from __future__ import annotations

import inspect
import json
import math
import zlib

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework
from parity_tests.fuzz.oracle import Outcome, assert_same, outcome, spec_outcome
from reference import layers
from reference._validation import as_float_array
from reference.convolution import (
    Conv2D,
    Conv2DTranspose,
    MaxPool2D,
    UpSampling2D,
)
from reference.graphs import Input, Model
from reference.layers import LAYERS, Dropout, LeakyReLU, ReLU
from reference.normalization import BatchNormalization, LayerNormalization, Rescaling
from reference.sequences import LSTM, Bidirectional, MultiHeadAttention, TimeDistributed

# kind → (positional arguments, per-sample input shape): a layer the spec takes
BASE: dict[str, tuple[tuple, tuple[int, ...]]] = {
    "Dense": ((3, 2), (3,)), "Flatten": ((), (2, 3)), "Dropout": ((0.5,), (4,)),
    "Activation": (("tanh",), (4,)), "ReLU": ((), (4,)), "LeakyReLU": ((), (4,)),
    "Softmax": ((), (4,)), "Reshape": (((2, 3),), (6,)), "Permute": (((2, 1),), (2, 3)),
    "Conv1D": ((2, 3, 3), (7, 2)), "Conv2D": ((2, 3, 3), (6, 6, 2)),
    "DepthwiseConv2D": ((2, 3), (6, 6, 2)), "MaxPool2D": ((), (6, 6, 2)),
    "AveragePool2D": ((), (6, 6, 2)), "GlobalAveragePooling2D": ((), (4, 4, 2)),
    "ZeroPadding2D": ((), (4, 4, 2)), "Cropping2D": ((1,), (5, 5, 2)),
    "UpSampling2D": ((), (3, 3, 2)), "Conv2DTranspose": ((2, 3, 3), (4, 4, 2)),
    "SeparableConv2D": ((2, 3, 3), (6, 6, 2)), "GlobalMaxPooling2D": ((), (4, 4, 2)),
    "GlobalAveragePooling1D": ((), (5, 3)), "Add": ((), (3,)), "Subtract": ((), (3,)),
    "Multiply": ((), (3,)), "Average": ((), (3,)), "Maximum": ((), (3,)),
    "Concatenate": ((), (3,)), "BatchNormalization": ((3,), (3,)),
    "LayerNormalization": ((3,), (3,)), "Rescaling": ((0.5, 0.25), (3,)),
    "Normalization": (([0.5, 0.1, -0.2], [2.0, 0.5, 1.0]), (3,)),
    "Embedding": ((5, 3), (4,)), "SimpleRNN": ((3, 4), (5, 3)), "LSTM": ((3, 4), (5, 3)),
    "GRU": ((3, 4), (5, 3)), "TimeDistributed": ((), (5, 3)),
    "MultiHeadAttention": ((6, 2), (4, 6)), "Bidirectional": ((), (5, 3)),
}
# the options a kind takes through **options (those of Conv2D, or of a pooling layer)
OPTIONS = {"DepthwiseConv2D": ("strides", "padding", "dilation_rate", "activation",
                               "use_bias", "dtype", "seed", "name"),
           "SeparableConv2D": ("strides", "padding", "dilation_rate", "activation",
                               "use_bias", "dtype", "seed", "name"),
           "AveragePool2D": ("dtype", "name")}
# Where a mirror refuses what the spec computes, by name: (kind, argument or None for
# every argument) → (the mirror, the entry point its error names). A convention one
# framework has and the other lacks (each mirror's concept file says which), and torch's
# input check of a TimeDistributed(Dense) first (the last test of this file).
GAPS = {("Embedding", "padding_idx"): ("tf", "from_reference"),
        ("Embedding", "mask_zero"): ("torch", "from_reference"),
        ("GRU", "reset_after"): ("torch", "from_reference"),
        ("TimeDistributed", None): ("torch", "model")}
MENU = (-1, 0, 1, 2, 3, 2.5, 2.0, True, False, np.int64(2), np.float32(2.0),
        np.float64(0.5), np.bool_(True), "2", None, (), (2,), (2, 2), (2, 2, 2), [2, 2],
        [[2]], math.inf, -math.inf, math.nan, -0.0, 1e300, 10**20, 0.5, np.array([2, 2]),
        "same", "valid", "relu", "bogus", "sum", "float32", "float16", {"a": 1})


def _wrapped(kind: str, dtype: str) -> tuple:
    """The layer a wrapper kind wraps."""
    if kind == "TimeDistributed":
        return (reference.Dense(3, 2, dtype=dtype, seed=1),)
    return (LSTM(3, 4, dtype=dtype, seed=1),) if kind == "Bidirectional" else ()


def _arguments(kind: str) -> list[str]:
    signature = inspect.signature(LAYERS[kind].__init__)
    return [name for name, p in signature.parameters.items() if name != "self" and
            p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)] + list(OPTIONS.get(kind, ()))


def _drawn(kind: str, argument: str) -> object:
    """The menu's value for this argument of this kind: seeded by the pair's name, so a
    run gives the same cases, and a new kind or argument gets its own draw."""
    rng = np.random.default_rng(zlib.crc32(f"{kind}.{argument}".encode()))
    return MENU[int(rng.integers(len(MENU)))]


CASES = [(kind, argument) for kind in BASE for argument in _arguments(kind)]


def _model(layer: layers.Layer, shape: tuple[int, ...]) -> reference.Sequential | Model:
    if not layer.merges:
        return reference.Sequential([layer], input_shape=shape, seed=2)
    a, b = Input(shape, name="a"), Input(shape, name="b")
    return Model([a, b], layer([a, b]))


def _input(model: reference.Sequential | Model, dtype: np.dtype) -> object:
    rng = np.random.default_rng(3)
    if isinstance(model, Model):
        return [rng.standard_normal((2, *t.shape)).astype(dtype) for t in model.inputs]
    if model.layers[0].input_kind == "indices":
        return rng.integers(0, 5, (2, *model.input_shape))
    return rng.standard_normal((2, *model.input_shape)).astype(dtype)


def _torch(model: reference.Sequential | Model, x: object) -> np.ndarray:
    """The torch mirror on x: torch's channels-first layout at the boundary, the input
    under the spec's policy (``Torch.checked_input``, as ``torch_impl.fit`` checks it)."""
    torch_side = framework("torch")
    module = torch_side.impl.from_reference(model)
    module.eval()
    if isinstance(model, Model):
        with torch_side.torch.no_grad():
            return module(*map(torch_side.torch.from_numpy, x)).numpy()
    feature_maps = any(getattr(layer, "channels_last", False) for layer in model.layers)
    x = np.moveaxis(x, -1, 1) if feature_maps else x
    with torch_side.torch.no_grad():
        y = module(torch_side.checked_input(module, x))
    return (torch_side.impl.convolution.channels_last(y) if feature_maps and y.dim() >= 3
            else y).numpy()


def _tf(model: reference.Sequential | Model, x: object) -> np.ndarray:
    return np.asarray(framework("tf").impl.from_reference(model)(x, training=False))


def _mirror(run, model, x, kind: str, argument: str | None, side: str) -> Outcome:
    """The mirror's output, or, where GAPS says it refuses, its refusal naming GAPS's
    entry point (None then: the refusal is the case's expected outcome)."""
    gap = GAPS.get((kind, argument)) or GAPS.get((kind, None))
    if gap is not None and gap[0] == side:
        outcome(lambda: run(model, x), gap[1])
        return Outcome(error=TypeError("a documented gap"))
    return Outcome(value=run(model, x))


@pytest.mark.parametrize(("kind", "argument"), CASES, ids=[f"{k}.{a}" for k, a in CASES])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_generated_argument_gives_the_spec_s_numbers_or_a_refusal_naming_the_kind(
        kind, argument, dtype) -> None:
    positional, shape = BASE[kind]
    positional = positional or _wrapped(kind, dtype)
    arguments = dict(zip(_arguments(kind), positional, strict=False))
    if "dtype" in _arguments(kind) and argument != "dtype":
        arguments["dtype"] = dtype
    arguments[argument] = _drawn(kind, argument)
    made = outcome(lambda: LAYERS[kind](**arguments), kind)
    if made.error is not None:
        return
    layer = made.value
    json.dumps(layer.config())  # the config is JSON: no NumPy scalar in it
    built = outcome(lambda: _model(layer, shape), "Sequential")
    if built.error is not None:  # a layer that cannot take the base input: named there
        return
    model = built.value
    computes = model.dtype  # the layer's, or float64 for layers without weights
    x = _input(model, computes)
    spec = outcome(lambda: model.forward(x), kind)
    if spec.error is not None:
        return
    what = f"{kind}({argument}={arguments[argument]!r})"
    for side, run in (("torch", _torch), ("tf", _tf)):
        mirror = _mirror(run, model, x, kind, argument, side)
        if mirror.error is None:
            assert_same(spec, mirror, computes, f"{side}: {what}")


def _variants(shape: tuple[int, ...], dtype: np.dtype) -> dict[str, object]:
    """What a user may hand a model as x: each layout and dtype the policy converts or
    refuses, in a batch the layer takes, and the shapes it does not take."""
    x = np.random.default_rng(4).standard_normal((2, *shape)).astype(dtype)
    read_only = x.copy()
    read_only.flags.writeable = False
    return {"ok": x, "one sample": x[0], "an extra axis": x[..., None],
            "0-d": np.array(1.0, dtype), "int64": (3 * x).astype(np.int64),
            "bool": x > 0, "float16": x.astype(np.float16),
            "uint8": np.abs(3 * x).astype(np.uint8), "complex": x.astype(np.complex64),
            "strings": x.astype(str), "objects": x.astype(object),
            "negative strides": x[::-1], "Fortran order": np.asfortranarray(x),
            "read-only": read_only, "a nested list": x.tolist(),
            "broadcast": np.broadcast_to(x[:1], x.shape),
            "every other column": np.repeat(x, 2, axis=-1)[..., ::2], "±inf": np.where(
                np.arange(x.size).reshape(x.shape) % 3 == 0, np.inf, -x).astype(dtype)}


INPUT_KINDS = [kind for kind in BASE if kind not in ("Embedding",) and
               not LAYERS[kind].merges]


@pytest.mark.parametrize("kind", INPUT_KINDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_an_odd_input_gives_the_spec_s_numbers_in_both_mirrors_or_a_clear_refusal(
        kind, dtype) -> None:
    """Two seeded inputs per kind and dtype. The spec refuses clearly or computes; where it
    computes, both mirrors compute its numbers on the input as the spec's policy read it
    (Keras's own call takes tensors only, torch's the input of ``checked_input``)."""
    positional, shape = BASE[kind]
    options = {"dtype": dtype} if "dtype" in _arguments(kind) else {}
    layer = LAYERS[kind](*(positional or _wrapped(kind, dtype)), **options)
    model = reference.Sequential([layer], input_shape=shape, seed=2)
    variants = _variants(shape, np.dtype(dtype))
    rng = np.random.default_rng(zlib.crc32(f"{kind}.{dtype}".encode()))
    for label in rng.choice(sorted(variants), 2, replace=False):
        x = variants[label]
        spec = spec_outcome(lambda x=x: model.forward(x), "Sequential")
        if spec.error is not None:
            continue
        read = as_float_array(x, np.dtype(dtype), "test", "x")
        for side, run in (("torch", _torch), ("tf", _tf)):
            mirror = _mirror(run, model, read, kind, None, side)
            if mirror.error is None:
                assert_same(spec, mirror, np.dtype(dtype), f"{side}: {kind} on {label}")


# -- one test per bug the sweep found --------------------------------------------------------

@pytest.mark.parametrize("ceiling", [0, 0.0, -0.0])
def test_a_relu_ceiling_of_zero_is_refused_by_the_spec(ceiling) -> None:
    """ReLU(max_value=0) gives 0 everywhere; torch's nn.Hardtanh(0, 0) raised an
    AssertionError ('max_val (0.0) must be greater than min_val (0.0)')."""
    with pytest.raises(ValueError, match=r"ReLU: max_value must be a finite number in \(0"):
        ReLU(max_value=ceiling)


@pytest.mark.parametrize("make", [
    lambda v: ReLU(max_value=v), lambda v: ReLU(threshold=v), lambda v: ReLU(negative_slope=v),
    lambda v: LeakyReLU(v), lambda v: layers.Activation("leaky_relu", negative_slope=v),
    lambda v: Rescaling(v), lambda v: Rescaling(1.0, v), lambda v: BatchNormalization(3, None, v),
    lambda v: LayerNormalization(3, v),
], ids=["ReLU.max_value", "ReLU.threshold", "ReLU.negative_slope", "LeakyReLU", "Activation",
        "Rescaling.scale", "Rescaling.offset", "BatchNormalization", "LayerNormalization"])
def test_a_constant_beyond_float32_s_range_is_refused(make) -> None:
    """TF holds these in float32 (or the layer computes in float32): 1e300 became inf there,
    Keras's ReLU said 'Can't convert Python sequence with a value out of range', NumPy
    warned 'overflow encountered in cast'."""
    with pytest.raises(ValueError, match=r"3\.40282e\+38|3\.4028234663852886e\+38"):
        make(1e300)


@pytest.mark.parametrize("make", [lambda s: Conv2D(2, 3, 3, strides=s),
                                  lambda s: MaxPool2D(2, s)], ids=["Conv2D", "MaxPool2D"])
@pytest.mark.parametrize("stride", [2**31, 10**20])
def test_a_window_size_beyond_int32_is_refused(make, stride) -> None:
    """A stride of 2**31 gives one output cell in the spec; torch ('value cannot be
    converted to type int without overflow') and TF (InvalidArgumentError) failed."""
    with pytest.raises(ValueError, match=r"strides must be .* each at most 2\*\*31 − 1"):
        make(stride)


@pytest.mark.parametrize("name", [False, 0, (), np.array(["a", "b"])], ids=repr)
@pytest.mark.parametrize("make", [lambda n: Conv2D(2, 3, 3, name=n),
                                  lambda n: MaxPool2D(name=n), lambda n: UpSampling2D(name=n),
                                  lambda n: Conv2DTranspose(2, 3, 3, name=n),
                                  lambda n: layers.Activation("relu", default_name=n)],
                         ids=["Conv2D", "MaxPool2D", "UpSampling2D", "Conv2DTranspose",
                              "Activation.default_name"])
def test_a_convolution_s_falsy_name_is_refused_not_replaced(make, name) -> None:
    """``name or default``: False and 0 became the default name, an array of names raised
    NumPy's 'truth value of an array is ambiguous'."""
    with pytest.raises(TypeError, match=r"name must be a str or None"):
        make(name)


@pytest.mark.parametrize("noise_shape", [(), (2,), (2, 2), (None, 1, 1)])
def test_a_noise_shape_that_cannot_fit_is_refused_when_the_model_is_built(noise_shape) -> None:
    """Inference ignored the noise shape: the spec computed, torch's from_reference raised
    'zip() argument 2 is longer than argument 1' or a RuntimeError of tensor sizes."""
    with pytest.raises(ValueError, match=r"Sequential: .*noise_shape .* does not fit"):
        reference.Sequential([Dropout(0.5, noise_shape=noise_shape)], input_shape=(4,))


def test_a_noise_shape_of_a_sequence_of_any_length_fits() -> None:
    model = reference.Sequential([Dropout(0.5, noise_shape=(None, 1, 3))],
                                 input_shape=(None, 3))
    x = np.ones((2, 5, 3))
    np.testing.assert_array_equal(model.forward(x), x)


@pytest.mark.parametrize("backward_layer", [3, "lstm", [LSTM(3, 4)]], ids=repr)
def test_bidirectional_names_itself_for_a_backward_layer_of_another_type(backward_layer) -> None:
    """AttributeError: 'int' object has no attribute 'config'."""
    with pytest.raises(TypeError, match=r"Bidirectional: backward_layer must be a LSTM or None"):
        Bidirectional(LSTM(3, 4), backward_layer=backward_layer)


def test_attention_heads_counted_in_numpy_integers_build_in_keras() -> None:
    """embed_dim // num_heads of np.int64s stayed an np.int64 key_dim, which Keras refused
    ('expected a positive integer. Received: key_dim=3')."""
    layer = MultiHeadAttention(np.int64(6), np.int64(2), seed=0)
    assert type(layer.key_dim) is type(layer.key_features) is int
    model = reference.Sequential([layer], input_shape=(4, 6))
    x = np.random.default_rng(5).standard_normal((2, 4, 6))
    assert_same(Outcome(value=model.forward(x)), Outcome(value=_tf(model, x)),
                np.dtype("float64"), "tf")


@pytest.mark.parametrize("make", [ReLU, lambda: ReLU(max_value=6.0),
                                  lambda: ReLU(threshold=1.0)], ids=["ReLU", "ReLU6", "threshold"])
def test_relu_of_minus_infinity_is_zero(make) -> None:
    """0 · (−∞ − t) gave NaN (and a RuntimeWarning) where torch and Keras give 0."""
    x = np.array([[-np.inf, np.inf, np.nan, -1.0, 2.0]])
    y = make().forward(x)
    assert y[0, 0] == 0 and np.isnan(y[0, 2])
    np.testing.assert_array_equal(y, _torch(reference.Sequential([make()], input_shape=(5,)),
                                            x))


def test_keras_relu_with_a_threshold_gives_zero_for_nan_as_tf_impl_says() -> None:
    """The one NaN the Keras mirror does not pass on (``tf_impl.layers.ReLU``): Keras
    computes where(x > t, x, 0); the spec and torch keep NaN in, NaN out."""
    model = reference.Sequential([ReLU(threshold=1.0)], input_shape=(2,))
    x = np.array([[np.nan, 2.0]])
    np.testing.assert_array_equal(model.forward(x), [[np.nan, 2.0]])
    np.testing.assert_array_equal(_torch(model, x), [[np.nan, 2.0]])
    np.testing.assert_array_equal(_tf(model, x), [[0.0, 2.0]])


def test_keras_relu_constants_are_float32_even_in_float64_as_tf_impl_says() -> None:
    """Left as it is (``tf_impl.layers.ReLU``): Keras casts max_value and threshold
    through float32, the spec and torch keep the float64 number; the day Keras keeps
    float64, this test fails and the note goes."""
    x = np.array([[0.1000000001, 0.2]])
    ceiling = reference.Sequential([ReLU(max_value=0.1)], input_shape=(2,))
    threshold = reference.Sequential([ReLU(threshold=0.1)], input_shape=(2,))
    np.testing.assert_array_equal(_torch(ceiling, x), ceiling.forward(x))
    np.testing.assert_array_equal(_tf(ceiling, x)[0, 1], float(np.float32(0.1)))
    np.testing.assert_array_equal(threshold.forward(x)[0, 0], 0.1000000001)
    np.testing.assert_array_equal(_tf(threshold, x)[0, 0], 0.0)


@pytest.mark.parametrize("make", [lambda: Dropout(0.5, seed=np.int64(2)),
                                  lambda: layers.Activation("elu", alpha=np.float32(0.5))],
                         ids=["Dropout.seed", "Activation.alpha"])
def test_a_config_holding_numpy_scalars_is_json(make) -> None:
    """json.dumps(config()) said 'Object of type int64 is not JSON serializable'."""
    assert json.loads(json.dumps(make().config())) == make().config()


@pytest.mark.parametrize(("make", "read"), [
    (lambda v: Dropout(v), lambda layer: layer.rate),
    (lambda v: BatchNormalization(3, v), lambda layer: layer.momentum),
    (lambda v: reference.Dense(3, 2, kernel_regularizer=v),
     lambda layer: layer.kernel_regularizer),
    (lambda v: LeakyReLU(v), lambda layer: layer.negative_slope),
], ids=["Dropout.rate", "BatchNormalization.momentum", "Dense.kernel_regularizer",
        "LeakyReLU"])
@pytest.mark.parametrize("value", [np.float32(0.5), np.float16(0.5), np.int64(0)], ids=repr)
def test_a_numpy_scalar_is_a_number(make, read, value) -> None:
    """np.float32(0.5) was refused as 'must be a number in [0, 1), got np.float32(0.5)'
    (and np.int64(0) by LeakyReLU); kept as a Python float."""
    kept = read(make(value))
    assert type(kept) is float and kept == float(value)


def test_time_distributed_first_is_refused_by_torch_s_input_check() -> None:
    """Left as it is: a torch nn.Sequential does not say whether its first nn.Linear is a
    Dense, which takes (N, features), or a TimeDistributed(Dense), which takes (N, T,
    features); the check takes the Dense's shape, so torch_impl.fit refuses the (N, T,
    features) batch that the spec and Keras take. The day it computes, this test fails:
    then the generated sweep can run TimeDistributed through torch."""
    model = reference.Sequential([TimeDistributed(reference.Dense(3, 2))], input_shape=(5, 3))
    x = np.random.default_rng(6).standard_normal((2, 5, 3))
    with pytest.raises(ValueError, match=r"model: input x must have shape \(N, 3\)"):
        _torch(model, x)
