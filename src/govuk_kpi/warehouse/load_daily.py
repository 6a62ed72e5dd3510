"""Load daily usage (analytics or feedback CSV) into the daily page facts.

Each row's path is matched to the edition live at that path on that day. Rows that match
nothing go to `fact_unmatched_daily`. Loading a file replaces exactly its date range for its
source: analytics and feedback load into the same fact rows without disturbing each other.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, and_, delete, select, update

from govuk_kpi.core.metrics import DAILY_METRICS
from govuk_kpi.sources.daily_csv import DailyRows
from govuk_kpi.sources.provenance import is_generated
from govuk_kpi.warehouse.batch import BatchResult, insert_rejects, run_batch
from govuk_kpi.warehouse.bulk import bulk_insert
from govuk_kpi.warehouse.calendar import date_key, date_range, ensure_dates
from govuk_kpi.warehouse.models import DimEdition, FactPageDaily, FactUnmatchedDaily

FACT_COLUMNS = ("date_key", "edition_key", "page_id", *DAILY_METRICS, "batch_id", "feedex_batch_id")
UNMATCHED_COLUMNS = ("date_key", "path", "source", *DAILY_METRICS, "batch_id")
_NEVER = date.max.toordinal()


class EditionMatcher:
    """Finds the edition live at a path on a day: live at any moment of the day, newest first.

    The editions are held as arrays; a path with one edition (nearly all of them) is matched
    by a vectorised lookup, and only paths with several editions go through `by_path`.
    """

    def __init__(self, connection: Connection) -> None:
        rows = connection.execute(
            select(
                DimEdition.base_path,
                DimEdition.valid_from,
                DimEdition.valid_to,
                DimEdition.edition_key,
                DimEdition.page_id,
            ).order_by(DimEdition.valid_from)
        ).all()
        if rows:
            paths, valid_from, valid_to, edition_keys, page_ids = zip(*rows, strict=True)
        else:
            paths, valid_from, valid_to, edition_keys, page_ids = (), (), (), (), ()
        del rows
        start = _datetimes(valid_from)
        end = _datetimes(valid_to)  # None is NaT: still live
        open_ended = np.isnat(end)
        # Replaced the moment it arrived: never seen by a reader.
        seen = open_ended | (end > start)
        end_day = end.astype("datetime64[D]")
        at_midnight = end == end_day.astype("datetime64[us]")
        epoch = date(1970, 1, 1).toordinal()
        first = start.astype("datetime64[D]").astype(np.int64) + epoch
        last = end_day.astype(np.int64) + epoch - at_midnight.astype(np.int64)
        last[open_ended] = _NEVER
        keep = np.flatnonzero(seen)
        self._paths = np.array(paths, dtype=object)[keep]
        self._first = first[keep]
        self._last = last[keep]
        self._editions = np.array(edition_keys, dtype=np.int64)[keep]
        self._pages = np.array(page_ids, dtype=np.int64)[keep]
        self._index = pd.Index(self._paths, dtype=object)
        self._multi: dict[str, list[tuple[int, int, int, int]]] = {}
        if self._index.is_unique:  # the usual case: every path has one edition
            self._single = np.arange(len(self._paths), dtype=np.int64)
        else:
            codes, uniques = pd.factorize(self._paths)
            counts = np.bincount(codes, minlength=len(uniques))
            self._index = pd.Index(uniques, dtype=object)
            # For each distinct path: the one edition's position, or -1 when it has several.
            self._single = np.full(len(uniques), -1, dtype=np.int64)
            once = counts[codes] == 1
            self._single[codes[once]] = np.flatnonzero(once)
            for i in np.flatnonzero(~once).tolist():
                self._multi.setdefault(self._paths[i], []).append(self._entry(i))
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
            for i, path in enumerate(self._paths.tolist()):
                by_path.setdefault(path, []).append(self._entry(i))
            self._by_path = by_path
        return self._by_path

    def match(
        self, days: Sequence[int] | np.ndarray, paths: Sequence[str] | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Edition keys and page ids per row (day ordinals, normalised paths); -1 for no match."""
        if len(days) != len(paths):
            raise ValueError("days and paths differ in length")
        editions = np.full(len(paths), -1, dtype=np.int64)
        pages = np.full(len(paths), -1, dtype=np.int64)
        if not len(paths) or not len(self._index):
            return editions, pages
        day = np.asarray(days, dtype=np.int64)
        wanted = np.asarray(paths, dtype=object)
        found = self._index.get_indexer(wanted)
        known = found >= 0
        single = np.full(len(paths), -1, dtype=np.int64)
        single[known] = self._single[found[known]]
        one = single >= 0
        rows = np.flatnonzero(one)
        at = single[rows]
        live = (self._first[at] <= day[rows]) & (day[rows] <= self._last[at])
        rows, at = rows[live], at[live]
        editions[rows] = self._editions[at]
        pages[rows] = self._pages[at]
        # Paths with several editions: the newest live that day wins.
        multi = self._multi
        for i in np.flatnonzero(known & ~one).tolist():
            d = int(day[i])
            for first, last, edition_key, page_id in reversed(multi[wanted[i]]):
                if first <= d <= last:
                    editions[i] = edition_key
                    pages[i] = page_id
                    break
        return editions, pages


def _datetimes(values: Sequence[datetime | None]) -> np.ndarray:
    """Naive datetimes (None for none) as datetime64[us] (NaT for none), without a Python loop."""
    if not len(values):
        return np.array([], dtype="datetime64[us]")
    return pd.to_datetime(pd.Series(values, dtype=object)).to_numpy().astype("datetime64[us]")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while hundreds of thousands of rows are in memory.

    The load makes no reference cycles worth collecting, but the collector's full passes over
    the millions of live objects (paths, rows, tuples) took a third of a large load's time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_daily(engine: Engine, rows: DailyRows, *, skip_if_loaded: bool = True) -> BatchResult:
    """Load one read daily CSV as one batch, replacing its source's figures for its dates."""
    with _gc_paused():
        return _load_daily(engine, rows, skip_if_loaded=skip_if_loaded)


def _load_daily(engine: Engine, rows: DailyRows, *, skip_if_loaded: bool) -> BatchResult:
    result = BatchResult(
        rows.source, str(rows.path), rows_read=rows.rows_read, is_generated=is_generated(rows.path)
    )

    def work(connection: Connection, batch_id: int) -> None:
        result.rows_rejected = insert_rejects(connection, batch_id, str(rows.path), rows.rejects)
        if rows.frame.empty:
            return
        first, last = rows.date_from, rows.date_to
        ensure_dates(connection, date_range(first, last))
        frame = rows.frame
        ordinals = (
            frame["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
            + date(1970, 1, 1).toordinal()
        )
        editions, pages = EditionMatcher(connection).match(
            ordinals, frame["path"].to_numpy(dtype=object)
        )
        keys = _date_keys(ordinals)
        matched = editions >= 0
        span = (date_key(first), date_key(last))
        if rows.source == "analytics":
            _replace_analytics(connection, batch_id, span, keys, editions, pages, matched, rows)
        else:
            _replace_feedback(connection, batch_id, span, keys, editions, pages, matched, rows)
        _replace_unmatched(connection, batch_id, span, keys, ~matched, rows)
        result.rows_unmatched = int((~matched).sum())
        result.rows_loaded = len(frame)

    return run_batch(
        engine,
        result,
        rows.sha256,
        work,
        date_from=rows.date_from,
        date_to=rows.date_to,
        skip_if_loaded=skip_if_loaded,
    )


def _date_keys(ordinals: np.ndarray) -> np.ndarray:
    if not len(ordinals):
        return ordinals
    days, where = np.unique(ordinals, return_inverse=True)
    keys = np.array([date_key(date.fromordinal(int(o))) for o in days], dtype=np.int64)
    return keys[where.reshape(-1)]


def _metric_lists(rows: DailyRows, mask: np.ndarray, order: np.ndarray) -> dict[str, list[int]]:
    """Each of the ten metrics for the masked rows in `order`: zeros for the other source's."""
    count = int(mask.sum())
    out = {}
    for name in DAILY_METRICS:
        if name in rows.metrics:
            out[name] = rows.frame[name].to_numpy()[mask][order].tolist()
        else:
            out[name] = [0] * count
    return out


def _replace_analytics(
    connection: Connection,
    batch_id: int,
    span: tuple[int, int],
    keys: np.ndarray,
    editions: np.ndarray,
    pages: np.ndarray,
    matched: np.ndarray,
    rows: DailyRows,
) -> None:
    in_span = FactPageDaily.date_key.between(*span)
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
            ).where(in_span, FactPageDaily.feedex_batch_id.is_not(None))
        )
    }
    connection.execute(delete(FactPageDaily).where(in_span))
    k, e, p = keys[matched], editions[matched], pages[matched]
    order = np.lexsort((e, k))
    k, e, p = k[order].tolist(), e[order].tolist(), p[order].tolist()
    metrics = _metric_lists(rows, matched, order)
    feedex = metrics["feedex"]
    feedex_batch: list[int | None] = [None] * len(k)
    if kept:
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
    bulk_insert(connection, FactPageDaily.__tablename__, FACT_COLUMNS, zip(*columns, strict=True))
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
        bulk_insert(connection, FactPageDaily.__tablename__, FACT_COLUMNS, leftovers)


def _replace_feedback(
    connection: Connection,
    batch_id: int,
    span: tuple[int, int],
    keys: np.ndarray,
    editions: np.ndarray,
    pages: np.ndarray,
    matched: np.ndarray,
    rows: DailyRows,
) -> None:
    in_span = FactPageDaily.date_key.between(*span)
    connection.execute(
        update(FactPageDaily)
        .where(in_span, FactPageDaily.feedex_batch_id.is_not(None))
        .values(feedex=0, feedex_batch_id=None)
    )
    # Rows that only existed to hold feedback go; analytics rows stay.
    connection.execute(delete(FactPageDaily).where(in_span, FactPageDaily.batch_id.is_(None)))
    existing = set(
        connection.execute(
            select(FactPageDaily.date_key, FactPageDaily.edition_key).where(in_span)
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
    span: tuple[int, int],
    keys: np.ndarray,
    unmatched: np.ndarray,
    rows: DailyRows,
) -> None:
    connection.execute(
        delete(FactUnmatchedDaily).where(
            FactUnmatchedDaily.date_key.between(*span), FactUnmatchedDaily.source == rows.source
        )
    )
    if not unmatched.any():
        return
    order = np.arange(int(unmatched.sum()))
    metrics = _metric_lists(rows, unmatched, order)
    k = keys[unmatched].tolist()
    paths = rows.frame["path"].to_numpy()[unmatched].tolist()
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


def day_after(day: date) -> date:
    """The next day."""
    return day + timedelta(days=1)
