"""Fuzz: the layer kinds of graphs and image models (merges, Reshape, Permute,
Cropping2D, UpSampling2D, Conv2DTranspose, SeparableConv2D, Bidirectional, Rescaling,
Normalization) given arguments an outside user might: mismatched shapes, floats and
bools for integers, NaN and ±inf, sizes of 0, unknown names; and every layer kind's
``training`` switch.

A valid call's result is checked against NumPy written out here; anything else is a
clear error naming the layer (``oracle.outcome``).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from parity_tests.fuzz.oracle import outcome
from reference import layers, merging, registry
from reference.convolution import (
    AveragePool2D,
    Conv2D,
    Conv2DTranspose,
    Cropping2D,
    DepthwiseConv2D,
    MaxPool2D,
    SeparableConv2D,
    UpSampling2D,
)
from reference.layers import Dropout, Permute, Reshape
from reference.normalization import (
    BatchNormalization,
    LayerNormalization,
    Normalization,
    Rescaling,
)
from reference.sequences import GRU, LSTM, Bidirectional, MultiHeadAttention

RNG = np.random.default_rng(0)

# -- merge layers -----------------------------------------------------------------------------

SHAPES = [(2, 3), (2, 4), (2, 1), (1, 3), (3, 3), (2, 3, 1), (3,), (0, 3)]
MERGES = {  # kind → (fewest inputs, most inputs, y from the inputs when their shapes allow)
    "Add": (2, None, lambda xs: sum(xs[1:], xs[0])),
    "Subtract": (2, 2, lambda xs: xs[0] - xs[1]),
    "Multiply": (2, None, lambda xs: np.prod(np.broadcast_arrays(*xs), axis=0)),
    "Average": (2, None, lambda xs: sum(xs[1:], xs[0]) / len(xs)),
    "Maximum": (2, None, lambda xs: np.max(np.stack(xs), axis=0)),
    "Concatenate": (2, None, lambda xs: np.concatenate(xs, axis=-1)),
}


def _mergeable(kind: str, shapes: list[tuple[int, ...]]) -> bool:
    """Whether ``kind`` takes inputs of these full shapes (batch first), as the module
    docstring of ``reference.merging`` states its rules."""
    fewest, most, _ = MERGES[kind]
    if len(shapes) < fewest or (most is not None and len(shapes) > most):
        return False
    if any(len(s) < 2 for s in shapes) or len({s[0] for s in shapes}) > 1 or \
            len({len(s) for s in shapes}) > 1:
        return False
    if kind == "Concatenate":
        return len({s[:-1] for s in shapes}) == 1
    if kind == "Multiply":  # per-sample axes equal or 1
        return all(len({n for n in sizes if n != 1}) <= 1 for sizes in zip(*shapes, strict=True))
    return len(set(shapes)) == 1


@given(kind=st.sampled_from(sorted(MERGES)),
       shapes=st.lists(st.sampled_from(SHAPES), min_size=1, max_size=3),
       float32=st.booleans())
def test_a_merge_computes_what_numpy_does_or_refuses_by_name(kind, shapes, float32) -> None:
    xs = [RNG.standard_normal(shape) for shape in shapes]
    if float32:  # one input in the other float dtype: refused, never cast
        xs[-1] = xs[-1].astype(np.float32)
    made = outcome(lambda: getattr(merging, kind)().forward(xs), kind)
    valid = _mergeable(kind, shapes) and not (float32 and len(xs) > 1)
    assert (made.error is None) == valid, (shapes, made)
    if valid:
        np.testing.assert_allclose(made.value, MERGES[kind][2](xs), rtol=1e-12)


@pytest.mark.parametrize("axis", [1, -1, 2, 0, -3, 3, 1.0, True, "1", None, 10**20])
def test_concatenate_takes_a_feature_axis_of_its_inputs(axis) -> None:
    xs = [RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 3, 4))]
    made = outcome(lambda: merging.Concatenate(axis).forward(xs), "Concatenate")
    valid = axis in (1, -1, 2) and not isinstance(axis, bool | float)
    assert (made.error is None) == valid, made
    if valid:
        np.testing.assert_array_equal(made.value, np.concatenate(xs, axis=axis))


# -- the new kinds' arguments -------------------------------------------------------------------

IMAGE = RNG.standard_normal((2, 5, 5, 3))
SEQUENCE = RNG.standard_normal((2, 4, 3))
ROWS = RNG.standard_normal((2, 8))
# (kind, build, input, y as NumPy computes it, or None: refused by name)
CASES = [
    ("Reshape", lambda: Reshape((2, 4)), ROWS, ROWS.reshape(2, 2, 4)),
    ("Reshape", lambda: Reshape((2, -1)), ROWS, ROWS.reshape(2, 2, 4)),
    ("Reshape", lambda: Reshape((3,)), ROWS, None),
    ("Reshape", lambda: Reshape((3, -1)), ROWS, None),
    ("Reshape", lambda: Reshape((-1, -1)), ROWS, None),
    ("Reshape", lambda: Reshape((0, 8)), ROWS, None),
    ("Reshape", lambda: Reshape((2.0, 4)), ROWS, None),
    ("Reshape", lambda: Reshape((True, 8)), ROWS, None),
    ("Reshape", lambda: Reshape("8"), ROWS, None),
    ("Reshape", lambda: Reshape(()), ROWS, None),
    ("Reshape", lambda: Reshape((10**12,)), ROWS, None),
    ("Permute", lambda: Permute((2, 1)), SEQUENCE, SEQUENCE.transpose(0, 2, 1)),
    ("Permute", lambda: Permute((1, 1)), SEQUENCE, None),
    ("Permute", lambda: Permute((0, 1)), SEQUENCE, None),
    ("Permute", lambda: Permute((1, 2, 3)), SEQUENCE, None),
    ("Permute", lambda: Permute((2.0, 1.0)), SEQUENCE, None),
    ("Permute", lambda: Permute((True, 2)), SEQUENCE, None),
    ("Permute", lambda: Permute("21"), SEQUENCE, None),
    ("Cropping2D", lambda: Cropping2D(1), IMAGE, IMAGE[:, 1:4, 1:4]),
    ("Cropping2D", lambda: Cropping2D(((2, 0), (0, 1))), IMAGE, IMAGE[:, 2:, :4]),
    ("Cropping2D", lambda: Cropping2D(3), IMAGE, None),  # larger than the image
    ("Cropping2D", lambda: Cropping2D(((5, 0), (0, 0))), IMAGE, None),
    ("Cropping2D", lambda: Cropping2D(-1), IMAGE, None),
    ("Cropping2D", lambda: Cropping2D(1.5), IMAGE, None),
    ("Cropping2D", lambda: Cropping2D(True), IMAGE, None),
    ("Cropping2D", lambda: Cropping2D(((1, 1),)), IMAGE, None),
    ("Cropping2D", lambda: Cropping2D(1), ROWS, None),  # not an image
    ("UpSampling2D", lambda: UpSampling2D(2), IMAGE, IMAGE.repeat(2, 1).repeat(2, 2)),
    ("UpSampling2D", lambda: UpSampling2D((1, 3)), IMAGE, IMAGE.repeat(3, 2)),
    ("UpSampling2D", lambda: UpSampling2D(0), IMAGE, None),
    ("UpSampling2D", lambda: UpSampling2D((2, 0)), IMAGE, None),
    ("UpSampling2D", lambda: UpSampling2D(1.5), IMAGE, None),
    ("UpSampling2D", lambda: UpSampling2D(True), IMAGE, None),
    ("UpSampling2D", lambda: UpSampling2D(2, "bicubic"), IMAGE, None),
    ("UpSampling2D", lambda: UpSampling2D(2, None), IMAGE, None),
    ("Conv2DTranspose", lambda: Conv2DTranspose(3, 2, 3, strides=2, output_padding=2),
     IMAGE, None),
    ("Conv2DTranspose", lambda: Conv2DTranspose(3, 2, 3, strides=2, output_padding=-1),
     IMAGE, None),
    ("Conv2DTranspose", lambda: Conv2DTranspose(3, 2, 3, strides=2, output_padding=1.0),
     IMAGE, None),
    ("Conv2DTranspose", lambda: Conv2DTranspose(3, 2, 3, strides=2, output_padding=True),
     IMAGE, None),
    ("Conv2DTranspose", lambda: Conv2DTranspose(3, 0, 3), IMAGE, None),
    ("Conv2DTranspose", lambda: Conv2DTranspose(3, 2.0, 3), IMAGE, None),
    ("Conv2DTranspose", lambda: Conv2DTranspose(3, 2, 3, strides=0), IMAGE, None),
    ("Conv2DTranspose", lambda: Conv2DTranspose(3, 2, 3, padding="full"), IMAGE, None),
    ("Conv2DTranspose", lambda: Conv2DTranspose(4, 2, 3), IMAGE, None),  # channels
    ("SeparableConv2D", lambda: SeparableConv2D(3, 2, 3, depth_multiplier=0), IMAGE, None),
    ("SeparableConv2D", lambda: SeparableConv2D(3, 2, 3, depth_multiplier=1.0), IMAGE,
     None),
    ("SeparableConv2D", lambda: SeparableConv2D(3, 2, 3, depth_multiplier=True), IMAGE,
     None),
    ("SeparableConv2D", lambda: SeparableConv2D(3, 0, 3), IMAGE, None),
    ("SeparableConv2D", lambda: SeparableConv2D(4, 2, 3), IMAGE, None),  # channels
    ("Bidirectional", lambda: Bidirectional(LSTM(3, 2), merge_mode="max"), SEQUENCE, None),
    ("Bidirectional", lambda: Bidirectional(LSTM(3, 2), merge_mode=None), SEQUENCE, None),
    ("Bidirectional", lambda: Bidirectional(layers.Dense(3, 2)), SEQUENCE, None),
    ("Bidirectional", lambda: Bidirectional(LSTM), SEQUENCE, None),
    ("Bidirectional", lambda: Bidirectional(LSTM(3, 2), backward_layer=GRU(3, 2)),
     SEQUENCE, None),
    ("Bidirectional", lambda: Bidirectional(LSTM(3, 2), seed=2.5), SEQUENCE, None),
    ("Bidirectional", lambda: Bidirectional(LSTM(4, 2)), SEQUENCE, None),  # width
    ("Rescaling", lambda: Rescaling(0.5, -1), ROWS, ROWS * 0.5 - 1),
    ("Rescaling", lambda: Rescaling(np.float32(0.5)), ROWS, ROWS * 0.5),
    ("Rescaling", lambda: Rescaling(math.nan), ROWS, None),
    ("Rescaling", lambda: Rescaling(math.inf), ROWS, None),
    ("Rescaling", lambda: Rescaling(1.0, -math.inf), ROWS, None),
    ("Rescaling", lambda: Rescaling("1"), ROWS, None),
    ("Rescaling", lambda: Rescaling(True), ROWS, None),
    ("Normalization", lambda: Normalization([1.0, 2.0, 3.0], [4.0, 1.0, 0.25]), IMAGE,
     (IMAGE - [1.0, 2.0, 3.0]) / [2.0, 1.0, 0.5]),
    ("Normalization", lambda: Normalization(1.0, 4.0), ROWS, (ROWS - 1.0) / 2.0),
    ("Normalization", lambda: Normalization(0.0, -1.0), ROWS, None),
    ("Normalization", lambda: Normalization([0.0, 0.0], [1.0, 1.0]), IMAGE, None),  # C
    ("Normalization", lambda: Normalization([0.0] * 3, [1.0] * 2), IMAGE, None),
    ("Normalization", lambda: Normalization(math.nan, 1.0), ROWS, None),
    ("Normalization", lambda: Normalization(0.0, math.inf), ROWS, None),
    ("Normalization", lambda: Normalization([[0.0]], [[1.0]]), ROWS, None),
    ("Normalization", lambda: Normalization("0", 1.0), ROWS, None),
    ("Normalization", lambda: Normalization(0.0, 1.0, axis=1), ROWS, None),
]


@pytest.mark.parametrize(("kind", "build", "x", "expected"), CASES,
                         ids=[f"{c[0]}-{k}" for k, c in enumerate(CASES)])
def test_a_new_kind_computes_what_numpy_does_or_refuses_by_name(kind, build, x,
                                                                expected) -> None:
    made = outcome(lambda: build().forward(x), kind)
    assert (made.error is None) == (expected is not None), made
    if expected is not None:
        np.testing.assert_allclose(made.value, expected, rtol=1e-12)


# -- every layer kind's training switch --------------------------------------------------------

def _registry_layers() -> dict[str, layers.Layer]:
    """One instance of every layer kind the registry's layer and graph cases build."""
    found: dict[str, layers.Layer] = {}
    modules = ("layers", "convolution", "normalization", "sequences", "merging", "graphs")
    for concept in (c for module in modules for c in registry.concepts(module)):
        for case in concept.cases:
            model = case.make(np.random.default_rng(0), np.dtype(np.float64), 2)["model"]
            for layer in getattr(model, "layers", [model]):
                found.setdefault(type(layer).__name__, layer)
    return found


KINDS = _registry_layers()


def test_the_registry_builds_every_layer_kind() -> None:
    assert set(layers.LAYERS) - set(KINDS) <= {"TimeDistributed"}, \
        sorted(set(layers.LAYERS) - set(KINDS))


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("training", ["yes", 1, None])
def test_every_layer_kind_refuses_a_training_switch_that_is_not_a_bool(kind,
                                                                      training) -> None:
    layer = KINDS[kind]
    with pytest.raises(TypeError, match=rf"^{re.escape(layer.name)}: training must be True or "
                                        "False"):
        layer.forward(None, training=training)


# -- NaN through the maxima: the policy's stated exception ---------------------------------------

def test_a_nan_in_a_pooling_window_is_nan_in_the_spec_and_torch_and_skipped_by_tf() -> None:
    """NaN in, NaN out, except TF's max pooling (``tf.nn.max_pool``, under Keras's
    MaxPooling2D), which skips a NaN: the window's other cells win; a window of NaN alone
    gives float32's lowest number (measured with TF 2.21, also in float64)."""
    from parity_tests.conftest import framework
    from reference.convolution import MaxPool2D

    x = np.array([[[[np.nan], [-3.0]], [[-7.0], [-2.0]]]])  # one 2×2 window, (N, H, W, C)
    torch_side, tf_side = framework("torch"), framework("tf")
    spec = MaxPool2D(2).forward(x)
    torch_y = torch_side.torch.nn.MaxPool2d(2)(torch_side.torch.tensor(x).permute(0, 3, 1, 2))
    tf_y = tf_side.impl.convolution.MaxPool2D(2)(x).numpy()
    assert np.isnan(spec).all() and torch_y.isnan().all()
    np.testing.assert_array_equal(tf_y, [[[[-2.0]]]])


@pytest.mark.parametrize("kind", ["Maximum", "Add", "Multiply", "Concatenate"])
def test_a_nan_through_a_merge_is_nan_in_all_three(kind) -> None:
    """The merges propagate NaN in the spec, in torch's expressions and in Keras's layers."""
    from parity_tests.conftest import framework
    from reference import Input, Model

    a, b = Input((2,), name="a"), Input((2,), name="b")
    model = Model([a, b], getattr(merging, kind)(name="m")([a, b]))
    xs = [np.array([[np.nan, 1.0]]), np.array([[2.0, 3.0]])]
    expected = np.isnan(model.forward(xs))
    assert expected[0, 0] and not expected[0, -1]
    torch_side, tf_side = framework("torch"), framework("tf")
    torch_y = torch_side.impl.from_reference(model)(*map(torch_side.torch.tensor, xs))
    tf_y = tf_side.impl.from_reference(model)(xs)
    np.testing.assert_array_equal(torch_y.isnan().numpy(), expected)
    np.testing.assert_array_equal(np.isnan(np.asarray(tf_y)), expected)


@pytest.mark.parametrize(("kind", "arguments", "valid"), [
    ("Rescaling", (0.5, -1.0), True), ("Rescaling", (math.nan,), False),
    ("Rescaling", (1.0, math.inf), False), ("Rescaling", (True,), False),
    ("Normalization", ([0.0, 1.0], [1.0, 4.0]), True),
    ("Normalization", ([0.0], [-1.0]), False), ("Normalization", ([math.nan], [1.0]), False),
    ("Normalization", ([0.0, 0.0], [1.0]), False)])
@pytest.mark.parametrize("package", ["torch", "tf"])
def test_the_mirrors_preprocessing_layers_take_the_constants_the_spec_takes(
        package, kind, arguments, valid) -> None:
    from parity_tests.conftest import framework

    build = getattr(framework(package).impl.normalization, kind)
    made = outcome(lambda: build(*arguments), kind)
    assert (made.error is None) == valid, made


# -- arguments of the wrong type: refused by the layer, not by Python or NumPy ----------------

@pytest.mark.parametrize(("kind", "build"), [
    ("Conv2DTranspose", lambda: Conv2DTranspose(2, 3, 3, padding=np.array(["same"] * 2))),
    ("SeparableConv2D", lambda: SeparableConv2D(2, 3, 3, padding=np.array(["valid"]))),
    ("UpSampling2D", lambda: UpSampling2D(2, np.array(["nearest", "bilinear"]))),
    ("Bidirectional", lambda: Bidirectional(GRU(3, 4), merge_mode=np.array(["sum"] * 2))),
    ("BatchNormalization", lambda: BatchNormalization(3, convention=np.array(["torch"] * 2))),
    ("LayerNormalization", lambda: LayerNormalization(3, convention=np.array(["keras"] * 2))),
    ("SeparableConv2D", lambda: SeparableConv2D(None, 3, 3)),
    ("DepthwiseConv2D", lambda: DepthwiseConv2D(2.0, 3)),
    ("Dropout", lambda: Dropout(0.5, noise_shape=2)),
    ("Dropout", lambda: Dropout(0.5, noise_shape=2.0)),
    ("Dropout", lambda: Dropout(0.5, noise_shape=np.int64(3))),
    ("Dropout", lambda: Dropout(0.5, noise_shape=b"\x02\x01")),  # bytes: not the shape (2, 1)
])
def test_a_choice_or_size_of_the_wrong_type_is_refused_by_the_layer(kind, build) -> None:
    """A string choice given an array (whose ``in`` compares element-wise), a width given
    None, a noise shape given a number or bytes: each refused with the layer's name,
    never NumPy's "truth value of an array is ambiguous" nor "'int' is not iterable"."""
    made = outcome(build, kind)
    assert made.error is not None, made


@pytest.mark.parametrize("value", [b"2", np.bool_(True), [True, False], "2"],
                         ids=["bytes", "np.bool_", "bools", "str"])
def test_normalization_takes_numbers_only_for_its_statistics(value) -> None:
    """NumPy read b"2" as 2.0 and True as 1.0."""
    variance = [1.0, 1.0] if isinstance(value, list) else 1.0
    with pytest.raises(ValueError, match=r"Normalization: mean must be a finite number or a "
                                         r"sequence of them"):
        Normalization(value, variance)


@pytest.mark.parametrize(("layer", "x"), [
    (lambda: LSTM(2, 3), np.ones((0, 4, 2))),
    (lambda: GRU(2, 3, return_sequences=True), np.ones((0, 4, 2))),
    (lambda: Bidirectional(LSTM(2, 3)), np.ones((0, 4, 2))),
    (lambda: MultiHeadAttention(4, 2), np.ones((0, 3, 4))),
], ids=["LSTM", "GRU", "Bidirectional", "MultiHeadAttention"])
def test_a_sequence_layer_names_an_empty_batch(layer, x) -> None:
    """NumPy's "cannot reshape array of size 0" came from inside the step loop."""
    made = layer()
    with pytest.raises(ValueError, match=rf"{re.escape(made.name)}: needs at least one "):
        made.forward(x)


def test_separable_conv2d_takes_an_empty_batch_as_depthwise_conv2d_does() -> None:
    """Its reshape inferred a size from an empty array (NumPy's error)."""
    layer = SeparableConv2D(2, 3, 2)
    y = layer.forward(np.ones((0, 5, 5, 2)))
    assert y.shape == (0, 4, 4, 3)
    assert layer.backward(y).shape == (0, 5, 5, 2)


def test_conv2d_transpose_takes_an_empty_batch_backward() -> None:
    """Its backward's reshape inferred a size from an empty array (NumPy's error)."""
    layer = Conv2DTranspose(2, 3, 2, strides=2)
    y = layer.forward(np.ones((0, 3, 3, 2)))
    assert y.shape == (0, 6, 6, 3)
    assert layer.backward(y).shape == (0, 3, 3, 2)
    assert not layer.gradients["W"].any()


@pytest.mark.parametrize("layer", [
    lambda: Conv2D(1, 1, 2, dilation_rate=2**30, padding="same"),
    lambda: MaxPool2D(2**31 - 1, padding="same"),
    lambda: AveragePool2D(2**30, padding="same"),
], ids=["Conv2D dilation", "MaxPool2D", "AveragePool2D"])
def test_a_same_padding_beyond_memory_is_refused_by_the_layer(layer) -> None:
    """A huge window with 'same' padding gave NumPy's 'array is too big' or 'Maximum
    allowed dimension exceeded' from the padded copy (sizes up to 2**31 − 1: a larger one
    is refused when the layer is made, test_fuzz_generated_layers.py)."""
    made = layer()
    with pytest.raises(ValueError, match=rf"{re.escape(made.name)}: its padded input of "
                                         r"shape \(1, \d+, \d+, 1\): .* refused before"):
        made.forward(np.ones((1, 5, 5, 1)))
