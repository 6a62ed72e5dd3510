"""Behind a proxy: a public base URL for every link, forwarded headers from trusted peers only.

Served by a real uvicorn on 127.0.0.1, so the peer address the app sees is the test's own.
"""

from __future__ import annotations

import httpx
import pytest
from api_server import serve

from govuk_kpi.api import create_app
from govuk_kpi.api.proxy import TrustedProxies, parse_forwarded, public_origin
from govuk_kpi.core.errors import ConfigError

PUBLIC = "https://data.example.gov.uk"


def _answers(http: httpx.Client) -> tuple[list[str], list[str]]:
    """The service's own links (OData, OpenAPI servers), and the text of REST, CSV and OpenAPI."""
    odata = http.get("/odata/Pages", headers={"Prefer": "odata.maxpagesize=2"}).json()
    assert "@odata.nextLink" in odata
    links = [
        odata["@odata.context"],
        odata["@odata.nextLink"],
        http.get("/odata").json()["@odata.context"],
        http.get("/odata/Pages", params={"$top": 1}).json()["@odata.context"],
        *(server["url"] for server in http.get("/api/v1/openapi.json").json()["servers"]),
    ]
    texts = [
        http.get("/api/v1/content", params={"page_size": 5}).text,
        http.get("/api/v1/content", params={"page_size": 5, "format": "csv"}).text,
        http.get("/api/v1/organisations", params={"format": "csv"}).text,
        http.get("/api/v1/openapi.json").text,
        http.get("/api/v1/docs").text,
    ]
    return links, texts


def test_every_link_starts_with_the_public_url(sample_url: str) -> None:
    app = create_app(sample_url, rate=10_000, burst=10_000, public_url=PUBLIC)
    with serve(app) as base, httpx.Client(base_url=base) as http:
        links, texts = _answers(http)
        assert all(link.startswith(PUBLIC + "/") or link == PUBLIC for link in links), links
        # Any other URL in the answers is GOV.UK's own text (page descriptions), never this host.
        host = base.removeprefix("http://")
        assert not any(host in text or "127.0.0.1" in text for text in texts)
        spec = http.get("/api/v1/openapi.json").json()
        assert spec["servers"][0]["url"] == PUBLIC
        # A proxy's headers cannot move the links away from the public URL.
        spoofed = http.get("/odata", headers={"X-Forwarded-Host": "evil.example"}).json()
        assert spoofed["@odata.context"].startswith(PUBLIC + "/")


def test_the_public_url_comes_from_the_environment(monkeypatch, sample_url: str) -> None:
    monkeypatch.setenv("GOVUK_KPI_PUBLIC_URL", PUBLIC + "/")
    with serve(create_app(sample_url)) as base:
        context = httpx.get(f"{base}/odata/Pages", params={"$top": 1}).json()["@odata.context"]
        assert context == f"{PUBLIC}/odata/$metadata#Pages"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "kpi.example"},
        {"Forwarded": 'for=203.0.113.7;proto=https;host="kpi.example"'},
    ],
    ids=["x-forwarded", "forwarded"],
)
def test_a_trusted_proxy_sets_scheme_and_host(sample_url: str, headers: dict) -> None:
    trusted = create_app(sample_url, forwarded_allow_ips="127.0.0.1")
    untrusted = create_app(sample_url, forwarded_allow_ips="10.0.0.0/8")
    with serve(trusted) as base, httpx.Client(base_url=base, headers=headers) as http:
        page = http.get("/odata/Pages", headers={"Prefer": "odata.maxpagesize=2"})
        body = page.json()
        assert body["@odata.context"].startswith("https://kpi.example/odata/")
        assert body["@odata.nextLink"].startswith("https://kpi.example/odata/Pages?")
        assert http.get("/api/v1/openapi.json").json()["servers"][0]["url"] == "/"
        vary = {v.strip().lower() for v in page.headers["vary"].split(",")}
        assert {"x-forwarded-proto", "x-forwarded-host", "forwarded"} <= vary
    with serve(untrusted) as base, httpx.Client(base_url=base, headers=headers) as http:
        body = http.get("/odata/Pages", headers={"Prefer": "odata.maxpagesize=2"}).json()
        assert body["@odata.context"].startswith(f"{base}/odata/")
        assert body["@odata.nextLink"].startswith(f"{base}/odata/Pages?")


def test_the_rate_limit_keys_on_the_client_a_trusted_proxy_names(sample_url: str) -> None:
    def client(address: str) -> dict[str, str]:
        return {"X-Forwarded-For": f"198.51.100.1, {address}"}

    app = create_app(sample_url, rate=0.01, burst=2, forwarded_allow_ips="127.0.0.1")
    with serve(app) as base, httpx.Client(base_url=base) as http:
        first = http.get("/api/v1/metrics", headers=client("203.0.113.1"))
        assert first.headers["ratelimit-limit"] == "2"
        assert first.headers["ratelimit-remaining"] == "1"
        assert int(first.headers["ratelimit-reset"]) >= 1
        assert http.get("/api/v1/metrics", headers=client("203.0.113.1")).status_code == 200
        limited = http.get("/api/v1/metrics", headers=client("203.0.113.1"))
        assert limited.status_code == 429
        assert limited.headers["ratelimit-remaining"] == "0"
        assert int(limited.headers["retry-after"]) >= 1
        other = http.get("/api/v1/metrics", headers=client("203.0.113.2"))
        assert other.status_code == 200 and other.headers["ratelimit-remaining"] == "1"
    # From a peer that is not a trusted proxy, X-Forwarded-For is the client's own claim.
    app = create_app(sample_url, rate=0.01, burst=2, forwarded_allow_ips="10.0.0.1")
    with serve(app) as base, httpx.Client(base_url=base) as http:
        statuses = [
            http.get("/api/v1/metrics", headers=client(f"203.0.113.{n}")).status_code
            for n in range(3)
        ]
        assert statuses == [200, 200, 429]


def test_parse_forwarded() -> None:
    assert parse_forwarded('for="[2001:db8::17]:4711";proto=https, for=10.0.0.2;Host=a.b') == [
        {"for": "[2001:db8::17]:4711", "proto": "https"},
        {"for": "10.0.0.2", "host": "a.b"},
    ]
    assert parse_forwarded("") == []


def test_trusted_proxies() -> None:
    trusted = TrustedProxies("127.0.0.1, 10.0.0.0/8,::1")
    assert "10.1.2.3" in trusted and "::1" in trusted and "127.0.0.1" in trusted
    assert "11.0.0.1" not in trusted and None not in trusted and "junk" not in trusted
    assert trusted.client(["203.0.113.1", "10.0.0.5", "127.0.0.1"]) == 0
    assert trusted.client(["1.1.1.1", "203.0.113.1", "10.0.0.5"]) == 1
    assert "203.0.113.1" in TrustedProxies("*")
    assert not TrustedProxies(None) and not TrustedProxies("")


@pytest.mark.parametrize(
    "url", ["data.example.gov.uk", "ftp://x.example", "https://x.example/kpi", "https://"]
)
def test_a_public_url_must_be_an_origin(url: str) -> None:
    with pytest.raises(ConfigError):
        public_origin(url)
    assert public_origin("HTTPS://Data.Example.gov.uk:8443/") == (
        "https",
        "data.example.gov.uk:8443",
    )
