"""The API served by the real server (uvicorn) in a thread, for the API tests.

A module of its own (not conftest) so that test files import it by a unique name: several
test folders have a conftest, and `from conftest import ...` would find whichever came first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

ODATA_PAGE_SIZE = 40


@contextmanager
def serve(app) -> Iterator[str]:
    """Run `app` with uvicorn in a thread on a free port of 127.0.0.1; yield its base URL."""
    # As `govuk-kpi serve` runs it: the app, not uvicorn, reads forwarded headers.
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        access_log=False,
        lifespan="off",
        proxy_headers=False,
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
