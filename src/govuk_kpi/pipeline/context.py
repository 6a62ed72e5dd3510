"""The run's settings, read once and frozen: what every task of a run needs, typed.

`run_pipeline` builds one `RunContext` after `configure(...)` and holds it as the process's
current context for the run; luigi's forked workers inherit it. A task run some other way
(the `luigi` command, a second worker process) builds it from luigi's config on first use.
The warehouse's engines are made here only: `reading()`, `engine()`, `writing()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from govuk_kpi.pipeline.config import landing_file, pipeline_settings

if TYPE_CHECKING:  # imported when used: forked task processes stay light
    from sqlalchemy import Connection, Engine

    from govuk_kpi.sources.ga4_bigquery import BigQuerySettings
    from govuk_kpi.sources.http.client import HttpSettings


# How a setting becomes its field's type, by the annotation's text (as Python writes it);
# '' means "not set".
_AS_TYPE: dict[str, Callable[[Any], Any]] = {
    "str": str,
    "str | None": lambda value: str(value) or None,
    "Path": Path,
    "Path | None": lambda value: Path(value) if value else None,
    "int": int,
    "float": float,
    "bool": bool,
    "tuple[str, ...]": lambda value: tuple(
        item.strip() for item in str(value).split(",") if item.strip()
    ),
    "Literal['local', 'bigquery']": lambda value: "bigquery" if value == "bigquery" else "local",
}
# The fields an extract's HTTP client takes, by the same names.
_HTTP = ("base_url", "rate", "concurrency", "timeout", "retries", "cache_dir")


@dataclass(frozen=True)
class RunContext:
    """Everything a task takes from the settings; see `pipeline_settings` for each."""

    database_url: str | None
    landing: Path
    snapshots: Path
    reports_out: Path
    notebooks: Path
    work_dir: Path
    publish_dir: Path | None
    base_url: str
    rate: float
    concurrency: int
    timeout: float
    retries: int
    cache_dir: Path | None
    search_organisations: tuple[str, ...]
    report_jobs: int
    max_reject_share: float
    max_unfetched_share: float
    run_id: str
    ga4_route: Literal["local", "bigquery"]
    bigquery_flattened: bool
    bigquery_project: str | None
    bigquery_dataset: str | None
    bigquery_table: str | None
    bigquery_billing_project: str | None
    bigquery_location: str | None
    bigquery_endpoint: str | None

    @classmethod
    def from_settings(cls, s: pipeline_settings) -> RunContext:
        """The context of luigi's `[pipeline_settings]`, each value made its field's type."""
        return cls(**{f.name: _AS_TYPE[str(f.type)](getattr(s, f.name)) for f in fields(cls)})

    @property
    def events_file(self) -> Path:
        return self.work_dir / "events.jsonl"

    def landing_file(self, kind: str, day: date) -> Path:
        return landing_file(kind, day, self.landing)

    def http(self) -> HttpSettings:
        from govuk_kpi.sources.http.client import HttpSettings

        return HttpSettings(**{name: getattr(self, name) for name in _HTTP})

    def bigquery(self) -> BigQuerySettings:
        from govuk_kpi.sources.ga4_bigquery import BigQuerySettings

        values = {
            "project": self.bigquery_project,
            "dataset": self.bigquery_dataset,
            "table": self.bigquery_table,
            "billing_project": self.bigquery_billing_project,
            "location": self.bigquery_location,
            "endpoint": self.bigquery_endpoint,
        }
        given = {key: value for key, value in values.items() if value}
        return BigQuerySettings.from_env(flattened=self.bigquery_flattened, **given)

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        """An engine of its own, disposed after: pools do not survive luigi's forks."""
        from govuk_kpi.warehouse.db import make_engine

        engine = make_engine(self.database_url)
        try:
            yield engine
        finally:
            engine.dispose()

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection on an engine of its own, disposed after."""
        with self.engine() as engine, engine.connect() as connection:
            yield connection

    def lock(self) -> AbstractContextManager[None]:
        """The warehouse's write lock (one SQLite writer at a time across processes)."""
        from govuk_kpi.warehouse.db import write_lock

        return write_lock(self.database_url)

    @contextmanager
    def writing(self, *, check_schema: bool = False) -> Iterator[Engine]:
        """An engine of its own with the write lock held; the schema checked first (before
        waiting for the lock) when asked."""
        with self.engine() as engine:
            if check_schema:
                from govuk_kpi.warehouse.load_files import require_schema

                require_schema(engine)
            with self.lock():
                yield engine


_current: RunContext | None = None


def current() -> RunContext:
    """The run's context; outside `run_pipeline`, luigi's settings read once and kept."""
    global _current
    if _current is None:
        _current = RunContext.from_settings(pipeline_settings())  # type: ignore[no-untyped-call, unused-ignore]
    return _current


@contextmanager
def running(context: RunContext) -> Iterator[RunContext]:
    """Make `context` the current one while a run lasts (forked workers inherit it)."""
    global _current
    before, _current = _current, context
    try:
        yield context
    finally:
        _current = before


def forget() -> None:
    """Drop a context built from luigi's settings: they changed (`configure`)."""
    global _current
    _current = None
