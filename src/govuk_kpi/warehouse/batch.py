"""Load batches: every load is one transaction, recorded with its source, hash, code and counts.

A batch's rows, its rejects and its `load_batch` row commit together or not at all, so a
failure or a killed process leaves the warehouse as it was. A failure is then recorded on
its own, as a `failed` batch with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update
from sqlalchemy.exc import OperationalError

from govuk_kpi.core.errors import as_input_error
from govuk_kpi.core.text import one_line, visible_control
from govuk_kpi.core.version import code_version
from govuk_kpi.sources.records import Reject
from govuk_kpi.sources.registry import DAILY_BATCH_SOURCES
from govuk_kpi.warehouse.calendar import date_key
from govuk_kpi.warehouse.db import write_transaction
from govuk_kpi.warehouse.models import LoadBatch, LoadBatchDay, LoadReject


@dataclass(frozen=True)
class DayChange:
    """What a daily load did (or, dry, would do) to one day: its source's rows out and in."""

    day: date
    rows_deleted: int
    rows_added: int


@dataclass(frozen=True)
class ItemOutcomes:
    """What a content load did with the items it read (rejected ones aside)."""

    new: int = 0  # a page first seen
    changed: int = 0  # a new edition of a page
    unchanged: int = 0  # nothing a reader would notice, or older than the edition held
    collapsed: int = 0  # a record replaced by a later one of the same item in the input

    def describe(self) -> str:
        return (
            f"{self.new} new, {self.changed} changed, {self.unchanged} unchanged, "
            f"{self.collapsed} collapsed"
        )

    def columns(self) -> dict[str, int]:
        """The `load_batch` columns that keep them."""
        return {
            "rows_new": self.new,
            "rows_changed": self.changed,
            "rows_unchanged": self.unchanged,
            "rows_collapsed": self.collapsed,
        }


@dataclass
class BatchResult:
    """What a load did. `skipped_as` names the earlier batch when the input was already loaded."""

    source: str
    uri: str
    batch_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_unmatched: int = 0
    outcomes: ItemOutcomes | None = None  # content loads: what became of the items
    skipped_as: int | None = None
    is_generated: bool = False
    notes: list[str] = field(default_factory=list)
    days: list[DayChange] = field(default_factory=list)  # daily loads: the days replaced
    dry_run: bool = False  # nothing was written: the counts say what a load would do

    def day_summary(self) -> str:
        """The days replaced, each with its rows deleted and added."""
        return describe_days(self.days)

    def summary(self) -> str:
        """One line for the command line."""
        if self.skipped_as is not None:
            return (
                f"{self.source} {self.uri}: unchanged since batch {self.skipped_as}; nothing loaded"
            )
        text = (
            f"{self.source} batch {self.batch_id}: {self.rows_read} read, "
            f"{self.rows_loaded} loaded, {self.rows_rejected} rejected"
        )
        if self.outcomes is not None:
            text += f" ({self.outcomes.describe()})"
        if self.source in DAILY_BATCH_SOURCES:
            text += f", {self.rows_unmatched} unmatched; replaced {self.day_summary()}"
        if self.dry_run:
            text = f"dry run, nothing written: {self.source} {self.uri}: " + text.split(": ", 1)[1]
        return text


def describe_days(changes: Sequence[DayChange]) -> str:
    """Days as `DAY -deleted +added`, or their count, span and totals past three days."""
    if not changes:
        return "no day replaced"
    if len(changes) <= 3:
        return "; ".join(f"{c.day.isoformat()} -{c.rows_deleted} +{c.rows_added}" for c in changes)
    deleted = sum(c.rows_deleted for c in changes)
    added = sum(c.rows_added for c in changes)
    first, last = changes[0].day.isoformat(), changes[-1].day.isoformat()
    return f"{len(changes)} days {first}..{last} -{deleted} +{added}"


class DryRun(Exception):
    """Raised by a batch's work once its counts are known, to roll everything back."""


class NothingChanged(Exception):
    """Raised by a batch's work when the input only repeats what an earlier batch loaded."""

    def __init__(self, earlier_batch: int) -> None:
        super().__init__(f"unchanged since batch {earlier_batch}")
        self.earlier_batch = earlier_batch


def earlier_identical(connection: Connection, source: str, sha256: str) -> int | None:
    """The newest successful batch of `source` that loaded an input with this hash."""
    return connection.execute(
        select(func.max(LoadBatch.batch_id)).where(
            LoadBatch.source == source, LoadBatch.sha256 == sha256, LoadBatch.status == "loaded"
        )
    ).scalar()


def utcnow() -> datetime:
    """Now, as the naive UTC timestamp the schema stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def already_loaded(
    connection: Connection, source: str, sha256: str, date_from: date | None, date_to: date | None
) -> int | None:
    """The batch id that already holds exactly this input, or None.

    Only the newest successful batch of the source that overlaps the same dates counts: an
    input loaded long ago and since replaced by another must load again.
    """
    query = select(
        LoadBatch.batch_id, LoadBatch.sha256, LoadBatch.date_from, LoadBatch.date_to
    ).where(LoadBatch.source == source, LoadBatch.status == "loaded")
    if date_from is not None and date_to is not None:
        query = query.where(
            or_(
                LoadBatch.date_from.is_(None),
                and_(LoadBatch.date_from <= date_to, LoadBatch.date_to >= date_from),
            )
        )
    newest = connection.execute(query.order_by(LoadBatch.batch_id.desc()).limit(1)).first()
    if newest is None or newest.sha256 != sha256:
        return None
    if (newest.date_from, newest.date_to) != (date_from, date_to):
        return None
    return newest.batch_id


def run_batch(
    engine: Engine,
    result: BatchResult,
    sha256: str,
    work: Callable[[Connection, int], None],
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    skip_if_loaded: bool = True,
) -> BatchResult:
    """Run `work(connection, batch_id)` as one recorded batch, all or nothing.

    `work` fills in `result`'s counts. On any exception the transaction rolls back, a
    `failed` batch is recorded with the message, and the exception propagates.
    """
    started = utcnow()
    try:
        with write_transaction(engine) as connection:
            if skip_if_loaded:
                earlier = already_loaded(connection, result.source, sha256, date_from, date_to)
                if earlier is not None:
                    result.skipped_as = earlier
                    return result
            batch_id = connection.execute(
                insert(LoadBatch).returning(LoadBatch.batch_id),
                [_batch_row(result, sha256, started, date_from, date_to, "loading")],
            ).scalar_one()
            result.batch_id = batch_id
            work(connection, batch_id)
            if result.dry_run:
                raise DryRun
            _finish(connection, result, batch_id)
        return result
    except DryRun:
        # The transaction rolled back: a dry run leaves no trace, not even a batch id.
        result.batch_id = None
        return result
    except NothingChanged as unchanged:
        # The transaction rolled back: a repeat of an earlier input leaves no trace at all.
        result.batch_id = None
        result.skipped_as = unchanged.earlier_batch
        return result
    except OperationalError as exc:
        # The database itself failed (down, locked, disk full): said as the driver says it.
        result.batch_id = None
        _record_failure(engine, result, sha256, started, date_from, date_to, exc)
        raise
    except Exception as exc:
        # Anything else is about this input: one line naming it, recorded as said.
        result.batch_id = None
        error = as_input_error(result.uri, exc)
        _record_failure(engine, result, sha256, started, date_from, date_to, error)
        if error is exc:
            raise
        raise error from exc


def _finish(connection: Connection, result: BatchResult, batch_id: int) -> None:
    """Record a batch's days and counts, and mark it loaded."""
    if result.days:
        connection.execute(
            insert(LoadBatchDay),
            [
                {
                    "batch_id": batch_id,
                    "date_key": date_key(c.day),
                    "rows_deleted": c.rows_deleted,
                    "rows_added": c.rows_added,
                }
                for c in result.days
            ],
        )
    connection.execute(
        update(LoadBatch)
        .where(LoadBatch.batch_id == batch_id)
        .values(
            rows_read=result.rows_read,
            rows_loaded=result.rows_loaded,
            rows_rejected=result.rows_rejected,
            rows_unmatched=result.rows_unmatched,
            **(result.outcomes.columns() if result.outcomes else {}),
            status="loaded",
            finished_at=utcnow(),
            message="; ".join(result.notes) or None,
        )
    )


def _batch_row(
    result: BatchResult,
    sha256: str,
    started: datetime,
    date_from: date | None,
    date_to: date | None,
    status: str,
) -> dict:
    return {
        "source": result.source,
        "uri": result.uri,
        "sha256": sha256,
        "code_version": code_version(),
        "date_from": date_from,
        "date_to": date_to,
        "rows_read": result.rows_read,
        "rows_loaded": 0,
        "rows_rejected": 0,
        "rows_unmatched": 0,
        "started_at": started,
        "status": status,
        "is_generated": result.is_generated,
    }


def record_failure(engine: Engine, result: BatchResult, sha256: str, exc: Exception) -> None:
    """Record an input that failed before its batch could start (unreadable, malformed)."""
    _record_failure(engine, result, sha256, utcnow(), None, None, exc)


def _record_failure(
    engine: Engine,
    result: BatchResult,
    sha256: str,
    started: datetime,
    date_from: date | None,
    date_to: date | None,
    exc: Exception,
) -> None:
    row = _batch_row(result, sha256, started, date_from, date_to, "failed")
    row.update(finished_at=utcnow(), message=one_line(str(exc))[:2000])
    try:
        with engine.begin() as connection:
            connection.execute(insert(LoadBatch), [row])
    except Exception:
        pass


def insert_rejects(
    connection: Connection, batch_id: int, source_file: str, rejects: Iterable[Reject]
) -> int:
    """Keep rejected rows with their reason and raw line; returns how many."""
    rows = [
        {
            "batch_id": batch_id,
            "source_file": visible_control(r.source_file or source_file),
            "row_number": r.row,
            "reason": visible_control(r.reason),
            "raw_line": None if r.raw_line is None else visible_control(r.raw_line),
        }
        for r in rejects
    ]
    if rows:
        connection.execute(insert(LoadReject), rows)
    return len(rows)
