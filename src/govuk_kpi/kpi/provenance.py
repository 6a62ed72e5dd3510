"""Where the figures come from: load batches, the days they replaced, rejected rows, the data's
fingerprint (report builds skip unchanged inputs) and its freshness (every API ETag and
Last-Modified is made from it).

These read `load_batch`, `load_batch_day` and `load_reject`; the loaders in
`govuk_kpi.warehouse` write them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Connection, Row, String, cast, func, or_, select

from govuk_kpi.warehouse.models import LoadBatch, LoadBatchDay, LoadReject

if TYPE_CHECKING:
    from govuk_kpi.kpi.frames import AnySelect

DAILY_SOURCES = ("analytics", "feedback")


def usage_is_generated(connection: Connection) -> bool:
    """True when any loaded usage (analytics or feedback) is generated sample data."""
    return bool(
        connection.execute(
            select(func.count()).where(
                LoadBatch.source.in_(DAILY_SOURCES),
                LoadBatch.status == "loaded",
                LoadBatch.is_generated,
            )
        ).scalar_one()
    )


def _frame(connection: Connection, query: AnySelect) -> pd.DataFrame:
    from govuk_kpi.kpi.frames import frame

    return frame(connection, query)


def batches(connection: Connection, limit: int = 50) -> pd.DataFrame:
    """The newest load batches: what was loaded, from where, with which hash and counts."""
    columns = [
        getattr(LoadBatch, name)
        for name in (
            "batch_id",
            "source",
            "status",
            "uri",
            "sha256",
            "code_version",
            "date_from",
            "date_to",
            "rows_read",
            "rows_loaded",
            "rows_rejected",
            "rows_unmatched",
            "rows_new",
            "rows_changed",
            "rows_unchanged",
            "rows_collapsed",
            "started_at",
            "finished_at",
        )
    ]
    query = (
        select(*columns, cast(LoadBatch.message, String).label("message"))
        .order_by(LoadBatch.batch_id.desc())
        .limit(limit)
    )
    return _frame(connection, query)


def batch_days(connection: Connection, batch_ids: Sequence[int]) -> pd.DataFrame:
    """Per day a daily load replaced: its source's rows deleted and added, by batch."""
    if not batch_ids:
        return pd.DataFrame(columns=["batch_id", "date_key", "rows_deleted", "rows_added"])
    query = (
        select(
            LoadBatchDay.batch_id,
            LoadBatchDay.date_key,
            LoadBatchDay.rows_deleted,
            LoadBatchDay.rows_added,
        )
        .where(LoadBatchDay.batch_id.in_(batch_ids))
        .order_by(LoadBatchDay.batch_id, LoadBatchDay.date_key)
    )
    return _frame(connection, query)


def source_batches(connection: Connection, first: date, last: date) -> pd.DataFrame:
    """The load batches that figures over `first`..`last` come from: every loaded daily
    batch (analytics, feedback) whose days overlap the span, and every loaded content
    and organisations batch (the dimensions), oldest first."""
    daily = LoadBatch.source.in_(DAILY_SOURCES)
    query = (
        select(
            LoadBatch.batch_id,
            LoadBatch.source,
            LoadBatch.uri,
            LoadBatch.sha256,
            LoadBatch.date_from,
            LoadBatch.date_to,
            LoadBatch.is_generated,
        )
        .where(
            LoadBatch.status == "loaded",
            or_(~daily, (LoadBatch.date_from <= last) & (LoadBatch.date_to >= first)),
        )
        .order_by(LoadBatch.batch_id)
    )
    return _frame(connection, query)


def daily_batch_inputs(
    connection: Connection, first: date, last: date
) -> Sequence[Row[str, str, date | None, date | None]]:
    """(source, sha256, date_from, date_to) of every loaded daily batch overlapping
    `first`..`last`, oldest first: the inputs a report over those days depends on."""
    return connection.execute(
        select(LoadBatch.source, LoadBatch.sha256, LoadBatch.date_from, LoadBatch.date_to)
        .where(
            LoadBatch.status == "loaded",
            LoadBatch.source.in_(DAILY_SOURCES),
            LoadBatch.date_from <= last,
            LoadBatch.date_to >= first,
        )
        .order_by(LoadBatch.batch_id)
    ).all()


def data_fingerprint(connection: Connection) -> dict[str, Any]:
    """What the warehouse's data is now: the newest loaded batch id, how many batches are
    loaded, and a SHA-256 over every loaded batch's id, source and input hash. It changes
    whenever a load adds or replaces data, so report builds can skip unchanged inputs."""
    rows = connection.execute(
        select(LoadBatch.batch_id, LoadBatch.source, LoadBatch.sha256)
        .where(LoadBatch.status == "loaded")
        .order_by(LoadBatch.batch_id)
    ).all()
    digest = hashlib.sha256()
    for batch_id, source, sha256 in rows:
        digest.update(f"{batch_id}\t{source}\t{sha256}\n".encode())
    return {
        "newest_batch_id": rows[-1][0] if rows else None,
        "batches": len(rows),
        "sha256": digest.hexdigest(),
    }


def freshness(connection: Connection) -> tuple[int | None, datetime | None]:
    """The newest load batch's id and when it finished (or, unfinished, started): what every
    API ETag and Last-Modified is made from."""
    batch_id, finished, started = connection.execute(
        select(
            func.max(LoadBatch.batch_id),
            func.max(LoadBatch.finished_at),
            func.max(LoadBatch.started_at),
        )
    ).one()
    newest = finished or started
    if isinstance(newest, str):  # pragma: no cover - SQLite aggregates may return text
        newest = datetime.fromisoformat(newest)
    return batch_id, newest


def rejects(
    connection: Connection, batch_id: int | None = None, limit: int = 50
) -> Sequence[Row[*tuple[Any, ...]]]:
    """The newest rejected rows (of one batch, or of all), with their reasons: rows with
    `batch_id`, `source_file`, `row_number` and `reason`."""
    query = select(LoadReject).order_by(LoadReject.reject_id.desc()).limit(limit)
    if batch_id is not None:
        query = query.where(LoadReject.batch_id == batch_id)
    return connection.execute(query).all()
