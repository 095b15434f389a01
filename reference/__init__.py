"""nn-rosetta's specification: every concept written once, from scratch, in NumPy.

The torch and TF mirrors (``torch_impl``, ``tf_impl``) are tested against this package.
"""

from reference import (
    activations,
    autodiff,
    callbacks,
    convolution,
    gradcheck,
    graphs,
    initializers,
    layers,
    layouts,
    losses,
    merging,
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
    Conv2DTranspose,
    Cropping2D,
    DepthwiseConv2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    SeparableConv2D,
    UpSampling2D,
    ZeroPadding2D,
)
from reference.graphs import Input, Model
from reference.layers import (
    Activation,
    Dense,
    Dropout,
    Flatten,
    LeakyReLU,
    Permute,
    ReLU,
    Reshape,
    Softmax,
)
from reference.merging import Add, Average, Concatenate, Maximum, Multiply, Subtract
from reference.networks import Sequential
from reference.normalization import BatchNormalization, LayerNormalization, Normalization, Rescaling
from reference.optimizers import gradient_descent
from reference.perceptron import Perceptron
from reference.training import TrainingDiverged, fit
from reference.weights import load_weights, save_weights

__all__ = ["Activation", "Add", "Average", "AveragePool2D", "BatchNormalization",
           "Concatenate", "Conv1D", "Conv2D", "Conv2DTranspose", "Cropping2D", "Dense",
           "DepthwiseConv2D", "Dropout", "Flatten", "GlobalAveragePooling1D",
           "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Input", "LayerNormalization",
           "LeakyReLU", "MaxPool2D", "Maximum", "Model", "Multiply", "Normalization",
           "Perceptron", "Permute", "ReLU", "Rescaling", "Reshape", "SeparableConv2D",
           "Sequential", "Softmax", "Subtract", "TrainingDiverged", "UpSampling2D",
           "ZeroPadding2D", "activations", "autodiff", "callbacks", "convolution", "fit",
           "gradcheck", "gradient_descent", "graphs", "initializers", "layers", "layouts",
           "load_weights", "losses", "merging", "normalization", "optimizers",
           "perceptron", "registry", "save_weights", "schedules", "sequences", "training"]
