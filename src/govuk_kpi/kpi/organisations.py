"""Organisations: every one known, and the figures of each primary organisation's pages."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, func, literal, select

from govuk_kpi.core.metrics import DAILY_METRICS
from govuk_kpi.core.periods import Period
from govuk_kpi.kpi.coverage import organisation_pages
from govuk_kpi.kpi.expressions import derived_columns, total
from govuk_kpi.kpi.frames import frame, newest_edition, of_organisation
from govuk_kpi.kpi.query import Query
from govuk_kpi.kpi.sums import page_sums
from govuk_kpi.warehouse.models import DimEdition, DimOrganisation


def organisations(connection: Connection) -> pd.DataFrame:
    """Every organisation known, with its status and `pages`: the pages whose newest
    edition names it the primary organisation (0 for most; see `kpi.coverage`)."""
    counted = organisation_pages()
    query = (
        select(
            DimOrganisation.content_id,
            DimOrganisation.slug,
            DimOrganisation.title,
            DimOrganisation.acronym,
            DimOrganisation.organisation_type,
            DimOrganisation.status,
            DimOrganisation.closed_at,
            DimOrganisation.parent_slug,
            func.coalesce(counted.c.pages, 0).label("pages"),
        )
        .outerjoin(counted, counted.c.organisation_key == DimOrganisation.organisation_key)
        .order_by(DimOrganisation.title)
    )
    return frame(connection, query)


def by_organisation(
    connection: Connection, period: Period, organisation: str | None
) -> pd.DataFrame:
    """Per primary organisation (of each page's newest edition): pages, sums and derived
    metrics over `period`, most viewed first."""
    sums = page_sums(connection, period)
    metric = {m: func.coalesce(total(sums.c[m]), 0) for m in DAILY_METRICS}
    query = (
        select(
            func.coalesce(DimOrganisation.slug, literal("(none)")).label("organisation"),
            func.max(DimOrganisation.title).label("organisation_title"),
            func.count(sums.c.page_id).label("pages"),
            *[metric[m].label(m) for m in DAILY_METRICS],
            *derived_columns(metric),
        )
        .select_from(sums)
        .join(DimEdition, newest_edition(sums.c.page_id))
        .outerjoin(
            DimOrganisation,
            DimOrganisation.organisation_key == DimEdition.primary_organisation_key,
        )
        .group_by(DimOrganisation.slug)
        .order_by(metric["pviews"].desc())
    )
    if organisation:
        query = query.where(of_organisation(connection, organisation))
    return frame(connection, query, period)


def organisation_summary(connection: Connection, query: Query) -> pd.DataFrame:
    """Per primary organisation: pages, sums, derived metrics, and the trend in page views
    and unique page views against the period before (`*_previous`, `*_change` as a ratio)."""
    current = by_organisation(connection, query.period, query.organisation)
    previous = by_organisation(connection, query.period.previous(), query.organisation)
    keep = previous[["organisation", "pviews", "upviews", "satisfaction"]].rename(
        columns={
            "pviews": "pviews_previous",
            "upviews": "upviews_previous",
            "satisfaction": "satisfaction_previous",
        }
    )
    out = current.merge(keep, on="organisation", how="left")
    for name in ("pviews", "upviews"):
        before = out[f"{name}_previous"].astype("float")
        out[f"{name}_change"] = (out[name] - before) / before.where(before != 0)
    out.attrs = {
        **current.attrs,
        "previous_query": previous.attrs["query"],
        "previous_period": previous.attrs["period"],
    }
    return out
