"""The same seed gives the same bits: every registry case, in two separate processes.

The spec draws every random number from a ``np.random.Generator`` it is given or seeds
itself (``Dense(seed=...)``, ``Sequential(seed=...)``, the registry's ``make(rng, …)``),
never from global state, and its arithmetic is plain NumPy on one thread's worth of
data, so a run is a pure function of its seeds. Two interpreters, with different hash
seeds, must therefore print the same digest of every output, loss and gradient.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

DIGEST = """
import hashlib, sys, zlib
import numpy as np
from reference import registry

digest = hashlib.sha256()
for concept in registry.CONCEPTS:
    if concept.module not in registry.HAND_DIFFERENTIATED:
        continue
    for case in concept.cases:
        for dtype in (np.float64, np.float32):
            data = case.make(np.random.default_rng(zlib.crc32(case.label.encode())),
                             np.dtype(dtype), 5)
            values = registry.spec_results(concept, data)
            for value in values:
                digest.update(np.asarray(value).tobytes())
print(digest.hexdigest())
"""


def _digest(hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", DIGEST], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True, timeout=120)
    return done.stdout.strip()


def test_two_processes_give_the_same_bits() -> None:
    first, second = _digest("1"), _digest("2")
    assert len(first) == 64 and first == second
