"""The per-client token bucket: a burst, then 429 with Retry-After, then tokens come back."""

from __future__ import annotations

import time

import httpx
from api_server import serve

from govuk_kpi.api import create_app
from govuk_kpi.api.middleware import TokenBucket


def test_rate_limit_over_http(sample_url: str) -> None:
    with (
        serve(create_app(sample_url, rate=0.5, burst=3)) as base,
        httpx.Client(base_url=base) as http,
    ):
        statuses = [http.get("/api/v1/metrics").status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        limited = http.get("/api/v1/content")
        assert limited.status_code == 429
        assert limited.headers["content-type"].startswith("application/problem+json")
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["status"] == 429
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
    assert bucket.take("a") == 0 and bucket.take("a") == 0
    assert bucket.take("a") == 0.5
    assert bucket.take("b") == 0  # another client has its own bucket
    now[0] = 0.5
    assert bucket.take("a") == 0
    now[0] = 100.0
    assert [bucket.take("a") for _ in range(3)] == [0, 0, 0.5]  # refills only up to the burst
