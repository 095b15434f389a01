"""The data-parallelism page shows both loops as written, and the cheat-sheet rows."""

from __future__ import annotations

import pytest

from docs import build, parallel
from nn_rosetta.sources import module_source


@pytest.fixture(scope="module")
def page() -> str:
    return build.committed(build.collect(build.snapshot()))[build.DOCS / f"{parallel.PAGE}.md"]


@pytest.mark.parametrize("package", ["torch_impl", "tf_impl"])
def test_the_page_shows_each_loop_as_written(page, package) -> None:
    source = module_source(package, "parallel")
    assert "data_parallel_fit" in parallel.shown(package)
    for name in parallel.shown(package):
        assert source.definition(name).bare in page, f"{package}: {name} not shown"


def test_the_page_says_how_to_run_across_machines_and_lists_the_cheat_sheet(page) -> None:
    for word in ("MASTER_ADDR", "TF_CONFIG", "torchrun", "MultiWorkerMirroredStrategy"):
        assert word in page
    for what, torch, tf in parallel.CHEAT_SHEET:
        assert f"| {what} | {torch} | {tf} |" in page


def test_the_page_lists_every_test_of_the_parity_file(page) -> None:
    names = [name for name, _ in parallel._tests()]
    assert names and all(f"- `{name}`" in page for name in names)


def test_the_readme_links_the_page() -> None:
    assert f"(docs/{parallel.PAGE}.md)" in build.README.read_text(encoding="utf-8")
