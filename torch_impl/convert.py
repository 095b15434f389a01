"""Moving a spec model into torch and back, weights copied exactly: a walker over the
translation table that the concept files fill.

:data:`TRANSLATIONS` holds one row per spec layer kind (``torch_impl._table.Translation``),
written beside the kind's torch code (``layers.py``, ``convolution.py``,
``normalization.py``, ``sequences.py``): the stock modules a spec layer becomes, how
modules read back into the spec layer, and the port's code template. The walkers below
know no kind by name. Weights move by the rows of ``reference.layouts``: each row says
which attribute receives which spec array, through which transform (the Dense kernel is
transposed: torch's ``weight`` is (out, in)). The copies are bit for bit, so a round trip
returns the same numbers.

:func:`from_reference` gives a flat ``nn.Sequential`` of stock ``torch.nn`` modules (an
``nn.Linear`` and its ``nn.ReLU`` side by side, not wrapped), so its ``state_dict`` loads
by key into the model a torch user writes; the few steps torch has no class for are the
small modules of :data:`SMALL_MODULES`. A model with feature maps takes torch's
channels-first input (``torch_impl.convolution.channels_first`` at the boundary).

:func:`to_reference` takes what a torch user writes, too: an activation module directly
after an ``nn.Linear`` or ``nn.Conv1d/2d`` is that spec layer's activation. Anything
without a spec counterpart is refused by name.

A spec graph (``reference.Model``) becomes a ``torch.fx.GraphModule``, and a module whose
``forward`` wires modules with ``+``, ``torch.cat`` … reads back with ``input_shapes``:
``torch_impl.graphs``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import attrgetter

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

import reference
from reference._validation import as_dtype, as_flag, as_shape, check_copy_fits
from reference.layouts import Context, contexts, layout, pack, time_distributed, unpack
from torch_impl import activations, convolution, graphs, layers, normalization, sequences
from torch_impl._inputs import chain_pair, check_readable, checked
from torch_impl._table import Template, Translation, torch_dtype

__all__ = ["SMALL_MODULES", "TRANSLATIONS", "Template", "Translation", "from_reference",
           "gradients_to_reference", "l2_penalties", "layer_groups", "read", "to_reference",
           "torch_dtype"]

TRANSLATIONS: dict[str, Translation] = {
    row.kind: row for concept in (layers, convolution, normalization, sequences)
    for row in concept.TRANSLATIONS}
# The project's own modules, each one step torch has no class for (see its docstring).
SMALL_MODULES = (*activations.SMALL_MODULES, *convolution.SMALL_MODULES,
                 *sequences.SMALL_MODULES)


def _name(cls: type) -> str:
    return f"nn.{cls.__name__}" if cls.__module__.startswith("torch.nn") else \
        f"{cls.__module__}.{cls.__name__}"


def _single_shape(layer: reference.layers.Layer) -> tuple:
    """What a lone layer's Context knows of its input: Dense's width, a convolution's
    channels (last, as in the spec's layout)."""
    if hasattr(layer, "in_features"):
        return (layer.in_features,)
    return (layer.in_channels,) if hasattr(layer, "in_channels") else ()


def _holder(modules: Sequence[nn.Module], layer: reference.layers.Layer) -> nn.Module | None:
    """The module of a group whose attributes the layout's torch names refer to."""
    rows = layout(type(layer).__name__).rows_of(layer)
    if not rows:
        return None
    return next(m for m in modules if hasattr(m, rows[0].torch_names[0].split(".")[0]))


def _build(layer: reference.layers.Layer, context: Context) -> list[nn.Module]:
    """The stock modules of a spec layer, its weights copied in."""
    kind = type(layer).__name__
    if kind not in TRANSLATIONS:
        raise TypeError(f"from_reference: no torch module for spec layer {layer.name} "
                        f"({kind})")
    try:
        modules = TRANSLATIONS[kind].build(layer, context)
    except TypeError as error:
        raise TypeError(f"from_reference: {error}") from None
    holder, values = _holder(modules, layer), {**layer.parameters, **layer.state}
    with torch.no_grad():
        for row in layout(kind).rows_of(layer):
            arrays = row.to_torch.forward(pack(tuple(values[n] for n in row.spec_names)),
                                          context)
            arrays = arrays if isinstance(arrays, tuple) else (arrays,)
            for name, array in zip(row.torch_names, arrays, strict=True):
                attrgetter(name)(holder).copy_(torch.from_numpy(np.ascontiguousarray(array)))
    return modules


# Spec layers whose torch modules take the features last, (N, T, F) or (N, …, F): nn.LSTM,
# nn.LayerNorm, nn.MultiheadAttention, an nn.Linear at every step, and nn.Embedding's output.
_FEATURES_LAST = (reference.LayerNormalization, reference.sequences._Recurrent,
                  reference.sequences.Bidirectional, reference.sequences.TimeDistributed,
                  reference.sequences.MultiHeadAttention, reference.sequences.Embedding)
# Spec layers that keep the order of a flat vector's entries (elementwise, or a softmax over
# all of them), so that a Dense after them still reads a Flatten's features, rows permuted.
_ORDER_KEEPING = (reference.ReLU, reference.Dropout, reference.Rescaling, reference.Activation,
                  reference.Softmax)


def channels_first(layers: Sequence[reference.layers.Layer],
                   input_shape: Sequence[int | None] | None) -> bool:
    """Whether torch takes a spec Sequential's input channels-first: a model with feature
    maps (a convolution or pooling layer, or a BatchNormalization of images, nn.BatchNorm2d)
    whose input has more axes than its features."""
    if input_shape is None or len(input_shape) < 2:
        return False
    return any(getattr(layer, "channels_last", False) for layer in layers) or (
        len(input_shape) == 3 and any(isinstance(layer, reference.BatchNormalization)
                                      for layer in layers))


def _contexts(model: reference.Sequential) -> list[Context]:
    return contexts(model.layers, model.input_shape,
                    channels_first(model.layers, model.input_shape))


def _layout_error(where: str, layer: reference.layers.Layer, k: int, why: str) -> TypeError:
    return TypeError(f"{where}: layer {k} ({layer.name}): {why}; no torch module computes "
                     "the spec's numbers there")


def _check_layouts(where: str, model: reference.Sequential, places: list[Context]) -> None:
    """Refuse a layer whose torch module would read its input in the other layout.

    A model with feature maps takes torch's channels-first input, and each convolution or
    pooling layer gives channels-first maps; a layer taking the features last
    (``_FEATURES_LAST``) gives (N, T, F). Without this check nn.LSTM read a Conv1D's
    (N, C, L) as L steps of C, nn.LayerNorm normalised the width of a feature map,
    nn.Conv1d read an Embedding's (N, T, D) as T channels and nn.BatchNorm1d a sequence's
    steps as its features: torch's error or, where the sizes match, other numbers.
    Likewise torch's nn.Flatten of a feature map orders the features (c, h, w), the spec's
    (h, w, c): only a Dense after it, its rows permuted (``reference.layouts``), reads
    them, and any other layer reading them is refused (the model's output
    may hold them: torch's layout, as a feature map output is channels-first). ``where``:
    the entry point (``to_reference`` reads the spec model these rules give back)."""
    first = channels_first(model.layers, model.input_shape)  # the data is so in torch
    flatten = None  # the Flatten whose (c, h, w)-ordered features no Dense has read yet
    for k, (layer, place) in enumerate(zip(model.layers, places, strict=True)):
        shape = tuple(place.input_shape)
        convolves = getattr(layer, "channels_last", False) and not isinstance(
            layer, reference.Reshape | reference.Permute)  # a convolution or pooling
        if flatten is not None and not isinstance(layer, _ORDER_KEEPING):
            if not isinstance(layer, reference.Dense) or place.flattened_from is None:
                raise _layout_error(where, layer, k, f"it reads the features of the Flatten "
                                    f"(layer {flatten}) of a feature map, which torch orders "
                                    "(c, h, w) and the spec (h, w, c); only a Dense reads "
                                    "them, its rows permuted")
            flatten = None
        if len(shape) > 1:
            if isinstance(layer, _FEATURES_LAST) and first:
                raise _layout_error(where, layer, k, "its input is a feature map, "
                                    "channels-first in torch, and its module takes the "
                                    "features last")
            # nn.BatchNorm1d normalises dim 1; BatchNorm2d takes images channels-first
            batch_norm = isinstance(layer, reference.BatchNormalization) and len(shape) == 2
            if not first and (convolves or batch_norm):
                raise _layout_error(where, layer, k, "its input comes with the features last "
                                    f"in torch (per-sample shape {shape}), and its module "
                                    "takes them on dim 1")
        out = tuple(layer.output_shape(shape))
        if isinstance(layer, reference.Flatten) and first and math.prod(shape[:-1]) > 1:
            flatten = k
        first = len(out) > 1 and (getattr(layer, "channels_last", False) or
                                  (first and not isinstance(layer, _FEATURES_LAST)))


def from_reference(model: reference.Sequential | reference.layers.Layer | reference.Model
                   ) -> nn.Sequential | torch.fx.GraphModule:
    """An ``nn.Sequential`` of stock modules computing what the spec ``model`` (or a single
    spec layer) computes, with its exact weights; for a spec graph (``reference.Model``) a
    ``torch.fx.GraphModule`` whose forward is the graph (``torch_impl.graphs``)."""
    if isinstance(model, reference.Sequential | reference.Model | reference.layers.Layer):
        check_copy_fits("from_reference", model)
    if isinstance(model, reference.Model):
        return graphs.from_reference(model)
    if isinstance(model, reference.layers.Layer):
        return nn.Sequential(*_build(model, Context(_single_shape(model), layer=model)))
    if not isinstance(model, reference.Sequential):
        raise TypeError(f"from_reference: expected a reference.Sequential, reference.Model or a "
                        f"spec layer, "
                        f"got {type(model).__name__}")
    _check_layouts("from_reference", model, _contexts(model))
    return modules_of(model)


def modules_of(model: reference.Sequential) -> nn.Sequential:
    """:func:`from_reference`'s modules with the spec's weights, without its check that
    each reads its input in the layout torch holds it: for a caller that writes the
    layout changes itself (``nn_rosetta.porting``'s forward permutes a feature map where a
    module takes its features last)."""
    return nn.Sequential(*(module for layer, context in
                           zip(model.layers, _contexts(model), strict=True)
                           for module in _build(layer, context)))


def _unmatched(modules: Sequence[nn.Module], i: int) -> TypeError:
    starts = sorted({_name(cls) for row in TRANSLATIONS.values() for cls in row.starts})
    return TypeError(f"to_reference: module {i} ({type(modules[i]).__name__}) has no spec "
                     f"counterpart; supported: {', '.join(starts)} (an activation module "
                     "right after nn.Linear or nn.Conv1d/2d is that layer's activation)")


def _read(modules: Sequence[nn.Module], input_shape: Sequence[int] | None,
          feature_map: bool = False) -> list[tuple[reference.layers.Layer, range]]:
    """Each spec layer of ``modules`` (weights not yet copied) and the modules making it;
    ``feature_map``: their input is one (a chain inside a graph, after a convolution)."""
    found, i = [], 0
    shape = None if input_shape is None else tuple(input_shape)
    while i < len(modules):
        read = None
        # as reference.layouts.contexts: a feature map from the first convolution on
        place = Context(shape, feature_map=feature_map and (shape is None or len(shape) > 1))
        for row in TRANSLATIONS.values():
            if isinstance(modules[i], row.starts):
                try:
                    read = row.read(modules, i, place)
                except TypeError as error:
                    raise TypeError(f"to_reference: {error}") from None
                if read is not None:
                    break
        if read is None:
            raise _unmatched(modules, i)
        layer, count = read
        found.append((layer, range(i, i + count)))
        i += count
        feature_map = (place.feature_map or getattr(layer, "channels_last", False)) and \
            not isinstance(layer, reference.layers.Flatten)
        if shape is None and hasattr(layer, "in_features"):
            shape = (layer.in_features,)
        try:
            shape = None if shape is None else tuple(layer.output_shape(shape))
        except (TypeError, ValueError):  # reference.Sequential names the mismatch below
            shape = None
    return found


def _read_model(modules: Sequence[nn.Module], input_shape: Sequence[int] | None
                ) -> list[tuple[reference.layers.Layer, range]]:
    """:func:`_read` of an nn.Sequential: a model with feature maps takes its input
    channels-first (:func:`channels_first`), the layers before its first convolution
    too, so such a model is read again that way (an nn.Softmax(dim=1) there is the spec's
    axis −1)."""
    if input_shape is None or len(input_shape) < 2:
        return _read(modules, input_shape)
    try:
        read = _read(modules, input_shape)
    except TypeError as error:  # a module placed for a channels-first input, perhaps
        try:
            again = _read(modules, input_shape, feature_map=True)
        except TypeError:
            raise error from None
        if not channels_first([layer for layer, _ in again], input_shape):
            raise error from None
        return again
    if channels_first([layer for layer, _ in read], input_shape):
        return _read(modules, input_shape, feature_map=True)
    return read


def _walk(module: nn.Module, input_shape: Sequence[int] | None
          ) -> tuple[reference.Sequential | reference.layers.Layer,
                     list[tuple[reference.layers.Layer, range, Context]]]:
    """The spec model of ``module`` (weights not yet copied), and each of its layers with
    the positions of the modules that make it and its place in the model."""
    sequential = isinstance(module, nn.Sequential)
    modules = list(module) if sequential else [module]
    read = _read_model(modules, input_shape) if sequential else _read(modules, input_shape)
    # nn.Linear acts at every step of a sequence (N, T, F), given as input too: the spec's
    # TimeDistributed, as from_reference writes it
    spec_layers = time_distributed([layer for layer, _ in read], sequential and
                                   input_shape is not None and len(input_shape) == 2)
    if not sequential:
        layer = spec_layers[0]
        return layer, [(layer, read[0][1], Context(_single_shape(layer), layer=layer))]
    try:
        model = reference.Sequential(spec_layers, input_shape=input_shape)
    except (TypeError, ValueError) as error:
        raise type(error)(f"to_reference: {error}") from None
    places = _contexts(model)
    _check_layouts("to_reference", model, places)  # read as the spec's, they must be it
    return model, [(layer, positions, context) for layer, (_, positions), context
                   in zip(spec_layers, read, places, strict=True)]


def read(module: nn.Module, *, input_shape: Sequence[int] | None = None
         ) -> list[tuple[reference.layers.Layer, range]]:
    """Each spec layer that :func:`to_reference` reads from an ``nn.Sequential`` (weights
    not copied) and the positions of the modules that make it."""
    return [(layer, positions) for layer, positions, _ in _walk(module, input_shape)[1]]


def layer_groups(model: reference.Sequential) -> list[range]:
    """Which modules of ``from_reference(model)`` make each spec layer of ``model``:
    ``module[r.start:r.stop]`` for each range r, first layer first (an ``nn.Linear`` and
    its ``nn.ReLU`` are one Dense)."""
    groups, start = [], 0
    for layer, context in zip(model.layers, _contexts(model),
                              strict=True):
        count = len(TRANSLATIONS[type(layer).__name__].build(layer, context))
        groups.append(range(start, start + count))
        start += count
    return groups


def _copy_out(layer: reference.layers.Layer, modules: Sequence[nn.Module], context: Context,
              gradients: bool = False) -> dict[str, np.ndarray]:
    """The spec arrays of ``layer`` from its torch ``modules``: the weights, or with
    ``gradients`` their ``.grad``."""
    kind = type(layer).__name__
    holder, found = _holder(modules, layer), {}
    for row in layout(kind).rows_of(layer):
        if gradients and not row.trainable:  # running statistics have no gradient
            continue
        tensors = [attrgetter(name)(holder) for name in row.torch_names]
        arrays = tuple((t if not gradients else t.grad if t.requires_grad else
                        torch.zeros_like(t)).detach().cpu().numpy() for t in tensors)
        arrays = arrays if len(arrays) > 1 else arrays[0]
        found.update(unpack(row.spec_names, row.to_torch.inverse_gradient(arrays, context)
                            if gradients else row.to_torch.inverse(arrays, context)))
    return found


def _modules(module: nn.Module, positions: range) -> list[nn.Module]:
    return list(module)[positions.start:positions.stop] if isinstance(module, nn.Sequential) \
        else [module]


def training_options(module: nn.Module) -> list[str]:
    """What ``module`` itself (not its children) carries that acts only in training and
    that the spec does not model, as text: a parameter frozen with ``requires_grad=False``
    (the spec trains every parameter; but those the kind's translation freezes itself, an
    LSTM's ``bias_hh_l0``) and a parametrization
    (``torch.nn.utils.parametrizations.weight_norm``, ``spectral_norm``, ``orthogonal``:
    the tensor read is the one it computes, in the module's mode; training moves the
    factors it computes it from)."""
    row = next((row for row in TRANSLATIONS.values() if isinstance(module, row.starts)), None)
    own = row.frozen_in(module) if row else ()
    found = [f"requires_grad=False on {name}"
             for name, parameter in module.named_parameters(recurse=False)
             if not parameter.requires_grad and name not in own]
    if parametrize.is_parametrized(module):
        found += [f"a parametrization of {name} (" + ", ".join(
            type(step).__name__.strip("_") for step in module.parametrizations[name]) + ")"
            for name in module.parametrizations]
    return found


def check_training_options(where: str, module: object, inference: object) -> None:
    """Refuse a module holding :func:`training_options` anywhere, naming it and the
    option, unless ``inference`` (True or False) says they are to be dropped."""
    if as_flag(where, "inference", inference) or not isinstance(module, nn.Module):
        return
    for name, child in module.named_modules():
        if "parametrizations." in name:  # a parametrization's own modules: named above
            continue
        options = training_options(child)
        if options:
            raise TypeError(f"{where}: {f'module {name}' if name else 'the module'} "
                            f"({type(child).__name__}) has {', '.join(options)}, which the "
                            "spec does not model: it acts only in training, so training the "
                            "spec model would differ from training this one. Undo it "
                            "(requires_grad_(True), parametrize.remove_parametrizations), or "
                            "pass inference=True to convert for inference only, dropping it")


def to_reference(module: nn.Module, *, input_shape: Sequence[int] | None = None,
                 input_shapes: Sequence | None = None, dtype: object = None,
                 inference: bool = False
                 ) -> reference.Sequential | reference.layers.Layer | reference.Model:
    """The spec model equal to a torch ``nn.Sequential`` (one built by
    :func:`from_reference`, or one a torch user writes; see the module docstring).

    ``input_shape``: the per-sample input shape (spec layout, channels-last), needed when
    the first module does not fix it (a convolution or a Flatten first).
    ``input_shapes``: for a module whose ``forward`` is a graph (a ``torch.fx.GraphModule``
    or a hand-written class), one per-sample shape per input: it is traced and read as a
    ``reference.Model`` (``torch_impl.graphs``).
    ``dtype``: the float dtype of an ``nn.Sequential`` without parameters (``nn.ReLU()``
    alone): torch keeps none there, a module computes in its input's dtype, while a spec
    Sequential has one; None reads it as float64, the spec's default. For a module with
    parameters their dtype is the model's, and ``dtype``, if given, must be it.
    ``inference``: what a module carries that acts only in training and that the spec does
    not model (``torch_impl._inputs.training_options``: a parameter with
    ``requires_grad=False``, a parametrization such as ``weight_norm``) is refused by name
    unless True, when it is dropped: the spec model computes the same outputs (a
    parametrized weight as computed in the module's mode), but training it would differ.

    Not seen: hooks registered on a module (``register_forward_hook``,
    ``register_forward_pre_hook``, and the global ones of ``torch.nn.modules.module``).
    torch lists them only in private attributes, which this project does not read, so a
    hook that changes an output is not in the spec model: write that computation as a
    module of its own instead.
    """
    check_training_options("to_reference", module, inference)
    if input_shape is not None:
        input_shape = as_shape("to_reference", "input_shape", input_shape, any_length=True)
    dtype = None if dtype is None else as_dtype(dtype, "to_reference")
    if input_shapes is not None or isinstance(module, torch.fx.GraphModule):
        if input_shapes is None:
            raise ValueError("to_reference: a graph module's inputs have no fixed shape; "
                             "give input_shapes=[per-sample shape of each input]")
        if dtype is not None:
            raise TypeError("to_reference: dtype is read from a graph module's parameters; "
                            "it is for an nn.Sequential")
        return graphs.to_reference(module, input_shapes=input_shapes)
    if isinstance(module, nn.Module):  # anything else: refused by _read, by its type
        check_readable("to_reference", module)
    model, walk = _walk(module, input_shape)
    if dtype is not None and isinstance(model, reference.Sequential):
        if all(layer.dtype is None for layer in model.layers):
            model.dtype = dtype  # no parameter says it: the caller does
        elif model.dtype != dtype:
            raise TypeError(f"to_reference: dtype={dtype.name} was given, but the module's "
                            f"parameters are {model.dtype.name}")
    for layer, positions, context in walk:
        for name, array in _copy_out(layer, _modules(module, positions), context).items():
            layer.set(name, array)
    return model


def gradients_to_reference(module: nn.Module,
                           model: reference.Sequential | reference.Model | None = None, *,
                           input_shape: Sequence[int] | None = None
                           ) -> list[dict[str, np.ndarray]] | dict[str, dict[str, np.ndarray]]:
    """Each spec layer's gradients from the ``.grad`` that ``loss.backward()`` left on
    ``module``'s parameters, named and laid out as the spec's (the kernel's transposed
    back to (in, out)); by the layers of ``model`` where it made ``module`` (a standalone
    activation stays a layer of its own), else as :func:`to_reference` reads them. For a
    spec graph ``model``: a dict by layer name, as ``reference.Model.gradients``."""
    if isinstance(model, reference.Model):
        return graphs.gradients_to_reference(module, model)
    walk = _walk(module, input_shape)[1] if model is None else list(zip(
        model.layers, layer_groups(model), _contexts(model),
        strict=True))
    return [_copy_out(layer, _modules(module, positions), context, gradients=True)
            for layer, positions, context in walk]


@checked(chain_pair)
def l2_penalties(model: reference.Sequential, module: nn.Sequential) -> dict[str, float]:
    """The spec layers' ``kernel_regularizer`` λ by the name of the converted ``module``'s
    parameter that holds the kernel (``"0.weight"``): ``torch_impl.fit``'s ``l2``
    argument, since ``nn.Linear`` keeps no regulariser."""
    found = {}
    for layer, positions in zip(model.layers, layer_groups(model), strict=True):
        strength = getattr(getattr(layer, "layer", layer), "kernel_regularizer", 0.0)
        if strength:
            kind = type(layer).__name__
            holder = _holder(_modules(module, positions), layer)
            index = next(k for k in positions if module[k] is holder)
            kernel = next(row for row in layout(kind).rows if row.spec_names == ("W",))
            found[f"{index}.{kernel.torch_names[0]}"] = strength
    return found
