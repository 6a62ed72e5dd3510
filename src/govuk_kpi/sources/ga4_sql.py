"""The one definition of the GA4 → page-day aggregation, as SQL (ADR 0011).

Written once in BigQuery's dialect, where GOV.UK's events are, and transpiled by sqlglot for
DuckDB, which runs it over local exports. Steps, each a query over the one before:

- `checked`: every event of `events_raw` (one row per event, the GA4 fields this warehouse
  reads, already flattened out of `event_params` by the reader of each format) with `reason`,
  the code of why it cannot be counted (NULL when it can), `kind` (page_view, search,
  feedback, engagement; NULL for an event not counted), and its page keys;
- `grouped`: the events grouped, so one pass gives the counted events, each duplicate once
  (`copies` says how many there were), the rejects, and the number of events read;
- `events`: the counted events of `grouped`;
- `sessions`: each session's first and last page view, and how many it had;
- `figures`: one row per (event_date, page) with every analytics metric, engagement time in
  milliseconds.

A page key is the page's path as `core.paths.normalise_path` makes it, but for the decoding of
percent-escapes: SQL cannot decode UTF-8 in both engines, so the reader applies
`decode_escapes` to the (few) keys that hold `%` and adds up the rows that then meet. The one
figure that cannot be added up, unique users, differs from the whole rule only for a user who
reached one page under two escape spellings in a day (documented in docs/extract.md).

Sessions order their page views by `event_timestamp`, ties by day and page key: the answer does
not depend on the order of the export's rows. A negative `event_timestamp` is a reject.

The window of allowed days is two query parameters, `@earliest` and `@latest`, so the text does
not change with the day loaded: BigQuery takes them as parameters of its job, and the DuckDB text
is transpiled once, ahead, into `ga4_sql_duckdb.json` (`python -m govuk_kpi.sources.ga4_sql`
writes it; a test fails when it is not what sqlglot makes of the definition today). A load then
neither imports sqlglot nor transpiles: together 0.4 s of CPU on every load.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass, fields
from datetime import date
from functools import cache
from pathlib import Path

from govuk_kpi.core.paths import MAX_PATH_LENGTH
from govuk_kpi.sources.reading import MAX_COUNT

FEEDBACK_SECTION = "Is this page useful?"
SEARCH_PAGE = "/search"

# The columns a reader gives as `events_raw`, in this order.
RAW_COLUMNS = (
    "raw",  # the event (a struct or JSON text), kept for its reject: see `ga4.raw_event`
    "source_reason",  # a reader's own reject code (a field of the wrong type), else NULL
    "event_name",
    "event_date",  # YYYYMMDD text, as the export holds it
    "event_timestamp",  # INT64 microseconds
    "user_pseudo_id",
    "ga_session_id",  # INT64
    "page_location",
    "page_referrer",
    "engagement_time_msec",  # INT64, from int_value only
    "feedback_type",
    "feedback_section",
    "feedback_text",
)
# The columns of `figures`, in this order.
FIGURE_COLUMNS = (
    "event_date",
    "page",
    "pviews",
    "upviews",
    "entrances",
    "exits",
    "bounces",
    "searches",
    "useful_yes",
    "useful_no",
    "engagement_msec",
)

_SPACE = r"[ \t\n\r\v\f]"
# Longest first: the first that starts a URL is its origin.
_GOVUK_ORIGINS = ("https://www.gov.uk", "http://www.gov.uk", "https://gov.uk", "http://gov.uk")


def _page_stages(column: str, name: str, gate: str) -> list[dict[str, str]]:
    """The steps from a URL column to its page key (`{name}`) and the code of why it has none
    (`{name}_problem`, NULL when it has), each step's columns reading the step before. Only the
    rows where `gate` holds are worked on (string functions, not regular expressions, where
    they do: this runs for every event)."""
    origins = " ".join(
        f"WHEN STARTS_WITH({name}_lower, '{origin}') THEN {len(origin)}"
        for origin in _GOVUK_ORIGINS
    )
    return [
        # One look for a space or a control character anywhere: a URL seldom has one, and
        # only one that has can need trimming or hold a control character.
        {f"{name}_odd": f"IF({gate}, REGEXP_CONTAINS({column}, r'[\\x00-\\x20\\x7f]'), NULL)"},
        # trimming with a set of characters is slow: only where there is something to trim
        {
            f"{name}_text": (
                f"IF({gate}, IF({name}_odd, IF(REGEXP_CONTAINS({column}, r'^{_SPACE}|{_SPACE}$'),"
                f" TRIM({column}, ' \\t\\n\\r\\v\\f'), {column}), {column}), NULL)"
            )
        },
        {f"{name}_lower": f"LOWER({name}_text)"},
        {f"{name}_origin": f"CASE {origins} ELSE 0 END"},
        {f"{name}_rest": f"SUBSTR({name}_lower, {name}_origin + 1)"},
        {
            f"{name}_cut": (
                f"SUBSTR({name}_rest, 1, LEAST(STRPOS(CONCAT({name}_rest, '?'), '?'),"
                f" STRPOS(CONCAT({name}_rest, '#'), '#')) - 1)"
            )
        },
        # https://www.gov.uk?x=1 is the home page; "?x=1" alone is no path.
        {f"{name}_path": f"IF({name}_cut = '' AND {name}_origin > 0, '/', {name}_cut)"},
        {
            name: f"COALESCE(NULLIF(RTRIM({name}_path, '/'), ''), '/')",
            f"{name}_problem": (
                f"CASE WHEN {name}_text IS NULL OR {name}_text = '' THEN 'no_path'"
                f" WHEN IF({name}_odd, REGEXP_CONTAINS({name}_text, r'[\\x00-\\x1f\\x7f]'),"
                f" FALSE) THEN 'path_control'"
                f" WHEN LENGTH({name}_text) > {MAX_PATH_LENGTH} THEN 'path_too_long'"
                f" WHEN NOT STARTS_WITH({name}_path, '/') THEN 'path_not_absolute' END"
            ),
        },
    ]


def _staged(source: str, stages: list[dict[str, str]]) -> str:
    """`source` with each stage's columns added in a query of its own over the one before."""
    query = source
    for stage in stages:
        columns = ",\n  ".join(f"{expr} AS {alias}" for alias, expr in stage.items())
        query = f"SELECT\n  *,\n  {columns}\nFROM ({query})"
    return query


@dataclass(frozen=True)
class Ga4Sql:
    """The steps' SQL in one dialect, for one window of allowed days."""

    checked: str  # reads `events_raw`
    grouped: str  # reads `checked`
    events: str  # reads `grouped`
    sessions: str  # reads `events`
    figures: str  # reads `events` and `sessions`
    rejects: str  # reads `grouped`: each reject's code, raw event and copies
    duplicates: str  # reads `events`: how many copies there were beyond the first
    read: str  # reads `grouped`: how many events there were

    def figures_query(self) -> str:
        """The figures from a table `events`."""
        return f"WITH sessions AS ({self.sessions})\n{self.figures}"

    def with_days(self, earliest: date, latest: date) -> Ga4Sql:
        """The same steps with the window's parameters written in as date literals."""
        days = {"earliest": earliest.isoformat(), "latest": latest.isoformat()}

        def literal(text: str) -> str:
            return _PARAMETER.sub(lambda found: f"DATE '{days[found[1]]}'", text)

        return Ga4Sql(**{name: literal(text) for name, text in asdict(self).items()})

    def query(self, events_raw: str) -> str:
        """One statement, from a query giving `events_raw` to the figures (BigQuery's route)."""
        return (
            f"WITH events_raw AS ({events_raw}),\n"
            f"checked AS ({self.checked}),\n"
            f"grouped AS ({self.grouped}),\n"
            f"events AS ({self.events}),\n"
            f"sessions AS ({self.sessions})\n"
            f"{self.figures}"
        )


# `@name` in BigQuery's dialect, `$name` in DuckDB's.
_PARAMETER = re.compile(r"[@$](earliest|latest)\b")
DUCKDB_FILE = Path(__file__).with_name("ga4_sql_duckdb.json")


def bigquery_sql(earliest: date, latest: date) -> Ga4Sql:
    """The definition, in BigQuery's dialect: events dated `earliest`..`latest` count."""
    return definition().with_days(earliest, latest)


def duckdb_sql(earliest: date, latest: date) -> Ga4Sql:
    """The same definition in DuckDB's dialect, as transpiled ahead (`ga4_sql_duckdb.json`)."""
    return _duckdb_definition().with_days(earliest, latest)


@cache
def _duckdb_definition() -> Ga4Sql:
    return Ga4Sql(**json.loads(DUCKDB_FILE.read_text(encoding="utf-8")))


def transpile_to_duckdb() -> Ga4Sql:
    """The definition transpiled by sqlglot from BigQuery's dialect to DuckDB's."""
    import sqlglot  # only to write `ga4_sql_duckdb.json` and check it, never for a load

    source = definition()
    return Ga4Sql(
        **{
            part.name: sqlglot.transpile(
                getattr(source, part.name), read="bigquery", write="duckdb"
            )[0]
            for part in fields(Ga4Sql)
        }
    )


@cache
def definition() -> Ga4Sql:
    """The definition, in BigQuery's dialect, with the window as parameters `@earliest` and
    `@latest` (DATE): events dated `earliest`..`latest` count."""
    return Ga4Sql(
        checked=_checked(),
        grouped=_grouped(),
        events="SELECT * FROM grouped WHERE reason IS NULL AND kind IS NOT NULL",
        sessions=_sessions(),
        figures=_figures(),
        rejects="SELECT reason, raw, copies FROM grouped WHERE reason IS NOT NULL",
        duplicates="SELECT SUM(copies - 1) FROM events",
        read="SELECT SUM(copies) FROM grouped",
    )


def _checked_stages() -> list[dict[str, str]]:
    """The columns `checked` works out of each raw event, stage by stage: whether its date is
    shaped as one, its day, its kind, its page keys (of `page_location` and, for a search,
    of `page_referrer`), and the page a metric counts on."""
    shaped = {"date_shaped": "REGEXP_CONTAINS(event_date, r'^[0-9]{8}$')"}
    day = {
        "day": (
            "IF(date_shaped, SAFE_CAST(CONCAT(SUBSTR(event_date, 1, 4), '-',"
            " SUBSTR(event_date, 5, 2), '-', SUBSTR(event_date, 7, 2)) AS DATE), NULL)"
        )
    }
    kind = {
        "kind": f"""CASE
      WHEN event_name IN ('page_view', 'search') THEN event_name
      WHEN event_name = 'form_submit' AND feedback_type = 'feedback'
        AND feedback_section = '{FEEDBACK_SECTION}'
        AND LOWER(TRIM(feedback_text)) IN ('yes', 'no') THEN 'feedback'
      WHEN engagement_time_msec IS NOT NULL THEN 'engagement'
    END"""
    }
    pages = [
        {**a, **b}
        for a, b in zip(
            _page_stages("page_location", "page", "kind IS NOT NULL"),
            _page_stages("page_referrer", "referrer", "kind = 'search'"),
            strict=True,
        )
    ]
    final = {
        "metric_page": f"""CASE
      WHEN kind = 'search' AND (page = '{SEARCH_PAGE}'
        OR STARTS_WITH(page, '{SEARCH_PAGE}/')) AND referrer_problem IS NULL THEN referrer
      ELSE page
    END""",
    }
    return [shaped, day, kind, *pages, final]


def _checked() -> str:
    """`checked`: every event with its reject reason (NULL when it counts), kind and page keys."""
    checked = f"""
SELECT
  IF(reason IS NULL, NULL, raw) AS raw,
  reason,
  event_name,
  event_date,
  kind,
  event_timestamp,
  IF(user_pseudo_id = '', NULL, user_pseudo_id) AS user_pseudo_id,
  ga_session_id,
  page,
  metric_page,
  engagement_time_msec,
  LOWER(TRIM(feedback_text)) AS answer
FROM (
  SELECT
    *,
    CASE
      WHEN source_reason IS NOT NULL THEN source_reason
      WHEN event_name IS NULL OR event_name = '' THEN 'no_event_name'
      WHEN event_date IS NULL OR NOT date_shaped THEN 'date_format'
      WHEN day IS NULL THEN 'date_invalid'
      WHEN day > @latest THEN 'date_future'
      WHEN day < @earliest THEN 'date_early'
      WHEN event_timestamp IS NULL AND event_name = 'page_view' THEN 'no_timestamp'
      WHEN event_timestamp < 0 THEN 'negative_timestamp'
      WHEN engagement_time_msec > {MAX_COUNT} THEN 'engagement_over_limit'
      WHEN kind IS NULL THEN NULL
      ELSE page_problem
    END AS reason
  FROM ({_staged("SELECT * FROM events_raw", _checked_stages())})
)"""
    return checked


def _grouped() -> str:
    """`grouped`: the events grouped, each duplicate once with its `copies`."""
    # Every event in one grouping, so that one pass over the events gives all three answers:
    # the counted events (each duplicate once, `copies` of it), the rejects, and how many
    # were ignored (one group, its keys all NULL).
    ignored = "kind IS NULL AND reason IS NULL"
    keys = (
        "event_name",
        "event_date",
        "event_timestamp",
        "user_pseudo_id",
        "ga_session_id",
        "page",
        "metric_page",
        "engagement_time_msec",
        "answer",
    )
    grouped = f"""
SELECT
  reason,
  {", ".join(f"IF({ignored}, NULL, {key}) AS {key}" for key in keys)},
  ANY_VALUE(kind) AS kind,
  ANY_VALUE(raw) AS raw,
  COUNT(*) AS copies
FROM checked
-- a duplicate: the same user's same event at the same moment, the same in all the figures read
GROUP BY reason, {", ".join(f"IF({ignored}, NULL, {key})" for key in keys)}"""
    return grouped


def _sessions() -> str:
    """`sessions`: each session's first and last page view (zero-padded timestamp + day +
    page), and how many it had."""
    sessions = """
SELECT
  MIN(view) AS first_view,
  MAX(view) AS last_view,
  COUNT(*) AS views
FROM (
  SELECT
    user_pseudo_id,
    ga_session_id,
    CONCAT(LPAD(CAST(event_timestamp AS STRING), 20, '0'), event_date, page) AS view
  FROM events
  WHERE kind = 'page_view' AND user_pseudo_id IS NOT NULL AND ga_session_id IS NOT NULL
)
GROUP BY user_pseudo_id, ga_session_id"""
    return sessions


def _figures() -> str:
    """`figures`: one row per (event_date, page) with every analytics metric."""
    figures = """
SELECT
  event_date,
  page,
  COALESCE(pviews, 0) AS pviews,
  COALESCE(upviews, 0) AS upviews,
  COALESCE(entrances, 0) AS entrances,
  COALESCE(exits, 0) AS exits,
  COALESCE(bounces, 0) AS bounces,
  COALESCE(searches, 0) AS searches,
  COALESCE(useful_yes, 0) AS useful_yes,
  COALESCE(useful_no, 0) AS useful_no,
  COALESCE(engagement_msec, 0) AS engagement_msec
FROM (
  SELECT
    event_date,
    metric_page AS page,
    COUNTIF(kind = 'page_view') AS pviews,
    COUNT(DISTINCT IF(kind = 'page_view', user_pseudo_id, NULL)) AS upviews,
    COUNTIF(kind = 'search') AS searches,
    COUNTIF(kind = 'feedback' AND answer = 'yes') AS useful_yes,
    COUNTIF(kind = 'feedback' AND answer = 'no') AS useful_no
  FROM events
  WHERE kind <> 'engagement'
  GROUP BY event_date, metric_page
)
FULL OUTER JOIN (
  SELECT event_date, page, SUM(engagement_time_msec) AS engagement_msec
  FROM events
  WHERE engagement_time_msec > 0
  GROUP BY event_date, page
) USING (event_date, page)
FULL OUTER JOIN (
  SELECT
    SUBSTR(view, 21, 8) AS event_date,
    SUBSTR(view, 29) AS page,
    SUM(entrance) AS entrances,
    SUM(1 - entrance) AS exits,
    SUM(bounce) AS bounces
  FROM (
    -- a session's first and last page views, as zero-padded timestamp + day + page
    SELECT first_view AS view, 1 AS entrance, IF(views = 1, 1, 0) AS bounce FROM sessions
    UNION ALL
    SELECT last_view, 0, 0 FROM sessions
  )
  GROUP BY 1, 2
) USING (event_date, page)"""
    return figures


def _write_duckdb_file() -> None:
    """Write `ga4_sql_duckdb.json` from the definition (after the definition changes)."""
    text = json.dumps(asdict(transpile_to_duckdb()), indent=1, ensure_ascii=False)
    DUCKDB_FILE.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {DUCKDB_FILE}")


if __name__ == "__main__":
    _write_duckdb_file()
    sys.exit(0)
