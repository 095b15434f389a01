"""nn-rosetta's PyTorch mirror: the spec's concepts in idiomatic ``torch.nn`` code.

Same module names as ``reference``; gradients come from autograd. ``from_reference`` gives
a plain ``nn.Sequential`` of stock ``torch.nn`` modules (and the few small modules of
``SMALL_MODULES``, each a step torch has no class for); a model with feature maps takes
torch's channels-first input; a spec graph (``reference.Model``) becomes a
``torch.fx.GraphModule`` whose ``forward`` is the graph (``torch_impl.graphs``).
"""

from torch_impl import (
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
    perceptron,
    schedules,
    sequences,
    training,
    weights,
)
from torch_impl.convert import SMALL_MODULES, from_reference, to_reference, torch_dtype
from torch_impl.networks import Sequential
from torch_impl.optimizers import gradient_descent
from torch_impl.perceptron import Perceptron
from torch_impl.runtime import configure_full_precision_determinism
from torch_impl.training import fit
from torch_impl.weights import load_weights, save_weights

# the small modules of layers.py and normalization.py (Reshape and Permute; Keras's
# preprocessing), beside those convert.py collects
SMALL_MODULES = (*SMALL_MODULES, *layers.SMALL_MODULES, *normalization.SMALL_MODULES)

__all__ = [
    "SMALL_MODULES",
    "Perceptron",
    "Sequential",
    "activations",
    "autodiff",
    "callbacks",
    "configure_full_precision_determinism",
    "convert",
    "convolution",
    "fit",
    "from_reference",
    "gradient_descent",
    "graphs",
    "initializers",
    "layers",
    "load_weights",
    "losses",
    "merging",
    "networks",
    "normalization",
    "optimizers",
    "perceptron",
    "save_weights",
    "schedules",
    "sequences",
    "to_reference",
    "torch_dtype",
    "training",
    "weights",
]
