"""The spec's training run (``reference.training.fit``) the way torch users write it.

Each step: ``optimizer.zero_grad()``, forward, loss, ``loss.backward()``,
``optimizer.step()``. The optimizer is torch's own (``torch.optim.SGD``, ``Adam``,
``AdamW``), built from the spec's optimizer object by ``torch_impl.optimizers``; torch
follows its own formulas, so compare with the spec under ``convention="torch"``.

The batches come from ``reference.training.batch_order`` (the same seeded permutation as
the spec and the TF mirror: data plumbing, shared so that the three see the same rows),
and a non-finite loss raises the spec's ``TrainingDiverged`` before ``backward``.

Shape: X (N, in_features), Y (N, out_features), tensors or arrays of the model's dtype.
"""

from __future__ import annotations

import torch

import reference
from reference.training import History, TrainingDiverged, batch_order
from torch_impl import losses, optimizers
from torch_impl._inputs import checked, training_data


@checked(training_data)
def fit(model: torch.nn.Module, X: object, Y: object, loss: str = "mean_squared_error",
        optimizer: object = None, epochs: int = 1, batch_size: int | None = None,
        seed: int | None = 0) -> History:
    """Train ``model`` (e.g. from ``torch_impl.from_reference``) in place; per-step losses.

    The arguments are the spec's: ``loss`` a name, ``optimizer`` a spec optimizer object
    (default ``reference.optimizers.SGD()``).
    """
    torch_optimizer = optimizers.from_reference(
        reference.optimizers.SGD() if optimizer is None else optimizer, model.parameters())
    loss_fn = getattr(losses, loss)
    order = batch_order(X.shape[0], batch_size, epochs, seed)
    history = History(epochs=epochs, steps_per_epoch=len(order[0]) if order else 0)
    model.train()  # Dropout drops (and BatchNorm uses batch statistics) while training
    step = 0
    for epoch, batches in enumerate(order, start=1):
        for rows in batches:
            step += 1
            index = torch.from_numpy(rows)
            torch_optimizer.zero_grad()
            value = loss_fn(Y[index], model(X[index]))
            if not torch.isfinite(value):
                raise TrainingDiverged(step, epoch, value.item(), history)
            value.backward()
            torch_optimizer.step()
            history.loss.append(value.item())
    return history
