"""Read a "Pages" report exported as CSV from the Google Analytics UI (UA or GA4).

The export is for people, not programs: comment lines starting `#` before the table (report
name, property, `Start date: 20261030` / `End date: 20261030`, or UA's `# 20261030-20261030`),
counts with thousands separators (`"1,234"`), percentages (`48.65%`), durations (`00:01:12`),
currency (`£0.00`), a totals row (an empty page cell, or `Grand total` / `Total`), and, in UA
exports, further tables after a blank line (`Day Index,...`), which are ignored.

Columns are matched by name, case-insensitively; columns not listed are ignored:

- path: `Page` (UA); `Page path and screen class`, `Page path`, `Page path + query string`;
- day: `Date` (optional; `YYYYMMDD`, `YYYY-MM-DD` or `DD/MM/YYYY`);
- `pviews`: `Pageviews` (UA), `Views` (GA4);
- `upviews`: `Unique Pageviews` (UA), `Users` / `Total users` / `Active users` (GA4);
- `entrances`: `Entrances`; `exits`: `Exits`, else `% Exit` × page views;
- `bounces`: `Bounces`, else `Bounce Rate` × entrances;
- `page_time`: `Time on Page` / `User engagement` in seconds, else `Avg. Time on Page` ×
  (page views − exits) (UA's own formula), else `Average engagement time` × users (GA4).

The report holds no "Is this page useful?", search or feedback counts: they load as 0, so
loading a Pages report for a day replaces that day's analytics with what it has.

Without a `Date` column the report must cover one day (its header comments say which, or
`day=` is given); a range of days without a `Date` column fails the file.

The file is read line by line (`sources.lines`): a UTF-8 byte-order mark (Excel's "CSV UTF-8")
and CRLF line ends are read as plain. The whole file fails (`InputError` naming file and
line) when it is larger than `limits().max_file_bytes`, has a line longer than
`limits().max_line_bytes`, is not UTF-8, has CR-only line ends, a line that is not valid CSV
or a row with the wrong number of fields, or when its day cannot be told. The totals row is
the first or the last row of the table whose page cell is empty, `Total`, `Totals` or
`Grand total` (at most one); any other row without a page is a reject. A row dated after
today or before `limits().earliest_day`, with a figure that is not a number (or too long to
be one), or a path that is not a GOV.UK path is a reject with its reason; the rest load.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from govuk_kpi.core.errors import InputError
from govuk_kpi.core.limits import limits, too_early
from govuk_kpi.core.paths import normalise_path
from govuk_kpi.sources.daily_csv import ANALYTICS_METRICS, DailyRows
from govuk_kpi.sources.hashing import file_sha256
from govuk_kpi.sources.lines import Line, read_lines
from govuk_kpi.sources.reading import (
    MAX_COUNT,
    PageKey,
    cannot_read,
    check_totals,
    daily_frame,
    too_large,
)
from govuk_kpi.sources.records import Reject

COLUMNS: dict[str, tuple[str, ...]] = {
    "path": ("page", "page path and screen class", "page path", "page path + query string"),
    "date": ("date", "day"),
    "pviews": ("pageviews", "views", "screen page views"),
    "upviews": ("unique pageviews", "users", "total users", "active users"),
    "entrances": ("entrances",),
    "exits": ("exits",),
    "exit_rate": ("% exit", "exit rate"),
    "bounces": ("bounces",),
    "bounce_rate": ("bounce rate",),
    "page_time": ("time on page", "total time on page", "user engagement"),
    "avg_time_on_page": ("avg. time on page", "average time on page"),
    "avg_engagement": ("average engagement time", "average engagement time per active user"),
}
TOTALS = {"", "total", "totals", "grand total"}
_RANGE = re.compile(r"(\d{8})\s*-\s*(\d{8})")
_START = re.compile(r"start date:\s*(\d{8})", re.IGNORECASE)
_END = re.compile(r"end date:\s*(\d{8})", re.IGNORECASE)
_DURATION = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})$")
_GA4_DURATION = re.compile(r"^(?:(\d+)h\s*)?(?:(\d+)m\s*)?(?:(\d+(?:\.\d+)?)s)?$")
# No figure of a report is longer than this (a count is at most 16 digits, with separators).
MAX_FIGURE_CHARS = 64


def _day(value: str) -> date:
    return datetime.strptime(value, "%Y%m%d").date()


def number(text: str) -> float:
    """A UI figure as a number: `1,234` → 1234, `48.65%` → 0.4865, `00:01:12` → 72,
    `1m 12s` → 72, `£0.00` → 0. Raises ValueError for anything else (and for empty)."""
    raw = text.strip()
    if not raw:
        raise ValueError("empty")
    duration = _DURATION.match(raw)
    if duration:
        hours, minutes, seconds = (int(g) if g else 0 for g in duration.groups())
        return hours * 3600 + minutes * 60 + seconds
    if raw[-1:] == "s" and _GA4_DURATION.match(raw):
        h, m, s = _GA4_DURATION.match(raw).groups()  # type: ignore[union-attr]
        return int(h or 0) * 3600 + int(m or 0) * 60 + float(s or 0)
    percent = raw.endswith("%")
    cleaned = raw.rstrip("%").lstrip("£$€").replace(",", "").strip()
    value = float(cleaned)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return value / 100 if percent else value


def _period(path: Path, comments: Sequence[Line]) -> tuple[date, date] | None:
    text = "\n".join(line.text for line in comments)
    start, end = _START.search(text), _END.search(text)
    try:
        if start and end:
            return _day(start[1]), _day(end[1])
        ranged = _RANGE.search(text)
        if ranged:
            return _day(ranged[1]), _day(ranged[2])
    except ValueError as exc:
        raise InputError(
            str(path), f"the date range in the # header is not a date: {exc}"
        ) from None
    return None


def _fields(path: Path, line: Line) -> list[str]:
    try:
        return next(csv.reader([line.text], strict=True), [])
    except csv.Error as exc:
        raise InputError(str(path), f"not valid CSV: {exc}", line.number) from None


def _open(path: Path) -> tuple[str, Iterator[Line]]:
    """The file's SHA-256 and its lines, refused before reading when larger than the limit."""
    limit = limits().max_file_bytes
    try:
        size = path.stat().st_size
        sha = file_sha256(path)
    except OSError as exc:
        raise cannot_read(path, exc) from None
    if size > limit:
        raise too_large(path, size, limit)
    return sha, read_lines(path, gzipped=False)


def read_ga_pages_csv(
    path: Path | str, *, day: date | None = None, today: date | None = None
) -> DailyRows:
    """Read a GA UI "Pages" CSV export into the daily analytics rows `load_daily` loads.

    Args:
        path: the exported CSV.
        day: the day the figures are for, when the file has no `Date` column and its header
            does not say (or to override it).
        today: dates after this are rejected as in the future (default: today).

    Raises:
        InputError: a whole-file problem (see the module's docstring), naming file and line.
    """
    path = Path(path)
    bounds = limits()
    # The csv module's own cap on a field (128 KiB) would fail first, with its own words.
    csv.field_size_limit(max(csv.field_size_limit(), bounds.max_line_bytes))
    sha, lines = _open(path)
    comments, header_line = _comments_and_header(path, lines)
    header = [h.strip().lower() for h in _fields(path, header_line)]
    columns = _columns(path, header, header_line)
    if day is None and "date" not in columns:
        day = _report_day(path, comments)
    table = _Table(path, header, columns, day, today or date.today(), bounds.earliest_day)
    table.read(lines)
    check_totals(path, table.rows.items())
    frame = daily_frame(sorted(table.rows), table.rows, ANALYTICS_METRICS)
    return DailyRows("analytics", path, sha, frame, table.rejects, table.rows_read)


def _comments_and_header(path: Path, lines: Iterator[Line]) -> tuple[list[Line], Line]:
    """The `#` comment lines before the table, and its header line."""
    comments: list[Line] = []
    for line in lines:
        if line.text.startswith("#"):
            comments.append(line)
        elif line.text.strip():
            return comments, line
    raise InputError(str(path), "no table: expected a header row after the # comments", 1)


def _columns(path: Path, header: list[str], header_line: Line) -> dict[str, int]:
    """Where each known column is (its first alias present), a path and views column needed."""
    columns: dict[str, int] = {}
    for name, aliases in COLUMNS.items():
        found = next((header.index(alias) for alias in aliases if alias in header), None)
        if found is not None:
            columns[name] = found
    missing = [n for n in ("path", "pviews") if n not in columns]
    if missing:
        wanted = {"path": "Page / Page path", "pviews": "Pageviews / Views"}
        raise InputError(
            str(path),
            f"no {' and no '.join(wanted[m] for m in missing)} column "
            f"(columns: {', '.join(header)})",
            header_line.number,
        )
    return columns


def _report_day(path: Path, comments: Sequence[Line]) -> date:
    """The one day a report without a `Date` column covers, as its `#` header says."""
    period = _period(path, comments)
    if period is None:
        raise InputError(str(path), "which day? no Date column and no date range in the # header")
    if period[0] != period[1]:
        raise InputError(
            str(path),
            f"covers {period[0]} to {period[1]} with no Date column: daily facts need "
            "one day per row (export with the Date dimension, or one day per file)",
        )
    return period[0]


@dataclass
class _Table:
    """The report's table read row by row: the figures per (day, page), and the rejects."""

    path: Path
    header: list[str]
    columns: dict[str, int]
    day: date | None  # the report's one day, when it has no Date column
    latest: date
    earliest: date
    rows: dict[PageKey, dict[str, int]] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    rows_read: int = 0
    table_rows: int = 0
    raw_seen: set[tuple[date, str]] = field(default_factory=set)
    totals_seen: bool = False
    # A totals-like row after the first: the totals row if it is the table's last, else a reject.
    pending: tuple[Line, str] | None = None

    def read(self, lines: Iterator[Line]) -> None:
        ended = False
        for line in lines:
            if ended:
                continue  # UA's further tables: read only to check the whole file's encoding
            if not line.text.strip():
                ended = True
                continue
            self.row(line)
        if self.pending is not None and self.totals_seen:  # the last row, the first the totals
            self._reject_pending()

    def row(self, line: Line) -> None:
        fields = _fields(self.path, line)
        if len(fields) != len(self.header):
            raise InputError(
                str(self.path),
                f"{len(fields)} fields where the header has {len(self.header)}",
                line.number,
            )
        page_cell = fields[self.columns["path"]].strip()
        self.table_rows += 1
        if self.pending is not None:
            self._reject_pending()
        if page_cell.lower() in TOTALS:
            if self.table_rows == 1:
                self.totals_seen = True
            else:
                self.pending = (line, page_cell)
            return
        self.rows_read += 1
        try:
            when, page, figures = self._checked(fields, page_cell)
        except ValueError as exc:
            self.rejects.append(Reject(line.number, str(exc), line.text))
            return
        self.raw_seen.add((when, page_cell))
        total = self.rows.setdefault((when, page), dict.fromkeys(ANALYTICS_METRICS, 0))
        for name, value in figures.items():
            total[name] += value

    def _checked(self, fields: Sequence[str], page_cell: str) -> tuple[date, str, dict[str, int]]:
        """The row's day, page and figures; ValueError (the reject reason) when one is bad."""
        when = self.day if self.day is not None else _row_day(fields[self.columns["date"]])
        if when > self.latest:
            raise ValueError(f"date {when} is in the future")
        if when < self.earliest:
            raise ValueError(too_early(when, self.earliest))
        figures = _figures(fields, self.columns)
        try:
            page = normalise_path(page_cell)
        except ValueError as exc:
            raise ValueError(f"path: {exc}") from None
        if (when, page_cell) in self.raw_seen:
            raise ValueError("duplicate of an earlier row for the same date and page")
        return when, page, figures

    def _reject_pending(self) -> None:
        assert self.pending is not None
        line, cell = self.pending
        self.rows_read += 1
        self.rejects.append(Reject(line.number, _no_page(cell), line.text))
        self.pending = None


def _no_page(cell: str) -> str:
    """The reject reason of a row with no page that is not the totals row."""
    if not cell:
        return "path: path is empty (only the first or last row may be the totals row)"
    return f"path: {cell!r} is not a page (only the first or last row may be the totals row)"


def _row_day(value: str) -> date:
    raw = value.strip()
    for fmt in ("%Y%m%d", "%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"Date {raw[:40]!r} is not a date")


def _whole(name: str, value: float) -> int:
    if value < 0:
        raise ValueError(f"{name} is negative")
    if value > MAX_COUNT:
        raise ValueError(f"{name} is too large")
    return round(value)


def _figures(fields: Sequence[str], columns: dict[str, int]) -> dict[str, int]:
    """The row's metrics; ValueError naming the column when a figure is not a number."""
    values = {
        name: _figure(name, fields[index])
        for name, index in columns.items()
        if name not in {"path", "date"}
    }
    for name in ("pviews", "upviews", "entrances", "exits", "bounces"):
        if name in values and values[name] != int(values[name]):
            raise ValueError(f"{name} is not a whole number: {values[name]:g}")
    out = {name: _whole(name, values[name]) for name in ANALYTICS_METRICS if name in values}
    _derive(values, out)
    return out


def _figure(name: str, cell: str) -> float:
    """One cell's figure; ValueError naming the column when it is not a number."""
    if len(cell) > MAX_FIGURE_CHARS:
        shown = cell.strip()
        if shown.replace(",", "").isdigit():
            raise ValueError(f"{name} is too large ({len(shown):,} characters)")
        raise ValueError(f"{name} is not a number: {shown[:40]!r}… ({len(shown):,} characters)")
    try:
        return number(cell)
    except ValueError:
        raise ValueError(f"{name} is not a number: {cell.strip()[:40]!r}") from None


def _derive(values: dict[str, float], out: dict[str, int]) -> None:
    """The counts a report gives only as rates or averages, worked out from them."""
    if "exits" not in out and "exit_rate" in values:
        out["exits"] = _whole("exits", values["exit_rate"] * out["pviews"])
    if "bounces" not in out and "bounce_rate" in values and "entrances" in out:
        out["bounces"] = _whole("bounces", values["bounce_rate"] * out["entrances"])
    if "page_time" in out:
        return
    if "avg_time_on_page" in values:
        stayed = max(0, out["pviews"] - out.get("exits", 0))
        out["page_time"] = _whole("page_time", values["avg_time_on_page"] * stayed)
    elif "avg_engagement" in values and "upviews" in out:
        out["page_time"] = _whole("page_time", values["avg_engagement"] * out["upviews"])
