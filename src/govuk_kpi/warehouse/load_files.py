"""Load inputs named by path: the one place that pairs each reader with its loader."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine

from govuk_kpi.core.errors import ConfigError, InputError, RejectedRecord
from govuk_kpi.sources.content_items import read_content_items
from govuk_kpi.sources.daily_csv import read_daily_csv
from govuk_kpi.sources.ga4 import read_ga4_events
from govuk_kpi.sources.ga_csv import read_ga_pages_csv
from govuk_kpi.sources.hashing import file_sha256, tree_sha256
from govuk_kpi.sources.organisations import read_organisations
from govuk_kpi.warehouse.batch import BatchResult, record_failure
from govuk_kpi.warehouse.db import current_revision, head_revision
from govuk_kpi.warehouse.load_content import load_content
from govuk_kpi.warehouse.load_daily import load_daily
from govuk_kpi.warehouse.load_organisations import load_organisations


def require_schema(engine: Engine) -> None:
    """Refuse to load into a database whose schema is not the one the code expects."""
    revision = current_revision(engine)
    if revision != head_revision():
        raise ConfigError(
            f"the warehouse schema is at {revision or 'nothing'}, the code expects "
            f"{head_revision()}: run `govuk-kpi db upgrade` first"
        )


def load_content_path(
    engine: Engine, path: Path, *, observed_at: datetime | None = None
) -> BatchResult:
    """Load a content item file or folder; items that cannot be pages become rejects."""
    path = Path(path)
    rejects: list[InputError] = []

    def keep_rejected(error: InputError) -> None:
        # One bad item is a reject; a file that is not JSON or not UTF-8 fails the batch.
        if not isinstance(error, RejectedRecord):
            raise error
        rejects.append(error)

    if not path.exists():
        raise InputError(str(path), "no such file or directory")
    records = read_content_items(path, on_error=keep_rejected)
    return load_content(
        engine,
        records,
        uri=str(path),
        sha256=tree_sha256(path),
        observed_at=observed_at,
        rejects=rejects,
    )


def load_organisations_path(engine: Engine, path: Path) -> BatchResult:
    """Load an Organisations API response (a file or a folder of pages)."""
    path = Path(path)
    records = read_organisations(path)
    return load_organisations(engine, records, uri=str(path), sha256=tree_sha256(path))


def load_daily_path(
    engine: Engine, path: Path, source: str, *, today: date | None = None
) -> BatchResult:
    """Load one analytics or feedback CSV; a file the reader refuses is a failed batch."""
    try:
        rows = read_daily_csv(Path(path), source, today=today)
    except InputError as exc:
        record_failure(engine, BatchResult(source, str(path)), _sha_or_blank(Path(path)), exc)
        raise
    return load_daily(engine, rows)


def _sha_or_blank(path: Path) -> str:
    try:
        return file_sha256(path)
    except OSError:
        return ""


def load_ga4_path(engine: Engine, path: Path, *, today: date | None = None) -> BatchResult:
    """Load one GA4 BigQuery export (`events_YYYYMMDD`, newline-delimited JSON) as analytics."""
    return load_daily(engine, read_ga4_events(Path(path), today=today))


def load_ga_pages_path(
    engine: Engine, path: Path, *, day: date | None = None, today: date | None = None
) -> BatchResult:
    """Load a "Pages" report exported as CSV from the Google Analytics UI as analytics."""
    return load_daily(engine, read_ga_pages_csv(Path(path), day=day, today=today))


LOADERS: dict[str, Callable[..., BatchResult]] = {
    "content": load_content_path,
    "organisations": load_organisations_path,
    "analytics": lambda engine, path, **kw: load_daily_path(engine, path, "analytics", **kw),
    "feedback": lambda engine, path, **kw: load_daily_path(engine, path, "feedback", **kw),
    "ga4": load_ga4_path,
    "ga-pages": load_ga_pages_path,
}
