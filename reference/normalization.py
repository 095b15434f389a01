r"""Normalisation layers: BatchNormalization and LayerNormalization.

Both standardise their input and then scale and shift it with trainable γ (``gamma``)
and β (``beta``), one per feature (the last axis, channels-last):

    x̂ = (x − μ) / √(σ² + ε);   y = γ x̂ + β

They differ in what μ and σ² are averaged over. BatchNormalization averages over every
axis but the last (the batch, and the pixels of an image): one μ and σ² per feature,
shared by the batch. LayerNormalization averages over the last axis: one μ and σ² per
sample, so it computes the same in training and in inference.

BatchNormalization in training uses the batch's own statistics (σ² the biased variance,
Σ (x − μ)² / n) and updates running averages of them (``state``: ``moving_mean``,
``moving_variance``); in inference it normalises with those running averages instead.
Where torch and Keras differ, the spec computes either by name (``convention=``), as
``reference.optimizers`` does:

===================  ===================================  ===================================
                     "torch" (nn.BatchNorm1d/2d)          "keras" (layers.BatchNormalization)
===================  ===================================  ===================================
momentum m           weights the new value, 0.1:          weights the old value, 0.99:
                     r ← (1 − m) r + m s                  r ← m r + (1 − m) s
ε                    1e-5                                 1e-3
stored variance      unbiased: s = σ² · n / (n − 1)       biased: s = σ²
batch of one         refused in training (n = 1)          allowed: y = β
called directly      training (module.train())            inference (training=None)
===================  ===================================  ===================================

n is the number of values averaged per feature: N after a Dense layer, N·H·W after a
channels-last convolution. Both normalise a training batch with the biased σ², and at
inference both use the stored value as it is; so the unbiased correction changes the
running variance, never a training output. The same decay is momentum m in one and
1 − m in the other (``momentum_as``); the porting line is ``momentum=1 - m_keras``.

LayerNormalization: the conventions differ only in ε (torch 1e-5, Keras 1e-3).

Backward (both layers, with sums over the axes the statistics were averaged over and
n values in each): dL/dβ = Σ g, dL/dγ = Σ g ⊙ x̂, and with ĝ = γ g,

    dL/dx = (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)) / √(σ² + ε)

because μ and σ² depend on every x in their average. In BatchNormalization's inference
μ and σ² are constants, and dL/dx = ĝ / √(σ² + ε).

BatchNormalization's sums run over every axis but the last, the sums of dL/dβ and dL/dγ
themselves, so there mean(ĝ) = γ dL/dβ / n and mean(ĝ ⊙ x̂) = γ dL/dγ / n: backward needs
no other reduction. Each such sum is the column sum of an (n, C) matrix, taken as one
matrix-vector product 1ᵀA (BLAS), many times faster than NumPy's reduction over the
leading axes of a channels-last image batch with few channels.

Shape:
    x, y, g: (N, *, C), C = ``features``; gamma, beta, moving_mean, moving_variance: (C,).

Keras's preprocessing layers standardise with numbers given, not learned: ``Rescaling``
(x · scale + offset) and ``Normalization`` ((x − mean) / max(√variance, 1e-7), the
statistics of the training data given as arguments).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from reference import initializers
from reference._validation import (
    FLOAT32_MAX,
    as_array,
    as_flag,
    as_float_array,
    check_real,
    check_shape,
    real_value,
)
from reference.layers import LAYERS, Layer

CONVENTIONS = ("torch", "keras")
BATCH_NORM_DEFAULTS = {"torch": {"momentum": 0.1, "epsilon": 1e-5},
                       "keras": {"momentum": 0.99, "epsilon": 1e-3}}
LAYER_NORM_EPSILON = {"torch": 1e-5, "keras": 1e-3}
# BatchNormalization's refusal of a batch of one value per feature; fit words it for a run
ONE_VALUE_PER_FEATURE = "a training batch needs more than one value per feature"


def _check_convention(where: str, convention: str) -> None:
    if not isinstance(convention, str) or convention not in CONVENTIONS:
        raise ValueError(f"{where}: convention must be one of {CONVENTIONS}, got {convention!r}")


def _check_features(where: str, features: object) -> int:
    if isinstance(features, bool) or not isinstance(features, int | np.integer) or features < 1:
        raise ValueError(f"{where}: features must be a positive integer, got {features!r}")
    return int(features)


def _check_number(where: str, what: str, value: object, low: float, high: float) -> float:
    number = real_value(value)  # a NumPy float32 or integer too (it was refused)
    if number is None or not low <= number <= high:
        raise ValueError(f"{where}: {what} must be a number in [{low}, {high}], got {value!r}")
    return number


def _check_epsilon(where: str, epsilon: object) -> float:
    # ε keeps 1/√(σ² + ε) finite on a constant feature: 0 would divide by zero there, and
    # inf would give every output β; beyond float32's range, a float32 layer's ε is inf.
    check_real(where, "epsilon", epsilon, 0.0, FLOAT32_MAX, low_open=True)
    return float(epsilon)


def _column_sums(a: np.ndarray) -> np.ndarray:
    """Σ over every axis but the last of ``a`` (…, C): 1ᵀA for A = ``a`` as (n, C), one
    matrix-vector product (see the module docstring)."""
    columns = a.reshape(-1, a.shape[-1])
    return np.ones(len(columns), dtype=a.dtype) @ columns


def _per_sample(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A per-feature ``v`` (C,) repeated to one sample's shape ``x.shape[1:]`` (H, W, C).

    Why: NumPy runs ``x * v`` on (N, H, W, C) with an inner loop over the C numbers of v,
    a call per pixel (8 numbers for a channels-last batch of 8 channels); against
    (H, W, C), contiguous like each sample of x, the inner loop runs over H·W·C. Same
    numbers, same roundings, about twice as fast (see benchmarks/README.md)."""
    return np.broadcast_to(v, x.shape[1:]).copy() if x.ndim > 2 else v


class _Normalization(Layer):
    """What both layers share: γ and β per feature, the input check, the backward pass.
    Without γ (``scale=False``) or β (``center=False``) the layer computes with 1 or 0 and
    learns none (a BatchNormalization's, as Keras's InceptionV3 has)."""

    parameter_names = ("gamma", "beta")
    scale: bool = True
    center: bool = True

    def __init__(self, features: int, *, dtype: object, name: str | None) -> None:
        self.features = _check_features(type(self).__name__, features)
        if not (self.scale and self.center):
            self.parameter_names = tuple(name for name, kept in (
                ("gamma", self.scale), ("beta", self.center)) if kept)
        super().__init__(dtype=dtype, name=name, default_name=f"{type(self).__name__}({features})")
        self.initialize(np.random.default_rng(0))  # draws nothing: γ = 1, β = 0
        self._batch_statistics = False
        self._x_hat: np.ndarray | None = None
        self._inv_std: np.ndarray | None = None
        self._axes: tuple[int, ...] = ()  # the axes the last forward averaged over

    @classmethod
    def array_shapes(cls, config: dict[str, Any]) -> dict[str, list[int]]:
        """One value per feature in every array (γ, β and any running statistic)."""
        kept = {"gamma": config.get("scale", True), "beta": config.get("center", True)}
        return {name: [config["features"]] for name in cls.parameter_names + cls.state_names
                if kept.get(name, True)}

    def initialize(self, rng: np.random.Generator) -> None:
        """γ = 1, β = 0, as both frameworks start (nothing is drawn)."""
        if self.scale:
            self._values["gamma"] = np.ones(self.features, dtype=self.dtype)
        if self.center:
            self._values["beta"] = initializers.zeros((self.features,), dtype=self.dtype)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if not input_shape or input_shape[-1] != self.features:
            raise ValueError(f"{self.name}: expects {self.features} features on the last axis "
                             f"(channels-last), got per-sample shape {tuple(input_shape)}")
        return tuple(input_shape)

    def _checked(self, x: np.ndarray) -> np.ndarray:
        x = self._input(x)
        check_shape(self.name, "input x", x.shape, (*x.shape[:-1], self.features))
        return x

    def _normalize(self, centered: np.ndarray, variance: np.ndarray,
                   axes: tuple[int, ...] | None) -> np.ndarray:
        """y = γ x̂ + β from ``centered`` = x − μ (a fresh array, which becomes x̂ in
        place), remembering x̂ and 1/√(σ² + ε); ``axes``: those the statistics came from
        (None: constants, BatchNorm's inference)."""
        inv_std = 1.0 / np.sqrt(variance + centered.dtype.type(self.epsilon))
        self._inv_std, self._axes = inv_std, axes or ()
        self._batch_statistics = axes is not None
        gamma, beta = self._values.get("gamma"), self._values.get("beta")
        if variance.ndim == 1:  # one σ² per feature (BatchNormalization)
            inv_std, gamma, beta = (None if v is None else _per_sample(v, centered)
                                    for v in (inv_std, gamma, beta))
        x_hat = centered
        x_hat *= inv_std  # in place, here and below: no temporary the size of x
        self._x_hat = x_hat
        y = x_hat.copy() if gamma is None else x_hat * gamma  # x̂ itself is kept for backward
        if beta is not None:
            y += beta
        return y

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        """Given g = dL/dy: dL/dγ = Σ g x̂, dL/dβ = Σ g; returns dL/dx (module docstring)."""
        if self._x_hat is None or self._inv_std is None:
            raise self._no_forward()
        g = self._upstream(grad_output, self._x_hat.shape)
        g_x_hat = g * self._x_hat
        d_gamma, d_beta = _column_sums(g_x_hat), _column_sums(g)
        self._gradients = {name: d for name, d in (("gamma", d_gamma), ("beta", d_beta))
                           if name in self.parameter_names}
        if not input_gradient:
            return None
        gamma = self._values["gamma"] if self.scale else self.dtype.type(1)  # scale=False: γ = 1
        if not self._batch_statistics:
            scale = gamma * self._inv_std
            return g * (_per_sample(scale, g) if scale.ndim == 1 else scale)
        axes = self._axes
        if axes == tuple(range(g.ndim - 1)):  # BatchNorm: the sums above are the means' own
            n = g.size // g.shape[-1]
            dx = g - _per_sample(d_beta / n, g)
            dx -= np.multiply(self._x_hat, _per_sample(d_gamma / n, g), out=g_x_hat)
            dx *= _per_sample(gamma * self._inv_std, g)
            return dx
        g_hat = g * gamma
        return (g_hat - np.mean(g_hat, axis=axes, keepdims=True)
                - self._x_hat * np.mean(g_hat * self._x_hat, axis=axes, keepdims=True)
                ) * self._inv_std


class BatchNormalization(_Normalization):
    r"""Batch normalisation over every axis but the last: one μ, σ² per feature.

    Training: μ, σ² of the batch (σ² biased); y = γ (x − μ)/√(σ² + ε) + β; then the
    running statistics move towards μ and σ² (or the unbiased variance, under
    ``"torch"``) by the convention's momentum. Inference: the same with the running
    statistics in place of μ and σ². See the module docstring for the conventions and
    the backward pass.

    Shape:
        x, y: (N, C) after a Dense layer, (N, H, W, C) after a channels-last convolution;
        gamma, beta, moving_mean, moving_variance: (C,).

    Args:
        features: C, the size of the last axis.
        momentum: in the convention's own meaning (torch: the weight of the new value,
            default 0.1; Keras: of the old one, default 0.99).
        epsilon: added to σ² (default torch 1e-5, Keras 1e-3).
        center, scale: Keras's: False leaves β (0) or γ (1) out, fixed and not learnt.
        convention: ``"torch"`` (default, as in ``reference.optimizers``) or ``"keras"``.
    """

    state_names = ("moving_mean", "moving_variance")

    def __init__(self, features: int, momentum: float | None = None,
                 epsilon: float | None = None, *, center: bool = True, scale: bool = True,
                 convention: str = "torch", dtype: object = np.float64,
                 name: str | None = None) -> None:
        _check_convention("BatchNormalization", convention)
        self.center = as_flag("BatchNormalization", "center", center)
        self.scale = as_flag("BatchNormalization", "scale", scale)
        defaults = BATCH_NORM_DEFAULTS[convention]
        self.convention = convention
        self.momentum = _check_number("BatchNormalization", "momentum",
                                      defaults["momentum"] if momentum is None else momentum,
                                      0.0, 1.0)
        self.epsilon = _check_epsilon("BatchNormalization",
                                      defaults["epsilon"] if epsilon is None else epsilon)
        super().__init__(features, dtype=dtype, name=name)

    def initialize(self, rng: np.random.Generator) -> None:
        """γ = 1, β = 0, running mean 0 and running variance 1, as both frameworks start."""
        super().initialize(rng)
        self._values["moving_mean"] = initializers.zeros((self.features,), dtype=self.dtype)
        self._values["moving_variance"] = np.ones(self.features, dtype=self.dtype)

    def momentum_as(self, convention: str) -> float:
        """This layer's decay as ``convention`` spells it: m in its own, 1 − m in the other."""
        _check_convention("BatchNormalization.momentum_as", convention)
        return self.momentum if convention == self.convention else 1.0 - self.momentum

    def under(self, convention: str) -> BatchNormalization:
        """A copy that updates as ``convention``'s framework does, with the same decay, ε,
        weights and running statistics (what a port to that framework computes)."""
        copy = BatchNormalization(self.features, self.momentum_as(convention), self.epsilon,
                                  center=self.center, scale=self.scale, convention=convention,
                                  dtype=self.dtype, name=self.name)
        for key, value in {**self.parameters, **self.state}.items():
            copy.set(key, value)
        return copy

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = γ x̂ + β with the batch's statistics (training, which updates the running
        ones) or the running statistics (inference)."""
        x = self._checked(x)
        axes = tuple(range(x.ndim - 1))
        if not training:
            return self._normalize(x - _per_sample(self._values["moving_mean"], x),
                                   self._values["moving_variance"], None)
        n = x.size // self.features
        if n == 0:  # its mean is 0/0, which would turn the running statistics into NaN
            raise ValueError(f"{self.name}: a training batch needs at least one value per "
                             f"feature, got input shape {x.shape}")
        if n == 1 and self.convention == "torch":
            raise ValueError(f"{self.name}: {ONE_VALUE_PER_FEATURE} under torch's "
                             f"convention (its unbiased variance divides by n − 1), got "
                             f"input shape {x.shape}")
        mean = _column_sums(x) / x.dtype.type(n)
        centered = x - _per_sample(mean, x)
        variance = _column_sums(np.square(centered)) / x.dtype.type(n)
        self._update(mean, variance, n)
        return self._normalize(centered, variance, axes)

    def _update(self, mean: np.ndarray, variance: np.ndarray, n: int) -> None:
        m, r_mean, r_var = self.momentum, self._values["moving_mean"], \
            self._values["moving_variance"]
        if self.convention == "keras":  # m weights the old value
            self._values["moving_mean"] = r_mean * m + mean * (1.0 - m)
            self._values["moving_variance"] = r_var * m + variance * (1.0 - m)
        else:  # m weights the new value, and the stored variance is the unbiased one
            self._values["moving_mean"] = (1.0 - m) * r_mean + m * mean
            self._values["moving_variance"] = (1.0 - m) * r_var + m * (variance * (n / (n - 1)))

    def config(self) -> dict[str, Any]:
        kept = {name: False for name in ("center", "scale") if not getattr(self, name)}
        return {"features": self.features, "momentum": self.momentum, "epsilon": self.epsilon,
                **kept, "convention": self.convention, **super().config()}


class LayerNormalization(_Normalization):
    r"""Layer normalisation over the last axis: one μ, σ² per sample (per position).

    y = γ (x − μ)/√(σ² + ε) + β, μ and σ² (biased) over the C features of each sample;
    the same in training and inference, and nothing is stored. See the module docstring
    for the backward pass.

    Shape:
        x, y: (N, *, C); gamma, beta: (C,).

    Args:
        features: C, the size of the last axis.
        epsilon: added to σ² (default torch 1e-5, Keras 1e-3).
        convention: ``"torch"`` (default) or ``"keras"``; it decides only ε's default.
    """

    any_length = True  # per position, over the last axis

    def __init__(self, features: int, epsilon: float | None = None, *,
                 convention: str = "torch", dtype: object = np.float64,
                 name: str | None = None) -> None:
        _check_convention("LayerNormalization", convention)
        self.convention = convention
        self.epsilon = _check_epsilon("LayerNormalization", LAYER_NORM_EPSILON[convention]
                                      if epsilon is None else epsilon)
        super().__init__(features, dtype=dtype, name=name)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = γ x̂ + β, statistics over the last axis; ``training`` changes nothing."""
        x = self._checked(x)
        centered = x - np.mean(x, axis=-1, keepdims=True)
        variance = np.mean(np.square(centered), axis=-1, keepdims=True)
        return self._normalize(centered, variance, (-1,))

    def config(self) -> dict[str, Any]:
        return {"features": self.features, "epsilon": self.epsilon,
                "convention": self.convention, **super().config()}


def under(model, convention: str):
    """A copy of a spec ``Sequential`` whose BatchNormalization layers update as
    ``convention``'s framework does (same decay, ε, weights and statistics); the other
    layers are copied unchanged. The parity suite compares torch with ``"torch"`` and
    Keras with ``"keras"``."""
    import copy

    from reference.networks import Sequential

    layers = [layer.under(convention) if isinstance(layer, BatchNormalization)
              else copy.deepcopy(layer) for layer in model.layers]
    return Sequential(layers, input_shape=model.input_shape)


class Rescaling(Layer):
    r"""y = x · scale + offset, elementwise: Keras's ``Rescaling(scale, offset)``, the
    preprocessing step at the top of EfficientNet (``scale=1/255``).

    The same in training and inference; nothing is learned. scale and offset are cast to
    the input's dtype first (Keras casts them to its compute dtype), so in float32 1/255 is
    rounded to float32 before it multiplies. Backward: dL/dx = g · scale.

    Shape:
        x, y: (N, *) any shape.

    Args:
        scale, offset: finite numbers.
    """

    any_length = True  # elementwise

    def __init__(self, scale: float, offset: float = 0.0, *, dtype: object | None = None,
                 name: str | None = None) -> None:
        for what, value in (("scale", scale), ("offset", offset)):  # float32's range: a
            # float32 input's scale of 1e300 was inf
            check_real("Rescaling", what, value, -FLOAT32_MAX, FLOAT32_MAX)
        self.scale, self.offset = float(scale), float(offset)
        super().__init__(dtype=dtype, name=name,
                         default_name=f"Rescaling({self.scale}, {self.offset})")
        self._forwarded = False

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._input(x)
        self._forwarded = True
        return x * x.dtype.type(self.scale) + x.dtype.type(self.offset)

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if not self._forwarded:
            raise self._no_forward()
        g = as_float_array(grad_output, self.dtype, self.name, "grad_output")
        return g * g.dtype.type(self.scale) if input_gradient else None

    def config(self) -> dict[str, Any]:
        return {"scale": self.scale, "offset": self.offset, **super().config()}


NORMALIZATION_FLOOR = 1e-7  # Keras's backend.epsilon(): the smallest divisor it uses


class Normalization(Layer):
    r"""Standardisation by a given mean and variance, per feature of the last axis:
    Keras's ``Normalization(mean=…, variance=…)``.

        y = (x − mean) / max(√variance, 1e-7)

    mean and variance are given (the statistics of the training data, as ``adapt``
    would compute them) and fixed: nothing is learned, training and inference agree.
    Keras divides by max(√variance, 1e-7), not by √(variance + ε) as the normalisation
    layers with γ and β do, so a zero variance gives outputs of order 1e7, not an error.
    Backward: dL/dx = g / max(√variance, 1e-7).

    Shape:
        x, y: (N, *, C); mean, variance: (C,) (or one number for every feature).

    Args:
        mean, variance: numbers or sequences of C numbers, variance ≥ 0.
        axis: the feature axis; −1 (the last, channels-last) only.
    """

    def __init__(self, mean: float | Sequence[float], variance: float | Sequence[float],
                 axis: int = -1, *, dtype: object | None = None,
                 name: str | None = None) -> None:
        if isinstance(axis, bool) or not isinstance(axis, int | np.integer) or axis != -1:
            raise ValueError(f"Normalization: axis must be -1 (features on the last axis, "
                             f"channels-last), got {axis!r}")
        arrays = []
        for what, value in (("mean", mean), ("variance", variance)):
            try:  # numbers only: NumPy would read b"2" as 2.0 and True as 1.0
                array = as_array(value, "Normalization", what)
                array = array.astype(np.float64) if array.dtype.kind in "iuf" else None
            except (TypeError, ValueError):
                array = None
            if array is None or array.ndim > 1 or array.size == 0 or \
                    not np.all(np.abs(array) <= FLOAT32_MAX):  # NaN and ±inf fail too
                raise ValueError(f"Normalization: {what} must be a finite number or a "
                                 f"sequence of them (one per feature), each within "
                                 f"float32's range, got {value!r}")
            arrays.append(array)
        if arrays[0].shape != arrays[1].shape or np.any(arrays[1] < 0):
            raise ValueError(f"Normalization: mean and variance must have one shape and "
                             f"variance ≥ 0, got mean {mean!r}, variance {variance!r}")
        self.axis = -1
        self.mean, self.variance = arrays
        super().__init__(dtype=dtype, name=name, default_name="Normalization")
        self._divisor: np.ndarray | None = None

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if self.mean.ndim and (not input_shape or input_shape[-1] != self.mean.size):
            raise ValueError(f"{self.name}: expects {self.mean.size} features on the last "
                             f"axis, got per-sample shape {tuple(input_shape)}")
        return tuple(input_shape)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        x = self._input(x)
        self.output_shape(x.shape[1:])
        mean, variance = self.mean.astype(x.dtype), self.variance.astype(x.dtype)
        self._divisor = np.maximum(np.sqrt(variance), x.dtype.type(NORMALIZATION_FLOOR))
        return (x - mean) / self._divisor

    def backward(self, grad_output: np.ndarray, *,
                 input_gradient: bool = True) -> np.ndarray | None:
        if self._divisor is None:
            raise self._no_forward()
        g = as_float_array(grad_output, self.dtype, self.name, "grad_output")
        return g / self._divisor if input_gradient else None

    def config(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "variance": self.variance.tolist(),
                "axis": self.axis, **super().config()}


LAYERS.update({cls.__name__: cls for cls in (BatchNormalization, LayerNormalization)})
LAYERS.update({cls.__name__: cls for cls in (Rescaling, Normalization)})


# -- the mirrors' preprocessing layers: the spec's constructor checks their constants -----

def rescaling_constants(where: str, scale: object, offset: object = 0.0, **_: Any) -> None:
    """Rescaling's scale and offset: finite numbers, as :class:`Rescaling` checks them (a
    NaN there is no data's: it would turn every output into NaN). A ``@checked`` check of
    ``torch_impl.Rescaling`` and ``tf_impl.Rescaling``."""
    Rescaling(scale, offset)


def normalization_statistics(where: str, mean: object, variance: object, **_: Any) -> None:
    """Normalization's mean and variance: finite, variance ≥ 0, one shape (one number or
    one per feature), as :class:`Normalization` checks them. A ``@checked`` check of
    ``torch_impl.Normalization`` and ``tf_impl.Normalization``."""
    Normalization(as_array(mean, where, "mean"), as_array(variance, where, "variance"))
