"""Fuzz (issue 25), the options that landed together: SeparableConv2D(use_bias=False),
keepdims=True on the global poolings, BatchNormalization(scale=False / center=False).

Four families, seeded: spec models drawing them among the other image and conv1d kinds,
through both converters and the three weight files (``check_conversions``); Keras models
(a Sequential and a functional graph, float32 and float64) through the port, the saved
files imported fresh, on a new batch; torch modules a user writes by hand (a BatchNorm
whose weight is frozen at 1 or elsewhere, affine=False, an adaptive pooling followed by
other modules before its Flatten) through ``to_reference``; and training of a
BatchNormalization without γ by the spec, torch and Keras, with weight decay (coupled,
decoupled, AdamW) and each clipping: torch's frozen weight of 1 never moves, the
weights agree. The oracle is ``oracle.py``: the source's numbers, or a clear refusal
naming the entry point. Below, one test per bug found, each failing before its fix.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import reference
from parity_tests.fuzz.oracle import outcome
from parity_tests.fuzz.test_fuzz_conversion_differential import _randomize, check_conversions
from parity_tests.tolerances import tolerance
from reference import convolution as C
from reference import layers as L
from reference import normalization as N


def _pick(rng: np.random.Generator, options: list | tuple):
    return options[int(rng.integers(len(options)))]


# -- spec models through the converters and weight files ------------------------------------

def _batch_norm(rng: np.random.Generator, c: int, dtype) -> N.BatchNormalization:
    scale, center = _pick(rng, ((False, True), (True, False), (False, False), (True, True)))
    return N.BatchNormalization(c, float(rng.choice([0.1, 0.9])), float(rng.choice([1e-5, 0.1])),
                                center=center, scale=scale,
                                convention=_pick(rng, ("torch", "keras")), dtype=dtype)


def spec_model(seed: int) -> reference.Sequential:
    """An image (even seeds: float64) or Conv1D chain with the new options: a separable
    convolution with or without bias, BatchNorms without γ or β, a pooling keeping its
    dims followed by a 1×1 convolution, an activation or a BatchNorm before its Flatten."""
    rng = np.random.default_rng(seed)
    dtype = np.float64 if seed % 2 == 0 else np.float32
    if seed % 3 == 2:  # a Conv1D's (N, L, C)
        c, f = int(rng.integers(1, 4)), int(rng.integers(2, 4))
        keep = bool(rng.random() < 0.6)
        layers = [C.Conv1D(c, f, 2, padding="same", dtype=dtype), _batch_norm(rng, f, dtype),
                  L.ReLU(), C.GlobalAveragePooling1D(keepdims=keep),
                  *([L.Flatten()] if keep else []), L.Dense(f, 2, dtype=dtype)]
        return _finish(reference.Sequential(layers, input_shape=(int(rng.integers(3, 7)), c),
                                            seed=seed), rng)
    c = channels = int(rng.integers(1, 4))
    size = int(rng.integers(4, 7))
    layers: list = []
    for _ in range(int(rng.integers(1, 3))):
        filters = int(rng.integers(1, 4))
        if rng.random() < 0.5:
            layers.append(C.SeparableConv2D(c, filters, int(rng.integers(1, 3)),
                                            depth_multiplier=int(rng.integers(1, 3)),
                                            padding="same", use_bias=bool(rng.random() < 0.4),
                                            dtype=dtype))
        else:
            layers.append(C.Conv2D(c, filters, int(rng.integers(1, 3)), padding="same",
                                   use_bias=bool(rng.random() < 0.4), dtype=dtype))
        layers.append(_batch_norm(rng, filters, dtype))
        # no saturating activation: a max pooling's tied cells split TF's gradient
        layers.append(L.Activation(_pick(rng, ("relu", "elu", "identity"))))
        c = filters
    pool = _pick(rng, (C.GlobalAveragePooling2D, C.GlobalMaxPooling2D))(
        keepdims=bool(rng.random() < 0.7))
    layers.append(pool)
    width = c
    if pool.keepdims:
        after = _pick(rng, ("conv", "bn", "relu", "none"))
        if after == "conv":
            width = int(rng.integers(1, 4))
            layers.append(C.Conv2D(c, width, 1, dtype=dtype))
        elif after == "bn":
            layers.append(_batch_norm(rng, c, dtype))
        elif after == "relu":
            layers.append(L.ReLU())
        layers.append(L.Flatten())
    layers.append(L.Dense(width, 2, dtype=dtype))
    return _finish(reference.Sequential(layers, input_shape=(size, size, channels), seed=seed),
                   rng)


def _finish(model: reference.Sequential, rng: np.random.Generator) -> reference.Sequential:
    _randomize(model, rng)
    return model


SEEDS = [0, 1, 2, 7, 9, 12]  # together every option (checked below); 150 seeds explored


def test_the_seeds_draw_every_new_option() -> None:
    found = set()
    for seed in SEEDS:
        for layer in spec_model(seed).layers:
            if isinstance(layer, N.BatchNormalization):
                found.add(("bn", layer.scale, layer.center))
            if isinstance(layer, C.SeparableConv2D):
                found.add(("separable", layer.use_bias))
            if getattr(layer, "keepdims", False):
                found.add(type(layer).__name__)
    assert {("bn", False, True), ("bn", True, False), ("bn", False, False),
            ("separable", False), "GlobalAveragePooling2D", "GlobalMaxPooling2D",
            "GlobalAveragePooling1D"} <= found, found


@pytest.mark.parametrize("seed", SEEDS)
def test_a_spec_model_with_the_new_options_converts_and_loads_to_its_numbers(seed,
                                                                            tmp_path) -> None:
    check_conversions(spec_model(seed), seed, tmp_path)


# -- Keras models through the port ----------------------------------------------------------

def keras_model(keras, seed: int):
    """A Sequential (even seeds) or a functional graph of two branches, with the options;
    float64 where seed % 3 == 0."""
    Ls = keras.layers
    rng = np.random.default_rng(seed)
    dt = "float64" if seed % 3 == 0 else "float32"

    def norm():
        scale, center = _pick(rng, ((False, True), (True, False), (False, False)))
        return Ls.BatchNormalization(scale=scale, center=center,
                                     epsilon=_pick(rng, [1e-3, 0.1]), dtype=dt)

    def pool(keepdims=True):
        return _pick(rng, (Ls.GlobalAveragePooling2D, Ls.GlobalMaxPooling2D))(
            keepdims=keepdims, dtype=dt)

    def separable():
        return Ls.SeparableConv2D(int(rng.integers(1, 4)), int(rng.integers(1, 4)),
                                  padding=_pick(rng, ("same", "valid")),
                                  depth_multiplier=int(rng.integers(1, 3)), use_bias=False,
                                  dtype=dt)
    size, channels = int(rng.integers(5, 8)), int(rng.integers(1, 4))
    if seed % 5 == 4:  # a Conv1D's sequence
        model = keras.Sequential([
            keras.Input((size, channels), dtype=dt), Ls.Conv1D(3, 2, use_bias=False, dtype=dt),
            norm(), Ls.ReLU(dtype=dt), Ls.GlobalAveragePooling1D(keepdims=True, dtype=dt),
            Ls.Flatten(dtype=dt), Ls.Dense(2, dtype=dt)])
        return model, dt
    if seed % 2 == 0:
        after = _pick(rng, ([Ls.Conv2D(2, 1, dtype=dt)], [norm()], [Ls.ReLU(dtype=dt)], []))
        model = keras.Sequential([keras.Input((size, size, channels), dtype=dt), separable(),
                                  norm(), Ls.Activation("relu", dtype=dt), pool(), *after,
                                  Ls.Flatten(dtype=dt), Ls.Dense(2, dtype=dt)])
        return model, dt
    inp = keras.Input((size, size, channels), dtype=dt)
    width = int(rng.integers(1, 4))
    left = pool()(norm()(Ls.Conv2D(width, 3, padding="same", use_bias=False, dtype=dt)(inp)))
    right = pool()(norm()(Ls.SeparableConv2D(width, 2, padding="same", use_bias=False,
                                             dtype=dt)(inp)))
    merged = Ls.Add(dtype=dt)([left, right])
    outputs = [Ls.Dense(2, dtype=dt)(Ls.Flatten(dtype=dt)(merged))]
    if rng.random() < 0.5:
        outputs.append(Ls.Conv2D(2, 1, dtype=dt)(merged))
    return keras.Model(inp, outputs), dt


KERAS_SEEDS = list(range(6))  # 60 explored


@pytest.mark.parametrize("seed", KERAS_SEEDS)
def test_a_keras_model_with_the_new_options_ports_to_its_numbers(keras, tmp_path,
                                                                 seed) -> None:
    """The saved port, imported fresh, computes Keras's outputs on a new batch, its
    report ok; the spec model read from Keras too."""
    import tf_impl
    from nn_rosetta import porting
    from parity_tests.fuzz import test_fuzz_port_differential as port

    model, dtype = keras_model(keras, seed)
    rng = np.random.default_rng(seed + 10**6)
    port.randomize(keras, model, rng)
    example = port.batch(keras, model, rng, 4, None)
    done = outcome(lambda: porting.port(model, example[0]), "port")
    assert done.error is None, done.error
    done.value.save(tmp_path / "out")
    net = port.load_saved(tmp_path / "out", f"fuzz13_{seed}")
    xs = port.batch(keras, model, rng, 3, None)
    expected = port.run_keras(keras, model, xs)
    assert port.parts(port.run_torch(net, xs), expected, dtype) == ""
    assert done.value.report.ok
    spec = tf_impl.to_reference(model)
    got = spec.forward(xs[0]) if isinstance(spec, reference.Sequential) else spec.forward(xs)
    got = got if isinstance(got, list | tuple) else [got]
    assert port.parts([np.asarray(g) for g in got], expected, dtype) == ""


# -- torch modules written by hand -------------------------------------------------------------

def _frozen_norm(torch, channels: int, weight: float | None, bias: float | None):
    norm = torch.nn.BatchNorm2d(channels, dtype=torch.float64)
    with torch.no_grad():
        norm.running_mean.uniform_(-1, 1)
        norm.running_var.uniform_(0.5, 2)
        norm.bias.uniform_(-1, 1)
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None:
            with torch.no_grad():
                getattr(norm, name).fill_(value)
            getattr(norm, name).requires_grad_(False)
    return norm


HAND_WRITTEN = {
    "BatchNorm2d, weight frozen at 1": lambda torch, nn: [
        _frozen_norm(torch, 3, 1.0, None), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()],
    "BatchNorm2d, weight 1 and bias 0 frozen": lambda torch, nn: [
        _frozen_norm(torch, 3, 1.0, 0.0), nn.AdaptiveMaxPool2d(1), nn.Flatten()],
    "AdaptiveAvgPool2d(1), a 1×1 Conv2d, then Flatten": lambda torch, nn: [
        nn.AdaptiveAvgPool2d(1), nn.Conv2d(3, 2, 1, dtype=torch.float64), nn.Flatten(),
        nn.Linear(2, 2, dtype=torch.float64)],
    "AdaptiveMaxPool2d(1), a BatchNorm2d, a ReLU, then Flatten": lambda torch, nn: [
        nn.AdaptiveMaxPool2d(1), _frozen_norm(torch, 3, None, None), nn.ReLU(), nn.Flatten()],
    "AdaptiveAvgPool2d(1), a Dropout, then Flatten": lambda torch, nn: [
        nn.AdaptiveAvgPool2d(1), nn.Dropout(0.5), nn.Flatten()],
    "AdaptiveAvgPool2d(1) last": lambda torch, nn: [nn.AdaptiveAvgPool2d(1)],
}


@pytest.mark.parametrize("case", sorted(HAND_WRITTEN))
def test_a_hand_written_torch_module_reads_to_its_numbers(torch, case) -> None:
    """Behind a 3×3 Conv2d, in inference: the spec read from the module, and the Keras
    model made of that spec, compute the module's numbers."""
    import tf_impl
    import torch_impl

    nn = torch.nn
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(2, 3, 3, dtype=torch.float64),
                           *HAND_WRITTEN[case](torch, nn)).eval()
    x = np.random.default_rng(1).standard_normal((3, 5, 5, 2))
    with torch.no_grad():
        y = module(torch.from_numpy(np.moveaxis(x, -1, 1).copy())).numpy()
    y = np.moveaxis(y, 1, -1) if y.ndim == 4 else y
    spec = torch_impl.to_reference(module, input_shape=(5, 5, 2))
    tol = tolerance("float64", "output")
    assert tol.error(spec.forward(x), y) <= tol.rtol
    assert tol.error(np.asarray(tf_impl.from_reference(spec)(x)), y) <= tol.rtol


@pytest.mark.parametrize("norm", ["weight frozen at 2", "affine=False"])
def test_a_batch_norm_the_spec_has_not_is_refused_by_name_or_read_for_inference(
        torch, norm) -> None:
    import torch_impl

    nn = torch.nn
    layer = _frozen_norm(torch, 3, 2.0, None) if norm == "weight frozen at 2" else \
        nn.BatchNorm2d(3, affine=False, dtype=torch.float64)
    module = nn.Sequential(nn.Conv2d(2, 3, 3, dtype=torch.float64), layer, nn.Flatten())
    with pytest.raises(TypeError, match=r"^to_reference: module 1"):
        torch_impl.to_reference(module, input_shape=(5, 5, 2))
    if norm == "weight frozen at 2":  # for inference: a γ of 2, computed as torch does
        spec = torch_impl.to_reference(module, input_shape=(5, 5, 2), inference=True)
        np.testing.assert_array_equal(spec.layers[1].parameters["gamma"], [2.0] * 3)


# -- training without γ or β -------------------------------------------------------------------

def _training_model(scale: bool, center: bool, convention: str) -> reference.Sequential:
    return reference.Sequential([
        C.Conv2D(2, 3, 3, use_bias=False), N.BatchNormalization(
            3, scale=scale, center=center, convention=convention), L.ReLU(),
        C.GlobalAveragePooling2D(keepdims=True), L.Flatten(), L.Dense(3, 2)],
        input_shape=(4, 4, 2), seed=3)


OPTIMIZERS = {  # hyper-parameters float32 holds exactly: Keras keeps them so
    "SGD, coupled weight decay": dict(kind="SGD", learning_rate=0.125, weight_decay=0.0625),
    "SGD, momentum, decoupled decay": dict(kind="SGD", learning_rate=0.125, momentum=0.5,
                                           weight_decay=0.0625, decoupled_weight_decay=True),
    "Adam, coupled weight decay": dict(kind="Adam", learning_rate=0.0625, weight_decay=0.25),
    "AdamW": dict(kind="AdamW", learning_rate=0.0625, weight_decay=0.25),
    "SGD, clipnorm": dict(kind="SGD", learning_rate=0.125, clipnorm=0.0625),
    "SGD, global_clipnorm": dict(kind="SGD", learning_rate=0.125, global_clipnorm=0.0625),
    "Adam, clipvalue": dict(kind="Adam", learning_rate=0.0625, clipvalue=0.015625),
}


@pytest.mark.parametrize(("name", "missing"), [  # each optimizer with one of the three
    (name, ("scale", "center", "both")[k % 3]) for k, name in enumerate(sorted(OPTIMIZERS))])
def test_training_without_gamma_or_beta_agrees_and_leaves_the_frozen_one(torch, name,
                                                                         missing) -> None:
    """reference.fit and torch_impl.fit (torch's convention), reference.fit and
    tf_impl.fit (Keras's), 2 epochs of 2 batches: the same losses and final weights;
    torch's frozen weight stays 1 (bias 0), with weight decay and clipping too."""
    import tf_impl
    import torch_impl
    from reference import optimizers

    options = dict(OPTIMIZERS[name])
    kind = getattr(optimizers, options.pop("kind"))
    flags = {"scale": missing == "center", "center": missing == "scale"}
    rng = np.random.default_rng(7)
    X, Y = rng.standard_normal((8, 4, 4, 2)), rng.standard_normal((8, 2))
    tol = tolerance("float64", "weight trajectory")
    for convention in ("torch", "keras"):
        spec = _training_model(**flags, convention=convention)
        start = copy.deepcopy(spec)
        made = kind(**options, convention=convention)
        ran = reference.fit(spec, X, Y, optimizer=made, epochs=2, batch_size=4)
        if convention == "torch":
            module = torch_impl.from_reference(start)
            other = torch_impl.fit(module, torch.from_numpy(np.moveaxis(X, -1, 1).copy()),
                                   torch.from_numpy(Y), optimizer=made, epochs=2, batch_size=4)
            norm = module[1]
            for frozen, value in (("weight", 1.0), ("bias", 0.0)):
                if not flags["scale" if frozen == "weight" else "center"]:
                    assert torch.all(getattr(norm, frozen) == value), frozen
            back = torch_impl.to_reference(module, input_shape=(4, 4, 2))
        else:
            kmodel = tf_impl.from_reference(start)
            other = tf_impl.fit(kmodel, X, Y, optimizer=made, epochs=2, batch_size=4)
            back = tf_impl.to_reference(kmodel)
        assert tol.error(other.loss, ran.loss) <= tol.rtol, convention
        mine, theirs = _weights(back), _weights(spec)
        assert [key for key, _ in mine] == [key for key, _ in theirs], convention
        for (key, a), (_, b) in zip(mine, theirs, strict=True):
            assert tol.error(a, b) <= tol.rtol, (convention, key)


def _weights(model: reference.Sequential) -> list:
    """(kind.name, array) of every parameter in order (a read-back may join a ReLU to
    the layer before it, so layers need not pair up)."""
    return [(f"{type(layer).__name__}.{key}", value) for layer in model.layers
            for key, value in layer.parameters.items()]


# -- spec graphs -------------------------------------------------------------------------------

def spec_graph(seed: int) -> reference.Model:
    """An image through two branches (a separable convolution without bias, a Conv2D,
    each with a BatchNorm lacking γ or β, a pooling keeping its dims), merged, then a
    1×1 convolution or not, Flatten and a Dense; float64 for even seeds."""
    from reference import merging

    rng = np.random.default_rng(seed)
    dtype = np.float64 if seed % 2 == 0 else np.float32
    size, channels, width = int(rng.integers(4, 7)), int(rng.integers(1, 4)), \
        int(rng.integers(1, 4))
    x = reference.Input((size, size, channels), name="x")
    branches = []
    for k, conv in enumerate((C.SeparableConv2D(channels, width, 2, padding="same",
                                                use_bias=False, dtype=dtype),
                              C.Conv2D(channels, width, 3, padding="same", use_bias=False,
                                       dtype=dtype))):
        h = x
        for j, layer in enumerate((conv, _batch_norm(rng, width, dtype), L.ReLU(),
                                   _pick(rng, (C.GlobalAveragePooling2D,
                                               C.GlobalMaxPooling2D))(keepdims=True))):
            layer.name = f"branch{k}_{j}"
            h = layer(h)
        branches.append(h)
    h = _pick(rng, (merging.Add, merging.Concatenate, merging.Maximum))()(branches)
    features = 2 * width if isinstance(h.layer, merging.Concatenate) else width
    if rng.random() < 0.5:
        h = C.Conv2D(features, 2, 1, dtype=dtype)(h)
        features = 2
    h = L.Dense(features, 2, dtype=dtype)(L.Flatten()(h))
    model = reference.Model(x, h, seed=seed)
    _randomize(model, rng)
    return model


@pytest.mark.parametrize("seed", [0, 1, 2, 3])  # 40 explored
def test_a_spec_graph_with_the_new_options_converts_to_its_numbers(seed, tmp_path) -> None:
    from parity_tests.fuzz.test_fuzz_conversion_differential import check_graph

    check_graph(spec_graph(seed), seed, tmp_path)
