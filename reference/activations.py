"""Activation functions φ and their derivatives, elementwise over any shape.

Each activation is written next to its derivative, with the formula in the docstring.
``softmax`` couples the entries of its last axis, so instead of a derivative it has a
vector-Jacobian product ``softmax_vjp``. Backpropagation only ever needs the
vector-Jacobian product ``g ↦ gᵀ J``; :class:`Activation` gives every activation one,
``g * φ'(z)`` for the elementwise ones.

All functions keep the input's floating dtype (float32 stays float32) and are
numerically stable: no overflow and no NumPy warning for any finite input (the
registry's extreme cases reach ±1e4), except ``exponential``, whose value is beyond
the dtype's range past z ≈ 709.8 (float64) or 88.7 (float32): there it is inf, in
every framework, without a warning. A NaN input gives a NaN output (softmax: the
whole row), never a number.

At a kink the derivative takes the value the frameworks use: ReLU'(0) = 0,
leaky-ReLU'(0) = slope, ELU'(0) = α (α = 1 by default, where both sides agree),
step'(z) = 0 everywhere (the step has no useful gradient).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from reference._validation import FLOAT32_MAX, as_float_array, check_real, check_shape

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_TANH_CUBIC = 0.044715
# Past these |z| the functions below are saturated in float32 and float64 alike: e^(−800)
# and e^(−40²/2) are 0, tanh(u(100)) = tanh(3.6e4) is ±1. Capping z there first keeps
# z² and 2|z| from overflowing (a NumPy warning) without changing a value.
_SATURATED = 400.0
_DENSITY_SATURATED = 40.0
_GELU_TANH_SATURATED = 100.0
_GELU_FORMS = ("none", "tanh")


def _float(z: object, where: str) -> np.ndarray:
    return as_float_array(z, None, where, "z")


def _constant(where: str, what: str, value: object) -> float:
    """A slope or α: a finite real number within float32's range (TF holds leaky_relu's
    slope as a float32 attribute), as a Python float, so that it keeps z's dtype (NumPy
    computes np.float64(0.1) · z in float64 even for a float32 z). Unchecked, a slope of
    NaN gave NaN for every z ≤ 0, an array of slopes one per column, a string NumPy's
    UFuncTypeError."""
    check_real(where, what, value, -FLOAT32_MAX, FLOAT32_MAX)
    return float(value)


def identity(z: np.ndarray) -> np.ndarray:
    """φ(z) = z (a Dense layer with no activation; Keras calls it ``linear``)."""
    return _float(z, "identity").copy()


def identity_derivative(z: np.ndarray) -> np.ndarray:
    """φ'(z) = 1."""
    return np.ones_like(_float(z, "identity_derivative"))


def step(z: np.ndarray) -> np.ndarray:
    """Heaviside step: φ(z) = 1 if z > 0 else 0, so φ(0) = 0; φ(NaN) = NaN.

    This is the perceptron's threshold of notes 001 and 004 (output 0 for z ≤ 0). Note 002
    trains with ``z >= 0`` but predicts with ``z > 0``; this project uses ``z > 0`` for both.
    ``np.heaviside`` keeps NaN (a comparison ``z > 0`` would turn it into 0 and hide it).
    """
    return np.heaviside(_float(z, "step"), 0.0)


def step_derivative(z: np.ndarray) -> np.ndarray:
    """φ'(z) = 0 wherever it exists (undefined at 0): the step cannot be trained by gradients."""
    return np.zeros_like(_float(z, "step_derivative"))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid σ(z) = 1 / (1 + e^(−z)), in (0, 1).

    Stable form: with e = e^(−|z|) ≤ 1, σ(z) = 1/(1+e) for z ≥ 0 and e/(1+e) for z < 0,
    so ``exp`` never overflows.
    """
    z = _float(z, "sigmoid")
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(z: np.ndarray) -> np.ndarray:
    """σ'(z) = σ(z)(1 − σ(z))."""
    s = sigmoid(_float(z, "sigmoid_derivative"))
    return s * (1.0 - s)


def tanh(z: np.ndarray) -> np.ndarray:
    """tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z)) = 2σ(2z) − 1, in (−1, 1)."""
    return np.tanh(_float(z, "tanh"))


def tanh_derivative(z: np.ndarray) -> np.ndarray:
    """tanh'(z) = 1 − tanh(z)² = sech²(z) = 4e / (1 + e)², with e = e^(−2|z|).

    The last form keeps every digit where tanh(z) → ±1 and 1 − tanh² would cancel
    (at z = 6 it loses 4 digits), and ``exp`` never overflows; nor does 2|z|, capped
    where e^(−2|z|) is 0 in either dtype.
    """
    z = _float(z, "tanh_derivative")
    # |z| capped where e is 0 in both dtypes already: −2|z| overflowed in float32 past
    # 1.7e38 (a warning, for the 0 torch and TF give without one)
    e = np.exp(-2.0 * np.minimum(np.abs(z), _SATURATED))
    return 4.0 * e / np.square(1.0 + e)


def relu(z: np.ndarray) -> np.ndarray:
    """ReLU(z) = max(0, z)."""
    z = _float(z, "relu")
    # against zeros of one sample's shape, broadcast over the first axis: NumPy runs
    # maximum with a scalar (or a row of a few dozen numbers) without SIMD, 2-3× slower
    return np.maximum(z, np.zeros(z.shape[1:], z.dtype))


def relu_derivative(z: np.ndarray) -> np.ndarray:
    """ReLU'(z) = 1 if z > 0 else 0 (0 at the kink, as in torch and TF)."""
    z = _float(z, "relu_derivative")
    return (z > 0).astype(z.dtype)


def leaky_relu(z: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """φ(z) = z if z > 0 else s·z, with slope s = ``negative_slope``.

    The default s = 0.01 is torch's ``nn.LeakyReLU``; Keras uses 0.2 (``activations``)
    or 0.3 (the ``LeakyReLU`` layer), so the mirrors always pass the slope explicitly.
    """
    z = _float(z, "leaky_relu")
    negative_slope = _constant("leaky_relu", "negative_slope", negative_slope)
    return np.where(z > 0, z, negative_slope * z)


def leaky_relu_derivative(z: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """φ'(z) = 1 if z > 0 else s (s at the kink, as in torch and TF)."""
    z = _float(z, "leaky_relu_derivative")
    negative_slope = _constant("leaky_relu_derivative", "negative_slope", negative_slope)
    return np.where(z > 0, 1.0, negative_slope).astype(z.dtype)


def elu(z: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """ELU(z) = z if z > 0 else α(e^z − 1)."""
    z = _float(z, "elu")
    alpha = _constant("elu", "alpha", alpha)
    # expm1 only sees z ≤ 0, so it cannot overflow for large positive z.
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))


def elu_derivative(z: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """ELU'(z) = 1 if z > 0 else α·e^z."""
    z = _float(z, "elu_derivative")
    alpha = _constant("elu_derivative", "alpha", alpha)
    return np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0.0))).astype(z.dtype)


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax(z)_i = e^(z_i) / Σ_j e^(z_j) over the last axis.

    Computed as e^(z − max z) / Σ e^(z − max z) (the log-sum-exp shift), so the largest
    exponent is e^0 = 1 and nothing overflows.
    """
    z = _float(z, "softmax")
    with np.errstate(over="ignore"):  # a gap beyond the dtype's range: −inf, whose e^ is 0
        e = np.exp(z - np.max(z, axis=-1, keepdims=True, initial=-np.inf))  # no rows: empty
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax_vjp(z: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """Vector-Jacobian product gᵀJ of softmax, where J_ij = s_i(δ_ij − s_j).

    (gᵀJ)_j = s_j (g_j − Σ_i g_i s_i): the full (K, K) Jacobian is never formed.
    """
    s = softmax(_float(z, "softmax_vjp"))
    # g of z's shape and dtype: a g of shape (K,) was broadcast over every row of z
    g = as_float_array(grad_output, s.dtype, "softmax_vjp", "grad_output")
    check_shape("softmax_vjp", "grad_output (the shape of z)", g.shape, s.shape)
    return s * (g - np.sum(g * s, axis=-1, keepdims=True))


def softplus(z: np.ndarray) -> np.ndarray:
    """softplus(z) = log(1 + e^z), written max(z, 0) + log1p(e^(−|z|)) so it never overflows."""
    z = _float(z, "softplus")
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def softplus_derivative(z: np.ndarray) -> np.ndarray:
    """softplus'(z) = σ(z)."""
    return sigmoid(_float(z, "softplus_derivative"))


def silu(z: np.ndarray) -> np.ndarray:
    """SiLU (swish with β = 1): φ(z) = z·σ(z)."""
    z = _float(z, "silu")
    return z * sigmoid(z)


def silu_derivative(z: np.ndarray) -> np.ndarray:
    """φ'(z) = σ(z)(1 + z(1 − σ(z)))."""
    z = _float(z, "silu_derivative")
    s = sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


def exponential(z: np.ndarray) -> np.ndarray:
    """φ(z) = e^z (Keras's ``"exponential"``): a variational autoencoder's σ = e^(½ log σ²).
    inf where e^z exceeds the dtype's range (z > 709.78 in float64, 88.72 in float32)."""
    z = _float(z, "exponential")
    with np.errstate(over="ignore"):
        return np.exp(z)


def exponential_derivative(z: np.ndarray) -> np.ndarray:
    """φ'(z) = e^z."""
    return exponential(_float(z, "exponential_derivative"))


def _gelu_form(approximate: str, where: str = "gelu") -> str:
    if not isinstance(approximate, str) or approximate not in _GELU_FORMS:  # an array:
        # NumPy's "truth value of an array is ambiguous"
        raise ValueError(f"{where}: approximate must be 'none' or 'tanh', got {approximate!r}")
    return approximate


def gelu(z: np.ndarray, approximate: str = "none") -> np.ndarray:
    """GELU: φ(z) = z·Φ(z), Φ the normal CDF; or its tanh approximation.

    Φ is ``scipy.special.ndtr``, accurate in both tails: ½(1 + erf(z/√2)) cancels for
    z ≪ 0 (in float32 at z = −5 it is 4 % off, at z = −12 it gives −0 for −2.1e-32).

    ``approximate="tanh"`` (torch's ``F.gelu(approximate="tanh")``, Keras's
    ``gelu(approximate=True)``): φ(z) = ½ z (1 + tanh(u)), u = √(2/π)(z + 0.044715 z³);
    it differs from the exact form by up to 4e-4.
    """
    z = _float(z, "gelu")
    if _gelu_form(approximate) == "tanh":
        return 0.5 * z * (1.0 + np.tanh(_gelu_tanh_argument(z)))
    return z * ndtr(z)


def _gelu_tanh_argument(z: np.ndarray) -> np.ndarray:
    # Written z(1 + c z²) so that no cube overflows before the product does, of z capped
    # at ±100, where u ≈ ±3.6e4 and tanh(u) is ±1 in either dtype already: z² overflowed
    # past 1.8e19 (float32) or 1.3e154 (float64), with a warning, where the value is ±1.
    z = np.clip(z, -_GELU_TANH_SATURATED, _GELU_TANH_SATURATED)
    return _SQRT_2_OVER_PI * z * (1.0 + _GELU_TANH_CUBIC * z * z)


def gelu_derivative(z: np.ndarray, approximate: str = "none") -> np.ndarray:
    """φ'(z) = Φ(z) + z·ϕ(z), with ϕ(z) = e^(−z²/2)/√(2π) the normal density.

    Tanh form: φ'(z) = ½(1 + t) + ½ z (1 − t²) u'(z), t = tanh(u),
    u'(z) = √(2/π)(1 + 3·0.044715 z²).
    """
    z = _float(z, "gelu_derivative")
    if _gelu_form(approximate, "gelu_derivative") == "tanh":
        t = np.tanh(_gelu_tanh_argument(z))
        # the second term, of z capped at ±100 as u is: there 1 − t² is 0 already, and
        # z²'s overflow made it 0 · inf = NaN (torch's and TF's autograd give that NaN
        # past |z| ≈ 1.8e19 in float32, 1.3e154 in float64; the limit is 1 or 0)
        zc = np.clip(z, -_GELU_TANH_SATURATED, _GELU_TANH_SATURATED)
        du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_TANH_CUBIC * zc * zc)
        return 0.5 * (1.0 + t) + 0.5 * zc * (1.0 - t * t) * du
    # the density at z capped at ±40, where e^(−z²/2) is 0 in either dtype already (z²
    # overflowed past 1.8e19 in float32, a warning for the 0 it gives)
    zc = np.clip(z, -_DENSITY_SATURATED, _DENSITY_SATURATED)
    return ndtr(z) + z * _INV_SQRT_2PI * np.exp(-0.5 * zc * zc)


@dataclass(frozen=True)
class Activation:
    """An activation with its parameters bound: ``φ(z)`` and the product ``vjp(z, g) = gᵀ∂φ/∂z``.

    Shape: z and g any shape (softmax: last axis = classes); output the shape of z.
    """

    name: str
    params: dict[str, float | str] = field(default_factory=dict)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return _FUNCTIONS[self.name](z, **self.params)

    def vjp(self, z: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
        """dL/dz given dL/dφ(z) = ``grad_output``."""
        if self.name == "softmax":
            return softmax_vjp(z, grad_output)
        return grad_output * _DERIVATIVES[self.name](z, **self.params)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        """Elementwise φ'(z); softmax has none (use :meth:`vjp`)."""
        if self.name not in _DERIVATIVES:
            raise TypeError(f"{self.name} is not elementwise; use Activation.vjp")
        return _DERIVATIVES[self.name](z, **self.params)


_FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {
    f.__name__: f
    for f in (identity, step, sigmoid, tanh, relu, leaky_relu, elu, softmax, softplus, silu, gelu,
              exponential)
}
_DERIVATIVES: dict[str, Callable[..., np.ndarray]] = {
    name: globals()[f"{name}_derivative"] for name in _FUNCTIONS if name != "softmax"
}
_PARAMETERS = {"leaky_relu": {"negative_slope"}, "elu": {"alpha"}, "gelu": {"approximate"}}

NAMES = tuple(_FUNCTIONS)


def for_layer(where: str, identifier: str | Activation, **params: float | str) -> Activation:
    """:func:`get` for a layer's constructor: its errors name the layer (``where``)."""
    try:
        return get(identifier, **params)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{where}: {error}") from None


def get(identifier: str | Activation, **params: float | str) -> Activation:
    """Look an activation up by name, binding its parameters (``get("elu", alpha=0.5)``)."""
    if isinstance(identifier, Activation):
        if params:
            raise TypeError("pass parameters either in the Activation or to get(), not both")
        return identifier
    if not isinstance(identifier, str) or identifier not in _FUNCTIONS:
        raise ValueError(f"unknown activation {identifier!r}; choose one of {', '.join(NAMES)}")
    unknown = set(params) - _PARAMETERS.get(identifier, set())
    if unknown:
        raise TypeError(f"activation {identifier!r} takes no parameter "
                        f"{', '.join(sorted(unknown))}")
    for name, value in params.items():  # checked here, not at the first forward pass
        if name == "approximate":
            _gelu_form(value)
        else:
            # within float32's range: TF holds leaky_relu's slope as a float32 attribute
            check_real(f"activation {identifier!r}", name, value, -FLOAT32_MAX, FLOAT32_MAX)
    # a NumPy scalar as a Python float: a layer's config() is JSON, which has no np.float32
    return Activation(identifier, {name: value if name == "approximate" else float(value)
                                   for name, value in params.items()})
