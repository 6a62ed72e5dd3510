"""GA4 export events in Python: the rules for one event, and the line-by-line reader.

`govuk-kpi load ga4` runs the SQL of `ga4_sql` on DuckDB (`ga4_duckdb`). This module keeps
what is clearer in Python and cheap because it runs rarely: the words of each reject
(`reject_reason`) and the diagnosis of a file DuckDB cannot read (`diagnose`, naming the
line). `read_ga4_events`, the whole reader below in plain Python, is the tests' independent
oracle for the SQL: it tallies in dicts, and its memory grows with the events.

It reads a GA4 BigQuery export table (`events_YYYYMMDD`) as newline-delimited JSON.

One event per line, as `bq extract --destination_format NEWLINE_DELIMITED_JSON` writes it
(optionally gzipped, `.json.gz`): `event_date` ("20261030"), `event_timestamp`
(microseconds), `event_name`, `user_pseudo_id`, and `event_params`, a list of
`{"key": ..., "value": {"string_value" | "int_value" | "float_value" | "double_value": ...}}`
(`int_value` is a string in the JSON export, as BigQuery writes INT64).

The day's page figures are derived as GOV.UK's GA4 implementation records them
(docs.publishing.service.gov.uk/analytics, govuk_publishing_components):

- `pviews`: `page_view` events, by their `page_location`;
- `upviews`: distinct `user_pseudo_id` among a page's `page_view` events that day;
- `useful_yes`, `useful_no`: `form_submit` events with params `type` = `feedback`,
  `section` = `Is this page useful?` and the answer `Yes` / `No` in `ui_text` (the GA4
  parameter GOV.UK records the attribute `text` in, as its flattened table and page summaries
  read it: alphagov/ga4-dataform), or in `text` where an export names it so;
- `searches`: `search` events by their `page_location` (the page whose search box was used);
  on the search page itself (`/search...`) by their `page_referrer`;
- `entrances`, `exits`, `bounces`: per session (`user_pseudo_id` + `ga_session_id`), its
  `page_view`s in `event_timestamp` order (ties by day, then page): the first is an entrance,
  the last an exit, and a session of one page view a bounce;
- `page_time`: `engagement_time_msec` of all the page's events, summed, in whole seconds.

The file is read line by line (`sources.lines`), never holding more than one line: a
gzipped file is decompressed as it is read. The whole file fails (`InputError` naming file
and line, nothing loaded) when it is not UTF-8, is a broken gzip file, has a line longer than
`limits().max_line_bytes`, has a line that is not JSON or is nested deeper than
`limits().max_json_depth`, ends in a line cut short, has CR-only line ends, is empty, or is
one JSON array rather than one event per line. A UTF-8 byte-order mark and CRLF line ends
are read as plain.

An event that cannot be counted is a reject with its line and reason; the rest load:
no or bad `event_name` or `event_date`; a date in the future or before
`limits().earliest_day`; an `event_timestamp`, or the int_value of a param the figures read
(`READ_PARAMS`), that is not a whole number of at most 64 bits (or a number too long to read
at all); a negative `event_timestamp`; a `page_view` without `event_timestamp`; a counted
event without a usable `page_location`; a duplicate of an earlier counted event (the same
`_Counted.identity`: user, event, moment and every field the figures read). Events of other
names are ignored.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from govuk_kpi.core.errors import InputError
from govuk_kpi.core.limits import MAX_JSON_DEPTH_ENV, Limits, limits, too_early
from govuk_kpi.core.paths import normalise_path
from govuk_kpi.sources.daily_csv import ANALYTICS_METRICS, DailyRows
from govuk_kpi.sources.json_input import too_deep
from govuk_kpi.sources.lines import Line, read_lines
from govuk_kpi.sources.reading import (
    MAX_COUNT,
    PageKey,
    check_totals,
    daily_frame,
    input_sha256,
)
from govuk_kpi.sources.records import Reject

FEEDBACK_EVENT = "form_submit"
FEEDBACK_TYPE = "feedback"
FEEDBACK_SECTION = "Is this page useful?"
SEARCH_EVENT = "search"
PAGE_VIEW = "page_view"
SEARCH_PAGE = "/search"
# Every analytics metric is tallied per (day, page).
COUNTED = ANALYTICS_METRICS
# The params the figures read; no other is looked at (nor can reject an event).
READ_PARAMS = frozenset(
    {
        "page_location",
        "page_referrer",
        "ga_session_id",
        "engagement_time_msec",
        "type",
        "section",
        "ui_text",
        "text",
    }
)
# A reject keeps this much of its line.
RAW_LINE_CHARS = 2000
# BigQuery's INT64, as the export writes it: a string of digits (or, from other tools, a number).
_WHOLE = re.compile(r"-?[0-9]+", re.ASCII)
INT64 = 2**63


class _NumberTooLong(ValueError):
    """A JSON number with more digits than Python reads (4,300): the event is rejected."""


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _NumberTooLong(f"holds a number of {len(text):,} digits, too long to read") from None


_DECODER = json.JSONDecoder(parse_int=_parse_int)


def whole_number(value: Any, what: str) -> int:
    """A 64-bit whole number given as a JSON number or a string of digits (BigQuery's INT64).

    Raises:
        ValueError: anything else, naming `what`.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if -INT64 <= value < INT64:
            return value
        raise ValueError(f"{what} {_shown(value)} is out of range (more than 64 bits)")
    if isinstance(value, str) and _WHOLE.fullmatch(value):
        # Past 20 characters no number fits in 64 bits (and past 4,300 digits int() refuses).
        number = int(value) if len(value) <= 20 else INT64
        if -INT64 <= number < INT64:
            return number
        raise ValueError(f"{what} {_shown(value)} is out of range (more than 64 bits)")
    raise ValueError(f"{what} {_shown(value)} is not a whole number")


def _shown(value: Any) -> str:
    """A value for a reject reason: its repr, cut to a readable length."""
    text = repr(value) if not isinstance(value, int) else str(value)
    return text if len(text) <= 40 else f"{text[:40]}… ({len(text):,} characters)"


def event_params(event: Mapping[str, Any]) -> dict[str, Any]:
    """The params the figures read (`READ_PARAMS`) as a dict: key → the one set value of its
    first occurrence (int_value as an int). Other params are not looked at.

    Raises:
        ValueError: an `int_value` that is not a 64-bit whole number (the event's reject reason).
    """
    params: dict[str, Any] = {}
    seen: set[str] = set()
    for param in event.get("event_params") or ():
        if not isinstance(param, Mapping) or not isinstance(param.get("key"), str):
            continue
        if param["key"] in seen or param["key"] not in READ_PARAMS:
            continue  # a key given twice: its first occurrence counts
        seen.add(param["key"])
        value = param.get("value")
        if not isinstance(value, Mapping):
            continue
        for kind in ("string_value", "int_value", "double_value", "float_value"):
            raw = value.get(kind)
            if raw is None:
                continue
            if kind == "int_value":
                raw = whole_number(raw, f"param {_shown(param['key'])} int_value")
            params[param["key"]] = raw
            break
    return params


def _event_date(value: Any) -> date:
    if not isinstance(value, str) or len(value) != 8 or not value.isdigit():
        raise ValueError(f"event_date {_shown(value)} is not YYYYMMDD")
    return _yyyymmdd(value)


@functools.lru_cache(maxsize=64)  # a file holds a day or two: each parsed once
def _yyyymmdd(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise ValueError(f"event_date {value!r} is not a date") from None


class _Paths:
    """normalise_path with a cache (a day holds a few distinct pages, many times over)."""

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def __call__(self, raw: Any, what: str) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError(f"no {what}")
        done = self._cache.get(raw)
        if done is None:
            try:
                done = normalise_path(raw)
            except ValueError as exc:
                raise ValueError(f"{what}: {exc}") from None
            self._cache[raw] = done
        return done


@dataclass(frozen=True)
class _Counted:
    """What one event adds to the tallies, worked out before anything is added."""

    page: tuple[date, str]  # the event's day and page_location
    metric: str | None  # pviews, searches, useful_yes, useful_no; None: engagement only
    metric_page: tuple[date, str]  # where the metric counts (a search: maybe its referrer)
    engaged_ms: int  # > 0 to add to the page's page_time
    user: str | None  # a page view's user_pseudo_id
    session: tuple[str, int] | None  # a page view's (user_pseudo_id, ga_session_id)
    stamp: int  # a page view's event_timestamp
    # What makes two events one, as `ga4_sql` groups them: the same user's same event at the
    # same moment, the same in every field the figures read.
    identity: tuple[Any, ...]


@dataclass
class _Tallies:
    """The running figures per (day, page)."""

    counts: dict[tuple[date, str], dict[str, int]]
    users: dict[tuple[date, str], set[str]]
    engagement_ms: dict[tuple[date, str], int]
    sessions: dict[tuple[str, int], list[tuple[int, date, str]]]

    @classmethod
    def empty(cls) -> _Tallies:
        return cls(
            defaultdict(lambda: dict.fromkeys(COUNTED, 0)),
            defaultdict(set),
            defaultdict(int),
            defaultdict(list),
        )

    def figures(self) -> dict[PageKey, dict[str, int]]:
        """Every metric per (day, page): the counts, with the sessions' entrances, exits and
        bounces, the users' unique views and the engagement in seconds added."""
        counts = self.counts
        for views in self.sessions.values():
            views.sort()
            first, last = views[0], views[-1]
            counts[(first[1], first[2])]["entrances"] += 1
            counts[(last[1], last[2])]["exits"] += 1
            if len(views) == 1:
                counts[(first[1], first[2])]["bounces"] += 1
        for key, users_seen in self.users.items():
            counts[key]["upviews"] = len(users_seen)
        for key, ms in self.engagement_ms.items():
            counts[key]["page_time"] = round(ms / 1000)
        return counts

    def add(self, event: _Counted) -> None:
        if event.engaged_ms > 0:
            self.engagement_ms[event.page] += event.engaged_ms
        if event.metric is not None:
            self.counts[event.metric_page][event.metric] += 1
        if event.user is not None:
            self.users[event.page].add(event.user)
        if event.session is not None:
            self.sessions[event.session].append((event.stamp, *event.page))


def read_ga4_events(path: Path | str, *, today: date | None = None) -> DailyRows:
    """Read one GA4 export file into the daily analytics rows `load_daily` loads.

    Args:
        path: newline-delimited JSON of GA4 events (`.json`, `.jsonl`, `.ndjson`, or gzipped).
        today: event dates after this are rejected as in the future (default: today).

    Raises:
        InputError: the file cannot be read as a whole (see the module's docstring), naming
            the file and line.
    """
    path = Path(path)
    sha = input_sha256(path)
    tallies, rejects, rows_read = _tally(path, limits(), today or date.today())
    counts = tallies.figures()
    keys = sorted(k for k, v in counts.items() if any(v.values()))
    check_totals(path, ((key, counts[key]) for key in keys))
    frame = daily_frame(keys, counts, ANALYTICS_METRICS)
    return DailyRows("analytics", path, sha, frame, rejects, rows_read)


def _tally(path: Path, bounds: Limits, latest: date) -> tuple[_Tallies, list[Reject], int]:
    """The file's events tallied line by line; the rejects; the events read."""
    paths = _Paths()
    tallies = _Tallies.empty()
    seen: dict[bytes, int] = {}  # a digest of each counted event → its line
    rejects: list[Reject] = []
    rows_read = 0
    for line in read_lines(path):
        stripped = line.text.strip()
        if not stripped:
            continue
        if rows_read == 0 and stripped.startswith("["):
            raise InputError(
                str(path),
                "the file is a JSON array, not one event per line (newline-delimited JSON)",
                line.number,
            )
        rows_read += 1
        try:
            counted = _counted_line(path, line, bounds, latest, paths, seen)
        except ValueError as exc:
            rejects.append(Reject(line.number, str(exc), line.text[:RAW_LINE_CHARS]))
            continue
        if counted is not None:  # None: an event this warehouse does not count (scroll, ...)
            tallies.add(counted)
    if rows_read == 0:
        raise InputError(str(path), "empty file: expected one GA4 event per line", 1)
    return tallies, rejects, rows_read


def _counted_line(
    path: Path, line: Line, bounds: Limits, latest: date, paths: _Paths, seen: dict[bytes, int]
) -> _Counted | None:
    """What one line's event adds; ValueError (its reject reason) for a duplicate of an
    earlier counted event or one that cannot count."""
    event = _parse(path, line, bounds.max_json_depth)
    counted = _event(event, bounds.earliest_day, latest, paths)
    if counted is None:
        return None
    earlier = seen.setdefault(_digest(counted), line.number)
    if earlier != line.number:
        raise ValueError(f"duplicate of the event on line {earlier}")
    return counted


def _parse(path: Path, line: Line, max_depth: int) -> Any:
    """One line's event. ValueError (a reject) for a number too long to read; InputError
    (the file fails) for a line that is not JSON, is cut short, or is nested too deeply."""
    if too_deep(line.text, max_depth) is not None:
        raise InputError(
            str(path),
            f"JSON nested more than {max_depth:,} levels deep "
            f"(raise {MAX_JSON_DEPTH_ENV} to allow it)",
            line.number,
        )
    try:
        return _DECODER.decode(line.text)
    except _NumberTooLong as exc:
        raise ValueError(f"the event {exc}") from None
    except json.JSONDecodeError as exc:
        if not line.ended:
            raise InputError(
                str(path),
                f"truncated: the last line is not a whole JSON event ({exc})",
                line.number,
            ) from None
        hint = ""
        if line.number == 1 and line.text.strip() == "{":
            hint = " (one JSON document over several lines? expected one event per line)"
        raise InputError(str(path), f"not a JSON event: {exc}{hint}", line.number) from None
    except RecursionError:  # the depth limit raised past what the parser can follow
        raise InputError(
            str(path),
            f"JSON nested too deeply for the parser (lower {MAX_JSON_DEPTH_ENV})",
            line.number,
        ) from None


def _digest(counted: _Counted) -> bytes:
    return hashlib.blake2b(repr(counted.identity).encode(), digest_size=16).digest()


def _event(event: Any, earliest: date, latest: date, paths: _Paths) -> _Counted | None:
    """What the event adds to the tallies; None for an event not counted; ValueError (the
    reject reason) when it cannot count."""
    name, day = _name_and_day(event, earliest, latest)
    raw_stamp = event.get("event_timestamp")
    stamp = _timestamp(raw_stamp, name)
    params = event_params(event)
    session, engaged = _session_and_engagement(params)
    feedback = _is_feedback(name, params)
    counted = name in {PAGE_VIEW, SEARCH_EVENT} or feedback
    if not counted and not isinstance(engaged, int):
        return None
    page = (day, paths(params.get("page_location"), "page_location"))
    raw_user = event.get("user_pseudo_id")
    user = raw_user if isinstance(raw_user, str) and raw_user else None
    viewer = user if name == PAGE_VIEW else None
    text = _answer(params)
    metric, metric_page = _metric(name, feedback, page, params, paths)
    return _Counted(
        page=page,
        metric=metric,
        metric_page=metric_page,
        engaged_ms=engaged if isinstance(engaged, int) else 0,
        user=viewer,
        session=(viewer, session) if viewer is not None and session is not None else None,
        stamp=stamp,
        identity=(
            name,
            event["event_date"],
            stamp if raw_stamp is not None else None,
            user,
            session,
            page[1],
            metric_page[1],
            engaged if isinstance(engaged, int) else None,
            text.strip().lower() if isinstance(text, str) else None,
        ),
    )


def _name_and_day(event: Any, earliest: date, latest: date) -> tuple[str, date]:
    """The event's name and day, checked: ValueError (the reject reason) otherwise."""
    if not isinstance(event, Mapping):
        raise ValueError(f"event is a JSON {type(event).__name__}, not an object")
    name = event.get("event_name")
    if not isinstance(name, str) or not name:
        raise ValueError("event has no event_name")
    day = _event_date(event.get("event_date"))
    if day > latest:
        raise ValueError(f"event_date {day.isoformat()} is in the future")
    if day < earliest:
        raise ValueError(f"event_{too_early(day, earliest)}")
    return name, day


def _timestamp(raw_stamp: Any, name: str) -> int:
    """The event's timestamp (0 for none, but a page view must have one)."""
    if raw_stamp is None:
        if name == PAGE_VIEW:
            raise ValueError("page_view has no event_timestamp")
        return 0
    stamp = whole_number(raw_stamp, "event_timestamp")
    if stamp < 0:
        raise ValueError(f"event_timestamp {stamp} is negative")
    return stamp


def _session_and_engagement(params: Mapping[str, Any]) -> tuple[int | None, Any]:
    """The event's ga_session_id (a whole number, or None) and engagement_time_msec."""
    session = params.get("ga_session_id")
    if session is not None:
        session = whole_number(session, "ga_session_id")
    engaged = params.get("engagement_time_msec")
    if isinstance(engaged, int) and engaged > MAX_COUNT:
        raise ValueError(f"engagement_time_msec {engaged:,} is more than {MAX_COUNT:,}")
    return session, engaged


def _metric(
    name: str, feedback: bool, page: PageKey, params: Mapping[str, Any], paths: _Paths
) -> tuple[str | None, PageKey]:
    """The metric the event counts (None: engagement only) and the page it counts on."""
    if name == PAGE_VIEW:
        return "pviews", page
    if name == SEARCH_EVENT:
        return "searches", _search_page(page, params, paths)
    if feedback:
        answer = str(_answer(params) or "").strip().lower()
        return ("useful_yes" if answer == "yes" else "useful_no"), page
    return None, page


def _search_page(page: PageKey, params: Mapping[str, Any], paths: _Paths) -> PageKey:
    """Where a search counts: its page, but on the search page itself its referrer."""
    day, path = page
    if path == SEARCH_PAGE or path.startswith(SEARCH_PAGE + "/"):
        referrer = params.get("page_referrer")
        if isinstance(referrer, str) and referrer.strip():
            # A referrer off GOV.UK leaves the search counted on the search page.
            with contextlib.suppress(ValueError):
                return (day, paths(referrer, "page_referrer"))
    return page


def _is_feedback(name: str, params: Mapping[str, Any]) -> bool:
    return (
        name == FEEDBACK_EVENT
        and params.get("type") == FEEDBACK_TYPE
        and params.get("section") == FEEDBACK_SECTION
        and str(_answer(params) or "").strip().lower() in {"yes", "no"}
    )


def _answer(params: Mapping[str, Any]) -> Any:
    """The feedback answer: `ui_text`, GOV.UK's parameter for it, else `text`."""
    answer = params.get("ui_text")
    return answer if answer is not None else params.get("text")


# What the SQL's reject codes say, where the event itself cannot be read back to say more.
REASONS = {
    "not_an_object": "event is not a JSON object",
    "timestamp_not_whole": "event_timestamp is not a whole number of at most 64 bits",
    "param_not_whole": "an int_value is not a whole number of at most 64 bits",
    "session_not_whole": "ga_session_id is not a whole number of at most 64 bits",
    "no_event_name": "event has no event_name",
    "date_format": "event_date is not YYYYMMDD",
    "date_invalid": "event_date is not a date",
    "date_future": "event_date is in the future",
    "date_early": "event_date is before the earliest day",
    "no_timestamp": "page_view has no event_timestamp",
    "negative_timestamp": "event_timestamp is negative",
    "engagement_over_limit": f"engagement_time_msec is more than {MAX_COUNT:,}",
    "no_path": "no page_location",
    "path_control": "page_location: path contains control characters",
    "path_too_long": "page_location: path is too long",
    "path_not_absolute": "page_location: path is neither absolute nor on www.gov.uk",
}


def reject_reason(code: str, raw: str | None, earliest: date, latest: date) -> str:
    """The words for an event the SQL rejected with `code`: the rule's own message for the
    event (`raw`, its JSON) as this module words it, else the code's general one."""
    if raw is not None:
        try:
            event = _DECODER.decode(raw)
        except _NumberTooLong as exc:
            return f"the event {exc}"
        except (ValueError, RecursionError):
            event = None
        if event is not None:
            try:
                _event(event, earliest, latest, _Paths())
            except ValueError as exc:
                return str(exc)
    return REASONS.get(code, code)


def diagnose(path: Path, *, first_line_only: bool = False) -> None:
    """Read `path` line by line as the line reader does, raising the InputError (naming the
    line) for the first line that breaks the file's promises; return if none does.

    With `first_line_only`, only look whether the file is one JSON array (or is not text at
    all) at its first line that is not blank.
    """
    bounds = limits()
    first = True
    for line in read_lines(path):
        stripped = line.text.strip()
        if not stripped:
            continue
        if first and stripped.startswith("["):
            raise InputError(
                str(path),
                "the file is a JSON array, not one event per line (newline-delimited JSON)",
                line.number,
            )
        if first_line_only:
            return
        first = False
        _parse(path, line, bounds.max_json_depth)
