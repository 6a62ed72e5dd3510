"""One extract run of a kind, as the command line starts it: settings in, report out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from govuk_kpi.sources.http.client import Fetcher, HttpSettings
from govuk_kpi.sources.http.extract import (
    ExtractReport,
    SearchQuery,
    extract_content,
    extract_organisations,
    extract_search,
    search_paths,
)
from govuk_kpi.sources.http.snapshot import SnapshotWriter

KINDS = ("organisations", "search", "content")


def run_extract(
    kind: str,
    settings: HttpSettings,
    *,
    root: Path = Path("data/snapshots"),
    snapshot: Path | None = None,
    organisations: Sequence[str] = (),
    document_types: Sequence[str] = (),
    base_paths: Sequence[str] = (),
    from_search: Sequence[Path] = (),
    progress: bool | None = None,
) -> ExtractReport:
    """Extract one kind into a snapshot folder (`snapshot`, else the dated one under `root`).

    search: one enumeration per organisation and per document type given, or everything when
    neither is. content: the base paths given plus those listed by search snapshot folders.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}")
    source = f"{settings.base_url.rstrip('/')}/api/{kind}"
    writer = (
        SnapshotWriter(snapshot, kind, source=source)
        if snapshot is not None
        else SnapshotWriter.dated(root, kind, source=source)
    )
    with Fetcher(settings) as fetcher:
        if kind == "organisations":
            return extract_organisations(fetcher, writer, progress=progress)
        if kind == "search":
            queries = [SearchQuery(organisation=o) for o in organisations]
            queries += [SearchQuery(document_type=t) for t in document_types]
            return extract_search(fetcher, writer, queries or [SearchQuery()], progress=progress)
        paths = list(base_paths)
        for folder in from_search:
            paths += search_paths(Path(folder))
        return extract_content(fetcher, writer, paths, progress=progress)
