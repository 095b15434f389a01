"""Merge layers: their values, their hand-written backward against finite differences, the
tie rule of Maximum, and the inputs they refuse (spec only: no torch, no TF)."""

from __future__ import annotations

import numpy as np
import pytest

from reference import layers, registry
from reference.gradcheck import gradient_error, numerical_gradient
from reference.layers import Dense, from_config
from reference.merging import Add, Average, Concatenate, Maximum, Multiply, Subtract
from reference.networks import Sequential

FD_TOLERANCE = 1e-7
MERGES = (Add, Subtract, Multiply, Average, Maximum, Concatenate)


def _inputs(count: int, shape: tuple[int, ...] = (3, 4), seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(count)]


def test_each_layer_computes_its_formula() -> None:
    a, b, c = np.array([[1.0, -2.0]]), np.array([[3.0, 5.0]]), np.array([[-1.0, 4.0]])
    np.testing.assert_array_equal(Add().forward([a, b, c]), [[3.0, 7.0]])
    np.testing.assert_array_equal(Subtract().forward([a, b]), [[-2.0, -7.0]])
    np.testing.assert_array_equal(Multiply().forward([a, b, c]), [[-3.0, -40.0]])
    np.testing.assert_array_equal(Average().forward([a, b, c]), [[1.0, 7.0 / 3.0]])
    np.testing.assert_array_equal(Maximum().forward([a, b, c]), [[3.0, 5.0]])
    np.testing.assert_array_equal(Concatenate().forward([a, b]), [[1.0, -2.0, 3.0, 5.0]])


@pytest.mark.parametrize("layer, count, shape", [
    (Add(), 3, (3, 4)), (Subtract(), 2, (3, 4)), (Multiply(), 2, (3, 4)),
    (Multiply(), 4, (2, 3, 2)), (Average(), 3, (3, 4)), (Maximum(), 3, (3, 4)),
    (Concatenate(), 3, (2, 3, 4)), (Concatenate(axis=1), 2, (2, 3, 4)),
    (Concatenate(axis=-2), 2, (2, 3, 4)),
], ids=lambda v: v.name if isinstance(v, layers.Layer) else str(v))
def test_backward_matches_finite_differences(layer, count: int, shape: tuple) -> None:
    xs = _inputs(count, shape)
    y = layer.forward(xs)
    upstream = np.random.default_rng(1).standard_normal(y.shape)
    analytic = layer.backward(upstream)
    for i, x in enumerate(xs):
        def loss(v: np.ndarray, i: int = i) -> float:
            return float(np.sum(upstream * layer.forward([*xs[:i], v, *xs[i + 1:]])))
        assert gradient_error(analytic[i], numerical_gradient(loss, x)) < FD_TOLERANCE, i


def test_multiply_gradient_is_the_product_of_the_others_even_at_a_zero() -> None:
    a, b, c = np.array([[0.0, 2.0]]), np.array([[0.0, 3.0]]), np.array([[5.0, 7.0]])
    layer = Multiply()
    layer.forward([a, b, c])
    grads = layer.backward(np.ones((1, 2)))
    np.testing.assert_array_equal(grads[0], [[0.0, 21.0]])  # b ⊙ c, no 0/0
    np.testing.assert_array_equal(grads[2], [[0.0, 6.0]])


def test_multiply_broadcasts_a_gate_of_size_1_axes_and_sums_its_gradient_back() -> None:
    """Squeeze-and-excitation: (N, H, W, C) ⊙ (N, 1, 1, C), as Keras's Multiply computes."""
    rng = np.random.default_rng(2)
    maps, gate = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 1, 1, 5))
    layer = Multiply()
    np.testing.assert_array_equal(layer.forward([maps, gate]), maps * gate)
    assert layer.output_shape([(3, 4, 5), (1, 1, 5)]) == (3, 4, 5)
    upstream = rng.standard_normal((2, 3, 4, 5))
    grad_maps, grad_gate = layer.backward(upstream)
    for analytic, i, x in ((grad_maps, 0, maps), (grad_gate, 1, gate)):
        def loss(v: np.ndarray, i: int = i) -> float:
            return float(np.sum(upstream * layer.forward([v, gate] if i == 0 else [maps, v])))
        assert analytic.shape == x.shape
        assert gradient_error(analytic, numerical_gradient(loss, x)) < FD_TOLERANCE, i


@pytest.mark.parametrize("shapes, message", [
    ([(3, 4), (3, 2)], r"each axis of the inputs must be equal or 1 \(1 is broadcast\), got "
                       r"per-sample shapes \[\(3, 4\), \(3, 2\)\]"),
    ([(3, 4), (4,)], r"inputs must have one rank \(axes of size 1 are broadcast\), got "
                     r"per-sample shapes \[\(3, 4\), \(4,\)\]")])
def test_multiply_refuses_what_keras_would_not_broadcast_or_a_rank_mismatch(
        shapes: list, message: str) -> None:
    with pytest.raises(ValueError, match="gate: " + message):
        Multiply(name="gate").forward([np.ones((2, *shape)) for shape in shapes])


def test_maximum_gives_a_tied_entry_gradient_to_the_first_input_that_holds_it() -> None:
    """Keras's rule (TF's Maximum gradient goes to x on x >= y); torch.maximum would give
    each tied input half (measured with torch 2.13, see reference.merging)."""
    a, b, c = np.array([[1.0, 2.0, 3.0]]), np.array([[1.0, 1.0, 3.0]]), np.array([[1.0, 0.0, 4.0]])
    layer = Maximum()
    layer.forward([a, b, c])
    grads = layer.backward(np.full((1, 3), 2.0))
    np.testing.assert_array_equal(grads[0], [[2.0, 2.0, 0.0]])
    np.testing.assert_array_equal(grads[1], [[0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(grads[2], [[0.0, 0.0, 2.0]])


def test_concatenate_joins_the_channels_of_images_and_splits_their_gradient_back() -> None:
    a, b = np.zeros((2, 3, 3, 1)), np.ones((2, 3, 3, 2))
    layer = Concatenate()
    y = layer.forward([a, b])
    assert y.shape == (2, 3, 3, 3) and layer.output_shape([(3, 3, 1), (3, 3, 2)]) == (3, 3, 3)
    ga, gb = layer.backward(np.arange(54.0).reshape(2, 3, 3, 3))
    np.testing.assert_array_equal(ga, np.arange(54.0).reshape(2, 3, 3, 3)[..., :1])
    assert gb.shape == b.shape


def test_a_shape_mismatch_is_refused_naming_the_layer_and_the_shapes() -> None:
    with pytest.raises(ValueError, match=r"skip: inputs must have one per-sample shape "
                                         r"\(nothing is broadcast\), got \[\(4,\), \(1,\)\]"):
        Add(name="skip").forward([np.ones((2, 4)), np.ones((2, 1))])


def test_inputs_of_two_batch_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match=r"Average: input 1 must have shape \(2,\), got \(3,\)"):
        Average().forward([np.ones((2, 4)), np.ones((3, 4))])


def test_subtract_takes_exactly_two_inputs() -> None:
    with pytest.raises(ValueError, match="Subtract: takes a list of exactly 2 inputs, got 3"):
        Subtract().forward(_inputs(3))


def test_a_merge_layer_takes_a_list_not_one_array() -> None:
    with pytest.raises(TypeError, match="Add: forward takes a list of arrays, got ndarray"):
        Add().forward(np.ones((2, 3)))


def test_inputs_of_two_float_dtypes_are_refused() -> None:
    with pytest.raises(TypeError, match=r"Maximum: inputs must share one float dtype, got "
                                        r"\['float32', 'float64'\]"):
        Maximum().forward([np.ones((2, 3), np.float32), np.ones((2, 3))])


def test_float32_inputs_give_a_float32_output_and_gradients() -> None:
    xs = [x.astype(np.float32) for x in _inputs(2)]
    layer = Multiply()
    assert layer.forward(xs).dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.backward(np.ones((3, 4), np.float32)))


@pytest.mark.parametrize("axis", [0, -3])
def test_concatenate_along_the_batch_axis_is_refused(axis: int) -> None:
    with pytest.raises(ValueError, match="batch axis"):
        Concatenate(axis=axis).forward(_inputs(2, (3, 4, 5)))


def test_concatenate_refuses_inputs_that_differ_off_its_axis() -> None:
    with pytest.raises(ValueError, match=r"Concatenate\(axis=-1\): inputs must have one "
                                         r"per-sample shape except along axis -1, got "
                                         r"\[\(2, 3\), \(4, 3\)\]"):
        Concatenate().output_shape([(2, 3), (4, 3)])


def test_backward_before_forward_is_refused() -> None:
    with pytest.raises(RuntimeError, match=r"Add: call forward\(\) before backward\(\)"):
        Add().backward(np.ones((2, 3)))


def test_a_gradient_of_the_wrong_shape_is_refused() -> None:
    layer = Concatenate()
    layer.forward(_inputs(2))
    with pytest.raises(ValueError, match=r"grad_output must have shape \(3, 8\), got \(3, 4\)"):
        layer.backward(np.ones((3, 4)))


def test_input_gradient_false_returns_none() -> None:
    layer = Add()
    layer.forward(_inputs(2))
    assert layer.backward(np.ones((3, 4)), input_gradient=False) is None


@pytest.mark.parametrize("layer", [cls() for cls in MERGES] + [Concatenate(axis=2, name="c")],
                         ids=lambda layer: layer.name)
def test_config_rebuilds_the_same_layer_and_the_kind_is_registered(layer) -> None:
    kind = type(layer).__name__
    assert layers.LAYERS[kind] is type(layer)
    assert from_config(kind, layer.config()).config() == layer.config()
    assert layer.parameters == {} and layer.array_shapes(layer.config()) == {}


def test_a_merge_layer_in_a_sequential_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match=r"layer 1 \(Add\) cannot take them: Add: takes a list "
                                         r"of inputs, got one of per-sample shape \(2,\)"):
        Sequential([Dense(3, 2), Add()])


def test_every_merge_kind_is_a_registry_concept_with_cases() -> None:
    """The registry drives parity and the docs; parity_tests/test_coverage.py then needs
    both mirrors of each."""
    concepts = {c.name: c for c in registry.concepts("merging")}
    assert set(concepts) == {cls.__name__ for cls in MERGES}
    assert all(c.cases for c in concepts.values())
