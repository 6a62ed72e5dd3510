"""The content audit: one decision per page, from rules over a frame of pages.

Every page gets exactly one category, the first of `CATEGORIES` whose test it meets, with the
reason codes that put it there (and any data-quality note) and the figures that explain them.
The rules are plain functions over the frame `Warehouse.page_trends` gives; the thresholds
are one typed, frozen `AuditThresholds`. Nothing here is English: reports turn the codes into
sentences (`govuk_kpi.reports.audit_words`). docs/audit.md says what each rule means and why
the categories come in this order.

>>> from govuk_kpi import Warehouse
>>> Warehouse().content_audit(organisation="hm-revenue-customs")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from govuk_kpi.core.errors import ConfigError
from govuk_kpi.core.periods import resolve_period

# In order of precedence: a page gets the first category whose test it meets. Redirect,
# archive and improve ask for action, the most urgent first; "working well" comes before
# "review" because users' answers are direct evidence that a page still does its job, and age
# only a hint that it may not; then the two neutral ones.
CATEGORIES: tuple[str, ...] = (
    "redirect_withdrawn",
    "archive_candidate",
    "needs_improvement",
    "working_well",
    "review_old_but_used",
    "not_enough_data",
    "no_action",
)

# Every reason code and the category it puts a page in (None: a note beside any category).
REASONS: dict[str, str | None] = {
    "withdrawn_still_visited": "redirect_withdrawn",
    "little_used": "archive_candidate",
    "low_satisfaction": "needs_improvement",
    "many_searches": "needs_improvement",
    "steep_fall": "needs_improvement",
    "old": "review_old_but_used",
    "most_viewed": "working_well",
    "satisfied": "working_well",
    "few_answers": "not_enough_data",
    "too_new": "not_enough_data",
    "update_date_missing": "not_enough_data",
    "update_date_implausible": "not_enough_data",
    "withdrawn_rarely_visited": "no_action",
    "nothing_to_act_on": "no_action",
    # Notes: shown with whatever category the page gets.
    "searches_expected": None,
}
# Categories whose every code must hold (the others need any one of theirs).
ALL_REQUIRED = frozenset({"working_well"})
# Data-quality codes: listed with the page's category whichever it is.
DATA_QUALITY = ("update_date_missing", "update_date_implausible")

# Pages whose job is to send people on — to other pages or to search — judged against their
# own kind: the searches rule does not apply to them. Document types as the content store
# names them (see data/govuk/content-items/ and GOV.UK's document types).
NAVIGATION_DOCUMENT_TYPES = frozenset(
    {
        "homepage",
        "search",
        "finder",
        "special_route",
        "mainstream_browse_page",
        "topic",
        "taxon",
        "step_by_step_nav",
        "document_collection",
        "organisation",
        "organisations_homepage",
        "ministers_index",
        "embassies_index",
        "world_index",
        "world_location",
        "worldwide_organisation",
        "travel_advice_index",
        "fields_of_operation",
        "topical_event",
        "service_manual_homepage",
        "service_manual_topic",
        "landing_page",
        "coronavirus_landing_page",
        "plan_for_change_landing_page",
        "get_involved",
        "how_government_works",
    }
)

# Columns of `Warehouse.page_trends` the rules read.
REQUIRED_COLUMNS = (
    "page_id",
    "base_path",
    "document_type",
    "organisation",
    "withdrawn",
    "first_published_at",
    "public_updated_at",
    "pviews",
    "upviews",
    "responses",
    "satisfaction",
    "searches_per_user",
    "pviews_previous",
    "pviews_year",
)

DAYS_A_YEAR = 365.25


@dataclass(frozen=True)
class AuditThresholds:
    """The thresholds of the content audit's rules, with the defaults the reports use."""

    top_pages: int = 10
    """Working well: among this many of its organisation's most viewed pages (page views in
    the period; pages with equal views share a place)."""

    good_satisfaction: float = 0.7
    """Working well: satisfaction (useful yes / all answers) at least this, as a ratio."""

    low_satisfaction: float = 0.5
    """Needs improvement: satisfaction below this, as a ratio..."""

    min_responses: int = 10
    """...from at least this many answers to "Is this page useful?" in the period. Fewer
    answers than this and satisfaction is not judged either way (not enough data)."""

    high_searches_per_user: float = 3.0
    """Needs improvement: at least this many site searches started from the page per 100
    unique page views. Not applied to navigation pages (`NAVIGATION_DOCUMENT_TYPES`)."""

    min_users_for_searches: int = 100
    """The searches rule needs at least this many unique page views in the period."""

    falling_views: float = -0.25
    """Needs improvement: page views changed by this ratio or less on the period before
    (-0.25: fell by a quarter or more)..."""

    min_previous_pviews: int = 100
    """...from at least this many page views in the period before."""

    little_use_pviews_year: int = 1000
    """Archive candidate: fewer page views than this over the past year; and also among the
    least used `little_use_share` of its organisation's pages and no more used than the
    median page of its document type. A page with this many is never little used."""

    min_type_pages: int = 3
    """Archive candidate: its document type must have at least this many pages to compare
    with (a page unique in its kind — the homepage, the ministers index — never is one)."""

    little_use_share: float = 0.25
    """Archive candidate: fewer than this share of its organisation's pages are used less
    over the year (0.25: it is in the least used quarter)."""

    top_share: float = 0.1
    """Never an archive candidate: fewer than this share of its organisation's pages are used
    more over the year (0.1: the busiest tenth; an organisation's busiest page always)."""

    old_years: float = 5.0
    """Review, old but used: last updated (public_updated_at) more than this many years before
    the period's end."""

    withdrawn_visited_pviews: int = 100
    """Redirect: a withdrawn page viewed at least this many times in the period."""

    earliest_plausible_update: date = date(1990, 1, 1)
    """An update date before this (or after the period's end) is a data error, not an age:
    GOV.UK launched in 2012 and the content it took over is not older than the web."""

    def __post_init__(self) -> None:
        for name in ("good_satisfaction", "low_satisfaction", "little_use_share", "top_share"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ConfigError(f"audit threshold {name}: {value!r} is not a ratio in 0..1")
        if self.low_satisfaction > self.good_satisfaction:
            raise ConfigError(
                f"audit thresholds: low_satisfaction {self.low_satisfaction!r} is above "
                f"good_satisfaction {self.good_satisfaction!r}"
            )
        for name in (
            "top_pages",
            "min_responses",
            "min_users_for_searches",
            "min_previous_pviews",
            "little_use_pviews_year",
            "min_type_pages",
            "withdrawn_visited_pviews",
            "old_years",
            "high_searches_per_user",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"audit threshold {name}: {value!r} is not a number ≥ 0")
        if not -1 <= self.falling_views <= 0:
            raise ConfigError(
                f"audit threshold falling_views: {self.falling_views!r} is not a fall in -1..0"
            )

    def as_dict(self) -> dict[str, Any]:
        """The thresholds by name (dates as ISO text), as a manifest or JSON holds them."""
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> AuditThresholds:
        """Back from `as_dict` (unknown names are an error)."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown audit thresholds: {', '.join(sorted(unknown))}")
        given = dict(values)
        if isinstance(given.get("earliest_plausible_update"), str):
            given["earliest_plausible_update"] = date.fromisoformat(
                given["earliest_plausible_update"]
            )
        return cls(**given)


# -- the figures the rules read ----------------------------------------------------------------
def _timestamps(column: pd.Series) -> pd.Series:
    """Naive timestamps of one unit (microseconds), so dates of two columns combine."""
    stamps = pd.to_datetime(column)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert(None)
    return stamps.astype("datetime64[us]")


def type_reference(pages: pd.DataFrame) -> pd.DataFrame:
    """Per document type: how many pages (`type_pages`) and the median page views over the
    year (`type_median_pviews_year`), from a frame of (document_type, pviews_year)."""
    grouped = pages.groupby(pages["document_type"].fillna(""), sort=True)["pviews_year"]
    return pd.DataFrame(
        {"type_pages": grouped.size(), "type_median_pviews_year": grouped.median()}
    ).rename_axis("document_type")


def figures(
    pages: pd.DataFrame,
    thresholds: AuditThresholds,
    *,
    as_of: date,
    reference: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The pages with the figures the rules read and the reports quote.

    Args:
        pages: one row per page with `REQUIRED_COLUMNS` (what `Warehouse.page_trends` gives).
            Organisation figures compare each page with the pages of the same primary
            organisation in this frame (pages with none form one group).
        as_of: the period's last day: ages and the past year end here.
        reference: (document_type, pviews_year) for the pages that document types are judged
            against (default: `pages` itself; the Warehouse passes every page of the site).

    Returns:
        `pages` plus `navigation`, `age_years` (NaN when the date is missing or implausible),
        `update_date` (`ok`, `missing` or `implausible`), `full_year`, `org_pages`,
        `org_busier_pages`, `org_quieter_pages` (by page views over the year),
        `org_period_rank` (1 + pages of its organisation with more page views in the period),
        `type_pages`, `type_median_pviews_year` and `pviews_change` (from the sums).
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in pages.columns]
    if missing:
        raise ConfigError(f"the audit needs the columns {', '.join(missing)}")
    frame = pages.copy()
    end = pd.Timestamp(as_of)
    earliest = pd.Timestamp(thresholds.earliest_plausible_update)

    frame["navigation"] = frame["document_type"].isin(NAVIGATION_DOCUMENT_TYPES)

    updated = _timestamps(frame["public_updated_at"]).fillna(
        _timestamps(frame["first_published_at"])
    )
    implausible = updated.notna() & ((updated < earliest) | (updated.dt.normalize() > end))
    frame["update_date"] = np.where(
        updated.isna(), "missing", np.where(implausible, "implausible", "ok")
    )
    age_days = (end - updated.dt.normalize()).dt.days.where(frame["update_date"] == "ok")
    frame["age_years"] = age_days / DAYS_A_YEAR

    first = _timestamps(frame["first_published_at"]).fillna(_timestamps(frame["public_updated_at"]))
    plausible_first = first.notna() & (first >= earliest) & (first.dt.normalize() <= end)
    year_start = pd.Timestamp(resolve_period("past-year", as_of).start)
    frame["full_year"] = ~(plausible_first & (first.dt.normalize() > year_start))

    organisation = frame["organisation"].fillna("")
    by_org = frame.groupby(organisation, sort=False)
    frame["org_pages"] = by_org["page_id"].transform("size").astype("int64")
    year = frame["pviews_year"].astype("float")
    frame["org_busier_pages"] = (
        year.groupby(organisation).rank(method="min", ascending=False) - 1
    ).astype("int64")
    frame["org_quieter_pages"] = (
        year.groupby(organisation).rank(method="min", ascending=True) - 1
    ).astype("int64")
    frame["org_period_rank"] = (
        frame["pviews"].astype("float").groupby(organisation).rank(method="min", ascending=False)
    ).astype("int64")

    types = type_reference(frame if reference is None else reference)
    kind = frame["document_type"].fillna("")
    frame["type_pages"] = kind.map(types["type_pages"]).fillna(0).astype("int64")
    frame["type_median_pviews_year"] = kind.map(types["type_median_pviews_year"])

    previous = frame["pviews_previous"].astype("float")
    frame["pviews_change"] = (frame["pviews"] - previous) / previous.where(previous != 0)
    return frame


# -- the rules: each a boolean Series over a frame from `figures` -------------------------------
Rule = Callable[[pd.DataFrame, AuditThresholds], pd.Series]


def withdrawn_still_visited(f: pd.DataFrame, t: AuditThresholds) -> pd.Series:
    """Withdrawn, yet viewed at least `withdrawn_visited_pviews` times in the period."""
    return f["withdrawn"].astype(bool) & (f["pviews"] >= t.withdrawn_visited_pviews)


def top_decile(f: pd.DataFrame, t: AuditThresholds) -> pd.Series:
    """Among the busiest `top_share` of its organisation's pages over the year (pages with
    equal views share a place; a page nobody viewed is never among the busiest)."""
    return (f["pviews_year"] > 0) & (f["org_busier_pages"] < t.top_share * f["org_pages"])


def little_used(f: pd.DataFrame, t: AuditThresholds) -> pd.Series:
    """A live page with a full year of history, little used over that year: below the
    absolute line, in the least used share of its organisation, no more used than the median
    page of its document type (of at least `min_type_pages` pages), and not among its
    organisation's busiest."""
    return (
        ~f["withdrawn"].astype(bool)
        & f["full_year"].astype(bool)
        & (f["pviews_year"] < t.little_use_pviews_year)
        & (f["org_quieter_pages"] < t.little_use_share * f["org_pages"])
        & (f["type_pages"] >= t.min_type_pages)
        & (f["pviews_year"] <= f["type_median_pviews_year"])
        & ~top_decile(f, t)
    )


def enough_answers(f: pd.DataFrame, t: AuditThresholds) -> pd.Series:
    """At least `min_responses` answers: satisfaction can be judged."""
    return f["responses"] >= t.min_responses


def low_satisfaction(f: pd.DataFrame, t: AuditThresholds) -> pd.Series:
    """Satisfaction below `low_satisfaction` from enough answers."""
    return enough_answers(f, t) & (f["satisfaction"] < t.low_satisfaction)


def _searches_high(f: pd.DataFrame, t: AuditThresholds) -> pd.Series:
    return (f["upviews"] >= t.min_users_for_searches) & (
        f["searches_per_user"] >= t.high_searches_per_user
    )


def many_searches(f: pd.DataFrame, t: AuditThresholds) -> pd.Series:
    """Not a navigation page, with enough users, and at least `high_searches_per_user`
    searches per 100 of them."""
    return ~f["navigation"].astype(bool) & _searches_high(f, t)


def searches_expected(f: pd.DataFrame, t: AuditThresholds) -> pd.Series:
    """A navigation page searched from as often as `many_searches` means: what it is for."""
    return f["navigation"].astype(bool) & _searches_high(f, t)


def steep_fall(f: pd.DataFrame, t: AuditThresholds) -> pd.Series:
    """Page views fell by `falling_views` or more from at least `min_previous_pviews`."""
    return (f["pviews_previous"] >= t.min_previous_pviews) & (f["pviews_change"] <= t.falling_views)


def old(f: pd.DataFrame, t: AuditThresholds) -> pd.Series:
    """Last updated more than `old_years` years ago (a plausible date only)."""
    return f["age_years"] > t.old_years


def satisfied(f: pd.DataFrame, t: AuditThresholds) -> pd.Series:
    """Satisfaction at least `good_satisfaction` from enough answers."""
    return enough_answers(f, t) & (f["satisfaction"] >= t.good_satisfaction)


def most_viewed(f: pd.DataFrame, t: AuditThresholds) -> pd.Series:
    """Viewed in the period, and among its organisation's `top_pages` most viewed."""
    return (f["pviews"] > 0) & (f["org_period_rank"] <= t.top_pages)


def few_answers(f: pd.DataFrame, t: AuditThresholds) -> pd.Series:
    """Fewer than `min_responses` answers: satisfaction cannot be judged."""
    return ~enough_answers(f, t)


def too_new(f: pd.DataFrame, t: AuditThresholds) -> pd.Series:
    """First published within the past year: a year's use cannot be judged yet."""
    return ~f["full_year"].astype(bool)


def update_date_missing(f: pd.DataFrame, t: AuditThresholds) -> pd.Series:
    """No update or first-published date: its age cannot be judged."""
    return f["update_date"] == "missing"


def update_date_implausible(f: pd.DataFrame, t: AuditThresholds) -> pd.Series:
    """An update date before `earliest_plausible_update` or after the period: a data error."""
    return f["update_date"] == "implausible"


def _live(f: pd.DataFrame, t: AuditThresholds) -> pd.Series:
    return ~f["withdrawn"].astype(bool)


def _withdrawn_rarely_visited(f: pd.DataFrame, t: AuditThresholds) -> pd.Series:
    return f["withdrawn"].astype(bool) & ~withdrawn_still_visited(f, t)


# Each category's reason codes and rules. A withdrawn page is judged by the first and last
# categories only: improving, reviewing or praising withdrawn content is no one's job.
RULES: dict[str, dict[str, Rule]] = {
    "redirect_withdrawn": {"withdrawn_still_visited": withdrawn_still_visited},
    "archive_candidate": {"little_used": little_used},
    "needs_improvement": {
        "low_satisfaction": low_satisfaction,
        "many_searches": many_searches,
        "steep_fall": steep_fall,
    },
    "working_well": {"most_viewed": most_viewed, "satisfied": satisfied},
    "review_old_but_used": {"old": old},
    "not_enough_data": {
        "few_answers": few_answers,
        "too_new": too_new,
        "update_date_missing": update_date_missing,
        "update_date_implausible": update_date_implausible,
    },
    "no_action": {
        "withdrawn_rarely_visited": _withdrawn_rarely_visited,
        "nothing_to_act_on": _live,
    },
}
# Rules that hold for live pages only (withdrawn pages skip these categories).
LIVE_ONLY = frozenset(
    {
        "archive_candidate",
        "needs_improvement",
        "review_old_but_used",
        "working_well",
        "not_enough_data",
    }
)
NOTES: dict[str, Rule] = {
    "update_date_missing": update_date_missing,
    "update_date_implausible": update_date_implausible,
    "searches_expected": searches_expected,
}

# How each category's list is ordered: what needs action most first.
ORDER: dict[str, tuple[tuple[str, bool], ...]] = {
    "redirect_withdrawn": (("pviews", False),),
    "archive_candidate": (("pviews_year", True), ("pviews", True)),
    "needs_improvement": (("pviews", False),),
    "review_old_but_used": (("pviews", False),),
    "working_well": (("pviews", False),),
    "not_enough_data": (("pviews", False),),
    "no_action": (("pviews", False),),
}


def categorise(f: pd.DataFrame, thresholds: AuditThresholds) -> pd.DataFrame:
    """`category` and `reason_codes` (a tuple) for each page of a frame from `figures`."""
    live = _live(f, thresholds).to_numpy()
    category = np.full(len(f), "", dtype=object)
    codes: list[list[str]] = [[] for _ in range(len(f))]
    for name in CATEGORIES:
        tests = {
            code: rule(f, thresholds).fillna(False).to_numpy(bool)
            for code, rule in RULES[name].items()
        }
        held = np.vstack(list(tests.values()))
        meets = held.all(axis=0) if name in ALL_REQUIRED else held.any(axis=0)
        if name in LIVE_ONLY:
            meets &= live
        chosen = meets & (category == "")
        category[chosen] = name
        for code, passed in tests.items():
            for i in np.flatnonzero(chosen & passed):
                codes[i].append(code)
    for code, rule in NOTES.items():
        for i in np.flatnonzero(rule(f, thresholds).fillna(False).to_numpy(bool)):
            if code not in codes[i]:
                codes[i].append(code)
    out = f.copy()
    out.insert(0, "category", category)
    out.insert(1, "reason_codes", pd.Series([tuple(c) for c in codes], index=f.index, dtype=object))
    return out


def rank_within_categories(audit: pd.DataFrame) -> pd.DataFrame:
    """Sorted by category (in precedence order), then within each by what needs action
    most (`ORDER`), with `rank` 1, 2, 3... in each category: no gaps."""
    parts = []
    for name in CATEGORIES:
        part = audit[audit["category"] == name]
        keys = [column for column, _ in ORDER[name]] + ["base_path", "page_id"]
        ascending = [up for _, up in ORDER[name]] + [True, True]
        part = part.sort_values(keys, ascending=ascending, kind="mergesort")
        parts.append(part.assign(rank=np.arange(1, len(part) + 1, dtype="int64")))
    ranked = pd.concat(parts)
    columns = ["category", "rank", "reason_codes"]
    ranked = ranked[columns + [c for c in ranked.columns if c not in columns]]
    return ranked.reset_index(drop=True)


def audit(
    pages: pd.DataFrame,
    thresholds: AuditThresholds | None = None,
    *,
    as_of: date,
    reference: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per page: `category`, `rank` (its place in its category's list),
    `reason_codes`, the page's columns and the figures that explain the codes (`figures`).

    Args:
        pages: a frame as `Warehouse.page_trends` gives it (see `figures`).
        thresholds: the rules' thresholds (default: `AuditThresholds()`).
        as_of: the period's last day.
        reference: the pages document types are judged against (default: `pages`).
    """
    thresholds = thresholds or AuditThresholds()
    result = rank_within_categories(
        categorise(figures(pages, thresholds, as_of=as_of, reference=reference), thresholds)
    )
    result.attrs = {**pages.attrs, "thresholds": thresholds.as_dict()}
    return result


def counts(audit_frame: pd.DataFrame) -> pd.Series:
    """Pages per category, every category in precedence order (0 where none)."""
    return (
        (audit_frame["category"].value_counts().reindex(list(CATEGORIES), fill_value=0))
        .rename("pages")
        .rename_axis("category")
        .astype("int64")
    )
