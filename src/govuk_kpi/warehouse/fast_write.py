"""Generated data written straight into the tables, by the fastest path each backend has.

The one writer for builds that make a whole warehouse at once (`sample/scale.py`, the
benchmarks): their batches (generated, hashed from what made them), the content rows with
their keys given, and the daily facts day by day, with the page index dropped and built
again after, the foreign key checks suspended on PostgreSQL and the rows sent there by
binary `COPY ... FREEZE` from numpy columns; then ANALYZE.

What makes a new edition (its reader hash) is `load_content.reader_hash`'s to say: the
callers compute it there, this module only writes the rows.
"""

from __future__ import annotations

import contextlib
import hashlib
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy import BigInteger, Connection, Engine, FromClause, func, insert, select, update

from govuk_kpi.core.errors import ConfigError
from govuk_kpi.core.metrics import DAILY_METRICS
from govuk_kpi.warehouse.batch import BatchResult, _batch_row, utcnow
from govuk_kpi.warehouse.bulk import bulk_insert, move_key_sequences
from govuk_kpi.warehouse.db import write_transaction
from govuk_kpi.warehouse.models import DimOrganisation, DimPage, FactPageDaily, LoadBatch

# --------------------------------------------------------------------------- batches


def open_generated_batch(
    connection: Connection,
    source: str,
    uri: str,
    date_from: date | None = None,
    date_to: date | None = None,
) -> int:
    """Start a `loading` batch of generated data; returns its id.

    The input is the generator and its arguments (`uri`): its hash is of those.
    """
    sha256 = hashlib.sha256(f"{uri}&source={source}".encode()).hexdigest()
    row = _batch_row(
        BatchResult(source, uri, is_generated=True), sha256, utcnow(), date_from, date_to, "loading"
    )
    return connection.execute(insert(LoadBatch).returning(LoadBatch.batch_id), [row]).scalar_one()


def close_generated_batch(
    connection: Connection, batch_id: int, rows: int, status: str = "loaded", message: str = ""
) -> None:
    """Finish a batch `open_generated_batch` started: its rows read (and loaded, if loaded)."""
    connection.execute(
        update(LoadBatch)
        .where(LoadBatch.batch_id == batch_id)
        .values(
            rows_read=rows,
            rows_loaded=rows if status == "loaded" else 0,
            status=status,
            finished_at=utcnow(),
            message=message or None,
        )
    )


def fail_generated_batches(engine: Engine, batch_ids: Iterable[int], exc: BaseException) -> None:
    """Mark the batches failed with the error, as far as the database lets us (never raises)."""
    with contextlib.suppress(Exception), write_transaction(engine) as connection:
        for batch_id in batch_ids:
            message = str(exc)[:2000] or type(exc).__name__
            close_generated_batch(connection, batch_id, 0, "failed", message)


# --------------------------------------------------------------------------- content


def page_count(connection: Connection) -> int:
    """Pages the warehouse holds (a build into an empty warehouse checks there are none)."""
    return connection.execute(select(func.count()).select_from(DimPage)).scalar_one()


def organisation_rows(connection: Connection) -> list[tuple[int, str, str | None]]:
    """(organisation_key, content_id, slug) of every organisation, by key."""
    rows = connection.execute(
        select(
            DimOrganisation.organisation_key, DimOrganisation.content_id, DimOrganisation.slug
        ).order_by(DimOrganisation.organisation_key)
    ).all()
    return [(key, content_id, slug) for key, content_id, slug in rows]


ORGANISATION_COLUMNS = ("organisation_key", "content_id", "slug", "title", "status")


def write_organisations(
    connection: Connection, batch_id: int, organisations: Iterable[Sequence[object]]
) -> None:
    """Write organisations with their keys given (rows in `ORGANISATION_COLUMNS` order), in bulk.

    For generated warehouses with made-up organisations; real ones come from
    `load_organisations`.
    """
    bulk_insert(
        connection, "dim_organisation", ORGANISATION_COLUMNS, organisations, {"batch_id": batch_id}
    )
    move_key_sequences(connection, {"dim_organisation": "organisation_key"})


DOCUMENT_TYPE_COLUMNS = ("document_type_key", "name", "label")
PAGE_COLUMNS = ("page_id", "content_id", "locale")
EDITION_COLUMNS = (
    "edition_key", "page_id", "content_id", "locale", "base_path", "title", "description",
    "document_type_key", "schema_name", "publishing_app", "primary_organisation_key",
    "first_published_at", "public_updated_at", "withdrawn", "phase", "valid_from", "valid_to",
    "is_live", "is_latest", "reader_hash",
)  # fmt: skip
LINK_COLUMNS = ("edition_key", "organisation_key", "is_primary")
EDITION_METRIC_COLUMNS = (
    "edition_key", "words", "chars", "sentences", "readability", "pdf_count", "doc_count",
    "reading_time",
)  # fmt: skip


def write_content(
    connection: Connection,
    batch_id: int,
    *,
    document_types: Iterable[Sequence[object]],
    pages: Iterable[Sequence[object]],
    editions: Iterable[Sequence[object]],
    links: Iterable[Sequence[object]],
    metrics: Iterable[Sequence[object]],
) -> None:
    """Write content rows with their keys given, in bulk, then move the key sequences past them.

    Each argument is rows in the order of its columns: `DOCUMENT_TYPE_COLUMNS`,
    `PAGE_COLUMNS`, `EDITION_COLUMNS`, `LINK_COLUMNS` and `EDITION_METRIC_COLUMNS`; the
    editions and their metrics belong to `batch_id`. Rows may be generators: they are read
    once, in that order.
    """
    bulk_insert(connection, "dim_document_type", DOCUMENT_TYPE_COLUMNS, document_types)
    bulk_insert(connection, "dim_page", PAGE_COLUMNS, pages)
    bulk_insert(connection, "dim_edition", EDITION_COLUMNS, editions, {"batch_id": batch_id})
    bulk_insert(connection, "link_edition_organisation", LINK_COLUMNS, links)
    bulk_insert(
        connection,
        "fact_edition_metrics",
        EDITION_METRIC_COLUMNS,
        metrics,
        {"batch_id": batch_id},
    )
    move_key_sequences(
        connection,
        {
            "dim_document_type": "document_type_key",
            "dim_page": "page_id",
            "dim_edition": "edition_key",
        },
    )


# --------------------------------------------------------------------------- daily facts


@dataclass(frozen=True)
class FactDay:
    """One day's daily facts as columns, in edition key order.

    Attributes:
        date_key: The day (YYYYMMDD).
        edition_keys, page_ids: Per row.
        metrics: (len(DAILY_METRICS), rows), in `DAILY_METRICS` order.
        with_feedex: Per row, whether feedback was counted (the row then names the feedback
            batch too, as a feedback load's row would).
    """

    date_key: int
    edition_keys: np.ndarray
    page_ids: np.ndarray
    metrics: np.ndarray
    with_feedex: np.ndarray


FACT_INDEX = "ix_fact_page_daily_page_id"
# The varying columns of a fact row; batch_id and feedex_batch_id follow as constants.
FACT_COLUMNS = ("date_key", "edition_key", "page_id", *DAILY_METRICS)

SQLITE_COMMIT_ROWS = 2_000_000  # rows per transaction: bounds the write-ahead log
SQLITE_CHUNK_ROWS = 100_000  # rows per executemany: bounds the Python objects alive at once

DayDone = Callable[[FactDay], None]


def index_ddl(connection: Connection, name: str = FACT_INDEX) -> str:
    """The statement that made an index, as the database holds it."""
    if connection.dialect.name == "postgresql":
        sql = (
            "SELECT indexdef FROM pg_indexes WHERE indexname = %s AND schemaname = current_schema()"
        )
    else:
        sql = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?"
    ddl = connection.exec_driver_sql(sql, (name,)).scalar()
    if not ddl:
        raise ConfigError(f"index {name} is missing: is the schema migrated?")
    return str(ddl)


def drop_index(connection: Connection, name: str = FACT_INDEX) -> str:
    """Drop an index; returns the statement that builds it again."""
    ddl = index_ddl(connection, name)
    connection.exec_driver_sql(f"DROP INDEX {name}")
    return ddl


def write_fact_days(
    engine: Engine,
    days: Iterable[FactDay],
    analytics: int,
    feedback: int | None,
    done: DayDone = lambda _day: None,
) -> int:
    """Write every day's facts into an empty `fact_page_daily`; returns the rows written.

    Rows belong to the `analytics` batch, and those with feedback to the `feedback` batch
    too (None: no feedback batch, `feedex_batch_id` stays NULL). `done` is called after
    each day. Memory holds one day. On PostgreSQL all days are one transaction (a failure
    leaves the table as it was); SQLite commits every few million rows, so a failure keeps
    the days committed.
    """
    if engine.dialect.name == "postgresql":
        return _postgresql_fact_days(engine, iter(days), analytics, feedback, done)
    return _sqlite_fact_days(engine, iter(days), analytics, feedback, done)


def _sqlite_fact_days(
    engine: Engine, days: Iterator[FactDay], analytics: int, feedback: int | None, done: DayDone
) -> int:
    """Multi-row inserts in transactions of a few million rows, the page index rebuilt after."""
    with write_transaction(engine) as connection:
        ddl = drop_index(connection)
    rows = 0
    try:
        while True:
            with write_transaction(engine) as connection:
                written = 0
                for day in days:
                    _sqlite_day(connection, day, analytics, feedback)
                    written += len(day.page_ids)
                    done(day)
                    if written >= SQLITE_COMMIT_ROWS:
                        break
            rows += written
            if written < SQLITE_COMMIT_ROWS:
                break
    finally:
        with write_transaction(engine) as connection:
            connection.exec_driver_sql(ddl)
    return rows


def _sqlite_day(connection: Connection, day: FactDay, analytics: int, feedback: int | None) -> None:
    for counted in (False, True):
        rows = np.flatnonzero(day.with_feedex == counted)
        constants = {"batch_id": analytics, "feedex_batch_id": feedback if counted else None}
        for lo in range(0, len(rows), SQLITE_CHUNK_ROWS):
            at = rows[lo : lo + SQLITE_CHUNK_ROWS]
            columns = [
                [day.date_key] * len(at),
                day.edition_keys[at].tolist(),
                day.page_ids[at].tolist(),
                *day.metrics[:, at].tolist(),
            ]
            bulk_insert(
                connection, "fact_page_daily", FACT_COLUMNS, zip(*columns, strict=True), constants
            )


# --------------------------------------------------------------------------- binary COPY

PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
PGCOPY_TRAILER = struct.pack("!h", -1)

BinaryColumn = tuple[int, np.ndarray | int | None]  # (bytes, values)


def binary_sizes(table: FromClause) -> dict[str, int]:
    """Bytes of each integer column of `table` in COPY's binary format, from its types."""
    return {c.name: 8 if isinstance(c.type, BigInteger) else 4 for c in table.columns}


def binary_rows(columns: Sequence[BinaryColumn], count: int) -> np.ndarray:
    """`count` rows of COPY's binary format: per field its length then its big-endian value.

    Args:
        columns: (bytes, values) per column: an array, one int for every row, or None (NULL).
        count: Rows.

    Returns:
        The rows' bytes (uint8), to write between `PGCOPY_HEADER` and `PGCOPY_TRAILER`.
    """
    fields: list[tuple[str, str]] = [("fields", ">i2")]
    for i, (size, values) in enumerate(columns):
        fields.append((f"n{i}", ">i4"))
        if values is not None:
            fields.append((f"v{i}", f">i{size}"))
    rows = np.empty(count, dtype=fields)
    rows["fields"] = len(columns)
    for i, (size, values) in enumerate(columns):
        rows[f"n{i}"] = -1 if values is None else size
        if values is not None:
            rows[f"v{i}"] = values
    return rows.view(np.uint8)


def suspend_foreign_keys(connection: Connection, table: str) -> Callable[[], None]:
    """Spare a load into `table` its per-row foreign key checks; returns what puts them back.

    For rows that refer only to keys written first. A superuser's session skips the checks
    (its replication role); any other drops the table's constraints and adds them again
    after, as the database defines them, which checks all the rows in one pass per key.
    PostgreSQL only, inside a transaction.
    """
    if connection.exec_driver_sql("SELECT current_setting('is_superuser')").scalar() == "on":
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")

        def as_before() -> None:
            connection.exec_driver_sql("SET LOCAL session_replication_role = DEFAULT")

        return as_before
    keys = connection.exec_driver_sql(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
        (table,),
    ).all()
    for name, _definition in keys:
        connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')

    def restore() -> None:
        for name, definition in keys:
            connection.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')

    return restore


def _postgresql_fact_days(
    engine: Engine, days: Iterator[FactDay], analytics: int, feedback: int | None, done: DayDone
) -> int:
    """Binary COPY day by day, in one transaction: a failure leaves the table as it was.

    The page index is dropped first and built again after from the statement the migration
    made; the table is truncated in the same transaction so that COPY ... FREEZE writes its
    rows frozen and visible to all (no VACUUM needed after).
    """
    sizes = binary_sizes(FactPageDaily.__table__)
    names = [*FACT_COLUMNS, "batch_id", "feedex_batch_id"]
    sql = f"COPY fact_page_daily ({', '.join(names)}) FROM STDIN WITH (FORMAT binary, FREEZE true)"
    rows = 0
    with engine.connect() as connection, connection.begin():
        ddl = drop_index(connection)
        restore_checks = suspend_foreign_keys(connection, "fact_page_daily")
        connection.exec_driver_sql("TRUNCATE fact_page_daily")
        raw = connection.connection.driver_connection
        assert raw is not None  # an open connection has its driver's
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            copy.write(PGCOPY_HEADER)
            for day in days:
                for counted in (False, True):
                    at = np.flatnonzero(day.with_feedex == counted)
                    columns: list[BinaryColumn] = [
                        (sizes["date_key"], day.date_key),
                        (sizes["edition_key"], day.edition_keys[at]),
                        (sizes["page_id"], day.page_ids[at]),
                        *((sizes[m], day.metrics[k, at]) for k, m in enumerate(DAILY_METRICS)),
                        (sizes["batch_id"], analytics),
                        (sizes["feedex_batch_id"], feedback if counted else None),
                    ]
                    copy.write(binary_rows(columns, len(at)).data)
                rows += len(day.page_ids)
                done(day)
            copy.write(PGCOPY_TRAILER)
        restore_checks()
        # The server's memory, not ours: sorting 10^8 keys in memory is much faster.
        connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
        connection.exec_driver_sql(ddl)
    return rows


# --------------------------------------------------------------------------- statistics


def analyze(engine: Engine) -> None:
    """Statistics for the planner; on SQLite, fold the write-ahead log into the file.

    On PostgreSQL, VACUUM ANALYZE: it sets the visibility of tables not written frozen too.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        return
    with write_transaction(engine) as connection:
        connection.exec_driver_sql("ANALYZE")
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
