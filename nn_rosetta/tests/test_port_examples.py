"""nn_rosetta.port on keras.io's examples and the MIT course's (Introduction to Deep
Learning, lab 2's DB-VAE), built here from stock layers with random weights (nothing
downloaded): ported, written, run from the written files in a fresh Python process that
imports only torch, and compared with Keras.

Where keras.io uses a custom layer, the model here says what stands in for it: the
Transformer's ``TokenAndPositionEmbedding`` is two stock ``Embedding`` layers and an
``Add``, the positions a second Input (0, 1, …, maxlen − 1 for every sample); the VAE's
``Sampling`` layer is stock layers on a second Input, its draw ε. The IMDB
classifier is keras.io's literally, its Input of any length (``shape=(None,)``): the
written module runs at two lengths.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pytest

import nn_rosetta
from nn_rosetta.tests.test_port_graphs import (
    _statistics,
    assert_reproduces_keras,
    run_in_a_fresh_process,
)

L = keras.layers
ROOT = Path(__file__).resolve().parents[2]


MAXLEN, VOCABULARY = 200, 20000  # keras.io's: reviews cut or padded to 200 words
SHORT = 37  # a second review length: the IMDB model takes any
LATENT = 2  # the VAE's latent dimension
COURSE_FILTERS, COURSE_LATENT = 12, 100  # the course's n_filters and latent_dim


def mnist_convnet() -> keras.Model:
    """keras.io/examples/vision/mnist_convnet: Conv2D → MaxPooling2D twice, Flatten,
    Dropout, a softmax Dense."""
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        L.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        L.MaxPooling2D(pool_size=(2, 2)),
        L.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        L.MaxPooling2D(pool_size=(2, 2)),
        L.Flatten(),
        L.Dropout(0.5),
        L.Dense(10, activation="softmax"),
    ], name="mnist_convnet")


def imdb_bidirectional_lstm() -> keras.Model:
    """keras.io/examples/nlp/bidirectional_lstm_imdb: an Embedding of 20000 words, two
    Bidirectional LSTMs (the first returning sequences), a sigmoid Dense."""
    inputs = keras.Input(shape=(None,), dtype="int32")  # any length (keras.io pads to 200)
    x = L.Embedding(20000, 128)(inputs)
    x = L.Bidirectional(L.LSTM(64, return_sequences=True))(x)
    x = L.Bidirectional(L.LSTM(64))(x)
    return keras.Model(inputs, L.Dense(1, activation="sigmoid")(x), name="imdb_bilstm")


def transformer_classifier() -> keras.Model:
    """keras.io/examples/nlp/text_classification_with_transformer from stock layers: the
    token and position embeddings added (the positions an Input, see the module
    docstring), self-attention with keras.io's ``key_dim=embed_dim`` (heads as wide as the
    embedding, wider than torch's ``nn.MultiheadAttention`` holds: the port writes four
    ``nn.Linear`` and ``F.scaled_dot_product_attention``), residual Adds and
    LayerNormalization, a Dense feed-forward, GlobalAveragePooling1D."""
    embed_dim, num_heads, ff_dim = 32, 2, 32  # keras.io's
    tokens = keras.Input((MAXLEN,), dtype="int32", name="tokens")
    positions = keras.Input((MAXLEN,), dtype="int32", name="positions")
    x = L.Add(name="embedding")([L.Embedding(VOCABULARY, embed_dim, name="token_emb")(tokens),
                                 L.Embedding(MAXLEN, embed_dim, name="pos_emb")(positions)])
    attention = L.MultiHeadAttention(num_heads, key_dim=embed_dim, name="attention")(x, x)
    attention = L.Dropout(0.1, name="attention_dropout")(attention)
    x = L.LayerNormalization(epsilon=1e-6, name="norm1")(L.Add(name="residual1")([x, attention]))
    ffn = L.Dense(ff_dim, activation="relu", name="ffn1")(x)
    ffn = L.Dropout(0.1, name="ffn_dropout")(L.Dense(embed_dim, name="ffn2")(ffn))
    x = L.LayerNormalization(epsilon=1e-6, name="norm2")(L.Add(name="residual2")([x, ffn]))
    x = L.Dropout(0.1, name="pool_dropout")(L.GlobalAveragePooling1D(name="pool")(x))
    x = L.Dropout(0.1, name="hidden_dropout")(L.Dense(20, activation="relu", name="hidden")(x))
    outputs = L.Dense(2, activation="softmax", name="classes")(x)
    return keras.Model([tokens, positions], outputs, name="transformer_classifier")


def vae_encoder() -> keras.Model:
    """keras.io/examples/generative/vae's encoder with its sampling: two strided
    convolutions, Flatten, Dense, z_mean and z_log_var, then z = z_mean + e^{z_log_var/2} ε.
    keras.io's ``Sampling`` layer draws ε inside; here ε is a second Input (drawn by the
    caller, N(0, 1)) and the rest stock layers: ``Rescaling(0.5)`` then
    ``Activation("exponential")`` for σ, ``Multiply`` and ``Add`` for z."""
    encoder_inputs = keras.Input(shape=(28, 28, 1), name="image")
    epsilon = keras.Input(shape=(LATENT,), name="epsilon")
    x = L.Conv2D(32, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
    x = L.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
    x = L.Flatten()(x)
    x = L.Dense(16, activation="relu")(x)
    z_mean = L.Dense(LATENT, name="z_mean")(x)
    z_log_var = L.Dense(LATENT, name="z_log_var")(x)
    std = L.Activation("exponential", name="std")(L.Rescaling(0.5, name="half_log_var")(z_log_var))
    z = L.Add(name="z")([z_mean, L.Multiply(name="noise")([std, epsilon])])
    return keras.Model([encoder_inputs, epsilon], [z_mean, z_log_var, z], name="encoder")


def vae_decoder() -> keras.Model:
    """keras.io/examples/generative/vae's decoder: Dense, Reshape to 7×7×64, three
    Conv2DTranspose ("same", two of stride 2) to a 28×28 sigmoid image."""
    latent_inputs = keras.Input(shape=(LATENT,))
    x = L.Dense(7 * 7 * 64, activation="relu")(latent_inputs)
    x = L.Reshape((7, 7, 64))(x)
    x = L.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
    x = L.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
    decoder_outputs = L.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(x)
    return keras.Model(latent_inputs, decoder_outputs, name="decoder")


def course_encoder() -> keras.Model:
    """The course's DB-VAE encoder, ``make_standard_classifier(n_outputs=2 * latent_dim +
    1)``: a plain Sequential of four strided 'same' relu Conv2D, each followed by
    BatchNormalization, Flatten, Dense(512, relu), then the class logit, the latent means
    and log-variances in one Dense. Built on the course's 64×64×3 faces, as its first
    batch builds it (no Input)."""
    n = COURSE_FILTERS
    conv = {"padding": "same", "activation": "relu"}
    model = keras.Sequential([
        L.Conv2D(filters=1 * n, kernel_size=5, strides=2, **conv), L.BatchNormalization(),
        L.Conv2D(filters=2 * n, kernel_size=5, strides=2, **conv), L.BatchNormalization(),
        L.Conv2D(filters=4 * n, kernel_size=3, strides=2, **conv), L.BatchNormalization(),
        L.Conv2D(filters=6 * n, kernel_size=3, strides=2, **conv), L.BatchNormalization(),
        L.Flatten(),
        L.Dense(512, activation="relu"),
        L.Dense(2 * COURSE_LATENT + 1, activation=None),
    ], name="course_encoder")
    model.build((None, 64, 64, 3))
    return _statistics(model)


def course_decoder() -> keras.Model:
    """The course's DB-VAE decoder, ``make_face_decoder_network``: a plain Sequential of
    Dense(4·4·6n, relu), Reshape to 4×4×6n, four 'same' relu Conv2DTranspose of stride 2
    up to a 64×64×3 face. Built on the latent vector (no Input)."""
    n = COURSE_FILTERS
    up = {"padding": "same", "activation": "relu"}
    model = keras.Sequential([
        L.Dense(units=4 * 4 * 6 * n, activation="relu"),
        L.Reshape(target_shape=(4, 4, 6 * n)),
        L.Conv2DTranspose(filters=4 * n, kernel_size=3, strides=2, **up),
        L.Conv2DTranspose(filters=2 * n, kernel_size=3, strides=2, **up),
        L.Conv2DTranspose(filters=1 * n, kernel_size=5, strides=2, **up),
        L.Conv2DTranspose(filters=3, kernel_size=5, strides=2, **up),
    ], name="course_decoder")
    model.build((None, COURSE_LATENT))
    return model


def _inputs(name: str) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    if name == "mnist_convnet":
        return [rng.uniform(0, 1, (3, 28, 28, 1)).astype(np.float32)]
    if name == "vae_encoder":  # an image and the sampling's draw ε
        return [rng.uniform(0, 1, (3, 28, 28, 1)).astype(np.float32),
                rng.standard_normal((3, LATENT)).astype(np.float32)]
    if name == "imdb_bilstm":
        return [rng.integers(0, VOCABULARY, (3, MAXLEN)).astype(np.int32)]
    if name == "course_encoder":
        return [rng.uniform(0, 1, (3, 64, 64, 3)).astype(np.float32)]
    if name == "course_decoder":
        return [rng.standard_normal((3, COURSE_LATENT)).astype(np.float32)]
    if name == "transformer_classifier":
        return [rng.integers(0, VOCABULARY, (3, MAXLEN)).astype(np.int32),
                np.tile(np.arange(MAXLEN, dtype=np.int32), (3, 1))]
    return [rng.standard_normal((3, LATENT)).astype(np.float32)]


MODELS: dict[str, Callable[[], keras.Model]] = {
    "mnist_convnet": mnist_convnet, "imdb_bilstm": imdb_bidirectional_lstm,
    "transformer_classifier": transformer_classifier, "vae_encoder": vae_encoder,
    "vae_decoder": vae_decoder, "course_encoder": course_encoder,
    "course_decoder": course_decoder}


@pytest.fixture(scope="module")
def ported(tmp_path_factory) -> dict[str, dict]:
    """Every example built (seeded), ported on its example input, written, and run from
    the written files in one fresh process."""
    root = tmp_path_factory.mktemp("port_examples")
    found = {}
    for name, build in MODELS.items():
        keras.utils.set_random_seed(8)
        model = build()
        x = _inputs(name)
        result = nn_rosetta.port(model, x if len(x) > 1 else x[0])
        out = root / name
        result.save(out)
        np.savez(out / "inputs.npz", *x)
        outputs = model(x if len(x) > 1 else x[0], training=False)
        expected = [keras.ops.convert_to_numpy(y) for y in
                    (outputs if isinstance(outputs, list | tuple) else [outputs])]
        found[name] = {"result": result, "out": out, "keras": expected, "model": model}
    # the written IMDB module again, on reviews of another length
    short = root / f"imdb_bilstm_{SHORT}"
    shutil.copytree(root / "imdb_bilstm", short)
    tokens = np.random.default_rng(9).integers(0, VOCABULARY, (2, SHORT)).astype(np.int32)
    np.savez(short / "inputs.npz", tokens)
    found["imdb_bilstm_short"] = {
        "out": short, "keras": [keras.ops.convert_to_numpy(found["imdb_bilstm"]["model"](
            tokens, training=False))]}
    return run_in_a_fresh_process(found, root)


@pytest.mark.parametrize("name", MODELS)
def test_the_written_example_reproduces_keras_in_a_fresh_process(ported, name) -> None:
    assert_reproduces_keras(ported[name])


def test_the_written_imdb_model_takes_reviews_of_another_length_in_a_fresh_process(
        ported) -> None:
    """Ported at keras.io's 200 words, run at 37: the module's length is not fixed."""
    assert ported["imdb_bilstm"]["fresh"][0].shape == (3, 1)
    assert_reproduces_keras(ported["imdb_bilstm_short"])


def test_the_imdb_report_says_the_length_it_ran_at(ported) -> None:
    report = ported["imdb_bilstm"]["result"].report
    assert report.lengths == (MAXLEN,)
    assert f"example input 3×{MAXLEN} (length {MAXLEN}; the model takes any)" in str(report)


def test_the_fresh_process_needs_only_torch(ported) -> None:
    assert next(iter(ported.values()))["imported"] == []


@pytest.mark.parametrize("name", MODELS)
def test_every_layer_of_the_example_agrees_with_keras_within_the_parity_tolerance(
        ported, name) -> None:
    report = ported[name]["result"].report
    assert report.layers and report.first_divergence is None, str(report)
    assert report.dtype == "float32"


@pytest.mark.parametrize("name", MODELS)
def test_the_generated_example_source_passes_ruff(ported, name) -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "ruff"), "check", "--no-cache",
                           "--config", str(ROOT / "pyproject.toml"),
                           str(ported[name]["out"] / "model.py")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_transformer_reads_as_torch_attention_and_layer_norm(ported) -> None:
    source = ported["transformer_classifier"]["result"].source
    assert "MultiHeadAttention(32, 2, head_dim=32)" in source
    assert "embedding = token_emb + pos_emb" in source
    assert "nn.LayerNorm(32, eps=1e-06)" in source


def test_the_bidirectional_lstm_ends_each_direction_where_keras_does(ported) -> None:
    source = ported["imdb_bilstm"]["result"].source
    assert "nn.LSTM(128, 64, batch_first=True, bidirectional=True)" in source
    assert "the reverse direction ends at t = 0" in source


def test_the_imdb_source_says_its_input_takes_any_length(ported) -> None:
    assert "Input: (N, T) integer indices; T: any length." in \
        ported["imdb_bilstm"]["result"].source


def test_the_vae_encoder_samples_z_with_torch_exp(ported) -> None:
    source = ported["vae_encoder"]["result"].source
    assert "std = torch.exp(half_log_var)" in source
    assert "noise = std * epsilon" in source and "z = z_mean + noise" in source
