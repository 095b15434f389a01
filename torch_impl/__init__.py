"""nn-rosetta's PyTorch mirror: the spec's concepts in idiomatic ``torch.nn`` code.

Same module names and public names as ``reference``; gradients come from autograd.
"""

from torch_impl import activations, autodiff, losses
from torch_impl.convert import from_reference, to_reference, torch_dtype
from torch_impl.layers import Dense
from torch_impl.networks import Sequential
from torch_impl.runtime import configure_full_precision_determinism

__all__ = ["Dense", "Sequential", "activations", "autodiff", "configure_full_precision_determinism",
           "from_reference", "losses", "to_reference", "torch_dtype"]

# Learning: the perceptron rule, gradient descent, optimizers, training runs.
from torch_impl import initializers, optimizers, perceptron, training
from torch_impl.optimizers import gradient_descent
from torch_impl.perceptron import Perceptron
from torch_impl.training import fit

__all__ += ["Perceptron", "fit", "gradient_descent", "initializers", "optimizers", "perceptron",
            "training"]
