"""A table replaced whole on PostgreSQL keeps its schema, and its readers keep working.

The incremental refresh writes the rolling windows into a copy of `agg_page_window` and swaps
it in (`warehouse/table_swap.py`). Readers — the API, with statements psycopg has prepared —
must see the old rows or the new ones, never an error, and the table must come out exactly
as the migrations made it.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, insert, select

from govuk_kpi.warehouse.db import make_engine, upgrade
from govuk_kpi.warehouse.models import AggPageWindow
from govuk_kpi.warehouse.table_swap import create_replacement, swap_in
from support.postgres import PostgresCluster

METRICS = ("pviews", "upviews", "useful_yes", "useful_no", "searches", "feedex", "entrances")
METRICS += ("exits", "bounces", "page_time")


@pytest.fixture
def engine(postgres_cluster: PostgresCluster) -> Iterator[Engine]:
    name = f"t_{uuid.uuid4().hex}"
    url = postgres_cluster.create_database(name)
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO dim_page (page_id, content_id, locale)"
            " SELECT g, 'c' || g, 'en' FROM generate_series(1, 10) g"
        )
        conn.execute(insert(AggPageWindow), [_row("past-30-days", p, p) for p in range(1, 11)])
    try:
        yield engine
    finally:
        engine.dispose()
        postgres_cluster.drop_database(name)


def _row(window: str, page: int, views: int) -> dict:
    return {"window": window, "page_id": page, **dict.fromkeys(METRICS, views), "days": 1}


def catalogue(engine: Engine) -> dict:
    """What the migrations made of agg_page_window: columns, indexes and constraints."""
    with engine.connect() as conn:

        def rows(query: str) -> list[tuple]:
            return [tuple(r) for r in conn.exec_driver_sql(query)]

        return {
            "columns": rows(
                "SELECT column_name, data_type, is_nullable, column_default"
                " FROM information_schema.columns WHERE table_name = 'agg_page_window'"
                " ORDER BY ordinal_position"
            ),
            "indexes": rows(
                "SELECT indexname, indexdef FROM pg_indexes"
                " WHERE tablename = 'agg_page_window' ORDER BY indexname"
            ),
            "constraints": rows(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = 'agg_page_window'::regclass ORDER BY conname"
            ),
            "tables": rows(
                "SELECT tablename FROM pg_tables WHERE tablename LIKE 'agg_page_window%%'"
            ),
        }


def _libpq(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False).replace("+psycopg", "")


def test_the_swapped_table_is_the_migrated_table_with_the_new_rows(engine: Engine) -> None:
    before = catalogue(engine)
    table = AggPageWindow.__table__
    with engine.begin() as conn:
        replacement = create_replacement(conn, table)
        conn.execute(insert(replacement), [_row("past-year", p, 100 + p) for p in range(1, 6)])
        swap_in(conn, table, replacement)
    assert catalogue(engine) == before
    with engine.connect() as conn:
        rows = conn.execute(select(table.c.window, table.c.page_id, table.c.pviews)).all()
        assert sorted(rows) == [("past-year", p, 100 + p) for p in range(1, 6)]
        # The foreign key holds on the new table.
        with pytest.raises(Exception, match="fk_agg_page_window_page_id_dim_page"):
            conn.execute(insert(table), [_row("past-year", 99, 1)])


def test_a_reader_during_the_swap_waits_and_reads_the_new_rows(engine: Engine) -> None:
    table = AggPageWindow.__table__
    query = 'SELECT count(*), sum(pviews) FROM agg_page_window WHERE "window" = %s'
    with psycopg.connect(_libpq(engine), autocommit=True, prepare_threshold=0) as reader:
        # Prepared (threshold 0: from the first run), as the API's repeated queries are.
        assert reader.execute(query, ("past-30-days",)).fetchone() == (10, 55)
        answers: list = []
        with engine.connect() as conn:
            transaction = conn.begin()
            replacement = create_replacement(conn, table)
            rows = [_row("past-30-days", p, 2 * p) for p in range(1, 11)]
            conn.execute(insert(replacement), rows)
            swap_in(conn, table, replacement)

            def read() -> None:
                try:
                    answers.append(reader.execute(query, ("past-30-days",)).fetchone())
                except Exception as exc:  # the assertion below shows it
                    answers.append(exc)

            thread = threading.Thread(target=read)
            thread.start()
            thread.join(timeout=1)
            assert thread.is_alive(), "the reader should wait for the swap's commit"
            transaction.commit()
            thread.join(timeout=30)
        assert answers == [(10, 110)]
        # And the prepared statement goes on working against the new table.
        assert reader.execute(query, ("past-30-days",)).fetchone() == (10, 110)
