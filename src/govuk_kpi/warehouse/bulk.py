"""Bulk inserts by the fastest path each backend has: executemany on SQLite, COPY on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from sqlalchemy import Connection

Constant = int | None
BulkInsert = Callable[
    [Connection, str, Sequence[str], Iterable[Sequence[object]], Mapping[str, Constant]], None
]


def _literal(value: Constant) -> str:
    if value is None:
        return "NULL"
    if type(value) is not int:  # not bool, not a subclass: its text must be a plain number
        raise TypeError(f"a constant column takes an int or None, not {value!r}")
    return str(value)


def _sqlite_executemany(
    connection: Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    constants: Mapping[str, Constant],
) -> None:
    # Constant columns are literals in the statement: fewer parameters to bind on every row.
    marks = ", ".join(["?"] * len(columns) + [_literal(v) for v in constants.values()])
    sql = f"INSERT INTO {table} ({', '.join([*columns, *constants])}) VALUES ({marks})"
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def _postgresql_copy(
    connection: Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    constants: Mapping[str, Constant],
) -> None:
    sql = f"COPY {table} ({', '.join([*columns, *constants])}) FROM STDIN"
    values = tuple(constants.values())
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
        if values:
            for row in rows:
                copy.write_row((*row, *values))
        else:
            for row in rows:
                copy.write_row(row)


BACKENDS: dict[str, BulkInsert] = {"sqlite": _sqlite_executemany, "postgresql": _postgresql_copy}


def bulk_insert(
    connection: Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    constants: Mapping[str, Constant] | None = None,
) -> None:
    """Insert `rows` (tuples in `columns` order) into `table` inside the connection's transaction.

    `constants` are further columns with the same value (an int or None) on every row.
    Table and column names come from the schema, never from input.
    """
    BACKENDS[connection.dialect.name](connection, table, columns, rows, constants or {})
