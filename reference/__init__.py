"""nn-rosetta's specification: every concept written once, from scratch, in NumPy.

The torch and TF mirrors (``torch_impl``, ``tf_impl``) are tested against this package.
"""

from reference import activations, autodiff, gradcheck, initializers, losses, registry
from reference.layers import Dense
from reference.networks import Sequential

__all__ = ["Dense", "Sequential", "activations", "autodiff", "gradcheck", "initializers", "losses",
           "registry"]
