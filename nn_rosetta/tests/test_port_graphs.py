"""nn_rosetta.port on functional Keras models (graphs): built here, saved and read back,
ported, and run again from the written files in a fresh Python process that imports
nothing but torch; the per-layer report; refusals and stubs."""

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
import torch_impl
from nn_rosetta import cli, porting
from nn_rosetta.tolerances import tolerance

L = keras.layers
ROOT = Path(__file__).resolve().parents[2]
HERE = str(Path(__file__).resolve())


def _statistics(model: keras.Model) -> keras.Model:
    """Every BatchNormalization's γ, β and running statistics away from their defaults."""
    rng = np.random.default_rng(3)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            n = layer.moving_mean.shape[0]
            drawn = dict(zip(("gamma", "beta", "moving_mean", "moving_variance"), (
                rng.uniform(0.5, 1.5, n), rng.uniform(-0.5, 0.5, n),
                rng.uniform(-0.5, 0.5, n), rng.uniform(0.5, 1.5, n)), strict=True))
            layer.set_weights([drawn[weight.name] for weight in layer.weights])  # scale=False: no γ
    return model


def two_branches(dtype: str = "float32") -> keras.Model:
    """Two inputs and two outputs, a tensor used three times (fan-out), a residual Add, a
    Concatenate on conv channels, conv → BatchNorm → Activation, and a Dense branch."""
    keras.utils.set_random_seed(4)
    image = keras.Input((8, 8, 3), name="image", dtype=dtype)
    extra = keras.Input((5,), name="extra", dtype=dtype)
    stem = L.Conv2D(6, 3, padding="same", name="stem", dtype=dtype)(image)
    stem = L.BatchNormalization(name="stem_bn", dtype=dtype)(stem)
    stem = L.Activation("relu", name="stem_relu", dtype=dtype)(stem)
    branch = L.Conv2D(6, 3, padding="same", activation="relu", name="branch_conv",
                      dtype=dtype)(stem)
    residual = L.Add(name="residual", dtype=dtype)([stem, branch])
    wide = L.Concatenate(name="wide", dtype=dtype)([residual, stem])
    pooled = L.GlobalAveragePooling2D(name="pooled", dtype=dtype)(wide)
    side = L.Dense(12, activation="tanh", name="side", dtype=dtype)(extra)
    joined = L.Multiply(name="joined", dtype=dtype)([pooled, side])
    logits = L.Dense(3, name="logits", dtype=dtype)(joined)
    return _statistics(keras.Model([image, extra], [logits, residual], name="two_branches"))


def merges() -> keras.Model:
    """Each merge kind on vectors, one input, a float64 output."""
    keras.utils.set_random_seed(4)
    x = keras.Input((4,), name="x", dtype="float64")
    a = L.Dense(6, name="a", dtype="float64")(x)
    b = L.Dense(6, name="b", dtype="float64")(x)
    c = L.Dense(6, activation="gelu", name="c", dtype="float64")(x)
    ops = [L.Subtract(name="difference", dtype="float64")([a, b]),
           L.Average(name="mean", dtype="float64")([a, b, c]),
           L.Maximum(name="largest", dtype="float64")([a, b, c])]
    joined = L.Concatenate(name="joined", dtype="float64")(ops)
    return keras.Model(x, L.Dense(2, name="out", dtype="float64")(joined), name="merges")


def small_resnet() -> keras.Model:
    """A ResNet as Keras Applications name one: two identical basic blocks, then a
    projection block (stride 2, a 1×1 shortcut) and two more identical blocks of its width.

    Seeded: the report compares every layer after all the layers before it, in float32
    (each side runs the whole model once), so the deepest layers carry the rounding of
    ~40 layers, near the tolerance (1e-5) for some draws of the weights."""
    keras.utils.set_random_seed(5)
    x = keras.Input((12, 12, 3), name="image")
    h = L.Conv2D(8, 3, padding="same", name="stem_conv")(x)
    h = L.BatchNormalization(name="stem_bn")(h)
    h = L.Activation("relu", name="stem_relu")(h)
    for stage, width, count in ((1, 8, 2), (2, 12, 3)):
        for k in range(1, count + 1):
            p = f"conv{stage + 1}_block{k}_"
            projects = stage == 2 and k == 1
            shortcut = h
            if projects:
                shortcut = L.Conv2D(width, 1, strides=2, name=p + "0_conv")(h)
                shortcut = L.BatchNormalization(name=p + "0_bn")(shortcut)
            a = L.Conv2D(width, 3, strides=2 if projects else 1, padding="same",
                         name=p + "1_conv")(h)
            a = L.BatchNormalization(name=p + "1_bn")(a)
            a = L.Activation("relu", name=p + "1_relu")(a)
            a = L.Conv2D(width, 3, padding="same", name=p + "2_conv")(a)
            a = L.BatchNormalization(name=p + "2_bn")(a)
            a = L.Add(name=p + "add")([shortcut, a])
            h = L.Activation("relu", name=p + "out")(a)
    h = L.GlobalAveragePooling2D(name="avg_pool")(h)
    return _statistics(keras.Model(x, L.Dense(4, name="predictions")(h), name="small_resnet"))


_RNG = np.random.default_rng(1)
MODELS = {
    "small_resnet": (small_resnet, _RNG.standard_normal((3, 12, 12, 3)).astype(np.float32)),
    "two_branches": (two_branches, [_RNG.standard_normal((4, 8, 8, 3)).astype(np.float32),
                                    _RNG.standard_normal((4, 5)).astype(np.float32)]),
    "two_branches64": (lambda: two_branches("float64"), [_RNG.standard_normal((3, 8, 8, 3)),
                                                         _RNG.standard_normal((3, 5))]),
    "merges": (merges, _RNG.standard_normal((5, 4)))}

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
    model.load_state_dict(torch.load(f"{folder}/weights.pt", weights_only=True), strict=True)
    model.eval()
    inputs = np.load(f"{folder}/inputs.npz")
    with torch.no_grad():
        y = model(*(torch.from_numpy(inputs[f"arr_{k}"]) for k in range(len(inputs.files))))
    np.savez(f"{folder}/outputs.npz", *[t.numpy() for t in (y if isinstance(y, tuple) else [y])])
project = {"reference", "nn_rosetta", "torch_impl", "tf_impl", "keras", "tensorflow"}
print(json.dumps(sorted(project & {name.split(".")[0] for name in sys.modules})))
"""


def run_in_a_fresh_process(found: dict[str, dict], root: Path) -> dict[str, dict]:
    """Run every written port in ``found`` (its folder ``out``, with inputs.npz) in one
    fresh process that may import only torch; add each one's outputs (``fresh``) and the
    project packages that process imported (``imported``)."""
    done = subprocess.run([sys.executable, "-I", "-c", VERIFY, *(str(f["out"]) for f in
                                                                 found.values())],
                          capture_output=True, text=True, timeout=300, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    for entry in found.values():
        outputs = np.load(entry["out"] / "outputs.npz")
        entry["fresh"] = [outputs[f"arr_{k}"] for k in range(len(outputs.files))]
        entry["imported"] = json.loads(done.stdout)
    return found


def assert_reproduces_keras(entry: dict) -> None:
    """The fresh process's outputs are Keras's: dtype, shape, and values at the tolerance."""
    assert len(entry["fresh"]) == len(entry["keras"])
    for fresh, expected in zip(entry["fresh"], entry["keras"], strict=True):
        tol = tolerance(expected.dtype, "output")
        assert fresh.dtype == expected.dtype and fresh.shape == expected.shape
        assert tol.error(fresh, expected) <= tol.rtol


def _listed(value: object) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


@pytest.fixture(scope="module")
def ported(tmp_path_factory) -> dict[str, dict]:
    """Every model saved as a .keras file, read back, ported, written, and run from the
    written files in one fresh process."""
    root = tmp_path_factory.mktemp("port_graphs")
    found = {}
    for name, (build, x) in MODELS.items():
        path = root / f"{name}.keras"
        build().save(path)
        model = porting.load(path)
        result = nn_rosetta.port(model, x)
        out = root / name
        result.save(out)
        np.savez(out / "inputs.npz", *_listed(x))
        expected = [keras.ops.convert_to_numpy(y) for y in _listed(model(x, training=False))]
        found[name] = {"result": result, "out": out, "keras": expected, "model": model}
    return run_in_a_fresh_process(found, root)


@pytest.mark.parametrize("name", MODELS)
def test_the_written_graph_reproduces_keras_in_a_fresh_process(ported, name) -> None:
    assert_reproduces_keras(ported[name])


def test_the_fresh_process_needs_only_torch(ported) -> None:
    assert next(iter(ported.values()))["imported"] == []


@pytest.mark.parametrize("name", MODELS)
def test_every_layer_and_output_agrees_with_keras_within_the_parity_tolerance(ported,
                                                                               name) -> None:
    report = ported[name]["result"].report
    assert report.first_divergence is None, str(report)
    model = ported[name]["model"]
    outputs = [row for row in report.layers if row.kind == "model output"]
    assert len(outputs) == len(model.outputs)
    assert report.dtype == model.layers[-1].dtype


def test_the_report_names_each_layer_with_its_worst_entry(ported) -> None:
    report = ported["two_branches"]["result"].report
    rows = {row.layer: row for row in report.layers}
    assert list(rows) == ["stem", "stem_bn", "stem_relu", "branch_conv", "residual", "wide",
                          "pooled", "side", "joined", "logits", "output logits",
                          "output residual"]
    assert rows["wide"].kind == "Concatenate" and len(rows["wide"].worst) == 4
    text = str(report)
    assert "example inputs 4×8×8×3 and 4×5: every layer within tolerance" in text
    assert "output logits" in text and "output residual" in text


@pytest.mark.parametrize("name", MODELS)
def test_the_generated_graph_source_passes_ruff(ported, name) -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "ruff"), "check", "--no-cache",
                           "--config", str(ROOT / "pyproject.toml"),
                           str(ported[name]["out"] / "model.py")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_forward_takes_and_returns_keras_order_with_tensors_named_after_layers(ported) -> None:
    source = ported["two_branches"]["result"].source
    tree = ast.parse(source)
    (net,) = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    forward = next(f for f in net.body if isinstance(f, ast.FunctionDef) and
                   f.name == "forward")
    assert [a.arg for a in forward.args.args] == ["self", "image", "extra"]
    assert "branch_conv = torch.relu(self.branch_conv(stem_relu))" in source
    assert "residual = stem_relu + branch_conv" in source
    assert "wide = torch.cat([residual, stem_relu], dim=1)" in source
    assert "joined = pooled * side" in source
    assert "residual_nhwc = residual.permute(0, 2, 3, 1)  # NCHW → NHWC: the output" in source
    assert source.endswith("        return logits, residual_nhwc\n")


def test_each_bridging_comment_stands_once(ported) -> None:
    source = ported["two_branches"]["result"].source
    assert source.count("NHWC → NCHW") == 1
    assert "image = image.permute(0, 3, 1, 2)" in source
    assert "Keras's axis=-1 on channels-last maps" in source
    assert "self.double()  # the Keras model computes in float64" in \
        ported["two_branches64"]["result"].source


def test_merges_are_the_torch_expressions_of_their_rows(ported) -> None:
    source = ported["merges"]["result"].source
    assert "difference = a - b" in source
    assert "mean = (a + b + c) / 3  # summed left to right" in source
    assert "largest = torch.stack([a, b, c]).max(dim=0).values" in source
    assert "joined = torch.cat([difference, mean, largest], dim=-1)" in source


def test_the_weights_load_strictly_into_the_class_with_torch_and_the_project(ported) -> None:
    out = ported["two_branches"]["out"]
    namespace: dict = {}
    exec(compile((out / "model.py").read_text(), "model.py", "exec"), namespace)
    model = namespace["Net"]()
    state = torch.load(out / "weights.pt", weights_only=True)
    model.load_state_dict(state, strict=True)
    loaded = torch_impl.load_weights(out / "weights.pt", namespace["Net"]())
    assert all(torch.equal(loaded.state_dict()[key], value) for key, value in state.items())


def test_safetensors_is_written_only_where_installed(ported) -> None:
    written = sorted(p.name for p in ported["merges"]["out"].iterdir())
    try:
        import safetensors  # noqa: F401
    except ImportError:
        assert "model.safetensors" not in written
    else:
        assert "model.safetensors" in written


def test_the_terminal_ports_a_functional_model_file(tmp_path, capsys) -> None:
    merges().save(tmp_path / "m.keras")
    assert cli.main(["port", str(tmp_path / "m.keras"), str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "float64, random example input 4×4: every layer within tolerance" in printed
    assert {"model.py", "weights.pt"} <= {p.name for p in (tmp_path / "out").iterdir()}


def test_a_repeated_block_is_one_class_used_in_a_sequential_not_copies(ported) -> None:
    source = ported["small_resnet"]["result"].source
    tree = ast.parse(source)
    classes = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
    assert classes == ["Block1", "Block2", "Net"]
    assert '"""The block Keras repeats as conv2_block1_, conv2_block2_."""' in source
    assert "self.conv2_block1_to_2 = nn.Sequential(*(Block1() for _ in range(2)))" in source
    assert "self.conv3_block2_to_3 = nn.Sequential(*(Block2() for _ in range(2)))" in source
    assert "conv2_block2_out = self.conv2_block1_to_2(stem_relu)" in source
    # the projection block, which nothing repeats, stays inline in Net.forward
    assert "conv3_block1_add = conv3_block1_0_bn + conv3_block1_2_bn" in source
    assert "        add = x + bn2\n" in source and source.count("nn.Conv2d(8, 8, 3") == 2
    assert source.count("\n") < 150


def test_the_report_reads_every_layer_inside_the_blocks(ported) -> None:
    report = ported["small_resnet"]["result"].report
    names = [row.layer for row in report.layers]
    assert "conv2_block2_1_conv" in names and "conv3_block3_out" in names
    # every Keras layer but the Input is a row (an Activation after a BatchNorm is a layer of
    # its own), and the model's output one more
    assert len(names) == len(ported["small_resnet"]["model"].layers)
    assert report.first_divergence is None, str(report)


# -- refusals and stubs --------------------------------------------------------------------

class Scale(L.Layer):
    """A custom layer: nn-rosetta cannot read its call."""

    def call(self, x):
        return 2.0 * x


def with_foreign(kind: str) -> keras.Model:
    x = keras.Input((6,), name="x")
    h = L.Dense(4, name="fc")(x)
    odd = L.Lambda(lambda t: t * 2.0, name="double")(h) if kind == "lambda" else \
        Scale(name="scale")(h)
    y = L.Add(name="sum")([h, odd])
    return keras.Model(x, L.Dense(2, name="out")(y), name="foreign")


def nested_blocks() -> keras.Model:
    """A nested Sequential (Conv2D → BatchNorm → ReLU, pooling, Dense) and a nested
    functional block with a skip, whose Dense has the Sequential's Dense's name."""
    keras.utils.set_random_seed(6)
    stem = keras.Sequential([L.Conv2D(4, 3, padding="same", name="conv"),
                             L.BatchNormalization(name="bn"), L.Activation("relu", name="relu"),
                             L.GlobalAveragePooling2D(name="pool"),
                             L.Dense(5, activation="tanh", name="dense")], name="stem")
    u = keras.Input((5,), name="u")
    residual = keras.Model(u, L.Add(name="skip")([u, L.Dense(5, name="dense")(u)]),
                           name="residual")
    image = keras.Input((6, 6, 2), name="image")
    logits = L.Dense(2, name="logits")(residual(stem(image)))
    return _statistics(keras.Model(image, logits, name="nested"))


def test_nested_models_port_flattened_under_their_layers_names_within_the_tolerance(
        ) -> None:
    result = nn_rosetta.port(nested_blocks())
    assert result.report.first_divergence is None, str(result.report)
    assert [row.layer for row in result.report.layers] == [
        "conv", "bn", "relu", "pool", "dense", "residual_dense", "skip", "logits",
        "output logits"]
    assert "residual_dense = self.residual_dense(dense)" in result.source


def test_a_nested_model_called_twice_is_refused_by_name_by_the_port() -> None:
    x = keras.Input((3,), name="x")
    inner = keras.Sequential([keras.Input((3,)), L.Dense(3, name="fc")], name="inner")
    with pytest.raises(ValueError, match=r"^port: layer 'inner' is a nested Sequential called "
                                         r"2 times"):
        nn_rosetta.port(keras.Model(x, inner(inner(x))))


def test_cross_attention_is_refused_naming_the_layer_and_its_tensors() -> None:
    query, memory = keras.Input((3, 8), name="query"), keras.Input((5, 8), name="memory")
    attended = L.MultiHeadAttention(2, 4, name="cross")(query, memory)
    model = keras.Model([query, memory], L.Dense(2, name="out")(attended))
    with pytest.raises(TypeError, match=r"^port: layer 'cross' \(MultiHeadAttention\) takes 2 "
                                        r"tensors \(query, memory\); the port writes layers of "
                                        r"one input"):
        nn_rosetta.port(model)


@pytest.mark.parametrize("kind", ["lambda", "custom"])
def test_a_lambda_or_custom_layer_is_refused_with_its_class_and_file(kind) -> None:
    with pytest.raises(TypeError) as error:
        nn_rosetta.port(with_foreign(kind))
    message = str(error.value)
    name, what = ("double", "is a Lambda") if kind == "lambda" else \
        ("scale", "custom layer class nn_rosetta.tests.test_port_graphs.Scale")
    assert f"port: layer {name!r}" in message and what in message
    assert f"(from {HERE})" in message and "stubs=True" in message


def test_with_stubs_the_layer_is_a_named_stub_the_report_does_not_compare(tmp_path) -> None:
    result = nn_rosetta.port(with_foreign("custom"), stubs=True)
    source = result.source
    assert "class Scale(nn.Module):" in source
    assert "raise NotImplementedError('scale: port the Keras Scale by hand')" in source
    assert '# Keras config: {"name": "scale"' in source
    assert "scale = self.scale(fc)" in source
    rows = {row.layer: row for row in result.report.layers}
    assert not rows["scale"].compared and "not compared (a stub)" in str(result.report)
    assert rows["sum"].compared and result.report.first_divergence is None, str(result.report)
    with pytest.raises(NotImplementedError, match="scale: port the Keras Scale by hand"):
        result.module(torch.zeros(2, 6))


def test_the_terminal_stubs_with_a_flag(tmp_path, capsys) -> None:
    with_foreign("custom").save(tmp_path / "m.keras")
    custom = {"Scale": Scale}
    with keras.saving.custom_object_scope(custom):
        assert cli.main(["port", str(tmp_path / "m.keras"), str(tmp_path / "out")]) == 2
        assert "stubs=True (nn-rosetta port --stubs)" in capsys.readouterr().err
        assert cli.main(["port", str(tmp_path / "m.keras"), str(tmp_path / "out"),
                         "--stubs"]) == 0
    assert "class Scale(nn.Module):" in (tmp_path / "out" / "model.py").read_text()


def test_a_sequential_with_a_lambda_ports_with_a_stub_between_its_layers() -> None:
    model = keras.Sequential([keras.Input((5,)), L.Dense(4, name="fc"),
                              L.Lambda(lambda t: t * 2.0, name="twice"),
                              L.Dense(2, name="out")], name="chain")
    with pytest.raises(TypeError, match="port: layer 'twice' is a Lambda"):
        nn_rosetta.port(model)
    result = nn_rosetta.port(model, stubs=True)
    # Keras names the Sequential's input (input_layer, input_layer_1, … in one session)
    argument = model.get_config()["layers"][0]["config"]["name"]
    assert f"    def forward(self, {argument}: torch.Tensor) -> torch.Tensor:" in result.source
    assert "twice = self.twice(fc)\n        out = self.out(twice)\n        return out\n" in \
        result.source
    assert [row.compared for row in result.report.layers] == [True, False, True, True]
    assert result.report.ok, str(result.report)


def test_a_stub_taking_a_model_input_directly_is_refused_naming_the_input() -> None:
    x = keras.Input((5,), name="raw")
    h = L.Lambda(lambda t: t * 2.0, name="twice")(x)
    model = keras.Model(x, L.Dense(2, name="out")(h))
    with pytest.raises(TypeError, match=r"port: input 'raw' is taken only by the stubbed "
                                        r"layer\(s\) twice"):
        nn_rosetta.port(model, stubs=True)


def test_the_terminal_takes_one_example_input_per_model_input_by_name(tmp_path,
                                                                      capsys) -> None:
    two_branches().save(tmp_path / "m.keras")
    image, extra = MODELS["two_branches"][1]
    np.savez(tmp_path / "x.npz", extra=extra, image=image)
    assert cli.main(["port", str(tmp_path / "m.keras"), "--out", str(tmp_path / "out"),
                     "--input", str(tmp_path / "x.npz")]) == 0
    assert "float32, example inputs 4×8×8×3 and 4×5: every layer within tolerance" in \
        capsys.readouterr().out


def test_keras_applications_resnet50_ports_as_a_resnet_within_the_tolerance(tmp_path) -> None:
    # weights=None: nothing is downloaded; 64×64 as issue 22 asks
    keras.utils.set_random_seed(0)
    model = keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3), classes=10)
    x = np.random.default_rng(0).standard_normal((2, 64, 64, 3)).astype(np.float32)
    result = nn_rosetta.port(model, x)
    assert result.report.ok, str(result.report)
    assert len(result.report.layers) == len(model.layers)  # every layer but the Input, + output
    source = result.source
    assert source.count("\n") < 400
    assert "self.conv4_block2_to_6 = nn.Sequential(*(Block3() for _ in range(5)))" in source
    assert "conv5_block3_out = self.conv5_block2_to_3(conv5_block1_out)" in source
    (tmp_path / "model.py").write_text(source, encoding="utf-8")
    done = subprocess.run([str(Path(sys.executable).parent / "ruff"), "check", "--no-cache",
                           "--config", str(ROOT / "pyproject.toml"), str(tmp_path / "model.py")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_keras_applications_vgg16_a_functional_chain_ports_within_the_tolerance() -> None:
    keras.utils.set_random_seed(0)
    model = keras.applications.VGG16(weights=None, input_shape=(32, 32, 3), classes=10)
    x = np.random.default_rng(0).standard_normal((2, 32, 32, 3)).astype(np.float32)
    result = nn_rosetta.port(model, x)
    assert result.report.ok, str(result.report)
    assert "self.fc1 = nn.Linear(512, 4096)" in result.source


def _run_fresh(result: porting.Ported, x: np.ndarray, folder: Path) -> np.ndarray:
    """The ported model's output from its written files, in a fresh process with only torch."""
    result.save(folder)
    np.savez(folder / "inputs.npz", x)
    done = subprocess.run([sys.executable, "-I", "-c", VERIFY, str(folder)],
                          capture_output=True, text=True, timeout=120, cwd=folder)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == []
    return np.load(folder / "outputs.npz")["arr_0"]


def test_keras_applications_mobilenetv2_ports_its_inverted_residuals_as_blocks(
        tmp_path) -> None:
    # BatchNorm statistics drawn away from their defaults: with the defaults the activations
    # shrink through the 17 blocks to ~1e-9 and every comparison would pass trivially
    keras.utils.set_random_seed(0)
    model = _statistics(keras.applications.MobileNetV2(
        alpha=0.35, input_shape=(96, 96, 3), weights=None, classes=10))
    x = np.random.default_rng(0).standard_normal((2, 96, 96, 3)).astype(np.float32)
    result = nn_rosetta.port(model, x)
    assert result.report.ok, str(result.report)  # measured worst: 4.2e-6 (rtol 1e-5)
    assert len(result.report.layers) == len(model.layers)
    assert "self.block_7_to_9 = nn.Sequential(*(Block2() for _ in range(3)))" in result.source
    assert "nn.ReLU6()" in result.source
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    # measured worst: 3.1e-7 relative
    np.testing.assert_allclose(_run_fresh(result, x, tmp_path), expected, rtol=1e-4, atol=0)


def test_keras_applications_densenet121_ports_its_concatenations_within_the_tolerance(
        tmp_path) -> None:
    # Default BatchNorm statistics: with drawn ones, 3×3 convolutions of 128 channels (1152
    # products a sum) leave the float32 tolerance by the order of their sums alone (2.4e-5
    # against 1e-5, each run on Keras's own input); the model in float64 agrees within 6e-14
    keras.utils.set_random_seed(0)
    model = keras.applications.DenseNet121(input_shape=(64, 64, 3), weights=None, classes=10)
    x = np.random.default_rng(0).standard_normal((2, 64, 64, 3)).astype(np.float32)
    result = nn_rosetta.port(model, x)
    assert result.report.ok, str(result.report)  # measured worst: 6.6e-6 (rtol 1e-5)
    assert "eps=1.001e-05" in result.source
    assert "concat = torch.cat([x, conv2], dim=1)" in result.source
    assert "self.pool2_pool = nn.AvgPool2d(2)" in result.source
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    # measured worst: 7.7e-8 relative
    np.testing.assert_allclose(_run_fresh(result, x, tmp_path), expected, rtol=1e-4, atol=0)


def test_keras_applications_xception_ports_its_bias_free_separable_convolutions(
        tmp_path) -> None:
    # Default BatchNorm statistics, as DenseNet's: with drawn ones the 1×1 stride-2
    # shortcut of 728 channels (conv2d_3) parts by its float32 sums' order alone (1.2e-5
    # against 1e-5); 71×71 is the smallest input Xception takes
    keras.utils.set_random_seed(0)
    model = keras.applications.Xception(input_shape=(71, 71, 3), weights=None, classes=10)
    x = np.random.default_rng(0).standard_normal((2, 71, 71, 3)).astype(np.float32)
    result = nn_rosetta.port(model, x)
    assert result.report.ok, str(result.report)  # measured worst: 2.0e-6 (rtol 1e-5)
    assert "nn.Conv2d(64, 64 * 1, 3, padding=1, groups=64, bias=False),\n" \
           "            nn.Conv2d(64 * 1, 128, 1, bias=False)," in result.source
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(_run_fresh(result, x, tmp_path), expected, rtol=1e-4, atol=0)


def test_keras_applications_inceptionv3_ports_its_batchnorms_without_gamma(tmp_path) -> None:
    # Default BatchNorm statistics, as DenseNet's: with drawn ones a 1×7 convolution of 128
    # channels (conv2d_34) parts by its float32 sums' order alone (1.25e-5 against 1e-5);
    # 75×75 is the smallest input InceptionV3 takes
    keras.utils.set_random_seed(0)
    model = keras.applications.InceptionV3(input_shape=(75, 75, 3), weights=None, classes=10)
    x = np.random.default_rng(0).standard_normal((2, 75, 75, 3)).astype(np.float32)
    result = nn_rosetta.port(model, x)
    assert result.report.ok, str(result.report)  # measured worst: 3.0e-6 (rtol 1e-5)
    assert "Keras's scale=False:" in result.source  # its comment on the BatchNorm2d line
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(_run_fresh(result, x, tmp_path), expected, rtol=1e-4, atol=0)


def test_keras_applications_mobilenet_ports_its_head_that_keeps_dims(tmp_path) -> None:
    """MobileNet (v1) pools with keepdims=True and classifies with a 1×1 convolution:
    torch's mean(dim=(2, 3), keepdim=True)."""
    keras.utils.set_random_seed(0)
    model = _statistics(keras.applications.MobileNet(alpha=0.25, input_shape=(64, 64, 3),
                                                     weights=None, classes=10))
    x = np.random.default_rng(0).standard_normal((2, 64, 64, 3)).astype(np.float32)
    result = nn_rosetta.port(model, x)
    assert result.report.ok, str(result.report)  # measured worst: 2.9e-6 (rtol 1e-5)
    assert "x = x.mean(dim=(2, 3), keepdim=True)" in result.source
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(_run_fresh(result, x, tmp_path), expected, rtol=1e-4, atol=0)


def test_a_squeeze_and_excitation_gate_ports_as_a_broadcast_product(tmp_path) -> None:
    """EfficientNet's pattern: Normalization(axis=3) of an image, then maps (N, H, W, C)
    times a gate (N, 1, 1, C) computed from their global average."""
    keras.utils.set_random_seed(6)
    x = keras.Input((6, 6, 3), name="image")
    normalization = L.Normalization(axis=3, name="normalization")
    h = normalization(x)
    normalization.adapt_mean.assign([0.1, -0.2, 0.3])
    normalization.adapt_variance.assign([0.5, 2.0, 1.5])
    normalization.finalize_state()
    maps = L.Conv2D(4, 3, padding="same", activation="swish", name="maps")(h)
    squeeze = L.GlobalAveragePooling2D(name="se_squeeze")(maps)
    squeeze = L.Reshape((1, 1, 4), name="se_reshape")(squeeze)
    gate = L.Conv2D(4, 1, activation="sigmoid", name="se_expand")(squeeze)
    excited = L.Multiply(name="se_excite")([maps, gate])
    model = keras.Model(x, L.Dense(2, name="out")(L.Flatten(name="flat")(excited)))
    image = np.random.default_rng(6).standard_normal((3, 6, 6, 3)).astype(np.float32)
    result = nn_rosetta.port(model, image)
    assert result.report.ok, str(result.report)
    assert "se_excite = maps * se_expand" in result.source
    expected = keras.ops.convert_to_numpy(model(image, training=False))
    np.testing.assert_allclose(_run_fresh(result, image, tmp_path), expected, rtol=1e-5,
                               atol=1e-6)


def _efficientnetb0(drawn: bool) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.applications.EfficientNetB0(input_shape=(64, 64, 3), weights=None,
                                              classes=10)
    return _statistics(model) if drawn else model


EFFICIENTNET_INPUT = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)


def _ruff(source: str, folder: Path) -> subprocess.CompletedProcess:
    (folder / "model.py").write_text(source, encoding="utf-8")
    return subprocess.run([str(Path(sys.executable).parent / "ruff"), "check", "--no-cache",
                           "--config", str(ROOT / "pyproject.toml"), str(folder / "model.py")],
                          capture_output=True, text=True, timeout=60)


def test_keras_applications_efficientnetb0_ports_its_blocks_within_the_tolerance(
        tmp_path) -> None:
    model = _efficientnetb0(drawn=False)
    result = nn_rosetta.port(model, EFFICIENTNET_INPUT)
    assert result.report.ok, str(result.report)  # measured worst: 8.8e-7 (rtol 1e-5)
    assert len(result.report.layers) == len(model.layers)
    source = result.source
    # each block of a stage drops with its own rate: the rate is the class's argument
    assert "    def __init__(self, drop_p: float) -> None:" in source
    assert "self.block6b_to_6d = nn.Sequential(*(Block3(drop_p) for drop_p in (\n" \
        "            0.15000000000000002, 0.1625, 0.17500000000000002)))" in source
    assert "drop = project_bn * self.drop(project_bn.new_ones(len(project_bn), 1, 1, 1))" \
        in source
    assert "# Keras's noise_shape=(None, 1, 1, 1): one draw shared where it is 1" in source
    done = _ruff(source, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_keras_applications_efficientnetb0_with_drawn_statistics_matches_keras(
        tmp_path) -> None:
    # BatchNorm statistics drawn away from their defaults, with which the activations
    # shrink to ~1e-5 at the top. Its float32 report parts from Keras at two 1×1
    # convolutions of 1152 channels (1.1e-5 against 1e-5, each run on Keras's own input:
    # float32 sums of 1152 products in another order); the output stays within 1e-4
    model = _efficientnetb0(drawn=True)
    result = nn_rosetta.port(model, EFFICIENTNET_INPUT)
    expected = keras.ops.convert_to_numpy(model(EFFICIENTNET_INPUT, training=False))
    np.testing.assert_allclose(_run_fresh(result, EFFICIENTNET_INPUT, tmp_path), expected,
                               rtol=1e-4, atol=0)


def test_stochastic_depth_keeps_or_drops_each_sample_whole_in_training() -> None:
    x = keras.Input((4, 4, 2), name="image")
    h = L.Conv2D(3, 1, name="conv")(x)
    h = L.Dropout(0.5, noise_shape=(None, 1, 1, 1), name="drop")(h)
    model = keras.Model(x, L.GlobalAveragePooling2D(name="pool")(h))
    image = np.random.default_rng(9).standard_normal((64, 4, 4, 2)).astype(np.float32)
    module = nn_rosetta.port(model, image).module
    inference = module(torch.from_numpy(image)).detach()
    torch.manual_seed(0)
    trained = module.train()(torch.from_numpy(image)).detach()
    dropped = (trained == 0).all(dim=1)
    assert dropped.any() and not dropped.all()
    torch.testing.assert_close(trained[~dropped], 2 * inference[~dropped])
