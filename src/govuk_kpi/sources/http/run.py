"""One extract run of a kind, as the command line starts it: settings in, report out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _What:
    """What an extract run was asked for, beyond its kind."""

    organisations: Sequence[str]
    document_types: Sequence[str]
    base_paths: Sequence[str]
    from_search: Sequence[Path]
    progress: bool | None


def _organisations(fetcher: Fetcher, writer: SnapshotWriter, what: _What) -> ExtractReport:
    return extract_organisations(fetcher, writer, progress=what.progress)


def _search(fetcher: Fetcher, writer: SnapshotWriter, what: _What) -> ExtractReport:
    queries = [SearchQuery(organisation=o) for o in what.organisations]
    queries += [SearchQuery(document_type=t) for t in what.document_types]
    return extract_search(fetcher, writer, queries or [SearchQuery()], progress=what.progress)


def _content(fetcher: Fetcher, writer: SnapshotWriter, what: _What) -> ExtractReport:
    paths = list(what.base_paths)
    for folder in what.from_search:
        paths += search_paths(Path(folder))
    return extract_content(fetcher, writer, paths, progress=what.progress)


# The extracts over HTTP: those the registry names for its sources (`Source.extract`, checked
# by tests/sources/test_source_registry.py), and Search, which lists the base paths
# `extract content --from-search` fetches.
EXTRACTORS: dict[str, Callable[[Fetcher, SnapshotWriter, _What], ExtractReport]] = {
    "organisations": _organisations,
    "search": _search,
    "content": _content,
}
KINDS = tuple(EXTRACTORS)


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
    what = _What(organisations, document_types, base_paths, from_search, progress)
    with Fetcher(settings) as fetcher:
        return EXTRACTORS[kind](fetcher, writer, what)
