"""Moving a spec model into Keras and back, weights copied exactly: a walker over the
translation table the concept files fill (``tf_impl.layers``, ``convolution``,
``normalization``, ``sequences``: one row per spec layer kind) and the weight tables of
``reference.layouts``.

``from_reference`` gives Keras's own objects: a ``keras.Sequential`` of stock
``keras.layers`` (a functional ``keras.Model`` when a layer takes two inputs, as
self-attention does), with string activations and an explicit ``dtype=`` on every layer.
It saves with ``model.save("m.keras")`` and loads with ``keras.models.load_model`` where
this project is not installed. Each row of a layer's weight table says which Keras weight
receives which spec array, through which transform.

``to_reference`` takes what a Keras user has, too: a ``keras.Sequential`` (or a chain of
layers in a functional model) of the layers the table reads (``TRANSLATIONS``; an
activation layer after a linear Dense or convolution joins it where the spec has no layer
for it). Anything else is refused by name. A spec graph (``reference.Model``) and a
functional model that is not a chain go through ``tf_impl.graphs``.

Both check their argument, and ``to_reference`` the per-sample ``input_shape``, before
building anything (the entry points, ``tf_impl._inputs``).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

import keras
import numpy as np
import tensorflow as tf

import reference
from reference._validation import as_flag
from reference.layouts import Context, contexts, layout, pack, time_distributed, unpack
from tf_impl import convolution, graphs, layers, merging, normalization, sequences
from tf_impl._inputs import check_input_shape, spec_model
from tf_impl._table import Translation

# Every spec layer kind's Keras translation, by kind, from the concept files' rows.
TRANSLATIONS: dict[str, Translation] = {
    row.kind: row for module in (layers, convolution, normalization, sequences, merging)
    for row in module.TRANSLATIONS}


def _translation(layer: reference.layers.Layer, where: str) -> Translation:
    kind = type(layer).__name__
    if kind not in TRANSLATIONS:
        raise TypeError(f"{where}: no Keras layer for spec layer {layer.name} ({kind}); "
                        f"nn-rosetta translates {', '.join(TRANSLATIONS)}")
    return TRANSLATIONS[kind]


def _keras_layers(layer: reference.layers.Layer, context: Context,
                  dtype: str) -> list[keras.Layer]:
    """The stock Keras layers of one spec layer, its weights copied in."""
    made = _translation(layer, "from_reference").build(layer, context, dtype)
    values = {**layer.parameters, **layer.state}
    holder = _translation(layer, "from_reference").holder(made[0])
    for row in layout(type(layer).__name__).rows_of(layer):
        arrays = row.to_keras.forward(pack(tuple(values[n] for n in row.spec_names)), context)
        for name, array in unpack(row.keras_names, arrays).items():
            attrgetter(name)(holder).assign(array)
    return made


def _single_shape(layer: reference.layers.Layer) -> tuple:
    """What a lone layer's Context knows of its input: Dense's width, a convolution's
    channels (last)."""
    if isinstance(layer, reference.Dense):
        return (layer.in_features,)
    return (layer.in_channels,) if hasattr(layer, "in_channels") else ()


# Spec layers whose Keras layers pass a padding mask on unchanged and do not use it.
_MASK_PASSING = (reference.sequences.TimeDistributed, reference.LayerNormalization,
                 reference.Activation, reference.Dropout, reference.ReLU, reference.Rescaling,
                 reference.Normalization)
# ... and those whose Keras layers use it where the spec's do not: a masked mean, the
# attention's query and value masks, a softmax over the unmasked entries, masked moments.
_MASK_USING = (reference.GlobalAveragePooling1D, reference.sequences.MultiHeadAttention,
               reference.Softmax, reference.BatchNormalization)


def _mask_after(where: str, label: str, layer: reference.layers.Layer,
                state: tuple[str, bool, bool], named: bool = False) -> tuple[str, bool, bool]:
    """The padding mask past one layer called on one tensor: ``state`` is (the mask's
    source, whether the spec carries it, whether Keras does) on the layer's input, and the
    same is returned for its output; a layer Keras would give the mask where the spec
    would not, or the other way round, is refused, naming it by ``label`` (followed by
    the layer's name unless ``named``: the label holds it)."""
    source, spec_mask, keras_mask = state
    if isinstance(layer, reference.sequences.Embedding):
        shown = f"{label} (mask_zero=True)" if named else \
            f"{label} ({layer.name}, mask_zero=True)"
        return shown, layer.mask_zero, layer.mask_zero
    recurrent = isinstance(layer, reference.sequences._Recurrent |
                           reference.sequences.Bidirectional)
    taken = keras_mask and (isinstance(layer, _MASK_USING) or (recurrent and not spec_mask))
    if taken or (spec_mask and recurrent and not keras_mask):
        raise TypeError(f"{where}: {label}{'' if named else f' ({layer.name})'} would "
                        f"{'take' if keras_mask else 'lose'} the padding mask of {source} "
                        f"in Keras, where the spec "
                        f"{'does not apply it' if keras_mask else 'does'}: the spec masks "
                        "the first recurrent layer after the Embedding only, and Keras "
                        "every layer the mask reaches")
    if recurrent:
        return source, False, keras_mask and layer.return_sequences
    if not isinstance(layer, _MASK_PASSING):
        if keras_mask and where == "from_reference":
            # Keras's layer does not support masking: it drops the mask with a UserWarning at
            # every call (the spec's numbers, but a warning a Keras model of stock layers
            # should not give: the project's tests make it an error)
            raise TypeError(f"{where}: {label}{'' if named else f' ({layer.name})'} would "
                            f"receive the padding mask of {source} in Keras, whose layer "
                            "does not support masking and warns at every call that it drops "
                            "it; " + ("no layer before it applies the mask: build the "
                                      "Embedding with mask_zero=False, which computes the "
                                      "same numbers" if spec_mask else
                                      "a Keras model of these layers gives that warning at "
                                      "every call, which from_reference does not hand on"))
        keras_mask = False  # Keras's layer does not support masking: the mask ends there
    return source, spec_mask, keras_mask


def _check_masks(where: str, layers: Sequence[reference.layers.Layer]) -> None:
    """Refuse a layer that Keras would give the padding mask of an ``Embedding(mask_zero=
    True)`` and the spec would not, or the other way round. The spec hands the mask to the
    first recurrent layer after the Embedding only (``reference.Sequential.forward``);
    Keras passes it on through every layer that supports masking, a recurrent layer
    returning sequences included, and the layers of ``_MASK_USING`` use it: the Keras
    model computed other numbers than the spec's, silently."""
    state = ("", False, False)
    for k, layer in enumerate(layers):
        state = _mask_after(where, f"layer {k}", layer, state)


def check_graph_masks(where: str, model: reference.Model) -> None:
    """:func:`_check_masks` along a spec graph's tensors: a chain of one-input layers as a
    Sequential's; a merge layer passes Keras's mask on (the spec refuses to run one that
    receives its own), and cross-attention would apply it as query, value and key masks."""
    states: dict[int, tuple[str, bool, bool]] = {}
    for node in model.nodes:
        label = f"layer {node.name!r}"
        if not node.listed:
            (source,) = node.inputs
            states[id(node)] = _mask_after(where, label, node.layer,
                                           states.get(id(source), ("", False, False)), True)
            continue
        given = [states.get(id(t), ("", False, False)) for t in node.inputs]
        masked = [(t.name, state) for t, state in zip(node.inputs, given, strict=True)
                  if state[1] or state[2]]
        spec_masked = [name for name, state in masked if state[1]]
        if spec_masked:
            raise TypeError(f"{where}: {label} receives the padding mask "
                            f"of {masked[0][1][0]} through {spec_masked}, which the spec "
                            "refuses to run (masks through merge layers and cross-attention "
                            "are not supported)")
        if masked and not node.layer.merges:
            raise TypeError(f"{where}: {label} would take the padding "
                            f"mask of {masked[0][1][0]} through {[n for n, _ in masked]} in "
                            "Keras, as its query, value or key mask, where the spec does not "
                            "apply it")
        states[id(node)] = (masked[0][1][0], False, True) if masked else ("", False, False)


@spec_model("from_reference")
def from_reference(model: reference.Sequential | reference.layers.Layer) -> keras.Layer:
    """A Keras model of stock layers (or a layer, for a spec layer) with the spec
    ``model``'s exact weights; a spec graph (``reference.Model``) becomes a functional
    ``keras.Model`` (``tf_impl.graphs``)."""
    if isinstance(model, reference.Model):
        return graphs.from_reference(model)
    if isinstance(model, reference.layers.Layer):
        made = _keras_layers(model, Context(_single_shape(model), layer=model),
                             model.dtype.name if model.dtype is not None else None)
        return made[0] if len(made) == 1 else keras.Sequential(made)
    dtype = model.dtype.name
    _check_masks("from_reference", model.layers)
    built = [(_translation(layer, "from_reference"),
              _keras_layers(layer, context, dtype))
             for layer, context in zip(model.layers, contexts(model.layers, model.input_shape),
                                       strict=True)]
    indices = model.layers[0].input_kind == "indices"  # an Embedding first takes integers
    x = keras.Input(shape=model.input_shape, dtype="int64" if indices else dtype)
    if all(row.sequential for row, _ in built):
        return keras.Sequential([x, *(layer for _, made in built for layer in made)])
    h = x
    # a layer taking x twice (self-attention): a functional model
    for (row, made), spec_layer in zip(built, model.layers, strict=True):
        h = row.call(made[0], h, **row.options(spec_layer))
        for layer in made[1:]:
            h = layer(h)
    return keras.Model(x, h)


def call(layer: keras.Layer, x: tf.Tensor, **kwargs: object) -> tf.Tensor:
    """``layer`` on ``x`` as a model of its kind calls it (self-attention: ``layer(x, x)``);
    ``training``, when given, True, False or Keras's None (Keras reads ``"no"`` as True)."""
    if kwargs.get("training") is not None:
        as_flag("tf_impl.convert.call", "training", kwargs["training"])
    row = next((row for row in TRANSLATIONS.values() if isinstance(layer, row.reads)), None)
    return layer(x, **kwargs) if row is None else row.call(layer, x, **kwargs)


def layer_groups(spec: reference.Sequential, model: keras.Model) -> list[list[keras.Layer]]:
    """The Keras layers of ``model`` (made by :func:`from_reference` from ``spec``) that
    compute each spec layer, in order: one, or a linear layer and its activation layer."""
    found, rest = [], _layers(model)
    for layer, context in zip(spec.layers, contexts(spec.layers, spec.input_shape),
                              strict=True):
        count = len(_translation(layer, "layer_groups").build(layer, context,
                                                               spec.dtype.name))
        found.append(rest[:count])
        rest = rest[count:]
    return found


def _layers(model: keras.Layer) -> list[keras.Layer]:
    """A model's layers in order, without the InputLayer of a functional model; a lone
    layer is a model of one."""
    if not isinstance(model, keras.Sequential | keras.Model):
        return [model]
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def _chain(model: keras.Model) -> None:
    """A functional model must be a chain: each layer takes the output of the one before
    (twice for self-attention)."""
    if isinstance(model, keras.Sequential) or not isinstance(model, keras.Model):
        return
    previous = model.inputs
    for k, layer in enumerate(_layers(model)):
        given = layer.input if isinstance(layer.input, list) else [layer.input]
        if len(previous) != 1 or any(t is not previous[0] for t in given):
            raise TypeError(f"to_reference: layer {k} ({layer.name}) does not take the "
                            "output of the layer before it; the spec's models are chains")
        previous = [layer.output]


def _shown(value: object) -> str:
    """A regulariser or constraint as its config holds it: ``MaxNorm(max_value=1.0, axis=0)``."""
    if isinstance(value, dict) and isinstance(value.get("config"), dict):
        return f"{value.get('class_name')}(" + ", ".join(
            f"{key}={setting!r}" for key, setting in value["config"].items()) + ")"
    return repr(value)


def _settings(config: dict, modeled: tuple[str, ...]) -> list[str]:
    """The regularisers and constraints set in a layer's config (a wrapped layer's too),
    but for an L2 regulariser the spec models (``modeled``)."""
    found = []
    for key, value in config.items():
        if key.endswith(("_regularizer", "_constraint")):
            is_l2 = isinstance(value, dict) and value.get("class_name") == "L2"
            if value is not None and not (key in modeled and is_l2):
                found.append(f"{key}={_shown(value)}")
        elif isinstance(value, dict) and isinstance(value.get("config"), dict):
            found += _settings(value["config"], modeled)  # Bidirectional's, TimeDistributed's
    return found


def training_options(layer: keras.Layer) -> list[str]:
    """The options of ``layer`` that act only in training and that the spec does not
    model, as text: a constraint (applied after each step), an activity regulariser, a
    regulariser other than Dense's L2 kernel one (a term of the loss), LoRA (the kernel
    frozen, two low-rank factors trained; the layer computes with their sum, which is
    what is read) and ``trainable=False`` (frozen weights; a frozen BatchNormalization
    also normalises with its moving statistics in training). Read from the layer's public
    config and attributes. The layer computes the same outputs in inference without them:
    :func:`to_reference` refuses them unless ``inference=True``, and the port
    (``nn_rosetta.port``) drops them, saying so in its report."""
    row = next((row for row in TRANSLATIONS.values() if isinstance(layer, row.reads)), None)
    found = _settings(layer.get_config(), row.modeled if row is not None else ())
    if getattr(layer, "lora_enabled", False):
        found.append(f"LoRA (rank {layer.lora_rank})")
    if not layer.trainable and layer.weights:
        found.append("trainable=False")
    return found


def _check_dtype_policy(layer: keras.Layer, where: str) -> None:
    """A layer with weights computes in the float32 or float64 of its weights, as the spec."""
    policy = layer.dtype_policy
    if getattr(policy, "quantization_mode", None) is not None:
        raise TypeError(f"to_reference: {where} is quantized (dtype policy {policy.name!r}); "
                        "the spec holds float32 or float64 weights: convert the model "
                        "before quantizing it")
    if policy.compute_dtype != policy.variable_dtype:  # mixed precision: float16 numbers
        raise TypeError(f"to_reference: {where} computes in {policy.compute_dtype} with "
                        f"{policy.variable_dtype} weights (dtype policy {policy.name!r}); "
                        "a spec model computes in the dtype of its weights")
    if layer.weights and policy.variable_dtype not in ("float32", "float64"):
        raise TypeError(f"to_reference: {where} holds {policy.variable_dtype} weights (dtype "
                        f"policy {policy.name!r}); the spec computes in float32 or float64: "
                        "build the layer with dtype='float32' or 'float64'")


def _read(found: Sequence[keras.Layer], inference: bool = False
          ) -> list[tuple[reference.layers.Layer, list[keras.Layer]]]:
    """Each spec layer (weights not yet copied) with the Keras layers that make it; a
    layer's training options (:func:`training_options`) refused unless ``inference``."""
    groups, i = [], 0
    while i < len(found):
        where = f"layer {i} ({found[i].name})"
        _check_dtype_policy(found[i], where)
        read = next((result for row in TRANSLATIONS.values()
                     if isinstance(found[i], row.reads)
                     for result in [row.read(found, i, where)] if result is not None), None)
        if read is None:
            raise TypeError(f"to_reference: {where}, a {type(found[i]).__name__}, has no spec "
                            "counterpart; supported: " + ", ".join(
                                f"keras.layers.{cls.__name__}" for row in TRANSLATIONS.values()
                                for cls in row.reads) +
                            " (an Activation, ReLU, LeakyReLU, ELU or Softmax layer after a "
                            "linear Dense or convolution)")
        spec_layer, count = read
        options = [option for layer in found[i:i + count] for option in training_options(layer)]
        if options and not inference:
            raise TypeError(f"to_reference: {where} has {', '.join(options)}, which the spec "
                            "does not model: it acts only in training, so training the spec "
                            "model would differ from training this one. Remove it from the "
                            "layer, or pass inference=True to convert for inference only, "
                            "dropping it (nn_rosetta.port does)")
        groups.append((spec_layer, list(found[i:i + count])))
        i += count
    return groups


def _walk(model: keras.Layer, input_shape: Sequence[int] | None, inference: bool = False
          ) -> tuple[reference.Sequential | reference.layers.Layer,
                     list[tuple[reference.layers.Layer, keras.Layer, Context]]]:
    """The spec model of ``model`` (weights not yet copied), and each of its layers with
    the Keras layer holding its weights and its place in the model."""
    if not isinstance(model, keras.Sequential | keras.Model):
        (spec, _), = _read([model], inference)
        return spec, [(spec, model, Context(_single_shape(spec), layer=spec))]
    _chain(model)
    groups = _read(_layers(model), inference)
    spec_layers = [layer for layer, _ in groups]
    given = tuple(model.input_shape[1:]) if model.built else ()
    if spec_layers and isinstance(spec_layers[0], reference.Dense) and len(given) > 1:
        # Keras's Dense acts on the last axis of any input; the spec's takes (N, in), and a
        # sequence (N, T, in) through TimeDistributed
        if len(given) > 2:
            raise TypeError(f"to_reference: layer 0 ({groups[0][1][0].name}) is a Dense on "
                            f"inputs of per-sample shape {given}; the spec's Dense takes "
                            "(N, features), or (N, T, features) as a TimeDistributed")
        spec_layers[0] = reference.sequences.TimeDistributed(spec_layers[0])
    spec_layers = time_distributed(spec_layers, len(given) == 2)
    if given:
        _on_sequences(spec_layers, given)
    _check_masks("to_reference", spec_layers)
    if input_shape is None and model.built and not isinstance(spec_layers[0], reference.Dense):
        input_shape = tuple(model.input_shape[1:])
    try:
        spec = reference.Sequential(spec_layers, input_shape=input_shape)
    except (TypeError, ValueError) as error:
        raise type(error)(f"to_reference: {error}") from None
    if all(layer.dtype is None for layer in spec_layers) and model.inputs:
        # no weights to say the dtype: the Keras model's input says it (float32 stays)
        input_dtype = np.dtype(keras.backend.standardize_dtype(model.inputs[0].dtype))
        if input_dtype.kind == "f":
            spec.dtype = input_dtype
    return spec, [(layer, made[0], context) for layer, (_, made), context in
                  zip(spec_layers, groups, contexts(spec_layers, spec.input_shape), strict=True)]


def _on_sequences(spec_layers: list[reference.layers.Layer], shape: tuple[int, ...]) -> None:
    """Each Dense that reads a sequence (per-sample shape (T, features)), as Keras's Dense
    does at every step after any layer (a Conv1D, a LayerNormalization), wrapped in the
    spec's ``TimeDistributed`` in place, as a graph's are (``tf_impl.graphs``); a shape
    that does not fit is left for ``reference.Sequential`` to name."""
    for k, layer in enumerate(spec_layers):
        if isinstance(layer, reference.Dense) and len(shape) == 2:
            spec_layers[k] = layer = reference.sequences.TimeDistributed(layer)
        try:
            shape = layer.output_shape(shape)
        except (TypeError, ValueError):
            return


def _copy_out(layer: reference.layers.Layer, keras_layer: keras.Layer, context: Context,
              read=lambda variable: variable.numpy(),
              trainable_only: bool = False) -> dict[str, np.ndarray]:
    """The spec arrays of ``layer`` from ``keras_layer``'s weights, each read by ``read``
    (its value, or its gradient); ``trainable_only``: the parameters, not the state
    (moving statistics have no gradient), brought back through the transform's adjoint."""
    found = {}
    holder = _translation(layer, "to_reference").holder(keras_layer)
    for row in layout(type(layer).__name__).rows_of(layer):
        if trainable_only and not row.trainable:
            continue
        arrays = pack(tuple(read(attrgetter(name)(holder)) for name in row.keras_names))
        back = row.to_keras.inverse_gradient if trainable_only else row.to_keras.inverse
        found.update(unpack(row.spec_names, back(arrays, context)))
    return found


@check_input_shape("to_reference")
def to_reference(model: keras.Layer, *, input_shape: Sequence[int] | None = None,
                 inference: bool = False) -> reference.Sequential | reference.layers.Layer:
    """The spec model equal to a Keras model or layer: one built by :func:`from_reference`,
    or a Keras model of stock layers (see the module docstring).

    ``input_shape``: the per-sample input shape, needed only when the model is not built
    and its first layer does not fix it. Anything without a spec counterpart is refused
    by name. A functional model that is not a chain becomes a spec graph
    (``reference.Model``, ``tf_impl.graphs``). A model nested in a ``keras.Sequential``
    is inlined first, as in a functional model (``tf_impl.graphs.flatten``). A Dense first
    on a sequence (``keras.Input((T, F))``), which Keras applies at every step, reads as
    the spec's ``TimeDistributed``.

    ``inference``: a layer's options that act only in training and that the spec does
    not model (:func:`training_options`: constraints, activity and other regularisers,
    LoRA, ``trainable=False``) are refused by name unless True, when they are dropped:
    the spec model then computes the same outputs, but training it would differ.
    """
    as_flag("to_reference", "inference", inference)
    if isinstance(model, keras.Model):
        graphs.check_operations(model, "to_reference")
    if isinstance(model, keras.Sequential):
        model = graphs.flatten(model)  # a nested model's layers join the chain
    if isinstance(model, keras.Model) and not isinstance(model, keras.Sequential) and \
            not graphs.is_chain(model):
        if input_shape is not None:  # a graph's Inputs fix their shapes; one given is unused
            raise ValueError(f"to_reference: a functional model's Inputs fix their shapes "
                             f"{[tuple(t.shape[1:]) for t in model.inputs]}; input_shape is "
                             f"for a model whose first layer fixes none, got {input_shape}")
        return graphs.to_reference(model, inference)
    spec, walk = _walk(model, input_shape, inference)
    for layer, keras_layer, context in walk:
        for name, array in _copy_out(layer, keras_layer, context).items():
            layer.set(name, array)
    return spec


def gradients_to_reference(model: keras.Layer, gradients: Sequence[tf.Tensor],
                           spec: reference.Sequential | reference.Model | None = None
                           ) -> list[dict[str, np.ndarray]] | dict[str, dict[str, np.ndarray]]:
    """Each spec layer's gradients, named and laid out as the spec's, from
    ``tape.gradient(loss, model.trainable_variables)`` (``gradients``, in that order);
    ``spec``: the spec model ``model`` was made from, whose layers they follow (else the
    layers :func:`to_reference` reads).

    An Embedding's gradient comes as ``tf.IndexedSlices`` (the rows looked up, not the
    whole table); ``tf.convert_to_tensor`` makes it the dense (V, D) array the spec has.
    For a graph (``spec`` a ``reference.Model``, or a functional model that is not a
    chain): a dict by layer name, as ``reference.Model.gradients``."""
    if isinstance(spec, reference.Model) or (spec is None and isinstance(model, keras.Model) and
                                             not isinstance(model, keras.Sequential) and
                                             not graphs.is_chain(model)):
        return graphs.gradients_to_reference(model, gradients, spec)
    by_variable = {id(v): g for v, g in zip(model.trainable_variables, gradients, strict=True)}
    # a Sequential holding a nested model is read flattened; its own layers hold the weights
    flat, owners = graphs._flatten(model) if isinstance(model, keras.Sequential) else \
        (model, {layer.name: layer for layer in _layers(model)})
    if spec is None:
        _, walk = _walk(flat, None, inference=True)  # reads gradients; trains nothing
    else:
        walk = [(layer, group[0], context) for layer, group, context in zip(
            spec.layers, layer_groups(spec, flat), contexts(spec.layers, spec.input_shape),
            strict=True)]
    walk = [(layer, owners[keras_layer.name], context) for layer, keras_layer, context in walk]
    return [_copy_out(layer, keras_layer, context,
                      read=lambda variable: tf.convert_to_tensor(by_variable[id(variable)])
                      .numpy(), trainable_only=True)
            for layer, keras_layer, context in walk]
