"""The spec needs NumPy and SciPy only: its own tests run on a spec-only install
(``pip install -e .``); the tests that compare it with torch or Keras live in
``parity_tests/``. This reads the test files with ``ast``; nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

FRAMEWORKS = ("torch", "tensorflow", "keras", "torch_impl", "tf_impl")
HERE = Path(__file__).resolve().parent
SPEC = HERE.parent


def _imported(path: Path) -> set[str]:
    """Top-level package names a file imports, with ``import`` or ``importlib.import_module``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value.split(".")[0])
            elif isinstance(first, ast.JoinedStr):  # f"{package}.perceptron": any of them
                found.update(FRAMEWORKS)
    return found


@pytest.mark.parametrize("path", sorted([*HERE.glob("*.py"), *SPEC.glob("*.py")]),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_spec_and_its_tests_import_no_framework(path: Path) -> None:
    assert not _imported(path) & set(FRAMEWORKS), (
        f"{path.name} imports {sorted(_imported(path) & set(FRAMEWORKS))}: move the test "
        "beside the mirrors (parity_tests/), so that a spec-only install runs every spec test")
