"""Fuzz, round five (layers, graphs, fit, losses and conversion): inputs and models
configured as outside users configure them.

* A masked NumPy array (``np.ma``) is refused by name wherever the project takes arrays:
  ``np.asarray`` keeps a masked array's data, masked entries included, and drops its
  mask without a word (``reference._validation.as_array``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import reference
import tf_impl
import torch_impl


def _x(n: int = 4, d: int = 3) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, d))


def _masked(array: np.ndarray) -> np.ma.MaskedArray:
    mask = np.zeros(array.shape, bool)
    mask.flat[0] = True
    return np.ma.array(array, mask=mask)


def _dense() -> reference.Sequential:
    return reference.Sequential([reference.Dense(3, 2, "tanh")])


def _graph() -> reference.Model:
    a = reference.Input((3,), name="a")
    return reference.Model(a, reference.Dense(3, 2)(a))


# Each entry point that takes arrays, given a masked one: (the call, the name it must say)
MASKED: dict[str, tuple[Callable[[], object], str]] = {
    "spec forward": (lambda: _dense().forward(_masked(_x())), "Sequential"),
    "spec graph forward": (lambda: _graph().forward(_masked(_x())), "Model.forward"),
    "spec fit X": (lambda: reference.training.fit(_dense(), _masked(_x()), _x(4, 2)), "fit"),
    "spec fit Y": (lambda: reference.training.fit(_dense(), _x(), _masked(_x(4, 2))), "fit"),
    "spec fit sparse Y": (lambda: reference.training.fit(
        _dense(), _x(), np.ma.array([0, 1, 1, 0], mask=[1, 0, 0, 0]),
        loss="sparse_categorical_cross_entropy_with_logits"), "fit"),
    "spec graph fit": (lambda: reference.training.fit(_graph(), [_masked(_x())], [_x(4, 2)]),
                       "fit"),
    "spec loss": (lambda: reference.losses.mean_squared_error(_masked(_x()), _x()),
                  "mean_squared_error"),
    "spec sparse loss": (lambda: reference.losses.sparse_categorical_cross_entropy(
        np.ma.array([0, 1], mask=[1, 0]), np.full((2, 2), 0.5)),
        "sparse_categorical_cross_entropy"),
    "spec KL": (lambda: reference.losses.gaussian_kl(_masked(_x()), _x()), "gaussian_kl"),
    "spec layer weights": (lambda: reference.Dense(3, 2).set("W", _masked(_x(3, 2))),
                           "Dense"),
    "spec Embedding": (lambda: reference.sequences.Embedding(5, 2).forward(
        np.ma.array([[0, 1]], mask=[[1, 0]])), "Embedding"),
    "spec autodiff": (lambda: reference.autodiff.Tensor(_masked(_x())), "Tensor"),
    "gradcheck": (lambda: reference.gradcheck.gradient_error(_masked(_x()), _x()),
                  "gradient_error"),
    "a list of masked rows": (lambda: _dense().forward([_masked(_x(1, 3)[0])]),
                              "Sequential"),
    "torch fit": (lambda: torch_impl.fit(torch_impl.from_reference(_dense()),
                                         _masked(_x()), _x(4, 2)), "fit"),
    "torch loss": (lambda: torch_impl.losses.mean_squared_error(_masked(_x()), _x()),
                   "mean_squared_error"),
    "tf fit": (lambda: tf_impl.fit(tf_impl.from_reference(_dense()), _masked(_x()), _x(4, 2)),
               "fit"),
    "tf loss": (lambda: tf_impl.losses.mean_squared_error(_masked(_x()), _x()),
                "mean_squared_error"),
}


@pytest.mark.parametrize("case", MASKED)
def test_a_masked_array_is_refused_by_name(case: str) -> None:
    call, where = MASKED[case]
    with pytest.raises(TypeError, match=rf"^{where}\b.*masked array"):
        call()
