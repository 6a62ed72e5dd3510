"""What the figures cover: the pages the warehouse holds, and the page views no organisation's
report shows.

Every page view the analytics recorded in a period is in exactly one of three parts:

- **organisation**: on a page whose newest edition has a primary organisation; an
  organisation's report shows these (`organisation_pviews`);
- **no organisation**: on a page whose newest edition has no primary organisation (the
  homepage, browse pages, many finders), which no organisation's report shows
  (`no_organisation_pviews`);
- **unmatched**: on a path that matched no page (`unmatched_pviews`, `Warehouse.unmatched`),
  which no report but the site's can show.

`pviews` is their sum, so the three shares add up to 1. Pages are attributed to an
organisation as `Warehouse.organisation_summary` and `Warehouse.content(organisation=...)` do:
by the primary organisation of the page's newest edition.

An organisation **has pages** when it is the primary organisation of the newest edition of at
least one page in the warehouse, live or withdrawn (`organisation_pages`): the rule the report
sets' `all with pages` selector reads (`Warehouse.organisations()["pages"]`). Organisations are
told apart by slug, as their reports are: one known under several content ids (a content item
linking an old content id of it) is one organisation, with the pages of them all.

The queries are built here and run by `Warehouse.coverage` and `Warehouse.organisations`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    ScalarSelect,
    Select,
    Subquery,
    and_,
    case,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.orm import InstrumentedAttribute

from govuk_kpi.core.periods import Period
from govuk_kpi.kpi.expressions import total
from govuk_kpi.kpi.sums import page_sums
from govuk_kpi.warehouse.calendar import date_key
from govuk_kpi.warehouse.models import (
    DimEdition,
    DimOrganisation,
    EditionOrganisation,
    FactUnmatchedDaily,
)

# The figures of `Warehouse.coverage`, site-wide, in order.
SITE_FIGURES = (
    "pages",
    "pages_with_organisation",
    "organisations_with_pages",
    "pviews",
    "organisation_pviews",
    "no_organisation_pviews",
    "unmatched_pviews",
    "unmatched_paths",
)
# ...and for one organisation.
ORGANISATION_FIGURES = (
    "organisation_pages",
    "organisation_withdrawn_pages",
    "organisation_other_pages",
    "organisation_pages_viewed",
)
SHARES = {
    "organisation_share": "organisation_pviews",
    "no_organisation_share": "no_organisation_pviews",
    "unmatched_share": "unmatched_pviews",
}


def organisation_pages() -> Subquery:
    """Per organisation key: the pages whose newest edition names it the primary
    organisation (`pages`), and how many of them are withdrawn (`withdrawn_pages`)."""
    return (
        select(
            DimEdition.primary_organisation_key.label("organisation_key"),
            func.count().label("pages"),
            total(case((DimEdition.withdrawn, 1), else_=0)).label("withdrawn_pages"),
        )
        .where(DimEdition.is_latest, DimEdition.primary_organisation_key.is_not(None))
        .group_by(DimEdition.primary_organisation_key)
        .subquery("organisation_pages")
    )


def _pages(*conditions: ColumnElement[bool] | InstrumentedAttribute[bool]) -> ScalarSelect[Any]:
    """How many pages (newest editions) meet `conditions`, as a scalar subquery."""
    return (
        select(func.count())
        .select_from(DimEdition)
        .where(DimEdition.is_latest, *conditions)
        .scalar_subquery()
    )


def coverage_select(
    connection: Connection, period: Period, organisation_keys: list[int] | None = None
) -> Select[*tuple[Any, ...]]:
    """One row: the figures of `SITE_FIGURES` for `period` (and `ORGANISATION_FIGURES` for
    the organisation with these keys, its first key naming it)."""
    sums = page_sums(connection, period)
    primary = DimEdition.primary_organisation_key
    # Pages with facts but no newest edition (none in a consistent warehouse) count as "no
    # organisation", so the two parts always add up to every matched page view.
    attributed = (
        select(
            func.coalesce(total(sums.c.pviews), 0).label("matched"),
            func.coalesce(total(case((primary.is_not(None), sums.c.pviews), else_=0)), 0).label(
                "organisation"
            ),
        )
        .select_from(sums)
        .outerjoin(DimEdition, and_(DimEdition.page_id == sums.c.page_id, DimEdition.is_latest))
        .subquery("attributed")
    )
    unmatched = (
        select(
            func.coalesce(total(FactUnmatchedDaily.__table__.c.pviews), 0).label("pviews"),
            func.count(func.distinct(FactUnmatchedDaily.path)).label("paths"),
        )
        .where(
            FactUnmatchedDaily.date_key.between(date_key(period.start), date_key(period.end)),
            FactUnmatchedDaily.source == "analytics",
        )
        .subquery("unmatched")
    )
    columns = [
        _pages().label("pages"),
        _pages(primary.is_not(None)).label("pages_with_organisation"),
        # By slug: an organisation known under several content ids is one organisation.
        select(
            func.count(
                func.distinct(func.coalesce(DimOrganisation.slug, DimOrganisation.content_id))
            )
        )
        .select_from(DimEdition)
        .join(DimOrganisation, DimOrganisation.organisation_key == primary)
        .where(DimEdition.is_latest)
        .scalar_subquery()
        .label("organisations_with_pages"),
        (attributed.c.matched + unmatched.c.pviews).label("pviews"),
        attributed.c.organisation.label("organisation_pviews"),
        (attributed.c.matched - attributed.c.organisation).label("no_organisation_pviews"),
        unmatched.c.pviews.label("unmatched_pviews"),
        unmatched.c.paths.label("unmatched_paths"),
    ]
    if organisation_keys:
        ours = primary.in_(organisation_keys)
        named = DimOrganisation.organisation_key == organisation_keys[0]
        columns += [
            select(DimOrganisation.slug).where(named).scalar_subquery().label("organisation"),
            select(DimOrganisation.title)
            .where(named)
            .scalar_subquery()
            .label("organisation_title"),
            _pages(ours).label("organisation_pages"),
            _pages(ours, DimEdition.withdrawn).label("organisation_withdrawn_pages"),
            select(func.count(func.distinct(DimEdition.page_id)))
            .select_from(DimEdition)
            .join(EditionOrganisation, EditionOrganisation.edition_key == DimEdition.edition_key)
            .where(
                DimEdition.is_latest,
                EditionOrganisation.organisation_key.in_(organisation_keys),
                or_(primary.is_(None), primary.not_in(organisation_keys)),
            )
            .scalar_subquery()
            .label("organisation_other_pages"),
            select(func.count())
            .select_from(sums)
            .join(DimEdition, and_(DimEdition.page_id == sums.c.page_id, DimEdition.is_latest))
            .where(ours, sums.c.pviews > 0)
            .scalar_subquery()
            .label("organisation_pages_viewed"),
        ]
    return select(*columns).select_from(attributed.join(unmatched, true()))


def coverage_series(frame: pd.DataFrame) -> pd.Series:
    """The one row of `coverage_select` as a Series: counts as whole numbers, and each part's
    share of `pviews` (`SHARES`; NaN when there were no page views)."""
    row = frame.iloc[0].astype(object)
    for name in (*SITE_FIGURES, *ORGANISATION_FIGURES):
        if name in row.index:
            row[name] = int(row[name] or 0)
    for share, part in SHARES.items():
        row[share] = row[part] / row["pviews"] if row["pviews"] else float("nan")
    row.attrs = frame.attrs
    return row
