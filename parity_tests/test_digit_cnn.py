"""The course's digit-classification CNN (``reference.digits.digit_cnn``) in all three.

* One forward and backward pass: output, loss, dL/dx and every layer's gradients agree.
* Training, as in the lab (sparse categorical cross-entropy, Adam at 1e-3): the loss of
  every step and the final weights agree over several steps.
* The lab's model built in Keras with plain ``keras.layers`` and moved to torch through
  the layout tables computes the same outputs on channels-first input.
* The same move without the Flatten → Dense row permutation runs without a word and
  computes something else: the lesson of the Flatten layout.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework
from parity_tests.frameworks import flat_params, run_spec_model
from parity_tests.tolerances import tolerance
from reference import digits

DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]
FRAMEWORKS = ["torch", "tf"]
LOSS = "sparse_categorical_cross_entropy"


def _within(kind: str, dtype, actual, expected, what: str) -> None:
    tol = tolerance(dtype, kind)
    error = tol.error(actual, expected)
    assert error <= tol.rtol, f"{what}: {error:.3g} > {tol.rtol:g}"


@pytest.mark.parametrize("name", FRAMEWORKS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_loss_and_every_gradient_agree(name: str, dtype) -> None:
    x, labels = digits.images(8, np.random.default_rng(1), dtype)
    model = digits.digit_cnn(dtype, seed=2)
    theirs = framework(name).model(model, x, labels, LOSS)
    spec = run_spec_model(model, x, labels, LOSS)
    _within("output", dtype, theirs.output, spec.output, "output")
    _within("loss", dtype, theirs.loss, spec.loss, "loss")
    _within("gradient", dtype, theirs.dx, spec.dx, "dL/dx")
    for k, (grads, expected) in enumerate(zip(theirs.grads, spec.grads, strict=True)):
        for key, value in expected.items():
            _within("gradient", dtype, grads[key], value, f"dL/d{key}[{k}]")


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_the_lab_batch_of_64_agrees_in_float32(name: str) -> None:
    x, labels = digits.images(64, np.random.default_rng(3), np.float32)
    model = digits.digit_cnn(np.float32, seed=4)
    theirs = framework(name).model(model, x, labels, LOSS)
    spec = run_spec_model(model, x, labels, LOSS)
    _within("output", np.float32, theirs.output, spec.output, "output")
    for k, (grads, expected) in enumerate(zip(theirs.grads, spec.grads, strict=True)):
        for key, value in expected.items():
            _within("gradient", np.float32, grads[key], value, f"dL/d{key}[{k}]")


def _spec_run(model: reference.Sequential, batches, convention: str
              ) -> tuple[list[float], np.ndarray]:
    """The spec's training loop by hand: forward, loss, backward, Adam step."""
    loss, gradient = reference.losses.get(LOSS), reference.losses.gradient(LOSS)
    optimizer = reference.optimizers.Adam(1e-3, convention=convention)
    params = [p for layer in model.params for p in layer]
    state, history = optimizer.init(params), []
    for x, labels in batches:
        y = model.forward(x)
        history.append(float(loss(labels, y)))
        model.backward(gradient(labels, y), input_gradient=False)
        optimizer.step(params, [g for layer in model.grads for g in layer], state)
    return history, flat_params(model)


def _torch_run(model: reference.Sequential, batches) -> tuple[list[float], np.ndarray]:
    """torch as its users train: zero_grad, forward on NCHW batches, backward, step."""
    import torch

    import torch_impl

    module = torch_impl.from_reference(model)
    optimizer = torch_impl.optimizers.Adam(module.parameters(), learning_rate=1e-3)
    history = []
    for x, labels in batches:
        optimizer.zero_grad()
        images = torch_impl.convolution.channels_first(torch.from_numpy(x))  # NHWC → NCHW
        value = torch_impl.losses.sparse_categorical_cross_entropy(
            torch.from_numpy(labels), module(images))
        value.backward()
        optimizer.step()
        history.append(value.item())
    return history, flat_params(torch_impl.to_reference(module, input_shape=(28, 28, 1)))


def _keras_run(model: reference.Sequential, batches) -> tuple[list[float], np.ndarray]:
    """Keras as its users write a custom loop: GradientTape, apply_gradients."""
    import tensorflow as tf

    import tf_impl

    keras_model = tf_impl.from_reference(model)
    optimizer = tf_impl.optimizers.Adam(learning_rate=1e-3)
    history = []
    for x, labels in batches:
        with tf.GradientTape() as tape:
            value = tf_impl.losses.sparse_categorical_cross_entropy(
                tf.constant(labels), keras_model(tf.constant(x), training=True))
        grads = tape.gradient(value, keras_model.trainable_variables)
        optimizer.apply_gradients(zip(grads, keras_model.trainable_variables, strict=True))
        history.append(float(value.numpy()))
    return history, flat_params(tf_impl.to_reference(keras_model))


@pytest.mark.parametrize("dtype", DTYPES)
def test_five_adam_steps_follow_the_same_trajectory_in_all_three(dtype) -> None:
    """The lab's training (sparse categorical cross-entropy, Adam 1e-3) on five batches of
    six: the loss at every step and the final weights. The spec computes each framework's
    Adam by its own formula (``convention``)."""
    framework("torch"), framework("tf")  # configured for full-precision determinism
    rng = np.random.default_rng(5)
    batches = [digits.images(6, rng, dtype) for _ in range(5)]
    runs = {"torch": (_torch_run, "torch"), "tf": (_keras_run, "keras")}
    for name, (run, convention) in runs.items():
        losses, weights = run(digits.digit_cnn(dtype, seed=6), batches)
        spec_losses, spec_weights = _spec_run(digits.digit_cnn(dtype, seed=6), batches,
                                              convention)
        _within("loss trajectory", dtype, losses, spec_losses, f"{name}: loss per step")
        _within("weight trajectory", dtype, weights, spec_weights, f"{name}: final weights")
        assert spec_losses[-1] < spec_losses[0]  # it learns: a trajectory worth comparing


def _keras_lab_model():
    """The lab's model as its notebook writes it: plain keras.layers, float32."""
    import keras

    framework("tf")
    keras.utils.set_random_seed(7)
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(24, 3, activation="relu"),
        keras.layers.MaxPool2D(2),
        keras.layers.Conv2D(36, 3, activation="relu"),
        keras.layers.MaxPool2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])


def _torch_lab_model():
    """The same network as a torch user writes it, on (N, 1, 28, 28)."""
    from torch import nn

    framework("torch")
    return nn.Sequential(
        nn.Conv2d(1, 24, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(24, 36, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(36 * 5 * 5, 128), nn.ReLU(),
        nn.Linear(128, 10), nn.Softmax(dim=1),
    )


def test_a_keras_built_model_moved_to_torch_through_the_tables_gives_the_same_outputs() -> None:
    import torch

    import tf_impl
    import torch_impl

    keras_model = _keras_lab_model()
    module = torch_impl.from_reference(tf_impl.to_reference(keras_model))
    x, _ = digits.images(16, np.random.default_rng(8), np.float32)
    expected = keras_model(x).numpy()
    actual = module(torch_impl.convolution.channels_first(torch.from_numpy(x)))
    _within("output", np.float32, actual.detach().numpy(), expected, "torch against Keras")


def _naive_port(keras_model, module, permute_rows: bool) -> None:
    """Copy Keras's weights into the torch model by hand: kernels permuted to (out, in,
    k_h, k_w), Dense kernels transposed, and, only if ``permute_rows``, the first Dense
    kernel's rows reordered from Keras's (h, w, c) to torch's (c, h, w)."""
    import torch

    keras_layers = [layer for layer in keras_model.layers if layer.weights]
    torch_layers = [m for m in module if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    with torch.no_grad():
        for keras_layer, torch_layer in zip(keras_layers, torch_layers, strict=True):
            kernel, bias = (w.numpy() for w in keras_layer.weights)
            if kernel.ndim == 4:
                weight = kernel.transpose(3, 2, 0, 1)
            elif permute_rows and kernel.shape[0] == 900:
                weight = kernel.reshape(5, 5, 36, -1).transpose(2, 0, 1, 3).reshape(900, -1).T
            else:
                weight = kernel.T
            torch_layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight)))
            torch_layer.bias.copy_(torch.from_numpy(bias))


def test_a_port_that_skips_the_flatten_permutation_is_wrong_without_an_error() -> None:
    """Every shape fits, nothing raises, and the outputs are wrong: the Dense layer after
    the Flatten reads torch's (c, h, w) features with rows written for (h, w, c)."""
    import torch

    keras_model, module = _keras_lab_model(), _torch_lab_model()
    x, _ = digits.images(16, np.random.default_rng(9), np.float32)
    expected = keras_model(x).numpy()
    images = torch.from_numpy(x).permute(0, 3, 1, 2)  # NHWC → NCHW

    _naive_port(keras_model, module, permute_rows=False)
    wrong = module(images).detach().numpy()
    assert wrong.shape == expected.shape and np.all(np.isfinite(wrong))
    assert np.allclose(wrong.sum(axis=1), 1.0, atol=1e-5)  # still probabilities
    assert np.max(np.abs(wrong - expected)) > 1e-3  # but not Keras's: 100× float32 noise

    _naive_port(keras_model, module, permute_rows=True)
    _within("output", np.float32, module(images).detach().numpy(), expected, "with the rows")
