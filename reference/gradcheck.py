"""Central finite differences: the independent check of every hand-written derivative.

The spec's derivatives are never verified only against themselves: each is compared
with (f(x + h e_i) − f(x − h e_i)) / 2h, whose error is O(h²) from truncation plus
O(ε/h) from rounding; h = 1e-6 in float64 balances the two at about 1e-10.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                       step: float = 1e-6) -> np.ndarray:
    """dF/dx by central differences, for a scalar function F of a float64 array x.

    One pair of evaluations per entry of x: meant for the small arrays of tests.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.empty_like(x)
    flat, out = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + step
        upper = f(x)
        flat[i] = saved - step
        lower = f(x)
        flat[i] = saved
        out[i] = (upper - lower) / (2.0 * step)
    return grad


def gradient_error(analytic: np.ndarray, numerical: np.ndarray) -> float:
    """max |a − n| / max(1, |n|): relative for large entries, absolute for small ones."""
    analytic, numerical = np.asarray(analytic), np.asarray(numerical)
    if analytic.shape != numerical.shape:
        raise ValueError(f"shapes differ: analytic {analytic.shape}, numerical {numerical.shape}")
    return float(np.max(np.abs(analytic - numerical) / np.maximum(1.0, np.abs(numerical)),
                        initial=0.0))
