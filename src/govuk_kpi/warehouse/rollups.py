"""Rollups: monthly sums per page item, and the four rolling windows ending on the as-of date.

Monthly rows are refreshed only for the months that loads since the last refresh touched.
Windows are recomputed from the daily facts for the as-of date (the newest day with data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine, delete, func, insert, literal, select

from govuk_kpi.core.metrics import DAILY_METRICS
from govuk_kpi.core.periods import WINDOWS, window_start
from govuk_kpi.warehouse.batch import utcnow
from govuk_kpi.warehouse.calendar import date_key, key_to_date
from govuk_kpi.warehouse.db import write_transaction
from govuk_kpi.warehouse.models import (
    AggPageMonthly,
    AggPageWindow,
    DimDate,
    FactPageDaily,
    LoadBatch,
    RollupState,
)

DAILY_SOURCES = ("analytics", "feedback")


@dataclass
class RollupResult:
    """What a refresh did."""

    as_of: date | None
    months: list[int]
    window_rows: int
    last_batch_id: int

    def summary(self) -> str:
        months = ", ".join(str(m) for m in self.months) or "none"
        return (
            f"rollups as of {self.as_of}: months refreshed {months}; "
            f"{self.window_rows} window rows; up to batch {self.last_batch_id}"
        )


def latest_fact_date(connection: Connection) -> date | None:
    """The newest day that has daily facts."""
    key = connection.execute(select(func.max(FactPageDaily.date_key))).scalar()
    return None if key is None else key_to_date(key)


def newest_daily_batch(connection: Connection) -> int:
    """The newest successful analytics or feedback batch id, 0 when none."""
    return connection.execute(
        select(func.coalesce(func.max(LoadBatch.batch_id), 0)).where(
            LoadBatch.source.in_(DAILY_SOURCES), LoadBatch.status == "loaded"
        )
    ).scalar_one()


def _months_to_refresh(connection: Connection, since_batch: int | None) -> set[int]:
    if since_batch is None:
        return set(connection.execute(select(DimDate.month_key).distinct()).scalars())
    spans = connection.execute(
        select(LoadBatch.date_from, LoadBatch.date_to).where(
            LoadBatch.source.in_(DAILY_SOURCES),
            LoadBatch.status == "loaded",
            LoadBatch.batch_id > since_batch,
            LoadBatch.date_from.is_not(None),
        )
    ).all()
    months: set[int] = set()
    for first, last in spans:
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            months.add(year * 100 + month)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _sums():
    return [func.sum(getattr(FactPageDaily, name)).label(name) for name in DAILY_METRICS]


def refresh_monthly(connection: Connection, months: set[int]) -> None:
    """Recompute `agg_page_monthly` for the given months."""
    if not months:
        return
    connection.execute(delete(AggPageMonthly).where(AggPageMonthly.month_key.in_(months)))
    query = (
        select(
            DimDate.month_key,
            FactPageDaily.page_id,
            *_sums(),
            func.count(func.distinct(FactPageDaily.date_key)),
        )
        .join(DimDate, DimDate.date_key == FactPageDaily.date_key)
        .where(DimDate.month_key.in_(months))
        .group_by(DimDate.month_key, FactPageDaily.page_id)
    )
    columns = ["month_key", "page_id", *DAILY_METRICS, "days"]
    connection.execute(insert(AggPageMonthly).from_select(columns, query))


def refresh_windows(connection: Connection, as_of: date) -> int:
    """Recompute the rolling windows ending on `as_of`; returns the rows written."""
    connection.execute(delete(AggPageWindow))
    columns = ["window", "page_id", *DAILY_METRICS, "days"]
    for window in WINDOWS:
        first = window_start(window, as_of)
        query = (
            select(
                literal(window),
                FactPageDaily.page_id,
                *_sums(),
                func.count(func.distinct(FactPageDaily.date_key)),
            )
            .where(FactPageDaily.date_key.between(date_key(first), date_key(as_of)))
            .group_by(FactPageDaily.page_id)
        )
        connection.execute(insert(AggPageWindow).from_select(columns, query))
    return connection.execute(select(func.count()).select_from(AggPageWindow)).scalar_one()


def _set_state(
    connection: Connection, rollup: str, as_of: date | None, first: date | None, batch: int
) -> None:
    connection.execute(delete(RollupState).where(RollupState.rollup == rollup))
    connection.execute(
        insert(RollupState),
        [
            {
                "rollup": rollup,
                "as_of": as_of,
                "date_from": first,
                "last_batch_id": batch,
                "refreshed_at": utcnow(),
            }
        ],
    )


def refresh_rollups(engine: Engine, *, full: bool = False) -> RollupResult:
    """Bring every rollup up to date with the daily facts, in one transaction."""
    with write_transaction(engine) as connection:
        newest = newest_daily_batch(connection)
        state = connection.execute(
            select(RollupState.last_batch_id).where(RollupState.rollup == "monthly")
        ).scalar()
        since = None if full else state
        months = _months_to_refresh(connection, since)
        refresh_monthly(connection, months)
        _set_state(connection, "monthly", None, None, newest)
        as_of = latest_fact_date(connection)
        rows = 0
        if as_of is not None:
            rows = refresh_windows(connection, as_of)
            for window in WINDOWS:
                _set_state(connection, window, as_of, window_start(window, as_of), newest)
        return RollupResult(as_of, sorted(months), rows, newest)


def stale_rollups(connection: Connection) -> list[str]:
    """Rollups that have not seen the newest daily batch (or never ran)."""
    newest = newest_daily_batch(connection)
    states = {s.rollup: s.last_batch_id for s in connection.execute(select(RollupState)).all()}
    return [name for name in ("monthly", *WINDOWS) if states.get(name, -1) < newest]
