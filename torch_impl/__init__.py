"""nn-rosetta's PyTorch mirror: the spec's concepts in idiomatic ``torch.nn`` code.

Same module names and public names as ``reference``; gradients come from autograd.
"""

from torch_impl import (
    activations,
    autodiff,
    callbacks,
    convolution,
    initializers,
    losses,
    normalization,
    optimizers,
    perceptron,
    schedules,
    sequences,
    training,
)
from torch_impl.convert import from_reference, to_reference, torch_dtype
from torch_impl.convolution import (
    AveragePool2D,
    Conv1D,
    Conv2D,
    DepthwiseConv2D,
    GlobalAveragePooling2D,
    MaxPool2D,
)
from torch_impl.layers import Dense, Dropout, Flatten
from torch_impl.networks import Sequential
from torch_impl.optimizers import gradient_descent
from torch_impl.perceptron import Perceptron
from torch_impl.runtime import configure_full_precision_determinism
from torch_impl.training import fit
from torch_impl.weights import load_weights, save_weights

__all__ = ["Dense", "Dropout", "Flatten", "Perceptron", "Sequential", "activations", "autodiff",
           "callbacks", "configure_full_precision_determinism", "fit", "from_reference",
           "gradient_descent", "initializers", "load_weights", "losses", "normalization",
           "optimizers", "perceptron", "save_weights", "schedules", "sequences", "to_reference",
           "torch_dtype", "training"]
__all__ = ["AveragePool2D", "Conv1D", "Conv2D", "Dense", "DepthwiseConv2D", "Dropout", "Flatten",
           "GlobalAveragePooling2D", "MaxPool2D", "Perceptron", "Sequential", "activations",
           "autodiff", "configure_full_precision_determinism", "convolution", "fit",
           "from_reference", "gradient_descent", "initializers", "load_weights", "losses",
           "optimizers", "perceptron", "save_weights", "sequences", "to_reference", "torch_dtype",
           "training"]
