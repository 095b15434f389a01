"""Porting a functional Keras model (a graph: several inputs and outputs, fan-out, skip
connections, merges) to PyTorch source code, its weights, and a per-layer report.

    ported = nn_rosetta.port(functional_model)   # porting.port sends graphs here

The way is the Sequential port's (``nn_rosetta.porting``): Keras → ``tf_impl.to_reference``
→ a spec ``reference.Model`` → code from the torch ``Template`` rows that torch_impl's
concept files fill, weights moved by ``reference.layouts`` in the graph's contexts
(``reference.graphs.graph_contexts``). The generated ``forward`` names each tensor after
the Keras layer that makes it and writes each merge as the torch expression of its row in
``torch_impl.merging`` (rendered by :class:`Expression`). A block that the Keras model
repeats under a name prefix (``conv2_block1_…``, ``conv2_block2_…``) becomes one class,
used once per repetition (``nn_rosetta.port_blocks``).

The report runs the Keras model once, every layer's output kept (a ``keras.Model`` over
the same inputs with every layer's output as an output), then each layer's lines of the
generated code on Keras's input to that layer (in the module, or the block module, that
holds them), so that each row measures that layer alone, not the rounding of every layer
before it; and the generated module once, whole, for the model's outputs.

A ``Lambda`` or a layer class defined outside Keras is refused by name, with its file;
``stubs=True`` writes a named stub module instead (``raise NotImplementedError``, the
Keras config in a comment), which the report marks as not compared: to compare the layers
after it, the report feeds them Keras's output of the stubbed layer.
"""

from __future__ import annotations

import builtins
import dataclasses
import functools
import inspect
import json
import keyword
import re
import textwrap
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import torch
from torch import nn

import reference
from reference._validation import check_copy_fits
from reference.graphs import SymbolicTensor, graph_contexts
from reference.layouts import Context
from torch_impl import graphs as torch_graphs
from torch_impl import merging as torch_merging
from torch_impl.convert import TRANSLATIONS

CLASS_NAME = "Net"
_RESERVED = {"self", "torch", "nn", "F", CLASS_NAME}
# nn.Module's names, an instance's too: a layer named "training" (set in Module.__init__)
# would replace the flag, and torch refuses the assignment
MODULE_NAMES = frozenset(dir(nn.Module()))

# -- merge expressions ---------------------------------------------------------------------

_ADDITIVE, _MULTIPLICATIVE, _ATOM = 1, 2, 3


def _text(value: object) -> str:
    if isinstance(value, Expression):
        return value.text
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(_text, value)) + "]"
    return repr(value)


class Expression:
    """A torch expression as source text, standing in for a tensor: a merge row's
    ``compute`` (``torch_impl.merging``) called on these writes its code, so the port
    prints what the converter computes. ``torch.cat`` and friends reach
    :meth:`__torch_function__` (torch's protocol for tensor-like objects)."""

    def __init__(self, text: str, precedence: int = _ATOM) -> None:
        self.text, self.precedence = text, precedence

    @classmethod
    def __torch_function__(cls, func: Callable, types: object, args: Sequence = (),
                           kwargs: dict | None = None) -> Expression:
        arguments = [*map(_text, args), *(f"{k}={_text(v)}" for k, v in (kwargs or {}).items())]
        return cls(f"torch.{func.__name__}({', '.join(arguments)})")

    def _operand(self, precedence: int, right: bool) -> str:
        if self.precedence < precedence or (right and self.precedence == precedence):
            return f"({self.text})"
        return self.text

    def _binary(self, other: object, symbol: str, precedence: int) -> Expression:
        right = other._operand(precedence, True) if isinstance(other, Expression) else \
            repr(other)
        return Expression(f"{self._operand(precedence, False)} {symbol} {right}", precedence)

    def __add__(self, other: object) -> Expression:
        return self._binary(other, "+", _ADDITIVE)

    def __sub__(self, other: object) -> Expression:
        return self._binary(other, "-", _ADDITIVE)

    def __mul__(self, other: object) -> Expression:
        return self._binary(other, "*", _MULTIPLICATIVE)

    def __truediv__(self, other: object) -> Expression:
        return self._binary(other, "/", _MULTIPLICATIVE)

    def __getattr__(self, name: str) -> Expression:
        if name.startswith("__"):
            raise AttributeError(name)
        return Expression(f"{self._operand(_ATOM, False)}.{name}")

    def __call__(self, *args: object, **kwargs: object) -> Expression:
        arguments = [*map(_text, args), *(f"{k}={_text(v)}" for k, v in kwargs.items())]
        return Expression(f"{self.text}({', '.join(arguments)})")


MERGES = {row.kind: row for row in torch_merging.TRANSLATIONS}

# The comment a merge's line carries where torch's expression bridges a convention.
_MERGE_NOTES: dict[str, Callable[[Any, Context], str]] = {
    "Concatenate": lambda layer, context: (
        f"Keras's axis={layer.axis} on channels-last maps; torch's maps are channels-first"
        if context.feature_map else ""),
    "Maximum": lambda layer, context: "the first maximum takes a tie's gradient, as in Keras "
                                      "(torch.maximum splits it)",
    "Average": lambda layer, context: "summed left to right, then divided, as Keras rounds",
}


def merge_expression(layer: Any, context: Context, operands: list[str]) -> tuple[str, str]:
    """The torch expression of the merge ``layer`` on the tensors named ``operands``, from
    its row in ``torch_impl.merging``, and the comment it carries."""
    row = MERGES[type(layer).__name__]
    expression = row.compute([Expression(name) for name in operands], layer, context)
    note = _MERGE_NOTES.get(type(layer).__name__, lambda layer, context: "")(layer, context)
    return _text(expression), note


# -- the generated code --------------------------------------------------------------------

def python_name(name: str) -> str:
    """A Keras name as a Python name: NFKC-normalised first, as Python reads identifiers
    (``ﬁ`` is read as ``fi``: kept, two layers "ﬁ" and "fi" would be one attribute), any
    character an identifier cannot hold as ``_``, ``_`` at either end dropped; "layer"
    when nothing is left. It may still start with a digit or be a keyword."""
    name = unicodedata.normalize("NFKC", name)
    return "".join(c if f"a{c}".isidentifier() else "_" for c in name).strip("_") or "layer"


def identifier(name: str, taken: set[str]) -> str:
    """A Python identifier for a Keras name, not in ``taken`` (and added to it):
    ``dense_1`` stays, ``conv 2d`` → ``conv_2d``, ``1_conv`` → ``layer_1_conv``."""
    attr = python_name(name)
    if not attr.isidentifier() or keyword.iskeyword(attr) or attr in MODULE_NAMES or \
            attr in _RESERVED or hasattr(builtins, attr):  # no shadowed sum or input
        attr = f"layer_{attr}"
    base, k = attr, 1
    while attr in taken:
        attr, k = f"{base}_{k}", k + 1
    taken.add(attr)
    return attr


def _operands(expression: str) -> list[str]:
    """``expression`` cut before each operator outside brackets and strings, for lines that
    are too long: ``a * f(b, c)`` → ``["a", "* f(b, c)"]``."""
    pieces, depth, quote, start = [], 0, "", 0
    for k, char in enumerate(expression):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and expression[k:k + 3] in (" + ", " - ", " * ", " / "):
            pieces.append(expression[start:k])
            start = k + 1
    return [*pieces, expression[start:]]


@dataclass(frozen=True)
class Line:
    """One line of generated code and the comment it carries (rendered once per file)."""

    code: str
    comment: str = ""

    @classmethod
    def parse(cls, text: str) -> Line:
        code, _, comment = text.partition("  # ")
        return cls(code, comment)

    def render(self, indent: str, seen: set[str] | None = None) -> list[str]:
        comment = self.comment
        if seen is not None and comment:
            comment = "" if comment in seen else comment
            seen.add(self.comment)
        code = self.code
        target, _, value = code.partition(" = ")
        if len(indent + code) > 100 and value and "\n" not in code:  # in parentheses
            code = f"{target} = (\n    " + "\n    ".join(_operands(value)) + ")"
        code = code.replace("\n", "\n" + indent)  # a call over several lines
        if not comment:
            return [indent + code]
        inline = f"{indent}{code}  # {comment}"
        return [inline] if len(inline) <= 100 and "\n" not in code else [
            f"{indent}# {c}" for c in textwrap.wrap(comment, 98 - len(indent))] + [indent + code]


@dataclass
class TorchTensor:
    """A tensor of the generated ``forward``: its variable, torch's layout of it, and
    where it stays in torch's flattened order of a channels-first map (``flattened``: the
    map's per-sample channels-last shape)."""

    var: str
    rank: int  # per-sample axes
    channels_first: bool = False
    flattened: tuple[int, ...] | None = None

    def to_keras(self, array: np.ndarray) -> np.ndarray:
        """This tensor's value, given in torch's layout, in Keras's."""
        if self.channels_first:
            return np.moveaxis(array, 1, -1)
        if self.flattened is not None:
            *spatial, channels = self.flattened
            n = len(array)
            return np.moveaxis(array.reshape(n, channels, *spatial), 1, -1).reshape(n, -1)
        return array

    def from_keras(self, array: np.ndarray) -> np.ndarray:
        """This tensor's value, given in Keras's layout, in torch's (as the code holds it)."""
        if self.channels_first:
            return np.moveaxis(array, -1, 1)
        if self.flattened is not None:
            n = len(array)
            return np.moveaxis(array.reshape(n, *self.flattened), -1, 1).reshape(n, -1)
        return array


@dataclass
class LayerCode:
    """One layer's lines of a generated ``forward``, for the report to run alone: the
    tensors they read (by Keras name, each as the code holds it), the one they make, and
    the path of the module whose ``forward`` holds them ("" for the model's own)."""

    lines: list[Line]
    reads: list[tuple[str, TorchTensor]]
    makes: TorchTensor
    path: str = ""


def _permute_line(tensor: TorchTensor, var: str, to_channels_first: bool,
                  why: str = "the next step takes Keras's layout") -> Line:
    rank = tensor.rank
    axes = (0, rank, *range(1, rank)) if to_channels_first else (0, *range(2, rank + 1), 1)
    last, first = ("NHWC", "NCHW") if rank == 3 else ("NLC", "NCL")
    note = f"{last} → {first}: Keras is channels-last, torch channels-first" \
        if to_channels_first else f"{first} → {last}: {why}"
    return Line(f"{var} = {tensor.var}.permute{axes}", note)


@dataclass
class Stub:
    """A Keras layer the port cannot read (a ``Lambda``, a custom class), left in the code
    as a named module that raises ``NotImplementedError``."""

    name: str
    kind: str
    source_file: str
    config: dict[str, Any]
    inputs: list[str]  # the Keras tensors it reads: layer or Input names
    shape: tuple[int, ...]  # its per-sample output shape


@dataclass
class Generated:
    """The generated source and what the module builder and the report need of it."""

    source: str
    attributes: dict[str, str]  # spec layer or stub name → the module attribute
    tensors: dict[str, TorchTensor]  # Keras tensor name → its tensor at forward's end
    contexts: dict[str, Context]
    codes: dict[str, LayerCode] = field(default_factory=dict)  # by spec layer name


class _Writer:
    """Writes one ``forward`` body: each spec node or stub in order, the permutes the
    layouts need, and the ``__init__`` lines of the modules."""

    def __init__(self, model: reference.Model, contexts: dict[str, Context],
                 tf64: set[str], taken: set[str],
                 local: Callable[[str], str] | None = None) -> None:
        self.model, self.contexts, self.tf64, self.taken = model, contexts, tf64, taken
        self.local = local or (lambda name: name)  # a tensor's name in this code
        self.tensors: dict[str, TorchTensor] = {}
        self.made: dict[str, TorchTensor] = {}  # each tensor as it was made, before permutes
        self.codes: dict[str, LayerCode] = {}  # each layer's lines, for the report
        self.permuted: dict[tuple[str, bool], str] = {}  # (tensor, channels-first) → var
        self.needs = self._needs()
        self.init: list[Line] = []
        self.forward: list[Line] = []
        self.attributes: dict[str, str] = {}

    def _needs(self) -> dict[str, set[bool]]:
        """The layouts each tensor's consumers take it in (True: channels-first); a layer
        that takes either (elementwise, Flatten) adds none."""
        needs: dict[str, set[bool]] = {}
        for node in self.model.nodes:
            layer = node.layer
            for tensor in node.inputs:
                if len(tensor.shape) < 2:
                    continue
                if layer.merges:
                    needs.setdefault(tensor.name, set()).add(self.contexts[node.name].feature_map)
                elif (layout := TRANSLATIONS[type(layer).__name__].template.layout_of(layer)) \
                        != "any":
                    needs.setdefault(tensor.name, set()).add(layout == "channels")
        for tensor in self.model.outputs:
            needs.setdefault(tensor.name, set()).add(False)
        return needs

    def _reads_torch_order(self, name: str) -> bool:
        """Whether a reader of the Flatten ``name`` takes torch's flattened order
        ((c, h, w)): a Dense whose rows the weight tables permute (its context's
        ``flattened_from``), reached through layers that act on each entry alike (no
        weights, the shape kept). Where none does, the Flatten keeps Keras's order, which
        an output, a BatchNormalization or a Reshape reads; where one does and another
        reader needs Keras's, the merge's refusal or the report's row names it."""
        for node in self.model.nodes:
            if not any(tensor.name == name for tensor in node.inputs):
                continue
            layer = node.layer
            if isinstance(layer, reference.layers.Dense):
                if self.contexts[node.name].flattened_from is not None:
                    return True
            elif not (layer.merges or layer.parameter_names) and \
                    tuple(node.shape) == tuple(node.inputs[0].shape) and \
                    self._reads_torch_order(node.name):
                return True
        return False

    def argument(self, tensor: SymbolicTensor) -> str:
        var = identifier(tensor.name, self.taken)
        self.add(tensor.name, TorchTensor(var, len(tensor.shape)))
        return var

    def add(self, name: str, tensor: TorchTensor) -> None:
        self.tensors[name] = tensor
        self.made[name] = dataclasses.replace(tensor)

    def record(self, name: str, start: int, reads: list[tuple[str, TorchTensor]]) -> None:
        """The lines from ``start`` on make layer ``name`` from ``reads``."""
        self.codes[name] = LayerCode(self.forward[start:], [
            (source, dataclasses.replace(tensor)) for source, tensor in reads],
            dataclasses.replace(self.tensors[name]))

    def take(self, name: str, channels_first: bool,
             why: str = "the next step takes Keras's layout") -> TorchTensor:
        """The tensor ``name`` in torch's layout ``channels_first``, permuting it first
        (in place when nothing else takes it in its current layout)."""
        tensor = self.tensors[name]
        if tensor.rank < 2 or tensor.channels_first == channels_first:
            return tensor
        if (name, channels_first) in self.permuted:
            return TorchTensor(self.permuted[name, channels_first], tensor.rank, channels_first)
        if self.needs.get(name, set()) <= {channels_first}:
            self.forward.append(_permute_line(tensor, tensor.var, channels_first, why))
            tensor.channels_first = channels_first
            return tensor
        suffix = ("nchw" if tensor.rank == 3 else "ncl") if channels_first else \
            ("nhwc" if tensor.rank == 3 else "nlc")
        var = identifier(f"{tensor.var}_{suffix}", self.taken)
        self.forward.append(_permute_line(tensor, var, channels_first, why))
        self.permuted[name, channels_first] = var
        return TorchTensor(var, tensor.rank, channels_first)

    def merge(self, node: SymbolicTensor) -> None:
        layer, context = node.layer, self.contexts[node.name]
        operands = [self.take(t.name, context.feature_map) for t in node.inputs]
        flattened = {o.flattened for o in operands}
        if len(flattened) > 1 or None not in flattened:
            raise TypeError(f"port: layer {node.name!r} ({type(layer).__name__}) merges the "
                            "flattened output of a feature map, whose order differs between "
                            "torch (c, h, w) and Keras (h, w, c); flatten after the merge")
        var = identifier(self.local(node.name), self.taken)
        code, note = merge_expression(layer, context, [o.var for o in operands])
        start = len(self.forward)
        self.forward.append(Line(f"{var} = {code}", note))
        self.add(node.name, TorchTensor(var, len(node.shape),
                                        context.feature_map and len(node.shape) > 1))
        self.record(node.name, start, [(t.name, o) for t, o in zip(node.inputs, operands,
                                                                      strict=True)])

    def layer(self, node: SymbolicTensor) -> None:
        from nn_rosetta.porting import ACTIVATIONS

        layer, context = node.layer, self.contexts[node.name]
        if len(node.inputs) != 1:  # cross-attention's query and value, an attention mask
            names = ", ".join(t.name for t in node.inputs)
            raise TypeError(f"port: layer {node.name!r} ({type(layer).__name__}) takes "
                            f"{len(node.inputs)} tensors ({names}); "
                            "the port writes layers of one input and the merge layers "
                            "(self-attention on one tensor ports)")
        (source,) = node.inputs
        template = TRANSLATIONS[type(layer).__name__].template
        shape = source.shape
        try:
            fields = template.fields(layer, shape)
        except TypeError as error:
            raise TypeError(f"port: layer {node.name!r} ({type(layer).__name__}): "
                            f"{error}") from None
        layout = template.layout_of(layer)
        current = self.tensors[source.name]
        wanted = current.channels_first if layout == "any" else layout == "channels"
        if isinstance(layer, reference.layers.Flatten) and not self._reads_torch_order(
                node.name):  # flattened in Keras's order, which the layers after it read
            wanted = False
        given = self.take(source.name, wanted)
        var = identifier(self.local(node.name), self.taken)
        attr = None
        if template.module is not None:
            attr = var
            self.attributes[node.name] = attr
            note = template.note.format(**fields).strip("; ")
            if isinstance(layer, reference.layers.Dense) and \
                    context.flattened_from is not None and \
                    len(context.flattened_from) > 1:  # the weights that the order reaches
                note = "columns permuted: torch flattens " + (
                    "(c, h, w), Keras (h, w, c)" if len(context.flattened_from) == 3 else
                    "(c, l), Keras (l, c)")
            self.init.append(Line(f"self.{attr} = {template.module.format(**fields)}", note))
        lines = [Line.parse(text) for text in
                 template.call.format(attr=attr, **fields).split("\n") if text]
        activation = getattr(getattr(layer, "layer", layer), "activation", None)  # wrapped
        if activation is not None:
            expression, comment = ACTIVATIONS[activation.name](
                activation.params, node.name in self.tf64,
                given.channels_first and len(node.shape) > 1)
            last = lines[-1]
            if expression.count("{") > 1:  # the pre-activation, used twice, on its own line
                lines.append(Line(f"x = {expression.format('x')}", comment))
            else:
                lines[-1] = Line("x = " + expression.format(last.code.removeprefix("x = ")),
                                 comment or last.comment)
        reads, start = given.var, len(self.forward)
        for line in lines:  # the template's x: its input on the first line, then its own
            target, _, value = line.code.partition(" = ")
            value = re.sub(r"\bx\b", reads, value)
            target = re.sub(r"\bx\b", var, target)
            self.forward.append(Line(f"{target} = {value}", line.comment))
            reads = var
        flattened = None
        if isinstance(layer, reference.layers.Flatten):
            flattened = shape if given.channels_first and len(shape) > 1 else None
        elif not layer.parameter_names:
            flattened = given.flattened
        channels_first = given.channels_first and len(node.shape) > 1 and \
            not isinstance(layer, reference.layers.Flatten)
        self.add(node.name, TorchTensor(var, len(node.shape), channels_first, flattened))
        self.record(node.name, start, [(source.name, given)])

    def stub(self, stub: Stub, class_name: str) -> None:
        operands = [self.take(name, False) for name in stub.inputs]
        var = identifier(stub.name, self.taken)
        self.attributes[stub.name] = var
        self.init.append(Line(f"self.{var} = {class_name}()", "a stub: write its forward"))
        maps = any(o.rank > 1 for o in operands) or len(stub.shape) > 1
        self.forward.append(Line(f"{var} = self.{var}({', '.join(o.var for o in operands)})",
                                 "Keras's layout in and out (channels-last)" if maps else ""))
        self.add(stub.name, TorchTensor(var, len(stub.shape)))

    def returned(self, results: list[str]) -> Line:
        outputs = [self.take(name, False, "the output in Keras's layout").var
                   for name in results]
        flattened = [name for name in results if self.tensors[name].flattened]
        if flattened:
            raise TypeError(f"port: output {flattened[0]!r} is a flattened feature map, whose "
                            "order differs between torch (c, h, w) and Keras (h, w, c); end "
                            "the model with a layer that has weights, or a global pooling")
        return Line(f"return {', '.join(outputs)}")  # one tensor, or a tuple of several


def _stub_class(stub: Stub, class_name: str) -> list[str]:
    def shown(value: object) -> object:  # a Lambda's marshalled code is not for reading
        if isinstance(value, dict):
            return {k: shown(v) for k, v in value.items()}
        text = json.dumps(value, default=str)
        return value if len(text) <= 80 else f"<{len(text)} characters>"

    config = json.dumps(shown(stub.config), default=str)
    arguments = ", ".join(f"{identifier(name, set())}: torch.Tensor" for name in stub.inputs)
    message = f"{stub.name}: port the Keras {stub.kind} by hand"
    about = (f"The Keras layer {stub.name!r} ({stub.kind}, from {stub.source_file}), which "
             "nn-rosetta cannot read: write its computation here (Keras's layout, "
             "channels-last).")
    lines = textwrap.wrap(about, 92, break_long_words=False, break_on_hyphens=False)
    return [
        f"class {class_name}(nn.Module):",
        f'    """{lines[0]}', *(f"    {line}" for line in lines[1:]),
        '    """',
        "",
        *(f"    # {text}" for text in textwrap.wrap(f"Keras config: {config}", 94)),
        f"    def forward(self, {arguments}) -> torch.Tensor:",
        f"        raise NotImplementedError({message!r})",
        "",
        "",
    ]


def definitions(layers: Sequence[reference.layers.Layer]) -> list[str]:
    """The source of each small module the layers' code constructs (``Template.defines``:
    attention with heads of Keras's ``key_dim`` ≠ E/H), once, copied from ``torch_impl``:
    the generated file stands alone, as a torch user's model.py holds the modules torch
    lacks."""
    classes = dict.fromkeys(cls for layer in layers
                            if (row := TRANSLATIONS.get(type(layer).__name__)) and row.template
                            for cls in row.template.defined(layer))
    return [text for cls in classes
            for text in (*inspect.getsource(cls).rstrip("\n").split("\n"), "", "")]


def _signature(writer: _Writer, arguments: list[str], results: list[str]) -> list[str]:
    inputs = ", ".join(["self", *(f"{writer.tensors[name].var}: torch.Tensor"
                                  for name in arguments)])
    returns = "torch.Tensor" if len(results) == 1 else \
        f"tuple[{', '.join(['torch.Tensor'] * len(results))}]"
    line = f"    def forward({inputs}) -> {returns}:"
    if len(line) <= 100:
        return [line]
    return ["    def forward(", *textwrap.wrap(inputs + ",", 92, initial_indent=" " * 8,
                                               subsequent_indent=" " * 8),
            f"    ) -> {returns}:"]


def _docstring(model: reference.Model, arguments: list[str], model_name: str) -> list[str]:
    shapes = {t.name: t.shape for t in model.inputs}
    from nn_rosetta.porting import shown_shape

    described = [f"    {name}: ({shown_shape(shapes[name])})"
                 f"{', channels-last as in Keras' if len(shapes[name]) == 3 else ''}"
                 f"{'; T: any length' if None in shapes[name] else ''}"
                 for name in arguments]
    call = "model(" + ", ".join(identifier(n, set(_RESERVED)) for n in arguments) + ")"
    return [
        f'"""The Keras model {model_name!r} in PyTorch, generated by nn-rosetta (port).',
        "",
        f"    model = {CLASS_NAME}()",
        '    model.load_state_dict(torch.load("weights.pt", weights_only=True))',
        "    model.eval()  # Dropout and BatchNorm as in a Keras model called directly",
        f"    {call}",
        "",
        f"Inputs ({model.dtype.name}), in Keras's order:",
        *described,
        '"""',
    ]


def _walk(model: reference.Model, contexts: dict[str, Context], tf64: set[str],
          taken: set[str], order: list[str], arguments: list[str], stubs: dict[str, Stub],
          stub_classes: dict[str, str], results: list[str],
          plan: Any = None) -> tuple[_Writer, Line]:
    """The forward of ``model`` written in ``order``; ``plan``: the repeated blocks
    (``nn_rosetta.port_blocks``), each called where its first layer stands."""
    writer = _Writer(model, contexts, tf64, set(taken))
    by_name = {node.name: node for node in model.nodes}
    for tensor in model.inputs:
        if tensor.name in arguments:
            writer.argument(tensor)
    for name in order:
        if plan is not None and name in plan.calls:
            plan.calls[name].write(writer)
        elif plan is not None and name in plan.covered:
            continue
        elif name in stubs:
            writer.stub(stubs[name], stub_classes[name])
        elif by_name[name].layer.merges:
            writer.merge(by_name[name])
        else:
            writer.layer(by_name[name])
    return writer, writer.returned(results)


def generate(model: reference.Model, *, model_name: str, tf64: set[str] | None = None,
             stubs: Sequence[Stub] = (), order: Sequence[str] | None = None,
             arguments: Sequence[str] | None = None,
             results: Sequence[str] | None = None, blocks: bool = True) -> Generated:
    """The source of ``model.py`` for the spec graph ``model``.

    ``tf64``: the layers whose float64 activations are TF's own kernels (see
    ``porting.ACTIVATIONS``). ``stubs``: Keras layers left as stubs, whose outputs are
    Inputs of ``model``; ``order``: the Keras layers' order, stubs among them (default:
    the spec's); ``arguments``: the Keras Inputs' names (default: the spec's inputs);
    ``results``: the Keras outputs' names (default: the spec's; a stub's input is an
    output of ``model`` too, so that it is computed), returned as one tensor or a tuple;
    ``blocks``: a block the model repeats becomes one class (``nn_rosetta.port_blocks``).
    """
    from nn_rosetta import port_blocks

    contexts, tf64 = graph_contexts(model), tf64 or set()
    taken = set(_RESERVED)
    stub_classes = {stub.name: identifier(
        "".join(part.title() for part in re.split(r"\W|_", stub.name) if part) or "Stub",
        taken) for stub in stubs}
    order = list(order or [node.name for node in model.nodes])
    arguments = list(arguments or [t.name for t in model.inputs])
    stubs_by_name = {stub.name: stub for stub in stubs}
    results = list(results or [t.name for t in model.outputs])
    writer, returned = _walk(model, contexts, tf64, taken, order, arguments, stubs_by_name,
                             stub_classes, results)
    plan = port_blocks.plan(model, contexts, tf64, order, writer.made, set(stubs_by_name),
                            taken) if blocks else None
    if plan is not None:
        writer, returned = _walk(model, contexts, tf64, taken, order, arguments,
                                 stubs_by_name, stub_classes, results, plan)
    seen: set[str] = set()
    classes = definitions(model.layers)
    classes += [text for stub in stubs for text in _stub_class(stub, stub_classes[stub.name])]
    if plan is not None:
        classes += plan.source(seen)
    init = [text for line in writer.init for text in line.render(" " * 8, seen)]
    if model.dtype == np.float64:
        init += Line("self.double()", "the Keras model computes in float64, torch's "
                                      "default is float32").render(" " * 8)
    forward = [text for line in [*writer.forward, returned] for text in
               line.render(" " * 8, seen)]
    imports = ["import torch"]
    if any("F." in text for text in classes + init + forward):
        imports.append("import torch.nn.functional as F")
    imports.append("from torch import nn")
    source = "\n".join([
        *_docstring(model, arguments, model_name), "", *imports, "", "", *classes,
        f"class {CLASS_NAME}(nn.Module):",
        "    def __init__(self) -> None:",
        "        super().__init__()",
        *init, "",
        *_signature(writer, arguments, results),
        *forward, ""])
    return Generated(source, writer.attributes, writer.tensors, contexts, writer.codes)


# -- the module ----------------------------------------------------------------------------

def build_module(generated: Generated, model: reference.Model) -> nn.Module:
    """The generated class, instantiated from its source, holding the spec's weights: those
    of ``torch_impl.graphs.graph_module(model)`` (a ``torch.fx.GraphModule`` with a submodule
    per spec layer, weights copied by ``reference.layouts`` in the graph's contexts), each
    layer's under its attribute in the generated class."""
    check_copy_fits("port", model, copies=2)  # the generated module, the converted one
    namespace: dict[str, Any] = {"__name__": "model"}
    exec(compile(generated.source, "model.py", "exec"), namespace)  # what the user receives
    module = namespace[CLASS_NAME]()
    # a GraphModule, a submodule per layer; the layouts are the generated forward's
    converted = torch_graphs.graph_module(model, "port")
    state = {}
    for layer in model.layers:
        attr = generated.attributes.get(layer.name)
        if attr is None:
            continue
        built = converted.get_submodule(torch_graphs.attribute(layer.name)).state_dict()
        # the layer's modules: one (SeparableConv2D's is an nn.Sequential of two), or an
        # nn.Sequential of its group (a pad, an activation), whose one module holding
        # weights is the attribute's
        own = built.keys() == module.get_submodule(attr).state_dict().keys()
        state.update({f"{attr}.{key if own else key.split('.', 1)[1]}": value
                      for key, value in built.items()})
    module.load_state_dict(state, strict=True)
    return module.eval()


# -- the report ----------------------------------------------------------------------------

def run_alone(code: LayerCode, module: nn.Module, given: dict[str, np.ndarray]) -> np.ndarray:
    """One layer's lines run on ``given`` (Keras's values of the tensors it reads, by
    name), in the module that holds them; its output in Keras's layout."""
    scope: dict[str, Any] = {"self": module.get_submodule(code.path)}
    for source, tensor in code.reads:
        scope[tensor.var] = tensor_of(tensor.from_keras(given[source]))
    with torch.no_grad():
        for line in code.lines:
            exec(line.code, _NAMESPACE, scope)  # the generated line, as model.py runs it
    return code.makes.to_keras(scope[code.makes.var].numpy())


def worst(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float
          ) -> tuple[int, ...] | None:
    """The index of the entry farthest outside (or nearest to) the tolerance."""
    if actual.size == 0:
        return None
    scale = np.abs(expected.astype(np.float64)) + atol / rtol
    measure = np.abs(actual.astype(np.float64) - expected) / scale
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(measure)), measure.shape))


class Replay(nn.Module):
    """Stands in for a stub module while the report runs: Keras's output of that layer."""

    def __init__(self, value: torch.Tensor) -> None:
        super().__init__()
        self.value = value

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.value


def tensor_of(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array))


_NAMESPACE = {"torch": torch, "nn": nn, "F": torch.nn.functional}  # model.py's imports



# -- the Keras side ------------------------------------------------------------------------

def _sources(entry: dict[str, Any]) -> list[str]:
    """The producers' names of the tensors a layer's (only) call took, from its config."""
    (node,) = entry["inbound_nodes"]
    args = node["args"]
    tensors = args[0] if len(args) == 1 and isinstance(args[0], list) else args
    return [t["config"]["keras_history"][0] for t in tensors
            if isinstance(t, dict) and t.get("class_name") == "__keras_tensor__"]


def _names(entries: list) -> list[str]:
    """The layer names of a config's ``input_layers`` or ``output_layers``."""
    return [entry[0] for entry in (entries if entries and isinstance(entries[0], list)
                                   else [entries])]


def is_foreign(layer: keras.Layer) -> bool:
    """A layer whose computation nn-rosetta cannot read: a ``Lambda``, or a class defined
    outside Keras."""
    return isinstance(layer, keras.layers.Lambda) or \
        type(layer).__module__.split(".")[0] != "keras"


def source_file(layer: keras.Layer) -> str:
    """The file a foreign layer's code comes from: the Lambda's function's, else the class's."""
    for target in (getattr(layer, "function", None), type(layer)):
        try:
            found = inspect.getsourcefile(target) if target is not None else None
        except TypeError:  # a built-in
            found = None
        if found:
            return found
    return "an unknown file"


def refusal(layer: keras.Layer, where: str = "port") -> TypeError:
    """The error for a foreign layer: its class, its file, and what to do."""
    what = "a Lambda" if isinstance(layer, keras.layers.Lambda) else \
        f"a custom layer class {type(layer).__module__}.{type(layer).__qualname__}"
    return TypeError(
        f"{where}: layer {layer.name!r} is {what} (from {source_file(layer)}), whose "
        "computation nn-rosetta cannot read. Write its torch counterpart by hand: port with "
        "stubs=True (nn-rosetta port --stubs) for a named stub module in model.py that "
        "raises NotImplementedError, then write its forward")


def _cut(keras_model: keras.Model, stubs: list[Stub], config: dict[str, Any]) -> keras.Model:
    """``keras_model`` with each stubbed layer's output an Input of its own (after the
    model's inputs), rebuilt from its config with the same weights."""
    from tf_impl import graphs as tf_graphs

    by_name = {stub.name: stub for stub in stubs}
    layers = []
    for entry in config["layers"]:
        stub = by_name.get(entry["name"])
        if stub is not None:
            dtype = keras_model.get_layer(stub.name).output.dtype
            entry = {**keras.saving.serialize_keras_object(keras.layers.InputLayer(
                shape=stub.shape, dtype=dtype, name=stub.name)), "name": stub.name,
                "inbound_nodes": []}
        else:  # the constants Keras computes with, not their config's float32 reading
            entry = {**entry, "config": {**entry["config"], **tf_graphs.constants(
                keras_model.get_layer(entry["name"]))}}
        layers.append(entry)
    given = _names(config["input_layers"])
    inputs = [[name, 0, 0] for name in given] + [[stub.name, 0, 0] for stub in stubs]
    results = _names(config["output_layers"])
    fed = [name for stub in stubs for name in stub.inputs  # computed for the stubs alone
           if name not in results and name not in given and name not in by_name]
    outputs = [[name, 0, 0] for name in dict.fromkeys(results + fed)]
    cut = keras.Model.from_config({**config, "layers": layers, "input_layers": inputs,
                                   "output_layers": outputs})
    for layer in cut.layers:
        if layer.name not in by_name and layer.weights:
            layer.set_weights(keras_model.get_layer(layer.name).get_weights())
    return cut


def _groups(spec: reference.Model, config: dict[str, Any], stubs: set[str]
            ) -> dict[str, list[str]]:
    """The Keras layers making each spec layer, by spec layer name: the layer of its
    name and the activation layers the reader joined to it (one-input layers after it
    that are no spec layer of their own)."""
    spec_names = {layer.name for layer in spec.layers}
    users: dict[str, list[str]] = {}
    for entry in config["layers"]:
        if entry["inbound_nodes"]:
            for source in set(_sources(entry)):
                users.setdefault(source, []).append(entry["name"])
    groups = {}
    for name in spec_names:
        group = [name]
        while len(after := users.get(group[-1], [])) == 1 and after[0] not in spec_names \
                and after[0] not in stubs:
            group.append(after[0])
        groups[name] = group
    return groups


def tf_kernel(group: list[keras.Layer]) -> bool:
    """Whether the Keras layers of one spec layer apply Keras's own activation kernels (an
    activation joined to the layer before it, a plain Keras layer's ``activation``, a
    ``LeakyReLU`` layer), not ``tf_impl``'s spec-exact ones (``functools.partial``
    objects): in float64, TF's kernels hold a constant in float32 (see
    ``porting.ACTIVATIONS``)."""
    activation = getattr(group[0], "activation", None)
    return len(group) > 1 or isinstance(group[0], keras.layers.LeakyReLU) or (
        activation is not None and not isinstance(activation, functools.partial))


def _tf64(spec: reference.Model, keras_model: keras.Model, groups: dict[str, list[str]]
          ) -> set[str]:
    """The spec layers whose float64 activations are TF's own kernels (:func:`tf_kernel`)."""
    if spec.dtype != np.float64:
        return set()
    return {name for name, group in groups.items()
            if tf_kernel([keras_model.get_layer(member) for member in group])}


def _examples(spec: reference.Model, arguments: list[str], example_input: object | None
              ) -> list[np.ndarray]:
    """One array per Keras Input, in Keras's order: ``example_input`` checked (one array,
    a list, or a dict by input name), or drawn (random normal; integers for an Embedding)."""
    from reference._validation import as_float_array, as_index_array, check_shape

    tensors = {t.name: t for t in spec.inputs}
    embeddings = {t.name: node.layer for node in spec.nodes for t in node.inputs
                  if node.layer.input_kind == "indices"}
    from nn_rosetta.porting import example_shape

    if example_input is None:
        rng = np.random.default_rng(0)
        return [rng.integers(0, embeddings[name].input_dim, (4, *example_shape(shape)))
                if name in embeddings else
                rng.standard_normal((4, *example_shape(shape))).astype(spec.dtype)
                for name, shape in ((n, tensors[n].shape) for n in arguments)]
    if isinstance(example_input, dict):
        missing = sorted(set(arguments) - set(example_input))
        if missing or len(example_input) != len(arguments):
            raise ValueError(f"port: example_input must hold one array per input "
                             f"{arguments}, got {sorted(example_input)}")
        given = [example_input[name] for name in arguments]
    elif isinstance(example_input, list | tuple) and len(arguments) > 1:
        given = list(example_input)
    else:
        given = [example_input]
    if len(given) != len(arguments):
        raise ValueError(f"port: example_input must be a list of {len(arguments)} arrays, one "
                         f"per input {arguments}, got {len(given)}")
    found = []
    for name, x in zip(arguments, given, strict=True):
        what = "example_input" if len(arguments) == 1 else f"example_input {name!r}"
        x = as_index_array(x, "port", what) if name in embeddings else \
            as_float_array(x, spec.dtype, "port", what)
        check_shape("port", what, x.shape, (None, *tensors[name].shape))
        found.append(x)
    if len({len(x) for x in found}) > 1:
        raise ValueError(f"port: the example inputs must have one batch size, got "
                         f"{[len(x) for x in found]}")
    return found


def _as_list(value: object) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


def _report(keras_model: keras.Model, spec: reference.Model, generated: Generated,
            module: nn.Module, arrays: list[np.ndarray], groups: dict[str, list[str]],
            stubs: list[Stub], order: list[str], drawn: bool) -> Any:
    """Every spec layer's output from Keras's input to it (and each stub's, not compared),
    then each model output, the Keras model and the generated module each run whole on
    ``arrays``."""
    from nn_rosetta.porting import LayerParity, ParityReport, dropped, example_lengths
    from nn_rosetta.tolerances import tolerance

    tol = tolerance(spec.dtype, "output")
    stub_names = {stub.name for stub in stubs}
    probed = [groups[name][-1] if name in groups else name for name in order]
    listed = isinstance(keras_model.get_config()["input_layers"][0], list)
    keras_in = arrays if listed else arrays[0]  # the structure the model was built with
    probe = keras.Model(keras_model.inputs,
                        [keras_model.get_layer(name).output for name in probed])
    values = dict(zip(order, map(keras.ops.convert_to_numpy,
                                 _as_list(probe(arrays, training=False))), strict=True))
    expected = [keras.ops.convert_to_numpy(y) for y in
                _as_list(keras_model(keras_in, training=False))]
    replaced = {stub.name: getattr(module, generated.attributes[stub.name]) for stub in stubs}
    for name in replaced:  # the layers after a stub get Keras's output of it
        setattr(module, generated.attributes[name], Replay(tensor_of(values[name])))
    try:
        with torch.no_grad():
            result = module(*[tensor_of(x) for x in arrays])
    finally:
        for name, stub_module in replaced.items():
            setattr(module, generated.attributes[name], stub_module)
    given = {**dict(zip(_names(keras_model.get_config()["input_layers"]), arrays,
                        strict=True)), **values}  # every tensor's value in Keras

    def row(label: str, kind: str, got: np.ndarray, want: np.ndarray,
            note: str = "") -> LayerParity:
        return LayerParity(label, kind, float(np.max(np.abs(got - want), initial=0.0)),
                           tol.error(got, want), tol.rtol,
                           worst(got, want, tol.rtol, tol.atol), note=note)

    rows = []
    layers = {layer.name: layer for layer in spec.layers}
    kinds = {stub.name: stub.kind for stub in stubs}
    for name in order:
        if name in stub_names:
            rows.append(LayerParity(name, kinds[name], float("nan"), float("nan"), tol.rtol,
                                    compared=False))
            continue
        rows.append(row(" + ".join(groups[name]), type(layers[name]).__name__,
                        run_alone(generated.codes[name], module, given), values[name],
                        dropped([keras_model.get_layer(n) for n in groups[name]])))
    results = _names(keras_model.get_config()["output_layers"])
    for name, got, want in zip(results, _as_list(result), expected, strict=True):
        rows.append(row(f"output {name}", "model output", got.numpy(), want))
    shapes = tuple(x.shape for x in arrays)
    inputs = {t.name: t.shape for t in spec.inputs}
    return ParityReport(tuple(rows), spec.dtype.name, shapes[0] if len(shapes) == 1 else shapes,
                        drawn, lengths=example_lengths([inputs.get(name, ()) for name in _names(
                            keras_model.get_config()["input_layers"])], list(shapes)))


def _refuse_inputs_only_stubs_take(arguments: list[str], stubbed: list[Stub],
                                   config: dict[str, Any]) -> None:
    """A stub stands between two tensors the ported module computes: an Input that only
    stubbed layers take would be cut off from the rest of the graph."""
    stub_names = {stub.name for stub in stubbed}
    for name in arguments:
        users = {entry["name"] for entry in config["layers"]
                 if len(entry["inbound_nodes"]) == 1 and name in _sources(entry)}
        if users and users <= stub_names:
            raise TypeError(
                f"port: input {name!r} is taken only by the stubbed layer(s) "
                f"{', '.join(sorted(users))}, so the ported graph would not start from it; "
                "write their torch counterpart, or make their output an Input of the "
                "model and port that")


def port_graph(keras_model: keras.Model, example_input: object | None = None, *,
               stubs: bool = False) -> Any:
    """A functional Keras model in PyTorch (see the module docstring): what
    ``nn_rosetta.port`` returns for a graph."""
    import tf_impl
    from nn_rosetta.porting import Ported

    config = keras_model.get_config()
    foreign = [layer for layer in keras_model.layers if is_foreign(layer)]
    if foreign and not stubs:
        raise refusal(foreign[0])
    stubbed = []
    for layer in foreign:
        entry = next(e for e in config["layers"] if e["name"] == layer.name)
        if len(entry["inbound_nodes"]) != 1 or isinstance(layer.output, list | tuple):
            raise TypeError(f"port: layer {layer.name!r} ({type(layer).__name__}) is called "
                            "more than once or has several outputs; a stub takes one call")
        stubbed.append(Stub(layer.name, type(layer).__name__, source_file(layer),
                            entry["config"], _sources(entry), tuple(layer.output.shape[1:])))
    arguments = _names(config["input_layers"])
    _refuse_inputs_only_stubs_take(arguments, stubbed, config)
    model = _cut(keras_model, stubbed, config) if stubbed else keras_model
    try:
        spec = tf_impl.to_reference(model, inference=True)  # see porting.dropped
    except (TypeError, ValueError) as error:
        raise type(error)(f"port: {str(error).removeprefix('port: ')}") from None
    if isinstance(spec, reference.Sequential):  # a chain: the Sequential port takes it
        raise TypeError("port: port_graph takes a graph; nn_rosetta.port ports a chain")
    groups = _groups(spec, config, {stub.name for stub in stubbed})
    order = [entry["name"] for entry in config["layers"]
             if entry["name"] in groups or entry["name"] in {s.name for s in stubbed}]
    arrays = _examples(spec, arguments, example_input)
    owner = {member: name for name, group in groups.items() for member in group}
    # an output made by an activation layer joined to the layer before it: that spec layer's
    results = [owner.get(name, name) for name in _names(config["output_layers"])]
    generated = generate(spec, model_name=keras_model.name,
                         tf64=_tf64(spec, keras_model, groups), stubs=stubbed, order=order,
                         arguments=arguments, results=results)
    module = build_module(generated, spec)
    return Ported(module, generated.source,
                  _report(keras_model, spec, generated, module, arrays, groups, stubbed,
                          order, drawn=example_input is None))
