"""Every registered concept with its three translations, grouped for reading.

Everything here is derived from ``reference.registry.CONCEPTS`` and the packages' source:
a concept added to the registry (with its mirrors) appears in the docs and the CLI with
no edit here. ``GROUPS`` only gives known modules a page title; a module it does not
know gets a page named after the module.

For each concept:

* the math: the spec's docstring, and those of its hand-written derivative, vector-Jacobian
  product or gradient (``<name>_derivative``, ``<name>_vjp``, ``<name>_gradient``);
* the code: the spec's definition with those companions, and each mirror's definition,
  each with the module-level helpers it uses;
* where the frameworks differ: the bullets of each mirror module's docstring that name
  the concept (````name````), or the whole docstring where the module holds this one
  concept. A module holding several concepts has its mirrors' docstrings shown whole on
  the group's page, where the bullets that name no concept (they apply to all) are read.
"""

from __future__ import annotations

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
    "initializers": ("initializers", "Weight initialisers"),
    "normalization": ("normalization", "Normalisation: BatchNorm and LayerNorm"),
    "schedules": ("training-knobs", "Training knobs: schedules and early stopping"),
    "callbacks": ("training-knobs", "Training knobs: schedules and early stopping"),
}


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
        return "\n\n\n".join(d.source for d in self.definitions)


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


def page_of(module: str) -> tuple[str, str]:
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


def translate(concept: registry.Concept) -> Translation:
    """The concept's math, code and framework differences, read from the source."""
    siblings = [c.name for c in registry.concepts(concept.module)]
    spec = _implementation(SPEC, concept)
    math = tuple((d.name, d.docstring) for d in spec.definitions if d.docstring) if spec else ()
    return Translation(concept, page_of(concept.module)[0], math,
                       tuple(_implementation(p, concept) for p in (SPEC, *MIRRORS)),
                       _differences(concept, siblings))


def groups() -> tuple[Group, ...]:
    """The pages, in the order their modules first appear in the registry."""
    modules = list(dict.fromkeys(c.module for c in registry.CONCEPTS))
    pages = list(dict.fromkeys(page_of(m) for m in modules))
    found = []
    for page, title in pages:
        mine = [m for m in modules if page_of(m)[0] == page]
        intro, conventions = [], []
        for module in mine:
            spec = module_source(SPEC, module)
            if spec is not None and spec.docstring:
                intro.append(spec.docstring)
            if len(registry.concepts(module)) == 1:
                continue  # the mirrors' module docstrings go to that one concept
            for package in MIRRORS:
                source = module_source(package, module)
                if source is not None and source.docstring:
                    conventions.append((package, source.docstring))
        translations = tuple(translate(c) for m in mine for c in registry.concepts(m))
        found.append(Group(page, title, tuple(mine), tuple(intro), tuple(conventions),
                           translations))
    return tuple(found)


def find(name: str) -> Translation:
    """The translation of the concept called ``name`` (KeyError if none)."""
    return translate(registry.concept(name))
