"""The content audit as a CSV a content team opens in a spreadsheet.

Names where people read them: the category's heading, the organisation's name and the
document type's label; the machine names (`category_code`, `organisation_slug`,
`document_type_code`, `reason_codes`) in columns of their own, at the end, for joins. Figures
rounded as the reports show them: counts as whole numbers, satisfaction and the change in page
views as percentages with one decimal, searches per 100 users, years and medians with one
decimal, dates as YYYY-MM-DD. Blank where there is no figure.
"""

from __future__ import annotations

import pandas as pd

from govuk_kpi.core.document_types import document_type_label
from govuk_kpi.reports.audit_words import HEADINGS, explained

GOVUK = "https://www.gov.uk"

# Column → what it holds, in the CSV's order.
COLUMNS: dict[str, str] = {
    "category": "the audit's category, as the report heads it",
    "reasons": "why the page is in it, in words",
    "base_path": "the page's path on GOV.UK",
    "url": "the page on www.gov.uk",
    "title": "the page's title",
    "organisation": "its primary organisation's name (blank: none)",
    "document_type": "its document type's label",
    "rank": "its place in the category's list, what needs action most first",
    "pviews": "page views in the period",
    "upviews": "unique page views in the period",
    "pviews_previous": "page views in the period before",
    "pviews_change_percent": "change in page views on the period before, %",
    "pviews_year": "page views over the past year",
    "satisfaction_percent": "yes answers to 'Is this page useful?', % of answers",
    "responses": "answers to 'Is this page useful?'",
    "searches_per_user": "searches started from the page per 100 users",
    "words": "words of the page's text",
    "reading_time": "minutes to read it",
    "pdf_count": "PDF attachments",
    "withdrawn": "withdrawn (True) or live (False)",
    "first_published_at": "first published (YYYY-MM-DD)",
    "public_updated_at": "last updated (YYYY-MM-DD)",
    "age_years": "years since last updated",
    "org_pages": "pages of its primary organisation (or of no organisation)",
    "org_busier_pages": "of those, viewed more over the year",
    "org_quieter_pages": "of those, viewed less over the year",
    "org_period_rank": "1 + its organisation's pages viewed more in the period",
    "type_pages": "pages of its document type across the site",
    "type_median_pviews_year": "their median page views over the year",
    "category_code": "the category's machine name",
    "reason_codes": "the reason codes, ;-joined",
    "organisation_slug": "its primary organisation's slug",
    "document_type_code": "its document type's machine name",
}
COUNTS = (
    "rank",
    "pviews",
    "upviews",
    "pviews_previous",
    "pviews_year",
    "responses",
    "words",
    "reading_time",
    "pdf_count",
    "org_pages",
    "org_busier_pages",
    "org_quieter_pages",
    "org_period_rank",
    "type_pages",
)
ONE_DECIMAL = ("searches_per_user", "age_years", "type_median_pviews_year")
PERCENTS = {"pviews_change_percent": "pviews_change", "satisfaction_percent": "satisfaction"}
DATES = ("first_published_at", "public_updated_at")


def _dates(values: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(values, errors="coerce", utc=True)
    return stamps.dt.strftime("%Y-%m-%d").where(stamps.notna(), None)


def _names(frame: pd.DataFrame, out: pd.DataFrame) -> None:
    """The columns people read: the category's heading, the page, its organisation's name and
    its document type's label."""
    out["category"] = frame["category"].map(HEADINGS)
    out["reasons"] = frame["reasons"]
    out["base_path"] = frame["base_path"]
    out["url"] = GOVUK + frame["base_path"]
    out["title"] = frame["title"]
    if "organisation_title" in frame:
        out["organisation"] = frame["organisation_title"]
    if "document_type_label" in frame:
        labels = frame["document_type_label"]
    else:
        labels = pd.Series(index=frame.index, dtype=object)
    out["document_type"] = labels.where(
        labels.notna(), frame["document_type"].map(lambda n: document_type_label(str(n)))
    )


def _rounded(values: pd.Series, column: str) -> pd.Series:
    """A column of the audit as the CSV gives it: counts whole, one decimal, or dates."""
    if column in COUNTS:
        return pd.to_numeric(values).round().astype("Int64")
    if column in ONE_DECIMAL:
        return pd.to_numeric(values).astype("float").round(1)
    if column in DATES:
        return _dates(values)
    return values


def _figures(frame: pd.DataFrame, out: pd.DataFrame) -> None:
    """The figures, rounded as the reports show them; ratios as percentages."""
    for column in COLUMNS:
        if column in out or column not in frame:
            continue
        out[column] = _rounded(frame[column], column)
    for column, ratio in PERCENTS.items():
        if ratio in frame:
            out[column] = (pd.to_numeric(frame[ratio]).astype("float") * 100).round(1)


def _codes(frame: pd.DataFrame, out: pd.DataFrame) -> None:
    """The machine names, for joins."""
    out["category_code"] = frame["category"]
    out["reason_codes"] = frame["reason_codes"].map(";".join)
    if "organisation" in frame:
        out["organisation_slug"] = frame["organisation"]
    out["document_type_code"] = frame["document_type"]


def csv_frame(audit: pd.DataFrame) -> pd.DataFrame:
    """The whole audit (`Warehouse.content_audit`) for the CSV beside a report: one row per
    page, `COLUMNS` (those the audit has), names not machine names, figures rounded."""
    frame = explained(audit)
    out = pd.DataFrame(index=frame.index)
    _names(frame, out)
    _figures(frame, out)
    _codes(frame, out)
    frame_out = out[[c for c in COLUMNS if c in out]].reset_index(drop=True)
    frame_out.attrs = audit.attrs
    return frame_out
