"""The spec's data parallelism: shards weighted by their size give the full batch."""

from __future__ import annotations

import numpy as np
import pytest

import reference
from reference import parallel
from reference.optimizers import SGD


def _model() -> reference.Sequential:
    return reference.Sequential([reference.Dense(3, 4, "tanh"),
                                 reference.Dense(4, 2, "sigmoid")], seed=0)


def _data(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3)), rng.uniform(size=(n, 2))


def _full_batch(X: np.ndarray, Y: np.ndarray) -> tuple[float, list[np.ndarray]]:
    model = _model()
    y_pred = model.forward(X)
    model.backward(reference.losses.mean_squared_error_gradient(Y, y_pred))
    return (reference.losses.mean_squared_error(Y, y_pred),
            [g for pair in model.grads for g in pair])


@pytest.mark.parametrize(("n", "world_size"), [(8, 2), (7, 2), (7, 3), (5, 5)])
def test_shards_weighted_by_size_give_the_full_batch_loss_and_gradient(n, world_size) -> None:
    X, Y = _data(n)
    value, grads = parallel.data_parallel_gradient(_model(), X, Y, world_size=world_size)
    full_value, full_grads = _full_batch(X, Y)
    assert value == pytest.approx(full_value, rel=1e-14)
    for g, full in zip(grads, full_grads, strict=True):
        np.testing.assert_allclose(g, full, rtol=1e-13, atol=1e-15)


def test_the_plain_average_of_uneven_shards_is_not_the_full_batch_gradient() -> None:
    X, Y = _data(7)
    shard_grads = [parallel.data_parallel_gradient(_model(), X[rows], Y[rows], world_size=1)[1]
                   for rows in parallel.shard_rows(7, 2)]
    plain = [(a + b) / 2 for a, b in zip(*shard_grads, strict=True)]
    _, full = _full_batch(X, Y)
    assert max(np.max(np.abs(p - f)) for p, f in zip(plain, full, strict=True)) > 1e-3


def test_data_parallel_fit_is_the_full_batch_run() -> None:
    X, Y = _data(7)
    model, spec = _model(), _model()
    history = parallel.data_parallel_fit(model, X, Y, optimizer=SGD(0.5), epochs=4)
    expected = reference.fit(spec, X, Y, optimizer=SGD(0.5), epochs=4, batch_size=None)
    np.testing.assert_allclose(history.loss, expected.loss, rtol=1e-14)
    for (W, b), (sW, sb) in zip(model.params, spec.params, strict=True):
        np.testing.assert_allclose(W, sW, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(b, sb, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(("n", "world_size"), [(8, 2), (7, 2), (7, 3)])
def test_every_row_is_in_exactly_one_shard(n, world_size) -> None:
    shards = parallel.shard_rows(n, world_size)
    assert sorted(np.concatenate(shards).tolist()) == list(range(n))
    assert max(map(len, shards)) - min(map(len, shards)) <= 1


def test_more_replicas_than_rows_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="shard_rows: need 1 ≤ world_size ≤ n_samples"):
        parallel.shard_rows(3, 4)
