"""Coverage by construction: every registered concept has both mirrors and a parity case."""

from __future__ import annotations

import importlib

import pytest

from reference import registry

MIRRORS = ("torch_impl", "tf_impl")


@pytest.mark.parametrize("concept", registry.CONCEPTS, ids=lambda c: c.name)
@pytest.mark.parametrize("mirror", MIRRORS)
def test_concept_has_a_mirror_of_the_same_name(concept: registry.Concept, mirror: str) -> None:
    """A function or class of the same name; for torch, a layer kind's mirror is its row of
    the translation table, filled by the concept file of the same name (the modules are
    torch's own, ``nn.Linear`` …)."""
    module = importlib.import_module(f"{mirror}.{concept.module}")
    rows = {row.kind for row in getattr(module, "TRANSLATIONS", ())}
    assert callable(getattr(module, concept.name, None)) or concept.name in rows, (
        f"{mirror}/{concept.module}.py has no {concept.name}: add the mirror of "
        f"reference/{concept.module}.py's {concept.name}")


@pytest.mark.parametrize("concept", registry.CONCEPTS, ids=lambda c: c.name)
def test_concept_has_a_parity_case(concept: registry.Concept) -> None:
    """test_parity.py runs every case of the registry; a concept without one is untested."""
    assert concept.cases, f"{concept.name} has no case in reference.registry"


def test_every_public_spec_function_is_registered() -> None:
    """A new activation or loss in the spec must enter the registry (and so the parity suite)."""
    from reference import activations, losses
    registered = {c.name for c in registry.CONCEPTS}
    assert set(activations.NAMES) <= registered
    assert set(losses.NAMES) <= registered


def test_every_concept_module_has_a_parity_runner() -> None:
    from parity_tests.test_parity import RUNNERS
    missing = {c.module for c in registry.CONCEPTS} - set(RUNNERS)
    assert not missing, f"no parity runner for spec modules {sorted(missing)}"
