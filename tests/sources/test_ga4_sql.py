"""The GA4 aggregation as SQL on DuckDB gives what the Python reader, the oracle, gives.

Every metric of every page, the number of events read and the rejects by reason, on the
recorded fixture, on a file of the cases where the rules are subtle, and in each format the
export comes in (newline-delimited JSON, gzipped, Parquet). The SQL DuckDB runs is the
BigQuery text, transpiled.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot

from govuk_kpi.sample.ga4_events import write_ga4_events
from govuk_kpi.sources.daily_csv import DailyRows
from govuk_kpi.sources.ga4 import read_ga4_events
from govuk_kpi.sources.ga4_duckdb import DUPLICATE, read_ga4
from govuk_kpi.sources.ga4_sql import (
    DUCKDB_FILE,
    Ga4Sql,
    bigquery_sql,
    definition,
    duckdb_sql,
)

FIXTURE = Path(__file__).parents[1] / "extract" / "fixtures" / "events_20261030.json"
TODAY = date(2026, 11, 30)
DAY = "20261030"
GOVUK = "https://www.gov.uk"


def param(key: str, value: Any, kind: str = "string_value") -> dict[str, Any]:
    kinds = dict.fromkeys(("string_value", "int_value", "float_value", "double_value"))
    return {"key": key, "value": kinds | {kind: value}}


def event(
    name: str,
    page: str | None,
    stamp: int | str | None,
    user: str | None = "1.1",
    session: int | str | None = 1,
    *extra: dict[str, Any],
    day: str = DAY,
) -> dict[str, Any]:
    params = [param("page_location", page)] if page is not None else []
    if session is not None:
        params.append(param("ga_session_id", str(session), "int_value"))
    return {
        "event_date": day,
        "event_timestamp": None if stamp is None else str(stamp),
        "event_name": name,
        "event_params": [*params, *extra],
        "user_pseudo_id": user,
        "device": {"category": "desktop"},
    }


def engaged(ms: int) -> dict[str, Any]:
    return param("engagement_time_msec", str(ms), "int_value")


def feedback(answer: str, key: str = "text") -> tuple[dict[str, Any], ...]:
    return (
        param("type", "feedback"),
        param("section", "Is this page useful?"),
        param(key, answer),
    )


# Where the rules are subtle: each line says what it exercises.
SUBTLE = [
    # one session, three pages: entrance, exit, no bounce; engagement on the way
    event("page_view", f"{GOVUK}/tax", 100),
    event("user_engagement", f"{GOVUK}/tax", 150, "1.1", 1, engaged(1500)),
    event("page_view", f"{GOVUK}/Tax/?utm=1", 200),  # the same page, spelt otherwise
    event("page_view", f"{GOVUK}/pay#fee", 300),
    # a session whose two views share a timestamp: ties go by page
    event("page_view", f"{GOVUK}/b-page", 500, "2.2", 7),
    event("page_view", f"{GOVUK}/a-page", 500, "2.2", 7),
    # the same session id for another user is another session; a bounce
    event("page_view", f"{GOVUK}/a-page", 600, "3.3", 7),
    # a session over two days: its exit is on the second day
    event("page_view", f"{GOVUK}/tax", 700, "4.4", 9),
    event("page_view", f"{GOVUK}/pay", 800, "4.4", 9, day="20261031"),
    # no session id or no user: a page view, but no session
    event("page_view", f"{GOVUK}/pay", 900, "5.5", None),
    event("page_view", f"{GOVUK}/pay", 901, None, 3),
    event("page_view", f"{GOVUK}/pay", 902, "", 3),
    # the home page, with and without a query; an escape decoded; an escape kept
    event("page_view", f"{GOVUK}?x=1", 1000, "6.6", 1),
    event("page_view", "https://gov.uk/", 1001, "6.6", 1),
    event("page_view", f"{GOVUK}/caf%C3%A9", 1002, "6.6", 1),
    event("page_view", f"{GOVUK}/café", 1003, "7.7", 1),
    event("page_view", f"{GOVUK}/a%2Fb", 1004, "6.6", 1),
    event("page_view", "  /relative-path  ", 1005, "6.6", 1),
    # searches: on a page, on the search page from a page, from off GOV.UK, from nowhere
    event("search", f"{GOVUK}/tax", 1100),
    event(
        "search",
        f"{GOVUK}/search/all?q=tax",
        1101,
        "1.1",
        1,
        param("page_referrer", f"{GOVUK}/pay?x=2"),
        engaged(900),
    ),
    event("search", f"{GOVUK}/search", 1102, "1.1", 1, param("page_referrer", "https://x.com/")),
    event("search", f"{GOVUK}/search", 1103, "1.1", 1),
    # feedback: yes, no (spelt otherwise), and answers that are not feedback
    event("form_submit", f"{GOVUK}/tax", 1200, "1.1", 1, *feedback("Yes")),
    event("form_submit", f"{GOVUK}/tax", 1201, "1.1", 1, *feedback(" no ")),
    event("form_submit", f"{GOVUK}/tax", 1202, "1.1", 1, *feedback("maybe")),
    event("form_submit", f"{GOVUK}/tax", 1203, "1.1", 1, param("type", "feedback")),
    # GOV.UK's key for the answer, ui_text, is read before text
    event("form_submit", f"{GOVUK}/pay", 1204, "1.1", 1, *feedback("No", "ui_text")),
    event(
        "form_submit",
        f"{GOVUK}/pay",
        1205,
        "1.1",
        1,
        *feedback("Yes", "ui_text"),
        param("text", "No"),
    ),
    # engagement: on other events, zero, negative, as text (not counted)
    event("scroll", f"{GOVUK}/pay", 1300, "1.1", 1, engaged(2500)),
    event("click", f"{GOVUK}/pay", 1301, "1.1", 1, engaged(0)),
    event("click", f"{GOVUK}/pay", 1302, "1.1", 1, engaged(-5)),
    event("click", f"{GOVUK}/pay", 1303, "1.1", 1, param("engagement_time_msec", "77")),
    # events not counted, with no page: ignored
    event("scroll", None, 1400),
    event("session_start", None, None),
    # duplicates: exact, and spelt otherwise; a near twin with another timestamp is not one
    event("page_view", f"{GOVUK}/pay", 1500, "8.8", 2),
    event("page_view", f"{GOVUK}/pay", 1500, "8.8", 2),
    event("page_view", f"{GOVUK}/pay", 1501, "8.8", 2),
    # a parameter given twice counts its first; a parameter the figures do not read cannot
    # reject an event
    event("page_view", f"{GOVUK}/tax", 1550, "9.9", 1, param("page_location", f"{GOVUK}/pay")),
    event("page_view", f"{GOVUK}/pay", 1551, "9.9", 1, param("percent_scrolled", "x", "int_value")),
    # rejects, one of each rule
    event("page_view", None, 1600),
    event("page_view", "https://example.com/x", 1601),
    event("page_view", f"{GOVUK}/a\u0001b", 1602),
    event("page_view", "/" + "a" * 1600, 1603),
    event("page_view", f"{GOVUK}/tax", None),
    event("page_view", f"{GOVUK}/tax", -5),
    event("page_view", f"{GOVUK}/tax", "12x"),
    event("page_view", f"{GOVUK}/tax", 1604, "1.1", "abc"),
    event("scroll", None, 1605, day="2026-10-30"),
    event("scroll", None, 1606, day="20260230"),
    event("page_view", f"{GOVUK}/tax", 1607, day="29990101"),
    event("page_view", f"{GOVUK}/tax", 1608, day="20000101"),
    event("user_engagement", f"{GOVUK}/tax", 1609, "1.1", 1, engaged(2**60)),
    {**event("page_view", f"{GOVUK}/tax", 1610), "event_name": ""},
    {**event("page_view", f"{GOVUK}/tax", 1611), "event_name": None},
]


def write_json(path: Path, events: list[dict[str, Any]], *, spelt: bool = False) -> Path:
    """Newline-delimited JSON; `spelt` writes each duplicate's keys sorted (spelt otherwise)."""
    lines = [json.dumps(e, sort_keys=spelt and i % 2 == 1) for i, e in enumerate(events)]
    text = "\n".join(lines) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


PARAM_TYPE = pa.struct(
    [
        ("key", pa.string()),
        (
            "value",
            pa.struct(
                [
                    ("string_value", pa.string()),
                    ("int_value", pa.int64()),
                    ("float_value", pa.float64()),
                    ("double_value", pa.float64()),
                ]
            ),
        ),
    ]
)
EXPORT_SCHEMA = pa.schema(
    [
        ("event_date", pa.string()),
        ("event_timestamp", pa.int64()),
        ("event_name", pa.string()),
        ("event_params", pa.list_(PARAM_TYPE)),
        ("user_pseudo_id", pa.string()),
    ]
)


def write_parquet(path: Path, events: list[dict[str, Any]]) -> Path:
    """The events as BigQuery's Parquet export types them (INT64 as integers)."""

    def typed(e: dict[str, Any]) -> dict[str, Any]:
        params = []
        for p in e["event_params"]:
            value = dict(p["value"])
            if value["int_value"] is not None:
                value["int_value"] = int(value["int_value"])
            params.append({"key": p["key"], "value": value})
        stamp = e["event_timestamp"]
        return {
            "event_date": e["event_date"],
            "event_timestamp": None if stamp is None else int(stamp),
            "event_name": e["event_name"],
            "event_params": params,
            "user_pseudo_id": e["user_pseudo_id"],
        }

    pq.write_table(pa.Table.from_pylist([typed(e) for e in events], EXPORT_SCHEMA), path)
    return path


def reasons(rows: DailyRows) -> Counter[str]:
    """Rejects by reason; the oracle's duplicates name their line, which SQL has not."""
    return Counter(
        DUPLICATE if re.fullmatch(r"duplicate of the event on line \d+", r.reason) else r.reason
        for r in rows.rejects
    )


def assert_same(got: DailyRows, want: DailyRows) -> None:
    assert got.frame.equals(want.frame), (got.frame, want.frame)
    assert got.rows_read == want.rows_read
    assert reasons(got) == reasons(want)


def test_the_recorded_export_gives_the_oracles_figures() -> None:
    got = read_ga4(FIXTURE, today=TODAY)
    assert_same(got, read_ga4_events(FIXTURE, today=TODAY))
    assert got.frame["pviews"].sum() > 0 and got.frame["entrances"].sum() > 0


@pytest.mark.parametrize("name", ["events_20261030.json", "events_20261030.json.gz"])
def test_the_subtle_cases_give_the_oracles_figures(tmp_path: Path, name: str) -> None:
    path = write_json(tmp_path / name, SUBTLE, spelt=True)
    got = read_ga4(path, today=TODAY)
    want = read_ga4_events(path, today=TODAY)
    assert_same(got, want)
    # and they hold what the lines above say they exercise
    frame = got.frame.set_index("path")
    assert frame.loc["/tax", "pviews"].sum() == 4  # /tax, /Tax/?utm=1, two-day, param twice
    assert frame.loc["/café", "upviews"].sum() == 2  # users 6.6 and 7.7, escape decoded
    assert "/a%2Fb" in frame.index
    assert frame.loc["/search", "searches"].sum() == 2  # from off GOV.UK, and from nowhere
    assert sum(reasons(got).values()) == 16  # 15 rejects and 1 duplicate


def test_the_parquet_export_gives_the_figures_of_the_json_one(tmp_path: Path) -> None:
    counted = [e for e in SUBTLE if _typed_cleanly(e)]
    parquet = read_ga4(write_parquet(tmp_path / "events_20261030.parquet", counted), today=TODAY)
    as_json = read_ga4_events(write_json(tmp_path / "events.json", counted), today=TODAY)
    assert_same(parquet, as_json)


def _typed_cleanly(e: dict[str, Any]) -> bool:
    """Whether BigQuery's types could hold the event (its whole numbers are numbers)."""
    whole = [e["event_timestamp"]] + [
        p["value"]["int_value"] for p in e["event_params"] if p["value"]["int_value"] is not None
    ]
    return all(v is None or re.fullmatch(r"-?\d+", str(v)) for v in whole)


def test_a_file_of_every_event_twice_gives_each_once(tmp_path: Path) -> None:
    path = write_json(tmp_path / "events_20261030.json", SUBTLE + SUBTLE)
    got = read_ga4(path, today=TODAY)
    assert_same(got, read_ga4_events(path, today=TODAY))
    once = read_ga4(write_json(tmp_path / "once.json", SUBTLE), today=TODAY)
    assert got.frame.equals(once.frame)


def test_duckdb_runs_the_bigquery_text_transpiled() -> None:
    """The definition is BigQuery SQL that BigQuery's dialect parses, and what DuckDB runs is
    exactly its transpilation today (`ga4_sql_duckdb.json` is not stale), with the same days."""
    template, ahead = definition(), json.loads(DUCKDB_FILE.read_text(encoding="utf-8"))
    stale = "ga4_sql_duckdb.json is stale: run `python -m govuk_kpi.sources.ga4_sql`"
    for part in [field.name for field in fields(Ga4Sql)]:
        text = getattr(template, part)
        sqlglot.parse_one(text, read="bigquery")  # raises on anything BigQuery would not parse
        assert ahead[part] == sqlglot.transpile(text, read="bigquery", write="duckdb")[0], stale
    earliest, latest = date(2012, 10, 17), TODAY
    source, ran = bigquery_sql(earliest, latest), duckdb_sql(earliest, latest)
    assert "@" not in source.checked and "$latest" not in ran.checked
    for days in (source.checked, ran.checked):
        assert "day > DATE '2026-11-30'" in days and "day < DATE '2012-10-17'" in days
    whole = source.query("SELECT * FROM `project.analytics_1.events_20261030`")
    assert sqlglot.parse_one(whole, read="bigquery").find(sqlglot.exp.With) is not None


@pytest.mark.parametrize("suffix", [".json", ".json.gz", ".parquet"])
def test_a_generated_day_gives_the_oracles_figures_in_every_format(
    tmp_path: Path, suffix: str
) -> None:
    """A day in GOV.UK's GA4 shape (escapes, queries, searches, feedback, sessions), read
    from each format the export comes in, against the oracle reading it as JSON."""
    day = date(2026, 10, 30)
    as_json = write_ga4_events(tmp_path / "events.json", 30_000, day=day, seed=7, pages=500)
    path = write_ga4_events(
        tmp_path / f"events_20261030{suffix}", 30_000, day=day, seed=7, pages=500
    )
    got = read_ga4(path, today=TODAY)
    assert_same(got, read_ga4_events(as_json, today=TODAY))
    assert got.frame["searches"].sum() > 0 and got.frame["useful_yes"].sum() > 0
    assert got.frame["path"].str.contains("é").any()  # an escape decoded on the way
