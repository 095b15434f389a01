"""Fuzz (issue 25), generated: the public functions that build no layer, in the spec and
both mirrors: losses (values and gradients), activations as functions, initialisers,
schedules, the descent of note 002, the optimizer builders, ``batch_order``, the
computational graph's helpers, ``losses.get``, ``torch_dtype`` and the reading surface's
look-ups. Each argument of each function is given values drawn, with a seed fixed by the
function's and argument's names, from ``test_fuzz_generated_layers.MENU`` (valid, at the
edges, of the wrong type) widened with arrays of every dtype and layout, torch and TF
tensors, ±inf, NaN and integers beyond int64.

The oracle is ``oracle.py``: a result, or a clear error naming the function, before
anything is computed; a loss that computes gives the spec's number in torch and Keras.
Below the sweep, one test per bug the sweep found, each failing before its fix.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework
from parity_tests.fuzz.oracle import Outcome, assert_same, outcome, spec_outcome
from parity_tests.fuzz.test_fuzz_generated_layers import MENU
from reference import activations, autodiff, initializers, losses, optimizers, schedules
from reference.training import batch_order

_A = np.array([[0.2, 0.7], [0.4, 0.1]])


def _arrays() -> tuple:
    """The menu's arrays and tensors, made fresh for each call (a call may keep one)."""
    torch, tf = framework("torch").torch, framework("tf").tf
    return (np.array(0.5), np.array([[1, 0], [0, 1]]), _A > 0.3, _A.astype(np.complex128),
            _A.astype(object), _A.astype(np.float16), _A.astype(np.float32), _A.copy(),
            np.zeros((0, 2)), np.full((3, 5), 0.3), np.full((2, 4), 0.3)[:, ::2],
            np.where(_A > 0.5, np.inf, _A), np.where(_A > 0.5, np.nan, _A), np.longdouble(0.5),
            np.asarray(2**63), [[1, 2], [3]], 2**63, 10**400, torch.tensor(_A),
            torch.tensor(_A, dtype=torch.float32), tf.constant(_A), lambda *a: 0.0)


def _drawn(name: str, argument: str, k: int = 3) -> list[object]:
    """``k`` values for this argument of this function: seeded by the pair's name, so a
    run gives the same cases, and a new function or argument gets its own draw."""
    values = MENU + _arrays()
    rng = np.random.default_rng(zlib.crc32(f"{name}.{argument}".encode()))
    return [values[int(i)] for i in rng.choice(len(values), k, replace=False)]


def _non_finite(value: object) -> bool:
    """An array with ±inf or NaN: the spec may compute ∞ − ∞ with NumPy's RuntimeWarning
    (the NaN policy's signal, ``oracle.spec_outcome``)."""
    return isinstance(value, np.ndarray) and value.dtype.kind == "f" and \
        not np.isfinite(value).all()


def _model() -> reference.Sequential:
    return reference.Sequential([reference.Dense(2, 2, activation="sigmoid")], seed=0)


# (name the error must hold, the function, its valid arguments): every public function of
# the spec that builds no layer, and the mirrors' functions that check what they are given
SPEC = [
    *[(n, getattr(activations, n), lambda: {"z": _A.copy()})
      for n in ("identity", "step", "sigmoid", "tanh", "relu", "softmax", "softplus", "silu",
                "exponential", "sigmoid_derivative", "tanh_derivative", "relu_derivative",
                "softplus_derivative", "silu_derivative", "exponential_derivative")],
    ("softmax_vjp", activations.softmax_vjp, lambda: {"z": _A.copy(), "grad_output": _A.copy()}),
    *[(n, getattr(activations, n), lambda: {"z": _A.copy(), "negative_slope": 0.1})
      for n in ("leaky_relu", "leaky_relu_derivative")],
    *[(n, getattr(activations, n), lambda: {"z": _A.copy(), "alpha": 0.5})
      for n in ("elu", "elu_derivative")],
    *[(n, getattr(activations, n), lambda: {"z": _A.copy(), "approximate": "tanh"})
      for n in ("gelu", "gelu_derivative")],
    ("activation", activations.get, lambda: {"identifier": "relu"}),
    ("loss", losses.get, lambda: {"name": "mean_squared_error"}),
    ("loss", losses.gradient, lambda: {"name": "mean_squared_error"}),
    ("gaussian_kl", losses.gaussian_kl_gradient, lambda: {"z_mean": _A, "z_log_var": _A}),
    *[(n, getattr(initializers, n), lambda: {"shape": (2, 3), "rng": np.random.default_rng(0)})
      for n in ("glorot_uniform", "torch_linear_default", "normal", "zeros")],
    ("normal", initializers.normal, lambda: {"shape": (2, 3), "rng": np.random.default_rng(0),
                                             "mean": 0.5, "stddev": 2.0}),
    ("torch_linear_default", initializers.torch_linear_default,
     lambda: {"shape": (3,), "rng": np.random.default_rng(0), "fan_in": 4}),
    ("ExponentialDecay", schedules.ExponentialDecay,
     lambda: {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5}),
    ("PiecewiseConstantDecay", schedules.PiecewiseConstantDecay,
     lambda: {"boundaries": [2], "values": [0.1, 0.01]}),
    ("CosineDecay", schedules.CosineDecay,
     lambda: {"initial_learning_rate": 0.1, "decay_steps": 4, "alpha": 0.1}),
    ("CosineDecay", lambda step, convention: schedules.CosineDecay(0.1, 4)(step, convention),
     lambda: {"step": 3, "convention": "keras"}),
    ("gradient_descent", optimizers.gradient_descent,
     lambda: {"grad": lambda x: 2 * (x - 2), "x0": 4.0, "learning_rate": 0.1, "precision": 1e-4,
              "max_iters": 50}),
    ("batch_order", batch_order, lambda: {"n_samples": 4, "batch_size": 2, "epochs": 2,
                                          "seed": 0}),
    ("jacobian", autodiff.jacobian, lambda: {"f": autodiff.tanh, "x": _A[0].copy()}),
    ("hessian", autodiff.hessian, lambda: {"f": lambda t: autodiff.mean_squared_error(
        np.zeros(2), t), "x": _A[0].copy(), "step": 1e-3}),
    ("layer_jacobians", autodiff.layer_jacobians, lambda: {"model": _model(), "x": _A.copy()}),
    ("network_gradients", autodiff.network_gradients,
     lambda: {"model": _model(), "x": _A.copy(), "y_true": _A.copy(),
              "loss": "mean_squared_error"}),
]
# What a function may name instead of itself: the function it computes through (a loss's
# gradient names its loss; ``network_gradients`` the Dense layer reading x, the loss
# reading y_true; the Tensor a Jacobian reads x into).
ALSO = {"layer_jacobians": ("Dense(2, 2, sigmoid)", "jacobian", "Tensor"),
        "network_gradients": ("Dense(2, 2, sigmoid)", "mean_squared_error"),
        "jacobian": ("Tensor",), "hessian": ("Tensor", "mean_squared_error")}


def _outcome(call, where: str, value: object) -> Outcome:
    """``oracle.outcome``, where the error may name the function or one it computes through."""
    run = spec_outcome if _non_finite(value) else outcome
    for name in (where, *ALSO.get(where, ())):
        try:
            return run(call, name)
        except AssertionError:
            continue
    return run(call, where)  # fails, naming where


CASES = [(where, function, base, argument) for where, function, base in SPEC
         for argument in base()]


@pytest.mark.parametrize(("where", "function", "base", "argument"), CASES,
                         ids=[f"{w}.{a}" for w, _, _, a in CASES])
def test_a_generated_argument_gives_a_result_or_a_refusal_naming_the_function(
        where, function, base, argument) -> None:
    name = getattr(function, "__name__", where)
    for value in _drawn(f"{where}.{name}", argument):
        arguments = base()
        arguments[argument] = value
        _outcome(lambda arguments=arguments: function(**arguments), where, value)


LOSSES = list(losses.NAMES)
# torch's F.binary_cross_entropy raises on NaN (torch_impl.losses says so): its gap
NAN_RAISES = {("torch", "binary_cross_entropy")}


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("argument", ["y_true", "y_pred"])
def test_a_generated_loss_argument_gives_the_spec_s_number_in_both_mirrors_or_its_refusal(
        name, argument) -> None:
    sparse = name.startswith("sparse")
    for value in _drawn(f"loss.{name}", argument, 6):
        arguments = {"y_true": np.array([1, 0]) if sparse else _A.round(), "y_pred": _A.copy()}
        arguments[argument] = value
        spec = spec_outcome(lambda arguments=arguments: losses.get(name)(**arguments), name)
        for side in ("torch", "tf"):
            nan = isinstance(value, np.ndarray) and value.dtype.kind == "f" and \
                np.isnan(value).any()
            if nan and (side, name) in NAN_RAISES:
                continue
            mirror = outcome(lambda side=side, arguments=arguments: getattr(
                framework(side).impl.losses, name)(**arguments), name)
            as_number = Outcome(value=None if mirror.value is None else
                                np.asarray(mirror.value).item(), error=mirror.error)
            assert_same(spec, as_number, np.dtype("float64"), f"{side}: {name}({argument}="
                                                             f"{value!r:.40})")


# -- one test per bug the sweep found ------------------------------------------------------

def test_fit_refuses_an_order_of_batches_beyond_memory_naming_fit(monkeypatch) -> None:
    """2**31 epochs of 4 rows: fit built the order of every batch of every epoch before
    its first step, growing the process for minutes until the system's OOM killer ended
    it. Now refused, counted in bytes, by name."""
    monkeypatch.setattr("reference._validation.available_memory", lambda: 10**8)
    with pytest.raises(ValueError, match=r"batch_order: the order of 1000000 epochs of 4 "
                                         r"batches: .* needed"):
        batch_order(4, 1, 10**6, 0)
    model = reference.Sequential([reference.Dense(2, 1)], seed=0)
    with pytest.raises(ValueError, match=r"^fit: the order of 1099511627776 epochs"):
        reference.fit(model, np.ones((4, 2)), np.ones((4, 1)), epochs=2**40, batch_size=1)


def test_the_order_s_memory_count_takes_numpy_integers_as_python_s() -> None:
    """The count itself overflowed for np.int8 rows or epochs (OverflowError: 'Python
    integer 440 out of bounds for int8'), which fit takes as counts."""
    for mine, python in zip(batch_order(np.int8(4), np.uint64(2), np.int8(3), 0),
                            batch_order(4, 2, 3, 0), strict=True):
        np.testing.assert_array_equal(np.concatenate(mine), np.concatenate(python))


@pytest.mark.parametrize("package", ["torch", "tf"])
def test_a_mirror_fit_refuses_an_order_of_batches_beyond_memory(package) -> None:
    impl = framework(package).impl
    model = impl.from_reference(reference.Sequential([reference.Dense(2, 1)], seed=0))
    with pytest.raises(ValueError, match=r"^fit: the order of 1099511627776 epochs"):
        impl.fit(model, np.ones((4, 2)), np.ones((4, 1)), epochs=2**40, batch_size=1)


def _initializers(package: str):
    return initializers if package == "spec" else framework(package).impl.initializers


def _rng(package: str) -> object:
    return {"spec": np.random.default_rng(0), "torch": None, "tf": 0}[package]


@pytest.mark.parametrize("package", ["spec", "torch", "tf"])
@pytest.mark.parametrize(("arguments", "match"), [
    ({"shape": (2**40,)}, r"zeros: an array of shape \(1099511627776,\): .* needed"),
    ({"shape": 3}, r"zeros: shape must be a tuple of positive integers, got 3"),
    ({"shape": (2, 2.5)}, r"zeros: shape must be a tuple of positive integers"),
    ({"shape": np.array(3)}, r"zeros: shape must be a tuple of positive integers"),
    ({"dtype": "int64"}, r"zeros: the dtype must be float32 or float64, got int64"),
], ids=["beyond memory", "an int", "a float size", "a 0-d array", "int64"])
def test_an_initializer_checks_its_shape_and_dtype_by_name(package, arguments, match) -> None:
    """np.zeros(2**40 rows) raised NumPy's MemoryError (2**31 rows grew the process until
    the OOM killer ended it), a shape of 3 or 2.5 was NumPy's or torch's to refuse, an
    int64 dtype made integer "weights"."""
    given = {"shape": (2, 3), "dtype": "float64", **arguments}
    if package == "torch" and isinstance(given["dtype"], str):
        given["dtype"] = getattr(framework("torch").torch, given["dtype"])
    with pytest.raises((TypeError, ValueError), match=match):
        _initializers(package).zeros(given["shape"], _rng(package), given["dtype"])


@pytest.mark.parametrize("package", ["spec", "torch", "tf"])
@pytest.mark.parametrize(("arguments", "match"), [
    ({"stddev": math.nan}, r"normal: stddev must be a finite number ≥ 0.0, got nan"),
    ({"mean": math.inf}, r"normal: mean must be a finite number, got inf"),
    ({"stddev": -1.0}, r"normal: stddev must be a finite number ≥ 0.0, got -1.0"),
], ids=["NaN stddev", "inf mean", "negative stddev"])
def test_a_normal_draw_takes_a_finite_mean_and_spread(package, arguments, match) -> None:
    """A stddev of NaN drew an array of NaN weights, without a word."""
    with pytest.raises(ValueError, match=match):
        _initializers(package).normal((2, 3), _rng(package), **arguments)


@pytest.mark.parametrize(("package", "rng", "match"), [
    ("spec", 0, r"glorot_uniform: rng must be a numpy.random.Generator"),
    ("spec", None, r"glorot_uniform: rng must be a numpy.random.Generator"),
    ("torch", 0, r"glorot_uniform: rng must be a torch.Generator or None"),
    ("tf", 2.5, r"glorot_uniform: rng must be an integer ≥ 0"),
    ("tf", 2**63, r"glorot_uniform: rng must be at most 2\*\*63 − 1"),
], ids=["spec int", "spec None", "torch int", "tf float", "tf 2**63"])
def test_an_initializer_names_a_generator_of_another_kind(package, rng, match) -> None:
    """'int' object has no attribute 'uniform'; torch's 'generator must be a Generator';
    Keras's "Can't convert Python sequence with out-of-range integer"."""
    with pytest.raises((TypeError, ValueError), match=match):
        _initializers(package).glorot_uniform((2, 3), rng)


def test_a_keras_seed_of_numpy_s_integers_draws_as_the_int() -> None:
    """Keras refused np.int64(2) ("`seed` argument should be an instance of
    `keras.random.SeedGenerator()` or an integer")."""
    tf_init = framework("tf").impl.initializers
    np.testing.assert_array_equal(tf_init.glorot_uniform((2, 3), np.int64(2)),
                                  tf_init.glorot_uniform((2, 3), 2))


def test_a_schedule_s_keras_rate_at_a_far_step_is_its_formula_not_a_loop(monkeypatch) -> None:
    """schedule(2**31, "keras") walked 2**31 Python steps (a hang) for one rate of a
    closed formula; it is that formula at the step, the number learning_rates gives,
    whatever memory the machine has."""
    monkeypatch.setattr("reference._validation.available_memory", lambda: 10**9)
    schedule = schedules.ExponentialDecay(0.1, 3, 0.5)
    assert schedule(7, "keras") == schedule.learning_rates(8, "keras")[-1]
    assert schedule(2**31, "keras") == 0.0  # 0.5**(2**31 / 3), flushed to 0 as TF does


def test_a_schedule_counts_each_rate_s_python_float_in_its_memory_check(monkeypatch) -> None:
    """8 bytes a rate, where the list of Python floats holds 40: 2**31 steps passed a
    machine of 20 GB and ran for minutes."""
    monkeypatch.setattr("reference._validation.available_memory", lambda: 10**9)
    with pytest.raises(ValueError, match=r"CosineDecay.learning_rates: 50000000 learning "
                                         r"rates: 2.0 GB \(2000000000 bytes\) needed"):
        schedules.CosineDecay(0.1, 4)(50_000_000 - 1)


@pytest.mark.parametrize(("make", "match"), [
    (lambda: schedules.ExponentialDecay(1e300, 2, 0.5), r"initial_learning_rate must be at most"),
    (lambda: schedules.CosineDecay(np.float16(0.5), 2)(1, "keras"), None),
    (lambda: schedules.PiecewiseConstantDecay(np.array(2), [0.1]), r"boundaries must be a list"),
    (lambda: schedules.CosineDecay(0.1, 4).learning_rates(10**400),
     r"learning rates: more than 10\*\*291 GB"),
], ids=["1e300", "float16", "0-d boundaries", "10**400 steps"])
def test_a_schedule_refuses_by_name_what_float32_or_memory_cannot_hold(make, match) -> None:
    """1e300 overflowed Keras's float32 ("overflow encountered in cast", TF's "value out of
    range"); a float16 η₀ overflowed in the comparison with that bound; a 0-d array of
    boundaries raised "iteration over a 0-d array"; 10**400 steps Python's OverflowError
    while the memory check wrote its message."""
    if match is None:
        assert make() == schedules.CosineDecay(0.5, 2)(1, "keras")
        return
    with pytest.raises((TypeError, ValueError), match=match):
        make()


@pytest.mark.parametrize(("call", "match"), [
    (lambda z: activations.leaky_relu(z, math.nan), r"leaky_relu: negative_slope must be a"),
    (lambda z: activations.leaky_relu(z, np.array([0.1, 0.2])), r"leaky_relu: negative_slope"),
    (lambda z: activations.leaky_relu_derivative(z, "0.1"), r"leaky_relu_derivative: negative"),
    (lambda z: activations.elu(z, -math.inf), r"elu: alpha must be a finite number"),
    (lambda z: activations.elu_derivative(z, None), r"elu_derivative: alpha must be a finite"),
    (lambda z: activations.gelu(z, np.array(["tanh", "none"])), r"gelu: approximate must be"),
    (lambda z: activations.softmax_vjp(z, np.ones(2)), r"softmax_vjp: grad_output .* must "
                                                       r"have shape \(2, 2\), got \(2,\)"),
    (lambda z: activations.softplus_derivative("z"), r"^softplus_derivative: z must be"),
], ids=["NaN slope", "slope per column", "string slope", "-inf alpha", "None alpha",
        "array approximate", "vjp broadcast", "softplus' named sigmoid"])
def test_an_activation_function_checks_its_constants_and_names_itself(call, match) -> None:
    """A NaN slope gave NaN for every z ≤ 0, an array of slopes one per column (broadcast),
    a string NumPy's UFuncTypeError; a g of shape (2,) was broadcast over every row of
    softmax's z; softplus' refused z under sigmoid's name."""
    with pytest.raises((TypeError, ValueError), match=match):
        call(_A.copy())


@pytest.mark.parametrize("call", [lambda z: activations.leaky_relu(z, np.float64(0.1)),
                                  lambda z: activations.elu(z, np.float64(0.5)),
                                  lambda z: activations.leaky_relu_derivative(z, np.float64(0.1))],
                         ids=["leaky_relu", "elu", "leaky_relu_derivative"])
def test_an_activation_keeps_float32_for_a_numpy_float64_constant(call) -> None:
    """np.float64(0.1) · z is float64 for a float32 z (NumPy's promotion of a typed scalar):
    the activation changed the precision without a word."""
    assert call(_A.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("package", ["spec", "torch", "tf"])
@pytest.mark.parametrize("kind", ["array", "tf"])
def test_an_unknown_loss_name_of_another_type_is_refused_as_unknown(package, kind) -> None:
    """An array raised NumPy's "truth value of an array is ambiguous", a TF tensor TF's
    "Cannot convert 'mean_squared_error' to EagerTensor of dtype double"."""
    name = np.array(["mean_squared_error"] * 2) if kind == "array" else \
        framework("tf").tf.constant([1.0, 2.0], "float64")
    impl = losses if package == "spec" else framework(package).impl.losses
    with pytest.raises(ValueError, match=r"unknown loss"):
        impl.get(name)


@pytest.mark.parametrize("package", ["torch", "tf"])
def test_a_loss_of_an_unsigned_64_bit_label_array_computes_as_the_spec(package) -> None:
    """np.asarray(2**63) is a numpy.ulonglong array, which torch refused in its own words
    ("can't convert np.ndarray of type numpy.ulonglong"); the same bytes as numpy.uint64
    it takes."""
    y_true = np.array([[1, 0], [0, 1]], dtype=np.ulonglong)
    loss = framework(package).impl.losses.mean_squared_error
    assert np.asarray(loss(y_true, _A)).item() == losses.mean_squared_error(y_true, _A)


@pytest.mark.parametrize("package", ["spec", "torch", "tf"])
def test_a_long_double_is_refused_by_the_dtype_policy_in_all_three(package) -> None:
    """torch's "can't convert np.ndarray of type numpy.longdouble", TF's "Unsupported numpy
    type: NPY_LONGDOUBLE"."""
    impl = losses if package == "spec" else framework(package).impl.losses
    with pytest.raises(TypeError, match=r"mean_squared_error: y_pred must be a float32/float64 "
                                        r"or integer array, got dtype float128"):
        impl.mean_squared_error(_A, _A.astype(np.longdouble))


@pytest.mark.parametrize("params", [[1, 2], np.ones((2, 2)), np.array(0.5), [{"lr": 0.1}]],
                         ids=["ints", "an array", "a 0-d array", "a group without params"])
def test_torch_optimizer_builders_name_params_that_are_not_tensors(params) -> None:
    """torch's "optimizer can only optimize Tensors, but one of the params is int", and
    "iteration over a 0-d array", named neither the builder nor the argument."""
    with pytest.raises(TypeError, match=r"^SGD: params must"):
        framework("torch").impl.optimizers.SGD(params, learning_rate=0.1)


@pytest.mark.parametrize("package", ["spec", "torch", "tf"])
@pytest.mark.parametrize(("arguments", "match"), [
    ({"x0": [4.0, 1.0]}, r"gradient_descent: x0 \(one number\) must have shape \(\), got \(2,\)"),
    ({"function": 3}, r"gradient_descent: (grad|function) must be a function of x, got int"),
], ids=["a list x0", "not a function"])
def test_gradient_descent_takes_one_number_and_a_function(package, arguments, match) -> None:
    """NumPy's "only 0-dimensional arrays can be converted to Python scalars", torch's
    "grad can be implicitly created only for scalar outputs", Python's "'int' object is
    not callable" (inside TF's trace)."""
    torch = framework("torch").torch
    function = {"spec": lambda x: 2 * (x - 2), "torch": lambda x: (x - 2) ** 2,
                "tf": lambda x: (x - 2) ** 2}[package]
    given = {"function": function, "x0": 4.0, **arguments}
    descend = optimizers.gradient_descent if package == "spec" else \
        framework(package).impl.optimizers.gradient_descent
    with pytest.raises((TypeError, ValueError), match=match):
        descend(given["function"], given["x0"], 0.1, 1e-4, 10)
    del torch


def test_torch_gradient_descent_takes_a_numpy_unsigned_rate_as_the_spec() -> None:
    """η = np.uint64(1) passed the check and torch's SGD said "an integer is required"."""
    steps = framework("torch").impl.optimizers.gradient_descent(
        lambda x: (x - 2) ** 2 / 4, 4.0, np.uint64(1), 1e-4, 5)
    np.testing.assert_allclose(steps.numpy(), optimizers.gradient_descent(
        lambda x: (x - 2) / 2, 4.0, 1.0, 1e-4, 5), rtol=1e-15)


@pytest.mark.parametrize(("make", "match"), [
    (lambda: optimizers.SGD(1e300, convention="keras"), r"^SGD: learning_rate must be a finite "
                                                        r"number in \[0.0, 3.4028234663852886e"),
    (lambda: optimizers.Adam(clipnorm=1e300, convention="keras"), r"^Adam: clipnorm must be"),
    (lambda: framework("tf").impl.optimizers.SGD(learning_rate=1e300), r"^SGD: learning_rate"),
    (lambda: framework("tf").impl.optimizers.Adam(weight_decay=1e39), r"^Adam: weight_decay"),
], ids=["spec keras", "spec keras clipnorm", "tf SGD", "tf Adam"])
def test_a_keras_hyperparameter_beyond_float32_is_refused(make, match) -> None:
    """Keras holds η in a float32 variable: 1e300 became inf (every weight then −inf or
    NaN), and the spec's Keras convention warned "overflow encountered in cast"."""
    with pytest.raises(ValueError, match=match):
        make()


def test_a_torch_convention_hyperparameter_beyond_float32_is_torch_s_float64() -> None:
    assert optimizers.SGD(1e300).learning_rate == 1e300


@pytest.mark.parametrize(("call", "match"), [
    (lambda: autodiff.layer_jacobians(3, _A), r"^layer_jacobians: model must be a reference"),
    (lambda: autodiff.network_gradients("model", _A, _A, "mean_squared_error"),
     r"^network_gradients: model must be"),
    (lambda: autodiff.network_gradients(_model(), _A, _A, "mse"),
     r"^network_gradients: unknown loss 'mse'"),
    (lambda: autodiff.jacobian(autodiff.tanh, np.zeros(0)), r"^jacobian: x has no entries"),
    (lambda: autodiff.jacobian(3, _A[0]), r"^jacobian: f must be a function of a Tensor"),
    (lambda: autodiff.hessian(lambda t: autodiff.mean_squared_error(np.zeros(2), t), _A[0],
                              math.nan), r"^hessian: step must be a finite number > 0"),
    (lambda: autodiff.grad(True, []), r"^grad: takes an output Tensor and a list of input"),
    (lambda: autodiff.grad(autodiff.Tensor(1.0), 3), r"^grad: takes an output Tensor"),
], ids=["model an int", "model a str", "unknown loss", "empty x", "f an int", "NaN step",
        "grad of a bool", "grad of inputs 3"])
def test_the_graph_s_helpers_name_what_they_cannot_take(call, match) -> None:
    """'int' object has no attribute 'name'; KeyError: 'mse'; NumPy's "need at least one
    array to stack"; "'int' object is not callable"; a Hessian of NaN for h = NaN;
    "'bool' object has no attribute 'data'"; "'int' object is not iterable"."""
    with pytest.raises((TypeError, ValueError), match=match):
        call()


@pytest.mark.parametrize("dtype", [np.int64, "float16", True], ids=repr)
def test_torch_dtype_names_a_dtype_it_has_no_counterpart_for(dtype) -> None:
    """KeyError: dtype('int64'); NumPy's "Cannot interpret 'True' as a data type"."""
    with pytest.raises(TypeError, match=r"^torch_dtype: the dtype must be float32 or float64"):
        framework("torch").impl.torch_dtype(dtype)


def test_the_notes_look_up_names_an_unknown_note_as_the_catalog_does() -> None:
    """A bare StopIteration escaped (a generator would turn it into a RuntimeError), and an
    array NumPy's "truth value of an array is ambiguous"."""
    from nn_rosetta import catalog, notes

    with pytest.raises(KeyError, match=r"no note '999'"):
        notes.find("999")
    with pytest.raises(TypeError, match=r"^notes.find: number must be a str"):
        notes.find(np.array(["000", "001"]))
    with pytest.raises(TypeError, match=r"^catalog.find: name must be a str"):
        catalog.find(np.array(["sigmoid", "tanh"]))
