"""The registry of concepts: what the project covers, and on which inputs each is checked.

Every concept has a public name that exists, with the same meaning, in
``reference/<module>.py``, ``torch_impl/<module>.py`` and ``tf_impl/<module>.py``, and
at least one :class:`Case`: a recipe for valid inputs. The parity suite, the
finite-difference checks and the docs are all generated from this list, so a concept
added here without its mirrors or its cases fails a test.

A case's ``make(rng, dtype, batch)`` returns a dict; its keys depend on the module:

* activations: ``z`` and ``params`` (keyword arguments of the activation);
* losses: ``y_true`` and ``y_pred``;
* layers, networks: ``model`` (a spec :class:`~reference.networks.Sequential`), ``x``,
  ``y_true`` and ``loss`` (a loss name): forward, loss, then backward; optionally
  ``training`` (default False: inference). A Dropout layer in training carries an
  injected ``mask``, so that every framework drops the same units;
* normalization: the keys of layers (``x``, ``y_true``: the first training batch,
  ``training=True``), plus ``steps`` (more training batches, ``(x, y_true)`` pairs) and
  ``x_inference``, ``y_inference``: several training steps, then inference with the
  running statistics they left. Training batches have ``batch + 2`` rows: torch refuses a
  batch of one in training, and with two rows x̂ = ±1 whatever x is, so dL/dx is zero and
  a comparison of it would compare rounding noise (``reference.normalization``);
* perceptron: ``X``, ``y``, ``learning_rate``, ``max_epochs``;
* optimizers: for ``gradient_descent``, ``function`` (written with operators only, so
  every framework can run it), its ``derivative`` (for the spec), ``x0``,
  ``learning_rate``, ``precision``, ``max_iters``; for an optimizer, ``optimizer`` (a
  spec object), ``params`` and ``grads`` (one list per step);
* training, callbacks: ``model``, ``X``, ``Y`` and the arguments of
  ``reference.training.fit`` (callbacks: with ``early_stopping``);
* schedules: ``schedule`` (a spec schedule) and ``steps``: η at every step;
* autodiff: the keys of the case it reuses, plus what to differentiate: ``of`` for a
  Jacobian (``"softmax"`` of ``z``, or ``"model"``: the model's output by its ``x``);
  ``loss`` for a Hessian (by ``y_pred``, or by ``x`` when the case has a ``model``).

Inputs keep a distance of at least 1e-2 from kinks (ReLU and step at 0), where a
finite difference or a comparison of one-sided derivatives would be meaningless. A case
that must sit on a kink (a probability of exactly 0 or 1, where the clipping starts)
says so with ``gradcheck=False``: parity still applies, the finite-difference check not.

Numerical extremes: every activation, every loss and the dense layer also have a case
whose values spread over many orders of magnitude, 1e-4 to 1e4 with both signs, the
extremes ±1e4 included (``_spread``), or, for probabilities, exact 0s and 1s; such a
case says ``extreme=True``. Central differences lose about ε·|f|/h of accuracy, so a
fixed-tolerance finite-difference check belongs to the ordinary cases; the property
tests check the extremes with a bound that grows with the values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from reference import activations
from reference.layers import Activation, Dense, Dropout, Flatten, LeakyReLU, ReLU, Softmax
from reference.networks import Sequential
from reference.normalization import BatchNormalization, LayerNormalization
from reference.sequences import (
    GRU,
    LSTM,
    Embedding,
    MultiHeadAttention,
    SimpleRNN,
    TimeDistributed,
)

Make = Callable[[np.random.Generator, np.dtype, int], dict]

# The modules whose spec concepts carry hand-written derivatives (a vjp, a loss gradient,
# a backward pass); the others (learning, autodiff) build on them.
HAND_DIFFERENTIATED = ("activations", "losses", "layers", "networks", "convolution",
                       "normalization",
                       "sequences")


@dataclass(frozen=True)
class Case:
    """One input recipe for a concept; ``label`` names it in reports and test ids."""

    label: str
    make: Make
    gradcheck: bool = True  # False: an input sits on a kink (see the module docstring), or
    # the case is too large for one finite difference per entry (its layers have their own)
    extreme: bool = False  # True: values up to ±1e4 or exact 0/1 probabilities
    batched: bool = True  # False: a note's fixed data set, whose size is its own: the case
    # runs at one batch size, not at each of the parity suite's


@dataclass(frozen=True)
class Concept:
    """A concept, the module that holds it in all three packages, and its cases."""

    name: str
    module: str
    summary: str
    notes: tuple[str, ...]
    cases: tuple[Case, ...]
    differentiable: bool = True


def _away_from_zero(z: np.ndarray, margin: float = 1e-2) -> np.ndarray:
    return np.where(np.abs(z) < margin, np.copysign(margin, z) + z, z)


def _activation_case(label: str, params: dict, kink: bool) -> Case:
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        z = 3.0 * rng.standard_normal((batch, int(rng.integers(2, 8))))
        return {"z": (_away_from_zero(z) if kink else z).astype(dtype), "params": params}
    return Case(label, make)


def _spread(rng: np.random.Generator, shape: tuple[int, ...], low: float = -4.0,
            high: float = 4.0) -> np.ndarray:
    """Random signs and magnitudes 10^u, u uniform in [low, high]; the first entries are
    the extremes +10^high and −10^high, so every array reaches them."""
    values = rng.choice([-1.0, 1.0], shape) * 10.0 ** rng.uniform(low, high, shape)
    flat = values.reshape(-1)
    flat[:2] = [10.0**high, -(10.0**high)][:flat.size]
    return values


def _one_hot(indices: np.ndarray, classes: int, dtype: np.dtype) -> np.ndarray:
    return np.eye(classes, dtype=dtype)[indices]


def _probabilities(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return activations.softmax(rng.standard_normal(shape))


def _loss_inputs(kind: str) -> Make:
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        shape = (batch, int(rng.integers(2, 6)))
        classes = rng.integers(0, shape[1], size=batch)
        y_true, y_pred = {
            "regression": lambda: (rng.standard_normal(shape), rng.standard_normal(shape)),
            "positive": lambda: (rng.uniform(0.0, 3.0, shape), rng.uniform(0.0, 3.0, shape)),
            "binary": lambda: (rng.integers(0, 2, shape), rng.uniform(0.05, 0.95, shape)),
            "binary_logits": lambda: (rng.uniform(0.0, 1.0, shape),
                                      3.0 * rng.standard_normal(shape)),
            "categorical": lambda: (_one_hot(classes, shape[1], dtype),
                                    _probabilities(rng, shape)),
            "categorical_logits": lambda: (_one_hot(classes, shape[1], dtype),
                                           3.0 * rng.standard_normal(shape)),
            "sparse": lambda: (classes, _probabilities(rng, shape)),
            "sparse_logits": lambda: (classes, 3.0 * rng.standard_normal(shape)),
        }[kind]()
        y_true = y_true if y_true.dtype.kind in "iu" and kind.startswith("sparse") else \
            y_true.astype(dtype)
        return {"y_true": y_true, "y_pred": y_pred.astype(dtype)}
    return make


def _with_random_biases(model: Sequential, rng: np.random.Generator) -> Sequential:
    # Glorot init leaves biases at zero; a parity check should see them matter.
    for layer in model.layers:
        layer.b = rng.uniform(-0.5, 0.5, layer.out_features).astype(model.dtype)
    return model


def _targets(loss: str, rng: np.random.Generator, batch: int, width: int,
             dtype: np.dtype) -> np.ndarray:
    if loss in ("categorical_cross_entropy", "categorical_cross_entropy_with_logits"):
        return _one_hot(rng.integers(0, width, size=batch), width, dtype)
    if loss.startswith("binary"):
        return rng.integers(0, 2, size=(batch, width)).astype(dtype)
    return rng.standard_normal((batch, width)).astype(dtype)


def _model_case(label: str, widths: tuple[int, ...], acts: tuple[str, ...], loss: str) -> Case:
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        layers = [Dense(i, o, a, dtype=dtype)
                  for i, o, a in zip(widths[:-1], widths[1:], acts, strict=True)]
        model = _with_random_biases(Sequential(layers, seed=int(rng.integers(2**31))), rng)
        x = rng.standard_normal((batch, widths[0])).astype(dtype)
        return {"model": model, "x": x, "y_true": _targets(loss, rng, batch, widths[-1], dtype),
                "loss": loss}
    return Case(label, make)


def _stack_case(label: str, build: Callable[[np.dtype, int, np.random.Generator], list],
                input_shape: tuple[int, ...], loss: str, training: bool = False) -> Case:
    """Layers other than Dense around Dense layers: ``build(dtype, batch, rng)`` gives the
    layers (a Dropout's mask injected when ``training``)."""
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        model = Sequential(build(dtype, batch, rng), input_shape=input_shape,
                           seed=int(rng.integers(2**31)))
        for layer in model.layers:
            if isinstance(layer, Dense):
                layer.b = rng.uniform(-0.5, 0.5, layer.out_features).astype(dtype)
        x = rng.standard_normal((batch, *input_shape)).astype(dtype)
        return {"model": model, "x": x, "y_true": _targets(loss, rng, batch,
                                                          model.out_features, dtype),
                "loss": loss, "training": training}
    return Case(label, make)


def _flatten_stack(dtype: np.dtype, batch: int, rng: np.random.Generator) -> list:
    return [Flatten(), Dense(12, 3, "tanh", dtype=dtype)]


def _dropout_stack(rate: float, training: bool, noise_shape: tuple | None = None):
    def build(dtype: np.dtype, batch: int, rng: np.random.Generator) -> list:
        dropout = Dropout(rate, noise_shape=noise_shape)
        if training:  # the mask every framework will use
            dropout.mask = rng.random((batch, 6 if noise_shape is None else 1)) >= rate
        return [Dense(4, 6, "tanh", dtype=dtype), dropout, Dense(6, 3, dtype=dtype)]
    return build


def _conv2d(*args: object, **options: object):
    from reference.convolution import Conv2D  # local, like _convolution_concepts
    return Conv2D(*args, **options)


def _normalization_case(label: str, build: Callable[[np.dtype], list],
                        input_shape: tuple[int, ...], steps: int = 3) -> Case:
    """``steps`` training batches of ``batch + 2`` rows, then an inference batch of ``batch``
    rows, through the layers ``build(dtype)``, scored by MSE against random targets; γ, β
    and the running statistics start away from their defaults, so that each matters."""
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        model = Sequential(build(dtype), input_shape=input_shape,
                           seed=int(rng.integers(2**31)))
        for layer in model.layers:
            for name, value in {**layer.parameters, **layer.state}.items():
                if name in ("b", "beta", "moving_mean"):
                    layer.set(name, rng.uniform(-0.5, 0.5, value.shape).astype(dtype))
                elif name in ("gamma", "moving_variance"):
                    layer.set(name, rng.uniform(0.5, 1.5, value.shape).astype(dtype))

        def pair(rows: int) -> tuple[np.ndarray, np.ndarray]:
            x = (1.5 * rng.standard_normal((rows, *input_shape)) + 0.5).astype(dtype)
            return x, rng.standard_normal((rows, *model.output_shape)).astype(dtype)

        (x, y), *more = [pair(batch + 2) for _ in range(steps)]
        x_inference, y_inference = pair(batch)
        return {"model": model, "x": x, "y_true": y, "loss": "mean_squared_error",
                "training": True, "steps": more, "x_inference": x_inference,
                "y_inference": y_inference}
    return Case(label, make)


def _pooled_sequence(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
    """SimpleRNN(2, 3) returning every step → GlobalAveragePooling1D → Dense(3, 3): the
    mean over the steps of a sequence that is no convolution's feature map."""
    from reference.convolution import GlobalAveragePooling1D

    model = Sequential([SimpleRNN(2, 3, return_sequences=True, dtype=dtype),
                        GlobalAveragePooling1D(), Dense(3, 3, dtype=dtype)],
                       input_shape=(7, 2), seed=int(rng.integers(2**31)))
    return {"model": model, "x": rng.standard_normal((batch, 7, 2)).astype(dtype),
            "y_true": _targets("mean_squared_error", rng, batch, 3, dtype),
            "loss": "mean_squared_error"}


def _convolution_case(label: str, build: Callable[[np.dtype], list],
                      input_shape: tuple[int, ...], *, extreme: bool = False) -> Case:
    """A convolution or pooling layer (``build(dtype)``: the layers before the head), then
    Flatten → Dense(…, 3): every case also moves a Dense kernel across a Flatten of a
    feature map, whose rows torch orders (c, h, w). Biases random (Glorot leaves them 0);
    ``extreme``: the first layer's bias reaches ±1e4 (or, for a layer without one, the
    input), scored by binary cross-entropy with logits (bounded gradients, as
    ``_extreme_model_case``)."""
    loss = "binary_cross_entropy_with_logits" if extreme else "mean_squared_error"

    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        body = build(dtype)
        features = int(np.prod(Sequential(body, input_shape=input_shape).output_shape))
        model = Sequential([*body, Flatten(), Dense(features, 3, dtype=dtype)],
                           input_shape=input_shape, seed=int(rng.integers(2**31)))
        for layer in model.layers:
            if "b" in layer.parameter_names:
                layer.b = rng.uniform(-0.5, 0.5, layer.b.shape).astype(dtype)
        first = model.layers[0]
        if extreme and "b" in first.parameter_names:
            first.b = _spread(rng, first.b.shape).astype(dtype)
        x = (_spread(rng, (batch, *input_shape)) if extreme and "b" not in first.parameter_names
             else rng.standard_normal((batch, *input_shape))).astype(dtype)
        return {"model": model, "x": x, "y_true": _targets(loss, rng, batch, 3, dtype),
                "loss": loss}
    return Case(label, make, extreme=extreme)


def _convolution_concepts() -> list[Concept]:
    """Convolution and pooling, channels-last; the sizes chosen so that TF's "same"
    padding is asymmetric (a 3×3 kernel at stride 2 on 8 cells pads (0, 1)) or symmetric
    (on 9 cells, (1, 1)), kept small for the parity suite's minute."""
    from reference.convolution import (
        AveragePool2D,
        Conv1D,
        Conv2D,
        DepthwiseConv2D,
        GlobalAveragePooling2D,
        MaxPool2D,
    )
    from reference.layers import Reshape

    def conv(*args: object, **options: object) -> Callable[[np.dtype], list]:
        return lambda dtype: [Conv2D(*args, dtype=dtype, **options)]

    def pool(kind: type, *args: object, **options: object) -> Callable[[np.dtype], list]:
        return lambda dtype: [kind(*args, **options)]

    def first_line(kind: type) -> str:
        return _first_line(kind.__doc__)

    return [
        Concept(name="Conv2D", module="convolution", summary=first_line(Conv2D),
                notes=("003",), cases=(
            _convolution_case("3×3 stride 2 'same' on 8×8, tanh: TF pads (0, 1)",
                              conv(2, 3, 3, strides=2, padding="same", activation="tanh"),
                              (8, 8, 2)),
            _convolution_case("3×3 stride 2 'same' on 9×9, relu: TF pads (1, 1)",
                              conv(1, 2, 3, strides=2, padding="same", activation="relu"),
                              (9, 9, 1)),
            _convolution_case("3×2 kernel, strides (2, 1), 'same' on 7×6",
                              conv(2, 2, (3, 2), strides=(2, 1), padding="same"), (7, 6, 2)),
            _convolution_case("2×3 kernel, dilation 2, 'same' at stride 1 (odd totals)",
                              conv(1, 2, (2, 3), dilation_rate=2, padding="same",
                                   activation="sigmoid"), (6, 7, 1)),
            _convolution_case("2×2 'valid', bias up to ±1e4, tanh",
                              conv(1, 2, 2, activation="tanh"), (4, 4, 1), extreme=True),
            _convolution_case("3×3 'same', use_bias=False → BatchNorm → ReLU: the block of "
                              "ResNets and MobileNets", lambda dtype: [
                                  Conv2D(2, 3, 3, padding="same", use_bias=False, dtype=dtype),
                                  BatchNormalization(3, convention="keras", dtype=dtype),
                                  Activation("relu")], (5, 5, 2)),
        )),
        Concept(name="Conv1D", module="convolution", summary=first_line(Conv1D), notes=(),
                cases=(
            _convolution_case("k = 3, stride 2, 'same' on L = 10: TF pads (0, 1)",
                              lambda dtype: [Conv1D(2, 3, 3, strides=2, padding="same",
                                                    activation="tanh", dtype=dtype)],
                              (10, 2)),
            _convolution_case("k = 2, dilation 3, 'valid'",
                              lambda dtype: [Conv1D(2, 2, 2, dilation_rate=3, dtype=dtype)],
                              (9, 2)),
        )),
        Concept(name="DepthwiseConv2D", module="convolution",
                summary=first_line(DepthwiseConv2D), notes=(), cases=(
            _convolution_case("3×3, depth multiplier 2, stride 2 'same' on 8×8",
                              lambda dtype: [DepthwiseConv2D(2, 3, depth_multiplier=2,
                                                             strides=2, padding="same",
                                                             activation="tanh", dtype=dtype)],
                              (8, 8, 2)),
            _convolution_case("3×3, use_bias=False, 'same' on 7×7 → BatchNorm: MobileNet's",
                              lambda dtype: [DepthwiseConv2D(3, 3, padding="same",
                                                             use_bias=False, dtype=dtype),
                                             BatchNormalization(3, convention="keras",
                                                                dtype=dtype)], (7, 7, 3)),
        )),
        Concept(name="MaxPool2D", module="convolution", summary=first_line(MaxPool2D),
                notes=(), cases=(
            _convolution_case("2×2 after a 3×3 relu convolution", lambda dtype: [
                Conv2D(1, 2, 3, activation="relu", dtype=dtype), MaxPool2D(2)], (7, 7, 1)),
            _convolution_case("3×3 stride 2 'same' on 8×8: −∞ padding (0, 1)",
                              pool(MaxPool2D, 3, 2, "same"), (8, 8, 2)),
            _convolution_case("2×2 on inputs up to ±1e4", pool(MaxPool2D, 2), (4, 4, 2),
                              extreme=True),
        )),
        Concept(name="AveragePool2D", module="convolution", summary=first_line(AveragePool2D),
                notes=(), cases=(
            _convolution_case("3×3 stride 2 'same' on 8×8: real cells in the divisor",
                              pool(AveragePool2D, 3, 2, "same"), (8, 8, 2)),
            _convolution_case("2×3 'valid', strides (1, 2)",
                              pool(AveragePool2D, (2, 3), (1, 2)), (5, 7, 2)),
        )),
        Concept(name="GlobalAveragePooling2D", module="convolution",
                summary=first_line(GlobalAveragePooling2D), notes=(), cases=(
            _convolution_case("after a 3×3 'same' convolution", lambda dtype: [
                Conv2D(2, 4, 3, padding="same", activation="tanh", dtype=dtype),
                GlobalAveragePooling2D()], (5, 6, 2)),
            _convolution_case("keepdims=True → 1×1 Conv2D → Reshape: MobileNet's head, "
                              "torch's nn.AdaptiveAvgPool2d(1) without nn.Flatten",
                              lambda dtype: [
                                  Conv2D(2, 4, 3, activation="relu", dtype=dtype),
                                  GlobalAveragePooling2D(keepdims=True),
                                  Conv2D(4, 3, 1, dtype=dtype), Reshape((3,))], (5, 6, 2)),
        )),
    ]


def _away_from(x: np.ndarray, kinks: tuple[float, ...], margin: float = 1e-2) -> np.ndarray:
    """``x`` with every entry at least ``margin`` from each kink (ReLU's 0, ReLU6's 6)."""
    for kink in kinks:
        x = kink + _away_from_zero(x - kink, margin)
    return x


def _layer_case(label: str, build: Callable[[np.dtype], list], input_shape: tuple[int, ...],
                *, scale: float = 1.0, kinks: tuple[float, ...] = (0.0,)) -> Case:
    """A parameter-free layer first, on inputs ``scale``·N(0, 1) kept off its ``kinks``,
    then Flatten (for more than one feature axis) and Dense(…, 3); MSE. The first layer sees
    the raw input, so the case controls which of its pieces the values reach."""
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        body = build(dtype)
        shape = Sequential(body, input_shape=input_shape).output_shape
        head = [Flatten()] if len(shape) > 1 else []
        model = Sequential([*body, *head, Dense(int(np.prod(shape)), 3, dtype=dtype)],
                           input_shape=input_shape, seed=int(rng.integers(2**31)))
        model.layers[-1].b = rng.uniform(-0.5, 0.5, 3).astype(dtype)
        x = _away_from(scale * rng.standard_normal((batch, *input_shape)), kinks)
        return {"model": model, "x": x.astype(dtype),
                "y_true": rng.standard_normal((batch, 3)).astype(dtype),
                "loss": "mean_squared_error"}
    return Case(label, make)


def _activation_layer_concepts() -> list[Concept]:
    """The standalone activation layers: what conv → BatchNorm → ReLU blocks are made of.
    Slopes are exact in float32 (0.25, 0.5): TF's leaky-ReLU kernel holds its slope as a
    float32 even for float64 data, so a slope such as 0.3 parts TF from torch and the spec
    in float64 by ~4e-8 (shown on its own in the parity suite), not by a convention that a
    line of code bridges."""
    from reference.convolution import Conv2D, ZeroPadding2D

    def conv_then(layer: Callable[[], object]) -> Callable[[np.dtype], list]:
        return lambda dtype: [Conv2D(2, 3, 3, padding="same", dtype=dtype), layer()]

    return [
        Concept(name="Activation", module="layers", summary=_first_line(Activation.__doc__),
                notes=(), cases=(
            _layer_case("Activation('tanh') on (N, 5)", lambda d: [Activation("tanh")], (5,)),
            _layer_case("Activation('elu', alpha=0.5) on (N, 3, 4)",
                        lambda d: [Activation("elu", alpha=0.5)], (3, 4)),
            _layer_case("Activation('softmax') on (N, 6)", lambda d: [Activation("softmax")],
                        (6,)),
            _layer_case("Conv2D 'same' → Activation('relu') on 5×5", conv_then(
                lambda: Activation("relu")), (5, 5, 2)),
        )),
        Concept(name="ReLU", module="layers", summary=_first_line(ReLU.__doc__), notes=(),
                cases=(
            _layer_case("ReLU() on (N, 6)", lambda d: [ReLU()], (6,), scale=3.0),
            _layer_case("ReLU(max_value=6) on inputs to ±12: torch's ReLU6",
                        lambda d: [ReLU(max_value=6)], (8,), scale=6.0, kinks=(0.0, 6.0)),
            _layer_case("ReLU(max_value=2.5): a ceiling other than 6",
                        lambda d: [ReLU(max_value=2.5)], (8,), scale=3.0, kinks=(0.0, 2.5)),
            _layer_case("ReLU(negative_slope=0.25)", lambda d: [ReLU(negative_slope=0.25)],
                        (6,), scale=3.0),
            _layer_case("Conv2D 'same' → ReLU(max_value=6) on 5×5", conv_then(
                lambda: ReLU(max_value=6)), (5, 5, 2)),
        )),
        Concept(name="LeakyReLU", module="layers", summary=_first_line(LeakyReLU.__doc__),
                notes=(), cases=(
            _layer_case("LeakyReLU(0.25) on (N, 6)", lambda d: [LeakyReLU(0.25)], (6,),
                        scale=3.0),
            _layer_case("Conv2D 'same' → LeakyReLU(0.5) on 5×5", conv_then(
                lambda: LeakyReLU(0.5)), (5, 5, 2)),
        )),
        Concept(name="Softmax", module="layers", summary=_first_line(Softmax.__doc__),
                notes=(), cases=(
            _layer_case("Softmax() on (N, 5)", lambda d: [Softmax()], (5,), scale=2.0),
            _layer_case("Softmax(axis=1) on (N, 3, 4): not the last axis",
                        lambda d: [Softmax(axis=1)], (3, 4), scale=2.0),
            _layer_case("Conv2D 'same' → Softmax() over the channels: torch's dim=1",
                        conv_then(lambda: Softmax()), (4, 5, 2)),
        )),
        Concept(name="ZeroPadding2D", module="convolution",
                summary=_first_line(ZeroPadding2D.__doc__), notes=(), cases=(
            _layer_case("ZeroPadding2D(((1, 2), (0, 1))) → Conv2D 3×3",
                        lambda d: [ZeroPadding2D(((1, 2), (0, 1))),
                                   Conv2D(2, 2, 3, activation="tanh", dtype=d)], (4, 5, 2)),
            _layer_case("ZeroPadding2D(1) alone on 3×4", lambda d: [ZeroPadding2D(1)],
                        (3, 4, 2)),
        )),
    ]


def _upsampling_concepts() -> list[Concept]:
    """The layers of a U-Net's upsampling path and of MobileNet's separable stacks. Keras's
    bilinear UpSampling2D computes in float32 whatever its dtype (TF's resize kernel), so
    its cases are not here but in parity_tests/test_upsampling.py, float32 against both
    frameworks and float64 against torch."""
    from reference.convolution import (
        Conv2D,
        Conv2DTranspose,
        Cropping2D,
        SeparableConv2D,
        UpSampling2D,
    )

    def transpose(*args: object, **options: object) -> Callable[[np.dtype], list]:
        return lambda dtype: [Conv2DTranspose(*args, dtype=dtype, **options)]

    def separable(*args: object, **options: object) -> Callable[[np.dtype], list]:
        return lambda dtype: [SeparableConv2D(*args, dtype=dtype, **options)]

    return [
        Concept(name="Cropping2D", module="convolution",
                summary=_first_line(Cropping2D.__doc__), notes=(), cases=(
            _layer_case("Conv2D 3×3 'same' → Cropping2D(((1, 0), (2, 1)))",
                        lambda d: [Conv2D(2, 2, 3, padding="same", activation="tanh",
                                          dtype=d), Cropping2D(((1, 0), (2, 1)))], (5, 6, 2)),
            _layer_case("Cropping2D(1) alone on 4×5", lambda d: [Cropping2D(1)], (4, 5, 2)),
        )),
        Concept(name="UpSampling2D", module="convolution",
                summary=_first_line(UpSampling2D.__doc__), notes=(), cases=(
            _layer_case("UpSampling2D(2) nearest alone on 3×4", lambda d: [UpSampling2D(2)],
                        (3, 4, 2)),
            _layer_case("Conv2D 'same' → UpSampling2D((2, 3)) nearest",
                        lambda d: [Conv2D(2, 2, 3, padding="same", activation="tanh",
                                          dtype=d), UpSampling2D((2, 3))], (3, 3, 2)),
        )),
        Concept(name="Conv2DTranspose", module="convolution",
                summary=_first_line(Conv2DTranspose.__doc__), notes=(), cases=(
            _convolution_case("3×3 stride 2 'valid' on 4×4, tanh",
                              transpose(2, 3, 3, strides=2, activation="tanh"), (4, 4, 2)),
            _convolution_case("3×3 stride 2 'same' on 4×5: Keras crops (0, 1), torch "
                              "padding=0 then a crop", transpose(2, 2, 3, strides=2,
                                                                 padding="same"), (4, 5, 2)),
            _convolution_case("4×4 stride 2 'same' on 3×3: torch's padding=1",
                              transpose(2, 2, 4, strides=2, padding="same",
                                        activation="relu"), (3, 3, 2)),
            _convolution_case("3×3 stride 2 'same', output_padding 1",
                              transpose(1, 2, 3, strides=2, padding="same", output_padding=1),
                              (3, 4, 1)),
            _convolution_case("3×3, strides (2, 1), 'same', output_padding (1, 0)",
                              transpose(2, 3, 3, strides=(2, 1), padding="same",
                                        output_padding=(1, 0), activation="sigmoid"),
                              (3, 4, 2)),
            _convolution_case("(2, 3) kernel, strides (1, 2), 'same': a crop on the rows only",
                              transpose(2, 2, (2, 3), strides=(1, 2), padding="same"),
                              (3, 3, 2)),
            _convolution_case("2×2 stride 3 'valid': Keras's cells past the full output",
                              transpose(2, 2, 2, strides=3), (2, 3, 2)),
            _convolution_case("2×2 stride 2 'valid', bias up to ±1e4, tanh",
                              transpose(1, 2, 2, strides=2, activation="tanh"), (3, 3, 1),
                              extreme=True),
        )),
        Concept(name="SeparableConv2D", module="convolution",
                summary=_first_line(SeparableConv2D.__doc__), notes=(), cases=(
            _convolution_case("3×3, depth multiplier 2, stride 2 'same' on 8×8: TF pads (0, 1)",
                              separable(2, 3, 3, depth_multiplier=2, strides=2,
                                        padding="same", activation="tanh"), (8, 8, 2)),
            _convolution_case("2×3 'valid', relu", separable(3, 2, (2, 3), activation="relu"),
                              (4, 5, 3)),
            _convolution_case("3×3 'same' without a bias (Xception's): torch's 1×1 "
                              "bias=False", separable(3, 4, 3, padding="same",
                                                      use_bias=False), (5, 5, 3)),
        )),
    ]


def _shape_concepts() -> list[Concept]:
    """Reshape and Permute (whose torch form depends on whether a feature map is
    channels-first there), Keras's preprocessing layers, and the global poolings real
    models end with. Inputs of the max pooling are random reals: no ties (the frameworks
    route a tied maximum's gradient differently, ``GlobalMaxPooling2D``)."""
    from reference.convolution import (
        Conv1D,
        Conv2D,
        GlobalAveragePooling1D,
        GlobalAveragePooling2D,
        GlobalMaxPooling2D,
    )
    from reference.layers import Permute, Reshape
    from reference.normalization import Normalization, Rescaling

    def first_line(kind: type) -> str:
        return _first_line(kind.__doc__)

    return [
        Concept(name="Reshape", module="layers", summary=first_line(Reshape), notes=(),
                cases=(
            _layer_case("Reshape((3, -1)) of (12,): no feature map", lambda d: [
                Reshape((3, -1))], (12,)),
            _convolution_case("Conv2D → GlobalAveragePooling2D → Reshape((1, 1, 4)) → "
                              "Conv2D 1×1: squeeze-excite, torch's nn.Unflatten(1, (4, 1, 1))",
                              lambda d: [Conv2D(2, 4, 3, padding="same", activation="relu",
                                                dtype=d), GlobalAveragePooling2D(),
                                         Reshape((1, 1, 4)),
                                         Conv2D(4, 3, 1, activation="sigmoid", dtype=d)],
                              (4, 5, 2)),
            _convolution_case("Conv2D → Reshape((-1, 3)): the pixels as a sequence, torch's "
                              "nn.Flatten(2)", lambda d: [
                                  Conv2D(2, 3, 2, activation="tanh", dtype=d),
                                  Reshape((-1, 3))], (4, 5, 2)),
            _layer_case("Dense → Reshape((2, 3, 2)) → Conv2D: Keras's (h, w, c), permuted "
                        "to torch's (c, h, w)", lambda d: [
                            Dense(12, 12, "tanh", dtype=d), Reshape((2, 3, 2)),
                            Conv2D(2, 3, 2, padding="same", dtype=d)], (12,)),
        )),
        Concept(name="Permute", module="layers", summary=first_line(Permute), notes=(),
                cases=(
            _layer_case("Permute((2, 1)) of (3, 4)", lambda d: [Permute((2, 1))], (3, 4)),
            _convolution_case("Conv2D → Permute((2, 1, 3)): H and W swap, torch's "
                              "permute(0, 1, 3, 2)", lambda d: [
                                  Conv2D(2, 3, 2, activation="tanh", dtype=d),
                                  Permute((2, 1, 3))], (4, 5, 2)),
            _convolution_case("Conv2D → Permute((3, 1, 2)): channels first, in Keras's "
                              "layout", lambda d: [Conv2D(2, 3, 2, dtype=d),
                                                   Permute((3, 1, 2))], (4, 5, 2)),
        )),
        Concept(name="Rescaling", module="normalization", summary=first_line(Rescaling),
                notes=(), cases=(
            _normalization_case("Rescaling(1/255) → Dense(4, 2): pixel values to [0, 1]",
                                lambda d: [Rescaling(1 / 255), Dense(4, 2, "tanh", dtype=d)],
                                (4,), steps=1),
            _normalization_case("Rescaling(1/127.5, -1) → Conv2D 'same' on 4×4 → Dense",
                                lambda d: [Rescaling(1 / 127.5, -1.0),
                                           Conv2D(2, 2, 3, padding="same", dtype=d),
                                           Flatten(), Dense(32, 2, dtype=d)],
                                (4, 4, 2), steps=1),
        )),
        Concept(name="Normalization", module="normalization",
                summary=first_line(Normalization), notes=(), cases=(
            _normalization_case("Normalization(mean, variance) of 3 features → Dense(3, 2)",
                                lambda d: [Normalization([0.5, -1.0, 2.0], [4.0, 0.25, 1.5]),
                                           Dense(3, 2, "tanh", dtype=d)], (3,), steps=1),
            _normalization_case("Conv2D → Normalization per channel (torch's dim 1) → Dense",
                                lambda d: [Conv2D(2, 3, 3, padding="same", dtype=d),
                                           Normalization([0.1, -0.2, 0.3], [2.0, 0.5, 1.0]),
                                           Flatten(), Dense(48, 2, dtype=d)],
                                (4, 4, 2), steps=1),
            _normalization_case("Normalization(2.0, 9.0): one mean and variance for all",
                                lambda d: [Normalization(2.0, 9.0),
                                           Dense(4, 2, dtype=d)], (4,), steps=1),
        )),
        Concept(name="GlobalMaxPooling2D", module="convolution",
                summary=first_line(GlobalMaxPooling2D), notes=(), cases=(
            _convolution_case("after a 3×3 'same' convolution", lambda d: [
                Conv2D(2, 4, 3, padding="same", activation="tanh", dtype=d),
                GlobalMaxPooling2D()], (5, 6, 2)),
            _convolution_case("on inputs up to ±1e4", lambda d: [GlobalMaxPooling2D()],
                              (3, 4, 2), extreme=True),
            _convolution_case("keepdims=True → 1×1 Conv2D", lambda d: [
                GlobalMaxPooling2D(keepdims=True), Conv2D(2, 3, 1, dtype=d)], (3, 4, 2)),
        )),
        Concept(name="GlobalAveragePooling1D", module="convolution",
                summary=first_line(GlobalAveragePooling1D), notes=(), cases=(
            _convolution_case("after a k = 3 'same' Conv1D", lambda d: [
                Conv1D(2, 4, 3, padding="same", activation="tanh", dtype=d),
                GlobalAveragePooling1D()], (7, 2)),
            _convolution_case("keepdims=True after a Conv1D → 1×1 Conv1D", lambda d: [
                Conv1D(2, 4, 3, activation="tanh", dtype=d),
                GlobalAveragePooling1D(keepdims=True), Conv1D(4, 3, 1, dtype=d)], (7, 2)),
            Case("after a SimpleRNN's every step (a sequence, (N, T, F) in torch too, not a "
                 "feature map) → Dense", _pooled_sequence),
        )),
    ]


XOR_INPUTS = np.array([[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 1]])
XOR_TARGETS = np.array([[0, 1], [1, 0], [1, 0], [0, 1]])


def _note004_case() -> Case:
    """Note 004's Linear(3,5) → Linear(5,8) → Linear(8,2), sigmoid after each, on its data."""
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        layers = [Dense(3, 5, "sigmoid", dtype=dtype), Dense(5, 8, "sigmoid", dtype=dtype),
                  Dense(8, 2, "sigmoid", dtype=dtype)]
        model = _with_random_biases(Sequential(layers, seed=int(rng.integers(2**31))), rng)
        return {"model": model, "x": XOR_INPUTS.astype(dtype), "y_true": XOR_TARGETS.astype(dtype),
                "loss": "mean_squared_error"}
    return Case("note 004: 3-5-8-2 sigmoid on XOR data, MSE", make, batched=False)


_KINKED = {"step", "relu", "leaky_relu", "elu"}
_ACTIVATION_NOTES = {
    "identity": ("003",), "step": ("001", "004"), "sigmoid": ("000", "001", "002", "003"),
    "tanh": ("000", "002", "003"), "relu": ("000", "002", "003"), "leaky_relu": ("003",),
    "elu": ("003",), "softmax": ("003",), "softplus": (), "silu": (), "gelu": (),
    "exponential": (),
}
_ACTIVATION_PARAMS = {"leaky_relu": ({}, {"negative_slope": 0.2}), "elu": ({}, {"alpha": 0.3}),
                      "gelu": ({}, {"approximate": "tanh"})}

_LOSSES = {
    # name: (input kind, notes)
    "mean_squared_error": ("regression", ("000", "003")),
    "half_mean_squared_error": ("regression", ("002", "003")),
    "mean_absolute_error": ("regression", ("003",)),
    "mean_squared_logarithmic_error": ("positive", ("003",)),
    "binary_cross_entropy": ("binary", ("000", "002", "003")),
    "binary_cross_entropy_with_logits": ("binary_logits", ("000",)),
    "categorical_cross_entropy": ("categorical", ("003",)),
    "categorical_cross_entropy_with_logits": ("categorical_logits", ("000", "003")),
    "sparse_categorical_cross_entropy": ("sparse", ("003",)),
    "sparse_categorical_cross_entropy_with_logits": ("sparse_logits", ("003",)),
}


# ── Learning: the perceptron rule, gradient descent, optimizers, training runs ──────────────

NOTE_002_POINTS = np.array([[0.8, 0.4], [0.3, 0.1], [0.8, 0.8], [0.4, 0.6], [0.6, 0.8],
                            [0.4, 0.2], [0.4, 0.5]])
NOTE_002_LABELS = np.array([0, 0, 1, 1, 1, 0, 1])
NOTE_002_XOR_POINTS = np.array([[0, 1], [1, 0], [1, 1], [0, 0]])
NOTE_002_XOR_LABELS = np.array([1, 1, 0, 0])
NOTE_003_INPUTS = np.array([[2.9], [-1.0], [3.0], [1000.0]])
NOTE_003_TARGETS = np.array([[0], [0], [1], [1]])


def _perceptron_case(label: str, data: Callable[[np.random.Generator, int], tuple],
                     learning_rate: float, max_epochs: int, batched: bool = True) -> Case:
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        X, y = data(rng, batch)
        return {"X": np.asarray(X).astype(dtype), "y": y, "learning_rate": learning_rate,
                "max_epochs": max_epochs}
    return Case(label, make, batched=batched)


def _border_at_three(rng: np.random.Generator, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Note 003's 1-d world: x < 3 is country A (0), x ≥ 3 country B (1); no point near 3."""
    x = rng.uniform(0.0, 6.0, 4 * batch + 4)
    x = np.where(np.abs(x - 3.0) < 0.25, x + np.copysign(0.5, x - 3.0), x)
    return x, (x >= 3.0).astype(int)


def _separable(rng: np.random.Generator, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Points on either side of a random plane in 3-d, none closer to it than 0.3."""
    X = rng.standard_normal((8 * batch + 8, 3))
    side = X @ rng.standard_normal(3) + 0.3
    keep = np.abs(side) > 0.3
    return X[keep], (side[keep] > 0).astype(int)


def _descent_case(label: str, function: Callable, derivative: Callable, x0: float,
                  learning_rate: float) -> Case:
    """``function`` is written with operators only, so NumPy, torch and TF all evaluate it."""
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        return {"function": function, "derivative": derivative, "x0": dtype.type(x0),
                "learning_rate": learning_rate, "precision": 1e-4, "max_iters": 1000}
    return Case(label, make, batched=False)  # one variable: no batch


def _optimizer_case(label: str, optimizer: object, steps: int = 8,
                    gradient_scale: float = 1.0) -> Case:
    """A kernel and a bias, and a given sequence of gradients: the update rule alone."""
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        params = [rng.standard_normal((batch + 2, 3)).astype(dtype),
                  rng.standard_normal(3).astype(dtype)]
        grads = [[(gradient_scale * rng.standard_normal(p.shape)).astype(dtype) for p in params]
                 for _ in range(steps)]
        return {"optimizer": optimizer, "params": params, "grads": grads}
    return Case(label, make)


def _training_case(label: str, widths: tuple[int, ...], acts: tuple[str, ...], loss: str,
                   optimizer: object, epochs: int, batch_size: int | None,
                   data: Callable | None = None, seed: int | None = 0,
                   regularizer: float = 0.0, early_stopping: object = None) -> Case:
    """A training run; ``data(dtype)`` gives a note's fixed (model, X, Y), else random ones
    (``regularizer``: every Dense layer's L2 λ)."""
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        if data is not None:
            model, X, Y = data(rng, dtype)
        else:
            layers = [Dense(i, o, a, kernel_regularizer=regularizer, dtype=dtype)
                      for i, o, a in zip(widths[:-1], widths[1:], acts, strict=True)]
            model = _with_random_biases(Sequential(layers, seed=int(rng.integers(2**31))), rng)
            n = 2 * batch + 6
            X = rng.standard_normal((n, widths[0])).astype(dtype)
            Y = _targets(loss, rng, n, widths[-1], dtype)
        stopping = {} if early_stopping is None else {"early_stopping": early_stopping}
        return {"model": model, "X": X, "Y": Y, "loss": loss, "optimizer": optimizer,
                "epochs": epochs, "batch_size": batch_size, "seed": seed, **stopping}
    return Case(label, make, batched=data is None)


def _note004_xor(rng: np.random.Generator, dtype: np.dtype) -> tuple:
    layers = [Dense(3, 5, "sigmoid", dtype=dtype), Dense(5, 8, "sigmoid", dtype=dtype),
              Dense(8, 2, "sigmoid", dtype=dtype)]
    model = _with_random_biases(Sequential(layers, seed=int(rng.integers(2**31))), rng)
    return model, XOR_INPUTS.astype(dtype), XOR_TARGETS.astype(dtype)


def _batchnorm_mlp(rng: np.random.Generator, dtype: np.dtype) -> tuple:
    """Dense(3, 4, tanh) → BatchNorm(4), Keras's convention, momentum 0.9 → Dense(4, 2), on
    12 random rows (batches of 4: never the single row torch refuses in training)."""
    layers = [Dense(3, 4, "tanh", dtype=dtype),
              BatchNormalization(4, 0.9, convention="keras", dtype=dtype),
              Dense(4, 2, dtype=dtype)]
    model = Sequential(layers, seed=int(rng.integers(2**31)))
    X = rng.standard_normal((12, 3)).astype(dtype)
    return model, X, rng.standard_normal((12, 2)).astype(dtype)


def _schedule_case(label: str, schedule: object, steps: int = 12) -> Case:
    return Case(label, lambda rng, dtype, batch: {"schedule": schedule, "steps": steps})


def _note003_neuron(rng: np.random.Generator, dtype: np.dtype) -> tuple:
    """Note 003's neuron ŷ = w x + b from w = b = 1 (it ignores the ReLU when training)."""
    neuron = Dense(1, 1, "identity", dtype=dtype)
    neuron.W, neuron.b = np.ones((1, 1), dtype), np.ones(1, dtype)
    return Sequential([neuron]), NOTE_003_INPUTS.astype(dtype), NOTE_003_TARGETS.astype(dtype)


# ── Sequences: Embedding, the recurrent layers, the character model ─────────────────────

# A short original paragraph (written for this project) for the character model.
CHAR_TEXT = (
    "the river keeps no diary, yet every stone along its bed remembers the water. "
    "a model that reads one letter at a time must do the same: carry a little of what "
    "came before, forget what no longer helps, and guess the next letter from the state "
    "it kept. short words come back often - the, and, of, it - and so do the spaces "
    "between them; the rare letters, q and z and x, arrive like visitors. train it for a "
    "while and it learns that a full stop is followed by a space, that 'q' wants a 'u', "
    "and that the river, whatever it forgets, keeps moving."
)
# Forty symbols, space first; every character of CHAR_TEXT is one of them.
CHAR_VOCABULARY = " abcdefghijklmnopqrstuvwxyz.,;:'!?-()\"01"


def char_sequences(count: int, length: int, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``count`` windows of CHAR_TEXT at random offsets, as indices into CHAR_VOCABULARY:
    the inputs (count, length) and the targets, the same windows one character later."""
    codes = np.array([CHAR_VOCABULARY.index(c) for c in CHAR_TEXT])
    starts = rng.integers(0, len(codes) - length, size=count)
    windows = codes[starts[:, None] + np.arange(length + 1)]
    return windows[:, :-1], windows[:, 1:]


def char_model(dtype: np.dtype, seed: int, *, vocabulary: int = 40, embedding: int = 16,
               units: int = 32, length: int = 25) -> Sequential:
    """The lab's character model, scaled down: Embedding → LSTM (every step) → Dense to
    the vocabulary at every step, giving logits for sparse categorical cross-entropy."""
    return Sequential([Embedding(vocabulary, embedding, dtype=dtype),
                       LSTM(embedding, units, return_sequences=True, dtype=dtype),
                       TimeDistributed(Dense(units, vocabulary, dtype=dtype))],
                      input_shape=(length,), seed=seed)


def _random_biases(model: Sequential, rng: np.random.Generator) -> Sequential:
    for layer in model.layers:
        if "b" in layer.parameter_names:
            b = layer.parameters["b"]
            layer.set("b", rng.uniform(-0.5, 0.5, b.shape).astype(b.dtype))
    return model


def _sequence_case(label: str, build: Callable[[np.dtype], list], steps: int,
                   features: int, loss: str = "mean_squared_error") -> Case:
    """Layers on a random (N, T, features) sequence (integer indices below ``features``
    when the first layer is an Embedding), with random biases, scored by ``loss``."""
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        layers = build(dtype)
        indices = isinstance(layers[0], Embedding)
        model = _random_biases(Sequential(layers, input_shape=(
            (steps,) if indices else (steps, features)), seed=int(rng.integers(2**31))), rng)
        if indices:
            x = rng.integers(0, features, (batch, steps))
        else:
            x = rng.standard_normal((batch, steps, features)).astype(dtype)
        out = model.output_shape
        y_true = (rng.integers(0, out[-1], (batch, *out[:-1])) if loss.startswith("sparse")
                  else rng.standard_normal((batch, *out)).astype(dtype))
        return {"model": model, "x": x, "y_true": y_true, "loss": loss}
    return Case(label, make)


def _attention_case(label: str, steps: int, mask: str | None) -> Case:
    """Self-attention MultiHeadAttention(6, 2) on (N, T, 6), with random biases; ``mask``:
    ``"causal"`` (each step attends to itself and the past), ``"use_causal_mask"`` (the
    same, as the layer's option) or ``"padding"`` (the last step of every other sample is
    padding no query attends to)."""
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        layer = MultiHeadAttention(6, 2, use_causal_mask=mask == "use_causal_mask", dtype=dtype)
        model = _random_biases(Sequential([layer], input_shape=(steps, 6),
                                          seed=int(rng.integers(2**31))), rng)
        for name in ("query_bias", "key_bias", "value_bias"):
            layer.set(name, rng.uniform(-0.5, 0.5, (2, 3)).astype(dtype))
        if mask == "causal":
            layer.mask = np.tril(np.ones((batch, steps, steps), bool))
        elif mask == "padding":
            layer.mask = np.ones((batch, steps, steps), bool)
            layer.mask[::2, :, -1] = False
        x = rng.standard_normal((batch, steps, 6)).astype(dtype)
        return {"model": model, "x": x, "loss": "mean_squared_error",
                "y_true": rng.standard_normal((batch, steps, 6)).astype(dtype)}
    return Case(label, make)


def _char_model_case() -> Case:
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        x, y = char_sequences(batch, 25, rng)
        return {"model": char_model(dtype, int(rng.integers(2**31))), "x": x, "y_true": y,
                "loss": "sparse_categorical_cross_entropy_with_logits"}
    # 8 000 weights, two forward passes each: its layers' own cases are checked instead.
    return Case("character model: Embedding(40, 16) → LSTM(32) → Dense(40), T = 25", make,
                gradcheck=False)


def _char_training(rng: np.random.Generator, dtype: np.dtype) -> tuple:
    X, Y = char_sequences(8, 25, rng)
    return char_model(dtype, int(rng.integers(2**31))), X, Y


def _sequence_concepts() -> list[Concept]:
    def recurrent(kind: type, **options: object) -> tuple[Case, ...]:
        """Three lengths, one step included; the last step alone and every step."""
        name = kind.__name__
        return tuple(_sequence_case(
            f"{name}(3, 4{''.join(f', {k}={v}' for k, v in options.items())}), T = {steps}, "
            f"{'every step' if every else 'last step'}",
            lambda dtype, every=every: [kind(3, 4, return_sequences=every, dtype=dtype,
                                             **options)], steps, 3)
            for steps, every in ((1, False), (3, True), (7, False)))

    return [
        Concept(name="Embedding", module="sequences", summary=_first_line(Embedding.__doc__),
                notes=(), cases=(
                    _sequence_case("Embedding(7, 3), T = 4, MSE",
                                   lambda dtype: [Embedding(7, 3, dtype=dtype)], 4, 7),
                    _sequence_case("Embedding(7, 3) → SimpleRNN(3, 4), T = 5",
                                   lambda dtype: [Embedding(7, 3, dtype=dtype),
                                                  SimpleRNN(3, 4, dtype=dtype)], 5, 7),
                )),
        Concept(name="SimpleRNN", module="sequences", summary=_first_line(SimpleRNN.__doc__),
                notes=(), cases=recurrent(SimpleRNN)),
        Concept(name="LSTM", module="sequences", summary=_first_line(LSTM.__doc__),
                notes=(), cases=(*recurrent(LSTM), _char_model_case())),
        Concept(name="GRU", module="sequences", summary=_first_line(GRU.__doc__), notes=(),
                cases=recurrent(GRU)),
        Concept(name="MultiHeadAttention", module="sequences",
                summary=_first_line(MultiHeadAttention.__doc__), notes=(), cases=(
                    _attention_case("MultiHeadAttention(6, 2), T = 1", 1, None),
                    _attention_case("MultiHeadAttention(6, 2), T = 4, causal mask", 4,
                                    "causal"),
                    _attention_case("MultiHeadAttention(6, 2, use_causal_mask=True), T = 4",
                                    4, "use_causal_mask"),
                    _attention_case("MultiHeadAttention(6, 2), T = 5, last step padded in "
                                    "every other sample", 5, "padding"),
                )),
        Concept(name="TimeDistributed", module="sequences",
                summary=_first_line(TimeDistributed.__doc__), notes=(), cases=(
                    _sequence_case("LSTM(3, 4) every step → TimeDistributed(Dense(4, 5)), "
                                   "sparse cross-entropy from logits",
                                   lambda dtype: [LSTM(3, 4, return_sequences=True,
                                                       dtype=dtype),
                                                  TimeDistributed(Dense(4, 5, dtype=dtype))],
                                   4, 3, "sparse_categorical_cross_entropy_with_logits"),
                )),
    ]


def _bidirectional_concepts() -> list[Concept]:
    from reference.sequences import Bidirectional  # this block's own import

    def case(kind: type, merge_mode: str, every: bool, steps: int) -> Case:
        """Bidirectional(kind(3, 4)) on (N, T, 3), both directions' biases random."""
        label = (f"Bidirectional({kind.__name__}(3, 4), merge_mode={merge_mode!r}), T = {steps}, "
                 f"{'every step' if every else 'last step'}")
        inner = _sequence_case(label, lambda dtype: [Bidirectional(
            kind(3, 4, return_sequences=every, dtype=dtype), merge_mode=merge_mode)], steps, 3)

        def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
            made = inner.make(rng, dtype, batch)
            layer = made["model"].layers[0]
            for name in ("forward_b", "backward_b"):
                b = layer.parameters[name]
                layer.set(name, rng.uniform(-0.5, 0.5, b.shape).astype(b.dtype))
            return made
        return Case(label, make)

    return [Concept(name="Bidirectional", module="sequences",
                    summary=_first_line(Bidirectional.__doc__), notes=(), cases=(
                        case(LSTM, "concat", True, 4), case(LSTM, "concat", False, 5),
                        case(GRU, "sum", True, 3), case(SimpleRNN, "ave", False, 4),
                        case(LSTM, "mul", True, 3), case(SimpleRNN, "concat", False, 1),
                    ))]


def _learning_concepts() -> list[Concept]:
    from reference import (  # local, like losses
        callbacks,
        optimizers,
        perceptron,
        schedules,
        training,
    )

    exponential = schedules.ExponentialDecay(0.1, 2, 0.5)
    staircase = schedules.ExponentialDecay(0.1, 2, 0.5, staircase=True)
    piecewise = schedules.PiecewiseConstantDecay((1, 3), (0.1, 0.05, 0.025))
    cosine = schedules.CosineDecay(0.01, 5, alpha=0.1)

    def summary(obj: object) -> str:
        return _first_line(obj.__doc__)

    sgd, adam, adamw = optimizers.SGD, optimizers.Adam, optimizers.AdamW
    mlp, tanh_mlp = ((3, 4, 2), ("sigmoid", "identity")), ((3, 4, 2), ("tanh", "identity"))
    return [
        Concept(
            name="Perceptron", module="perceptron", summary=summary(perceptron.Perceptron),
            notes=("001", "002", "004"), differentiable=False,
            cases=(
                _perceptron_case("note 002: the seven points, η = 1",
                                 lambda rng, batch: (NOTE_002_POINTS, NOTE_002_LABELS), 1.0, 100,
                                 batched=False),
                _perceptron_case("note 002: XOR, never separated (20 epochs)",
                                 lambda rng, batch: (NOTE_002_XOR_POINTS, NOTE_002_XOR_LABELS),
                                 1.0, 20, batched=False),
                _perceptron_case("1-d: note 003's border at x = 3, η = 0.5", _border_at_three,
                                 0.5, 50),
                _perceptron_case("3-d separable with a margin, η = 0.1", _separable, 0.1, 50),
            ),
        ),
        Concept(
            name="gradient_descent", module="optimizers",
            summary=summary(optimizers.gradient_descent), notes=("000", "002"),
            cases=(
                _descent_case("note 002: (x − 2)² from x = 4, η = 0.01",
                              lambda x: (x - 2.0) ** 2, lambda x: 2.0 * (x - 2.0), 4.0, 0.01),
                _descent_case("x⁴ − 3x³ + 2 from x = 6, η = 0.01 (minimum 9/4)",
                              lambda x: x**4 - 3.0 * x**3 + 2.0,
                              lambda x: 4.0 * x**3 - 9.0 * x**2, 6.0, 0.01),
            ),
        ),
        Concept(
            name="SGD", module="optimizers", summary=summary(sgd), notes=("002", "003"),
            cases=(
                _optimizer_case("SGD η = 0.1", sgd(0.1)),
                _optimizer_case("momentum 0.9", sgd(0.1, momentum=0.9)),
                _optimizer_case("Nesterov, momentum 0.9", sgd(0.1, momentum=0.9, nesterov=True)),
                _optimizer_case("momentum, L2 weight decay 0.1",
                                sgd(0.1, momentum=0.9, weight_decay=0.1)),
                _optimizer_case("momentum, decoupled weight decay 0.1",
                                sgd(0.1, momentum=0.9, weight_decay=0.1,
                                    decoupled_weight_decay=True)),
            ),
        ),
        Concept(
            name="Adam", module="optimizers", summary=summary(adam), notes=("003",),
            cases=(
                _optimizer_case("Adam η = 0.01", adam(0.01)),
                _optimizer_case("gradients of 1e-6, where ε's placement shows", adam(0.01),
                                gradient_scale=1e-6),
                _optimizer_case("β = (0.8, 0.99), ε = 1e-6, L2 weight decay 0.1",
                                adam(0.01, 0.8, 0.99, 1e-6, weight_decay=0.1)),
                _optimizer_case("decoupled weight decay 0.1",
                                adam(0.01, weight_decay=0.1, decoupled_weight_decay=True)),
            ),
        ),
        Concept(
            name="AdamW", module="optimizers", summary=summary(adamw), notes=(),
            cases=(
                _optimizer_case("AdamW η = 0.01, torch's default λ = 0.01", adamw(0.01)),
                _optimizer_case("λ = 0.1, ε = 1e-6", adamw(0.01, epsilon=1e-6, weight_decay=0.1)),
            ),
        ),
        *(Concept(name=type(runs[0][1]).__name__, module="schedules",
                  summary=summary(type(runs[0][1])), notes=(),
                  cases=tuple(_schedule_case(label, schedule) for label, schedule in runs))
          for runs in ((("η₀ = 0.1, r = 0.5 every 2 steps", exponential),
                        ("staircase", staircase)),
                       (("0.1, 0.05 after step 1, 0.025 after step 3", piecewise),),
                       (("η₀ = 0.01 over 5 steps, α = 0.1, then 7 steps past the end",
                         cosine),))),
        Concept(
            name="EarlyStopping", module="callbacks", summary=summary(callbacks.EarlyStopping),
            notes=(),
            cases=(
                _training_case("full batch, η = 0.5, patience 2, min_delta 0.02, best restored",
                               *tanh_mlp, "mean_squared_error", sgd(0.5, momentum=0.9), 12,
                               None, early_stopping=callbacks.EarlyStopping(2, 0.02, True)),
                _training_case("batches of 4, patience 0, min_delta 0.01, last weights kept",
                               *tanh_mlp, "mean_squared_error", sgd(0.1), 12, 4,
                               early_stopping=callbacks.EarlyStopping(0, 0.01)),
            ),
        ),
        Concept(
            name="fit", module="training", summary=summary(training.fit),
            notes=("000", "003", "004"),
            cases=(
                _training_case("full batch, SGD η = 0.1, MSE, 4 epochs", *tanh_mlp,
                               "mean_squared_error", sgd(0.1), 4, None),
                _training_case("batches of 4, shuffled, momentum 0.9, 3 epochs", *tanh_mlp,
                               "mean_squared_error", sgd(0.1, momentum=0.9), 3, 4),
                _training_case("per sample, Nesterov, 1 epoch", *tanh_mlp,
                               "mean_squared_error", sgd(0.05, momentum=0.9, nesterov=True),
                               1, 1),
                _training_case("batches of 4, momentum, decoupled decay 0.01", *tanh_mlp,
                               "mean_squared_error",
                               sgd(0.1, momentum=0.9, weight_decay=0.01,
                                   decoupled_weight_decay=True), 2, 4),
                _training_case("batches of 3, Adam, binary cross-entropy", (3, 4, 1),
                               ("tanh", "sigmoid"), "binary_cross_entropy", adam(0.01), 2, 3),
                _training_case("batches of 4, Adam with L2 decay 0.1", *mlp,
                               "mean_squared_error", adam(0.01, weight_decay=0.1), 2, 4),
                _training_case("batches of 4, AdamW λ = 0.1", *mlp, "mean_squared_error",
                               adamw(0.01, weight_decay=0.1), 2, 4),
                # λ = 2⁻⁴ is exact in float32, where Keras's L2 rounds its λ
                _training_case("batches of 4, L2 loss term λ‖W‖², λ = 2⁻⁴, momentum 0.9",
                               *tanh_mlp, "mean_squared_error", sgd(0.1, momentum=0.9), 2, 4,
                               regularizer=0.0625),
                _training_case("batches of 4, clipnorm 0.05 per variable, momentum 0.9",
                               *tanh_mlp, "mean_squared_error",
                               sgd(0.1, momentum=0.9, clipnorm=0.05), 2, 4),
                _training_case("batches of 4, global_clipnorm 0.1, Adam", *tanh_mlp,
                               "mean_squared_error", adam(0.01, global_clipnorm=0.1), 2, 4),
                _training_case("batches of 4, clipvalue 0.02", *tanh_mlp, "mean_squared_error",
                               sgd(0.1, clipvalue=0.02), 2, 4),
                _training_case("batches of 2, ExponentialDecay(0.1, 2, 0.5), momentum 0.9",
                               *tanh_mlp, "mean_squared_error",
                               sgd(exponential, momentum=0.9), 1, 2),
                _training_case("batches of 2, staircase decay, Nesterov", *tanh_mlp,
                               "mean_squared_error",
                               sgd(staircase, momentum=0.9, nesterov=True), 1, 2),
                _training_case("batches of 2, PiecewiseConstantDecay at 1 and 3, SGD",
                               *tanh_mlp, "mean_squared_error", sgd(piecewise), 1, 2),
                # Eager TF: inside tf.function TF's float32 cosine is another kernel, one
                # ulp away at t = 3 (parity_tests/test_schedules.py shows it)
                _with_inputs(_training_case("batches of 2, CosineDecay(0.01, 5, α = 0.1), Adam",
                                            *tanh_mlp, "mean_squared_error", adam(cosine), 1, 2),
                             tf_function=False),
                _training_case("batches of 4 through BatchNorm, momentum 0.9, 3 epochs", (), (),
                               "mean_squared_error", sgd(0.1, momentum=0.9), 3, 4,
                               data=_batchnorm_mlp),
                _training_case("note 004: 3-5-8-2 sigmoid on XOR, full batch, η = 2",
                               (3, 5, 8, 2), ("sigmoid",) * 3, "mean_squared_error", sgd(2.0),
                               20, None, data=_note004_xor),
                _training_case("character model, 8 sequences of 25, Adam η = 0.01, 5 steps",
                               (), (), "sparse_categorical_cross_entropy_with_logits",
                               adam(0.01), 5, None, data=_char_training),
                _training_case("note 003: per sample, η = 1e-4, x = 1000 (the note's 100 steps)",
                               (1, 1), ("identity",), "half_mean_squared_error", sgd(1e-4), 25,
                               1, data=_note003_neuron, seed=None),
            ),
        ),
    ]
def _with_inputs(case: Case, **extra: object) -> Case:
    """``case`` (same label, so the same inputs) plus ``extra`` keys: what to differentiate."""
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        return {**case.make(rng, dtype, batch), **extra}
    return Case(case.label, make)


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0]


def _build() -> tuple[Concept, ...]:
    from reference import losses  # local: losses imports activations, keep the graph simple

    concepts = [
        Concept(
            name=name, module="activations",
            summary=_first_line(getattr(activations, name).__doc__),
            notes=_ACTIVATION_NOTES[name],
            cases=tuple(_activation_case(name + "".join(f"[{k}={v}]" for k, v in p.items()),
                                         p, name in _KINKED)
                        for p in _ACTIVATION_PARAMS.get(name, ({},))),
            differentiable=name != "step",
        )
        for name in activations.NAMES
    ]
    concepts += [
        Concept(name=name, module="losses", summary=_first_line(getattr(losses, name).__doc__),
                notes=notes, cases=(Case(name, _loss_inputs(kind)),))
        for name, (kind, notes) in _LOSSES.items()
    ]
    concepts.append(Concept(
        name="Dense", module="layers", summary=_first_line(Dense.__doc__), notes=("000", "002"),
        cases=tuple(_model_case(f"Dense(4, 3, {a})", (4, 3), (a,), "mean_squared_error")
                    for a in activations.NAMES if a != "step"),
    ))
    concepts.append(Concept(
        name="Flatten", module="layers", summary=_first_line(Flatten.__doc__), notes=(),
        cases=(
            _stack_case("Flatten (3, 4) → Dense(12, 3, tanh)", _flatten_stack, (3, 4),
                        "mean_squared_error"),
        ),
    ))
    concepts.append(Concept(
        name="Dropout", module="layers", summary=_first_line(Dropout.__doc__), notes=(),
        cases=(
            _stack_case("Dense → Dropout(0.5) → Dense, training, mask injected",
                        _dropout_stack(0.5, True), (4,), "mean_squared_error", training=True),
            _stack_case("Dense → Dropout(0.5) → Dense, inference: the identity",
                        _dropout_stack(0.5, False), (4,), "mean_squared_error"),
            _stack_case("Dense → Dropout(0.5, noise_shape=(None, 1)) → Dense, training: "
                        "whole samples dropped, mask injected",
                        _dropout_stack(0.5, True, (None, 1)), (4,), "mean_squared_error",
                        training=True),
        ),
    ))
    concepts.append(Concept(
        name="Sequential", module="networks", summary=_first_line(Sequential.__doc__),
        notes=("000", "002", "004"),
        cases=(
            _model_case("note 000: one hidden layer 3-4-1 sigmoid, binary cross-entropy",
                        (3, 4, 1), ("sigmoid", "sigmoid"), "binary_cross_entropy"),
            _note004_case(),
            _model_case("6-8-8-5-4 relu/tanh/gelu/softmax, categorical cross-entropy",
                        (6, 8, 8, 5, 4), ("relu", "tanh", "gelu", "softmax"),
                        "categorical_cross_entropy"),
            _model_case("5-7-3 elu, logits, categorical cross-entropy with logits",
                        (5, 7, 3), ("elu", "identity"), "categorical_cross_entropy_with_logits"),
        ),
    ))
    concepts.append(Concept(
        name="BatchNormalization", module="normalization",
        summary=_first_line(BatchNormalization.__doc__), notes=(),
        cases=(
            _normalization_case(
                "Dense(4, 3, tanh) → BatchNorm(3), Keras's convention, momentum 0.8 → "
                "Dense(3, 2): 3 training steps, then inference",
                lambda dtype: [Dense(4, 3, "tanh", dtype=dtype),
                               BatchNormalization(3, 0.8, convention="keras", dtype=dtype),
                               Dense(3, 2, dtype=dtype)], (4,)),
            _normalization_case(
                "Dense(4, 5, use_bias=False) → BatchNorm(5): no bias for β to cancel "
                "(torch's bias=False) → Dense(5, 2, tanh): 2 training steps, then inference",
                lambda dtype: [Dense(4, 5, use_bias=False, dtype=dtype),
                               BatchNormalization(5, convention="keras", dtype=dtype),
                               Dense(5, 2, "tanh", dtype=dtype)], (4,), steps=2),
            _normalization_case(
                "BatchNorm(5), torch's defaults (momentum 0.1, ε 1e-5) → Dense(5, 2, "
                "sigmoid): 3 training steps, then inference",
                lambda dtype: [BatchNormalization(5, dtype=dtype),
                               Dense(5, 2, "sigmoid", dtype=dtype)], (5,)),
            _normalization_case(
                "Conv2D(2 → 3, 3×3 'same') → BatchNorm(3) per channel (torch's BatchNorm2d), "
                "momentum 0.9 → Flatten → Dense(48, 2): 2 training steps, then inference",
                lambda dtype: [_conv2d(2, 3, 3, padding="same", activation="tanh",
                                       dtype=dtype),
                               BatchNormalization(3, 0.9, convention="keras", dtype=dtype),
                               Flatten(), Dense(48, 2, dtype=dtype)], (4, 4, 2), steps=2),
            _normalization_case(
                "Conv2D(use_bias=False) → BatchNorm(3, scale=False) → ReLU (InceptionV3's): "
                "no γ, torch's weight frozen at 1 → Flatten → Dense(12, 2): 2 training steps, "
                "then inference",
                lambda dtype: [_conv2d(2, 3, 3, use_bias=False, dtype=dtype),
                               BatchNormalization(3, scale=False, convention="keras",
                                                  dtype=dtype),
                               ReLU(), Flatten(), Dense(12, 2, dtype=dtype)], (4, 4, 2),
                steps=2),
            _normalization_case(
                "Dense(4, 5, use_bias=False) → BatchNorm(5, center=False), Keras's "
                "convention: no β, torch's bias frozen at 0 → sigmoid → Dense(5, 2, tanh): 2 "
                "training steps, then inference",
                lambda dtype: [Dense(4, 5, use_bias=False, dtype=dtype),
                               BatchNormalization(5, center=False, convention="keras",
                                                  dtype=dtype),
                               Activation("sigmoid"), Dense(5, 2, "tanh", dtype=dtype)], (4,),
                steps=2),
        ),
    ))
    concepts.append(Concept(
        name="LayerNormalization", module="normalization",
        summary=_first_line(LayerNormalization.__doc__), notes=(),
        cases=(
            _normalization_case(
                "Dense(4, 5, softplus) → LayerNorm(5), Keras's ε 1e-3 → Dense(5, 2)",
                lambda dtype: [Dense(4, 5, "softplus", dtype=dtype),
                               LayerNormalization(5, convention="keras", dtype=dtype),
                               Dense(5, 2, dtype=dtype)], (4,), steps=1),
            _normalization_case(
                "LayerNorm(6) on (N, 2, 6), torch's ε 1e-5: each position alone",
                lambda dtype: [LayerNormalization(6, dtype=dtype)], (2, 6), steps=1),
        ),
    ))
    concepts += _convolution_concepts()
    concepts += _activation_layer_concepts()
    concepts += _upsampling_concepts()
    concepts += _shape_concepts()
    concepts += _sequence_concepts()
    concepts += _bidirectional_concepts()
    concepts += _learning_concepts()
    concepts += _graph_concepts()
    concepts = _with_uneven_transpose_graph(concepts)
    concepts = _with_attention_head_widths(concepts)
    concepts += _autodiff_concepts({c.name: c for c in concepts})
    return tuple(concepts)


def _graph_case(label: str, build: Callable[[np.dtype], tuple], loss: str,
                tied: bool = False) -> Case:
    """A graph model: ``build(dtype)`` gives (Model, how to draw its inputs); each Dense gets
    a random bias and each BatchNormalization random statistics, so that each matters.
    Data keys as a model case's, ``x`` and ``y_true`` a list per input and output when
    the model's are lists; the loss is summed over the outputs. ``tied``: the inputs
    share every other entry with the first (Maximum's ties). An attention mask input
    (``Model.input_kind``) is a padding mask."""
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        model, weights = build(dtype), np.random.default_rng(int(rng.integers(2**31)))
        for layer in model.layers:
            layer.initialize(weights)
            for name, value in {**layer.parameters, **layer.state}.items():
                if name in ("b", "beta", "moving_mean") or name.endswith("_bias"):
                    layer.set(name, rng.uniform(-0.5, 0.5, value.shape).astype(dtype))
                elif name in ("gamma", "moving_variance"):
                    layer.set(name, rng.uniform(0.5, 1.5, value.shape).astype(dtype))
        xs = [_padding_mask(batch, t.shape) if model.input_kind(t) == "mask" else
              rng.standard_normal((batch, *t.shape)).astype(dtype) for t in model.inputs]
        if tied:
            for x in xs[1:]:
                x[..., ::2] = xs[0][..., ::2]
        ys = [_targets(loss, rng, batch, int(np.prod(t.shape)), dtype).reshape(batch, *t.shape)
              for t in model.outputs]
        return {"model": model, "x": xs if model.input_list else xs[0],
                "y_true": ys if model.output_list else ys[0], "loss": loss}
    return Case(label, make, gradcheck=not tied)


def _graph_training_case(label: str, build: Callable[[np.dtype], object], optimizer: object,
                         epochs: int, batch_size: int | None) -> Case:
    """A training run of a graph of one output (the training module's keys; X a list for
    a graph of several inputs)."""
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        data = _graph_case(label, build, "mean_squared_error").make(rng, dtype, 2 * batch + 6)
        return {"model": data["model"], "X": data["x"], "Y": data["y_true"],
                "loss": "mean_squared_error", "optimizer": optimizer, "epochs": epochs,
                "batch_size": batch_size, "seed": 0}
    return Case(label, make)


def _graph_concepts() -> list[Concept]:
    """The merge layers and graph models (``reference.merging``, ``reference.graphs``)."""
    from reference import merging, optimizers
    from reference.graphs import Input, Model

    def branches(kind: type, count: int):
        def build(dtype: np.dtype) -> Model:
            x = Input((4,), name="x")
            hs = [Dense(4, 3, a, dtype=dtype, name=f"branch{k}")(x)
                  for k, a in enumerate(("tanh", "identity", "sigmoid")[:count])]
            merged = kind(name="merge")(hs)
            return Model(x, Dense(merged.shape[0], 2, dtype=dtype, name="head")(merged))
        return build

    def gate(dtype: np.dtype) -> Model:
        x = Input((4,), name="x")
        gated = merging.Multiply(name="gate")([Dense(4, 3, "sigmoid", dtype=dtype, name="g")(x),
                                               Dense(4, 3, "tanh", dtype=dtype, name="v")(x)])
        return Model(x, Dense(3, 2, dtype=dtype, name="head")(gated))

    def difference(dtype: np.dtype) -> Model:
        a, b = Input((4,), name="a"), Input((3,), name="b")
        d = merging.Subtract(name="d")([Dense(4, 3, "tanh", dtype=dtype, name="fa")(a),
                                        Dense(3, 3, dtype=dtype, name="fb")(b)])
        return Model([a, b], Dense(3, 2, dtype=dtype, name="head")(d))

    def tied_maximum(dtype: np.dtype) -> Model:
        xs = [Input((5,), name=f"x{k}") for k in range(3)]
        return Model(xs, Dense(5, 2, dtype=dtype, name="head")(merging.Maximum(name="max")(xs)))

    def feature_maps(axis: int):
        def build(dtype: np.dtype) -> Model:
            x = Input((5, 4, 2), name="image")
            wide = _conv2d(2, 3, 3, padding="same", activation="tanh", dtype=dtype,
                           name="wide")(x)
            narrow = _conv2d(2, 3 if axis != -1 else 2, 1, dtype=dtype, name="narrow")(x)
            joined = merging.Concatenate(axis, name="joined")([wide, narrow])
            flat = Flatten(dtype=dtype, name="flat")(joined)
            return Model(x, Dense(flat.shape[0], 2, dtype=dtype, name="head")(flat))
        return build

    def residual(dtype: np.dtype) -> Model:
        x = Input((4,), name="x")
        h = Dense(4, 4, "relu", dtype=dtype, name="h")(x)
        h = Dense(4, 4, dtype=dtype, name="h2")(h)
        y = merging.Add(name="residual")([x, h])
        return Model(x, Dense(4, 2, dtype=dtype, name="head")(y))

    def two_in_two_out(dtype: np.dtype) -> Model:
        a, b = Input((4,), name="a"), Input((3,), name="b")
        ha = Dense(4, 5, "tanh", dtype=dtype, name="ha")(a)
        hb = Dense(3, 2, "elu", dtype=dtype, name="hb")(b)
        joined = merging.Concatenate(name="joined")([ha, hb])
        return Model([a, b], [Dense(7, 2, dtype=dtype, name="out")(joined),
                              Dense(2, 1, "sigmoid", dtype=dtype, name="side")(hb)])

    def conv_block(dtype: np.dtype) -> Model:
        x = Input((5, 5, 2), name="image")
        h = _conv2d(2, 4, 3, padding="same", dtype=dtype, name="conv")(x)
        h = BatchNormalization(4, convention="keras", dtype=dtype, name="bn")(h)
        h = Activation("relu", dtype=dtype, name="relu")(h)
        joined = merging.Concatenate(name="skip")([h, x])
        flat = Flatten(dtype=dtype, name="flat")(joined)
        return Model(x, Dense(flat.shape[0], 3, dtype=dtype, name="head")(flat))

    def summary(cls: type) -> str:
        return _first_line(cls.__doc__)

    merge_concepts = [
        ("Add", (_graph_case("three Dense branches of x added → Dense",
                             branches(merging.Add, 3), "mean_squared_error"),)),
        ("Subtract", (_graph_case("Dense(a) − Dense(b), two inputs → Dense", difference,
                                  "mean_squared_error"),)),
        ("Multiply", (_graph_case("a gate: sigmoid branch ⊙ tanh branch → Dense", gate,
                                  "mean_squared_error"),)),
        ("Average", (_graph_case("three Dense branches averaged → Dense",
                                 branches(merging.Average, 3), "mean_squared_error"),)),
        ("Maximum", (_graph_case("three inputs sharing every other entry (ties) → Dense",
                                 tied_maximum, "mean_squared_error", tied=True),)),
        ("Concatenate", (
            _graph_case("two Dense branches joined on the last axis → Dense",
                        branches(merging.Concatenate, 2), "mean_squared_error"),
            _graph_case("two Conv2D feature maps joined on the channels (axis=-1, torch's "
                        "dim=1) → Flatten → Dense", feature_maps(-1), "mean_squared_error"),
            _graph_case("two Conv2D feature maps joined on the rows (axis=1, torch's dim=2) "
                        "→ Flatten → Dense", feature_maps(1), "mean_squared_error"),
        )),
    ]
    return [
        *(Concept(name=name, module="merging", summary=summary(getattr(merging, name)),
                  notes=(), cases=cases) for name, cases in merge_concepts),
        Concept(name="Model", module="graphs", summary=summary(Model), notes=(), cases=(
            _graph_case("a residual Dense block: x + Dense(relu(Dense(x))) → Dense", residual,
                        "mean_squared_error"),
            _graph_case("two inputs, two outputs, a branch used twice", two_in_two_out,
                        "mean_squared_error"),
            _graph_case("Conv2D → BatchNorm (inference) → ReLU, concatenated with the image "
                        "on the channels → Flatten → Dense", conv_block, "mean_squared_error"),
            _graph_case("three Dense branches averaged → Dense", branches(merging.Average, 3),
                        "mean_squared_error"),
            _graph_training_case("the residual block, 3 epochs of SGD(0.1) on batches of 4",
                                 residual, optimizers.SGD(0.1), 3, 4),
            _graph_training_case("the residual block, 2 epochs of Adam(0.01), full batch",
                                 residual, optimizers.Adam(0.01), 2, None),
            *_digit_resnet_cases(),
            *_digit_unet_cases(),
            *_digit_vae_cases(),
            _two_loss_training_case(),
            *_cross_attention_cases(),
            *_transformer_cases(),
        )),
    ]


def _digit_unet_cases() -> tuple[Case, ...]:
    """The digits' small U-Net (``reference.digits.digit_unet``) reconstructing 8×8
    generated digits: forward and gradients, and a short Adam run."""
    from reference import optimizers
    from reference.digits import digit_unet
    from reference.graphs import Model

    def unet(dtype: np.dtype) -> Model:
        return digit_unet(dtype, seed=None)

    label = ("the digits' small U-Net on 8×8 generated digits: Conv2D → MaxPool → Conv2D → "
             "Conv2DTranspose (2×2, stride 2) → Concatenate skip → 1×1 Conv2D "
             "sigmoid, reconstructing the image")
    graph = _graph_case(label, unet, "mean_squared_error")

    def forward(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        data = graph.make(rng, dtype, batch)
        images, _ = _coarse_digits(rng, batch, dtype)
        data["x"], data["y_true"] = images, images.reshape(batch, -1)
        return data

    def training(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        model = graph.make(rng, dtype, 1)["model"]
        images, _ = _coarse_digits(rng, 2 * batch + 6, dtype)
        return {"model": model, "X": images, "Y": images.reshape(len(images), -1),
                "loss": "mean_squared_error", "optimizer": optimizers.Adam(0.01), "epochs": 3,
                "batch_size": None, "seed": 0}

    return (Case(label, forward),
            Case("the small U-Net, 3 steps of Adam(0.01) on full batches of digits",
                 training, batched=False))  # one data size, as the ResNet's run


def _two_loss_training_case() -> Case:
    """``fit`` on a graph of two inputs and two outputs, a loss per output with Keras's
    ``loss_weights``: L = MSE(y₀, ŷ₀) + 0.5 · BCE(y₁, ŷ₁)."""
    from reference import merging, optimizers
    from reference.graphs import Input, Model

    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        a, b = Input((4,), name="a"), Input((3,), name="b")
        ha = Dense(4, 5, "tanh", dtype=dtype, name="ha")(a)
        hb = Dense(3, 2, "elu", dtype=dtype, name="hb")(b)
        joined = merging.Concatenate(name="joined")([ha, hb])
        model = Model([a, b], [Dense(7, 2, dtype=dtype, name="out")(joined),
                               Dense(2, 1, "sigmoid", dtype=dtype, name="side")(hb)],
                      seed=int(rng.integers(2**31)))
        n = 2 * batch + 6
        return {"model": model, "X": [rng.standard_normal((n, 4)).astype(dtype),
                                      rng.standard_normal((n, 3)).astype(dtype)],
                "Y": [rng.standard_normal((n, 2)).astype(dtype),
                      rng.integers(0, 2, (n, 1)).astype(dtype)],
                "loss": ["mean_squared_error", "binary_cross_entropy"],
                "loss_weights": [1.0, 0.5], "optimizer": optimizers.Adam(0.01), "epochs": 2,
                "batch_size": 4, "seed": 0}
    return Case("two inputs, two outputs, a loss per output weighted [1, 0.5]: 2 epochs of "
                "Adam(0.01) on batches of 4", make)


def _digit_vae_cases() -> tuple[Case, ...]:
    """The course's variational autoencoder (``reference.digits.digit_vae``) on 8×8
    generated digits, the noise ε an input of the graph (drawn once per row, as Dropout's
    mask is injected): forward and gradients through the sampling step, and short runs of
    reconstruction + KL (``fit(..., kl=(1, 2))``)."""
    from reference import optimizers
    from reference.digits import digit_vae
    from reference.graphs import Model

    def vae(dtype: np.dtype) -> Model:
        return digit_vae(dtype, seed=None)

    label = ("the digits' variational autoencoder on 8×8 generated digits: Conv2D stride 2 → "
             "Dense → z_mean, z_log_var → z = z_mean + exp(½ z_log_var) ⊙ ε (Rescaling → "
             "Activation exponential → Multiply → Add, ε an input) → Dense → Reshape → "
             "Conv2DTranspose (3×3, stride 2) sigmoid; MSE on each output")
    graph = _graph_case(label, vae, "mean_squared_error")

    def forward(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        data = graph.make(rng, dtype, batch)
        data["x"][0], _ = _coarse_digits(rng, batch, dtype)
        return data

    def run(optimizer: object, epochs: int, batch_size: int | None) -> Make:
        def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
            model = graph.make(rng, dtype, 1)["model"]
            images, _ = _coarse_digits(rng, 2 * batch + 6, dtype)
            noise = rng.standard_normal((len(images), 2)).astype(dtype)
            return {"model": model, "X": [images, noise], "Y": images.reshape(len(images), -1),
                    "loss": "binary_cross_entropy", "kl": (1, 2), "optimizer": optimizer,
                    "epochs": epochs, "batch_size": batch_size, "seed": 0}
        return make

    return (
        Case(label, forward),
        Case("the digits' variational autoencoder, reconstruction (binary cross-entropy) + "
             "KL: 3 steps of Adam(0.01) on full batches", run(optimizers.Adam(0.01), 3, None),
             batched=False),
        Case("the digits' variational autoencoder, reconstruction + KL: 2 epochs of SGD(0.1) "
             "on batches of 4", run(optimizers.SGD(0.1), 2, 4), batched=False),
    )


def _coarse_digits(rng: np.random.Generator, n: int, dtype: np.dtype
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` generated digits at 8×8 (every third pixel of the central 24×24) and their
    one-hot labels."""
    from reference import digits

    images, labels = digits.images(n, rng, dtype)
    return np.ascontiguousarray(images[:, 2:26:3, 2:26:3]), _one_hot(labels, 10, dtype)


def _digit_resnet_cases() -> tuple[Case, ...]:
    """The digits' small ResNet (``reference.digits.digit_resnet``) as a graph case: forward
    and gradients in inference, and a short Adam run on batch statistics."""
    from reference import optimizers
    from reference.digits import digit_resnet
    from reference.graphs import Model

    def small_resnet(dtype: np.dtype) -> Model:
        # widths of 8 and more: at widths 2, 3 torch 2.13 corrupted the heap in float32
        # training on an AVX2 CPU, in oneDNN's backward of the projection shortcut (a
        # strided 1×1 convolution of 2 channels: with oneDNN off, or off for that module
        # only, it ran), as oneDNN issue #6035 describes for fewer than 8 input channels
        return digit_resnet(dtype, seed=None, widths=(8, 12), size=8)

    label = ("the digits' small ResNet on 8×8 generated digits (widths 8, 12): bias-free "
             "convolutions, BatchNorm, an identity and a projection shortcut")
    graph = _graph_case(label, small_resnet, "categorical_cross_entropy")

    def forward(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        data = graph.make(rng, dtype, batch)
        data["x"], data["y_true"] = _coarse_digits(rng, batch, dtype)
        return data

    def training(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        model = graph.make(rng, dtype, 1)["model"]
        X, Y = _coarse_digits(rng, 2 * batch + 6, dtype)
        return {"model": model, "X": X, "Y": Y, "loss": "categorical_cross_entropy",
                "optimizer": optimizers.Adam(0.01), "epochs": 3, "batch_size": None,
                "seed": 0}

    # 3 000 weights: no finite differences here (reference/tests/test_digit_resnet.py);
    # the run at one data size (batched=False): the suite's time goes to compiling its step
    return (Case(label, forward, gradcheck=False),
            Case("the small ResNet, 3 steps of Adam(0.01) on full batches of digits: "
                 "BatchNorm on batch statistics", training, batched=False))


def _cross_attention_cases() -> tuple[Case, ...]:
    """Graphs whose MultiHeadAttention takes a list: a query sequence attending to another
    sequence, without and with a key of its own and the causal mask."""
    from reference.graphs import Input, Model

    def cross(dtype: np.dtype) -> Model:
        query, memory = Input((4, 6), name="query"), Input((5, 6), name="memory")
        attended = MultiHeadAttention(6, 2, dtype=dtype, name="cross")([query, memory])
        return Model([query, memory], attended)

    def causal_with_key(dtype: np.dtype) -> Model:
        query, value, key = (Input((4, 6), name="query"), Input((5, 4), name="value"),
                             Input((5, 3), name="key"))
        attended = MultiHeadAttention(6, 3, key_features=3, value_features=4,
                                      use_causal_mask=True, dtype=dtype,
                                      name="cross")([query, value, key])
        return Model([query, value, key], attended)

    return (
        _graph_case("cross-attention: a query (T = 4) attends to a memory (S = 5), "
                    "MultiHeadAttention(6, 2)([query, memory])", cross, "mean_squared_error"),
        _graph_case("cross-attention with a key of its own, key and value of other widths "
                    "(torch's kdim 3, vdim 4) and use_causal_mask (query t sees keys 0 … t): "
                    "MultiHeadAttention(6, 3)([query, value, key])",
                    causal_with_key, "mean_squared_error"),
    )


def _padding_mask(batch: int, shape: tuple[int, ...]) -> np.ndarray:
    """An attention mask (N, T, S): every other sample's last key is padding, which no
    query attends to."""
    mask = np.ones((batch, *shape), bool)
    mask[::2, :, -1] = False
    return mask


def _transformer_cases() -> tuple[Case, ...]:
    """The Transformer encoder block (``reference.transformer.encoder_block``): forward and
    gradients with a padding mask, an input of the graph; short SGD runs of the block
    with a causal mask and with the padding mask (``fit`` takes X = [x, mask]).

    The run's heads are 4 wide, so that Keras's scale 1/√4, rounded to float32 on the TF
    backend, is exact: with heads of 3 the converter folds s / fl32(s) into the query
    kernel, exact for one forward and backward but not for the steps taken on the folded
    kernel. SGD, not Adam: the key bias's gradient is exactly 0 (a constant added to every
    score of a query row cancels in its softmax), so in float32 it is rounding noise,
    which Adam's m / √v scales up to steps of η."""
    from reference import optimizers
    from reference.graphs import Model
    from reference.transformer import encoder_block

    def padded(dtype: np.dtype) -> Model:
        return encoder_block(padding_mask=True, dtype=dtype, seed=None)

    def causal(dtype: np.dtype) -> Model:
        return encoder_block(embed_dim=8, num_heads=2, causal=True, dtype=dtype, seed=None)

    def padded_run(dtype: np.dtype) -> Model:
        return encoder_block(embed_dim=8, num_heads=2, padding_mask=True, dtype=dtype,
                             seed=None)

    return (
        _graph_case("a Transformer encoder block (T = 5, E = 6, 2 heads, feed-forward 8): "
                    "self-attention with a padding mask (an input) → Add → LayerNorm → "
                    "Dense relu → Dense → Add → LayerNorm", padded, "mean_squared_error"),
        replace(_graph_training_case("the Transformer encoder block (E = 8, heads of 4) with "
                                     "a causal mask, 3 steps of SGD(0.1) on full batches",
                                     causal, optimizers.SGD(0.1), 3, None),
                batched=False),  # one data size, as the ResNet's run
        replace(_graph_training_case("the Transformer encoder block (E = 8, heads of 4) with "
                                     "a padding mask, X = [x, mask]: 3 steps of SGD(0.1) on "
                                     "full batches", padded_run, optimizers.SGD(0.1), 3, None),
                batched=False),
    )


def _with_attention_head_widths(concepts: list[Concept]) -> list[Concept]:
    """MultiHeadAttention's and Model's concepts with cases whose heads are not E/H wide
    (Keras's ``key_dim``; keras.io's Transformer has heads as wide as the embedding), which
    torch computes with four ``nn.Linear`` and ``F.scaled_dot_product_attention``
    (``torch_impl.sequences.MultiHeadAttention``): self-attention in a Sequential,
    cross-attention in a graph, each without and with the causal mask. Heads of 5 in
    float64 carry Keras's scale 1/√5 rounded to float32 (``reference.layouts``)."""
    from reference.graphs import Input, Model

    def self_attention(label: str, key_dim: int, mask: str | None) -> Case:
        def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
            steps = 4
            layer = MultiHeadAttention(6, 2, key_dim=key_dim, dtype=dtype,
                                       use_causal_mask=mask == "use_causal_mask")
            model = Sequential([layer], input_shape=(steps, 6), seed=int(rng.integers(2**31)))
            for name in ("query_bias", "key_bias", "value_bias"):
                layer.set(name, rng.uniform(-0.5, 0.5, (2, key_dim)).astype(dtype))
            layer.set("output_bias", rng.uniform(-0.5, 0.5, 6).astype(dtype))
            if mask == "padding":
                layer.mask = _padding_mask(batch, (steps, steps))
            return {"model": model, "x": rng.standard_normal((batch, steps, 6)).astype(dtype),
                    "loss": "mean_squared_error",
                    "y_true": rng.standard_normal((batch, steps, 6)).astype(dtype)}
        return Case(label, make)

    def cross(dtype: np.dtype) -> Model:
        query, memory = Input((4, 6), name="query"), Input((5, 6), name="memory")
        attended = MultiHeadAttention(6, 2, key_dim=4, dtype=dtype, name="cross")(
            [query, memory])
        return Model([query, memory], attended)

    def causal_with_key(dtype: np.dtype) -> Model:
        query, value, key = (Input((4, 6), name="query"), Input((5, 4), name="value"),
                             Input((5, 3), name="key"))
        attended = MultiHeadAttention(6, 3, key_dim=5, key_features=3, value_features=4,
                                      use_causal_mask=True, dtype=dtype,
                                      name="cross")([query, value, key])
        return Model([query, value, key], attended)

    extra = {
        "MultiHeadAttention": (
            self_attention("MultiHeadAttention(6, 2, key_dim=4), T = 4: heads wider than "
                           "E/H", 4, None),
            self_attention("MultiHeadAttention(6, 2, key_dim=5, use_causal_mask=True), "
                           "T = 4", 5, "use_causal_mask"),
            self_attention("MultiHeadAttention(6, 2, key_dim=4), T = 4, last step padded in "
                           "every other sample", 4, "padding"),
        ),
        "Model": (
            _graph_case("cross-attention with heads wider than E/H: "
                        "MultiHeadAttention(6, 2, key_dim=4)([query, memory])", cross,
                        "mean_squared_error"),
            _graph_case("cross-attention with heads of 5 (E/H = 2), a key of its own, key "
                        "and value of other widths and use_causal_mask: "
                        "MultiHeadAttention(6, 3, key_dim=5)([query, value, key])",
                        causal_with_key, "mean_squared_error"),
        ),
    }
    return [replace(c, cases=(*c.cases, *extra[c.name])) if c.name in extra else c
            for c in concepts]


def _with_uneven_transpose_graph(concepts: list[Concept]) -> list[Concept]:
    """Model's concept with a 3×3 stride-2 "same" Conv2DTranspose inside a graph: Keras
    crops its odd cell at the end, which torch writes as ``nn.ConvTranspose2d``, a crop
    module and the activation in one named ``nn.Sequential`` (conventions.md §12)."""
    from reference import merging
    from reference.convolution import Conv2DTranspose, UpSampling2D
    from reference.graphs import Input, Model

    def upsampled(dtype: np.dtype) -> Model:
        x = Input((4, 5, 2), name="image")
        up = Conv2DTranspose(2, 3, 3, strides=2, padding="same", activation="tanh",
                             dtype=dtype, name="up")(x)
        joined = merging.Concatenate(name="joined")([up, UpSampling2D(2, name="skip")(x)])
        flat = Flatten(dtype=dtype, name="flat")(joined)
        return Model(x, Dense(flat.shape[0], 2, dtype=dtype, name="head")(flat))

    case = _graph_case("Conv2DTranspose 3×3 stride 2 'same' (Keras crops (0, 1): torch's "
                       "ConvTranspose2d then a crop) concatenated with UpSampling2D(2) of "
                       "the image → Flatten → Dense", upsampled, "mean_squared_error")
    return [replace(c, cases=(*c.cases, case)) if c.name == "Model" else c for c in concepts]


def _autodiff_concepts(spec: dict[str, Concept]) -> list[Concept]:
    """The computational graph's concepts, on the inputs of the concepts above.

    The frameworks' Jacobians cost one backward pass per row, so the Jacobian and
    Hessian concepts take a few small cases; ``reference/tests/test_autodiff.py`` runs
    the chain rule and the finite-difference checks on every network.
    """
    from reference import autodiff

    dense = {case.label: case for case in spec["Dense"].cases}
    networks = spec["Sequential"].cases
    jacobian_cases = (
        _with_inputs(spec["softmax"].cases[0], of="softmax"),
        *(_with_inputs(dense[f"Dense(4, 3, {a})"], of="model")
          for a in ("tanh", "relu", "softmax")),
    )
    hessian_cases = (
        *(_with_inputs(spec[name].cases[0], loss=name) for name in (
            "binary_cross_entropy_with_logits", "categorical_cross_entropy_with_logits")),
        networks[0],
    )
    return [
        Concept(name="jacobian", module="autodiff", summary=_first_line(autodiff.jacobian.__doc__),
                notes=("001",), cases=jacobian_cases),
        Concept(name="layer_jacobians", module="autodiff",
                summary=_first_line(autodiff.layer_jacobians.__doc__),
                notes=("001", "003", "004"), cases=networks[:1]),
        Concept(name="hessian", module="autodiff", summary=_first_line(autodiff.hessian.__doc__),
                notes=(), cases=hessian_cases),
        Concept(name="network_gradients", module="autodiff",
                summary=_first_line(autodiff.network_gradients.__doc__),
                notes=("000", "002", "004"), cases=networks),
    ]


def _extreme_activation_case(name: str) -> Case:
    # e^z leaves float32's range past 88.7: the exponential's extremes stop at ±80
    high = 80.0 if name == "exponential" else 1e4

    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        z = _spread(rng, (batch, int(rng.integers(2, 8))), high=np.log10(high))
        return {"z": (_away_from_zero(z) if name in _KINKED else z).astype(dtype), "params": {}}
    return Case(f"{name}, z up to ±{'80' if name == 'exponential' else '1e4'}", make,
                extreme=True)


def _saturated(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Probabilities with exact 0s and 1s: softmax of logits up to ±1e4 (rows of one-hot
    vectors, in floating point), every other row an interior one."""
    p = activations.softmax(_spread(rng, shape))
    p[1::2] = _probabilities(rng, p[1::2].shape)
    return p


def _extreme_loss_case(name: str, kind: str) -> Case:
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        shape = (batch, int(rng.integers(2, 6)))
        classes = rng.integers(0, shape[1], size=batch)
        y_true, y_pred = {
            "regression": lambda: (_spread(rng, shape), _spread(rng, shape)),
            "positive": lambda: (np.abs(_spread(rng, shape)), np.abs(_spread(rng, shape))),
            "binary": lambda: (rng.integers(0, 2, shape),
                               rng.choice([0.0, 1.0, 0.3, 0.7], shape)),
            "binary_logits": lambda: (rng.uniform(0.0, 1.0, shape), _spread(rng, shape)),
            "categorical": lambda: (_one_hot(classes, shape[1], dtype), _saturated(rng, shape)),
            "categorical_logits": lambda: (_one_hot(classes, shape[1], dtype),
                                           _spread(rng, shape)),
            "sparse": lambda: (classes, _saturated(rng, shape)),
            "sparse_logits": lambda: (classes, _spread(rng, shape)),
        }[kind]()
        y_true = y_true if kind.startswith("sparse") else y_true.astype(dtype)
        return {"y_true": y_true, "y_pred": y_pred.astype(dtype)}
    saturated = kind in ("binary", "categorical", "sparse")
    label = ("probabilities of exactly 0 and 1" if saturated else
             "values from 1e-4 to 1e4" if kind == "positive" else "values up to ±1e4")
    return Case(f"{name}, {label}", make, gradcheck=not saturated, extreme=True)


def _extreme_model_case(activation: str) -> Case:
    """Dense(4, 3) whose pre-activations reach ±1e4 through its bias, scored by binary
    cross-entropy with logits.

    Both choices keep the problem well-conditioned, so that parity is a fair test: a bias
    makes z large without cancellation inside x W, and this loss's gradient σ(ŷ) − y stays
    bounded. (With MSE, dL/dŷ ≈ 2ŷ/n would be ~1e3 and nearly equal across the batch, and
    dL/dW = xᵀ δ would cancel it down to O(1), amplifying float32 rounding ~1e3-fold.)
    """
    def make(rng: np.random.Generator, dtype: np.dtype, batch: int) -> dict:
        layer = Dense(4, 3, activation, dtype=dtype, seed=int(rng.integers(2**31)))
        layer.b = _spread(rng, (3,)).astype(dtype)
        return {"model": Sequential([layer]), "x": rng.standard_normal((batch, 4)).astype(dtype),
                "y_true": rng.integers(0, 2, (batch, 3)).astype(dtype),
                "loss": "binary_cross_entropy_with_logits"}
    return Case(f"Dense(4, 3, {activation}), pre-activations up to ±1e4", make, extreme=True)


def _with_extreme_cases(concept: Concept) -> Concept:
    """The concept with its numerical-extremes case appended (none for networks)."""
    if concept.module == "activations":
        extra = (_extreme_activation_case(concept.name),)
    elif concept.module == "losses" and concept.name in _LOSSES:
        extra = (_extreme_loss_case(concept.name, _LOSSES[concept.name][0]),)
    elif concept.name == "Dense":
        # a pre-activation of 1e4 has no finite exponential: the activation's own case
        extra = tuple(_extreme_model_case(a) for a in activations.NAMES
                      if a not in ("step", "exponential"))
    else:
        extra = ()
    return replace(concept, cases=concept.cases + extra)


CONCEPTS: tuple[Concept, ...] = tuple(_with_extreme_cases(c) for c in _build())


def spec_results(concept: Concept, data: dict) -> list[np.ndarray]:
    """What the spec computes on a case of a hand-differentiated module, in a fixed order:
    an activation's φ(z) and vjp with an upstream of ones; a loss and its gradient; a
    model's output, loss, dL/dx and every (dL/dW, dL/db)."""
    from reference import losses

    if concept.module == "activations":
        act = activations.get(concept.name, **data["params"])
        return [act(data["z"]), act.vjp(data["z"], np.ones_like(data["z"]))]
    if concept.module == "losses":
        y_true, y_pred = data["y_true"], data["y_pred"]
        return [np.asarray(losses.get(concept.name)(y_true, y_pred)),
                losses.gradient(concept.name)(y_true, y_pred)]
    if concept.module in ("layers", "networks", "convolution", "normalization", "sequences"):
        model, y_true = data["model"], data["y_true"]
        output = model.forward(data["x"], training=data.get("training", False))
        dx = model.backward(losses.gradient(data["loss"])(y_true, output))
        return [output, np.asarray(losses.get(data["loss"])(y_true, output)),
                *([] if dx is None else [dx]),  # None: integer indices in (an Embedding)
                *(g for pair in model.grads for g in pair)]
    raise ValueError(f"{concept.name}: module {concept.module!r} has no hand-written "
                     f"derivatives (see HAND_DIFFERENTIATED)")


def concepts(module: str | None = None) -> tuple[Concept, ...]:
    """All concepts, or those of one module."""
    return tuple(c for c in CONCEPTS if module is None or c.module == module)


def concept(name: str) -> Concept:
    """The concept called ``name``."""
    for c in CONCEPTS:
        if c.name == name:
            return c
    raise KeyError(f"no concept named {name!r}")
