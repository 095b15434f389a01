"""The variational autoencoder of ``reference.digits``: the sampling step's gradient
(closed form and finite differences), the Gaussian KL term and its gradient, the whole
model's backward, and that reconstruction + KL training lowers the loss."""

from __future__ import annotations

import numpy as np
import pytest

from reference import losses
from reference.digits import digit_vae, images, sampled_code
from reference.gradcheck import gradient_error, numerical_gradient, parameter_gradient_errors
from reference.graphs import Input, Model
from reference.optimizers import Adam
from reference.training import fit

FD_TOLERANCE = 1e-7


def _sampling_graph() -> Model:
    mean, log_var, noise = Input((3,), name="mean"), Input((3,), name="log_var"), \
        Input((3,), name="noise")
    return Model([mean, log_var, noise], sampled_code(mean, log_var, noise))


def _code(rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.standard_normal((4, 3)), rng.uniform(-2, 2, (4, 3)),
            rng.standard_normal((4, 3))]


def test_the_sampled_code_is_mean_plus_sigma_times_noise() -> None:
    mean, log_var, noise = _code(np.random.default_rng(0))
    z = _sampling_graph().forward([mean, log_var, noise])
    np.testing.assert_allclose(z, mean + np.exp(0.5 * log_var) * noise, rtol=1e-15)


def test_the_sampling_step_backward_is_the_closed_form() -> None:
    """dz/dμ = 1, dz/d log σ² = ½ σ ε, dz/dε = σ, each times the upstream g."""
    rng = np.random.default_rng(1)
    mean, log_var, noise = _code(rng)
    model, g = _sampling_graph(), rng.standard_normal((4, 3))
    model.forward([mean, log_var, noise])
    d_mean, d_log_var, d_noise = model.backward(g)
    sigma = np.exp(0.5 * log_var)
    np.testing.assert_array_equal(d_mean, g)
    np.testing.assert_allclose(d_log_var, g * 0.5 * sigma * noise, rtol=1e-14)
    np.testing.assert_allclose(d_noise, g * sigma, rtol=1e-14)


@pytest.mark.parametrize("position", [0, 1, 2], ids=["mean", "log_var", "noise"])
def test_the_sampling_step_backward_matches_finite_differences(position: int) -> None:
    rng = np.random.default_rng(2)
    code, model, g = _code(rng), _sampling_graph(), rng.standard_normal((4, 3))

    def loss(v: np.ndarray) -> float:
        return float(np.sum(g * model.forward([*code[:position], v, *code[position + 1:]])))

    model.forward(code)
    analytic = model.backward(g)[position]
    assert gradient_error(analytic, numerical_gradient(loss, code[position])) < FD_TOLERANCE


def test_gaussian_kl_is_zero_at_the_prior_and_the_closed_form_elsewhere() -> None:
    assert losses.gaussian_kl(np.zeros((3, 2)), np.zeros((3, 2))) == 0.0
    mean, log_var = np.array([[1.0, -2.0]]), np.array([[np.log(4.0), 0.0]])
    # per entry ½(σ² + μ² − 1 − log σ²): ½(4 + 1 − 1 − log 4) + ½(1 + 4 − 1 − 0)
    expected = 0.5 * (4.0 - np.log(4.0)) + 2.0
    assert losses.gaussian_kl(mean, log_var) == pytest.approx(expected, rel=1e-15)


def test_gaussian_kl_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(3)
    mean, log_var = rng.standard_normal((5, 3)), rng.uniform(-2, 2, (5, 3))
    d_mean, d_log_var = losses.gaussian_kl_gradient(mean, log_var)
    assert gradient_error(d_mean, numerical_gradient(
        lambda v: losses.gaussian_kl(v, log_var), mean)) < FD_TOLERANCE
    assert gradient_error(d_log_var, numerical_gradient(
        lambda v: losses.gaussian_kl(mean, v), log_var)) < FD_TOLERANCE


def test_gaussian_kl_refuses_codes_of_two_shapes_by_name() -> None:
    with pytest.raises(ValueError, match=r"gaussian_kl: z_mean has shape \(3, 2\) but "
                                         r"z_log_var has shape \(3, 4\)"):
        losses.gaussian_kl(np.zeros((3, 2)), np.zeros((3, 4)))


def test_the_default_vae_has_the_shapes_its_docstring_gives() -> None:
    model = digit_vae()
    assert [t.name for t in model.inputs] == ["image", "noise"]
    assert [t.shape for t in model.outputs] == [(64,), (2,), (2,)]
    assert model.get_layer("decode_grid").output_shape((64,)) == (4, 4, 4)


def test_the_vae_backward_matches_finite_differences_for_every_parameter() -> None:
    """L = Σ_k G_k ⊙ y_k over the three outputs: the gradient reaches the encoder through
    both the code's mean (directly and through z) and its log-variance (through σ)."""
    model = digit_vae(seed=6)
    rng = np.random.default_rng(7)
    x = [rng.uniform(0, 1, (3, 8, 8, 1)), rng.standard_normal((3, 2))]
    upstream = [rng.standard_normal((3, 64)), rng.standard_normal((3, 2)),
                rng.standard_normal((3, 2))]

    def loss() -> float:
        return float(sum(np.sum(g * y) for g, y in zip(upstream, model.forward(x),
                                                        strict=True)))

    model.forward(x)
    model.backward(upstream)
    gradients = {name: {k: g.copy() for k, g in grads.items()}
                 for name, grads in model.gradients.items()}
    errors = parameter_gradient_errors(
        model.layers, [gradients[layer.name] for layer in model.layers], loss)
    assert len(errors) == sum(len(p) for p in model.params)
    assert max(errors.values()) < FD_TOLERANCE, errors


def test_reconstruction_plus_kl_training_lowers_the_loss() -> None:
    rng = np.random.default_rng(8)
    pictures = np.ascontiguousarray(images(64, rng)[0][:, 2:26:3, 2:26:3])
    noise = rng.standard_normal((64, 2))
    history = fit(digit_vae(seed=9), [pictures, noise], pictures.reshape(64, -1),
                  loss="binary_cross_entropy", optimizer=Adam(0.01), epochs=20,
                  batch_size=16, kl=(1, 2))
    assert np.mean(history.loss[-4:]) < 0.8 * np.mean(history.loss[:4])
