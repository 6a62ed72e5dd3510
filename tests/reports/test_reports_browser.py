"""The report site in a real headless Chromium (Debian's; `scripts/ensure-chromium.sh`).

Opens the index over HTTP from `govuk-kpi reports serve`'s handler, follows a link to a report,
sees its chart images load and no console errors, and sees an organisation title holding
`<script>` shown as text, never run.
"""

from __future__ import annotations

import http.server
import threading
from functools import partial
from pathlib import Path

import pytest
from chromium_cdp import CHROMIUM, Browser
from sqlalchemy import create_engine, text

from govuk_kpi.reports.build import build_reports

ROOT = Path(__file__).resolve().parents[2]
EVIL = 'Department for <script>window.pwned = 1</script> "Transport"'


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh", pytrace=False)
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
        "as_of: 2026-10-31\nnotebooks: [organisation_report, kpi_overview]\n"
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
