"""Health checks: is the warehouse fit to report from today? (content-data-api's habit.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Engine, func, select

from govuk_kpi.warehouse.calendar import date_key
from govuk_kpi.warehouse.db import current_revision, head_revision
from govuk_kpi.warehouse.models import FactPageDaily, LoadBatch
from govuk_kpi.warehouse.rollups import latest_fact_date, stale_rollups


@dataclass
class Health:
    """The verdict and the facts it rests on."""

    as_of: date
    problems: list[str] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return f"healthy as of {self.as_of}: " + ", ".join(
                f"{k} {v}" for k, v in self.facts.items()
            )
        return f"unhealthy as of {self.as_of}: " + "; ".join(self.problems)


def check_health(engine: Engine, today: date | None = None) -> Health:
    """Check yesterday's facts exist and are not all zero, and that rollups are fresh.

    Args:
        engine: the warehouse.
        today: the day to check from (default: today); "yesterday" is the day before.
    """
    today = today or date.today()
    yesterday = today - timedelta(days=1)
    health = Health(as_of=yesterday)
    revision = current_revision(engine)
    if revision != head_revision():
        health.problems.append(
            f"schema at revision {revision}, code expects {head_revision()}; "
            "run `govuk-kpi db upgrade`"
        )
        return health
    with engine.connect() as connection:
        latest = latest_fact_date(connection)
        health.facts["latest day"] = latest
        rows, pviews = connection.execute(
            select(func.count(), func.coalesce(func.sum(FactPageDaily.pviews), 0)).where(
                FactPageDaily.date_key == date_key(yesterday)
            )
        ).one()
        health.facts["rows yesterday"] = rows
        if rows == 0:
            health.problems.append(
                f"no daily facts for yesterday ({yesterday}); the newest day is {latest or 'none'}"
            )
        elif not pviews:
            # Feedback alone, or rows of zeros, means the analytics export broke.
            health.problems.append(f"page views for yesterday ({yesterday}) are all zero")
        stale = stale_rollups(connection)
        if stale:
            health.problems.append(f"rollups stale: {', '.join(stale)}; run `govuk-kpi rollup`")
        failed = connection.execute(
            select(func.count()).where(
                LoadBatch.status == "failed", LoadBatch.started_at >= today - timedelta(days=1)
            )
        ).scalar_one()
        health.facts["failed batches since yesterday"] = failed
    return health
