"""Porting a Keras model to PyTorch: a module with its exact weights, the source code a
person would keep, and a per-layer parity report.

    ported = nn_rosetta.port(keras_model)     # or port(keras_model, example_input=x)
    ported.module     # a torch.nn.Module holding the Keras weights, bit for bit
    ported.source     # model.py: one class, __init__ and forward, plain torch.nn
    ported.report     # each layer's output against the Keras layer's, with its tolerance
    ported.save(out)  # out/model.py, out/weights.pt and out/report.json

The way goes through the spec, so every layer it takes is one the parity suite proves:
Keras → ``tf_impl.to_reference`` → spec → ``torch_impl.from_reference``, whose tables
(``reference.layouts``) move the weights. The code comes from one template per spec
layer kind (``TEMPLATES``, keyed like ``reference.layouts.LAYOUTS``), written beside the
kind's torch translation in ``torch_impl``'s concept files: a new kind adds one row there.
A line of the generated code that bridges a convention (the Flatten order, padding,
BatchNorm's momentum, the channels-last input) says so in a comment.

The report runs the generated ``forward`` one Keras layer at a time beside the Keras
layers on the same input (random if none is given), and measures each output with the
parity suite's rule and tolerance (``nn_rosetta.tolerances``, kind "output").

A functional model that is not a chain (several inputs or outputs, fan-out, merges) ports
as a graph (``nn_rosetta.port_graphs``; repeated blocks as classes, ``port_blocks``); a
``Lambda`` or custom layer is refused by class and file, or stubbed (``stubs=True``).
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import keyword
import math
import os
import re
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
from nn_rosetta import port_files, port_graphs
from nn_rosetta.tolerances import tolerance
from reference._validation import (
    as_array,
    as_flag,
    as_float_array,
    as_index_array,
    check_array_within,
    check_copy_fits,
    check_count,
    check_memory,
    check_shape,
)
from reference.layouts import LAYOUTS, contexts
from tf_impl import activations as tf_activations
from tf_impl import convert as tf_convert
from tf_impl import graphs as tf_graphs
from torch_impl.convert import TRANSLATIONS, Template, layer_groups, read

CLASS_NAME = "Net"

# The length a drawn example input gives an axis of any length (keras.Input((None,))):
# the generated module takes any, the report runs on this one.
EXAMPLE_LENGTH = 8


def _check_sample_shape(where: str, shape: object) -> None:
    """A per-sample shape: a tuple (or list) of sizes ≥ 1 or None ("'int' object is not
    iterable" otherwise, or a shape of 2.5 or "a" passed on to the generated code)."""
    if not isinstance(shape, tuple | list):
        raise TypeError(f"{where}: shape must be a tuple of sizes (int ≥ 1, or None for any "
                        f"length), got {type(shape).__name__} {shape!r:.60}")
    for k, n in enumerate(shape):
        if n is not None:
            check_count(where, f"shape[{k}]", n, 1, none_means="any length")


def example_shape(shape: tuple[int | None, ...]) -> tuple[int, ...]:
    """A per-sample shape with each None (any length) as :data:`EXAMPLE_LENGTH`."""
    _check_sample_shape("example_shape", shape)
    return tuple(EXAMPLE_LENGTH if n is None else n for n in shape)


def shown_shape(shape: tuple[int | None, ...]) -> str:
    """A batch's shape for the generated docstring, "N, T, 128": T for any length."""
    _check_sample_shape("shown_shape", shape)
    return ", ".join(["N", *("T" if n is None else str(n) for n in shape)])


def example_lengths(shapes: list[tuple[int | None, ...]], examples: list[tuple[int, ...]]
                    ) -> tuple[int, ...]:
    """The sizes the example inputs (batch axis first) give the None axes of the model's
    per-sample input ``shapes``, input by input."""
    return tuple(example[1 + axis] for shape, example in zip(shapes, examples, strict=True)
                 for axis, n in enumerate(shape) if n is None)


# One template per spec layer kind that ports, written beside the kind's torch translation
# (torch_impl's concept files fill torch_impl.convert.TRANSLATIONS).
TEMPLATES: dict[str, Template] = {kind: row.template for kind, row in TRANSLATIONS.items()
                                  if row.template is not None}

# The spec activations as torch expressions ("{}": the pre-activation; used twice, it is
# computed on a line of its own first), with the comment a line using one carries when it
# bridges a convention. ``tf64``: the Keras model applies TF's own kernel in float64, which
# holds a constant in float32 (leaky_relu's slope, gelu's 1/√2): torch uses the same.
# ``channels_first``: the pre-activation is a feature map in torch's layout (a convolution's
# output), whose channels, Keras's last axis, are axis 1.
ACTIVATIONS: dict[str, Callable[[dict[str, float], bool, bool], tuple[str, str]]] = {
    "identity": lambda p, *_: ("{}", ""),
    "sigmoid": lambda p, *_: ("torch.sigmoid({})", ""),
    "tanh": lambda p, *_: ("torch.tanh({})", ""),
    "relu": lambda p, *_: ("torch.relu({})", ""),
    "leaky_relu": lambda p, tf64, _: _leaky_relu(p.get("negative_slope", 0.01), tf64),
    "elu": lambda p, *_: ("F.elu({})" if p.get("alpha", 1.0) == 1.0 else
                          f"F.elu({{}}, alpha={p['alpha']!r})", ""),
    "softmax": lambda p, _, channels_first: (
        ("torch.softmax({}, dim=1)", "over the channels: Keras's last axis, torch's axis 1")
        if channels_first else ("torch.softmax({}, dim=-1)", "")),
    "softplus": lambda p, *_: ("F.softplus({})", ""),
    "silu": lambda p, *_: ("F.silu({})", ""),
    "exponential": lambda p, *_: ("torch.exp({})", ""),
    "gelu": lambda p, tf64, _: (
        ('F.gelu({}, approximate="tanh")', "") if p.get("approximate", "none") == "tanh" else
        (f"0.5 * {{0}} * (1 + torch.erf({{0}} * {float(np.float32(np.sqrt(0.5)))!r}))",
         "TF's float64 gelu: 1/√2 rounded to float32") if tf64 else ("F.gelu({})", "")),
}


def _leaky_relu(slope: float, tf64: bool) -> tuple[str, str]:
    if tf64:
        return (f"F.leaky_relu({{}}, {float(np.float32(slope))!r})",
                f"TF's float64 leaky_relu: slope {slope!r} rounded to float32")
    return (f"F.leaky_relu({{}}, {slope!r})",
            "" if slope == 0.01 else "slope as in Keras; torch's default is 0.01")


# Keras layers that join the layer before them: the spec applies an activation inside it.
_JOINS_PREVIOUS = (keras.layers.Activation, keras.layers.LeakyReLU)


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
    worst: tuple[int, ...] | None = None  # the entry farthest outside (or nearest) rtol
    compared: bool = True  # False: a stub (port(..., stubs=True)), not compared
    dtype: str | None = None  # a whole-model row in the other float dtype; None: the report's
    note: str = ""  # the Keras conventions that the row's numbers carry, by layer

    @property
    def ok(self) -> bool:
        return not self.compared or self.error <= self.rtol

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON data: a stub's errors, not measured, as ``null``, and so is an
        error that is no number (NaN or inf in the weights or the input; JSON has none)."""
        measured = self.compared

        def number(value: float) -> float | None:
            return value if measured and math.isfinite(value) else None

        return {"layer": self.layer, "kind": self.kind,
                "max_abs_error": number(self.max_abs_error),
                "error": number(self.error), "rtol": self.rtol,
                "worst": None if self.worst is None else list(self.worst),
                "compared": measured, "ok": self.ok,
                **({"dtype": self.dtype} if self.dtype else {}),
                **({"note": self.note} if self.dtype or self.note else {})}

    def row(self, width: int, kind: int) -> str:
        if not self.compared:
            return f"{self.layer:<{width}}{self.kind:<{kind}}{'':>30}  not compared (a stub)"
        at = "" if self.worst is None else f"  at {list(self.worst)}"
        note = f"  ({self.note})" if self.note else ""
        return (f"{self.layer:<{width}}{self.kind:<{kind}}{self.max_abs_error:>10.3g}"
                f"{self.error:>12.3g}{self.rtol:>8g}  {'ok' if self.ok else 'PARTS'}{at}{note}")


@dataclass(frozen=True)
class ParityReport:
    """Every layer's :class:`LayerParity`, first to last, on one example input."""

    layers: tuple[LayerParity, ...]
    dtype: str
    input_shape: tuple[int, ...] | tuple[tuple[int, ...], ...]  # a tuple per input if several
    drawn: bool  # the example input was drawn at random (none was given)

    # the whole model's outputs in the other float dtype (:func:`other_dtype_rows`)
    other_dtype: tuple[LayerParity, ...] = ()
    # the example's sizes on the model's axes of any length (keras.Input((None,))), in order
    lengths: tuple[int, ...] = ()

    @property
    def first_divergence(self) -> LayerParity | None:
        """The first layer whose output leaves the tolerance; ``None`` when all agree."""
        return next((layer for layer in self.layers if not layer.ok), None)

    @property
    def ok(self) -> bool:
        """Every layer agrees, and every output in the other dtype agrees or parts by a
        Keras convention its note names (the row stays marked PARTS)."""
        return self.first_divergence is None and all(row.ok or row.note
                                                     for row in self.other_dtype)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON data, the table's rows in order (``report.json`` of a port)."""
        first = self.first_divergence
        several = bool(self.input_shape) and isinstance(self.input_shape[0], tuple)
        return {"dtype": self.dtype,
                "input_shapes": [list(s) for s in self.input_shape] if several else
                [list(self.input_shape)],
                "random_input": self.drawn, "example_lengths": list(self.lengths),
                "ok": self.ok,
                "first_divergence": None if first is None else first.layer,
                "layers": [row.as_dict() for row in self.layers],
                "other_dtype": [row.as_dict() for row in self.other_dtype]}

    def to_json(self) -> str:
        """:meth:`as_dict` as JSON text, a layer's row on each line."""
        data = self.as_dict()
        rows, others = data.pop("layers"), data.pop("other_dtype")
        head = json.dumps(data, allow_nan=False)[:-1]
        return head + "".join(f', "{key}": [' + "".join(
            f"\n  {json.dumps(row, allow_nan=False)}," for row in table).rstrip(",") +
            "\n]" for key, table in (("layers", rows), ("other_dtype", others))) + "}\n"

    def __str__(self) -> str:
        rows = self.layers + self.other_dtype
        width = max(len("layer"), *(len(p.layer) for p in rows)) + 2
        kind = max(len("kind"), *(len(p.kind) for p in rows)) + 2
        lines = [f"{'layer':<{width}}{'kind':<{kind}}{'max |Δ|':>10}{'rel. error':>12}"
                 f"{'rtol':>8}", *(p.row(width, kind) for p in rows)]
        first = self.first_divergence
        several = bool(self.input_shape) and isinstance(self.input_shape[0], tuple)
        shape = " and ".join("×".join(map(str, s)) for s in (
            self.input_shape if several else [self.input_shape]))
        drawn = "random " if self.drawn else ""
        lengths = "" if not self.lengths else \
            f" (length {', '.join(map(str, self.lengths))}; the model takes any)"
        lines.append(f"{self.dtype}, {drawn}example input{'s' if several else ''} {shape}"
                     f"{lengths}: " + ("every layer within tolerance" if first is None else
                                       f"torch and Keras part at layer {first.layer}"))
        if any(not row.ok for row in self.other_dtype):
            lines.append(f"{self.other_dtype[0].dtype} copies of both models part" + (
                " where Keras's float64 holds a constant in float32 (the note names the layers)"
                if all(row.note for row in self.other_dtype) else ""))
        return "\n".join(lines)


@dataclass
class Ported:
    """What :func:`port` returns (and :func:`port_to_keras`, the other way): the model,
    its source code, and the parity report."""

    module: nn.Module | keras.Model
    source: str
    report: ParityReport

    def save(self, directory: str | os.PathLike, *, force: bool = False) -> tuple[Path, ...]:
        """Write ``model.py``, the weights and ``report.json`` (the parity report, as
        :meth:`ParityReport.as_dict`) into ``directory``, as one unit
        (``nn_rosetta.port_files.write_folder``): ``weights.pt`` for a torch module
        (``torch_impl.save_weights``, which ``torch_impl.load_weights`` reads back, and
        ``torch.load(..., weights_only=True)`` too), with ``model.safetensors`` beside it
        where the ``safetensors`` package is installed (skipped where it is not),
        ``model.weights.h5`` for Keras (``tf_impl.save_weights``). A folder that exists
        and is not empty is refused unless ``force=True``, which replaces a previous port."""
        torch_side = isinstance(self.module, nn.Module)
        weights = "weights.pt" if torch_side else "model.weights.h5"
        save = torch_impl.save_weights if torch_side else tf_impl.save_weights
        files = {"model.py": lambda path: Path(path).write_text(self.source, encoding="utf-8"),
                 weights: lambda path: save(self.module, path),
                 "report.json": lambda path: Path(path).write_text(self.report.to_json(),
                                                                   encoding="utf-8")}
        if torch_side and importlib.util.find_spec("safetensors") is not None:
            files["model.safetensors"] = self._save_safetensors  # where it is installed
        return port_files.write_folder(directory, files, force=force)

    def _save_safetensors(self, path: str) -> None:
        from safetensors.torch import save_file

        save_file({name: tensor.contiguous() for name, tensor in
                   self.module.state_dict().items()}, path)


def supported() -> list[str]:
    """The Keras layers :func:`port` takes: each kind of ``reference.layouts.LAYOUTS`` with
    a template, and the merge layers of a functional model."""
    return [LAYOUTS[kind].keras_layer for kind in LAYOUTS if kind in TEMPLATES] + \
        [f"keras.layers.{cls.__name__} (after a layer without activation)"
         for cls in _JOINS_PREVIOUS] + \
        [f"keras.layers.{kind} (in a functional model)" for kind in port_graphs.MERGES]


def _check_layers(keras_model: object) -> list[keras.Layer]:
    if not isinstance(keras_model, keras.Model):  # a functional chain: self-attention
        raise TypeError(f"port: expects a keras.Sequential or a functional keras.Model, got "
                        f"{type(keras_model).__name__}")
    ports = tuple(getattr(keras.layers, re.match(r"keras\.layers\.(\w+)", keras_layer)[1])
                  for keras_layer in supported())
    layers = [layer for layer in keras_model.layers
              if not isinstance(layer, keras.layers.InputLayer)]
    for layer in layers:
        if port_graphs.is_foreign(layer):
            raise port_graphs.refusal(layer)
    for k, layer in enumerate(layers):
        if not isinstance(layer, ports):
            raise TypeError(f"port: layer {k} ({layer.name!r}, a {type(layer).__name__}) has "
                            f"no PyTorch port in nn-rosetta; it ports {', '.join(supported())}")
    return layers


def _groups(layers: list[keras.Layer]) -> list[list[keras.Layer]]:
    """The Keras layers that make each spec layer, as ``tf_impl.to_reference`` reads them
    (an activation layer joins a linear Dense or convolution before it; after a Dropout
    or a Flatten it is a layer of its own)."""
    try:
        return [made for _, made in tf_convert._read(layers, inference=True)]
    except (TypeError, ValueError) as error:
        raise type(error)(f"port: {error}") from None


def _attribute(name: str, taken: set[str]) -> str:
    """A Python attribute for a Keras layer name: ``dense_1`` stays, ``conv 2d`` → conv_2d."""
    attr = port_graphs.python_name(name)
    if not attr.isidentifier() or keyword.iskeyword(attr) or attr in port_graphs.MODULE_NAMES:
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
        code = self.code.replace("\n", "\n" + indent)  # a constructor over several lines
        if not self.comment:
            return [indent + code]
        inline = f"{indent}{code}  # {self.comment}"
        return [inline] if len(inline) <= 100 and "\n" not in code else [
            f"{indent}# {self.comment}", indent + code]


@dataclass(frozen=True)
class _Step:
    """One spec layer in the generated class: its constructor line and forward lines, and
    how its torch output is laid out against Keras's (for the report)."""

    attr: str | None
    init: _Line | None
    forward: tuple[_Line, ...]
    to_keras: Callable[[np.ndarray], np.ndarray]


def _unchanged(array: np.ndarray) -> np.ndarray:
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


def _permute(rank: int, to_channels_first: bool,
             why: str = "the next layer takes Keras's layout") -> _Line:
    """The line moving a batch of per-sample ``rank`` between Keras's and torch's layouts."""
    axes = (0, rank, *range(1, rank)) if to_channels_first else (0, *range(2, rank + 1), 1)
    last, first = ("NHWC", "NCHW") if rank == 3 else ("NLC", "NCL")
    if to_channels_first:
        return _Line(f"x = x.permute{axes}", f"{last} → {first}: Keras is channels-last, "
                                              "torch channels-first")
    return _Line(f"x = x.permute{axes}", f"{first} → {last}: {why}")


def _reads_torch_order(spec: reference.Sequential, k: int, found: list) -> bool:
    """Whether the layers after the Flatten at ``k`` may take torch's flattened order
    ((c, h, w)): the next layer with weights is a Dense whose rows the weight tables
    permute (``reference.layouts``, its context's ``flattened_from``), and every layer
    before it acts on each entry alike (no weights, the shape kept: Dropout, an
    activation). Anything else (the model's output, a BatchNormalization, a Reshape)
    reads the order itself and needs Keras's."""
    for j in range(k + 1, len(spec.layers)):
        layer = spec.layers[j]
        if isinstance(layer, reference.layers.Dense):
            return found[j].flattened_from is not None
        if layer.parameter_names or spec.shapes[j] != spec.shapes[j + 1]:
            return False
    return False


def _steps(spec: reference.Sequential, names: list[str], tf64: list[bool]) -> list[_Step]:
    taken: set[str] = set()
    steps = []
    channels_first, flattened = False, None  # torch's layout of x, as the code runs
    found = contexts(spec.layers, spec.input_shape)
    for k, (layer, name, context, tf_kernel) in enumerate(zip(
            spec.layers, names, found, tf64, strict=True)):
        template = TEMPLATES[type(layer).__name__]
        shape, out = spec.shapes[k], spec.shapes[k + 1]
        try:
            fields = template.fields(layer, shape)
        except TypeError as error:
            raise TypeError(f"port: layer {name!r} ({type(layer).__name__}): {error}") from None
        forward = []
        layout = template.layout_of(layer)
        if len(shape) > 1 and layout == "channels" and not channels_first:
            forward.append(_permute(len(shape), to_channels_first=True))
            channels_first = True
        elif len(shape) > 1 and layout == "last" and channels_first:
            forward.append(_permute(len(shape), to_channels_first=False))
            channels_first = False
        elif isinstance(layer, reference.layers.Flatten) and channels_first and \
                len(shape) > 1 and not _reads_torch_order(spec, k, found):
            forward.append(_permute(len(shape), False, "flattened in Keras's order, which "
                                                       "the layers after it read"))
            channels_first = False
        attr, init = None, None
        if template.module is not None:
            attr = _attribute(name, taken)
            note = template.note.format(**fields).strip("; ")
            if isinstance(layer, reference.layers.Dense) and \
                    context.flattened_from is not None and \
                    len(context.flattened_from) > 1:  # the weights that the order reaches
                note = "columns permuted: torch flattens " + (
                    "(c, h, w), Keras (h, w, c)" if len(context.flattened_from) == 3 else
                    "(c, l), Keras (l, c)")
            init = _Line(f"self.{attr} = {template.module.format(**fields)}", note)
        lines = [_Line.parse(text) for text in
                 template.call.format(attr=attr, **fields).split("\n") if text]
        activation = getattr(getattr(layer, "layer", layer), "activation", None)  # wrapped
        if activation is not None:
            expression, comment = ACTIVATIONS[activation.name](
                activation.params, tf_kernel, channels_first and len(out) > 1)
            last = lines[-1]
            if expression.count("{") > 1:  # the pre-activation, used twice, on its own line
                lines.append(_Line(f"x = {expression.format('x')}", comment))
            else:
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
            _flattened_channels_last(flattened) if flattened else _unchanged
        steps.append(_Step(attr, init, tuple(forward), to_keras))
    if channels_first:  # a model ending on a feature map returns it as Keras does
        last = steps[-1]
        steps[-1] = _Step(last.attr, last.init, (*last.forward, _permute(
            len(spec.shapes[-1]), False, "the output in Keras's layout")), _unchanged)
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
    classes = port_graphs.definitions(spec.layers)
    imports = ["import torch"]
    if any("F." in text for text in classes + init + forward):
        imports.append("import torch.nn.functional as F")
    imports.append("from torch import nn")
    shape = shown_shape(spec.input_shape)
    what = "integer indices" if spec.layers[0].input_kind == "indices" else spec.dtype.name
    layout = ", channels-last as in Keras" if len(spec.input_shape) == 3 else ""
    layout += "; T: any length" if None in spec.input_shape else ""
    return "\n".join([
        f'"""The Keras model {model_name!r} in PyTorch, generated by nn-rosetta (port).',
        "",
        f"    model = {CLASS_NAME}()",
        '    model.load_state_dict(torch.load("weights.pt", weights_only=True))',
        "    model.eval()  # Dropout and BatchNorm as in a Keras model called directly",
        "",
        f"Input: ({shape}) {what}{layout}.",
        '"""',
        "",
        *imports,
        "",
        "",
        *classes,
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
    """The generated class, instantiated, holding the weights ``from_reference``'s builders
    copy (``torch_impl.convert.modules_of``)."""
    check_copy_fits("port", spec, copies=2)  # the generated module, from_reference's copy
    namespace: dict[str, Any] = {"__name__": "model"}
    exec(compile(source, "model.py", "exec"), namespace)  # the code the user receives
    module = namespace[CLASS_NAME]()
    copied = torch_impl.convert.modules_of(spec)  # the layouts are the forward's own
    state = {}
    for step, positions in zip(steps, layer_groups(spec), strict=True):
        if step.attr is None:
            continue
        # the one module of the group that holds weights: its keys under the step's name
        state.update({f"{step.attr}.{key.split('.', 1)[1]}": value for key, value in
                      copied[positions.start:positions.stop].state_dict().items()})
    module.load_state_dict(state, strict=True)
    return module.eval()


def _example(spec: reference.Sequential, example_input: object | None) -> np.ndarray:
    first = spec.layers[0]
    indices = first.input_kind == "indices"  # an Embedding first takes integers
    if example_input is None:
        rng = np.random.default_rng(0)
        shape = (4, *example_shape(spec.input_shape))
        if indices:
            return rng.integers(0, first.input_dim, shape)
        return rng.standard_normal(shape).astype(spec.dtype)
    x = as_index_array(example_input, "port", "example_input") if indices else \
        as_float_array(example_input, spec.dtype, "port", "example_input")
    check_shape("port", "example_input", x.shape, (None, *spec.input_shape))
    if x.size == 0:  # a report on no values would compare nothing and pass
        raise ValueError(f"port: example_input is empty (shape {x.shape}); the parity report "
                         "needs at least one sample")
    if indices:  # torch's IndexError and TF's gather would name neither port nor the input
        check_array_within("port", "example_input (indices)", x, 0, first.input_dim - 1)
    return x


def dropped(group: list[keras.Layer]) -> str:
    """The report's note on the options of ``group`` that act only in training, which the
    port drops (``tf_impl.convert.training_options``): the forward is the same without."""
    options = [option for layer in group for option in tf_convert.training_options(layer)]
    return f"dropped, training-only: {', '.join(options)}" if options else ""


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
                expected = tf_convert.call(keras_layer, expected, training=False)
            scope = {"self": module, "x": actual}
            for line in step.forward:
                exec(line.code, namespace, scope)
            actual = scope["x"]
            got = step.to_keras(actual.numpy())
            want = keras.ops.convert_to_numpy(expected)
            rows.append(LayerParity(" + ".join(layer.name for layer in group),
                                    type(layer).__name__,
                                    float(np.max(np.abs(got - want), initial=0.0)),
                                    tol.error(got, want), tol.rtol, note=dropped(group)))
    return ParityReport(tuple(rows), spec.dtype.name, tuple(x.shape), drawn,
                        lengths=example_lengths([spec.input_shape], [x.shape]))


# -- the whole model in the other float dtype ------------------------------------------------

OTHER_DTYPE = {"float32": "float64", "float64": "float32"}


def _with_dtype(config: Any, dtype: str) -> Any:
    """A Keras config with every float ``dtype`` set to ``dtype``: a layer's dtype policy
    (Keras 3.15 stores it as ``{"class_name": "DTypePolicy", "config": {"name": ...}}``)
    and an ``InputLayer``'s dtype (a string); integer inputs stay as they are."""
    if isinstance(config, list):
        return [_with_dtype(item, dtype) for item in config]
    if not isinstance(config, dict):
        return config
    def is_float(value: Any) -> bool:
        name = value.get("config", {}).get("name") if isinstance(value, dict) else value
        return isinstance(name, str) and name.startswith("float")

    return {key: dtype if key == "dtype" and is_float(value) else _with_dtype(value, dtype)
            for key, value in config.items()}


def _layers_within(model: keras.Model) -> list[keras.Layer]:
    """Every layer of ``model``, a nested model's layers in its place."""
    return [inner for layer in model.layers for inner in (
        _layers_within(layer) if isinstance(layer, keras.Model) else [layer])]


def _float64_conventions(keras_model: keras.Model) -> str:
    """The layers whose float64 numbers in Keras hold a constant in float32, so that a
    float64 copy of the model parts from exact float64 arithmetic by about 1e-8
    (conventions.md): TF's float64 gelu (1/√2) and leaky_relu (the slope, a ReLU layer's
    too), a ReLU layer's ceiling, attention's scale 1/√key_dim (``reference.layouts``'
    ``KERAS_QUERY_SCALE``), and an UpSampling2D that interpolates, whose TF kernel
    (``ResizeBilinear``) returns float32 whatever its input, parting by about 1e-7. (A
    ``Rescaling``'s float32 constant is bridged where it is read: ``tf_impl``'s reader
    gives the spec, and so the generated code, the number Keras computes with; so are a
    float64 model's ReLU constants and a Normalization's listed statistics.)"""
    found = []
    for layer in _layers_within(keras_model):
        activation = getattr(getattr(layer, "activation", None), "__name__", "")
        if activation == "gelu":
            found.append(f"{layer.name}: TF's float64 gelu holds 1/√2 in float32")
        slope = layer.negative_slope if isinstance(layer, keras.layers.LeakyReLU) else \
            0.2 if activation == "leaky_relu" else None  # the "leaky_relu" string's slope
        if slope is not None and float(np.float32(slope)) != slope:
            found.append(f"{layer.name}: TF's float64 leaky_relu holds its slope in float32")
        if isinstance(layer, keras.layers.ReLU):
            ceiling = layer.max_value if layer.max_value not in (None, float("inf")) else None
            if ceiling is not None and float(np.float32(ceiling)) != ceiling:
                found.append(f"{layer.name}: Keras's float64 ReLU holds its ceiling in float32")
            elif ceiling is None and not layer.threshold and \
                    float(np.float32(layer.negative_slope)) != layer.negative_slope:
                found.append(f"{layer.name}: TF's float64 leaky_relu holds its slope in float32")
        if isinstance(layer, keras.layers.UpSampling2D) and layer.interpolation != "nearest":
            found.append(f"{layer.name}: TF's {layer.interpolation} resize computes in float32")
        if isinstance(layer, keras.layers.MultiHeadAttention):
            scale = 1.0 / np.sqrt(layer.key_dim)
            if float(np.float32(scale)) != scale:
                found.append(f"{layer.name}: Keras's float64 attention holds its scale "
                             f"1/√{layer.key_dim} in float32")
    return "; ".join(found)


def _keras_inputs(keras_model: keras.Model, example_input: object | None,
                  model_dtype: str, dtype: str) -> list[np.ndarray]:
    """The report's example batch in ``dtype``, one array per Keras input in Keras's
    order: the one given (checked by the port already), or the port's draw (random normal
    in the model's dtype, seed 0; integers below the table's size for an input that an
    Embedding reads, which stay integers; an axis of any length :data:`EXAMPLE_LENGTH`
    long)."""
    names = [tensor.name for tensor in keras_model.inputs]
    rows = {name: layer.input_dim for layer in keras_model.layers
            if isinstance(layer, keras.layers.Embedding)
            for name, tensor in zip(names, keras_model.inputs, strict=True)
            if layer.input is tensor}
    if example_input is not None:
        given = [example_input[name] for name in names] if isinstance(example_input, dict) \
            else list(example_input) if isinstance(example_input, list | tuple) and \
            len(names) > 1 else [example_input]
        return [np.asarray(x) if name in rows else np.asarray(x, dtype)
                for name, x in zip(names, given, strict=True)]
    rng = np.random.default_rng(0)
    shapes = {name: (4, *example_shape(tuple(tensor.shape[1:])))  # any length: the port's
              for name, tensor in zip(names, keras_model.inputs, strict=True)}
    return [rng.integers(0, rows[name], shapes[name]) if name in rows else
            rng.standard_normal(shapes[name]).astype(model_dtype).astype(dtype)
            for name in names]


def other_dtype_rows(keras_model: keras.Model, module: nn.Module, model_dtype: str,
                     example_input: object | None = None) -> tuple[LayerParity, ...]:
    """The whole model's outputs in the other float dtype (float64 for a float32 model,
    float32 for a float64 one), a row per output: a copy of the Keras model rebuilt from
    its config in that dtype, holding its weights cast, beside a copy of the generated
    module cast the same way (``.double()``, ``.float()``), at that dtype's "output"
    tolerance. A float64 copy's row that parts names in its note the layers where Keras's
    float64 holds a constant in float32 (:func:`_float64_conventions`), which the code
    generated for a float32 model does not copy; none named, the port is wrong."""
    from nn_rosetta.port_graphs import worst

    dtype = OTHER_DTYPE[model_dtype]
    tol = tolerance(dtype, "output")
    arrays = _keras_inputs(keras_model, example_input, model_dtype, dtype)
    config = keras_model.get_config()
    keras_copy = type(keras_model).from_config(_with_dtype(config, dtype))
    keras_copy.set_weights([w.astype(dtype) if w.dtype.kind == "f" else w
                            for w in keras_model.get_weights()])
    for layer in _layers_within(keras_copy):  # an adapted preprocessing layer (Normalization)
        if hasattr(layer, "finalize_state"):  # computes its mean from the variables just set
            layer.finalize_state()
    listed = isinstance(config.get("input_layers", [None])[0], list)
    expected = keras_copy(arrays if listed else arrays[0], training=False)
    torch_copy = copy.deepcopy(module).to(getattr(torch, dtype))
    with torch.no_grad():
        got = torch_copy(*(torch.from_numpy(np.ascontiguousarray(x)) for x in arrays))
    names = [f" {name}" for name in port_graphs._names(config["output_layers"])] \
        if "output_layers" in config else [""]
    note = _float64_conventions(keras_model) if dtype == "float64" else ""
    rows = []
    for name, actual, want in zip(names, got if isinstance(got, list | tuple) else [got],
                                  expected if isinstance(expected, list | tuple) else
                                  [expected], strict=True):
        actual, want = actual.numpy(), keras.ops.convert_to_numpy(want)
        error = tol.error(actual, want)
        rows.append(LayerParity(f"output{name} ({dtype})", "model output",
                                float(np.max(np.abs(actual - want), initial=0.0)), error,
                                tol.rtol, worst(actual, want, tol.rtol, tol.atol), dtype=dtype,
                                note=note if error > tol.rtol else ""))  # why it parts
    return tuple(rows)


def _check_graph_example(keras_model: keras.Model, example_input: object | None) -> None:
    """What a graph's example batch must be beyond the names, shapes and dtypes the graph
    port checks (``port_graphs``): no input empty (a report on no values would compare
    nothing and pass; TF refuses an empty batch deep inside a layer), and an input that an
    Embedding reads holding indices inside its table (torch's IndexError and TF's gather
    would name neither port nor the input)."""
    if example_input is None:
        return
    names = [tensor.name for tensor in keras_model.inputs]
    given = dict(example_input) if isinstance(example_input, dict) else \
        dict(zip(names, example_input, strict=False)) if isinstance(
            example_input, list | tuple) and len(names) > 1 else {names[0]: example_input}
    rows = {name: layer.input_dim for layer in keras_model.layers
            if isinstance(layer, keras.layers.Embedding)
            for name, tensor in zip(names, keras_model.inputs, strict=True)
            if layer.input is tensor}
    for name, value in given.items():
        what = "example_input" if len(names) == 1 else f"example_input {name!r}"
        array = as_array(value, "port", what)
        if array.size == 0:
            raise ValueError(f"port: {what} is empty (shape {array.shape}); the parity report "
                             "needs at least one sample")
        if name in rows and array.dtype.kind in "iu":
            check_array_within("port", f"{what} (indices)", array, 0, rows[name] - 1)


def load(path: str | os.PathLike) -> keras.Model:
    """A Keras model file (``.keras``) read with ``safe_mode=True``: no code in it runs.
    The file is checked first (``nn_rosetta.port_files``): a damaged, oversized or
    foreign file is a ``KerasFileError`` naming it."""
    return port_files.load(path)


def port(keras_model: keras.Model, example_input: object | None = None, *,
         stubs: bool = False, other_dtype: bool = True) -> Ported:
    """A Keras model in PyTorch: the module with its exact weights, its source code, and
    a per-layer parity report on ``example_input`` (a batch, or for a model of several
    inputs a list of them in Keras's order or a dict by input name; random normal if None).

    A ``keras.Sequential`` or a functional chain ports as a chain; any other functional
    model (several inputs or outputs, fan-out, merges) as a graph
    (``nn_rosetta.port_graphs``). A ``Lambda`` or a custom layer class is refused by name
    and file; with ``stubs=True`` it becomes a named stub module in the generated code
    (``raise NotImplementedError``), which the report does not compare. A nested model
    is inlined first (``tf_impl.graphs.flatten``, its layers under their own names).

    The report ends with the whole model's outputs in the other float dtype too
    (:func:`other_dtype_rows`); ``other_dtype=False`` leaves them out, saving one forward
    pass of each model in that dtype.

    Raises ``TypeError`` naming the first layer without a port (and listing those with
    one), or the conversion's error, before anything is computed.
    """
    as_flag("port", "stubs", stubs)
    as_flag("port", "other_dtype", other_dtype)
    ported = _port(keras_model, example_input, stubs)
    if not other_dtype:
        return ported
    report = ported.report
    if any(not row.compared for row in report.layers):  # a stub computes nothing
        dtype = OTHER_DTYPE[report.dtype]
        rows = (LayerParity(f"output ({dtype})", "model output", float("nan"), float("nan"),
                            tolerance(dtype, "output").rtol, compared=False, dtype=dtype),)
    else:
        rows = other_dtype_rows(keras_model, ported.module, report.dtype, example_input)
    ported.report = dataclasses.replace(report, other_dtype=rows)
    return ported


def _check_structure(keras_model: object) -> None:
    """A model the port can read: a graph of layers (a subclassed ``keras.Model`` is
    Python code, with no ``inputs``), with its inputs and outputs a tensor or a list."""
    if not isinstance(keras_model, keras.Model):
        return
    if isinstance(keras_model, keras.Sequential):
        tf_graphs.check_operations(keras_model, "port")  # in a model nested in it
        return
    name = f"model {keras_model.name!r}"
    try:
        inputs, outputs = keras_model.input, keras_model.output
    except (AttributeError, ValueError):
        raise TypeError(f"port: {name} (a {type(keras_model).__name__}) is a subclassed "
                        "keras.Model, whose call is Python code the port cannot read; it "
                        "ports a keras.Sequential or a functional keras.Model(inputs, outputs)"
                        ) from None
    for what, value in (("inputs", inputs), ("outputs", outputs)):
        if isinstance(value, dict):
            raise TypeError(f"port: {name} has its {what} as a dict ({', '.join(value)}); the "
                            f"port takes {what} as one tensor or a list: rebuild it as "
                            "keras.Model(model.inputs, model.outputs) (a list, in that order)")
    tf_graphs.check_operations(keras_model, "port")


def _check_example_memory(keras_model: object, example_input: object | None) -> None:
    """The report runs every layer on the example batch, in Keras and in torch, float32
    and float64: a batch whose outputs outgrow memory (10⁹ rows of a read-only
    ``np.broadcast_to`` view take 16 bytes) is refused before either model runs, not
    left to NumPy's MemoryError inside a Keras layer. Each layer's output counts once per
    model and dtype; an axis of any length as :data:`EXAMPLE_LENGTH`."""
    if example_input is None or not isinstance(keras_model, keras.Model):
        return
    values = example_input.values() if isinstance(example_input, dict) else \
        example_input if isinstance(example_input, list | tuple) and \
        len(getattr(keras_model, "inputs", None) or ()) > 1 else [example_input]
    try:
        rows = max((np.shape(value)[0] for value in values if np.ndim(value) > 0), default=0)
    except ValueError:  # ragged lists: the checks of the example name them
        return
    per_sample = 0
    for layer in keras_model.layers:
        try:
            outputs = keras.tree.flatten(layer.output)
        except (AttributeError, ValueError):  # a layer never called on a symbolic input
            continue
        per_sample += sum(math.prod(n or EXAMPLE_LENGTH for n in tensor.shape[1:])
                          for tensor in outputs)
    check_memory("port", f"the layers' outputs on example_input's {rows} rows, in Keras and "
                 "torch, float32 and float64", rows * max(per_sample, 1) * 24)


def _port(keras_model: keras.Model, example_input: object | None, stubs: bool) -> Ported:
    """:func:`port` without the rows in the other dtype."""
    _check_structure(keras_model)
    _check_example_memory(keras_model, example_input)
    if isinstance(keras_model, keras.Model):
        keras_model = tf_graphs.flatten(keras_model, "port")  # nested models inlined
        foreign = stubs and any(map(port_graphs.is_foreign, keras_model.layers))
        if isinstance(keras_model, keras.Sequential) and foreign:  # stubs need the graph
            keras_model = keras.Model(keras_model.inputs, keras_model.outputs,
                                      name=keras_model.name)
        if not isinstance(keras_model, keras.Sequential) and (
                foreign or not tf_graphs.is_chain(keras_model)):
            _check_graph_example(keras_model, example_input)
            return port_graphs.port_graph(keras_model, example_input, stubs=stubs)
    groups = _groups(_check_layers(keras_model))
    try:
        spec = tf_impl.to_reference(keras_model, inference=True)  # see dropped()
    except (TypeError, ValueError) as error:
        raise type(error)(f"port: {error}") from None
    x = _example(spec, example_input)
    tf64 = [spec.dtype == np.float64 and port_graphs.tf_kernel(group) for group in groups]
    steps = _steps(spec, [group[0].name for group in groups], tf64)
    source = _source(steps, spec, keras_model.name)
    module = _module(source, steps, spec)
    return Ported(module, source,
                  _report(steps, groups, module, spec, x, drawn=example_input is None))


# -- the other way: a torch nn.Sequential in Keras ------------------------------------------

def _with(call: str, *arguments: str) -> str:
    """``call`` with keyword ``arguments`` added: ``f(3)`` + ``a=1`` → ``f(3, a=1)``."""
    arguments = tuple(a for a in arguments if a)
    if not arguments:
        return call
    return call[:-1] + ("" if call.endswith("()") else ", ") + ", ".join(arguments) + ")"


def _keras_lines(spec: reference.Sequential) -> list[list[_Line]]:
    """Each spec layer's lines in the ``keras.Sequential`` list, from its kind's template
    in ``tf_impl`` (an activation Keras has no argument for is a layer of its own)."""
    dtype = 'dtype="float64"' if spec.dtype == np.float64 else ""
    ports = [kind for kind, row in tf_convert.TRANSLATIONS.items() if row.template]
    found = []
    for k, layer in enumerate(spec.layers):
        row = tf_convert.TRANSLATIONS.get(type(layer).__name__)
        if row is None or row.template is None or getattr(layer, "channels_last", False):
            raise TypeError(f"port_to_keras: layer {k} ({layer.name}) has no Keras port in "
                            f"nn-rosetta; it ports {', '.join(ports)}")
        try:
            fields = row.template.fields(layer)
        except TypeError as error:
            raise TypeError(f"port_to_keras: layer {k} ({layer.name}): {error}") from None
        argument, extra, note = "", "", ""
        activation = getattr(getattr(layer, "layer", layer), "activation", None)  # wrapped
        if row.template.activation and activation is not None:
            keras_form = tf_activations.TEMPLATES.get(activation.name, lambda p: None)(
                activation.params)
            if keras_form is None:
                raise TypeError(f"port_to_keras: layer {k} ({layer.name}) applies "
                                f"{activation.name} {activation.params or ''}, which Keras "
                                "has no plain layer or argument for")
            argument, extra, note = keras_form
        lines = [_Line(_with(row.template.layer.format(**fields), argument, dtype),
                       row.template.note.format(**fields))]
        if extra:
            lines.append(_Line(_with(extra, dtype), note))
        found.append(lines)
    return found


def _keras_source(spec: reference.Sequential, lines: list[list[_Line]]) -> str:
    shape = ", ".join(map(str, spec.input_shape)) + ("," if len(spec.input_shape) == 1 else "")
    if spec.layers[0].input_kind == "indices":
        first = _Line(f'keras.Input(({shape}), dtype="int64"),')
    elif spec.dtype == np.float64:
        first = _Line(f'keras.Input(({shape}), dtype="float64"),',
                      "the torch model computes in float64, Keras's default is float32")
    else:
        first = _Line(f"keras.Input(({shape})),")
    body = [first, *(_Line(line.code + ",", line.comment) for group in lines for line in group)]
    return "\n".join([
        '"""The PyTorch model in Keras, generated by nn-rosetta (port_to_keras).',
        "",
        "    model = build()",
        '    model.load_weights("model.weights.h5")',
        "",
        f"Input: (N, {shape.rstrip(',')}) "
        f"{'integer indices' if spec.layers[0].input_kind == 'indices' else spec.dtype.name}.",
        '"""',
        "",
        "import keras",
        "",
        "",
        "def build() -> keras.Sequential:",
        "    return keras.Sequential([",
        *(text for line in body for text in line.render(" " * 8)),
        "    ])",
        "",
    ])


def port_to_keras(module: nn.Module, example_input: object | None = None, *,
                  input_shape: tuple[int, ...] | None = None) -> Ported:
    """A torch ``nn.Sequential`` in Keras, the other way round from :func:`port`: a
    ``keras.Sequential`` of plain layers with the module's exact weights, its source code,
    and the per-layer parity report (torch's modules against the Keras layers).

    ``input_shape``: the per-sample input shape, needed only when the first module does
    not fix it. Layers on feature maps (channels-first in torch) do not port this way yet.
    """
    try:
        spec = torch_impl.to_reference(module, input_shape=input_shape, inference=True)
    except (TypeError, ValueError) as error:
        raise type(error)(f"port_to_keras: {error}") from None
    if not isinstance(spec, reference.Sequential):
        raise TypeError(f"port_to_keras: expects an nn.Sequential, got {type(module).__name__}")
    lines = _keras_lines(spec)
    x = _example(spec, example_input)
    source = _keras_source(spec, lines)
    namespace: dict[str, Any] = {"__name__": "model"}
    exec(compile(source, "model.py", "exec"), namespace)  # the code the user receives
    model = namespace["build"]()
    copied = tf_impl.from_reference(spec)  # the tables' weights, on stock layers
    spans, start = [], 0
    for group in lines:
        spans.append(model.layers[start:start + len(group)])
        start += len(group)
    for span, group in zip(spans, tf_convert.layer_groups(spec, copied), strict=True):
        span[0].set_weights(group[0].get_weights())
    return Ported(model, source, _keras_report(module, spec, spans, x, example_input is None))


def _keras_report(module: nn.Module, spec: reference.Sequential,
                  spans: list[list[keras.Layer]], x: np.ndarray, drawn: bool) -> ParityReport:
    """torch's modules, one spec layer's group at a time, against its Keras layers."""
    modules = list(module)
    tol = tolerance(spec.dtype, "output")
    expected, actual, rows = torch.from_numpy(x), x, []
    with torch.no_grad():
        for (layer, positions), span in zip(read(module, input_shape=spec.input_shape), spans,
                                            strict=True):
            names = [f"{k} ({type(modules[k]).__name__})" for k in positions]
            for k in positions:
                was = modules[k].training
                expected = modules[k].eval()(expected)
                modules[k].train(was)
            for keras_layer in span:
                actual = keras_layer(actual, training=False)
            got, want = keras.ops.convert_to_numpy(actual), expected.numpy()
            rows.append(LayerParity(" + ".join(names), type(layer).__name__,
                                    float(np.max(np.abs(got - want), initial=0.0)),
                                    tol.error(got, want), tol.rtol))
    return ParityReport(tuple(rows), spec.dtype.name, tuple(x.shape), drawn)
