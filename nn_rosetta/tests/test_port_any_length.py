"""nn_rosetta.port on models whose Input has a None axis (token ids of any length): the
report runs on the example's length, or on ``EXAMPLE_LENGTH`` where it draws one, and
says which; the generated module takes other lengths; a layer that needs the length
fixed is refused by name before anything is computed."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

import nn_rosetta
from nn_rosetta.porting import EXAMPLE_LENGTH
from nn_rosetta.tolerances import tolerance

L = keras.layers


def _classifier() -> keras.Model:
    keras.utils.set_random_seed(11)
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    h = L.GRU(5, return_sequences=True, name="gru")(L.Embedding(40, 6, name="embedding")(tokens))
    pooled = L.GlobalAveragePooling1D(name="pool")(L.LayerNormalization(name="norm")(h))
    return keras.Model(tokens, L.Dense(2, name="logits")(pooled), name="any_length")


def test_a_drawn_example_has_the_example_length_and_the_report_says_it() -> None:
    report = nn_rosetta.port(_classifier(), other_dtype=False).report
    assert report.input_shape == (4, EXAMPLE_LENGTH)
    assert report.lengths == (EXAMPLE_LENGTH,)
    assert f"(length {EXAMPLE_LENGTH}; the model takes any)" in str(report)
    assert report.as_dict()["example_lengths"] == [EXAMPLE_LENGTH]


def test_the_ported_module_takes_a_length_it_was_not_ported_at() -> None:
    model = _classifier()
    ported = nn_rosetta.port(model, np.ones((2, 6), np.int32), other_dtype=False)
    tokens = np.random.default_rng(0).integers(0, 40, (3, 23)).astype(np.int32)
    with torch.no_grad():
        got = ported.module.eval()(torch.from_numpy(tokens)).numpy()
    tol = tolerance(np.float32, "output")
    assert tol.error(got, model(tokens).numpy()) <= tol.rtol


def test_a_flatten_over_the_axis_of_any_length_is_refused_by_name() -> None:
    model = keras.Sequential([keras.Input((None,), dtype="int32"), L.Embedding(40, 6),
                              L.Flatten(name="flat")])  # Keras builds it: (N, None) out
    with pytest.raises(ValueError, match=r"^port: .*layer 1 \(Flatten\) cannot take them: "
                                         r".*a Flatten needs every size of its input known.*"
                                         r"fix the length"):
        nn_rosetta.port(model)
