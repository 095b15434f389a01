"""The project's docstrings, split into blocks that Markdown, HTML and the terminal render.

The docstrings are plain text with reST touches: paragraphs, ``*`` bullet lists,
``literal`` spans, ``:role:`target``` references, and indented or column-aligned blocks
(a ``Shape:`` section, note 002's four numbered equations) whose layout carries meaning
and is kept verbatim.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

_BULLET = re.compile(r"[*-] ")
_ALIGNED = re.compile(r"\S {2,}\S")
_ROLE = re.compile(r":\w+:`(~?)([^`]+)`")


@dataclass(frozen=True)
class Block:
    kind: str  # "p": a paragraph; "ul": a bullet list; "pre": keep the lines as they are
    text: str = ""
    items: tuple[str, ...] = ()


def _bullets(lines: list[str]) -> tuple[str, ...]:
    items: list[str] = []
    for line in lines:
        if _BULLET.match(line):
            items.append(line[2:].strip())
        else:
            items[-1] += " " + line.strip()
    return tuple(items)


def blocks(docstring: str) -> list[Block]:
    """Split a docstring into paragraphs, bullet lists and verbatim blocks."""
    found = []
    for chunk in re.split(r"\n[ \t]*\n", inspect.cleandoc(docstring)):
        lines = chunk.splitlines()
        if not lines:
            continue
        if _BULLET.match(lines[0]) and all(_BULLET.match(x) or x.startswith("  ") for x in lines):
            found.append(Block("ul", items=_bullets(lines)))
        elif (any(x.startswith(" ") for x in lines[1:]) or any(_ALIGNED.search(x) for x in lines)
              or re.match(r"\d+\. ", lines[0])):
            found.append(Block("pre", text=chunk))
        else:
            found.append(Block("p", text=" ".join(x.strip() for x in lines)))
    return found


def roles_to_literals(text: str) -> str:
    """``:class:`~a.b.C``` becomes ````C````, as Sphinx would show it."""
    return _ROLE.sub(lambda m: f"``{m[2].rsplit('.', 1)[-1] if m[1] else m[2]}``", text)


def plain(text: str) -> str:
    """Text with the reST markup taken out, for verbatim blocks and the terminal."""
    return roles_to_literals(text).replace("``", "")


def bullets_naming(docstring: str, name: str) -> list[str]:
    """The bullet items of ``docstring`` that name ``name`` as a literal (````name````)."""
    literal = f"``{name}``"
    return [item for block in blocks(docstring) if block.kind == "ul"
            for item in block.items if literal in item]
