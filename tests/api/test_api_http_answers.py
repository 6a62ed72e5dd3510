"""REST answers that must not be silently empty or wrong: each says what exists instead."""

from __future__ import annotations

import httpx
import pytest


def _problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


@pytest.mark.parametrize("date_range", ["may-2031", "january-2020"])
@pytest.mark.parametrize("path", ["/api/v1/content", "/api/v1/content/download"])
def test_a_period_outside_the_data_is_a_404_naming_the_data(
    client: httpx.Client, path: str, date_range: str
) -> None:
    body = _problem(client.get(path, params={"date_range": date_range}), 404)
    assert body["last_day"] == "2026-10-31" and body["first_day"] < "2026-10-31"
    assert body["first_day"] in body["detail"] and "2026-10-31" in body["detail"]
    assert body["invalid_params"][0]["name"] == "date_range"


def test_a_month_inside_the_data_is_still_served(client: httpx.Client) -> None:
    assert client.get("/api/v1/content", params={"date_range": "october-2026"}).status_code == 200


@pytest.mark.parametrize("value", ["hm-revenue-custom", "all", "none"])
@pytest.mark.parametrize("path", ["/api/v1/content", "/api/v1/content/download"])
def test_an_unknown_organisation_is_a_400_naming_the_nearest(
    client: httpx.Client, path: str, value: str
) -> None:
    body = _problem(client.get(path, params={"organisation_id": value}), 400)
    assert body["invalid_params"][0]["name"] == "organisation_id"
    assert body["list_at"] == "/api/v1/organisations"
    assert "/api/v1/organisations" in body["invalid_params"][0]["reason"]
    if value == "hm-revenue-custom":
        assert "hm-revenue-customs" in body["nearest"]
        assert "did you mean hm-revenue-customs" in body["detail"]


def test_an_organisation_with_no_pages_in_the_filter_is_still_an_empty_200(
    client: httpx.Client,
) -> None:
    organisations = client.get("/api/v1/organisations").json()["results"]
    known = organisations[0]["slug"]
    response = client.get(
        "/api/v1/content", params={"organisation_id": known, "search_term": "no such words at all"}
    )
    assert response.status_code == 200 and response.json()["results"] == []


def test_an_unknown_document_type_is_a_400(client: httpx.Client) -> None:
    body = _problem(client.get("/api/v1/content", params={"document_type": "guides"}), 400)
    assert body["invalid_params"][0]["name"] == "document_type"
    assert "guide" in body["nearest"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/content", {"period": "march-2026"}),
        ("/api/v1/content", {"date_range": "march-2026", "orgnisation_id": "x"}),
        ("/api/v1/metrics", {"page": "2"}),
        ("/api/v1/single_page/contact-hmrc", {"start": "2026-10-01"}),
    ],
)
def test_an_unknown_parameter_is_a_400_naming_the_known_ones(
    client: httpx.Client, path: str, params: dict
) -> None:
    body = _problem(client.get(path, params=params), 400)
    unknown = next(n for n in params if n not in ("date_range",))
    assert [p["name"] for p in body["invalid_params"]] == [unknown]
    assert unknown in body["detail"]
    if path == "/api/v1/content":
        assert "date_range" in body["known_params"] and "date_range" in body["detail"]


def test_search_term_wildcards_are_literal(client: httpx.Client) -> None:
    everything = client.get("/api/v1/content").json()["total_results"]
    for character in ("_", "%"):
        found = client.get(
            "/api/v1/content", params={"search_term": character, "page_size": 1000}
        ).json()
        assert found["total_results"] < everything
        for row in found["results"]:
            assert character in row["title"].lower() or character in row["base_path"]
    escaped = client.get("/api/v1/content", params={"search_term": "\\"}).json()
    assert all("\\" in r["title"] or "\\" in r["base_path"] for r in escaped["results"])
