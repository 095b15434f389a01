"""The kernel NumPy's OpenBLAS runs on this CPU, for the report.

OpenBLAS picks its kernels when it loads, from the CPU, unless ``OPENBLAS_CORETYPE``
names one. The kernel decides the speed of every product the spec runs: on the AMD EPYC
with AVX-512 of ``README.md``, whose environment sets ``OPENBLAS_CORETYPE=Haswell``,
OpenBLAS ran its AVX2 kernels, where without the variable it picks SkylakeX's (AVX-512):
the digit CNN's second convolution's product took 1.20 against 0.66 ms in float32 (one
thread), while torch's oneDNN kernels use AVX-512 either way. So the report names the
kernel and says where the environment chose it.
"""

from __future__ import annotations

import ctypes


def openblas_kernel() -> str | None:
    """The kernel OpenBLAS runs ("Haswell", "SkylakeX", …), asked of the library NumPy
    loaded; None where that is no OpenBLAS this can find (no Linux ``/proc/self/maps``,
    or another BLAS)."""
    import numpy  # noqa: F401  (loads its BLAS)

    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower()})
    except OSError:
        return None
    for path in paths:
        library = ctypes.CDLL(path)
        for prefix in ("openblas", "scipy_openblas"):  # NumPy's wheels: scipy_openblas…64_
            for suffix in ("", "64_", "_64"):
                corename = getattr(library, f"{prefix}_get_corename{suffix}", None)
                if corename is not None:
                    corename.restype = ctypes.c_char_p
                    return corename().decode()
    return None


def describe(kernel: str | None, environ: dict[str, str]) -> str | None:
    """The report's words for ``kernel``: OpenBLAS's pick, or the environment's where
    ``OPENBLAS_CORETYPE`` is set."""
    if kernel is None:
        return None
    if "OPENBLAS_CORETYPE" in environ:
        return f"OpenBLAS {kernel} (OPENBLAS_CORETYPE={environ['OPENBLAS_CORETYPE']} set)"
    return f"OpenBLAS {kernel}"
