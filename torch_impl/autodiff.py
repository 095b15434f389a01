"""The spec's autodiff (``reference.autodiff``) is torch's autograd: the same graph, by torch.

How the spec's names map onto autograd (``parity_tests/test_autodiff_api.py`` checks
each claim on torch itself):

* **Graph.** Like the spec's ``Tensor``, every torch operation on a tensor that requires
  grad records its inputs and its backward function (``y.grad_fn``), during the forward
  pass. torch's own tensors, ``torch.exp``, ``@`` and ``torch_impl``'s activations and
  losses are the spec's ``Tensor``, operations, activations and losses on Tensors;
  calling the module is the spec's ``forward``, and ``chain_rule`` is plain matrix
  algebra on the Jacobians, so none of those names has a twin here.
* **Leaf.** A tensor made by the user with ``requires_grad=True`` (an ``nn.Parameter``
  is one), ``is_leaf`` True: the spec's ``Tensor(x, requires_grad=True)``. A tensor made
  by an operation is not a leaf, and its ``.grad`` stays None.
* **Watched.** Whatever requires grad, and everything computed from it; nothing else.
  ``torch.no_grad()`` and ``.detach()`` stop recording (the spec: a constant Tensor).
* **Returned or stored.** ``torch.autograd.grad(y, inputs)`` returns the gradients and
  touches no ``.grad`` (the spec's ``grad``); ``y.backward()`` *adds* them to each leaf's
  ``.grad`` (the spec's ``Tensor.backward``).
* **Accumulation.** ``.grad`` accumulates across ``backward()`` calls: two calls give
  twice the gradient. ``optimizer.zero_grad()`` / ``module.zero_grad()`` undo that by
  setting every ``.grad`` to None (the spec's ``zero_grad``).
* **Graph lifetime.** ``backward()`` frees the graph; a second call through it raises
  unless the first passed ``retain_graph=True``. The spec keeps its graph. (TF's
  analogue is a non-persistent tape.)
* **Non-scalar output.** ``backward()`` needs ``gradient=g`` (``grad_outputs`` for
  ``autograd.grad``): the g of the vector-Jacobian product gᵀJ, the spec's ``seed``.
* **Second order.** ``create_graph=True`` records the backward pass itself, so a
  gradient can be differentiated again. The spec records only the forward pass, and
  its ``hessian`` is a finite difference of its exact gradient.

Shapes: ``jacobian`` returns f(x).shape + x.shape, as the spec; ``network_gradients``
returns the gradients of ``model.parameters()``, in torch's layout: each
``linear.weight`` gradient is (out, in), the transpose of the spec's dL/dW.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from torch_impl import losses
from torch_impl._inputs import checked, function_and_point, network_and_input


@checked(function_and_point)
def jacobian(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """∂f(x)/∂x, of shape f(x).shape + x.shape: one vector-Jacobian product per row.

    ``vectorize=True`` runs the rows as one batched backward pass (``vmap``) instead of a
    Python loop of backward passes, which for these small Jacobians is 10-50 times slower.
    (``torch.func.jacrev`` is the same computation in torch's functional API.)
    """
    return torch.autograd.functional.jacobian(f, x, vectorize=True)


@checked(function_and_point)
def hessian(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """∂²f/∂x∂x of a scalar f, shape x.shape + x.shape: the Jacobian of the gradient.

    ``create_graph=True`` makes the gradient a recorded function of x in its own right,
    which ``jacobian`` then differentiates (``torch.autograd.functional.hessian`` does
    the same, written out here).
    """
    def gradient(point: torch.Tensor) -> torch.Tensor:
        return torch.autograd.grad(f(point), point, create_graph=True)[0]

    return torch.autograd.functional.jacobian(gradient, x, vectorize=True)


@checked(network_and_input)
def layer_jacobians(model: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """∂a^l/∂a^{l−1} for each layer, at the forward pass from x: each (N, out, N, in)."""
    jacobians = []
    for layer in model:
        jacobians.append(jacobian(layer, x))
        with torch.no_grad():  # the next layer's input, not part of any graph
            x = layer(x)
    return jacobians


@checked(network_and_input)
def network_gradients(model: nn.Sequential, x: torch.Tensor, y_true: torch.Tensor,
                      loss: str) -> tuple[torch.Tensor, torch.Tensor,
                                          list[tuple[torch.Tensor, torch.Tensor]]]:
    """The loss, dL/dx and [(dL/dweight, dL/dbias) per layer], by ``torch.autograd.grad``.

    x is made a leaf of its own (``detach().requires_grad_()``); the parameters are leaves
    already. ``autograd.grad`` returns the gradients and leaves every ``.grad`` alone.
    """
    x = x.detach().requires_grad_()
    value = getattr(losses, loss)(y_true, model(x))
    dx, *flat = torch.autograd.grad(value, [x, *model.parameters()])
    return value.detach(), dx, list(zip(flat[::2], flat[1::2], strict=True))
