"""The project's error family reaches API users as problems chosen by class, once.

Routes raise `InvalidArgument`, `NotFound` and `NoData` from wherever the question is asked
(`kpi`, the REST routes); `api/problems.STATUS` alone turns them into statuses. An error the
table does not map is a plain 500 that shows no internals.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from govuk_kpi.api.problems import PROBLEM_TYPE, install_handlers
from govuk_kpi.core.errors import (
    ConfigError,
    GovukKpiError,
    InvalidArgument,
    NoData,
    NotFound,
    UnknownOrganisation,
)

RAISED: dict[str, GovukKpiError] = {
    "argument": InvalidArgument("period", "unknown period 'fortnight'", nearest=["past-week"]),
    "organisation": UnknownOrganisation("hm-revenue-customs", ["hm-revenue-customs-x"]),
    "page": NotFound("no page has ever been at /nowhere"),
    "empty": NoData("the warehouse has no daily facts yet"),
    "config": ConfigError("the warehouse schema is at nothing: internal detail"),
}


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    install_handlers(app)

    @app.get("/api/v1/{name}")
    @app.get("/odata/{name}")
    def _raise(name: str) -> None:
        raise RAISED[name]

    return TestClient(app, raise_server_exceptions=False)


def _problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_TYPE
    body = response.json()
    assert body["status"] == status
    assert "Traceback" not in response.text
    return body


def test_an_invalid_argument_is_a_400_naming_the_parameter_and_what_helps(client) -> None:
    body = _problem(client.get("/api/v1/argument"), 400)
    assert body["invalid_params"] == [{"name": "period", "reason": "unknown period 'fortnight'"}]
    assert body["nearest"] == ["past-week"]  # an RFC 9457 extension member


def test_what_is_not_there_is_a_404_by_class_not_by_message(client) -> None:
    for name in ("organisation", "page", "empty"):
        body = _problem(client.get(f"/api/v1/{name}"), 404)
        assert body["detail"] == str(RAISED[name])


def test_an_unmapped_error_of_the_family_is_a_plain_500(client) -> None:
    body = _problem(client.get("/api/v1/config"), 500)
    assert "internal detail" not in body["detail"]


def test_odata_paths_get_the_same_statuses_in_odata_error_format(client) -> None:
    response = client.get("/odata/argument")
    assert response.status_code == 400
    assert response.json()["error"]["target"] == "period"
    assert client.get("/odata/empty").status_code == 404
