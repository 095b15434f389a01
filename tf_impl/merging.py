"""The spec's merge layers as Keras's own: ``keras.layers.Add``, ``Subtract``, ``Multiply``,
``Average``, ``Maximum`` and ``Concatenate(axis)``, called on a list of tensors.

The math is the spec's (``reference.merging``), checked with Keras 3.15 / TF 2.21:

* Average sums the inputs left to right, then divides by k (``average.py``), as the spec.
* Maximum folds ``ops.maximum`` over the list; TF's gradient of a tie goes to the first
  argument, so the first input holding the maximum gets all of g, as in the spec.
* Concatenate's ``axis`` counts the batch axis and defaults to -1: the channels of Keras's
  channels-last feature maps, the spec's layout too.

Where Keras is looser than the spec: it takes a list of one and broadcasts (N, 4) with
(N, 1) in the element-wise layers other than Multiply (whose broadcasting over inputs of
one rank the spec shares), and builds ``Concatenate(axis=0)``; the spec refuses all
three, and so a spec model never holds them. Each layer gets an explicit ``dtype`` and
the spec layer's name, so a graph's Keras layers are named as the spec's.

The rows below (``TRANSLATIONS``) are this file's part of
``tf_impl.convert.TRANSLATIONS``; a merge layer's ``call`` takes the list of inputs.

Shape:
    x_i: (N, *S) → (N, *S); Concatenate: (N, …, d_i, …) → (N, …, Σ d_i, …) along ``axis``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

import reference
from reference.layouts import Context
from tf_impl._table import Read, Translation


def _build(cls: type[keras.Layer]):
    def build(layer: reference.merging.Merge, context: Context, dtype: str
              ) -> list[keras.Layer]:
        return [cls(dtype=dtype, name=layer.name)]
    return build


def _read(kind: type[reference.merging.Merge]):
    def read(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
        return kind(name=layers[i].name), 1
    return read


def _read_concatenate(layers: Sequence[keras.Layer], i: int, where: str) -> Read:
    return reference.merging.Concatenate(int(layers[i].axis), name=layers[i].name), 1


TRANSLATIONS = (
    Translation("Add", _build(keras.layers.Add), _read(reference.merging.Add),
                (keras.layers.Add,), sequential=False),
    Translation("Subtract", _build(keras.layers.Subtract), _read(reference.merging.Subtract),
                (keras.layers.Subtract,), sequential=False),
    Translation("Multiply", _build(keras.layers.Multiply), _read(reference.merging.Multiply),
                (keras.layers.Multiply,), sequential=False),
    # Keras sums left to right, then divides by k: the spec's order
    Translation("Average", _build(keras.layers.Average), _read(reference.merging.Average),
                (keras.layers.Average,), sequential=False),
    # ops.maximum folded: a tie's gradient goes to the first input, as in the spec
    Translation("Maximum", _build(keras.layers.Maximum), _read(reference.merging.Maximum),
                (keras.layers.Maximum,), sequential=False),
    Translation("Concatenate",
                lambda layer, context, dtype: [keras.layers.Concatenate(
                    layer.axis, dtype=dtype, name=layer.name)],
                _read_concatenate, (keras.layers.Concatenate,), sequential=False),
)
