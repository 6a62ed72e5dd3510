"""The test infrastructure itself: both database backends answer, and PostgreSQL is recent."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text


def test_db_url_connects_to_its_backend(db_url: str, request: pytest.FixtureRequest) -> None:
    backend = request.node.callspec.params["db_url"]
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select 1")).scalar_one() == 1
            assert conn.dialect.name == backend
            if backend == "postgresql":
                version = int(conn.execute(text("show server_version_num")).scalar_one())
                assert version >= 130000
    finally:
        engine.dispose()


def test_db_url_gives_each_test_an_empty_database(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("create table marker (id integer primary key)"))
            conn.execute(text("insert into marker (id) values (1)"))
        with engine.connect() as conn:
            assert conn.execute(text("select count(*) from marker")).scalar_one() == 1
    finally:
        engine.dispose()
