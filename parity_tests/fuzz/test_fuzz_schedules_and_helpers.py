"""Fuzz: the learning-rate schedules, early stopping and the finite-difference helpers,
in the spec and as the mirrors build them, given what they cannot take: a clear error
naming the class or function, never Python's own (an ``IndexError`` for a negative step,
a loop of 10¹² steps, a float ``decay_steps`` or a string ``staircase`` kept silently)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from parity_tests.conftest import framework
from reference import gradcheck, optimizers, parallel
from reference.callbacks import EarlyStopping
from reference.schedules import CosineDecay, ExponentialDecay, PiecewiseConstantDecay

NAN, INF = float("nan"), float("inf")

# (the schedule's class, its arguments, what the error names)
BAD_SCHEDULES = [
    (ExponentialDecay, (0.1, 2.5, 0.5), "decay_steps must be a positive integer"),
    (ExponentialDecay, (0.1, True, 0.5), "decay_steps must be a positive integer"),
    (ExponentialDecay, (0.1, np.float64(2.0), 0.5), "decay_steps must be a positive integer"),
    (ExponentialDecay, (0.1, 2, NAN), "decay_rate must be a finite number > 0"),
    (ExponentialDecay, (INF, 2, 0.5), "initial_learning_rate must be a finite number > 0"),
    (ExponentialDecay, (0.1, 2, 0.5, "yes"), "staircase must be True or False"),
    (PiecewiseConstantDecay, ([2.5], [0.1, 0.05]), r"boundaries\[0\] must be an integer ≥ 0"),
    (PiecewiseConstantDecay, ([True], [0.1, 0.05]), r"boundaries\[0\] must be an integer ≥ 0"),
    (PiecewiseConstantDecay, ("24", [0.1, 0.05]), "boundaries must be a list or tuple"),
    (PiecewiseConstantDecay, ([2], None), "values must be a list or tuple"),
    (PiecewiseConstantDecay, ([2], [0.1, NAN]), r"values\[1\] must be a finite number > 0"),
    (CosineDecay, (0.1, 0), "decay_steps must be a positive integer"),
    (CosineDecay, (0.1, 4, True), "alpha must be a finite number in"),
    (CosineDecay, (0.1, 4, "0.1"), "alpha must be a finite number in"),
    (CosineDecay, (0.1, 4, NAN), "alpha must be a finite number in"),
]
SCHEDULES = [ExponentialDecay(0.1, 2, 0.5), PiecewiseConstantDecay([2], [0.1, 0.05]),
             CosineDecay(0.1, 4)]


@pytest.mark.parametrize(("kind", "arguments", "match"), BAD_SCHEDULES)
def test_a_spec_schedule_refuses_what_it_cannot_take_by_name(kind, arguments, match) -> None:
    with pytest.raises((TypeError, ValueError), match=rf"{kind.__name__}: {match}"):
        kind(*arguments)


@pytest.mark.parametrize(("kind", "arguments", "match"), BAD_SCHEDULES)
def test_torch_schedulers_refuse_what_the_spec_refuses(kind, arguments, match) -> None:
    """torch_impl's builders passed them to torch, which built a scheduler of γ = NaN or a
    fractional step size (or divided by zero)."""
    torch = framework("torch").torch
    start = arguments[1][0] if kind is PiecewiseConstantDecay and isinstance(
        arguments[1], list) else 0.1
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=start)
    with pytest.raises((TypeError, ValueError), match=rf"{kind.__name__}: {match}"):
        getattr(framework("torch").impl.schedules, kind.__name__)(optimizer, *arguments)


@pytest.mark.parametrize(("kind", "arguments", "match"), BAD_SCHEDULES)
def test_keras_schedules_refuse_what_the_spec_refuses(kind, arguments, match) -> None:
    with pytest.raises((TypeError, ValueError), match=rf"{kind.__name__}: {match}"):
        getattr(framework("tf").impl.schedules, kind.__name__)(*arguments)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize("steps", [-1, 2.5, True, "3", None, NAN])
def test_a_schedule_takes_a_whole_number_of_steps(schedule, steps) -> None:
    """A negative step gave an IndexError, a float Python's range() message."""
    name = type(schedule).__name__
    with pytest.raises(ValueError, match=rf"{name}: step must be an integer ≥ 0"):
        schedule(steps)
    with pytest.raises(ValueError, match=rf"{name}.learning_rates: steps must be an integer"):
        schedule.learning_rates(steps)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: type(s).__name__)
def test_a_schedule_refuses_more_rates_than_memory_holds_at_once(schedule) -> None:
    """10¹² steps (8 TB of rates) ran torch's recursion for hours."""
    with pytest.raises(ValueError, match=r"learning_rates: 1000000000000 learning rates: "
                                         r".* needed"):
        schedule.learning_rates(10**12)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: type(s).__name__)
def test_a_schedule_takes_a_numpy_integer_step_as_the_int(schedule) -> None:
    assert schedule(np.int64(3)) == schedule(3)


@pytest.mark.parametrize("convention", ["tf", None, ["torch"]])
def test_a_schedule_names_itself_for_an_unknown_convention(convention) -> None:
    with pytest.raises(ValueError, match=r"ExponentialDecay.learning_rates: convention must "
                                         r"be one of \('torch', 'keras'\)"):
        ExponentialDecay(0.1, 2, 0.5).learning_rates(3, convention)


@pytest.mark.parametrize("package", ["torch", "tf"])
def test_a_mirror_schedule_from_reference_names_what_it_was_given(package) -> None:
    impl = framework(package).impl
    torch = framework("torch").torch
    arguments = (torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1),) \
        if package == "torch" else ()
    with pytest.raises(TypeError, match=r"from_reference: schedule must be a "
                                        r"reference.schedules object .* got str"):
        impl.schedules.from_reference("exponential", *arguments)


def test_a_torch_scheduler_needs_a_torch_optimizer() -> None:
    with pytest.raises(TypeError, match=r"ExponentialDecay: optimizer must be a torch.optim "
                                        r"optimizer, got NoneType"):
        framework("torch").impl.schedules.from_reference(ExponentialDecay(0.1, 2, 0.5), None)


# -- early stopping -----------------------------------------------------------------------

BAD_STOPPING = [({"patience": 2.5}, "patience must be an integer ≥ 0"),
                ({"patience": True}, "patience must be an integer ≥ 0"),
                ({"patience": -1}, "patience must be an integer ≥ 0"),
                ({"min_delta": NAN}, "min_delta must be a finite number ≥ 0"),
                ({"min_delta": "0.1"}, "min_delta must be a finite number ≥ 0"),
                ({"restore_best_weights": "yes"}, "restore_best_weights must be True or False")]


@pytest.mark.parametrize("package", ["reference", "torch", "tf"])
@pytest.mark.parametrize(("arguments", "match"), BAD_STOPPING)
def test_early_stopping_refuses_what_it_cannot_take_in_all_three(package, arguments,
                                                                 match) -> None:
    """torch_impl's loop object and tf_impl's Keras callback took them as given."""
    make = EarlyStopping if package == "reference" else \
        framework(package).impl.callbacks.EarlyStopping
    with pytest.raises((TypeError, ValueError), match=rf"EarlyStopping: {match}"):
        make(**arguments)


def test_early_stopping_takes_numpy_numbers_as_python_ones() -> None:
    assert EarlyStopping(patience=np.int64(2), min_delta=np.float32(0.5)).patience == 2


def test_early_stopping_names_an_unknown_convention_given_as_an_array() -> None:
    with pytest.raises(ValueError, match="EarlyStopping: convention must be one of"):
        EarlyStopping(convention=np.array(["torch"]))


@pytest.mark.parametrize("package", ["torch", "tf"])
@pytest.mark.parametrize("module", ["callbacks", "optimizers"])
def test_a_mirror_from_reference_names_a_foreign_object(package, module) -> None:
    """Both read ``.patience`` / ``.learning_rate`` first: an AttributeError."""
    impl = getattr(framework(package).impl, module)
    arguments = (framework("torch").torch.nn.Linear(2, 1).parameters(),) \
        if package == "torch" and module == "optimizers" else ()
    with pytest.raises(TypeError, match=r"from_reference: (early_stopping|optimizer) must be "
                                        r"a reference\.(callbacks|optimizers)\b.* got str"):
        impl.from_reference("sgd", *arguments)


@pytest.mark.parametrize("extra", [{}, {"learning_rate": NAN}], ids=["", "and a NaN rate"])
def test_adam_refuses_weight_decay_none_which_skipped_every_check(extra) -> None:
    """None is AdamW's "the convention's default"; on Adam it skipped the range checks."""
    with pytest.raises(ValueError, match=r"Adam: weight_decay must be a finite number ≥ 0"):
        optimizers.Adam(weight_decay=None, **extra)


# -- finite differences ---------------------------------------------------------------------

def _square_sum(v: np.ndarray) -> float:
    return float(np.sum(v**2))


@pytest.mark.parametrize("step", [0.0, NAN, INF, -1e-6, True, "1e-6", np.array([1e-6])])
def test_numerical_gradient_takes_a_finite_positive_step(step) -> None:
    """A step of 0 divided by zero; NaN, ±inf or a negative step gave NaN or the wrong sign
    silently."""
    with pytest.raises(ValueError, match=r"numerical_gradient: step must be a finite number "
                                         r"> 0"):
        gradcheck.numerical_gradient(_square_sum, np.array([1.0, 2.0]), step)


@pytest.mark.parametrize("x", [np.array([1 + 1j]), np.array([1.0, None]), "ab"],
                         ids=["complex", "object", "str"])
def test_numerical_gradient_refuses_an_x_that_is_no_real_array(x) -> None:
    """A complex x lost its imaginary part with only a warning."""
    with pytest.raises(TypeError, match=r"numerical_gradient: x must be a float32/float64 or "
                                        r"integer array"):
        gradcheck.numerical_gradient(_square_sum, x)


@pytest.mark.parametrize(("f", "shown"), [(lambda v: v * 2, "ndarray"),
                                          (lambda v: "a", "str")])
def test_numerical_gradient_needs_one_real_number_from_f(f, shown) -> None:
    with pytest.raises(TypeError, match=rf"numerical_gradient: f must return one real "
                                        rf"number, got {shown}"):
        gradcheck.numerical_gradient(f, np.array([1.0, 2.0]))


def test_numerical_gradient_matches_the_derivative_for_an_integer_x() -> None:
    np.testing.assert_allclose(gradcheck.numerical_gradient(_square_sum, np.array([1, 2])),
                               [2.0, 4.0], atol=1e-8)


@pytest.mark.parametrize(("analytic", "numerical", "match"), [
    (np.zeros(2), np.zeros(3), r"gradient_error: shapes differ: analytic \(2,\)"),
    (np.array(["a"]), np.array([0.0]), r"gradient_error: analytic must be a float32/float64"),
    (np.array([1j]), np.array([0.0]), r"gradient_error: analytic must be a float32/float64"),
])
def test_gradient_error_names_itself(analytic, numerical, match) -> None:
    with pytest.raises((TypeError, ValueError), match=match):
        gradcheck.gradient_error(analytic, numerical)


# -- shards ---------------------------------------------------------------------------------

@pytest.mark.parametrize("package", ["reference", "torch"])
def test_shard_rows_refuses_more_rows_than_memory_holds(package) -> None:
    """10¹² rows: NumPy's (or torch's sampler's) MemoryError after trying."""
    shard_rows = parallel.shard_rows if package == "reference" else \
        importlib.import_module("torch_impl.parallel").shard_rows
    with pytest.raises(ValueError, match=r"shard_rows: the indices of 1000000000000 rows"):
        shard_rows(10**12, 2)


@pytest.mark.parametrize(("arguments", "what"), [((5, 0), "world_size"), ((5, 2.5), "world_size"),
                                                 ((5, True), "world_size"), ((-1, 2), "n_samples")])
def test_torch_shard_rows_takes_whole_counts(arguments, what) -> None:
    """torch's DistributedSampler gave [] for 0 replicas, and empty shards for −1 rows."""
    with pytest.raises(ValueError, match=rf"shard_rows: {what} must be an integer ≥ 1"):
        importlib.import_module("torch_impl.parallel").shard_rows(*arguments)


def test_tf_shard_rows_needs_a_strategy() -> None:
    with pytest.raises(TypeError, match=r"shard_rows: strategy must be a "
                                        r"tf.distribute.Strategy, got str"):
        importlib.import_module("tf_impl.parallel").shard_rows(4, "mirrored")


def test_the_spec_shards_cover_every_row_once() -> None:
    shards = parallel.shard_rows(7, 3)
    assert sorted(np.concatenate(shards).tolist()) == list(range(7))
