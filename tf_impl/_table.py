"""The shape of one row of the Keras translation table (``tf_impl.convert.TRANSLATIONS``).

Each concept file (``layers.py``, ``convolution.py``, ``normalization.py``,
``sequences.py``) fills rows for its spec layer kinds in a module-level ``TRANSLATIONS``
list; the converters (``tf_impl.convert``) and the port (``nn_rosetta.port_to_keras``)
walk them and know no kind by name. This module only defines the rows, so that the
concept files and the walkers can both import it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import keras

from reference.layers import Layer
from reference.layouts import Context


@dataclass(frozen=True)
class Template:
    """How one spec layer kind reads in Keras source code (``nn_rosetta.port_to_keras``).

    ``layer``: the constructor, a format string over the spec layer's ``config()`` and
    what ``arguments`` derives from it; the dtype is added as a keyword argument, and the
    layer's activation too where ``activation`` says the kind takes one (a Dense).
    ``note``: the comment on that line when it bridges a convention (same formatting),
    else "".
    """

    layer: str
    note: str = ""
    arguments: Callable[[Layer], dict[str, Any]] | None = None
    activation: bool = False

    def fields(self, layer: Layer) -> dict[str, Any]:
        return {**layer.config(), **(self.arguments(layer) if self.arguments else {})}


# What a row's ``read`` returns: the spec layer (its weights not yet copied) and how many
# Keras layers it took; ``None`` when the layers at that position are not this kind.
Read = tuple[Layer, int] | None


def _itself(layer: keras.Layer) -> keras.Layer:
    return layer


def _one_input(layer: keras.Layer, x: Any, **kwargs: Any) -> Any:
    return layer(x, **kwargs)


def _no_options(layer: Layer) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Translation:
    """One spec layer kind in Keras, both ways, and its port template.

    ``build(layer, context, dtype)``: the stock, built Keras layers that compute the spec
    ``layer`` (weights not yet copied; the first holds them); ``dtype``: the model's, for
    the layers without weights. ``read(layers, i, where)``: the spec layer made by
    ``layers[i:i + n]``, and n, or ``None`` when they are not this kind; ``where`` names
    the position in errors. ``reads``: the Keras classes a group of this kind begins with
    (the walker asks only those rows). ``holder``: the object the layout table's Keras
    weight names are attributes of (a recurrent layer's ``cell``). ``call``: how a model
    calls the layer (self-attention takes x twice; such a layer needs a functional
    ``keras.Model``, not a ``keras.Sequential``). ``options(layer)``: the keyword arguments
    that call passes for the spec ``layer`` (attention's ``use_causal_mask``, a call
    argument in Keras). ``template``: the port's code, ``None`` where the kind does not
    port. ``modeled``: the regularisers (config keys) whose L2 form the kind's spec layer
    holds and ``read`` reads (Dense's ``kernel_regularizer``); any other regulariser or
    constraint is a training option the walker refuses (``convert.training_options``).
    """

    kind: str
    build: Callable[[Layer, Context, str], list[keras.Layer]]
    read: Callable[[Sequence[keras.Layer], int, str], Read]
    reads: tuple[type[keras.Layer], ...]
    template: Template | None = None
    holder: Callable[[keras.Layer], Any] = _itself
    call: Callable[..., Any] = _one_input
    sequential: bool = True
    options: Callable[[Layer], dict[str, Any]] = _no_options
    modeled: tuple[str, ...] = ()
