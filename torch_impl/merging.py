r"""The spec's merge layers in torch: expressions in ``forward``, not modules.

torch has no ``nn.Add`` or ``nn.Concatenate``: a torch user writes the operation in the
model's ``forward``, and autograd differentiates it. Each row of :data:`TRANSLATIONS`
holds a kind's expression on the list of input tensors (``compute``; on ``torch.fx``
proxies it writes the same lines into a graph's generated ``forward``) and how such lines
read back to the spec kind (``inputs``: the tensors a node of that form merges;
``layer``: the spec layer it is). With xs = [x_1, …, x_k]:

==============  =============================================  ===========================
spec            torch                                          reads back from
==============  =============================================  ===========================
Add             ``x_1 + x_2 + … + x_k``                        ``+`` (a left-nested chain)
Subtract        ``x_1 - x_2``                                  ``-``
Multiply        ``x_1 * x_2 * … * x_k``                        ``*`` (a left-nested chain)
Average         ``(x_1 + … + x_k) / k``                        a ``+`` chain of k, ``/ k``
Maximum         ``torch.stack(xs).max(dim=0).values``          that line
Concatenate     ``torch.cat(xs, dim=d)``                       ``torch.cat``
==============  =============================================  ===========================

Bridged conventions (measured with torch 2.13 and Keras 3.15 / TF 2.21):

* Maximum's ties: Keras folds ``ops.maximum`` and TF sends a tie's gradient to the first
  argument, so the first input holding the maximum gets all of g. ``torch.maximum(a, b)``
  splits a tie g/2 each (g/4, g/4, g/2 folded over three) and ``amax`` g/k each;
  ``torch.stack(xs).max(dim=0)`` returns the first maximum's index and sends g there.
* Average: Keras sums the inputs left to right, then divides by k (``average.py``); so do
  the spec and the expression here, rounding alike. (``torch.stack(xs).mean(dim=0)`` gave
  the same bits on CPU for 3 to 5 inputs, but torch documents no reduction order.)
* Concatenate's axis counts the batch axis (Keras's ``axis=-1``, the last); on a feature
  map, channels-last in the spec and Keras, torch's channels are ``dim=1`` and a spatial
  axis a is ``dim=a+1``.

Shape:
    x_i: (N, *S) → (N, *S); Concatenate: (N, …, d_i, …) → (N, …, Σ d_i, …) along ``dim``.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import fx

import reference
from reference.layouts import Context
from reference.merging import Merge


@dataclass(frozen=True)
class MergeTranslation:
    """One merge kind in torch, both ways.

    ``compute(xs, layer, context)``: the kind's expression on the list of tensors ``xs``
    (or ``torch.fx`` proxies, which record it as lines of a ``forward``); ``context``: the
    Context of the spec layer (its first input's shape, whether the inputs are feature
    maps). ``inputs(node)``: the nodes a ``torch.fx`` node of this kind's form merges, in
    order, or ``None`` when it is not this kind. ``layer(node, place, name)``: that node
    as a spec layer, ``place`` the Context of its inputs.
    """

    kind: str
    compute: Callable[[list, Merge, Context], object]
    inputs: Callable[[fx.Node], list[fx.Node] | None]
    layer: Callable[[fx.Node, Context, str], Merge]


def _is_call(node: object, targets: tuple) -> bool:
    return isinstance(node, fx.Node) and node.op == "call_function" and node.target in targets


def _chain(node: fx.Node, targets: tuple) -> list[fx.Node] | None:
    """The operands of ``node`` when it is a binary ``targets`` operation on two tensors,
    a left operand of the same operation used only here unfolded into its own operands:
    ``a + b + c`` is one Add of [a, b, c], as Keras's Add sums left to right."""
    if not _is_call(node, targets) or len(node.args) != 2 or node.kwargs or \
            not all(isinstance(a, fx.Node) for a in node.args):
        return None
    left, right = node.args
    inner = _chain(left, targets) if len(left.users) == 1 else None
    return [*(inner or [left]), right]


_ADD, _SUB, _MUL = (operator.add, torch.add), (operator.sub, torch.sub), (operator.mul, torch.mul)
_CAT = (torch.cat, torch.concat, torch.concatenate)


def _pair(node: fx.Node) -> list[fx.Node] | None:
    if not _is_call(node, _SUB) or len(node.args) != 2 or node.kwargs or \
            not all(isinstance(a, fx.Node) for a in node.args):
        return None
    return list(node.args)


def _average_inputs(node: fx.Node) -> list[fx.Node] | None:
    if not _is_call(node, (operator.truediv, torch.div)) or len(node.args) != 2 or node.kwargs:
        return None
    total, count = node.args
    operands = _chain(total, _ADD) if isinstance(total, fx.Node) and len(total.users) == 1 \
        else None
    return operands if operands is not None and count == len(operands) else None


def _maximum_inputs(node: fx.Node) -> list[fx.Node] | None:
    """``torch.stack(xs).max(dim=0).values``: getattr ← max(dim=0) ← stack(xs)."""
    if not _is_call(node, (getattr,)) or node.args[1:] != ("values",):
        return None
    found = node.args[0]
    if not (isinstance(found, fx.Node) and found.op == "call_method" and found.target == "max"
            and len(found.users) == 1):
        return None
    stacked, *rest = found.args
    dim = rest[0] if rest else found.kwargs.get("dim")
    if dim != 0 or not _is_call(stacked, (torch.stack,)) or len(stacked.users) != 1 or \
            (stacked.args[1:] or [stacked.kwargs.get("dim", 0)])[0] != 0:
        return None
    return list(stacked.args[0])


def _cat_inputs(node: fx.Node) -> list[fx.Node] | None:
    return list(node.args[0]) if _is_call(node, _CAT) else None


def _torch_dim(layer: reference.merging.Concatenate, context: Context) -> int:
    """Keras's ``axis`` (batch axis counted) as torch's ``dim`` on torch's layout."""
    if not context.feature_map:
        return layer.axis
    rank = len(context.input_shape) + 1
    axis = layer.axis % rank
    return 1 if axis == rank - 1 else axis + 1  # channels-last (N, H, W, C) → (N, C, H, W)


def _spec_axis(node: fx.Node, place: Context) -> int:
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
    if not place.feature_map:
        return dim
    rank = len(place.input_shape) + 1
    dim %= rank
    return -1 if dim == 1 else dim - 1 if dim > 1 else dim  # torch's channels-first back


def _kind(cls: type[Merge]) -> Callable[[fx.Node, Context, str], Merge]:
    return lambda node, place, name: cls(name=name)


TRANSLATIONS = (
    MergeTranslation("Add", lambda xs, layer, context: functools.reduce(operator.add, xs),
                     lambda node: _chain(node, _ADD), _kind(reference.merging.Add)),
    MergeTranslation("Subtract", lambda xs, layer, context: xs[0] - xs[1], _pair,
                     _kind(reference.merging.Subtract)),
    MergeTranslation("Multiply", lambda xs, layer, context: functools.reduce(operator.mul, xs),
                     lambda node: _chain(node, _MUL), _kind(reference.merging.Multiply)),
    # Keras's order: the sum folded left, then one division
    MergeTranslation("Average",
                     lambda xs, layer, context: functools.reduce(operator.add, xs) / len(xs),
                     _average_inputs, _kind(reference.merging.Average)),
    # the first input holding a tie gets the gradient, as in Keras (torch.maximum splits it)
    MergeTranslation("Maximum",
                     lambda xs, layer, context: torch.stack(xs).max(dim=0).values,
                     _maximum_inputs, _kind(reference.merging.Maximum)),
    # Keras's axis=-1 on a feature map is torch's dim=1, the channels
    MergeTranslation("Concatenate",
                     lambda xs, layer, context: torch.cat(xs, dim=_torch_dim(layer, context)),
                     _cat_inputs,
                     lambda node, place, name: reference.merging.Concatenate(
                         _spec_axis(node, place), name=name)),
)
