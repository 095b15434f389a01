"""Feedforward networks: layers applied one after another (note 002's feedforward nets)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reference._validation import as_float_array, check_batch
from reference.layers import Dense


class Sequential:
    r"""A stack of :class:`Dense` layers, ``y = f_L(… f_2(f_1(x)))``.

    ``backward`` is backpropagation: the four equations of note 002 in matrix form, for a
    batch in rows (a^0 = x, z^l = a^{l−1} W^l + b^l, a^l = φ(z^l)):

    1. δ^L = ∇_a L ⊙ φ'(z^L)                  (error at the output)
    2. δ^l = (δ^{l+1} (W^{l+1})ᵀ) ⊙ φ'(z^l)    (error moved back one layer)
    3. ∂L/∂b^l = Σ_n δ^l_n                     (bias gradient: the error itself)
    4. ∂L/∂W^l = (a^{l−1})ᵀ δ^l                (weight gradient: input times error)

    Each :meth:`Dense.backward` does 1 or 2 for its layer (``activation.vjp``), then 3
    and 4, and hands δ^l (W^l)ᵀ to the layer below.

    Shape:
        x: (N, in_features of the first layer) → y: (N, out_features of the last layer).

    Args:
        layers: Dense layers; consecutive widths must agree and all share one dtype.
        seed: if given, re-draw every layer's weights from one generator seeded with it,
            layer by layer, so the whole model is reproducible from one number.
    """

    def __init__(self, layers: Sequence[Dense], *, seed: int | None = None) -> None:
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("Sequential: needs at least one layer")
        for k, (below, above) in enumerate(zip(self.layers, self.layers[1:], strict=False)):
            if below.out_features != above.in_features:
                raise ValueError(f"Sequential: layer {k} ({below.name}) outputs "
                                 f"{below.out_features} features but layer {k + 1} "
                                 f"({above.name}) expects {above.in_features}")
        dtypes = {layer.dtype for layer in self.layers}
        if len(dtypes) != 1:
            raise TypeError(f"Sequential: all layers must share one dtype, got "
                            f"{sorted(d.name for d in dtypes)}")
        self.dtype: np.dtype = dtypes.pop()
        if seed is not None:
            rng = np.random.default_rng(seed)
            for layer in self.layers:
                layer.initialize(rng)

    @property
    def in_features(self) -> int:
        return self.layers[0].in_features

    @property
    def out_features(self) -> int:
        return self.layers[-1].out_features

    @property
    def params(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """[(W, b), …] in layer order, W of shape (in, out)."""
        return [layer.params for layer in self.layers]

    @property
    def grads(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """[(dL/dW, dL/db), …] in layer order, from the last :meth:`backward`."""
        return [layer.grads for layer in self.layers]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Pass x through every layer in turn."""
        x = as_float_array(x, self.dtype, "Sequential", "input x")
        check_batch("Sequential", "input x", x.shape, self.in_features)
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        """Backpropagate g = dL/dy through every layer, last first; return dL/dx.

        ``input_gradient=False`` returns None and skips the first layer's δ¹(W¹)ᵀ, which
        only a caller who wants dL/dx needs (a training step does not).
        """
        first, *above = self.layers
        for layer in reversed(above):
            grad_output = layer.backward(grad_output)
        return first.backward(grad_output, input_gradient=input_gradient)

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n  {inner}\n])"
