"""nn-rosetta's specification: every concept written once, from scratch, in NumPy.

The torch and TF mirrors (``torch_impl``, ``tf_impl``) are tested against this package.
"""

from reference import activations, autodiff, gradcheck, initializers, losses, registry
from reference.layers import Dense
from reference.networks import Sequential

__all__ = ["Dense", "Sequential", "activations", "autodiff", "gradcheck", "initializers", "losses",
           "registry"]

# Learning: the perceptron rule, gradient descent, optimizers, training runs.
from reference import optimizers, perceptron, training
from reference.optimizers import gradient_descent
from reference.perceptron import Perceptron
from reference.training import TrainingDiverged, fit

__all__ += ["Perceptron", "TrainingDiverged", "fit", "gradient_descent", "optimizers",
            "perceptron", "training"]
