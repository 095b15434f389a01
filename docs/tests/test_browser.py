"""The HTML page in a real browser (Debian's chromium, headless) at a laptop's 1366×768.

The page is built here from the code and the committed parity snapshot, loaded from
file, measured with a script run in the page, and photographed: the screenshots go to
``build/docs/``. Without chromium this test fails (CI installs it; see README.md).
"""

from __future__ import annotations

import base64
import json

import pytest

from docs import build
from docs.tests import chromium
from reference import registry

WIDTH, HEIGHT = 1366, 768
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
    images: [...document.images].map(i => ({ok: i.complete && i.naturalWidth > 0, alt: i.alt}))};
})()"""


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
        browser.page("Emulation.setDeviceMetricsOverride",
                     {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
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
    found = browser.evaluate(PROBE)
    _shoot(browser, "screenshot.png")
    assert found["viewport"] == WIDTH
    assert found["scrollWidth"] <= WIDTH, "the page scrolls sideways"
    assert found["nav"]["right"] <= found["main"]["left"], "the concept list covers the page"
    assert {s["id"] for s in found["sections"]} == {c.name for c in registry.CONCEPTS}
    for section in found["sections"]:
        numpy, torch, tf = section["columns"]
        assert [c["head"] for c in section["columns"]] == ["NumPy", "PyTorch", "TensorFlow"]
        assert numpy["top"] == torch["top"] == tf["top"], section["id"]
        assert numpy["right"] <= torch["left"] and torch["right"] <= tf["left"], section["id"]
        assert tf["right"] <= WIDTH and min(c["width"] for c in section["columns"]) >= 300


def test_every_navigation_link_and_figure_works(browser) -> None:
    found = browser.evaluate(PROBE)
    assert found["links"] > len(registry.CONCEPTS) and not found["brokenLinks"]
    assert found["images"] and all(image["ok"] for image in found["images"]), found["images"]
    browser.evaluate("document.getElementById('sigmoid').scrollIntoView()")
    _shoot(browser, "screenshot-sigmoid.png")
