"""One training step, four ways: the spec, torch eager, TF eager and TF under ``tf.function``.

A step is forward, loss, backward and a plain SGD update (W ← W − η dL/dW), the same
step in every implementation, started from the same spec weights. Each ``*_step``
builder returns a :class:`Step`: ``run()`` does one step, ``weights()`` reads the
weights back in the spec's layout (the tests check that all four take the same step).
The frameworks are imported only by their own builder, so a process pays for no
framework it does not time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

import reference
from reference import digits

# Dyadic, so exact in float32, where Keras keeps its learning rate even for float64
# weights: η = 0.01 would step by 0.0099999998 there (conventions.md §4).
LEARNING_RATE = 2.0**-6


@dataclass(frozen=True)
class Net:
    """An MLP and its batch: ``widths[0] → … → widths[-1]``, one activation per layer; or,
    with ``length`` (steps per sequence), the character model: ``widths`` = (vocabulary,
    embedding, LSTM units, vocabulary), an Embedding → LSTM (every step) → Dense.

    ``model="digit_cnn"``: instead the course's digit CNN (``reference.digits.digit_cnn``)
    on generated 28×28×1 digits with sparse labels; its ``widths`` are then the pixels,
    the flattened features, the hidden units and the classes, for the reports.
    ``model="digit_resnet"``: the small ResNet (``reference.digits.digit_resnet``, a graph
    with BatchNorm in training mode) on the same digits; ``widths``: the pixels, the
    blocks' filters and the classes.
    """

    widths: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str
    batch: int
    length: int = 0  # 0: not the character model
    model: str = "mlp"

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Net:
        return cls(tuple(data["widths"]), tuple(data["activations"]), data["loss"],
                   data["batch"], data.get("length", 0), data.get("model", "mlp"))

    @property
    def describe(self) -> str:
        """The network in a few characters, for progress lines."""
        if self.model == "digit_cnn":
            return "digit CNN 28×28×1 → conv 24 → pool → conv 36 → pool → 900-128-10"
        if self.model == "digit_resnet":
            return "digit ResNet 28×28×1 → stem 8 → block 8 → block 16 /2 → pool → 10"
        return "-".join(map(str, self.widths))

    @property
    def layer_shapes(self) -> list[tuple[int, int]]:
        return list(zip(self.widths, self.widths[1:], strict=False))

    @property
    def matmul_flops(self) -> int:
        """Multiply-adds × 2 of the step's matrix products.

        The character model: per sequence step x_t W (D·4H), h U (H·4H) and the Dense
        layer (H·V) forward, and as much again twice backward (the weights' gradients, and
        dL/dx, dL/dh_{t−1}, dL/dh_t); the Embedding's lookup is no matmul.

        Per layer x W (forward) and xᵀ δ (dL/dW) cost 2·N·in·out each; δ Wᵀ (dL/dx) as
        much again for every layer but the first, whose dL/dx a training step never needs.
        A convolution is such a product per output pixel: in = k_h·k_w·C_in, out = C_out,
        N·H'·W' rows (:attr:`convolution_flops`); the CNN's Dense layers come after it.
        """
        if self.length:
            _, embedding, units, vocabulary = self.widths
            forward = 2 * self.batch * self.length * (4 * units * (embedding + units) +
                                                      units * vocabulary)
            return 3 * forward
        if self.model == "digit_resnet":
            return sum(2 * rows * fan_in * fan_out * (3 if input_gradient else 2)
                       for rows, fan_in, fan_out, input_gradient in graph_products(
                           spec_model(self, "float64"), self.batch))
        per_layer = [2 * self.batch * fan_in * fan_out for fan_in, fan_out in self.layer_shapes]
        if self.model == "digit_cnn":
            return self.convolution_flops + 3 * sum(per_layer[1:])
        return 3 * sum(per_layer) - per_layer[0]

    @property
    def convolution_flops(self) -> int:
        """The digit CNN's convolutions: conv1 (26×26 outputs, 3·3·1 → 24) forward and
        dL/dW; conv2 (11×11, 3·3·24 → 36) forward, dL/dW and dL/dx. 0 for an MLP."""
        if self.model != "digit_cnn":
            return 0
        conv1 = 2 * self.batch * 26 * 26 * 9 * 1 * 24
        conv2 = 2 * self.batch * 11 * 11 * 9 * 24 * 36
        return 2 * conv1 + 3 * conv2


def mlp(widths: tuple[int, ...], batch: int) -> Net:
    """ReLU hidden layers, a linear output and cross-entropy on the logits."""
    activations = ("relu",) * (len(widths) - 2) + ("identity",)
    return Net(widths, activations, "categorical_cross_entropy_with_logits", batch)


SIZES: dict[str, Net] = {
    # note 004's network (3-5-8-2, sigmoid everywhere, squared error), batch of four
    "small": Net((3, 5, 8, 2), ("sigmoid",) * 3, "mean_squared_error", 4),
    "medium": mlp((784, 256, 128, 10), 128),     # an MNIST-sized classifier
    "large": mlp((1024, 4096, 4096, 10), 512),   # matmul-bound: 21 M parameters
    # the course's digit CNN, as its lab trains it (sparse labels, batch 64)
    "cnn": Net((28 * 28, 900, 128, 10), ("relu", "relu", "relu", "softmax"),
               "sparse_categorical_cross_entropy", 64, model="digit_cnn"),
    # the lab's character model, scaled down (issue 14): 25 LSTM steps of 32 sequences
    "char": Net((40, 16, 32, 40), (), "sparse_categorical_cross_entropy_with_logits", 32, 25),
    # a small ResNet on the same digits (issue 21): a graph, skips and BatchNorm
    "resnet": Net((28 * 28, 8, 16, 10), (), "sparse_categorical_cross_entropy", 64,
                  model="digit_resnet"),
}

IMPLEMENTATIONS = ("reference", "torch_eager", "tf_eager", "tf_function")

Weights = list[tuple[np.ndarray, ...]]  # each layer with parameters: (W, b)


@dataclass(frozen=True)
class Step:
    """One implementation's training step on one batch, and its weights, layer by layer
    ([(W, b), …] for an MLP)."""

    run: Callable[[], None]
    weights: Callable[[], Weights]


def graph_products(model: reference.Model, batch: int) -> list[tuple[int, int, int, bool]]:
    """(rows, in, out, with dL/dx) of each Conv2D and Dense layer of a graph as the product
    it is: a convolution's im2col product has N·H'·W' rows of k_h·k_w·C_in; a layer on the
    model's input needs no dL/dx in a training step."""
    wiring = model.wiring()
    shapes = {tensor["name"]: tuple(tensor["shape"]) for tensor in wiring["inputs"]}
    found = []
    for node, layer in zip(wiring["layers"], model.layers, strict=True):
        given = [shapes[name] for name in node["inbound"]]
        shapes[node["name"]] = layer.output_shape(given if layer.merges else given[0])
        on_input = node["inbound"][0] in {tensor["name"] for tensor in wiring["inputs"]}
        if isinstance(layer, reference.Conv2D):
            height, width, filters = shapes[node["name"]]
            fan_in = int(np.prod(layer.kernel_size)) * layer.in_channels
            found.append((batch * height * width, fan_in, filters, not on_input))
        elif isinstance(layer, reference.Dense):
            found.append((batch, layer.in_features, layer.out_features, not on_input))
    return found


def spec_model(net: Net, dtype: str, seed: int = 0) -> reference.Sequential | reference.Model:
    """The spec model every implementation starts from (mirrors copy its weights)."""
    if net.model == "digit_cnn":
        return digits.digit_cnn(dtype, seed=seed)
    if net.model == "digit_resnet":
        return digits.digit_resnet(dtype, seed=seed)
    if net.length:
        return reference.registry.char_model(np.dtype(dtype), seed, vocabulary=net.widths[0],
                                             embedding=net.widths[1], units=net.widths[2],
                                             length=net.length)
    layers = [reference.Dense(fan_in, fan_out, activation, dtype=dtype)
              for (fan_in, fan_out), activation in zip(net.layer_shapes, net.activations,
                                                       strict=True)]
    return reference.Sequential(layers, seed=seed)


def batch_data(net: Net, dtype: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal inputs (N, in) and one-hot targets (N, out), in ``dtype``; for the
    CNN, generated digits (N, 28, 28, 1) and their labels (N,); for the character model,
    windows of the registry's text and the next characters (indices)."""
    rng = np.random.default_rng(seed)
    if net.model in ("digit_cnn", "digit_resnet"):
        return digits.images(net.batch, rng, dtype)
    if net.length:
        return reference.registry.char_sequences(net.batch, net.length, rng)
    x = rng.standard_normal((net.batch, net.widths[0])).astype(dtype)
    y_true = np.eye(net.widths[-1], dtype=dtype)[rng.integers(0, net.widths[-1], net.batch)]
    return x, y_true


UPDATE_BLOCK_BYTES = 1 << 20  # a block of η·dW stays in the cache until W's rows take it


def _update_buffer(p: np.ndarray) -> np.ndarray:
    """A buffer for ``_sgd_update``: as many of ``p``'s rows as fill about 1 MiB, at most
    all of them (a bias's buffer is the bias's size, not a megabyte)."""
    row_bytes = p[:1].nbytes or p.itemsize
    rows = min(len(p), UPDATE_BLOCK_BYTES // row_bytes)
    return np.empty((max(1, rows), *p.shape[1:]), p.dtype)


def _sgd_update(p: np.ndarray, g: np.ndarray, buffer: np.ndarray) -> None:
    """p −= η·g in place, ``len(buffer)`` rows at a time: η·g of a block is written into
    the buffer and subtracted while it is still in the cache (the same numbers as
    ``p -= η * g``; one pass over p and g from memory instead of two)."""
    rows = len(buffer)
    for start in range(0, len(p), rows):
        block = slice(start, start + rows)
        p[block] -= np.multiply(LEARNING_RATE, g[block], out=buffer[:len(p[block])])


def reference_step(model: reference.Sequential, x: np.ndarray, y_true: np.ndarray,
                   loss: str) -> Step:
    """The spec by hand: forward (in training mode, as the frameworks' steps are: a
    BatchNorm normalises by the batch), loss, backward (no dL/dx), W −= η dW in place.

    The update ``W −= η·dW`` goes a block of rows at a time through a small buffer made
    once per parameter (``_sgd_update``): NumPy has no fused a·x + y (torch's SGD calls
    ``add_(grad, alpha=−η)``); a fresh temporary as large as W, 64 MB for the large net's
    middle kernel, cost its page faults each step (about 5% of that step), and a buffer
    as large as W one more pass through memory.
    """
    value, gradient = reference.losses.get(loss), reference.losses.gradient(loss)
    scaled = [[_update_buffer(p) for p in layer.params] for layer in model.layers]

    def step() -> None:
        y_pred = model.forward(x, training=True)
        value(y_true, y_pred)
        model.backward(gradient(y_true, y_pred), input_gradient=False)
        for layer, buffers in zip(model.layers, scaled, strict=True):
            for p, g, buffer in zip(layer.params, layer.grads, buffers, strict=True):
                _sgd_update(p, g, buffer)  # the layer's own arrays, in place

    return Step(step, lambda: _weights(model))


def _weights(model: reference.Sequential | reference.Model) -> Weights:
    """Each layer's parameters; a graph's by layer name, since a converter may read its
    layers back in another topological order."""
    layers = sorted(model.layers, key=lambda layer: layer.name) \
        if isinstance(model, reference.Model) else model.layers
    return [tuple(p.copy() for p in layer.params) for layer in layers if layer.params]


def torch_eager_step(model: reference.Sequential, x: np.ndarray, y_true: np.ndarray,
                     loss: str) -> Step:
    """torch as usually written: autograd and ``torch.optim.SGD``."""
    import torch

    import torch_impl

    module = torch_impl.from_reference(model)
    optimizer = torch.optim.SGD(module.parameters(), lr=LEARNING_RATE)
    loss_fn = getattr(torch_impl.losses, loss)
    inputs, targets = torch.from_numpy(x), torch.from_numpy(y_true)
    if inputs.dim() == 4:  # images: torch's own layout, NCHW, as its data loaders give it
        inputs = torch_impl.convolution.channels_first(inputs).contiguous()
    # what fixes the spec layout of the weights read back: a graph's inputs, each one's
    shapes = {"input_shapes": [t.shape for t in model.inputs]} \
        if isinstance(model, reference.Model) else {"input_shape": model.input_shape}

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(targets, module(inputs)).backward()
        optimizer.step()

    return Step(step, lambda: _weights(torch_impl.to_reference(module, **shapes)))


def _keras_step(model: reference.Sequential, x: np.ndarray, y_true: np.ndarray,
                loss: str, compile_step: bool) -> Step:
    import keras
    import tensorflow as tf

    import tf_impl

    keras_model = tf_impl.from_reference(model)
    variables = keras_model.trainable_variables
    optimizer = keras.optimizers.SGD(learning_rate=LEARNING_RATE)
    optimizer.build(variables)
    loss_fn = getattr(tf_impl.losses, loss)
    inputs, targets = tf.constant(x), tf.constant(y_true)

    def step() -> None:
        with tf.GradientTape() as tape:
            value = loss_fn(targets, keras_model(inputs, training=True))
        optimizer.apply_gradients(zip(tape.gradient(value, variables), variables, strict=True))

    return Step(tf.function(step) if compile_step else step,
                lambda: _weights(tf_impl.to_reference(keras_model)))


def tf_eager_step(model: reference.Sequential, x: np.ndarray, y_true: np.ndarray,
                  loss: str) -> Step:
    """Keras in eager mode: ``tf.GradientTape`` and ``keras.optimizers.SGD``."""
    return _keras_step(model, x, y_true, loss, compile_step=False)


def tf_function_step(model: reference.Sequential, x: np.ndarray, y_true: np.ndarray,
                     loss: str) -> Step:
    """The same step traced once into a TF graph by ``tf.function`` (the first call traces)."""
    return _keras_step(model, x, y_true, loss, compile_step=True)


BUILDERS = {"reference": reference_step, "torch_eager": torch_eager_step,
            "tf_eager": tf_eager_step, "tf_function": tf_function_step}


def build_step(impl: str, net: Net, dtype: str, seed: int = 0) -> Step:
    """The step of ``impl`` on ``net``; the spec model a mirror copied is not kept."""
    x, y_true = batch_data(net, dtype, seed)
    return BUILDERS[impl](spec_model(net, dtype, seed), x, y_true, net.loss)
