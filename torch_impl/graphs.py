"""Graph models in torch: the spec's ``reference.Model`` as a ``torch.fx.GraphModule``,
whose ``forward`` is the graph written out.

:func:`from_reference` gives a stock ``torch.fx.GraphModule``: one submodule per spec
layer, named as the layer (its stock modules from ``torch_impl.convert``'s table, an
``nn.Sequential`` when there are several: ``h.0.weight``; the module itself when there is
one: ``skip.weight``), and the merges as the expressions of ``torch_impl.merging``. Its
``.code`` reads as a hand-written forward::

    def forward(self, x):
        h = self.h(x)
        skip = self.skip(x)
        y = h + skip
        return y

so its ``state_dict`` loads into the class a torch user writes with those attribute
names. Feature maps are channels-first, as in the Sequential converter: an Input that
feeds a convolution (``reference.graphs.graph_contexts``) takes (N, C, H, W).

:func:`to_reference` reads a module a torch user writes (attributes, and a ``forward``
with ``+``, ``torch.cat`` …) by tracing it with ``torch.fx``: each chain of leaf modules
(each taking the previous one's output, which nothing else uses) is read by
``torch_impl.convert``'s reader, so ``nn.Linear`` then ``nn.ReLU`` is one Dense; each
merge expression by its row. Anything else in ``forward`` (``F.relu``, ``x.view``) is
refused, naming the node.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence

import numpy as np
from torch import fx, nn

import reference
from reference._validation import as_shape
from reference.graphs import SymbolicTensor, graph_contexts
from reference.layouts import Context, time_distributed
from torch_impl import convert, merging

MERGES = {row.kind: row for row in merging.TRANSLATIONS}
# The mirror of reference.Model: what from_reference gives, a stock torch class.
Model = fx.GraphModule


def attribute(name: str) -> str:
    """A spec layer's (or input's) name as a Python identifier: the attribute of its
    submodule, the variable of its tensor in ``forward`` ("Dense(4, 3)" → "Dense_4_3",
    "half" → "half_")."""
    identifier = re.sub(r"\W+", "_", name).strip("_") or "layer"
    identifier = f"_{identifier}" if identifier[0].isdigit() else identifier
    # a name nn.Module or Python already holds ("half", "train", "class") takes a trailing _
    taken = keyword.iskeyword(identifier) or hasattr(nn.Module, identifier)
    return f"{identifier}_" if taken else identifier


def _modules(module: nn.Module) -> list[nn.Module]:
    return list(module) if isinstance(module, nn.Sequential) else [module]


def _check_merges(where: str, model: reference.Model) -> None:
    """Refuse a merge layer of a feature map (channels-first in torch) and a tensor that is
    none (an Input reaching no convolution, taken as it is): torch added or concatenated
    (N, C, H, W) to (N, H, W, C), its error or, where the sizes match, other numbers."""
    maps = reference.graphs.feature_maps(model)
    for node in model.nodes:
        if node.layer.merges and len({maps[t.name] for t in node.inputs}) > 1:
            shown = ", ".join(f"{t.name!r} ({'a feature map' if maps[t.name] else 'none'})"
                              for t in node.inputs)
            raise TypeError(f"{where}: layer {node.name!r} merges {shown}: torch holds a "
                            "feature map channels-first and the other tensor as it comes, so "
                            "no torch expression computes the spec's numbers; give every "
                            "branch a convolution or pooling layer, or none")


def _check_layouts(where: str, model: reference.Model) -> None:
    """The Sequential's layout rules (``convert._check_layouts``) along a graph's tensors:
    refuse a layer taking the features last (nn.LSTM, nn.LayerNorm, attention, …) whose
    input torch holds channels-first (a feature map, ``reference.graphs.feature_maps``),
    and a convolution, pooling or nn.BatchNorm1d whose input torch holds with the features
    last (an Embedding's or a recurrent layer's output, an Input reaching no convolution).
    Without it nn.Conv1d read an Embedding's (N, T, D) as T channels and nn.LSTM a
    Conv1D's (N, C, L) as L steps of C: torch's error or, where the sizes match, other
    numbers (0.07 to 1.2 off)."""
    maps = reference.graphs.feature_maps(model)
    for node in model.nodes:
        layer = node.layer
        if layer.merges:
            continue  # _check_merges
        for source in node.inputs[:1] if not node.listed else node.inputs[:3]:
            shape, first = tuple(source.shape), maps[source.name]
            if len(shape) < 2:
                continue
            convolves = getattr(layer, "channels_last", False) and not isinstance(
                layer, reference.Reshape | reference.Permute)
            batch_norm = isinstance(layer, reference.BatchNormalization) and len(shape) == 2
            why = "its input is a feature map, channels-first in torch, and its module takes " \
                  "the features last" if first and isinstance(layer, convert._FEATURES_LAST) \
                else "its input comes with the features last in torch (per-sample shape " \
                     f"{shape}), and its module takes them on dim 1" if not first and (
                         convolves or batch_norm) else None
            if why:
                raise TypeError(f"{where}: layer {node.name!r} ({type(layer).__name__}) on "
                                f"{source.name!r}: {why}; no torch module computes the "
                                "spec's numbers there")


def from_reference(model: reference.Model) -> fx.GraphModule:
    """A ``torch.fx.GraphModule`` of stock modules computing the spec graph ``model``,
    its weights copied exactly (see the module docstring).

    Shape:
        one tensor per Input, (N, *shape) with a feature map channels-first; a tuple of
        outputs when ``model``'s outputs are a list.
    """
    _check_layouts("from_reference", model)
    return graph_module(model)


def graph_module(model: reference.Model, where: str = "from_reference") -> fx.GraphModule:
    """:func:`from_reference`'s module without its check that each layer reads its input
    in the layout torch holds it: for a caller that writes the layout changes itself
    (``nn_rosetta.port_graphs`` permutes a feature map where a layer takes the features
    last), as ``convert.modules_of`` for a Sequential."""
    _check_merges(where, model)
    places, root, graph = graph_contexts(model), nn.Module(), fx.Graph()
    values = {id(t): graph.placeholder(attribute(t.name)) for t in model.inputs}
    tracer = fx.proxy.GraphAppendingTracer(graph)
    for node in model.nodes:
        layer, name = node.layer, attribute(node.name)
        sources = [values[id(t)] for t in node.inputs]
        if layer.merges:
            result = MERGES[type(layer).__name__].compute(
                [fx.Proxy(s, tracer) for s in sources], layer, places[node.name]).node
            with graph.inserting_after(result):  # the merge's last line gets the layer's name
                named = graph.create_node(result.op, result.target, result.args,
                                          result.kwargs, name=name)
            result.replace_all_uses_with(named)
            graph.erase_node(result)
            values[id(node)] = named
        else:
            modules = convert._build(layer, places[node.name])
            root.add_module(name, modules[0] if len(modules) == 1 else nn.Sequential(*modules))
            # cross-attention takes (query, value, key), as Keras's layer
            values[id(node)] = graph.call_module(name, tuple(sources) if node.listed
                                                 else (sources[0],))
    outputs = [values[id(t)] for t in model.outputs]
    graph.output(tuple(outputs) if model.output_list else outputs[0])
    return fx.GraphModule(root, graph)


class _Tracer(fx.Tracer):
    """``torch.fx``'s tracer, with the project's small modules (``SMALL_MODULES``) kept as
    calls, as torch's own are."""

    def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
        return isinstance(module, convert.SMALL_MODULES) or \
            super().is_leaf_module(module, qualified_name)


def _refused(node: fx.Node) -> TypeError:
    target = node.target if isinstance(node.target, str) else getattr(
        node.target, "__name__", repr(node.target))
    return TypeError(
        f"to_reference: node {node.name!r} of forward ({node.op} {target}) has no spec "
        "counterpart; a graph reads modules (nn.Linear, nn.Conv2d …, one tensor in) and the "
        "merges a + b, a - b, a * b, (a + b) / 2, torch.stack([a, b]).max(dim=0).values, "
        "torch.cat([a, b], dim)")


def _group_name(root: nn.Module, targets: list[str]) -> str:
    """A spec layer's name from the targets of its modules: a container's name when they
    are all of its children (``h.0``, ``h.1`` → ``h``), else the first one's."""
    parent = targets[0].rpartition(".")[0]
    if parent and len(targets) == len(list(root.get_submodule(parent).children())) and \
            all(t.rpartition(".")[0] == parent for t in targets):
        return attribute(parent)
    return attribute(targets[0])


def _convolves(layers: list[reference.layers.Layer]) -> bool:
    """Whether a chain of spec layers convolves or pools before any Flatten."""
    for layer in layers:
        if getattr(layer, "channels_last", False):
            return True
        if isinstance(layer, reference.layers.Flatten):
            return False
    return False


def _leaves(root: nn.Module, target: str) -> list[str]:
    """The modules a ``call_module`` node runs: an ``nn.Sequential``'s children (a
    GraphModule's node calls its container), else the module itself."""
    called = root.get_submodule(target)
    if isinstance(called, nn.Sequential):
        return [f"{target}.{name}" for name, _ in called.named_children()]
    return [target]


def _read_graph(module: nn.Module, input_shapes: list[tuple[int, ...]],
                feature_inputs: set[str], convolved: set[str]
                ) -> tuple[reference.Model, dict[str, list[nn.Module]]]:
    """The spec graph of ``module`` (weights not yet copied) and each spec layer's torch
    modules by name; ``feature_inputs``: the inputs taken as feature maps. The names of the
    inputs found feeding a convolution are added to ``convolved``, even when the reading
    fails."""
    # a GraphModule's own graph keeps its node names (tracing it again would rename them)
    graph = module.graph if isinstance(module, fx.GraphModule) else _Tracer().trace(module)
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    if len(input_shapes) != len(placeholders):
        raise ValueError(f"to_reference: forward takes {len(placeholders)} inputs "
                         f"{[n.name for n in placeholders]}, got {len(input_shapes)} "
                         "input_shapes")
    (output,) = [n for n in graph.nodes if n.op == "output"]
    returned = output.args[0]
    output_list = isinstance(returned, list | tuple)
    outputs = list(returned) if output_list else [returned]
    if not all(isinstance(n, fx.Node) for n in outputs):  # a dict, a constant
        raise TypeError(f"to_reference: forward must return a tensor or a tuple of tensors, "
                        f"got {type(returned).__name__}")
    tensors: dict[fx.Node, SymbolicTensor] = {
        n: reference.Input(shape, name=n.name)
        for n, shape in zip(placeholders, input_shapes, strict=True)}
    maps = {id(tensors[n]): n.name in feature_inputs and len(tensors[n].shape) > 1
            for n in placeholders}
    found: dict[str, list[nn.Module]] = {}

    def connect(layer: reference.layers.Layer, sources: list[SymbolicTensor]) -> SymbolicTensor:
        try:
            tensor = layer(sources if layer.merges or len(sources) > 1 else sources[0])
        except (TypeError, ValueError) as error:
            raise type(error)(f"to_reference: {error}") from None
        maps[id(tensor)] = len(tensor.shape) > 1 and \
            not isinstance(layer, reference.layers.Flatten) and (
                all(maps[id(s)] for s in sources) or getattr(layer, "channels_last", False))
        return tensor

    def on_sequence(layer: reference.layers.Layer, h: SymbolicTensor) -> reference.layers.Layer:
        """An nn.Linear on a sequence (N, T, features) acts at every step: the spec's
        TimeDistributed(Dense) (a Transformer's feed-forward after attention)."""
        if isinstance(layer, reference.Dense) and len(h.shape) == 2 and not maps[id(h)]:
            return reference.sequences.TimeDistributed(layer)
        return layer

    def chain_end(node: fx.Node) -> bool:
        return len(node.users) != 1 or node in outputs

    def listed(node: fx.Node) -> SymbolicTensor:
        """A module called on several tensors: cross-attention, (query, value, key)."""
        if node.kwargs or not all(isinstance(a, fx.Node) for a in node.args):
            raise _refused(node)
        sources = [resolve(a) for a in node.args]
        targets = _leaves(module, node.target)
        modules = [module.get_submodule(target) for target in targets]
        read = convert._read(modules, sources[0].shape, feature_map=False)
        if len(read) != 1 or not getattr(read[0][0], "takes_list", False):
            raise _refused(node)
        layer = read[0][0]
        layer.name = _group_name(module, targets)
        found[layer.name] = modules
        tensors[node] = connect(layer, sources)
        return tensors[node]

    def resolve(node: fx.Node) -> SymbolicTensor:
        if node in tensors:
            return tensors[node]
        if node.op == "call_module" and len(node.args) > 1:
            return listed(node)
        if node.op == "call_module":
            chain = [node]
            while (before := chain[0].args[0] if chain[0].args else None) is not None and \
                    isinstance(before, fx.Node) and before.op == "call_module" and \
                    len(before.args) == 1 and not chain_end(before):
                chain.insert(0, before)
            if any(len(n.args) != 1 or n.kwargs for n in chain):
                raise _refused(next(n for n in chain if len(n.args) != 1 or n.kwargs))
            h = resolve(chain[0].args[0])
            targets = [target for n in chain for target in _leaves(module, n.target)]
            modules = [module.get_submodule(target) for target in targets]
            read = convert._read(modules, h.shape, feature_map=maps[id(h)])
            if h.layer is None and _convolves([layer for layer, _ in read]):
                maps[id(h)] = len(h.shape) > 1  # an Input feeding a convolution: see _walk
                convolved.add(h.name)
            for layer, (_, positions) in zip(time_distributed([r[0] for r in read]), read,
                                             strict=True):
                layer = on_sequence(layer, h)
                layer.name = _group_name(module, targets[positions.start:positions.stop])
                found[layer.name] = modules[positions.start:positions.stop]
                h = connect(layer, [h])
        else:
            row = next(((row, inputs) for row in MERGES.values()
                        if (inputs := row.inputs(node)) is not None), None)
            if row is None:
                raise _refused(node)
            sources = [resolve(source) for source in row[1]]
            place = Context(sources[0].shape, feature_map=all(maps[id(s)] for s in sources))
            h = connect(row[0].layer(node, place, node.name), sources)
        tensors[node] = h
        return h

    taken = [resolve(n) for n in outputs]
    given = [tensors[n] for n in placeholders]
    try:
        spec = reference.Model(given if len(given) > 1 else given[0],
                               taken if output_list else taken[0])
    except (TypeError, ValueError) as error:
        raise type(error)(f"to_reference: {error}") from None
    return spec, found


def _walk(module: nn.Module, input_shapes: Sequence) -> tuple[reference.Model,
                                                               dict[str, list[nn.Module]]]:
    """:func:`_read_graph` with the inputs that feed a convolution taken as feature maps.

    The first reading marks an Input as one when the chain read from it convolves; the
    layers it read before that knew no better (a ReLU of the image read first, then
    concatenated with a convolution of it along torch's dim 1, fails there), and a
    convolution reached from an Input only through a merge is known once the whole graph
    is read: so the graph is read again while a reading finds more such Inputs, or
    ``graph_contexts`` of a complete reading does."""
    shapes = [tuple(input_shapes)] if all(isinstance(n, int) for n in input_shapes) else \
        [tuple(shape) for shape in input_shapes]
    feature_inputs: set[str] = set()
    while True:
        convolved: set[str] = set()
        try:
            spec, found = _read_graph(module, shapes, feature_inputs, convolved)
        except (TypeError, ValueError):
            if convolved <= feature_inputs:
                raise
            feature_inputs |= convolved
            continue
        places = graph_contexts(spec)
        found_maps = {t.name for t in spec.inputs if places[t.name].feature_map}
        if found_maps <= feature_inputs:
            return spec, found
        feature_inputs |= found_maps


def _shapes(input_shapes: object) -> list[tuple[int, ...]]:
    """``input_shapes`` as one per-sample shape per input, each checked (positive whole
    numbers, or None for a sequence of any length), before any tracing: one shape of
    integers (and None) stands for a single input."""
    if isinstance(input_shapes, str | bytes) or not isinstance(input_shapes, list | tuple) or \
            not input_shapes:
        raise TypeError(f"to_reference: input_shapes must be a list of per-sample shapes, one "
                        f"per input of forward, got {input_shapes!r}")
    single = all(n is None or isinstance(n, int | np.integer) for n in input_shapes)
    return [as_shape("to_reference", "input_shapes" if single else f"input_shapes[{k}]",
                     shape, any_length=True)
            for k, shape in enumerate([input_shapes] if single else input_shapes)]


def _named(error: Exception) -> Exception:
    """``error`` with its message starting ``to_reference:``, the entry point's name."""
    text = str(error)
    return error if text.startswith("to_reference:") else type(error)(f"to_reference: {text}")


def to_reference(module: nn.Module, *, input_shapes: Sequence) -> reference.Model:
    """The spec graph equal to a torch module whose ``forward`` wires stock modules with
    merge expressions (see the module docstring), its weights copied exactly.

    ``input_shapes``: one per-sample shape per argument of ``forward``, in the spec's
    layout (a feature map channels-last: (H, W, C)), a None size for a sequence of any
    length (``(None,)`` token ids, ``(None, 8)`` vectors); a single shape for one argument.
    """
    try:
        spec, found = _walk(module, _shapes(input_shapes))
    except (TypeError, ValueError) as error:  # a spec layer's refusal, named as it is
        raise _named(error) from None
    _check_merges("to_reference", spec)  # read as the spec's, the branches must be so
    places = graph_contexts(spec)
    for layer in spec.layers:
        if layer.name in found:
            for name, array in convert._copy_out(layer, found[layer.name],
                                                 places[layer.name]).items():
                layer.set(name, array)
    return spec


def gradients_to_reference(module: nn.Module, spec: reference.Model
                           ) -> dict[str, dict[str, np.ndarray]]:
    """Each spec layer's gradients by name (``spec.gradients``' structure) from the
    ``.grad`` that ``loss.backward()`` left on ``module`` = ``from_reference(spec)``,
    laid out as the spec's; a layer without parameters gets an empty dict."""
    places = graph_contexts(spec)
    return {layer.name: convert._copy_out(
        layer, _modules(module.get_submodule(attribute(layer.name))), places[layer.name],
        gradients=True) if layer.parameter_names else {} for layer in spec.layers}
