"""What a report's figures cover, in words: the pages the warehouse holds, and the page views
no organisation's report shows (pages with no primary organisation, paths that matched no
page). The figures come from `Warehouse.coverage` (`govuk_kpi.kpi.coverage`); this module only
says them, records them for the manifest and `govuk-kpi trace`, and shows them in a report.

    coverage = wh.coverage(period=period, as_of=day)            # site-wide
    coverage = wh.coverage(period=period, organisation=organisation, as_of=day)
    coverage_words.show_section(coverage)
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from govuk_kpi.reports.figures import record
from govuk_kpi.reports.present import heading, number, percent, say, table

# GOV.UK's size, for saying how much of it a sample holds (docs/scaling.md).
GOVUK_PAGES = 550_000

HEADING = "What these figures cover"

PARTS = {
    "organisation": "Pages with a primary organisation (in its report)",
    "no_organisation": "Pages with no primary organisation (in no organisation's report)",
    "unmatched": "Paths that matched no page in the warehouse",
}

# Figure name → label as recorded in the manifest (`coverage.<name>`). Each is a count but
# the shares of page views, which are ratios (`RATIOS`).
SITE_LABELS: dict[str, str] = {
    "pages": "Pages in the warehouse",
    "organisations_with_pages": "Organisations with pages",
    "pviews": "Page views, matched or not",
    "no_organisation_pviews": "Page views on pages with no organisation",
    "no_organisation_share": "Share of page views on pages with no organisation",
    "unmatched_pviews": "Page views on paths matching no page",
    "unmatched_share": "Share of page views on paths matching no page",
    "unmatched_paths": "Paths matching no page",
}
ORGANISATION_LABELS: dict[str, str] = {
    "organisation_pages": "Its pages in the warehouse",
    "organisation_withdrawn_pages": "Its withdrawn pages in the warehouse",
    "organisation_other_pages": "Pages naming it that another organisation leads",
    "organisation_pages_viewed": "Its pages viewed in the period",
}
RATIOS = frozenset({"no_organisation_share", "unmatched_share"})


def _pages(n: Any) -> str:
    return f"{number(n)} {'page' if n == 1 else 'pages'}"


def _is_organisation(coverage: pd.Series) -> bool:
    return "organisation_pages" in coverage.index


def organisation_name(coverage: pd.Series) -> str:
    """The organisation's name (its slug only when it has no title)."""
    title = coverage.get("organisation_title")
    return str(title) if isinstance(title, str) and title else str(coverage["organisation"])


def sentences(coverage: pd.Series) -> list[str]:
    """The coverage in plain sentences: the organisation's pages (for an organisation), how
    much of GOV.UK a sample holds, and the page views no organisation's report shows."""
    said = []
    if _is_organisation(coverage):
        name = organisation_name(coverage)
        pages = coverage["organisation_pages"]
        words = f"The warehouse holds {_pages(pages)} whose primary organisation is {name}"
        withdrawn = coverage["organisation_withdrawn_pages"]
        if withdrawn:
            words += f" ({number(withdrawn)} of them withdrawn)"
        if pages:
            said.append(
                f"{words}; {number(coverage['organisation_pages_viewed'])} of them were viewed "
                "in the period. This report is about those pages."
            )
        else:
            said.append(
                f"The warehouse holds no page whose primary organisation is {name}, so this "
                "report has no pages in it."
            )
        other = coverage["organisation_other_pages"]
        if other == 1:
            said.append(
                f"1 more page names {name} among its organisations, but another organisation "
                "(or none) leads it: it is in its lead organisation's report, not this one."
            )
        elif other:
            said.append(
                f"{number(other)} more pages name {name} among their organisations, but other "
                "organisations (or none) lead them: they are in their lead organisations' "
                "reports, not this one."
            )
    if coverage.attrs.get("generated") and coverage["pages"] < GOVUK_PAGES:
        said.append(
            f"This is the sample warehouse: it holds {_pages(coverage['pages'])} (the real "
            f"GOV.UK pages shipped with the project) of GOV.UK's about {number(GOVUK_PAGES)}, "
            f"with {number(coverage['organisations_with_pages'])} organisations leading at "
            "least one of them, so every figure here covers only those pages."
        )
    else:
        said.append(
            f"The warehouse holds {_pages(coverage['pages'])}; "
            f"{number(coverage['organisations_with_pages'])} organisations lead at least one."
        )
    if coverage["pviews"]:
        said.append(
            f"Of the {number(coverage['pviews'])} page views recorded on GOV.UK in the period, "
            f"{number(coverage['unmatched_pviews'])} ({percent(coverage['unmatched_share'])}) "
            f"were on {number(coverage['unmatched_paths'])} paths that matched no page in the "
            "warehouse, so the page figures in these reports count the other "
            f"{number(coverage['pviews'] - coverage['unmatched_pviews'])}. "
            f"{percent(coverage['no_organisation_share'])} of all page views were on pages with "
            "no primary organisation, which no organisation's report includes."
        )
    else:
        said.append("No page views were recorded on GOV.UK in the period.")
    return said


def parts_frame(coverage: pd.Series) -> pd.DataFrame:
    """The period's page views in their three parts and in all: `part` (words), `pviews`,
    `share` (of all page views)."""
    rows = [(PARTS[name], coverage[f"{name}_pviews"], coverage[f"{name}_share"]) for name in PARTS]
    rows.append(("All page views", coverage["pviews"], 1.0 if coverage["pviews"] else None))
    return pd.DataFrame(rows, columns=["part", "pviews", "share"])


def record_figures(coverage: pd.Series) -> dict[str, Any]:
    """Record the coverage figures (`coverage.<name>`) with the one query behind them all."""
    labels = dict(SITE_LABELS)
    if _is_organisation(coverage):
        labels.update(ORGANISATION_LABELS)
    return {
        name: record(
            f"coverage.{name}",
            coverage[name],
            coverage.attrs.get("query"),
            label=label,
            unit="ratio" if name in RATIOS else "count",
            period=coverage.attrs.get("period"),
        )
        for name, label in labels.items()
    }


def show_section(coverage: pd.Series, *, level: int = 2) -> None:
    """A report's section on what its figures cover: a heading, the sentences, and a table of
    the period's page views by part. Records the figures too (`record_figures`)."""
    record_figures(coverage)
    heading(HEADING, level)
    for sentence in sentences(coverage):
        say(sentence)
    table(
        parts_frame(coverage),
        {"part": "Page views on", "pviews": "Page views", "share": "Share"},
        caption="Page views in the period, by whose report shows them",
        formats={"pviews": "number", "share": "percent"},
    )
