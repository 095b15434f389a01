"""nn-rosetta's specification: every concept written once, from scratch, in NumPy.

The torch and TF mirrors (``torch_impl``, ``tf_impl``) are tested against this package.
"""

from reference import activations, gradcheck, initializers, losses, registry
from reference.layers import Dense
from reference.networks import Sequential
from reference.weights import load_weights, save_weights

__all__ = ["Dense", "Sequential", "activations", "gradcheck", "initializers", "losses",
           "registry"]
__all__ += ["load_weights", "save_weights"]
