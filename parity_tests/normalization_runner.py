"""Parity of the registry's ``normalization`` concepts over several steps, not one pass.

A case gives a spec model, a few training batches and an inference batch. The spec
model is first put under the framework's convention (``reference.normalization.under``:
torch's unbiased running variance for torch, Keras's biased one for Keras, the same
decay and ε), then the spec and the framework each run, on the same model:

1. every training batch in training mode: output, loss, dL/dx and every named gradient,
   and the running statistics after the step (the weights stay put: what moves is the
   state, and the fit cases of ``training`` move the weights);
2. the inference batch in inference mode, with the running statistics of step 1:
   output, loss, dL/dx and gradients.

The frameworks are driven as their users drive them: a torch module in training mode
until ``module.eval()``, a Keras model called with ``training=True`` in the loop and
without it (inference, Keras's default) afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from parity_tests.report import Recorder
from reference import losses, normalization, registry


@dataclass
class Step:
    """One forward and backward pass, and the state it left, in the spec's layout."""

    output: np.ndarray
    loss: float
    dx: np.ndarray
    grads: list[dict[str, np.ndarray]]
    state: list[dict[str, np.ndarray]]


def run_normalization(concept: registry.Concept, data: dict, rng: np.random.Generator, fw,
                      check: Recorder) -> None:
    """Training steps, then inference: the spec under ``fw.convention`` against ``fw``."""
    spec = normalization.under(data["model"], fw.convention)
    batches = [(data["x"], data["y_true"]), *data["steps"]]
    inference = (data["x_inference"], data["y_inference"])
    theirs = _RUNS[fw.name](fw, spec, batches, inference, data["loss"])  # before the spec moves
    mine = _spec_run(spec, batches, inference, data["loss"])
    for k, (a, e) in enumerate(zip(theirs, mine, strict=True)):
        when = "inference" if k == len(batches) else f"training step {k + 1}"
        check.compare(f"{when}: output", "output", a.output, e.output)
        check.compare(f"{when}: loss", "loss", a.loss, e.loss)
        check.compare(f"{when}: dL/dx", "gradient", a.dx, e.dx)
        for j, (grads, expected) in enumerate(zip(a.grads, e.grads, strict=True)):
            for name, value in expected.items():
                check.compare(f"{when}: dL/d{name}[{j}]", "gradient", grads[name], value)
        for j, (state, expected) in enumerate(zip(a.state, e.state, strict=True)):
            for name, value in expected.items():
                check.compare(f"{when}: {name}[{j}]", "output", state[name], value)


def _spec_run(model, batches, inference, loss: str) -> list[Step]:
    steps = []
    for k, (x, y) in enumerate([*batches, inference]):
        output = model.forward(x, training=k < len(batches))
        dx = model.backward(losses.gradient(loss)(y, output))
        steps.append(Step(output, losses.get(loss)(y, output), dx, model.gradients,
                          [layer.state for layer in model.layers]))
    return steps


def _torch_run(fw, spec, batches, inference, loss: str) -> list[Step]:
    impl = fw.impl
    module, loss_fn, steps = impl.from_reference(spec), getattr(impl.losses, loss), []
    for k, (x, y) in enumerate([*batches, inference]):
        if k == len(batches):
            module.eval()  # until now in training mode, torch's default
        module.zero_grad()
        xt = fw._tensor(x, requires_grad=True)
        output = module(fw.torch_layout(spec, xt))  # feature maps enter channels-first
        value = loss_fn(fw._tensor(y), output)
        value.backward()
        grads = impl.convert.gradients_to_reference(module, spec)
        state = [layer.state for layer in
                 impl.to_reference(module, input_shape=spec.input_shape).layers]
        steps.append(Step(output.detach().numpy(), value.item(), xt.grad.numpy(), grads, state))
    return steps


def _tf_run(fw, spec, batches, inference, loss: str) -> list[Step]:
    tf, impl = fw.tf, fw.impl
    model, loss_fn, steps = impl.from_reference(spec), getattr(impl.losses, loss), []
    for k, (x, y) in enumerate([*batches, inference]):
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            # training=True in the loop; called without it, a Keras model runs in inference
            output = model(xt, training=True) if k < len(batches) else model(xt)
            value = loss_fn(tf.constant(y), output)
        dx, *weights = tape.gradient(value, [xt, *model.trainable_variables])
        grads = impl.convert.gradients_to_reference(model, weights)
        state = [layer.state for layer in
                 impl.to_reference(model, input_shape=spec.input_shape).layers]
        steps.append(Step(output.numpy(), float(value.numpy()), dx.numpy(), grads, state))
    return steps


_RUNS = {"torch": _torch_run, "tf": _tf_run}
