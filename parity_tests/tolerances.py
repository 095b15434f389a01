"""Parity tolerances: defined once, per dtype and per kind of quantity; never loosened.

A value a agrees with the spec's e when |a − e| ≤ atol + rtol·|e| for every entry
(``torch.testing.assert_close``'s rule). The reports print the observed
max |a − e| / (|e| + atol/rtol), which passes exactly when it is ≤ rtol: a relative
error, in which entries smaller than atol/rtol count as that size.

float64: rtol = 1e-10, about 5·10⁵ ulps. The spec and the frameworks differ only in
the order of floating-point operations (BLAS blocking, pairwise versus serial sums,
log1p versus log(1 + x)), which costs a few ulps per operation; 1e-10 leaves room for
deep chains of them and still catches any real difference of convention, which shows
up at 1e-9 (TF's fused GELU kernel) or far above.

float32: rtol = 1e-5, about 80 ulps of float32 (ε = 1.2e-7): a float32 matmul chain
through three layers and a reduction accumulates tens of ulps, and torch and TF
themselves differ by that much (3.6e-7 on a 64-128-1 MLP; see conventions.md §5).

atol is rtol/10 in both, so entries below 0.1 in size are held to an absolute error of
rtol/10: an entry that is small because O(1) terms cancel (a softmax gradient, say)
carries the rounding error of those terms, not a relative error of its own size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    def error(self, actual: np.ndarray, expected: np.ndarray) -> float:
        """max |a − e| / (|e| + atol/rtol): passes when ≤ rtol."""
        actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
        scale = np.abs(expected) + self.atol / self.rtol
        return float(np.max(np.abs(actual - expected) / scale, initial=0.0))


KINDS = ("output", "loss", "gradient")

TOLERANCES: dict[str, dict[str, Tolerance]] = {
    "float64": {kind: Tolerance(rtol=1e-10, atol=1e-11) for kind in KINDS},
    "float32": {kind: Tolerance(rtol=1e-5, atol=1e-6) for kind in KINDS},
}


def tolerance(dtype: np.dtype | str, kind: str) -> Tolerance:
    return TOLERANCES[np.dtype(dtype).name][kind]
