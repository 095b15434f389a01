"""``import tf_impl`` loads triton, where it is installed, before TensorFlow: triton loaded
after TensorFlow ≥ 2.20 segfaults (tensorflow/tensorflow#124205), and torch's CUDA build
brings it (``torch.optim`` imports it). The pinned CPU torch has none, so a stand-in
``triton`` records what was loaded when it was imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_tf_impl_loads_triton_before_tensorflow(tmp_path: Path) -> None:
    (tmp_path / "triton").mkdir()
    (tmp_path / "triton" / "__init__.py").write_text(
        "import sys\nTENSORFLOW_FIRST = 'tensorflow' in sys.modules\n", encoding="utf-8")
    script = "import tf_impl, triton; print(triton.TENSORFLOW_FIRST)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
