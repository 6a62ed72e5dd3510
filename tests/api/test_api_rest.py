"""REST `/api/v1` over real HTTP: every endpoint, every error, CSV = JSON, ETag/304, CORS."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from govuk_kpi.core.metrics import DAILY_METRICS, DERIVED_METRICS, EDITION_METRICS, METRICS
from govuk_kpi.kpi import Warehouse

LISTINGS = ["/api/v1/content", "/api/v1/organisations", "/api/v1/document_types", "/api/v1/metrics"]


def _csv(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff"), "CSV downloads start with a byte-order mark"
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body


def test_content_listing_matches_the_kpi_package(client: httpx.Client, sample_url: str) -> None:
    response = client.get(
        "/api/v1/content", params={"date_range": "past-30-days", "sort": "pviews:desc"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    expected = Warehouse(sample_url).content(period="past-30-days", sort="pviews:desc")
    assert body["total_results"] == expected.attrs["total_results"]
    assert body["total_pages"] == expected.attrs["total_pages"]
    assert body["page"] == 1
    assert body["generated_data"] is True
    assert body["period"]["end"] == "2026-10-31" and body["period"]["start"] == "2026-10-02"
    results = body["results"]
    assert [r["base_path"] for r in results] == expected["base_path"].tolist()[: len(results)]
    assert [r["pviews"] for r in results] == expected["pviews"].tolist()[: len(results)]
    assert results == sorted(results, key=lambda r: -r["pviews"])
    first = results[0]
    for name in (*DAILY_METRICS, *DERIVED_METRICS, *EDITION_METRICS):
        assert name in first
    assert all(key == key.lower() for key in first)


def test_content_filters_sort_and_paging(client: httpx.Client) -> None:
    organisation = "hm-revenue-customs"
    everything = client.get(
        "/api/v1/content", params={"organisation_id": organisation, "page_size": 1000}
    ).json()
    assert everything["total_results"] > 3
    assert {r["organisation"] for r in everything["results"]} == {organisation}
    pages = []
    for page in (1, 2):
        body = client.get(
            "/api/v1/content",
            params={
                "organisation_id": organisation,
                "sort": "title:asc",
                "page": page,
                "page_size": 2,
            },
        ).json()
        assert body["page"] == page and len(body["results"]) == 2
        assert body["total_pages"] == -(-everything["total_results"] // 2)
        pages += body["results"]
    titles = [r["title"] for r in pages]
    assert titles == sorted(titles)
    kind = everything["results"][0]["document_type"]
    typed = client.get(
        "/api/v1/content", params={"organisation_id": organisation, "document_type": kind}
    ).json()
    assert typed["total_results"] >= 1
    assert {r["document_type"] for r in typed["results"]} == {kind}
    word = everything["results"][0]["title"].split()[0]
    found = client.get("/api/v1/content", params={"search_term": word.upper()}).json()
    assert any(r["title"] == everything["results"][0]["title"] for r in found["results"])
    month = client.get("/api/v1/content", params={"date_range": "march-2026"}).json()
    assert month["period"] == {"name": "march-2026", "start": "2026-03-01", "end": "2026-03-31"}


def test_page_size_is_capped(client: httpx.Client) -> None:
    body = client.get("/api/v1/content", params={"page_size": 5000}).json()
    assert body["page_size"] == 1000
    beyond = client.get("/api/v1/content", params={"page": 999}).json()
    assert beyond["results"] == []


@pytest.mark.parametrize("path", LISTINGS)
def test_csv_and_json_agree(client: httpx.Client, path: str) -> None:
    params = {"page_size": 50} if path.endswith("/content") else {}
    as_json = client.get(path, params=params).json()["results"]
    by_param = client.get(path, params={**params, "format": "csv"})
    by_accept = client.get(path, params=params, headers={"Accept": "text/csv"})
    for response in (by_param, by_accept):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = _csv(response.text)
        assert len(rows) == len(as_json)
        assert list(rows[0]) == list(as_json[0])
        for row, item in zip(rows, as_json, strict=True):
            assert row == {k: _cell(v) for k, v in item.items()}


def test_bulk_csv_download_has_every_page_once(client: httpx.Client) -> None:
    listing = client.get("/api/v1/content", params={"date_range": "last-month"}).json()
    response = client.get("/api/v1/content/download", params={"date_range": "last-month"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = _csv(response.text)
    assert len(rows) == listing["total_results"]
    assert len({r["page_id"] for r in rows}) == len(rows)
    pviews = [int(r["pviews"]) for r in rows]
    assert pviews == sorted(pviews, reverse=True)


def test_single_page(client: httpx.Client, sample_url: str) -> None:
    top = client.get("/api/v1/content", params={"sort": "pviews:desc"}).json()["results"][1]
    path = top["base_path"]
    response = client.get(
        f"/api/v1/single_page{path}", params={"from": "2026-10-01", "to": "2026-10-31"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["base_path"] == path
    assert body["metadata"]["base_path"] == path and body["metadata"]["title"] == top["title"]
    assert body["period"]["start"] == "2026-10-01" and body["period"]["end"] == "2026-10-31"
    series = {m["name"]: m for m in body["time_series_metrics"]}
    assert set(series) == {*DAILY_METRICS, *DERIVED_METRICS}
    assert len(series["pviews"]["time_series"]) == 31
    daily = Warehouse(sample_url).page_daily(path, "2026-10-01", "2026-10-31")
    assert [p["value"] for p in series["pviews"]["time_series"]] == daily["pviews"].tolist()
    assert series["pviews"]["total"] == int(daily["pviews"].sum())
    assert {m["name"] for m in body["edition_metrics"]} == set(EDITION_METRICS)
    assert body["editions"][-1]["edition_key"] == body["metadata"]["edition_key"]
    as_csv = _csv(
        client.get(
            f"/api/v1/single_page{path}",
            params={"from": "2026-10-01", "to": "2026-10-31", "format": "csv"},
        ).text
    )
    assert [int(r["pviews"]) for r in as_csv] == daily["pviews"].tolist()
    default = client.get(f"/api/v1/single_page{path}").json()
    assert default["period"] == {"name": None, "start": "2026-10-02", "end": "2026-10-31"}


def test_single_page_derived_totals_are_each_their_own_metric(client: httpx.Client) -> None:
    top = client.get("/api/v1/content", params={"sort": "pviews:desc"}).json()["results"][0]
    body = client.get(
        f"/api/v1/single_page{top['base_path']}", params={"from": "2026-10-01", "to": "2026-10-31"}
    ).json()
    series = {m["name"]: m for m in body["time_series_metrics"]}
    sums = {name: sum(p["value"] or 0 for p in series[name]["time_series"]) for name in series}
    yes, no, upviews = sums["useful_yes"], sums["useful_no"], sums["upviews"]
    assert yes + no > 0 and upviews > 0
    # From the period's sums, never an average of the daily ratios.
    assert series["satisfaction"]["total"] == pytest.approx(yes / (yes + no))
    assert series["pviews_per_visit"]["total"] == pytest.approx(sums["pviews"] / upviews)
    searches = min(100.0, sums["searches"] / upviews * 100)
    assert series["searches_per_user"]["total"] == pytest.approx(searches)


def test_organisations_document_types_and_metrics(client: httpx.Client, sample_url) -> None:
    warehouse = Warehouse(sample_url)
    organisations = client.get("/api/v1/organisations").json()
    assert organisations["total_results"] == len(warehouse.organisations())
    assert {"content_id", "slug", "title", "status"} <= set(organisations["results"][0])
    types = client.get("/api/v1/document_types").json()
    assert [t["name"] for t in types["results"]] == warehouse.document_types()["name"].tolist()
    metrics = client.get("/api/v1/metrics").json()
    assert [m["name"] for m in metrics["results"]] == [m.name for m in METRICS]
    assert metrics["results"][0]["meaning"] == METRICS[0].meaning


def test_health_is_the_readiness_answer(client: httpx.Client) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body == {**client.get("/healthcheck/ready").json(), "as_of": body["as_of"]}
    assert body["ready"] is True and body["facts"]["latest_day"] == "2026-10-31"


def test_openapi_and_docs(client: httpx.Client) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/content", "/api/v1/single_page/{base_path}", "/api/v1/health"):
        assert path in spec["paths"]
    assert not any(p.startswith("/odata") for p in spec["paths"])
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"date_range": "yesterday-ish"}, "date_range"),
        ({"sort": "nonsense:asc"}, "sort"),
        ({"sort": "satisfaction_rate:desc"}, "sort"),
        ({"sort": "pviews:sideways"}, "sort"),
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"page_size": "0"}, "page_size"),
        ({"format": "xml"}, "format"),
        ({"search_term": "x" * 301}, "search_term"),
    ],
)
def test_content_errors_name_the_parameter(client: httpx.Client, params, name) -> None:
    body = _assert_problem(client.get("/api/v1/content", params=params), 400)
    assert [p["name"] for p in body["invalid_params"]] == [name]


def test_single_page_errors(client: httpx.Client) -> None:
    _assert_problem(client.get("/api/v1/single_page/no/such/page"), 404)
    bad_date = _assert_problem(
        client.get("/api/v1/single_page/", params={"from": "2026-13-01"}), 400
    )
    assert bad_date["invalid_params"][0]["name"] == "from"
    backwards = _assert_problem(
        client.get("/api/v1/single_page/", params={"from": "2026-10-05", "to": "2026-10-01"}), 400
    )
    assert backwards["invalid_params"][0]["name"] == "from"
    too_long = _assert_problem(
        client.get("/api/v1/single_page/", params={"from": "1990-01-01", "to": "2026-10-01"}), 400
    )
    assert too_long["invalid_params"][0]["name"] == "from"
    _assert_problem(client.get("/api/v1/single_page/" + "a" * 2000), 400)


def test_unknown_path_and_methods(client: httpx.Client) -> None:
    _assert_problem(client.get("/api/v1/nothing-here"), 404)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = client.request(method, "/api/v1/content")
        body = _assert_problem(response, 405)
        assert response.headers["allow"] == "GET, HEAD, OPTIONS"
        assert method in body["detail"]
    head = client.head("/api/v1/metrics")
    assert head.status_code == 200 and head.content == b""
    options = client.options("/api/v1/content")
    assert options.status_code == 204 and options.headers["allow"] == "GET, HEAD, OPTIONS"


def test_cors_for_get(client: httpx.Client) -> None:
    origin = "https://analysis.example"
    simple = client.get("/api/v1/metrics", headers={"Origin": origin})
    assert simple.headers["access-control-allow-origin"] == "*"
    assert "ETag" in simple.headers["access-control-expose-headers"]
    preflight = client.options(
        "/api/v1/content",
        headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert "GET" in preflight.headers["access-control-allow-methods"]
    refused = client.options(
        "/api/v1/content",
        headers={"Origin": origin, "Access-Control-Request-Method": "DELETE"},
    )
    assert refused.status_code == 400


@pytest.mark.parametrize("path", [*LISTINGS, "/odata/Pages"])
def test_etag_and_not_modified(client: httpx.Client, path: str) -> None:
    first = client.get(path)
    assert first.status_code == 200
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('W/"')
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get(path, headers={"If-None-Match": 'W/"other"'}).status_code == 200
    if path.startswith("/api"):
        as_csv = client.get(path, headers={"Accept": "text/csv"})
        assert as_csv.headers["etag"] != etag
        assert (
            client.get(
                path, params={"page": 1} if "content" in path else {"format": "json"}
            ).headers["etag"]
            != etag
        )


def test_etag_changes_when_a_load_finishes(db_url: str) -> None:
    """A new load batch gives new validators: clients holding the old ETag get a 200."""
    from datetime import datetime

    from api_server import serve
    from sqlalchemy import insert

    from govuk_kpi.api import create_app
    from govuk_kpi.warehouse.db import get_engine, upgrade
    from govuk_kpi.warehouse.models import LoadBatch

    upgrade(db_url)
    with serve(create_app(db_url)) as base, httpx.Client(base_url=base) as http:
        before = http.get("/api/v1/metrics").headers["etag"]
        with get_engine(db_url).begin() as connection:
            connection.execute(
                insert(LoadBatch).values(
                    source="content",
                    uri="test",
                    sha256="0" * 64,
                    code_version="test",
                    started_at=datetime(2026, 11, 1, 6),
                    finished_at=datetime(2026, 11, 1, 6, 1),
                    status="loaded",
                )
            )
        response = http.get("/api/v1/metrics", headers={"If-None-Match": before})
        assert response.status_code == 200
        assert response.headers["etag"] != before
        assert response.headers["last-modified"] == "Sun, 01 Nov 2026 06:01:00 GMT"
        # An empty warehouse has no daily facts: the listing says so as a 404 problem.
        _assert_problem(http.get("/api/v1/content"), 404)


def test_unexpected_errors_are_plain_500s(tmp_path) -> None:
    """A warehouse without its schema breaks every query: a 500 problem, no stack trace."""
    from api_server import serve

    from govuk_kpi.api import create_app

    url = f"sqlite:///{tmp_path}/no-schema.db"
    with serve(create_app(url)) as base, httpx.Client(base_url=base) as http:
        for path in ("/api/v1/content", "/api/v1/organisations", "/odata/Pages"):
            response = http.get(path)
            assert response.status_code == 500
            assert "Traceback" not in response.text and "sqlite" not in response.text.lower()
            if path.startswith("/odata"):
                assert response.json()["error"]["message"]
            else:
                assert response.json()["detail"] == "the server could not answer this request"
