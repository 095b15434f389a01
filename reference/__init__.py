"""nn-rosetta's specification: every concept written once, from scratch, in NumPy.

The torch and TF mirrors (``torch_impl``, ``tf_impl``) are tested against this package.
"""

from reference import (
    activations,
    autodiff,
    callbacks,
    convolution,
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
from reference.convolution import (
    AveragePool2D,
    Conv1D,
    Conv2D,
    DepthwiseConv2D,
    GlobalAveragePooling2D,
    MaxPool2D,
    ZeroPadding2D,
)
from reference.layers import Activation, Dense, Dropout, Flatten, LeakyReLU, ReLU, Softmax
from reference.networks import Sequential
from reference.normalization import BatchNormalization, LayerNormalization
from reference.optimizers import gradient_descent
from reference.perceptron import Perceptron
from reference.training import TrainingDiverged, fit
from reference.weights import load_weights, save_weights

__all__ = ["Activation", "AveragePool2D", "BatchNormalization", "Conv1D", "Conv2D", "Dense",
           "DepthwiseConv2D", "Dropout", "Flatten", "GlobalAveragePooling2D", "LayerNormalization",
           "LeakyReLU", "MaxPool2D", "Perceptron", "ReLU", "Sequential", "Softmax",
           "TrainingDiverged", "ZeroPadding2D", "activations", "autodiff", "callbacks",
           "convolution", "fit", "gradcheck", "gradient_descent", "initializers", "layers",
           "layouts", "load_weights", "losses", "normalization", "optimizers", "perceptron",
           "registry", "save_weights", "schedules", "sequences", "training"]
