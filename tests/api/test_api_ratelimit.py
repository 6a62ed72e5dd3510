"""The per-client token bucket: a burst, then 429 with Retry-After, then tokens come back.

Every answer says where the client stands (RateLimit-Limit, -Remaining, -Reset).
"""

from __future__ import annotations

import time

import httpx
from api_server import serve

from govuk_kpi.api import create_app
from govuk_kpi.api.middleware import Allowance, TokenBucket


def test_rate_limit_over_http(sample_url: str) -> None:
    with (
        serve(create_app(sample_url, rate=0.5, burst=3)) as base,
        httpx.Client(base_url=base) as http,
    ):
        answers = [http.get("/api/v1/metrics") for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0"]
        assert {a.headers["ratelimit-limit"] for a in answers} == {"3"}
        # Reset: seconds until the whole burst is back (3 tokens at 0.5 a second).
        assert answers[-1].headers["ratelimit-reset"] == "6"
        limited = http.get("/api/v1/content")
        assert limited.status_code == 429
        assert limited.headers["content-type"].startswith("application/problem+json")
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["ratelimit-remaining"] == "0"
        assert limited.json()["status"] == 429
        cors = http.get("/api/v1/metrics", headers={"Origin": "https://a.example"})
        exposed = cors.headers["access-control-expose-headers"]
        assert "RateLimit-Remaining" in exposed and "Retry-After" in exposed
        odata = http.get("/odata/Pages")
        assert odata.status_code == 429 and "error" in odata.json()
        time.sleep(int(limited.headers["retry-after"]) + 0.1)
        assert http.get("/api/v1/metrics").status_code == 200


def test_rate_limit_is_configurable_from_the_environment(monkeypatch, sample_url: str) -> None:
    monkeypatch.setenv("GOVUK_KPI_API_RATE", "0.1")
    monkeypatch.setenv("GOVUK_KPI_API_BURST", "1")
    with serve(create_app(sample_url)) as base, httpx.Client(base_url=base) as http:
        assert http.get("/api/v1/metrics").status_code == 200
        assert http.get("/api/v1/metrics").status_code == 429


def test_token_bucket_per_client() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=2, clock=lambda: now[0])
    assert bucket.take("a") == Allowance(0, 1, 0.5)
    assert bucket.take("a") == Allowance(0, 0, 1.0)
    assert bucket.take("a") == Allowance(0.5, 0, 1.0)
    assert bucket.take("b").wait == 0  # another client has its own bucket
    now[0] = 0.5
    assert bucket.take("a").wait == 0
    now[0] = 100.0
    # Refills only up to the burst.
    assert [bucket.take("a").wait for _ in range(3)] == [0, 0, 0.5]
