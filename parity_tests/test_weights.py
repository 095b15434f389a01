"""Weight files across the three: exact round trips through each format, checks on load,
and torch's pickle-based format kept safe by ``weights_only=True``."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework
from reference.tests.test_weights import _assert_same, _model, _Payload
from reference.weights import WeightFileError

SUFFIX = {"torch": "pt", "tf": "weights.h5"}  # Keras requires ".weights.h5"


def _through(fw, spec: reference.Sequential, path) -> reference.Sequential:
    """spec → framework model → file → a fresh framework model → spec."""
    fw.impl.save_weights(fw.impl.from_reference(spec), path)
    fresh = fw.impl.from_reference(_model(spec.dtype, seed=99))
    return fw.impl.to_reference(fw.impl.load_weights(path, fresh))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_round_trip_through_the_framework_file_is_bit_exact(fw, tmp_path, dtype) -> None:
    spec = _model(dtype)
    _assert_same(_through(fw, spec, tmp_path / f"model.{SUFFIX[fw.name]}"), spec)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_round_trip_across_all_three_formats_is_bit_exact(tmp_path, dtype) -> None:
    """.npz → torch state_dict → Keras .weights.h5 → .npz, each read back in between."""
    spec = _model(dtype)
    reference.save_weights(spec, tmp_path / "a.npz")
    model = reference.load_weights(tmp_path / "a.npz")
    model = _through(framework("torch"), model, tmp_path / "b.pt")
    model = _through(framework("tf"), model, tmp_path / "c.weights.h5")
    reference.save_weights(model, tmp_path / "d.npz")
    _assert_same(reference.load_weights(tmp_path / "d.npz"), spec)


def test_the_torch_file_is_a_plain_state_dict_in_torch_layout(tmp_path) -> None:
    torch_fw, spec = framework("torch"), _model()
    torch_fw.impl.save_weights(torch_fw.impl.from_reference(spec), tmp_path / "m.pt")
    state = torch_fw.torch.load(tmp_path / "m.pt", weights_only=True)
    linears = [0, 2, 4]  # each Dense is nn.Linear then its activation module
    assert list(state) == [f"{k}.{p}" for k in linears for p in ("weight", "bias")]
    np.testing.assert_array_equal(state["0.weight"].numpy(), spec.layers[0].W.T)


def test_a_file_of_the_other_dtype_is_refused(fw, tmp_path) -> None:
    path = tmp_path / f"model.{SUFFIX[fw.name]}"
    fw.impl.save_weights(fw.impl.from_reference(_model(np.float32)), path)
    with pytest.raises(WeightFileError, match=r"float32.*float64|float64.*float32"):
        fw.impl.load_weights(path, fw.impl.from_reference(_model(np.float64)))


def test_a_file_for_other_shapes_is_refused(fw, tmp_path) -> None:
    path = tmp_path / f"model.{SUFFIX[fw.name]}"
    fw.impl.save_weights(fw.impl.from_reference(_model()), path)
    wider = reference.Sequential([reference.Dense(3, 6, "sigmoid"), reference.Dense(6, 4),
                                  reference.Dense(4, 2, "softmax")])
    error = WeightFileError if fw.name == "torch" else ValueError  # Keras's own check
    with pytest.raises(error, match=r"shape"):
        fw.impl.load_weights(path, fw.impl.from_reference(wider))


def test_a_torch_file_with_a_pickled_object_is_refused(tmp_path) -> None:
    torch_fw = framework("torch")
    path, marker = tmp_path / "model.pt", tmp_path / "ran"
    module = torch_fw.impl.from_reference(_model())
    torch_fw.torch.save({**module.state_dict(), "extra": _Payload(str(marker))}, path)
    torch_fw.impl.weights._seal(path)  # a valid digest: the payload reaches torch.load
    with pytest.raises(WeightFileError, match=r"refused by torch.load\(weights_only=True\)"):
        torch_fw.impl.load_weights(path, module)
    assert not marker.exists()


def test_a_file_that_is_not_hdf5_is_refused_by_the_keras_mirror(tmp_path) -> None:
    path = tmp_path / "model.weights.h5"
    path.write_bytes(b"not an HDF5 file")
    with pytest.raises(WeightFileError, match=r"unreadable as a Keras \.weights\.h5 file"):
        framework("tf").impl.load_weights(path, framework("tf").impl.from_reference(
            _model()))


@pytest.mark.parametrize("package", ["reference", "torch_impl", "tf_impl"])
def test_the_three_packages_share_the_weight_file_names(package: str) -> None:
    module, package = (importlib.import_module(f"{package}{suffix}") for suffix in (".weights", ""))
    assert package.save_weights is module.save_weights
    assert package.load_weights is module.load_weights
