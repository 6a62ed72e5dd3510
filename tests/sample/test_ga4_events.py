"""The generated GA4 export day (govuk_kpi.sample.ga4_events): its shape in every format, and
what the Python reader (the oracle) makes of it."""

from __future__ import annotations

import gzip
import itertools
import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from govuk_kpi.core.paths import normalise_path
from govuk_kpi.sample import ga4_events
from govuk_kpi.sample.ga4_events import (
    DAY_ZONE,
    GA4_SCHEMA,
    _variants,
    main,
    write_ga4_events,
)
from govuk_kpi.sources.ga4 import read_ga4_events

DAY = date(2026, 10, 30)
TODAY = date(2026, 12, 5)
EVENTS = 5_000
PAGES = 500  # fewer pages than the default: pages repeat, as on GOV.UK
VALUE_KINDS = ["string_value", "int_value", "float_value", "double_value"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same day (seed 7) in every format."""
    root = tmp_path_factory.mktemp("ga4")
    return {
        kind: write_ga4_events(
            root / f"events_20261030.{kind}", EVENTS, day=DAY, seed=7, pages=PAGES
        )
        for kind in ("ndjson", "json.gz", "parquet")
    }


@pytest.fixture(scope="module")
def events(files: dict[str, Path]) -> list[dict[str, Any]]:
    with files["ndjson"].open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def _params(event: dict[str, Any]) -> dict[str, Any]:
    """key → its one set value, as the JSON holds it (int_value a string)."""
    out = {}
    for param in event["event_params"]:
        (value,) = [v for v in param["value"].values() if v is not None]
        out[param["key"]] = value
    return out


def test_ndjson_is_one_event_a_line_in_the_export_shape(
    files: dict[str, Path], events: list[dict[str, Any]]
) -> None:
    text = files["ndjson"].read_bytes()
    assert text.endswith(b"\n") and text.count(b"\n") == EVENTS == len(events)
    assert all(list(event) == GA4_SCHEMA.names for event in events)
    for event in events:
        assert event["event_date"] == "20261030"
        # BigQuery writes INT64 as JSON strings.
        assert isinstance(event["event_timestamp"], str) and event["event_timestamp"].isdigit()
        assert event["event_bundle_sequence_id"].isdigit()
        assert event["platform"] == "WEB" and event["stream_id"] == "2839046139"
        assert event["user_pseudo_id"].count(".") == 1
        assert set(event["geo"]) == {"city", "country", "region"}
        assert event["traffic_source"]["source"] and event["device"]["category"]
        for param in event["event_params"]:
            assert list(param) == ["key", "value"]
            assert list(param["value"]) == VALUE_KINDS
            set_kinds = [kind for kind, v in param["value"].items() if v is not None]
            assert len(set_kinds) == 1
            if set_kinds == ["int_value"]:
                assert isinstance(param["value"]["int_value"], str)
        params = _params(event)
        assert params["page_location"].startswith("https://www.gov.uk/")
        assert params["ga_session_id"].isdigit()


def test_gzip_holds_the_same_text(files: dict[str, Path]) -> None:
    assert gzip.decompress(files["json.gz"].read_bytes()) == files["ndjson"].read_bytes()


def test_the_mix_of_events_is_govuk_like(events: list[dict[str, Any]]) -> None:
    names = Counter(event["event_name"] for event in events)
    assert set(names) == {
        "session_start",
        "page_view",
        "user_engagement",
        "scroll",
        "click",
        "search",
        "form_submit",
    }
    assert 0.02 <= names["search"] / EVENTS <= 0.045
    assert 0.005 <= names["form_submit"] / EVENTS <= 0.02
    assert names["page_view"] > names["user_engagement"] > names["scroll"] > names["click"]
    users = {event["user_pseudo_id"] for event in events}
    assert EVENTS / 12 <= len(users) <= EVENTS / 5

    for event in events:
        params = _params(event)
        name = event["event_name"]
        if name == "user_engagement":
            assert int(params["engagement_time_msec"]) > 0
        if name == "page_view":
            assert params["page_title"].endswith(" - GOV.UK")
        if name == "form_submit":
            assert params["type"] == "feedback"
            assert params["section"] == "Is this page useful?"
            assert params["ui_text"] in {"Yes", "No"}
    search_page = [
        _params(e)
        for e in events
        if e["event_name"] == "search" and "/search/all?keywords=" in _params(e)["page_location"]
    ]
    on_pages = [
        e
        for e in events
        if e["event_name"] == "search" and "/search/" not in _params(e)["page_location"]
    ]
    assert search_page and on_pages
    # Most searches from the search page name the GOV.UK page whose box was used.
    from_govuk = [
        p for p in search_page if p.get("page_referrer", "").startswith("https://www.gov")
    ]
    assert len(from_govuk) > 0.8 * len(search_page)


def test_sessions_run_forward_in_time_within_the_day(events: list[dict[str, Any]]) -> None:
    sessions: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for event in events:
        key = (event["user_pseudo_id"], _params(event)["ga_session_id"])
        sessions[key].append((int(event["event_timestamp"]), event["event_name"]))
    start = datetime.combine(DAY, time(), DAY_ZONE).timestamp() * 1_000_000
    end = datetime.combine(DAY + timedelta(days=1), time(), DAY_ZONE).timestamp() * 1_000_000
    per_user = Counter(user for user, _ in sessions)
    assert set(per_user.values()) <= {1, 2, 3} and max(per_user.values()) > 1
    for (_, session_id), stamps in sessions.items():
        stamps.sort()
        assert all(a[0] < b[0] for a, b in itertools.pairwise(stamps))
        assert start <= stamps[0][0] and stamps[-1][0] < end
        # A session (but maybe the day's last, cut short) starts with session_start, whose
        # second is its ga_session_id.
        if stamps[0][1] == "session_start":
            assert stamps[0][0] // 1_000_000 == int(session_id)
    assert sum(s[0][1] == "session_start" for s in sessions.values()) >= len(sessions) - 1


def test_page_locations_need_normalising(events: list[dict[str, Any]]) -> None:
    locations = {_params(e)["page_location"] for e in events}
    assert any("?" in url and "/search/" not in url for url in locations)
    assert any("#" in url for url in locations)
    assert any(url.endswith("/") and url != "https://www.gov.uk/" for url in locations)
    assert any(url != url.lower() and "%" not in url for url in locations)
    assert any("%C3%A9" in url for url in locations)  # é as browsers send it
    paths = {normalise_path(url) for url in locations}
    assert len(paths) < len(locations)
    assert any(not path.isascii() for path in paths)  # /guidance/café-... decoded


def test_a_page_is_recorded_four_ways() -> None:
    plain, query, marked, cased = _variants("/guidance/café-rates", 2)
    assert plain == "https://www.gov.uk/guidance/caf%C3%A9-rates"
    assert query.startswith(plain + "?") and marked == plain + "/"
    assert cased == "https://www.gov.uk/guidance/caf%c3%a9-rates"
    _, query, marked, cased = _variants("/vehicle-tax", 3)
    assert query.startswith("https://www.gov.uk/vehicle-tax?")
    assert (marked, cased) == (
        "https://www.gov.uk/vehicle-tax#history",
        "https://www.gov.uk/Vehicle-Tax",
    )
    variants = _variants("/guidance/café-rates", 2)
    assert {normalise_path(url) for url in variants} == {"/guidance/café-rates"}


def _oracle_checks(path: Path, events: list[dict[str, Any]]) -> None:
    """The Python reader counts `events` (the file's own events) with no rejects."""
    rows = read_ga4_events(path, today=TODAY)
    assert rows.rejects == []
    assert rows.rows_read == len(events)
    frame = rows.frame
    views = [e for e in events if e["event_name"] == "page_view"]
    sessions = {(e["user_pseudo_id"], _params(e)["ga_session_id"]) for e in views}
    assert frame["pviews"].sum() == len(views) > 0
    assert frame["entrances"].sum() == len(sessions) == frame["exits"].sum()
    assert 0 < frame["bounces"].sum() < len(sessions)
    assert frame["searches"].sum() == sum(e["event_name"] == "search" for e in events)
    feedback = [_params(e)["ui_text"] for e in events if e["event_name"] == "form_submit"]
    assert frame["useful_yes"].sum() == feedback.count("Yes") > 0
    assert frame["useful_no"].sum() == feedback.count("No") > 0
    assert (frame["upviews"] <= frame["pviews"]).all() and frame["page_time"].sum() > 0
    assert set(frame["date"].dt.date) == {DAY}
    assert "/search/all" in set(frame["path"]) and "/" in set(frame["path"])


def test_the_python_reader_counts_the_ndjson_and_the_gzip(
    files: dict[str, Path], events: list[dict[str, Any]]
) -> None:
    _oracle_checks(files["ndjson"], events)
    plain = read_ga4_events(files["ndjson"], today=TODAY).frame
    zipped = read_ga4_events(files["json.gz"], today=TODAY).frame
    assert plain.equals(zipped)


def _as_json(value: Any) -> Any:
    """A Parquet value as the JSON export writes it: INT64 as a string."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def test_parquet_has_the_export_schema_and_the_same_events(
    files: dict[str, Path], events: list[dict[str, Any]]
) -> None:
    schema = pq.read_schema(files["parquet"])
    assert schema.equals(GA4_SCHEMA)
    assert schema.field("event_date").type == pa.string()
    assert schema.field("event_timestamp").type == pa.int64()
    assert schema.field("event_params").type == pa.list_(
        pa.struct(
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
    )
    for record in ("privacy_info", "device", "geo", "traffic_source"):
        assert pa.types.is_struct(schema.field(record).type)
    rows = pq.read_table(files["parquet"]).to_pylist()
    assert [_as_json(row) for row in rows] == events


def test_a_seed_gives_the_same_day(tmp_path: Path) -> None:
    def day(name: str, seed: int) -> bytes:
        return write_ga4_events(tmp_path / name, 800, day=DAY, seed=seed, pages=50).read_bytes()

    assert day("a.json", 1) == day("b.json", 1)
    assert day("c.json", 2) != day("a.json", 1)


def test_chunks_join_into_one_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, Path]
) -> None:
    """Drawn in many small chunks (as a big day is), users and sessions stay apart."""
    monkeypatch.setattr(ga4_events, "CHUNK_EVENTS", 997)
    path = write_ga4_events(tmp_path / "chunked.ndjson", EVENTS, day=DAY, seed=7, pages=PAGES)
    with path.open(encoding="utf-8") as lines:
        chunked = [json.loads(line) for line in lines]
    assert len(chunked) == EVENTS
    _oracle_checks(path, chunked)
    table = write_ga4_events(tmp_path / "chunked.parquet", EVENTS, day=DAY, seed=7, pages=PAGES)
    metadata = pq.ParquetFile(table).metadata
    assert metadata.num_rows == EVENTS and metadata.num_row_groups == 6
    assert [_as_json(row) for row in pq.read_table(table).to_pylist()] == chunked


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "events_20260601.json.gz"
    assert main([str(out), "--events", "300", "--day", "2026-06-01", "--pages", "40"]) == 0
    assert "300 events of 2026-06-01" in capsys.readouterr().out
    lines = gzip.decompress(out.read_bytes()).decode().splitlines()
    assert len(lines) == 300 and json.loads(lines[0])["event_date"] == "20260601"
    # June: GOV.UK's day (Europe/London) starts at 23:00 UTC the day before.
    stamps = [int(json.loads(line)["event_timestamp"]) for line in lines]
    assert min(stamps) >= datetime(2026, 5, 31, 23, tzinfo=UTC).timestamp() * 1_000_000
    assert not list(tmp_path.glob("*.part"))

    with pytest.raises(SystemExit):
        main([str(tmp_path / "events.csv"), "--events", "10", "--day", "2026-06-01"])


@pytest.mark.parametrize(
    ("name", "events"), [("events.csv", 10), ("events.json", 0), ("events.parquet", -1)]
)
def test_refuses_what_it_cannot_write(tmp_path: Path, name: str, events: int) -> None:
    with pytest.raises(ValueError):
        write_ga4_events(tmp_path / name, events, day=DAY)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("day", [date(2026, 3, 29), date(2026, 10, 25)])
def test_days_when_the_clocks_change(tmp_path: Path, day: date) -> None:
    """A London day of 23 or 25 hours: every event within it, the long day's last hour used."""
    path = write_ga4_events(tmp_path / "day.parquet", 3_000, day=day, pages=50)
    stamps = pq.read_table(path, columns=["event_timestamp"])["event_timestamp"].to_pylist()
    start = datetime.combine(day, time(), DAY_ZONE).timestamp() * 1_000_000
    end = datetime.combine(day + timedelta(days=1), time(), DAY_ZONE).timestamp() * 1_000_000
    assert start <= min(stamps) and max(stamps) < end
    if end - start > 86_400_000_000:
        assert max(stamps) >= start + 86_400_000_000
