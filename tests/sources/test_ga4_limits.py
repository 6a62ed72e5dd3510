"""The line reader of the GA exports at its limits: line length, offsets, memory, numbers."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from datetime import date
from pathlib import Path

import pytest

from govuk_kpi.core.errors import InputError
from govuk_kpi.sources.ga4 import read_ga4_events, whole_number
from govuk_kpi.sources.ga_csv import read_ga_pages_csv
from govuk_kpi.sources.lines import read_lines

LIMIT = 100
TODAY = date(2024, 6, 1)


@pytest.fixture
def small_lines(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("GOVUK_KPI_MAX_LINE_BYTES", str(LIMIT))
    return LIMIT


@pytest.mark.parametrize(
    ("ending", "bom"), [(b"\n", b""), (b"\r\n", b""), (b"\n", b"\xef\xbb\xbf"), (b"", b"")]
)
def test_a_line_of_exactly_the_limit_is_read(
    tmp_path: Path, small_lines: int, ending: bytes, bom: bytes
) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(bom + b"a" * small_lines + (ending or b"\n") + b"b" * small_lines + ending)
    got = [(line.number, line.text) for line in read_lines(path)]
    assert got == [(1, "a" * small_lines), (2, "b" * small_lines)]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b""])
def test_a_line_one_byte_over_the_limit_fails_the_file(
    tmp_path: Path, small_lines: int, ending: bytes
) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"a\n" + b"\xef\xbb\xbf" + b"b" * small_lines + ending)
    with pytest.raises(InputError) as caught:
        list(read_lines(path))
    assert caught.value.row == 2
    assert "line 2 is longer than the limit of 100 bytes" in str(caught.value)


def test_not_utf8_names_the_offset_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbfab\r\ncd\xff\n")
    with pytest.raises(InputError, match=r"row 2: not UTF-8: byte 0xff at offset 9"):
        list(read_lines(path))


def test_a_last_line_without_a_line_end_is_marked(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"a\nb")
    assert [line.ended for line in read_lines(path)] == [True, False]


def test_one_long_gzipped_line_is_refused_holding_at_most_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """64 MiB in one line, the limit 1 MiB: refused, with little more than 1 MiB held."""
    monkeypatch.setenv("GOVUK_KPI_MAX_LINE_BYTES", str(2**20))
    path = tmp_path / "events.json.gz"
    with gzip.open(path, "wb") as out:
        for _ in range(64):
            out.write(b"a" * 2**20)
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="line 1 is longer than the limit of 1,048,576"):
            read_ga4_events(path, today=TODAY)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, peak


def test_a_pages_csv_is_refused_past_the_file_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVUK_KPI_MAX_FILE_BYTES", "10")
    path = tmp_path / "pages.csv"
    path.write_text("# 20240305-20240305\nPage,Views\n/a,1\n")
    with pytest.raises(InputError, match="over the limit of 10"):
        read_ga_pages_csv(path, today=TODAY)


@pytest.mark.parametrize(
    ("value", "number"),
    [("1001", 1001), (7, 7), ("-3", -3), (str(2**63 - 1), 2**63 - 1), (-(2**63), -(2**63))],
)
def test_whole_numbers(value: object, number: int) -> None:
    assert whole_number(value, "x") == number


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("abc", "x 'abc' is not a whole number"),
        ("", "x '' is not a whole number"),
        (" 1", "x ' 1' is not a whole number"),
        ("1_000", "is not a whole number"),
        ("١٢", "is not a whole number"),  # digits, but not ASCII ones
        (1.0, "x 1.0 is not a whole number"),
        (True, "x True is not a whole number"),
        (None, "x None is not a whole number"),
        (str(2**63), "is out of range (more than 64 bits)"),
        ("9" * 100_000, "is out of range"),
        (2**64, "is out of range"),
    ],
)
def test_not_whole_numbers(value: object, says: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        whole_number(value, "x")
    assert says in str(caught.value)
    assert len(str(caught.value)) < 200


def test_a_session_id_given_as_digits_is_the_same_session(tmp_path: Path) -> None:
    """ga_session_id as int_value "7" and as the JSON number 7: one session, one entrance."""
    base = {
        "event_date": "20240305",
        "event_name": "page_view",
        "user_pseudo_id": "u",
    }
    location = {"key": "page_location", "value": {"string_value": "/a"}}
    lines = [
        base
        | {
            "event_timestamp": "1",
            "event_params": [location, {"key": "ga_session_id", "value": {"int_value": "7"}}],
        },
        base
        | {
            "event_timestamp": 2,
            "event_params": [location, {"key": "ga_session_id", "value": {"int_value": 7}}],
        },
    ]
    path = tmp_path / "events.json"
    path.write_text("".join(json.dumps(e) + "\n" for e in lines))
    rows = read_ga4_events(path, today=TODAY)
    assert rows.rejects == []
    assert rows.frame[["pviews", "entrances", "exits", "bounces"]].values.tolist() == [[2, 1, 1, 0]]
