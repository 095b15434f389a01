"""nn-rosetta's PyTorch mirror: the spec's concepts in idiomatic ``torch.nn`` code.

Same module names and public names as ``reference``; gradients come from autograd.
"""

from torch_impl import activations, losses
from torch_impl.convert import from_reference, to_reference, torch_dtype
from torch_impl.layers import Dense
from torch_impl.networks import Sequential
from torch_impl.runtime import configure_full_precision_determinism
from torch_impl.weights import load_weights, save_weights

__all__ = ["Dense", "Sequential", "activations", "configure_full_precision_determinism",
           "from_reference", "losses", "to_reference", "torch_dtype"]
__all__ += ["load_weights", "save_weights"]
