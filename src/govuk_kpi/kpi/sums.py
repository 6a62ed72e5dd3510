"""The one rollup router: where a question's sums come from. A fresh rollup answers when one
fits, else the daily facts, and either way the figures are the same sums of the same rows.

`page_sums` serves every `kpi` question over a period; `organisation_monthly` and
`organisation_monthly_is_fresh` serve the OData `$apply` route (`api/odata/rollup_route.py`
decides which `$apply` it may answer; the SQL is here).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, Subquery, case, func, select

from govuk_kpi.core.metrics import DAILY_METRICS
from govuk_kpi.core.periods import WINDOWS, Period
from govuk_kpi.kpi.expressions import total
from govuk_kpi.warehouse.calendar import date_key, month_key
from govuk_kpi.warehouse.models import (
    AggOrganisationMonthly,
    AggPageMonthly,
    AggPageWindow,
    DimMonth,
    DimOrganisation,
    FactPageDaily,
    RollupState,
)
from govuk_kpi.warehouse.rollups import newest_daily_batch, organisation_monthly_is_fresh

__all__ = ["organisation_monthly", "organisation_monthly_is_fresh", "page_sums"]


def _fresh_state(connection: Connection, rollup: str) -> Row[*tuple[Any, ...]] | None:
    state = connection.execute(select(RollupState).where(RollupState.rollup == rollup)).first()
    if state is None or state.last_batch_id < newest_daily_batch(connection):
        return None
    return state


def page_sums(connection: Connection, period: Period) -> Subquery:
    """A subquery of (page_id, <ten daily metrics>, days) summed over `period`.

    A rollup answers when it is fresh and covers exactly the period; otherwise the daily
    facts do. Either way the figures are the same sums of the same rows.
    """
    if period.kind == "window" and period.name in WINDOWS:
        state = _fresh_state(connection, period.name)
        if state is not None and state.as_of == period.end and state.date_from == period.start:
            return (
                select(
                    AggPageWindow.page_id,
                    *[getattr(AggPageWindow, m) for m in DAILY_METRICS],
                    AggPageWindow.days,
                )
                .where(AggPageWindow.window == period.name)
                .subquery("sums")
            )
    if period.kind == "month" and _fresh_state(connection, "monthly") is not None:
        return (
            select(
                AggPageMonthly.page_id,
                *[getattr(AggPageMonthly, m) for m in DAILY_METRICS],
                AggPageMonthly.days,
            )
            .where(AggPageMonthly.month_key == month_key(period.start))
            .subquery("sums")
        )
    return (
        select(
            FactPageDaily.page_id,
            *[total(getattr(FactPageDaily, m)).label(m) for m in DAILY_METRICS],
            func.count(func.distinct(FactPageDaily.date_key)).label("days"),
        )
        .where(FactPageDaily.date_key.between(date_key(period.start), date_key(period.end)))
        .group_by(FactPageDaily.page_id)
        .subquery("sums")
    )


def organisation_monthly(pages: str) -> Subquery:
    """The organisation-monthly rollup as rows of `MonthlyMetrics`' grain: month (key, slug,
    year, first day), organisation (key, slug), the daily metrics' sums, and the pages summed
    (labelled `pages`). Totals per organisation of each page's newest edition, per month."""
    agg = AggOrganisationMonthly
    return (
        select(
            agg.month_key,
            DimMonth.slug.label("month"),
            DimMonth.year,
            DimMonth.first_day,
            # 0 stands for "no organisation" in the rollup; MonthlyMetrics shows it as null.
            case((agg.organisation_key == 0, None), else_=agg.organisation_key).label(
                "organisation_key"
            ),
            DimOrganisation.slug.label("organisation"),
            *[getattr(agg, m) for m in DAILY_METRICS],
            agg.pages.label(pages),
        )
        .select_from(agg)
        .join(DimMonth, DimMonth.month_key == agg.month_key)
        .outerjoin(DimOrganisation, DimOrganisation.organisation_key == agg.organisation_key)
        .subquery("organisation_monthly")
    )
