"""The date and month dimensions, filled on demand for the dates facts refer to."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, insert, or_, select
from sqlalchemy.orm import QueryableAttribute

from govuk_kpi.warehouse.models import DimDate, DimMonth


def date_key(day: date) -> int:
    """The date dimension's key, YYYYMMDD."""
    return day.year * 10000 + day.month * 100 + day.day


def month_key(day: date) -> int:
    """The month dimension's key, YYYYMM."""
    return day.year * 100 + day.month


def key_to_date(key: int) -> date:
    """The date a YYYYMMDD key stands for."""
    return date(key // 10000, key // 100 % 100, key % 100)


def month_slug(year: int, month: int) -> str:
    """How periods name a month: `march-2026`."""
    return f"{calendar.month_name[month].lower()}-{year}"


def ensure_dates(connection: Connection, days: Iterable[date]) -> None:
    """Insert the date and month rows that `days` need and the dimensions lack."""
    wanted = set(days)
    if not wanted:
        return
    low, high = min(wanted), max(wanted)
    have = set(
        connection.execute(
            select(DimDate.date_key).where(DimDate.date_key.between(date_key(low), date_key(high)))
        ).scalars()
    )
    missing = sorted(d for d in wanted if date_key(d) not in have)
    if not missing:
        return
    months_have = set(connection.execute(select(DimMonth.month_key)).scalars())
    months = {}
    for day in missing:
        key = month_key(day)
        if key not in months_have and key not in months:
            last = calendar.monthrange(day.year, day.month)[1]
            months[key] = {
                "month_key": key,
                "year": day.year,
                "month": day.month,
                "quarter": (day.month - 1) // 3 + 1,
                "name": calendar.month_name[day.month],
                "slug": month_slug(day.year, day.month),
                "first_day": day.replace(day=1),
                "last_day": day.replace(day=last),
                "days": last,
            }
    if months:
        connection.execute(insert(DimMonth), list(months.values()))
    rows = []
    for day in missing:
        iso = day.isocalendar()
        rows.append(
            {
                "date_key": date_key(day),
                "date": day,
                "year": day.year,
                "quarter": (day.month - 1) // 3 + 1,
                "month": day.month,
                "month_key": month_key(day),
                "iso_year": iso.year,
                "iso_week": iso.week,
                "week_start": day - timedelta(days=iso.weekday - 1),
                "day_of_week": iso.weekday,
                "day_name": calendar.day_name[day.weekday()],
                "is_weekend": iso.weekday >= 6,
            }
        )
    connection.execute(insert(DimDate), rows)


def date_range(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, both included."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def day_runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) runs: a few BETWEENs rather than one key per day."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] == day - timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def on_days(
    column: ColumnElement[Any] | QueryableAttribute[Any], days: Iterable[date]
) -> ColumnElement[bool]:
    """`column` (a YYYYMMDD date key) is one of `days`: exactly those days, never between them."""
    return or_(*(column.between(date_key(a), date_key(b)) for a, b in day_runs(days)))
