"""Fuzz: every optimizer's hyper-parameters and switches, in the spec's optimizer objects
and both mirrors' builders (``torch_impl.optimizers``, ``tf_impl.optimizers``).

The ranges, stated here independently of ``reference._validation`` (the decision, per
hyper-parameter): η ≥ 0 and λ ≥ 0 (0 changes nothing); μ in [0, 1] (Keras's range: μ = 1
is a heavy ball without friction); β₁, β₂ in [0, 1) (β = 1 zeroes Adam's bias
correction 1 − βᵗ, a division by 0); ε > 0 (ε = 0 divides 0 by 0 for a parameter whose
gradient is 0). Every value is a finite real number, never a bool (True is an int in
Python, and ``learning_rate=True`` is a typo, not 1.0) nor a string. The three
packages build the same optimizers and refuse the same ones, naming the optimizer.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from parity_tests.conftest import framework
from parity_tests.fuzz.oracle import outcome
from reference import optimizers

RANGES = {  # (low, high, low included, high included)
    "learning_rate": (0.0, math.inf, True, False),
    "weight_decay": (0.0, math.inf, True, False),
    "momentum": (0.0, 1.0, True, True),
    "beta_1": (0.0, 1.0, True, False),
    "beta_2": (0.0, 1.0, True, False),
    "epsilon": (0.0, math.inf, False, False),
}
TAKES = {"SGD": ("learning_rate", "momentum", "weight_decay"),
         "Adam": ("learning_rate", "beta_1", "beta_2", "epsilon", "weight_decay"),
         "AdamW": ("learning_rate", "beta_1", "beta_2", "epsilon", "weight_decay")}
VALUES = (0, 0.0, -0.0, 1e-8, 0.5, 0.999, 1, 1.0, 1.5, 1e30, -1e-12, -1.0, math.nan,
          math.inf, -math.inf, np.float32(0.9), np.float64(0.0), np.int64(1), True, False,
          "0.1", [0.1], complex(0.1, 0))  # None: the spec's "convention default" for ε


def _in_range(name: str, value: object) -> bool:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number) \
            or isinstance(value, complex) or not math.isfinite(value):
        return False
    low, high, low_in, high_in = RANGES[name]
    return (value > low or (low_in and value == low)) and \
        (value < high or (high_in and value == high))


def _builders(kind: str) -> dict:
    torch = framework("torch").torch
    params = [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))]
    torch_impl, tf_impl = framework("torch").impl, framework("tf").impl
    return {"reference": lambda **kw: getattr(optimizers, kind)(**kw),
            "torch": lambda **kw: getattr(torch_impl.optimizers, kind)(params, **kw),
            "tf": lambda **kw: getattr(tf_impl.optimizers, kind)(**kw)}


@given(kind=st.sampled_from(sorted(TAKES)), data=st.data())
def test_a_hyperparameter_in_range_builds_in_all_three_and_any_other_is_refused(kind,
                                                                               data) -> None:
    name = data.draw(st.sampled_from(TAKES[kind]))
    value = data.draw(st.sampled_from(VALUES))
    expected = _in_range(name, value)
    for package, build in _builders(kind).items():
        made = outcome(lambda build=build: build(**{name: value}), kind)
        assert (made.error is None) == expected, (package, name, value, made)
        if made.error is not None:
            assert name in str(made.error), made.error


@pytest.mark.parametrize("package", ["reference", "torch", "tf"])
@pytest.mark.parametrize(("kind", "switch"), [("SGD", "nesterov"),
                                              ("SGD", "decoupled_weight_decay"),
                                              ("Adam", "decoupled_weight_decay")])
@pytest.mark.parametrize("value", [True, False, 1, 0, "yes", "no", None, np.bool_(True)])
def test_a_switch_is_true_or_false_in_all_three(package, kind, switch, value) -> None:
    extra = {"momentum": 0.9} if switch == "nesterov" else {}
    made = outcome(lambda: _builders(kind)[package](**{switch: value}, **extra), kind)
    assert (made.error is None) == isinstance(value, bool | np.bool_), made


@pytest.mark.parametrize("kind", sorted(TAKES))
@pytest.mark.parametrize("params", [None, 3, "weights", "tensor"])
def test_torch_builders_take_an_iterable_of_tensors_and_name_anything_else(kind,
                                                                           params) -> None:
    torch = framework("torch").torch
    given = torch.zeros(2, requires_grad=True) if params == "tensor" else params
    with pytest.raises(TypeError, match=rf"^{kind}: params must be an iterable of tensors"):
        getattr(framework("torch").impl.optimizers, kind)(given)


@pytest.mark.parametrize("package", ["reference", "torch", "tf"])
def test_nesterov_without_momentum_is_refused_in_all_three(package) -> None:
    with pytest.raises(ValueError, match=r"^SGD: nesterov=True needs a momentum > 0"):
        _builders("SGD")[package](nesterov=True)


@pytest.mark.parametrize(("clipping", "valid"), [
    ({"clipnorm": 1.0}, True), ({"global_clipnorm": 0.5}, True), ({"clipvalue": 2}, True),
    ({"clipnorm": 0.0}, False), ({"clipnorm": -1.0}, False), ({"clipvalue": math.nan}, False),
    ({"global_clipnorm": math.inf}, False), ({"clipnorm": True}, False),
    ({"clipnorm": "1"}, False), ({"clipnorm": 1.0, "clipvalue": 1.0}, False)])
@pytest.mark.parametrize("kind", sorted(TAKES))
def test_clipping_is_one_positive_finite_number_in_the_spec_and_keras(kind, clipping,
                                                                      valid) -> None:
    for package in ("reference", "tf"):
        made = outcome(lambda package=package: _builders(kind)[package](**clipping), kind)
        assert (made.error is None) == valid, (package, made)


def test_keras_builders_name_an_unknown_argument() -> None:
    with pytest.raises(TypeError, match=r"^SGD: unknown argument\(s\) \['clip_norm'\]"):
        framework("tf").impl.optimizers.SGD(clip_norm=1.0)


def test_adam_with_the_smallest_epsilon_keeps_a_parameter_of_zero_gradient_finite() -> None:
    """Why ε > 0: a parameter whose gradient is 0 moves by 0 / (0 + ε) = 0; with ε = 0 it
    would be 0/0 = NaN."""
    adam = optimizers.Adam(epsilon=5e-324)
    p = np.ones(2)
    state = adam.init([p])
    adam.step([p], [np.zeros(2)], state)
    np.testing.assert_array_equal(p, np.ones(2))
