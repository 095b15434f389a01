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
* As ``torch_impl.fit``: the module trains in ``train()`` mode (Dropout drops, each rank
  with its own draws), ``l2`` names the parameters whose λ‖p‖² enters the loss (each
  rank adds the whole term: DDP's average keeps it whole), and the spec optimizer's
  clipping (after ``backward``, on the all-reduced gradients) and learning-rate schedule
  are applied. A BatchNorm module normalizes each rank's shard by its own statistics,
  not the full batch's: refused on more than one rank, as the spec refuses it.

Shape: X (N, in_features), Y (N, out_features), the full data on every rank; N ≥ W.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

import reference
from reference._fit_checks import check_history
from reference._validation import check_count, check_memory, type_name
from reference.training import History, TrainingDiverged
from torch_impl import losses, optimizers, schedules
from torch_impl._inputs import checked, training_data
from torch_impl.training import clip_as_keras

# the start of torch's BatchNorm refusal in training (torch.nn.functional._verify_batch_size)
_ONE_VALUE_PER_CHANNEL = "Expected more than 1 value per channel when training"


def _shard_counts(where: str, n_samples: object, world_size: object) -> None:
    """Whole counts ≥ 1 (the sampler takes 0 replicas and −1 rows), no more ranks than
    rows (as the spec's and the data-parallel fit's: the sampler made 10⁹ ranks of copied
    rows for 3 samples, for minutes), indices that fit."""
    check_count(where, "n_samples", n_samples, 1)
    check_count(where, "world_size", world_size, 1)
    if n_samples < world_size:
        raise ValueError(f"{where}: need 1 ≤ world_size ≤ n_samples, got world_size "
                         f"{world_size} for {n_samples} samples")
    check_memory(where, f"the indices of {n_samples} rows", 16 * n_samples)


@checked(_shard_counts)
def shard_rows(n_samples: int, world_size: int) -> list[np.ndarray]:
    """The rows ``DistributedSampler`` gives each rank (unshuffled): r, r + W, …, padded.

    When W does not divide N the sampler repeats the first rows so that every rank
    gets ⌈N/W⌉ of them.
    """
    return [np.array(list(DistributedSampler(range(n_samples), num_replicas=world_size,
                                             rank=rank, shuffle=False)))
            for rank in range(world_size)]


def _parallel_data(where: str, model: object, X: object, Y: object, loss: object,
                   optimizer: object = None, epochs: object = 1, l2: object = None, **_: object
                   ) -> dict[str, torch.Tensor]:
    """``fit``'s checks (``training_data``), then a process group to run in, with no
    BatchNorm on more than one rank and no shard of one row that a BatchNorm refuses."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{where}: model must be a torch.nn.Module (e.g. "
                        f"torch_impl.from_reference(spec_model)), got {type_name(model)}")
    data = training_data(where, model=model, X=X, Y=Y, loss=loss, optimizer=optimizer,
                         epochs=epochs, l2=l2)
    check_history(where, epochs)
    if isinstance(data["X"], list) or isinstance(data["Y"], list):  # a graph's run
        raise TypeError(f"{where}: model has several inputs or outputs (a graph); data "
                        "parallelism takes a model of one input and one output, X and Y "
                        "one array each, as the spec's Sequential")
    if not dist.is_initialized():
        raise RuntimeError(f"{where}: no process group; call it on every rank after "
                           "torch.distributed.init_process_group")
    world, n = dist.get_world_size(), len(data["X"])
    if n < world:
        raise ValueError(f"{where}: the world size {world} exceeds the "
                         f"{n} rows of X; every rank needs at least one row")
    norms = [name for name, module in model.named_modules()
             if isinstance(module, torch.nn.modules.batchnorm._BatchNorm)]
    if world > 1 and norms:
        raise ValueError(f"{where}: module {norms[0]!r} is a BatchNorm, which normalizes "
                         f"each of the {world} ranks' shards by its own statistics, not the "
                         "full batch's; data parallelism needs a world size of 1 for it")
    if n == 1 and norms:  # one rank, one row: can its BatchNorm take it? (as fit asks)
        try:
            with torch.no_grad():
                copy.deepcopy(model).train()(data["X"])
        except ValueError as error:
            if not str(error).startswith(_ONE_VALUE_PER_CHANNEL):
                raise
            raise ValueError(f"{where}: {n} row(s) on {world} rank(s) make a shard of one "
                             f"row, too few for a layer's batch statistics in training "
                             f"({error})") from None
    return data


@checked(_parallel_data)
def data_parallel_gradient(model: torch.nn.Module, X: object, Y: object,
                           loss: str = "mean_squared_error", *,
                           l2: dict[str, float] | None = None
                           ) -> tuple[float, list[torch.Tensor]]:
    """One DDP forward and backward: the full batch's loss and ``[p.grad for p in …]``.

    Call it on every rank of an initialised process group, with the same ``model``
    weights and the same data; each rank returns the same (all-reduced) gradients.
    ``l2``: λ by parameter name (``"0.weight"``), each adding λ‖p‖² to the loss.
    """
    world, rank, n = dist.get_world_size(), dist.get_rank(), len(X)
    model.train()  # Dropout drops (and BatchNorm uses batch statistics) while training
    ddp = DistributedDataParallel(model)
    penalised = [(strength, parameter) for name, parameter in model.named_parameters()
                 for strength in [(l2 or {}).get(name, 0.0)] if strength]
    dataset = TensorDataset(X, Y)
    sampler = DistributedSampler(dataset, shuffle=False)  # this rank's rows: r, r + W, …
    x, y = next(iter(DataLoader(dataset, batch_size=len(sampler), sampler=sampler)))
    # The sampler pads an uneven dataset with copies of its first rows: drop this rank's.
    x, y = x[:len(range(rank, n, world))], y[:len(range(rank, n, world))]
    # DDP averages the W ranks' gradients; the full batch weighs this shard by n_r/N.
    value = getattr(losses, loss)(y, ddp(x)) * (len(x) * world / n)
    # λ‖p‖² whole on every rank: DDP's average of W copies is one
    value = value + sum(strength * p.square().sum() for strength, p in penalised)
    value.backward()
    logged = value.detach().clone()
    dist.all_reduce(logged)  # Σ_r of the scaled losses: W times the full batch's
    return logged.item() / world, [p.grad for p in ddp.parameters()]


@checked(_parallel_data)
def data_parallel_fit(model: torch.nn.Module, X: object, Y: object,
                      loss: str = "mean_squared_error", optimizer: object = None,
                      epochs: int = 1, *, l2: dict[str, float] | None = None) -> History:
    """Full-batch training of ``model`` in place under DDP; the full batch's losses.

    Call it on every rank of an initialised process group. The arguments are the spec's:
    ``loss`` a name, ``optimizer`` a spec optimizer object (default ``SGD()``), its
    clipping and schedule applied as ``torch_impl.fit`` applies them; ``l2`` as there.
    """
    world, rank, n = dist.get_world_size(), dist.get_rank(), len(X)
    optimizer = reference.optimizers.SGD() if optimizer is None else optimizer
    model.train()  # Dropout drops (and BatchNorm uses batch statistics) while training
    ddp = DistributedDataParallel(model)
    torch_optimizer = optimizers.from_reference(optimizer, ddp.parameters())
    clipnorm, global_clipnorm, clipvalue = (getattr(optimizer, k, None) for k in
                                            ("clipnorm", "global_clipnorm", "clipvalue"))
    scheduler = None if isinstance(optimizer.learning_rate, int | float) else \
        schedules.from_reference(optimizer.learning_rate, torch_optimizer)
    penalised = [(strength, parameter) for name, parameter in model.named_parameters()
                 for strength in [(l2 or {}).get(name, 0.0)] if strength]
    loss_fn = getattr(losses, loss)
    dataset = TensorDataset(X, Y)
    sampler = DistributedSampler(dataset, shuffle=False)  # this rank's rows: r, r + W, …
    loader = DataLoader(dataset, batch_size=len(sampler), sampler=sampler)  # one full batch
    history = History(epochs=epochs, steps_per_epoch=1)
    for epoch in range(1, epochs + 1):
        sampler.set_epoch(epoch)
        for x, y in loader:
            # The sampler pads an uneven dataset with copies of its first rows: drop this rank's.
            x, y = x[:len(range(rank, n, world))], y[:len(range(rank, n, world))]
            torch_optimizer.zero_grad()
            # DDP averages the W ranks' gradients; the full batch weighs this shard by n_r/N.
            value = loss_fn(y, ddp(x)) * (len(x) * world / n)
            # λ‖p‖² whole on every rank: DDP's average of W copies is one
            value = value + sum(strength * p.square().sum() for strength, p in penalised)
            logged = value.detach().clone()
            dist.all_reduce(logged)  # Σ_r of the scaled losses: W times the full batch's
            full_batch = logged.item() / world
            if not math.isfinite(full_batch):
                raise TrainingDiverged(epoch, epoch, full_batch, history)
            value.backward()  # DDP all-reduces: the clipping below sees the full gradient
            clip_as_keras(model, clipnorm, global_clipnorm, clipvalue)
            torch_optimizer.step()
            if scheduler is not None:
                scheduler.step()  # every step, as in torch_impl.fit
            history.loss.append(full_batch)
    return history
