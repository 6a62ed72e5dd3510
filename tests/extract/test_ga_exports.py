"""GA4 BigQuery event exports and GA UI "Pages" CSVs → the daily analytics rows, and loaded."""

from __future__ import annotations

import gzip
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from govuk_kpi.core.errors import InputError
from govuk_kpi.core.metrics import DAILY_METRICS
from govuk_kpi.sources.daily_csv import ANALYTICS_METRICS, read_daily_csv
from govuk_kpi.sources.ga4 import read_ga4_events
from govuk_kpi.sources.ga_csv import number, read_ga_pages_csv
from govuk_kpi.warehouse.db import upgrade
from govuk_kpi.warehouse.load_files import LOADERS
from govuk_kpi.warehouse.models import DimEdition, FactPageDaily, FactUnmatchedDaily

FIXTURES = Path(__file__).parent / "fixtures"
GA4 = FIXTURES / "events_20261030.json"
GA4_PAGES = FIXTURES / "ga4-pages-20261030.csv"
UA_PAGES = FIXTURES / "ua-pages-20261030.csv"
TODAY = date(2026, 11, 1)


def figures(rows, path: str) -> dict[str, int]:
    frame = rows.frame.set_index("path")
    return {name: int(frame.loc[path, name]) for name in ANALYTICS_METRICS}


# -- GA4 -----------------------------------------------------------------------------------


def test_ga4_events_become_daily_page_figures() -> None:
    rows = read_ga4_events(GA4, today=TODAY)
    assert rows.source == "analytics" and rows.rows_read == 15 and rows.rejects == []
    assert list(rows.frame.columns) == ["date", "path", *ANALYTICS_METRICS]
    assert rows.frame.dtypes.astype(str).tolist() == ["datetime64[s]", "str"] + ["int64"] * 9
    assert set(rows.frame["date"].dt.date) == {date(2026, 10, 30)}
    # Three views (two raw variants of the path), two users; one Yes, one No ("Report a
    # problem" is not an answer); a search from the page's search box; 45.2 s engaged.
    assert figures(rows, "/renew-adult-passport") == {
        "pviews": 3, "upviews": 2, "useful_yes": 1, "useful_no": 1, "searches": 1,
        "entrances": 3, "exits": 2, "bounces": 2, "page_time": 45,
    }  # fmt: skip
    assert figures(rows, "/national-curriculum") == {
        "pviews": 2, "upviews": 1, "useful_yes": 0, "useful_no": 0, "searches": 0,
        "entrances": 1, "exits": 1, "bounces": 0, "page_time": 0,
    }  # fmt: skip
    assert figures(rows, "/passport-fees")["exits"] == 1
    assert figures(rows, "/passport-fees")["page_time"] == 13  # 12.8 s
    assert len(rows.sha256) == 64


def test_ga4_has_the_shape_of_the_projects_own_csv(tmp_path: Path) -> None:
    """The same figures written as the project's CSV read back equal: one shape for load_daily."""
    rows = read_ga4_events(GA4, today=TODAY)
    csv = tmp_path / "a.csv"
    out = rows.frame.copy()
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    out.to_csv(csv, index=False)
    again = read_daily_csv(csv, "analytics", today=TODAY)
    assert again.frame.equals(rows.frame)


def _event(**over) -> dict:
    event = {
        "event_date": "20261030",
        "event_timestamp": "1793318400000001",
        "event_name": "page_view",
        "user_pseudo_id": "1.1",
        "event_params": [
            {"key": "page_location", "value": {"string_value": "https://www.gov.uk/x"}},
            {"key": "ga_session_id", "value": {"int_value": "7"}},
        ],
    }
    return event | over


def _write(tmp_path: Path, lines: list[str], name: str = "events_20261030.json") -> Path:
    path = tmp_path / name
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_ga4_bad_events_are_rejects_naming_the_line(tmp_path: Path) -> None:
    no_location = _event(event_params=[])
    lines = [
        json.dumps(_event()) + "\n",
        json.dumps(_event(event_date="2026-10-30")) + "\n",
        json.dumps(_event(event_date="20261302")) + "\n",
        json.dumps(_event(event_date="20261205")) + "\n",
        json.dumps(no_location) + "\n",
        json.dumps(_event(event_name="scroll", event_params=[])) + "\n",  # ignored, not a reject
        json.dumps(
            _event(event_params=[{"key": "page_location", "value": {"string_value": "x.com/a"}}])
        )
        + "\n",
        "[1, 2]\n",
        json.dumps(_event(event_name=None)) + "\n",
    ]
    rows = read_ga4_events(_write(tmp_path, lines), today=TODAY)
    assert rows.rows_read == 9
    assert [(r.row, r.reason) for r in rows.rejects] == [
        (2, "event_date '2026-10-30' is not YYYYMMDD"),
        (3, "event_date '20261302' is not a date"),
        (4, "event_date 2026-12-05 is in the future"),
        (5, "no page_location"),
        (7, "page_location: path 'x.com/a' is neither absolute nor on www.gov.uk"),
        (8, "event is a JSON list, not an object"),
        (9, "event has no event_name"),
    ]
    assert rows.rejects[0].raw_line == lines[1].rstrip("\n")
    assert figures(rows, "/x")["pviews"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b'{"event_date": "20261030"}\nnot json\n', "row 2: not a JSON event"),
        (b'{"event_date": "20261030"}\n{"event_da', "row 2: truncated: the last line"),
        (b'{"event_name": "page_\xff"}\n', "row 1: not UTF-8: byte 0xff"),
    ],
)
def test_ga4_whole_file_problems_fail_the_file(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "events_20261030.json"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_ga4_events(path, today=TODAY)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_ga4_gzipped_export_reads_the_same(tmp_path: Path) -> None:
    packed = tmp_path / "events_20261030.json.gz"
    packed.write_bytes(gzip.compress(GA4.read_bytes()))
    assert read_ga4_events(packed, today=TODAY).frame.equals(
        read_ga4_events(GA4, today=TODAY).frame
    )
    broken = tmp_path / "cut.json.gz"
    broken.write_bytes(packed.read_bytes()[:-20])
    with pytest.raises(InputError, match="not a complete gzip file"):
        read_ga4_events(broken, today=TODAY)


# -- GA UI Pages CSV -----------------------------------------------------------------------


def test_ga4_pages_csv_maps_its_columns() -> None:
    rows = read_ga_pages_csv(GA4_PAGES, today=TODAY)
    assert rows.rows_read == 4 and rows.rejects == []  # the totals row is not a row
    assert set(rows.frame["date"].dt.date) == {date(2026, 10, 30)}  # from "Start date"
    got = figures(rows, "/renew-adult-passport")  # two raw variants summed
    assert got["pviews"] == 48_210 + 312 and got["upviews"] == 40_112 + 301
    assert got["page_time"] == (61 * 40_112) + (30 * 301)  # avg engagement × users
    assert got["useful_yes"] == got["searches"] == 0


def test_ua_pages_csv_maps_its_columns_and_ignores_the_extra_tables() -> None:
    rows = read_ga_pages_csv(UA_PAGES, today=TODAY)
    assert rows.rows_read == 3 and rows.rejects == []
    got = figures(rows, "/national-curriculum")
    assert got["pviews"] == 5120 and got["upviews"] == 4410 and got["entrances"] == 3922
    assert got["exits"] == round(0.4709 * 5120)
    assert got["bounces"] == round(0.3909 * 3922)
    assert got["page_time"] == 72 * (5120 - round(0.4709 * 5120))


@pytest.mark.parametrize(
    ("text", "value"),
    [("1,234", 1234), ("48.65%", 0.4865), ("00:01:12", 72), ("1:02:03", 3723),
     ("1m 12s", 72), ("£0.00", 0), ("12", 12)],
)  # fmt: skip
def test_ui_numbers(text: str, value: float) -> None:
    assert number(text) == pytest.approx(value)


def test_pages_csv_bad_rows_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "pages.csv"
    path.write_text(
        "# Start date: 20261030\n# End date: 20261030\n"
        "Page,Pageviews,Unique Pageviews\n"
        '/a,"1,000",900\n'
        "/b,12a,1\n"
        "/c,-3,1\n"
        "/d,1.5,1\n"
        "not-a-path,3,1\n"
        "/a,5,5\n"
        'Grand total,"1,003",900\n',
        encoding="utf-8",
    )
    rows = read_ga_pages_csv(path, today=TODAY)
    assert [(r.row, r.reason) for r in rows.rejects] == [
        (5, "pviews is not a number: '12a'"),
        (6, "pviews is negative"),
        (7, "pviews is not a whole number: 1.5"),
        (8, "path: path 'not-a-path' is neither absolute nor on www.gov.uk"),
        (9, "duplicate of an earlier row for the same date and page"),
    ]
    assert rows.rejects[0].raw_line == "/b,12a,1"
    assert figures(rows, "/a")["pviews"] == 1000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# only comments\n", "no table"),
        ("# 20261030-20261030\nPage,Sessions\n/a,1\n", "row 2: no Pageviews / Views column"),
        ("Page,Pageviews\n/a,1\n", "which day? no Date column"),
        ("# 20261001-20261031\nPage,Pageviews\n/a,1\n", "covers 2026-10-01 to 2026-10-31"),
        ('# 20261030-20261030\nPage,Pageviews\n/a,"1\n', "row 3: not valid CSV"),
        ("# 20261030-20261030\nPage,Pageviews\n/a,1,2\n", "row 3: 3 fields where the header"),
    ],
)
def test_pages_csv_whole_file_problems(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "pages.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_ga_pages_csv(path, today=TODAY)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_pages_csv_with_a_date_column_covers_many_days(tmp_path: Path) -> None:
    path = tmp_path / "pages.csv"
    path.write_text(
        "# 20261029-20261030\nDate,Page path,Views,Users\n"
        "20261029,/a,10,9\n20261030,/a,20,18\n2026-10-31,/a,1,1\n20261105,/a,1,1\n",
        encoding="utf-8",
    )
    rows = read_ga_pages_csv(path, today=TODAY)
    assert rows.frame["pviews"].tolist() == [10, 20, 1]
    assert [r.reason for r in rows.rejects] == ["date 2026-11-05 is in the future"]


# -- loaded into the warehouse, unchanged load_daily ---------------------------------------


@pytest.mark.parametrize("kind", ["ga4", "ga-pages"])
def test_exports_load_into_the_daily_facts(db_url: str, kind: str) -> None:
    from extract_helpers import ITEMS_DIR

    upgrade(db_url)
    engine = create_engine(db_url)
    try:
        LOADERS["content"](engine, ITEMS_DIR, observed_at=datetime(2026, 1, 1))
        path = GA4 if kind == "ga4" else GA4_PAGES
        expected = (read_ga4_events if kind == "ga4" else read_ga_pages_csv)(path, today=TODAY)
        result = LOADERS[kind](engine, path, today=TODAY)
        assert result.source == "analytics" and result.rows_rejected == 0
        assert result.rows_loaded == len(expected.frame)
        with engine.connect() as connection:
            facts = connection.execute(
                select(DimEdition.base_path, *(getattr(FactPageDaily, m) for m in DAILY_METRICS))
                .join(DimEdition, DimEdition.edition_key == FactPageDaily.edition_key)
                .where(FactPageDaily.date_key == 20261030)
            ).all()
            unmatched = connection.execute(select(FactUnmatchedDaily.path)).scalars().all()
        loaded = {row[0]: dict(zip(DAILY_METRICS, row[1:], strict=True)) for row in facts}
        for path_ in ("/renew-adult-passport", "/national-curriculum"):
            want = figures(expected, path_) | {"feedex": 0}
            assert loaded[path_] == want
        assert result.rows_unmatched == len(unmatched) and result.rows_unmatched >= 1
        again = LOADERS[kind](engine, path, today=TODAY)
        assert again.skipped_as == result.batch_id  # the same file twice changes nothing
    finally:
        engine.dispose()
