"""The rows of ``parity_tests/test_bridge.py``, prepared for the bridge page.

The code shown is read from that file (the functions the tests run), with the ``# idiom``
markers taken out; the lines they mark are what the table quotes. A slip is shown with
the tests that make it happen, found by name in the test functions' source: a slip
without a test is an error, not a row.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

from nn_rosetta.sources import module_source

PREAMBLE = """import numpy as np
import tensorflow as tf
import torch
import torch.nn.functional as F

import reference"""
_IMPORTED = {"tf", "torch", "F"}  # bound in the test module, imported in the preamble
_MARK = re.compile(r"  # idiom(?::\s*(.*))?$")


@dataclass(frozen=True)
class Code:
    function: str
    source: str  # the function and the classes or functions of the module it uses
    idioms: tuple[str, ...]  # the marked lines, stripped


@dataclass(frozen=True)
class Slip:
    code: Code
    tests: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    number: int
    key: str
    title: str
    note: str
    idiom: str
    verdict: str
    remark: str
    sides: tuple[tuple[str, Code], ...]  # (label, code): TensorFlow, PyTorch, NumPy
    slips: tuple[Slip, ...]
    test: str

    @property
    def anchor(self) -> str:
        return f"{self.number}-{re.sub(r'[^a-z0-9 _-]', '', self.title.lower())}".replace(
            " ", "-")


def _unmarked(line: str) -> str:
    return _MARK.sub(lambda m: f"  # {m[1]}" if m[1] else "", line)


def _code(function, shown: set[str]) -> Code:
    """The function's code, after the module's definitions it uses that ``shown`` lacks."""
    source = module_source("parity_tests", "test_bridge")
    name = function.__name__
    used = [d.source for d in source.helpers([name]) if d.name not in _IMPORTED | shown]
    shown.update(d.name for d in source.helpers([name]))
    lines = source.definition(name).source.splitlines()
    idioms = tuple(re.sub(r"^return ", "", _MARK.sub("", x).strip()) for x in lines
                   if _MARK.search(x))
    text = "\n".join(_unmarked(x) for x in lines)
    return Code(name, "\n\n\n".join([*used, text]), idioms)


def _tests_calling(module, function) -> tuple[str, ...]:
    call = f"{function.__name__}("
    return tuple(name for name, test in vars(module).items()
                 if name.startswith("test_") and callable(test) and call in inspect.getsource(test))


def rows() -> list[Row]:
    from parity_tests import test_bridge as module

    found = []
    for number, row in enumerate(module.ROWS, start=1):
        shown: set[str] = set()  # a class the row's code uses is shown once, where first used
        sides = (("TensorFlow", _code(row.tensorflow, shown)),
                 ("PyTorch", _code(row.pytorch, shown)), ("NumPy", _code(row.numpy, shown)))
        slips = []
        for slip in row.slips:
            tests = _tests_calling(module, slip)
            if not tests:
                raise RuntimeError(f"bridge row {row.key!r}: no test calls {slip.__name__}")
            slips.append(Slip(_code(slip, shown), tests))
        found.append(Row(number, row.key, row.title, row.note, row.idiom, row.verdict,
                         row.remark, sides, tuple(slips),
                         f"test_the_three_sides_agree[{row.key}]"))
    return found
