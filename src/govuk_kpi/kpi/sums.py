"""Where a period's per-page sums come from: a fresh rollup when one fits, else the daily facts."""

from __future__ import annotations

from sqlalchemy import Connection, Subquery, func, select

from govuk_kpi.core.metrics import DAILY_METRICS
from govuk_kpi.core.periods import WINDOWS, Period
from govuk_kpi.kpi.expressions import total
from govuk_kpi.warehouse.calendar import date_key, month_key
from govuk_kpi.warehouse.models import AggPageMonthly, AggPageWindow, FactPageDaily, RollupState
from govuk_kpi.warehouse.rollups import newest_daily_batch


def _fresh_state(connection: Connection, rollup: str) -> RollupState | None:
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
