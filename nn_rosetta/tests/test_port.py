"""nn_rosetta.port: Keras models built here, ported, and run again from the written files
in a fresh Python process that imports nothing but torch."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import torch

import nn_rosetta
from nn_rosetta import cli, porting
from nn_rosetta.tolerances import tolerance
from reference.layouts import LAYOUTS
from reference.registry import XOR_INPUTS

L = keras.layers
ROOT = Path(__file__).resolve().parents[2]


def note004() -> keras.Sequential:
    """Note 004's 3-5-8-2 network, sigmoid after each layer, in float64."""
    return keras.Sequential([keras.Input((3,), dtype="float64"),
                             *(L.Dense(n, activation="sigmoid", dtype="float64", name=name)
                               for n, name in ((5, "hidden1"), (8, "hidden2"), (2, "out")))],
                            name="note004")


def _statistics(model: keras.Sequential) -> keras.Sequential:
    """γ, β and the running statistics of every BatchNormalization away from their
    defaults (a fresh layer normalises by mean 0 and variance 1: any momentum passes)."""
    rng = np.random.default_rng(3)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.uniform(-0.5, 0.5, n),
                               rng.uniform(-0.5, 0.5, n), rng.uniform(0.5, 1.5, n)])
    return model


def mlp() -> keras.Sequential:
    """An MLP with BatchNorm and dropout, and an activation given as its own layer."""
    return _statistics(keras.Sequential([
        keras.Input((12,)), L.Dense(32, activation="relu", name="fc1"),
        L.BatchNormalization(name="norm"), L.Dropout(0.5, name="drop"),
        L.Dense(16, name="fc2"), L.LeakyReLU(name="leaky"),
        L.Dense(3, activation="softmax", name="classes")], name="mlp"))


def tf_kernels() -> keras.Sequential:
    """Plain Keras activations in float64, where TF's kernels hold float32 constants."""
    return keras.Sequential([keras.Input((5,), dtype="float64"),
                             L.Dense(6, activation="gelu", dtype="float64", name="gelu"),
                             L.Dense(6, activation="leaky_relu", dtype="float64", name="leaky"),
                             L.Dense(4, dtype="float64", name="linear"),
                             L.LeakyReLU(dtype="float64", name="leaky_layer")],
                            name="tf_kernels")


def digits_cnn() -> keras.Sequential:
    """The digit-classification CNN, on 28×28 grey images."""
    return keras.Sequential([keras.Input((28, 28, 1)),
                             L.Conv2D(24, 3, activation="relu", name="conv1"),
                             L.MaxPooling2D(name="pool1"),
                             L.Conv2D(36, 3, activation="relu", name="conv2"),
                             L.MaxPooling2D(name="pool2"), L.Flatten(name="flatten"),
                             L.Dense(128, activation="relu", name="fc"),
                             L.Dense(10, activation="softmax", name="digits")], name="digits")


def same_padding() -> keras.Sequential:
    """TF's "same" padding where torch's differs (stride 2, a max pooling's odd cell), and
    a BatchNorm over a feature map's channels."""
    return _statistics(keras.Sequential([
        keras.Input((9, 10, 3)), L.Conv2D(4, 3, strides=2, padding="same", name="strided"),
        L.BatchNormalization(name="norm"), L.DepthwiseConv2D(3, padding="same", name="depthwise"),
        L.MaxPooling2D(2, strides=1, padding="same", name="pool"),
        L.GlobalAveragePooling2D(name="average"), L.Dense(2, name="out")], name="same_padding"))


def characters() -> keras.Sequential:
    """The character model of the sequences lab, scaled down: Embedding → LSTM with return
    sequences → Dense to the vocabulary (logits)."""
    return keras.Sequential([keras.Input((25,), dtype="int32"),
                             L.Embedding(40, 16, name="embed"),
                             L.LSTM(32, return_sequences=True, name="lstm"),
                             L.Dense(40, name="logits")], name="characters")


def decoder() -> keras.Sequential:
    """A U-Net's upsampling path and MobileNet's separable convolution: Keras's odd "same"
    crop after a transposed convolution, bilinear upsampling, a crop."""
    return keras.Sequential([
        keras.Input((6, 7, 3)),
        L.SeparableConv2D(4, 3, strides=2, padding="same", depth_multiplier=2,
                          activation="relu", name="separable"),
        L.Conv2DTranspose(3, 3, strides=2, padding="same", name="up1"),
        L.UpSampling2D(2, interpolation="bilinear", name="bilinear"),
        L.Cropping2D(((1, 0), (2, 1)), name="crop"),
        L.Conv2DTranspose(2, 4, strides=2, padding="same", activation="tanh", name="up2"),
        L.Flatten(name="flatten"), L.Dense(3, name="out")], name="decoder")
def shapes() -> keras.Sequential:
    """Keras's preprocessing layers, then Reshape and Permute on feature maps (torch's are
    channels-first) and the global poolings: EfficientNet's squeeze-excite Reshape((1, 1, C))."""
    return keras.Sequential([keras.Input((6, 6, 3)), L.Rescaling(1 / 255, -0.5, name="scale"),
                             L.Normalization(mean=[0.1, 0.2, 0.3], variance=[0.5, 1.0, 2.0],
                                             name="standardise"),
                             L.Conv2D(4, 3, activation="relu", name="conv"),
                             L.Permute((2, 1, 3), name="transpose"),
                             L.Reshape((-1, 4), name="pixels"),
                             L.GlobalAveragePooling1D(name="average"),
                             L.Reshape((1, 1, 4), name="excite"),
                             L.Conv2D(4, 1, activation="sigmoid", name="gate"),
                             L.GlobalMaxPooling2D(name="max"), L.Dense(2, name="out")],
                            name="shapes")


_RNG = np.random.default_rng(1)
MODELS = {"note004": (note004, XOR_INPUTS),
          "mlp": (mlp, _RNG.standard_normal((16, 12)).astype(np.float32)),
          "tf_kernels": (tf_kernels, 3 * _RNG.standard_normal((8, 5))),
          "digits_cnn": (digits_cnn, _RNG.random((4, 28, 28, 1)).astype(np.float32)),
          "same_padding": (same_padding, _RNG.standard_normal((3, 9, 10, 3)).astype(np.float32)),
          "characters": (characters, _RNG.integers(0, 40, (4, 25))),
          "decoder": (decoder, _RNG.standard_normal((3, 6, 7, 3)).astype(np.float32)),
          "shapes": (shapes, (255 * _RNG.random((3, 6, 6, 3))).astype(np.float32))}

# Run in a fresh interpreter: only model.py, weights.pt and torch.
VERIFY = """
import importlib.util, json, sys
import numpy as np
import torch
for folder in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location("model", f"{folder}/model.py")
    code = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(code)
    model = code.Net()
    model.load_state_dict(torch.load(f"{folder}/weights.pt", weights_only=True))
    model.eval()
    with torch.no_grad():
        y = model(torch.from_numpy(np.load(f"{folder}/input.npy")))
    np.save(f"{folder}/output.npy", y.numpy())
project = {"reference", "nn_rosetta", "torch_impl", "tf_impl", "keras", "tensorflow"}
print(json.dumps(sorted(project & {name.split(".")[0] for name in sys.modules})))
"""


@pytest.fixture(scope="module")
def ported(tmp_path_factory) -> dict[str, dict]:
    """Every model saved as a .keras file, read back, ported, written, and run from the
    written files in one fresh process."""
    root = tmp_path_factory.mktemp("port")
    found = {}
    for name, (build, x) in MODELS.items():
        path = root / f"{name}.keras"
        build().save(path)
        model = porting.load(path)
        result = nn_rosetta.port(model, x)
        out = root / name
        result.save(out)
        if not isinstance(model.layers[0], L.Embedding):  # indices stay integers
            x = np.asarray(x, dtype=model.layers[0].dtype)  # XOR's integers, as the port does
        np.save(out / "input.npy", x)
        expected = keras.ops.convert_to_numpy(model(x, training=False))
        found[name] = {"result": result, "out": out, "dtype": expected.dtype,
                       "keras": expected}
    done = subprocess.run([sys.executable, "-I", "-c", VERIFY, *(str(f["out"]) for f in
                                                                 found.values())],
                          capture_output=True, text=True, timeout=300, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    imported = json.loads(done.stdout)
    for entry in found.values():
        entry["fresh"] = np.load(entry["out"] / "output.npy")
        entry["imported"] = imported
    return found


@pytest.mark.parametrize("name", MODELS)
def test_the_written_model_reproduces_keras_in_a_fresh_process(ported, name) -> None:
    entry = ported[name]
    tol = tolerance(entry["dtype"], "output")
    assert entry["fresh"].dtype == entry["dtype"]
    assert tol.error(entry["fresh"], entry["keras"]) <= tol.rtol


def test_the_fresh_process_needs_only_torch(ported) -> None:
    assert next(iter(ported.values()))["imported"] == []


@pytest.mark.parametrize("name", MODELS)
def test_every_layer_agrees_with_keras_within_the_parity_tolerance(ported, name) -> None:
    report = ported[name]["result"].report
    assert report.first_divergence is None, str(report)
    assert len(report.layers) == sum(type(layer).__name__ not in ("LeakyReLU", "Activation")
                                     for layer in MODELS[name][0]().layers)


def test_the_report_names_the_first_layer_where_a_convention_is_missed(monkeypatch) -> None:
    # Keras's LeakyReLU slope is 0.3, torch's default 0.01: a port that drops the slope
    # parts from Keras at that layer, and the report says so.
    monkeypatch.setitem(porting.ACTIVATIONS, "leaky_relu",
                        lambda params, *_: ("F.leaky_relu({})", ""))
    report = nn_rosetta.port(mlp(), MODELS["mlp"][1]).report
    assert report.first_divergence is report.layers[3]
    assert report.first_divergence.layer == "fc2 + leaky"
    assert [layer.ok for layer in report.layers] == [True, True, True, False, False]
    assert "torch and Keras part at layer fc2 + leaky" in str(report)


@pytest.mark.parametrize("name", MODELS)
def test_the_generated_source_passes_ruff(ported, name) -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "ruff"), "check", "--no-cache",
                           "--config", str(ROOT / "pyproject.toml"),
                           str(ported[name]["out"] / "model.py")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_source_is_one_class_of_plain_torch_nn(ported) -> None:
    source = ported["note004"]["result"].source
    tree = ast.parse(source)
    (net,) = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    assert [f.name for f in net.body if isinstance(f, ast.FunctionDef)] == ["__init__",
                                                                            "forward"]
    assert "self.hidden1 = nn.Linear(3, 5)" in source
    assert "return torch.sigmoid(self.out(x))" in source
    assert "self.double()  # the Keras model computes in float64" in source


def test_the_cnn_source_bridges_the_layout_and_the_flatten_order_in_comments(ported) -> None:
    source = ported["digits_cnn"]["result"].source
    assert "x = x.permute(0, 3, 1, 2)  # NHWC → NCHW" in source
    assert "self.conv1 = nn.Conv2d(1, 24, 3)" in source
    assert "self.fc = nn.Linear(900, 128)  # columns permuted: torch flattens (c, h, w)" in source
    padding = ported["same_padding"]["result"].source
    assert "x = F.pad(x, (0, 1, 1, 1))  # TF's \"same\": the odd cell after" in padding
    assert 'x = F.pad(x, (0, 1, 0, 1), value=float("-inf"))' in padding


def test_the_flatten_order_comment_stands_once_on_the_linear_it_explains() -> None:
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, name="conv"),
                              keras.layers.Flatten(name="flatten"),
                              keras.layers.Dropout(0.2, name="drop"),
                              keras.layers.Dense(5, name="out")])
    source = nn_rosetta.port(model).source
    assert source.count("columns permuted") == 1
    assert "self.out = nn.Linear(144, 5)  # columns permuted" in source


def test_the_batch_norm_line_bridges_keras_momentum_and_epsilon(ported) -> None:
    assert "self.norm = nn.BatchNorm1d(32, eps=0.001, momentum=1 - 0.99)" in \
        ported["mlp"]["result"].source
    assert "self.norm = nn.BatchNorm2d(4, eps=0.001, momentum=1 - 0.99)" in \
        ported["same_padding"]["result"].source


def test_the_lstm_line_bridges_the_batch_axis(ported) -> None:
    source = ported["characters"]["result"].source
    assert "self.lstm = nn.LSTM(16, 32, batch_first=True)  # Keras's batches are (N, T" in source
    assert "x, _ = self.lstm(x)" in source
    assert "Input: (N, 25) integer indices." in source


def test_self_attention_ports_to_torch_multihead_attention() -> None:
    x = keras.Input((6, 8))  # self-attention takes x twice: a functional model
    model = keras.Model(x, L.MultiHeadAttention(2, key_dim=4, dtype="float32")(x, x))
    result = nn_rosetta.port(model)
    assert result.report.first_divergence is None, str(result.report)
    assert "nn.MultiheadAttention(8, 2, batch_first=True)" in result.source
    assert "(x, x, x, need_weights=False)  # self-attention" in result.source


def test_a_layer_setting_without_a_torch_equivalent_is_refused_by_name() -> None:
    gru = keras.Sequential([keras.Input((7, 5)), L.GRU(6, reset_after=False, name="old_gru")])
    with pytest.raises(TypeError, match="port: layer 'old_gru' \\(GRU\\): reset_after=False"):
        nn_rosetta.port(gru)
    masked = keras.Sequential([keras.Input((7,)), L.Embedding(10, 3, mask_zero=True, name="e"),
                               L.LSTM(2)])
    with pytest.raises(TypeError, match="port: layer 'e' \\(Embedding\\): mask_zero=True"):
        nn_rosetta.port(masked)


def test_the_float32_source_says_nothing_about_dtype(ported) -> None:
    source = ported["mlp"]["result"].source
    assert "double" not in source and "float64" not in source
    assert "x = F.leaky_relu(self.fc2(x), 0.3)  # slope as in Keras" in source


def test_tf_float64_activations_hold_float32_constants_and_the_port_uses_them(ported) -> None:
    # TF's leaky_relu op stores the slope as a float32 attribute and its gelu multiplies by
    # 1/√2 rounded to float32, even on float64 data: a port with the exact constants parts
    # from Keras at 1e-9, above the float64 tolerance; the generated code uses TF's.
    z = np.linspace(-4.0, 4.0, 801)
    leaky = keras.ops.convert_to_numpy(keras.activations.leaky_relu(z, negative_slope=0.2))
    assert np.max(np.abs(leaky - np.where(z > 0, z, 0.2 * z))) > 1e-9
    assert np.array_equal(leaky, np.where(z > 0, z, float(np.float32(0.2)) * z))
    gelu = keras.ops.convert_to_numpy(keras.activations.gelu(z, approximate=False))
    exact = torch.nn.functional.gelu(torch.from_numpy(z)).numpy()
    assert np.max(np.abs(gelu - exact)) > 1e-9
    source = ported["tf_kernels"]["result"].source
    assert "F.leaky_relu(self.leaky(x), 0.20000000298023224)" in source
    assert "x = 0.5 * x * (1 + torch.erf(x * 0.7071067690849304))" in source


def test_every_layer_kind_with_a_layout_has_a_template() -> None:
    assert set(LAYOUTS) <= set(porting.TEMPLATES), (
        "add a row to nn_rosetta.porting.TEMPLATES for each new kind in reference.layouts")


def _unsupported() -> keras.Sequential:
    return keras.Sequential([keras.Input((6,)), L.Dense(4, name="fc"),
                             L.GaussianNoise(0.1, name="noise"), L.Dense(2)])


def test_a_layer_without_a_port_is_refused_by_name() -> None:
    with pytest.raises(TypeError) as error:
        nn_rosetta.port(_unsupported())
    message = str(error.value)
    assert "layer 1 ('noise', a GaussianNoise) has no PyTorch port" in message
    assert all(name in message for name in porting.supported())


def test_the_terminal_writes_nothing_for_a_layer_without_a_port(tmp_path, capsys) -> None:
    _unsupported().save(tmp_path / "m.keras")
    assert cli.main(["port", str(tmp_path / "m.keras"), "--out", str(tmp_path / "out")]) == 2
    assert "GaussianNoise" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_terminal_writes_model_and_weights_and_prints_the_report(tmp_path, capsys) -> None:
    note004().save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", XOR_INPUTS.astype(np.float64))
    assert cli.main(["port", str(tmp_path / "m.keras"), "--out", str(tmp_path / "out"),
                     "--input", str(tmp_path / "x.npy")]) == 0
    printed = capsys.readouterr().out
    assert "float64, example input 4×3: every layer within tolerance" in printed
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["model.py", "report.json",
                                                                    "weights.pt"]


def test_the_written_report_json_holds_the_printed_table(tmp_path, capsys) -> None:
    note004().save(tmp_path / "m.keras")
    assert cli.main(["port", str(tmp_path / "m.keras"), str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    printed = capsys.readouterr().out.splitlines()
    assert [row["layer"] for row in report["layers"]] == \
        [line.split()[0] for line in printed[1:1 + len(report["layers"])]]
    assert report["dtype"] == "float64" and report["input_shapes"] == [[4, 3]]
    assert report["ok"] and report["random_input"] and report["first_divergence"] is None
    row = report["layers"][0]
    assert set(row) == {"layer", "kind", "max_abs_error", "error", "rtol", "worst",
                        "compared", "ok"}
    assert 0 <= row["error"] <= row["rtol"] == 1e-10


def test_an_example_input_of_the_wrong_dtype_or_shape_is_refused_by_name() -> None:
    model = note004()
    with pytest.raises(TypeError, match="port: example_input"):
        nn_rosetta.port(model, XOR_INPUTS.astype(np.float32))
    with pytest.raises(ValueError, match=r"port: example_input must have shape \(N, 3\)"):
        nn_rosetta.port(model, np.zeros((4, 4)))


def test_a_torch_sequential_ports_to_keras_the_other_way(tmp_path) -> None:
    norm = torch.nn.BatchNorm1d(8)
    with torch.no_grad():
        for tensor, low, high in ((norm.weight, 0.5, 1.5), (norm.bias, -0.5, 0.5),
                                  (norm.running_mean, -0.5, 0.5), (norm.running_var, 0.5, 1.5)):
            tensor.uniform_(low, high)
    module = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), norm,
                                 torch.nn.Dropout(0.3), torch.nn.Linear(8, 3),
                                 torch.nn.Softmax(dim=-1))
    x = np.random.default_rng(2).standard_normal((5, 6)).astype(np.float32)
    result = porting.port_to_keras(module, x)
    assert result.report.first_divergence is None, str(result.report)
    assert 'keras.layers.Dense(8, activation="relu"),' in result.source
    assert "keras.layers.BatchNormalization(momentum=1 - 0.1, epsilon=1e-05)," in result.source
    assert module.training  # the report ran it in inference, and left its mode alone
    result.save(tmp_path)
    namespace: dict = {}
    exec((tmp_path / "model.py").read_text(), namespace)
    model = namespace["build"]()
    model.load_weights(tmp_path / "model.weights.h5")
    with torch.no_grad():
        expected = module.eval()(torch.from_numpy(x)).numpy()
    tol = tolerance(np.float32, "output")
    assert tol.error(keras.ops.convert_to_numpy(model(x)), expected) <= tol.rtol


def test_a_float64_torch_leaky_relu_parts_from_keras_and_the_report_says_where() -> None:
    # The other way the float32 slope cannot be undone: Keras's LeakyReLU rounds it.
    module = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LeakyReLU(),
                                 torch.nn.Linear(4, 2)).double()
    report = porting.port_to_keras(module).report
    assert report.first_divergence is report.layers[0]
    assert report.layers[0].layer == "0 (Linear) + 1 (LeakyReLU)"
    assert 1e-10 < report.layers[0].error < 1e-8


def test_the_character_model_ports_to_keras_from_torch_modules() -> None:
    from torch_impl import sequences

    module = torch.nn.Sequential(torch.nn.Embedding(40, 16),
                                 torch.nn.LSTM(16, 32, batch_first=True),
                                 sequences.RecurrentOutput(),  # the output of LSTM's tuple
                                 torch.nn.Linear(32, 40))
    result = porting.port_to_keras(module, input_shape=(25,))
    assert result.report.first_divergence is None, str(result.report)
    assert "keras.layers.LSTM(32, return_sequences=True)," in result.source


@pytest.mark.parametrize(("inner", "merge_mode", "every", "module"), [
    (L.LSTM, "concat", False, "nn.LSTM"), (L.GRU, "sum", True, "nn.GRU"),
    (L.SimpleRNN, "ave", False, "nn.RNN"), (L.LSTM, "mul", True, "nn.LSTM")])
def test_a_bidirectional_layer_ports_to_one_bidirectional_torch_module(inner, merge_mode, every,
                                                                       module) -> None:
    model = keras.Sequential([keras.Input((5, 3)), L.Bidirectional(
        inner(4, return_sequences=every), merge_mode=merge_mode, name="both")])
    result = nn_rosetta.port(model)
    assert result.report.first_divergence is None, str(result.report)
    assert f"self.both = {module}(3, 4, batch_first=True, bidirectional=True)" in result.source
    last_step = "torch.cat((x[:, -1, :4], x[:, 0, 4:]), dim=-1)"
    assert (last_step in result.source) is not every
    assert ("the reverse direction ends at t = 0" in result.source) is not every
    assert (f'merge_mode="{merge_mode}"' in result.source) is (merge_mode != "concat")


def test_a_bidirectional_torch_module_ports_to_keras_bidirectional() -> None:
    from torch_impl import sequences

    module = torch.nn.Sequential(torch.nn.GRU(3, 4, batch_first=True, bidirectional=True),
                                 sequences.RecurrentOutput(),  # the output of GRU's tuple
                                 sequences.MergeDirections("mul"))  # Keras's merge_mode
    result = porting.port_to_keras(module, input_shape=(5, 3))
    assert result.report.first_divergence is None, str(result.report)
    assert ('keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True), '
            'merge_mode="mul"),') in result.source
def test_torch_unflatten_and_permute_port_to_keras_reshape_and_permute() -> None:
    """Off feature maps the layouts agree: nn.Unflatten is Keras's Reshape, torch_impl's
    Permute (x.permute) Keras's Permute counted from 1."""
    from torch_impl.layers import Permute

    module = torch.nn.Sequential(torch.nn.Unflatten(1, (3, 2)), Permute((0, 2, 1)),
                                 torch.nn.Flatten(), torch.nn.Linear(6, 2)).double()
    result = nn_rosetta.port_to_keras(module, np.random.default_rng(0).random((4, 6)),
                                      input_shape=(6,))
    assert "keras.layers.Reshape((3, 2)" in result.source
    assert "keras.layers.Permute((2, 1)" in result.source
    assert "every layer within tolerance" in str(result.report)
