"""Graph models in Keras: the spec's ``reference.Model`` as a functional ``keras.Model``.

:func:`from_reference` writes the graph as a Keras user does::

    x = keras.Input((4,), name="x", dtype="float64")
    h = keras.layers.Dense(8, activation="relu", dtype="float64", name="h")(x)
    y = keras.layers.Add(dtype="float64", name="y")([h, skip(x)])
    model = keras.Model(x, y)

one ``keras.Input`` per spec Input, each spec layer by its row of the translation table
(``tf_impl.convert.TRANSLATIONS``; the merge layers' rows are ``tf_impl.merging``'s) with
its weights copied as ``tf_impl.convert`` copies a Sequential's, every Keras layer named
as its spec layer (a second Keras layer of one spec layer, an activation layer after a
Dense, gets ``name_1``).

:func:`to_reference` reads a functional model back from its public wiring,
``model.get_config()`` (each layer's inbound tensors by producer name): the layers that
take one tensor form chains (each taking the previous one's output, which nothing else
uses), read by ``tf_impl.convert``'s chain reader, so a Dense and its Activation layer
are one spec Dense as in a Sequential; a merge layer is read by its row. A nested model
(a ``keras.Sequential`` or functional ``keras.Model`` called once as a layer) is first
flattened by :func:`flatten`: its layers join the outer graph under their own names, or
``<nested model>_<layer>`` where that name is taken; an outer ``keras.Sequential`` holding
a nested model is flattened the same way (``tf_impl.convert.to_reference`` and the port
read it flattened). Refused by name: a layer or nested
model called more than once (shared weights; the spec calls each layer once), a layer
without a spec counterpart (a ``Lambda``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import reference
from reference.graphs import graph_contexts
from reference.layouts import time_distributed
from tf_impl import convert

# The mirror of reference.Model: what from_reference gives, Keras's functional model.
Model = keras.Model


def from_reference(model: reference.Model) -> keras.Model:
    """A functional ``keras.Model`` of stock layers computing the spec graph ``model``, its
    weights copied exactly (see the module docstring).

    Shape:
        as the spec model's: one (N, *shape) array per Input, one per output.
    """
    convert.check_graph_masks("from_reference", model)
    dtype, places, tensors = model.dtype.name, graph_contexts(model), {}
    for kind, name in [*(("Input", t.name) for t in model.inputs),
                       *(("layer", node.name) for node in model.nodes)]:
        # keras.Input refuses a '/' in its own words, naming neither; a layer's name is
        # set below, past Keras's check, and would nest its weights' paths
        if "/" in name:
            raise ValueError(f"from_reference: {kind} {name!r} holds '/', which Keras "
                             "refuses in a name (it separates name scopes); rename it")
    for tensor in model.inputs:
        tensors[id(tensor)] = keras.Input(
            tensor.shape, name=tensor.name,
            dtype={"indices": "int64", "mask": "bool"}.get(model.input_kind(tensor), dtype))
    for node in model.nodes:
        row = convert._translation(node.layer, "from_reference")
        made = row.build(node.layer, places[node.name], dtype) if node.layer.merges else \
            convert._keras_layers(node.layer, places[node.name], dtype)  # weights copied
        for k, keras_layer in enumerate(made):
            keras_layer.name = node.name if k == 0 else f"{node.name}_{k}"
        sources = [tensors[id(t)] for t in node.inputs]
        h = row.call(made[0], sources if node.listed else sources[0],
                     **row.options(node.layer))
        for keras_layer in made[1:]:
            h = keras_layer(h)
        tensors[id(node)] = h
    inputs = [tensors[id(t)] for t in model.inputs]
    outputs = [tensors[id(t)] for t in model.outputs]
    return keras.Model(inputs if model.input_list else inputs[0],
                       outputs if model.output_list else outputs[0])


def _names(entries: list) -> tuple[list[str], bool]:
    """The layer names of ``get_config()``'s ``input_layers`` or ``output_layers``, and
    whether the model was given a list (a single tensor's entry is one [name, 0, 0])."""
    listed = bool(entries) and isinstance(entries[0], list)
    return [entry[0] for entry in (entries if listed else [entries])], listed


def _is_tensor(value: object) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


# The call arguments a spec graph reads: attention's key and attention_mask, tensors after
# the positional query and value (the spec's list [query, value, key, mask]);
# use_causal_mask, which becomes the spec layer's option of that name.
_TENSOR_KEYWORDS = ("key", "attention_mask")
_OPTIONS = ("use_causal_mask",)


def _sources(entry: dict, name: str = "") -> tuple[list[str], bool]:
    """The producer names of one call's tensors (from ``get_config()``), and whether the
    call took a list (a merge layer's); a tensor keyword argument the spec has no place
    for (attention's ``value_mask``) is refused, naming the layer ``name``."""
    args, kwargs = entry["args"], entry.get("kwargs") or {}
    merged = len(args) == 1 and isinstance(args[0], list)
    tensors = list(args[0] if merged else args)
    if not merged and len(tensors) > 3:  # attention's query_mask … given by position
        raise TypeError(f"to_reference: layer {name!r} is called with {len(tensors)} "
                        "positional tensors; the spec reads at most query, value and key")
    given = {keyword: kwargs[keyword] for keyword in _TENSOR_KEYWORDS
             if _is_tensor(kwargs.get(keyword))}
    if "key" in given:
        tensors.append(given["key"])
    if "attention_mask" in given:
        if len(tensors) == 2:  # no key: the value is the key
            tensors.append(tensors[1])
        tensors.append(given["attention_mask"])
    for keyword, value in kwargs.items():
        if keyword in _TENSOR_KEYWORDS:
            continue
        if _is_tensor(value) or (isinstance(value, list) and any(map(_is_tensor, value))):
            raise TypeError(f"to_reference: layer {name!r} is called with the tensor "
                            f"{keyword}=…; a spec graph's layers take their tensors as "
                            "inputs, not as keyword arguments")
    return [t["config"]["keras_history"][0] for t in tensors], merged


def _options(entry: dict) -> dict[str, object]:
    """The call's options that are the spec layer's (``use_causal_mask``), where given."""
    kwargs = entry.get("kwargs") or {}
    return {keyword: kwargs[keyword] for keyword in _OPTIONS if kwargs.get(keyword)}


def check_operations(model: keras.Model, where: str) -> None:
    """A functional ``model`` (and each model nested in it) computes with layers only: a
    ``keras.ops`` call on a symbolic tensor (``keras.ops.softmax(x)``, ``x + 1``) is an
    operation of the model that is no layer (not in ``model.layers``), which the readers
    would pass over, leaving the spec without it. Refused by name, before anything is read.
    A plain ``keras.Sequential`` holds layers only (the readers take an Embedding's
    ``mask_zero`` from the layer); one holding a nested model is read through the
    functional model of its wiring, which holds the operations Keras adds between its
    layers (``mask_zero``'s mask, a ``NotEqual``), as a functional model does."""
    if isinstance(model, keras.Sequential):
        if not any(isinstance(layer, keras.Model) for layer in model.layers):
            return
        model = _as_functional(model)
    found = [operation for operation in model.operations
             if not isinstance(operation, keras.Layer)]
    if found:
        named = ", ".join(f"{operation.name!r} (keras.ops, {type(operation).__name__})"
                          for operation in found)
        masks = [layer.name for layer in model.layers if getattr(layer, "mask_zero", False)]
        why = (f"a mask made from the zeros of the input of {', '.join(map(repr, masks))} "
               "(mask_zero=True), which " + (
                   "no plain torch module applies: it ports without mask_zero" if
                   where == "port" else "the spec reads in a plain keras.Sequential only")
               ) if masks and all(type(operation).__name__ == "NotEqual"
                                  for operation in found) else \
            "write each as a layer (keras.layers.Activation, Softmax, Add, Reshape, …)"
        raise TypeError(f"{where}: model {model.name!r} computes {named} outside any layer, "
                        f"which {where} cannot read; {why}")
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            check_operations(layer, where)


def is_chain(model: keras.Model) -> bool:
    """Whether a functional ``model`` is a chain (one input, one output, each layer called
    once on the previous one's output, self-attention on it twice, no nested model): what
    ``tf_impl.convert`` reads as a ``reference.Sequential``."""
    if any(isinstance(layer, keras.Model) for layer in model.layers):
        return False  # a nested model: the graph reader flattens it
    config = model.get_config()
    (inputs, _), (outputs, _) = _names(config["input_layers"]), _names(config["output_layers"])
    if len(inputs) != 1 or len(outputs) != 1:
        return False
    previous = inputs[0]
    for entry in config["layers"][1:]:
        if len(entry["inbound_nodes"]) != 1:
            return False
        sources, merged = _sources(entry["inbound_nodes"][0], entry["name"])
        if merged or set(sources) != {previous} or _options(entry["inbound_nodes"][0]):
            return False  # a call option (a causal mask): the graph reader keeps it
        previous = entry["name"]
    return previous == outputs[0]


def _takes_list(layer: keras.Layer) -> bool:
    """Whether the spec kind of ``layer`` takes a list of tensors (attention)."""
    row = next((row for row in convert.TRANSLATIONS.values() if isinstance(layer, row.reads)),
               None)
    return row is not None and getattr(reference.layers.LAYERS.get(row.kind), "takes_list",
                                       False)


def _wiring(model: keras.Model) -> tuple[dict, dict[str, list[str]], dict[str, bool]]:
    """The config, each layer's sources by name, and whether it takes a list (a merge
    layer; attention on tensors other than one x twice) of a flat ``model``; shared layers
    refused by name."""
    config, sources, merges = model.get_config(), {}, {}
    for entry in config["layers"]:
        name, calls = entry["name"], len(entry["inbound_nodes"])
        if calls > 1:
            raise ValueError(f"to_reference: layer {name!r} ({entry['class_name']}) is called "
                             f"{calls} times; a spec graph calls each layer once (it keeps one "
                             "forward's values): use one layer per call and copy the weights")
        if calls:
            sources[name], merges[name] = _sources(entry["inbound_nodes"][0], name)
            if len(set(sources[name])) > 1 and _takes_list(model.get_layer(name)):
                merges[name] = True  # cross-attention: [query, value(, key)]
            if not merges[name] and len(set(sources[name])) > 1:
                raise TypeError(f"to_reference: layer {name!r} ({entry['class_name']}) takes "
                                f"the tensors of {sorted(set(sources[name]))}; a spec layer "
                                "other than a merge layer takes one tensor")
    return config, sources, merges


def _as_functional(model: keras.Model) -> keras.Model:
    """A nested model as a functional model of its own layers (a Sequential's wiring)."""
    if isinstance(model, keras.Sequential):
        return keras.Model(model.inputs[0], model.outputs[0], name=model.name)  # one each
    return model


def _rewired(value: Any, tensors: dict[str, list[dict]], renamed: dict[str, str]) -> Any:
    """``value`` (a call's arguments from ``get_config()``) with each tensor of a layer in
    ``tensors`` replaced by the tensor standing for it, and each producer in ``renamed``
    under its new name."""
    if _is_tensor(value):
        name, node, index = value["config"]["keras_history"]
        if name in tensors:
            return tensors[name][index]
        if name in renamed:
            return {**value, "config": {**value["config"],
                                        "keras_history": [renamed[name], node, index]}}
        return value
    if isinstance(value, list | tuple):  # a call's args are a tuple
        return type(value)(_rewired(item, tensors, renamed) for item in value)
    if isinstance(value, dict):
        return {key: _rewired(item, tensors, renamed) for key, item in value.items()}
    return value


def _history(entry: list, tensor: keras.KerasTensor | None = None) -> dict:
    """A tensor as ``get_config()`` writes it: its producer, node and output index
    (``entry``), and where given the shape and dtype of ``tensor``."""
    known = {} if tensor is None else {"shape": list(tensor.shape), "dtype": tensor.dtype}
    return {"class_name": "__keras_tensor__", "config": {**known, "keras_history": entry}}


def constants(layer: keras.Layer) -> dict[str, Any]:
    """The constructor arguments of ``layer`` that are no weights and that its config
    writes as lists (a Normalization's given statistics): Keras reads those back through
    float32, where float64 arrays given stay float64. A copy of the layer made from its
    config with these computes as ``layer`` does."""
    if isinstance(layer, keras.layers.Normalization) and layer.input_mean is not None:
        return {"mean": layer.input_mean, "variance": layer.input_variance}
    return {}


def _flat_config(model: keras.Model, where: str) -> tuple[dict, dict[str, keras.Layer]]:
    """``model``'s ``get_config()`` with each nested model inlined (recursively), and the
    Keras layer each entry of it stands for, by name."""
    config = model.get_config()
    nested = {entry["name"] for entry in config["layers"]
              if isinstance(model.get_layer(entry["name"]), keras.Model)}
    taken = {entry["name"] for entry in config["layers"] if entry["name"] not in nested}
    layers, owners, tensors = [], {}, {}
    for entry in config["layers"]:
        name, layer = entry["name"], model.get_layer(entry["name"])
        if name not in nested:
            layers.append({**entry, "config": {**entry["config"], **constants(layer)},
                           "inbound_nodes": _rewired(entry["inbound_nodes"], tensors, {})})
            owners[name] = layer
            continue
        calls = len(entry["inbound_nodes"])
        if calls != 1:
            raise ValueError(f"{where}: layer {name!r} is a nested {type(layer).__name__} "
                             f"called {calls} times; a spec graph calls each layer once, and "
                             "its layers would share their weights between the calls: use one "
                             "model per call and copy the weights")
        functional = _as_functional(layer)
        inner, inner_owners = _flat_config(functional, where)
        inner_inputs, _ = _names(inner["input_layers"])
        args = _rewired(entry["inbound_nodes"][0]["args"], tensors, {})
        given = args[0] if len(args) == 1 and isinstance(args[0], list | tuple) else args
        if len(given) != len(inner_inputs) or not all(map(_is_tensor, given)):
            raise TypeError(f"{where}: nested model {name!r} is called with {len(given)} "
                            f"arguments; it takes its {len(inner_inputs)} inputs "
                            f"{inner_inputs} as tensors")
        inner_tensors = {input_name: [tensor] for input_name, tensor in
                         zip(inner_inputs, given, strict=True)}
        renamed = {}
        for inner_entry in inner["layers"]:
            old = inner_entry["name"]
            if old in inner_inputs:
                continue  # the outer call's tensors stand for the nested model's Inputs
            new = old if old not in taken else f"{name}_{old}"
            if new in taken:
                raise ValueError(f"{where}: layer {old!r} of nested model {name!r} needs a "
                                 f"name of its own, and {new!r} is taken too")
            taken.add(new)
            renamed[old] = new
            owners[new] = inner_owners[old]
            layers.append({**inner_entry, "name": new, "config": {**inner_entry["config"],
                                                                  "name": new},
                           "inbound_nodes": _rewired(inner_entry["inbound_nodes"],
                                                     inner_tensors, renamed)})
        entries = inner["output_layers"]
        entries = entries if entries and isinstance(entries[0], list) else [entries]
        tensors[name] = [_rewired(_history(entry, tensor), inner_tensors, renamed)
                         for entry, tensor in zip(entries, functional.outputs, strict=True)]
    seen: dict[int, str] = {}
    for name, layer in owners.items():
        if id(layer) in seen:
            raise ValueError(f"{where}: layer {layer.name!r} is called in a nested model and "
                             f"again ({seen[id(layer)]!r}, {name!r}); a spec graph calls each "
                             "layer once: use one layer per call and copy the weights")
        seen[id(layer)] = name

    def outer(entries: list) -> list:
        """``input_layers`` or ``output_layers`` with a nested model's tensors replaced."""
        if entries and not isinstance(entries[0], list):
            return outer([entries])[0]
        return [_rewired(_history(entry), tensors, {})["config"]["keras_history"]
                for entry in entries]

    return {**config, "layers": layers, "input_layers": outer(config["input_layers"]),
            "output_layers": outer(config["output_layers"])}, owners


def _flatten(model: keras.Model, where: str = "to_reference"
             ) -> tuple[keras.Model, dict[str, keras.Layer]]:
    """:func:`flatten`'s model, and the layer of ``model`` (or of a model nested in it)
    that each of its layers copies, by name."""
    if not any(isinstance(layer, keras.Model) for layer in model.layers):
        return model, {layer.name: layer for layer in model.layers}
    config, owners = _flat_config(_as_functional(model), where)  # a Sequential: its wiring
    flat = keras.Model.from_config(config)
    for layer in flat.layers:
        if layer.weights:
            layer.set_weights(owners[layer.name].get_weights())
    return flat, owners


def flatten(model: keras.Model, where: str = "to_reference") -> keras.Model:
    """A functional ``model`` with each nested model (a ``keras.Sequential`` or functional
    ``keras.Model`` called once as a layer, at any depth) inlined: its layers join the
    graph, copies of them with their weights, its Inputs replaced by the tensors the call
    passed and its outputs standing for the call's. An inner layer keeps its name unless
    it is taken, then it is ``<nested model>_<layer>``. An outer ``keras.Sequential``
    holding a nested model is flattened the same way, into a functional model of its
    name (a chain, read as a Sequential is). ``model`` itself where nothing is nested. A
    nested model called more than once (its layers' weights shared between the calls) is
    refused by name, the error starting with ``where``."""
    return _flatten(model, where)[0]


def _with_options(layer: reference.layers.Layer,
                  options: dict[str, object]) -> reference.layers.Layer:
    """``layer`` with the call's options (``use_causal_mask=True``) in its configuration."""
    if not options:
        return layer
    return reference.layers.from_config(type(layer).__name__, {**layer.config(), **options})


def _read_graph(model: keras.Model, inference: bool
                ) -> tuple[reference.Model, dict[str, keras.Layer]]:
    """The spec graph of ``model`` (weights not yet copied) and, by spec layer name, the
    Keras layer holding its weights; training options as ``convert._read`` takes them."""
    config, sources, merges = _wiring(model)
    (inputs, input_list), (outputs, output_list) = (_names(config["input_layers"]),
                                                    _names(config["output_layers"]))
    users: dict[str, list[str]] = {}
    for name, names in sources.items():
        for source in set(names):
            users.setdefault(source, []).append(name)

    def continues(name: str) -> str | None:
        """The one-input layer that alone takes ``name``'s output, if any."""
        after = users.get(name, [])
        if len(after) == 1 and name not in outputs and not merges[after[0]]:
            return after[0]
        return None

    calls = {entry["name"]: entry["inbound_nodes"][0] for entry in config["layers"]
             if entry["inbound_nodes"]}
    tensors, holders = {}, {}
    for name in inputs:
        # a None size (keras.Input((None,))) stays one: a sequence of any length
        tensors[name] = reference.Input(tuple(model.get_layer(name).output.shape[1:]),
                                        name=name)
    for entry in config["layers"]:
        name = entry["name"]
        if name in tensors or name not in sources:
            continue  # an input, or a layer read with the chain it belongs to
        if merges[name]:
            (spec_layer, _), = convert._read([model.get_layer(name)], inference)
            spec_layer = _with_options(spec_layer, _options(calls[name]))
            spec_layer.name = name
            if spec_layer.parameter_names:  # cross-attention
                holders[name] = model.get_layer(name)
            try:
                tensors[name] = spec_layer([tensors[s] for s in sources[name]])
            except (TypeError, ValueError) as error:
                raise type(error)(f"to_reference: {error}") from None
            continue
        chain = [name]
        while (following := continues(chain[-1])) is not None:
            chain.append(following)
        groups = convert._read([model.get_layer(n) for n in chain], inference)
        h = tensors[sources[name][0]]
        for spec_layer, (_, group) in zip(time_distributed([g[0] for g in groups]), groups,
                                          strict=True):
            spec_layer = _with_options(spec_layer, _options(calls[group[0].name]))
            if isinstance(spec_layer, reference.Dense) and len(h.shape) == 2:
                # a Dense on a sequence acts at every step (a Transformer's feed-forward)
                spec_layer = reference.sequences.TimeDistributed(spec_layer)
            spec_layer.name = group[0].name
            holders[spec_layer.name] = group[0]
            try:
                h = spec_layer(h)
            except (TypeError, ValueError) as error:
                raise type(error)(f"to_reference: {error}") from None
        for n in chain:
            tensors[n] = h
    given, taken = [tensors[name] for name in inputs], [tensors[name] for name in outputs]
    return reference.Model(given if input_list else given[0],
                           taken if output_list else taken[0]), holders


def to_reference(model: keras.Model, inference: bool = False) -> reference.Model:
    """The spec graph equal to a functional ``keras.Model`` (see the module docstring),
    its weights copied exactly; ``inference`` as ``tf_impl.to_reference`` takes it."""
    try:
        spec, holders = _read_graph(flatten(model), inference)
    except (TypeError, ValueError) as error:  # a spec layer's refusal, named as it is
        text = str(error)
        raise type(error)(text if text.startswith("to_reference:") else
                          f"to_reference: {text}") from None
    places = graph_contexts(spec)
    for layer in spec.layers:
        if layer.name in holders:
            for name, array in convert._copy_out(layer, holders[layer.name],
                                                 places[layer.name]).items():
                layer.set(name, array)
    if all(layer.dtype is None for layer in spec.layers):
        spec.dtype = np.dtype(keras.backend.standardize_dtype(model.inputs[0].dtype))
    return spec


def gradients_to_reference(model: keras.Model, gradients: Sequence[tf.Tensor],
                           spec: reference.Model | None = None
                           ) -> dict[str, dict[str, np.ndarray]]:
    """Each spec layer's gradients by layer name, named and laid out as the spec's
    (``spec.gradients``' structure), from ``tape.gradient(loss,
    model.trainable_variables)``; ``spec``: the graph ``model`` was made from (else the one
    :func:`to_reference` reads). A layer without parameters gets an empty dict."""
    spec = to_reference(model, inference=True) if spec is None else spec  # trains nothing
    by_variable = {id(v): g for v, g in zip(model.trainable_variables, gradients, strict=True)}
    # the layers by name (_flatten: a nested model's too), past the operations Keras adds
    # between them (a NotEqual making mask_zero's mask), which get_layer does not know
    places, keras_layers = graph_contexts(spec), _flatten(model, "to_reference")[1]
    return {layer.name: convert._copy_out(
        layer, keras_layers[layer.name], places[layer.name],
        read=lambda variable: tf.convert_to_tensor(by_variable[id(variable)]).numpy(),
        trainable_only=True) if layer.parameter_names else {}
        for layer in spec.layers}
