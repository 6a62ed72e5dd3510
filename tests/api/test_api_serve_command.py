"""`govuk-kpi serve` starts the app on uvicorn and answers REST and OData."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_command(sample_url: str) -> None:
    port = _free_port()
    command = [
        str(Path(sys.executable).with_name("govuk-kpi")),
        "--database-url",
        sample_url,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"{base}/api/v1/content", params={"page_size": 1})
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read().decode()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.json()["total_results"] > 0
        assert response.headers["server"] == "uvicorn"
        odata = httpx.get(f"{base}/odata/Pages", params={"$top": 1})
        assert odata.status_code == 200 and odata.headers["odata-version"] == "4.0"
    finally:
        process.terminate()
        process.wait(timeout=30)
