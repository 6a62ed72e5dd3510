"""The bad-input corpus of content items and organisations, on both backends.

Every case runs `govuk-kpi load` on a fresh copy of one small warehouse (`support.corpus`)
that holds the real organisations and guide content items. A file-level problem (not JSON,
not UTF-8, too large, nested too deeply, an Organisations API response of the wrong shape or
with a bad organisation) is one error line naming the file and row, a `failed` batch and no
data change. A content item that cannot be a page, or holds a value of the wrong JSON type or
one JSON does not allow, is a reject with its reason, and the data is exactly what the
file's valid items alone leave. Text with control characters loads without them, the same
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from govuk_kpi.sources import content_items, organisations
from govuk_kpi.warehouse.db import get_engine
from govuk_kpi.warehouse.models import DimDocumentType, DimEdition, DimOrganisation, DimPage
from support.corpus import (
    GUIDES,
    ORGANISATIONS,
    CorpusWarehouse,
    assert_partly_loaded,
    assert_refused,
    corpus_template,  # noqa: F401 (a fixture)
    corpus_warehouse,  # noqa: F401 (a fixture)
    run_load,
)

OBSERVED_AT = ("--observed-at", "2024-01-01T00:00:00")
MARK = "\ue000corpus-raw\ue000"  # stands for raw JSON text json.dumps cannot write
DROP = object()


# -- content items made from real ones -------------------------------------------------------


@cache
def _guide(name: str) -> dict[str, Any]:
    return json.loads((GUIDES / name).read_text(encoding="utf-8"))


def page(name: str, n: int, title: str | None = None) -> dict[str, Any]:
    """A real guide as a new page: its own content_id and base path (and title)."""
    doc = copy.deepcopy(_guide(name))
    doc["content_id"] = f"c0ffee00-0000-4000-8000-{n:012d}"
    doc["base_path"] = f"/corpus-page-{n}"
    if title is not None:
        doc["title"] = title
    return doc


GOOD_ITEMS = [page("guide.json", 1, "Corpus page one"), page("single-page-guide.json", 2)]


def _edit(doc: dict[str, Any], where: str, value: Any) -> dict[str, Any]:
    """`doc` with the value at a dotted path set (DROP removes it)."""
    *parents, last = where.split(".")
    node = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is DROP:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


def change(where: str, value: Any) -> Callable[[dict[str, Any]], str]:
    """A maker of the bad item: the third page with one value changed."""
    return lambda doc: json.dumps(_edit(doc, where, value))


def raw(where: str, text: str) -> Callable[[dict[str, Any]], str]:
    """A maker of the bad item with raw JSON text at a dotted path (`NaN`, a huge number)."""
    return lambda doc: json.dumps(_edit(doc, where, MARK)).replace(json.dumps(MARK), text)


def twice(key: str, value: Any) -> Callable[[dict[str, Any]], str]:
    """A maker of the bad item with `key` written a second time at the end of the item."""
    return lambda doc: json.dumps(doc)[:-1] + f", {json.dumps(key)}: {json.dumps(value)}}}"


def whole(value: Any) -> Callable[[dict[str, Any]], str]:
    """A maker of an item that is not an object at all."""
    return lambda doc: json.dumps(value)


def items_file(texts: list[str]) -> bytes:
    """A JSON array of item texts, one a line."""
    return ("[\n" + ",\n".join(texts) + "\n]\n").encode("utf-8")


def good_texts() -> list[str]:
    return [json.dumps(item) for item in GOOD_ITEMS]


# bad item (made from a third page) -> the reason it is rejected with
REJECTED: dict[str, tuple[Callable[[dict[str, Any]], str], str]] = {
    "title-a-number": (change("title", 42), "title is a JSON number, not a string"),
    "title-a-list": (change("title", ["A", "B"]), "title is a JSON array, not a string"),
    "title-true": (change("title", True), "title is a JSON boolean, not a string"),
    "title-missing": (
        change("title", DROP),
        "guide item c0ffee00-0000-4000-8000-000000000003 has no title",
    ),
    "title-null": (change("title", None), "has no title"),
    "title-blank": (change("title", "   "), "has no title"),
    "title-only-control-characters": (change("title", "\x00\x07"), "has no title"),
    "title-lone-surrogate": (raw("title", '"bad \\ud800 title"'), "not valid Unicode"),
    "details-a-string": (change("details", "<p>Body</p>"), "details is a JSON string"),
    "details-a-list": (change("details", []), "details is a JSON array, not an object"),
    "links-a-string": (change("links", "none"), "links is a JSON string, not an object"),
    "organisations-an-object": (
        change("links.organisations", {}),
        "links.organisations is a JSON object, not an array",
    ),
    "organisation-link-a-string": (
        change("links.organisations.0", "hm-revenue-customs"),
        "links.organisations[0] is a JSON string, not an object",
    ),
    "organisation-link-content-id-a-number": (
        change("links.organisations.0.content_id", 7),
        "links.organisations[0].content_id is a JSON number",
    ),
    "organisation-link-acronym-too-long": (
        change("links.organisations.0.details", {"acronym": "A" * 65}),
        "links.organisations[0].details.acronym is 65 characters long, more than 64",
    ),
    "withdrawn-notice-a-string": (
        change("withdrawn_notice", "withdrawn"),
        "withdrawn_notice is a JSON string, not an object",
    ),
    "nan": (raw("details.rating", "NaN"), "details.rating is NaN, which JSON does not allow"),
    "infinity": (raw("details.rating", "Infinity"), "is Infinity, which JSON does not allow"),
    "minus-infinity": (raw("title", "-Infinity"), "title is -Infinity"),
    "number-out-of-range": (raw("details.rating", "1e999"), "the number 1e999, out of range"),
    "number-of-5000-digits": (raw("details.rating", "9" * 5000), "a number of 5,000 digits"),
    "nan-deep-in-details": (
        raw("details.parts.0.slug", "NaN"),
        "details.parts[0].slug is NaN",
    ),
    "title-twice": (twice("title", "Another title"), "the key 'title' appears twice"),
    "key-twice-in-details": (
        lambda doc: json.dumps(doc).replace('"parts": [', '"body": "x", "body": "y", "parts": ['),
        "the key 'body' appears twice in details",
    ),
    "content-id-a-number": (change("content_id", 12345), "content_id is a JSON number"),
    "content-id-missing": (change("content_id", DROP), "has no content_id"),
    "content-id-with-nul": (change("content_id", "c0ffee\x00"), "content_id holds control"),
    "content-id-too-long": (change("content_id", "c" * 65), "65 characters long, more than 64"),
    "base-path-a-number": (change("base_path", 7), "base_path is a JSON number"),
    "base-path-missing": (change("base_path", DROP), "has no base_path"),
    "base-path-relative": (change("base_path", "corpus-page"), "is neither absolute"),
    "base-path-with-newline": (change("base_path", "/corpus\n3"), "control characters"),
    "base-path-with-nul": (change("base_path", "/corpus\x003"), "base_path holds control"),
    "document-type-a-list": (change("document_type", ["guide"]), "document_type is a JSON array"),
    "schema-name-an-object": (change("schema_name", {}), "schema_name is a JSON object"),
    "no-document-type-nor-schema": (
        lambda doc: json.dumps(_edit(_edit(doc, "document_type", DROP), "schema_name", DROP)),
        "has no document_type or schema_name",
    ),
    "document-type-too-long": (change("document_type", "g" * 65), "more than 64"),
    "locale-a-number": (change("locale", 1), "locale is a JSON number, not a string"),
    "locale-too-long": (change("locale", "en-" + "x" * 20), "more than 16"),
    "locale-with-a-tab": (change("locale", "en\t"), "locale holds control characters"),
    "description-an-object": (change("description", {}), "description is a JSON object"),
    "publishing-app-too-long": (change("publishing_app", "p" * 65), "more than 64"),
    "phase-a-number": (change("phase", 1), "phase is a JSON number"),
    "first-published-a-number": (
        change("first_published_at", 1700000000),
        "first_published_at is not a timestamp: a JSON number",
    ),
    "public-updated-yesterday": (
        change("public_updated_at", "yesterday"),
        "public_updated_at is not a timestamp",
    ),
    "timestamp-before-year-1-in-utc": (
        change("public_updated_at", "0001-01-01T00:00:00+01:00"),
        "public_updated_at is not a timestamp",
    ),
    "item-an-array": (whole([1, 2]), "content item is a JSON array, not an object"),
    "item-a-string": (whole("guide"), "content item is a JSON string, not an object"),
    "item-null": (whole(None), "content item is a JSON null, not an object"),
}


@pytest.mark.parametrize(("make", "reason"), REJECTED.values(), ids=REJECTED.keys())
def test_a_bad_content_item_is_a_reject_and_the_rest_loads_exactly(
    make: Callable[[dict[str, Any]], str],
    reason: str,
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The bad item (between two good ones) is a reject; the data equals the good ones' alone."""
    good_a, good_b = good_texts()
    bad = tmp_path / "items.json"
    bad.write_bytes(items_file([good_a, make(page("guide-with-no-parent.json", 3)), good_b]))
    good = tmp_path / "good.json"
    good.write_bytes(items_file([good_a, good_b]))
    assert_partly_loaded(corpus_warehouse, "content", bad, good, [reason], options=OBSERVED_AT)


def test_a_bad_line_of_jsonl_is_a_reject_naming_its_line(
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """In a .jsonl file the reject is the line; lines after it load."""
    good_a, good_b = good_texts()
    bad_item = raw("details.rating", "NaN")(page("guide-with-no-parent.json", 3))
    bad = tmp_path / "items.jsonl"
    bad.write_text(f"{good_a}\n{bad_item}\n{good_b}\n", encoding="utf-8")
    good = tmp_path / "good.jsonl"
    good.write_text(f"{good_a}\n{good_b}\n", encoding="utf-8")
    assert_partly_loaded(
        corpus_warehouse, "content", bad, good, ["details.rating is NaN"], options=OBSERVED_AT
    )


# -- content that loads: control characters removed, other spellings -------------------------


def _with(doc: dict[str, Any], where: str, value: Any) -> str:
    return json.dumps(_edit(copy.deepcopy(doc), where, value))


def new_organisation(title: str) -> dict[str, Any]:
    return {
        "content_id": "c0ffee00-0000-4000-8000-0000000000aa",
        "title": title,
        "base_path": "/government/organisations/new-agency",
        "details": {"acronym": "NA"},
    }


# id -> (the item as written, the same item as it loads)
CLEANED: dict[str, tuple[str, str]] = {
    "nul-in-title": (
        _with(GOOD_ITEMS[0], "title", "Corpus\x00 page one"),
        _with(GOOD_ITEMS[0], "title", "Corpus page one"),
    ),
    "controls-in-description": (
        _with(GOOD_ITEMS[0], "description", "A\x01 \x1bdescription\x7f"),
        _with(GOOD_ITEMS[0], "description", "A description"),
    ),
    "tab-and-line-ends-kept": (
        _with(GOOD_ITEMS[0], "title", "Corpus\tpage\r\none"),
        _with(GOOD_ITEMS[0], "title", "Corpus\tpage\r\none"),
    ),
    # An organisation the warehouse does not know yet gets its row from the link.
    "nul-in-a-new-organisation-title": (
        _with(GOOD_ITEMS[0], "links.organisations.0", new_organisation("New\x00 agency\x07")),
        _with(GOOD_ITEMS[0], "links.organisations.0", new_organisation("New agency")),
    ),
    "nul-in-body": (
        _with(GOOD_ITEMS[0], "details.parts.0.body", "<p>Some\x00 words here.</p>"),
        _with(GOOD_ITEMS[0], "details.parts.0.body", "<p>Some words here.</p>"),
    ),
}


@pytest.mark.parametrize(("written", "loaded"), CLEANED.values(), ids=CLEANED.keys())
def test_control_characters_leave_text_the_same_on_every_backend(
    written: str,
    loaded: str,
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Text with control characters loads without them, no reject, as the clean text does."""
    bad = tmp_path / "items.json"
    bad.write_bytes(items_file([written, good_texts()[1]]))
    good = tmp_path / "good.json"
    good.write_bytes(items_file([loaded, good_texts()[1]]))
    assert_partly_loaded(corpus_warehouse, "content", bad, good, [], options=OBSERVED_AT)


def test_a_nul_in_a_title_is_stored_without_it(
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """PostgreSQL refuses NUL in text; SQLite keeps it: the reader removes it for both."""
    url = corpus_warehouse.fresh()
    path = tmp_path / "nul.json"
    path.write_text(_with(GOOD_ITEMS[0], "title", "Corpus\x00 page\x1f one"), encoding="utf-8")
    result = run_load(url, "content", path, *OBSERVED_AT)
    assert result.exit_code == 0, result.output
    with get_engine(url).connect() as connection:
        title = connection.execute(
            select(DimEdition.title)
            .join(DimPage, DimPage.page_id == DimEdition.page_id)
            .where(DimPage.content_id == GOOD_ITEMS[0]["content_id"])
        ).scalar_one()
    assert title == "Corpus page one"


SPELLINGS: dict[str, Callable[[bytes], bytes]] = {
    "excel-bom": lambda data: b"\xef\xbb\xbf" + data,
    "crlf": lambda data: data.replace(b"\n", b"\r\n"),
    "no-final-line-end": lambda data: data.rstrip(b"\n"),
}


@pytest.mark.parametrize("spell", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_other_spellings_of_a_content_file_load_as_it_does(
    spell: Callable[[bytes], bytes],
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A byte-order mark, CRLF line ends, no final line end: the same data as plain."""
    plain = items_file(good_texts())
    spelt = tmp_path / "items.json"
    spelt.write_bytes(spell(plain))
    good = tmp_path / "plain.json"
    good.write_bytes(plain)
    assert_partly_loaded(corpus_warehouse, "content", spelt, good, [], options=OBSERVED_AT)


def test_a_jsonl_line_may_hold_a_unicode_line_separator(
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """U+2028 is a character in a JSON string, not the end of a .jsonl line."""
    first = json.dumps(
        _edit(copy.deepcopy(GOOD_ITEMS[0]), "title", "One\u2028two"), ensure_ascii=False
    )
    spelt = tmp_path / "items.jsonl"
    spelt.write_text(f"{first}\n{good_texts()[1]}\n", encoding="utf-8")
    good = tmp_path / "good.jsonl"
    good.write_text(f"{json.dumps(json.loads(first))}\n{good_texts()[1]}\n", encoding="utf-8")
    assert_partly_loaded(corpus_warehouse, "content", spelt, good, [], options=OBSERVED_AT)


# -- organisations ----------------------------------------------------------------------------


@cache
def _real_organisations() -> list[dict[str, Any]]:
    return json.loads((ORGANISATIONS / "organisations.json").read_text(encoding="utf-8"))["results"]


def organisation(n: int, **changes: Any) -> dict[str, Any]:
    """A real organisation (the n-th of the response), its title changed so a load shows."""
    entry = copy.deepcopy(_real_organisations()[n])
    entry["title"] = f"Corpus organisation {n}"
    for where, value in changes.items():
        _edit(entry, where.replace("__", "."), value)
    return entry


def organisations_page(entries: list[Any]) -> bytes:
    return json.dumps({"results": entries}, indent=1).encode("utf-8")


def _orgs(bad: Any) -> bytes:
    """A page of two good organisations with `bad` in second place."""
    return organisations_page([organisation(0), bad, organisation(2)])


def _org_text(bad_text: str) -> bytes:
    """A page whose second organisation is the raw JSON text `bad_text`."""
    page_text = json.dumps({"results": [organisation(0), MARK, organisation(2)]}, indent=1)
    return page_text.replace(json.dumps(MARK), bad_text).encode("utf-8")


# -- files refused whole ------------------------------------------------------------------------


@dataclass
class Refused:
    """A file that must fail whole: its bytes (or a maker of the path), the words, the row."""

    kind: str
    body: bytes | Callable[[Path], Path]
    says: str
    row: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    suffix: str = ".json"


def _deep(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


def _deep_item(depth: int) -> bytes:
    doc = page("guide.json", 4)
    doc["details"]["nest"] = MARK
    return json.dumps(doc).replace(json.dumps(MARK), "[" * depth + "]" * depth).encode()


def _symlink_loop(folder: Path) -> Path:
    loop = folder / "loop.json"
    os.symlink(loop, loop)
    return loop


def _missing(folder: Path) -> Path:
    return folder / "never-written.json"


def _folder_with_a_bad_file(folder: Path) -> Path:
    items = folder / "items"
    items.mkdir()
    (items / "a.json").write_text(good_texts()[0], encoding="utf-8")
    (items / "b.json").write_bytes(b'{"title": "caf\xe9"}')
    return items


def _folder_with_a_broken_link(folder: Path) -> Path:
    items = folder / "items"
    items.mkdir()
    (items / "a.json").write_text(good_texts()[0], encoding="utf-8")
    os.symlink(items / "gone-away.json", items / "b.json")
    return items


GOOD_ITEMS_FILE = items_file(good_texts())
GOOD_LINE = good_texts()[0].encode() + b"\n"  # one item of a .jsonl file
GOOD_ORGS = organisations_page([organisation(0), organisation(2)])

REFUSED = {
    # content: the file as a whole
    "content-nested-100000-deep": Refused(
        "content", _deep(100_000), "JSON nested more than 200 levels deep", 1
    ),
    "content-item-nested-deep-in-details": Refused(
        "content", _deep_item(1000), "JSON nested more than 200 levels deep", 1
    ),
    "content-deeper-than-a-lowered-limit": Refused(
        "content",
        GOOD_ITEMS_FILE,
        "nested more than 3 levels deep (line 2",
        2,
        env={"GOVUK_KPI_MAX_JSON_DEPTH": "3"},
    ),
    "content-jsonl-line-nested-deep": Refused(
        "content",
        GOOD_LINE + _deep(5000) + b"\n",
        "nested more than 200 levels deep (line 2",
        2,
        suffix=".jsonl",
    ),
    "content-over-the-file-limit": Refused(
        "content",
        GOOD_ITEMS_FILE,
        "over the limit of 100 (raise GOVUK_KPI_MAX_FILE_BYTES",
        env={"GOVUK_KPI_MAX_FILE_BYTES": "100"},
    ),
    "content-jsonl-line-over-the-limit": Refused(
        "content",
        GOOD_LINE + b'{"title": "' + b"x" * 100_000 + b'"}\n',
        "the line is 100,013 bytes, over the limit of 50,000 (raise GOVUK_KPI_MAX_LINE_BYTES",
        2,
        env={"GOVUK_KPI_MAX_LINE_BYTES": "50000"},
        suffix=".jsonl",
    ),
    "content-malformed": Refused(
        "content", GOOD_ITEMS_FILE.replace(b'"title": ', b'"title" ', 1), "malformed JSON", 2
    ),
    "content-truncated": Refused(
        "content", GOOD_ITEMS_FILE[: len(GOOD_ITEMS_FILE) // 2], "malformed JSON"
    ),
    "content-extra-data": Refused("content", GOOD_ITEMS_FILE + b"[]", "Extra data", 5),
    "content-raw-nul-in-a-string": Refused(
        "content",
        GOOD_ITEMS_FILE.replace(b"Corpus page one", b"Corpus\x00page one"),
        "Invalid control character",
        2,
    ),
    "content-jsonl-malformed-line": Refused(
        "content",
        GOOD_LINE + b"{not json\n",
        "malformed JSON",
        2,
        suffix=".jsonl",
    ),
    "content-not-utf8": Refused(
        "content", GOOD_ITEMS_FILE.replace(b"Corpus page one", b"Corpus caf\xe9"), "0xe9", 2
    ),
    "content-utf16": Refused(
        "content",
        GOOD_ITEMS_FILE.decode().encode("utf-16"),
        "not UTF-8: byte 0xff at offset 0",
        1,
    ),
    "content-empty": Refused("content", b"", "empty file", 1),
    "content-bom-only": Refused("content", b"\xef\xbb\xbf \n", "empty file", 1),
    "content-missing-file": Refused("content", _missing, "o such file or directory"),
    "content-symlink-loop": Refused("content", _symlink_loop, "symbolic links"),
    "content-folder-with-a-bad-file": Refused(
        "content", _folder_with_a_bad_file, "b.json, row 1: not UTF-8"
    ),
    # The folder's hash is taken before its files are read: it names the folder.
    "content-folder-with-a-broken-link": Refused(
        "content", _folder_with_a_broken_link, "cannot read: No such file or directory"
    ),
    # organisations: the response
    "orgs-malformed": Refused(
        "organisations", GOOD_ORGS.replace(b'"title": ', b'"title" ', 1), "malformed JSON"
    ),
    "orgs-not-utf8": Refused(
        "organisations", GOOD_ORGS.replace(b"Corpus organisation 0", b"caf\xe9"), "0xe9"
    ),
    "orgs-empty": Refused("organisations", b"\xef\xbb\xbf", "empty file", 1),
    "orgs-nested-100000-deep": Refused(
        "organisations", _deep(100_000), "JSON nested more than 200 levels deep", 1
    ),
    "orgs-over-the-file-limit": Refused(
        "organisations",
        GOOD_ORGS,
        "over the limit of 100 (raise GOVUK_KPI_MAX_FILE_BYTES",
        env={"GOVUK_KPI_MAX_FILE_BYTES": "100"},
    ),
    "orgs-results-an-object": Refused(
        "organisations", b'{"results": {}}', "`results` is a JSON object, not a list"
    ),
    "orgs-results-null": Refused(
        "organisations", b'{"results": null}', "`results` is a JSON null, not a list"
    ),
    "orgs-no-results": Refused(
        "organisations", b'{"organisations": []}', "expected an Organisations API page"
    ),
    "orgs-a-string": Refused("organisations", b'"organisations"', "found a JSON string"),
    "orgs-results-twice": Refused(
        "organisations",
        b'{"results": [], "results": []}',
        "the key 'results' appears twice in the response",
    ),
    "orgs-missing-file": Refused("organisations", _missing, "o such file or directory"),
    "orgs-entry-a-string": Refused(
        "organisations", _orgs("hm-treasury"), "organisation is a JSON string", 2
    ),
    "orgs-details-a-string": Refused(
        "organisations", _orgs(organisation(1, details="x")), "details is a JSON string", 2
    ),
    "orgs-no-content-id": Refused(
        "organisations",
        _orgs(organisation(1, details__content_id=DROP)),
        "organisation has no details.content_id",
        2,
    ),
    "orgs-content-id-a-number": Refused(
        "organisations",
        _orgs(organisation(1, details__content_id=5)),
        "details.content_id is a JSON number",
        2,
    ),
    "orgs-content-id-with-nul": Refused(
        "organisations",
        _orgs(organisation(1, details__content_id="4dfe21ee\x00")),
        "details.content_id holds control characters",
        2,
    ),
    "orgs-content-id-too-long": Refused(
        "organisations",
        _orgs(organisation(1, details__content_id="c" * 65)),
        "65 characters long, more than 64",
        2,
    ),
    "orgs-title-a-number": Refused(
        "organisations", _orgs(organisation(1, title=3)), "title is a JSON number", 2
    ),
    "orgs-title-missing": Refused(
        "organisations", _orgs(organisation(1, title=DROP)), "has no title", 2
    ),
    "orgs-title-lone-surrogate": Refused(
        "organisations",
        _org_text(json.dumps(organisation(1)).replace("Corpus organisation", "\\udc00")),
        "title is not valid Unicode",
        2,
    ),
    "orgs-no-slug": Refused(
        "organisations",
        _orgs(organisation(1, details__slug=DROP, id=DROP, web_url=DROP)),
        "has no slug",
        2,
    ),
    "orgs-slug-too-long": Refused(
        "organisations",
        _orgs(organisation(1, details__slug="s" * 300)),
        "details.slug is 300 characters long, more than 255",
        2,
    ),
    "orgs-web-url-a-number": Refused(
        "organisations",
        _orgs(organisation(1, details__slug=DROP, web_url=9)),
        "web_url is a JSON number",
        2,
    ),
    "orgs-abbreviation-too-long": Refused(
        "organisations",
        _orgs(organisation(1, details__abbreviation="A" * 65)),
        "details.abbreviation is 65 characters long, more than 64",
        2,
    ),
    "orgs-status-a-number": Refused(
        "organisations",
        _orgs(organisation(1, details__govuk_status=1)),
        "details.govuk_status is a JSON number",
        2,
    ),
    "orgs-parents-a-string": Refused(
        "organisations",
        _orgs(organisation(1, parent_organisations="hm-treasury")),
        "parent_organisations is a JSON string, not an array",
        2,
    ),
    "orgs-parent-a-number": Refused(
        "organisations",
        _orgs(organisation(1, parent_organisations=[4])),
        "parent_organisations[0] is a JSON number, not an object",
        2,
    ),
    "orgs-closed-at-not-a-date": Refused(
        "organisations",
        _orgs(organisation(1, details__closed_at="last year")),
        "closed_at is not a date",
        2,
    ),
    "orgs-nan": Refused(
        "organisations",
        _org_text(json.dumps(organisation(1)).replace('"format": ', '"format": NaN, "x": ')),
        "format is NaN, which JSON does not allow",
        2,
    ),
    "orgs-key-twice": Refused(
        "organisations",
        _org_text(json.dumps(organisation(1))[:-1] + ', "title": "Again"}'),
        "the key 'title' appears twice in the organisation",
        2,
    ),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_file_is_refused_with_one_line(
    case: Refused,
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """One error line naming the file (and row), a failed batch, no data change."""
    if callable(case.body):
        path = case.body(tmp_path)
    else:
        path = tmp_path / f"{case.kind}{case.suffix}"
        path.write_bytes(case.body)
    options = OBSERVED_AT if case.kind == "content" else ()
    assert_refused(
        corpus_warehouse.fresh(),
        case.kind,
        path,
        case.says,
        row=case.row,
        options=options,
        env=case.env,
    )


# -- organisations that load: other spellings, control characters removed ---------------------

ORGANISATION_SPELLINGS: dict[str, tuple[bytes, bytes]] = {
    "excel-bom": (b"\xef\xbb\xbf" + GOOD_ORGS, GOOD_ORGS),
    "crlf": (GOOD_ORGS.replace(b"\n", b"\r\n"), GOOD_ORGS),
    "a-plain-list": (json.dumps([organisation(0), organisation(2)]).encode(), GOOD_ORGS),
    "nul-in-title": (
        organisations_page([organisation(0, title="Corpus\x00 zero"), organisation(2)]),
        organisations_page([organisation(0, title="Corpus zero"), organisation(2)]),
    ),
    "controls-in-abbreviation": (
        organisations_page([organisation(0, details__abbreviation="\x1bAJC\x7f")]),
        organisations_page([organisation(0, details__abbreviation="AJC")]),
    ),
}


@pytest.mark.parametrize(
    ("written", "plain"), ORGANISATION_SPELLINGS.values(), ids=ORGANISATION_SPELLINGS.keys()
)
def test_organisations_load_as_their_plain_spelling_does(
    written: bytes,
    plain: bytes,
    corpus_warehouse: CorpusWarehouse,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A byte-order mark, CRLF, a plain list, control characters: the same data as plain."""
    spelt = tmp_path / "organisations.json"
    spelt.write_bytes(written)
    good = tmp_path / "plain.json"
    good.write_bytes(plain)
    assert_partly_loaded(corpus_warehouse, "organisations", spelt, good, [])


def test_the_readers_widths_are_the_warehouse_columns() -> None:
    """The readers refuse what PostgreSQL would: values wider than their column."""
    edition = DimEdition.__table__.c
    organisation_columns = DimOrganisation.__table__.c
    assert {
        "content_id": edition.content_id.type.length,
        "locale": edition.locale.type.length,
        "document_type": DimDocumentType.__table__.c.name.type.length,
        "schema_name": edition.schema_name.type.length,
        "publishing_app": edition.publishing_app.type.length,
        "phase": edition.phase.type.length,
        "organisation_slug": organisation_columns.slug.type.length,
        "organisation_acronym": organisation_columns.acronym.type.length,
    } == content_items.MAX_CHARS
    assert {
        name: organisation_columns[name].type.length for name in organisations.MAX_CHARS
    } == organisations.MAX_CHARS
