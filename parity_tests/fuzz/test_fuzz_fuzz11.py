"""Fuzz (issue 25), sequence models and padding masks, differentially: a seeded generator
of spec Sequentials and graphs (``reference.Model``) of the sequence layers (Embedding with
or without ``mask_zero``, SimpleRNN, LSTM, GRU, Bidirectional with each merge mode,
TimeDistributed, MultiHeadAttention with its heads, key width and causal mask, Conv1D,
LayerNormalization, GlobalAveragePooling1D) in float32 and float64, run on a new batch of
another length (length 1 included) whose token rows are padded at the end, at the start,
in the middle or all through, and on graphs taking an attention mask as an input (boolean,
integers 0 and 1; floats, other integers and wrong shapes refused). Each model goes to
torch and Keras (``from_reference``), back (``to_reference``) and through the three weight
files, and Keras's model to torch through ``nn_rosetta.port``; its output, dL/dx and every
weight's gradient must be the spec's within the parity tolerance, or the path refused by
name (``oracle``). Then one regression test per bug the
generator found."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest

import reference
from nn_rosetta import porting
from parity_tests.conftest import framework
from parity_tests.fuzz.oracle import outcome
from parity_tests.tolerances import tolerance
from reference import convolution as C
from reference import layers as L
from reference import normalization as N
from reference import sequences as S
from reference.layers import layer_shapes

RECURRENT = (S.SimpleRNN, S.LSTM, S.GRU)


def _pick(rng: np.random.Generator, options: list | tuple):
    return options[int(rng.integers(len(options)))]


def _recurrent(rng, f, dtype, every):
    kind = _pick(rng, RECURRENT)
    options = {"reset_after": bool(rng.random() < 0.6)} if kind is S.GRU else {}
    return kind(f, int(rng.integers(1, 4)), return_sequences=every, dtype=dtype, **options)


def _layer(rng, f, dtype):
    """One layer taking (N, T, f)."""
    every = bool(rng.random() < 0.6)
    draws = {
        "recurrent": lambda: _recurrent(rng, f, dtype, every),
        "Bidirectional": lambda: S.Bidirectional(
            _recurrent(rng, f, dtype, every),
            merge_mode=_pick(rng, ("concat", "sum", "mul", "ave"))),
        "TimeDistributed": lambda: S.TimeDistributed(
            L.Dense(f, int(rng.integers(1, 4)), _pick(rng, ("tanh", "relu", "identity")),
                    dtype=dtype)),
        # key_dim 1 with several heads is refused by Keras's converter (a known bias bug)
        "MultiHeadAttention": lambda: S.MultiHeadAttention(
            f, int(rng.integers(1, 3)), key_dim=_pick(rng, (None, 2, 3)),
            use_causal_mask=bool(rng.random() < 0.4), dtype=dtype),
        "Conv1D": lambda: C.Conv1D(f, int(rng.integers(1, 4)), int(rng.integers(1, 3)),
                                   strides=_pick(rng, (1, 1, 2)),
                                   padding=_pick(rng, ("same", "valid")), dtype=dtype),
        "LayerNormalization": lambda: N.LayerNormalization(f, float(rng.choice([1e-5, 0.1])),
                                                           dtype=dtype),
        "GlobalAveragePooling1D": lambda: C.GlobalAveragePooling1D(),
        "Dropout": lambda: L.Dropout(0.3),
    }
    return draws[_pick(rng, sorted(draws))]()


def _chain(rng, f, count, dtype, steps=None) -> tuple[list, tuple]:
    """Up to ``count`` layers, each on the sequence (``steps`` long: None, any) the one
    before gives, until one ends the sequence; a draw the spec refuses (a Conv1D on a
    sequence of any length), or degenerate (a normalisation of one or two features, a key
    width 1 across heads), is drawn again."""
    layers, shape = [], (steps, f)
    for _ in range(30):
        if len(layers) >= count or len(shape) == 1:
            break
        try:
            layer = _layer(rng, shape[-1], dtype)
            out = layer_shapes([layer], shape)[-1]
        except (TypeError, ValueError):
            continue
        if (isinstance(layer, N.LayerNormalization) and shape[-1] <= 2) or (
                isinstance(layer, S.MultiHeadAttention) and layer.key_dim == 1 and
                layer.num_heads > 1):
            continue
        layers.append(layer)
        shape = out
    return layers, shape


def _randomize(model, rng: np.random.Generator) -> None:
    """Every weight moved off its initial draw: biases non-zero, row 0 of a table too."""
    for layer in model.layers:
        for name, value in layer.parameters.items():
            layer.set(name, (value + 0.3 * rng.standard_normal(value.shape)).astype(value.dtype))


FAMILIES = ("tokens", "sequence", "token graph", "attention graph")


def spec_case(seed: int) -> tuple[reference.Sequential | reference.Model, object]:
    """``seed``'s model (float32 for odd seeds) and a new batch for it."""
    rng = np.random.default_rng(seed)
    dtype = np.float32 if seed % 2 else np.float64
    family = FAMILIES[seed % len(FAMILIES)]
    words, width = int(rng.integers(3, 8)), int(rng.integers(2, 5))
    steps = None if rng.random() < 0.6 else int(rng.integers(1, 6))  # None: any length
    if family in ("tokens", "sequence"):
        layers, shape = _chain(rng, width, int(rng.integers(1, 4)), dtype, steps)
        if family == "tokens":
            layers.insert(0, S.Embedding(words, width, mask_zero=bool(rng.random() < 0.7),
                                         dtype=dtype))
        if len(shape) == 1:
            layers.append(L.Dense(shape[0], int(rng.integers(1, 3)), "tanh", dtype=dtype))
        model = reference.Sequential(layers, input_shape=(steps,) if family == "tokens" else
                                     (steps, width), seed=seed)
    elif family == "token graph":
        tokens = reference.Input((steps,), name="tokens")
        h = S.Embedding(words, width, mask_zero=bool(rng.random() < 0.8), dtype=dtype,
                        name="embedding")(tokens)
        branches = []
        for b in range(int(rng.integers(1, 3))):
            layers, _ = _chain(rng, width, int(rng.integers(1, 3)), dtype, steps)
            g = h
            for k, layer in enumerate(layers):
                layer.name = f"b{b}_{k}"
                g = layer(g)
            branches.append(g)
        if len(branches) == 2 and branches[0].shape == branches[1].shape:
            h = _pick(rng, (reference.merging.Add, reference.merging.Concatenate))(
                name="merge")(branches)
        else:
            h = branches[0]
        if len(h.shape) == 2:
            h = C.GlobalAveragePooling1D(name="pool")(h)
        h = L.Dense(h.shape[0], 2, "tanh", dtype=dtype, name="head")(h)
        model = reference.Model(tokens, h, seed=seed)
    else:
        steps = int(rng.integers(1, 5))
        x, mask = reference.Input((steps, width), name="x"), reference.Input((steps, steps),
                                                                             name="mask")
        heads, key_dim = int(rng.integers(1, 3)), _pick(rng, (None, 2, 3))
        if key_dim is None and (width % heads or width // heads == 1):
            heads = 1  # heads of E/H features, and never one feature across heads
        attention = S.MultiHeadAttention(width, heads, key_dim=key_dim,
                                         use_causal_mask=bool(rng.random() < 0.4),
                                         dtype=dtype, name="attention")
        h = attention([x, x, x, mask])
        if rng.random() < 0.5 and dtype == np.float64 and width > 2:
            # in float32 a normalisation of so few features amplifies the rounding of the
            # attention's weight gradients past the tolerance, the spec's and Keras's alike
            # (seed 19: 7e-6 and 5e-6 off the float64 truth, opposite ways)
            h = N.LayerNormalization(width, dtype=dtype, name="norm")(h)
        h = _pick(rng, (S.LSTM, S.GRU))(width, 2, dtype=dtype, name="rnn")(h) \
            if rng.random() < 0.5 else C.GlobalAveragePooling1D(name="pool")(h)
        model = reference.Model([x, mask], h, seed=seed)
    _randomize(model, rng)
    return model, _batch(model, rng, words)


def _tokens(rng, n: int, steps: int, words: int) -> np.ndarray:
    """Token rows padded with 0 at the end, at the start, in the middle, or all through."""
    rows = rng.integers(1, words, (n, steps))
    for row in rows:
        cut = int(rng.integers(0, steps + 1))
        where = _pick(rng, ("end", "start", "middle", "all", "none"))
        if where == "end":
            row[cut:] = 0
        elif where == "start":
            row[:cut] = 0
        elif where == "middle":
            row[cut // 2:cut] = 0
        elif where == "all":
            row[:] = 0
    return rows


def _batch(model, rng, words: int) -> object:
    n, steps = int(rng.integers(1, 5)), model.inputs[0].shape[0] if isinstance(
        model, reference.Model) else model.input_shape[0]
    steps = int(rng.integers(1, 6)) if steps is None else steps  # a length of its own
    if isinstance(model, reference.Sequential):
        first = model.layers[0]
        if first.input_kind == "indices":
            return _tokens(rng, n, steps, first.input_dim)
        return rng.standard_normal((n, steps, model.input_shape[-1])).astype(model.dtype)
    if model.input_list:  # [x, attention mask]
        (t, e), _ = (tensor.shape for tensor in model.inputs)
        mask = rng.random((n, t, t)) < 0.7
        mask[..., 0] = True  # every query attends somewhere (else NaN, 0 or a mean: below)
        return [rng.standard_normal((n, t, e)).astype(model.dtype),
                mask.astype(np.int64) if rng.random() < 0.4 else mask]
    return _tokens(rng, n, steps, model.get_layer("embedding").input_dim)


# -- running one model in each framework ------------------------------------------------


def _listed(model, x) -> list[np.ndarray]:
    return list(x) if isinstance(model, reference.Model) and model.input_list else [x]


def _flat(gradients) -> dict[str, np.ndarray]:
    """A Sequential's (a list by layer) or a graph's (a dict by name) gradients, flat."""
    items = gradients.items() if isinstance(gradients, dict) else enumerate(gradients)
    return {f"{k}.{name}": np.asarray(a) for k, arrays in items for name, a in arrays.items()}


def _spec_run(model, x, upstream):
    y = model.forward(x)
    dx = model.backward(upstream)
    dxs = dx if isinstance(dx, list) else [dx]
    return y, dxs, _flat(model.gradients)


def _torch_run(model, module, x, upstream):
    torch = framework("torch").torch
    impl = framework("torch").impl
    module.eval()
    xs = [torch.from_numpy(np.ascontiguousarray(a)).requires_grad_(a.dtype.kind == "f")
          for a in _listed(model, x)]
    if isinstance(model, reference.Model):  # a feature map channels-first, in and out
        maps = reference.graphs.feature_maps(model)
        y = module(*(impl.convolution.channels_first(t) if maps[i.name] else t
                     for t, i in zip(xs, model.inputs, strict=True)))
        y = impl.convolution.channels_last(y) if maps[model.outputs[0].name] else y
    else:
        maps = impl.convert.channels_first(model.layers, model.input_shape)
        y = module(impl.convolution.channels_first(xs[0]) if maps else xs[0])
        y = impl.convolution.channels_last(y) if maps and y.dim() >= 3 else y
    (y * torch.from_numpy(upstream)).sum().backward()
    return (y.detach().numpy(), [None if t.grad is None else t.grad.numpy() for t in xs],
            _flat(impl.convert.gradients_to_reference(module, model)))


def _keras_run(model, kmodel, x, upstream):
    tf, impl = framework("tf").tf, framework("tf").impl
    xs = [tf.constant(a) for a in _listed(model, x)]
    with tf.GradientTape() as tape:
        tape.watch([t for t in xs if t.dtype.is_floating])
        y = kmodel(xs if len(xs) > 1 else xs[0], training=False)
        total = tf.reduce_sum(y * tf.constant(upstream))
    found = tape.gradient(total, [*xs, *kmodel.trainable_variables])
    dxs = [None if g is None or not t.dtype.is_floating else g.numpy()
           for g, t in zip(found, xs, strict=False)]
    return (y.numpy(), dxs,
            _flat(impl.convert.gradients_to_reference(kmodel, found[len(xs):], model)))


def _close(actual, expected, dtype, kind: str, what: str) -> None:
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"{what}: {actual.shape} vs {expected.shape}"
    error = tolerance(dtype, kind).error(actual, expected)
    assert error <= tolerance(dtype, kind).rtol, f"{what}: error {error:.3g}"


def _compare(run, spec, dtype, what: str) -> None:
    (y, dxs, grads), (y0, dxs0, grads0) = run, spec
    _close(y, y0, dtype, "output", what)
    for k, (dx, dx0) in enumerate(zip(dxs, dxs0, strict=True)):
        assert (dx is None) == (dx0 is None), f"{what}: dL/dx {k}"
        if dx0 is not None and np.asarray(dx0).dtype != bool:
            _close(dx, dx0, dtype, "gradient", f"{what}: dL/dx {k}")
    assert grads.keys() == grads0.keys(), f"{what}: {sorted(grads)} vs {sorted(grads0)}"
    for name, g in grads0.items():
        _close(grads[name], g, dtype, "gradient", f"{what}: dL/d{name}")


def _other(model, seed: int):
    fresh = copy.deepcopy(model)
    _randomize(fresh, np.random.default_rng(seed + 1))
    return fresh


def check_case(model, x, seed: int, folder) -> dict[str, str]:
    """Every path of ``model`` gives the spec's numbers on ``x`` or refuses by name; the
    verdict of each path ("equal" or "refused")."""
    torch_impl, tf_impl = framework("torch").impl, framework("tf").impl
    rng = np.random.default_rng(seed + 10**6)
    dtype, graph = model.dtype, isinstance(model, reference.Model)
    y = outcome(lambda: model.forward(x), "Model").value
    if y is None:  # the spec refuses to run it (a mask reaching a merge): so do both mirrors
        assert outcome(lambda: torch_impl.from_reference(model), "from_reference").value is None
        assert outcome(lambda: tf_impl.from_reference(model), "from_reference").value is None
        return {"spec": "refused"}
    upstream = rng.standard_normal(y.shape).astype(dtype)
    spec = _spec_run(model, x, upstream)
    verdicts = {}

    module = outcome(lambda: torch_impl.from_reference(model), "from_reference").value
    verdicts["torch"] = "refused" if module is None else "equal"
    if module is not None:
        _compare(_torch_run(model, module, x, upstream), spec, dtype, "torch")
        shapes = {"input_shapes": [t.shape for t in model.inputs]} if graph else \
            {"input_shape": model.input_shape}
        back = torch_impl.to_reference(module, **shapes)
        _close(back.forward(x), spec[0], dtype, "output", "spec → torch → spec")
        torch_impl.save_weights(module, folder / f"{seed}.pt")
        fresh = torch_impl.load_weights(folder / f"{seed}.pt",
                                        torch_impl.from_reference(_other(model, seed)))
        _close(_torch_run(model, fresh, x, upstream)[0], spec[0], dtype, "output", "torch file")

    kmodel = outcome(lambda: tf_impl.from_reference(model), "from_reference").value
    verdicts["keras"] = "refused" if kmodel is None else "equal"
    if kmodel is not None:
        _compare(_keras_run(model, kmodel, x, upstream), spec, dtype, "keras")
        back = outcome(lambda: tf_impl.to_reference(kmodel), "to_reference").value
        verdicts["keras → spec"] = "refused" if back is None else "equal"
        if back is not None:
            _close(back.forward(x), spec[0], dtype, "output", "spec → keras → spec")
        ported = outcome(lambda: porting.port(kmodel, x), "port").value
        verdicts["port"] = "refused" if ported is None else "equal"
        if ported is not None:  # Keras's model in torch, through the written source
            torch = framework("torch").torch
            y_port = ported.module(*(torch.from_numpy(np.ascontiguousarray(a))
                                     for a in _listed(model, x)))
            _close(y_port.detach().numpy(), spec[0], dtype, "output", "port")
        tf_impl.save_weights(kmodel, folder / f"{seed}.weights.h5")
        fresh = tf_impl.load_weights(folder / f"{seed}.weights.h5",
                                     tf_impl.from_reference(_other(model, seed)))
        _close(_keras_run(model, fresh, x, upstream)[0], spec[0], dtype, "output", "keras file")

    reference.save_weights(model, folder / f"{seed}.npz")
    into = reference.load_weights(folder / f"{seed}.npz", _other(model, seed))
    np.testing.assert_array_equal(into.forward(x), spec[0])
    return verdicts


# Seeds whose models hold, together, every layer kind above, each recurrent kind in a
# Bidirectional of each merge mode, Embeddings with and without mask_zero, all four
# families in both dtypes, and every verdict (picked greedily from the first 300, each of
# which passes but for float32 rounding at the tolerance's edge: seed 233's torch
# SimpleRNN bias gradient 1.1e-5 off the spec, both within 1e-14 in float64).
SEEDS = [6, 20, 55, 98, 109, 136, 156, 177, 190, 216, 250, 260, 274, 282, 294]


def _kinds(model) -> set[str]:
    found = {type(layer).__name__ for layer in model.layers}
    found |= {f"Bidirectional({type(layer.forward_layer).__name__}, {layer.merge_mode})"
              for layer in model.layers if isinstance(layer, S.Bidirectional)}
    found |= {f"mask_zero={layer.mask_zero}" for layer in model.layers
              if isinstance(layer, S.Embedding)}
    return found | {str(model.dtype)}


def test_the_seeds_cover_every_kind_merge_mode_mask_and_family() -> None:
    cases = [spec_case(seed)[0] for seed in SEEDS]
    kinds = set().union(*map(_kinds, cases))
    assert kinds >= {"Embedding", "SimpleRNN", "LSTM", "GRU", "TimeDistributed",
                     "MultiHeadAttention", "Conv1D", "LayerNormalization",
                     "GlobalAveragePooling1D", "Add", "Concatenate", "mask_zero=True",
                     "mask_zero=False", "float32", "float64"}
    assert kinds >= {f"Bidirectional({kind.__name__}, {mode})" for kind in RECURRENT
                     for mode in ("concat", "sum", "mul", "ave")}
    assert {FAMILIES[seed % len(FAMILIES)] for seed in SEEDS} == set(FAMILIES)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_sequence_model_converts_to_its_own_numbers_or_is_refused(seed, tmp_path) -> None:
    check_case(*spec_case(seed), seed, tmp_path)


# -- what the generator found: one test per bug ---------------------------------------------

def _token_graph(build) -> reference.Model:
    tokens = reference.Input((4,), name="tokens")  # a BatchNormalization needs T known
    model = reference.Model(tokens, build(S.Embedding(6, 3, mask_zero=True, name="embedding")(
        tokens)), seed=0)
    _randomize(model, np.random.default_rng(0))
    return model


# Spec graphs in which Keras would hand the Embedding's padding mask to a layer the spec
# does not give it, or not to one it does: (the layers after the Embedding, the layer
# refused, take or lose).
KERAS_GRAPH_MASKS = {
    "a GlobalAveragePooling1D": (lambda h: C.GlobalAveragePooling1D(name="pool")(h), "pool",
                                 "take"),
    "a Softmax": (lambda h: L.Softmax(name="softmax")(h), "softmax", "take"),
    "a self-attention": (lambda h: S.MultiHeadAttention(3, 1, name="attention")(h),
                         "attention", "take"),
    "a BatchNormalization": (lambda h: N.BatchNormalization(3, name="norm")(h), "norm",
                             "take"),
    "a second LSTM": (lambda h: S.LSTM(2, 2, name="second")(
        S.LSTM(3, 2, return_sequences=True, name="first")(h)), "second", "take"),
    "an LSTM after a Conv1D": (lambda h: S.LSTM(3, 2, name="lstm")(
        C.Conv1D(3, 3, 1, padding="same", name="conv")(h)), "conv", "receive"),
}


@pytest.mark.parametrize("case", KERAS_GRAPH_MASKS)
def test_keras_graph_conversion_refuses_a_mask_the_spec_does_not_apply(case) -> None:
    """The Sequential's check of where the mask goes was not made for graphs: the Keras
    model of a spec graph took a masked mean (NaN on a row of padding only), masked the
    attention or the second LSTM (0.02 and 6e-4 off), left the LSTM after a Conv1D
    unmasked (9e-3 off; Keras's Conv1D drops the mask, see below), or stopped in Keras's
    own words (the Softmax)."""
    build, name, verb = KERAS_GRAPH_MASKS[case]
    with pytest.raises(TypeError, match=rf"^from_reference: layer '{name}' would {verb} the "
                                        r"padding mask of layer 'embedding' \(mask_zero=True\) "
                                        r"in Keras"):
        framework("tf").impl.from_reference(_token_graph(build))


# A Keras layer that does not support masking drops the mask with a UserWarning at every
# call: (the layers after the Embedding, the refused layer, what the message advises).
KERAS_DROPPED_MASKS = {
    "a Flatten": (lambda: [L.Flatten(), L.Dense(12, 2)], 1, "build the Embedding with "
                  "mask_zero=False, which computes the same numbers"),
    "a Conv1D": (lambda: [C.Conv1D(3, 2, 1), C.GlobalAveragePooling1D()], 1,
                 "build the Embedding with mask_zero=False"),
    "a Flatten after an LSTM that applied it": (
        lambda: [S.LSTM(3, 2, return_sequences=True), L.Flatten(), L.Dense(8, 2)], 2,
        "a Keras model of these layers gives that warning at every call"),
}


@pytest.mark.parametrize("case", KERAS_DROPPED_MASKS)
def test_keras_conversion_refuses_a_layer_that_would_drop_the_mask_with_a_warning(case
                                                                                  ) -> None:
    """The Keras model computed the spec's numbers, but Keras warned at its making and at
    every call ("Layer 'flatten' (of type Flatten) was passed an input with a mask attached
    to it ... will therefore destroy the mask information"), an error under the suite's
    warning policy: now refused by name, with the way out where there is one."""
    build, k, advice = KERAS_DROPPED_MASKS[case]
    model = reference.Sequential([S.Embedding(6, 3, mask_zero=True), *build()],
                                 input_shape=(4,), seed=0)
    with pytest.raises(TypeError, match=rf"^from_reference: layer {k} \(.*\) would receive the "
                                        r"padding mask of layer 0 .* does not support masking"
                                        rf".*[:;] {advice}"):
        framework("tf").impl.from_reference(model)


def test_keras_graph_conversion_keeps_a_mask_both_apply() -> None:
    """The check is no broader than Keras: a mask through a TimeDistributed into a
    Bidirectional, and an unmasked branch merged after it, convert to the spec's numbers."""
    def build(h):
        rnn = S.Bidirectional(S.GRU(2, 2), merge_mode="ave", name="rnn")
        return rnn(S.TimeDistributed(L.Dense(3, 2, "tanh"), name="dense")(h))

    model = _token_graph(build)
    x = np.array([[1, 2, 0, 0], [0, 0, 3, 5], [0, 0, 0, 0]])
    kmodel = framework("tf").impl.from_reference(model)
    _close(np.asarray(kmodel(x)), model.forward(x), np.float64, "output", "keras graph")


def test_keras_gradients_of_a_masked_graph_read_past_keras_mask_operation() -> None:
    """A functional Keras model carrying mask_zero's mask holds Keras's NotEqual among its
    layers' entries: gradients_to_reference, given the spec graph, stopped in Keras's words
    ("No such layer: not_equal"); now each layer's gradients, the spec's."""
    tf, impl = framework("tf").tf, framework("tf").impl
    model = _token_graph(lambda h: L.Dense(2, 2, name="head")(S.LSTM(3, 2, name="lstm")(h)))
    x = np.array([[1, 2, 0, 0], [0, 4, 5, 1]])
    kmodel = impl.from_reference(model)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(kmodel(x))
    found = impl.convert.gradients_to_reference(
        kmodel, tape.gradient(total, kmodel.trainable_variables), model)
    model.forward(x)
    model.backward(np.ones((2, 2)))
    for name, arrays in model.gradients.items():
        for part, expected in arrays.items():
            _close(found[name][part], expected, np.float64, "gradient", f"{name}.{part}")


def test_torch_attention_refuses_integers_other_than_0_and_1_as_the_spec_does() -> None:
    """A mask of integers with a 2 is a ValueError in the spec (``as_mask``: the values are
    wrong, not the type) and was a TypeError in the torch mirror: the oracle wants one."""
    torch, impl = framework("torch").torch, framework("torch").impl
    x = reference.Input((2, 3), name="x")
    mask = reference.Input((2, 2), name="mask")
    model = reference.Model([x, mask], S.MultiHeadAttention(3, 1, name="attention")(
        [x, x, x, mask]), seed=0)
    values = np.array([[[1, 2], [1, 1]]])
    with pytest.raises(ValueError, match=r"only 0 \(False\) and 1 \(True\).*e\.g\. 2"):
        model.forward([np.zeros((1, 2, 3)), values])
    with pytest.raises(ValueError, match=r"^\w*Attention: mask of integers must hold "
                                         r"only 0 \(False\) and 1 \(True\).*e\.g\. 2"):
        impl.from_reference(model)(torch.zeros(1, 2, 3, dtype=torch.float64),
                                   torch.from_numpy(values))
    with pytest.raises(TypeError, match=r"^\w*Attention: mask must be boolean"):
        impl.from_reference(model)(torch.zeros(1, 2, 3, dtype=torch.float64),
                                   torch.from_numpy(values.astype(np.float64)))


# Spec graphs whose torch module read a tensor in the other layout (the Sequential's rule,
# not applied to graphs): (per-sample input shape, the layers, refused layer, why).
TORCH_GRAPH_LAYOUTS = {
    "a Conv1D after an Embedding": (
        (3,), lambda h: C.GlobalAveragePooling1D(name="pool")(C.Conv1D(3, 2, 1, name="conv")(
            S.Embedding(5, 3, name="embedding")(h))), "conv", "comes with the features last"),
    "an LSTM after a Conv1D": (
        (3, 3), lambda h: S.LSTM(3, 2, name="lstm")(C.Conv1D(3, 3, 1, padding="same",
                                                             name="conv")(h)),
        "lstm", "is a feature map"),
    "a Conv1D after an LSTM": (
        (3, 3), lambda h: C.GlobalAveragePooling1D(name="pool")(C.Conv1D(3, 2, 1, name="conv")(
            S.LSTM(3, 3, return_sequences=True, name="lstm")(h))), "lstm", "is a feature map"),
    "a LayerNormalization after a Conv1D": (
        (3, 3), lambda h: C.GlobalAveragePooling1D(name="pool")(N.LayerNormalization(
            3, name="norm")(C.Conv1D(3, 3, 1, padding="same", name="conv")(h))), "norm",
        "is a feature map"),
    "a BatchNormalization on a sequence": (
        (3, 3), lambda h: C.GlobalAveragePooling1D(name="pool")(N.BatchNormalization(
            3, name="norm")(h)), "norm", "comes with the features last"),
}


@pytest.mark.parametrize("case", TORCH_GRAPH_LAYOUTS)
def test_torch_graph_conversion_refuses_a_layer_reading_the_other_layout(case) -> None:
    """nn.Conv1d read an Embedding's (N, T, D) as T channels, nn.LSTM and nn.LayerNorm a
    Conv1D's (N, C, L) as L steps of C, nn.BatchNorm1d a sequence's steps as its
    features: 0.07 to 1.25 off where the sizes match (all 3 here), torch's error
    elsewhere."""
    shape, build, name, why = TORCH_GRAPH_LAYOUTS[case]
    x = reference.Input(shape, name="x")
    model = reference.Model(x, build(x), seed=0)
    with pytest.raises(TypeError, match=rf"^from_reference: layer '{name}' \(.*\) on '.*': its "
                                        rf"input {why}"):
        framework("torch").impl.from_reference(model)


def test_torch_graph_conversion_keeps_a_pooled_feature_map() -> None:
    """The rule is no broader than the layouts: a Conv1D on the Input, then a pooling and
    a Dense, computes the spec's numbers."""
    torch, impl = framework("torch").torch, framework("torch").impl
    x = reference.Input((4, 3), name="x")
    model = reference.Model(x, L.Dense(2, 2, name="head")(C.GlobalAveragePooling1D(
        name="pool")(C.Conv1D(3, 2, 2, name="conv")(x))), seed=0)
    _randomize(model, np.random.default_rng(1))
    data = np.random.default_rng(2).standard_normal((3, 4, 3))
    module = impl.from_reference(model)
    got = module(impl.convolution.channels_first(torch.from_numpy(data))).detach().numpy()
    _close(got, model.forward(data), np.float64, "output", "torch graph")


# -- masks passed at the call: a recurrent layer's (N, T), attention's (N, T, S) ------------

def _masked_layer(seed: int):
    """A recurrent or Bidirectional spec layer, a batch, and a step mask: rows padded at
    the end, at the start, all through, and not at all; length 1 included."""
    rng = np.random.default_rng(seed)
    dtype = np.float32 if seed % 2 else np.float64
    f, every = int(rng.integers(1, 4)), bool(rng.random() < 0.5)
    layer = _recurrent(rng, f, dtype, every)
    if seed % 3 == 0:
        layer = S.Bidirectional(layer, merge_mode=_pick(rng, ("concat", "sum", "mul", "ave")),
                                seed=seed)
    else:
        layer.initialize(np.random.default_rng(seed))
    for name, value in layer.parameters.items():
        layer.set(name, (value + 0.3 * rng.standard_normal(value.shape)).astype(dtype))
    n, t = 4, int(rng.integers(1, 6))
    x = rng.standard_normal((n, t, f)).astype(dtype)
    cut = int(rng.integers(0, t + 1))
    mask = np.ones((n, t), bool)
    mask[0, cut:], mask[1, :cut], mask[2] = False, False, False
    return layer, x, mask.astype(np.int64) if seed % 4 == 1 else mask


@pytest.mark.parametrize("seed", range(6))
def test_a_step_mask_at_the_call_masks_as_keras_does(seed) -> None:
    """The spec layer's ``mask`` and Keras's ``layer(x, mask=m)``: the same outputs and
    dL/dx on rows padded at the end, at the start and all through (torch's recurrent
    modules take no mask: the spec's own Embedding mask is refused there)."""
    tf, impl = framework("tf").tf, framework("tf").impl
    layer, x, mask = _masked_layer(seed)
    layer.mask = mask
    y = layer.forward(x)
    upstream = np.random.default_rng(seed).standard_normal(y.shape).astype(layer.dtype)
    dx = layer.backward(upstream)
    keras_layer, xt = impl.from_reference(layer), tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        yk = keras_layer(xt, mask=tf.constant(mask.astype(bool)))
        total = tf.reduce_sum(yk * upstream)
    _close(yk.numpy(), y, layer.dtype, "output", "keras")
    _close(tape.gradient(total, xt).numpy(), dx, layer.dtype, "gradient", "keras dL/dx")


MASKS_REFUSED = {
    "floats": (lambda m: m.astype(np.float64), TypeError, "must be boolean"),
    "a 2": (lambda m: np.where(m, 2, 0), ValueError, r"only 0 \(False\) and 1 \(True\)"),
    "one step short": (lambda m: m[:, :-1], ValueError, "mask"),
    "ragged": (lambda m: [list(row) for row in m[:-1]] + [list(m[-1, :-1])], ValueError,
               "mask"),
}


@pytest.mark.parametrize("case", MASKS_REFUSED)
def test_a_step_mask_of_the_wrong_kind_is_refused_by_the_layers_name(case) -> None:
    make, error, message = MASKS_REFUSED[case]
    layer, x, mask = _masked_layer(3)
    layer.mask = make(np.asarray(mask, bool))
    with pytest.raises(error, match=rf"^{re.escape(layer.name)}: .*{message}"):
        layer.forward(x)


def test_a_query_that_may_attend_to_nothing_is_nan_zero_or_the_mean_by_framework() -> None:
    """The convention the generator keeps clear of (every query attends key 0 there):
    a fully masked query row is NaN in the spec (0/0, its NaN policy), 0 in torch
    (F.scaled_dot_product_attention) and the mean of the values in Keras (a large negative
    score, not −∞); rows that attend somewhere agree."""
    torch, impl_torch, impl_tf = (framework("torch").torch, framework("torch").impl,
                                  framework("tf").impl)
    x, m = reference.Input((3, 4), name="x"), reference.Input((3, 3), name="mask")
    model = reference.Model([x, m], S.MultiHeadAttention(4, 2, name="attention")(
        [x, x, x, m]), seed=0)
    data = np.random.default_rng(0).standard_normal((1, 3, 4))
    mask = np.ones((1, 3, 3), bool)
    mask[0, 1] = False  # query 1 attends to nothing
    y = model.forward([data, mask])
    y_torch = impl_torch.from_reference(model)(torch.from_numpy(data),
                                               torch.from_numpy(mask)).detach().numpy()
    y_keras = np.asarray(impl_tf.from_reference(model)([data, mask]))
    assert np.isnan(y[0, 1]).all()
    np.testing.assert_array_equal(y_torch[0, 1], impl_torch.from_reference(model).get_submodule(
        "attention").out_proj.bias.detach().numpy())  # zero heads, then the output bias
    v = data[0] @ model.get_layer("attention").parameters["value_kernel"].reshape(4, -1) + \
        model.get_layer("attention").parameters["value_bias"].reshape(-1)
    o = v.mean(axis=0) @ model.get_layer("attention").parameters["output_kernel"].reshape(-1, 4)
    _close(y_keras[0, 1], o + model.get_layer("attention").parameters["output_bias"],
           np.float64, "output", "keras: the mean of the values")
    for other in (y_torch, y_keras):
        _close(other[0, [0, 2]], y[0, [0, 2]], np.float64, "output", "rows that attend")


def test_the_port_of_a_graph_writes_the_layout_changes_from_reference_refuses() -> None:
    """Seed 138: Embedding → TimeDistributed → two Conv1D branches → Concatenate → pooling.
    torch_impl.from_reference refuses the Conv1D on features-last tensors; the port, which
    permutes them in its forward and took the GraphModule for its weights only, ports it
    (it stopped on that refusal, naming from_reference, in the commit before its fix)."""
    torch, impl = framework("torch").torch, framework("torch").impl
    model, x = spec_case(138)
    with pytest.raises(TypeError, match=r"^from_reference: layer '.*' \(Conv1D\)"):
        impl.from_reference(model)
    ported = porting.port(framework("tf").impl.from_reference(model), x)
    _close(ported.module(torch.from_numpy(x)).detach().numpy(), model.forward(x),
           model.dtype, "output", "port")


@pytest.mark.parametrize("graph", [False, True], ids=["Sequential", "Model"])
def test_a_padding_mask_that_no_longer_fits_is_refused_naming_its_embedding(graph) -> None:
    """An Embedding(mask_zero=True), a Conv1D that shortens the sequence, an LSTM: the
    spec stopped with 'LSTM(3, 2): mask must have shape (2, 3), got (2, 4)', about a mask
    the caller never gave; now the model names the Embedding, the layer and the way out."""
    layers = [S.Embedding(5, 3, mask_zero=True, name="embedding"),
              C.Conv1D(3, 3, 2, name="conv"), S.LSTM(3, 2, name="lstm")]
    if graph:
        tokens = reference.Input((4,), name="tokens")
        h = tokens
        for layer in layers:
            h = layer(h)
        model, where = reference.Model(tokens, h, seed=0), "Model.forward"
    else:
        model, where = reference.Sequential(layers, input_shape=(4,), seed=0), "Sequential"
    with pytest.raises(ValueError, match=rf"^{where}: lstm takes the padding mask of embedding "
                                         r"\(mask_zero=True\), 4 steps per sequence, but its "
                                         r"input has shape \(2, 3, 3\): a layer between them "
                                         r"changed the number of steps"):
        model.forward(np.array([[1, 2, 0, 0], [0, 0, 3, 1]]))


def test_keras_reads_a_mask_its_conv1d_dropped_as_lost_not_as_the_specs() -> None:
    """The other way: Keras's Conv1D drops the mask (with its warning), so its LSTM runs
    unmasked, where the spec's Sequential would hand the LSTM the Embedding's mask."""
    import keras

    with pytest.warns(UserWarning, match="does not support masking"):
        native = keras.Sequential([keras.Input((4,), dtype="int64"),
                                   keras.layers.Embedding(6, 3, mask_zero=True),
                                   keras.layers.Conv1D(3, 2, padding="same"),
                                   keras.layers.LSTM(2)])
    with pytest.raises(TypeError, match=r"^to_reference: layer 2 \(.*\) would lose the padding "
                                        r"mask of layer 0 .* where the spec does"):
        framework("tf").impl.to_reference(native)


@pytest.mark.parametrize("graph", [False, True], ids=["Sequential", "Model"])
def test_torch_reads_a_vector_reshaped_to_an_image_as_a_feature_map(graph) -> None:
    """Dense → Reshape((2, 2, 2)) → Softmax: torch's Reshape gives the image channels-first,
    but the layout rules (``reference.layouts.contexts``, ``graphs.feature_maps``) called
    it a feature map only from a feature map, so the Softmax took torch's last axis, the
    width (0.33 to 0.39 off, a Conv2D after it too). The graph's layout check of this
    branch then refused the variational autoencoder's Dense → Reshape → Conv2DTranspose."""
    torch, impl = framework("torch").torch, framework("torch").impl
    layers = [L.Dense(4, 8, name="dense"), L.Reshape((2, 2, 2), name="reshape"),
              L.Softmax(name="softmax"), C.Conv2D(2, 2, 1, name="conv")]
    if graph:
        x = reference.Input((4,), name="x")
        h = x
        for layer in layers:
            h = layer(h)
        model = reference.Model(x, h, seed=0)
    else:
        model = reference.Sequential(layers, input_shape=(4,), seed=0)
    _randomize(model, np.random.default_rng(0))
    data = np.random.default_rng(1).standard_normal((3, 4))
    got = impl.convolution.channels_last(impl.from_reference(model)(torch.from_numpy(data)))
    _close(got.detach().numpy(), model.forward(data), np.float64, "output", "torch")
