"""Read the GOV.UK Organisations API (`/api/organisations`) into `OrganisationRecord`s.

A response is checked whole before any of it loads: a file that is not UTF-8 (a leading
byte-order mark is allowed), not JSON, too large or nested too deeply, a page without a
`results` list, and an organisation with a field of the wrong JSON type, without a
content_id, slug or title, or holding a value JSON does not allow (`NaN`, a key twice) each
raise one `InputError` naming the file and the organisation's position in `results`.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from govuk_kpi.core.errors import InputError
from govuk_kpi.sources.json_input import (
    BadValue,
    array_value,
    flaw,
    json_type,
    object_value,
    parse,
    read_text,
    text_value,
)
from govuk_kpi.sources.reading import readable
from govuk_kpi.sources.records import OrganisationRecord

# Widths of the warehouse columns (`warehouse/models.py` DimOrganisation): PostgreSQL refuses
# a longer value where SQLite would keep it, so the reader refuses it for both.
MAX_CHARS = {
    "content_id": 64,
    "slug": 255,
    "acronym": 64,
    "organisation_type": 64,
    "status": 32,
    "analytics_identifier": 32,
}


def _read_json(path: Path) -> Any:
    """Decode a JSON file, naming the file and line of bad bytes, bad syntax or deep nesting."""
    text = read_text(path)
    if not text.strip():
        raise InputError(path, "empty file: no JSON in it", row=1)
    doc, flawed = parse(path, text)
    if flawed:
        # Name the organisation that holds the value, else the place in the page.
        if isinstance(doc, Mapping) and isinstance(doc.get("results"), list):
            entries = doc["results"]
        else:
            entries = doc if isinstance(doc, list) else []
        for position, entry in enumerate(entries, start=1):
            reason = flaw(entry, "the organisation")
            if reason is not None:
                raise InputError(path, reason, row=position)
        raise InputError(path, flaw(doc, "the response") or "a value JSON does not allow")
    return doc


def _results(doc: Any, path: Path) -> list[Any]:
    """The organisations of one response: a page object's `results`, or a plain list."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, Mapping) and "results" in doc:
        if isinstance(doc["results"], list):
            return doc["results"]
        raise InputError(
            path, f"`results` is a JSON {json_type(doc['results'])}, not a list of organisations"
        )
    raise InputError(
        path,
        f"expected an Organisations API page with a `results` list, or a list; "
        f"found a JSON {json_type(doc)}",
    )


def slug_of(link: Any) -> str | None:
    """The slug of an organisation link: the last path segment of its `id` or `web_url`.

    `https://www.gov.uk/api/organisations/ministry-of-justice` and
    `https://www.gov.uk/government/organisations/ministry-of-justice` both give
    "ministry-of-justice".
    """
    urls: list[Any]
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


def _slug(value: str | None, field: str) -> str | None:
    """A slug checked as an identifier: no control characters, no wider than its column."""
    return text_value(value, field, identifier=True, max_chars=MAX_CHARS["slug"])


def _slugs(links: Any, field: str) -> tuple[str, ...]:
    """The slugs of a list of organisation links (objects with `id`/`web_url`, or URLs)."""
    slugs = []
    for n, link in enumerate(array_value(links, field)):
        where = f"{field}[{n}]"
        if isinstance(link, Mapping):
            for key in ("id", "web_url"):
                text_value(link.get(key), f"{where}.{key}")
        elif not isinstance(link, str):
            raise BadValue(f"{where} is a JSON {json_type(link)}, not an object")
        slug = _slug(slug_of(link), where)
        if slug:
            slugs.append(slug)
    return tuple(dict.fromkeys(slugs))  # ordered, no repeats


def _closed_at(value: Any, path: Path, position: int) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip()).date()
        except ValueError:
            pass
    raise InputError(path, f"closed_at is not a date: {str(value)[:40]!r}", row=position)


def _text(value: Any, field: str, *, identifier: bool = False, column: str = "") -> str | None:
    """A string with HTML entities decoded ("&amp;" → "&") and control characters removed, or
    None when missing or empty; an identifier is taken as it is (no control characters)."""
    if not identifier and isinstance(value, str):
        value = html.unescape(value)
    text = text_value(value, field, identifier=identifier, max_chars=MAX_CHARS.get(column or field))
    return text.strip() if text is not None else None


def parse_organisation(result: Any, *, source: Path, position: int) -> OrganisationRecord:
    """One entry of an Organisations API `results` list as a record.

    The slug is `details.slug`, else the last segment of `web_url` or `id`; the title has its
    HTML entities decoded; `format` is the organisation type; `superseded_by_slugs` are the
    `superseding_organisations` (the ones that replaced this one). Text loses its control
    characters (tab, line feed and carriage return stay), so every database stores the same.

    Args:
        result: The decoded JSON object.
        source: The file it came from, for errors.
        position: Its 1-based position in that file's `results`, for errors.

    Raises:
        InputError: the entry is not an object, has no content_id, slug or title, or has a
            field of the wrong JSON type, with control characters in an identifier, or wider
            than its warehouse column.
    """
    if not isinstance(result, Mapping):
        raise InputError(
            source, f"organisation is a JSON {json_type(result)}, not an object", row=position
        )
    try:
        return _parse_organisation(result, source=source, position=position)
    except BadValue as exc:
        raise InputError(source, f"organisation: {exc}", row=position) from None


def _parse_organisation(
    result: Mapping[str, Any], *, source: Path, position: int
) -> OrganisationRecord:
    details = object_value(result.get("details"), "details")
    content_id = _text(
        details.get("content_id"), "details.content_id", identifier=True, column="content_id"
    )
    if content_id is None:
        raise InputError(source, "organisation has no details.content_id", row=position)
    for key in ("id", "web_url"):
        text_value(result.get(key), key)
    slug = _text(details.get("slug"), "details.slug", identifier=True, column="slug")
    slug = slug or _slug(slug_of(result), "the slug of web_url or id")
    if slug is None:
        raise InputError(source, f"organisation {content_id} has no slug", row=position)
    title = _text(result.get("title"), "title")
    if title is None:
        raise InputError(source, f"organisation {content_id} has no title", row=position)
    return OrganisationRecord(
        content_id=content_id,
        slug=slug,
        title=title,
        acronym=_text(details.get("abbreviation"), "details.abbreviation", column="acronym"),
        organisation_type=_text(result.get("format"), "format", column="organisation_type"),
        status=_text(details.get("govuk_status"), "details.govuk_status", column="status"),
        closed_at=_closed_at(details.get("closed_at"), source, position),
        parent_slugs=_slugs(result.get("parent_organisations"), "parent_organisations"),
        superseded_by_slugs=_slugs(
            result.get("superseding_organisations"), "superseding_organisations"
        ),
        analytics_identifier=_text(result.get("analytics_identifier"), "analytics_identifier"),
    )


def _files(path: Path) -> list[Path]:
    """The response file, or the *.json page files of a folder (a broken link is kept, so
    reading it says why)."""
    if path.is_dir():
        return sorted(p for p in path.glob("*.json") if not p.is_dir())
    return [readable(path)]


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
        InputError: a file is missing, not UTF-8, not JSON, too large or too deeply nested, not
            of the expected shape, or holds an organisation without content_id, slug or title
            or with a field of the wrong type. Names the file (and line or position).
    """
    records: dict[str, OrganisationRecord] = {}
    for record in iter_organisations(path):
        records[record.content_id] = record
    return list(records.values())
