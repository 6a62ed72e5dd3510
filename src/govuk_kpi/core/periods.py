"""Named reporting periods (content-data-api's date ranges) resolved against an as-of date."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from govuk_kpi.core.errors import ConfigError

WINDOWS: tuple[str, ...] = ("past-30-days", "past-3-months", "past-6-months", "past-year")
NAMED: tuple[str, ...] = (*WINDOWS, "last-month")
_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTH_PERIOD = re.compile(r"^([a-z]+)-(\d{4})$")


@dataclass(frozen=True)
class Period:
    """A named span of whole days, both ends included."""

    name: str
    start: date
    end: date
    kind: str  # "window" (rolling, ends on the as-of date) or "month" (a calendar month)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period just before, of the same kind and length, for trends."""
        if self.kind == "month":
            last = self.start - timedelta(days=1)
            return Period(month_period_name(last), last.replace(day=1), last, "month")
        end = self.start - timedelta(days=1)
        return Period(f"{self.name} before", end - timedelta(days=self.days - 1), end, "window")


def months_back(day: date, months: int) -> date:
    """The same day `months` months earlier, clamped to the end of a shorter month."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_period_name(day: date) -> str:
    """`march-2026` for any day of March 2026."""
    return f"{calendar.month_name[day.month].lower()}-{day.year}"


def window_start(window: str, as_of: date) -> date:
    """The first day of a rolling window that ends on `as_of`."""
    if window == "past-30-days":
        return as_of - timedelta(days=29)
    months = {"past-3-months": 3, "past-6-months": 6, "past-year": 12}.get(window)
    if months is None:
        raise ConfigError(f"unknown window {window!r}; expected one of {', '.join(WINDOWS)}")
    return months_back(as_of, months) + timedelta(days=1)


def resolve_period(name: str, as_of: date) -> Period:
    """Turn a period name into dates.

    Args:
        name: past-30-days, last-month, past-3-months, past-6-months, past-year, or a month
            such as `march-2026`.
        as_of: the last day with data (windows end here; last-month is the month before it,
            or its own month when `as_of` is a month's last day).

    Raises:
        ConfigError: the name is none of these.
    """
    key = name.strip().lower()
    if key in WINDOWS:
        return Period(key, window_start(key, as_of), as_of, "window")
    if key == "last-month":
        following = as_of + timedelta(days=1)
        last = as_of if following.day == 1 else as_of.replace(day=1) - timedelta(days=1)
        return Period(month_period_name(last), last.replace(day=1), last, "month")
    match = _MONTH_PERIOD.match(key)
    if match and match.group(1) in _MONTHS:
        year, month = int(match.group(2)), _MONTHS[match.group(1)]
        return Period(
            key,
            date(year, month, 1),
            date(year, month, calendar.monthrange(year, month)[1]),
            "month",
        )
    raise ConfigError(
        f"unknown period {name!r}; expected one of {', '.join(NAMED)} or a month like march-2026"
    )
