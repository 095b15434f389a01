"""The small ResNet of ``reference.digits``: its shapes, its backward pass through both
branches of each block against finite differences, and that it learns the digits."""

from __future__ import annotations

import numpy as np

from reference.digits import digit_resnet, images
from reference.gradcheck import gradient_error, numerical_gradient, parameter_gradient_errors
from reference.merging import Add
from reference.optimizers import Adam
from reference.training import fit

FD_TOLERANCE = 1e-7


def test_the_default_resnet_has_the_shapes_its_docstring_gives() -> None:
    model = digit_resnet()
    assert model.input_shape == (28, 28, 1)
    assert model.get_layer("block1_out").output_shape((28, 28, 8)) == (28, 28, 8)
    assert model.get_layer("pool").output_shape((14, 14, 16)) == (16,)
    assert model.forward(images(2, np.random.default_rng(0))[0]).shape == (2, 10)


def test_only_a_block_that_changes_the_shape_has_a_projection_shortcut() -> None:
    names = [layer.name for layer in digit_resnet().layers]
    assert "block1_0_conv" not in names and "block2_0_conv" in names
    adds = [layer for layer in digit_resnet().layers if isinstance(layer, Add)]
    assert [layer.name for layer in adds] == ["block1_add", "block2_add"]


def test_backward_through_both_branches_matches_finite_differences() -> None:
    """A tiny instance (6×6 images, widths 2 and 3) in training mode: every parameter's
    gradient and dL/dx from backward against central differences of L = Σ G ⊙ y."""
    model = digit_resnet(widths=(2, 3), size=6, seed=4)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 6, 6, 1))
    upstream = rng.standard_normal((3, 10))

    def loss(v: np.ndarray) -> float:
        return float(np.sum(upstream * model.forward(v, training=True)))

    model.forward(x, training=True)
    dx = model.backward(upstream)
    gradients = {name: {k: g.copy() for k, g in grads.items()}
                 for name, grads in model.gradients.items()}
    assert gradient_error(dx, numerical_gradient(loss, x)) < FD_TOLERANCE
    errors = parameter_gradient_errors(
        model.layers, [gradients[layer.name] for layer in model.layers], lambda: loss(x))
    assert len(errors) == sum(len(p) for p in model.params)
    assert max(errors.values()) < FD_TOLERANCE, errors


def test_a_few_epochs_of_adam_lower_the_loss_on_the_digits() -> None:
    x, labels = images(128, np.random.default_rng(0))
    model = digit_resnet(seed=1)
    history = fit(model, x, np.eye(10)[labels], loss="categorical_cross_entropy",
                  optimizer=Adam(learning_rate=1e-2), epochs=3, batch_size=32, seed=0)
    assert history.loss[-1] < 0.8 * history.loss[0]
