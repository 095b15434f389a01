"""The spec's activations with ``torch`` / ``torch.nn.functional``, by the same names.

Derivatives come from autograd, so there is no ``*_derivative`` here. Conventions
bridged to the spec:

* ``leaky_relu``: torch's default slope is 0.01 like the spec's, and it is passed explicitly.
* ``softmax``: ``dim=-1`` is passed explicitly; ``nn.Softmax()`` without ``dim`` picks
  dim 0 for 1-D and 3-D input.
* ``softplus``: torch returns x itself once x > ``threshold`` (20 by default), an error
  of e^(−x) ≈ 2e-9 at x = 20, far above float64's precision. The threshold is set per
  dtype to where log(1 + e^x) rounds to x: 40 in float64, 20 in float32.
* ``step``: ``torch.heaviside(z, 0)`` has no autograd formula: torch raises on
  ``backward``, which is the honest answer for a function with no useful gradient. It
  returns 0 at NaN, where the spec (like ``np.heaviside``) keeps NaN: torch's
  convention, kept (``parity_tests/test_nonfinite.py`` shows both sides).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import reference

_SOFTPLUS_THRESHOLD = {torch.float64: 40.0, torch.float32: 20.0}


def identity(z: torch.Tensor) -> torch.Tensor:
    """φ(z) = z."""
    return z


def step(z: torch.Tensor) -> torch.Tensor:
    """1 if z > 0 else 0 (value 0 at z = 0, and at NaN: torch's convention, see above)."""
    return torch.heaviside(z, torch.zeros((), dtype=z.dtype))


def sigmoid(z: torch.Tensor) -> torch.Tensor:
    """σ(z) = 1 / (1 + e^(−z))."""
    return torch.sigmoid(z)


def tanh(z: torch.Tensor) -> torch.Tensor:
    """tanh(z)."""
    return torch.tanh(z)


def relu(z: torch.Tensor) -> torch.Tensor:
    """max(0, z)."""
    return F.relu(z)


def leaky_relu(z: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    """z if z > 0 else s·z."""
    return F.leaky_relu(z, negative_slope=negative_slope)


def elu(z: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """z if z > 0 else α(e^z − 1)."""
    return F.elu(z, alpha=alpha)


def softmax(z: torch.Tensor) -> torch.Tensor:
    """e^(z_i) / Σ_j e^(z_j) over the last axis."""
    return F.softmax(z, dim=-1)


def softplus(z: torch.Tensor) -> torch.Tensor:
    """log(1 + e^z), with the dtype-aware threshold described above."""
    return F.softplus(z, beta=1.0, threshold=_SOFTPLUS_THRESHOLD[z.dtype])


def silu(z: torch.Tensor) -> torch.Tensor:
    """z·σ(z)."""
    return F.silu(z)


def gelu(z: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    """z·Φ(z), the exact erf form; ``approximate="tanh"``: ½z(1 + tanh(√(2/π)(z + 0.044715z³)))."""
    return F.gelu(z, approximate=approximate)


def exponential(z: torch.Tensor) -> torch.Tensor:
    """e^z."""
    return torch.exp(z)


class Heaviside(nn.Module):
    """The step function as a module: torch has no module for it, only ``torch.heaviside``.

    Shape: any; the output has the input's shape.
    """

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return step(z)


class Exp(nn.Module):
    """e^z as a module (Keras's ``Activation("exponential")``): torch has no module for
    it, only ``torch.exp``.

    Shape: any; the output has the input's shape.
    """

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.exp(z)


# The stock module of each spec activation, built from its parameters and the dtype.
_MODULES = {
    "step": lambda dtype: Heaviside(),
    "sigmoid": lambda dtype: nn.Sigmoid(),
    "tanh": lambda dtype: nn.Tanh(),
    "relu": lambda dtype: nn.ReLU(),
    "leaky_relu": lambda dtype, negative_slope=0.01: nn.LeakyReLU(negative_slope),
    "elu": lambda dtype, alpha=1.0: nn.ELU(alpha),
    "softmax": lambda dtype: nn.Softmax(dim=-1),  # nn.Softmax() alone picks dim 0 on 3-D input
    # torch returns x past its threshold 20; where log(1 + e^x) rounds to x in this dtype
    "softplus": lambda dtype: nn.Softplus(threshold=_SOFTPLUS_THRESHOLD[dtype]),
    "silu": lambda dtype: nn.SiLU(),
    "gelu": lambda dtype, approximate="none": nn.GELU(approximate=approximate),
    "exponential": lambda dtype: Exp(),
}

# The spec activation (name, parameters) each torch activation module computes; ``None``
# where its settings compute none (a softmax over another axis, softplus with β ≠ 1).
_SPEC = {
    Heaviside: lambda m: ("step", {}),
    Exp: lambda m: ("exponential", {}),
    nn.Identity: lambda m: ("identity", {}),
    nn.Sigmoid: lambda m: ("sigmoid", {}),
    nn.Tanh: lambda m: ("tanh", {}),
    nn.ReLU: lambda m: ("relu", {}),
    nn.LeakyReLU: lambda m: ("leaky_relu", {"negative_slope": m.negative_slope}),
    nn.ELU: lambda m: ("elu", {"alpha": m.alpha}),
    nn.Softmax: lambda m: ("softmax", {}) if m.dim in (-1, 1) else None,
    nn.Softplus: lambda m: ("softplus", {}) if m.beta == 1 else None,
    nn.SiLU: lambda m: ("silu", {}),
    nn.GELU: lambda m: ("gelu", {} if m.approximate == "none" else
                        {"approximate": m.approximate}),
}
MODULE_CLASSES = tuple(_SPEC)  # the torch modules that are a spec activation


def as_modules(activation: reference.activations.Activation, dtype: torch.dtype,
               feature_map: bool = False) -> list[nn.Module]:
    """The stock module of a spec activation, as a list: empty for the identity.
    ``feature_map``: it acts on a feature map, channels-first in torch, so a softmax over
    the spec's last (channel) axis is torch's ``dim=1``."""
    if activation.name == "identity":
        return []
    if activation.name == "softmax" and feature_map:
        return [nn.Softmax(dim=1)]  # channels-first: the channels are dim 1
    return [_MODULES[activation.name](dtype, **activation.params)]


def from_module(module: nn.Module, where: str, feature_map: bool = False
                ) -> reference.activations.Activation:
    """The spec activation an activation module computes (one of :data:`MODULE_CLASSES`);
    a ``TypeError`` naming ``where`` when its settings compute none. ``feature_map``: it
    acts on a channels-first feature map, where only ``nn.Softmax(dim=1)`` is the spec's
    softmax over the channels."""
    if feature_map and isinstance(module, nn.Softmax):
        found = ("softmax", {}) if module.dim == 1 else None
    else:
        found = _SPEC[type(module)](module)
    if found is None:
        raise TypeError(f"{where} ({module!r}) computes no spec activation (softmax over "
                        "the features, dim 1 of a channels-first map; softplus with beta=1)")
    name, params = found
    return reference.activations.get(name, **params)


SMALL_MODULES = (Heaviside, Exp)
