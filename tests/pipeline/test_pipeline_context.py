"""The run's frozen context, and `load_landed`: the one function a daily load task calls.

The context is read from the settings once per run and tasks read it, not luigi's config;
`load_landed` reads, checks, then writes under the lock, leaving nothing when a check fails.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pipeline_helpers import DAYS, SNAPSHOT_DAY
from sqlalchemy import select
from test_pipeline_graph import batches

from govuk_kpi.core.errors import InputError
from govuk_kpi.kpi.checks import day_totals
from govuk_kpi.pipeline import CheckFailed, configure, run_pipeline
from govuk_kpi.pipeline.checks import Checks
from govuk_kpi.pipeline.config import pipeline_settings
from govuk_kpi.pipeline.context import RunContext, current, running
from govuk_kpi.pipeline.events import read_events
from govuk_kpi.pipeline.tasks import LoadAnalytics
from govuk_kpi.sources.daily_csv import DailyRows
from govuk_kpi.warehouse.db import make_engine
from govuk_kpi.warehouse.load_files import load_landed
from govuk_kpi.warehouse.models import LoadBatch


def test_a_run_reads_its_settings_once_and_its_tasks_read_them_not_luigis(
    workspace: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace
    built: list[RunContext] = []
    real = vars(RunContext)["from_settings"].__func__
    elsewhere = ws["root"] / "elsewhere"

    def from_settings(cls: type[RunContext], s: pipeline_settings) -> RunContext:
        context = real(cls, s)
        built.append(context)
        # luigi's config changes once the run has read it: its tasks must not see that
        configure(work_dir=str(elsewhere), landing=str(elsewhere))
        return context

    monkeypatch.setattr(RunContext, "from_settings", classmethod(from_settings))
    try:
        result = run_pipeline(DAYS[0], DAYS[0], snapshot_date=SNAPSHOT_DAY, **ws["settings"])
    finally:
        monkeypatch.undo()
        configure(**ws["settings"])
    assert result.ok, result.summary
    (context,) = built  # once per run, however many tasks asked
    assert context.run_id == result.run_id
    assert context.landing == Path(ws["settings"]["landing"])
    ran = {e["task"] for e in result.events}
    assert {"govuk_kpi.LoadAnalytics", "govuk_kpi.LoadFeedback", "govuk_kpi.Rollups"} <= ran
    # every task logged to the context's work dir, none to the one luigi's config named later
    assert {e["task"] for e in read_events(context.events_file, result.run_id)} == ran
    assert not elsewhere.exists()
    with pytest.raises(dataclasses.FrozenInstanceError):
        context.run_id = "changed"  # type: ignore[misc]


def test_outside_a_run_the_context_is_luigis_settings_read_once(workspace: dict) -> None:
    ws = workspace
    configure(**ws["settings"])
    first = current()
    assert current() is first  # kept, not read again
    assert first.landing == Path(ws["settings"]["landing"])
    assert first.search_organisations == ()
    assert first.http().cache_dir == Path(ws["settings"]["cache_dir"])
    task = LoadAnalytics(date=DAYS[0], snapshot_date=SNAPSHOT_DAY)
    assert task.path() == first.landing / "analytics" / f"analytics-{DAYS[0]}.csv"
    # A run's context wins over luigi's settings while it is current.
    other = dataclasses.replace(first, landing=Path("/nowhere"))
    with running(other):
        assert current() is other
        assert task.path() == Path(f"/nowhere/analytics/analytics-{DAYS[0]}.csv")
    configure(search_organisations="hm-revenue-customs, dvla")  # new settings: read again
    try:
        assert current().search_organisations == ("hm-revenue-customs", "dvla")
    finally:
        configure(search_organisations="")


@contextmanager
def _noted(log: list[str]) -> Iterator[None]:
    log.append("lock")
    try:
        yield
    finally:
        log.append("unlock")


def _day_facts(url: str) -> list[int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            facts, unmatched = day_totals(connection, DAYS[0], ["pviews"], "analytics")
    finally:
        engine.dispose()
    return [int(facts[0]), int(unmatched[0])]


def test_load_landed_checks_before_it_writes_and_records_an_unreadable_file(
    workspace: dict, tmp_path: Path
) -> None:
    url, path = workspace["url"], workspace["root"] / "landing" / "analytics"
    path = path / f"analytics-{DAYS[0]}.csv"
    before = batches(url)
    log: list[str] = []

    def refuse(rows: DailyRows) -> None:
        log.append("check")
        Checks(f"analytics {DAYS[0]}").require("rows present", False, f"{rows.rows_read} rows")

    engine = make_engine(url)
    try:
        with pytest.raises(CheckFailed, match="rows present"):
            load_landed(engine, path, "analytics", check=refuse, lock=lambda: _noted(log))
        assert log == ["check"]  # read and checked without the lock; nothing written
        assert batches(url) == before
        assert _day_facts(url) == [0, 0]

        broken = tmp_path / f"analytics-{DAYS[0]}.csv"
        broken.write_text("not,the,header\n1,2,3\n", encoding="utf-8")
        with pytest.raises(InputError) as failed:
            load_landed(engine, broken, "analytics", check=refuse, lock=lambda: _noted(log))
        assert str(broken) in str(failed.value)
        assert log == ["check", "lock", "unlock"]  # the failed batch, recorded under the lock
        with engine.connect() as connection:
            new = connection.execute(
                select(LoadBatch.source, LoadBatch.uri, LoadBatch.status).where(
                    LoadBatch.batch_id > max((b[0] for b in before), default=0)
                )
            ).all()
        assert new == [("analytics", str(broken), "failed")]

        log.clear()
        result = load_landed(
            engine,
            path,
            "analytics",
            check=lambda rows: log.append("check"),
            lock=lambda: _noted(log),
        )
        assert log == ["check", "lock", "unlock"]
        assert result.batch_id is not None and result.rows_loaded > 0
        assert sum(_day_facts(url)) > 0
    finally:
        engine.dispose()
