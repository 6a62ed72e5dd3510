"""The bad-input corpus of the daily CSVs (analytics and feedback), on both backends.

Every case runs `govuk-kpi load` on a fresh copy of one small warehouse (`support.corpus`):
a file-level problem is one error line naming the file and row, a `failed` batch and no data
change; a row-level problem is a reject with its reason, and the data is exactly what the
file's valid rows alone leave.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from govuk_kpi.warehouse.db import get_engine
from govuk_kpi.warehouse.models import LoadReject
from support.corpus import (
    ANALYTICS_HEADER,
    CURRICULUM,
    DAY,
    FEEDBACK_HEADER,
    PETS,
    CorpusWarehouse,
    analytics_line,
    assert_partly_loaded,
    assert_refused,
    batches,
    corpus_template,  # noqa: F401 (a fixture)
    corpus_warehouse,  # noqa: F401 (a fixture)
    feedback_line,
    run_load,
)

GOOD_ANALYTICS = [analytics_line(CURRICULUM, "11"), analytics_line(PETS, "13")]
GOOD_FEEDBACK = [feedback_line(CURRICULUM, "2"), feedback_line(PETS, "5")]
HEADERS = {"analytics": ANALYTICS_HEADER, "feedback": FEEDBACK_HEADER}
GOOD = {"analytics": GOOD_ANALYTICS, "feedback": GOOD_FEEDBACK}


def text(kind: str, lines: list[str], header: str | None = None) -> bytes:
    """A CSV of the kind's header (or `header`) and `lines`, each ended by a line feed."""
    head = HEADERS[kind] if header is None else header
    return (head + "\n" + "".join(f"{line}\n" for line in lines)).encode("utf-8")


# -- files refused whole ----------------------------------------------------------------------


@dataclass
class Refused:
    """A file that must fail whole: its bytes (or a maker of the path), the words, the row."""

    kind: str
    body: bytes | Callable[[Path], Path]
    says: str
    row: int | None = None
    options: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


def _a(lines: list[str], **kw) -> bytes:
    return text("analytics", lines, **kw)


def _symlink_loop(folder: Path) -> Path:
    loop = folder / "loop.csv"
    os.symlink(loop, loop)
    return loop


def _directory(folder: Path) -> Path:
    path = folder / "a-folder.csv"
    path.mkdir()
    return path


def _missing(folder: Path) -> Path:
    return folder / "never-written.csv"


A_LINE = analytics_line("/x")
REFUSED = {
    "not-utf8": Refused(
        "analytics", _a(GOOD_ANALYTICS) + b"2024-03-05,/caf\xe9,1,1,1,1,1,1,1,1,1\n", "0xe9", 4
    ),
    "utf16": Refused(
        "analytics", _a(GOOD_ANALYTICS).decode().encode("utf-16"), "not UTF-8: byte 0xff", 1
    ),
    "binary": Refused("analytics", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8", 1),
    "truncated": Refused("analytics", _a(GOOD_ANALYTICS) + A_LINE[:20].encode(), "truncated", 4),
    "missing-column": Refused(
        "analytics",
        _a(GOOD_ANALYTICS, header=ANALYTICS_HEADER.replace(",searches", "")),
        "missing column(s) searches",
        1,
    ),
    "extra-column": Refused(
        "analytics",
        _a([g + ",3" for g in GOOD_ANALYTICS], header=ANALYTICS_HEADER + ",shares"),
        "unexpected column(s) shares",
        1,
    ),
    "repeated-column": Refused(
        "analytics",
        _a([g + ",3" for g in GOOD_ANALYTICS], header=ANALYTICS_HEADER + ",pviews"),
        "a column appears twice",
        1,
    ),
    "header-in-capitals": Refused(
        "analytics",
        _a(GOOD_ANALYTICS, header=ANALYTICS_HEADER.replace("date,path", "Date,Path")),
        "missing column(s) date, path",
        1,
    ),
    "semicolons": Refused(
        "analytics",
        _a(
            [g.replace(",", ";") for g in GOOD_ANALYTICS], header=ANALYTICS_HEADER.replace(",", ";")
        ),
        "missing column(s)",
        1,
    ),
    "tabs": Refused(
        "analytics",
        _a(
            [g.replace(",", "\t") for g in GOOD_ANALYTICS],
            header=ANALYTICS_HEADER.replace(",", "\t"),
        ),
        "missing column(s)",
        1,
    ),
    "nul-in-header": Refused(
        "analytics", _a(GOOD_ANALYTICS, header=ANALYTICS_HEADER + "\x00"), "unexpected column", 1
    ),
    "feedback-file-as-analytics": Refused(
        "analytics", text("feedback", GOOD_FEEDBACK), "missing column(s) pviews", 1
    ),
    "analytics-file-as-feedback": Refused(
        "feedback", _a(GOOD_ANALYTICS), "unexpected column(s) pviews", 1
    ),
    "empty": Refused("analytics", b"", "empty file", 1),
    "only-blank-lines": Refused("analytics", b"\n \n\r\n", "empty file", 1),
    "bom-only": Refused("analytics", b"\xef\xbb\xbf", "empty file", 1),
    "extra-field": Refused(
        "analytics",
        _a([*GOOD_ANALYTICS, A_LINE + ",99"]),
        "the row has 12 fields, the header 11",
        4,
    ),
    "extra-field-in-the-only-row": Refused(
        "analytics", _a([A_LINE + ",99"]), "the row has 12 fields, the header 11", 2
    ),
    "too-few-fields": Refused(
        "analytics",
        _a([*GOOD_ANALYTICS, "2024-03-05,/x,1,2,3", GOOD_ANALYTICS[0]]),
        "the row has 5 fields, the header 11",
        4,
    ),
    "unquoted-thousands": Refused(
        "analytics",
        _a([*GOOD_ANALYTICS, analytics_line("/x", "1,234")]),
        "(a comma in an unquoted value?)",
        4,
    ),
    "unclosed-quote": Refused(
        "analytics",
        _a([*GOOD_ANALYTICS, analytics_line('"/x'), analytics_line("/y")]),
        "a quote opened on this row is not closed",
        4,
    ),
    "cr-only-and-too-few-fields": Refused(
        "analytics",
        _a([*GOOD_ANALYTICS, "2024-03-05,/x"]).replace(b"\n", b"\r"),
        "the row has 2 fields",
        4,
    ),
    "header-over-128-kib": Refused(
        "analytics", _a(GOOD_ANALYTICS, header=ANALYTICS_HEADER + "," + "x" * 200_000), "", 1
    ),
    "line-over-the-limit": Refused(
        "analytics",
        _a([*GOOD_ANALYTICS, analytics_line("/" + "a" * 3000)]),
        "over the limit of 2,000 (raise GOVUK_KPI_MAX_LINE_BYTES",
        4,
        env={"GOVUK_KPI_MAX_LINE_BYTES": "2000"},
    ),
    "file-over-the-limit": Refused(
        "analytics",
        _a(GOOD_ANALYTICS),
        "over the limit of 100 (raise GOVUK_KPI_MAX_FILE_BYTES",
        env={"GOVUK_KPI_MAX_FILE_BYTES": "100"},
    ),
    "a-folder": Refused("analytics", _directory, "cannot read"),
    "missing-file": Refused("analytics", _missing, "cannot read: No such file or directory"),
    "symlink-loop": Refused("analytics", _symlink_loop, "Too many levels of symbolic links"),
    "replace-start-after-end": Refused(
        "analytics",
        _a(GOOD_ANALYTICS),
        "the start is after the end",
        options=("--replace", "2024-03-06", "2024-03-04"),
    ),
    "replace-before-launch": Refused(
        "analytics",
        _a(GOOD_ANALYTICS),
        "before the earliest day 2012-10-17",
        options=("--replace", "1970-01-01", "2024-03-05"),
    ),
    "replace-not-covering-the-file": Refused(
        "feedback",
        text("feedback", GOOD_FEEDBACK),
        "holds 2024-03-05, outside --replace",
        options=("--replace", "2024-03-01", "2024-03-04"),
    ),
    "feedback-not-utf8": Refused(
        "feedback", text("feedback", GOOD_FEEDBACK) + b"2024-03-05,/\xff,1\n", "0xff", 4
    ),
    "feedback-missing-column": Refused(
        "feedback", text("feedback", ["2024-03-05,/x"], header="date,path"), "feedex", 1
    ),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_file_is_refused_with_one_line(
    case: Refused,
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """One error line naming the file (and row), a failed batch, no data change."""
    if callable(case.body):
        path = case.body(tmp_path)
    else:
        path = tmp_path / f"{case.kind}.csv"
        path.write_bytes(case.body)
    url = corpus_warehouse.fresh()
    assert_refused(
        url, case.kind, path, case.says, row=case.row, options=case.options, env=case.env
    )


# -- files whose bad rows are rejected --------------------------------------------------------

DAY_TEXT = DAY.isoformat()


def _dated(day: str, path: str = "/x") -> str:
    return analytics_line(path).replace(DAY_TEXT, day)


# bad row -> the reason it is rejected with
REJECTED: dict[str, tuple[str, str, str]] = {
    "negative": ("analytics", analytics_line("/x", "-5"), "pviews is negative"),
    "letters": ("analytics", analytics_line("/x", "12a"), "pviews is not a whole number"),
    "fraction": ("analytics", analytics_line("/x", "1.5"), "pviews is not a whole number"),
    "empty-count": ("analytics", analytics_line("/x", ""), "pviews is not a whole number"),
    "quoted-thousands": (
        "analytics",
        analytics_line("/x", '"1,234"'),
        "pviews is not a whole number",
    ),
    "nan": ("analytics", analytics_line("/x", "NaN"), "pviews is not a whole number"),
    "infinity": ("analytics", analytics_line("/x", "inf"), "pviews is too large"),
    "past-int64": ("analytics", analytics_line("/x", "9" * 20), "pviews is too large"),
    "ten-million-digits": ("analytics", analytics_line("/x", "9" * 10_000_000), "too large"),
    "a-million-letters": (
        "analytics",
        analytics_line("/x", "x" * 1_000_000),
        "pviews is not a whole number",
    ),
    "no-such-day": ("analytics", _dated("2024-02-30"), "date is not a YYYY-MM-DD date"),
    "not-iso": ("analytics", _dated("05/03/2024"), "date is not a YYYY-MM-DD date"),
    "short-year": ("analytics", _dated("24-03-05"), "date is not a YYYY-MM-DD date"),
    "future": ("analytics", _dated("2999-01-01"), "date is in the future"),
    "year-9999": ("analytics", _dated("9999-12-31"), "date is in the future"),
    "1970": ("analytics", _dated("1970-01-01"), "before the earliest day 2012-10-17"),
    "year-1": ("analytics", _dated("0001-01-01"), "before the earliest day 2012-10-17"),
    "day-before-launch": ("analytics", _dated("2012-10-16"), "before the earliest day"),
    "empty-path": ("analytics", analytics_line(""), "path: path is empty"),
    "blank-path": ("analytics", analytics_line('"   "'), "path: path is empty"),
    "query-only-path": ("analytics", analytics_line("?utm_source=x"), "is neither absolute"),
    "relative-path": ("analytics", analytics_line("national-curriculum"), "is neither absolute"),
    "other-site": ("analytics", analytics_line("https://example.com/x"), "is neither absolute"),
    "path-too-long": ("analytics", analytics_line("/" + "a" * 1500), "at most 1500 allowed"),
    "nul-in-path": ("analytics", analytics_line("/a\x00b"), "control characters"),
    "bell-in-path": ("analytics", analytics_line("/a\x07b"), "control characters"),
    "nul-in-count": ("analytics", analytics_line("/x", "1\x002"), "pviews is not a whole number"),
    "duplicate": ("analytics", GOOD_ANALYTICS[0], "duplicate of an earlier row"),
    "feedback-negative": ("feedback", feedback_line("/x", "-1"), "feedex is negative"),
    "feedback-1970": (
        "feedback",
        feedback_line("/x", "1", date(1970, 1, 1)),
        "before the earliest day",
    ),
    "feedback-empty-path": ("feedback", feedback_line("", "1"), "path: path is empty"),
}


@pytest.mark.parametrize(("kind", "bad", "reason"), REJECTED.values(), ids=REJECTED.keys())
def test_a_bad_row_is_a_reject_and_the_rest_loads_exactly(
    kind: str,
    bad: str,
    reason: str,
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The bad row (between the good ones) is a reject; the data equals the good rows' alone."""
    good_lines = GOOD[kind]
    bad_file = tmp_path / f"{kind}.csv"
    bad_file.write_bytes(text(kind, [good_lines[0], bad, good_lines[1]]))
    good_file = tmp_path / "good.csv"
    good_file.write_bytes(text(kind, good_lines))
    assert_partly_loaded(corpus_warehouse, kind, bad_file, good_file, [reason])


def test_a_rejected_line_with_a_nul_is_kept_visibly(
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A NUL in a rejected row is stored as `\\x00` on both backends (PostgreSQL refuses NUL)."""
    url = corpus_warehouse.fresh()
    bad = analytics_line("/a\x00b")
    path = tmp_path / "nul.csv"
    path.write_bytes(text("analytics", [GOOD_ANALYTICS[0], bad]))
    assert run_load(url, "analytics", path).exit_code == 0
    with get_engine(url).connect() as connection:
        raw = connection.execute(
            select(LoadReject.raw_line).where(LoadReject.batch_id == batches(url)[-1].batch_id)
        ).scalar_one()
    assert raw == bad.replace("\x00", "\\x00")


# -- what Excel and other tools write: loads as the plain file does ---------------------------

SPELLINGS = {
    "excel-bom": lambda data: b"\xef\xbb\xbf" + data,
    "crlf": lambda data: data.replace(b"\n", b"\r\n"),
    "bom-and-crlf": lambda data: b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n"),
    "cr-only": lambda data: data.replace(b"\n", b"\r"),
    "no-final-line-end": lambda data: data.rstrip(b"\n"),
    "blank-lines-between": lambda data: data.replace(b"\n", b"\n\n"),
}


@pytest.mark.parametrize("kind", ["analytics", "feedback"])
@pytest.mark.parametrize("spell", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_other_spellings_of_a_good_file_load_as_it_does(
    kind: str,
    spell: Callable[[bytes], bytes],
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A BOM, CRLF or CR line ends, no final line end, blank lines: the same data as plain."""
    plain = text(kind, GOOD[kind])
    spelt = tmp_path / f"{kind}.csv"
    spelt.write_bytes(spell(plain))
    good = tmp_path / "plain.csv"
    good.write_bytes(plain)
    assert_partly_loaded(corpus_warehouse, kind, spelt, good, [])
