r"""Early stopping: end training once the loss stops improving, and keep the best weights.

After every epoch the monitored value, the mean of the epoch's step losses (Keras's
``logs["loss"]``), is compared with the best so far. It improves when it is lower by more
than ``min_delta``; otherwise ``wait`` counts one more epoch without improvement, and
training stops once ``wait`` reaches ``patience`` (``patience=0``: at the first epoch
that does not improve). With ``restore_best_weights`` the weights of the best epoch are
put back at the end, whether training stopped early or ran all its epochs (Keras 3; the
tf.keras 2 callback restored them only after an early stop).

Keras has the callback, ``keras.callbacks.EarlyStopping(monitor="loss", ...)``; torch has
none, and its users write the same few lines in their loop (``torch_impl.callbacks``).
The conventions differ in one detail, which ``convention=`` reproduces: Keras compares
``current − (−min_delta) < best`` through ``keras.ops.less`` of Python floats, that is in
float32, so an improvement smaller than float32's resolution is not one; the torch loop
compares ``current < best − min_delta`` in Python floats.

Shape: the weights are the model's named arrays, parameters and state alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reference._validation import as_flag, check_count, check_real

CONVENTIONS = ("torch", "keras")


@dataclass
class EarlyStoppingState:
    """What early stopping remembers during a run."""

    best: float | None = None
    best_epoch: int = 0  # 0-based, as Keras counts
    wait: int = 0
    best_weights: list[dict[str, np.ndarray]] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class EarlyStopping:
    """Stop when the epoch loss has not improved by more than ``min_delta`` for
    ``patience`` epochs; optionally restore the best epoch's weights (Keras's
    ``EarlyStopping(monitor="loss")``; the loop torch users write)."""

    patience: int = 0
    min_delta: float = 0.0
    restore_best_weights: bool = False
    convention: str = "torch"

    def __post_init__(self) -> None:
        if not isinstance(self.convention, str) or self.convention not in CONVENTIONS:
            raise ValueError(f"EarlyStopping: convention must be one of {CONVENTIONS}, got "
                             f"{self.convention!r}")
        as_flag("EarlyStopping", "restore_best_weights", self.restore_best_weights)
        check_count("EarlyStopping", "patience", self.patience, 0)
        check_real("EarlyStopping", "min_delta", self.min_delta)

    def init(self) -> EarlyStoppingState:
        return EarlyStoppingState()

    def improves(self, current: float, best: float | None) -> bool:
        """Whether ``current`` beats ``best`` by more than ``min_delta``, as the convention
        compares."""
        if best is None:
            return True
        if self.convention == "keras":  # ops.less of Python floats: float32 tensors
            return bool(np.float32(current + self.min_delta) < np.float32(best))
        return current < best - self.min_delta

    def update(self, state: EarlyStoppingState, epoch: int, current: float,
               model) -> bool:
        """After epoch ``epoch`` (0-based) with monitored value ``current``: whether to stop.
        ``model``: its weights are remembered when they are the best so far."""
        state.wait += 1
        if self.improves(current, state.best):
            state.best, state.best_epoch, state.wait = current, epoch, 0
            if self.restore_best_weights:
                state.best_weights = [{name: value.copy() for name, value in
                                       {**layer.parameters, **layer.state}.items()}
                                      for layer in model.layers]
            return False
        return state.wait >= self.patience

    def restore(self, state: EarlyStoppingState, model) -> None:
        """Put the best epoch's weights back (with ``restore_best_weights``)."""
        if self.restore_best_weights and state.best_weights is not None:
            for layer, arrays in zip(model.layers, state.best_weights, strict=True):
                for name, value in arrays.items():
                    layer.set(name, value)
