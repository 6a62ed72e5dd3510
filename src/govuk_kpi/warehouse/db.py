"""Connecting to the warehouse: the SQLite file by default, PostgreSQL when the URL says so."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event

from govuk_kpi.core.errors import ConfigError

DEFAULT_URL = "sqlite:///warehouse.db"
URL_VARIABLE = "GOVUK_KPI_DATABASE_URL"
MIGRATIONS = Path(__file__).with_name("migrations")


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else `GOVUK_KPI_DATABASE_URL`, else `warehouse.db` here."""
    chosen = url or os.environ.get(URL_VARIABLE) or DEFAULT_URL
    if chosen.startswith("postgresql://"):
        # psycopg 3 is the driver the project installs; plain postgresql:// would ask for psycopg2.
        chosen = "postgresql+psycopg://" + chosen.removeprefix("postgresql://")
    if not chosen.startswith(("sqlite", "postgresql")):
        raise ConfigError(
            f"{URL_VARIABLE}={chosen!r}: only sqlite:// and postgresql:// are supported"
        )
    return chosen


def _tune_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL survives a killed process with every committed batch intact and lets readers
    # (reports, API) run while a load writes; NORMAL sync is safe with WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    # Writers ask for IMMEDIATE (see `write_transaction`): two processes that both read
    # before writing would otherwise deadlock, and one would fail with "database is locked".
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it takes the write lock at its start, so
    concurrent loaders queue (up to the busy timeout) instead of failing part way."""
    with engine.connect() as connection:
        connection.execution_options(sqlite_begin="IMMEDIATE")
        with connection.begin():
            yield connection


@contextmanager
def write_lock(url: str | None = None) -> Iterator[None]:
    """Hold the warehouse's write lock: on SQLite, one writer at a time across processes.

    SQLite's deferred transactions fail at once ("database is locked", no busy wait) when a
    transaction that has read tries to write after another process committed, so writer
    processes take turns (a lock file beside the database, `<file>.pipeline-lock`); their
    reads go on meanwhile. PostgreSQL (and an in-memory SQLite database) needs no such lock.
    """
    chosen = database_url(url)
    path = chosen.removeprefix("sqlite:///") if chosen.startswith("sqlite:///") else ""
    if not path or path == ":memory:":
        yield
        return
    lock = Path(path).with_name(Path(path).name + ".pipeline-lock")
    with open(lock, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@cache
def _cached_engine(url: str) -> Engine:
    return make_engine(url)


def make_engine(url: str | None = None) -> Engine:
    """A new engine for `url` (see `database_url`), tuned for the backend."""
    url = database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url)
        event.listen(engine, "connect", _tune_sqlite)
        # SQLite's driver opens transactions lazily and autocommits DDL; begin explicitly so
        # a load's every statement, DDL included, is in one transaction.
        event.listen(engine, "begin", _begin_sqlite)

        @event.listens_for(engine, "connect")
        def _no_implicit_transactions(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None

        return engine
    return create_engine(url, pool_pre_ping=True)


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for `url`, created once."""
    return _cached_engine(database_url(url))


def alembic_config(url: str) -> Config:
    """Alembic's configuration pointing at the package's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the newest)."""
    url = database_url(url)
    config = alembic_config(url)
    with get_engine(url).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None when it has none."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest schema revision the code knows."""
    script = ScriptDirectory.from_config(alembic_config(DEFAULT_URL))
    head = script.get_current_head()
    assert head is not None
    return head
