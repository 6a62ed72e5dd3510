"""Walk GOV.UK's Organisations, Search and Content APIs into a raw snapshot.

Each extractor fetches with a shared `Fetcher` (a few requests in flight, one rate limit),
writes every body it got untouched through a `SnapshotWriter`, and records every URL it asked
for, fetched or not. A run never stops for one bad URL: it finishes, keeps everything it
fetched, and says what it could not fetch (`ExtractReport.failed`, `snapshot.json`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

from tqdm import tqdm

from govuk_kpi.sources.http.client import Fetched, Fetcher
from govuk_kpi.sources.http.snapshot import SnapshotWriter, path_file_name

ORGANISATIONS_PATH = "/api/organisations"
SEARCH_PATH = "/api/search.json"
CONTENT_PREFIX = "/api/content"
SEARCH_FIELDS = ("link", "title", "content_id", "content_store_document_type", "public_timestamp")
SEARCH_PAGE_SIZE = 1000  # the Search API's largest `count`
# Content items that stand for a page no longer published in the usual way.
UNPUBLISHED_TYPES = frozenset({"gone", "redirect", "vanish", "unpublishing"})

T = TypeVar("T")


@dataclass
class ExtractReport:
    """What one extract run did: counts per outcome, and what it could not fetch."""

    kind: str
    snapshot: Path
    counts: dict[str, int] = field(default_factory=dict)
    failed: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    paths: list[str] = field(default_factory=list)  # search: the base paths listed

    @property
    def data_dir(self) -> Path:
        return self.snapshot / self.kind

    def summary(self) -> str:
        counts = ", ".join(f"{n} {what}" for what, n in sorted(self.counts.items()))
        line = f"extract {self.kind}: {counts or 'nothing'}; {self.requests} requests"
        line += f"; {self.data_dir}"
        if self.failed:
            line += f"; {len(self.failed)} not fetched (see {self.snapshot / 'snapshot.json'})"
        return line


class _Progress:
    """A tqdm bar with outcome counts in its postfix (rate and counts shown by tqdm)."""

    def __init__(self, desc: str, total: int | None, enabled: bool | None) -> None:
        # enabled: True shows the bar, False hides it, None shows it on a terminal only.
        disable = None if enabled is None else not enabled
        self.bar = tqdm(desc=desc, total=total, unit="req", disable=disable)
        self.counts: dict[str, int] = {}

    def done(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        self.bar.set_postfix(self.counts, refresh=False)
        self.bar.update()

    def grow(self, extra: int) -> None:
        if self.bar.total is not None:
            self.bar.total += extra
            self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def _parallel(
    fetcher: Fetcher, items: Sequence[T], work: Callable[[T], str], progress: _Progress
) -> None:
    """Run `work` over items with the fetcher's concurrency; each returns its outcome."""
    workers = max(1, fetcher.settings.concurrency)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="extract") as pool:
        futures = [pool.submit(work, item) for item in items]
        for future in as_completed(futures):
            progress.done(future.result())


def _entry(fetched: Fetched) -> dict[str, Any]:
    return {
        "url": fetched.url,
        "status": fetched.status,
        "outcome": fetched.outcome,
        "attempts": fetched.attempts,
        "redirects": fetched.redirects,
        "error": fetched.error,
    }


def _report(writer: SnapshotWriter, fetcher: Fetcher, before: int, **summary: Any) -> ExtractReport:
    requests = fetcher.requests_sent - before
    writer.finish(requests=requests, base_url=fetcher.settings.base_url, **summary)
    report = ExtractReport(writer.kind, writer.folder, requests=requests)
    for entry in writer.entries:
        report.counts[entry["outcome"]] = report.counts.get(entry["outcome"], 0) + 1
        if entry["outcome"] in {"failed", "missing"}:
            report.failed.append(entry)
    report.failed.sort(key=lambda e: e["url"])
    return report


def _save(writer: SnapshotWriter, fetched: Fetched, relative: str, **extra: Any) -> str:
    """Keep a fetched body, or record why there is none; return the outcome."""
    entry = _entry(fetched) | extra
    if fetched.fetched:
        writer.save(relative, fetched.body or b"", **entry)
    else:
        writer.record(**entry)
    return fetched.outcome


# -- Organisations -------------------------------------------------------------------------


def extract_organisations(
    fetcher: Fetcher, writer: SnapshotWriter, *, progress: bool | None = None
) -> ExtractReport:
    """Every page of `/api/organisations` into `organisations/page-NNNN.json`.

    Page 1 says how many pages there are (`pages`); the rest are fetched concurrently. An
    answer without `pages` is walked by its `next_page_url` instead.
    """
    before = fetcher.requests_sent
    bar = _Progress("organisations", None, progress)
    try:
        first = fetcher.get(ORGANISATIONS_PATH, {"page": 1})
        bar.done(_save(writer, first, "page-0001.json", page=1))
        doc = _json(first)
        pages = doc.get("pages") if isinstance(doc, dict) else None
        if isinstance(pages, int) and pages > 1:
            bar.bar.total = pages
            bar.bar.refresh()

            def one(page: int) -> str:
                fetched = fetcher.get(ORGANISATIONS_PATH, {"page": page})
                return _save(writer, fetched, f"page-{page:04d}.json", page=page)

            _parallel(fetcher, list(range(2, pages + 1)), one, bar)
        elif isinstance(doc, dict):
            page = 1
            seen = {first.url}
            while isinstance(doc, dict) and isinstance(doc.get("next_page_url"), str):
                page += 1
                url = doc["next_page_url"]
                if url in seen:
                    break
                seen.add(url)
                fetched = fetcher.get(url)
                bar.done(_save(writer, fetched, f"page-{page:04d}.json", page=page))
                doc = _json(fetched)
    finally:
        bar.close()
    return _report(writer, fetcher, before)


def _json(fetched: Fetched) -> Any:
    if not fetched.fetched:
        return None
    try:
        return fetched.json()
    except ValueError:
        return None


# -- Search --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    """One enumeration of the Search API: an organisation's pages, a document type's, or all."""

    organisation: str | None = None
    document_type: str | None = None

    @property
    def label(self) -> str:
        parts = []
        if self.organisation:
            parts.append(f"organisation-{self.organisation}")
        if self.document_type:
            parts.append(f"document-type-{self.document_type}")
        return path_file_name("_".join(parts) or "all").removesuffix(".json")

    def params(self, fields: Sequence[str], count: int, start: int) -> dict[str, Any]:
        params: dict[str, Any] = {"count": count, "start": start, "fields": list(fields)}
        if self.organisation:
            params["filter_organisations"] = self.organisation
        if self.document_type:
            params["filter_content_store_document_type"] = self.document_type
        return params


def extract_search(
    fetcher: Fetcher,
    writer: SnapshotWriter,
    queries: Iterable[SearchQuery],
    *,
    fields: Sequence[str] = SEARCH_FIELDS,
    count: int = SEARCH_PAGE_SIZE,
    progress: bool | None = None,
) -> ExtractReport:
    """Page through `/api/search.json` for each query to the end of its results.

    Pages go to `search/<query>/start-NNNNNN.json`. The first page of a query gives `total`;
    the remaining pages (`start` = count, 2 × count, ...) are fetched concurrently.
    """
    before = fetcher.requests_sent
    bar = _Progress("search", None, progress)
    listed: dict[str, None] = {}
    try:
        for query in queries:

            def page(start: int, query: SearchQuery = query) -> str:
                fetched = fetcher.get(SEARCH_PATH, query.params(fields, count, start))
                outcome = _save(
                    writer, fetched, f"{query.label}/start-{start:06d}.json", start=start
                )
                for path in _result_paths(_json(fetched)):
                    listed.setdefault(path, None)
                return outcome

            bar.done(page(0))
            first = writer.entries[-1]
            total = _total(writer.folder / first["file"]) if first.get("file") else None
            if total and total > count:
                starts = list(range(count, total, count))
                _parallel(fetcher, starts, page, bar)
    finally:
        bar.close()
    report = _report(writer, fetcher, before, listed_paths=len(listed))
    report.paths = list(listed)
    return report


def _total(file: Path) -> int | None:
    try:
        total = json.loads(file.read_bytes()).get("total")
    except (OSError, ValueError, AttributeError):
        return None
    return total if isinstance(total, int) else None


def _result_paths(doc: Any) -> list[str]:
    """Base paths of a search page's results: `link`, else `_id` (absolute path or URL)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        return []
    paths = []
    for result in doc["results"]:
        if not isinstance(result, dict):
            continue
        link = result.get("link") or result.get("_id")
        if not isinstance(link, str) or not link.strip():
            continue
        link = link.strip()
        if link.startswith(("http://", "https://")):
            parts = urlsplit(link)
            if not parts.netloc.endswith("gov.uk"):
                continue  # an external link (some search results point off GOV.UK)
            link = parts.path
        paths.append("/" + link.lstrip("/"))
    return paths


def search_paths(search_dir: Path) -> list[str]:
    """The base paths listed by a search snapshot folder, first-seen order, no repeats."""
    seen: dict[str, None] = {}
    for file in sorted(Path(search_dir).rglob("*.json")):
        try:
            doc = json.loads(file.read_bytes())
        except ValueError:
            continue
        for path in _result_paths(doc):
            seen.setdefault(path, None)
    return list(seen)


# -- Content -------------------------------------------------------------------------------


def content_url_path(base_path: str) -> str:
    """The Content API path of a base path: `/renew-adult-passport` → `/api/content/renew...`."""
    return CONTENT_PREFIX + quote("/" + base_path.strip().lstrip("/"), safe="/%:@!$&'()*+,;=-._~")


def _base_path_of(url: str) -> str:
    path = unquote(urlsplit(url).path)
    return path[len(CONTENT_PREFIX) :] if path.startswith(CONTENT_PREFIX) else path


def extract_content(
    fetcher: Fetcher,
    writer: SnapshotWriter,
    base_paths: Iterable[str],
    *,
    progress: bool | None = None,
) -> ExtractReport:
    """Fetch `/api/content<base_path>` for each base path into `content/<base_path>.json`.

    Redirects are followed and the item is filed under the path it was found at (a second
    path redirecting to the same item records outcome "duplicate" and writes nothing more).
    A 410 is recorded as "gone" with its body under `gone/`; a 404 as "missing"; an item whose
    document type says it is no longer published (gone, redirect, vanish) is kept like any
    other and its entry marked `unpublished`. Nothing of this stops the run.
    """
    before = fetcher.requests_sent
    paths = list(dict.fromkeys(p.strip() for p in base_paths if p and p.strip()))
    bar = _Progress("content", len(paths), progress)
    claimed: set[str] = set()
    lock = threading.Lock()

    def one(base_path: str) -> str:
        fetched = fetcher.get(content_url_path(base_path))
        where = _base_path_of(fetched.final_url or fetched.url)
        extra: dict[str, Any] = {"base_path": base_path}
        if fetched.redirects:
            extra["redirected_to"] = where
        if fetched.outcome == "gone":
            if fetched.body:
                writer.save(
                    path_file_name(base_path), fetched.body, area="gone", **_entry(fetched), **extra
                )
            else:
                writer.record(**_entry(fetched), **extra)
            return "gone"
        if not fetched.fetched:
            writer.record(**_entry(fetched), **extra)
            return fetched.outcome
        doc = _json(fetched)
        if isinstance(doc, dict) and doc.get("document_type") in UNPUBLISHED_TYPES:
            extra["unpublished"] = doc.get("document_type")
        relative = path_file_name(where)
        with lock:
            duplicate = relative in claimed
            claimed.add(relative)
        if duplicate:
            writer.record(**(_entry(fetched) | {"outcome": "duplicate"}), **extra)
            return "duplicate"
        writer.save(relative, fetched.body or b"", **_entry(fetched), **extra)
        return fetched.outcome

    try:
        _parallel(fetcher, paths, one, bar)
    finally:
        bar.close()
    return _report(writer, fetcher, before, asked=len(paths))
