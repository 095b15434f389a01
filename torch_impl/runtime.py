"""Running torch deterministically and in full precision, as the parity suite does."""

from __future__ import annotations

import torch


def configure_full_precision_determinism() -> dict[str, str]:
    """Turn on deterministic algorithms and turn off TF32; return what was set, for reports.

    On CPU these change nothing numerically; on an Ampere-or-newer GPU, TF32 would round
    float32 matmul inputs to a 10-bit mantissa (torch 2.13 leaves it on for cuDNN).
    """
    torch.use_deterministic_algorithms(True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = False
    torch.set_float32_matmul_precision("highest")
    return {
        "use_deterministic_algorithms": str(torch.are_deterministic_algorithms_enabled()),
        "cuda.matmul.allow_tf32": str(torch.backends.cuda.matmul.allow_tf32),
        "cudnn.allow_tf32": str(torch.backends.cudnn.allow_tf32),
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
    }
