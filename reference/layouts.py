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
    Flatten lies directly below it (parameter-free layers between them allowed), the
    per-sample shape that Flatten flattened."""

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
        WeightRow("W", "weight", "kernel", to_torch=TRANSPOSE,
                  note="spec and Keras (in, out), torch (out, in): y = x Wᵀ + b"),
        WeightRow("b", "bias", "bias"),
    ), note="the activation is a separate module in torch (nn.Sigmoid …), an argument in "
            "Keras"),
    Layout("Flatten", "nn.Flatten", "keras.layers.Flatten",
           note="after a convolution the feature order differs ((h, w, c) in Keras and the "
                "spec, (c, h, w) in torch), so the next Dense kernel's rows are permuted"),
    Layout("Dropout", "nn.Dropout", "keras.layers.Dropout",
           note="torch's p and Keras's rate are the same drop probability; a torch module "
                "starts in training mode, a Keras layer called directly runs in inference"),
    Layout("BatchNormalization", "nn.BatchNorm1d", "keras.layers.BatchNormalization", (
        WeightRow("gamma", "weight", "gamma"),
        WeightRow("beta", "bias", "beta"),
        WeightRow("moving_mean", "running_mean", "moving_mean", trainable=False),
        WeightRow("moving_variance", "running_var", "moving_variance", trainable=False,
                  note="as is: both normalise with the stored value at inference; torch "
                       "averages the unbiased batch variance into it, Keras the biased one, "
                       "so the two part only in how training updates it"),
    ), note="momentum: torch's weights the new value (0.1), Keras's the old (0.99): "
            "m_torch = 1 − m_keras; ε 1e-5 against 1e-3"),
    Layout("LayerNormalization", "nn.LayerNorm", "keras.layers.LayerNormalization", (
        WeightRow("gamma", "weight", "gamma"),
        WeightRow("beta", "bias", "beta"),
    ), note="ε 1e-5 (torch) against 1e-3 (Keras)"),
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
    found, flattened = [], None
    for layer, shape in zip(layers, shapes, strict=False):
        found.append(Context(shape, flattened))
        if isinstance(layer, Flatten):
            flattened = shape
        elif layer.parameter_names:
            flattened = None  # a layer with weights in between: its rows are not permuted
    return found
