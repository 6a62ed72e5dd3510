"""Extract GOV.UK's public APIs over HTTP into raw, read-only, dated snapshots.

`client` fetches politely (rate limit, retries, conditional requests against an on-disk
cache); `snapshot` writes what was fetched untouched, with a manifest; `extract` walks the
Organisations, Search and Content APIs. Nothing here knows of the database: the loaders read
the snapshot folders like any other input.
"""

from govuk_kpi.sources.http.client import Fetched, Fetcher, HttpSettings, polite_limiter
from govuk_kpi.sources.http.extract import (
    ExtractReport,
    extract_content,
    extract_organisations,
    extract_search,
    search_paths,
)
from govuk_kpi.sources.http.snapshot import SnapshotWriter

__all__ = [
    "ExtractReport",
    "Fetched",
    "Fetcher",
    "HttpSettings",
    "SnapshotWriter",
    "extract_content",
    "extract_organisations",
    "extract_search",
    "polite_limiter",
    "search_paths",
]
