"""Porting a Keras model to PyTorch: a module with its exact weights, the source code a
person would keep, and a per-layer parity report.

    ported = nn_rosetta.port(keras_model)     # or port(keras_model, example_input=x)
    ported.module     # a torch.nn.Module holding the Keras weights, bit for bit
    ported.source     # model.py: one class, __init__ and forward, plain torch.nn
    ported.report     # each layer's output against the Keras layer's, with its tolerance
    ported.save(out)  # out/model.py and out/weights.pt

The way goes through the spec, so every layer it takes is one the parity suite proves:
Keras → ``tf_impl.to_reference`` → spec → ``torch_impl.from_reference``, whose tables
(``reference.layouts``) move the weights. The code comes from one template per spec
layer kind (``TEMPLATES``, keyed like ``reference.layouts.LAYOUTS``): a new kind adds
one row. A line of the generated code that bridges a convention (the Flatten order,
padding, BatchNorm's momentum, the channels-last input) says so in a comment.

The report runs the generated ``forward`` one Keras layer at a time beside the Keras
layers on the same input (random if none is given), and measures each output with the
parity suite's rule and tolerance (``nn_rosetta.tolerances``, kind "output").
"""

from __future__ import annotations

import keyword
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import reference
import tf_impl
import torch_impl
from nn_rosetta.tolerances import tolerance
from reference._validation import as_float_array, check_shape
from reference.layouts import LAYOUTS, contexts
from torch_impl import convert as torch_convert

CLASS_NAME = "Net"


@dataclass(frozen=True)
class Template:
    """How one spec layer kind reads in PyTorch.

    ``module``: the constructor, a format string over the spec layer's ``config()`` and
    what ``arguments`` derives from the layer and its per-sample input shape; ``None``
    for a kind that needs no module. ``note``: the comment on that line when it bridges a
    convention (same formatting), else "". ``call``: the forward code (``{attr}``: the
    module's attribute), one line or several joined by "\\n", each line's comment after
    "  # "; a layer with an ``activation`` gets it around the last line's expression.
    ``layout``: which torch layout the code takes: "channels" (a feature map channels-first,
    (N, C, H, W), where Keras's is (N, H, W, C)), "last" (features on the last axis, as in
    Keras) or "any" (elementwise, or a Flatten).
    """

    module: str | None
    note: str = ""
    call: str = "self.{attr}(x)"
    arguments: Callable[[reference.layers.Layer, tuple[int, ...]], dict[str, Any]] | None = None
    layout: str = "last"

    def fields(self, layer: reference.layers.Layer, shape: tuple[int, ...]) -> dict[str, Any]:
        derived = self.arguments(layer, shape) if self.arguments else {}
        return {**layer.config(), **derived}


# One row per spec layer kind that ports; the kinds are reference.layouts.LAYOUTS's.
TEMPLATES: dict[str, Template] = {
    "Dense": Template("nn.Linear({in_features}, {out_features})"),
    "Flatten": Template("nn.Flatten()", layout="any"),
    "Dropout": Template("nn.Dropout({rate})", layout="any"),
}

# The spec activations as torch expressions ("{}": the pre-activation), and the comment a
# line using one carries when it bridges a convention.
ACTIVATIONS: dict[str, Callable[[dict[str, float]], tuple[str, str]]] = {
    "identity": lambda p: ("{}", ""),
    "sigmoid": lambda p: ("torch.sigmoid({})", ""),
    "tanh": lambda p: ("torch.tanh({})", ""),
    "relu": lambda p: ("torch.relu({})", ""),
    "leaky_relu": lambda p: (f"F.leaky_relu({{}}, {p.get('negative_slope', 0.01)!r})",
                             "" if p.get("negative_slope", 0.01) == 0.01 else
                             "slope as in Keras; torch's default is 0.01"),
    "elu": lambda p: ("F.elu({})" if p.get("alpha", 1.0) == 1.0 else
                      f"F.elu({{}}, alpha={p['alpha']!r})", ""),
    "softmax": lambda p: ("torch.softmax({}, dim=-1)", ""),
    "softplus": lambda p: ("F.softplus({})", ""),
    "silu": lambda p: ("F.silu({})", ""),
    "gelu": lambda p: ("F.gelu({})" if not p.get("approximate") else
                       f"F.gelu({{}}, approximate={p['approximate']!r})", ""),
}

# Keras layers that join the layer before them: the spec applies an activation inside it.
_JOINS_PREVIOUS = ("Activation", "LeakyReLU")


@dataclass(frozen=True)
class LayerParity:
    """One layer's output in torch against the Keras layer's, on the example input.

    ``error``: the parity suite's measure, max |a − e| / (|e| + atol/rtol), which passes
    when ≤ ``rtol``; ``max_abs_error``: the plain max |a − e|.
    """

    layer: str
    kind: str
    max_abs_error: float
    error: float
    rtol: float

    @property
    def ok(self) -> bool:
        return self.error <= self.rtol


@dataclass(frozen=True)
class ParityReport:
    """Every layer's :class:`LayerParity`, first to last, on one example input."""

    layers: tuple[LayerParity, ...]
    dtype: str
    input_shape: tuple[int, ...]
    drawn: bool  # the example input was drawn at random (none was given)

    @property
    def first_divergence(self) -> LayerParity | None:
        """The first layer whose output leaves the tolerance; ``None`` when all agree."""
        return next((layer for layer in self.layers if not layer.ok), None)

    @property
    def ok(self) -> bool:
        return self.first_divergence is None

    def __str__(self) -> str:
        width = max(len(p.layer) for p in self.layers) + 2
        lines = [f"{'layer':<{width}}{'kind':<12}{'max |Δ|':>12}{'rel. error':>13}"
                 f"{'rtol':>9}",
                 *(f"{p.layer:<{width}}{p.kind:<12}{p.max_abs_error:>12.3g}{p.error:>13.3g}"
                   f"{p.rtol:>9g}  {'ok' if p.ok else 'PARTS'}" for p in self.layers)]
        first = self.first_divergence
        shape = "×".join(map(str, self.input_shape))
        drawn = "random " if self.drawn else ""
        lines.append(f"{self.dtype}, {drawn}example input {shape}: " +
                     ("every layer within tolerance" if first is None else
                      f"torch and Keras part at layer {first.layer}"))
        return "\n".join(lines)


@dataclass
class Ported:
    """What :func:`port` returns: the torch module, its source, and the parity report."""

    module: nn.Module
    source: str
    report: ParityReport

    def save(self, directory: str | os.PathLike) -> tuple[Path, Path]:
        """Write ``model.py`` and ``weights.pt`` (``torch.load(…, weights_only=True)``)
        into ``directory``, each atomically (a temporary file, then ``os.replace``)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        model_py, weights = directory / "model.py", directory / "weights.pt"
        _atomic(model_py, lambda f: f.write(self.source.encode()))
        _atomic(weights, lambda f: torch.save(self.module.state_dict(), f))
        return model_py, weights


def _atomic(path: Path, write: Callable) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def supported() -> list[str]:
    """The Keras layers :func:`port` takes."""
    return [LAYOUTS[kind].keras_layer for kind in TEMPLATES] + \
        [f"keras.layers.{name} (after a Dense without activation)" for name in _JOINS_PREVIOUS]


def _check_layers(keras_model: object) -> list[keras.Layer]:
    if not isinstance(keras_model, keras.Sequential):
        raise TypeError(f"port: expects a keras.Sequential, got {type(keras_model).__name__}")
    ports = {re.match(r"keras\.layers\.(\w+)", LAYOUTS[kind].keras_layer)[1]
             for kind in TEMPLATES}
    for k, layer in enumerate(keras_model.layers):
        name = type(layer).__name__
        if name not in ports and name not in _JOINS_PREVIOUS:
            raise TypeError(f"port: layer {k} ({layer.name!r}, a keras.layers.{name}) has no "
                            f"PyTorch port in nn-rosetta; it ports {', '.join(supported())}")
    return list(keras_model.layers)


def _groups(layers: list[keras.Layer]) -> list[list[keras.Layer]]:
    """The Keras layers that make each spec layer (an activation layer joins its Dense)."""
    groups: list[list[keras.Layer]] = []
    for layer in layers:
        if type(layer).__name__ in _JOINS_PREVIOUS and groups:
            groups[-1].append(layer)
        else:
            groups.append([layer])
    return groups


def _attribute(name: str, taken: set[str]) -> str:
    """A Python attribute for a Keras layer name: ``dense_1`` stays, ``conv 2d`` → conv_2d."""
    attr = re.sub(r"\W", "_", name).strip("_") or "layer"
    if attr[0].isdigit() or keyword.iskeyword(attr) or hasattr(nn.Module, attr):
        attr = f"layer_{attr}"
    base, k = attr, 1
    while attr in taken:
        attr, k = f"{base}_{k}", k + 1
    taken.add(attr)
    return attr


@dataclass(frozen=True)
class _Line:
    code: str
    comment: str = ""

    @classmethod
    def parse(cls, text: str) -> _Line:
        code, _, comment = text.partition("  # ")
        return cls(code, comment)

    def render(self, indent: str) -> list[str]:
        if not self.comment:
            return [indent + self.code]
        inline = f"{indent}{self.code}  # {self.comment}"
        return [inline] if len(inline) <= 100 else [f"{indent}# {self.comment}",
                                                     indent + self.code]


@dataclass(frozen=True)
class _Step:
    """One spec layer in the generated class: its constructor line and forward lines, and
    how its torch output is laid out against Keras's (for the report)."""

    attr: str | None
    init: _Line | None
    forward: tuple[_Line, ...]
    to_keras: Callable[[np.ndarray], np.ndarray]


def _same(array: np.ndarray) -> np.ndarray:
    return array


def _channels_last(array: np.ndarray) -> np.ndarray:
    return np.moveaxis(array, 1, -1)


def _flattened_channels_last(shape: tuple[int, ...]) -> Callable[[np.ndarray], np.ndarray]:
    """torch's flattened channels-first feature map ((c, h, w) order) in Keras's order."""
    *spatial, channels = shape

    def reorder(array: np.ndarray) -> np.ndarray:
        n = len(array)
        return np.moveaxis(array.reshape(n, channels, *spatial), 1, -1).reshape(n, -1)
    return reorder


def _permute(rank: int, to_channels_first: bool) -> _Line:
    """The line moving a batch of per-sample ``rank`` between Keras's and torch's layouts."""
    axes = (0, rank, *range(1, rank)) if to_channels_first else (0, *range(2, rank + 1), 1)
    if to_channels_first:
        return _Line(f"x = x.permute{axes}", "Keras's feature maps are channels-last, "
                                              "torch's channels-first")
    return _Line(f"x = x.permute{axes}", "back to channels-last, as the next layer expects")


def _steps(spec: reference.Sequential, names: list[str]) -> list[_Step]:
    taken: set[str] = set()
    steps = []
    channels_first, flattened = False, None  # torch's layout of x, as the code runs
    for k, (layer, name, context) in enumerate(zip(
            spec.layers, names, contexts(spec.layers, spec.input_shape), strict=True)):
        template = TEMPLATES[type(layer).__name__]
        shape, out = spec.shapes[k], spec.shapes[k + 1]
        fields = template.fields(layer, shape)
        forward = []
        if len(shape) > 1 and template.layout == "channels" and not channels_first:
            forward.append(_permute(len(shape), to_channels_first=True))
            channels_first = True
        elif len(shape) > 1 and template.layout == "last" and channels_first:
            forward.append(_permute(len(shape), to_channels_first=False))
            channels_first = False
        attr, init = None, None
        if template.module is not None:
            attr = _attribute(name, taken)
            note = template.note.format(**fields)
            if context.flattened_from is not None and len(context.flattened_from) > 1:
                note = "in_features in torch's (c, h, w) order: the columns were permuted " \
                       "from Keras's (h, w, c)"
            init = _Line(f"self.{attr} = {template.module.format(**fields)}", note)
        lines = [_Line.parse(text) for text in
                 template.call.format(attr=attr, **fields).split("\n")]
        activation = getattr(layer, "activation", None)
        if activation is not None:
            expression, comment = ACTIVATIONS[activation.name](activation.params)
            last = lines[-1]
            lines[-1] = _Line("x = " + expression.format(last.code.removeprefix("x = ")),
                              comment or last.comment)
        forward += lines
        if isinstance(layer, reference.layers.Flatten):
            flattened = shape if channels_first and len(shape) > 1 else None
            channels_first = False
        elif layer.parameter_names:
            flattened = None
        channels_first = channels_first and len(out) > 1  # a global pooling ends the map
        to_keras = _channels_last if channels_first else \
            _flattened_channels_last(flattened) if flattened else _same
        steps.append(_Step(attr, init, tuple(forward), to_keras))
    return steps


def _source(steps: list[_Step], spec: reference.Sequential, model_name: str) -> str:
    init = [line for step in steps if step.init for line in step.init.render(" " * 8)]
    if spec.dtype == np.float64:
        init += _Line("self.double()", "the Keras model computes in float64, torch's "
                                       "default is float32").render(" " * 8)
    lines = [line for step in steps for line in step.forward]
    if lines[-1].code.startswith("x = "):
        lines[-1] = _Line("return " + lines[-1].code.removeprefix("x = "), lines[-1].comment)
    else:
        lines.append(_Line("return x"))
    forward = [text for line in lines for text in line.render(" " * 8)]
    imports = ["import torch"]
    if any("F." in text for text in init + forward):
        imports.append("import torch.nn.functional as F")
    imports.append("from torch import nn")
    shape = ", ".join(["N", *map(str, spec.input_shape)])
    layout = ", channels-last as in Keras" if len(spec.input_shape) == 3 else ""
    return "\n".join([
        f'"""The Keras model {model_name!r} in PyTorch, generated by nn-rosetta (port).',
        "",
        f"    model = {CLASS_NAME}()",
        '    model.load_state_dict(torch.load("weights.pt", weights_only=True))',
        "    model.eval()  # Dropout and BatchNorm as in a Keras model called directly",
        "",
        f"Input: ({shape}) {spec.dtype.name}{layout}.",
        '"""',
        "",
        *imports,
        "",
        "",
        f"class {CLASS_NAME}(nn.Module):",
        "    def __init__(self) -> None:",
        "        super().__init__()",
        *init,
        "",
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
        *forward,
        "",
    ])


def _module(source: str, steps: list[_Step], spec: reference.Sequential) -> nn.Module:
    """The generated class, instantiated, holding the weights ``from_reference`` copies."""
    namespace: dict[str, Any] = {"__name__": "model"}
    exec(compile(source, "model.py", "exec"), namespace)  # the code the user receives
    module = namespace[CLASS_NAME]()
    copied = torch_impl.from_reference(spec)
    state = {}
    for step, torch_module in zip(steps, copied, strict=True):
        if step.attr is None:
            continue
        holder = torch_convert._holder(torch_module)
        state.update({f"{step.attr}.{key}": value
                      for key, value in holder.state_dict().items()})
    module.load_state_dict(state, strict=True)
    return module.eval()


def _example(spec: reference.Sequential, example_input: object | None) -> np.ndarray:
    if example_input is None:
        rng = np.random.default_rng(0)
        return rng.standard_normal((4, *spec.input_shape)).astype(spec.dtype)
    x = as_float_array(example_input, spec.dtype, "port", "example_input")
    check_shape("port", "example_input", x.shape, (None, *spec.input_shape))
    return x


def _report(steps: list[_Step], groups: list[list[keras.Layer]], module: nn.Module,
            spec: reference.Sequential, x: np.ndarray, drawn: bool) -> ParityReport:
    """Each step's lines of ``forward`` beside its Keras layers, output against output."""
    namespace = {"torch": torch, "nn": nn, "F": F}
    tol = tolerance(spec.dtype, "output")
    expected, actual = x, torch.from_numpy(x)
    rows = []
    with torch.no_grad():
        for step, group, layer in zip(steps, groups, spec.layers, strict=True):
            for keras_layer in group:
                expected = keras_layer(expected, training=False)
            scope = {"self": module, "x": actual}
            for line in step.forward:
                exec(line.code, namespace, scope)
            actual = scope["x"]
            got = step.to_keras(actual.numpy())
            want = keras.ops.convert_to_numpy(expected)
            rows.append(LayerParity(" + ".join(layer.name for layer in group),
                                    type(layer).__name__,
                                    float(np.max(np.abs(got - want), initial=0.0)),
                                    tol.error(got, want), tol.rtol))
    return ParityReport(tuple(rows), spec.dtype.name, tuple(x.shape), drawn)


def load(path: str | os.PathLike) -> keras.Model:
    """A Keras model file (``.keras``) read with ``safe_mode=True``: no code in it runs."""
    return keras.saving.load_model(path, compile=False, safe_mode=True)


def port(keras_model: keras.Sequential, example_input: object | None = None) -> Ported:
    """A Keras model in PyTorch: the module with its exact weights, its source code, and
    a per-layer parity report on ``example_input`` (a batch; random normal if None).

    Raises ``TypeError`` naming the first layer without a port (and listing those with
    one), or the conversion's error, before anything is computed.
    """
    groups = _groups(_check_layers(keras_model))
    try:
        spec = tf_impl.to_reference(keras_model)
    except (TypeError, ValueError) as error:
        raise type(error)(f"port: {error}") from None
    x = _example(spec, example_input)
    steps = _steps(spec, [group[0].name for group in groups])
    source = _source(steps, spec, keras_model.name)
    module = _module(source, steps, spec)
    return Ported(module, source,
                  _report(steps, groups, module, spec, x, drawn=example_input is None))
