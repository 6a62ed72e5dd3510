"""`govuk_kpi.kpi.Warehouse`: the figures analysts, reports and the API share."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import func, select

from govuk_kpi import Warehouse
from govuk_kpi.core.errors import ConfigError
from govuk_kpi.core.periods import resolve_period
from govuk_kpi.warehouse.models import FactPageDaily


@pytest.fixture
def warehouse(sample_url: str) -> Warehouse:
    return Warehouse(sample_url)


def _daily_sum(warehouse: Warehouse, metric: str, first: date, last: date) -> int:
    key = lambda d: d.year * 10000 + d.month * 100 + d.day  # noqa: E731
    with warehouse.engine.connect() as connection:
        return connection.execute(
            select(func.coalesce(func.sum(getattr(FactPageDaily, metric)), 0)).where(
                FactPageDaily.date_key.between(key(first), key(last))
            )
        ).scalar_one()


def test_the_analyst_two_liner(warehouse: Warehouse) -> None:
    frame = warehouse.content(organisation="hm-revenue-customs", period="past-30-days")
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) > 0
    assert set(frame["organisation"]) == {"hm-revenue-customs"}
    assert {"pviews", "upviews", "satisfaction", "words", "reading_time"} <= set(frame.columns)
    assert "SELECT" in frame.attrs["query"]
    assert frame.attrs["period"]["end"] == "2026-10-31"


@pytest.mark.parametrize(
    "period",
    ["past-30-days", "last-month", "past-3-months", "past-6-months", "past-year", "march-2026"],
)
def test_listing_totals_equal_the_daily_facts(warehouse: Warehouse, period: str) -> None:
    resolved = resolve_period(period, date(2026, 10, 31))
    frame = warehouse.content(period=period, page_size=1000)
    assert frame.attrs["total_results"] == len(frame)
    for metric in ("pviews", "upviews", "useful_yes", "feedex"):
        assert frame[metric].sum() == _daily_sum(warehouse, metric, resolved.start, resolved.end)


def test_sorting_and_paging(warehouse: Warehouse) -> None:
    first = warehouse.content(sort="pviews:desc", page_size=10)
    second = warehouse.content(sort="pviews:desc", page_size=10, page=2)
    assert first["pviews"].is_monotonic_decreasing
    assert first["pviews"].iloc[-1] >= second["pviews"].iloc[0]
    assert set(first["page_id"]).isdisjoint(second["page_id"])
    assert first.attrs["total_pages"] == -(-first.attrs["total_results"] // 10)
    ascending = warehouse.content(sort="title:asc", page_size=50)
    assert ascending["title"].tolist() == sorted(ascending["title"].tolist())


@pytest.mark.parametrize("metric", ["pviews", "upviews", "searches"])
def test_pages_of_a_sorted_listing_are_slices_of_one_ordering(
    warehouse: Warehouse, metric: str
) -> None:
    # Small pages put ties at their edges, where reading the top from the rollup's index
    # must give the same rows as sorting everything.
    whole = warehouse.content(sort=f"{metric}:desc", page_size=1000)
    expected = whole.sort_values([metric, "base_path"], ascending=[False, True], kind="stable")
    pages = [
        warehouse.content(sort=f"{metric}:desc", page_size=7, page=n)
        for n in range(1, -(-whole.attrs["total_results"] // 7) + 1)
    ]
    got = pd.concat(pages, ignore_index=True)
    assert got["base_path"].tolist() == expected["base_path"].tolist()
    assert got[metric].tolist() == expected[metric].tolist()
    assert any(
        len(p) and p[metric].iloc[-1] > 0 and (whole[metric] == p[metric].iloc[-1]).sum() > 1
        for p in pages
    ), "no page ends inside a tie: the test would not check the tie-break"


def test_the_heavy_tail(warehouse: Warehouse) -> None:
    frame = warehouse.content(period="last-month", sort="pviews:desc", page_size=1000)
    assert frame["pviews"].iloc[0] > 1_000_000
    assert frame["pviews"].median() < 1_000


def test_derived_metrics_come_from_sums(warehouse: Warehouse) -> None:
    frame = warehouse.content(period="past-year", page_size=1000)
    answered = frame[(frame["useful_yes"] + frame["useful_no"]) > 0]
    expected = answered["useful_yes"] / (answered["useful_yes"] + answered["useful_no"])
    assert answered["satisfaction"].round(9).tolist() == expected.round(9).tolist()
    silent = frame[(frame["useful_yes"] + frame["useful_no"]) == 0]
    assert silent["satisfaction"].isna().all()
    assert (frame["searches_per_user"].dropna() <= 100).all()
    with_views = frame[frame["upviews"] > 0]
    assert (
        with_views["pviews_per_visit"] - with_views["pviews"] / with_views["upviews"]
    ).abs().max() < 1e-9


def test_filters(warehouse: Warehouse) -> None:
    guides = warehouse.content(document_type="guide", page_size=1000)
    assert len(guides) > 0 and set(guides["document_type"]) == {"guide"}
    found = warehouse.content(search="PASSPORT", page_size=1000)
    assert len(found) > 0
    assert all(
        "passport" in (t + p).lower()
        for t, p in zip(found["title"], found["base_path"], strict=True)
    )


def test_bad_arguments_are_config_errors(warehouse: Warehouse) -> None:
    with pytest.raises(ConfigError, match="cannot sort"):
        warehouse.content(sort="nonsense:desc")
    with pytest.raises(ConfigError, match="unknown period"):
        warehouse.content(period="next-week")
    with pytest.raises(ConfigError):
        warehouse.content(page_size=100_000)


def test_single_page_series(warehouse: Warehouse) -> None:
    series = warehouse.page_daily("/", date(2026, 10, 1), date(2026, 10, 31))
    assert len(series) == 31
    assert series["date"].dtype.kind == "M" and series["date"].iloc[0] == pd.Timestamp(2026, 10, 1)
    assert (series["pviews"] > 0).all()
    editions = warehouse.page_editions("/")
    assert len(editions) >= 1 and editions["words"].notna().all()
    with pytest.raises(LookupError):
        warehouse.page_daily("/no-such-page-ever", date(2026, 10, 1), date(2026, 10, 2))


def test_organisation_summary_with_trend(warehouse: Warehouse) -> None:
    summary = warehouse.organisation_summary(period="last-month")
    assert summary["pviews"].sum() == _daily_sum(
        warehouse, "pviews", date(2026, 10, 1), date(2026, 10, 31)
    )
    row = summary[summary["pviews_previous"] > 0].iloc[0]
    assert row["pviews_change"] == pytest.approx(
        (row["pviews"] - row["pviews_previous"]) / row["pviews_previous"]
    )
    assert summary.attrs["previous_period"]["name"] == "september-2026"


def test_headline_and_unmatched(warehouse: Warehouse) -> None:
    headline = warehouse.headline(period="past-30-days")
    assert headline["pviews"] == _daily_sum(
        warehouse, "pviews", date(2026, 10, 2), date(2026, 10, 31)
    )
    assert headline["unmatched_paths"] > 0
    assert 0 < headline["satisfaction"] < 1
    unmatched = warehouse.unmatched(period="past-30-days")
    assert "/search/all" in set(unmatched["path"])


def test_generated_usage_is_labelled(warehouse: Warehouse) -> None:
    assert warehouse.usage_is_generated()
    assert warehouse.content(page_size=5).attrs["generated"] is True
