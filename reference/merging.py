r"""Merge layers: one output from several inputs, the joints of a graph model.

Keras's module of the same name (``keras.layers.Add``, …); torch has no modules for
these, its ``forward`` writes the operation itself (``x + y``, ``torch.cat``). With k
inputs x_1 … x_k of one shape and g = dL/dy:

==============  =================================  =========================================
layer           y                                  dL/dx_i
==============  =================================  =========================================
Add             Σ_i x_i                            g
Subtract        x_1 − x_2 (exactly two inputs)     g, −g
Multiply        Π_i x_i (broadcast)                g ⊙ Π_{j≠i} x_j, summed to x_i's shape
Average         (1/k) Σ_i x_i                      g / k
Maximum         max_i x_i, entry by entry          g where x_i is the maximum, else 0
Concatenate     [x_1, …, x_k] along axis           the slice of g that x_i became
==============  =================================  =========================================

Maximum's ties: where several inputs hold the maximum, the *first* of them (in the list's
order) gets the whole gradient, as in Keras (``ops.maximum`` folded left; TF's Maximum
gradient goes to its first argument on ties, ``x >= y``) and in torch's
``torch.stack(xs).max(0).values``; ``torch.maximum(a, b)`` instead gives each tied input
g/2 (folded over three inputs: g/4, g/4, g/2), and ``torch.stack(xs).amax(0)`` gives each
g/k. Measured with torch 2.13 and TF 2.21 / Keras 3.15 on CPU.

Shapes: the element-wise layers need at least two inputs of exactly one shape (Keras
also takes a list of one, and broadcasts (N, 4) with (N, 1); the spec refuses both, so a
broadcast never happens unnoticed), except ``Multiply``, which broadcasts as Keras does
inputs of one rank whose per-sample axes are equal or 1: a squeeze-and-excitation gate
(N, H, W, C) ⊙ (N, 1, 1, C); the gradient of an input sums g's terms over the axes it was
broadcast along. ``Concatenate`` needs equal shapes except along
``axis``, which counts the batch axis as Keras's does (``axis=-1``: the last, the
channels of an image), and may not be the batch axis itself (Keras builds
``Concatenate(axis=0)`` of two (None, 4) inputs without a word).

These layers have no parameters; they compute in their inputs' float dtype, which the
inputs must share.

Shape:
    x_i: (N, *S) → y: (N, *S); Concatenate: x_i: (N, …, d_i, …) → y: (N, …, Σ d_i, …).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from reference._validation import as_float_array, check_shape
from reference.layers import LAYERS, Layer


class Merge(Layer):
    """What every merge layer shares: a list of inputs in, one output, a list of input
    gradients back (see the module docstring).

    Shape:
        xs: a list of k arrays (N, *S) → y: (N, *output_shape([S, …])).
    """

    merges = True
    any_length = True  # the inputs' shapes must match, None as any size
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = None

    def __init__(self, *, dtype: object | None = None, name: str | None = None,
                 default_name: str | None = None) -> None:
        super().__init__(dtype=dtype, name=name, default_name=default_name)
        self._shapes: list[tuple[int, ...]] | None = None  # of the last forward's inputs
        self._output: tuple[int, ...] = ()  # the last forward's output shape

    def _count(self, count: int, received: object) -> None:
        if count < self.min_inputs or (self.max_inputs is not None and count > self.max_inputs):
            wanted = f"exactly {self.min_inputs}" if self.max_inputs == self.min_inputs else \
                f"at least {self.min_inputs}"
            raise ValueError(f"{self.name}: takes a list of {wanted} inputs, got {received}")

    def output_shape(self, input_shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
        """The per-sample output shape for the list of per-sample input shapes."""
        if not isinstance(input_shapes, list | tuple) or \
                not all(isinstance(s, list | tuple) for s in input_shapes):
            raise ValueError(f"{self.name}: takes a list of inputs, got one of per-sample shape "
                             f"{tuple(input_shapes)}")
        shapes = [tuple(s) for s in input_shapes]
        self._count(len(shapes), f"{len(shapes)} (per-sample shapes {shapes})")
        return self._merged_shape(shapes)

    def _merged_shape(self, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        if any(shape != shapes[0] for shape in shapes):
            raise ValueError(f"{self.name}: inputs must have one per-sample shape (nothing is "
                             f"broadcast), got {shapes}")
        return shapes[0]

    def _inputs(self, xs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The inputs under the input policy: a list, one float dtype, one batch, the
        shapes :meth:`output_shape` accepts."""
        if not isinstance(xs, list | tuple):
            raise TypeError(f"{self.name}: forward takes a list of arrays, got "
                            f"{type(xs).__name__}")
        self._count(len(xs), f"{len(xs)}")
        arrays = [as_float_array(x, self.dtype, self.name, f"input {i}")
                  for i, x in enumerate(xs)]
        dtypes = sorted({x.dtype.name for x in arrays})
        if len(dtypes) > 1:
            raise TypeError(f"{self.name}: inputs must share one float dtype, got {dtypes}")
        for i, x in enumerate(arrays):
            if x.ndim < 2:
                raise ValueError(f"{self.name}: input {i} needs a batch axis and at least one "
                                 f"more, got shape {x.shape}")
            check_shape(self.name, f"input {i}", x.shape[:1], arrays[0].shape[:1])
        self._output = (len(arrays[0]), *self.output_shape([x.shape[1:] for x in arrays]))
        self._shapes = [x.shape for x in arrays]
        return arrays

    def _grad(self, grad_output: np.ndarray) -> np.ndarray:
        """g = dL/dy, checked against the last forward's output."""
        if self._shapes is None:
            raise self._no_forward()
        return self._upstream(grad_output, self._output)

    def forward(self, xs: Sequence[np.ndarray], *, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> list[np.ndarray] | None:
        raise NotImplementedError


class Add(Merge):
    """y = Σ_i x_i; dL/dx_i = g (every input gets the upstream gradient itself)."""

    def forward(self, xs: Sequence[np.ndarray], *, training: bool = False) -> np.ndarray:
        arrays = self._inputs(xs)
        y = arrays[0].copy()
        for x in arrays[1:]:
            y += x
        return y

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> list[np.ndarray] | None:
        g = self._grad(grad_output)
        return [g] * len(self._shapes) if input_gradient else None


class Subtract(Merge):
    """y = x_1 − x_2 (exactly two inputs); dL/dx_1 = g, dL/dx_2 = −g."""

    max_inputs = 2

    def forward(self, xs: Sequence[np.ndarray], *, training: bool = False) -> np.ndarray:
        first, second = self._inputs(xs)
        return first - second

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> list[np.ndarray] | None:
        g = self._grad(grad_output)
        return [g, -g] if input_gradient else None


class Multiply(Merge):
    """y = Π_i x_i, entry by entry, broadcast along the per-sample axes where an input has
    size 1; dL/dx_i = g ⊙ Π_{j≠i} x_j, summed over the axes x_i was broadcast along.

    The product of the others is a prefix product times a suffix product, never y / x_i,
    which a zero entry would turn into 0/0.

    Shape:
        x_i: (N, *S_i), the S_i of one rank, each axis equal or 1 → y: (N, *S), S the
        largest size on each axis.
    """

    def __init__(self, *, dtype: object | None = None, name: str | None = None) -> None:
        super().__init__(dtype=dtype, name=name)
        self._xs: list[np.ndarray] | None = None

    def _merged_shape(self, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        if len({len(shape) for shape in shapes}) > 1:
            raise ValueError(f"{self.name}: inputs must have one rank (axes of size 1 are "
                             f"broadcast), got per-sample shapes {shapes}")
        merged = tuple(max(sizes) for sizes in zip(*shapes, strict=True))
        if any(size not in (1, full) for shape in shapes for size, full in zip(shape, merged,
                                                                                  strict=True)):
            raise ValueError(f"{self.name}: each axis of the inputs must be equal or 1 (1 is "
                             f"broadcast), got per-sample shapes {shapes}")
        return merged

    def forward(self, xs: Sequence[np.ndarray], *, training: bool = False) -> np.ndarray:
        arrays = self._inputs(xs)
        self._xs = arrays
        y = arrays[0]
        for x in arrays[1:]:
            y = y * x  # a new array: broadcasting may grow it
        return y

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> list[np.ndarray] | None:
        g = self._grad(grad_output)
        if not input_gradient:
            return None
        xs = self._xs
        before = [g]  # before[i] = g ⊙ x_1 ⊙ … ⊙ x_{i−1}
        for x in xs[:-1]:
            before.append(before[-1] * x)
        grads, after = [None] * len(xs), None  # after = x_{i+1} ⊙ … ⊙ x_k
        for i in range(len(xs) - 1, -1, -1):
            grads[i] = before[i] if after is None else before[i] * after
            after = xs[i] if after is None else after * xs[i]
        return [_summed_to(grad, x.shape) for grad, x in zip(grads, xs, strict=True)]


def _summed_to(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``grad`` (the output's shape) summed over the axes where ``shape`` has size 1 and
    the output does not: the gradient of an input that was broadcast."""
    axes = tuple(k for k, (size, full) in enumerate(zip(shape, grad.shape, strict=True))
                 if size == 1 and full != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


class Average(Merge):
    """y = (1/k) Σ_i x_i; dL/dx_i = g / k."""

    def forward(self, xs: Sequence[np.ndarray], *, training: bool = False) -> np.ndarray:
        arrays = self._inputs(xs)
        y = arrays[0].copy()
        for x in arrays[1:]:
            y += x
        return y / len(arrays)

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> list[np.ndarray] | None:
        g = self._grad(grad_output)
        return [g / len(self._shapes)] * len(self._shapes) if input_gradient else None


class Maximum(Merge):
    """y = max_i x_i, entry by entry; dL/dx_i = g where input i is the first to hold the
    maximum of that entry, 0 elsewhere (ties: the first input, as Keras; see the module
    docstring for torch's other rules)."""

    def __init__(self, *, dtype: object | None = None, name: str | None = None) -> None:
        super().__init__(dtype=dtype, name=name)
        self._winner: np.ndarray | None = None

    def forward(self, xs: Sequence[np.ndarray], *, training: bool = False) -> np.ndarray:
        stacked = np.stack(self._inputs(xs))
        self._winner = np.argmax(stacked, axis=0)  # the first maximum on ties
        return np.take_along_axis(stacked, self._winner[None], axis=0)[0]

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> list[np.ndarray] | None:
        g = self._grad(grad_output)
        if not input_gradient:
            return None
        zero = np.zeros((), g.dtype)
        return [np.where(self._winner == i, g, zero) for i in range(len(self._shapes))]


class Concatenate(Merge):
    """y = [x_1, …, x_k] along ``axis``; dL/dx_i = g's slice at x_i's place.

    Shape:
        x_i: (N, …, d_i, …) with d_i at ``axis`` and the other axes equal →
        y: (N, …, Σ_i d_i, …).

    Args:
        axis: the axis of the full arrays, batch axis included, as Keras counts it
            (-1: the last); never the batch axis, whose rows are samples. In torch's
            channels-first images Keras's ``axis=-1`` is ``dim=1``.
    """

    def __init__(self, axis: int = -1, *, dtype: object | None = None,
                 name: str | None = None) -> None:
        if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
            raise ValueError(f"Concatenate: axis must be an integer, got {axis!r}")
        if axis == 0:
            raise ValueError("Concatenate: axis 0 is the batch axis, whose rows are samples; "
                             "concatenate along a feature axis (axis=-1: the last)")
        super().__init__(dtype=dtype, name=name, default_name=f"Concatenate(axis={axis})")
        self.axis = int(axis)

    def _axis(self, ndim: int) -> int:
        """``axis`` as a non-negative axis of arrays of ``ndim`` axes (batch included)."""
        axis = self.axis + ndim if self.axis < 0 else self.axis
        if not 1 <= axis < ndim:
            raise ValueError(f"{self.name}: axis {self.axis} of inputs with {ndim} axes (batch "
                             f"first) is {'the batch axis' if axis == 0 else 'out of range'}; "
                             f"the feature axes are 1 … {ndim - 1}")
        return axis

    def _merged_shape(self, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        ranks = {len(shape) for shape in shapes}
        if len(ranks) > 1:
            raise ValueError(f"{self.name}: inputs must have one rank, got per-sample shapes "
                             f"{shapes}")
        at = self._axis(len(shapes[0]) + 1) - 1  # in the per-sample shape
        if any(shape[at] is None for shape in shapes):
            raise ValueError(f"{self.name}: cannot concatenate along axis {self.axis}, a "
                             f"sequence of any length (None), got {shapes}; concatenate "
                             "the features (axis=-1) or fix the length")
        others = {shape[:at] + shape[at + 1:] for shape in shapes}
        if len(others) > 1:
            raise ValueError(f"{self.name}: inputs must have one per-sample shape except along "
                             f"axis {self.axis}, got {shapes}")
        return (*shapes[0][:at], sum(shape[at] for shape in shapes), *shapes[0][at + 1:])

    def forward(self, xs: Sequence[np.ndarray], *, training: bool = False) -> np.ndarray:
        arrays = self._inputs(xs)
        return np.concatenate(arrays, axis=self._axis(arrays[0].ndim))

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> list[np.ndarray] | None:
        g = self._grad(grad_output)
        if not input_gradient:
            return None
        axis = self._axis(g.ndim)
        ends = np.cumsum([s[axis] for s in self._shapes])[:-1]
        return np.split(g, ends, axis=axis)

    def config(self) -> dict[str, Any]:
        return {"axis": self.axis, **super().config()}


LAYERS.update({cls.__name__: cls for cls in (Add, Subtract, Multiply, Average, Maximum,
                                             Concatenate)})
