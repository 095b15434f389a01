"""``nn-rosetta``: the concepts and their parity status, and one concept's three translations.

    nn-rosetta list                 every concept, by page, with its parity status
    nn-rosetta show sigmoid         NumPy, PyTorch and TensorFlow side by side

``show`` fits the columns to the terminal (``--width`` overrides), stacks them when the
terminal is too narrow for three, and highlights the code when writing to a terminal.
The parity status comes from ``build/parity/report.json`` under the current directory
(the last ``nox -s parity`` run), else from the docs' committed snapshot.
"""

from __future__ import annotations

import argparse
import difflib
import shutil
import sys
import textwrap
from pathlib import Path

from nn_rosetta import catalog, docstrings, parity, terminal
from nn_rosetta.parity import DTYPES
from reference import registry


def _summary(report: Path | None) -> parity.Summary | None:
    if report is not None:
        return parity.read_report(report)
    checkout = Path(__file__).resolve().parent.parent  # the source tree, when run from it
    return parity.latest(Path.cwd()) or parity.latest(checkout)


def _status(summary: parity.Summary | None, concept: str, dtype: str) -> str:
    cell = summary and summary.status(concept, dtype)
    return cell.text() if cell else "not measured"


def list_concepts(summary: parity.Summary | None) -> str:
    head = f"{'concept':<48}" + "".join(f"{d:<14}" for d in DTYPES) + "notes"
    lines = [head, "─" * len(head)]
    for group in catalog.groups():
        lines.append(group.title)
        for t in group.translations:
            lines.append(f"  {t.name:<46}"
                         + "".join(f"{_status(summary, t.name, d):<14}" for d in DTYPES)
                         + " ".join(t.concept.notes))
    if summary is None:
        lines += ["", "parity: not measured yet; run `nox -s parity`"]
    else:
        rtols = ", ".join(f"{d} {rtol:g}" for d, rtol in summary.tolerances().items())
        lines += ["", "worst error max |a − e| / (|e| + atol/rtol) over torch and TF and over "
                      f"outputs, losses and gradients; ✓ when ≤ rtol ({rtols})",
                  f"parity from {summary.source} ("
                  + ", ".join(f"{k} {v}" for k, v in summary.versions.items()) + ")"]
    return "\n".join(lines)


def show_concept(name: str, width: int, colour: bool, summary: parity.Summary | None) -> str:
    t = catalog.find(name)
    status = ", ".join(f"{d} {_status(summary, name, d)}" for d in DTYPES)
    notes = f"notes {', '.join(t.concept.notes)} · " if t.concept.notes else ""
    head = textwrap.wrap(f"{name} — {docstrings.plain(t.summary)}", width)
    head += textwrap.wrap(f"{catalog.page_of(t.concept.module)[1]} · {notes}parity {status}",
                          width)
    blocks = [(f"{impl.label}  {impl.relpath}" if impl else "missing", impl.code if impl else "")
              for impl in t.implementations]
    out = [*head, "", terminal.columns(blocks, width, colour)]
    if t.differences:
        out += ["", "Where the frameworks differ"]
        for package, text in t.differences:
            for block in docstrings.blocks(text):
                for item in block.items or (block.text,):
                    out += textwrap.wrap(docstrings.plain(item), width,
                                         initial_indent=f"  {catalog.LABELS[package]}: ",
                                         subsequent_indent="    ")
    return "\n".join(out)


def _width(text: str) -> int:
    """--width: a whole number of columns, at least 20 (the narrowest readable layout)."""
    try:
        width = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number of columns, got {text!r}") from None
    if width < 20:
        raise argparse.ArgumentTypeError(f"at least 20 columns, got {width}")
    return width


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nn-rosetta", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report", type=Path, default=None,
                        help="a parity report.json to read (default: the last run's)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every concept with its parity status")
    show = commands.add_parser("show", help="one concept in NumPy, PyTorch and TensorFlow")
    show.add_argument("concept")
    show.add_argument("--width", type=_width, default=None,
                      help="columns to fit (default: the terminal's width)")
    show.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                      help="highlight the code (auto: when writing to a terminal)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        summary = _summary(args.report)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        parser.error(f"--report {args.report}: not a readable parity report "
                     f"({type(error).__name__}: {error})")
    if args.command == "list":
        print(list_concepts(summary))
        return 0
    names = [c.name for c in registry.CONCEPTS]
    if args.concept not in names:
        close = difflib.get_close_matches(args.concept, names, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(close)}?" if close else "; see `nn-rosetta list`"
        print(f"nn-rosetta: no concept named {args.concept!r}{hint}", file=sys.stderr)
        return 2
    width = args.width or shutil.get_terminal_size().columns
    colour = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    print(show_concept(args.concept, max(width, 20), colour, summary))
    return 0
