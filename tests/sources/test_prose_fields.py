"""Words are taken from every prose field of every schema, as `core.prose_fields` lists them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from govuk_kpi.core.data import govuk_data_dir
from govuk_kpi.core.prose_fields import PROSE_FIELDS
from govuk_kpi.sources.content_items import body_fragments, parse_content_item
from govuk_kpi.sources.text_metrics import text_metrics

ROOT = Path(__file__).resolve().parents[2]

# Schemas whose pages hold no prose of their own: lists of links, navigation, sign-up forms,
# counts and dates, placeholders.
PROSELESS_SCHEMAS = {
    "completed_transaction": "a thank-you page: a promotion link",
    "embassies_index": "a list of embassies",
    "field_of_operation": "a title and links",
    "fields_of_operation": "a list of links",
    "finder_email_signup": "a sign-up form's filters",
    "generic": "a title and links",
    "generic_with_external_related_links": "links",
    "get_involved": "rendered from other content",
    "hmrc_manual": "a contents list of sections",
    "homepage": "links",
    "how_government_works": "counts of ministers and departments",
    "mainstream_browse_page": "navigation",
    "organisations_homepage": "a list of organisations",
    "redirect": "a redirect",
    "service_manual_homepage": "navigation",
    "service_manual_service_toolkit": "groups of links",
    "service_manual_topic": "groups of links",
    "special_route": "a route, no page",
    "statistics_announcement": "a release date and its state",
    "taxon": "a topic's links",
    "travel_advice_index": "a list of countries",
    "world_index": "a list of locations",
}

# Items of schemas that hold prose, published with none.
EMPTY_ITEMS = {
    "guide/no-part-guide.json": "parts is empty",
    "guide/no-part-guide-with-step-navs-and-hide-navigation.json": "parts is empty",
    "hmrc_manual_section/vatgpb2000.json": "body is a line end",
    "topical_event/ebola-virus-government-response.json": "only dates",
    "topical_event/western-balkans-summit-london-2018.json": "body is an empty div",
    "transaction/child-maintenance.json": "only a start link",
    "travel_advice/no-parts.json": "parts is empty",
    "working_group/short.json": "no body",
    "working_group/with_policies.json": "only an email address",
}


def words(details: dict[str, Any]) -> int:
    return text_metrics(body_fragments(details)).words


def item_files() -> list[Path]:
    return sorted((govuk_data_dir() / "content-items").glob("*/*.json"))


@pytest.mark.parametrize("file", item_files(), ids=lambda f: f"{f.parent.name}/{f.name}")
def test_every_real_item_with_prose_yields_words(file: Path) -> None:
    name = f"{file.parent.name}/{file.name}"
    details = json.loads(file.read_text(encoding="utf-8")).get("details") or {}
    if file.parent.name in PROSELESS_SCHEMAS or name in EMPTY_ITEMS:
        assert words(details) == 0, f"{name} has prose after all: take it off the list"
    else:
        assert words(details) > 0, f"{name}: prose in a field PROSE_FIELDS does not list"


def test_the_lists_name_what_the_data_holds() -> None:
    names = {f"{file.parent.name}/{file.name}" for file in item_files()}
    assert set(EMPTY_ITEMS) <= names
    assert set(PROSELESS_SCHEMAS) <= {name.split("/")[0] for name in names}


def test_service_sign_in_counts_its_choice_and_new_account_prose() -> None:
    doc = {
        "content_id": "fd7f1d3e-c9f0-4ad3-9b70-3c6b1f9a5f4e",
        "base_path": "/log-in-file-self-assessment-tax-return/sign-in",
        "title": "Sign in to file your Self Assessment tax return",
        "schema_name": "service_sign_in",
        "document_type": "service_sign_in",
        "details": {
            "choose_sign_in": {
                "title": "Prove your identity to continue",
                "slug": "choose-sign-in",
                "description": "<p>You can sign in with a Government Gateway user ID.</p>",
                "tab_title": "Sign in",
                "options": [
                    {
                        "text": "Use Government Gateway",
                        "url": "https://www.tax.service.gov.uk/account",
                        "hint_text": "You will have a user ID if you have signed up before.",
                    },
                    {"text": "Create a sign in account", "slug": "create-new-account"},
                ],
            },
            "create_new_account": {
                "title": "Create an account",
                "slug": "create-new-account",
                "body": "<p>To file online you need a Government Gateway account.</p>",
            },
        },
        "links": {},
    }
    record = parse_content_item(doc, source="service_sign_in.json")
    # 5 + 11 + 3 + 11 + 5 + 3 + 9 words: titles, description, options, the account's body.
    assert record.metrics.words == 47
    assert record.metrics.sentences == 7


def test_docs_show_every_prose_field() -> None:
    page = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    for field in PROSE_FIELDS:
        assert f"| `{field.path}` | {field.kind} |" in page, field.path
