"""The HTML page's search box reads names with the CLI's alias table (nn_rosetta/names.py).

The search itself runs in a real browser in ``test_browser.py``; here, without one, the
index it reads: the table is the CLI's, and every name leads to an entry of the page.
"""

from __future__ import annotations

import pytest

from docs import bridge, html
from nn_rosetta import catalog, names


@pytest.fixture(scope="module")
def data() -> dict:
    return html.search_data(catalog.groups(), bridge.rows())


def test_the_search_reads_the_clis_alias_table(data) -> None:
    assert data["aliases"] == names.aliases()
    for word in ("DDP", "BN", "MHA", "clipnorm", "weight_decay", "attention"):
        assert data["aliases"][names.key(word)] == [names.lookup(word).concept]


def test_every_name_leads_to_an_entry_of_the_page(data) -> None:
    entries = {entry[1] for entry in data["entries"]}
    assert {target for targets in data["aliases"].values() for target in targets} <= entries


def test_every_concept_of_the_catalog_has_an_entry(data) -> None:
    entries = {entry[1] for entry in data["entries"]}
    assert {c.name for c in catalog.concepts()} <= entries
