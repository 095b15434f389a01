"""Weight layouts as data: which torch parameter and which Keras weight each spec array
becomes, and by what transform.

One table per layer kind (``LAYOUTS``). A row names a spec parameter (or state array),
the torch attribute(s) and the Keras weight it maps to, and the transform from the spec's
layout to each framework's; every transform has its inverse, so conversion works both
ways and a round trip is exact. ``torch_impl.convert`` and ``tf_impl.convert`` are driven
by these tables, and the docs' weight-layout page is rendered from them.

A transform gets the array and a :class:`Context`: what the converter knows about where
the layer sits (its per-sample input shape, and the shape a Flatten below it flattened),
for the rows whose transform depends on it. A transform may also map one spec array to
several framework arrays (torch's two recurrent biases against Keras's one): ``forward``
returns a tuple, and ``inverse`` takes one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Arrays = np.ndarray | tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Context:
    """Where a layer sits: its per-sample input shape in the spec's layout, and, when a
    Flatten of a feature map (the output of a convolution or pooling layer, channels-last
    here, channels-first in torch) lies directly below it (parameter-free layers between
    them allowed), the per-sample shape that Flatten flattened."""

    input_shape: tuple[int, ...]
    flattened_from: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Transform:
    """A change of layout, spec → framework (``forward``) and back (``inverse``)."""

    name: str  # as the weight-layout page shows it
    forward: Callable[[np.ndarray, Context], Arrays]
    inverse: Callable[[Arrays, Context], np.ndarray]


def _same(array: Arrays, context: Context) -> Arrays:
    return array


def _transpose(array: np.ndarray, context: Context) -> np.ndarray:
    return np.ascontiguousarray(array.T)


SAME = Transform("as is", _same, _same)
TRANSPOSE = Transform("transpose", _transpose, _transpose)


def _channels_first_order(shape: tuple[int, ...]) -> np.ndarray:
    """For a flattened channels-last feature map of ``shape`` ((h, w, c) or (l, c)): the
    spec's feature index at each position of torch's channels-first order ((c, h, w))."""
    index = np.arange(int(np.prod(shape))).reshape(shape)
    return np.moveaxis(index, -1, 0).reshape(-1)


def _dense_to_torch(W: np.ndarray, context: Context) -> np.ndarray:
    if context.flattened_from is not None and len(context.flattened_from) > 1:
        W = W[_channels_first_order(context.flattened_from)]  # rows (h, w, c) → (c, h, w)
    return np.ascontiguousarray(W.T)


def _dense_from_torch(weight: np.ndarray, context: Context) -> np.ndarray:
    W = weight.T
    if context.flattened_from is not None and len(context.flattened_from) > 1:
        permuted, W = W, np.empty_like(W)
        W[_channels_first_order(context.flattened_from)] = permuted  # rows (c, h, w) → (h, w, c)
    return np.ascontiguousarray(W)


DENSE_TO_TORCH = Transform("transpose; after a Flatten of a feature map, rows permuted from "
                           "(h, w, c) to (c, h, w)", _dense_to_torch, _dense_from_torch)


def _axes(order: tuple[int, ...]) -> Transform:
    inverse = tuple(int(i) for i in np.argsort(order))
    return Transform(f"permute{order}",
                     lambda a, context: np.ascontiguousarray(a.transpose(order)),
                     lambda a, context: np.ascontiguousarray(a.transpose(inverse)))


def _depthwise_to_torch(W: np.ndarray, context: Context) -> np.ndarray:
    kh, kw, c, m = W.shape
    return np.ascontiguousarray(W.reshape(kh, kw, c * m).transpose(2, 0, 1)[:, None])


def _depthwise_from_torch(weight: np.ndarray, context: Context) -> np.ndarray:
    channels = context.input_shape[-1]
    _, _, kh, kw = weight.shape
    return np.ascontiguousarray(weight[:, 0].transpose(1, 2, 0).reshape(kh, kw, channels, -1))


KERNEL_2D = _axes((3, 2, 0, 1))  # (k_h, k_w, in, out) → (out, in, k_h, k_w)
KERNEL_1D = _axes((2, 1, 0))  # (k, in, out) → (out, in, k)
DEPTHWISE = Transform("reshape (k_h, k_w, C·M), permute(2, 0, 1), new axis 1",
                      _depthwise_to_torch, _depthwise_from_torch)


@dataclass(frozen=True)
class WeightRow:
    """One spec array and its counterparts.

    ``torch``: the attribute of the torch module that holds it (a tuple when a transform
    splits it); ``keras``: the Keras weight's name (``layer.kernel``, ``layer.bias``).
    ``trainable``: a parameter (True) or a state array such as a running mean (False).
    ``note``: the convention a porter must know, in a few words.
    """

    spec: str
    torch: str | tuple[str, ...]
    keras: str
    to_torch: Transform = SAME
    to_keras: Transform = SAME
    trainable: bool = True
    note: str = ""

    @property
    def torch_names(self) -> tuple[str, ...]:
        return self.torch if isinstance(self.torch, tuple) else (self.torch,)


@dataclass(frozen=True)
class Layout:
    """A spec layer kind, the torch module and Keras layer that mirror it, its rows."""

    kind: str
    torch_module: str
    keras_layer: str
    rows: tuple[WeightRow, ...] = ()
    note: str = ""


LAYOUTS: dict[str, Layout] = {layout.kind: layout for layout in (
    Layout("Dense", "nn.Linear", "keras.layers.Dense", (
        WeightRow("W", "weight", "kernel", to_torch=DENSE_TO_TORCH,
                  note="spec and Keras (in, out), torch (out, in): y = x Wᵀ + b; after a "
                       "Flatten of a feature map torch's inputs come (c, h, w), Keras's "
                       "(h, w, c)"),
        WeightRow("b", "bias", "bias"),
    ), note="the activation is a separate module in torch (nn.Sigmoid …), an argument in "
            "Keras"),
    Layout("Flatten", "nn.Flatten", "keras.layers.Flatten",
           note="after a convolution the feature order differs ((h, w, c) in Keras and the "
                "spec, (c, h, w) in torch), so the next Dense kernel's rows are permuted"),
    Layout("Conv2D", "nn.Conv2d", "keras.layers.Conv2D", (
        WeightRow("W", "weight", "kernel", to_torch=KERNEL_2D,
                  note="spec and Keras (k_h, k_w, in, out), torch (out, in, k_h, k_w)"),
        WeightRow("b", "bias", "bias"),
    ), note="data NHWC in Keras and the spec, NCHW in torch; TF's \"same\" padding at "
            "stride > 1 is F.pad with TF's amounts in torch"),
    Layout("Conv1D", "nn.Conv1d", "keras.layers.Conv1D", (
        WeightRow("W", "weight", "kernel", to_torch=KERNEL_1D,
                  note="spec and Keras (k, in, out), torch (out, in, k)"),
        WeightRow("b", "bias", "bias"),
    ), note="data (N, L, C) in Keras and the spec, (N, C, L) in torch"),
    Layout("DepthwiseConv2D", "nn.Conv2d(groups=C)", "keras.layers.DepthwiseConv2D", (
        WeightRow("W", "weight", "kernel", to_torch=DEPTHWISE,
                  note="spec and Keras (k_h, k_w, C, M), torch (C·M, 1, k_h, k_w); output "
                       "channel c·M + m in both"),
        WeightRow("b", "bias", "bias"),
    ), note="a grouped convolution with one group per input channel"),
    Layout("MaxPool2D", "nn.MaxPool2d", "keras.layers.MaxPooling2D",
           note="\"same\": TF pads with −∞ by its rule; torch pads symmetrically only, so "
                "F.pad(value=−inf) first"),
    Layout("AveragePool2D", "nn.AvgPool2d", "keras.layers.AveragePooling2D",
           note="\"same\": Keras leaves padded cells out of the divisor, torch counts them "
                "unless count_include_pad=False"),
    Layout("GlobalAveragePooling2D", "x.mean(dim=(2, 3))", "keras.layers.GlobalAveragePooling2D",
           note="the mean over H and W; torch's axes are 2 and 3 (NCHW)"),
    Layout("Dropout", "nn.Dropout", "keras.layers.Dropout",
           note="torch's p and Keras's rate are the same drop probability; a torch module "
                "starts in training mode, a Keras layer called directly runs in inference"),
)}


def layout(kind: str) -> Layout:
    """The table of a spec layer kind."""
    if kind not in LAYOUTS:
        raise KeyError(f"no weight layout for layer kind {kind!r}; the tables cover "
                       f"{', '.join(LAYOUTS)}")
    return LAYOUTS[kind]


def contexts(layers: list, input_shape: tuple[int, ...]) -> list[Context]:
    """The :class:`Context` of every layer of a spec Sequential (``layers``, whose input
    has per-sample shape ``input_shape``)."""
    from reference.layers import Flatten, layer_shapes

    shapes = layer_shapes(layers, input_shape)
    found, flattened, feature_map = [], None, False
    for layer, shape in zip(layers, shapes, strict=False):
        found.append(Context(shape, flattened))
        # Data is a channels-last feature map (channels-first in torch) from the first
        # convolution or pooling layer on, until a Flatten.
        feature_map = feature_map or getattr(layer, "channels_last", False)
        if isinstance(layer, Flatten):
            flattened, feature_map = (shape if feature_map else None), False
        elif layer.parameter_names:
            flattened = None  # a layer with weights in between: its rows are not permuted
    return found
