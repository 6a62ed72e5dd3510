"""The BigQuery route of the GA4 aggregation, against a local stand-in of BigQuery's REST API.

The stand-in (`support.bigquery_standin`) is a real HTTP server that the official client
talks to; it answers each query by transpiling the BigQuery SQL it receives to DuckDB and
running it over a table in the export's shape. So these tests show what the client sends
(exactly the definition's text, which BigQuery's dialect parses), that every page of the
answer is kept, what the snapshot holds, and that loading it gives the warehouse what loading
the same events locally gives.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from click.testing import CliRunner

from govuk_kpi.cli import main
from govuk_kpi.sample.ga4_events import GA4_SCHEMA, write_ga4_events
from govuk_kpi.sources.ga4_bigquery import (
    BigQuerySettings,
    dry_run_ga4,
    export_events_raw,
    extract_ga4,
    flattened_events_raw,
    ga4_queries,
)
from govuk_kpi.sources.ga4_duckdb import read_ga4
from govuk_kpi.sources.ga4_page_rows import is_page_rows, read_ga4_page_rows
from govuk_kpi.sources.ga4_sql import bigquery_sql
from support.bigquery_standin import LOCATION, BigQueryStandin
from support.corpus import (
    CURRICULUM,
    PETS,
    CorpusWarehouse,
    batches,
    corpus_template,  # noqa: F401 (a fixture)
    corpus_warehouse,  # noqa: F401 (a fixture)
    fingerprint,
    run_load,
)

DAY = date(2026, 10, 30)
EXPORT = "ga4-analytics-352613.analytics_330577055.events_20261030"
FLATTENED = "ga4-analytics-352613.flattened_dataset.partitioned_flattened_events"
GOVUK = "https://www.gov.uk"


def _param(key: str, value: Any) -> dict[str, Any]:
    kind = "int_value" if isinstance(value, int) else "string_value"
    slots: dict[str, Any] = dict.fromkeys(
        ("string_value", "int_value", "float_value", "double_value")
    )
    slots[kind] = value
    return {"key": key, "value": slots}


def _event(
    name: str,
    page: str | None,
    stamp: int | None,
    user: str = "9.9",
    session: int = 5,
    day: date = DAY,
    *extra: dict[str, Any],
) -> dict[str, Any]:
    params = [_param("ga_session_id", session), *extra]
    if page is not None:
        params.insert(0, _param("page_location", page))
    return {
        "event_date": f"{day:%Y%m%d}",
        "event_timestamp": stamp,
        "event_name": name,
        "event_params": params,
        "user_pseudo_id": user,
    }


def _typed_rejects(day: date) -> list[dict[str, Any]]:
    """Events BigQuery's types can hold that the definition rejects (or folds), one a rule."""
    return [
        _event("page_view", "https://example.com/x", 1, day=day),  # off GOV.UK
        _event("page_view", None, 2, day=day),  # no page
        _event("page_view", f"{GOVUK}/tax", -5, day=day),  # negative timestamp
        _event("page_view", f"{GOVUK}/tax", None, day=day),  # no timestamp
        _event("page_view", f"{GOVUK}/tax", 7, "8.8", 2, day),  # and its duplicate:
        _event("page_view", f"{GOVUK}/tax", 7, "8.8", 2, day),
        {**_event("page_view", f"{GOVUK}/tax", 8, day=day), "event_date": "2026-10-30"},
        _event("search", f"{GOVUK}/search", 9, "1.1", 1, day, _param("page_referrer", "/pay")),
        _event(
            "form_submit",
            f"{GOVUK}/pay",
            10,
            "1.1",
            1,
            day,
            _param("type", "feedback"),
            _param("section", "Is this page useful?"),
            _param("ui_text", "Yes"),
        ),
    ]


def _export(path: Path, day: date, events: int = 3_000, pages: int = 200) -> Path:
    """A day's export as BigQuery's Parquet: a generated day in GOV.UK's shape, and the
    events of `_typed_rejects`."""
    generated = write_ga4_events(
        path.with_name("generated.parquet"), events, day=day, seed=11, pages=pages
    )
    extra = pa.Table.from_pylist(_typed_rejects(day), schema=GA4_SCHEMA)
    pq.write_table(pa.concat_tables([pq.read_table(generated), extra]), path)
    return path


def _flattened(path: Path, export: Path) -> Path:
    """GOV.UK's flattened table made from an export as ga4-dataform makes it (one column a
    parameter, `event_date` a DATE, `ga_sessionid`, `ui_text`), with a day more to prune."""

    def param(key: str, kind: str) -> str:
        return f"list_filter(event_params, lambda p: p.key = '{key}')[1].value.{kind}"

    source = str(export)
    with duckdb.connect() as db:
        db.execute(
            f"""
COPY (
  SELECT
    CAST(strptime(event_date, '%Y%m%d') AS DATE) + shift AS event_date,
    user_pseudo_id,
    event_name,
    event_timestamp,
    {param("page_location", "string_value")} AS page_location,
    {param("ga_session_id", "int_value")} AS ga_sessionid,
    {param("page_referrer", "string_value")} AS page_referrer,
    {param("engagement_time_msec", "int_value")} AS engagement_time_msec,
    {param("type", "string_value")} AS type,
    {param("section", "string_value")} AS section,
    {param("ui_text", "string_value")} AS ui_text,
    {param("page_title", "string_value")} AS page_title
  FROM read_parquet('{source}'), (VALUES (0), (1)) AS days(shift)
  WHERE event_date = '{DAY:%Y%m%d}'
) TO '{path}' (FORMAT parquet)"""
        )
    return path


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _export(tmp_path_factory.mktemp("export") / "events_20261030.parquet", DAY)


@pytest.fixture
def standin(export: Path) -> Iterator[BigQueryStandin]:
    with BigQueryStandin({EXPORT: export}) as server:
        yield server


def _settings(standin: BigQueryStandin, **values: Any) -> BigQuerySettings:
    return BigQuerySettings(endpoint=standin.url, page_size=40, **values)


def test_the_query_sent_is_the_definition_and_every_page_is_kept(
    standin: BigQueryStandin, export: Path, tmp_path: Path
) -> None:
    result = extract_ga4(DAY, _settings(standin), root=tmp_path)

    figures_sent, counts_sent = standin.queries()
    assert figures_sent == bigquery_sql(DAY, DAY).query(export_events_raw(EXPORT))
    assert counts_sent == ga4_queries(DAY, _settings(standin)).counts
    for text in (figures_sent, counts_sent):
        sqlglot.parse_one(text, read="bigquery")  # raises on what BigQuery would not parse
    # several pages of 40 rows, each asked for and kept
    job = result.runs[0]
    asked = standin.result_pages(str(job.job_id))
    assert job.pages == len(asked) >= 3
    assert {e["params"]["maxResults"][0] for e in asked} == {"40"}
    assert len(standin.jobs[str(job.job_id)].rows) == result.rows == job.rows
    assert not any("bigquerystorage" in e["path"] or "readSession" in e["path"]
                   for e in standin.log)  # fmt: skip

    # the page rows are those the local route gives on the same events, rejects included
    got, want = read_ga4_page_rows(result.page_rows), read_ga4(export, today=DAY)
    assert got.frame.equals(want.frame)
    assert got.rows_read == want.rows_read == result.events_read
    assert len(got.rejects) == len(want.rejects) == result.rejected == 6
    assert got.frame["useful_yes"].sum() > 0 and got.frame["entrances"].sum() > 0


def test_a_small_server_page_is_followed_by_its_token(export: Path, tmp_path: Path) -> None:
    with BigQueryStandin({EXPORT: export}, max_page_rows=37) as standin:
        result = extract_ga4(DAY, _settings(standin), root=tmp_path)
        tokens = [e["params"].get("pageToken") for e in standin.result_pages(result.runs[0].job_id)]
    assert result.runs[0].pages == len(tokens) > 3
    assert tokens[0] is None and all(t is not None for t in tokens[1:])
    assert read_ga4_page_rows(result.page_rows).frame.equals(read_ga4(export, today=DAY).frame)


def test_the_snapshot_holds_the_rows_and_their_provenance(
    standin: BigQueryStandin, tmp_path: Path
) -> None:
    result = extract_ga4(DAY, _settings(standin), root=tmp_path)

    folder = result.page_rows.parent
    assert folder.parent.parent == tmp_path and folder.name == "ga4"
    assert result.page_rows.name == "page-rows-20261030.parquet"
    assert is_page_rows(result.page_rows) and is_page_rows(folder.parent)
    for written in (result.page_rows, result.provenance):
        assert stat.S_IMODE(written.stat().st_mode) == 0o444
    provenance = json.loads(result.provenance.read_text())
    sent = standin.queries()
    assert provenance["table"] == EXPORT and provenance["date"] == "2026-10-30"
    assert [q["query"] for q in provenance["queries"]] == sent
    for run, text in zip(provenance["queries"], sent, strict=True):
        assert run["job_id"] in standin.jobs
        assert run["location"] == LOCATION and run["project"] == "ga4-analytics-352613"
        assert run["bytes_processed"] == standin.bytes_for(text) > 0
        assert run["bytes_billed"] >= run["bytes_processed"]
        assert run["created"] and run["started"] and run["ended"]
    assert provenance["rejects"] == {
        "date_format": 1,
        "negative_timestamp": 1,
        "no_path": 1,
        "no_timestamp": 1,
        "path_not_absolute": 1,
    }
    assert provenance["duplicates"] == 1
    manifest = json.loads((folder.parent / "snapshot.json").read_text())
    entries = manifest["kinds"]["ga4"]["entries"]
    assert {e["file"] for e in entries} == {
        "ga4/page-rows-20261030.parquet",
        "ga4/page-rows-20261030.provenance.json",
    }
    # a second extract of the day goes to the next folder, as every extract kind does
    again = extract_ga4(DAY, _settings(standin), root=tmp_path)
    assert again.page_rows.parent.parent.name == folder.parent.name + "-2"


def test_the_flattened_table_reads_only_the_days_partition(export: Path, tmp_path: Path) -> None:
    flat = _flattened(tmp_path / "flat.parquet", export)
    with BigQueryStandin({FLATTENED: flat}) as standin:
        settings = _settings(standin, flattened=True)
        result = extract_ga4(DAY, settings, root=tmp_path)
        sent = standin.queries()[0]
    assert sent == bigquery_sql(DAY, DAY).query(flattened_events_raw(FLATTENED, DAY))
    assert "WHERE event_date = DATE '2026-10-30'" in sent
    got = read_ga4_page_rows(result.page_rows)
    want = read_ga4(export, today=DAY)
    assert got.frame.equals(want.frame)  # the next day's copies were never read
    # the flattened table has no raw date text: a date the export mangles cannot be told
    assert got.rows_read == want.rows_read - 1


def test_dry_run_prints_the_sql_and_the_bytes(standin: BigQueryStandin, tmp_path: Path) -> None:
    planned = dry_run_ga4(DAY, _settings(standin))
    assert [p for p, _, _ in planned.queries] == ["figures", "counts"]
    result = CliRunner().invoke(
        main,
        ["extract", "ga4", "--date", "2026-10-30", "--snapshots", str(tmp_path), "--dry-run"],
        env={"GOVUK_KPI_BIGQUERY_ENDPOINT": standin.url},
    )
    assert result.exit_code == 0, result.output
    figures = bigquery_sql(DAY, DAY).query(export_events_raw(EXPORT))
    assert figures.strip() in result.output
    assert f"would process {planned.total_bytes:,} bytes in all" in result.output
    assert f"figures: would process {standin.bytes_for(figures):,} bytes" in result.output
    assert standin.queries(dry_run=False) == [] and not standin.jobs
    assert not any(tmp_path.iterdir())  # nothing written


def test_extract_then_load_gives_the_figures_of_loading_the_events(
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Through the command line: `extract ga4` then `load ga4 <snapshot folder>` leaves the
    warehouse exactly as `load ga4 events_YYYYMMDD.parquet` leaves a copy of it."""
    day = date(2024, 3, 5)  # a day of the corpus warehouse, whose pages match
    events = _export(tmp_path / "events_20240305.parquet", day, events=2_000, pages=50)
    matched = pa.Table.from_pylist(
        [
            _event("page_view", f"{GOVUK}{CURRICULUM}", 50, "5.1", 1, day),
            _event("page_view", f"{GOVUK}{PETS}?x=1", 51, "5.1", 1, day),
            _event("page_view", f"{GOVUK}{PETS}", 52, "5.2", 1, day),
        ],
        schema=GA4_SCHEMA,
    )
    pq.write_table(pa.concat_tables([pq.read_table(events), matched]), events)
    table = "ga4-analytics-352613.analytics_330577055.events_20240305"
    with BigQueryStandin({table: events}) as standin:
        extracted = CliRunner().invoke(
            main,
            [
                "extract",
                "ga4",
                "--date",
                "2024-03-05",
                "--page-size",
                "50",
                "--snapshots",
                str(tmp_path / "snapshots"),
                "--endpoint",
                standin.url,
            ],
        )
    assert extracted.exit_code == 0, extracted.output
    assert "page rows from " + table in extracted.output
    (snapshot,) = (tmp_path / "snapshots").iterdir()

    via_bigquery, local = corpus_warehouse.fresh(), corpus_warehouse.fresh()
    loaded = run_load(via_bigquery, "ga4", snapshot)
    assert loaded.exit_code == 0, loaded.output
    # the local route's window ends today: only the day's events are in the file, as in GA4's
    assert run_load(local, "ga4", events).exit_code == 0
    leave_out = ("load_batch", "load_reject")
    assert fingerprint(via_bigquery, leave_out=leave_out) == fingerprint(local, leave_out=leave_out)
    bq_batch, local_batch = batches(via_bigquery)[-1], batches(local)[-1]
    for count in ("rows_read", "rows_loaded", "rows_rejected", "rows_unmatched"):
        assert getattr(bq_batch, count) == getattr(local_batch, count), count
    assert bq_batch.rows_loaded > bq_batch.rows_unmatched  # pages matched editions
    assert bq_batch.uri.endswith("ga4/page-rows-20240305.parquet")
    assert bq_batch.message.startswith(f"BigQuery {table}: jobs ga4-analytics-352613:")
    # loading it again is recognised as the same input
    again = run_load(via_bigquery, "ga4", snapshot / "ga4" / "page-rows-20240305.parquet")
    assert "unchanged since batch" in again.output


def test_page_rows_without_their_provenance_are_refused(
    standin: BigQueryStandin, tmp_path: Path
) -> None:
    result = extract_ga4(DAY, _settings(standin), root=tmp_path)
    alone = tmp_path / "alone" / result.page_rows.name
    alone.parent.mkdir()
    alone.write_bytes(result.page_rows.read_bytes())
    outcome = run_load(f"sqlite:///{tmp_path}/w.db", "ga4", alone)
    # the schema check comes first on an empty database; upgrade it and try again
    assert outcome.exit_code == 1
    CliRunner().invoke(main, ["--database-url", f"sqlite:///{tmp_path}/w.db", "db", "upgrade"])
    outcome = run_load(f"sqlite:///{tmp_path}/w.db", "ga4", alone)
    assert outcome.exit_code == 1
    assert "no provenance beside it" in outcome.stderr
    assert "Traceback" not in outcome.output


def test_an_unknown_table_is_one_line(standin: BigQueryStandin, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "extract",
            "ga4",
            "--date",
            "2026-10-31",
            "--snapshots",
            str(tmp_path),
            "--endpoint",
            standin.url,
        ],
    )
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ga4-analytics-352613.analytics_330577055.events_20261031: ")
    assert "not found" in line
    assert not any(tmp_path.iterdir())


def test_no_credentials_is_one_line_without_a_traceback(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GOOGLE_", "GCLOUD", "CLOUDSDK", "GOVUK_KPI_BIGQUERY"))
    }
    # no key file, no gcloud configuration, and no metadata server to ask
    env.update(HOME=str(tmp_path), CLOUDSDK_CONFIG=str(tmp_path / "gcloud"), NO_GCE_CHECK="true")
    done = subprocess.run(
        [
            Path(sys.executable).with_name("govuk-kpi"),
            "extract",
            "ga4",
            "--date",
            "2026-10-30",
            "--snapshots",
            str(tmp_path / "snapshots"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: no Google credentials for BigQuery: run `gcloud auth application-default "
        "login` or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file"
    ]
    assert not (tmp_path / "snapshots").exists()
