"""Every Python block of README.md runs as pasted, in a fresh interpreter, and prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from docs import build

BLOCKS = re.findall(r"^```python\n(.*?)^```$", build.README.read_text(encoding="utf-8"),
                    re.M | re.S)


def test_the_readme_has_python_blocks() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{k + 1}" for k in range(len(BLOCKS))])
def test_each_readme_block_runs_as_pasted_and_prints(block: str, tmp_path) -> None:
    # a fresh interpreter in an empty directory: no setup the block does not show
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3",
           "TF_ENABLE_ONEDNN_OPTS": "0", "PYTHONPATH": str(build.ROOT)}
    done = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip(), "the block prints nothing for the reader to look at"
    assert "Traceback" not in done.stderr and "Warning" not in done.stderr, done.stderr[-3000:]


def test_the_readme_says_how_to_install_for_use_and_how_big_it_is() -> None:
    readme = build.README.read_text(encoding="utf-8")
    assert 'pip install -e ".[torch,tf]"' in readme
    assert re.search(r"about \d+(\.\d+)? GB", readme)
    assert readme.index("## Install, to use it") < readme.index("## Keras / TensorFlow → PyTorch")
    assert readme.index("## Keras / TensorFlow → PyTorch") < readme.index("## Two commands")
