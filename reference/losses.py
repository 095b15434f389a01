"""Losses L(y_true, y_pred) and their gradients dL/dy_pred.

Argument order, for the whole project: ``(y_true, y_pred)``, as in Keras and
scikit-learn. (torch's functional losses take ``(input, target)``, i.e. the prediction
first; ``torch_impl.losses`` keeps the project's order and shows torch's inside.)

How a batch is averaged, for every loss: the loss is the **mean over the batch of a
per-sample loss**. For the elementwise losses (MSE, MAE, MSLE, binary cross-entropy) the
per-sample loss is the mean over the sample's entries, so the total is simply the mean
over every entry (Keras's ``mean(..., axis=-1)`` followed by the batch mean, and torch's
``reduction="mean"``, give the same number). For the categorical cross-entropies the
per-sample loss is the sum over the classes. ``half_mean_squared_error`` is the
1/(2n) Σ‖y − ŷ‖² of notes 002 and 003: half the squared norm per sample, averaged over
the batch.

Shapes: ``y_true`` and ``y_pred`` must have the same shape, (N,) or (N, C), except for
the sparse losses, which take class indices of shape (N,) and predictions (N, C), or,
for sequences, indices (N, T) and predictions (N, T, C): then the loss is the mean over
every position (n, t), as in Keras, and torch's ``F.cross_entropy`` wants the classes on
axis 1, (N, C, T).
Nothing is broadcast: (N, 1) against (N,) is an error. Each loss returns a Python float
computed in ``y_pred``'s dtype; each ``*_gradient`` returns an array shaped like
``y_pred``.

Probabilities are clipped to [ε, 1 − ε] with ε = 1e-7 (``keras.config.epsilon()``)
before any logarithm, as Keras does; the gradient is zero where the clip is active.
So a probability of exactly 0 or 1 costs at most −log ε ≈ 16.12 per entry, not
infinity. In float32 that bound holds at p = 0 with y = 1 (16.118); at p = 1 with y = 0
it is 15.94, since 1 − ε rounds to 1 − 2⁻²³. torch's own ``F.binary_cross_entropy``
clamps the *logarithm* at −100 instead (a loss of 100 at p = 0, y = 1) and divides its
gradient by max(p(1 − p), 1e-12); ``torch_impl.losses`` bridges that to this clipping.
The ``*_with_logits`` forms need no clipping, stay exact for logits up to ±1e4 and
beyond, and should be preferred.

float32 extremes: a mean whose sum overflows although the mean does not (two BCE terms
of 3e38) divides each term by n first, and a class with target 0 adds nothing to a
categorical cross-entropy even where its log-probability is −inf (0 · log 0 = 0). torch
and Keras compute the plain sum-then-divide and y · log softmax there, giving inf and
NaN (``parity_tests/test_extremes.py`` shows each side). An infinite logit gives NaN in
all three (∞ − ∞), with NumPy's RuntimeWarning in the spec.

Input checks (``reference._validation``): predictions that must be probabilities (the
losses without ``_with_logits``) and cross-entropy targets must lie in [0, 1]; class
indices must be integers in [0, C − 1]; an empty batch is refused; NaN is let through
and gives a NaN loss.
"""

from __future__ import annotations

import numpy as np

from reference._validation import (
    as_array,
    as_float_array,
    check_array_within,
    check_integer_labels,
    check_not_empty,
    check_same_shape,
    check_shape,
)
from reference.activations import sigmoid, softmax

EPSILON = 1e-7

# Which arguments must be probabilities, in [0, 1]: cross-entropy targets always, the
# predictions of the losses that take probabilities rather than logits.
TARGETS = ("y_true",)
BOTH = ("y_true", "y_pred")
PREDICTIONS = ("y_pred",)


def _pair(where: str, y_true: object, y_pred: object,
          probabilities: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    y_pred = as_float_array(y_pred, None, where, "y_pred")
    y_true = as_float_array(y_true, y_pred.dtype, where, "y_true")
    check_same_shape(where, y_true.shape, y_pred.shape)
    for what, array in (("y_true", y_true), ("y_pred", y_pred)):
        if what in probabilities:
            check_array_within(where, f"{what} (probabilities)", array, 0.0, 1.0)
    return y_true, y_pred


def _sparse(where: str, y_true: object, y_pred: object,
            probabilities: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    y_pred = as_float_array(y_pred, None, where, "y_pred")
    if y_pred.ndim < 2:
        check_shape(where, "y_pred", y_pred.shape, (None, None))
    check_not_empty(where, "y_pred", y_pred.shape)
    indices = as_array(y_true, where, "y_true")
    check_integer_labels(where, "y_true", indices.dtype)
    check_shape(where, "y_true (class indices)", indices.shape, y_pred.shape[:-1])
    check_array_within(where, "y_true (class indices)", indices, 0, y_pred.shape[-1] - 1)
    if "y_pred" in probabilities:
        check_array_within(where, "y_pred (probabilities)", y_pred, 0.0, 1.0)
    return indices, y_pred


def _clip(p: np.ndarray) -> np.ndarray:
    eps = p.dtype.type(EPSILON)
    return np.clip(p, eps, 1 - eps)


def _inside_clip(p: np.ndarray) -> np.ndarray:
    eps = p.dtype.type(EPSILON)
    return (p >= eps) & (p <= 1 - eps)


def _picked(values: np.ndarray, k: np.ndarray) -> np.ndarray:
    """values[..., k]: the entry of class k at every position."""
    rows = values.reshape(-1, values.shape[-1])  # one fancy index on the rows: a third of
    return rows[np.arange(len(rows)), k.reshape(-1)].reshape(k.shape)  # take_along_axis's time


def _batch_size(y_pred: np.ndarray) -> int:
    return y_pred.shape[0]


def _mean(values: np.ndarray) -> float:
    """The mean of every entry, without overflow: in float32 the sum of two losses of
    3e38 is inf where their mean is 3e38, so then each term is divided by n first (the
    usual sum-then-divide is kept otherwise: it is what torch and Keras compute)."""
    with np.errstate(over="ignore"):
        mean = np.mean(values)
    if np.isinf(mean) and np.isfinite(values).all():
        mean = np.sum(values / values.size)
    return float(mean)


def mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """L = (1/n) Σ (ŷ − y)², over all n entries."""
    y_true, y_pred = _pair("mean_squared_error", y_true, y_pred)
    return _mean(np.square(y_pred - y_true))


def mean_squared_error_gradient(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """dL/dŷ = 2(ŷ − y)/n."""
    y_true, y_pred = _pair("mean_squared_error", y_true, y_pred)
    return 2.0 * (y_pred - y_true) / y_pred.size


def half_mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """L = (1/2N) Σ_samples ‖ŷ − y‖², the form of notes 002/003 (gradient ŷ − y per sample)."""
    y_true, y_pred = _pair("half_mean_squared_error", y_true, y_pred)
    return float(0.5 * np.sum(np.square(y_pred - y_true)) / _batch_size(y_pred))


def half_mean_squared_error_gradient(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """dL/dŷ = (ŷ − y)/N."""
    y_true, y_pred = _pair("half_mean_squared_error", y_true, y_pred)
    return (y_pred - y_true) / _batch_size(y_pred)


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """L = (1/n) Σ |ŷ − y|, over all n entries."""
    y_true, y_pred = _pair("mean_absolute_error", y_true, y_pred)
    return _mean(np.abs(y_pred - y_true))


def mean_absolute_error_gradient(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """dL/dŷ = sign(ŷ − y)/n, with sign(0) = 0 as in torch and TF."""
    y_true, y_pred = _pair("mean_absolute_error", y_true, y_pred)
    return np.sign(y_pred - y_true) / y_pred.size


def mean_squared_logarithmic_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """L = (1/n) Σ (log(1 + ŷ⁺) − log(1 + y⁺))², with v⁺ = max(v, ε) as in Keras."""
    y_true, y_pred = _pair("mean_squared_logarithmic_error", y_true, y_pred)
    eps = y_pred.dtype.type(EPSILON)
    d = np.log1p(np.maximum(y_pred, eps)) - np.log1p(np.maximum(y_true, eps))
    return _mean(np.square(d))


def mean_squared_logarithmic_error_gradient(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """dL/dŷ = 2 d / (n (1 + ŷ)) where ŷ > ε, else 0; d = log(1 + ŷ⁺) − log(1 + y⁺)."""
    y_true, y_pred = _pair("mean_squared_logarithmic_error", y_true, y_pred)
    eps = y_pred.dtype.type(EPSILON)
    clipped = np.maximum(y_pred, eps)
    d = np.log1p(clipped) - np.log1p(np.maximum(y_true, eps))
    return np.where(y_pred > eps, 2.0 * d / (y_pred.size * (1.0 + clipped)), 0.0).astype(
        y_pred.dtype)


def binary_cross_entropy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """L = −(1/n) Σ [y log p + (1 − y) log(1 − p)], p = clip(ŷ, ε, 1 − ε), over all entries."""
    y_true, y_pred = _pair("binary_cross_entropy", y_true, y_pred, BOTH)
    p = _clip(y_pred)
    return _mean(-(y_true * np.log(p) + (1.0 - y_true) * np.log1p(-p)))


def binary_cross_entropy_gradient(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """dL/dŷ = (p − y) / (n p (1 − p)) inside the clip range, 0 outside."""
    y_true, y_pred = _pair("binary_cross_entropy", y_true, y_pred, BOTH)
    p = _clip(y_pred)
    grad = (p - y_true) / (y_pred.size * p * (1.0 - p))
    return np.where(_inside_clip(y_pred), grad, 0.0).astype(y_pred.dtype)


def binary_cross_entropy_with_logits(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Binary cross-entropy of p = σ(x) for logits x = ``y_pred``, without forming p.

    Per entry: max(x, 0) − x·y + log(1 + e^(−|x|)), exact and finite for every finite x.
    """
    y_true, x = _pair("binary_cross_entropy_with_logits", y_true, y_pred, TARGETS)
    return _mean(np.maximum(x, 0.0) - x * y_true + np.log1p(np.exp(-np.abs(x))))


def binary_cross_entropy_with_logits_gradient(y_true: np.ndarray,
                                              y_pred: np.ndarray) -> np.ndarray:
    """dL/dx = (σ(x) − y)/n."""
    y_true, x = _pair("binary_cross_entropy_with_logits", y_true, y_pred, TARGETS)
    return (sigmoid(x) - y_true) / x.size


def _shifted(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x − max x and log Σ e^(x − max x) over the classes; log softmax(x) is their difference."""
    with np.errstate(over="ignore"):  # a gap wider than the dtype's range: −inf, exactly
        shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted, np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _log_softmax(x: np.ndarray) -> np.ndarray:
    shifted, log_sum = _shifted(x)
    return shifted - log_sum


def categorical_cross_entropy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """L = −(1/N) Σ_samples Σ_classes y log q, with q = clip(ŷ / Σ ŷ, ε, 1 − ε).

    Shape: (N, C) one-hot (or any distribution) targets and probabilities. As in Keras,
    the predictions are first rescaled to sum to one over the classes: for predictions
    that already do, the value is unchanged, and the gradient is that of a loss which
    does not change when ŷ is scaled (it is orthogonal to ŷ).
    """
    y_true, y_pred = _pair("categorical_cross_entropy", y_true, y_pred, BOTH)
    q = _clip(y_pred / np.sum(y_pred, axis=-1, keepdims=True))
    return float(-np.sum(y_true * np.log(q)) / _batch_size(y_pred))


def categorical_cross_entropy_gradient(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """dL/dŷ_k = (g_k − Σ_c g_c q_c) / S, with S = Σ ŷ, q = ŷ/S and g = dL/dq = −y/(N q)
    inside the clip range (0 outside)."""
    y_true, y_pred = _pair("categorical_cross_entropy", y_true, y_pred, BOTH)
    total = np.sum(y_pred, axis=-1, keepdims=True)
    q = y_pred / total
    g = np.where(_inside_clip(q), -y_true / (_batch_size(y_pred) * _clip(q)), 0.0)
    return ((g - np.sum(g * q, axis=-1, keepdims=True)) / total).astype(y_pred.dtype)


def categorical_cross_entropy_with_logits(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """L = −(1/N) Σ_samples Σ_classes y · log softmax(x), x = ``y_pred`` the logits.

    log softmax(x) = x − logsumexp(x), computed with the max shift. A class with target 0
    adds nothing, even where its log-probability is −inf (float32 logits 3e38 and −3e38:
    the shift overflows), so 0 · (−inf) is taken as 0, not NaN.
    """
    y_true, x = _pair("categorical_cross_entropy_with_logits", y_true, y_pred, TARGETS)
    log_q = _log_softmax(x)
    with np.errstate(invalid="ignore"):
        terms = y_true * log_q
    terms[(y_true == 0) & np.isneginf(log_q)] = 0.0
    return float(-np.sum(terms) / _batch_size(x))


def categorical_cross_entropy_with_logits_gradient(y_true: np.ndarray,
                                                   y_pred: np.ndarray) -> np.ndarray:
    """dL/dx = (softmax(x)·Σ_c y_c − y)/N (softmax(x) − y for one-hot targets)."""
    y_true, x = _pair("categorical_cross_entropy_with_logits", y_true, y_pred, TARGETS)
    return (softmax(x) * np.sum(y_true, axis=-1, keepdims=True) - y_true) / _batch_size(x)


def sparse_categorical_cross_entropy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Categorical cross-entropy with class indices: L = −(1/N) Σ log(c_k / Σ_j c_j),
    c = clip(ŷ, ε, 1 − ε), k = ``y_true`` (shape (N,)) and ŷ of shape (N, C).

    Keras clips first and renormalises after (its sparse loss feeds log c to a softmax),
    the reverse order of :func:`categorical_cross_entropy`; the two agree unless a
    probability is clipped.
    """
    k, y_pred = _sparse("sparse_categorical_cross_entropy", y_true, y_pred, PREDICTIONS)
    c = _clip(y_pred)
    return _mean(np.log(np.sum(c, axis=-1)) - np.log(_picked(c, k)))


def sparse_categorical_cross_entropy_gradient(y_true: np.ndarray,
                                              y_pred: np.ndarray) -> np.ndarray:
    """dL/dŷ_j = (1/Σ c − δ_jk / c_k)/N inside the clip range, 0 outside."""
    k, y_pred = _sparse("sparse_categorical_cross_entropy", y_true, y_pred, PREDICTIONS)
    c = _clip(y_pred)
    grad = np.broadcast_to(1.0 / np.sum(c, axis=-1, keepdims=True), c.shape).copy()
    np.put_along_axis(grad, k[..., None], (_picked(grad, k) - 1.0 / _picked(c, k))[..., None],
                      axis=-1)
    return np.where(_inside_clip(y_pred), grad / k.size, 0.0).astype(y_pred.dtype)


def sparse_categorical_cross_entropy_with_logits(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """L = (1/N) Σ (logsumexp(x) − x_k), x = ``y_pred`` (N, C) logits, k = ``y_true`` (N,);
    for sequences, (N, T, C) and (N, T), the mean over all N·T positions."""
    k, x = _sparse("sparse_categorical_cross_entropy_with_logits", y_true, y_pred)
    shifted, log_sum = _shifted(x)  # −log softmax(x)_k, without the other classes' entries
    return _mean(log_sum[..., 0] - _picked(shifted, k))


def sparse_categorical_cross_entropy_with_logits_gradient(y_true: np.ndarray,
                                                          y_pred: np.ndarray) -> np.ndarray:
    """dL/dx = (softmax(x) − onehot(k))/N (N·T for sequences)."""
    k, x = _sparse("sparse_categorical_cross_entropy_with_logits", y_true, y_pred)
    with np.errstate(over="ignore"):  # softmax(x), each step in place in one fresh array
        grad = x - np.max(x, axis=-1, keepdims=True)
    np.exp(grad, out=grad)
    grad /= np.sum(grad, axis=-1, keepdims=True)
    rows = grad.reshape(-1, grad.shape[-1])  # a view: grad is contiguous
    rows[np.arange(len(rows)), k.reshape(-1)] -= 1.0
    grad /= k.size
    return grad


def check_code(where: str, mean_shape: tuple, log_var_shape: tuple) -> None:
    """A Gaussian code's mean and log-variance: one shape, (N, *), not empty (shared with
    the mirrors' ``gaussian_kl``)."""
    if tuple(mean_shape) != tuple(log_var_shape):
        raise ValueError(f"{where}: z_mean has shape {tuple(mean_shape)} but z_log_var has "
                         f"shape {tuple(log_var_shape)}; they must match exactly")
    if len(mean_shape) < 2:  # check_shape would print (N, N), which reads as square
        raise ValueError(f"{where}: z_mean and z_log_var must have a batch axis and the "
                         f"code's, (N, latent), got shape {tuple(mean_shape)}")
    check_not_empty(where, "z_mean", tuple(mean_shape))


def _code_pair(where: str, z_mean: object, z_log_var: object) -> tuple[np.ndarray, np.ndarray]:
    z_mean = as_float_array(z_mean, None, where, "z_mean")
    z_log_var = as_float_array(z_log_var, z_mean.dtype, where, "z_log_var")
    check_code(where, z_mean.shape, z_log_var.shape)
    return z_mean, z_log_var


def gaussian_kl(z_mean: np.ndarray, z_log_var: np.ndarray) -> float:
    r"""KL(N(μ, σ²) ‖ N(0, 1)) of a variational autoencoder's code, summed over the code's
    entries and averaged over the batch:

        L = (1/N) Σ_n Σ_j −½ (1 + log σ²_nj − μ²_nj − σ²_nj),   σ² = exp(log σ²)

    (the Keras VAE example's ``kl_loss``). A loss without a target: it takes two outputs
    of the model, the code's mean μ = ``z_mean`` and log-variance log σ² = ``z_log_var``.

    Shape: z_mean, z_log_var: (N, *) of one shape (N, latent) for a Dense code.
    """
    mean, log_var = _code_pair("gaussian_kl", z_mean, z_log_var)
    with np.errstate(over="ignore"):
        terms = -0.5 * (1.0 + log_var - np.square(mean) - np.exp(log_var))
    return float(np.sum(terms) / _batch_size(mean))


def gaussian_kl_gradient(z_mean: np.ndarray, z_log_var: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """(dL/dμ, dL/d log σ²) = (μ/N, ½(σ² − 1)/N): the two outputs' upstream gradients."""
    mean, log_var = _code_pair("gaussian_kl", z_mean, z_log_var)
    n = _batch_size(mean)
    with np.errstate(over="ignore"):
        return mean / n, 0.5 * (np.exp(log_var) - 1.0) / n  # as autodiff forms it


NAMES = (
    "mean_squared_error",
    "half_mean_squared_error",
    "mean_absolute_error",
    "mean_squared_logarithmic_error",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "categorical_cross_entropy",
    "categorical_cross_entropy_with_logits",
    "sparse_categorical_cross_entropy",
    "sparse_categorical_cross_entropy_with_logits",
)


def get(name: str):
    """The loss function called ``name``."""
    if not isinstance(name, str) or name not in NAMES:  # an array: NumPy's "truth value
        # of an array is ambiguous"; a TF tensor: "Cannot convert 'mean_squared_error'"
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(NAMES)}")
    return globals()[name]


def gradient(name: str):
    """The gradient dL/dy_pred of the loss called ``name``."""
    get(name)
    return globals()[f"{name}_gradient"]
