"""The content audit in words: category headings, what to do, and a plain sentence per page.

`govuk_kpi.kpi.audit` decides each page's category and reason codes; this module only says
them, with the figures formatted for a head of content (12,345; 68%; 10.4 years). The one
function that turns codes into words is `reason_sentence`; the others arrange the audit for a
report: a heading, "N of M pages", a table and the CSV.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, cast

import pandas as pd

from govuk_kpi.core.document_types import document_type_label
from govuk_kpi.kpi.audit import CATEGORIES, AuditThresholds
from govuk_kpi.reports.present import day, heading, is_missing, number, percent, say, table

HEADINGS: dict[str, str] = {
    "redirect_withdrawn": "Withdrawn but still visited",
    "archive_candidate": "Archive candidates",
    "needs_improvement": "Needs improvement",
    "working_well": "Working well",
    "review_old_but_used": "Old but still used: review",
    "not_enough_data": "Not enough data to judge",
    "no_action": "No action needed",
}

ADVICE: dict[str, str] = {
    "redirect_withdrawn": (
        "Withdrawn pages people still reach: redirect them to what replaced them, or fix the "
        "links that lead there. Most visited first."
    ),
    "archive_candidate": (
        "Little used over a whole year, compared with the organisation's other pages and with "
        "pages of the same type: archive, merge or redirect them. An organisation's busiest "
        "pages never appear here. Least used first."
    ),
    "needs_improvement": (
        "Pages people use that are not doing their job: few found them useful, many searched "
        "GOV.UK after reading them, or their views fell steeply. Most page views first."
    ),
    "working_well": (
        "Among their organisation's most viewed pages, and enough people answered that they "
        "are useful: learn from them. Most page views first."
    ),
    "review_old_but_used": (
        "Not updated for years but still read: check they are still accurate. These are not "
        "archive candidates. Most page views first."
    ),
    "not_enough_data": (
        "Too few answers to judge satisfaction, too little history to judge a year's use, or "
        "no plausible date. Most page views first."
    ),
    "no_action": (
        "Nothing to act on, including withdrawn pages that few people reach. Most page views first."
    ),
}

# "N of M pages ..." for one page and for several.
_COUNTS: dict[str, tuple[str, str]] = {
    "redirect_withdrawn": ("is withdrawn but still visited", "are withdrawn but still visited"),
    "archive_candidate": ("is an archive candidate", "are archive candidates"),
    "needs_improvement": ("needs improvement", "need improvement"),
    "working_well": ("is working well", "are working well"),
    "review_old_but_used": ("is old but still used", "are old but still used"),
    "not_enough_data": ("has too little data to judge", "have too little data to judge"),
    "no_action": ("needs no action", "need no action"),
}

# The categories a report shows beside its link on the site index.
HEADLINE_CATEGORIES = (
    "redirect_withdrawn",
    "archive_candidate",
    "needs_improvement",
    "working_well",
)

# The figure each category's table shows beside the page, with its heading and format.
_FIGURES: dict[str, dict[str, tuple[str, str]]] = {
    "redirect_withdrawn": {"pviews": ("Page views", "number")},
    "archive_candidate": {"pviews_year": ("Page views in a year", "number")},
    "needs_improvement": {
        "pviews": ("Page views", "number"),
        "satisfaction": ("Satisfaction", "percent"),
    },
    "working_well": {
        "pviews": ("Page views", "number"),
        "satisfaction": ("Satisfaction", "percent"),
    },
    "review_old_but_used": {
        "pviews": ("Page views", "number"),
        "age_years": ("Years since updated", "decimal"),
    },
    "not_enough_data": {"pviews": ("Page views", "number"), "responses": ("Answers", "number")},
    "no_action": {"pviews": ("Page views", "number")},
}

CSV_COLUMNS = (
    "category",
    "reasons",
    "base_path",
    "title",
    "organisation",
    "document_type",
    "rank",
    "reason_codes",
    "pviews",
    "upviews",
    "pviews_previous",
    "pviews_change",
    "pviews_year",
    "satisfaction",
    "responses",
    "searches_per_user",
    "withdrawn",
    "first_published_at",
    "public_updated_at",
    "age_years",
    "org_pages",
    "org_busier_pages",
    "org_quieter_pages",
    "org_period_rank",
    "type_pages",
    "type_median_pviews_year",
)


# -- small words -------------------------------------------------------------------------------
def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _years(value: float) -> str:
    return f"{value:.1f} years"


def _times(n: Any) -> str:
    return "once" if n == 1 else f"{number(n)} times"


def _kind(document_type: Any) -> str:
    """`news_story` -> 'news story'; GOV.UK's own casing kept ('CMA case', 'HMRC manual')."""
    label = document_type_label(str(document_type or "page"))
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def _kind_page(document_type: Any) -> str:
    """'news story page', 'homepage', 'mainstream browse page'."""
    kind = _kind(document_type)
    return kind if kind.endswith("page") else f"{kind} page"


def _a(words: str) -> str:
    return ("an " if words[:1].lower() in "aeiou" else "a ") + words


def _organisation(row: Mapping[str, Any]) -> str | None:
    title = row.get("organisation_title")
    if is_missing(title) or not title:
        title = row.get("organisation")
    return None if is_missing(title) or not title else str(title)


def _of_pages(row: Mapping[str, Any]) -> str:
    """The 12 pages of Ofsted, or the 51 pages with no primary organisation."""
    pages = int(row["org_pages"])
    noun = "page" if pages == 1 else "pages"
    name = _organisation(row)
    if name is None:
        return f"the {number(pages)} {noun} with no primary organisation"
    return f"the {number(pages)} {noun} of {name}"


def _answers_said(row: Mapping[str, Any]) -> str:
    """'68% of 120 answers said' (of "Is this page useful?")."""
    return f"{percent(row['satisfaction'])} of {number(row['responses'])} answers said"


def _searches(row: Mapping[str, Any]) -> str:
    """'6.1 searches per 100 users'."""
    return f"{row['searches_per_user']:.1f} searches per 100 users"


def _date(value: Any) -> str:
    if is_missing(value):
        return "no date"
    stamp = pd.Timestamp(value)
    return day(date(stamp.year, stamp.month, stamp.day))


def _updated(row: Mapping[str, Any]) -> Any:
    value = row.get("public_updated_at")
    return row.get("first_published_at") if is_missing(value) else value


# -- one sentence per reason code --------------------------------------------------------------
def _withdrawn_still_visited(row: Mapping[str, Any], t: AuditThresholds) -> str:
    return (
        f"Withdrawn, yet still viewed {_times(row['pviews'])} in the period: redirect it to "
        "what replaced it, or fix the links that still lead there."
    )


def _little_used(row: Mapping[str, Any], t: AuditThresholds) -> str:
    quieter = int(row["org_quieter_pages"])
    verb = "is" if quieter == 1 else "are"
    less = (
        f"None of {_of_pages(row)} is"
        if quieter == 0
        else f"Only {quieter} of {_of_pages(row)} {verb}"
    )
    return (
        f"Viewed {_times(row['pviews_year'])} in a year, under the "
        f"{number(t.little_use_pviews_year)} that marks little use. {less} used less, and "
        f"the typical {_kind_page(row['document_type'])} was viewed "
        f"{_times(row['type_median_pviews_year'])}."
    )


def _low_satisfaction(row: Mapping[str, Any], t: AuditThresholds) -> str:
    bar = percent(t.low_satisfaction)
    return f"Only {_answers_said(row)} the page was useful (the bar is {bar})."


def _many_searches(row: Mapping[str, Any], t: AuditThresholds) -> str:
    bar = f"{t.high_searches_per_user:g}"
    said = f"{_searches(row)} started from this page (the bar is {bar})"
    return f"{said}: it may not answer their question."


def _steep_fall(row: Mapping[str, Any], t: AuditThresholds) -> str:
    return (
        f"Page views fell {percent(-row['pviews_change'])} on the period before, from "
        f"{number(row['pviews_previous'])} to {number(row['pviews'])}."
    )


def _most_viewed(row: Mapping[str, Any], t: AuditThresholds) -> str:
    rank = int(row["org_period_rank"])
    place = "most viewed" if rank == 1 else f"{_ordinal(rank)} most viewed"
    name = _organisation(row)
    views = f"{number(row['pviews'])} page views"
    if name is None:
        return f"The {place} of the pages with no primary organisation, with {views}."
    return f"The {place} page of {name} in the period, with {views}."


def _satisfied(row: Mapping[str, Any], t: AuditThresholds) -> str:
    return f"{_answers_said(row)} it was useful (the bar is {percent(t.good_satisfaction)})."


def _old(row: Mapping[str, Any], t: AuditThresholds) -> str:
    return (
        f"Last updated {_years(row['age_years'])} ago ({_date(_updated(row))}), more than "
        f"{t.old_years:g} years, and still viewed {_times(row['pviews'])} in the period: "
        "check it is still accurate."
    )


def _few_answers(row: Mapping[str, Any], t: AuditThresholds) -> str:
    responses = int(row["responses"])
    if responses == 0:
        said = 'No one answered "Is this page useful?" in the period'
    else:
        noun = "answer" if responses == 1 else "answers"
        said = f'Only {responses} {noun} to "Is this page useful?"'
    return f"{said}; {t.min_responses} are needed to judge satisfaction."


def _too_new(row: Mapping[str, Any], t: AuditThresholds) -> str:
    first = row.get("first_published_at")
    first = _updated(row) if is_missing(first) else first
    return (
        f"First published on {_date(first)}, less than a year ago: a year's use cannot be "
        "judged yet."
    )


def _update_date_missing(row: Mapping[str, Any], t: AuditThresholds) -> str:
    return "It has no last-updated date, so its age cannot be judged."


def _update_date_implausible(row: Mapping[str, Any], t: AuditThresholds) -> str:
    earliest = t.earliest_plausible_update.year
    return (
        f"Its last-updated date, {_date(_updated(row))}, cannot be right (before {earliest} or "
        "after the period): correct it; its age is not judged."
    )


def _withdrawn_rarely_visited(row: Mapping[str, Any], t: AuditThresholds) -> str:
    views = "not viewed" if row["pviews"] == 0 else f"viewed only {_times(row['pviews'])}"
    return f"Withdrawn, and {views} in the period: nothing to do."


def _nothing_to_act_on(row: Mapping[str, Any], t: AuditThresholds) -> str:
    found = []
    if row["responses"] >= t.min_responses and not is_missing(row["satisfaction"]):
        found.append(f"{_answers_said(row)} it was useful")
    if not is_missing(row.get("age_years")):
        found.append(f"last updated {_years(row['age_years'])} ago")
    return "Nothing to act on" + (": " + "; ".join(found) if found else "") + "."


def _searches_expected(row: Mapping[str, Any], t: AuditThresholds) -> str:
    return (
        f"{_searches(row)} is expected of {_a(_kind_page(row['document_type']))}: pages that "
        "send people on are not judged on searches."
    )


_SENTENCES = {
    "withdrawn_still_visited": _withdrawn_still_visited,
    "little_used": _little_used,
    "low_satisfaction": _low_satisfaction,
    "many_searches": _many_searches,
    "steep_fall": _steep_fall,
    "most_viewed": _most_viewed,
    "satisfied": _satisfied,
    "old": _old,
    "few_answers": _few_answers,
    "too_new": _too_new,
    "update_date_missing": _update_date_missing,
    "update_date_implausible": _update_date_implausible,
    "withdrawn_rarely_visited": _withdrawn_rarely_visited,
    "nothing_to_act_on": _nothing_to_act_on,
    "searches_expected": _searches_expected,
}


def reason_sentence(
    codes: tuple[str, ...] | list[str],
    row: Mapping[str, Any],
    thresholds: AuditThresholds | None = None,
) -> str:
    """The reasons a page is in its category, as plain sentences with its figures.

    Args:
        codes: the page's `reason_codes` (from `Warehouse.content_audit`).
        row: the page's row of the audit (a pandas Series or a dict).
        thresholds: the thresholds the audit ran with (default `AuditThresholds()`).

    >>> reason_sentence(("steep_fall",), {"pviews": 94, "pviews_previous": 888,
    ...                                   "pviews_change": -0.894})
    'Page views fell 89% on the period before, from 888 to 94.'
    """
    t = thresholds or AuditThresholds()
    unknown = [c for c in codes if c not in _SENTENCES]
    if unknown:
        raise KeyError(f"no words for the audit reason codes {', '.join(unknown)}")
    return " ".join(_SENTENCES[code](row, t) for code in codes)


# -- the audit arranged for a report -----------------------------------------------------------
def thresholds_of(audit: pd.DataFrame) -> AuditThresholds:
    """The thresholds an audit frame was made with (its `attrs`), else the defaults."""
    given = audit.attrs.get("thresholds")
    return AuditThresholds.from_dict(given) if given else AuditThresholds()


def explained(audit: pd.DataFrame) -> pd.DataFrame:
    """The audit with `reasons`: each page's reason codes in words."""
    t = thresholds_of(audit)
    frame = audit.copy()
    frame.insert(
        cast(int, frame.columns.get_loc("reason_codes")) + 1,  # a unique column: its position
        "reasons",
        [
            reason_sentence(row["reason_codes"], cast("Mapping[str, Any]", row), t)
            for _, row in audit.iterrows()
        ],
    )
    frame.attrs = audit.attrs
    return frame


def csv_frame(audit: pd.DataFrame) -> pd.DataFrame:
    """The whole audit for the CSV beside a report: reasons in words, codes `;`-joined."""
    frame = explained(audit)
    frame["reason_codes"] = frame["reason_codes"].map(";".join)
    return frame[[c for c in CSV_COLUMNS if c in frame.columns]]


def counts_frame(audit: pd.DataFrame) -> pd.DataFrame:
    """Pages per category in the order of precedence: `category`, `label`, `pages`."""
    found = audit["category"].value_counts()
    return pd.DataFrame(
        {
            "category": list(CATEGORIES),
            "label": [HEADINGS[c] for c in CATEGORIES],
            "pages": [int(found.get(c, 0)) for c in CATEGORIES],
        }
    )


def count_sentence(audit: pd.DataFrame, category: str) -> str:
    """'12 of 218 pages need improvement.'"""
    count = int((audit["category"] == category).sum())
    one, many = _COUNTS[category]
    total = len(audit)
    pages = "page" if total == 1 else "pages"
    return f"{number(count)} of {number(total)} {pages} {one if count == 1 else many}."


def summary_sentence(audit: pd.DataFrame) -> str:
    """Every category's count in one sentence, in the order of precedence."""
    counts = audit["category"].value_counts()
    parts = [f"{HEADINGS[c].split(':')[0].lower()} {number(counts.get(c, 0))}" for c in CATEGORIES]
    return f"Of {number(len(audit))} pages: " + "; ".join(parts) + "."


def show_section(
    audit: pd.DataFrame, category: str, *, limit: int | None = None, level: int = 2
) -> None:
    """One category of the audit in a report: a heading (h`level`), "N of M pages", what to
    do, and the pages, most in need of action first, each with its reasons in words."""
    part = audit[audit["category"] == category]
    part = (part if limit is None else part.head(limit)).copy()
    part.attrs = audit.attrs
    rows = explained(part)
    if "organisation_title" in rows:
        rows["organisation_title"] = rows["organisation_title"].fillna("No primary organisation")
    heading(HEADINGS[category], level)
    say(count_sentence(audit, category))
    total = int((audit["category"] == category).sum())
    if not total:
        return
    say(ADVICE[category])
    columns = {"rank": "#", "title": "Page", "base_path": "Path"}
    if "organisation_title" in rows and audit["organisation"].nunique(dropna=False) > 1:
        columns["organisation_title"] = "Organisation"
    formats = {"rank": "number"}
    for column, (words, kind) in _FIGURES[category].items():
        columns[column] = words
        formats[column] = kind
    columns["reasons"] = "Why"
    caption = HEADINGS[category]
    if len(rows) < total:
        caption += f" (the first {number(len(rows))} of {number(total)})"
    table(rows, columns, caption=caption, formats=formats)


def rules_frame(thresholds: AuditThresholds) -> pd.DataFrame:
    """The audit's rules in words, in their order of precedence: `label`, `rule`."""
    t = thresholds
    rules = {
        "redirect_withdrawn": (
            f"Withdrawn, yet viewed at least {number(t.withdrawn_visited_pviews)} times in the "
            "period."
        ),
        "archive_candidate": (
            f"Fewer than {number(t.little_use_pviews_year)} page views in a year, among the "
            f"least used {percent(t.little_use_share)} of its organisation's pages, no more "
            "used than the middle page of its type, and at least a year old. Never one of its "
            f"organisation's busiest {percent(t.top_share)}."
        ),
        "needs_improvement": (
            f"Fewer than {percent(t.low_satisfaction)} satisfied from at least "
            f"{number(t.min_responses)} answers; or at least {t.high_searches_per_user:g} "
            f"searches per 100 users from at least {number(t.min_users_for_searches)} users "
            "(not for pages whose job is to lead people on, such as the homepage and finders); "
            f"or page views fell by {percent(-t.falling_views)} or more from at least "
            f"{number(t.min_previous_pviews)}."
        ),
        "working_well": (
            f"One of its organisation's {number(t.top_pages)} most viewed pages, and at least "
            f"{percent(t.good_satisfaction)} satisfied from at least {number(t.min_responses)} "
            "answers. Never a withdrawn page."
        ),
        "review_old_but_used": f"Last updated more than {t.old_years:g} years ago.",
        "not_enough_data": (
            f"Fewer than {number(t.min_responses)} answers, less than a year of history, or no "
            "plausible date of last update."
        ),
        "no_action": "None of the above.",
    }
    return pd.DataFrame(
        {"label": [HEADINGS[c] for c in CATEGORIES], "rule": [rules[c] for c in CATEGORIES]}
    )


def show_rules(audit: pd.DataFrame) -> None:
    """How the audit decides, as a table: each page is in the first category whose rule fits."""
    heading("How pages are put in a category", 2)
    say(
        "Each page is in the first category, from the top, whose rule it meets, so no page "
        "is in two. The figures are the thresholds this report was built with."
    )
    table(
        rules_frame(thresholds_of(audit)),
        {"label": "Category", "rule": "A page is here when"},
        caption="The audit's rules, in the order they are applied",
    )
