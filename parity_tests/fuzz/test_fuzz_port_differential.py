"""Differential fuzz of the port (issue 25): random but realistic Keras models, built from
the kinds ``porting.supported()`` lists with random options and random weights, ported to
torch; the code a user receives (model.py and weights.pt, loaded apart from the port) must
compute Keras's outputs on a new batch (another batch size, another length where the model
takes any), in float32 and float64, or the port must refuse the model by name. A port
whose report says ok must agree, and one that agrees must not say it parts."""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from parity_tests.fuzz.oracle import outcome
from parity_tests.tolerances import tolerance

ACTIVATIONS = ("linear", "relu", "tanh", "sigmoid", "elu", "softplus", "silu", "gelu",
               "softmax", "leaky_relu", "exponential", "selu", "hard_sigmoid", "relu6",
               "mish", "softsign", "log_softmax")


def _pick(rng: np.random.Generator, options: Any) -> Any:
    return options[int(rng.integers(len(options)))]


def _activation(rng: np.random.Generator) -> str:
    return _pick(rng, ACTIVATIONS[:10]) if rng.random() < 0.9 else _pick(rng, ACTIVATIONS)


@dataclass
class Drawn:
    """A generated model: how it was drawn (for a failure's message) and its inputs."""

    model: Any
    recipe: list[str] = field(default_factory=list)
    lengths_free: bool = False  # a sequence input of any length


def _layer_any(keras, rng: np.random.Generator, dt: str, rank: int) -> Any:
    """A layer for a tensor of any rank (batch axis included in ``rank``)."""
    L = keras.layers
    choice = _pick(rng, ["dense", "dropout", "bn", "ln", "act", "relu", "leaky", "softmax",
                         "rescale", "norm"])
    if choice == "dense":
        return L.Dense(int(rng.integers(1, 6)), activation=_activation(rng) if rng.random() < 0.6
                       else None, use_bias=bool(rng.random() < 0.8), dtype=dt)
    if choice == "dropout":
        return L.Dropout(float(rng.uniform(0, 0.9)), dtype=dt)
    if choice == "bn":
        return L.BatchNormalization(axis=-1 if rng.random() < 0.8 else int(rng.integers(1, rank)),
                                    epsilon=_pick(rng, [1e-3, 1e-5, 0.1]),
                                    center=bool(rng.random() < 0.8),
                                    scale=bool(rng.random() < 0.8), dtype=dt)
    if choice == "ln":
        axis = -1 if rng.random() < 0.7 else _pick(rng, [list(range(1, rank)),
                                                         int(rng.integers(1, rank))])
        return L.LayerNormalization(axis=axis, epsilon=_pick(rng, [1e-3, 1e-6, 0.5]),
                                    center=bool(rng.random() < 0.8),
                                    scale=bool(rng.random() < 0.8), dtype=dt)
    if choice == "act":
        return L.Activation(_activation(rng), dtype=dt)
    if choice == "relu":
        return L.ReLU(max_value=_pick(rng, [None, 6.0, 1.0]),
                      negative_slope=_pick(rng, [0.0, 0.0, 0.1]),
                      threshold=_pick(rng, [0.0, 0.0, 0.5]), dtype=dt)
    if choice == "leaky":
        return L.LeakyReLU(negative_slope=_pick(rng, [0.3, 0.01, 0.2, 0.5]), dtype=dt)
    if choice == "softmax":
        return L.Softmax(axis=-1 if rng.random() < 0.8 else int(rng.integers(1, rank)), dtype=dt)
    if choice == "rescale":
        return L.Rescaling(float(rng.uniform(-2, 2)), offset=float(rng.uniform(-1, 1)), dtype=dt)
    return "norm"  # Normalization: its mean and variance need the feature count


def _layer_vector(keras, rng, dt, shape) -> Any:
    L = keras.layers
    features = shape[-1]
    choice = _pick(rng, ["reshape_seq", "reshape_img", "any", "any", "any"])
    if choice == "reshape_seq":
        divisors = [d for d in range(1, features + 1) if features % d == 0]
        d = _pick(rng, divisors)
        return L.Reshape((features // d, d), dtype=dt)
    if choice == "reshape_img":
        divisors = [d for d in range(1, features + 1) if features % d == 0]
        c = _pick(rng, divisors)
        rest = features // c
        h = _pick(rng, [d for d in range(1, rest + 1) if rest % d == 0])
        return L.Reshape((h, rest // h, c), dtype=dt)
    return _layer_any(keras, rng, dt, 2)


def _layer_sequence(keras, rng, dt, shape) -> Any:
    L = keras.layers
    choice = _pick(rng, ["conv1d", "conv1d", "rnn", "rnn", "bidi", "mha", "gap1d", "flatten",
                         "permute", "reshape", "timedist", "any", "any"])
    if choice == "conv1d":
        padding = _pick(rng, ["valid", "same", "same", "valid", "causal"])
        strides = int(_pick(rng, [1, 1, 2, 3]))
        dilation = int(_pick(rng, [1, 1, 2])) if strides == 1 else 1
        return L.Conv1D(int(rng.integers(1, 5)), int(rng.integers(1, 4)), strides=strides,
                        padding=padding, dilation_rate=dilation,
                        activation=_activation(rng) if rng.random() < 0.5 else None,
                        use_bias=bool(rng.random() < 0.8), dtype=dt)
    if choice in ("rnn", "bidi"):
        kind = _pick(rng, ["LSTM", "GRU", "SimpleRNN"])
        options: dict[str, Any] = {"return_sequences": bool(rng.random() < 0.5),
                                   "use_bias": bool(rng.random() < 0.95), "dtype": dt}
        odd = rng.random() < 0.15  # an option the spec's recurrent layers may not have
        if odd:
            option = _pick(rng, ["go_backwards", "activation", "reset_after",
                                 "recurrent_activation", "unit_forget_bias"])
            options[option] = {"go_backwards": True, "reset_after": False,
                               "unit_forget_bias": False,
                               "activation": _pick(rng, ["relu", "sigmoid", "linear"]),
                               "recurrent_activation": "hard_sigmoid"}[option]
            takes = {"reset_after": kind == "GRU", "recurrent_activation": kind != "SimpleRNN",
                     "unit_forget_bias": kind == "LSTM"}
            if not takes.get(option, True):
                del options[option]
        layer = getattr(L, kind)(int(rng.integers(1, 5)), **options)
        if choice == "bidi":
            return L.Bidirectional(layer, merge_mode=_pick(rng, ["concat", "sum", "mul", "ave"]),
                                   dtype=dt)
        return layer
    if choice == "mha":
        odd = rng.random() < 0.15
        return ("mha", L.MultiHeadAttention(int(rng.integers(1, 3)), int(rng.integers(1, 4)),
                                            value_dim=_pick(rng, [None, 2]) if odd else None,
                                            use_bias=bool(rng.random() < 0.8) if odd else True,
                                            output_shape=_pick(rng, [None, 3]) if odd else None,
                                            dtype=dt))
    if choice == "gap1d":
        return L.GlobalAveragePooling1D(keepdims=bool(rng.random() < 0.2), dtype=dt)
    if choice == "flatten":
        return L.Flatten(dtype=dt)
    if choice == "permute":
        return L.Permute((2, 1), dtype=dt)
    if choice == "reshape":
        if shape[0] is None:
            return L.Reshape((-1, shape[-1]), dtype=dt)
        return L.Reshape((shape[0] * shape[1],), dtype=dt) if rng.random() < 0.5 else \
            L.Reshape((shape[1], shape[0]), dtype=dt)
    if choice == "timedist":
        return L.TimeDistributed(L.Dense(int(rng.integers(1, 5)),
                                         activation=_pick(rng, [None, "relu", "tanh"]),
                                         dtype=dt), dtype=dt)
    return _layer_any(keras, rng, dt, 3)


def _layer_image(keras, rng, dt, shape) -> Any:
    L = keras.layers
    choice = _pick(rng, ["conv", "conv", "depthwise", "separable", "transpose", "maxpool",
                         "avgpool", "gap", "gmp", "zeropad", "crop", "upsample", "flatten",
                         "reshape", "permute", "any", "any"])
    padding = _pick(rng, ["valid", "same"])
    strides = int(_pick(rng, [1, 1, 2, 3]))
    kernel = (int(rng.integers(1, 4)), int(rng.integers(1, 4))) if rng.random() < 0.3 else \
        int(rng.integers(1, 5))
    activation = _activation(rng) if rng.random() < 0.5 else None
    bias = bool(rng.random() < 0.8)
    dilation = int(_pick(rng, [1, 1, 2])) if strides == 1 else 1
    if choice == "conv":
        return L.Conv2D(int(rng.integers(1, 5)), kernel, strides=strides, padding=padding,
                        dilation_rate=dilation, activation=activation, use_bias=bias,
                        groups=_pick(rng, [1] * 9 + [shape[-1]]), dtype=dt)
    if choice == "depthwise":
        return L.DepthwiseConv2D(kernel, strides=strides, padding=padding,
                                 depth_multiplier=int(rng.integers(1, 3)),
                                 dilation_rate=dilation, activation=activation, use_bias=bias,
                                 dtype=dt)
    if choice == "separable":
        return L.SeparableConv2D(int(rng.integers(1, 5)), kernel, strides=strides,
                                 padding=padding, depth_multiplier=int(rng.integers(1, 3)),
                                 dilation_rate=dilation, activation=activation, use_bias=bias,
                                 dtype=dt)
    if choice == "transpose":
        return L.Conv2DTranspose(int(rng.integers(1, 5)), kernel, strides=strides,
                                 padding=padding, activation=activation,
                                 use_bias=bool(rng.random() < 0.95), dtype=dt)
    if choice in ("maxpool", "avgpool"):
        cls = L.MaxPooling2D if choice == "maxpool" else L.AveragePooling2D
        return cls(int(rng.integers(1, 4)), strides=_pick(rng, [None, 1, 2, 3]),
                   padding=padding, dtype=dt)
    if choice in ("gap", "gmp"):
        cls = L.GlobalAveragePooling2D if choice == "gap" else L.GlobalMaxPooling2D
        return cls(keepdims=bool(rng.random() < 0.25), dtype=dt)
    if choice == "zeropad":
        return L.ZeroPadding2D(_pick(rng, [1, (1, 2), ((0, 1), (2, 1))]), dtype=dt)
    if choice == "crop":
        return L.Cropping2D(_pick(rng, [1, (1, 0), ((0, 1), (1, 0))]), dtype=dt)
    if choice == "upsample":
        return L.UpSampling2D(_pick(rng, [2, (1, 2), (3, 2)]),
                              interpolation=_pick(rng, ["nearest", "bilinear"]), dtype=dt)
    if choice == "flatten":
        return L.Flatten(dtype=dt)
    if choice == "reshape":
        h, w, c = shape
        return _pick(rng, [L.Reshape((h * w, c), dtype=dt), L.Reshape((h, w * c), dtype=dt),
                           L.Reshape((w, h, c), dtype=dt)])
    if choice == "permute":
        return L.Permute(tuple(int(a) for a in 1 + rng.permutation(3)), dtype=dt)
    return _layer_any(keras, rng, dt, 4)


def _apply(keras, rng, dt, x) -> tuple[Any, str]:
    """One random layer applied to the symbolic tensor ``x``: its output and its text;
    Keras's own refusal propagates (the caller draws again)."""
    shape = tuple(x.shape[1:])
    layer = (_layer_vector, _layer_sequence, _layer_image)[len(shape) - 1](keras, rng, dt,
                                                                            shape)
    if layer == "norm":
        features = shape[-1]
        layer = keras.layers.Normalization(mean=rng.standard_normal(features),
                                           variance=rng.uniform(0.5, 2, features), dtype=dt)
    if isinstance(layer, tuple):  # self-attention: query, value (and key) the same tensor
        layer = layer[1]
        return layer(x, x), f"{type(layer).__name__}({layer.get_config()})"
    return layer(x), f"{type(layer).__name__}({_short(layer.get_config())})"


def _short(config: dict) -> dict:
    skip = {"name", "trainable", "dtype", "kernel_initializer", "bias_initializer",
            "kernel_regularizer", "bias_regularizer", "activity_regularizer",
            "kernel_constraint", "bias_constraint", "beta_initializer", "gamma_initializer",
            "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer",
            "gamma_regularizer", "beta_constraint", "gamma_constraint", "recurrent_initializer",
            "recurrent_regularizer", "recurrent_constraint", "depthwise_initializer",
            "pointwise_initializer", "depthwise_regularizer", "pointwise_regularizer",
            "depthwise_constraint", "pointwise_constraint", "embeddings_initializer",
            "embeddings_regularizer", "embeddings_constraint", "seed", "lora_rank",
            "lora_alpha", "synchronized", "renorm", "renorm_clipping", "renorm_momentum"}
    return {k: _short(v) if isinstance(v, dict) else v for k, v in config.items()
            if k not in skip}


def _chain(keras, rng, dt, x, steps: int, recipe: list[str]) -> Any:
    for _ in range(steps):
        if rng.random() < 0.08:  # a nested model of a step or two
            inner_input = keras.Input(tuple(x.shape[1:]), dtype=x.dtype)
            inner: list[str] = []
            y = _chain(keras, rng, dt, inner_input, int(rng.integers(1, 3)), inner)
            if y is not inner_input:
                x = keras.Model(inner_input, y)(x)
                recipe.append(f"nested model [{'; '.join(inner)}]")
                continue
        for _try in range(8):
            try:
                y, text = _apply(keras, rng, dt, x)
            except Exception:  # Keras refused the draw: draw again
                continue
            if any(n == 0 for n in y.shape[1:] if n is not None) or \
                    math.prod(n or 8 for n in y.shape[1:]) > 4096:
                continue
            recipe.append(text)
            x = y
            break
    return x


def _input(keras, rng, dt, recipe: list[str]) -> tuple[Any, Any, bool]:
    """A Keras input and the first tensor: a vector, a sequence (maybe of any length,
    maybe indices through an Embedding) or an image."""
    kind = _pick(rng, ["vector", "sequence", "sequence", "image", "image", "embedding"])
    free = False
    if kind == "vector":
        inp = keras.Input((int(rng.integers(1, 9)),), dtype=dt)
    elif kind == "sequence":
        free = bool(rng.random() < 0.4)
        inp = keras.Input((None if free else int(rng.integers(1, 8)), int(rng.integers(1, 5))),
                          dtype=dt)
    elif kind == "image":
        inp = keras.Input((int(rng.integers(3, 9)), int(rng.integers(3, 9)),
                           int(rng.integers(1, 4))), dtype=dt)
    else:
        free = bool(rng.random() < 0.4)
        inp = keras.Input((None if free else int(rng.integers(1, 8)),), dtype="int32")
        recipe.append(f"Input{tuple(inp.shape)} {inp.dtype}")
        embedding = keras.layers.Embedding(int(rng.integers(2, 12)), int(rng.integers(1, 5)),
                                           mask_zero=bool(rng.random() < 0.15), dtype=dt)
        recipe.append(f"Embedding({_short(embedding.get_config())})")
        return inp, embedding(inp), free
    recipe.append(f"Input{tuple(inp.shape)} {inp.dtype}")
    return inp, inp, free


MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Concatenate")


def generate(keras, seed: int, dt: str = "float32") -> Drawn | None:
    """A random Keras model from ``seed``, or None where Keras refused what was drawn."""
    rng = np.random.default_rng(seed)
    recipe: list[str] = []
    graph = rng.random() < 0.4
    try:
        inp, x, free = _input(keras, rng, dt, recipe)
        inputs = [inp]
        if not graph:
            x = _chain(keras, rng, dt, x, int(rng.integers(1, 6)), recipe)
            if x is inp:
                return None
            if rng.random() < 0.5:  # the same chain as a Sequential
                layers = []
                model = keras.Model(inp, x)
                for layer in model.layers[1:]:
                    layers.append(layer.__class__.from_config(layer.get_config()))
                model = keras.Sequential([keras.Input(tuple(inp.shape[1:]), dtype=inp.dtype),
                                          *layers])
                recipe.insert(0, "Sequential")
            else:
                model = keras.Model(inp, x)
            return Drawn(model, recipe, free)
        trunk = _chain(keras, rng, dt, x, int(rng.integers(0, 3)), recipe)
        recipe.append("-- fan-out")
        if rng.random() < 0.15:  # one layer called on both branches, its weights shared
            shared = keras.layers.Dense(int(rng.integers(1, 5)), dtype=dt)
            a = shared(trunk)
            b = shared(keras.layers.Activation("tanh", dtype=dt)(trunk))
            recipe.append(f"-- shared Dense({shared.units}) on the trunk and on tanh(trunk)")
        else:
            a = _chain(keras, rng, dt, trunk, int(rng.integers(0, 3)), recipe)
            recipe.append("-- branch 2")
            for _try in range(6):  # mostly a branch of the first's shape: a merge takes it
                steps: list[str] = []
                b = _chain(keras, rng, dt, trunk, int(rng.integers(0, 3)), steps)
                if tuple(b.shape) == tuple(a.shape) or rng.random() < 0.1:
                    break
            recipe += steps
        if rng.random() < 0.3 and not free:  # a second input, into branch b
            second = keras.Input(tuple(b.shape[1:]), dtype=dt)
            inputs.append(second)
            recipe.append(f"-- second input {tuple(second.shape)}")
            b = _pick(rng, [keras.layers.Add, keras.layers.Multiply])(dtype=dt)([b, second])
        merge = _pick(rng, MERGES)
        options = {"axis": int(_pick(rng, [-1, 1]))} if merge == "Concatenate" else {}
        recipe.append(f"-- {merge}{options}")
        merged = getattr(keras.layers, merge)(dtype=dt, **options)([a, b])
        merged = _chain(keras, rng, dt, merged, int(rng.integers(0, 3)), recipe)
        outputs = [merged] + ([a] if rng.random() < 0.3 and a is not trunk else [])
        if len(outputs) > 1:
            recipe.append("-- second output: branch 1")
        if len(inputs) > 1 and rng.random() < 0.5:
            inputs.reverse()
            recipe.append("-- inputs in reverse order")
        if len(outputs) > 1 and rng.random() < 0.5:
            outputs.reverse()
            recipe.append("-- outputs in reverse order")
        return Drawn(keras.Model(inputs if len(inputs) > 1 else inp, outputs if len(outputs) > 1
                                 else merged), recipe, free)
    except Exception:  # Keras refused the draw
        return None


def randomize(keras, model, rng: np.random.Generator) -> None:
    """Random weights: biases and BatchNorm statistics away from the initialisers' zeros
    and ones, so that a wrong bias, order or statistic shows; variances positive."""
    for layer in model.layers:
        weights = layer.weights
        if not weights:
            continue
        values = []
        for w in weights:
            shape, name = tuple(w.shape), w.path
            if "variance" in name:
                values.append(rng.uniform(0.5, 2.0, shape))
            elif name.endswith("count"):
                values.append(keras.ops.convert_to_numpy(w))
            elif "embeddings" in name:
                values.append(rng.standard_normal(shape))
            elif len(shape) >= 2:
                values.append(rng.standard_normal(shape) / np.sqrt(np.prod(shape[:-1])))
            else:
                values.append(rng.standard_normal(shape) * 0.5)
        layer.set_weights([v.astype(keras.ops.convert_to_numpy(w).dtype)
                           for v, w in zip(values, weights, strict=True)])
        if hasattr(layer, "finalize_state"):
            layer.finalize_state()


def batch(keras, model, rng: np.random.Generator, rows: int, length: int | None) -> list:
    """A batch for each input of ``model``: ``rows`` samples, a free length ``length``."""
    found = []
    for tensor in model.inputs:
        shape = (rows, *(length if n is None else n for n in tensor.shape[1:]))
        if "int" in str(tensor.dtype):
            table = next(layer.input_dim for layer in model.layers
                         if isinstance(layer, keras.layers.Embedding))
            found.append(rng.integers(0, table, shape).astype(np.int32))
        else:
            found.append(rng.standard_normal(shape).astype(str(tensor.dtype)))
    return found


def load_saved(folder: Path, name: str) -> Any:
    """The saved port as a user loads it: model.py imported, weights.pt read."""
    import torch

    spec = importlib.util.spec_from_file_location(name, folder / "model.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    net = module.Net()
    net.load_state_dict(torch.load(folder / "weights.pt", weights_only=True))
    return net.eval()


def run_torch(net, xs: list) -> list[np.ndarray]:
    import torch

    with torch.no_grad():
        out = net(*(torch.from_numpy(np.ascontiguousarray(x)) for x in xs))
    return [o.numpy() for o in (out if isinstance(out, list | tuple) else [out])]


def run_keras(keras, model, xs: list) -> list[np.ndarray]:
    out = model(xs if len(xs) > 1 else xs[0], training=False)
    return [keras.ops.convert_to_numpy(o) for o in (out if isinstance(out, list | tuple)
                                                    else [out])]


def parts(actual: list, expected: list, dtype: str) -> str:
    """Why the outputs part ("" where they agree)."""
    tol = tolerance(dtype, "output")
    if len(actual) != len(expected):
        return f"{len(actual)} outputs, Keras {len(expected)}"
    for k, (a, e) in enumerate(zip(actual, expected, strict=True)):
        if a.shape != e.shape:
            return f"output {k}: shape {a.shape}, Keras {e.shape}"
        if not np.array_equal(np.isnan(a), np.isnan(e)):
            return f"output {k}: NaN where Keras has none, or none where it has"
        finite = np.isfinite(e)
        error = tol.error(a[finite], e[finite])
        if error > tol.rtol:
            return f"output {k}: error {error:.3g} > {tol.rtol} (max |Δ| " \
                   f"{np.max(np.abs(a[finite] - e[finite])):.3g})"
    return ""


# -- the corpus: fixed seeds --------------------------------------------------------------------

# Seeds of generate() (float64 where seed % 3 == 0) drawing, together, every kind that
# porting.supported() lists, nested models, two inputs or outputs (in reverse order too), a
# sequence of any length; the last three draw models the port refuses (a LayerNormalization
# over axis [1], a ReLU with a slope and a ceiling, a layer called twice).
SEEDS = (112, 1125, 825, 822, 898, 476, 478, 283, 1046, 563, 1093, 261, 1088, 146, 606, 907,
         102, 164, 483, 743, 2, 105, 168)


def _dtype(seed: int) -> str:
    return "float64" if seed % 3 == 0 else "float32"


def _kinds(keras, model) -> set[str]:
    found = set()
    for layer in model.layers:
        found.add(type(layer).__name__)
        if isinstance(layer, keras.Model):
            found |= _kinds(keras, layer)
        if isinstance(getattr(layer, "layer", None), keras.Layer):  # a wrapper's
            found.add(type(layer.layer).__name__)
    return found


def test_the_seeds_draw_every_kind_the_port_lists(keras) -> None:
    from nn_rosetta import porting

    listed = {re.match(r"keras\.layers\.(\w+)", kind)[1] for kind in porting.supported()}
    drawn = set().union(*(_kinds(keras, generate(keras, seed, _dtype(seed)).model)
                          for seed in SEEDS))
    assert listed <= drawn, sorted(listed - drawn)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_drawn_model_ports_to_keras_numbers_or_is_refused_by_name(keras, tmp_path,
                                                                   seed) -> None:
    """The saved port, loaded as a user loads it, computes Keras's outputs on a new batch
    (another batch size; another length where the model takes any), and its report says
    ok; or the port refuses the model, naming itself."""
    from nn_rosetta import porting

    dtype = _dtype(seed)
    drawn = generate(keras, seed, dtype)
    rng = np.random.default_rng(seed + 10**6)
    randomize(keras, drawn.model, rng)
    example = batch(keras, drawn.model, rng, 4, 5)
    done = outcome(lambda: porting.port(drawn.model, example if len(example) > 1
                                        else example[0]), "port")
    if done.error is not None:
        return
    done.value.save(tmp_path / "out")
    net = load_saved(tmp_path / "out", f"ported_{seed}")
    xs = batch(keras, drawn.model, rng, 3, 7 if drawn.lengths_free else 5)
    why = parts(run_torch(net, xs), run_keras(keras, drawn.model, xs), dtype)
    assert why == "" and done.value.report.ok, (why, drawn.recipe)


@pytest.mark.parametrize("seed", [898, 102, 825])  # a Sequential; two inputs (.npz); float64
def test_a_drawn_model_saved_ports_through_the_command_line(keras, tmp_path, capsys,
                                                            seed) -> None:
    """`nn-rosetta port m.keras out --input x`: the model read back from the file (which
    Keras may round: a float64 Normalization's statistics go through float32) and the
    written port compute the same outputs."""
    from nn_rosetta import cli

    dtype = _dtype(seed)
    drawn = generate(keras, seed, dtype)
    rng = np.random.default_rng(seed + 10**6)
    randomize(keras, drawn.model, rng)
    drawn.model.save(tmp_path / "m.keras")
    example = batch(keras, drawn.model, rng, 4, 5)
    if len(example) > 1:
        given = tmp_path / "x.npz"
        names = [entry[0] for entry in drawn.model.get_config()["input_layers"]]
        np.savez(given, **dict(zip(names, example, strict=True)))
    else:
        given = tmp_path / "x.npy"
        np.save(given, example[0])
    assert cli.main(["port", str(tmp_path / "m.keras"), str(tmp_path / "out"),
                     "--input", str(given)]) == 0, capsys.readouterr().err
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    xs = batch(keras, drawn.model, rng, 3, 7 if drawn.lengths_free else 5)
    net = load_saved(tmp_path / "out", f"cli_{seed}")
    assert parts(run_torch(net, xs), run_keras(keras, loaded, xs), dtype) == ""


# -- regressions: one claim each, each failing before its fix ---------------------------------

def _port_and_compare(keras, model, xs: list, dtype: str = "float32") -> str:
    """Why the ported module (as saved and loaded) parts from Keras on ``xs`` ("" if not)."""
    from nn_rosetta import porting

    ported = porting.port(model, xs if len(xs) > 1 else xs[0])
    return parts(run_torch(ported.module, xs), run_keras(keras, model, xs), dtype)


@pytest.mark.parametrize("graph", [False, True])
def test_a_softmax_inside_a_convolution_is_over_the_channels(keras, graph) -> None:
    """Keras's softmax acts on the last axis, the channels; the port wrote dim=-1 on
    torch's channels-first map, a softmax over the width (the report said PARTS)."""
    L = keras.layers
    inp = keras.Input((4, 5, 2))
    y = L.Conv2D(3, 3, padding="same", activation="softmax")(inp)
    model = keras.Model(inp, [y, L.Conv1D(2, 1, activation="softmax")(L.Reshape((20, 2))(inp))]
                        if graph else y)
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 2)).astype(np.float32)
    assert _port_and_compare(keras, model, [x]) == ""


@pytest.mark.parametrize("graph", [False, True])
def test_a_float64_leaky_relu_layer_keeps_tfs_float32_slope(keras, graph) -> None:
    """TF's float64 LeakyRelu kernel holds its slope in float32; the port copied that
    for an activation joined to a layer, not for a LeakyReLU layer alone (2e-8 apart)."""
    L = keras.layers
    inp = keras.Input((3,), dtype="float64")
    y = L.LeakyReLU(0.3, dtype="float64")(inp)
    model = keras.Model(inp, [y, L.LeakyReLU(0.2, dtype="float64")(inp)] if graph else y)
    x = np.random.default_rng(1).standard_normal((4, 3))
    assert _port_and_compare(keras, model, [x], "float64") == ""


def test_a_float64_normalization_given_lists_keeps_their_float32_rounding(keras) -> None:
    """Keras converts statistics given as Python lists (as a .keras file and from_config
    give them) through float32, even in a float64 layer; the port read the exact numbers
    of the config (1e-7 from Keras, report PARTS)."""
    model = keras.Sequential([keras.Input((2,), dtype="float64"), keras.layers.Normalization(
        mean=[0.3, 1.7], variance=[0.7, 1.3], dtype="float64")])
    x = np.random.default_rng(2).standard_normal((3, 2))
    assert _port_and_compare(keras, model, [x], "float64") == ""


def test_a_bilinear_upsampling_ports_ok_naming_tfs_float32_resize(keras) -> None:
    """TF's ResizeBilinear returns float32 even for float64 data, so the float64 copies
    part by 1e-7; the report said the port parts, with no note, where the port is right."""
    from nn_rosetta import porting

    model = keras.Sequential([keras.Input((3, 4, 2)),
                              keras.layers.UpSampling2D(2, interpolation="bilinear")])
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 2)).astype(np.float32)
    report = porting.port(model, x).report
    assert report.ok and "TF's bilinear resize computes in float32" in report.other_dtype[0].note


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_dense_without_bias_on_a_sequence_ports(keras, wrapped) -> None:
    """A Dense on a sequence is the spec's TimeDistributed, which always had a bias: the
    port of one with use_bias=False stopped on an AttributeError (None.numpy)."""
    L = keras.layers
    dense = L.Dense(4, use_bias=False)
    model = keras.Sequential([keras.Input((5, 3)), L.TimeDistributed(dense) if wrapped
                              else dense])
    x = np.random.default_rng(4).standard_normal((2, 5, 3)).astype(np.float32)
    assert _port_and_compare(keras, model, [x]) == ""


@pytest.mark.parametrize("before", ["Conv1D", "LayerNormalization", "MultiHeadAttention"])
def test_a_dense_after_any_layer_of_a_sequence_ports_in_a_chain(keras, before) -> None:
    """Keras's Dense acts at every step of a sequence after any layer; a chain wrapped it
    in the spec's TimeDistributed only first or after a recurrent layer or Embedding, and
    refused it after others ('expects 3 input features, got (5, 3)'), where a graph
    ported it."""
    L = keras.layers
    inp = keras.Input((5, 3))
    h = L.MultiHeadAttention(1, 3)(inp, inp) if before == "MultiHeadAttention" else \
        getattr(L, before)(*((3, 1) if before == "Conv1D" else ()))(inp)
    model = keras.Model(inp, L.Dense(4)(h))
    x = np.random.default_rng(5).standard_normal((2, 5, 3)).astype(np.float32)
    assert _port_and_compare(keras, model, [x]) == ""


def _with_operation(keras, operation: str, h: Any) -> Any:
    ops = keras.ops
    return {"softmax": lambda: ops.softmax(h, axis=0), "plus one": lambda: ops.add(h, 1.0),
            "relu then Dense": lambda: keras.layers.Dense(2)(ops.relu(h))}[operation]()


@pytest.mark.parametrize("entry", ["port", "to_reference"])
@pytest.mark.parametrize("operation", ["softmax", "plus one", "relu then Dense"])
def test_a_keras_ops_call_in_a_functional_model_is_refused_by_name(keras, entry,
                                                                   operation) -> None:
    """keras.ops on a symbolic tensor is an operation of the model, not a layer: the
    readers passed over it (to_reference's spec, and the port's module, left out a
    softmax or a ReLU) or stopped on "'float' object is not subscriptable" (x + 1)."""
    import tf_impl
    from nn_rosetta import porting

    inp = keras.Input((3,), name="x")
    model = keras.Model(inp, _with_operation(keras, operation, keras.layers.Dense(4)(inp)))
    call = porting.port if entry == "port" else tf_impl.to_reference
    with pytest.raises(TypeError, match=rf"^{entry}: model '\w+' computes '\w+' \(keras\.ops, "
                                        r"\w+\) outside any layer"):
        call(model)


def test_an_embeddings_mask_in_a_functional_model_is_refused_naming_mask_zero(keras) -> None:
    """Keras makes mask_zero's mask with a keras.ops NotEqual on the input, which the
    graph reader stopped on ("'int' object is not subscriptable")."""
    from nn_rosetta import porting

    inp = keras.Input((6,), dtype="int32")
    h = keras.layers.Embedding(8, 3, mask_zero=True, name="words")(inp)
    model = keras.Model(inp, keras.layers.GRU(2)(h))
    with pytest.raises(TypeError, match=r"^port: .*of 'words' \(mask_zero=True\).* it ports "
                                        "without mask_zero"):
        porting.port(model)


def test_a_reshape_to_none_reads_as_minus_one(keras) -> None:
    """Keras takes None in a Reshape's target as -1; the reader stopped on "int()
    argument must be … not 'NoneType'"."""
    model = keras.Sequential([keras.Input((4, 3)), keras.layers.Reshape((None, 2))])
    x = np.random.default_rng(6).standard_normal((2, 4, 3)).astype(np.float32)
    assert _port_and_compare(keras, model, [x]) == ""


@pytest.mark.parametrize("activation", ["ReLU", "LeakyReLU", "Activation"])
def test_a_graph_output_from_an_activation_layer_joined_to_its_layer_ports(keras,
                                                                          activation) -> None:
    """The reader joins an activation layer to the layer before it, one spec layer named
    after that one; the graph port looked the output up by the activation's name
    (KeyError 're_lu')."""
    L = keras.layers
    inp = keras.Input((4, 3))
    made = getattr(L, activation)(*(("relu",) if activation == "Activation" else ()))
    model = keras.Model(inp, [made(L.Conv1D(3, 1)(inp)), L.Dense(2)(inp)])
    x = np.random.default_rng(7).standard_normal((2, 4, 3)).astype(np.float32)
    assert _port_and_compare(keras, model, [x]) == ""


def test_a_nested_models_float64_normalization_keeps_its_exact_statistics(keras) -> None:
    """Inlining a nested model copies its layers from their config, where a
    Normalization's float64 statistics become lists, read back through float32: the
    port matched that copy, its report ok, and parted from the model by 1e-8."""
    L = keras.layers
    inner_input = keras.Input((3,), dtype="float64")
    inner = keras.Model(inner_input, L.Normalization(
        mean=np.array([0.1, 0.2, 0.3]), variance=np.array([0.7, 1.1, 1.3]),
        dtype="float64")(inner_input))
    inp = keras.Input((3,), dtype="float64")
    model = keras.Model(inp, L.Dense(2, dtype="float64")(inner(inp)))
    x = np.random.default_rng(8).standard_normal((2, 3))
    assert _port_and_compare(keras, model, [x], "float64") == ""


@pytest.mark.filterwarnings("ignore:Layer .* was passed an input with a mask")  # Keras's
def test_a_mask_into_a_nested_model_of_a_sequential_is_refused_naming_mask_zero(keras) -> None:
    """Inlining a nested model reads the Sequential's wiring, where Keras adds mask_zero's
    NotEqual: the port stopped on "No such layer: not_equal" (no entry point named)."""
    L = keras.layers
    inner_input = keras.Input((6, 3))
    inner = keras.Model(inner_input, L.GRU(2)(inner_input))
    model = keras.Sequential([keras.Input((6,), dtype="int32"),
                              L.Embedding(8, 3, mask_zero=True, name="words"), inner])
    from nn_rosetta import porting

    with pytest.raises(TypeError, match=r"^port: .*of 'words' \(mask_zero=True\)"):
        porting.port(model)


def test_a_separable_convolution_in_a_graph_ports(keras) -> None:
    """torch builds a SeparableConv2D as an nn.Sequential of two convolutions, which the
    graph port took for a group wrapper and renamed its weights: load_state_dict failed
    (missing 'separable_conv2d.0.weight')."""
    L = keras.layers
    inp = keras.Input((7, 7, 2))
    model = keras.Model(inp, L.SeparableConv2D(3, 3)(L.Add()([inp, L.ReLU()(inp)])))
    x = np.random.default_rng(9).standard_normal((2, 7, 7, 2)).astype(np.float32)
    assert _port_and_compare(keras, model, [x]) == ""


@pytest.mark.parametrize("options", [{"negative_slope": 0.1}, {"max_value": 6.1}])
def test_a_float64_relu_layer_ports_with_the_constants_keras_computes_with(keras,
                                                                          options) -> None:
    """A float64 Keras ReLU holds its ceiling in float32, and its slope where it has no
    threshold or ceiling (TF's LeakyRelu kernel): the reader took the exact numbers, so
    the port parted from Keras by 1e-8 (report PARTS)."""
    model = keras.Sequential([keras.Input((4,), dtype="float64"),
                              keras.layers.ReLU(dtype="float64", **options)])
    x = np.linspace(-10, 10, 32).reshape(8, 4)  # above the ceiling, below 0
    assert _port_and_compare(keras, model, [x], "float64") == ""
