"""Site-wide figures: the headline, usage on paths that matched no page, the days with facts,
and what the figures cover."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, select

from govuk_kpi.core.metrics import DAILY_METRICS
from govuk_kpi.core.periods import Period
from govuk_kpi.kpi.coverage import coverage_select, coverage_series
from govuk_kpi.kpi.expressions import derived_columns, total
from govuk_kpi.kpi.frames import frame, number, organisation_keys
from govuk_kpi.kpi.query import Query
from govuk_kpi.warehouse.calendar import date_key, key_to_date
from govuk_kpi.warehouse.models import FactPageDaily, FactUnmatchedDaily


def headline(connection: Connection, period: Period) -> pd.Series:
    """Site-wide sums and derived metrics for a period, with unmatched usage beside them."""
    span = (date_key(period.start), date_key(period.end))
    metric = {m: func.coalesce(total(getattr(FactPageDaily, m)), 0) for m in DAILY_METRICS}
    query = select(
        *[metric[m].label(m) for m in DAILY_METRICS],
        *derived_columns(metric),
        func.count(func.distinct(FactPageDaily.page_id)).label("pages"),
    ).where(FactPageDaily.date_key.between(*span))
    figures = frame(connection, query, period)
    unmatched = connection.execute(
        select(
            func.coalesce(total(FactUnmatchedDaily.__table__.c.pviews), 0),
            func.count(func.distinct(FactUnmatchedDaily.path)),
        ).where(
            FactUnmatchedDaily.date_key.between(*span),
            FactUnmatchedDaily.source == "analytics",
        )
    ).one()
    # A row of counts and ratios would be upcast to floats as one Series: counts stay ints.
    row = figures.iloc[0]
    counts = [*DAILY_METRICS, "pages"]
    values: dict[str, Any] = {n: int(row[n]) if n in counts else number(row[n]) for n in row.index}
    values["unmatched_pviews"], values["unmatched_paths"] = (int(n) for n in unmatched)
    series = pd.Series(values, dtype=object)
    series.attrs = figures.attrs
    return series


def unmatched(connection: Connection, period: Period) -> pd.DataFrame:
    """Paths that matched no edition, with their usage, most viewed first."""
    query = (
        select(
            FactUnmatchedDaily.path,
            *[total(getattr(FactUnmatchedDaily, m)).label(m) for m in DAILY_METRICS],
            func.count(func.distinct(FactUnmatchedDaily.date_key)).label("days"),
        )
        .where(FactUnmatchedDaily.date_key.between(date_key(period.start), date_key(period.end)))
        .group_by(FactUnmatchedDaily.path)
        .order_by(total(FactUnmatchedDaily.__table__.c.pviews).desc(), FactUnmatchedDaily.path)
    )
    return frame(connection, query, period)


def daily_dates(connection: Connection) -> tuple[date | None, date | None]:
    """The first and last day with daily facts."""
    low, high = connection.execute(
        select(func.min(FactPageDaily.date_key), func.max(FactPageDaily.date_key))
    ).one()
    return (key_to_date(low) if low else None, key_to_date(high) if high else None)


def coverage(connection: Connection, query: Query) -> pd.Series:
    """What the figures cover (`govuk_kpi.kpi.coverage`), site-wide or with one
    organisation's figures beside; see `Warehouse.coverage`."""
    keys = organisation_keys(connection, query.organisation) if query.organisation else None
    return coverage_series(
        frame(connection, coverage_select(connection, query.period, keys), query.period)
    )
