"""Bulk inserts by the fastest path each backend has: executemany on SQLite (many rows to a
statement for columns of integers), COPY on PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
from sqlalchemy import Connection

Constant = int | None
Columns = Sequence[str]
Rows = Iterable[Sequence[object]]
Constants = Mapping[str, Constant]
Arrays = Sequence[np.ndarray]
BulkInsert = Callable[[Connection, str, Columns, Rows, Constants], None]
BulkInsertArrays = Callable[[Connection, str, Columns, Arrays, np.ndarray, Constants], None]


def _literal(value: Constant) -> str:
    if value is None:
        return "NULL"
    if type(value) is not int:  # not bool, not a subclass: its text must be a plain number
        raise TypeError(f"a constant column takes an int or None, not {value!r}")
    return str(value)


def _sqlite_executemany(
    connection: Connection, table: str, columns: Columns, rows: Rows, constants: Constants
) -> None:
    # Constant columns are literals in the statement: fewer parameters to bind on every row.
    marks = ", ".join(["?"] * len(columns) + [_literal(v) for v in constants.values()])
    sql = f"INSERT INTO {table} ({', '.join([*columns, *constants])}) VALUES ({marks})"
    dbapi = connection.connection.driver_connection
    assert dbapi is not None  # an open connection has its driver's
    cursor = dbapi.cursor()
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def _postgresql_copy(
    connection: Connection, table: str, columns: Columns, rows: Rows, constants: Constants
) -> None:
    sql = f"COPY {table} ({', '.join([*columns, *constants])}) FROM STDIN"
    values = tuple(constants.values())
    dbapi = connection.connection.driver_connection
    assert dbapi is not None  # an open connection has its driver's
    with dbapi.cursor() as cursor, cursor.copy(sql) as copy:
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


def move_key_sequences(connection: Connection, keys: Mapping[str, str]) -> None:
    """After rows inserted with their keys given (table: key column): move each key's
    sequence past the largest, so later inserts that draw from it do not collide. PostgreSQL
    only; SQLite's integer keys follow the largest by themselves."""
    if connection.dialect.name != "postgresql":
        return
    for table, key in keys.items():
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{key}'),"
            f" (SELECT max({key}) FROM {table}))"
        )


# SQLite: rows go in several to a statement (`INSERT ... VALUES (...), (...), ...`). Each
# statement is bound and stepped once from Python, so per row the driver does a fraction of
# the work of one `executemany` row; this about halves the insert of a day's facts.
_SQLITE_ROWS_PER_STATEMENT = 100
# Rows are gathered from the arrays this many statements at a time, so the Python lists of
# parameters stay small and their memory is used again.
_STATEMENTS_PER_BLOCK = 64


def _sqlite_arrays(
    connection: Connection, table: str, columns: Columns, arrays: Arrays, at: np.ndarray,
    constants: Constants,
) -> None:  # fmt: skip
    dbapi = connection.connection.driver_connection
    assert dbapi is not None  # an open connection has its driver's
    width = len(columns)
    limit = dbapi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per = max(1, min(_SQLITE_ROWS_PER_STATEMENT, limit // max(width, 1)))
    row = "(" + ", ".join(["?"] * width + [_literal(v) for v in constants.values()]) + ")"
    head = f"INSERT INTO {table} ({', '.join([*columns, *constants])}) VALUES "
    whole = len(at) - len(at) % per
    cursor = dbapi.cursor()
    try:
        if whole:
            sql = head + ", ".join([row] * per)
            cursor.executemany(sql, _parameter_lists(arrays, at[:whole], per))
        if whole < len(at):
            rest = len(at) - whole
            cursor.execute(
                head + ", ".join([row] * rest), next(_parameter_lists(arrays, at[whole:], rest))
            )
    finally:
        cursor.close()


def _parameter_lists(arrays: Sequence[np.ndarray], at: np.ndarray, per: int) -> Iterator[list[int]]:
    """The parameters of `per` rows at a time, row after row: the rows at positions `at`."""
    step = per * _STATEMENTS_PER_BLOCK
    block = np.empty((min(step, len(at)), len(arrays)), dtype=np.int64)
    for start in range(0, len(at), step):
        rows = at[start : start + step]
        part = block[: len(rows)]
        for i, array in enumerate(arrays):
            part[:, i] = array[rows]
        values = part.ravel().tolist()
        size = per * len(arrays)
        for offset in range(0, len(values), size):
            yield values[offset : offset + size]


def _postgresql_arrays(
    connection: Connection, table: str, columns: Columns, arrays: Arrays, at: np.ndarray,
    constants: Constants,
) -> None:  # fmt: skip
    step = 65_536

    def rows() -> Iterator[tuple[int, ...]]:
        for start in range(0, len(at), step):
            some = at[start : start + step]
            yield from zip(*(array[some].tolist() for array in arrays), strict=True)

    _postgresql_copy(connection, table, columns, rows(), constants)


ARRAY_BACKENDS: dict[str, BulkInsertArrays] = {
    "sqlite": _sqlite_arrays,
    "postgresql": _postgresql_arrays,
}


def bulk_insert_arrays(
    connection: Connection,
    table: str,
    columns: Sequence[str],
    arrays: Sequence[np.ndarray],
    at: np.ndarray | None = None,
    constants: Mapping[str, Constant] | None = None,
) -> None:
    """Insert rows of integers given as one array per column, as `bulk_insert` does.

    Row i has element i of each array in `columns` order; with `at`, only the rows at those
    positions, in that order. `constants` as for `bulk_insert`.
    """
    if any(len(array) != len(arrays[0]) for array in arrays):
        raise ValueError("the arrays differ in length")
    if at is None:
        at = np.arange(len(arrays[0]) if arrays else 0)
    if not len(at):
        return
    ARRAY_BACKENDS[connection.dialect.name](
        connection, table, columns, arrays, np.asarray(at), constants or {}
    )
