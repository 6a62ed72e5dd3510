"""Read GOV.UK Content API documents (`/api/content/<base_path>`) into `EditionRecord`s.

A content item is one JSON document. The readers here accept one item per `.json` file, a
directory tree of such files, or a `.jsonl` file with one item per line. They know nothing of the
database: they return records, and raise `InputError` for input that cannot be a page
(`RejectedRecord` for one item that cannot be a page while the others can).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from govuk_kpi.core.errors import InputError, RejectedRecord
from govuk_kpi.core.limits import MAX_LINE_BYTES_ENV, limits
from govuk_kpi.core.paths import normalise_path
from govuk_kpi.core.prose_fields import PROSE_FIELDS
from govuk_kpi.core.text import strip_control
from govuk_kpi.sources.json_input import (
    BadValue,
    array_value,
    flaw,
    json_type,
    object_value,
    read_text,
    text_value,
)
from govuk_kpi.sources.json_input import parse as parse_json
from govuk_kpi.sources.reading import readable
from govuk_kpi.sources.records import EditionRecord, OrganisationRef
from govuk_kpi.sources.text_metrics import text_metrics

DEFAULT_LOCALE = "en"

# Landing page blocks that carry prose, and the key holding it.
_BLOCK_PROSE = {"govspeak": "content", "heading": "content", "quote": "text"}


def _list(value: Any) -> list[Any]:
    """A list of prose entries, or none: `details` differ by schema, and a shape not known to
    hold prose holds none (an unknown key, a string where a list was expected)."""
    return value if isinstance(value, list) else []


def _html_of(value: Any) -> list[str]:
    """The HTML of a body value: a string, or a list of {content_type, content} variants.

    From a list of variants take text/html, else text/govspeak, else text/plain, else the first;
    the variants say the same thing, so only one counts.
    """
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        variants: dict[str, Any] = {  # the content, checked a string
            str(v.get("content_type")): v.get("content")
            for v in value
            if isinstance(v, Mapping) and isinstance(v.get("content"), str)
        }
        for content_type in ("text/html", "text/govspeak", "text/plain"):
            if content_type in variants:
                return [variants[content_type]]
        if variants:
            return [next(iter(variants.values()))]
    return []


def _heading(text: Any) -> list[str]:
    """A plain-text title as a heading block (escaped: a title is text, not markup)."""
    if isinstance(text, str) and text.strip():
        return [f"<h2>{escape(text)}</h2>"]
    return []


def _block_prose(blocks: Any) -> Iterator[str]:
    """Prose of landing-page blocks, which nest blocks inside blocks and *_content dicts."""
    if isinstance(blocks, list):
        for block in blocks:
            yield from _block_prose(block)
    elif isinstance(blocks, Mapping):
        key = _BLOCK_PROSE.get(str(blocks.get("type")))
        if key is not None:
            value = blocks.get(key)
            if blocks.get("type") == "govspeak":
                yield from _html_of(value)
            else:
                yield from _heading(value)
        for name, value in blocks.items():
            if name == "blocks" or (name.endswith("_content") and isinstance(value, Mapping)):
                yield from _block_prose(value)


def _found_at(value: Any, steps: list[str]) -> Iterator[Any]:
    """The values at a prose field's path below `value` (`a.b`, `a[]`: each entry of a)."""
    if not steps:
        yield value
        return
    step, rest = steps[0], steps[1:]
    if not isinstance(value, Mapping):
        return
    if step.endswith("[]"):
        for entry in _list(value.get(step[:-2])):
            yield from _found_at(entry, rest)
    elif step in value:
        yield from _found_at(value[step], rest)


def _prose(value: Any, kind: str) -> list[str]:
    if kind == "blocks":
        return list(_block_prose(value))
    return _heading(value) if kind == "text" else _html_of(value)


def body_fragments(details: Mapping[str, Any]) -> list[str]:
    """Every piece of prose of a content item's `details`, as HTML, in reading order.

    The prose is what `core.prose_fields.PROSE_FIELDS` lists, read from every item whatever
    its schema: a field that is absent, or not of the shape the list expects, holds none.
    Lists of links, metadata and navigation are not prose.
    """
    fragments: list[str] = []
    for field in PROSE_FIELDS:
        for value in _found_at(details, field.path.split(".")):
            fragments += _prose(value, field.kind)
    return fragments


def attachment_records(details: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The attachment dicts of `details`: `attachments` and travel advice's single `document`.

    `featured_attachments` and the consultation `*_attachments` lists hold ids of entries of
    `attachments`, so they add no files of their own; ids that resolve to nothing cannot be
    classified and are not counted.
    """
    records: list[Mapping[str, Any]] = []
    for key, value in details.items():
        if key.endswith("attachments") and isinstance(value, list):
            records += [item for item in value if isinstance(item, Mapping)]
    if isinstance(details.get("document"), Mapping):
        records.append(details["document"])
    return records


def document_html(details: Mapping[str, Any]) -> list[str]:
    """HTML lists of an edition's files (`documents`, `final_outcome_documents`, ...)."""
    html: list[str] = []
    for key, value in details.items():
        if key.endswith("documents") and isinstance(value, list):
            html += [item for item in value if isinstance(item, str)]
    return html


def parse_datetime(
    value: Any, *, field: str, source: str, row: int | None = None
) -> datetime | None:
    """Parse a Content API timestamp into a timezone-aware UTC datetime.

    Accepts ISO 8601 with an offset or "Z" ('2012-10-10T19:37:20.000+00:00',
    '2018-08-02T08:58:29.045Z'); a timestamp without an offset is taken as UTC.

    Returns:
        The datetime, or None when the value is missing or empty.

    Raises:
        RejectedRecord: the value is present but not a timestamp (or one that cannot be
            written in UTC, such as year 1 at +01:00).
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RejectedRecord(
            source, f"{field} is not a timestamp: a JSON {json_type(value)}", row=row
        )
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise RejectedRecord(
            source, f"{field} is not a timestamp: {value[:40]!r}", row=row
        ) from None


# Widths of the warehouse columns these fields go to (`warehouse/models.py`): PostgreSQL
# refuses a longer value where SQLite would keep it, so the reader refuses it for both.
MAX_CHARS = {
    "content_id": 64,
    "locale": 16,
    "document_type": 64,
    "schema_name": 64,
    "publishing_app": 64,
    "phase": 16,
    "organisation_slug": 255,
    "organisation_acronym": 64,
}

# Schemas of items that are no page to read (GOV.UK's placeholders for removed or moved
# content): they may have no title, and are titled by their path.
UNTITLED_SCHEMAS = frozenset({"gone", "redirect", "vanish"})


def _organisation_ref(link: Any, where: str) -> OrganisationRef | None:
    """An organisation link as a reference; None for a link without a content_id."""
    link = object_value(link, where)
    content_id = text_value(
        link.get("content_id"),
        f"{where}.content_id",
        identifier=True,
        max_chars=MAX_CHARS["content_id"],
    )
    if content_id is None:
        return None
    base_path = text_value(link.get("base_path"), f"{where}.base_path", identifier=True)
    slug = base_path.rstrip("/").rsplit("/", 1)[-1] if base_path else None
    if slug and len(slug) > MAX_CHARS["organisation_slug"]:
        raise BadValue(
            f"{where}.base_path ends in a slug of {len(slug):,} characters, "
            f"more than {MAX_CHARS['organisation_slug']}"
        )
    details = object_value(link.get("details"), f"{where}.details")
    return OrganisationRef(
        content_id=content_id,
        title=text_value(link.get("title"), f"{where}.title"),
        slug=slug or None,
        acronym=text_value(
            details.get("acronym"),
            f"{where}.details.acronym",
            max_chars=MAX_CHARS["organisation_acronym"],
        ),
    )


def _organisations(
    links: Mapping[str, Any],
) -> tuple[OrganisationRef | None, tuple[OrganisationRef, ...]]:
    """The primary organisation and all organisations, primary first, no repeats.

    The primary is the primary publishing organisation, or, for items without one (most
    mainstream and older items), the first of `links.organisations`, as GOV.UK's content
    data warehouse does.
    """

    def refs(key: str) -> list[OrganisationRef]:
        found = (
            _organisation_ref(link, f"links.{key}[{n}]")
            for n, link in enumerate(array_value(links.get(key), f"links.{key}"))
        )
        return [ref for ref in found if ref is not None]

    primaries = refs("primary_publishing_organisation")
    primary = primaries[0] if primaries else None
    all_refs = refs("organisations")
    if primary is None and all_refs:
        primary = all_refs[0]
    ordered: dict[str, OrganisationRef] = {}
    if primary is not None and any(ref.content_id == primary.content_id for ref in all_refs):
        ordered[primary.content_id] = primary
    for ref in all_refs:
        ordered.setdefault(ref.content_id, ref)
    return primary, tuple(ordered.values())


def _is_withdrawn(notice: Mapping[str, Any]) -> bool:
    """Withdrawn when the notice has an explanation or a withdrawn_at (an empty {} is not)."""
    return any(
        isinstance(notice.get(key), str) and notice[key].strip()
        for key in ("explanation", "withdrawn_at")
    )


def _field(doc: Mapping[str, Any], key: str, *, identifier: bool = False) -> str | None:
    return text_value(doc.get(key), key, identifier=identifier, max_chars=MAX_CHARS.get(key))


def parse_content_item(
    doc: Mapping[str, Any], *, source: str, row: int | None = None
) -> EditionRecord:
    """Reduce one Content API document to an `EditionRecord`.

    Decisions on messy input:

    - A page needs a `content_id` and a `base_path`: without either (some `gone` and `redirect`
      items) it cannot be a page item, and `RejectedRecord` says so. A `gone` or `redirect` item
      that has both is a record like any other; its `document_type` tells what it is.
    - A page needs a `title`; only `gone`, `redirect` and `vanish` items, which GOV.UK publishes
      without one, are titled by their base path. A missing `locale` is "en"; a missing
      `document_type` is the item's `format` (what items before 2016 carry), else its
      `schema_name`, and a missing `schema_name` its `format`, else its `document_type`.
    - Every field read must have its JSON type (text a string, `details`, `links` and
      `withdrawn_notice` objects, organisation links arrays of objects) and fit its warehouse
      column; anything else rejects the item, naming the field: no value is guessed.
    - Text keeps what it says, HTML and all (escaping is the job of whatever displays it), but
      loses its control characters (tab, line feed and carriage return stay; `core.text`), so
      every database stores the same; identifiers with control characters are refused.
    - `withdrawn` is true when `withdrawn_notice` has an explanation or a withdrawn_at.

    Args:
        doc: The decoded JSON document.
        source: Where it came from (a file name), used in error messages.
        row: Its line in a multi-item file, stored as `source_row` and used in errors.

    Returns:
        The record.

    Raises:
        RejectedRecord: the document cannot be a page (not an object, no content_id, no usable
            base_path, no type, no title), holds a field of the wrong type or too long, or a
            timestamp that is not one.
    """
    if not isinstance(doc, Mapping):
        raise RejectedRecord(source, f"content item is a JSON {json_type(doc)}, not an object", row)
    try:
        return _parse_content_item(doc, source=source, row=row)
    except BadValue as exc:
        raise RejectedRecord(source, str(exc), row) from None


def _parse_content_item(doc: Mapping[str, Any], *, source: str, row: int | None) -> EditionRecord:
    content_id = _field(doc, "content_id", identifier=True)
    raw_path = _field(doc, "base_path", identifier=True)
    # Items published before 2016 name their type in `format`, which `document_type` and
    # `schema_name` later replaced: where they are absent, `format` stands for them.
    legacy_format = text_value(
        doc.get("format"), "format", identifier=True, max_chars=MAX_CHARS["document_type"]
    )
    document_type = _field(doc, "document_type", identifier=True) or legacy_format
    schema_name = _field(doc, "schema_name", identifier=True) or legacy_format
    kind = document_type or schema_name
    if content_id is None:
        raise RejectedRecord(
            source,
            f"{kind or 'content'} item at {raw_path or '(no base_path)'} has no content_id, "
            "so it cannot be a page",
            row,
        )
    if raw_path is None:
        raise RejectedRecord(source, f"content item {content_id} has no base_path", row)
    if kind is None:
        raise RejectedRecord(
            source,
            f"content item {content_id} has no document_type or schema_name (nor format)",
            row,
        )
    try:
        base_path = normalise_path(raw_path)
    except ValueError as exc:
        raise RejectedRecord(source, f"content item {content_id} base_path: {exc}", row) from None
    title = _field(doc, "title")
    if title is None:
        if not UNTITLED_SCHEMAS.intersection((document_type, schema_name)):
            raise RejectedRecord(source, f"{kind} item {content_id} has no title", row)
        title = base_path

    details = object_value(doc.get("details"), "details")
    links = object_value(doc.get("links"), "links")
    notice = object_value(doc.get("withdrawn_notice"), "withdrawn_notice")
    primary, organisations = _organisations(links)
    metrics = text_metrics(
        [strip_control(fragment) for fragment in body_fragments(details)],
        attachments=attachment_records(details),
        document_html=document_html(details),
    )

    def when(field: str) -> datetime | None:
        return parse_datetime(doc.get(field), field=field, source=source, row=row)

    return EditionRecord(
        content_id=content_id,
        locale=_field(doc, "locale", identifier=True) or DEFAULT_LOCALE,
        base_path=base_path,
        title=title,
        description=_field(doc, "description"),
        document_type=document_type or kind,
        schema_name=schema_name or kind,
        publishing_app=_field(doc, "publishing_app"),
        primary_organisation=primary,
        organisations=organisations,
        first_published_at=when("first_published_at"),
        public_updated_at=when("public_updated_at"),
        updated_at=when("updated_at"),
        withdrawn=_is_withdrawn(notice),
        phase=_field(doc, "phase"),
        metrics=metrics,
        source_row=row,
    )


def _items_of_file(path: Path) -> Iterator[tuple[Any, int | None]]:
    """Yield (document, row) for each item of a .json or .jsonl file.

    A bad line of a .jsonl file is yielded as an `InputError` in place of the document, so the
    lines after it can still be read, and an item holding a value JSON does not allow (`NaN`,
    a key twice) as a `RejectedRecord`; a bad .json file raises.
    """
    text = read_text(path)
    if path.suffix.lower() == ".jsonl":
        max_line = limits().max_line_bytes
        for number, line in enumerate(_LINE_ENDS.split(text), start=1):
            if not line.strip():
                continue
            size = len(line.encode("utf-8")) if len(line) * 4 > max_line else 0
            if size > max_line:
                yield (
                    InputError(
                        path,
                        f"the line is {size:,} bytes, over the limit of {max_line:,} "
                        f"(raise {MAX_LINE_BYTES_ENV} to allow it)",
                        row=number,
                    ),
                    number,
                )
                continue
            try:
                doc, flawed = parse_json(path, line, line_offset=number - 1)
            except InputError as exc:
                yield exc, number
                continue
            yield _unflawed(path, doc, number) if flawed else doc, number
        return
    if not text.strip():
        raise InputError(path, "empty file: no JSON in it", row=1)
    doc, flawed = parse_json(path, text)
    if isinstance(doc, list):
        # A JSON array of items: each keeps its 1-based position.
        for number, item in enumerate(doc, start=1):
            yield _unflawed(path, item, number) if flawed else item, number
    else:
        yield _unflawed(path, doc, None) if flawed else doc, None


# JSON text holds no raw line ends in its strings, so any of these ends a .jsonl line (but
# not U+2028 and the other breaks `str.splitlines` knows, which a JSON string may hold).
_LINE_ENDS = re.compile(r"\r\n|\r|\n")


def _unflawed(path: Path, doc: Any, row: int | None) -> Any:
    """The item, or a reject naming the first value in it that JSON does not allow."""
    reason = flaw(doc, "the content item")
    return doc if reason is None else RejectedRecord(path, reason, row)


def content_item_files(path: Path) -> list[Path]:
    """The item files under `path`: the file itself, or every *.json / *.jsonl below a directory.

    Sorted by relative path, so every run reads in the same order. A name that is no folder
    but cannot be read (a broken link, a link to itself) is kept, so reading it says why.
    """
    path = Path(path)
    if path.is_dir():
        files = [
            p for p in path.rglob("*") if p.suffix.lower() in {".json", ".jsonl"} and not p.is_dir()
        ]
        return sorted(files, key=lambda p: p.relative_to(path).as_posix())
    return [readable(path)]


def read_content_items(
    path: Path, *, on_error: Callable[[InputError], None] | None = None
) -> Iterator[EditionRecord]:
    """Read content items from a .json file, a .jsonl file or a directory tree of them.

    Args:
        path: A file with one item (or a JSON array of items), a .jsonl file with one item per
            line, or a directory searched recursively for *.json and *.jsonl files.
        on_error: When given, an item or file that cannot be loaded is passed to it as an
            `InputError` and reading goes on (a loader records it as a reject). Without it the
            first such error is raised.

    Yields:
        One record per item, in a deterministic order. `source_row` is the line of a .jsonl item
        (the position in a JSON array), else None.

    Raises:
        InputError: the path does not exist, or (without `on_error`) a file is not UTF-8, not
            JSON, or holds an item that cannot be a page. The error names the file and line.
    """
    for file in content_item_files(Path(path)):
        try:
            for doc, row in _items_of_file(file):
                try:
                    if isinstance(doc, InputError):
                        raise doc
                    yield parse_content_item(doc, source=str(file), row=row)
                except InputError as exc:
                    if on_error is None:
                        raise
                    on_error(exc)
        except InputError as exc:
            if on_error is None:
                raise
            on_error(exc)
