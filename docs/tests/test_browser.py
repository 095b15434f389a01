"""The HTML page in a real browser (Debian's chromium, headless), wide and narrow.

The page is built here from the code and the committed parity snapshot, loaded from
file, measured with a script run in the page at 1400×900 and at 800×900, and
photographed at both widths: the screenshots go to ``build/docs/``. The search box is
typed into as a reader would. Without chromium this test fails (CI installs it; see
README.md).
"""

from __future__ import annotations

import base64
import json

import pytest

from docs import build
from docs.tests import chromium
from nn_rosetta import catalog, cheatsheet, names
from reference import registry

WIDTH, NARROW, HEIGHT = 1400, 800, 900
SHOTS = build.HTML.parent

PROBE = """(() => {
  const box = e => { const r = e.getBoundingClientRect();
                     return {left: r.left, right: r.right, top: r.top, width: r.width}; };
  const sections = [...document.querySelectorAll('section.concept')].map(s => ({
    id: s.id,
    columns: [...s.querySelectorAll(':scope > .columns > .column')].map(c => ({
      ...box(c), head: c.querySelector('.column-head span')?.textContent }))}));
  const links = [...document.querySelectorAll('nav a[href^="#"]')].map(a => a.hash.slice(1));
  return {
    viewport: innerWidth, scrollWidth: document.documentElement.scrollWidth,
    nav: box(document.querySelector('nav')), main: box(document.querySelector('main')),
    sections, brokenLinks: links.filter(id => id && !document.getElementById(id)),
    links: links.length,
    images: [...document.images].map(i => ({ok: i.complete && i.naturalWidth > 0, alt: i.alt})),
    order: [...document.querySelectorAll('main > section.group')].map(s => s.id),
    sheet: box(document.getElementById('cheatsheet')), height: innerHeight,
    literalStrong: (() => { const prose = document.querySelector('main').cloneNode(true);
                            prose.querySelectorAll('pre, code').forEach(e => e.remove());
                            return prose.textContent.includes('**'); })()};
})()"""


def _resize(browser, width: int) -> None:
    browser.page("Emulation.setDeviceMetricsOverride",
                 {"width": width, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
    browser.evaluate("window.scrollTo(0, 0)")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    executable = chromium.binary()
    if executable is None:
        pytest.fail("chromium is not installed, and the HTML page is checked in a real "
                    "browser: install Debian's chromium (apt-get install chromium) and run "
                    "again. CI's .ci/run installs it.", pytrace=False)
    page = build.page(build.collect(build.snapshot()))
    build.HTML.parent.mkdir(parents=True, exist_ok=True)
    build.HTML.write_text(page, encoding="utf-8")
    browser = chromium.Chromium(executable, tmp_path_factory.mktemp("chromium-profile"))
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.page(f"{domain}.enable")
        _resize(browser, WIDTH)
        browser.page("Page.navigate", {"url": build.HTML.as_uri()})
        browser.wait_for("Page.loadEventFired")
        yield browser
    finally:
        browser.close()


def _shoot(browser, name: str) -> None:
    shot = browser.page("Page.captureScreenshot", {"format": "png"})
    (SHOTS / name).write_bytes(base64.b64decode(shot["data"]))


def test_the_page_loads_without_console_errors_or_network_requests(browser) -> None:
    errors = [e["params"] for e in browser.events if e.get("method") in (
        "Runtime.exceptionThrown", "Runtime.consoleAPICalled", "Log.entryAdded")
        and (e["method"] == "Runtime.exceptionThrown"
             or e["params"].get("type") in ("error", "assert", "warning")
             or e["params"].get("entry", {}).get("level") in ("error", "warning"))]
    assert not errors, json.dumps(errors, indent=1)[:3000]
    requested = {e["params"]["request"]["url"].split(":", 1)[0] for e in browser.events
                 if e.get("method") == "Network.requestWillBeSent"}
    assert requested <= {"file", "data"}, f"the page asked the network for: {requested}"


def test_numpy_pytorch_and_tensorflow_stand_side_by_side_at_laptop_width(browser) -> None:
    _resize(browser, WIDTH)
    found = browser.evaluate(PROBE)
    _shoot(browser, f"screenshot-{WIDTH}.png")
    assert found["viewport"] == WIDTH
    assert found["scrollWidth"] <= WIDTH, "the page scrolls sideways"
    assert found["nav"]["right"] <= found["main"]["left"], "the concept list covers the page"
    assert {s["id"] for s in found["sections"]} == {c.name for c in catalog.concepts()}
    for section in found["sections"]:
        numpy, torch, tf = section["columns"]
        assert [c["head"] for c in section["columns"]] == ["NumPy", "PyTorch", "TensorFlow"]
        assert numpy["top"] == torch["top"] == tf["top"], section["id"]
        assert numpy["right"] <= torch["left"] and torch["right"] <= tf["left"], section["id"]
        assert tf["right"] <= WIDTH and min(c["width"] for c in section["columns"]) >= 300


def test_every_navigation_link_and_figure_works(browser) -> None:
    _resize(browser, WIDTH)
    found = browser.evaluate(PROBE)
    assert found["links"] > len(registry.CONCEPTS) and not found["brokenLinks"]
    assert found["images"] and all(image["ok"] for image in found["images"]), found["images"]
    browser.evaluate("document.getElementById('sigmoid').scrollIntoView()")
    _shoot(browser, "screenshot-sigmoid.png")


def test_the_cheatsheet_then_the_bridge_come_first_and_markup_is_rendered(browser) -> None:
    _resize(browser, WIDTH)
    found = browser.evaluate(PROBE)
    assert found["order"][:2] == ["cheatsheet", "bridge"]
    assert found["order"][-1] == "notes"
    assert found["sheet"]["top"] < found["height"], "the cheat-sheet starts below the first screen"
    assert not found["literalStrong"], "literal ** on the page"
    first = browser.evaluate("document.querySelector('nav > ul a').hash")
    assert first == "#cheatsheet"


def test_at_800_px_the_concept_list_takes_less_than_half_the_first_screen(browser) -> None:
    _resize(browser, NARROW)
    found = browser.evaluate(PROBE)
    _shoot(browser, f"screenshot-{NARROW}.png")
    assert found["viewport"] == NARROW and found["scrollWidth"] <= NARROW
    nav = browser.evaluate("document.querySelector('nav').getBoundingClientRect().height")
    assert nav < found["height"] / 2, f"the list is {nav} px of {found['height']}"
    assert found["sheet"]["top"] < found["height"], "the cheat-sheet is not on the first screen"
    for section in found["sections"]:  # one column under another, each the page's width
        assert all(c["right"] <= NARROW for c in section["columns"]), section["id"]


TYPE = """(() => {
  const box = document.getElementById('search');
  box.focus(); box.value = %s; box.dispatchEvent(new Event('input'));
  return [...document.querySelectorAll('#results a')].map(a => [a.textContent, a.hash]);
})()"""


@pytest.mark.parametrize("width", [WIDTH, NARROW])
def test_the_search_box_finds_keras_torch_and_spec_names_offline(browser, width) -> None:
    _resize(browser, width)
    results = browser.evaluate(TYPE % json.dumps("BCELoss"))
    # the concept first, as `nn-rosetta show BCELoss`, then its cheat-sheet row
    assert results[0] == ["binary_cross_entropy", "#binary_cross_entropy"], results
    assert results[1][0].startswith("keras.losses.BinaryCrossentropy()"), results
    assert ["binary_cross_entropy", "#binary_cross_entropy"] in browser.evaluate(
        TYPE % json.dumps("binary cross"))
    assert browser.evaluate(TYPE % json.dumps("no such thing anywhere")) == []
    browser.evaluate(TYPE % json.dumps("adam"))
    browser.page("Input.dispatchKeyEvent", {"type": "keyDown", "key": "Enter", "code": "Enter",
                                            "windowsVirtualKeyCode": 13})
    hash_, top = browser.evaluate("[location.hash, document.getElementById("
                                  "location.hash.slice(1))?.getBoundingClientRect().top]")
    assert hash_ and top is not None and 0 <= top < HEIGHT, (hash_, top)
    _shoot(browser, f"screenshot-search-{width}.png")
    browser.evaluate(TYPE % json.dumps(""))


def test_the_search_box_reads_every_name_as_the_cli_does(browser) -> None:
    """Issue 23: the names `nn-rosetta show` resolves lead the search's results to the same
    concept (or cheat-sheet row): every name of the cheat-sheet, every concept, and the
    abbreviations."""
    words = {n for row in cheatsheet.ROWS for n in row.names} | {
        c.name for c in catalog.concepts()} | {
        "BatchNorm", "BN", "DDP", "MHA", "clipnorm", "weight_decay", "attention",
        "DistributedDataParallel", "MirroredStrategy", "data parallelism", "CrossEntropyLoss"}
    expected = {}
    for word in sorted(words):
        found = names.lookup(word)
        if names.key(word) in names.aliases():  # a name, not a search for text
            expected[word] = found.concept or f"sheet-{cheatsheet.ROWS.index(found.rows[0]) + 1}"
    first = browser.evaluate(
        "(words => { const index = JSON.parse(document.getElementById('search-index')"
        ".textContent); return Object.fromEntries(words.map(w => [w, searchFind(index, w)[0]"
        f"?.[1]])); }})({json.dumps(sorted(expected))})")
    assert {w: first[w] for w in expected} == expected
    assert expected["DDP"] == "data_parallel_fit" and expected["BN"] == "BatchNormalization"
