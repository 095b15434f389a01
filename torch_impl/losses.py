"""The spec's losses with ``torch.nn.functional``, by the same names and argument order.

Every function takes ``(y_true, y_pred)`` like the spec; inside, torch's own order
``(input, target)`` = ``(y_pred, y_true)`` is written out. Gradients come from autograd.

Conventions bridged to the spec (see ``reference.losses``):

* Shapes must match exactly: ``F.mse_loss`` would broadcast (N, 1) against (N,) to (N, N)
  with only a warning.
* Probabilities are clamped to [ε, 1 − ε], ε = 1e-7, before the framework's loss, which
  gives Keras's clipping (and the spec's). torch alone would clamp log p at −100 and
  divide its BCE gradient by max(p(1 − p), 1e-12) instead.
* Categorical cross-entropy on probabilities: torch ships ``F.cross_entropy`` for logits
  only, so it is given log q, q the rescaled and clamped probabilities; its log-softmax
  of log-probabilities changes nothing (log q − log Σq = log q when Σq = 1).
* Sparse targets are ``torch.long`` class indices, as ``F.cross_entropy`` requires.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reference._validation import check_same_shape, check_shape
from reference.losses import EPSILON


def _checked(where: str, y_true: torch.Tensor, y_pred: torch.Tensor) -> None:
    check_same_shape(where, y_true.shape, y_pred.shape)


def _checked_sparse(where: str, y_true: torch.Tensor, y_pred: torch.Tensor) -> None:
    check_shape(where, "y_pred", y_pred.shape, (None, None))
    check_shape(where, "y_true (class indices)", y_true.shape, (y_pred.shape[0],))


def mean_squared_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Mean of (ŷ − y)² over all entries."""
    _checked("mean_squared_error", y_true, y_pred)
    return F.mse_loss(y_pred, y_true)


def half_mean_squared_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """(1/2N) Σ ‖ŷ − y‖²: torch has no such reduction, so a sum divided by 2N."""
    _checked("half_mean_squared_error", y_true, y_pred)
    return F.mse_loss(y_pred, y_true, reduction="sum") / (2 * y_pred.shape[0])


def mean_absolute_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Mean of |ŷ − y| over all entries."""
    _checked("mean_absolute_error", y_true, y_pred)
    return F.l1_loss(y_pred, y_true)


def mean_squared_logarithmic_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Mean of (log(1 + max(ŷ, ε)) − log(1 + max(y, ε)))²: torch has no MSLE, so MSE of logs."""
    _checked("mean_squared_logarithmic_error", y_true, y_pred)
    return F.mse_loss(torch.log1p(y_pred.clamp_min(EPSILON)),
                      torch.log1p(y_true.clamp_min(EPSILON)))


def binary_cross_entropy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """−mean[y log p + (1 − y) log(1 − p)], p = clamp(ŷ, ε, 1 − ε)."""
    _checked("binary_cross_entropy", y_true, y_pred)
    return F.binary_cross_entropy(y_pred.clamp(EPSILON, 1 - EPSILON), y_true)


def binary_cross_entropy_with_logits(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of σ(x), x = ``y_pred`` the logits."""
    _checked("binary_cross_entropy_with_logits", y_true, y_pred)
    return F.binary_cross_entropy_with_logits(y_pred, y_true)


def categorical_cross_entropy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """−(1/N) Σ y log q, q = clamp(ŷ / Σŷ, ε, 1 − ε) (probability targets, shape (N, C))."""
    _checked("categorical_cross_entropy", y_true, y_pred)
    q = (y_pred / y_pred.sum(dim=-1, keepdim=True)).clamp(EPSILON, 1 - EPSILON)
    return F.cross_entropy(torch.log(q), y_true)


def categorical_cross_entropy_with_logits(y_true: torch.Tensor,
                                          y_pred: torch.Tensor) -> torch.Tensor:
    """−(1/N) Σ y log softmax(x): ``F.cross_entropy`` with class-probability targets."""
    _checked("categorical_cross_entropy_with_logits", y_true, y_pred)
    return F.cross_entropy(y_pred, y_true)


def sparse_categorical_cross_entropy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """−(1/N) Σ log(c_k / Σc), c = clamp(ŷ, ε, 1 − ε), k = ``y_true`` (long, shape (N,))."""
    _checked_sparse("sparse_categorical_cross_entropy", y_true, y_pred)
    return F.cross_entropy(torch.log(y_pred.clamp(EPSILON, 1 - EPSILON)), y_true)


def sparse_categorical_cross_entropy_with_logits(y_true: torch.Tensor,
                                                 y_pred: torch.Tensor) -> torch.Tensor:
    """(1/N) Σ (logsumexp(x) − x_k): ``F.cross_entropy`` with class indices."""
    _checked_sparse("sparse_categorical_cross_entropy_with_logits", y_true, y_pred)
    return F.cross_entropy(y_pred, y_true)


def get(name: str):
    """The loss function called ``name`` (the spec's names)."""
    from reference.losses import NAMES
    if name not in NAMES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(NAMES)}")
    return globals()[name]
