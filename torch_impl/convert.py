"""Moving a spec model into torch and back, weights copied exactly.

The only change on the way is the layout: the spec's W is (in, out), torch's
``nn.Linear.weight`` is (out, in), so W is transposed in both directions. The copies
are bit-for-bit, so a round trip returns the same numbers.
"""

from __future__ import annotations

import numpy as np
import torch

import reference
from torch_impl.layers import Dense
from torch_impl.networks import Sequential

_DTYPES = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}


def torch_dtype(dtype: np.dtype) -> torch.dtype:
    """The torch dtype of a spec model's NumPy dtype."""
    return _DTYPES[np.dtype(dtype)]


def _dense_from_reference(layer: reference.Dense) -> Dense:
    module = Dense(layer.in_features, layer.out_features, layer.activation.name,
                   dtype=torch_dtype(layer.dtype), **layer.activation.params)
    with torch.no_grad():
        module.linear.weight.copy_(torch.from_numpy(layer.W.T.copy()))
        module.linear.bias.copy_(torch.from_numpy(layer.b))
    return module


def from_reference(model: reference.Sequential | reference.Dense) -> torch.nn.Module:
    """A torch module computing what the spec ``model`` computes, with its exact weights."""
    if isinstance(model, reference.Dense):
        return _dense_from_reference(model)
    if not isinstance(model, reference.Sequential):
        raise TypeError(f"from_reference: expected a reference.Sequential or reference.Dense, "
                        f"got {type(model).__name__}")
    return Sequential(*(_dense_from_reference(layer) for layer in model.layers))


def _dense_to_reference(module: Dense) -> reference.Dense:
    weight = module.linear.weight.detach().cpu().numpy()
    layer = reference.Dense(module.linear.in_features, module.linear.out_features,
                            reference.activations.get(module.activation_name,
                                                      **module.activation_params),
                            dtype=weight.dtype)
    layer.W = weight.T
    layer.b = module.linear.bias.detach().cpu().numpy()
    return layer


def to_reference(module: torch.nn.Module) -> reference.Sequential | reference.Dense:
    """The spec model equal to a module built by :func:`from_reference`.

    Only ``torch_impl`` Dense layers (alone or in an ``nn.Sequential``) have a spec
    counterpart; their dtypes must agree, as the spec's policy requires, and anything
    else is refused by name.
    """
    if isinstance(module, Dense):
        return _dense_to_reference(module)
    layers = list(module) if isinstance(module, torch.nn.Sequential) else [module]
    foreign = [f"{k}: {type(m).__name__}" for k, m in enumerate(layers) if not isinstance(m, Dense)]
    if foreign:
        raise TypeError("to_reference: only torch_impl.layers.Dense layers (alone or in an "
                        f"nn.Sequential) have a spec counterpart; got {', '.join(foreign)}")
    return reference.Sequential([_dense_to_reference(m) for m in layers])
