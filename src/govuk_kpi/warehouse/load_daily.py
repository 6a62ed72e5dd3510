"""Load daily usage (analytics or feedback CSV) into the daily page facts.

Each row's path is matched to the edition live at that path on that day. Rows that match
nothing go to `fact_unmatched_daily`. Loading a file replaces its source's figures for exactly
the days the file holds, each of them wholly, and never a day between them (ADR 0008); a range
the file does not cover is replaced only when asked by name (`Replace`). Analytics and feedback
load into the same fact rows without disturbing each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine, Row, and_, delete, func, or_, select, update

from govuk_kpi.core.errors import InputError
from govuk_kpi.core.limits import limits, too_early
from govuk_kpi.core.metrics import DAILY_METRICS
from govuk_kpi.sources.arrow_memory import system_allocator
from govuk_kpi.sources.daily_csv import DailyRows
from govuk_kpi.sources.provenance import is_generated
from govuk_kpi.sources.reading import gc_paused
from govuk_kpi.warehouse.batch import (
    BatchResult,
    DayChange,
    insert_rejects,
    record_failure,
    run_batch,
)
from govuk_kpi.warehouse.bulk import bulk_insert, bulk_insert_arrays
from govuk_kpi.warehouse.calendar import date_key, date_range, ensure_dates, on_days
from govuk_kpi.warehouse.models import DimEdition, FactPageDaily, FactUnmatchedDaily
from govuk_kpi.warehouse.rollups import retract_days

FACT_COLUMNS = ("date_key", "edition_key", "page_id", *DAILY_METRICS, "batch_id", "feedex_batch_id")
UNMATCHED_COLUMNS = ("date_key", "path", "source", *DAILY_METRICS, "batch_id")
_NEVER = date.max.toordinal()


class EditionMatcher:
    """Finds the edition live at a path on a day: live at any moment of the day, newest first.

    The editions are held as arrays ordered newest first (by valid_from, then edition_key), the
    paths as Arrow strings. One hash lookup gives each row the newest edition at its path, which
    is the answer whenever it is live that day (nearly always); for the other rows the older
    editions at their paths are tried in turn, newest first, all such rows at once.
    """

    def __init__(self, connection: Connection, since: date | None = None) -> None:
        """Read the editions; with `since`, only those that can be live on that day or later."""
        editions = EDITION_READERS.get(connection.dialect.name, _read_editions)(connection, since)
        start, end = editions.valid_from, editions.valid_to  # end NaT: still live
        open_ended = np.isnat(end)
        # Replaced the moment it arrived: never seen by a reader.
        seen = open_ended | (end > start)
        end_day = end.astype("datetime64[D]")
        at_midnight = end == end_day.astype("datetime64[us]")
        epoch = date(1970, 1, 1).toordinal()
        first = start.astype("datetime64[D]").astype(np.int64) + epoch
        last = end_day.astype(np.int64) + epoch - at_midnight.astype(np.int64)
        last[open_ended] = _NEVER
        # Unseen editions stay in place (no copy of the paths to drop them) but are live on no day.
        first[~seen], last[~seen] = 1, 0
        keys, pages, paths = editions.edition_keys, editions.page_ids, editions.paths
        order = _newest_first(start, keys)
        if order is not None:
            paths = paths.take(pa.array(order))
            first, last, keys, pages, seen = (a[order] for a in (first, last, keys, pages, seen))
        self._paths = paths
        self._first = first
        self._last = last
        self._editions = keys
        self._pages = pages
        self._seen = seen
        self._by_path: dict[str, list[tuple[int, int, int, int]]] | None = None

    def _entry(self, i: int) -> tuple[int, int, int, int]:
        return (
            int(self._first[i]),
            int(self._last[i]),
            int(self._editions[i]),
            int(self._pages[i]),
        )

    @property
    def by_path(self) -> dict[str, list[tuple[int, int, int, int]]]:
        """Per path, its editions as (first day, last day, edition_key, page_id), oldest first."""
        if self._by_path is None:
            by_path: dict[str, list[tuple[int, int, int, int]]] = {}
            paths = self._paths.to_pylist()
            for i in reversed(np.flatnonzero(self._seen).tolist()):
                by_path.setdefault(paths[i], []).append(self._entry(i))
            self._by_path = by_path
        return self._by_path

    def match(
        self,
        days: Sequence[int] | np.ndarray,
        paths: Sequence[str] | np.ndarray | pd.Series | pa.Array | pa.ChunkedArray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Edition keys and page ids per row (day ordinals, normalised paths); -1 for no match."""
        if len(days) != len(paths):
            raise ValueError("days and paths differ in length")
        editions = np.full(len(paths), -1, dtype=np.int64)
        pages = np.full(len(paths), -1, dtype=np.int64)
        if not len(paths) or not len(self._paths):
            return editions, pages
        day = np.asarray(days, dtype=np.int64)
        # Arrow's index_in gives the first position in the value set of an equal value: with
        # the editions newest first, the newest edition at the row's path (null for none).
        at = pc.index_in(_arrow_strings(paths), value_set=self._paths).fill_null(-1)
        at = at.to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(at >= 0)
        at = at[rows].astype(np.int64)
        older = None
        while len(rows):
            live = (self._first[at] <= day[rows]) & (day[rows] <= self._last[at])
            editions[rows[live]] = self._editions[at[live]]
            pages[rows[live]] = self._pages[at[live]]
            rows, at = rows[~live], at[~live]
            if older is None and len(rows):
                older = self._older(at)
            if older is not None:
                at = older[at]
                rows, at = rows[at >= 0], at[at >= 0]
        return editions, pages

    def _older(self, newest: np.ndarray) -> np.ndarray:
        """Per edition, the next older edition at its path (-1 for none), for the paths of the
        editions at `newest` (positions of the newest edition at a path); -1 for the others."""
        wanted = self._paths.take(pa.array(np.unique(newest)))
        same = np.flatnonzero(
            pc.is_in(self._paths, value_set=wanted).to_numpy(zero_copy_only=False)
        )
        path = pc.index_in(self._paths.take(pa.array(same)), value_set=wanted)
        path = path.to_numpy(zero_copy_only=False)
        order = np.lexsort((same, path))  # by path, then newest first
        same, path = same[order], path[order]
        older = np.full(len(self._paths), -1, dtype=np.int64)
        follows = path[1:] == path[:-1]
        older[same[:-1][follows]] = same[1:][follows]
        return older


def _newest_first(start: np.ndarray, keys: np.ndarray) -> np.ndarray | None:
    """The order that puts editions newest first: by valid_from, the edition key breaking ties
    (as a scan in key order would), both descending. None when they are in that order already,
    as editions read in descending key order nearly always are."""
    later, earlier = start[:-1], start[1:]
    if np.all((earlier < later) | ((earlier == later) & (keys[1:] < keys[:-1]))):
        return None
    return np.lexsort((keys, start))[::-1].copy()


def _arrow_strings(
    values: Sequence[str] | np.ndarray | pd.Series | pa.Array | pa.ChunkedArray,
) -> pa.Array | pa.ChunkedArray:
    """Strings as Arrow strings: without a copy when they are Arrow strings already (a column
    of pandas' `str` dtype, as the daily CSV reader gives)."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    if isinstance(values, pd.Series):
        return pa.array(values)
    return pa.array(np.asarray(values, dtype=object), type=pa.string())


class Editions(NamedTuple):
    """Editions as columns, in no particular order: base paths (Arrow strings), valid_from and
    valid_to (datetime64[us], NaT for none), edition keys and page ids (int64)."""

    paths: pa.Array | pa.ChunkedArray
    valid_from: np.ndarray
    valid_to: np.ndarray
    edition_keys: np.ndarray
    page_ids: np.ndarray


EditionReader = Callable[[Connection, "date | None"], Editions]


def _read_editions(connection: Connection, since: date | None) -> Editions:
    """Any backend, through SQLAlchemy: the reference for the faster readers below."""
    query = select(
        DimEdition.base_path,
        DimEdition.valid_from,
        DimEdition.valid_to,
        DimEdition.edition_key,
        DimEdition.page_id,
    )
    if since is not None:
        midnight = datetime.combine(since, time())
        query = query.where(or_(DimEdition.valid_to.is_(None), DimEdition.valid_to >= midnight))
    return _editions(connection.execute(query).all())


def _read_editions_postgresql(connection: Connection, since: date | None) -> Editions:
    """PostgreSQL: the driver's rows (psycopg gives the timestamps as datetimes)."""
    sql = "SELECT base_path, valid_from, valid_to, edition_key, page_id FROM dim_edition"
    params: tuple[date, ...] = ()
    if since is not None:
        sql += " WHERE valid_to IS NULL OR valid_to >= %s"
        params = (since,)
    dbapi = connection.connection.driver_connection
    assert dbapi is not None  # an open connection has its driver's
    with dbapi.cursor() as cursor:
        rows = cursor.execute(sql, params).fetchall()
    # Rows come in the table's physical order, mostly oldest first: reversed, mostly newest
    # first, as the matcher wants them (reversing the list is cheap, reordering arrays is not).
    rows.reverse()
    return _editions(rows)


def _editions(rows: Sequence[Sequence]) -> Editions:
    if rows:
        paths, starts, ends, edition_keys, page_ids = zip(*rows, strict=True)
    else:
        paths, starts, ends, edition_keys, page_ids = (), (), (), (), ()
    return Editions(
        pa.array(paths, type=pa.string()),
        _datetimes(starts),
        _datetimes(ends),
        np.array(edition_keys, dtype=np.int64),
        np.array(page_ids, dtype=np.int64),
    )


# SQLite: each column comes back as one text, the values joined by a separator, and is split
# by Arrow; building a Python tuple per row took most of the time. The aggregates of one query
# see the rows in the same order. The counts show whether a separator was inside a value (or a
# valid_to was ''), and then the rows are fetched one by one instead. The editions come in
# chunks in descending key order, so that the texts stay small and their memory is used again,
# and newest first as the matcher wants them (no reordering copy of the paths).
_SQLITE_CHUNK = 65_536
_SQLITE_COLUMNS = (
    "SELECT count(*), count(valid_to), min(edition_key),"
    " group_concat(base_path, char(10)),"
    " group_concat(valid_from, char(10)),"
    " group_concat(ifnull(valid_to, ''), char(10)),"
    " group_concat(edition_key), group_concat(page_id)"
    " FROM (SELECT base_path, valid_from, valid_to, edition_key, page_id FROM dim_edition"
    " WHERE edition_key < ?{since} ORDER BY edition_key DESC LIMIT ?)"
)
_SQLITE_ROWS = "SELECT base_path, valid_from, valid_to, edition_key, page_id FROM dim_edition"
# Stored as ISO text, the date first: compared with the day as text, this keeps every edition
# that ends that day or later (and those that end at its midnight, which the matcher drops).
_SQLITE_SINCE = "valid_to IS NULL OR valid_to >= ?"


def _read_editions_sqlite(connection: Connection, since: date | None) -> Editions:
    """SQLite: the columns as joined texts split by Arrow, timestamps parsed once per value.

    The timestamps are parsed by the function SQLAlchemy's DateTime type uses on SQLite, so
    the editions are those `_read_editions` gives.
    """
    params: tuple[str, ...]
    if since is None:
        chunk_sql, where, params = _SQLITE_COLUMNS.format(since=""), "", ()
    else:
        chunk_sql = _SQLITE_COLUMNS.format(since=f" AND ({_SQLITE_SINCE})")
        where, params = f" WHERE {_SQLITE_SINCE}", (since.isoformat(),)
    dialect = connection.dialect
    process = DimEdition.__table__.c.valid_from.type.dialect_impl(dialect).result_processor(
        dialect, None
    )

    def timestamps(texts: pa.Array) -> np.ndarray:
        encoded = texts.dictionary_encode()
        values = [None if t == "" else t for t in encoded.dictionary.to_pylist()]
        parsed = _datetimes([process(t) if process and t is not None else t for t in values])
        return parsed[encoded.indices.to_numpy()]

    paths, starts, ends, keys, pages = [], [], [], [], []
    before = 2**63 - 1
    dbapi = connection.connection.driver_connection
    assert dbapi is not None  # an open connection has its driver's
    cursor = dbapi.cursor()
    try:
        while True:
            count, ended, lowest, *texts = cursor.execute(
                chunk_sql, (before, *params, _SQLITE_CHUNK)
            ).fetchone()
            if count == 0:
                break
            path, start, end, key, page = (
                pc.split_pattern(pa.array([text], type=pa.string()), sep).flatten()
                for text, sep in zip(texts, ("\n", "\n", "\n", ",", ","), strict=True)
            )
            if (
                not (len(path) == len(start) == len(end) == count)
                or (pc.sum(pc.not_equal(end, "")).as_py() or 0) != ended
            ):
                sql = _SQLITE_ROWS + where + " ORDER BY edition_key DESC"
                return _editions(cursor.execute(sql, params).fetchall())
            paths.append(path)
            starts.append(timestamps(start))
            ends.append(timestamps(end))
            keys.append(key.cast(pa.int64()).to_numpy())
            pages.append(page.cast(pa.int64()).to_numpy())
            if count < _SQLITE_CHUNK:
                break
            before = lowest
    finally:
        cursor.close()
    if not paths:
        return _editions([])
    return Editions(
        pa.chunked_array(paths, type=pa.string()),
        np.concatenate(starts),
        np.concatenate(ends),
        np.concatenate(keys),
        np.concatenate(pages),
    )


EDITION_READERS: dict[str, EditionReader] = {
    "sqlite": _read_editions_sqlite,
    "postgresql": _read_editions_postgresql,
}


def _datetimes(values: Sequence[datetime | None]) -> np.ndarray:
    """Naive datetimes (None for none) as datetime64[us] (NaT for none), without a Python loop."""
    if not len(values):
        return np.array([], dtype="datetime64[us]")
    series = pd.Series(values, dtype=object)  # type: ignore[arg-type]  # pandas-stubs: an object Series holds anything
    return pd.to_datetime(series).to_numpy().astype("datetime64[us]")


@dataclass(frozen=True)
class Replace:
    """An explicit range to replace wholly, the days the file does not hold included."""

    first: date
    last: date


def load_daily(
    engine: Engine,
    rows: DailyRows,
    *,
    skip_if_loaded: bool = True,
    replace: Replace | None = None,
    dry_run: bool = False,
) -> BatchResult:
    """Load one read daily file as one batch, replacing its source's figures for its days.

    Args:
        engine: the warehouse.
        rows: what the reader made of the file.
        skip_if_loaded: do nothing when the newest batch of the source loaded this very input.
        replace: also replace every other day of this range (the file's days must lie in it).
        dry_run: work out what the load would delete and add per day, then write nothing.

    Raises:
        InputError: a day before the earliest day, or outside the `replace` range.
    """
    try:
        days = _days_replaced(rows, replace)
    except InputError as exc:
        record_failure(engine, BatchResult(rows.source, str(rows.path)), rows.sha256, exc)
        raise
    with gc_paused(), system_allocator():
        return _load_daily(engine, rows, days, skip_if_loaded=skip_if_loaded, dry_run=dry_run)


def _days_replaced(rows: DailyRows, replace: Replace | None) -> list[date]:
    """The days the load replaces: those the file holds, or all of the `replace` range."""
    held = [] if rows.frame.empty else sorted(d.date() for d in rows.frame["date"].unique())
    earliest = limits().earliest_day
    # Readers reject such rows already; this keeps the rule whatever reader made the rows.
    if held and held[0] < earliest:
        raise InputError(str(rows.path), too_early(held[0], earliest))
    if replace is None:
        return held
    if replace.first > replace.last:
        raise InputError(
            str(rows.path), f"--replace {replace.first} {replace.last}: the start is after the end"
        )
    if replace.first < earliest:
        raise InputError(str(rows.path), f"--replace: {too_early(replace.first, earliest)}")
    outside = [d for d in held if not replace.first <= d <= replace.last]
    if outside:
        raise InputError(
            str(rows.path),
            f"holds {outside[0]}, outside --replace {replace.first} {replace.last}",
        )
    return date_range(replace.first, replace.last)


def _load_daily(
    engine: Engine, rows: DailyRows, days: list[date], *, skip_if_loaded: bool, dry_run: bool
) -> BatchResult:
    result = BatchResult(
        rows.source,
        str(rows.path),
        rows_read=rows.rows_read,
        is_generated=is_generated(rows.path),
        dry_run=dry_run,
    )

    def work(connection: Connection, batch_id: int) -> None:
        result.rows_rejected = insert_rejects(connection, batch_id, str(rows.path), rows.rejects)
        if not days:
            return
        ensure_dates(connection, days)
        frame = rows.frame
        ordinals = (
            frame["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
            + date(1970, 1, 1).toordinal()
        )
        since = frame["date"].min().date() if len(frame) else days[0]
        editions, pages = EditionMatcher(connection, since=since).match(ordinals, frame["path"])
        keys = _date_keys(ordinals)
        matched = editions >= 0
        deleted = _rows_held(connection, rows.source, days)
        retract_days(connection, days)  # before the facts change: see rollups.py
        found = _Matched(keys, editions, pages, matched)
        if rows.source == "analytics":
            _replace_analytics(connection, batch_id, days, found, rows)
        else:
            _replace_feedback(connection, batch_id, days, found, rows)
        _replace_unmatched(connection, batch_id, days, keys, ~matched, rows)
        added = dict(zip(*np.unique(keys, return_counts=True), strict=True))
        result.days = [
            DayChange(d, deleted.get(date_key(d), 0), int(added.get(date_key(d), 0))) for d in days
        ]
        result.rows_unmatched = int((~matched).sum())
        result.rows_loaded = len(frame)

    return run_batch(
        engine,
        result,
        rows.sha256,
        work,
        date_from=days[0] if days else None,
        date_to=days[-1] if days else None,
        skip_if_loaded=skip_if_loaded and not dry_run,
    )


def _rows_held(connection: Connection, source: str, days: list[date]) -> dict[int, int]:
    """Per day key, the rows of `source` the warehouse holds now (matched and unmatched)."""
    mark = FactPageDaily.batch_id if source == "analytics" else FactPageDaily.feedex_batch_id
    held: dict[int, int] = {}
    for query in (
        select(FactPageDaily.date_key, func.count())
        .where(on_days(FactPageDaily.date_key, days), mark.is_not(None))
        .group_by(FactPageDaily.date_key),
        select(FactUnmatchedDaily.date_key, func.count())
        .where(on_days(FactUnmatchedDaily.date_key, days), FactUnmatchedDaily.source == source)
        .group_by(FactUnmatchedDaily.date_key),
    ):
        for key, count in connection.execute(query):
            held[key] = held.get(key, 0) + count
    return held


def _date_keys(ordinals: np.ndarray) -> np.ndarray:
    if not len(ordinals):
        return ordinals
    days, where = np.unique(ordinals, return_inverse=True)
    keys = np.array([date_key(date.fromordinal(int(o))) for o in days], dtype=np.int64)
    return keys[where.reshape(-1)]


def _metric_lists(rows: DailyRows, at: np.ndarray) -> dict[str, list[int]]:
    """Each of the ten metrics for the rows at positions `at`, in that order: zeros for the
    other source's."""
    out = {}
    for name in DAILY_METRICS:
        if name in rows.metrics:
            out[name] = rows.frame[name].to_numpy()[at].tolist()
        else:
            out[name] = [0] * len(at)
    return out


class _Matched(NamedTuple):
    """The rows' date keys, and the edition and page each matched (`matched`; -1 where not)."""

    keys: np.ndarray
    editions: np.ndarray
    pages: np.ndarray
    matched: np.ndarray


def _replace_analytics(
    connection: Connection, batch_id: int, days: list[date], found: _Matched, rows: DailyRows
) -> None:
    keys, editions, pages, matched = found
    replaced = on_days(FactPageDaily.date_key, days)
    # Feedback counts live in the same rows: keep them across the replacement.
    kept = {
        (r.date_key, r.edition_key): r
        for r in connection.execute(
            select(
                FactPageDaily.date_key,
                FactPageDaily.edition_key,
                FactPageDaily.page_id,
                FactPageDaily.feedex,
                FactPageDaily.feedex_batch_id,
            ).where(replaced, FactPageDaily.feedex_batch_id.is_not(None))
        )
    }
    connection.execute(delete(FactPageDaily).where(replaced))
    # In the primary key's order, so that its index grows at the end. A day file has one day:
    # a plain sort of the edition keys (several times faster than lexsort) gives that order.
    at = np.flatnonzero(matched)
    k, e = keys[at], editions[at]
    at = at[np.argsort(e) if not len(k) or k.min() == k.max() else np.lexsort((e, k))]
    table = FactPageDaily.__tablename__
    if not kept:
        # No feedback counts to keep: feedex, batch_id and feedex_batch_id are the same on every
        # row, so they are constants of the statement rather than parameters of each row.
        constants = {"feedex": 0, "batch_id": batch_id, "feedex_batch_id": None}
        varying = [c for c in FACT_COLUMNS if c not in constants]
        metrics = [rows.frame[name].to_numpy() for name in varying[3:]]
        bulk_insert_arrays(
            connection, table, varying, [keys, editions, pages, *metrics], at, constants
        )
        return
    _insert_keeping_feedback(connection, batch_id, found, at, rows, kept)


def _insert_keeping_feedback(
    connection: Connection,
    batch_id: int,
    found: _Matched,
    at: np.ndarray,
    rows: DailyRows,
    kept: dict[tuple[int, int], Row[int, int, int, int, int | None]],
) -> None:
    """Insert the rows at `at` with the feedback counts `kept` of the days replaced: on the
    same fact row, or on a row of their own where the new analytics have no such row."""
    table = FactPageDaily.__tablename__
    k, e, p = found.keys[at].tolist(), found.editions[at].tolist(), found.pages[at].tolist()
    metrics = _metric_lists(rows, at)
    feedex = metrics["feedex"]
    feedex_batch: list[int | None] = [None] * len(k)
    for i, key in enumerate(zip(k, e, strict=True)):
        old = kept.pop(key, None)
        if old is not None:
            feedex[i], feedex_batch[i] = old.feedex, old.feedex_batch_id
    columns = [
        k,
        e,
        p,
        *(metrics[name] for name in DAILY_METRICS),
        [batch_id] * len(k),
        feedex_batch,
    ]
    bulk_insert(connection, table, FACT_COLUMNS, zip(*columns, strict=True))
    if kept:
        zero = [0] * len(DAILY_METRICS)
        feedex_at = DAILY_METRICS.index("feedex")
        leftovers = []
        for old in kept.values():
            values = list(zero)
            values[feedex_at] = old.feedex
            leftovers.append(
                (old.date_key, old.edition_key, old.page_id, *values, None, old.feedex_batch_id)
            )
        bulk_insert(connection, table, FACT_COLUMNS, leftovers)


def _replace_feedback(
    connection: Connection, batch_id: int, days: list[date], found: _Matched, rows: DailyRows
) -> None:
    keys, editions, pages, matched = found
    replaced = on_days(FactPageDaily.date_key, days)
    connection.execute(
        update(FactPageDaily)
        .where(replaced, FactPageDaily.feedex_batch_id.is_not(None))
        .values(feedex=0, feedex_batch_id=None)
    )
    # Rows that only existed to hold feedback go; analytics rows stay.
    connection.execute(delete(FactPageDaily).where(replaced, FactPageDaily.batch_id.is_(None)))
    existing = set(
        connection.execute(
            select(FactPageDaily.date_key, FactPageDaily.edition_key).where(replaced)
        ).all()
    )
    counts = rows.frame["feedex"].to_numpy()
    updates, inserts = [], []
    zero = [0] * len(DAILY_METRICS)
    feedex_at = DAILY_METRICS.index("feedex")
    for i in np.flatnonzero(matched).tolist():
        key = (int(keys[i]), int(editions[i]))
        if key in existing:
            updates.append({"k": key[0], "e": key[1], "n": int(counts[i])})
        else:
            values = list(zero)
            values[feedex_at] = int(counts[i])
            inserts.append((*key, int(pages[i]), *values, None, batch_id))
    if updates:
        connection.execute(
            update(FactPageDaily)
            .where(
                and_(FactPageDaily.date_key == _bind("k"), FactPageDaily.edition_key == _bind("e"))
            )
            .values(feedex=_bind("n"), feedex_batch_id=batch_id),
            updates,
        )
    if inserts:
        bulk_insert(connection, FactPageDaily.__tablename__, FACT_COLUMNS, inserts)


def _bind(name: str):
    from sqlalchemy import bindparam

    return bindparam(name)


def _replace_unmatched(
    connection: Connection,
    batch_id: int,
    days: list[date],
    keys: np.ndarray,
    unmatched: np.ndarray,
    rows: DailyRows,
) -> None:
    connection.execute(
        delete(FactUnmatchedDaily).where(
            on_days(FactUnmatchedDaily.date_key, days), FactUnmatchedDaily.source == rows.source
        )
    )
    if not unmatched.any():
        return
    at = np.flatnonzero(unmatched)
    metrics = _metric_lists(rows, at)
    k = keys[at].tolist()
    # Only the unmatched paths become Python strings (the column may be Arrow strings).
    paths = rows.frame["path"].iloc[at].tolist()
    columns = [
        k,
        paths,
        [rows.source] * len(k),
        *(metrics[n] for n in DAILY_METRICS),
        [batch_id] * len(k),
    ]
    bulk_insert(
        connection, FactUnmatchedDaily.__tablename__, UNMATCHED_COLUMNS, zip(*columns, strict=True)
    )
