"""Bulk inserts by the fastest path each backend has: executemany on SQLite, COPY on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import Connection

BulkInsert = Callable[[Connection, str, Sequence[str], Iterable[Sequence[object]]], None]


def _sqlite_executemany(
    connection: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def _postgresql_copy(
    connection: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


BACKENDS: dict[str, BulkInsert] = {"sqlite": _sqlite_executemany, "postgresql": _postgresql_copy}


def bulk_insert(
    connection: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    """Insert `rows` (tuples in `columns` order) into `table` inside the connection's transaction.

    Table and column names come from the schema, never from input.
    """
    BACKENDS[connection.dialect.name](connection, table, columns, rows)
