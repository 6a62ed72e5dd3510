"""Serve the API with the real server (uvicorn) on 127.0.0.1 for every API test.

`api` is the base URL of a server on a whole sample warehouse, once per backend. The app is
built with a high rate limit (the rate-limit test starts its own strict server) and a small
OData page size, so paging is exercised on the sample.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from govuk_kpi.api import create_app

ODATA_PAGE_SIZE = 40


@contextmanager
def serve(app) -> Iterator[str]:
    """Run `app` with uvicorn in a thread on a free port of 127.0.0.1; yield its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


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
