"""Health checks as GOV.UK apps answer them: live, ready (503 with reasons), stale data named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from api_server import serve

from govuk_kpi.api import create_app

CLI = str(Path(sys.executable).with_name("govuk-kpi"))


def test_live_answers_without_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/missing-folder/w.db"
    with serve(create_app(url)) as base:
        response = httpx.get(f"{base}/healthcheck/live")
        assert response.status_code == 200 and response.json() == {"status": "ok"}
        assert response.headers["cache-control"] == "no-store"


def test_ready_on_the_sample_names_its_stale_data(client: httpx.Client) -> None:
    response = client.get("/healthcheck/ready")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["ready"] is True
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["schema"] == {"status": "ok"}
    # The sample ends on 2026-10-31: long before yesterday, so the data is stale.
    freshness = body["checks"]["data_freshness"]
    assert freshness["status"] == "critical" and "2026-10-31" in freshness["message"]
    assert body["status"] == "critical" and freshness["message"] in body["problems"]
    assert body["facts"]["latest_day"] == "2026-10-31"
    keys = {*body, *body["checks"], *body["facts"]}
    assert all(k == k.lower() and " " not in k for k in keys)


@pytest.mark.parametrize(
    "url",
    ["sqlite:///{tmp}/missing-folder/w.db", "postgresql+psycopg://nobody@127.0.0.1:1/none"],
    ids=["sqlite-unreachable", "postgresql-unreachable"],
)
def test_ready_is_503_with_the_reason_when_the_database_cannot_be_reached(
    tmp_path: Path, url: str
) -> None:
    with serve(create_app(url.format(tmp=tmp_path))) as base:
        for path in ("/healthcheck/ready", "/api/v1/health"):
            response = httpx.get(f"{base}{path}", timeout=30)
            assert response.status_code == 503, response.text
            body = response.json()
            assert body["ready"] is False and body["status"] == "critical"
            assert body["checks"]["database"]["status"] == "critical"
            assert body["problems"][0].startswith("the database does not answer")
            assert "Traceback" not in response.text


def test_ready_is_503_when_the_schema_is_old(tmp_path: Path) -> None:
    with serve(create_app(f"sqlite:///{tmp_path}/empty.db")) as base:
        body = httpx.get(f"{base}/healthcheck/ready").json()
        assert body["ready"] is False
        assert "govuk-kpi db upgrade" in body["checks"]["schema"]["message"]


def test_health_is_not_rate_limited(sample_url: str) -> None:
    with serve(create_app(sample_url, rate=0.01, burst=1)) as base:
        assert httpx.get(f"{base}/api/v1/metrics").status_code == 200
        assert httpx.get(f"{base}/api/v1/metrics").status_code == 429
        assert httpx.get(f"{base}/healthcheck/live").status_code == 200
        assert httpx.get(f"{base}/healthcheck/ready").status_code == 200


def test_the_command_gives_the_same_verdict(client: httpx.Client, sample_url: str) -> None:
    answer = client.get("/healthcheck/ready").json()
    command = subprocess.run(
        [CLI, "--database-url", sample_url, "health", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert command.returncode == 1  # critical: yesterday's data is missing
    assert json.loads(command.stdout) == answer
    plain = subprocess.run(
        [CLI, "--database-url", sample_url, "health"], capture_output=True, text=True, timeout=120
    )
    assert plain.returncode == 1 and freshness_message(answer) in plain.stderr


def freshness_message(answer: dict) -> str:
    return answer["checks"]["data_freshness"]["message"]


def test_the_command_is_503s_verdict_when_the_database_cannot_be_reached(tmp_path: Path) -> None:
    command = subprocess.run(
        [CLI, "--database-url", f"sqlite:///{tmp_path}/missing-folder/w.db", "health"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert command.returncode == 1
    assert "the database does not answer" in command.stderr and "Traceback" not in command.stderr
