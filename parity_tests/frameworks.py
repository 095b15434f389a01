"""How the parity suite runs one case in a framework: forward, loss, and autodiff.

Each adapter takes NumPy inputs, calls the mirror package the way its users would
(``torch_impl`` with autograd, ``tf_impl`` with ``tf.GradientTape``) and returns NumPy
results in the spec's layout (kernels (in, out)), so the comparison is framework-blind.
An activation's gradient is taken of L = Σ g ⊙ φ(z) for a random upstream g, which
gives exactly the vector-Jacobian product the spec computes.
"""

from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass, replace

import numpy as np

import reference
from reference.training import TrainingDiverged


@dataclass
class ModelRun:
    """What one forward-and-backward pass of a model produced, in the spec's layout."""

    output: np.ndarray
    layer_outputs: list[np.ndarray]
    loss: float
    dx: np.ndarray | None  # None: the input is integer indices (an Embedding's), no gradient
    grads: list[dict[str, np.ndarray]]  # each layer's, by the spec's parameter names


def run_spec_model(model: reference.Sequential, x: np.ndarray, y_true: np.ndarray,
                   loss: str, training: bool = False) -> ModelRun:
    """The spec's forward pass, loss, and hand-written backward pass."""
    layer_outputs, h = [], x
    for layer in model.layers:
        h = layer.forward(h, training=training)
        layer_outputs.append(h)
    value = reference.losses.get(loss)(y_true, h)
    dx = model.backward(reference.losses.gradient(loss)(y_true, h))
    return ModelRun(h, layer_outputs, value, dx, [layer.gradients for layer in model.layers])


def has_feature_maps(spec: reference.Sequential) -> bool:
    """Whether the model convolves or pools: then its input is a channels-last feature map
    ((N, H, W, C) or (N, L, C)) in the spec and Keras, channels-first in torch."""
    return any(getattr(layer, "channels_last", False) for layer in spec.layers)


def attention_masks(spec: reference.Sequential) -> dict[int, np.ndarray]:
    """The attention masks set on the spec model's MultiHeadAttention layers: {index: mask}."""
    return {k: layer.mask for k, layer in enumerate(spec.layers)
            if isinstance(layer, reference.sequences.MultiHeadAttention)
            and layer.mask is not None}


def injected_masks(spec: reference.Sequential) -> dict[int, tuple[np.ndarray, float]]:
    """The Dropout masks injected into the spec model: {layer index: (mask, rate)}."""
    return {k: (layer.mask, layer.rate) for k, layer in enumerate(spec.layers)
            if isinstance(layer, reference.layers.Dropout) and layer.mask is not None}


@dataclass
class GraphRun:
    """One forward-and-backward pass of a graph model, in the spec's layout: a list per
    input and per output, the gradients by layer name (``reference.Model.gradients``)."""

    outputs: list[np.ndarray]
    loss: float
    dxs: list[np.ndarray | None]
    grads: dict[str, dict[str, np.ndarray]]


def as_list(value: object, listed: bool) -> list:
    """A graph's inputs or outputs as a list (``listed``: they are one already)."""
    return list(value) if listed else [value]


def run_spec_graph(model: reference.Model, x: object, y_true: object, loss: str,
                   training: bool = False) -> GraphRun:
    """The spec graph's forward pass, the loss summed over its outputs, and its backward."""
    outputs = as_list(model.forward(x, training=training), model.output_list)
    targets = as_list(y_true, model.output_list)
    value = sum(reference.losses.get(loss)(y, o) for y, o in zip(targets, outputs, strict=True))
    upstream = [reference.losses.gradient(loss)(y, o)
                for y, o in zip(targets, outputs, strict=True)]
    dx = model.backward(upstream if model.output_list else upstream[0])
    return GraphRun(outputs, value, as_list(dx, model.input_list), model.gradients)


@dataclass
class PerceptronRun:
    """A perceptron's training and its decisions on the training points, as NumPy."""

    weight_history: np.ndarray
    converged: bool
    epochs_run: int
    decision: np.ndarray
    prediction: np.ndarray


@dataclass
class FitRun:
    """A training run: per-step losses, final weights flattened ([W, b] per layer, spec
    layout; ``None`` if it diverged) and the step at which it diverged (``None`` if not)."""

    losses: np.ndarray
    params: np.ndarray | None
    diverged_at: int | None


def flat_params(model: reference.Sequential | reference.Model,
                like: reference.Model | None = None) -> np.ndarray:
    """The parameters flattened in layer order; a graph read back from a framework in the
    order of the layers of ``like``, the graph it was made from (by name)."""
    if like is not None:
        return np.concatenate([p.ravel() for layer in like.layers
                               for p in model.get_layer(layer.name).params])
    return np.concatenate([p.ravel() for layer in model.params for p in layer])


def run_spec_optimizer(optimizer, params: list[np.ndarray],
                       grads: list[list[np.ndarray]]) -> np.ndarray:
    """The spec optimizer fed the given gradients; the parameters after every step, flat."""
    params = [p.copy() for p in params]
    state, rows = optimizer.init(params), []
    for step_grads in grads:
        optimizer.step(params, step_grads, state)
        rows.append(np.concatenate([p.ravel() for p in params]))
    return np.stack(rows)


def run_spec_fit(data: dict, convention: str) -> FitRun:
    """The spec's training run of a case, with the optimizer under ``convention``."""
    model = copy.deepcopy(data["model"])
    try:
        history = reference.training.fit(
            model, data["X"], data["Y"], loss=data["loss"],
            optimizer=replace(data["optimizer"], convention=convention), epochs=data["epochs"],
            batch_size=data["batch_size"], seed=data["seed"],
            early_stopping=None if data.get("early_stopping") is None else
            replace(data["early_stopping"], convention=convention),
            **{k: data[k] for k in ("loss_weights", "kl") if k in data})
    except TrainingDiverged as diverged:
        return FitRun(np.array(diverged.history.loss), None, diverged.step)
    return FitRun(np.array(history.loss), flat_params(model), None)


def _fit_args(data: dict) -> dict:
    return {k: data[k] for k in ("loss", "optimizer", "epochs", "batch_size", "seed",
                                 "early_stopping", "loss_weights", "kl") if k in data}


class _Framework:
    """What both adapters do alike once a framework's tensors are made (``_tensor``)."""

    impl: object

    def _tensor(self, array: np.ndarray):
        raise NotImplementedError

    def perceptron(self, X: np.ndarray, y: np.ndarray, learning_rate: float,
                   max_epochs: int) -> PerceptronRun:
        Xt = self._tensor(X)
        p = self.impl.perceptron.Perceptron(learning_rate).fit(Xt, self._tensor(y), max_epochs)
        return PerceptronRun(p.weight_history.numpy(), p.converged, p.epochs_run,
                             p.decision_function(Xt).numpy(), p.predict(Xt).numpy())

    def gradient_descent(self, function, x0, learning_rate: float, precision: float,
                         max_iters: int) -> np.ndarray:
        return self.impl.optimizers.gradient_descent(function, x0, learning_rate, precision,
                                                     max_iters).numpy()


class Torch(_Framework):
    name = "torch"

    def __init__(self) -> None:
        import torch

        import torch_impl
        self.torch, self.impl = torch, torch_impl
        self.versions = {"torch": torch.__version__}
        self.settings = torch_impl.configure_full_precision_determinism()

    def _tensor(self, array: np.ndarray, requires_grad: bool = False):
        tensor = self.torch.from_numpy(np.ascontiguousarray(array))
        return tensor.requires_grad_(requires_grad)

    def activation(self, name: str, z: np.ndarray, upstream: np.ndarray,
                   params: dict) -> tuple[np.ndarray, np.ndarray | None]:
        zt = self._tensor(z, requires_grad=True)
        out = getattr(self.impl.activations, name)(zt, **params)
        try:
            (out * self._tensor(upstream)).sum().backward()
        except RuntimeError:  # torch has no derivative for this function (the step)
            return out.detach().numpy(), None
        return out.detach().numpy(), zt.grad.numpy()

    def loss(self, name: str, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, np.ndarray]:
        pred = self._tensor(y_pred, requires_grad=True)
        value = getattr(self.impl.losses, name)(self._tensor(y_true), pred)
        value.backward()
        return value.item(), pred.grad.numpy()

    def model(self, spec: reference.Sequential, x: np.ndarray, y_true: np.ndarray,
              loss: str, training: bool = False) -> ModelRun:
        module = self.impl.from_reference(spec)
        module.train(training)  # a torch module starts in training mode; the spec does not
        self.inject_masks(module, spec)
        groups = self.impl.convert.layer_groups(spec)
        xt = self._tensor(x, requires_grad=x.dtype.kind == "f")
        h = self.checked_input(module, self.torch_layout(spec, xt))
        layer_outputs = []
        for k, positions in enumerate(groups):
            h, before = self.run_layer(spec, k, module[positions.start:positions.stop], h), h
            layer_outputs.append(
                self.spec_layout(spec, k, h.detach(), before.detach()).numpy())
        value = getattr(self.impl.losses, loss)(self._tensor(y_true), h)
        value.backward()
        grads = self.impl.convert.gradients_to_reference(module, spec)
        dx = None if xt.grad is None else xt.grad.numpy()
        return ModelRun(h.detach().numpy(), layer_outputs, value.item(), dx, grads)

    def graph(self, spec: reference.Model, x: object, y_true: object, loss: str,
              training: bool = False) -> GraphRun:
        """The GraphModule of ``spec`` called on its inputs (a feature map channels-first,
        its output back to channels-last), the loss summed over the outputs, autograd."""
        module = self.impl.from_reference(spec)
        module.train(training)
        maps, convolution = reference.graphs.feature_maps(spec), self.impl.convolution
        xs = [self._tensor(a, requires_grad=a.dtype.kind == "f")
              for a in as_list(x, spec.input_list)]
        fed = [convolution.channels_first(t) if maps[i.name] else t
               for t, i in zip(xs, spec.inputs, strict=True)]
        outputs = [convolution.channels_last(o) if maps[t.name] else o for o, t in zip(
            as_list(module(*fed), spec.output_list), spec.outputs, strict=True)]
        loss_fn = getattr(self.impl.losses, loss)
        value = sum(loss_fn(self._tensor(y), o) for y, o in
                    zip(as_list(y_true, spec.output_list), outputs, strict=True))
        value.backward()
        return GraphRun([o.detach().numpy() for o in outputs], value.item(),
                        [None if t.grad is None else t.grad.numpy() for t in xs],
                        self.impl.convert.gradients_to_reference(module, spec))

    def checked_input(self, module, x):
        """``x`` under the spec's input policy for ``module`` (integers converted, the
        other float dtype, a missing batch axis or a wrong width refused with the spec's
        message): torch's stock modules check nothing, so the harness, an entry point,
        does, with the adapter ``torch_impl.fit`` uses."""
        return self.impl._inputs.model_input("model", module, x)

    def run_layer(self, spec: reference.Sequential, k: int, modules, h):
        """The modules of spec layer ``k`` on ``h``; the attention mask set on the spec layer
        is a call argument of the attention module, as in torch."""
        if k in attention_masks(spec):
            return modules[0](h, mask=self._tensor(attention_masks(spec)[k]))
        return modules(h)

    def inject_masks(self, module, spec: reference.Sequential) -> None:
        """Make each nn.Dropout drop what the spec's injected mask drops: a forward hook,
        here in the test harness, replaces its output with x ⊙ m / (1 − p) in training
        (its own draw is discarded)."""
        groups = self.impl.convert.layer_groups(spec)
        for k, (mask, rate) in injected_masks(spec).items():
            scale = self._tensor(mask.astype(spec.dtype) / spec.dtype.type(1.0 - rate))
            module[groups[k].start].register_forward_hook(
                lambda m, inputs, out, scale=scale: inputs[0] * scale if m.training else out)

    def torch_layout(self, spec: reference.Sequential, x):
        """The layout change at the boundary: a spec batch of feature maps, channels-last,
        becomes torch's channels-first ``x.permute(0, 3, 1, 2)`` (or (0, 2, 1) for
        sequences); anything else passes as it is."""
        return self.impl.convolution.channels_first(x) if has_feature_maps(spec) else x

    def spec_layout(self, spec: reference.Sequential, k: int, output, layer_input):
        """Spec layer ``k``'s torch output in the spec's layout, for comparing layer by
        layer: feature maps back to channels-last, and the (c, h, w)-ordered features of a
        Flatten of a feature map to (h, w, c)."""
        convolution = self.impl.convolution
        if not has_feature_maps(spec):  # sequences are batch-first in torch too
            return output
        if output.dim() >= 3:
            return convolution.channels_last(output)
        if isinstance(spec.layers[k], reference.layers.Flatten) and layer_input.dim() >= 3:
            return convolution.channels_last(layer_input).reshape(len(output), -1)
        return output

    # Learning: the perceptron rule, gradient descent, optimizers, training runs.
    convention = "torch"

    def optimizer_trajectory(self, optimizer, params: list[np.ndarray],
                             grads: list[list[np.ndarray]]) -> np.ndarray:
        tensors = [self._tensor(p.copy()) for p in params]
        torch_optimizer = self.impl.optimizers.from_reference(optimizer, tensors)
        rows = []
        for step_grads in grads:
            for tensor, grad in zip(tensors, step_grads, strict=True):
                tensor.grad = self._tensor(grad)
            torch_optimizer.step()
            rows.append(np.concatenate([t.numpy().ravel() for t in tensors]))
        return np.stack(rows)

    def fit(self, data: dict) -> dict[str, FitRun]:
        model, graph = data["model"], isinstance(data["model"], reference.Model)
        module = self.impl.from_reference(model)
        # nn.Linear keeps no λ (a graph's cases have none)
        l2 = {} if graph else self.impl.convert.l2_penalties(model, module)
        X = data["X"]
        if graph:  # torch's layout: a feature map channels-first
            maps = reference.graphs.feature_maps(model)
            X = [np.ascontiguousarray(np.moveaxis(x, -1, 1)) if maps[t.name] else x
                 for x, t in zip(as_list(X, isinstance(X, list)), model.inputs, strict=True)]
            X = X if isinstance(data["X"], list) else X[0]
        try:
            history = self.impl.fit(module, X, data["Y"], **_fit_args(data), l2=l2)
        except TrainingDiverged as diverged:
            return {"": FitRun(np.array(diverged.history.loss), None, diverged.step)}
        if graph:
            spec = self.impl.to_reference(module, input_shapes=[t.shape for t in model.inputs])
            return {"": FitRun(np.array(history.loss), flat_params(spec, like=model), None)}
        spec = self.impl.to_reference(module, input_shape=model.input_shape)
        return {"": FitRun(np.array(history.loss), flat_params(spec), None)}
    # --- autodiff (parity_tests/autodiff_runner.py): results in the spec's layout ---

    def autodiff_jacobian(self, of: str, x: np.ndarray,
                          model: reference.Sequential | None = None) -> np.ndarray:
        f = self.impl.activations.softmax if of == "softmax" else self.impl.from_reference(model)
        return self.impl.autodiff.jacobian(f, self._tensor(x)).numpy()

    def autodiff_layer_jacobians(self, model: reference.Sequential,
                                 x: np.ndarray) -> list[np.ndarray]:
        module = self.impl.from_reference(model)
        layers = self.torch.nn.Sequential(*(  # one entry per spec layer: nn.Linear + nn.Tanh
            module[r.start:r.stop] for r in self.impl.convert.layer_groups(model)))
        return [J.numpy() for J in self.impl.autodiff.layer_jacobians(layers, self._tensor(x))]

    def autodiff_hessian(self, loss: str, y_true: np.ndarray, point: np.ndarray,
                         model: reference.Sequential | None = None) -> np.ndarray:
        loss_fn, target = getattr(self.impl.losses, loss), self._tensor(y_true)
        module = None if model is None else self.impl.from_reference(model)
        f = (lambda v: loss_fn(target, v)) if module is None else \
            (lambda v: loss_fn(target, module(v)))
        return self.impl.autodiff.hessian(f, self._tensor(point)).numpy()

    def autodiff_network_gradients(self, model: reference.Sequential, x: np.ndarray,
                                   y_true: np.ndarray, loss: str):
        value, dx, grads = self.impl.autodiff.network_gradients(
            self.impl.from_reference(model), self._tensor(x), self._tensor(y_true), loss)
        # nn.Linear's weight is (out, in): its gradient is transposed to the spec's (in, out).
        return value.item(), dx.numpy(), [(w.numpy().T, b.numpy()) for w, b in grads]


class TensorFlow(_Framework):
    name = "tf"

    def __init__(self) -> None:
        # tf_impl first: it sets TF's logging and oneDNN environment before TF is imported.
        tf_impl = importlib.import_module("tf_impl")
        import keras
        import tensorflow as tf

        self.tf, self.impl = tf, tf_impl
        self.versions = {"tensorflow": tf.__version__, "keras": keras.__version__}
        self.settings = tf_impl.configure_full_precision_determinism()

    def activation(self, name: str, z: np.ndarray, upstream: np.ndarray,
                   params: dict) -> tuple[np.ndarray, np.ndarray | None]:
        zt = self.tf.constant(z)
        with self.tf.GradientTape() as tape:
            tape.watch(zt)
            out = getattr(self.impl.activations, name)(zt, **params)
            total = self.tf.reduce_sum(out * upstream)
        grad = tape.gradient(total, zt)  # None when TF has no gradient (the step)
        return out.numpy(), None if grad is None else grad.numpy()

    def loss(self, name: str, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, np.ndarray]:
        pred = self.tf.constant(y_pred)
        with self.tf.GradientTape() as tape:
            tape.watch(pred)
            value = getattr(self.impl.losses, name)(self.tf.constant(y_true), pred)
        return float(value.numpy()), tape.gradient(value, pred).numpy()

    def model(self, spec: reference.Sequential, x: np.ndarray, y_true: np.ndarray,
              loss: str, training: bool = False) -> ModelRun:
        """The stock Keras model of ``spec``, run one spec layer's Keras layers at a time on
        the tape; the per-call inputs (attention masks, injected Dropout masks) are given
        as a Keras user gives them, at the call."""
        model = self.impl.from_reference(spec)
        groups = self.impl.convert.layer_groups(spec, model)
        xt = self.tf.constant(x)
        with self.tf.GradientTape() as tape:
            if x.dtype.kind == "f":  # integer indices (an Embedding's input) have no gradient
                tape.watch(xt)
            layer_outputs, h = [], xt
            for k, group in enumerate(groups):
                h = self._call(spec, k, group, h, training)
                layer_outputs.append(h)
            value = getattr(self.impl.losses, loss)(self.tf.constant(y_true), h)
        dx, *weights = tape.gradient(value, [xt, *model.trainable_variables])
        if not attention_masks(spec) and not injected_masks(spec):  # the model's own call
            np.testing.assert_array_equal(model(xt, training=training).numpy(), h.numpy())
        grads = self.impl.convert.gradients_to_reference(model, weights, spec)
        return ModelRun(h.numpy(), [t.numpy() for t in layer_outputs], float(value.numpy()),
                        None if dx is None else dx.numpy(), grads)

    def graph(self, spec: reference.Model, x: object, y_true: object, loss: str,
              training: bool = False) -> GraphRun:
        """The functional Keras model of ``spec`` called on its inputs on the tape, the
        loss summed over the outputs."""
        model = self.impl.from_reference(spec)
        xs = [self.tf.constant(a) for a in as_list(x, spec.input_list)]
        with self.tf.GradientTape() as tape:
            tape.watch([t for t in xs if t.dtype.is_floating])
            outputs = as_list(model(xs if spec.input_list else xs[0], training=training),
                              spec.output_list)
            loss_fn = getattr(self.impl.losses, loss)
            value = sum(loss_fn(self.tf.constant(y), o) for y, o in
                        zip(as_list(y_true, spec.output_list), outputs, strict=True))
        gradients = tape.gradient(value, [*xs, *model.trainable_variables])
        dxs, weights = gradients[:len(xs)], gradients[len(xs):]
        return GraphRun([o.numpy() for o in outputs], float(value.numpy()),
                        [None if g is None else g.numpy() for g in dxs],
                        self.impl.convert.gradients_to_reference(model, weights, spec))

    def _call(self, spec: reference.Sequential, k: int, group: list, h, training: bool):
        """Spec layer k's Keras layers on h: self-attention as ``layer(h, h,
        attention_mask=m)``; a Dropout with an injected mask as h ⊙ m / (1 − rate) in
        training, the harness standing in for Keras's random draw."""
        import keras

        for layer in group:
            if isinstance(layer, keras.layers.MultiHeadAttention):
                mask = attention_masks(spec).get(k)
                options = self.impl.convert.TRANSLATIONS["MultiHeadAttention"].options(
                    spec.layers[k])  # use_causal_mask, a call argument in Keras
                h = layer(h, h, attention_mask=None if mask is None else self.tf.constant(mask),
                          training=training, **options)
            elif k in injected_masks(spec) and isinstance(layer, keras.layers.Dropout):
                mask, rate = injected_masks(spec)[k]
                scale = self.tf.constant(mask.astype(spec.dtype) / spec.dtype.type(1.0 - rate))
                h = h * scale if training else h
            else:
                h = layer(h, training=training)
        return h

    def inject_masks(self, model, spec: reference.Sequential) -> None:
        """For a training run (``fit`` calls the model, not the harness): make each
        ``keras.layers.Dropout`` drop what the spec's injected mask drops, its ``call``
        replaced on this instance, in test code, by x ⊙ m / (1 − rate) in training."""
        groups = self.impl.convert.layer_groups(spec, model)
        for k, (mask, rate) in injected_masks(spec).items():
            scale = self.tf.constant(mask.astype(spec.dtype) / spec.dtype.type(1.0 - rate))
            groups[k][0].call = lambda inputs, training=None, scale=scale: \
                inputs * scale if training else inputs

    def _tensor(self, array: np.ndarray):
        return self.tf.constant(array)

    # Learning: the perceptron rule, gradient descent, optimizers, training runs.
    convention = "keras"

    def optimizer_trajectory(self, optimizer, params: list[np.ndarray],
                             grads: list[list[np.ndarray]]) -> np.ndarray:
        variables = [self.tf.Variable(p) for p in params]
        keras_optimizer = self.impl.optimizers.from_reference(optimizer)
        rows = []
        for step_grads in grads:
            keras_optimizer.apply_gradients(
                zip([self.tf.constant(g) for g in step_grads], variables, strict=True))
            rows.append(np.concatenate([v.numpy().ravel() for v in variables]))
        return np.stack(rows)

    def fit(self, data: dict, tf_function: bool = True) -> dict[str, FitRun]:
        """The run with its step compiled by ``tf.function``, as TF users train (and faster
        than eager steps; ``test_learning.py`` checks that eager steps give the same run);
        eager where the case says ``tf_function=False``."""
        tf_function = data.get("tf_function", tf_function)
        variant = " (tf.function)" if tf_function else " (eager)"
        model = self.impl.from_reference(data["model"])
        try:
            history = self.impl.fit(model, data["X"], data["Y"], **_fit_args(data),
                                    tf_function=tf_function)
        except TrainingDiverged as diverged:
            return {variant: FitRun(np.array(diverged.history.loss), None, diverged.step)}
        back = self.impl.to_reference(model)
        like = data["model"] if isinstance(data["model"], reference.Model) else None
        return {variant: FitRun(np.array(history.loss), flat_params(back, like=like), None)}
    # --- autodiff (parity_tests/autodiff_runner.py): results in the spec's layout ---

    def autodiff_jacobian(self, of: str, x: np.ndarray,
                          model: reference.Sequential | None = None) -> np.ndarray:
        f = self.impl.activations.softmax if of == "softmax" else self.impl.from_reference(model)
        return self.impl.autodiff.jacobian(f, self.tf.constant(x)).numpy()

    def autodiff_layer_jacobians(self, model: reference.Sequential,
                                 x: np.ndarray) -> list[np.ndarray]:
        keras_model = self.impl.from_reference(model)
        return [J.numpy() for J in
                self.impl.autodiff.layer_jacobians(keras_model, self.tf.constant(x))]

    def autodiff_hessian(self, loss: str, y_true: np.ndarray, point: np.ndarray,
                         model: reference.Sequential | None = None) -> np.ndarray:
        loss_fn, target = getattr(self.impl.losses, loss), self.tf.constant(y_true)
        keras_model = None if model is None else self.impl.from_reference(model)
        f = (lambda v: loss_fn(target, v)) if keras_model is None else \
            (lambda v: loss_fn(target, keras_model(v)))
        return self.impl.autodiff.hessian(f, self.tf.constant(point)).numpy()

    def autodiff_network_gradients(self, model: reference.Sequential, x: np.ndarray,
                                   y_true: np.ndarray, loss: str):
        value, dx, grads = self.impl.autodiff.network_gradients(
            self.impl.from_reference(model), self.tf.constant(x), self.tf.constant(y_true), loss)
        return float(value.numpy()), dx.numpy(), [(k.numpy(), b.numpy()) for k, b in grads]


FRAMEWORKS = {"torch": Torch, "tf": TensorFlow}
