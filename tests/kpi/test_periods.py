"""Named periods resolve to the days content-data-api would use."""

from __future__ import annotations

from datetime import date

import pytest

from govuk_kpi.core.errors import ConfigError
from govuk_kpi.core.periods import months_back, resolve_period


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("past-30-days", date(2026, 10, 2), date(2026, 10, 31)),
        ("past-3-months", date(2026, 8, 1), date(2026, 10, 31)),
        ("past-6-months", date(2026, 5, 1), date(2026, 10, 31)),
        ("past-year", date(2025, 11, 1), date(2026, 10, 31)),
        ("last-month", date(2026, 10, 1), date(2026, 10, 31)),
        ("march-2026", date(2026, 3, 1), date(2026, 3, 31)),
        ("February-2024", date(2024, 2, 1), date(2024, 2, 29)),
    ],
)
def test_periods_at_a_month_end(name: str, start: date, end: date) -> None:
    period = resolve_period(name, date(2026, 10, 31))
    assert (period.start, period.end) == (start, end)


def test_last_month_mid_month() -> None:
    period = resolve_period("last-month", date(2026, 11, 15))
    assert (period.start, period.end) == (date(2026, 10, 1), date(2026, 10, 31))


def test_previous_period() -> None:
    window = resolve_period("past-30-days", date(2026, 10, 31))
    before = window.previous()
    assert before.end == date(2026, 10, 1) and before.days == 30
    assert resolve_period("march-2026", date(2026, 10, 31)).previous().name == "february-2026"


def test_months_back_clamps() -> None:
    assert months_back(date(2026, 5, 31), 3) == date(2026, 2, 28)


@pytest.mark.parametrize("name", ["", "past-2-days", "smarch-2026", "march"])
def test_unknown_periods(name: str) -> None:
    with pytest.raises(ConfigError):
        resolve_period(name, date(2026, 10, 31))
