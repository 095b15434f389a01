"""Collects every comparison the parity tests make and renders the parity matrix.

One row per concept and dtype; for each framework the worst observed error of its
outputs, losses and gradients over all cases and batch sizes, beside the tolerance.
The same records go to ``build/parity/report.json`` for tools and docs.
"""

from __future__ import annotations

import json
import platform
import textwrap
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from parity_tests.tolerances import KINDS, TOLERANCES, column


@dataclass
class Record:
    concept: str
    case: str
    framework: str
    dtype: str
    batch: int
    quantity: str
    kind: str
    error: float | None  # None: the framework rightly has no gradient (the step)
    rtol: float
    atol: float
    passed: bool
    detail: str = ""


def _floats(array: np.ndarray) -> bool:
    """Whether ``array`` is a float array with an axis (a 0-d value came through
    ``.item()`` or ``float()``, which keep no dtype)."""
    return bool(array.ndim) and np.issubdtype(array.dtype, np.floating)


class Comparison(AssertionError):
    """A parity failure, carrying every message of the case."""


class Recorder:
    """Compares one case's quantities, records each, and fails once with all messages."""

    records: ClassVar[list[Record]] = []  # shared by the whole session

    def __init__(self, concept: str, case: str, framework: str, dtype: np.dtype,
                 batch: int) -> None:
        self.key = dict(concept=concept, case=case, framework=framework,
                        dtype=np.dtype(dtype).name, batch=batch)
        self.failures: list[str] = []

    def compare(self, quantity: str, kind: str, actual: np.ndarray | float,
                expected: np.ndarray | float, note: str = "") -> bool:
        tol = TOLERANCES[self.key["dtype"]][kind]
        actual, expected = np.asarray(actual), np.asarray(expected)
        if actual.shape != expected.shape:
            detail = f"shape {actual.shape} from {self.key['framework']}, spec {expected.shape}"
            passed, error = False, float("inf")
        elif kind in ("output", "gradient") and _floats(actual) and \
                actual.dtype != self.key["dtype"]:
            # a mirror's tensor in another precision is silently different, equal numbers
            # or not (the spec's may be float64 in a float32 case: finite differences need
            # it; histories of losses and learning rates are Python floats in every package)
            detail = f"dtype {actual.dtype} from {self.key['framework']} in a " \
                     f"{self.key['dtype']} case"
            passed, error = False, float("inf")
        else:
            error = tol.error(actual, expected)
            passed = bool(error <= tol.rtol)
            detail = "" if passed or actual.ndim == 0 else self._worst(actual, expected, tol)
        self.records.append(Record(**self.key, quantity=quantity, kind=kind, error=error,
                                   rtol=tol.rtol, atol=tol.atol, passed=passed, detail=detail))
        if not passed:
            shown = (f"{self.key['framework']} {float(actual):.17g} vs spec "
                     f"{float(expected):.17g}" if actual.ndim == 0 else detail)
            self.failures.append(
                f"{self.key['concept']} [{self.key['case']}], {self.key['framework']}, "
                f"{self.key['dtype']}, batch {self.key['batch']}: {quantity} differs: "
                f"error {error:.3g} > rtol {tol.rtol:g} (atol {tol.atol:g}); {shown}{note}")
        return passed

    def no_gradient(self, quantity: str, framework_grad: np.ndarray | None,
                    spec_grad: np.ndarray) -> None:
        """For a function without a useful gradient: the spec says 0, the framework none."""
        passed = framework_grad is None and not np.any(spec_grad)
        tol = TOLERANCES[self.key["dtype"]]["gradient"]
        self.records.append(Record(**self.key, quantity=quantity, kind="gradient", error=None,
                                   rtol=tol.rtol, atol=tol.atol, passed=passed,
                                   detail="no gradient in the framework; spec derivative 0"))
        if not passed:
            self.failures.append(f"{self.key['concept']}: expected no framework gradient and a "
                                 f"zero spec derivative, got {framework_grad} and {spec_grad}")

    def _worst(self, actual: np.ndarray, expected: np.ndarray, tol) -> str:
        scaled = np.abs(actual - expected) / (np.abs(expected) + tol.atol / tol.rtol)
        where = np.unravel_index(np.argmax(scaled), scaled.shape)
        return (f"largest at index {tuple(int(i) for i in where)}: "
                f"{self.key['framework']} {actual[where]:.17g} vs spec {expected[where]:.17g}")

    def finish(self) -> None:
        if self.failures:
            raise Comparison("\n".join(self.failures))


def _cell(records: list[Record]) -> str:
    if not records:
        return "—"
    if all(r.error is None for r in records):
        return "none " + ("✓" if all(r.passed for r in records) else "✗")
    worst = max(r.error for r in records if r.error is not None)
    return f"{worst:.1e} {'✓' if all(r.passed for r in records) else '✗'}"


_NAME_WIDTH = 28
_DTYPE_WIDTH = 12
_CELL = 10


def render(records: list[Record], versions: dict[str, str], settings: dict[str, dict]) -> str:
    """The parity matrix as text, at most 100 columns wide."""
    frameworks = sorted({r.framework for r in records}, key=["torch", "tf"].index)
    concepts = list(dict.fromkeys(r.concept for r in records))
    concepts.sort(key=lambda name: name.startswith("bridge:"))  # the notes' idioms last
    left = " " * (_NAME_WIDTH + _DTYPE_WIDTH)
    group = left + "".join(f"{'── ' + fw + ' ':─<{3 * _CELL - 1}} " for fw in frameworks).rstrip()
    head = f"{'concept':<{_NAME_WIDTH}}{'dtype (rtol)':<{_DTYPE_WIDTH}}" + "".join(
        f"{kind:>{_CELL}}" for _ in frameworks for kind in ("output", "loss", "gradient"))
    rule = "─" * len(head)
    lines = ["", "Parity matrix: worst max |a − e| / (|e| + atol/rtol) of each framework against "
             "the spec,", "✓ when within the dtype's rtol (atol = rtol/10); "
             "'none': the framework rightly has no gradient.",
             "Learning runs put weight trajectories under output and loss histories under loss, "
             "with rtol " + ", ".join(f"{d.replace('float', 'f')} "
                                      f"{TOLERANCES[d]['weight trajectory'].rtol:g}"
                                      for d in TOLERANCES) + ".", "", group, head, rule]
    for concept in concepts:
        name = concept
        if len(name) >= _NAME_WIDTH:  # a long name gets a line of its own
            lines.append(name)
            name = ""
        for dtype in ("float64", "float32"):
            mine = [r for r in records if r.concept == concept and r.dtype == dtype]
            if mine:
                rtol = max(r.rtol for r in mine)  # the loosest applied on the row is shown
                label = f"{dtype.replace('float', 'f')} ({rtol:g})"
                cells = "".join(
                    _cell([r for r in mine if r.framework == fw and column(r.kind) == k])
                    .rjust(_CELL) for fw in frameworks for k in KINDS)
                lines.append(f"{name:<{_NAME_WIDTH}}{label:<{_DTYPE_WIDTH}}{cells}")
                name = ""
    failed = sum(not r.passed for r in records)
    lines += [rule, f"{len(records)} comparisons, {failed} failed. "
              + ", ".join(f"{k} {v}" for k, v in versions.items())]
    for fw, fw_settings in settings.items():
        lines += textwrap.wrap(f"{fw}: " + ", ".join(f"{k}={v}" for k, v in fw_settings.items()),
                               width=len(head), subsequent_indent="    ")
    return "\n".join(lines)


def write_json(path: Path, records: list[Record], versions: dict[str, str],
               settings: dict[str, dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "versions": {**versions, "python": platform.python_version()},
        "settings": settings,
        "tolerances": {d: {k: asdict(t) for k, t in kinds.items()}
                       for d, kinds in TOLERANCES.items()},
        "records": [asdict(r) for r in records],
    }
    path.write_text(json.dumps(payload, indent=1))
