"""Figures over time: daily and monthly series, the headline against the period before, and
every page's trend (what the content audit judges)."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

import pandas as pd
from sqlalchemy import Connection, func, select

from govuk_kpi.core.metrics import DAILY_METRICS, DERIVED_METRICS, derived_value
from govuk_kpi.core.periods import Period, resolve_period
from govuk_kpi.kpi.frames import (
    calendar_series,
    daily_facts,
    frame,
    newest_edition,
    newest_edition_rows,
    number,
    of_organisation,
    page_columns,
    primary_organisation,
)
from govuk_kpi.kpi.query import Query
from govuk_kpi.kpi.site import headline
from govuk_kpi.kpi.sums import page_sums
from govuk_kpi.warehouse.models import (
    DimDocumentType,
    DimEdition,
    FactEditionMetrics,
    FactPageDaily,
)

HEADLINE_FIGURES = ("pviews", "upviews", "pages", "satisfaction", "searches_per_user", "feedex")


def daily_totals(connection: Connection, query: Query) -> pd.DataFrame:
    """Daily sums over a period, site-wide or of one primary organisation's pages (every
    day, zeros where none), with the derived metrics: the series behind trend charts."""
    first, last = query.period.start, query.period.end
    facts = daily_facts(first, last)
    if query.organisation:
        facts = facts.join(DimEdition, newest_edition(FactPageDaily.page_id)).where(
            of_organisation(connection, query.organisation)
        )
    grouped = facts.group_by(FactPageDaily.date_key).subquery("facts")
    return frame(connection, calendar_series(grouped, first, last), query.period)


def monthly_totals(connection: Connection, query: Query) -> pd.DataFrame:
    """`daily_totals` summed by calendar month (`month` is its first day, `days` the days
    of it inside the period), derived metrics from each month's sums."""
    daily = daily_totals(connection, query)
    days = pd.to_datetime(daily["date"])
    sums = (
        daily.assign(month=days.dt.to_period("M").dt.start_time.dt.date, days=1)
        .groupby("month", as_index=False)[[*DAILY_METRICS, "days"]]
        .sum()
    )
    rows = sums[list(DAILY_METRICS)].to_dict("records")
    for name in DERIVED_METRICS:
        # float64 even when no month has a value (None would leave an object column)
        values = [derived_value(name, cast(dict[str, Any], row)) for row in rows]
        sums[name] = pd.Series(values, index=sums.index, dtype="float")
    sums.attrs = daily.attrs
    return sums


def headline_trend(connection: Connection, period: Period) -> pd.DataFrame:
    """Site-wide headline figures for the period against the period just before: one row
    per figure with `current`, `previous` and `change` (a ratio; NULL from zero)."""
    current = headline(connection, period)
    before = period.previous()
    previous_name = before.name if period.kind == "month" else period.name
    previous = headline(connection, resolve_period(previous_name, before.end))
    names = list(HEADLINE_FIGURES)
    out = pd.DataFrame(
        {
            "figure": names,
            "current": [number(current[n]) for n in names],
            "previous": [number(previous[n]) for n in names],
        }
    )
    out["change"] = (out["current"] - out["previous"]) / out["previous"].where(out["previous"] != 0)
    out.attrs = {
        **current.attrs,
        "previous_query": previous.attrs["query"],
        "previous_period": previous.attrs["period"],
    }
    return out


def _page_trend_rows(connection: Connection, query: Query, year: Period) -> Any:
    sums = page_sums(connection, query.period)
    before = page_sums(connection, query.period.previous()).alias("before")
    year_sums = page_sums(connection, year).alias("year_sums")
    primary = primary_organisation()
    metric = {m: func.coalesce(sums.c[m], 0) for m in DAILY_METRICS}
    columns = [
        *page_columns(primary, metric),
        func.coalesce(before.c.pviews, 0).label("pviews_previous"),
        func.coalesce(year_sums.c.pviews, 0).label("pviews_year"),
        FactEditionMetrics.words,
        FactEditionMetrics.reading_time,
        FactEditionMetrics.pdf_count,
    ]
    rows = (
        newest_edition_rows(columns, sums, primary)
        .outerjoin(before, before.c.page_id == DimEdition.page_id)
        .outerjoin(year_sums, year_sums.c.page_id == DimEdition.page_id)
        .order_by(DimEdition.base_path)
    )
    if query.organisation:
        rows = rows.where(of_organisation(connection, query.organisation))
    return rows


def page_trends(connection: Connection, query: Query) -> pd.DataFrame:
    """Every page item (newest edition) with its sums for the period and its trend; see
    `Warehouse.page_trends` for the columns."""
    period = query.period
    year = resolve_period("past-year", period.end)
    out = frame(connection, _page_trend_rows(connection, query, year), period)
    for column in (*DAILY_METRICS, "pviews_previous", "pviews_year"):
        out[column] = out[column].astype("int64")
    out["withdrawn"] = out["withdrawn"].astype(bool)
    previous = out["pviews_previous"].astype("float")
    out["pviews_change"] = (out["pviews"] - previous) / previous.where(previous != 0)
    out["responses"] = out["useful_yes"] + out["useful_no"]
    updated = pd.to_datetime(out["public_updated_at"].fillna(out["first_published_at"]))
    out["age_days"] = (pd.Timestamp(period.end) - updated).dt.days
    out.attrs["previous_period"] = {
        "start": period.previous().start.isoformat(),
        "end": period.previous().end.isoformat(),
    }
    out.attrs["year_period"] = {"start": year.start.isoformat(), "end": year.end.isoformat()}
    return out


def year_views(connection: Connection, end: date) -> pd.DataFrame:
    """Every page's (newest edition's) document type and page views over the year to
    `end`: what the audit judges document types against."""
    year = resolve_period("past-year", end)
    sums = page_sums(connection, year)
    query = (
        select(
            DimEdition.page_id,
            DimDocumentType.name.label("document_type"),
            func.coalesce(sums.c.pviews, 0).label("pviews_year"),
        )
        .select_from(DimEdition)
        .where(DimEdition.is_latest)
        .outerjoin(
            DimDocumentType, DimDocumentType.document_type_key == DimEdition.document_type_key
        )
        .outerjoin(sums, sums.c.page_id == DimEdition.page_id)
        .order_by(DimEdition.page_id)
    )
    out = frame(connection, query, year)
    out["pviews_year"] = out["pviews_year"].astype("int64")
    return out
