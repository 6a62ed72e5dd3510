"""The report site in a real headless Chromium (Debian's; `scripts/ensure-chromium.sh`).

Opens the index over HTTP from `govuk-kpi reports serve`'s handler, follows a link to a report,
sees its chart images load and no console errors, and sees an organisation title holding
`<script>` shown as text, never run. On the index and a report of each kind: axe-core (from
node_modules, `make install`, injected over the DevTools protocol: nothing from the network)
finds no violations at desktop width or at 320 px, nothing scrolls sideways at 320 px, every
page title in a table links to the page on www.gov.uk, and headline figures are formatted
(12,345 and 68.2%, never 12345.0 or 0.682).
"""

from __future__ import annotations

import http.server
import json
import re
import threading
from functools import partial
from pathlib import Path

import pytest
from chromium_cdp import CHROMIUM, Browser
from sqlalchemy import create_engine, text

from govuk_kpi.reports.build import build_reports

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
EVIL = 'Department for <script>window.pwned = 1</script> "Transport"'
# The index and one report of each kind.
PAGES = (
    "index.html",
    "2026-10-31/kpi-overview.html",
    "2026-10-31/content-audit.html",
    "2026-10-31/organisation-report-department-for-transport.html",
)
REPORTS = PAGES[1:]
WIDTHS = (1280, 320)
COUNT = re.compile(r"^\d{1,3}(,\d{3})*$")  # 34,183,106: separated, no .0
PERCENT = re.compile(r"^\d{1,3}(\.\d)?%$")  # 68.2%
PER_HUNDRED = re.compile(r"^\d{1,3}\.\d$")  # 6.1 searches per 100 unique page views


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh", pytrace=False)
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make install` (npm ci)", pytrace=False)
    from govuk_kpi.sample.build import build_sample

    base = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{base}/warehouse.db"
    build_sample(url, out_dir=base / "generated", days=62)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE dim_organisation SET title = :t WHERE slug = 'department-for-transport'"),
            {"t": EVIL},
        )
    engine.dispose()
    params = base / "set.yaml"
    params.write_text(
        "as_of: 2026-10-31\nnotebooks: [organisation_report, kpi_overview, content_audit]\n"
        "organisations: [department-for-transport]\n",
        encoding="utf-8",
    )
    result = build_reports(
        [params], url=url, out_root=base / "reports", notebook_dir=ROOT / "notebooks"
    )
    assert not result.failed, result.summary()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(base / "reports"))
    handler.log_message = lambda *_args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    browser = Browser()
    try:
        yield browser, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        browser.close()
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_index_links_to_a_report_whose_charts_load(site) -> None:
    browser, root = site
    browser.open(root + "index.html")
    assert browser.evaluate("document.querySelector('h1').textContent") == "GOV.UK KPI reports"
    assert browser.evaluate("document.documentElement.lang") == "en"
    assert browser.evaluate("document.querySelectorAll('table caption').length") >= 1
    browser.click_and_wait("main a[href$='kpi-overview.html']")
    assert browser.evaluate("location.pathname").endswith("/2026-10-31/kpi-overview.html")
    images = browser.evaluate(
        "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])"
    )
    assert len(images) >= 4
    assert all(done and width > 0 and alt for done, width, alt in images), images
    assert browser.evaluate("document.body.innerText").count("GENERATED sample data") >= 1
    assert (
        browser.evaluate(
            "Array.from(document.querySelectorAll('script,link[href],img'))"
            ".filter(e => /^https?:/.test(e.src || e.href || ''))"
            ".filter(e => !(e.src || e.href).startsWith(location.origin))"
            ".length"
        )
        == 0
    )
    assert browser.errors == []


@pytest.mark.slow
def test_a_title_with_script_shows_as_text(site) -> None:
    browser, root = site
    browser.open(root + "index.html")
    assert "<script>window.pwned = 1</script>" in browser.evaluate("document.body.innerText")
    browser.click_and_wait("main a[href$='organisation-report-department-for-transport.html']")
    assert browser.evaluate("document.querySelector('h1').textContent").startswith(
        "Department for <script>"
    )
    assert "<script>" in browser.evaluate("document.title")
    assert browser.evaluate("typeof window.pwned") == "undefined"
    assert browser.errors == []


def _at_width(browser: Browser, width: int) -> None:
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 640},
        session=True,
    )


def _axe(browser: Browser) -> list[dict]:
    """axe-core's violations on the open page (its source injected, not fetched)."""
    browser.evaluate(AXE.read_text(encoding="utf-8") + ";0")
    return browser.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => "
        "({id: v.id, impact: v.impact, help: v.help, "
        "nodes: v.nodes.slice(0, 3).map(n => n.html.slice(0, 200))})))"
    )


@pytest.mark.slow
def test_axe_finds_no_violations_on_the_index_and_each_kind_of_report(site) -> None:
    browser, root = site
    found = {}
    try:
        for width in WIDTHS:
            _at_width(browser, width)
            for page in PAGES:
                browser.open(root + page)
                violations = _axe(browser)
                if violations:
                    found[f"{page} at {width}px"] = violations
    finally:
        browser.send("Emulation.clearDeviceMetricsOverride", session=True)
    assert found == {}, json.dumps(found, indent=1)
    assert browser.errors == []


@pytest.mark.slow
def test_nothing_scrolls_sideways_at_320px(site) -> None:
    browser, root = site
    widths = {}
    try:
        _at_width(browser, 320)
        for page in PAGES:
            browser.open(root + page)
            # A phone widens its layout viewport to fit what overflows, so both must hold.
            widths[page] = browser.evaluate(
                "[window.innerWidth, document.documentElement.scrollWidth]"
            )
    finally:
        browser.send("Emulation.clearDeviceMetricsOverride", session=True)
    assert all(inner == 320 and scroll <= 320 for inner, scroll in widths.values()), widths


@pytest.mark.slow
def test_every_page_title_in_a_table_links_to_the_page_on_govuk(site) -> None:
    browser, root = site
    for page in REPORTS:
        browser.open(root + page)
        cells = browser.evaluate(
            """Array.from(document.querySelectorAll('table')).flatMap(table => {
                 const heads = Array.from(table.querySelectorAll('thead th'))
                   .map(th => th.textContent.trim());
                 const at = heads.indexOf('Page');
                 if (at < 0) return [];
                 return Array.from(table.querySelectorAll('tbody tr')).map(row => {
                   const cell = row.children[at];
                   const link = cell.querySelector('a');
                   return [cell.textContent.trim(), link ? link.href : null,
                           link ? link.textContent.trim() : null];
                 });
               })"""
        )
        assert cells, f"{page} has no table of pages"
        for shown, href, words in cells:
            assert href and href.startswith("https://www.gov.uk/"), (page, shown, href)
            assert words == shown, (page, shown, words)


def _formatted(label: str, value: str) -> bool:
    if value in ("–", "no data"):
        return True
    if label.lower().startswith("satisfaction") or value.endswith("%"):
        return bool(PERCENT.match(value))
    if "per 100" in label:
        return bool(PER_HUNDRED.match(value))
    return bool(COUNT.match(value))


@pytest.mark.slow
def test_headline_figures_are_formatted_on_the_index_and_the_overview(site) -> None:
    browser, root = site
    browser.open(root + "index.html")
    listed = browser.evaluate(
        "Array.from(document.querySelectorAll('.app-headlines li')).map(li => "
        "[li.firstChild.textContent.replace(/:\\s*$/, ''), li.querySelector('strong').textContent])"
    )
    tabled = browser.evaluate(
        """Array.from(document.querySelectorAll('main table')).flatMap(table => {
             const heads = Array.from(table.querySelectorAll('thead th'))
               .map(th => th.textContent.trim());
             return Array.from(table.querySelectorAll('tbody tr')).flatMap(row =>
               Array.from(row.children).slice(1).map((cell, i) =>
                 [heads[i + 1], cell.textContent.trim()]));
           })"""
    )
    shown = listed + tabled
    assert {label for label, _ in shown} >= {"Page views", "Satisfaction"}, shown
    assert all(_formatted(label, value) for label, value in shown), shown

    browser.open(root + "2026-10-31/kpi-overview.html")
    rows = browser.evaluate(
        "Array.from(document.querySelector('main table').querySelectorAll('tbody tr'))"
        ".map(row => Array.from(row.children).map(cell => cell.textContent.trim()))"
    )
    figures = {row[0]: row[1:] for row in rows}
    assert {"Page views", "Pages viewed", "Satisfaction"} <= set(figures), figures
    for label, (current, previous, _moved) in figures.items():
        assert _formatted(label, current) and _formatted(label, previous), (label, current)
        assert not re.search(r"\d\.0$", current), (label, current)
    assert re.fullmatch(
        r"(up|down) \d+(\.\d)? percentage points?|unchanged", figures["Satisfaction"][2]
    ), figures["Satisfaction"]
    assert re.fullmatch(r"(up|down) \d+\.\d%|unchanged", figures["Page views"][2])
