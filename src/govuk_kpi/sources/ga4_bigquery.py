"""The GA4 aggregation run where the events are, in BigQuery: `govuk-kpi extract ga4`.

The same definition as the local route (`ga4_sql.bigquery_sql`, ADR 0011), composed over an
`events_raw` read from one of GOV.UK's two GA4 tables:

- the raw export, one sharded table a day, nested (`events_YYYYMMDD`, the parameters in
  `event_params`): `export_events_raw`;
- GOV.UK's flattened, date-partitioned table (one column per parameter, `event_date` a DATE):
  `flattened_events_raw`, which scans only the day's partition.

Two queries run, through the official `google-cloud-bigquery` client (jobs.insert, then
getQueryResults page by page; never the Storage API): the page figures, exactly
`bigquery_sql(day, day).query(events_raw)`, and the counts of events read, duplicates and
rejects by reason (`counts_query`). Each reads the same columns, so a day costs twice the bytes
of one scan (`--dry-run` says how many before anything is paid).

The answer is written into a dated snapshot, as the other extracts are
(`<snapshots>/<YYYY-MM-DD>/ga4/`, `snapshot.json` beside): the figures as they came
(`page-rows-YYYYMMDD.parquet`, columns `ga4_sql.FIGURE_COLUMNS`) and their provenance
(`page-rows-YYYYMMDD.provenance.json`: both queries' text, job ids, bytes processed and
billed, table, location, timestamps, and the counts). `read_ga4_page_rows` reads such a
snapshot into the daily rows `load_daily` loads, through the local route's own last step
(`ga4_duckdb._page_rows`: escapes decoded, engagement in seconds, the count limits).

What BigQuery cannot give as the local readers do: a reject's raw event (the counts carry the
reason's words only, `ga4.reject_reason` of its code) and the readers' own type checks (the
tables are typed, so `source_reason` is NULL).
"""

from __future__ import annotations

import concurrent.futures
import io
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from govuk_kpi.core.errors import ConfigError, InputError
from govuk_kpi.core.version import code_version
from govuk_kpi.sources.ga4_page_rows import KIND, page_rows_name, provenance_name
from govuk_kpi.sources.ga4_sql import FIGURE_COLUMNS, Ga4Sql, bigquery_sql
from govuk_kpi.sources.http.snapshot import SnapshotWriter

if TYPE_CHECKING:  # the client is an optional extra: imported only where a query runs
    from google.cloud import bigquery

# GOV.UK's GA4 tables, as GOV.UK's data community documents them
# (github.com/alphagov/data-community-tech-docs, source/data-sources/ga/ga4-bq and
# source/data-sources/ga/ga4-flat): the live site's raw export is
# `ga4-analytics-352613.analytics_330577055.events_YYYYMMDD`; the flattened table is
# `ga4-analytics-352613.flattened_dataset.partitioned_flattened_events`, partitioned on
# `event_date` (a DATE) and refusing a query without a filter on it.
GA4_PROJECT = "ga4-analytics-352613"
EXPORT_DATASET = "analytics_330577055"
EXPORT_TABLE = "events_{day:%Y%m%d}"
FLATTENED_DATASET = "flattened_dataset"
FLATTENED_TABLE = "partitioned_flattened_events"

ENDPOINT_ENV = "GOVUK_KPI_BIGQUERY_ENDPOINT"
PAGE_SIZE = 50_000  # rows per getQueryResults page: a day of GOV.UK is a few hundred thousand
SOURCE = "bigquery"

# The parameters the figures read, with the value kind each is read from in the typed export:
# the same as the local route reads a Parquet export (`ga4_duckdb._parquet_source`).
# The feedback answer is in `ui_text` (GOV.UK's parameter for the attribute `text`, as
# ga4-dataform's flattening reads it), else in `text`: the first key that has a value.
_EXPORT_PARAMS = {
    "ga_session_id": (("ga_session_id",), "int_value"),
    "page_location": (("page_location",), "string_value"),
    "page_referrer": (("page_referrer",), "string_value"),
    "engagement_time_msec": (("engagement_time_msec",), "int_value"),
    "feedback_type": (("type",), "string_value"),
    "feedback_section": (("section",), "string_value"),
    "feedback_text": (("ui_text", "text"), "string_value"),
}
# The flattened table's columns for the same fields (ga4-dataform, ga4_flattening_1.sqlx:
# `ga_sessionid` is ga_session_id's int_value, `ui_text` the attribute text).
_FLATTENED_COLUMNS = {
    "ga_session_id": "ga_sessionid",
    "page_location": "page_location",
    "page_referrer": "page_referrer",
    "engagement_time_msec": "engagement_time_msec",
    "feedback_type": "type",
    "feedback_section": "section",
    "feedback_text": "ui_text",
}
_TOP = ("event_name", "event_date", "event_timestamp", "user_pseudo_id")
_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")  # project, dataset and table names: no quoting games


@dataclass(frozen=True)
class BigQuerySettings:
    """Where the events are and how to reach BigQuery. A dataset or table left None is
    GOV.UK's documented name for the kind of table (`flattened` or the raw export)."""

    project: str = GA4_PROJECT
    dataset: str | None = None
    table: str | None = None
    flattened: bool = False
    billing_project: str | None = None  # the project the jobs run (and are billed) in
    location: str | None = None  # None: BigQuery takes the table's
    endpoint: str | None = None  # a stand-in's URL; anonymous credentials then
    page_size: int = PAGE_SIZE
    timeout: float = 1800.0  # seconds to wait for a query

    def table_id(self, day: date) -> str:
        """`project.dataset.table` of the day's events."""
        if self.flattened:
            dataset, table = self.dataset or FLATTENED_DATASET, self.table or FLATTENED_TABLE
        else:
            dataset = self.dataset or EXPORT_DATASET
            table = (self.table or EXPORT_TABLE).format(day=day)
        for name in (self.project, dataset, table):
            if not _NAME.match(name):
                raise ConfigError(f"not a BigQuery name: {name!r}")
        return f"{self.project}.{dataset}.{table}"

    @classmethod
    def from_env(cls, **values: Any) -> BigQuerySettings:
        """Settings with the endpoint from `GOVUK_KPI_BIGQUERY_ENDPOINT` unless given."""
        if values.get("endpoint") is None:
            values["endpoint"] = os.environ.get(ENDPOINT_ENV) or None
        return cls(**values)


def export_events_raw(table_id: str) -> str:
    """`events_raw` (`ga4_sql.RAW_COLUMNS`) from the raw nested export: each parameter's value
    is that of its key's first occurrence in `event_params`."""

    def first(key: str, kind: str) -> str:
        return (
            f"(SELECT p.value.{kind} FROM UNNEST(event_params) AS p WITH OFFSET AS o"
            f" WHERE p.key = '{key}' ORDER BY o LIMIT 1)"
        )

    def value(keys: tuple[str, ...], kind: str) -> str:
        values = [first(key, kind) for key in keys]
        return values[0] if len(values) == 1 else f"COALESCE({', '.join(values)})"

    params = ",\n  ".join(
        f"{value(keys, kind)} AS {column}" for column, (keys, kind) in _EXPORT_PARAMS.items()
    )
    top = ",\n  ".join(_TOP)
    return f"""
SELECT
  TO_JSON_STRING(STRUCT({", ".join(_TOP)}, event_params)) AS raw,
  CAST(NULL AS STRING) AS source_reason,
  {top},
  {params}
FROM `{table_id}`"""


def flattened_events_raw(table_id: str, day: date) -> str:
    """`events_raw` from GOV.UK's flattened table: only the day's partition is read."""
    columns = ",\n  ".join(f"{name} AS {column}" for column, name in _FLATTENED_COLUMNS.items())
    fields = ", ".join(["event_name", "event_timestamp", "user_pseudo_id"])
    return f"""
SELECT
  TO_JSON_STRING(STRUCT({fields}, {", ".join(_FLATTENED_COLUMNS.values())})) AS raw,
  CAST(NULL AS STRING) AS source_reason,
  event_name,
  FORMAT_DATE('%Y%m%d', event_date) AS event_date,
  event_timestamp,
  user_pseudo_id,
  {columns}
FROM `{table_id}`
WHERE event_date = DATE '{day.isoformat()}'"""


def counts_query(sql: Ga4Sql, events_raw: str) -> str:
    """Events read, duplicates and rejects, by reason code (NULL: counted or ignored), over
    the same steps as the figures."""
    return (
        f"WITH events_raw AS ({events_raw}),\n"
        f"checked AS ({sql.checked}),\n"
        f"grouped AS ({sql.grouped})\n"
        "SELECT\n"
        "  reason,\n"
        "  SUM(copies) AS events,\n"
        "  SUM(IF(reason IS NULL AND kind IS NOT NULL, copies - 1, 0)) AS duplicates\n"
        "FROM grouped\n"
        "GROUP BY reason"
    )


@dataclass(frozen=True)
class Ga4Queries:
    """The two statements of a day, in BigQuery's dialect."""

    day: date
    table: str
    figures: str  # exactly `bigquery_sql(day, day).query(events_raw)`
    counts: str


def ga4_queries(day: date, settings: BigQuerySettings) -> Ga4Queries:
    """The day's statements over the table `settings` names."""
    table = settings.table_id(day)
    events_raw = (
        flattened_events_raw(table, day) if settings.flattened else export_events_raw(table)
    )
    sql = bigquery_sql(day, day)
    return Ga4Queries(day, table, sql.query(events_raw), counts_query(sql, events_raw))


# -- running them --------------------------------------------------------------------------


def client(settings: BigQuerySettings) -> bigquery.Client:
    """The official client: at the configured endpoint with anonymous credentials, else at
    Google with the application default credentials.

    Raises:
        ConfigError: the client library is missing, or there are no credentials.
    """
    try:
        import google.auth
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery
    except ImportError:
        raise ConfigError(
            "the BigQuery route needs google-cloud-bigquery: pip install 'govuk-kpi[bigquery]'"
        ) from None
    project = settings.billing_project or settings.project
    if settings.endpoint:
        return bigquery.Client(
            project=project,
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            location=settings.location,
            client_options={"api_endpoint": settings.endpoint},
        )
    try:
        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/bigquery"])
    except google.auth.exceptions.DefaultCredentialsError:
        raise ConfigError(
            "no Google credentials for BigQuery: run `gcloud auth application-default login` "
            "or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file"
        ) from None
    return bigquery.Client(project=project, credentials=credentials, location=settings.location)


@dataclass
class QueryRun:
    """What one query job did, for the provenance."""

    purpose: str
    query: str
    job_id: str | None = None
    project: str | None = None
    location: str | None = None
    bytes_processed: int | None = None
    bytes_billed: int | None = None
    cache_hit: bool | None = None
    created: str | None = None
    started: str | None = None
    ended: str | None = None
    rows: int = 0
    pages: int = 0


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="milliseconds")


def _run(
    bq: bigquery.Client,
    purpose: str,
    query: str,
    settings: BigQuerySettings,
    table: str,
    schema: pa.Schema,
) -> tuple[QueryRun, pa.Table]:
    """Run one query and page through all its rows (getQueryResults, `page_size` a page)."""
    from google.cloud import bigquery

    config = bigquery.QueryJobConfig(use_legacy_sql=False)
    with _api_errors(table, settings):
        job = bq.query(query, job_config=config, job_id_prefix=f"govuk_kpi_ga4_{purpose}_")
        rows = job.result(page_size=settings.page_size, timeout=settings.timeout)
        # one record batch a page of getQueryResults; no Storage API client is made
        batches = list(rows.to_arrow_iterable(bqstorage_client=None))
    answer = pa.Table.from_batches(batches) if batches else schema.empty_table()
    run = QueryRun(
        purpose,
        query,
        job_id=job.job_id,
        project=job.project,
        location=job.location,
        bytes_processed=job.total_bytes_processed,
        bytes_billed=job.total_bytes_billed,
        cache_hit=job.cache_hit,
        created=_stamp(job.created),
        started=_stamp(job.started),
        ended=_stamp(job.ended),
        rows=answer.num_rows,
        pages=len(batches),
    )
    return run, answer


@contextmanager
def _api_errors(table: str, settings: BigQuerySettings) -> Iterator[None]:
    """BigQuery's and the network's failures as one line naming the table or endpoint."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth
    from requests import exceptions as http

    try:
        yield
    except auth.DefaultCredentialsError as exc:
        raise ConfigError(f"no Google credentials for BigQuery: {_first_line(exc)}") from None
    except auth.RefreshError as exc:
        raise ConfigError(f"Google credentials refused: {_first_line(exc)}") from None
    except api.NotFound as exc:
        raise InputError(
            table, f"not found (check --project, --dataset, --table): {_first_line(exc.message)}"
        ) from None
    except api.Forbidden as exc:
        raise InputError(table, f"access denied: {_first_line(exc.message)}") from None
    except api.GoogleAPICallError as exc:
        raise InputError(table, f"BigQuery refused the query: {_first_line(exc.message)}") from None
    except (http.ConnectionError, http.Timeout) as exc:
        where = settings.endpoint or "BigQuery"
        raise ConfigError(f"cannot reach {where}: {_first_line(exc)}") from None
    except (TimeoutError, concurrent.futures.TimeoutError):
        raise InputError(
            table, f"the query did not finish within {settings.timeout:.0f} s"
        ) from None


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass(frozen=True)
class DryRun:
    """What the day's queries would scan: BigQuery's dry run of each."""

    table: str
    queries: list[tuple[str, str, int]]  # (purpose, SQL, bytes it would process)

    @property
    def total_bytes(self) -> int:
        return sum(scanned for _, _, scanned in self.queries)


def dry_run_ga4(day: date, settings: BigQuerySettings) -> DryRun:
    """Build the day's queries and have BigQuery dry-run each: nothing is read or billed."""
    from google.cloud import bigquery

    queries = ga4_queries(day, settings)
    bq = client(settings)
    config = bigquery.QueryJobConfig(dry_run=True, use_query_cache=False, use_legacy_sql=False)
    planned = []
    with _api_errors(queries.table, settings):
        for purpose, text in (("figures", queries.figures), ("counts", queries.counts)):
            job = bq.query(text, job_config=config)
            planned.append((purpose, text, int(job.total_bytes_processed or 0)))
    return DryRun(queries.table, planned)


@dataclass
class Ga4Extract:
    """What `extract_ga4` wrote."""

    day: date
    table: str
    page_rows: Path
    provenance: Path
    rows: int
    events_read: int
    rejected: int
    duplicates: int
    bytes_billed: int
    runs: list[QueryRun] = field(default_factory=list)

    def summary(self) -> str:
        jobs = ", ".join(str(run.job_id) for run in self.runs)
        return (
            f"ga4 {self.day.isoformat()}: {self.rows} page rows from {self.table} "
            f"({self.events_read} events read, {self.rejected} rejected, "
            f"{self.duplicates} duplicates; jobs {jobs}; {self.bytes_billed:,} bytes billed) "
            f"into {self.page_rows}"
        )


_FIGURES_SCHEMA = pa.schema(
    [
        ("event_date", pa.string()),
        ("page", pa.string()),
        *((name, pa.int64()) for name in FIGURE_COLUMNS[2:]),
    ]
)


_COUNTS_SCHEMA = pa.schema(
    [("reason", pa.string()), ("events", pa.int64()), ("duplicates", pa.int64())]
)


def extract_ga4(
    day: date,
    settings: BigQuerySettings,
    *,
    root: Path = Path("data/snapshots"),
    snapshot: Path | None = None,
) -> Ga4Extract:
    """Aggregate the day's events in BigQuery and write the page rows and their provenance
    into a snapshot (`snapshot`, else the first dated folder under `root` without `ga4`).

    Raises:
        ConfigError: no client library, no credentials, BigQuery unreachable.
        InputError: BigQuery refused a query (naming the table).
    """
    queries = ga4_queries(day, settings)
    started = datetime.now(UTC)
    bq = client(settings)
    figures_run, figures = _run(
        bq, "figures", queries.figures, settings, queries.table, _FIGURES_SCHEMA
    )
    counts_run, counts = _run(bq, "counts", queries.counts, settings, queries.table, _COUNTS_SCHEMA)
    by_reason: dict[str, int] = {}
    events_read = duplicates = 0
    for row in counts.to_pylist():
        events_read += int(row["events"] or 0)
        duplicates += int(row["duplicates"] or 0)
        if row["reason"] is not None:
            by_reason[str(row["reason"])] = int(row["events"] or 0)
    table = figures.select(list(FIGURE_COLUMNS)).cast(_FIGURES_SCHEMA)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    writer = (
        SnapshotWriter(snapshot, KIND, source=SOURCE)
        if snapshot is not None
        else SnapshotWriter.dated(root, KIND, source=SOURCE)
    )
    url = f"bigquery:{queries.table}"
    entry = writer.save(page_rows_name(day), buffer.getvalue(), url=url, status=None, outcome="ok")
    runs = [figures_run, counts_run]
    provenance = {
        "source": SOURCE,
        "table": queries.table,
        "flattened": settings.flattened,
        "date": day.isoformat(),
        "page_rows": {"file": page_rows_name(day), "sha256": entry["sha256"], "rows": len(table)},
        "events_read": events_read,
        "duplicates": duplicates,
        "rejects": dict(sorted(by_reason.items())),
        "started_at": _stamp(started),
        "finished_at": _stamp(datetime.now(UTC)),
        "code_version": code_version(),
        "client": f"google-cloud-bigquery {_client_version()}",
        "endpoint": settings.endpoint,
        "queries": [asdict(run) for run in runs],
    }
    body = (json.dumps(provenance, indent=1) + "\n").encode()
    writer.save(provenance_name(day), body, url=f"{url}#provenance", status=None, outcome="ok")
    writer.finish(table=queries.table, jobs=[run.job_id for run in runs])
    return Ga4Extract(
        day,
        queries.table,
        writer.data_dir / page_rows_name(day),
        writer.data_dir / provenance_name(day),
        len(table),
        events_read,
        sum(by_reason.values()) + duplicates,
        duplicates,
        sum(run.bytes_billed or 0 for run in runs),
        runs,
    )


def _client_version() -> str:
    from google.cloud import bigquery

    return str(bigquery.__version__)
