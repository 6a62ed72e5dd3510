"""Load a GA4 BigQuery export from local files with DuckDB: `govuk-kpi load ga4 FILE`.

The export of one `events_YYYYMMDD` table as newline-delimited JSON (`.json`, `.jsonl`,
`.ndjson`, optionally gzipped) or as Parquet (`.parquet`), as `bq extract` writes them. DuckDB
reads the file once, streaming, into the checked events of `ga4_sql` (within `MEMORY_LIMIT`,
spilling to a temporary folder of its own beyond it, whatever the number of events), then
runs the page-day aggregation over them.

What the file promises and what happens when it breaks them:

- A file DuckDB cannot read (not JSON, not UTF-8, cut short, a broken gzip, a line past
  twice `limits().max_line_bytes` or 32 MiB, whichever is more: DuckDB reads in blocks) fails
  as a whole, nothing loaded: the file is then read once more line by line (`ga4.diagnose`)
  to name the line and what is wrong with it. An empty file, or one JSON array rather than one
  event per line, fails too.
- An event that cannot be counted is a reject, with the reason `ga4.reject_reason` words for
  it (the rules are the SQL's; rejects are few, so each is worded in Python). A JSON export has
  no row numbers in DuckDB, so a reject names its event, not its line.
- A duplicate of a counted event (the same name, date, timestamp and user, and the same in
  every parameter the figures read) counts once; each further copy is a reject.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from govuk_kpi.core.errors import InputError
from govuk_kpi.core.limits import limits
from govuk_kpi.core.paths import decode_escapes
from govuk_kpi.sources.daily_csv import ANALYTICS_METRICS, DailyRows
from govuk_kpi.sources.ga4 import diagnose, reject_reason
from govuk_kpi.sources.ga4_sql import FIGURE_COLUMNS, duckdb_sql
from govuk_kpi.sources.lines import is_gzip
from govuk_kpi.sources.reading import MAX_COUNT, input_sha256
from govuk_kpi.sources.records import Reject

# DuckDB's own memory: beyond it, it spills to its temporary folder.
MEMORY_LIMIT = "1GB"
PARQUET_SUFFIXES = (".parquet", ".pq")
DUPLICATE = "duplicate of an earlier event (the same user, name, timestamp and figures)"
RAW_CHARS = 2000  # a reject keeps this much of its event

# How the JSON export is read: each value as text (a number as its digits), checked in SQL.
_PARAMS = (
    "STRUCT(key VARCHAR, value STRUCT(string_value VARCHAR, int_value VARCHAR, "
    "float_value VARCHAR, double_value VARCHAR))[]"
)
_TOP = ("event_name", "event_date", "event_timestamp", "user_pseudo_id")


def _whole_text(value: str) -> str:
    """SQL: text of a 64-bit whole number as a BIGINT, else NULL. (A cast alone would take
    '1.5', ' 12', '+5' or '1e3'.)"""
    # RE2's full match costs a third of trimming a set of characters.
    return f"CASE WHEN regexp_full_match({value}, '-?[0-9]+') THEN TRY_CAST({value} AS BIGINT) END"


# The parameters read: where each is in `params` (its first occurrence).
_PARAM_POSITIONS = {
    "page_location": "at_location",
    "page_referrer": "at_referrer",
    "ga_session_id": "at_session",
    "engagement_time_msec": "at_engaged",
    "type": "at_type",
    "section": "at_section",
    "ui_text": "at_ui_text",
    "text": "at_text",
}


def _with_params(events: str) -> str:
    """`events` (with a `params` list) and, for each parameter read, its position
    (`at_...`), beside the lists of every parameter's key, string value and int value (taking
    whole lists of one field is much cheaper than taking structs out of the list)."""
    lists = (
        "SELECT *, list_transform(params, lambda p: p.key) AS keys,"
        " list_transform(params, lambda p: p.value.string_value) AS strings,"
        f" list_transform(params, lambda p: p.value.int_value) AS ints FROM ({events})"
    )
    positions = ", ".join(
        f"list_position(keys, '{key}') AS {column}" for key, column in _PARAM_POSITIONS.items()
    )
    return f"SELECT *, {positions} FROM ({lists})"


def _read_json(path: Path, gzipped: bool, max_line: int, *, strict: bool) -> str:
    """The export's events as rows of `json` (the line, or NULL), the top fields as text, and
    `params`. `strict` reads the fields shaped, in one parse: a value of an unexpected shape
    (a line that is not an object, parameters that are not a list) fails the read. Otherwise
    each line is read as JSON text first, then shaped: slower, but only a line that is not
    JSON fails."""
    options = (
        f"format = 'newline_delimited', compression = '{'gzip' if gzipped else 'none'}', "
        f"maximum_object_size = {max_line}"
    )
    if strict:
        columns = ", ".join(
            [*(f"'{name}': 'VARCHAR'" for name in _TOP), f"'event_params': '{_PARAMS}'"]
        )
        return (
            f"SELECT NULL AS json, {', '.join(_TOP)}, event_params AS params"
            f" FROM read_json({_quoted(path)}, {options}, columns = {{{columns}}})"
        )
    fields = ", ".join(f'"{name}": "VARCHAR"' for name in _TOP)
    return f"""
SELECT json, {", ".join(f"e.{name} AS {name}" for name in _TOP)},
  TRY_CAST(json->'event_params' AS {_PARAMS}) AS params
FROM (
  SELECT json,
    CASE WHEN json_type(json) = 'OBJECT' THEN from_json(json, '{{{fields}}}') END AS e
  FROM read_json_objects({_quoted(path)}, {options})
)"""


def _json_source(events: str) -> str:
    """`events_raw` from the rows of `_read_json`."""
    return f"""
SELECT
  struct_pack(json, event_name, event_date, event_timestamp := raw_timestamp, user_pseudo_id,
    event_params := params) AS raw,
  CASE
    WHEN json IS NOT NULL AND json_type(json) <> 'OBJECT' THEN 'not_an_object'
    WHEN raw_timestamp IS NOT NULL AND event_timestamp IS NULL THEN 'timestamp_not_whole'
    WHEN session_text IS NOT NULL AND ga_session_id IS NULL THEN 'session_not_whole'
    WHEN engaged_text IS NOT NULL AND engagement_time_msec IS NULL THEN 'engagement_not_whole'
  END AS source_reason,
  *
FROM (
  SELECT
    params,
    json,
    event_timestamp AS raw_timestamp,
    session_text,
    engaged_text,
    event_name,
    event_date,
    {_whole_text("event_timestamp")} AS event_timestamp,
    user_pseudo_id,
    {_whole_text("session_text")} AS ga_session_id,
    strings[at_location] AS page_location,
    strings[at_referrer] AS page_referrer,
    {_whole_text("engaged_text")} AS engagement_time_msec,
    strings[at_type] AS feedback_type,
    strings[at_section] AS feedback_section,
    COALESCE(strings[at_ui_text], strings[at_text]) AS feedback_text
  FROM (
    SELECT
      *,
      -- a parameter's value is its first kind that is set, as the export's readers take it
      COALESCE(strings[at_session], ints[at_session], params[at_session].value.double_value,
        params[at_session].value.float_value) AS session_text,
      -- engagement counts from an int_value only
      IF(strings[at_engaged] IS NULL, ints[at_engaged], NULL) AS engaged_text
    FROM ({_with_params(events)})
  )
)"""


def _parquet_source(path: Path) -> str:
    """`events_raw` from a Parquet export: typed by BigQuery, so only the SQL's rules apply."""
    top = ", ".join(_TOP)
    return f"""
SELECT
  struct_pack({top}, event_params := params) AS raw,
  CAST(NULL AS VARCHAR) AS source_reason,
  event_name,
  event_date,
  event_timestamp,
  user_pseudo_id,
  ints[at_session] AS ga_session_id,
  strings[at_location] AS page_location,
  strings[at_referrer] AS page_referrer,
  ints[at_engaged] AS engagement_time_msec,
  strings[at_type] AS feedback_type,
  strings[at_section] AS feedback_section,
  COALESCE(strings[at_ui_text], strings[at_text]) AS feedback_text
FROM ({_with_params(f"SELECT *, event_params AS params FROM read_parquet({_quoted(path)})")})"""


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


@contextmanager
def _database() -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB database in a temporary folder of its own, gone afterwards."""
    with tempfile.TemporaryDirectory(prefix="govuk-kpi-ga4-") as folder:
        connection = duckdb.connect(":memory:")
        try:
            connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
            connection.execute(f"SET temp_directory = '{folder}'")
            connection.execute(f"SET threads = {os.cpu_count() or 1}")
            connection.execute("SET preserve_insertion_order = false")
            connection.execute("SET enable_progress_bar = false")  # the command says its own
            yield connection
        finally:
            connection.close()


def read_ga4(path: Path | str, *, today: date | None = None) -> DailyRows:
    """Read one GA4 export file into the daily analytics rows `load_daily` loads.

    Raises:
        InputError: the file cannot be read as a whole, naming the file (and line, for JSON).
    """
    path = Path(path)
    sha = input_sha256(path)
    bounds = limits()
    latest = today or date.today()
    sql = duckdb_sql(bounds.earliest_day, latest)
    parquet = path.suffix.lower() in PARQUET_SUFFIXES
    if parquet:
        sources = [_parquet_source(path)]
    else:
        _refuse_a_json_array(path)
        gzipped, max_line = is_gzip(path), bounds.max_line_bytes
        sources = [
            _json_source(_read_json(path, gzipped, max_line, strict=strict))
            for strict in (True, False)
        ]
    with _database() as db:
        for attempt, source in enumerate(sources, start=1):
            try:
                db.execute(
                    "CREATE OR REPLACE TABLE grouped AS "
                    f"WITH events_raw AS ({source}), checked AS ({sql.checked}) {sql.grouped}"
                )
                break
            except (duckdb.InvalidInputException, duckdb.IOException) as exc:
                if attempt < len(sources):
                    continue  # a value of an unexpected shape: read it the careful way
                if not parquet:
                    diagnose(path)  # raises InputError naming the line, when the line reader can
                raise InputError(str(path), f"cannot be read: {_first_line(exc)}") from None
        events_read = _number(db, sql.read)
        if events_read == 0:
            raise InputError(str(path), "empty file: expected one GA4 event per line", 1)
        db.execute(f"CREATE VIEW events AS {sql.events}")
        figures = db.execute(sql.figures_query()).fetch_df()
        rejects: list[Reject] = []
        for code, raw, copies in db.execute(sql.rejects).fetchall():
            text = raw_event(raw)
            reason = reject_reason(code, text, bounds.earliest_day, latest)
            rejects.extend(Reject(None, reason, _cut(text)) for _ in range(copies))
        rejects.extend(Reject(None, DUPLICATE, None) for _ in range(_number(db, sql.duplicates)))
    frame = _page_rows(path, figures)
    return DailyRows("analytics", path, sha, frame, rejects, int(events_read))


def _page_rows(path: Path, figures: pd.DataFrame) -> pd.DataFrame:
    """The aggregation's rows as `DailyRows.frame`: escapes decoded (rows that then meet are
    added up), engagement in whole seconds, sorted by day and page."""
    figures = figures[list(FIGURE_COLUMNS)]
    escaped = figures["page"].str.contains("%", regex=False)
    if escaped.any():
        figures.loc[escaped, "page"] = figures.loc[escaped, "page"].map(decode_escapes)
        figures = figures.groupby(["event_date", "page"], as_index=False, sort=False).sum()
    figures["page_time"] = (figures.pop("engagement_msec") / 1000).round()
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(figures["event_date"], format="%Y%m%d").astype("datetime64[s]"),
            "path": figures["page"].astype("str"),
        }
    )
    for name in ANALYTICS_METRICS:
        frame[name] = figures[name].to_numpy(dtype=np.int64)
    frame = frame[frame[list(ANALYTICS_METRICS)].any(axis=1)]
    frame = frame.sort_values(["date", "path"], ignore_index=True)
    for name in ANALYTICS_METRICS:
        over = frame[frame[name] > MAX_COUNT]
        if not over.empty:
            row = over.iloc[0]
            raise InputError(
                str(path),
                f"{name} of {row['path']} on {row['date'].date().isoformat()} adds up to "
                f"{int(row[name]):,}, more than {MAX_COUNT:,}",
            )
    return frame


def _number(db: duckdb.DuckDBPyConnection, query: str) -> int:
    (value,) = db.execute(query).fetchone() or (None,)
    return int(value or 0)


def _refuse_a_json_array(path: Path) -> None:
    """One JSON array rather than one event per line: refused before DuckDB reads it as one
    event (the line reader sees its first line)."""
    diagnose(path, first_line_only=True)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _cut(raw: str | None) -> str | None:
    return None if raw is None else raw[:RAW_CHARS]


def raw_event(raw: dict[str, Any] | str | None) -> str | None:
    """A rejected event as JSON text: its line where the reader kept it, else the fields
    read (values as text, where the JSON export was read typed) written as JSON."""
    if raw is None or isinstance(raw, str):
        return raw
    if raw.get("json") is not None:
        return str(raw["json"])
    event = {key: value for key, value in raw.items() if key != "json"}
    return json.dumps(event, ensure_ascii=False, default=str)
