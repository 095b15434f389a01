"""Repeated blocks in a ported graph: one class where the Keras model repeats a structure.

Keras Applications name a block's layers under one prefix (``conv2_block1_1_conv``,
``conv2_block1_add`` in ResNet50; ``block_3_expand``, ``block_3_project_BN`` in
MobileNetV2). The port cuts the Keras layers' order into runs of one such prefix
(:data:`PREFIX`), writes each run's code as a class of its own (its inputs ``x`` or
``x1, x2, …``, its layers named by what follows the prefix, ``1_conv`` → ``conv1`` as
torchvision names them), and where two runs write the same code (the same layer kinds,
settings, shapes and wiring) keeps one class for both. A float setting that differs
between such runs (the rate of EfficientNet's stochastic depth, which grows block by
block) is an argument of the class's ``__init__``, given at each call; sizes (integers)
never are: a block of other widths is another class. A run whose code no other run
repeats stays inline in ``forward``. Consecutive calls of one class, each taking only
the previous one's output, become one ``nn.Sequential`` of that class.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import textwrap
from dataclasses import dataclass, field

import torch
from torch import nn

import reference
from nn_rosetta.port_graphs import Line, TorchTensor, _Writer, identifier
from reference.layouts import Context

# conv2_block1_ | block_3_ | block4b_ , then the rest
PREFIX = re.compile(r"^(.*?block_?\d+[a-z]?_)(.+)$")
FLOAT = re.compile(r"(?<![\w.])(?:\d+\.\d*(?:e[-+]?\d+)?|\d+e[-+]?\d+)")  # 0.1, 1e-05


def local_name(suffix: str) -> str:
    """A block layer's name in its class: ``1_conv`` → ``conv1``, ``add`` stays."""
    found = re.fullmatch(r"(\d+)_(.+)", suffix)
    return f"{found[2]}{found[1]}" if found else suffix


@dataclass
class Segment:
    """One run of layers under one prefix: its spec layers, the tensors it reads from
    before it, and those of its tensors read after it (or returned by the model)."""

    prefix: str
    names: list[str]
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    signature: tuple = ()
    body: _Writer | None = None
    arguments: list[str] = field(default_factory=list)
    returned: list[TorchTensor] = field(default_factory=list)


@dataclass
class Call:
    """Where the outer ``forward`` calls a block class: one segment, or consecutive ones
    chained through an ``nn.Sequential``."""

    segments: list[Segment]
    class_name: str
    input_states: list[TorchTensor]
    parameters: list[Parameter] = field(default_factory=list)

    def _construct(self) -> str:
        """The expression making the block module(s), each with its own settings."""
        values = [[p.value(segment) for p in self.parameters] for segment in self.segments]
        names = [p.name for p in self.parameters]
        if len(self.segments) == 1:
            given = ", ".join(f"{n}={v}" for n, v in zip(names, values[0], strict=True))
            return f"{self.class_name}({given})"
        if not names:
            return (f"nn.Sequential(*({self.class_name}() "
                    f"for _ in range({len(self.segments)})))")
        if len(names) == 1:  # the settings on a line of their own (a float's repr is long)
            (name,) = names
            settings = textwrap.wrap(", ".join(v for (v,) in values), 80)
            return (f"nn.Sequential(*({self.class_name}({name}) for {name} in (\n    " +
                    "\n    ".join(settings) + ")))")
        return "nn.Sequential(\n" + ",\n".join(f"    {self.class_name}({', '.join(v)})"
                                                for v in values) + ")"

    def write(self, writer: _Writer) -> None:
        first, last = self.segments[0], self.segments[-1]
        operands = [writer.take(name, state.channels_first)
                    for name, state in zip(first.inputs, self.input_states, strict=True)]
        if len(self.segments) == 1:
            attr = identifier(first.prefix, writer.taken)
            paths = [attr]
        else:
            number = re.search(r"(\d+[a-z]?)_$", last.prefix)
            attr = identifier(f"{first.prefix}to_{number[1] if number else len(self.segments)}",
                              writer.taken)
            paths = [f"{attr}.{k}" for k in range(len(self.segments))]
        writer.init.append(Line(f"self.{attr} = {self._construct()}"))
        outputs = [identifier(name, writer.taken) for name in last.outputs]
        writer.forward.append(Line(f"{', '.join(outputs)} = self.{attr}("
                                   f"{', '.join(o.var for o in operands)})"))
        for name, var, state in zip(last.outputs, outputs, last.returned, strict=True):
            writer.add(name, dataclasses.replace(state, var=var))
        for segment, path in zip(self.segments, paths, strict=True):
            for name, attribute in segment.body.attributes.items():
                writer.attributes[name] = f"{path}.{attribute}"
            for name in segment.names:  # the report runs these in the block's module
                writer.codes[name] = dataclasses.replace(segment.body.codes[name], path=path)


@dataclass(frozen=True)
class Parameter:
    """A float setting that differs between the segments of one class: the ``literal``-th
    float of ``__init__``'s line ``line``, an argument ``name`` of the class."""

    line: int
    literal: int
    name: str

    def value(self, segment: Segment) -> str:
        return FLOAT.findall(segment.body.init[self.line].code)[self.literal]


def _argument_name(code: str, literal: int) -> str:
    """The name of the constructor argument that the ``literal``-th float of the line
    ``self.attr = Module(...)`` is given to (torch's name: ``nn.Dropout(0.1)`` → ``p``),
    after the attribute: ``drop_p``."""
    statement = ast.parse(code).body[0]
    attr = statement.targets[0].attr if isinstance(statement, ast.Assign) and \
        isinstance(statement.targets[0], ast.Attribute) else "block"
    floats = sorted((node for node in ast.walk(statement) if isinstance(node, ast.Constant)
                     and isinstance(node.value, float)),
                    key=lambda node: (node.lineno, node.col_offset))
    target = floats[literal] if literal < len(floats) else None
    for call in (node for node in ast.walk(statement) if isinstance(node, ast.Call)):
        for keyword in call.keywords:
            if keyword.value is target:
                return f"{attr}_{keyword.arg}"
        if target in call.args:
            path = ast.unparse(call.func).split(".")  # nn.Dropout: torch's own names
            constructor = {"nn": nn, "torch": torch}.get(path[0])
            for part in path[1:]:
                constructor = getattr(constructor, part, None)
            try:
                names = list(inspect.signature(constructor).parameters)
                return f"{attr}_{names[call.args.index(target)]}"
            except (TypeError, ValueError, IndexError):  # no signature to read
                break
    return f"{attr}_{literal}"


def _parameters(group: list[Segment]) -> list[Parameter]:
    """The float settings that differ between the segments of ``group``."""
    found, taken = [], {"self"}
    for i, line in enumerate(group[0].body.init):
        literals = [FLOAT.findall(segment.body.init[i].code) for segment in group]
        for j, value in enumerate(literals[0]):
            if any(other[j] != value for other in literals[1:]):
                found.append(Parameter(i, j, identifier(_argument_name(line.code, j), taken)))
    return found


@dataclass
class Plan:
    """The block classes of a graph and where ``forward`` calls them."""

    classes: dict[str, list[Segment]]  # class name → the segments it stands for
    calls: dict[str, Call]  # the first layer of each call → the call
    covered: set[str]  # every layer inside a block
    parameters: dict[str, list[Parameter]] = field(default_factory=dict)  # by class name

    def source(self, seen: set[str]) -> list[str]:
        lines = []
        for class_name, segments in self.classes.items():
            body = segments[0]
            prefixes = ", ".join(s.prefix for s in segments)
            arguments = ", ".join(["self", *(f"{a}: torch.Tensor" for a in body.arguments)])
            returns = "torch.Tensor" if len(body.returned) == 1 else \
                f"tuple[{', '.join(['torch.Tensor'] * len(body.returned))}]"
            parameters = self.parameters.get(class_name, [])
            settings = ", ".join(["self", *(f"{p.name}: float" for p in parameters)])
            init_lines = list(body.body.init)
            for parameter in parameters:  # the setting's literal → the argument
                line = init_lines[parameter.line]
                spans = [m.span() for m in FLOAT.finditer(line.code)]
                start, stop = spans[parameter.literal]
                init_lines[parameter.line] = dataclasses.replace(
                    line, code=line.code[:start] + parameter.name + line.code[stop:])
            init = [text for line in init_lines for text in line.render(" " * 8, seen)]
            forward = [text for line in body.body.forward
                       for text in line.render(" " * 8, seen)]
            about = textwrap.wrap(f'"""The block Keras repeats as {prefixes}."""', 96)
            lines += [f"class {class_name}(nn.Module):", *(f"    {line}" for line in about),
                      "",
                      f"    def __init__({settings}) -> None:",
                      "        super().__init__()", *init, "",
                      f"    def forward({arguments}) -> {returns}:", *forward,
                      f"        return {', '.join(t.var for t in body.returned)}", "", ""]
        return lines


def _segments(model: reference.Model, order: list[str], stubs: set[str]) -> list[Segment | None]:
    """The runs of one prefix in ``order`` (``None`` between them where a layer has none)."""
    nodes = {node.name: node for node in model.nodes}
    found: list[Segment | None] = []
    for name in order:
        match = PREFIX.match(name) if name in nodes and name not in stubs else None
        if match is None:
            found.append(None)
        elif found and found[-1] is not None and found[-1].prefix == match[1]:
            found[-1].names.append(name)
        else:
            found.append(Segment(match[1], [name]))
    consumers: dict[str, list[str]] = {}
    for node in model.nodes:
        for tensor in node.inputs:
            consumers.setdefault(tensor.name, []).append(node.name)
    returned = {t.name for t in model.outputs}
    for segment in filter(None, found):
        inside = set(segment.names)
        segment.inputs = list(dict.fromkeys(t.name for name in segment.names
                                            for t in nodes[name].inputs
                                            if t.name not in inside))
        segment.outputs = [name for name in segment.names if name in returned or
                           any(c not in inside for c in consumers.get(name, []))]
    return found


def _write(segment: Segment, model: reference.Model, contexts: dict[str, Context],
           tf64: set[str], made: dict[str, TorchTensor]) -> None:
    """The segment's code as a block's body, and its signature (equal code, one class)."""
    from nn_rosetta.port_graphs import _RESERVED

    names = {name: local_name(name[len(segment.prefix):]) for name in segment.names}
    body = _Writer(model, contexts, tf64, set(_RESERVED), local=names.__getitem__)
    segment.arguments = ["x"] if len(segment.inputs) == 1 else \
        [f"x{k}" for k in range(1, len(segment.inputs) + 1)]
    body.taken.update(segment.arguments)
    for argument, name in zip(segment.arguments, segment.inputs, strict=True):
        body.tensors[name] = dataclasses.replace(made[name], var=argument)
    nodes = {node.name: node for node in model.nodes}
    for name in segment.names:
        (body.merge if nodes[name].layer.merges else body.layer)(nodes[name])
    segment.body = body
    segment.returned = [dataclasses.replace(body.tensors[name]) for name in segment.outputs]
    segment.signature = (  # the floats of __init__ may differ: they become arguments
        tuple(dataclasses.replace(line, code=FLOAT.sub("#", line.code)) for line in body.init),
        tuple(body.forward),
        tuple((t.var, t.channels_first, t.flattened) for t in segment.returned),
        tuple((made[n].rank, made[n].channels_first, made[n].flattened)
              for n in segment.inputs),
        tuple(type(nodes[n].layer).__name__ for n in segment.names))


def plan(model: reference.Model, contexts: dict[str, Context], tf64: set[str],
         order: list[str], made: dict[str, TorchTensor], stubs: set[str],
         taken: set[str]) -> Plan | None:
    """The block classes of ``model`` and their calls, or ``None`` where nothing repeats.
    ``made``: each tensor's layout as the inline code makes it (a block's inputs)."""
    segments = _segments(model, order, stubs)
    for segment in filter(None, segments):
        _write(segment, model, contexts, tf64, made)
    by_signature: dict[tuple, list[Segment]] = {}
    for segment in filter(None, segments):
        by_signature.setdefault(segment.signature, []).append(segment)
    repeated = [group for group in by_signature.values() if len(group) > 1]
    if not repeated:
        return None
    classes = {identifier(f"Block{k}", taken): group for k, group in enumerate(repeated, 1)}
    parameters = {name: _parameters(group) for name, group in classes.items()}
    class_of = {id(segment): name for name, group in classes.items() for segment in group}
    returned = {t.name for t in model.outputs}
    calls, covered, run = {}, set(), []

    def close() -> None:
        if run:
            calls[run[0].names[0]] = Call(list(run), class_of[id(run[0])],
                                          [made[n] for n in run[0].inputs],
                                          parameters[class_of[id(run[0])]])
            run.clear()

    for segment in segments:
        if segment is None or id(segment) not in class_of:
            close()
            continue
        covered.update(segment.names)
        previous = run[-1] if run else None
        chained = previous is not None and class_of[id(previous)] == class_of[id(segment)] \
            and previous.outputs == segment.inputs and len(segment.inputs) == 1 and \
            previous.outputs[0] not in returned and _only_into(model, previous, segment)
        if not chained:
            close()
        run.append(segment)
    close()
    return Plan(classes, calls, covered, parameters)


def _only_into(model: reference.Model, previous: Segment, segment: Segment) -> bool:
    """Whether ``previous``'s output is read by ``segment`` alone."""
    (output,) = previous.outputs
    inside = set(segment.names)
    return all(node.name in inside for node in model.nodes
               if any(t.name == output for t in node.inputs))
