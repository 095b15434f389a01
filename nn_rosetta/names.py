"""What a word means, to ``nn-rosetta show``, ``nn-rosetta cheatsheet`` and the HTML page's
search box alike: one alias table, generated from the code.

Every name is compared by its :func:`key`: the last part of a dotted name or a path, lower
case, without its call, ``_`` or a trailing ``Loss`` (``nn.BCELoss()``, ``BCELoss`` and
``bce_loss`` are one key). The table has four tiers; the first that knows a key decides
what it means:

1. the concepts' own names (in ``nn_rosetta.catalog``: the registry's and data parallelism),
   their initials (``bce``, ``BN``, ``MHA``), the name their parity records go under
   (``data parallelism``) and their module's name, which is every package's module path
   (``torch_impl/parallel.py``, ``reference.losses``);
2. the cheat-sheet's names (``nn_rosetta/cheatsheet.py``): each alternative of a row's Keras
   and PyTorch cells, without a dimension suffix too (``BatchNorm1d`` → ``BatchNorm``), and
   its initials (``MultiHeadAttention`` → ``MHA``);
3. the framework names each mirror's code uses (``DistributedDataParallel``, ``nn.Linear``)
   and those its docstring names for the concept (``tf.distribute.MirroredStrategy``),
   with their initials (``DDP``);
4. the keyword arguments of the cheat-sheet's calls (``clipnorm``, ``weight_decay``) and the
   last word of every name above (``MultiHeadAttention`` → ``attention``).

A key that names one concept in its tier means that concept, with its cheat-sheet rows and
the rows that name the key (in tier 2 or its own); one naming several concepts, or rows
only, means those rows; one naming neither leaves it to the next tier. A word no tier
decides means the rows whose text contains it.
A concept or row added to either table, or a framework name a mirror starts to use, is
found with no edit here. Tiers 1 and 2 are cheap; tier 3 reads every mirror's code, so
the tiers are built when first asked for.
"""

from __future__ import annotations

import ast
import difflib
import functools
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

from nn_rosetta import catalog
from nn_rosetta.cheatsheet import ROWS, Row
from nn_rosetta.sources import module_source

FRAMEWORKS = ("torch", "tensorflow", "keras")  # the modules whose names tier 3 collects


def _check_word(where: str, word: object) -> None:
    if not isinstance(word, str):  # "'int' object has no attribute 'strip'"
        raise TypeError(f"{where}: word must be a str, got {type(word).__name__} "
                        f"{word!r:.60}")


def key(word: str) -> str:
    """A name as the table compares it: ``torch.nn.BCELoss()`` → ``bce``."""
    word = word.strip().lower().split("(", 1)[0].replace("/", ".").removesuffix(".py")
    word = word.rstrip(".").rsplit(".", 1)[-1]
    word = re.sub(r"[^a-z0-9]", "", word)
    return word[:-4] if word.endswith("loss") and len(word) > 4 else word


def initials(name: str) -> str:
    """``binary_cross_entropy`` → ``bce``, ``MultiHeadAttention`` → ``mha``,
    ``CrossEntropyLoss`` → ``ce``; "" for a name of one word."""
    name = name.split("(", 1)[0].rsplit(".", 1)[-1].strip()
    if "_" in name.strip("_"):
        parts = [p for p in name.split("_") if p]
        return "".join(p[0] for p in parts).lower() if len(parts) > 1 else ""
    words = re.findall(r"[A-Z][a-z]+", name)
    if words[-1:] == ["Loss"]:
        words = words[:-1]
    whole = "".join(re.findall(r"[A-Z][a-z]+", name)) == re.sub(r"\d+[dD]?$", "", name)
    return "".join(w[0] for w in words).lower() if len(words) > 1 and whole else ""


def last_word(name: str) -> str:
    """``MultiHeadAttention`` → ``attention``, ``dot_product_attention`` → ``attention``."""
    name = re.sub(r"\d+[dD]?$", "", name.split("(", 1)[0].rsplit(".", 1)[-1].strip("_ "))
    words = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", name)
    return words[-1] if len(words) > 1 else ""


def _undimensioned(name: str) -> str:
    """``nn.BatchNorm1d(features)`` → ``BatchNorm``; "" where there is no dimension suffix."""
    head = name.split("(", 1)[0].rsplit(".", 1)[-1].strip()
    bare = re.sub(r"\d[dD]$", "", head)
    return bare if bare != head else ""


@dataclass
class Meaning:
    """What a key means in one tier."""

    concepts: set[str]
    rows: list[Row]


Tier = dict[str, Meaning]


def _add(tier: Tier, name: str, concept: str | None = None, row: Row | None = None) -> None:
    k = key(name)
    if not k:
        return
    meaning = tier.setdefault(k, Meaning(set(), []))
    if concept:
        meaning.concepts.add(concept)
    if row is not None and row not in meaning.rows:
        meaning.rows.append(row)


@functools.cache
def _imported(package: str, module: str) -> frozenset[str]:
    """The names ``package/module.py`` binds to framework modules and their members."""
    found = set()
    for node in ast.walk(ast.parse("\n".join(module_source(package, module).lines))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            origin = getattr(node, "module", None) or ""
            for alias in node.names:
                if (origin or alias.name).split(".")[0] in FRAMEWORKS:
                    found.add(alias.asname or alias.name.split(".")[0])
    return frozenset(found)


def _framework_names(package: str, module: str, code: str) -> set[str]:
    """The framework names ``code`` (from ``package/module.py``) uses, as written:
    ``nn.Linear``, ``keras.layers.Dense``, ``DistributedDataParallel``."""
    imported = _imported(package, module)
    tree = ast.parse(textwrap.dedent(code))
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in inner:
            continue  # a part of a longer name: keras.layers of keras.layers.Dense
        chain, part = [], node
        while isinstance(part, ast.Attribute):
            chain.append(part.attr)
            part = part.value
        if isinstance(part, ast.Name) and part.id in imported:
            found.add(".".join([part.id, *reversed(chain)]))
    return found


def _docstring_names(text: str) -> set[str]:
    """The framework names a docstring writes as literals: ````tf.distribute.X````."""
    return set(re.findall(r"``((?:torch|nn|F|tf|keras)\.[\w.]+)``", text))


@functools.cache
def _own() -> Tier:
    own: Tier = {}
    for c in catalog.concepts():
        for name in (c.name, initials(c.name), catalog.parity_name(c.name)):
            _add(own, name, c.name)
    named = {key(c.name) for c in catalog.concepts()}
    for c in catalog.concepts():  # a module's name, unless a concept has it (Normalization)
        if key(c.module) not in named:
            _add(own, c.module, c.name)
    return own


@functools.cache
def _sheet() -> Tier:
    concepts = {c.name for c in catalog.concepts()}
    sheet: Tier = {}
    for row in ROWS:
        for name in row.names:
            for alias in (name, _undimensioned(name), initials(name)):
                _add(sheet, alias, row.spec if row.spec in concepts else None, row)
    return sheet


@functools.cache
def _code() -> tuple[Tier, dict[str, set[str]]]:
    """Tier 3, and the framework names each concept's mirrors use."""
    code: Tier = {}
    used: dict[str, set[str]] = {}
    for t in map(catalog.translate, catalog.concepts()):
        names = used.setdefault(t.name, set())
        for impl in t.implementations[1:]:
            if impl is not None:
                for definition in (*impl.definitions, *impl.helpers):  # each alone: a
                    # translation row is an indented item of its table
                    names |= _framework_names(impl.package, t.concept.module,
                                              definition.source)
        for _, text in t.differences:
            names |= _docstring_names(text)
        for name in names:
            for alias in (name, initials(name)):
                _add(code, alias, t.name)
    return code, used


@functools.cache
def _words() -> Tier:
    concepts = {c.name for c in catalog.concepts()}
    words: Tier = {}
    for concept, names in _code()[1].items():
        for name in names:
            _add(words, last_word(name), concept)
    for row in ROWS:
        concept = row.spec if row.spec in concepts else None
        for name in row.names:
            _add(words, last_word(name), concept, row)
        for argument in re.findall(r"(\w+)=", f"{row.keras} {row.torch}"):
            _add(words, argument, concept, row)
    return words


def tiers() -> Iterator[Tier]:
    """The four tiers in order, each built when first asked for (tier 3 reads every
    mirror's code)."""
    yield _own()
    yield _sheet()
    yield _code()[0]
    yield _words()


@dataclass(frozen=True)
class Found:
    concept: str | None  # the one concept the word means, if one
    rows: tuple[Row, ...]  # the cheat-sheet rows it means (the concept's included)
    concepts: tuple[str, ...]  # every concept the word names (several: it names none alone)


def _decided(k: str) -> tuple[Found | None, tuple[str, ...]]:
    """What the first tier that decides a key says (None: no tier decides), and the
    concepts the first tier that knows it names."""
    named: tuple[str, ...] = ()
    sheet = _sheet().get(k, Meaning(set(), []))
    for tier in tiers():
        meaning = tier.get(k)
        if meaning is None:
            continue
        named = named or tuple(sorted(meaning.concepts))
        concept = next(iter(meaning.concepts)) if len(meaning.concepts) == 1 else None
        rows = [r for r in ROWS if r in meaning.rows or r in sheet.rows
                or (concept and r.spec == concept)]
        if concept or rows:
            return Found(concept, tuple(rows), tuple(sorted(meaning.concepts))), named
    return None, named


def lookup(word: str) -> Found:
    """What ``word`` means: ``nn-rosetta show`` shows the concept, or else the rows;
    ``nn-rosetta cheatsheet`` shows the rows."""
    _check_word("lookup", word)
    found, named = _decided(key(word))
    if found is not None and found.concept is None and word.strip() in found.concepts:
        # a concept's own name, as written, decides between those that differ only in
        # case and underscores: relu (the function), ReLU (the layer)
        concept = word.strip()
        rows = tuple(r for r in found.rows if r.spec == concept) or found.rows
        return Found(concept, rows, found.concepts)
    if found is not None:
        return found
    text = word.strip().lower()
    rows = [r for r in ROWS if text and text in f"{r.keras} {r.torch} {r.spec}".lower()]
    return Found(None, tuple(rows), named)


def aliases() -> dict[str, list[str]]:
    """Every key a tier decides, and what it leads to on the HTML page: the concept's
    section, or the cheat-sheet rows (``sheet-<n>``, counted from 1)."""
    out: dict[str, list[str]] = {}
    for k in dict.fromkeys(k for tier in tiers() for k in tier):
        found, _ = _decided(k)
        if found is not None:
            out[k] = [found.concept] if found.concept else [
                f"sheet-{ROWS.index(r) + 1}" for r in found.rows]
    return out


def suggestions(word: str, n: int = 3) -> list[str]:
    """The likeliest meanings of a word that means nothing, best first: a concept or name
    that starts with it or contains it, then the closest spellings."""
    _check_word("suggestions", word)
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"suggestions: n must be an integer ≥ 0, got {n!r:.60}")
    k = key(word)
    scores: dict[str, float] = {}
    for rank, tier in enumerate(tiers()):
        for candidate, meaning in tier.items():
            score = difflib.SequenceMatcher(None, k, candidate).ratio()
            if k and (candidate.startswith(k) or k in candidate):
                score += 1.0
            # a concept is suggested by its name; rows without one by their Keras name
            labels = meaning.concepts or {r.keras.split(" / ")[0] for r in meaning.rows}
            for label in labels:
                bonus = 0.05 * (3 - rank) / 3
                scores[label] = max(scores.get(label, 0.0), score + bonus)
    ranked = sorted((-s, label) for label, s in scores.items() if s >= 0.65)
    return [label for _, label in ranked[:n]]
