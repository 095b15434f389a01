"""The port's report in the other float dtype: the whole model's outputs once more, a
float64 copy of a float32 Keras model beside the generated module in float64 (and a
float32 copy of a float64 model), at that dtype's "output" tolerance."""

from __future__ import annotations

import copy
import json

import keras
import numpy as np
import pytest
import torch

import nn_rosetta
from nn_rosetta import porting
from nn_rosetta.tolerances import tolerance

L = keras.layers


def _cnn() -> keras.Sequential:
    """Dense, Conv2D and BatchNorm (its statistics drawn), in float32."""
    model = keras.Sequential([keras.Input((6, 6, 2)), L.Conv2D(4, 3, name="conv"),
                              L.BatchNormalization(name="norm"), L.Flatten(name="flat"),
                              L.Dense(3, activation="tanh", name="fc")], name="cnn")
    rng = np.random.default_rng(1)
    norm = model.get_layer("norm")
    norm.set_weights([rng.uniform(0.5, 1.5, 4), rng.uniform(-0.5, 0.5, 4),
                      rng.uniform(-0.5, 0.5, 4), rng.uniform(0.5, 1.5, 4)])
    return model


def _rescaled(scale: float) -> keras.Sequential:
    return keras.Sequential([keras.Input((5,)), L.Rescaling(scale, name="pixels"),
                             L.Dense(3, name="fc")], name="rescaled")


def _gelu() -> keras.Sequential:
    return keras.Sequential([keras.Input((5,)), L.Dense(6, activation="gelu", name="gelu"),
                             L.Dense(2, name="fc")], name="gelu")


@pytest.fixture(scope="module")
def cnn() -> tuple[keras.Sequential, nn_rosetta.porting.Ported]:
    model = _cnn()
    return model, nn_rosetta.port(model)


def test_a_float32_model_is_checked_whole_in_float64_too(cnn) -> None:
    (row,) = cnn[1].report.other_dtype
    assert (row.layer, row.kind, row.dtype, row.rtol) == ("output (float64)", "model output",
                                                          "float64", 1e-10)
    assert row.ok and row.note == "" and 0 < row.error <= 1e-10  # compared, not skipped


def test_the_float64_row_stands_in_the_table_and_in_report_json(cnn, tmp_path) -> None:
    report = cnn[1].report
    (line,) = [line for line in str(report).splitlines() if line.startswith("output (float64)")]
    assert "  ok  at [" in line
    cnn[1].save(tmp_path / "out")
    written = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert written["other_dtype"] == [report.other_dtype[0].as_dict()]
    assert written["other_dtype"][0]["dtype"] == "float64" and written["ok"]
    assert len(written["layers"]) == 4  # the layers' rows as before, in float32


def test_a_module_with_weights_off_by_1e_7_passes_float32_and_fails_float64(cnn) -> None:
    model, ported = cnn
    wrong = copy.deepcopy(ported.module)
    with torch.no_grad():
        wrong.fc.weight.mul_(1 + 1e-7)  # below float32's tolerance, far above float64's
    x = np.random.default_rng(0).standard_normal((4, 6, 6, 2)).astype(np.float32)
    with torch.no_grad():
        got = wrong(torch.from_numpy(x)).numpy()
    float32 = tolerance("float32", "output")
    assert float32.error(got, keras.ops.convert_to_numpy(model(x))) <= float32.rtol
    (row,) = porting.other_dtype_rows(model, wrong, "float32")
    assert not row.ok and row.note == "" and row.error > 1e-9
    report = porting.ParityReport(ported.report.layers, "float32", (4, 6, 6, 2), True, (row,))
    assert not report.ok and "float64 copies of both models part" in str(report)


def test_a_float64_model_is_checked_whole_in_float32() -> None:
    model = keras.Sequential([keras.Input((3,), dtype="float64"),
                              L.Dense(4, activation="sigmoid", dtype="float64"),
                              L.Dense(2, dtype="float64")])
    (row,) = nn_rosetta.port(model).report.other_dtype
    assert (row.dtype, row.rtol) == ("float32", 1e-5) and 0 < row.error <= 1e-5


def test_the_float64_row_names_keras_float32_gelu_where_it_parts() -> None:
    # Keras's float64 copy applies TF's gelu with 1/√2 in float32; the generated code uses
    # F.gelu, exact as torch's is: about 1e-8 apart in float64, a convention the row
    # names, not a wrong port.
    report = nn_rosetta.port(_gelu()).report
    (row,) = report.other_dtype
    assert 1e-10 < row.error < 1e-7 and not row.ok
    assert row.note.startswith("gelu: ") and "gelu holds 1/√2 in float32" in row.note
    assert report.ok and row.note in str(report)


def test_the_port_writes_the_float32_scale_keras_rescales_by_so_float64_matches_too() -> None:
    ported = nn_rosetta.port(_rescaled(1 / 255))
    assert f"x * {float(np.float32(1 / 255))!r}" in ported.source
    (row,) = ported.report.other_dtype
    assert row.ok and row.note == "" and row.error <= 1e-10


def test_keras_float64_rescaling_multiplies_by_the_scale_rounded_to_float32() -> None:
    # TF turns the Python float into a float32 tensor before casting it to float64
    scaled = L.Rescaling(1 / 255, dtype="float64")(np.ones((1, 1)))
    assert keras.ops.convert_to_numpy(scaled)[0, 0] == float(np.float32(1 / 255)) != 1 / 255


def test_a_rescaling_exact_in_float32_matches_in_float64() -> None:
    (row,) = nn_rosetta.port(_rescaled(1 / 256)).report.other_dtype
    assert row.ok and row.note == ""


def test_a_graph_gets_a_float64_row_per_output() -> None:
    x = keras.Input((4,), name="x")
    hidden = L.Dense(3, activation="relu", name="hidden")(x)
    model = keras.Model(x, [L.Dense(2, name="a")(hidden), L.Dense(1, name="b")(hidden)])
    rows = nn_rosetta.port(model).report.other_dtype
    assert [row.layer for row in rows] == ["output a (float64)", "output b (float64)"]
    assert all(row.ok for row in rows)


def test_other_dtype_false_leaves_the_rows_out_and_a_bad_flag_is_named() -> None:
    assert nn_rosetta.port(_gelu(), other_dtype=False).report.other_dtype == ()
    with pytest.raises(TypeError, match="other_dtype"):
        nn_rosetta.port(_gelu(), other_dtype="yes")


def test_an_adapted_normalization_is_copied_with_its_statistics() -> None:
    normalization = L.Normalization(name="norm")
    model = keras.Sequential([keras.Input((3,)), normalization, L.Dense(2, name="fc")])
    normalization.adapt_mean.assign([0.1, -0.2, 0.3])
    normalization.adapt_variance.assign([0.5, 2.0, 1.5])
    normalization.finalize_state()
    (row,) = nn_rosetta.port(model).report.other_dtype
    assert row.ok, row
