"""The whole task graph against the local GOV.UK stand-in and generated landing files.

A module fixture builds the base once: 32 days of history through the pipeline (extract from
the stand-in, load, roll up; no reports), so the report periods have a period before them.
Each test copies that base and runs the three days 2026-10-29..31 on the copy.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from pipeline_helpers import DAYS, SNAPSHOT_DAY, report_set
from sqlalchemy import select

from govuk_kpi.pipeline import landing_file, run_pipeline
from govuk_kpi.pipeline.events import read_events
from govuk_kpi.sample.ga4_events import write_ga4_events
from govuk_kpi.sources.ga4_duckdb import read_ga4
from govuk_kpi.sources.hashing import file_sha256
from govuk_kpi.warehouse.db import make_engine
from govuk_kpi.warehouse.models import LoadBatch
from support.snapshot import snapshot


def run(ws: dict, first: date, last: date, **kw):
    kw.setdefault("report_sets", [report_set(ws["root"])])
    kw.setdefault("snapshot_date", SNAPSHOT_DAY)
    return run_pipeline(first, last, **ws["settings"], **kw)


def families(task_ids: list[str]) -> list[str]:
    """Task ids shortened to family and first parameter (`LoadAnalytics_2026_10_30`)."""
    return sorted("_".join(t.removeprefix("govuk_kpi.").split("_")[:4]) for t in task_ids)


def batches(url: str) -> list[tuple]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                select(
                    LoadBatch.batch_id, LoadBatch.source, LoadBatch.sha256, LoadBatch.status
                ).order_by(LoadBatch.batch_id)
            ).all()
    finally:
        engine.dispose()


def edit_row(path: Path, change) -> None:
    """Rewrite a landing CSV with `change(row)` applied to its first data row."""
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    change(rows[0])
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_three_days_then_nothing_then_only_the_changed_day(workspace: dict) -> None:
    ws, (d1, d2, d3) = workspace, DAYS
    ws["settings"]["publish_dir"] = str(ws["root"] / "www")
    first = run(ws, d1, d3)
    assert first.ok, first.summary
    assert families(first.ran) == [
        "LoadAnalytics_2026_10_29",
        "LoadAnalytics_2026_10_30",
        "LoadAnalytics_2026_10_31",
        "LoadFeedback_2026_10_29",
        "LoadFeedback_2026_10_30",
        "LoadFeedback_2026_10_31",
        "Publish_2026_10_29",
        "Reports_2026_10_29",
        "Reports_2026_10_30",
        "Reports_2026_10_31",
        "Rollups_2026_10_29",
    ]  # the extract and the content loads were done by the base run (same snapshot day)
    reports = ws["root"] / "reports"
    for day in DAYS:
        assert (reports / day.isoformat() / "kpi-overview.html").is_file()
    assert all(f"{day}/kpi-overview.html" in (reports / "index.html").read_text() for day in DAYS)
    published = ws["root"] / "www"
    assert (published / "index.html").read_bytes() == (reports / "index.html").read_bytes()
    assert (published / d3.isoformat() / "kpi-overview.html").is_file()
    assert not list(published.rglob(".pipeline*"))  # the stamps stay behind
    # One JSON event a task, with its duration, row counts and checks.
    load = next(e for e in first.events if e["task"] == "govuk_kpi.LoadAnalytics")
    assert load["status"] == "done" and load["duration_seconds"] >= 0
    assert load["rows"]["loaded"] > 0 and load["rows"]["totals"]["pviews"] > 0
    assert "warehouse totals equal the file's" in load["checks"]
    loaded = batches(ws["url"])

    again = run(ws, d1, d3)
    assert again.ok, again.summary
    assert again.ran == [] and again.events == []
    assert batches(ws["url"]) == loaded  # not even a skipped batch

    day2 = landing_file("analytics", d2, ws["root"] / "landing")
    edit_row(day2, lambda row: row.update(pviews=str(int(row["pviews"]) + 1000)))
    changed = run(ws, d1, d3)
    assert changed.ok, changed.summary
    assert families(changed.ran) == [
        "LoadAnalytics_2026_10_30",
        "Publish_2026_10_29",
        "Reports_2026_10_30",  # its period holds the changed day...
        "Reports_2026_10_31",  # ...and so does the next day's; 10-29's does not
        "Rollups_2026_10_29",
    ]
    new = batches(ws["url"])[len(loaded) :]
    assert [(b.source, b.status) for b in new] == [("analytics", "loaded")]


def test_a_broken_check_fails_its_task_and_stops_everything_below(workspace: dict) -> None:
    ws, day = workspace, DAYS[0]
    path = landing_file("analytics", day, ws["root"] / "landing")
    edit_row(path, lambda row: row.update(upviews=str(int(row["pviews"]) + 5)))
    engine = make_engine(ws["url"])
    before = snapshot(engine, ignore=set())

    failed = run(ws, day, day)
    assert not failed.ok
    [event] = failed.failures
    assert event["task"] == "govuk_kpi.LoadAnalytics"
    message = event["error"]
    assert message.startswith('check "unique views ≤ page views" failed for analytics 2026-10-29')
    assert str(path) in message and "upviews > pviews" in message
    assert failed.ran == []  # nothing below ran: no feedback load, rollups, reports or site
    assert snapshot(engine, ignore=set()) == before  # the warehouse is as it was
    assert not (ws["root"] / "reports" / day.isoformat()).exists()

    # Fixed: a second run does only what is left (the extract and content load stay done).
    edit_row(path, lambda row: row.update(upviews=row["pviews"]))
    fixed = run(ws, day, day, report_sets=[])
    assert fixed.ok, fixed.summary
    assert families(fixed.ran) == [
        "LoadAnalytics_2026_10_29",
        "LoadFeedback_2026_10_29",
        "Rollups_2026_10_29",
    ]
    engine.dispose()


def test_a_missing_landing_file_is_named_and_nothing_loads(workspace: dict) -> None:
    ws, day = workspace, DAYS[1]
    landing_file("feedback", day, ws["root"] / "landing").unlink()
    result = run(ws, day, day, report_sets=[])
    assert not result.ok
    assert "LandingFile(kind=feedback, date=2026-10-30)" in result.summary
    assert "missing external dependencies" in result.summary
    # The analytics of the day load (they do not need the feedback); nothing after them runs.
    assert families(result.ran) == ["LoadAnalytics_2026_10_30"]


def test_events_of_every_run_are_kept(workspace: dict) -> None:
    ws = workspace
    result = run(ws, DAYS[0], DAYS[0], report_sets=[])
    assert result.ok
    events = list(read_events(ws["root"] / "work" / "events.jsonl"))
    assert {e["run_id"] for e in events} >= {result.run_id}
    assert len([e for e in events if e["run_id"] == result.run_id]) == len(result.ran) == 3


def test_a_days_analytics_can_land_as_its_ga4_export(workspace: dict) -> None:
    """Day two's analytics arrive as that day's GA4 export (Parquet) instead of the CSV: the
    pipeline loads it through the same checks, and the warehouse holds what `load ga4` reads."""
    ws, (d1, d2, d3) = workspace, DAYS
    csv_file = landing_file("analytics", d2, ws["root"] / "landing")
    export = csv_file.parent / f"events_{d2:%Y%m%d}.parquet"
    write_ga4_events(export, 5_000, day=d2, seed=3, pages=200)
    csv_file.unlink()
    assert landing_file("analytics", d2, ws["root"] / "landing") == export
    done = run(ws, d1, d3, report_sets=[])
    assert done.ok, done.summary
    load = next(
        e
        for e in done.events
        if e["task"] == "govuk_kpi.LoadAnalytics" and e["params"]["date"] == d2.isoformat()
    )
    expected = read_ga4(export)
    assert load["rows"]["totals"]["pviews"] == int(expected.frame["pviews"].sum()) > 0
    assert "warehouse totals equal the file's" in load["checks"]
    assert any(b.sha256 == file_sha256(export) and b.status == "loaded" for b in batches(ws["url"]))
