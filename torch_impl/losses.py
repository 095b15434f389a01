"""The spec's losses with ``torch.nn.functional``, by the same names and argument order.

Every function takes ``(y_true, y_pred)`` like the spec; inside, torch's own order
``(input, target)`` = ``(y_pred, y_true)`` is written out. Gradients come from autograd.

Conventions bridged to the spec (see ``reference.losses``):

* Input checks are the spec's (``reference._validation``), made before any computation:
  shapes must match exactly (``F.mse_loss`` would broadcast (N, 1) against (N,) to
  (N, N) with only a warning); y_true and y_pred share one float dtype (integer labels
  are converted to it); probabilities and cross-entropy targets lie in [0, 1]; class
  indices are integers in [0, C − 1] (``F.cross_entropy`` would silently skip a label
  of -100, its ``ignore_index``, and raise an opaque IndexError for others).
* Probabilities are clamped to [ε, 1 − ε], ε = 1e-7, before the framework's loss, which
  gives Keras's clipping (and the spec's). torch alone would clamp log p at −100 and
  divide its BCE gradient by max(p(1 − p), 1e-12) instead: at p = 0, y = 1 its loss is
  100 and its gradient about −1e12/n, where the spec's are −log ε ≈ 16.12 and 0.
* NaN: ``F.binary_cross_entropy`` raises on a NaN probability or target ("all elements
  of input should be between 0 and 1"); the policy is NaN in, NaN out, so the kernel is
  given 0.5 in its place and the NaN is added back to the loss as 0·NaN (0 otherwise, so
  the value and the gradient are unchanged).
* Categorical cross-entropy on probabilities: torch ships ``F.cross_entropy`` for logits
  only. Given log q, q the rescaled and clamped probabilities, it would take a
  log-softmax of them, i.e. renormalise q after the clamp: once a probability of 0 or 1
  is clamped, Σq = 1 + ε and the loss moves by about ε (Keras and the spec do not
  renormalise). So −Σ y log q is written out with torch ops.
* Sparse targets become ``torch.long`` class indices, as ``F.cross_entropy`` requires.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reference._validation import (
    check_integer_labels,
    check_same_shape,
    check_shape,
    check_within,
    float_conversion,
)
from reference.losses import BOTH, EPSILON, PREDICTIONS, TARGETS


def _as_float(where: str, what: str, t: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    target = float_conversion(where, what, t.dtype, dtype)
    return t if target is None else t.to(getattr(torch, target))


def _within(where: str, what: str, t: torch.Tensor, low: float, high: float) -> None:
    t = t.detach()
    outside = t[(t < low) | (t > high)]  # NaN compares false: it passes (the NaN policy)
    if outside.numel():
        check_within(where, what, outside.numel(), outside.min().item(), outside.max().item(),
                     low, high)


def _checked(where: str, y_true: torch.Tensor, y_pred: torch.Tensor,
             probabilities: tuple[str, ...] = ()) -> tuple[torch.Tensor, torch.Tensor]:
    y_pred = _as_float(where, "y_pred", y_pred, None)
    y_true = _as_float(where, "y_true", y_true, y_pred.dtype)
    check_same_shape(where, y_true.shape, y_pred.shape)
    for what, t in (("y_true", y_true), ("y_pred", y_pred)):
        if what in probabilities:
            _within(where, f"{what} (probabilities)", t, 0.0, 1.0)
    return y_true, y_pred


def _checked_sparse(where: str, y_true: torch.Tensor, y_pred: torch.Tensor,
                    probabilities: tuple[str, ...] = ()) -> tuple[torch.Tensor, torch.Tensor]:
    y_pred = _as_float(where, "y_pred", y_pred, None)
    if len(y_pred.shape) < 2:
        check_shape(where, "y_pred", y_pred.shape, (None, None))
    check_integer_labels(where, "y_true", y_true.dtype)
    check_shape(where, "y_true (class indices)", y_true.shape, tuple(y_pred.shape[:-1]))
    _within(where, "y_true (class indices)", y_true, 0, y_pred.shape[-1] - 1)
    if "y_pred" in probabilities:
        _within(where, "y_pred (probabilities)", y_pred, 0.0, 1.0)
    return y_true.long(), y_pred


def mean_squared_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Mean of (ŷ − y)² over all entries."""
    y_true, y_pred = _checked("mean_squared_error", y_true, y_pred)
    return F.mse_loss(y_pred, y_true)


def half_mean_squared_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """(1/2N) Σ ‖ŷ − y‖²: torch has no such reduction, so a sum divided by 2N."""
    y_true, y_pred = _checked("half_mean_squared_error", y_true, y_pred)
    return F.mse_loss(y_pred, y_true, reduction="sum") / (2 * y_pred.shape[0])


def mean_absolute_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Mean of |ŷ − y| over all entries."""
    y_true, y_pred = _checked("mean_absolute_error", y_true, y_pred)
    return F.l1_loss(y_pred, y_true)


def mean_squared_logarithmic_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Mean of (log(1 + max(ŷ, ε)) − log(1 + max(y, ε)))²: torch has no MSLE, so MSE of logs."""
    y_true, y_pred = _checked("mean_squared_logarithmic_error", y_true, y_pred)
    return F.mse_loss(torch.log1p(y_pred.clamp_min(EPSILON)),
                      torch.log1p(y_true.clamp_min(EPSILON)))


def binary_cross_entropy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """−mean[y log p + (1 − y) log(1 − p)], p = clamp(ŷ, ε, 1 − ε)."""
    y_true, y_pred = _checked("binary_cross_entropy", y_true, y_pred, BOTH)
    p = y_pred.clamp(EPSILON, 1 - EPSILON)
    nan = p.isnan() | y_true.isnan()
    loss = F.binary_cross_entropy(p.masked_fill(nan, 0.5), y_true.masked_fill(nan, 0.5))
    return loss + 0.0 * (p + y_true).sum()  # NaN in, NaN out (see above); + 0 otherwise


def binary_cross_entropy_with_logits(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of σ(x), x = ``y_pred`` the logits."""
    y_true, y_pred = _checked("binary_cross_entropy_with_logits", y_true, y_pred, TARGETS)
    return F.binary_cross_entropy_with_logits(y_pred, y_true)


def categorical_cross_entropy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """−(1/N) Σ y log q, q = clamp(ŷ / Σŷ, ε, 1 − ε) (probability targets, shape (N, C))."""
    y_true, y_pred = _checked("categorical_cross_entropy", y_true, y_pred, BOTH)
    q = (y_pred / y_pred.sum(dim=-1, keepdim=True)).clamp(EPSILON, 1 - EPSILON)
    return -(y_true * torch.log(q)).sum(dim=-1).mean()


def categorical_cross_entropy_with_logits(y_true: torch.Tensor,
                                          y_pred: torch.Tensor) -> torch.Tensor:
    """−(1/N) Σ y log softmax(x): ``F.cross_entropy`` with class-probability targets."""
    y_true, y_pred = _checked("categorical_cross_entropy_with_logits", y_true, y_pred, TARGETS)
    return F.cross_entropy(y_pred.movedim(-1, 1), y_true)  # classes on axis 1: (N, C, T)


def sparse_categorical_cross_entropy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """−(1/N) Σ log(c_k / Σc), c = clamp(ŷ, ε, 1 − ε), k = ``y_true`` (long, shape (N,))."""
    y_true, y_pred = _checked_sparse("sparse_categorical_cross_entropy", y_true, y_pred,
                                     PREDICTIONS)
    # F.cross_entropy wants the classes on axis 1: (N, C) or (N, C, T) for sequences.
    return F.cross_entropy(torch.log(y_pred.clamp(EPSILON, 1 - EPSILON)).movedim(-1, 1), y_true)


def sparse_categorical_cross_entropy_with_logits(y_true: torch.Tensor,
                                                 y_pred: torch.Tensor) -> torch.Tensor:
    """(1/N) Σ (logsumexp(x) − x_k): ``F.cross_entropy`` with class indices."""
    y_true, y_pred = _checked_sparse("sparse_categorical_cross_entropy_with_logits", y_true,
                                     y_pred)
    return F.cross_entropy(y_pred.movedim(-1, 1), y_true)  # classes on axis 1: (N, C, T)


def get(name: str):
    """The loss function called ``name`` (the spec's names)."""
    from reference.losses import NAMES
    if name not in NAMES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(NAMES)}")
    return globals()[name]
