"""Small parts of the pipeline: the landing layout, the daily range, checks, the command line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from govuk_kpi.cli import main
from govuk_kpi.pipeline import CheckFailed, daily_range, landing_file
from govuk_kpi.pipeline.checks import Checks
from govuk_kpi.pipeline.tasks import days_between


def test_landing_layout() -> None:
    day = date(2026, 10, 30)
    assert landing_file("analytics", day, "data/landing") == Path(
        "data/landing/analytics/analytics-2026-10-30.csv"
    )
    assert landing_file("feedback", day, "x") == Path("x/feedback/feedback-2026-10-30.csv")
    with pytest.raises(ValueError, match="unknown landing kind"):
        landing_file("ga4", day, "x")


def test_the_daily_run_covers_yesterday_and_the_day_before() -> None:
    assert daily_range(today=date(2026, 11, 1)) == (date(2026, 10, 30), date(2026, 10, 31))
    assert daily_range(date(2026, 3, 1)) == (date(2026, 2, 28), date(2026, 3, 1))
    assert days_between(date(2026, 2, 27), date(2026, 3, 1)) == [
        date(2026, 2, 27),
        date(2026, 2, 28),
        date(2026, 3, 1),
    ]


def test_a_failed_check_names_the_check_and_the_data() -> None:
    checks = Checks("analytics 2026-10-30 (a.csv)")
    checks.require("rows present", True)
    with pytest.raises(CheckFailed) as failed:
        checks.ratio_in_unit_interval("satisfaction within 0..1", "the day's satisfaction", 1.5)
    assert str(failed.value) == (
        'check "satisfaction within 0..1" failed for analytics 2026-10-30 (a.csv): '
        "the day's satisfaction = 1.5, outside 0..1"
    )
    assert checks.passed == ["rows present"]
    with pytest.raises(CheckFailed, match="negative totals: pviews -1"):
        checks.not_negative("totals not negative", {"pviews": -1, "upviews": 0})
    with pytest.raises(CheckFailed, match=r"3 of 100 rows rejected \(3.0%; at most 1.0% allowed\)"):
        checks.at_most_share("rejected rows", 3, 100, 0.01, "rows rejected")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-10-01"], "give both --from and --to"),
        (["--date", "2026-10-01", "--from", "2026-10-01", "--to", "2026-10-02"], "not both"),
    ],
)
def test_run_refuses_unclear_dates(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["run", *args])
    assert result.exit_code != 0 and message in result.output


def test_run_refuses_a_backwards_range(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["run", "--from", "2026-10-02", "--to", "2026-10-01", "--work-dir", str(tmp_path)],
    )
    assert result.exit_code == 1
    assert "error: --from 2026-10-02 is after --to 2026-10-01" in result.output
