"""nn-rosetta: the concepts, the Keras/TF → PyTorch cheat-sheet, and each concept three ways.

    nn-rosetta cheatsheet           Keras/TensorFlow names beside PyTorch's (alias: bridge)
    nn-rosetta cheatsheet Dense     the rows that name Dense (any Keras, torch or spec name)
    nn-rosetta list                 every concept, by page, with its parity status
    nn-rosetta show sigmoid         NumPy, PyTorch and TensorFlow side by side
    nn-rosetta show DDP             names are forgiving: adam, bce, BN, MHA, clipnorm,
                                    nn.Linear, keras.layers.Dense, DistributedDataParallel
    nn-rosetta notes                the source notes the numbers (note 002) refer to
    nn-rosetta port M.keras D       a Keras model in PyTorch: D/model.py, D/weights.pt, and
                                    the per-layer report, printed and in D/report.json

show and cheatsheet read a name alike: whatever cheatsheet finds rows for, show shows (the
concept, or those rows). Both fit the terminal (--width overrides): side by side from 100 columns,
stacked below that, and highlighted when writing to a terminal. The parity status comes
from build/parity/report.json under the current directory (the last nox -s parity run),
else from the docs' committed snapshot.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import shutil
import sys
import textwrap
from pathlib import Path

from nn_rosetta import catalog, cheatsheet, docstrings, names, notes, parity, terminal
from nn_rosetta.parity import DTYPES


def _summary(report: Path | None) -> parity.Summary | None:
    if report is not None:
        if report.exists() and not report.is_file():  # a pipe's read would wait forever
            raise ValueError("a directory" if report.is_dir() else
                             "not a regular file (a device, a pipe or a socket)")
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
                         + "".join(f"{_status(summary, t.parity, d):<14}" for d in DTYPES)
                         + " ".join(t.concept.notes))
    lines += ["", notes.legend()]
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
    status = ", ".join(f"{d} {_status(summary, t.parity, d)}" for d in DTYPES)
    cited = f"notes {', '.join(t.concept.notes)} · " if t.concept.notes else ""
    head = textwrap.wrap(f"{name} — {docstrings.plain(t.summary)}", width)
    head += textwrap.wrap(f"{catalog.page_of(t.concept.module)[1]} · {cited}parity {status}",
                          width)
    blocks = [(f"{impl.label}  {impl.relpath}" if impl else "missing", impl.code if impl else "")
              for impl in t.implementations]
    out = [*head, "", terminal.columns(blocks, width, colour)]
    rows = [r for r in cheatsheet.ROWS if r.spec == name]
    if rows:
        out += ["", f"From Keras/TF to PyTorch (`nn-rosetta cheatsheet {name}`)",
                sheet(rows, width)]
    if t.differences:
        out += ["", "Where the frameworks differ"]
        for package, text in t.differences:
            for block in docstrings.blocks(text):
                for item in block.items or (block.text,):
                    out += textwrap.wrap(docstrings.plain(item), width,
                                         initial_indent=f"  {catalog.LABELS[package]}: ",
                                         subsequent_indent="    ")
    if t.concept.notes:
        out += ["", *textwrap.wrap(notes.legend(), width)]
    return "\n".join(out)


_SHEET_COLUMNS = (("Keras / TensorFlow", "keras", 3), ("PyTorch", "torch", 3),
                  ("spec", "spec", 1.4), ("what differs", "difference", 3))


def _cell(row: cheatsheet.Row, field: str) -> str:
    text = getattr(row, field) or ("—" if field == "spec" else "")
    return text.replace("`", "")


def sheet(rows: list[cheatsheet.Row] | tuple[cheatsheet.Row, ...], width: int) -> str:
    """Cheat-sheet rows as a table from 100 columns, one block per row below that."""
    if width < terminal.SIDE_BY_SIDE:
        out = [terminal.stacked_notice(width)]
        for row in rows:
            out.append("")
            out += textwrap.wrap(_cell(row, "keras"), width)
            for label, field in (("PyTorch", "torch"), ("spec", "spec"),
                                 ("differs", "difference")):
                out += textwrap.wrap(_cell(row, field), width, initial_indent=f"  {label}: ",
                                     subsequent_indent="    ")
        return "\n".join(out)
    room = width - len(terminal.GAP) * (len(_SHEET_COLUMNS) - 1)
    total = sum(w for *_, w in _SHEET_COLUMNS)
    widths = [int(room * w / total) for *_, w in _SHEET_COLUMNS]
    widths[-1] = room - sum(widths[:-1])
    lines = [terminal.GAP.join(h.ljust(w) for (h, *_), w in zip(_SHEET_COLUMNS, widths,
                                                               strict=True)).rstrip(),
             "─┼─".join("─" * w for w in widths)]
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            lines.append(section.upper())
        cells = [textwrap.wrap(_cell(row, field), w) or [""]
                 for (_, field, _), w in zip(_SHEET_COLUMNS, widths, strict=True)]
        for k in range(max(map(len, cells))):
            lines.append(terminal.GAP.join((c[k] if k < len(c) else "").ljust(w)
                                           for c, w in zip(cells, widths, strict=True)).rstrip())
    return "\n".join(lines)


def sheet_rows(word: str | None) -> tuple[cheatsheet.Row, ...]:
    """The rows a word means (``nn_rosetta.names.lookup``); every row without one."""
    return names.lookup(word).rows if word else cheatsheet.ROWS


def list_notes() -> str:
    out = []
    for note in notes.NOTES:
        out += [f"note {note.number}  ({note.file})",
                *textwrap.wrap(note.source.replace("`", "") + ".", 88, initial_indent="  ",
                               subsequent_indent="  "),
                *textwrap.wrap("Covers " + note.topics.replace("`", "") + ".", 88,
                               initial_indent="  ", subsequent_indent="  ")]
        out += [f"  - {label}: {url}" for label, url in note.links] or [
            "  - it links to nothing beyond its pictures"]
        out.append("")
    return "\n".join([*out, f"The same with links: {notes.PAGE}"])


MIN_WIDTH, MAX_WIDTH = 20, 1000  # the narrowest readable layout; wider is padding alone


def _columns(text: str) -> int:
    """--width: a whole number of columns in [20, 1000] (10⁸ columns padded each line
    for minutes)."""
    try:
        width = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number of columns, got {text!r}") from None
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        raise argparse.ArgumentTypeError(f"between {MIN_WIDTH} and {MAX_WIDTH} columns, got "
                                         f"{width}")
    return width


def _path(text: str) -> Path:
    """A path argument: an empty one is refused (``Path("")`` is the current folder), and
    one through a symbolic link that leads nowhere, naming the link (the system's error
    names neither it nor the argument)."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path; give a file or folder name")
    from reference._files import dangling_link

    if (link := dangling_link(text)) is not None:
        raise argparse.ArgumentTypeError(f"{text}: {link}")
    return Path(text)


MAX_NAME = 200  # longer than any concept or framework name; difflib is quadratic in it


def _name(text: str) -> str:
    """A concept or cheat-sheet name: at most :data:`MAX_NAME` characters (a 100 000
    character name took minutes of near-miss suggestions)."""
    if len(text) > MAX_NAME:
        raise argparse.ArgumentTypeError(f"a name of at most {MAX_NAME} characters, got "
                                         f"{len(text)}")
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nn-rosetta", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report", type=_path, default=None,
                        help="a parity report.json to read (default: the last run's)")
    parser.add_argument("--version", action="version", version=f"nn-rosetta {_version()}")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("list", help="every concept with its parity status")
    show = commands.add_parser("show", help="one concept in NumPy, PyTorch and TensorFlow")
    show.add_argument("concept", type=_name)
    show.add_argument("--width", type=_columns, default=None,
                      help="columns to fit (default: the terminal's width)")
    show.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                      help="highlight the code (auto: when writing to a terminal)")
    sheet = commands.add_parser("cheatsheet", aliases=["bridge"],
                                help="Keras/TensorFlow names beside PyTorch's, with the spec's")
    sheet.add_argument("name", nargs="?", type=_name, help="only the rows about this name")
    sheet.add_argument("--width", type=_columns, default=None,
                       help="columns to fit (default: the terminal's width)")
    commands.add_parser("notes", help="the source notes that the note numbers refer to")
    port = commands.add_parser("port", help="a Keras model in PyTorch: model.py, weights.pt "
                                            "and a per-layer parity report (printed, and "
                                            "as report.json)")
    port.add_argument("model", type=_path, help="a .keras model file (Sequential or functional)")
    port.add_argument("folder", type=_path, nargs="?", default=None,
                      help="the folder to write into (or --out)")
    port.add_argument("--out", type=_path, default=None, help="the folder to write into")
    port.add_argument("--input", type=_path, default=None,
                      help="a .npy batch to compare the layers on, or a .npz of one per input "
                           "(keyed by input name) for a model of several (default: random)")
    port.add_argument("--force", action="store_true",
                      help="replace the --out folder when it holds a previous port")
    port.add_argument("--stubs", action="store_true",
                      help="leave a Lambda or custom layer as a named stub in model.py")
    port.add_argument("--no-other-dtype", dest="other_dtype", action="store_false",
                      help="leave out the whole model in the other float dtype (float64 "
                           "beside a float32 model, or the reverse): one forward pass of "
                           "each model fewer")
    return parser


def _version() -> str:
    try:
        return importlib.metadata.version("nn-rosetta")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed: no package metadata; pip install -e .)"


def _width(asked: int | None) -> int:
    # COLUMNS may claim any width: kept within what --width takes
    return asked or min(max(shutil.get_terminal_size().columns, MIN_WIDTH), MAX_WIDTH)


def _unknown(word: str) -> int:
    close = names.suggestions(word)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    print(f"nn-rosetta: no concept or cheat-sheet name {word!r}{hint} (see `nn-rosetta list` "
          "and `nn-rosetta cheatsheet`)", file=sys.stderr)
    return 2


def port_model(model: Path, out: Path, example: Path | None, force: bool = False, *,
               stubs: bool = False, other_dtype: bool = True) -> int:
    """``nn-rosetta port``: nothing is written unless every layer ports."""
    try:
        import tf_impl  # noqa: F401  (first: it quiets TensorFlow's logging before TF loads)
        from nn_rosetta import port_files, porting
    except ModuleNotFoundError as error:
        print(f"nn-rosetta port: needs PyTorch and TensorFlow, and {error.name} is not "
              "installed: pip install \"nn-rosetta[torch,tf]\" (README.md, Install)",
              file=sys.stderr)
        return 2

    try:
        ported = porting.port(porting.load(model), None if example is None else
                              port_files.read_example(example), stubs=stubs,
                              other_dtype=other_dtype)
        written = ported.save(out, force=force)  # only once every layer has ported
    except (OSError, TypeError, ValueError) as error:
        print(f"nn-rosetta port: {error}", file=sys.stderr)
        return 2
    print(ported.report, "", *(f"wrote {path}" for path in written), sep="\n")
    return 0 if ported.report.ok else 1


def run(args: argparse.Namespace, summary: parity.Summary | None) -> int:
    if args.command == "port":
        if (args.folder is None) == (args.out is None):
            print("nn-rosetta port: give the folder to write into once, as the second "
                  "argument or --out", file=sys.stderr)
            return 2
        return port_model(args.model, args.folder or args.out, args.input, args.force,
                          stubs=args.stubs, other_dtype=args.other_dtype)
    if args.command == "notes":
        print(list_notes())
        return 0
    if args.command in ("cheatsheet", "bridge"):
        rows = sheet_rows(args.name)
        if not rows:
            return _unknown(args.name)
        print(sheet(rows, _width(args.width)))
        return 0
    if args.command == "list":
        print(list_concepts(summary))
        return 0
    found = names.lookup(args.concept)
    width = _width(args.width)
    if found.concept is None:
        if not found.rows:
            return _unknown(args.concept)
        if found.concepts:
            print(f"{args.concept!r} is not one concept of the spec: it names "
                  f"{', '.join(found.concepts)} (`nn-rosetta show` one of them); the "
                  "cheat-sheet has it:")
        else:
            print(f"{args.concept!r} is not a concept of the spec; the cheat-sheet has it:")
        print(sheet(found.rows, width))
        return 0
    colour = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    print(show_concept(found.concept, width, colour, summary))
    return 0


def _readable_output() -> None:
    """Standard output that cannot encode the tables' characters (σ, →, ✓ under LANG=C or
    PYTHONIOENCODING=latin-1) writes them as "?" instead of stopping on
    UnicodeEncodeError."""
    stream = sys.stdout
    if stream is None or not hasattr(stream, "reconfigure"):
        return
    try:
        "σ→✓─│".encode(stream.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        stream.reconfigure(errors="replace")


def main(argv: list[str] | None = None) -> int:
    _readable_output()
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare `nn-rosetta`: what it can do
        parser.print_help()
        return 0
    summary = None
    if args.command in ("list", "show"):
        try:
            summary = _summary(args.report)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            parser.error(f"--report {args.report}: not a readable parity report "
                         f"({type(error).__name__}: {error})")
    try:
        code = run(args, summary)
        if sys.stdout is not None:  # closed (`nn-rosetta list >&-`): print wrote nothing
            sys.stdout.flush()
    except BrokenPipeError:  # the reader left (`nn-rosetta list | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:  # a full disk (> /dev/full), a closed descriptor
        print(f"nn-rosetta: could not write the output ({error})", file=sys.stderr)
        with contextlib.suppress(OSError, ValueError, AttributeError):  # no descriptor
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # none at exit
        return 1
    return code
