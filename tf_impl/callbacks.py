"""Early stopping as Keras does it: ``keras.callbacks.EarlyStopping(monitor="loss")``.

``model.fit`` calls a callback itself; a ``GradientTape`` loop drives it by hand, as the
Keras guide to custom loops shows: ``set_model``, ``on_train_begin``, ``on_epoch_end``
with the epoch's logs, a look at ``model.stop_training``, then ``on_train_end``, which
restores the best weights (Keras 3 restores them whether or not training stopped early;
tf.keras 2 only after an early stop). The callback compares ``current + min_delta < best``
with ``keras.ops.less`` of Python floats, in float32.
"""

from __future__ import annotations

import keras

import reference
from reference._validation import checked, instance_check, spec_check


@checked(spec_check(reference.callbacks.EarlyStopping))
def EarlyStopping(patience: int = 0, min_delta: float = 0.0,
                  restore_best_weights: bool = False) -> keras.callbacks.EarlyStopping:
    """Stop when the training loss has not improved by more than ``min_delta`` for
    ``patience`` epochs."""
    return keras.callbacks.EarlyStopping(monitor="loss", patience=patience,
                                         min_delta=min_delta,
                                         restore_best_weights=restore_best_weights)


@checked(instance_check("early_stopping", reference.callbacks.EarlyStopping,
                         "a reference.callbacks.EarlyStopping"))
def from_reference(early_stopping: reference.callbacks.EarlyStopping
                   ) -> keras.callbacks.EarlyStopping:
    """The Keras callback with the spec object's settings."""
    return EarlyStopping(early_stopping.patience, early_stopping.min_delta,
                         early_stopping.restore_best_weights)
