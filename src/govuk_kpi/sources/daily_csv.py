"""Reader of the project's documented daily CSV formats (docs/formats.md): analytics and feedback.

Whole-file problems (not UTF-8, a missing or extra column, a truncated last line) raise
`InputError` naming the file and row, so nothing of the file is loaded. Row problems
(a bad date, a date in the future, a negative or non-numeric count, a path that cannot be
normalised, a duplicate of an earlier row) reject that row with its reason and raw line;
the other rows load. Distinct raw paths that normalise to the same path on the same day
are summed: analytics tools split one page over case and query-string variants.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from govuk_kpi.core.errors import InputError
from govuk_kpi.core.limits import (
    MAX_LINE_BYTES_ENV,
    Limits,
    limits,
    too_early,
)
from govuk_kpi.core.paths import MAX_PATH_LENGTH, normalise_path
from govuk_kpi.sources.arrow_memory import system_allocator
from govuk_kpi.sources.reading import MAX_COUNT, cannot_read, decode_utf8, gc_paused, too_large
from govuk_kpi.sources.records import Reject

# The daily formats are a contract with whoever writes the files, so their columns are written
# out here per version, not derived from the metric registry: a new daily metric is a new
# version of the format (docs/formats.md), a deliberate change, never a silent one to the header
# every file must have. `tests/sources/test_daily_csv_version.py` fails while the registry's
# daily metrics and the current version's columns differ.
FORMAT_VERSION = 1
FORMAT_VERSIONS: dict[int, dict[str, tuple[str, ...]]] = {
    1: {
        "analytics": ("date", "path", "pviews", "upviews", "useful_yes", "useful_no", "searches",
                      "entrances", "exits", "bounces", "page_time"),
        "feedback": ("date", "path", "feedex"),
    },
}  # fmt: skip
# The current version's columns, one entry per registered source of this format
# (`registry.SOURCES`, `format="daily-csv"`; tests/sources/test_source_registry.py holds the
# two to each other). The very dict of the version: a published version is the contract.
FORMATS: dict[str, tuple[str, ...]] = FORMAT_VERSIONS[FORMAT_VERSION]
ANALYTICS_METRICS: tuple[str, ...] = FORMATS["analytics"][2:]
FEEDBACK_METRICS: tuple[str, ...] = FORMATS["feedback"][2:]


@dataclass
class DailyRows:
    """What a daily CSV holds once read: good rows as a frame, rejected rows with reasons."""

    source: str  # analytics or feedback
    path: Path
    sha256: str
    frame: (
        pd.DataFrame
    )  # columns: date (datetime64[s]), path (strings), *metrics (int64); one row per day+path
    rejects: list[Reject]
    rows_read: int

    @property
    def metrics(self) -> tuple[str, ...]:
        return FORMATS[self.source][2:]

    @property
    def date_from(self) -> date | None:
        return None if self.frame.empty else self.frame["date"].min().date()

    @property
    def date_to(self) -> date | None:
        return None if self.frame.empty else self.frame["date"].max().date()


def _check_header(path: Path, header: Sequence[str], expected: Sequence[str]) -> None:
    names = [name.strip() for name in header]
    missing = [c for c in expected if c not in names]
    extra = [c for c in names if c not in expected]
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected column(s) {', '.join(extra)}")
    if len(set(names)) != len(names):
        problems.append("a column appears twice")
    if problems:
        raise InputError(str(path), "; ".join(problems) + f" (expected: {','.join(expected)})", 1)


def read_daily_csv(path: Path | str, source: str, *, today: date | None = None) -> DailyRows:
    """Read one daily CSV of the given source format ("analytics" or "feedback").

    Args:
        path: the CSV file.
        source: which documented format it is in.
        today: dates after this are rejected as in the future (default: today's date).

    Raises:
        InputError: a whole-file problem; nothing of the file should be loaded.
    """
    with gc_paused(), system_allocator():
        return _read_daily_csv(Path(path), source, today)


def _read_daily_csv(path: Path, source: str, today: date | None) -> DailyRows:
    path = Path(path)
    expected = FORMATS[source]
    bounds = limits()
    # The csv module's own cap on a field (128 KiB) would fail first, with its own words.
    csv.field_size_limit(max(csv.field_size_limit(), bounds.max_line_bytes))
    data = _read_bytes(path, bounds)
    sha = hashlib.sha256(data).hexdigest()
    data = _plain_line_ends(data.removeprefix(_BOM))  # Excel's "CSV UTF-8" starts with a BOM
    _check_line_lengths(path, data, bounds.max_line_bytes)
    # A plain file (the common case) is read from its bytes alone: a file it accepts is valid
    # UTF-8 with the documented header and no problem, so the checks below would pass. Anything
    # else is left to them and the pandas path, in their order.
    plain = _read_plain(data, expected, today, bounds.earliest_day)
    if plain is not None:
        frame, rows_read = plain
        return DailyRows(source, path, sha, frame, [], rows_read)
    text = decode_utf8(path, data)
    del data
    _check_text(path, text, expected)
    frame = _text_frame(path, text, expected)
    checked = _Checked(frame.index)
    out = checked.rows(frame, expected[2:], today or date.today(), bounds.earliest_day)
    return DailyRows(source, path, sha, out, checked.rejects(text), len(frame))


def _check_text(path: Path, text: str, expected: Sequence[str]) -> None:
    """The whole-file checks of the text: not empty, the header, no last line cut short, and
    every row as many fields as the header."""
    if not text or text.isspace():  # as `not text.strip()`, without copying the text
        raise InputError(str(path), "empty file: expected a header row", 1)
    header_end = text.find("\n")
    header = _csv_row(path, text[: header_end if header_end != -1 else len(text)], 1)
    _check_header(path, header, expected)
    if not text.endswith("\n"):
        last_start = text.rfind("\n") + 1
        lines = text.count("\n") + 1
        last = _csv_row(path, text[last_start:], lines)
        if last and len(last) != len(header):
            raise InputError(
                str(path),
                f"truncated: the last line has {len(last)} of {len(header)} fields and no line end",
                lines,
            )
    _check_field_counts(path, text, len(header))


def _text_frame(path: Path, text: str, expected: Sequence[str]) -> pd.DataFrame:
    """The rows as text, numbered by their lines in the file, blank lines dropped."""
    try:
        # All text first: counts are validated here so a bad one rejects its row, not the file.
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skipinitialspace=True,
            skip_blank_lines=False,  # kept until numbered, so row numbers match the file's lines
            on_bad_lines="error",
            index_col=False,  # a row with an extra field is an error, never an index
            engine="c",
        )
    except pd.errors.ParserError as exc:
        # pandas counts "line N" from 1 and "row N" from 0; its message may end in a newline.
        detail = str(exc).strip()
        where = re.search(r"\b(line|row) (\d+)", detail)
        row = None if where is None else int(where[2]) + (where[1] == "row")
        raise InputError(str(path), f"not valid CSV: {detail}", row) from None
    frame.columns = [c.strip() for c in frame.columns]
    frame = frame[list(expected)]
    frame.index = pd.RangeIndex(2, len(frame) + 2)  # row numbers as the file counts them
    if (frame["date"] == "").any():  # only a row with no date can be all blank
        frame = frame[(frame != "").any(axis=1)]  # blank lines are no rows
    return frame


class _Checked:
    """The rows' checks: each row's first problem is its reject reason."""

    def __init__(self, index: pd.Index) -> None:
        self.reasons = pd.Series("", index=index, dtype=object)
        self.rejected = np.zeros(len(index), dtype=bool)  # reasons != "", kept as a mask

    def reject(self, mask: pd.Series | np.ndarray, reason: str | pd.Series) -> None:
        fresh = np.asarray(mask, dtype=bool) & ~self.rejected
        if fresh.any():
            self.reasons[fresh] = reason if isinstance(reason, str) else reason[fresh]
            self.rejected[fresh] = True

    def rejects(self, text: str) -> list[Reject]:
        return _rejects(text, self.reasons[self.rejected]) if self.rejected.any() else []

    def rows(
        self, frame: pd.DataFrame, metrics: Sequence[str], today: date, earliest: date
    ) -> pd.DataFrame:
        """The good rows, summed per day and normalised path; the others' reasons noted."""
        days, date_problems = _parse_days(frame["date"], today, earliest)
        self.reject(date_problems != "", date_problems)
        values = {name: self.counts(frame[name], name) for name in metrics}
        normal, path_problems = _normalise_paths(frame["path"])
        bad_path = (path_problems != "").to_numpy()
        if bad_path.any():
            self.reject(bad_path, "path: " + path_problems)
        duplicate = frame.duplicated(["date", "path"], keep="first")
        self.reject(duplicate, "duplicate of an earlier row for the same date and path")
        return _good_rows(days, normal, values, ~self.rejected, metrics)

    def counts(self, raw: pd.Series, name: str) -> np.ndarray | pd.Series:
        """A count column as numbers; rows with a count that is not one are rejected."""
        number = _plain_counts(raw)
        if number is not None:
            return number
        column = raw.str.strip()
        # Past a few dozen characters no count is whole and in range; Python would refuse
        # to read tens of thousands of digits as a number at all.
        long = column.str.len() > _MAX_COUNT_TEXT
        self.reject(long & column.str.isdigit(), f"{name} is too large (more than {MAX_COUNT})")
        column = column.mask(long, "")
        numbers = pd.to_numeric(column, errors="coerce")
        bad = numbers.isna() | (numbers != np.floor(numbers.fillna(0)))
        self.reject(bad, f"{name} is not a whole number")
        self.reject(~bad & (numbers < 0), f"{name} is negative")
        self.reject(~bad & (numbers > MAX_COUNT), f"{name} is too large (more than {MAX_COUNT})")
        return numbers


def _good_rows(
    days: pd.Series,
    normal: pd.Series,
    values: dict[str, np.ndarray | pd.Series],
    good: np.ndarray,
    metrics: Sequence[str],
) -> pd.DataFrame:
    out = pd.DataFrame({"date": days[good].astype("datetime64[s]"), "path": normal[good]})
    for name in metrics:
        column = values[name]
        if isinstance(column, np.ndarray):
            out[name] = column[good]
        else:
            out[name] = column[good].astype(np.int64)
    if out.duplicated(["date", "path"]).any():
        out = out.groupby(["date", "path"], as_index=False, sort=False)[list(metrics)].sum()
    out = out.reset_index(drop=True)
    out["path"] = out["path"].astype("str")  # as the fast path gives them: Arrow strings
    return out


class _NotPlain(Exception):
    """The file is not plain: the pandas path reads it, with its rejects and messages."""


def _read_plain(
    data: bytes, expected: Sequence[str], today: date | None, earliest: date
) -> tuple[pd.DataFrame, int] | None:
    """The fast path: the good rows and rows read of a plain file, or None when in any doubt.

    A plain file is the common case: the header exactly as documented, no quotes, no carriage
    returns, blank lines or NUL bytes, no field starting with a space or tab, and every row
    good (a valid date not after `today`, plain ASCII digits up to `MAX_COUNT` for every
    count, a path that normalises, no duplicate of an earlier row). pyarrow parses it and the
    checks run on whole columns; the paths stay Arrow strings throughout. For such a file the
    pandas path below gives the very same frame; anything else returns None so that the pandas
    path reads the file, with its rejects and error messages.
    """
    try:
        table = _plain_table(data, expected)
        rows = table.num_rows
        # Dates: a day file holds one or a few distinct dates, each checked once.
        dates = table.column("date").combine_chunks().dictionary_encode()
        days = _plain_days(dates.dictionary.to_pylist(), today or date.today(), earliest)
        date_codes = dates.indices.to_numpy()
        values = {name: _plain_numbers(table.column(name), rows) for name in expected[2:]}
        raw = table.column("path")
        del table
        normal = _plain_paths(raw, rows)
        return _plain_frame(days, date_codes, values, raw, normal), rows
    except _NotPlain:
        return None


def _plain_table(data: bytes, expected: Sequence[str]) -> pa.Table:
    """The file as a table of strings, split on commas and newlines alone."""
    header = (",".join(expected) + "\n").encode()
    if not data.startswith(header):
        raise _NotPlain
    if any(data.find(mark, len(header)) != -1 for mark in _UNPLAIN):
        raise _NotPlain
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            read_options=pa_csv.ReadOptions(use_threads=False),
            parse_options=pa_csv.ParseOptions(
                quote_char=False,
                double_quote=False,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in expected},
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, ValueError):  # ragged rows, bad UTF-8: the pandas path says
        raise _NotPlain from None
    if table.num_rows == 0 or table.column_names != list(expected):
        raise _NotPlain
    return table


def _plain_days(texts: list[str], limit: date, earliest: date) -> list[date]:
    """The distinct dates, each a valid day no later than `limit` nor earlier than `earliest`."""
    days = []
    for text in texts:
        if not _PLAIN_DATE.fullmatch(text):
            raise _NotPlain
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise _NotPlain from None
        if day > limit or day < earliest or day.year < 1700:  # rejects: the pandas path's
            raise _NotPlain
        days.append(day)
    return days


def _plain_numbers(column: pa.ChunkedArray, rows: int) -> np.ndarray:
    """A count column of plain ASCII digits up to `MAX_COUNT`, as int64."""
    if not pc.all(pc.ascii_is_decimal(column)).as_py():  # non-empty, ASCII digits only
        raise _NotPlain
    # Chunk by chunk into one array: no cast column beside it, no copy to join its chunks.
    number = np.empty(rows, dtype=np.int64)
    start = 0
    for chunk in column.chunks:
        try:
            number[start : start + len(chunk)] = chunk.cast(pa.int64()).to_numpy()
        except pa.ArrowException:  # past int64
            raise _NotPlain from None
        start += len(chunk)
    if number.max() > MAX_COUNT:
        raise _NotPlain
    return number


def _plain_paths(raw: pa.ChunkedArray, rows: int) -> pa.ChunkedArray:
    """The paths normalised: the already normal ones untouched, the others by the full rules."""
    already = pc.and_(
        pc.match_substring_regex(raw, _ALREADY_NORMAL_RE2),
        pc.less_equal(pc.binary_length(raw), MAX_PATH_LENGTH),
    )
    others = np.flatnonzero(~already.to_numpy(zero_copy_only=False))
    if not len(others):
        return raw
    unplain = raw.take(pa.array(others)).to_pylist()
    if any(v[:1] in (" ", "\t") for v in unplain):
        raise _NotPlain  # the pandas path drops a field's leading blanks
    done, problems = _normalise_paths(pd.Series(unplain, dtype=object))
    if (problems != "").any():
        raise _NotPlain
    mask = np.zeros(rows, dtype=bool)
    mask[others] = True
    return pc.replace_with_mask(raw, pa.array(mask), pa.array(done.tolist(), pa.string()))


def _plain_frame(
    days: list[date],
    date_codes: np.ndarray,
    values: dict[str, np.ndarray],
    raw: pa.ChunkedArray,
    normal: pa.ChunkedArray,
) -> pd.DataFrame:
    """The rows, those of the same date and normalised path summed.

    A duplicate of an earlier row (the same date and raw path) is a reject, left to the pandas
    path. Groups are numbered in order of first appearance, as pandas' groupby(sort=False)
    orders them.
    """
    rows = len(date_codes)
    day_values = np.array(days, dtype="datetime64[s]")[date_codes]
    encoded = pc.dictionary_encode(normal)
    if isinstance(encoded, pa.ChunkedArray):  # its chunks share one dictionary
        groups = pa.chunked_array([c.indices for c in encoded.chunks], pa.int32()).to_numpy()
    else:
        groups = encoded.indices.to_numpy()
    if len(days) > 1:
        groups, _ = pd.factorize(date_codes.astype(np.int64) * rows + groups)
    first = _first_of_groups(groups)
    if not first.all():  # variants of one page
        merged = np.flatnonzero(np.bincount(groups)[groups] > 1)
        pairs = zip(groups[merged].tolist(), raw.take(pa.array(merged)).to_pylist(), strict=True)
        if len(set(pairs)) < len(merged):
            raise _NotPlain
        later = merged[~first[merged]]
        for name, number in values.items():
            summed = number[first]
            np.add.at(summed, groups[later], number[later])
            values[name] = summed
        day_values = day_values[first]
        normal = normal.filter(pa.array(first))
    path = normal.to_pandas()  # pandas' `str` dtype over the same Arrow data
    return pd.DataFrame({"date": day_values, "path": path, **values}, copy=False)


def _first_of_groups(groups: np.ndarray) -> np.ndarray:
    """Which rows start their group, for group numbers given in order of first appearance."""
    if not len(groups):
        return np.zeros(0, dtype=bool)
    highest = np.maximum.accumulate(groups)
    return np.concatenate(([True], highest[1:] > highest[:-1]))


# Bytes that the pandas path may read differently from pyarrow's plain split on commas and
# newlines: quotes, carriage returns and NUL bytes. (Blank lines make pyarrow's rows ragged; a
# field starting with a blank fails the checks of dates and counts, and paths are checked.)
_UNPLAIN = (b'"', b"\r", b"\x00")
_PLAIN_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# Starts with "/", then lowercase ASCII letters, digits and path punctuation, no "/" at the end,
# at most MAX_PATH_LENGTH characters: already normal (no case, origin, query, fragment or
# trailing slash to remove, no percent-escape to decode, nothing to strip).
_ALREADY_NORMAL = re.compile(
    "/[a-z0-9_./~-]{0," + str(MAX_PATH_LENGTH - 2) + "}[a-z0-9_.~-]", re.ASCII
)
# The same for pyarrow's RE2 (whose repeat counts stop at 1000), with the length checked apart.
_ALREADY_NORMAL_RE2 = "^/[a-z0-9_./~-]*[a-z0-9_.~-]$"


_BOM = b"\xef\xbb\xbf"
# A count is at most 16 digits (MAX_COUNT); beyond this many characters it is not a count.
_MAX_COUNT_TEXT = 64


def _read_bytes(path: Path, bounds: Limits) -> bytes:
    """The file's bytes, refused before reading when it is larger than the limit."""
    try:
        size = path.stat().st_size
        if size > bounds.max_file_bytes:
            raise too_large(path, size, bounds.max_file_bytes)
        return path.read_bytes()
    except OSError as exc:
        raise cannot_read(path, exc) from None


def _plain_line_ends(data: bytes) -> bytes:
    """`\r\n` (Windows, Excel) and a lone `\r` (old Mac exports) as `\n`."""
    if b"\r" not in data:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _check_line_lengths(path: Path, data: bytes, limit: int) -> None:
    """Refuse a file with a line longer than `limit` bytes, naming the first such line."""
    if len(data) <= limit:
        return
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0x0A)
    starts = np.concatenate(([0], ends + 1))
    lengths = np.concatenate((ends, [len(data)])) - starts
    over = np.flatnonzero(lengths > limit)
    if len(over):
        raise InputError(
            str(path),
            f"the line is {int(lengths[over[0]]):,} bytes, over the limit of {limit:,} "
            f"(raise {MAX_LINE_BYTES_ENV} to allow it)",
            int(over[0]) + 1,
        )


def _csv_row(path: Path, line: str, row: int) -> list[str]:
    """One line's fields; a line the CSV rules cannot split fails the file, naming it."""
    try:
        return next(csv.reader([line]), [])
    except csv.Error as exc:
        raise InputError(str(path), f"not valid CSV: {exc}", row) from None


def _check_field_counts(path: Path, text: str, fields: int) -> None:
    """Every non-blank row has as many fields as the header, and no value spans lines (no
    value of these formats holds a line end), or the file fails naming the row."""
    reader = csv.reader(io.StringIO(text))
    start = 1  # the line the row being read starts on
    try:
        for row in reader:
            if any("\n" in field for field in row):
                raise InputError(
                    str(path),
                    "not valid CSV: a quote opened on this row is not closed on it",
                    start,
                )
            if len(row) != fields and any(field.strip() for field in row):  # not blank
                hint = " (a comma in an unquoted value?)" if len(row) > fields else ""
                raise InputError(
                    str(path), f"the row has {len(row)} fields, the header {fields}{hint}", start
                )
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(str(path), f"not valid CSV: {exc}", start) from None


def _parse_days(texts: pd.Series, today: date, earliest: date) -> tuple[pd.Series, pd.Series]:
    """The days as timestamps (NaT where bad), and per row "" or what was wrong."""
    codes, uniques = pd.factorize(texts)
    values: list[Any] = []  # date or None: pandas-stubs' to_datetime takes no None
    problems: list[str] = []
    for text in uniques.tolist():
        day = None
        if _PLAIN_DATE.fullmatch(text):
            with suppress(ValueError):  # 2024-02-30 and the like
                day = date.fromisoformat(text)
        if day is None:
            values.append(None)
            problems.append("date is not a YYYY-MM-DD date")
        elif day > today:
            values.append(None)
            problems.append("date is in the future")
        elif day < earliest:
            values.append(None)
            problems.append(too_early(day, earliest))
        else:
            values.append(day)
            problems.append("")
    index = texts.index
    if not len(uniques):
        return pd.Series(pd.NaT, index=index, dtype="datetime64[s]"), pd.Series("", index=index)
    days = pd.Series(pd.to_datetime(values).to_numpy()[codes], index=index)
    return days, pd.Series(np.array(problems, dtype=object)[codes], index=index)


def _plain_counts(raw: pd.Series) -> np.ndarray | None:
    """The counts as int64 when every value is plain ASCII digits up to `MAX_COUNT`, else None.

    Plain digits are the common case, and for them the full rules (strip, to_numeric, whole,
    not negative, not too large) accept every row and give these same numbers; anything
    else returns None so the caller applies the full rules.
    """
    values = raw.to_numpy(dtype=object)
    joined = "".join(values.tolist())
    if not (joined.isascii() and joined.isdigit()) or not all(values):
        return None
    try:
        numbers = values.astype(np.int64)  # int() of each: plain digits, checked above
    except (OverflowError, ValueError):  # past int64, or past Python's digit limit
        return None
    if len(numbers) and numbers.max() > MAX_COUNT:
        return None
    return numbers


def _normalise_paths(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Normalised paths, and per row "" or what was wrong with the path."""
    values = raw.tolist()
    # The common case is an already normal path: match it cheaply before the full rules.
    # Every path `_ALREADY_NORMAL` matches is one `normalise_path` returns unchanged.
    already_normal = _ALREADY_NORMAL.fullmatch
    normal = [v if already_normal(v) else None for v in values]
    problems = np.full(len(values), "", dtype=object)
    cache: dict[str, str] = {}
    for i, done in enumerate(normal):
        if done is not None:
            continue
        value = values[i]
        done = cache.get(value)
        if done is None:
            try:
                done = normalise_path(value)
            except ValueError as exc:
                normal[i] = ""
                problems[i] = str(exc)
                continue
            cache[value] = done
        normal[i] = done
    return pd.Series(normal, index=raw.index, dtype=object), pd.Series(
        problems, index=raw.index, dtype=object
    )


def _rejects(text: str, reasons: pd.Series) -> list[Reject]:
    """Rejects with their raw lines, read back from the text by row number."""
    wanted = set(reasons.index)
    lines = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if number in wanted:
            lines[number] = line
    return [
        Reject(int(cast("int", row)), str(reason), lines.get(int(cast("int", row)), ""))
        for row, reason in reasons.items()  # indexed by row number
    ]
