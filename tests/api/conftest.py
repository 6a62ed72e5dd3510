"""Serve the API with the real server (uvicorn) on 127.0.0.1 for every API test.

`api` is the base URL of a server on a whole sample warehouse, once per backend. The app is
built with a high rate limit (the rate-limit test starts its own strict server) and a small
OData page size, so paging is exercised on the sample.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from api_server import ODATA_PAGE_SIZE, serve

from govuk_kpi.api import create_app


@pytest.fixture(scope="session")
def api(sample_url: str) -> Iterator[str]:
    """Base URL of the API served on the sample warehouse (SQLite and PostgreSQL)."""
    app = create_app(sample_url, rate=100_000, burst=100_000, odata_page_size=ODATA_PAGE_SIZE)
    with serve(app) as base:
        yield base


@pytest.fixture
def client(api: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api, timeout=60) as http:
        yield http
