"""Running TensorFlow deterministically and in full precision, as the parity suite does."""

from __future__ import annotations

import os

import tensorflow as tf


def configure_full_precision_determinism() -> dict[str, str]:
    """Turn on op determinism and turn off TF32; return what was set, for reports.

    TF enables TF32 by default: on an Ampere-or-newer GPU, float32 matmuls would round
    their inputs to a 10-bit mantissa. oneDNN's reordered CPU kernels are switched off
    by ``TF_ENABLE_ONEDNN_OPTS=0``, which must be set before TF is imported
    (``tf_impl`` does it unless the variable is already set).
    """
    tf.config.experimental.enable_op_determinism()
    tf.config.experimental.enable_tensor_float_32_execution(False)
    return {
        "op_determinism": "True",
        "tensor_float_32_execution":
            str(tf.config.experimental.tensor_float_32_execution_enabled()),
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset"),
        "device": "gpu" if tf.config.list_physical_devices("GPU") else "cpu",
    }
