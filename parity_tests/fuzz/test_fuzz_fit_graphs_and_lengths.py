"""Fuzz: the entry points of fit's graph form, the Gaussian KL, sequences of any length and
attention of any head width, as an outside user calls them (issue 25, round two).

Each case gives a clear error naming the entry point (``oracle.outcome``) or the result
of an independent computation (NumPy, written out here).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from parity_tests.conftest import framework
from parity_tests.fuzz.oracle import outcome
from reference import Dense, Input, Model, Sequential, losses, merging
from reference.sequences import SimpleRNN
from reference.training import fit
from reference.weights import WeightFileError, load_weights, save_weights

RNG = np.random.default_rng(25)
X = [RNG.standard_normal((6, 4)), RNG.standard_normal((6, 2))]
Y = RNG.uniform(0, 1, (6, 3))
BCE = "binary_cross_entropy"


def _vae_like() -> Model:
    """Inputs a (4,), b (2,); outputs y (3,) sigmoid, mean (2,), log_var (2,)."""
    a, b = Input((4,), name="a"), Input((2,), name="b")
    h = Dense(4, 2, "tanh", name="h")(a)
    mean, log_var = Dense(2, 2, name="mean")(h), Dense(2, 2, name="log_var")(h)
    y = Dense(2, 3, "sigmoid", name="y")(merging.Add(name="joined")([mean, b]))
    return Model([a, b], [y, mean, log_var], seed=0)


# (label, fit's arguments beyond the model, the message's words): each is refused by fit.
FIT_REFUSED = [
    ("X as a dict", dict(X={"a": X[0], "b": X[1]}, Y=[Y, None, None]),
     r"fit: X given as a dict is not supported; give a list in the order of the model's inputs"),
    ("Y as a dict", dict(X=X, Y={"y": Y}),
     r"fit: Y given as a dict is not supported; give a list in the order of the model's outputs"),
    ("kl over outputs of two shapes", dict(X=X, Y=[None, None, np.zeros((6, 2))],
                                           loss=[None, None, "mean_squared_error"], kl=(0, 1)),
     r"fit: kl=\(0, 1\) names outputs of shapes \(3,\) and \(2,\)"),
    ("loss_weights as an array", dict(X=X, Y=[Y, None, None], loss_weights=np.ones(3)),
     r"fit: loss_weights must be a list or tuple of one weight per output \(3\), got a "
     r"numpy.ndarray"),
]


@pytest.mark.parametrize(("arguments", "message"), [case[1:] for case in FIT_REFUSED],
                         ids=[case[0] for case in FIT_REFUSED])
def test_fit_of_a_graph_refuses_what_it_cannot_take_by_name(arguments, message) -> None:
    arguments = {"loss": [BCE, None, None], "kl": (1, 2), **arguments}
    result = outcome(lambda: fit(_vae_like(), **arguments), "fit")
    assert result.error is not None, f"fit returned {result.value!r}"
    assert re.search(message, str(result.error)), str(result.error)


def test_fit_takes_numpy_integers_as_kl_positions_and_computes_the_kl_by_hand() -> None:
    """kl=(np.int64(1), np.int64(2)) as (1, 2) (epochs takes NumPy integers too): the one
    step's loss is BCE(Y, y) + (1/N) Σ −½(1 + log σ² − μ² − σ²), written out in NumPy."""
    model = _vae_like()
    y, mean, log_var = model.forward(X, training=True)
    bce = -np.mean(Y * np.log(y) + (1 - Y) * np.log(1 - y))
    kl = np.sum(-0.5 * (1 + log_var - mean ** 2 - np.exp(log_var))) / len(mean)
    history = fit(model, X, [Y, None, None], loss=[BCE, None, None],
                  kl=(np.int64(1), np.int64(2)))
    assert history.loss == [pytest.approx(bce + kl, rel=1e-12)]


def test_the_torch_mirror_s_fit_refuses_kl_over_outputs_of_two_shapes_before_a_step() -> None:
    torch_impl = framework("torch").impl
    module = torch_impl.from_reference(_vae_like())
    before = [p.detach().clone() for p in module.parameters()]
    with pytest.raises(ValueError, match=r"fit: kl=\(0, 1\) names outputs of shapes "
                                         r"\(3,\) and \(2,\)"):
        torch_impl.training.fit(module, X, [None, None, np.zeros((6, 2))],
                                loss=[None, None, "mean_squared_error"], kl=(0, 1))
    assert all((p == q).all() for p, q in zip(module.parameters(), before, strict=True))


@pytest.mark.parametrize("shape", [(3,), ()], ids=["one axis", "a scalar"])
def test_gaussian_kl_names_the_axes_it_needs(shape) -> None:
    code = np.zeros(shape)
    with pytest.raises(ValueError, match=r"gaussian_kl: z_mean and z_log_var must have a "
                                         rf"batch axis and the code's, \(N, latent\), got "
                                         rf"shape {re.escape(str(shape))}"):
        losses.gaussian_kl(code, code)


def test_a_sequential_of_any_length_refused_by_its_first_layer_names_the_shape() -> None:
    with pytest.raises(ValueError, match=r"Sequential: the input has per-sample shape "
                                         r"\(None,\) but layer 0"):
        Sequential([SimpleRNN(4, 3)], input_shape=(None,), seed=0)


def test_a_weight_file_of_any_length_refuses_a_graph_of_fixed_length_naming_the_shapes(
        tmp_path) -> None:
    x = Input((None, 4), name="x")
    save_weights(Model(x, SimpleRNN(4, 3, name="r")(x), seed=0), tmp_path / "m.npz")
    fixed = Input((6, 4), name="x")
    with pytest.raises(WeightFileError, match=r"made for inputs of shape \{'x': \(None, 4\)\}, "
                                              r"the model takes \{'x': \(6, 4\)\}"):
        load_weights(tmp_path / "m.npz", Model(fixed, SimpleRNN(4, 3, name="r")(fixed), seed=0))


def _attention(kind: str, causal: bool):
    torch = framework("torch").torch
    sequences = framework("torch").impl.sequences
    torch.manual_seed(0)
    if kind == "MultiHeadAttention":
        return sequences.MultiHeadAttention(4, 2, 4, causal=causal, dtype=torch.float64)
    return sequences.Attention(4, 2, batch_first=True, causal=causal, dtype=torch.float64)


@pytest.mark.parametrize("kind", ["MultiHeadAttention", "Attention"])
@pytest.mark.parametrize(("mask", "error", "shown"), [
    (np.ones((2, 3, 3)), TypeError, r"mask must be boolean \(True = attend\) or integers 0 "
                                    r"and 1, got torch.float64 \[1.0\]"),
    (np.full((2, 3, 3), 2), ValueError, r"mask of integers must hold only 0 \(False\) and 1 "
                                        r"\(True\), got 18 other value\(s\), e.g. 2")],
                         ids=["floats 1", "integers 2"])
@pytest.mark.parametrize("causal", [False, True], ids=["", "causal"])
def test_torch_attention_refuses_a_mask_of_floats_or_of_integers_but_0_and_1(
        kind, mask, error, shown, causal) -> None:
    """A float mask of 0 and 1 was added to the scores by F.scaled_dot_product_attention
    (a different result, silently), or failed inside torch (~ of floats, & with a bool).
    Refused as the spec refuses them (``as_mask``): floats by their type, integers other
    than 0 and 1 by their values."""
    torch = framework("torch").torch
    with pytest.raises(error, match=rf"{kind}: {shown}"):
        _attention(kind, causal)(torch.zeros(2, 3, 4, dtype=torch.float64),
                                 mask=torch.tensor(mask))


@pytest.mark.parametrize("kind", ["MultiHeadAttention", "Attention"])
@pytest.mark.parametrize("causal", [False, True], ids=["", "causal"])
def test_torch_attention_reads_a_mask_of_integers_0_and_1_as_booleans(kind, causal) -> None:
    torch = framework("torch").torch
    query = torch.tensor(RNG.standard_normal((2, 3, 4)))
    mask = torch.tensor(RNG.integers(0, 2, (2, 3, 3)))
    mask[:, :, 0] = 1  # every query attends to one key at least
    module = _attention(kind, causal)
    torch.testing.assert_close(module(query, mask=mask), module(query, mask=mask.bool()),
                               rtol=0, atol=0)


@pytest.mark.parametrize("kind", ["MultiHeadAttention", "Attention"])
@pytest.mark.parametrize("shape", [(3, 3), (1, 3, 3), (2, 3, 2), (2, 3, 3, 1)],
                         ids=["(T, S)", "one row for all", "S short", "an axis more"])
def test_torch_attention_refuses_a_mask_of_another_shape_than_n_t_s(kind, shape) -> None:
    """torch broadcast a (T, S) or (1, T, S) mask over the batch where the spec refuses it
    (the key_dim module), or refused another shape with its own words about (N·H, T, S)."""
    torch = framework("torch").torch
    with pytest.raises(ValueError, match=rf"{kind}: mask must have shape \(N, T, S\) = "
                                         rf"\(2, 3, 3\) .* got {re.escape(str(shape))}"):
        _attention(kind, False)(torch.zeros(2, 3, 4, dtype=torch.float64),
                                mask=torch.ones(shape, dtype=torch.bool))
