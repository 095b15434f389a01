"""Attention whose heads are not E/H wide (Keras's ``key_dim``) in torch: the module a torch
user writes, four ``nn.Linear`` and ``F.scaled_dot_product_attention``
(``torch_impl.sequences.MultiHeadAttention``); heads of E/H stay ``nn.MultiheadAttention``.
The registry's cases prove its numbers; these, its shape and entry points."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch
from torch import nn

import reference
import tf_impl
import torch_impl
from torch_impl.sequences import Attention, MultiHeadAttention


def _spec(key_dim: int | None, **options: object) -> reference.Sequential:
    layer = reference.sequences.MultiHeadAttention(6, 2, key_dim=key_dim, **options)
    return reference.Sequential([layer], input_shape=(4, 6), seed=2)


@pytest.mark.parametrize(("key_dim", "module"), [(3, Attention), (4, MultiHeadAttention),
                                                 (1, MultiHeadAttention)])
def test_nn_multihead_attention_where_its_heads_fit_four_linears_elsewhere(key_dim,
                                                                          module) -> None:
    assert type(torch_impl.from_reference(_spec(key_dim))[0]) is module


def test_its_state_dict_is_four_linears_of_h_times_d_features() -> None:
    state = torch_impl.from_reference(_spec(4))[0].state_dict()
    assert {name: tuple(t.shape) for name, t in state.items()} == {
        "q_proj.weight": (8, 6), "q_proj.bias": (8,), "k_proj.weight": (8, 6),
        "k_proj.bias": (8,), "v_proj.weight": (8, 6), "v_proj.bias": (8,),
        "out_proj.weight": (6, 8), "out_proj.bias": (6,)}


def test_the_module_a_torch_user_writes_reads_back_into_the_spec() -> None:
    written = nn.Sequential(MultiHeadAttention(6, 2, 4, causal=True)).double()
    spec = torch_impl.to_reference(written, input_shape=(4, 6))
    layer = spec.layers[0]
    assert (layer.embed_dim, layer.num_heads, layer.key_dim, layer.use_causal_mask) == \
        (6, 2, 4, True)
    x = np.random.default_rng(1).standard_normal((2, 4, 6))
    with torch.no_grad():
        found = written(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(found, spec.forward(x), rtol=1e-12, atol=1e-12)


def test_the_mask_is_true_where_a_query_attends() -> None:
    """One key blocked for every query: its value changes nothing; the same key allowed, it
    does (``F.scaled_dot_product_attention``'s boolean attn_mask: True = attend)."""
    module = torch_impl.from_reference(_spec(4))[0]
    x = torch.from_numpy(np.random.default_rng(2).standard_normal((1, 4, 6)))
    changed = x.clone()
    changed[0, -1] += 1.0  # the last step's key and value, and its own query
    mask = torch.ones(1, 4, 4, dtype=torch.bool)
    mask[..., -1] = False
    with torch.no_grad():
        blocked = module(x, mask=mask)[0, :-1], module(changed, mask=mask)[0, :-1]
        allowed = module(x)[0, :-1], module(changed)[0, :-1]
    torch.testing.assert_close(*blocked, rtol=0, atol=0)
    assert not torch.allclose(*allowed)


def test_a_projection_without_its_bias_is_refused_by_name() -> None:
    written = MultiHeadAttention(6, 2, 4)
    written.out_proj = nn.Linear(8, 6, bias=False)
    with pytest.raises(TypeError, match=r"to_reference: module 0 \(MultiHeadAttention\) must "
                                        r"have biases, .* got \(in, out, bias\) .*'out_proj': "
                                        r"\(8, 6, False\)"):
        torch_impl.to_reference(nn.Sequential(written))


@pytest.mark.parametrize(("name", "linear", "got"), [
    ("k_proj", nn.Linear(6, 6), r"'k_proj': \(6, 6, True\)"),
    ("out_proj", nn.Linear(8, 5), r"'out_proj': \(8, 5, True\)")])
def test_projections_of_other_widths_are_refused_by_name(name, linear, got) -> None:
    written = MultiHeadAttention(6, 2, 4)
    setattr(written, name, linear)
    with pytest.raises(TypeError, match=r"module 0 \(MultiHeadAttention\) must have .*8 "
                                        r"features .*" + got):
        torch_impl.to_reference(nn.Sequential(written))


@pytest.mark.parametrize(("options", "got"), [({"value_dim": 4}, "value_dim=4"),
                                              ({"output_shape": 5}, r"output_shape=\(5,\)")])
def test_keras_settings_the_spec_lacks_are_refused_with_what_was_given(options, got) -> None:
    x = keras.Input((4, 6))
    model = keras.Model(x, keras.layers.MultiHeadAttention(2, key_dim=8, name="wide",
                                                           **options)(x, x))
    with pytest.raises(TypeError, match=rf"to_reference: .*wide.* must have value_dim = "
                                        rf"key_dim, .*; got key_dim=8, .*{got}"):
        tf_impl.to_reference(model)
