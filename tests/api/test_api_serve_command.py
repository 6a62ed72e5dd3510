"""`govuk-kpi serve` starts the app on uvicorn and answers REST and OData."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

CLI = str(Path(sys.executable).with_name("govuk-kpi"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(sample_url: str, *options: str, env: dict[str, str] | None = None):
    port = _free_port()
    command = [CLI, "--database-url", sample_url, "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), *options]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/healthcheck/live")
            return process, base
        except httpx.TransportError:
            if process.poll() is not None:
                raise AssertionError(process.stdout.read().decode()) from None
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)


def test_serve_command(sample_url: str) -> None:
    process, base = _serve(sample_url)
    try:
        response = httpx.get(f"{base}/api/v1/content", params={"page_size": 1})
        assert response.status_code == 200
        assert response.json()["total_results"] > 0
        assert response.headers["server"] == "uvicorn"
        odata = httpx.get(f"{base}/odata/Pages", params={"$top": 1})
        assert odata.status_code == 200 and odata.headers["odata-version"] == "4.0"
        # uvicorn trusts 127.0.0.1's X-Forwarded-Proto by default; the command trusts no proxy
        # unless told.
        spoofed = httpx.get(f"{base}/odata", headers={"X-Forwarded-Proto": "https"})
        assert spoofed.json()["@odata.context"].startswith(f"{base}/odata/")
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_behind_a_proxy(sample_url: str) -> None:
    process, base = _serve(sample_url, "--forwarded-allow-ips", "127.0.0.1")
    try:
        context = httpx.get(
            f"{base}/odata", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "k.example"}
        ).json()["@odata.context"]
        assert context == "https://k.example/odata/$metadata"
    finally:
        process.terminate()
        process.wait(timeout=30)
    public = "https://data.example.gov.uk"
    process, base = _serve(sample_url, env={"GOVUK_KPI_PUBLIC_URL": public})
    try:
        assert httpx.get(f"{base}/odata").json()["@odata.context"].startswith(public + "/odata/")
        spec = httpx.get(f"{base}/api/v1/openapi.json").json()
        assert spec["servers"][0]["url"] == public
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_refuses_a_public_url_with_a_path(sample_url: str) -> None:
    result = subprocess.run(
        [CLI, "--database-url", sample_url, "serve", "--public-url", "https://x.example/kpi"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: public URL") and "Traceback" not in result.stderr
