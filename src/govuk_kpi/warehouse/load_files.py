"""Load inputs named by path: the one place that pairs each registered source with its loader.

The sources are registered in `govuk_kpi.sources.registry`; `LOADER_FUNCTIONS` gives each
name its loader, and `tests/sources/test_source_registry.py` fails when one is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import TypedDict, TypeVar, Unpack

from sqlalchemy import Engine, update

from govuk_kpi.core.errors import ConfigError, InputError, RejectedRecord, as_input_error
from govuk_kpi.sources.content_items import read_content_items
from govuk_kpi.sources.daily_csv import DailyRows, read_daily_csv
from govuk_kpi.sources.ga4_duckdb import read_ga4
from govuk_kpi.sources.ga4_page_rows import is_page_rows, provenance_note, read_ga4_page_rows
from govuk_kpi.sources.ga_csv import read_ga_pages_csv
from govuk_kpi.sources.hashing import file_sha256, tree_sha256
from govuk_kpi.sources.organisations import read_organisations
from govuk_kpi.sources.records import EditionRecord
from govuk_kpi.sources.registry import DAILY_NAMES, SOURCES
from govuk_kpi.warehouse.batch import BatchResult, record_failure
from govuk_kpi.warehouse.db import current_revision, head_revision
from govuk_kpi.warehouse.load_content import load_content
from govuk_kpi.warehouse.load_daily import Replace, load_daily
from govuk_kpi.warehouse.load_organisations import load_organisations
from govuk_kpi.warehouse.models import LoadBatch

T = TypeVar("T")
Lock = Callable[[], AbstractContextManager[object]]
"""What `load_landed` holds while it writes (the pipeline's `write_lock`)."""


class DailyOptions(TypedDict, total=False):
    """How a daily file is loaded (`govuk-kpi load`'s options); each may be left out."""

    today: date | None  # dates after this day are in the future (default: the real today)
    replace: Replace | None  # replace this range wholly (default: only the file's days)
    dry_run: bool  # say what would change, change nothing (default: False)
    lock: Lock  # held while the batch is written, not while the file is read (default: none)


class GaPagesOptions(DailyOptions, total=False):
    day: date | None  # the day a single-day export is of, when its header does not say


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

    def read() -> tuple[Iterator[EditionRecord], str]:
        path.stat()  # missing, a symlink loop, no permission: the system's words say which
        return read_content_items(path, on_error=keep_rejected), tree_sha256(path)

    records, sha256 = _read(engine, SOURCES["content"].batch_source, path, read)
    return load_content(
        engine, records, uri=str(path), sha256=sha256, observed_at=observed_at, rejects=rejects
    )


def load_organisations_path(engine: Engine, path: Path) -> BatchResult:
    """Load an Organisations API response (a file or a folder of pages)."""
    path = Path(path)
    records, sha256 = _read(
        engine,
        SOURCES["organisations"].batch_source,
        path,
        lambda: (read_organisations(path), tree_sha256(path)),
    )
    return load_organisations(engine, records, uri=str(path), sha256=sha256)


def load_daily_path(
    engine: Engine, path: Path, source: str, **options: Unpack[DailyOptions]
) -> BatchResult:
    """Load one analytics or feedback CSV; a file the reader refuses is a failed batch."""
    path = Path(path)
    # The daily CSVs' sources are recorded as themselves (`Source.batch_source`).
    read = partial(read_daily_csv, path, source, today=options.get("today"))
    return _load_rows(engine, path, source, read, options)


def load_ga4_path(engine: Engine, path: Path, **options: Unpack[DailyOptions]) -> BatchResult:
    """Load one GA4 BigQuery export (`events_YYYYMMDD`: newline-delimited JSON, optionally
    gzipped, or Parquet) as analytics; or the page rows `extract ga4` aggregated in BigQuery
    (a snapshot's `page-rows-YYYYMMDD.parquet`, or its folder), its provenance noted on the
    batch."""
    path = Path(path)
    page_rows = is_page_rows(path)
    read: Callable[[], DailyRows] = (
        partial(read_ga4_page_rows, path)
        if page_rows
        else partial(read_ga4, path, today=options.get("today"))
    )
    return _load_rows(engine, path, SOURCES["ga4"].batch_source, read, options, page_rows=page_rows)


def load_landed(
    engine: Engine,
    path: Path,
    source: str,
    *,
    check: Callable[[DailyRows], object] | None = None,
    lock: Lock = nullcontext,
) -> BatchResult:
    """Load a day's landing file of `source` by what it is: page rows aggregated in BigQuery,
    a GA4 export (the registry's landing names) or the project's daily CSV.

    A file that cannot be read is a failed batch naming it. `check(rows)` runs before anything
    is written: an exception from it stops the load, leaving no trace. Only the writes hold
    `lock()`: reading a GA4 export can take minutes, and other workers read meanwhile.
    """
    path = Path(path)
    page_rows = path.name.startswith("page-rows-") or is_page_rows(path)
    if page_rows:
        read: Callable[[], DailyRows] = partial(read_ga4_page_rows, path)
    elif SOURCES["ga4"].lands_as(path):
        read = partial(read_ga4, path)
    else:
        read = partial(read_daily_csv, path, source)
    options: DailyOptions = {"lock": lock}
    return _load_rows(engine, path, source, read, options, page_rows=page_rows, check=check)


def _load_rows(
    engine: Engine,
    path: Path,
    source: str,
    read: Callable[[], DailyRows],
    options: DailyOptions,
    *,
    page_rows: bool = False,
    check: Callable[[DailyRows], object] | None = None,
) -> BatchResult:
    """Read (a failure is a failed batch), check, then load under `options["lock"]` (only
    now) and note page rows' provenance."""
    lock = options.get("lock", nullcontext)
    rows = _read(engine, source, path, read, lock=lock)
    if check is not None:
        check(rows)
    with lock():
        result = load_daily(
            engine, rows, replace=options.get("replace"), dry_run=options.get("dry_run", False)
        )
        if page_rows:
            note_provenance(engine, result, provenance_note(rows.path))
    return result


def note_provenance(engine: Engine, result: BatchResult, note: str) -> None:
    """Record where a batch's rows came from (the BigQuery jobs) as its message."""
    if result.batch_id is None or result.dry_run or result.skipped_as is not None:
        return
    result.notes.append(note)
    with engine.begin() as connection:
        connection.execute(
            update(LoadBatch)
            .where(LoadBatch.batch_id == result.batch_id, LoadBatch.message.is_(None))
            .values(message=note)
        )


def load_ga_pages_path(
    engine: Engine, path: Path, **options: Unpack[GaPagesOptions]
) -> BatchResult:
    """Load a "Pages" report exported as CSV from the Google Analytics UI as analytics."""
    path = Path(path)
    source = SOURCES["ga-pages"].batch_source
    read = partial(read_ga_pages_csv, path, day=options.get("day"), today=options.get("today"))
    return _load_rows(engine, path, source, read, options)


def _read(
    engine: Engine, source: str, path: Path, read: Callable[[], T], *, lock: Lock = nullcontext
) -> T:
    """Run a reader; whatever stops it is one error naming the file, recorded as a failed batch
    (under `lock`).

    Failures later, inside the batch, are recorded by the batch itself (`run_batch`).
    """
    try:
        return read()
    except Exception as exc:
        error = as_input_error(str(path), exc)
        with lock():
            record_failure(engine, BatchResult(source, str(path)), _sha_or_blank(path), error)
        if error is exc:
            raise
        raise error from exc


def _sha_or_blank(path: Path) -> str:
    try:
        return file_sha256(path) if path.is_file() else ""
    except OSError:
        return ""


LOADER_FUNCTIONS: dict[str, Callable[..., BatchResult]] = {
    "content": load_content_path,
    "organisations": load_organisations_path,
    "analytics": partial(load_daily_path, source="analytics"),
    "feedback": partial(load_daily_path, source="feedback"),
    "ga4": load_ga4_path,
    "ga-pages": load_ga_pages_path,
}
"""Each registered source's loader, `loader(engine, path, **options)`."""
LOADERS: dict[str, Callable[..., BatchResult]] = {
    name: LOADER_FUNCTIONS[name] for name in SOURCES if name in LOADER_FUNCTIONS
}
"""The loaders of the registered sources, in their order (`govuk-kpi load KIND`)."""
DAILY_KINDS = DAILY_NAMES
"""The kinds whose files hold days of usage: they take `replace` and `dry_run`."""
