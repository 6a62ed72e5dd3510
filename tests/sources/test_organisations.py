"""Organisations API responses → OrganisationRecord."""

from __future__ import annotations

import csv
import html
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from govuk_kpi.core.data import govuk_data_dir
from govuk_kpi.core.errors import InputError
from govuk_kpi.sources.organisations import read_organisations, slug_of
from govuk_kpi.sources.records import OrganisationRecord


@pytest.fixture(scope="module")
def orgs_dir() -> Path:
    return govuk_data_dir() / "organisations"


@pytest.fixture(scope="module")
def by_slug(orgs_dir: Path) -> dict[str, OrganisationRecord]:
    records = read_organisations(orgs_dir / "organisations.json")
    assert len(records) == 1254
    return {r.slug: r for r in records}


def test_all_real_organisations_parse(by_slug: dict[str, OrganisationRecord]) -> None:
    assert len(by_slug) == 1254
    statuses = {r.status for r in by_slug.values()}
    assert statuses == {"closed", "live", "exempt", "joining", "transitioning"}
    assert all(r.title and "&amp;" not in r.title and "&#" not in r.title for r in by_slug.values())


def test_titles_match_the_entity_decoded_csv(
    by_slug: dict[str, OrganisationRecord], orgs_dir: Path
) -> None:
    with (orgs_dir / "government_organisations.csv").open(encoding="utf-8", newline="") as fh:
        rows = {row["Name"]: row for row in csv.DictReader(fh) if row["Name"]}
    assert "Department for Environment, Food &amp; Rural Affairs" in rows
    assert "Attorney General&#39;s Office" in rows
    titles = {r.title for r in by_slug.values()}
    assert html.unescape("Department for Environment, Food &amp; Rural Affairs") in titles
    assert by_slug["department-for-environment-food-rural-affairs"].title == (
        "Department for Environment, Food & Rural Affairs"
    )
    assert by_slug["attorney-generals-office"].title == "Attorney General's Office"


def test_known_organisation_values(by_slug: dict[str, OrganisationRecord]) -> None:
    ago = by_slug["attorney-generals-office"]
    assert (ago.acronym, ago.organisation_type, ago.status, ago.analytics_identifier) == (
        "AGO",
        "Ministerial department",
        "live",
        "D1",
    )
    assert ago.content_id == "25aacd68-dc0c-4041-9c3a-df59a5357c23"
    assert by_slug["academy-for-social-justice"].parent_slugs == ("ministry-of-justice",)


def test_closed_organisations_keep_status_and_date(by_slug: dict[str, OrganisationRecord]) -> None:
    accea = by_slug["advisory-committee-on-clinical-excellence-awards"]
    assert accea.status == "closed"
    assert accea.closed_at == date(2022, 4, 13)
    assert accea.superseded_by_slugs == ("advisory-committee-on-clinical-impact-awards",)
    assert accea.parent_slugs == ("department-of-health-and-social-care",)
    closed = [r for r in by_slug.values() if r.status == "closed"]
    assert len(closed) == 589
    assert sum(1 for r in by_slug.values() if r.closed_at is not None) == 164


def org(n: int, title: str = "Org", **details: Any) -> dict[str, Any]:
    return {
        "title": title,
        "format": "Other",
        "analytics_identifier": f"OT{n}",
        "id": f"https://www.gov.uk/api/organisations/org-{n}",
        "web_url": f"https://www.gov.uk/government/organisations/org-{n}",
        "details": {"content_id": f"id-{n}", "slug": f"org-{n}", "govuk_status": "live", **details},
        "parent_organisations": [],
        "superseding_organisations": [],
    }


def test_directory_of_pages_and_plain_list_dedupe_last_wins(tmp_path: Path) -> None:
    (tmp_path / "page-1.json").write_text(
        json.dumps({"results": [org(1, "Fish &amp; Chips"), org(2, "Old")]}), encoding="utf-8"
    )
    (tmp_path / "page-2.json").write_text(json.dumps([org(2, "New"), org(3)]), encoding="utf-8")
    records = read_organisations(tmp_path)
    assert [(r.content_id, r.title) for r in records] == [
        ("id-1", "Fish & Chips"),
        ("id-2", "New"),
        ("id-3", "Org"),
    ]


def test_slug_from_id_or_web_url() -> None:
    assert slug_of({"id": "https://www.gov.uk/api/organisations/hm-treasury"}) == "hm-treasury"
    assert slug_of({"web_url": "https://www.gov.uk/government/organisations/dfe/"}) == "dfe"
    assert slug_of({}) is None


def test_malformed_inputs_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "orgs.json"
    bad.write_text('{"results": [\n  {"title": "x",}\n]}', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_organisations(bad)
    assert (caught.value.path, caught.value.row) == (str(bad), 2)
    assert "malformed JSON" in str(caught.value)

    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"results": [\n{"title": "Caf\xe9"}]}')
    with pytest.raises(InputError, match=r"latin\.json, row 2: not UTF-8: byte 0xe9"):
        read_organisations(latin)

    shape = tmp_path / "shape.json"
    shape.write_text('{"organisations": []}', encoding="utf-8")
    with pytest.raises(InputError, match=r"shape\.json: expected an Organisations API page"):
        read_organisations(shape)

    no_id = tmp_path / "no_id.json"
    no_id.write_text(json.dumps([org(1), {"title": "x", "details": {}}]), encoding="utf-8")
    with pytest.raises(InputError, match=r"no_id\.json, row 2: organisation has no"):
        read_organisations(no_id)
