"""Health checks: can the service answer, and is the warehouse fit to report from today?

Two questions, as GOV.UK apps ask them (content-data-api's habit, govuk_app_config's
`/healthcheck/ready`):

- **ready**: the database answers and its schema is at the newest migration. Without that no
  request can be answered, so a load balancer should send none.
- **status**: `ok`, `warning` or `critical` over every check, the data's freshness included.
  Stale data is a reason to alert, not to stop serving the data there is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from govuk_kpi.warehouse.calendar import date_key
from govuk_kpi.warehouse.db import current_revision, head_revision
from govuk_kpi.warehouse.models import FactPageDaily, LoadBatch
from govuk_kpi.warehouse.rollups import latest_fact_date, stale_rollups

OK, WARNING, CRITICAL = "ok", "warning", "critical"
_RANK = {OK: 0, WARNING: 1, CRITICAL: 2}


@dataclass
class Health:
    """The verdict, check by check, and the facts it rests on."""

    as_of: date
    checks: dict[str, dict[str, str]] = field(default_factory=dict)
    facts: dict[str, object] = field(default_factory=dict)
    ready: bool = True

    def record(self, name: str, status: str, message: str | None = None) -> None:
        self.checks[name] = {"status": status, **({"message": message} if message else {})}

    @property
    def status(self) -> str:
        rank = cast("Callable[[str], int]", _RANK.get)  # every status recorded is ranked
        return max((c["status"] for c in self.checks.values()), key=rank, default=OK)

    @property
    def problems(self) -> list[str]:
        """What makes the warehouse unfit (critical), one sentence each."""
        return [c["message"] for c in self.checks.values() if c["status"] == CRITICAL]

    @property
    def warnings(self) -> list[str]:
        return [c["message"] for c in self.checks.values() if c["status"] == WARNING]

    @property
    def ok(self) -> bool:
        return self.status != CRITICAL

    def summary(self) -> str:
        if not self.ok:
            return f"unhealthy as of {self.as_of}: " + "; ".join(self.problems)
        text = f"healthy as of {self.as_of}: " + ", ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in self.facts.items()
        )
        return text + "".join(f"; warning: {w}" for w in self.warnings)

    def as_dict(self) -> dict[str, Any]:
        """The verdict as JSON-ready values with snake_case keys."""
        return {
            "status": self.status,
            "ready": self.ready,
            "as_of": self.as_of.isoformat(),
            "checks": self.checks,
            "problems": self.problems,
            "warnings": self.warnings,
            "facts": {
                k: v.isoformat() if isinstance(v, date) else v for k, v in self.facts.items()
            },
        }


def check_ready(engine: Engine, health: Health) -> None:
    """Does the database answer, at the newest schema? Records `database` and `schema`."""
    try:
        revision = current_revision(engine)
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None) or exc
        reason = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        health.record("database", CRITICAL, f"the database does not answer: {reason}")
        health.ready = False
        return
    health.record("database", OK)
    if revision != head_revision():
        health.record(
            "schema",
            CRITICAL,
            f"schema at revision {revision}, code expects {head_revision()}; "
            "run `govuk-kpi db upgrade`",
        )
        health.ready = False
        return
    health.record("schema", OK)


def check_health(engine: Engine, today: date | None = None) -> Health:
    """Readiness, then yesterday's facts (present, not all zero), fresh rollups, failed loads.

    Args:
        engine: the warehouse.
        today: the day to check from (default: today); "yesterday" is the day before.
    """
    today = today or date.today()
    yesterday = today - timedelta(days=1)
    health = Health(as_of=yesterday)
    check_ready(engine, health)
    if not health.ready:
        return health
    try:
        _check_data(engine, health, today, yesterday)
    except SQLAlchemyError as exc:  # the database went away between the checks
        health.record("data", CRITICAL, f"the database failed: {type(exc).__name__}")
    return health


def _check_data(engine: Engine, health: Health, today: date, yesterday: date) -> None:
    with engine.connect() as connection:
        latest = latest_fact_date(connection)
        health.facts["latest_day"] = latest
        rows, pviews = connection.execute(
            select(func.count(), func.coalesce(func.sum(FactPageDaily.pviews), 0)).where(
                FactPageDaily.date_key == date_key(yesterday)
            )
        ).one()
        health.facts["rows_yesterday"] = rows
        if rows == 0:
            health.record(
                "data_freshness",
                CRITICAL,
                f"no daily facts for yesterday ({yesterday}); the newest day is {latest or 'none'}",
            )
        elif not pviews:
            # Feedback alone, or rows of zeros, means the analytics export broke.
            health.record(
                "data_freshness", CRITICAL, f"page views for yesterday ({yesterday}) are all zero"
            )
        else:
            health.record("data_freshness", OK)
        stale = stale_rollups(connection)
        if stale:
            health.record(
                "rollups", CRITICAL, f"rollups stale: {', '.join(stale)}; run `govuk-kpi rollup`"
            )
        else:
            health.record("rollups", OK)
        failed = connection.execute(
            select(func.count()).where(
                LoadBatch.status == "failed", LoadBatch.started_at >= today - timedelta(days=1)
            )
        ).scalar_one()
        health.facts["failed_batches_since_yesterday"] = failed
        if failed:
            health.record(
                "loads",
                WARNING,
                f"{failed} load batch{'es' if failed > 1 else ''} failed since yesterday; "
                "`govuk-kpi batches` lists them",
            )
        else:
            health.record("loads", OK)
