"""Derived metrics as `$apply` custom aggregates (OData Data Aggregation 4.0).

A BI user asks for an organisation's satisfaction with `groupby((organisation),
aggregate(satisfaction))` and must get sum(useful_yes) / (sum(useful_yes) + sum(useful_no)) of
the organisation's rows, the ratio of the sums, never a mean of the rows' ratios; null where the
group has no answers. The truth here is SQL over the star schema, written out independently.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from govuk_kpi.core.metrics import DERIVED_METRICS
from govuk_kpi.warehouse.db import make_engine
from govuk_kpi.warehouse.models import (
    AggPageMonthly,
    DimEdition,
    DimOrganisation,
    FactPageDaily,
)

DAY_KEY, DAY = 20261031, "2026-10-31"
MONTH_KEY = 202610


@pytest.fixture
def engine(sample_url: str) -> Iterator[Engine]:
    engine = make_engine(sample_url)
    yield engine
    engine.dispose()


def _apply(client: httpx.Client, set_name: str, apply: str) -> list[dict[str, Any]]:
    """The rows of `$apply`, following next links, without their annotations."""
    response = client.get(f"/odata/{set_name}", params={"$apply": apply})
    assert response.status_code == 200, response.text
    body = response.json()
    rows = list(body["value"])
    while body.get("@odata.nextLink"):
        body = client.get(body["@odata.nextLink"]).json()
        rows.extend(body["value"])
    return [{k: v for k, v in row.items() if not k.startswith("@")} for row in rows]


def _ratio(numerator: int | None, denominator: int | None, scale: float = 1.0) -> float | None:
    return None if not denominator else (numerator or 0) * scale / denominator


def _day_sums_by_organisation(engine: Engine) -> dict[str | None, tuple[int, ...]]:
    """Per organisation slug of the edition: sums of the day's yes, no, exits, pviews,
    bounces and entrances."""
    f = FactPageDaily
    query = (
        select(
            DimOrganisation.slug,
            func.sum(f.useful_yes),
            func.sum(f.useful_no),
            func.sum(f.exits),
            func.sum(f.pviews),
            func.sum(f.bounces),
            func.sum(f.entrances),
        )
        .select_from(f)
        .join(DimEdition, DimEdition.edition_key == f.edition_key)
        .outerjoin(
            DimOrganisation,
            DimOrganisation.organisation_key == DimEdition.primary_organisation_key,
        )
        .where(f.date_key == DAY_KEY)
        .group_by(DimOrganisation.slug)
    )
    with engine.connect() as connection:
        return {row[0]: tuple(int(v) for v in row[1:]) for row in connection.execute(query)}


def test_satisfaction_per_organisation_is_the_ratio_of_its_sums(
    client: httpx.Client, engine: Engine
) -> None:
    truth = _day_sums_by_organisation(engine)
    assert len(truth) > 3
    rows = _apply(
        client,
        "DailyMetrics",
        f"filter(date eq {DAY})/groupby((organisation),aggregate(satisfaction,"
        "exit_rate as exits_share,bounce_rate))",
    )
    assert {row["organisation"] for row in rows} == set(truth)
    for row in rows:
        yes, no, exits, pviews, bounces, entrances = truth[row["organisation"]]
        assert set(row) == {"organisation", "satisfaction", "exits_share", "bounce_rate"}
        assert row["satisfaction"] == pytest.approx(_ratio(yes, yes + no))
        assert row["exits_share"] == pytest.approx(_ratio(exits, pviews))
        assert row["bounce_rate"] == pytest.approx(_ratio(bounces, entrances))


def test_it_is_not_a_mean_of_ratios(client: httpx.Client, engine: Engine) -> None:
    """On the sample the mean of the rows' satisfaction differs from the ratio of the sums, so
    the custom aggregate is seen to be the latter."""
    yes, no, *_ = (sum(v) for v in zip(*_day_sums_by_organisation(engine).values(), strict=True))
    (row,) = _apply(client, "DailyMetrics", f"filter(date eq {DAY})/aggregate(satisfaction)")
    assert row == {"satisfaction": pytest.approx(yes / (yes + no))}
    f = FactPageDaily
    answers = f.useful_yes + f.useful_no
    query = select(func.avg(f.useful_yes * 1.0 / answers)).where(f.date_key == DAY_KEY, answers > 0)
    with engine.connect() as connection:
        mean = connection.execute(query).scalar_one()
    assert float(mean) != pytest.approx(row["satisfaction"], abs=1e-6)


def test_a_group_without_answers_is_null(client: httpx.Client, engine: Engine) -> None:
    f = FactPageDaily
    query = select(f.edition_key, f.useful_yes, f.useful_no).where(f.date_key == DAY_KEY)
    with engine.connect() as connection:
        truth = {key: (yes, no) for key, yes, no in connection.execute(query)}
    assert any(yes + no == 0 for yes, no in truth.values())
    rows = _apply(
        client,
        "DailyMetrics",
        f"filter(date eq {DAY})/groupby((edition_key),aggregate(satisfaction as s))",
    )
    assert {row["edition_key"] for row in rows} == set(truth)
    for row in rows:
        yes, no = truth[row["edition_key"]]
        assert row["s"] == pytest.approx(_ratio(yes, yes + no))
    # No rows at all: the sums are empty, so the ratio is null (not 0, not an error).
    nothing = "filter(date_key eq 19000101)/aggregate(satisfaction)"
    assert _apply(client, "DailyMetrics", nothing) == [{"satisfaction": None}]


def test_monthly_custom_aggregates_per_organisation_and_month(
    client: httpx.Client, engine: Engine
) -> None:
    m = AggPageMonthly
    query = (
        select(
            DimOrganisation.slug,
            func.sum(m.useful_yes),
            func.sum(m.useful_no),
            func.sum(m.searches),
            func.sum(m.upviews),
            func.sum(m.pviews),
        )
        .select_from(m)
        .join(DimEdition, (DimEdition.page_id == m.page_id) & DimEdition.is_latest)
        .outerjoin(
            DimOrganisation,
            DimOrganisation.organisation_key == DimEdition.primary_organisation_key,
        )
        .where(m.month_key == MONTH_KEY)
        .group_by(DimOrganisation.slug)
    )
    with engine.connect() as connection:
        truth = {row[0]: tuple(int(v) for v in row[1:]) for row in connection.execute(query)}
    rows = _apply(
        client,
        "MonthlyMetrics",
        f"filter(month_key eq {MONTH_KEY})/groupby((organisation,month),"
        "aggregate(satisfaction,searches_per_user,pviews_per_visit,upviews with sum as u))",
    )
    assert {row["organisation"] for row in rows} == set(truth)
    for row in rows:
        yes, no, searches, upviews, pviews = truth[row["organisation"]]
        assert row["month"] == "october-2026"
        assert row["u"] == upviews
        assert row["satisfaction"] == pytest.approx(_ratio(yes, yes + no))
        assert row["pviews_per_visit"] == pytest.approx(_ratio(pviews, upviews))
        spu = _ratio(searches, upviews, 100.0)
        assert row["searches_per_user"] == pytest.approx(None if spu is None else min(100.0, spu))


@pytest.mark.parametrize("name", DERIVED_METRICS)
@pytest.mark.parametrize("method", ["sum", "average"])
def test_a_sum_or_mean_of_a_ratio_is_refused(client: httpx.Client, name: str, method: str) -> None:
    response = client.get(
        "/odata/DailyMetrics", params={"$apply": f"aggregate({name} with {method} as x)"}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert "not meaningful" in error["message"]
    assert f"aggregate({name})" in error["message"]
    assert error["target"] == name


@pytest.mark.parametrize(
    ("set_name", "apply"),
    [
        ("DailyMetrics", "aggregate(pviews)"),
        ("DailyMetrics", "aggregate(nosuch)"),
        ("Pages", "aggregate(satisfaction)"),
        ("DailyMetrics", "groupby((organisation),aggregate(useful_yes with sum as useful_yes,"
         "useful_no with sum as useful_no,satisfaction))/aggregate(satisfaction)"),
        ("DailyMetrics", "groupby((organisation))/aggregate(satisfaction)"),
        ("DailyMetrics", "aggregate(satisfaction as 1x)"),
        ("DailyMetrics", "aggregate(satisfaction,satisfaction)"),
    ],
)  # fmt: skip
def test_what_is_not_a_custom_aggregate_is_refused(
    client: httpx.Client, set_name: str, apply: str
) -> None:
    response = client.get(f"/odata/{set_name}", params={"$apply": apply})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"]
