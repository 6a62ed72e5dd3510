"""The human docs and the OpenAPI document: served whole by this service, with their metadata.

Swagger UI and ReDoc come from the fastapi-offline package, served under /api/v1/docs-assets:
the pages load nothing from another host (checked in a real headless Chromium too).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import time
from pathlib import Path

import httpx
import pytest

DOCS = ["/api/v1/docs", "/api/v1/redoc"]
REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)""")


@pytest.mark.parametrize("path", DOCS)
def test_docs_pages_reference_no_other_host(client: httpx.Client, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "cdn" not in page.text.lower() and "fonts.googleapis" not in page.text
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page.text, re.IGNORECASE)
    references = [a or b for a, b in REFERENCE.findall(page.text)]
    scripts = [r for r in references if r.endswith(".js")]
    assert scripts, "the page loads its script"
    for reference in references:
        assert reference.startswith("/api/v1/"), reference
        asset = client.get(reference)
        assert asset.status_code == 200 and len(asset.content) > 0, reference
    assert "/api/v1/openapi.json" in page.text


def test_openapi_has_servers_contact_and_licence(client: httpx.Client) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["servers"] == [{"url": "/", "description": "this service"}]
    assert spec["info"]["contact"]["name"]
    assert spec["info"]["license"] == {
        "name": "Open Government Licence v3.0",
        "identifier": "OGL-UK-3.0",
    }
    assert "/healthcheck/ready" in spec["paths"] and "/healthcheck/live" in spec["paths"]
    assert "503" in spec["paths"]["/healthcheck/ready"]["get"]["responses"]


def _browser_module():
    path = Path(__file__).resolve().parents[1] / "reports" / "chromium_cdp.py"
    spec = importlib.util.spec_from_file_location("chromium_cdp", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        ("/api/v1/docs", "document.querySelector('.swagger-ui .opblock') !== null"),
        ("/api/v1/redoc", "document.querySelector('.api-content h2') !== null"),
    ],
)
def test_docs_pages_load_everything_from_this_service(api: str, path: str, rendered: str) -> None:
    cdp = _browser_module()
    if not shutil.which(cdp.CHROMIUM):
        pytest.fail(f"{cdp.CHROMIUM} is missing: make chromium", pytrace=False)
    browser = cdp.Browser(timeout=60)
    try:
        browser.send("Network.enable", session=True)
        browser.open(api + path)
        deadline = time.monotonic() + 60
        while not browser.evaluate(rendered):
            assert time.monotonic() < deadline, f"{path} did not render"
            time.sleep(0.2)
        requested = [
            event["params"]["request"]["url"]
            for event in browser.events
            if event["method"] == "Network.requestWillBeSent"
        ]
        assert any(url.endswith(".js") for url in requested)
        elsewhere = [
            url for url in requested if not url.startswith((api + "/", "data:", "blob:", "about:"))
        ]
        assert elsewhere == []
    finally:
        browser.close()
