"""The torch mirror's models are what a torch user writes and keeps: stock ``torch.nn``
modules (and the few small ones of ``torch_impl.SMALL_MODULES``), whose ``state_dict``
loads by key into the plain ``nn.Sequential`` written by hand."""

from __future__ import annotations

import numpy as np
import pytest

import reference
from parity_tests.conftest import framework
from parity_tests.frameworks import has_feature_maps
from reference import registry

MODEL_MODULES = ("layers", "networks", "normalization", "convolution", "sequences")
CASES = [(c.name, case) for c in registry.concepts() if c.module in MODEL_MODULES
         for case in c.cases]
KINDS = sorted({c.name for c in registry.concepts() if c.module in MODEL_MODULES} -
               {"Sequential"})


def _model(case) -> dict:
    return case.make(np.random.default_rng(0), np.dtype(np.float64), 2)


@pytest.mark.parametrize(("concept", "case"), CASES, ids=[f"{c}-{case.label}"
                                                         for c, case in CASES])
def test_every_registry_model_converts_to_stock_torch_modules(concept, case) -> None:
    impl = framework("torch").impl
    module = impl.from_reference(_model(case)["model"])
    foreign = [type(m).__qualname__ for m in module.modules()
               if not type(m).__module__.startswith("torch.nn.modules.")
               and type(m) not in impl.SMALL_MODULES]
    assert not foreign, f"not torch.nn classes nor listed small modules: {foreign}"


@pytest.mark.parametrize(("concept", "case"), CASES, ids=[f"{c}-{case.label}"
                                                         for c, case in CASES])
def test_every_registry_model_reads_back_and_computes_the_same(concept, case) -> None:
    """to_reference of the converted modules (an activation module after nn.Linear or
    nn.Conv2d folds into that layer) gives a spec model computing the same numbers."""
    fw = framework("torch")
    data = _model(case)
    spec, x = data["model"], data["x"]
    module = fw.impl.from_reference(spec).eval()
    back = fw.impl.to_reference(module, input_shape=spec.input_shape)
    with fw.torch.no_grad():
        found = module(fw.torch_layout(spec, fw.torch.from_numpy(x))).numpy()
    if has_feature_maps(spec) and found.ndim > 2:
        found = np.moveaxis(found, 1, -1)  # channels-first out, as the model computes it
    np.testing.assert_allclose(found, back.forward(x), rtol=1e-12, atol=1e-12)


def test_every_registry_layer_kind_is_covered() -> None:
    """The two tests above walk every spec layer kind the registry has."""
    made = {type(layer).__name__ for _, case in CASES for layer in _model(case)["model"].layers}
    assert set(KINDS) <= made


def _same_outputs(plain, converted, x) -> None:
    torch = framework("torch").torch
    plain.load_state_dict(converted.state_dict(), strict=True)  # by key, every key
    plain.eval(), converted.eval()
    with torch.no_grad():
        torch.testing.assert_close(plain(x), converted(x), rtol=0, atol=0)


def test_the_mlp_state_dict_loads_into_the_mlp_a_torch_user_writes() -> None:
    torch = framework("torch").torch
    nn = torch.nn
    spec = reference.Sequential([reference.Dense(3, 4, "relu"), reference.Dense(4, 2)], seed=1)
    plain = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).double()
    _same_outputs(plain, framework("torch").impl.from_reference(spec),
                  torch.randn(5, 3, dtype=torch.float64))


def test_the_cnn_state_dict_loads_into_the_cnn_a_torch_user_writes() -> None:
    """TF's "same" at stride 2 on 8×8 pads (0, 1): an nn.ZeroPad2d the user writes too."""
    torch = framework("torch").torch
    nn = torch.nn
    spec = reference.Sequential([
        reference.Conv2D(2, 4, 3, strides=2, padding="same", activation="relu"),
        reference.BatchNormalization(4, 0.99, 1e-3, convention="keras"), reference.MaxPool2D(2),
        reference.Conv2D(4, 4, 3, padding="same", activation="tanh"),
        reference.GlobalAveragePooling2D(), reference.Dense(4, 3, "softmax")],
        input_shape=(8, 8, 2), seed=2)
    plain = nn.Sequential(
        nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(2, 4, 3, stride=2), nn.ReLU(),
        nn.BatchNorm2d(4, eps=1e-3, momentum=1 - 0.99), nn.MaxPool2d(2),  # Keras's momentum
        nn.Conv2d(4, 4, 3, padding=1), nn.Tanh(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3), nn.Softmax(dim=-1)).double()
    _same_outputs(plain, framework("torch").impl.from_reference(spec),
                  torch.randn(5, 2, 8, 8, dtype=torch.float64))


def test_the_char_lstm_state_dict_loads_into_the_model_a_torch_user_writes() -> None:
    """The notes' character model: nn.LSTM returns a tuple, so torch users write a small
    module to take its output; ``RecurrentOutput`` is that module and holds no weights."""
    torch = framework("torch").torch
    nn = torch.nn
    impl = framework("torch").impl
    spec = registry.concept("LSTM").cases[-1].make(np.random.default_rng(0),
                                                   np.dtype(np.float64), 2)["model"]
    assert [type(layer).__name__ for layer in spec.layers] == ["Embedding", "LSTM",
                                                               "TimeDistributed"]
    embedding, lstm, dense = spec.layers
    plain = nn.Sequential(nn.Embedding(embedding.input_dim, embedding.output_dim),
                          nn.LSTM(lstm.in_features, lstm.units, batch_first=True),
                          impl.sequences.RecurrentOutput(),
                          nn.Linear(dense.layer.in_features, dense.layer.out_features)).double()
    x = torch.from_numpy(registry.char_sequences(3, 25, np.random.default_rng(1))[0])
    _same_outputs(plain, impl.from_reference(spec), x)


def test_the_small_modules_are_few_and_documented() -> None:
    impl = framework("torch").impl
    # Permute, Keras's Rescaling and Normalization, Bidirectional's merge modes, Dropout's
    # noise_shape too, the exponential activation's Exp, and attention with heads of Keras's
    # key_dim ≠ E/H, which nn.MultiheadAttention cannot hold (four nn.Linear and
    # F.scaled_dot_product_attention)
    assert len(impl.SMALL_MODULES) <= 11
    for module in impl.SMALL_MODULES:
        assert "torch has no" in module.__doc__, module
