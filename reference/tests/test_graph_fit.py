"""``fit`` on graphs of several inputs and outputs: one step by hand, the loss's terms
(a loss per output, ``loss_weights``, the KL term) and the checks made before any step."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from reference import losses, merging
from reference.graphs import Input, Model
from reference.layers import Dense
from reference.networks import Sequential
from reference.optimizers import SGD
from reference.training import fit


def _two_in_three_out() -> Model:
    """Inputs a (4,), b (2,); outputs y (3,) sigmoid, mean (2,), log_var (2,)."""
    a, b = Input((4,), name="a"), Input((2,), name="b")
    h = Dense(4, 2, "tanh", name="h")(a)
    mean, log_var = Dense(2, 2, name="mean")(h), Dense(2, 2, name="log_var")(h)
    joined = merging.Add(name="joined")([mean, b])
    return Model([a, b], [Dense(2, 3, "sigmoid", name="y")(joined), mean, log_var], seed=0)


def _data(n: int = 6) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.standard_normal((n, 4)), rng.standard_normal((n, 2))], rng.uniform(0, 1, (n, 3))


def test_one_step_is_the_weighted_losses_plus_kl_and_their_summed_gradients() -> None:
    """By hand: forward, L = 0.5 · BCE(Y, y) + KL(mean, log_var), each output's upstream
    gradient from its terms, one backward, one SGD step."""
    X, Y = _data()
    model, by_hand = _two_in_three_out(), _two_in_three_out()
    history = fit(model, X, [Y, None, None], loss=["binary_cross_entropy", None, None],
                  loss_weights=[0.5, 1.0, 1.0], kl=(1, 2), optimizer=SGD(0.1))
    y, mean, log_var = by_hand.forward(X, training=True)
    expected = 0.5 * losses.binary_cross_entropy(Y, y) + losses.gaussian_kl(mean, log_var)
    d_mean, d_log_var = losses.gaussian_kl_gradient(mean, log_var)
    by_hand.backward([0.5 * losses.binary_cross_entropy_gradient(Y, y), d_mean, d_log_var])
    for layer in by_hand.layers:
        for p, g in zip(layer.params, layer.grads, strict=True):
            p -= 0.1 * g
    assert history.loss == [pytest.approx(expected, rel=1e-15)]
    for name, params in by_hand.parameters.items():
        for key, value in params.items():
            np.testing.assert_allclose(model.parameters[name][key], value, rtol=1e-14)


def test_one_loss_name_covers_every_output_outside_kl_and_one_target_stands_alone() -> None:
    X, Y = _data()
    listed, named = _two_in_three_out(), _two_in_three_out()
    first = fit(listed, X, [Y, None, None], loss=["binary_cross_entropy", None, None],
                kl=(1, 2), epochs=2)
    second = fit(named, X, Y, loss="binary_cross_entropy", kl=(1, 2), epochs=2)
    assert first.loss == second.loss


def test_a_mini_batch_takes_the_same_rows_of_every_input() -> None:
    """Batches of 4 in data order: the first step's loss is that of rows 0–3 of a and b."""
    X, Y = _data()
    model, untouched = _two_in_three_out(), _two_in_three_out()
    history = fit(model, X, Y, loss="binary_cross_entropy", kl=(1, 2), batch_size=4, seed=None)
    y, mean, log_var = untouched.forward([x[:4] for x in X], training=True)
    assert len(history.loss) == 2
    assert history.loss[0] == pytest.approx(losses.binary_cross_entropy(Y[:4], y) +
                                            losses.gaussian_kl(mean, log_var), rel=1e-15)


@pytest.mark.parametrize(("arguments", "message"), [
    ({"X": "one"},
     r"fit: the model has 2 inputs: X must be a list of 2 arrays, got a numpy.ndarray"),
    ({"X": "three"}, r"fit: X must list 2 arrays, one per input, got 3"),
    ({"X": "none"}, r"fit: X\[1\] must be an array, got None"),
    ({"X": "rows"}, r"fit: the inputs must have one number of rows, got \[6, 5\]"),
    ({"X": "width"}, r"fit: X\[1\] must have shape \(N, 2\), got \(6, 3\)"),
    ({"Y": "for_kl"}, r"fit: output 1 has no loss \(None, or it feeds kl\), so Y\[1\] must be "
                      r"None, got a numpy.ndarray"),
    ({"Y": "missing"}, r"fit: output 0 has a loss, so Y\[0\] must be its target, got None"),
    ({"Y": "shape"}, r"fit: Y\[0\] must have shape \(6, 3\), got \(6, 2\)"),
    ({"loss": ["binary_cross_entropy"]}, r"fit: loss lists 1 losses for the model's 3 output"),
    ({"loss": ["binary_cross_entropy", "mean_squared_error", None]},
     r"fit: output 1 feeds the KL term \(kl=\(1, 2\)\) and has loss 'mean_squared_error' too"),
    ({"loss": ["nope", None, None]}, r"fit: unknown loss 'nope'"),
    ({"loss": [3, None, None]}, r"fit: loss\[0\] must be a loss name \(str\), got int"),
    ({"kl": (1, 1)}, r"fit: kl must name two different outputs among the model's 3"),
    ({"kl": (1, 3)}, r"fit: kl must name two different outputs among the model's 3"),
    ({"kl": ("mean", "log_var")}, r"fit: kl must be a pair of output positions"),
    ({"loss_weights": [1.0, 1.0]}, r"fit: loss_weights must list one weight per output \(3\)"),
    ({"loss_weights": [float("nan"), 1.0, 1.0]},
     r"fit: loss_weights\[0\] must be a finite number ≥ 0.0, got nan"),
    ({"loss_weights": [1.0, 2.0, 1.0]}, r"fit: loss_weights\[1\] is 2.0 but output 1 has no "
                                        r"loss to weigh"),
])
def test_fit_refuses_a_malformed_graph_run_by_name(arguments: dict, message: str) -> None:
    X, Y = _data()
    given = {"X": X, "Y": Y, "loss": "binary_cross_entropy", "kl": (1, 2)}
    shapes = {"one": X[0], "three": [*X, X[1]], "none": [X[0], None], "rows": [X[0], X[1][:5]],
              "width": [X[0], np.zeros((6, 3))], "for_kl": [Y, np.zeros((6, 2)), None],
              "missing": [None, None, None], "shape": np.zeros((6, 2))}
    given.update({k: shapes[v] if isinstance(v, str) and v in shapes else v
                  for k, v in arguments.items()})
    model = _two_in_three_out()
    before = copy.deepcopy(model.parameters)
    with pytest.raises((ValueError, TypeError), match=message):
        fit(model, given.pop("X"), given.pop("Y"), **given)
    assert all(np.array_equal(model.parameters[n][k], v) for n, p in before.items()
               for k, v in p.items())  # refused before any step


def test_fit_refuses_a_graph_run_without_any_loss() -> None:
    X, _ = _data()
    with pytest.raises(ValueError, match="fit: no output has a loss and kl is None"):
        fit(_two_in_three_out(), X, [None, None, None], loss=[None, None, None])


def test_a_sequential_takes_no_lists_and_no_kl() -> None:
    with pytest.raises(ValueError, match=r"fit: a Sequential takes one loss name; a list of "
                                         r"losses, loss_weights and kl are for a "
                                         r"reference\.Model"):
        fit(Sequential([Dense(3, 2)]), np.zeros((2, 3)), np.zeros((2, 2)), kl=(0, 1))
