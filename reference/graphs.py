r"""Graph models: layers wired by the tensors they pass, Keras's functional API.

A graph is built by calling layers on symbolic tensors, which hold a per-sample shape
and where it comes from, never numbers::

    x = Input((4,), name="x")
    h = Dense(4, 8, "relu", name="h")(x)
    y = Add(name="y")([h, Dense(4, 8, name="skip")(x)])
    model = Model(inputs=x, outputs=y)
    model.forward(X)  # X: (N, 4) → (N, 8)

Calling a layer on a tensor computes nothing and changes nothing in the layer: it checks
the shapes (the error names the layer and what it received) and records the wiring. The
model then calls each layer's ``forward`` on arrays, in the order the layers were called,
which is a topological order: a tensor exists before any layer can be called on it.

Backward is the chain rule on that graph. Each tensor t gets the sum of what its
consumers send back, because t enters the loss once through each of them:

    dL/dt = Σ_{c consumes t} (dL/dt through c)

so a tensor used twice (a skip connection, a fan-out) gets two terms. Walking the layers
in reverse order, each layer's dL/dy is complete when it is reached (all its consumers
came later in the forward order), it stores its parameter gradients and sends dL/dx to
its inputs; what reaches an ``Input`` is the model's dL/d(input).

Rules, checked when the :class:`Model` is built: every output is computed from the given
inputs only and every input is used (Keras 3.15 accepts an unused input silently); names
are unique among inputs and layers (they key the parameters and the weight file's
wiring); a layer is called once per graph (the layer protocol keeps one forward's values,
so a shared layer would overwrite them: use two layers and copy the weights). A cycle
cannot be built: a layer's output exists only after its inputs.

Padding masks (``Embedding(mask_zero=True)``) travel as in ``Sequential``: along a chain
of one-input layers to the next layer that takes a mask; a layer called on a list (a
merge layer, cross-attention) refuses them.

Shape:
    inputs: one array (N, *shape_i) per ``Input``, all with one N → outputs: one array
    (N, *shape_j) per output; a single tensor (not a list) given as ``inputs`` or
    ``outputs`` means a single array in and out, as in Keras.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from reference._validation import (
    as_flag,
    as_float_array,
    as_index_array,
    as_mask,
    as_seed,
    check_shape,
    not_called,
)
from reference.layers import Flatten, Layer, check_known_sizes, from_config
from reference.layouts import Context
from reference.networks import check_mask_steps

_order = itertools.count()  # creation order: a topological order of every graph


class SymbolicTensor:
    """A tensor of a graph being built: its per-sample ``shape``, the ``layer`` that
    computes it (None for an :func:`Input`) and that layer's ``inputs``; ``listed``: the
    layer was called on a list (a merge layer, cross-attention) and takes one in forward.

    Shape:
        ``shape`` is per sample: the arrays it stands for are (N, *shape); a None size is
        a sequence of any length.
    """

    def __init__(self, shape: Sequence[int | None], layer: Layer | None,
                 inputs: Sequence[SymbolicTensor], name: str | None = None,
                 listed: bool = False) -> None:
        self.shape = tuple(None if n is None else int(n) for n in shape)
        self.layer = layer
        self.inputs = tuple(inputs)
        self.listed = listed
        self._name = name
        self.order = next(_order)

    @property
    def name(self) -> str:
        """The Input's name, or the name of the layer that computes the tensor."""
        return self._name if self.layer is None else self.layer.name

    def __repr__(self) -> str:
        source = "Input" if self.layer is None else type(self.layer).__name__
        return f"<SymbolicTensor {self.name!r} ({source}): (N, {', '.join(map(str, self.shape))})>"


def Input(shape: Sequence[int | None], *, name: str = "input") -> SymbolicTensor:
    """A graph input of per-sample ``shape`` (``keras.Input``); name each input of a
    model with several. A None size is a sequence of any length (``keras.Input((None,))``
    for token ids): the model then takes any length there, and a layer that needs the
    size known (Flatten, Reshape, a Dense over that axis) refuses it when called."""
    if not isinstance(shape, list | tuple) or not all(
            n is None or (isinstance(n, int | np.integer) and not isinstance(n, bool) and n >= 1)
            for n in shape):
        raise ValueError(f"Input: shape must be a tuple of positive integers or None (a "
                         f"sequence of any length; per sample, without the batch axis), got "
                         f"{shape!r}")
    if not isinstance(name, str) or not name:
        raise ValueError(f"Input: name must be a non-empty string, got {name!r}")
    return SymbolicTensor(shape, None, (), name)


def _shown(tensor: object) -> str:
    if isinstance(tensor, SymbolicTensor):
        what = "Input" if tensor.layer is None else "output of"
        return f"{what} {tensor.name!r} (N, {', '.join(map(str, tensor.shape))})"
    return f"a {type(tensor).__name__}"


def connect(layer: Layer, inputs: object) -> SymbolicTensor:
    """``layer(inputs)`` on symbolic tensors (what ``Layer.__call__`` does): the layer's
    symbolic output, after checking that the layer takes what it received. A merge layer
    takes a list; a layer that ``takes_list`` (attention: [query, value, key]) one tensor
    or a list."""
    listed = layer.merges or (getattr(layer, "takes_list", False) and
                              isinstance(inputs, list | tuple))
    if listed:
        if not isinstance(inputs, list | tuple) or \
                not all(isinstance(t, SymbolicTensor) for t in inputs):
            raise TypeError(f"{layer.name}: a merge layer is called on a list of symbolic "
                            f"tensors (reference.Input or a layer's output), got "
                            f"{_shown(inputs)}; on arrays, call forward([x1, x2, …])")
        sources, received = list(inputs), [t.shape for t in inputs]
        shown = "[" + ", ".join(map(_shown, inputs)) + "]"
    else:
        if not isinstance(inputs, SymbolicTensor):
            raise TypeError(f"{layer.name}: calling a layer wires it into a graph and takes a "
                            f"symbolic tensor (reference.Input or a layer's output), got "
                            f"{_shown(inputs)}; on arrays, call forward(x)")
        sources, received, shown = [inputs], inputs.shape, _shown(inputs)
        if layer.input_ndim is not None and len(received) + 1 != layer.input_ndim:
            raise ValueError(f"{layer.name}: called on {shown}, but it takes inputs of "
                             f"{layer.input_ndim} axes (batch first)")
    try:
        check_known_sizes(layer, [t.shape for t in sources])
        shape = layer.output_shape(received)
    except ValueError as error:
        reason = str(error).removeprefix(f"{layer.name}: ")
        raise ValueError(f"{layer.name}: called on {shown}, which it cannot take: "
                         f"{reason}") from None
    return SymbolicTensor(shape, layer, sources, listed=listed)


def _tensors(where: str, what: str, given: object) -> tuple[list[SymbolicTensor], bool]:
    """``given`` as a list of symbolic tensors, and whether it was a list."""
    as_list = isinstance(given, list | tuple)
    tensors = list(given) if as_list else [given]
    wrong = [f"{k}: {_shown(t)}" for k, t in enumerate(tensors)
             if not isinstance(t, SymbolicTensor)]
    if not tensors or wrong:
        raise TypeError(f"{where}: {what} must be a symbolic tensor or a non-empty list of them "
                        f"(reference.Input, a layer's output), got {wrong or 'an empty list'}")
    return tensors, as_list


def _ancestors(tensor: SymbolicTensor) -> dict[int, SymbolicTensor]:
    """Every tensor ``tensor`` is computed from, itself included, by id."""
    found, stack = {}, [tensor]
    while stack:
        t = stack.pop()
        if id(t) not in found:
            found[id(t)] = t
            stack.extend(t.inputs)
    return found


class Model:
    r"""A graph of layers from ``inputs`` to ``outputs`` (Keras's functional ``Model``).

    ``forward`` calls every layer's ``forward`` in topological order; ``backward`` runs
    them in reverse, summing the gradients a tensor gets from each consumer (see the
    module docstring). The layers' parameters, gradients and state are keyed by layer
    name; :attr:`params` and :attr:`grads` list them in layer order, like
    ``Sequential``'s, so the spec's optimizers and ``fit`` (a list per input and per
    output, a loss per output) train it.

    Shape:
        forward: (N, *input.shape) per input → (N, *output.shape) per output; backward:
        dL/d(output) per output → dL/d(input) per input, in the same structure.

    Args:
        inputs: an :func:`Input`, or a list of them (then ``forward`` takes a list).
        outputs: a symbolic tensor, or a list of them (then ``forward`` returns a list).
        seed: if given, re-draw every layer's parameters from one generator seeded with
            it, layer by layer, as ``Sequential(seed=…)`` does.
    """

    def __init__(self, inputs: SymbolicTensor | Sequence[SymbolicTensor],
                 outputs: SymbolicTensor | Sequence[SymbolicTensor], *,
                 seed: int | None = None) -> None:
        self.inputs, self.input_list = _tensors("Model", "inputs", inputs)
        self.outputs, self.output_list = _tensors("Model", "outputs", outputs)
        not_inputs = [_shown(t) for t in self.inputs if t.layer is not None]
        if not_inputs:
            raise ValueError(f"Model: inputs must be reference.Input tensors, got "
                             f"{', '.join(not_inputs)}")
        given = {id(t) for t in self.inputs}
        if len(given) != len(self.inputs):
            raise ValueError(f"Model: an Input is listed twice in inputs "
                             f"{[t.name for t in self.inputs]}")
        reached: dict[int, SymbolicTensor] = {}
        for output in self.outputs:
            ancestors = _ancestors(output)
            foreign = [t.name for t in ancestors.values() if t.layer is None and
                       id(t) not in given]
            if foreign:
                other = " (another Input of that name)" if foreign[0] in \
                    [t.name for t in self.inputs] else ""
                raise ValueError(f"Model: output {output.name!r} cannot be computed from the "
                                 f"inputs {[t.name for t in self.inputs]}: it needs Input "
                                 f"{foreign[0]!r}{other}, which is not among them")
            reached.update(ancestors)
        unused = [t.name for t in self.inputs if id(t) not in reached]
        if unused:
            raise ValueError(f"Model: input {unused[0]!r} is used by no output; remove it "
                             "from inputs or compute an output from it")
        self._nodes = sorted((t for t in reached.values() if t.layer is not None),
                             key=lambda t: t.order)
        self.layers: list[Layer] = [t.layer for t in self._nodes]
        self._check_layers()
        self._input_kinds = {t.name: self._kind(t) for t in self.inputs}
        dtypes = {layer.dtype for layer in self.layers if layer.dtype is not None}
        if len(dtypes) > 1:
            raise TypeError(f"Model: all layers must share one dtype, got "
                            f"{sorted(d.name for d in dtypes)}")
        self.dtype: np.dtype = dtypes.pop() if dtypes else np.dtype(np.float64)
        self._output_shapes: list[tuple[int, ...]] | None = None  # of the last forward
        if seed is not None:
            rng = as_seed("Model", seed)
            for layer in self.layers:
                layer.initialize(rng)

    def _kind(self, tensor: SymbolicTensor) -> str:
        """What an input holds: "indices" (an Embedding's), "mask" (attention's boolean
        mask, an entry of a list at the layer's ``mask_position``) or "float"."""
        for node in self._nodes:
            if node.listed and tensor in node.inputs[getattr(node.layer, "mask_position",
                                                              len(node.inputs)):]:
                return "mask"
            if tensor in node.inputs and node.layer.input_kind == "indices":
                return "indices"
        return "float"

    def input_kind(self, tensor: SymbolicTensor) -> str:
        """"float", "indices" (integers, an Embedding's) or "mask" (booleans, attention's)
        for one of the model's inputs."""
        return self._input_kinds[tensor.name]

    def _check_layers(self) -> None:
        calls = Counter(id(layer) for layer in self.layers)
        shared = [layer for layer in self.layers if calls[id(layer)] > 1]
        if shared:
            sources = [" and ".join(_shown(t) for t in node.inputs) for node in self._nodes
                       if node.layer is shared[0]]
            raise ValueError(f"Model: layer {shared[0].name!r} is called {calls[id(shared[0])]} "
                             f"times (on {'; on '.join(sources)}); a spec layer keeps the values "
                             "of one forward, so each call needs its own layer (copy the weights "
                             "to share them)")
        names = [t.name for t in self.inputs] + [layer.name for layer in self.layers]
        duplicates = [name for name, count in Counter(names).items() if count > 1]
        if duplicates:
            raise ValueError(f"Model: the name {duplicates[0]!r} is used by "
                             f"{names.count(duplicates[0])} inputs or layers; names key the "
                             "parameters and the weight file, so give each a unique name=")

    # -- what the model holds -------------------------------------------------------------

    @property
    def nodes(self) -> list[SymbolicTensor]:
        """Each layer's output tensor, in the order the layers run (``node.layer``,
        ``node.inputs``): the graph, walked by the converters."""
        return list(self._nodes)

    def get_layer(self, name: str) -> Layer:
        """The layer called ``name``."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"Model: no layer named {name!r}; it has "
                       f"{[layer.name for layer in self.layers]}")

    @property
    def params(self) -> list[tuple[np.ndarray, ...]]:
        """Each layer's parameters, in layer order (``Sequential.params``'s convention)."""
        return [layer.params for layer in self.layers]

    @property
    def grads(self) -> list[tuple[np.ndarray, ...]]:
        """Each layer's gradients from the last :meth:`backward`, like :attr:`params`."""
        return [layer.grads for layer in self.layers]

    @property
    def parameters(self) -> dict[str, dict[str, np.ndarray]]:
        """Each layer's named parameters, by layer name, in layer order."""
        return {layer.name: layer.parameters for layer in self.layers}

    @property
    def gradients(self) -> dict[str, dict[str, np.ndarray]]:
        """Each layer's named gradients from the last :meth:`backward`, by layer name."""
        return {layer.name: layer.gradients for layer in self.layers}

    @property
    def state(self) -> dict[str, dict[str, np.ndarray]]:
        """Each layer's named state arrays (running statistics), by layer name."""
        return {layer.name: layer.state for layer in self.layers}

    def regularization_loss(self) -> float:
        """The layers' own loss terms (L2 penalties), summed: what training adds to the loss."""
        return sum(layer.regularization_loss() for layer in self.layers)

    # -- one input, one output: what fit's single-array form needs -------------------------

    def _single(self, tensors: list[SymbolicTensor], what: str) -> SymbolicTensor:
        if len(tensors) != 1:
            raise ValueError(f"Model: has {len(tensors)} {what}s; only a model of one input "
                             f"and one output has one {what} shape")
        return tensors[0]

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The per-sample input shape of a model of one input."""
        return self._single(self.inputs, "input").shape

    @property
    def output_shape(self) -> tuple[int, ...]:
        """The per-sample output shape of a model of one output."""
        return self._single(self.outputs, "output").shape

    def as_input(self, x: object, where: str = "Model", what: str = "input x") -> np.ndarray:
        """``x`` under the input policy of the single input's layers (``Sequential.as_input``)."""
        return self._array(self._single(self.inputs, "input"), x, where, what)

    def _array(self, tensor: SymbolicTensor, x: object, where: str, what: str) -> np.ndarray:
        if self._input_kinds[tensor.name] == "indices":
            return as_index_array(x, where, what)
        if self._input_kinds[tensor.name] == "mask":
            return as_mask(where, what, x)
        return as_float_array(x, self.dtype, where, what)

    # -- forward and backward ---------------------------------------------------------------

    def _arrays(self, given: object, tensors: list[SymbolicTensor], where: str,
                what: str) -> list[object]:
        """One array per tensor: a list of them, or one array when there is one tensor."""
        if len(tensors) == 1 and not isinstance(given, list | tuple):
            return [given]
        if not isinstance(given, list | tuple) or len(given) != len(tensors):
            count = len(given) if isinstance(given, list | tuple) else f"a {type(given).__name__}"
            raise ValueError(f"{where}: expects a list of {len(tensors)} arrays, one per {what} "
                             f"{[t.name for t in tensors]}, got {count}")
        return list(given)

    def __call__(self, *args: object, **kwargs: object) -> None:
        """A spec model is no layer (:func:`reference._validation.not_called`)."""
        raise not_called(self)

    def forward(self, inputs: object, *, training: bool = False) -> np.ndarray | list:
        """The outputs for ``inputs`` (an array per :func:`Input`, in the order of
        ``inputs``; a bare array for a model of one input). ``training`` reaches every
        layer (Dropout drops, BatchNorm uses the batch's statistics)."""
        training = as_flag("Model.forward", "training", training)
        values: dict[int, Any] = {}
        given = self._arrays(inputs, self.inputs, "Model.forward", "input")
        for tensor, x in zip(self.inputs, given, strict=True):
            x = self._array(tensor, x, "Model.forward", f"input {tensor.name!r}")
            check_shape("Model.forward", f"input {tensor.name!r}", x.shape, (None, *tensor.shape))
            values[id(tensor)] = x
        batches = {t.name: len(values[id(t)]) for t in self.inputs}
        if len(set(batches.values())) > 1:
            raise ValueError(f"Model.forward: the inputs must have one batch size, got {batches}")
        masks: dict[int, np.ndarray | None] = {}
        sources: dict[int, Layer] = {}  # the Embedding that made each tensor's mask
        for node in self._nodes:
            layer, mask, made = node.layer, None, None
            if node.listed:
                masked = [t.name for t in node.inputs if masks.get(id(t)) is not None]
                if masked:
                    kind = "merge layer" if layer.merges else "cross-attention layer"
                    raise ValueError(f"Model: {kind} {layer.name!r} receives the padding mask "
                                     f"of an Embedding(mask_zero=True) through {masked}; "
                                     "masks through merge layers and cross-attention are not "
                                     "supported")
                x = [values[id(t)] for t in node.inputs]
            else:
                (source,) = node.inputs
                x, mask = values[id(source)], masks.get(id(source))
                made = sources.get(id(source))
                if mask is not None and layer.takes_mask:
                    check_mask_steps("Model.forward", made, layer, mask, x)
                    layer.mask, mask = mask, None
            values[id(node)] = layer.forward(x, training=training)
            if mask is None and getattr(layer, "output_mask", None) is not None:
                mask, made = layer.output_mask, layer
            masks[id(node)] = mask
            sources[id(node)] = made if mask is not None else None
        outputs = [values[id(t)] for t in self.outputs]
        self._output_shapes = [y.shape for y in outputs]
        return outputs if self.output_list else outputs[0]

    def backward(self, grad_outputs: object, *,
                 input_gradient: bool = True) -> np.ndarray | list | None:
        """Backpropagate dL/d(each output) through the graph; return dL/d(each input) in
        the structure of ``inputs`` (None for an input of integer indices).

        ``input_gradient=False`` returns None and skips the gradients only the inputs would
        get (a training step needs none).
        """
        input_gradient = as_flag("Model.backward", "input_gradient", input_gradient)
        if self._output_shapes is None:
            raise RuntimeError("Model: call forward() before backward()")
        gradients: dict[int, np.ndarray] = {}

        def add(tensor: SymbolicTensor, g: np.ndarray) -> None:
            # a new array, never in place: a layer may hand one array to several inputs (Add)
            gradients[id(tensor)] = g if id(tensor) not in gradients else gradients[id(tensor)] + g

        given = self._arrays(grad_outputs, self.outputs, "Model.backward", "output")
        for tensor, g, shape in zip(self.outputs, given, self._output_shapes, strict=True):
            g = as_float_array(g, self.dtype, "Model.backward", f"gradient of output "
                                                                f"{tensor.name!r}")
            check_shape("Model.backward", f"gradient of output {tensor.name!r}", g.shape, shape)
            add(tensor, g)
        for node in reversed(self._nodes):
            hidden = [t.layer is not None for t in node.inputs]
            wanted = input_gradient or any(hidden)
            g = node.layer.backward(gradients.pop(id(node)), input_gradient=wanted)
            if wanted:
                for tensor, is_hidden, part in zip(node.inputs, hidden,
                                                   g if node.listed else [g], strict=True):
                    if part is not None and (is_hidden or input_gradient):
                        add(tensor, part)
        if not input_gradient:
            return None
        found = [gradients.get(id(t)) for t in self.inputs]
        return found if self.input_list else found[0]

    # -- configuration -------------------------------------------------------------------

    def wiring(self) -> dict[str, Any]:
        """The graph without the layers' configurations: the inputs (name, per-sample
        shape), each layer's name and the names of the tensors it reads, in order, the
        outputs' names, and whether inputs and outputs were given as lists."""
        return {"inputs": [{"name": t.name, "shape": list(t.shape)} for t in self.inputs],
                "layers": [{"name": node.name, "inbound": [t.name for t in node.inputs]}
                           for node in self._nodes],
                "outputs": [t.name for t in self.outputs],
                "input_list": self.input_list, "output_list": self.output_list}

    def config(self) -> dict[str, Any]:
        """:meth:`wiring` with each layer's kind and ``config()``: what
        :meth:`from_config` rebuilds the model from (with fresh weights)."""
        wiring = self.wiring()
        wiring["layers"] = [{**node, "kind": type(layer).__name__, "config": layer.config()}
                            for node, layer in zip(wiring["layers"], self.layers, strict=True)]
        return wiring

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Model:
        """The model :meth:`config` describes."""
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list) or \
                not all(isinstance(d, dict) and {"kind", "config", "name", "inbound"} <= set(d)
                        for d in config["layers"]):
            raise ValueError("Model.from_config: expected the dict Model.config() gives (each "
                             "layer with kind, config, name and inbound)")
        layers = [from_config(d["kind"], d["config"]) for d in config["layers"]]
        nodes = [{key: d[key] for key in ("name", "inbound")} for d in config["layers"]]
        return cls.from_wiring({**config, "layers": nodes}, layers)

    @classmethod
    def from_wiring(cls, wiring: dict[str, Any], layers: Sequence[Layer]) -> Model:
        """The model of :meth:`wiring` over ``layers``, built in its order (each layer is
        renamed to the wiring's name)."""
        if not isinstance(wiring, dict) or \
                {"inputs", "layers", "outputs", "input_list", "output_list"} - set(wiring):
            raise ValueError("Model: the wiring must hold inputs, layers, outputs, input_list "
                             "and output_list")
        nodes, inputs, outputs = wiring["layers"], wiring["inputs"], wiring["outputs"]
        if not all(isinstance(part, list) for part in (nodes, inputs, outputs)) or \
                len(nodes) != len(layers):
            raise ValueError(f"Model: the wiring lists {nodes!r} for {len(layers)} layers")
        tensors: dict[str, SymbolicTensor] = {}

        def read(name: object, by: str) -> SymbolicTensor:
            if not isinstance(name, str) or name not in tensors:
                raise ValueError(f"Model: {by} reads {name!r}, which no earlier input or layer "
                                 "makes")
            return tensors[name]

        for spec in inputs:
            if not isinstance(spec, dict) or set(spec) != {"name", "shape"}:
                raise ValueError(f"Model: an input must be {{name, shape}}, got {spec!r}")
            tensors[spec["name"]] = Input(spec["shape"], name=spec["name"])
        for spec, layer in zip(nodes, layers, strict=True):
            if not isinstance(spec, dict) or set(spec) != {"name", "inbound"} or \
                    not isinstance(spec["name"], str) or not isinstance(spec["inbound"], list):
                raise ValueError(f"Model: a layer must be {{name, inbound}}, got {spec!r}")
            layer.name = spec["name"]
            sources = [read(name, f"layer {spec['name']!r}") for name in spec["inbound"]]
            listed = layer.merges or len(sources) > 1
            if not sources or (listed and not getattr(layer, "takes_list", layer.merges)):
                raise ValueError(f"Model: layer {layer.name!r} takes one input, the wiring "
                                 f"gives it {spec['inbound']}")
            tensors[layer.name] = layer(sources if listed else sources[0])
        given = [tensors[i["name"]] for i in inputs]
        taken = [read(name, "an output") for name in outputs]
        for what, listed, found in (("inputs", wiring["input_list"], given),
                                    ("outputs", wiring["output_list"], taken)):
            if listed is not True and (listed is not False or len(found) != 1):
                raise ValueError(f"Model: {what} must be a list (..._list true) or one tensor, "
                                 f"got {len(found)} with {what[:-1]}_list {listed!r}")
        return cls(given if wiring["input_list"] else given[0],
                   taken if wiring["output_list"] else taken[0])

    def __repr__(self) -> str:
        lines = [f"  {node.name}: {type(node.layer).__name__} ← "
                 f"{', '.join(t.name for t in node.inputs)}" for node in self._nodes]
        return (f"Model(inputs={[t.name for t in self.inputs]}, "
                f"outputs={[t.name for t in self.outputs]},\n" + "\n".join(lines) + "\n)")


def feature_maps(model: Model) -> dict[str, bool]:
    """Whether each tensor of ``model`` (by the name of its Input or layer) is a feature
    map: channels-last here and in Keras, channels-first in torch.

    A tensor is one when it has at least two axes per sample and either a convolution or
    pooling layer (``channels_last``) made it, or a layer other than Flatten made it from
    feature maps, or it is an Input from which such a layer is reached before any Flatten
    (then torch takes that input channels-first).
    """
    consumers: dict[int, list[SymbolicTensor]] = {}
    for node in model.nodes:
        for tensor in node.inputs:
            consumers.setdefault(id(tensor), []).append(node)

    def reaches_convolution(tensor: SymbolicTensor) -> bool:
        stack, seen = [tensor], set()
        while stack:
            for node in consumers.get(id(stack.pop()), []):
                if getattr(node.layer, "channels_last", False):
                    return True
                if id(node) not in seen and not isinstance(node.layer, Flatten):
                    seen.add(id(node))
                    stack.append(node)
        return False

    found = {t.name: len(t.shape) > 1 and reaches_convolution(t) for t in model.inputs}
    for node in model.nodes:
        # a Reshape or Permute to an image makes one of a vector too (channels-first in
        # torch, as its module gives it)
        found[node.name] = (_takes_feature_maps(node, found) or getattr(
            node.layer, "channels_last", False)) and len(node.shape) > 1 and \
            not isinstance(node.layer, Flatten)
    return found


def _takes_feature_maps(node: SymbolicTensor, maps: dict[str, bool]) -> bool:
    """Whether a layer's input is a feature map (all of a merge layer's inputs); as in
    ``contexts``, a convolution's own input counts as one."""
    return len(node.inputs[0].shape) > 1 and (all(maps[t.name] for t in node.inputs) or
                                              getattr(node.layer, "channels_last", False))


def graph_contexts(model: Model) -> dict[str, Context]:
    """The :class:`~reference.layouts.Context` of every input and layer of ``model``, by
    name: the graph version of ``reference.layouts.contexts``.

    A layer's Context describes its input (a merge layer's: its first input's shape,
    ``feature_map`` when all its inputs are feature maps, :func:`feature_maps`); an
    Input's describes the tensor it is. ``flattened_from`` travels from a Flatten of a
    feature map through parameter-free one-input layers to the next layer with weights,
    as in ``contexts``.

    Shape:
        ``Context.input_shape`` is per sample, in the spec's layout.
    """
    maps = feature_maps(model)
    flattened: dict[str, tuple[int, ...] | None] = {t.name: None for t in model.inputs}
    found = {t.name: Context(t.shape, feature_map=maps[t.name]) for t in model.inputs}
    for node in model.nodes:
        layer, first = node.layer, node.inputs[0]
        takes_maps = _takes_feature_maps(node, maps)
        from_flatten = flattened[first.name] if len(node.inputs) == 1 else None
        found[node.name] = Context(first.shape, from_flatten, layer, takes_maps)
        if isinstance(layer, Flatten):
            flattened[node.name] = first.shape if takes_maps else None
        else:  # a layer with weights in between: its rows are not permuted
            flattened[node.name] = None if layer.parameter_names or layer.merges else from_flatten
    return found
