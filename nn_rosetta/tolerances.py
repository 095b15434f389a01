"""Parity tolerances: defined once, per dtype and per kind of quantity; never loosened.

The parity suite (``parity_tests.tolerances`` re-exports these) and the porting tool
(``nn_rosetta.port``'s per-layer report) hold the frameworks to the same numbers.

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
    try:  # NumPy's "Cannot interpret ... as a data type", or a bare KeyError; None
        # would be NumPy's default, float64, and a number (np.float32(0.5)) its own dtype
        name = None if dtype is None or isinstance(dtype, np.generic) else \
            np.dtype(dtype).name
    except (TypeError, ValueError):
        name = None
    if name not in TOLERANCES:
        raise TypeError(f"tolerance: dtype must be one of {list(TOLERANCES)}, got "
                        f"{type(dtype).__name__} {dtype!r:.60}")
    if not isinstance(kind, str) or kind not in TOLERANCES[name]:
        raise ValueError(f"tolerance: kind must be one of {list(TOLERANCES[name])}, got "
                         f"{kind!r:.60}")
    return TOLERANCES[name][kind]


# Learning runs (the perceptron's weights after every epoch, an optimizer's parameters
# after every step, gradient-descent iterates, a training run's per-step losses and final
# weights) are compared with two more kinds, one tolerance for both:
#
# Each step of a run rounds a little differently in each framework (matmul blocking, the
# fused multiply-add in torch's ``add_(g, alpha=-η)``, torch dividing by a scalar through
# its reciprocal): a few ulps of the parameters, as in one forward and backward pass. The
# next step starts from the perturbed parameters, so the differences are carried along.
# In a stable run (η below 2/λ_max of the loss's Hessian) the update map p ↦ p − η∇L(p)
# does not amplify a perturbation, so after K steps the differences add up to at most
# about K times one step's; an unstable run that grows geometrically (note 003's loop,
# ×(−99) per pass) grows the differences with the weights, keeping the same *relative*
# size. The registry's longest run has K ≈ 300 steps (gradient descent to precision 1e-4).
#
# float64: 300 steps × a few ulps (ε = 2.2e-16) is about 1e-13, under the single-pass
# rtol of 1e-10, which is kept: near machine precision, and 1e-8-sized convention gaps
# (Keras's float32-rounded η or β₂ in a float64 run) still fail it.
# float32: 300 steps × a few ulps (ε = 1.2e-7) is about 1e-4, so rtol = 1e-4, ten times
# the single-pass tolerance. The measured worst cases are 2.2e-15 (float64) and 2.1e-6
# (float32), both the final weights of a 16-step per-sample Nesterov run; a convention
# that differs (ε's placement with gradients of 1e-6: 4e-2; Nesterov against plain
# momentum: O(1)) is far above either tolerance.
TRAJECTORY_KINDS = ("weight trajectory", "loss trajectory")
TRAJECTORY = {"float64": Tolerance(rtol=1e-10, atol=1e-11),
              "float32": Tolerance(rtol=1e-4, atol=1e-5)}
for _dtype, _tol in TRAJECTORY.items():
    TOLERANCES[_dtype].update(dict.fromkeys(TRAJECTORY_KINDS, _tol))

# The column of the parity matrix in which a kind is shown (a kind not listed: its own).
COLUMN = {"weight trajectory": "output", "loss trajectory": "loss"}


def column(kind: str) -> str:
    """The parity-matrix column (one of ``KINDS``) that shows quantities of ``kind``."""
    return COLUMN.get(kind, kind)
