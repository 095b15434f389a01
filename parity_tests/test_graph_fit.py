"""The mirrors' side of ``fit`` on graphs (the spec's: ``reference/tests/test_graph_fit.py``):
their Gaussian KL term against the spec's, and the same refusals, naming ``fit``, before
any step. The runs themselves are registry cases (the VAE, the Transformer block with its
padding mask, a loss per output with ``loss_weights``)."""

from __future__ import annotations

import numpy as np
import pytest

from parity_tests.conftest import framework
from parity_tests.test_errors import numpy, tensor
from reference import losses
from reference.tests.test_graph_fit import _data, _two_in_three_out


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_gaussian_kl_and_its_gradients_are_the_spec_s(fw, dtype) -> None:
    rng = np.random.default_rng(0)
    mean = rng.standard_normal((5, 3)).astype(dtype)
    log_var = rng.uniform(-3, 3, (5, 3)).astype(dtype)
    rtol = 1e-14 if dtype == np.float64 else 1e-5
    d_mean, d_log_var = losses.gaussian_kl_gradient(mean, log_var)
    if fw.name == "torch":
        m, v = (tensor(fw, a).requires_grad_(True) for a in (mean, log_var))
        value = fw.impl.losses.gaussian_kl(m, v)
        value.backward()
        grads = [m.grad, v.grad]
    else:
        m, v = (fw.tf.Variable(a) for a in (mean, log_var))
        with fw.tf.GradientTape() as tape:
            value = fw.impl.losses.gaussian_kl(m, v)
        grads = tape.gradient(value, [m, v])
    assert numpy(fw, value).dtype == dtype
    np.testing.assert_allclose(numpy(fw, value), losses.gaussian_kl(mean, log_var), rtol=rtol)
    np.testing.assert_allclose(numpy(fw, grads[0]), d_mean, rtol=rtol, atol=rtol / 10)
    np.testing.assert_allclose(numpy(fw, grads[1]), d_log_var, rtol=rtol, atol=rtol / 10)


def test_gaussian_kl_refuses_codes_of_two_shapes_by_name(fw) -> None:
    with pytest.raises(ValueError, match=r"gaussian_kl: z_mean has shape \(3, 2\) but "
                                         r"z_log_var has shape \(3, 4\)"):
        fw.impl.losses.gaussian_kl(tensor(fw, np.zeros((3, 2))), tensor(fw, np.zeros((3, 4))))


def _converted(fw):
    return fw.impl.from_reference(_two_in_three_out())


def _weights(fw, model) -> list[np.ndarray]:
    if fw.name == "torch":
        return [p.detach().numpy().copy() for p in model.parameters()]
    return [w.numpy().copy() for w in model.trainable_variables]


@pytest.mark.parametrize(("given", "message"), [
    ("one input", r"fit: the model has 2 inputs: X must be a list of 2 arrays"),
    ("a target for the KL's output", r"fit: output 1 has no loss \(None, or it feeds kl\), "
                                     r"so Y\[1\] must be None"),
    ("a KL of one output", r"fit: kl must name two different outputs among the model's 3"),
    ("two losses for three outputs", r"fit: loss lists 2 losses for the model's 3 output"),
    ("inputs of two row counts", r"fit: the inputs must have one number of rows"),
])
def test_the_mirrors_fit_refuses_a_malformed_graph_run_before_any_step(fw, given: str,
                                                                        message: str) -> None:
    X, Y = _data()
    arguments = {"X": X, "Y": Y, "loss": "binary_cross_entropy", "kl": (1, 2)}
    arguments.update({
        "one input": {"X": X[0]},
        "a target for the KL's output": {"Y": [Y, np.zeros((6, 2)), None]},
        "a KL of one output": {"kl": (2, 2)},
        "two losses for three outputs": {"loss": ["binary_cross_entropy", None]},
        "inputs of two row counts": {"X": [X[0], X[1][:5]]},
    }[given])
    model = _converted(fw)
    before = _weights(fw, model)
    with pytest.raises(ValueError, match=message):
        fw.impl.fit(model, arguments.pop("X"), arguments.pop("Y"), **arguments)
    for old, new in zip(before, _weights(fw, model), strict=True):
        np.testing.assert_array_equal(old, new)


def test_torch_fit_of_a_graph_takes_no_l2() -> None:
    torch_fw, (X, Y) = framework("torch"), _data()
    with pytest.raises(ValueError, match=r"fit: l2 is for a Sequential's run"):
        torch_fw.impl.fit(_converted(torch_fw), X, Y, loss="binary_cross_entropy", kl=(1, 2),
                          l2={"y.weight": 0.1})
