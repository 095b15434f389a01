"""The worked graphs, one page each: what the graph is, the spec's code that builds it, and
its two translations as code, the Keras functional model and the torch module with its
``forward``, with the parity the tests measured.

A worked graph is a registry case of the ``Model`` concept built by a factory of the spec
(``reference.digits.digit_resnet`` …): :data:`GRAPHS` names each, one row per graph, and
``docs/tests/test_worked.py`` fails for a factory of the spec without a row. The page
builds the graph as its registry case does (float32, the case's random weights), converts
it with ``tf_impl.from_reference`` and ``torch_impl.from_reference``, and writes the two
converted models out as code:

* Keras: the functional model's ``get_config()`` walked layer by layer, each layer's
  constructor with the arguments that differ from the layer's defaults (a default layer
  of the same class called on the same inputs, so that what building derives, a key
  width, is no difference), each call on its inputs as the model was wired;
* torch: the ``torch.fx.GraphModule``'s submodules as the ``__init__`` of a class (each
  module's constructor with the arguments that differ from its defaults, read back from
  its attributes), and the GraphModule's own ``.code`` as its ``forward``.

Both listings run: the tests execute each, copy the converted model's weights in, and
compare the outputs with the spec's.
"""

from __future__ import annotations

import inspect
import json
import re
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from nn_rosetta import parity
from nn_rosetta.catalog import page_of
from nn_rosetta.sources import Definition, module_source
from reference import registry

CONCEPT = "Model"  # the registry concept whose cases the worked graphs are
LISTED_DTYPE = np.float32  # the listings are of the float32 models (no dtype arguments)


@dataclass(frozen=True)
class Graph:
    """One worked graph: its page, its title, the spec factory that builds it
    (``package.module.function``) and the text that its registry cases' labels contain
    (the first such case is the one shown; all of them are its parity)."""

    page: str
    title: str
    factory: str
    cases: str

    @property
    def class_name(self) -> str:
        """The torch listing's class: the title in CamelCase ("Small U-Net" → SmallUNet)."""
        return "".join(w[0].upper() + w[1:] for w in re.findall(r"[A-Za-z0-9]+", self.title))

    @property
    def parity(self) -> str:
        """The name the graph's parity records go under in the snapshot."""
        return f"worked graph: {self.page}"


GRAPHS = (
    Graph("graph-small-resnet", "Small ResNet", "reference.digits.digit_resnet",
          "small ResNet"),
    Graph("graph-small-u-net", "Small U-Net", "reference.digits.digit_unet", "small U-Net"),
    Graph("graph-transformer-encoder-block", "Transformer encoder block",
          "reference.transformer.encoder_block", "Transformer encoder block"),
    Graph("graph-variational-autoencoder", "Variational autoencoder",
          "reference.digits.digit_vae", "variational autoencoder"),
)


def model_concept() -> registry.Concept:
    (concept,) = [c for c in registry.CONCEPTS if c.name == CONCEPT]
    return concept


def cases(graph: Graph) -> list[registry.Case]:
    """The registry cases of ``graph``, the one shown first."""
    return [case for case in model_concept().cases if graph.cases in case.label]


def made(graph: Graph) -> dict:
    """The graph's first case's data in float32 (batch 2): its model, weights drawn as the
    case draws them, and its inputs."""
    return cases(graph)[0].make(np.random.default_rng(0), np.dtype(LISTED_DTYPE), 2)


def factory(graph: Graph) -> tuple[Definition, list[Definition]]:
    """The factory's definition in its module, and the module's definitions it uses."""
    package, module, name = graph.factory.split(".")
    source = module_source(package, module)
    return source.definition(name), source.helpers([name])


# -- values as Python source ---------------------------------------------------------------

# The arguments a square window or step may be given as one number (a 3×3 kernel as 3),
# in Keras and in torch; any other tuple stays a tuple (a Reshape's (4, 4, 4)).
SQUARE = {"kernel_size", "strides", "stride", "pool_size", "dilation_rate", "dilation",
          "padding", "output_padding", "size"}


def literal(value: object, key: str = "") -> str:
    """An argument ``key`` as source: a float to 12 digits (torch's momentum 1 − 0.99 is
    ``0.01``), a square window's tuple of equal numbers as the number (:data:`SQUARE`)."""
    if isinstance(value, list | tuple):
        if key in SQUARE and len(value) > 1 and len(set(value)) == 1 and \
                isinstance(value[0], int):
            return literal(value[0])
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, float):
        return repr(float(f"{value:.12g}"))
    if isinstance(value, str):
        return json.dumps(value)  # double quotes, as the project writes strings
    return repr(value)


def wrapped(line: str, width: int = 80) -> str:
    """A long line of code broken after its first opening parenthesis, the arguments on
    lines of their own, 4 columns in (the listings hold no string with a space in it)."""
    if len(line) <= width:
        return line
    paren = line.index("(", line.index(" = ")) + 1
    indent = " " * (len(line) - len(line.lstrip()) + 4)
    return line[:paren] + "\n" + textwrap.fill(
        line[paren:], width, initial_indent=indent, subsequent_indent=indent,
        break_long_words=False, break_on_hyphens=False)


def _call(name: str, positional: list[str], keywords: dict[str, str]) -> str:
    return f"{name}({', '.join([*positional, *(f'{k}={v}' for k, v in keywords.items())])})"


def _required(cls: type) -> list[str]:
    """The parameters of ``cls.__init__`` without a default."""
    return [p.name for p in _parameters(cls) if p.default is inspect.Parameter.empty]


def _parameters(cls: type) -> list[inspect.Parameter]:
    """The named parameters of ``cls.__init__``, and its base's where it passes ``*args``
    on (torch_impl's ``Attention`` to ``nn.MultiheadAttention``)."""
    found: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = list(inspect.signature(klass.__init__).parameters.values())[1:]
        for p in params:
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                found.setdefault(p.name, p)
        if not any(p.kind is p.VAR_POSITIONAL for p in params):
            break
    return list(found.values())


# -- Keras ---------------------------------------------------------------------------------

def _is_tensor(value: object) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _tensors(value: object, write: Any) -> Any:
    """``value`` (a call argument of ``get_config()``) with each tensor replaced by
    ``write(tensor config)``; lists kept."""
    if _is_tensor(value):
        return write(value["config"])
    if isinstance(value, list | tuple):
        return [_tensors(v, write) for v in value]
    return value


def _keras_default(layer: Any, required: dict[str, Any], call: dict | None) -> dict:
    """The config of a default layer of ``layer``'s class with the ``required``
    arguments, called (where ``call`` says how ``layer`` was) on inputs of the same
    shapes, so that what building derives is as ``layer``'s."""
    import keras

    default = type(layer)(**required)
    if call is not None:
        def symbolic(tensor: dict) -> Any:
            return keras.Input(tensor["shape"][1:], dtype=tensor["dtype"])
        default(*_tensors(call["args"], symbolic),
                **{k: _tensors(v, symbolic) for k, v in _given(call).items()})
    return default.get_config()


def _given(call: dict) -> dict:
    """A call's keyword arguments that were given (Keras records ``mask=None``)."""
    return {k: v for k, v in (call.get("kwargs") or {}).items() if v is not None}


def _decoded(value: object) -> object:
    """A config value, a serialised NumPy array (``"__numpy__"``) as the array."""
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        return np.asarray(value["config"]["value"], value["config"]["dtype"])
    return value


def _keras_constructor(layer: Any, call: dict | None = None, named: bool = True) -> str:
    """``keras.layers.X(...)`` for ``layer``: its required arguments, then those that
    differ from a default layer's; a wrapped layer (``TimeDistributed``'s) written out
    the same way, without its name (Keras names it)."""
    import keras

    config, names = layer.get_config(), _required(type(layer))

    def value(key: str) -> tuple[object, str]:
        """The argument's value (a wrapped layer as the object) and its source."""
        if isinstance(getattr(layer, key, None), keras.Layer):
            inner = getattr(layer, key)
            return inner, _keras_constructor(inner, named=False)
        found = config[key]
        if key == "dtype" and isinstance(found, dict):  # a dtype policy: its name
            return found, literal(found["config"]["name"])
        if isinstance(found, dict) and found.get("class_name") == "__numpy__":  # an array
            array = found["config"]
            inferred = np.asarray(array["value"]).dtype.name == array["dtype"]
            return np.asarray(array["value"], array["dtype"]), f"np.array({array['value']!r}" \
                + (")" if inferred else f", dtype={literal(array['dtype'])})")
        if isinstance(found, dict):
            raise TypeError(f"docs.worked: no source for {type(layer).__name__}'s "
                            f"{key}={found!r}")
        return found, literal(found, key)

    def differs(key: str) -> bool:
        """Whether argument ``key`` differs from the default layer's (an array from a
        number in value only: Keras computes with either)."""
        mine, theirs = _decoded(config[key]), _decoded(default.get(key))
        if isinstance(mine, np.ndarray) or isinstance(theirs, np.ndarray):
            try:
                return not np.array_equal(np.broadcast_to(theirs, np.shape(mine)), mine)
            except ValueError:  # shapes that do not broadcast
                return True
        return mine != theirs

    required = {name: value(name) for name in names}
    default = _keras_default(layer, {k: v for k, (v, _) in required.items()}, call)
    keywords = {key: value(key)[1] for key in config
                if key not in ("name", *names) and differs(key)}
    if named:
        keywords["name"] = literal(layer.name)
    return _call(f"keras.layers.{type(layer).__name__}",
                 [text for _, text in required.values()], keywords)


def keras_source(model: Any) -> str:
    """The functional ``model`` as the code that builds it (see the module docstring)."""
    config = model.get_config()
    variables = {layer.name: re.sub(r"\W", "_", layer.name) for layer in model.layers}

    def variable(tensor: dict) -> str:
        return variables[tensor["keras_history"][0]]
    inputs, lines = [], []  # the Inputs first, as a Keras user writes them
    for entry, layer in zip(config["layers"], model.layers, strict=True):
        var = variables[layer.name]
        if entry["class_name"] == "InputLayer":
            input_config = layer.get_config()
            shape = repr(tuple(input_config["batch_shape"][1:]))  # a shape stays a tuple
            dtype = input_config["dtype"]
            extra = "" if dtype == "float32" else f", dtype={literal(dtype)}"
            inputs.append(f"{var} = keras.Input({shape}{extra}, name={literal(layer.name)})")
            continue
        (call,) = entry["inbound_nodes"]  # each layer called once, as the spec's
        arguments = [_source_list(a) for a in _tensors(call["args"], variable)] + [
            f"{k}={_source_list(_tensors(v, variable))}" for k, v in _given(call).items()]
        lines.append(f"{var} = {_keras_constructor(layer, call)}({', '.join(arguments)})")

    def ends(key: str) -> str:
        entries = config[key]
        if isinstance(entries[0], list):
            return "[" + ", ".join(variables[e[0]] for e in entries) + "]"
        return variables[entries[0]]
    lines = [*inputs, *lines,
             f"return keras.Model({ends('input_layers')}, {ends('output_layers')})"]
    imports = ["import keras", *(["import numpy as np"] if any("np." in x for x in lines)
                                 else [])]
    return "\n".join([*imports, "", "", "def build() -> keras.Model:",
                      *(wrapped(f"    {line}") for line in lines)])


def _source_list(value: object) -> str:
    """A call argument whose tensors are already variable names, as source."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_source_list(v) for v in value) + "]"
    return value if isinstance(value, str) else literal(value)


# -- torch ---------------------------------------------------------------------------------

def _torch_value(value: object, default: object) -> tuple[object, object]:
    """An attribute and its default's, comparable: a weight (or its absence) as whether it
    is there (``bias=False``)."""
    import torch

    def plain(v: object) -> object:
        return v is not None if v is None or isinstance(v, torch.Tensor) else v
    return plain(value), plain(default)


def _constructor(module: Any, names: dict[type, str]) -> str:
    from torch import nn

    cls = type(module)
    if isinstance(module, nn.Sequential):
        return _call("nn.Sequential", [_constructor(m, names) for m in module], {})
    required = _required(cls)
    missing = [name for name in required if not hasattr(module, name)]
    if missing:
        raise TypeError(f"docs.worked: {cls.__name__} keeps no attribute {missing[0]!r}, "
                        "so its constructor cannot be written from the module")
    default = cls(**{name: getattr(module, name) for name in required})
    keywords = {}
    for p in _parameters(cls):
        if p.name in required or p.name in ("device", "dtype") or not hasattr(module, p.name):
            continue
        value, was = _torch_value(getattr(module, p.name), getattr(default, p.name))
        if value != was:
            keywords[p.name] = literal(value, p.name)
    return _call(names[cls], [literal(getattr(module, n), n) for n in required], keywords)


def _forward(code: str) -> list[str]:
    """A GraphModule's ``.code`` as a method: fx's ``x = None`` (freeing each tensor after
    its last use) dropped, its ``dim = 1`` written ``dim=1``."""
    lines = []
    for line in code.strip().splitlines():
        line = line.rstrip().split(";  ")[0]
        head, sep, tail = line.partition(" = ")
        lines.append(head + sep + re.sub(r"(\w) = ", r"\1=", tail) if sep else line)
    return [f"    {line}" if line else "" for line in lines]


def torch_source(module: Any, class_name: str) -> str:
    """The GraphModule ``module`` as a class (see the module docstring)."""
    from torch import nn

    children = [m for child in module.children() for m in (
        child if isinstance(child, nn.Sequential) else [child])]
    classes = {type(m) for m in children}
    names = {cls: f"nn.{cls.__name__}" if getattr(nn, cls.__name__, None) is cls else
             cls.__name__ for cls in classes}
    imports = sorted(f"from {cls.__module__} import {cls.__name__}" for cls in classes
                     if not names[cls].startswith("nn."))
    init = [wrapped(f"        self.{name} = {_constructor(child, names)}")
            for name, child in module.named_children()]
    return "\n".join([
        "import torch", "from torch import nn", *(["", *imports] if imports else []), "", "",
        f"class {class_name}(nn.Module):",
        "    def __init__(self) -> None:",
        "        super().__init__()",
        *init, "",
        *_forward(module.code)])


# -- what a page shows ---------------------------------------------------------------------

@dataclass(frozen=True)
class Shown:
    """Everything one page shows of a worked graph."""

    graph: Graph
    docstring: str
    definition: Definition
    helpers: list[Definition]
    labels: list[str]
    inputs: list[tuple[str, tuple[int, ...], tuple[int, ...]]]  # name, spec's, torch's shape
    keras: str
    torch: str


@cache
def shown(graph: Graph) -> Shown:
    import tf_impl
    import torch_impl
    from reference.graphs import feature_maps

    model = made(graph)["model"]
    maps = feature_maps(model)
    inputs = [(t.name, t.shape, (t.shape[-1], *t.shape[:-1]) if maps[t.name] else t.shape)
              for t in model.inputs]
    definition, helpers = factory(graph)
    return Shown(graph, definition.docstring or "", definition, helpers,
                 [c.label for c in cases(graph)], inputs,
                 keras_source(tf_impl.from_reference(model)),
                 torch_source(torch_impl.from_reference(model), graph.class_name))


def own_modules(s: Shown) -> list[str]:
    """The torch mirror's own small modules the torch listing imports (``Attention``)."""
    return re.findall(r"^from torch_impl\.\w+ import (\w+)$", s.torch, flags=re.M)


def group_page() -> str:
    """The page of the group whose concept the worked graphs are cases of."""
    return page_of(model_concept().module)[0]


def measured(report: Path) -> parity.Summary:
    """The parity of each worked graph in ``report`` (a parity run's records), under
    :attr:`Graph.parity`: the records of its cases, taken out of the ``Model`` concept's."""
    payload = json.loads(report.read_text(encoding="utf-8"))
    records = [{**r, "concept": g.parity} for r in payload["records"]
               if r["concept"] == CONCEPT for g in GRAPHS if g.cases in r.get("case", "")]
    return parity.summarise(records, payload.get("versions", {}), str(report))


# -- the Markdown page ---------------------------------------------------------------------

def page(s: Shown, summary: parity.Summary) -> str:
    """The graph's Markdown page."""
    from docs import markdown

    graph, group = s.graph, group_page()
    f64, f32 = markdown.status(summary, graph.parity)
    spec_shapes = ", ".join(f"`{name}` (N, {', '.join(map(str, shape))})"
                            for name, shape, _ in s.inputs)
    torch_shapes = ", ".join(f"`{name}` (N, {', '.join(map(str, shape))})"
                             for name, _, shape in s.inputs)
    channels = any(spec != torch for _, spec, torch in s.inputs)
    out = [markdown.GENERATED, "", f"# Worked graph: {graph.title}", "", markdown.NAV, "",
           f"One of the worked graphs of [graphs and merge layers]({group}.md): a spec "
           f"`reference.Model` built by `{graph.factory}`, and its two translations, "
           "`tf_impl.from_reference`'s functional `keras.Model` and "
           "`torch_impl.from_reference`'s `torch.fx.GraphModule`, each written out as code. "
           "The code is generated from the converted models, as the registry case below "
           f"builds the graph in float32; `docs/tests/test_worked.py` runs it, copies the "
           "converted weights in and compares the outputs with the spec's.", "",
           markdown.docstring(s.docstring), "",
           f"Parity float64 {f64} · float32 {f32}, over its cases of the concept "
           f"[`{CONCEPT}`]({group}.md#{markdown.slug(CONCEPT)}):", ""]
    out += [f"- {markdown.inline(label)}" for label in s.labels]
    out += ["", f"## The spec: `{graph.factory}`", "",
            f"**NumPy** · [`{s.definition.relpath}`](../{s.definition.relpath})", "",
            markdown.fence(s.definition.bare)]
    if s.helpers:
        names = ", ".join(f"<code>{h.name}</code>" for h in s.helpers)
        out += ["", f"<details><summary>What it uses from the module: {names}</summary>", "",
                markdown.fence("\n\n".join(h.bare for h in s.helpers)), "", "</details>"]
    out += ["", "## Keras: the functional model", "", f"Inputs: {spec_shapes}.", "",
            markdown.fence(s.keras), "",
            "## PyTorch: the module and its `forward`", "",
            f"Inputs: {torch_shapes}" + (
                ", a feature map channels-first (torch's layout of the spec's batch, "
                "`x.permute(0, 3, 1, 2)`)." if channels else "."),
            "The attributes are the `GraphModule`'s submodules, the `forward` its `.code`, so "
            "its `state_dict` loads into this class." + (
                f" {', '.join(f'`{name}`' for name in own_modules(s))}: one of the torch "
                "mirror's few small modules, each a step torch has no class for "
                "([the list](weight-layouts.md#the-torch-mirrors-own-small-modules))."
                if own_modules(s) else ""), "",
            markdown.fence(s.torch), "",
            "## Parity", "", "(the last `nox -s parity` run, over the cases above)", "",
            markdown.parity_table(summary, graph.parity), ""]
    return markdown.note_links("\n".join(out))
