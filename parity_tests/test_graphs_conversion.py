"""Graph models through the converters: a Keras functional model written by hand reaches
the spec and torch, a hand-written torch module reads back through ``torch.fx``, the
converted models are the frameworks' own (a strict ``state_dict``, ``model.save``), the
bridged conventions of the merge layers on each side, and the refusals."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch
from torch import nn

import reference
import tf_impl
import torch_impl
from parity_tests.tolerances import tolerance
from reference.merging import Average, Maximum

L = keras.layers


def _close(actual: np.ndarray, expected: np.ndarray, kind: str = "output") -> None:
    tol = tolerance(np.float64, kind)
    assert tol.error(actual, expected) <= tol.rtol, tol.error(actual, expected)


def _hand_written_keras() -> keras.Model:
    """Two inputs, ``a`` fanned out to three layers, a skip inside a skip, a Concatenate,
    two outputs: Keras code as a user writes it."""
    a = keras.Input((4,), name="a", dtype="float64")
    b = keras.Input((3,), name="b", dtype="float64")
    h1 = L.Dense(5, activation="tanh", name="h1", dtype="float64")(a)
    h2 = L.Dense(5, name="h2", dtype="float64")(h1)
    h2 = L.Activation("relu", name="h2_relu", dtype="float64")(h2)
    inner = L.Add(name="inner", dtype="float64")([h1, h2])
    outer = L.Add(name="outer", dtype="float64")(
        [inner, L.Dense(5, name="shortcut", dtype="float64")(a)])
    joined = L.Concatenate(name="joined", dtype="float64")(
        [outer, L.Dense(2, activation="sigmoid", name="hb", dtype="float64")(b)])
    first = L.Dense(3, name="first", dtype="float64")(joined)
    second = L.Multiply(name="second", dtype="float64")(
        [L.Dense(5, name="gate", dtype="float64")(a), outer])
    return keras.Model([a, b], [first, second])


def _inputs(rng: np.random.Generator, batch: int = 4) -> list[np.ndarray]:
    return [rng.standard_normal((batch, 4)), rng.standard_normal((batch, 3))]


def test_a_hand_written_keras_graph_reaches_the_spec_and_torch_with_its_numbers() -> None:
    """Forward and every gradient (inputs, parameters by layer name) of Keras, the spec
    read from it, and the torch GraphModule made from that spec agree."""
    model = _hand_written_keras()
    xs = _inputs(np.random.default_rng(0))
    spec = tf_impl.to_reference(model)
    module = torch_impl.from_reference(spec)
    upstream = [np.random.default_rng(1).standard_normal((4, 3)),
                np.random.default_rng(2).standard_normal((4, 5))]

    inputs = [tf.constant(x) for x in xs]
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = model(inputs)
        loss = sum(tf.reduce_sum(g * y) for g, y in zip(upstream, outputs, strict=True))
    grads = tape.gradient(loss, [*inputs, *model.trainable_variables])
    keras_grads = tf_impl.convert.gradients_to_reference(model, grads[2:], spec)

    tensors = [torch.from_numpy(x).requires_grad_() for x in xs]
    torch_outputs = module(*tensors)
    sum((torch.from_numpy(g) * y).sum() for g, y in zip(upstream, torch_outputs,
                                                       strict=True)).backward()
    torch_grads = torch_impl.convert.gradients_to_reference(module, spec)

    spec_outputs = spec.forward(xs)
    spec_dxs = spec.backward(upstream)
    for y, keras_y, torch_y in zip(spec_outputs, outputs, torch_outputs, strict=True):
        _close(keras_y.numpy(), y)
        _close(torch_y.detach().numpy(), y)
    for dx, keras_dx, x in zip(spec_dxs, grads[:2], tensors, strict=True):
        _close(keras_dx.numpy(), dx, "gradient")
        _close(x.grad.numpy(), dx, "gradient")
    assert set(keras_grads) == set(torch_grads) == {layer.name for layer in spec.layers}
    for name, expected in spec.gradients.items():
        for parameter, value in expected.items():
            _close(keras_grads[name][parameter], value, "gradient")
            _close(torch_grads[name][parameter], value, "gradient")


def _nested_keras() -> keras.Model:
    """A nested Sequential (Conv2D, pooling, Dense) and a nested functional block with a
    skip whose Dense has the Sequential's Dense's name: Keras code as a user writes it."""
    keras.utils.set_random_seed(5)
    stem = keras.Sequential([
        L.Conv2D(4, 3, padding="same", activation="relu", name="conv", dtype="float64"),
        L.GlobalAveragePooling2D(name="pool", dtype="float64"),
        L.Dense(5, activation="tanh", name="dense", dtype="float64")], name="stem")
    u = keras.Input((5,), name="u", dtype="float64")
    residual = keras.Model(u, L.Add(name="skip", dtype="float64")(
        [u, L.Dense(5, activation="sigmoid", name="dense", dtype="float64")(u)]),
        name="residual")
    image = keras.Input((6, 6, 2), name="image", dtype="float64")
    head = L.Dense(2, name="head", dtype="float64")(residual(stem(image)))
    return keras.Model(image, head, name="nested")


def test_a_keras_graph_with_nested_models_reaches_the_spec_and_torch_with_its_numbers(
        ) -> None:
    """Forward and every gradient (input, parameters by layer name) of Keras, the spec
    read from it (its nested models flattened) and the torch GraphModule made from it."""
    model = _nested_keras()
    x = np.random.default_rng(0).standard_normal((3, 6, 6, 2))
    upstream = np.random.default_rng(1).standard_normal((3, 2))
    spec = tf_impl.to_reference(model)
    module = torch_impl.from_reference(spec)

    given = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(given)
        output = model(given)
        loss = tf.reduce_sum(upstream * output)
    grads = tape.gradient(loss, [given, *model.trainable_variables])
    keras_grads = tf_impl.convert.gradients_to_reference(model, grads[1:], spec)

    tensor = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_()  # NCHW
    torch_output = module(tensor)
    (torch.from_numpy(upstream) * torch_output).sum().backward()
    torch_grads = torch_impl.convert.gradients_to_reference(module, spec)

    y = spec.forward(x)
    dx = spec.backward(upstream)
    _close(output.numpy(), y)
    _close(torch_output.detach().numpy(), y)
    _close(grads[0].numpy(), dx, "gradient")
    _close(tensor.grad.numpy().transpose(0, 2, 3, 1), dx, "gradient")
    assert set(keras_grads) == set(torch_grads) == {layer.name for layer in spec.layers}
    for name, expected in spec.gradients.items():
        for parameter, value in expected.items():
            _close(keras_grads[name][parameter], value, "gradient")
            _close(torch_grads[name][parameter], value, "gradient")


def test_a_nested_models_layers_keep_their_names_or_take_its_name_as_prefix() -> None:
    spec = tf_impl.to_reference(_nested_keras())
    assert spec.wiring()["layers"] == [
        {"name": "conv", "inbound": ["image"]}, {"name": "pool", "inbound": ["conv"]},
        {"name": "dense", "inbound": ["pool"]},
        {"name": "residual_dense", "inbound": ["dense"]},
        {"name": "skip", "inbound": ["dense", "residual_dense"]},
        {"name": "head", "inbound": ["skip"]}]


def test_the_flattened_keras_model_computes_the_nested_ones_numbers_exactly() -> None:
    model = _nested_keras()
    x = np.random.default_rng(2).standard_normal((3, 6, 6, 2))
    flat = tf_impl.graphs.flatten(model)
    assert not any(isinstance(layer, keras.Model) for layer in flat.layers)
    np.testing.assert_array_equal(flat(x).numpy(), model(x).numpy())


def test_a_model_nested_in_a_nested_model_flattens_and_may_be_the_output() -> None:
    """Names are made unique level by level: ``core``'s fc is ``core_fc`` inside ``mid``,
    ``mid``'s fc is ``mid_fc`` in the outer model, which has an fc of its own."""
    u = keras.Input((3,), dtype="float64")
    core = keras.Model(u, L.Dense(3, name="fc", dtype="float64")(u), name="core")
    mid = keras.Sequential([keras.Input((3,), dtype="float64"),
                            L.Dense(3, name="fc", dtype="float64"), core], name="mid")
    x = keras.Input((3,), name="x", dtype="float64")
    model = keras.Model(x, mid(L.Dense(3, name="fc", dtype="float64")(x)))
    spec = tf_impl.to_reference(model)
    assert [layer.name for layer in spec.layers] == ["fc", "mid_fc", "core_fc"]
    x_value = np.random.default_rng(3).standard_normal((2, 3))
    _close(spec.forward(x_value), model(x_value).numpy())


def test_a_keras_dense_and_its_activation_layer_read_as_one_spec_dense() -> None:
    spec = tf_impl.to_reference(_hand_written_keras())
    assert type(spec.get_layer("h2")).__name__ == "Dense"
    assert spec.get_layer("h2").activation.name == "relu"
    assert [t.name for t in next(n for n in spec.nodes if n.name == "inner").inputs] == \
        ["h1", "h2"]


class HandWritten(nn.Module):
    """What a torch user writes: attributes, and a forward with +, torch.cat, a mean."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 5)
        self.act = nn.Tanh()
        self.skip = nn.Linear(4, 5)
        self.side = nn.Sequential(nn.Linear(3, 2), nn.Sigmoid())
        self.head = nn.Linear(7, 2)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        h = self.act(self.fc1(x)) + self.skip(x)
        return self.head(torch.cat([h, self.side(z)], dim=1))


def test_a_hand_written_torch_module_reads_back_through_fx_into_the_spec() -> None:
    module = HandWritten().double()
    spec = torch_impl.to_reference(module, input_shapes=[(4,), (3,)])
    assert spec.wiring()["layers"] == [
        {"name": "fc1", "inbound": ["x"]}, {"name": "skip", "inbound": ["x"]},
        {"name": "add", "inbound": ["fc1", "skip"]}, {"name": "side", "inbound": ["z"]},
        {"name": "cat", "inbound": ["add", "side"]}, {"name": "head", "inbound": ["cat"]}]
    xs = _inputs(np.random.default_rng(3))
    expected = module(*(torch.from_numpy(x) for x in xs)).detach().numpy()
    _close(spec.forward(xs), expected)


class ConvSkip(nn.Module):
    """conv → BatchNorm → ReLU concatenated with its input on the channels (dim=1)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4, eps=1e-3)
        self.relu = nn.ReLU()
        self.flat = nn.Flatten()
        self.head = nn.Linear(6 * 5 * 5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.bn(self.conv(x)))
        return self.head(self.flat(torch.cat([h, x], dim=1)))


def test_a_torch_feature_map_graph_reads_back_channels_last() -> None:
    """The input feeds a convolution, so it is a feature map: torch's (N, C, H, W) is the
    spec's (N, H, W, C), torch.cat's dim=1 the spec's axis -1, and the head's rows follow
    the Flatten's (h, w, c) order."""
    module = ConvSkip().double().eval()
    with torch.no_grad():
        module.bn.running_mean.uniform_(-0.5, 0.5)
        module.bn.running_var.uniform_(0.5, 1.5)
    spec = torch_impl.to_reference(module, input_shapes=[(5, 5, 2)])
    assert spec.get_layer("cat").axis == -1
    x = np.random.default_rng(8).standard_normal((3, 5, 5, 2))
    expected = module(torch.from_numpy(x).permute(0, 3, 1, 2)).detach().numpy()
    _close(spec.forward(x), expected)


class ReluBesideTransposed(nn.Module):
    """The image's ReLU is traced before the transposed convolution that makes it a map."""

    def __init__(self) -> None:
        super().__init__()
        self.act = nn.ReLU()
        self.up = nn.ConvTranspose2d(3, 4, 3, padding=1)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(7, 2)

    def forward(self, x):
        return self.head(self.pool(torch.cat([self.act(x), self.up(x)], dim=1)))


def test_an_input_read_before_the_convolution_that_makes_it_a_map_is_read_again() -> None:
    """torch.cat(dim=1) of the image's ReLU and a convolution of it is the spec's axis -1,
    though the ReLU is read before anything says the image is a feature map."""
    module = ReluBesideTransposed().double().eval()
    spec = torch_impl.to_reference(module, input_shapes=[(6, 6, 3)])
    assert spec.get_layer("cat").axis == -1
    x = np.random.default_rng(9).standard_normal((2, 6, 6, 3))
    expected = module(torch.from_numpy(x).permute(0, 3, 1, 2)).detach().numpy()
    _close(spec.forward(x), expected)


def test_the_graph_module_reads_as_a_hand_written_forward() -> None:
    spec = tf_impl.to_reference(_hand_written_keras())
    code = torch_impl.from_reference(spec).code
    assert "inner = h1 + h2" in code
    assert "joined = torch.cat([outer, hb], dim = -1)" in code
    assert "second = gate * outer" in code


@pytest.mark.parametrize("name", ["half", "train", "class"])
def test_a_layer_named_as_a_module_method_or_keyword_takes_a_trailing_underscore(name) -> None:
    x = reference.Input((3,), name="x")
    spec = reference.Model(x, reference.Dense(3, 2, name=name)(x), seed=0)
    module = torch_impl.from_reference(spec)
    assert isinstance(getattr(module, f"{name}_"), nn.Linear)
    batch = np.random.default_rng(0).standard_normal((4, 3))
    _close(module(torch.from_numpy(batch)).detach().numpy(), spec.forward(batch))


def test_the_graph_modules_state_dict_loads_strictly_into_a_hand_written_class() -> None:
    x, z = reference.Input((4,), name="x"), reference.Input((3,), name="z")
    fc1 = reference.Dense(4, 5, "tanh", name="fc1")
    h = reference.merging.Add(name="h")([fc1(x), reference.Dense(4, 5, name="skip")(x)])
    side = reference.Dense(3, 2, "sigmoid", name="side")(z)
    joined = reference.merging.Concatenate(name="joined")([h, side])
    spec = reference.Model([x, z], reference.Dense(7, 2, name="head")(joined), seed=0)
    state = torch_impl.from_reference(spec).state_dict()

    class Written(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Sequential(nn.Linear(4, 5), nn.Tanh())
            self.skip = nn.Linear(4, 5)
            self.side = nn.Sequential(nn.Linear(3, 2), nn.Sigmoid())
            self.head = nn.Linear(7, 2)

        def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
            h = self.fc1(x) + self.skip(x)
            return self.head(torch.cat([h, self.side(z)], dim=1))

    written = Written().double()
    written.load_state_dict(state, strict=True)
    xs = _inputs(np.random.default_rng(4))
    _close(written(*(torch.from_numpy(v) for v in xs)).detach().numpy(), spec.forward(xs))


def test_the_keras_graph_saves_and_loads_as_keras_own(tmp_path) -> None:
    spec = tf_impl.to_reference(_hand_written_keras())
    model = tf_impl.from_reference(spec)
    model.save(tmp_path / "graph.keras")
    loaded = keras.models.load_model(tmp_path / "graph.keras")
    xs = _inputs(np.random.default_rng(5))
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    for y, expected in zip(loaded(xs), model(xs), strict=True):
        np.testing.assert_array_equal(y.numpy(), expected.numpy())


def test_the_transformer_block_with_its_mask_input_is_each_frameworks_own(tmp_path) -> None:
    """Keras saves and reloads the block, its mask a boolean input; torch's GraphModule
    calls the attention module on (x, x, x, mask), as a hand-written forward does."""
    from reference.transformer import encoder_block

    spec = encoder_block(padding_mask=True, seed=6)
    mask = np.ones((2, 5, 5), bool)
    mask[1, :, -1] = False
    xs = [np.random.default_rng(7).standard_normal((2, 5, 6)), mask]
    model = tf_impl.from_reference(spec)
    model.save(tmp_path / "block.keras")
    loaded = keras.models.load_model(tmp_path / "block.keras")
    assert loaded.inputs[1].dtype == "bool"
    np.testing.assert_array_equal(loaded(xs).numpy(), model(xs).numpy())
    _close(model(xs).numpy(), spec.forward(xs))
    module = torch_impl.from_reference(spec)
    assert "attention = self.attention(x, x, x, mask)" in module.code
    _close(module(*(torch.from_numpy(a) for a in xs)).detach().numpy(), spec.forward(xs))


# ── the bridged conventions, each side shown ─────────────────────────────────────────────

def test_concatenate_axis_minus_one_on_a_feature_map_is_torchs_dim_1() -> None:
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((2, 3, 3, 1)), rng.standard_normal((2, 3, 3, 2))
    keras_y = L.Concatenate(axis=-1, dtype="float64")([a, b]).numpy()  # channels-last
    torch_y = torch.cat([torch.from_numpy(a).permute(0, 3, 1, 2),
                         torch.from_numpy(b).permute(0, 3, 1, 2)], dim=1)  # channels-first
    np.testing.assert_array_equal(torch_y.permute(0, 2, 3, 1).numpy(), keras_y)


def _maximum_gradients(*tensors: torch.Tensor) -> list[np.ndarray]:
    return [t.grad.numpy() for t in tensors]


def test_maximum_gives_a_tie_to_the_first_input_in_keras_and_torch_stack_max() -> None:
    """Keras (ops.maximum folded) and torch.stack(xs).max(0) give g to the first tied
    input, as the spec; torch.maximum splits it, g/4, g/4, g/2 folded over three."""
    values = [np.array([[1.0, 2.0]]), np.array([[1.0, 0.0]]), np.array([[1.0, 2.0]])]
    tensors = [tf.constant(v) for v in values]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        y = L.Maximum(dtype="float64")(tensors)
    keras_grads = [g.numpy() for g in tape.gradient(y, tensors)]
    spec = Maximum()
    spec.forward(values)
    spec_grads = spec.backward(np.ones((1, 2)))
    first = [torch.from_numpy(v).requires_grad_() for v in values]
    torch.stack(first).max(dim=0).values.sum().backward()
    folded = [torch.from_numpy(v).requires_grad_() for v in values]
    torch.maximum(torch.maximum(folded[0], folded[1]), folded[2]).sum().backward()
    for keras_g, spec_g, torch_g in zip(keras_grads, spec_grads, _maximum_gradients(*first),
                                        strict=True):
        np.testing.assert_array_equal(keras_g, spec_g)
        np.testing.assert_array_equal(torch_g, spec_g)
    np.testing.assert_array_equal(np.concatenate(_maximum_gradients(*folded)),
                                  [[0.25, 0.5], [0.25, 0.0], [0.5, 0.5]])


def test_average_sums_left_to_right_then_divides_in_keras_the_spec_and_torch() -> None:
    """Keras's Average is (x1 + x2 + x3) / 3 (average.py); the spec and the torch
    expression round the same way, bit for bit in float32."""
    rng = np.random.default_rng(7)
    values = [rng.standard_normal((64, 16)).astype(np.float32) for _ in range(3)]
    keras_y = L.Average(dtype="float32")(values).numpy()
    spec_y = Average().forward(values)
    row = next(r for r in torch_impl.merging.TRANSLATIONS if r.kind == "Average")
    torch_y = row.compute([torch.from_numpy(v) for v in values], Average(), None).numpy()
    np.testing.assert_array_equal(keras_y, spec_y)
    np.testing.assert_array_equal(torch_y, spec_y)


# ── refusals ─────────────────────────────────────────────────────────────────────────────

def test_a_shared_keras_layer_is_refused_by_name() -> None:
    x = keras.Input((3,), dtype="float64")
    shared = L.Dense(3, name="shared", dtype="float64")
    model = keras.Model(x, L.Add(dtype="float64")([shared(x), shared(shared(x))]))
    with pytest.raises(ValueError, match=r"to_reference: layer 'shared' \(Dense\) is called 3 "
                                         r"times; a spec graph calls each layer once"):
        tf_impl.to_reference(model)


def test_a_keras_lambda_layer_is_refused_by_name() -> None:
    x = keras.Input((3,), dtype="float64")
    h = L.Dense(3, name="h", dtype="float64")(x)
    twice = L.Lambda(lambda t: 2 * t, name="twice", dtype="float64")(h)
    model = keras.Model(x, L.Add(dtype="float64")([h, twice]))
    with pytest.raises(TypeError, match=r"to_reference: layer 0 \(twice\), a Lambda, has no "
                                        r"spec counterpart"):
        tf_impl.to_reference(model)


def _keras_cross_attention(key_dim: int = 4, **options: object) -> keras.Model:
    """A decoder's cross-attention as a Keras user writes it: a query (T = 3) of 6
    features attends to a value (S = 5) of 4 and a key of 3 in 3 heads of ``key_dim``
    (4: wider than 6/3)."""
    query = keras.Input((3, 6), name="query", dtype="float64")
    value = keras.Input((5, 4), name="value", dtype="float64")
    key = keras.Input((5, 3), name="key", dtype="float64")
    attention = L.MultiHeadAttention(3, key_dim=key_dim, name="cross", dtype="float64",
                                     bias_initializer="random_normal")
    return keras.Model([query, value, key], attention(query, value, key=key, **options))


def _attention_inputs(rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.standard_normal((2, 3, 6)), rng.standard_normal((2, 5, 4)),
            rng.standard_normal((2, 5, 3))]


def test_keras_cross_attention_with_its_own_key_dim_is_the_spec_oracle() -> None:
    """Keras's numbers, weights copied by hand (no converter): the spec's query ≠ key ≠
    value, key_dim 4 ≠ E/H and causal mask give its output and its gradients."""
    model = _keras_cross_attention(use_causal_mask=True)
    keras_layer = model.get_layer("cross")
    spec = reference.sequences.MultiHeadAttention(6, 3, key_dim=4, key_features=3,
                                                  value_features=4, use_causal_mask=True)
    for part in ("query", "key", "value", "output"):
        dense = getattr(keras_layer, f"{part}_dense")
        spec.set(f"{part}_kernel", dense.kernel.numpy())
        spec.set(f"{part}_bias", dense.bias.numpy())
    xs = _attention_inputs(np.random.default_rng(5))
    upstream = np.random.default_rng(6).standard_normal((2, 3, 6))
    inputs = [tf.constant(x) for x in xs]
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        loss = tf.reduce_sum(upstream * model(inputs))
    gradients = tape.gradient(loss, [*inputs, *keras_layer.trainable_variables])
    dxs, weights = gradients[:3], gradients[3:]
    _close(model(inputs).numpy(), spec.forward(xs))
    for dx, expected in zip(dxs, spec.backward(upstream), strict=True):
        _close(dx.numpy(), expected, "gradient")
    named = {v.path.split("/")[-2] + "/" + v.name: g for v, g in
             zip(keras_layer.trainable_variables, weights, strict=True)}
    for part, keras_part in (("query", "query"), ("key", "key"), ("value", "value"),
                             ("output", "attention_output")):
        for array in ("kernel", "bias"):
            _close(named[f"{keras_part}/{array}"].numpy(), spec.gradients[f"{part}_{array}"],
                   "gradient")


def test_keras_cross_attention_reads_into_the_spec_and_torch_keeps_its_numbers() -> None:
    """Keras's call (query, value, key=, use_causal_mask=) read from get_config(): the
    spec layer takes [query, value, key] with the causal mask, and torch's Attention
    (kdim 3, vdim 4: three projection weights) computes the same; heads of E/H here."""
    model = _keras_cross_attention(use_causal_mask=True, key_dim=2)
    spec = tf_impl.to_reference(model)
    layer = spec.get_layer("cross")
    assert (layer.key_features, layer.value_features, layer.use_causal_mask) == (3, 4, True)
    assert spec.wiring()["layers"] == [{"name": "cross", "inbound": ["query", "value", "key"]}]
    xs = _attention_inputs(np.random.default_rng(7))
    expected = model([tf.constant(x) for x in xs]).numpy()
    _close(spec.forward(xs), expected)
    module = torch_impl.from_reference(spec)
    assert module.cross.in_proj_weight is None and module.cross.k_proj_weight.shape == (6, 3)
    _close(module(*(torch.from_numpy(x) for x in xs)).detach().numpy(), expected)
    back = torch_impl.to_reference(module, input_shapes=[(3, 6), (5, 4), (5, 3)])
    assert back.config() == spec.config()
    _close(back.forward(xs), expected)


def test_keras_heads_wider_than_embed_dim_over_num_heads_are_four_torch_linears() -> None:
    """key_dim 4 for E/H = 2, which nn.MultiheadAttention cannot hold: torch's
    MultiHeadAttention of nn.Linear projections (H·D = 12 features) and
    F.scaled_dot_product_attention computes Keras's output, and reads back."""
    model = _keras_cross_attention(use_causal_mask=True)
    spec = tf_impl.to_reference(model)
    xs = _attention_inputs(np.random.default_rng(8))
    expected = model([tf.constant(x) for x in xs]).numpy()
    module = torch_impl.from_reference(spec)
    assert isinstance(module.cross, torch_impl.sequences.MultiHeadAttention)
    assert (module.cross.q_proj.weight.shape, module.cross.k_proj.weight.shape,
            module.cross.out_proj.weight.shape) == ((12, 6), (12, 3), (6, 12))
    _close(module(*(torch.from_numpy(x) for x in xs)).detach().numpy(), expected)
    back = torch_impl.to_reference(module, input_shapes=[(3, 6), (5, 4), (5, 3)])
    assert back.config() == spec.config()
    _close(back.forward(xs), expected)


def test_a_keras_attention_mask_input_is_the_spec_attentions_fourth_input() -> None:
    """``attention(x, x, attention_mask=mask)`` with the mask a boolean keras.Input: the
    spec's [x, x, x, mask], and torch's Attention(x, x, x, mask), compute Keras's output."""
    x = keras.Input((4, 6), name="x", dtype="float64")
    mask = keras.Input((4, 4), name="mask", dtype="bool")
    attention = L.MultiHeadAttention(2, 3, name="self", dtype="float64")
    model = keras.Model([x, mask], attention(x, x, attention_mask=mask))
    spec = tf_impl.to_reference(model)
    assert spec.wiring()["layers"] == [{"name": "self", "inbound": ["x", "x", "x", "mask"]}]
    assert spec.input_kind(spec.inputs[1]) == "mask"
    padded = np.ones((2, 4, 4), bool)
    padded[1, :, -2:] = False  # the second sequence's last two steps are padding
    xs = [np.random.default_rng(8).standard_normal((2, 4, 6)), padded]
    expected = model([tf.constant(xs[0]), tf.constant(padded)]).numpy()
    _close(spec.forward(xs), expected)
    module = torch_impl.from_reference(spec)
    _close(module(*(torch.from_numpy(a) for a in xs)).detach().numpy(), expected)
    assert tf_impl.to_reference(tf_impl.from_reference(spec)).wiring() == spec.wiring()


def test_a_tensor_keyword_the_spec_has_no_place_for_is_refused_by_name() -> None:
    """Keras's value_mask is not a spec input: refused, not read as attention without it."""
    x = keras.Input((4, 6), dtype="float64")
    mask = keras.Input((4,), dtype="bool")
    attention = L.MultiHeadAttention(2, 3, name="self", dtype="float64")
    model = keras.Model([x, mask], attention(x, x, value_mask=mask))
    with pytest.raises(TypeError, match=r"to_reference: layer 'self' is called with the "
                                        r"tensor value_mask=…"):
        tf_impl.to_reference(model)


def test_a_nested_keras_model_called_twice_is_refused_by_name() -> None:
    """Its layers would share their weights between the calls; the spec calls each once."""
    x = keras.Input((3,), dtype="float64")
    inner = keras.Sequential([keras.Input((3,)), L.Dense(3, dtype="float64")], name="inner")
    model = keras.Model(x, L.Add(dtype="float64")([x, inner(inner(x))]))
    with pytest.raises(ValueError, match="to_reference: layer 'inner' is a nested Sequential "
                                         "called 2 times; a spec graph calls each layer once"):
        tf_impl.to_reference(model)


def test_an_fx_operation_without_a_spec_counterpart_is_refused_naming_the_node() -> None:
    class Functional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.fc(x)) + x

    with pytest.raises(TypeError, match=r"to_reference: node 'relu' of forward \(call_function "
                                        r"relu\) has no spec counterpart"):
        torch_impl.to_reference(Functional().double(), input_shapes=[(3,)])


def test_a_graph_module_without_input_shapes_is_refused() -> None:
    x = reference.Input((3,), name="x")
    spec = reference.Model(x, reference.merging.Add(name="y")([reference.Dense(3, 3)(x), x]))
    with pytest.raises(ValueError, match="to_reference: a graph module's inputs have no fixed "
                                         "shape; give input_shapes="):
        torch_impl.to_reference(torch_impl.from_reference(spec))
