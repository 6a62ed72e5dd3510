"""A daily load replaces only the days its file holds: a mistyped date can never erase history.

Run through the command line on both backends, against a warehouse holding analytics and
feedback for nine days (`support.corpus.HISTORY`).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from govuk_kpi.warehouse.calendar import date_key
from govuk_kpi.warehouse.db import get_engine
from govuk_kpi.warehouse.models import (
    DimDate,
    FactPageDaily,
    FactUnmatchedDaily,
    LoadBatchDay,
    LoadReject,
)
from support.corpus import (
    ANALYTICS_HEADER,
    CURRICULUM,
    FEEDBACK_HEADER,
    HISTORY,
    PETS,
    CorpusWarehouse,
    analytics_line,
    assert_no_traceback,
    batches,
    corpus_template,  # noqa: F401 (a fixture)
    corpus_warehouse,  # noqa: F401 (a fixture)
    feedback_line,
    fingerprint,
    run_load,
)


def facts_by_day(url: str) -> dict[int, tuple]:
    """Per date key, every fact and unmatched row of that day (sorted)."""
    days: dict[int, list] = {}
    with get_engine(url).connect() as connection:
        for table in (FactPageDaily.__table__, FactUnmatchedDaily.__table__):
            for row in connection.execute(select(table)):
                values = tuple(row)
                days.setdefault(row.date_key, []).append((table.name, *map(str, values)))
    return {key: tuple(sorted(rows)) for key, rows in days.items()}


def day_changes(url: str, batch_id: int) -> list[tuple[int, int, int]]:
    """(date key, rows deleted, rows added) of a batch, by day."""
    with get_engine(url).connect() as connection:
        return [
            tuple(r)
            for r in connection.execute(
                select(LoadBatchDay.date_key, LoadBatchDay.rows_deleted, LoadBatchDay.rows_added)
                .where(LoadBatchDay.batch_id == batch_id)
                .order_by(LoadBatchDay.date_key)
            )
        ]


def write(path: Path, header: str, lines: list[str]) -> Path:
    path.write_text(header + "\n" + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def test_an_ancient_date_is_a_reject_and_no_other_day_changes(
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """One good row and one dated 1970-01-01 (or 0001-01-01): the good row loads, the old one is
    a reject, and no fact of any other day changes; the date dimension gains no decades."""
    for ancient in ("1970-01-01", "0001-01-01"):
        url = corpus_warehouse.fresh()
        day = HISTORY[-1]
        before = facts_by_day(url)
        with get_engine(url).connect() as connection:
            dates_before = connection.execute(select(func.count()).select_from(DimDate)).scalar()
        bad = analytics_line(PETS, "7", day).replace(day.isoformat(), ancient)
        path = write(tmp_path / f"ancient-{ancient}.csv", ANALYTICS_HEADER, [
            analytics_line(CURRICULUM, "42", day),
            bad,
        ])  # fmt: skip
        result = run_load(url, "analytics", path)
        assert_no_traceback(result)
        assert result.exit_code == 0, result.output
        batch = batches(url)[-1]
        assert (batch.status, batch.rows_loaded, batch.rows_rejected) == ("loaded", 1, 1)
        with get_engine(url).connect() as connection:
            reasons = connection.execute(
                select(LoadReject.reason).where(LoadReject.batch_id == batch.batch_id)
            ).scalars()
            assert list(reasons) == [f"date {ancient} is before the earliest day 2012-10-17"]
            dates_after = connection.execute(select(func.count()).select_from(DimDate)).scalar()
        assert dates_after == dates_before
        after = facts_by_day(url)
        key = date_key(day)
        assert {k: v for k, v in after.items() if k != key} == {
            k: v for k, v in before.items() if k != key
        }
        # The day the file holds was replaced wholly: its one row, no feedback lost.
        assert day_changes(url, batch.batch_id) == [(key, 3, 1)]
        assert "-3 +1" in result.output


def test_a_file_of_two_days_a_year_apart_replaces_those_two_days_only(
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Days between a file's first and last date are not the file's: they keep their facts."""
    url = corpus_warehouse.fresh()
    first, last = HISTORY[0], HISTORY[0] + timedelta(days=365)
    before = facts_by_day(url)
    path = write(tmp_path / "two-days.csv", ANALYTICS_HEADER, [
        analytics_line(CURRICULUM, "1", first),
        analytics_line(CURRICULUM, "2", last),
    ])  # fmt: skip
    result = run_load(url, "analytics", path)
    assert result.exit_code == 0, result.output
    after = facts_by_day(url)
    untouched = set(before) - {date_key(first)}
    assert {k: after[k] for k in untouched} == {k: before[k] for k in untouched}
    assert set(after) == set(before) | {date_key(last)}
    batch = batches(url)[-1]
    assert day_changes(url, batch.batch_id) == [(date_key(first), 3, 1), (date_key(last), 0, 1)]


def test_feedback_replaces_only_its_days_and_keeps_analytics(
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A feedback file of two days replaces those days' feedback, every page view stays."""
    url = corpus_warehouse.fresh()
    days = [HISTORY[1], HISTORY[4]]
    views = _views(url)
    path = write(
        tmp_path / "feedback.csv", FEEDBACK_HEADER, [feedback_line(PETS, "9", d) for d in days]
    )
    result = run_load(url, "feedback", path)
    assert result.exit_code == 0, result.output
    assert _views(url) == views
    with get_engine(url).connect() as connection:
        feedex = dict(
            connection.execute(
                select(FactPageDaily.date_key, func.sum(FactPageDaily.feedex)).group_by(
                    FactPageDaily.date_key
                )
            ).all()
        )
    for i, day in enumerate(HISTORY):
        # Each history day holds feedex 1 + i on the two pages (the third is unmatched).
        assert feedex[date_key(day)] == (9 if day in days else 2 * (1 + i))


def _views(url: str) -> int:
    with get_engine(url).connect() as connection:
        return connection.execute(select(func.sum(FactPageDaily.pviews))).scalar()


def test_replace_names_the_range_it_deletes(
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """`--replace START END` deletes every day of the range the file does not hold, and says
    per day what it deleted and added."""
    url = corpus_warehouse.fresh()
    start, end = HISTORY[2], HISTORY[4]
    before = facts_by_day(url)
    path = write(tmp_path / "range.csv", ANALYTICS_HEADER, [analytics_line(PETS, "5", HISTORY[3])])
    result = run_load(url, "analytics", path, "--replace", start.isoformat(), end.isoformat())
    assert result.exit_code == 0, result.output
    after = facts_by_day(url)
    inside = {date_key(start + timedelta(days=d)) for d in range((end - start).days + 1)}
    assert {k: v for k, v in after.items() if k not in inside} == {
        k: v for k, v in before.items() if k not in inside
    }
    # The range's other history days keep their feedback; their analytics went.
    with get_engine(url).connect() as connection:
        for day in (start, end):
            views = connection.execute(
                select(func.sum(FactPageDaily.pviews), func.sum(FactPageDaily.feedex)).where(
                    FactPageDaily.date_key == date_key(day)
                )
            ).one()
            assert tuple(views) == (0, 2 * (1 + HISTORY.index(day)))
            sources = connection.execute(
                select(FactUnmatchedDaily.source).where(
                    FactUnmatchedDaily.date_key == date_key(day)
                )
            ).scalars()
            assert list(sources) == ["feedback"]
    changes = day_changes(url, batches(url)[-1].batch_id)
    assert len(changes) == len(inside)
    assert changes[0] == (date_key(start), 3, 0)
    assert (date_key(HISTORY[3]), 3, 1) in changes
    assert (date_key(start + timedelta(days=1)), 0, 0) in changes


def test_replace_refuses_a_file_outside_its_range(
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A file holding a day outside `--replace`'s range fails whole, naming the day."""
    url = corpus_warehouse.fresh()
    before = fingerprint(url)
    path = write(
        tmp_path / "outside.csv", ANALYTICS_HEADER, [analytics_line(PETS, "5", HISTORY[6])]
    )
    result = run_load(url, "analytics", path, "--replace", str(HISTORY[2]), str(HISTORY[4]))
    assert_no_traceback(result)
    assert result.exit_code == 1
    assert f"holds {HISTORY[6]}, outside --replace {HISTORY[2]} {HISTORY[4]}" in result.stderr
    assert fingerprint(url) == before


def test_dry_run_prints_the_plan_and_writes_nothing(
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """`--dry-run` says per day what the load would delete and add, and changes no table."""
    url = corpus_warehouse.fresh()
    before, earlier = fingerprint(url), batches(url)
    day = HISTORY[5]
    path = write(tmp_path / "dry.csv", ANALYTICS_HEADER, [
        analytics_line(CURRICULUM, "1", day),
        analytics_line("/new-page", "1", day),
        analytics_line(PETS, "-1", day),
    ])  # fmt: skip
    result = run_load(url, "analytics", path, "--dry-run")
    assert_no_traceback(result)
    assert result.exit_code == 0, result.output
    assert "dry run, nothing written" in result.output
    assert f"{day}: would delete 3 rows, add 2" in result.output
    assert fingerprint(url) == before
    assert batches(url) == earlier


def test_batches_shows_the_days_each_load_replaced(
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """`govuk-kpi batches` lists each daily load's days with rows deleted and added."""
    from click.testing import CliRunner

    from govuk_kpi.cli import main

    url = corpus_warehouse.fresh()
    day = HISTORY[-1]
    path = write(tmp_path / "one.csv", ANALYTICS_HEADER, [analytics_line(PETS, "5", day)])
    assert run_load(url, "analytics", path).exit_code == 0
    shown = CliRunner().invoke(main, ["--database-url", url, "batches"])
    assert shown.exit_code == 0, shown.output
    newest = shown.output.splitlines()[1]
    assert f"{day} -3 +1" in newest
    history = [line for line in shown.output.splitlines() if "history-analytics" in line]
    assert f"{len(HISTORY)} days {HISTORY[0]}..{HISTORY[-1]} -0 +{3 * len(HISTORY)}" in history[0]
    one = CliRunner().invoke(main, ["--database-url", url, "batches", "--batch", "3"])
    assert one.exit_code == 0
    assert len(one.output.splitlines()) == 1 + len(HISTORY)
