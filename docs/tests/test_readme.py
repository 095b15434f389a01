"""Every Python block of README.md runs as pasted, in a fresh interpreter, and prints."""

from __future__ import annotations

import importlib.metadata
import importlib.util
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
    assert ('pip install -e ".[torch,tf]" -c constraints.txt '
            '--extra-index-url https://download.pytorch.org/whl/cpu\n') in readme
    assert re.search(r"measured about \d+(\.\d+)? GB", readme)


def test_the_pinned_set_pins_torch_and_names_no_index() -> None:
    """torch is pinned; PyTorch's CPU index comes on the command line (the README's install,
    noxfile.py where it is reachable), never from the constraints file, which every nox
    session reads, also on machines that cannot reach that index (issue 23)."""
    lines = (build.ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    assert not any(line.startswith("--") for line in lines)
    assert any(re.fullmatch(r"torch==[\d.]+", line) for line in lines)


def test_the_pinned_install_is_the_cpu_torch_without_triton() -> None:
    """The README's claim for the environment its install line makes, which the tests run
    in: torch at its pin, the CPU build, and no triton to crash after TensorFlow."""
    pins = dict(line.split("==") for line in (build.ROOT / "constraints.txt").read_text(
        encoding="utf-8").splitlines() if "==" in line and not line.startswith("#"))
    assert importlib.metadata.version("torch") == f"{pins['torch']}+cpu"
    assert importlib.util.find_spec("triton") is None


def test_the_readme_is_in_a_newcomers_order() -> None:
    """What it is, install, the two commands, a ported model, then the concepts and the
    cheat-sheet's top, then the rest (issue 23)."""
    readme = build.README.read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", readme, re.M)
    assert headings[:6] == ["Install", "Two commands", "A Keras model in PyTorch, in five lines",
                            "The three translations at a glance", "Map of the concepts",
                            "Keras / TensorFlow → PyTorch: the cheat-sheet"]
    assert len(readme[:readme.index("## Install")].splitlines()) <= 10  # what it is, briefly


def test_the_five_line_port_is_five_lines() -> None:
    readme = build.README.read_text(encoding="utf-8")
    section = readme.split("## A Keras model in PyTorch, in five lines", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S)[1]
    assert block in BLOCKS and len([x for x in block.splitlines() if x.strip()]) <= 5
