"""Weight files the torch way: a ``state_dict`` saved with ``torch.save``, loaded with
``torch.load(..., weights_only=True)``.

Same public names as ``reference.weights``. A ``state_dict`` maps parameter names
("0.linear.weight", "0.linear.bias", … for a Sequential) to tensors, in torch's layout
(``weight`` (out, in), the transpose of the spec's W). It holds no architecture, so, as
with ``model.load_state_dict``, the weights are loaded *into* a model of the right
shape, e.g. one made by ``from_reference``; the activations are the model's.

Safety: ``torch.save`` writes a pickle. ``weights_only=True`` makes ``torch.load`` use a
restricted unpickler that rebuilds tensors and plain containers only and refuses every
other global, so a crafted file cannot run code.

Checks on load (``@checked``), before anything is copied: the names must be exactly the
model's (torch would report them too) and every tensor must have the model's shape and
dtype.
``load_state_dict`` alone would cast a float32 file into a float64 model silently.
"""

from __future__ import annotations

import os
import pickle

import torch

from reference._validation import dtype_name
from reference.weights import WeightFileError
from torch_impl._inputs import checked


def save_weights(model: torch.nn.Module, path: str | os.PathLike) -> None:
    """``torch.save(model.state_dict(), path)``."""
    torch.save(model.state_dict(), path)


def _state_dict_file(where: str, path: str | os.PathLike, model: torch.nn.Module) -> None:
    """The file holds a state_dict with exactly the model's names, shapes and dtypes."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise WeightFileError(f"{path}: refused by torch.load(weights_only=True), which "
                              f"unpickles tensors only ({str(error).splitlines()[0]})") from None
    except (OSError, RuntimeError, EOFError) as error:
        raise WeightFileError(f"{path}: unreadable as a torch state_dict ({error})") from None
    expected = model.state_dict()
    if not isinstance(state, dict) or set(state) != set(expected):
        found = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise WeightFileError(f"{path}: expected the tensors {sorted(expected)}, found {found}")
    for name, tensor in state.items():
        want = expected[name]
        if not isinstance(tensor, torch.Tensor) or tensor.shape != want.shape or \
                tensor.dtype != want.dtype:
            found = (f"{dtype_name(tensor.dtype)} of shape {tuple(tensor.shape)}"
                     if isinstance(tensor, torch.Tensor) else type(tensor).__name__)
            raise WeightFileError(f"{path}: {name} should be {dtype_name(want.dtype)} of shape "
                                  f"{tuple(want.shape)}, found {found}")


@checked(_state_dict_file)
def load_weights(path: str | os.PathLike, model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with the weights of the ``state_dict`` file at ``path``, checked first."""
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model
