"""Items published before 2016 carry `format` where later ones carry `document_type`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from govuk_kpi.core.data import govuk_data_dir
from govuk_kpi.core.errors import RejectedRecord
from govuk_kpi.sources.content_items import parse_content_item


def legacy(**fields: Any) -> dict[str, Any]:
    """A real answer page as the Content API gave it before 2016: `format`, no type fields."""
    path = govuk_data_dir() / "content-items" / "answer" / "answer.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    for key in ("document_type", "schema_name"):
        doc.pop(key, None)
    doc["public_updated_at"] = "2014-03-12T09:30:00+00:00"
    return {**doc, "format": "answer", **fields}


def test_format_is_the_document_type_and_schema_where_both_are_absent() -> None:
    record = parse_content_item(legacy(), source="answer.json")
    assert record.document_type == "answer"
    assert record.schema_name == "answer"
    assert record.metrics.words > 0


def test_document_type_and_schema_name_win_over_format() -> None:
    record = parse_content_item(
        legacy(document_type="guidance", schema_name="publication"), source="answer.json"
    )
    assert (record.document_type, record.schema_name) == ("guidance", "publication")


def test_format_fills_only_the_field_that_is_missing() -> None:
    record = parse_content_item(legacy(schema_name="publication"), source="answer.json")
    assert (record.document_type, record.schema_name) == ("answer", "publication")


def test_an_item_with_no_type_at_all_is_still_refused() -> None:
    doc = legacy()
    del doc["format"]
    with pytest.raises(RejectedRecord, match="has no document_type or schema_name"):
        parse_content_item(doc, source="answer.json")


def test_a_format_that_is_not_text_is_refused_naming_it() -> None:
    with pytest.raises(RejectedRecord, match="format"):
        parse_content_item(legacy(format=["answer"]), source="answer.json")
