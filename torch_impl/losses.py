"""The spec's losses with ``torch.nn.functional``, by the same names and argument order.

Every function takes ``(y_true, y_pred)`` like the spec; inside, torch's own order
``(input, target)`` = ``(y_pred, y_true)`` is written out. Gradients come from autograd.

Conventions bridged to the spec (see ``reference.losses``):

* Input checks are the spec's (``reference._validation``), made by each function's
  ``@checked`` decorator (``torch_impl._inputs``) before the body runs: shapes must
  match exactly (``F.mse_loss`` would broadcast (N, 1) against (N,) to (N, N) with
  only a warning); y_true and y_pred share one float dtype (integer labels
  are converted to it); probabilities and cross-entropy targets lie in [0, 1]; class
  indices are integers in [0, C − 1] (``F.cross_entropy`` would silently skip a label
  of -100, its ``ignore_index``, and raise an opaque IndexError for others).
* Probabilities are clamped to [ε, 1 − ε], ε = 1e-7, before the framework's loss, which
  gives Keras's clipping (and the spec's). torch alone would clamp log p at −100 and
  divide its BCE gradient by max(p(1 − p), 1e-12) instead: at p = 0, y = 1 its loss is
  100 and its gradient about −1e12/n, where the spec's are −log ε ≈ 16.12 and 0.
* NaN: ``binary_cross_entropy`` raises on a NaN probability or target, as
  ``F.binary_cross_entropy`` does ("all elements of input should be between 0 and 1"),
  where the spec (and Keras) return NaN. That is torch's convention, not hidden here;
  the other losses give NaN like the spec.
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

from reference.losses import BOTH, EPSILON, PREDICTIONS, TARGETS
from torch_impl._inputs import checked, code_pair, pair, sparse


@checked(pair())
def mean_squared_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Mean of (ŷ − y)² over all entries."""
    return F.mse_loss(y_pred, y_true)


@checked(pair())
def half_mean_squared_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """(1/2N) Σ ‖ŷ − y‖²: torch has no such reduction, so a sum divided by 2N."""
    return F.mse_loss(y_pred, y_true, reduction="sum") / (2 * y_pred.shape[0])


@checked(pair())
def mean_absolute_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Mean of |ŷ − y| over all entries."""
    return F.l1_loss(y_pred, y_true)


@checked(pair())
def mean_squared_logarithmic_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Mean of (log(1 + max(ŷ, ε)) − log(1 + max(y, ε)))²: torch has no MSLE, so MSE of logs."""
    return F.mse_loss(torch.log1p(y_pred.clamp_min(EPSILON)),
                      torch.log1p(y_true.clamp_min(EPSILON)))


@checked(pair(BOTH))
def binary_cross_entropy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """−mean[y log p + (1 − y) log(1 − p)], p = clamp(ŷ, ε, 1 − ε).

    NaN: torch raises on a NaN probability or target (``RuntimeError``: "all elements
    of input should be between 0 and 1"), where the spec returns NaN.
    """
    p = y_pred.clamp(EPSILON, 1 - EPSILON)  # Keras's clip; torch alone clamps log p at −100
    return F.binary_cross_entropy(p, y_true)


@checked(pair(TARGETS))
def binary_cross_entropy_with_logits(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of σ(x), x = ``y_pred`` the logits."""
    return F.binary_cross_entropy_with_logits(y_pred, y_true)


@checked(pair(BOTH))
def categorical_cross_entropy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """−(1/N) Σ y log q, q = clamp(ŷ / Σŷ, ε, 1 − ε) (probability targets, shape (N, C))."""
    q = (y_pred / y_pred.sum(dim=-1, keepdim=True)).clamp(EPSILON, 1 - EPSILON)
    return -(y_true * torch.log(q)).sum(dim=-1).mean()  # F.cross_entropy would renormalise q


@checked(pair(TARGETS))
def categorical_cross_entropy_with_logits(y_true: torch.Tensor,
                                          y_pred: torch.Tensor) -> torch.Tensor:
    """−(1/N) Σ y log softmax(x): ``F.cross_entropy`` with class-probability targets."""
    return F.cross_entropy(y_pred, y_true)


@checked(sparse(PREDICTIONS))
def sparse_categorical_cross_entropy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """−(1/N) Σ log(c_k / Σc), c = clamp(ŷ, ε, 1 − ε), k = ``y_true`` (long, shape (N,))."""
    # F.cross_entropy wants the classes on axis 1: (N, C) or (N, C, T) for sequences.
    return F.cross_entropy(torch.log(y_pred.clamp(EPSILON, 1 - EPSILON)).movedim(-1, 1), y_true)


@checked(sparse())
def sparse_categorical_cross_entropy_with_logits(y_true: torch.Tensor,
                                                 y_pred: torch.Tensor) -> torch.Tensor:
    """(1/N) Σ (logsumexp(x) − x_k): ``F.cross_entropy`` with class indices."""
    return F.cross_entropy(y_pred.movedim(-1, 1), y_true)  # classes on axis 1: (N, C, T)


@checked(code_pair)
def gaussian_kl(z_mean: torch.Tensor, z_log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) summed over the code, averaged over the batch:
    mean_n Σ_j −½(1 + log σ² − μ² − σ²), as a torch VAE writes it (no loss module)."""
    kl = -0.5 * (1 + z_log_var - z_mean.square() - z_log_var.exp())
    return kl.flatten(1).sum(dim=1).mean()


def get(name: str):
    """The loss function called ``name`` (the spec's names)."""
    from reference.losses import NAMES
    if not isinstance(name, str) or name not in NAMES:  # an array: NumPy's "truth value
        # of an array is ambiguous"; a TF tensor: "Cannot convert 'mean_squared_error'"
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(NAMES)}")
    return globals()[name]
