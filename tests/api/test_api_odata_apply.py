"""`$apply`: filter, groupby and aggregate give the figures `govuk_kpi.kpi` gives."""

from __future__ import annotations

import httpx
import pytest

from govuk_kpi.kpi import Warehouse


def _all(client: httpx.Client, url: str, params: dict) -> list[dict]:
    rows, response = [], client.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["value"]
        if "@odata.nextLink" not in body:
            return rows
        response = client.get(body["@odata.nextLink"])


def test_monthly_total_per_organisation_matches_the_kpi_package(
    client: httpx.Client, sample_url: str
) -> None:
    rows = _all(
        client,
        "/odata/MonthlyMetrics",
        {
            "$apply": "filter(month eq 'march-2026')/groupby((organisation),"
            "aggregate(pviews with sum as pviews,upviews with sum as upviews,"
            "page_id with countdistinct as pages))",
            "$orderby": "pviews desc",
        },
    )
    summary = Warehouse(sample_url).organisation_summary(period="march-2026")
    expected = {
        row.organisation: (int(row.pviews), int(row.upviews), int(row.pages))
        for row in summary.itertuples()
    }
    got = {(r["organisation"] or "(none)"): (r["pviews"], r["upviews"], r["pages"]) for r in rows}
    assert got == expected
    totals = [r["pviews"] for r in rows]
    assert totals == sorted(totals, reverse=True)


def test_groupby_month_and_organisation(client: httpx.Client) -> None:
    rows = _all(
        client,
        "/odata/MonthlyMetrics",
        {
            "$apply": "groupby((organisation,month_key),aggregate(pviews with sum as total,"
            "pviews with max as biggest,pviews with min as smallest,"
            "pviews with average as mean,$count as pages))",
            "$filter": "total gt 0",
            "$count": "true",
        },
    )
    assert rows and all(r["total"] > 0 for r in rows)
    assert all(r["smallest"] <= r["mean"] <= r["biggest"] for r in rows)
    assert all(
        set(r) == {"organisation", "month_key", "total", "biggest", "smallest", "mean", "pages"}
        for r in rows
    )
    grand = client.get(
        "/odata/MonthlyMetrics", params={"$apply": "aggregate(pviews with sum as total)"}
    ).json()
    assert grand["@odata.context"].endswith("#MonthlyMetrics(total)")
    filtered_grand = sum(r["total"] for r in rows)
    assert filtered_grand == grand["value"][0]["total"]


def test_daily_apply_equals_monthly_rollup(client: httpx.Client) -> None:
    daily = client.get(
        "/odata/DailyMetrics",
        params={
            "$apply": "filter(date ge 2026-03-01 and date le 2026-03-31)"
            "/aggregate(pviews with sum as total,page_id with countdistinct as pages)"
        },
    ).json()["value"][0]
    monthly = client.get(
        "/odata/MonthlyMetrics",
        params={
            "$apply": "filter(month_key eq 202603)"
            "/aggregate(pviews with sum as total,page_id with countdistinct as pages)"
        },
    ).json()["value"][0]
    assert daily == monthly


@pytest.mark.parametrize(
    ("apply", "status"),
    [
        ("groupby((nosuch))", 400),
        ("aggregate(title with sum as t)", 400),
        ("aggregate(pviews with median as m)", 400),
        ("aggregate(pviews with sum as pviews,upviews with sum as pviews)", 400),
        ("aggregate(pviews with sum)", 400),
        ("groupby((month),aggregate(pviews with sum as month))", 400),
        ("filter(", 400),
        ("explode(pviews)", 400),
        ("compute(pviews mul 2 as double)", 501),
        ("topcount(5,pviews)", 501),
        ("groupby((Page/title))", 501),
        ("aggregate(pviews with Custom.method as x)", 501),
        ("", 400),
    ],
)
def test_apply_errors(client: httpx.Client, apply: str, status: int) -> None:
    response = client.get("/odata/MonthlyMetrics", params={"$apply": apply})
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]


ROUTABLE = (
    "groupby((organisation,month),aggregate(pviews with sum as pviews))",
    "filter(year eq 2026 and organisation ne null)"
    "/groupby((organisation_key,year),aggregate(upviews with sum as u,$count as n))",
    "filter(month eq 'march-2026')/aggregate(pviews with sum as total,exits with sum as x)",
    "groupby((month,first_day),aggregate(feedex with sum as f,searches with sum as s))",
)


@pytest.mark.parametrize("apply", ROUTABLE)
def test_totals_per_organisation_and_month_come_from_the_rollup_with_the_same_answer(
    client: httpx.Client, sample_url: str, apply: str
) -> None:
    from govuk_kpi.api.odata.apply import parse_apply
    from govuk_kpi.api.odata.rollup_route import route_to_rollup
    from govuk_kpi.warehouse.db import get_engine

    with get_engine(sample_url).connect() as connection:
        routed = route_to_rollup(connection, "MonthlyMetrics", parse_apply(apply), "MonthlyMetric")
    assert routed is not None, "a total per organisation and month should read the rollup"
    rollup = _all(client, "/odata/MonthlyMetrics", {"$apply": apply})
    # `days` is a page-level property: filtering on it keeps the query on the page rows.
    pages = _all(client, "/odata/MonthlyMetrics", {"$apply": f"filter(days ge 0)/{apply}"})
    assert rollup and sorted(map(repr, rollup)) == sorted(map(repr, pages))


@pytest.mark.parametrize(
    "apply",
    (
        "groupby((organisation),aggregate(pviews with average as mean))",
        "groupby((page_id),aggregate(pviews with sum as total))",
        "aggregate($count as rows)",
        "groupby((organisation),aggregate(days with sum as d))",
    ),
)
def test_questions_the_rollup_cannot_answer_stay_on_the_page_rows(
    sample_url: str, apply: str
) -> None:
    from govuk_kpi.api.odata.apply import parse_apply
    from govuk_kpi.api.odata.rollup_route import route_to_rollup
    from govuk_kpi.warehouse.db import get_engine

    with get_engine(sample_url).connect() as connection:
        assert route_to_rollup(connection, "MonthlyMetrics", parse_apply(apply), "X") is None
