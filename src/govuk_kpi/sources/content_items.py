"""Read GOV.UK Content API documents (`/api/content/<base_path>`) into `EditionRecord`s.

A content item is one JSON document. The readers here accept one item per `.json` file, a
directory tree of such files, or a `.jsonl` file with one item per line. They know nothing of the
database: they return records, and raise `InputError` for input that cannot be a page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from govuk_kpi.core.errors import InputError, RejectedRecord
from govuk_kpi.core.paths import normalise_path
from govuk_kpi.sources.records import EditionRecord, OrganisationRef
from govuk_kpi.sources.text_metrics import text_metrics

DEFAULT_LOCALE = "en"

# `details` keys whose value is body prose (HTML or plain text), across the schemas of the
# Content API. Order is reading order on the page, roughly: introductions, body, the rest.
_PROSE_KEYS = (
    "introduction",
    "introductory_paragraph",
    "lead_paragraph",
    "roll_call_introduction",
    "summary",
    "licence_short_description",
    "licence_overview",
    "body",
    "need_to_know",
    "what_you_need_to_know",
    "more_information",
    "access_and_opening_times",
    "outcome_detail",
    "final_outcome_detail",
    "public_feedback_detail",
    "more_info_contact_form",
    "more_info_email_address",
    "more_info_phone_number",
    "more_info_post_address",
)

# Lists of dicts whose prose lives in some of their keys (contact pages, collections).
_PROSE_LIST_KEYS: dict[str, tuple[str, ...]] = {
    "collection_groups": ("title", "body"),
    "contact_form_links": ("description",),
    "email_addresses": ("description",),
    "phone_numbers": ("description", "open_hours", "best_time_to_call"),
    "post_addresses": ("description",),
}

# Landing page blocks that carry prose, and the key holding it.
_BLOCK_PROSE = {"govspeak": "content", "heading": "content", "quote": "text"}


def _html_of(value: Any) -> list[str]:
    """The HTML of a body value: a string, or a list of {content_type, content} variants.

    From a list of variants take text/html, else text/govspeak, else text/plain, else the first;
    the variants say the same thing, so only one counts.
    """
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        variants = {
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


def _step_by_step_prose(nav: Any) -> Iterator[str]:
    """Prose of a step-by-step navigation: its introduction, step titles and step contents."""
    if not isinstance(nav, Mapping):
        return
    yield from _html_of(nav.get("introduction"))
    for step in nav.get("steps") or ():
        if not isinstance(step, Mapping):
            continue
        yield from _heading(step.get("title"))
        for content in step.get("contents") or ():
            if not isinstance(content, Mapping):
                continue
            if isinstance(content.get("text"), str):
                yield from _heading(content["text"])
            for item in content.get("contents") or ():
                if isinstance(item, Mapping):
                    yield from _heading(item.get("text"))


def body_fragments(details: Mapping[str, Any]) -> list[str]:
    """Every piece of body text of a content item's `details`, as HTML, in reading order.

    Covers `body` (string or content-type variants), all `parts` of guides and travel advice
    (title and body), introductions and "more information" of transactions, local transactions,
    places and licences, consultation and call-for-evidence outcomes, document collection
    groups, smart answer nodes, step-by-step navigations, landing page blocks and contact
    descriptions. Lists of links, metadata and navigation are not body text.
    """
    fragments: list[str] = []
    for key in _PROSE_KEYS:
        fragments += _html_of(details.get(key))
    for part in details.get("parts") or ():
        if isinstance(part, Mapping):
            fragments += _heading(part.get("title"))
            fragments += _html_of(part.get("body"))
    for node in details.get("nodes") or ():
        if isinstance(node, Mapping):
            fragments += _heading(node.get("title"))
            fragments += _html_of(node.get("body"))
    for key, fields in _PROSE_LIST_KEYS.items():
        for entry in details.get(key) or ():
            if isinstance(entry, Mapping):
                for name in fields:
                    value = entry.get(name)
                    fragments += _heading(value) if name == "title" else _html_of(value)
    fragments += _step_by_step_prose(details.get("step_by_step_nav"))
    fragments += _block_prose(details.get("blocks"))
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
        InputError: the value is present but not a timestamp.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RejectedRecord(source, f"{field} is not a timestamp: {value!r}", row=row)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise RejectedRecord(
            source, f"{field} is not a timestamp: {value[:40]!r}", row=row
        ) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _organisation_ref(link: Mapping[str, Any]) -> OrganisationRef | None:
    content_id = link.get("content_id")
    if not isinstance(content_id, str) or not content_id:
        return None
    base_path = link.get("base_path")
    slug = base_path.rstrip("/").rsplit("/", 1)[-1] if isinstance(base_path, str) else None
    details = link.get("details")
    acronym = details.get("acronym") if isinstance(details, Mapping) else None
    title = link.get("title")
    return OrganisationRef(
        content_id=content_id,
        title=title if isinstance(title, str) else None,
        slug=slug or None,
        acronym=acronym if isinstance(acronym, str) and acronym else None,
    )


def _organisations(
    links: Mapping[str, Any],
) -> tuple[OrganisationRef | None, tuple[OrganisationRef, ...]]:
    """The primary organisation and all organisations, primary first, no repeats.

    The primary is the primary publishing organisation, or, for items without one (most
    mainstream and older items), the first of `links.organisations`, as GOV.UK's content
    data warehouse does.
    """
    primary_links = links.get("primary_publishing_organisation") or []
    primaries = [
        ref
        for ref in (_organisation_ref(x) for x in primary_links if isinstance(x, Mapping))
        if ref is not None
    ]
    primary = primaries[0] if primaries else None
    refs = [
        ref
        for ref in (
            _organisation_ref(x) for x in links.get("organisations") or [] if isinstance(x, Mapping)
        )
        if ref is not None
    ]
    if primary is None and refs:
        primary = refs[0]
    ordered: dict[str, OrganisationRef] = {}
    if primary is not None and any(ref.content_id == primary.content_id for ref in refs):
        ordered[primary.content_id] = primary
    for ref in refs:
        ordered.setdefault(ref.content_id, ref)
    return primary, tuple(ordered.values())


def _is_withdrawn(notice: Any) -> bool:
    """Withdrawn when the notice has an explanation or a withdrawn_at (an empty {} is not)."""
    if not isinstance(notice, Mapping):
        return False
    return any(
        isinstance(notice.get(key), str) and notice[key].strip()
        for key in ("explanation", "withdrawn_at")
    )


def _text(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    return value if isinstance(value, str) and value.strip() else None


def parse_content_item(
    doc: Mapping[str, Any], *, source: str, row: int | None = None
) -> EditionRecord:
    """Reduce one Content API document to an `EditionRecord`.

    Decisions on messy input:

    - A page needs a `content_id` and a `base_path`: without either (some `gone` and `redirect`
      items) it cannot be a page item, and `InputError` says so. A `gone` or `redirect` item
      that has both is a record like any other; its `document_type` tells what it is.
    - A missing `title` (typical of `gone` items) becomes the base path, so every edition has
      something to show; a missing `locale` is "en"; a missing `document_type` is the
      `schema_name` and vice versa.
    - The title and description are kept as raw text, HTML and all: they are data, and escaping
      is the job of whatever displays them.
    - `withdrawn` is true when `withdrawn_notice` has an explanation or a withdrawn_at.

    Args:
        doc: The decoded JSON document.
        source: Where it came from (a file name), used in error messages.
        row: Its line in a multi-item file, stored as `source_row` and used in errors.

    Returns:
        The record.

    Raises:
        InputError: the document cannot be a page (not an object, no content_id, no usable
            base_path, no type) or holds a timestamp that is not one.
    """
    if not isinstance(doc, Mapping):
        raise RejectedRecord(
            source, f"content item is a JSON {type(doc).__name__}, not an object", row
        )
    kind = _text(doc, "document_type") or _text(doc, "schema_name")
    content_id = _text(doc, "content_id")
    raw_path = _text(doc, "base_path")
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
            source, f"content item {content_id} has no document_type or schema_name", row
        )
    try:
        base_path = normalise_path(raw_path)
    except ValueError as exc:
        raise RejectedRecord(source, f"content item {content_id} base_path: {exc}", row) from None

    details = doc.get("details") if isinstance(doc.get("details"), Mapping) else {}
    links = doc.get("links") if isinstance(doc.get("links"), Mapping) else {}
    primary, organisations = _organisations(links)
    metrics = text_metrics(
        body_fragments(details),
        attachments=attachment_records(details),
        document_html=document_html(details),
    )

    def when(field: str) -> datetime | None:
        return parse_datetime(doc.get(field), field=field, source=source, row=row)

    return EditionRecord(
        content_id=content_id,
        locale=_text(doc, "locale") or DEFAULT_LOCALE,
        base_path=base_path,
        title=_text(doc, "title") or base_path,
        description=_text(doc, "description"),
        document_type=_text(doc, "document_type") or kind,
        schema_name=_text(doc, "schema_name") or kind,
        publishing_app=_text(doc, "publishing_app"),
        primary_organisation=primary,
        organisations=organisations,
        first_published_at=when("first_published_at"),
        public_updated_at=when("public_updated_at"),
        updated_at=when("updated_at"),
        withdrawn=_is_withdrawn(doc.get("withdrawn_notice")),
        phase=_text(doc, "phase"),
        metrics=metrics,
        source_row=row,
    )


def _decode(path: Path, data: bytes) -> str:
    """Decode UTF-8 (a BOM is allowed), naming the offset and line of the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            path,
            f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line})",
            row=line,
        ) from None


def _load_json(path: Path, text: str, *, line_offset: int = 0) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        line = exc.lineno + line_offset
        raise InputError(
            path, f"malformed JSON: {exc.msg} (line {line}, column {exc.colno})", row=line
        ) from None


def _items_of_file(path: Path) -> Iterator[tuple[Any, int | None]]:
    """Yield (document, row) for each item of a .json or .jsonl file.

    A bad line of a .jsonl file is yielded as an `InputError` in place of the document, so the
    lines after it can still be read; a bad .json file raises.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    text = _decode(path, data)
    if path.suffix.lower() == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    yield _load_json(path, line, line_offset=number - 1), number
                except InputError as exc:
                    yield exc, number
        return
    doc = _load_json(path, text)
    if isinstance(doc, list):
        # A JSON array of items: each keeps its 1-based position.
        for number, item in enumerate(doc, start=1):
            yield item, number
    else:
        yield doc, None


def content_item_files(path: Path) -> list[Path]:
    """The item files under `path`: the file itself, or every *.json / *.jsonl below a directory.

    Sorted by relative path, so every run reads in the same order.
    """
    path = Path(path)
    if path.is_dir():
        files = [
            p for p in path.rglob("*") if p.suffix.lower() in {".json", ".jsonl"} and p.is_file()
        ]
        return sorted(files, key=lambda p: p.relative_to(path).as_posix())
    if not path.exists():
        raise InputError(path, "no such file or directory")
    return [path]


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
