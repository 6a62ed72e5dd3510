"""Read the GOV.UK Organisations API (`/api/organisations`) into `OrganisationRecord`s."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from govuk_kpi.core.errors import InputError
from govuk_kpi.sources.records import OrganisationRecord


def _read_json(path: Path) -> Any:
    """Decode a JSON file, naming the file and line of bad bytes or bad syntax."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            path,
            f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line})",
            row=line,
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            path, f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", exc.lineno
        ) from None


def _results(doc: Any, path: Path) -> list[Any]:
    """The organisations of one response: a page object's `results`, or a plain list."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, Mapping) and isinstance(doc.get("results"), list):
        return doc["results"]
    raise InputError(path, "expected an Organisations API page with a `results` list, or a list")


def slug_of(link: Any) -> str | None:
    """The slug of an organisation link: the last path segment of its `id` or `web_url`.

    `https://www.gov.uk/api/organisations/ministry-of-justice` and
    `https://www.gov.uk/government/organisations/ministry-of-justice` both give
    "ministry-of-justice".
    """
    if isinstance(link, str):
        urls = [link]
    elif isinstance(link, Mapping):
        urls = [link.get("id"), link.get("web_url")]
    else:
        return None
    for url in urls:
        if isinstance(url, str) and url.strip():
            segment = urlsplit(url.strip()).path.rstrip("/").rsplit("/", 1)[-1]
            if segment:
                return segment
    return None


def _slugs(links: Any) -> tuple[str, ...]:
    if not isinstance(links, list):
        return ()
    slugs = (slug_of(link) for link in links)
    return tuple(dict.fromkeys(slug for slug in slugs if slug))  # ordered, no repeats


def _closed_at(value: Any, path: Path, position: int) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip()).date()
        except ValueError:
            pass
    raise InputError(path, f"closed_at is not a date: {str(value)[:40]!r}", row=position)


def _text(value: Any) -> str | None:
    """A string with HTML entities decoded ("&amp;" → "&"), or None when empty."""
    if not isinstance(value, str) or not value.strip():
        return None
    return html.unescape(value).strip()


def parse_organisation(result: Any, *, source: Path, position: int) -> OrganisationRecord:
    """One entry of an Organisations API `results` list as a record.

    The slug is `details.slug`, else the last segment of `web_url` or `id`; the title has its
    HTML entities decoded; `format` is the organisation type; `superseded_by_slugs` are the
    `superseding_organisations` (the ones that replaced this one).

    Args:
        result: The decoded JSON object.
        source: The file it came from, for errors.
        position: Its 1-based position in that file's `results`, for errors.

    Raises:
        InputError: the entry is not an object, or has no content_id, slug or title.
    """
    if not isinstance(result, Mapping):
        raise InputError(source, "organisation is not a JSON object", row=position)
    details = result.get("details") if isinstance(result.get("details"), Mapping) else {}
    content_id = _text(details.get("content_id"))
    if content_id is None:
        raise InputError(source, "organisation has no details.content_id", row=position)
    slug = _text(details.get("slug")) or slug_of(result)
    if slug is None:
        raise InputError(source, f"organisation {content_id} has no slug", row=position)
    title = _text(result.get("title"))
    if title is None:
        raise InputError(source, f"organisation {content_id} has no title", row=position)
    return OrganisationRecord(
        content_id=content_id,
        slug=slug,
        title=title,
        acronym=_text(details.get("abbreviation")),
        organisation_type=_text(result.get("format")),
        status=_text(details.get("govuk_status")),
        closed_at=_closed_at(details.get("closed_at"), source, position),
        parent_slugs=_slugs(result.get("parent_organisations")),
        superseded_by_slugs=_slugs(result.get("superseding_organisations")),
        analytics_identifier=_text(result.get("analytics_identifier")),
    )


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.glob("*.json") if p.is_file())
    if not path.exists():
        raise InputError(path, "no such file or directory")
    return [path]


def iter_organisations(path: Path) -> Iterator[OrganisationRecord]:
    """Yield every organisation of a response file or a directory of page files, in order."""
    for file in _files(Path(path)):
        for position, result in enumerate(_results(_read_json(file), file), start=1):
            yield parse_organisation(result, source=file, position=position)


def read_organisations(path: Path) -> list[OrganisationRecord]:
    """Read the organisations of the Organisations API.

    Args:
        path: A response file (a page object with a `results` list, or a plain list of
            organisations), or a directory of such page files (`*.json`, read in name order).

    Returns:
        One record per content_id, in order of first appearance; when a content_id appears
        again (pages overlap), the last one read wins.

    Raises:
        InputError: a file is missing, not UTF-8, not JSON, not of the expected shape, or holds
            an organisation without content_id, slug or title. Names the file (and line or
            position).
    """
    records: dict[str, OrganisationRecord] = {}
    for record in iter_organisations(path):
        records[record.content_id] = record
    return list(records.values())
