"""Fuzz round 6 (issue 25), found by hand beside the differential rounds: inputs the
earlier rounds reached only through a framework's own message."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import numpy as np
import pytest
import torch

import reference
import tf_impl
import torch_impl
from nn_rosetta import cli
from parity_tests.fuzz.oracle import Outcome, assert_same
from parity_tests.tolerances import tolerance
from reference.weights import WeightFileError

VALUE_CHECKED = ["sparse_categorical_cross_entropy", "sparse_categorical_cross_entropy_with_logits",
                 "binary_cross_entropy", "categorical_cross_entropy"]


def _meta_pair(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    y_pred = torch.full((3, 4), 0.25, device="meta")
    if name.startswith("sparse"):
        return torch.zeros(3, dtype=torch.long, device="meta"), y_pred
    return torch.full((3, 4), 0.25, device="meta"), y_pred


@pytest.mark.parametrize("name", VALUE_CHECKED)
def test_a_loss_that_checks_values_refuses_meta_tensors_by_name(name: str) -> None:
    """A meta tensor has a shape and no values: torch's NotImplementedError (from
    nonzero) where the loss checks labels or probabilities, now the loss's own error."""
    with pytest.raises(ValueError, match=f"{name}: .*meta device"):
        torch_impl.losses.get(name)(*_meta_pair(name))


def test_a_loss_without_value_checks_computes_a_meta_result_as_torch_does() -> None:
    """Shape-only computation is torch's purpose for the meta device: mean squared error
    checks shapes only, and returns the meta scalar F.mse_loss gives."""
    loss = torch_impl.losses.mean_squared_error(*_meta_pair("mean_squared_error"))
    assert loss.is_meta and loss.shape == ()


def test_the_oracle_fails_a_mirror_that_computes_in_another_precision() -> None:
    """Equal numbers in float64 where the spec gave float32 are a silently different
    result (tf_impl's MaxPool2D once): the oracle compares dtypes as well as values."""
    spec = np.linspace(-1.0, 1.0, 4, dtype=np.float32)
    with pytest.raises(AssertionError, match="computes in float64, the spec in float32"):
        assert_same(Outcome(value=spec), Outcome(value=torch.from_numpy(spec.astype(np.float64))),
                    np.dtype(np.float32), "MaxPool2D")


def _special(tmp_path: Path, kind: str) -> Path:
    """A pipe, a socket, or a link to a pipe, inside ``tmp_path`` (never /dev itself: a
    save that replaced /dev/null would break the machine)."""
    path = tmp_path / f"{kind}.weights.h5"
    if kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.close()
    else:
        os.mkfifo(tmp_path / "pipe")
        if kind == "pipe":
            os.replace(tmp_path / "pipe", path)
        else:
            path.symlink_to(tmp_path / "pipe")
    return path


def _save(package: str, path: Path) -> None:
    spec = reference.Sequential([reference.Dense(3, 2)], input_shape=(3,))
    if package == "reference":
        reference.weights.save_weights(spec, path)
    elif package == "torch_impl":
        torch_impl.save_weights(torch_impl.from_reference(spec), path)
    else:
        tf_impl.save_weights(tf_impl.from_reference(spec), path)


@pytest.mark.parametrize("kind", ["pipe", "socket", "link to a pipe"])
@pytest.mark.parametrize("package", ["reference", "torch_impl", "tf_impl"])
def test_a_save_onto_a_device_pipe_or_socket_is_refused_and_leaves_it(tmp_path, package,
                                                                       kind) -> None:
    """A save moves its finished file over the path: onto /dev/null (run as root) it
    replaced the device itself with a regular file. Now refused, the node left as it was."""
    path = _special(tmp_path, kind)
    with pytest.raises(WeightFileError, match=r"not a regular file .* a save would replace"):
        _save(package, path)
    assert not stat.S_ISREG(os.stat(path).st_mode)


def test_the_cli_refuses_a_pipe_as_its_parity_report_instead_of_waiting(tmp_path, capsys
                                                                       ) -> None:
    """``nn-rosetta --report PIPE list`` waited forever for a writer; now one line."""
    os.mkfifo(tmp_path / "report.json")
    with pytest.raises(SystemExit):
        cli.main(["--report", str(tmp_path / "report.json"), "list"])
    assert "not a regular file (a device, a pipe or a socket)" in capsys.readouterr().err


def test_a_float64_keras_relu_with_a_ceiling_of_inf_reads_back_its_exact_slope() -> None:
    """Keras's ReLU takes TF's LeakyRelu kernel (a float32 slope) only when max_value is
    None and the threshold 0; from_reference writes max_value=inf, the exact path, and
    the reader rounded the slope as if it were the other (3.5e-9 after a round trip)."""
    spec = reference.Sequential([reference.layers.ReLU(negative_slope=0.01)], input_shape=(3,))
    back = tf_impl.to_reference(tf_impl.from_reference(spec))
    assert back.layers[0].negative_slope == 0.01


def test_torch_from_reference_refuses_a_normalization_of_a_flattened_feature_map() -> None:
    """torch's nn.Flatten orders a map's features (c, h, w), the spec's (h, w, c): a
    BatchNormalization reading them applied its γ and β to the other features (3.1 off).
    The port, which permutes the map in its forward, still takes the model."""
    spec = reference.Sequential([reference.Conv2D(2, 3, 1, padding="same"), reference.Flatten(),
                                 reference.BatchNormalization(75)], input_shape=(5, 5, 2))
    with pytest.raises(TypeError, match=r"from_reference: layer 2 .* \(c, h, w\)"):
        torch_impl.from_reference(spec)


@pytest.mark.parametrize("axis", [1, [1]])
def test_a_keras_layer_normalization_over_axis_1_of_vectors_is_the_last_axis(axis) -> None:
    """On (N, F) inputs axis 1 is the last: to_reference refused it ('the spec's layers
    are channels-last'), since a LayerNormalization keeps no input spec to say its rank."""
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.LayerNormalization(
        axis=axis, beta_initializer="random_normal", gamma_initializer="random_normal")])
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    spec, output = tf_impl.to_reference(model), tolerance(np.float32, "output")
    assert output.error(spec.forward(x), np.asarray(model(x))) <= output.rtol


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_tf_fit_takes_tf_function_as_a_switch(value) -> None:
    """tf_function was read for its truth: 'yes' compiled the step, None ran it eagerly."""
    model = tf_impl.from_reference(reference.Sequential([reference.Dense(3, 2)],
                                                        input_shape=(3,)))
    with pytest.raises(TypeError, match="fit: tf_function must be True or False"):
        tf_impl.fit(model, np.zeros((4, 3)), np.zeros((4, 2)), tf_function=value)


def test_l2_penalties_of_a_graph_is_refused_by_name() -> None:
    """A graph's module names its parameters by layer: l2_penalties, written for chains,
    stopped on StopIteration or a shape error of the spec's."""
    from reference.graphs import Input, Model

    x = Input((3,), name="x")
    graph = Model([x], [reference.Dense(3, 2, kernel_regularizer=0.5, name="out")(x)])
    with pytest.raises(TypeError, match=r"l2_penalties: takes a reference\.Sequential"):
        torch_impl.convert.l2_penalties(graph, torch_impl.from_reference(graph))


def test_keras_l2_computes_with_its_factor_rounded_to_float32_even_in_float64() -> None:
    """What tf_impl.layers says of kernel_regularizer: Keras's L2 penalty of a float64
    kernel is float32(λ)·Σw², not λ·Σw² (0.01 → 0.0099999998)."""
    import keras

    kernel = np.linspace(-1.0, 1.0, 6)
    penalty = float(keras.regularizers.L2(0.01)(keras.ops.convert_to_tensor(kernel)))
    factor = penalty / float(np.sum(kernel ** 2))  # up to the sums' last bit
    assert abs(factor - float(np.float32(0.01))) < 1e-16
    assert abs(factor - 0.01) > 1e-10
