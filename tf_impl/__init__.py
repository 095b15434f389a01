"""nn-rosetta's TensorFlow/Keras mirror: the spec's concepts in idiomatic Keras 3 code.

Same module names and public names as ``reference``; gradients come from
``tf.GradientTape``. Importing this package quiets TF's C++ logging and turns off
oneDNN's reordered kernels, unless the environment already says otherwise, and loads
triton where it is installed; each must happen before TensorFlow is first imported.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

# triton (which a CUDA build of torch brings, and torch.optim loads) segfaults when it is
# loaded after TensorFlow ≥ 2.20, whose libraries load with RTLD_GLOBAL
# (tensorflow/tensorflow#124205); loaded first it is safe. The CPU torch has no triton.
try:
    import triton  # noqa: F401
except ImportError:
    pass

from tf_impl import (
    activations,
    autodiff,
    callbacks,
    convert,
    convolution,
    graphs,
    initializers,
    layers,
    losses,
    merging,
    networks,
    normalization,
    optimizers,
    parallel,
    perceptron,
    runtime,
    schedules,
    sequences,
    training,
    weights,
)
from tf_impl.convert import from_reference, to_reference
from tf_impl.convolution import (
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
from tf_impl.layers import (
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
from tf_impl.networks import Sequential
from tf_impl.normalization import Normalization, Rescaling
from tf_impl.optimizers import gradient_descent
from tf_impl.perceptron import Perceptron
from tf_impl.runtime import configure_full_precision_determinism
from tf_impl.training import fit
from tf_impl.weights import load_weights, save_weights

__all__ = ["Activation", "AveragePool2D", "Conv1D", "Conv2D", "Conv2DTranspose",
           "Cropping2D", "Dense", "DepthwiseConv2D", "Dropout", "Flatten",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
           "LeakyReLU", "MaxPool2D", "Normalization", "Perceptron", "Permute", "ReLU",
           "Rescaling", "Reshape", "SeparableConv2D", "Sequential", "Softmax",
           "UpSampling2D", "ZeroPadding2D", "activations", "autodiff", "callbacks",
           "configure_full_precision_determinism", "convert", "convolution", "fit",
           "from_reference", "gradient_descent", "graphs", "initializers", "layers",
           "load_weights", "losses", "merging", "networks", "normalization", "optimizers",
           "parallel", "perceptron", "runtime", "save_weights", "schedules", "sequences",
           "to_reference", "training", "weights"]
