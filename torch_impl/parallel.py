"""Data parallelism (``reference.parallel``) with ``torch.distributed`` and DDP.

Each of W processes (ranks) runs this code on the whole dataset; ``DistributedSampler``
hands rank r its shard, rows r, r + W, …; ``DistributedDataParallel`` all-reduces the
gradients during ``backward()`` and divides them by W, so every rank's optimizer takes
the same step. The caller starts the processes and the process group first
(``torch.multiprocessing.spawn`` or ``torchrun``, then
``dist.init_process_group("gloo")``; see the data-parallelism page).

Conventions bridged to the spec:

* DDP averages over ranks: with even shards each rank's mean loss is already right, and
  dividing it by the world size again scales the gradient by 1/W (the classic mistake).
  With an uneven last shard the plain average overweights the smaller shard, so each
  rank's mean loss is scaled by n_r·W/N (1 with even shards).
* ``DistributedSampler`` evens out the shards by repeating the first rows (7 rows on 2
  ranks: rank 1 gets rows 1, 3, 5 and row 0 again, see ``shard_rows``); the full batch
  counts each row once, so the copy is dropped.

Shape: X (N, in_features), Y (N, out_features), the full data on every rank; N ≥ W.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

import reference
from reference.training import History, TrainingDiverged
from torch_impl import losses, optimizers
from torch_impl._inputs import as_float_tensor


def shard_rows(n_samples: int, world_size: int) -> list[np.ndarray]:
    """The rows ``DistributedSampler`` gives each rank (unshuffled): r, r + W, …, padded.

    When W does not divide N the sampler repeats the first rows so that every rank
    gets ⌈N/W⌉ of them.
    """
    return [np.array(list(DistributedSampler(range(n_samples), num_replicas=world_size,
                                             rank=rank, shuffle=False)))
            for rank in range(world_size)]


def _loader(X: torch.Tensor, Y: torch.Tensor) -> DataLoader:
    dataset = TensorDataset(X, Y)
    sampler = DistributedSampler(dataset, shuffle=False)  # this rank's rows: r, r + W, …
    return DataLoader(dataset, batch_size=len(sampler), sampler=sampler)  # one full batch


def _shard_loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str,
                n_samples: int) -> torch.Tensor:
    world, rank = dist.get_world_size(), dist.get_rank()
    # The sampler pads an uneven dataset with copies of its first rows: drop this rank's.
    rows = len(range(rank, n_samples, world))
    x, y = x[:rows], y[:rows]
    # DDP averages the W ranks' gradients; the full batch weighs this shard by n_r/N.
    return getattr(losses, loss)(y, model(x)) * (len(x) * world / n_samples)


def _full_batch_loss(value: torch.Tensor) -> float:
    """Σ_r (n_r/N) L_r, from every rank's scaled loss: for the record, not for autograd."""
    value = value.detach().clone()
    dist.all_reduce(value)
    return value.item() / dist.get_world_size()


def data_parallel_gradient(module: torch.nn.Module, X: object, Y: object,
                           loss: str = "mean_squared_error") -> tuple[float, list[torch.Tensor]]:
    """One DDP forward and backward: the full batch's loss and ``[p.grad for p in …]``.

    Call it on every rank of an initialised process group, with the same ``module``
    weights and the same data; each rank returns the same (all-reduced) gradients.
    """
    dtype = next(module.parameters()).dtype
    X, Y = as_float_tensor(X, dtype, "data_parallel_gradient", "X"), as_float_tensor(
        Y, dtype, "data_parallel_gradient", "Y")
    model = DistributedDataParallel(module)
    x, y = next(iter(_loader(X, Y)))
    value = _shard_loss(model, x, y, loss, len(X))
    value.backward()
    return _full_batch_loss(value), [p.grad for p in model.parameters()]


def data_parallel_fit(module: torch.nn.Module, X: object, Y: object,
                      loss: str = "mean_squared_error", optimizer: object = None,
                      epochs: int = 1) -> History:
    """Full-batch training of ``module`` in place under DDP; the full batch's losses.

    Call it on every rank of an initialised process group. The arguments are the spec's:
    ``loss`` a name, ``optimizer`` a spec optimizer object (default ``SGD()``).
    """
    dtype = next(module.parameters()).dtype
    X, Y = as_float_tensor(X, dtype, "data_parallel_fit", "X"), as_float_tensor(
        Y, dtype, "data_parallel_fit", "Y")
    model = DistributedDataParallel(module)
    torch_optimizer = optimizers.from_reference(
        reference.optimizers.SGD() if optimizer is None else optimizer, model.parameters())
    loader = _loader(X, Y)
    history = History(epochs=epochs, steps_per_epoch=1)
    for epoch in range(1, epochs + 1):
        loader.sampler.set_epoch(epoch)
        for x, y in loader:
            torch_optimizer.zero_grad()
            value = _shard_loss(model, x, y, loss, len(X))
            full_batch = _full_batch_loss(value)
            if not math.isfinite(full_batch):
                raise TrainingDiverged(epoch, epoch, full_batch, history)
            value.backward()
            torch_optimizer.step()
            history.loss.append(full_batch)
    return history
