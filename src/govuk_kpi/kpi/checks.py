"""What the pipeline's checks read back from the warehouse after a load (`pipeline/tasks.py`):
counts of what arrived, a day's totals, the days with page views, the rollups' window totals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, Row, func, select

from govuk_kpi.core.metrics import DAILY_METRICS
from govuk_kpi.warehouse.calendar import date_key
from govuk_kpi.warehouse.models import (
    AggPageWindow,
    DimEdition,
    DimOrganisation,
    FactPageDaily,
    FactUnmatchedDaily,
)


def organisation_count(connection: Connection) -> int | None:
    """How many organisations the warehouse knows."""
    return connection.execute(select(func.count()).select_from(DimOrganisation)).scalar()


def live_edition_count(connection: Connection) -> int | None:
    """How many editions are live."""
    return connection.execute(
        select(func.count()).select_from(DimEdition).where(DimEdition.is_live)
    ).scalar()


def day_totals(
    connection: Connection, day: date, metrics: Sequence[str], source: str
) -> tuple[Row[*tuple[Any, ...]], Row[*tuple[Any, ...]]]:
    """The sums of `metrics` on `day`: over the daily facts, and over `source`'s unmatched
    rows (0 where none)."""
    key = date_key(day)
    facts = connection.execute(
        select(*(func.coalesce(func.sum(getattr(FactPageDaily, m)), 0) for m in metrics)).where(
            FactPageDaily.date_key == key
        )
    ).one()
    unmatched = connection.execute(
        select(
            *(func.coalesce(func.sum(getattr(FactUnmatchedDaily, m)), 0) for m in metrics)
        ).where(FactUnmatchedDaily.date_key == key, FactUnmatchedDaily.source == source)
    ).one()
    return facts, unmatched


def days_with_views(connection: Connection, first: date, last: date) -> set[int]:
    """The date keys from `first` to `last` with any page views."""
    return set(
        connection.execute(
            select(FactPageDaily.date_key)
            .where(FactPageDaily.date_key.between(date_key(first), date_key(last)))
            .group_by(FactPageDaily.date_key)
            .having(func.sum(FactPageDaily.__table__.c.pviews) > 0)
        ).scalars()
    )


def window_totals(connection: Connection) -> Sequence[Row[*tuple[Any, ...]]]:
    """Per rolling window of the window rollup: its name and the daily metrics' sums."""
    return connection.execute(
        select(
            AggPageWindow.window,
            *(func.sum(getattr(AggPageWindow, m)) for m in DAILY_METRICS),
        ).group_by(AggPageWindow.window)
    ).all()
