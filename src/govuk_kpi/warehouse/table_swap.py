"""Replace a PostgreSQL table whole: fill a bare copy, index it, then swap it in.

Rewriting most rows of an indexed table in place costs a random insert into every index per
row, and leaves as many dead rows behind for vacuum. Filling a bare copy and building its
indexes afterwards sorts once per index and leaves nothing behind. The copy takes its indexes
and constraints from the catalogue, so it is whatever the migrations made. Readers see the
old table until the transaction commits; they wait only from the swap to the commit.
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, MetaData, Table

_SUFFIX = "_next"
_MAX_NAME = 63  # NAMEDATALEN - 1


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def create_replacement(connection: Connection, table: Table) -> Table:
    """An empty copy of `table`'s columns (types, NOT NULL, defaults; nothing else)."""
    name = table.name + _SUFFIX
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {_quote(connection, name)}")
    connection.exec_driver_sql(
        f"CREATE TABLE {_quote(connection, name)}"
        f" (LIKE {_quote(connection, table.name)} INCLUDING DEFAULTS)"
    )
    return Table(name, MetaData(), *[Column(c.name, c.type) for c in table.columns])


def _constraints(connection: Connection, table: str) -> list[tuple[str, str, str]]:
    """(name, kind, definition) of the table's keys: p(rimary), u(nique), f(oreign)."""
    return [
        (row.conname, row.contype, row.definition)
        for row in connection.exec_driver_sql(
            "SELECT conname, contype, pg_get_constraintdef(oid) AS definition"
            " FROM pg_constraint WHERE conrelid = %(table)s::regclass"
            " AND contype IN ('p', 'u', 'f')"
            " ORDER BY conname",
            {"table": table},
        )
    ]


def _plain_indexes(connection: Connection, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the indexes that back no constraint."""
    return [
        (row.name, row.definition)
        for row in connection.exec_driver_sql(
            "SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition"
            " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = %(table)s::regclass AND NOT EXISTS"
            " (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
            " ORDER BY c.relname",
            {"table": table},
        )
    ]


def swap_in(connection: Connection, table: Table, replacement: Table) -> None:
    """Give `replacement` the indexes and constraints of `table`, then put it in its place."""
    old, new = _quote(connection, table.name), _quote(connection, replacement.name)
    constraints = _constraints(connection, table.name)
    indexes = _plain_indexes(connection, table.name)
    for name in [c[0] for c in constraints] + [i[0] for i in indexes]:
        if len((name + _SUFFIX).encode()) > _MAX_NAME:  # PostgreSQL would cut the copy's name
            raise ValueError(f"{name}: too long to swap ({_MAX_NAME - len(_SUFFIX)} bytes at most)")
    # Everything is built and checked (foreign keys too) before the original is dropped, so
    # readers wait only for the renames and the commit.
    for name, _, definition in constraints:
        temporary = _quote(connection, name + _SUFFIX)
        connection.exec_driver_sql(f"ALTER TABLE {new} ADD CONSTRAINT {temporary} {definition}")
    for name, definition in indexes:
        # pg_get_indexdef: CREATE [UNIQUE] INDEX name ON schema.table USING method (...) ...
        unique = "UNIQUE " if definition.startswith("CREATE UNIQUE ") else ""
        method = definition.split(" USING ", 1)[1]
        connection.exec_driver_sql(
            f"CREATE {unique}INDEX {_quote(connection, name + _SUFFIX)} ON {new} USING {method}"
        )
    connection.exec_driver_sql(f"ANALYZE {new}")  # a new table has no statistics for the planner
    connection.exec_driver_sql(f"DROP TABLE {old}")
    connection.exec_driver_sql(f"ALTER TABLE {new} RENAME TO {old}")
    for name, _, _ in constraints:
        connection.exec_driver_sql(
            f"ALTER TABLE {old} RENAME CONSTRAINT"
            f" {_quote(connection, name + _SUFFIX)} TO {_quote(connection, name)}"
        )
    for name, _ in indexes:
        connection.exec_driver_sql(
            f"ALTER INDEX {_quote(connection, name + _SUFFIX)} RENAME TO {_quote(connection, name)}"
        )
