"""Fuzz: differential training, the spec's ``fit`` against both mirrors' (issue 25).

A seeded generator draws small models (Dense chains with batch or layer normalization),
data (one row, a last batch of another size, a batch larger than the data), a loss that
fits the output, an optimizer with its options (momentum, Nesterov, β's, ε, weight decay
coupled or decoupled, clipping), a schedule and early stopping. The spec under
``convention="torch"`` must train as ``torch_impl.fit``, under ``"keras"`` as
``tf_impl.fit`` (eager): the same steps, the same losses and the same final weights
within the trajectory tolerances, or the same clear refusal naming ``fit``.
"""

from __future__ import annotations

import numpy as np
import pytest

from reference import schedules


def test_the_keras_exponential_decay_is_keras_s_to_the_last_bit(keras) -> None:
    """TF's float32 pow is correctly rounded; NumPy's float32 power, which the spec used,
    is one ulp off for about one step in six (η₁ of ExponentialDecay(0.3, 3, 0.5), among
    others), and a float64 model trained by Keras then parted from the spec by 4e-8."""
    for staircase in (False, True):
        spec = schedules.ExponentialDecay(0.3, 3, 0.5, staircase=staircase)
        theirs = keras.optimizers.schedules.ExponentialDecay(0.3, 3, 0.5, staircase=staircase)
        np.testing.assert_array_equal(spec.learning_rates(12, "keras"),
                                      [float(theirs(t)) for t in range(12)])
