"""nn_rosetta.port of Keras attention whose heads are not E/H wide (``key_dim``, keras.io's
Transformer has heads as wide as the embedding): ``nn.MultiheadAttention`` cannot hold
them, so the generated model.py defines the module a torch user writes, four ``nn.Linear``
and ``F.scaled_dot_product_attention`` (``torch_impl.sequences.MultiHeadAttention``)."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import nn_rosetta
from nn_rosetta import cli
from nn_rosetta.tests.test_port_graphs import assert_reproduces_keras, run_in_a_fresh_process

L = keras.layers


def _wide_self_attention(**options: object) -> keras.Model:
    """Self-attention of 2 heads of 8 on 8 features (E/H = 4): a chain."""
    x = keras.Input((5, 8))
    return keras.Model(x, L.MultiHeadAttention(2, key_dim=8, name="attention")(x, x, **options))


def _two_wide_blocks() -> keras.Model:
    """Two residual self-attention blocks, heads of 6 on 4 features: a graph."""
    x = keras.Input((5, 4), name="x")
    h = x
    for k in (1, 2):
        attended = L.MultiHeadAttention(2, key_dim=6, name=f"attention{k}")(h, h)
        h = L.LayerNormalization(name=f"norm{k}")(L.Add(name=f"residual{k}")([h, attended]))
    return keras.Model(x, h, name="two_blocks")


def test_heads_wider_than_e_over_h_port_to_the_module_the_file_defines() -> None:
    result = nn_rosetta.port(_wide_self_attention())
    assert result.report.ok, str(result.report)
    assert "class MultiHeadAttention(nn.Module):" in result.source
    assert "self.attention = MultiHeadAttention(8, 2, head_dim=8)" in result.source
    assert "return self.attention(x)  # self-attention" in result.source
    assert "nn.MultiheadAttention(" not in result.source


def test_the_written_file_runs_alone_and_reproduces_keras(tmp_path) -> None:
    keras.utils.set_random_seed(3)
    model = _two_wide_blocks()
    x = np.random.default_rng(4).standard_normal((3, 5, 4)).astype(np.float32)
    result = nn_rosetta.port(model, x)
    result.save(tmp_path / "two_blocks")
    np.savez(tmp_path / "two_blocks" / "inputs.npz", x)
    found = run_in_a_fresh_process({"two_blocks": {"out": tmp_path / "two_blocks"}}, tmp_path)
    found["two_blocks"]["keras"] = [keras.ops.convert_to_numpy(model(x))]
    assert_reproduces_keras(found["two_blocks"])


def test_the_module_class_is_defined_once_for_every_layer_that_uses_it() -> None:
    result = nn_rosetta.port(_two_wide_blocks())
    assert result.report.ok, str(result.report)
    assert result.source.count("class MultiHeadAttention(nn.Module):") == 1
    assert result.source.count("= MultiHeadAttention(4, 2, head_dim=6)") == 2


def test_a_causal_mask_on_wide_heads_ports_as_the_modules_causal_flag() -> None:
    result = nn_rosetta.port(_wide_self_attention(use_causal_mask=True))
    assert result.report.ok, str(result.report)
    assert "MultiHeadAttention(8, 2, head_dim=8, causal=True)" in result.source


def test_a_causal_mask_on_torch_wide_heads_is_still_refused_by_name() -> None:
    x = keras.Input((5, 8))
    model = keras.Model(x, L.MultiHeadAttention(2, key_dim=4, name="narrow")(
        x, x, use_causal_mask=True))
    with pytest.raises(TypeError, match=r"port: layer 'narrow' \(MultiHeadAttention\): "
                                        r"use_causal_mask=True"):
        nn_rosetta.port(model)


def test_a_float64_copy_parting_by_kerass_float32_scale_names_the_attention() -> None:
    """Keras's float64 attention multiplies by 1/√key_dim rounded to float32 (1/√3 here,
    heads of E/H): the float32 model's float64 copy parts by about 1e-8, and says why."""
    x = keras.Input((5, 6))
    model = keras.Model(x, L.MultiHeadAttention(2, key_dim=3, name="attention")(x, x))
    (row,) = nn_rosetta.port(model).report.other_dtype
    assert row.note == "attention: Keras's float64 attention holds its scale 1/√3 in float32"


def test_the_terminal_leaves_out_the_other_dtype_row_when_asked(tmp_path, capsys) -> None:
    _wide_self_attention().save(tmp_path / "m.keras")
    assert cli.main(["port", str(tmp_path / "m.keras"), str(tmp_path / "out"),
                     "--no-other-dtype"]) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["other_dtype"] == []
    assert "(float64)" not in capsys.readouterr().out
