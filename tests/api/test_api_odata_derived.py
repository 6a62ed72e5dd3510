"""Derived metrics on the OData feed: served beside their inputs, equal to SQL over the same rows.

A BI user reads `satisfaction` from the feed rather than computing their own, so each row's value
must be what the glossary's formula gives from that row's `useful_yes` and `useful_no`, null
where nobody answered, and `$filter`, `$orderby` and `$select` must work on it as on any property
(nulls compared as OData defines, not as SQL does).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from odata_truth import count, fetch
from sqlalchemy import select

from govuk_kpi.api.odata.model import entity_sets
from govuk_kpi.core.metrics import DERIVED_METRICS
from govuk_kpi.warehouse.db import make_engine
from govuk_kpi.warehouse.models import DimDate, DimEdition, DimOrganisation, FactPageDaily

DAY, DATE_KEY, ORGANISATION = "2026-10-31", 20261031, "hm-revenue-customs"
SLICE = f"organisation eq '{ORGANISATION}' and date eq {DAY}"


def _satisfaction(yes: int, no: int) -> float | None:
    return None if yes + no == 0 else yes / (yes + no)


def _rows_by_sql(sample_url: str) -> dict[int, tuple[int, int]]:
    """useful_yes and useful_no of the slice's rows, read from the star schema directly."""
    query = (
        select(FactPageDaily.edition_key, FactPageDaily.useful_yes, FactPageDaily.useful_no)
        .join(DimDate, DimDate.date_key == FactPageDaily.date_key)
        .join(DimEdition, DimEdition.edition_key == FactPageDaily.edition_key)
        .join(
            DimOrganisation,
            DimOrganisation.organisation_key == DimEdition.primary_organisation_key,
        )
        .where(FactPageDaily.date_key == DATE_KEY, DimOrganisation.slug == ORGANISATION)
    )
    engine = make_engine(sample_url)
    try:
        with engine.connect() as connection:
            return {key: (yes, no) for key, yes, no in connection.execute(query)}
    finally:
        engine.dispose()


def test_derived_metrics_are_properties_where_their_inputs_are() -> None:
    sets = entity_sets()
    for name in ("DailyMetrics", "MonthlyMetrics"):
        for metric in DERIVED_METRICS:
            prop = sets[name].by_name[metric]
            assert (prop.edm, prop.nullable) == ("Edm.Double", True)


def test_metadata_declares_satisfaction(client: httpx.Client) -> None:
    text = client.get("/odata/$metadata").text
    assert '<Property Name="satisfaction" Type="Edm.Double"' in text


def test_satisfaction_of_a_slice_equals_sql_over_the_same_rows(
    client: httpx.Client, sample_url: str
) -> None:
    truth = _rows_by_sql(sample_url)
    assert truth and any(yes + no == 0 for yes, no in truth.values())
    assert any(yes + no > 0 for yes, no in truth.values())
    rows = fetch(client, "DailyMetrics", "edition_key,useful_yes,useful_no,satisfaction", SLICE)
    assert {r["edition_key"] for r in rows} == set(truth)
    for row in rows:
        yes, no = truth[row["edition_key"]]
        assert (row["useful_yes"], row["useful_no"]) == (yes, no)
        expected = _satisfaction(yes, no)
        if expected is None:
            assert row["satisfaction"] is None
        else:
            assert row["satisfaction"] == pytest.approx(expected)


def test_filter_orderby_and_null_on_satisfaction(client: httpx.Client, sample_url: str) -> None:
    truth = {key: _satisfaction(*pair) for key, pair in _rows_by_sql(sample_url).items()}
    answered = {key: value for key, value in truth.items() if value is not None}

    def keys(condition: str) -> set[int]:
        return {r["edition_key"] for r in fetch(client, "DailyMetrics", "edition_key", condition)}

    assert keys(f"{SLICE} and satisfaction eq null") == set(truth) - set(answered)
    assert keys(f"{SLICE} and satisfaction ne null") == set(answered)
    assert keys(f"{SLICE} and satisfaction lt 0.5") == {k for k, v in answered.items() if v < 0.5}
    # A comparison with null is false, so `not` keeps the rows nobody answered.
    assert keys(f"{SLICE} and not (satisfaction ge 0.5)") == {
        k for k, v in truth.items() if v is None or v < 0.5
    }
    assert count(client, "DailyMetrics", f"{SLICE} and satisfaction gt 1") == 0
    ordered = client.get(
        "/odata/DailyMetrics",
        params={
            "$filter": f"{SLICE} and satisfaction ne null",
            "$orderby": "satisfaction desc,edition_key",
            "$select": "satisfaction",
            "$top": 1000,
        },
    ).json()["value"]
    values = [r["satisfaction"] for r in ordered]
    assert {k for k in ordered[0] if not k.startswith("@")} == {"satisfaction"}
    assert values == sorted(answered.values(), reverse=True) == sorted(values, reverse=True)


def test_monthly_derived_metrics_are_from_the_month_sums(client: httpx.Client) -> None:
    select_ = "month_key,page_id,useful_yes,useful_no,pviews,upviews,searches," + ",".join(
        DERIVED_METRICS
    )
    rows: list[dict[str, Any]] = fetch(
        client,
        "MonthlyMetrics",
        select_,
        f"organisation eq '{ORGANISATION}' and month_key eq 202610",
    )
    assert rows
    for row in rows:
        assert row["satisfaction"] == pytest.approx(
            _satisfaction(row["useful_yes"], row["useful_no"])
        )
        upviews = row["upviews"]
        ppv = None if not upviews else row["pviews"] / upviews
        spu = None if not upviews else min(100.0, row["searches"] / upviews * 100)
        assert row["pviews_per_visit"] == pytest.approx(ppv)
        assert row["searches_per_user"] == pytest.approx(spu)


@pytest.mark.parametrize("method", ["sum", "average"])
def test_a_ratio_is_not_summed_or_averaged(client: httpx.Client, method: str) -> None:
    response = client.get(
        "/odata/DailyMetrics",
        params={"$apply": f"aggregate(satisfaction with {method} as s)"},
    )
    assert response.status_code == 400, response.text
    assert "useful_yes and useful_no" in response.json()["error"]["message"]


def test_a_slice_satisfaction_is_the_ratio_of_its_sums(
    client: httpx.Client, sample_url: str
) -> None:
    truth = _rows_by_sql(sample_url)
    yes, no = (sum(pair[i] for pair in truth.values()) for i in (0, 1))
    body = client.get(
        "/odata/DailyMetrics",
        params={
            "$apply": f"filter({SLICE})/aggregate(useful_yes with sum as yes,"
            "useful_no with sum as no,satisfaction with max as best)"
        },
    ).json()["value"][0]
    assert (body["yes"], body["no"]) == (yes, no)
    answered = [_satisfaction(*pair) for pair in truth.values() if sum(pair)]
    assert body["best"] == pytest.approx(max(answered))
