"""The page rows `extract ga4` aggregated in BigQuery, read back from their snapshot.

A snapshot's `page-rows-YYYYMMDD.parquet` is recognised by its columns, checked against the
SHA-256 its `.provenance.json` records, and read into the daily rows `load_daily` loads, with
the events read, duplicates and rejects the provenance counted. Kept apart from the BigQuery
client so that a load imports neither it nor the HTTP stack.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from govuk_kpi.core.errors import InputError
from govuk_kpi.core.limits import limits
from govuk_kpi.sources.daily_csv import DailyRows
from govuk_kpi.sources.ga4 import reject_reason
from govuk_kpi.sources.ga4_duckdb import DUPLICATE, _page_rows
from govuk_kpi.sources.ga4_sql import FIGURE_COLUMNS
from govuk_kpi.sources.hashing import file_sha256
from govuk_kpi.sources.records import Reject

KIND = "ga4"  # the snapshot folder's name


def page_rows_name(day: date) -> str:
    """The snapshot file of a day's page rows."""
    return f"page-rows-{day:%Y%m%d}.parquet"


def provenance_name(day: date) -> str:
    return f"page-rows-{day:%Y%m%d}.provenance.json"


def is_page_rows(path: Path) -> bool:
    """Whether `path` is a snapshot of page rows (a file or a folder holding one), rather than
    an export of events."""
    path = Path(path)
    if path.is_dir():
        return any(_page_row_files(path))
    if path.suffix.lower() not in (".parquet", ".pq"):
        return False
    try:
        names = set(pq.read_schema(path).names)
    except (OSError, pa.ArrowException):
        return False
    return set(FIGURE_COLUMNS) <= names and "event_params" not in names


def _page_row_files(folder: Path) -> Iterator[Path]:
    for place in (folder, folder / KIND):
        yield from sorted(place.glob("page-rows-*.parquet"))


def page_rows_file(path: Path) -> Path:
    """The page-rows Parquet file a path names: itself, or the one in the folder (or in its
    `ga4/` folder).

    Raises:
        InputError: a folder holding none, or several.
    """
    path = Path(path)
    if not path.is_dir():
        return path
    found = list(_page_row_files(path))
    if len(found) != 1:
        what = "no page-rows-*.parquet" if not found else f"{len(found)} page-rows files"
        raise InputError(str(path), f"holds {what}: name the file to load")
    return found[0]


def read_ga4_page_rows(path: Path) -> DailyRows:
    """A BigQuery snapshot's page rows as the daily rows `load_daily` loads, with the events
    read and the rejects its provenance counted.

    Raises:
        InputError: no provenance beside the file, or one that does not match it; columns
            missing; a figure past the count limit.
    """
    parquet = page_rows_file(path)
    sha = file_sha256(parquet)
    provenance_path = parquet.with_name(parquet.name.removesuffix(".parquet") + ".provenance.json")
    try:
        provenance = json.loads(provenance_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(str(parquet), f"no provenance beside it ({exc.strerror})") from None
    except ValueError as exc:
        raise InputError(str(provenance_path), f"not JSON: {exc}") from None
    recorded = provenance.get("page_rows", {}).get("sha256")
    if recorded != sha:
        raise InputError(str(parquet), f"its SHA-256 is not the one {provenance_path.name} records")
    figures = pq.read_table(parquet).to_pandas()
    missing = [name for name in FIGURE_COLUMNS if name not in figures.columns]
    if missing:
        raise InputError(str(parquet), f"not page rows: no column {', '.join(missing)}")
    if figures[list(FIGURE_COLUMNS)].isna().any().any():
        raise InputError(str(parquet), "a page row with an empty figure")
    day = date.fromisoformat(provenance["date"])
    earliest = limits().earliest_day
    rejects: list[Reject] = []
    for code, copies in provenance.get("rejects", {}).items():
        reason = reject_reason(code, None, earliest, day)
        rejects.extend(Reject(None, reason, None) for _ in range(int(copies)))
    rejects.extend(Reject(None, DUPLICATE, None) for _ in range(int(provenance["duplicates"])))
    frame = _page_rows(parquet, pd.DataFrame(figures))
    return DailyRows("analytics", parquet, sha, frame, rejects, int(provenance["events_read"]))


def provenance_note(path: Path) -> str:
    """One line for the load batch: the jobs and table the page rows came from."""
    parquet = page_rows_file(path)
    provenance_path = parquet.with_name(parquet.name.removesuffix(".parquet") + ".provenance.json")
    provenance = json.loads(provenance_path.read_text(encoding="utf-8"))
    jobs = ", ".join(
        f"{q.get('project')}:{q.get('location')}.{q.get('job_id')}"
        for q in provenance.get("queries", [])
    )
    billed = sum(int(q.get("bytes_billed") or 0) for q in provenance.get("queries", []))
    return (
        f"BigQuery {provenance.get('table')}: jobs {jobs}; {billed} bytes billed; "
        f"provenance {provenance_path}"
    )
