"""Content API documents → EditionRecord, over every real content item in the sample data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from govuk_kpi.core.data import govuk_data_dir
from govuk_kpi.core.errors import InputError
from govuk_kpi.sources.content_items import (
    body_fragments,
    parse_content_item,
    parse_datetime,
    read_content_items,
)
from govuk_kpi.sources.records import EditionRecord
from govuk_kpi.sources.text_metrics import text_metrics

# The items that cannot be pages: no content_id, so no page item key.
UNLOADABLE = {
    "gone/gone.json": "gone item at /government/case-studies/intellectual-property-stuart-scott "
    "has no content_id",
    "redirect/redirect.json": "redirect item at /406beacon has no content_id",
}


@pytest.fixture(scope="module")
def items_dir() -> Path:
    return govuk_data_dir() / "content-items"


@pytest.fixture(scope="module")
def parsed(items_dir: Path) -> dict[str, EditionRecord | InputError]:
    """Every item file, by path relative to the content-items folder, parsed or its error."""
    out: dict[str, EditionRecord | InputError] = {}
    for file in sorted(items_dir.rglob("*.json")):
        name = file.relative_to(items_dir).as_posix()
        try:
            (record,) = read_content_items(file)
            out[name] = record
        except InputError as exc:
            out[name] = exc
    return out


def record(parsed: dict[str, EditionRecord | InputError], name: str) -> EditionRecord:
    value = parsed[name]
    assert isinstance(value, EditionRecord), value
    return value


def raw(items_dir: Path, name: str) -> dict[str, Any]:
    return json.loads((items_dir / name).read_text(encoding="utf-8"))


def test_every_real_item_parses_or_is_a_clear_input_error(
    parsed: dict[str, EditionRecord | InputError], items_dir: Path
) -> None:
    assert len(parsed) == 279
    errors = {name: exc for name, exc in parsed.items() if isinstance(exc, InputError)}
    records = [r for r in parsed.values() if isinstance(r, EditionRecord)]
    assert len(records) == 277
    assert sorted(errors) == sorted(UNLOADABLE)
    for name, exc in errors.items():
        assert exc.path == str(items_dir / name)
        assert UNLOADABLE[name] in exc.reason
        assert str(items_dir / name) in str(exc)


def test_real_records_are_well_formed(parsed: dict[str, EditionRecord | InputError]) -> None:
    records = [r for r in parsed.values() if isinstance(r, EditionRecord)]
    for r in records:
        assert r.content_id and r.title and r.document_type and r.schema_name
        assert r.base_path.startswith("/") and r.base_path == r.base_path.lower()
        for stamp in (r.first_published_at, r.public_updated_at, r.updated_at):
            assert stamp is None or stamp.utcoffset() is not None
        if r.primary_organisation is not None and r.primary_organisation in r.organisations:
            assert r.organisations[0] == r.primary_organisation
        assert len({o.content_id for o in r.organisations}) == len(r.organisations)
        assert (r.metrics.readability is None) == (r.metrics.words == 0)
        assert r.metrics.words == 0 or r.metrics.sentences >= 1
    assert {r.locale for r in records} == {"en", "cy", "ar", "es", "ur"}
    assert sum(r.withdrawn for r in records) == 14


def test_directory_reading_is_deterministic_and_collects_rejects(items_dir: Path) -> None:
    errors: list[InputError] = []
    first = [r.item for r in read_content_items(items_dir, on_error=errors.append)]
    second = [r.item for r in read_content_items(items_dir, on_error=errors.append)]
    assert first == second
    assert len(first) == 277
    assert len(errors) == 4  # the two unloadable items, once per read
    with pytest.raises(InputError, match="has no content_id"):
        list(read_content_items(items_dir))


def test_guide_counts_all_its_parts(
    parsed: dict[str, EditionRecord | InputError], items_dir: Path
) -> None:
    guide = record(parsed, "guide/guide.json")
    parts = raw(items_dir, "guide/guide.json")["details"]["parts"]
    assert len(parts) == 4
    first_part = text_metrics([parts[0]["body"]])
    every_body = text_metrics([part["body"] for part in parts])
    assert guide.metrics.words > first_part.words
    # The part titles are headings on the page, so they count too.
    titles = sum(len(part["title"].split()) for part in parts)
    assert guide.metrics.words == every_body.words + titles
    assert guide.base_path == "/national-curriculum"
    assert guide.first_published_at == datetime(2016, 2, 29, 9, 24, 10, tzinfo=UTC)
    assert [o.slug for o in guide.organisations] == ["department-for-education"]
    # No primary publishing organisation: the first organisation stands in as primary.
    assert guide.primary_organisation is not None
    assert guide.primary_organisation.slug == "department-for-education"


@pytest.mark.parametrize(
    ("name", "pdfs", "docs"),
    [
        # One attachment, listed also in featured_attachments: one PDF, not two.
        ("publication/publication-with-featured-attachments.json", 1, 0),
        # Four PDF attachments; the *_attachments id lists refer to them.
        ("consultation/consultation_outcome_with_featured_attachments.json", 4, 0),
        # One attachment, also linked from the body, plus a second PDF linked from the body.
        ("specialist_document/aaib-reports.json", 2, 0),
        # Embedded attachments in the body: BusinessReview 2011-12 … 2016-17 as PDF,
        # 20 sets of minutes as .doc / .docx; each linked twice (thumbnail and title).
        ("corporate_information_page/best-practice-membership.json", 6, 20),
        # Seven CSV files, each linked twice.
        ("statistical_data_set/statistical_data_set_with_csv.json", 0, 7),
        # Travel advice carries its PDF as details.document.
        ("travel_advice/full-country.json", 1, 0),
        # Three featured_attachments ids that resolve to nothing cannot be classified.
        ("publication/tagged_to_two_coronavirus_taxons.json", 0, 0),
    ],
)
def test_pdf_and_document_counts_match_hand_counts(
    parsed: dict[str, EditionRecord | InputError], name: str, pdfs: int, docs: int
) -> None:
    metrics = record(parsed, name).metrics
    assert (metrics.pdf_count, metrics.doc_count) == (pdfs, docs)


def test_withdrawn_publication(parsed: dict[str, EditionRecord | InputError]) -> None:
    withdrawn = record(parsed, "publication/withdrawn_publication.json")
    assert withdrawn.withdrawn is True
    assert withdrawn.base_path == "/government/publications/a-guide-for-pig-keepers"
    assert [o.title for o in withdrawn.organisations] == [
        "Department for Environment, Food & Rural Affairs"
    ]
    # An empty withdrawn_notice {} is not a withdrawal.
    assert record(parsed, "publication/publication.json").withdrawn is False


def test_welsh_and_arabic_items_keep_their_locale(
    parsed: dict[str, EditionRecord | InputError],
) -> None:
    welsh = record(parsed, "transaction/chwilio-am-swydd.json")
    assert welsh.locale == "cy"
    assert welsh.item == "2176cab5-7600-493d-9e54-06c7f27297c5:cy"
    assert welsh.title == "Dod o hyd i swydd gyda Paru Swyddi Ar-lein"
    arabic = record(parsed, "news_article/news_article_history_mode_translated_arabic.json")
    assert arabic.locale == "ar"
    assert arabic.metrics.words > 0


def test_gone_item_with_content_id_is_a_record_titled_by_its_path(
    parsed: dict[str, EditionRecord | InputError],
) -> None:
    gone = record(parsed, "gone/gone_with_alternative_path.json")
    assert gone.document_type == "gone"
    path = "/government/case-studies/intellectual-property-stuart-scotty"
    assert gone.title == gone.base_path == path
    assert gone.public_updated_at is None
    assert gone.updated_at == datetime(2016, 9, 26, 9, 50, 56, 78000, tzinfo=UTC)


def test_body_text_lives_in_many_places(items_dir: Path) -> None:
    """Schemas without details.body still have their prose found."""
    for name in (
        "transaction/chwilio-am-swydd.json",  # introductory_paragraph, more_information
        "local_transaction/local_transaction.json",  # introduction, need_to_know
        "licence/licence_without_continuation_link.json",  # licence_overview
        "step_by_step_nav/step_by_step_nav.json",  # introduction, steps
        "landing_page/landing_page.json",  # blocks
        "place/find-regional-passport-office.json",  # introduction, more_information
        "travel_advice/full-country.json",  # parts
    ):
        assert text_metrics(body_fragments(raw(items_dir, name)["details"])).words > 0, name


def minimal(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "content_id": "c0ffee00-0000-4000-8000-000000000001",
        "base_path": "/Government/News/Example/",
        "title": "Example",
        "document_type": "news_story",
        "schema_name": "news_article",
        "details": {"body": "<p>Hello world.</p>"},
        "links": {},
    }
    doc.update(overrides)
    return doc


def test_title_html_is_kept_as_raw_text() -> None:
    title = "<script>alert('x')</script> & more"
    rec = parse_content_item(minimal(title=title), source="t.json")
    assert rec.title == title
    assert rec.base_path == "/government/news/example"
    assert rec.locale == "en"  # missing locale


def test_body_as_content_type_variants_takes_html_once() -> None:
    body = [
        {"content_type": "text/govspeak", "content": "Hello *world*. Extra words here."},
        {"content_type": "text/html", "content": "<p>Hello <em>world</em>.</p>"},
    ]
    rec = parse_content_item(minimal(details={"body": body}), source="t.json")
    assert (rec.metrics.words, rec.metrics.sentences) == (2, 1)


def test_primary_organisation_comes_first() -> None:
    def org(n: int, acronym: str | None = None) -> dict[str, Any]:
        return {
            "content_id": f"org-{n}",
            "title": f"Org {n}",
            "base_path": f"/government/organisations/org-{n}",
            "details": {"acronym": acronym} if acronym else {},
        }

    links = {"organisations": [org(1), org(2, "O2")], "primary_publishing_organisation": [org(2)]}
    rec = parse_content_item(minimal(links=links), source="t.json")
    assert [o.content_id for o in rec.organisations] == ["org-2", "org-1"]
    assert rec.primary_organisation is not None
    assert rec.primary_organisation.slug == "org-2"
    assert rec.organisations[1].slug == "org-1"


def test_unloadable_documents_raise_input_error_naming_the_source() -> None:
    with pytest.raises(InputError, match=r"^x\.json: .*has no content_id"):
        parse_content_item(minimal(content_id=None), source="x.json")
    with pytest.raises(InputError, match=r"^x\.json, row 3: .*has no base_path"):
        parse_content_item(minimal(base_path=""), source="x.json", row=3)
    with pytest.raises(InputError, match="not an object"):
        parse_content_item([], source="x.json")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="first_published_at is not a timestamp"):
        parse_content_item(minimal(first_published_at="yesterday"), source="x.json")


@pytest.mark.parametrize(
    ("raw_value", "expected"),
    [
        ("2012-10-10T19:37:20.000+00:00", datetime(2012, 10, 10, 19, 37, 20, tzinfo=UTC)),
        ("2018-08-02T08:58:29.045Z", datetime(2018, 8, 2, 8, 58, 29, 45000, tzinfo=UTC)),
        ("2015-10-15T11:00:20+01:00", datetime(2015, 10, 15, 10, 0, 20, tzinfo=UTC)),
        ("2015-10-15T11:00:20", datetime(2015, 10, 15, 11, 0, 20, tzinfo=UTC)),
        (None, None),
        ("", None),
    ],
)
def test_parse_datetime(raw_value: str | None, expected: datetime | None) -> None:
    parsed = parse_datetime(raw_value, field="f", source="s")
    assert parsed == expected
    assert parsed is None or parsed.tzinfo is UTC


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "content_id": "x",\n  "title": oops\n}\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        list(read_content_items(bad))
    assert caught.value.path == str(bad)
    assert caught.value.row == 3
    assert caught.value.reason.startswith("malformed JSON: ")
    assert str(caught.value).startswith(f"{bad}, row 3: malformed JSON")


def test_non_utf8_names_file_offset_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.json"
    bad.write_bytes(b'{\n  "title": "caf\xe9"\n}\n')
    with pytest.raises(InputError) as caught:
        list(read_content_items(bad))
    assert caught.value.path == str(bad)
    assert caught.value.row == 2
    assert "not UTF-8: byte 0xe9 at offset 17 (line 2)" in str(caught.value)
    assert str(bad) in str(caught.value)


def test_jsonl_rows_and_rejects(tmp_path: Path) -> None:
    lines = [
        json.dumps(minimal(content_id="a", base_path="/a")),
        "",
        "{not json",
        json.dumps(minimal(content_id=None, base_path="/gone")),
        json.dumps(minimal(content_id="b", base_path="/b", locale="cy")),
    ]
    feed = tmp_path / "items.jsonl"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors: list[InputError] = []
    records = list(read_content_items(feed, on_error=errors.append))
    assert [(r.item, r.source_row) for r in records] == [("a:en", 1), ("b:cy", 5)]
    assert [(e.row, e.reason.split(":")[0]) for e in errors] == [
        (3, "malformed JSON"),
        (4, "news_story item at /gone has no content_id, so it cannot be a page"),
    ]
    with pytest.raises(InputError) as caught:
        list(read_content_items(feed))
    assert (caught.value.path, caught.value.row) == (str(feed), 3)


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        list(read_content_items(tmp_path / "nope.json"))


def test_data_dir_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVUK_KPI_DATA_DIR", str(tmp_path))
    assert govuk_data_dir() == tmp_path
    monkeypatch.setenv("GOVUK_KPI_DATA_DIR", str(tmp_path / "missing"))
    assert govuk_data_dir() != tmp_path / "missing"  # falls back to the shipped copy
