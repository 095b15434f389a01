"""The committed docs are what the code generates, and they say what the code and tests say."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from docs import build, figures, markdown
from nn_rosetta import catalog, cheatsheet, notes, parity
from parity_tests import test_bridge
from reference import registry


@pytest.fixture(scope="module")
def files() -> dict[Path, str]:
    return build.committed(build.collect(build.snapshot()))


def test_the_committed_docs_are_what_the_code_generates(files) -> None:
    stale = build.stale(files)
    assert not stale, ("the committed docs are stale; regenerate them with `nox -s docs` (or "
                       "`python -m docs.build --no-refresh` to keep the parity snapshot):\n  "
                       + "\n  ".join(stale))


def test_a_changed_or_orphaned_page_is_reported_stale(files, monkeypatch) -> None:
    changed = dict(files)
    changed[build.DOCS / "activations.md"] += "edited by hand\n"
    assert build.stale(changed) == ["docs/activations.md"]
    orphan = build.DOCS / "a-removed-group.md"
    monkeypatch.setattr(build, "_leftovers", lambda made: [orphan])
    assert build.stale(files) == ["docs/a-removed-group.md (no longer generated)"]


def test_the_pages_do_not_read_the_last_parity_run(monkeypatch) -> None:
    def refuse(*args):
        raise AssertionError("the committed pages read build/parity/report.json")
    monkeypatch.setattr(parity, "read_report", refuse)
    build.from_code.cache_clear()  # collect anew, under the refusal
    build.committed(build.collect(build.snapshot()))


def test_after_a_refresh_from_a_new_run_the_docs_check_clean(tmp_path, monkeypatch) -> None:
    shutil.copytree(build.DOCS, tmp_path / "docs", ignore=shutil.ignore_patterns("*.py"))
    shutil.copy(build.README, tmp_path / "README.md")
    record = {"concept": "relu", "case": "relu", "framework": "tf", "dtype": "float64",
              "batch": 1, "quantity": "output", "kind": "output", "error": 3.3e-16,
              "rtol": 1e-10, "atol": 1e-11, "passed": True}
    report = tmp_path / parity.REPORT
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({"versions": {"torch": "9", "numpy": "8"}, "records": [record]}))
    for name, value in (("ROOT", tmp_path), ("DOCS", tmp_path / "docs"),
                        ("README", tmp_path / "README.md"),
                        ("HTML", tmp_path / "build" / "docs" / "index.html")):
        monkeypatch.setattr(build, name, value)
    assert build.main([]) == 0
    assert build.main(["--check"]) == 0
    notes_column = " ".join(f"[{n}](notes.md#note-{n})" for n in ("000", "002", "003"))
    assert f"| [relu](#relu) | ReLU(z) = max(0, z). | {notes_column} | ✓ | ✓ |" in (
        tmp_path / "docs" / "activations.md").read_text()
    assert '"bound"' in (tmp_path / parity.SNAPSHOT).read_text()  # the run's 3.3e-16 dropped


def test_a_refresh_replaces_what_was_measured_and_keeps_the_rest(tmp_path) -> None:
    def cells(dtype, error):
        return {dtype: {"torch": {"output": parity.Cell(error, 1e-10, True)}}}
    old = parity.Summary({"sigmoid": cells("float64", 1e-16), "retired": cells("float64", 0.0)},
                         {"torch": "1"}, "old")
    new = parity.summarise(
        [{"concept": "sigmoid", "dtype": "float32", "framework": "torch", "kind": "output",
          "error": 1.26e-7, "rtol": 1e-5, "passed": True}], {"torch": "2"}, "new")
    merged = parity.merged(old, new, ["sigmoid"])
    assert merged.of("sigmoid") == {**cells("float64", 1e-16),
                                    "float32": {"torch": {"output": parity.Cell(1.3e-7, 1e-5,
                                                                                True)}}}
    assert "retired" not in merged.cells and merged.versions == {"torch": "2"}
    path = tmp_path / "parity-summary.json"  # and the snapshot's format round-trips
    path.write_text(merged.to_json())
    assert parity.read_snapshot(path).cells == merged.cells


@pytest.mark.parametrize("concept", registry.CONCEPTS, ids=lambda c: c.name)
def test_each_concept_is_shown_with_its_three_implementations_as_written(files, concept):
    t = catalog.translate(concept)
    page = files[build.DOCS / f"{t.page}.md"]
    assert f"\n## {concept.name}\n" in page
    for impl in t.implementations:
        assert markdown.fence(impl.shown) in page, f"{impl.relpath}: {concept.name} not shown"


def test_every_bridge_row_is_shown_with_the_code_its_test_runs(files) -> None:
    page = files[build.DOCS / "bridge.md"]
    assert page.count("\n## ") == len(test_bridge.ROWS)
    for row in test_bridge.ROWS:
        for side in (row.tensorflow, row.pytorch, row.numpy, *row.slips):
            assert f"def {side.__name__}(" in page
        assert f"`test_the_three_sides_agree[{row.key}]`" in page
    assert "# idiom" not in page


def test_every_relative_link_and_anchor_resolves(files) -> None:
    headings = {path: {markdown.slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}
                for path, text in files.items() if path.suffix == ".md"}
    for path, text in files.items():
        if path.suffix != ".md":
            continue
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            assert linked.exists(), f"{path.name} links to missing {target}"
            if anchor and linked in headings:
                assert anchor in headings[linked], f"{path.name} links to missing #{anchor}"


def test_the_readmes_cheatsheet_is_a_short_top_of_one_row_per_section() -> None:
    top = markdown.readme_top()
    assert [r.section for r in top] == list(cheatsheet.SECTIONS)
    assert all(f"| {r.section} | {markdown.code_cell(r.keras)} |" in markdown.readme_cheatsheet()
               for r in top)
    assert len(markdown.readme_cheatsheet().splitlines()) <= len(cheatsheet.SECTIONS) + 4


def test_the_readme_shows_the_cheatsheet_and_links_every_page(files) -> None:
    readme = files[build.README]
    assert markdown.readme_cheatsheet() in readme  # the top; the whole table on its page
    assert markdown.sheet_table(cheatsheet.ROWS) in files[build.DOCS / "cheatsheet.md"]
    for group in catalog.groups():
        assert f"(docs/{group.page}.md)" in readme
    assert "(docs/bridge.md)" in readme and "(docs/README.md)" in readme
    assert "(docs/cheatsheet.md)" in readme and "(docs/notes.md)" in readme


def test_the_index_lists_data_parallelism_with_a_link_to_its_page(files) -> None:
    index = files[build.DOCS / "README.md"]
    assert "[Data parallelism](data-parallelism.md): data_parallel_fit" in index
    assert "| Data parallelism | [data_parallel_fit](data-parallelism.md) |" in index


def test_the_activation_figure_draws_each_elementwise_activation_reproducibly() -> None:
    (_, caption, svg), = figures.drawn("activations")
    assert figures.drawn("activations")[0][2] == svg
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    texts = set(re.findall(r"<text [^>]*>([^<]+)</text>", svg))
    names = {c.name for c in registry.concepts("activations")}
    assert texts & names == names - {"softmax"}
    assert "`softmax`" in caption


def test_no_figure_for_a_module_that_is_not_registered() -> None:
    assert figures.drawn("no_such_module") == []


def test_the_html_page_loads_nothing_from_outside() -> None:
    page = build.page(build.collect(build.snapshot()))
    assert not re.search(r"""src\s*=\s*["']?(https?:|//)""", page)
    # the only addresses outside are the notes' own links, which a reader may follow
    assert not re.search(r"""<(?!a )[^>]*href\s*=\s*["']?(https?:|//)""", page)
    assert "default-src 'none'" in page  # and the page's policy forbids it anyway
    assert page.count('<section class="concept"') == len(catalog.concepts())
    assert not re.search(r"<a [^>]*>(?:(?!</a>).)*<a ", page), "a link inside a link"


def _prose(text: str) -> str:
    """A Markdown page less its code (fenced and inline) and its headings."""
    text = re.sub(r"^```.*?^```$", "", text, flags=re.M | re.S)
    text = re.sub(r"`[^`\n]+`|<code>.*?</code>", "", text)
    return "\n".join(x for x in text.splitlines() if not x.startswith("#"))


def test_every_note_cited_in_the_docs_and_the_readme_links_to_the_notes_page(files) -> None:
    pages = {p: t for p, t in files.items() if p.suffix == ".md"}
    assert len(pages) > 5
    for path, text in pages.items():
        unlinked = notes.CITATION.findall(_prose(text))
        assert not unlinked, f"{path.name}: {unlinked[:3]} not linked"
        target = "docs/notes.md" if path == build.README else "notes.md"
        for number in re.findall(r"\[(\d{3})\]\(([^)#]+)#note-\d{3}\)", text):
            assert number[1] == target, (path.name, number)


def test_the_notes_page_names_each_note_with_its_source_and_links() -> None:
    page = markdown.notes_page()
    for note in notes.NOTES:
        assert f"\n## Note {note.number}\n" in page and note.source in page
        assert all(f"]({url})" in page for _, url in note.links)
    assert "MIT" in notes.find("000").source


def test_the_cheatsheet_page_is_the_table_with_a_test_or_a_reason_per_row(files) -> None:
    page = files[build.DOCS / "cheatsheet.md"]
    assert len(cheatsheet.ROWS) >= 40
    for row in cheatsheet.ROWS:
        cell = f"`test_{row.test}`" if row.test else f"no test: {markdown.prose(row.reason)}"
        assert f"| {cell} |" in page, row.keras
    for concept in {r.spec for r in cheatsheet.ROWS} & {c.name for c in registry.CONCEPTS}:
        assert f"[`{concept}`](" in page


def test_each_spec_docstring_is_shown_once_as_prose_not_again_in_the_code(files) -> None:
    page = files[build.DOCS / "activations.md"]
    spec = catalog.find("sigmoid").implementations[0]
    assert spec.definitions[0].docstring.splitlines()[0] not in spec.shown
    assert markdown.fence(spec.shown) in page
    assert page.count("Logistic sigmoid σ(z) = 1 / (1 + e^(−z)), in (0, 1).") == 2  # table, text


def test_strong_markup_is_rendered_not_escaped(files) -> None:
    page = files[build.DOCS / "backpropagation-and-autodiff.md"]
    assert "\\*\\*" not in page
    assert "**Jacobians.**" in page
    assert "<b>Jacobians.</b>" in build.page(build.collect(build.snapshot()))


def test_committed_pages_hold_no_measured_error(files) -> None:
    """Errors differ between machines; the committed pages keep only the verdict."""
    snapshot = json.loads((build.ROOT / parity.SNAPSHOT).read_text())
    assert all(row[4] in ("bound", None) for row in snapshot["cells"])
    for path, text in files.items():
        if path.suffix == ".md":
            assert not re.search(r"\d\.\de-\d\d ✓", text), path.name


def test_a_refresh_from_two_machines_runs_writes_the_same_snapshot() -> None:
    def run(error):
        return parity.summarise([{"concept": "dense", "dtype": "float32", "framework": "tf",
                                  "kind": "output", "error": error, "rtol": 1e-5,
                                  "passed": True}], {"torch": "2.13.0+cpu"}, "run")
    here, there = run(1.1e-7).bounded(), run(2.7e-7).bounded()
    assert here.to_json() == there.to_json()
    assert '"bound"' in here.to_json() and "2.13.0+cpu" not in here.to_json()


def test_the_losses_page_states_the_float32_bce_bound_as_the_spec_computes_it(files) -> None:
    import numpy as np

    from reference import losses
    one, zero = np.ones((1, 1), np.float32), np.zeros((1, 1), np.float32)
    assert round(losses.binary_cross_entropy(one, zero), 3) == 16.118  # p = 0, y = 1
    assert round(losses.binary_cross_entropy(zero, one), 2) == 15.94  # p = 1, y = 0
    page = " ".join(files[build.DOCS / "losses.md"].split())
    assert "In float32 that bound holds at p = 0 with y = 1 (16.118); at p = 1 with y = 0 it " \
           "is 15.94" in page


def test_the_license_is_an_spdx_string_that_setuptools_accepts() -> None:
    import tomllib
    pyproject = tomllib.loads((build.ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"
    assert "setuptools>=77" in pyproject["build-system"]["requires"][0]  # PEP 639 strings
