"""The spec's optimizers as ``torch.optim`` optimizers, and gradient descent with autograd.

``SGD``, ``Adam`` and ``AdamW`` take the spec's argument names and return torch's own
``torch.optim.SGD`` / ``Adam`` / ``AdamW``; ``from_reference`` builds one from a spec
optimizer object (``reference.optimizers.SGD(...)`` and so on). torch computes its own
formulas whatever the spec object's ``convention`` says: compare it with the spec under
``convention="torch"``.

Names bridged: ``learning_rate`` → ``lr``; ``beta_1, beta_2`` → ``betas``; ``epsilon`` →
``eps``. Conventions bridged:

* torch's SGD has only coupled weight decay (g ← g + λp). Decoupled decay on SGD, which
  Keras's ``SGD(weight_decay=...)`` does, is added by a small subclass that shrinks each
  parameter by p ← p (1 − ηλ) before the step, exactly as ``torch.optim.AdamW`` does.
* Adam's decoupled decay is torch's own ``Adam(decoupled_weight_decay=True)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

import reference
from reference._validation import instance_check
from torch_impl._inputs import checked, hyperparameters, starting_point

_Params = Iterable[torch.Tensor]


class SGDWithDecoupledWeightDecay(torch.optim.SGD):
    """``torch.optim.SGD`` preceded by p ← p (1 − ηλ), AdamW's decay, which SGD lacks."""

    def __init__(self, params: _Params, *, decoupled_weight_decay: float, **options) -> None:
        super().__init__(params, **options)
        self.decoupled_weight_decay = decoupled_weight_decay

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.mul_(1 - group["lr"] * self.decoupled_weight_decay)
        return super().step(closure)


@checked(hyperparameters)
def SGD(params: _Params, learning_rate: float = 0.01, momentum: float = 0.0,
        nesterov: bool = False, weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False) -> torch.optim.SGD:
    """``torch.optim.SGD`` with the spec's arguments (the spec's default η = 0.01, not 1e-3)."""
    options = dict(lr=learning_rate, momentum=momentum, nesterov=nesterov)
    if weight_decay and decoupled_weight_decay:
        return SGDWithDecoupledWeightDecay(params, decoupled_weight_decay=weight_decay,
                                            **options)
    return torch.optim.SGD(params, weight_decay=weight_decay, **options)


@checked(hyperparameters)
def Adam(params: _Params, learning_rate: float = 0.001, beta_1: float = 0.9,
         beta_2: float = 0.999, epsilon: float = 1e-8, weight_decay: float = 0.0,
         decoupled_weight_decay: bool = False) -> torch.optim.Adam:
    """``torch.optim.Adam``: ε added after bias correction; L2 decay unless decoupled."""
    return torch.optim.Adam(params, lr=learning_rate, betas=(beta_1, beta_2), eps=epsilon,
                            weight_decay=weight_decay,
                            decoupled_weight_decay=decoupled_weight_decay)


@checked(hyperparameters)
def AdamW(params: _Params, learning_rate: float = 0.001, beta_1: float = 0.9,
          beta_2: float = 0.999, epsilon: float = 1e-8,
          weight_decay: float = 0.01) -> torch.optim.AdamW:
    """``torch.optim.AdamW``: decoupled decay p ← p (1 − ηλ) before the Adam step."""
    return torch.optim.AdamW(params, lr=learning_rate, betas=(beta_1, beta_2), eps=epsilon,
                             weight_decay=weight_decay)


@checked(instance_check("optimizer", (reference.optimizers.SGD, reference.optimizers.Adam),
                         "a reference.optimizers object (SGD, Adam, AdamW)"))
def from_reference(optimizer: reference.optimizers.SGD | reference.optimizers.Adam,
                   params: _Params) -> torch.optim.Optimizer:
    """The ``torch.optim`` optimizer with the hyper-parameters of a spec optimizer object."""
    spec = reference.optimizers
    # a schedule starts from its η₀; torch_impl.schedules moves the lr from there
    lr = getattr(optimizer.learning_rate, "initial_learning_rate", optimizer.learning_rate)
    if isinstance(optimizer, spec.AdamW):
        return AdamW(params, lr, optimizer.beta_1, optimizer.beta_2,
                     optimizer.epsilon, optimizer.weight_decay)
    if isinstance(optimizer, spec.Adam):
        return Adam(params, lr, optimizer.beta_1, optimizer.beta_2,
                    optimizer.epsilon, optimizer.weight_decay, optimizer.decoupled_weight_decay)
    if isinstance(optimizer, spec.SGD):
        return SGD(params, lr, optimizer.momentum, optimizer.nesterov,
                   optimizer.weight_decay, optimizer.decoupled_weight_decay)
    raise TypeError(f"no torch.optim counterpart for {type(optimizer).__name__}")


@checked(starting_point)
def gradient_descent(function: Callable[[torch.Tensor], torch.Tensor], x0: float,
                     learning_rate: float, precision: float, max_iters: int) -> torch.Tensor:
    """Note 002's gradient descent: a ``requires_grad`` tensor, autograd and ``torch.optim.SGD``.

    Unlike the spec, which is given the derivative, this is given f itself:
    ``backward()`` finds f'(x) and ``SGD.step()`` does x ← x − η f'(x). Same stopping
    rule: a step of at most ``precision``, or ``max_iters`` steps.

    Shape: x0 a scalar → the iterates, shape (k + 1,).
    """
    x = x0.clone().requires_grad_(True)
    optimizer = torch.optim.SGD([x], lr=learning_rate)
    iterates, last_step = [x.detach().clone()], math.inf
    while last_step > precision and len(iterates) <= max_iters:
        optimizer.zero_grad()
        function(x).backward()
        optimizer.step()
        iterates.append(x.detach().clone())
        last_step = abs(iterates[-1] - iterates[-2]).item()
    return torch.stack(iterates)
