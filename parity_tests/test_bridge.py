"""The bridge from the notes' code to the three translations, one row per idiom.

Each :class:`BridgeRow` takes an idiom of the notes (note 000's TensorFlow, note 004's
PyTorch module) and writes it three ways: TensorFlow as it should be written, PyTorch
and NumPy (the spec). ``test_the_three_sides_agree`` runs the three on the same data and
compares them with the project's tolerances; ``docs/bridge.md`` is generated from
``ROWS`` and shows these functions as written here. A line marked ``# idiom`` is what the
bridge table quotes (the marker is not shown). Where a note slips, ``slips`` holds the
notes' pattern (rewritten, not copied), and a test below shows the slip happening.
"""

from __future__ import annotations

import inspect
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework
from parity_tests.report import Recorder
from reference import registry

tf = framework("tf").tf  # imported through tf_impl, which sets TF's environment first
torch = framework("torch").torch
F = torch.nn.functional


@dataclass(frozen=True)
class BridgeRow:
    key: str
    title: str
    note: str
    idiom: str  # as the note writes it
    verdict: str  # "right as written", or the slip in a few words
    remark: str  # what to know when carrying it across (Markdown)
    inputs: Callable[[np.random.Generator], dict]
    tensorflow: Callable
    pytorch: Callable
    numpy: Callable
    kind: str = "output"  # the tolerance kind the three are compared with
    slips: tuple[Callable, ...] = ()


# ── note 000: a dense layer ──────────────────────────────────────────────────────────────

def _dense_inputs(rng: np.random.Generator) -> dict:
    return {"x": rng.standard_normal((4, 3)).astype(np.float32),
            "W": rng.standard_normal((3, 2)).astype(np.float32),
            "b": rng.standard_normal(2).astype(np.float32)}


def dense_tensorflow(x, W, b):
    layer = tf.keras.layers.Dense(units=2)  # idiom
    layer.build(x.shape)  # Keras learns the input width here, or at the first call
    layer.set_weights([W, b])  # kernel W: (in, out)
    return layer(x).numpy()


def dense_pytorch(x, W, b):
    layer = torch.nn.Linear(in_features=3, out_features=2)  # idiom
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(W.T))  # weight: (out, in), the transpose
        layer.bias.copy_(torch.from_numpy(b))
    return layer(torch.from_numpy(x)).detach().numpy()


def dense_numpy(x, W, b):
    layer = reference.Dense(3, 2, dtype=np.float32)  # idiom
    layer.W, layer.b = W, b
    return layer.forward(x)  # x @ W + b


# ── note 000: mean squared error, two ways ───────────────────────────────────────────────

def _regression_inputs(rng: np.random.Generator) -> dict:
    return {"y": rng.standard_normal((5, 2)), "preds": rng.standard_normal((5, 2))}


def mse_tensorflow(y, preds):
    loss = tf.reduce_mean(tf.square(tf.subtract(y, preds)))  # idiom
    return loss.numpy()


def mse_pytorch(y, preds):
    y, preds = torch.from_numpy(y), torch.from_numpy(preds)
    loss = F.mse_loss(preds, y)  # idiom: (prediction, target)
    return loss.numpy()


def mse_numpy(y, preds):
    return reference.losses.mean_squared_error(y, preds)  # idiom


def per_sample_mse_tensorflow(y, preds):
    per_sample = tf.keras.losses.MSE(y, preds)  # idiom: one loss per sample, shape (N,)
    return per_sample.numpy()


def per_sample_mse_pytorch(y, preds):
    y, preds = torch.from_numpy(y), torch.from_numpy(preds)
    per_sample = F.mse_loss(preds, y, reduction="none").mean(dim=-1)  # idiom
    return per_sample.numpy()


def per_sample_mse_numpy(y, preds):
    return np.mean(np.square(preds - y), axis=-1)  # idiom


# ── note 000: cross-entropy from logits ──────────────────────────────────────────────────

def _binary_inputs(rng: np.random.Generator) -> dict:
    return {"y": rng.integers(0, 2, (6, 1)).astype(np.float64),
            "logits": 3.0 * rng.standard_normal((6, 1))}


def binary_cross_entropy_as_in_note000(y, logits):
    # softmax over a single column is 1 for every sample, so this is 0 whatever y is
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(y, logits)).numpy()


def binary_cross_entropy_tensorflow(y, logits):
    losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits)  # idiom
    loss = tf.reduce_mean(losses)  # idiom
    return loss.numpy()


def binary_cross_entropy_pytorch(y, logits):
    y, logits = torch.from_numpy(y), torch.from_numpy(logits)
    loss = F.binary_cross_entropy_with_logits(logits, y)  # idiom
    return loss.numpy()


def binary_cross_entropy_numpy(y, logits):
    return reference.losses.binary_cross_entropy_with_logits(y, logits)  # idiom


def _categorical_inputs(rng: np.random.Generator) -> dict:
    return {"y": np.eye(4)[rng.integers(0, 4, 6)], "logits": 3.0 * rng.standard_normal((6, 4))}


def softmax_cross_entropy_tensorflow(y, logits):
    losses = tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits)  # idiom
    loss = tf.reduce_mean(losses)  # idiom
    return loss.numpy()


def softmax_cross_entropy_pytorch(y, logits):
    y, logits = torch.from_numpy(y), torch.from_numpy(logits)
    loss = F.cross_entropy(logits, y)  # idiom: (logits, target)
    return loss.numpy()


def softmax_cross_entropy_numpy(y, logits):
    return reference.losses.categorical_cross_entropy_with_logits(y, logits)  # idiom


# ── note 000: gradient descent with a GradientTape ───────────────────────────────────────

def _descent_inputs(rng: np.random.Generator) -> dict:
    X = rng.standard_normal((8, 3))
    return {"X": X, "y": X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(8),
            "w0": rng.standard_normal(3), "learning_rate": 0.1, "steps": 20}


def gradient_descent_as_in_note000(X, y, w0, learning_rate, steps):
    """Returns the gradient the tape gave at each step."""
    weights = tf.Variable(w0)
    gradients = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.linalg.matvec(X, weights) - y))
        gradients.append(tape.gradient(loss, weights))
        if gradients[-1] is None:
            break  # as written, the next line would now raise: lr * None
        weights = weights - learning_rate * gradients[-1]  # rebinds: a plain tensor now
    return gradients


def gradient_descent_rebinding_in_pytorch(X, y, w0, learning_rate, steps):
    """The same slip in torch. Returns the .grad seen at each step."""
    weights = torch.tensor(w0, requires_grad=True)
    gradients = []
    for _ in range(steps):
        F.mse_loss(torch.from_numpy(X) @ weights, torch.from_numpy(y)).backward()
        gradients.append(weights.grad)
        if gradients[-1] is None:
            break
        weights = weights - learning_rate * weights.grad  # a non-leaf: gets no .grad
    return gradients


def initial_weights_as_in_note000():
    return tf.Variable([tf.random.normal()])  # tf.random.normal needs a shape


def gradient_descent_tensorflow(X, y, w0, learning_rate, steps):
    weights = tf.Variable(w0)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.linalg.matvec(X, weights) - y))
        gradient = tape.gradient(loss, weights)
        weights.assign_sub(learning_rate * gradient)  # idiom: in place; still the watched Variable
    return weights.numpy()


def gradient_descent_pytorch(X, y, w0, learning_rate, steps):
    weights = torch.tensor(w0, requires_grad=True)
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(steps):
        F.mse_loss(X @ weights, y).backward()
        with torch.no_grad():
            weights -= learning_rate * weights.grad  # idiom: in place; weights stays a leaf
        weights.grad.zero_()  # backward() adds to .grad
    return weights.detach().numpy()


def gradient_descent_numpy(X, y, w0, learning_rate, steps):
    weights = w0.copy()
    for _ in range(steps):
        dloss_dpreds = reference.losses.mean_squared_error_gradient(y, X @ weights)
        weights -= learning_rate * (X.T @ dloss_dpreds)  # idiom: the chain rule, by hand
    return weights


# ── note 004: the 3-5-8-2 sigmoid network on the XOR data ────────────────────────────────

class Network(torch.nn.Module):
    """Note 004's module: Linear(3, 5), Linear(5, 8), Linear(8, 2), a sigmoid after each."""

    def __init__(self) -> None:
        super().__init__()
        self.lin1 = torch.nn.Linear(3, 5)
        self.lin2 = torch.nn.Linear(5, 8)
        self.lin3 = torch.nn.Linear(8, 2)

    def forward(self, x):
        x = torch.sigmoid(self.lin1(x))
        x = torch.sigmoid(self.lin2(x))
        return torch.sigmoid(self.lin3(x))


def _network_inputs(rng: np.random.Generator) -> dict:
    sizes = ((3, 5), (5, 8), (8, 2))
    layers = [reference.Dense(i, o, "sigmoid", dtype=np.float32) for i, o in sizes]
    model = reference.Sequential(layers, seed=int(rng.integers(2**31)))
    return {"x": registry.XOR_INPUTS, "params": model.params}


def network_as_in_note004(x):
    return Network()(x)  # the NumPy array itself


def network_from_numpy_integers(x):
    return Network()(torch.from_numpy(x))  # keeps NumPy's dtype: int64


def network_pytorch(x, params):
    net = Network()  # idiom: the class's own name
    with torch.no_grad():
        for linear, (W, b) in zip((net.lin1, net.lin2, net.lin3), params, strict=True):
            linear.weight.copy_(torch.from_numpy(W.T))
            linear.bias.copy_(torch.from_numpy(b))
    yhat = net(torch.tensor(x, dtype=torch.float32))  # idiom
    return yhat.detach().numpy()


def network_tensorflow(x, params):
    layers = [tf.keras.layers.Dense(units, activation="sigmoid") for units in (5, 8, 2)]
    model = tf.keras.Sequential([tf.keras.Input(shape=(3,)), *layers])  # idiom
    model.set_weights([array for W, b in params for array in (W, b)])
    yhat = model(x)  # idiom: Keras takes NumPy and casts it to float32
    return yhat.numpy()


def network_numpy(x, params):
    sizes = ((3, 5), (5, 8), (8, 2))
    layers = [reference.Dense(i, o, "sigmoid", dtype=np.float32) for i, o in sizes]
    model = reference.Sequential(layers)  # idiom
    for layer, (W, b) in zip(model.layers, params, strict=True):
        layer.W, layer.b = W, b
    return model.forward(x)  # idiom: the integers are converted to the model's dtype


ROWS = (
    BridgeRow(
        "dense", "A dense layer", "000", "tf.keras.layers.Dense(units=2)", "right as written",
        "Keras learns the input width at the first call and defaults to float32, a "
        "Glorot-uniform kernel of shape (in, out) and a zero bias. `torch.nn.Linear` needs the "
        "input width up front, stores its weight transposed, (out, in), and draws weight and "
        "bias from U(±1/√in). Neither applies an activation unless given one. Same weights, "
        "same numbers:", _dense_inputs, dense_tensorflow, dense_pytorch, dense_numpy),
    BridgeRow(
        "mse", "Mean squared error", "000", "tf.reduce_mean(tf.square(tf.subtract(y, preds)))",
        "right as written",
        "The mean over every entry. torch's losses take (prediction, target), the reverse of "
        "Keras's `(y_true, y_pred)`; with equal shapes the order does not change MSE, but "
        "`F.mse_loss` broadcasts (N, 1) against (N,) to (N, N) with only a warning.",
        _regression_inputs, mse_tensorflow, mse_pytorch, mse_numpy, kind="loss"),
    BridgeRow(
        "per-sample-mse", "`tf.keras.losses.MSE` is per sample", "000",
        "tf.keras.losses.MSE(y, preds)", "not the same as the line above",
        "The function `tf.keras.losses.MSE` (`keras.losses.mean_squared_error`) averages over "
        "the last axis only: one loss per sample, shape (N,). `tf.reduce_mean` of it is the "
        "scalar above; the class `keras.losses.MeanSquaredError()` reduces to the scalar "
        "itself.", _regression_inputs, per_sample_mse_tensorflow, per_sample_mse_pytorch,
        per_sample_mse_numpy, kind="loss"),
    BridgeRow(
        "binary-cross-entropy", "Binary cross-entropy from logits", "000",
        "tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(y, preds))",
        "slip: softmax cross-entropy for a binary loss",
        "Softmax cross-entropy is the multi-class loss. A binary model has one output column, "
        "and the softmax of a single logit is 1: the loss is 0 whatever the labels, and so is "
        "its gradient. The binary cross-entropy the note writes out is "
        "`tf.nn.sigmoid_cross_entropy_with_logits` (or "
        "`keras.losses.BinaryCrossentropy(from_logits=True)`); on probabilities rather than "
        "logits it is `keras.losses.BinaryCrossentropy()`, `F.binary_cross_entropy` and "
        "`reference.losses.binary_cross_entropy`.", _binary_inputs,
        binary_cross_entropy_tensorflow, binary_cross_entropy_pytorch,
        binary_cross_entropy_numpy, kind="loss", slips=(binary_cross_entropy_as_in_note000,)),
    BridgeRow(
        "softmax-cross-entropy", "Softmax cross-entropy, where it belongs", "000",
        "tf.nn.softmax_cross_entropy_with_logits(y, preds)", "right for one-hot labels",
        "For one-hot (or probability) labels and raw logits, not softmax outputs. TF 2's "
        "signature is `(labels, logits)`, so the note's positional call is in the right "
        "order. It returns one loss per sample: `tf.reduce_mean` averages them. torch's "
        "`F.cross_entropy` takes `(logits, target)`, the target being class probabilities as "
        "here or class indices (a long tensor).", _categorical_inputs,
        softmax_cross_entropy_tensorflow, softmax_cross_entropy_pytorch,
        softmax_cross_entropy_numpy, kind="loss"),
    BridgeRow(
        "gradient-tape", "Gradient descent with a GradientTape", "000",
        "weights = weights - lr * gradient",
        "slip: the loop rebinds the Variable to a plain tensor",
        "The update binds the name `weights` to a new, plain tensor. A tape watches only "
        "variables (and what `tape.watch` names), so from the second step `tape.gradient` "
        "returns `None`. Update the Variable in place, `weights.assign_sub(lr * gradient)`, or "
        "let an optimizer do it: `optimizer.apply_gradients([(gradient, weights)])`. The same "
        "rebinding in torch makes a non-leaf tensor whose `.grad` stays `None`: update in "
        "place under `torch.no_grad()`, and zero `.grad`, which `backward()` accumulates. "
        "(The note's `tf.random.normal()` also needs a shape.)", _descent_inputs,
        gradient_descent_tensorflow, gradient_descent_pytorch, gradient_descent_numpy,
        slips=(gradient_descent_as_in_note000, gradient_descent_rebinding_in_pytorch,
               initial_weights_as_in_note000)),
    BridgeRow(
        "network", "Note 004's network, in PyTorch", "004",
        "net = Net(); yhat = net(x)",
        "slips: `Net()` for `Network`; `x` a NumPy array",
        "The class is `Network` but the note instantiates `Net()`, a `NameError`; and a torch "
        "module takes tensors, not NumPy arrays. `torch.from_numpy` keeps NumPy's dtype, so "
        "the integer XOR array becomes an int64 tensor that float32 `nn.Linear` layers "
        "refuse: convert with `torch.tensor(x, dtype=torch.float32)`. The note's `F.sigmoid` "
        "is `torch.sigmoid`. In Keras, the same network is a `Sequential` of "
        "`Dense(units, activation=\"sigmoid\")` layers, and it takes NumPy input.",
        _network_inputs, network_tensorflow, network_pytorch, network_numpy,
        slips=(network_as_in_note004, network_from_numpy_integers)),
)


def _row(key: str) -> BridgeRow:
    return next(row for row in ROWS if row.key == key)


def _inputs(row: BridgeRow) -> dict:
    return row.inputs(np.random.default_rng(zlib.crc32(row.key.encode())))


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.key)
def test_the_three_sides_agree(row: BridgeRow) -> None:
    data = _inputs(row)
    expected = np.asarray(row.numpy(**data))
    checks = []
    for name, side in (("torch", row.pytorch), ("tf", row.tensorflow)):
        check = Recorder(f"bridge: {row.key}", row.title, name, expected.dtype,
                         expected.shape[0] if expected.ndim else 1)
        check.compare("result", row.kind, np.asarray(side(**data)), expected)
        checks.append(check)
    for check in checks:
        check.finish()


def test_every_side_marks_the_line_the_table_quotes() -> None:
    for row in ROWS:
        for side in (row.tensorflow, row.pytorch, row.numpy):
            assert "# idiom" in inspect.getsource(side), f"{side.__name__} has no # idiom line"


def test_note000_softmax_cross_entropy_on_one_column_is_zero_whatever_the_labels() -> None:
    data = _inputs(_row("binary-cross-entropy"))
    assert binary_cross_entropy_as_in_note000(**data) == 0.0
    assert binary_cross_entropy_as_in_note000(1.0 - data["y"], data["logits"]) == 0.0
    assert binary_cross_entropy_numpy(**data) > 0.1  # what it should have been


def test_keras_MSE_is_per_sample_and_its_mean_is_the_scalar_loss() -> None:
    data = _inputs(_row("per-sample-mse"))
    per_sample = per_sample_mse_tensorflow(**data)
    assert per_sample.shape == (5,)
    assert np.mean(per_sample) == pytest.approx(mse_tensorflow(**data), rel=1e-15)


def test_note000_rebinding_the_variable_loses_the_gradient_at_step_two() -> None:
    gradients = gradient_descent_as_in_note000(**_inputs(_row("gradient-tape")))
    assert len(gradients) == 2
    assert isinstance(gradients[0], tf.Tensor) and gradients[1] is None


def test_the_same_rebinding_in_pytorch_leaves_grad_empty_at_step_two() -> None:
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        gradients = gradient_descent_rebinding_in_pytorch(**_inputs(_row("gradient-tape")))
    assert len(gradients) == 2
    assert isinstance(gradients[0], torch.Tensor) and gradients[1] is None


def test_note000_tf_random_normal_needs_a_shape() -> None:
    with pytest.raises(TypeError, match="positional argument"):
        initial_weights_as_in_note000()


def test_note004_a_torch_module_refuses_numpy_arrays() -> None:
    with pytest.raises(TypeError, match=r"must be Tensor, not numpy\.ndarray"):
        network_as_in_note004(registry.XOR_INPUTS)


def test_note004_integer_input_must_become_a_float_tensor() -> None:
    with pytest.raises(RuntimeError, match="same dtype"):
        network_from_numpy_integers(registry.XOR_INPUTS)
