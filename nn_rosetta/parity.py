"""The parity measured by the last ``nox -s parity`` run, summarised per concept.

``build/parity/report.json`` (written by the parity suite) holds every comparison. A
summary keeps, per concept, dtype, framework and kind of quantity (output, loss,
gradient, …), the worst error, its tolerance and whether every comparison passed. Errors
are kept to two significant digits: the docs show magnitudes, and a last-digit change
between runs should not rewrite them.

The docs read a committed snapshot of this summary (``docs/parity-summary.json``), which
``nox -s docs`` refreshes from the latest report, so the committed pages depend only on
committed files. The snapshot keeps whether each bound was met, not the errors: those
differ from machine to machine (1.1e-7 here, 2.7e-7 there), and a contributor who
regenerates the docs should get no diff they did not make. The measured figures stay in
the report, the CLI and the HTML page.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from reference._validation import check_path

REPORT = Path("build/parity/report.json")
SNAPSHOT = Path("docs/parity-summary.json")
DTYPES = ("float64", "float32")
FRAMEWORKS = {"torch": "PyTorch", "tf": "TensorFlow"}
_KINDS = ("output", "loss", "gradient")  # the parity suite's; a kind added later sorts after
_COLUMNS = ("concept", "dtype", "framework", "kind", "error", "rtol", "passed")


@dataclass(frozen=True)
class Cell:
    """The worst of a set of comparisons."""

    error: float | None  # None: the framework has no gradient, as the spec expects
    rtol: float
    passed: bool
    kept: bool = True  # False: the error was dropped, only whether it met rtol is known

    def text(self) -> str:
        mark = "✓" if self.passed else "✗"
        if not self.kept:
            return mark
        if self.error is None:
            return f"none {mark}"
        return f"{self.error:.1e} {mark}" if self.error else f"0 {mark}"


# concept -> dtype -> framework -> kind -> Cell
Cells = dict[str, dict[str, dict[str, dict[str, Cell]]]]


@dataclass(frozen=True)
class Summary:
    cells: Cells
    versions: dict[str, str]
    source: str

    def of(self, concept: str) -> dict[str, dict[str, dict[str, Cell]]]:
        return self.cells.get(concept, {})

    def kinds(self, concept: str) -> list[str]:
        """The kinds of quantity measured for ``concept``, in the parity matrix's order."""
        found = {k for fws in self.of(concept).values() for ks in fws.values() for k in ks}
        return [k for k in _KINDS if k in found] + sorted(found - set(_KINDS))

    def status(self, concept: str, dtype: str) -> Cell | None:
        """The worst cell of one concept and dtype over frameworks and kinds."""
        cells = [c for kinds in self.of(concept).get(dtype, {}).values() for c in kinds.values()]
        if not cells:
            return None
        errors = [c.error for c in cells if c.error is not None and c.kept]
        return Cell(max(errors) if errors else None, cells[0].rtol, all(c.passed for c in cells),
                    kept=all(c.kept for c in cells) or bool(errors))

    def tolerances(self) -> dict[str, float]:
        """The rtol of each dtype, as the report recorded it."""
        return {dtype: cell.rtol for dtypes in self.cells.values()
                for dtype, fws in dtypes.items() for kinds in fws.values()
                for cell in kinds.values()}

    def bounded(self) -> Summary:
        """The summary with every error dropped: whether each bound was met, nothing more.
        Versions keep their release (``torch 2.13.0``, not ``2.13.0+cpu``; ``python 3.11``),
        the part the pinned constraints fix on every machine."""
        cells = {concept: {dtype: {fw: {kind: replace(cell, kept=cell.kept
                                                      and cell.error is None)
                                        for kind, cell in kinds.items()}
                                   for fw, kinds in fws.items()}
                           for dtype, fws in dtypes.items()}
                 for concept, dtypes in self.cells.items()}
        versions = {k: ".".join(v.split("+")[0].split(".")[:2 if k == "python" else 3])
                    for k, v in self.versions.items()}
        return Summary(cells, versions, self.source)

    def to_json(self) -> str:
        """One line per cell, sorted, so that a refresh reads as a small diff. An error
        dropped by :meth:`bounded` is written ``"bound"``."""
        rows = sorted(json.dumps([concept, dtype, fw, kind,
                                  cell.error if cell.kept else _BOUND, cell.rtol, cell.passed],
                                 ensure_ascii=False)
                      for concept, dtypes in self.cells.items() for dtype, fws in dtypes.items()
                      for fw, kinds in fws.items() for kind, cell in kinds.items())
        return ("{\n" f' "versions": {json.dumps(self.versions, sort_keys=True)},\n'
                f' "columns": {json.dumps(list(_COLUMNS))},\n'
                ' "cells": [\n  ' + ",\n  ".join(rows) + "\n ]\n}\n")


_BOUND = "bound"


def _rounded(error: float) -> float:
    return float(f"{error:.1e}")


def summarise(records: Iterable[dict], versions: dict[str, str], source: str) -> Summary:
    """The worst error per concept, dtype, framework and kind of a report's records."""
    cells: Cells = {}
    for r in records:
        slot = cells.setdefault(r["concept"], {}).setdefault(r["dtype"], {}).setdefault(
            r["framework"], {})
        old = slot.get(r["kind"])
        errors = [e for e in (old and old.error, r["error"]) if e is not None]
        slot[r["kind"]] = Cell(max(errors) if errors else None, r["rtol"],
                               r["passed"] and (old is None or old.passed))
    for dtypes in cells.values():
        for fws in dtypes.values():
            for kinds in fws.values():
                for kind, cell in kinds.items():
                    if cell.error is not None:
                        kinds[kind] = Cell(_rounded(cell.error), cell.rtol, cell.passed)
    return Summary(cells, versions, source)


def _payload(where: str, path: object, keys: tuple[str, ...]) -> dict:
    """The JSON object a report or snapshot file holds, its ``keys`` present: Python's
    "'str' object has no attribute 'read_text'" for a str path, a bare
    FileNotFoundError or KeyError otherwise. A missing file is a ValueError naming it, as
    ``port_files`` refuses a missing ``.keras`` file."""
    check_path(where, path)
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{where}: no such file: {path}")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{where}: {path} is not a JSON file ({error})") from None
    if not isinstance(payload, dict) or any(key not in payload for key in keys):
        raise ValueError(f"{where}: {path} must hold a JSON object with the keys "
                         f"{list(keys)}")
    return payload


def read_report(path: Path = REPORT) -> Summary:
    payload = _payload("read_report", path, ("records",))
    return summarise(payload["records"], payload.get("versions", {}), str(path))


def read_snapshot(path: Path = SNAPSHOT) -> Summary:
    payload = _payload("read_snapshot", path, ("cells", "versions"))
    cells: Cells = {}
    for concept, dtype, fw, kind, error, rtol, passed in payload["cells"]:
        cell = Cell(None, rtol, passed, kept=False) if error == _BOUND else Cell(error, rtol,
                                                                                passed)
        cells.setdefault(concept, {}).setdefault(dtype, {}).setdefault(fw, {})[kind] = cell
    return Summary(cells, payload["versions"], str(path))


def merged(old: Summary, new: Summary, concepts: Iterable[str],
           source: str = str(SNAPSHOT)) -> Summary:
    """``old`` with every cell that ``new`` measured replaced, kept to ``concepts``.

    A partial run (``nox -s parity -- -k sigmoid``) refreshes what it measured and leaves
    the rest; a concept no longer registered is dropped.
    """
    keep = set(concepts)
    cells: Cells = {}
    for summary in (old, new):
        for concept, dtypes in summary.cells.items():
            if concept not in keep:
                continue
            for dtype, fws in dtypes.items():
                for fw, kinds in fws.items():
                    cells.setdefault(concept, {}).setdefault(dtype, {}).setdefault(
                        fw, {}).update(kinds)
    return Summary(cells, new.versions or old.versions, source)


def latest(root: Path = Path()) -> Summary | None:
    """The last parity run's report under ``root`` over the snapshot there, or either alone.

    Read once per version of those files in a process: a full run's report is megabytes,
    and each CLI command shows a summary from it."""
    check_path("latest", root)  # "'str' object has no attribute 'resolve'"
    root = Path(root)
    return _latest(root.resolve(), tuple(_version(root / path) for path in (SNAPSHOT, REPORT)))


def _version(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=4)
def _latest(root: Path, versions: tuple[tuple[int, int] | None, ...]) -> Summary | None:
    found = [replace(read(root / path), source=str(path)) for path, read in (
        (SNAPSHOT, read_snapshot), (REPORT, read_report)) if (root / path).is_file()]
    if len(found) < 2:
        return found[0] if found else None
    snapshot, report = found
    return merged(snapshot, report, {*snapshot.cells, *report.cells},
                  f"{REPORT} over {SNAPSHOT}")
