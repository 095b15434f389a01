"""The spec's autodiff (``reference.autodiff``) is ``tf.GradientTape``: the graph on a tape.

How the spec's names map onto the tape (``parity_tests/test_autodiff_api.py`` checks
each claim on TF itself):

* **Graph.** TF records operations on a tape, and only inside ``with
  tf.GradientTape() as tape:``; the spec (and torch) record on the tensors, wherever
  the operations run. TF's own tensors and ops, and ``tf_impl``'s activations and losses,
  are the spec's ``Tensor``, operations, activations and losses on Tensors; calling the
  model is the spec's ``forward``, and ``chain_rule`` is plain matrix algebra on the
  Jacobians, so none of those names has a twin here.
* **Leaf, watched.** There are no leaves, only *sources* the tape watches: a trainable
  ``tf.Variable`` read inside the tape is watched without asking (a layer's kernel and
  bias); any other tensor only after ``tape.watch(x)``. The gradient with respect to an
  unwatched ``tf.constant`` is None. ``tape.stop_recording()`` and ``tf.stop_gradient``
  stop recording (the spec: a constant Tensor). Rebinding a variable to a tensor
  (``w = w - lr * g``, note 000's loop) leaves a tensor the next tape does not watch:
  its gradient is None; ``w.assign_sub(lr * g)`` keeps the variable.
* **Returned, never stored.** ``tape.gradient(y, sources)`` returns the gradients, like
  the spec's ``grad`` and ``torch.autograd.grad``; nothing like ``.grad`` exists.
* **Accumulation.** None: every call returns fresh gradients, and adding them up is the
  caller's job. So there is no ``zero_grad`` to undo anything.
* **Persistent tape.** A tape is released by its first ``gradient`` (or ``jacobian``)
  call; a second raises. ``tf.GradientTape(persistent=True)`` allows many, until the
  tape is deleted (torch's ``retain_graph=True``; the spec keeps its graph anyway).
* **Non-scalar output.** ``tape.gradient`` differentiates the *sum* of the target's
  entries unless given ``output_gradients=g``: the spec's ``seed`` of gᵀJ.
* **Second order.** A tape records what runs inside it, the inner tape's ``gradient``
  included: nested tapes give second derivatives (torch: ``create_graph=True``). The
  spec records only the forward pass, and its ``hessian`` is a finite difference of its
  exact gradient.

Shapes: ``tape.jacobian(y, x)`` has shape y.shape + x.shape, as the spec; kernels are
(in, out), also as the spec.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from tf_impl import losses
from tf_impl._inputs import checked, function_and_point, network_and_input


@checked(function_and_point)
def jacobian(f: Callable[[tf.Tensor], tf.Tensor], x: tf.Tensor) -> tf.Tensor:
    """∂f(x)/∂x, of shape f(x).shape + x.shape: one backward pass per entry of f(x).

    ``tape.jacobian`` would by default vectorise the rows with ``pfor``, which traces a
    new graph on every call: for the small Jacobians here that costs several times
    more than the plain loop over rows (``experimental_use_pfor=False``), which in eager
    mode needs a persistent tape, since it calls the tape once per row.
    """
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)  # a tensor is no source until watched
        y = f(x)
    return tape.jacobian(y, x, experimental_use_pfor=False)


@checked(function_and_point)
def hessian(f: Callable[[tf.Tensor], tf.Tensor], x: tf.Tensor) -> tf.Tensor:
    """∂²f/∂x∂x of a scalar f, shape x.shape + x.shape, from two nested tapes.

    The inner tape's ``gradient`` runs inside the outer tape, which records it like any
    other computation; the outer tape's ``jacobian`` then differentiates it.
    """
    with tf.GradientTape(persistent=True) as outer:  # persistent: see ``jacobian``
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            value = f(x)
        gradient = inner.gradient(value, x)
    return outer.jacobian(gradient, x, experimental_use_pfor=False)


@checked(network_and_input)
def layer_jacobians(model: keras.Sequential, x: tf.Tensor) -> list[tf.Tensor]:
    """∂a^l/∂a^{l−1} for each layer, at the forward pass from x: each (N, out, N, in)."""
    jacobians = []
    for layer in model.layers:
        jacobians.append(jacobian(layer, x))
        x = layer(x)
    return jacobians


@checked(network_and_input)
def network_gradients(model: keras.Sequential, x: tf.Tensor, y_true: tf.Tensor,
                      loss: str) -> tuple[tf.Tensor, tf.Tensor, list[tuple[tf.Tensor, tf.Tensor]]]:
    """The loss, dL/dx and [(dL/dkernel, dL/dbias) per layer], by ``tape.gradient``.

    The kernels and biases are trainable variables, watched without asking; the input x
    is a tensor, so it is watched explicitly.
    """
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = getattr(losses, loss)(y_true, model(x))
    dx, *flat = tape.gradient(value, [x, *model.trainable_variables])
    return value, dx, list(zip(flat[::2], flat[1::2], strict=True))
