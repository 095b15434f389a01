"""Early stopping in the frameworks: Keras's callback, driven as a custom loop drives it,
against the loop torch users write; each difference shown (the registry's EarlyStopping
cases show the bridged runs)."""

from __future__ import annotations

import numpy as np


def _keras_model(keras):
    model = keras.Sequential([keras.Input((1,), dtype="float64"),
                              keras.layers.Dense(1, dtype="float64")])
    model.stop_training = False
    return model


def _epochs(callback, model, losses: list[float], weights: list[float]) -> int | None:
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, (value, w) in enumerate(zip(losses, weights, strict=True)):
        model.layers[0].kernel.assign([[w]])
        callback.on_epoch_end(epoch, {"loss": value})
        if model.stop_training:
            callback.on_train_end()
            return epoch
    callback.on_train_end()
    return None


def test_keras_compares_in_float32_the_torch_loop_in_python_floats(keras) -> None:
    import reference
    import torch_impl
    losses = [0.3, 0.3 - 1e-9]
    stopped = _epochs(keras.callbacks.EarlyStopping(monitor="loss"), _keras_model(keras),
                      losses, [0.0, 0.0])
    assert stopped == 1  # 0.3 − 1e-9 and 0.3 are one float32 number: no improvement
    torch_loop = torch_impl.callbacks.EarlyStopping()
    module = torch_impl.from_reference(reference.Sequential([reference.Dense(1, 1)]))
    assert [torch_loop.step(value, module) for value in losses] == [False, False]


def test_keras_3_restores_the_best_weights_without_an_early_stop(keras) -> None:
    model = _keras_model(keras)
    stopped = _epochs(keras.callbacks.EarlyStopping(monitor="loss", patience=5,
                                                    restore_best_weights=True),
                      model, [0.5, 0.7, 0.9], [1.0, 2.0, 3.0])
    assert stopped is None
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), [[1.0]])
