"""The bad-input corpus of the analytics exports (`load ga4`, `load ga-pages`), on both backends.

Every case runs `govuk-kpi load` on a fresh copy of one small warehouse (`support.corpus`):
a file-level problem is one error line naming the file and row, a `failed` batch and no data
change; a row-level problem is a reject with its reason, and the data is exactly what the
file's valid events (or rows) alone leave. A gzip bomb (one line of 3 GiB in a few MB) is
refused through the real command line with a bounded peak memory.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from support.corpus import (
    CURRICULUM,
    DAY,
    PETS,
    CorpusWarehouse,
    assert_partly_loaded,
    assert_refused,
    batches,
    corpus_template,  # noqa: F401 (a fixture)
    corpus_warehouse,  # noqa: F401 (a fixture)
)

GOVUK = "https://www.gov.uk"
CLI = Path(sys.executable).with_name("govuk-kpi")


# -- GA4 events ---------------------------------------------------------------------------------


def param(key: str, value: Any, kind: str = "string_value") -> dict[str, Any]:
    """One entry of `event_params`, as the BigQuery export writes it."""
    return {"key": key, "value": {kind: value}}


def event(
    name: str = "page_view",
    page: str = CURRICULUM,
    stamp: Any = "1709600000000001",
    user: str = "111.1",
    session: Any = "1001",
    day: date | str = DAY,
    extra: tuple[dict[str, Any], ...] = (),
    **fields: Any,
) -> dict[str, Any]:
    """A GA4 event of the export: a page view of CURRICULUM on DAY unless told otherwise."""
    params = [param("page_location", GOVUK + page)]
    if session is not None:
        params.append(param("ga_session_id", session, "int_value"))
    made = {
        "event_date": day.strftime("%Y%m%d") if isinstance(day, date) else day,
        "event_timestamp": stamp,
        "event_name": name,
        "event_params": [*params, *extra],
        "user_pseudo_id": user,
        "platform": "WEB",
    }
    return made | fields


def line(made: dict[str, Any]) -> str:
    return json.dumps(made)


GOOD_EVENTS = [
    line(event()),
    line(event(page=PETS, stamp="1709600000000002")),
    line(event(user="222.2", session="7", stamp="1709600000000003")),
    line(
        event(
            "form_submit",
            page=PETS,
            stamp="1709600000000004",
            extra=(
                param("type", "feedback"),
                param("section", "Is this page useful?"),
                param("text", "Yes"),
            ),
        )
    ),
    line(event("search", stamp="1709600000000005", extra=(param("search_term", "tax"),))),
    line(
        event(
            "user_engagement",
            stamp="1709600000000006",
            extra=(param("engagement_time_msec", "12800", "int_value"),),
        )
    ),
    line(event("scroll", stamp="1709600000000007")),
]


def events_file(lines: list[str]) -> bytes:
    """Newline-delimited JSON: each line ended by a line feed."""
    return "".join(f"{text}\n" for text in lines).encode("utf-8")


def with_bad(bad: str) -> list[str]:
    """The good events with `bad` as the third line."""
    return [*GOOD_EVENTS[:2], bad, *GOOD_EVENTS[2:]]


# -- GA UI "Pages" reports ----------------------------------------------------------------------

PAGES_HEAD = (
    "# Pages and screens: Page path and screen class\n"
    "# Start date: 20240305\n"
    "# End date: 20240305\n"
    "Page path and screen class,Views,Users,Average engagement time\n"
)
PAGES_TOTALS = ',"1,500","1,200",50\n'
GOOD_PAGES = [f'{CURRICULUM},"1,000",800,61', f"{PETS},500,400,30.5"]
DATED_HEAD = "Date,Page path,Views,Users\n"
GOOD_DATED = [f"20240305,{CURRICULUM},10,9", f"20240305,{PETS},20,18"]


def pages_file(rows: list[str], head: str = PAGES_HEAD, totals: str = PAGES_TOTALS) -> bytes:
    """A GA4 "Pages" export: the # header, the column names, the totals row, then `rows`."""
    return (head + totals + "".join(f"{row}\n" for row in rows)).encode("utf-8")


def dated_file(rows: list[str]) -> bytes:
    """A Pages export with a Date column and no header comments."""
    return (DATED_HEAD + "".join(f"{row}\n" for row in rows)).encode("utf-8")


# -- files refused whole ------------------------------------------------------------------------


@dataclass
class Refused:
    """A file that must fail whole: its bytes (or a maker of the path), the words, the row."""

    kind: str
    body: bytes | Callable[[Path], Path]
    says: str
    row: int | None = None
    name: str = ""
    env: dict[str, str] = field(default_factory=dict)


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _missing(folder: Path) -> Path:
    return folder / "events_20240305.json"


def _directory(folder: Path) -> Path:
    path = folder / "events_20240305.json"
    path.mkdir()
    return path


GOOD_GA4 = events_file(GOOD_EVENTS)
NESTED = '{"event_name": "page_view", "a": ' + "[" * 300 + "]" * 300 + "}"
REFUSED: dict[str, Refused] = {
    "ga4-empty": Refused("ga4", b"", "empty file", 1),
    "ga4-only-blank-lines": Refused("ga4", b"\n  \n\r\n", "empty file", 1),
    "ga4-bom-only": Refused("ga4", b"\xef\xbb\xbf", "empty file", 1),
    "ga4-json-array": Refused(
        "ga4",
        ("[" + ", ".join(GOOD_EVENTS) + "]\n").encode(),
        "a JSON array, not one event per line (newline-delimited JSON)",
        1,
    ),
    "ga4-pretty-json-array": Refused(
        "ga4",
        ("\n[\n" + ",\n".join(GOOD_EVENTS) + "\n]\n").encode(),
        "a JSON array, not one event per line",
        2,
    ),
    "ga4-pretty-json-object": Refused(
        "ga4", json.dumps(event(), indent=2).encode(), "one JSON document over several lines", 1
    ),
    "ga4-not-json": Refused("ga4", events_file(with_bad("not json")), "not a JSON event", 3),
    "ga4-nul-byte": Refused(
        "ga4", events_file(with_bad(line(event()).replace("111.1", "1\x001"))), "not a JSON", 3
    ),
    "ga4-truncated": Refused("ga4", GOOD_GA4 + GOOD_EVENTS[0][:30].encode(), "truncated", 8),
    "ga4-not-utf8": Refused(
        "ga4",
        events_file(with_bad(line(event(page="/caf")))).replace(b"/caf", b"/caf\xe9"),
        "not UTF-8: byte 0xe9",
        3,
    ),
    "ga4-latin1-whole-file": Refused(
        "ga4", GOOD_GA4.decode().replace("tax", "£").encode("latin-1"), "not UTF-8: byte 0xa3", 5
    ),
    "ga4-utf16": Refused("ga4", GOOD_GA4.decode().encode("utf-16"), "not UTF-8: byte 0xff", 1),
    "ga4-cr-only-line-ends": Refused(
        "ga4",
        GOOD_GA4.replace(b"\n", b"\r"),
        "a carriage return (CR) that does not end the line",
        1,
    ),
    # DuckDB reads in blocks of at least 16 MiB and refuses a line past two blocks.
    "ga4-line-over-the-limit": Refused(
        "ga4",
        events_file(with_bad(line(event(page="/" + "a" * (40 * 2**20))))),
        "line 3 is longer than the limit of 16,777,216 bytes; raise GOVUK_KPI_MAX_LINE_BYTES",
        3,
    ),
    "ga4-gzip-cut-short": Refused(
        "ga4", _gz(GOOD_GA4 * 50)[:-40], "not a complete gzip file", name="events.json.gz"
    ),
    "ga4-gz-name-not-gzip": Refused(
        "ga4", GOOD_GA4, "not a complete gzip file: Not a gzipped file", 1, name="e.json.gz"
    ),
    "ga4-gzip-not-utf8-inside": Refused(
        "ga4", _gz(GOOD_GA4 + b'{"event_name": "\xff"}\n'), "not UTF-8: byte 0xff", 8
    ),
    "ga4-missing-file": Refused("ga4", _missing, "cannot read: No such file or directory"),
    "ga4-a-folder": Refused("ga4", _directory, "cannot read"),
    "pages-empty": Refused("ga-pages", b"", "no table", 1),
    "pages-only-comments": Refused("ga-pages", b"# Pages\n# 20240305-20240305\n", "no table", 1),
    "pages-not-utf8": Refused(
        "ga-pages",
        pages_file(GOOD_PAGES).decode().replace("Users", "Users £").encode("cp1252"),
        "not UTF-8: byte 0xa3",
        4,
    ),
    "pages-utf16": Refused(
        "ga-pages", pages_file(GOOD_PAGES).decode().encode("utf-16"), "not UTF-8", 1
    ),
    "pages-cr-only-line-ends": Refused(
        "ga-pages", pages_file(GOOD_PAGES).replace(b"\n", b"\r"), "a carriage return (CR)", 1
    ),
    "pages-line-over-the-limit": Refused(
        "ga-pages",
        pages_file([*GOOD_PAGES, "/" + "a" * 3000 + ",1,1,1"]),
        "line 8 is longer than the limit of 2,000 bytes; raise GOVUK_KPI_MAX_LINE_BYTES",
        8,
        env={"GOVUK_KPI_MAX_LINE_BYTES": "2000"},
    ),
    "pages-file-over-the-limit": Refused(
        "ga-pages",
        pages_file(GOOD_PAGES),
        "over the limit of 100 (raise GOVUK_KPI_MAX_FILE_BYTES",
        env={"GOVUK_KPI_MAX_FILE_BYTES": "100"},
    ),
    "pages-unclosed-quote": Refused(
        "ga-pages", pages_file([GOOD_PAGES[0], '/x,"12,1,1', GOOD_PAGES[1]]), "not valid CSV", 7
    ),
    "pages-extra-field": Refused(
        "ga-pages",
        pages_file([*GOOD_PAGES, "/x,1,1,1,1"]),
        "5 fields where the header has 4",
        8,
    ),
    "pages-too-few-fields": Refused(
        "ga-pages", pages_file(["/x,1", *GOOD_PAGES]), "2 fields where the header has 4", 6
    ),
    "pages-no-views-column": Refused(
        "ga-pages",
        pages_file(GOOD_PAGES, head=PAGES_HEAD.replace(",Views,", ",Sessions,")),
        "no Pageviews / Views column",
        4,
    ),
    "pages-which-day": Refused(
        "ga-pages",
        pages_file(GOOD_PAGES, head=PAGES_HEAD.replace("# Start date: 20240305\n", "")),
        "which day? no Date column",
    ),
    "pages-several-days-no-date-column": Refused(
        "ga-pages",
        pages_file(GOOD_PAGES, head=PAGES_HEAD.replace("End date: 20240305", "End date: 20240311")),
        "covers 2024-03-05 to 2024-03-11 with no Date column",
    ),
    "pages-header-date-not-a-date": Refused(
        "ga-pages",
        pages_file(GOOD_PAGES, head=PAGES_HEAD.replace("20240305", "20241340")),
        "the date range in the # header is not a date",
    ),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_export_is_refused_with_one_line(
    case: Refused,
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """One error line naming the file (and row), a failed batch, no data change."""
    if callable(case.body):
        path = case.body(tmp_path)
    else:
        default = "events_20240305.json" if case.kind == "ga4" else "pages.csv"
        path = tmp_path / (case.name or default)
        path.write_bytes(case.body)
    url = corpus_warehouse.fresh()
    assert_refused(url, case.kind, path, case.says, row=case.row, env=case.env)


# -- files whose bad events or rows are rejected ------------------------------------------------

TEN_MILLION_DIGITS = "9" * 10_000_000

# bad event (the third line of the good ones) -> the reason it is rejected with
REJECTED_EVENTS: dict[str, tuple[str, str]] = {
    "1970": (line(event(day="19700101")), "event_date 1970-01-01 is before the earliest day"),
    "day-before-launch": (line(event(day="20121016")), "before the earliest day 2012-10-17"),
    "year-1": (line(event(day="00010101")), "before the earliest day"),
    "future": (line(event(day="29990101")), "event_date 2999-01-01 is in the future"),
    "date-not-yyyymmdd": (line(event(day="2024-03-05")), "is not YYYYMMDD"),
    "no-such-day": (line(event(day="20240230")), "event_date '20240230' is not a date"),
    "no-event-date": (line(event(day=None)), "event_date None is not YYYYMMDD"),
    "timestamp-letters": (line(event(stamp="abc")), "event_timestamp 'abc' is not a whole number"),
    # A typed read gives JSON numbers as their digits: the reason quotes them.
    "timestamp-fraction": (line(event(stamp=1.5)), "event_timestamp '1.5' is not a whole number"),
    "timestamp-past-int64": (line(event(stamp=2**64)), "is out of range (more than 64 bits)"),
    "timestamp-ten-million-digits": (
        line(event()).replace('"1709600000000001"', TEN_MILLION_DIGITS),
        "characters) is out of range (more than 64 bits)",
    ),
    "page-view-without-timestamp": (line(event(stamp=None)), "page_view has no event_timestamp"),
    "session-letters": (
        line(event(session="abc")),
        "param 'ga_session_id' int_value 'abc' is not a whole number",
    ),
    "session-five-thousand-digits": (line(event(session="9" * 5000)), "is out of range"),
    "session-as-text": (
        line(event(session=None, extra=(param("ga_session_id", "x1"),))),
        "ga_session_id 'x1' is not a whole number",
    ),
    "engagement-past-the-limit": (
        line(event("user_engagement", extra=(param("engagement_time_msec", 2**60, "int_value"),))),
        "engagement_time_msec 1,152,921,504,606,846,976 is more than",
    ),
    "exact-duplicate": (GOOD_EVENTS[0], "duplicate of an earlier event"),
    "duplicate-spelt-otherwise": (
        json.dumps(json.loads(GOOD_EVENTS[1]), sort_keys=True, indent=None, separators=(",", ":")),
        "duplicate of an earlier event",
    ),
    # Deep nesting is no risk to DuckDB's reader: the event is judged on its fields.
    "nested-deeply": (NESTED, "event_date None is not YYYYMMDD"),
    "nested-past-pythons-parser": ("[" * 50_000 + "]" * 50_000, "event is not a JSON object"),
    "no-page-location": (line(event(page="") | {"event_params": []}), "no page_location"),
    "page-off-govuk": (
        line(event(extra=()) | {"event_params": [param("page_location", "https://x.com/a")]}),
        "page_location: path 'https://x.com/a' is neither absolute nor on www.gov.uk",
    ),
    "page-with-nul": (line(event(page="/a\x00b")), "page_location: path contains control"),
    "not-an-object": ("42", "event is a JSON int, not an object"),
    "an-array-after-the-first-line": ("[1, 2]", "event is a JSON list, not an object"),
    "no-event-name": (line(event(event_name=None)), "event has no event_name"),
}


@pytest.mark.parametrize(("bad", "reason"), REJECTED_EVENTS.values(), ids=REJECTED_EVENTS.keys())
def test_a_bad_event_is_a_reject_and_the_rest_loads_exactly(
    bad: str,
    reason: str,
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The bad event (between good ones) is a reject; the data equals the good events' alone."""
    bad_file = tmp_path / "events_20240305.json"
    bad_file.write_bytes(events_file(with_bad(bad)))
    good_file = tmp_path / "good.json"
    good_file.write_bytes(GOOD_GA4)
    assert_partly_loaded(corpus_warehouse, "ga4", bad_file, good_file, [reason])


# bad row (the third of the table, after the totals row) -> the reason it is rejected with
REJECTED_ROWS: dict[str, tuple[bytes, str]] = {
    "1970": (
        dated_file([GOOD_DATED[0], f"19700101,{CURRICULUM},5,5", GOOD_DATED[1]]),
        "date 1970-01-01 is before the earliest day 2012-10-17",
    ),
    "day-before-launch": (
        dated_file([GOOD_DATED[0], f"2012-10-16,{CURRICULUM},5,5", GOOD_DATED[1]]),
        "before the earliest day 2012-10-17",
    ),
    "future": (
        dated_file([GOOD_DATED[0], f"29990101,{CURRICULUM},5,5", GOOD_DATED[1]]),
        "date 2999-01-01 is in the future",
    ),
    "date-not-a-date": (
        dated_file([GOOD_DATED[0], f"20240230,{CURRICULUM},5,5", GOOD_DATED[1]]),
        "Date '20240230' is not a date",
    ),
    "empty-page-mid-table": (
        pages_file([GOOD_PAGES[0], ",7,7,7", GOOD_PAGES[1]]),
        "path: path is empty (only the first or last row may be the totals row)",
    ),
    "blank-page-mid-table": (
        pages_file([GOOD_PAGES[0], '"  ",7,7,7', GOOD_PAGES[1]]),
        "path: path is empty",
    ),
    "a-second-totals-row-last": (
        pages_file([*GOOD_PAGES, ",7,7,7"]),
        "path: path is empty (only the first or last row may be the totals row)",
    ),
    "total-mid-table": (
        pages_file([GOOD_PAGES[0], "Total,7,7,7", GOOD_PAGES[1]]),
        "path: 'Total' is not a page",
    ),
    "not-set-page": (
        pages_file([GOOD_PAGES[0], "(not set),7,7,7", GOOD_PAGES[1]]),
        "path: path '(not set)' is neither absolute nor on www.gov.uk",
    ),
    "other-site": (
        pages_file([GOOD_PAGES[0], "https://example.com/x,7,7,7", GOOD_PAGES[1]]),
        "is neither absolute nor on www.gov.uk",
    ),
    "page-over-128-kib": (
        pages_file([GOOD_PAGES[0], "/" + "a" * 200_000 + ",7,7,7", GOOD_PAGES[1]]),
        "at most 1500 allowed",
    ),
    "nul-in-page": (
        pages_file([GOOD_PAGES[0], "/a\x00b,7,7,7", GOOD_PAGES[1]]),
        "path: path contains control characters",
    ),
    "ten-million-digits": (
        pages_file([GOOD_PAGES[0], f"/x,{TEN_MILLION_DIGITS},7,7", GOOD_PAGES[1]]),
        "pviews is too large (10,000,000 characters)",
    ),
    "a-million-letters": (
        pages_file([GOOD_PAGES[0], f"/x,{'x' * 1_000_000},7,7", GOOD_PAGES[1]]),
        "pviews is not a number: 'xxxxxxxx",
    ),
    "past-the-largest-count": (
        pages_file([GOOD_PAGES[0], f"/x,{2**60},7,7", GOOD_PAGES[1]]),
        "pviews is too large",
    ),
    "letters": (pages_file([GOOD_PAGES[0], "/x,12a,7,7", GOOD_PAGES[1]]), "pviews is not a number"),
    "negative": (pages_file([GOOD_PAGES[0], "/x,-3,7,7", GOOD_PAGES[1]]), "pviews is negative"),
    "fraction": (pages_file([GOOD_PAGES[0], "/x,1.5,7,7", GOOD_PAGES[1]]), "not a whole number"),
    "duplicate-page": (
        pages_file([GOOD_PAGES[0], GOOD_PAGES[0], GOOD_PAGES[1]]),
        "duplicate of an earlier row for the same date and page",
    ),
}
GOOD_ROWS = {"dated": dated_file(GOOD_DATED), "pages": pages_file(GOOD_PAGES)}


@pytest.mark.parametrize(("bad", "reason"), REJECTED_ROWS.values(), ids=REJECTED_ROWS.keys())
def test_a_bad_pages_row_is_a_reject_and_the_rest_loads_exactly(
    bad: bytes,
    reason: str,
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The bad row is a reject; the data equals the good rows' alone."""
    bad_file = tmp_path / "pages.csv"
    bad_file.write_bytes(bad)
    good_file = tmp_path / "good.csv"
    good_file.write_bytes(GOOD_ROWS["dated" if bad.startswith(b"Date,") else "pages"])
    assert_partly_loaded(corpus_warehouse, "ga-pages", bad_file, good_file, [reason])


# -- what Excel, BigQuery and other tools write: loads as the plain file does ------------------

SPELLINGS: dict[str, Callable[[bytes], bytes]] = {
    "excel-bom": lambda data: b"\xef\xbb\xbf" + data,
    "crlf": lambda data: data.replace(b"\n", b"\r\n"),
    "bom-and-crlf": lambda data: b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n"),
    "no-final-line-end": lambda data: data.rstrip(b"\n"),
}
PLAIN = {"ga4": GOOD_GA4, "ga-pages": pages_file(GOOD_PAGES)}


@pytest.mark.parametrize("kind", ["ga4", "ga-pages"])
@pytest.mark.parametrize("spell", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_other_spellings_of_a_good_export_load_as_it_does(
    kind: str,
    spell: Callable[[bytes], bytes],
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A BOM, CRLF line ends, no final line end: the same data as the plain file."""
    name = "events_20240305.json" if kind == "ga4" else "pages.csv"
    spelt = tmp_path / name
    spelt.write_bytes(spell(PLAIN[kind]))
    plain = tmp_path / f"plain-{name}"
    plain.write_bytes(PLAIN[kind])
    assert_partly_loaded(corpus_warehouse, kind, spelt, plain, [])


def test_ga4_blank_lines_and_gzip_with_crlf_load_as_plain(
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Blank lines between events, and a gzipped CRLF export, read as the plain file."""
    spaced = tmp_path / "events_20240305.json"
    spaced.write_bytes(GOOD_GA4.replace(b"\n", b"\n\n"))
    plain = tmp_path / "plain.json"
    plain.write_bytes(GOOD_GA4)
    assert_partly_loaded(corpus_warehouse, "ga4", spaced, plain, [])
    packed = tmp_path / "events_20240305.json.gz"
    packed.write_bytes(_gz(b"\xef\xbb\xbf" + events_file(with_bad("[1]")).replace(b"\n", b"\r\n")))
    plain_packed = tmp_path / "plain.json.gz"
    plain_packed.write_bytes(_gz(GOOD_GA4))
    assert_partly_loaded(corpus_warehouse, "ga4", packed, plain_packed, ["not an object"])


def test_a_file_of_every_event_twice_loads_each_once(
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """An export written twice over: every counted event of the second copy is a duplicate."""
    twice = tmp_path / "events_20240305.json"
    twice.write_bytes(GOOD_GA4 + GOOD_GA4)
    plain = tmp_path / "plain.json"
    plain.write_bytes(GOOD_GA4)
    counted = len(GOOD_EVENTS) - 1  # the scroll event is not counted, so never a duplicate
    reasons = ["duplicate of an earlier event"] * counted
    assert_partly_loaded(corpus_warehouse, "ga4", twice, plain, reasons)


# -- a gzip bomb through the real command line --------------------------------------------------

BOMB_BYTES = 3 * 2**30  # decompressed: one line of 3 GiB
BOMB_RSS_LIMIT = 2**30  # the load's peak resident memory must stay under this


@pytest.fixture(scope="module")
def gzip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A `.json.gz` of a few MB holding one JSON line of 3 GiB; deleted afterwards."""
    path = tmp_path_factory.mktemp("bomb") / "events_20240305.json.gz"
    chunk = b"a" * 2**22
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b'{"event_name": "page_view", "event_date": "20240305", "x": "')
        for _ in range(BOMB_BYTES // len(chunk)):
            out.write(chunk)
        out.write(b'"}\n')
    yield path
    path.unlink()


@pytest.mark.slow
def test_a_gzip_bomb_is_refused_in_bounded_memory(
    gzip_bomb: Path,
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """One line of 3 GiB in a few MB of gzip: refused with one line, peak RSS under 1 GiB."""
    assert gzip_bomb.stat().st_size < 16 * 2**20
    url = corpus_warehouse.fresh()
    earlier = batches(url)
    measured = tmp_path / "time.txt"
    load = [str(CLI), "--database-url", url, "load", "ga4", str(gzip_bomb)]
    done = subprocess.run(
        ["/usr/bin/time", "-v", "-o", str(measured), *load],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"COLUMNS": "200"},
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: {gzip_bomb}, row 1: line 1 is longer than the limit")
    assert "raise GOVUK_KPI_MAX_LINE_BYTES to allow it" in lines[0]
    peak_kib = int(
        re.search(r"Maximum resident set size \(kbytes\): (\d+)", measured.read_text())[1]
    )
    assert peak_kib * 1024 < BOMB_RSS_LIMIT, f"peak RSS {peak_kib:,} KiB"
    later = batches(url)
    assert later[: len(earlier)] == earlier
    assert [b.status for b in later[len(earlier) :]] == ["failed"]
    print(f"gzip bomb: {gzip_bomb.stat().st_size:,} bytes, peak RSS {peak_kib:,} KiB")
