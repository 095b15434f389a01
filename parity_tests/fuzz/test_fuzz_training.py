"""Fuzz: the arguments of a training run, in all three ``fit``, and optimizer state.

Every loss of the registry, every optimizer; counts that are floats, negative, booleans
or strings; learning rates that are NaN, infinite or negative; labels of the wrong shape,
dtype or range. The spec's ``fit`` computes or refuses clearly before any step, and
both mirrors refuse the same runs and train the same ones along the same losses.
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference
from parity_tests.conftest import framework
from parity_tests.fuzz.oracle import outcome
from parity_tests.tolerances import tolerance
from reference import Dense, Sequential, losses, optimizers, registry
from reference.training import TrainingDiverged

LOSSES = [c.name for c in registry.concepts("losses")]
OPTIMIZERS = [c.name for c in registry.concepts("optimizers") if c.name != "gradient_descent"]
# Each argument's valid values, then its invalid ones (floats that would be truncated,
# negatives, booleans, strings, NaN and ±inf).
ARGUMENTS = {
    "epochs": ((0, 1, 2, np.int64(2)), (2.5, 2.0, -1, True, "2", None)),
    "batch_size": ((None, 1, 2, 3, 7, np.int64(2)), (0, 2.5, -1, True, "2")),
    "seed": ((None, 0, 5), (-1, 2.5, "0")),
    "rate": ((0.1, 0.0, 1e-3), (math.nan, math.inf, -0.1, "0.1", None)),
}


def _model(loss: str, dtype: np.dtype) -> Sequential:
    last = "sigmoid" if loss in ("binary_cross_entropy", "categorical_cross_entropy",
                                 "sparse_categorical_cross_entropy") else "identity"
    return Sequential([Dense(3, 4, "tanh", dtype=dtype), Dense(4, 2, last, dtype=dtype)],
                      seed=0)


def _targets(loss: str, n: int, rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
    if loss.startswith("sparse"):
        return rng.integers(0, 2, n)
    if "cross_entropy" in loss:
        return np.eye(2, dtype=dtype)[rng.integers(0, 2, n)]
    return rng.uniform(0.1, 0.9, (n, 2)).astype(dtype)


@st.composite
def runs(draw) -> dict:
    loss = draw(st.sampled_from(LOSSES))
    dtype = np.dtype(draw(st.sampled_from(("float64", "float32"))))
    n = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 3)))
    X, Y = rng.uniform(-1, 1, (n, 3)).astype(dtype), _targets(loss, n, rng, dtype)
    bad = draw(st.sampled_from([None, None, None, None, *ARGUMENTS, "shape", "labels",
                                "dtype"]))  # one bad argument at most, half the time none
    if bad == "shape":
        Y = Y[:-1] if n > 1 else Y.reshape(1, -1)[:, :1]
    elif bad == "labels":
        Y = np.full_like(Y, 2 if loss.startswith("sparse") else -1)
    elif bad == "dtype":
        Y = Y.astype(np.float16)
    arguments = {name: draw(st.sampled_from(values[name == bad]))
                 for name, values in ARGUMENTS.items()}
    return dict(loss=loss, dtype=dtype, X=X, Y=Y, optimizer=draw(st.sampled_from(OPTIMIZERS)),
                **arguments)


def _fit(package, model, run: dict, optimizer) -> object:
    try:
        return package.fit(model, run["X"], run["Y"], loss=run["loss"], optimizer=optimizer,
                           epochs=run["epochs"], batch_size=run["batch_size"], seed=run["seed"])
    except TrainingDiverged as diverged:  # a clear, named outcome of a valid run
        return diverged


@given(run=runs())
def test_fit_refuses_bad_arguments_before_any_step_and_the_mirrors_agree(run: dict) -> None:
    name = run["optimizer"]
    made = outcome(lambda: getattr(optimizers, name)(learning_rate=run["rate"],
                                                     convention="torch"), name)
    if made.error is not None:  # the hyper-parameter check: a finite number ≥ 0 only
        assert not (isinstance(run["rate"], float) and math.isfinite(run["rate"]) and
                    run["rate"] >= 0), made.error
        return
    spec_model = _model(run["loss"], run["dtype"])
    before = copy.deepcopy(spec_model.params)
    spec = outcome(lambda: _fit(reference, spec_model, run, made.value), "fit")
    for fw, convention in ((framework("torch"), "torch"), (framework("tf"), "keras")):
        module = fw.impl.from_reference(_model(run["loss"], run["dtype"]))
        mirror = outcome(lambda fw=fw, module=module: _fit(fw.impl, module, run, made.value),
                         "fit")
        if spec.error is not None:
            assert mirror.error is not None and type(mirror.error) is type(spec.error), \
                f"{fw.name}: the spec refused ({spec.error}), the mirror gave {mirror}"
            continue
        assert mirror.error is None, f"{fw.name} refused ({mirror.error}); the spec trained"
        # the spec under the framework's own formulas (Keras rounds η to float32)
        expected = _fit(reference, _model(run["loss"], run["dtype"]), run,
                        replace(made.value, convention=convention))
        assert type(mirror.value) is type(expected)
        if isinstance(expected, TrainingDiverged):
            assert mirror.value.step == expected.step
            continue
        assert len(mirror.value.loss) == len(expected.loss)
        tol = tolerance(run["dtype"], "loss trajectory")
        assert tol.error(mirror.value.loss, expected.loss) <= tol.rtol
    if spec.error is not None:  # refused before any step: the weights are untouched
        for (W, b), (W0, b0) in zip(spec_model.params, before, strict=True):
            np.testing.assert_array_equal(W, W0)
            np.testing.assert_array_equal(b, b0)


@pytest.mark.parametrize("loss", [name for name in LOSSES if name.startswith("sparse")])
def test_sparse_losses_train_on_class_indices_in_all_three(loss: str) -> None:
    X = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, -0.5], [0.5, 0.5, 0.0], [-1.0, 0.2, 0.3]])
    Y = np.array([0, 1, 1, 0])
    run = dict(loss=loss, X=X, Y=Y, epochs=2, batch_size=3, seed=0)
    spec = _fit(reference, _model(loss, np.dtype(np.float64)), run,
                optimizers.SGD(0.5))
    for fw in (framework("torch"), framework("tf")):
        mirror = _fit(fw.impl, fw.impl.from_reference(_model(loss, np.dtype(np.float64))), run,
                      optimizers.SGD(0.5))
        np.testing.assert_allclose(mirror.loss, spec.loss, rtol=1e-10)
    assert len(spec.loss) == 4 and spec.loss[-1] < spec.loss[0]


@pytest.mark.parametrize("dtype", [np.uint16, np.uint32, np.uint64, np.int8])
def test_class_indices_of_any_integer_type_train_in_all_three(dtype) -> None:
    """torch compares no unsigned type wider than 8 bits: its range check stopped with
    '"lt_cpu" not implemented for 'UInt64'', in range or not."""
    X, Y = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, -0.5]]), np.array([0, 1], dtype)
    loss = "sparse_categorical_cross_entropy_with_logits"
    run = dict(loss=loss, X=X, Y=Y, epochs=1, batch_size=2, seed=0)
    spec = _fit(reference, _model(loss, np.dtype(np.float64)), run, optimizers.SGD(0.5))
    for fw in (framework("torch"), framework("tf")):
        mirror = _fit(fw.impl, fw.impl.from_reference(_model(loss, np.dtype(np.float64))), run,
                      optimizers.SGD(0.5))
        np.testing.assert_allclose(mirror.loss, spec.loss, rtol=1e-10)
        too_big = dict(run, Y=np.array([0, np.iinfo(dtype).max], dtype))
        with pytest.raises(ValueError, match=r"fit: Y \(class indices\) must lie in \[0, 1\]"):
            _fit(fw.impl, fw.impl.from_reference(_model(loss, np.dtype(np.float64))), too_big,
                 optimizers.SGD(0.5))


@pytest.mark.parametrize("package", ["torch_impl", "tf_impl"])
@pytest.mark.parametrize("terms", [dict(loss=["mean_squared_error"]),
                                   dict(loss_weights=[2.0]), dict(kl=(0, 0))],
                         ids=["loss list", "loss_weights", "kl"])
def test_a_mirror_sequential_takes_one_loss_as_the_spec_s_does(package, terms) -> None:
    """A one-output module took a graph's terms (a weight of 2 doubled the loss) where
    the spec's Sequential refuses them."""
    model = _model("mean_squared_error", np.dtype(np.float64))
    X, Y = np.zeros((2, 3)), np.zeros((2, 2))
    with pytest.raises(ValueError, match="fit: a Sequential takes one loss name"):
        reference.fit(model, X, Y, **terms)
    impl = framework("torch" if package == "torch_impl" else "tf").impl
    with pytest.raises(ValueError, match="fit: a Sequential takes one loss name"):
        impl.fit(impl.from_reference(model), X, Y, **terms)


def test_tf_sparse_labels_of_an_extra_axis_are_refused_by_fit() -> None:
    """Keras's model says its output's rank; the check read it from Y, and the loss
    refused Y (N, 1) inside the first step, naming itself, not fit."""
    loss = "sparse_categorical_cross_entropy_with_logits"
    model = framework("tf").impl.from_reference(_model(loss, np.dtype(np.float64)))
    with pytest.raises(ValueError, match=r"fit: Y \(class indices for .*\) must have shape "
                                         r"\(2,\), got \(2, 1\)"):
        framework("tf").impl.fit(model, np.zeros((2, 3)), np.zeros((2, 1), int), loss=loss)


@st.composite
def states(draw) -> tuple:
    name = draw(st.sampled_from(OPTIMIZERS))
    shapes = draw(st.lists(st.sampled_from([(2,), (2, 3), (3, 2), (1,)]), min_size=1,
                           max_size=3))
    other = draw(st.sampled_from(["same", "shapes", "count", "dtype", "optimizer"]))
    return name, shapes, other


@given(case=states())
def test_optimizer_state_made_for_other_parameters_is_refused(case: tuple) -> None:
    name, shapes, other = case
    memory = {"momentum": 0.9} if name == "SGD" else {}  # plain SGD keeps no state
    optimizer = getattr(optimizers, name)(learning_rate=0.1, **memory)
    made_for = [np.ones(s) for s in shapes]
    state = optimizer.init(made_for)
    optimizer.step(made_for, [np.ones(s) for s in shapes], state)  # the slots are filled
    if other == "same":
        params = [np.zeros(s) for s in shapes]
    elif other == "shapes":
        params = [np.zeros((*s[::-1], 1)) for s in shapes]
    elif other == "count":
        params = [np.zeros(s) for s in [*shapes, (2,)]]
    elif other == "dtype":
        params = [np.zeros(s, np.float32) for s in shapes]
    else:  # a state of SGD given to Adam, or of Adam to SGD
        state = (optimizers.SGD(momentum=0.9) if "Adam" in name else optimizers.Adam()).init(
            made_for)
        params = [np.zeros(s) for s in shapes]
    before = [p.copy() for p in params]
    result = outcome(lambda: optimizer.step(params, [np.ones_like(p) for p in params], state),
                     f"{name}.step")
    assert (result.error is None) == (other == "same"), result
    if result.error is not None:
        for p, p0 in zip(params, before, strict=True):
            np.testing.assert_array_equal(p, p0)


@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0, "0.1", True])
@pytest.mark.parametrize("package", ["reference", "torch_impl", "tf_impl"])
def test_gradient_descent_refuses_a_learning_rate_that_is_not_finite(package: str,
                                                                     value) -> None:
    module = __import__(package).optimizers
    spec_form = package == "reference"
    function = (lambda x: 2 * (x - 2)) if spec_form else (lambda x: (x - 2) ** 2)
    with pytest.raises(ValueError, match=rf"gradient_descent: learning_rate must be a finite "
                                         rf"number ≥ 0\.0, got {value!r}"):
        module.gradient_descent(function, 4.0, value, 1e-4, 10)


def test_a_loss_value_never_hides_a_probability_just_above_one() -> None:
    with pytest.raises(ValueError, match=r"from 1\.000000000001 to 1\.000000000001"):
        losses.binary_cross_entropy(np.array([[1.0]]), np.array([[1 + 1e-12]]))


@pytest.mark.parametrize("package", ["reference", "torch_impl", "tf_impl"])
@given(rate=st.sampled_from([1.0, 0.5, 0.0, math.nan, math.inf, -1.0, "1"]),
       epochs=st.sampled_from([0, 3, np.int64(2), 2.5, -1, "3", True]))
def test_the_perceptron_takes_a_finite_rate_and_a_whole_number_of_epochs(package, rate,
                                                                         epochs) -> None:
    module = __import__(package)
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    y = np.array([1, 1, 1, 0])
    if package == "torch_impl":
        X, y = (framework("torch").torch.from_numpy(a) for a in (X, y))
    result = outcome(lambda: module.Perceptron(rate).fit(X, y, epochs), "Perceptron")
    valid_rate = isinstance(rate, float) and math.isfinite(rate) and rate >= 0
    valid_epochs = isinstance(epochs, int | np.integer) and not isinstance(epochs, bool) \
        and epochs >= 0
    assert (result.error is None) == (valid_rate and valid_epochs), (rate, epochs, result)
