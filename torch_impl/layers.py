"""The spec's layers as the stock ``torch.nn`` modules a torch user writes.

* Dense is ``nn.Linear`` followed by its activation module (``nn.ReLU()``, ``nn.Tanh()``
  …; none for the identity). ``nn.Linear`` stores ``weight`` as (out, in) and computes
  ``x weightᵀ + bias``; the spec's W is (in, out), so ``torch_impl.from_reference``
  copies ``W.T`` into ``weight`` (``reference.layouts`` holds that rule as data). Default
  initialisation differs too: ``nn.Linear`` draws weight and bias from U(±1/√in_features),
  where the spec (like Keras) draws a Glorot-uniform kernel and a zero bias; parity copies
  the weights, so the initialisers never meet.
* ``kernel_regularizer`` (λ of the spec's L2 loss term λ‖W‖², Keras's ``L2(λ)``) has no
  ``nn.Linear`` counterpart: torch users write the term into the loss, and
  ``torch_impl.fit`` does so for the parameters its ``l2`` argument names
  (``torch_impl.convert.l2_penalties(spec_model)`` lists the spec's). ``weight_decay=2λ``
  would give the kernel the same step but decay the bias too.
* Flatten is ``nn.Flatten``: it flattens from axis 1 in row-major order, as the spec does.
  On torch's channels-first images that order is (c, h, w), not the spec's and Keras's
  (h, w, c).
* Dropout is ``nn.Dropout(p)``: inverted dropout, like the spec's. A torch module starts
  in training mode, so it drops until ``module.eval()``; the spec's and Keras's layers
  default to inference.

Input policy: ``nn.Linear`` takes an unbatched (in_features,) vector as one sample and
raises its own "mat1 and mat2" errors on a width or dtype mismatch. The project's entry
points (``torch_impl.fit``, the parity harness) check inputs against the spec's policy
before they reach the model; the modules themselves are torch's, unchanged.

The translation rows below (``TRANSLATIONS``) are this file's part of
``torch_impl.convert.TRANSLATIONS``: each kind's modules, how they read back, and the
port's code.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

import reference
from reference.layouts import Context
from torch_impl._table import (
    Read,
    Template,
    Translation,
    following,
    numpy_dtype,
    torch_dtype,
)
from torch_impl.activations import MODULE_CLASSES, as_modules, from_module


def _dense(layer: reference.Dense, context: Context) -> list[nn.Module]:
    linear = nn.Linear(layer.in_features, layer.out_features, dtype=torch_dtype(layer.dtype))
    return [linear, *as_modules(layer.activation, linear.weight.dtype)]


def _read_dense(modules: Sequence[nn.Module], i: int, shape: tuple[int, ...] | None) -> Read:
    linear, activation = modules[i], following(modules, i + 1, MODULE_CLASSES)
    if linear.bias is None:
        raise TypeError(f"module {i} (nn.Linear) has no bias; the spec's Dense always has one")
    spec_activation = "identity" if activation is None else \
        from_module(activation, f"module {i + 1}")
    return (reference.Dense(linear.in_features, linear.out_features, spec_activation,
                            dtype=numpy_dtype(linear.weight)), 1 + (activation is not None))


def _read_flatten(modules: Sequence[nn.Module], i: int, shape: tuple[int, ...] | None
                  ) -> Read:
    flatten = modules[i]
    if (flatten.start_dim, flatten.end_dim) != (1, -1):
        raise TypeError(f"module {i} flattens axes {flatten.start_dim}..{flatten.end_dim}; "
                        "the spec's Flatten keeps the batch axis and flattens all others "
                        "(1..-1)")
    return reference.layers.Flatten(), 1


TRANSLATIONS = (
    Translation("Dense", _dense, _read_dense, (nn.Linear,),
                Template("nn.Linear({in_features}, {out_features})")),
    Translation("Flatten", lambda layer, context: [nn.Flatten()], _read_flatten, (nn.Flatten,),
                Template("nn.Flatten()", layout="any")),
    Translation("Dropout", lambda layer, context: [nn.Dropout(layer.rate)],
                lambda modules, i, shape: (reference.layers.Dropout(modules[i].p), 1),
                (nn.Dropout,), Template("nn.Dropout({rate})", layout="any")),
)
