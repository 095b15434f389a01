"""Feedforward networks: layers applied one after another (note 002's feedforward nets)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reference._validation import (
    as_flag,
    as_float_array,
    as_index_array,
    as_seed,
    as_shape,
    check_batch,
    check_shape,
    not_called,
)
from reference.layers import Layer, layer_shapes


def check_mask_steps(where: str, source: Layer, layer: Layer, mask: np.ndarray,
                     x: np.ndarray) -> None:
    """The padding mask of ``source`` (an ``Embedding(mask_zero=True)``) fits the input of
    ``layer``, which takes it: (N, T) for (N, T, ·). A layer between them that changed the
    number of steps (a Conv1D of ``padding="valid"`` or strides) leaves it (N, T′); refused
    by name, not with the layer's own check of a mask the caller never gave."""
    if np.ndim(x) < 2 or mask.shape != tuple(np.shape(x)[:2]):
        raise ValueError(f"{where}: {layer.name} takes the padding mask of {source.name} "
                         f"(mask_zero=True), {mask.shape[1]} steps per sequence, but its "
                         f"input has shape {tuple(np.shape(x))}: a layer between them "
                         "changed the number of steps; keep it (padding='same', strides 1) "
                         "or give the Embedding mask_zero=False")


class Sequential:
    r"""A stack of layers, ``y = f_L(… f_2(f_1(x)))``, any layers that follow the protocol
    of ``reference.layers.Layer``.

    ``backward`` is backpropagation. For dense layers it is the four equations of note 002
    in matrix form, for a batch in rows (a^0 = x, z^l = a^{l−1} W^l + b^l, a^l = φ(z^l)):

    1. δ^L = ∇_a L ⊙ φ'(z^L)                  (error at the output)
    2. δ^l = (δ^{l+1} (W^{l+1})ᵀ) ⊙ φ'(z^l)    (error moved back one layer)
    3. ∂L/∂b^l = Σ_n δ^l_n                     (bias gradient: the error itself)
    4. ∂L/∂W^l = (a^{l−1})ᵀ δ^l                (weight gradient: input times error)

    Each :meth:`Dense.backward` does 1 or 2 for its layer (``activation.vjp``), then 3
    and 4, and hands δ^l (W^l)ᵀ to the layer below; any other layer hands down its own
    dL/dx the same way.

    Shape:
        x: (N, *input_shape) → y: (N, *output_shape).

    Args:
        layers: the layers, first to last; each must accept the shape the one below it
            produces, and the layers with parameters must share one dtype (a layer
            without parameters computes in its input's dtype).
        input_shape: the per-sample input shape; needed only when the first layer does
            not fix it (a Dense layer fixes (in_features,)). A None size is a sequence
            of any length (``(None,)`` for token ids), for the layers that take one.
        seed: if given, re-draw every layer's parameters from one generator seeded with
            it, layer by layer, so the whole model is reproducible from one number.
    """

    def __init__(self, layers: Sequence[Layer], *, input_shape: Sequence[int] | None = None,
                 seed: int | None = None) -> None:
        if isinstance(layers, Layer) or not isinstance(layers, list | tuple):
            raise TypeError(f"Sequential: layers must be a list of layers, got "
                            f"{type(layers).__name__}")
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("Sequential: needs at least one layer")
        foreign = [f"{k}: {type(layer).__name__}" for k, layer in enumerate(self.layers)
                   if not isinstance(layer, Layer)]
        if foreign:
            raise TypeError(f"Sequential: every layer must be a reference.layers.Layer, got "
                            f"{', '.join(foreign)}")
        first = {id(layer): k for k, layer in reversed(list(enumerate(self.layers)))}
        twice = [k for k, layer in enumerate(self.layers) if first[id(layer)] != k]
        if twice:  # one object keeps one forward's cache: the backward would mix the two
            raise ValueError(f"Sequential: layer {twice[0]} ({self.layers[twice[0]].name}) is "
                             f"layer {first[id(self.layers[twice[0]])]} again; a layer holds "
                             "its own weights and its last input, so make a second one")
        dtypes = {layer.dtype for layer in self.layers if layer.dtype is not None}
        if len(dtypes) > 1:
            raise TypeError(f"Sequential: all layers must share one dtype, got "
                            f"{sorted(d.name for d in dtypes)}")
        self.dtype: np.dtype = dtypes.pop() if dtypes else np.dtype(np.float64)
        if input_shape is None:
            first = self.layers[0]
            if not hasattr(first, "in_features"):
                raise ValueError(f"Sequential: the first layer ({first.name}) does not fix its "
                                 "input shape; pass input_shape=(…) per sample")
            input_shape = (first.in_features,)
        self.input_shape = as_shape("Sequential", "input_shape", input_shape, any_length=True)
        self.shapes = self._shapes()
        if seed is not None:
            rng = as_seed("Sequential", seed)
            for layer in self.layers:
                layer.initialize(rng)

    def _shapes(self) -> list[tuple[int, ...]]:
        shapes = [self.input_shape]
        for k, layer in enumerate(self.layers):
            try:
                shapes.append(layer_shapes([layer], shapes[-1])[-1])
            except ValueError as error:
                shape = shapes[-1]
                gives = f"{shape[0]} features" if len(shape) == 1 and shape[0] is not None \
                    else f"per-sample shape {shape}"  # (None,): no count to name
                below = f"layer {k - 1} ({self.layers[k - 1].name}) outputs" if k else \
                    "the input has"
                raise ValueError(f"Sequential: {below} {gives} but layer {k} ({layer.name}) "
                                 f"cannot take them: {error}") from None
        return shapes

    @property
    def output_shape(self) -> tuple[int, ...]:
        """The per-sample shape of the output."""
        return self.shapes[-1]

    @property
    def in_features(self) -> int:
        """The input width of a model whose samples are vectors."""
        (width,) = self.input_shape
        return width

    @property
    def out_features(self) -> int:
        """The output width of a model whose outputs are vectors."""
        (width,) = self.output_shape
        return width

    @property
    def params(self) -> list[tuple[np.ndarray, ...]]:
        """Each layer's parameters in layer order: (W, b) for Dense, () for Flatten."""
        return [layer.params for layer in self.layers]

    @property
    def grads(self) -> list[tuple[np.ndarray, ...]]:
        """Each layer's gradients from the last :meth:`backward`, like :attr:`params`."""
        return [layer.grads for layer in self.layers]

    @property
    def parameters(self) -> list[dict[str, np.ndarray]]:
        """Each layer's named parameters, in layer order (``{}`` for Flatten)."""
        return [layer.parameters for layer in self.layers]

    @property
    def gradients(self) -> list[dict[str, np.ndarray]]:
        """Each layer's named gradients from the last :meth:`backward`."""
        return [layer.gradients for layer in self.layers]

    def regularization_loss(self) -> float:
        """The layers' own loss terms (L2 penalties), summed: what training adds to the loss."""
        return sum(layer.regularization_loss() for layer in self.layers)
    def as_input(self, x: object, where: str = "Sequential", what: str = "input x"
                 ) -> np.ndarray:
        """``x`` under the input policy of the first layer: converted to the model's dtype
        (integers too), or, when that layer takes indices (Embedding), kept as integers."""
        if self.layers[0].input_kind == "indices":
            return as_index_array(x, where, what)
        return as_float_array(x, self.dtype, where, what)

    def __call__(self, *args: object, **kwargs: object) -> None:
        """A spec model is no layer (:func:`reference._validation.not_called`)."""
        raise not_called(self)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """Pass x through every layer in turn (``training``: Dropout drops, and so on)."""
        training = as_flag("Sequential.forward", "training", training)
        x = self.as_input(x)
        if len(self.input_shape) == 1 and self.layers[0].input_kind == "float":
            check_batch("Sequential", "input x", x.shape, self.in_features)
        else:
            check_shape("Sequential", "input x", x.shape, (None, *self.input_shape))
        mask = None  # padding an Embedding(mask_zero=True) found, for the next recurrent layer
        source = None  # the Embedding that made it
        for layer in self.layers:
            if mask is not None and layer.takes_mask:
                check_mask_steps("Sequential", source, layer, mask, x)
                layer.mask, mask = mask, None
            x = layer.forward(x, training=training)
            if mask is None and getattr(layer, "output_mask", None) is not None:
                mask, source = layer.output_mask, layer
        return x

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        """Backpropagate g = dL/dy through every layer, last first; return dL/dx.

        ``input_gradient=False`` returns None and skips the first layer's dL/dx (for a
        Dense layer δ¹(W¹)ᵀ), which only a caller who wants dL/dx needs (a training step
        does not).
        """
        input_gradient = as_flag("Sequential.backward", "input_gradient", input_gradient)
        first, *above = self.layers
        for layer in reversed(above):
            grad_output = layer.backward(grad_output)
        return first.backward(grad_output, input_gradient=input_gradient)

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n  {inner}\n])"
