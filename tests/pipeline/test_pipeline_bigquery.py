"""The pipeline's BigQuery route (`ga4_route = bigquery`): each day's analytics are GA4's
events aggregated in BigQuery (a local stand-in of its API here) into a snapshot, which the
day's load reads through the same checks."""

from __future__ import annotations

from pathlib import Path

from pipeline_helpers import DAYS, SNAPSHOT_DAY
from sqlalchemy import select

from govuk_kpi.pipeline import run_pipeline
from govuk_kpi.pipeline.config import configure
from govuk_kpi.sample.ga4_events import write_ga4_events
from govuk_kpi.sources.ga4_duckdb import read_ga4
from govuk_kpi.sources.hashing import file_sha256
from govuk_kpi.warehouse.db import make_engine
from govuk_kpi.warehouse.models import LoadBatch
from support.bigquery_standin import BigQueryStandin

DATASET = "ga4-analytics-352613.analytics_330577055"


def test_a_days_analytics_can_come_from_bigquery(workspace: dict, tmp_path: Path) -> None:
    exports = {}
    for day in DAYS:
        export = tmp_path / f"events_{day:%Y%m%d}.parquet"
        exports[day] = write_ga4_events(export, 3_000, day=day, seed=5, pages=200)
    tables = {f"{DATASET}.events_{day:%Y%m%d}": path for day, path in exports.items()}
    try:
        with BigQueryStandin(tables) as standin:
            done = run_pipeline(
                DAYS[0],
                DAYS[-1],
                snapshot_date=SNAPSHOT_DAY,
                **workspace["settings"],
                ga4_route="bigquery",
                bigquery_endpoint=standin.url,
            )
            asked = len(standin.queries())
    finally:  # the settings are the process's: leave the local route for the other tests
        configure(ga4_route="local", bigquery_endpoint="")
    assert done.ok, done.summary
    assert asked == 2 * len(DAYS)  # figures and counts, once a day
    engine = make_engine(workspace["url"])
    try:
        with engine.connect() as connection:
            loaded = connection.execute(
                select(LoadBatch.sha256, LoadBatch.message).where(LoadBatch.status == "loaded")
            ).all()
    finally:
        engine.dispose()
    for day, export in exports.items():
        load = next(
            e
            for e in done.events
            if e["task"] == "govuk_kpi.LoadAnalytics" and e["params"]["date"] == day.isoformat()
        )
        assert load["rows"]["totals"]["pviews"] == int(read_ga4(export).frame["pviews"].sum()) > 0
        assert "warehouse totals equal the file's" in load["checks"]
        page_rows = (
            Path(workspace["settings"]["snapshots"])
            / SNAPSHOT_DAY.isoformat()
            / f"pipeline-ga4-{day:%Y%m%d}"
            / "ga4"
            / f"page-rows-{day:%Y%m%d}.parquet"
        )
        (message,) = [m for sha, m in loaded if sha == file_sha256(page_rows)]
        assert message.startswith(f"BigQuery {DATASET}.events_{day:%Y%m%d}: jobs ")
