"""Handwritten-digit-like images, drawn with NumPy, and the digit CNN of the course's lab.

The course the notes follow (MIT's introduction to deep learning) trains, in its second
lab, a small convolutional network on MNIST's 28×28 handwritten digits. Nothing is
downloaded here: :func:`images` draws digit-like images instead, each digit a few pen
strokes (polylines in the unit square) rendered with a soft, randomly thick pen after a
random rotation, scale and shift, so that no two samples are alike but a network can
still learn the ten classes. The rendering is vectorised: every pixel's distance to every
stroke segment of every sample at once.

:func:`digit_cnn` is the lab's network, in the spec; ``torch_impl.from_reference`` and
``tf_impl.from_reference`` give its PyTorch and Keras twins with the same weights.
:func:`digit_resnet` is a small residual network on the same images: a graph
(``reference.Model``), the shape of the ResNets people port, at a size that trains here;
:func:`digit_unet` a small U-Net (a transposed convolution and a skip connection);
:func:`digit_vae` the course's variational autoencoder, its sampled code built from stock
layers with the noise an input.

Shape:
    images: (N, 28, 28, 1) in [0, 1], channels-last like MNIST in Keras;
    labels: (N,) integers 0–9 (sparse labels, for sparse categorical cross-entropy).
"""

from __future__ import annotations

import itertools

import numpy as np

from reference.convolution import Conv2D, Conv2DTranspose, GlobalAveragePooling2D, MaxPool2D
from reference.graphs import Input, Model, SymbolicTensor
from reference.layers import Activation, Dense, Flatten, Reshape
from reference.merging import Add, Concatenate, Multiply
from reference.networks import Sequential
from reference.normalization import BatchNormalization, Rescaling

SIZE = 28


def _circle(cx: float, cy: float, rx: float, ry: float, start: float = 0.0,
            stop: float = 2 * np.pi, points: int = 12) -> list[tuple[float, float]]:
    angles = np.linspace(start, stop, points)
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


# Each digit as pen strokes: polylines of (x, y) points in the unit square, y downwards.
STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [_circle(0.5, 0.5, 0.25, 0.38, points=16)],
    1: [[(0.35, 0.25), (0.52, 0.1), (0.52, 0.9)]],
    2: [[(0.25, 0.3), (0.38, 0.13), (0.6, 0.12), (0.74, 0.28), (0.68, 0.47), (0.25, 0.88),
         (0.78, 0.88)]],
    3: [[(0.25, 0.15), (0.72, 0.15), (0.45, 0.45), (0.72, 0.62), (0.62, 0.86), (0.25, 0.84)]],
    4: [[(0.64, 0.9), (0.64, 0.1), (0.2, 0.62), (0.8, 0.62)]],
    5: [[(0.75, 0.12), (0.32, 0.12), (0.28, 0.45), (0.6, 0.42), (0.75, 0.64), (0.6, 0.87),
         (0.25, 0.84)]],
    6: [[(0.7, 0.12), (0.42, 0.3), (0.28, 0.64), (0.4, 0.87), (0.64, 0.85), (0.72, 0.66),
         (0.55, 0.5), (0.3, 0.6)]],
    7: [[(0.22, 0.12), (0.78, 0.12), (0.42, 0.9)]],
    8: [_circle(0.5, 0.3, 0.2, 0.18, points=12), _circle(0.5, 0.68, 0.24, 0.21, points=12)],
    9: [_circle(0.5, 0.32, 0.22, 0.2, points=12), [(0.72, 0.32), (0.62, 0.9)]],
}


def _segments(digit: int) -> np.ndarray:
    """The digit's strokes as segments (S, 2 ends, 2 coordinates)."""
    return np.array([pair for line in STROKES[digit] for pair in itertools.pairwise(line)])


def images(n: int, rng: np.random.Generator, dtype: object = np.float64
           ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` digit-like images with their labels, drawn from ``rng``.

    Each sample: a random digit, its strokes rotated by up to ±0.2 rad, scaled by 0.8–1.1,
    shifted by up to ±0.1, drawn with a pen 0.045–0.075 wide (in units of the image) whose
    edge fades over 0.03, scaled by 0.95, plus noise U(0, 0.05) on every pixel: values in
    [0, 1], and no flat, exactly tied patches.
    """
    labels = rng.integers(0, 10, n)
    longest = max(len(_segments(d)) for d in range(10))
    segments = np.zeros((n, longest, 2, 2))
    used = np.zeros((n, longest), bool)
    for digit in range(10):  # ten digits, not n samples: the stroke tables by label
        own = _segments(digit)
        segments[labels == digit, :len(own)] = own
        used[labels == digit, :len(own)] = True
    angle = rng.uniform(-0.2, 0.2, n)
    rotation = np.stack([np.stack([np.cos(angle), -np.sin(angle)], -1),
                         np.stack([np.sin(angle), np.cos(angle)], -1)], -2)  # (n, 2, 2)
    scale = rng.uniform(0.8, 1.1, (n, 1, 1, 1))
    shift = rng.uniform(-0.1, 0.1, (n, 1, 1, 2))
    segments = 0.5 + scale * np.einsum("nij,nsej->nsei", rotation, segments - 0.5) + shift
    grid = (np.arange(SIZE) + 0.5) / SIZE
    pixels = np.stack(np.meshgrid(grid, grid, indexing="xy"), -1).reshape(-1, 2)  # (P, 2): x, y
    a, b = segments[:, :, None, 0], segments[:, :, None, 1]  # (n, S, 1, 2)
    ab = b - a
    t = np.clip(np.sum((pixels - a) * ab, -1) / np.maximum(np.sum(ab * ab, -1), 1e-12), 0, 1)
    distance = np.linalg.norm(pixels - (a + t[..., None] * ab), axis=-1)  # (n, S, P)
    distance = np.where(used[:, :, None], distance, np.inf).min(axis=1)  # nearest stroke
    width = rng.uniform(0.045, 0.075, (n, 1))
    ink = np.clip(1.0 - (distance - width) / 0.03, 0.0, 1.0)
    # Noise on every pixel, none clipped: a stroke's inside saturated at exactly 1 made
    # equal windows, and a max pooling over tied values routes its gradient by the last
    # bit of each framework's convolution sum (float32 dL/dx then parted by rounding).
    ink = 0.95 * ink + rng.uniform(0.0, 0.05, ink.shape)
    return ink.reshape(n, SIZE, SIZE, 1).astype(dtype), labels


def digit_cnn(dtype: object = np.float64, seed: int | None = 0) -> Sequential:
    """The lab's network on (N, 28, 28, 1): Conv2D 24 filters 3×3 relu → MaxPool 2×2 →
    Conv2D 36 filters 3×3 relu → MaxPool 2×2 → Flatten → Dense 128 relu → Dense 10 softmax.

    Shapes per sample: 28×28×1 → 26×26×24 → 13×13×24 → 11×11×36 → 5×5×36 → 900 → 128 → 10.
    Trained in the lab with sparse categorical cross-entropy and Adam at 1e-3, batch 64.
    """
    return Sequential([
        Conv2D(1, 24, 3, activation="relu", dtype=dtype),
        MaxPool2D(2),
        Conv2D(24, 36, 3, activation="relu", dtype=dtype),
        MaxPool2D(2),
        Flatten(),
        Dense(900, 128, "relu", dtype=dtype),
        Dense(128, 10, "softmax", dtype=dtype),
    ], input_shape=(SIZE, SIZE, 1), seed=seed)


def _conv_bn(x: SymbolicTensor, filters: int, kernel_size: int, strides: int, name: str,
             dtype: object) -> SymbolicTensor:
    """Conv2D without a bias → BatchNormalization (Keras's convention), the unit a ResNet is
    built of: the normalisation subtracts any bias again, and its β is the shift."""
    x = Conv2D(x.shape[-1], filters, kernel_size, strides=strides,
               padding="same" if kernel_size > 1 else "valid", use_bias=False, dtype=dtype,
               name=f"{name}_conv")(x)
    return BatchNormalization(filters, convention="keras", dtype=dtype, name=f"{name}_bn")(x)


def basic_block(x: SymbolicTensor, filters: int, strides: int, name: str,
                dtype: object = np.float64) -> SymbolicTensor:
    """A ResNet basic block: y = ReLU(BN(conv(ReLU(BN(conv(x))))) + shortcut(x)).

    The shortcut is x itself when the block keeps the shape, else a projection: a 1×1
    convolution at the block's stride and a BatchNormalization, so that the two branches
    can be added. The gradient reaching x is the sum of what both branches send back.

    Shape:
        x: (N, H, W, C) → (N, ⌈H/s⌉, ⌈W/s⌉, filters).
    """
    h = _conv_bn(x, filters, 3, strides, f"{name}_1", dtype)
    h = Activation("relu", name=f"{name}_1_relu")(h)
    h = _conv_bn(h, filters, 3, 1, f"{name}_2", dtype)
    shortcut = x if strides == 1 and x.shape[-1] == filters else \
        _conv_bn(x, filters, 1, strides, f"{name}_0", dtype)
    return Activation("relu", name=f"{name}_out")(Add(name=f"{name}_add")([shortcut, h]))


def digit_resnet(dtype: object = np.float64, seed: int | None = 0,
                 widths: tuple[int, ...] = (8, 16), size: int = SIZE) -> Model:
    """A small ResNet on (N, size, size, 1): a 3×3 stem (Conv2D → BN → ReLU) of
    ``widths[0]`` filters, one basic block per width (the first at stride 1, each
    later one at stride 2 with a projection shortcut), global average pooling, Dense 10
    softmax.

    Shapes per sample (the default): 28×28×1 → 28×28×8 → 28×28×8 → 14×14×16 → 16 → 10.
    The stride-2 "same" convolutions on an even size are where TF pads unevenly (0 above,
    1 below): torch needs an explicit ``nn.ZeroPad2d`` there.
    """
    image = Input((size, size, 1), name="image")
    h = Activation("relu", name="stem_relu")(_conv_bn(image, widths[0], 3, 1, "stem", dtype))
    for k, filters in enumerate(widths):
        h = basic_block(h, filters, 1 if k == 0 else 2, f"block{k + 1}", dtype)
    h = GlobalAveragePooling2D(name="pool")(h)
    probabilities = Dense(widths[-1], 10, "softmax", dtype=dtype, name="classes")(h)
    return Model(image, probabilities, seed=seed)


def digit_unet(dtype: object = np.float64, seed: int | None = 0, size: int = 8,
               widths: tuple[int, int] = (4, 8)) -> Model:
    """A small U-Net on (N, size, size, 1) digits (size even): it encodes, halves, decodes
    back up with a transposed convolution and joins the encoder's features through a skip
    connection (a Concatenate on the channels), then gives one sigmoid value per pixel,
    flattened (a reconstruction of the image, or a segmentation of its ink).

    Shapes per sample (the default): 8×8×1 → Conv2D 3×3 relu 8×8×4 → MaxPool 2×2 4×4×4 →
    Conv2D 3×3 relu 4×4×8 → Conv2DTranspose 2×2 stride 2 relu 8×8×4 (each cell stamps a
    2×2 block: the inverse of the pooling's grid) → Concatenate with the first 8×8×8 →
    Conv2D 1×1 sigmoid 8×8×1 → Flatten 64 (with one channel, torch's channels-first
    Flatten has the same order).
    """
    image = Input((size, size, 1), name="image")
    encoded = Conv2D(1, widths[0], 3, padding="same", activation="relu", dtype=dtype,
                     name="encode")(image)
    h = MaxPool2D(2, name="down")(encoded)
    h = Conv2D(widths[0], widths[1], 3, padding="same", activation="relu", dtype=dtype,
               name="middle")(h)
    h = Conv2DTranspose(widths[1], widths[0], 2, strides=2, padding="same", activation="relu",
                        dtype=dtype, name="up")(h)
    h = Concatenate(name="skip")([encoded, h])
    h = Conv2D(2 * widths[0], 1, 1, activation="sigmoid", dtype=dtype, name="pixels")(h)
    return Model(image, Flatten(name="flat")(h), seed=seed)


def sampled_code(z_mean: SymbolicTensor, z_log_var: SymbolicTensor, noise: SymbolicTensor,
                 dtype: object = np.float64) -> SymbolicTensor:
    r"""A variational autoencoder's code z = μ + σ ⊙ ε, σ = exp(½ log σ²), from stock layers:
    Rescaling(0.5) → Activation("exponential") → Multiply with ε → Add μ (the
    reparameterisation trick: the randomness is an input, ε ~ N(0, 1) drawn by the
    caller, as Dropout's mask is injected, so that every framework samples the same z).

    Backward, with g = dL/dz, is what those layers' backwards compose:

        dL/dμ = g                       (Add: ∂z/∂μ = 1)
        dL/d(log σ²) = g ⊙ ½ σ ⊙ ε      (Multiply: g ⊙ ε; exp: ⊙ σ; Rescaling: ⊙ ½)
        dL/dε = g ⊙ σ

    Shape:
        z_mean, z_log_var, noise: (N, latent) → z: (N, latent).
    """
    half = Rescaling(0.5, dtype=dtype, name="half_log_var")(z_log_var)
    sigma = Activation("exponential", dtype=dtype, name="sigma")(half)
    spread = Multiply(name="sigma_noise")([sigma, noise])
    return Add(name="z")([z_mean, spread])


def digit_vae(dtype: object = np.float64, seed: int | None = 0, size: int = 8,
              latent: int = 2, widths: tuple[int, int] = (4, 16)) -> Model:
    """The course's variational autoencoder on (N, size, size, 1) digits (size even), with
    the noise ε (N, latent) a second input: inputs ``[image, noise]``, outputs
    ``[reconstruction, z_mean, z_log_var]``. Trained on reconstruction + KL:
    ``fit(vae, [images, eps], images.reshape(N, -1), loss="binary_cross_entropy",
    kl=(1, 2))`` (``reference.losses.gaussian_kl``, the code's distance from N(0, 1)).

    Shapes per sample (the default): encoder 8×8×1 → Conv2D 3×3 stride 2 "same" relu 4×4×4
    → Flatten 64 → Dense 16 relu → z_mean, z_log_var: Dense 2 each; the code
    z = μ + exp(½ log σ²) ⊙ ε (:func:`sampled_code`) → decoder Dense 64 relu → Reshape
    4×4×4 → Conv2DTranspose 3×3 stride 2 "same" sigmoid 8×8×1 → Flatten 64 (one pixel
    probability each). The transposed kernel is the Keras example's 3×3: its "same" crop
    is TF's uneven one, the odd cell at the end (none at the start), which torch writes as
    ``nn.ConvTranspose2d`` then a crop module (``torch_impl.convolution``).
    """
    image, noise = Input((size, size, 1), name="image"), Input((latent,), name="noise")
    h = Conv2D(1, widths[0], 3, strides=2, padding="same", activation="relu", dtype=dtype,
               name="encode")(image)
    h = Flatten(dtype=dtype, name="encode_flat")(h)
    h = Dense(h.shape[0], widths[1], "relu", dtype=dtype, name="encode_dense")(h)
    z_mean = Dense(widths[1], latent, dtype=dtype, name="z_mean")(h)
    z_log_var = Dense(widths[1], latent, dtype=dtype, name="z_log_var")(h)
    z = sampled_code(z_mean, z_log_var, noise, dtype)
    grid = (size // 2, size // 2, widths[0])
    d = Dense(latent, int(np.prod(grid)), "relu", dtype=dtype, name="decode_dense")(z)
    d = Reshape(grid, dtype=dtype, name="decode_grid")(d)
    d = Conv2DTranspose(widths[0], 1, 3, strides=2, padding="same", activation="sigmoid",
                        dtype=dtype, name="decode")(d)
    reconstruction = Flatten(dtype=dtype, name="reconstruction")(d)
    return Model([image, noise], [reconstruction, z_mean, z_log_var], seed=seed)
