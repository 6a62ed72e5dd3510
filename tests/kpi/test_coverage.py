"""`Warehouse.coverage` and `Warehouse.organisations()["pages"]` on a small warehouse built by
hand through the real loaders, on both backends: every figure is known in advance.

Four organisations and four pages:

- `alpha` leads /a-guide and the withdrawn /a-notice (which also names `gamma`);
- `beta` leads /b-form, which `delta` led until a later content load moved it;
- nobody leads /home;
- `gamma` and `delta` lead no page (newest editions), so they have no pages.

One day of analytics: 100, 50, 20 and 30 page views on those pages, and 7 + 3 on two paths
that match no page.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from govuk_kpi import Warehouse
from govuk_kpi.core.errors import UnknownOrganisation
from govuk_kpi.kpi.coverage import coverage_series
from govuk_kpi.reports import coverage_words
from govuk_kpi.reports.params import resolve_organisations
from govuk_kpi.sources.records import (
    EditionRecord,
    OrganisationRecord,
    OrganisationRef,
    TextMetrics,
)
from govuk_kpi.warehouse.db import make_engine, upgrade
from govuk_kpi.warehouse.load_content import load_content
from govuk_kpi.warehouse.load_files import load_daily_path
from govuk_kpi.warehouse.load_organisations import load_organisations

DAY = date(2026, 10, 31)
SLUGS = ("alpha", "beta", "gamma", "delta")


def _id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def _ref(slug: str) -> OrganisationRef:
    return OrganisationRef(_id(slug), title=slug.title(), slug=slug)


def _page(path: str, lead: str | None, *, also: tuple[str, ...] = (), withdrawn=False):
    refs = tuple(_ref(s) for s in ((lead,) if lead else ()) + also)
    return EditionRecord(
        content_id=_id(path),
        locale="en",
        base_path=path,
        title=f"Page {path}",
        description=None,
        document_type="guide",
        schema_name="guide",
        publishing_app=None,
        primary_organisation=_ref(lead) if lead else None,
        organisations=refs,
        first_published_at=datetime(2020, 1, 1, tzinfo=UTC),
        public_updated_at=datetime(2024, 1, 1, tzinfo=UTC),
        updated_at=None,
        withdrawn=withdrawn,
        phase="live",
        metrics=TextMetrics(400, 2400, 20, 60.0, 1, 0),
    )


@pytest.fixture
def warehouse(db_url: str, tmp_path: Path) -> Warehouse:
    upgrade(db_url)
    engine = make_engine(db_url)
    organisations = [
        OrganisationRecord(_id(s), s, s.title(), None, "Ministerial department", "live", None)
        for s in SLUGS
    ]
    load_organisations(engine, organisations, uri="test:organisations", sha256="o")
    first = [
        _page("/a-guide", "alpha"),
        _page("/a-notice", "alpha", also=("gamma",), withdrawn=True),
        _page("/b-form", "delta"),
        _page("/home", None),
    ]
    loaded = load_content(
        engine, first, uri="test:content", sha256="c1", observed_at=datetime(2026, 1, 1)
    )
    assert loaded.rows_loaded == 4, loaded.summary()
    moved = load_content(
        engine,
        [_page("/b-form", "beta")],
        uri="test:content-2",
        sha256="c2",
        observed_at=datetime(2026, 6, 1),
    )
    assert moved.rows_loaded == 1, moved.summary()
    csv = tmp_path / "analytics.csv"
    rows = [("/a-guide", 100), ("/a-notice", 50), ("/b-form", 20), ("/home", 30)]
    rows += [("/nowhere", 7), ("/gone-away", 3)]
    csv.write_text(
        "date,path,pviews,upviews,useful_yes,useful_no,searches,entrances,exits,bounces,page_time\n"
        + "".join(f"{DAY},{p},{n},{n},0,0,0,0,0,0,0\n" for p, n in rows),
        encoding="utf-8",
    )
    result = load_daily_path(engine, csv, "analytics", today=date(2026, 11, 1))
    assert result.batch_id is not None and result.rows_rejected == 0, result.summary()
    return Warehouse(engine=engine)


def test_site_coverage_splits_every_page_view_into_three_parts(warehouse: Warehouse) -> None:
    coverage = warehouse.coverage(period="past-30-days", as_of=DAY)
    assert coverage[
        [
            "pages",
            "pages_with_organisation",
            "organisations_with_pages",
            "pviews",
            "organisation_pviews",
            "no_organisation_pviews",
            "unmatched_pviews",
            "unmatched_paths",
        ]
    ].tolist() == [4, 3, 2, 210, 170, 30, 10, 2]
    assert coverage["no_organisation_share"] == pytest.approx(30 / 210)
    assert coverage["unmatched_share"] == pytest.approx(10 / 210)
    assert sum(coverage[s] for s in ("organisation_share", "no_organisation_share")) + coverage[
        "unmatched_share"
    ] == pytest.approx(1)
    assert all(isinstance(coverage[n], int) for n in ("pages", "pviews", "unmatched_paths"))
    # The same figures as the site's other views of them.
    headline = warehouse.headline(period="past-30-days", as_of=DAY)
    assert headline["pviews"] == 200 and headline["unmatched_pviews"] == 10
    assert warehouse.unmatched(period="past-30-days", as_of=DAY)["pviews"].sum() == 10
    summary = warehouse.organisation_summary(period="past-30-days", as_of=DAY)
    assert summary.loc[summary.organisation == "(none)", "pviews"].sum() == 30
    assert "FROM" in coverage.attrs["query"] and coverage.attrs["period"]["end"] == "2026-10-31"


@pytest.mark.parametrize(
    ("slug", "expected"),
    [
        # pages, withdrawn, led by another (or none) but naming it, viewed in the period
        ("alpha", ["Alpha", 2, 1, 0, 2]),
        ("beta", ["Beta", 1, 0, 0, 1]),
        ("gamma", ["Gamma", 0, 0, 1, 0]),
        ("delta", ["Delta", 0, 0, 0, 0]),  # led /b-form only before it moved to beta
    ],
)
def test_an_organisations_pages(warehouse: Warehouse, slug: str, expected: list) -> None:
    coverage = warehouse.coverage(period="past-30-days", organisation=slug, as_of=DAY)
    assert (
        coverage[
            [
                "organisation_title",
                "organisation_pages",
                "organisation_withdrawn_pages",
                "organisation_other_pages",
                "organisation_pages_viewed",
            ]
        ].tolist()
        == expected
    )
    assert coverage["organisation"] == slug
    assert coverage["pviews"] == 210  # the site's figures beside its own
    by_content_id = warehouse.coverage(period="past-30-days", organisation=_id(slug), as_of=DAY)
    assert by_content_id["organisation_pages"] == expected[1]


def test_an_unknown_organisation_is_an_error(warehouse: Warehouse) -> None:
    with pytest.raises(
        UnknownOrganisation, match="no organisation has the slug or content_id 'epsilon'"
    ):
        warehouse.coverage(organisation="epsilon", as_of=DAY)


def test_organisations_with_pages(warehouse: Warehouse) -> None:
    organisations = warehouse.organisations()
    assert dict(zip(organisations.slug, organisations.pages, strict=True)) == {
        "alpha": 2,
        "beta": 1,
        "gamma": 0,
        "delta": 0,
    }
    assert resolve_organisations("all with pages", organisations) == ["alpha", "beta"]
    assert resolve_organisations("all ministerial departments", organisations) == sorted(SLUGS)


def test_coverage_in_words(warehouse: Warehouse) -> None:
    site = warehouse.coverage(period="past-30-days", as_of=DAY)
    said = " ".join(coverage_words.sentences(site))
    assert "The warehouse holds 4 pages; 2 organisations lead at least one." in said
    assert (
        "Of the 210 page views" in said
        and "so the page figures in these reports count the other 200" in said
    )
    assert "14% of all page views were on pages with no primary" in said
    assert "10 (5%) were on 2 paths that matched no page" in said
    parts = coverage_words.parts_frame(site)
    assert parts["pviews"].tolist() == [170, 30, 10, 210]
    alpha = warehouse.coverage(period="past-30-days", organisation="alpha", as_of=DAY)
    said = " ".join(coverage_words.sentences(alpha))
    assert "holds 2 pages whose primary organisation is Alpha (1 of them withdrawn)" in said
    gamma = warehouse.coverage(period="past-30-days", organisation="gamma", as_of=DAY)
    said = " ".join(coverage_words.sentences(gamma))
    assert "1 more page names Gamma among its organisations, but another organisation" in said


def test_no_page_views_is_no_share() -> None:
    frame = pd.DataFrame([{"pviews": 0, "organisation_pviews": 0, "no_organisation_pviews": 0}])
    frame["unmatched_pviews"] = 0
    series = coverage_series(frame)
    assert math.isnan(series["no_organisation_share"])


def test_an_organisation_without_pages_in_words(warehouse: Warehouse) -> None:
    delta = warehouse.coverage(period="past-30-days", organisation="delta", as_of=DAY)
    said = coverage_words.sentences(delta)
    assert said[0] == (
        "The warehouse holds no page whose primary organisation is Delta, so this report has "
        "no pages in it."
    )
