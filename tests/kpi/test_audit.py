"""The content audit: one category per page, each rule at its boundaries, and invariants that
hold for any frame of pages (hypothesis), and on the sample warehouse."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govuk_kpi import Warehouse
from govuk_kpi.core.errors import ConfigError, UnknownOrganisation
from govuk_kpi.core.periods import resolve_period
from govuk_kpi.kpi.audit import (
    CATEGORIES,
    NAVIGATION_DOCUMENT_TYPES,
    REASONS,
    AuditThresholds,
    audit,
    figures,
    top_decile,
)
from govuk_kpi.reports import audit_words

AS_OF = date(2026, 10, 31)
YEAR_START = resolve_period("past-year", AS_OF).start
T = AuditThresholds()
TARGET = "/target"


def page(**values: Any) -> dict[str, Any]:
    """A live guide of org-a that no rule flags: used, recent, answered, middling."""
    row = {
        "base_path": TARGET,
        "title": "Target",
        "document_type": "guide",
        "organisation": "org-a",
        "organisation_title": "Organisation A",
        "withdrawn": False,
        "first_published_at": datetime(2020, 1, 6, 9, 30),
        "public_updated_at": datetime(2024, 5, 1, 12, 0),
        "pviews": 5_000,
        "upviews": 4_000,
        "responses": 50,
        "satisfaction": 0.6,
        "searches_per_user": 0.5,
        "pviews_previous": 5_000,
        "pviews_year": 60_000,
    }
    row.update(values)
    return row


def others(n: int = 11, **values: Any) -> list[dict[str, Any]]:
    """`n` busier pages of org-a beside the target, each viewed more (year and period)."""
    return [
        page(
            base_path=f"/other-{i}",
            title=f"Other {i}",
            pviews=100_000 + i,
            upviews=80_000,
            pviews_previous=100_000,
            pviews_year=1_000_000 + i,
            **values,
        )
        for i in range(n)
    ]


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    pages = pd.DataFrame(rows)
    pages.insert(0, "page_id", np.arange(1, len(pages) + 1))
    for column in ("first_published_at", "public_updated_at"):
        pages[column] = pd.to_datetime(pages[column])
    return pages


def judge(target: dict[str, Any], rows: list[dict[str, Any]] | None = None, **thresholds: Any):
    """The audit row of the target page among `rows` (default: 11 busier pages of org-a)."""
    pages = frame([target, *(others() if rows is None else rows)])
    result = audit(pages, replace(T, **thresholds), as_of=AS_OF)
    assert len(result) == len(pages) and result["page_id"].is_unique
    return result.set_index("base_path").loc[TARGET]


def days_before(days: int) -> datetime:
    return datetime.combine(AS_OF - timedelta(days=days), datetime.min.time())


# -- each rule at its boundaries --------------------------------------------------------------
CASES = [
    # withdrawn yet visited: withdrawn_visited_pviews = 100 in the period
    (
        "withdrawn, 99 views",
        page(withdrawn=True, pviews=99),
        "no_action",
        "withdrawn_rarely_visited",
    ),
    (
        "withdrawn, 100 views",
        page(withdrawn=True, pviews=100),
        "redirect_withdrawn",
        "withdrawn_still_visited",
    ),
    (
        "withdrawn, 101 views",
        page(withdrawn=True, pviews=101),
        "redirect_withdrawn",
        "withdrawn_still_visited",
    ),
    # low satisfaction: below 0.5 from at least 10 answers
    (
        "satisfaction 0.49 of 10",
        page(responses=10, satisfaction=0.49),
        "needs_improvement",
        "low_satisfaction",
    ),
    (
        "satisfaction 0.50 of 10",
        page(responses=10, satisfaction=0.5),
        "no_action",
        "nothing_to_act_on",
    ),
    (
        "satisfaction 0.51 of 10",
        page(responses=10, satisfaction=0.51),
        "no_action",
        "nothing_to_act_on",
    ),
    (
        "satisfaction 0.10 of 9",
        page(responses=9, satisfaction=0.1),
        "not_enough_data",
        "few_answers",
    ),
    (
        "satisfaction 0.10 of 11",
        page(responses=11, satisfaction=0.1),
        "needs_improvement",
        "low_satisfaction",
    ),
    # many searches: at least 3 per 100 users, from at least 100 users, not navigation
    ("searches 2.99", page(upviews=100, searches_per_user=2.99), "no_action", "nothing_to_act_on"),
    (
        "searches 3.00",
        page(upviews=100, searches_per_user=3.0),
        "needs_improvement",
        "many_searches",
    ),
    (
        "searches 3.01",
        page(upviews=100, searches_per_user=3.01),
        "needs_improvement",
        "many_searches",
    ),
    (
        "searches 50 from 99 users",
        page(upviews=99, searches_per_user=50.0),
        "no_action",
        "nothing_to_act_on",
    ),
    # steep fall: -25% or worse from at least 100 page views
    ("fall 24%", page(pviews=76, pviews_previous=100), "no_action", "nothing_to_act_on"),
    ("fall 25%", page(pviews=75, pviews_previous=100), "needs_improvement", "steep_fall"),
    ("fall 26%", page(pviews=74, pviews_previous=100), "needs_improvement", "steep_fall"),
    ("fall 100% from 99", page(pviews=0, pviews_previous=99), "no_action", "nothing_to_act_on"),
    # old: more than 5 years (1,826.25 days) since the last update
    (
        "updated 1826 days ago",
        page(public_updated_at=days_before(1826)),
        "no_action",
        "nothing_to_act_on",
    ),
    (
        "updated 1827 days ago",
        page(public_updated_at=days_before(1827)),
        "review_old_but_used",
        "old",
    ),
    (
        "updated 1828 days ago",
        page(public_updated_at=days_before(1828)),
        "review_old_but_used",
        "old",
    ),
    # implausible dates: before 1990 or after the period's end are not ages
    (
        "updated 1989-12-31",
        page(public_updated_at=datetime(1989, 12, 31)),
        "not_enough_data",
        "update_date_implausible",
    ),
    (
        "updated 1990-01-01",
        page(public_updated_at=datetime(1990, 1, 1)),
        "review_old_but_used",
        "old",
    ),
    (
        "updated 1881",
        page(public_updated_at=datetime(1881, 2, 27)),
        "not_enough_data",
        "update_date_implausible",
    ),
    (
        "updated on the last day",
        page(public_updated_at=days_before(0)),
        "no_action",
        "nothing_to_act_on",
    ),
    (
        "updated the day after",
        page(public_updated_at=days_before(-1)),
        "not_enough_data",
        "update_date_implausible",
    ),
    (
        "no dates",
        page(public_updated_at=None, first_published_at=None),
        "not_enough_data",
        "update_date_missing",
    ),
    # too new: first published after the past year began
    (
        "first published the year's first day",
        page(
            first_published_at=datetime.combine(YEAR_START, datetime.min.time()),
            public_updated_at=None,
        ),
        "no_action",
        "nothing_to_act_on",
    ),
    (
        "first published the day after",
        page(
            first_published_at=datetime.combine(
                YEAR_START + timedelta(days=1), datetime.min.time()
            ),
            public_updated_at=None,
        ),
        "not_enough_data",
        "too_new",
    ),
]


@pytest.mark.parametrize(
    ("target", "category", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_rule_at_its_boundaries(target: dict, category: str, code: str) -> None:
    row = judge(target)
    assert row["category"] == category
    assert code in row["reason_codes"]
    assert REASONS[code] in (category, None)


@pytest.mark.parametrize(
    ("satisfaction", "responses", "category"),
    [
        (0.69, 10, "no_action"),
        (0.70, 10, "working_well"),
        (0.71, 10, "working_well"),
        (0.95, 9, "not_enough_data"),
        (0.95, 11, "working_well"),
    ],
)
def test_working_well_needs_enough_answers_at_or_above_the_bar(
    satisfaction: float, responses: int, category: str
) -> None:
    best = page(
        pviews=1_000_000, pviews_year=9_000_000, satisfaction=satisfaction, responses=responses
    )
    row = judge(best)
    assert row["category"] == category
    if category == "working_well":
        assert row["reason_codes"] == ("most_viewed", "satisfied")


@pytest.mark.parametrize(("busier", "category"), [(1, "working_well"), (2, "no_action")])
def test_working_well_is_among_the_organisations_most_viewed(busier: int, category: str) -> None:
    """top_pages = 2: a page with one busier page is 2nd; with two, 3rd and not listed."""
    rows = others(busier) + [
        page(base_path=f"/quiet-{i}", pviews=10, pviews_year=120_000) for i in range(5)
    ]
    row = judge(page(satisfaction=0.9), rows, top_pages=2)
    assert row["category"] == category
    assert row["org_period_rank"] == busier + 1


def test_pages_with_equal_views_share_a_place() -> None:
    rows = [page(base_path="/twin", satisfaction=0.9), *others(3)]
    result = audit(frame([page(satisfaction=0.9), *rows]), replace(T, top_pages=4), as_of=AS_OF)
    twins = result.set_index("base_path").loc[[TARGET, "/twin"]]
    assert list(twins["org_period_rank"]) == [4, 4]
    assert set(twins["category"]) == {"working_well"}


# -- archive candidates: judged against the organisation and the document type ---------------
def _notices(*views: int) -> list[dict[str, Any]]:
    """Notices of another organisation: the document type's other pages."""
    return [
        page(base_path=f"/notice-{v}", document_type="notice", organisation="org-b", pviews_year=v)
        for v in views
    ]


def little(**values: Any) -> dict[str, Any]:
    return page(document_type="notice", pviews=50, pviews_previous=50, **values)


@pytest.mark.parametrize(
    ("views_year", "category"),
    [(999, "archive_candidate"), (1000, "no_action"), (1001, "no_action")],
)
def test_little_use_is_under_the_absolute_line(views_year: int, category: str) -> None:
    row = judge(little(pviews_year=views_year), others() + _notices(5_000, 6_000))
    assert row["category"] == category
    assert row["type_median_pviews_year"] >= views_year


@pytest.mark.parametrize(
    ("quieter", "category"), [(2, "archive_candidate"), (3, "no_action"), (4, "no_action")]
)
def test_little_use_is_among_the_least_used_quarter_of_its_organisation(
    quieter: int, category: str
) -> None:
    """12 pages of org-a: fewer than 3 (a quarter) may be used less."""
    rows = others(11 - quieter) + [
        page(base_path=f"/quieter-{i}", pviews_year=10 + i) for i in range(quieter)
    ]
    row = judge(little(pviews_year=500), rows + _notices(5_000, 6_000))
    assert (row["org_pages"], row["org_quieter_pages"]) == (12, quieter)
    assert row["category"] == category


@pytest.mark.parametrize(
    ("views_year", "category"),
    [(899, "archive_candidate"), (900, "archive_candidate"), (901, "no_action")],
)
def test_little_use_is_no_more_than_the_median_of_its_type(views_year: int, category: str) -> None:
    """Two other notices, viewed 500 and 900 times: with the target the median is its own
    views up to 900, and 900 above."""
    row = judge(little(pviews_year=views_year), others() + _notices(500, 900))
    assert row["type_median_pviews_year"] == min(views_year, 900)
    assert row["category"] == category


@pytest.mark.parametrize(("type_pages", "category"), [(2, "no_action"), (3, "archive_candidate")])
def test_a_page_unique_in_its_kind_is_not_judged_little_used(
    type_pages: int, category: str
) -> None:
    row = judge(little(pviews_year=100), others() + _notices(*[5_000] * (type_pages - 1)))
    assert row["type_pages"] == type_pages
    assert row["category"] == category


@pytest.mark.parametrize(
    ("others_views", "protected"),
    [((), True), ((300, 300, 300), True), ((300, 300, 400), False)],
    ids=["alone", "all tied", "one busier of four"],
)
def test_the_busiest_tenth_of_an_organisation_is_never_an_archive_candidate(
    others_views: tuple[int, ...], protected: bool
) -> None:
    """A little used notice of org-c, among org-c's other notices. Alone, or tied with all
    of them, no page is busier: it is in org-c's busiest tenth and never archived; with one
    busier page of four (1 ≥ 0.1 × 4) it is not, and is an archive candidate."""
    rows = [
        page(base_path=f"/c-{i}", organisation="org-c", document_type="notice", pviews_year=v)
        for i, v in enumerate(others_views)
    ]
    target = little(organisation="org-c", pviews_year=300)
    pages = frame([target, *rows, *_notices(5_000, 6_000, 7_000)])
    assert bool(top_decile(figures(pages, T, as_of=AS_OF), T).iloc[0]) is protected
    row = audit(pages, T, as_of=AS_OF).set_index("base_path").loc[TARGET]
    assert (row["category"] == "archive_candidate") is not protected
    if protected:  # the other tests of little use all hold
        assert row["org_quieter_pages"] == 0 and row["pviews_year"] < T.little_use_pviews_year


def test_a_little_used_page_with_less_than_a_years_history_is_not_enough_data() -> None:
    young = little(
        pviews_year=100,
        first_published_at=datetime(2026, 3, 1),
        public_updated_at=datetime(2026, 3, 1),
    )
    row = judge(young, others() + _notices(5_000, 6_000))
    assert row["category"] == "not_enough_data"
    assert "too_new" in row["reason_codes"]


# -- navigation pages are judged against their own kind ---------------------------------------
def test_many_searches_on_the_homepage_is_what_it_is_for() -> None:
    figures_of = {"pviews": 8_000_000, "upviews": 6_000_000, "searches_per_user": 25.0}
    home = judge(page(document_type="homepage", organisation=None, **figures_of))
    guide = judge(page(**figures_of))
    assert home["category"] != "needs_improvement"
    assert "many_searches" not in home["reason_codes"]
    assert "searches_expected" in home["reason_codes"]
    assert guide["category"] == "needs_improvement"
    assert guide["reason_codes"] == ("many_searches",)


@pytest.mark.parametrize("kind", sorted(NAVIGATION_DOCUMENT_TYPES))
def test_navigation_pages_are_not_judged_on_searches(kind: str) -> None:
    row = judge(page(document_type=kind, upviews=1_000, searches_per_user=99.0))
    assert row["category"] == "no_action"


def test_navigation_pages_are_still_judged_on_satisfaction() -> None:
    row = judge(page(document_type="finder", responses=40, satisfaction=0.2))
    assert row["reason_codes"] == ("low_satisfaction",)


# -- precedence: the first category whose test a page meets -----------------------------------
PRECEDENCE = [
    (
        "withdrawn, visited, unhelpful, old",
        page(
            withdrawn=True,
            pviews=500,
            responses=40,
            satisfaction=0.1,
            public_updated_at=datetime(2010, 1, 1),
        ),
        "redirect_withdrawn",
    ),
    (
        "withdrawn, satisfied, most viewed",
        page(withdrawn=True, pviews=10, satisfaction=0.9),
        "no_action",
    ),
    (
        "little used and unhelpful",
        little(pviews_year=100, responses=12, satisfaction=0.1),
        "archive_candidate",
    ),
    (
        "unhelpful and old",
        page(responses=40, satisfaction=0.1, public_updated_at=datetime(2010, 1, 1)),
        "needs_improvement",
    ),
    (
        "satisfied, most viewed and old",
        page(pviews=10**6, satisfaction=0.9, public_updated_at=datetime(2010, 1, 1)),
        "working_well",
    ),
    (
        "old with few answers",
        page(responses=3, public_updated_at=datetime(2010, 1, 1)),
        "review_old_but_used",
    ),
    (
        "few answers and a bad date",
        page(responses=3, public_updated_at=datetime(1881, 1, 1)),
        "not_enough_data",
    ),
]


@pytest.mark.parametrize(
    ("target", "category"), [c[1:] for c in PRECEDENCE], ids=[c[0] for c in PRECEDENCE]
)
def test_the_first_category_in_precedence_wins(target: dict, category: str) -> None:
    rows = others() + _notices(5_000, 6_000)
    assert judge(target, rows)["category"] == category


def test_a_bad_date_is_a_note_beside_any_category() -> None:
    row = judge(page(responses=40, satisfaction=0.1, public_updated_at=datetime(1881, 2, 27)))
    assert row["reason_codes"] == ("low_satisfaction", "update_date_implausible")
    assert np.isnan(row["age_years"])


# -- lists: what needs action most first, ranks without gaps ---------------------------------
def test_lists_are_ordered_by_need_and_ranked_without_gaps() -> None:
    rows = [
        little(base_path="/a-200", pviews_year=200),
        little(base_path="/a-100", pviews_year=100),
        little(base_path="/a-300", pviews_year=300),
        page(base_path="/n-small", pviews=2_000, responses=40, satisfaction=0.1),
        page(base_path="/n-big", pviews=90_000, responses=40, satisfaction=0.1),
        *others(),
        *_notices(5_000, 6_000, 7_000),
    ]
    result = audit(frame(rows), T, as_of=AS_OF)
    archive = result[result["category"] == "archive_candidate"]
    assert list(archive["base_path"]) == ["/a-100", "/a-200", "/a-300"]
    improve = result[result["category"] == "needs_improvement"]
    assert list(improve["base_path"]) == ["/n-big", "/n-small"]
    for _, part in result.groupby("category"):
        assert list(part["rank"]) == list(range(1, len(part) + 1))
    order = [CATEGORIES.index(c) for c in result["category"]]
    assert order == sorted(order)


def test_thresholds_are_checked() -> None:
    with pytest.raises(ConfigError, match="good_satisfaction"):
        AuditThresholds(good_satisfaction=1.5)
    with pytest.raises(ConfigError, match="low_satisfaction"):
        AuditThresholds(low_satisfaction=0.8, good_satisfaction=0.7)
    with pytest.raises(ConfigError, match="falling_views"):
        AuditThresholds(falling_views=0.25)
    with pytest.raises(ConfigError, match="min_responses"):
        AuditThresholds(min_responses=-1)
    assert AuditThresholds.from_dict(T.as_dict()) == T
    with pytest.raises(ConfigError, match="unknown"):
        AuditThresholds.from_dict({"top": 3})


# -- any frame of pages: hypothesis ----------------------------------------------------------
KINDS = ["guide", "news_story", "notice", "homepage", "finder", "organisation", "transaction"]
ORGS = ["org-a", "org-b", "org-c", None]


@st.composite
def pages_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 30))
    rows = []
    for i in range(n):
        pviews = draw(st.integers(0, 10**6))
        responses = draw(st.integers(0, 40))
        yes = draw(st.integers(0, responses))
        stamp = st.one_of(st.none(), st.datetimes(datetime(1850, 1, 1), datetime(2030, 12, 31)))
        rows.append(
            {
                "base_path": f"/p{i}",
                "title": f"Page {i}",
                "document_type": draw(st.sampled_from(KINDS)),
                "organisation": draw(st.sampled_from(ORGS)),
                "organisation_title": None,
                "withdrawn": draw(st.booleans()),
                "first_published_at": draw(stamp),
                "public_updated_at": draw(stamp),
                "pviews": pviews,
                "upviews": draw(st.integers(0, pviews)),
                "responses": responses,
                "satisfaction": yes / responses if responses else float("nan"),
                "searches_per_user": draw(st.floats(0, 100)),
                "pviews_previous": draw(st.integers(0, 10**6)),
                "pviews_year": pviews + draw(st.integers(0, 10**7)),
            }
        )
    return frame(rows)


thresholds_strategy = st.builds(
    AuditThresholds,
    top_pages=st.integers(0, 12),
    good_satisfaction=st.floats(0.5, 1.0),
    low_satisfaction=st.floats(0.0, 0.5),
    min_responses=st.integers(0, 20),
    high_searches_per_user=st.floats(0, 50),
    falling_views=st.floats(-1, 0),
    little_use_pviews_year=st.integers(0, 10**7),
    old_years=st.floats(0, 30),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages=pages_frames(), t=thresholds_strategy)
def test_every_page_gets_one_category_and_the_invariants_hold(
    pages: pd.DataFrame, t: AuditThresholds
) -> None:
    result = audit(pages, t, as_of=AS_OF)
    # One row per page, one category each.
    assert sorted(result["page_id"]) == sorted(pages["page_id"])
    assert result["category"].isin(CATEGORIES).all()
    for row in result.itertuples():
        assert row.reason_codes, row
        assert all(code in REASONS for code in row.reason_codes)
        assert any(REASONS[code] == row.category for code in row.reason_codes)
    # The busiest tenth of an organisation is never an archive candidate.
    busiest = top_decile(figures(pages, t, as_of=AS_OF), t)
    by_id = dict(zip(pages["page_id"], busiest, strict=True))
    archived = result[result["category"] == "archive_candidate"]
    assert not any(by_id[p] for p in archived["page_id"])
    # Working well: enough answers, at or above the bar, live.
    good = result[result["category"] == "working_well"]
    assert (good["responses"] >= t.min_responses).all()
    assert (good["satisfaction"] >= t.good_satisfaction).all()
    assert not good["withdrawn"].any()
    # A withdrawn page is redirected or left alone.
    withdrawn = result[result["withdrawn"]]
    assert withdrawn["category"].isin(["redirect_withdrawn", "no_action"]).all()
    # Navigation pages are not judged on searches; an implausible date is never an age.
    for row in result.itertuples():
        if row.document_type in NAVIGATION_DOCUMENT_TYPES:
            assert "many_searches" not in row.reason_codes
        if "old" in row.reason_codes:
            assert row.age_years > t.old_years
    assert result.loc[result["update_date"] != "ok", "age_years"].isna().all()
    # Lists in order, ranks 1..n.
    for name, part in result.groupby("category"):
        assert list(part["rank"]) == list(range(1, len(part) + 1))
        key = part["pviews_year"] if name == "archive_candidate" else -part["pviews"]
        assert key.is_monotonic_increasing
    # Every page can be said in words.
    for _, row in audit_words.explained(result).iterrows():
        assert row["reasons"] and "nan" not in row["reasons"]


@settings(max_examples=60, deadline=None)
@given(pages=pages_frames())
def test_an_organisations_audit_agrees_with_the_sites(pages: pd.DataFrame) -> None:
    """Judged against its own pages and every page's document type, an organisation's page
    gets the category it gets in the site's audit."""
    site = audit(pages, T, as_of=AS_OF).set_index("page_id")
    mine = pages[pages["organisation"] == "org-a"]
    if mine.empty:
        return
    own = audit(mine, T, as_of=AS_OF, reference=pages).set_index("page_id")
    pd.testing.assert_series_equal(
        own["category"], site.loc[own.index, "category"], check_names=False
    )
    assert list(own["reason_codes"]) == list(site.loc[own.index, "reason_codes"])


# -- the words ----------------------------------------------------------------------------------
def test_reason_sentences_format_the_figures() -> None:
    row = judge(page(pviews=2_323_453, responses=4_444, satisfaction=0.3359))
    words = audit_words.reason_sentence(row["reason_codes"], row)
    assert words == "Only 34% of 4,444 answers said the page was useful (the bar is 50%)."
    old = judge(page(public_updated_at=days_before(3_800)))
    said = audit_words.reason_sentence(old["reason_codes"], old)
    assert said.startswith("Last updated 10.4 years ago (") and "5,000 times" in said
    bad = judge(page(public_updated_at=datetime(1881, 2, 27)))
    assert "27 February 1881, cannot be right" in audit_words.reason_sentence(
        bad["reason_codes"], bad
    )
    home = judge(page(document_type="homepage", organisation=None, searches_per_user=24.9))
    assert "expected of a homepage" in audit_words.reason_sentence(home["reason_codes"], home)
    with pytest.raises(KeyError, match="no words"):
        audit_words.reason_sentence(("made_up",), row)


def test_count_sentences() -> None:
    result = audit(frame([page(responses=40, satisfaction=0.1), *others()]), T, as_of=AS_OF)
    assert audit_words.count_sentence(result, "needs_improvement") == (
        "1 of 12 pages needs improvement."
    )
    assert audit_words.count_sentence(result, "archive_candidate") == (
        "0 of 12 pages are archive candidates."
    )
    assert list(audit_words.counts_frame(result)["category"]) == list(CATEGORIES)
    assert list(audit_words.csv_frame(result).columns[:3]) == ["category", "reasons", "base_path"]


# -- on the sample warehouse -------------------------------------------------------------------
@pytest.mark.slow
def test_the_warehouse_audit_on_the_sample(sample_url: str) -> None:
    wh = Warehouse(sample_url)
    t = AuditThresholds(old_years=10.0, little_use_pviews_year=2000)
    site = wh.content_audit(thresholds=t)
    assert len(site) == len(wh.page_trends()) and site["page_id"].is_unique
    assert site.attrs["thresholds"]["old_years"] == 10.0 and "SELECT" in site.attrs["query"]
    home = site.set_index("base_path").loc["/"]
    assert home["category"] != "needs_improvement" and "searches_expected" in home["reason_codes"]
    # No English in the frame: codes only.
    assert "reasons" not in site.columns
    by_page = site.set_index("page_id")
    for organisation in ("hm-revenue-customs", "department-for-transport"):
        own = wh.content_audit(organisation=organisation, thresholds=t).set_index("page_id")
        assert set(own["organisation"]) == {organisation}
        assert (own["category"] == by_page.loc[own.index, "category"]).all(), organisation
        assert "reference_query" in own.attrs
    with pytest.raises(UnknownOrganisation) as unknown:  # not an empty audit
        wh.content_audit(organisation="hm-revenue-custom")
    assert unknown.value.nearest[0] == "hm-revenue-customs"
    # Keywords override single thresholds; unknown ones are refused.
    looser = wh.content_audit(low_satisfaction=0.6, thresholds=t)
    assert looser.attrs["thresholds"]["low_satisfaction"] == 0.6
    with pytest.raises(ConfigError, match="low_sat"):
        wh.content_audit(low_sat=0.6)
