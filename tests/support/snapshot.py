"""A comparable picture of a whole warehouse: row counts, sums and a hash of every table."""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine, func, select

from govuk_kpi.warehouse.models import Base

# Columns that differ between two identical loads only by when or where they ran.
VOLATILE = {"started_at", "finished_at", "refreshed_at", "uri", "code_version"}


def table_digest(engine: Engine, table_name: str, *, ignore: set[str] = VOLATILE) -> str:
    """SHA-256 over a table's rows in primary-key order, leaving out volatile columns."""
    table = Base.metadata.tables[table_name]
    columns = [c for c in table.columns if c.name not in ignore]
    order = list(table.primary_key.columns) or columns
    digest = hashlib.sha256()
    with engine.connect() as connection:
        for row in connection.execute(select(*columns).order_by(*order)):
            digest.update(repr(tuple(_plain(v) for v in row)).encode())
    return digest.hexdigest()


def _plain(value: object) -> object:
    # The two backends return floats and Decimals differently for the same stored number.
    if isinstance(value, float):
        return round(value, 6)
    return value


def snapshot(engine: Engine, *, ignore: set[str] = VOLATILE) -> dict[str, str]:
    """Every table's digest."""
    return {name: table_digest(engine, name, ignore=ignore) for name in Base.metadata.tables}


def counts(engine: Engine) -> dict[str, int]:
    """Rows per table."""
    with engine.connect() as connection:
        return {
            name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in Base.metadata.tables.items()
        }
