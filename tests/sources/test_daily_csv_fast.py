"""The pyarrow fast path of the daily CSV reader gives what the pandas path gives.

Each file is read twice: as the reader does (the fast path when the file is plain) and with
the fast path turned off. The frames, rejects and row counts, or the whole-file errors, must be
the same. Plain files must take the fast path; anything else falls back to the pandas path.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from govuk_kpi.core.errors import InputError
from govuk_kpi.sources import daily_csv
from govuk_kpi.sources.daily_csv import FORMATS, read_daily_csv

TODAY = date(2026, 10, 31)
HEADER = ",".join(FORMATS["analytics"])


def _read(path: Path, *, fast: bool, monkeypatch: pytest.MonkeyPatch):
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(daily_csv, "_read_plain", lambda *args: None)
        try:
            rows = read_daily_csv(path, "analytics", today=TODAY)
        except InputError as exc:
            return ("error", str(exc))
    return ("rows", rows.frame, rows.rejects, rows.rows_read, rows.sha256)


def _same(path: Path, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Whether both paths agree; returns whether the fast path gave the answer."""
    taken = []
    original = daily_csv._read_plain

    def spy(*args):
        result = original(*args)
        taken.append(result is not None)
        return result

    with monkeypatch.context() as patch:
        patch.setattr(daily_csv, "_read_plain", spy)
        fast = _read(path, fast=True, monkeypatch=monkeypatch)
    slow = _read(path, fast=False, monkeypatch=monkeypatch)
    assert fast[0] == slow[0], (fast, slow)
    if fast[0] == "error":
        assert fast[1] == slow[1]
    else:
        pd.testing.assert_frame_equal(fast[1], slow[1], check_exact=True)
        assert fast[2:] == slow[2:]
    return bool(taken and taken[0])


def _write(tmp_path: Path, name: str, lines: list[str], end: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes((end.join(lines) + end).encode())
    return path


def _row(day: str, path: str, counts: list[str] | None = None) -> str:
    return ",".join([day, path, *(counts or [str(i) for i in range(9)])])


PLAIN = [
    [_row("2026-10-30", "/a"), _row("2026-10-30", "/b/c-1")],
    # variants of one page, summed; several days; a page on two days
    [
        _row("2026-10-29", "/a"),
        _row("2026-10-29", "/A"),
        _row("2026-10-29", "/a?utm=x"),
        _row("2026-10-30", "/a"),
        _row("2026-10-30", "https://www.gov.uk/b/"),
        _row("2026-10-30", "/b"),
    ],
    [_row("2026-10-31", "/x", ["0"] * 9), _row("2026-10-31", "/y", ["9007199254740992"] * 9)],
    [_row("2026-10-30", "/"), _row("2026-10-30", "/%7e.x_y-z"), _row("2026-10-30", "/é")],
    [_row("2026-10-30", "/a", ["007", "1", "2", "3", "4", "5", "6", "7", "8"])],
    [_row("2026-10-30", "/a b"), _row("2026-10-30", "/trailing-blank ")],
]

MESSY = [
    [_row("2026-10-30", '"/a,b"')],  # quoted
    [_row("2026-10-30", "/a"), _row("2026-10-30", "/a")],  # a duplicate row
    [_row("2026-10-30", "/a"), "", _row("2026-10-30", "/b")],  # a blank line
    [_row("2026-10-30", " /a")],  # a leading blank
    [_row(" 2026-10-30", "/a")],
    [_row("2026-10-30", "/a", [" 1", "2 ", "3", "4", "5", "6", "7", "8", "9"])],
    [_row("2026-10-30", "/a", ["0x10", "1", "2", "3", "4", "5", "6", "7", "8"])],
    [_row("2026-10-30", "/a", ["-1", "1", "2", "3", "4", "5", "6", "7", "8"])],
    [_row("2026-10-30", "/a", ["+1", "1", "2", "3", "4", "5", "6", "7", "8"])],
    [_row("2026-10-30", "/a", ["1.0", "1", "2", "3", "4", "5", "6", "7", "8"])],
    [_row("2026-10-30", "/a", ["", "1", "2", "3", "4", "5", "6", "7", "8"])],
    [_row("2026-10-30", "/a", ["9007199254740993", "1", "2", "3", "4", "5", "6", "7", "8"])],
    [_row("2026-10-30", "/a", ["99999999999999999999", "1", "2", "3", "4", "5", "6", "7", "8"])],
    [_row("2026-10-30", "/a", ["١", "1", "2", "3", "4", "5", "6", "7", "8"])],
    [_row("2026-11-01", "/a")],  # in the future
    [_row("2026-02-30", "/a")],
    [_row("2026-1-30", "/a")],
    [_row("1650-01-01", "/a")],
    [_row("2026-10-30", "relative")],
    [_row("2026-10-30", "/a\x01b")],
    [_row("2026-10-30", "/" + "a" * 1500)],
    [_row("2026-10-30", "/a")[:-2]],  # a short row
    [_row("2026-10-30", "/a") + ",9"],  # a long row
]


@pytest.mark.parametrize("lines", PLAIN, ids=range(len(PLAIN)))
def test_plain_files_take_the_fast_path(
    lines: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "plain.csv", [HEADER, *lines])
    assert _same(path, monkeypatch)


@pytest.mark.parametrize("lines", MESSY, ids=range(len(MESSY)))
def test_other_files_read_as_before(
    lines: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "messy.csv", [HEADER, *lines])
    assert not _same(path, monkeypatch)


@pytest.mark.parametrize(
    "content",
    [
        HEADER.replace(",", ", ") + "\n" + _row("2026-10-30", "/a") + "\n",  # header with blanks
        HEADER + "\r\n" + _row("2026-10-30", "/a") + "\r\n",  # CRLF
        HEADER + "\n",  # no rows
        HEADER + "\n" + _row("2026-10-30", "/a"),  # no line end at the end
        HEADER + "\n" + _row("2026-10-30", "/a") + "\n\x00",
    ],
    ids=["blanks", "crlf", "empty", "no-end", "nul"],
)
def test_whole_file_cases(content: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "file.csv"
    path.write_bytes(content.encode())
    _same(path, monkeypatch)


def test_random_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random files mixing plain rows with every kind of trouble, few or none per file."""
    rng = random.Random(20261030)
    pages = ["/a", "/b/c", "/d-e/f_g", "/h.i", "/j~k", "/l%20m", "/"]
    variants = [str.upper, lambda p: p + "?q=1", lambda p: p + "/", lambda p: "https://gov.uk" + p]
    trouble = [" 1", "0x1", "-1", "", "1.5", "1e3", "9" * 20]
    fast = 0
    for n in range(150):
        lines = [HEADER]
        for _ in range(rng.randint(1, 30)):
            page = rng.choice(pages)
            if rng.random() < 0.2:
                page = rng.choice(variants)(page)
            counts = [str(rng.randint(0, 1000)) for _ in range(9)]
            if rng.random() < 0.01:
                counts[rng.randrange(9)] = rng.choice(trouble)
            day = rng.choice(["2026-10-29", "2026-10-30", "2026-10-31"])
            if rng.random() < 0.005:
                day = rng.choice(["2026-11-01", "30/10/2026", ""])
            lines.append(_row(day, page, counts))
        fast += _same(_write(tmp_path, f"random-{n}.csv", lines), monkeypatch)
    assert 0 < fast < 150
