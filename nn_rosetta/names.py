"""What a word typed at the CLI means: a registered concept, or rows of the cheat-sheet.

Derived, not listed: every concept of ``reference.registry`` answers to its name in any
case, without underscores, and to its initials (``bce``, ``mse``); every name in the
cheat-sheet (``nn.Linear``, ``BCELoss``, ``keras.layers.Dense``, ``BinaryCrossentropy``)
answers for the row, and for the row's concept when the spec has one. A concept or row
added to either table is found with no edit here.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from nn_rosetta.cheatsheet import ROWS, Row
from reference import registry

_PREFIXES = ("tf.keras.", "keras.", "tf.nn.", "tf.", "torch.nn.functional.", "torch.nn.",
             "torch.", "nn.functional.", "nn.", "f.", "layers.", "losses.", "activations.",
             "optimizers.", "optim.", "initializers.", "init.", "functional.", "utils.",
             "callbacks.", "metrics.")


def key(word: str) -> str:
    """A name as the index compares it: lower case, no call, module, ``_`` or ``Loss``."""
    word = word.strip().lower().split("(", 1)[0]
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if word.startswith(prefix):
                word, changed = word[len(prefix):], True
    word = re.sub(r"[^a-z0-9]", "", word)
    return word[:-4] if word.endswith("loss") and len(word) > 4 else word


def initials(name: str) -> str:
    parts = name.split("_")
    return "".join(p[0] for p in parts).lower() if len(parts) > 1 else ""


@dataclass(frozen=True)
class Found:
    concept: str | None  # the registered concept the word means, if one
    rows: tuple[Row, ...]  # the cheat-sheet rows it names


def _index() -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, list[Row]]]:
    """(concept keys, cheat-sheet keys → concepts, keys → rows)."""
    names = {c.name for c in registry.CONCEPTS}
    own: dict[str, set[str]] = {}
    for c in registry.CONCEPTS:
        for k in filter(None, (key(c.name), initials(c.name))):
            own.setdefault(k, set()).add(c.name)
    sheet: dict[str, set[str]] = {}
    rows: dict[str, list[Row]] = {}
    for row in ROWS:
        for name in row.names:
            k = key(name)
            if not k:
                continue
            rows.setdefault(k, []).append(row)
            if row.spec in names:
                sheet.setdefault(k, set()).add(row.spec)
    return own, sheet, rows


def resolve(word: str) -> Found:
    """The concept a word means (its own name first, then the cheat-sheet's names)."""
    own, sheet, rows = _index()
    k = key(word)
    for table in (own, sheet):
        if len(table.get(k, ())) == 1:
            return Found(next(iter(table[k])), tuple(rows.get(k, ())))
    return Found(None, tuple(rows.get(k, ())))


def suggestions(word: str, n: int = 3) -> list[str]:
    """The likeliest meanings of a word that resolves to nothing, best first: a concept or
    name that starts with it or contains it, then the closest spellings."""
    own, sheet, rows = _index()
    k = key(word)
    scores: dict[str, float] = {}
    concepts = {c.name for c in registry.CONCEPTS}
    for table, is_row in ((own, False), (sheet, False), (rows, True)):
        for candidate, targets in table.items():
            score = difflib.SequenceMatcher(None, k, candidate).ratio()
            if k and (candidate.startswith(k) or k in candidate):
                score += 1.0
            # a row with a concept is suggested as its concept; the others by their Keras name
            labels = ({r.keras.split(" / ")[0] for r in targets if r.spec not in concepts}
                      if is_row else set(targets))
            for label in labels:
                scores[label] = max(scores.get(label, 0.0), score + (0 if is_row else 0.05))
    ranked = sorted((s, label) for label, s in scores.items() if s >= 0.65)
    return [label for _, label in sorted(ranked, key=lambda x: (-x[0], x[1]))[:n]]
