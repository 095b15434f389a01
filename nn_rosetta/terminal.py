"""Code in columns for a terminal: highlighted, wrapped to a width, side by side or stacked.

Highlighting uses Pygments (the ``docs`` extra) when it is installed; without it, or when
colour is off, the code is the same, uncoloured. Lines are wrapped before colouring, by
visible width, so escape codes never count against a column.
"""

from __future__ import annotations

import textwrap
from itertools import zip_longest

try:
    from pygments.console import ansiformat
    from pygments.formatters.terminal import TERMINAL_COLORS
    from pygments.lexers import PythonLexer
except ImportError:  # pragma: no cover - exercised only without the docs extra
    PythonLexer = None

GAP = " │ "
CONTINUATION = "↳ "
SIDE_BY_SIDE = 100  # three columns side by side from this width; below, stacked
MIN_COLUMN = (SIDE_BY_SIDE - 2 * len(GAP)) // 3
_BREAK_AFTER = " ,([{=+*/"  # a cut after one of these keeps names and numbers whole

Segment = tuple[str, str]  # (Pygments colour name or "", text)


def _colour(ttype) -> str:
    while ttype not in TERMINAL_COLORS:
        ttype = ttype.parent
    return TERMINAL_COLORS[ttype][1]  # the dark-background variant


def segments(code: str, colour: bool) -> list[list[Segment]]:
    """The code's lines as coloured segments (colour names empty when uncoloured)."""
    if not colour or PythonLexer is None:
        return [[("", line)] for line in code.splitlines()]
    lines: list[list[Segment]] = [[]]
    for ttype, text in PythonLexer().get_tokens(code):
        name = _colour(ttype)
        for k, piece in enumerate(text.split("\n")):
            if k:
                lines.append([])
            if piece:
                lines[-1].append((name, piece))
    while lines and not lines[-1]:
        lines.pop()
    return lines


def stacked_notice(width: int) -> str:
    return "\n".join(textwrap.wrap(
        f"(stacked: {width} columns is narrower than {SIDE_BY_SIDE}; at {SIDE_BY_SIDE} or "
        "more, or with --width, the columns stand side by side)", width))


def _cuts(text: str, width: int, continued: int) -> list[int]:
    """Where to cut ``text``: after a space, else after a comma, bracket or operator, when
    one is in the second half of the room; mid-name only when none is."""
    cuts, start, room = [], 0, width
    while len(text) - start > room:
        window = range(start + room, start + room // 2, -1)
        cut = (next((i for i in window if text[i - 1] == " "), None)
               or next((i for i in window if text[i - 1] in _BREAK_AFTER or text[i] == "."),
                       start + room))
        cuts.append(cut)
        start, room = cut, width - continued
    return cuts


def wrap(line: list[Segment], width: int) -> list[list[Segment]]:
    """One source line as display lines of at most ``width`` characters.

    A continuation starts at the line's indentation with ``↳``.
    """
    text = "".join(t for _, t in line)
    prefix = " " * min(len(text) - len(text.lstrip(" ")), width // 2) + CONTINUATION
    cuts = iter(_cuts(text, width, len(prefix)))
    cut, pos, rows = next(cuts, None), 0, [[]]
    for name, piece in line:
        while piece:
            if pos == cut:
                rows.append([("", prefix)])
                cut = next(cuts, None)
            take = len(piece) if cut is None else min(len(piece), cut - pos)
            rows[-1].append((name, piece[:take]))
            piece, pos = piece[take:], pos + take
    return rows


def render(row: list[Segment], width: int | None = None) -> str:
    """A display line as text, padded to ``width`` visible characters when given."""
    text = "".join(ansiformat(n, t) if n else t for n, t in row)
    return text if width is None else text + " " * (width - sum(len(t) for _, t in row))


def _block(code: str, width: int, colour: bool) -> list[list[Segment]]:
    return [row for line in segments(code, colour) for row in (wrap(line, width) or [[]])]


def columns(blocks: list[tuple[str, str]], width: int, colour: bool) -> str:
    """``(title, code)`` blocks side by side within ``width``, or one under another."""
    column = (width - len(GAP) * (len(blocks) - 1)) // len(blocks)
    bold = (lambda t: ansiformat("*white*", t)) if colour and PythonLexer else (lambda t: t)
    if column < MIN_COLUMN:
        out = [stacked_notice(width), ""]
        for title, code in blocks:
            out += [bold(title[:width]), "─" * min(width, len(title))]
            out += [render(row) for row in _block(code, width, colour)] + [""]
        return "\n".join(out).rstrip("\n")
    titles = GAP.join(bold(t[:column].ljust(column)) for t, _ in blocks)
    rule = "─┼─".join("─" * column for _ in blocks)
    bodies = [_block(code, column, colour) for _, code in blocks]
    rows = [GAP.join(render(cell or [], column) for cell in cells).rstrip()
            for cells in zip_longest(*bodies)]
    return "\n".join([titles.rstrip(), rule, *rows])
