"""nn-rosetta's specification: every concept written once, from scratch, in NumPy.

The torch and TF mirrors (``torch_impl``, ``tf_impl``) are tested against this package.
"""

from reference import (
    activations,
    autodiff,
    callbacks,
    gradcheck,
    initializers,
    layers,
    layouts,
    losses,
    normalization,
    optimizers,
    perceptron,
    registry,
    schedules,
    sequences,
    training,
)
from reference.layers import Dense, Dropout, Flatten
from reference.networks import Sequential
from reference.normalization import BatchNormalization, LayerNormalization
from reference.optimizers import gradient_descent
from reference.perceptron import Perceptron
from reference.training import TrainingDiverged, fit
from reference.weights import load_weights, save_weights

__all__ = ["BatchNormalization", "Dense", "Dropout", "Flatten", "LayerNormalization", "Perceptron",
           "Sequential", "TrainingDiverged", "activations", "autodiff", "callbacks", "fit",
           "gradcheck", "gradient_descent", "initializers", "layers", "layouts", "load_weights",
           "losses", "normalization", "optimizers", "perceptron", "registry", "save_weights",
           "schedules", "sequences", "training"]
