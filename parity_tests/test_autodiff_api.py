"""The API mapping of ``torch_impl/autodiff.py`` and ``tf_impl/autodiff.py``, one claim a test.

The spec's side of each claim is in ``reference/tests/test_autodiff.py``; here the
frameworks themselves are asked: what a leaf is, what is watched, when gradients
accumulate, what a persistent tape is, what ``zero_grad`` undoes, how second
derivatives are taken.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework
from reference import autodiff as ad

# --- torch autograd ---

def test_torch_leaf_is_made_by_the_user_and_an_operation_result_is_not(torch) -> None:
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    y = x * x
    assert x.is_leaf and x.grad_fn is None
    assert not y.is_leaf and y.grad_fn is not None  # the recorded node: its backward function
    y.sum().backward()
    with pytest.warns(UserWarning, match="not a leaf"):
        assert y.grad is None  # only leaves store .grad


def test_torch_backward_accumulates_into_grad_across_calls(torch) -> None:
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert x.grad.tolist() == [4.0, 8.0]  # 2x, twice


def test_torch_zero_grad_sets_grad_to_none(torch) -> None:
    module = framework("torch").impl.from_reference(reference.Dense(3, 2, "tanh", seed=0))
    module(torch.ones(1, 3, dtype=torch.float64)).sum().backward()
    assert module[0].weight.grad is not None
    module.zero_grad()
    assert module[0].weight.grad is None and module[0].bias.grad is None


def test_torch_backward_frees_the_graph_unless_retained(torch) -> None:
    x = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    loss = torch.exp(x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


def test_torch_autograd_grad_returns_gradients_and_stores_none(torch) -> None:
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (dx,) = torch.autograd.grad((x * x).sum(), x)
    assert dx.tolist() == [2.0, 4.0] and x.grad is None


def test_torch_non_scalar_backward_needs_the_vector_of_the_product(torch) -> None:
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (x * x).backward()
    (x * x).backward(gradient=torch.tensor([1.0, -1.0], dtype=torch.float64))
    assert x.grad.tolist() == [2.0, -4.0]  # gᵀJ with J = diag(2x)


def test_torch_no_grad_records_nothing(torch) -> None:
    x = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        y = x * x
    assert not y.requires_grad and y.grad_fn is None


def test_torch_network_gradients_leaves_parameter_grads_alone(torch) -> None:
    fw = framework("torch")
    module = fw.impl.from_reference(reference.Dense(3, 2, "tanh", seed=0))
    fw.impl.autodiff.network_gradients(module, torch.ones(2, 3, dtype=torch.float64),
                                       torch.zeros(2, 2, dtype=torch.float64),
                                       "mean_squared_error")
    assert all(p.grad is None for p in module.parameters())


def test_torch_create_graph_makes_the_gradient_differentiable(torch) -> None:
    """d/dx x³ = 3x², and d/dx 3x² = 6x: at x = 2, 12 and 12."""
    x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    (first,) = torch.autograd.grad(x**3, x, create_graph=True)
    assert first.grad_fn is not None
    (second,) = torch.autograd.grad(first, x)
    assert (first.item(), second.item()) == (12.0, 12.0)


# --- tf.GradientTape ---

def test_tf_trainable_variables_are_watched_without_asking(tf) -> None:
    w = tf.Variable([1.0, 2.0], dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(w * w)
    assert tape.gradient(loss, w).numpy().tolist() == [2.0, 4.0]


def test_tf_an_unwatched_constant_gets_none_until_watched(tf) -> None:
    x = tf.constant([1.0, 2.0], dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(x * x)
    assert tape.gradient(loss, x) is None
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(x * x)
    assert tape.gradient(loss, x).numpy().tolist() == [2.0, 4.0]


def test_tf_a_non_trainable_variable_is_not_watched(tf) -> None:
    w = tf.Variable([1.0], dtype=tf.float64, trainable=False)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(w * w)
    assert tape.gradient(loss, w) is None


def test_tf_a_non_persistent_tape_refuses_a_second_gradient_call(tf) -> None:
    w = tf.Variable([1.0], dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(w * w)
    tape.gradient(loss, w)
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.gradient(loss, w)


def test_tf_a_persistent_tape_answers_many_gradient_calls(tf) -> None:
    w = tf.Variable([3.0], dtype=tf.float64)
    with tf.GradientTape(persistent=True) as tape:
        square = w * w
        cube = square * w
    assert tape.gradient(square, w).numpy().tolist() == [6.0]
    assert tape.gradient(cube, w).numpy().tolist() == [27.0]
    del tape  # releases what it recorded


def test_tf_gradients_never_accumulate(tf) -> None:
    w = tf.Variable([1.0, 2.0], dtype=tf.float64)
    grads = []
    for _ in range(2):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(w * w)
        grads.append(tape.gradient(loss, w).numpy().tolist())
    assert grads == [[2.0, 4.0], [2.0, 4.0]]  # fresh each time: nothing to zero


def test_tf_a_non_scalar_target_is_summed(tf) -> None:
    x = tf.constant([1.0, 2.0], dtype=tf.float64)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
    summed = tape.gradient(y, x).numpy().tolist()
    seeded = tape.gradient(y, x, output_gradients=tf.constant([1.0, -1.0], tf.float64))
    assert summed == [2.0, 4.0] and seeded.numpy().tolist() == [2.0, -4.0]


def test_tf_stop_recording_records_nothing(tf) -> None:
    x = tf.constant([1.0], dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        with tape.stop_recording():
            loss = tf.reduce_sum(x * x)
    assert tape.gradient(loss, x) is None


def test_tf_note_000_rebinding_a_variable_loses_it_and_assign_sub_keeps_it(tf) -> None:
    """Note 000's loop writes ``weights = weights - lr * gradient``: a tensor, unwatched."""
    def gradient(weights):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(weights * weights)
        return tape.gradient(loss, weights)

    rebound = tf.Variable([1.0, 2.0], dtype=tf.float64)
    rebound = rebound - 0.1 * gradient(rebound)
    assert isinstance(rebound, tf.Tensor) and gradient(rebound) is None

    updated = tf.Variable([1.0, 2.0], dtype=tf.float64)
    updated.assign_sub(0.1 * gradient(updated))
    assert isinstance(updated, tf.Variable)
    assert gradient(updated).numpy() == pytest.approx([1.6, 3.2])  # 2·(0.8, 1.6)


def test_tf_nested_tapes_give_second_derivatives(tf) -> None:
    """d/dx x³ = 3x², and d/dx 3x² = 6x: at x = 2, 12 and 12."""
    x = tf.constant(2.0, dtype=tf.float64)
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            cube = x**3
        first = inner.gradient(cube, x)
    second = outer.gradient(first, x)
    assert (float(first), float(second)) == (12.0, 12.0)


# --- The spec on the same example: an exact first derivative, a numerical second. ---

def test_spec_second_derivative_of_the_cube_by_finite_differences() -> None:
    x = ad.Tensor(np.array([2.0]), requires_grad=True)
    assert ad.grad((x * x * x).sum(), [x])[0].tolist() == [12.0]
    H = ad.hessian(lambda v: (v * v * v).sum(), np.array([2.0]))
    assert H.shape == (1, 1) and H[0, 0] == pytest.approx(12.0, rel=1e-12)


# --- A scalar power, ``x ** p``: micrograd's ``__pow__``, the same derivative everywhere. ---

POWER_POINT = np.array([0.5, 1.5, 3.0])


@pytest.mark.parametrize("exponent", [3, -1.5, 0.5])
def test_spec_power_gradient_is_torch_and_tf_gradient(exponent: float, torch, tf) -> None:
    x = ad.Tensor(POWER_POINT, requires_grad=True)
    spec = ad.grad((x ** exponent).sum(), [x])[0]
    xt = torch.tensor(POWER_POINT, requires_grad=True)
    (xt ** exponent).sum().backward()
    xf = tf.constant(POWER_POINT)
    with tf.GradientTape() as tape:
        tape.watch(xf)
        value = tf.reduce_sum(xf ** exponent)
    np.testing.assert_allclose(spec, xt.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(spec, tape.gradient(value, xf).numpy(), rtol=1e-15)


@pytest.mark.parametrize("case", ["a BatchNorm(scale=False), weight frozen", "a frozen bias"])
def test_torch_network_gradients_refuses_what_the_spec_does_not_record(torch, case) -> None:
    """The spec's network_gradients records networks of Dense layers and refuses others;
    torch's ran autograd.grad on any module, which stopped on a frozen parameter (a
    BatchNorm(scale=False)'s weight of 1) with "One of the differentiated Tensors does
    not require grad", naming no function."""
    fw = framework("torch")
    if case == "a frozen bias":
        module = fw.impl.from_reference(reference.Dense(3, 2, "tanh", seed=0))
        module[0].bias.requires_grad_(False)
        found = r"0\.bias frozen \(requires_grad=False\)"
    else:
        module = fw.impl.from_reference(reference.Sequential(
            [reference.Dense(3, 2), reference.BatchNormalization(2, scale=False)],
            input_shape=(3,)))
        found = r"1: BatchNorm1d; 1\.weight frozen"
    with pytest.raises(TypeError, match=rf"^network_gradients: only networks of nn\.Linear "
                                        rf"layers.*{found}"):
        fw.impl.autodiff.network_gradients(module, torch.ones(2, 3, dtype=torch.float64),
                                           torch.zeros(2, 2, dtype=torch.float64),
                                           "mean_squared_error")
