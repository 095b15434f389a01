"""The spec's training run (``reference.training.fit``) the way torch users write it.

Each step: ``optimizer.zero_grad()``, forward, loss, ``loss.backward()``,
``optimizer.step()``, with gradient clipping (``torch.nn.utils.clip_grad_norm_``,
``clip_grad_value_``) between the last two when the spec's optimizer asks for it. An L2
loss term (a Dense layer's ``kernel_regularizer`` λ, Keras's ``L2(λ)``; ``nn.Linear``
keeps none) is written into the loss, λ Σ W², as torch users write it, for each parameter
that ``l2`` names (``torch_impl.convert.l2_penalties`` gives a converted spec model's).
The optimizer is torch's own (``torch.optim.SGD``, ``Adam``, ``AdamW``), built from the
spec's optimizer object by ``torch_impl.optimizers``; torch follows its own formulas, so
compare with the spec under ``convention="torch"``.

The batches come from ``reference.training.batch_order`` (the same seeded permutation as
the spec and the TF mirror: data plumbing, shared so that the three see the same rows),
and a non-finite loss raises the spec's ``TrainingDiverged`` before ``backward``.

Shape: X (N, in_features), Y (N, out_features), tensors or arrays of the model's dtype;
images channels-first, (N, C, H, W), as the model takes them. A graph module (several
inputs or outputs, ``torch_impl.from_reference`` of a ``reference.Model``): X a list,
one tensor per ``forward`` argument; Y one target per output (None without one).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch

import reference
from reference._fit_checks import one_row_batch, one_row_batch_error
from reference.training import History, TrainingDiverged, batch_order
from torch_impl import callbacks, losses, optimizers, schedules
from torch_impl._inputs import checked, training_data

# the start of torch's BatchNorm refusal in training (torch.nn.functional._verify_batch_size)
_ONE_VALUE_PER_CHANNEL = "Expected more than 1 value per channel when training"


def clip_as_keras(model: torch.nn.Module, clipnorm: float | None,
                  global_clipnorm: float | None, clipvalue: float | None) -> None:
    """Keras's optimizer clipping on the gradients backward() left: clipnorm each
    parameter's gradient alone (torch's clip_grad_norm_ takes them together), then
    global_clipnorm all together, then clipvalue elementwise."""
    if clipnorm is not None:
        for p in model.parameters():
            torch.nn.utils.clip_grad_norm_(p, clipnorm)
    if global_clipnorm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), global_clipnorm)
    if clipvalue is not None:
        torch.nn.utils.clip_grad_value_(model.parameters(), clipvalue)


@checked(training_data)
def fit(model: torch.nn.Module, X: object, Y: object,
        loss: str | Sequence[str | None] = "mean_squared_error", optimizer: object = None,
        epochs: int = 1, batch_size: int | None = None, seed: int | None = 0,
        early_stopping: object = None, l2: dict[str, float] | None = None, *,
        loss_weights: Sequence[float] | None = None,
        kl: tuple[int, int] | None = None) -> History:
    """Train ``model`` (e.g. from ``torch_impl.from_reference``) in place; per-step losses.

    The arguments are the spec's: ``loss`` a name, ``optimizer`` a spec optimizer object
    (default ``reference.optimizers.SGD()``); ``l2``: λ by parameter name
    (``"0.weight"``), each adding λ‖p‖² to the loss. A graph module trains as in the
    spec: X a list, one tensor per ``forward`` argument; Y one target per output (None
    without one); ``loss`` one name per output, weighed by ``loss_weights``; ``kl=(mean,
    log_var)`` adds ``torch_impl.losses.gaussian_kl`` of those two outputs, in the loop
    as a torch user writes a VAE's loss.
    """
    optimizer = reference.optimizers.SGD() if optimizer is None else optimizer
    torch_optimizer = optimizers.from_reference(optimizer, model.parameters())
    clipnorm, global_clipnorm, clipvalue = (getattr(optimizer, k, None) for k in
                                            ("clipnorm", "global_clipnorm", "clipvalue"))
    scheduler = None if isinstance(optimizer.learning_rate, int | float) else \
        schedules.from_reference(optimizer.learning_rate, torch_optimizer)
    if isinstance(X, list):  # a graph's run (checked): a tensor per input, a loss per output

        def forward(module: torch.nn.Module, index: torch.Tensor) -> object:
            return module(*(x[index] for x in X))

        def compute_loss(index: torch.Tensor) -> torch.Tensor:
            outputs = forward(model, index)
            outputs = outputs if isinstance(outputs, tuple | list) else (outputs,)
            value = sum(weight * getattr(losses, name)(y[index], y_pred) for name, weight, y,
                        y_pred in zip(loss, loss_weights, Y, outputs, strict=True) if name)
            if kl is not None:  # the VAE's KL term: a loss of two outputs, no target
                value = value + losses.gaussian_kl(outputs[kl[0]], outputs[kl[1]])
            return value
        n_samples = X[0].shape[0]
    else:
        loss_fn = getattr(losses, loss)

        def forward(module: torch.nn.Module, index: torch.Tensor) -> object:
            return module(X[index])

        def compute_loss(index: torch.Tensor) -> torch.Tensor:
            return loss_fn(Y[index], forward(model, index))
        n_samples = X.shape[0]
    order = batch_order(n_samples, batch_size, epochs, seed, where="fit")
    history = History(epochs=epochs, steps_per_epoch=len(order[0]) if order else 0)
    model.train()  # Dropout drops (and BatchNorm uses batch statistics) while training
    lone = one_row_batch(order)
    if lone is not None:  # BatchNorm refuses a batch of one value per channel: ask a copy
        try:
            with torch.no_grad():
                forward(copy.deepcopy(model), torch.from_numpy(lone))
        except ValueError as error:
            if not str(error).startswith(_ONE_VALUE_PER_CHANNEL):
                raise
            raise one_row_batch_error("fit", n_samples, batch_size, error) from None
    stopper = None if early_stopping is None else callbacks.from_reference(early_stopping)
    penalised = [(strength, parameter) for name, parameter in model.named_parameters()
                 for strength in [(l2 or {}).get(name, 0.0)] if strength]
    step = 0
    for epoch, batches in enumerate(order, start=1):
        for rows in batches:
            step += 1
            index = torch.from_numpy(rows)
            torch_optimizer.zero_grad()
            value = compute_loss(index)
            value = value + sum(strength * parameter.square().sum()
                                for strength, parameter in penalised)
            if not torch.isfinite(value):
                raise TrainingDiverged(step, epoch, value.item(), history)
            value.backward()
            clip_as_keras(model, clipnorm, global_clipnorm, clipvalue)
            torch_optimizer.step()
            if scheduler is not None:
                scheduler.step()  # every batch, as a Keras schedule moves (not per epoch)
            history.loss.append(value.item())
        if stopper is not None and stopper.step(sum(history.loss[-len(batches):]) /
                                                len(batches), model):
            history.stopped_epoch = epoch
            break
    if stopper is not None:
        stopper.restore(model)  # the best epoch's state_dict
    return history
