"""Read a GA4 BigQuery export table (`events_YYYYMMDD`) as newline-delimited JSON.

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
  `section` = `Is this page useful?`, `text` = `Yes` / `No`;
- `searches`: `search` events by their `page_location` (the page whose search box was used);
  on the search page itself (`/search...`) by their `page_referrer`;
- `entrances`, `exits`, `bounces`: per session (`user_pseudo_id` + `ga_session_id`), its
  `page_view`s in `event_timestamp` order: the first is an entrance, the last an exit, and a
  session of one page view a bounce;
- `page_time`: `engagement_time_msec` of all the page's events, summed, in whole seconds.

A line that is not JSON, bytes that are not UTF-8 or a file cut short fail the whole file
(`InputError` naming file and line). An event that cannot be counted (no or bad
`event_date`, a date in the future, a counted event without a usable `page_location`) is a
reject with its line and reason; the rest load. Events of other names are ignored.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from govuk_kpi.core.errors import InputError
from govuk_kpi.core.paths import normalise_path
from govuk_kpi.sources.daily_csv import ANALYTICS_METRICS, DailyRows
from govuk_kpi.sources.records import Reject

FEEDBACK_EVENT = "form_submit"
FEEDBACK_TYPE = "feedback"
FEEDBACK_SECTION = "Is this page useful?"
SEARCH_EVENT = "search"
PAGE_VIEW = "page_view"
SEARCH_PAGE = "/search"
# Every analytics metric is tallied per (day, page).
COUNTED = ANALYTICS_METRICS


def event_params(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event's params as a dict: key → its one set value (int_value as an int)."""
    params: dict[str, Any] = {}
    for param in event.get("event_params") or ():
        if not isinstance(param, Mapping) or not isinstance(param.get("key"), str):
            continue
        value = param.get("value")
        if not isinstance(value, Mapping):
            continue
        for kind in ("string_value", "int_value", "double_value", "float_value"):
            raw = value.get(kind)
            if raw is None:
                continue
            if kind == "int_value":
                try:
                    raw = int(raw)
                except (TypeError, ValueError):
                    continue
            params[param["key"]] = raw
            break
    return params


def _read_text(path: Path) -> tuple[str, str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None
    sha = hashlib.sha256(data).hexdigest()
    if path.name.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputError(str(path), f"not a complete gzip file: {exc}") from None
    try:
        return data.decode("utf-8"), sha
    except UnicodeDecodeError as exc:
        row = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            str(path), f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}", row
        ) from None


def _event_date(value: Any) -> date:
    if not isinstance(value, str) or len(value) != 8 or not value.isdigit():
        raise ValueError(f"event_date {value!r} is not YYYYMMDD")
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


def read_ga4_events(path: Path | str, *, today: date | None = None) -> DailyRows:
    """Read one GA4 export file into the daily analytics rows `load_daily` loads.

    Args:
        path: newline-delimited JSON of GA4 events (`.json`, `.jsonl`, `.ndjson`, or gzipped).
        today: event dates after this are rejected as in the future (default: today).

    Raises:
        InputError: the file cannot be read as a whole (not UTF-8, a line not JSON, cut short,
            empty), naming the file and line.
    """
    path = Path(path)
    text, sha = _read_text(path)
    if not text.strip():
        raise InputError(str(path), "empty file: expected one GA4 event per line", 1)
    limit = today or date.today()
    paths = _Paths()
    counts: dict[tuple[date, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTED, 0))
    users: dict[tuple[date, str], set[str]] = defaultdict(set)
    engagement_ms: dict[tuple[date, str], int] = defaultdict(int)
    sessions: dict[tuple[str, Any], list[tuple[int, int, date, str]]] = defaultdict(list)
    rejects: list[Reject] = []
    rows_read = 0
    lines = text.split("\n")
    ends_cleanly = text.endswith("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        rows_read += 1
        try:
            event = json.loads(line)
        except ValueError as exc:
            if number == len(lines) and not ends_cleanly:
                raise InputError(
                    str(path), f"truncated: the last line is not a whole JSON event ({exc})", number
                ) from None
            raise InputError(str(path), f"not a JSON event: {exc}", number) from None
        try:
            _count(event, number, limit, paths, counts, users, engagement_ms, sessions)
        except ValueError as exc:
            rejects.append(Reject(number, str(exc), line[:2000]))

    for views in sessions.values():
        views.sort()
        first, last = views[0], views[-1]
        counts[(first[2], first[3])]["entrances"] += 1
        counts[(last[2], last[3])]["exits"] += 1
        if len(views) == 1:
            counts[(first[2], first[3])]["bounces"] += 1
    for key, users_seen in users.items():
        counts[key]["upviews"] = len(users_seen)
    for key, ms in engagement_ms.items():
        counts[key]["page_time"] = round(ms / 1000)

    keys = [k for k, v in counts.items() if any(v.values())]
    keys.sort()
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime([k[0] for k in keys]).astype("datetime64[s]"),
            "path": pd.Series([k[1] for k in keys], dtype="str"),  # as read_daily_csv gives
        }
    )
    for name in ANALYTICS_METRICS:
        frame[name] = np.array([counts[k][name] for k in keys], dtype=np.int64)
    return DailyRows("analytics", path, sha, frame, rejects, rows_read)


def _count(
    event: Any,
    number: int,
    limit: date,
    paths: _Paths,
    counts: dict[tuple[date, str], dict[str, int]],
    users: dict[tuple[date, str], set[str]],
    engagement_ms: dict[tuple[date, str], int],
    sessions: dict[tuple[str, Any], list[tuple[int, int, date, str]]],
) -> None:
    """Add one event to the tallies; ValueError (the reject reason) when it cannot count."""
    if not isinstance(event, Mapping):
        raise ValueError(f"event is a JSON {type(event).__name__}, not an object")
    name = event.get("event_name")
    if not isinstance(name, str) or not name:
        raise ValueError("event has no event_name")
    day = _event_date(event.get("event_date"))
    if day > limit:
        raise ValueError(f"event_date {day.isoformat()} is in the future")
    params = event_params(event)
    location = params.get("page_location")
    engaged = params.get("engagement_time_msec")
    counted = name in {PAGE_VIEW, SEARCH_EVENT} or _is_feedback(name, params)
    if not counted and not isinstance(engaged, int):
        return  # an event this warehouse does not count (scroll, click, session_start, ...)
    page = paths(location, "page_location")
    key = (day, page)
    if isinstance(engaged, int) and engaged > 0:
        engagement_ms[key] += engaged
    if name == PAGE_VIEW:
        counts[key]["pviews"] += 1
        user = event.get("user_pseudo_id")
        if isinstance(user, str) and user:
            users[key].add(user)
            session = params.get("ga_session_id")
            if session is not None:
                stamp = _timestamp(event.get("event_timestamp"))
                sessions[(user, session)].append((stamp, number, day, page))
    elif name == SEARCH_EVENT:
        if page == SEARCH_PAGE or page.startswith(SEARCH_PAGE + "/"):
            referrer = params.get("page_referrer")
            if isinstance(referrer, str) and referrer.strip():
                # A referrer off GOV.UK leaves the search counted on the search page.
                with contextlib.suppress(ValueError):
                    key = (day, paths(referrer, "page_referrer"))
        counts[key]["searches"] += 1
    elif _is_feedback(name, params):
        answer = str(params.get("text") or "").strip().lower()
        if answer == "yes":
            counts[key]["useful_yes"] += 1
        elif answer == "no":
            counts[key]["useful_no"] += 1


def _is_feedback(name: str, params: Mapping[str, Any]) -> bool:
    return (
        name == FEEDBACK_EVENT
        and params.get("type") == FEEDBACK_TYPE
        and params.get("section") == FEEDBACK_SECTION
        and str(params.get("text") or "").strip().lower() in {"yes", "no"}
    )


def _timestamp(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
