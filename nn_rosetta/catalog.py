"""Every registered concept with its three translations, grouped for reading.

Everything here is derived from ``reference.registry.CONCEPTS`` and the packages' source:
a concept added to the registry (with its mirrors) appears in the docs and the CLI with
no edit here. ``GROUPS`` only gives known modules a page title; a module it does not
know gets a page named after the module. ``OUTSIDE_REGISTRY`` adds the concepts whose
parity needs several processes (data parallelism): the registry's per-case parity cannot
hold them, so their own test file does, and their page is written by ``docs/parallel.py``.

For each concept:

* the math: the spec's docstring, and those of its hand-written derivative, vector-Jacobian
  product or gradient (``<name>_derivative``, ``<name>_vjp``, ``<name>_gradient``);
* the code: the spec's definition with those companions, and each mirror's definition
  without its docstring (its decorator, the input check, shows; the check's body does
  not), each with the module-level helpers it uses;
* where the frameworks differ: the bullets of each mirror module's docstring that name
  the concept (````name````), or the whole docstring where the module holds this one
  concept. A module holding several concepts has the rest of its mirrors' docstrings
  (the paragraphs, and the bullets that name no concept: they apply to all) shown on the
  group's page, so that each bullet is shown once.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass

from nn_rosetta import docstrings
from nn_rosetta.sources import Definition, module_source
from reference import registry

SPEC = "reference"
MIRRORS = ("torch_impl", "tf_impl")
LABELS = {"reference": "NumPy", "torch_impl": "PyTorch", "tf_impl": "TensorFlow"}
COMPANIONS = ("derivative", "vjp", "gradient")

# module: (page, title). Modules sharing a page are read together.
GROUPS: dict[str, tuple[str, str]] = {
    "activations": ("activations", "Activations"),
    "layers": ("dense-layers-and-networks", "Dense layers and networks"),
    "networks": ("dense-layers-and-networks", "Dense layers and networks"),
    "losses": ("losses", "Losses"),
    "autodiff": ("backpropagation-and-autodiff", "Backpropagation and autodiff"),
    "perceptron": ("perceptron", "The perceptron"),
    "optimizers": ("gradient-descent-and-optimizers", "Gradient descent and optimizers"),
    "training": ("training-loops", "Training loops"),
    "convolution": ("convolution-and-pooling", "Convolution and pooling"),
    "initializers": ("initializers", "Weight initialisers"),
    "normalization": ("normalization", "Normalisation: BatchNorm and LayerNorm"),
    "schedules": ("training-knobs", "Training knobs: schedules and early stopping"),
    "callbacks": ("training-knobs", "Training knobs: schedules and early stopping"),
    "sequences": ("sequences-and-attention", "Sequences and attention"),
    "parallel": ("data-parallelism", "Data parallelism"),
    "graphs": ("graphs-and-merge-layers", "Graphs and merge layers"),
    "merging": ("graphs-and-merge-layers", "Graphs and merge layers"),
}


@dataclass(frozen=True)
class Outside:
    """A concept outside the registry: its definition's name in all three packages, its
    module, the name its parity records go under, and the test file that holds them."""

    name: str
    module: str
    parity: str
    summary: str
    tested_by: str


OUTSIDE_REGISTRY = (
    Outside("data_parallel_fit", "parallel", "data parallelism",
            "Data parallelism: full-batch training with each step split over W replicas "
            "(torch's DistributedDataParallel, TensorFlow's MirroredStrategy).",
            "parity_tests/test_data_parallel.py"),
)


@dataclass(frozen=True)
class Implementation:
    """A concept's code in one package."""

    package: str
    relpath: str
    definitions: tuple[Definition, ...]  # the concept, then the spec's companions
    helpers: tuple[Definition, ...]

    @property
    def label(self) -> str:
        return LABELS[self.package]

    @property
    def code(self) -> str:
        """The definitions as written; a mirror's without docstrings, so that its column is
        the code a framework user writes (the math is the spec's, and the conventions are
        the mirror module's, both shown beside it)."""
        return "\n\n\n".join(d.source if self.package == SPEC else d.bare
                              for d in self.definitions)

    @property
    def shown(self) -> str:
        """The code as the docs show it: the spec's without the docstrings of its
        definitions, which the docs render as the concept's math above it (so each is
        shown once); a mirror's as written."""
        if self.package != SPEC:
            return self.code
        return "\n\n\n".join(_without_docstring(d.source) for d in self.definitions)

    @property
    def helpers_shown(self) -> str:
        """The helpers' code; a helper that is a concept itself without its docstrings,
        which its own section shows."""
        concepts = {c.name for c in registry.CONCEPTS}
        return "\n\n\n".join(h.bare if h.name in concepts else h.source for h in self.helpers)


def _without_docstring(source: str) -> str:
    """A definition's source less its own docstring (its methods keep theirs)."""
    tree = ast.parse(textwrap.dedent(source))
    node = next((n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)), None)
    if node is None or ast.get_docstring(node) is None:
        return source
    first, last = node.body[0].lineno, node.body[0].end_lineno
    return "\n".join(x for k, x in enumerate(source.splitlines(), 1) if not first <= k <= last)


@dataclass(frozen=True)
class Translation:
    """One concept in the three packages."""

    concept: registry.Concept
    page: str
    math: tuple[tuple[str, str], ...]  # (name, docstring) of the spec's definitions
    implementations: tuple[Implementation | None, ...]  # spec, torch, tf; None: missing
    differences: tuple[tuple[str, str], ...]  # (mirror package, docstring text)

    @property
    def name(self) -> str:
        return self.concept.name

    @property
    def parity(self) -> str:
        """The name the parity records of this concept go under."""
        return parity_name(self.name)

    @property
    def registered(self) -> bool:
        return self.name not in _OUTSIDE

    @property
    def summary(self) -> str:
        """The first paragraph of the spec's docstring (the registry keeps its first line)."""
        first = docstrings.blocks(self.math[0][1])[0] if self.math else None
        return first.text if first is not None and first.kind == "p" else self.concept.summary


@dataclass(frozen=True)
class Group:
    """A page: one or more spec modules and their concepts."""

    page: str
    title: str
    modules: tuple[str, ...]
    intro: tuple[str, ...]  # the spec modules' docstrings
    conventions: tuple[tuple[str, str], ...]  # (mirror package, module docstring)
    translations: tuple[Translation, ...]

    @property
    def registered(self) -> bool:
        """Whether the group's page is written from the registry (``docs/markdown.py``);
        a group of concepts outside it has a page of its own."""
        return all(t.registered for t in self.translations)


_OUTSIDE = {o.name: o for o in OUTSIDE_REGISTRY}


def parity_name(concept: str) -> str:
    """The name a concept's parity records go under: its own, unless it is outside the
    registry ("data parallelism")."""
    if not isinstance(concept, str):  # an array: "unhashable type: 'numpy.ndarray'"
        raise TypeError(f"parity_name: concept must be a concept's name (a str), got "
                        f"{type(concept).__name__} {concept!r:.60}")
    return _OUTSIDE[concept].parity if concept in _OUTSIDE else concept


def concepts() -> tuple[registry.Concept, ...]:
    """Every concept the catalog shows: the registry's, then those outside it (which
    have no cases)."""
    return registry.CONCEPTS + tuple(
        registry.Concept(name=o.name, module=o.module, summary=o.summary, notes=(), cases=())
        for o in OUTSIDE_REGISTRY)


def _in(module: str) -> tuple[registry.Concept, ...]:
    return tuple(c for c in concepts() if c.module == module)


def page_of(module: str) -> tuple[str, str]:
    if not isinstance(module, str) or not module:  # "'int' object has no attribute 'replace'"
        raise TypeError(f"page_of: module must be a module's name (a non-empty str), got "
                        f"{type(module).__name__} {module!r:.60}")
    return GROUPS.get(module, (module.replace("_", "-"), module.replace("_", " ").capitalize()))


def _implementation(package: str, concept: registry.Concept) -> Implementation | None:
    source = module_source(package, concept.module)
    if source is None or concept.name not in source:
        return None
    names = [concept.name]
    if package == SPEC:
        names += [f"{concept.name}_{c}" for c in COMPANIONS if f"{concept.name}_{c}" in source]
    return Implementation(package, source.relpath, tuple(source.definition(n) for n in names),
                          tuple(source.helpers(names)))


def _differences(concept: registry.Concept, siblings: list[str]) -> tuple[tuple[str, str], ...]:
    found = []
    for package in MIRRORS:
        source = module_source(package, concept.module)
        if source is None:
            continue
        if siblings == [concept.name]:
            text = source.docstring
        else:
            text = "\n".join(f"* {b}" for b in docstrings.bullets_naming(source.docstring,
                                                                          concept.name))
        if text:
            found.append((package, text))
    return tuple(found)


def _general(docstring: str, names: list[str]) -> str:
    """A mirror module's docstring less the bullets that name one of its concepts: those
    are shown under their concept, so each is shown once."""
    out = []
    for block in docstrings.blocks(docstring):
        if block.kind == "ul":
            items = [i for i in block.items if not any(f"``{n}``" in i for n in names)]
            if items:
                out.append("\n".join(f"* {i}" for i in items))
        else:
            out.append(block.text)
    return "\n\n".join(out)


def translate(concept: registry.Concept) -> Translation:
    """The concept's math, code and framework differences, read from the source."""
    if not isinstance(concept, registry.Concept):  # "'str' object has no attribute 'module'"
        raise TypeError(f"translate: concept must be a registry.Concept (find(name) takes a "
                        f"name), got {type(concept).__name__} {concept!r:.60}")
    siblings = [c.name for c in _in(concept.module)]
    spec = _implementation(SPEC, concept)
    math = tuple((d.name, d.docstring) for d in spec.definitions if d.docstring) if spec else ()
    return Translation(concept, page_of(concept.module)[0], math,
                       tuple(_implementation(p, concept) for p in (SPEC, *MIRRORS)),
                       _differences(concept, siblings))


def groups() -> tuple[Group, ...]:
    """The pages, in the order their modules first appear in the registry."""
    modules = list(dict.fromkeys(c.module for c in concepts()))
    pages = list(dict.fromkeys(page_of(m) for m in modules))
    found = []
    for page, title in pages:
        mine = [m for m in modules if page_of(m)[0] == page]
        intro, conventions = [], []
        for module in mine:
            spec = module_source(SPEC, module)
            if spec is not None and spec.docstring:
                intro.append(spec.docstring)
            if len(_in(module)) == 1:
                continue  # the mirrors' module docstrings go to that one concept
            names = [c.name for c in _in(module)]
            for package in MIRRORS:
                source = module_source(package, module)
                general = _general(source.docstring, names) if source is not None else ""
                if general:
                    conventions.append((package, general))
        translations = tuple(translate(c) for m in mine for c in _in(m))
        found.append(Group(page, title, tuple(mine), tuple(intro), tuple(conventions),
                           translations))
    return tuple(found)


def find(name: str) -> Translation:
    """The translation of the concept called ``name`` (KeyError if none)."""
    if not isinstance(name, str):  # an array: NumPy's "truth value ... is ambiguous"
        raise TypeError(f"catalog.find: name must be a str, got {type(name).__name__} "
                        f"{name!r:.60}")
    found = [c for c in concepts() if c.name == name]
    if not found:
        raise KeyError(f"no concept {name!r}")
    return translate(found[0])
