"""The shape of one row of the torch translation table (``torch_impl.convert.TRANSLATIONS``).

Each concept file (``layers.py``, ``activations.py``, ``convolution.py``,
``normalization.py``, ``sequences.py``) fills rows for its spec layer kinds; the
converters (``torch_impl.convert``) and the port (``nn_rosetta.porting``) walk them and
know no kind by name. This module only defines the rows, so that the concept files and
the walkers can both import it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from reference._validation import as_dtype
from reference.layers import Layer
from reference.layouts import Context


@dataclass(frozen=True)
class Template:
    """How one spec layer kind reads in PyTorch source code (``nn_rosetta.port``).

    ``module``: the constructor, a format string over the spec layer's ``config()`` and
    what ``arguments`` derives from the layer and its per-sample input shape; ``None``
    for a kind that needs no module. ``note``: the comment on that line when it bridges a
    convention (same formatting), else "". ``call``: the forward code (``{attr}``: the
    module's attribute), one line or several joined by "\\n", each line's comment after
    "  # "; a layer with an ``activation`` gets it around the last line's expression.
    ``layout``: which torch layout the code takes: "channels" (a feature map channels-first,
    (N, C, H, W), where Keras's is (N, H, W, C)), "last" (features on the last axis, as in
    Keras) or "any" (elementwise, or a Flatten); or a function of the layer giving one.
    ``defines``: the small modules (``SMALL_MODULES``) a layer's code constructs, whose class
    source the generated file holds, as a torch user writes a module torch lacks.
    """

    module: str | None
    note: str = ""
    call: str = "x = self.{attr}(x)"
    arguments: Callable[[Layer, tuple[int, ...]], dict[str, Any]] | None = None
    layout: str | Callable[[Layer], str] = "last"
    defines: Callable[[Layer], tuple[type[nn.Module], ...]] | None = None

    def defined(self, layer: Layer) -> tuple[type[nn.Module], ...]:
        return self.defines(layer) if self.defines else ()

    def fields(self, layer: Layer, shape: tuple[int, ...]) -> dict[str, Any]:
        derived = self.arguments(layer, shape) if self.arguments else {}
        return {**layer.config(), **derived}

    def layout_of(self, layer: Layer) -> str:
        return self.layout(layer) if callable(self.layout) else self.layout


# What a row's ``read`` returns: the spec layer (its weights not yet copied) and how many
# modules it took; ``None`` when the modules at that position are not this kind.
Read = tuple[Layer, int] | None


@dataclass(frozen=True)
class Translation:
    """One spec layer kind in torch, both ways, and its port template.

    ``build(layer, context)``: the stock modules that compute the spec ``layer`` (weights
    not yet copied; ``context.input_shape`` is its per-sample input, channels-last).
    ``read(modules, i, place)``: the spec layer made by ``modules[i:i + n]``, and n, or
    ``None`` when they are not this kind; ``place``: a ``Context`` whose ``input_shape`` is
    the per-sample input shape in the spec's layout (``None`` where nothing fixed it yet)
    and ``feature_map`` whether that input is a feature map (channels-first in torch).
    ``starts``: the module classes a group of this kind can begin with (the walker asks
    only those rows). ``template``: the port's code, ``None`` where the kind does not port.
    ``frozen``: the parameters ``build`` freezes (``requires_grad=False``) to compute the
    spec's training (an LSTM's second bias), or a function of the module giving those it
    froze (a BatchNorm's γ of 1 for Keras's scale=False); ``to_reference`` refuses any
    other frozen one.
    """

    kind: str
    build: Callable[[Layer, Context], list[nn.Module]]
    read: Callable[[Sequence[nn.Module], int, Context], Read]
    starts: tuple[type[nn.Module], ...]
    template: Template | None = None
    frozen: tuple[str, ...] | Callable[[nn.Module], tuple[str, ...]] = ()

    def frozen_in(self, module: nn.Module) -> tuple[str, ...]:
        """The parameters of ``module`` this kind's translation freezes itself."""
        return self.frozen(module) if callable(self.frozen) else self.frozen


_TORCH = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}


def torch_dtype(dtype: np.dtype) -> torch.dtype:
    """The torch dtype of a spec model's NumPy dtype: float32 or float64, refused by name
    otherwise (NumPy's "Cannot interpret 'True' as a data type", a KeyError for int64)."""
    return _TORCH[as_dtype(dtype, "torch_dtype")]


def numpy_dtype(tensor: torch.Tensor) -> np.dtype:
    """The NumPy dtype of a torch tensor (a module's weight), for the spec layer read back."""
    return tensor.detach().cpu().numpy().dtype


def following(modules: Sequence[nn.Module], i: int, classes: tuple[type, ...]
              ) -> nn.Module | None:
    """``modules[i]`` when it exists and is one of ``classes`` (an activation after a
    linear module), else ``None``."""
    return modules[i] if i < len(modules) and isinstance(modules[i], classes) else None
